import type { ApprovalStatus, WorkflowStatus } from '../gql/graphql';

const LABELS: Record<WorkflowStatus | ApprovalStatus, string> = {
  PENDING: 'Pending',
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  APPROVED: 'Approved',
  REJECTED: 'Rejected',
  EXPIRED: 'Expired',
};

/** A status as a word and a colour; the word alone carries the meaning. */
export function StatusBadge({ status }: { status: WorkflowStatus | ApprovalStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
      {status === 'RUNNING' || status === 'PENDING' ? <span className="pulse" aria-hidden="true" /> : null}
      {LABELS[status]}
    </span>
  );
}
