// The sign-in screen, shown whenever nobody is signed in: how to get in
// (a sign-in link from an admin, or an API token), and a form to paste a
// token. A link's code is exchanged before this renders (graphql/session.ts);
// when that failed, this says so first.

import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ProblemNotice } from '../components/Problem';
import type { SignedOutReason } from '../graphql/session';
import { useTitle } from '../hooks/useTitle';
import type { Problem } from '../lib/errors';

/** The page around sign-in and its loading states: no nav, nothing to leak. */
export function AuthFrame({ children }: { children: ReactNode }) {
  return (
    <>
      <header className="topbar">
        <div className="topbar-inner">
          <span className="brand">Baton</span>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="main signin">
        {children}
      </main>
    </>
  );
}

export function SignInPage({
  reason,
  problem,
  onToken,
}: {
  reason: SignedOutReason;
  /** Why a sign-in link did not work. */
  problem: Problem | null;
  /** Resolves to a problem when the token was refused. */
  onToken: (token: string) => Promise<Problem | null>;
}) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const hintId = useId();
  const errorId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblems([]);
    if (token.trim() === '') {
      setFieldError('Paste the API token an admin gave you.');
      inputRef.current?.focus();
      return;
    }
    setFieldError(null);
    setBusy(true);
    const refused = await onToken(token);
    // On success this screen is gone; the token only lived in this state.
    setBusy(false);
    if (!refused) return;
    setToken('');
    if (refused.kind === 'unauthenticated' || refused.kind === 'bad-input') {
      setFieldError(`${refused.message.replace(/\.$/, '')}. Check that you copied all of it, or ask for a new one.`);
      inputRef.current?.focus();
    } else setProblems([refused]);
  };

  return (
    <AuthFrame>
      <div className="signin-card card stack">
        <h1>Sign in to Baton</h1>
        {reason === 'signed-out' ? (
          <div className="notice notice-ok" role="status">
            <p className="notice-title">You are signed out.</p>
          </div>
        ) : null}
        {reason === 'session-ended' ? (
          <div className="notice notice-warn" role="alert">
            <p className="notice-title">Your session has ended.</p>
            <p className="notice-body">
              It was signed out elsewhere, revoked, or your account was disabled. Sign in again to go on.
            </p>
          </div>
        ) : null}
        {reason === 'link-failed' ? (
          <div className="notice notice-error" role="alert" data-testid="link-failed">
            <p className="notice-title">That sign-in link did not work.</p>
            {problem ? <p className="notice-body">{problem.message}</p> : null}
            <p className="notice-body">
              A sign-in link works once, in one browser, and expires. Ask an admin for a new link, or paste an API
              token below.
            </p>
          </div>
        ) : null}
        <section className="stack-sm" aria-labelledby="signin-how">
          <h2 id="signin-how">How to get in</h2>
          <p>Baton has no passwords. An admin gives you one of these:</p>
          <ul className="signin-ways">
            <li>
              <strong>A sign-in link.</strong> Open it in this browser and you are signed in. It works once.
            </li>
            <li>
              <strong>An API token</strong> (it starts with <code>baton_</code>). Paste it below.
            </li>
          </ul>
          <p className="hint">
            Setting up a new server? On its first start, <code>baton serve</code> prints a <code>sign in:</code> link
            for the <code>admin</code> user right after <code>baton listening on …</code>.
          </p>
        </section>
        <form className="stack-sm" aria-label="Sign in with an API token" noValidate onSubmit={(e) => void submit(e)}>
          <div className="field">
            <label htmlFor="signin-token">API token</label>
            <input
              id="signin-token"
              ref={inputRef}
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={token}
              aria-invalid={fieldError ? true : undefined}
              aria-describedby={[hintId, fieldError ? errorId : null].filter(Boolean).join(' ')}
              onChange={(e) => {
                setToken(e.target.value);
                setFieldError(null);
              }}
            />
            <p id={hintId} className="hint">
              It is sent once; the server answers with a session for this browser. The token is not kept here.
            </p>
            {fieldError ? (
              <p id={errorId} className="field-error" data-field-error="token">
                {fieldError}
              </p>
            ) : null}
          </div>
          <ProblemNotice problems={problems} />
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </div>
        </form>
      </div>
    </AuthFrame>
  );
}
