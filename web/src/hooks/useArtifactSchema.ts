// The `artifactSchema` of the declared type version a workflow ran with
// (`workflowType(name, version: typeVersion)`), for reading its artifacts
// by their schema titles. Built-in types (no `typeVersion`) have none and
// are not asked about: their artifacts keep their own views.

import { useQuery } from 'urql';
import { graphql } from '../gql';

const ArtifactSchemaQuery = graphql(`
  query ArtifactSchema($name: String!, $version: Int) {
    workflowType(name: $name, version: $version) {
      name
      version
      artifactSchema
    }
  }
`);

export interface ArtifactSchema {
  /** The schema, or undefined when there is none (or it could not be read: the raw view serves). */
  schema: unknown;
  /** Still asking: show a placeholder rather than the raw view for a moment. */
  loading: boolean;
}

export function useArtifactSchema(type: string, typeVersion: number | null | undefined): ArtifactSchema {
  const declared = typeVersion !== null && typeVersion !== undefined;
  const [{ data, fetching, operation }] = useQuery({
    query: ArtifactSchemaQuery,
    variables: { name: type, version: typeVersion ?? null },
    pause: !declared,
  });
  if (!declared) return { schema: undefined, loading: false };
  const current = operation?.variables.name === type && operation.variables.version === typeVersion;
  const found = current ? data?.workflowType : undefined;
  return {
    schema: found?.artifactSchema ?? undefined,
    loading: fetching && !found,
  };
}
