// Webhooks: where Baton posts signed notifications (Standard Webhooks), for
// which events and workflow types. A webhook's signing secret is shown
// once, when it is added or rotated; after a rotation the previous secret
// keeps signing beside the new one for a while, so the receiver can switch
// without dropping a delivery. Each webhook can be disabled, sent a test
// delivery, or deleted (its pending deliveries die; the log keeps them).

import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field } from '../../components/Field';
import { ProblemNotice } from '../../components/Problem';
import { SecretOnce } from '../../components/SecretOnce';
import { Empty, Loading } from '../../components/States';
import { graphql } from '../../gql';
import type { AdminWebhookFragment } from '../../gql/graphql';
import { useNow } from '../../hooks/useNow';
import { problemsOf, splitFieldErrors, type Problem } from '../../lib/errors';
import { formatDateTime, typeLabel } from '../../lib/format';
import {
  DEFAULT_OVERLAP,
  EMPTY_WEBHOOK_FORM,
  OVERLAP_CHOICES,
  rotationState,
  toggled,
  typesText,
  WEBHOOK_EVENTS,
  webhookFieldOf,
  webhookInput,
  type WebhookField,
  type WebhookFormValues,
} from '../../lib/webhooks';
import { Link } from '../../router';

export const AdminWebhookFields = graphql(`
  fragment AdminWebhook on Webhook {
    id
    kind
    url
    description
    events
    workflowTypes
    active
    previousSecretValidUntil
    createdAt
    createdBy
    updatedAt
  }
`);

const AdminWebhooksQuery = graphql(`
  query AdminWebhooks {
    webhooks {
      ...AdminWebhook
    }
    workflowTypes {
      name
    }
  }
`);

const CreateWebhookMutation = graphql(`
  mutation CreateWebhook($input: CreateWebhookInput!) {
    createWebhook(input: $input) {
      secret
      webhook {
        ...AdminWebhook
      }
    }
  }
`);

const UpdateWebhookMutation = graphql(`
  mutation UpdateWebhook($id: ID!, $input: UpdateWebhookInput!) {
    updateWebhook(id: $id, input: $input) {
      ...AdminWebhook
    }
  }
`);

const DeleteWebhookMutation = graphql(`
  mutation DeleteWebhook($id: ID!) {
    deleteWebhook(id: $id) {
      id
      url
    }
  }
`);

const RotateWebhookSecretMutation = graphql(`
  mutation RotateWebhookSecret($id: ID!, $previousValidForSeconds: Int!) {
    rotateWebhookSecret(id: $id, previousValidForSeconds: $previousValidForSeconds) {
      secret
      webhook {
        ...AdminWebhook
      }
    }
  }
`);

const SendTestWebhookMutation = graphql(`
  mutation SendTestWebhook($id: ID!) {
    sendTestWebhook(id: $id) {
      id
      webhookId
      eventType
      status
    }
  }
`);

/** A secret just issued: by `createWebhook` or `rotateWebhookSecret`. */
type Issued =
  | { kind: 'created'; url: string; value: string }
  | { kind: 'rotated'; url: string; value: string; previousUntil: string | null };

/** What the last action on a webhook came to. */
type Outcome =
  | { kind: 'test'; url: string; webhookId: string; deliveryId: string }
  | { kind: 'toggled'; url: string; active: boolean }
  | { kind: 'deleted'; url: string };

export function WebhooksSection() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminWebhooksQuery });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const [issued, setIssued] = useState<Issued | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [deleting, setDeleting] = useState<AdminWebhookFragment | null>(null);
  const [rotating, setRotating] = useState<AdminWebhookFragment | null>(null);
  const [overlap, setOverlap] = useState(DEFAULT_OVERLAP);
  const [updateState, update] = useMutation(UpdateWebhookMutation);
  const [deleteState, remove] = useMutation(DeleteWebhookMutation);
  const [rotateState, rotate] = useMutation(RotateWebhookSecretMutation);
  const [testState, sendTest] = useMutation(SendTestWebhookMutation);
  const now = useNow();
  const headingId = useId();

  const begin = () => {
    setProblems([]);
    setOutcome(null);
  };

  const toggle = async (w: AdminWebhookFragment) => {
    begin();
    const result = await update({ id: w.id, input: { active: !w.active } });
    if (result.data) setOutcome({ kind: 'toggled', url: w.url, active: result.data.updateWebhook.active });
    else setProblems(problemsOf(result.error));
    reload();
  };

  const test = async (w: AdminWebhookFragment) => {
    begin();
    const result = await sendTest({ id: w.id });
    const d = result.data?.sendTestWebhook;
    if (d) setOutcome({ kind: 'test', url: w.url, webhookId: d.webhookId, deliveryId: d.id });
    else setProblems(problemsOf(result.error));
  };

  const confirmDelete = async () => {
    const w = deleting;
    if (!w) return;
    begin();
    const result = await remove({ id: w.id });
    setDeleting(null);
    if (result.data) setOutcome({ kind: 'deleted', url: w.url });
    else setProblems(problemsOf(result.error));
    reload();
  };

  const confirmRotate = async () => {
    const w = rotating;
    if (!w) return;
    begin();
    const seconds = OVERLAP_CHOICES.find((c) => c.label === overlap)?.seconds ?? 86_400;
    const result = await rotate({ id: w.id, previousValidForSeconds: seconds });
    setRotating(null);
    const payload = result.data?.rotateWebhookSecret;
    if (payload) {
      setIssued({
        kind: 'rotated',
        url: payload.webhook.url,
        value: payload.secret,
        previousUntil: seconds > 0 ? (payload.webhook.previousSecretValidUntil ?? null) : null,
      });
    } else setProblems(problemsOf(result.error));
    reload();
  };

  const webhooks = data?.webhooks ?? [];
  const busy = updateState.fetching || testState.fetching;
  return (
    <div className="stack">
      <p className="muted">
        Baton posts a signed notification to each webhook when the events it chose happen, and retries until the
        receiver answers 2xx (then gives up; the delivery log can send it again). Receivers check the Standard Webhooks
        signature; see the README (&ldquo;Notifications: webhooks&rdquo;).
      </p>
      <CreateWebhookForm
        workflowTypes={data?.workflowTypes.map((t) => t.name) ?? []}
        onCreated={(hook, secret) => {
          setOutcome(null);
          setIssued({ kind: 'created', url: hook.url, value: secret });
          reload();
        }}
      />
      {issued ? (
        <SecretOnce
          title={issued.kind === 'created' ? `The signing secret of ${issued.url}` : `A new signing secret for ${issued.url}`}
          label="Signing secret"
          value={issued.value}
          testId="webhook-secret"
          onDone={() => setIssued(null)}
        >
          <p>
            <strong>Copy it now: it will not be shown again.</strong> Give it to the receiver: it checks every
            delivery&rsquo;s signature with it.
          </p>
          {issued.kind === 'rotated' ? (
            <p data-testid="rotation-overlap">
              {issued.previousUntil
                ? `Until ${formatDateTime(issued.previousUntil)} each delivery carries two signatures, one with the previous secret and one with this one, so the receiver keeps working while you switch it over. After that only this secret signs.`
                : 'The previous secret no longer signs: deliveries are signed with this one only.'}
            </p>
          ) : null}
          <p>
            Standard Webhooks signature; see the README. Each delivery has the headers <code>webhook-id</code> (drop
            repeats by it), <code>webhook-timestamp</code> and <code>webhook-signature</code>: <code>v1,</code> and the
            base64 HMAC-SHA256 of <code>id.timestamp.body</code>, keyed with the base64 part after <code>whsec_</code>.
            Any Standard Webhooks library verifies it.
          </p>
        </SecretOnce>
      ) : null}
      <section className="stack-sm" aria-labelledby={headingId}>
        <div className="card-head">
          <h2 id={headingId}>Webhooks</h2>
          <Link to="/admin/deliveries" className="small">
            Delivery log
          </Link>
        </div>
        <ProblemNotice problems={problems} />
        {outcome ? <OutcomeNotice outcome={outcome} /> : null}
        {error && !data ? <ProblemNotice error={error} onRetry={reload} /> : null}
        {!data && fetching ? <Loading label="Loading webhooks…" /> : null}
        {data && webhooks.length === 0 ? (
          <Empty title="No webhooks yet">
            <p>Add one above to be told about new approvals without keeping the review app open.</p>
          </Empty>
        ) : null}
        {webhooks.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-labelledby={headingId} data-testid="webhooks-table">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">Workflow types</th>
                  <th scope="col">Status</th>
                  <th scope="col">Secret</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {webhooks.map((w) => {
                  const rotation = rotationState(w, now);
                  return (
                    <tr key={w.id} data-webhook={w.url} data-webhook-id={w.id}>
                      <td className="webhook-url">
                        <code>{w.url}</code>
                        {w.description ? <span className="excerpt">{w.description}</span> : null}
                        <span className="excerpt">
                          Added {formatDateTime(w.createdAt)} by {w.createdBy}
                        </span>
                      </td>
                      <td>
                        <ul className="plain-list">
                          {w.events.map((e) => (
                            <li key={e}>
                              <code>{e}</code>
                            </li>
                          ))}
                        </ul>
                      </td>
                      <td>{typesText(w.workflowTypes)}</td>
                      <td>
                        {w.active ? (
                          <span className="badge badge-completed">Active</span>
                        ) : (
                          <span className="badge badge-cancelled">Disabled</span>
                        )}
                      </td>
                      <td>
                        <span className={`badge ${rotation.overlapping ? 'badge-running' : 'badge-role'}`} data-rotation={rotation.label}>
                          {rotation.label}
                        </span>
                        {rotation.detail ? <span className="excerpt">{rotation.detail}</span> : null}
                      </td>
                      <td>
                        <div className="wrap-actions">
                          {w.active ? (
                            <button
                              type="button"
                              className="btn btn-small"
                              disabled={busy}
                              onClick={() => void test(w)}
                              aria-label={`Send test to ${w.url}`}
                            >
                              Send test
                            </button>
                          ) : null}
                          <Link
                            to={`/admin/deliveries?webhook=${encodeURIComponent(w.id)}`}
                            className="btn btn-small btn-ghost"
                            aria-label={`Deliveries to ${w.url}`}
                          >
                            Deliveries
                          </Link>
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={busy}
                            onClick={() => void toggle(w)}
                            aria-label={`${w.active ? 'Disable' : 'Enable'} ${w.url}`}
                          >
                            {w.active ? 'Disable' : 'Enable'}
                          </button>
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => {
                              setOverlap(DEFAULT_OVERLAP);
                              setRotating(w);
                            }}
                            aria-label={`Rotate secret of ${w.url}`}
                          >
                            Rotate secret
                          </button>
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => setDeleting(w)}
                            aria-label={`Delete ${w.url}`}
                          >
                            Delete
                          </button>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {deleting ? (
        <ConfirmDialog
          title={`Delete the webhook ${deleting.url}?`}
          confirmLabel="Delete"
          busyLabel="Deleting…"
          busy={deleteState.fetching}
          tone="danger"
          onConfirm={() => void confirmDelete()}
          onCancel={() => setDeleting(null)}
        >
          <p>
            It receives nothing more, and its pending deliveries are given up (the delivery log keeps them). This cannot
            be undone; add it again to get a new secret.
          </p>
        </ConfirmDialog>
      ) : null}
      {rotating ? (
        <ConfirmDialog
          title={`Rotate the secret of ${rotating.url}?`}
          confirmLabel="Rotate secret"
          busyLabel="Rotating…"
          busy={rotateState.fetching}
          onConfirm={() => void confirmRotate()}
          onCancel={() => setRotating(null)}
        >
          <p>
            Baton makes a new secret and shows it once. The previous one keeps signing beside it for as long as you
            choose, so the receiver can switch over without rejecting a delivery.
          </p>
          <Field id="rotate-overlap" label="The previous secret keeps signing for">
            {(p) => (
              <select {...p} value={overlap} onChange={(e) => setOverlap(e.target.value)}>
                {OVERLAP_CHOICES.map((c) => (
                  <option key={c.label} value={c.label}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function OutcomeNotice({ outcome }: { outcome: Outcome }) {
  return (
    <div className="notice notice-ok" role="status" data-testid="webhook-outcome">
      {outcome.kind === 'test' ? (
        <>
          <p className="notice-title">A test delivery to {outcome.url} is queued.</p>
          <p className="notice-body">
            Its id (the <code>webhook-id</code> header) is <code data-testid="test-delivery-id">{outcome.deliveryId}</code>.{' '}
            <Link to={`/admin/deliveries?webhook=${encodeURIComponent(outcome.webhookId)}`}>See it in the delivery log</Link>.
          </p>
        </>
      ) : outcome.kind === 'toggled' ? (
        <p className="notice-title">
          {outcome.active
            ? `${outcome.url} is enabled: it receives its events again.`
            : `${outcome.url} is disabled: it receives nothing, and its due deliveries are given up.`}
        </p>
      ) : (
        <p className="notice-title">The webhook {outcome.url} is deleted.</p>
      )}
    </div>
  );
}

function CreateWebhookForm({
  workflowTypes,
  onCreated,
}: {
  workflowTypes: readonly string[];
  onCreated: (webhook: AdminWebhookFragment, secret: string) => void;
}) {
  const [values, setValues] = useState<WebhookFormValues>(EMPTY_WEBHOOK_FORM);
  const [errors, setErrors] = useState<Partial<Record<WebhookField, string>>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [state, create] = useMutation(CreateWebhookMutation);
  const headingId = useId();
  const set = <K extends keyof WebhookFormValues>(key: K, value: WebhookFormValues[K]) =>
    setValues((v) => ({ ...v, [key]: value }));

  const submit = async () => {
    setProblems([]);
    const { input, errors: found } = webhookInput(values);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const result = await create({ input });
    const payload = result.data?.createWebhook;
    if (payload) {
      setValues(EMPTY_WEBHOOK_FORM);
      onCreated(payload.webhook, payload.secret);
      return;
    }
    const { fields, rest } = splitFieldErrors(problemsOf(result.error), webhookFieldOf);
    setErrors(fields);
    setProblems(rest);
  };

  return (
    <form
      className="card stack-sm"
      aria-labelledby={headingId}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id={headingId}>Add a webhook</h2>
      <fieldset className="form-row">
        <legend>Receiver</legend>
        <label>
          <input
            type="radio"
            name="webhook-kind"
            checked={values.kind === 'STANDARD'}
            onChange={() => set('kind', 'STANDARD')}
          />{' '}
          Signed JSON (Standard Webhooks)
        </label>
        <label>
          <input
            type="radio"
            name="webhook-kind"
            checked={values.kind === 'SLACK'}
            onChange={() => set('kind', 'SLACK')}
          />{' '}
          Slack channel (incoming-webhook URL; a message with a Review button)
        </label>
      </fieldset>
      <div className="form-row">
        <Field
          id="webhook-url"
          label="URL"
          error={errors.url}
          field="url"
          hint="Where Baton posts: https://…, or http:// on your own network."
        >
          {(p) => (
            <input
              {...p}
              type="url"
              inputMode="url"
              autoComplete="off"
              spellCheck={false}
              value={values.url}
              onChange={(e) => set('url', e.target.value)}
            />
          )}
        </Field>
        <Field id="webhook-description" label="Description" optional error={errors.description} field="description">
          {(p) => (
            <input
              {...p}
              type="text"
              autoComplete="off"
              maxLength={256}
              value={values.description}
              onChange={(e) => set('description', e.target.value)}
            />
          )}
        </Field>
      </div>
      <fieldset className="fieldset" aria-describedby={errors.events ? 'webhook-events-error' : undefined}>
        <legend>Events</legend>
        <div className="check-list">
          {WEBHOOK_EVENTS.map((e) => (
            <label key={e.name}>
              <input
                type="checkbox"
                checked={values.events.includes(e.name)}
                aria-invalid={errors.events ? true : undefined}
                onChange={(ev) => set('events', toggled(values.events, e.name, ev.target.checked))}
              />{' '}
              <code>{e.name}</code> <span className="muted small">{e.description}</span>
            </label>
          ))}
        </div>
        {errors.events ? (
          <p id="webhook-events-error" className="field-error" data-field-error="events">
            {errors.events}
          </p>
        ) : null}
      </fieldset>
      {workflowTypes.length > 0 ? (
        <fieldset
          className="fieldset"
          aria-describedby={`webhook-types-hint${errors.workflowTypes ? ' webhook-types-error' : ''}`}
        >
          <legend>
            Only these workflow types <span className="muted">(optional)</span>
          </legend>
          <p id="webhook-types-hint" className="hint">
            None ticked: events of every workflow type.
          </p>
          <div className="radio-row">
            {workflowTypes.map((t) => (
              <label key={t}>
                <input
                  type="checkbox"
                  checked={values.workflowTypes.includes(t)}
                  onChange={(ev) => set('workflowTypes', toggled(values.workflowTypes, t, ev.target.checked))}
                />{' '}
                {typeLabel(t)}
              </label>
            ))}
          </div>
          {errors.workflowTypes ? (
            <p id="webhook-types-error" className="field-error" data-field-error="workflowTypes">
              {errors.workflowTypes}
            </p>
          ) : null}
        </fieldset>
      ) : null}
      <ProblemNotice problems={problems} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={state.fetching}>
          {state.fetching ? 'Adding…' : 'Add webhook'}
        </button>
      </div>
    </form>
  );
}
