// Narrowing helpers for the `JSON` scalar, which codegen types as `unknown`:
// server data is read through these guards, never cast.

export type JsonObject = { [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function getString(value: unknown, key: string): string | undefined {
  if (!isObject(value)) return undefined;
  const v = value[key];
  return typeof v === 'string' ? v : undefined;
}

export function getNumber(value: unknown, key: string): number | undefined {
  if (!isObject(value)) return undefined;
  const v = value[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function getBoolean(value: unknown, key: string): boolean | undefined {
  if (!isObject(value)) return undefined;
  const v = value[key];
  return typeof v === 'boolean' ? v : undefined;
}

/** The first non-blank string among an object's own values (a line that tells declared types' runs apart). */
export function firstString(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  return Object.values(value).find((v): v is string => typeof v === 'string' && v.trim() !== '');
}

/** Pretty JSON for people; never throws (cycles cannot come from the wire). */
export function formatJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}
