//! Values the server signs so a client cannot make them up: the CSRF token of every form
//! and the "known device" entries a browser earns by logging in.
//!
//! Both are HMAC-SHA256 under keys derived from the instance secret with a purpose label
//! each, so instances sharing `MAILROOM_SECRET_KEY` accept each other's values and no two
//! uses share a key.
//!
//! **CSRF.** A form's token is the HMAC of a random nonce. Before login the nonce lives
//! in an HttpOnly cookie; at login a fresh nonce is stored in the session and the cookie is
//! set to it, and from then on the session's copy is the one that counts (see
//! `web::layout::page_context`). So a client that can plant cookies (any non-browser
//! client, a browser over plain http) can neither make up a cookie/field pair (it lacks the
//! key) nor swap in a pair it got from the server for a logged-in victim (the session
//! decides the nonce, not the cookie).
//!
//! **Known devices.** After a successful login the browser gets a long-lived cookie with an
//! entry `issued-random-mac`, the MAC binding the entry to the (case-folded) username. A
//! browser that presents a valid entry for the username it logs in as is throttled on its
//! own count instead of the account's, so strangers failing on purpose cannot lock a user
//! out of the browsers they already use (`store::throttle`).
//!
//! **Two-factor login.** TOTP secrets are kept sealed (ChaCha20-Poly1305, the username as
//! associated data, so a row copied to another user does not open) under a key derived the
//! same way; recovery codes and "remember this browser" tokens are kept only as HMACs, so
//! a copy of the database gives neither the codes nor a way to test guesses offline.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a known-device entry is honoured (and the cookie kept): 180 days.
pub const DEVICE_LIFETIME_SECS: i64 = 180 * 24 * 3600;
/// Entries kept in one browser's cookie (people sharing a computer each get one).
const MAX_DEVICE_ENTRIES: usize = 4;

/// The signing keys, derived once at start-up.
#[derive(Clone)]
pub struct Keys {
    csrf: [u8; 32],
    device: [u8; 32],
    totp_seal: [u8; 32],
    totp_hash: [u8; 32],
    pool: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

fn mac_with(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (RFC 2104), so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = mac_with(secret);
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Usernames are matched as the throttle and IMAP servers match them.
fn fold(username: &str) -> String {
    username.trim().to_lowercase()
}

impl Keys {
    /// Derives the keys from the instance secret (the cookie key's master bytes).
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            csrf: derive(secret, b"mailroom csrf v1"),
            device: derive(secret, b"mailroom known device v1"),
            totp_seal: derive(secret, b"mailroom totp secret v1"),
            totp_hash: derive(secret, b"mailroom totp hash v1"),
            pool: derive(secret, b"mailroom imap pool v1"),
        }
    }

    /// The key of the IMAP connection pool for a login (`Account::login_id`): the same
    /// for every login with the same name, password and servers, so a user's browsers
    /// share a few connections instead of holding some each (the mail server pays for
    /// every one); different as soon as any of them differs. A keyed hash, so the
    /// password cannot be tested against it.
    pub fn pool_key(&self, server: &str, username: &str, password: &str) -> String {
        let mut mac = mac_with(&self.pool);
        for part in [server, username, password] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The form token for `nonce`, lower-case hex.
    pub fn csrf_token(&self, nonce: &str) -> String {
        let mut mac = mac_with(&self.csrf);
        mac.update(nonce.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn device_mac(&self, username: &str, issued: i64, random: &str) -> String {
        let mut mac = mac_with(&self.device);
        for part in [
            fold(username).as_bytes(),
            b"\0",
            issued.to_string().as_bytes(),
            b"\0",
        ] {
            mac.update(part);
        }
        mac.update(random.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The entry of `cookie` that proves this browser logged in as `username` within
    /// [`DEVICE_LIFETIME_SECS`]; `None` when there is none.
    pub fn known_device<'c>(&self, cookie: &'c str, username: &str, now: i64) -> Option<&'c str> {
        cookie
            .split('.')
            .find(|entry| self.entry_is_for(entry, username, now))
    }

    fn entry_is_for(&self, entry: &str, username: &str, now: i64) -> bool {
        let mut parts = entry.splitn(3, '-');
        let (Some(issued), Some(random), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(issued) = issued.parse::<i64>() else {
            return false;
        };
        let fresh = issued <= now && now - issued < DEVICE_LIFETIME_SECS;
        let expected = self.device_mac(username, issued, random);
        fresh && constant_time_eq(expected.as_bytes(), mac.as_bytes())
    }

    /// The cookie value after `username` logged in at `now`: a new entry for them first,
    /// then the other entries still fresh by their date (at most [`MAX_DEVICE_ENTRIES`]).
    pub fn remember_device(&self, cookie: Option<&str>, username: &str, now: i64) -> String {
        // Hex, so the entry's `-` and `.` separators never occur inside it.
        let random = {
            use rand::RngCore;
            let mut bytes = [0u8; 9];
            rand::thread_rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        };
        let mut entries = vec![format!(
            "{now}-{random}-{}",
            self.device_mac(username, now, &random)
        )];
        for old in cookie.unwrap_or("").split('.') {
            let issued = old.split('-').next().and_then(|i| i.parse::<i64>().ok());
            let fresh = issued.is_some_and(|i| i <= now && now - i < DEVICE_LIFETIME_SECS);
            let well_formed = old.len() <= 80
                && old
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if fresh && well_formed && !self.entry_is_for(old, username, now) {
                entries.push(old.to_owned());
            }
            if entries.len() == MAX_DEVICE_ENTRIES {
                break;
            }
        }
        entries.join(".")
    }
}

impl Keys {
    /// Seals a TOTP secret of `username` for the database: base64 of nonce(12) || ciphertext.
    pub fn seal_totp(&self, username: &str, secret: &[u8]) -> String {
        use base64::{Engine, engine::general_purpose::STANDARD as B64};
        use chacha20poly1305::{
            ChaCha20Poly1305, KeyInit,
            aead::{Aead, AeadCore, OsRng, Payload},
        };
        let cipher = ChaCha20Poly1305::new(&self.totp_seal.into());
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let folded = fold(username);
        let payload = Payload {
            msg: secret,
            aad: folded.as_bytes(),
        };
        // Encryption fails only for messages near 2^38 bytes; a secret is 20.
        let ct = cipher
            .encrypt(&nonce, payload)
            .expect("a short message always encrypts");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ct);
        B64.encode(sealed)
    }

    /// Opens [`Keys::seal_totp`]'s output; `None` when it was sealed for someone else,
    /// under another key, or changed.
    pub fn open_totp(&self, username: &str, sealed: &str) -> Option<Vec<u8>> {
        use base64::{Engine, engine::general_purpose::STANDARD as B64};
        use chacha20poly1305::{
            ChaCha20Poly1305, KeyInit, Nonce,
            aead::{Aead, Payload},
        };
        let sealed = B64.decode(sealed).ok()?;
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        let folded = fold(username);
        ChaCha20Poly1305::new(&self.totp_seal.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: folded.as_bytes(),
                },
            )
            .ok()
    }

    /// The stored form of a recovery code or remember-browser token of `username`
    /// (`kind` keeps the two apart): a keyed hash, lower-case hex.
    pub fn totp_hash(&self, kind: &str, username: &str, value: &str) -> String {
        let mut mac = mac_with(&self.totp_hash);
        for part in [kind, "\0", &fold(username), "\0", value] {
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Byte equality in time independent of where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keys_are_shared_only_by_identical_credentials() {
        let k = Keys::new(b"secret one");
        let key = k.pool_key("srv", "ann@example.test", "pw");
        assert_eq!(key.len(), 32);
        assert_eq!(key, k.pool_key("srv", "ann@example.test", "pw"));
        for other in [
            k.pool_key("srv2", "ann@example.test", "pw"),
            k.pool_key("srv", "ben@example.test", "pw"),
            k.pool_key("srv", "ann@example.test", "pw2"),
            // Parts are length-prefixed: moving text between them changes the key.
            k.pool_key("srv", "ann@example.testp", "w"),
            Keys::new(b"secret two").pool_key("srv", "ann@example.test", "pw"),
        ] {
            assert_ne!(key, other);
        }
        assert!(!key.contains("pw") && !key.contains("ann"));
    }

    #[test]
    fn csrf_tokens_need_the_key() {
        let k = Keys::new(b"secret one");
        let t = k.csrf_token("nonce-a");
        assert_eq!(t.len(), 64);
        assert_eq!(t, k.csrf_token("nonce-a"));
        assert_ne!(t, k.csrf_token("nonce-b"));
        assert_ne!(t, Keys::new(b"secret two").csrf_token("nonce-a"));
        assert!(!format!("{k:?}").contains("secret"));
    }

    #[test]
    fn device_entries_are_bound_to_user_key_and_age() {
        let k = Keys::new(b"s");
        let now = 1_000_000;
        let c = k.remember_device(None, "Alice@X.test", now);
        assert!(!c.to_lowercase().contains("alice"));
        assert_eq!(
            k.known_device(&c, " alice@x.test", now + 10),
            Some(c.as_str())
        );
        assert_eq!(k.known_device(&c, "bob@x.test", now), None);
        assert_eq!(Keys::new(b"t").known_device(&c, "alice@x.test", now), None);
        assert_eq!(
            k.known_device(&c, "alice@x.test", now + DEVICE_LIFETIME_SECS),
            None
        );
        // A forged date invalidates the MAC.
        let forged = c.replacen(&now.to_string(), &(now + 5).to_string(), 1);
        assert_eq!(k.known_device(&forged, "alice@x.test", now + 10), None);
        // Another user on the same browser keeps Alice's entry; Alice logging in again
        // replaces hers.
        let both = k.remember_device(Some(&c), "bob@x.test", now + 20);
        assert!(k.known_device(&both, "alice@x.test", now + 30).is_some());
        assert!(k.known_device(&both, "bob@x.test", now + 30).is_some());
        let again = k.remember_device(Some(&both), "alice@x.test", now + 40);
        assert_eq!(again.split('.').count(), 2);
        // Junk is dropped, and the cookie never grows past its cap.
        let mut c = "junk;=.1-2".to_owned();
        for i in 0..10 {
            c = k.remember_device(Some(&c), &format!("u{i}@x.test"), now + i);
        }
        assert_eq!(c.split('.').count(), MAX_DEVICE_ENTRIES);
        assert!(k.known_device(&c, "u9@x.test", now + 20).is_some());
        assert!(k.known_device(&c, "u0@x.test", now + 20).is_none());
    }

    #[test]
    fn totp_secrets_open_only_for_their_user_and_key() {
        let k = Keys::new(b"s");
        let sealed = k.seal_totp("Ann@x.test", b"12345678901234567890");
        assert!(!sealed.contains("MTIz"), "not plain base64 of the secret");
        assert_eq!(
            k.open_totp("ann@x.test", &sealed).as_deref(),
            Some(&b"12345678901234567890"[..])
        );
        assert_eq!(k.open_totp("bob@x.test", &sealed), None);
        assert_eq!(Keys::new(b"t").open_totp("ann@x.test", &sealed), None);
        assert_eq!(k.open_totp("ann@x.test", "junk"), None);
        let h = k.totp_hash("recovery", "ann@x.test", "abcde");
        assert_eq!(h, k.totp_hash("recovery", "ANN@x.test", "abcde"));
        assert_ne!(h, k.totp_hash("remember", "ann@x.test", "abcde"));
        assert_ne!(h, k.totp_hash("recovery", "bob@x.test", "abcde"));
        assert_ne!(
            h,
            Keys::new(b"t").totp_hash("recovery", "ann@x.test", "abcde")
        );
    }
}
