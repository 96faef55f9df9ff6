// One approval: the artifact to review, where it stands under its policy
// (votes so far, k of n), and the decision, optionally after editing the
// artifact (edit-then-approve). The decision controls show only when the
// viewer may decide; otherwise the page says why. After a vote the page
// follows the workflow it started, live, and links to what comes next (the
// revision's approval, or the final draft).

import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ApprovalProgress } from '../components/ApprovalProgress';
import { ArtifactEditor } from '../components/ArtifactEditor';
import { ArtifactView } from '../components/ArtifactView';
import { ExperimentView } from '../components/ExperimentView';
import { freshest, NextWorkflowCard } from '../components/NextWorkflow';
import { NotFound, ProblemNotice } from '../components/Problem';
import { Loading } from '../components/States';
import { StatusBadge } from '../components/StatusBadge';
import { graphql } from '../gql';
import type {
  ApproveMutation as ApproveResult,
  ChainEventsSubscription,
  ChainWorkflowFragment,
  RejectMutation as RejectResult,
  ReviewApprovalQuery,
} from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useArtifactSchema } from '../hooks/useArtifactSchema';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useShortcuts } from '../hooks/useShortcuts';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { editBase, editsOf, initialEdit, type EditBase, type EditValue } from '../lib/edits';
import { hasProblem, problemsOf, type Problem } from '../lib/errors';
import { formatAgo, formatDateTime, formatScore, typeLabel, typeVersionLabel } from '../lib/format';
import type { JsonObject } from '../lib/json';
import { approvalsText, decisionBlock } from '../lib/policy';
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
      artifactVersion
      artifactSha256
      approvalsCount
      requiredApprovals
      startedBy
      viewerCanDecide {
        allowed
        reason
      }
      policy {
        ...ApprovalPolicyFields
      }
      votes {
        ...VoteFields
      }
      workflow {
        id
        type
        typeVersion
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
        content
        author
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
  mutation Approve($id: ID!, $version: Int!, $feedback: String, $edits: JSON) {
    approve(id: $id, version: $version, feedback: $feedback, edits: $edits) {
      decided
      vote {
        ...VoteFields
      }
      approval {
        id
        status
        decidedBy
        decidedAt
        feedback
        approvalsCount
        requiredApprovals
        artifactVersion
      }
      nextWorkflow {
        ...ChainWorkflow
      }
    }
  }
`);

const RejectMutation = graphql(`
  mutation Reject($id: ID!, $version: Int!, $feedback: String) {
    reject(id: $id, version: $version, feedback: $feedback) {
      decided
      vote {
        ...VoteFields
      }
      approval {
        id
        status
        decidedBy
        decidedAt
        feedback
        approvalsCount
        requiredApprovals
        artifactVersion
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

/** A decision the server refused because the approval moved on. */
interface Conflict {
  problem: Problem;
  /** The artifact version the decision was made on. */
  sentVersion: number;
}

type DecidePayload = ApproveResult['approve'] | RejectResult['reject'];

function Review({ approval, reload }: { approval: Approval; reload: () => void }) {
  const now = useNow();
  const viewer = useViewer();
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
  const [conflict, setConflict] = useState<Conflict | null>(null);
  // A vote that did not decide yet (k of n): say where it stands.
  const [recorded, setRecorded] = useState<string | null>(null);
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

  // Edit-then-approve: only for whoever may decide, on what has editable fields.
  const block = pending
    ? decisionBlock(viewer, approval.viewerCanDecide, { votes: approval.votes, version: approval.artifactVersion })
    : null;
  const base = useMemo(
    () => editBase(approval.artifactType, approval.artifact?.content ?? approval.artifactData, approval.experiment?.optimalConfig),
    [approval.artifactType, approval.artifact?.content, approval.artifactData, approval.experiment?.optimalConfig],
  );
  // A declared type's artifact reads by the schema of the version that made it.
  const artifactSchema = useArtifactSchema(approval.workflow.type, approval.workflow.typeVersion);
  const [edit, setEdit] = useState<EditValue | null>(null);
  const editing = pending && block === null && base !== null && edit !== null;
  const edited = editing ? editsOf(base, edit) : null;

  const onDecided = useCallback((payload: DecidePayload) => {
    setEdit(null);
    setConflict(null);
    const done = payload.decided || payload.approval.status !== 'PENDING';
    if (done) {
      setDecided(payload.nextWorkflow ?? null);
      setRecorded(null);
    } else {
      const { approvalsCount, requiredApprovals } = payload.approval;
      const more = requiredApprovals - approvalsCount;
      setRecorded(
        `Your approval is recorded: ${approvalsText(approvalsCount, requiredApprovals)}.` +
          (more > 0 ? ` It needs ${more} more from someone else.` : ''),
      );
    }
  }, []);

  const reloadFresh = useCallback(() => {
    setEdit(null);
    setConflict(null);
    reload();
  }, [reload]);

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
            from{' '}
            <Link to={`/workflows/${approval.workflow.id}`}>
              {typeVersionLabel(approval.workflow.type, approval.workflow.typeVersion)}
            </Link>{' '}
            ·{' '}
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
          {editing && edited ? (
            <ArtifactEditor base={base} value={edit} errors={edited.errors} after={edited.after} onChange={setEdit} />
          ) : null}
          {approval.experiment ? (
            <ExperimentView experiment={approval.experiment} />
          ) : artifactSchema.loading ? (
            <Loading label="Loading the artifact's schema…" />
          ) : (
            <ArtifactView
              artifactType={approval.artifactType}
              data={approval.artifactData}
              version={approval.artifact?.version}
              parent={approval.artifact?.parent}
              schema={artifactSchema.schema}
            />
          )}
        </div>
        <aside className="review-side" aria-label="Decision" id="decision">
          {conflict ? <ConflictNotice conflict={conflict} approval={approval} now={now} onReload={reloadFresh} /> : null}
          {recorded && pending ? (
            <div className="notice notice-ok" role="status" data-testid="vote-recorded">
              <p className="notice-title">{recorded}</p>
            </div>
          ) : null}
          {pending && block !== null ? (
            <section className="card stack-sm" data-testid="decision-blocked" aria-labelledby="blocked-title">
              <h2 id="blocked-title">You cannot decide this approval</h2>
              <p data-testid="decision-blocked-reason">{block}</p>
            </section>
          ) : null}
          {pending && block === null ? (
            <DecisionForm
              approval={approval}
              reload={reload}
              onDecided={onDecided}
              onConflict={setConflict}
              canEdit={base !== null}
              editKind={base?.kind}
              editing={editing}
              onToggleEdit={() => setEdit(editing || base === null ? null : initialEdit(base))}
              edits={edited?.edits ?? null}
              editInvalid={edited !== null && Object.keys(edited.errors).length > 0}
            />
          ) : null}
          {!pending ? <Outcome approval={approval} /> : null}
          <ApprovalProgress
            approvalsCount={approval.approvalsCount}
            requiredApprovals={approval.requiredApprovals}
            policy={approval.policy}
            votes={approval.votes}
            startedBy={approval.startedBy}
            expiresAt={approval.expiresAt}
            version={approval.artifactVersion}
            editedBy={approval.artifact?.author}
            pending={pending}
          />
          {next ? <NextWorkflowCard workflow={next} /> : null}
          {!pending && !next ? <p className="muted">Nothing follows this decision: the chain ends here.</p> : null}
        </aside>
      </div>
    </article>
  );
}

/**
 * Why a decision did not go through: someone decided first (who, and when),
 * or the artifact changed under the reviewer (reload to see the new version).
 */
function ConflictNotice({
  conflict,
  approval,
  now,
  onReload,
}: {
  conflict: Conflict;
  approval: Approval;
  now: number;
  onReload: () => void;
}) {
  const p = conflict.problem;
  if (p.decidedBy !== undefined) {
    const verb = approval.status === 'APPROVED' ? 'approved' : approval.status === 'REJECTED' ? 'rejected' : 'decided';
    return (
      <div className="notice notice-warn" role="alert" data-problem="conflict">
        <p className="notice-title">Someone else decided this approval first.</p>
        <p className="notice-body" data-testid="conflict-who">
          {p.decidedBy} {verb} this{p.decidedAt ? ` ${formatAgo(p.decidedAt, now)}` : ''}.
        </p>
        <p className="notice-body">The page has been refreshed to show their decision.</p>
      </div>
    );
  }
  if (p.currentVersion !== undefined && p.currentVersion !== conflict.sentVersion) {
    return (
      <div className="notice notice-warn" role="alert" data-problem="conflict" data-testid="version-changed">
        <p className="notice-title">The artifact changed (now version {p.currentVersion}): reload.</p>
        <p className="notice-body">
          Your decision was about version {conflict.sentVersion} and was not recorded. Reload to review version{' '}
          {p.currentVersion}.
        </p>
        <button type="button" className="btn btn-small" onClick={onReload}>
          Reload
        </button>
      </div>
    );
  }
  return <ProblemNotice problems={[p]} titles={{ conflict: 'Your decision was not recorded' }} />;
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
  canEdit,
  editKind,
  editing,
  onToggleEdit,
  edits,
  editInvalid,
}: {
  approval: Approval;
  reload: () => void;
  onDecided: (payload: DecidePayload) => void;
  onConflict: (conflict: Conflict) => void;
  canEdit: boolean;
  editKind: EditBase['kind'] | undefined;
  editing: boolean;
  onToggleEdit: () => void;
  /** The merge patch of the reviewer's edits, null for none. */
  edits: JsonObject | null;
  /** Some edited value does not parse: approving must wait. */
  editInvalid: boolean;
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
      if (verb === 'approve' && editInvalid) {
        setProblems([
          { kind: 'bad-input', title: 'Please check your edits', message: 'Some edited values are not valid; fix the marked ones first.' },
        ]);
        return;
      }
      const variables = {
        id: approval.id,
        version: approval.artifactVersion,
        feedback: feedback.trim() === '' ? null : feedback.trim(),
      };
      const result =
        verb === 'approve' ? await approve(edits ? { ...variables, edits } : variables) : await reject(variables);
      const payload = result.data ? ('approve' in result.data ? result.data.approve : result.data.reject) : undefined;
      if (payload) {
        setFeedback('');
        onDecided(payload);
        reload();
        return;
      }
      const found = problemsOf(result.error);
      const conflict = found.find((p) => p.kind === 'conflict');
      if (conflict) {
        onConflict({ problem: conflict, sentVersion: approval.artifactVersion });
        // Someone decided first (or this vote was already given): show
        // what is. A changed artifact waits for the reviewer to reload, so
        // their edits and feedback are not swept away.
        const changed = conflict.currentVersion !== undefined && conflict.currentVersion !== approval.artifactVersion;
        if (conflict.decidedBy !== undefined || !changed) reload();
        return;
      }
      setProblems(found);
    },
    [approval.artifactVersion, approval.id, approve, busy, editInvalid, edits, feedback, onConflict, onDecided, reject, reload],
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
  const kOfN =
    approval.requiredApprovals > 1
      ? ` It takes ${approval.requiredApprovals} approvals (${approval.approvalsCount} so far); until then yours is a vote.`
      : '';
  const rejectHint = approval.rejectWorkflowType
    ? approval.rejectRequiresFeedback
      ? `Rejecting with feedback starts ${typeLabel(approval.rejectWorkflowType)}; without feedback it ends the chain.`
      : `Rejecting starts ${typeLabel(approval.rejectWorkflowType)}.`
    : 'Rejecting ends the chain.';
  const editHint = editing
    ? edits
      ? ` Approving saves your edits as version ${approval.artifactVersion + 1}; rejecting discards them.`
      : ' You have not changed anything yet.'
    : '';
  const approveLabel = edits ? 'Approve with edits' : deploys ? 'Approve and deploy' : 'Approve';

  return (
    <form
      className="card stack-sm decision"
      aria-label="Decide"
      onSubmit={(e) => {
        e.preventDefault();
        void decide('approve');
      }}
    >
      <div className="card-head">
        <h2>Your decision</h2>
        {canEdit ? (
          <button type="button" className="btn btn-small" aria-pressed={editing} onClick={onToggleEdit}>
            {editing ? 'Discard edits' : editKind === 'draft' ? 'Edit the text' : 'Edit the config'}
          </button>
        ) : null}
      </div>
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
          {approveHint}
          {kOfN} {rejectHint}
          {editHint} <kbd>Ctrl</kbd>+<kbd>Enter</kbd> approves with this feedback.
        </p>
      </div>
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy} aria-keyshortcuts="a">
          {approveState.fetching ? 'Approving…' : approveLabel} <kbd aria-hidden="true">a</kbd>
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
