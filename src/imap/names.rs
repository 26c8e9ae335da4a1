//! Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3).
//!
//! The rest of Mailroom only ever sees folder names as UTF-8, the way URLs carry them.
//! This module is the one place that turns them into what the server expects (and back),
//! and it refuses names that could break out of a command (CR, LF, NUL and other control
//! characters) before anything is sent. It does no I/O.
//!
//! We carry our own codec rather than `utf7_imap`, whose decoder panics on malformed
//! base64; a name coming from the server must never be able to crash a request.

use base64::{
    Engine as _,
    alphabet::Alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};

use super::ImapError;

/// RFC 3501's "modified BASE64": `,` instead of `/`, and never any `=` padding.
const MUTF7_ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,") {
        Ok(a) => a,
        Err(_) => panic!("the modified base64 alphabet is valid"),
    };

/// Base64 engine for the modified alphabet.
pub(super) const MUTF7: GeneralPurpose = GeneralPurpose::new(
    &MUTF7_ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        // A few servers leave junk in the unused low bits; the name is still readable.
        .with_decode_allow_trailing_bits(true),
);

/// Encodes a UTF-8 mailbox name into modified UTF-7.
///
/// Printable ASCII stands for itself except `&`, which becomes `&-`; every other run of
/// characters becomes `&` + base64(UTF-16BE) + `-`. For example `报告` → `&YqVUSg-`.
pub fn encode_mutf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&MUTF7.encode(bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a modified UTF-7 mailbox name from the server; `None` if it is malformed.
///
/// Strict where it matters (only printable ASCII outside shifts, well-formed UTF-16
/// inside them) so that decoding and [`encode_mutf7`] round-trip: the name we show is
/// the name we can send back.
pub fn decode_mutf7(wire: &str) -> Option<String> {
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    while let Some(amp) = rest.find('&') {
        let (plain, shifted) = rest.split_at(amp);
        push_printable(&mut out, plain)?;
        let shifted = &shifted[1..];
        let end = shifted.find('-')?;
        let b64 = &shifted[..end];
        if b64.is_empty() {
            out.push('&');
        } else {
            let bytes = MUTF7.decode(b64).ok()?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            for c in char::decode_utf16(units) {
                let c = c.ok()?;
                // Control characters could never be sent back (see `mailbox_wire`).
                if c.is_control() {
                    return None;
                }
                out.push(c);
            }
        }
        rest = &shifted[end + 1..];
    }
    push_printable(&mut out, rest)?;
    Some(out)
}

/// Appends `s` if it is printable ASCII (what may stand outside a base64 shift).
fn push_printable(out: &mut String, s: &str) -> Option<()> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        out.push_str(s);
        Some(())
    } else {
        None
    }
}

/// Checks a UTF-8 folder name from a URL and encodes it for the wire (modified UTF-7,
/// not yet quoted: `command::Cmd::mailbox` quotes it). `INBOX` is case-insensitive in IMAP, so any spelling becomes `INBOX`.
pub fn mailbox_wire(name: &str) -> Result<String, ImapError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(ImapError::InvalidName);
    }
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok("INBOX".to_owned());
    }
    Ok(encode_mutf7(name))
}

/// Turns a name from a LIST response into our UTF-8 form (`INBOX` normalised).
///
/// imap-proto hands quoted strings over with their escapes still in (`a \"b\"`), so
/// they are undone here first; without that a folder with `"` or `\` in its name
/// could be listed but never opened.
pub fn name_from_wire(wire: &str) -> Option<String> {
    let wire = unescape_quoted(wire);
    if wire.eq_ignore_ascii_case("INBOX") {
        return Some("INBOX".to_owned());
    }
    decode_mutf7(&wire)
}

/// Undoes quoted-string escapes (`\\` and `\"`), the inverse of quoting without the
/// surrounding quotes.
fn unescape_quoted(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc_examples() {
        assert_eq!(encode_mutf7("报告"), "&YqVUSg-");
        // (Not `&Vkpg0w-`, which is 噊惓: U+564A U+60D3.)
        assert_eq!(decode_mutf7("&Vkpg0w-").as_deref(), Some("噊惓"));
        assert_eq!(
            encode_mutf7("Отправленные"),
            "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
        );
        assert_eq!(encode_mutf7("théâtre"), "th&AOkA4g-tre");
        assert_eq!(encode_mutf7("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(
            encode_mutf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        // A character outside the BMP is a surrogate pair in UTF-16.
        assert_eq!(
            decode_mutf7(&encode_mutf7("mail 📬")).as_deref(),
            Some("mail 📬")
        );
    }

    #[test]
    fn decodes_and_round_trips() {
        assert_eq!(decode_mutf7("&YqVUSg-").as_deref(), Some("报告"));
        assert_eq!(decode_mutf7("Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(
            decode_mutf7("Work/Projects").as_deref(),
            Some("Work/Projects")
        );
        for s in [
            "",
            "a",
            "&",
            "&&",
            "é&é",
            "Entwürfe",
            "a-b&c-",
            "日本語 x 日本語",
            "\u{ffff}",
        ] {
            assert_eq!(decode_mutf7(&encode_mutf7(s)).as_deref(), Some(s), "{s:?}");
        }
    }

    #[test]
    fn rejects_malformed_wire_names_without_panicking() {
        for bad in [
            "&",
            "&Vkpg0w",
            "&!!!-",
            "&AAA-",
            "caf\u{e9}",
            "a\tb",
            "&2D0-",
            "&-&",
        ] {
            assert_eq!(decode_mutf7(bad), None, "{bad:?}");
        }
    }

    fn mailbox_arg(name: &str) -> Result<String, ImapError> {
        let wire = mailbox_wire(name)?;
        let cmd = super::super::command::Cmd::fragment().mailbox(&wire);
        cmd.line().map(str::to_owned)
    }

    #[test]
    fn mailbox_names_are_checked_before_encoding() {
        assert_eq!(mailbox_arg("inbox").unwrap(), "\"INBOX\"");
        assert_eq!(mailbox_arg("报告").unwrap(), "\"&YqVUSg-\"");
        assert_eq!(mailbox_arg(r#"we"ird\name"#).unwrap(), r#""we\"ird\\name""#);
        for bad in ["", "a\r\nA1 LOGOUT", "a\nb", "nul\0", "bell\u{7}"] {
            assert!(
                matches!(mailbox_arg(bad), Err(ImapError::InvalidName)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn list_names_lose_their_quoting() {
        assert_eq!(
            name_from_wire(r#"a \"quoted\" &- name"#).as_deref(),
            Some(r#"a "quoted" & name"#)
        );
        assert_eq!(
            name_from_wire(r"back\\slash").as_deref(),
            Some(r"back\slash")
        );
    }

    #[test]
    fn list_names_normalise_inbox() {
        assert_eq!(name_from_wire("Inbox").as_deref(), Some("INBOX"));
        assert_eq!(
            name_from_wire("INBOX/&YqVUSg-").as_deref(),
            Some("INBOX/报告")
        );
    }
}
