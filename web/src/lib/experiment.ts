// Experiment results as chart and table data: main effects and S/N per
// factor level, ANOVA percent contributions, and the runs table's sorting.
// Pure functions, so the charts only draw what these return.

export interface LevelEffectLike {
  level: number;
  label: string;
  meanResponse?: number | null | undefined;
  meanSn?: number | null | undefined;
  observations: number;
}

export interface MainEffectLike {
  factor: string;
  levels: readonly LevelEffectLike[];
}

export interface OptimumLike {
  factor: string;
  level: number;
  label: string;
  tiedLevels?: readonly number[] | null | undefined;
}

export interface EffectPoint {
  level: number;
  /** The server's label, e.g. `temperature=0.3`. */
  label: string;
  /** For an axis: `0.3` when the label is `temperature=0.3`. */
  short: string;
  value: number | null;
  observations: number;
}

export interface EffectSeries {
  factor: string;
  points: EffectPoint[];
  /** The optimum's level for this factor, if known. */
  best: number | null;
}

export type EffectMetric = 'mean' | 'sn';

/** `temperature=0.3` → `0.3` for factor `temperature`; other labels as they are. */
export function shortLevelLabel(factor: string, label: string): string {
  const prefix = `${factor}=`;
  if (label.startsWith(prefix) && !label.includes(', ')) return label.slice(prefix.length);
  return label;
}

/** One series per factor: the level means (or S/N) in level order, and the optimum's level. */
export function effectSeries(
  effects: readonly MainEffectLike[],
  metric: EffectMetric,
  optimum: readonly OptimumLike[] = [],
): EffectSeries[] {
  return effects.map((e) => {
    const best = optimum.find((o) => o.factor === e.factor);
    return {
      factor: e.factor,
      best: best ? best.level : null,
      points: [...e.levels]
        .sort((a, b) => a.level - b.level)
        .map((l) => {
          const v = metric === 'mean' ? l.meanResponse : l.meanSn;
          return {
            level: l.level,
            label: l.label,
            short: shortLevelLabel(e.factor, l.label),
            value: typeof v === 'number' && Number.isFinite(v) ? v : null,
            observations: l.observations,
          };
        }),
    };
  });
}

/** Whether any series has a value to draw (S/N is absent without replicates). */
export function hasValues(series: readonly EffectSeries[]): boolean {
  return series.some((s) => s.points.some((p) => p.value !== null));
}

/**
 * Round numbers spanning [lo, hi] (1, 2, 2.5 or 5 × 10^k steps), about
 * `count` of them; the first is ≤ lo and the last ≥ hi.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/**
 * One y axis for every factor's chart, so effect sizes compare at a glance:
 * the ticks spanning every value (and the reference line, e.g. the grand mean).
 */
export function sharedTicks(series: readonly EffectSeries[], reference?: number | null): number[] {
  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter((v): v is number => v !== null);
  if (typeof reference === 'number' && Number.isFinite(reference)) values.push(reference);
  if (values.length === 0) return [];
  return niceTicks(Math.min(...values), Math.max(...values), 5);
}

/** Maps [d0, d1] onto [r0, r1]. */
export function linear(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
}

export interface AnovaRowLike {
  factor: string;
  df: number;
  ss: number;
  ms?: number | null | undefined;
  f?: number | null | undefined;
  percent: number;
  pooled: boolean;
}

export interface AnovaLike {
  rows: readonly AnovaRowLike[];
  errorPercent: number;
  errorDf: number;
  errorSs: number;
}

export interface ContributionBar {
  label: string;
  percent: number;
  kind: 'factor' | 'pooled' | 'error';
}

/**
 * Percent contribution per factor, largest first, then the error. A pooled
 * factor is counted in the error (the server adds it there), so it is
 * shown, marked, but its share is already part of the error bar.
 */
export function contributionBars(anova: AnovaLike): ContributionBar[] {
  const bars: ContributionBar[] = anova.rows
    .map((r) => ({ label: r.factor, percent: clampPercent(r.percent), kind: r.pooled ? ('pooled' as const) : ('factor' as const) }))
    .sort((a, b) => b.percent - a.percent || a.label.localeCompare(b.label));
  bars.push({ label: 'Error', percent: clampPercent(anova.errorPercent), kind: 'error' });
  return bars;
}

function clampPercent(p: number): number {
  return Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0;
}

// ---------- the runs table ----------

export interface RunLike {
  row?: number | null | undefined;
  replicate: number;
  brief: number;
  levels: readonly number[];
  score?: number | null | undefined;
  words?: number | null | undefined;
  costUsd?: number | null | undefined;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  error?: string | null | undefined;
}

/** `row`, `replicate`, `brief`, `score`, …, or `level:2` for the third factor. */
export type RunSortKey =
  | 'row'
  | 'replicate'
  | 'brief'
  | 'score'
  | 'words'
  | 'costUsd'
  | 'latencyMs'
  | 'tokens'
  | 'status'
  | `level:${number}`;

export type SortDirection = 'ascending' | 'descending';

export interface RunSort {
  key: RunSortKey;
  direction: SortDirection;
}

/** The order the server gives: design rows, then the control arm. */
export const DEFAULT_RUN_SORT: RunSort = { key: 'row', direction: 'ascending' };

function sortValue(run: RunLike, key: RunSortKey): number | null {
  switch (key) {
    case 'row':
      // The control arm (no row) after the design rows, either way.
      return run.row ?? null;
    case 'replicate':
      return run.replicate;
    case 'brief':
      return run.brief;
    case 'score':
      return run.error ? null : (run.score ?? null);
    case 'words':
      return run.words ?? null;
    case 'costUsd':
      return run.costUsd ?? null;
    case 'latencyMs':
      return run.latencyMs;
    case 'tokens':
      return run.promptTokens + run.completionTokens;
    case 'status':
      return run.error ? 1 : 0;
    default: {
      const i = Number(key.slice('level:'.length));
      const l = run.levels[i];
      // The control arm has no levels: after every level.
      return l ?? null;
    }
  }
}

/**
 * The runs sorted by one column; missing values (a failed run's score, the
 * control arm's levels) always go last, whichever the direction; ties keep
 * the server's order (row, replicate, brief). Returns indexes into `runs`,
 * so a row keeps its identity (and its draft) whatever the order.
 */
export function sortRuns(runs: readonly RunLike[], sort: RunSort): number[] {
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return runs
    .map((r, i) => ({ i, v: sortValue(r, sort.key) }))
    .sort((a, b) => {
      if (a.v === null && b.v === null) return a.i - b.i;
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      if (a.v === b.v) return a.i - b.i;
      return (a.v < b.v ? -1 : 1) * sign;
    })
    .map((x) => x.i);
}

/** Clicking a header: a new column starts ascending, the same one flips. */
export function nextSort(current: RunSort, key: RunSortKey): RunSort {
  if (current.key !== key) return { key, direction: 'ascending' };
  return { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
}

/** `{"temperature":0.3,"model":"m"}` → `temperature 0.3 · model m` (a config at a glance). */
export function configSummary(config: unknown): string {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return JSON.stringify(config);
  const entries = Object.entries(config as Record<string, unknown>);
  if (entries.length === 0) return 'defaults';
  return entries
    .map(([k, v]) => `${k} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

/** Deep equality for JSON values (configs). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  const bk = Object.keys(bo);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && sameJson(ao[k], bo[k]));
}

/** A number for tables: up to `digits` decimals, no trailing zeros. */
export function formatNumber(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const fixed = v.toFixed(digits);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** "+16.5" / "−3" (a real minus sign). */
export function formatDelta(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = formatNumber(Math.abs(v), digits);
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : '±0';
}
