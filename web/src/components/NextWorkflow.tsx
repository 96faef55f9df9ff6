// The workflow a decision started, with its status kept live: the chain's
// status changes arrive over `workflowEvents(chainId:)`, and a fresh read
// after the decision covers a completion that beat the subscription.

import { graphql } from '../gql';
import type { ChainWorkflowFragment, WorkflowStatus } from '../gql/graphql';
import { formatScore, typeVersionLabel } from '../lib/format';
import { getBoolean, getNumber } from '../lib/json';
import { Link } from '../router';
import { StatusBadge } from './StatusBadge';

export const ChainWorkflowFields = graphql(`
  fragment ChainWorkflow on Workflow {
    id
    type
    typeVersion
    status
    chainId
    createdAt
    completedAt
    error
    output
    approval {
      id
      status
      score
    }
  }
`);

const RANK: Record<WorkflowStatus, number> = { PENDING: 0, RUNNING: 1, CANCELLED: 2, FAILED: 2, COMPLETED: 3 };

/** The freshest of several reads of one workflow (statuses only move forward, except retries). */
export function freshest(...reads: (ChainWorkflowFragment | null | undefined)[]): ChainWorkflowFragment | undefined {
  let best: ChainWorkflowFragment | undefined;
  for (const r of reads) {
    if (!r) continue;
    if (!best || RANK[r.status] > RANK[best.status]) best = r;
  }
  return best;
}

export function NextWorkflowCard({ workflow }: { workflow: ChainWorkflowFragment }) {
  const final = getBoolean(workflow.output, 'final');
  const score = getNumber(workflow.output, 'score');
  const delta = getNumber(workflow.output, 'score_delta');
  const done = workflow.status === 'COMPLETED';
  return (
    <div className="next-workflow stack-sm" data-testid="next-workflow" data-status={workflow.status}>
      <p className="next-title">
        Next: <Link to={`/workflows/${workflow.id}`}>{typeVersionLabel(workflow.type, workflow.typeVersion)}</Link>{' '}
        <StatusBadge status={workflow.status} />
      </p>
      {workflow.status === 'PENDING' || workflow.status === 'RUNNING' ? (
        <p className="muted small" aria-live="polite">
          Working on it; this updates by itself.
        </p>
      ) : null}
      {workflow.status === 'FAILED' ? <p className="error-text">It failed: {workflow.error ?? 'no error recorded'}</p> : null}
      {done && score !== undefined ? (
        <p className="small">
          New score {formatScore(score)}
          {delta !== undefined ? ` (${delta >= 0 ? '+' : ''}${formatScore(delta)})` : ''}
        </p>
      ) : null}
      {done && workflow.approval?.status === 'PENDING' ? (
        <p>
          <Link className="btn btn-primary" to={`/approvals/${workflow.approval.id}`}>
            Review the revision
          </Link>
        </p>
      ) : null}
      {done && workflow.type === 'deploy_config' ? (
        <p>
          The config is live. <Link to="/deployments">See deployments</Link>
        </p>
      ) : null}
      {done && !workflow.approval && workflow.type !== 'deploy_config' ? (
        <p>
          {final ? 'The draft is final. ' : 'Finished without asking for another review. '}
          <Link to={`/workflows/${workflow.id}`}>{final ? 'Read the final draft' : 'See what it produced'}</Link>
        </p>
      ) : null}
      {done && workflow.approval && workflow.approval.status !== 'PENDING' ? (
        <p>
          Its approval was already decided: <Link to={`/approvals/${workflow.approval.id}`}>see it</Link>
        </p>
      ) : null}
    </div>
  );
}
