// An experiment's results, for the reviewer who decides whether its optimum
// goes to production: the summary, the optimum against the production
// config, main effects and S/N per factor, ANOVA, and every run.

import { useId, useMemo, useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { AnovaTableFragment, ExperimentResultsFragment } from '../gql/graphql';
import {
  configSummary,
  contributionBars,
  DEFAULT_RUN_SORT,
  effectSeries,
  formatDelta,
  formatNumber,
  hasValues,
  sameJson,
  nextSort,
  sharedTicks,
  shortLevelLabel,
  sortRuns,
  type EffectMetric,
  type RunSort,
  type RunSortKey,
} from '../lib/experiment';
import { formatCost, formatDuration, formatInt, typeLabel } from '../lib/format';
import { getString, isObject } from '../lib/json';
import { Link } from '../router';
import { ContributionChart, EffectsChart } from './Charts';
import { JsonView } from './JsonView';

export const AnovaTableFields = graphql(`
  fragment AnovaTable on Anova {
    basis
    observations
    grandMean
    totalSs
    totalDf
    errorSs
    errorDf
    errorMs
    errorPercent
    additive
    rows {
      factor
      df
      ss
      ms
      f
      percent
      pooled
    }
  }
`);

export const ExperimentResultsFields = graphql(`
  fragment ExperimentResults on Experiment {
    id
    name
    target
    environment
    response
    snType
    replicates
    briefs
    array
    arrayRuns
    failedRuns
    excludedRows
    grandMean
    factors {
      name
      column
      levels {
        index
        label
        patch
      }
    }
    runs {
      row
      replicate
      brief
      levels
      config
      score
      words
      promptTokens
      completionTokens
      costUsd
      latencyMs
      error
    }
    rowSummaries {
      row
      replicates
      mean
      stdDev
      sn
    }
    mainEffects {
      factor
      deltaMean
      deltaSn
      rankMean
      rankSn
      levels {
        level
        label
        meanResponse
        meanSn
        observations
      }
    }
    anova {
      ...AnovaTable
    }
    anovaSn {
      ...AnovaTable
    }
    optimum {
      factor
      level
      label
      tiedLevels
    }
    optimalConfig
    prediction {
      score
      sn
      costUsd
      latencyMs
      factors
    }
    control {
      config
      deploymentId
      meanScore
      meanCostUsd
      meanLatencyMs
      runs
      failed
    }
    summary
    notes
  }
`);

// The drafts' text is read only when someone opens one: an experiment may
// hold 500 of them.
const ExperimentRunTextsQuery = graphql(`
  query ExperimentRunTexts($id: ID!) {
    experiment(id: $id) {
      id
      runs {
        text
      }
    }
  }
`);

type Experiment = ExperimentResultsFragment;
type Run = Experiment['runs'][number];

const SN_LABELS: Record<Experiment['snType'], string> = {
  LARGER_IS_BETTER: 'larger is better',
  SMALLER_IS_BETTER: 'smaller is better',
  NOMINAL_IS_BEST: 'nominal is best',
};

function Section({ title, children, id, className = '' }: { title: ReactNode; children: ReactNode; id?: string; className?: string }) {
  const generated = useId();
  const headingId = id ?? generated;
  return (
    <section className={`card stack-sm ${className}`.trim()} aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

export function ExperimentView({ experiment: e }: { experiment: Experiment }) {
  return (
    <div className="stack experiment" data-testid="experiment">
      <ExperimentSummary experiment={e} />
      <OptimumVsControl experiment={e} />
      <EffectsSection experiment={e} metric="mean" />
      <EffectsSection experiment={e} metric="sn" />
      <AnovaSection experiment={e} />
      <RunsTable experiment={e} />
    </div>
  );
}

function briefPrompts(briefs: unknown): string[] {
  if (!Array.isArray(briefs)) return [];
  return briefs.map((b, i) => getString(b, 'prompt') ?? (isObject(b) ? JSON.stringify(b) : `brief ${i + 1}`));
}

function ExperimentSummary({ experiment: e }: { experiment: Experiment }) {
  const briefs = briefPrompts(e.briefs);
  const design = e.runs.filter((r) => r.row !== null && r.row !== undefined).length;
  const facts: [string, ReactNode][] = [
    ['Tuned', `${typeLabel(e.target)} in ${e.environment}`],
    ['Design', `${e.array}: ${e.arrayRuns} rows × ${e.replicates} replicate${e.replicates === 1 ? '' : 's'} × ${briefs.length} brief${briefs.length === 1 ? '' : 's'}`],
    ['Runs', `${design} design${e.control ? `, ${e.control.runs} control` : ''}; ${e.failedRuns} failed`],
    ['Optimized', `${e.response} (S/N: ${SN_LABELS[e.snType]})`],
  ];
  return (
    <Section title={e.name ? `Experiment: ${e.name}` : 'Experiment summary'} className="experiment-summary">
      <p className="summary-text">{e.summary}</p>
      {e.notes.length > 0 || e.failedRuns > 0 || e.excludedRows.length > 0 ? (
        <div className="notice notice-warn" role="note">
          <p className="notice-title">Read with care</p>
          <ul className="notes">
            {e.failedRuns > 0 ? (
              <li>
                {e.failedRuns} run{e.failedRuns === 1 ? '' : 's'} failed and {e.failedRuns === 1 ? 'was' : 'were'} left out of
                the analysis (marked in the runs table).
              </li>
            ) : null}
            {e.excludedRows.length > 0 ? (
              <li>
                Array row{e.excludedRows.length === 1 ? '' : 's'} {e.excludedRows.map((r) => r + 1).join(', ')} had no valid
                run and {e.excludedRows.length === 1 ? 'was' : 'were'} excluded.
              </li>
            ) : null}
            {e.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <dl className="facts facts-inline">
        {facts.map(([k, v]) => (
          <div key={k} className="fact">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
        <div className="fact">
          <dt>{briefs.length === 1 ? 'Brief' : 'Briefs'}</dt>
          <dd>
            {briefs.length === 1 ? (
              briefs[0]
            ) : (
              <ol className="briefs">
                {briefs.map((b, i) => (
                  <li key={i}>{b}</li>
                ))}
              </ol>
            )}
          </dd>
        </div>
      </dl>
    </Section>
  );
}

function Metric({ label, value, detail }: { label: string; value: string; detail?: string | undefined }) {
  return (
    <div className="metric">
      <dt>{label}</dt>
      <dd>
        {value}
        {detail ? <span className="muted small"> {detail}</span> : null}
      </dd>
    </div>
  );
}

function OptimumVsControl({ experiment: e }: { experiment: Experiment }) {
  const p = e.prediction;
  const c = e.control;
  const scoreDelta = c?.meanScore !== null && c?.meanScore !== undefined ? p.score - c.meanScore : null;
  const costDelta =
    c && p.costUsd !== null && p.costUsd !== undefined && c.meanCostUsd !== null && c.meanCostUsd !== undefined
      ? p.costUsd - c.meanCostUsd
      : null;
  const nothingDeployed = c !== null && c !== undefined && isObject(c.config) && Object.keys(c.config).length === 0;
  return (
    <Section title="The optimum against production" className="compare-section">
      <div className="compare">
        <div className="compare-card compare-optimum" data-testid="optimum">
          <h3>
            Optimum <span className="muted">· predicted</span>
          </h3>
          <p className="big-number">
            {formatNumber(p.score, 1)} <span className="big-unit">score</span>
          </p>
          <dl className="metrics">
            <Metric label="Cost per draft" value={formatCost(p.costUsd)} />
            <Metric label="Latency" value={p.latencyMs === null || p.latencyMs === undefined ? '—' : formatDuration(p.latencyMs)} />
            <Metric label="S/N" value={p.sn === null || p.sn === undefined ? '—' : `${formatNumber(p.sn, 2)} dB`} />
          </dl>
          <h4>Levels</h4>
          <ul className="optimum-levels">
            {e.optimum.map((o) => (
              <li key={o.factor}>
                <span className="muted">{o.factor}</span> <strong>{shortLevelLabel(o.factor, o.label)}</strong>
                {o.tiedLevels.length > 0 ? (
                  <span className="muted small">
                    {' '}
                    (tied with{' '}
                    {o.tiedLevels
                      .map((l) => e.factors.find((f) => f.name === o.factor)?.levels.find((x) => x.index === l)?.label ?? `level ${l + 1}`)
                      .join(', ')}
                    )
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
          <h4>Config approving deploys</h4>
          <JsonView value={e.optimalConfig} label="Optimal config" />
        </div>
        <div className="compare-card compare-control" data-testid="control">
          <h3>
            Production now <span className="muted">· measured</span>
          </h3>
          {c ? (
            <>
              <p className="big-number">
                {formatNumber(c.meanScore, 1)} <span className="big-unit">score</span>
              </p>
              <dl className="metrics">
                <Metric label="Cost per draft" value={formatCost(c.meanCostUsd)} />
                <Metric label="Latency" value={c.meanLatencyMs === null || c.meanLatencyMs === undefined ? '—' : formatDuration(c.meanLatencyMs)} />
                <Metric label="Runs" value={String(c.runs)} detail={c.failed > 0 ? `(${c.failed} failed)` : undefined} />
              </dl>
              <h4>Config</h4>
              {nothingDeployed ? (
                <p className="small">
                  Nothing deployed in {e.environment} yet: {typeLabel(e.target)} runs with its built-in defaults.
                </p>
              ) : (
                <>
                  <JsonView value={c.config} label="Production config" />
                  {c.deploymentId ? (
                    <p className="small">
                      <Link to="/deployments">Deployment history</Link>
                    </p>
                  ) : null}
                </>
              )}
            </>
          ) : (
            <p className="muted">No control arm was run, so there is no measurement of production to compare with.</p>
          )}
        </div>
      </div>
      {c && sameJson(e.optimalConfig, c.config) ? (
        <p className="compare-delta">The optimum is the config already in production: approving would deploy it again.</p>
      ) : scoreDelta !== null ? (
        <p className="compare-delta" data-testid="compare-delta">
          The optimum is predicted to score <strong>{formatDelta(scoreDelta)} points</strong> against production
          {costDelta === null
            ? '.'
            : costDelta === 0
              ? ', at the same cost per draft.'
              : `, at ${costDelta > 0 ? 'a higher' : 'a lower'} cost per draft (${costDelta > 0 ? '+' : '−'}${formatCost(Math.abs(costDelta))}).`}
        </p>
      ) : null}
      <p className="hint">
        Predictions come from the additive model over {p.factors.join(', ') || 'no factor'}; production was measured on
        the same briefs.
      </p>
    </Section>
  );
}

/** Mean S/N over the array rows that have one: the S/N chart's reference line. */
function meanSn(e: Experiment): number | null {
  const sns = e.rowSummaries.map((r) => r.sn).filter((v): v is number => typeof v === 'number');
  return sns.length === 0 ? null : sns.reduce((a, b) => a + b, 0) / sns.length;
}

function EffectsSection({ experiment: e, metric }: { experiment: Experiment; metric: EffectMetric }) {
  const series = useMemo(() => effectSeries(e.mainEffects, metric, e.optimum), [e.mainEffects, e.optimum, metric]);
  const reference = metric === 'mean' ? e.grandMean : meanSn(e);
  const ticks = useMemo(() => sharedTicks(series, reference), [series, reference]);
  if (!hasValues(series)) {
    if (metric === 'mean') return null;
    return (
      <Section title="Signal-to-noise per level">
        <p className="muted">No S/N ratios: they need at least two valid replicates of an array row.</p>
      </Section>
    );
  }
  const mean = metric === 'mean';
  return (
    <Section title={mean ? 'Main effects: mean score per level' : 'Signal-to-noise per level (dB)'} className="effects">
      <p className="hint">
        {mean
          ? `One chart per factor, on the same scale: the steeper the line, the more the factor matters. The filled point is the best level; the dashed line is the grand mean (${formatNumber(e.grandMean, 1)}).`
          : `S/N (${SN_LABELS[e.snType]}) rewards a high and steady score: higher is better. The filled point is the optimum's level; the dashed line is the mean S/N${reference === null ? '' : ` (${formatNumber(reference, 1)} dB)`}.`}
      </p>
      <div className="chart-grid-layout">
        {series.map((s) => {
          const effect = e.mainEffects.find((m) => m.factor === s.factor);
          const rank = mean ? effect?.rankMean : effect?.rankSn;
          const delta = mean ? effect?.deltaMean : effect?.deltaSn;
          return (
            <figure key={s.factor} className="chart-figure" data-chart={mean ? 'main-effects' : 'sn'}>
              <figcaption>
                <span className="chart-factor">{s.factor}</span>
                <span className="muted small">
                  {rank ? `rank ${rank}` : ''}
                  {delta !== null && delta !== undefined ? ` · range ${formatNumber(delta, mean ? 1 : 2)}${mean ? '' : ' dB'}` : ''}
                </span>
              </figcaption>
              <EffectsChart
                series={s}
                ticks={ticks}
                reference={reference}
                measure={mean ? 'mean score' : 'S/N ratio'}
                unit={mean ? '' : 'dB'}
              />
            </figure>
          );
        })}
      </div>
      {mean ? <ResponseTable experiment={e} /> : null}
    </Section>
  );
}

/** The numbers behind the effect charts (the classic response table). */
function ResponseTable({ experiment: e }: { experiment: Experiment }) {
  return (
    <details className="data-details">
      <summary>Response table (the numbers behind the charts)</summary>
      <ScrollRegion label="Response table">
        <table className="table table-compact">
          <caption className="sr-only">Mean score and S/N per factor level</caption>
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Level</th>
              <th scope="col" className="num">
                Mean score
              </th>
              <th scope="col" className="num">
                S/N (dB)
              </th>
              <th scope="col" className="num">
                Observations
              </th>
            </tr>
          </thead>
          <tbody>
            {e.mainEffects.flatMap((m) =>
              m.levels.map((l) => {
                const best = e.optimum.some((o) => o.factor === m.factor && o.level === l.level);
                return (
                  <tr key={`${m.factor}-${l.level}`}>
                    <th scope="row">{m.factor}</th>
                    <td>
                      {shortLevelLabel(m.factor, l.label)}
                      {best ? <span className="badge badge-completed">best</span> : null}
                    </td>
                    <td className="num">{formatNumber(l.meanResponse, 2)}</td>
                    <td className="num">{formatNumber(l.meanSn, 2)}</td>
                    <td className="num">{l.observations}</td>
                  </tr>
                );
              }),
            )}
          </tbody>
        </table>
      </ScrollRegion>
    </details>
  );
}

function AnovaSection({ experiment: e }: { experiment: Experiment }) {
  const tables: { anova: AnovaTableFragment; title: string; chartTitle: string }[] = [
    {
      anova: e.anova,
      title: `Score (${e.anova.observations} observations)`,
      chartTitle: 'Share of the variation in score, per factor',
    },
  ];
  if (e.anovaSn) {
    tables.push({
      anova: e.anovaSn,
      title: `S/N ratio (${e.anovaSn.observations} array rows)`,
      chartTitle: 'Share of the variation in S/N ratio, per factor',
    });
  }
  const anyPooled = tables.some((t) => t.anova.rows.some((r) => r.pooled));
  return (
    <Section title="ANOVA: what matters" className="anova">
      <p className="hint">
        Percent contribution: each factor&rsquo;s share of the total variation.
        {anyPooled
          ? ' A pooled factor (hatched) contributed too little to test; its share is counted in the error.'
          : ''}
      </p>
      <div className="anova-grid">
        {tables.map((t) => (
          <div key={t.anova.basis} className="stack-sm" data-basis={t.anova.basis}>
            <h3>{t.title}</h3>
            {!t.anova.additive ? (
              <p className="notice notice-warn small">Excluded runs broke the design&rsquo;s balance: read these shares as approximate.</p>
            ) : null}
            <ContributionChart bars={contributionBars(t.anova)} title={t.chartTitle} />
            <AnovaTableView anova={t.anova} label={`ANOVA of ${t.title}`} />
          </div>
        ))}
      </div>
    </Section>
  );
}

/** A table that may scroll sideways on a phone: focusable, so the keyboard can scroll it. */
function ScrollRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

function AnovaTableView({ anova, label }: { anova: AnovaTableFragment; label: string }) {
  const pooled = anova.rows.some((r) => r.pooled);
  return (
    <ScrollRegion label={label}>
      <table className="table table-compact anova-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col" className="num">
              df
            </th>
            <th scope="col" className="num">
              SS
            </th>
            <th scope="col" className="num">
              MS
            </th>
            <th scope="col" className="num">
              F
            </th>
            <th scope="col" className="num">
              %
            </th>
          </tr>
        </thead>
        <tbody>
          {anova.rows.map((r) => (
            <tr key={r.factor} className={r.pooled ? 'row-pooled' : undefined} data-pooled={r.pooled || undefined}>
              <th scope="row">
                {r.factor}
                {r.pooled ? <span className="badge badge-pooled">pooled</span> : null}
              </th>
              <td className="num">{r.df}</td>
              <td className="num">{formatNumber(r.ss, 2)}</td>
              <td className="num">{formatNumber(r.ms, 2)}</td>
              <td className="num">{formatNumber(r.f, 2)}</td>
              <td className="num">{formatNumber(r.percent, 1)}</td>
            </tr>
          ))}
          <tr className="row-error">
            <th scope="row">Error{pooled ? ' (with pooled)' : ''}</th>
            <td className="num">{anova.errorDf}</td>
            <td className="num">{formatNumber(anova.errorSs, 2)}</td>
            <td className="num">{formatNumber(anova.errorMs, 2)}</td>
            <td className="num">—</td>
            <td className="num">{formatNumber(anova.errorPercent, 1)}</td>
          </tr>
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td className="num">{anova.totalDf}</td>
            <td className="num">{formatNumber(anova.totalSs, 2)}</td>
            <td className="num" colSpan={3}>
              <span className="muted small">grand mean {formatNumber(anova.grandMean, 2)}</span>
            </td>
          </tr>
        </tfoot>
      </table>
    </ScrollRegion>
  );
}

interface Column {
  key: RunSortKey;
  label: string;
  numeric: boolean;
  title?: string;
}

function RunsTable({ experiment: e }: { experiment: Experiment }) {
  const [sort, setSort] = useState<RunSort>(DEFAULT_RUN_SORT);
  const [open, setOpen] = useState<ReadonlySet<number>>(() => new Set());
  const order = useMemo(() => sortRuns(e.runs, sort), [e.runs, sort]);
  const briefs = briefPrompts(e.briefs);
  const [{ data: texts, fetching: loadingTexts, error: textsError }] = useQuery({
    query: ExperimentRunTextsQuery,
    variables: { id: e.id },
    pause: open.size === 0,
  });
  const headingId = useId();
  const design = e.runs.filter((r) => r.row !== null && r.row !== undefined).length;
  const control = e.runs.length - design;
  const failed = e.runs.filter((r) => r.error).length;

  const columns: Column[] = [
    { key: 'row', label: 'Run', numeric: false, title: 'Array row and replicate (r1, r2, …)' },
    ...(briefs.length > 1 ? [{ key: 'brief' as const, label: 'Brief', numeric: true }] : []),
    ...e.factors.map((f, i) => ({ key: `level:${i}` as const, label: f.name, numeric: false })),
    { key: 'score', label: 'Score', numeric: true },
    { key: 'words', label: 'Words', numeric: true },
    { key: 'costUsd', label: 'Cost', numeric: true },
    { key: 'latencyMs', label: 'Latency', numeric: true },
    { key: 'status', label: 'Status', numeric: false, title: 'Failed runs, or read the draft' },
  ];
  const sortedBy = columns.find((c) => c.key === sort.key);

  const toggleOpen = (i: number) =>
    setOpen((o) => {
      const next = new Set(o);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      return next;
    });

  return (
    <section className="card stack-sm" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Runs</h2>
        <p className="muted small">
          {design} design{control > 0 ? `, ${control} control` : ''}
          {failed > 0 ? `; ${failed} failed` : '; none failed'}
        </p>
      </div>
      <p className="hint">Select a column heading to sort by it; again to reverse. Failed runs are marked and left out of the analysis.</p>
      <p className="sr-only" aria-live="polite">
        {sort === DEFAULT_RUN_SORT ? '' : `Sorted by ${sortedBy?.label ?? sort.key}, ${sort.direction}.`}
      </p>
      <div className="table-wrap">
        <table className="table table-compact runs-table" data-testid="runs-table">
          <caption className="sr-only">Every draft the experiment wrote; column headings sort the table.</caption>
          <thead>
            <tr>
              {columns.map((c) => {
                const active = sort.key === c.key;
                return (
                  <th
                    key={c.key}
                    scope="col"
                    className={c.numeric ? 'num' : undefined}
                    aria-sort={active ? sort.direction : undefined}
                    title={c.title}
                  >
                    <button type="button" className="sort-button" onClick={() => setSort((s) => nextSort(s, c.key))}>
                      {c.label}
                      <span className={`sort-icon${active ? ' sort-active' : ''}`} aria-hidden="true">
                        {active ? (sort.direction === 'ascending' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {order.map((i) => {
              const r = e.runs[i];
              if (!r) return null;
              const text = texts?.experiment?.runs[i]?.text;
              return (
                <RunRow
                  key={i}
                  index={i}
                  run={r}
                  experiment={e}
                  showBrief={briefs.length > 1}
                  briefPrompt={briefs[r.brief]}
                  open={open.has(i)}
                  onToggle={() => toggleOpen(i)}
                  text={text}
                  loading={loadingTexts}
                  failedToLoad={textsError !== undefined}
                  span={columns.length}
                />
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RunRow({
  index,
  run: r,
  experiment: e,
  showBrief,
  briefPrompt,
  open,
  onToggle,
  text,
  loading,
  failedToLoad,
  span,
}: {
  index: number;
  run: Run;
  experiment: Experiment;
  showBrief: boolean;
  briefPrompt: string | undefined;
  open: boolean;
  onToggle: () => void;
  text: string | null | undefined;
  loading: boolean;
  failedToLoad: boolean;
  span: number;
}) {
  const isControl = r.row === null || r.row === undefined;
  const detailId = `run-${index}-draft`;
  const name = isControl ? `control run ${r.replicate + 1}` : `row ${(r.row ?? 0) + 1} replicate ${r.replicate + 1}`;
  return (
    <>
      <tr
        className={[r.error ? 'run-failed' : '', isControl ? 'run-control' : ''].join(' ').trim() || undefined}
        data-run={index}
        data-failed={r.error ? 'true' : undefined}
      >
        <td className="run-id">
          {isControl ? <span className="muted">—</span> : (r.row ?? 0) + 1}
          <span className="muted small"> r{r.replicate + 1}</span>
        </td>
        {showBrief ? (
          <td className="num" title={briefPrompt}>
            {r.brief + 1}
          </td>
        ) : null}
        {isControl ? (
          <td colSpan={e.factors.length}>
            <span className="tag">control</span> <span className="muted">the production config</span>
          </td>
        ) : (
          e.factors.map((f, fi) => {
            const level = r.levels[fi];
            const label = level === undefined ? undefined : f.levels.find((l) => l.index === level)?.label;
            return <td key={f.name}>{label ? shortLevelLabel(f.name, label) : '—'}</td>;
          })
        )}
        <td className="num score-col">{r.error ? '—' : formatNumber(r.score, 1)}</td>
        <td className="num">{r.words === null || r.words === undefined ? '—' : formatInt(r.words)}</td>
        <td className="num">{formatCost(r.costUsd)}</td>
        <td className="num">{formatDuration(r.latencyMs)}</td>
        <td className="run-status">
          {r.error ? (
            <>
              <span className="badge badge-failed">Failed</span>
              <span className="excerpt error-text" title={r.error}>
                {r.error.length > 80 ? `${r.error.slice(0, 77)}…` : r.error}
              </span>
            </>
          ) : (
            <button
              type="button"
              className="btn btn-xs btn-ghost"
              aria-expanded={open}
              aria-controls={open ? detailId : undefined}
              aria-label={`${open ? 'Hide' : 'Read'} the draft of ${name}`}
              onClick={onToggle}
            >
              {open ? 'Hide' : 'Read'}
            </button>
          )}
        </td>
      </tr>
      {open ? (
        <tr className="run-draft" id={detailId}>
          <td colSpan={span}>
            {text ? (
              <div className="prose run-text">
                {text.split(/\n{2,}/).map((p, i) => (
                  <p key={i}>{p}</p>
                ))}
              </div>
            ) : loading ? (
              <p className="muted small">Loading the draft…</p>
            ) : failedToLoad ? (
              <p className="error-text small">The draft could not be loaded.</p>
            ) : (
              <p className="muted small">No text was stored for this run.</p>
            )}
            <p className="muted small">
              Config: <code>{configSummary(r.config)}</code>
            </p>
          </td>
        </tr>
      ) : null}
    </>
  );
}
