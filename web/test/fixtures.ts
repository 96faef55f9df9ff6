// Server answers the page tests share: the shapes the review app's
// operations read, with the fields of issue 8 (versions, votes, policies).

export const T0 = '2026-11-25T10:00:00+00:00';

export const queueApproval = (id: string, minute: number, extra: Record<string, unknown> = {}) => ({
  __typename: 'Approval',
  id,
  status: 'PENDING',
  artifactType: 'draft',
  artifactData: { text: `text of ${id}`, brief: { prompt: `prompt ${id}` } },
  score: 50,
  createdAt: `2026-11-25T10:0${minute}:00+00:00`,
  workflow: { __typename: 'Workflow', id: `wf-${id}`, type: 'generate_draft' },
  artifactVersion: 1,
  approvalsCount: 0,
  requiredApprovals: 1,
  viewerCanDecide: { __typename: 'Eligibility', allowed: true, reason: null },
  votes: [],
  ...extra,
});

export const vote = (id: string, reviewer: string, decision: 'APPROVE' | 'REJECT', extra: Record<string, unknown> = {}) => ({
  __typename: 'Vote',
  id,
  reviewer: { __typename: 'Actor', name: reviewer, role: 'REVIEWER' },
  decision,
  feedback: null,
  artifactVersion: 2,
  stale: false,
  createdAt: T0,
  ...extra,
});

export const chainWorkflow = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
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

export const defaultPolicy = (extra: Record<string, unknown> = {}) => ({
  __typename: 'ApprovalPolicy',
  workflowType: 'generate_draft',
  allowedRoles: ['REVIEWER', 'ADMIN'],
  allowedUsers: [],
  preventSelfReview: true,
  requiredApprovals: 1,
  expiresInSeconds: null,
  remindAfterSeconds: null,
  escalateAfterSeconds: null,
  escalateTo: [],
  onExpiry: { __typename: 'ExpiryOutcome', action: 'EXPIRE', reason: null, workflowType: null },
  isDefault: true,
  updatedBy: null,
  updatedAt: null,
  ...extra,
});

export const reviewApproval = (status: string, extra: Record<string, unknown> = {}) => ({
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
  artifactVersion: 2,
  artifactSha256: 'c0ffee',
  approvalsCount: 0,
  requiredApprovals: 1,
  startedBy: 'sam',
  viewerCanDecide: { __typename: 'Eligibility', allowed: true, reason: null },
  policy: defaultPolicy(),
  votes: [],
  workflow: { __typename: 'Workflow', id: 'wf-0', type: 'generate_draft', createdAt: T0 },
  artifact: {
    __typename: 'Artifact',
    id: 'art-2',
    kind: 'draft',
    version: 2,
    content: { text: 'Mara slowly opens the letter.' },
    author: null,
    parent: { __typename: 'Artifact', id: 'art-1', version: 1, content: { text: 'Mara opens the letter.' } },
  },
  nextWorkflow: null,
  ...extra,
});
