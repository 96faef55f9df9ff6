//! Baton: LLM workflows with human review between them, over GraphQL.
//!
//! A workflow runs to completion, stores its artifact and asks for an
//! approval; a person's decision starts the next workflow in the same
//! transaction. Nothing waits for a human: state lives in database rows.
//!
//! Layout: [`domain`] holds the rules and the writes (no HTTP, no GraphQL),
//! [`engine`] claims and runs workflows, [`workflows`] are the built-in types,
//! [`graphql`] and [`http`] are thin layers over the domain, [`app`] wires it.

pub mod app;
pub mod canonical_json;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod experiment_cli;
pub mod graphql;
pub mod html;
pub mod http;
pub mod identity_cli;
pub mod jsonschema;
pub mod llm;
pub mod metrics;
pub mod notify;
pub mod optimizer;
pub mod ratelimit;
pub mod state;
pub mod telemetry;
pub mod workflows;

pub use app::Application;
pub use config::Config;
pub use error::AppError;
