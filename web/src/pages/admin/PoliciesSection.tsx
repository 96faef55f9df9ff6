// Approval policies: one form per workflow type that asks for approval
// (`approvalPolicies`). A new policy applies to approvals created after it
// is saved; each approval keeps the policy it was created under.

import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Field } from '../../components/Field';
import { ProblemNotice } from '../../components/Problem';
import { Empty, Loading } from '../../components/States';
import { graphql } from '../../gql';
import type { ApprovalPolicyFieldsFragment, ExpiryAction, Role } from '../../gql/graphql';
import { problemsOf, splitFieldErrors, type Problem } from '../../lib/errors';
import { formatDateTime, typeLabel } from '../../lib/format';
import { formatSeconds, policyLines, roleLabel } from '../../lib/policy';
import {
  policyFieldOf,
  policyFormValues,
  policyInput,
  type PolicyField,
  type PolicyFormValues,
} from '../../lib/policyForm';

const AdminPoliciesQuery = graphql(`
  query AdminPolicies {
    approvalPolicies {
      ...ApprovalPolicyFields
    }
    workflowTypes {
      name
    }
  }
`);

const SetApprovalPolicyMutation = graphql(`
  mutation SetApprovalPolicy($input: ApprovalPolicyInput!) {
    setApprovalPolicy(input: $input) {
      ...ApprovalPolicyFields
    }
  }
`);

/** Reviewers and admins are the roles that can decide at all; others already in a policy stay listed. */
const DECIDING_ROLES: readonly Role[] = ['REVIEWER', 'ADMIN'];

const EXPIRY_ACTIONS: { value: ExpiryAction; label: string }[] = [
  { value: 'EXPIRE', label: 'Expire it undecided' },
  { value: 'REJECT', label: 'Reject it' },
  { value: 'START_WORKFLOW', label: 'Expire it and start a workflow' },
];

export function PoliciesSection() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminPoliciesQuery });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  if (error && !data) return <ProblemNotice error={error} onRetry={reload} />;
  if (!data && fetching) return <Loading label="Loading policies…" />;
  const policies = data?.approvalPolicies ?? [];
  const types = data?.workflowTypes.map((t) => t.name) ?? [];
  return (
    <div className="stack">
      <p className="muted">
        Who may decide the approvals each workflow type asks for, how many approvals it takes, and what happens when
        nobody decides in time. A change applies to approvals created after it; each approval keeps the policy it was
        created under.
      </p>
      {policies.length === 0 ? <Empty title="No workflow type asks for approval" /> : null}
      {policies.map((p) => (
        <PolicyForm key={p.workflowType} policy={p} workflowTypes={types} />
      ))}
    </div>
  );
}

function PolicyForm({ policy, workflowTypes }: { policy: ApprovalPolicyFieldsFragment; workflowTypes: readonly string[] }) {
  const [values, setValues] = useState<PolicyFormValues>(() => policyFormValues(policy));
  const [errors, setErrors] = useState<Partial<Record<PolicyField, string>>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saved, setSaved] = useState<ApprovalPolicyFieldsFragment | null>(null);
  const [state, save] = useMutation(SetApprovalPolicyMutation);
  const headingId = useId();
  const type = policy.workflowType;
  const id = (f: string) => `policy-${type}-${f}`;
  const current = saved ?? policy;
  const roles = [...DECIDING_ROLES, ...values.roles.filter((r) => !DECIDING_ROLES.includes(r))];

  const set = <K extends keyof PolicyFormValues>(key: K, value: PolicyFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setSaved(null);
  };

  const submit = async () => {
    setProblems([]);
    const { input, errors: found } = policyInput(type, values);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const result = await save({ input });
    if (result.data) {
      setSaved(result.data.setApprovalPolicy);
      setValues(policyFormValues(result.data.setApprovalPolicy));
      return;
    }
    const split = splitFieldErrors(problemsOf(result.error), policyFieldOf);
    setErrors(split.fields);
    setProblems(split.rest);
  };

  const secondsOf = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : null);
  const expiresSeconds = secondsOf(values.expires);
  const remindSeconds = secondsOf(values.remind);
  const escalateSeconds = secondsOf(values.escalate);

  return (
    <form
      className="card stack-sm policy-form"
      aria-labelledby={headingId}
      data-policy={type}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="card-head">
        <h2 id={headingId}>{typeLabel(type)}</h2>
        <p className="muted small">
          {current.isDefault
            ? 'The default policy (nobody has changed it).'
            : `Changed${current.updatedBy ? ` by ${current.updatedBy}` : ''}${current.updatedAt ? ` ${formatDateTime(current.updatedAt)}` : ''}.`}
        </p>
      </div>
      <fieldset className="fieldset" aria-describedby={errors.allowedRoles ? id('roles-error') : undefined}>
        <legend>Roles that may decide</legend>
        <div className="radio-row">
          {roles.map((r) => (
            <label key={r}>
              <input
                type="checkbox"
                checked={values.roles.includes(r)}
                onChange={(e) =>
                  set('roles', e.target.checked ? [...values.roles, r] : values.roles.filter((x) => x !== r))
                }
              />{' '}
              {roleLabel(r)}
            </label>
          ))}
        </div>
        {errors.allowedRoles ? (
          <p id={id('roles-error')} className="field-error" data-field-error="allowedRoles">
            {errors.allowedRoles}
          </p>
        ) : null}
      </fieldset>
      <div className="form-row">
        <Field
          id={id('users')}
          label="Also these users"
          optional
          error={errors.allowedUsers}
          field="allowedUsers"
          hint="User names, separated by commas. They still need the reviewer role or above."
        >
          {(p) => (
            <input {...p} type="text" autoComplete="off" value={values.users} onChange={(e) => set('users', e.target.value)} />
          )}
        </Field>
        <Field
          id={id('required')}
          label="Approvals required"
          error={errors.requiredApprovals}
          field="requiredApprovals"
          hint="From different people, on the same version. One rejection rejects."
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={values.required}
              onChange={(e) => set('required', e.target.value)}
            />
          )}
        </Field>
      </div>
      <div className="field field-check">
        <label htmlFor={id('self')}>
          <input
            id={id('self')}
            type="checkbox"
            checked={values.preventSelfReview}
            aria-describedby={id('self-hint')}
            onChange={(e) => set('preventSelfReview', e.target.checked)}
          />{' '}
          Prevent self-review
        </label>
        <p id={id('self-hint')} className="hint">
          Whoever started the chain may not decide in it.
        </p>
        {errors.preventSelfReview ? <p className="field-error">{errors.preventSelfReview}</p> : null}
      </div>
      <div className="form-row">
        <Field
          id={id('expires')}
          label="Expires after (seconds)"
          optional
          error={errors.expiresInSeconds}
          field="expiresInSeconds"
          hint={expiresSeconds ? `That is ${formatSeconds(expiresSeconds)}.` : 'Empty: it never expires.'}
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={values.expires}
              onChange={(e) => set('expires', e.target.value)}
            />
          )}
        </Field>
        <Field id={id('action')} label="When it expires" error={errors.onExpiryAction} field="onExpiryAction">
          {(p) => (
            <select
              {...p}
              value={values.action}
              disabled={values.expires.trim() === ''}
              onChange={(e) => {
                const action = EXPIRY_ACTIONS.find((a) => a.value === e.target.value)?.value;
                if (action) set('action', action);
              }}
            >
              {EXPIRY_ACTIONS.map((a) => (
                <option key={a.value} value={a.value}>
                  {a.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {values.action === 'START_WORKFLOW' ? (
          <Field id={id('wftype')} label="Workflow to start" error={errors.onExpiryWorkflowType} field="onExpiryWorkflowType">
            {(p) => (
              <select {...p} value={values.workflowType} onChange={(e) => set('workflowType', e.target.value)}>
                <option value="">Choose…</option>
                {workflowTypes.map((t) => (
                  <option key={t} value={t}>
                    {typeLabel(t)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <Field
          id={id('reason')}
          label="Reason"
          optional
          error={errors.onExpiryReason}
          field="onExpiryReason"
          hint="Recorded with the expiry (as the rejection's feedback when it rejects)."
        >
          {(p) => (
            <input {...p} type="text" autoComplete="off" value={values.reason} onChange={(e) => set('reason', e.target.value)} />
          )}
        </Field>
      </div>
      <div className="form-row">
        <Field
          id={id('remind')}
          label="Remind after (seconds)"
          optional
          error={errors.remindAfterSeconds}
          field="remindAfterSeconds"
          hint={
            remindSeconds
              ? `That is ${formatSeconds(remindSeconds)}: reviewers who may decide and have not voted are reminded.`
              : 'Empty: no reminder.'
          }
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={values.remind}
              onChange={(e) => set('remind', e.target.value)}
            />
          )}
        </Field>
        <Field
          id={id('escalate')}
          label="Escalate after (seconds)"
          optional
          error={errors.escalateAfterSeconds}
          field="escalateAfterSeconds"
          hint={
            escalateSeconds
              ? `That is ${formatSeconds(escalateSeconds)}; later than the reminder.`
              : 'Empty: no escalation. Later than the reminder.'
          }
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={values.escalate}
              onChange={(e) => set('escalate', e.target.value)}
            />
          )}
        </Field>
        <Field
          id={id('escalate-to')}
          label="Escalate to"
          optional={values.escalate.trim() === ''}
          error={errors.escalateTo}
          field="escalateTo"
          hint="User names, separated by commas; required with an escalation. They are told; they decide only if the policy lets them."
        >
          {(p) => (
            <input
              {...p}
              type="text"
              autoComplete="off"
              value={values.escalateTo}
              onChange={(e) => set('escalateTo', e.target.value)}
            />
          )}
        </Field>
      </div>
      <ProblemNotice problems={problems} />
      {saved ? (
        <div className="notice notice-ok" role="status" data-testid="policy-saved">
          <p className="notice-title">Saved. New {typeLabel(type)} approvals follow it:</p>
          <ul className="policy-summary">
            {policyLines(saved).map((l) => (
              <li key={l.label}>{l.text}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Saving…' : `Save the ${typeLabel(type)} policy`}
        </button>
      </div>
    </form>
  );
}
