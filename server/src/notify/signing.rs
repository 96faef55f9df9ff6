//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>):
//! `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
//! where the key is the base64-decoded part of a `whsec_` secret. Several
//! signatures (during a secret rotation) are separated by spaces, so a
//! receiver holding either secret verifies the message.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::webhooks::SECRET_PREFIX;

/// The `webhook-signature` header value for `body`, signed with each of
/// `secrets`.
pub fn signature_header(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let mut parts = Vec::with_capacity(secrets.len());
    for secret in secrets {
        parts.push(format!("v1,{}", sign(secret, id, timestamp, body)?));
    }
    Ok(parts.join(" "))
}

/// One base64 signature.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|e| format!("the webhook secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's test vectors
    /// (as used by its reference libraries).
    #[test]
    fn matches_the_specifications_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, timestamp, body).unwrap_or_default(),
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkh";
        let header = signature_header(&[a, b], "msg_1", 1, b"{}").unwrap_or_default();
        let sigs: Vec<&str> = header.split(' ').collect();
        assert_eq!(sigs.len(), 2);
        assert_eq!(
            sigs[0],
            format!("v1,{}", sign(a, "msg_1", 1, b"{}").unwrap_or_default())
        );
        assert_eq!(
            sigs[1],
            format!("v1,{}", sign(b, "msg_1", 1, b"{}").unwrap_or_default())
        );
        assert!(sign("whsec_not base64!", "m", 1, b"").is_err());
    }
}
