//! `apply_feedback`: revises a draft with the reviewer's feedback, stores
//! the revision (parent = the reviewed draft), re-scores it, and either
//! finalizes or asks for another round.
//!
//! It finalizes when the reviewer approved without feedback (the draft is
//! kept as it is), or approved with feedback and the revision's score rose
//! by more than `finalize_margin`. A rejection always asks again.

use serde_json::{Value, json};
use uuid::Uuid;

use super::generate_draft::{ARTIFACT_KIND, review_request};
use super::rubric::{self, DRAFT_RUBRIC};
use super::{Brief, str_field, word_count};
use crate::domain::artifacts;
use crate::engine::{NewArtifact, Outcome, RunContext, Workflow, WorkflowError};
use crate::llm::{ChatRequest, Message};

pub const NAME: &str = "apply_feedback";

pub struct ApplyFeedback;

#[async_trait::async_trait]
impl Workflow for ApplyFeedback {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Revises a draft with a reviewer's feedback, stores the new version (its parent is the \
         reviewed draft) and re-scores it. Finalizes when the reviewer approved without changes \
         or the score rose by more than the configured margin; otherwise asks for another round. \
         Usually started by a decision on a draft's approval."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["artifact_id", "decision"],
            "properties": {
                "artifact_id": { "type": "string", "format": "uuid", "minLength": 36, "maxLength": 36, "description": "The draft to revise." },
                "approval_id": { "type": ["string", "null"], "format": "uuid", "description": "The approval whose decision started this run." },
                "decision": { "enum": ["approved", "rejected"], "description": "What the reviewer decided." },
                "feedback": { "type": ["string", "null"], "maxLength": 20000, "description": "What the reviewer asked for." }
            }
        })
    }

    fn requires_approval(&self) -> bool {
        true
    }

    /// A revision starts from a decision, which carries the reviewer's
    /// verdict; started by hand it could claim an approval nobody gave.
    fn admin_only(&self) -> bool {
        true
    }

    fn artifact_edits(&self) -> Option<crate::engine::ArtifactEdits> {
        Some(super::generate_draft::draft_edits())
    }

    async fn execute(&self, ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        let artifact_id: Uuid = str_field(&input, "artifact_id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WorkflowError::Fatal("input.artifact_id is not a UUID".into()))?;
        let approved = str_field(&input, "decision") == Some("approved");
        let feedback = str_field(&input, "feedback").map(str::to_string);
        let previous = artifacts::get(&ctx.db, artifact_id)
            .await
            .map_err(|e| WorkflowError::Retryable(format!("reading the draft failed: {e:?}")))?
            .ok_or_else(|| WorkflowError::Fatal(format!("no artifact with id {artifact_id}")))?;
        let prev = &previous.content;
        let prev_text = str_field(prev, "text").unwrap_or_default().to_string();
        let prev_score = prev.get("score").and_then(Value::as_f64).unwrap_or(0.0);
        let round = prev.get("round").and_then(Value::as_i64).unwrap_or(0) + 1;
        let brief: Brief = serde_json::from_value(prev.get("brief").cloned().unwrap_or_default())
            .unwrap_or_default();

        // Approved as it is: the reviewed text becomes the final version.
        if approved && feedback.is_none() {
            let mut content = prev.clone();
            content["final"] = json!(true);
            content["round"] = json!(round);
            content["finalized_because"] = json!("approved without changes");
            return Ok(Outcome {
                output: json!({ "final": true, "score": prev_score, "round": round }),
                artifact: Some(NewArtifact {
                    kind: ARTIFACT_KIND.into(),
                    content,
                    parent_id: Some(previous.id),
                }),
                approval: None,
            });
        }

        let brief_text = brief.describe();
        let asked = feedback
            .clone()
            .unwrap_or_else(|| "No specific feedback: make it better overall.".to_string());
        let revised = ctx
            .chat(
                "revise",
                ChatRequest {
                    messages: vec![
                        Message::system(
                            "You are a novelist revising your scene after an editor's notes. \
                             Apply every note; keep what the notes do not touch. Answer with the \
                             revised scene only.",
                        ),
                        Message::user(format!(
                            "{brief_text}\n\n--- Current draft ---\n{prev_text}\n\n--- Editor's notes ---\n{asked}"
                        )),
                    ],
                    temperature: Some(0.7),
                    ..Default::default()
                },
            )
            .await?;
        let text = revised.content.trim().to_string();
        if text.is_empty() {
            return Err(WorkflowError::Retryable(
                "the model returned an empty revision".into(),
            ));
        }
        let scorecard = rubric::judge(ctx, DRAFT_RUBRIC, &brief_text, &text).await?;
        let delta = scorecard.total - prev_score;
        let margin = ctx.config.workflows.finalize_margin;
        let finalize = approved && delta > margin;
        let content = json!({
            "text": text,
            "brief": brief,
            "score": scorecard.total,
            "previous_score": prev_score,
            "score_delta": delta,
            "feedback": feedback,
            "rubric": scorecard.dimensions,
            "judge_model": scorecard.judge_model,
            "model": revised.model,
            "round": round,
            "final": finalize,
            "finalized_because": finalize.then(|| format!("score rose by {delta:.1} (> {margin})")),
        });
        Ok(Outcome {
            output: json!({
                "final": finalize,
                "score": scorecard.total,
                "score_delta": delta,
                "round": round,
                "words": word_count(&text),
            }),
            artifact: Some(NewArtifact {
                kind: ARTIFACT_KIND.into(),
                content,
                parent_id: Some(previous.id),
            }),
            approval: (!finalize).then(|| review_request(scorecard.total)),
        })
    }
}
