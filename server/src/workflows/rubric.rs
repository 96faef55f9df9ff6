//! The rubric judge: an LLM scores a text on weighted dimensions and
//! answers in structured JSON; the total is the weighted mean on 0–100.
//!
//! A malformed answer (not JSON, a dimension missing, a score out of range)
//! is never scored: the judge is asked again with the problem spelled out,
//! and after the configured retries the run fails with that problem.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{RunContext, WorkflowError};
use crate::llm::{ChatRequest, Message};

/// One thing the judge looks at.
#[derive(Debug, Clone, Copy)]
pub struct Dimension {
    pub name: &'static str,
    pub weight: f64,
    pub description: &'static str,
}

/// The default rubric for scene drafts. Weights sum to 1.
pub const DRAFT_RUBRIC: &[Dimension] = &[
    Dimension {
        name: "adherence",
        weight: 0.30,
        description: "does what the brief asks: the scene, its events and constraints",
    },
    Dimension {
        name: "prose",
        weight: 0.25,
        description: "clear, vivid, varied sentences; no clichés or filler",
    },
    Dimension {
        name: "character",
        weight: 0.20,
        description: "people act and speak in ways that are specific and believable",
    },
    Dimension {
        name: "structure",
        weight: 0.15,
        description: "the scene has a shape: an opening, a turn, an ending that lands",
    },
    Dimension {
        name: "originality",
        weight: 0.10,
        description: "surprising choices, fresh images, avoids the obvious",
    },
];

/// The judge's verdict on one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    pub dimension: String,
    pub weight: f64,
    /// 0–10.
    pub score: f64,
    pub reason: String,
}

/// The whole verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Weighted mean, 0–100.
    pub total: f64,
    pub dimensions: Vec<DimensionScore>,
    pub judge_model: String,
}

/// The JSON Schema the judge's answer must satisfy: one object per
/// dimension (an object keyed by name, rather than an array, so a missing or
/// repeated dimension cannot pass).
pub fn answer_schema(rubric: &[Dimension]) -> Value {
    let mut props = serde_json::Map::new();
    for d in rubric {
        props.insert(
            d.name.to_string(),
            json!({
                "type": "object",
                "required": ["score", "reason"],
                "additionalProperties": false,
                "properties": {
                    "score": { "type": "integer", "minimum": 0, "maximum": 10 },
                    "reason": { "type": "string", "minLength": 1, "maxLength": 600 }
                }
            }),
        );
    }
    json!({
        "type": "object",
        "required": rubric.iter().map(|d| d.name).collect::<Vec<_>>(),
        "additionalProperties": false,
        "properties": props,
    })
}

/// Parses and checks a judge's answer. Tolerates prose or a code fence
/// around the JSON object; nothing else.
pub fn parse(rubric: &[Dimension], answer: &str) -> Result<Vec<DimensionScore>, String> {
    let (start, end) = match (answer.find('{'), answer.rfind('}')) {
        (Some(s), Some(e)) if e > s => (s, e),
        _ => return Err("the answer contains no JSON object".to_string()),
    };
    let value: Value = serde_json::from_str(&answer[start..=end])
        .map_err(|e| format!("the answer is not valid JSON ({e})"))?;
    let violations = crate::jsonschema::validate(&answer_schema(rubric), &value);
    if let Some(v) = violations.first() {
        let at = if v.path.is_empty() {
            "the answer"
        } else {
            v.path.as_str()
        };
        return Err(format!("{at}: {}", v.message));
    }
    rubric
        .iter()
        .map(|d| {
            let item = &value[d.name];
            let score = item["score"]
                .as_f64()
                .ok_or_else(|| format!("{}.score is not a number", d.name))?;
            Ok(DimensionScore {
                dimension: d.name.to_string(),
                weight: d.weight,
                score,
                reason: item["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            })
        })
        .collect()
}

/// Weighted mean of 0–10 scores, on 0–100, rounded to one decimal.
pub fn total(scores: &[DimensionScore]) -> f64 {
    let weight: f64 = scores.iter().map(|s| s.weight).sum();
    if weight <= 0.0 {
        return 0.0;
    }
    let mean = scores.iter().map(|s| s.weight * s.score).sum::<f64>() / weight;
    (mean * 100.0).round() / 10.0
}

/// Asks the judge to score `text` against `brief`.
pub async fn judge(
    ctx: &RunContext,
    rubric: &[Dimension],
    brief: &str,
    text: &str,
) -> Result<Scorecard, WorkflowError> {
    let criteria: String = rubric
        .iter()
        .map(|d| format!("- {} (weight {:.2}): {}\n", d.name, d.weight, d.description))
        .collect();
    let mut messages = vec![
        Message::system(format!(
            "You are a strict editor scoring a draft. Score each dimension from 0 (absent) \
             to 10 (exemplary) and give a one-sentence reason.\n\nDimensions:\n{criteria}\n\
             Answer with a JSON object only, keyed by dimension name, each value \
             {{\"score\": integer 0-10, \"reason\": string}}."
        )),
        Message::user(format!("{brief}\n\n--- Draft ---\n{text}")),
    ];
    let schema = answer_schema(rubric);
    let tries = 1 + ctx.config.workflows.judge_retries;
    let mut last_problem = String::new();
    for attempt in 1..=tries {
        let response = ctx
            .chat(
                "judge",
                ChatRequest {
                    messages: messages.clone(),
                    temperature: Some(0.0),
                    response_schema: Some(schema.clone()),
                    schema_name: Some("rubric_scores".to_string()),
                    ..Default::default()
                },
            )
            .await?;
        match parse(rubric, &response.content) {
            Ok(dimensions) => {
                return Ok(Scorecard {
                    total: total(&dimensions),
                    dimensions,
                    judge_model: response.model,
                });
            }
            Err(problem) => {
                tracing::warn!(attempt, %problem, "the judge answered malformed output");
                messages.push(Message {
                    role: crate::llm::Role::Assistant,
                    content: response.content,
                });
                messages.push(Message::user(format!(
                    "That answer is invalid: {problem}. Answer again with the JSON object only."
                )));
                last_problem = problem;
            }
        }
    }
    Err(WorkflowError::Retryable(format!(
        "the judge's answer was malformed {tries} times in a row; last problem: {last_problem}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(scores: [i64; 5]) -> String {
        let mut obj = serde_json::Map::new();
        for (d, s) in DRAFT_RUBRIC.iter().zip(scores) {
            obj.insert(
                d.name.into(),
                json!({"score": s, "reason": format!("{} is fine", d.name)}),
            );
        }
        Value::Object(obj).to_string()
    }

    #[test]
    fn weights_sum_to_one() {
        let sum: f64 = DRAFT_RUBRIC.iter().map(|d| d.weight).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn scores_a_well_formed_answer_as_a_weighted_mean() {
        let dims = parse(DRAFT_RUBRIC, &answer([10, 8, 6, 4, 2])).unwrap_or_default();
        assert_eq!(dims.len(), 5);
        // 0.3*10 + 0.25*8 + 0.2*6 + 0.15*4 + 0.1*2 = 7.0 → 70.0
        assert_eq!(total(&dims), 70.0);
        assert_eq!(dims[0].reason, "adherence is fine");
    }

    #[test]
    fn accepts_json_inside_a_code_fence() {
        let fenced = format!("Here you go:\n```json\n{}\n```", answer([5; 5]));
        assert_eq!(parse(DRAFT_RUBRIC, &fenced).map(|d| total(&d)), Ok(50.0));
    }

    #[test]
    fn rejects_malformed_answers_with_a_reason() {
        assert!(parse(DRAFT_RUBRIC, "I liked it, 8/10").is_err_and(|e| e.contains("no JSON")));
        assert!(parse(DRAFT_RUBRIC, "{not json}").is_err_and(|e| e.contains("not valid JSON")));
        let out_of_range = answer([11, 5, 5, 5, 5]);
        assert!(parse(DRAFT_RUBRIC, &out_of_range).is_err_and(|e| e.contains("adherence")));
        let missing = json!({"adherence": {"score": 5, "reason": "ok"}}).to_string();
        assert!(parse(DRAFT_RUBRIC, &missing).is_err_and(|e| e.contains("required")));
    }
}
