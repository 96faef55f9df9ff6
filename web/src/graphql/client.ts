// The urql client: queries and mutations over same-origin `POST /graphql`,
// subscriptions over graphql-ws on the same path (`ws(s)://host/graphql`).
//
// The server starts each subscription at "now": events committed while the
// socket was down are not replayed to a new subscription. So the socket's
// state is published here, and live pages refetch when it reconnects.
//
// A client belongs to one sign-in (graphql/session.ts creates it after the
// session cookie is set, so the socket's upgrade request carries it, and
// disposes it on sign-out). Any answer `UNAUTHENTICATED`, and a socket
// closed with 4403, are reported to the session.

import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, type Exchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { hasProblem } from '../lib/errors';

/** The app's client while signed in. */
export interface Connection {
  client: Client;
  live: LiveStatus;
  dispose(): void;
}

export interface ConnectionHooks {
  /** A request was answered `UNAUTHENTICATED`. */
  onUnauthenticated(): void;
  /** The socket was closed with 4403 (missing, bad or revoked credential). */
  onSocketRefused(): void;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting';

type Listener = () => void;

/** The socket's state, as an external store for useSyncExternalStore. */
export class LiveStatus {
  private state: LiveState = 'connecting';
  /** Bumped on every reconnect after the first connection. */
  private reconnects = 0;
  private listeners = new Set<Listener>();

  get current(): LiveState {
    return this.state;
  }

  get reconnectCount(): number {
    return this.reconnects;
  }

  set(state: LiveState, reconnected = false): void {
    if (reconnected) this.reconnects++;
    if (state === this.state && !reconnected) return;
    this.state = state;
    for (const l of this.listeners) l();
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

export function websocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}

/** The close code the server uses for a missing, bad or revoked credential. */
export const SOCKET_FORBIDDEN = 4403;

function closeCode(event: unknown): number | undefined {
  return typeof event === 'object' && event !== null && 'code' in event && typeof event.code === 'number'
    ? event.code
    : undefined;
}

/** Reports any answer `UNAUTHENTICATED` (the session ended) to the session. */
export function unauthenticatedExchange(onUnauthenticated: () => void): Exchange {
  return mapExchange({
    onError(error) {
      if (hasProblem(error, 'unauthenticated')) onUnauthenticated();
    },
  });
}

export function createBatonClient(hooks: ConnectionHooks): Connection & { ws: WsClient } {
  const live = new LiveStatus();
  let connectedBefore = false;
  const ws = createWsClient({
    url: websocketUrl(window.location),
    // Keep one socket for the app's life, and keep trying: a reviewer's tab
    // stays open for hours and the server restarts now and then.
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    on: {
      connected: () => {
        live.set('live', connectedBefore);
        connectedBefore = true;
      },
      closed: (event) => {
        live.set(connectedBefore ? 'reconnecting' : 'connecting');
        if (closeCode(event) === SOCKET_FORBIDDEN) hooks.onSocketRefused();
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    exchanges: [
      unauthenticatedExchange(hooks.onUnauthenticated),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    // Pages decide freshness themselves; review data must never be stale.
    requestPolicy: 'cache-and-network',
    // POST for everything: a GET of /graphql from a browser may be answered
    // with GraphiQL, and long documents stay out of URLs and logs.
    preferGetMethod: false,
  });
  return { client, live, ws, dispose: () => void ws.dispose() };
}
