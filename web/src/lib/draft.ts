// Reads a `draft` artifact (what generate_draft and apply_feedback store)
// out of the untyped JSON. Anything that does not look like a draft yields
// null, and the page falls back to showing the JSON as it is.

import { getBoolean, getNumber, getString, isObject, type JsonObject } from './json';

export interface RubricItem {
  dimension: string;
  score: number | null;
  weight: number | null;
  reason: string;
}

export interface Draft {
  text: string;
  rubric: RubricItem[];
  brief: JsonObject | null;
  score: number | null;
  round: number | null;
  final: boolean | null;
  model: string | null;
  judgeModel: string | null;
  candidates: number | null;
  feedback: string | null;
}

export function readDraft(data: unknown): Draft | null {
  if (!isObject(data)) return null;
  const text = getString(data, 'text');
  if (text === undefined) return null;
  const rubric: RubricItem[] = Array.isArray(data.rubric)
    ? data.rubric.filter(isObject).map((r) => ({
        dimension: getString(r, 'dimension') ?? '(unnamed)',
        score: getNumber(r, 'score') ?? null,
        weight: getNumber(r, 'weight') ?? null,
        reason: getString(r, 'reason') ?? '',
      }))
    : [];
  return {
    text,
    rubric,
    brief: isObject(data.brief) ? data.brief : null,
    score: getNumber(data, 'score') ?? null,
    round: getNumber(data, 'round') ?? null,
    final: getBoolean(data, 'final') ?? null,
    model: getString(data, 'model') ?? null,
    judgeModel: getString(data, 'judge_model') ?? null,
    candidates: getNumber(data, 'candidates') ?? null,
    feedback: getString(data, 'feedback') ?? null,
  };
}

/** Paragraphs of a text: blank lines separate them; single newlines stay. */
export function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
