// Subscribes to a GraphQL subscription and hands each pushed result to a
// callback, exactly once. (urql's useSubscription folds events through a
// state updater, which may run twice; live lists need every event once.)

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, CombinedError } from '@urql/core';
import { useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';

/**
 * How long after subscribing `catchUp` runs. The server starts a
 * subscription when its `subscribe` message arrives, not when the page read
 * its data: an event committed in between is not pushed. One re-read after
 * the subscription is surely registered closes that window.
 */
export const CATCH_UP_MS = 500;

export function useLiveEvents<Data, Vars extends AnyVariables>(
  query: TypedDocumentNode<Data, Vars>,
  variables: Vars,
  onData: (data: Data) => void,
  options: { pause?: boolean; catchUp?: () => void } = {},
): { error: CombinedError | undefined } {
  const client = useClient();
  const callback = useRef(onData);
  callback.current = onData;
  const catchUp = useRef(options.catchUp);
  catchUp.current = options.catchUp;
  const [error, setError] = useState<CombinedError | undefined>(undefined);
  const key = JSON.stringify(variables);
  const pause = options.pause ?? false;

  useEffect(() => {
    if (pause) return;
    const vars = JSON.parse(key) as Vars;
    const { unsubscribe } = client.subscription(query, vars).subscribe((result) => {
      if (result.error) setError(result.error);
      else setError(undefined);
      if (result.data) callback.current(result.data);
    });
    const timer = setTimeout(() => catchUp.current?.(), CATCH_UP_MS);
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [client, query, key, pause]);

  return { error };
}
