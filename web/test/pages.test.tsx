// Page tests against a faked transport (test/harness.tsx): the real
// documents, error mapping and components.

import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ArtifactView } from '../src/components/ArtifactView';
import { DeploymentsPage } from '../src/pages/DeploymentsPage';
import { QueuePage } from '../src/pages/QueuePage';
import { ReviewPage } from '../src/pages/ReviewPage';
import { StartWorkflowPage } from '../src/pages/StartWorkflowPage';
import { WorkflowsPage } from '../src/pages/WorkflowsPage';
import { Routes } from '../src/router';
import { render } from '@testing-library/react';
import { experimentFixture } from './experimentFixture';
import { chainWorkflow, queueApproval, reviewApproval, T0, vote } from './fixtures';
import { renderWithServer } from './harness';

/** Lets React run pending effects (shortcut listeners are added in one). */
const settle = () => act(async () => {});

const generateDraftType = {
  __typename: 'WorkflowType',
  name: 'generate_draft',
  description: 'Drafts a scene from a brief.',
  requiresApproval: true,
  inputSchema: {
    type: 'object',
    required: ['prompt'],
    properties: {
      prompt: { type: 'string', minLength: 1, maxLength: 20000, description: 'What the scene must do.' },
      candidates: { type: 'integer', minimum: 1, maximum: 8 },
    },
  },
};

describe('StartWorkflowPage', () => {
  it('renders the schema form, checks required fields, and shows server field errors next to the field', async () => {
    const user = userEvent.setup();
    let runs = 0;
    const h = renderWithServer(
      <StartWorkflowPage />,
      {
        StartWorkflowTypes: () => ({ data: { workflowTypes: [generateDraftType] } }),
        RunWorkflow: () => {
          runs++;
          return {
            data: null,
            errors: [
              {
                message: 'input.prompt: must not be only whitespace',
                extensions: { code: 'BAD_USER_INPUT', field: 'input.prompt' },
              },
            ],
          };
        },
      },
      { path: '/workflows/new' },
    );

    const prompt = await screen.findByLabelText(/Prompt/);
    expect(prompt.getAttribute('aria-required')).toBe('true');
    expect(screen.getByLabelText(/Candidates/).getAttribute('max')).toBe('8');

    await user.click(screen.getByRole('button', { name: /Start generate draft/ }));
    expect(runs).toBe(0);
    expect(screen.getByText('Required.')).toBeTruthy();
    expect(document.activeElement).toBe(prompt);

    await user.type(prompt, '   x');
    await user.type(screen.getByLabelText(/Candidates/), '3');
    await user.click(screen.getByRole('button', { name: /Start generate draft/ }));
    await screen.findByText('Must not be only whitespace');
    expect(runs).toBe(1);
    expect(h.calls.at(-1)?.variables).toEqual({
      input: { type: 'generate_draft', input: { prompt: '   x', candidates: 3 }, idempotencyKey: null },
    });
    const error = screen.getByText('Must not be only whitespace');
    expect(prompt.getAttribute('aria-describedby')).toContain(error.id);
  });

  it('navigates to the new workflow on success', async () => {
    const user = userEvent.setup();
    renderWithServer(
      <StartWorkflowPage />,
      {
        StartWorkflowTypes: () => ({ data: { workflowTypes: [generateDraftType] } }),
        RunWorkflow: () => ({
          data: { runWorkflow: { created: true, workflow: { __typename: 'Workflow', id: 'wf-1', status: 'PENDING' } } },
        }),
      },
      { path: '/workflows/new' },
    );
    await user.type(await screen.findByLabelText(/Prompt/), 'Mara finds a letter.');
    await user.click(screen.getByRole('button', { name: /Start generate draft/ }));
    await waitFor(() => expect(window.location.pathname).toBe('/workflows/wf-1'));
  });
});

describe('QueuePage', () => {
  it('adds created approvals and removes decided ones live, and moves with j / k / Enter', async () => {
    const h = renderWithServer(
      <QueuePage />,
      {
        PendingApprovals: () => ({
          data: {
            pendingApprovals: {
              edges: [{ cursor: 'c1', node: queueApproval('a1', 1) }],
              pageInfo: { hasNextPage: false, endCursor: 'c1' },
            },
          },
        }),
      },
      { path: '/' },
    );
    await screen.findByText('prompt a1');
    await settle();
    await waitFor(() => expect(h.openSubscriptions()).toContain('QueueApprovalEvents'));

    act(() => h.push('QueueApprovalEvents', { approvalEvents: { kind: 'CREATED', approval: queueApproval('a2', 2) } }));
    await screen.findByText('prompt a2');
    const rows = () => within(screen.getByRole('table')).getAllByRole('row').slice(1);
    expect(rows().map((r) => r.dataset.approvalId)).toEqual(['a1', 'a2']);

    fireEvent.keyDown(document.body, { key: 'j' });
    expect(rows()[1]?.getAttribute('aria-current')).toBe('true');
    fireEvent.keyDown(document.body, { key: 'k' });
    expect(rows()[0]?.getAttribute('aria-current')).toBe('true');

    act(() =>
      h.push('QueueApprovalEvents', {
        approvalEvents: { kind: 'DECIDED', approval: queueApproval('a1', 1, { status: 'APPROVED' }) },
      }),
    );
    await waitFor(() => expect(screen.queryByText('prompt a1')).toBeNull());
    expect(rows().map((r) => r.dataset.approvalId)).toEqual(['a2']);

    document.body.focus();
    fireEvent.keyDown(document.body, { key: 'Enter' });
    expect(window.location.pathname).toBe('/approvals/a2');
  });

  it('shows an empty state, and the error mapping on failure', async () => {
    renderWithServer(
      <QueuePage />,
      {
        PendingApprovals: () => ({
          data: { pendingApprovals: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } },
        }),
      },
      { path: '/' },
    );
    await screen.findByText('No pending approvals');
  });

  it('shows a server error as a notice', async () => {
    renderWithServer(
      <QueuePage />,
      {
        PendingApprovals: () => ({
          data: null,
          errors: [{ message: 'internal error (id 42)', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        }),
      },
      { path: '/' },
    );
    await screen.findByText('internal error (id 42)');
    expect(screen.getByText('The server hit an error')).toBeTruthy();
  });
});

function ReviewAt() {
  return <Routes routes={[{ path: '/approvals/:id', render: () => <ReviewPage /> }]} fallback={null} />;
}

describe('ReviewPage', () => {
  it('shows the draft, its rubric and the diff against the parent', async () => {
    renderWithServer(<ReviewAt />, { ReviewApproval: () => ({ data: { approval: reviewApproval('PENDING') } }) }, {
      path: '/approvals/ap-1',
    });
    await screen.findByText('Plain but clear.');
    expect(screen.getByText('slowly', { selector: 'ins' })).toBeTruthy();
    expect(screen.getByText('25%')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Full text' }));
    expect(screen.getByText('Mara slowly opens the letter.')).toBeTruthy();
  });

  it('approves with feedback on Ctrl+Enter and follows the next workflow live', async () => {
    const user = userEvent.setup();
    let decided = false;
    const h = renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({
          data: {
            approval: decided
              ? reviewApproval('APPROVED', {
                  decidedBy: 'ada',
                  decidedAt: T0,
                  feedback: 'More doubt.',
                  nextWorkflow: chainWorkflow('wf-2', 'PENDING'),
                })
              : reviewApproval('PENDING'),
          },
        }),
        Approve: () => {
          decided = true;
          return {
            data: {
              approve: {
                decided: true,
                vote: vote('v1', 'ada', 'APPROVE', { feedback: 'More doubt.' }),
                approval: {
                  __typename: 'Approval',
                  id: 'ap-1',
                  status: 'APPROVED',
                  decidedBy: 'ada',
                  decidedAt: T0,
                  feedback: 'More doubt.',
                  approvalsCount: 1,
                  requiredApprovals: 1,
                  artifactVersion: 2,
                },
                nextWorkflow: chainWorkflow('wf-2', 'PENDING'),
              },
            },
          };
        },
        NextWorkflow: () => ({ data: { workflow: chainWorkflow('wf-2', 'PENDING') } }),
      },
      { path: '/approvals/ap-1' },
    );
    await screen.findByText('Plain but clear.');
    await settle();
    fireEvent.keyDown(document.body, { key: 'f' });
    const box = screen.getByLabelText(/Feedback/);
    expect(document.activeElement).toBe(box);
    await user.type(box, 'More doubt.');
    await user.keyboard('{Control>}{Enter}{/Control}');

    await screen.findByTestId('outcome');
    expect(h.calls.find((c) => c.operationName === 'Approve')?.variables).toEqual({
      id: 'ap-1',
      version: 2,
      feedback: 'More doubt.',
    });
    const card = await screen.findByTestId('next-workflow');
    expect(card.dataset.status).toBe('PENDING');

    await waitFor(() => expect(h.openSubscriptions()).toContain('ChainEvents'));
    act(() => h.push('ChainEvents', { workflowEvents: { kind: 'COMPLETED', workflow: chainWorkflow('wf-2', 'COMPLETED') } }));
    await waitFor(() => expect(screen.getByTestId('next-workflow').dataset.status).toBe('COMPLETED'));
    expect(screen.getByRole('link', { name: 'Review the revision' }).getAttribute('href')).toBe('/approvals/ap-2');
  });

  it('says plainly when someone else decided first, and refetches', async () => {
    let reads = 0;
    renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => {
          reads++;
          return {
            data: {
              approval:
                reads === 1
                  ? reviewApproval('PENDING')
                  : reviewApproval('REJECTED', { decidedBy: 'someone', decidedAt: T0 }),
            },
          };
        },
        Approve: () => ({
          data: null,
          errors: [
            {
              message: 'approval ap-1 was already rejected by someone',
              extensions: { code: 'CONFLICT', decidedBy: 'someone', decidedAt: new Date(Date.now() - 120_000).toISOString(), currentVersion: 2 },
            },
          ],
        }),
      },
      { path: '/approvals/ap-1' },
    );
    await screen.findByText('Plain but clear.');
    await settle();
    fireEvent.keyDown(document.body, { key: 'a' });
    await screen.findByText('Someone else decided this approval first.');
    await screen.findByTestId('outcome');
    await waitFor(() => expect(screen.getByTestId('conflict-who').textContent).toBe('someone rejected this 2 min ago.'));
    expect(within(screen.getByTestId('outcome')).getByText('Rejected')).toBeTruthy();
    expect(reads).toBe(2);
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
  });

  it('shows a not-found page for a missing approval', async () => {
    renderWithServer(<ReviewAt />, { ReviewApproval: () => ({ data: { approval: null } }) }, { path: '/approvals/nope' });
    await screen.findByText('Approval not found');
  });
});

describe('ArtifactView', () => {
  it('shows unknown artifact types and odd drafts as JSON, without crashing', () => {
    render(
      <>
        <ArtifactView artifactType="experiment_results" data={{ runs: [1, 2], best: { model: 'x' } }} />
        <ArtifactView artifactType="draft" data={['not', 'a', 'draft']} />
        <ArtifactView artifactType="config" data={null} />
      </>,
    );
    expect(screen.getByText(/"best": \{/)).toBeTruthy();
    expect(screen.getByText(/does not have the usual shape/)).toBeTruthy();
    expect(screen.getByText('null')).toBeTruthy();
  });
});

describe('QueuePage batch decisions', () => {
  it('approves the checked rows with one feedback, and says which did not go through and why', async () => {
    const user = userEvent.setup();
    let decided = false;
    const h = renderWithServer(
      <QueuePage />,
      {
        // After the batch, a1 (approved here) and a2 (by bob) are no longer pending.
        PendingApprovals: () => ({
          data: {
            pendingApprovals: {
              edges: (decided ? ['a3'] : ['a1', 'a2', 'a3']).map((id) => ({
                cursor: `c-${id}`,
                node: queueApproval(id, Number(id.slice(1))),
              })),
              pageInfo: { hasNextPage: false, endCursor: 'c-a3' },
            },
          },
        }),
        ApproveMany: () => {
          decided = true;
          return {
            data: {
              approveMany: {
                decided: 1,
                results: [
                  {
                    id: 'a1',
                    ok: true,
                    error: null,
                    nextWorkflow: { __typename: 'Workflow', id: 'wf-next', type: 'apply_feedback' },
                    approval: { __typename: 'Approval', id: 'a1', status: 'APPROVED', approvalsCount: 1, requiredApprovals: 1 },
                  },
                  {
                    id: 'a2',
                    ok: false,
                    error: { code: 'CONFLICT', message: 'approval a2 was already approved by bob' },
                    nextWorkflow: null,
                    approval: null,
                  },
                ],
              },
            },
          };
        },
      },
      { path: '/' },
    );
    await screen.findByText('prompt a1');
    await settle();
    expect(screen.getByRole('button', { name: 'Approve selected' }).hasAttribute('disabled')).toBe(true);

    // x toggles the current row; a click checks another.
    fireEvent.keyDown(document.body, { key: 'x' });
    expect((screen.getByRole('checkbox', { name: 'Select draft: prompt a1' }) as HTMLInputElement).checked).toBe(true);
    await user.click(screen.getByRole('checkbox', { name: 'Select draft: prompt a2' }));
    expect(screen.getByText('2 selected')).toBeTruthy();
    const all = screen.getByRole('checkbox', { name: 'Select all pending approvals shown' }) as HTMLInputElement;
    expect(all.indeterminate).toBe(true);

    await user.type(screen.getByLabelText('Feedback for every selected approval (optional)'), 'Tighten the ending.');
    await user.click(screen.getByRole('button', { name: 'Approve 2 selected' }));
    const report = await screen.findByTestId('batch-result');
    expect(within(report).getByRole('heading', { name: 'Approved 1 of 2.' })).toBeTruthy();
    expect(h.calls.find((c) => c.operationName === 'ApproveMany')?.variables).toEqual({
      items: [
        { id: 'a1', version: 1 },
        { id: 'a2', version: 1 },
      ],
      feedback: 'Tighten the ending.',
    });
    expect(within(report).getByRole('link', { name: 'apply feedback' }).getAttribute('href')).toBe('/workflows/wf-next');
    expect(within(report).getByText('Someone else decided it first, or it changed.')).toBeTruthy();
    expect(within(report).getByText('approval a2 was already approved by bob')).toBeTruthy();
    expect(document.activeElement).toBe(report);

    // Both decided ones left the queue (the conflict was decided by bob: the queue read again).
    await waitFor(() =>
      expect(
        within(screen.getByRole('table'))
          .getAllByRole('row')
          .slice(1)
          .map((r) => r.dataset.approvalId),
      ).toEqual(['a3']),
    );
    expect(screen.getByText('None selected')).toBeTruthy();
    await user.click(all);
    expect(screen.getByText('1 selected')).toBeTruthy();
  });

  it('shows a refused batch as a notice and keeps the selection', async () => {
    const user = userEvent.setup();
    renderWithServer(
      <QueuePage />,
      {
        PendingApprovals: () => ({
          data: {
            pendingApprovals: {
              edges: [{ cursor: 'c1', node: queueApproval('a1', 1) }],
              pageInfo: { hasNextPage: false, endCursor: 'c1' },
            },
          },
        }),
        ApproveMany: () => ({
          data: null,
          errors: [{ message: 'items: at most 100', extensions: { code: 'BAD_USER_INPUT', field: 'items' } }],
        }),
      },
      { path: '/' },
    );
    await user.click(await screen.findByRole('checkbox', { name: 'Select draft: prompt a1' }));
    await user.click(screen.getByRole('button', { name: 'Approve selected' }));
    await screen.findByText('items: at most 100');
    expect(screen.getByText('1 selected')).toBeTruthy();
  });
});

const experimentApproval = () =>
  reviewApproval('PENDING', {
    artifactType: 'experiment_results',
    artifactData: { summary: experimentFixture.summary },
    score: 57.5,
    nextWorkflowType: 'deploy_config',
    rejectWorkflowType: null,
    rejectRequiresFeedback: false,
    workflow: { __typename: 'Workflow', id: 'exp-1', type: 'run_experiment', createdAt: T0, triggeredByApproval: null },
    artifact: null,
    experiment: { __typename: 'Experiment', ...experimentFixture },
  });

describe('ReviewPage for experiment results', () => {
  it('shows the summary, charts with text alternatives, ANOVA, the optimum against production, and sortable runs', async () => {
    const user = userEvent.setup();
    renderWithServer(<ReviewAt />, { ReviewApproval: () => ({ data: { approval: experimentApproval() } }) }, {
      path: '/approvals/ap-1',
    });
    const chart = await screen.findByRole('img', { name: 'candidates: mean score by level' });
    expect(chart.getAttribute('aria-describedby')).toBeTruthy();
    const desc = document.getElementById(chart.getAttribute('aria-describedby') ?? '');
    expect(desc?.textContent).toBe('candidates=1: 40.5; candidates=2: 52.5. Best level: candidates=2.');
    expect(screen.getByRole('img', { name: 'temperature: S/N ratio by level' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Share of the variation in score, per factor' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Share of the variation in S/N ratio, per factor' })).toBeTruthy();
    // The summary comes first.
    const sections = screen.getByTestId('experiment').querySelectorAll(':scope > section');
    expect(sections[0]?.textContent).toContain(experimentFixture.summary);
    // The pooled factor is marked in the S/N ANOVA table.
    const snTable = screen.getByRole('table', { name: /ANOVA of S\/N ratio/ });
    expect(within(snTable).getByText('pooled')).toBeTruthy();
    // The optimum against the control arm.
    expect(within(screen.getByTestId('optimum')).getByText('minimalist')).toBeTruthy();
    expect(screen.getByTestId('compare-delta').textContent).toContain('+16.5 points');
    // Approving deploys, and the panel says so.
    expect(screen.getByText(/Approving starts deploy config/)).toBeTruthy();
    expect(screen.getByRole('button', { name: /Approve and deploy/ })).toBeTruthy();

    // The failed run is marked and has no score.
    const runs = screen.getByTestId('runs-table');
    const failed = runs.querySelector('tr[data-failed]') as HTMLElement;
    expect(within(failed).getByText('Failed')).toBeTruthy();
    expect(within(failed).getByText('model timed out after 60 s')).toBeTruthy();

    const scores = () => [...runs.querySelectorAll('tbody td.score-col')].map((td) => td.textContent);
    const header = within(runs).getByRole('columnheader', { name: /Score/ });
    expect(header.getAttribute('aria-sort')).toBeNull();
    await user.click(within(header).getByRole('button'));
    expect(header.getAttribute('aria-sort')).toBe('ascending');
    expect(scores()).toEqual(['38.5', '38.5', '41', '41', '42.5', '47.5', '47.5', '57.5', '57.5', '—']);
    await user.click(within(header).getByRole('button'));
    expect(header.getAttribute('aria-sort')).toBe('descending');
    expect(scores()[0]).toBe('57.5');
    expect(scores().at(-1)).toBe('—');
    expect(runs.querySelectorAll('th[aria-sort]').length).toBe(1);
  });
});

const deployment = (id: string, second: number, active: boolean, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  __typename: 'Deployment',
  id,
  target: 'generate_draft',
  environment: 'production',
  config,
  active,
  experimentId: 'exp-1',
  rolledBackFrom: null,
  deployedBy: 'anonymous',
  createdAt: `2026-11-25T10:00:0${second}+00:00`,
  approval: { __typename: 'Approval', id: 'ap-9', decidedBy: 'alice', decidedAt: T0 },
  ...extra,
});

describe('DeploymentsPage', () => {
  const first = deployment('d1', 1, false, { system_prompt: 'minimalist' });
  const second = deployment('d2', 2, true, { system_prompt: 'cinematic' }, { experimentId: null, approval: null });

  const handlers = (rollback: () => { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }) => ({
    DeploymentPlaces: () => ({
      data: {
        deployments: {
          edges: [
            { node: { __typename: 'Deployment', id: 'd2', target: 'generate_draft', environment: 'production' } },
            { node: { __typename: 'Deployment', id: 'd0', target: 'generate_draft', environment: 'staging' } },
          ],
        },
      },
    }),
    Deployments: () => ({
      data: {
        activeDeployment: second,
        deployments: {
          edges: [{ node: second }, { node: first }],
          pageInfo: { hasNextPage: false, endCursor: 'c' },
        },
      },
    }),
    RollbackDeployment: rollback,
  });

  it('shows the active config and the history with where each came from', async () => {
    renderWithServer(<DeploymentsPage />, handlers(() => ({ data: null })), { path: '/deployments' });
    const active = await screen.findByTestId('active-deployment');
    await within(active).findByText(/cinematic/);
    const rows = () => [...document.querySelectorAll<HTMLElement>('tr[data-deployment-id]')];
    await waitFor(() => expect(rows().map((r) => r.dataset.deploymentId)).toEqual(['d2', 'd1']));
    const [newest, older] = rows() as [HTMLElement, HTMLElement];
    expect(within(newest).getByText('Active')).toBeTruthy();
    expect(within(newest).queryByRole('button')).toBeNull();
    expect(within(older).getByRole('link', { name: /Experiment/ }).getAttribute('href')).toBe('/workflows/exp-1');
    expect(within(older).getByRole('link', { name: 'Approval' }).getAttribute('href')).toBe('/approvals/ap-9');
    await waitFor(() =>
      expect(within(screen.getByLabelText('Environment')).getAllByRole('option').map((o) => o.textContent)).toEqual([
        'production',
        'staging',
      ]),
    );
  });

  it('rolls back only after confirming, and says a conflict plainly', async () => {
    const user = userEvent.setup();
    const h = renderWithServer(
      <DeploymentsPage />,
      handlers(() => ({
        data: null,
        errors: [
          {
            message: 'another deployment of this target and environment was activated at the same time; try again',
            extensions: { code: 'CONFLICT' },
          },
        ],
      })),
      { path: '/deployments' },
    );
    const button = await screen.findByRole('button', { name: /Roll back to the config deployed/ });
    await user.click(button);
    const dialog = screen.getByRole('alertdialog', { name: 'Roll back generate draft in production?' });
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(h.calls.some((c) => c.operationName === 'RollbackDeployment')).toBe(false);
    expect(document.activeElement).toBe(button);

    await user.click(button);
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Roll back' }));
    await screen.findByText('Not rolled back: nothing changed');
    expect(screen.getByText(/activated at the same time; try again/)).toBeTruthy();
    expect(h.calls.find((c) => c.operationName === 'RollbackDeployment')?.variables).toEqual({ id: 'd1' });
  });

  it('confirms a rollback that went through', async () => {
    const user = userEvent.setup();
    renderWithServer(
      <DeploymentsPage />,
      handlers(() => ({
        data: { rollbackDeployment: deployment('d3', 3, true, { system_prompt: 'minimalist' }, { rolledBackFrom: 'd1', approval: null }) },
      })),
      { path: '/deployments' },
    );
    await user.click(await screen.findByRole('button', { name: /Roll back to the config deployed/ }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Roll back' }));
    const done = await screen.findByTestId('rollback-done');
    expect(done.textContent).toContain('system_prompt minimalist');
  });
});

const workflowRow = (id: string, minute: number, status: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Workflow',
  id,
  type: 'generate_draft',
  status,
  input: { prompt: `prompt ${id}` },
  attempt: status === 'PENDING' ? 0 : 1,
  maxAttempts: 3,
  runAfter: `2026-11-25T10:0${minute}:00+00:00`,
  createdAt: `2026-11-25T10:0${minute}:00+00:00`,
  startedAt: null,
  completedAt: null,
  error: null,
  chainId: id,
  approval: null,
  ...extra,
});

describe('WorkflowsPage', () => {
  it('follows pushed status changes; only a pending row makes it read again', async () => {
    let reads = 0;
    const h = renderWithServer(
      <WorkflowsPage />,
      {
        WorkflowTypeNames: () => ({ data: { workflowTypes: [{ __typename: 'WorkflowType', name: 'generate_draft' }] } }),
        Workflows: () => {
          reads++;
          return {
            data: {
              workflows: {
                edges: [{ cursor: 'c1', node: workflowRow('w1', 1, 'RUNNING') }],
                pageInfo: { hasNextPage: false, endCursor: 'c1' },
              },
            },
          };
        },
      },
      { path: '/workflows' },
    );
    await screen.findByText('prompt w1');
    await waitFor(() => expect(h.openSubscriptions()).toContain('WorkflowsLive'));
    const status = (id: string) => document.querySelector(`tr[data-workflow-id="${id}"] [data-status]`)?.getAttribute('data-status');
    expect(status('w1')).toBe('RUNNING');

    act(() => h.push('WorkflowsLive', { workflowEvents: { kind: 'COMPLETED', workflow: workflowRow('w1', 1, 'COMPLETED') } }));
    await waitFor(() => expect(status('w1')).toBe('COMPLETED'));
    // Nothing pending: no timer, no reads.
    await new Promise((r) => setTimeout(r, 1000));
    expect(reads).toBe(1);

    act(() => h.push('WorkflowsLive', { workflowEvents: { kind: 'CREATED', workflow: workflowRow('w2', 2, 'PENDING') } }));
    await screen.findByText('prompt w2');
    const ids = [...document.querySelectorAll<HTMLElement>('tr[data-workflow-id]')].map((r) => r.dataset.workflowId);
    expect(ids).toEqual(['w2', 'w1']);
    // A claim is not pushed: the pending row makes the page read once it is due.
    await waitFor(() => expect(reads).toBe(2), { timeout: 2500 });
  });
});
