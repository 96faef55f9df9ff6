//! The `Workflow` trait and the registry of workflow types.
//!
//! A built-in workflow type is one file: a struct implementing [`Workflow`]
//! and a line in `workflows::builtin`. It declares its input's JSON Schema (checked
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
use crate::domain::runs::CompletionWrites;
use crate::domain::workflow_types::{Catalog, Defaults, TypeLookup, TypeSpec};
use crate::error::AppError;
use crate::llm::LlmError;

#[async_trait::async_trait]
pub trait Workflow: Send + Sync + 'static {
    /// The type name clients pass to `runWorkflow` (snake_case).
    fn name(&self) -> &'static str;
    /// One paragraph for the schema browser and the review app.
    fn description(&self) -> &'static str;
    /// JSON Schema of the input (see [`crate::jsonschema`]).
    fn input_schema(&self) -> Value;
    /// JSON Schema of the config `run_experiment` may tune for this type;
    /// `None`: it has none.
    fn config_schema(&self) -> Option<Value> {
        None
    }
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
    /// is written; `types` has every type, for inputs that name another
    /// (an experiment's target). `Err((path, message))` names the offending
    /// field relative to the input, e.g. `factors.temperature`.
    fn validate(&self, _input: &Value, _types: &TypeLookup) -> Result<(), (String, String)> {
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

/// What a finished run leaves behind, and the decision it asks for (domain
/// types: the engine stores them through `domain::runs`).
pub use crate::domain::approvals::{ApprovalRequest, FollowUp};
pub use crate::domain::artifacts::NewArtifact;
pub use crate::domain::runs::Outcome;
pub use crate::domain::workflow_types::ArtifactEdits;

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

/// Workflow types by name: the code that runs each built-in type.
#[derive(Clone, Default)]
pub struct Registry {
    types: BTreeMap<&'static str, Arc<dyn Workflow>>,
}

impl Registry {
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

    pub fn names(&self) -> Vec<String> {
        self.types.keys().map(|n| n.to_string()).collect()
    }

    /// The catalog of every type: these, described for the domain, and the
    /// declared ones from the database.
    pub fn catalog(&self, defaults: Defaults) -> Catalog {
        Catalog::new(self.all().map(|w| spec(w.clone(), defaults)), defaults)
    }
}

/// A built-in type as the domain sees it.
fn spec(w: Arc<dyn Workflow>, defaults: Defaults) -> TypeSpec {
    let check = w.clone();
    TypeSpec {
        name: w.name().to_string(),
        version: 1,
        builtin: true,
        description: w.description().to_string(),
        input_schema: w.input_schema(),
        output_schema: None,
        artifact_schema: w.artifact_edits().map(|e| e.schema),
        artifact_kind: None,
        config_schema: w.config_schema(),
        requires_approval: w.requires_approval(),
        admin_only: w.admin_only(),
        edits: w.artifact_edits(),
        next_on_approve: None,
        next_on_reject: None,
        timeout: w.timeout(defaults.timeout),
        max_attempts: defaults.max_attempts,
        retry_base: defaults.retry_base,
        declared_by: None,
        declared_at: None,
        check: Some(Arc::new(move |input: &Value, types: &TypeLookup| {
            check.validate(input, types)
        })),
        compiled: Arc::default(),
    }
}

/// The stored row's writes of a type, in the completing transaction.
pub struct OnComplete<'a>(pub &'a dyn Workflow);

#[async_trait::async_trait]
impl CompletionWrites for OnComplete<'_> {
    async fn write(
        &self,
        txn: &DatabaseTransaction,
        stamp: &Stamp,
        workflow: &workflow::Model,
        output: &Value,
    ) -> Result<Vec<Signal>, AppError> {
        self.0.on_complete(txn, stamp, workflow, output).await
    }
}
