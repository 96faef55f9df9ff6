// One approval: the artifact to review and the decision. After a decision
// the page follows the workflow it started, live, and links to what comes
// next (the revision's approval, or the final draft).

import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ArtifactView } from '../components/ArtifactView';
import { ExperimentView } from '../components/ExperimentView';
import { freshest, NextWorkflowCard } from '../components/NextWorkflow';
import { NotFound, ProblemNotice } from '../components/Problem';
import { Loading } from '../components/States';
import { StatusBadge } from '../components/StatusBadge';
import { graphql } from '../gql';
import type { ChainEventsSubscription, ChainWorkflowFragment, ReviewApprovalQuery } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useShortcuts } from '../hooks/useShortcuts';
import { useTitle } from '../hooks/useTitle';
import { hasProblem, problemsOf, type Problem } from '../lib/errors';
import { formatAgo, formatDateTime, formatScore, typeLabel } from '../lib/format';
import { Link, useParams } from '../router';

const ReviewApprovalQueryDoc = graphql(`
  query ReviewApproval($id: ID!) {
    approval(id: $id) {
      id
      status
      artifactType
      artifactData
      score
      createdAt
      expiresAt
      chainId
      nextWorkflowType
      rejectWorkflowType
      rejectRequiresFeedback
      decidedBy
      decidedAt
      feedback
      workflow {
        id
        type
        createdAt
        triggeredByApproval {
          id
          status
          feedback
          decidedBy
        }
      }
      artifact {
        id
        kind
        version
        parent {
          id
          version
          content
        }
      }
      nextWorkflow {
        ...ChainWorkflow
      }
      experiment {
        ...ExperimentResults
      }
    }
  }
`);

const ApproveMutation = graphql(`
  mutation Approve($id: ID!, $feedback: String) {
    approve(id: $id, feedback: $feedback) {
      approval {
        id
        status
        decidedBy
        decidedAt
        feedback
      }
      nextWorkflow {
        ...ChainWorkflow
      }
    }
  }
`);

const RejectMutation = graphql(`
  mutation Reject($id: ID!, $feedback: String) {
    reject(id: $id, feedback: $feedback) {
      approval {
        id
        status
        decidedBy
        decidedAt
        feedback
      }
      nextWorkflow {
        ...ChainWorkflow
      }
    }
  }
`);

const ChainEventsSubscription = graphql(`
  subscription ChainEvents($chainId: ID!) {
    workflowEvents(chainId: $chainId) {
      kind
      workflow {
        ...ChainWorkflow
      }
    }
  }
`);

const NextWorkflowQuery = graphql(`
  query NextWorkflow($id: ID!) {
    workflow(id: $id) {
      ...ChainWorkflow
    }
  }
`);

type Approval = NonNullable<ReviewApprovalQuery['approval']>;

export function ReviewPage() {
  const { id = '' } = useParams();
  const [{ data, fetching, error, operation }, refetch] = useQuery({
    query: ReviewApprovalQueryDoc,
    variables: { id },
  });
  // urql keeps the previous result while new variables load: never show
  // (or let anyone decide) another approval than the one in the address.
  const current = operation?.variables.id === id;
  const approval = current ? data?.approval : undefined;
  useTitle(approval ? `Review ${typeLabel(approval.artifactType)}` : 'Review');
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);

  if (hasProblem(error, 'not-found') || hasProblem(error, 'bad-input')) return <NotFound what="Approval" id={id} />;
  if (fetching && !approval) return <Loading label="Loading the approval…" />;
  if (current && data && data.approval === null) return <NotFound what="Approval" id={id} />;
  if (!approval) return <ProblemNotice error={error} onRetry={reload} />;
  return <Review key={approval.id} approval={approval} reload={reload} />;
}

function Review({ approval, reload }: { approval: Approval; reload: () => void }) {
  const now = useNow();
  const pending = approval.status === 'PENDING';

  // Status changes in this chain (completed, failed, cancelled, retrying…),
  // pushed while the page is open (from the start, so the next workflow's
  // completion cannot slip by).
  const [pushed, setPushed] = useState<Record<string, ChainWorkflowFragment>>({});
  const onEvent = useCallback((d: ChainEventsSubscription) => {
    const w = d.workflowEvents.workflow;
    setPushed((p) => ({ ...p, [w.id]: w }));
  }, []);
  useLiveEvents(ChainEventsSubscription, { chainId: approval.chainId }, onEvent);
  useOnReconnect(reload);

  const [decided, setDecided] = useState<ChainWorkflowFragment | null>(null);
  // Kept here, not in the form: the form is gone once the refetch shows
  // the other reviewer's decision, and the notice must stay.
  const [conflict, setConflict] = useState<Problem | null>(null);
  const nextId = decided?.id ?? approval.nextWorkflow?.id;
  // Read the next workflow once more after the decision: it may have
  // finished before the subscription saw it.
  const [{ data: nextData }] = useQuery({
    query: NextWorkflowQuery,
    variables: { id: nextId ?? '' },
    pause: nextId === undefined,
    requestPolicy: 'network-only',
  });
  const next = freshest(
    approval.nextWorkflow?.id === nextId ? approval.nextWorkflow : undefined,
    decided,
    nextData?.workflow,
    nextId ? pushed[nextId] : undefined,
  );

  return (
    <article className="stack" aria-labelledby="review-title">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/">Queue</Link> / approval
          </p>
          <h1 id="review-title">
            Review {typeLabel(approval.artifactType)} <StatusBadge status={approval.status} />
          </h1>
          <p className="muted small">
            from <Link to={`/workflows/${approval.workflow.id}`}>{typeLabel(approval.workflow.type)}</Link> ·{' '}
            <time dateTime={approval.createdAt} title={formatDateTime(approval.createdAt)}>
              created {formatAgo(approval.createdAt, now)}
            </time>{' '}
            · {approval.experiment ? 'predicted score' : 'score'} {formatScore(approval.score)}
            {approval.expiresAt ? <> · expires {formatDateTime(approval.expiresAt)}</> : null}
          </p>
          <p className="show-narrow small">
            <a href="#decision">{pending ? 'Go to your decision' : 'Go to the decision'}</a>
          </p>
        </div>
      </div>
      <div className="review-grid">
        <div className="review-main stack">
          <RevisionContext approval={approval} />
          {approval.experiment ? (
            <ExperimentView experiment={approval.experiment} />
          ) : (
            <ArtifactView
              artifactType={approval.artifactType}
              data={approval.artifactData}
              version={approval.artifact?.version}
              parent={approval.artifact?.parent}
            />
          )}
        </div>
        <aside className="review-side" aria-label="Decision" id="decision">
          {conflict ? (
            <ProblemNotice
              problems={[conflict]}
              titles={{ conflict: 'Someone else decided this approval first.' }}
            >
              <p className="notice-body">The page has been refreshed to show their decision.</p>
            </ProblemNotice>
          ) : null}
          {pending ? (
            <DecisionForm approval={approval} reload={reload} onDecided={setDecided} onConflict={setConflict} />
          ) : (
            <Outcome approval={approval} />
          )}
          {next ? <NextWorkflowCard workflow={next} /> : null}
          {!pending && !next ? <p className="muted">Nothing follows this decision: the chain ends here.</p> : null}
        </aside>
      </div>
    </article>
  );
}

/** For a revision: the decision it answers, so the reviewer can check it. */
function RevisionContext({ approval }: { approval: Approval }) {
  const asked = approval.workflow.triggeredByApproval;
  if (!asked) return null;
  const verb = asked.status === 'REJECTED' ? 'rejected' : 'approved';
  return (
    <section className="notice notice-info" aria-label="What this revision answers">
      <p className="notice-title">
        This revision answers feedback on the previous version ({verb}
        {asked.decidedBy ? ` by ${asked.decidedBy}` : ''}):
      </p>
      {asked.feedback ? (
        <blockquote className="feedback-quote">{asked.feedback}</blockquote>
      ) : (
        <p className="notice-body">No feedback was given.</p>
      )}
      <p className="notice-body small">
        <Link to={`/approvals/${asked.id}`}>See that review</Link>
      </p>
    </section>
  );
}

function Outcome({ approval }: { approval: Approval }) {
  const verb =
    approval.status === 'APPROVED'
      ? 'Approved'
      : approval.status === 'REJECTED'
        ? 'Rejected'
        : approval.status === 'EXPIRED'
          ? 'Expired'
          : 'Cancelled';
  return (
    <section className="card stack-sm" data-testid="outcome">
      <h2>{verb}</h2>
      {approval.decidedBy || approval.decidedAt ? (
        <p className="small">
          {approval.decidedBy ? <>by {approval.decidedBy} </> : null}
          {approval.decidedAt ? <>at {formatDateTime(approval.decidedAt)}</> : null}
        </p>
      ) : null}
      {approval.feedback ? (
        <blockquote className="feedback-quote">{approval.feedback}</blockquote>
      ) : approval.status === 'APPROVED' || approval.status === 'REJECTED' ? (
        <p className="muted small">No feedback given.</p>
      ) : (
        <p className="muted small">It can no longer be decided.</p>
      )}
      <p className="small">
        <Link to="/">Back to the queue</Link>
      </p>
    </section>
  );
}

function DecisionForm({
  approval,
  reload,
  onDecided,
  onConflict,
}: {
  approval: Approval;
  reload: () => void;
  onDecided: (next: ChainWorkflowFragment | null) => void;
  onConflict: (problem: Problem) => void;
}) {
  const [feedback, setFeedback] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [approveState, approve] = useMutation(ApproveMutation);
  const [rejectState, reject] = useMutation(RejectMutation);
  const busy = approveState.fetching || rejectState.fetching;
  const textRef = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();

  const decide = useCallback(
    async (verb: 'approve' | 'reject') => {
      if (busy) return;
      setProblems([]);
      const variables = { id: approval.id, feedback: feedback.trim() === '' ? null : feedback.trim() };
      const result = verb === 'approve' ? await approve(variables) : await reject(variables);
      const payload = result.data ? ('approve' in result.data ? result.data.approve : result.data.reject) : undefined;
      if (payload) {
        onDecided(payload.nextWorkflow ?? null);
        reload();
        return;
      }
      const found = problemsOf(result.error);
      const conflict = found.find((p) => p.kind === 'conflict');
      if (conflict) {
        // Someone decided first: show what they decided.
        onConflict(conflict);
        reload();
        return;
      }
      setProblems(found);
    },
    [approval.id, approve, busy, feedback, onConflict, onDecided, reject, reload],
  );

  useShortcuts({
    a: () => void decide('approve'),
    r: () => void decide('reject'),
    f: () => textRef.current?.focus(),
  });

  useEffect(() => {
    setProblems([]);
  }, [approval.id]);

  const deploys = approval.nextWorkflowType === 'deploy_config';
  const approveHint = deploys
    ? `Approving starts deploy config: the optimal config becomes the active ${typeLabel(
        approval.experiment?.target ?? 'generate_draft',
      )} config in ${approval.experiment?.environment ?? 'production'}. The current one stays in the history and can be rolled back from Deployments.`
    : approval.nextWorkflowType
      ? `Approving starts ${typeLabel(approval.nextWorkflowType)}.`
      : 'Approving ends the chain.';
  const rejectHint = approval.rejectWorkflowType
    ? approval.rejectRequiresFeedback
      ? `Rejecting with feedback starts ${typeLabel(approval.rejectWorkflowType)}; without feedback it ends the chain.`
      : `Rejecting starts ${typeLabel(approval.rejectWorkflowType)}.`
    : 'Rejecting ends the chain.';

  return (
    <form
      className="card stack-sm decision"
      aria-label="Decide"
      onSubmit={(e) => {
        e.preventDefault();
        void decide('approve');
      }}
    >
      <h2>Your decision</h2>
      <div className="field">
        <label htmlFor="feedback">
          Feedback <span className="muted">(optional)</span>
        </label>
        <textarea
          id="feedback"
          ref={textRef}
          rows={6}
          value={feedback}
          aria-describedby={hintId}
          onChange={(e) => setFeedback(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void decide('approve');
            } else if (e.key === 'Escape') {
              e.currentTarget.blur();
            }
          }}
          placeholder={
            approval.experiment
              ? 'Why this decision? Kept with the approval.'
              : 'What should change? e.g. Let her hesitate before she opens it.'
          }
        />
        <p id={hintId} className="hint">
          {approveHint} {rejectHint} <kbd>Ctrl</kbd>+<kbd>Enter</kbd> approves with this feedback.
        </p>
      </div>
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy} aria-keyshortcuts="a">
          {approveState.fetching ? 'Approving…' : deploys ? 'Approve and deploy' : 'Approve'} <kbd aria-hidden="true">a</kbd>
        </button>
        <button
          type="button"
          className="btn btn-danger"
          disabled={busy}
          aria-keyshortcuts="r"
          onClick={() => void decide('reject')}
        >
          {rejectState.fetching ? 'Rejecting…' : 'Reject'} <kbd aria-hidden="true">r</kbd>
        </button>
      </div>
    </form>
  );
}
