// The Admin page's webhooks and delivery log: the signing secret shown once
// (on add and on rotation, with the overlap explained), the event
// checkboxes as `createWebhook`'s input, BAD_USER_INPUT field errors next
// to their field, test deliveries, delete after confirming; the log's
// filters, payloads, "Redeliver" on dead rows only, and "Load more".

import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AdminPage } from '../src/pages/AdminPage';
import { T0 } from './fixtures';
import { renderWithServer, viewerAs } from './harness';

const URL_A = 'https://hooks.example.com/baton';
const SECRET = 'whsec_c2VjcmV0LW9ubHktb25jZS0xMjM0NTY3ODkwYWI=';

const webhook = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Webhook',
  id,
  url,
  description: null,
  events: ['approval.created'],
  workflowTypes: null,
  active: true,
  previousSecretValidUntil: null as string | null,
  createdAt: T0,
  createdBy: 'admin',
  updatedAt: T0,
  ...extra,
});

const types = ['generate_draft', 'apply_feedback', 'run_experiment'].map((name) => ({ __typename: 'WorkflowType', name }));

const delivery = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Delivery',
  id,
  eventType: 'approval.created',
  channel: 'webhook',
  webhookId: 'wh-1',
  status,
  attempts: status === 'PENDING' ? 0 : status === 'DEAD' ? 8 : 1,
  nextAttemptAt: status === 'PENDING' ? T0 : null,
  lastStatus: status === 'DELIVERED' ? 200 : status === 'DEAD' ? 503 : null,
  lastError: status === 'DEAD' ? 'HTTP 503: unavailable' : null,
  payload: { type: 'approval.created', timestamp: T0, data: { approval_id: `ap-${id}`, review_path: `/approvals/ap-${id}` } },
  createdAt: T0,
  deliveredAt: status === 'DELIVERED' ? T0 : null,
  ...extra,
});

const page = (nodes: unknown[], endCursor: string | null, hasNextPage: boolean) => ({
  data: {
    deliveries: {
      __typename: 'DeliveryConnection',
      edges: nodes.map((node, i) => ({ __typename: 'DeliveryEdge', cursor: `c-${i}`, node })),
      pageInfo: { __typename: 'PageInfo', hasNextPage, endCursor },
    },
  },
});

describe('Admin: webhooks', () => {
  it('adds a webhook from the event checkboxes and shows its secret once, then hides it', async () => {
    const u = userEvent.setup();
    let hooks: ReturnType<typeof webhook>[] = [];
    const h = renderWithServer(
      <AdminPage section="webhooks" />,
      {
        AdminWebhooks: () => ({ data: { webhooks: hooks, workflowTypes: types } }),
        CreateWebhook: (vars) => {
          const input = (vars as { input: { url: string; events: string[]; workflowTypes: string[] | null } }).input;
          const made = webhook('wh-1', input.url, { events: input.events, workflowTypes: input.workflowTypes });
          hooks = [...hooks, made];
          return { data: { createWebhook: { __typename: 'WebhookSecretPayload', secret: SECRET, webhook: made } } };
        },
      },
      { path: '/admin/webhooks', viewer: viewerAs('ADMIN', 'admin') },
    );
    await screen.findByText('No webhooks yet');
    expect(screen.getByRole('link', { name: 'Webhooks' }).getAttribute('aria-current')).toBe('page');

    // Nothing ticked: the form says so and sends nothing.
    await u.type(screen.getByLabelText('URL'), URL_A);
    await u.click(screen.getByRole('button', { name: 'Add webhook' }));
    const eventsError = await screen.findByText('Choose at least one event.');
    expect(eventsError.dataset.fieldError).toBe('events');
    expect(h.calls.some((c) => c.operationName === 'CreateWebhook')).toBe(false);

    const events = screen.getByRole('group', { name: 'Events' });
    await u.click(within(events).getByRole('checkbox', { name: /workflow\.failed/ }));
    await u.click(within(events).getByRole('checkbox', { name: /approval\.created/ }));
    await u.click(within(events).getByRole('checkbox', { name: /approval\.expired/ }));
    await u.click(within(events).getByRole('checkbox', { name: /approval\.expired/ })); // and untick it
    const only = screen.getByRole('group', { name: /Only these workflow types/ });
    await u.click(within(only).getByRole('checkbox', { name: 'generate draft' }));
    await u.type(screen.getByLabelText(/Description/), 'Reviewers’ chat');
    await u.click(screen.getByRole('button', { name: 'Add webhook' }));

    const shown = await screen.findByTestId('webhook-secret');
    expect(h.calls.find((c) => c.operationName === 'CreateWebhook')?.variables).toEqual({
      input: {
        kind: 'STANDARD',
        url: URL_A,
        events: ['approval.created', 'workflow.failed'],
        workflowTypes: ['generate_draft'],
        description: 'Reviewers’ chat',
      },
    });
    expect((within(shown).getByLabelText('Signing secret') as HTMLInputElement).value).toBe(SECRET);
    expect(within(shown).getByText('Copy it now: it will not be shown again.')).toBeTruthy();
    expect(shown.textContent).toContain('Standard Webhooks signature; see the README');
    expect(document.activeElement).toBe(shown);
    // The form is empty again; the list has the webhook but never its secret.
    expect((screen.getByLabelText('URL') as HTMLInputElement).value).toBe('');
    await waitFor(() => expect(document.querySelector(`tr[data-webhook="${URL_A}"]`)).not.toBeNull());
    const row = document.querySelector(`tr[data-webhook="${URL_A}"]`) as HTMLElement;
    expect(within(row).getByText('generate draft')).toBeTruthy();
    expect(within(row).getByText('One secret')).toBeTruthy();
    expect(within(screen.getByTestId('webhooks-table')).queryByText(SECRET)).toBeNull();

    await u.click(within(shown).getByRole('button', { name: 'Done, hide it' }));
    expect(screen.queryByTestId('webhook-secret')).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });

  it('puts BAD_USER_INPUT field errors next to the URL and the events', async () => {
    const u = userEvent.setup();
    let tries = 0;
    renderWithServer(
      <AdminPage section="webhooks" />,
      {
        AdminWebhooks: () => ({ data: { webhooks: [], workflowTypes: types } }),
        CreateWebhook: () => {
          tries++;
          return tries === 1
            ? {
                data: null,
                errors: [
                  {
                    message: "input.url: 'https://exa mple.com' is not a URL: invalid domain character",
                    extensions: { code: 'BAD_USER_INPUT', field: 'input.url' },
                  },
                ],
              }
            : {
                data: null,
                errors: [
                  {
                    message: "input.events[0]: unknown event 'approval.created'; known events: approval.decided",
                    extensions: { code: 'BAD_USER_INPUT', field: 'input.events[0]' },
                  },
                ],
              };
        },
      },
      { path: '/admin/webhooks' },
    );
    await screen.findByText('No webhooks yet');
    await u.type(screen.getByLabelText('URL'), 'https://exa mple.com');
    await u.click(screen.getByRole('checkbox', { name: /approval\.created/ }));
    await u.click(screen.getByRole('button', { name: 'Add webhook' }));
    const urlError = await screen.findByText("'https://exa mple.com' is not a URL: invalid domain character");
    expect(urlError.dataset.fieldError).toBe('url');
    expect(screen.getByLabelText('URL').getAttribute('aria-describedby')).toContain(urlError.id);
    expect(screen.getByLabelText('URL').getAttribute('aria-invalid')).toBe('true');

    await u.click(screen.getByRole('button', { name: 'Add webhook' }));
    const eventError = await screen.findByText("Unknown event 'approval.created'; known events: approval.decided");
    expect(eventError.dataset.fieldError).toBe('events');
    expect(screen.getByRole('group', { name: 'Events' }).getAttribute('aria-describedby')).toBe(eventError.id);
    // The URL's error is gone with the new answer; nothing else is reported.
    expect(screen.queryByText(/is not a URL/)).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByTestId('webhook-secret')).toBeNull();
  });

  it('sends a test delivery, disables, rotates (secret once, overlap explained) and deletes after confirming', async () => {
    const u = userEvent.setup();
    let hook = webhook('wh-1', URL_A, { events: ['approval.created', 'approval.decided'] });
    let deleted = false;
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const h = renderWithServer(
      <AdminPage section="webhooks" />,
      {
        AdminWebhooks: () => ({ data: { webhooks: deleted ? [] : [hook], workflowTypes: types } }),
        SendTestWebhook: () => ({
          data: { sendTestWebhook: { __typename: 'Delivery', id: 'dl-test-1', webhookId: 'wh-1', eventType: 'webhook.test', status: 'PENDING' } },
        }),
        UpdateWebhook: (vars) => {
          hook = { ...hook, ...(vars as { input: { active: boolean } }).input };
          return { data: { updateWebhook: hook } };
        },
        RotateWebhookSecret: () => {
          hook = { ...hook, previousSecretValidUntil: until };
          return { data: { rotateWebhookSecret: { __typename: 'WebhookSecretPayload', secret: SECRET, webhook: hook } } };
        },
        DeleteWebhook: () => {
          deleted = true;
          return { data: { deleteWebhook: { __typename: 'Webhook', id: 'wh-1', url: URL_A } } };
        },
      },
      { path: '/admin/webhooks' },
    );
    await screen.findByTestId('webhooks-table');

    await u.click(screen.getByRole('button', { name: `Send test to ${URL_A}` }));
    const queued = await screen.findByTestId('webhook-outcome');
    expect(queued.textContent).toContain(`A test delivery to ${URL_A} is queued.`);
    expect(within(queued).getByTestId('test-delivery-id').textContent).toBe('dl-test-1');
    expect(within(queued).getByRole('link', { name: 'See it in the delivery log' }).getAttribute('href')).toBe(
      '/admin/deliveries?webhook=wh-1',
    );

    await u.click(screen.getByRole('button', { name: `Disable ${URL_A}` }));
    await screen.findByText(`${URL_A} is disabled: it receives nothing, and its due deliveries are given up.`);
    expect(h.calls.find((c) => c.operationName === 'UpdateWebhook')?.variables).toEqual({ id: 'wh-1', input: { active: false } });
    await screen.findByRole('button', { name: `Enable ${URL_A}` });
    // A disabled webhook gets no test deliveries (they would die).
    expect(screen.queryByRole('button', { name: `Send test to ${URL_A}` })).toBeNull();

    await u.click(screen.getByRole('button', { name: `Rotate secret of ${URL_A}` }));
    const dialog = screen.getByRole('alertdialog', { name: `Rotate the secret of ${URL_A}?` });
    await u.selectOptions(within(dialog).getByLabelText('The previous secret keeps signing for'), '7 days');
    await u.click(within(dialog).getByRole('button', { name: 'Rotate secret' }));
    const shown = await screen.findByTestId('webhook-secret');
    expect(h.calls.find((c) => c.operationName === 'RotateWebhookSecret')?.variables).toEqual({
      id: 'wh-1',
      previousValidForSeconds: 7 * 86_400,
    });
    expect((within(shown).getByLabelText('Signing secret') as HTMLInputElement).value).toBe(SECRET);
    expect(within(shown).getByTestId('rotation-overlap').textContent).toMatch(/^Until .+ each delivery carries two signatures/);
    await waitFor(() => expect(screen.getByText('Rotating')).toBeTruthy());
    await u.click(within(shown).getByRole('button', { name: 'Done, hide it' }));
    expect(document.body.innerHTML).not.toContain(SECRET);

    // Delete: cancel first, then confirm.
    await u.click(screen.getByRole('button', { name: `Delete ${URL_A}` }));
    await u.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(h.calls.some((c) => c.operationName === 'DeleteWebhook')).toBe(false);
    await u.click(screen.getByRole('button', { name: `Delete ${URL_A}` }));
    await u.click(within(screen.getByRole('alertdialog', { name: `Delete the webhook ${URL_A}?` })).getByRole('button', { name: 'Delete' }));
    await screen.findByText(`The webhook ${URL_A} is deleted.`);
    await screen.findByText('No webhooks yet');
  });
});

describe('Admin: deliveries', () => {
  it('lists deliveries newest first; Redeliver only on dead rows; payload on demand; filters and Load more', async () => {
    const u = userEvent.setup();
    let redelivered = false;
    const h = renderWithServer(
      <AdminPage section="deliveries" />,
      {
        DeliveryWebhooks: () => ({ data: { webhooks: [webhook('wh-1', URL_A), webhook('wh-2', 'https://other.example.com/x')] } }),
        AdminDeliveries: (vars) => {
          const v = vars as { after?: string | null; filter?: { status?: string | null } };
          if (v.after === 'c-2') return page([delivery('d-old', 'DELIVERED', { eventType: 'workflow.failed' })], 'c-3', false);
          if (v.filter?.status === 'DEAD') return page([delivery('d-dead', redelivered ? 'PENDING' : 'DEAD')], null, false);
          return page(
            [
              delivery('d-pending', 'PENDING', { eventType: 'webhook.test', lastError: 'connection refused', attempts: 2 }),
              delivery('d-ok', 'DELIVERED', { webhookId: 'wh-2' }),
              delivery('d-dead', redelivered ? 'PENDING' : 'DEAD', { webhookId: 'wh-1' }),
              delivery('d-mail', 'DELIVERED', {
                channel: 'email',
                webhookId: 'user-ana',
                lastStatus: 250,
                payload: { type: 'approval.created', recipient: { name: 'ana', email: 'ana@example.com' } },
              }),
            ],
            'c-2',
            true,
          );
        },
        Redeliver: (vars) => {
          redelivered = true;
          return { data: { redeliver: delivery((vars as { id: string }).id, 'PENDING') } };
        },
      },
      { path: '/admin/deliveries' },
    );
    const table = await screen.findByTestId('deliveries-table');
    const row = (id: string) => table.querySelector(`tr[data-delivery-id="${id}"]`) as HTMLElement;
    expect(h.calls.find((c) => c.operationName === 'AdminDeliveries')?.variables).toEqual({
      filter: { status: null, webhookId: null },
      first: 20,
    });
    expect(within(row('d-pending')).getByText('Pending')).toBeTruthy();
    expect(within(row('d-pending')).getByText('connection refused')).toBeTruthy();
    expect(within(row('d-ok')).getByText('HTTP 200')).toBeTruthy();
    expect(within(row('d-ok')).getByText('to https://other.example.com/x')).toBeTruthy();
    // An email goes to a person, not to a (deleted) webhook.
    expect(within(row('d-mail')).getByText('email to ana <ana@example.com>')).toBeTruthy();
    expect(within(row('d-mail')).getByText('SMTP 250')).toBeTruthy();
    expect(within(row('d-dead')).getByText('Dead')).toBeTruthy();
    expect(within(row('d-dead')).getByText('HTTP 503')).toBeTruthy();
    // Only the dead row can be sent again.
    const redeliverButtons = within(table).getAllByRole('button', { name: /^Redeliver/ });
    expect(redeliverButtons).toHaveLength(1);
    expect(row('d-dead').contains(redeliverButtons[0] ?? null)).toBe(true);
    expect(within(row('d-pending')).queryByRole('button', { name: /^Redeliver/ })).toBeNull();
    expect(within(row('d-ok')).queryByRole('button', { name: /^Redeliver/ })).toBeNull();

    // The payload, on demand, with the delivery id receivers see as webhook-id.
    const show = within(row('d-ok')).getByRole('button', { name: /^Show payload/ });
    expect(show.getAttribute('aria-expanded')).toBe('false');
    await u.click(show);
    expect(show.getAttribute('aria-expanded')).toBe('true');
    const detail = document.getElementById(show.getAttribute('aria-controls') ?? '') as HTMLElement;
    expect(within(detail).getByTestId('delivery-id').textContent).toBe('d-ok');
    expect(within(detail).getByLabelText('Payload of delivery d-ok').textContent).toContain('"review_path": "/approvals/ap-d-ok"');

    // Older deliveries come after the connection's cursor.
    await u.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(row('d-old')).not.toBeNull());
    expect(h.calls.filter((c) => c.operationName === 'AdminDeliveries').at(-1)?.variables).toMatchObject({ after: 'c-2', first: 20 });
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    await u.click(redeliverButtons[0] as HTMLElement);
    await screen.findByTestId('redelivered');
    expect(h.calls.find((c) => c.operationName === 'Redeliver')?.variables).toEqual({ id: 'd-dead' });
    await waitFor(() => expect(within(row('d-dead')).getByText('Pending')).toBeTruthy());
    expect(within(table).queryByRole('button', { name: /^Redeliver/ })).toBeNull();

    // Filters go to the server and into the address.
    await u.selectOptions(screen.getByLabelText('Status'), 'DEAD');
    await waitFor(() =>
      expect(h.calls.filter((c) => c.operationName === 'AdminDeliveries').at(-1)?.variables).toEqual({
        filter: { status: 'DEAD', webhookId: null },
        first: 20,
      }),
    );
    expect(window.location.search).toBe('?status=DEAD');
    await u.selectOptions(screen.getByLabelText('Webhook'), 'wh-1');
    await waitFor(() =>
      expect(h.calls.filter((c) => c.operationName === 'AdminDeliveries').at(-1)?.variables).toEqual({
        filter: { status: 'DEAD', webhookId: 'wh-1' },
        first: 20,
      }),
    );
  });

  it('shows the server’s conflict when a delivery is no longer dead, and Refresh re-reads', async () => {
    const u = userEvent.setup();
    let reads = 0;
    const h = renderWithServer(
      <AdminPage section="deliveries" />,
      {
        DeliveryWebhooks: () => ({ data: { webhooks: [webhook('wh-1', URL_A)] } }),
        AdminDeliveries: () => {
          reads++;
          return page([delivery('d-dead', reads > 1 ? 'DELIVERED' : 'DEAD')], null, false);
        },
        Redeliver: () => ({
          data: null,
          errors: [
            {
              message: 'delivery d-dead is already delivered; only dead deliveries can be redelivered',
              extensions: { code: 'CONFLICT' },
            },
          ],
        }),
      },
      { path: '/admin/deliveries?webhook=wh-1' },
    );
    const table = await screen.findByTestId('deliveries-table');
    expect(h.calls.find((c) => c.operationName === 'AdminDeliveries')?.variables).toMatchObject({ filter: { webhookId: 'wh-1' } });
    await u.click(within(table).getByRole('button', { name: /^Redeliver/ }));
    const alert = await screen.findByRole('alert');
    expect(alert.dataset.problem).toBe('conflict');
    expect(within(alert).getByText('Not sent again')).toBeTruthy();
    expect(within(alert).getByText(/already delivered/)).toBeTruthy();

    await u.click(screen.getByRole('button', { name: 'Refresh' }));
    await waitFor(() => expect(screen.getByTestId('deliveries-table').querySelector('[data-delivery-status="DELIVERED"]')).not.toBeNull());
    expect(screen.queryByRole('alert')).toBeNull();
    expect(within(screen.getByTestId('deliveries-table')).queryByRole('button', { name: /^Redeliver/ })).toBeNull();
  });
});
