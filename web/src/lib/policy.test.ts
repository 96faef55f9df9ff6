import { describe, expect, it } from 'vitest';
import {
  approvalsText,
  canControlWorkflow,
  decisionBlock,
  expiryText,
  formatSeconds,
  policyLines,
  remindersText,
  whoMayDecide,
  type PolicyLike,
  type ViewerLike,
} from './policy';
import { parseUserList, policyFieldOf, policyFormValues, policyInput } from './policyForm';

const policy = (extra: Partial<PolicyLike> = {}): PolicyLike => ({
  allowedRoles: ['REVIEWER', 'ADMIN'],
  allowedUsers: [],
  preventSelfReview: true,
  requiredApprovals: 2,
  expiresInSeconds: null,
  onExpiry: { action: 'EXPIRE', reason: null, workflowType: null },
  ...extra,
});

const viewer = (role: ViewerLike['role'], name = 'ana'): ViewerLike => {
  const rank = ['VIEWER', 'SUBMITTER', 'REVIEWER', 'ADMIN'].indexOf(role);
  return { name, role, canSubmit: rank >= 1, canReview: rank >= 2, isAdmin: rank >= 3 };
};

describe('policy text', () => {
  it('counts approvals', () => {
    expect(approvalsText(1, 2)).toBe('1 of 2 approvals');
    expect(approvalsText(0, 1)).toBe('0 of 1 approval');
  });

  it('says who may decide', () => {
    expect(whoMayDecide(policy())).toBe('Reviewers and admins');
    expect(whoMayDecide(policy({ allowedRoles: ['ADMIN'], allowedUsers: ['bo', 'cy'] }))).toBe(
      'Admins; also bo and cy (with the reviewer role or above)',
    );
    expect(whoMayDecide(policy({ allowedRoles: [], allowedUsers: ['bo'] }))).toBe('Only bo (with the reviewer role or above)');
    expect(whoMayDecide(policy({ allowedRoles: [] }))).toMatch(/^Nobody/);
  });

  it('says what happens on expiry', () => {
    expect(expiryText(policy())).toBe('It does not expire.');
    expect(expiryText(policy({ expiresInSeconds: 86_400, onExpiry: { action: 'REJECT', reason: 'stale' } }))).toBe(
      'Undecided after 1 day, it is rejected (“stale”).',
    );
    expect(
      expiryText(policy({ expiresInSeconds: 5400, onExpiry: { action: 'START_WORKFLOW', workflowType: 'apply_feedback' } })),
    ).toBe('Undecided after 90 minutes, it expires and apply feedback starts.');
    expect(expiryText(policy({ expiresInSeconds: 3600 }))).toBe('Undecided after 1 hour, it expires undecided.');
  });

  it('says when reviewers are reminded and who an escalation tells', () => {
    expect(remindersText(policy())).toBeNull();
    expect(remindersText(policy({ remindAfterSeconds: 3600 }))).toBe('Reviewers who have not voted are reminded after 1 hour.');
    expect(remindersText(policy({ escalateAfterSeconds: 86_400, escalateTo: ['bo', 'cy'] }))).toBe(
      'Undecided after 1 day, bo and cy are told.',
    );
    expect(remindersText(policy({ remindAfterSeconds: 1800, escalateAfterSeconds: 7200, escalateTo: ['bo'] }))).toBe(
      'Reviewers who have not voted are reminded after 30 minutes; undecided after 2 hours, bo is told.',
    );
  });

  it('lists the policy for a reviewer, with who started the chain', () => {
    expect(policyLines(policy(), 'sam')).toEqual([
      { label: 'Approvals', text: 'It needs 2 approvals from different people on the same version; one rejection rejects it.' },
      { label: 'Who may decide', text: 'Reviewers and admins' },
      { label: 'Self-review', text: 'Whoever started the chain (sam) may not decide it.' },
      { label: 'Expiry', text: 'It does not expire.' },
    ]);
    expect(policyLines(policy({ requiredApprovals: 1, preventSelfReview: false }))[0]?.text).toBe(
      'One approval decides it; so does one rejection.',
    );
    // A reminder adds a line; none, none.
    expect(policyLines(policy({ remindAfterSeconds: 60 })).at(-1)).toEqual({
      label: 'Reminders',
      text: 'Reviewers who have not voted are reminded after 1 minute.',
    });
  });

  it('formats seconds', () => {
    expect(formatSeconds(7 * 86_400)).toBe('7 days');
    expect(formatSeconds(7200)).toBe('2 hours');
    expect(formatSeconds(61)).toBe('61 seconds');
  });
});

describe('what the viewer may do', () => {
  it('blocks decisions by role first, then by the approval’s own answer', () => {
    expect(decisionBlock(viewer('SUBMITTER'), { allowed: true })).toBe(
      'Your role (Submitter) cannot approve or reject: reviewers and admins decide.',
    );
    expect(decisionBlock(viewer('REVIEWER'), { allowed: false, reason: 'You started this chain: someone else must review' })).toBe(
      'You started this chain: someone else must review',
    );
    expect(decisionBlock(viewer('REVIEWER'), { allowed: false, reason: null })).toMatch(/policy/);
    expect(decisionBlock(viewer('ADMIN'), { allowed: true })).toBeNull();
    // A vote already given on the version shown.
    const votes = [{ reviewer: { name: 'ana' }, decision: 'APPROVE' as const, artifactVersion: 2 }];
    expect(decisionBlock(viewer('REVIEWER', 'ana'), { allowed: true }, { votes, version: 2 })).toBe(
      'You already approved version 2: it needs someone else now.',
    );
    expect(decisionBlock(viewer('REVIEWER', 'ana'), { allowed: true }, { votes, version: 3 })).toBeNull();
    expect(decisionBlock(viewer('REVIEWER', 'bo'), { allowed: true }, { votes, version: 2 })).toBeNull();
  });

  it('lets only the creator (still a submitter) or an admin retry and cancel', () => {
    expect(canControlWorkflow(viewer('SUBMITTER', 'sam'), 'sam')).toBe(true);
    expect(canControlWorkflow(viewer('REVIEWER', 'ana'), 'sam')).toBe(false);
    expect(canControlWorkflow(viewer('VIEWER', 'sam'), 'sam')).toBe(false);
    expect(canControlWorkflow(viewer('ADMIN', 'ada'), 'sam')).toBe(true);
  });
});

describe('policy form', () => {
  it('round-trips a policy and builds setApprovalPolicy input', () => {
    const values = policyFormValues(
      policy({ allowedUsers: ['bo'], expiresInSeconds: 3600, remindAfterSeconds: 600, escalateAfterSeconds: 1800, escalateTo: ['ada', 'cy'] }),
    );
    expect(values).toMatchObject({
      users: 'bo',
      required: '2',
      expires: '3600',
      action: 'EXPIRE',
      remind: '600',
      escalate: '1800',
      escalateTo: 'ada, cy',
    });
    const { input, errors } = policyInput('generate_draft', { ...values, users: 'bo, cy  bo', reason: ' late ' });
    expect(errors).toEqual({});
    expect(input).toEqual({
      workflowType: 'generate_draft',
      allowedRoles: ['REVIEWER', 'ADMIN'],
      allowedUsers: ['bo', 'cy'],
      preventSelfReview: true,
      requiredApprovals: 2,
      expiresInSeconds: 3600,
      onExpiry: { action: 'EXPIRE', reason: 'late', workflowType: null },
      remindAfterSeconds: 600,
      escalateAfterSeconds: 1800,
      escalateTo: ['ada', 'cy'],
    });
  });

  it('clears a delay left empty with 0 (null would keep the saved one)', () => {
    const values = policyFormValues(policy({ expiresInSeconds: 3600, remindAfterSeconds: 600, escalateAfterSeconds: 1800, escalateTo: ['ada'] }));
    expect(policyFormValues(policy())).toMatchObject({ expires: '', remind: '', escalate: '', escalateTo: '' });
    const { input, errors } = policyInput('generate_draft', { ...values, expires: '', remind: ' ', escalate: '', escalateTo: '' });
    expect(errors).toEqual({});
    expect(input).toMatchObject({ expiresInSeconds: 0, remindAfterSeconds: 0, escalateAfterSeconds: 0, escalateTo: [] });
  });

  it('wants the escalation after the reminder, and someone to tell', () => {
    const values = policyFormValues(policy());
    const check = (extra: Partial<typeof values>) => policyInput('generate_draft', { ...values, ...extra }).errors;
    expect(check({ remind: '600', escalate: '600', escalateTo: 'ada' })).toEqual({
      escalateAfterSeconds: 'Escalation comes after the reminder: more seconds than the reminder.',
    });
    expect(check({ escalate: '600' })).toEqual({ escalateTo: 'Name the users an escalation tells.' });
    expect(check({ escalate: '600', escalateTo: 'ada' })).toEqual({});
    expect(check({ remind: '0', escalate: 'soon', escalateTo: 'ada' })).toEqual({
      remindAfterSeconds: 'A whole number of seconds (up to 365 days), or empty for no reminder.',
      escalateAfterSeconds: 'A whole number of seconds (up to 365 days), or empty for no escalation.',
    });
    expect(Object.keys(check({ remind: String(366 * 86_400) }))).toEqual(['remindAfterSeconds']);
  });

  it('catches mistakes next to their field', () => {
    const values = policyFormValues(policy());
    const { errors } = policyInput('generate_draft', {
      ...values,
      roles: [],
      required: '0',
      expires: '1.5',
      action: 'START_WORKFLOW',
    });
    expect(Object.keys(errors).sort()).toEqual(['allowedRoles', 'expiresInSeconds', 'onExpiryWorkflowType', 'requiredApprovals']);
  });

  it('maps the server’s fields to the form’s', () => {
    expect(policyFieldOf('input.requiredApprovals')).toBe('requiredApprovals');
    expect(policyFieldOf('input.onExpiry.workflowType')).toBe('onExpiryWorkflowType');
    expect(policyFieldOf('input.allowedUsers[1]')).toBe('allowedUsers');
    expect(policyFieldOf('input.remindAfterSeconds')).toBe('remindAfterSeconds');
    expect(policyFieldOf('input.escalateAfterSeconds')).toBe('escalateAfterSeconds');
    expect(policyFieldOf('input.escalateTo')).toBe('escalateTo');
    expect(policyFieldOf('input.escalateTo[0]')).toBe('escalateTo');
    expect(policyFieldOf('input.other')).toBeUndefined();
    expect(parseUserList(' a,b  a ')).toEqual(['a', 'b']);
  });
});
