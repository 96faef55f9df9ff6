// Subscribes to a GraphQL subscription and hands each pushed result to a
// callback, exactly once. (urql's useSubscription folds events through a
// state updater, which may run twice; live lists need every event once.)

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, CombinedError } from '@urql/core';
import { useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';

export function useLiveEvents<Data, Vars extends AnyVariables>(
  query: TypedDocumentNode<Data, Vars>,
  variables: Vars,
  onData: (data: Data) => void,
  options: { pause?: boolean } = {},
): { error: CombinedError | undefined } {
  const client = useClient();
  const callback = useRef(onData);
  callback.current = onData;
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
    return unsubscribe;
  }, [client, query, key, pause]);

  return { error };
}
