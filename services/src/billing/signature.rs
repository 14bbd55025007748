//! Standard Webhooks signatures, as Polar signs its webhooks: headers
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several
//! space-separated when a secret is being rotated), a timestamp within
//! five minutes of now either way.
//!
//! The key: Polar signs with the secret string's own bytes (its original
//! scheme, `whsec_` prefix included) and, for secrets made after its switch
//! to the standard, with the base64-decoded part after `whsec_`. Both are
//! tried, as Polar's own SDK does, so either kind of secret verifies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a webhook's timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a webhook header is missing")]
    MissingHeaders,
    #[error("the webhook timestamp is not a number")]
    BadTimestamp,
    #[error("the webhook timestamp is more than five minutes away")]
    Stale,
    #[error("no signature matches")]
    BadSignature,
}

/// The three headers, as received.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// The keys `secret` may sign with: its bytes, then (when the rest decodes)
/// the base64 after `whsec_`.
fn keys(secret: &str) -> Vec<Vec<u8>> {
    let mut out = vec![secret.as_bytes().to_vec()];
    let rest = secret.strip_prefix("whsec_").unwrap_or(secret);
    let padded = format!("{rest}{}", "=".repeat((4 - rest.len() % 4) % 4));
    if let Ok(decoded) = STANDARD.decode(padded) {
        if !decoded.is_empty() && decoded != out[0] {
            out.push(decoded);
        }
    }
    out
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `webhook-signature` value for `body` sent as `id` at `timestamp`
/// with `key` (what a sender puts; our tests and the mock sign with it).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(mac(key, id, timestamp, body).finalize().into_bytes()))
}

/// Checks `h` and `body` against `secret` at `now` (Unix seconds). The
/// comparison is constant-time; the body is the raw bytes received.
pub fn verify(secret: &str, h: &Headers<'_>, body: &[u8], now: i64) -> Result<(), Refusal> {
    if h.id.trim().is_empty() || h.timestamp.trim().is_empty() || h.signature.trim().is_empty() {
        return Err(Refusal::MissingHeaders);
    }
    let ts: i64 = h.timestamp.trim().parse().map_err(|_| Refusal::BadTimestamp)?;
    if now.abs_diff(ts) > TOLERANCE_SECONDS as u64 {
        return Err(Refusal::Stale);
    }
    let candidates: Vec<Vec<u8>> = h
        .signature
        .split_whitespace()
        .filter_map(|part| part.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
        .collect();
    for key in keys(secret) {
        let m = mac(&key, h.id, ts, body);
        if candidates.iter().any(|sig| m.clone().verify_slice(sig).is_ok()) {
            return Ok(());
        }
    }
    Err(Refusal::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_100_000;

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> Headers<'a> {
        Headers { id, timestamp: ts, signature: sig }
    }

    #[test]
    fn a_polar_secret_signs_with_its_own_bytes() {
        let secret = "whsec_polarOriginal123";
        let body = br#"{"type":"subscription.active"}"#;
        let sig = sign(secret.as_bytes(), "msg_1", NOW, body);
        let ts = NOW.to_string();
        assert_eq!(verify(secret, &headers("msg_1", &ts, &sig), body, NOW), Ok(()));
        // A rotation: several signatures, one of them ours.
        let both = format!("v1,AAAA {sig}");
        assert_eq!(verify(secret, &headers("msg_1", &ts, &both), body, NOW + 299), Ok(()));
    }

    #[test]
    fn a_standard_secret_signs_with_its_decoded_key() {
        // The Standard Webhooks spec's own example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let h = headers("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", &sig);
        assert_eq!(verify(secret, &h, body, 1614265330), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_missing_headers_are_refused() {
        let secret = "whsec_polarOriginal123";
        let body = b"{}";
        let sig = sign(secret.as_bytes(), "msg_1", NOW, body);
        let ts = NOW.to_string();
        assert_eq!(verify(secret, &headers("msg_1", &ts, &sig), b"{ }", NOW), Err(Refusal::BadSignature));
        assert_eq!(verify(secret, &headers("msg_2", &ts, &sig), body, NOW), Err(Refusal::BadSignature));
        assert_eq!(
            verify("whsec_other", &headers("msg_1", &ts, &sig), body, NOW),
            Err(Refusal::BadSignature)
        );
        assert_eq!(verify(secret, &headers("msg_1", &ts, &sig), body, NOW + 301), Err(Refusal::Stale));
        assert_eq!(verify(secret, &headers("msg_1", &ts, &sig), body, NOW - 301), Err(Refusal::Stale));
        assert_eq!(verify(secret, &headers("msg_1", "soon", &sig), body, NOW), Err(Refusal::BadTimestamp));
        assert_eq!(verify(secret, &headers("", &ts, &sig), body, NOW), Err(Refusal::MissingHeaders));
        assert_eq!(verify(secret, &headers("msg_1", &ts, "v2,abc"), body, NOW), Err(Refusal::BadSignature));
        assert_eq!(verify(secret, &headers("msg_1", &ts, "v1,%%%"), body, NOW), Err(Refusal::BadSignature));
    }
}
