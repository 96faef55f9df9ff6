//! Helpers for Baton's end-to-end tests: a real server on a free port with
//! its own fresh database (`TestApp`), the same as a separate process
//! (`ServerProcess`), a graphql-ws client, and a fake OpenAI-compatible
//! server on loopback standing in for the model endpoint, and a throwaway
//! PostgreSQL cluster a test may stop and start (`PgCluster`).
//!
//! PostgreSQL tests use `BATON_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test creates and drops
//! its own database there. Without a reachable server they are skipped with
//! a message — except when `CI` is set, where they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod cluster;
pub mod db;
pub mod fake_llm;
pub mod history;
pub mod process;
pub mod ws;

pub use app::{TestApp, gql_error_code};
pub use cluster::{PgCluster, StopMode, pg_cluster_available};
pub use db::{Backend, TestDb};

/// Declares one async test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            async fn run($backend: $crate::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::db::postgres_available().await {
                    run($crate::Backend::Postgres).await;
                }
            }
        }
    };
}

/// Lower-case hex of `bytes` (digests in assertions).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
