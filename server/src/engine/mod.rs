//! The workflow engine: Baton's own workers. They claim pending rows of the
//! built-in types under a lease, run them, store the outcome in one
//! transaction (through `domain::runs`, as external workers do), and wake
//! up when there is work.
//!
//! Contract: state transitions happen exactly once (every worker write is
//! fenced by the claim's token); model calls happen at least once (a run cut
//! short by a crash or a lost lease runs again from the start).

pub mod context;
pub mod listener;
pub mod registry;
pub mod signals;
pub mod worker;

pub use context::RunContext;
pub use registry::{
    ApprovalRequest, ArtifactEdits, FollowUp, NewArtifact, OnComplete, Outcome, Registry, Workflow,
    WorkflowError,
};
