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
    c
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
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run());
        TestApp {
            address,
            db,
            state,
            http: reqwest::Client::new(),
            shutdown,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        post_graphql(&self.http, &self.url("/graphql"), query, variables).await
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

    /// `approve`; returns the whole response (tests look at errors too).
    pub async fn approve(&self, id: &str, feedback: Option<&str>) -> Value {
        self.gql(
            "mutation($id: ID!, $feedback: String) { approve(id: $id, feedback: $feedback) {
                approval { id status feedback decidedBy nextWorkflow { id } }
                nextWorkflow { id type status chainId input }
            } }",
            json!({ "id": id, "feedback": feedback }),
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

    /// Opens a graphql-ws subscription.
    pub async fn subscribe(&self, query: &str, variables: Value) -> Subscription {
        Subscription::open(&format!("ws://{}/graphql", self.address), query, variables).await
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

pub async fn post_graphql(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
) -> Value {
    let res = http
        .post(url)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("POST /graphql");
    res.json().await.expect("a JSON GraphQL response")
}

/// The `extensions.code` of the first error of a response.
pub fn gql_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}
