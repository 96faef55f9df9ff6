import { describe, expect, it } from 'vitest';
import { applyMergePatch, buildEdits, createMergePatch } from './mergePatch';
import { editBase, editsOf, initialEdit, parseConfig, configFields } from './edits';

describe('createMergePatch (RFC 7396)', () => {
  it('answers undefined for equal values', () => {
    expect(createMergePatch({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeUndefined();
  });

  it('keeps only changed keys, nulls removed ones, replaces arrays and scalars whole', () => {
    const before = { keep: 1, change: 'x', drop: true, nested: { a: 1, b: 2 }, list: [1, 2] };
    const after = { keep: 1, change: 'y', nested: { a: 1, b: 3, c: 4 }, list: [1, 2, 3], added: 'new' };
    const patch = createMergePatch(before, after);
    expect(patch).toEqual({ change: 'y', drop: null, nested: { b: 3, c: 4 }, list: [1, 2, 3], added: 'new' });
    expect(applyMergePatch(before, patch)).toEqual(after);
  });

  it('replaces a non-object with an object and back', () => {
    expect(createMergePatch(1, { a: 1 })).toEqual({ a: 1 });
    expect(createMergePatch({ a: 1 }, 'text')).toBe('text');
  });
});

describe('buildEdits', () => {
  const draft = { text: 'Mara opens the letter.', rubric: [{ dimension: 'prose' }], score: 49.5 };

  it('is null when nothing editable changed', () => {
    expect(buildEdits('draft', draft, { ...draft })).toBeNull();
    // Fields that are not editable never go into the patch.
    expect(buildEdits('draft', draft, { ...draft, score: 99 })).toBeNull();
  });

  it('holds only the draft text for a draft', () => {
    expect(buildEdits('draft', draft, { ...draft, text: 'Mara hesitates, then opens the letter.', score: 1 })).toEqual({
      text: 'Mara hesitates, then opens the letter.',
    });
  });

  it('holds only the changed values of optimal_config for experiment results', () => {
    const results = { summary: 's', optimal_config: { temperature: 0.3, candidates: 2, system_prompt: 'minimalist' } };
    const after = { ...results, optimal_config: { temperature: 0.5, candidates: 2, system_prompt: 'minimalist' } };
    expect(buildEdits('experiment_results', results, after)).toEqual({ optimal_config: { temperature: 0.5 } });
    expect(applyMergePatch(results, buildEdits('experiment_results', results, after))).toEqual(after);
  });

  it('has nothing to edit for other kinds', () => {
    expect(buildEdits('config', { a: 1 }, { a: 2 })).toBeNull();
  });
});

describe('edit state', () => {
  it('edits a draft from its artifact content', () => {
    const base = editBase('draft', { text: 'One.', score: 3 });
    expect(base?.kind).toBe('draft');
    if (!base) return;
    const edit = initialEdit(base);
    expect(editsOf(base, edit).edits).toBeNull();
    expect(editsOf(base, { kind: 'draft', text: 'One, two.' }).edits).toEqual({ text: 'One, two.' });
    expect(editBase('draft', { rubric: [] })).toBeNull();
  });

  it('edits config values as their types, and reports values that do not parse', () => {
    const base = editBase('experiment_results', {}, { temperature: 0.3, candidates: 2, stream: false, system_prompt: 'x', stop: ['\n'] });
    expect(base?.kind).toBe('experiment_results');
    if (!base || base.kind !== 'experiment_results') return;
    expect(base.fields.map((f) => [f.key, f.kind])).toEqual([
      ['candidates', 'number'],
      ['stop', 'json'],
      ['stream', 'boolean'],
      ['system_prompt', 'string'],
      ['temperature', 'number'],
    ]);
    const edit = initialEdit(base);
    if (edit.kind !== 'experiment_results') return;
    expect(edit.raw).toEqual({ candidates: '2', stop: '["\\n"]', stream: false, system_prompt: 'x', temperature: '0.3' });
    const changed = { ...edit.raw, temperature: '0.7', stream: true };
    expect(editsOf(base, { kind: 'experiment_results', raw: changed }).edits).toEqual({
      optimal_config: { temperature: 0.7, stream: true },
    });
    const bad = editsOf(base, { kind: 'experiment_results', raw: { ...edit.raw, temperature: 'warm', stop: '[' } });
    expect(bad.edits).toBeNull();
    expect(bad.errors).toEqual({ temperature: 'Enter a number.', stop: 'Enter valid JSON.' });
  });

  it('parses every field of a config', () => {
    const fields = configFields({ a: 1 });
    expect(parseConfig(fields, { a: '' }).errors).toEqual({ a: 'Enter a number.' });
  });
});
