//! The randomized history test's two halves that are not the test itself:
//! the client's record of what it was told ([`Ledger`]) and the checker
//! that judges a finished history against the database and the API
//! ([`check`]).
//!
//! The client only trusts what it was *told*: a call that got no answer
//! (the server was killed under it) may or may not have happened, so it
//! constrains nothing; an acknowledged call must be visible in the end
//! state, and the end state must be one that some order of the
//! acknowledged calls could have produced. The checker also holds the end
//! state to the invariants that hold whatever the calls were: one outcome
//! per approval, one follow-up per decision, one row per effect, one event
//! per transition.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use entity::approval::{self, ApprovalStatus};
use entity::vote::{self, VoteDecision};
use entity::workflow::{self, WorkflowStatus};
use entity::{artifact, event};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

/// What one call was told.
#[derive(Debug, Clone)]
pub enum Outcome<T> {
    Acked(T),
    /// A GraphQL error: its `extensions.code` and message.
    Refused {
        code: String,
        message: String,
    },
    /// No answer (connection refused or reset, timeout): the call may or
    /// may not have taken effect.
    Unknown(String),
}

impl<T> Outcome<T> {
    pub fn acked(&self) -> Option<&T> {
        match self {
            Outcome::Acked(t) => Some(t),
            _ => None,
        }
    }
}

/// One `runWorkflow`.
#[derive(Debug, Clone)]
pub struct RunCall {
    pub key: Option<String>,
    pub outcome: Outcome<RunAck>,
}

#[derive(Debug, Clone)]
pub struct RunAck {
    pub workflow: Uuid,
    /// `RunWorkflowPayload.created`: false when the key was seen before.
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Approve,
    Reject,
}

/// One vote (`approve`, `reject`, or one item of `approveMany`).
#[derive(Debug, Clone)]
pub struct VoteCall {
    pub approval: Uuid,
    /// The voter's user name (a principal's id).
    pub reviewer: String,
    pub choice: Choice,
    pub outcome: Outcome<VoteAck>,
}

#[derive(Debug, Clone)]
pub struct VoteAck {
    /// This vote decided the approval.
    pub decided: bool,
    /// `Approval.decidedBy` in the answer.
    pub decided_by: Option<String>,
    /// The workflow the answer says the decision started.
    pub next_workflow: Option<Uuid>,
}

/// Everything the clients and the fault injector did, in the order they
/// recorded it.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub runs: Vec<RunCall>,
    pub votes: Vec<VoteCall>,
    /// The faults injected, with when (seconds into the history).
    pub faults: Vec<String>,
}

/// An approval as the API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiApproval {
    pub status: String,
    pub decided_by: Option<String>,
    pub next_workflow: Option<Uuid>,
    pub required_approvals: u32,
}

/// The end state: every row the checker reads from SQL, and what the API
/// says about the approvals and the acknowledged workflows.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub workflows: Vec<workflow::Model>,
    pub approvals: Vec<approval::Model>,
    pub artifacts: Vec<artifact::Model>,
    pub votes: Vec<vote::Model>,
    pub events: Vec<event::Model>,
    /// `approval(id:)` for every approval in SQL.
    pub api_approvals: HashMap<Uuid, ApiApproval>,
    /// `workflow(id:).status` for every acknowledged workflow.
    pub api_workflows: HashMap<Uuid, String>,
}

impl Snapshot {
    /// Reads every table the checker looks at.
    pub async fn read_sql(conn: &DatabaseConnection) -> Result<Snapshot, sea_orm::DbErr> {
        Ok(Snapshot {
            workflows: workflow::Entity::find().all(conn).await?,
            approvals: approval::Entity::find().all(conn).await?,
            artifacts: artifact::Entity::find().all(conn).await?,
            votes: vote::Entity::find().all(conn).await?,
            events: event::Entity::find().all(conn).await?,
            api_approvals: HashMap::new(),
            api_workflows: HashMap::new(),
        })
    }
}

/// The checker's verdict: what it counted and every anomaly it found.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: BTreeMap<&'static str, usize>,
    pub anomalies: Vec<String>,
}

impl Report {
    fn count(&mut self, what: &'static str, n: usize) {
        *self.counts.entry(what).or_default() += n;
    }

    fn anomaly(&mut self, what: String) {
        self.anomalies.push(what);
    }

    /// True when some anomaly mentions `needle`.
    pub fn mentions(&self, needle: &str) -> bool {
        self.anomalies.iter().any(|a| a.contains(needle))
    }

    /// Counts on one line, then one line per anomaly.
    pub fn render(&self) -> String {
        let mut out = String::from("counts:");
        for (k, v) in &self.counts {
            let _ = write!(out, " {k}={v}");
        }
        let _ = write!(out, "\nanomalies: {}", self.anomalies.len());
        for a in &self.anomalies {
            let _ = write!(out, "\n  - {a}");
        }
        out
    }
}

/// Codes a run may be refused with in a history of faults and load: the
/// database was away, or the client went too fast. Anything else is a bug.
const RUN_REFUSALS: &[&str] = &["UNAVAILABLE", "RATE_LIMITED"];
/// Votes may also lose a race (`CONFLICT`: decided, already voted).
const VOTE_REFUSALS: &[&str] = &["UNAVAILABLE", "RATE_LIMITED", "CONFLICT"];

fn tally<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = K>) -> HashMap<K, usize> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

/// Judges a finished, quiescent history (no process is still working on
/// it: every workflow that will ever finish has).
pub fn check(ledger: &Ledger, s: &Snapshot) -> Report {
    let mut r = Report::default();
    let workflows: HashMap<Uuid, &workflow::Model> =
        s.workflows.iter().map(|w| (w.id, w)).collect();
    let approvals: HashMap<Uuid, &approval::Model> =
        s.approvals.iter().map(|a| (a.id, a)).collect();

    check_runs(ledger, s, &workflows, &mut r);
    check_workflows(s, &mut r);
    check_approvals(s, &workflows, &mut r);
    check_votes(ledger, s, &approvals, &mut r);

    r.count("faults", ledger.faults.len());
    r.count("workflows", s.workflows.len());
    r.count("approvals", s.approvals.len());
    r.count("votes", s.votes.len());
    r.count("events", s.events.len());
    r.count(
        "max_attempt",
        s.workflows
            .iter()
            .map(|w| w.attempt)
            .max()
            .unwrap_or(0)
            .max(0) as usize,
    );
    r
}

/// Every acknowledged run exists and finished; one workflow per key.
fn check_runs(
    ledger: &Ledger,
    s: &Snapshot,
    workflows: &HashMap<Uuid, &workflow::Model>,
    r: &mut Report,
) {
    let mut by_key: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    let mut created_by_key: HashMap<&str, usize> = HashMap::new();
    let mut keyless_acks: Vec<Uuid> = Vec::new();
    for call in &ledger.runs {
        r.count("runs_sent", 1);
        match &call.outcome {
            Outcome::Acked(ack) => {
                r.count("runs_acked", 1);
                match &call.key {
                    Some(k) => {
                        r.count("runs_acked_with_key", 1);
                        by_key.entry(k).or_default().insert(ack.workflow);
                        if ack.created {
                            *created_by_key.entry(k).or_default() += 1;
                        } else {
                            r.count("runs_replayed_by_key", 1);
                        }
                    }
                    None => {
                        keyless_acks.push(ack.workflow);
                        if !ack.created {
                            r.anomaly(format!(
                                "a run without an idempotency key answered created: false ({})",
                                ack.workflow
                            ));
                        }
                    }
                }
                match workflows.get(&ack.workflow) {
                    None => r.anomaly(format!(
                        "acknowledged workflow {} is not in the database",
                        ack.workflow
                    )),
                    Some(w) => {
                        if let Some(k) = &call.key
                            && w.idempotency_key.is_none()
                        {
                            r.anomaly(format!(
                                "workflow {} was acknowledged for key {k} but stores no key",
                                w.id
                            ));
                        }
                        match s.api_workflows.get(&ack.workflow).map(String::as_str) {
                            Some("COMPLETED") => {}
                            other => r.anomaly(format!(
                                "the API reports acknowledged workflow {} as {other:?}, not COMPLETED",
                                ack.workflow
                            )),
                        }
                    }
                }
            }
            Outcome::Refused { code, message } => {
                r.count("runs_refused", 1);
                if !RUN_REFUSALS.contains(&code.as_str()) {
                    r.anomaly(format!("a run was refused with {code}: {message}"));
                }
            }
            Outcome::Unknown(_) => r.count("runs_unanswered", 1),
        }
    }
    for (key, ids) in &by_key {
        if ids.len() > 1 {
            r.anomaly(format!(
                "idempotency key {key} was answered with {} different workflows: {ids:?}",
                ids.len()
            ));
        }
    }
    for (key, n) in &created_by_key {
        if *n > 1 {
            r.anomaly(format!(
                "idempotency key {key} answered created: true {n} times"
            ));
        }
    }
    for (id, n) in tally(keyless_acks.iter()) {
        if n > 1 {
            r.anomaly(format!(
                "{n} runs without a key were all answered with workflow {id}"
            ));
        }
    }
    r.count("idempotency_keys_used", by_key.len());
    // However the key is stored, two rows with one key are two workflows
    // for one key.
    for (key, n) in tally(
        s.workflows
            .iter()
            .filter_map(|w| w.idempotency_key.as_deref()),
    ) {
        if n > 1 {
            r.anomaly(format!(
                "{n} workflows in the database share the idempotency key {key}"
            ));
        }
    }
}

/// Every workflow finished once, within its attempts, with no lease left,
/// one approval and one artifact at most (exactly one for a draft), and
/// one event per transition.
fn check_workflows(s: &Snapshot, r: &mut Report) {
    let approvals = tally(s.approvals.iter().map(|a| a.workflow_id));
    let artifacts = tally(s.artifacts.iter().map(|a| a.workflow_id));
    let events = tally(
        s.events
            .iter()
            .filter_map(|e| e.workflow_id.map(|w| (w, e.kind.as_str()))),
    );
    for w in &s.workflows {
        let n = |m: &HashMap<Uuid, usize>| m.get(&w.id).copied().unwrap_or(0);
        let ev = |kind: &str| events.get(&(w.id, kind)).copied().unwrap_or(0);
        let label = format!(
            "{} {} (attempt {} of {})",
            w.workflow_type, w.id, w.attempt, w.max_attempts
        );
        match w.status {
            WorkflowStatus::Completed => r.count("workflows_completed", 1),
            other => r.anomaly(format!(
                "{label} ended {other:?}, not completed: {}",
                w.error.as_deref().unwrap_or("no error")
            )),
        }
        if w.attempt > w.max_attempts {
            r.anomaly(format!("{label} ran more attempts than it may"));
        }
        if w.status == WorkflowStatus::Running {
            r.anomaly(format!(
                "{label} is still running under {:?}, lease until {:?}",
                w.lease_owner, w.lease_expires_at
            ));
        } else if w.lease_owner.is_some() || w.lease_expires_at.is_some() {
            r.anomaly(format!(
                "{label} is {:?} but still holds a lease ({:?})",
                w.status, w.lease_owner
            ));
        }
        if w.status == WorkflowStatus::Completed && w.output.is_none() {
            r.anomaly(format!("{label} completed without an output"));
        }
        // A draft always asks for one review of one artifact; its
        // follow-ups ask at most once, and a re-run must not add another.
        let exactly_one = w.workflow_type == "generate_draft";
        for (what, count) in [("approvals", n(&approvals)), ("artifacts", n(&artifacts))] {
            if count > 1 || (exactly_one && count != 1 && w.status == WorkflowStatus::Completed) {
                r.anomaly(format!("{label} has {count} {what}"));
            }
        }
        if ev("workflow.created") != 1 {
            r.anomaly(format!(
                "{label} has {} workflow.created events",
                ev("workflow.created")
            ));
        }
        let completed = usize::from(w.status == WorkflowStatus::Completed);
        if ev("workflow.completed") != completed {
            r.anomaly(format!(
                "{label} ({:?}) has {} workflow.completed events",
                w.status,
                ev("workflow.completed")
            ));
        }
        let retries = ev("workflow.retrying");
        if retries > usize::try_from(w.attempt.max(1) - 1).unwrap_or(0) {
            r.anomaly(format!("{label} has {retries} workflow.retrying events"));
        }
        r.count("retries", retries);
    }
}

/// Each decided approval: the votes that decided it, exactly the follow-up
/// it declared, and the API telling the same story as SQL.
fn check_approvals(s: &Snapshot, workflows: &HashMap<Uuid, &workflow::Model>, r: &mut Report) {
    let mut votes_of: HashMap<Uuid, Vec<&vote::Model>> = HashMap::new();
    for v in &s.votes {
        votes_of.entry(v.approval_id).or_default().push(v);
    }
    let mut triggered: HashMap<Uuid, Vec<&workflow::Model>> = HashMap::new();
    for w in &s.workflows {
        if let Some(a) = w.triggered_by_approval_id {
            triggered.entry(a).or_default().push(w);
        }
    }
    let events = tally(
        s.events
            .iter()
            .filter_map(|e| e.approval_id.map(|a| (a, e.kind.as_str()))),
    );
    for a in &s.approvals {
        let label = format!("approval {} ({:?})", a.id, a.status);
        let ev = |kind: &str| events.get(&(a.id, kind)).copied().unwrap_or(0);
        let votes = votes_of.get(&a.id).map(Vec::as_slice).unwrap_or_default();
        let required = a
            .policy
            .as_ref()
            .and_then(|p| p.get("required_approvals"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1) as usize;
        let approving: HashSet<&str> = votes
            .iter()
            .filter(|v| {
                v.decision == VoteDecision::Approve && v.artifact_version == a.artifact_version
            })
            .map(|v| v.reviewer.as_str())
            .collect();
        let rejecting: Vec<&&vote::Model> = votes
            .iter()
            .filter(|v| v.decision == VoteDecision::Reject)
            .collect();
        let next = triggered.get(&a.id).map(Vec::as_slice).unwrap_or_default();

        for ((reviewer, version), n) in tally(
            votes
                .iter()
                .map(|v| (v.reviewer.as_str(), v.artifact_version)),
        ) {
            if n > 1 {
                r.anomaly(format!(
                    "{label}: {reviewer} voted {n} times on version {version}"
                ));
            }
        }
        if ev("approval.created") != 1 {
            r.anomaly(format!(
                "{label} has {} approval.created events",
                ev("approval.created")
            ));
        }
        if ev("approval.voted") != votes.len() {
            r.anomaly(format!(
                "{label} has {} votes but {} approval.voted events",
                votes.len(),
                ev("approval.voted")
            ));
        }
        let decided = matches!(
            a.status,
            ApprovalStatus::Approved | ApprovalStatus::Rejected
        );
        if ev("approval.decided") != usize::from(decided) {
            r.anomaly(format!(
                "{label} has {} approval.decided events",
                ev("approval.decided")
            ));
        }
        if let Some(at) = a.decided_at
            && let Some(late) = votes.iter().find(|v| v.created_at > at)
        {
            r.anomaly(format!(
                "{label}: {} voted at {} after the decision at {at}",
                late.reviewer, late.created_at
            ));
        }

        // What the decision must have started.
        let expected_type: Option<&str> = match a.status {
            ApprovalStatus::Approved => {
                r.count("approvals_approved", 1);
                if approving.len() != required || !rejecting.is_empty() {
                    r.anomaly(format!(
                        "{label} with {} of {required} approving votes and {} rejections",
                        approving.len(),
                        rejecting.len()
                    ));
                }
                if !a
                    .decided_by
                    .as_deref()
                    .is_some_and(|d| approving.contains(d))
                {
                    r.anomaly(format!(
                        "{label} decided by {:?}, who did not approve it",
                        a.decided_by
                    ));
                }
                a.next_workflow_type.as_deref()
            }
            ApprovalStatus::Rejected => {
                r.count("approvals_rejected", 1);
                let by_decider = rejecting
                    .iter()
                    .any(|v| Some(v.reviewer.as_str()) == a.decided_by.as_deref());
                if rejecting.len() != 1 || !by_decider || approving.len() >= required {
                    r.anomaly(format!(
                        "{label} decided by {:?} with {} rejections and {} of {required} approvals",
                        a.decided_by,
                        rejecting.len(),
                        approving.len()
                    ));
                }
                let with_feedback = a.feedback.as_deref().is_some_and(|f| !f.trim().is_empty());
                a.reject_workflow_type
                    .as_deref()
                    .filter(|_| with_feedback || !a.reject_requires_feedback)
            }
            ApprovalStatus::Pending => {
                r.count("approvals_pending", 1);
                if !rejecting.is_empty() || approving.len() >= required || a.decided_by.is_some() {
                    r.anomaly(format!(
                        "{label} is still pending with {} rejections and {} of {required} approvals",
                        rejecting.len(),
                        approving.len()
                    ));
                }
                None
            }
            ApprovalStatus::Expired | ApprovalStatus::Cancelled => {
                r.anomaly(format!(
                    "{label}: nothing in this history expires or cancels"
                ));
                None
            }
        };
        match expected_type {
            Some(ty) => {
                r.count("next_workflows", next.len());
                let ok = next.len() == 1
                    && next[0].workflow_type == ty
                    && a.next_workflow_id == Some(next[0].id)
                    && workflows.contains_key(&next[0].id);
                if !ok {
                    r.anomaly(format!(
                        "{label} should have started one {ty}; it records {:?} and started {:?}",
                        a.next_workflow_id,
                        next.iter()
                            .map(|w| (w.id, w.workflow_type.as_str()))
                            .collect::<Vec<_>>()
                    ));
                }
            }
            None => {
                if !next.is_empty() || a.next_workflow_id.is_some() {
                    r.anomaly(format!(
                        "{label} should have started nothing; it records {:?} and started {:?}",
                        a.next_workflow_id,
                        next.iter().map(|w| w.id).collect::<Vec<_>>()
                    ));
                }
            }
        }

        // The API tells the same story.
        let api = s.api_approvals.get(&a.id);
        let sql = ApiApproval {
            status: format!("{:?}", a.status).to_uppercase(),
            decided_by: a.decided_by.clone(),
            next_workflow: a.next_workflow_id,
            required_approvals: u32::try_from(required).unwrap_or(u32::MAX),
        };
        if api != Some(&sql) {
            r.anomaly(format!(
                "{label}: the API reports {api:?}, SQL holds {sql:?}"
            ));
        }
    }
}

/// What each vote was told agrees with the end state: at most one vote
/// decided each approval, it decided it the way it voted, and every
/// acknowledged vote is stored.
fn check_votes(
    ledger: &Ledger,
    s: &Snapshot,
    approvals: &HashMap<Uuid, &approval::Model>,
    r: &mut Report,
) {
    let stored: HashSet<(Uuid, &str, VoteDecision)> = s
        .votes
        .iter()
        .map(|v| (v.approval_id, v.reviewer.as_str(), v.decision))
        .collect();
    let mut deciding: HashMap<Uuid, Vec<&VoteCall>> = HashMap::new();
    for call in &ledger.votes {
        r.count("votes_sent", 1);
        let ack = match &call.outcome {
            Outcome::Acked(ack) => ack,
            Outcome::Refused { code, message } => {
                r.count(
                    if code == "CONFLICT" {
                        "votes_conflicted"
                    } else {
                        "votes_refused"
                    },
                    1,
                );
                if !VOTE_REFUSALS.contains(&code.as_str()) {
                    r.anomaly(format!(
                        "{}'s vote on {} was refused with {code}: {message}",
                        call.reviewer, call.approval
                    ));
                }
                continue;
            }
            Outcome::Unknown(_) => {
                r.count("votes_unanswered", 1);
                continue;
            }
        };
        r.count("votes_acked", 1);
        let decision = match call.choice {
            Choice::Approve => VoteDecision::Approve,
            Choice::Reject => VoteDecision::Reject,
        };
        if !stored.contains(&(call.approval, call.reviewer.as_str(), decision)) {
            r.anomaly(format!(
                "{}'s acknowledged {decision:?} on {} is not stored",
                call.reviewer, call.approval
            ));
        }
        if ack.decided {
            r.count("votes_deciding", 1);
            deciding.entry(call.approval).or_default().push(call);
        }
    }
    for (id, calls) in &deciding {
        if calls.len() > 1 {
            r.anomaly(format!(
                "approval {id} was decided by {} acknowledged votes: {:?}",
                calls.len(),
                calls
                    .iter()
                    .map(|c| (&c.reviewer, c.choice))
                    .collect::<Vec<_>>()
            ));
        }
        let Some(a) = approvals.get(id) else {
            r.anomaly(format!(
                "approval {id} was decided but is not in the database"
            ));
            continue;
        };
        for call in calls {
            let Some(ack) = call.outcome.acked() else {
                continue;
            };
            let want = match call.choice {
                Choice::Approve => ApprovalStatus::Approved,
                Choice::Reject => ApprovalStatus::Rejected,
            };
            if a.status != want
                || a.decided_by.as_deref() != Some(call.reviewer.as_str())
                || ack.decided_by != a.decided_by
                || ack.next_workflow != a.next_workflow_id
            {
                r.anomaly(format!(
                    "{}'s {:?} was told it decided {id} (by {:?}, next {:?}); the database says {:?} by {:?}, next {:?}",
                    call.reviewer,
                    call.choice,
                    ack.decided_by,
                    ack.next_workflow,
                    a.status,
                    a.decided_by,
                    a.next_workflow_id
                ));
            }
        }
    }
}
