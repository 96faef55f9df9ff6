import { useEffect, useRef } from 'react';

/** Runs `fn` every `ms` while `active` and the tab is visible. */
export function useInterval(fn: () => void, ms: number, active: boolean): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => {
      if (document.visibilityState !== 'hidden') ref.current();
    }, ms);
    return () => window.clearInterval(t);
  }, [ms, active]);
}
