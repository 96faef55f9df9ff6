// Deployments: the config a workflow type uses now in an environment, every
// config that was live before it and where each came from, and rollback.
//
// Live: a deployment is made by a `deploy_config` workflow (approving an
// experiment), so its completion (`workflowEvents(type: "deploy_config")`)
// re-reads the page. A rollback is not a workflow and has no event, so a
// rollback made elsewhere shows on the next read: this page also re-reads
// when its tab becomes visible again.

import { useCallback, useEffect, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { JsonView } from '../components/JsonView';
import { ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { graphql } from '../gql';
import type { DeploymentRowFragment } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useDebounced } from '../hooks/useDebounced';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { problemsOf, type Problem } from '../lib/errors';
import { configSummary, sameJson } from '../lib/experiment';
import { formatAgo, formatDateTime, shortId, typeLabel } from '../lib/format';
import { Link, useSearchParam } from '../router';

export const DeploymentRowFields = graphql(`
  fragment DeploymentRow on Deployment {
    id
    target
    environment
    config
    active
    experimentId
    rolledBackFrom
    deployedBy
    createdAt
    approval {
      id
      decidedBy
      decidedAt
    }
  }
`);

const DeploymentsQuery = graphql(`
  query Deployments($target: String!, $environment: String!, $first: Int, $after: String) {
    activeDeployment(target: $target, environment: $environment) {
      ...DeploymentRow
    }
    deployments(target: $target, environment: $environment, first: $first, after: $after) {
      edges {
        node {
          ...DeploymentRow
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

// The API has no list of targets or environments: take them from the
// latest deployments (there is no other record of an environment).
const DeploymentPlacesQuery = graphql(`
  query DeploymentPlaces {
    deployments(first: 100) {
      edges {
        node {
          id
          target
          environment
        }
      }
    }
  }
`);

const RollbackMutation = graphql(`
  mutation RollbackDeployment($id: ID!) {
    rollbackDeployment(id: $id) {
      ...DeploymentRow
    }
  }
`);

const DeployEventsSub = graphql(`
  subscription DeployEvents {
    workflowEvents(type: "deploy_config") {
      kind
      workflow {
        id
        status
      }
    }
  }
`);

const PAGE_SIZE = 20;
const DEFAULT_TARGET = 'generate_draft';
const DEFAULT_ENVIRONMENT = 'production';

export function DeploymentsPage() {
  useTitle('Deployments');
  const [targetParam, setTarget] = useSearchParam('target');
  const [envParam, setEnv] = useSearchParam('env');
  const target = targetParam ?? DEFAULT_TARGET;
  const environment = envParam ?? DEFAULT_ENVIRONMENT;
  const [{ data: places }, refetchPlaces] = useQuery({ query: DeploymentPlacesQuery });
  const seen = places?.deployments.edges.map((e) => e.node) ?? [];
  const targets = [...new Set([DEFAULT_TARGET, target, ...seen.map((d) => d.target)])].sort();
  const environments = [
    ...new Set([DEFAULT_ENVIRONMENT, environment, ...seen.filter((d) => d.target === target).map((d) => d.environment)]),
  ].sort();

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Deployments</h1>
          <p className="muted small">The config each workflow type uses, and every config that was live before it.</p>
        </div>
      </div>
      <div className="filters" role="group" aria-label="Which config">
        {targets.length > 1 ? (
          <label className="field-inline">
            <span>Workflow type</span>
            <select value={target} onChange={(e) => setTarget(e.target.value === DEFAULT_TARGET ? null : e.target.value)}>
              {targets.map((t) => (
                <option key={t} value={t}>
                  {typeLabel(t)}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <p className="field-inline">
            <span>Workflow type</span> <strong className="filter-value">{typeLabel(target)}</strong>
          </p>
        )}
        <label className="field-inline">
          <span>Environment</span>
          <select value={environment} onChange={(e) => setEnv(e.target.value === DEFAULT_ENVIRONMENT ? null : e.target.value)}>
            {environments.map((env) => (
              <option key={env} value={env}>
                {env}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Deployments
        key={`${target}/${environment}`}
        target={target}
        environment={environment}
        onChanged={() => refetchPlaces({ requestPolicy: 'network-only' })}
      />
    </div>
  );
}

type Deployment = DeploymentRowFragment;

function Deployments({ target, environment, onChanged }: { target: string; environment: string; onChanged: () => void }) {
  const client = useClient();
  const now = useNow();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DeploymentsQuery,
    variables: { target, environment, first: PAGE_SIZE },
    requestPolicy: 'network-only',
  });
  const reload = useCallback(() => {
    refetch({ requestPolicy: 'network-only' });
    onChanged();
  }, [refetch, onChanged]);
  const soon = useDebounced(reload, 150);

  // A new deployment is the completion of a deploy_config workflow.
  const onDeployEvent = useCallback(
    (d: { workflowEvents: { kind: string } }) => {
      if (d.workflowEvents.kind === 'COMPLETED') soon();
    },
    [soon],
  );
  const live = useLiveEvents(DeployEventsSub, {}, onDeployEvent);
  useOnReconnect(reload);
  // Rollbacks made elsewhere are not pushed: re-read when the tab is back.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible') soon();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [soon]);

  const [older, setOlder] = useState<Deployment[]>([]);
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined);
  const [olderProblems, setOlderProblems] = useState<Problem[]>([]);
  const [loadingOlder, setLoadingOlder] = useState(false);

  const viewer = useViewer();
  const [confirming, setConfirming] = useState<Deployment | null>(null);
  const [rollbackState, rollback] = useMutation(RollbackMutation);
  const [outcome, setOutcome] = useState<{ ok: Deployment; from: Deployment } | { problems: Problem[]; from: Deployment } | null>(null);

  const first = data?.deployments.edges.map((e) => e.node) ?? [];
  const rows = [...first, ...older.filter((o) => !first.some((f) => f.id === o.id))].map((d) =>
    // The older pages were read before; only one deployment is active.
    data?.activeDeployment && d.id !== data.activeDeployment.id && d.active ? { ...d, active: false } : d,
  );
  const active = data?.activeDeployment ?? null;
  const byId = new Map(rows.map((r) => [r.id, r]));

  const cursor = olderCursor === undefined ? data?.deployments.pageInfo.endCursor : olderCursor;
  const hasMore = olderCursor === undefined ? (data?.deployments.pageInfo.hasNextPage ?? false) : olderCursor !== null;

  const loadOlder = async () => {
    if (!cursor) return;
    setLoadingOlder(true);
    const result = await client
      .query(DeploymentsQuery, { target, environment, first: PAGE_SIZE, after: cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingOlder(false);
    if (result.data) {
      const page = result.data.deployments;
      setOlder((o) => [...o, ...page.edges.map((e) => e.node)]);
      setOlderCursor(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setOlderProblems([]);
    } else setOlderProblems(problemsOf(result.error));
  };

  const confirmRollback = async () => {
    const from = confirming;
    if (!from) return;
    const result = await rollback({ id: from.id });
    setConfirming(null);
    if (result.data) setOutcome({ ok: result.data.rollbackDeployment, from });
    else setOutcome({ problems: problemsOf(result.error), from });
    reload();
  };

  if (error && !data) return <ProblemNotice error={error} onRetry={reload} />;
  if (!data && fetching) return <Loading label="Loading deployments…" />;

  return (
    <div className="stack">
      {live.error ? <ProblemNotice error={live.error} titles={{ unknown: 'Live updates stopped' }} /> : null}
      {outcome && 'ok' in outcome ? (
        <div className="notice notice-ok" role="status" data-testid="rollback-done">
          <p className="notice-title">Rolled back</p>
          <p className="notice-body">
            The config deployed {formatDateTime(outcome.from.createdAt)} is active again in {environment}:{' '}
            <code>{configSummary(outcome.ok.config)}</code>.
          </p>
        </div>
      ) : null}
      {outcome && 'problems' in outcome ? (
        <ProblemNotice
          problems={outcome.problems}
          titles={{ conflict: 'Not rolled back: nothing changed', 'not-found': 'Not rolled back: that deployment is gone' }}
        />
      ) : null}

      <ActiveCard active={active} byId={byId} target={target} environment={environment} now={now} />

      <section className="stack-sm" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {!viewer.isAdmin && rows.length > 1 ? (
          <p className="muted small" data-testid="rollback-admins-only">
            Only admins can roll back to an earlier config.
          </p>
        ) : null}
        {rows.length === 0 ? (
          <Empty title={`No deployments of ${typeLabel(target)} in ${environment} yet`}>
            <p>Approving an experiment&rsquo;s results deploys its optimal config here.</p>
            <p>
              <Link to="/workflows?type=run_experiment">See experiments</Link>
            </p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table deployments" aria-labelledby="history-title">
              <thead>
                <tr>
                  <th scope="col">Deployed</th>
                  <th scope="col">Config</th>
                  <th scope="col">From</th>
                  <th scope="col">
                    <span className="sr-only">State and actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr
                    key={d.id}
                    id={`deployment-${d.id}`}
                    data-deployment-id={d.id}
                    data-active={d.active ? 'true' : undefined}
                    className={d.active ? 'row-active' : undefined}
                  >
                    <td className="deployed-at">
                      <time dateTime={d.createdAt} title={formatDateTime(d.createdAt)}>
                        {formatDateTime(d.createdAt)}
                      </time>
                      <span className="excerpt">by {d.deployedBy}</span>
                    </td>
                    <td>
                      <code className="config-summary">{configSummary(d.config)}</code>
                      <details className="config-details">
                        <summary>JSON</summary>
                        <JsonView value={d.config} label={`Config deployed ${formatDateTime(d.createdAt)}`} />
                      </details>
                    </td>
                    <td>
                      <Origin deployment={d} byId={byId} />
                    </td>
                    <td className="deploy-action">
                      {d.active ? (
                        <span className="badge badge-completed">Active</span>
                      ) : !viewer.isAdmin ? null : (
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => {
                            setOutcome(null);
                            setConfirming(d);
                          }}
                          aria-label={`Roll back to the config deployed ${formatDateTime(d.createdAt)}`}
                        >
                          Roll back
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <ProblemNotice problems={olderProblems} />
        {hasMore ? (
          <button type="button" className="btn" disabled={loadingOlder} onClick={() => void loadOlder()}>
            {loadingOlder ? 'Loading…' : 'Show older'}
          </button>
        ) : null}
        {error && data ? <ProblemNotice error={error} onRetry={reload} /> : null}
      </section>

      {confirming ? (
        <ConfirmDialog
          title={`Roll back ${typeLabel(target)} in ${environment}?`}
          confirmLabel="Roll back"
          busyLabel="Rolling back…"
          busy={rollbackState.fetching}
          tone="danger"
          onConfirm={() => void confirmRollback()}
          onCancel={() => setConfirming(null)}
        >
          <p>
            This makes the config deployed {formatDateTime(confirming.createdAt)} active again. It is recorded as a new
            deployment; the current config stays in the history.
          </p>
          {active && sameJson(active.config, confirming.config) ? (
            <p className="notice notice-warn small">It is the same config as the active one: nothing would change.</p>
          ) : null}
          <div className="compare compare-tight">
            <div>
              <h3 className="small-heading">Becomes active</h3>
              <JsonView value={confirming.config} label="Config to activate" />
            </div>
            <div>
              <h3 className="small-heading">Active now</h3>
              {active ? <JsonView value={active.config} label="Active config" /> : <p className="muted">Nothing (defaults).</p>}
            </div>
          </div>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function ActiveCard({
  active,
  byId,
  target,
  environment,
  now,
}: {
  active: Deployment | null;
  byId: ReadonlyMap<string, Deployment>;
  target: string;
  environment: string;
  now: number;
}) {
  return (
    <section className="card stack-sm active-deployment" aria-labelledby="active-title" data-testid="active-deployment">
      <div className="card-head">
        <h2 id="active-title">
          Active in {environment} {active ? <span className="badge badge-completed">Live</span> : null}
        </h2>
        {active ? (
          <p className="muted small">
            since{' '}
            <time dateTime={active.createdAt} title={formatDateTime(active.createdAt)}>
              {formatAgo(active.createdAt, now)}
            </time>
          </p>
        ) : null}
      </div>
      {active ? (
        <>
          <JsonView value={active.config} label={`Active config of ${typeLabel(target)} in ${environment}`} />
          <dl className="facts">
            <div className="fact">
              <dt>Deployed</dt>
              <dd>
                {formatDateTime(active.createdAt)} by {active.deployedBy}
              </dd>
            </div>
            <div className="fact">
              <dt>From</dt>
              <dd>
                <Origin deployment={active} byId={byId} />
              </dd>
            </div>
          </dl>
        </>
      ) : (
        <p>
          Nothing deployed: {typeLabel(target)} runs with its built-in defaults in {environment}. Approving an
          experiment&rsquo;s results deploys its optimal config.
        </p>
      )}
    </section>
  );
}

/** Where a deployment came from: an experiment and its approval, or a rollback. */
function Origin({ deployment: d, byId }: { deployment: Deployment; byId: ReadonlyMap<string, Deployment> }) {
  const parts = [];
  if (d.rolledBackFrom) {
    const earlier = byId.get(d.rolledBackFrom);
    parts.push(
      <span key="rb" className="origin-line">
        Rollback to{' '}
        <a href={`#deployment-${d.rolledBackFrom}`}>
          {earlier ? `the config of ${formatDateTime(earlier.createdAt)}` : `deployment …${shortId(d.rolledBackFrom)}`}
        </a>
      </span>,
    );
  }
  if (d.experimentId) {
    parts.push(
      <span key="exp" className="origin-line">
        <Link to={`/workflows/${d.experimentId}`}>Experiment …{shortId(d.experimentId)}</Link>
      </span>,
    );
  }
  if (d.approval) {
    parts.push(
      <span key="ap" className="origin-line">
        <Link to={`/approvals/${d.approval.id}`}>Approval</Link>
        {d.approval.decidedBy ? <span className="muted"> by {d.approval.decidedBy}</span> : null}
      </span>,
    );
  }
  if (parts.length === 0) return <span className="muted">Deployed directly</span>;
  return <>{parts}</>;
}
