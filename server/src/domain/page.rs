//! Relay cursor pagination over `(created_at, id)`.
//!
//! Cursors are opaque to clients (base64 of the key); keyset rather than
//! offset, so a page is as fast at the end of a long history as at its start
//! and rows inserted meanwhile never shift what a client already saw.
//! <https://relay.dev/graphql/connections.htm>

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, SimpleExpr};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The page size when a client gives no `first` (smaller when the
/// server's maximum is).
pub const DEFAULT_PAGE: i32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
        let (micros, id) = raw.split_once('|')?;
        Some(Cursor {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// Which way a listing walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
    pub order: Order,
}

impl PageRequest {
    /// Checks `first` (1..=`max`, default 20) and decodes `after`. `max`
    /// is the server's `BATON_MAX_PAGE_SIZE`, which the refusal names.
    pub fn new(
        first: Option<i32>,
        after: Option<&str>,
        order: Order,
        max: usize,
    ) -> AppResult<Self> {
        // `Ord::` spelled out: sea-query's `ExprTrait` has a `min` and a `max` too.
        let max = i32::try_from(Ord::max(max, 1)).unwrap_or(i32::MAX);
        let first = first.unwrap_or(Ord::min(DEFAULT_PAGE, max));
        if !(1..=max).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {max} (BATON_MAX_PAGE_SIZE), got {first}"),
            ));
        }
        let after = match after {
            None => None,
            Some(s) => Some(Cursor::decode(s).ok_or_else(|| {
                AppError::bad_input(
                    "after",
                    "after is not a cursor this server issued; pass an endCursor from a previous page",
                )
            })?),
        };
        Ok(PageRequest {
            first: first as u64,
            after,
            order,
        })
    }

    /// The keyset condition "strictly after the cursor" for the given columns.
    pub fn after_condition(
        &self,
        created_at: impl IntoColumnRef + Copy,
        id: impl IntoColumnRef + Copy,
    ) -> Option<SimpleExpr> {
        let c = self.after?;
        let (ts, key) = (Expr::col(created_at), Expr::col(id));
        Some(match self.order {
            Order::OldestFirst => ts
                .clone()
                .gt(c.created_at)
                .or(ts.eq(c.created_at).and(key.gt(c.id))),
            Order::NewestFirst => ts
                .clone()
                .lt(c.created_at)
                .or(ts.eq(c.created_at).and(key.lt(c.id))),
        })
    }
}

/// One page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` rows (the extra row only says
    /// whether another page exists).
    pub fn from_rows(mut rows: Vec<T>, req: &PageRequest, key: impl Fn(&T) -> Cursor) -> Page<T> {
        let has_next_page = rows.len() as u64 > req.first;
        rows.truncate(req.first as usize);
        Page {
            items: rows.into_iter().map(|r| (key(&r), r)).collect(),
            has_next_page,
            has_previous_page: req.after.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap_or_default(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        assert_eq!(Cursor::decode(""), None);
    }

    fn first_of(first: Option<i32>, max: usize) -> AppResult<u64> {
        PageRequest::new(first, None, Order::OldestFirst, max).map(|p| p.first)
    }

    #[test]
    fn page_size_is_bounded_by_the_configured_maximum() {
        assert_eq!(first_of(Some(100), 100).ok(), Some(100));
        assert!(first_of(Some(101), 100).is_err());
        assert!(first_of(Some(0), 100).is_err());
        assert_eq!(first_of(None, 100).ok(), Some(20));
        // Another maximum moves the edge, and the refusal says which option.
        assert_eq!(first_of(Some(250), 250).ok(), Some(250));
        match first_of(Some(251), 250) {
            Err(AppError::BadInput {
                field: Some(f),
                message,
            }) => {
                assert_eq!(f, "first");
                assert!(
                    message.contains("between 1 and 250 (BATON_MAX_PAGE_SIZE)"),
                    "{message}"
                );
            }
            other => panic!("expected BAD_USER_INPUT on first, got {other:?}"),
        }
        // Below the default page, no `first` means a full page, not a refusal.
        assert_eq!(first_of(None, 5).ok(), Some(5));
        let err = PageRequest::new(Some(5), Some("zzz"), Order::OldestFirst, 100).err();
        assert!(matches!(err, Some(AppError::BadInput { field: Some(f), .. }) if f == "after"));
    }
}
