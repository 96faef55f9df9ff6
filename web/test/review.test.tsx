// The review page under approval policies (issue 8): k of n votes, the
// policy and votes shown, edit-then-approve with a merge patch, and what a
// conflict says.

import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ReviewPage } from '../src/pages/ReviewPage';
import { Routes } from '../src/router';
import { experimentFixture } from './experimentFixture';
import { defaultPolicy, reviewApproval, T0, vote } from './fixtures';
import { renderWithServer, viewerAs } from './harness';

const settle = () => act(async () => {});

function ReviewAt() {
  return <Routes routes={[{ path: '/approvals/:id', render: () => <ReviewPage /> }]} fallback={null} />;
}

const twoOfTwo = (extra: Record<string, unknown> = {}) =>
  reviewApproval('PENDING', {
    requiredApprovals: 2,
    policy: defaultPolicy({ requiredApprovals: 2, isDefault: false, expiresInSeconds: 86_400, remindAfterSeconds: 3600, escalateAfterSeconds: 43_200, escalateTo: ['ada'], onExpiry: { __typename: 'ExpiryOutcome', action: 'REJECT', reason: 'nobody looked', workflowType: null } }),
    ...extra,
  });

describe('ReviewPage: policy and votes', () => {
  it('shows "1 of 2 approvals", the votes (stale ones marked) and the policy', async () => {
    renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({
          data: {
            approval: twoOfTwo({
              approvalsCount: 1,
              votes: [
                vote('v1', 'bo', 'APPROVE', { artifactVersion: 1, stale: true, feedback: 'Fine by me.' }),
                vote('v2', 'cy', 'APPROVE', { artifactVersion: 2 }),
              ],
              artifact: {
                __typename: 'Artifact',
                id: 'art-2',
                kind: 'draft',
                version: 2,
                content: { text: 'Mara slowly opens the letter.' },
                author: 'dee',
                parent: { __typename: 'Artifact', id: 'art-1', version: 1, content: { text: 'Mara opens the letter.' } },
              },
            }),
          },
        }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    const progress = await screen.findByTestId('approval-progress');
    expect(within(progress).getByTestId('approvals-count').textContent).toBe('1 of 2 approvals on version 2');
    expect(within(progress).getByTestId('edited-by').textContent).toContain('an edit by dee');
    const votes = within(progress).getAllByRole('listitem');
    expect(votes.map((v) => v.dataset.stale ?? '')).toEqual(['true', '']);
    expect(within(votes[0] as HTMLElement).getByText('Stale')).toBeTruthy();
    expect(within(votes[0] as HTMLElement).getByText('Fine by me.')).toBeTruthy();
    const policy = within(progress).getByTestId('policy');
    expect(policy.textContent).toContain('It needs 2 approvals from different people');
    expect(policy.textContent).toContain('Reviewers and admins');
    expect(policy.textContent).toContain('Whoever started the chain (sam) may not decide it.');
    expect(policy.textContent).toContain('Undecided after 1 day, it is rejected (“nobody looked”).');
    expect(policy.textContent).toContain(
      'Reviewers who have not voted are reminded after 1 hour; undecided after 12 hours, ada is told.',
    );
    // The decision hint says a single approval is a vote here.
    expect(screen.getByText(/It takes 2 approvals \(1 so far\)/)).toBeTruthy();
  });
});

describe('ReviewPage: edit then approve', () => {
  it('edits the draft, shows the reviewer’s own edits as a diff, and approves with a merge patch of the text', async () => {
    const user = userEvent.setup();
    let voted = false;
    const h = renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({
          data: {
            approval: voted
              ? twoOfTwo({
                  artifactVersion: 3,
                  approvalsCount: 1,
                  votes: [vote('v1', 'ana', 'APPROVE', { artifactVersion: 3 })],
                  viewerCanDecide: { __typename: 'Eligibility', allowed: false, reason: 'You already approved version 3' },
                })
              : twoOfTwo(),
          },
        }),
        Approve: () => {
          voted = true;
          return {
            data: {
              approve: {
                decided: false,
                vote: vote('v1', 'ana', 'APPROVE', { artifactVersion: 3 }),
                approval: {
                  __typename: 'Approval',
                  id: 'ap-1',
                  status: 'PENDING',
                  decidedBy: null,
                  decidedAt: null,
                  feedback: null,
                  approvalsCount: 1,
                  requiredApprovals: 2,
                  artifactVersion: 3,
                },
                nextWorkflow: null,
              },
            },
          };
        },
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByText('Plain but clear.');
    await user.click(screen.getByRole('button', { name: 'Edit the text' }));
    const editor = screen.getByTestId('artifact-editor');
    const text = within(editor).getByLabelText('Text') as HTMLTextAreaElement;
    expect(text.value).toBe('Mara slowly opens the letter.');
    expect(within(editor).getByText('No changes yet.')).toBeTruthy();
    await user.clear(text);
    await user.type(text, 'Mara slowly, warily opens the letter.');
    const own = within(editor).getByTestId('own-edits');
    expect(within(own).getByText('warily', { exact: false, selector: 'ins' })).toBeTruthy();
    expect(screen.getByText(/Approving saves your edits as version 3/)).toBeTruthy();

    await user.click(screen.getByRole('button', { name: /Approve with edits/ }));
    await screen.findByTestId('vote-recorded');
    expect(screen.getByTestId('vote-recorded').textContent).toBe(
      'Your approval is recorded: 1 of 2 approvals. It needs 1 more from someone else.',
    );
    expect(h.calls.find((c) => c.operationName === 'Approve')?.variables).toEqual({
      id: 'ap-1',
      version: 2,
      feedback: null,
      edits: { text: 'Mara slowly, warily opens the letter.' },
    });
    // Now it waits for someone else; this reviewer cannot vote again.
    await screen.findByTestId('decision-blocked');
    expect(screen.getByTestId('decision-blocked-reason').textContent).toBe('You already approved version 3');
    expect(screen.queryByTestId('artifact-editor')).toBeNull();
  });

  it('edits an experiment’s optimal config and sends only the changed value', async () => {
    const user = userEvent.setup();
    const h = renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({
          data: {
            approval: reviewApproval('PENDING', {
              artifactType: 'experiment_results',
              artifactData: { summary: experimentFixture.summary },
              score: 57.5,
              nextWorkflowType: 'deploy_config',
              rejectWorkflowType: null,
              rejectRequiresFeedback: false,
              artifactVersion: 1,
              workflow: { __typename: 'Workflow', id: 'exp-1', type: 'run_experiment', createdAt: T0, triggeredByApproval: null },
              artifact: {
                __typename: 'Artifact',
                id: 'art-e',
                kind: 'experiment_results',
                version: 1,
                content: { summary: 'x', optimal_config: experimentFixture.optimalConfig },
                author: null,
                parent: null,
              },
              experiment: { __typename: 'Experiment', ...experimentFixture },
            }),
          },
        }),
        Approve: () => ({ data: null, errors: [{ message: 'stop here', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('ADMIN', 'ada') },
    );
    await user.click(await screen.findByRole('button', { name: 'Edit the config' }));
    const editor = screen.getByTestId('artifact-editor');
    const temperature = within(editor).getByLabelText(/Temperature/) as HTMLInputElement;
    expect(temperature.value).toBe('0.3');
    await user.clear(temperature);
    await user.type(temperature, '0.7');
    const own = within(editor).getByTestId('own-edits');
    expect(within(own).getByText('0.7', { selector: 'ins' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: /Approve with edits/ }));
    await screen.findByText('stop here');
    expect(h.calls.find((c) => c.operationName === 'Approve')?.variables).toEqual({
      id: 'ap-1',
      version: 1,
      feedback: null,
      edits: { optimal_config: { temperature: 0.7 } },
    });
  });
});

describe('ReviewPage: conflicts', () => {
  it('says the artifact changed (with its version now) and reloads on request', async () => {
    let reads = 0;
    renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => {
          reads++;
          return { data: { approval: reads === 1 ? reviewApproval('PENDING') : reviewApproval('PENDING', { artifactVersion: 3 }) } };
        },
        Reject: () => ({
          data: null,
          errors: [{ message: 'the artifact changed: it is now version 3', extensions: { code: 'CONFLICT', currentVersion: 3 } }],
        }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByText('Plain but clear.');
    await settle();
    fireEvent.keyDown(document.body, { key: 'r' });
    const notice = await screen.findByTestId('version-changed');
    expect(within(notice).getByText('The artifact changed (now version 3): reload.')).toBeTruthy();
    expect(reads).toBe(1);
    fireEvent.click(within(notice).getByRole('button', { name: 'Reload' }));
    await waitFor(() => expect(reads).toBe(2));
    await waitFor(() => expect(screen.queryByTestId('version-changed')).toBeNull());
  });
});
