// Signing in and out against a faked server: `POST /auth/session` and
// `/auth/signout` answered by a fake fetch, GraphQL by the page harness.
// The session (src/graphql/session.ts), the sign-in screen and the app
// shell are the real code.

import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { LiveStatus, unauthenticatedExchange } from '../src/graphql/client';
import { Session, readSignInCode, type Connection, type ConnectionHooks } from '../src/graphql/session';
import { Root } from '../src/Root';
import { navigate } from '../src/router';
import { fakeServer, viewerAs, type GraphQLReply } from './harness';

type Role = 'VIEWER' | 'SUBMITTER' | 'REVIEWER' | 'ADMIN';

async function setup(
  options: {
    path?: string;
    signedInAs?: { name: string; role: Role } | null;
    codes?: Record<string, { name: string; role: Role }>;
    tokens?: Record<string, { name: string; role: Role }>;
    queue?: () => GraphQLReply;
  } = {},
) {
  if (options.path) window.history.replaceState(null, '', options.path);
  let current = options.signedInAs ?? null;
  const codes = { ...options.codes };
  const tokens = { ...options.tokens };
  const posts: { path: string; body: unknown; credentials: RequestCredentials | undefined }[] = [];
  const hooks: ConnectionHooks[] = [];
  const disposed: number[] = [];

  let onUnauthenticated = () => {};
  const gql = fakeServer(
    {
      Viewer: () => ({ data: { viewer: current ? viewerAs(current.role, current.name) : null } }),
      PendingApprovals: options.queue ?? (() => ({
        data: { pendingApprovals: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } },
      })),
    },
    [unauthenticatedExchange(() => onUnauthenticated())],
  );

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = String(input);
    if (path === '/auth/session') {
      const body = JSON.parse(String(init?.body)) as { code?: string; token?: string };
      posts.push({ path, body, credentials: init?.credentials });
      const who = body.code !== undefined ? codes[body.code] : body.token !== undefined ? tokens[body.token] : undefined;
      if (body.code !== undefined) delete codes[body.code]; // single-use
      if (!who) {
        const message = body.code !== undefined ? 'this sign-in link was already used or has expired' : 'unknown or revoked API token';
        return json(401, { error: { code: 'UNAUTHENTICATED', message } });
      }
      current = who;
      return json(200, who);
    }
    if (path === '/auth/signout') {
      posts.push({ path, body: null, credentials: init?.credentials });
      current = null;
      return new Response(null, { status: 204 });
    }
    return gql.fetch(input, init);
  });

  const session = new Session({
    fetch,
    location: window.location,
    replaceUrl: (url) => navigate(url, { replace: true }),
    connect: (h): Connection => {
      hooks.push(h);
      onUnauthenticated = h.onUnauthenticated;
      const n = hooks.length;
      return { client: gql.client, live: new LiveStatus(), dispose: () => disposed.push(n) };
    },
  });
  render(<Root session={session} />);
  await act(() => session.start());
  return {
    session,
    posts,
    hooks,
    disposed,
    fetch,
    endSessionOnServer: () => {
      current = null;
    },
  };
}

describe('readSignInCode', () => {
  it('reads the code from a link fragment', () => {
    expect(readSignInCode('#code=abc123')).toBe('abc123');
    expect(readSignInCode('#code=')).toBeUndefined();
    expect(readSignInCode('')).toBeUndefined();
    expect(readSignInCode('#other=1&code=x%2By')).toBe('x+y');
  });
});

describe('sign-in', () => {
  it('shows the sign-in screen when nobody is signed in, and signs in with a pasted token', async () => {
    const user = userEvent.setup();
    const t = await setup({ path: '/', tokens: { baton_good: { name: 'ana', role: 'REVIEWER' } } });
    await screen.findByRole('heading', { name: 'Sign in to Baton' });
    // It says how to get in, including the link printed on first start.
    expect(screen.getByText(/prints a/).textContent).toContain('sign in:');
    expect(t.hooks).toHaveLength(0); // no socket before sign-in

    const input = screen.getByLabelText('API token');
    await user.type(input, 'baton_bad');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    const error = await screen.findByText(/unknown or revoked API token/);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toContain(error.id);
    expect((input as HTMLInputElement).value).toBe('');

    await user.type(input, 'baton_good');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    const identity = await screen.findByTestId('identity');
    expect(identity.textContent).toContain('ana');
    expect(identity.textContent).toContain('Reviewer');
    expect(t.posts.map((p) => p.body)).toEqual([{ token: 'baton_bad' }, { token: 'baton_good' }]);
    expect(t.posts.every((p) => p.credentials === 'same-origin')).toBe(true);
    expect(t.hooks).toHaveLength(1); // the client (and its socket) made after sign-in
    // Nothing kept in the browser's storage.
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });

  it('exchanges a sign-in link code once, leaves /signin for /, and shows the app', async () => {
    const t = await setup({ path: '/signin#code=good-code', codes: { 'good-code': { name: 'admin', role: 'ADMIN' } } });
    const identity = await screen.findByTestId('identity');
    expect(identity.textContent).toContain('admin');
    expect(window.location.pathname).toBe('/');
    expect(window.location.hash).toBe('');
    expect(t.posts.map((p) => p.body)).toEqual([{ code: 'good-code' }]);
    // Admins see the Admin entry.
    expect(screen.getByRole('link', { name: 'Admin' })).toBeTruthy();
    // Starting again (a second effect run, say) never posts the code twice.
    await act(() => t.session.start());
    expect(t.posts).toHaveLength(1);
  });

  it('says clearly when a link did not work, and offers the token form', async () => {
    const t = await setup({ path: '/signin#code=spent' });
    const notice = await screen.findByTestId('link-failed');
    expect(within(notice).getByText('That sign-in link did not work.')).toBeTruthy();
    expect(within(notice).getByText('this sign-in link was already used or has expired')).toBeTruthy();
    expect(screen.getByLabelText('API token')).toBeTruthy();
    // The spent code does not stay in the address.
    expect(window.location.pathname).toBe('/');
    expect(window.location.hash).toBe('');
    expect(t.posts.map((p) => p.body)).toEqual([{ code: 'spent' }]);
  });

  it('signs out: the session ends on the server, the socket closes, the sign-in screen shows', async () => {
    const user = userEvent.setup();
    const t = await setup({ path: '/', signedInAs: { name: 'ana', role: 'REVIEWER' } });
    await screen.findByTestId('identity');
    // Reviewers do not see Admin; they do see Start.
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
    expect(screen.getByRole('link', { name: 'Start' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    await screen.findByText('You are signed out.');
    expect(t.posts.map((p) => p.path)).toEqual(['/auth/signout']);
    expect(t.disposed).toEqual([1]);
  });

  it('shows the sign-in screen when a request answers UNAUTHENTICATED', async () => {
    let ended = false;
    const t = await setup({
      path: '/',
      signedInAs: { name: 'ana', role: 'REVIEWER' },
      queue: () =>
        ended
          ? { data: null, errors: [{ message: 'sign in first', extensions: { code: 'UNAUTHENTICATED' } }] }
          : { data: { pendingApprovals: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } } },
    });
    await screen.findByText('No pending approvals');
    ended = true;
    t.endSessionOnServer();
    // Anything asked now is refused: the queue's next read, say (a filter change).
    act(() => navigate('/?type=draft'));
    await screen.findByText('Your session has ended.');
    expect(t.disposed).toEqual([1]);
  });

  it('asks again who we are when the socket is refused (4403), and signs out if nobody', async () => {
    const t = await setup({ path: '/', signedInAs: { name: 'ana', role: 'REVIEWER' } });
    await screen.findByTestId('identity');
    // Still signed in: nothing changes.
    await act(async () => t.hooks[0]?.onSocketRefused());
    await waitFor(() => expect(t.fetch.mock.calls.filter(([u]) => String(u) === '/graphql').length).toBeGreaterThan(1));
    expect(screen.getByTestId('identity')).toBeTruthy();
    // Revoked on the server: the sign-in screen.
    t.endSessionOnServer();
    await act(async () => t.hooks[0]?.onSocketRefused());
    await screen.findByText('Your session has ended.');
  });
});
