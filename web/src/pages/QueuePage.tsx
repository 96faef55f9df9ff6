// The reviewer's queue: pending approvals, oldest first, kept live by
// `approvalEvents` (created ones appear, decided or expired ones leave).

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { graphql } from '../gql';
import type { QueueApprovalEventsSubscription, QueueApprovalFragment } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useShortcuts } from '../hooks/useShortcuts';
import { useTitle } from '../hooks/useTitle';
import { formatAge, formatDateTime, formatScore, typeLabel } from '../lib/format';
import { getString, isObject } from '../lib/json';
import { initialQueue, queueReducer } from '../lib/queue';
import { Link, navigate, useSearchParam } from '../router';

export const QueueApprovalFields = graphql(`
  fragment QueueApproval on Approval {
    id
    status
    artifactType
    artifactData
    score
    createdAt
    workflow {
      id
      type
    }
  }
`);

const PendingApprovalsQuery = graphql(`
  query PendingApprovals($artifactType: String, $first: Int, $after: String) {
    pendingApprovals(artifactType: $artifactType, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...QueueApproval
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const QueueEventsSubscription = graphql(`
  subscription QueueApprovalEvents {
    approvalEvents {
      kind
      approval {
        ...QueueApproval
      }
    }
  }
`);

const PAGE_SIZE = 50;

/** Artifact types seen this session, for the filter (the API has no list of them). */
const seenTypes = new Set<string>(['draft']);

export function QueuePage() {
  const [artifactType, setArtifactType] = useSearchParam('type');
  useTitle('Queue');
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Review queue</h1>
        <TypeFilter value={artifactType} onChange={setArtifactType} />
      </div>
      <QueueTable key={artifactType ?? ''} artifactType={artifactType} />
    </div>
  );
}

function TypeFilter({ value, onChange }: { value: string | null; onChange: (v: string | null) => void }) {
  const options = [...new Set([...seenTypes, ...(value ? [value] : [])])].sort();
  return (
    <div className="filters">
      <label className="field-inline">
        <span>Artifact type</span>
        <select value={value ?? ''} onChange={(e) => onChange(e.target.value || null)}>
          <option value="">All types</option>
          {options.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

function excerpt(a: QueueApprovalFragment): string | undefined {
  const brief = isObject(a.artifactData) ? a.artifactData.brief : undefined;
  const text = getString(brief, 'prompt') ?? getString(a.artifactData, 'text');
  if (text === undefined) return undefined;
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

function QueueTable({ artifactType }: { artifactType: string | null }) {
  const [after, setAfter] = useState<string | null>(null);
  const [state, dispatch] = useReducer(queueReducer<QueueApprovalFragment>, artifactType, initialQueue);
  const [{ data, fetching, error, stale }, refetch] = useQuery({
    query: PendingApprovalsQuery,
    variables: { artifactType, first: PAGE_SIZE, after },
  });
  const [selected, setSelected] = useState(0);
  const rowLinks = useRef<(HTMLAnchorElement | null)[]>([]);
  const now = useNow(15_000);

  useEffect(() => {
    if (!data) return;
    const items = data.pendingApprovals.edges.map((e) => e.node);
    for (const it of items) seenTypes.add(it.artifactType);
    dispatch({ type: 'page', items, append: after !== null });
  }, [data, after]);

  const onEvent = useCallback((d: QueueApprovalEventsSubscription) => {
    seenTypes.add(d.approvalEvents.approval.artifactType);
    dispatch({ type: 'event', kind: d.approvalEvents.kind, approval: d.approvalEvents.approval });
  }, []);
  const live = useLiveEvents(QueueEventsSubscription, {}, onEvent);

  const reload = useCallback(() => {
    setAfter(null);
    refetch({ requestPolicy: 'network-only' });
  }, [refetch]);
  // Events pushed while the socket was down are not replayed: re-read.
  useOnReconnect(reload);

  const items = state.items;
  const count = items.length;
  const current = Math.min(selected, Math.max(0, count - 1));

  const focusRow = (i: number) => {
    setSelected(i);
    const link = rowLinks.current[i];
    link?.focus();
    link?.closest('tr')?.scrollIntoView?.({ block: 'nearest' });
  };

  useShortcuts({
    j: () => count > 0 && focusRow(Math.min(count - 1, current + 1)),
    k: () => count > 0 && focusRow(Math.max(0, current - 1)),
    Enter: () => {
      const item = items[current];
      if (item) navigate(`/approvals/${item.id}`);
    },
  });

  const hasNext = data?.pendingApprovals.pageInfo.hasNextPage ?? false;
  const endCursor = data?.pendingApprovals.pageInfo.endCursor ?? null;

  if (error && !data) return <ProblemNotice error={error} onRetry={reload} />;
  if (!data && fetching) return <Loading label="Loading the queue…" />;

  return (
    <div className="stack">
      {live.error ? (
        <ProblemNotice error={live.error} titles={{ unknown: 'Live updates stopped' }} />
      ) : null}
      <p className="muted small" aria-live="polite">
        {count === 0
          ? ''
          : `${count}${hasNext ? '+' : ''} pending ${count === 1 ? 'approval' : 'approvals'}, oldest first. Press j / k to move, Enter to open.`}
      </p>
      {count === 0 ? (
        <Empty title={artifactType ? `No pending ${artifactType} approvals` : 'No pending approvals'}>
          <p>New ones appear here as workflows finish, without reloading.</p>
          <p>
            <Link to="/workflows/new">Start a workflow</Link>
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table queue" aria-label="Pending approvals">
            <thead>
              <tr>
                <th scope="col">Artifact</th>
                <th scope="col">Workflow</th>
                <th scope="col">Age</th>
                <th scope="col" className="num">
                  Score
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a, i) => {
                const text = excerpt(a);
                return (
                  <tr
                    key={a.id}
                    className={i === current ? 'row-selected' : undefined}
                    aria-current={i === current ? 'true' : undefined}
                    data-approval-id={a.id}
                    onClick={(e) => {
                      if (e.target instanceof Element && e.target.closest('a')) return;
                      navigate(`/approvals/${a.id}`);
                    }}
                  >
                    <td>
                      <Link
                        to={`/approvals/${a.id}`}
                        ref={(el: HTMLAnchorElement | null) => {
                          rowLinks.current[i] = el;
                        }}
                        onFocus={() => setSelected(i)}
                        className="row-link"
                      >
                        {a.artifactType}
                      </Link>
                      {text ? <span className="excerpt">{text}</span> : null}
                    </td>
                    <td>{typeLabel(a.workflow.type)}</td>
                    <td>
                      <time dateTime={a.createdAt} title={formatDateTime(a.createdAt)}>
                        {formatAge(a.createdAt, now)}
                      </time>
                    </td>
                    <td className="num">{formatScore(a.score)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {hasNext && endCursor ? (
        <button type="button" className="btn" disabled={fetching || stale} onClick={() => setAfter(endCursor)}>
          Show more (newer)
        </button>
      ) : null}
      {error && data ? <ProblemNotice error={error} onRetry={reload} /> : null}
    </div>
  );
}
