import { describe, expect, it } from 'vitest';
import type { WorkflowStatus } from '../gql/graphql';
import {
  hasMoreRows,
  initialLiveList,
  liveListReducer,
  moreCursor,
  nextClaimCheck,
  visibleRows,
  type ListFilter,
  type LiveListAction,
  type LiveListState,
  type LiveWorkflow,
} from './liveWorkflows';

const w = (id: string, minute: number, status: WorkflowStatus = 'PENDING', extra: Partial<LiveWorkflow> = {}): LiveWorkflow => ({
  id,
  type: 'generate_draft',
  status,
  createdAt: `2026-11-25T10:${String(minute).padStart(2, '0')}:00+00:00`,
  runAfter: `2026-11-25T10:${String(minute).padStart(2, '0')}:00+00:00`,
  approval: null,
  ...extra,
});

const all: ListFilter = { type: null, status: null };
const run = (actions: LiveListAction<LiveWorkflow>[], state = initialLiveList<LiveWorkflow>()): LiveListState<LiveWorkflow> =>
  actions.reduce(liveListReducer, state);
const view = (s: LiveListState<LiveWorkflow>, filter = all) => visibleRows(s, filter).map((r) => `${r.id}:${r.status}`);
const page = (rows: LiveWorkflow[], issuedAt: number, hasMore = false): LiveListAction<LiveWorkflow> => ({
  type: 'page',
  rows,
  cursor: rows.length ? `c-${rows[rows.length - 1]!.id}` : null,
  hasMore,
  issuedAt,
});

describe('live workflows list', () => {
  it('shows nothing before the first read, then the page newest first', () => {
    expect(view(initialLiveList())).toEqual([]);
    expect(view(run([page([w('b', 2), w('a', 1)], 0)]))).toEqual(['b:PENDING', 'a:PENDING']);
  });

  it('applies pushed changes to the rows they concern', () => {
    const s = run([
      page([w('b', 2, 'RUNNING'), w('a', 1)], 0),
      { type: 'event', seq: 1, workflow: w('b', 2, 'COMPLETED') },
      { type: 'event', seq: 2, workflow: w('a', 1, 'FAILED') },
    ]);
    expect(view(s)).toEqual(['b:COMPLETED', 'a:FAILED']);
  });

  it('adds a created workflow on top when it matches the filter', () => {
    const s = run([page([w('a', 1, 'COMPLETED')], 0), { type: 'event', seq: 1, workflow: w('c', 3) }]);
    expect(view(s)).toEqual(['c:PENDING', 'a:COMPLETED']);
    expect(view(s, { type: 'apply_feedback', status: null })).toEqual(['a:COMPLETED']);
    expect(view(s, { type: null, status: 'COMPLETED' })).toEqual(['a:COMPLETED']);
  });

  it('keeps a row that stopped matching until the next read, so the change is seen', () => {
    const s = run([page([w('a', 1, 'RUNNING')], 0), { type: 'event', seq: 1, workflow: w('a', 1, 'COMPLETED') }]);
    expect(view(s, { type: null, status: 'RUNNING' })).toEqual(['a:COMPLETED']);
  });

  it('lets a read sent after an event replace it, but not one sent before', () => {
    let s = run([page([w('a', 1)], 0), { type: 'event', seq: 1, workflow: w('a', 1, 'COMPLETED') }]);
    // Sent before the event (issuedAt 0) but answered after it: the push wins.
    s = liveListReducer(s, page([w('a', 1, 'RUNNING')], 0));
    expect(view(s)).toEqual(['a:COMPLETED']);
    // Sent after it: the read is the truth (here: retried and claimed again).
    s = liveListReducer(s, page([w('a', 1, 'RUNNING')], 1));
    expect(view(s)).toEqual(['a:RUNNING']);
    expect(s.pushed.size).toBe(0);
  });

  it('ignores a page answer older than the one shown', () => {
    let s = run([page([w('a', 1, 'COMPLETED')], 5)]);
    s = liveListReducer(s, page([w('a', 1, 'RUNNING')], 3));
    expect(view(s)).toEqual(['a:COMPLETED']);
  });

  it('keeps the newest push per workflow', () => {
    const s = run([
      page([w('a', 1, 'RUNNING')], 0),
      { type: 'event', seq: 2, workflow: w('a', 1, 'PENDING') },
      { type: 'event', seq: 1, workflow: w('a', 1, 'FAILED') },
    ]);
    expect(view(s)).toEqual(['a:PENDING']);
  });

  it('patches rows of older pages, and does not add pushes beyond the loaded range', () => {
    let s = run([page([w('d', 4), w('c', 3)], 0, true)]);
    expect(hasMoreRows(s)).toBe(true);
    expect(moreCursor(s)).toBe('c-c');
    // An old workflow retried: it belongs past the loaded rows, so it waits.
    s = liveListReducer(s, { type: 'event', seq: 1, workflow: w('a', 1) });
    expect(view(s)).toEqual(['d:PENDING', 'c:PENDING']);
    s = liveListReducer(s, { type: 'older', rows: [w('b', 2, 'RUNNING'), w('a', 1, 'FAILED')], cursor: 'c-a', hasMore: false, issuedAt: 0 });
    expect(hasMoreRows(s)).toBe(false);
    // The older page was read before the push: the push stays on top.
    expect(view(s)).toEqual(['d:PENDING', 'c:PENDING', 'b:RUNNING', 'a:PENDING']);
    s = liveListReducer(s, { type: 'event', seq: 2, workflow: w('b', 2, 'COMPLETED') });
    expect(view(s)).toEqual(['d:PENDING', 'c:PENDING', 'b:COMPLETED', 'a:PENDING']);
  });

  it('shows pushed approval decisions on the rows that asked for them', () => {
    const asked = w('a', 1, 'COMPLETED', { approval: { id: 'ap', status: 'PENDING' } });
    let s = run([page([asked], 0), { type: 'approval', id: 'ap', status: 'APPROVED' }]);
    expect(visibleRows(s, all)[0]?.approval?.status).toBe('APPROVED');
    // A stale read that still says PENDING cannot undo it.
    s = liveListReducer(s, page([asked], 1));
    expect(visibleRows(s, all)[0]?.approval?.status).toBe('APPROVED');
    expect(liveListReducer(s, { type: 'approval', id: 'ap', status: 'PENDING' })).toBe(s);
  });
});

describe('nextClaimCheck', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it('has nothing to do without pending workflows', () => {
    expect(nextClaimCheck([], now, 0)).toBeNull();
  });
  it('reads shortly after the earliest due time', () => {
    expect(nextClaimCheck([{ runAfter: '2026-11-25T09:59:00Z' }], now, 0)).toBe(750);
    expect(nextClaimCheck([{ runAfter: '2026-11-25T10:00:04Z' }, { runAfter: '2026-11-25T10:00:02Z' }], now, 0)).toBe(2750);
    expect(nextClaimCheck([{ runAfter: null }], now, 0)).toBe(750);
  });
  it('backs off while nothing changes, up to a cap', () => {
    expect(nextClaimCheck([{ runAfter: null }], now, 1)).toBe(1500);
    expect(nextClaimCheck([{ runAfter: null }], now, 3)).toBe(6000);
    expect(nextClaimCheck([{ runAfter: null }], now, 50)).toBe(20_000);
  });
});
