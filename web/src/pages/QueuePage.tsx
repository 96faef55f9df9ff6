// The reviewer's queue: pending approvals, oldest first, kept live by
// `approvalEvents` (created ones appear, decided or expired ones leave).
// Rows the viewer may decide can be selected and approved or rejected
// together (`approveMany` / `rejectMany`, each item at the version shown);
// the others say why not.

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { BatchBar, BatchResult, type BatchReport } from '../components/BatchDecision';
import { ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { graphql } from '../gql';
import type { QueueApprovalEventsSubscription, QueueApprovalFragment } from '../gql/graphql';
import { useOnReconnect } from '../hooks/live';
import { useLiveEvents } from '../hooks/useLiveEvents';
import { useNow } from '../hooks/useNow';
import { useShortcuts } from '../hooks/useShortcuts';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { formatAge, formatDateTime, formatScore, typeLabel, typeVersionLabel } from '../lib/format';
import { firstString, getString, isObject } from '../lib/json';
import { pruneSelection, selectAllState, summarizeBatch, toggled } from '../lib/batch';
import { problemsOf, type Problem } from '../lib/errors';
import { approvalsText, decisionBlock } from '../lib/policy';
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
    artifactVersion
    approvalsCount
    requiredApprovals
    viewerCanDecide {
      allowed
      reason
    }
    votes {
      id
      reviewer {
        name
      }
      decision
      artifactVersion
    }
    workflow {
      id
      type
      typeVersion
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

const ApproveManyMutation = graphql(`
  mutation ApproveMany($items: [DecisionItem!]!, $feedback: String) {
    approveMany(items: $items, feedback: $feedback) {
      decided
      results {
        id
        ok
        error {
          code
          message
        }
        nextWorkflow {
          id
          type
        }
        approval {
          id
          status
          approvalsCount
          requiredApprovals
        }
      }
    }
  }
`);

const RejectManyMutation = graphql(`
  mutation RejectMany($items: [DecisionItem!]!, $feedback: String) {
    rejectMany(items: $items, feedback: $feedback) {
      decided
      results {
        id
        ok
        error {
          code
          message
        }
        nextWorkflow {
          id
          type
        }
        approval {
          id
          status
          approvalsCount
          requiredApprovals
        }
      }
    }
  }
`);

const PAGE_SIZE = 50;
/** The server decides at most this many per call. */
const BATCH_LIMIT = 100;

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

/** How a row is named to a reviewer (checkbox labels, batch results). */
function rowLabel(a: QueueApprovalFragment): string {
  const text = excerpt(a);
  return text ? `${a.artifactType}: ${text}` : `${a.artifactType} from ${typeLabel(a.workflow.type)}`;
}

function excerpt(a: QueueApprovalFragment): string | undefined {
  const brief = isObject(a.artifactData) ? a.artifactData.brief : undefined;
  const text =
    getString(brief, 'prompt') ??
    getString(a.artifactData, 'text') ??
    getString(a.artifactData, 'summary') ??
    (a.workflow.typeVersion !== null && a.workflow.typeVersion !== undefined ? firstString(a.artifactData) : undefined);
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
  // Checked rows, for a batch decision; rows that leave the queue leave it.
  const [checkedRaw, setChecked] = useState<ReadonlySet<string>>(() => new Set());
  const [report, setReport] = useState<BatchReport | null>(null);
  const [batchProblems, setBatchProblems] = useState<Problem[]>([]);
  const [approveState, approveMany] = useMutation(ApproveManyMutation);
  const [rejectState, rejectMany] = useMutation(RejectManyMutation);
  const batchBusy = approveState.fetching || rejectState.fetching;
  const viewer = useViewer();
  /** Why the viewer may not decide a row, or null when it may. */
  const blockOf = (a: QueueApprovalFragment) =>
    decisionBlock(viewer, a.viewerCanDecide, { votes: a.votes, version: a.artifactVersion });

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
  // Only rows the viewer may decide can be selected.
  const selectable = items.filter((i) => blockOf(i) === null);
  const checked = pruneSelection(checkedRaw, selectable);
  const allState = selectAllState(checked, selectable);

  const toggleRow = (id: string) => {
    if (selectable.some((i) => i.id === id)) setChecked((c) => toggled(c, id));
  };
  const toggleAll = () => setChecked(allState === 'all' ? new Set() : new Set(selectable.map((i) => i.id)));

  const decideChecked = async (verb: 'approve' | 'reject', feedback: string | null): Promise<boolean> => {
    const chosen = selectable.filter((i) => checked.has(i.id));
    if (chosen.length === 0 || batchBusy) return false;
    setBatchProblems([]);
    const labels = new Map(chosen.map((i) => [i.id, rowLabel(i)]));
    const results = [];
    for (let at = 0; at < chosen.length; at += BATCH_LIMIT) {
      // Each at the version shown here: a changed artifact is not decided blind.
      const batch = chosen.slice(at, at + BATCH_LIMIT).map((i) => ({ id: i.id, version: i.artifactVersion }));
      const result = verb === 'approve' ? await approveMany({ items: batch, feedback }) : await rejectMany({ items: batch, feedback });
      const payload = result.data ? ('approveMany' in result.data ? result.data.approveMany : result.data.rejectMany) : undefined;
      if (!payload) {
        setBatchProblems(problemsOf(result.error));
        break;
      }
      results.push(...payload.results);
    }
    if (results.length === 0) return false;
    const outcome = summarizeBatch(results);
    dispatch({ type: 'gone', ids: outcome.gone });
    setChecked(new Set(outcome.keep));
    setReport({ outcome, labels, feedback, verb });
    // Votes that decided nothing yet, and conflicts, change what this
    // queue shows (counts, who may still decide): read it again.
    if (outcome.voted.length > 0 || outcome.failed.some((f) => f.kind === 'conflict')) reload();
    return outcome.decided.length > 0;
  };

  const focusRow = (i: number) => {
    setSelected(i);
    const link = rowLinks.current[i];
    link?.focus();
    link?.closest('tr')?.scrollIntoView?.({ block: 'nearest' });
  };

  useShortcuts({
    j: () => count > 0 && focusRow(Math.min(count - 1, current + 1)),
    k: () => count > 0 && focusRow(Math.max(0, current - 1)),
    x: () => {
      const item = items[current];
      if (item) toggleRow(item.id);
    },
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
      {report ? <BatchResult report={report} onDismiss={() => setReport(null)} /> : null}
      <p className="muted small" aria-live="polite">
        {count === 0
          ? ''
          : `${count}${hasNext ? '+' : ''} pending ${count === 1 ? 'approval' : 'approvals'}, oldest first. Press j / k to move, Enter to open, x to select.`}
      </p>
      {count > 0 && viewer.canReview ? (
        <BatchBar
          selected={checked.size}
          busy={batchBusy}
          problems={batchProblems}
          onApprove={(feedback) => decideChecked('approve', feedback)}
          onReject={(feedback) => decideChecked('reject', feedback)}
        />
      ) : null}
      {count > 0 && !viewer.canReview ? (
        <p className="notice notice-info small" data-testid="queue-read-only">
          {decisionBlock(viewer, { allowed: false })} You can read every approval.
        </p>
      ) : null}
      {count === 0 ? (
        <Empty title={artifactType ? `No pending ${artifactType} approvals` : 'No pending approvals'}>
          <p>New ones appear here as workflows finish, without reloading.</p>
          {viewer.canSubmit ? (
            <p>
              <Link to="/workflows/new">Start a workflow</Link>
            </p>
          ) : null}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table queue" aria-label="Pending approvals">
            <thead>
              <tr>
                {viewer.canReview ? (
                  <th scope="col" className="check">
                    <SelectAll state={allState} onToggle={toggleAll} disabled={selectable.length === 0} />
                  </th>
                ) : null}
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
                const block = blockOf(a);
                return (
                  <tr
                    key={a.id}
                    className={[i === current ? 'row-selected' : '', checked.has(a.id) ? 'row-checked' : ''].join(' ').trim() || undefined}
                    aria-current={i === current ? 'true' : undefined}
                    data-approval-id={a.id}
                    onClick={(e) => {
                      if (e.target instanceof Element && e.target.closest('a, .check')) return;
                      navigate(`/approvals/${a.id}`);
                    }}
                  >
                    {viewer.canReview ? (
                      <td className="check">
                        <label className="check-hit" title={block ?? undefined}>
                          <input
                            type="checkbox"
                            checked={checked.has(a.id)}
                            disabled={block !== null}
                            onChange={() => toggleRow(a.id)}
                            onFocus={() => setSelected(i)}
                            aria-label={
                              block === null ? `Select ${rowLabel(a)}` : `Cannot select ${rowLabel(a)}: ${block}`
                            }
                          />
                        </label>
                      </td>
                    ) : null}
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
                      {a.requiredApprovals > 1 ? (
                        <span className="excerpt" data-testid="row-approvals">
                          {approvalsText(a.approvalsCount, a.requiredApprovals)}
                        </span>
                      ) : null}
                      {viewer.canReview && block !== null ? (
                        <span className="excerpt row-blocked">{block}</span>
                      ) : null}
                    </td>
                    <td className="workflow-type">{typeVersionLabel(a.workflow.type, a.workflow.typeVersion)}</td>
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

function SelectAll({
  state,
  onToggle,
  disabled,
}: {
  state: 'none' | 'some' | 'all';
  onToggle: () => void;
  disabled: boolean;
}) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = state === 'some';
  }, [state]);
  return (
    <label className="check-hit">
      <input
        ref={ref}
        type="checkbox"
        checked={state === 'all' && !disabled}
        disabled={disabled}
        onChange={onToggle}
        aria-label="Select all pending approvals shown"
      />
    </label>
  );
}
