// API tokens: for scripts and services (`Authorization: Bearer baton_…`).
// A token acts for a user or for a named service, with a role and an
// optional expiry. Its secret is shown once, when it is made; the server
// keeps only a hash, so a lost secret means a new token.

import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field, inputFieldOf } from '../../components/Field';
import { ProblemNotice } from '../../components/Problem';
import { SecretOnce } from '../../components/SecretOnce';
import { Empty, Loading } from '../../components/States';
import { graphql } from '../../gql';
import type { AdminTokenFragment, Role } from '../../gql/graphql';
import { useNow } from '../../hooks/useNow';
import { problemsOf, splitFieldErrors, type Problem } from '../../lib/errors';
import { formatDateTime, parseTime } from '../../lib/format';
import { isRole, roleDescription, roleLabel, ROLES } from '../../lib/policy';

export const AdminTokenFields = graphql(`
  fragment AdminToken on ApiToken {
    id
    name
    role
    user {
      id
      name
    }
    serviceName
    expiresAt
    lastUsedAt
    revokedAt
    createdAt
    createdBy
    active
  }
`);

const AdminTokensQuery = graphql(`
  query AdminTokens($includeRevoked: Boolean) {
    apiTokens(includeRevoked: $includeRevoked) {
      ...AdminToken
    }
    users {
      id
      name
      role
    }
  }
`);

const CreateTokenMutation = graphql(`
  mutation CreateToken($input: CreateTokenInput!) {
    createToken(input: $input) {
      token {
        ...AdminToken
      }
      secret
    }
  }
`);

const RevokeTokenMutation = graphql(`
  mutation RevokeToken($id: ID!) {
    revokeToken(id: $id) {
      ...AdminToken
    }
  }
`);

/** What a token's row says about it. */
export function tokenStatus(t: AdminTokenFragment, now: number): { label: string; tone: string } {
  if (t.revokedAt) return { label: 'Revoked', tone: 'rejected' };
  const expires = parseTime(t.expiresAt);
  if (expires !== undefined && expires <= now) return { label: 'Expired', tone: 'expired' };
  if (!t.active) return { label: 'Inactive (owner disabled)', tone: 'cancelled' };
  return { label: 'Active', tone: 'completed' };
}

export const EXPIRY_CHOICES: { label: string; seconds: number | null }[] = [
  { label: 'Never', seconds: null },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: '90 days', seconds: 90 * 86_400 },
  { label: '1 year', seconds: 365 * 86_400 },
];

export function TokensSection() {
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminTokensQuery, variables: { includeRevoked } });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [confirming, setConfirming] = useState<AdminTokenFragment | null>(null);
  const [revokeState, revoke] = useMutation(RevokeTokenMutation);
  const [problems, setProblems] = useState<Problem[]>([]);
  const now = useNow();
  const headingId = useId();

  const confirmRevoke = async () => {
    const token = confirming;
    if (!token) return;
    const result = await revoke({ id: token.id });
    setConfirming(null);
    if (result.error) setProblems(problemsOf(result.error));
    reload();
  };

  const tokens = data?.apiTokens ?? [];
  return (
    <div className="stack">
      <CreateTokenForm
        users={data?.users ?? []}
        onCreated={(name, value) => {
          setSecret({ name, value });
          reload();
        }}
      />
      {secret ? (
        <SecretOnce
          title={`The secret of token ${secret.name}`}
          label="Token secret"
          value={secret.value}
          testId="token-secret"
          onDone={() => setSecret(null)}
        >
          <p>
            <strong>Copy it now: it will not be shown again.</strong> Baton keeps only a hash of it. Whoever holds it can
            act with this token&rsquo;s role until it is revoked or expires.
          </p>
          <p>
            Scripts send it as <code>Authorization: Bearer …</code>; a person can paste it on the sign-in screen.
          </p>
        </SecretOnce>
      ) : null}
      <section className="stack-sm" aria-labelledby={headingId}>
        <div className="card-head">
          <h2 id={headingId}>Tokens</h2>
          <label className="field-inline">
            <input type="checkbox" checked={includeRevoked} onChange={(e) => setIncludeRevoked(e.target.checked)} />
            <span>Show revoked tokens</span>
          </label>
        </div>
        <ProblemNotice problems={problems} titles={{ conflict: 'Already revoked' }} />
        {error && !data ? <ProblemNotice error={error} onRetry={reload} /> : null}
        {!data && fetching ? <Loading label="Loading tokens…" /> : null}
        {data && tokens.length === 0 ? <Empty title="No API tokens" /> : null}
        {tokens.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-labelledby={headingId} data-testid="tokens-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">For</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => {
                  const status = tokenStatus(t, now);
                  return (
                    <tr key={t.id} data-token={t.name}>
                      <td>
                        <strong>{t.name}</strong>
                      </td>
                      <td>{t.user ? t.user.name : t.serviceName ? `service ${t.serviceName}` : '—'}</td>
                      <td>{roleLabel(t.role)}</td>
                      <td>
                        <span className={`badge badge-${status.tone}`} data-token-status={status.label}>
                          {status.label}
                        </span>
                      </td>
                      <td>
                        {formatDateTime(t.createdAt)}
                        <span className="excerpt">by {t.createdBy}</span>
                      </td>
                      <td>{t.expiresAt ? formatDateTime(t.expiresAt) : 'never'}</td>
                      <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'never'}</td>
                      <td className="row-actions">
                        {t.revokedAt ? null : (
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => setConfirming(t)}
                            aria-label={`Revoke token ${t.name}`}
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {confirming ? (
        <ConfirmDialog
          title={`Revoke token ${confirming.name}?`}
          confirmLabel="Revoke"
          busyLabel="Revoking…"
          busy={revokeState.fetching}
          tone="danger"
          onConfirm={() => void confirmRevoke()}
          onCancel={() => setConfirming(null)}
        >
          <p>Whatever uses it stops working within seconds. This cannot be undone; make a new token instead.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

const TOKEN_FIELDS = ['name', 'role', 'userId', 'serviceName', 'expiresInSeconds'] as const;
type TokenField = (typeof TOKEN_FIELDS)[number];

function CreateTokenForm({
  users,
  onCreated,
}: {
  users: readonly { id: string; name: string; role: Role }[];
  onCreated: (name: string, secret: string) => void;
}) {
  const [name, setName] = useState('');
  const [owner, setOwner] = useState<'user' | 'service'>('user');
  const [userId, setUserId] = useState('');
  const [serviceName, setServiceName] = useState('');
  const [role, setRole] = useState<Role>('SUBMITTER');
  const [expiry, setExpiry] = useState('30 days');
  const [errors, setErrors] = useState<Partial<Record<TokenField, string>>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [state, createToken] = useMutation(CreateTokenMutation);
  const headingId = useId();
  const ownerId = useId();

  const submit = async () => {
    setProblems([]);
    const found: Partial<Record<TokenField, string>> = {};
    if (name.trim() === '') found.name = 'Required.';
    if (owner === 'user' && userId === '') found.userId = 'Choose the user it acts for.';
    if (owner === 'service' && serviceName.trim() === '') found.serviceName = 'Required: the service it is for.';
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const seconds = EXPIRY_CHOICES.find((c) => c.label === expiry)?.seconds ?? null;
    const result = await createToken({
      input: {
        name: name.trim(),
        role,
        userId: owner === 'user' ? userId : null,
        serviceName: owner === 'service' ? serviceName.trim() : null,
        expiresInSeconds: seconds,
      },
    });
    const payload = result.data?.createToken;
    if (payload) {
      setName('');
      setServiceName('');
      onCreated(payload.token.name, payload.secret);
      return;
    }
    const { fields, rest } = splitFieldErrors(problemsOf(result.error), inputFieldOf(TOKEN_FIELDS));
    setErrors(fields);
    setProblems(rest);
  };

  return (
    <form
      className="card stack-sm"
      aria-labelledby={headingId}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id={headingId}>Make a token</h2>
      <div className="form-row">
        <Field id="token-name" label="Name" error={errors.name} field="name" hint="What it is for, e.g. nightly-import.">
          {(p) => <input {...p} type="text" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="token-role" label="Role" error={errors.role} field="role" hint={`${roleLabel(role)}: ${roleDescription(role)}.`}>
          {(p) => (
            <select
              {...p}
              value={role}
              onChange={(e) => {
                if (isRole(e.target.value)) setRole(e.target.value);
              }}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {roleLabel(r)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          id="token-expiry"
          label="Expires after"
          error={errors.expiresInSeconds}
          field="expiresInSeconds"
        >
          {(p) => (
            <select {...p} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY_CHOICES.map((c) => (
                <option key={c.label} value={c.label}>
                  {c.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <fieldset className="fieldset">
        <legend id={ownerId}>Acts for</legend>
        <div className="radio-row">
          <label>
            <input type="radio" name="token-owner" checked={owner === 'user'} onChange={() => setOwner('user')} /> A user
          </label>
          <label>
            <input type="radio" name="token-owner" checked={owner === 'service'} onChange={() => setOwner('service')} /> A
            service
          </label>
        </div>
        {owner === 'user' ? (
          <Field id="token-user" label="User" error={errors.userId} field="userId">
            {(p) => (
              <select {...p} value={userId} onChange={(e) => setUserId(e.target.value)}>
                <option value="">Choose…</option>
                {users.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({roleLabel(u.role)})
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : (
          <Field
            id="token-service"
            label="Service name"
            error={errors.serviceName}
            field="serviceName"
            hint="It acts as service:NAME in votes and the audit trail."
          >
            {(p) => (
              <input
                {...p}
                type="text"
                autoComplete="off"
                value={serviceName}
                onChange={(e) => setServiceName(e.target.value)}
              />
            )}
          </Field>
        )}
      </fieldset>
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Making…' : 'Make token'}
        </button>
      </div>
    </form>
  );
}
