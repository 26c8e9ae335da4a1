//! Time-based one-time passwords (RFC 6238) for two-factor login: the maths, the base32
//! text people type into an authenticator app, the `otpauth://` URI and its QR code. No
//! I/O and no storage: `store::totp` keeps the secrets, `web::twofactor` asks for codes.
//!
//! The parameters are the ones every authenticator app understands without being told:
//! HMAC-SHA1, six digits, thirty-second steps, a 160-bit secret (RFC 4226 recommends
//! the hash's output length). A code is accepted one step either side of the server's
//! clock, since phones drift and people type slowly; which step matched is returned so
//! the caller can refuse the same code twice (replay).

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step (RFC 6238 `X`).
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes issued when two-factor login is turned on.
pub const RECOVERY_CODES: usize = 10;

/// The RFC 4226 HOTP value of `secret` at `counter`, truncated to `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts keys of any length (RFC 2104), so this cannot fail.
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks 4 bytes.
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// The six-digit code for `step`, zero-padded as apps show it.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!(
        "{:0width$}",
        hotp(secret, counter, DIGITS),
        width = DIGITS as usize
    )
}

/// The step whose code `typed` is, within one step of `now`'s; `None` when it matches
/// none. Spaces and dashes (apps show `123 456`) are ignored.
pub fn matching_step(secret: &[u8], typed: &str, now: i64) -> Option<i64> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    // Every candidate is computed and compared, so timing does not tell which one matched.
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let expected = code_at_step(secret, step);
        if crate::web::tokens::constant_time_eq(expected.as_bytes(), digits.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// Whether `typed` looks like a TOTP code rather than a recovery code.
pub fn looks_like_code(typed: &str) -> bool {
    let digits = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .count();
    digits == DIGITS as usize
        && typed
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || c == '-')
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut secret);
    secret
}

/// The RFC 4648 base32 alphabet, which authenticator apps expect.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 without padding (as `otpauth://` URIs carry it).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The secret in groups of four, for typing by hand.
pub fn grouped(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://totp/` URI an authenticator app reads from the QR code (the de-facto
/// "Key Uri Format"): label `Mailroom:<address>`, issuer `Mailroom`.
pub fn otpauth_uri(secret: &[u8], address: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc("Mailroom"),
        enc(address),
        base32(secret),
        enc("Mailroom"),
    )
}

/// The QR code of `text` as an SVG document in a `data:` URL, for an `<img>` (the page's
/// CSP allows `data:` images; nothing is inserted into the page unescaped). `None` only
/// if the text were too long for any QR code.
pub fn qr_data_url(text: &str) -> Option<String> {
    use qrcode::{EcLevel, QrCode, render::svg};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Some(format!("data:image/svg+xml;base64,{}", B64.encode(svg)))
}

/// New recovery codes: ten random `xxxxx-xxxxx` codes in lower-case base32 (50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let text = base32(&new_secret()[..7]).to_lowercase();
            format!("{}-{}", &text[..5], &text[5..10])
        })
        .collect()
}

/// A recovery code as typed, made comparable: lower case, without spaces and dashes.
pub fn normalize_recovery(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 column: the 20-byte ASCII secret, 8 digits.
    #[test]
    fn rfc6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let counter = u64::try_from(step_at(time)).unwrap();
            assert_eq!(hotp(secret, counter, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values 0..9 of the same secret, 6 digits.
    #[test]
    fn rfc4226_test_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), want);
        }
    }

    #[test]
    fn codes_match_one_step_either_side_only() {
        let secret = b"12345678901234567890";
        let now = 1111111111;
        let step = step_at(now);
        assert_eq!(code_at_step(secret, step), "050471");
        assert_eq!(matching_step(secret, "050471", now), Some(step));
        assert_eq!(matching_step(secret, "050 471", now), Some(step));
        assert_eq!(
            matching_step(secret, &code_at_step(secret, step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(secret, &code_at_step(secret, step + 1), now),
            Some(step + 1)
        );
        assert_eq!(
            matching_step(secret, &code_at_step(secret, step - 2), now),
            None
        );
        for bad in ["", "05047", "0504711", "abcdef", "05047１"] {
            assert_eq!(matching_step(secret, bad, now), None, "{bad:?}");
        }
        assert!(looks_like_code("123 456") && !looks_like_code("abcde-fghij"));
    }

    #[test]
    fn base32_matches_rfc4648() {
        // RFC 4648 §10 (without padding).
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
        assert_eq!(grouped("MZXW6YTBOI"), "MZXW 6YTB OI");
    }

    #[test]
    fn uri_qr_and_recovery_codes() {
        let uri = otpauth_uri(b"12345678901234567890", "ann+x@example.test");
        assert_eq!(
            uri,
            "otpauth://totp/Mailroom:ann%2Bx%40example%2Etest?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Mailroom&algorithm=SHA1&digits=6&period=30"
        );
        let url = qr_data_url(&uri).unwrap();
        let svg = B64
            .decode(url.strip_prefix("data:image/svg+xml;base64,").unwrap())
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );
        assert_eq!(normalize_recovery(" ABCDE-fghij "), "abcdefghij");
    }
}
