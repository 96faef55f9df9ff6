// Where an approval stands under its policy: "1 of 2 approvals", the votes
// so far (a vote on an older version is stale and no longer counts), and
// the policy copied onto it when it was created (who may decide, the
// self-review rule, expiry).

import { useId } from 'react';
import { graphql } from '../gql';
import type { ApprovalPolicyFieldsFragment, VoteFieldsFragment } from '../gql/graphql';
import { useNow } from '../hooks/useNow';
import { formatAgo, formatDateTime } from '../lib/format';
import { approvalsText, policyLines, roleLabel } from '../lib/policy';

export const ApprovalPolicyFields = graphql(`
  fragment ApprovalPolicyFields on ApprovalPolicy {
    workflowType
    allowedRoles
    allowedUsers
    preventSelfReview
    requiredApprovals
    expiresInSeconds
    remindAfterSeconds
    escalateAfterSeconds
    escalateTo
    onExpiry {
      action
      reason
      workflowType
    }
    isDefault
    updatedBy
    updatedAt
  }
`);

export const VoteFields = graphql(`
  fragment VoteFields on Vote {
    id
    reviewer {
      name
      role
    }
    decision
    feedback
    artifactVersion
    stale
    createdAt
  }
`);

export function ApprovalProgress({
  approvalsCount,
  requiredApprovals,
  policy,
  votes,
  startedBy,
  expiresAt,
  version,
  editedBy,
  pending,
}: {
  approvalsCount: number;
  requiredApprovals: number;
  policy: ApprovalPolicyFieldsFragment;
  votes: readonly VoteFieldsFragment[];
  startedBy: string;
  expiresAt?: string | null | undefined;
  /** The artifact version under review (0 without an artifact). */
  version: number;
  /** The reviewer who wrote this version, when it is an edit. */
  editedBy?: string | null | undefined;
  pending: boolean;
}) {
  const now = useNow();
  const headingId = useId();
  const share = requiredApprovals > 0 ? Math.min(1, approvalsCount / requiredApprovals) : 0;
  return (
    <section className="card stack-sm approval-progress" aria-labelledby={headingId} data-testid="approval-progress">
      <h2 id={headingId}>Approvals</h2>
      <p className="progress-count" data-testid="approvals-count">
        <strong>{approvalsText(approvalsCount, requiredApprovals)}</strong>
        {version > 0 ? <span className="muted small"> on version {version}</span> : null}
      </p>
      {requiredApprovals > 1 ? (
        <span className="bar progress-bar" aria-hidden="true">
          <span style={{ width: `${share * 100}%` }} />
        </span>
      ) : null}
      {editedBy ? (
        <p className="small" data-testid="edited-by">
          Version {version} is an edit by {editedBy}; approvals of earlier versions no longer count.
        </p>
      ) : null}
      {votes.length === 0 ? (
        <p className="muted small">{pending ? 'No votes yet.' : 'No votes were recorded.'}</p>
      ) : (
        <ul className="votes" aria-label="Votes">
          {votes.map((v) => (
            <li key={v.id} className={v.stale ? 'vote vote-stale' : 'vote'} data-vote={v.decision} data-stale={v.stale || undefined}>
              <p>
                <strong>{v.reviewer.name}</strong>
                {v.reviewer.role ? <span className="muted small"> ({roleLabel(v.reviewer.role)})</span> : null}{' '}
                <span className={v.decision === 'APPROVE' ? 'vote-approve' : 'vote-reject'}>
                  {v.decision === 'APPROVE' ? 'approved' : 'rejected'}
                </span>{' '}
                version {v.artifactVersion}{' '}
                <time className="muted small" dateTime={v.createdAt} title={formatDateTime(v.createdAt)}>
                  {formatAgo(v.createdAt, now)}
                </time>
                {v.stale ? (
                  <>
                    {' '}
                    <span className="badge badge-stale" title="The artifact changed after this vote; it no longer counts">
                      Stale
                    </span>
                    <span className="sr-only">: the artifact changed after this vote, so it no longer counts</span>
                  </>
                ) : null}
              </p>
              {v.feedback ? <blockquote className="feedback-quote">{v.feedback}</blockquote> : null}
            </li>
          ))}
        </ul>
      )}
      <details className="policy-details" open={pending}>
        <summary>Policy{policy.isDefault ? ' (the default)' : ''}</summary>
        <dl className="facts policy-facts" data-testid="policy">
          {policyLines(policy, startedBy).map((line) => (
            <div key={line.label} className="fact">
              <dt>{line.label}</dt>
              <dd>{line.text}</dd>
            </div>
          ))}
          {expiresAt ? (
            <div className="fact">
              <dt>Expires</dt>
              <dd>
                <time dateTime={expiresAt}>{formatDateTime(expiresAt)}</time>
              </dd>
            </div>
          ) : null}
          <div className="fact">
            <dt>Started by</dt>
            <dd>{startedBy}</dd>
          </div>
        </dl>
      </details>
    </section>
  );
}
