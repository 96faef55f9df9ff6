//! An offline, deterministic stand-in for a language model.
//!
//! [`OfflineModel`] needs no network and no weights. It hashes the whole
//! request (messages, model, sampling parameters and response schema) with
//! FNV-1a 64 — implemented here so the result does not depend on the Rust
//! version — and derives its answer from that hash, so the same request always
//! gets the same answer and different prompts get different answers.
//!
//! - With a response schema, the answer is JSON text made by
//!   [`crate::jsonschema::example`], which satisfies the schema.
//! - Otherwise the answer is a few sentences of plausible prose built from a
//!   fixed bank of words, mentioning some words of the last user message. It
//!   always starts with `[offline model]` so nobody mistakes it for the output
//!   of a real model. Its length stays within roughly `max_tokens` tokens
//!   (about 120 words when unset).
//!
//! Token counts are estimates (about 4 tokens per 3 words) and the latency is 0.

use super::{ChatModel, ChatRequest, ChatResponse, LlmError, Role};

/// The marker every free-text answer of the offline model starts with.
pub const MARKER: &str = "[offline model]";

const PROVIDER: &str = "offline";
const MODEL: &str = "offline";
/// Answer length in words when the request sets no `max_tokens`.
const DEFAULT_WORDS: usize = 120;

/// A deterministic model that needs no network; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineModel;

impl OfflineModel {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait::async_trait]
impl ChatModel for OfflineModel {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn default_model(&self) -> &str {
        MODEL
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Ok(answer(request))
    }
}

/// The offline answer to `request` (what [`OfflineModel::complete`] returns).
pub fn answer(request: &ChatRequest) -> ChatResponse {
    let model = request.model.clone().unwrap_or_else(|| MODEL.to_string());
    let seed = request_hash(request, &model);
    let content = match &request.response_schema {
        Some(schema) => crate::jsonschema::example(schema, seed).to_string(),
        None => prose(request, seed),
    };
    let prompt_tokens = request
        .messages
        .iter()
        .map(|m| approx_tokens(&m.content))
        .fold(0u32, u32::saturating_add);
    ChatResponse {
        completion_tokens: approx_tokens(&content),
        content,
        provider: PROVIDER.to_string(),
        model,
        prompt_tokens,
        latency_ms: 0,
    }
}

/// Rough token estimate: about 4 tokens per 3 words, and at least one token
/// per 4 characters (for text without spaces, such as compact JSON).
fn approx_tokens(text: &str) -> u32 {
    let words = text.split_whitespace().count();
    let by_words = words.saturating_mul(4).div_ceil(3);
    let by_chars = text.chars().count().div_ceil(4);
    u32::try_from(by_words.max(by_chars)).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// Hashing

/// FNV-1a, 64-bit.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// A length-prefixed field, so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    fn opt_f32(&mut self, value: Option<f32>) {
        match value {
            Some(v) => {
                self.bytes(&[1]);
                self.bytes(&v.to_bits().to_le_bytes());
            }
            None => self.bytes(&[0]),
        }
    }
}

/// SplitMix64 step, to spread consecutive draws.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn request_hash(request: &ChatRequest, model: &str) -> u64 {
    let mut h = Fnv::new();
    h.field(model.as_bytes());
    h.bytes(&(request.messages.len() as u64).to_le_bytes());
    for m in &request.messages {
        let role: &[u8] = match m.role {
            Role::System => b"s",
            Role::User => b"u",
            Role::Assistant => b"a",
        };
        h.bytes(role);
        h.field(m.content.as_bytes());
    }
    h.opt_f32(request.temperature);
    h.opt_f32(request.top_p);
    match request.max_tokens {
        Some(t) => {
            h.bytes(&[1]);
            h.bytes(&t.to_le_bytes());
        }
        None => h.bytes(&[0]),
    }
    match &request.response_schema {
        Some(schema) => {
            h.bytes(&[1]);
            let mut canonical = String::new();
            crate::canonical_json::write(schema, &mut canonical);
            h.field(canonical.as_bytes());
        }
        None => h.bytes(&[0]),
    }
    match &request.schema_name {
        Some(name) => {
            h.bytes(&[1]);
            h.field(name.as_bytes());
        }
        None => h.bytes(&[0]),
    }
    h.0
}

// ---------------------------------------------------------------------------
// Prose

const ADJECTIVES: &[&str] = &[
    "clear",
    "careful",
    "balanced",
    "practical",
    "concise",
    "thorough",
    "measured",
    "useful",
    "direct",
    "grounded",
    "steady",
    "focused",
];

const NOUNS: &[&str] = &[
    "summary",
    "outline",
    "approach",
    "argument",
    "draft",
    "plan",
    "overview",
    "structure",
    "proposal",
    "framing",
    "narrative",
    "checklist",
];

const VERBS: &[&str] = &[
    "highlights",
    "clarifies",
    "examines",
    "frames",
    "connects",
    "weighs",
    "organises",
    "addresses",
    "revisits",
    "sharpens",
];

const FALLBACK_TOPICS: &[&str] = &["the request", "the topic", "the brief", "the question"];

/// Sentence templates: `{k}` a topic word from the prompt, `{a}` an
/// adjective, `{n}` a noun, `{v}` a verb.
const TEMPLATES: &[&str] = &[
    "This {a} {n} {v} {k} without losing sight of the wider goal.",
    "A {a} reading of {k} suggests starting from the essentials.",
    "The {n} {v} how {k} relates to {k2}.",
    "It keeps the focus on {k} and offers a {a} {n} for the next step.",
    "Readers looking for {k} will find a {a} {n} here.",
    "Each point {v} {k} in plain terms.",
    "The result is a {a} {n} that a reviewer can check quickly.",
    "Where {k} and {k2} pull apart, the {n} says so openly.",
    "A short {n} of {k} comes first, then the details.",
    "Nothing here is final; a {a} review of {k} is still advised.",
];

const STOPWORDS: &[&str] = &[
    "about", "above", "after", "again", "also", "because", "been", "before", "being", "below",
    "between", "both", "could", "does", "doing", "down", "each", "from", "have", "having", "here",
    "into", "just", "more", "most", "much", "only", "other", "over", "please", "same", "should",
    "some", "such", "than", "that", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "under", "until", "very", "what", "when", "where", "which", "while",
    "with", "would", "write", "your", "make", "give", "using",
];

/// Up to four distinct topic words from the last user message.
fn topics(request: &ChatRequest) -> Vec<String> {
    let Some(last) = request.messages.iter().rev().find(|m| m.role == Role::User) else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    for raw in last
        .content
        .split(|c: char| !c.is_alphanumeric() && c != '-')
    {
        let word = raw.trim_matches('-').to_lowercase();
        if word.chars().count() < 4 || STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        if !found.contains(&word) {
            found.push(word);
        }
        if found.len() == 4 {
            break;
        }
    }
    found
}

struct Draws(u64);

impl Draws {
    fn next(&mut self, n: usize) -> usize {
        self.0 = mix(self.0);
        if n == 0 {
            0
        } else {
            (self.0 % n as u64) as usize
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.next(items.len())).copied().unwrap_or("")
    }
}

fn prose(request: &ChatRequest, seed: u64) -> String {
    let budget = request
        .max_tokens
        .map_or(DEFAULT_WORDS, |t| (t as usize).saturating_mul(3) / 4)
        .clamp(1, 4_000);
    let mut draws = Draws(seed);
    // Aim for 60–100 % of the budget.
    let target = (budget * (60 + draws.next(41)) / 100).max(1);

    let topics: Vec<String> = topics(request)
        .into_iter()
        .map(|t| format!("\"{t}\""))
        .collect();
    // A topic other than `avoid` when there is one.
    let topic = |draws: &mut Draws, avoid: &str| -> String {
        let pool: Vec<&str> = if topics.is_empty() {
            FALLBACK_TOPICS.to_vec()
        } else {
            topics.iter().map(String::as_str).collect()
        };
        let i = draws.next(pool.len());
        let mut chosen = pool.get(i).copied().unwrap_or("the topic");
        if chosen == avoid && pool.len() > 1 {
            chosen = pool.get((i + 1) % pool.len()).copied().unwrap_or(chosen);
        }
        chosen.to_string()
    };

    let mut words: Vec<String> = MARKER.split(' ').map(str::to_string).collect();
    let marker_words = words.len();
    // The first sentence always names the first topic, so prompts show through.
    let mut first = true;
    while words.len() - marker_words < target {
        let template = if first && !topics.is_empty() {
            TEMPLATES[draws.next(2)]
        } else {
            draws.pick(TEMPLATES)
        };
        let k = match topics.first() {
            Some(t) if first => t.clone(),
            _ => topic(&mut draws, ""),
        };
        let k2 = topic(&mut draws, &k);
        let sentence = template
            .replace("{k2}", &k2)
            .replace("{k}", &k)
            .replace("{a}", draws.pick(ADJECTIVES))
            .replace("{n}", draws.pick(NOUNS))
            .replace("{v}", draws.pick(VERBS));
        let sentence_words: Vec<String> = sentence.split(' ').map(str::to_string).collect();
        let room = budget.saturating_sub(words.len() - marker_words);
        if sentence_words.len() > room {
            if first {
                // Too small a budget for a whole sentence: cut it short.
                words.extend(sentence_words.into_iter().take(room.max(1)));
            }
            break;
        }
        words.extend(sentence_words);
        first = false;
    }
    words.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::jsonschema;
    use crate::llm::Message;
    use serde_json::json;

    fn ask(prompt: &str) -> ChatRequest {
        ChatRequest {
            messages: vec![
                Message::system("You are a careful writer."),
                Message::user(prompt),
            ],
            ..ChatRequest::default()
        }
    }

    #[tokio::test]
    async fn identity_and_marker() {
        let m = OfflineModel::new();
        assert_eq!(m.provider(), "offline");
        assert_eq!(m.default_model(), "offline");
        let r = m
            .complete(&ask("Summarise the quarterly budget review"))
            .await
            .unwrap();
        assert!(r.content.starts_with("[offline model] "), "{}", r.content);
        assert_eq!(r.provider, "offline");
        assert_eq!(r.model, "offline");
        assert_eq!(r.latency_ms, 0);
        assert!(r.prompt_tokens > 0 && r.completion_tokens > 0);
        let named = ChatRequest {
            model: Some("pretend-7b".into()),
            ..ask("x")
        };
        assert_eq!(m.complete(&named).await.unwrap().model, "pretend-7b");
    }

    #[test]
    fn deterministic() {
        let req = ChatRequest {
            temperature: Some(0.7),
            max_tokens: Some(200),
            ..ask("Write a launch announcement for the new billing dashboard")
        };
        let a = answer(&req);
        for _ in 0..3 {
            assert_eq!(answer(&req.clone()), a);
        }
        // `None` model means the default model.
        let explicit = ChatRequest {
            model: Some("offline".into()),
            ..req.clone()
        };
        assert_eq!(answer(&explicit).content, a.content);
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        let mut h = Fnv::new();
        h.bytes(b"");
        assert_eq!(h.0, 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv::new();
        h.bytes(b"a");
        assert_eq!(h.0, 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv::new();
        h.bytes(b"foobar");
        assert_eq!(h.0, 0x8594_4171_f739_67e8);
    }

    #[test]
    fn different_prompts_differ_and_mention_the_prompt() {
        let a = answer(&ask(
            "Explain the migration plan for the warehouse database",
        ));
        let b = answer(&ask("Draft a friendly reminder about expense reports"));
        assert_ne!(a.content, b.content);
        assert!(a.content.contains("\"explain\""), "{}", a.content);
        assert!(b.content.contains("\"draft\""), "{}", b.content);
        // Parameters matter too.
        let warm = ChatRequest {
            temperature: Some(1.0),
            ..ask("Explain the migration plan for the warehouse database")
        };
        assert_ne!(answer(&warm).content, a.content);
        // No user message at all still works.
        let none = answer(&ChatRequest {
            messages: vec![Message::system("s")],
            ..Default::default()
        });
        assert!(none.content.starts_with(MARKER));
    }

    #[test]
    fn length_follows_max_tokens() {
        let words = |r: &ChatResponse| r.content.split_whitespace().count();
        let default = answer(&ask("Describe the onboarding checklist"));
        let n = words(&default);
        assert!((60..=125).contains(&n), "{n} words: {}", default.content);
        let short = answer(&ChatRequest {
            max_tokens: Some(40),
            ..ask("Describe the onboarding checklist")
        });
        assert!(words(&short) <= 32, "{}", short.content);
        let tiny = answer(&ChatRequest {
            max_tokens: Some(1),
            ..ask("Describe the onboarding checklist")
        });
        assert!(tiny.content.starts_with(MARKER), "{}", tiny.content);
        assert!(words(&tiny) <= 3, "{}", tiny.content);
        let long = answer(&ChatRequest {
            max_tokens: Some(2000),
            ..ask("Describe the onboarding checklist")
        });
        assert!(
            words(&long) > 500 && words(&long) <= 1502,
            "{}",
            words(&long)
        );
    }

    #[tokio::test]
    async fn schema_answers_validate() {
        let schemas = [
            json!({
                "type": "object",
                "required": ["title", "sections"],
                "additionalProperties": false,
                "properties": {
                    "title": {"type": "string", "minLength": 5, "maxLength": 80},
                    "sections": {"type": "array", "minItems": 2, "maxItems": 5, "items": {
                        "type": "object",
                        "required": ["heading", "bullets"],
                        "properties": {
                            "heading": {"type": "string", "minLength": 3},
                            "bullets": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 10}}
                        }
                    }}
                }
            }),
            json!({"type": "object", "required": ["score"], "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}}}),
            json!({"type": "object", "required": ["verdict", "confidence"], "properties": {
                "verdict": {"enum": ["approve", "reject", "revise"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1}
            }}),
            json!({"type": "string", "minLength": 50}),
            json!({"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0, "maximum": 3}, "minItems": 4}),
        ];
        let model = OfflineModel::new();
        for schema in schemas {
            for prompt in ["first prompt", "second prompt", "third"] {
                let req = ChatRequest {
                    response_schema: Some(schema.clone()),
                    schema_name: Some("answer".into()),
                    ..ask(prompt)
                };
                let r = model.complete(&req).await.unwrap();
                let value: serde_json::Value = serde_json::from_str(&r.content).unwrap();
                let violations = jsonschema::validate(&schema, &value);
                assert!(
                    violations.is_empty(),
                    "{schema}: {} -> {violations:?}",
                    r.content
                );
                assert_eq!(model.complete(&req).await.unwrap().content, r.content);
            }
        }
    }
}
