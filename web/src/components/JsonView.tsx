import { formatJson } from '../lib/json';

/** Any JSON value, formatted; the fallback for artifacts we do not know. */
export function JsonView({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {formatJson(value)}
    </pre>
  );
}
