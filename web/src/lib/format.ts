// Formatting for people: ages, times, durations, scores, money.

export function parseTime(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** "just now", "5 min", "3 h 20 min", "2 d 4 h". */
export function formatAge(fromIso: string, now: number): string {
  const t = parseTime(fromIso);
  if (t === undefined) return '—';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** "just now" or "5 min ago". */
export function formatAgo(fromIso: string, now: number): string {
  const age = formatAge(fromIso, now);
  return age === 'just now' || age === '—' ? age : `${age} ago`;
}

/** A duration in ms: "12 ms", "1.4 s", "3 min 5 s". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

export function between(fromIso: string | null | undefined, toIso: string | null | undefined): number | undefined {
  const a = parseTime(fromIso);
  const b = parseTime(toIso);
  return a === undefined || b === undefined ? undefined : b - a;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function formatDateTime(iso: string | null | undefined): string {
  const t = parseTime(iso);
  return t === undefined ? '—' : dateTime.format(t);
}

export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '—';
  return Number.isInteger(score) ? String(score) : score.toFixed(1);
}

export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return 'unknown';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toFixed(5)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** `generate_draft` → "generate draft"; type names stay recognisable. */
export function typeLabel(name: string): string {
  return name.replace(/_/g, ' ');
}

/** A workflow's type with the declared version it ran with: "summarize v2"; built-in types have none. */
export function typeVersionLabel(name: string, version: number | null | undefined): string {
  return version === null || version === undefined ? typeLabel(name) : `${typeLabel(name)} v${version}`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(-8) : id;
}

/** `story_id` → "Story id". */
export function humanizeKey(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
