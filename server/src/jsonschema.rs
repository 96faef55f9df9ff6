//! JSON Schema for Baton: validation with the `jsonschema` crate, messages in
//! plain words with dotted paths, and example generation.
//!
//! Baton uses JSON Schemas to describe workflow inputs and the structured
//! answers it asks models for. This module checks values against such schemas
//! ([`validate`], or [`compile`] once and [`Compiled::validate`] many times),
//! says whether a schema is itself valid ([`check_schema`]) and produces a
//! deterministic value that satisfies one ([`example`], used by the offline
//! model).
//!
//! # Validation
//!
//! Validation is the [`jsonschema`](https://docs.rs/jsonschema) crate's, so
//! the whole specification applies: draft 2020-12 by default, or the draft a
//! schema names in `$schema` (draft 4, 6, 7 or 2019-09). That includes
//! `$ref`/`$defs`, `oneOf`/`anyOf`/`allOf`/`not`, `if`/`then`/`else`,
//! `pattern`, `patternProperties`, `minProperties`/`maxProperties`,
//! `dependentRequired`, `unevaluatedProperties`, `uniqueItems`, `contains`,
//! `multipleOf` and the rest. Two choices of ours:
//!
//! - `format` is an assertion, not just an annotation: `email`, `date-time`,
//!   `date`, `time`, `duration`, `uuid`, `uri`, `hostname`, `ipv4`, `ipv6`,
//!   `regex` and the other formats the specification defines are checked.
//!   Formats it does not define (say `markdown`) are ignored.
//! - Only references inside the schema resolve: a `$ref` to another document
//!   (`https://…`, a file) makes the schema invalid; nothing is fetched.
//!
//! As the specification says, `integer` accepts whole-number floats such as
//! `3.0`, and numbers compare by value (`3` equals `3.0` for `enum` and
//! `const`). A schema that is itself invalid (a misspelt type, a negative
//! `minItems`, an unresolvable `$ref`) does not panic: [`validate`] returns
//! one violation at the root saying so, and [`check_schema`] and [`compile`]
//! return the reason.
//!
//! One keyword is Baton's own and only changes wording: `"x-count-noun"` on
//! an array (or object) schema names what its items (or members) are, so a
//! `minItems` violation says "has 1 level; at least 2 levels are needed"
//! rather than "… items …". The plural adds an `s`.
//!
//! # Paths and messages
//!
//! A [`Violation`] names where it is with a dotted path: `""` for the root,
//! `"brief"` for a member of the root object, `"brief.prompt"` for a member of
//! that, `"drafts[1]"` for the second element of the `drafts` array, and
//! `"[0]"` for the first element of a root array. Member names are written as
//! they are, dots and brackets included. A missing required member and an
//! unexpected one (`additionalProperties: false`) are reported at the
//! member's own path (`brief.prompt` "is required", `colour` "is not an
//! allowed field"). Messages are short phrases meant to follow the path:
//! "must be a string, not an integer", "must be at least 0", "must be a valid
//! email address", "has 0 items; at least 1 item is needed". Violations come
//! sorted by path (array indices in numeric order), a type mismatch first at
//! its path, and a type mismatch hides the other complaints about the same
//! value.
//!
//! # Examples
//!
//! [`example`] stays hand-written: it builds a value from the keywords that
//! shape one (`type`, `properties`, `required`, `items`, bounds, lengths,
//! `enum`, `const`, `default`, `format`, `minProperties`), follows `$ref`,
//! merges `allOf` and picks a branch of `oneOf`/`anyOf` that validates. It is
//! best effort for `pattern`, `not`, `if`/`then`/`else` and `uniqueItems`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// One violation: `path` is a dotted path like "brief.prompt" or
/// "items[2].score" ("" for the root), `message` says what is wrong in plain
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

/// A schema compiled once, to check many values against it.
pub struct Compiled {
    validator: ::jsonschema::Validator,
    /// The schema as given, read for `x-count-noun`.
    schema: Value,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// Check `value`. An empty list means the value is valid; the order is
    /// deterministic (see the module documentation).
    pub fn validate(&self, value: &Value) -> Vec<Violation> {
        let mut found = Vec::new();
        for error in self.validator.iter_errors(value) {
            let src = Source {
                instance: value,
                schema: Some(&self.schema),
            };
            convert(&error, src, &mut found);
        }
        finish(found)
    }

    /// Whether `value` is valid, without building messages.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator.is_valid(value)
    }
}

/// Compile `schema`: `Err` says in plain words why it is not a valid JSON
/// Schema (it fails its meta-schema, or a `$ref` does not resolve).
pub fn compile(schema: &Value) -> Result<Compiled, String> {
    ::jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map(|validator| Compiled {
            validator,
            schema: schema.clone(),
        })
        .map_err(|e| schema_error(&e, schema))
}

/// Whether `schema` is a valid JSON Schema: it satisfies the meta-schema of
/// its draft and compiles (every `$ref` resolves within it). `Err` says why
/// not, e.g. `/minItems: must be at least 0`.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    compile(schema).map(|_| ())
}

/// Check `value` against `schema`. An empty list means the value is valid.
/// The order of the violations is deterministic. An invalid schema gives one
/// violation at the root that says so. Compiles `schema` on every call: use
/// [`compile`] to check many values against one schema.
pub fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    match compile(schema) {
        Ok(compiled) => compiled.validate(value),
        Err(reason) => vec![Violation {
            path: String::new(),
            message: format!("cannot be checked: the schema is invalid ({reason})"),
        }],
    }
}

/// A value that satisfies `schema`, chosen deterministically from `seed`:
/// the same schema and seed always give the same value, and different seeds
/// usually give different ones.
///
/// `default` is used when present and valid; `const` is returned as is;
/// `enum` members are picked by seed; numbers lie within their bounds;
/// strings are made of words, respect their length bounds and take the shape
/// of a known `format`; objects carry every listed and every required
/// property (and enough others for `minProperties`); arrays have between
/// `minItems` and `min(maxItems, minItems + 2)` elements. `$ref` is
/// followed, `allOf` merged and a `oneOf`/`anyOf` branch chosen by seed.
///
/// For a schema nothing can satisfy (`false`, `minimum` above `maximum`, …)
/// or one this cannot aim at (`pattern`, `not`), the result is a best effort
/// and may not validate.
pub fn example(schema: &Value, seed: u64) -> Value {
    // Inline every `$ref` that is not circular, so sub-schemas stand alone
    // and can be checked on their own; circular ones are followed lazily.
    let resolved = ::jsonschema::dereference(schema).unwrap_or_else(|_| schema.clone());
    let generator = Generator {
        root: &resolved,
        dialect: schema.get("$schema").filter(|s| s.is_string()),
    };
    generator.value(&resolved, seed, 0)
}

// ---------------------------------------------------------------------------
// Validation: from the crate's errors to violations

/// One step of an instance path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Member(String),
    Index(usize),
}

/// A violation before sorting: its path as steps, whether it is a type
/// mismatch (those sort first and hide the rest at their path).
struct Found {
    steps: Vec<Step>,
    is_type: bool,
    message: String,
}

fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Member(name) if out.is_empty() => out.push_str(name),
            Step::Member(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The steps of the JSON pointer `pointer` into `root`: a token is an index
/// where the value it applies to is an array, a member name otherwise (so a
/// member named "1" stays a member).
fn steps_of(root: &Value, pointer: &str) -> Vec<Step> {
    let mut at = Some(root);
    let mut steps = Vec::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let index = token.parse::<usize>();
        match (at, index) {
            (Some(Value::Array(items)), Ok(i)) => {
                at = items.get(i);
                steps.push(Step::Index(i));
            }
            (Some(Value::Object(members)), _) => {
                at = members.get(&token);
                steps.push(Step::Member(token));
            }
            // Past the end of the instance (not expected): guess by shape.
            (_, Ok(i)) => {
                at = None;
                steps.push(Step::Index(i));
            }
            (_, Err(_)) => {
                at = None;
                steps.push(Step::Member(token));
            }
        }
    }
    steps
}

/// Sorted by path, type mismatches first at a path, then by message;
/// complaints about a value whose type is wrong are dropped, and so are
/// repeats.
fn finish(mut found: Vec<Found>) -> Vec<Violation> {
    found.sort_by(|a, b| {
        a.steps
            .cmp(&b.steps)
            .then_with(|| b.is_type.cmp(&a.is_type))
            .then_with(|| a.message.cmp(&b.message))
    });
    let mut out: Vec<Violation> = Vec::with_capacity(found.len());
    let mut mistyped: Option<&[Step]> = None;
    for f in &found {
        if f.is_type {
            mistyped = Some(&f.steps);
        } else if mistyped.is_some_and(|m| m == f.steps.as_slice()) {
            continue;
        }
        let path = render(&f.steps);
        if out
            .last()
            .is_some_and(|v| v.path == path && v.message == f.message)
        {
            continue;
        }
        out.push(Violation {
            path,
            message: f.message.clone(),
        });
    }
    out
}

/// What errors are read against: the instance their paths point into, and
/// the schema they come from (read for `x-count-noun`; none for meta-schema
/// errors, whose instance is the schema).
#[derive(Clone, Copy)]
struct Source<'a> {
    instance: &'a Value,
    schema: Option<&'a Value>,
}

/// Adds the violations `error` stands for.
fn convert(error: &::jsonschema::ValidationError<'_>, src: Source<'_>, out: &mut Vec<Found>) {
    use ::jsonschema::error::ValidationErrorKind as K;

    let steps = steps_of(src.instance, error.instance_path().as_str());
    let member = |name: &str| {
        let mut steps = steps.clone();
        steps.push(Step::Member(name.to_string()));
        Found {
            steps,
            is_type: false,
            message: "is required".to_string(),
        }
    };
    match error.kind() {
        K::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            out.push(member(&name));
        }
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            out.extend(unexpected.iter().map(|name| Found {
                message: "is not an allowed field".to_string(),
                ..member(name)
            }));
        }
        kind => out.push(Found {
            is_type: matches!(kind, K::Type { .. }),
            message: message(error, &steps, src),
            steps,
        }),
    }
}

/// The message of `error` about the value at `steps`, for every kind but
/// those [`convert`] reports at a member's path.
fn message(error: &::jsonschema::ValidationError<'_>, steps: &[Step], src: Source<'_>) -> String {
    use ::jsonschema::error::{TypeKind, ValidationErrorKind as K};

    let value: &Value = error.instance();
    let noun = |default: &str| {
        count_noun(src.schema, error.schema_path().as_str()).unwrap_or_else(|| default.to_string())
    };
    match error.kind() {
        K::Type { kind } => {
            let wanted: Vec<::jsonschema::JsonType> = match kind {
                TypeKind::Single(t) => vec![*t],
                TypeKind::Multiple(set) => set.iter().collect(),
            };
            format!("must be {}, not {}", type_list(&wanted), type_name(value))
        }
        K::Required { property } => format!("must have the member {property}"),
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            format!("must not have the members {}", unexpected.join(", "))
        }
        K::FalseSchema => "is not allowed here".to_string(),
        K::Constant { expected_value } => format!("must be {}", short(expected_value)),
        K::Enum { options } => match options.as_ref() {
            Value::Array(allowed) => format!(
                "must be one of {}",
                allowed.iter().map(short).collect::<Vec<_>>().join(", ")
            ),
            other => format!("must be one of {}", short(other)),
        },
        K::Minimum { limit } => format!("must be at least {}", number(limit)),
        K::Maximum { limit } => format!("must be at most {}", number(limit)),
        K::ExclusiveMinimum { limit } => format!("must be greater than {}", number(limit)),
        K::ExclusiveMaximum { limit } => format!("must be less than {}", number(limit)),
        K::MultipleOf { multiple_of } => format!("must be a multiple of {}", fmt_num(*multiple_of)),
        K::MinLength { limit } => format!(
            "must be at least {} long, not {}",
            plural(*limit, "character"),
            chars(value)
        ),
        K::MaxLength { limit } => format!(
            "must be at most {} long, not {}",
            plural(*limit, "character"),
            chars(value)
        ),
        K::MinItems { limit } => too_few(size(value), *limit, &noun("item")),
        K::MaxItems { limit } => too_many(size(value), *limit, &noun("item")),
        K::MinProperties { limit } => too_few(size(value), *limit, &noun("field")),
        K::MaxProperties { limit } => too_many(size(value), *limit, &noun("field")),
        K::AdditionalItems { limit } => {
            format!("must have at most {}", plural(*limit as u64, "item"))
        }
        K::UnevaluatedItems { .. } => "has items that are not allowed here".to_string(),
        K::Pattern { pattern } => format!("must match the pattern {pattern}"),
        K::Format { format } => format!("must be {}", format_words(format)),
        K::UniqueItems => "must not contain duplicate items".to_string(),
        K::Contains => "must contain the required number of items matching `contains`".to_string(),
        K::Not { schema } => format!("must not match {}", short(schema)),
        K::AnyOf { context } => format!(
            "must match at least one of {} alternatives (anyOf), but {}",
            context.len(),
            alternatives(context, steps, src)
        ),
        K::OneOfNotValid { context } => format!(
            "must match exactly one of {} alternatives (oneOf), but {}",
            context.len(),
            alternatives(context, steps, src)
        ),
        K::OneOfMultipleValid { .. } => {
            "must match exactly one alternative (oneOf), but matches more than one".to_string()
        }
        K::PropertyNames { error: inner } => {
            // The inner error is about the name, a string with no path.
            let why = message(
                inner,
                &[],
                Source {
                    instance: inner.instance(),
                    ..src
                },
            );
            format!("has a field name {} that {why}", short(inner.instance()))
        }
        K::ContentEncoding { content_encoding } => format!("must be {content_encoding}-encoded"),
        K::ContentMediaType { content_media_type } => {
            format!("must be valid {content_media_type}")
        }
        K::Custom { message, .. } => message.clone(),
        K::Referencing(e) => format!("cannot be checked: {e}"),
        // Regex engine failures, and kinds a later version may add.
        _ => format!("cannot be checked: {error}"),
    }
}

/// "but <the first complaint about each alternative>" for `anyOf`/`oneOf`,
/// with paths relative to the value at `steps`.
fn alternatives(
    context: &[Vec<::jsonschema::ValidationError<'static>>],
    steps: &[Step],
    src: Source<'_>,
) -> String {
    const SHOWN: usize = 3;
    let firsts: Vec<String> = context
        .iter()
        .take(SHOWN)
        .filter_map(|errors| {
            let mut found = Vec::new();
            for e in errors {
                convert(e, src, &mut found);
            }
            for f in &mut found {
                if f.steps.starts_with(steps) {
                    f.steps.drain(..steps.len());
                }
            }
            finish(found).into_iter().next()
        })
        .map(|v| {
            if v.path.is_empty() {
                v.message
            } else {
                format!("{} {}", v.path, v.message)
            }
        })
        .collect();
    let mut text = if firsts.is_empty() {
        "matches none".to_string()
    } else {
        firsts.join("; or ")
    };
    if context.len() > SHOWN {
        text.push_str("; or …");
    }
    text
}

/// `x-count-noun` of the schema holding the keyword at `keyword_path`.
fn count_noun(schema: Option<&Value>, keyword_path: &str) -> Option<String> {
    let (parent, keyword) = keyword_path.rsplit_once('/')?;
    let node = schema?.pointer(parent)?;
    node.get(keyword)?;
    node.get("x-count-noun")?.as_str().map(str::to_string)
}

fn schema_error(error: &::jsonschema::ValidationError<'_>, schema: &Value) -> String {
    use ::jsonschema::error::ValidationErrorKind as K;
    match error.kind() {
        // Nothing is fetched, so a reference to another document cannot
        // resolve; say that rather than which crate feature would fetch it.
        K::Referencing(::jsonschema::ReferencingError::Unretrievable { uri, .. }) => {
            return format!(
                "$ref '{uri}' points outside the schema; only references within it resolve"
            );
        }
        K::Referencing(e) => return e.to_string(),
        _ => {}
    }
    // A meta-schema error: its instance is (part of) the schema.
    let mut found = Vec::new();
    let src = Source {
        instance: schema,
        schema: None,
    };
    convert(error, src, &mut found);
    let why = finish(found)
        .into_iter()
        .next()
        .map_or_else(|| error.to_string(), |v| v.message);
    let at = error.instance_path().as_str();
    if at.is_empty() {
        why
    } else {
        format!("{at}: {why}")
    }
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

/// "a string or null", "an integer or a number": `null` last.
fn type_list(types: &[::jsonschema::JsonType]) -> String {
    let mut names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    names.sort_by(|a, b| match (*a == "null", *b == "null") {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => Ordering::Equal,
    });
    names
        .iter()
        .map(|t| article(t))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn article(ty: &str) -> String {
    match ty {
        "null" => "null".to_string(),
        "integer" | "object" | "array" => format!("an {ty}"),
        _ => format!("a {ty}"),
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

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn number(limit: &Value) -> String {
    limit
        .as_f64()
        .filter(|f| f.is_finite())
        .map_or_else(|| limit.to_string(), fmt_num)
}

/// "1 item", "2 items".
fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn size(value: &Value) -> u64 {
    match value {
        Value::Array(items) => items.len() as u64,
        Value::Object(members) => members.len() as u64,
        _ => 0,
    }
}

/// "has 1 level; at least 2 levels are needed".
fn too_few(n: u64, limit: u64, noun: &str) -> String {
    let verb = if limit == 1 { "is" } else { "are" };
    format!(
        "has {}; at least {} {verb} needed",
        plural(n, noun),
        plural(limit, noun)
    )
}

/// "has 6 levels; at most 5 levels are allowed".
fn too_many(n: u64, limit: u64, noun: &str) -> String {
    let verb = if limit == 1 { "is" } else { "are" };
    format!(
        "has {}; at most {} {verb} allowed",
        plural(n, noun),
        plural(limit, noun)
    )
}

/// What a value of `format` is, after "must be".
fn format_words(format: &str) -> String {
    let what = match format {
        "email" | "idn-email" => "email address",
        "date-time" => "date and time (RFC 3339, e.g. 2025-05-01T12:00:00Z)",
        "date" => "date (YYYY-MM-DD)",
        "time" => "time (RFC 3339, e.g. 12:00:00Z)",
        "duration" => "ISO 8601 duration (e.g. P1DT2H)",
        "uuid" => "UUID",
        "uri" | "iri" => "absolute URI",
        "uri-reference" | "iri-reference" => "URI reference",
        "uri-template" => "URI template",
        "hostname" | "idn-hostname" => "hostname",
        "ipv4" => "IPv4 address",
        "ipv6" => "IPv6 address",
        "json-pointer" => "JSON pointer",
        "relative-json-pointer" => "relative JSON pointer",
        "regex" => "regular expression",
        other => return format!("in the \"{other}\" format"),
    };
    format!("a valid {what}")
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

fn word(seed: u64) -> &'static str {
    WORDS[(mix(seed) % WORDS.len() as u64) as usize]
}

/// The type names listed in `type`, if any.
fn type_list_of(schema: &Map<String, Value>) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => None,
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
/// when both an inclusive and an exclusive bound are given. The draft-4
/// boolean `exclusiveMinimum` is understood.
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

/// `sub`'s keywords added to `base`: `properties` and `required` are
/// united, any other keyword `base` already has is kept.
fn merge_into(base: &mut Map<String, Value>, sub: &Value) {
    let Some(sub) = sub.as_object() else { return };
    for (key, value) in sub {
        match (key.as_str(), base.get_mut(key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (name, schema) in theirs {
                    mine.entry(name.clone()).or_insert_with(|| schema.clone());
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(name) {
                        mine.push(name.clone());
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, _) => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

struct Generator<'a> {
    /// The whole schema, `$ref`s inlined where not circular.
    root: &'a Value,
    /// The root's `$schema`, given to sub-schemas checked on their own.
    dialect: Option<&'a Value>,
}

impl Generator<'_> {
    /// Whether `value` satisfies the sub-schema `schema` (false when the
    /// sub-schema cannot be compiled on its own).
    fn valid(&self, schema: &Value, value: &Value) -> bool {
        let compiled = match (schema, self.dialect) {
            (Value::Object(map), Some(dialect)) if !map.contains_key("$schema") => {
                let mut map = map.clone();
                map.insert("$schema".into(), dialect.clone());
                compile(&Value::Object(map))
            }
            _ => compile(schema),
        };
        compiled.is_ok_and(|c| c.is_valid(value))
    }

    fn value(&self, schema: &Value, seed: u64, depth: usize) -> Value {
        let map = match schema {
            Value::Object(map) => map,
            // `true`, `false` or not a schema: nothing better to offer.
            _ => return Value::Null,
        };

        // A `$ref` still here is circular: follow it, a level deeper.
        if let Some(target) = map
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| self.root.pointer(pointer))
            && depth < 2 * MAX_DEPTH
        {
            let mut merged = map.clone();
            merged.remove("$ref");
            merge_into(&mut merged, target);
            return self.value(&Value::Object(merged), seed, depth + 1);
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            let mut merged = map.clone();
            merged.remove("allOf");
            for part in parts {
                merge_into(&mut merged, part);
            }
            return self.value(&Value::Object(merged), seed, depth);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = map.get(key)
                && !branches.is_empty()
            {
                let mut rest = map.clone();
                rest.remove(key);
                let start = (mix(seed) % branches.len() as u64) as usize;
                let mut first = None;
                for k in 0..branches.len() {
                    let mut merged = rest.clone();
                    merge_into(&mut merged, &branches[(start + k) % branches.len()]);
                    let candidate = self.value(&Value::Object(merged), seed, depth);
                    if self.valid(schema, &candidate) {
                        return candidate;
                    }
                    first.get_or_insert(candidate);
                }
                return first.unwrap_or(Value::Null);
            }
        }

        if let Some(c) = map.get("const") {
            return c.clone();
        }
        if let Some(d) = map.get("default")
            && self.valid(schema, d)
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
                if self.valid(schema, candidate) {
                    return candidate.clone();
                }
            }
            return allowed[start].clone();
        }

        match pick_type(map) {
            "null" => Value::Null,
            "boolean" => Value::Bool(mix(seed) & 1 == 1),
            "integer" => gen_integer(map, seed),
            "number" => self.number(map, seed),
            "array" => self.array(map, seed, depth),
            "object" => self.object(map, seed, depth),
            _ => Value::String(
                map.get("format")
                    .and_then(Value::as_str)
                    .and_then(|f| gen_format(f, seed))
                    .unwrap_or_else(|| gen_string(map, seed)),
            ),
        }
    }

    fn number(&self, map: &Map<String, Value>, seed: u64) -> Value {
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
        let step = num(map, "multipleOf").filter(|m| *m > 0.0);
        let schema = Value::Object(map.clone());
        let mut candidates = vec![(raw * 100.0).round() / 100.0, raw];
        if let Some(m) = step {
            let k = (raw / m).round();
            candidates.splice(0..0, [k * m, (k + 1.0) * m, (k - 1.0) * m]);
        }
        for candidate in candidates {
            if let Some(n) = serde_json::Number::from_f64(candidate) {
                let v = Value::Number(n);
                if self.valid(&schema, &v) {
                    return v;
                }
            }
        }
        serde_json::Number::from_f64(lo).map_or(Value::Null, Value::Number)
    }

    fn array(&self, map: &Map<String, Value>, seed: u64, depth: usize) -> Value {
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
                .map(|i| self.value(item_schema, derive(seed, &format!("[{i}]")), depth + 1))
                .collect(),
        )
    }

    fn object(&self, map: &Map<String, Value>, seed: u64, depth: usize) -> Value {
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
                out.insert(name.clone(), self.value(sub, derive(seed, name), depth + 1));
            }
        }
        // Members without a schema of their own: the required ones, then
        // enough others for `minProperties`.
        let string_schema = Value::Object(Map::from_iter([(
            "type".to_string(),
            Value::String("string".to_string()),
        )]));
        let others = match map.get("additionalProperties") {
            Some(s @ Value::Object(_)) => s,
            _ => &string_schema,
        };
        for name in required {
            if !out.contains_key(name) {
                out.insert(
                    name.to_string(),
                    self.value(others, derive(seed, name), depth + 1),
                );
            }
        }
        let wanted = count(map, "minProperties").unwrap_or(0).min(100) as usize;
        let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
        let mut i = 0u64;
        while out.len() < wanted && !closed && i < 1_000 {
            let name = format!("{}_{}", word(derive(seed, &format!("key{i}"))), i + 1);
            if !out.contains_key(&name) {
                let member = self.value(others, derive(seed, &name), depth + 1);
                out.insert(name, member);
            }
            i += 1;
        }
        Value::Object(out)
    }
}

/// The type to generate: the first non-null listed type, else one inferred
/// from the keywords present.
fn pick_type(map: &Map<String, Value>) -> &str {
    const KNOWN: &[&str] = &[
        "null", "boolean", "object", "array", "number", "string", "integer",
    ];
    if let Some(types) = type_list_of(map) {
        let known: Vec<&str> = types.into_iter().filter(|t| KNOWN.contains(t)).collect();
        if let Some(t) = known.iter().find(|t| **t != "null").or(known.first()) {
            return t;
        }
    }
    let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    if has(&[
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "patternProperties",
    ]) {
        "object"
    } else if has(&["items", "minItems", "maxItems", "prefixItems", "contains"]) {
        "array"
    } else if has(&[
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]) {
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
    // Only multiples of `multipleOf`, when it is a whole number.
    let step = num(map, "multipleOf")
        .filter(|m| *m >= 1.0 && m.fract() == 0.0 && *m < limit)
        .map_or(1, |m| m as i64);
    let mut first = lo.div_euclid(step) * step;
    if first < lo {
        first += step;
    }
    let last = hi.div_euclid(step) * step;
    if last < first {
        // Nothing fits: best effort.
        return Value::from(lo);
    }
    let span = ((last - first) / step) as u64 + 1;
    Value::from(first + (mix(seed) % span) as i64 * step)
}

/// A string of the shape `format` asks for, if it is one this knows.
fn gen_format(format: &str, seed: u64) -> Option<String> {
    let n = mix(seed);
    let w = word(seed);
    Some(match format {
        "email" | "idn-email" => format!("{w}@example.com"),
        "date-time" => format!(
            "2025-{:02}-{:02}T{:02}:{:02}:00Z",
            n % 12 + 1,
            (n >> 8) % 28 + 1,
            (n >> 16) % 24,
            (n >> 24) % 60
        ),
        "date" => format!("2025-{:02}-{:02}", n % 12 + 1, (n >> 8) % 28 + 1),
        "time" => format!("{:02}:{:02}:00Z", (n >> 16) % 24, (n >> 24) % 60),
        "duration" => format!("PT{}M", n % 120 + 1),
        "uuid" => {
            let hex = format!("{:016x}{:016x}", n, mix(n));
            format!(
                "{}-{}-4{}-8{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[13..16],
                &hex[17..20],
                &hex[20..32]
            )
        }
        "uri" | "iri" | "uri-template" => format!("https://example.com/{w}"),
        "uri-reference" | "iri-reference" | "json-pointer" => format!("/{w}"),
        "relative-json-pointer" => "0".to_string(),
        "hostname" | "idn-hostname" => format!("{w}.example.com"),
        "ipv4" => format!("192.0.2.{}", n % 254 + 1),
        "ipv6" => format!("2001:db8::{:x}", n % 0xffff + 1),
        "regex" => format!("^{w}$"),
        _ => return None,
    })
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

    fn one(path: &str, message: &str) -> Vec<Violation> {
        vec![Violation {
            path: path.into(),
            message: message.into(),
        }]
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
    fn a_type_mismatch_hides_the_other_complaints_about_that_value() {
        let s = json!({"type": "string", "enum": ["a", "b"], "minLength": 3});
        assert_eq!(
            messages(&s, &json!(3)),
            vec!["must be a string, not an integer"]
        );
        assert_eq!(
            messages(&s, &json!("c")),
            vec![
                "must be at least 3 characters long, not 1",
                r#"must be one of "a", "b""#
            ]
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
    fn pointers_become_dotted_paths_with_indices_only_in_arrays() {
        let s = json!({
            "type": "object",
            "properties": {"factors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "number"}}
            }}
        });
        let v = json!({"factors": {"temperature": [0.1, "hot"], "7": ["x"], "a/b~c": [true]}});
        assert_eq!(
            paths(&s, &v),
            vec!["factors.7[0]", "factors.a/b~c[0]", "factors.temperature[1]"]
        );
        // Indices sort as numbers.
        let many = json!({"type": "array", "items": {"type": "string"}});
        let mut bad = vec![json!("ok"); 12];
        bad[2] = json!(2);
        bad[10] = json!(10);
        assert_eq!(paths(&many, &Value::Array(bad)), vec!["[2]", "[10]"]);
    }

    #[test]
    fn min_and_max_items() {
        let s = json!({"type": "array", "minItems": 1, "maxItems": 2});
        assert_eq!(
            messages(&s, &json!([])),
            vec!["has 0 items; at least 1 item is needed"]
        );
        assert!(validate(&s, &json!([1])).is_empty());
        assert!(validate(&s, &json!([1, 2])).is_empty());
        assert_eq!(
            messages(&s, &json!([1, 2, 3])),
            vec!["has 3 items; at most 2 items are allowed"]
        );
    }

    #[test]
    fn count_noun_names_what_is_counted() {
        let s = json!({
            "type": "object",
            "minProperties": 1,
            "x-count-noun": "factor",
            "additionalProperties": {"$ref": "#/$defs/levels"},
            "$defs": {"levels": {"type": "array", "minItems": 2, "maxItems": 5, "x-count-noun": "level"}}
        });
        assert_eq!(
            validate(&s, &json!({})),
            one("", "has 0 factors; at least 1 factor is needed")
        );
        assert_eq!(
            validate(&s, &json!({"temperature": [1]})),
            one("temperature", "has 1 level; at least 2 levels are needed")
        );
        assert_eq!(
            validate(&s, &json!({"t": [1, 2, 3, 4, 5, 6]})),
            one("t", "has 6 levels; at most 5 levels are allowed")
        );
        assert!(check_schema(&s).is_ok());
    }

    #[test]
    fn additional_properties() {
        let closed =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        assert!(validate(&closed, &json!({"a": 1})).is_empty());
        let v = validate(&closed, &json!({"a": 1, "b": 2}));
        assert_eq!(v, one("b", "is not an allowed field"));
        let nested = json!({"type": "object", "properties": {"input": closed}});
        assert_eq!(
            validate(&nested, &json!({"input": {"foo": 1, "bar": 2}})),
            vec![
                Violation {
                    path: "input.bar".into(),
                    message: "is not an allowed field".into()
                },
                Violation {
                    path: "input.foo".into(),
                    message: "is not an allowed field".into()
                },
            ]
        );
        let typed = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "number"}});
        assert!(validate(&typed, &json!({"a": "x", "b": 2})).is_empty());
        assert_eq!(paths(&typed, &json!({"a": "x", "b": "y"})), vec!["b"]);
        // Absent or true: anything goes.
        assert!(validate(&json!({"type": "object"}), &json!({"z": 1})).is_empty());
        // unevaluatedProperties names the member too.
        let unevaluated =
            json!({"allOf": [{"properties": {"a": {}}}], "unevaluatedProperties": false});
        assert_eq!(
            validate(&unevaluated, &json!({"a": 1, "z": 2})),
            one("z", "is not an allowed field")
        );
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
        assert_eq!(
            messages(&json!({"multipleOf": 5}), &json!(12)),
            vec!["must be a multiple of 5"]
        );
    }

    #[test]
    fn a_schema_may_name_an_older_draft() {
        // Draft 4: boolean exclusive bounds, and `integer` refuses 3.0.
        let d4 = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "minimum": 1, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": true
        });
        assert_eq!(validate(&d4, &json!(1)).len(), 1);
        assert_eq!(validate(&d4, &json!(5)).len(), 1);
        assert!(validate(&d4, &json!(3)).is_empty());
        // The same keywords are invalid in 2020-12, the default.
        let mut d2020 = d4.clone();
        d2020.as_object_mut().unwrap().remove("$schema");
        assert!(check_schema(&d2020).is_err());
        let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer"});
        assert!(validate(&d7, &json!(3.0)).is_empty());
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
    fn ref_and_defs() {
        let s = json!({
            "$defs": {
                "score": {"type": "integer", "minimum": 0, "maximum": 10},
                "item": {"type": "object", "required": ["score"], "properties": {"score": {"$ref": "#/$defs/score"}}}
            },
            "type": "array",
            "items": {"$ref": "#/$defs/item"}
        });
        assert!(validate(&s, &json!([{"score": 3}])).is_empty());
        assert_eq!(
            validate(&s, &json!([{"score": 3}, {"score": 11}, {}])),
            vec![
                Violation {
                    path: "[1].score".into(),
                    message: "must be at most 10".into()
                },
                Violation {
                    path: "[2].score".into(),
                    message: "is required".into()
                },
            ]
        );
    }

    #[test]
    fn pattern_and_formats_are_asserted() {
        let s = json!({"type": "string", "pattern": "^[a-z]+-[0-9]+$"});
        assert!(validate(&s, &json!("scene-12")).is_empty());
        assert_eq!(
            messages(&s, &json!("Scene 12")),
            vec!["must match the pattern ^[a-z]+-[0-9]+$"]
        );
        let email = json!({"type": "string", "format": "email"});
        assert!(validate(&email, &json!("ana@example.com")).is_empty());
        assert_eq!(
            messages(&email, &json!("not an address")),
            vec!["must be a valid email address"]
        );
        let stamps = json!({"properties": {
            "at": {"format": "date-time"}, "id": {"format": "uuid"}, "on": {"format": "date"}
        }});
        assert!(
            validate(
                &stamps,
                &json!({"at": "2025-05-01T12:00:00Z", "id": "0190b2a4-7c1e-7d3a-9f00-1234567890ab", "on": "2025-05-01"})
            )
            .is_empty()
        );
        assert_eq!(
            paths(
                &stamps,
                &json!({"at": "2025-05-01", "id": "42", "on": "May 1st"})
            ),
            vec!["at", "id", "on"]
        );
        assert_eq!(
            messages(&stamps, &json!({"id": "42"})),
            vec!["must be a valid UUID"]
        );
        // A format the specification does not define is ignored; a format
        // only constrains strings.
        assert!(validate(&json!({"format": "markdown"}), &json!("# hi")).is_empty());
        assert!(validate(&email, &json!(null)).len() == 1);
        assert!(validate(&json!({"format": "email"}), &json!(3)).is_empty());
    }

    #[test]
    fn one_of_any_of_all_of_not() {
        let s = json!({"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]});
        assert!(validate(&s, &json!("x")).is_empty());
        assert!(validate(&s, &json!(4)).is_empty());
        assert_eq!(
            messages(&s, &json!(-1)),
            vec![
                "must match exactly one of 2 alternatives (oneOf), but must be a string, not an integer; or must be at least 0"
            ]
        );
        let both = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert_eq!(
            messages(&both, &json!(1)),
            vec!["must match exactly one alternative (oneOf), but matches more than one"]
        );
        let any = json!({"properties": {"contact": {"anyOf": [
            {"type": "string", "format": "email"},
            {"type": "object", "required": ["phone"]}
        ]}}});
        assert!(validate(&any, &json!({"contact": {"phone": "1"}})).is_empty());
        assert_eq!(
            validate(&any, &json!({"contact": {}})),
            one(
                "contact",
                "must match at least one of 2 alternatives (anyOf), but must be a string, not an object; or phone is required"
            )
        );
        let all = json!({"allOf": [{"required": ["a"]}, {"required": ["b"]}]});
        assert_eq!(paths(&all, &json!({})), vec!["a", "b"]);
        assert_eq!(
            messages(&json!({"not": {"type": "string"}}), &json!("s")),
            vec![r#"must not match {"type":"string"}"#]
        );
    }

    #[test]
    fn min_properties_and_if_then_else() {
        let s = json!({"type": "object", "minProperties": 1, "maxProperties": 2});
        assert_eq!(
            validate(&s, &json!({})),
            one("", "has 0 fields; at least 1 field is needed")
        );
        assert_eq!(
            messages(&s, &json!({"a": 1, "b": 2, "c": 3})),
            vec!["has 3 fields; at most 2 fields are allowed"]
        );
        let cond = json!({
            "if": {"properties": {"kind": {"const": "email"}}, "required": ["kind"]},
            "then": {"required": ["address"]},
            "else": {"required": ["url"]}
        });
        assert_eq!(paths(&cond, &json!({"kind": "email"})), vec!["address"]);
        assert_eq!(paths(&cond, &json!({"kind": "hook"})), vec!["url"]);
    }

    #[test]
    fn boolean_schemas_and_annotations() {
        let s = json!({"type": "string", "default": 5, "description": "d", "title": "t", "x-anything": 1});
        assert!(validate(&s, &json!("anything")).is_empty());
        assert!(validate(&json!(true), &json!(1)).is_empty());
        assert!(validate(&json!({}), &json!([1, {"a": null}])).is_empty());
        assert_eq!(
            messages(&json!(false), &json!(1)),
            vec!["is not allowed here"]
        );
        assert_eq!(
            validate(&json!({"properties": {"a": false}}), &json!({"a": 1})),
            one("a", "is not allowed here")
        );
    }

    #[test]
    fn an_invalid_schema_is_one_violation_at_the_root() {
        for (schema, says) in [
            (json!({"type": "strin"}), "/type"),
            (json!({"minItems": -1}), "/minItems: must be at least 0"),
            (json!({"$ref": "#/$defs/missing"}), "/$defs/missing"),
            (json!({"$ref": "https://example.com/s.json"}), "example.com"),
            (json!({"pattern": "(unclosed"}), "/pattern"),
            (
                json!({"$schema": "https://example.com/mine", "type": "string"}),
                "example.com/mine",
            ),
            (json!(3), "must be"),
        ] {
            let v = validate(&schema, &json!("x"));
            assert_eq!(v.len(), 1, "{schema}: {v:?}");
            assert_eq!(v[0].path, "");
            assert!(
                v[0].message
                    .starts_with("cannot be checked: the schema is invalid (")
                    && v[0].message.contains(says),
                "{schema}: {}",
                v[0].message
            );
            let reason = check_schema(&schema).unwrap_err();
            assert!(reason.contains(says), "{schema}: {reason}");
            assert!(compile(&schema).is_err());
        }
    }

    #[test]
    fn check_schema_accepts_valid_schemas() {
        for schema in schemas() {
            assert_eq!(check_schema(&schema), Ok(()), "{schema}");
        }
        assert_eq!(check_schema(&json!(true)), Ok(()));
        assert_eq!(check_schema(&json!({})), Ok(()));
        let defs = json!({"$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a"});
        assert_eq!(check_schema(&defs), Ok(()));
    }

    #[test]
    fn compiled_validates_many_values() {
        let compiled = compile(&json!({"type": "integer", "maximum": 3})).unwrap();
        assert!(compiled.validate(&json!(2)).is_empty());
        assert!(compiled.is_valid(&json!(3)));
        assert_eq!(compiled.validate(&json!(4)), one("", "must be at most 3"));
        assert_eq!(
            compiled.validate(&json!(4))[0].to_string(),
            "the value must be at most 3"
        );
    }

    #[test]
    fn property_names_and_unique_items() {
        let s = json!({"propertyNames": {"pattern": "^[a-z]+$"}});
        assert_eq!(
            validate(&s, &json!({"Ab": 1})),
            one(
                "",
                r#"has a field name "Ab" that must match the pattern ^[a-z]+$"#
            )
        );
        assert_eq!(
            messages(&json!({"uniqueItems": true}), &json!([1, 1])),
            vec!["must not contain duplicate items"]
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
        assert_eq!(paths(&s, &v), vec!["a", "b", "c", "d", "e"]);
        for _ in 0..5 {
            assert_eq!(validate(&s, &v), first);
        }
    }

    #[test]
    fn built_in_input_schemas_are_valid_and_refuse_what_their_types_refuse() {
        use crate::engine::Workflow;
        use crate::workflows::run_experiment::RunExperiment;

        let registry = crate::workflows::builtin();
        for wf in registry.all() {
            assert_eq!(check_schema(&wf.input_schema()), Ok(()), "{}", wf.name());
        }
        let schema = RunExperiment.input_schema();
        let no_factors = json!({"factors": {}, "briefs": [{"prompt": "x"}]});
        assert_eq!(
            validate(&schema, &no_factors),
            one("factors", "has 0 factors; at least 1 factor is needed")
        );
        let one_level = json!({"factors": {"temperature": [{"temperature": 0.3}]}, "briefs": [{"prompt": "x"}]});
        let v = validate(&schema, &one_level);
        assert_eq!(v[0].path, "factors.temperature");
        assert!(v[0].message.contains("at least 2 levels"), "{v:?}");
        let typo = json!({"factors": {"t": [{"temperature": 0.3}, {"temprature": 1}]}, "briefs": [{"prompt": "x"}]});
        assert_eq!(
            validate(&schema, &typo),
            one("factors.t[1].temprature", "is not an allowed field")
        );
        let bad_base = json!({"factors": {"t": [{}, {"top_p": 0.5}]}, "briefs": [{"prompt": "x"}], "base_config": {"temperature": 9}});
        assert_eq!(paths(&schema, &bad_base), vec!["base_config.temperature"]);
        let good = json!({"factors": {"t": [{"temperature": 0.3}, {"temperature": 1.0}]}, "briefs": [{"prompt": "x"}]});
        assert!(validate(&schema, &good).is_empty());
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
            json!({"type": "integer", "minimum": -20, "maximum": 40, "multipleOf": 7}),
            json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001}),
            json!({"type": "number", "maximum": -50}),
            json!({"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.25}),
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
            json!({"type": "object", "required": ["who", "when", "id", "site"], "properties": {
                "who": {"type": "string", "format": "email"},
                "when": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "format": "uuid"},
                "site": {"type": "string", "format": "uri"},
                "day": {"format": "date"},
                "host": {"format": "hostname"},
                "ip": {"format": "ipv4"}
            }}),
            json!({
                "$defs": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
                "type": "object",
                "required": ["scores"],
                "properties": {"scores": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/score"}}}
            }),
            json!({"oneOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 100}]}),
            json!({"anyOf": [{"type": "object", "required": ["a"]}, {"type": "array", "minItems": 1}]}),
            json!({"allOf": [
                {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
                {"required": ["b"], "properties": {"b": {"type": "string", "minLength": 2}}}
            ]}),
            json!({"type": "object", "minProperties": 2, "additionalProperties": {"type": "array", "minItems": 2, "items": {"type": "boolean"}}}),
            json!({
                "$defs": {"node": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                }}},
                "$ref": "#/$defs/node"
            }),
            json!({
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1
            }),
        ]
    }

    #[test]
    fn examples_validate_and_are_deterministic() {
        for schema in schemas() {
            let compiled = compile(&schema).unwrap();
            for seed in 0..200u64 {
                let ex = example(&schema, seed);
                let violations = compiled.validate(&ex);
                assert!(
                    violations.is_empty(),
                    "schema {schema} seed {seed}: {ex} -> {violations:?}"
                );
                assert_eq!(example(&schema, seed), ex);
            }
        }
    }

    #[test]
    fn examples_of_built_in_input_schemas_validate() {
        let registry = crate::workflows::builtin();
        for wf in registry.all() {
            let schema = wf.input_schema();
            let compiled = compile(&schema).unwrap();
            for seed in 0..20u64 {
                let ex = example(&schema, seed);
                assert!(
                    compiled.is_valid(&ex),
                    "{}: {ex} -> {:?}",
                    wf.name(),
                    compiled.validate(&ex)
                );
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
        let either = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        let kinds: std::collections::BTreeSet<&str> = (0..20)
            .map(|seed| type_name(&example(&either, seed)))
            .collect();
        assert_eq!(kinds.len(), 2, "both branches are used: {kinds:?}");
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
        // So does a schema that refers to itself.
        let tree = json!({"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}});
        let ex = example(&tree, 4);
        assert!(validate(&tree, &ex).is_empty(), "{ex}");
    }
}
