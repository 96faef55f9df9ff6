// What a reviewer may edit before approving, and the edit's state: a
// draft's text, or the values of an experiment's `optimal_config` (each
// edited as the type it has: number, yes/no, text, or JSON for the rest).
// `edits` for `approve` comes from `buildEdits` (lib/mergePatch.ts).

import { isObject, type JsonObject } from './json';
import { buildEdits } from './mergePatch';

export type ConfigValueKind = 'number' | 'boolean' | 'string' | 'json';

export interface ConfigField {
  key: string;
  kind: ConfigValueKind;
  original: unknown;
}

export type RawConfig = Record<string, string | boolean>;

/** The editable base of an approval: its artifact's content, with the field the edit changes. */
export type EditBase =
  | { kind: 'draft'; content: JsonObject; text: string }
  | { kind: 'experiment_results'; content: JsonObject; config: JsonObject; fields: ConfigField[] };

/**
 * What can be edited, from the artifact's content (or, without one, what
 * the approval shows); null when this artifact has nothing editable.
 */
export function editBase(kind: string, content: unknown, fallbackConfig?: unknown): EditBase | null {
  const object: JsonObject = isObject(content) ? content : {};
  if (kind === 'draft') {
    const text = object.text;
    return typeof text === 'string' ? { kind, content: object, text } : null;
  }
  if (kind === 'experiment_results') {
    const config = isObject(object.optimal_config) ? object.optimal_config : isObject(fallbackConfig) ? fallbackConfig : null;
    if (!config) return null;
    return { kind, content: { ...object, optimal_config: config }, config, fields: configFields(config) };
  }
  return null;
}

export function configFields(config: JsonObject): ConfigField[] {
  return Object.keys(config)
    .sort()
    .map((key) => {
      const v = config[key];
      const kind: ConfigValueKind =
        typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : typeof v === 'string' ? 'string' : 'json';
      return { key, kind, original: v };
    });
}

export function initialRaw(fields: readonly ConfigField[]): RawConfig {
  const raw: RawConfig = {};
  for (const f of fields) {
    raw[f.key] =
      f.kind === 'boolean' ? f.original === true : f.kind === 'json' ? JSON.stringify(f.original) : String(f.original);
  }
  return raw;
}

/** The edited config, and a message per value that does not parse as its type. */
export function parseConfig(
  fields: readonly ConfigField[],
  raw: RawConfig,
): { config: JsonObject; errors: Record<string, string> } {
  const config: JsonObject = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const value = raw[f.key];
    if (f.kind === 'boolean') {
      config[f.key] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value : '';
    if (f.kind === 'string') config[f.key] = text;
    else if (f.kind === 'number') {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) {
        errors[f.key] = 'Enter a number.';
        config[f.key] = f.original;
      } else config[f.key] = n;
    } else {
      try {
        config[f.key] = JSON.parse(text) as unknown;
      } catch {
        errors[f.key] = 'Enter valid JSON.';
        config[f.key] = f.original;
      }
    }
  }
  return { config, errors };
}

/** The edit so far: the draft's text, or the config's raw values. */
export type EditValue = { kind: 'draft'; text: string } | { kind: 'experiment_results'; raw: RawConfig };

export function initialEdit(base: EditBase): EditValue {
  return base.kind === 'draft' ? { kind: 'draft', text: base.text } : { kind: 'experiment_results', raw: initialRaw(base.fields) };
}

/** The merge patch an edit makes (null for none), or the values that do not parse. */
export function editsOf(
  base: EditBase,
  edit: EditValue,
): { edits: JsonObject | null; errors: Record<string, string>; after: JsonObject } {
  if (base.kind === 'draft' && edit.kind === 'draft') {
    const after = { ...base.content, text: edit.text };
    return { edits: buildEdits(base.kind, base.content, after), errors: {}, after };
  }
  if (base.kind === 'experiment_results' && edit.kind === 'experiment_results') {
    const { config, errors } = parseConfig(base.fields, edit.raw);
    const after = { ...base.content, optimal_config: config };
    return { edits: Object.keys(errors).length ? null : buildEdits(base.kind, base.content, after), errors, after };
  }
  return { edits: null, errors: {}, after: base.content };
}
