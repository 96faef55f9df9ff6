//! sea-orm entities for Baton's tables: columns, enums and relations only.
//!
//! Behaviour (what may change a row, and when) lives in `baton::domain`; this
//! crate is the shape of the data, shared by the server, the migrations' tests
//! and the end-to-end tests.

pub mod api_token;
pub mod approval;
pub mod approval_policy;
pub mod artifact;
pub mod decision_link;
pub mod delivery;
pub mod deployment;
pub mod event;
pub mod llm_call;
pub mod role;
pub mod session;
pub mod sign_in_code;
pub mod user;
pub mod vote;
pub mod webhook;
pub mod workflow;
pub mod workflow_type;
