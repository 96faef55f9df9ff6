//! Who is making a request. Until API tokens exist every caller is the
//! anonymous principal; the seam is here so authentication slots in without
//! reshaping the core (`created_by` / `decided_by` are filled from it).

/// The caller, taken from the HTTP request or the WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
}

impl Principal {
    pub const ANONYMOUS: &'static str = "anonymous";

    pub fn anonymous() -> Self {
        Principal {
            id: Self::ANONYMOUS.to_string(),
        }
    }

    /// The engine itself, for writes no person asked for (retries, expiry).
    pub fn system() -> Self {
        Principal {
            id: "system".to_string(),
        }
    }
}
