// The admin's "declare a workflow type" form: a declared type as form
// values (to declare its next version), and form values as
// `declareWorkflowType`'s input, with the checks the server makes anyway
// (name, JSON that parses, schemas that are schemas, local `$ref`s that
// point somewhere, bounds), so mistakes show next to their field before a
// round trip; and the server's field names → the form's.

import type { DeclareWorkflowTypeInput } from '../gql/graphql';
import { isObject, type JsonObject } from './json';
import { brokenRefs } from './jsonSchema';

export interface DeclareFormValues {
  name: string;
  description: string;
  requiresApproval: boolean;
  /** JSON text, as typed. */
  inputSchema: string;
  outputSchema: string;
  artifactSchema: string;
  configSchema: string;
  artifactKind: string;
  /** The type approving starts; empty for none. */
  approveType: string;
  /** JSON object text merged into its input; empty for {}. */
  approveInput: string;
  rejectType: string;
  rejectInput: string;
  rejectRequiresFeedback: boolean;
  /** Empty: the server's default. */
  timeoutSeconds: string;
  maxAttempts: string;
  retryBaseSeconds: string;
}

export type DeclareField = keyof DeclareFormValues;
export type DeclareErrors = Partial<Record<DeclareField, string>>;

export const SCHEMA_FIELDS = ['inputSchema', 'outputSchema', 'artifactSchema', 'configSchema'] as const;
export type SchemaField = (typeof SCHEMA_FIELDS)[number];

/** The contract's rule for names. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export const EMPTY_DECLARE_FORM: DeclareFormValues = {
  name: '',
  description: '',
  requiresApproval: true,
  inputSchema: '{\n  "type": "object",\n  "properties": {},\n  "required": []\n}',
  outputSchema: '',
  artifactSchema: '',
  configSchema: '',
  artifactKind: '',
  approveType: '',
  approveInput: '',
  rejectType: '',
  rejectInput: '',
  rejectRequiresFeedback: true,
  timeoutSeconds: '',
  maxAttempts: '',
  retryBaseSeconds: '',
};

/** What the form reads from a declared type (the fields of `WorkflowType` it declares). */
export interface DeclaredLike {
  name: string;
  description: string;
  requiresApproval: boolean;
  inputSchema: unknown;
  outputSchema?: unknown;
  artifactSchema?: unknown;
  configSchema?: unknown;
  artifactKind?: string | null;
  nextOnApprove?: { workflowType: string; input: unknown } | null;
  nextOnReject?: { workflowType: string; input: unknown; requiresFeedback: boolean } | null;
  timeoutSeconds: number;
  maxAttempts: number;
  retryBaseSeconds: number;
}

const jsonText = (value: unknown) => (value === null || value === undefined ? '' : JSON.stringify(value, null, 2));
const inputText = (value: unknown) => (isObject(value) && Object.keys(value).length === 0 ? '' : jsonText(value));

/** A declared version as the form for the next one (same name; change what you need). */
export function declareFormValues(t: DeclaredLike): DeclareFormValues {
  return {
    name: t.name,
    description: t.description,
    requiresApproval: t.requiresApproval,
    inputSchema: jsonText(t.inputSchema),
    outputSchema: jsonText(t.outputSchema),
    artifactSchema: jsonText(t.artifactSchema),
    configSchema: jsonText(t.configSchema),
    // The default kind is the type's name: leave it implicit.
    artifactKind: t.artifactKind && t.artifactKind !== t.name ? t.artifactKind : '',
    approveType: t.nextOnApprove?.workflowType ?? '',
    approveInput: inputText(t.nextOnApprove?.input),
    rejectType: t.nextOnReject?.workflowType ?? '',
    rejectInput: inputText(t.nextOnReject?.input),
    rejectRequiresFeedback: t.nextOnReject?.requiresFeedback ?? true,
    timeoutSeconds: String(t.timeoutSeconds),
    maxAttempts: String(t.maxAttempts),
    retryBaseSeconds: String(t.retryBaseSeconds),
  };
}

/** Where a JSON parse error is, in words people can find ("line 3, column 5"), when the engine says. */
function parseError(text: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return `Not valid JSON (line ${lineCol[1]}, column ${lineCol[2]}).`;
  const pos = /position (\d+)/.exec(message);
  if (pos) {
    const before = text.slice(0, Number(pos[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return `Not valid JSON (line ${line}, column ${column}).`;
  }
  return 'Not valid JSON.';
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function parse(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: parseError(text, e) };
  }
}

/**
 * One schema text: undefined (left empty), the parsed schema, or the
 * problem to show at its field. A JSON Schema is an object or a boolean;
 * its local `$ref`s must point inside it.
 */
export function parseSchema(text: string): { value?: unknown; error?: string } {
  if (text.trim() === '') return {};
  const parsed = parse(text);
  if (!parsed.ok) return { error: parsed.error };
  const value = parsed.value;
  if (!isObject(value) && typeof value !== 'boolean') {
    return { error: 'A JSON Schema is a JSON object (or true / false).' };
  }
  const broken = brokenRefs(value);
  if (broken.length > 0) {
    return {
      error: `$ref ${broken.join(', ')} ${broken.length === 1 ? 'points' : 'point'} nowhere in this schema (only references inside it resolve).`,
    };
  }
  return { value };
}

/** A next step's input text: empty ({}), or a JSON object. */
function parseObject(text: string): { value?: JsonObject; error?: string } {
  if (text.trim() === '') return {};
  const parsed = parse(text);
  if (!parsed.ok) return { error: parsed.error };
  if (!isObject(parsed.value)) return { error: 'A JSON object: its keys are merged into the next input.' };
  return { value: parsed.value };
}

/** A whole number in [min, max] from text; null when empty; NaN when not. */
function whole(text: string, min: number, max: number): number | null {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  return /^\d+$/.test(t) && n >= min && n <= max ? n : Number.NaN;
}

/**
 * The mutation's input, or the problems per field. `builtInNames` are the
 * names no declaration may take.
 */
export function declareInput(
  v: DeclareFormValues,
  builtInNames: readonly string[] = [],
): { input: DeclareWorkflowTypeInput; errors: DeclareErrors } {
  const errors: DeclareErrors = {};
  const name = v.name.trim();
  if (name === '') errors.name = 'Required.';
  else if (!NAME_PATTERN.test(name)) {
    errors.name = 'Lower-case letters, digits and _, starting with a letter; at most 64 characters.';
  } else if (builtInNames.includes(name)) errors.name = `${name} is a built-in type: choose another name.`;

  const schemas: Partial<Record<SchemaField, unknown>> = {};
  for (const field of SCHEMA_FIELDS) {
    const { value, error } = parseSchema(v[field]);
    if (error) errors[field] = error;
    else if (value !== undefined) schemas[field] = value;
  }
  if (v.inputSchema.trim() === '') errors.inputSchema = 'Required: the schema of the input a run starts with.';

  // A next step follows a decision: only types that ask for one have it.
  const approveType = v.requiresApproval ? v.approveType.trim() : '';
  const rejectType = v.requiresApproval ? v.rejectType.trim() : '';
  const approveInput = v.requiresApproval ? parseObject(v.approveInput) : {};
  const rejectInput = v.requiresApproval ? parseObject(v.rejectInput) : {};
  if (approveInput.error) errors.approveInput = approveInput.error;
  else if (approveInput.value && approveType === '') errors.approveInput = 'Choose the type approving starts first.';
  if (rejectInput.error) errors.rejectInput = rejectInput.error;
  else if (rejectInput.value && rejectType === '') errors.rejectInput = 'Choose the type rejecting starts first.';

  const timeout = whole(v.timeoutSeconds, 1, 86_400);
  if (Number.isNaN(timeout)) errors.timeoutSeconds = 'A whole number of seconds from 1 to 86400 (a day), or empty for the default.';
  const attempts = whole(v.maxAttempts, 1, 100);
  if (Number.isNaN(attempts)) errors.maxAttempts = 'A whole number from 1 to 100, or empty for the default.';
  const retryText = v.retryBaseSeconds.trim();
  const retry = retryText === '' ? null : Number(retryText);
  if (retry !== null && (!Number.isFinite(retry) || retry < 0.01 || retry > 3_600)) {
    errors.retryBaseSeconds = 'A number of seconds from 0.01 to 3600, or empty for the default.';
  }

  const description = v.description.trim();
  if ([...description].length > 2_000) errors.description = 'At most 2000 characters.';
  const artifactKind = v.artifactKind.trim();
  if ([...artifactKind].length > 64) errors.artifactKind = 'At most 64 characters.';
  return {
    input: {
      name,
      description: description === '' ? null : description,
      inputSchema: schemas.inputSchema ?? {},
      outputSchema: schemas.outputSchema ?? null,
      artifactSchema: schemas.artifactSchema ?? null,
      artifactKind: artifactKind === '' ? null : artifactKind,
      configSchema: schemas.configSchema ?? null,
      requiresApproval: v.requiresApproval,
      nextOnApprove: approveType === '' ? null : { workflowType: approveType, input: approveInput.value ?? null },
      nextOnReject:
        rejectType === ''
          ? null
          : { workflowType: rejectType, input: rejectInput.value ?? null, requiresFeedback: v.rejectRequiresFeedback },
      timeoutSeconds: timeout,
      maxAttempts: attempts,
      retryBaseSeconds: retry,
    },
    errors,
  };
}

/** Only one field checked (on leaving it): its problem, if any. */
export function checkDeclareField(field: DeclareField, v: DeclareFormValues, builtInNames: readonly string[] = []): string | undefined {
  if (field === 'inputSchema' && v.inputSchema.trim() === '') return undefined; // "Required" waits for the submit
  return declareInput(v, builtInNames).errors[field];
}

const SERVER_FIELDS: Record<string, DeclareField> = {
  name: 'name',
  description: 'description',
  inputSchema: 'inputSchema',
  outputSchema: 'outputSchema',
  artifactSchema: 'artifactSchema',
  artifactKind: 'artifactKind',
  configSchema: 'configSchema',
  requiresApproval: 'requiresApproval',
  'nextOnApprove.workflowType': 'approveType',
  nextOnApprove: 'approveType',
  'nextOnApprove.input': 'approveInput',
  'nextOnReject.workflowType': 'rejectType',
  nextOnReject: 'rejectType',
  'nextOnReject.input': 'rejectInput',
  'nextOnReject.requiresFeedback': 'rejectRequiresFeedback',
  timeoutSeconds: 'timeoutSeconds',
  maxAttempts: 'maxAttempts',
  retryBaseSeconds: 'retryBaseSeconds',
};

/**
 * The server's field (`input.nextOnApprove.workflowType`, `input.inputSchema`,
 * or a spot inside a schema such as `input.artifactSchema/properties/x`;
 * snake_case too, as the YAML file spells it) → the form's.
 */
export function declareFieldOf(serverField: string): DeclareField | undefined {
  const path = serverField
    .replace(/^input[./]/, '')
    .split(/[./[]/)
    .filter(Boolean)
    .map((part) => part.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
  const [first, second] = path;
  if (first === undefined) return undefined;
  if (second !== undefined) {
    const nested = SERVER_FIELDS[`${first}.${second}`];
    if (nested) return nested;
  }
  return SERVER_FIELDS[first];
}
