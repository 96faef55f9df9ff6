//! The GraphQL API: a thin layer over `domain`. A resolver reads the
//! context, calls one domain function, and maps the result into an object
//! type that wraps the entity (so a new column never leaks by accident).

pub mod deliveries;
pub mod error;
pub mod experiment;
pub mod identity;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod notify;
pub mod observe;
pub mod order;
pub mod query;
pub mod review;
pub mod subscription;
pub mod types;
pub mod workers;

use std::sync::Arc;

use async_graphql::{Context, Schema};

use crate::domain::Principal;
use crate::domain::principal::Permission;
use crate::ratelimit;
use crate::state::AppState;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type BatonSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema; `state` is `None` only for printing the SDL.
///
/// The limits of `config.limits` apply to every document, over HTTP and
/// WebSocket alike (see `limits` and the README, "Limits").
pub fn schema(state: Option<AppState>) -> BatonSchema {
    let mut builder = Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot);
    let limits = state
        .as_ref()
        .map(|s| s.config.limits.clone())
        .unwrap_or_default();
    // async-graphql stops runaway nesting while it walks the parsed
    // document; below our own depth limit it must never be what refuses.
    builder = builder.limit_recursive_depth(limits.max_depth.max(32));
    if !limits.introspection {
        // "Did you mean …" suggestions would leak the schema piecemeal.
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder = builder.extension(limits::Limits(Arc::new(limits)));
    if let Some(state) = state {
        builder = builder
            .extension(observe::Observe::new(Some(state.metrics.clone())))
            .data(Arc::new(deliveries::Deliveries::new(
                state.db.clone(),
                Some(state.metrics.clone()),
            )))
            .data(state);
    }
    builder.finish()
}

/// Spends `cost` of the caller's `kind` budget (`RATE_LIMITED` when it is
/// used up). Call it after the permission check, before any write. The
/// budget is the process's (`AppState::limiter`), shared with the decision
/// links of `http::decide`.
pub(crate) fn spend(
    ctx: &Context<'_>,
    principal: &Principal,
    kind: ratelimit::Kind,
    cost: u32,
) -> Result<(), crate::error::AppError> {
    match ctx.data_opt::<AppState>() {
        Some(state) => state.limiter.take(kind, &principal.id, cost),
        None => Ok(()),
    }
}

/// The SDL integrators read; `schema.graphql` is exactly this text.
pub fn sdl() -> String {
    schema(None).sdl()
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    // Inserted by `schema()` for every served request; its absence is a
    // startup bug, not a client error.
    #[allow(clippy::expect_used)]
    ctx.data::<AppState>()
        .expect("AppState is in the schema data")
}

/// The caller, put into the request by the HTTP layer (or the WebSocket's
/// connection_init); unauthenticated when absent.
pub(crate) fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::unauthenticated)
}

/// The caller, when it has `permission` (else `UNAUTHENTICATED` or
/// `FORBIDDEN`). Every root field starts with this.
pub(crate) fn require(
    ctx: &Context<'_>,
    permission: Permission,
) -> Result<Principal, crate::error::AppError> {
    let p = principal(ctx);
    p.require(permission)?;
    Ok(p)
}
