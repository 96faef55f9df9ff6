// Roles, approval policies and what the viewer may do, in words.
//
// The server decides every action (the contract's "Roles" and "Decision
// semantics"); these helpers only choose what to show, and say why a
// control is missing, so nobody meets a `FORBIDDEN` they could have read
// beforehand.

import type { ExpiryAction, Role } from '../gql/graphql';
import { typeLabel } from './format';

/** Lowest to highest; each role can do what those before it can. */
export const ROLES: readonly Role[] = ['VIEWER', 'SUBMITTER', 'REVIEWER', 'ADMIN'];

const ROLE_LABELS: Record<Role, { one: string; many: string; can: string }> = {
  VIEWER: { one: 'Viewer', many: 'viewers', can: 'reads everything' },
  SUBMITTER: { one: 'Submitter', many: 'submitters', can: 'also starts workflows, and retries or cancels its own' },
  REVIEWER: { one: 'Reviewer', many: 'reviewers', can: 'also approves and rejects, as the policy allows' },
  ADMIN: { one: 'Admin', many: 'admins', can: 'does everything: users, tokens, policies, rollbacks' },
};

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role].one;
}

/** What a role may do, for the role pickers. */
export function roleDescription(role: Role): string {
  return ROLE_LABELS[role].can;
}

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** "a", "a and b", "a, b and c". */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** 86400 → "1 day", 5400 → "90 minutes", 42 → "42 seconds". */
export function formatSeconds(seconds: number): string {
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (seconds > 0 && seconds % 86_400 === 0) return unit(seconds / 86_400, 'day');
  if (seconds > 0 && seconds % 3_600 === 0) return unit(seconds / 3_600, 'hour');
  if (seconds > 0 && seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return unit(seconds, 'second');
}

/** "1 of 2 approvals". */
export function approvalsText(count: number, required: number): string {
  return `${count} of ${required} approval${required === 1 ? '' : 's'}`;
}

export interface PolicyLike {
  allowedRoles: readonly Role[];
  allowedUsers: readonly string[];
  preventSelfReview: boolean;
  requiredApprovals: number;
  expiresInSeconds?: number | null | undefined;
  remindAfterSeconds?: number | null | undefined;
  escalateAfterSeconds?: number | null | undefined;
  /** User names an escalation tells. */
  escalateTo?: readonly string[] | undefined;
  onExpiry: { action: ExpiryAction; reason?: string | null | undefined; workflowType?: string | null | undefined };
}

/** Who may decide under a policy. */
export function whoMayDecide(policy: Pick<PolicyLike, 'allowedRoles' | 'allowedUsers'>): string {
  const roles = ROLES.filter((r) => policy.allowedRoles.includes(r)).map((r) => ROLE_LABELS[r].many);
  const users = policy.allowedUsers;
  const rolesText = roles.length ? listText(roles).replace(/^./, (c) => c.toUpperCase()) : '';
  if (roles.length && users.length) return `${rolesText}; also ${listText(users)} (with the reviewer role or above)`;
  if (roles.length) return rolesText;
  if (users.length) return `Only ${listText(users)} (with the reviewer role or above)`;
  return 'Nobody: the policy allows no role and no user';
}

export function selfReviewText(preventSelfReview: boolean, startedBy?: string): string {
  if (!preventSelfReview) return 'Whoever started the chain may decide it too.';
  return startedBy
    ? `Whoever started the chain (${startedBy}) may not decide it.`
    : 'Whoever started the chain may not decide it.';
}

export function requiredText(required: number): string {
  return required <= 1
    ? 'One approval decides it; so does one rejection.'
    : `It needs ${required} approvals from different people on the same version; one rejection rejects it.`;
}

export function expiryText(policy: Pick<PolicyLike, 'expiresInSeconds' | 'onExpiry'>): string {
  if (policy.expiresInSeconds === null || policy.expiresInSeconds === undefined) return 'It does not expire.';
  const { action, reason, workflowType } = policy.onExpiry;
  const why = reason ? ` (“${reason}”)` : '';
  const then =
    action === 'REJECT'
      ? `it is rejected${why}`
      : action === 'START_WORKFLOW'
        ? `it expires and ${workflowType ? typeLabel(workflowType) : 'a workflow'} starts${why}`
        : `it expires undecided${why}`;
  return `Undecided after ${formatSeconds(policy.expiresInSeconds)}, ${then}.`;
}

/** The reminder and the escalation, or null when the policy has neither. */
export function remindersText(
  policy: Pick<PolicyLike, 'remindAfterSeconds' | 'escalateAfterSeconds' | 'escalateTo'>,
): string | null {
  const remind = policy.remindAfterSeconds ?? null;
  const escalate = policy.escalateAfterSeconds ?? null;
  const to = policy.escalateTo ?? [];
  const told = to.length ? `${listText(to)} ${to.length === 1 ? 'is' : 'are'} told` : 'it escalates to nobody';
  if (remind !== null && escalate !== null) {
    return `Reviewers who have not voted are reminded after ${formatSeconds(remind)}; undecided after ${formatSeconds(escalate)}, ${told}.`;
  }
  if (remind !== null) return `Reviewers who have not voted are reminded after ${formatSeconds(remind)}.`;
  if (escalate !== null) return `Undecided after ${formatSeconds(escalate)}, ${told}.`;
  return null;
}

/** The lines a reviewer reads about an approval's policy (reminders only when it has them). */
export function policyLines(policy: PolicyLike, startedBy?: string): { label: string; text: string }[] {
  const reminders = remindersText(policy);
  return [
    { label: 'Approvals', text: requiredText(policy.requiredApprovals) },
    { label: 'Who may decide', text: whoMayDecide(policy) },
    { label: 'Self-review', text: selfReviewText(policy.preventSelfReview, startedBy) },
    { label: 'Expiry', text: expiryText(policy) },
    ...(reminders === null ? [] : [{ label: 'Reminders', text: reminders }]),
  ];
}

// ---------- what the viewer may do ----------

export interface ViewerLike {
  name: string;
  role: Role;
  canSubmit: boolean;
  canReview: boolean;
  isAdmin: boolean;
}

export interface VoteLike {
  reviewer: { name: string };
  decision: 'APPROVE' | 'REJECT';
  artifactVersion: number;
}

/**
 * Why the viewer may not decide an approval, or null when it may: its role
 * first, then the approval's own answer (policy, self-review), then a vote
 * the viewer already gave on the version shown (the server answers a second
 * one `CONFLICT`; its `viewerCanDecide` does not count votes).
 */
export function decisionBlock(
  viewer: ViewerLike,
  eligibility: { allowed: boolean; reason?: string | null | undefined },
  current?: { votes: readonly VoteLike[]; version: number },
): string | null {
  if (!viewer.canReview) {
    return `Your role (${roleLabel(viewer.role)}) cannot approve or reject: reviewers and admins decide.`;
  }
  if (!eligibility.allowed) return eligibility.reason || 'The approval policy does not let you decide this one.';
  const mine = current?.votes.find((v) => v.reviewer.name === viewer.name && v.artifactVersion === current.version);
  if (mine) {
    return `You already ${mine.decision === 'APPROVE' ? 'approved' : 'rejected'} version ${current?.version}: it needs someone else now.`;
  }
  return null;
}

/** Retry and cancel: the workflow's creator (still a submitter) or an admin. */
export function canControlWorkflow(viewer: ViewerLike, createdBy: string): boolean {
  return viewer.isAdmin || (viewer.canSubmit && createdBy === viewer.name);
}
