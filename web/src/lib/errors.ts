// The one place that maps the server's `extensions.code` to what the user
// sees. Pages never look at codes themselves: they ask for the problems of
// an error and render them with <ProblemNotice>, <NotFound> or field errors.
//
// The codes are the server's closed table (README, "Errors").

import type { CombinedError } from '@urql/core';

export type ProblemKind =
  | 'not-found'
  | 'conflict'
  | 'bad-input'
  | 'unauthenticated'
  | 'forbidden'
  | 'internal'
  | 'out-of-date'
  | 'network'
  | 'rate-limited'
  | 'unknown';

export interface Problem {
  kind: ProblemKind;
  /** A short heading a person can act on. */
  title: string;
  /** The server's message (already written for people), or ours. */
  message: string;
  /** For `bad-input`: the offending field as the server names it, e.g. `input.prompt`. */
  field?: string;
  /** For `conflict` on a decision: who decided it and when, and the artifact's version now. */
  decidedBy?: string;
  decidedAt?: string;
  currentVersion?: number;
  /** For `rate-limited`: seconds until the server takes the request again. */
  retryAfterSeconds?: number;
}

/** The closed table: server code → kind and heading. */
export const CODE_TABLE: Record<string, { kind: ProblemKind; title: string }> = {
  NOT_FOUND: { kind: 'not-found', title: 'Not found' },
  CONFLICT: { kind: 'conflict', title: 'Someone else got there first' },
  BAD_USER_INPUT: { kind: 'bad-input', title: 'Please check the input' },
  UNAUTHENTICATED: { kind: 'unauthenticated', title: 'Sign-in required' },
  FORBIDDEN: { kind: 'forbidden', title: 'Not allowed' },
  INTERNAL_SERVER_ERROR: { kind: 'internal', title: 'The server hit an error' },
  GRAPHQL_VALIDATION_FAILED: {
    kind: 'out-of-date',
    title: 'This app is out of date with the server; reload the page',
  },
  // The server is up but its database is not (a restart): like a network
  // failure, nothing was done and trying again shortly will do.
  UNAVAILABLE: {
    kind: 'network',
    title: 'The server cannot reach its database; try again in a moment',
  },
  // Too many runs or decisions by this person in a short time: nothing was
  // done, and the same request works after `retryAfterSeconds` (the title
  // says how long, see `rateLimitTitle`).
  RATE_LIMITED: { kind: 'rate-limited', title: 'Too many requests; try again in a moment' },
};

/**
 * "Too many decisions, retry in 12 s": what was limited, from the server's
 * message ("too many decisions: at most …"), and when to try again.
 */
export function rateLimitTitle(message: string, retryAfterSeconds: number | undefined): string {
  const what = /^too many (\w+)/i.exec(message)?.[1]?.toLowerCase() ?? 'requests';
  if (retryAfterSeconds === undefined) return `Too many ${what}; try again in a moment`;
  return `Too many ${what}, retry in ${retryAfterSeconds} s`;
}

interface ErrorLike {
  message: string;
  extensions?: Readonly<Record<string, unknown>> | undefined;
}

export function problemOfGraphQLError(e: ErrorLike): Problem {
  const code = e.extensions?.code;
  const entry = typeof code === 'string' ? CODE_TABLE[code] : undefined;
  const problem: Problem = {
    kind: entry?.kind ?? 'unknown',
    title: entry?.title ?? 'Something went wrong',
    message: e.message,
  };
  const ext = e.extensions;
  if (typeof ext?.field === 'string') problem.field = ext.field;
  if (typeof ext?.decidedBy === 'string') problem.decidedBy = ext.decidedBy;
  if (typeof ext?.decidedAt === 'string') problem.decidedAt = ext.decidedAt;
  if (typeof ext?.currentVersion === 'number') problem.currentVersion = ext.currentVersion;
  if (typeof ext?.retryAfterSeconds === 'number') problem.retryAfterSeconds = Math.max(1, Math.ceil(ext.retryAfterSeconds));
  if (problem.kind === 'rate-limited') problem.title = rateLimitTitle(e.message, problem.retryAfterSeconds);
  return problem;
}

/**
 * The problem of a failed `POST /auth/session` or `/auth/signout`: the body
 * is `{"error": {"code", "message"}}` with the same codes as GraphQL.
 */
export function problemOfAuthReply(status: number, body: unknown): Problem {
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const message = typeof error === 'object' && error !== null && 'message' in error ? error.message : undefined;
  const fallback =
    status === 401
      ? 'UNAUTHENTICATED'
      : status === 403
        ? 'FORBIDDEN'
        : status === 429
          ? 'RATE_LIMITED'
          : status === 503
            ? 'UNAVAILABLE'
            : 'INTERNAL_SERVER_ERROR';
  return problemOfGraphQLError({
    message: typeof message === 'string' ? message : `The server answered HTTP ${status}.`,
    extensions: { code: typeof code === 'string' ? code : fallback },
  });
}

/** A failed request that never got an answer (server down, offline). */
export function networkProblem(message: string): Problem {
  return {
    kind: 'network',
    title: 'Cannot reach the server',
    message: `${message}. Check the connection; the page retries when you reload or act again.`,
  };
}

/** Every problem an urql error carries, GraphQL errors first. */
export function problemsOf(error: CombinedError | undefined | null): Problem[] {
  if (!error) return [];
  const problems = error.graphQLErrors.map(problemOfGraphQLError);
  if (error.networkError) problems.push(networkProblem(error.networkError.message));
  if (problems.length === 0) {
    problems.push({ kind: 'unknown', title: 'Something went wrong', message: error.message });
  }
  return problems;
}

export function hasProblem(error: CombinedError | undefined | null, kind: ProblemKind): boolean {
  return problemsOf(error).some((p) => p.kind === kind);
}

/**
 * Splits problems into messages for form fields and the rest.
 * `fieldOf` maps the server's field name (e.g. `input.prompt`) to a form
 * field, or returns undefined when the form has no such field.
 */
export function splitFieldErrors(
  problems: Problem[],
  fieldOf: (serverField: string) => string | undefined,
): { fields: Record<string, string>; rest: Problem[] } {
  const fields: Record<string, string> = {};
  const rest: Problem[] = [];
  for (const p of problems) {
    const name = p.kind === 'bad-input' && p.field !== undefined ? fieldOf(p.field) : undefined;
    if (name !== undefined) {
      // The server prefixes its message with the field ("input.prompt: …").
      const prefix = `${p.field ?? ''}: `;
      const text = p.message.startsWith(prefix) ? p.message.slice(prefix.length) : p.message;
      fields[name] = text.charAt(0).toUpperCase() + text.slice(1);
    } else rest.push(p);
  }
  return { fields, rest };
}
