//! The one guarded state change of a workflow row. Claims aside (one
//! batch statement in `runs`), every transition goes through [`Change`]:
//! complete, fail, release and lease renewal by a worker (Baton's own or an
//! external one), cancel and retry by a person. Each is one UPDATE that
//! moves the row only from the statuses it allows or, for a worker's write,
//! only while the claim's fencing token (`fence`, and for an external
//! worker the lease owner) still matches; `None` means the guard no longer
//! held and nothing was written.

use chrono::{DateTime, Utc};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, SimpleExpr},
};
use uuid::Uuid;

/// What must still hold for a change to apply.
#[derive(Debug, Clone)]
pub enum Guard {
    /// The row is in one of these statuses (cancel, retry).
    From(&'static [WorkflowStatus]),
    /// The claim is still the one this worker holds: `running`, the same
    /// fence, and (external workers) the same lease owner.
    Claim { fence: i64, owner: Option<String> },
}

/// One guarded UPDATE of one workflow row: a target status (or none, for a
/// lease renewal) and the columns that go with it. `updated_at` is always
/// written.
#[derive(Debug, Clone)]
pub struct Change {
    id: Uuid,
    guard: Guard,
    /// Also require the lease to have expired before this instant (a
    /// reaper failing a run whose worker stopped renewing it).
    expired_before: Option<DateTime<Utc>>,
    sets: Vec<(workflow::Column, SimpleExpr)>,
}

impl Change {
    pub fn new(id: Uuid, guard: Guard) -> Change {
        Change {
            id,
            guard,
            expired_before: None,
            sets: Vec::new(),
        }
    }

    /// The change a worker holding `claim` makes.
    pub fn of_claim(claim: &workflow::Model) -> Change {
        Change::new(
            claim.id,
            Guard::Claim {
                fence: claim.fence,
                owner: None,
            },
        )
    }

    /// Also requires the lease owner to match (external workers, whose
    /// handle names it).
    pub fn owned_by(mut self, owner: &str) -> Change {
        if let Guard::Claim { owner: o, .. } = &mut self.guard {
            *o = Some(owner.to_string());
        }
        self
    }

    /// Applies only while the lease is still expired at `now`: a worker
    /// that renewed it in the meantime keeps its run.
    pub fn only_if_lease_expired(mut self, now: DateTime<Utc>) -> Change {
        self.expired_before = Some(now);
        self
    }

    pub fn to(self, status: WorkflowStatus) -> Change {
        self.set(workflow::Column::Status, Expr::value(status))
    }

    pub fn set(mut self, col: workflow::Column, value: impl Into<SimpleExpr>) -> Change {
        self.sets.push((col, value.into()));
        self
    }

    /// The lease is over: no owner, no expiry.
    pub fn without_lease(self) -> Change {
        self.set(
            workflow::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .set(
            workflow::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
    }

    /// Applies the change; `None` when the guard no longer holds (nothing
    /// was written).
    pub async fn apply(
        self,
        conn: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<Option<workflow::Model>, DbErr> {
        let mut update = workflow::Entity::update_many()
            .col_expr(workflow::Column::UpdatedAt, Expr::value(now))
            .filter(workflow::Column::Id.eq(self.id));
        if let Some(t) = self.expired_before {
            update = update.filter(workflow::Column::LeaseExpiresAt.lt(t));
        }
        for (col, value) in self.sets {
            update = update.col_expr(col, value);
        }
        update = match self.guard {
            Guard::From(statuses) => {
                update.filter(workflow::Column::Status.is_in(statuses.to_vec()))
            }
            Guard::Claim { fence, owner } => {
                let u = update
                    .filter(workflow::Column::Fence.eq(fence))
                    .filter(workflow::Column::Status.eq(WorkflowStatus::Running));
                match owner {
                    Some(o) => u.filter(workflow::Column::LeaseOwner.eq(o)),
                    None => u,
                }
            }
        };
        Ok(update.exec_with_returning(conn).await?.into_iter().next())
    }
}
