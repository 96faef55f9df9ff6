//! The `Workflow` trait and the registry of workflow types.
//!
//! A workflow type is one file: a struct implementing [`Workflow`] and a line
//! in [`Registry::builtin`]. It declares its input's JSON Schema (checked
//! before a row is written), runs to completion in `execute`, and says in its
//! [`Outcome`] what to store, which approval to ask for and what follows a
//! decision. It never waits for a person.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use entity::workflow;
use sea_orm::DatabaseTransaction;

use super::context::RunContext;
use crate::domain::Stamp;
use crate::domain::events::Signal;
use crate::error::AppError;
use crate::llm::LlmError;

#[async_trait::async_trait]
pub trait Workflow: Send + Sync + 'static {
    /// The type name clients pass to `runWorkflow` (snake_case).
    fn name(&self) -> &'static str;
    /// One paragraph for the schema browser and the review app.
    fn description(&self) -> &'static str;
    /// JSON Schema of the input (the subset in [`crate::jsonschema`]).
    fn input_schema(&self) -> Value;
    /// Whether a finished run may ask for a person's decision.
    fn requires_approval(&self) -> bool;
    /// How long one run may take; `configured` is the server's
    /// `workflow_timeout`. Types that do much more work per run (an
    /// experiment) ask for more.
    fn timeout(&self, configured: Duration) -> Duration {
        configured
    }
    /// Whether only admins may start this type with `runWorkflow` (it
    /// normally starts from a decision, e.g. deploying a config).
    fn admin_only(&self) -> bool {
        false
    }
    /// What a reviewer may change in this type's artifact before approving
    /// it (`approve(…, edits)`); `None`: its artifacts cannot be edited.
    fn artifact_edits(&self) -> Option<ArtifactEdits> {
        None
    }
    /// Checks beyond the JSON Schema (run after it passed), before any row
    /// is written. `Err((path, message))` names the offending field relative
    /// to the input, e.g. `factors.temperature`.
    fn validate(&self, _input: &Value) -> Result<(), (String, String)> {
        Ok(())
    }
    /// Does the work. Side effects other than model calls belong in the
    /// returned outcome, which the engine stores in one transaction.
    async fn execute(&self, ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError>;

    /// Writes rows of this type's own in the transaction that stores the
    /// completed run, after the fencing check, so they commit exactly once
    /// with it (a deployment, say). `output` is what `execute` returned.
    /// Most types write nothing here.
    async fn on_complete(
        &self,
        _txn: &DatabaseTransaction,
        _stamp: &Stamp,
        _workflow: &workflow::Model,
        _output: &Value,
    ) -> Result<Vec<Signal>, AppError> {
        Ok(Vec::new())
    }
}

/// What a finished run leaves behind.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub output: Value,
    pub artifact: Option<NewArtifact>,
    pub approval: Option<ApprovalRequest>,
}

/// An artifact a run stores (defined with the artifacts it becomes).
pub use crate::domain::artifacts::NewArtifact;

/// The part of an artifact a reviewer may edit: the top-level fields an
/// edit may touch, and the JSON Schema the edited content must satisfy.
#[derive(Debug, Clone)]
pub struct ArtifactEdits {
    pub fields: &'static [&'static str],
    pub schema: Value,
}

/// The decision a run asks for, and what each answer starts.
#[derive(Debug, Clone, Default)]
pub struct ApprovalRequest {
    /// What the reviewer sees; the artifact's content when `None`.
    pub artifact_data: Option<Value>,
    /// Quality score (0–100) shown in the queue.
    pub score: Option<f64>,
    pub on_approve: Option<FollowUp>,
    pub on_reject: Option<FollowUp>,
    /// Start `on_reject` only when the reviewer wrote feedback.
    pub reject_requires_feedback: bool,
    pub expires_in: Option<Duration>,
    /// Inputs of the `on_approve` workflow read, at decision time, from the
    /// artifact version that was approved: `(input key, JSON pointer into
    /// the content)`. What runs next is then exactly what was approved,
    /// reviewer edits included.
    pub artifact_bindings: Vec<(String, String)>,
}

/// The next workflow a decision starts. Its input is `input` plus
/// `feedback`, `approval_id` and `decision`, added by the engine.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub workflow_type: String,
    pub input: Value,
}

/// Why a run failed, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkflowError {
    /// Transient (a model timeout, a malformed answer): retried with backoff.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (bad data, a rejected credential): fails at once.
    #[error("{0}")]
    Fatal(String),
    /// The run took longer than the workflow timeout.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
}

impl WorkflowError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, WorkflowError::Fatal(_))
    }
}

impl From<LlmError> for WorkflowError {
    fn from(err: LlmError) -> Self {
        match &err {
            LlmError::Http { status, .. } if (400..500).contains(status) && *status != 429 => {
                WorkflowError::Fatal(err.to_string())
            }
            _ => WorkflowError::Retryable(err.to_string()),
        }
    }
}

impl From<sea_orm::DbErr> for WorkflowError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::warn!(error = %err, "database error inside a workflow");
        WorkflowError::Retryable("database unavailable".to_string())
    }
}

/// Workflow types by name.
#[derive(Clone, Default)]
pub struct Registry {
    types: BTreeMap<&'static str, Arc<dyn Workflow>>,
}

impl Registry {
    /// The built-in types.
    pub fn builtin() -> Registry {
        let mut r = Registry::default();
        r.register(crate::workflows::generate_draft::GenerateDraft);
        r.register(crate::workflows::apply_feedback::ApplyFeedback);
        r.register(crate::workflows::deploy_config::DeployConfig);
        r.register(crate::workflows::run_experiment::RunExperiment);
        r
    }

    /// Adds (or replaces) a type.
    pub fn register(&mut self, workflow: impl Workflow) {
        self.types.insert(workflow.name(), Arc::new(workflow));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Workflow>> {
        self.types.get(name)
    }

    /// Every type, by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Workflow>> {
        self.types.values()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.types.keys().copied().collect()
    }
}
