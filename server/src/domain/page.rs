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

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

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
    /// Checks `first` (1..=100, default 20) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<&str>, order: Order) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE}, got {first}"),
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

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::new(Some(101), None, Order::OldestFirst).is_err());
        assert!(PageRequest::new(Some(0), None, Order::OldestFirst).is_err());
        assert_eq!(
            PageRequest::new(None, None, Order::OldestFirst)
                .map(|p| p.first)
                .ok(),
            Some(20)
        );
        let err = PageRequest::new(Some(5), Some("zzz"), Order::OldestFirst).err();
        assert!(matches!(err, Some(AppError::BadInput { field: Some(f), .. }) if f == "after"));
    }
}
