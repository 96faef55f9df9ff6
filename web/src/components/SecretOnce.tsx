// A credential the server shows exactly once (a new API token's secret, a
// sign-in link): readable, selectable, copyable, with a plain warning that
// it will not be shown again. It lives in this component's state only and
// is gone when dismissed; nothing writes it anywhere.

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied: fall back to selecting it.
  }
  if (!input) return false;
  input.focus();
  input.select();
  try {
    // The only way without the async clipboard (plain http on another host).
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

export function SecretOnce({
  title,
  label,
  value,
  children,
  testId,
  onDone,
}: {
  title: string;
  /** The field's label, e.g. "Sign-in link". */
  label: string;
  value: string;
  /** What to do with it, and the warning. */
  children: ReactNode;
  testId?: string;
  onDone: () => void;
}) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const boxRef = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  // Read it next: focus lands on the panel when it appears.
  useEffect(() => {
    boxRef.current?.focus();
  }, [value]);
  return (
    <section
      ref={boxRef}
      tabIndex={-1}
      className="notice notice-warn secret-once stack-sm"
      aria-labelledby={`${id}-title`}
      data-testid={testId}
    >
      <h3 id={`${id}-title`} className="notice-title">
        {title}
      </h3>
      <div className="notice-body stack-sm">{children}</div>
      <div className="field">
        <label htmlFor={`${id}-value`}>{label}</label>
        <div className="secret-row">
          <input
            ref={inputRef}
            id={`${id}-value`}
            className="mono secret-value"
            type="text"
            readOnly
            value={value}
            spellCheck={false}
            autoComplete="off"
            onFocus={(e) => e.currentTarget.select()}
          />
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void copyText(value, inputRef.current).then((ok) => setCopied(ok ? 'yes' : 'no'))}
          >
            Copy
          </button>
        </div>
        <p className="hint" role="status">
          {copied === 'yes' ? 'Copied.' : copied === 'no' ? 'Could not copy: it is selected, copy it with Ctrl+C.' : ''}
        </p>
      </div>
      <div className="actions">
        <button type="button" className="btn btn-small" onClick={onDone}>
          Done, hide it
        </button>
      </div>
    </section>
  );
}
