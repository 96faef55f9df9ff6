// Catches claims, the one status change that is not pushed.
//
// `workflowEvents` pushes every recorded change (created, retrying,
// completed, failed, cancelled, retried, released), but a worker claiming a
// pending workflow (PENDING → RUNNING) is not an event. So while something
// shown is PENDING, this re-reads once shortly after its `runAfter` is due,
// then backs off (0.75 s, 1.5 s, 3 s, … up to 20 s) while nothing changes,
// as happens when every worker is busy. Nothing pending, no timer: RUNNING
// needs no watching, because its end is pushed.

import { useEffect, useRef, useState } from 'react';
import { nextClaimCheck } from '../lib/liveWorkflows';

export interface Claimable {
  id: string;
  runAfter?: string | null | undefined;
}

export function useClaimWatch(pending: readonly Claimable[], reread: () => void): void {
  const key = pending.map((p) => `${p.id}@${p.runAfter ?? ''}`).join(',');
  const [tries, setTries] = useState({ key, n: 0 });
  const n = tries.key === key ? tries.n : 0;
  const latest = useRef({ pending, reread });
  latest.current = { pending, reread };

  useEffect(() => {
    const delay = nextClaimCheck(latest.current.pending, Date.now(), n);
    if (delay === null) return;
    const t = window.setTimeout(() => {
      if (document.visibilityState !== 'hidden') latest.current.reread();
      setTries({ key, n: n + 1 });
    }, delay);
    return () => window.clearTimeout(t);
  }, [key, n]);
}
