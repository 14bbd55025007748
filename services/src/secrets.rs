//! Secrets at rest (provider API keys): XChaCha20-Poly1305 with a random
//! 192-bit nonce per value and the owning row's identity as associated
//! data, so a ciphertext copied to another organisation or provider fails
//! to open instead of leaking a key across tenants.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::{ServiceError, ServiceResult};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// A 32-byte key written as base64 or hex (`openssl rand -base64 32`).
    pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|e| e.to_string())?
        } else {
            B64.decode(t).map_err(|_| "not base64 or hex".to_string())?
        };
        bytes.try_into().map_err(|b: Vec<u8>| format!("must be 32 bytes, got {}", b.len()))
    }

    /// Reads the key file, creating it (mode 0600) with a fresh random key
    /// the first time: the embedded setup works without configuration.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(Self::new(&Self::parse_key(&text).map_err(|e| format!("{}: {e}", path.display()))?));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        write_private(path, &B64.encode(key)).map_err(|e| format!("{}: {e}", path.display()))?;
        tracing::warn!(path = %path.display(), "generated a new secret key; back it up, or set HANDOO_SECRET_KEY");
        Ok(Self::new(&key))
    }

    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Fails (as `Internal`, logged) when the value was sealed with another
    /// key or for another row: that is a deployment problem, not user input.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> ServiceResult<String> {
        let fail = |why: &str| {
            tracing::error!(why, "cannot decrypt a stored secret (wrong HANDOO_SECRET_KEY?)");
            ServiceError::new(domain::ErrorCode::SecretKeyMissing)
        };
        let raw = sealed.strip_prefix(PREFIX).ok_or_else(|| fail("unknown format"))?;
        let raw = B64.decode(raw).map_err(|_| fail("not base64"))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(fail("too short"));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| fail("authentication failed"))?;
        String::from_utf8(pt).map_err(|_| fail("not UTF-8"))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The last four characters, for display: "…4f2a".
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.trim().chars().collect();
    if chars.len() < 12 {
        return "…".into();
    }
    format!("…{}", chars[chars.len() - 4..].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> SecretBox {
        SecretBox::new(&[7u8; 32])
    }

    #[test]
    fn seal_open_round_trip_with_fresh_nonces() {
        let s1 = b().seal("sk-live-123", b"org1/openai");
        let s2 = b().seal("sk-live-123", b"org1/openai");
        assert_ne!(s1, s2, "a random nonce per value");
        assert!(!s1.contains("sk-live"));
        assert_eq!(b().open(&s1, b"org1/openai").unwrap(), "sk-live-123");
    }

    #[test]
    fn wrong_key_row_or_tampering_fails() {
        let sealed = b().seal("k", b"org1/openai");
        assert!(b().open(&sealed, b"org2/openai").is_err(), "bound to its row");
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed, b"org1/openai").is_err());
        let mut raw = B64.decode(&sealed[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(b().open(&format!("v1:{}", B64.encode(raw)), b"org1/openai").is_err());
        assert!(b().open("plain", b"").is_err());
        assert!(b().open("v1:AAAA", b"").is_err());
    }

    #[test]
    fn keys_parse_from_base64_or_hex() {
        assert_eq!(SecretBox::parse_key(&B64.encode([1u8; 32])).unwrap(), [1u8; 32]);
        assert_eq!(SecretBox::parse_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert!(SecretBox::parse_key("short").is_err());
        assert!(SecretBox::parse_key(&B64.encode([1u8; 16])).unwrap_err().contains("32 bytes"));
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("handoo-secret-{}", uuid::Uuid::now_v7()));
        let path = dir.join("secret.key");
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal("x", b"");
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, b"").unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn hints_show_only_the_tail() {
        assert_eq!(hint("sk-abcdefghijklmnop4f2a"), "…4f2a");
        assert_eq!(hint("short"), "…");
    }
}
