//! The append-only audit trail, and the signal each event sends.
//!
//! Every state change appends an event in the transaction that makes the
//! change. On PostgreSQL the same transaction calls `pg_notify`, so other
//! processes hear of the event exactly when it commits (and never of one
//! that rolled back). Notifications are hints: a reader that may have
//! missed some re-reads the table through a [`FeedCursor`].
//!
//! PostgreSQL hands out event ids when a transaction inserts, not when it
//! commits, so an event with a lower id can become visible after one with
//! a higher id. A cursor on PostgreSQL therefore does not read "after the
//! last id"; it re-reads every event whose transaction had not ended at
//! its previous read (`txid >= xmin` of that read's snapshot) and drops
//! the ids it already handed out. On SQLite one writer commits at a time,
//! so ids are commit-ordered and "after the last id read" is exact.

use entity::event;
use std::collections::HashSet;

use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Stamp;

/// The PostgreSQL channel Baton's processes notify each other on.
pub const CHANNEL: &str = "baton_events";

pub mod kind {
    pub const WORKFLOW_CREATED: &str = "workflow.created";
    pub const WORKFLOW_COMPLETED: &str = "workflow.completed";
    pub const WORKFLOW_FAILED: &str = "workflow.failed";
    pub const WORKFLOW_RETRYING: &str = "workflow.retrying";
    pub const WORKFLOW_CANCELLED: &str = "workflow.cancelled";
    pub const WORKFLOW_RETRIED: &str = "workflow.retried";
    pub const WORKFLOW_RELEASED: &str = "workflow.released";
    pub const APPROVAL_CREATED: &str = "approval.created";
    pub const APPROVAL_DECIDED: &str = "approval.decided";
    pub const APPROVAL_EXPIRED: &str = "approval.expired";
}

/// What a process tells its subscribers and workers (and, on PostgreSQL,
/// the other processes) about one committed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    #[serde(rename = "o")]
    pub origin: String,
    #[serde(rename = "e")]
    pub event_id: i64,
    #[serde(rename = "k")]
    pub kind: String,
    #[serde(rename = "w", skip_serializing_if = "Option::is_none", default)]
    pub workflow_id: Option<Uuid>,
    #[serde(rename = "a", skip_serializing_if = "Option::is_none", default)]
    pub approval_id: Option<Uuid>,
    #[serde(rename = "c", skip_serializing_if = "Option::is_none", default)]
    pub chain_id: Option<Uuid>,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none", default)]
    pub workflow_type: Option<String>,
    /// PostgreSQL: the transaction that wrote the event (see
    /// [`FeedCursor`]); lets a reader drop a late notice of an event it
    /// already read from the table.
    #[serde(rename = "x", skip_serializing_if = "Option::is_none", default)]
    pub txid: Option<i64>,
}

impl Signal {
    /// True for events after which a worker may find something to claim.
    pub fn makes_work(&self) -> bool {
        matches!(
            self.kind.as_str(),
            kind::WORKFLOW_CREATED
                | kind::WORKFLOW_RETRYING
                | kind::WORKFLOW_RETRIED
                | kind::WORKFLOW_RELEASED
        )
    }

    fn from_model(m: &event::Model, origin: &str) -> Signal {
        Signal {
            origin: origin.to_string(),
            event_id: m.id,
            kind: m.kind.clone(),
            workflow_id: m.workflow_id,
            approval_id: m.approval_id,
            chain_id: m.chain_id,
            workflow_type: m
                .payload
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string),
            txid: m.txid,
        }
    }
}

/// An event about to be written.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub kind: &'static str,
    pub workflow_id: Option<Uuid>,
    pub approval_id: Option<Uuid>,
    pub chain_id: Option<Uuid>,
    /// Free-form details; `type` (the workflow type) is read by subscribers.
    pub payload: Value,
}

/// Appends one event (and, on PostgreSQL, its notification) in `conn`'s
/// transaction, returning the signal to publish in this process after commit.
pub async fn append(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    ev: NewEvent,
) -> Result<Signal, DbErr> {
    let signal = append_unnotified(conn, stamp, ev).await?;
    notify(conn, std::slice::from_ref(&signal)).await?;
    Ok(signal)
}

/// [`append`] without the notification: the caller passes the signal to
/// [`notify`] in the same transaction, with the others it wrote, so a
/// transaction that writes many events sends few notifications.
pub async fn append_unnotified(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    ev: NewEvent,
) -> Result<Signal, DbErr> {
    let model = event::ActiveModel {
        id: NotSet,
        at: Set(stamp.now),
        kind: Set(ev.kind.to_string()),
        workflow_id: Set(ev.workflow_id),
        approval_id: Set(ev.approval_id),
        chain_id: Set(ev.chain_id),
        actor: Set(stamp.actor.clone()),
        actor_role: Set(stamp.actor_role),
        payload: Set(if ev.payload.is_null() {
            Value::Object(Default::default())
        } else {
            ev.payload
        }),
        // PostgreSQL's column default records the writing transaction.
        txid: NotSet,
    }
    .insert(conn)
    .await?;
    // Its notifications commit (or roll back) with it.
    super::outbox::enqueue(conn, &model, stamp.notify_email).await?;
    Ok(Signal::from_model(&model, &stamp.origin))
}

/// PostgreSQL refuses a notification payload of 8,000 bytes or more; a
/// signal is ~200, so one notification carries a few dozen.
const NOTIFY_PAYLOAD_BYTES: usize = 7000;

/// On PostgreSQL, notifies the other processes of `signals` in `conn`'s
/// transaction, so they hear of them exactly when it commits: one
/// `pg_notify` carrying a JSON array per ~7 KB of signals (a single signal
/// goes as a bare object, as external tools may send). SQLite has one
/// process and nothing to notify.
pub async fn notify(conn: &impl ConnectionTrait, signals: &[Signal]) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for payload in payloads(signals)? {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The notification payloads for `signals`: bare objects when alone,
/// arrays of as many as fit under [`NOTIFY_PAYLOAD_BYTES`] otherwise.
fn payloads(signals: &[Signal]) -> Result<Vec<String>, DbErr> {
    let encoded = signals
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut out = Vec::new();
    let mut group: Vec<&str> = Vec::new();
    let mut size = 2;
    for e in &encoded {
        if !group.is_empty() && size + e.len() + 1 > NOTIFY_PAYLOAD_BYTES {
            out.push(group_payload(&group));
            group.clear();
            size = 2;
        }
        size += e.len() + 1;
        group.push(e);
    }
    if !group.is_empty() {
        out.push(group_payload(&group));
    }
    Ok(out)
}

fn group_payload(group: &[&str]) -> String {
    match group {
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(",")),
    }
}

/// The signals in a notification payload: one object, or an array of them.
pub fn parse_notification(payload: &str) -> Result<Vec<Signal>, serde_json::Error> {
    if payload.trim_start().starts_with('[') {
        serde_json::from_str(payload)
    } else {
        serde_json::from_str(payload).map(|s| vec![s])
    }
}

/// Events after `after_id`, oldest first, as signals; used to catch up after
/// a missed notification.
pub async fn since(
    conn: &impl ConnectionTrait,
    after_id: i64,
    kinds: &[&str],
    limit: u64,
) -> Result<Vec<Signal>, DbErr> {
    let rows = event::Entity::find()
        .filter(event::Column::Id.gt(after_id))
        .filter(event::Column::Kind.is_in(kinds.iter().copied()))
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows.iter().map(|m| Signal::from_model(m, "")).collect())
}

/// The id of the newest event, or 0.
pub async fn last_id(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(event::Entity::find()
        .order_by_desc(event::Column::Id)
        .one(conn)
        .await?
        .map(|m| m.id)
        .unwrap_or(0))
}

/// The events about one workflow or approval, oldest first (the history view).
pub async fn for_subject(
    conn: &impl ConnectionTrait,
    workflow_id: Option<Uuid>,
    approval_id: Option<Uuid>,
) -> Result<Vec<event::Model>, DbErr> {
    let mut q = event::Entity::find();
    if let Some(w) = workflow_id {
        q = q.filter(event::Column::WorkflowId.eq(w));
    }
    if let Some(a) = approval_id {
        q = q.filter(event::Column::ApprovalId.eq(a));
    }
    q.order_by_asc(event::Column::Id)
        .limit(1000)
        .all(conn)
        .await
}

/// A reader's place in the events feed (a subscription's resync). Every
/// event of its kinds committed after [`FeedCursor::start`] is returned by
/// one [`FeedCursor::read`] or marked by [`FeedCursor::mark`], exactly
/// once between them, in whatever order the commits happened.
#[derive(Debug)]
pub struct FeedCursor {
    kinds: Vec<String>,
    /// PostgreSQL: the `xmin` of the snapshot of the last read. Every
    /// transaction below it had ended by then, so its committed events
    /// were visible to that read; events of later transactions are
    /// re-read until they are below a later read's `xmin`.
    horizon: Option<i64>,
    /// SQLite: the highest id a read returned (ids are commit-ordered).
    after_id: i64,
    /// Ids handed out that a later read may return again.
    seen: HashSet<i64>,
}

/// Rows per page of a read.
const FEED_PAGE: u64 = 1000;
/// Past this many remembered ids the reader should [`FeedCursor::read`],
/// which forgets the settled ones.
const FEED_SEEN_MAX: usize = 10_000;

/// The snapshot's `xmin` and the events of the reader's kinds whose
/// transaction is at or above `$1` (the previous read's horizon; none:
/// this snapshot's own) and whose id is above `$2` (paging), in one
/// statement so both come from the same snapshot.
const FEED_POSTGRES: &str = r#"
WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon)
SELECT h.horizon, e.id, e.kind, e.workflow_id, e.approval_id, e.chain_id,
       e.payload->>'type' AS workflow_type, e.txid
  FROM h LEFT JOIN events e
    ON e.txid >= COALESCE($1::bigint, h.horizon) AND e.id > $2
   AND e.kind IN (SELECT jsonb_array_elements_text($3::jsonb))
 ORDER BY e.id
 LIMIT $4"#;

impl FeedCursor {
    /// A cursor at "now": events committed before it are not returned.
    pub async fn start(conn: &impl ConnectionTrait, kinds: &[&str]) -> Result<FeedCursor, DbErr> {
        let mut c = FeedCursor {
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            horizon: None,
            after_id: 0,
            seen: HashSet::new(),
        };
        if conn.get_database_backend() == DbBackend::Postgres {
            // Everything visible now is "before": the committed events of
            // transactions at or above the horizon (which a read will look
            // at again) are marked as handed out.
            let (horizon, rows) = c.scan_postgres(conn, None).await?;
            c.horizon = Some(horizon);
            c.seen = rows.iter().map(|(s, _)| s.event_id).collect();
        } else {
            c.after_id = last_id(conn).await?;
        }
        Ok(c)
    }

    /// Records an event handed out from a live notification; false when it
    /// was already handed out (or is not of the cursor's kinds). A notice
    /// can arrive after a read already returned its event: below the
    /// horizon (PostgreSQL) or at or below the last id read (SQLite), the
    /// event was visible to a read, so it was handed out then.
    pub fn mark(&mut self, s: &Signal) -> bool {
        if !self.kinds.contains(&s.kind) {
            return false;
        }
        let settled = match (self.horizon, s.txid) {
            (Some(h), Some(x)) => x < h,
            (Some(_), None) => false,
            (None, _) => s.event_id <= self.after_id,
        };
        !settled && self.seen.insert(s.event_id)
    }

    /// True when enough ids are remembered that a [`read`](Self::read)
    /// should run to forget the settled ones.
    pub fn wants_read(&self) -> bool {
        self.seen.len() > FEED_SEEN_MAX
    }

    /// The committed events not yet handed out, oldest id first, marked.
    pub async fn read(&mut self, conn: &impl ConnectionTrait) -> Result<Vec<Signal>, DbErr> {
        match self.horizon {
            Some(from) => {
                let (horizon, rows) = self.scan_postgres(conn, Some(from)).await?;
                let mut fresh = Vec::new();
                let mut unsettled = HashSet::new();
                for (s, txid) in rows {
                    if txid >= horizon {
                        unsettled.insert(s.event_id);
                    }
                    if !self.seen.contains(&s.event_id) {
                        fresh.push(s);
                    }
                }
                // Events below the new horizon are never read again (nor
                // can a live notice repeat one already read): forget them.
                self.seen = unsettled;
                self.horizon = Some(horizon);
                Ok(fresh)
            }
            None => self.read_sqlite(conn).await,
        }
    }

    /// All pages of [`FEED_POSTGRES`]: the first page's horizon and every
    /// matching event with its transaction. Later pages see at least what
    /// the first saw (events are never deleted), so that horizon holds for
    /// all of them.
    async fn scan_postgres(
        &self,
        conn: &impl ConnectionTrait,
        from: Option<i64>,
    ) -> Result<(i64, Vec<(Signal, i64)>), DbErr> {
        let kinds: sea_orm::Value = Value::from(self.kinds.clone()).to_string().into();
        let mut horizon = None;
        let mut out = Vec::new();
        let mut after = i64::MIN;
        loop {
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    FEED_POSTGRES,
                    [
                        from.into(),
                        after.into(),
                        kinds.clone(),
                        i64::try_from(FEED_PAGE).unwrap_or(i64::MAX).into(),
                    ],
                ))
                .await?;
            let full = rows.len() as u64 == FEED_PAGE;
            for r in rows {
                let h: i64 = r.try_get("", "horizon")?;
                horizon.get_or_insert(h);
                let Some(id) = r.try_get::<Option<i64>>("", "id")? else {
                    continue;
                };
                after = id;
                let txid = r.try_get::<Option<i64>>("", "txid")?.unwrap_or(i64::MIN);
                out.push((
                    Signal {
                        origin: String::new(),
                        event_id: id,
                        kind: r.try_get("", "kind")?,
                        workflow_id: r.try_get("", "workflow_id")?,
                        approval_id: r.try_get("", "approval_id")?,
                        chain_id: r.try_get("", "chain_id")?,
                        workflow_type: r.try_get("", "workflow_type")?,
                        txid: Some(txid),
                    },
                    txid,
                ));
            }
            if !full {
                break;
            }
        }
        let horizon = horizon
            .or(from)
            .ok_or_else(|| DbErr::Custom("the feed query returned no snapshot".into()))?;
        Ok((horizon, out))
    }

    async fn read_sqlite(&mut self, conn: &impl ConnectionTrait) -> Result<Vec<Signal>, DbErr> {
        let kinds: Vec<&str> = self.kinds.iter().map(String::as_str).collect();
        let mut fresh = Vec::new();
        loop {
            let page = since(conn, self.after_id, &kinds, FEED_PAGE).await?;
            let full = page.len() as u64 == FEED_PAGE;
            for s in page {
                self.after_id = self.after_id.max(s.event_id);
                if !self.seen.contains(&s.event_id) {
                    fresh.push(s);
                }
            }
            if !full {
                break;
            }
        }
        // Every id at or below `after_id` is settled; none above it was
        // handed out before this read (it would have been visible to it).
        self.seen.clear();
        Ok(fresh)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn signal(event_id: i64) -> Signal {
        Signal {
            origin: "process-a".into(),
            event_id,
            kind: kind::WORKFLOW_COMPLETED.into(),
            workflow_id: Some(Uuid::now_v7()),
            approval_id: Some(Uuid::now_v7()),
            chain_id: Some(Uuid::now_v7()),
            workflow_type: Some("generate_draft".into()),
            txid: Some(1234),
        }
    }

    #[test]
    fn one_signal_goes_as_a_bare_object_as_before() {
        let s = signal(1);
        let p = payloads(std::slice::from_ref(&s)).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with('{'), "{}", p[0]);
        assert_eq!(parse_notification(&p[0]).unwrap(), vec![s]);
    }

    #[test]
    fn many_signals_go_as_arrays_under_postgres_payload_limit_in_order() {
        let all: Vec<Signal> = (1..=200).map(signal).collect();
        let p = payloads(&all).unwrap();
        assert!(p.len() > 1, "200 signals cannot fit one payload");
        assert!(
            p.iter().all(|x| x.len() < 8000),
            "a payload over PostgreSQL's limit"
        );
        let back: Vec<Signal> = p
            .iter()
            .flat_map(|x| parse_notification(x).unwrap())
            .collect();
        assert_eq!(back, all);
        assert!(payloads(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_malformed_payload_is_an_error_not_a_panic() {
        assert!(parse_notification("[{\"o\":1}]").is_err());
        assert!(parse_notification("not json").is_err());
    }
}
