// Just enough JSON Schema (2020-12) for forms and readable views, without a
// schema library: local `$ref`s (`#`, `#/$defs/…`, `#/definitions/…`, any
// JSON pointer into the same document), the wrappers code generators emit
// (`allOf: [X]`, `anyOf: [X, {type: null}]`), and a check of the keywords a
// form can get wrong (type, enum, const, required, lengths, ranges,
// pattern, item counts). Whatever it does not understand it reports as
// such, so callers fall back to raw JSON, and the server (which validates
// with a real validator) has the last word.
//
// https://json-schema.org/draft/2020-12/json-schema-core (§8.2.3 $ref, §10.2.1 allOf/anyOf/oneOf)
// https://json-schema.org/draft/2020-12/json-schema-validation (§6)

import { isObject, type JsonObject } from './json';

/** References followed before giving up (a cycle, or a chain too long to be useful). */
const MAX_HOPS = 32;

/** Keywords that combine or condition subschemas: a form cannot render them as one field. */
const UNRENDERABLE = ['oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$dynamicRef', 'dependentSchemas'] as const;

/** The value a JSON pointer (`/$defs/Brief`, already without `#`) names in `root`. */
function atPointer(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (isObject(node)) {
      if (!Object.hasOwn(node, token)) return undefined;
      node = node[token];
    } else return undefined;
  }
  return node;
}

/** A boolean schema as an object: `true` allows anything, `false` nothing. */
function asSchema(value: unknown): JsonObject | undefined {
  if (value === true) return {};
  if (value === false) return { not: {} };
  return isObject(value) ? value : undefined;
}

/**
 * The schema with its local `$ref` followed (its own keywords, e.g. a
 * property's `title`, win over the target's), or undefined when the
 * reference leaves the document, is not found, or loops.
 */
export function resolveRef(root: unknown, schema: unknown): JsonObject | undefined {
  let current = asSchema(schema);
  const overrides: JsonObject[] = [];
  for (let hops = 0; current && typeof current.$ref === 'string'; hops++) {
    const ref = current.$ref;
    if (hops >= MAX_HOPS || !ref.startsWith('#')) return undefined;
    const { $ref: _followed, ...own } = current;
    overrides.unshift(own);
    current = asSchema(atPointer(root, ref.slice(1)));
  }
  if (!current) return undefined;
  return overrides.reduce<JsonObject>((merged, own) => ({ ...merged, ...own }), current);
}

/**
 * Every `$ref` in the document that cannot resolve (for a declaration's
 * checks): a local one that points nowhere, or one to another document
 * (Baton fetches nothing, so only references inside the schema resolve).
 */
export function brokenRefs(root: unknown): string[] {
  const broken = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    const ref = (node as JsonObject).$ref;
    if (typeof ref === 'string' && (!ref.startsWith('#') || asSchema(atPointer(root, ref.slice(1))) === undefined)) {
      broken.add(ref);
    }
    Object.values(node).forEach(walk);
  };
  walk(root);
  return [...broken];
}

export interface Normalized {
  /** The schema with references followed and simple wrappers unwrapped. */
  schema: JsonObject;
  /** `null` is allowed besides what `schema` says. */
  nullable: boolean;
  /** Only keywords a field or a view can honour remain. */
  simple: boolean;
}

const isNullSchema = (s: JsonObject) => s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);

/** Merges `allOf` parts that are plain object schemas (properties and required add up). */
function mergeParts(parts: JsonObject[]): JsonObject | undefined {
  const merged: JsonObject = {};
  const properties: JsonObject = {};
  const required = new Set<string>();
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (key === 'properties' && isObject(value)) {
        for (const [name, prop] of Object.entries(value)) {
          // The same property constrained twice: both apply; leave it to allOf.
          properties[name] = name in properties ? { allOf: [properties[name], prop] } : prop;
        }
      } else if (key === 'required' && Array.isArray(value)) {
        value.forEach((r) => typeof r === 'string' && required.add(r));
      } else if (key in merged && JSON.stringify(merged[key]) !== JSON.stringify(value)) {
        if (key === 'title' || key === 'description') continue; // the first one names it
        return undefined;
      } else merged[key] = value;
    }
  }
  if (Object.keys(properties).length > 0) merged.properties = properties;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

/**
 * Follows references and unwraps `allOf` (merged when its parts are plain)
 * and `anyOf` / `oneOf` whose only other branch is `null` (an optional
 * value), keeping the outer schema's title and description.
 */
export function normalize(root: unknown, raw: unknown, depth = 0): Normalized {
  const resolved = resolveRef(root, raw);
  if (!resolved) return { schema: isObject(raw) ? raw : {}, nullable: false, simple: false };
  if (depth > MAX_HOPS) return { schema: resolved, nullable: false, simple: false };
  let schema = resolved;
  let nullable = false;
  let simple = true;

  const { allOf, anyOf, oneOf } = schema;
  if (Array.isArray(allOf)) {
    const parts = allOf.map((p) => normalize(root, p, depth + 1));
    const { allOf: _all, ...own } = schema;
    const merged = parts.every((p) => p.simple && !p.nullable) ? mergeParts([...parts.map((p) => p.schema), own]) : undefined;
    if (merged) {
      // The outer title and description name the field, not the parts'.
      schema = { ...merged, ...pick(own, ['title', 'description', 'default']) };
    } else simple = false;
  }
  for (const branches of [anyOf, oneOf]) {
    if (!Array.isArray(branches)) continue;
    const normalized = branches.map((b) => normalize(root, b, depth + 1));
    const rest = normalized.filter((b) => !isNullSchema(b.schema));
    const only = rest[0];
    if (rest.length === 1 && only && normalized.length === 2) {
      const { anyOf: _any, oneOf: _one, ...own } = schema;
      schema = { ...only.schema, ...own };
      nullable = true;
      simple &&= only.simple;
    } else simple = false;
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('null')) nullable = true;
  if (UNRENDERABLE.some((k) => k in schema) || typeof schema.$ref === 'string') simple = false;
  return { schema, nullable, simple };
}

function pick(schema: JsonObject, keys: string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) if (k in schema) out[k] = schema[k];
  return out;
}

/** The schema's types other than `null` (`type: "string"` or `["string", "null"]`). */
export function typesOf(schema: JsonObject): string[] {
  const raw = schema.type;
  return (Array.isArray(raw) ? raw : [raw]).filter((t): t is string => typeof t === 'string' && t !== 'null');
}

/** The JSON type of a value, as JSON Schema names it (`integer` for whole numbers). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether `type` (one or several names) admits the value: `number` admits integers. */
export function typeAdmits(schema: JsonObject, value: unknown): boolean {
  if (!('type' in schema)) return true;
  const raw = schema.type;
  const types = Array.isArray(raw) ? raw : [raw];
  const actual = jsonTypeOf(value);
  return types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

/** A pattern as a RegExp (unanchored, Unicode, as JSON Schema reads it), or undefined when JS cannot compile it. */
export function patternOf(pattern: unknown): RegExp | undefined {
  if (typeof pattern !== 'string') return undefined;
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a JSON object',
  array: 'a JSON list',
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const num = (s: JsonObject, k: string) => (typeof s[k] === 'number' && Number.isFinite(s[k]) ? (s[k] as number) : undefined);

/** The first rule of the keywords it knows that a number breaks. */
export function numberProblem(schema: JsonObject, n: number): string | undefined {
  const min = num(schema, 'minimum');
  const max = num(schema, 'maximum');
  const xmin = num(schema, 'exclusiveMinimum');
  const xmax = num(schema, 'exclusiveMaximum');
  const step = num(schema, 'multipleOf');
  if (min !== undefined && n < min) return `Must be at least ${min}.`;
  if (max !== undefined && n > max) return `Must be at most ${max}.`;
  if (xmin !== undefined && n <= xmin) return `Must be more than ${xmin}.`;
  if (xmax !== undefined && n >= xmax) return `Must be less than ${xmax}.`;
  if (step !== undefined && step > 0) {
    const q = n / step;
    if (Math.abs(q - Math.round(q)) > 1e-9) return `Must be a multiple of ${step}.`;
  }
  return undefined;
}

/** Formats whose syntax is unambiguous enough to check here; others are left to the server. */
const FORMATS: Record<string, { test: (s: string) => boolean; what: string }> = {
  date: { test: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)), what: 'a date like 2026-01-31' },
  'date-time': {
    test: (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
    what: 'a date and time like 2026-01-31T09:30:00Z',
  },
  time: { test: (s) => /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s), what: 'a time like 09:30:00Z' },
  email: { test: (s) => /^[^\s@]+@[^\s@]+$/.test(s), what: 'an email address' },
  uri: { test: (s) => /^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$/.test(s), what: 'an absolute URI like https://example.com/' },
  uuid: {
    test: (s) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s),
    what: 'a UUID',
  },
};

/** What a format asks for in words, when this module knows it. */
export function formatWords(format: unknown): string | undefined {
  return typeof format === 'string' ? FORMATS[format]?.what : undefined;
}

/** The first rule of the keywords it knows that a string breaks. */
export function stringProblem(schema: JsonObject, text: string): string | undefined {
  const length = [...text].length;
  const minLength = num(schema, 'minLength');
  const maxLength = num(schema, 'maxLength');
  if (minLength !== undefined && length < minLength) return `Must be at least ${plural(minLength, 'character')} long.`;
  if (maxLength !== undefined && length > maxLength) {
    return `Must be at most ${plural(maxLength, 'character')} long (now ${length}).`;
  }
  const re = patternOf(schema.pattern);
  if (re && !re.test(text)) return `Must match the pattern ${String(schema.pattern)}.`;
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  if (format && !format.test(text)) return `Must be ${format.what}.`;
  return undefined;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The first rule a value breaks among the keywords this module knows,
 * looking into properties and items; `where` names the spot (`brief.tone`,
 * `tags[2]`). Undefined when it breaks none of them (the server may still
 * find something: combinators and unknown keywords are not checked).
 */
export function valueProblem(root: unknown, raw: unknown, value: unknown, where = '', depth = 0): string | undefined {
  if (depth > 16) return undefined;
  const { schema, nullable } = normalize(root, raw);
  if (schema.not !== undefined && isObject(schema.not) && Object.keys(schema.not).length === 0) {
    return `${at(where)}Nothing is allowed here.`;
  }
  if (value === null && nullable) return undefined;
  const problem = (text: string) => `${at(where)}${text}`;
  if ('const' in schema && !sameJson(schema.const, value)) return problem(`Must be ${JSON.stringify(schema.const)}.`);
  if (Array.isArray(schema.enum) && !schema.enum.some((o) => sameJson(o, value))) {
    return problem(`Must be one of ${schema.enum.map((o) => JSON.stringify(o)).join(', ')}.`);
  }
  if (!typeAdmits(schema, value) && !(value === null && nullable)) {
    const words = typesOf(schema).map((t) => TYPE_WORDS[t] ?? t);
    return problem(`Must be ${words.join(' or ')}${nullable ? ' or null' : ''}.`);
  }
  if (typeof value === 'string') {
    const p = stringProblem(schema, value);
    if (p) return problem(p);
  }
  if (typeof value === 'number') {
    const p = numberProblem(schema, value);
    if (p) return problem(p);
  }
  if (Array.isArray(value)) {
    const minItems = num(schema, 'minItems');
    const maxItems = num(schema, 'maxItems');
    if (minItems !== undefined && value.length < minItems) return problem(`Must list at least ${plural(minItems, 'item')}.`);
    if (maxItems !== undefined && value.length > maxItems) return problem(`Must list at most ${plural(maxItems, 'item')}.`);
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    for (let i = 0; i < value.length; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      if (itemSchema === undefined) continue;
      if (itemSchema === false) return problem(`Must list at most ${plural(prefix.length, 'item')}.`);
      const p = valueProblem(root, itemSchema, value[i], `${where}[${i}]`, depth + 1);
      if (p) return p;
    }
  }
  if (isObject(value)) {
    const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
    const missing = required.find((r) => !(r in value));
    if (missing !== undefined) return problem(`Must have “${missing}”.`);
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const [key, v] of Object.entries(value)) {
      const path = where ? `${where}.${key}` : key;
      if (key in properties) {
        const p = valueProblem(root, properties[key], v, path, depth + 1);
        if (p) return p;
      } else if (schema.additionalProperties === false && !isObject(schema.patternProperties)) {
        return problem(`“${key}” is not allowed here.`);
      }
    }
  }
  // Combinators (oneOf, anyOf, not, if) are left to the server.
  return undefined;
}

function at(where: string): string {
  return where ? `${where}: ` : '';
}
