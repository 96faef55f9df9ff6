import type { WorkflowStatus } from '../gql/graphql';

/** Every status, in life order (the filter's options). */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];

export function isWorkflowStatus(s: string | null): s is WorkflowStatus {
  return s !== null && (WORKFLOW_STATUSES as readonly string[]).includes(s);
}

/** Still moving: pending (waiting for a worker or a retry) or running. */
export function isActive(s: WorkflowStatus): boolean {
  return s === 'PENDING' || s === 'RUNNING';
}

export const canRetry = (s: WorkflowStatus): boolean => s === 'FAILED' || s === 'CANCELLED';
export const canCancel = isActive;
