import { describe, expect, it } from 'vitest';
import { initialQueue, queueReducer, type QueueEntry, type QueueState } from './queue';

const a = (id: string, minute: number, extra: Partial<QueueEntry> = {}): QueueEntry => ({
  id,
  status: 'PENDING',
  artifactType: 'draft',
  createdAt: `2026-11-25T10:${String(minute).padStart(2, '0')}:00+00:00`,
  ...extra,
});

const ids = (s: QueueState<QueueEntry>) => s.items.map((i) => i.id);

describe('queueReducer', () => {
  it('shows a page oldest first', () => {
    const s = queueReducer(initialQueue(null), { type: 'page', items: [a('b', 2), a('a', 1)], append: false });
    expect(ids(s)).toEqual(['a', 'b']);
  });

  it('adds created approvals in age order and ignores duplicates', () => {
    let s = queueReducer(initialQueue(null), { type: 'page', items: [a('a', 1), a('c', 3)], append: false });
    s = queueReducer(s, { type: 'event', kind: 'CREATED', approval: a('b', 2) });
    s = queueReducer(s, { type: 'event', kind: 'CREATED', approval: a('b', 2) });
    expect(ids(s)).toEqual(['a', 'b', 'c']);
  });

  it('removes decided and expired approvals', () => {
    let s = queueReducer(initialQueue(null), { type: 'page', items: [a('a', 1), a('b', 2), a('c', 3)], append: false });
    s = queueReducer(s, { type: 'event', kind: 'DECIDED', approval: a('a', 1, { status: 'APPROVED' }) });
    s = queueReducer(s, { type: 'event', kind: 'EXPIRED', approval: a('c', 3, { status: 'EXPIRED' }) });
    expect(ids(s)).toEqual(['b']);
  });

  it('does not bring back an approval decided before a stale page arrived', () => {
    let s = queueReducer(initialQueue<QueueEntry>(null), {
      type: 'event',
      kind: 'DECIDED',
      approval: a('a', 1, { status: 'REJECTED' }),
    });
    s = queueReducer(s, { type: 'page', items: [a('a', 1), a('b', 2)], append: false });
    expect(ids(s)).toEqual(['b']);
  });

  it('keeps an approval created after the page was read', () => {
    let s = queueReducer(initialQueue<QueueEntry>(null), { type: 'event', kind: 'CREATED', approval: a('new', 9) });
    s = queueReducer(s, { type: 'page', items: [a('a', 1)], append: false });
    expect(ids(s)).toEqual(['a', 'new']);
  });

  it('ignores created approvals of other artifact types when filtered', () => {
    let s = queueReducer(initialQueue<QueueEntry>('draft'), { type: 'page', items: [a('a', 1)], append: false });
    s = queueReducer(s, { type: 'event', kind: 'CREATED', approval: a('x', 2, { artifactType: 'config' }) });
    expect(ids(s)).toEqual(['a']);
  });

  it('treats a CREATED event that is no longer pending as gone', () => {
    let s = queueReducer(initialQueue<QueueEntry>(null), {
      type: 'event',
      kind: 'CREATED',
      approval: a('a', 1, { status: 'APPROVED' }),
    });
    expect(ids(s)).toEqual([]);
    s = queueReducer(s, { type: 'page', items: [a('a', 1)], append: false });
    expect(ids(s)).toEqual([]);
  });

  it('appends further pages', () => {
    let s = queueReducer(initialQueue<QueueEntry>(null), { type: 'page', items: [a('a', 1)], append: false });
    s = queueReducer(s, { type: 'page', items: [a('b', 2)], append: true });
    expect(ids(s)).toEqual(['a', 'b']);
  });
});

describe('queueReducer after a batch decision', () => {
  it('removes ids decided here and keeps them out of later pages', () => {
    let s = queueReducer(initialQueue<QueueEntry>(null), { type: 'page', items: [a('a', 1), a('b', 2), a('c', 3)], append: false });
    s = queueReducer(s, { type: 'gone', ids: ['a', 'c'] });
    expect(ids(s)).toEqual(['b']);
    s = queueReducer(s, { type: 'page', items: [a('a', 1), a('b', 2)], append: false });
    expect(ids(s)).toEqual(['b']);
    expect(queueReducer(s, { type: 'gone', ids: [] })).toBe(s);
  });
});
