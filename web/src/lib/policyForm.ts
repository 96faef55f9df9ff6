// The admin's approval-policy form: a policy as form values, and form
// values as `setApprovalPolicy`'s input (with the checks the server would
// make anyway, so mistakes show next to their field before a round trip).

import type { ApprovalPolicyInput, ExpiryAction, Role } from '../gql/graphql';
import type { PolicyLike } from './policy';

export interface PolicyFormValues {
  roles: Role[];
  /** User names, comma- or space-separated. */
  users: string;
  preventSelfReview: boolean;
  required: string;
  /** Seconds; empty for never. */
  expires: string;
  action: ExpiryAction;
  reason: string;
  workflowType: string;
  /** Seconds; empty for no reminder. */
  remind: string;
  /** Seconds; empty for no escalation. */
  escalate: string;
  /** User names an escalation tells, comma- or space-separated. */
  escalateTo: string;
}

export type PolicyField =
  | 'allowedRoles'
  | 'allowedUsers'
  | 'preventSelfReview'
  | 'requiredApprovals'
  | 'expiresInSeconds'
  | 'onExpiryAction'
  | 'onExpiryReason'
  | 'onExpiryWorkflowType'
  | 'remindAfterSeconds'
  | 'escalateAfterSeconds'
  | 'escalateTo';

const secondsText = (s: number | null | undefined) => (s === null || s === undefined ? '' : String(s));

export function policyFormValues(policy: PolicyLike): PolicyFormValues {
  return {
    roles: [...policy.allowedRoles],
    users: policy.allowedUsers.join(', '),
    preventSelfReview: policy.preventSelfReview,
    required: String(policy.requiredApprovals),
    expires: secondsText(policy.expiresInSeconds),
    action: policy.onExpiry.action,
    reason: policy.onExpiry.reason ?? '',
    workflowType: policy.onExpiry.workflowType ?? '',
    remind: secondsText(policy.remindAfterSeconds),
    escalate: secondsText(policy.escalateAfterSeconds),
    escalateTo: (policy.escalateTo ?? []).join(', '),
  };
}

export function parseUserList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

const WHOLE = /^\d+$/;
/** The server's bound on every delay. */
const MAX_SECONDS = 365 * 24 * 3600;

/** A delay in seconds: empty (none), a whole number from 1 to 365 days, or NaN. */
function seconds(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  return WHOLE.test(t) && n >= 1 && n <= MAX_SECONDS ? n : Number.NaN;
}

export function policyInput(
  workflowType: string,
  v: PolicyFormValues,
): { input: ApprovalPolicyInput; errors: Partial<Record<PolicyField, string>> } {
  const errors: Partial<Record<PolicyField, string>> = {};
  const required = v.required.trim();
  if (!WHOLE.test(required) || Number(required) < 1) errors.requiredApprovals = 'A whole number, 1 or more.';
  const expires = seconds(v.expires);
  if (Number.isNaN(expires)) errors.expiresInSeconds = 'A whole number of seconds (up to 365 days), or empty for never.';
  const remind = seconds(v.remind);
  if (Number.isNaN(remind)) errors.remindAfterSeconds = 'A whole number of seconds (up to 365 days), or empty for no reminder.';
  const escalate = seconds(v.escalate);
  const escalateTo = parseUserList(v.escalateTo);
  if (Number.isNaN(escalate)) {
    errors.escalateAfterSeconds = 'A whole number of seconds (up to 365 days), or empty for no escalation.';
  } else if (escalate !== null && remind !== null && !Number.isNaN(remind) && escalate <= remind) {
    errors.escalateAfterSeconds = 'Escalation comes after the reminder: more seconds than the reminder.';
  }
  if (escalate !== null && escalateTo.length === 0) errors.escalateTo = 'Name the users an escalation tells.';
  const users = parseUserList(v.users);
  if (v.roles.length === 0 && users.length === 0) errors.allowedRoles = 'Allow at least one role or one user, or nobody can decide.';
  if (v.action === 'START_WORKFLOW' && v.workflowType.trim() === '') errors.onExpiryWorkflowType = 'Choose the workflow to start.';
  const reason = v.reason.trim();
  return {
    input: {
      workflowType,
      allowedRoles: v.roles,
      allowedUsers: users,
      preventSelfReview: v.preventSelfReview,
      requiredApprovals: Number(required),
      // 0 clears a delay (null would leave the saved one as it is).
      expiresInSeconds: expires ?? 0,
      onExpiry: {
        action: v.action,
        reason: reason === '' ? null : reason,
        workflowType: v.action === 'START_WORKFLOW' ? v.workflowType.trim() : null,
      },
      remindAfterSeconds: remind ?? 0,
      escalateAfterSeconds: escalate ?? 0,
      escalateTo,
    },
    errors,
  };
}

/** The server's field (`input.onExpiry.workflowType`) → the form's. */
export function policyFieldOf(serverField: string): PolicyField | undefined {
  const name = serverField.replace(/^input\./, '');
  switch (name) {
    case 'allowedRoles':
    case 'allowedUsers':
    case 'preventSelfReview':
    case 'requiredApprovals':
    case 'expiresInSeconds':
    case 'remindAfterSeconds':
    case 'escalateAfterSeconds':
      return name;
    case 'onExpiry':
    case 'onExpiry.action':
      return 'onExpiryAction';
    case 'onExpiry.reason':
      return 'onExpiryReason';
    case 'onExpiry.workflowType':
      return 'onExpiryWorkflowType';
    default: {
      // `input.allowedUsers[1]`, `input.escalateTo[0]`: the list's field.
      const list = name.replace(/\[\d+\]$/, '');
      return list === 'allowedUsers' || list === 'allowedRoles' || list === 'escalateTo' ? list : undefined;
    }
  }
}
