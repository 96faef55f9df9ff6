import { describe, expect, it } from 'vitest';
import {
  configSummary,
  contributionBars,
  effectSeries,
  formatDelta,
  formatNumber,
  hasValues,
  linear,
  nextSort,
  niceTicks,
  sameJson,
  sharedTicks,
  shortLevelLabel,
  sortRuns,
  type RunLike,
} from './experiment';

const effects = [
  {
    factor: 'temperature',
    levels: [
      { level: 1, label: 'temperature=1.0', meanResponse: 45, meanSn: 33.05, observations: 4 },
      { level: 0, label: 'temperature=0.3', meanResponse: 48, meanSn: 33.45, observations: 4 },
    ],
  },
  {
    factor: 'model',
    levels: [
      { level: 0, label: 'model=a, temperature=0.2', meanResponse: 40, meanSn: null, observations: 4 },
      { level: 1, label: 'model=b', meanResponse: null, meanSn: null, observations: 0 },
    ],
  },
];

describe('effect chart data', () => {
  it('shortens labels that only restate the factor', () => {
    expect(shortLevelLabel('temperature', 'temperature=0.3')).toBe('0.3');
    expect(shortLevelLabel('model', 'model=a, temperature=0.2')).toBe('model=a, temperature=0.2');
    expect(shortLevelLabel('model', '(no change)')).toBe('(no change)');
  });

  it('gives one series per factor in level order, with gaps and the best level', () => {
    const series = effectSeries(effects, 'mean', [{ factor: 'temperature', level: 0, label: 'temperature=0.3' }]);
    expect(series[0]).toEqual({
      factor: 'temperature',
      best: 0,
      points: [
        { level: 0, label: 'temperature=0.3', short: '0.3', value: 48, observations: 4 },
        { level: 1, label: 'temperature=1.0', short: '1.0', value: 45, observations: 4 },
      ],
    });
    expect(series[1]?.best).toBeNull();
    expect(series[1]?.points.map((p) => p.value)).toEqual([40, null]);
  });

  it('reads S/N instead of means, and knows when there is nothing to draw', () => {
    const sn = effectSeries(effects, 'sn');
    expect(sn[0]?.points.map((p) => p.value)).toEqual([33.45, 33.05]);
    expect(hasValues(sn)).toBe(true);
    expect(hasValues(effectSeries([effects[1]!], 'sn'))).toBe(false);
  });

  it('puts every factor on one axis that covers the values and the reference line', () => {
    const series = effectSeries(effects, 'mean');
    const ticks = sharedTicks(series, 46.5);
    expect(ticks[0]).toBeLessThanOrEqual(40);
    expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(48);
    expect(sharedTicks(series, 70).at(-1)).toBeGreaterThanOrEqual(70);
    expect(sharedTicks([], null)).toEqual([]);
  });

  it('makes round ticks', () => {
    expect(niceTicks(40.5, 52.5, 5)).toEqual([40, 45, 50, 55]);
    expect(niceTicks(0, 100, 5)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(32.1, 34.4, 5)).toEqual([32, 33, 34, 35]);
    // One value still gets an axis around it.
    const flat = niceTicks(50, 50);
    expect(flat[0]).toBeLessThan(50);
    expect(flat.at(-1)).toBeGreaterThan(50);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });

  it('maps a domain onto a range (y grows downwards)', () => {
    const y = linear([40, 55], [176, 24]);
    expect(y(40)).toBe(176);
    expect(y(55)).toBe(24);
    expect(linear([5, 5], [0, 10])(5)).toBe(5);
  });
});

describe('contribution bars', () => {
  it('sorts factors by share, marks pooled ones and puts the error last', () => {
    const bars = contributionBars({
      rows: [
        { factor: 'temperature', df: 1, ss: 0.16, percent: 2.39, pooled: true },
        { factor: 'candidates', df: 1, ss: 4.95, percent: 73.93, pooled: false },
        { factor: 'system_prompt', df: 1, ss: 1.59, percent: 23.67, pooled: false },
      ],
      errorPercent: 2.39,
      errorDf: 1,
      errorSs: 0.16,
    });
    expect(bars).toEqual([
      { label: 'candidates', percent: 73.93, kind: 'factor' },
      { label: 'system_prompt', percent: 23.67, kind: 'factor' },
      { label: 'temperature', percent: 2.39, kind: 'pooled' },
      { label: 'Error', percent: 2.39, kind: 'error' },
    ]);
  });

  it('clamps odd percentages', () => {
    const bars = contributionBars({
      rows: [{ factor: 'a', df: 1, ss: 1, percent: 120, pooled: false }],
      errorPercent: -3,
      errorDf: 0,
      errorSs: 0,
    });
    expect(bars.map((b) => b.percent)).toEqual([100, 0]);
  });
});

const run = (row: number | null, replicate: number, score: number | null, extra: Partial<RunLike> = {}): RunLike => ({
  row,
  replicate,
  brief: 0,
  levels: row === null ? [] : [row % 2, row >> 1],
  score,
  words: 100,
  costUsd: 0,
  latencyMs: 10 + (row ?? 9),
  promptTokens: 10,
  completionTokens: 20,
  error: null,
  ...extra,
});

describe('sortRuns', () => {
  const runs = [
    run(0, 0, 38.5),
    run(0, 1, 38.5),
    run(1, 0, null, { error: 'timeout' }),
    run(2, 0, 57.5),
    run(3, 0, 42.5),
    run(null, 0, 41),
  ];

  it('keeps the server order by default: design rows, then the control arm', () => {
    expect(sortRuns(runs, { key: 'row', direction: 'ascending' })).toEqual([0, 1, 2, 3, 4, 5]);
    // Reversed rows, but ties (replicates) keep their order and the control stays last.
    expect(sortRuns(runs, { key: 'row', direction: 'descending' })).toEqual([4, 3, 2, 0, 1, 5]);
  });

  it('sorts by score both ways; a failed run has no score and stays last', () => {
    expect(sortRuns(runs, { key: 'score', direction: 'ascending' })).toEqual([0, 1, 5, 4, 3, 2]);
    expect(sortRuns(runs, { key: 'score', direction: 'descending' })).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it('sorts by a factor level, the control arm (no levels) last', () => {
    expect(sortRuns(runs, { key: 'level:0', direction: 'descending' })).toEqual([2, 4, 0, 1, 3, 5]);
  });

  it('sorts failed runs together', () => {
    expect(sortRuns(runs, { key: 'status', direction: 'descending' })[0]).toBe(2);
  });

  it('starts a new column ascending and flips the same one', () => {
    const s1 = nextSort({ key: 'row', direction: 'ascending' }, 'score');
    expect(s1).toEqual({ key: 'score', direction: 'ascending' });
    expect(nextSort(s1, 'score')).toEqual({ key: 'score', direction: 'descending' });
    expect(nextSort(nextSort(s1, 'score'), 'score')).toEqual({ key: 'score', direction: 'ascending' });
  });
});

describe('formatting', () => {
  it('summarizes configs and compares them', () => {
    expect(configSummary({ temperature: 0.3, system_prompt: 'minimalist' })).toBe('temperature 0.3 · system_prompt minimalist');
    expect(configSummary({})).toBe('defaults');
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
  });

  it('formats numbers and deltas', () => {
    expect(formatNumber(4.951149880539624)).toBe('4.95');
    expect(formatNumber(288)).toBe('288');
    expect(formatNumber(null)).toBe('—');
    expect(formatDelta(16.5)).toBe('+16.5');
    expect(formatDelta(-3)).toBe('−3');
    expect(formatDelta(0)).toBe('±0');
  });
});
