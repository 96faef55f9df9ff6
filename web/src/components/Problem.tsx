// Renders problems from the error mapping (lib/errors.ts): a notice for
// most, a full "not found" view for missing things.

import type { CombinedError } from '@urql/core';
import type { ReactNode } from 'react';
import { problemsOf, type Problem, type ProblemKind } from '../lib/errors';
import { Link } from '../router';

export interface ProblemNoticeProps {
  error?: CombinedError | null | undefined;
  problems?: Problem[];
  /** Page-specific headings, e.g. what a conflict means here. */
  titles?: Partial<Record<ProblemKind, string>>;
  onRetry?: () => void;
  children?: ReactNode;
}

export function ProblemNotice({ error, problems, titles, onRetry, children }: ProblemNoticeProps) {
  const list = problems ?? problemsOf(error);
  if (list.length === 0) return null;
  return (
    <div className="stack-sm">
      {list.map((p, i) => {
        // A conflict or a rate limit is not a failure of the app: a warning.
        const tone = p.kind === 'conflict' || p.kind === 'rate-limited' ? 'notice notice-warn' : 'notice notice-error';
        return (
          <div key={i} className={tone} role="alert" data-problem={p.kind}>
            <p className="notice-title">{titles?.[p.kind] ?? p.title}</p>
            <p className="notice-body">{p.message}</p>
            {children}
            {onRetry && p.kind !== 'bad-input' && p.kind !== 'conflict' ? (
              <button type="button" className="btn btn-small" onClick={onRetry}>
                Try again
              </button>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

export function NotFound({ what, id }: { what: string; id?: string | undefined }) {
  return (
    <section className="not-found" aria-labelledby="nf-title" data-problem="not-found">
      <h1 id="nf-title" tabIndex={-1}>
        {what} not found
      </h1>
      <p>
        {id ? (
          <>
            There is no {what.toLowerCase()} with id <code>{id}</code>.{' '}
          </>
        ) : (
          <>Nothing lives at this address. </>
        )}
        It may have been mistyped, or belong to another Baton server.
      </p>
      <p>
        <Link to="/">Go to the review queue</Link> or <Link to="/workflows">browse workflows</Link>.
      </p>
    </section>
  );
}
