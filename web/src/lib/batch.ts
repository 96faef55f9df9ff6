// Batch decisions in the queue: the selection, and what `approveMany` /
// `rejectMany` answered, item by item, in words a reviewer can act on. An
// approval that needs k approvals stays pending after one: that item's vote
// went through but decided nothing yet.

import { CODE_TABLE, type ProblemKind } from './errors';

export interface BatchItemResult {
  id: string;
  ok: boolean;
  error?: { code: string; message: string } | null | undefined;
  nextWorkflow?: { id: string; type: string } | null | undefined;
  /** The approval after the vote, when `ok`. */
  approval?: { status: string; approvalsCount: number; requiredApprovals: number } | null | undefined;
}

export interface BatchOutcome {
  /**
   * Voted on by this call, in the order given; `votes` is set when the vote
   * did not decide the approval yet (it waits for more approvals).
   */
  decided: {
    id: string;
    nextWorkflow: { id: string; type: string } | null;
    votes?: { count: number; required: number };
  }[];
  /** Not decided, with why. */
  failed: { id: string; kind: ProblemKind; reason: string; message: string }[];
  /** Ids that are no longer pending either way: leave the queue. */
  gone: string[];
  /** Ids still pending (and still worth selecting). */
  keep: string[];
  /** Ids still pending that this viewer has voted on (nothing more to do here). */
  voted: string[];
}

/** What a reviewer should read for a per-item error code. */
const REASONS: Partial<Record<ProblemKind, string>> = {
  conflict: 'Someone else decided it first, or it changed',
  'not-found': 'It no longer exists',
  'bad-input': 'The server refused the request',
  forbidden: 'You may not decide it',
  unauthenticated: 'Sign-in required',
  internal: 'The server hit an error',
  network: 'The server could not reach its database; try again in a moment',
  'rate-limited': 'Too many decisions in a short time; try again in a moment',
};

export function summarizeBatch(results: readonly BatchItemResult[]): BatchOutcome {
  const out: BatchOutcome = { decided: [], failed: [], gone: [], keep: [], voted: [] };
  for (const r of results) {
    if (r.ok) {
      if (r.approval && r.approval.status === 'PENDING') {
        out.decided.push({
          id: r.id,
          nextWorkflow: null,
          votes: { count: r.approval.approvalsCount, required: r.approval.requiredApprovals },
        });
        out.voted.push(r.id);
      } else {
        out.decided.push({ id: r.id, nextWorkflow: r.nextWorkflow ?? null });
        out.gone.push(r.id);
      }
      continue;
    }
    const code = r.error?.code ?? '';
    const kind = CODE_TABLE[code]?.kind ?? 'unknown';
    out.failed.push({
      id: r.id,
      kind,
      reason: REASONS[kind] ?? 'It was not decided',
      message: r.error?.message ?? 'no reason given',
    });
    // A missing one is gone. A conflict is a decision by someone else, a
    // vote already given, or a changed artifact: it leaves the selection,
    // and the queue's next read (or the decision's event) says whether it
    // is still pending. Anything else may work on another try.
    if (kind === 'not-found') out.gone.push(r.id);
    else if (kind !== 'conflict') out.keep.push(r.id);
  }
  return out;
}

/** "Approved 2 of 3." / "Approved both." / "Nothing was approved." */
export function batchHeadline(outcome: BatchOutcome, verb = 'Approved'): string {
  const total = outcome.decided.length + outcome.failed.length;
  const n = outcome.decided.length;
  if (n === 0) return total === 1 ? `It was not ${verb.toLowerCase()}.` : `None of the ${total} were ${verb.toLowerCase()}.`;
  if (n === total) return total === 1 ? `${verb} 1 approval.` : `${verb} all ${total}.`;
  return `${verb} ${n} of ${total}.`;
}

/** Toggles one id in a selection (a new set; the order of others kept). */
export function toggled(selection: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selection);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** The selection restricted to ids still listed (decided ones leave the queue). */
export function pruneSelection(selection: ReadonlySet<string>, listed: readonly { id: string }[]): Set<string> {
  const ids = new Set(listed.map((i) => i.id));
  const next = new Set<string>();
  for (const id of selection) if (ids.has(id)) next.add(id);
  return next.size === selection.size ? (selection as Set<string>) : next;
}

/** Header checkbox state for a selection over `listed`. */
export function selectAllState(selection: ReadonlySet<string>, listed: readonly { id: string }[]): 'none' | 'some' | 'all' {
  let n = 0;
  for (const i of listed) if (selection.has(i.id)) n++;
  return n === 0 ? 'none' : n === listed.length ? 'all' : 'some';
}
