//! The mail-parser side of `mime/`: turning raw bytes into a parsed message and reading
//! headers, parts and attachments out of it.
//!
//! This is the only file that names mail-parser types in its helpers' signatures (besides
//! [`super::render`], which walks the same tree), so a move to mail-parser 1.0 stays local
//! (crates.md). It owns the parser configuration, header decoding (RFC 2047, addresses,
//! dates, message ids), part lookup by [`PartId`], attachment listing and content-type
//! hygiene. It does not produce HTML.

use std::{borrow::Cow, panic};

use chrono::{DateTime, FixedOffset, NaiveDate};
use mail_parser::{
    Addr, ContentType, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart,
    MimeHeaders, PartType,
};

use super::{
    AttachmentInfo, MimeError, PartContent, PartId, filename::title_as_filename, repair,
    sanitize_filename,
};
use crate::model::Address;

/// The parser we use everywhere: the standard header parsers, plus
/// `Disposition-Notification-To` parsed as an address (RFC 8098), which mail-parser would
/// otherwise keep raw.
fn message_parser() -> MessageParser {
    // Once any header parser is configured, unlisted headers fall back to raw parsing, so
    // every header we read must be listed here.
    MessageParser::new()
        .with_mime_headers()
        .with_date_headers()
        .with_address_headers()
        .with_message_ids()
        .header_text(HeaderName::Subject)
        .header_text(HeaderName::Comments)
        .header_address(HeaderName::DispositionNotificationTo)
}

/// Parses a raw message. mail-parser promises not to panic, but it is a large parser fed
/// with hostile input, so a panic is caught and reported as [`MimeError::Unparseable`]
/// instead of taking the request down with it.
///
/// Bytes with no header block at all are read as a body without headers (as if the message
/// started with an empty line), so the user still sees the text.
pub(crate) fn parse_message(raw: &[u8]) -> Result<Message<'_>, MimeError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MimeError::Empty);
    }
    let parser = message_parser();
    let try_parse = |bytes: &[u8]| {
        panic::catch_unwind(panic::AssertUnwindSafe(|| parser.parse(bytes)))
            .ok()
            .flatten()
            .filter(|m| !m.parts.is_empty())
            .map(Message::into_owned)
    };
    // Damage mail-parser misreads is repaired first (`repair.rs`); the repaired copy is
    // parsed into an owned message, a well-formed one borrows `raw` as before.
    if let Some(repaired) = repair::repair(raw)
        && let Some(message) = try_parse(&repaired)
    {
        return Ok(message);
    }
    if let Some(message) = panic::catch_unwind(panic::AssertUnwindSafe(|| parser.parse(raw)))
        .ok()
        .flatten()
        .filter(|m| !m.parts.is_empty())
    {
        return Ok(message);
    }
    let mut headerless = Vec::with_capacity(raw.len() + 2);
    headerless.extend_from_slice(b"\r\n");
    headerless.extend_from_slice(raw);
    try_parse(&headerless).ok_or(MimeError::Unparseable)
}

/// The top-level headers of a message (those of its root part), never panicking.
pub(crate) fn root_headers<'a, 'x>(message: &'a Message<'x>) -> &'a [Header<'x>] {
    message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default()
}

/// All values of one header, in order.
fn header_values<'a, 'x>(
    headers: &'a [Header<'x>],
    name: &'a HeaderName<'static>,
) -> impl Iterator<Item = &'a HeaderValue<'x>> + 'a {
    headers
        .iter()
        .filter(move |h| &h.name == name)
        .map(|h| &h.value)
}

/// The header fields the message page and the forwarded-message block show.
pub(crate) struct Headers {
    pub subject: String,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub date: Option<DateTime<FixedOffset>>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub mdn_to: Option<Address>,
}

/// Reads the display headers of a (possibly nested) message.
pub(crate) fn read_headers(message: &Message<'_>) -> Headers {
    let headers = root_headers(message);
    // With several Subject headers the last one counts, and all From headers are read:
    // that is what Dovecot 2.3 puts in the IMAP ENVELOPE the message list shows (tested
    // in tests/it/message.rs), so the page and the list agree.
    let subject = header_values(headers, &HeaderName::Subject)
        .last()
        .and_then(|v| text_of(v))
        .map(|s| clean_text(&s))
        .unwrap_or_default();
    let date = header_values(headers, &HeaderName::Date)
        .find_map(HeaderValue::as_datetime)
        .and_then(to_chrono);
    let message_id = ids_of(headers, &HeaderName::MessageId).into_iter().next();
    Headers {
        subject,
        from: addresses_of(headers, &HeaderName::From),
        to: addresses_of(headers, &HeaderName::To),
        cc: addresses_of(headers, &HeaderName::Cc),
        reply_to: addresses_of(headers, &HeaderName::ReplyTo),
        date,
        message_id,
        in_reply_to: ids_of(headers, &HeaderName::InReplyTo),
        references: ids_of(headers, &HeaderName::References),
        mdn_to: addresses_of(headers, &HeaderName::DispositionNotificationTo)
            .into_iter()
            .next(),
    }
}

/// Unstructured text of a header value (one string, or a list joined by spaces).
fn text_of<'a>(value: &'a HeaderValue<'_>) -> Option<Cow<'a, str>> {
    match value {
        HeaderValue::Text(text) => Some(Cow::Borrowed(text.as_ref())),
        HeaderValue::TextList(list) => Some(Cow::Owned(list.join(" "))),
        _ => None,
    }
}

/// Message ids from every instance of an id header (`<` `>` already removed by the parser).
fn ids_of(headers: &[Header<'_>], name: &HeaderName<'static>) -> Vec<String> {
    let mut ids = Vec::new();
    for value in header_values(headers, name) {
        match value {
            HeaderValue::Text(id) => ids.push(clean_text(id)),
            HeaderValue::TextList(list) => ids.extend(list.iter().map(|id| clean_text(id))),
            _ => {}
        }
    }
    ids.retain(|id| !id.is_empty());
    ids
}

/// Addresses from every instance of an address header, groups flattened; entries without
/// an address (a group's empty member list, a bare display name) are skipped.
fn addresses_of(headers: &[Header<'_>], name: &HeaderName<'static>) -> Vec<Address> {
    header_values(headers, name)
        .filter_map(HeaderValue::as_address)
        .flat_map(|list| list.iter())
        .filter_map(to_address)
        .collect()
}

/// One mail-parser address to our model, with control characters removed.
fn to_address(addr: &Addr<'_>) -> Option<Address> {
    let email = clean_text(addr.address.as_deref()?);
    if email.is_empty() {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(clean_text)
        .filter(|n| !n.is_empty());
    Some(Address { name, email })
}

/// Header text for display: control characters (CR, LF, tab, NUL...) become spaces, runs
/// of whitespace collapse, and the ends are trimmed.
pub(crate) fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// mail-parser's date to chrono, or `None` when the date is out of range or impossible.
fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if !date.is_valid() {
        return None;
    }
    let offset = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
    // mail-parser flags zones west of Greenwich ("-0500") as `tz_before_gmt`.
    let offset = FixedOffset::east_opt(if date.tz_before_gmt { -offset } else { offset })?;
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?
    .and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second),
    )?
    .and_local_timezone(offset)
    .single()
}

/// Decodes an undecoded header value (as IMAP ENVELOPE returns it): RFC 2047 encoded words
/// in any charset mail-parser knows, folded lines, and stray control characters.
pub fn decode_header_text(raw: &[u8]) -> String {
    let Some(message) = parse_single_header(b"Subject: ", raw) else {
        return clean_text(&String::from_utf8_lossy(raw));
    };
    header_values(root_headers(&message), &HeaderName::Subject)
        .find_map(|v| text_of(v))
        .map(|s| clean_text(&s))
        .unwrap_or_default()
}

/// Decodes an undecoded address-list header value (`"=?utf-8?q?J=C3=BCrgen?=" <j@x>, ...`)
/// into addresses, for IMAP code that has the header text but not a parsed message.
pub fn decode_address_list(raw: &[u8]) -> Vec<Address> {
    parse_single_header(b"To: ", raw)
        .map(|message| addresses_of(root_headers(&message), &HeaderName::To))
        .unwrap_or_default()
}

/// Parses `<field>: <raw>\r\n\r\n` with the normal parser. CR and LF inside `raw` become
/// spaces first, so a value cannot end its own header line and smuggle in another header.
fn parse_single_header(field: &[u8], raw: &[u8]) -> Option<Message<'static>> {
    let mut buf = Vec::with_capacity(field.len() + raw.len() + 4);
    buf.extend_from_slice(field);
    buf.extend(
        raw.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    buf.extend_from_slice(b"\r\n\r\n");
    let parser = message_parser();
    panic::catch_unwind(panic::AssertUnwindSafe(|| {
        parser.parse_headers(&buf).map(Message::into_owned)
    }))
    .ok()
    .flatten()
}

/// Follows a part path into nested `message/rfc822` parts.
pub(crate) fn find_part<'a, 'x>(
    message: &'a Message<'x>,
    path: &[u32],
) -> Option<&'a MessagePart<'x>> {
    let (&first, rest) = path.split_first()?;
    let part = message.parts.get(usize::try_from(first).ok()?)?;
    if rest.is_empty() {
        return Some(part);
    }
    match &part.body {
        PartType::Message(nested) => find_part(nested, rest),
        _ => None,
    }
}

/// The downloadable content of one part, decoded (base64/QP undone; text converted to
/// UTF-8). Multipart containers have no content of their own.
pub(crate) fn part_content(part: &MessagePart<'_>, id: &PartId) -> Option<PartContent> {
    let declared = mime_type(part);
    let (content_type, bytes, inline_safe) = match &part.body {
        PartType::Multipart(_) => return None,
        PartType::Text(text) | PartType::Html(text) => (
            // mail-parser already converted the text to UTF-8; say so, or a browser would
            // guess the charset.
            format!("{declared}; charset=utf-8"),
            text.as_bytes().to_vec(),
            false,
        ),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            let safe = is_inline_safe_image(&declared, bytes);
            (declared, bytes.to_vec(), safe)
        }
        PartType::Message(_) => (
            "message/rfc822".to_string(),
            part.contents().to_vec(),
            false,
        ),
    };
    Some(PartContent {
        filename: Some(filename_of(part, id)),
        content_type,
        bytes,
        inline_safe,
    })
}

/// The attachment list: the message's non-body parts, recursing into attached messages
/// so their files can be downloaded too, minus the parts in `hidden` (images the HTML body
/// shows through `cid:`).
pub(crate) fn list_attachments(
    message: &Message<'_>,
    prefix: &[u32],
    hidden: &dyn Fn(&PartId) -> bool,
    out: &mut Vec<AttachmentInfo>,
) {
    for &index in &message.attachments {
        let Some(part) = message.parts.get(index as usize) else {
            continue;
        };
        let id = PartId::from_path(prefix, index);
        if matches!(part.body, PartType::Multipart(_)) || hidden(&id) {
            continue;
        }
        out.push(AttachmentInfo {
            filename: filename_of(part, &id),
            content_type: mime_type(part),
            size: part.len(),
            content_id: content_id(part),
            part: id.clone(),
        });
        if let PartType::Message(nested) = &part.body {
            list_attachments(nested, id.path(), hidden, out);
        }
    }
}

/// A part's `Content-ID` without angle brackets, if it has one.
pub(crate) fn content_id(part: &MessagePart<'_>) -> Option<String> {
    let id = part.content_id()?;
    let id = clean_text(id.trim().trim_start_matches('<').trim_end_matches('>'));
    (!id.is_empty()).then_some(id)
}

/// The filename to show and download under: the sender's name sanitized, else a name made
/// from the part id and its type (`part-2.pdf`), else the subject for attached messages.
pub(crate) fn filename_of(part: &MessagePart<'_>, id: &PartId) -> String {
    if let Some(name) = part.attachment_name().filter(|n| !n.trim().is_empty()) {
        return sanitize_filename(name);
    }
    if let PartType::Message(nested) = &part.body {
        let subject = read_headers(nested).subject;
        if !subject.is_empty() {
            return sanitize_filename(&title_as_filename(&format!("{subject}.eml")));
        }
    }
    let ext = extension_for(&mime_type(part));
    sanitize_filename(&format!("part-{id}.{ext}"))
}

/// The part's media type as a clean `type/subtype`, lowercased and limited to RFC 6838
/// token characters so it is safe in a `Content-Type` response header. Missing types
/// default as RFC 2045 says; junk becomes `application/octet-stream`.
pub(crate) fn mime_type(part: &MessagePart<'_>) -> String {
    if let PartType::Message(_) = part.body {
        return "message/rfc822".to_string();
    }
    let declared = part.content_type().map(clean_mime_type);
    match (&part.body, declared) {
        (PartType::Multipart(_), Some(mime)) => mime,
        (PartType::Html(_), None) => "text/html".to_string(),
        // mail-parser turns parts it could not decode (bad base64, a multipart without a
        // boundary) into text; their bytes are that text now, whatever was declared.
        (PartType::Text(_), Some(mime)) if !mime.starts_with("text/") => "text/plain".to_string(),
        // A leaf that claims to be multipart had no usable boundary: it is raw text.
        (_, Some(mime)) if mime.starts_with("multipart/") => "text/plain".to_string(),
        (_, Some(mime)) => mime,
        (_, None) => "text/plain".to_string(),
    }
}

fn clean_mime_type(ct: &ContentType<'_>) -> String {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let ctype = ct.ctype().trim().to_ascii_lowercase();
    let subtype = ct.subtype().unwrap_or_default().trim().to_ascii_lowercase();
    if valid(&ctype) && valid(&subtype) {
        format!("{ctype}/{subtype}")
    } else {
        "application/octet-stream".to_string()
    }
}

/// A file extension for unnamed parts.
fn extension_for(mime: &str) -> &'static str {
    match mime {
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "text/csv" => "csv",
        "message/rfc822" => "eml",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// A part may be shown inline (in `<img>` or opened in the browser) only if it is declared
/// as a raster image the browser decodes safely *and* its bytes start like one, so an HTML
/// or SVG file labelled `image/png` is still served as a download.
pub(crate) fn is_inline_safe_image(mime: &str, bytes: &[u8]) -> bool {
    match mime {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" | "image/jpg" | "image/pjpeg" => bytes.starts_with(b"\xFF\xD8\xFF"),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => {
            bytes.len() >= 12
                && bytes.starts_with(b"RIFF")
                && bytes.get(8..12) == Some(b"WEBP".as_slice())
        }
        _ => false,
    }
}

/// Whether the part says `Content-Disposition: attachment`.
pub(crate) fn is_attachment_disposition(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(ContentType::is_attachment)
}

/// Whether a text/plain part is `format=flowed` (RFC 3676), and with `delsp=yes`.
pub(crate) fn flowed_params(part: &MessagePart<'_>) -> Option<bool> {
    let ct = part.content_type()?;
    let flowed = ct
        .attribute("format")
        .is_some_and(|f| f.trim().eq_ignore_ascii_case("flowed"));
    flowed.then(|| {
        ct.attribute("delsp")
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("yes"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words() {
        assert_eq!(
            decode_header_text(
                b"=?UTF-8?Q?Re=3A_=D0=A1=D0=BE=D0=B1=D1=80=D0=B0=D0=BD=D0=B8=D0=B5?="
            ),
            "Re: Собрание"
        );
        assert_eq!(decode_header_text(b"=?ISO-8859-1?Q?Caf=E9?= ok"), "Café ok");
        assert_eq!(decode_header_text(b"=?gb2312?B?1tDOxA==?="), "中文");
        assert_eq!(decode_header_text(b"plain\r\nBcc: x@y"), "plain Bcc: x@y");
        assert_eq!(decode_header_text(b""), "");
        // RFC 6532 raw UTF-8, and raw 8-bit junk (replaced, never a panic).
        assert_eq!(decode_header_text("Grüße".as_bytes()), "Grüße");
        assert_eq!(decode_header_text(b"caf\xe9"), "caf\u{FFFD}");
        assert_eq!(
            decode_header_text(b"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?="),
            "日本語"
        );
        assert_eq!(
            decode_header_text(b"=?utf-8?b?not base64!?="),
            "=?utf-8?b?not base64!?="
        );
    }

    #[test]
    fn decodes_address_lists() {
        let list = decode_address_list(b"=?utf-8?q?J=C3=BCrgen?= <j@example.com>, b@example.org");
        assert_eq!(
            list,
            vec![
                Address {
                    name: Some("Jürgen".into()),
                    email: "j@example.com".into()
                },
                Address {
                    name: None,
                    email: "b@example.org".into()
                },
            ]
        );
        assert!(decode_address_list(b"undisclosed-recipients:;").is_empty());
    }

    #[test]
    fn inline_safe_needs_matching_magic() {
        assert!(is_inline_safe_image("image/png", b"\x89PNG\r\n\x1a\nrest"));
        assert!(!is_inline_safe_image("image/png", b"<html><script>"));
        assert!(!is_inline_safe_image("image/svg+xml", b"<svg/>"));
        assert!(is_inline_safe_image("image/gif", b"GIF89a...."));
        assert!(is_inline_safe_image("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
    }

    #[test]
    fn clean_text_collapses_controls() {
        assert_eq!(clean_text(" a\r\n\tb\0c  "), "a b c");
    }
}
