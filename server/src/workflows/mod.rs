//! The built-in workflow types, one file each, plus the rubric judge they
//! share. A new type gets a line in [`builtin`].

pub mod apply_feedback;
pub mod deploy_config;
pub mod draft_config;
pub mod generate_draft;
pub mod rubric;
pub mod run_experiment;

use serde_json::Value;

use crate::engine::Registry;

/// The built-in types.
pub fn builtin() -> Registry {
    let mut r = Registry::default();
    r.register(generate_draft::GenerateDraft);
    r.register(apply_feedback::ApplyFeedback);
    r.register(deploy_config::DeployConfig);
    r.register(run_experiment::RunExperiment);
    r
}

/// The brief a draft answers: what to write, for which story and scene.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Brief {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
    pub prompt: String,
}

impl Brief {
    /// The brief as the text models read.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(story) = &self.story_id {
            s.push_str(&format!("Story: {story}\n"));
        }
        if let Some(scene) = &self.scene {
            s.push_str(&format!("Scene: {scene}\n"));
        }
        s.push_str(&format!("Brief: {}", self.prompt));
        s
    }
}

/// Reads an optional string field of a JSON object.
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}
