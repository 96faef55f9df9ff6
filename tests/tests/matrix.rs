//! The authorization matrix (issue 8): every mutation, subscription and
//! query × every role (VIEWER, SUBMITTER, REVIEWER, ADMIN) × no token × a
//! revoked token → allowed, `UNAUTHENTICATED` or `FORBIDDEN`; and on a
//! refusal nothing changed (every table's row count, and the status columns
//! a refused mutation would have changed, compared before and after).
//!
//! The tables below are the matrix. The schema is read by introspection and
//! every field of `Mutation`, `Subscription` and `Query` must have rows, so
//! a new field without a row fails `the_matrix_has_a_row_for_every_field`.
//!
//! Each test collects every cell that answered differently and fails once,
//! listing them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use baton_e2e::ws::Subscription;
use baton_e2e::{TestApp, both_backends, gql_error_code};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Callers and outcomes
// ---------------------------------------------------------------------------

/// Who calls. The order is the order of the expectation columns; the
/// refused callers come first, so a fixture they were refused on is then
/// used by the first caller allowed (which shows the refusal was about
/// the caller, not the fixture).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    NoToken,
    /// A token of an ADMIN user, revoked: revocation outranks any role.
    Revoked,
    Viewer,
    Submitter,
    Reviewer,
    Admin,
}

const CALLERS: [Caller; 6] = [
    Caller::NoToken,
    Caller::Revoked,
    Caller::Viewer,
    Caller::Submitter,
    Caller::Reviewer,
    Caller::Admin,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::NoToken => "no token",
            Caller::Revoked => "revoked token",
            Caller::Viewer => "VIEWER",
            Caller::Submitter => "SUBMITTER",
            Caller::Reviewer => "REVIEWER",
            Caller::Admin => "ADMIN",
        }
    }

    /// The role `viewer { role }` answers for this caller.
    fn role(self) -> Option<&'static str> {
        match self {
            Caller::Viewer => Some("VIEWER"),
            Caller::Submitter => Some("SUBMITTER"),
            Caller::Reviewer => Some("REVIEWER"),
            Caller::Admin => Some("ADMIN"),
            Caller::NoToken | Caller::Revoked => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
}

/// One cell of a row: `None` where the cell cannot exist (a caller without
/// a token, or a VIEWER, cannot own a workflow).
type Cell = Option<Expect>;
const A: Cell = Some(Expect::Allowed);
const U: Cell = Some(Expect::Unauthenticated);
const F: Cell = Some(Expect::Forbidden);
const NA: Cell = None;

// ---------------------------------------------------------------------------
// The mutation matrix
// ---------------------------------------------------------------------------

/// What a mutation row does, and so which fixture it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    RunDraft,
    RunDeployConfig,
    CancelOthers,
    CancelOwn,
    RetryOthers,
    RetryOwn,
    Approve,
    Reject,
    ApproveMany,
    RejectMany,
    Rollback,
    CreateUser,
    DisableUser,
    CreateSignInLink,
    CreateToken,
    RevokeToken,
    SetPolicy,
    CreateWebhook,
    UpdateWebhook,
    DeleteWebhook,
    RotateWebhookSecret,
    SendTestWebhook,
    Redeliver,
    OwnPreferences,
    OthersPreferences,
    DeclareType,
    Claim,
    Heartbeat,
    Complete,
    Fail,
}

impl Case {
    /// Rows whose fixtures need the engine to run workflows (approvals,
    /// deployments). The others run on a server without workers, where
    /// nothing happens in the background and a started workflow stays
    /// pending (so it can be cancelled).
    fn needs_engine(self) -> bool {
        matches!(
            self,
            Case::Approve | Case::Reject | Case::ApproveMany | Case::RejectMany | Case::Rollback
        )
    }

    /// Rows whose fixture belongs to the caller, so it cannot be shared.
    fn own(self) -> bool {
        matches!(self, Case::CancelOwn | Case::RetryOwn)
    }
}

struct Row {
    field: &'static str,
    what: &'static str,
    case: Case,
    /// In `CALLERS` order: no token, revoked, VIEWER, SUBMITTER, REVIEWER, ADMIN.
    expect: [Cell; 6],
}

#[rustfmt::skip]
const MUTATIONS: &[Row] = &[
    //                                                                                          none revoked VIEWER SUBM REVW ADMIN
    Row { field: "runWorkflow",        what: "generate_draft",                  case: Case::RunDraft,         expect: [U, U, F, A, A, A] },
    Row { field: "runWorkflow",        what: "deploy_config, started directly", case: Case::RunDeployConfig,  expect: [U, U, F, F, F, A] },
    Row { field: "cancelWorkflow",     what: "someone else's workflow",         case: Case::CancelOthers,     expect: [U, U, F, F, F, A] },
    Row { field: "cancelWorkflow",     what: "the caller's own workflow",       case: Case::CancelOwn,        expect: [NA, U, NA, A, A, A] },
    Row { field: "retryWorkflow",      what: "someone else's workflow",         case: Case::RetryOthers,      expect: [U, U, F, F, F, A] },
    Row { field: "retryWorkflow",      what: "the caller's own workflow",       case: Case::RetryOwn,         expect: [NA, U, NA, A, A, A] },
    Row { field: "approve",            what: "a pending approval",              case: Case::Approve,          expect: [U, U, F, F, A, A] },
    Row { field: "reject",             what: "a pending approval",              case: Case::Reject,           expect: [U, U, F, F, A, A] },
    Row { field: "approveMany",        what: "a pending approval",              case: Case::ApproveMany,      expect: [U, U, F, F, A, A] },
    Row { field: "rejectMany",         what: "a pending approval",              case: Case::RejectMany,       expect: [U, U, F, F, A, A] },
    Row { field: "rollbackDeployment", what: "an earlier, inactive deployment", case: Case::Rollback,         expect: [U, U, F, F, F, A] },
    Row { field: "createUser",         what: "a new VIEWER",                    case: Case::CreateUser,       expect: [U, U, F, F, F, A] },
    Row { field: "disableUser",        what: "an enabled user",                 case: Case::DisableUser,      expect: [U, U, F, F, F, A] },
    Row { field: "createSignInLink",   what: "an existing user",                case: Case::CreateSignInLink, expect: [U, U, F, F, F, A] },
    Row { field: "createToken",        what: "a VIEWER token for a user",       case: Case::CreateToken,      expect: [U, U, F, F, F, A] },
    Row { field: "revokeToken",        what: "an active service token",         case: Case::RevokeToken,      expect: [U, U, F, F, F, A] },
    Row { field: "setApprovalPolicy",  what: "generate_draft's policy",         case: Case::SetPolicy,        expect: [U, U, F, F, F, A] },
    Row { field: "createWebhook",      what: "a new webhook",                   case: Case::CreateWebhook,    expect: [U, U, F, F, F, A] },
    Row { field: "updateWebhook",      what: "an existing webhook",             case: Case::UpdateWebhook,    expect: [U, U, F, F, F, A] },
    Row { field: "deleteWebhook",      what: "an existing webhook",             case: Case::DeleteWebhook,    expect: [U, U, F, F, F, A] },
    Row { field: "rotateWebhookSecret", what: "an existing webhook",            case: Case::RotateWebhookSecret, expect: [U, U, F, F, F, A] },
    Row { field: "sendTestWebhook",    what: "an existing webhook",             case: Case::SendTestWebhook,  expect: [U, U, F, F, F, A] },
    Row { field: "redeliver",          what: "a dead delivery",                 case: Case::Redeliver,        expect: [U, U, F, F, F, A] },
    Row { field: "setNotificationPreferences", what: "the caller's own",         case: Case::OwnPreferences,   expect: [U, U, A, A, A, A] },
    Row { field: "setNotificationPreferences", what: "another user's",           case: Case::OthersPreferences, expect: [U, U, F, F, F, A] },
    Row { field: "declareWorkflowType", what: "a new type",                      case: Case::DeclareType,      expect: [U, U, F, F, F, A] },
    // Workers are service tokens; of people, only admins may act as one.
    Row { field: "claimWorkflows",     what: "a pending declared workflow",     case: Case::Claim,            expect: [U, U, F, F, F, A] },
    Row { field: "heartbeat",          what: "the ADMIN caller's claim",        case: Case::Heartbeat,        expect: [U, U, F, F, F, A] },
    Row { field: "completeWorkflow",   what: "the ADMIN caller's claim",        case: Case::Complete,         expect: [U, U, F, F, F, A] },
    Row { field: "failWorkflow",       what: "the ADMIN caller's claim",        case: Case::Fail,             expect: [U, U, F, F, F, A] },
];

// ---------------------------------------------------------------------------
// The subscription and query matrices
// ---------------------------------------------------------------------------

/// Any role may subscribe; without a credential, or with a revoked one,
/// the socket is closed with 4403 at `connection_init`.
#[rustfmt::skip]
const SUBSCRIPTIONS: &[(&str, &str, [Cell; 6])] = &[
    //                                                                                                   none revoked VIEWER SUBM REVW ADMIN
    ("workflowCompleted", "subscription { workflowCompleted(type: \"generate_draft\") { id status } }",  [U, U, A, A, A, A]),
    ("workflowEvents",    "subscription { workflowEvents(type: \"generate_draft\") { kind workflow { id } } }", [U, U, A, A, A, A]),
    ("approvalEvents",    "subscription { approvalEvents { kind approval { id } } }",                    [U, U, A, A, A, A]),
];

/// Every query needs a credential (`viewer` answers null without one); a
/// VIEWER reads everything but the user and token lists, which need ADMIN.
/// `$w`, `$a`, `$art` and `$chain` are filled from a finished
/// `generate_draft` run (after one deployment); `$exp` is an unknown id.
#[rustfmt::skip]
const QUERIES: &[(&str, &str, [Cell; 6])] = &[
    //                                                                                                     none revoked VIEWER SUBM REVW ADMIN
    ("workflow",              "query($w: ID!) { workflow(id: $w) { id } }",                                  [U, U, A, A, A, A]),
    ("workflows",             "{ workflows(first: 5) { edges { node { id } } } }",                           [U, U, A, A, A, A]),
    ("approval",              "query($a: ID!) { approval(id: $a) { id viewerCanDecide { allowed } } }",      [U, U, A, A, A, A]),
    ("approvals",             "{ approvals(first: 5) { edges { node { id } } } }",                           [U, U, A, A, A, A]),
    ("pendingApprovals",      "{ pendingApprovals(first: 5) { edges { node { id } } } }",                    [U, U, A, A, A, A]),
    ("pendingApprovalCounts", "{ pendingApprovalCounts { artifactType count } }",                            [U, U, A, A, A, A]),
    ("artifact",              "query($art: ID!) { artifact(id: $art) { id } }",                              [U, U, A, A, A, A]),
    ("activeDeployment",      "{ activeDeployment(target: \"generate_draft\", environment: \"production\") { id } }", [U, U, A, A, A, A]),
    ("deployments",           "{ deployments(first: 5) { edges { node { id } } } }",                         [U, U, A, A, A, A]),
    ("experiment",            "query($exp: ID!) { experiment(id: $exp) { id } }",                            [U, U, A, A, A, A]),
    ("workflowTypes",         "{ workflowTypes { name } }",                                                  [U, U, A, A, A, A]),
    ("workflowType",          "{ workflowType(name: \"generate_draft\") { name version } }",              [U, U, A, A, A, A]),
    // No token: allowed, and null. A revoked token is refused before any field runs.
    ("viewer",                "{ viewer { name role } }",                                                    [A, U, A, A, A, A]),
    ("users",                 "{ users { name } }",                                                          [U, U, F, F, F, A]),
    ("apiTokens",             "{ apiTokens { name } }",                                                      [U, U, F, F, F, A]),
    ("approvalPolicies",      "{ approvalPolicies { workflowType } }",                                       [U, U, A, A, A, A]),
    ("approvalPolicy",        "{ approvalPolicy(workflowType: \"generate_draft\") { workflowType } }",       [U, U, A, A, A, A]),
    ("history",               "query($chain: ID!) { history(chainId: $chain) { kind } }",                    [U, U, A, A, A, A]),
    ("webhooks",              "{ webhooks { id } }",                                                         [U, U, F, F, F, A]),
    ("deliveries",            "{ deliveries(first: 5) { edges { node { id } } } }",                          [U, U, F, F, F, A]),
];

const LONG: Duration = Duration::from_secs(30);

fn draft_input() -> Value {
    json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." })
}

fn deploy_input() -> Value {
    json!({ "target": "generate_draft", "environment": "production", "config": { "temperature": 0.5 } })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

both_backends! {
    async fn the_matrix_has_a_row_for_every_field(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let data = app
            .gql_ok(
                "{ __schema {
                    queryType { fields { name } }
                    mutationType { fields { name } }
                    subscriptionType { fields { name } }
                } }",
                json!({}),
            )
            .await;
        let names = |root: &str| -> BTreeSet<String> {
            data["__schema"][root]["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("{root} has fields: {data:#}"))
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_string())
                .collect()
        };
        let covered = |fields: Vec<&str>| -> BTreeSet<String> {
            fields.into_iter().map(str::to_string).collect()
        };
        let mutations = covered(MUTATIONS.iter().map(|r| r.field).collect());
        let subscriptions = covered(SUBSCRIPTIONS.iter().map(|r| r.0).collect());
        let queries = covered(QUERIES.iter().map(|r| r.0).collect());
        for (root, schema, table) in [
            ("mutationType", names("mutationType"), mutations),
            ("subscriptionType", names("subscriptionType"), subscriptions),
            ("queryType", names("queryType"), queries),
        ] {
            let missing: Vec<_> = schema.difference(&table).collect();
            let stale: Vec<_> = table.difference(&schema).collect();
            assert!(
                missing.is_empty() && stale.is_empty(),
                "{root}: fields without a matrix row: {missing:?}; rows for fields the schema lacks: {stale:?}"
            );
        }
        // Every row names an outcome for every caller that can exist.
        for row in MUTATIONS {
            for (caller, cell) in CALLERS.iter().zip(row.expect) {
                let impossible = row.case.own() && matches!(caller, Caller::NoToken | Caller::Viewer);
                assert_eq!(cell.is_none(), impossible, "{} ({}) × {}", row.field, row.what, caller.label());
            }
        }
        app.stop().await;
    }
}

both_backends! {
    async fn workflow_and_admin_mutations_answer_each_caller_as_its_role_allows_and_refusals_change_nothing(backend: Backend) {
        // No workers: nothing runs in the background, a started workflow
        // stays pending, and a refusal is compared on a still database.
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let ctx = Ctx::new(app, false).await;
        let mut wrong = Vec::new();
        for row in MUTATIONS.iter().filter(|r| !r.case.needs_engine()) {
            ctx.run_row(row, &mut wrong).await;
        }
        report("mutation", ctx.cells.load(Ordering::SeqCst), &wrong);
        ctx.app.stop().await;
    }
}

both_backends! {
    async fn review_and_deployment_mutations_answer_each_caller_as_its_role_allows_and_refusals_change_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // Two deployments: the first is then inactive, ready to roll back to.
        for _ in 0..2 {
            let run = app.run_workflow("deploy_config", deploy_input(), true).await;
            assert_eq!(run["workflow"]["status"], "COMPLETED", "{run:#}");
        }
        let ctx = Ctx::new(app, true).await;
        let mut wrong = Vec::new();
        for row in MUTATIONS.iter().filter(|r| r.case.needs_engine()) {
            ctx.run_row(row, &mut wrong).await;
        }
        report("mutation", ctx.cells.load(Ordering::SeqCst), &wrong);
        ctx.app.stop().await;
    }
}

both_backends! {
    async fn any_role_may_subscribe_and_no_token_or_a_revoked_one_is_closed_with_4403(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ctx = Ctx::new(app, true).await;
        let app = &ctx.app;
        let url = app.ws_url();
        let mut wrong = Vec::new();
        let mut cells = 0;
        let mut open = Vec::new();
        for (field, query, expect) in SUBSCRIPTIONS {
            for (caller, cell) in CALLERS.iter().copied().zip(*expect) {
                let Some(expect) = cell else { continue };
                cells += 1;
                let name = format!("{field} × {}", caller.label());
                let token = ctx.token(caller);
                let init = Subscription::init(&url, token, None).await;
                match (expect, init) {
                    (Expect::Allowed, Ok(_socket)) => {
                        // Acknowledged; now subscribe for real and see data arrive.
                        open.push((name, *field, app.subscribe_as(token.unwrap(), query, json!({})).await));
                    }
                    (Expect::Allowed, Err(close)) => {
                        wrong.push(format!("{name}: expected connection_ack, the socket was closed with {close:?}"));
                    }
                    (_, Err((4403, _))) => {}
                    (_, Err(close)) => wrong.push(format!("{name}: expected close 4403, got {close:?}")),
                    (_, Ok(_)) => wrong.push(format!("{name}: expected close 4403, got connection_ack")),
                }
            }
        }
        // Let the server register the subscriptions, then make something happen.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let run = app.run_workflow("generate_draft", draft_input(), false).await;
        let id = run["workflow"]["id"].as_str().unwrap().to_string();
        for (name, field, mut sub) in open {
            let want = id.clone();
            let got = sub
                .next_matching(LONG, move |d| match field {
                    "workflowCompleted" => d[field]["id"] == want.as_str(),
                    "workflowEvents" => d[field]["workflow"]["id"] == want.as_str(),
                    _ => d[field]["kind"] == "CREATED",
                })
                .await;
            if got.is_none() {
                wrong.push(format!("{name}: subscribed, but nothing was pushed for workflow {id}"));
            }
        }
        report("subscription", cells, &wrong);
        ctx.app.stop().await;
    }
}

both_backends! {
    async fn every_query_needs_a_credential_and_users_and_api_tokens_need_an_admin(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let deployed = app.run_workflow("deploy_config", deploy_input(), true).await;
        assert_eq!(deployed["workflow"]["status"], "COMPLETED", "{deployed:#}");
        let run = app.run_workflow("generate_draft", draft_input(), true).await;
        let w = run["workflow"]["id"].as_str().expect("a workflow").to_string();
        let a = run["approval"]["id"].as_str().expect("an approval").to_string();
        let art = app.workflow(&w).await["artifacts"][0]["id"].as_str().expect("an artifact").to_string();
        let vars = json!({
            "w": w, "a": a, "art": art,
            "chain": run["workflow"]["chainId"],
            "exp": uuid::Uuid::now_v7().to_string(),
        });
        let ctx = Ctx::new(app, true).await;
        let mut wrong = Vec::new();
        let mut cells = 0;
        for (field, query, expect) in QUERIES {
            // Only the variables the query declares.
            let used: serde_json::Map<String, Value> = vars
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| query.contains(&format!("${k}:")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (caller, cell) in CALLERS.iter().copied().zip(*expect) {
                let Some(expect) = cell else { continue };
                cells += 1;
                let name = format!("query {field} × {}", caller.label());
                let (status, body) = ctx.post(caller, None, query, Value::Object(used.clone())).await;
                if let Some(m) = ctx.check_outcome(caller, expect, status, &body, query, &Value::Object(used.clone())).await {
                    wrong.push(format!("{name}: {m}"));
                    continue;
                }
                if expect != Expect::Allowed {
                    continue;
                }
                let value = &body["data"][*field];
                let fine = match *field {
                    "viewer" => match caller.role() {
                        None => value.is_null(),
                        Some(role) => value["role"] == role,
                    },
                    "experiment" => value.is_null(),
                    _ => !value.is_null(),
                };
                if !fine {
                    wrong.push(format!("{name}: allowed, but answered {value}"));
                }
            }
        }
        report("query", cells, &wrong);
        ctx.app.stop().await;
    }
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

fn report(what: &str, cells: usize, wrong: &[String]) {
    eprintln!(
        "{what} matrix: {cells} cells, {} not as expected",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {cells} {what} cells answered differently from the contract:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
}

struct Ctx {
    app: TestApp,
    db: DatabaseConnection,
    /// The engine runs workflows: wait for it to be idle before comparing.
    engine: bool,
    viewer: String,
    submitter: String,
    reviewer: String,
    admin: String,
    revoked: String,
    /// Token of `owen` (SUBMITTER), who owns "someone else's" workflows.
    owner: String,
    unique: AtomicUsize,
    cells: AtomicUsize,
}

/// What a cell acts on; `token` overrides the caller's (for a revoked
/// caller's own workflow, made before the token was revoked).
#[derive(Clone, Default)]
struct Fixture {
    id: String,
    version: i64,
    token: Option<String>,
}

impl Ctx {
    async fn new(app: TestApp, engine: bool) -> Ctx {
        let (_, viewer) = app.user_with_token("vera", "VIEWER").await;
        let (_, submitter) = app.user_with_token("sam", "SUBMITTER").await;
        let (_, reviewer) = app.user_with_token("rita", "REVIEWER").await;
        // Not the setup's `admin`: the ADMIN column acts on others' things.
        let (_, admin) = app.user_with_token("ada", "ADMIN").await;
        let (_, owner) = app.user_with_token("owen", "SUBMITTER").await;
        let db = app.db.connect().await;
        let ctx = Ctx {
            app,
            db,
            engine,
            viewer,
            submitter,
            reviewer,
            admin,
            revoked: String::new(),
            owner,
            unique: AtomicUsize::new(0),
            cells: AtomicUsize::new(0),
        };
        let (revoked, _) = ctx.revoked_admin(|_| async {}).await;
        Ctx { revoked, ..ctx }
    }

    fn next(&self) -> usize {
        self.unique.fetch_add(1, Ordering::SeqCst)
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::NoToken => None,
            Caller::Revoked => Some(&self.revoked),
            Caller::Viewer => Some(&self.viewer),
            Caller::Submitter => Some(&self.submitter),
            Caller::Reviewer => Some(&self.reviewer),
            Caller::Admin => Some(&self.admin),
        }
    }

    /// Creates an ADMIN user and a token of theirs, lets `before` use the
    /// token, then revokes it; returns the token and what `before` made.
    async fn revoked_admin<T, Fut>(&self, before: impl FnOnce(String) -> Fut) -> (String, T)
    where
        Fut: std::future::Future<Output = T>,
    {
        let n = self.next();
        let data = self
            .app
            .gql_ok(
                "mutation($n: String!) { createUser(input: {name: $n, role: ADMIN}) { user { id } } }",
                json!({ "n": format!("rex-{n}") }),
            )
            .await;
        let user = data["createUser"]["user"]["id"].clone();
        let data = self
            .app
            .gql_ok(
                "mutation($u: ID!) { createToken(input: {name: \"soon revoked\", role: ADMIN, userId: $u}) { secret token { id } } }",
                json!({ "u": user }),
            )
            .await;
        let secret = data["createToken"]["secret"].as_str().unwrap().to_string();
        let made = before(secret.clone()).await;
        let revoked = self
            .app
            .gql_ok(
                "mutation($id: ID!) { revokeToken(id: $id) { active } }",
                json!({ "id": data["createToken"]["token"]["id"] }),
            )
            .await;
        assert_eq!(revoked["revokeToken"]["active"], false);
        (secret, made)
    }

    /// POSTs a GraphQL request as `caller` (or with `token` instead);
    /// returns the HTTP status and the body, which must be JSON.
    async fn post(
        &self,
        caller: Caller,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut req = self
            .app
            .http
            .post(self.app.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token.or(self.token(caller)) {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("POST /graphql");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("a JSON body, whatever the status");
        (status, body)
    }

    /// `None` when the answer is the expected outcome, else what was wrong.
    async fn check_outcome(
        &self,
        caller: Caller,
        expect: Expect,
        status: u16,
        body: &Value,
        query: &str,
        variables: &Value,
    ) -> Option<String> {
        let errors = body.get("errors");
        match expect {
            Expect::Allowed => {
                if status != 200 || errors.is_some() {
                    return Some(format!("expected it allowed, got HTTP {status}: {body}"));
                }
            }
            Expect::Unauthenticated | Expect::Forbidden => {
                let want = if expect == Expect::Forbidden {
                    "FORBIDDEN"
                } else {
                    "UNAUTHENTICATED"
                };
                let code = gql_error_code(body);
                if code != want {
                    return Some(format!("expected {want}, got HTTP {status}: {body}"));
                }
                let message = body["errors"][0]["message"].as_str().unwrap_or("");
                if message.is_empty() {
                    return Some(format!("{want} without a message: {body}"));
                }
                if caller == Caller::Revoked {
                    if status != 401 {
                        return Some(format!(
                            "expected HTTP 401 for a revoked token, got {status}: {body}"
                        ));
                    }
                    // The helper tests use reads the same JSON body.
                    let again = self
                        .app
                        .gql_as(Some(&self.revoked), query, variables.clone())
                        .await;
                    if gql_error_code(&again) != "UNAUTHENTICATED" {
                        return Some(format!("gql_as with a revoked token answered {again}"));
                    }
                }
            }
        }
        None
    }

    /// Row counts of every table, and of the states a mutation changes
    /// without adding a row.
    async fn snapshot(&self) -> BTreeMap<String, i64> {
        const TABLES: [&str; 15] = [
            "workflow_types",
            "webhooks",
            "deliveries",
            "workflows",
            "approvals",
            "artifacts",
            "events",
            "votes",
            "users",
            "api_tokens",
            "sessions",
            "sign_in_codes",
            "approval_policies",
            "deployments",
            "llm_calls",
        ];
        let mut queries: Vec<(String, String)> = TABLES
            .iter()
            .map(|t| (t.to_string(), format!("SELECT COUNT(*) FROM {t}")))
            .collect();
        for s in ["pending", "running", "completed", "failed", "cancelled"] {
            queries.push((
                format!("workflows {s}"),
                format!("SELECT COUNT(*) FROM workflows WHERE status = '{s}'"),
            ));
        }
        for s in ["pending", "approved", "rejected", "expired", "cancelled"] {
            queries.push((
                format!("approvals {s}"),
                format!("SELECT COUNT(*) FROM approvals WHERE status = '{s}'"),
            ));
        }
        queries.push((
            "users disabled".into(),
            "SELECT COUNT(*) FROM users WHERE disabled".into(),
        ));
        queries.push((
            "users opted out of email".into(),
            "SELECT COUNT(*) FROM users WHERE email_opt_out".into(),
        ));
        queries.push((
            "api_tokens revoked".into(),
            "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL".into(),
        ));
        queries.push((
            "deployments active".into(),
            "SELECT COUNT(*) FROM deployments WHERE active".into(),
        ));
        let mut counts = BTreeMap::new();
        for (label, sql) in queries {
            let row = self
                .db
                .query_one_raw(Statement::from_string(
                    self.db.get_database_backend(),
                    sql.clone(),
                ))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .unwrap_or_else(|| panic!("{sql}: no row"));
            counts.insert(label, row.try_get_by_index::<i64>(0).expect("a count"));
        }
        counts
    }

    /// A snapshot once the engine is idle: no workflow pending or running
    /// and nothing changing.
    async fn settled(&self) -> BTreeMap<String, i64> {
        let mut last = self.snapshot().await;
        if !self.engine {
            return last;
        }
        let deadline = tokio::time::Instant::now() + LONG;
        loop {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let now = self.snapshot().await;
            if now == last && now["workflows pending"] == 0 && now["workflows running"] == 0 {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the engine did not settle: {now:?}"
            );
            last = now;
        }
    }

    /// Starts a workflow as `token` without waiting; its id.
    async fn start_as(&self, token: &str, workflow_type: &str, input: Value) -> String {
        let body = self
            .app
            .gql_as(
                Some(token),
                "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { workflow { id } } }",
                json!({ "i": { "type": workflow_type, "input": input } }),
            )
            .await;
        assert!(
            body.get("errors").is_none(),
            "starting {workflow_type}: {body:#}"
        );
        body["data"]["runWorkflow"]["workflow"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn cancel_as(&self, token: &str, id: &str) {
        let body = self
            .app
            .gql_as(
                Some(token),
                "mutation($id: ID!) { cancelWorkflow(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            body["data"]["cancelWorkflow"]["status"], "CANCELLED",
            "{body:#}"
        );
    }

    /// A pending workflow (cancelled too, with `cancelled`) started by
    /// `token` — on the server without workers it stays pending.
    async fn workflow_of(&self, token: &str, cancelled: bool) -> String {
        let id = self.start_as(token, "generate_draft", draft_input()).await;
        if cancelled {
            self.cancel_as(token, &id).await;
        }
        id
    }

    async fn prepare(&self, case: Case, caller: Caller) -> Fixture {
        let n = self.next();
        let admin = self.app.admin_token.clone();
        match case {
            Case::RunDraft
            | Case::RunDeployConfig
            | Case::CreateUser
            | Case::SetPolicy
            | Case::CreateWebhook
            | Case::DeclareType
            | Case::OwnPreferences => Fixture::default(),
            Case::Claim => {
                self.declared_workflow().await;
                Fixture::default()
            }
            Case::Heartbeat | Case::Complete | Case::Fail => {
                self.declared_workflow().await;
                let body = self
                    .app
                    .gql_as(
                        Some(&self.admin),
                        "mutation { claimWorkflows(types: [\"matrix_work\"]) { handle } }",
                        json!({}),
                    )
                    .await;
                let handle = body["data"]["claimWorkflows"][0]["handle"]
                    .as_str()
                    .unwrap_or_else(|| panic!("the ADMIN caller claimed: {body:#}"))
                    .to_string();
                Fixture {
                    id: handle,
                    ..Default::default()
                }
            }
            Case::CancelOthers | Case::RetryOthers => Fixture {
                id: self
                    .workflow_of(&self.owner, case == Case::RetryOthers)
                    .await,
                ..Default::default()
            },
            Case::CancelOwn | Case::RetryOwn => {
                let cancelled = case == Case::RetryOwn;
                if caller == Caller::Revoked {
                    let (token, id) = self
                        .revoked_admin(|t| async move { self.workflow_of(&t, cancelled).await })
                        .await;
                    Fixture {
                        id,
                        token: Some(token),
                        ..Default::default()
                    }
                } else {
                    let token = self.token(caller).expect("an owner has a token");
                    Fixture {
                        id: self.workflow_of(token, cancelled).await,
                        ..Default::default()
                    }
                }
            }
            Case::Approve | Case::Reject | Case::ApproveMany | Case::RejectMany => {
                let run = self
                    .app
                    .run_workflow("generate_draft", draft_input(), true)
                    .await;
                let id = run["approval"]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("generate_draft finished with an approval: {run:#}"))
                    .to_string();
                let version = self.app.approval_version(&id).await;
                Fixture {
                    id,
                    version,
                    token: None,
                }
            }
            Case::Rollback => {
                let data = self
                    .app
                    .gql_ok(
                        "{ deployments(target: \"generate_draft\", environment: \"production\", first: 100) { edges { node { id active } } } }",
                        json!({}),
                    )
                    .await;
                let id = data["deployments"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["node"]["active"] == false)
                    .and_then(|e| e["node"]["id"].as_str())
                    .unwrap_or_else(|| panic!("an inactive deployment: {data:#}"))
                    .to_string();
                Fixture {
                    id,
                    ..Default::default()
                }
            }
            Case::DisableUser
            | Case::CreateSignInLink
            | Case::CreateToken
            | Case::OthersPreferences => {
                let data = self
                    .app
                    .gql_as(
                        Some(&admin),
                        "mutation($n: String!) { createUser(input: {name: $n, role: VIEWER}) { user { id } } }",
                        json!({ "n": format!("target-{n}") }),
                    )
                    .await;
                let id = data["data"]["createUser"]["user"]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{data:#}"));
                Fixture {
                    id: id.to_string(),
                    ..Default::default()
                }
            }
            Case::UpdateWebhook
            | Case::DeleteWebhook
            | Case::RotateWebhookSecret
            | Case::SendTestWebhook => Fixture {
                id: self.webhook(n).await,
                ..Default::default()
            },
            Case::Redeliver => {
                // A test delivery whose webhook is disabled before it got
                // through dies at its next attempt; enabled again, it may be
                // redelivered.
                let hook = self.webhook(n).await;
                let sent = self
                    .app
                    .gql_ok(
                        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
                        json!({ "id": hook }),
                    )
                    .await;
                let id = sent["sendTestWebhook"]["id"].as_str().unwrap().to_string();
                self.set_active(&hook, false).await;
                let deadline = tokio::time::Instant::now() + LONG;
                loop {
                    let d = self
                        .app
                        .gql_ok(
                            "query($w: ID!) { deliveries(filter: {webhookId: $w}) { edges { node { status } } } }",
                            json!({ "w": hook }),
                        )
                        .await;
                    if d["deliveries"]["edges"][0]["node"]["status"] == "DEAD" {
                        break;
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the delivery died: {d}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                self.set_active(&hook, true).await;
                Fixture {
                    id,
                    ..Default::default()
                }
            }
            Case::RevokeToken => {
                let data = self
                    .app
                    .gql_ok(
                        "mutation($n: String!) { createToken(input: {name: \"ci\", role: VIEWER, serviceName: $n}) { token { id } } }",
                        json!({ "n": format!("svc-{n}") }),
                    )
                    .await;
                Fixture {
                    id: data["createToken"]["token"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    ..Default::default()
                }
            }
        }
    }

    /// Declares `matrix_work` (the same content again keeps version 1) and
    /// starts one, pending on this server without workers.
    async fn declared_workflow(&self) {
        self.app
            .gql_ok(
                "mutation { declareWorkflowType(input: {name: \"matrix_work\", inputSchema: {type: \"object\"}, requiresApproval: false}) { version } }",
                json!({}),
            )
            .await;
        self.start_as(&self.app.admin_token, "matrix_work", json!({}))
            .await;
    }

    /// A webhook (as the admin) to a closed port.
    async fn webhook(&self, n: usize) -> String {
        let data = self
            .app
            .gql_ok(
                "mutation($u: String!) { createWebhook(input: {url: $u, events: [\"approval.created\"]}) { webhook { id } } }",
                json!({ "u": format!("http://127.0.0.1:9/fixture-{n}") }),
            )
            .await;
        data["createWebhook"]["webhook"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn set_active(&self, webhook: &str, active: bool) {
        self.app
            .gql_ok(
                "mutation($id: ID!, $a: Boolean!) { updateWebhook(id: $id, input: {active: $a}) { active } }",
                json!({ "id": webhook, "a": active }),
            )
            .await;
    }

    /// The mutation of a row on `fx`, and a check of an allowed answer.
    fn operation(&self, case: Case, fx: &Fixture) -> (&'static str, Value) {
        let n = self.next();
        let item = json!([{ "id": fx.id, "version": fx.version }]);
        match case {
            Case::RunDraft | Case::RunDeployConfig => {
                let (t, input) = if case == Case::RunDraft {
                    ("generate_draft", draft_input())
                } else {
                    ("deploy_config", deploy_input())
                };
                (
                    "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { workflow { id type createdBy } } }",
                    json!({ "i": { "type": t, "input": input } }),
                )
            }
            Case::CancelOthers | Case::CancelOwn => (
                "mutation($id: ID!) { cancelWorkflow(id: $id) { id status } }",
                json!({ "id": fx.id }),
            ),
            Case::RetryOthers | Case::RetryOwn => (
                "mutation($id: ID!) { retryWorkflow(id: $id) { id status } }",
                json!({ "id": fx.id }),
            ),
            Case::Approve => (
                "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v) { decided approval { status } } }",
                json!({ "id": fx.id, "v": fx.version }),
            ),
            Case::Reject => (
                "mutation($id: ID!, $v: Int!) { reject(id: $id, version: $v) { decided approval { status } } }",
                json!({ "id": fx.id, "v": fx.version }),
            ),
            Case::ApproveMany => (
                "mutation($items: [DecisionItem!]!) { approveMany(items: $items) { decided results { ok error { code message } } } }",
                json!({ "items": item }),
            ),
            Case::RejectMany => (
                "mutation($items: [DecisionItem!]!) { rejectMany(items: $items) { decided results { ok error { code message } } } }",
                json!({ "items": item }),
            ),
            Case::Rollback => (
                "mutation($id: ID!) { rollbackDeployment(id: $id) { active rolledBackFrom } }",
                json!({ "id": fx.id }),
            ),
            Case::CreateUser => (
                "mutation($n: String!) { createUser(input: {name: $n, role: VIEWER}) { user { name } signInLink { url } } }",
                json!({ "n": format!("newcomer-{n}") }),
            ),
            Case::DisableUser => (
                "mutation($id: ID!) { disableUser(id: $id) { disabled } }",
                json!({ "id": fx.id }),
            ),
            Case::CreateSignInLink => (
                "mutation($id: ID!) { createSignInLink(userId: $id) { url expiresAt } }",
                json!({ "id": fx.id }),
            ),
            Case::CreateToken => (
                "mutation($id: ID!, $n: String!) { createToken(input: {name: $n, role: VIEWER, userId: $id}) { secret token { active } } }",
                json!({ "id": fx.id, "n": format!("token-{n}") }),
            ),
            Case::RevokeToken => (
                "mutation($id: ID!) { revokeToken(id: $id) { active revokedAt } }",
                json!({ "id": fx.id }),
            ),
            Case::SetPolicy => (
                "mutation($i: ApprovalPolicyInput!) { setApprovalPolicy(input: $i) { isDefault updatedBy } }",
                json!({ "i": { "workflowType": "generate_draft", "requiredApprovals": 1, "preventSelfReview": false } }),
            ),
            Case::CreateWebhook => (
                "mutation($u: String!) { createWebhook(input: {url: $u, events: [\"approval.created\"]}) { secret webhook { id } } }",
                json!({ "u": format!("http://127.0.0.1:9/hook-{n}") }),
            ),
            Case::UpdateWebhook => (
                "mutation($id: ID!) { updateWebhook(id: $id, input: {events: [\"approval.decided\"]}) { events } }",
                json!({ "id": fx.id }),
            ),
            Case::DeleteWebhook => (
                "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
                json!({ "id": fx.id }),
            ),
            Case::RotateWebhookSecret => (
                "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { previousSecretValidUntil } } }",
                json!({ "id": fx.id }),
            ),
            Case::SendTestWebhook => (
                "mutation($id: ID!) { sendTestWebhook(id: $id) { eventType status } }",
                json!({ "id": fx.id }),
            ),
            Case::Redeliver => (
                "mutation($id: ID!) { redeliver(id: $id) { status attempts } }",
                json!({ "id": fx.id }),
            ),
            Case::OwnPreferences => (
                "mutation { setNotificationPreferences(email: false) { emailNotifications } }",
                json!({}),
            ),
            Case::OthersPreferences => (
                "mutation($id: ID!) { setNotificationPreferences(userId: $id, email: false) { emailNotifications } }",
                json!({ "id": fx.id }),
            ),
            Case::DeclareType => (
                "mutation($n: String!) { declareWorkflowType(input: {name: $n, inputSchema: {type: \"object\"}, requiresApproval: true}) { version declaredBy } }",
                json!({ "n": format!("declared_{n}") }),
            ),
            Case::Claim => (
                "mutation { claimWorkflows(types: [\"matrix_work\"], limit: 1) { handle workflow { status } } }",
                json!({}),
            ),
            Case::Heartbeat => (
                "mutation($h: String!) { heartbeat(handle: $h) }",
                json!({ "h": fx.id }),
            ),
            Case::Complete => (
                "mutation($h: String!) { completeWorkflow(handle: $h, output: {done: true}) { status } }",
                json!({ "h": fx.id }),
            ),
            Case::Fail => (
                "mutation($h: String!) { failWorkflow(handle: $h, error: \"matrix\") { status } }",
                json!({ "h": fx.id }),
            ),
        }
    }

    /// `None` when an allowed answer did what the mutation says.
    fn did_it(case: Case, fx: &Fixture, data: &Value) -> Option<String> {
        let ok = match case {
            Case::RunDraft => data["runWorkflow"]["workflow"]["type"] == "generate_draft",
            Case::RunDeployConfig => data["runWorkflow"]["workflow"]["type"] == "deploy_config",
            Case::CancelOthers | Case::CancelOwn => data["cancelWorkflow"]["status"] == "CANCELLED",
            Case::RetryOthers | Case::RetryOwn => data["retryWorkflow"]["status"] == "PENDING",
            Case::Approve => {
                data["approve"]["decided"] == true
                    && data["approve"]["approval"]["status"] == "APPROVED"
            }
            Case::Reject => {
                data["reject"]["decided"] == true
                    && data["reject"]["approval"]["status"] == "REJECTED"
            }
            Case::ApproveMany => {
                data["approveMany"]["results"][0]["ok"] == true
                    && data["approveMany"]["decided"] == 1
            }
            Case::RejectMany => {
                data["rejectMany"]["results"][0]["ok"] == true && data["rejectMany"]["decided"] == 1
            }
            Case::Rollback => {
                data["rollbackDeployment"]["active"] == true
                    && data["rollbackDeployment"]["rolledBackFrom"] == fx.id.as_str()
            }
            Case::CreateUser => data["createUser"]["signInLink"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("#code=")),
            Case::DisableUser => data["disableUser"]["disabled"] == true,
            Case::CreateSignInLink => data["createSignInLink"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("/signin#code=")),
            Case::CreateToken => data["createToken"]["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("baton_")),
            Case::RevokeToken => {
                data["revokeToken"]["active"] == false
                    && !data["revokeToken"]["revokedAt"].is_null()
            }
            Case::SetPolicy => data["setApprovalPolicy"]["isDefault"] == false,
            Case::CreateWebhook => data["createWebhook"]["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("whsec_")),
            Case::UpdateWebhook => data["updateWebhook"]["events"] == json!(["approval.decided"]),
            Case::DeleteWebhook => data["deleteWebhook"]["id"] == fx.id.as_str(),
            Case::RotateWebhookSecret => {
                data["rotateWebhookSecret"]["secret"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("whsec_"))
                    && !data["rotateWebhookSecret"]["webhook"]["previousSecretValidUntil"].is_null()
            }
            Case::SendTestWebhook => data["sendTestWebhook"]["eventType"] == "webhook.test",
            Case::Redeliver => data["redeliver"]["status"] == "PENDING",
            Case::OwnPreferences | Case::OthersPreferences => {
                data["setNotificationPreferences"]["emailNotifications"] == false
            }
            Case::DeclareType => {
                data["declareWorkflowType"]["version"] == 1
                    && data["declareWorkflowType"]["declaredBy"] == "ada"
            }
            Case::Claim => data["claimWorkflows"][0]["workflow"]["status"] == "RUNNING",
            Case::Heartbeat => data["heartbeat"].is_string(),
            Case::Complete => data["completeWorkflow"]["status"] == "COMPLETED",
            Case::Fail => data["failWorkflow"]["status"] == "PENDING",
        };
        (!ok).then(|| format!("allowed, but it did not do it: {data}"))
    }

    /// Every cell of a row. A fixture is shared by the callers refused on
    /// it and used up by the first one allowed.
    async fn run_row(&self, row: &Row, wrong: &mut Vec<String>) {
        let mut shared: Option<Fixture> = None;
        for (caller, cell) in CALLERS.iter().copied().zip(row.expect) {
            let Some(expect) = cell else { continue };
            self.cells.fetch_add(1, Ordering::SeqCst);
            let name = format!("{} ({}) × {}", row.field, row.what, caller.label());
            let fx = if row.case.own() {
                self.prepare(row.case, caller).await
            } else {
                match &shared {
                    Some(f) => f.clone(),
                    None => {
                        let f = self.prepare(row.case, caller).await;
                        shared = Some(f.clone());
                        f
                    }
                }
            };
            let (query, variables) = self.operation(row.case, &fx);
            let before = if expect == Expect::Allowed {
                None
            } else {
                Some(self.settled().await)
            };
            let (status, body) = self
                .post(caller, fx.token.as_deref(), query, variables.clone())
                .await;
            if body.get("errors").is_none() {
                // Done (rightly or not): the fixture is used up.
                shared = None;
            }
            if let Some(m) = self
                .check_outcome(caller, expect, status, &body, query, &variables)
                .await
            {
                wrong.push(format!("{name}: {m}"));
            } else if expect == Expect::Allowed {
                if let Some(m) = Self::did_it(row.case, &fx, &body["data"]) {
                    wrong.push(format!("{name}: {m}"));
                }
                if matches!(row.case, Case::RunDraft | Case::RunDeployConfig) {
                    let by = &body["data"]["runWorkflow"]["workflow"]["createdBy"];
                    let who = match caller {
                        Caller::Submitter => "sam",
                        Caller::Reviewer => "rita",
                        _ => "ada",
                    };
                    if by != who {
                        wrong.push(format!(
                            "{name}: the workflow records createdBy {by}, not {who}"
                        ));
                    }
                }
            }
            if let Some(before) = before {
                let after = self.snapshot().await;
                if before != after {
                    let changed: Vec<String> = before
                        .iter()
                        .filter(|(k, v)| after.get(*k) != Some(v))
                        .map(|(k, v)| format!("{k}: {v} → {}", after[k]))
                        .collect();
                    wrong.push(format!(
                        "{name}: refused, yet the database changed: {}",
                        changed.join(", ")
                    ));
                }
            }
        }
    }
}
