// The reviewer's queue as live state: the pages loaded from
// `pendingApprovals` plus what `approvalEvents` pushed since.
//
// An approval leaves PENDING at most once (server invariant), so an id seen
// decided or expired is gone for good: it is remembered, and a page that was
// read before the decision (a race between the query and the subscription)
// cannot bring it back.

export interface QueueEntry {
  id: string;
  status: string;
  artifactType: string;
  createdAt: string;
}

export type ApprovalEventKind = 'CREATED' | 'DECIDED' | 'EXPIRED';

export interface QueueState<T extends QueueEntry> {
  /** Only this artifact type is shown; null for all. */
  artifactType: string | null;
  /** Pending approvals, oldest first. */
  items: T[];
  /** Ids decided or expired while we watched. */
  gone: ReadonlySet<string>;
  /** Ids that arrived by event rather than in a page. */
  live: ReadonlySet<string>;
}

export type QueueAction<T extends QueueEntry> =
  | { type: 'page'; items: T[]; append: boolean }
  | { type: 'event'; kind: ApprovalEventKind; approval: T }
  /** Decided here (a batch decision): gone without waiting for the event. */
  | { type: 'gone'; ids: readonly string[] };

export function initialQueue<T extends QueueEntry>(artifactType: string | null): QueueState<T> {
  return { artifactType, items: [], gone: new Set(), live: new Set() };
}

function byAge(a: QueueEntry, b: QueueEntry): number {
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  if (ta !== tb) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Merges `incoming` into `items` by id (incoming wins), drops gone ones, sorts. */
function merge<T extends QueueEntry>(items: T[], incoming: T[], gone: ReadonlySet<string>): T[] {
  const byId = new Map<string, T>();
  for (const it of items) byId.set(it.id, it);
  for (const it of incoming) byId.set(it.id, it);
  return [...byId.values()].filter((it) => !gone.has(it.id) && it.status === 'PENDING').sort(byAge);
}

export function queueReducer<T extends QueueEntry>(state: QueueState<T>, action: QueueAction<T>): QueueState<T> {
  switch (action.type) {
    case 'page': {
      // A fresh first page replaces what we had, except approvals that
      // arrived by event after the page was read (newer than its newest).
      let kept: T[] = [];
      if (!action.append) {
        const newest = action.items.reduce((max, it) => Math.max(max, Date.parse(it.createdAt)), -Infinity);
        kept = state.items.filter((it) => state.live.has(it.id) && Date.parse(it.createdAt) > newest);
      }
      const base = action.append ? state.items : kept;
      return { ...state, items: merge(base, action.items, state.gone) };
    }
    case 'event': {
      const a = action.approval;
      if (action.kind === 'CREATED' && a.status === 'PENDING') {
        if (state.artifactType !== null && a.artifactType !== state.artifactType) return state;
        if (state.gone.has(a.id)) return state;
        const live = new Set(state.live);
        live.add(a.id);
        return { ...state, live, items: merge(state.items, [a], state.gone) };
      }
      // DECIDED, EXPIRED, or a CREATED that was decided before it reached us.
      const gone = new Set(state.gone);
      gone.add(a.id);
      return { ...state, gone, items: state.items.filter((it) => it.id !== a.id) };
    }
    case 'gone': {
      if (action.ids.length === 0) return state;
      const gone = new Set(state.gone);
      for (const id of action.ids) gone.add(id);
      return { ...state, gone, items: state.items.filter((it) => !gone.has(it.id)) };
    }
  }
}
