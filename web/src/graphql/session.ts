// Who is signed in, as an external store the React tree reads.
//
// Invariants:
// - No credential ever lives in JS: the session is the HttpOnly cookie
//   `baton_session` that `POST /auth/session` sets; a pasted API token is
//   sent once and dropped; a sign-in code is read from the address and
//   removed from it once the server has answered.
// - The app's urql client (and its graphql-ws socket, whose upgrade request
//   the cookie authenticates) exists only while signed in: it is created on
//   sign-in and disposed on sign-out or when the server stops accepting the
//   session, so a socket never runs on a stale credential.
// - A sign-in code is posted at most once per page load (codes are
//   single-use), which is why this lives outside React's effects.
//
// The HTTP side follows the server's contract: `POST /auth/session` with
// `{code}` or `{token}`, `POST /auth/signout`, and the `viewer` query,
// null when not signed in.

import { Client, fetchExchange } from '@urql/core';
import { graphql } from '../gql';
import type { ViewerFieldsFragment } from '../gql/graphql';
import { hasProblem, networkProblem, problemOfAuthReply, problemsOf, type Problem } from '../lib/errors';
import type { Connection, ConnectionHooks } from './client';

export type { Connection, ConnectionHooks };

export const ViewerFields = graphql(`
  fragment ViewerFields on Viewer {
    name
    role
    method
    tokenName
    canSubmit
    canReview
    isAdmin
    user {
      id
      email
    }
  }
`);

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      ...ViewerFields
    }
  }
`);

export type Viewer = ViewerFieldsFragment;


export type SignedOutReason = 'not-signed-in' | 'signed-out' | 'session-ended' | 'link-failed';

export type SessionState =
  | { status: 'checking'; label: string }
  /** The server could not be asked (down, or answering errors). */
  | { status: 'unreachable'; problems: Problem[] }
  | { status: 'signed-out'; reason: SignedOutReason; problem: Problem | null }
  | { status: 'signed-in'; viewer: Viewer; connection: Connection; generation: number };

export interface SessionDeps {
  fetch: typeof fetch;
  location: { pathname: string; hash: string };
  /** Replaces the address without a history entry (and without a reload). */
  replaceUrl(url: string): void;
  connect(hooks: ConnectionHooks): Connection;
}

/** The code of a sign-in link, `…/signin#code=CODE`; undefined without one. */
export function readSignInCode(hash: string): string | undefined {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const code = params.get('code')?.trim();
  return code ? code : undefined;
}

type Listener = () => void;

export class Session {
  private state: SessionState = { status: 'checking', label: 'Checking who you are…' };
  private listeners = new Set<Listener>();
  private generation = 0;
  private started = false;
  private readonly http: Client;

  constructor(private readonly deps: SessionDeps) {
    // Only for `viewer`: no socket before we know the cookie is good.
    this.http = new Client({
      url: '/graphql',
      fetch: deps.fetch,
      exchanges: [fetchExchange],
      requestPolicy: 'network-only',
      preferGetMethod: false,
    });
  }

  get current(): SessionState {
    return this.state;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionState => this.state;

  private set(next: SessionState): void {
    const prev = this.state;
    if (prev.status === 'signed-in' && (next.status !== 'signed-in' || next.connection !== prev.connection)) {
      prev.connection.dispose();
    }
    this.state = next;
    for (const l of this.listeners) l();
  }

  /** Runs once per page load: a sign-in link's code first, else who we are. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { pathname, hash } = this.deps.location;
    if (pathname === '/signin') {
      const code = readSignInCode(hash);
      if (code === undefined) {
        this.deps.replaceUrl('/');
        await this.check();
        return;
      }
      this.set({ status: 'checking', label: 'Signing you in…' });
      const problem = await this.post('/auth/session', { code });
      if (problem?.kind === 'network') {
        // Keep the code in the address: reloading tries again.
        this.set({ status: 'unreachable', problems: [problem] });
        return;
      }
      // The code is spent (or bad) either way: never leave it in the address.
      this.deps.replaceUrl('/');
      if (problem) {
        this.set({ status: 'signed-out', reason: 'link-failed', problem });
        return;
      }
    }
    await this.check();
  }

  /** After the server could not be reached: start over (a sign-in code still in the address is tried again). */
  async retry(): Promise<void> {
    this.started = false;
    await this.start();
  }

  /** Asks the server who we are and (re)connects accordingly. */
  async check(): Promise<void> {
    if (this.state.status !== 'signed-in') this.set({ status: 'checking', label: 'Checking who you are…' });
    const result = await this.http.query(ViewerQuery, {}).toPromise();
    const viewer = result.data?.viewer;
    if (viewer) {
      this.signedIn(viewer);
      return;
    }
    if ((result.data && viewer === null) || hasProblem(result.error, 'unauthenticated')) {
      const ended = this.state.status === 'signed-in';
      this.set({ status: 'signed-out', reason: ended ? 'session-ended' : 'not-signed-in', problem: null });
      return;
    }
    // Answers we cannot read keep a signed-in app as it is.
    if (this.state.status !== 'signed-in') this.set({ status: 'unreachable', problems: problemsOf(result.error) });
  }

  /** Signs in with a pasted API token; the token is not kept anywhere. */
  async signInWithToken(token: string): Promise<Problem | null> {
    const problem = await this.post('/auth/session', { token: token.trim() });
    if (problem) return problem;
    await this.check();
    return null;
  }

  async signOut(): Promise<Problem | null> {
    const problem = await this.post('/auth/signout', undefined);
    // Already signed out on the server is signed out.
    if (problem && problem.kind !== 'unauthenticated') return problem;
    this.set({ status: 'signed-out', reason: 'signed-out', problem: null });
    return null;
  }

  /** From a read-only anonymous view to the sign-in screen. */
  showSignIn(): void {
    this.set({ status: 'signed-out', reason: 'not-signed-in', problem: null });
  }

  private signedIn(viewer: Viewer): void {
    const prev = this.state;
    if (prev.status === 'signed-in' && prev.viewer.name === viewer.name) {
      // Same person (perhaps a changed role): keep the connection.
      this.set({ ...prev, viewer });
      return;
    }
    const generation = ++this.generation;
    const whenCurrent = (f: () => void) => () => {
      if (this.state.status === 'signed-in' && this.state.generation === generation) f();
    };
    const connection = this.deps.connect({
      onUnauthenticated: whenCurrent(() =>
        this.set({ status: 'signed-out', reason: 'session-ended', problem: null }),
      ),
      onSocketRefused: whenCurrent(() => void this.check()),
    });
    this.set({ status: 'signed-in', viewer, connection, generation });
  }

  /** POSTs JSON (or nothing) same-origin; null when the server said yes. */
  private async post(path: string, body: unknown): Promise<Problem | null> {
    let response: Response;
    try {
      response = await this.deps.fetch(path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (e) {
      return networkProblem(e instanceof Error ? e.message : String(e));
    }
    if (response.ok) return null;
    let json: unknown = null;
    try {
      json = await response.json();
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    return problemOfAuthReply(response.status, json);
  }
}
