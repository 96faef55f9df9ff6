//! A small, documented subset of JSON Schema: validation and example
//! generation, with no external crate.
//!
//! Baton uses JSON Schemas to describe workflow inputs and the structured
//! answers it asks models for. This module checks values against such schemas
//! ([`validate`]) and produces a deterministic value that satisfies one
//! ([`example`], used by the offline model).
//!
//! # Supported keywords
//!
//! | keyword | meaning |
//! |---|---|
//! | `type` | a type name or an array of them: `null`, `boolean`, `object`, `array`, `number`, `string`, `integer` (`integer` also accepts whole-number floats such as `3.0`) |
//! | `properties` | schemas of named object members |
//! | `required` | object members that must be present |
//! | `additionalProperties` | `false` (no members beyond `properties`) or a schema for the others |
//! | `items` | schema every array element must satisfy |
//! | `minItems`, `maxItems` | bounds on array length |
//! | `enum` | the value must equal one of the listed values |
//! | `const` | the value must equal this value |
//! | `minimum`, `maximum` | inclusive numeric bounds |
//! | `exclusiveMinimum`, `exclusiveMaximum` | exclusive numeric bounds (a number; the draft-4 boolean form modifying `minimum`/`maximum` is accepted too) |
//! | `minLength`, `maxLength` | bounds on string length, counted in characters (Unicode scalar values) |
//! | `default` | used by [`example`]; ignored by [`validate`] |
//! | `description`, `title` | ignored |
//!
//! Any other keyword (`pattern`, `format`, `$ref`, `oneOf`, …) is ignored, so
//! a schema using them validates more loosely than a full implementation
//! would. The boolean schemas `true` (anything) and `false` (nothing) are
//! understood. Numbers compare by value, so `3` equals `3.0` for `enum` and
//! `const`.
//!
//! # Paths
//!
//! A [`Violation`] names where it is with a dotted path: `""` for the root,
//! `"brief"` for a member of the root object, `"brief.prompt"` for a member of
//! that, `"drafts[1]"` for the second element of the `drafts` array, and
//! `"[0]"` for the first element of a root array.

use serde_json::{Map, Value};

/// One violation: `path` is a JSON-pointer-ish dotted path like "brief.prompt"
/// or "items[2].score" ("" for the root), message says what is wrong in plain
/// words.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "the value {}", self.message)
        } else {
            write!(f, "{} {}", self.path, self.message)
        }
    }
}

/// Check `value` against `schema`. An empty list means the value is valid.
/// The order of the violations is deterministic.
pub fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out
}

/// A value that satisfies `schema`, chosen deterministically from `seed`:
/// the same schema and seed always give the same value, and different seeds
/// usually give different ones.
///
/// `default` is used when present and valid; `const` is returned as is;
/// `enum` members are picked by seed; numbers lie within their bounds;
/// strings are made of words and respect their length bounds; objects carry
/// every listed and every required property; arrays have between `minItems`
/// and `min(maxItems, minItems + 2)` elements.
///
/// For a schema nothing can satisfy (`false`, `minimum` above `maximum`, …)
/// the result is a best effort and will not validate.
pub fn example(schema: &Value, seed: u64) -> Value {
    gen_value(schema, seed, 0)
}

// ---------------------------------------------------------------------------
// Validation

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn push(out: &mut Vec<Violation>, path: &str, message: impl Into<String>) {
    out.push(Violation {
        path: path.to_string(),
        message: message.into(),
    });
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn article(ty: &str) -> String {
    match ty {
        "null" => "null".to_string(),
        "integer" | "object" | "array" => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

fn is_whole(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "integer" => is_whole(value),
        // An unknown type name is ignored rather than rejecting everything.
        _ => true,
    }
}

/// The type names listed in `type`, if any.
fn type_list(schema: &Map<String, Value>) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

/// Equality where numbers compare by value (`3 == 3.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn num(schema: &Map<String, Value>, key: &str) -> Option<f64> {
    schema
        .get(key)
        .and_then(Value::as_f64)
        .filter(|f| f.is_finite())
}

fn count(schema: &Map<String, Value>, key: &str) -> Option<u64> {
    let v = schema.get(key)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(|f| f as u64)
    })
}

/// Lower bound of a numeric schema as `(bound, exclusive)`, the tighter one
/// when both an inclusive and an exclusive bound are given.
fn lower_bound(schema: &Map<String, Value>) -> Option<(f64, bool)> {
    let draft4_exclusive = schema.get("exclusiveMinimum") == Some(&Value::Bool(true));
    let inclusive = num(schema, "minimum").map(|m| (m, draft4_exclusive));
    let exclusive = num(schema, "exclusiveMinimum").map(|m| (m, true));
    match (inclusive, exclusive) {
        (Some(a), Some(b)) => Some(if b.0 >= a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn upper_bound(schema: &Map<String, Value>) -> Option<(f64, bool)> {
    let draft4_exclusive = schema.get("exclusiveMaximum") == Some(&Value::Bool(true));
    let inclusive = num(schema, "maximum").map(|m| (m, draft4_exclusive));
    let exclusive = num(schema, "exclusiveMaximum").map(|m| (m, true));
    match (inclusive, exclusive) {
        (Some(a), Some(b)) => Some(if b.0 <= a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            push(out, path, "is not allowed here");
            return;
        }
        Value::Object(map) => map,
        // Not a schema: nothing to check.
        _ => return,
    };

    if let Some(types) = type_list(schema)
        && !types.is_empty()
        && !types.iter().any(|t| has_type(value, t))
    {
        let wanted: Vec<String> = types.iter().map(|t| article(t)).collect();
        push(
            out,
            path,
            format!("must be {}, not {}", wanted.join(" or "), type_name(value)),
        );
        // The remaining keywords would only repeat the same complaint.
        return;
    }

    if let Some(expected) = schema.get("const")
        && !json_eq(expected, value)
    {
        push(out, path, format!("must be {}", short(expected)));
    }

    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.iter().any(|a| json_eq(a, value))
    {
        let listed: Vec<String> = allowed.iter().map(short).collect();
        push(out, path, format!("must be one of {}", listed.join(", ")));
    }

    match value {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                check_number(schema, x, path, out);
            }
        }
        Value::String(s) => check_string(schema, s, path, out),
        Value::Array(items) => check_array(schema, items, path, out),
        Value::Object(members) => check_object(schema, members, path, out),
        Value::Null | Value::Bool(_) => {}
    }
}

fn check_number(schema: &Map<String, Value>, x: f64, path: &str, out: &mut Vec<Violation>) {
    if let Some((lo, exclusive)) = lower_bound(schema) {
        if exclusive && x <= lo {
            push(out, path, format!("must be greater than {}", fmt_num(lo)));
        } else if !exclusive && x < lo {
            push(out, path, format!("must be at least {}", fmt_num(lo)));
        }
    }
    if let Some((hi, exclusive)) = upper_bound(schema) {
        if exclusive && x >= hi {
            push(out, path, format!("must be less than {}", fmt_num(hi)));
        } else if !exclusive && x > hi {
            push(out, path, format!("must be at most {}", fmt_num(hi)));
        }
    }
}

fn check_string(schema: &Map<String, Value>, s: &str, path: &str, out: &mut Vec<Violation>) {
    let len = s.chars().count() as u64;
    if let Some(min) = count(schema, "minLength")
        && len < min
    {
        push(
            out,
            path,
            format!(
                "must be at least {} long, not {len}",
                plural(min, "character", "characters")
            ),
        );
    }
    if let Some(max) = count(schema, "maxLength")
        && len > max
    {
        push(
            out,
            path,
            format!(
                "must be at most {} long, not {len}",
                plural(max, "character", "characters")
            ),
        );
    }
}

fn check_array(schema: &Map<String, Value>, items: &[Value], path: &str, out: &mut Vec<Violation>) {
    let len = items.len() as u64;
    if let Some(min) = count(schema, "minItems")
        && len < min
    {
        push(
            out,
            path,
            format!(
                "must have at least {}, not {len}",
                plural(min, "item", "items")
            ),
        );
    }
    if let Some(max) = count(schema, "maxItems")
        && len > max
    {
        push(
            out,
            path,
            format!(
                "must have at most {}, not {len}",
                plural(max, "item", "items")
            ),
        );
    }
    if let Some(item_schema) = schema.get("items")
        && (item_schema.is_object() || item_schema.is_boolean())
    {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &index_path(path, i), out);
        }
    }
}

fn check_object(
    schema: &Map<String, Value>,
    members: &Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);

    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !members.contains_key(name) {
                push(out, &child_path(path, name), "is required");
            }
        }
    }

    if let Some(properties) = properties {
        for (name, sub) in properties {
            if let Some(member) = members.get(name) {
                check(sub, member, &child_path(path, name), out);
            }
        }
    }

    match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            for name in members.keys() {
                if !properties.is_some_and(|p| p.contains_key(name)) {
                    push(out, &child_path(path, name), "is not an allowed field");
                }
            }
        }
        Some(extra @ Value::Object(_)) => {
            for (name, member) in members {
                if !properties.is_some_and(|p| p.contains_key(name)) {
                    check(extra, member, &child_path(path, name), out);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Example generation

/// Deeper than this, optional structure is left out so that recursive or
/// pathological schemas still terminate.
const MAX_DEPTH: usize = 16;

const WORDS: &[&str] = &[
    "review", "draft", "summary", "clear", "signal", "budget", "launch", "careful", "steady",
    "insight", "report", "simple", "evidence", "answer", "outline", "focus", "balanced", "plan",
    "detail", "context", "update", "useful", "brief", "robust", "metric", "release", "quality",
    "theme", "honest", "result", "section", "topic",
];

/// SplitMix64 finaliser: a well-mixed 64-bit value from `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for a sub-value, derived from the parent seed and a label.
fn derive(seed: u64, label: &str) -> u64 {
    // FNV-1a over the label, then mixed with the seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(seed ^ h)
}

fn valid(schema: &Value, value: &Value) -> bool {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out.is_empty()
}

fn gen_value(schema: &Value, seed: u64, depth: usize) -> Value {
    let map = match schema {
        Value::Object(map) => map,
        // `true`, `false` or not a schema: nothing better to offer.
        _ => return Value::Null,
    };

    if let Some(c) = map.get("const") {
        return c.clone();
    }
    if let Some(d) = map.get("default")
        && valid(schema, d)
    {
        return d.clone();
    }
    if let Some(Value::Array(allowed)) = map.get("enum")
        && !allowed.is_empty()
    {
        let start = (mix(seed) % allowed.len() as u64) as usize;
        // Prefer a member that also satisfies the other keywords.
        for k in 0..allowed.len() {
            let candidate = &allowed[(start + k) % allowed.len()];
            if valid(schema, candidate) {
                return candidate.clone();
            }
        }
        return allowed[start].clone();
    }

    match pick_type(map) {
        "null" => Value::Null,
        "boolean" => Value::Bool(mix(seed) & 1 == 1),
        "integer" => gen_integer(map, seed),
        "number" => gen_number(map, seed),
        "array" => gen_array(map, seed, depth),
        "object" => gen_object(map, seed, depth),
        _ => Value::String(gen_string(map, seed)),
    }
}

/// The type to generate: the first non-null listed type, else one inferred
/// from the keywords present.
fn pick_type(map: &Map<String, Value>) -> &str {
    const KNOWN: &[&str] = &[
        "null", "boolean", "object", "array", "number", "string", "integer",
    ];
    if let Some(types) = type_list(map) {
        let known: Vec<&str> = types.into_iter().filter(|t| KNOWN.contains(t)).collect();
        if let Some(t) = known.iter().find(|t| **t != "null").or(known.first()) {
            return t;
        }
    }
    let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    if has(&["properties", "required", "additionalProperties"]) {
        "object"
    } else if has(&["items", "minItems", "maxItems"]) {
        "array"
    } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) {
        "number"
    } else {
        "string"
    }
}

fn gen_integer(map: &Map<String, Value>, seed: u64) -> Value {
    // Smallest and largest whole numbers within the bounds, as f64.
    let lo = lower_bound(map).map(|(b, exclusive)| {
        if exclusive && b.floor() == b {
            b + 1.0
        } else {
            b.ceil()
        }
    });
    let hi = upper_bound(map).map(|(b, exclusive)| {
        if exclusive && b.ceil() == b {
            b - 1.0
        } else {
            b.floor()
        }
    });
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + 100.0),
        (None, Some(hi)) => (hi - 100.0, hi),
        (None, None) => (1.0, 100.0),
    };
    let limit = i64::MAX as f64 / 4.0;
    let lo = lo.clamp(-limit, limit) as i64;
    let hi = hi.clamp(-limit, limit) as i64;
    if hi <= lo {
        return Value::from(lo);
    }
    let span = (hi - lo) as u64 + 1;
    Value::from(lo + (mix(seed) % span) as i64)
}

fn gen_number(map: &Map<String, Value>, seed: u64) -> Value {
    let lower = lower_bound(map);
    let upper = upper_bound(map);
    let (lo, hi) = match (lower, upper) {
        (Some((lo, _)), Some((hi, _))) => (lo, hi),
        (Some((lo, _)), None) => (lo, lo + 100.0),
        (None, Some((hi, _))) => (hi - 100.0, hi),
        (None, None) => (0.0, 100.0),
    };
    // A fraction strictly inside (0, 1), so exclusive bounds hold too.
    let frac = ((mix(seed) % 999) + 1) as f64 / 1000.0;
    let raw = lo + (hi - lo) * frac;
    let schema = Value::Object(map.clone());
    for candidate in [(raw * 100.0).round() / 100.0, raw] {
        if let Some(n) = serde_json::Number::from_f64(candidate) {
            let v = Value::Number(n);
            if valid(&schema, &v) {
                return v;
            }
        }
    }
    serde_json::Number::from_f64(lo).map_or(Value::Null, Value::Number)
}

fn gen_string(map: &Map<String, Value>, seed: u64) -> String {
    let min = count(map, "minLength").unwrap_or(0).min(100_000) as usize;
    let max = count(map, "maxLength").map(|m| m.min(100_000) as usize);
    let upper = max.unwrap_or(min.max(40)).max(min);
    // A target length in [max(min, 1), upper], then words until it is reached.
    let floor = min.max(1).min(upper);
    if upper == 0 {
        return String::new();
    }
    let mut state = mix(seed);
    // Aim short (a phrase, not a page) unless `minLength` asks for more:
    // examples are read by people, and a generous `maxLength` is a limit,
    // not a wish.
    let aim = upper.min(min.max(80));
    let target = floor + (state % (aim - floor + 1) as u64) as usize;
    // Whole words while they fit; a word is cut only when nothing else
    // reaches `min`.
    let mut text = String::new();
    let mut len = 0;
    while len < target {
        state = mix(state);
        let word = WORDS[(state % WORDS.len() as u64) as usize];
        let sep = usize::from(!text.is_empty());
        let word_len = word.chars().count();
        if len + sep + word_len <= upper {
            if sep == 1 {
                text.push(' ');
            }
            text.push_str(word);
            len += sep + word_len;
        } else if len >= min {
            break;
        } else {
            if sep == 1 {
                text.push(' ');
            }
            text.extend(word.chars().take(upper - len - sep));
            len = text.chars().count();
        }
    }
    // Do not end on a space when that still leaves enough characters.
    while text.ends_with(' ') && len > min {
        text.pop();
        len -= 1;
    }
    text
}

fn gen_array(map: &Map<String, Value>, seed: u64, depth: usize) -> Value {
    let min = count(map, "minItems").unwrap_or(0).min(1_000);
    let max = count(map, "maxItems").unwrap_or(u64::MAX);
    let most = max.min(min + 2).max(min);
    let len = if depth >= MAX_DEPTH {
        min
    } else {
        min + mix(seed) % (most - min + 1)
    };
    let default_items = Value::Object(Map::from_iter([(
        "type".to_string(),
        Value::String("string".to_string()),
    )]));
    let item_schema = match map.get("items") {
        Some(s @ Value::Object(_)) => s,
        _ => &default_items,
    };
    Value::Array(
        (0..len)
            .map(|i| gen_value(item_schema, derive(seed, &format!("[{i}]")), depth + 1))
            .collect(),
    )
}

fn gen_object(map: &Map<String, Value>, seed: u64, depth: usize) -> Value {
    let mut out = Map::new();
    let required: Vec<&str> = match map.get("required") {
        Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (name, sub) in properties {
            if depth >= MAX_DEPTH && !required.contains(&name.as_str()) {
                continue;
            }
            out.insert(name.clone(), gen_value(sub, derive(seed, name), depth + 1));
        }
    }
    // Required members without a schema of their own.
    let string_schema = Value::Object(Map::from_iter([(
        "type".to_string(),
        Value::String("string".to_string()),
    )]));
    for name in required {
        if !out.contains_key(name) {
            let sub = match map.get("additionalProperties") {
                Some(s @ Value::Object(_)) => s,
                _ => &string_schema,
            };
            out.insert(
                name.to_string(),
                gen_value(sub, derive(seed, name), depth + 1),
            );
        }
    }
    Value::Object(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(schema: &Value, value: &Value) -> Vec<String> {
        validate(schema, value)
            .into_iter()
            .map(|v| v.path)
            .collect()
    }

    fn messages(schema: &Value, value: &Value) -> Vec<String> {
        validate(schema, value)
            .into_iter()
            .map(|v| v.message)
            .collect()
    }

    #[test]
    fn type_single_and_list() {
        let s = json!({"type": "string"});
        assert!(validate(&s, &json!("x")).is_empty());
        assert_eq!(
            messages(&s, &json!(3)),
            vec!["must be a string, not an integer"]
        );
        let s = json!({"type": ["string", "null"]});
        assert!(validate(&s, &json!(null)).is_empty());
        assert!(validate(&s, &json!("a")).is_empty());
        assert_eq!(
            messages(&s, &json!(true)),
            vec!["must be a string or null, not a boolean"]
        );
        for (ty, ok, bad) in [
            ("boolean", json!(false), json!(0)),
            ("object", json!({}), json!([])),
            ("array", json!([]), json!({})),
            ("number", json!(1.5), json!("1.5")),
            ("null", json!(null), json!(0)),
        ] {
            let s = json!({"type": ty});
            assert!(validate(&s, &ok).is_empty(), "{ty} should accept {ok}");
            assert_eq!(validate(&s, &bad).len(), 1, "{ty} should reject {bad}");
        }
        // number accepts integers
        assert!(validate(&json!({"type": "number"}), &json!(3)).is_empty());
    }

    #[test]
    fn integer_accepts_whole_floats() {
        let s = json!({"type": "integer"});
        assert!(validate(&s, &json!(3)).is_empty());
        assert!(validate(&s, &json!(3.0)).is_empty());
        assert!(validate(&s, &json!(-7)).is_empty());
        assert_eq!(
            messages(&s, &json!(3.5)),
            vec!["must be an integer, not a number"]
        );
    }

    #[test]
    fn required_and_nested_paths() {
        let s = json!({
            "type": "object",
            "required": ["brief"],
            "properties": {
                "brief": {
                    "type": "object",
                    "required": ["prompt", "audience"],
                    "properties": {"prompt": {"type": "string", "minLength": 1}, "audience": {"type": "string"}}
                }
            }
        });
        assert_eq!(paths(&s, &json!({})), vec!["brief"]);
        assert_eq!(messages(&s, &json!({})), vec!["is required"]);
        let v = validate(&s, &json!({"brief": {"prompt": ""}}));
        assert_eq!(
            v,
            vec![
                Violation {
                    path: "brief.audience".into(),
                    message: "is required".into()
                },
                Violation {
                    path: "brief.prompt".into(),
                    message: "must be at least 1 character long, not 0".into()
                },
            ]
        );
        assert!(validate(&s, &json!({"brief": {"prompt": "p", "audience": "a"}})).is_empty());
        assert_eq!(v[0].to_string(), "brief.audience is required");
    }

    #[test]
    fn array_items_paths() {
        let s = json!({
            "type": "object",
            "properties": {
                "drafts": {"type": "array", "items": {"type": "string"}},
                "items": {"type": "array", "items": {
                    "type": "object", "properties": {"score": {"type": "integer", "minimum": 0}}
                }}
            }
        });
        assert_eq!(
            paths(&s, &json!({"drafts": ["a", 2, "c"]})),
            vec!["drafts[1]"]
        );
        assert_eq!(
            paths(
                &s,
                &json!({"items": [{"score": 1}, {"score": 2}, {"score": -1}]})
            ),
            vec!["items[2].score"]
        );
        let root = json!({"type": "array", "items": {"type": "integer"}});
        assert_eq!(paths(&root, &json!([1, "x"])), vec!["[1]"]);
    }

    #[test]
    fn min_and_max_items() {
        let s = json!({"type": "array", "minItems": 1, "maxItems": 2});
        assert_eq!(
            messages(&s, &json!([])),
            vec!["must have at least 1 item, not 0"]
        );
        assert!(validate(&s, &json!([1])).is_empty());
        assert!(validate(&s, &json!([1, 2])).is_empty());
        assert_eq!(
            messages(&s, &json!([1, 2, 3])),
            vec!["must have at most 2 items, not 3"]
        );
    }

    #[test]
    fn additional_properties() {
        let closed =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        assert!(validate(&closed, &json!({"a": 1})).is_empty());
        let v = validate(&closed, &json!({"a": 1, "b": 2}));
        assert_eq!(
            v,
            vec![Violation {
                path: "b".into(),
                message: "is not an allowed field".into()
            }]
        );
        let typed = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "number"}});
        assert!(validate(&typed, &json!({"a": "x", "b": 2})).is_empty());
        assert_eq!(paths(&typed, &json!({"a": "x", "b": "y"})), vec!["b"]);
        // Absent or true: anything goes.
        assert!(validate(&json!({"type": "object"}), &json!({"z": 1})).is_empty());
    }

    #[test]
    fn enum_and_const() {
        let s = json!({"enum": ["draft", "final", 3]});
        assert!(validate(&s, &json!("final")).is_empty());
        assert!(
            validate(&s, &json!(3.0)).is_empty(),
            "numbers compare by value"
        );
        assert_eq!(
            messages(&s, &json!("other")),
            vec![r#"must be one of "draft", "final", 3"#]
        );
        let c = json!({"const": {"k": [1, 2]}});
        assert!(validate(&c, &json!({"k": [1, 2]})).is_empty());
        assert_eq!(
            messages(&c, &json!({"k": [2, 1]})),
            vec![r#"must be {"k":[1,2]}"#]
        );
    }

    #[test]
    fn numeric_bounds() {
        let s = json!({"type": "number", "minimum": 0, "maximum": 10});
        assert!(validate(&s, &json!(0)).is_empty());
        assert!(validate(&s, &json!(10)).is_empty());
        assert_eq!(messages(&s, &json!(-0.5)), vec!["must be at least 0"]);
        assert_eq!(messages(&s, &json!(10.5)), vec!["must be at most 10"]);
        let e = json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5});
        assert!(validate(&e, &json!(0.1)).is_empty());
        assert_eq!(messages(&e, &json!(0)), vec!["must be greater than 0"]);
        assert_eq!(messages(&e, &json!(1.5)), vec!["must be less than 1.5"]);
        // Draft-4 boolean form.
        let d4 =
            json!({"minimum": 1, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": true});
        assert_eq!(validate(&d4, &json!(1)).len(), 1);
        assert_eq!(validate(&d4, &json!(5)).len(), 1);
        assert!(validate(&d4, &json!(3)).is_empty());
    }

    #[test]
    fn string_lengths_count_chars() {
        let s = json!({"type": "string", "minLength": 2, "maxLength": 3});
        assert!(validate(&s, &json!("héé")).is_empty(), "3 chars, 5 bytes");
        assert_eq!(
            messages(&s, &json!("h")),
            vec!["must be at least 2 characters long, not 1"]
        );
        assert_eq!(
            messages(&s, &json!("abcd")),
            vec!["must be at most 3 characters long, not 4"]
        );
    }

    #[test]
    fn ignored_keywords_and_boolean_schemas() {
        let s = json!({"type": "string", "default": 5, "description": "d", "title": "t", "pattern": "^x$", "format": "email"});
        assert!(validate(&s, &json!("anything")).is_empty());
        assert!(validate(&json!(true), &json!(1)).is_empty());
        assert!(validate(&json!({}), &json!([1, {"a": null}])).is_empty());
        assert_eq!(
            messages(&json!(false), &json!(1)),
            vec!["is not allowed here"]
        );
    }

    #[test]
    fn multiple_violations_are_deterministic() {
        let s = json!({
            "type": "object",
            "required": ["a", "b"],
            "properties": {"c": {"type": "integer"}, "d": {"type": "string"}},
            "additionalProperties": false
        });
        let v = json!({"c": "x", "d": 1, "e": 0});
        let first = validate(&s, &v);
        assert_eq!(first.len(), 5);
        for _ in 0..5 {
            assert_eq!(validate(&s, &v), first);
        }
    }

    fn schemas() -> Vec<Value> {
        vec![
            json!({"type": "string"}),
            json!({"type": "string", "minLength": 5, "maxLength": 8}),
            json!({"type": "string", "minLength": 200}),
            json!({"type": "string", "maxLength": 0}),
            json!({"type": "string", "maxLength": 1}),
            json!({"type": "integer", "minimum": -3, "maximum": 3}),
            json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2}),
            json!({"type": "integer", "minimum": 1.5, "maximum": 2.5}),
            json!({"type": "integer", "minimum": 1000}),
            json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001}),
            json!({"type": "number", "maximum": -50}),
            json!({"type": "boolean"}),
            json!({"type": "null"}),
            json!({"type": ["null", "integer"], "maximum": 0}),
            json!({"enum": ["low", "medium", "high"]}),
            json!({"type": "string", "enum": ["a", 1, "b"]}),
            json!({"const": {"fixed": true}}),
            json!({"type": "integer", "default": 7, "minimum": 0}),
            json!({"type": "integer", "default": -7, "minimum": 0}),
            json!({"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "integer", "minimum": 10, "maximum": 20}}),
            json!({"type": "array", "maxItems": 0}),
            json!({
                "type": "object",
                "required": ["title", "sections", "extra"],
                "additionalProperties": {"type": "integer"},
                "properties": {
                    "title": {"type": "string", "minLength": 3, "maxLength": 60},
                    "tone": {"enum": ["formal", "casual"]},
                    "sections": {
                        "type": "array", "minItems": 1, "maxItems": 4,
                        "items": {
                            "type": "object",
                            "required": ["heading", "score"],
                            "additionalProperties": false,
                            "properties": {
                                "heading": {"type": "string", "minLength": 1},
                                "score": {"type": "number", "minimum": 0, "maximum": 1},
                                "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}}
                            }
                        }
                    }
                }
            }),
            json!({"properties": {"inferred": {"minimum": 2}}}),
        ]
    }

    #[test]
    fn examples_validate_and_are_deterministic() {
        for schema in schemas() {
            for seed in 0..200u64 {
                let ex = example(&schema, seed);
                let violations = validate(&schema, &ex);
                assert!(
                    violations.is_empty(),
                    "schema {schema} seed {seed}: {ex} -> {violations:?}"
                );
                assert_eq!(example(&schema, seed), ex);
            }
        }
    }

    #[test]
    fn examples_vary_with_seed_and_honour_keywords() {
        let s = json!({"type": "string", "minLength": 10, "maxLength": 30});
        let distinct: std::collections::BTreeSet<String> = (0..20)
            .map(|seed| example(&s, seed).as_str().unwrap().to_string())
            .collect();
        assert!(distinct.len() > 5);
        assert_eq!(
            example(&json!({"type": "integer", "default": 7}), 3),
            json!(7)
        );
        assert_eq!(
            example(&json!({"const": "x", "type": "string"}), 3),
            json!("x")
        );
        let arr = json!({"type": "array", "minItems": 1, "maxItems": 10});
        for seed in 0..50 {
            let n = example(&arr, seed).as_array().unwrap().len();
            assert!((1..=3).contains(&n));
        }
        let obj = json!({"type": "object", "required": ["x"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}});
        let ex = example(&obj, 1);
        let keys: Vec<&String> = ex.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "listed and required properties: {ex}");
        let colours = json!({"enum": ["red", "green", "blue"]});
        let picked: std::collections::BTreeSet<String> = (0..30)
            .map(|seed| example(&colours, seed).as_str().unwrap().to_string())
            .collect();
        assert_eq!(picked.len(), 3);
    }

    #[test]
    fn recursive_looking_schemas_terminate() {
        // Deep nesting is cut off at MAX_DEPTH for optional structure.
        let mut schema = json!({"type": "string"});
        for _ in 0..40 {
            schema = json!({"type": "object", "properties": {"child": schema}});
        }
        let ex = example(&schema, 9);
        assert!(validate(&schema, &ex).is_empty());
    }
}
