// Page tests against a faked transport (test/harness.tsx): the real
// documents, error mapping and components.

import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ArtifactView } from '../src/components/ArtifactView';
import { QueuePage } from '../src/pages/QueuePage';
import { ReviewPage } from '../src/pages/ReviewPage';
import { StartWorkflowPage } from '../src/pages/StartWorkflowPage';
import { Routes } from '../src/router';
import { render } from '@testing-library/react';
import { renderWithServer } from './harness';

const T0 = '2026-11-25T10:00:00+00:00';

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

const queueApproval = (id: string, minute: number, extra: Record<string, unknown> = {}) => ({
  __typename: 'Approval',
  id,
  status: 'PENDING',
  artifactType: 'draft',
  artifactData: { text: `text of ${id}`, brief: { prompt: `prompt ${id}` } },
  score: 50,
  createdAt: `2026-11-25T10:0${minute}:00+00:00`,
  workflow: { __typename: 'Workflow', id: `wf-${id}`, type: 'generate_draft' },
  ...extra,
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

const chainWorkflow = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Workflow',
  id,
  type: 'apply_feedback',
  status,
  chainId: 'chain-1',
  createdAt: T0,
  completedAt: status === 'COMPLETED' ? T0 : null,
  error: null,
  output: status === 'COMPLETED' ? { final: false, score: 61, score_delta: 11.5 } : null,
  approval: status === 'COMPLETED' ? { __typename: 'Approval', id: 'ap-2', status: 'PENDING', score: 61 } : null,
  ...extra,
});

const reviewApproval = (status: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Approval',
  id: 'ap-1',
  status,
  artifactType: 'draft',
  artifactData: {
    text: 'Mara slowly opens the letter.',
    score: 49.5,
    rubric: [{ dimension: 'prose', score: 4, weight: 0.25, reason: 'Plain but clear.' }],
    brief: { prompt: 'Mara finds a letter.' },
  },
  score: 49.5,
  createdAt: T0,
  expiresAt: null,
  chainId: 'chain-1',
  nextWorkflowType: 'apply_feedback',
  rejectWorkflowType: 'apply_feedback',
  rejectRequiresFeedback: true,
  decidedBy: null,
  decidedAt: null,
  feedback: null,
  workflow: { __typename: 'Workflow', id: 'wf-0', type: 'generate_draft', createdAt: T0 },
  artifact: {
    __typename: 'Artifact',
    id: 'art-2',
    kind: 'draft',
    version: 2,
    parent: { __typename: 'Artifact', id: 'art-1', version: 1, content: { text: 'Mara opens the letter.' } },
  },
  nextWorkflow: null,
  ...extra,
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
                  decidedBy: 'anonymous',
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
                approval: { __typename: 'Approval', id: 'ap-1', status: 'APPROVED', decidedBy: 'anonymous', decidedAt: T0, feedback: 'More doubt.' },
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
    expect(h.calls.find((c) => c.operationName === 'Approve')?.variables).toEqual({ id: 'ap-1', feedback: 'More doubt.' });
    const card = await screen.findByTestId('next-workflow');
    expect(card.dataset.status).toBe('PENDING');

    await waitFor(() => expect(h.openSubscriptions()).toContain('ChainCompleted'));
    act(() => h.push('ChainCompleted', { workflowCompleted: chainWorkflow('wf-2', 'COMPLETED') }));
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
              extensions: { code: 'CONFLICT' },
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
