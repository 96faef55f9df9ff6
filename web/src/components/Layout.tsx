import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useLiveState } from '../hooks/live';
import { useShortcuts } from '../hooks/useShortcuts';
import { useSessionActions, useViewer } from '../hooks/viewer';
import type { Problem } from '../lib/errors';
import { roleLabel } from '../lib/policy';
import { Link, useLocation } from '../router';
import { ProblemNotice } from './Problem';
import { ShortcutsDialog } from './ShortcutsDialog';

function NavLink({ to, active, children }: { to: string; active: boolean; children: ReactNode }) {
  return (
    <Link to={to} className="nav-link" aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function LiveIndicator() {
  const state = useLiveState();
  const label = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className={`live live-${state}`} role="status" title="Live updates over WebSocket">
      <span className="live-dot" aria-hidden="true" />
      <span className="live-label">{label}</span>
    </span>
  );
}

/** Who is signed in, with what role, and the way out. */
function Identity({ onProblem }: { onProblem: (p: Problem | null) => void }) {
  const viewer = useViewer();
  const { signOut, signIn } = useSessionActions();
  const [busy, setBusy] = useState(false);
  const anonymous = viewer.method === 'ANONYMOUS';
  return (
    <div className="identity" data-testid="identity">
      <span className="identity-name" title={viewer.tokenName ? `API token ${viewer.tokenName}` : undefined}>
        <span className="sr-only">Signed in as </span>
        <span data-testid="identity-name">{viewer.name}</span>
      </span>{' '}
      <span className="badge badge-role" data-role={viewer.role}>
        {roleLabel(viewer.role)}
      </span>
      {anonymous ? (
        <button type="button" className="btn btn-small" onClick={signIn}>
          Sign in
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-small"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            onProblem(null);
            void signOut().then((problem) => {
              // On success this layout is gone.
              if (problem) {
                setBusy(false);
                onProblem(problem);
              }
            });
          }}
        >
          {busy ? 'Signing out…' : 'Sign out'}
        </button>
      )}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const viewer = useViewer();
  const [signOutProblem, setSignOutProblem] = useState<Problem | null>(null);
  const { pathname } = useLocation();
  const [help, setHelp] = useState(false);
  const closeHelp = useCallback(() => setHelp(false), []);
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  useShortcuts({ '?': () => setHelp((h) => !h) });

  // After an in-app navigation, start reading (and tabbing) at the new page.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    window.scrollTo(0, 0);
    mainRef.current?.focus({ preventScroll: true });
  }, [pathname]);

  const inQueue = pathname === '/' || pathname.startsWith('/approvals/');
  const inNew = pathname === '/workflows/new';
  const inWorkflows = pathname.startsWith('/workflows') && !inNew;
  const inDeployments = pathname === '/deployments';
  const inTypes = pathname === '/types' || pathname.startsWith('/types/');
  const inAdmin = pathname === '/admin' || pathname.startsWith('/admin/');

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand">
            Baton
          </Link>
          <nav aria-label="Main">
            <ul className="nav">
              <li>
                <NavLink to="/" active={inQueue}>
                  Queue
                </NavLink>
              </li>
              <li>
                <NavLink to="/workflows" active={inWorkflows}>
                  Workflows
                </NavLink>
              </li>
              <li>
                <NavLink to="/deployments" active={inDeployments}>
                  Deployments
                </NavLink>
              </li>
              <li>
                <NavLink to="/types" active={inTypes}>
                  Types
                </NavLink>
              </li>
              {viewer.canSubmit ? (
                <li>
                  <NavLink to="/workflows/new" active={inNew}>
                    Start
                  </NavLink>
                </li>
              ) : null}
              {viewer.isAdmin ? (
                <li>
                  <NavLink to="/admin" active={inAdmin}>
                    Admin
                  </NavLink>
                </li>
              ) : null}
            </ul>
          </nav>
          <div className="topbar-end">
            <LiveIndicator />
            <Identity onProblem={setSignOutProblem} />
            <button
              type="button"
              className="btn btn-small btn-ghost"
              onClick={() => setHelp(true)}
              aria-label="Keyboard shortcuts"
              title="Keyboard shortcuts (?)"
            >
              ?
            </button>
          </div>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="main">
        {signOutProblem ? (
          <ProblemNotice problems={[signOutProblem]} titles={{ network: 'Not signed out: cannot reach the server' }} />
        ) : null}
        {children}
      </main>
      {help ? <ShortcutsDialog onClose={closeHelp} /> : null}
    </>
  );
}
