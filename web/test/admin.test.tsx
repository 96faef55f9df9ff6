// The admin pages: users (a sign-in link shown once), tokens (the secret
// shown once, never again), policies (one form per workflow type, field
// errors from BAD_USER_INPUT next to their field).

import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AdminPage } from '../src/pages/AdminPage';
import { defaultPolicy, T0 } from './fixtures';
import { renderWithServer, viewerAs } from './harness';

const user = (name: string, role: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'User',
  id: `u-${name}`,
  name,
  email: null,
  role,
  disabled: false,
  createdAt: T0,
  createdBy: 'admin',
  ...extra,
});

const token = (name: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'ApiToken',
  id: `t-${name}`,
  name,
  role: 'SUBMITTER',
  user: null,
  serviceName: 'ci',
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  createdAt: T0,
  createdBy: 'admin',
  active: true,
  ...extra,
});

const SECRET = 'baton_s3cr3t_only_once';

describe('Admin: tokens', () => {
  it('makes a token for a service and shows its secret once, with the warning', async () => {
    const u = userEvent.setup();
    let tokens = [token('old', { revokedAt: null, expiresAt: '2020-01-01T00:00:00Z', active: false })];
    const h = renderWithServer(
      <AdminPage section="tokens" />,
      {
        AdminTokens: () => ({ data: { apiTokens: tokens, users: [user('ana', 'REVIEWER')] } }),
        CreateToken: (vars) => {
          const input = (vars as { input: { name: string } }).input;
          const made = token(input.name);
          tokens = [...tokens, made];
          return { data: { createToken: { token: made, secret: SECRET } } };
        },
      },
      { path: '/admin/tokens', viewer: viewerAs('ADMIN', 'admin') },
    );
    const table = await screen.findByTestId('tokens-table');
    expect(within(table).getByText('Expired')).toBeTruthy();

    await u.type(screen.getByLabelText('Name'), 'nightly-import');
    await u.click(screen.getByLabelText('A service'));
    await u.type(screen.getByLabelText(/Service name/), 'importer');
    await u.selectOptions(screen.getByLabelText('Expires after'), '90 days');
    await u.click(screen.getByRole('button', { name: 'Make token' }));

    const shown = await screen.findByTestId('token-secret');
    expect(within(shown).getByText('Copy it now: it will not be shown again.')).toBeTruthy();
    expect((within(shown).getByLabelText('Token secret') as HTMLInputElement).value).toBe(SECRET);
    expect(h.calls.find((c) => c.operationName === 'CreateToken')?.variables).toEqual({
      input: { name: 'nightly-import', role: 'SUBMITTER', userId: null, serviceName: 'importer', expiresInSeconds: 90 * 86_400 },
    });
    // The list shows the new token, but never its secret.
    await waitFor(() => expect(document.querySelector('tr[data-token="nightly-import"]')).not.toBeNull());
    expect(within(screen.getByTestId('tokens-table')).queryByText(SECRET)).toBeNull();

    await u.click(within(shown).getByRole('button', { name: 'Done, hide it' }));
    expect(screen.queryByTestId('token-secret')).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(window.localStorage.length).toBe(0);
  });

  it('puts the server’s field error next to the field', async () => {
    const u = userEvent.setup();
    renderWithServer(
      <AdminPage section="tokens" />,
      {
        AdminTokens: () => ({ data: { apiTokens: [], users: [user('ana', 'REVIEWER')] } }),
        CreateToken: () => ({
          data: null,
          errors: [
            {
              message: 'input.role: a token for ana cannot have more than the REVIEWER role',
              extensions: { code: 'BAD_USER_INPUT', field: 'input.role' },
            },
          ],
        }),
      },
      { path: '/admin/tokens' },
    );
    await screen.findByText('No API tokens');
    await u.type(screen.getByLabelText('Name'), 'ana-laptop');
    await u.selectOptions(screen.getByLabelText('User'), 'u-ana');
    await u.selectOptions(screen.getByLabelText('Role'), 'ADMIN');
    await u.click(screen.getByRole('button', { name: 'Make token' }));
    const error = await screen.findByText('A token for ana cannot have more than the REVIEWER role');
    expect(error.dataset.fieldError).toBe('role');
    expect(screen.getByLabelText('Role').getAttribute('aria-describedby')).toContain(error.id);
    expect(screen.queryByTestId('token-secret')).toBeNull();
  });
});

describe('Admin: users', () => {
  it('adds a user with a role and shows their sign-in link once', async () => {
    const u = userEvent.setup();
    const link = 'http://baton.test/signin#code=abc';
    const h = renderWithServer(
      <AdminPage section="users" />,
      {
        AdminUsers: () => ({ data: { users: [user('admin', 'ADMIN')] } }),
        CreateUser: () => ({
          data: { createUser: { user: user('bo', 'REVIEWER'), signInLink: { url: link, expiresAt: T0 } } },
        }),
      },
      { path: '/admin', viewer: viewerAs('ADMIN', 'admin') },
    );
    await screen.findByTestId('users-table');
    // No one disables themselves from here.
    expect(screen.queryByRole('button', { name: 'Disable admin' })).toBeNull();
    await u.type(screen.getByLabelText('Name'), 'bo');
    await u.selectOptions(screen.getByLabelText('Role'), 'REVIEWER');
    await u.click(screen.getByRole('button', { name: 'Add user' }));
    const shown = await screen.findByTestId('sign-in-link');
    expect((within(shown).getByLabelText('Sign-in link for bo') as HTMLInputElement).value).toBe(link);
    expect(within(shown).getByText('It is shown only now.')).toBeTruthy();
    expect(within(shown).getByRole('button', { name: 'Copy' })).toBeTruthy();
    expect(h.calls.find((c) => c.operationName === 'CreateUser')?.variables).toEqual({
      input: { name: 'bo', email: null, role: 'REVIEWER' },
    });
  });
});

describe('Admin: policies', () => {
  it('saves a policy per workflow type and shows field errors next to the field', async () => {
    const u = userEvent.setup();
    let saves = 0;
    const h = renderWithServer(
      <AdminPage section="policies" />,
      {
        AdminPolicies: () => ({
          data: {
            approvalPolicies: [defaultPolicy(), defaultPolicy({ workflowType: 'run_experiment' })],
            workflowTypes: [{ __typename: 'WorkflowType', name: 'generate_draft' }, { __typename: 'WorkflowType', name: 'apply_feedback' }],
          },
        }),
        SetApprovalPolicy: (vars) => {
          saves++;
          if (saves === 1) {
            return {
              data: null,
              errors: [
                {
                  message: 'input.allowedUsers: no user named zed',
                  extensions: { code: 'BAD_USER_INPUT', field: 'input.allowedUsers' },
                },
              ],
            };
          }
          const input = (vars as { input: Record<string, unknown> }).input;
          return { data: { setApprovalPolicy: defaultPolicy({ ...input, isDefault: false, updatedBy: 'admin', updatedAt: T0, onExpiry: { __typename: 'ExpiryOutcome', action: 'EXPIRE', reason: null, workflowType: null } }) } };
        },
      },
      { path: '/admin/policies' },
    );
    const form = (await screen.findByRole('form', { name: 'generate draft' })) as HTMLFormElement;
    expect(screen.getByRole('form', { name: 'run experiment' })).toBeTruthy();
    const required = within(form).getByLabelText('Approvals required');
    await u.clear(required);
    await u.type(required, '2');
    await u.type(within(form).getByLabelText(/Also these users/), 'zed');
    await u.click(within(form).getByRole('button', { name: 'Save the generate draft policy' }));
    const error = await within(form).findByText('No user named zed');
    expect(error.dataset.fieldError).toBe('allowedUsers');

    await u.clear(within(form).getByLabelText(/Also these users/));
    await u.click(within(form).getByRole('button', { name: 'Save the generate draft policy' }));
    const saved = await within(form).findByTestId('policy-saved');
    expect(saved.textContent).toContain('It needs 2 approvals');
    expect(h.calls.filter((c) => c.operationName === 'SetApprovalPolicy').at(-1)?.variables).toEqual({
      input: {
        workflowType: 'generate_draft',
        allowedRoles: ['REVIEWER', 'ADMIN'],
        allowedUsers: [],
        preventSelfReview: true,
        requiredApprovals: 2,
        expiresInSeconds: 0,
        onExpiry: { action: 'EXPIRE', reason: null, workflowType: null },
        remindAfterSeconds: 0,
        escalateAfterSeconds: 0,
        escalateTo: [],
      },
    });
  });

  it('sets a reminder and an escalation, with their errors next to their fields', async () => {
    const u = userEvent.setup();
    let saves = 0;
    const h = renderWithServer(
      <AdminPage section="policies" />,
      {
        AdminPolicies: () => ({
          data: {
            approvalPolicies: [defaultPolicy()],
            workflowTypes: [{ __typename: 'WorkflowType', name: 'generate_draft' }],
          },
        }),
        SetApprovalPolicy: (vars) => {
          saves++;
          if (saves === 1) {
            return {
              data: null,
              errors: [
                {
                  message: "no user named 'zed'",
                  extensions: { code: 'BAD_USER_INPUT', field: 'input.escalateTo[0]' },
                },
              ],
            };
          }
          const input = (vars as { input: Record<string, unknown> }).input;
          return {
            data: {
              setApprovalPolicy: defaultPolicy({
                ...input,
                isDefault: false,
                updatedBy: 'admin',
                updatedAt: T0,
                onExpiry: { __typename: 'ExpiryOutcome', action: 'EXPIRE', reason: null, workflowType: null },
              }),
            },
          };
        },
      },
      { path: '/admin/policies' },
    );
    const form = (await screen.findByRole('form', { name: 'generate draft' })) as HTMLFormElement;
    const save = () => u.click(within(form).getByRole('button', { name: 'Save the generate draft policy' }));
    await u.type(within(form).getByLabelText(/Remind after/), '3600');
    expect(within(form).getByText(/That is 1 hour: reviewers who may decide and have not voted are reminded/)).toBeTruthy();
    await u.type(within(form).getByLabelText(/Escalate after/), '1800');
    await save();
    // Caught before a round trip: too early, and nobody to tell.
    const early = within(form).getByText('Escalation comes after the reminder: more seconds than the reminder.');
    expect(early.dataset.fieldError).toBe('escalateAfterSeconds');
    const nobody = within(form).getByText('Name the users an escalation tells.');
    expect(nobody.dataset.fieldError).toBe('escalateTo');
    expect(within(form).getByLabelText(/Escalate to/).getAttribute('aria-invalid')).toBe('true');
    expect(saves).toBe(0);

    await u.clear(within(form).getByLabelText(/Escalate after/));
    await u.type(within(form).getByLabelText(/Escalate after/), '86400');
    await u.type(within(form).getByLabelText(/Escalate to/), 'zed');
    await save();
    // The server's answer for the list's first name lands on the list.
    const unknown = await within(form).findByText("No user named 'zed'");
    expect(unknown.dataset.fieldError).toBe('escalateTo');

    await u.clear(within(form).getByLabelText(/Escalate to/));
    await u.type(within(form).getByLabelText(/Escalate to/), 'ada, bo');
    await save();
    const saved = await within(form).findByTestId('policy-saved');
    expect(saved.textContent).toContain('Reviewers who have not voted are reminded after 1 hour; undecided after 1 day, ada and bo are told.');
    expect(h.calls.filter((c) => c.operationName === 'SetApprovalPolicy').at(-1)?.variables).toMatchObject({
      input: { remindAfterSeconds: 3600, escalateAfterSeconds: 86_400, escalateTo: ['ada', 'bo'] },
    });
  });
});
