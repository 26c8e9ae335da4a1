//! Writing messages: the outgoing message, its Drafts copy, read receipts (MDN), and the
//! pieces a reply or forward takes from the original.
//!
//! Messages are built with mail-builder's typed headers only (addresses, text, message
//! ids), never by pasting strings into header lines, and every field is checked for CR,
//! LF and NUL first ([`ComposeError::ControlChar`] names the field), so nothing a user
//! types can add a header. Attachments are base64-encoded here, so they arrive byte for
//! byte whatever their type (mail-builder would re-encode text files' line ends).
//!
//! This file does no I/O and knows nothing of HTTP or the catalog: translated bits
//! (attribution line, forward heading, receipt text) come in as arguments. Sending and
//! storing the bytes is [`crate::smtp`]'s and [`crate::imap`]'s job.

use std::borrow::Cow;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, FixedOffset};
use mail_builder::{
    MessageBuilder,
    headers::{
        address::Address as MbAddress, content_type::ContentType, message_id::MessageId, raw::Raw,
        text::Text,
    },
    mime::{BodyPart, MimePart},
};
use mail_parser::{HeaderName, PartType};

use super::{
    MimeError,
    parse::{filename_of, mime_type, parse_message, read_headers},
    sanitize_filename,
};
use crate::model::Address;

/// Header of the Drafts copy naming the message a draft answers or forwards
/// (`reply INBOX/42`), so finishing the draft later still flags the original.
pub const ORIGIN_HEADER: &str = "X-Mailroom-Origin";

/// Lines of base64 are 76 characters plus CRLF (RFC 2045 §6.8).
const BASE64_LINE: usize = 76;

/// A field that may not hold a control character, named for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// CR, LF, NUL (or another control character) in a single-line field: header
    /// injection, refused before anything is built.
    #[error("control character in field {0}")]
    ControlChar(&'static str),
}

/// A file to attach, as uploaded or taken from another message. Serializable (bytes as
/// base64) because a message waiting in the outbox is kept in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// Shown to the recipient; sanitized again when the message is built.
    pub filename: String,
    /// `type/subtype`; anything malformed is sent as `application/octet-stream`.
    pub content_type: String,
    /// The exact bytes the recipient will get.
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

/// Bytes as one base64 string in JSON (not an array of numbers, four times as long).
mod base64_bytes {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)
    }

    /// Optional bytes, the same way.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => s.serialize_some(&STANDARD.encode(b)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| STANDARD.decode(t.as_bytes()).map_err(D::Error::custom))
                .transpose()
        }
    }
}

/// The importance the sender gave the message (`X-Priority` and `Importance` headers,
/// which together cover the clients people use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    /// Reads the form value (`high`/`normal`/`low`); anything else is `None`.
    pub fn from_form(s: &str) -> Option<Priority> {
        match s {
            "high" => Some(Priority::High),
            "normal" | "" => Some(Priority::Normal),
            "low" => Some(Priority::Low),
            _ => None,
        }
    }

    /// The form value.
    pub fn as_form(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// `(X-Priority, Importance)` values; `None` for normal, which needs no header.
    fn headers(self) -> Option<(&'static str, &'static str)> {
        match self {
            Priority::High => Some(("1 (Highest)", "high")),
            Priority::Normal => None,
            Priority::Low => Some(("5 (Lowest)", "low")),
        }
    }

    /// Reads `X-Priority` (1–2 high, 4–5 low) or `Importance` from a draft.
    fn from_headers(x_priority: Option<&str>, importance: Option<&str>) -> Priority {
        let digit = x_priority.and_then(|v| v.trim().chars().next());
        match (digit, importance.map(|v| v.trim().to_ascii_lowercase())) {
            (Some('1' | '2'), _) => Priority::High,
            (Some('4' | '5'), _) => Priority::Low,
            (_, Some(i)) if i == "high" => Priority::High,
            (_, Some(i)) if i == "low" => Priority::Low,
            _ => Priority::Normal,
        }
    }
}

/// Everything an outgoing message is made of, already validated as addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    /// The chosen identity: display name and address.
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Only in the envelope and the Drafts copy, never in the sent header.
    pub bcc: Vec<Address>,
    pub subject: String,
    /// Plain text; line ends are normalized to CRLF.
    pub body: String,
    /// The same text formatted: an HTML fragment already cleaned by
    /// [`super::rich::clean`], sent as the second half of a `multipart/alternative`.
    /// `None`: a plain-text message. (Defaulted so letters queued before it still read.)
    #[serde(default)]
    pub html: Option<String>,
    /// The Message-ID (without brackets) of the message answered.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first (without brackets).
    pub references: Vec<String>,
    pub priority: Priority,
    /// Ask for a read receipt (RFC 8098 `Disposition-Notification-To`).
    pub request_mdn: bool,
    pub attachments: Vec<Attachment>,
    /// A whole message attached as `message/rfc822` (forward as attachment).
    #[serde(with = "base64_bytes::option")]
    pub attached_message: Option<Vec<u8>>,
    /// Without brackets; see [`new_message_id`].
    pub message_id: String,
    /// Unix seconds for the Date header.
    pub date: i64,
    /// `reply INBOX/42` or `forward INBOX/42`: written to the Drafts copy only.
    pub origin: Option<String>,
}

/// Which copy of a message to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// What goes to the recipients and to Sent: no Bcc header.
    Sent,
    /// What goes to Drafts: keeps Bcc and the origin, so the draft can be finished later.
    Draft,
}

/// A fresh Message-ID (without brackets) on the sender's domain.
pub fn new_message_id(from_email: &str) -> String {
    let domain = from_email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
        .unwrap_or("mailroom.invalid");
    format!("{}@{domain}", crate::ids::random_token(18))
}

/// The size of `len` bytes once base64-encoded with line breaks: how attachments count
/// against the message size limit.
pub fn encoded_size(len: u64) -> u64 {
    let chars = len.div_ceil(3) * 4;
    chars + chars.div_ceil(BASE64_LINE as u64) * 2
}

/// Refuses control characters in a single-line field.
fn single_line(field: &'static str, value: &str) -> Result<(), ComposeError> {
    if value.chars().any(|c| c.is_control()) {
        Err(ComposeError::ControlChar(field))
    } else {
        Ok(())
    }
}

/// Refuses control characters in any address of a list (name or address).
fn addresses_ok(field: &'static str, list: &[Address]) -> Result<(), ComposeError> {
    for a in list {
        single_line(field, &a.email)?;
        single_line(field, a.name.as_deref().unwrap_or(""))?;
    }
    Ok(())
}

/// Checks every field of `o` for control characters (the body may have line breaks and
/// tabs but no NUL or other controls).
pub fn validate(o: &Outgoing) -> Result<(), ComposeError> {
    addresses_ok("from", std::slice::from_ref(&o.from))?;
    addresses_ok("to", &o.to)?;
    addresses_ok("cc", &o.cc)?;
    addresses_ok("bcc", &o.bcc)?;
    single_line("subject", &o.subject)?;
    let bad = |c: char| c.is_control() && !matches!(c, '\r' | '\n' | '\t');
    if o.body.chars().any(bad) || o.html.as_deref().is_some_and(|h| h.chars().any(bad)) {
        return Err(ComposeError::ControlChar("body"));
    }
    for id in o.in_reply_to.iter().chain(&o.references) {
        single_line("references", id)?;
        if id.contains(['<', '>', ' ']) {
            return Err(ComposeError::ControlChar("references"));
        }
    }
    single_line("message_id", &o.message_id)?;
    single_line("origin", o.origin.as_deref().unwrap_or(""))?;
    for a in &o.attachments {
        single_line("attachments", &a.filename)?;
        single_line("attachments", &a.content_type)?;
    }
    Ok(())
}

/// Text with every line end as CRLF.
pub fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// A media type made of token characters (`type/subtype`), else octet-stream.
fn clean_content_type(ct: &str) -> String {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = essence.split_once('/').is_some_and(|(t, s)| {
        !t.is_empty()
            && !s.is_empty()
            && !s.contains('/')
            && essence
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/.+-_!#$&^".contains(&b))
    });
    if ok && !essence.starts_with("multipart/") && !essence.starts_with("message/") {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Base64 with 76-character lines, ready to be a part body.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let encoded = STANDARD.encode(data);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / BASE64_LINE * 2 + 2);
    for chunk in encoded.as_bytes().chunks(BASE64_LINE) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A mail-builder address (list) from ours.
fn mb_address(a: &Address) -> MbAddress<'static> {
    let name = a
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| Cow::Owned(n.to_owned()));
    MbAddress::new_address(name, Cow::Owned(a.email.clone()))
}

fn mb_list(list: &[Address]) -> MbAddress<'static> {
    MbAddress::new_list(list.iter().map(mb_address).collect())
}

/// A part whose body we encoded ourselves (base64), so mail-builder writes it as is.
fn base64_part(content_type: ContentType<'static>, data: &[u8]) -> MimePart<'static> {
    MimePart::new(
        content_type,
        BodyPart::Binary(Cow::Owned(base64_lines(data))),
    )
    .transfer_encoding("base64")
}

/// A part sent without transfer encoding: `7bit`, or `8bit` when it has non-ASCII bytes
/// (the `message/*` types may not be base64-encoded, RFC 2046 §5.2.1).
fn identity_part(content_type: ContentType<'static>, data: Vec<u8>) -> MimePart<'static> {
    let cte = if data.is_ascii() { "7bit" } else { "8bit" };
    MimePart::new(content_type, BodyPart::Binary(Cow::Owned(data))).transfer_encoding(cte)
}

/// Builds the message. [`Copy::Sent`] leaves out Bcc; [`Copy::Draft`] keeps it, plus the
/// origin header.
pub fn build(o: &Outgoing, copy: Copy) -> Result<Vec<u8>, ComposeError> {
    validate(o)?;
    let mut b = MessageBuilder::new()
        .from(mb_address(&o.from))
        .message_id(MessageId::new(o.message_id.clone()))
        .date(o.date);
    if !o.to.is_empty() {
        b = b.to(mb_list(&o.to));
    }
    if !o.cc.is_empty() {
        b = b.cc(mb_list(&o.cc));
    }
    if copy == Copy::Draft && !o.bcc.is_empty() {
        b = b.bcc(mb_list(&o.bcc));
    }
    b = b.subject(Text::new(o.subject.clone()));
    if let Some(id) = &o.in_reply_to {
        b = b.in_reply_to(MessageId::new(id.clone()));
    }
    if !o.references.is_empty() {
        b = b.references(MessageId::new_list(o.references.iter().cloned()));
    }
    if let Some((x_priority, importance)) = o.priority.headers() {
        b = b
            .header("X-Priority", Raw::new(x_priority))
            .header("Importance", Raw::new(importance));
    }
    if o.request_mdn {
        b = b.header("Disposition-Notification-To", mb_address(&o.from));
    }
    if copy == Copy::Draft
        && let Some(origin) = &o.origin
    {
        b = b.header(ORIGIN_HEADER, Text::new(origin.clone()));
    }

    let text = MimePart::new(
        ContentType::new("text/plain").attribute("charset", "utf-8"),
        BodyPart::Text(Cow::Owned(crlf(&o.body))),
    );
    let text = match &o.html {
        // Plain text first: a client shows the last part it understands (RFC 2046 §5.1.4).
        Some(html) => MimePart::new(
            ContentType::new("multipart/alternative"),
            BodyPart::Multipart(vec![
                text,
                MimePart::new(
                    ContentType::new("text/html").attribute("charset", "utf-8"),
                    BodyPart::Text(Cow::Owned(crlf(&html_document(html)))),
                ),
            ]),
        ),
        None => text,
    };
    let mut parts = vec![text];
    for a in &o.attachments {
        let ct = ContentType::new(clean_content_type(&a.content_type));
        let name = sanitize_filename(&a.filename);
        parts.push(base64_part(ct, &a.data).attachment(name));
    }
    if let Some(raw) = &o.attached_message {
        let subject = read_original(raw).map(|m| m.subject).unwrap_or_default();
        let name = attached_message_name(&subject);
        parts.push(
            identity_part(ContentType::new("message/rfc822"), crlf_bytes(raw)).attachment(name),
        );
    }
    let body = if parts.len() == 1 {
        parts.remove(0)
    } else {
        MimePart::new(
            ContentType::new("multipart/mixed"),
            BodyPart::Multipart(parts),
        )
    };
    b.body(body)
        .write_to_vec()
        .map_err(|_| ComposeError::ControlChar("body"))
}

/// The file name of a message forwarded as an attachment: its subject, read as a title
/// and not a path ("Q1/Q2 report" keeps both halves), with `.eml`.
pub fn attached_message_name(subject: &str) -> String {
    sanitize_filename(&super::filename::title_as_filename(&format!(
        "{subject}.eml"
    )))
}

/// A cleaned fragment as a whole document, so the recipient's client knows its charset.
fn html_document(fragment: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{fragment}\n</body></html>\n"
    )
}

/// Bytes with every line end as CRLF (an attached message must have them on the wire).
fn crlf_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `Re: subject`, without stacking prefixes (`Re: Re:`), also recognizing `RE:`, `AW:`
/// and the Chinese `回复：`.
pub fn reply_subject(subject: &str) -> String {
    let s = subject.trim();
    if has_prefix(s, &["re:", "re :", "aw:", "回复:", "回复："]) {
        s.to_owned()
    } else {
        format!("Re: {s}")
    }
}

/// `Fwd: subject`, once.
pub fn forward_subject(subject: &str) -> String {
    let s = subject.trim();
    if has_prefix(s, &["fwd:", "fw:", "fwd :", "转发:", "转发："]) {
        s.to_owned()
    } else {
        format!("Fwd: {s}")
    }
}

fn has_prefix(s: &str, prefixes: &[&str]) -> bool {
    let lower = s.to_lowercase();
    prefixes.iter().any(|p| lower.starts_with(p))
}

/// The original text quoted for a reply: the attribution line, then every line with `> `.
pub fn quote(text: &str, attribution: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + attribution.len() + 2);
    out.push_str(attribution);
    out.push('\n');
    let text = text.replace("\r\n", "\n");
    for line in text.trim_end().lines() {
        if line.starts_with('>') {
            out.push('>');
        } else {
            out.push_str("> ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Translated labels for the inline-forward header block.
#[derive(Debug, Clone, Copy)]
pub struct ForwardLabels<'a> {
    pub heading: &'a str,
    pub from: &'a str,
    pub date: &'a str,
    pub subject: &'a str,
    pub to: &'a str,
    pub cc: &'a str,
}

/// The original, forwarded inline: a heading, its main headers, then its text.
pub fn forward_block(labels: &ForwardLabels<'_>, original: &Original, date: &str) -> String {
    let mut out = format!("---------- {} ----------\n", labels.heading);
    let mut line = |label: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\n"));
        }
    };
    line(labels.from, &join(&original.from));
    line(labels.date, date);
    line(labels.subject, &original.subject);
    line(labels.to, &join(&original.to));
    line(labels.cc, &join(&original.cc));
    out.push('\n');
    out.push_str(original.text.replace("\r\n", "\n").trim_end());
    out.push('\n');
    out
}

/// `Name <a@b>, c@d` for display in a forward block.
fn join(list: &[Address]) -> String {
    list.iter()
        .map(super::address::format_address)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a reply, a forward or a reopened draft takes from a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Original {
    pub subject: String,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub date: Option<DateTime<FixedOffset>>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Where a read receipt should go, if one was asked for.
    pub mdn_to: Option<Address>,
    pub priority: Priority,
    /// The first text body (HTML converted to text when there is no text part).
    pub text: String,
    /// The first HTML body part as received (not cleaned), when there is one: a draft
    /// written in the rich editor opens there again.
    pub html: Option<String>,
    /// The files attached (decoded), in order.
    pub attachments: Vec<Attachment>,
    /// The header block as received, for the `text/rfc822-headers` part of a receipt.
    pub raw_headers: Vec<u8>,
    /// [`ORIGIN_HEADER`] of a draft.
    pub origin: Option<String>,
}

/// Reads what composing needs from a raw message.
pub fn read_original(raw: &[u8]) -> Result<Original, MimeError> {
    let message = parse_message(raw)?;
    let h = read_headers(&message);
    let bcc = message
        .bcc()
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    let email = a.address.as_deref()?.trim();
                    (!email.is_empty()).then(|| Address {
                        name: a
                            .name
                            .as_deref()
                            .map(str::to_owned)
                            .filter(|n| !n.trim().is_empty()),
                        email: email.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let raw_header = |name: &str| {
        message
            .header_raw(HeaderName::Other(Cow::Owned(name.to_owned())))
            .map(|v| super::decode_header_text(v.trim().as_bytes()))
    };
    let priority = Priority::from_headers(
        raw_header("X-Priority").as_deref(),
        raw_header("Importance").as_deref(),
    );
    let origin = raw_header(ORIGIN_HEADER).filter(|o| !o.is_empty());
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let html = message
        .html_body
        .first()
        .and_then(|&i| message.parts.get(i as usize))
        .and_then(|part| match &part.body {
            PartType::Html(h) => Some(h.to_string()),
            _ => None,
        });
    let mut attachments = Vec::new();
    for &index in &message.attachments {
        let Some(part) = message.parts.get(index as usize) else {
            continue;
        };
        let id = super::PartId::from_path(&[], index);
        let data = match &part.body {
            PartType::Multipart(_) => continue,
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Message(_) => part.contents().to_vec(),
        };
        attachments.push(Attachment {
            filename: filename_of(part, &id),
            content_type: mime_type(part),
            data,
        });
    }
    let header_end = message
        .parts
        .first()
        .map(|p| p.offset_body as usize)
        .unwrap_or(0)
        .min(raw.len());
    Ok(Original {
        subject: h.subject,
        from: h.from,
        to: h.to,
        cc: h.cc,
        bcc,
        reply_to: h.reply_to,
        date: h.date,
        message_id: h.message_id,
        in_reply_to: h.in_reply_to,
        references: h.references,
        mdn_to: h.mdn_to,
        priority,
        text,
        html,
        attachments,
        raw_headers: raw[..header_end].to_vec(),
        origin,
    })
}

/// Whether `email` is one of `own` (case-insensitive).
fn is_own(email: &str, own: &[String]) -> bool {
    own.iter().any(|o| o.eq_ignore_ascii_case(email.trim()))
}

/// Who a reply goes to: `(to, cc)`. Reply goes to Reply-To (else From); reply-all adds
/// the original To and Cc. The user's own addresses and duplicates are left out; when
/// the user answers their own message, the original recipients are used instead.
pub fn reply_recipients(o: &Original, all: bool, own: &[String]) -> (Vec<Address>, Vec<Address>) {
    let mut seen: Vec<String> = Vec::new();
    let keep = |a: &Address, seen: &mut Vec<String>| {
        let key = a.email.trim().to_lowercase();
        if key.is_empty() || is_own(&key, own) || seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    };
    let primary: &[Address] = if o.reply_to.is_empty() {
        &o.from
    } else {
        &o.reply_to
    };
    let mut to: Vec<Address> = primary
        .iter()
        .filter(|a| keep(a, &mut seen))
        .cloned()
        .collect();
    if to.is_empty() && !all {
        // Replying to one's own message: answer whoever it was sent to.
        to =
            o.to.iter()
                .filter(|a| keep(a, &mut seen))
                .cloned()
                .collect();
    }
    let mut cc = Vec::new();
    if all {
        to.extend(o.to.iter().filter(|a| keep(a, &mut seen)).cloned());
        cc.extend(o.cc.iter().filter(|a| keep(a, &mut seen)).cloned());
    }
    (to, cc)
}

/// The References of a reply: the original's References (or In-Reply-To), then its id.
pub fn reply_references(o: &Original) -> Vec<String> {
    let mut refs = if o.references.is_empty() {
        o.in_reply_to.clone()
    } else {
        o.references.clone()
    };
    if let Some(id) = &o.message_id {
        refs.push(id.clone());
    }
    // Keep the header reasonable on very long threads: the first and the last ones.
    if refs.len() > 20 {
        let tail = refs.split_off(refs.len() - 19);
        refs.truncate(1);
        refs.extend(tail);
    }
    refs
}

/// A read receipt to build (RFC 8098).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mdn {
    /// The user's identity.
    pub from: Address,
    /// The original's `Disposition-Notification-To`.
    pub to: Address,
    /// Translated subject (`Read: …`).
    pub subject: String,
    /// Translated human-readable explanation (first part of the report).
    pub text: String,
    /// The original's Message-ID, without brackets.
    pub original_message_id: Option<String>,
    /// The original's header block.
    pub original_headers: Vec<u8>,
    /// Without brackets.
    pub message_id: String,
    pub date: i64,
}

/// Builds a `multipart/report; report-type=disposition-notification` for a message the
/// user chose to acknowledge (`manual-action/MDN-sent-manually; displayed`).
pub fn build_mdn(m: &Mdn) -> Result<Vec<u8>, ComposeError> {
    addresses_ok("from", std::slice::from_ref(&m.from))?;
    addresses_ok("to", std::slice::from_ref(&m.to))?;
    single_line("subject", &m.subject)?;
    let original_id = m.original_message_id.as_deref().filter(|id| {
        id.chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
    });
    let mut report = format!(
        "Reporting-UA: {host}; Mailroom {version}\r\nFinal-Recipient: rfc822;{recipient}\r\n",
        host = m
            .from
            .email
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost"),
        version = env!("CARGO_PKG_VERSION"),
        recipient = m.from.email,
    );
    if let Some(id) = original_id {
        report.push_str(&format!("Original-Message-ID: <{id}>\r\n"));
    }
    report.push_str("Disposition: manual-action/MDN-sent-manually; displayed\r\n");
    single_line("from", &m.from.email)?;
    let parts = vec![
        MimePart::new(
            ContentType::new("text/plain").attribute("charset", "utf-8"),
            BodyPart::Text(Cow::Owned(crlf(&m.text))),
        ),
        identity_part(
            ContentType::new("message/disposition-notification"),
            report.into_bytes(),
        ),
        identity_part(
            ContentType::new("text/rfc822-headers"),
            crlf_bytes(&m.original_headers),
        ),
    ];
    let mut b = MessageBuilder::new()
        .from(mb_address(&m.from))
        .to(mb_address(&m.to))
        .subject(Text::new(m.subject.clone()))
        .message_id(MessageId::new(m.message_id.clone()))
        .date(m.date);
    if let Some(id) = original_id {
        b = b
            .in_reply_to(MessageId::new(id.to_owned()))
            .references(MessageId::new(id.to_owned()));
    }
    b.body(MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "disposition-notification"),
        BodyPart::Multipart(parts),
    ))
    .write_to_vec()
    .map_err(|_| ComposeError::ControlChar("body"))
}

/// Splits `{mailbox}/{uid}` (the `reply`, `forward` and `draft` parameters): the UID is
/// after the last slash, so folder names may contain slashes.
pub fn parse_message_ref(s: &str) -> Option<(String, u32)> {
    let (mailbox, uid) = s.rsplit_once('/')?;
    let uid: u32 = uid.parse().ok().filter(|&u| u > 0)?;
    (!mailbox.is_empty() && !mailbox.chars().any(char::is_control))
        .then(|| (mailbox.to_owned(), uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: &str, email: &str) -> Address {
        Address {
            name: (!name.is_empty()).then(|| name.to_owned()),
            email: email.to_owned(),
        }
    }

    fn sample() -> Outgoing {
        Outgoing {
            from: addr("Alice 爱丽丝", "alice@example.test"),
            to: vec![addr("Bob", "bob@example.test")],
            cc: vec![addr("", "carol@example.test")],
            bcc: vec![addr("", "secret@example.test")],
            subject: "季度报告 📈".into(),
            body: "第一行\nline two\r\n".into(),
            html: None,
            in_reply_to: Some("orig@example.test".into()),
            references: vec!["root@example.test".into(), "orig@example.test".into()],
            priority: Priority::High,
            request_mdn: true,
            attachments: vec![Attachment {
                filename: "数据.bin".into(),
                content_type: "application/octet-stream".into(),
                data: (0..=255u8).collect(),
            }],
            attached_message: None,
            message_id: "m1@example.test".into(),
            date: 1_700_000_000,
            origin: Some("reply INBOX/7".into()),
        }
    }

    #[test]
    fn sent_copy_round_trips_without_bcc() {
        let raw = build(&sample(), Copy::Sent).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("secret@example.test"), "Bcc leaked: {text}");
        assert!(!text.contains(ORIGIN_HEADER));
        assert!(text.contains("X-Priority: 1 (Highest)\r\n"));
        assert!(text.contains("Importance: high\r\n"));
        let o = read_original(&raw).unwrap();
        assert_eq!(o.subject, "季度报告 📈");
        assert_eq!(o.from[0].name.as_deref(), Some("Alice 爱丽丝"));
        assert_eq!(
            o.mdn_to.as_ref().map(|a| a.email.as_str()),
            Some("alice@example.test")
        );
        assert_eq!(o.text.replace("\r\n", "\n"), "第一行\nline two\n");
        assert_eq!(o.attachments.len(), 1);
        assert_eq!(o.attachments[0].data, (0..=255u8).collect::<Vec<_>>());
        assert_eq!(o.attachments[0].filename, "数据.bin");
        assert_eq!(o.references, ["root@example.test", "orig@example.test"]);
        assert_eq!(o.priority, Priority::High);
        assert_eq!(o.message_id.as_deref(), Some("m1@example.test"));
    }

    #[test]
    fn draft_copy_keeps_bcc_and_origin() {
        let raw = build(&sample(), Copy::Draft).unwrap();
        let o = read_original(&raw).unwrap();
        assert_eq!(o.bcc, vec![addr("", "secret@example.test")]);
        assert_eq!(o.origin.as_deref(), Some("reply INBOX/7"));
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        let mut o = sample();
        o.subject = "hi\r\nBcc: evil@example.test".into();
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("subject"))
        );
        let mut o = sample();
        o.to[0].name = Some("Bob\nX-Evil: 1".into());
        assert_eq!(build(&o, Copy::Sent), Err(ComposeError::ControlChar("to")));
        let mut o = sample();
        o.from.email = "a@b\0".into();
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("from"))
        );
        let mut o = sample();
        o.attachments[0].filename = "a\r\n.txt".into();
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("attachments"))
        );
        let mut o = sample();
        o.body = "nul\0".into();
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("body"))
        );
        let mut o = sample();
        o.references = vec!["a@b> X-Evil: 1".into()];
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("references"))
        );
    }

    #[test]
    fn formatted_text_is_an_alternative_inside_mixed() {
        let mut o = sample();
        o.body = "Hello bold\n".into();
        o.html = Some("<div>Hello <b>bold</b></div>".into());
        let raw = build(&o, Copy::Sent).unwrap();
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(mime_type(&m.parts[0]), "multipart/mixed");
        assert_eq!(mime_type(&m.parts[1]), "multipart/alternative");
        assert_eq!(m.body_text(0).unwrap().trim_end(), "Hello bold");
        assert!(m.body_html(0).unwrap().contains("<b>bold</b>"));
        let back = read_original(&raw).unwrap();
        assert!(back.html.unwrap().contains("<b>bold</b>"));
        assert_eq!(back.attachments.len(), 1);
        // Without attachments the alternative is the whole body; without HTML, plain text.
        o.attachments.clear();
        let m = mail_parser::MessageParser::default()
            .parse(&build(&o, Copy::Sent).unwrap())
            .map(|m| mime_type(&m.parts[0]))
            .unwrap();
        assert_eq!(m, "multipart/alternative");
        o.html = None;
        let raw = build(&o, Copy::Sent).unwrap();
        assert_eq!(read_original(&raw).unwrap().html, None);
        assert!(String::from_utf8_lossy(&raw).contains("Content-Type: text/plain"));
        o.html = Some("a\u{1}".into());
        assert_eq!(
            build(&o, Copy::Sent),
            Err(ComposeError::ControlChar("body"))
        );
    }

    #[test]
    fn text_attachments_keep_their_bytes() {
        let mut o = sample();
        o.attachments = vec![Attachment {
            filename: "lf.txt".into(),
            content_type: "text/plain".into(),
            data: b"one\ntwo\r\nthree\n".to_vec(),
        }];
        let o2 = read_original(&build(&o, Copy::Sent).unwrap()).unwrap();
        assert_eq!(o2.attachments[0].data, b"one\ntwo\r\nthree\n");
    }

    #[test]
    fn forward_as_attachment_is_message_rfc822() {
        let mut o = sample();
        o.attachments.clear();
        o.attached_message = Some(b"From: x@example.test\nSubject: Inner\n\nhello\n".to_vec());
        let raw = build(&o, Copy::Sent).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("Content-Type: message/rfc822"), "{text}");
        assert!(text.contains("Subject: Inner\r\n"));
        let parsed = read_original(&raw).unwrap();
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].content_type, "message/rfc822");
    }

    #[test]
    fn subjects_get_one_prefix() {
        assert_eq!(reply_subject("Hello"), "Re: Hello");
        assert_eq!(reply_subject("RE: Hello"), "RE: Hello");
        assert_eq!(reply_subject("回复：你好"), "回复：你好");
        assert_eq!(forward_subject("Re: Hello"), "Fwd: Re: Hello");
        assert_eq!(forward_subject("Fwd: Hello"), "Fwd: Hello");
        assert_eq!(forward_subject("FW: Hello"), "FW: Hello");
    }

    #[test]
    fn quoting_and_reply_all() {
        assert_eq!(quote("a\n> b\n\n", "X wrote:"), "X wrote:\n> a\n>> b\n");
        let o = Original {
            from: vec![addr("Bob", "bob@example.test")],
            to: vec![
                addr("", "ALICE@example.test"),
                addr("", "dave@example.test"),
            ],
            cc: vec![addr("", "bob@example.test"), addr("", "erin@example.test")],
            ..Original::default()
        };
        let own = vec!["alice@example.test".to_owned()];
        let (to, cc) = reply_recipients(&o, false, &own);
        assert_eq!(to, vec![addr("Bob", "bob@example.test")]);
        assert!(cc.is_empty());
        let (to, cc) = reply_recipients(&o, true, &own);
        let emails = |l: &[Address]| l.iter().map(|a| a.email.clone()).collect::<Vec<_>>();
        assert_eq!(emails(&to), ["bob@example.test", "dave@example.test"]);
        assert_eq!(emails(&cc), ["erin@example.test"]);
    }

    #[test]
    fn mdn_is_a_disposition_report() {
        let raw = build_mdn(&Mdn {
            from: addr("Alice", "alice@example.test"),
            to: addr("", "bob@example.test"),
            subject: "Read: hi".into(),
            text: "Your message was displayed.".into(),
            original_message_id: Some("orig@example.test".into()),
            original_headers: b"Subject: hi\nFrom: bob@example.test\n\n".to_vec(),
            message_id: "mdn1@example.test".into(),
            date: 1_700_000_000,
        })
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/report"), "{text}");
        assert!(
            text.contains("report-type=disposition-notification")
                || text.contains("report-type=\"disposition-notification\"")
        );
        assert!(text.contains("Content-Type: message/disposition-notification\r\n"));
        assert!(text.contains("Disposition: manual-action/MDN-sent-manually; displayed\r\n"));
        assert!(text.contains("Original-Message-ID: <orig@example.test>\r\n"));
        assert!(text.contains("Final-Recipient: rfc822;alice@example.test\r\n"));
    }

    #[test]
    fn sizes_and_refs() {
        assert_eq!(encoded_size(0), 0);
        assert_eq!(encoded_size(57), 78);
        // 4 MiB of base64 plus CRLF every 76 characters.
        assert_eq!(encoded_size(3 * 1024 * 1024) / 1024, 4203);
        assert_eq!(parse_message_ref("INBOX/5"), Some(("INBOX".into(), 5)));
        assert_eq!(parse_message_ref("a/b/12"), Some(("a/b".into(), 12)));
        assert_eq!(parse_message_ref("INBOX/0"), None);
        assert_eq!(parse_message_ref("/5"), None);
        assert_eq!(parse_message_ref("INBOX"), None);
    }
}
