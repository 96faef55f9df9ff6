// What a reviewer reads: a draft as prose with its rubric and, for a
// revision, the changes from its parent; an artifact of a declared type
// with an `artifactSchema` laid out by that schema's titles
// (SchemaArtifactView); any other artifact as JSON.

import { useId, useState } from 'react';
import { paragraphs, readDraft, type Draft, type RubricItem } from '../lib/draft';
import { formatScore, humanizeKey } from '../lib/format';
import { getString, isObject } from '../lib/json';
import { DiffView } from './DiffView';
import { JsonView } from './JsonView';
import { SchemaArtifactView } from './SchemaArtifactView';

export interface ParentArtifact {
  id: string;
  version: number;
  content: unknown;
}

export interface ArtifactViewProps {
  artifactType: string;
  data: unknown;
  version?: number | null | undefined;
  parent?: ParentArtifact | null | undefined;
  /** The `artifactSchema` of the declared type version that made it, if any. */
  schema?: unknown;
}

export function ArtifactView({ artifactType, data, version, parent, schema }: ArtifactViewProps) {
  if (artifactType === 'draft') {
    const draft = readDraft(data);
    if (draft) return <DraftView draft={draft} version={version} parent={parent} />;
    return (
      <section className="card stack" aria-label="Artifact data">
        <h2>Draft{version ? ` · version ${version}` : ''}</h2>
        <p className="muted">This draft does not have the usual shape (no text), so here is its data as stored.</p>
        <JsonView value={data} label="Artifact data" />
      </section>
    );
  }
  if (isObject(schema)) {
    return <SchemaArtifactView artifactType={artifactType} schema={schema} data={data} version={version} />;
  }
  return (
    <section className="card stack" aria-label="Artifact data">
      <h2>
        <code>{artifactType}</code>
        {version ? ` · version ${version}` : ''}
      </h2>
      <p className="muted">
        No dedicated view for <code>{artifactType}</code> artifacts yet; here is the data as stored.
      </p>
      <JsonView value={data} label="Artifact data" />
    </section>
  );
}

function DraftView({
  draft,
  version,
  parent,
}: {
  draft: Draft;
  version?: number | null | undefined;
  parent?: ParentArtifact | null | undefined;
}) {
  const parentText = parent ? getString(parent.content, 'text') : undefined;
  const [mode, setMode] = useState<'changes' | 'text'>(parentText !== undefined ? 'changes' : 'text');
  const headingId = useId();
  return (
    <div className="stack">
      {draft.brief ? <Brief brief={draft.brief} /> : null}
      <section className="card stack" aria-labelledby={headingId}>
        <div className="card-head">
          <h2 id={headingId}>
            Draft{version ? ` · version ${version}` : ''}
            {draft.final ? <span className="badge badge-completed">Final</span> : null}
          </h2>
          <p className="muted small">
            {[
              draft.model ? `model ${draft.model}` : null,
              draft.candidates !== null ? `${draft.candidates} candidates` : null,
              draft.round !== null ? `round ${draft.round}` : null,
              `${draft.text.split(/\s+/).filter(Boolean).length} words`,
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
        </div>
        {parentText !== undefined && parent ? (
          <div className="segmented" role="group" aria-label="Show">
            <button
              type="button"
              aria-pressed={mode === 'changes'}
              onClick={() => setMode('changes')}
              className="segment"
            >
              Changes from version {parent.version}
            </button>
            <button type="button" aria-pressed={mode === 'text'} onClick={() => setMode('text')} className="segment">
              Full text
            </button>
          </div>
        ) : null}
        {mode === 'changes' && parentText !== undefined ? (
          <DiffView before={parentText} after={draft.text} />
        ) : (
          <div className="prose draft-text">
            {paragraphs(draft.text).map((p, i) => (
              <p key={i}>{p}</p>
            ))}
          </div>
        )}
      </section>
      <Rubric items={draft.rubric} total={draft.score} judgeModel={draft.judgeModel} />
    </div>
  );
}

function Brief({ brief }: { brief: Record<string, unknown> }) {
  const entries = Object.entries(brief);
  if (entries.length === 0) return null;
  return (
    <section className="card" aria-label="Brief">
      <dl className="brief">
        {entries.map(([k, v]) => (
          <div key={k} className="brief-row">
            <dt>{humanizeKey(k)}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Scores above this read as a 0–100 scale, below as 0–10 (the judge's). */
function scaleOf(items: RubricItem[]): number {
  return items.some((i) => (i.score ?? 0) > 10) ? 100 : 10;
}

function Rubric({ items, total, judgeModel }: { items: RubricItem[]; total: number | null; judgeModel: string | null }) {
  const headingId = useId();
  if (items.length === 0) return null;
  const scale = scaleOf(items);
  return (
    <section className="card stack" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Rubric{total !== null ? ` · ${formatScore(total)} / 100` : ''}</h2>
        {judgeModel ? <p className="muted small">judged by {judgeModel}</p> : null}
      </div>
      <div className="table-wrap">
        <table className="table rubric">
          <thead>
            <tr>
              <th scope="col">Dimension</th>
              <th scope="col" className="num">
                Score
              </th>
              <th scope="col" className="num">
                Weight
              </th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.dimension}>
                <th scope="row">{humanizeKey(item.dimension)}</th>
                <td className="num">
                  <span className="score-cell">
                    <span>
                      {formatScore(item.score)}
                      <span className="muted small"> / {scale}</span>
                    </span>
                    {item.score !== null ? (
                      <span className="bar" aria-hidden="true">
                        <span style={{ width: `${Math.min(100, (item.score / scale) * 100)}%` }} />
                      </span>
                    ) : null}
                  </span>
                </td>
                <td className="num" data-label="weight">
                  {item.weight !== null ? `${Math.round(item.weight * 100)}%` : '—'}
                </td>
                <td className="reason">{item.reason || <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
