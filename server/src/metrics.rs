//! Metrics in the Prometheus text exposition format (version 0.0.4), served
//! at `/metrics`.
//!
//! Two kinds of figures:
//! - read from the database at scrape time, with grouped queries that walk
//!   the partial indexes of what is open (queue depth by type and status,
//!   pending approvals and the age of the oldest, the outbox backlog): the
//!   same numbers from every process, whichever answers the scrape;
//! - counted in this process (events it committed, runs of its workers, its
//!   model calls, its HTTP and GraphQL requests): per process, so a
//!   dashboard sums them over processes.
//!
//! A small hand-written registry: a few counters and histograms need no
//! metrics framework, and the format is short (see
//! <https://prometheus.io/docs/instrumenting/exposition_formats/>).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};

use crate::domain::events::Signal;

/// Buckets of durations in seconds: from a fast GraphQL query to a long
/// experiment run.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Distinct GraphQL operation names tracked (see `graphql_request`).
pub const MAX_OPERATIONS: usize = 200;

type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Histogram,
}

struct Histogram {
    /// Non-cumulative counts per bucket of [`SECONDS_BUCKETS`] (+Inf last).
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

struct Family {
    help: &'static str,
    kind: Kind,
    counters: BTreeMap<Labels, f64>,
    histograms: BTreeMap<Labels, Histogram>,
}

/// This process's counters and histograms.
pub struct Metrics {
    /// Only events this process committed are counted (the PostgreSQL
    /// listener re-publishes other processes' events here too).
    origin: String,
    families: Mutex<BTreeMap<&'static str, Family>>,
    /// SQL statements this process sent (an atomic: it is bumped on every
    /// statement, far more often than anything else here).
    statements: AtomicU64,
}

impl Metrics {
    pub fn new(origin: impl Into<String>) -> Metrics {
        Metrics {
            origin: origin.into(),
            families: Mutex::new(BTreeMap::new()),
            statements: AtomicU64::new(0),
        }
    }

    /// One SQL statement sent (the database connection's metric callback).
    pub fn statement(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }

    /// SQL statements sent so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    fn with_family(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut Family),
    ) {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            counters: BTreeMap::new(),
            histograms: BTreeMap::new(),
        });
        f(family);
    }

    /// Adds `by` to a counter.
    pub fn add(&self, name: &'static str, help: &'static str, labels: Labels, by: f64) {
        self.with_family(name, help, Kind::Counter, |f| {
            *f.counters.entry(labels).or_insert(0.0) += by;
        });
    }

    /// Records one observation (in seconds) in a histogram.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: Labels, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        self.with_family(name, help, Kind::Histogram, |f| {
            let h = f.histograms.entry(labels).or_insert_with(|| Histogram {
                buckets: vec![0; SECONDS_BUCKETS.len() + 1],
                sum: 0.0,
                count: 0,
            });
            let i = SECONDS_BUCKETS
                .iter()
                .position(|b| seconds <= *b)
                .unwrap_or(SECONDS_BUCKETS.len());
            h.buckets[i] += 1;
            h.sum += seconds;
            h.count += 1;
        });
    }

    /// Counts an event this process committed (called by the hub).
    pub fn event(&self, s: &Signal) {
        if s.origin != self.origin {
            return;
        }
        self.add(
            "baton_events_total",
            "Events committed by this process, by kind and workflow type: \
             approval.decided counts decisions, workflow.retrying retries, \
             workflow.failed failures.",
            vec![
                ("kind", s.kind.clone()),
                ("type", s.workflow_type.clone().unwrap_or_default()),
            ],
            1.0,
        );
    }

    /// A run of this process's workers ended.
    pub fn run(&self, workflow_type: &str, outcome: &str, claim_to_start: f64, run: f64) {
        let t = || vec![("type", workflow_type.to_string())];
        self.observe(
            "baton_workflow_claim_to_start_seconds",
            "Time from when a workflow was due (run_after) until a worker of this process started it.",
            t(),
            claim_to_start,
        );
        let mut labels = t();
        labels.push(("outcome", outcome.to_string()));
        self.observe(
            "baton_workflow_run_seconds",
            "Run time of attempts on this process's workers, by type and outcome \
             (completed, retrying, failed, abandoned).",
            labels.clone(),
            run,
        );
        self.add(
            "baton_workflow_runs_total",
            "Attempts run by this process's workers, by type and outcome \
             (completed, retrying, failed, abandoned).",
            labels,
            1.0,
        );
    }

    /// The workers' completer stored a batch of `runs` finished runs in
    /// one transaction (the mean batch is items ÷ batches).
    pub fn completion_batch(&self, runs: usize) {
        self.add(
            "baton_completion_batches_total",
            "Transactions this process's workers stored finished runs in.",
            Vec::new(),
            1.0,
        );
        self.add(
            "baton_completion_batch_items_total",
            "Finished runs stored by those transactions (their mean batch size is this \
             divided by baton_completion_batches_total).",
            Vec::new(),
            runs as f64,
        );
    }

    /// A model call of this process (recorded in `llm_calls` too).
    pub fn llm_call(
        &self,
        model: &str,
        failed: bool,
        prompt_tokens: u32,
        completion_tokens: u32,
        cost: Option<f64>,
    ) {
        let m = || vec![("model", model.to_string())];
        let mut labels = m();
        labels.push(("result", if failed { "error" } else { "ok" }.to_string()));
        self.add(
            "baton_llm_calls_total",
            "Model calls made by this process, by model and result.",
            labels,
            1.0,
        );
        let help =
            "Tokens of this process's model calls, by model and direction (prompt, completion).";
        let mut p = m();
        p.push(("direction", "prompt".to_string()));
        self.add("baton_llm_tokens_total", help, p, f64::from(prompt_tokens));
        let mut c = m();
        c.push(("direction", "completion".to_string()));
        self.add(
            "baton_llm_tokens_total",
            help,
            c,
            f64::from(completion_tokens),
        );
        if let Some(cost) = cost {
            self.add(
                "baton_llm_cost_usd_total",
                "Estimated cost of this process's model calls in US dollars, by model \
                 (models without a known price are not counted).",
                m(),
                cost,
            );
        }
    }

    /// An HTTP request answered by this process.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.observe(
            "baton_http_request_duration_seconds",
            "HTTP requests answered by this process, by route, method and status.",
            vec![
                ("route", route.to_string()),
                ("method", method.to_string()),
                ("status", status.to_string()),
            ],
            seconds,
        );
    }

    /// A GraphQL request executed by this process. Operation names are
    /// chosen by clients: past [`MAX_OPERATIONS`] distinct ones, new names
    /// count as `(other)`, so a client cannot grow the series without bound.
    pub fn graphql_request(&self, operation: &str, errors: bool, seconds: f64) {
        const NAME: &str = "baton_graphql_request_duration_seconds";
        let known = {
            let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
            families.get(NAME).map_or((true, 0), |f| {
                let seen = f
                    .histograms
                    .keys()
                    .any(|l| l.first().is_some_and(|(_, v)| v == operation));
                (seen, f.histograms.len())
            })
        };
        let operation = if known.0 || known.1 < MAX_OPERATIONS {
            operation
        } else {
            "(other)"
        };
        self.observe(
            NAME,
            "GraphQL requests executed by this process, by operation name and whether \
             the response had errors.",
            vec![
                ("operation", operation.to_string()),
                ("errors", errors.to_string()),
            ],
            seconds,
        );
    }

    /// The text exposition of this process's series followed by `extra`.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for (name, f) in families.iter() {
            header(&mut out, name, f.help, f.kind);
            for (labels, v) in &f.counters {
                let _ = writeln!(out, "{name}{} {}", fmt_labels(labels, None), num(*v));
            }
            for (labels, h) in &f.histograms {
                let mut cumulative = 0;
                for (i, n) in h.buckets.iter().enumerate() {
                    cumulative += n;
                    let le = SECONDS_BUCKETS
                        .get(i)
                        .map_or_else(|| "+Inf".to_string(), |b| num(*b));
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        fmt_labels(labels, Some(&le))
                    );
                }
                let l = fmt_labels(labels, None);
                let _ = writeln!(out, "{name}_sum{l} {}", num(h.sum));
                let _ = writeln!(out, "{name}_count{l} {}", h.count);
            }
        }
        drop(families);
        let name = "baton_db_statements_total";
        header(
            &mut out,
            name,
            "SQL statements this process sent (BEGIN and COMMIT not counted)",
            Kind::Counter,
        );
        let _ = writeln!(out, "{name} {}", self.statements());
        let mut last = "";
        for g in gauges {
            if g.name != last {
                let _ = writeln!(out, "# HELP {} {}", g.name, g.help);
                let _ = writeln!(out, "# TYPE {} gauge", g.name);
                last = g.name;
            }
            let _ = writeln!(
                out,
                "{}{} {}",
                g.name,
                fmt_labels(&g.labels, None),
                num(g.value)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: Kind) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\"));
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Histogram => "histogram",
    };
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn fmt_labels(labels: &[(&'static str, String)], le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

/// Label values escape `\`, `"` and newlines.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn num(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// One gauge sample read at scrape time.
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Labels,
    pub value: f64,
}

#[derive(FromQueryResult)]
struct Depth {
    workflow_type: String,
    status: String,
    n: i64,
}

#[derive(FromQueryResult)]
struct PendingApprovals {
    workflow_type: String,
    n: i64,
    oldest: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct Backlog {
    channel: String,
    n: i64,
}

/// The database-derived gauges, read now. Each query touches only open rows
/// through a partial index (`ix_workflows_claimable`, `ix_workflows_leases`,
/// `ix_approvals_pending`, `ix_deliveries_due`), so a scrape costs the same
/// with a million finished workflows as with none.
pub async fn database_gauges(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<Gauge>, DbErr> {
    let backend = conn.get_database_backend();
    let mut out = Vec::new();
    let depth = Depth::find_by_statement(Statement::from_string(
        backend,
        "SELECT type AS workflow_type, status, COUNT(*) AS n FROM workflows \
         WHERE status IN ('pending', 'running') GROUP BY type, status ORDER BY type, status",
    ))
    .all(conn)
    .await?;
    for d in depth {
        out.push(Gauge {
            name: "baton_queue_depth",
            help: "Workflows waiting (pending, including those scheduled for a retry) or \
                   running, by type and status.",
            labels: vec![("type", d.workflow_type), ("status", d.status)],
            value: d.n as f64,
        });
    }
    let pending = PendingApprovals::find_by_statement(Statement::from_string(
        backend,
        "SELECT w.type AS workflow_type, COUNT(*) AS n, MIN(a.created_at) AS oldest \
         FROM approvals a JOIN workflows w ON w.id = a.workflow_id \
         WHERE a.status = 'pending' GROUP BY w.type ORDER BY w.type",
    ))
    .all(conn)
    .await?;
    let mut ages = Vec::new();
    for p in pending {
        out.push(Gauge {
            name: "baton_pending_approvals",
            help: "Approvals waiting for a decision, by the type of the workflow that asked.",
            labels: vec![("type", p.workflow_type.clone())],
            value: p.n as f64,
        });
        if let Some(oldest) = p.oldest {
            let age = (now - oldest).num_milliseconds().max(0) as f64 / 1000.0;
            ages.push(Gauge {
                name: "baton_oldest_pending_approval_age_seconds",
                help: "Age of the oldest approval waiting for a decision, by workflow type.",
                labels: vec![("type", p.workflow_type)],
                value: age,
            });
        }
    }
    out.extend(ages);
    let backlog = Backlog::find_by_statement(Statement::from_string(
        backend,
        "SELECT channel, COUNT(*) AS n FROM deliveries WHERE status = 'pending' \
         GROUP BY channel ORDER BY channel",
    ))
    .all(conn)
    .await?;
    for b in backlog {
        out.push(Gauge {
            name: "baton_outbox_backlog",
            help: "Notification deliveries (webhooks, email) not yet delivered or given up, by channel.",
            labels: vec![("channel", b.channel)],
            value: b.n as f64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let m = Metrics::new("me");
        m.observe("x_seconds", "help", vec![("a", "b\"c".into())], 0.02);
        m.observe("x_seconds", "help", vec![("a", "b\"c".into())], 7.0);
        let text = m.render(&[]);
        assert!(text.contains("# TYPE x_seconds histogram"), "{text}");
        assert!(
            text.contains("x_seconds_bucket{a=\"b\\\"c\",le=\"0.01\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{a=\"b\\\"c\",le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{a=\"b\\\"c\",le=\"10\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{a=\"b\\\"c\",le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(text.contains("x_seconds_count{a=\"b\\\"c\"} 2"), "{text}");
        assert!(text.contains("x_seconds_sum{a=\"b\\\"c\"} 7.02"), "{text}");
    }

    #[test]
    fn only_this_processes_events_are_counted() {
        let m = Metrics::new("me");
        let signal = |origin: &str| Signal {
            origin: origin.into(),
            event_id: 1,
            kind: "approval.decided".into(),
            workflow_id: None,
            approval_id: None,
            chain_id: None,
            workflow_type: Some("t".into()),
            txid: None,
        };
        m.event(&signal("me"));
        m.event(&signal("other"));
        let text = m.render(&[]);
        assert!(
            text.contains("baton_events_total{kind=\"approval.decided\",type=\"t\"} 1\n"),
            "{text}"
        );
    }
}
