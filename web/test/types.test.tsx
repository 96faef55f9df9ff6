// Declared workflow types (issue 9) in the review app: the start form from
// a declared schema, the approval of a declared type read through the
// artifactSchema of the version that made it, the version in queue and
// chain views, and the Workflow types page with the admin's declare form.

import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { QueuePage } from '../src/pages/QueuePage';
import { ReviewPage } from '../src/pages/ReviewPage';
import { StartWorkflowPage } from '../src/pages/StartWorkflowPage';
import { TypeDetailPage, TypesPage } from '../src/pages/TypesPage';
import { Routes } from '../src/router';
import { chainWorkflow, queueApproval, reviewApproval, T0 } from './fixtures';
import { renderWithServer, viewerAs } from './harness';

const settle = () => act(async () => {});

const artifactSchema = {
  title: 'Ticket summary',
  description: 'What the summarizer made of the ticket.',
  type: 'object',
  properties: {
    headline: { type: 'string', title: 'Headline', description: 'One line for the queue.' },
    body: { type: 'string', title: 'Summary text' },
    key_points: { type: 'array', title: 'Key points', items: { type: 'string' } },
    source: { type: 'object', title: 'Source', properties: { pages: { type: 'integer', title: 'Pages read' } } },
  },
};

const summarizeType = (version: number, extra: Record<string, unknown> = {}) => ({
  __typename: 'WorkflowType',
  name: 'summarize',
  description: 'Summarizes a ticket.',
  version,
  builtIn: false,
  requiresApproval: true,
  artifactKind: 'summary',
  nextOnApprove: { __typename: 'NextStep', workflowType: 'publish_summary', input: { channel: 'ops' }, requiresFeedback: true },
  nextOnReject: { __typename: 'NextStep', workflowType: 'summarize', input: {}, requiresFeedback: true },
  timeoutSeconds: 300,
  maxAttempts: 3,
  retryBaseSeconds: 2,
  declaredBy: 'ada',
  declaredAt: T0,
  inputSchema: {
    type: 'object',
    required: ['ticket'],
    $defs: { Ticket: { type: 'string', title: 'Ticket', pattern: '^[A-Z]+-\\d+$' } },
    properties: {
      ticket: { $ref: '#/$defs/Ticket' },
      audience: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], title: 'Audience' },
    },
  },
  outputSchema: null,
  artifactSchema,
  configSchema: null,
  ...extra,
});

const builtInType = {
  __typename: 'WorkflowType',
  name: 'generate_draft',
  description: 'Drafts a scene from a brief.',
  version: 1,
  builtIn: true,
  requiresApproval: true,
  artifactKind: 'draft',
  nextOnApprove: { __typename: 'NextStep', workflowType: 'apply_feedback', input: {}, requiresFeedback: false },
  nextOnReject: { __typename: 'NextStep', workflowType: 'apply_feedback', input: {}, requiresFeedback: true },
  timeoutSeconds: 300,
  maxAttempts: 3,
  retryBaseSeconds: 2,
  declaredBy: null,
  declaredAt: null,
  inputSchema: { type: 'object', properties: { prompt: { type: 'string' } } },
};

const publishType = {
  ...builtInType,
  name: 'publish_summary',
  builtIn: false,
  requiresApproval: false,
  nextOnApprove: null,
  nextOnReject: null,
  declaredBy: 'ada',
  declaredAt: T0,
};

function ReviewAt() {
  return <Routes routes={[{ path: '/approvals/:id', render: () => <ReviewPage /> }]} fallback={null} />;
}

function TypeAt() {
  return <Routes routes={[{ path: '/types/:name', render: () => <TypeDetailPage /> }]} fallback={null} />;
}

const summaryApproval = () =>
  reviewApproval('PENDING', {
    artifactType: 'summary',
    artifactData: {
      headline: 'Printer on floor 3 is down',
      body: 'Toner is empty.\nThe driver is outdated too.',
      key_points: ['toner', 'driver'],
      source: { pages: 3 },
      model_notes: 'extra',
    },
    nextWorkflowType: 'publish_summary',
    rejectWorkflowType: 'summarize',
    workflow: { __typename: 'Workflow', id: 'wf-s', type: 'summarize', typeVersion: 2, createdAt: T0, triggeredByApproval: null },
    artifact: { __typename: 'Artifact', id: 'art-s', kind: 'summary', version: 1, content: {}, author: null, parent: null },
  });

describe('ReviewPage: a declared type', () => {
  it("renders the artifact by the titles of the version's artifactSchema, with a raw JSON toggle", async () => {
    const user = userEvent.setup();
    const h = renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({ data: { approval: summaryApproval() } }),
        ArtifactSchema: (v) => ({
          data: { workflowType: v.version === 2 ? { __typename: 'WorkflowType', name: 'summarize', version: 2, artifactSchema } : null },
        }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    const view = await screen.findByTestId('schema-artifact');
    expect(h.calls.find((c) => c.operationName === 'ArtifactSchema')?.variables).toEqual({ name: 'summarize', version: 2 });
    expect(within(view).getByRole('heading', { name: 'Ticket summary · version 1' })).toBeTruthy();
    expect(within(view).getByText('What the summarizer made of the ticket.')).toBeTruthy();

    const field = (key: string) => view.querySelector(`[data-key="${key}"]`) as HTMLElement;
    expect(within(field('headline')).getByRole('term').textContent).toBe('Headline');
    expect(within(field('headline')).getByText('One line for the queue.')).toBeTruthy();
    expect(within(field('body')).getByText(/Toner is empty\.\s+The driver/).textContent).toBe(
      'Toner is empty.\nThe driver is outdated too.',
    );
    expect(within(field('key_points')).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['toner', 'driver']);
    expect(within(field('source')).getByText('Pages read')).toBeTruthy();
    expect(within(field('model_notes')).getByRole('term').textContent).toBe('Model notes (not in the schema)');
    expect(screen.getByText(/from/).textContent).toContain('summarize v2');
    // The extras come after what the schema names.
    expect([...view.querySelectorAll('[data-key]')].map((e) => e.getAttribute('data-key'))).toEqual([
      'headline',
      'body',
      'key_points',
      'source',
      'pages',
      'model_notes',
    ]);

    await user.click(within(view).getByRole('button', { name: 'Raw JSON' }));
    expect(within(view).getByRole('button', { name: 'Raw JSON' }).getAttribute('aria-pressed')).toBe('true');
    expect(within(view).getByLabelText('Artifact data').textContent).toContain('"headline": "Printer on floor 3 is down"');
    expect(view.querySelector('[data-key]')).toBeNull();
  });

  it('shows JSON as before when the version declares no artifactSchema, and never asks for built-in types', async () => {
    const h = renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({ data: { approval: summaryApproval() } }),
        ArtifactSchema: () => ({
          data: { workflowType: { __typename: 'WorkflowType', name: 'summarize', version: 2, artifactSchema: null } },
        }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByText(/No dedicated view for/);
    expect(screen.queryByTestId('schema-artifact')).toBeNull();
    h.unmount();

    const draft = renderWithServer(
      <ReviewAt />,
      { ReviewApproval: () => ({ data: { approval: reviewApproval('PENDING') } }) },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByRole('heading', { name: /Draft · version 2/ });
    await settle();
    expect(draft.calls.map((c) => c.operationName)).not.toContain('ArtifactSchema');
  });
});

describe('StartWorkflowPage: a declared type', () => {
  it('builds the form from $ref, falls back to JSON for oneOf, checks the pattern, and puts server errors at the field', async () => {
    const user = userEvent.setup();
    let sent: unknown;
    const h = renderWithServer(
      <StartWorkflowPage />,
      {
        StartWorkflowTypes: () => ({ data: { workflowTypes: [summarizeType(2)] } }),
        RunWorkflow: (v) => {
          sent = v.input;
          return {
            data: null,
            errors: [{ message: 'input.audience: ["x"] is not valid', extensions: { code: 'BAD_USER_INPUT', field: 'input.audience' } }],
          };
        },
      },
      { path: '/workflows/new?type=summarize' },
    );
    const ticket = await screen.findByLabelText(/^Ticket/);
    expect(screen.getByRole('option', { name: 'summarize v2' })).toBeTruthy();
    const audience = screen.getByLabelText(/^Audience/);
    expect(audience.tagName).toBe('TEXTAREA');

    await user.type(ticket, 'ops-1');
    fireEvent.change(audience, { target: { value: '["x"]' } });
    await user.click(screen.getByRole('button', { name: /Start summarize/ }));
    expect(screen.getByText('Must match the pattern ^[A-Z]+-\\d+$.')).toBeTruthy();
    expect(h.calls.some((c) => c.operationName === 'RunWorkflow')).toBe(false);

    await user.clear(ticket);
    await user.type(ticket, 'OPS-1');
    await user.click(screen.getByRole('button', { name: /Start summarize/ }));
    const error = await screen.findByText('["x"] is not valid');
    expect(sent).toEqual({ type: 'summarize', input: { ticket: 'OPS-1', audience: ['x'] }, idempotencyKey: null });
    expect(audience.getAttribute('aria-describedby')).toContain(error.id);
  });
});

describe('queue and chain views: the version a workflow ran with', () => {
  it('names declared types with their version in the queue', async () => {
    renderWithServer(
      <QueuePage />,
      {
        PendingApprovals: () => ({
          data: {
            pendingApprovals: {
              edges: [
                {
                  cursor: 'c1',
                  node: queueApproval('a1', 1, {
                    artifactType: 'summary',
                    artifactData: { headline: 'Printer down' },
                    workflow: { __typename: 'Workflow', id: 'wf-a1', type: 'summarize', typeVersion: 2 },
                  }),
                },
              ],
              pageInfo: { hasNextPage: false, endCursor: 'c1' },
            },
          },
        }),
      },
      { path: '/' },
    );
    const row = (await screen.findByText('Printer down')).closest('tr') as HTMLElement;
    expect(within(row).getByText('summarize v2')).toBeTruthy();
  });

  it('names the next workflow with its version after a decision', async () => {
    const user = userEvent.setup();
    renderWithServer(
      <ReviewAt />,
      {
        ReviewApproval: () => ({ data: { approval: summaryApproval() } }),
        ArtifactSchema: () => ({
          data: { workflowType: { __typename: 'WorkflowType', name: 'summarize', version: 2, artifactSchema } },
        }),
        Approve: () => ({
          data: {
            approve: {
              __typename: 'DecideApprovalPayload',
              decided: true,
              vote: null,
              approval: {
                __typename: 'Approval',
                id: 'ap-1',
                status: 'APPROVED',
                decidedBy: 'ana',
                decidedAt: T0,
                feedback: null,
                approvalsCount: 1,
                requiredApprovals: 1,
                artifactVersion: 2,
              },
              nextWorkflow: chainWorkflow('wf-p', 'PENDING', { type: 'publish_summary', typeVersion: 1 }),
            },
          },
        }),
        NextWorkflow: () => ({ data: { workflow: chainWorkflow('wf-p', 'PENDING', { type: 'publish_summary', typeVersion: 1 }) } }),
      },
      { path: '/approvals/ap-1', viewer: viewerAs('REVIEWER', 'ana') },
    );
    await screen.findByTestId('schema-artifact');
    expect(screen.getByText(/Approving starts publish summary\./)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: /^Approve/ }));
    const next = await screen.findByTestId('next-workflow');
    expect(within(next).getByRole('link', { name: 'publish summary v1' })).toBeTruthy();
  });
});

describe('TypesPage', () => {
  it('lists built-in and declared types for everyone; only admins get the declare form', async () => {
    renderWithServer(
      <TypesPage />,
      { WorkflowTypesList: () => ({ data: { workflowTypes: [builtInType, summarizeType(2), publishType] } }) },
      { path: '/types', viewer: viewerAs('REVIEWER', 'ana') },
    );
    const table = await screen.findByRole('table', { name: 'Workflow types' });
    const row = (name: string) => table.querySelector(`tr[data-type="${name}"]`) as HTMLElement;
    expect(within(row('generate_draft')).getByText('built-in')).toBeTruthy();
    expect(within(row('summarize')).getByText('v2')).toBeTruthy();
    expect(within(row('summarize')).getByRole('link', { name: 'publish summary' })).toBeTruthy();
    expect(within(row('summarize')).getByText('(only with feedback)')).toBeTruthy();
    expect(within(row('summarize')).getByText('5 minutes')).toBeTruthy();
    expect(within(row('summarize')).getByText('3, retried after 2 s, doubling')).toBeTruthy();
    expect(within(row('summarize')).getByText('ada')).toBeTruthy();
    expect(within(row('publish_summary')).getAllByText('—')).toHaveLength(2);
    expect(screen.queryByRole('button', { name: 'Declare a type' })).toBeNull();
    expect(screen.getByText(/Admins declare new types and versions\./)).toBeTruthy();
  });

  it('lets an admin declare a type: parse errors inline before sending, server field errors at the field', async () => {
    const user = userEvent.setup();
    const sent: unknown[] = [];
    let reply: 'error' | 'ok' = 'error';
    renderWithServer(
      <TypesPage />,
      {
        WorkflowTypesList: () => ({ data: { workflowTypes: [builtInType, publishType] } }),
        DeclareWorkflowType: (v) => {
          sent.push(v.input);
          return reply === 'error'
            ? {
                data: null,
                errors: [
                  {
                    message: 'input.nextOnApprove.workflowType: unknown workflow type publish_sumary',
                    extensions: { code: 'BAD_USER_INPUT', field: 'input.nextOnApprove.workflowType' },
                  },
                ],
              }
            : { data: { declareWorkflowType: summarizeType(1) } };
        },
      },
      { path: '/types', viewer: viewerAs('ADMIN') },
    );
    await user.click(await screen.findByRole('button', { name: 'Declare a type' }));
    const form = screen.getByRole('form', { name: 'Declare a workflow type' });
    await user.type(within(form).getByLabelText(/^Name/), 'summarize');
    const artifact = within(form).getByLabelText(/^Artifact schema/);
    fireEvent.change(artifact, { target: { value: '{"type": "object", "properties": {' } });
    fireEvent.blur(artifact);
    const parseError = within(form).getByText(/^Not valid JSON/);
    expect(artifact.getAttribute('aria-invalid')).toBe('true');
    expect(artifact.getAttribute('aria-describedby')).toContain(parseError.id);

    await user.click(within(form).getByRole('button', { name: 'Declare the type' }));
    expect(sent).toHaveLength(0);
    expect(document.activeElement).toBe(artifact);

    fireEvent.change(artifact, { target: { value: JSON.stringify(artifactSchema) } });
    expect(within(form).queryByText(/^Not valid JSON/)).toBeNull();
    await user.selectOptions(within(form).getByLabelText(/^Approving starts/), 'publish_summary');
    fireEvent.change(within(form).getByLabelText(/^Input added on approval/), { target: { value: '{"channel": "ops"}' } });
    await user.type(within(form).getByLabelText(/^Timeout/), '120');
    await user.click(within(form).getByRole('button', { name: 'Declare the type' }));
    await within(form).findByText('Unknown workflow type publish_sumary');
    expect(within(form).getByLabelText(/^Approving starts/).getAttribute('aria-invalid')).toBe('true');
    expect(sent[0]).toMatchObject({
      name: 'summarize',
      inputSchema: { type: 'object', properties: {}, required: [] },
      artifactSchema,
      requiresApproval: true,
      nextOnApprove: { workflowType: 'publish_summary', input: { channel: 'ops' } },
      nextOnReject: null,
      timeoutSeconds: 120,
      maxAttempts: null,
    });

    reply = 'ok';
    await user.click(within(form).getByRole('button', { name: 'Declare the type' }));
    expect((await screen.findByTestId('type-declared')).textContent).toContain('Declared summarize v1.');
    expect(screen.queryByRole('form', { name: 'Declare a workflow type' })).toBeNull();
  });
});

describe('TypeDetailPage', () => {
  it('shows one version with its schemas and versions; an admin declares the next one from it', async () => {
    const user = userEvent.setup();
    const sent: unknown[] = [];
    renderWithServer(
      <TypeAt />,
      {
        WorkflowTypeDetail: (v) => ({
          data: {
            latest: { __typename: 'WorkflowType', name: 'summarize', version: 2 },
            workflowType: summarizeType((v.version as number | null) ?? 2),
            workflowTypes: [
              { __typename: 'WorkflowType', name: 'generate_draft', builtIn: true },
              { __typename: 'WorkflowType', name: 'summarize', builtIn: false },
              { __typename: 'WorkflowType', name: 'publish_summary', builtIn: false },
            ],
          },
        }),
        DeclareWorkflowType: (v) => {
          sent.push(v.input);
          return { data: { declareWorkflowType: summarizeType(1) } };
        },
      },
      { path: '/types/summarize?version=1', viewer: viewerAs('ADMIN') },
    );
    await screen.findByRole('heading', { level: 1, name: /summarize/ });
    expect(screen.getByText(/This is version 1; new runs use version 2/)).toBeTruthy();
    const versions = screen.getByRole('navigation', { name: 'Versions' });
    expect(within(versions).getByRole('link', { name: 'v1' }).getAttribute('aria-current')).toBe('page');
    expect(screen.getByLabelText('Artifact schema', { selector: 'pre' }).textContent).toContain('"title": "Ticket summary"');
    expect(screen.getByLabelText('Input schema', { selector: 'pre' }).textContent).toContain('"$defs"');
    expect(screen.getByText('None declared: any output is accepted.')).toBeTruthy();
    expect(screen.getByText('On approve').nextElementSibling?.textContent).toBe(
      'publish summary, with {"channel":"ops"} added to its input',
    );
    expect(screen.getByText('On reject').nextElementSibling?.textContent).toBe(
      'summarize, only when the reviewer wrote feedback',
    );

    await user.click(screen.getByRole('button', { name: 'Declare a new version' }));
    const form = screen.getByRole('form', { name: 'Declare a new version of summarize' });
    expect((within(form).getByLabelText(/^Name/) as HTMLInputElement).readOnly).toBe(true);
    expect((within(form).getByLabelText(/^Artifact kind/) as HTMLInputElement).value).toBe('summary');
    await user.click(within(form).getByRole('button', { name: 'Declare the new version' }));
    expect((await screen.findByTestId('type-declared')).textContent).toContain('Nothing changed: summarize is still version 1.');
    expect(sent[0]).toMatchObject({
      name: 'summarize',
      artifactKind: 'summary',
      artifactSchema,
      nextOnApprove: { workflowType: 'publish_summary', input: { channel: 'ops' } },
      nextOnReject: { workflowType: 'summarize', input: null, requiresFeedback: true },
      timeoutSeconds: 300,
    });
  });

  it('says a type is not found', async () => {
    renderWithServer(
      <TypeAt />,
      { WorkflowTypeDetail: () => ({ data: { latest: null, workflowType: null, workflowTypes: [] } }) },
      { path: '/types/nope', viewer: viewerAs('VIEWER') },
    );
    await screen.findByRole('heading', { name: 'Workflow type not found' });
    await waitFor(() => expect(screen.queryByRole('button', { name: /Declare/ })).toBeNull());
  });
});
