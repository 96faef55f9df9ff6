// Workflow types: the built-in ones and those admins declared (the latest
// version of each), what a decision on each starts next, their limits and
// who declared them (`/types`); one type at one version with its four
// schemas (`/types/:name?version=N`). Everyone signed in reads them; an
// admin declares a new type here, or the next version of one.

import { useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { JsonView } from '../components/JsonView';
import { NotFound, ProblemNotice } from '../components/Problem';
import { Empty, Loading } from '../components/States';
import { graphql } from '../gql';
import type { WorkflowTypeDetailQuery, WorkflowTypeSummaryFragment } from '../gql/graphql';
import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { declareFormValues, EMPTY_DECLARE_FORM } from '../lib/declareForm';
import { hasProblem } from '../lib/errors';
import { formatDateTime, typeLabel, typeVersionLabel } from '../lib/format';
import { isObject } from '../lib/json';
import { formatSeconds } from '../lib/policy';
import { Link, navigate, useParams, useSearchParam } from '../router';
import { DeclareTypeForm } from './types/DeclareTypeForm';

export const WorkflowTypeSummaryFields = graphql(`
  fragment WorkflowTypeSummary on WorkflowType {
    name
    description
    version
    builtIn
    requiresApproval
    artifactKind
    nextOnApprove {
      workflowType
      input
      requiresFeedback
    }
    nextOnReject {
      workflowType
      input
      requiresFeedback
    }
    timeoutSeconds
    maxAttempts
    retryBaseSeconds
    declaredBy
    declaredAt
  }
`);

const WorkflowTypesListQuery = graphql(`
  query WorkflowTypesList {
    workflowTypes {
      ...WorkflowTypeSummary
    }
  }
`);

const WorkflowTypeDetailQuery = graphql(`
  query WorkflowTypeDetail($name: String!, $version: Int) {
    latest: workflowType(name: $name) {
      name
      version
    }
    workflowType(name: $name, version: $version) {
      ...WorkflowTypeSummary
      inputSchema
      outputSchema
      artifactSchema
      configSchema
    }
    workflowTypes {
      name
      builtIn
    }
  }
`);

type Summary = WorkflowTypeSummaryFragment;

/** Where one version of a type is shown. */
function typeHref(name: string, version?: number | null): string {
  const path = `/types/${encodeURIComponent(name)}`;
  return version === null || version === undefined ? path : `${path}?version=${version}`;
}

/** The page's line for a declared type's version, or "built-in". */
function VersionTag({ type }: { type: Pick<Summary, 'builtIn' | 'version'> }) {
  return type.builtIn ? <span className="tag">built-in</span> : <span className="tag tag-version">v{type.version}</span>;
}

/** A built-in type without a declared next step decides it in its own code (its description says). */
const IN_CODE = 'Set in its code';

function NextStepText({ step, builtIn, reject = false }: { step: Summary['nextOnApprove']; builtIn: boolean; reject?: boolean }) {
  if (!step) return <span className="muted">{builtIn ? IN_CODE : 'Ends the chain'}</span>;
  return (
    <>
      <Link to={typeHref(step.workflowType)}>{typeLabel(step.workflowType)}</Link>
      {reject && step.requiresFeedback ? <span className="muted small"> (only with feedback)</span> : null}
    </>
  );
}

function attemptsText(t: Pick<Summary, 'maxAttempts' | 'retryBaseSeconds'>): string {
  const retry = Number.isInteger(t.retryBaseSeconds) ? t.retryBaseSeconds : Number(t.retryBaseSeconds.toFixed(2));
  return t.maxAttempts > 1
    ? `${t.maxAttempts}, retried after ${retry} s, doubling`
    : `${t.maxAttempts} (no retry)`;
}

export function TypesPage() {
  useTitle('Workflow types');
  const viewer = useViewer();
  const [{ data, fetching, error }, refetch] = useQuery({ query: WorkflowTypesListQuery });
  const [declaring, setDeclaring] = useState(false);
  const [declared, setDeclared] = useState<{ type: Summary; unchanged: boolean } | null>(null);
  const types = data?.workflowTypes ?? [];
  const reload = () => refetch({ requestPolicy: 'network-only' });

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Workflow types</h1>
          <p className="muted small">
            What can run: the built-in types and those admins declared (their latest version), what a decision starts
            next, and their limits.{viewer.isAdmin ? '' : ' Admins declare new types and versions.'}
          </p>
        </div>
        {viewer.isAdmin && !declaring ? (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => {
              setDeclared(null);
              setDeclaring(true);
            }}
          >
            Declare a type
          </button>
        ) : null}
      </div>
      {declared ? <DeclaredNotice {...declared} /> : null}
      {viewer.isAdmin && declaring ? (
        <DeclareTypeForm
          initial={EMPTY_DECLARE_FORM}
          types={types}
          onCancel={() => setDeclaring(false)}
          onDeclared={(t) => {
            const before = types.find((x) => x.name === t.name);
            setDeclared({ type: t, unchanged: before?.version === t.version });
            setDeclaring(false);
            reload();
          }}
        />
      ) : null}
      {error && !data ? <ProblemNotice error={error} onRetry={reload} /> : null}
      {!data && fetching ? <Loading label="Loading workflow types…" /> : null}
      {data && types.length === 0 ? <Empty title="This server runs no workflow types" /> : null}
      {types.length > 0 ? <TypesTable types={types} /> : null}
    </div>
  );
}

function DeclaredNotice({ type, unchanged }: { type: Summary; unchanged: boolean }) {
  return (
    <div className="notice notice-ok" role="status" data-testid="type-declared">
      <p className="notice-title">
        {unchanged
          ? `Nothing changed: ${typeLabel(type.name)} is still version ${type.version}.`
          : `Declared ${typeVersionLabel(type.name, type.version)}.`}
      </p>
      <p className="notice-body">
        <Link to={typeHref(type.name, type.version)}>See its schemas</Link>
      </p>
    </div>
  );
}

function TypesTable({ types }: { types: readonly Summary[] }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Workflow types">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Approval</th>
            <th scope="col">On approve</th>
            <th scope="col">On reject</th>
            <th scope="col" className="hide-narrow">
              Timeout
            </th>
            <th scope="col" className="hide-narrow">
              Attempts
            </th>
            <th scope="col" className="hide-narrow">
              Declared
            </th>
          </tr>
        </thead>
        <tbody>
          {types.map((t) => (
            <tr key={t.name} data-type={t.name}>
              <td>
                <Link to={typeHref(t.name)}>{typeLabel(t.name)}</Link> <VersionTag type={t} />
                {t.description ? <span className="excerpt">{t.description}</span> : null}
              </td>
              <td>{t.requiresApproval ? 'Required' : <span className="muted">None</span>}</td>
              <td>
                {t.requiresApproval ? (
                  <NextStepText step={t.nextOnApprove} builtIn={t.builtIn} />
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td>
                {t.requiresApproval ? (
                  <NextStepText step={t.nextOnReject} builtIn={t.builtIn} reject />
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td className="hide-narrow">{formatSeconds(t.timeoutSeconds)}</td>
              <td className="hide-narrow">{attemptsText(t)}</td>
              <td className="hide-narrow">
                {t.builtIn ? (
                  <span className="muted">Built in</span>
                ) : (
                  <>
                    {t.declaredBy ?? 'unknown'}
                    {t.declaredAt ? (
                      <span className="excerpt">
                        <time dateTime={t.declaredAt}>{formatDateTime(t.declaredAt)}</time>
                      </span>
                    ) : null}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const SCHEMAS = [
  { key: 'inputSchema', title: 'Input schema', none: 'Takes any input.' },
  { key: 'artifactSchema', title: 'Artifact schema', none: 'None declared: reviewers see its artifacts as JSON.' },
  { key: 'outputSchema', title: 'Output schema', none: 'None declared: any output is accepted.' },
  { key: 'configSchema', title: 'Config schema', none: 'None declared: experiments cannot tune it.' },
] as const;

export function TypeDetailPage() {
  const { name = '' } = useParams();
  const [versionParam] = useSearchParam('version');
  const version = versionParam !== null && /^\d+$/.test(versionParam) ? Number(versionParam) : null;
  const badVersion = versionParam !== null && version === null;
  const [{ data, fetching, error, operation }, refetch] = useQuery({
    query: WorkflowTypeDetailQuery,
    variables: { name, version },
    pause: badVersion,
  });
  const current = operation?.variables.name === name && operation.variables.version === version;
  const type = current ? data?.workflowType : undefined;
  useTitle(type ? `Type ${typeVersionLabel(type.name, type.builtIn ? null : type.version)}` : 'Workflow type');
  const reload = () => refetch({ requestPolicy: 'network-only' });

  if (badVersion || hasProblem(error, 'not-found') || hasProblem(error, 'bad-input')) {
    return <NotFound what="Workflow type" id={name} />;
  }
  if (current && data && data.workflowType === null) return <NotFound what="Workflow type" id={name} />;
  if (!type || !data) {
    if (error) return <ProblemNotice error={error} onRetry={reload} />;
    return fetching || !current ? <Loading label="Loading the workflow type…" /> : null;
  }
  return (
    <TypeDetail
      key={`${type.name}/${type.version}`}
      type={type}
      latest={data.latest?.version ?? type.version}
      types={data.workflowTypes}
    />
  );
}

type Detail = NonNullable<WorkflowTypeDetailQuery['workflowType']>;

function TypeDetail({
  type: t,
  latest,
  types,
}: {
  type: Detail;
  latest: number;
  types: readonly { name: string; builtIn: boolean }[];
}) {
  const viewer = useViewer();
  const [declaring, setDeclaring] = useState(false);
  const [unchanged, setUnchanged] = useState(false);
  const isLatest = t.version === latest;
  const facts: [string, ReactNode][] = [
    ['Approval', t.requiresApproval ? 'A reviewer decides on what a run produces' : 'None: runs finish on their own'],
  ];
  if (t.requiresApproval) {
    facts.push(['Artifact kind', <code key="k">{t.artifactKind ?? t.name}</code>]);
    facts.push(['On approve', <NextStep key="a" step={t.nextOnApprove} builtIn={t.builtIn} />]);
    facts.push(['On reject', <NextStep key="r" step={t.nextOnReject} builtIn={t.builtIn} reject />]);
  }
  facts.push(['Timeout', formatSeconds(t.timeoutSeconds)]);
  facts.push(['Attempts', attemptsText(t)]);
  facts.push(['Declared', t.builtIn ? 'Built in' : `${t.declaredBy ?? 'unknown'}, ${formatDateTime(t.declaredAt)}`]);

  return (
    <article className="stack" aria-labelledby="type-title">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/types">Workflow types</Link> / <span className="mono">{t.name}</span>
          </p>
          <h1 id="type-title">
            {typeLabel(t.name)} <VersionTag type={t} />
          </h1>
          {t.description ? <p className="muted">{t.description}</p> : null}
          {!t.builtIn && latest > 1 ? (
            <nav aria-label="Versions" className="small">
              Versions:{' '}
              {Array.from({ length: latest }, (_, i) => i + 1).map((v) => (
                <span key={v}>
                  {' '}
                  <Link to={typeHref(t.name, v)} aria-current={v === t.version ? 'page' : undefined}>
                    v{v}
                  </Link>
                </span>
              ))}
            </nav>
          ) : null}
        </div>
        <div className="actions">
          {viewer.canSubmit && isLatest ? (
            <Link className="btn" to={`/workflows/new?type=${encodeURIComponent(t.name)}`}>
              Start one
            </Link>
          ) : null}
          {viewer.isAdmin && !t.builtIn && !declaring ? (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => {
                setUnchanged(false);
                setDeclaring(true);
              }}
            >
              Declare a new version
            </button>
          ) : null}
        </div>
      </div>
      {!isLatest ? (
        <div className="notice notice-info">
          <p className="notice-title">
            This is version {t.version}; new runs use version {latest}. Runs created with this one keep it.
          </p>
          <p className="notice-body">
            <Link to={typeHref(t.name)}>See the latest</Link>
          </p>
        </div>
      ) : null}
      {unchanged ? (
        <div className="notice notice-ok" role="status" data-testid="type-declared">
          <p className="notice-title">Nothing changed: {typeLabel(t.name)} is still version {t.version}.</p>
        </div>
      ) : null}
      {declaring ? (
        <DeclareTypeForm
          initial={declareFormValues(t)}
          nameLocked
          types={types}
          onCancel={() => setDeclaring(false)}
          onDeclared={(d) => {
            setDeclaring(false);
            // Same content: the same version. Else show the new one (the
            // mutation's WorkflowType result refreshes cached reads).
            if (d.version === t.version) setUnchanged(true);
            else navigate(typeHref(d.name, d.version));
          }}
        />
      ) : null}
      <section className="card" aria-labelledby="type-facts">
        <h2 id="type-facts">How it runs</h2>
        <dl className="facts">
          {facts.map(([k, v]) => (
            <div key={k} className="fact">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </section>
      <div className="io-grid">
        {SCHEMAS.map((s) => {
          const schema = t[s.key];
          const present = schema !== null && schema !== undefined && !(isObject(schema) && Object.keys(schema).length === 0);
          return (
            <section key={s.key} className="card stack-sm" aria-labelledby={`schema-${s.key}`}>
              <h2 id={`schema-${s.key}`}>{s.title}</h2>
              {present ? <JsonView value={schema} label={s.title} /> : <p className="muted">{s.none}</p>}
            </section>
          );
        })}
      </div>
    </article>
  );
}

function NextStep({ step, builtIn, reject = false }: { step: Summary['nextOnApprove']; builtIn: boolean; reject?: boolean }) {
  if (!step) return <span className="muted">{builtIn ? `${IN_CODE} (see the description)` : 'Nothing: the chain ends'}</span>;
  const extra = isObject(step.input) && Object.keys(step.input).length > 0 ? step.input : null;
  return (
    <>
      <Link to={typeHref(step.workflowType)}>{typeLabel(step.workflowType)}</Link>
      {reject ? (step.requiresFeedback ? ', only when the reviewer wrote feedback' : ', with or without feedback') : null}
      {extra ? (
        <>
          , with <code>{JSON.stringify(extra)}</code> added to its input
        </>
      ) : null}
    </>
  );
}
