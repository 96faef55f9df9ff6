// The delivery log: every notification Baton queued for a webhook, newest
// first, with where it stands (pending, delivered, dead), how many attempts
// it took, the receiver's last answer and the next try. A row opens to the
// body exactly as sent. A dead delivery can be sent again (same id, so a
// receiver that did get it drops the repeat). It is read on demand
// (Refresh), not live.

import { Fragment, useId, useState, type ReactNode } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { JsonView } from '../../components/JsonView';
import { ProblemNotice } from '../../components/Problem';
import { Empty, Loading } from '../../components/States';
import { graphql } from '../../gql';
import type { DeliveryFilter, DeliveryRowFragment, DeliveryStatus } from '../../gql/graphql';
import { problemsOf, type Problem } from '../../lib/errors';
import { formatDateTime } from '../../lib/format';
import { DELIVERY_STATUSES, deliveryStatusLabel, isDeliveryStatus } from '../../lib/webhooks';
import { Link, useSearchParam } from '../../router';

export const DeliveryRowFields = graphql(`
  fragment DeliveryRow on Delivery {
    id
    eventType
    channel
    webhookId
    status
    attempts
    nextAttemptAt
    lastStatus
    lastError
    payload
    createdAt
    deliveredAt
  }
`);

const AdminDeliveriesQuery = graphql(`
  query AdminDeliveries($filter: DeliveryFilter, $first: Int, $after: String) {
    deliveries(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...DeliveryRow
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const DeliveryWebhooksQuery = graphql(`
  query DeliveryWebhooks {
    webhooks {
      id
      url
      active
    }
  }
`);

const RedeliverMutation = graphql(`
  mutation Redeliver($id: ID!) {
    redeliver(id: $id) {
      ...DeliveryRow
    }
  }
`);

export const DELIVERIES_PAGE_SIZE = 20;

export function DeliveriesSection() {
  const [statusParam, setStatus] = useSearchParam('status');
  const [webhookParam, setWebhook] = useSearchParam('webhook');
  const status = isDeliveryStatus(statusParam) ? statusParam : null;
  const webhookId = webhookParam && webhookParam !== '' ? webhookParam : null;
  const [{ data: hooks }] = useQuery({ query: DeliveryWebhooksQuery });
  const webhooks = hooks?.webhooks ?? [];
  const urls = new Map(webhooks.map((w) => [w.id, w.url]));

  return (
    <div className="stack">
      <p className="muted">
        Every notification queued for a webhook or a reviewer’s email, newest first. Baton retries a failed one with backoff; after the last
        attempt it is dead, and you can send it again here. This list is not live: refresh it to see progress.
      </p>
      <DeliveryLog
        key={`${status ?? ''}/${webhookId ?? ''}`}
        status={status}
        webhookId={webhookId}
        urls={urls}
        known={hooks !== undefined}
        filters={
          <div className="filters" role="group" aria-label="Which deliveries">
            <div className="field-inline">
              <label htmlFor="deliveries-status">Status</label>
              <select id="deliveries-status" value={status ?? ''} onChange={(e) => setStatus(e.target.value === '' ? null : e.target.value)}>
                <option value="">Any</option>
                {DELIVERY_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {deliveryStatusLabel(s).label}
                  </option>
                ))}
              </select>
            </div>
            <div className="field-inline">
              <label htmlFor="deliveries-webhook">Webhook</label>
              <select id="deliveries-webhook" value={webhookId ?? ''} onChange={(e) => setWebhook(e.target.value === '' ? null : e.target.value)}>
                <option value="">Any</option>
                {webhooks.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.url}
                    {w.active ? '' : ' (disabled)'}
                  </option>
                ))}
                {webhookId && !urls.has(webhookId) ? (
                  <option value={webhookId}>{hooks ? 'A deleted webhook' : 'This webhook'}</option>
                ) : null}
              </select>
            </div>
          </div>
        }
      />
    </div>
  );
}

function DeliveryLog({
  status,
  webhookId,
  urls,
  known,
  filters,
}: {
  status: DeliveryStatus | null;
  webhookId: string | null;
  /** Webhook id → URL, for the webhooks that still exist. */
  urls: ReadonlyMap<string, string>;
  /** Whether `urls` has been read (else a missing id is not yet a deleted webhook). */
  known: boolean;
  filters: ReactNode;
}) {
  const client = useClient();
  const filter: DeliveryFilter = { status, webhookId };
  const [{ data, fetching, error }, refetch] = useQuery({
    query: AdminDeliveriesQuery,
    variables: { filter, first: DELIVERIES_PAGE_SIZE },
    requestPolicy: 'network-only',
  });
  const [older, setOlder] = useState<DeliveryRowFragment[]>([]);
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  // Rows this page changed (a redelivery) since they were read.
  const [changed, setChanged] = useState<ReadonlyMap<string, DeliveryRowFragment>>(new Map());
  const [redelivered, setRedelivered] = useState<DeliveryRowFragment | null>(null);
  const [redeliverState, redeliver] = useMutation(RedeliverMutation);
  const headingId = useId();

  const refresh = () => {
    setOlder([]);
    setOlderCursor(undefined);
    setChanged(new Map());
    setProblems([]);
    refetch({ requestPolicy: 'network-only' });
  };

  const first = data?.deliveries.edges.map((e) => e.node) ?? [];
  const rows = [...first, ...older.filter((o) => !first.some((f) => f.id === o.id))].map((d) => changed.get(d.id) ?? d);
  const cursor = olderCursor === undefined ? data?.deliveries.pageInfo.endCursor : olderCursor;
  const hasMore = olderCursor === undefined ? (data?.deliveries.pageInfo.hasNextPage ?? false) : olderCursor !== null;

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingOlder(true);
    const result = await client
      .query(AdminDeliveriesQuery, { filter, first: DELIVERIES_PAGE_SIZE, after: cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingOlder(false);
    if (result.data) {
      const page = result.data.deliveries;
      setOlder((o) => [...o, ...page.edges.map((e) => e.node)]);
      setOlderCursor(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setProblems([]);
    } else setProblems(problemsOf(result.error));
  };

  const sendAgain = async (d: DeliveryRowFragment) => {
    setProblems([]);
    setRedelivered(null);
    const result = await redeliver({ id: d.id });
    const again = result.data?.redeliver;
    if (again) {
      setChanged((m) => new Map(m).set(again.id, again));
      setRedelivered(again);
    } else setProblems(problemsOf(result.error));
  };

  const toggle = (id: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const webhookName = (id: string) => urls.get(id) ?? (known ? 'a deleted webhook' : '…');
  // Email deliveries go to a person (their id is the user's), not a webhook.
  const targetName = (d: DeliveryRowFragment) =>
    d.channel === 'email' ? `email to ${recipientOf(d.payload) ?? 'a reviewer'}` : webhookName(d.webhookId);
  const webhookGone = (d: DeliveryRowFragment) => d.channel !== 'email' && known && !urls.has(d.webhookId);

  return (
    <section className="stack-sm" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Deliveries</h2>
        <button type="button" className="btn btn-small" onClick={refresh} disabled={fetching}>
          {fetching && data ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      {filters}
      <ProblemNotice problems={problems} titles={{ conflict: 'Not sent again' }} />
      {redelivered ? (
        <div className="notice notice-ok" role="status" data-testid="redelivered">
          <p className="notice-title">Sent again: the {redelivered.eventType} delivery is pending.</p>
          <p className="notice-body">It keeps its id, so a receiver that did get it drops the repeat. Refresh to see how it went.</p>
        </div>
      ) : null}
      {error && !data ? <ProblemNotice error={error} onRetry={refresh} /> : null}
      {!data && fetching ? <Loading label="Loading deliveries…" /> : null}
      {data && rows.length === 0 ? (
        <Empty title={status || webhookId ? 'No deliveries match' : 'No deliveries yet'}>
          {status || webhookId ? (
            <p>Try another status or webhook.</p>
          ) : (
            <p>
              <Link to="/admin/webhooks">Add a webhook</Link> or send one a test delivery.
            </p>
          )}
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table deliveries" aria-labelledby={headingId} data-testid="deliveries-table">
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Last answer</th>
                <th scope="col">Next try</th>
                <th scope="col">Delivered</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => {
                const isOpen = open.has(d.id);
                const detailId = `delivery-${d.id}`;
                const label = deliveryStatusLabel(d.status);
                return (
                  <Fragment key={d.id}>
                    <tr data-delivery-id={d.id} data-status={d.status}>
                      <td>
                        <time dateTime={d.createdAt}>{formatDateTime(d.createdAt)}</time>
                      </td>
                      <td>
                        <code>{d.eventType}</code>
                        <span className="excerpt">{d.channel === 'email' ? targetName(d) : `to ${targetName(d)}`}</span>
                      </td>
                      <td>
                        <span className={`badge badge-${label.tone}`} data-delivery-status={d.status}>
                          {label.label}
                        </span>
                      </td>
                      <td className="num">{d.attempts}</td>
                      <td>
                        {d.lastStatus !== null && d.lastStatus !== undefined ? `${d.channel === 'email' ? 'SMTP' : 'HTTP'} ${d.lastStatus}` : d.lastError ? '' : '—'}
                        {d.lastError ? <span className="excerpt error-text">{d.lastError}</span> : null}
                      </td>
                      <td>{d.status === 'PENDING' && d.nextAttemptAt ? formatDateTime(d.nextAttemptAt) : '—'}</td>
                      <td>{d.deliveredAt ? formatDateTime(d.deliveredAt) : '—'}</td>
                      <td>
                        <div className="wrap-actions">
                          <button
                            type="button"
                            className="btn btn-small btn-ghost"
                            aria-expanded={isOpen}
                            aria-controls={isOpen ? detailId : undefined}
                            aria-label={`${isOpen ? 'Hide payload' : 'Show payload'} of the ${d.eventType} delivery queued ${formatDateTime(d.createdAt)}`}
                            onClick={() => toggle(d.id)}
                          >
                            {isOpen ? 'Hide payload' : 'Show payload'}
                          </button>
                          {d.status === 'DEAD' && webhookGone(d) ? (
                            <span className="muted small">Its webhook is deleted.</span>
                          ) : d.status === 'DEAD' ? (
                            <button
                              type="button"
                              className="btn btn-small"
                              disabled={redeliverState.fetching}
                              onClick={() => void sendAgain(d)}
                              aria-label={`Redeliver the ${d.eventType} delivery queued ${formatDateTime(d.createdAt)}`}
                            >
                              Redeliver
                            </button>
                          ) : null}
                        </div>
                      </td>
                    </tr>
                    {isOpen ? (
                      <tr className="delivery-detail" id={detailId}>
                        <td colSpan={8}>
                          <dl className="facts">
                            <div className="fact">
                              <dt>Delivery id</dt>
                              <dd>
                                <code data-testid="delivery-id">{d.id}</code>{' '}
                                <span className="muted small">(the webhook-id header)</span>
                              </dd>
                            </div>
                            <div className="fact">
                              <dt>{d.channel === 'email' ? 'Recipient' : 'Webhook'}</dt>
                              <dd className="mono-wrap">{targetName(d)}</dd>
                            </div>
                          </dl>
                          <JsonView value={d.payload} label={`Payload of delivery ${d.id}`} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {hasMore && cursor ? (
        <div className="actions">
          <button type="button" className="btn" disabled={loadingOlder} onClick={() => void loadMore()}>
            {loadingOlder ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
    </section>
  );
}

/** The name (or address) an email delivery went to, from its payload. */
function recipientOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const r = (payload as { recipient?: unknown }).recipient;
  if (typeof r !== 'object' || r === null) return null;
  const { name, email } = r as { name?: unknown; email?: unknown };
  if (typeof email === 'string' && typeof name === 'string') return `${name} <${email}>`;
  return typeof email === 'string' ? email : typeof name === 'string' ? name : null;
}
