// Workflows, newest first, filtered by type and status. Completions are
// pushed (`workflowCompleted`); starts, claims and retries are not, so the
// first page is also re-read every few seconds while it shows live work.

import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { StatusBadge } from '../components/StatusBadge';
import { graphql } from '../gql';
import type { WorkflowRowFragment, WorkflowsCompletedSubscription } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useInterval } from '../hooks/useInterval';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useTitle } from '../hooks/useTitle';
import { problemsOf, type Problem } from '../lib/errors';
import { between, formatAge, formatDateTime, formatDuration, typeLabel } from '../lib/format';
import { getString } from '../lib/json';
import { isActive, isWorkflowStatus, WORKFLOW_STATUSES } from '../lib/workflowStatus';
import { Link, useSearchParam } from '../router';

export const WorkflowRowFields = graphql(`
  fragment WorkflowRow on Workflow {
    id
    type
    status
    input
    attempt
    maxAttempts
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

const WorkflowsCompletedSub = graphql(`
  subscription WorkflowsCompleted {
    workflowCompleted {
      ...WorkflowRow
    }
  }
`);

const PAGE_SIZE = 25;

/** A line that tells runs apart: the prompt, or the feedback being applied. */
function summary(input: unknown): string | undefined {
  const text = getString(input, 'prompt') ?? getString(input, 'feedback');
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

  return (
    <div className="stack">
      <div className="page-head">
        <h1>Workflows</h1>
        <Link to="/workflows/new" className="btn btn-primary">
          Start a workflow
        </Link>
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
  const client = useClient();
  const now = useNow(15_000);
  const filter = { type, status };
  const [{ data, fetching, error }, refetch] = useQuery({
    query: WorkflowsQuery,
    variables: { filter, first: PAGE_SIZE },
  });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);

  // Pushed completions overlay the rows they concern; an unknown id means
  // the page is behind, so it is re-read (at most every 300 ms).
  const [pushed, setPushed] = useState<Record<string, WorkflowRowFragment>>({});
  const timer = useRef<number | undefined>(undefined);
  const known = useRef(new Set<string>());
  const onCompleted = useCallback(
    (d: WorkflowsCompletedSubscription) => {
      const w = d.workflowCompleted;
      setPushed((p) => ({ ...p, [w.id]: w }));
      if (!known.current.has(w.id) && timer.current === undefined) {
        timer.current = window.setTimeout(() => {
          timer.current = undefined;
          reload();
        }, 300);
      }
    },
    [reload],
  );
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const live = useLiveEvents(WorkflowsCompletedSub, {}, onCompleted);
  useOnReconnect(reload);

  // Older pages, loaded on request; they are not kept live.
  const [older, setOlder] = useState<WorkflowRowFragment[]>([]);
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined);
  const [olderProblems, setOlderProblems] = useState<Problem[]>([]);
  const [loadingOlder, setLoadingOlder] = useState(false);

  const first = data?.workflows.edges.map((e) => e.node) ?? [];
  // A pushed completion overrides a row the page still shows as live.
  const rows = [...first, ...older.filter((o) => !first.some((f) => f.id === o.id))].map((w) => {
    const p = pushed[w.id];
    return p && isActive(w.status) ? p : w;
  });
  // Once a page read has caught up with a completion, the push is spent (a
  // later retry must show as pending again).
  useEffect(() => {
    if (!data) return;
    const caughtUp = data.workflows.edges.filter((e) => !isActive(e.node.status)).map((e) => e.node.id);
    setPushed((p) => {
      if (!caughtUp.some((id) => id in p)) return p;
      const next = { ...p };
      for (const id of caughtUp) delete next[id];
      return next;
    });
  }, [data]);
  known.current = new Set(rows.map((r) => r.id));

  const anyActive = rows.some((r) => isActive(r.status));
  useInterval(reload, anyActive ? 3000 : 10_000, data !== undefined);

  const cursor = olderCursor === undefined ? data?.workflows.pageInfo.endCursor : olderCursor;
  const hasMore = olderCursor === undefined ? (data?.workflows.pageInfo.hasNextPage ?? false) : olderCursor !== null;

  const loadOlder = async () => {
    if (!cursor) return;
    setLoadingOlder(true);
    const result = await client
      .query(WorkflowsQuery, { filter, first: PAGE_SIZE, after: cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingOlder(false);
    if (result.data) {
      const page = result.data.workflows;
      setOlder((o) => [...o, ...page.edges.map((e) => e.node)]);
      setOlderCursor(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setOlderProblems([]);
    } else setOlderProblems(problemsOf(result.error));
  };

  if (error && !data) return <ProblemNotice error={error} onRetry={reload} />;
  if (!data && fetching) return <Loading label="Loading workflows…" />;
  if (rows.length === 0) {
    return (
      <Empty title={type || status ? 'No workflows match these filters' : 'No workflows yet'}>
        <p>
          <Link to="/workflows/new">Start one</Link>; it shows here as soon as it is created.
        </p>
      </Empty>
    );
  }

  return (
    <div className="stack">
      {live.error ? <ProblemNotice error={live.error} titles={{ unknown: 'Live updates stopped' }} /> : null}
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
                  <Link to={`/workflows/${w.id}`}>{typeLabel(w.type)}</Link>
                  <span className="excerpt">{summary(w.input) ?? <span className="mono">{w.id.slice(-12)}</span>}</span>
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
