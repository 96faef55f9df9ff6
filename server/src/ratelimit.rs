//! Per-principal rate limits on what costs the most: starting runs and
//! deciding approvals. In-process token buckets, one per principal and
//! kind; each `baton serve` process limits on its own (N processes allow
//! N times the rate), which is enough to stop a runaway script or a leaked
//! token from flooding the queue. One limiter per process
//! (`AppState::limiter`): GraphQL and the decision links of an email
//! spend the same buckets.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::GraphqlLimits;
use crate::error::AppError;

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// runWorkflow, retryWorkflow.
    Runs,
    /// approve, reject, each item of approveMany / rejectMany, the form
    /// of a decision link (`POST /decide/{code}`).
    Decisions,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Runs => "runs",
            Kind::Decisions => "decisions",
        }
    }
    fn option(self) -> &'static str {
        match self {
            Kind::Runs => "BATON_RATE_RUNS_PER_MIN",
            Kind::Decisions => "BATON_RATE_DECISIONS_PER_MIN",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    per_min: u32,
    burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets beyond this many are pruned of the full ones (idle principals).
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    runs: Rate,
    decisions: Rate,
    buckets: Mutex<HashMap<(Kind, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: &GraphqlLimits) -> Self {
        RateLimiter {
            runs: Rate {
                per_min: limits.runs_per_min,
                burst: limits.runs_burst.max(1),
            },
            decisions: Rate {
                per_min: limits.decisions_per_min,
                burst: limits.decisions_burst.max(1),
            },
            buckets: Mutex::default(),
        }
    }

    /// Takes `cost` from `principal`'s bucket of `kind`, or says (as
    /// `RATE_LIMITED`) how long until it holds that much.
    pub fn take(&self, kind: Kind, principal: &str, cost: u32) -> Result<(), AppError> {
        self.take_at(kind, principal, cost, Instant::now())
    }

    fn take_at(
        &self,
        kind: Kind,
        principal: &str,
        cost: u32,
        now: Instant,
    ) -> Result<(), AppError> {
        let rate = match kind {
            Kind::Runs => self.runs,
            Kind::Decisions => self.decisions,
        };
        if rate.per_min == 0 || cost == 0 {
            return Ok(());
        }
        let per_sec = f64::from(rate.per_min) / 60.0;
        let capacity = f64::from(rate.burst);
        let cost_f = f64::from(cost);
        // A poisoned lock only means another request panicked mid-update;
        // the counts are still numbers.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < capacity
            });
        }
        let bucket = buckets
            .entry((kind, principal.to_string()))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.at = now;
        if bucket.tokens >= cost_f {
            bucket.tokens -= cost_f;
            return Ok(());
        }
        let noun = kind.noun();
        if cost_f > capacity {
            return Err(AppError::bad_input(
                "items",
                format!(
                    "{cost} {noun} at once is more than the burst of {} this server allows",
                    rate.burst
                ),
            ));
        }
        let wait = ((cost_f - bucket.tokens) / per_sec).ceil().max(1.0);
        let retry_after_secs = Duration::from_secs_f64(wait).as_secs().max(1);
        Err(AppError::RateLimited {
            message: format!(
                "too many {noun}: at most {} per minute (bursts of {}) per caller ({}); retry in {retry_after_secs}s",
                rate.per_min,
                rate.burst,
                kind.option()
            ),
            retry_after_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn limiter(per_min: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(&GraphqlLimits {
            runs_per_min: per_min,
            runs_burst: burst,
            ..GraphqlLimits::default()
        })
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_it_refills() {
        let l = limiter(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take_at(Kind::Runs, "ana", 1, t0).is_ok());
        }
        match l.take_at(Kind::Runs, "ana", 1, t0) {
            Err(e @ AppError::RateLimited { .. }) => {
                assert_eq!(e.code(), ErrorCode::RateLimited);
                assert!(matches!(
                    e,
                    AppError::RateLimited {
                        retry_after_secs: 1,
                        ..
                    }
                ));
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another principal has its own bucket.
        assert!(l.take_at(Kind::Runs, "bo", 1, t0).is_ok());
        // One token per second at 60/min.
        assert!(
            l.take_at(Kind::Runs, "ana", 1, t0 + Duration::from_millis(1_000))
                .is_ok()
        );
        assert!(
            l.take_at(Kind::Runs, "ana", 1, t0 + Duration::from_millis(1_000))
                .is_err()
        );
    }

    #[test]
    fn zero_turns_the_limit_off_and_kinds_are_separate() {
        let l = limiter(0, 1);
        let t0 = Instant::now();
        for _ in 0..1_000 {
            assert!(l.take_at(Kind::Runs, "ana", 1, t0).is_ok());
        }
        let l = RateLimiter::new(&GraphqlLimits {
            runs_per_min: 60,
            runs_burst: 1,
            decisions_per_min: 60,
            decisions_burst: 1,
            ..GraphqlLimits::default()
        });
        assert!(l.take_at(Kind::Runs, "ana", 1, t0).is_ok());
        assert!(l.take_at(Kind::Decisions, "ana", 1, t0).is_ok());
        assert!(l.take_at(Kind::Decisions, "ana", 1, t0).is_err());
    }

    #[test]
    fn retry_after_covers_the_missing_tokens() {
        let l = limiter(6, 2); // one token per 10 s
        let t0 = Instant::now();
        assert!(l.take_at(Kind::Runs, "ana", 2, t0).is_ok());
        let err = l.take_at(Kind::Runs, "ana", 2, t0);
        assert!(
            matches!(
                err,
                Err(AppError::RateLimited {
                    retry_after_secs: 20,
                    ..
                })
            ),
            "{err:?}"
        );
        assert!(matches!(
            l.take_at(Kind::Runs, "ana", 3, t0),
            Err(AppError::BadInput { .. })
        ));
    }
}
