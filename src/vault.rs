//! Secrets kept at rest under the server's key (`MAILROOM_SECRET_KEY` or the generated
//! `data/secret.key`): what a background task must be able to open without the user's
//! browser, such as the password a scheduled message is sent with. Each purpose gets its
//! own key derived from the master key, so a value sealed for one cannot be opened as
//! another. ChaCha20-Poly1305 with a random nonce; tampering is detected.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Seals and opens values for one purpose.
#[derive(Clone)]
pub struct Vault {
    key: Key,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(***)")
    }
}

impl Vault {
    /// The vault for `purpose` (a constant like `"outbox credentials"`) under `master`.
    pub fn new(master: &[u8], purpose: &str) -> Vault {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"mailroom vault: ");
        mac.update(purpose.as_bytes());
        let bytes = mac.finalize().into_bytes();
        Vault {
            key: *Key::from_slice(&bytes),
        }
    }

    /// `plain` sealed, as URL-safe base64 (nonce and ciphertext).
    pub fn seal(&self, plain: &[u8]) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encrypting into a Vec cannot fail for inputs this size.
        let ct = ChaCha20Poly1305::new(&self.key)
            .encrypt(&nonce, plain)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    /// The plain value, or `None` when `sealed` was not sealed by this vault (another key,
    /// another purpose, or tampered with).
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        ChaCha20Poly1305::new(&self.key)
            .decrypt(Nonce::from_slice(nonce), ct)
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_vault() {
        let v = Vault::new(b"master key", "outbox");
        let sealed = v.seal(b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(v.open(&sealed).as_deref(), Some(&b"hunter2"[..]));
        assert_ne!(v.seal(b"hunter2"), sealed, "a fresh nonce each time");
        assert_eq!(Vault::new(b"master key", "other").open(&sealed), None);
        assert_eq!(Vault::new(b"other key", "outbox").open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.replace_range(20..21, if &sealed[20..21] == "A" { "B" } else { "A" });
        assert_eq!(v.open(&tampered), None);
        assert_eq!(v.open("nonsense"), None);
    }
}
