// A form generated from a workflow type's `inputSchema` (JSON Schema).
//
// Supported: an object schema whose properties are string, integer, number,
// boolean or enum fields (a `["string", "null"]` type is an optional string),
// with `required`, `minimum`/`maximum` (and the exclusive forms),
// `minLength`/`maxLength`, `default` and `description`. Anything else (nested
// objects, arrays, unions) becomes a JSON field, so no schema can break the
// form; the server validates again and its errors land on the same fields.

import { humanizeKey } from './format';
import { isObject, type JsonObject } from './json';

export type FieldKind = 'string' | 'text' | 'integer' | 'number' | 'boolean' | 'enum' | 'json';

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
  minLength?: number;
  maxLength?: number;
  /** Enum values as the schema gives them; the form holds their index. */
  options?: unknown[];
  default?: unknown;
}

/** What the inputs hold: text for text-like fields, a flag for checkboxes. */
export type FormValues = Record<string, string | boolean>;
export type FieldErrors = Record<string, string>;

/** Strings longer than this get a multi-line text area. */
const TEXTAREA_OVER = 500;

function num(schema: JsonObject, key: string): number | undefined {
  const v = schema[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function fieldKind(prop: JsonObject): FieldKind {
  if (Array.isArray(prop.enum) && prop.enum.length > 0) return 'enum';
  const raw = prop.type;
  const types = (Array.isArray(raw) ? raw : [raw]).filter(
    (t): t is string => typeof t === 'string' && t !== 'null',
  );
  if (types.length !== 1) return 'json';
  switch (types[0]) {
    case 'string': {
      const max = num(prop, 'maxLength');
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

/** The form's fields: required ones first, otherwise in the schema's order. */
export function fieldsFromSchema(schema: unknown): FormField[] {
  if (!isObject(schema) || !isObject(schema.properties)) return [];
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [],
  );
  const fields: FormField[] = [];
  for (const [name, raw] of Object.entries(schema.properties)) {
    const prop = isObject(raw) ? raw : {};
    const field: FormField = {
      name,
      label: typeof prop.title === 'string' ? prop.title : humanizeKey(name),
      kind: fieldKind(prop),
      required: required.has(name),
    };
    if (typeof prop.description === 'string') field.description = prop.description;
    const limits = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'] as const;
    for (const key of limits) {
      const v = num(prop, key);
      if (v !== undefined) field[key] = v;
    }
    if (Array.isArray(prop.enum)) field.options = prop.enum;
    if ('default' in prop) field.default = prop.default;
    fields.push(field);
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
        const i = f.options?.findIndex((o) => o === d) ?? -1;
        values[f.name] = i >= 0 ? String(i) : '';
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

function checkRange(f: FormField, n: number): string | undefined {
  if (f.minimum !== undefined && n < f.minimum) return `Must be at least ${f.minimum}.`;
  if (f.maximum !== undefined && n > f.maximum) return `Must be at most ${f.maximum}.`;
  if (f.exclusiveMinimum !== undefined && n <= f.exclusiveMinimum) return `Must be more than ${f.exclusiveMinimum}.`;
  if (f.exclusiveMaximum !== undefined && n >= f.exclusiveMaximum) return `Must be less than ${f.exclusiveMaximum}.`;
  return undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
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
      if (f.required) errors[f.name] = 'Required.';
      continue;
    }
    switch (f.kind) {
      case 'string':
      case 'text': {
        const length = [...text].length;
        if (f.minLength !== undefined && length < f.minLength) {
          errors[f.name] = `Must be at least ${plural(f.minLength, 'character')} long.`;
        } else if (f.maxLength !== undefined && length > f.maxLength) {
          errors[f.name] = `Must be at most ${plural(f.maxLength, 'character')} long (now ${length}).`;
        } else input[f.name] = text;
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
        const rangeError = checkRange(f, n);
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
        try {
          input[f.name] = JSON.parse(text) as unknown;
        } catch {
          errors[f.name] = 'Must be valid JSON.';
        }
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
  const m = /^input[.[/]"?([^.\]/"[]+)/.exec(serverField);
  const name = m?.[1];
  return name !== undefined && fields.some((f) => f.name === name) ? name : undefined;
}
