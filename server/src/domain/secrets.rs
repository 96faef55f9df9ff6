//! Secrets and digests: random credentials, their stored hashes, and the
//! content hash of artifacts.
//!
//! A credential is 256 random bits from the operating system's CSPRNG,
//! base64url-encoded behind a prefix that names what it is (`baton_` for
//! API tokens, so secret scanners can spot a leaked one). The database keeps
//! only its SHA-256: a fast hash is right for values with 256 bits of
//! entropy (there is nothing to brute-force), and lookups stay one indexed
//! equality.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// Prefix of API tokens.
pub const TOKEN_PREFIX: &str = "baton_";

/// 256 bits from the operating system's CSPRNG.
pub fn random_bytes() -> AppResult<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        AppError::internal(anyhow::anyhow!("the system's random source failed: {e}"))
    })?;
    Ok(bytes)
}

/// A new random secret: `prefix` + 43 base64url characters (256 bits).
pub fn new_secret(prefix: &str) -> AppResult<String> {
    Ok(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(random_bytes()?)
    ))
}

/// What the database stores for a secret: its hex SHA-256.
pub fn hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The hex SHA-256 of `content`'s canonical JSON: object keys sorted at
/// every level, no whitespace. PostgreSQL's `jsonb` reorders keys, so the
/// hash must not depend on the order a backend returns them in.
pub fn content_sha256(content: &Value) -> String {
    sha256_hex(crate::canonical_json::to_string(content).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret(TOKEN_PREFIX).unwrap_or_default();
        let b = new_secret(TOKEN_PREFIX).unwrap_or_default();
        assert!(a.starts_with("baton_"));
        assert_eq!(a.len(), 6 + 43, "256 bits in base64url");
        assert_ne!(a, b);
    }

    #[test]
    fn hash_is_the_hex_sha256() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_hash_ignores_key_order_but_not_values() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "t"}});
        let b = json!({"a": {"x": "t", "y": [1, 2]}, "b": 1});
        assert_eq!(content_sha256(&a), content_sha256(&b));
        assert_ne!(
            content_sha256(&a),
            content_sha256(&json!({"b": 2, "a": {}}))
        );
        assert_eq!(
            content_sha256(&b),
            sha256_hex(br#"{"a":{"x":"t","y":[1,2]},"b":1}"#)
        );
    }
}
