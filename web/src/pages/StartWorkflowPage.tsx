// Start a workflow: pick a type, fill the form generated from its
// `inputSchema`, submit `runWorkflow`. Server-side input errors
// (`BAD_USER_INPUT` with `extensions.field`) land next to their field.

import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ProblemNotice } from '../components/Problem';
import { SchemaFields } from '../components/SchemaForm';
import { Empty, Loading } from '../components/States';
import { graphql } from '../gql';
import type { StartWorkflowTypesQuery } from '../gql/graphql';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { problemsOf, splitFieldErrors, type Problem } from '../lib/errors';
import { typeLabel, typeVersionLabel } from '../lib/format';
import { roleLabel } from '../lib/policy';
import { buildInput, fieldsFromSchema, formFieldOf, initialValues, type FieldErrors, type FormValues } from '../lib/schemaForm';
import { Link, navigate, useSearchParam } from '../router';

const StartWorkflowTypesQueryDoc = graphql(`
  query StartWorkflowTypes {
    workflowTypes {
      name
      version
      builtIn
      description
      requiresApproval
      inputSchema
    }
  }
`);

const RunWorkflowMutation = graphql(`
  mutation RunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      created
      workflow {
        id
        status
      }
    }
  }
`);

type WorkflowType = StartWorkflowTypesQuery['workflowTypes'][number];

export function StartWorkflowPage() {
  useTitle('Start a workflow');
  const viewer = useViewer();
  if (!viewer.canSubmit) {
    return (
      <div className="stack narrow">
        <div className="page-head">
          <h1>Start a workflow</h1>
        </div>
        <div className="notice notice-info" data-testid="start-not-allowed">
          <p className="notice-title">Your role ({roleLabel(viewer.role)}) cannot start workflows.</p>
          <p className="notice-body">Submitters, reviewers and admins can. Ask an admin if you need to.</p>
        </div>
      </div>
    );
  }
  return <StartWorkflow />;
}

function StartWorkflow() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: StartWorkflowTypesQueryDoc });
  const [typeParam, setTypeParam] = useSearchParam('type');
  const types = data?.workflowTypes ?? [];
  const selected = types.find((t) => t.name === typeParam) ?? types.find((t) => t.name === 'generate_draft') ?? types[0];

  return (
    <div className="stack narrow">
      <div className="page-head">
        <h1>Start a workflow</h1>
      </div>
      {error && !data ? <ProblemNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} /> : null}
      {!data && fetching ? <Loading label="Loading workflow types…" /> : null}
      {data && types.length === 0 ? <Empty title="This server runs no workflow types" /> : null}
      {selected ? (
        <>
          <div className="field">
            <label htmlFor="wf-type">Workflow type</label>
            <select id="wf-type" value={selected.name} onChange={(e) => setTypeParam(e.target.value)}>
              {types.map((t) => (
                <option key={t.name} value={t.name}>
                  {typeVersionLabel(t.name, t.builtIn ? null : t.version)}
                </option>
              ))}
            </select>
            <p className="hint">
              {selected.description}
              {selected.requiresApproval ? ' A reviewer decides on what it produces.' : ''}{' '}
              <Link to={`/types/${encodeURIComponent(selected.name)}`}>About this type</Link>
            </p>
          </div>
          <StartForm key={selected.name} type={selected} />
        </>
      ) : null}
    </div>
  );
}

function StartForm({ type }: { type: WorkflowType }) {
  const fields = useMemo(() => fieldsFromSchema(type.inputSchema), [type.inputSchema]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [state, run] = useMutation(RunWorkflowMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const [attempted, setAttempted] = useState(0);

  // After a failed submit, move focus to the first field with an error.
  useEffect(() => {
    if (attempted === 0) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    first?.focus();
  }, [attempted]);

  const onSubmit = async () => {
    setProblems([]);
    const { input, errors: clientErrors } = buildInput(fields, values);
    setErrors(clientErrors);
    if (Object.keys(clientErrors).length > 0) {
      setAttempted((n) => n + 1);
      return;
    }
    const key = idempotencyKey.trim();
    const result = await run({ input: { type: type.name, input, idempotencyKey: key === '' ? null : key } });
    const payload = result.data?.runWorkflow;
    if (payload) {
      navigate(`/workflows/${payload.workflow.id}`);
      return;
    }
    const { fields: serverFieldErrors, rest } = splitFieldErrors(problemsOf(result.error), (f) =>
      f === 'idempotencyKey' ? 'idempotencyKey' : formFieldOf(f, fields),
    );
    setErrors(serverFieldErrors);
    setProblems(rest);
    setAttempted((n) => n + 1);
  };

  return (
    <form
      ref={formRef}
      className="card stack"
      noValidate
      aria-label={`Start ${typeLabel(type.name)}`}
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit();
      }}
    >
      {fields.length === 0 ? <p className="muted">This type takes no input.</p> : null}
      <SchemaFields
        fields={fields}
        values={values}
        errors={errors}
        idPrefix={`in-${type.name}`}
        onChange={(name, value) => {
          setValues((v) => ({ ...v, [name]: value }));
          if (errors[name]) setErrors(({ [name]: _gone, ...rest }) => rest);
        }}
      />
      <details className="advanced">
        <summary>Advanced</summary>
        <div className="field">
          <label htmlFor="idem-key">
            Idempotency key <span className="muted">(optional)</span>
          </label>
          <input
            id="idem-key"
            type="text"
            value={idempotencyKey}
            aria-describedby="idem-hint"
            aria-invalid={errors.idempotencyKey ? true : undefined}
            onChange={(e) => setIdempotencyKey(e.target.value)}
          />
          <p id="idem-hint" className="hint">
            Starting again with the same key returns the first workflow instead of a new one.
          </p>
          {errors.idempotencyKey ? <p className="field-error">{errors.idempotencyKey}</p> : null}
        </div>
      </details>
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Starting…' : `Start ${typeLabel(type.name)}`}
        </button>
      </div>
    </form>
  );
}
