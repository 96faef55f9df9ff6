import { useMemo } from 'react';
import { diffStats, diffWords } from '../lib/diff';

/** The word-level changes from `before` to `after`, inline. */
export function DiffView({ before, after }: { before: string; after: string }) {
  const segments = useMemo(() => diffWords(before, after), [before, after]);
  const stats = diffStats(segments);
  return (
    <div className="diff">
      <p className="diff-summary">
        <span className="diff-legend-added">{stats.added} words added</span>,{' '}
        <span className="diff-legend-removed">{stats.removed} words removed</span>
      </p>
      <div className="diff-body prose">
        {segments.map((s, i) =>
          s.op === 'same' ? (
            <span key={i}>{s.text}</span>
          ) : s.op === 'added' ? (
            <ins key={i}>{s.text}</ins>
          ) : (
            <del key={i}>{s.text}</del>
          ),
        )}
      </div>
    </div>
  );
}
