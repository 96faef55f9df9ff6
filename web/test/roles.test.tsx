// Controls a viewer may not use are hidden or disabled, with the reason:
// starting needs the submitter role; deciding needs the reviewer role and
// the approval's own yes (policy, self-review); retry and cancel belong to
// the workflow's creator or an admin; rollback and Admin to admins.

import { act, fireEvent, screen, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import { Layout } from '../src/components/Layout';
import { AdminPage } from '../src/pages/AdminPage';
import { DeploymentsPage } from '../src/pages/DeploymentsPage';
import { QueuePage } from '../src/pages/QueuePage';
import { ReviewPage } from '../src/pages/ReviewPage';
import { StartWorkflowPage } from '../src/pages/StartWorkflowPage';
import { WorkflowDetailPage } from '../src/pages/WorkflowDetailPage';
import { Routes } from '../src/router';
import { queueApproval, reviewApproval, T0 } from './fixtures';
import { renderWithServer, viewerAs, type Handler } from './harness';

const settle = () => act(async () => {});

function At({ path, page }: { path: string; page: ReactNode }) {
  return <Routes routes={[{ path, render: () => page }]} fallback={null} />;
}

describe('the top bar', () => {
  it.each([
    ['VIEWER', false, false],
    ['SUBMITTER', true, false],
    ['REVIEWER', true, false],
    ['ADMIN', true, true],
  ] as const)('for a %s: Start %s, Admin %s; name, role and Sign out always', (role, start, admin) => {
    renderWithServer(<Layout>page</Layout>, {}, { viewer: viewerAs(role, 'kim') });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Start' }) !== null).toBe(start);
    expect(within(nav).queryByRole('link', { name: 'Admin' }) !== null).toBe(admin);
    const identity = screen.getByTestId('identity');
    expect(identity.textContent).toContain('kim');
    expect(within(identity).getByText(role.charAt(0) + role.slice(1).toLowerCase())).toBeTruthy();
    expect(within(identity).getByRole('button', { name: 'Sign out' })).toBeTruthy();
  });

  it('shows a failed sign-out', async () => {
    renderWithServer(<Layout>page</Layout>, {}, {
      signOut: async () => ({ kind: 'network', title: 'Cannot reach the server', message: 'Failed to fetch.' }),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    await screen.findByText('Not signed out: cannot reach the server');
  });
});

describe('review decisions', () => {
  const review = (extra: Record<string, unknown> = {}): Record<string, Handler> => ({
    ReviewApproval: () => ({ data: { approval: reviewApproval('PENDING', extra) } }),
    Approve: () => ({ data: null, errors: [{ message: 'must not be called' }] }),
  });

  it('a submitter sees no decision controls, the reason, and a / r do nothing', async () => {
    const h = renderWithServer(<At path="/approvals/:id" page={<ReviewPage />} />, review(), {
      path: '/approvals/ap-1',
      viewer: viewerAs('SUBMITTER', 'sam'),
    });
    await screen.findByText('Plain but clear.');
    await settle();
    expect(screen.getByTestId('decision-blocked-reason').textContent).toBe(
      'Your role (Submitter) cannot approve or reject: reviewers and admins decide.',
    );
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /Reject/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /Edit/ })).toBeNull();
    fireEvent.keyDown(document.body, { key: 'a' });
    fireEvent.keyDown(document.body, { key: 'r' });
    await settle();
    expect(h.calls.map((c) => c.operationName)).toEqual(['ReviewApproval']);
  });

  it('a reviewer the policy refuses (self-review) sees the server’s reason', async () => {
    const h = renderWithServer(
      <At path="/approvals/:id" page={<ReviewPage />} />,
      review({
        viewerCanDecide: { __typename: 'Eligibility', allowed: false, reason: 'You started this chain: someone else must review' },
      }),
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'sam') },
    );
    await screen.findByText('Plain but clear.');
    await settle();
    expect(screen.getByTestId('decision-blocked-reason').textContent).toBe('You started this chain: someone else must review');
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
    fireEvent.keyDown(document.body, { key: 'a' });
    await settle();
    expect(h.calls.some((c) => c.operationName === 'Approve')).toBe(false);
  });

  it('a reviewer the policy allows gets the controls', async () => {
    renderWithServer(<At path="/approvals/:id" page={<ReviewPage />} />, review(), {
      path: '/approvals/ap-1',
      viewer: viewerAs('REVIEWER', 'ana'),
    });
    expect(await screen.findByRole('button', { name: /Approve/ })).toBeTruthy();
    expect(screen.queryByTestId('decision-blocked')).toBeNull();
  });
});

describe('the queue', () => {
  const queue = (items: unknown[]): Record<string, Handler> => ({
    PendingApprovals: () => ({
      data: {
        pendingApprovals: {
          edges: items.map((node, i) => ({ cursor: `c${i}`, node })),
          pageInfo: { hasNextPage: false, endCursor: null },
        },
      },
    }),
  });

  it('a viewer gets no selection and no batch decision', async () => {
    renderWithServer(<QueuePage />, queue([queueApproval('a1', 1)]), { path: '/', viewer: viewerAs('VIEWER') });
    await screen.findByText('prompt a1');
    await settle();
    expect(screen.queryByRole('checkbox')).toBeNull();
    expect(screen.queryByRole('button', { name: /Approve selected/ })).toBeNull();
    expect(screen.getByTestId('queue-read-only').textContent).toContain('Your role (Viewer) cannot approve or reject');
    fireEvent.keyDown(document.body, { key: 'x' });
    expect(screen.queryByText('1 selected')).toBeNull();
  });

  it('a reviewer cannot select what the policy keeps from them, and reads why', async () => {
    renderWithServer(
      <QueuePage />,
      queue([
        queueApproval('a1', 1, {
          viewerCanDecide: { __typename: 'Eligibility', allowed: false, reason: 'You started this chain: someone else must review' },
        }),
        queueApproval('a2', 2, { requiredApprovals: 2, approvalsCount: 1 }),
      ]),
      { path: '/', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByText('prompt a1');
    await settle();
    const blocked = screen.getByRole('checkbox', {
      name: 'Cannot select draft: prompt a1: You started this chain: someone else must review',
    }) as HTMLInputElement;
    expect(blocked.disabled).toBe(true);
    expect(screen.getByText('You started this chain: someone else must review')).toBeTruthy();
    // x on the blocked row does nothing; select-all takes only what may be decided.
    fireEvent.keyDown(document.body, { key: 'x' });
    expect(screen.getByText('None selected')).toBeTruthy();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select all pending approvals shown' }));
    expect(screen.getByText('1 selected')).toBeTruthy();
    expect(screen.getByTestId('row-approvals').textContent).toBe('1 of 2 approvals');
  });
});

describe('starting, retrying, rolling back, administering', () => {
  it('a viewer cannot start a workflow', async () => {
    const h = renderWithServer(<StartWorkflowPage />, {}, { path: '/workflows/new', viewer: viewerAs('VIEWER') });
    expect(screen.getByTestId('start-not-allowed').textContent).toContain('Your role (Viewer) cannot start workflows.');
    expect(screen.queryByRole('button', { name: /Start/ })).toBeNull();
    await settle();
    expect(h.calls).toEqual([]);
  });

  const failed = {
    __typename: 'Workflow',
    id: 'wf-1',
    type: 'generate_draft',
    status: 'FAILED',
    input: { prompt: 'x' },
    output: null,
    error: 'model timed out',
    attempt: 3,
    maxAttempts: 3,
    runAfter: T0,
    chainId: 'wf-1',
    idempotencyKey: null,
    createdBy: 'sam',
    createdAt: T0,
    startedAt: T0,
    completedAt: T0,
    triggeredByApproval: null,
    approval: null,
    artifacts: [],
    chain: [{ __typename: 'Workflow', id: 'wf-1', type: 'generate_draft', status: 'FAILED', createdAt: T0, completedAt: T0, approval: null }],
    llmCalls: [],
    events: [{ __typename: 'Event', id: 'e1', kind: 'workflow.created', at: T0, actor: 'sam', actorRole: 'SUBMITTER' }],
  };

  it.each([
    ['SUBMITTER', 'sam', true],
    ['REVIEWER', 'ana', false],
    ['ADMIN', 'ada', true],
  ] as const)('retry on a failed workflow started by sam: %s %s may: %s', async (role, name, may) => {
    renderWithServer(
      <At path="/workflows/:id" page={<WorkflowDetailPage />} />,
      { WorkflowDetail: () => ({ data: { workflow: failed } }) },
      { path: '/workflows/wf-1', viewer: viewerAs(role, name) },
    );
    await screen.findByText('It failed');
    expect(screen.queryByRole('button', { name: 'Retry' }) !== null).toBe(may);
    if (!may) {
      expect(screen.getByTestId('actions-not-allowed').textContent).toBe(
        'Only whoever started it (sam) or an admin can retry it.',
      );
    }
    // The audit trail names the actor's role.
    expect(screen.getByText(/\(Submitter\)/)).toBeTruthy();
  });

  it('only admins roll back', async () => {
    const deployment = (id: string, active: boolean) => ({
      __typename: 'Deployment',
      id,
      target: 'generate_draft',
      environment: 'production',
      config: { temperature: active ? 0.9 : 0.3 },
      active,
      experimentId: null,
      rolledBackFrom: null,
      deployedBy: 'ada',
      createdAt: T0,
      approval: null,
    });
    const handlers: Record<string, Handler> = {
      DeploymentPlaces: () => ({ data: { deployments: { edges: [{ node: deployment('d2', true) }] } } }),
      Deployments: () => ({
        data: {
          activeDeployment: deployment('d2', true),
          deployments: { edges: [{ node: deployment('d2', true) }, { node: deployment('d1', false) }], pageInfo: { hasNextPage: false, endCursor: null } },
        },
      }),
    };
    renderWithServer(<DeploymentsPage />, handlers, { path: '/deployments', viewer: viewerAs('REVIEWER') });
    await screen.findByTestId('rollback-admins-only');
    expect(screen.queryByRole('button', { name: /Roll back/ })).toBeNull();
  });

  it('non-admins are told the admin pages are for admins', () => {
    const h = renderWithServer(<AdminPage section="tokens" />, {}, { path: '/admin/tokens', viewer: viewerAs('REVIEWER', 'ana') });
    expect(screen.getByTestId('admin-only').textContent).toContain('Only admins');
    expect(h.calls).toEqual([]);
  });
});
