import { describe, expect, it } from 'vitest';
import { diffStats, diffWords, MAX_DIFF_CELLS, tokenize, type DiffSegment } from './diff';

const oldOf = (segs: DiffSegment[]) => segs.filter((s) => s.op !== 'added').map((s) => s.text).join('');
const newOf = (segs: DiffSegment[]) => segs.filter((s) => s.op !== 'removed').map((s) => s.text).join('');

describe('diffWords', () => {
  it('keeps identical texts as one unchanged segment', () => {
    expect(diffWords('a b c', 'a b c')).toEqual([{ op: 'same', text: 'a b c' }]);
  });

  it('marks a replaced word as removed then added', () => {
    expect(diffWords('the cat sat', 'the dog sat')).toEqual([
      { op: 'same', text: 'the ' },
      { op: 'removed', text: 'cat' },
      { op: 'added', text: 'dog' },
      { op: 'same', text: ' sat' },
    ]);
  });

  it('finds an insertion in the middle', () => {
    expect(diffWords('Mara opens the letter.', 'Mara slowly opens the letter.')).toEqual([
      { op: 'same', text: 'Mara ' },
      { op: 'added', text: 'slowly ' },
      { op: 'same', text: 'opens the letter.' },
    ]);
  });

  it('groups neighbouring changed words into phrases', () => {
    const segs = diffWords('the cat sat down', 'a dog sat down');
    expect(segs).toEqual([
      { op: 'removed', text: 'the cat' },
      { op: 'added', text: 'a dog' },
      { op: 'same', text: ' sat down' },
    ]);
  });

  it('handles empty sides', () => {
    expect(diffWords('', 'new text')).toEqual([{ op: 'added', text: 'new text' }]);
    expect(diffWords('old text', '')).toEqual([{ op: 'removed', text: 'old text' }]);
    expect(diffWords('', '')).toEqual([]);
  });

  it('always re-joins to both texts exactly', () => {
    const pairs: [string, string][] = [
      ['one two three four five', 'zero one three five six'],
      ['Line one.\n\nLine two here.', 'Line one.\nLine two, there.\n\nAnd three.'],
      ['  leading and trailing  ', 'leading, and trailing'],
      ['a a a b b b', 'b b b a a a'],
    ];
    for (const [a, b] of pairs) {
      const segs = diffWords(a, b);
      expect(oldOf(segs)).toBe(a);
      expect(newOf(segs)).toBe(b);
    }
  });

  it('falls back to replace-all when the table would be too large', () => {
    const n = Math.ceil(Math.sqrt(MAX_DIFF_CELLS)) + 10;
    const a = Array.from({ length: n }, (_, i) => `a${i}`).join(' ');
    const b = Array.from({ length: n }, (_, i) => `b${i}`).join(' ');
    const segs = diffWords(a, b);
    expect(segs.map((s) => s.op)).toEqual(['removed', 'added']);
    expect(oldOf(segs)).toBe(a);
  });

  it('counts words added and removed', () => {
    expect(diffStats(diffWords('the cat sat', 'the big dog sat'))).toEqual({ added: 2, removed: 1 });
  });

  it('tokenizes into words and whitespace', () => {
    expect(tokenize('a  b\nc')).toEqual(['a', '  ', 'b', '\n', 'c']);
  });
});
