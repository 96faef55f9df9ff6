// The queue's batch decision: a bar to approve or reject the checked rows
// (with optional feedback), and the per-item report of what the server did.

import { useEffect, useId, useRef, useState } from 'react';
import { batchHeadline, type BatchOutcome } from '../lib/batch';
import type { Problem } from '../lib/errors';
import { typeLabel } from '../lib/format';
import { approvalsText } from '../lib/policy';
import { Link } from '../router';
import { ProblemNotice } from './Problem';

export interface BatchReport {
  outcome: BatchOutcome;
  /** What each id was called in the queue when it was approved. */
  labels: ReadonlyMap<string, string>;
  feedback: string | null;
  verb: 'approve' | 'reject';
}

export function BatchBar({
  selected,
  busy,
  problems,
  onApprove,
  onReject,
}: {
  selected: number;
  busy: boolean;
  problems: Problem[];
  /** Resolves to whether anything was decided (then the feedback box empties). */
  onApprove: (feedback: string | null) => Promise<boolean>;
  onReject: (feedback: string | null) => Promise<boolean>;
}) {
  const [feedback, setFeedback] = useState('');
  const [acting, setActing] = useState<'approve' | 'reject' | null>(null);
  const inputId = useId();
  const hintId = useId();
  const run = (verb: 'approve' | 'reject') => {
    if (selected === 0) return;
    setActing(verb);
    const text = feedback.trim() === '' ? null : feedback.trim();
    void (verb === 'approve' ? onApprove(text) : onReject(text)).then((decided) => {
      setActing(null);
      if (decided) setFeedback('');
    });
  };
  return (
    <form
      className="batch-bar"
      aria-label="Decide the selected approvals"
      onSubmit={(e) => {
        e.preventDefault();
        run('approve');
      }}
    >
      <p className="batch-count" aria-live="polite">
        {selected === 0 ? 'None selected' : `${selected} selected`}
      </p>
      <div className="batch-feedback">
        <label htmlFor={inputId} className="sr-only">
          Feedback for every selected approval (optional)
        </label>
        <input
          id={inputId}
          type="text"
          value={feedback}
          onChange={(e) => setFeedback(e.target.value)}
          placeholder="Feedback for all (optional)"
          aria-describedby={hintId}
          onKeyDown={(e) => {
            if (e.key === 'Escape') e.currentTarget.blur();
          }}
        />
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy || selected === 0}>
        {busy && acting === 'approve' ? 'Approving…' : selected > 1 ? `Approve ${selected} selected` : 'Approve selected'}
      </button>
      <button type="button" className="btn btn-danger" disabled={busy || selected === 0} onClick={() => run('reject')}>
        {busy && acting === 'reject' ? 'Rejecting…' : selected > 1 ? `Reject ${selected} selected` : 'Reject selected'}
      </button>
      <p id={hintId} className="hint batch-hint">
        Each approval is decided on its own, at the version shown, and starts what follows it, as deciding it alone
        would. Where more approvals are needed, yours counts as one vote.
      </p>
      {problems.length > 0 ? (
        <div className="batch-problems">
          <ProblemNotice problems={problems} />
        </div>
      ) : null}
    </form>
  );
}

export function BatchResult({ report, onDismiss }: { report: BatchReport; onDismiss: () => void }) {
  const { outcome, labels } = report;
  const ref = useRef<HTMLDivElement>(null);
  const headingId = useId();
  // The rows the reviewer was on may be gone: read the outcome next.
  useEffect(() => {
    ref.current?.focus();
  }, [report]);
  const tone = outcome.failed.length === 0 ? 'notice-ok' : outcome.decided.length === 0 ? 'notice-warn' : 'notice-info';
  return (
    <section
      ref={ref}
      tabIndex={-1}
      className={`notice ${tone} batch-result`}
      aria-labelledby={headingId}
      data-testid="batch-result"
    >
      <div className="batch-result-head">
        <h2 id={headingId} className="notice-title">
          {batchHeadline(outcome, report.verb === 'approve' ? 'Approved' : 'Rejected')}
        </h2>
        <button type="button" className="btn btn-small btn-ghost" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
      {report.feedback ? (
        <p className="small">
          With feedback: <q>{report.feedback}</q>
        </p>
      ) : null}
      {outcome.decided.length > 0 ? (
        <ul className="batch-list" aria-label={report.verb === 'approve' ? 'Approved' : 'Rejected'}>
          {outcome.decided.map((d) => (
            <li key={d.id} data-outcome={report.verb === 'approve' ? 'approved' : 'rejected'}>
              <span className="batch-mark batch-ok" aria-hidden="true">
                ✓
              </span>{' '}
              <Link to={`/approvals/${d.id}`}>{labels.get(d.id) ?? d.id}</Link>
              {d.votes ? (
                <span className="small"> · your vote is recorded: {approvalsText(d.votes.count, d.votes.required)}</span>
              ) : d.nextWorkflow ? (
                <>
                  {' '}
                  · started <Link to={`/workflows/${d.nextWorkflow.id}`}>{typeLabel(d.nextWorkflow.type)}</Link>
                </>
              ) : (
                <span className="muted"> · the chain ends here</span>
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {outcome.failed.length > 0 ? (
        <ul className="batch-list" aria-label={report.verb === 'approve' ? 'Not approved' : 'Not rejected'}>
          {outcome.failed.map((f) => (
            <li key={f.id} data-outcome="failed" data-problem={f.kind}>
              <span className="batch-mark batch-no" aria-hidden="true">
                ✕
              </span>{' '}
              <Link to={`/approvals/${f.id}`}>{labels.get(f.id) ?? f.id}</Link>: <strong>{f.reason}.</strong>{' '}
              <span className="small">{f.message}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
