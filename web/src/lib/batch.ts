// Batch decisions in the queue: the selection, and what `approveMany`
// answered, item by item, in words a reviewer can act on.

import { CODE_TABLE, type ProblemKind } from './errors';

export interface BatchItemResult {
  id: string;
  ok: boolean;
  error?: { code: string; message: string } | null | undefined;
  nextWorkflow?: { id: string; type: string } | null | undefined;
}

export interface BatchOutcome {
  /** Decided by this call, in the order given. */
  decided: { id: string; nextWorkflow: { id: string; type: string } | null }[];
  /** Not decided, with why. */
  failed: { id: string; kind: ProblemKind; reason: string; message: string }[];
  /** Ids that are no longer pending either way: leave the queue. */
  gone: string[];
  /** Ids still pending (and still worth selecting). */
  keep: string[];
}

/** What a reviewer should read for a per-item error code. */
const REASONS: Partial<Record<ProblemKind, string>> = {
  conflict: 'Someone else decided it first',
  'not-found': 'It no longer exists',
  'bad-input': 'The server refused the request',
  forbidden: 'You may not decide it',
  unauthenticated: 'Sign-in required',
  internal: 'The server hit an error',
};

export function summarizeBatch(results: readonly BatchItemResult[]): BatchOutcome {
  const out: BatchOutcome = { decided: [], failed: [], gone: [], keep: [] };
  for (const r of results) {
    if (r.ok) {
      out.decided.push({ id: r.id, nextWorkflow: r.nextWorkflow ?? null });
      out.gone.push(r.id);
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
    // A conflict means it was decided by someone else, and a missing one is
    // gone too; anything else may work on another try.
    if (kind === 'conflict' || kind === 'not-found') out.gone.push(r.id);
    else out.keep.push(r.id);
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
