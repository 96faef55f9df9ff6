// Hand-written SVG charts for experiment results. Each is an image
// (role="img") named by its <title> and described by a <desc> that states
// its data; each chart's numbers are also in a table on the page.

import { useId } from 'react';
import {
  linear,
  formatNumber,
  niceTicks,
  type ContributionBar,
  type EffectSeries,
} from '../lib/experiment';

const W = 280;
const H = 200;
const M = { top: 24, right: 14, bottom: 42, left: 42 };

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export interface EffectsChartProps {
  series: EffectSeries;
  /** The shared y axis (every factor's chart uses the same). */
  ticks: number[];
  /** A dashed horizontal reference line, e.g. the grand mean (named in the caption). */
  reference?: number | null | undefined;
  /** What is plotted, for the title: "mean score", "S/N ratio". */
  measure: string;
  unit?: string;
}

/** Level means of one factor as a line with points; the best level filled. */
export function EffectsChart({ series, ticks, reference, measure, unit = '' }: EffectsChartProps) {
  const titleId = useId();
  const descId = useId();
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const y = linear([lo, hi], [H - M.bottom, M.top]);
  const n = series.points.length;
  const pad = 22;
  const x = (i: number) =>
    n <= 1 ? (M.left + W - M.right) / 2 : M.left + pad + (i * (W - M.left - M.right - 2 * pad)) / (n - 1);
  const pts = series.points.map((p, i) => ({ ...p, cx: x(i), cy: p.value === null ? null : y(p.value) }));
  // The line breaks at a level with no valid run.
  const segments: string[] = [];
  let current = '';
  for (const p of pts) {
    if (p.cy === null) {
      if (current) segments.push(current);
      current = '';
    } else current += `${current ? 'L' : 'M'}${p.cx.toFixed(1)},${p.cy.toFixed(1)}`;
  }
  if (current) segments.push(current);
  const u = unit ? ` ${unit}` : '';
  const best = series.points.find((p) => p.level === series.best);
  const bestX = pts.find((p) => p.level === series.best)?.cx;
  const desc =
    series.points.map((p) => `${p.label}: ${p.value === null ? 'no valid runs' : `${formatNumber(p.value)}${u}`}`).join('; ') +
    (best ? `. Best level: ${best.label}.` : '.');

  return (
    <svg
      className="chart chart-effects"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-labelledby={titleId}
      aria-describedby={descId}
      data-factor={series.factor}
    >
      <title id={titleId}>{`${series.factor}: ${measure} by level`}</title>
      <desc id={descId}>{desc}</desc>
      <g className="chart-grid" aria-hidden="true">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
            <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="chart-tick">
              {formatNumber(t, 1)}
            </text>
          </g>
        ))}
      </g>
      {typeof reference === 'number' && Number.isFinite(reference) ? (
        <line
          className="chart-reference"
          aria-hidden="true"
          x1={M.left}
          x2={W - M.right}
          y1={y(reference)}
          y2={y(reference)}
        />
      ) : null}
      <g aria-hidden="true">
        {segments.map((d, i) => (
          <path key={i} d={d} className="chart-line" />
        ))}
        {pts.map((p) =>
          p.cy === null ? null : (
            <g key={p.level}>
              <circle
                cx={p.cx}
                cy={p.cy}
                r={p.level === series.best ? 6 : 4.5}
                className={p.level === series.best ? 'chart-point chart-point-best' : 'chart-point'}
              />
              <text x={p.cx} y={p.cy - 10} textAnchor="middle" className="chart-value">
                {formatNumber(p.value, 1)}
              </text>
            </g>
          ),
        )}
        {pts.map((p) => (
          <text
            key={`x-${p.level}`}
            x={p.cx}
            y={H - M.bottom + 18}
            textAnchor="middle"
            className={p.level === series.best ? 'chart-xlabel chart-xlabel-best' : 'chart-xlabel'}
          >
            {truncate(p.short, n > 3 ? 8 : 14)}
          </text>
        ))}
        {bestX !== undefined ? (
          <text x={bestX} y={H - M.bottom + 34} textAnchor="middle" className="chart-best">
            best
          </text>
        ) : null}
      </g>
    </svg>
  );
}

const BAR_ROW = 30;
const BW = 380;
const BL = 116;
const BR = 78;

/** Percent contribution per factor as horizontal bars; pooled factors hatched and labelled. */
export function ContributionChart({ bars, title }: { bars: ContributionBar[]; title: string }) {
  const titleId = useId();
  const descId = useId();
  const hatchId = useId().replace(/:/g, '');
  const top = 8;
  const height = top + bars.length * BAR_ROW + 28;
  const x = linear([0, 100], [BL, BW - BR]);
  const desc = bars
    .map((b) => `${b.label}${b.kind === 'pooled' ? ' (pooled into the error)' : ''}: ${formatNumber(b.percent, 1)}%`)
    .join('; ');
  return (
    <svg
      className="chart chart-bars"
      viewBox={`0 0 ${BW} ${height}`}
      role="img"
      aria-labelledby={titleId}
      aria-describedby={descId}
    >
      <title id={titleId}>{title}</title>
      <desc id={descId}>{desc}</desc>
      <defs>
        <pattern id={hatchId} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="6" height="6" className="chart-hatch-bg" />
          <line x1="0" y1="0" x2="0" y2="6" className="chart-hatch" />
        </pattern>
      </defs>
      <g className="chart-grid" aria-hidden="true">
        {niceTicks(0, 100, 5).map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={top - 2} y2={height - 22} />
            <text x={x(t)} y={height - 8} textAnchor="middle" className="chart-tick">
              {`${t}%`}
            </text>
          </g>
        ))}
      </g>
      <g aria-hidden="true">
        {bars.map((b, i) => {
          const yTop = top + i * BAR_ROW + 5;
          const w = Math.max(b.percent > 0 ? 1.5 : 0, x(b.percent) - BL);
          return (
            <g key={`${b.kind}-${b.label}`} className={`chart-bar chart-bar-${b.kind}`} data-kind={b.kind}>
              <text x={BL - 8} y={yTop + 10} dy="0.32em" textAnchor="end" className="chart-barlabel">
                {truncate(b.label, 18)}
              </text>
              <rect
                x={BL}
                y={yTop}
                width={w}
                height={20}
                rx={3}
                fill={b.kind === 'pooled' ? `url(#${hatchId})` : undefined}
              />
              <text x={BL + w + 6} y={yTop + 10} dy="0.32em" className="chart-value">
                {`${formatNumber(b.percent, 1)}%${b.kind === 'pooled' ? ' pooled' : ''}`}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}
