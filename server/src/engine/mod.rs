//! The workflow engine: claim a pending row under a lease, run it, store
//! the outcome in one transaction, and wake up when there is work.
//!
//! Contract: state transitions happen exactly once (every worker write is
//! fenced by the claim's token); model calls happen at least once (a run cut
//! short by a crash or a lost lease runs again from the start).

pub mod context;
pub mod listener;
pub mod queue;
pub mod registry;
pub mod signals;
pub mod worker;

pub use context::RunContext;
pub use registry::{
    ApprovalRequest, ArtifactEdits, FollowUp, NewArtifact, Outcome, Registry, Workflow,
    WorkflowError,
};
