//! Random tokens: CSRF tokens, login ids, row ids, idempotency keys.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// A random token from the OS generator, base64url, `bytes` long before encoding.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}
