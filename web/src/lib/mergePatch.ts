// A reviewer's edits as a JSON merge patch (RFC 7396), which `approve`
// takes as `edits`.
//
// Invariants: the patch holds only the artifact kind's editable fields
// (the contract: `text` for drafts, `optimal_config` for experiment
// results), and within them only what changed; applying it to the content
// it was made from gives the edited content.

import { isObject, type JsonObject } from './json';

/** The fields of each artifact kind a reviewer may edit before approving. */
export const EDITABLE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  draft: ['text'],
  experiment_results: ['optimal_config'],
};

export function editableFields(kind: string): readonly string[] {
  return EDITABLE_FIELDS[kind] ?? [];
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The merge patch that turns `before` into `after`, or undefined when they
 * are equal. Objects are patched key by key (a removed key becomes `null`);
 * anything else is replaced whole, as RFC 7396 says. (A `null` value inside
 * `after` cannot be expressed by a merge patch; it reads as a removal.)
 */
export function createMergePatch(before: unknown, after: unknown): unknown {
  if (deepEqual(before, after)) return undefined;
  if (!isObject(before) || !isObject(after)) return after;
  const patch: JsonObject = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const sub = key in before ? createMergePatch(before[key], value) : value;
    if (sub !== undefined) patch[key] = sub;
  }
  return patch;
}

/** RFC 7396 §2, as the server applies it. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/**
 * `approve`'s `edits`: a merge patch of the editable fields that changed
 * from `before` to `after` (whole artifact contents), or null for none.
 */
export function buildEdits(kind: string, before: unknown, after: unknown): JsonObject | null {
  const edits: JsonObject = {};
  for (const field of editableFields(kind)) {
    const from = isObject(before) ? before[field] : undefined;
    const to = isObject(after) ? after[field] : undefined;
    if (to === undefined) continue;
    const patch = from === undefined ? to : createMergePatch(from, to);
    if (patch !== undefined) edits[field] = patch;
  }
  return Object.keys(edits).length > 0 ? edits : null;
}
