//! Random tokens: CSRF tokens, login ids, row ids, idempotency keys.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// A random token from the OS generator, base64url, `bytes` long before encoding.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `id` could be one of our row ids (base64url, at most 64 characters): anything
/// else is refused before it reaches a query or a page.
pub fn is_row_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fresh_token_is_a_row_id_and_nothing_else_is() {
        // Random tokens use `-` and `_` often enough: 2,000 of them cover both.
        assert!((0..2000).all(|_| is_row_id(&random_token(12))));
        assert!(is_row_id("AbC-_09xyzAbC-_0"));
        for bad in ["", "../x", "a b", "a%2Fb", "a+b/c=", &"x".repeat(65)] {
            assert!(!is_row_id(bad), "{bad:?}");
        }
    }
}
