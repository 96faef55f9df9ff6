//! `TestApp`: the real server, in this process, on a free port, with its
//! own fresh database.

use std::net::SocketAddr;
use std::time::Duration;

use baton::app::Overrides;
use baton::config::Config;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::db::{Backend, TestDb};
use crate::ws::Subscription;

pub struct TestApp {
    pub address: SocketAddr,
    pub db: TestDb,
    pub state: baton::state::AppState,
    pub http: reqwest::Client,
    /// An API token of the user `admin` (role ADMIN); `gql` sends it.
    pub admin_token: String,
    /// The first-start sign-in link, when the configuration asked for a
    /// first admin (`auth.bootstrap_admin`) and the database had no users.
    pub first_sign_in: Option<String>,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The configuration tests start from: port 0, quick polling.
pub fn test_config(db_url: &str) -> Config {
    let mut c = Config {
        database_url: db_url.to_string(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    c.engine.poll_interval = Duration::from_millis(100);
    c.engine.retry_base = Duration::from_millis(50);
    c.engine.shutdown_grace = Duration::from_secs(2);
    c.delivery.retry_base = Duration::from_millis(50);
    c.delivery.poll_interval = Duration::from_millis(100);
    c.delivery.timeout = Duration::from_secs(5);
    // Tests make their own admin (see `seed_admin`); a first-start link
    // is tested on its own.
    c.auth.bootstrap_admin = false;
    c
}

/// Creates the user `admin` (ADMIN) and an API token for it straight on
/// the database, as `baton user add` and `baton token create` do; returns
/// the token's secret. For servers started as separate processes.
pub async fn seed_admin(database_url: &str) -> String {
    let db = baton::db::connect(database_url).await.expect("connect");
    baton::db::migrate(&db).await.expect("migrate");
    let token = issue_admin(&db).await;
    db.close().await.ok();
    token
}

async fn issue_admin(db: &sea_orm::DatabaseConnection) -> String {
    use baton::domain::identity::{self, NewToken, NewUser};
    use baton::domain::{Principal, Stamp};
    let cli = Principal::cli();
    let stamp = Stamp {
        actor: cli.id.clone(),
        actor_role: cli.role,
        now: chrono::Utc::now(),
        origin: "test".into(),
        notify_email: false,
    };
    let user = match identity::user_by_name(db, "admin").await {
        Ok(u) => u,
        Err(_) => {
            identity::create_user(
                db,
                &stamp,
                NewUser {
                    name: "admin".into(),
                    email: None,
                    role: entity::role::Role::Admin,
                },
            )
            .await
            .expect("create the admin user")
            .0
        }
    };
    identity::create_token(
        db,
        &stamp,
        NewToken {
            name: "tests".into(),
            role: entity::role::Role::Admin,
            user_id: Some(user.id),
            service_name: None,
            expires_in: None,
        },
    )
    .await
    .expect("create the admin token")
    .secret
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}, Overrides::default()).await
    }

    /// Starts a server after `configure` has adjusted the test configuration.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
        overrides: Overrides,
    ) -> TestApp {
        let db = TestDb::create(backend).await;
        Self::spawn_on(db, configure, overrides).await
    }

    /// Starts a server on an existing test database.
    pub async fn spawn_on(
        db: TestDb,
        configure: impl FnOnce(&mut Config),
        overrides: Overrides,
    ) -> TestApp {
        let mut config = test_config(&db.url);
        configure(&mut config);
        let app = baton::Application::build_with(config, overrides)
            .await
            .expect("build the application");
        let address = app.address();
        let first_sign_in = app.first_sign_in().map(str::to_string);
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let admin_token = issue_admin(&state.db).await;
        let server = tokio::spawn(app.run());
        TestApp {
            address,
            db,
            state,
            http: reqwest::Client::new(),
            admin_token,
            first_sign_in,
            shutdown,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// POSTs a GraphQL request as the admin and returns the whole body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&self.admin_token), query, variables).await
    }

    /// POSTs a GraphQL request with `token` (none: no credential).
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        post_graphql_as(&self.http, &self.url("/graphql"), token, query, variables).await
    }

    /// Creates a user with `role` (through the API, as the admin) and a
    /// token of theirs; returns `(user id, token)`.
    pub async fn user_with_token(&self, name: &str, role: &str) -> (String, String) {
        let data = self
            .gql_ok(
                "mutation($n: String!, $r: Role!) { createUser(input: {name: $n, role: $r}) { user { id } } }",
                json!({ "n": name, "r": role }),
            )
            .await;
        let id = data["createUser"]["user"]["id"]
            .as_str()
            .expect("user id")
            .to_string();
        let data = self
            .gql_ok(
                "mutation($n: String!, $r: Role!, $u: ID!) { createToken(input: {name: $n, role: $r, userId: $u}) { secret } }",
                json!({ "n": format!("{name}'s token"), "r": role, "u": id }),
            )
            .await;
        let token = data["createToken"]["secret"]
            .as_str()
            .expect("token secret")
            .to_string();
        (id, token)
    }

    /// Sets the approval policy of `workflow_type` (as the admin).
    pub async fn set_policy(&self, workflow_type: &str, policy: Value) {
        let mut input = policy;
        input["workflowType"] = json!(workflow_type);
        self.gql_ok(
            "mutation($i: ApprovalPolicyInput!) { setApprovalPolicy(input: $i) { workflowType } }",
            json!({ "i": input }),
        )
        .await;
    }

    /// The artifact version an approval shows now.
    pub async fn approval_version(&self, id: &str) -> i64 {
        let body = self
            .gql(
                "query($id: ID!) { approval(id: $id) { artifactVersion } }",
                json!({ "id": id }),
            )
            .await;
        body["data"]["approval"]["artifactVersion"]
            .as_i64()
            .unwrap_or(0)
    }

    /// Like `gql`, but fails the test on errors and returns `data`.
    pub async fn gql_ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// `runWorkflow`; returns the payload.
    pub async fn run_workflow(&self, workflow_type: &str, input: Value, wait: bool) -> Value {
        let data = self
            .gql_ok(
                "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) {
                    created
                    workflow { id type status chainId attempt output error }
                    approval { id status artifactType score }
                } }",
                json!({ "input": { "type": workflow_type, "input": input, "wait": wait } }),
            )
            .await;
        data["runWorkflow"].clone()
    }

    /// `approve` as the admin, on the version the approval shows now;
    /// returns the whole response (tests look at errors too).
    pub async fn approve(&self, id: &str, feedback: Option<&str>) -> Value {
        let version = self.approval_version(id).await;
        self.approve_as(&self.admin_token, id, version, feedback, None)
            .await
    }

    /// `approve` with `token` on `version`, with optional `edits`.
    pub async fn approve_as(
        &self,
        token: &str,
        id: &str,
        version: i64,
        feedback: Option<&str>,
        edits: Option<Value>,
    ) -> Value {
        self.gql_as(
            Some(token),
            "mutation($id: ID!, $v: Int!, $feedback: String, $edits: JSON) {
              approve(id: $id, version: $v, feedback: $feedback, edits: $edits) {
                decided
                vote { reviewer { name role } decision artifactVersion }
                approval { id status feedback decidedBy artifactVersion approvalsCount requiredApprovals nextWorkflow { id } }
                nextWorkflow { id type status chainId input }
            } }",
            json!({ "id": id, "v": version, "feedback": feedback, "edits": edits }),
        )
        .await
    }

    /// `reject` as the admin on the version the approval shows now.
    pub async fn reject(&self, id: &str, feedback: Option<&str>) -> Value {
        let version = self.approval_version(id).await;
        self.gql(
            "mutation($id: ID!, $v: Int!, $f: String) { reject(id: $id, version: $v, feedback: $f) {
                decided approval { id status feedback decidedBy } nextWorkflow { id type input } } }",
            json!({ "id": id, "v": version, "f": feedback }),
        )
        .await
    }

    /// Ids of the pending approvals, oldest first.
    pub async fn pending_approval_ids(&self) -> Vec<String> {
        let data = self
            .gql_ok(
                "{ pendingApprovals(first: 100) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        data["pendingApprovals"]["edges"]
            .as_array()
            .map(|edges| {
                edges
                    .iter()
                    .filter_map(|e| e["node"]["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reads a workflow by id.
    pub async fn workflow(&self, id: &str) -> Value {
        let data = self
            .gql_ok(
                "query($id: ID!) { workflow(id: $id) {
                    id type status attempt maxAttempts error output chainId
                    approval { id status }
                    artifacts { id version kind content parent { id version } }
                    llmCalls { purpose provider model error }
                } }",
                json!({ "id": id }),
            )
            .await;
        data["workflow"].clone()
    }

    /// Polls until the workflow reaches one of `statuses` (or panics after `limit`).
    pub async fn wait_for_status(&self, id: &str, statuses: &[&str], limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let w = self.workflow(id).await;
            if statuses.iter().any(|s| w["status"] == *s) {
                return w;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "workflow {id} did not reach {statuses:?} within {limit:?}: {w:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a graphql-ws subscription as the admin.
    pub async fn subscribe(&self, query: &str, variables: Value) -> Subscription {
        self.subscribe_as(&self.admin_token, query, variables).await
    }

    /// Opens a graphql-ws subscription with `token` in `connection_init`.
    pub async fn subscribe_as(&self, token: &str, query: &str, variables: Value) -> Subscription {
        Subscription::open(&self.ws_url(), Some(token), query, variables).await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.address)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// POSTs a GraphQL request with a bearer token (none: no credential).
pub async fn post_graphql_as(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut req = http
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("POST /graphql");
    res.json().await.expect("a JSON GraphQL response")
}

/// The `extensions.code` of the first error of a response.
pub fn gql_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}
