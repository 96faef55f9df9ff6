// The app as the session allows: the sign-in screen until someone is signed
// in, then the app on that sign-in's own client (a fresh tree per sign-in,
// so nothing read as one person shows for the next).

import { useMemo, useSyncExternalStore } from 'react';
import { Provider } from 'urql';
import { App } from './App';
import { ProblemNotice } from './components/Problem';
import { Loading } from './components/States';
import type { Connection, Session, Viewer } from './graphql/session';
import { LiveContext, useOnReconnect } from './hooks/live';
import { ViewerContext, type ViewerContextValue } from './hooks/viewer';
import { AuthFrame, SignInPage } from './pages/SignInPage';

export function Root({ session }: { session: Session }) {
  const state = useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot);
  switch (state.status) {
    case 'checking':
      return (
        <AuthFrame>
          <Loading label={state.label} />
        </AuthFrame>
      );
    case 'unreachable':
      return (
        <AuthFrame>
          <ProblemNotice problems={state.problems} onRetry={() => void session.retry()} />
        </AuthFrame>
      );
    case 'signed-out':
      return (
        <SignInPage
          reason={state.reason}
          problem={state.problem}
          onToken={(token) => session.signInWithToken(token)}
        />
      );
    case 'signed-in':
      return <SignedIn key={state.generation} session={session} viewer={state.viewer} connection={state.connection} />;
  }
}

function SignedIn({ session, viewer, connection }: { session: Session; viewer: Viewer; connection: Connection }) {
  const value = useMemo<ViewerContextValue>(
    () => ({ viewer, signOut: () => session.signOut(), signIn: () => session.showSignIn() }),
    [session, viewer],
  );
  return (
    <Provider value={connection.client}>
      <LiveContext.Provider value={connection.live}>
        <ViewerContext.Provider value={value}>
          <ViewerRefresh session={session} />
          <App />
        </ViewerContext.Provider>
      </LiveContext.Provider>
    </Provider>
  );
}

/** A role may change (or a session end) while the socket was down: ask again. */
function ViewerRefresh({ session }: { session: Session }) {
  useOnReconnect(() => void session.check());
  return null;
}
