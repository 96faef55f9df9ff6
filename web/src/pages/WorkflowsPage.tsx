// Workflows, newest first, filtered by type and status, kept live without
// polling: `workflowEvents` pushes every recorded status change with the row
// as it is (lib/liveWorkflows.ts merges pushes and reads). A claim
// (PENDING → RUNNING) is not an event, so while a row is pending the first
// page is re-read once it is due, backing off while nothing changes
// (hooks/useClaimWatch.ts).

import type { CombinedError } from '@urql/core';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { StatusBadge } from '../components/StatusBadge';
import { graphql } from '../gql';
import type {
  WorkflowRowFragment,
  WorkflowsApprovalEventsSubscription,
  WorkflowsLiveSubscription,
} from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useClaimWatch } from '../hooks/useClaimWatch';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { problemsOf, type Problem } from '../lib/errors';
import { between, formatAge, formatDateTime, formatDuration, typeLabel, typeVersionLabel } from '../lib/format';
import { firstString, getString } from '../lib/json';
import { hasMoreRows, initialLiveList, liveListReducer, moreCursor, visibleRows } from '../lib/liveWorkflows';
import { isWorkflowStatus, WORKFLOW_STATUSES } from '../lib/workflowStatus';
import { Link, useSearchParam } from '../router';

export const WorkflowRowFields = graphql(`
  fragment WorkflowRow on Workflow {
    id
    type
    typeVersion
    status
    input
    attempt
    maxAttempts
    runAfter
    createdAt
    startedAt
    completedAt
    error
    chainId
    approval {
      id
      status
    }
  }
`);

const WorkflowsQuery = graphql(`
  query Workflows($filter: WorkflowFilter, $first: Int, $after: String) {
    workflows(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...WorkflowRow
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const WorkflowTypeNamesQuery = graphql(`
  query WorkflowTypeNames {
    workflowTypes {
      name
    }
  }
`);

const WorkflowsLiveSub = graphql(`
  subscription WorkflowsLive($type: String) {
    workflowEvents(type: $type) {
      kind
      workflow {
        ...WorkflowRow
      }
    }
  }
`);

const WorkflowsApprovalEventsSub = graphql(`
  subscription WorkflowsApprovalEvents {
    approvalEvents {
      kind
      approval {
        id
        status
      }
    }
  }
`);

const PAGE_SIZE = 25;

/** A line that tells runs apart: the prompt, the feedback being applied, or (declared types) the first text given. */
function summary(input: unknown, declared: boolean): string | undefined {
  const text = getString(input, 'prompt') ?? getString(input, 'feedback') ?? (declared ? firstString(input) : undefined);
  if (text === undefined || text.trim() === '') return undefined;
  return text.length > 90 ? `${text.slice(0, 87)}…` : text;
}

export function WorkflowsPage() {
  useTitle('Workflows');
  const [type, setType] = useSearchParam('type');
  const [statusParam, setStatus] = useSearchParam('status');
  const status = isWorkflowStatus(statusParam) ? statusParam : null;
  const [{ data: types }] = useQuery({ query: WorkflowTypeNamesQuery });
  const typeNames = types?.workflowTypes.map((t) => t.name) ?? [];
  const viewer = useViewer();

  return (
    <div className="stack">
      <div className="page-head">
        <h1>Workflows</h1>
        {viewer.canSubmit ? (
          <Link to="/workflows/new" className="btn btn-primary">
            Start a workflow
          </Link>
        ) : null}
      </div>
      <div className="filters" role="group" aria-label="Filter workflows">
        <label className="field-inline">
          <span>Type</span>
          <select value={type ?? ''} onChange={(e) => setType(e.target.value || null)}>
            <option value="">All types</option>
            {[...new Set([...typeNames, ...(type ? [type] : [])])].map((t) => (
              <option key={t} value={t}>
                {typeLabel(t)}
              </option>
            ))}
          </select>
        </label>
        <label className="field-inline">
          <span>Status</span>
          <select value={status ?? ''} onChange={(e) => setStatus(e.target.value || null)}>
            <option value="">Any status</option>
            {WORKFLOW_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.charAt(0) + s.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </div>
      <WorkflowTable key={`${type ?? ''}/${status ?? ''}`} type={type} status={status} />
    </div>
  );
}

function WorkflowTable({ type, status }: { type: string | null; status: WorkflowRowFragment['status'] | null }) {
  const { canSubmit } = useViewer();
  const client = useClient();
  const now = useNow(15_000);
  const [state, dispatch] = useReducer(liveListReducer<WorkflowRowFragment>, undefined, initialLiveList);
  const [error, setError] = useState<CombinedError | undefined>(undefined);
  const [olderProblems, setOlderProblems] = useState<Problem[]>([]);
  const [loadingOlder, setLoadingOlder] = useState(false);
  // Events received so far; a read records it when sent (see lib/liveWorkflows.ts).
  const seq = useRef(0);
  const filterKey = JSON.stringify({ type, status });

  const readFirst = useCallback(async () => {
    const issuedAt = seq.current;
    const filter = JSON.parse(filterKey) as { type: string | null; status: WorkflowRowFragment['status'] | null };
    const result = await client
      .query(WorkflowsQuery, { filter, first: PAGE_SIZE }, { requestPolicy: 'network-only' })
      .toPromise();
    if (result.data) {
      const page = result.data.workflows;
      dispatch({
        type: 'page',
        rows: page.edges.map((e) => e.node),
        cursor: page.pageInfo.endCursor ?? null,
        hasMore: page.pageInfo.hasNextPage,
        issuedAt,
      });
      setError(undefined);
    } else setError(result.error);
  }, [client, filterKey]);

  useEffect(() => {
    void readFirst();
  }, [readFirst]);
  const reload = useCallback(() => void readFirst(), [readFirst]);

  // Every recorded status change arrives here with the row as it is now.
  const onEvent = useCallback((d: WorkflowsLiveSubscription) => {
    seq.current += 1;
    dispatch({ type: 'event', seq: seq.current, workflow: d.workflowEvents.workflow });
  }, []);
  const live = useLiveEvents(WorkflowsLiveSub, { type }, onEvent);
  // The approval column: decisions are approval events, not workflow events.
  const onApproval = useCallback((d: WorkflowsApprovalEventsSubscription) => {
    dispatch({ type: 'approval', id: d.approvalEvents.approval.id, status: d.approvalEvents.approval.status });
  }, []);
  useLiveEvents(WorkflowsApprovalEventsSub, {}, onApproval);
  // Events pushed while the socket was down are not replayed: re-read.
  useOnReconnect(reload);

  const rows = visibleRows(state, { type, status });
  // Claims are not pushed: re-read the first page when a pending row is due.
  useClaimWatch(
    rows.filter((r) => r.status === 'PENDING'),
    reload,
  );

  const cursor = moreCursor(state);
  const hasMore = hasMoreRows(state);

  const loadOlder = async () => {
    if (!cursor) return;
    setLoadingOlder(true);
    const issuedAt = seq.current;
    const result = await client
      .query(WorkflowsQuery, { filter: { type, status }, first: PAGE_SIZE, after: cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingOlder(false);
    if (result.data) {
      const page = result.data.workflows;
      dispatch({
        type: 'older',
        rows: page.edges.map((e) => e.node),
        cursor: page.pageInfo.endCursor ?? null,
        hasMore: page.pageInfo.hasNextPage,
        issuedAt,
      });
      setOlderProblems([]);
    } else setOlderProblems(problemsOf(result.error));
  };

  const data = state.page;
  if (error && !data) return <ProblemNotice error={error} onRetry={reload} />;
  if (!data) return <Loading label="Loading workflows…" />;
  if (rows.length === 0) {
    return (
      <Empty title={type || status ? 'No workflows match these filters' : 'No workflows yet'}>
        {canSubmit ? (
          <p>
            <Link to="/workflows/new">Start one</Link>; it shows here as soon as it is created.
          </p>
        ) : (
          <p>New ones show here as soon as they are created.</p>
        )}
      </Empty>
    );
  }

  return (
    <div className="stack">
      {live.error ? <ProblemNotice error={live.error} titles={{ unknown: 'Live updates stopped' }} /> : null}
      {error ? <ProblemNotice error={error} onRetry={reload} /> : null}
      <div className="table-wrap">
        <table className="table" aria-label="Workflows">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col" className="hide-narrow">
                Created
              </th>
              <th scope="col" className="hide-narrow">
                Run time
              </th>
              <th scope="col" className="num hide-narrow">
                Attempts
              </th>
              <th scope="col">Approval</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((w) => (
              <tr key={w.id} data-workflow-id={w.id}>
                <td>
                  <Link to={`/workflows/${w.id}`}>{typeVersionLabel(w.type, w.typeVersion)}</Link>
                  <span className="excerpt">
                    {summary(w.input, w.typeVersion !== null && w.typeVersion !== undefined) ?? (
                      <span className="mono">{w.id.slice(-12)}</span>
                    )}
                  </span>
                </td>
                <td>
                  <StatusBadge status={w.status} />
                  {w.status === 'FAILED' && w.error ? (
                    <span className="excerpt error-text" title={w.error}>
                      {w.error.length > 80 ? `${w.error.slice(0, 77)}…` : w.error}
                    </span>
                  ) : null}
                </td>
                <td className="hide-narrow">
                  <time dateTime={w.createdAt} title={formatDateTime(w.createdAt)}>
                    {formatAge(w.createdAt, now)}
                  </time>
                </td>
                <td className="hide-narrow">{formatDuration(between(w.startedAt, w.completedAt))}</td>
                <td className="num hide-narrow">
                  {w.attempt} / {w.maxAttempts}
                </td>
                <td>
                  {w.approval ? (
                    <Link to={`/approvals/${w.approval.id}`}>
                      <StatusBadge status={w.approval.status} />
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ProblemNotice problems={olderProblems} />
      {hasMore ? (
        <button type="button" className="btn" disabled={loadingOlder} onClick={() => void loadOlder()}>
          {loadingOlder ? 'Loading…' : 'Show older'}
        </button>
      ) : null}
    </div>
  );
}
