// The admin's form that declares a workflow type, or the next version of
// one: schemas as JSON text (checked as they are left, and all again
// before sending: lib/declareForm.ts), what a decision starts next, and the
// run limits. The server's BAD_USER_INPUT lands on its field.

import { useId, useState } from 'react';
import { useMutation } from 'urql';
import { Field } from '../../components/Field';
import { ProblemNotice } from '../../components/Problem';
import { graphql } from '../../gql';
import type { WorkflowTypeSummaryFragment } from '../../gql/graphql';
import {
  checkDeclareField,
  declareFieldOf,
  declareInput,
  NAME_PATTERN,
  type DeclareErrors,
  type DeclareField,
  type DeclareFormValues,
  type SchemaField,
} from '../../lib/declareForm';
import { problemsOf, splitFieldErrors, type Problem } from '../../lib/errors';
import { typeLabel } from '../../lib/format';

const DeclareWorkflowTypeMutation = graphql(`
  mutation DeclareWorkflowType($input: DeclareWorkflowTypeInput!) {
    declareWorkflowType(input: $input) {
      ...WorkflowTypeSummary
    }
  }
`);

export interface DeclareTypeFormProps {
  initial: DeclareFormValues;
  /** Declaring the next version of this type: the name is fixed. */
  nameLocked?: boolean;
  /** Every type there is (next steps choose among them; built-in names are taken). */
  types: readonly { name: string; builtIn: boolean }[];
  onDeclared: (declared: WorkflowTypeSummaryFragment) => void;
  onCancel: () => void;
}

const SCHEMA_HELP: Record<SchemaField, { label: string; hint: string; rows: number }> = {
  inputSchema: {
    label: 'Input schema',
    hint: 'JSON Schema (2020-12 unless $schema says otherwise) of the input a run starts with; the start form is built from it.',
    rows: 10,
  },
  artifactSchema: {
    label: 'Artifact schema',
    hint: 'What a run hands to the reviewer. The review page shows each value under its title and description.',
    rows: 8,
  },
  outputSchema: { label: 'Output schema', hint: 'Checked when a worker completes a run.', rows: 6 },
  configSchema: { label: 'Config schema', hint: 'Declare one to let experiments tune the type.', rows: 6 },
};

export function DeclareTypeForm({ initial, nameLocked = false, types, onDeclared, onCancel }: DeclareTypeFormProps) {
  const [values, setValues] = useState<DeclareFormValues>(initial);
  const [errors, setErrors] = useState<DeclareErrors>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [state, declare] = useMutation(DeclareWorkflowTypeMutation);
  const headingId = useId();
  const id = (f: string) => `declare-${f}`;
  const builtIns = types.filter((t) => t.builtIn).map((t) => t.name);
  // The next step may be the type itself (a revision loop), even a new one.
  const self = NAME_PATTERN.test(values.name.trim()) && !builtIns.includes(values.name.trim()) ? [values.name.trim()] : [];
  const nextTypes = [...new Set([...types.map((t) => t.name), ...self])];

  const set = <K extends keyof DeclareFormValues>(key: K, value: DeclareFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    if (errors[key]) setErrors(({ [key]: _fixed, ...rest }) => rest);
  };
  /** Checks one field as it is left (JSON that does not parse shows at once). */
  const check = (field: DeclareField) => {
    const problem = checkDeclareField(field, values, builtIns);
    setErrors(({ [field]: _old, ...rest }) => (problem ? { ...rest, [field]: problem } : rest));
  };

  const submit = async () => {
    setProblems([]);
    const { input, errors: found } = declareInput(values, builtIns);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = Object.keys(found)[0];
      if (first) document.getElementById(id(first))?.focus();
      return;
    }
    const result = await declare({ input });
    if (result.data) {
      onDeclared(result.data.declareWorkflowType);
      return;
    }
    const split = splitFieldErrors(problemsOf(result.error), declareFieldOf);
    setErrors(split.fields);
    setProblems(split.rest);
    const first = Object.keys(split.fields)[0];
    if (first) document.getElementById(id(first))?.focus();
  };

  const schemaField = (field: SchemaField) => {
    const help = SCHEMA_HELP[field];
    return (
      <Field
        key={field}
        id={id(field)}
        label={help.label}
        optional={field !== 'inputSchema'}
        error={errors[field]}
        field={field}
        hint={help.hint}
      >
        {(p) => (
          <textarea
            {...p}
            className="mono"
            rows={help.rows}
            spellCheck={false}
            aria-required={field === 'inputSchema' || undefined}
            value={values[field]}
            onChange={(e) => set(field, e.target.value)}
            onBlur={() => check(field)}
          />
        )}
      </Field>
    );
  };

  const typeSelect = (field: 'approveType' | 'rejectType', label: string) => (
    <Field id={id(field)} label={label} optional error={errors[field]} field={field}>
      {(p) => (
        <select {...p} value={values[field]} onChange={(e) => set(field, e.target.value)}>
          <option value="">Nothing: the chain ends</option>
          {[...new Set([...nextTypes, ...(values[field] ? [values[field]] : [])])].map((t) => (
            <option key={t} value={t}>
              {typeLabel(t)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );

  const nextInput = (field: 'approveInput' | 'rejectInput', disabled: boolean) => (
    <Field
      id={id(field)}
      label={field === 'approveInput' ? 'Input added on approval' : 'Input added on rejection'}
      optional
      error={errors[field]}
      field={field}
      hint="A JSON object. Baton adds the decision: approved, decision, feedback, approval_id, artifact_id, artifact_version, artifact_sha256."
    >
      {(p) => (
        <textarea
          {...p}
          className="mono"
          rows={3}
          spellCheck={false}
          disabled={disabled}
          value={values[field]}
          onChange={(e) => set(field, e.target.value)}
          onBlur={() => check(field)}
        />
      )}
    </Field>
  );

  const numberField = (field: 'timeoutSeconds' | 'maxAttempts' | 'retryBaseSeconds', label: string, hint: string, step: string) => (
    <Field id={id(field)} label={label} optional error={errors[field]} field={field} hint={hint}>
      {(p) => (
        <input
          {...p}
          type="number"
          min={field === 'retryBaseSeconds' ? 0.01 : 1}
          step={step}
          inputMode={step === 'any' ? 'decimal' : 'numeric'}
          value={values[field]}
          onChange={(e) => set(field, e.target.value)}
          onBlur={() => check(field)}
        />
      )}
    </Field>
  );

  const name = values.name.trim();
  return (
    <form
      className="card stack declare-form"
      aria-labelledby={headingId}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="card-head">
        <h2 id={headingId}>{nameLocked ? `Declare a new version of ${typeLabel(name)}` : 'Declare a workflow type'}</h2>
        <p className="muted small">
          {nameLocked
            ? 'Runs already queued keep the version they were created with. Declaring the same content again changes nothing.'
            : 'External workers run it: they claim its runs and complete them over the API.'}
        </p>
      </div>
      <div className="form-row">
        <Field
          id={id('name')}
          label="Name"
          error={errors.name}
          field="name"
          hint="Lower-case letters, digits and _, starting with a letter (e.g. summarize_ticket)."
        >
          {(p) => (
            <input
              {...p}
              type="text"
              className="mono"
              autoComplete="off"
              spellCheck={false}
              aria-required
              readOnly={nameLocked}
              value={values.name}
              onChange={(e) => set('name', e.target.value)}
              onBlur={() => check('name')}
            />
          )}
        </Field>
        <Field id={id('description')} label="Description" optional error={errors.description} field="description">
          {(p) => (
            <input
              {...p}
              type="text"
              autoComplete="off"
              value={values.description}
              onChange={(e) => set('description', e.target.value)}
            />
          )}
        </Field>
      </div>
      {schemaField('inputSchema')}
      <div className="field field-check">
        <label htmlFor={id('requiresApproval')}>
          <input
            id={id('requiresApproval')}
            type="checkbox"
            checked={values.requiresApproval}
            aria-describedby={id('requiresApproval-hint')}
            onChange={(e) => set('requiresApproval', e.target.checked)}
          />{' '}
          A reviewer decides on what a run produces
        </label>
        <p id={id('requiresApproval-hint')} className="hint">
          The run's artifact waits in the queue for approval; the decision can start the next step.
        </p>
        {errors.requiresApproval ? (
          <p className="field-error" data-field-error="requiresApproval">
            {errors.requiresApproval}
          </p>
        ) : null}
      </div>
      {schemaField('artifactSchema')}
      <Field
        id={id('artifactKind')}
        label="Artifact kind"
        optional
        error={errors.artifactKind}
        field="artifactKind"
        hint={`What the queue calls its artifacts. Default: the type's name${name ? ` (${name})` : ''}.`}
      >
        {(p) => (
          <input
            {...p}
            type="text"
            className="mono"
            autoComplete="off"
            spellCheck={false}
            value={values.artifactKind}
            onChange={(e) => set('artifactKind', e.target.value)}
          />
        )}
      </Field>
      <fieldset className="fieldset stack-sm" disabled={!values.requiresApproval}>
        <legend>After the decision</legend>
        {!values.requiresApproval ? (
          <p className="hint">Only a type a reviewer decides on starts a next step.</p>
        ) : null}
        <div className="form-row">
          {typeSelect('approveType', 'Approving starts')}
          {nextInput('approveInput', !values.requiresApproval || values.approveType === '')}
        </div>
        <div className="form-row">
          {typeSelect('rejectType', 'Rejecting starts')}
          {nextInput('rejectInput', !values.requiresApproval || values.rejectType === '')}
        </div>
        <div className="field field-check">
          <label htmlFor={id('rejectRequiresFeedback')}>
            <input
              id={id('rejectRequiresFeedback')}
              type="checkbox"
              checked={values.rejectRequiresFeedback}
              disabled={values.rejectType === ''}
              onChange={(e) => set('rejectRequiresFeedback', e.target.checked)}
            />{' '}
            Only when the reviewer wrote feedback
          </label>
          {errors.rejectRequiresFeedback ? (
            <p className="field-error" data-field-error="rejectRequiresFeedback">
              {errors.rejectRequiresFeedback}
            </p>
          ) : null}
        </div>
      </fieldset>
      <fieldset className="fieldset stack-sm">
        <legend>Running</legend>
        <p className="hint">Empty: the server's defaults.</p>
        <div className="form-row">
          {numberField('timeoutSeconds', 'Timeout (seconds)', 'How long a worker may hold a run: 1 to 86400.', '1')}
          {numberField('maxAttempts', 'Attempts', 'Tries before it fails for good: 1 to 100.', '1')}
          {numberField('retryBaseSeconds', 'Retry after (seconds)', '0.01 to 3600; doubles per attempt, ±25% jitter.', 'any')}
        </div>
      </fieldset>
      {schemaField('outputSchema')}
      {schemaField('configSchema')}
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Declaring…' : nameLocked ? 'Declare the new version' : 'Declare the type'}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
