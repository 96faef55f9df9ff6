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
}

export type PolicyField =
  | 'allowedRoles'
  | 'allowedUsers'
  | 'preventSelfReview'
  | 'requiredApprovals'
  | 'expiresInSeconds'
  | 'onExpiryAction'
  | 'onExpiryReason'
  | 'onExpiryWorkflowType';

export function policyFormValues(policy: PolicyLike): PolicyFormValues {
  return {
    roles: [...policy.allowedRoles],
    users: policy.allowedUsers.join(', '),
    preventSelfReview: policy.preventSelfReview,
    required: String(policy.requiredApprovals),
    expires: policy.expiresInSeconds === null || policy.expiresInSeconds === undefined ? '' : String(policy.expiresInSeconds),
    action: policy.onExpiry.action,
    reason: policy.onExpiry.reason ?? '',
    workflowType: policy.onExpiry.workflowType ?? '',
  };
}

export function parseUserList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

const WHOLE = /^\d+$/;

export function policyInput(
  workflowType: string,
  v: PolicyFormValues,
): { input: ApprovalPolicyInput; errors: Partial<Record<PolicyField, string>> } {
  const errors: Partial<Record<PolicyField, string>> = {};
  const required = v.required.trim();
  if (!WHOLE.test(required) || Number(required) < 1) errors.requiredApprovals = 'A whole number, 1 or more.';
  const expires = v.expires.trim();
  if (expires !== '' && (!WHOLE.test(expires) || Number(expires) < 1)) {
    errors.expiresInSeconds = 'A whole number of seconds, or empty for never.';
  }
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
      expiresInSeconds: expires === '' ? null : Number(expires),
      onExpiry: {
        action: v.action,
        reason: reason === '' ? null : reason,
        workflowType: v.action === 'START_WORKFLOW' ? v.workflowType.trim() : null,
      },
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
      return name;
    case 'onExpiry':
    case 'onExpiry.action':
      return 'onExpiryAction';
    case 'onExpiry.reason':
      return 'onExpiryReason';
    case 'onExpiry.workflowType':
      return 'onExpiryWorkflowType';
    default:
      return name.startsWith('allowedUsers') ? 'allowedUsers' : name.startsWith('allowedRoles') ? 'allowedRoles' : undefined;
  }
}
