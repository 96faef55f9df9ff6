// One workflow: what went in and came out, its attempts and timings, the
// model calls it made, its chain as a timeline, and retry / cancel.

import { useCallback, useId, useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { ArtifactView } from '../components/ArtifactView';
import { ExperimentView } from '../components/ExperimentView';
import { JsonView } from '../components/JsonView';
import { NotFound, ProblemNotice } from '../components/Problem';
import { Loading } from '../components/States';
import { StatusBadge } from '../components/StatusBadge';
import { graphql } from '../gql';
import type { DetailApprovalEventsSubscription, WorkflowDetailQuery } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useArtifactSchema } from '../hooks/useArtifactSchema';
import { useClaimWatch } from '../hooks/useClaimWatch';
import { useDebounced } from '../hooks/useDebounced';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { hasProblem, problemsOf, type Problem } from '../lib/errors';
import {
  between,
  formatCost,
  formatDateTime,
  formatDuration,
  formatInt,
  formatScore,
  typeVersionLabel,
} from '../lib/format';
import { canControlWorkflow, roleLabel } from '../lib/policy';
import { canCancel, canRetry, isActive } from '../lib/workflowStatus';
import { Link, useParams } from '../router';

const WorkflowDetailQueryDoc = graphql(`
  query WorkflowDetail($id: ID!) {
    workflow(id: $id) {
      id
      type
      typeVersion
      status
      input
      output
      error
      attempt
      maxAttempts
      runAfter
      chainId
      idempotencyKey
      createdBy
      createdAt
      startedAt
      completedAt
      triggeredByApproval {
        id
        status
        feedback
        decidedBy
        decidedAt
      }
      approval {
        id
        status
        score
        artifactType
      }
      artifacts {
        id
        kind
        version
        content
        createdAt
        parent {
          id
          version
          content
        }
      }
      chain {
        id
        type
        typeVersion
        status
        createdAt
        completedAt
        approval {
          id
          status
          score
          decidedBy
          decidedAt
          feedback
        }
      }
      llmCalls {
        id
        purpose
        provider
        model
        attempt
        promptTokens
        completionTokens
        latencyMs
        costUsd
        error
        createdAt
      }
      events {
        id
        kind
        at
        actor
        actorRole
      }
    }
  }
`);

const RetryWorkflowMutation = graphql(`
  mutation RetryWorkflow($id: ID!) {
    retryWorkflow(id: $id) {
      id
      status
      attempt
      maxAttempts
      error
      runAfter
    }
  }
`);

const CancelWorkflowMutation = graphql(`
  mutation CancelWorkflow($id: ID!) {
    cancelWorkflow(id: $id) {
      id
      status
    }
  }
`);

const WorkflowExperimentQuery = graphql(`
  query WorkflowExperiment($id: ID!) {
    experiment(id: $id) {
      ...ExperimentResults
    }
  }
`);

const DetailChainEvents = graphql(`
  subscription DetailChainEvents($chainId: ID!) {
    workflowEvents(chainId: $chainId) {
      kind
      workflow {
        id
        status
      }
    }
  }
`);

const DetailApprovalEvents = graphql(`
  subscription DetailApprovalEvents {
    approvalEvents {
      kind
      approval {
        id
        chainId
      }
    }
  }
`);

type Workflow = NonNullable<WorkflowDetailQuery['workflow']>;

export function WorkflowDetailPage() {
  const { id = '' } = useParams();
  const [{ data, fetching, error, operation }, refetch] = useQuery({ query: WorkflowDetailQueryDoc, variables: { id } });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  // urql keeps the previous result while new variables load.
  const current = operation?.variables.id === id;
  const workflow = current ? data?.workflow : undefined;
  useTitle(workflow ? typeVersionLabel(workflow.type, workflow.typeVersion) : 'Workflow');

  // Live without polling. Any status change in the chain (this workflow's
  // retries, completion, failure, cancellation; the next workflow being
  // created) and any decision on the chain's approvals is pushed, and
  // changes this page (status, timeline, artifacts, model calls): re-read.
  // Several events in a burst cause one read.
  const soon = useDebounced(reload, 150);
  const chainId = workflow?.chainId ?? '';
  useLiveEvents(DetailChainEvents, { chainId }, soon, { pause: !workflow, catchUp: soon });
  const onApproval = useCallback(
    (d: DetailApprovalEventsSubscription) => {
      if (d.approvalEvents.approval.chainId === chainId) soon();
    },
    [chainId, soon],
  );
  useLiveEvents(DetailApprovalEvents, {}, onApproval, { pause: !workflow });
  useOnReconnect(reload);
  // A claim (PENDING → RUNNING) is the one change that is not pushed: while
  // this workflow is pending, re-read when it is due (see useClaimWatch).
  useClaimWatch(workflow?.status === 'PENDING' ? [workflow] : [], reload);

  if (hasProblem(error, 'not-found') || hasProblem(error, 'bad-input')) return <NotFound what="Workflow" id={id} />;
  if (fetching && !workflow) return <Loading label="Loading the workflow…" />;
  if (current && data && data.workflow === null) return <NotFound what="Workflow" id={id} />;
  if (!workflow) return <ProblemNotice error={error} onRetry={reload} />;
  return <Detail workflow={workflow} reload={reload} />;
}

function Detail({ workflow: w, reload }: { workflow: Workflow; reload: () => void }) {
  // A declared type's artifacts read by the schema of the version that made them.
  const artifactSchema = useArtifactSchema(w.type, w.typeVersion);
  return (
    <article className="stack" aria-labelledby="wf-title">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/workflows">Workflows</Link> / <span className="mono">{w.id}</span>
          </p>
          <h1 id="wf-title">
            {typeVersionLabel(w.type, w.typeVersion)} <StatusBadge status={w.status} />
          </h1>
        </div>
        <Actions workflow={w} reload={reload} />
      </div>

      {w.error ? (
        <div className={`notice ${w.status === 'FAILED' ? 'notice-error' : 'notice-warn'}`}>
          <p className="notice-title">{w.status === 'FAILED' ? 'It failed' : 'The last attempt failed; it will retry'}</p>
          <p className="notice-body mono-wrap">{w.error}</p>
        </div>
      ) : null}

      {w.approval?.status === 'PENDING' ? (
        <div className="notice notice-info">
          <p className="notice-title">Waiting for a reviewer</p>
          <p className="notice-body">
            <Link to={`/approvals/${w.approval.id}`}>Review this {w.approval.artifactType}</Link> (score{' '}
            {formatScore(w.approval.score)}).
          </p>
        </div>
      ) : null}

      <div className="detail-grid">
        <Facts workflow={w} />
        <Timeline workflow={w} />
      </div>

      {w.artifacts.map((a) =>
        a.kind === 'experiment_results' ? (
          <ExperimentSection key={a.id} workflowId={w.id} fallback={a.content} />
        ) : (
          <section key={a.id} aria-label={`Artifact: ${a.kind}, version ${a.version}`}>
            {artifactSchema.loading ? (
              <Loading label="Loading the artifact's schema…" />
            ) : (
              <ArtifactView
                artifactType={a.kind}
                data={a.content}
                version={a.version}
                parent={a.parent}
                schema={artifactSchema.schema}
              />
            )}
          </section>
        ),
      )}

      <div className="io-grid">
        <section className="card stack-sm" aria-labelledby="wf-input">
          <h2 id="wf-input">Input</h2>
          <JsonView value={w.input} label="Input" />
        </section>
        <section className="card stack-sm" aria-labelledby="wf-output">
          <h2 id="wf-output">Output</h2>
          {w.output === null || w.output === undefined ? (
            <p className="muted">{isActive(w.status) ? 'Not finished yet.' : 'No output.'}</p>
          ) : (
            <JsonView value={w.output} label="Output" />
          )}
        </section>
      </div>

      <LlmCalls calls={w.llmCalls} />
      <Events events={w.events} />
    </article>
  );
}

function Actions({ workflow: w, reload }: { workflow: Workflow; reload: () => void }) {
  const viewer = useViewer();
  const [retryState, retry] = useMutation(RetryWorkflowMutation);
  const [cancelState, cancel] = useMutation(CancelWorkflowMutation);
  const [problems, setProblems] = useState<Problem[]>([]);
  const run = async (which: 'retry' | 'cancel') => {
    setProblems([]);
    const result = which === 'retry' ? await retry({ id: w.id }) : await cancel({ id: w.id });
    if (result.error) setProblems(problemsOf(result.error));
    reload();
  };
  if (!canRetry(w.status) && !canCancel(w.status) && problems.length === 0) return null;
  if (!canControlWorkflow(viewer, w.createdBy)) {
    return (
      <p className="muted small actions-note" data-testid="actions-not-allowed">
        Only whoever started it ({w.createdBy}) or an admin can {canRetry(w.status) ? 'retry' : 'cancel'} it.
      </p>
    );
  }
  return (
    <div className="stack-sm actions-col">
      <div className="actions">
        {canRetry(w.status) ? (
          <button type="button" className="btn btn-primary" disabled={retryState.fetching} onClick={() => void run('retry')}>
            {retryState.fetching ? 'Retrying…' : 'Retry'}
          </button>
        ) : null}
        {canCancel(w.status) ? (
          <button type="button" className="btn btn-danger" disabled={cancelState.fetching} onClick={() => void run('cancel')}>
            {cancelState.fetching ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
      </div>
      <ProblemNotice problems={problems} titles={{ conflict: 'Its state changed before this took effect' }} />
    </div>
  );
}

function Facts({ workflow: w }: { workflow: Workflow }) {
  const typeHref = `/types/${encodeURIComponent(w.type)}${w.typeVersion ? `?version=${w.typeVersion}` : ''}`;
  const rows: [string, ReactNode][] = [
    [
      'Type',
      <Link key="type" to={typeHref}>
        {typeVersionLabel(w.type, w.typeVersion)}
      </Link>,
    ],
    ['Attempts', `${w.attempt} of ${w.maxAttempts}`],
    ['Created', `${formatDateTime(w.createdAt)} by ${w.createdBy}`],
    ['Started', formatDateTime(w.startedAt)],
    ['Completed', formatDateTime(w.completedAt)],
    ['Waited', formatDuration(between(w.createdAt, w.startedAt))],
    ['Ran', formatDuration(between(w.startedAt, w.completedAt))],
  ];
  if (isActive(w.status)) rows.push(['Runs after', formatDateTime(w.runAfter)]);
  if (w.idempotencyKey) rows.push(['Idempotency key', <code key="k">{w.idempotencyKey}</code>]);
  if (w.triggeredByApproval) {
    rows.push([
      'Started by',
      <Link key="t" to={`/approvals/${w.triggeredByApproval.id}`}>
        {w.triggeredByApproval.status === 'APPROVED' ? 'an approval' : 'a rejection'}
        {w.triggeredByApproval.decidedBy ? ` by ${w.triggeredByApproval.decidedBy}` : ''}
      </Link>,
    ]);
  }
  return (
    <section className="card" aria-labelledby="wf-facts">
      <h2 id="wf-facts">Run</h2>
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div key={k} className="fact">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

type ChainStep = Workflow['chain'][number];

function decisionLabel(status: string): string {
  return status === 'APPROVED' ? 'Approved' : status === 'REJECTED' ? 'Rejected' : status.charAt(0) + status.slice(1).toLowerCase();
}

/** workflow → approval → decision → next workflow → … */
function Timeline({ workflow: w }: { workflow: Workflow }) {
  const headingId = useId();
  const steps: { key: string; node: ReactNode; current?: boolean; kind: string }[] = [];
  w.chain.forEach((c: ChainStep) => {
    steps.push({
      key: `w-${c.id}`,
      kind: 'workflow',
      current: c.id === w.id,
      node: (
        <>
          {c.id === w.id ? (
            <strong>{typeVersionLabel(c.type, c.typeVersion)}</strong>
          ) : (
            <Link to={`/workflows/${c.id}`}>{typeVersionLabel(c.type, c.typeVersion)}</Link>
          )}{' '}
          <StatusBadge status={c.status} />
          <span className="muted small"> {formatDateTime(c.createdAt)}</span>
        </>
      ),
    });
    const a = c.approval;
    if (a) {
      steps.push({
        key: `a-${a.id}`,
        kind: 'approval',
        node: (
          <>
            <Link to={`/approvals/${a.id}`}>Approval</Link> <StatusBadge status={a.status} />
            <span className="muted small"> score {formatScore(a.score)}</span>
          </>
        ),
      });
      if (a.status !== 'PENDING') {
        steps.push({
          key: `d-${a.id}`,
          kind: 'decision',
          node: (
            <>
              {decisionLabel(a.status)}
              {a.decidedBy ? ` by ${a.decidedBy}` : ''}
              {a.decidedAt ? <span className="muted small"> {formatDateTime(a.decidedAt)}</span> : null}
              {a.feedback ? <q className="timeline-feedback">{a.feedback}</q> : null}
            </>
          ),
        });
      }
    }
  });
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Chain</h2>
      <ol className="timeline">
        {steps.map((s) => (
          <li key={s.key} className={`timeline-${s.kind}${s.current ? ' timeline-current' : ''}`} aria-current={s.current ? 'step' : undefined}>
            {s.node}
          </li>
        ))}
      </ol>
    </section>
  );
}

function LlmCalls({ calls }: { calls: Workflow['llmCalls'] }) {
  const headingId = useId();
  const totals = calls.reduce(
    (t, c) => ({
      prompt: t.prompt + c.promptTokens,
      completion: t.completion + c.completionTokens,
      latency: t.latency + c.latencyMs,
      cost: c.costUsd === null || c.costUsd === undefined || t.cost === null ? null : t.cost + c.costUsd,
    }),
    { prompt: 0, completion: 0, latency: 0, cost: 0 as number | null },
  );
  const attempts = new Set(calls.map((c) => c.attempt)).size;
  return (
    <section className="card stack-sm" aria-labelledby={headingId}>
      <h2 id={headingId}>Model calls</h2>
      {calls.length === 0 ? (
        <p className="muted">No model calls yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Purpose</th>
                <th scope="col">Model</th>
                {attempts > 1 ? <th scope="col" className="num">Attempt</th> : null}
                <th scope="col" className="num">Tokens in</th>
                <th scope="col" className="num">Tokens out</th>
                <th scope="col" className="num">Latency</th>
                <th scope="col" className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={c.id}>
                  <td>
                    {c.purpose}
                    {c.error ? <span className="excerpt error-text">{c.error}</span> : null}
                  </td>
                  <td>
                    {c.model}
                    {c.provider !== c.model ? <span className="muted small"> ({c.provider})</span> : null}
                  </td>
                  {attempts > 1 ? <td className="num">{c.attempt}</td> : null}
                  <td className="num">{formatInt(c.promptTokens)}</td>
                  <td className="num">{formatInt(c.completionTokens)}</td>
                  <td className="num">{formatDuration(c.latencyMs)}</td>
                  <td className="num">{formatCost(c.costUsd)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={attempts > 1 ? 3 : 2}>
                  {calls.length} calls
                </th>
                <td className="num">{formatInt(totals.prompt)}</td>
                <td className="num">{formatInt(totals.completion)}</td>
                <td className="num">{formatDuration(totals.latency)}</td>
                <td className="num">{formatCost(totals.cost)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </section>
  );
}

function Events({ events }: { events: Workflow['events'] }) {
  if (events.length === 0) return null;
  return (
    <details className="card">
      <summary>Audit trail ({events.length} events)</summary>
      <ol className="events">
        {events.map((e) => (
          <li key={e.id}>
            <code>{e.kind}</code> <span className="muted small">{formatDateTime(e.at)}</span> · {e.actor}
            {e.actorRole ? <span className="muted small"> ({roleLabel(e.actorRole)})</span> : null}
          </li>
        ))}
      </ol>
    </details>
  );
}

/** A `run_experiment`'s results, typed (`experiment(id)`), as on its review page. */
function ExperimentSection({ workflowId, fallback }: { workflowId: string; fallback: unknown }) {
  const [{ data, fetching, error }] = useQuery({ query: WorkflowExperimentQuery, variables: { id: workflowId } });
  if (fetching && !data) return <Loading label="Loading the experiment…" />;
  if (data?.experiment) {
    return (
      <section aria-label="Experiment results">
        <ExperimentView experiment={data.experiment} />
      </section>
    );
  }
  return (
    <section aria-label="Artifact: experiment results">
      {error ? <ProblemNotice error={error} /> : null}
      <ArtifactView artifactType="experiment_results" data={fallback} />
    </section>
  );
}
