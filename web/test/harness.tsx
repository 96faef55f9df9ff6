// Renders app pages against a real urql client whose transport is faked:
// HTTP operations are answered by per-operation handlers, subscriptions are
// pushed by the test. Everything above the transport (documents, the error
// mapping, the pages) is the real code.

import { render, type RenderResult } from '@testing-library/react';
import { Client, fetchExchange, subscriptionExchange, type Exchange, type ExecutionResult } from '@urql/core';
import type { ReactElement } from 'react';
import { Provider } from 'urql';
import type { Viewer } from '../src/graphql/session';
import { ViewerContext, type ViewerContextValue } from '../src/hooks/viewer';

export interface GraphQLReply {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export type Handler = (variables: Record<string, unknown>) => GraphQLReply;

type Role = Viewer['role'];

/** A signed-in viewer as the server describes one with this role. */
export function viewerAs(role: Role, name = role === 'ADMIN' ? 'ada' : role.toLowerCase()): Viewer {
  const rank = ['VIEWER', 'SUBMITTER', 'REVIEWER', 'ADMIN'].indexOf(role);
  return {
    name,
    role,
    method: 'SESSION',
    tokenName: null,
    canSubmit: rank >= 1,
    canReview: rank >= 2,
    isAdmin: rank >= 3,
    user: { id: `user-${name}`, email: null },
  };
}

interface Sink {
  next(value: ExecutionResult): void;
  error(err: unknown): void;
  complete(): void;
}

export interface FakeServer {
  /** Operations sent over HTTP, in order. */
  calls: { operationName: string; variables: Record<string, unknown> }[];
  /** Pushes one event to every open subscription of that operation. */
  push(operationName: string, data: unknown): void;
  /** Open subscriptions by operation name. */
  openSubscriptions(): string[];
  /** Answers GraphQL over HTTP from the handlers. */
  fetch: typeof fetch;
  /** A client on that transport (subscriptions are pushed by the test). */
  client: Client;
}

export type Harness = RenderResult & Omit<FakeServer, 'fetch' | 'client'>;

/** GraphQL answered by per-operation handlers, and subscriptions the test pushes. */
export function fakeServer(handlers: Record<string, Handler>, before: Exchange[] = []): FakeServer {
  const calls: FakeServer['calls'] = [];
  const subs = new Set<{ name: string; sink: Sink }>();

  const fakeFetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let body: { operationName: string; variables?: Record<string, unknown> };
    if (init?.body !== undefined && init.body !== null) {
      body = JSON.parse(String(init.body)) as typeof body;
    } else {
      const params = new URL(String(url), 'http://baton.test').searchParams;
      const vars = params.get('variables');
      body = {
        operationName: params.get('operationName') ?? '',
        variables: vars ? (JSON.parse(vars) as Record<string, unknown>) : {},
      };
    }
    const variables = body.variables ?? {};
    calls.push({ operationName: body.operationName, variables });
    const handler = handlers[body.operationName];
    const reply: GraphQLReply = handler
      ? handler(variables)
      : { errors: [{ message: `no test handler for ${body.operationName}` }] };
    return new Response(JSON.stringify(reply), { status: 200, headers: { 'content-type': 'application/json' } });
  };

  const client = new Client({
    url: 'http://baton.test/graphql',
    fetch: fakeFetch,
    requestPolicy: 'network-only',
    exchanges: [
      ...before,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          return {
            subscribe(sink: Sink) {
              const entry = { name: request.operationName ?? '', sink };
              subs.add(entry);
              return { unsubscribe: () => void subs.delete(entry) };
            },
          };
        },
      }),
    ],
  });

  return {
    calls,
    fetch: fakeFetch,
    client,
    push(operationName, data) {
      for (const s of subs) if (s.name === operationName) s.sink.next({ data } as ExecutionResult);
    },
    openSubscriptions: () => [...subs].map((s) => s.name),
  };
}

export function renderWithServer(
  ui: ReactElement,
  handlers: Record<string, Handler>,
  options: { path?: string; viewer?: Viewer; signOut?: ViewerContextValue['signOut'] } = {},
): Harness {
  if (options.path) window.history.replaceState(null, '', options.path);
  const server = fakeServer(handlers);
  const session: ViewerContextValue = {
    viewer: options.viewer ?? viewerAs('ADMIN'),
    signOut: options.signOut ?? (async () => null),
    signIn: () => {},
  };
  const result = render(
    <Provider value={server.client}>
      <ViewerContext.Provider value={session}>{ui}</ViewerContext.Provider>
    </Provider>,
  );
  return { ...result, calls: server.calls, push: server.push, openSubscriptions: server.openSubscriptions };
}
