//! The log of model calls: one row per call, including failed ones.

use chrono::{DateTime, Utc};
use entity::llm_call;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

/// One finished call, as measured by the caller.
#[derive(Debug, Clone)]
pub struct NewLlmCall {
    pub workflow_id: Option<Uuid>,
    pub attempt: i32,
    pub purpose: String,
    pub provider: String,
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// When the call ended (rows are written later, with the attempt's end).
    pub at: DateTime<Utc>,
}

/// Rows per INSERT: 12 columns each, well under both backends' limit on
/// bound parameters.
const INSERT_CHUNK: usize = 500;

/// Writes `calls` in `conn` (the caller's transaction, or on their own), in
/// multi-row inserts.
pub async fn record_all(conn: &impl ConnectionTrait, calls: Vec<NewLlmCall>) -> Result<(), DbErr> {
    let mut calls = calls.into_iter().peekable();
    while calls.peek().is_some() {
        let chunk: Vec<llm_call::ActiveModel> =
            calls.by_ref().take(INSERT_CHUNK).map(active).collect();
        llm_call::Entity::insert_many(chunk).exec(conn).await?;
    }
    Ok(())
}

fn active(call: NewLlmCall) -> llm_call::ActiveModel {
    let cost = estimate_cost_usd(&call.model, call.prompt_tokens, call.completion_tokens);
    llm_call::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(call.workflow_id),
        attempt: Set(call.attempt),
        purpose: Set(call.purpose),
        provider: Set(call.provider),
        model: Set(call.model),
        prompt_tokens: Set(i32::try_from(call.prompt_tokens).unwrap_or(i32::MAX)),
        completion_tokens: Set(i32::try_from(call.completion_tokens).unwrap_or(i32::MAX)),
        latency_ms: Set(i64::try_from(call.latency_ms).unwrap_or(i64::MAX)),
        cost_usd: Set(cost),
        error: Set(call.error),
        created_at: Set(call.at),
    }
}

pub async fn for_workflow(
    conn: &impl ConnectionTrait,
    workflow_id: Uuid,
) -> Result<Vec<llm_call::Model>, DbErr> {
    llm_call::Entity::find()
        .filter(llm_call::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(llm_call::Column::CreatedAt)
        .order_by_asc(llm_call::Column::Id)
        .all(conn)
        .await
}

/// A rough price per call from public list prices (USD per million tokens,
/// input/output). Unknown models get no estimate rather than a wrong one;
/// the offline model costs nothing.
pub fn estimate_cost_usd(model: &str, prompt_tokens: u32, completion_tokens: u32) -> Option<f64> {
    const PRICES: &[(&str, f64, f64)] = &[
        ("offline", 0.0, 0.0),
        ("gpt-4o-mini", 0.15, 0.60),
        ("gpt-4o", 2.50, 10.00),
        ("gpt-4.1-mini", 0.40, 1.60),
        ("gpt-4.1", 2.00, 8.00),
    ];
    let (_, input, output) = PRICES
        .iter()
        .filter(|(name, _, _)| model.starts_with(name))
        .max_by_key(|(name, _, _)| name.len())?;
    Some((f64::from(prompt_tokens) * input + f64::from(completion_tokens) * output) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_known_models_and_declines_unknown_ones() {
        assert_eq!(estimate_cost_usd("offline", 1000, 1000), Some(0.0));
        let mini = estimate_cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0);
        assert!(
            matches!(mini, Some(c) if (c - 0.15).abs() < 1e-9),
            "{mini:?}"
        );
        assert_eq!(estimate_cost_usd("gemma-3-270m", 10, 10), None);
    }
}
