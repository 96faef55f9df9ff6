// Users: who may sign in and with what role. A new user gets a sign-in
// link, shown once; a user who lost theirs gets a new one; a user who
// leaves is disabled (their sessions and tokens stop working).

import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field, inputFieldOf } from '../../components/Field';
import { ProblemNotice } from '../../components/Problem';
import { SecretOnce } from '../../components/SecretOnce';
import { Empty, Loading } from '../../components/States';
import { graphql } from '../../gql';
import type { AdminUserFragment, Role } from '../../gql/graphql';
import { useViewer } from '../../hooks/viewer';
import { problemsOf, splitFieldErrors, type Problem } from '../../lib/errors';
import { formatDateTime } from '../../lib/format';
import { isRole, roleDescription, roleLabel, ROLES } from '../../lib/policy';

export const AdminUserFields = graphql(`
  fragment AdminUser on User {
    id
    name
    email
    role
    disabled
    createdAt
    createdBy
  }
`);

const AdminUsersQuery = graphql(`
  query AdminUsers($includeDisabled: Boolean) {
    users(includeDisabled: $includeDisabled) {
      ...AdminUser
    }
  }
`);

const CreateUserMutation = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        ...AdminUser
      }
      signInLink {
        url
        expiresAt
      }
    }
  }
`);

const DisableUserMutation = graphql(`
  mutation DisableUser($id: ID!) {
    disableUser(id: $id) {
      ...AdminUser
    }
  }
`);

const CreateSignInLinkMutation = graphql(`
  mutation CreateSignInLink($userId: ID!) {
    createSignInLink(userId: $userId) {
      url
      expiresAt
    }
  }
`);

/** A sign-in link just made, for one user. */
interface IssuedLink {
  userName: string;
  url: string;
  expiresAt: string;
  isNew: boolean;
}

export function UsersSection() {
  const viewer = useViewer();
  const [includeDisabled, setIncludeDisabled] = useState(false);
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminUsersQuery, variables: { includeDisabled } });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const [issued, setIssued] = useState<IssuedLink | null>(null);
  const [linkState, createLink] = useMutation(CreateSignInLinkMutation);
  const [disableState, disableUser] = useMutation(DisableUserMutation);
  const [confirming, setConfirming] = useState<AdminUserFragment | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const headingId = useId();

  const newLink = async (user: AdminUserFragment) => {
    setProblems([]);
    const result = await createLink({ userId: user.id });
    if (result.data) {
      const link = result.data.createSignInLink;
      setIssued({ userName: user.name, url: link.url, expiresAt: link.expiresAt, isNew: false });
    } else setProblems(problemsOf(result.error));
  };

  const disable = async () => {
    const user = confirming;
    if (!user) return;
    const result = await disableUser({ id: user.id });
    setConfirming(null);
    if (result.error) setProblems(problemsOf(result.error));
    reload();
  };

  const users = data?.users ?? [];
  return (
    <div className="stack">
      <CreateUserForm
        onCreated={(user, link) => {
          setIssued({ userName: user.name, url: link.url, expiresAt: link.expiresAt, isNew: true });
          reload();
        }}
      />
      {issued ? (
        <SecretOnce
          title={issued.isNew ? `${issued.userName} can sign in with this link` : `A new sign-in link for ${issued.userName}`}
          label={`Sign-in link for ${issued.userName}`}
          value={issued.url}
          testId="sign-in-link"
          onDone={() => setIssued(null)}
        >
          <p>
            Give it to {issued.userName} privately. It signs them in once, in one browser, and expires{' '}
            {formatDateTime(issued.expiresAt)}.
          </p>
          <p>
            <strong>It is shown only now.</strong> If it gets lost, make a new one from the list below.
          </p>
        </SecretOnce>
      ) : null}
      <section className="stack-sm" aria-labelledby={headingId}>
        <div className="card-head">
          <h2 id={headingId}>Users</h2>
          <label className="field-inline">
            <input type="checkbox" checked={includeDisabled} onChange={(e) => setIncludeDisabled(e.target.checked)} />
            <span>Show disabled users</span>
          </label>
        </div>
        <ProblemNotice problems={problems} />
        {error && !data ? <ProblemNotice error={error} onRetry={reload} /> : null}
        {!data && fetching ? <Loading label="Loading users…" /> : null}
        {data && users.length === 0 ? <Empty title="No users yet" /> : null}
        {users.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-labelledby={headingId} data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id} data-user={u.name}>
                    <td>
                      <strong>{u.name}</strong>
                      {u.email ? <span className="excerpt">{u.email}</span> : null}
                    </td>
                    <td>{roleLabel(u.role)}</td>
                    <td>
                      {u.disabled ? (
                        <span className="badge badge-cancelled">Disabled</span>
                      ) : (
                        <span className="badge badge-completed">Active</span>
                      )}
                    </td>
                    <td>
                      {formatDateTime(u.createdAt)}
                      <span className="excerpt">by {u.createdBy}</span>
                    </td>
                    <td className="row-actions">
                      {u.disabled ? null : (
                        <>
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={linkState.fetching}
                            onClick={() => void newLink(u)}
                            aria-label={`New sign-in link for ${u.name}`}
                          >
                            New sign-in link
                          </button>
                          {u.name === viewer.name ? (
                            <span className="muted small">you</span>
                          ) : (
                            <button
                              type="button"
                              className="btn btn-small btn-danger"
                              onClick={() => setConfirming(u)}
                              aria-label={`Disable ${u.name}`}
                            >
                              Disable
                            </button>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {confirming ? (
        <ConfirmDialog
          title={`Disable ${confirming.name}?`}
          confirmLabel="Disable"
          busyLabel="Disabling…"
          busy={disableState.fetching}
          tone="danger"
          onConfirm={() => void disable()}
          onCancel={() => setConfirming(null)}
        >
          <p>
            {confirming.name} is signed out everywhere within seconds, and their API tokens stop working. Their votes
            and the workflows they started stay.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

const USER_FIELDS = ['name', 'email', 'role'] as const;
type UserField = (typeof USER_FIELDS)[number];

function CreateUserForm({
  onCreated,
}: {
  onCreated: (user: AdminUserFragment, link: { url: string; expiresAt: string }) => void;
}) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('REVIEWER');
  const [errors, setErrors] = useState<Partial<Record<UserField, string>>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [state, createUser] = useMutation(CreateUserMutation);
  const headingId = useId();

  const submit = async () => {
    setProblems([]);
    if (name.trim() === '') {
      setErrors({ name: 'Required.' });
      return;
    }
    setErrors({});
    const result = await createUser({
      input: { name: name.trim(), email: email.trim() === '' ? null : email.trim(), role },
    });
    const payload = result.data?.createUser;
    if (payload) {
      setName('');
      setEmail('');
      onCreated(payload.user, payload.signInLink);
      return;
    }
    const { fields, rest } = splitFieldErrors(problemsOf(result.error), inputFieldOf(USER_FIELDS));
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
      <h2 id={headingId}>Add a user</h2>
      <div className="form-row">
        <Field id="user-name" label="Name" error={errors.name} field="name" hint="How they show up in votes and the audit trail.">
          {(p) => (
            <input {...p} type="text" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <Field id="user-email" label="Email" optional error={errors.email} field="email">
          {(p) => (
            <input {...p} type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field id="user-role" label="Role" error={errors.role} field="role" hint={`${roleLabel(role)}: ${roleDescription(role)}.`}>
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
      </div>
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Adding…' : 'Add user'}
        </button>
      </div>
    </form>
  );
}
