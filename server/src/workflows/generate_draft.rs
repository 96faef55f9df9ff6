//! `generate_draft`: writes several candidate drafts for a brief, merges
//! them into one, scores it with the rubric judge, stores a `draft`
//! artifact and asks a reviewer. Approving (with or without feedback) or
//! rejecting with feedback starts `apply_feedback`.

use futures_util::future::try_join_all;
use serde_json::{Value, json};

use super::rubric::{self, DRAFT_RUBRIC};
use super::{Brief, str_field, word_count};
use crate::engine::{
    ApprovalRequest, FollowUp, NewArtifact, Outcome, RunContext, Workflow, WorkflowError,
};
use crate::llm::{ChatRequest, Message};

pub const NAME: &str = "generate_draft";
pub const ARTIFACT_KIND: &str = "draft";

pub struct GenerateDraft;

#[async_trait::async_trait]
impl Workflow for GenerateDraft {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Drafts a scene from a brief: writes several candidates, merges them into one with an \
         LLM merge step, scores the result with a rubric-based judge and asks a reviewer. \
         Approving or rejecting with feedback starts apply_feedback."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["prompt"],
            "additionalProperties": false,
            "properties": {
                "story_id": { "type": "string", "maxLength": 200, "description": "Which story the scene belongs to." },
                "scene": { "type": "string", "maxLength": 200, "description": "The scene's shortname, e.g. 'harbour-arrival'." },
                "prompt": { "type": "string", "minLength": 1, "maxLength": 20000, "description": "What the scene must do." },
                "candidates": { "type": "integer", "minimum": 1, "maximum": 8, "description": "Candidate drafts to write before merging (default from the server's configuration, 3)." },
                "max_tokens": { "type": "integer", "minimum": 16, "maximum": 8192, "description": "Length limit per model answer." }
            }
        })
    }

    fn requires_approval(&self) -> bool {
        true
    }

    async fn execute(&self, ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        let brief = Brief {
            story_id: str_field(&input, "story_id").map(str::to_string),
            scene: str_field(&input, "scene").map(str::to_string),
            prompt: str_field(&input, "prompt")
                .ok_or_else(|| WorkflowError::Fatal("input.prompt is missing".into()))?
                .to_string(),
        };
        let n = input
            .get("candidates")
            .and_then(Value::as_u64)
            .map_or(ctx.config.workflows.draft_candidates, |n| n as u32)
            .max(1);
        let max_tokens = input
            .get("max_tokens")
            .and_then(Value::as_u64)
            .map(|m| m as u32);
        let brief_text = brief.describe();

        let candidates = try_join_all((1..=n).map(|i| {
            let request = ChatRequest {
                messages: vec![
                    Message::system(
                        "You are a novelist drafting one scene. Write the scene itself: prose, \
                         no title, no notes.",
                    ),
                    Message::user(format!("{brief_text}\n\n(Candidate {i} of {n}.)")),
                ],
                temperature: Some(0.9),
                max_tokens,
                ..Default::default()
            };
            ctx.chat("draft", request)
        }))
        .await?;

        let (text, model) = if candidates.len() == 1 {
            (
                candidates[0].content.trim().to_string(),
                candidates[0].model.clone(),
            )
        } else {
            let listed: String = candidates
                .iter()
                .enumerate()
                .map(|(i, c)| format!("--- Candidate {} ---\n{}\n\n", i + 1, c.content.trim()))
                .collect();
            let merged = ctx
                .chat(
                    "merge",
                    ChatRequest {
                        messages: vec![
                            Message::system(
                                "You are an editor. Merge the candidate drafts into one scene, \
                                 keeping the strongest lines and images of each. Answer with the \
                                 merged scene only.",
                            ),
                            Message::user(format!("{brief_text}\n\n{listed}")),
                        ],
                        temperature: Some(0.4),
                        max_tokens,
                        ..Default::default()
                    },
                )
                .await?;
            (merged.content.trim().to_string(), merged.model)
        };
        if text.is_empty() {
            return Err(WorkflowError::Retryable(
                "the model returned an empty draft".into(),
            ));
        }

        let scorecard = rubric::judge(ctx, DRAFT_RUBRIC, &brief_text, &text).await?;
        let content = json!({
            "text": text,
            "brief": brief,
            "score": scorecard.total,
            "rubric": scorecard.dimensions,
            "judge_model": scorecard.judge_model,
            "model": model,
            "candidates": n,
            "round": 0,
            "final": false,
        });
        Ok(Outcome {
            output: json!({
                "score": scorecard.total,
                "candidates": n,
                "words": word_count(&text),
                "model": model,
            }),
            artifact: Some(NewArtifact {
                kind: ARTIFACT_KIND.into(),
                content,
                parent_id: None,
            }),
            approval: Some(review_request(scorecard.total)),
        })
    }
}

/// The approval every draft asks for: approve to finalize (or to revise
/// with the feedback given), reject with feedback to revise.
pub fn review_request(score: f64) -> ApprovalRequest {
    let follow_up = FollowUp {
        workflow_type: super::apply_feedback::NAME.into(),
        input: json!({}),
    };
    ApprovalRequest {
        artifact_data: None,
        score: Some(score),
        on_approve: Some(follow_up.clone()),
        on_reject: Some(follow_up),
        reject_requires_feedback: true,
        expires_in: None,
    }
}
