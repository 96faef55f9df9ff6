//! The configuration of `generate_draft`: what an experiment varies and a
//! deployment fixes. A config is a partial object; the effective config is
//! the active deployment's config patched by the run's own `config`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// System-prompt variants an experiment can compare.
pub const SYSTEM_PROMPTS: &[(&str, &str)] = &[
    (
        "novelist",
        "You are a novelist drafting one scene. Write the scene itself: prose, no title, no notes.",
    ),
    (
        "minimalist",
        "You are a spare, precise prose stylist. Write the scene itself in short, concrete sentences: \
         no title, no notes, no adjectives you do not need.",
    ),
    (
        "cinematic",
        "You are a screenwriter turned novelist. Write the scene itself as vivid prose that moves \
         like a camera: no title, no notes.",
    ),
];

/// How a candidate is chosen under verbalized sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Draw one candidate with the model's verbalized probabilities.
    Sample,
    /// Score every candidate with the rubric judge and keep the best.
    Judge,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbalized_sampling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

impl DraftConfig {
    /// JSON Schema of a config (or a patch of one): every field optional,
    /// no others allowed.
    pub fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "model": { "type": "string", "minLength": 1, "maxLength": 128, "description": "Model name at the configured endpoint." },
                "temperature": { "type": "number", "minimum": 0, "maximum": 2 },
                "top_p": { "type": "number", "exclusiveMinimum": 0, "maximum": 1 },
                "max_tokens": { "type": "integer", "minimum": 16, "maximum": 8192 },
                "system_prompt": { "enum": SYSTEM_PROMPTS.iter().map(|(n, _)| *n).collect::<Vec<_>>(), "description": "System-prompt variant." },
                "candidates": { "type": "integer", "minimum": 1, "maximum": 8, "description": "Drafts written and merged (without verbalized sampling)." },
                "verbalized_sampling": { "type": "boolean", "description": "Ask for k candidates with verbalized probabilities in one call." },
                "vs_k": { "type": "integer", "minimum": 2, "maximum": 10, "description": "Candidates under verbalized sampling." },
                "selection": { "enum": ["sample", "judge"], "description": "How a verbalized-sampling candidate is chosen." }
            }
        })
    }

    /// Parses a config, naming the first offending field (relative to the
    /// config object, e.g. `temperature`).
    pub fn parse(value: &Value) -> Result<DraftConfig, (String, String)> {
        if let Some(v) = crate::jsonschema::validate(&Self::schema(), value)
            .into_iter()
            .next()
        {
            return Err((v.path, v.message));
        }
        serde_json::from_value(value.clone()).map_err(|e| (String::new(), e.to_string()))
    }

    /// `self` with every field `patch` sets replaced.
    pub fn patched(&self, patch: &DraftConfig) -> DraftConfig {
        DraftConfig {
            model: patch.model.clone().or_else(|| self.model.clone()),
            temperature: patch.temperature.or(self.temperature),
            top_p: patch.top_p.or(self.top_p),
            max_tokens: patch.max_tokens.or(self.max_tokens),
            system_prompt: patch
                .system_prompt
                .clone()
                .or_else(|| self.system_prompt.clone()),
            candidates: patch.candidates.or(self.candidates),
            verbalized_sampling: patch.verbalized_sampling.or(self.verbalized_sampling),
            vs_k: patch.vs_k.or(self.vs_k),
            selection: patch.selection.or(self.selection),
        }
    }

    pub fn system_prompt_text(&self) -> &'static str {
        let wanted = self.system_prompt.as_deref().unwrap_or("novelist");
        SYSTEM_PROMPTS
            .iter()
            .find(|(n, _)| *n == wanted)
            .map_or(SYSTEM_PROMPTS[0].1, |(_, t)| t)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_out_of_range_values_are_named() {
        let err = DraftConfig::parse(&json!({ "temprature": 0.5 })).err();
        assert_eq!(err.map(|e| e.0), Some("temprature".to_string()));
        let err = DraftConfig::parse(&json!({ "temperature": 3 })).err();
        assert_eq!(err.map(|e| e.0), Some("temperature".to_string()));
        let err = DraftConfig::parse(&json!({ "system_prompt": "poet" })).err();
        assert_eq!(err.map(|e| e.0), Some("system_prompt".to_string()));
    }

    #[test]
    fn a_patch_overrides_only_what_it_sets() {
        let base =
            DraftConfig::parse(&json!({ "model": "a", "temperature": 0.2 })).unwrap_or_default();
        let patch =
            DraftConfig::parse(&json!({ "temperature": 0.9, "vs_k": 4 })).unwrap_or_default();
        let merged = base.patched(&patch);
        assert_eq!(merged.model.as_deref(), Some("a"));
        assert_eq!(merged.temperature, Some(0.9));
        assert_eq!(merged.vs_k, Some(4));
        assert_eq!(
            merged.to_json(),
            json!({ "model": "a", "temperature": 0.9, "vs_k": 4 })
        );
    }
}
