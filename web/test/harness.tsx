// Renders app pages against a real urql client whose transport is faked:
// HTTP operations are answered by per-operation handlers, subscriptions are
// pushed by the test. Everything above the transport (documents, the error
// mapping, the pages) is the real code.

import { render, type RenderResult } from '@testing-library/react';
import { Client, fetchExchange, subscriptionExchange, type ExecutionResult } from '@urql/core';
import type { ReactElement } from 'react';
import { Provider } from 'urql';

export interface GraphQLReply {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export type Handler = (variables: Record<string, unknown>) => GraphQLReply;

interface Sink {
  next(value: ExecutionResult): void;
  error(err: unknown): void;
  complete(): void;
}

export interface Harness extends RenderResult {
  /** Operations sent over HTTP, in order. */
  calls: { operationName: string; variables: Record<string, unknown> }[];
  /** Pushes one event to every open subscription of that operation. */
  push(operationName: string, data: unknown): void;
  /** Open subscriptions by operation name. */
  openSubscriptions(): string[];
}

export function renderWithServer(
  ui: ReactElement,
  handlers: Record<string, Handler>,
  options: { path?: string } = {},
): Harness {
  if (options.path) window.history.replaceState(null, '', options.path);
  const calls: Harness['calls'] = [];
  const subs = new Set<{ name: string; sink: Sink }>();

  const fakeFetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let body: { operationName: string; variables?: Record<string, unknown> };
    if (init?.body !== undefined && init.body !== null) {
      body = JSON.parse(String(init.body)) as typeof body;
    } else {
      const params = new URL(String(url)).searchParams;
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

  const result = render(<Provider value={client}>{ui}</Provider>);
  return {
    ...result,
    calls,
    push(operationName, data) {
      for (const s of subs) if (s.name === operationName) s.sink.next({ data } as ExecutionResult);
    },
    openSubscriptions: () => [...subs].map((s) => s.name),
  };
}
