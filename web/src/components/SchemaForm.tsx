// Inputs for the fields of a JSON Schema (lib/schemaForm.ts), each with its
// label, required mark, limits, description and error.

import { formatWords } from '../lib/jsonSchema';
import type { FieldErrors, FormField, FormValues } from '../lib/schemaForm';

export interface SchemaFieldsProps {
  fields: FormField[];
  values: FormValues;
  errors: FieldErrors;
  onChange: (name: string, value: string | boolean) => void;
  /** Prefix for element ids, so two forms never clash. */
  idPrefix: string;
}

function limitsText(f: FormField): string | undefined {
  const parts: string[] = [];
  if (f.kind === 'integer' || f.kind === 'number') {
    if (f.minimum !== undefined && f.maximum !== undefined) parts.push(`${f.minimum} to ${f.maximum}`);
    else if (f.minimum !== undefined) parts.push(`at least ${f.minimum}`);
    else if (f.maximum !== undefined) parts.push(`at most ${f.maximum}`);
    if (f.exclusiveMinimum !== undefined) parts.push(`more than ${f.exclusiveMinimum}`);
    if (f.exclusiveMaximum !== undefined) parts.push(`less than ${f.exclusiveMaximum}`);
    if (f.kind === 'integer') parts.push('whole number');
    if (f.multipleOf !== undefined) parts.push(`a multiple of ${f.multipleOf}`);
  }
  if ((f.kind === 'string' || f.kind === 'text') && f.maxLength !== undefined) {
    parts.push(`up to ${f.maxLength.toLocaleString('en-US')} characters`);
  }
  if (f.kind === 'string' || f.kind === 'text') {
    const format = formatWords(f.format);
    if (format) parts.push(format);
    else if (f.format) parts.push(`format ${f.format}`);
    if (f.pattern !== undefined) parts.push(`matching ${f.pattern}`);
  }
  if (f.kind === 'json') parts.push(f.shape ?? 'JSON');
  if (f.default !== undefined && f.kind !== 'boolean') parts.push(`default ${JSON.stringify(f.default)}`);
  return parts.length ? parts.join(', ') : undefined;
}

export function SchemaFields({ fields, values, errors, onChange, idPrefix }: SchemaFieldsProps) {
  return (
    <>
      {fields.map((f) => {
        const id = `${idPrefix}-${f.name}`;
        const hintId = `${id}-hint`;
        const errorId = `${id}-error`;
        const error = errors[f.name];
        const limits = limitsText(f);
        const describedBy = [f.description || limits ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
        const common = {
          id,
          name: f.name,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': describedBy,
          'aria-required': f.required || undefined,
        } as const;
        const value = values[f.name];
        const text = typeof value === 'string' ? value : '';

        const hint =
          f.description || limits ? (
            <p id={hintId} className="hint">
              {f.description}
              {f.description && limits ? ' ' : ''}
              {limits ? <span className="muted">({limits})</span> : null}
            </p>
          ) : null;
        const errorText = error ? (
          <p id={errorId} className="field-error" data-field-error={f.name}>
            {error}
          </p>
        ) : null;

        if (f.kind === 'boolean') {
          return (
            <div key={f.name} className="field field-check">
              <label htmlFor={id}>
                <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(f.name, e.target.checked)} />{' '}
                {f.label}
                {f.required ? <RequiredMark /> : null}
              </label>
              {hint}
              {errorText}
            </div>
          );
        }

        let control;
        if (f.kind === 'enum') {
          control = (
            <select {...common} value={text} onChange={(e) => onChange(f.name, e.target.value)}>
              <option value="">{f.required ? 'Choose…' : '(not set)'}</option>
              {(f.options ?? []).map((o, i) => (
                <option key={i} value={String(i)}>
                  {typeof o === 'string' ? o : JSON.stringify(o)}
                </option>
              ))}
            </select>
          );
        } else if (f.kind === 'text' || f.kind === 'json') {
          control = (
            <textarea
              {...common}
              rows={f.root ? 10 : f.kind === 'json' ? 4 : 5}
              spellCheck={f.kind === 'json' ? false : undefined}
              value={text}
              maxLength={f.kind === 'text' ? f.maxLength : undefined}
              className={f.kind === 'json' ? 'mono' : undefined}
              onChange={(e) => onChange(f.name, e.target.value)}
            />
          );
        } else if (f.kind === 'integer' || f.kind === 'number') {
          control = (
            <input
              {...common}
              type="number"
              inputMode={f.kind === 'integer' ? 'numeric' : 'decimal'}
              step={f.kind === 'integer' ? 1 : 'any'}
              min={f.minimum}
              max={f.maximum}
              value={text}
              onChange={(e) => onChange(f.name, e.target.value)}
            />
          );
        } else if (f.kind === 'date') {
          control = <input {...common} type="date" value={text} onChange={(e) => onChange(f.name, e.target.value)} />;
        } else {
          control = (
            <input
              {...common}
              type={f.format === 'email' ? 'email' : f.format === 'uri' ? 'url' : 'text'}
              value={text}
              maxLength={f.maxLength}
              onChange={(e) => onChange(f.name, e.target.value)}
            />
          );
        }
        return (
          <div key={f.name} className="field">
            <label htmlFor={id}>
              {f.label}
              {f.required ? <RequiredMark /> : <span className="muted"> (optional)</span>}
            </label>
            {control}
            {hint}
            {errorText}
          </div>
        );
      })}
    </>
  );
}

function RequiredMark() {
  return (
    <span className="required" title="required">
      {' '}
      *<span className="sr-only"> (required)</span>
    </span>
  );
}
