import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useLiveState } from '../hooks/live';
import { useShortcuts } from '../hooks/useShortcuts';
import { Link, useLocation } from '../router';
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

export function Layout({ children }: { children: ReactNode }) {
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
                <NavLink to="/workflows/new" active={inNew}>
                  Start
                </NavLink>
              </li>
            </ul>
          </nav>
          <div className="topbar-end">
            <LiveIndicator />
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
        {children}
      </main>
      {help ? <ShortcutsDialog onClose={closeHelp} /> : null}
    </>
  );
}
