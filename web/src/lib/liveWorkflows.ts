// The workflows list as live state: pages read from `workflows(...)` plus
// what `workflowEvents` pushed since.
//
// Every recorded status change is pushed (created, retrying, completed,
// failed, cancelled, retried, released), each with the workflow as it is
// when delivered. Only a claim (PENDING → RUNNING) is not an event; see
// `nextClaimCheck` for how that is caught.
//
// Ordering: each pushed event gets a sequence number, and each read records
// the sequence number current when it was *sent*. A read sent after an
// event was received reflects it (the server commits before it notifies),
// so the read supersedes pushes up to that number; later pushes stay on
// top of it. Responses that arrive out of order cannot roll rows back.

import type { WorkflowStatus } from '../gql/graphql';

export interface LiveWorkflow {
  id: string;
  type: string;
  status: WorkflowStatus;
  createdAt: string;
  runAfter?: string | null | undefined;
  approval?: { id: string; status: string } | null | undefined;
}

export interface ListFilter {
  type: string | null;
  status: WorkflowStatus | null;
}

export interface LiveListState<T extends LiveWorkflow> {
  /** The first page as last read; null before the first read. */
  page: T[] | null;
  /** Sequence number current when that read was sent. */
  pageSeq: number;
  /** Where the first page ends, and whether more follow it. */
  pageCursor: string | null;
  pageHasMore: boolean;
  /** Rows of older pages, loaded on request; events patch them too. */
  older: T[];
  /** Where the older pages end: undefined before any, null at the end. */
  olderCursor: string | null | undefined;
  /** Pushed workflows newer than the reads, by id. */
  pushed: ReadonlyMap<string, { seq: number; workflow: T }>;
  /** Approval statuses pushed by `approvalEvents` (they leave PENDING once). */
  decidedApprovals: ReadonlyMap<string, string>;
}

export type LiveListAction<T extends LiveWorkflow> =
  | { type: 'page'; rows: T[]; cursor: string | null; hasMore: boolean; issuedAt: number }
  | { type: 'older'; rows: T[]; cursor: string | null; hasMore: boolean; issuedAt: number }
  | { type: 'event'; seq: number; workflow: T }
  | { type: 'approval'; id: string; status: string };

export function initialLiveList<T extends LiveWorkflow>(): LiveListState<T> {
  return {
    page: null,
    pageSeq: -1,
    pageCursor: null,
    pageHasMore: false,
    older: [],
    olderCursor: undefined,
    pushed: new Map(),
    decidedApprovals: new Map(),
  };
}

/** Whether rows exist past the last one loaded. */
export function hasMoreRows(state: LiveListState<LiveWorkflow>): boolean {
  return state.olderCursor === undefined ? state.pageHasMore : state.olderCursor !== null;
}

/** The cursor to load older rows from. */
export function moreCursor(state: LiveListState<LiveWorkflow>): string | null {
  return state.olderCursor === undefined ? state.pageCursor : state.olderCursor;
}

function dropSuperseded<T extends LiveWorkflow>(
  pushed: ReadonlyMap<string, { seq: number; workflow: T }>,
  issuedAt: number,
  only?: ReadonlySet<string>,
): ReadonlyMap<string, { seq: number; workflow: T }> {
  let next: Map<string, { seq: number; workflow: T }> | undefined;
  for (const [id, p] of pushed) {
    if (p.seq <= issuedAt && (only === undefined || only.has(id))) {
      next ??= new Map(pushed);
      next.delete(id);
    }
  }
  return next ?? pushed;
}

export function liveListReducer<T extends LiveWorkflow>(
  state: LiveListState<T>,
  action: LiveListAction<T>,
): LiveListState<T> {
  switch (action.type) {
    case 'page': {
      // An answer to an earlier read than the one we show is stale.
      if (action.issuedAt < state.pageSeq) return state;
      return {
        ...state,
        page: action.rows,
        pageSeq: action.issuedAt,
        pageCursor: action.cursor,
        pageHasMore: action.hasMore,
        pushed: dropSuperseded(state.pushed, action.issuedAt),
      };
    }
    case 'older': {
      const have = new Set(state.older.map((w) => w.id));
      const ids = new Set(action.rows.map((w) => w.id));
      return {
        ...state,
        older: [...state.older, ...action.rows.filter((w) => !have.has(w.id))],
        olderCursor: action.hasMore ? action.cursor : null,
        pushed: dropSuperseded(state.pushed, action.issuedAt, ids),
      };
    }
    case 'event': {
      const w = action.workflow;
      const pushed = new Map(state.pushed);
      const before = pushed.get(w.id);
      if (!before || before.seq < action.seq) pushed.set(w.id, { seq: action.seq, workflow: w });
      return { ...state, pushed };
    }
    case 'approval': {
      if (action.status === 'PENDING' || state.decidedApprovals.get(action.id) === action.status) return state;
      const decidedApprovals = new Map(state.decidedApprovals);
      decidedApprovals.set(action.id, action.status);
      return { ...state, decidedApprovals };
    }
  }
}

export function matchesFilter(w: LiveWorkflow, filter: ListFilter): boolean {
  return (filter.type === null || w.type === filter.type) && (filter.status === null || w.status === filter.status);
}

function newestFirst(a: LiveWorkflow, b: LiveWorkflow): number {
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The rows to show, newest first: what was read, with newer pushes on top.
 * A pushed workflow that was not read (just created, or retried into the
 * status filter) joins when it matches the filter and falls inside the
 * loaded range. A row that stopped matching stays until the next read, so
 * its change is seen rather than the row vanishing.
 */
export function visibleRows<T extends LiveWorkflow>(state: LiveListState<T>, filter: ListFilter): T[] {
  if (state.page === null) return [];
  const read = [...state.page];
  const seen = new Set(read.map((w) => w.id));
  for (const w of state.older) {
    if (!seen.has(w.id)) {
      read.push(w);
      seen.add(w.id);
    }
  }
  const oldest = read.reduce<T | undefined>((o, w) => (o === undefined || newestFirst(w, o) > 0 ? w : o), undefined);
  const more = hasMoreRows(state);
  const canJoin = (w: T) => matchesFilter(w, filter) && (oldest === undefined || !more || newestFirst(w, oldest) <= 0);
  const rows = read.map((w) => state.pushed.get(w.id)?.workflow ?? w);
  for (const [id, p] of state.pushed) {
    if (!seen.has(id) && canJoin(p.workflow)) rows.push(p.workflow);
  }
  rows.sort(newestFirst);
  if (state.decidedApprovals.size === 0) return rows;
  return rows.map((w) => {
    const status = w.approval ? state.decidedApprovals.get(w.approval.id) : undefined;
    return status && w.approval && w.approval.status === 'PENDING'
      ? { ...w, approval: { ...w.approval, status } }
      : w;
  });
}

/**
 * When to read again to catch a claim (PENDING → RUNNING is not pushed).
 *
 * A pending workflow is claimed once its `runAfter` has passed and a worker
 * is free. So: read shortly after the earliest due `runAfter`, then back off
 * (doubling, capped) while nothing changes, which is the case when every
 * worker is busy. Returns the delay in ms, or null when nothing is pending
 * (then only pushed events cause reads).
 */
export function nextClaimCheck(
  pending: readonly { runAfter?: string | null | undefined }[],
  now: number,
  unchangedReads: number,
  options: { firstMs?: number; capMs?: number } = {},
): number | null {
  if (pending.length === 0) return null;
  const first = options.firstMs ?? 750;
  const cap = options.capMs ?? 20_000;
  let due = Number.POSITIVE_INFINITY;
  for (const p of pending) {
    const t = p.runAfter ? Date.parse(p.runAfter) : Number.NaN;
    due = Math.min(due, Number.isNaN(t) ? now : t);
  }
  const wait = Math.max(0, due - now);
  const backoff = Math.min(cap, first * 2 ** Math.min(unchangedReads, 10));
  return Math.round(wait + backoff);
}
