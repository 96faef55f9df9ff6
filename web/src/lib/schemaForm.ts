// A form generated from a workflow type's `inputSchema` (JSON Schema 2020-12,
// as built-in types publish it or as an admin declared it).
//
// Fields: string (a text area past 500 characters; a date picker for
// `format: date`), integer, number, boolean and enum (`enum` or `const`),
// with `required`, `minimum`/`maximum` (and the exclusive forms),
// `multipleOf`, `minLength`/`maxLength`, `pattern`, the common `format`s,
// `default`, `title` and `description`. Local `$ref`s are followed, and the
// wrappers generators emit (`allOf: [X]`, `anyOf: [X, {type: null}]`) are
// unwrapped (lib/jsonSchema.ts). Anything else (nested objects, arrays,
// real unions) becomes a JSON field, checked once parsed against the
// keywords it knows; a root the form cannot split into fields becomes one
// JSON field for the whole input. So no schema can break the form, the
// form never sends what a keyword it knows forbids, and the server, which
// validates again, puts its errors on the same fields.

import { humanizeKey } from './format';
import { isObject, type JsonObject } from './json';
import { normalize, numberProblem, stringProblem, typesOf, valueProblem, type Normalized } from './jsonSchema';

export type FieldKind = 'string' | 'text' | 'date' | 'integer' | 'number' | 'boolean' | 'enum' | 'json';

export interface FormField {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  /** ECMA-262, unanchored (JSON Schema's reading). */
  pattern?: string;
  format?: string;
  /** Enum values as the schema gives them; the form holds their index. */
  options?: unknown[];
  default?: unknown;
  /** JSON fields: what the parsed value must be, in words (`a JSON object`). */
  shape?: string;
  /** JSON fields: the first rule of the schema the parsed value breaks. */
  check?: (value: unknown) => string | undefined;
  /** The one JSON field that holds the whole input (the schema has no fields the form can show). */
  root?: true;
}

/** What the inputs hold: text for text-like fields, a flag for checkboxes. */
export type FormValues = Record<string, string | boolean>;
export type FieldErrors = Record<string, string>;

/** Strings longer than this get a multi-line text area. */
const TEXTAREA_OVER = 500;

/** The name of the whole-input JSON field. */
export const ROOT_FIELD = 'input';

function num(schema: JsonObject, key: string): number | undefined {
  const v = schema[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function fieldKind({ schema, simple }: Normalized): FieldKind {
  if (!simple) return 'json';
  if ((Array.isArray(schema.enum) && schema.enum.length > 0) || 'const' in schema) return 'enum';
  const types = typesOf(schema);
  if (types.length !== 1) return 'json';
  switch (types[0]) {
    case 'string': {
      if (schema.format === 'date') return 'date';
      const max = num(schema, 'maxLength');
      return max !== undefined && max > TEXTAREA_OVER ? 'text' : 'string';
    }
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

function shapeOf(schema: JsonObject): string | undefined {
  const types = typesOf(schema);
  if (types.length !== 1) return undefined;
  if (types[0] === 'object') {
    const keys = isObject(schema.properties) ? Object.keys(schema.properties) : [];
    return keys.length ? `a JSON object with ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}` : 'a JSON object';
  }
  if (types[0] === 'array') return 'a JSON list';
  return undefined;
}

function fieldOf(document: unknown, name: string, raw: unknown, required: boolean): FormField {
  const normalized = normalize(document, raw);
  const prop = normalized.schema;
  const kind = isObject(raw) || typeof raw === 'boolean' ? fieldKind(normalized) : 'json';
  const field: FormField = {
    name,
    label: typeof prop.title === 'string' && prop.title.trim() !== '' ? prop.title : humanizeKey(name),
    kind,
    required,
  };
  if (typeof prop.description === 'string') field.description = prop.description;
  const limits = [
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
    'multipleOf',
    'minLength',
    'maxLength',
  ] as const;
  for (const key of limits) {
    const v = num(prop, key);
    if (v !== undefined) field[key] = v;
  }
  if (typeof prop.pattern === 'string') field.pattern = prop.pattern;
  if (typeof prop.format === 'string') field.format = prop.format;
  if (Array.isArray(prop.enum)) field.options = prop.enum;
  else if ('const' in prop) field.options = [prop.const];
  if ('default' in prop) field.default = prop.default;
  if (kind === 'json' && isObject(raw)) {
    const shape = shapeOf(prop);
    if (shape) field.shape = shape;
    field.check = (value) => valueProblem(document, raw, value);
  }
  return field;
}

/**
 * The form's fields: required ones first, otherwise in the schema's order;
 * none for a schema that takes no input; one JSON field for the whole
 * input when the schema's root is not a plain object of properties.
 */
export function fieldsFromSchema(schema: unknown): FormField[] {
  if (!isObject(schema)) return [];
  const root = normalize(schema, schema).schema;
  if (!isObject(root.properties)) {
    const anyObject =
      typesOf(root).every((t) => t === 'object') &&
      !['oneOf', 'anyOf', 'allOf', 'not', 'if', '$ref', 'patternProperties'].some((k) => k in root) &&
      !isObject(root.additionalProperties);
    if (anyObject) return [];
    const whole = fieldOf(schema, ROOT_FIELD, schema, true);
    return [{ ...whole, kind: 'json', label: 'Input', root: true, check: (value) => valueProblem(schema, schema, value) }];
  }
  const required = new Set(
    Array.isArray(root.required) ? root.required.filter((r): r is string => typeof r === 'string') : [],
  );
  const fields: FormField[] = [];
  for (const [name, raw] of Object.entries(root.properties)) {
    // Read-only properties are the server's to set.
    if (isObject(raw) && raw.readOnly === true) continue;
    fields.push(fieldOf(schema, name, raw, required.has(name)));
  }
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

export function initialValues(fields: FormField[]): FormValues {
  const values: FormValues = {};
  for (const f of fields) {
    const d = f.default;
    switch (f.kind) {
      case 'boolean':
        values[f.name] = d === true;
        break;
      case 'enum': {
        const i = f.options?.findIndex((o) => JSON.stringify(o) === JSON.stringify(d)) ?? -1;
        // A required `const` has one legal value: chosen already.
        const only = f.required && f.options?.length === 1 ? '0' : '';
        values[f.name] = i >= 0 && d !== undefined ? String(i) : only;
        break;
      }
      case 'json':
        values[f.name] = d === undefined ? '' : JSON.stringify(d, null, 2);
        break;
      default:
        values[f.name] = typeof d === 'string' || typeof d === 'number' ? String(d) : '';
    }
  }
  return values;
}

/** The keywords of a scalar field, as a schema, for lib/jsonSchema's checks. */
function keywords(f: FormField): JsonObject {
  const out: JsonObject = {};
  const keys = [
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
    'multipleOf',
    'minLength',
    'maxLength',
    'pattern',
    'format',
  ] as const;
  for (const k of keys) if (f[k] !== undefined) out[k] = f[k];
  return out;
}

/**
 * The workflow input the values describe, or the errors to show per field.
 * Empty optional fields are left out; an unchecked optional checkbox without
 * a default is left out too (the server then applies its own default).
 */
export function buildInput(
  fields: FormField[],
  values: FormValues,
): { input: JsonObject; errors: FieldErrors } {
  const input: JsonObject = {};
  const errors: FieldErrors = {};
  for (const f of fields) {
    const raw = values[f.name];
    if (f.kind === 'boolean') {
      const checked = raw === true;
      if (checked || f.required || f.default !== undefined) input[f.name] = checked;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (f.kind !== 'string' && f.kind !== 'text' ? text.trim() === '' : text === '') {
      // The whole input left empty: an empty object, which the schema may allow.
      if (f.root) return { input, errors };
      if (f.required) errors[f.name] = 'Required.';
      continue;
    }
    switch (f.kind) {
      case 'string':
      case 'text':
      case 'date': {
        const problem = stringProblem(keywords(f), text);
        if (problem) errors[f.name] = problem;
        else input[f.name] = text;
        break;
      }
      case 'integer':
      case 'number': {
        const t = text.trim();
        const n = Number(t);
        if (!Number.isFinite(n) || (f.kind === 'integer' && !/^[-+]?\d+$/.test(t))) {
          errors[f.name] = f.kind === 'integer' ? 'Must be a whole number.' : 'Must be a number.';
          break;
        }
        const rangeError = numberProblem(keywords(f), n);
        if (rangeError) errors[f.name] = rangeError;
        else input[f.name] = n;
        break;
      }
      case 'enum': {
        const option = f.options?.[Number(text)];
        if (option === undefined) errors[f.name] = 'Choose one of the options.';
        else input[f.name] = option;
        break;
      }
      case 'json': {
        let value: unknown;
        try {
          value = JSON.parse(text) as unknown;
        } catch {
          errors[f.name] = 'Must be valid JSON.';
          break;
        }
        const problem = f.root && !isObject(value) ? 'Must be a JSON object.' : f.check?.(value);
        if (problem) errors[f.name] = problem;
        else if (f.root && isObject(value)) return { input: value, errors };
        else input[f.name] = value;
        break;
      }
    }
  }
  return { input, errors };
}

/**
 * Which form field a server `extensions.field` names: `input.prompt` (or
 * `input.brief.tone`) is the `prompt` (`brief`) field; anything else is not
 * a field of the generated form.
 */
export function formFieldOf(serverField: string, fields: FormField[]): string | undefined {
  if (fields.some((f) => f.root)) return /^input\b/.test(serverField) ? ROOT_FIELD : undefined;
  const m = /^input[.[/]"?([^.\]/"[]+)/.exec(serverField);
  const name = m?.[1];
  return name !== undefined && fields.some((f) => f.name === name) ? name : undefined;
}
