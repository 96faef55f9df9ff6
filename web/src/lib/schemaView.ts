// An artifact read through its type's `artifactSchema`: what to show for
// each value, labelled with the schema's `title` (else the property name,
// humanised) and its `description`, required ones first (in `required`'s
// order) then the others in the schema's, then whatever the artifact holds
// that the schema does not name. Pure data, so the
// component (components/SchemaArtifactView.tsx) only lays it out.

import { formatDateTime, humanizeKey } from './format';
import { isObject, type JsonObject } from './json';
import { normalize, typeAdmits } from './jsonSchema';

export type ViewNode =
  | { kind: 'text'; text: string; multiline: boolean }
  /** A number, yes/no, a date: formatted; `raw` is the value as stored when it differs. */
  | { kind: 'value'; text: string; raw?: string; dateTime?: string }
  | { kind: 'empty'; text: string }
  | { kind: 'list'; items: ViewItem[] }
  | { kind: 'object'; entries: ViewEntry[] }
  /** Deeper than is useful to lay out: shown as JSON. */
  | { kind: 'json'; value: unknown };

export interface ViewItem {
  /** For items that are sections (objects): "Finding 2". */
  label?: string;
  node: ViewNode;
}

export interface ViewEntry {
  key: string;
  label: string;
  description?: string;
  node: ViewNode;
  /** Not named by the schema. */
  extra: boolean;
}

const MAX_DEPTH = 8;

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });

function titleOf(schema: JsonObject): string | undefined {
  return typeof schema.title === 'string' && schema.title.trim() !== '' ? schema.title : undefined;
}

/** The branch of a union the value most likely took: its type fits and its required keys are there. */
function branchFor(root: unknown, schema: JsonObject, value: unknown): JsonObject {
  const branches = [schema.oneOf, schema.anyOf].find(Array.isArray);
  if (!branches) return schema;
  for (const b of branches) {
    const { schema: branch } = normalize(root, b);
    if (!typeAdmits(branch, value)) continue;
    if ('const' in branch && JSON.stringify(branch.const) !== JSON.stringify(value)) continue;
    if (isObject(value) && Array.isArray(branch.required) && !branch.required.every((r) => typeof r === 'string' && r in value)) {
      continue;
    }
    // The outer schema's title and description name the value.
    const { oneOf: _o, anyOf: _a, ...outer } = schema;
    return { ...branch, ...outer };
  }
  return schema;
}

/** What the schema (normalised, with the union's branch chosen) says about this value. */
function schemaFor(root: unknown, raw: unknown, value: unknown): JsonObject {
  return branchFor(root, normalize(root, raw).schema, value);
}

function scalar(schema: JsonObject, value: unknown): ViewNode {
  if (value === null || value === undefined) return { kind: 'empty', text: 'Not given' };
  if (typeof value === 'boolean') return { kind: 'value', text: value ? 'Yes' : 'No', raw: String(value) };
  if (typeof value === 'number') {
    const text = numberFormat.format(value);
    return text === String(value) ? { kind: 'value', text } : { kind: 'value', text, raw: String(value) };
  }
  if (typeof value === 'string') {
    if (value === '') return { kind: 'empty', text: 'Empty' };
    if (schema.format === 'date-time' && !Number.isNaN(Date.parse(value))) {
      return { kind: 'value', text: formatDateTime(value), raw: value, dateTime: value };
    }
    return { kind: 'text', text: value, multiline: value.includes('\n') };
  }
  return { kind: 'json', value };
}

function itemsSchema(schema: JsonObject, i: number): unknown {
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
  return i < prefix.length ? prefix[i] : schema.items;
}

/** The view of one value under its (sub)schema; `root` is the whole schema, for `$ref`s. */
export function viewOf(root: unknown, raw: unknown, value: unknown, depth = 0): ViewNode {
  const schema = schemaFor(root, raw, value);
  if (depth > MAX_DEPTH && (isObject(value) || Array.isArray(value))) return { kind: 'json', value };
  if (Array.isArray(value)) {
    if (value.length === 0) return { kind: 'empty', text: 'None' };
    return {
      kind: 'list',
      items: value.map((item, i) => {
        const itemRaw = itemsSchema(schema, i);
        const node = viewOf(root, itemRaw, item, depth + 1);
        if (node.kind !== 'object' && node.kind !== 'list') return { node };
        const name = titleOf(schemaFor(root, itemRaw, item)) ?? 'Item';
        return { label: `${name} ${i + 1}`, node };
      }),
    };
  }
  if (isObject(value)) return { kind: 'object', entries: entriesOf(root, schema, value, depth) };
  return scalar(schema, value);
}

function entriesOf(root: unknown, schema: JsonObject, value: JsonObject, depth: number): ViewEntry[] {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const entry = (key: string, raw: unknown, extra: boolean): ViewEntry => {
    const sub = schemaFor(root, raw, value[key]);
    const e: ViewEntry = {
      key,
      label: titleOf(sub) ?? humanizeKey(key),
      node: viewOf(root, raw, value[key], depth + 1),
      extra,
    };
    if (typeof sub.description === 'string' && sub.description.trim() !== '') e.description = sub.description;
    return e;
  };
  // Required properties first, in `required`'s order, then the others in
  // the schema's: an array keeps its order through any JSON store, while
  // an object's keys may come back sorted (the server's do).
  const required = Array.isArray(schema.required)
    ? schema.required.filter((r): r is string => typeof r === 'string' && Object.hasOwn(properties, r))
    : [];
  const named = [...new Set([...required, ...Object.keys(properties)])]
    .filter((k) => Object.hasOwn(value, k))
    .map((k) => entry(k, properties[k], false));
  // Keys the schema does not name: under additionalProperties' schema when
  // it has one (its title names no single key, so the key is the label).
  const others = isObject(schema.additionalProperties) ? schema.additionalProperties : true;
  const extras = Object.keys(value)
    .filter((k) => !Object.hasOwn(properties, k))
    .map((k) => ({ ...entry(k, others, true), label: humanizeKey(k) }));
  return [...named, ...extras];
}

/** The whole artifact: an object's entries, or a single value. */
export function artifactView(schema: unknown, content: unknown): ViewNode {
  return viewOf(schema, schema, content);
}

