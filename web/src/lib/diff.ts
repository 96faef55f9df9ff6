// Word-level diff of two texts by longest common subsequence.
//
// Texts are split into words and the whitespace between them, so the output
// re-joins to exactly the old text (same + removed) and the new text (same +
// added). The common prefix and suffix are trimmed before the O(n·m) table,
// which keeps typical revisions (a few changed sentences) cheap.

export type DiffOp = 'same' | 'added' | 'removed';

export interface DiffSegment {
  op: DiffOp;
  text: string;
}

/** Beyond this many table cells the diff falls back to "all replaced". */
export const MAX_DIFF_CELLS = 4_000_000;

/** Words and runs of whitespace, in order; joined they give back `text`. */
export function tokenize(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

export function diffWords(oldText: string, newText: string): DiffSegment[] {
  const a = tokenize(oldText);
  const b = tokenize(newText);

  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const out: DiffSegment[] = [];
  const push = (op: DiffOp, text: string) => {
    if (text === '') return;
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };

  push('same', a.slice(0, start).join(''));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  for (const seg of lcsDiff(midA, midB)) push(seg.op, seg.text);
  push('same', a.slice(endA).join(''));
  return groupChanges(out);
}

/**
 * Turns "removed, space, added, removed, space, added" into one removed run
 * and one added run: whitespace alone between two changes is not worth
 * showing as unchanged, and whole phrases read better than word confetti.
 * Both texts still re-join exactly.
 */
function groupChanges(segs: DiffSegment[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  let i = 0;
  while (i < segs.length) {
    const s = segs[i];
    if (!s) break;
    if (s.op === 'same') {
      out.push({ ...s });
      i++;
      continue;
    }
    let removed = '';
    let added = '';
    let j = i;
    for (; j < segs.length; j++) {
      const t = segs[j];
      if (!t) break;
      if (t.op === 'removed') removed += t.text;
      else if (t.op === 'added') added += t.text;
      else if (/^\s+$/.test(t.text) && segs[j + 1] !== undefined && segs[j + 1]?.op !== 'same') {
        removed += t.text;
        added += t.text;
      } else break;
    }
    if (removed !== '') out.push({ op: 'removed', text: removed });
    if (added !== '') out.push({ op: 'added', text: added });
    i = j;
  }
  return out;
}

function lcsDiff(a: string[], b: string[]): DiffSegment[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return [{ op: 'added', text: b.join('') }];
  if (m === 0) return [{ op: 'removed', text: a.join('') }];
  if ((n + 1) * (m + 1) > MAX_DIFF_CELLS) {
    return [
      { op: 'removed', text: a.join('') },
      { op: 'added', text: b.join('') },
    ];
  }

  // lengths[i][j] = LCS length of a[i..] and b[j..], flattened row-major.
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0);
    }
  }

  const segs: DiffSegment[] = [];
  const push = (op: DiffOp, text: string) => {
    const last = segs[segs.length - 1];
    if (last && last.op === op) last.text += text;
    else segs.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const x = a[i] ?? '';
    const y = b[j] ?? '';
    if (x === y) {
      push('same', x);
      i++;
      j++;
    } else if ((lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0)) {
      push('removed', x);
      i++;
    } else {
      push('added', y);
      j++;
    }
  }
  while (i < n) push('removed', a[i++] ?? '');
  while (j < m) push('added', b[j++] ?? '');
  return segs;
}

/** Counts of words (not whitespace) added and removed, for a summary line. */
export function diffStats(segments: DiffSegment[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const s of segments) {
    const words = s.text.split(/\s+/).filter((w) => w !== '').length;
    if (s.op === 'added') added += words;
    else if (s.op === 'removed') removed += words;
  }
  return { added, removed };
}
