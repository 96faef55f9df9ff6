import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CODE_TABLE, hasProblem, problemOfAuthReply, problemsOf, rateLimitTitle, splitFieldErrors } from './errors';

const gqlError = (message: string, extensions: Record<string, unknown>) =>
  new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions })] });

describe('problemsOf', () => {
  it.each([
    ['NOT_FOUND', 'not-found'],
    ['CONFLICT', 'conflict'],
    ['BAD_USER_INPUT', 'bad-input'],
    ['UNAUTHENTICATED', 'unauthenticated'],
    ['FORBIDDEN', 'forbidden'],
    ['INTERNAL_SERVER_ERROR', 'internal'],
    ['GRAPHQL_VALIDATION_FAILED', 'out-of-date'],
    ['UNAVAILABLE', 'network'],
    ['RATE_LIMITED', 'rate-limited'],
    ['SOMETHING_NEW', 'unknown'],
  ])('maps %s to %s', (code, kind) => {
    const [p] = problemsOf(gqlError('msg', { code }));
    expect(p?.kind).toBe(kind);
    expect(p?.message).toBe('msg');
  });

  it('covers every code of the server table', () => {
    expect(Object.keys(CODE_TABLE).sort()).toEqual(
      [
        'BAD_USER_INPUT',
        'CONFLICT',
        'FORBIDDEN',
        'GRAPHQL_VALIDATION_FAILED',
        'INTERNAL_SERVER_ERROR',
        'NOT_FOUND',
        'UNAUTHENTICATED',
        'UNAVAILABLE',
        'RATE_LIMITED',
      ].sort(),
    );
  });

  it('keeps the field of a bad input', () => {
    const [p] = problemsOf(gqlError('input.prompt: too short', { code: 'BAD_USER_INPUT', field: 'input.prompt' }));
    expect(p).toMatchObject({ kind: 'bad-input', field: 'input.prompt' });
  });

  it('reports network errors', () => {
    const [p] = problemsOf(new CombinedError({ networkError: new Error('Failed to fetch') }));
    expect(p?.kind).toBe('network');
    expect(p?.message).toMatch(/Failed to fetch/);
  });

  it('answers nothing for no error', () => {
    expect(problemsOf(undefined)).toEqual([]);
    expect(hasProblem(null, 'conflict')).toBe(false);
  });

  it('keeps who decided a conflicting decision, when, and the version now', () => {
    const [p] = problemsOf(
      gqlError('already approved', { code: 'CONFLICT', decidedBy: 'ana', decidedAt: '2026-11-25T10:00:00Z', currentVersion: 3 }),
    );
    expect(p).toMatchObject({ kind: 'conflict', decidedBy: 'ana', decidedAt: '2026-11-25T10:00:00Z', currentVersion: 3 });
  });

  it('says what was rate-limited and when to retry', () => {
    const [p] = problemsOf(
      gqlError(
        'too many decisions: at most 600 per minute (bursts of 300) per caller (BATON_RATE_DECISIONS_PER_MIN); retry in 12s',
        { code: 'RATE_LIMITED', retryAfterSeconds: 12 },
      ),
    );
    expect(p).toMatchObject({ kind: 'rate-limited', retryAfterSeconds: 12, title: 'Too many decisions, retry in 12 s' });
    expect(p?.message).toMatch(/BATON_RATE_DECISIONS_PER_MIN/);

    const [runs] = problemsOf(gqlError('too many runs: at most 1 per minute', { code: 'RATE_LIMITED', retryAfterSeconds: 59.2 }));
    expect(runs?.title).toBe('Too many runs, retry in 60 s');
  });

  it('still words a rate limit without a retry time or a known message', () => {
    expect(rateLimitTitle('slow down', undefined)).toBe('Too many requests; try again in a moment');
    const [p] = problemsOf(gqlError('slow down', { code: 'RATE_LIMITED' }));
    expect(p).toMatchObject({ kind: 'rate-limited', title: 'Too many requests; try again in a moment' });
    expect(p?.retryAfterSeconds).toBeUndefined();
  });

  it('tells an unreachable database apart from a bug', () => {
    const [p] = problemsOf(gqlError('the database is unavailable right now; retry later', { code: 'UNAVAILABLE' }));
    expect(p).toMatchObject({ kind: 'network', title: 'The server cannot reach its database; try again in a moment' });
    expect(hasProblem(gqlError('x', { code: 'UNAVAILABLE' }), 'internal')).toBe(false);
  });

  it('tells a conflict apart', () => {
    expect(hasProblem(gqlError('already approved', { code: 'CONFLICT' }), 'conflict')).toBe(true);
  });
});

describe('splitFieldErrors', () => {
  it('puts known fields next to their input, without the path prefix, and keeps the rest', () => {
    const problems = problemsOf(
      new CombinedError({
        graphQLErrors: [
          new GraphQLError('input.prompt: must be at least 1 character long, not 0', {
            extensions: { code: 'BAD_USER_INPUT', field: 'input.prompt' },
          }),
          new GraphQLError('input.other: nope', { extensions: { code: 'BAD_USER_INPUT', field: 'input.other' } }),
          new GraphQLError('internal error (id 7)', { extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
        ],
      }),
    );
    const { fields, rest } = splitFieldErrors(problems, (f) => (f === 'input.prompt' ? 'prompt' : undefined));
    expect(fields).toEqual({ prompt: 'Must be at least 1 character long, not 0' });
    expect(rest.map((p) => p.kind)).toEqual(['bad-input', 'internal']);
  });
});

describe('problemOfAuthReply', () => {
  it('reads the error body of /auth/session', () => {
    const p = problemOfAuthReply(401, { error: { code: 'UNAUTHENTICATED', message: 'this sign-in link has expired' } });
    expect(p).toMatchObject({ kind: 'unauthenticated', message: 'this sign-in link has expired' });
  });

  it('falls back on the status when the body is not the server’s', () => {
    expect(problemOfAuthReply(401, null).kind).toBe('unauthenticated');
    expect(problemOfAuthReply(502, '<html>').kind).toBe('internal');
    expect(problemOfAuthReply(503, null).kind).toBe('network');
    expect(problemOfAuthReply(429, null).kind).toBe('rate-limited');
  });
});
