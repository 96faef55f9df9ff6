// One labelled form control with its hint and error, wired for assistive
// tech (aria-describedby, aria-invalid). The control is passed as a render
// function that receives those attributes.

import type { ReactNode } from 'react';

export interface ControlProps {
  id: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}

export function Field({
  id,
  label,
  hint,
  error,
  optional = false,
  field,
  children,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  optional?: boolean;
  /** Names the field for tests and the error (`data-field-error`). */
  field?: string;
  children: (props: ControlProps) => ReactNode;
}) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {optional ? <span className="muted"> (optional)</span> : null}
      </label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {hint ? (
        <p id={hintId} className="hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error" data-field-error={field}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** The server's field (`input.name`) → the form's, when the form has it. */
export function inputFieldOf<F extends string>(known: readonly F[]): (serverField: string) => F | undefined {
  return (serverField) => {
    const name = serverField.replace(/^input\./, '');
    return known.find((k) => k === name);
  };
}
