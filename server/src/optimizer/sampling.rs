//! Verbalized sampling: ask a model for several candidates, each with the
//! probability it assigns to it, then draw one.
//!
//! Source: Zhang, Yu, Chong, Sicilia, Tomz, Manning & Shi, "Verbalized
//! Sampling: How to Mitigate Mode Collapse and Unlock LLM Diversity"
//! (2025, arXiv:2510.01171). Aligned models collapse onto their most
//! typical answer; asking them to *verbalize a distribution* over k
//! answers ("generate 5 jokes about coffee and their probabilities")
//! recovers much of the diversity of the base model. Sampling from the
//! stated distribution, rather than always taking the first or most likely
//! candidate, is what turns that diversity into varied outputs.
//!
//! This module owns the instruction appended to a prompt
//! ([`prompt_suffix`]), the JSON Schema of the answer
//! ([`response_schema`]), a forgiving reader of what models actually return
//! ([`parse`]) and the draw itself ([`sample`], given a caller-supplied
//! uniform number so it is deterministic under test).
//!
//! # How [`parse`] repairs answers
//!
//! Models do not always follow the format, so the reader accepts, and
//! reports in [`Parsed::problems`]:
//!
//! * JSON wrapped in code fences or prose (the first JSON value holding a
//!   `candidates` — or the paper's `responses` — array, or a bare array);
//!   when no complete array parses (e.g. a truncated answer), every complete
//!   `{"text": …}` object found is used;
//! * `text` also read from `response` or `content`, `probability` from
//!   `prob`; a bare string item is a candidate without probability;
//! * probabilities written as strings (`"0.3"`), percentages (`"30%"`), or
//!   numbers above 1 (read as percentages, up to 100);
//! * missing, negative, non-numeric or out-of-range probabilities: the
//!   candidate keeps `raw_probability: None` and shares equally in the mass
//!   the valid probabilities leave unassigned, 1 − Σ stated (0 when they
//!   already reach 1), so a malformed item neither dominates nor vanishes
//!   when the others sum below 1;
//! * repeated texts (compared after collapsing whitespace): merged, their
//!   stated probabilities added;
//! * more than k distinct candidates: the first k are kept;
//! * no JSON at all: lines like `1. text (probability: 0.4)`,
//!   `- text (40%)` or `text — probability: 0.4`.
//!
//! Finally the weights are normalised to sum to 1; if they sum to 0 every
//! candidate gets 1/n. Candidate numbers in problems are 1-based positions
//! in the model's answer.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One candidate answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The candidate's text, trimmed.
    pub text: String,
    /// Normalised probability: the candidates' probabilities sum to 1.
    pub probability: f64,
    /// The probability the model stated, as a fraction (a percentage is
    /// divided by 100; merged duplicates are summed); `None` when it was
    /// missing or unusable.
    pub raw_probability: Option<f64>,
}

/// What [`parse`] read from an answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Parsed {
    /// The usable candidates, in the order the model gave them.
    pub candidates: Vec<Candidate>,
    /// Everything that had to be repaired or dropped, in plain words.
    pub problems: Vec<String>,
}

/// The instruction to append to a prompt asking for `k` candidates (at
/// least 1) with verbalized probabilities, answered as
/// `{"candidates":[{"text": "...", "probability": 0.xx}, ...]}`.
pub fn prompt_suffix(k: usize) -> String {
    let k = k.max(1);
    let what = if k == 1 {
        "1 candidate answer".to_string()
    } else {
        format!("{k} different candidate answers")
    };
    format!(
        "Generate {what} to the request above. Sample them from the whole range of answers you could give, \
including less typical ones, instead of only the most likely answer. For each candidate, estimate its \
probability: how likely you would be to give that answer, as a number between 0 and 1.\n\
\n\
Reply with only a JSON object of this form, with no other text:\n\
{{\"candidates\":[{{\"text\":\"...\",\"probability\":0.xx}}, ...]}}\n\
with at most {k} candidates."
    )
}

/// JSON Schema of the answer [`prompt_suffix`] asks for: an object whose
/// `candidates` array holds 1 to `k` (at least 1) objects with a non-empty
/// `text` and a `probability` between 0 and 1.
pub fn response_schema(k: usize) -> Value {
    json!({
        "type": "object",
        "properties": {
            "candidates": {
                "type": "array",
                "minItems": 1,
                "maxItems": k.max(1),
                "items": {
                    "type": "object",
                    "properties": {
                        "text": { "type": "string", "minLength": 1 },
                        "probability": { "type": "number", "minimum": 0, "maximum": 1 }
                    },
                    "required": ["text", "probability"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["candidates"],
        "additionalProperties": false
    })
}

/// Read up to `k` (at least 1) candidates from a model's answer, repairing
/// what can be repaired (see the module docs). Never fails: with nothing
/// usable, `candidates` is empty and `problems` says why.
pub fn parse(answer: &str, k: usize) -> Parsed {
    let k = k.max(1);
    let mut problems = Vec::new();
    let items = if let Some(values) = json_candidate_list(answer) {
        if values.is_empty() {
            problems.push("the answer's candidate list is empty".to_string());
        }
        items_from_json(&values, &mut problems)
    } else if let Some(values) = json_candidate_objects(answer) {
        problems.push(format!(
            "the answer has no complete JSON list of candidates (it may be cut off); read {} separate candidate object(s)",
            values.len()
        ));
        items_from_json(&values, &mut problems)
    } else {
        let items = items_from_lines(answer, &mut problems);
        if !items.is_empty() {
            problems.push(format!(
                "the answer is not JSON; read {} candidate(s) from lines like \"1. text (probability: 0.4)\"",
                items.len()
            ));
        }
        items
    };
    if items.is_empty() {
        problems.push(
            "no usable candidate: the answer has neither a JSON object with a \"candidates\" array nor lines like \"1. text (probability: 0.4)\""
                .to_string(),
        );
        return Parsed {
            candidates: Vec::new(),
            problems,
        };
    }
    let candidates = finish(items, k, &mut problems);
    Parsed {
        candidates,
        problems,
    }
}

/// Index of the candidate chosen by `u`, a uniform number in [0, 1)
/// supplied by the caller: the first candidate whose cumulative probability
/// exceeds `u` times the total. Probabilities need not be normalised;
/// negative or non-finite ones count as 0, and if none is positive the
/// choice is uniform. `u` outside [0, 1] is clamped (NaN counts as 0).
/// Returns 0 for an empty slice, which callers should check for first
/// ([`parse`] reports that case as a problem).
pub fn sample(candidates: &[Candidate], u: f64) -> usize {
    let n = candidates.len();
    if n == 0 {
        return 0;
    }
    let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
    let weight = |c: &Candidate| {
        if c.probability.is_finite() && c.probability > 0.0 {
            c.probability
        } else {
            0.0
        }
    };
    let total: f64 = candidates.iter().map(weight).sum();
    if !(total > 0.0 && total.is_finite()) {
        return ((u * n as f64) as usize).min(n - 1);
    }
    let target = u * total;
    let mut cumulative = 0.0;
    let mut last_positive = 0;
    for (i, c) in candidates.iter().enumerate() {
        let w = weight(c);
        if w == 0.0 {
            continue;
        }
        last_positive = i;
        cumulative += w;
        if target < cumulative {
            return i;
        }
    }
    // u = 1 (or rounding in the running sum): the last candidate that can
    // be drawn at all.
    last_positive
}

// ---------------------------------------------------------------------------
// Reading the answer

/// A probability as read: the fraction and whether a bare number above 1
/// was taken as a percentage, or why it is unusable.
type Reading = Result<(f64, bool), String>;

/// A candidate as read, before merging and normalising.
struct Item {
    text: String,
    raw: Option<f64>,
}

/// Most start positions tried when looking for JSON in prose; answers are
/// short, this only bounds pathological input.
const MAX_JSON_STARTS: usize = 2_000;

/// The JSON value at byte `start` of `text`, and the bytes it spans.
fn json_at(text: &str, start: usize) -> Option<(Value, usize)> {
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Some((value, stream.byte_offset())),
        _ => None,
    }
}

fn json_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.char_indices()
        .filter(|&(_, c)| c == '{' || c == '[')
        .map(|(i, _)| i)
        .take(MAX_JSON_STARTS)
}

/// The first JSON value in `answer` that is a list of candidates: an
/// object's `candidates` or `responses` array, or a bare array of objects
/// or strings.
fn json_candidate_list(answer: &str) -> Option<Vec<Value>> {
    json_starts(answer).find_map(|start| {
        let (value, _) = json_at(answer, start)?;
        match value {
            Value::Object(mut map) => ["candidates", "responses"].iter().find_map(|key| match map
                .remove(*key)
            {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            }),
            Value::Array(items)
                if !items.is_empty()
                    && items
                        .iter()
                        .all(|v| matches!(v, Value::Object(_) | Value::String(_))) =>
            {
                Some(items)
            }
            _ => None,
        }
    })
}

/// Every complete JSON object with a text field, scanning left to right
/// and skipping over what each one spans.
fn json_candidate_objects(answer: &str) -> Option<Vec<Value>> {
    let mut found = Vec::new();
    let mut next_free = 0;
    for start in json_starts(answer) {
        if start < next_free || !answer[start..].starts_with('{') {
            continue;
        }
        if let Some((value, len)) = json_at(answer, start)
            && value
                .get("text")
                .or_else(|| value.get("response"))
                .is_some()
        {
            found.push(value);
            next_free = start + len;
        }
    }
    (!found.is_empty()).then_some(found)
}

fn items_from_json(values: &[Value], problems: &mut Vec<String>) -> Vec<Item> {
    let mut items = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let n = i + 1;
        match value {
            Value::Object(map) => {
                let text = ["text", "response", "content"]
                    .iter()
                    .find_map(|key| match map.get(*key) {
                        Some(Value::String(s)) => Some(s.trim().to_string()),
                        Some(Value::Number(x)) => Some(x.to_string()),
                        _ => None,
                    })
                    .filter(|t| !t.is_empty());
                let Some(text) = text else {
                    problems.push(format!("candidate {n} has no text and was skipped"));
                    continue;
                };
                let stated = ["probability", "prob"].iter().find_map(|key| map.get(*key));
                let raw = probability_from_json(stated, n, problems);
                items.push(Item { text, raw });
            }
            Value::String(s) if !s.trim().is_empty() => {
                problems.push(format!(
                    "candidate {n} is a bare string without a probability; {SHARE}"
                ));
                items.push(Item {
                    text: s.trim().to_string(),
                    raw: None,
                });
            }
            _ => problems.push(format!(
                "candidate {n} is neither an object with a text nor a non-empty string and was skipped"
            )),
        }
    }
    items
}

/// What happens to a candidate without a usable probability.
const SHARE: &str = "it gets an equal share of the probability the others leave unassigned";

fn probability_from_json(
    value: Option<&Value>,
    n: usize,
    problems: &mut Vec<String>,
) -> Option<f64> {
    let read = match value {
        None | Some(Value::Null) => Err("has no probability".to_string()),
        Some(Value::Number(x)) => match x.as_f64() {
            Some(v) => interpret(v, false),
            None => Err(format!("has probability {x}, which is not a number")),
        },
        Some(Value::String(s)) => read_probability_text(s),
        Some(other) => Err(format!("has probability {other}, which is not a number")),
    };
    accept(read, n, problems)
}

/// Record what reading a probability taught us and return the fraction.
fn accept(read: Reading, n: usize, problems: &mut Vec<String>) -> Option<f64> {
    match read {
        Ok((p, false)) => Some(p),
        Ok((p, true)) => {
            problems.push(format!(
                "candidate {n}: probability {} read as a percentage ({p})",
                p * 100.0
            ));
            Some(p)
        }
        Err(reason) => {
            problems.push(format!("candidate {n} {reason}; {SHARE}"));
            None
        }
    }
}

/// A probability written as text: `"0.3"`, `"30%"`, `"30 %"`.
fn read_probability_text(s: &str) -> Reading {
    let t = s.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(rest) => (rest.trim_end(), true),
        None => (t, false),
    };
    match number.parse::<f64>() {
        Ok(v) => interpret(v, percent),
        Err(_) => Err(format!("has probability \"{s}\", which is not a number")),
    }
}

/// Turn a stated number into a fraction. Returns the fraction and whether
/// a number above 1 was read as a percentage (worth reporting: the model
/// ignored the format).
fn interpret(v: f64, percent_sign: bool) -> Reading {
    if !v.is_finite() {
        return Err("has a probability that is not a finite number".to_string());
    }
    if v < 0.0 {
        return Err(format!("has a negative probability ({v})"));
    }
    if percent_sign {
        return if v <= 100.0 {
            Ok((v / 100.0, false))
        } else {
            Err(format!("has a probability above 100% ({v}%)"))
        };
    }
    if v <= 1.0 {
        Ok((v, false))
    } else if v <= 100.0 {
        Ok((v / 100.0, true))
    } else {
        Err(format!("has a probability above 100 ({v})"))
    }
}

fn items_from_lines(answer: &str, problems: &mut Vec<String>) -> Vec<Item> {
    let mut items = Vec::new();
    for line in answer.lines() {
        let line = strip_list_marker(line.trim());
        let Some((text, read)) = split_probability(line) else {
            continue;
        };
        let text = clean_text(text);
        if text.is_empty() {
            continue;
        }
        let raw = accept(read, items.len() + 1, problems);
        items.push(Item { text, raw });
    }
    items
}

/// Drop a leading `1.`, `2)`, `3:`, `-`, `*`, `•` or `+` list marker.
fn strip_list_marker(line: &str) -> &str {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(['.', ')', ':']) {
            return rest.trim_start();
        }
        return line;
    }
    match line.strip_prefix(['-', '*', '•', '+']) {
        Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim_start(),
        _ => line,
    }
}

/// Split `text (probability: 0.4)`, `text (40%)`, `text (p=0.4)` or
/// `text - probability: 0.4` into the text and the probability read.
fn split_probability(line: &str) -> Option<(&str, Reading)> {
    // ASCII lowercasing keeps byte offsets valid for slicing `line`.
    let lower = line.to_ascii_lowercase();
    if line.ends_with(')')
        && let Some(open) = line.rfind('(')
    {
        let inner = &lower[open + 1..lower.len() - 1];
        if let Some(read) = labelled_number(inner) {
            return Some((&line[..open], read));
        }
    }
    let at = lower.rfind("probability")?;
    let value = lower[at + "probability".len()..]
        .trim_start()
        .trim_start_matches([':', '='])
        .trim()
        .trim_end_matches(')');
    let read = looks_numeric(value).then(|| read_probability_text(value))?;
    Some((&line[..at], read))
}

/// The probability in `probability: 0.4`, `prob=0.4`, `p = 40%`, `0.4`.
fn labelled_number(inner: &str) -> Option<Reading> {
    let mut value = inner.trim();
    for label in ["probability", "prob", "p"] {
        if let Some(rest) = value.strip_prefix(label) {
            let rest = rest.trim_start();
            if let Some(rest) = rest.strip_prefix([':', '=']) {
                value = rest.trim();
                break;
            }
        }
    }
    looks_numeric(value).then(|| read_probability_text(value))
}

/// Whether `s` is a plain number, optionally with a percent sign: only
/// those are probabilities in free text (not "(see above)").
fn looks_numeric(s: &str) -> bool {
    let s = s.trim().trim_end_matches('%').trim_end();
    !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
}

/// Trim separators, quotes and emphasis left around a candidate's text.
fn clean_text(text: &str) -> String {
    text.trim()
        .trim_end_matches([' ', '-', '–', '—', ':', ',', '|', '('])
        .trim()
        .trim_matches(['"', '*', '“', '”', '\''])
        .trim()
        .to_string()
}

/// Merge duplicates, keep the first `k`, give the unstated candidates their
/// share and normalise.
fn finish(items: Vec<Item>, k: usize, problems: &mut Vec<String>) -> Vec<Candidate> {
    let mut merged: Vec<(String, Item)> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let key = item.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some((_, existing)) = merged.iter_mut().find(|(k, _)| *k == key) {
            existing.raw = match (existing.raw, item.raw) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            problems.push(format!(
                "candidate {} repeats an earlier candidate; they were merged and their probabilities added",
                i + 1
            ));
        } else {
            merged.push((key, item));
        }
    }
    if merged.len() > k {
        problems.push(format!(
            "the answer has {} distinct candidates but at most {k} were asked for; the first {k} were kept",
            merged.len()
        ));
        merged.truncate(k);
    }

    let stated: f64 = merged.iter().filter_map(|(_, it)| it.raw).sum();
    let unstated = merged.iter().filter(|(_, it)| it.raw.is_none()).count();
    let share = if unstated > 0 {
        let share = (1.0 - stated).max(0.0) / unstated as f64;
        if share == 0.0 {
            problems.push(format!(
                "the stated probabilities already add up to {stated}, so the {unstated} candidate(s) without one get 0"
            ));
        }
        share
    } else {
        0.0
    };
    let weights: Vec<f64> = merged
        .iter()
        .map(|(_, it)| it.raw.unwrap_or(share))
        .collect();
    let total: f64 = weights.iter().sum();
    let n = merged.len() as f64;
    let uniform = !(total > 0.0 && total.is_finite());
    if uniform {
        problems.push(
            "the probabilities add up to 0; every candidate gets the same probability".to_string(),
        );
    }
    merged
        .into_iter()
        .zip(weights)
        .map(|((_, it), w)| Candidate {
            text: it.text,
            probability: if uniform { 1.0 / n } else { w / total },
            raw_probability: it.raw,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::jsonschema::validate;

    fn texts(p: &Parsed) -> Vec<&str> {
        p.candidates.iter().map(|c| c.text.as_str()).collect()
    }

    fn probs(p: &Parsed) -> Vec<f64> {
        p.candidates.iter().map(|c| c.probability).collect()
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn prompt_suffix_asks_for_k_candidates_in_json() {
        let s = prompt_suffix(5);
        assert!(
            s.starts_with("Generate 5 different candidate answers"),
            "{s}"
        );
        assert!(
            s.contains(r#"{"candidates":[{"text":"...","probability":0.xx}, ...]}"#),
            "{s}"
        );
        assert!(s.contains("between 0 and 1"));
        assert!(s.contains("at most 5 candidates"));
        assert!(prompt_suffix(1).starts_with("Generate 1 candidate answer "));
        assert_eq!(prompt_suffix(0), prompt_suffix(1));
    }

    #[test]
    fn schema_accepts_good_answers_and_rejects_bad_ones() {
        let schema = response_schema(3);
        let good = json!({"candidates": [
            {"text": "a", "probability": 0.5},
            {"text": "b", "probability": 0.5}
        ]});
        assert!(validate(&schema, &good).is_empty());
        let too_many = json!({"candidates": [
            {"text": "a", "probability": 0.1}, {"text": "b", "probability": 0.1},
            {"text": "c", "probability": 0.1}, {"text": "d", "probability": 0.1}
        ]});
        assert!(!validate(&schema, &too_many).is_empty());
        for bad in [
            json!({"candidates": []}),
            json!({"candidates": [{"text": "", "probability": 0.5}]}),
            json!({"candidates": [{"text": "a", "probability": 1.5}]}),
            json!({"candidates": [{"text": "a"}]}),
            json!({"candidates": [{"text": "a", "probability": "0.5"}]}),
            json!({"answers": []}),
        ] {
            assert!(!validate(&schema, &bad).is_empty(), "{bad}");
        }
        assert_eq!(
            response_schema(0)["properties"]["candidates"]["maxItems"],
            1
        );
    }

    #[test]
    fn parses_a_clean_answer() {
        let p = parse(
            r#"{"candidates":[{"text":"A","probability":0.5},{"text":"B","probability":0.3},{"text":"C","probability":0.2}]}"#,
            3,
        );
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(texts(&p), ["A", "B", "C"]);
        assert_close(&probs(&p), &[0.5, 0.3, 0.2]);
        assert_eq!(p.candidates[1].raw_probability, Some(0.3));
    }

    #[test]
    fn normalises_probabilities_that_do_not_sum_to_one() {
        let p = parse(
            r#"{"candidates":[{"text":"A","probability":0.2},{"text":"B","probability":0.2}]}"#,
            5,
        );
        assert!(p.problems.is_empty());
        assert_close(&probs(&p), &[0.5, 0.5]);
        assert_eq!(p.candidates[0].raw_probability, Some(0.2));
    }

    #[test]
    fn tolerates_code_fences_and_prose() {
        let answer = "Sure! Here are {some} options:\n```json\n{\"candidates\": [\n  {\"text\": \"x\", \"probability\": 0.7},\n  {\"text\": \"y\", \"probability\": 0.3}\n]}\n```\nHope that helps {:}";
        let p = parse(answer, 2);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(texts(&p), ["x", "y"]);
        assert_close(&probs(&p), &[0.7, 0.3]);
    }

    #[test]
    fn accepts_the_papers_responses_key_and_bare_arrays() {
        let p = parse(
            r#"{"responses":[{"text":"a","probability":0.4},{"text":"b","probability":0.6}]}"#,
            5,
        );
        assert_eq!(texts(&p), ["a", "b"]);
        let p = parse(
            r#"[{"response":"a","prob":0.25},{"content":"b","prob":0.75}]"#,
            5,
        );
        assert_eq!(texts(&p), ["a", "b"]);
        assert_close(&probs(&p), &[0.25, 0.75]);
    }

    #[test]
    fn reads_strings_percentages_and_numbers_above_one() {
        let p = parse(
            r#"{"candidates":[{"text":"a","probability":"0.3"},{"text":"b","probability":"30%"},{"text":"c","probability":40},{"text":"d","probability":"0 %"}]}"#,
            4,
        );
        assert_eq!(texts(&p), ["a", "b", "c", "d"]);
        let raw: Vec<Option<f64>> = p.candidates.iter().map(|c| c.raw_probability).collect();
        assert_eq!(raw, [Some(0.3), Some(0.3), Some(0.4), Some(0.0)]);
        assert_close(&probs(&p), &[0.3, 0.3, 0.4, 0.0]);
        // Only the bare 40 is worth a remark: "30%" says what it is.
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert!(p.problems[0].contains("candidate 3"), "{:?}", p.problems);
        assert!(p.problems[0].contains("percentage"));
    }

    #[test]
    fn unusable_probabilities_share_the_unassigned_mass() {
        // Stated: 0.4 + 0.2 = 0.6; three candidates share the remaining 0.4.
        let p = parse(
            r#"{"candidates":[
                {"text":"a","probability":0.4},
                {"text":"b"},
                {"text":"c","probability":-0.1},
                {"text":"d","probability":"NaN"},
                {"text":"e","probability":0.2}
            ]}"#,
            5,
        );
        assert_eq!(texts(&p), ["a", "b", "c", "d", "e"]);
        let share = 0.4 / 3.0;
        assert_close(&probs(&p), &[0.4, share, share, share, 0.2]);
        let raw: Vec<Option<f64>> = p.candidates.iter().map(|c| c.raw_probability).collect();
        assert_eq!(raw, [Some(0.4), None, None, None, Some(0.2)]);
        assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
        assert!(p.problems[0].starts_with("candidate 2 has no probability"));
        assert!(p.problems[1].starts_with("candidate 3 has a negative probability"));
        assert!(p.problems[2].starts_with("candidate 4 has a probability that is not a finite"));
        // Above 100 cannot be a percentage either.
        let p = parse(
            r#"[{"text":"a","probability":250},{"text":"b","probability":1}]"#,
            2,
        );
        assert_close(&probs(&p), &[0.0, 1.0]);
        assert!(p.problems.iter().any(|m| m.contains("above 100")));
    }

    #[test]
    fn unstated_candidates_get_nothing_when_the_rest_already_sum_to_one() {
        let p = parse(
            r#"[{"text":"a","probability":0.6},{"text":"b","probability":0.6},{"text":"c"}]"#,
            3,
        );
        assert_close(&probs(&p), &[0.5, 0.5, 0.0]);
        assert!(
            p.problems.iter().any(|m| m.contains("get 0")),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn merges_duplicates_and_truncates_to_k() {
        let p = parse(
            r#"{"candidates":[
                {"text":"same  thing","probability":0.2},
                {"text":"other","probability":0.3},
                {"text":" same thing ","probability":0.1},
                {"text":"third","probability":0.2},
                {"text":"fourth","probability":0.2}
            ]}"#,
            3,
        );
        assert_eq!(texts(&p), ["same  thing", "other", "third"]);
        let raw: Vec<f64> = p
            .candidates
            .iter()
            .map(|c| c.raw_probability.unwrap())
            .collect();
        assert_close(&raw, &[0.30000000000000004, 0.3, 0.2]);
        let total = 0.30000000000000004 + 0.3 + 0.2;
        assert_close(
            &probs(&p),
            &[0.30000000000000004 / total, 0.3 / total, 0.2 / total],
        );
        assert!(
            p.problems
                .iter()
                .any(|m| m.starts_with("candidate 3 repeats")),
            "{:?}",
            p.problems
        );
        assert!(
            p.problems
                .iter()
                .any(|m| m.contains("4 distinct candidates but at most 3")),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn zero_total_becomes_uniform() {
        let p = parse(
            r#"[{"text":"a","probability":0},{"text":"b","probability":0}]"#,
            2,
        );
        assert_close(&probs(&p), &[0.5, 0.5]);
        assert!(p.problems.iter().any(|m| m.contains("add up to 0")));
    }

    #[test]
    fn salvages_objects_from_a_truncated_answer() {
        let p = parse(
            r#"{"candidates":[{"text":"a","probability":0.5},{"text":"b","probability":0.25},{"text":"c","prob"#,
            5,
        );
        assert_eq!(texts(&p), ["a", "b"]);
        assert_close(&probs(&p), &[2.0 / 3.0, 1.0 / 3.0]);
        assert!(p.problems[0].contains("cut off"), "{:?}", p.problems);
    }

    #[test]
    fn falls_back_to_numbered_lines() {
        let answer = "Here are my ideas:\n\
1. A cat story (probability: 0.4)\n\
2) \"A dog story\" (40%)\n\
- A fish story (p=0.2)\n\
* **Bird story** - probability: 0.1\n\
Some closing remark (see above)\n";
        let p = parse(answer, 5);
        assert_eq!(
            texts(&p),
            ["A cat story", "A dog story", "A fish story", "Bird story"]
        );
        let raw: Vec<Option<f64>> = p.candidates.iter().map(|c| c.raw_probability).collect();
        assert_eq!(raw, [Some(0.4), Some(0.4), Some(0.2), Some(0.1)]);
        assert_close(&probs(&p), &[0.4 / 1.1, 0.4 / 1.1, 0.2 / 1.1, 0.1 / 1.1]);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert!(p.problems[0].contains("not JSON; read 4 candidate(s)"));
    }

    #[test]
    fn nothing_usable_gives_no_candidates_and_a_problem() {
        for answer in ["", "I cannot help with that.", "{\"foo\": 1}", "[1, 2, 3]"] {
            let p = parse(answer, 3);
            assert!(p.candidates.is_empty(), "{answer}");
            assert!(
                p.problems
                    .last()
                    .unwrap()
                    .starts_with("no usable candidate"),
                "{answer}"
            );
        }
        let p = parse(r#"{"candidates": []}"#, 3);
        assert!(p.candidates.is_empty());
        assert_eq!(p.problems[0], "the answer's candidate list is empty");
        let p = parse(r#"{"candidates": [{"text": "  "}, 3]}"#, 3);
        assert!(p.candidates.is_empty());
        assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
    }

    #[test]
    fn bare_strings_are_candidates_without_probability() {
        let p = parse(r#"{"candidates": ["one", "two"]}"#, 2);
        assert_eq!(texts(&p), ["one", "two"]);
        assert_close(&probs(&p), &[0.5, 0.5]);
        assert_eq!(p.problems.len(), 2);
    }

    #[test]
    fn non_ascii_text_survives_line_parsing() {
        let p = parse("1. İstanbul café — probability: 0.5\n2. Zürich (50 %)", 2);
        assert_eq!(texts(&p), ["İstanbul café", "Zürich"]);
        assert_close(&probs(&p), &[0.5, 0.5]);
    }

    fn cands(ps: &[f64]) -> Vec<Candidate> {
        ps.iter()
            .enumerate()
            .map(|(i, &p)| Candidate {
                text: i.to_string(),
                probability: p,
                raw_probability: Some(p),
            })
            .collect()
    }

    #[test]
    fn sample_walks_the_cumulative_distribution() {
        let c = cands(&[0.2, 0.5, 0.3]);
        assert_eq!(sample(&c, 0.0), 0);
        assert_eq!(sample(&c, 0.19), 0);
        assert_eq!(sample(&c, 0.2), 1);
        assert_eq!(sample(&c, 0.69), 1);
        assert_eq!(sample(&c, 0.7), 2);
        assert_eq!(sample(&c, 0.999), 2);
        // Clamped and degenerate inputs.
        assert_eq!(sample(&c, 1.0), 2);
        assert_eq!(sample(&c, 7.0), 2);
        assert_eq!(sample(&c, -1.0), 0);
        assert_eq!(sample(&c, f64::NAN), 0);
        assert_eq!(sample(&[], 0.5), 0);
    }

    #[test]
    fn sample_skips_zero_weights_and_handles_unnormalised_input() {
        let c = cands(&[0.0, 2.0, 0.0, 2.0, 0.0]);
        assert_eq!(sample(&c, 0.0), 1);
        assert_eq!(sample(&c, 0.49), 1);
        assert_eq!(sample(&c, 0.5), 3);
        assert_eq!(sample(&c, 1.0), 3);
        let c = cands(&[f64::NAN, -1.0, 1.0]);
        assert_eq!(sample(&c, 0.0), 2);
        // No positive weight at all: uniform over the indices.
        let c = cands(&[0.0, 0.0, 0.0, 0.0]);
        assert_eq!(sample(&c, 0.0), 0);
        assert_eq!(sample(&c, 0.3), 1);
        assert_eq!(sample(&c, 0.99), 3);
    }

    #[test]
    fn parsed_candidates_sample_in_proportion() {
        let p = parse(
            r#"[{"text":"a","probability":0.25},{"text":"b","probability":0.75}]"#,
            2,
        );
        let draws: Vec<usize> = (0..100)
            .map(|i| sample(&p.candidates, f64::from(i) / 100.0))
            .collect();
        assert_eq!(draws.iter().filter(|&&d| d == 0).count(), 25);
        assert_eq!(draws.iter().filter(|&&d| d == 1).count(), 75);
    }
}
