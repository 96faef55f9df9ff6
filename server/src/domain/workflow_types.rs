//! Workflow types: what each accepts, produces and asks for, whether it is
//! compiled into Baton (built-in) or declared at run time by an admin for
//! workers outside it.
//!
//! The [`Catalog`] answers "what is type X" for both. Built-in types are
//! handed to it at start (from `workflows::builtin`, through the engine's
//! registry); declared types are rows of `workflow_types`, one per version.
//! A declaration that changes anything is a new version; a workflow row
//! keeps the version it was created with (`workflows.type_version`), so a
//! queued or running workflow is held to the contract it was submitted
//! under. Declaring the same content again finds the existing version.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{workflow, workflow_type};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::principal::{Permission, Principal};
use super::secrets::content_sha256;
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::jsonschema::Compiled;

pub const WORKFLOW_TYPE_DECLARED: &str = "workflow_type.declared";

/// Every type by name, for checks that look at other types (an
/// experiment's target, a deployment's).
pub type TypeLookup = BTreeMap<String, Arc<TypeSpec>>;

/// Checks beyond the JSON Schema that a built-in type makes before a row is
/// written; `Err((path, message))` names the field relative to the input.
pub type InputCheck =
    Arc<dyn Fn(&Value, &TypeLookup) -> Result<(), (String, String)> + Send + Sync>;

/// The part of an artifact a reviewer may edit before approving
/// (`approve(…, edits)`): the top-level fields an edit may touch (`None`:
/// any), and the JSON Schema the edited content must satisfy.
#[derive(Debug, Clone)]
pub struct ArtifactEdits {
    pub fields: Option<Vec<String>>,
    pub schema: Value,
}

/// What a decision starts: a type and the input it is given, to which the
/// decision adds `feedback`, `approved`, `decision`, `approval_id` and the
/// artifact's `artifact_id`, `artifact_version` and `artifact_sha256`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub workflow_type: String,
    #[serde(default = "empty_object")]
    pub input: Value,
    /// On reject: start it only when the reviewer wrote feedback.
    #[serde(default = "yes")]
    pub requires_feedback: bool,
}

fn empty_object() -> Value {
    json!({})
}

fn yes() -> bool {
    true
}

/// One version of one workflow type.
#[derive(Clone)]
pub struct TypeSpec {
    pub name: String,
    /// Built-in types: 1.
    pub version: i32,
    pub builtin: bool,
    pub description: String,
    pub input_schema: Value,
    pub output_schema: Option<Value>,
    pub artifact_schema: Option<Value>,
    /// What the review app calls the artifact (`draft`, …).
    pub artifact_kind: Option<String>,
    /// The config a `run_experiment` may tune for this type.
    pub config_schema: Option<Value>,
    pub requires_approval: bool,
    /// Only admins may start it with `runWorkflow` (it normally starts from
    /// a decision).
    pub admin_only: bool,
    pub edits: Option<ArtifactEdits>,
    /// Declared types: what approving and rejecting start. Built-in types
    /// decide this per run, in their outcome.
    pub next_on_approve: Option<NextStep>,
    pub next_on_reject: Option<NextStep>,
    pub timeout: Duration,
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub declared_by: Option<String>,
    pub declared_at: Option<DateTime<Utc>>,
    pub check: Option<InputCheck>,
    /// The schemas above, compiled on first use and kept with the spec
    /// (a version never changes, so neither do they).
    pub compiled: Arc<CompiledSchemas>,
}

/// A type's schemas, each compiled once.
#[derive(Default)]
pub struct CompiledSchemas {
    input: OnceLock<Result<Compiled, String>>,
    output: OnceLock<Result<Compiled, String>>,
    artifact: OnceLock<Result<Compiled, String>>,
    config: OnceLock<Result<Compiled, String>>,
}

/// The first violation of `schema` by `value` through a compile-once
/// `cell`, as `(field, message)` under `root`.
fn violation(
    cell: &OnceLock<Result<Compiled, String>>,
    schema: &Value,
    value: &Value,
    root: &str,
) -> Option<(String, String)> {
    match cell.get_or_init(|| crate::jsonschema::compile(schema)) {
        Ok(c) => c
            .validate(value)
            .into_iter()
            .next()
            .map(|v| (prefixed(root, &v.path), v.message)),
        Err(reason) => Some((
            root.to_string(),
            format!("cannot be checked: the schema is invalid ({reason})"),
        )),
    }
}

impl std::fmt::Debug for TypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeSpec")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("builtin", &self.builtin)
            .finish_non_exhaustive()
    }
}

impl TypeSpec {
    /// The first problem with `input` by its JSON Schema, as
    /// `(field, message)` with the field as `input.path`. The type's own
    /// checks are [`Catalog::invalid_input`]'s.
    pub fn schema_violation(&self, input: &Value) -> Option<(String, String)> {
        violation(&self.compiled.input, &self.input_schema, input, "input")
    }

    /// The first problem with a completion's output (`output.path`), when
    /// the type declares an output schema.
    pub fn invalid_output(&self, output: &Value) -> Option<(String, String)> {
        let schema = self.output_schema.as_ref()?;
        violation(&self.compiled.output, schema, output, "output")
    }

    /// The first problem with a completion's artifact (`artifact.path`),
    /// when the type declares an artifact schema.
    pub fn invalid_artifact(&self, artifact: &Value) -> Option<(String, String)> {
        let schema = self.artifact_schema.as_ref()?;
        violation(&self.compiled.artifact, schema, artifact, "artifact")
    }

    /// The first problem with a config for this type (`root.path`), when
    /// it declares a config schema.
    pub fn invalid_config(&self, config: &Value, root: &str) -> Option<(String, String)> {
        let schema = self.config_schema.as_ref()?;
        violation(&self.compiled.config, schema, config, root)
    }
}

/// The first violation of `schema` by `value`, as `(field, message)` with
/// the field under `root` (`input.factors.temperature[1]`).
pub fn first_violation(schema: &Value, value: &Value, root: &str) -> Option<(String, String)> {
    crate::jsonschema::validate(schema, value)
        .into_iter()
        .next()
        .map(|v| (prefixed(root, &v.path), v.message))
}

fn prefixed(root: &str, path: &str) -> String {
    match (root.is_empty(), path.is_empty()) {
        (_, true) => root.to_string(),
        (true, false) => path.to_string(),
        (false, false) if path.starts_with('[') => format!("{root}{path}"),
        (false, false) => format!("{root}.{path}"),
    }
}

/// What a type falls back to where its declaration says nothing (the
/// server's engine settings).
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub timeout: Duration,
    pub max_attempts: i32,
    pub retry_base: Duration,
}

/// A declaration as an admin writes it (GraphQL input or a YAML file) and
/// as `workflow_types.definition` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub input_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Value>,
    pub requires_approval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_on_approve: Option<NextStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_on_reject: Option<NextStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_base_seconds: Option<f64>,
}

pub const MAX_TIMEOUT_SECS: u32 = 86_400;
pub const MAX_ATTEMPTS: i32 = 100;
pub const MAX_RETRY_BASE_SECS: f64 = 3_600.0;

/// Every workflow type: the built-in ones, and the declared ones read from
/// the database on demand (so every process sees a declaration at once).
pub struct Catalog {
    builtin: BTreeMap<String, Arc<TypeSpec>>,
    defaults: Defaults,
    /// Declared versions already read: a version is immutable, so its spec
    /// (and its compiled schemas) can be kept; only "which is the latest"
    /// is asked of the database each time.
    declared: Mutex<HashMap<(String, i32), Arc<TypeSpec>>>,
}

impl Catalog {
    pub fn new(builtin: impl IntoIterator<Item = TypeSpec>, defaults: Defaults) -> Catalog {
        Catalog {
            builtin: builtin
                .into_iter()
                .map(|s| (s.name.clone(), Arc::new(s)))
                .collect(),
            defaults,
            declared: Mutex::new(HashMap::new()),
        }
    }

    pub fn builtin(&self, name: &str) -> Option<&Arc<TypeSpec>> {
        self.builtin.get(name)
    }

    pub fn builtin_names(&self) -> Vec<String> {
        self.builtin.keys().cloned().collect()
    }

    /// A type by name: built-in, else the latest declared version.
    pub async fn get(
        &self,
        conn: &impl ConnectionTrait,
        name: &str,
    ) -> AppResult<Option<Arc<TypeSpec>>> {
        self.get_version(conn, name, None).await
    }

    /// One version of a type (`None`: the latest). Built-in types have
    /// version 1 only.
    pub async fn get_version(
        &self,
        conn: &impl ConnectionTrait,
        name: &str,
        version: Option<i32>,
    ) -> AppResult<Option<Arc<TypeSpec>>> {
        if let Some(b) = self.builtin.get(name) {
            return Ok(version.is_none_or(|v| v == b.version).then(|| b.clone()));
        }
        let mut q = workflow_type::Entity::find().filter(workflow_type::Column::Name.eq(name));
        if let Some(v) = version {
            q = q.filter(workflow_type::Column::Version.eq(v));
        }
        let row = q
            .order_by_desc(workflow_type::Column::Version)
            .one(conn)
            .await?;
        row.map(|r| self.spec_of(&r)).transpose()
    }

    /// The type a workflow row was created with (its version).
    pub async fn of(
        &self,
        conn: &impl ConnectionTrait,
        w: &workflow::Model,
    ) -> AppResult<Option<Arc<TypeSpec>>> {
        self.get_version(conn, &w.workflow_type, w.type_version)
            .await
    }

    /// A type by name, or `BAD_USER_INPUT` at `field` listing the known
    /// ones.
    pub async fn require(
        &self,
        conn: &impl ConnectionTrait,
        name: &str,
        field: &str,
    ) -> AppResult<Arc<TypeSpec>> {
        match self.get(conn, name).await? {
            Some(s) => Ok(s),
            None => Err(AppError::bad_input(
                field,
                format!(
                    "unknown workflow type '{name}'; known types: {}",
                    self.names(conn).await?.join(", ")
                ),
            )),
        }
    }

    /// Every type: the built-in ones, then the latest version of each
    /// declared one, by name.
    pub async fn all(&self, conn: &impl ConnectionTrait) -> AppResult<Vec<Arc<TypeSpec>>> {
        let mut out: Vec<Arc<TypeSpec>> = self.builtin.values().cloned().collect();
        let mut latest: BTreeMap<String, workflow_type::Model> = BTreeMap::new();
        for row in workflow_type::Entity::find()
            .order_by_asc(workflow_type::Column::Name)
            .order_by_asc(workflow_type::Column::Version)
            .all(conn)
            .await?
        {
            latest.insert(row.name.clone(), row);
        }
        for row in latest.values() {
            out.push(self.spec_of(row)?);
        }
        Ok(out)
    }

    pub async fn names(&self, conn: &impl ConnectionTrait) -> AppResult<Vec<String>> {
        let mut names = self.builtin_names();
        let declared: Vec<String> = workflow_type::Entity::find()
            .select_only()
            .column(workflow_type::Column::Name)
            .distinct()
            .into_tuple()
            .all(conn)
            .await?;
        names.extend(declared);
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every type by name (the latest version of declared ones).
    pub async fn lookup(&self, conn: &impl ConnectionTrait) -> AppResult<TypeLookup> {
        Ok(self
            .all(conn)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect())
    }

    /// The first problem with `input` for `spec`: its JSON Schema, then the
    /// type's own checks (which may look at other types); `(field,
    /// message)` with the field as `input.path`.
    pub async fn invalid_input(
        &self,
        conn: &impl ConnectionTrait,
        spec: &TypeSpec,
        input: &Value,
    ) -> AppResult<Option<(String, String)>> {
        if let Some(v) = spec.schema_violation(input) {
            return Ok(Some(v));
        }
        let Some(check) = &spec.check else {
            return Ok(None);
        };
        let types = self.lookup(conn).await?;
        Ok(check(input, &types)
            .err()
            .map(|(path, message)| (prefixed("input", &path), message)))
    }

    /// Refuses `input` with `BAD_USER_INPUT` naming the field.
    pub async fn check_input(
        &self,
        conn: &impl ConnectionTrait,
        spec: &TypeSpec,
        input: &Value,
    ) -> AppResult<()> {
        match self.invalid_input(conn, spec, input).await? {
            Some((field, message)) => Err(AppError::BadInput {
                message: format!("{field}: {message}"),
                field: Some(field),
            }),
            None => Ok(()),
        }
    }

    /// The spec of a stored version, read once per process.
    fn spec_of(&self, row: &workflow_type::Model) -> AppResult<Arc<TypeSpec>> {
        let key = (row.name.clone(), row.version);
        let mut cache = self.declared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(&key) {
            return Ok(s.clone());
        }
        let spec = Arc::new(self.parse_row(row)?);
        cache.insert(key, spec.clone());
        Ok(spec)
    }

    fn parse_row(&self, row: &workflow_type::Model) -> AppResult<TypeSpec> {
        let d: Declaration = serde_json::from_value(row.definition.clone()).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "stored declaration of {} v{} is unreadable: {e}",
                row.name,
                row.version
            ))
        })?;
        let edits = d.artifact_schema.as_ref().map(|schema| ArtifactEdits {
            fields: schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect()),
            schema: schema.clone(),
        });
        Ok(TypeSpec {
            name: d.name,
            version: row.version,
            builtin: false,
            description: d.description,
            input_schema: d.input_schema,
            output_schema: d.output_schema,
            artifact_schema: d.artifact_schema,
            artifact_kind: d.artifact_kind,
            config_schema: d.config_schema,
            requires_approval: d.requires_approval,
            admin_only: false,
            edits,
            next_on_approve: d.next_on_approve,
            next_on_reject: d.next_on_reject,
            timeout: d
                .timeout_seconds
                .map_or(self.defaults.timeout, |s| Duration::from_secs(u64::from(s))),
            max_attempts: d.max_attempts.unwrap_or(self.defaults.max_attempts),
            retry_base: d
                .retry_base_seconds
                .map_or(self.defaults.retry_base, Duration::from_secs_f64),
            declared_by: Some(row.declared_by.clone()),
            declared_at: Some(row.declared_at),
            check: None,
            compiled: Arc::default(),
        })
    }
}

/// The result of a declaration: the version in force, and whether this
/// call added it.
pub struct Declared {
    pub spec: Arc<TypeSpec>,
    pub created: bool,
    pub signals: Vec<Signal>,
}

/// Validates a declaration and stores it as a new version, or finds the
/// version with the same content (ADMIN).
pub async fn declare(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    mut d: Declaration,
) -> AppResult<Declared> {
    principal.require(Permission::Admin)?;
    d.description = d.description.trim().to_string();
    validate(db, catalog, &d).await?;
    let definition = serde_json::to_value(&d)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("serializing a declaration: {e}")))?;
    let sha256 = content_sha256(&definition);
    // Two admins declaring at once: the loser of the primary key retries
    // once against the winner's row.
    for _ in 0..2 {
        let txn = db.begin().await?;
        let latest = workflow_type::Entity::find()
            .filter(workflow_type::Column::Name.eq(&d.name))
            .order_by_desc(workflow_type::Column::Version)
            .one(&txn)
            .await?;
        if let Some(l) = &latest
            && l.sha256 == sha256
        {
            txn.rollback().await?;
            return Ok(Declared {
                spec: catalog.spec_of(l)?,
                created: false,
                signals: vec![],
            });
        }
        let version = latest.as_ref().map_or(1, |l| l.version + 1);
        let row = workflow_type::ActiveModel {
            name: Set(d.name.clone()),
            version: Set(version),
            definition: Set(definition.clone()),
            sha256: Set(sha256.clone()),
            declared_by: Set(stamp.actor.clone()),
            declared_at: Set(stamp.now),
        }
        .insert(&txn)
        .await;
        let row = match row {
            Ok(r) => r,
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let signal = events::append(
            &txn,
            stamp,
            NewEvent {
                kind: WORKFLOW_TYPE_DECLARED,
                payload: json!({
                    "type": d.name,
                    "version": version,
                    "previous_version": latest.as_ref().map(|l| l.version),
                    "sha256": sha256,
                }),
                ..Default::default()
            },
        )
        .await?;
        txn.commit().await?;
        return Ok(Declared {
            spec: catalog.spec_of(&row)?,
            created: true,
            signals: vec![signal],
        });
    }
    Err(AppError::Conflict(format!(
        "workflow type '{}' was being declared by someone else at the same time; try again",
        d.name
    )))
}

/// Everything a declaration must get right, each with the input field it
/// concerns.
async fn validate(db: &DatabaseConnection, catalog: &Catalog, d: &Declaration) -> AppResult<()> {
    let valid_name = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name.starts_with(|c: char| c.is_ascii_lowercase())
        && d.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(AppError::bad_input(
            "input.name",
            "input.name: a type name is 1 to 64 characters of a-z, 0-9 and _, starting with a letter",
        ));
    }
    if catalog.builtin(&d.name).is_some() {
        return Err(AppError::bad_input(
            "input.name",
            format!(
                "input.name: '{}' is a built-in type; declare yours under another name",
                d.name
            ),
        ));
    }
    if d.description.chars().count() > 2000 {
        return Err(AppError::bad_input(
            "input.description",
            "input.description: at most 2000 characters",
        ));
    }
    for (field, schema) in [
        ("input.inputSchema", Some(&d.input_schema)),
        ("input.outputSchema", d.output_schema.as_ref()),
        ("input.artifactSchema", d.artifact_schema.as_ref()),
        ("input.configSchema", d.config_schema.as_ref()),
    ] {
        if let Some(schema) = schema
            && let Err(why) = crate::jsonschema::check_schema(schema)
        {
            return Err(AppError::bad_input(
                field,
                format!("{field}: not a valid JSON Schema: {why}"),
            ));
        }
    }
    if let Some(kind) = &d.artifact_kind
        && (kind.is_empty() || kind.len() > 64)
    {
        return Err(AppError::bad_input(
            "input.artifactKind",
            "input.artifactKind: 1 to 64 characters",
        ));
    }
    if let Some(t) = d.timeout_seconds
        && !(1..=MAX_TIMEOUT_SECS).contains(&t)
    {
        return Err(AppError::bad_input(
            "input.timeoutSeconds",
            format!("input.timeoutSeconds: 1 to {MAX_TIMEOUT_SECS}"),
        ));
    }
    if let Some(m) = d.max_attempts
        && !(1..=MAX_ATTEMPTS).contains(&m)
    {
        return Err(AppError::bad_input(
            "input.maxAttempts",
            format!("input.maxAttempts: 1 to {MAX_ATTEMPTS}"),
        ));
    }
    if let Some(r) = d.retry_base_seconds
        && !(r.is_finite() && (0.01..=MAX_RETRY_BASE_SECS).contains(&r))
    {
        return Err(AppError::bad_input(
            "input.retryBaseSeconds",
            format!("input.retryBaseSeconds: 0.01 to {MAX_RETRY_BASE_SECS}"),
        ));
    }
    for (field, step, approved) in [
        ("input.nextOnApprove", &d.next_on_approve, true),
        ("input.nextOnReject", &d.next_on_reject, false),
    ] {
        let Some(step) = step else { continue };
        if !d.requires_approval {
            return Err(AppError::bad_input(
                field,
                format!("{field}: a next step needs requiresApproval: true (a decision starts it)"),
            ));
        }
        if !step.input.is_object() {
            return Err(AppError::bad_input(
                format!("{field}.input"),
                format!("{field}.input: must be a JSON object"),
            ));
        }
        // The next type may be this one (a revision loop), declared in this
        // very call; else it must exist now.
        let next_schema = if step.workflow_type == d.name {
            d.input_schema.clone()
        } else {
            match catalog.get(db, &step.workflow_type).await? {
                Some(s) => s.input_schema.clone(),
                None => {
                    return Err(AppError::bad_input(
                        format!("{field}.workflowType"),
                        format!(
                            "{field}.workflowType: unknown workflow type '{}'; known types: {}",
                            step.workflow_type,
                            catalog.names(db).await?.join(", ")
                        ),
                    ));
                }
            }
        };
        // What a decision will pass, with stand-in values: a schema that
        // refuses it would fail every decision, so say so now.
        let sample = next_input(
            &step.input,
            &DecisionFacts {
                approval_id: Uuid::nil(),
                approved,
                feedback: Some("feedback".into()),
                artifact: Some((Uuid::nil(), 1, "0".repeat(64))),
            },
        );
        if let Some((path, message)) = first_violation(&next_schema, &sample, "input") {
            return Err(AppError::bad_input(
                format!("{field}.input"),
                format!(
                    "{field}: {}'s input schema refuses what a decision passes it \
                     ({path}: {message}); it receives the step's input plus feedback, approved, \
                     decision, approval_id, artifact_id, artifact_version and artifact_sha256",
                    step.workflow_type
                ),
            ));
        }
    }
    Ok(())
}

/// What a decision knows when it starts the next workflow.
#[derive(Debug, Clone)]
pub struct DecisionFacts {
    pub approval_id: Uuid,
    pub approved: bool,
    pub feedback: Option<String>,
    /// `(id, version, sha256)` of the artifact decided on.
    pub artifact: Option<(Uuid, i32, String)>,
}

/// The next workflow's input: `base` plus the decision's keys (which win
/// over keys of the same name in `base`).
pub fn next_input(base: &Value, facts: &DecisionFacts) -> Value {
    let mut input = match base {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    input.insert("feedback".into(), json!(facts.feedback));
    input.insert("approved".into(), json!(facts.approved));
    input.insert(
        "decision".into(),
        json!(if facts.approved {
            "approved"
        } else {
            "rejected"
        }),
    );
    input.insert("approval_id".into(), json!(facts.approval_id));
    if let Some((id, version, sha)) = &facts.artifact {
        input.insert("artifact_id".into(), json!(id));
        input.insert("artifact_version".into(), json!(version));
        input.insert("artifact_sha256".into(), json!(sha));
    }
    Value::Object(input)
}

/// Declarations from a YAML file: a list of them, or `{types: [...]}`.
pub fn parse_file(text: &str) -> Result<Vec<Declaration>, String> {
    use serde_yaml_ng::Value as Yaml;
    let doc: Yaml = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let list = match doc {
        Yaml::Sequence(_) => doc,
        Yaml::Mapping(mut m) => m
            .remove("types")
            .ok_or("expected a list of declarations, or `types:` with one")?,
        _ => return Err("expected a list of declarations, or `types:` with one".into()),
    };
    // Parsed as a list (not an untagged enum), so an unknown key is named.
    serde_yaml_ng::from_value(list).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_input_adds_the_decision_keys_over_the_base() {
        let facts = DecisionFacts {
            approval_id: Uuid::nil(),
            approved: false,
            feedback: Some("shorter".into()),
            artifact: Some((Uuid::nil(), 3, "ab".into())),
        };
        let v = next_input(&json!({"tone": "dry", "approved": "x"}), &facts);
        assert_eq!(v["tone"], "dry");
        assert_eq!(v["approved"], false);
        assert_eq!(v["decision"], "rejected");
        assert_eq!(v["feedback"], "shorter");
        assert_eq!(v["artifact_version"], 3);
        assert_eq!(v["artifact_sha256"], "ab");
    }

    #[test]
    fn a_types_file_is_a_list_or_a_map_of_types() {
        let list = "- name: summarize\n  input_schema: {type: object}\n  requires_approval: true\n";
        let l = parse_file(list).unwrap_or_default();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].name, "summarize");
        let map = "types:\n  - name: a\n    input_schema: true\n    requires_approval: false\n    next_on_approve: {workflow_type: b}\n";
        let m = parse_file(map).unwrap_or_default();
        assert_eq!(
            m[0].next_on_approve.as_ref().map(|s| s.requires_feedback),
            Some(true)
        );
        let bad = "- name: x\n  input_schema: {}\n  requires_approval: true\n  colour: red\n";
        assert!(parse_file(bad).is_err_and(|e| e.contains("colour")));
    }

    #[test]
    fn paths_are_prefixed_with_the_root() {
        assert_eq!(prefixed("input", ""), "input");
        assert_eq!(prefixed("input", "a.b[1]"), "input.a.b[1]");
        assert_eq!(prefixed("input", "[0]"), "input[0]");
        assert_eq!(prefixed("", "a"), "a");
    }
}
