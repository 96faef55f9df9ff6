//! `generate_draft`: writes a draft for a brief, scores it with the rubric
//! judge, stores a `draft` artifact and asks a reviewer. Approving (with or
//! without feedback) or rejecting with feedback starts `apply_feedback`.
//!
//! Two ways to write, chosen by the config:
//! - merge (default): `candidates` drafts written independently, merged
//!   into one by an LLM merge step;
//! - verbalized sampling (Zhang et al., 2025): one call asks for `vs_k`
//!   candidates each with a verbalized probability; one is chosen by
//!   sampling on those probabilities or by the rubric judge.
//!
//! The config is the active deployment of (`generate_draft`, environment)
//! patched by the run's own `config`; the draft records which deployment it
//! used, so it can be traced to the experiment that chose its config.

use futures_util::future::try_join_all;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::draft_config::{DraftConfig, Selection};
use super::rubric::{self, DRAFT_RUBRIC, Scorecard};
use super::{Brief, str_field, word_count};
use crate::domain::deployments;
use crate::engine::{
    ApprovalRequest, ArtifactEdits, FollowUp, NewArtifact, Outcome, RunContext, Workflow,
    WorkflowError,
};
use crate::llm::{ChatRequest, Message};
use crate::optimizer::sampling;

pub const NAME: &str = "generate_draft";
pub const ARTIFACT_KIND: &str = "draft";
pub const DEFAULT_ENVIRONMENT: &str = "production";

pub struct GenerateDraft;

#[async_trait::async_trait]
impl Workflow for GenerateDraft {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Drafts a scene from a brief with the active deployed config: writes several candidates \
         and merges them (or, with verbalized sampling, asks for k candidates with probabilities \
         and picks one), scores the result with a rubric-based judge and asks a reviewer. \
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
                "candidates": { "type": "integer", "minimum": 1, "maximum": 8, "description": "Candidate drafts to write before merging (default: the deployed config, else the server's, 3)." },
                "max_tokens": { "type": "integer", "minimum": 16, "maximum": 8192, "description": "Length limit per model answer." },
                "environment": { "type": "string", "minLength": 1, "maxLength": 64, "description": "Whose deployed config to use (default 'production')." },
                "config": DraftConfig::schema()
            }
        })
    }

    /// What `run_experiment` tunes and `deploy_config` deploys.
    fn config_schema(&self) -> Option<Value> {
        Some(DraftConfig::schema())
    }

    fn requires_approval(&self) -> bool {
        true
    }

    fn artifact_edits(&self) -> Option<ArtifactEdits> {
        Some(draft_edits())
    }

    async fn execute(&self, ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        let brief = Brief {
            story_id: str_field(&input, "story_id").map(str::to_string),
            scene: str_field(&input, "scene").map(str::to_string),
            prompt: str_field(&input, "prompt")
                .ok_or_else(|| WorkflowError::Fatal("input.prompt is missing".into()))?
                .to_string(),
        };
        let environment = str_field(&input, "environment").unwrap_or(DEFAULT_ENVIRONMENT);
        let deployment = deployments::active(&ctx.db, NAME, environment)
            .await
            .map_err(|e| WorkflowError::Retryable(format!("reading the deployed config: {e:?}")))?;
        let deployed = match &deployment {
            Some(d) => DraftConfig::parse(&d.config).map_err(|(f, m)| {
                WorkflowError::Fatal(format!(
                    "deployment {} has an invalid config: {f}: {m}",
                    d.id
                ))
            })?,
            None => DraftConfig::default(),
        };
        let patch = DraftConfig::parse(input.get("config").unwrap_or(&json!({})))
            .map_err(|(f, m)| WorkflowError::Fatal(format!("input.config.{f}: {m}")))?;
        let shortcuts = DraftConfig {
            candidates: input
                .get("candidates")
                .and_then(Value::as_u64)
                .map(|n| n as u32),
            max_tokens: input
                .get("max_tokens")
                .and_then(Value::as_u64)
                .map(|n| n as u32),
            ..Default::default()
        };
        let config = deployed.patched(&patch).patched(&shortcuts);

        let draft = write_draft(ctx, &brief, &config).await?;
        let deployment_id = deployment.as_ref().map(|d| d.id);
        let content = json!({
            "text": draft.text,
            "brief": brief,
            "score": draft.scorecard.total,
            "rubric": draft.scorecard.dimensions,
            "judge_model": draft.scorecard.judge_model,
            "model": draft.model,
            "candidates": draft.candidates,
            "method": draft.method,
            "config": config.to_json(),
            "deployment_id": deployment_id,
            "round": 0,
            "final": false,
        });
        Ok(Outcome {
            output: json!({
                "score": draft.scorecard.total,
                "candidates": draft.candidates.len(),
                "method": draft.method,
                "words": word_count(&draft.text),
                "model": draft.model,
                "deployment_id": deployment_id,
                "config": config.to_json(),
            }),
            artifact: Some(NewArtifact {
                kind: ARTIFACT_KIND.into(),
                content,
                parent_id: None,
            }),
            approval: Some(review_request(draft.scorecard.total)),
        })
    }
}

/// One candidate a draft was chosen or merged from.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateInfo {
    pub words: usize,
    /// Verbalized probability (normalised), under verbalized sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Rubric score, when candidates were judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub chosen: bool,
}

/// A scored draft and how it was made.
#[derive(Debug, Clone)]
pub struct Drafted {
    pub text: String,
    pub model: String,
    pub scorecard: Scorecard,
    /// `merge` or `verbalized_sampling`.
    pub method: &'static str,
    pub candidates: Vec<CandidateInfo>,
    /// Malformed items in a verbalized-sampling answer, reported not hidden.
    pub problems: Vec<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Writes and scores one draft for `brief` with `config`. Shared with
/// `run_experiment`, whose runs are exactly this.
pub async fn write_draft(
    ctx: &RunContext,
    brief: &Brief,
    config: &DraftConfig,
) -> Result<Drafted, WorkflowError> {
    if config.verbalized_sampling == Some(true) {
        verbalized(ctx, brief, config).await
    } else {
        merged(ctx, brief, config).await
    }
}

fn request(config: &DraftConfig, system: &str, user: String, temperature: f32) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        model: config.model.clone(),
        temperature: Some(config.temperature.map_or(temperature, |t| t as f32)),
        top_p: config.top_p.map(|p| p as f32),
        max_tokens: config.max_tokens,
        ..Default::default()
    }
}

async fn merged(
    ctx: &RunContext,
    brief: &Brief,
    config: &DraftConfig,
) -> Result<Drafted, WorkflowError> {
    let n = config
        .candidates
        .unwrap_or(ctx.config.workflows.draft_candidates)
        .max(1);
    let brief_text = brief.describe();
    let system = config.system_prompt_text();
    let answers = try_join_all((1..=n).map(|i| {
        ctx.chat(
            "draft",
            request(
                config,
                system,
                format!("{brief_text}\n\n(Candidate {i} of {n}.)"),
                0.9,
            ),
        )
    }))
    .await?;
    let mut prompt_tokens: u64 = answers.iter().map(|a| u64::from(a.prompt_tokens)).sum();
    let mut completion_tokens: u64 = answers.iter().map(|a| u64::from(a.completion_tokens)).sum();
    let (text, model) = if answers.len() == 1 {
        (
            answers[0].content.trim().to_string(),
            answers[0].model.clone(),
        )
    } else {
        let listed: String = answers
            .iter()
            .enumerate()
            .map(|(i, c)| format!("--- Candidate {} ---\n{}\n\n", i + 1, c.content.trim()))
            .collect();
        let merged = ctx
            .chat(
                "merge",
                request(
                    config,
                    "You are an editor. Merge the candidate drafts into one scene, keeping the \
                     strongest lines and images of each. Answer with the merged scene only.",
                    format!("{brief_text}\n\n{listed}"),
                    0.4,
                ),
            )
            .await?;
        prompt_tokens += u64::from(merged.prompt_tokens);
        completion_tokens += u64::from(merged.completion_tokens);
        (merged.content.trim().to_string(), merged.model)
    };
    if text.is_empty() {
        return Err(WorkflowError::Retryable(
            "the model returned an empty draft".into(),
        ));
    }
    let scorecard = rubric::judge(ctx, DRAFT_RUBRIC, &brief_text, &text).await?;
    Ok(Drafted {
        candidates: answers
            .iter()
            .map(|a| CandidateInfo {
                words: word_count(&a.content),
                probability: None,
                score: None,
                chosen: answers.len() == 1,
            })
            .collect(),
        text,
        model,
        scorecard,
        method: "merge",
        problems: Vec::new(),
        prompt_tokens,
        completion_tokens,
    })
}

async fn verbalized(
    ctx: &RunContext,
    brief: &Brief,
    config: &DraftConfig,
) -> Result<Drafted, WorkflowError> {
    let k = config.vs_k.unwrap_or(5).clamp(2, 10) as usize;
    let brief_text = brief.describe();
    let mut req = request(
        config,
        config.system_prompt_text(),
        format!("{brief_text}\n\n{}", sampling::prompt_suffix(k)),
        0.9,
    );
    req.response_schema = Some(sampling::response_schema(k));
    req.schema_name = Some("verbalized_candidates".into());
    let answer = ctx.chat("draft", req).await?;
    let parsed = sampling::parse(&answer.content, k);
    if parsed.candidates.is_empty() {
        return Err(WorkflowError::Retryable(format!(
            "the verbalized-sampling answer had no usable candidate: {}",
            parsed.problems.join("; ")
        )));
    }
    let prompt_tokens = u64::from(answer.prompt_tokens);
    let completion_tokens = u64::from(answer.completion_tokens);
    let selection = config.selection.unwrap_or(Selection::Sample);
    let (chosen, scorecard, scores) = match selection {
        Selection::Sample => {
            let u = unit_from(ctx.workflow.id, ctx.workflow.attempt);
            let i = sampling::sample(&parsed.candidates, u);
            let card =
                rubric::judge(ctx, DRAFT_RUBRIC, &brief_text, &parsed.candidates[i].text).await?;
            (i, card, vec![None; parsed.candidates.len()])
        }
        Selection::Judge => {
            let cards = try_join_all(
                parsed
                    .candidates
                    .iter()
                    .map(|c| rubric::judge(ctx, DRAFT_RUBRIC, &brief_text, &c.text)),
            )
            .await?;
            let best = cards
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total.total_cmp(&b.1.total).then(b.0.cmp(&a.0)))
                .map_or(0, |(i, _)| i);
            let scores = cards.iter().map(|c| Some(c.total)).collect();
            (best, cards[best].clone(), scores)
        }
    };
    Ok(Drafted {
        text: parsed.candidates[chosen].text.trim().to_string(),
        model: answer.model,
        scorecard,
        method: "verbalized_sampling",
        candidates: parsed
            .candidates
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(i, (c, score))| CandidateInfo {
                words: word_count(&c.text),
                probability: Some(c.probability),
                score,
                chosen: i == chosen,
            })
            .collect(),
        problems: parsed.problems,
        prompt_tokens,
        completion_tokens,
    })
}

/// A number in [0, 1) fixed by the run, so a repeated attempt samples the
/// same candidate from the same answer.
fn unit_from(id: Uuid, attempt: i32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes().iter().chain(attempt.to_le_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// What a reviewer may edit in a draft before approving it: its text.
pub fn draft_edits() -> ArtifactEdits {
    ArtifactEdits {
        fields: Some(vec!["text".into()]),
        schema: json!({
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": { "type": "string", "minLength": 1, "maxLength": 100_000 }
            }
        }),
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
        artifact_bindings: Vec::new(),
    }
}
