// React access to who is signed in, and to signing out.
//
// Pages read the viewer from here to hide or disable what it may not do;
// the server checks every action again, so this is for people, not security.

import { createContext, useContext } from 'react';
import type { Viewer } from '../graphql/session';
import type { Problem } from '../lib/errors';

export interface ViewerContextValue {
  viewer: Viewer;
  /** Ends the session on the server; resolves to a problem when it could not. */
  signOut(): Promise<Problem | null>;
  /** Leaves a read-only anonymous view for the sign-in screen. */
  signIn(): void;
}

export const ViewerContext = createContext<ViewerContextValue | null>(null);

function useViewerContext(): ViewerContextValue {
  const value = useContext(ViewerContext);
  if (!value) throw new Error('useViewer outside a signed-in tree (no ViewerContext)');
  return value;
}

export function useViewer(): Viewer {
  return useViewerContext().viewer;
}

export function useSessionActions(): Pick<ViewerContextValue, 'signOut' | 'signIn'> {
  const { signOut, signIn } = useViewerContext();
  return { signOut, signIn };
}
