import { act, renderHook } from '@testing-library/react';
import type { Client } from '@urql/core';
import { parse } from 'graphql';
import type { ReactNode } from 'react';
import { Provider } from 'urql';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CATCH_UP_MS, useLiveEvents } from './useLiveEvents';

const Doc = parse('subscription { workflowEvents { kind } }');

function fakeClient(unsubscribe: () => void) {
  const subscription = vi.fn(() => ({ subscribe: () => ({ unsubscribe }) }));
  return { client: { subscription } as unknown as Client, subscription };
}

describe('useLiveEvents', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('re-reads once after subscribing, to cover events committed before the server registered it', () => {
    const unsubscribe = vi.fn();
    const { client } = fakeClient(unsubscribe);
    const catchUp = vi.fn();
    const wrapper = ({ children }: { children: ReactNode }) => <Provider value={client}>{children}</Provider>;
    const { unmount } = renderHook(() => useLiveEvents(Doc, {}, () => {}, { catchUp }), { wrapper });
    act(() => vi.advanceTimersByTime(CATCH_UP_MS - 1));
    expect(catchUp).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(1));
    expect(catchUp).toHaveBeenCalledTimes(1);
    act(() => vi.advanceTimersByTime(CATCH_UP_MS * 10));
    expect(catchUp).toHaveBeenCalledTimes(1);
    unmount();
    expect(unsubscribe).toHaveBeenCalledTimes(1);
  });

  it('does not re-read after an unmount that came first, nor while paused', () => {
    const { client, subscription } = fakeClient(() => {});
    const catchUp = vi.fn();
    const wrapper = ({ children }: { children: ReactNode }) => <Provider value={client}>{children}</Provider>;
    const paused = renderHook(() => useLiveEvents(Doc, {}, () => {}, { catchUp, pause: true }), { wrapper });
    expect(subscription).not.toHaveBeenCalled();
    paused.unmount();
    const { unmount } = renderHook(() => useLiveEvents(Doc, {}, () => {}, { catchUp }), { wrapper });
    unmount();
    act(() => vi.advanceTimersByTime(CATCH_UP_MS * 2));
    expect(catchUp).not.toHaveBeenCalled();
  });
});
