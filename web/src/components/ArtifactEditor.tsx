// Edit-then-approve: the reviewer changes a draft's text or the values of
// an experiment's optimal config, and sees their own edits as a diff
// before approving (lib/edits.ts builds the merge patch that is sent).

import { useEffect, useId, useRef } from 'react';
import type { EditBase, EditValue } from '../lib/edits';
import { humanizeKey } from '../lib/format';
import { formatJson, isObject } from '../lib/json';
import { deepEqual } from '../lib/mergePatch';
import { DiffView } from './DiffView';

export function ArtifactEditor({
  base,
  value,
  errors,
  after,
  onChange,
}: {
  base: EditBase;
  value: EditValue;
  errors: Record<string, string>;
  /** The content as edited. */
  after: Record<string, unknown>;
  onChange: (next: EditValue) => void;
}) {
  const headingId = useId();
  const diffId = useId();
  const ref = useRef<HTMLElement>(null);
  // Opened from the decision panel: start typing where the edit happens.
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('textarea, input')?.focus();
  }, []);
  return (
    <section ref={ref} className="card stack editor" aria-labelledby={headingId} data-testid="artifact-editor">
      <div className="card-head">
        <h2 id={headingId}>{base.kind === 'draft' ? 'Edit the draft' : 'Edit the optimal config'}</h2>
        <p className="muted small">Approving saves your edit as a new version, authored by you.</p>
      </div>
      {base.kind === 'draft' && value.kind === 'draft' ? (
        <div className="field">
          <label htmlFor="edit-text">Text</label>
          <textarea
            id="edit-text"
            className="edit-text"
            rows={14}
            value={value.text}
            onChange={(e) => onChange({ kind: 'draft', text: e.target.value })}
          />
        </div>
      ) : null}
      {base.kind === 'experiment_results' && value.kind === 'experiment_results'
        ? base.fields.map((f) => {
            const id = `edit-config-${f.key}`;
            const errorId = `${id}-error`;
            const raw = value.raw[f.key];
            const set = (v: string | boolean) => onChange({ kind: 'experiment_results', raw: { ...value.raw, [f.key]: v } });
            const error = errors[f.key];
            const common = {
              id,
              'aria-invalid': error ? true : undefined,
              'aria-describedby': error ? errorId : undefined,
            } as const;
            return (
              <div key={f.key} className={f.kind === 'boolean' ? 'field field-check' : 'field'}>
                {f.kind === 'boolean' ? (
                  <label htmlFor={id}>
                    <input {...common} type="checkbox" checked={raw === true} onChange={(e) => set(e.target.checked)} />{' '}
                    {humanizeKey(f.key)} <code className="muted small">{f.key}</code>
                  </label>
                ) : (
                  <>
                    <label htmlFor={id}>
                      {humanizeKey(f.key)} <code className="muted small">{f.key}</code>
                    </label>
                    {f.kind === 'json' ? (
                      <textarea
                        {...common}
                        className="mono"
                        rows={3}
                        value={typeof raw === 'string' ? raw : ''}
                        onChange={(e) => set(e.target.value)}
                      />
                    ) : (
                      <input
                        {...common}
                        type={f.kind === 'number' ? 'number' : 'text'}
                        step={f.kind === 'number' ? 'any' : undefined}
                        inputMode={f.kind === 'number' ? 'decimal' : undefined}
                        value={typeof raw === 'string' ? raw : ''}
                        onChange={(e) => set(e.target.value)}
                      />
                    )}
                  </>
                )}
                {error ? (
                  <p id={errorId} className="field-error">
                    {error}
                  </p>
                ) : null}
              </div>
            );
          })
        : null}
      <section className="stack-sm" aria-labelledby={diffId} data-testid="own-edits">
        <h3 id={diffId}>Your edits</h3>
        <EditsDiff base={base} after={after} />
      </section>
    </section>
  );
}

function EditsDiff({ base, after }: { base: EditBase; after: Record<string, unknown> }) {
  if (base.kind === 'draft') {
    const text = typeof after.text === 'string' ? after.text : base.text;
    if (text === base.text) return <p className="muted small">No changes yet.</p>;
    return <DiffView before={base.text} after={text} />;
  }
  const config = isObject(after.optimal_config) ? after.optimal_config : {};
  const changed = base.fields.filter((f) => !deepEqual(config[f.key], f.original));
  if (changed.length === 0) return <p className="muted small">No changes yet.</p>;
  return (
    <div className="table-wrap">
      <table className="table table-compact">
        <thead>
          <tr>
            <th scope="col">Value</th>
            <th scope="col">Was</th>
            <th scope="col">Now</th>
          </tr>
        </thead>
        <tbody>
          {changed.map((f) => (
            <tr key={f.key}>
              <th scope="row">
                <code>{f.key}</code>
              </th>
              <td>
                <del className="diff-del">{formatJson(f.original)}</del>
              </td>
              <td>
                <ins className="diff-ins">{formatJson(config[f.key])}</ins>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
