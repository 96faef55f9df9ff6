//! What a running workflow can use: its own row, the database, the
//! configuration, the type catalog, the model (every call logged), and the
//! hub to announce rows it starts (an experiment's child runs).
//!
//! Model calls are logged in `llm_calls` without a commit of their own
//! while the attempt is short: they are kept here and the worker writes
//! them in the transaction that ends the attempt (completed, failed or
//! retrying). Once an attempt has run for [`WRITE_CALLS_AFTER`], each call
//! is written as it ends, so a long run against a real model shows its
//! calls and cost while it runs. A process that dies mid-attempt loses the
//! log rows of that attempt's last second at most.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entity::workflow;
use sea_orm::DatabaseConnection;

use super::signals::Hub;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::Stamp;
use crate::domain::events::Signal;
use crate::domain::llm_calls::{self, NewLlmCall};
use crate::domain::workflow_types::Catalog;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, LlmError};

/// What the process lends a run (the worker fills it from its state).
pub struct RunServices {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    pub llm: Arc<dyn ChatModel>,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub origin: Arc<str>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// How long an attempt keeps its model calls to itself before writing each
/// as it ends (see the module docs).
pub const WRITE_CALLS_AFTER: Duration = Duration::from_secs(1);

pub struct RunContext {
    /// The row as claimed (attempt and fence of this run).
    pub workflow: workflow::Model,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    llm: Arc<dyn ChatModel>,
    clock: Arc<dyn Clock>,
    hub: Hub,
    origin: Arc<str>,
    metrics: Arc<crate::metrics::Metrics>,
    started: Instant,
    /// Calls not written yet (see the module docs).
    calls: Mutex<Vec<NewLlmCall>>,
}

impl RunContext {
    pub fn new(workflow: workflow::Model, s: RunServices) -> RunContext {
        RunContext {
            workflow,
            db: s.db,
            config: s.config,
            catalog: s.catalog,
            llm: s.llm,
            clock: s.clock,
            hub: s.hub,
            origin: s.origin,
            metrics: s.metrics,
            started: Instant::now(),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The calls not written yet, for the transaction that ends the attempt.
    pub fn take_calls(&self) -> Vec<NewLlmCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A stamp for rows this run writes itself, in the name of whoever
    /// started it.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            actor: self.workflow.created_by.clone(),
            actor_role: None,
            now: self.clock.now(),
            origin: self.origin.to_string(),
            notify_email: false,
        }
    }

    /// Announces committed events (wakes this process's workers and
    /// external workers' long polls).
    pub fn publish(&self, signals: Vec<Signal>) {
        self.hub.publish(signals);
    }

    /// Calls the model and records the call in `llm_calls`, failed or not
    /// (with the attempt's end, or at once in a long attempt). A failure to
    /// record is logged, not raised: losing a log row must not fail work
    /// that already cost a model call.
    pub async fn chat(
        &self,
        purpose: &str,
        request: ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let result = self.llm.complete(&request).await;
        let call = match &result {
            Ok(r) => NewLlmCall {
                workflow_id: Some(self.workflow.id),
                attempt: self.workflow.attempt,
                purpose: purpose.to_string(),
                provider: r.provider.clone(),
                model: r.model.clone(),
                prompt_tokens: r.prompt_tokens,
                completion_tokens: r.completion_tokens,
                latency_ms: r.latency_ms,
                error: None,
                at: self.clock.now(),
            },
            Err(e) => NewLlmCall {
                workflow_id: Some(self.workflow.id),
                attempt: self.workflow.attempt,
                purpose: purpose.to_string(),
                provider: self.llm.provider().to_string(),
                model: request
                    .model
                    .clone()
                    .unwrap_or_else(|| self.llm.default_model().to_string()),
                prompt_tokens: 0,
                completion_tokens: 0,
                latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                error: Some(e.to_string()),
                at: self.clock.now(),
            },
        };
        self.metrics.llm_call(
            &call.model,
            call.error.is_some(),
            call.prompt_tokens,
            call.completion_tokens,
            llm_calls::estimate_cost_usd(&call.model, call.prompt_tokens, call.completion_tokens),
        );
        let due = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.push(call);
            if self.started.elapsed() >= WRITE_CALLS_AFTER {
                std::mem::take(&mut *calls)
            } else {
                Vec::new()
            }
        };
        if let Err(e) = llm_calls::record_all(&self.db, due).await {
            tracing::warn!(error = %e, "could not record an LLM call");
        }
        result
    }

    /// The name of the model calls go to when a request names none.
    pub fn default_model(&self) -> &str {
        self.llm.default_model()
    }
}
