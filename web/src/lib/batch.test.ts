import { describe, expect, it } from 'vitest';
import { batchHeadline, pruneSelection, selectAllState, summarizeBatch, toggled } from './batch';

describe('summarizeBatch', () => {
  const results = [
    { id: 'a', ok: true, error: null, nextWorkflow: { id: 'wf-a', type: 'apply_feedback' } },
    { id: 'b', ok: false, error: { code: 'CONFLICT', message: 'approval b was already approved by bob' }, nextWorkflow: null },
    { id: 'c', ok: false, error: { code: 'NOT_FOUND', message: 'no approval with id c' } },
    { id: 'd', ok: false, error: { code: 'INTERNAL_SERVER_ERROR', message: 'internal error (id 7)' } },
    { id: 'e', ok: true, nextWorkflow: null },
    { id: 'f', ok: false, error: { code: 'SOMETHING_NEW', message: 'new' } },
  ];

  it('says which were decided and what they started', () => {
    const out = summarizeBatch(results);
    expect(out.decided).toEqual([
      { id: 'a', nextWorkflow: { id: 'wf-a', type: 'apply_feedback' } },
      { id: 'e', nextWorkflow: null },
    ]);
  });

  it('says why the others were not, in words', () => {
    const out = summarizeBatch(results);
    expect(out.failed.map((f) => [f.id, f.kind, f.reason])).toEqual([
      ['b', 'conflict', 'Someone else decided it first, or it changed'],
      ['c', 'not-found', 'It no longer exists'],
      ['d', 'internal', 'The server hit an error'],
      ['f', 'unknown', 'It was not decided'],
    ]);
    expect(out.failed[0]?.message).toBe('approval b was already approved by bob');
  });

  it('removes decided and missing ones, drops conflicts from the selection, and keeps the rest selectable', () => {
    const out = summarizeBatch(results);
    expect(out.gone).toEqual(['a', 'c', 'e']);
    expect(out.keep).toEqual(['d', 'f']);
    expect(out.voted).toEqual([]);
  });

  it('keeps items refused for the rate or an unreachable database selectable, saying to try again', () => {
    const out = summarizeBatch([
      { id: 'r', ok: false, error: { code: 'RATE_LIMITED', message: 'too many decisions: retry in 3s' } },
      { id: 'u', ok: false, error: { code: 'UNAVAILABLE', message: 'the database is unavailable right now' } },
    ]);
    expect(out.failed.map((f) => [f.id, f.kind, f.reason])).toEqual([
      ['r', 'rate-limited', 'Too many decisions in a short time; try again in a moment'],
      ['u', 'network', 'The server could not reach its database; try again in a moment'],
    ]);
    expect(out.keep).toEqual(['r', 'u']);
    expect(out.gone).toEqual([]);
  });

  it('tells a vote that decided nothing yet (k of n) from a decision', () => {
    const out = summarizeBatch([
      { id: 'a', ok: true, nextWorkflow: null, approval: { status: 'PENDING', approvalsCount: 1, requiredApprovals: 2 } },
      {
        id: 'b',
        ok: true,
        nextWorkflow: { id: 'wf-b', type: 'apply_feedback' },
        approval: { status: 'APPROVED', approvalsCount: 2, requiredApprovals: 2 },
      },
    ]);
    expect(out.decided).toEqual([
      { id: 'a', nextWorkflow: null, votes: { count: 1, required: 2 } },
      { id: 'b', nextWorkflow: { id: 'wf-b', type: 'apply_feedback' } },
    ]);
    expect(out.voted).toEqual(['a']);
    expect(out.gone).toEqual(['b']);
    expect(batchHeadline(out)).toBe('Approved all 2.');
    expect(batchHeadline(out, 'Rejected')).toBe('Rejected all 2.');
  });

  it('writes a headline', () => {
    expect(batchHeadline(summarizeBatch(results))).toBe('Approved 2 of 6.');
    expect(batchHeadline(summarizeBatch([results[0]!, results[4]!]))).toBe('Approved all 2.');
    expect(batchHeadline(summarizeBatch([results[0]!]))).toBe('Approved 1 approval.');
    expect(batchHeadline(summarizeBatch([results[1]!]))).toBe('It was not approved.');
    expect(batchHeadline(summarizeBatch([results[1]!, results[2]!]))).toBe('None of the 2 were approved.');
  });
});

describe('selection', () => {
  const listed = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

  it('toggles ids', () => {
    const s = toggled(new Set(['a']), 'b');
    expect([...s]).toEqual(['a', 'b']);
    expect([...toggled(s, 'a')]).toEqual(['b']);
  });

  it('forgets ids that left the queue, and keeps the same set when none did', () => {
    const s = new Set(['a', 'x']);
    expect([...pruneSelection(s, listed)]).toEqual(['a']);
    const same = new Set(['a', 'b']);
    expect(pruneSelection(same, listed)).toBe(same);
  });

  it('knows the select-all state', () => {
    expect(selectAllState(new Set(), listed)).toBe('none');
    expect(selectAllState(new Set(['b']), listed)).toBe('some');
    expect(selectAllState(new Set(['a', 'b', 'c']), listed)).toBe('all');
  });
});
