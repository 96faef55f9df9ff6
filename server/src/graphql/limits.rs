//! What one GraphQL document and its inputs may ask for (see the README,
//! "Limits"): the checks async-graphql does not make, and clear errors for
//! the ones it does (depth, complexity).
//!
//! A refused document gets `extensions.code` `GRAPHQL_VALIDATION_FAILED`
//! and `extensions.limit` naming the limit; an input over a size limit gets
//! `BAD_USER_INPUT` with `extensions.field`. The checks run, cheapest
//! first, before anything executes: tokens on the raw text (before it is
//! parsed), input sizes on the variables, then aliases, duplicated fields,
//! directives, introspection nesting and literal sizes on the parsed
//! document, then depth and complexity from validation.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    ErrorExtensionValues, Name, Pos, Positioned, Request, ServerError, ServerResult,
    ValidationResult, Value, Variables,
};

use crate::config::GraphqlLimits;
use crate::error::ErrorCode;

/// The names clients see in `extensions.limit`.
pub mod limit {
    pub const DEPTH: &str = "depth";
    pub const COMPLEXITY: &str = "complexity";
    pub const ALIASES: &str = "aliases";
    pub const DUPLICATE_FIELDS: &str = "duplicateFields";
    pub const DIRECTIVES: &str = "directives";
    pub const TOKENS: &str = "tokens";
    pub const INTROSPECTION_NESTING: &str = "introspectionNesting";
    pub const STRING_BYTES: &str = "stringBytes";
    pub const JSON_BYTES: &str = "jsonBytes";
    pub const INTROSPECTION: &str = "introspection";
}

/// How much a list field without `first` multiplies its selection by in the
/// complexity estimate (its length is not known before it runs).
pub const LIST_COST: usize = 10;

/// The complexity of a connection field: its selection, `first` times
/// (default page when absent). Saturates, so an absurd `first` is refused
/// by the limit instead of overflowing.
///
/// async-graphql computes it from the arguments alone (no schema data), so
/// it cannot see `BATON_MAX_PAGE_SIZE`: `first` is costed as asked, and a
/// `first` over the maximum that the cost lets through is refused as
/// `BAD_USER_INPUT` (field `first`) when the field runs. Without `first`
/// it costs the default page even where a smaller maximum shrinks the page:
/// an overestimate, never an underestimate.
pub fn connection_cost(first: Option<i32>, child: usize) -> usize {
    let n = first.unwrap_or(crate::domain::page::DEFAULT_PAGE).max(1) as usize;
    n.saturating_mul(child).saturating_add(1).min(1 << 40)
}

/// The complexity of a list field (see `LIST_COST`).
pub fn list_cost(child: usize) -> usize {
    LIST_COST
        .saturating_mul(child)
        .saturating_add(1)
        .min(1 << 40)
}

/// The schema extension that enforces `GraphqlLimits`.
pub struct Limits(pub Arc<GraphqlLimits>);

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension(self.0.clone()))
    }
}

struct LimitsExtension(Arc<GraphqlLimits>);

fn refusal(code: ErrorCode, limit: &str, message: String, pos: Option<Pos>) -> ServerError {
    let mut err = ServerError::new(message, pos);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    ext.set("limit", limit);
    err.extensions = Some(ext);
    err
}

fn over(limit: &str, message: String, pos: Option<Pos>) -> ServerError {
    refusal(ErrorCode::GraphqlValidationFailed, limit, message, pos)
}

fn too_big(limit: &str, field: &str, message: String, pos: Option<Pos>) -> ServerError {
    let mut err = refusal(ErrorCode::BadUserInput, limit, message, pos);
    if let Some(ext) = err.extensions.as_mut() {
        ext.set("field", field);
    }
    err
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let l = &self.0;
        let tokens = count_tokens(&request.query, l.max_tokens);
        if tokens > l.max_tokens {
            return Err(over(
                limit::TOKENS,
                format!(
                    "the document has more than {} tokens (BATON_MAX_TOKENS)",
                    l.max_tokens
                ),
                None,
            ));
        }
        check_variables(l, &request.variables)?;
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await.map_err(|e| {
            // async-graphql's own nesting guard (it stops runaway recursion
            // before validation) is the depth limit to a client.
            if e.message.starts_with("The recursion depth of the query")
                || e.message.starts_with("recursion limit exceeded")
            {
                over(
                    limit::DEPTH,
                    format!(
                        "the query is nested deeper than {} levels (BATON_MAX_DEPTH)",
                        self.0.max_depth
                    ),
                    e.locations.first().copied(),
                )
            } else {
                e
            }
        })?;
        check_document(&self.0, &doc)?;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let l = &self.0;
        if result.depth > l.max_depth {
            return Err(vec![over(
                limit::DEPTH,
                format!(
                    "the query is nested {} levels deep; at most {} are allowed (BATON_MAX_DEPTH)",
                    result.depth, l.max_depth
                ),
                None,
            )]);
        }
        if result.complexity > l.max_complexity {
            return Err(vec![over(
                limit::COMPLEXITY,
                format!(
                    "the query's complexity is {}; at most {} is allowed (BATON_MAX_COMPLEXITY). \
                     Each field costs 1, a connection multiplies its selection by `first`, a list by {LIST_COST}: \
                     ask for smaller pages or fewer nested lists",
                    result.complexity, l.max_complexity
                ),
                None,
            )]);
        }
        Ok(result)
    }
}

/// Counts the lexical tokens of a GraphQL document, stopping once past
/// `stop_after`: one pass over the bytes, no allocation, so a huge document
/// costs little before it is refused. Whitespace, commas and comments are
/// ignored, as the grammar says; any byte the grammar does not know counts
/// as a token of its own.
pub fn count_tokens(query: &str, stop_after: usize) -> usize {
    let b = query.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() && n <= stop_after {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                n += 1;
                if b[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                        i += if b[i..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if b[i..].starts_with(b"...") => {
                n += 1;
                i += 3;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                n += 1;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                n += 1;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                n += 1;
                i += 1;
            }
        }
    }
    n
}

/// String and object/list sizes of the variables.
fn check_variables(l: &GraphqlLimits, variables: &Variables) -> ServerResult<()> {
    for (name, value) in variables.iter() {
        check_const(l, value, &mut format!("${name}"), true)?;
    }
    Ok(())
}

fn check_const(l: &GraphqlLimits, v: &Value, path: &mut String, outer: bool) -> ServerResult<()> {
    match v {
        Value::String(s) if s.len() > l.max_string_bytes => {
            Err(string_too_big(l, path, s.len(), None))
        }
        Value::List(_) | Value::Object(_) if outer => {
            let size = json_size(v, l.max_json_bytes);
            if size > l.max_json_bytes {
                return Err(json_too_big(l, path, None));
            }
            check_const(l, v, path, false)
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_const(l, item, path, false)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (k, item) in fields {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                check_const(l, item, path, false)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn string_too_big(l: &GraphqlLimits, path: &str, len: usize, pos: Option<Pos>) -> ServerError {
    too_big(
        limit::STRING_BYTES,
        path,
        format!(
            "{path} is {len} bytes long; strings may be at most {} bytes (BATON_MAX_STRING_BYTES)",
            l.max_string_bytes
        ),
        pos,
    )
}

fn json_too_big(l: &GraphqlLimits, path: &str, pos: Option<Pos>) -> ServerError {
    too_big(
        limit::JSON_BYTES,
        path,
        format!(
            "{path} is larger than {} bytes as JSON (BATON_MAX_JSON_BYTES)",
            l.max_json_bytes
        ),
        pos,
    )
}

/// The size of `v` written as compact JSON (exact for strings without
/// escapes), stopping once past `stop_after`.
fn json_size(v: &Value, stop_after: usize) -> usize {
    fn walk(v: &Value, acc: &mut usize, stop: usize) {
        if *acc > stop {
            return;
        }
        match v {
            Value::Null => *acc += 4,
            Value::Boolean(b) => *acc += if *b { 4 } else { 5 },
            Value::Number(n) => *acc += n.to_string().len(),
            Value::String(s) => *acc += s.len() + 2,
            Value::Enum(e) => *acc += e.len() + 2,
            Value::Binary(b) => *acc += b.len() * 2 + 2,
            Value::List(items) => {
                *acc += 2 + items.len().saturating_sub(1);
                for item in items {
                    walk(item, acc, stop);
                }
            }
            Value::Object(fields) => {
                *acc += 2 + fields.len().saturating_sub(1);
                for (k, item) in fields {
                    *acc += k.len() + 3;
                    walk(item, acc, stop);
                }
            }
        }
    }
    let mut acc = 0;
    walk(v, &mut acc, stop_after);
    acc
}

/// The checks on a parsed document.
fn check_document(l: &GraphqlLimits, doc: &ExecutableDocument) -> ServerResult<()> {
    let mut walk = Walk { l, doc, aliases: 0 };
    for (_, op) in doc.operations.iter() {
        walk.directives(op.node.directives.len(), "the operation", op.pos)?;
        walk.selection_set(&op.node.selection_set)?;
        walk.introspection(&op.node.selection_set, false, 0, 0)?;
    }
    for (name, fragment) in &doc.fragments {
        walk.directives(
            fragment.node.directives.len(),
            &format!("fragment {name}"),
            fragment.pos,
        )?;
        walk.selection_set(&fragment.node.selection_set)?;
    }
    Ok(())
}

struct Walk<'a> {
    l: &'a GraphqlLimits,
    doc: &'a ExecutableDocument,
    aliases: usize,
}

/// What the introspection members are called: a path through them goes
/// around the schema's type graph (`type { fields { type { fields …`).
const TYPE_MEMBERS: &[&str] = &["fields", "inputFields", "interfaces", "possibleTypes"];

/// Fragment spreads followed while looking for introspection cycles; real
/// documents nest far less (and a fragment cycle is refused later anyway).
const MAX_SPREAD_DEPTH: usize = 64;

impl Walk<'_> {
    fn directives(&self, n: usize, what: &str, pos: Pos) -> ServerResult<()> {
        if n > self.l.max_directives {
            return Err(over(
                limit::DIRECTIVES,
                format!(
                    "{what} has {n} directives; at most {} are allowed (BATON_MAX_DIRECTIVES)",
                    self.l.max_directives
                ),
                Some(pos),
            ));
        }
        Ok(())
    }

    /// Aliases, directives, duplicates and literal sizes, in one selection
    /// set and below it (fragment definitions are walked on their own).
    fn selection_set(&mut self, set: &Positioned<SelectionSet>) -> ServerResult<()> {
        let mut copies: HashMap<String, usize> = HashMap::new();
        self.count_copies(set, &mut copies)?;
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let name = field.name.node.as_str();
                    if !self.l.introspection && (name == "__schema" || name == "__type") {
                        // async-graphql would answer null; a client should
                        // learn that it was refused, and why.
                        return Err(over(
                            limit::INTROSPECTION,
                            format!(
                                "introspection (`{name}`) is turned off on this server (BATON_INTROSPECTION); the schema is published as schema.graphql"
                            ),
                            Some(f.pos),
                        ));
                    }
                    self.directives(
                        field.directives.len(),
                        &format!("the field `{}`", field.name.node),
                        f.pos,
                    )?;
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.l.max_aliases {
                            return Err(over(
                                limit::ALIASES,
                                format!(
                                    "the document has more than {} aliases (BATON_MAX_ALIASES)",
                                    self.l.max_aliases
                                ),
                                Some(f.pos),
                            ));
                        }
                    }
                    for (name, value) in &field.arguments {
                        // Literals get the same size checks as variables
                        // (a variable inside one was checked already).
                        let literal = value
                            .node
                            .clone()
                            .into_const_with(|_| Ok::<_, ()>(Value::Null))
                            .unwrap_or_default();
                        let mut path = format!("{}.{}", field.name.node, name.node);
                        check_const(self.l, &literal, &mut path, true).map_err(|mut e| {
                            e.locations = vec![value.pos];
                            e
                        })?;
                    }
                    self.selection_set(&field.selection_set)?;
                }
                Selection::FragmentSpread(s) => {
                    self.directives(
                        s.node.directives.len(),
                        &format!("the spread of `{}`", s.node.fragment_name.node),
                        s.pos,
                    )?;
                }
                Selection::InlineFragment(i) => {
                    self.directives(i.node.directives.len(), "an inline fragment", i.pos)?;
                    // Its fields were counted with the parent's (see
                    // `count_copies`); counting its own set again finds no
                    // more copies than that.
                    self.selection_set(&i.node.selection_set)?;
                }
            }
        }
        Ok(())
    }

    /// Copies of each response key (and of each fragment spread) in one
    /// selection set, inline fragments merged into it, since they land in
    /// the same object.
    fn count_copies(
        &self,
        set: &Positioned<SelectionSet>,
        copies: &mut HashMap<String, usize>,
    ) -> ServerResult<()> {
        for selection in &set.node.items {
            let (key, pos) = match &selection.node {
                Selection::Field(f) => (f.node.response_key().node.to_string(), f.pos),
                Selection::FragmentSpread(s) => {
                    (format!("...{}", s.node.fragment_name.node), s.pos)
                }
                Selection::InlineFragment(i) => {
                    self.count_copies(&i.node.selection_set, copies)?;
                    continue;
                }
            };
            let n = copies.entry(key).or_insert(0);
            *n += 1;
            if *n > self.l.max_duplicate_fields {
                let key = match &selection.node {
                    Selection::Field(f) => f.node.response_key().node.to_string(),
                    Selection::FragmentSpread(s) => format!("...{}", s.node.fragment_name.node),
                    Selection::InlineFragment(_) => String::new(),
                };
                return Err(over(
                    limit::DUPLICATE_FIELDS,
                    format!(
                        "`{key}` is selected more than {} times in one selection set (BATON_MAX_DUPLICATE_FIELDS)",
                        self.l.max_duplicate_fields
                    ),
                    Some(pos),
                ));
            }
        }
        Ok(())
    }

    /// Refuses introspection paths that go around the type graph more than
    /// `max_introspection_nesting` times (the "circular introspection"
    /// query scanners send), following fragment spreads.
    fn introspection(
        &self,
        set: &Positioned<SelectionSet>,
        inside: bool,
        nesting: usize,
        spreads: usize,
    ) -> ServerResult<()> {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let inside = inside || name == "__schema" || name == "__type";
                    let nesting = if inside && TYPE_MEMBERS.contains(&name) {
                        nesting + 1
                    } else {
                        nesting
                    };
                    if nesting > self.l.max_introspection_nesting {
                        return Err(over(
                            limit::INTROSPECTION_NESTING,
                            format!(
                                "the introspection query goes through a type's members ({}) more than {} times on one path (BATON_MAX_INTROSPECTION_NESTING)",
                                TYPE_MEMBERS.join(", "),
                                self.l.max_introspection_nesting
                            ),
                            Some(f.pos),
                        ));
                    }
                    self.introspection(&f.node.selection_set, inside, nesting, spreads)?;
                }
                Selection::InlineFragment(i) => {
                    self.introspection(&i.node.selection_set, inside, nesting, spreads)?;
                }
                Selection::FragmentSpread(s) => {
                    let name: &Name = &s.node.fragment_name.node;
                    if spreads < MAX_SPREAD_DEPTH
                        && let Some(fragment) = self.doc.fragments.get(name)
                    {
                        self.introspection(
                            &fragment.node.selection_set,
                            inside,
                            nesting,
                            spreads + 1,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_as_the_grammar_splits_them() {
        assert_eq!(count_tokens("{ a }", 100), 3);
        assert_eq!(
            count_tokens(
                "query Q($x: Int = -1.5e3) { f(x: $x) @skip(if: true) ...F }",
                100
            ),
            28
        );
        assert_eq!(count_tokens("# only a comment\n,,,", 100), 0);
        assert_eq!(
            count_tokens(r#"{ f(s: "a \" b", t: """x "" y""") }"#, 100),
            11
        );
        // It stops counting soon after the limit.
        assert_eq!(count_tokens(&"a ".repeat(1_000_000), 10), 11);
    }
}
