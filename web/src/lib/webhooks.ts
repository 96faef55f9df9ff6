// Webhooks for the admin: the events Baton sends, the add form as
// `createWebhook`'s input (with the checks the server makes anyway, so
// mistakes show next to their field before a round trip), the server's
// field names → the form's, a webhook's secret rotation in words, and the
// delivery log's statuses.

import type { CreateWebhookInput, DeliveryStatus, WebhookKind } from '../gql/graphql';
import { formatDateTime, parseTime } from './format';

/** The events a webhook can receive, in the order the server lists them. */
export const WEBHOOK_EVENTS: readonly { name: string; description: string }[] = [
  { name: 'approval.created', description: 'A workflow asks for a decision.' },
  { name: 'approval.decided', description: 'An approval is approved or rejected.' },
  { name: 'approval.expired', description: 'Nobody decided in time.' },
  { name: 'approval.expiring', description: 'A reminder: still waiting for a decision.' },
  { name: 'approval.escalated', description: 'Still waiting: escalated to the policy’s escalation users.' },
  { name: 'workflow.failed', description: 'A workflow failed.' },
  { name: 'deployment.created', description: 'A config went live (or was rolled back to).' },
];

/** What `sendTestWebhook` sends; not an event a webhook subscribes to. */
export const TEST_EVENT = 'webhook.test';

export interface WebhookFormValues {
  /** STANDARD: signed JSON; SLACK: a channel's incoming-webhook URL. */
  kind: WebhookKind;
  url: string;
  /** Event names, in any order. */
  events: string[];
  /** Workflow types; none: every type. */
  workflowTypes: string[];
  description: string;
}

export type WebhookField = 'url' | 'events' | 'workflowTypes' | 'description';

export const EMPTY_WEBHOOK_FORM: WebhookFormValues = {
  kind: 'STANDARD',
  url: '',
  events: [],
  workflowTypes: [],
  description: '',
};

/** Adds or removes one name, keeping the rest. */
export function toggled(list: readonly string[], name: string, on: boolean): string[] {
  return on ? (list.includes(name) ? [...list] : [...list, name]) : list.filter((n) => n !== name);
}

export function webhookInput(v: WebhookFormValues): {
  input: CreateWebhookInput;
  errors: Partial<Record<WebhookField, string>>;
} {
  const errors: Partial<Record<WebhookField, string>> = {};
  const url = v.url.trim();
  if (url === '') errors.url = 'Required: where Baton posts the notifications.';
  else if (!/^https?:\/\/[^/\s]+/i.test(url)) errors.url = 'An http:// or https:// address with a host.';
  // The server's order, whatever order they were ticked in.
  const events = WEBHOOK_EVENTS.map((e) => e.name).filter((n) => v.events.includes(n));
  if (events.length === 0) errors.events = 'Choose at least one event.';
  const description = v.description.trim();
  return {
    input: {
      kind: v.kind,
      url,
      events,
      workflowTypes: v.workflowTypes.length === 0 ? null : [...new Set(v.workflowTypes)],
      description: description === '' ? null : description,
    },
    errors,
  };
}

/** The server's field (`input.events[0]`) → the form's, when the form has it. */
export function webhookFieldOf(serverField: string): WebhookField | undefined {
  const name = serverField.replace(/^input\./, '').replace(/\[\d+\]$/, '');
  switch (name) {
    case 'url':
    case 'events':
    case 'workflowTypes':
    case 'description':
      return name;
    default:
      return undefined;
  }
}

/** How long the previous secret keeps signing after a rotation (the server allows 0 to 30 days). */
export const OVERLAP_CHOICES: readonly { label: string; seconds: number }[] = [
  { label: 'Stop at once', seconds: 0 },
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
];

export const DEFAULT_OVERLAP = '1 day';

export interface RotationState {
  /** "One secret", "Rotating", "Rotated". */
  label: string;
  /** Both secrets sign now. */
  overlapping: boolean;
  detail: string | null;
}

/** Where a webhook's secret rotation stands at `now`. */
export function rotationState(w: { previousSecretValidUntil?: string | null }, now: number): RotationState {
  const until = parseTime(w.previousSecretValidUntil);
  if (until === undefined) return { label: 'One secret', overlapping: false, detail: null };
  if (until > now) {
    return {
      label: 'Rotating',
      overlapping: true,
      detail: `The previous secret also signs until ${formatDateTime(w.previousSecretValidUntil)}.`,
    };
  }
  return {
    label: 'Rotated',
    overlapping: false,
    detail: `The previous secret stopped signing ${formatDateTime(w.previousSecretValidUntil)}.`,
  };
}

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['PENDING', 'DELIVERED', 'DEAD'];

export function isDeliveryStatus(value: string | null | undefined): value is DeliveryStatus {
  return DELIVERY_STATUSES.some((s) => s === value);
}

const DELIVERY_LABELS: Record<DeliveryStatus, { label: string; tone: string }> = {
  PENDING: { label: 'Pending', tone: 'pending' },
  DELIVERED: { label: 'Delivered', tone: 'completed' },
  DEAD: { label: 'Dead', tone: 'failed' },
};

export function deliveryStatusLabel(s: DeliveryStatus): { label: string; tone: string } {
  return DELIVERY_LABELS[s];
}

/** A webhook's workflow types in words. */
export function typesText(types: readonly string[] | null | undefined): string {
  return types && types.length > 0 ? types.map((t) => t.replace(/_/g, ' ')).join(', ') : 'every type';
}
