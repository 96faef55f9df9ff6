import { describe, expect, it } from 'vitest';
import { splitFieldErrors } from './errors';
import {
  deliveryStatusLabel,
  EMPTY_WEBHOOK_FORM,
  isDeliveryStatus,
  rotationState,
  toggled,
  typesText,
  webhookFieldOf,
  webhookInput,
} from './webhooks';

describe('webhookInput', () => {
  it('builds createWebhook’s input: events in the server’s order, no types means every type', () => {
    const { input, errors } = webhookInput({
      kind: 'STANDARD',
      url: '  https://hooks.example.com/baton ',
      events: ['workflow.failed', 'approval.created'],
      workflowTypes: [],
      description: '   ',
    });
    expect(errors).toEqual({});
    expect(input).toEqual({
      kind: 'STANDARD',
      url: 'https://hooks.example.com/baton',
      events: ['approval.created', 'workflow.failed'],
      workflowTypes: null,
      description: null,
    });
  });

  it('keeps chosen workflow types and the description', () => {
    const { input } = webhookInput({
      kind: 'SLACK',
      url: 'http://10.0.0.5:9000/in',
      events: ['approval.decided'],
      workflowTypes: ['generate_draft', 'generate_draft', 'run_experiment'],
      description: 'Ops channel',
    });
    expect(input.kind).toBe('SLACK');
    expect(input.workflowTypes).toEqual(['generate_draft', 'run_experiment']);
    expect(input.description).toBe('Ops channel');
  });

  it('asks for a URL and at least one event before a round trip', () => {
    expect(webhookInput(EMPTY_WEBHOOK_FORM).errors).toEqual({
      url: 'Required: where Baton posts the notifications.',
      events: 'Choose at least one event.',
    });
    expect(webhookInput({ ...EMPTY_WEBHOOK_FORM, url: 'ftp://x', events: ['approval.created'] }).errors).toEqual({
      url: 'An http:// or https:// address with a host.',
    });
  });

  it('ignores event names it does not know', () => {
    expect(webhookInput({ ...EMPTY_WEBHOOK_FORM, url: 'https://x.test', events: ['nope'] }).errors.events).toBeTruthy();
  });
});

describe('webhookFieldOf', () => {
  it.each([
    ['input.url', 'url'],
    ['input.events', 'events'],
    ['input.events[0]', 'events'],
    ['input.events[12]', 'events'],
    ['input.workflowTypes[1]', 'workflowTypes'],
    ['input.description', 'description'],
    ['previousValidForSeconds', undefined],
    ['input.active', undefined],
  ])('%s → %s', (server, form) => {
    expect(webhookFieldOf(server)).toBe(form);
  });

  it('puts an indexed event error next to the events, without the field prefix', () => {
    const { fields, rest } = splitFieldErrors(
      [
        {
          kind: 'bad-input',
          title: 'Please check the input',
          message: "input.events[0]: unknown event 'approval.made'",
          field: 'input.events[0]',
        },
      ],
      webhookFieldOf,
    );
    expect(fields).toEqual({ events: "Unknown event 'approval.made'" });
    expect(rest).toEqual([]);
  });
});

describe('rotationState', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it('one secret before any rotation', () => {
    expect(rotationState({ previousSecretValidUntil: null }, now)).toMatchObject({ label: 'One secret', overlapping: false });
  });
  it('both secrets sign until the overlap ends', () => {
    const s = rotationState({ previousSecretValidUntil: '2026-11-26T10:00:00Z' }, now);
    expect(s.label).toBe('Rotating');
    expect(s.overlapping).toBe(true);
    expect(s.detail).toMatch(/^The previous secret also signs until /);
  });
  it('after the overlap only the new one signs', () => {
    const s = rotationState({ previousSecretValidUntil: '2026-11-25T09:00:00Z' }, now);
    expect(s).toMatchObject({ label: 'Rotated', overlapping: false });
    expect(s.detail).toMatch(/stopped signing/);
  });
});

describe('small helpers', () => {
  it('toggles names in a list', () => {
    expect(toggled(['a'], 'b', true)).toEqual(['a', 'b']);
    expect(toggled(['a', 'b'], 'a', false)).toEqual(['b']);
    expect(toggled(['a'], 'a', true)).toEqual(['a']);
  });
  it('names delivery statuses', () => {
    expect(isDeliveryStatus('DEAD')).toBe(true);
    expect(isDeliveryStatus('dead')).toBe(false);
    expect(isDeliveryStatus(null)).toBe(false);
    expect(deliveryStatusLabel('DELIVERED')).toEqual({ label: 'Delivered', tone: 'completed' });
    expect(deliveryStatusLabel('DEAD').tone).toBe('failed');
  });
  it('says every type when a webhook has no type filter', () => {
    expect(typesText(null)).toBe('every type');
    expect(typesText([])).toBe('every type');
    expect(typesText(['generate_draft', 'apply_feedback'])).toBe('generate draft, apply feedback');
  });
});
