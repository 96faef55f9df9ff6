// React access to the subscription socket's state.

import { createContext, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import { LiveStatus, type LiveState } from '../graphql/client';

export const LiveContext = createContext<LiveStatus>(new LiveStatus());

export function useLiveState(): LiveState {
  const live = useContext(LiveContext);
  return useSyncExternalStore(live.subscribe, () => live.current, () => live.current);
}

/** Calls `onReconnect` after the socket came back (not on the first connect). */
export function useOnReconnect(onReconnect: () => void): void {
  const live = useContext(LiveContext);
  const count = useSyncExternalStore(live.subscribe, () => live.reconnectCount, () => live.reconnectCount);
  const callback = useRef(onReconnect);
  callback.current = onReconnect;
  const first = useRef(count);
  useEffect(() => {
    if (count !== first.current) callback.current();
  }, [count]);
}
