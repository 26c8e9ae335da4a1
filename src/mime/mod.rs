//! Reading messages: parse (mail-parser) → pick parts → sanitize (ammonia) → render.
//!
//! This module owns everything between the raw RFC 5322 bytes that [`crate::imap`] fetches
//! and the owned values the web layer puts in a page: decoded headers ([`MessageView`]),
//! the body as a sanitized HTML fragment ([`render_body`]), single parts for download
//! ([`part`]), and the header-decoding helpers IMAP needs for ENVELOPE strings. It does no
//! I/O and knows nothing of HTTP, so it is tested with `.eml` files alone
//! (`tests/fixtures/mime`). mail-parser and ammonia types never leave it.
//!
//! Files: `parse.rs` (mail-parser, headers, parts, attachments), `render.rs` (choosing
//! body parts, text to HTML, attached messages), `sanitize.rs` (the ammonia policy),
//! `filename.rs` (filename hygiene), `repair.rs` (mending damaged structure and transfer
//! encodings before parsing), `authres.rs` (our server's `Authentication-Results`),
//! `compose.rs` (building outgoing messages), `rich.rs` (the compose editor's HTML, cleaned
//! with the same policy, and its plain text).
//!
//! Messages come from anyone, so the work is bounded: a request parses a message once
//! ([`ParsedMessage`], which the web layer builds on the blocking pool), and rendering
//! has caps (HTML bytes, nesting depth and element count, text bytes; `render.rs`); a
//! body part over them is left out and named in [`RenderedBody::too_large`] so the page
//! can offer it as a download.

use std::{fmt, str::FromStr};

use chrono::{DateTime, FixedOffset};

use crate::model::Address;

pub mod address;
pub mod authres;
pub mod compose;
mod filename;
mod parse;
mod render;
mod repair;
pub mod rich;
mod sanitize;
pub mod vcard;

pub use filename::sanitize_filename;
pub use parse::{decode_address_list, decode_header_text};
pub use render::text_to_html;
pub use sanitize::{ImageProxy, PROXY_ROUTE};

/// Why a message could not be read at all. Anything short of this is rendered best-effort.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// The raw message is empty (or only whitespace).
    #[error("the message is empty")]
    Empty,
    /// The parser gave up (or panicked) on the bytes; the page can still offer the raw
    /// message for download.
    #[error("the message could not be parsed")]
    Unparseable,
}

/// Everything the message page shows, owned (no borrow of the raw bytes), so it can be
/// cached and handed to a template after the raw message is gone.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    /// Decoded `Subject` (RFC 2047, any charset), control characters removed.
    pub subject: String,
    /// `From` addresses (usually one).
    pub from: Vec<Address>,
    /// `To` addresses, groups flattened.
    pub to: Vec<Address>,
    /// `Cc` addresses, groups flattened.
    pub cc: Vec<Address>,
    /// `Reply-To` addresses, for the reply button.
    pub reply_to: Vec<Address>,
    /// `Date`, with the sender's offset; `None` when missing or invalid.
    pub date: Option<DateTime<FixedOffset>>,
    /// `Message-ID` without angle brackets, for threading replies.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, for threading.
    pub in_reply_to: Vec<String>,
    /// `References` ids, for threading replies (RFC 5322 §3.6.4).
    pub references: Vec<String>,
    /// Disposition-Notification-To (a read receipt was requested; RFC 8098).
    pub mdn_to: Option<Address>,
    /// Downloadable parts: not the chosen body parts, and not the images the HTML body
    /// shows through `cid:`. Files inside attached messages are listed too.
    pub attachments: Vec<AttachmentInfo>,
    /// The top-level message has an HTML body (so `render_body` shows sanitized HTML, and
    /// the page can say so, e.g. next to the "Show remote content" button).
    pub has_html: bool,
}

/// One downloadable part, as listed under the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Where to fetch it: `/mail/{mailbox}/{uid}/part/{part}`.
    pub part: PartId,
    /// The sender's filename after [`sanitize_filename`], or a generated `part-N.ext`.
    pub filename: String,
    /// Clean `type/subtype` (no parameters), safe for a `Content-Type` header.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
    /// `Content-ID` without angle brackets, when the part has one.
    pub content_id: Option<String>,
}

/// Stable id of a MIME part within a message, used in the URL
/// `/mail/{mailbox}/{uid}/part/{part}`.
///
/// The scheme is mail-parser's part index as a decimal string (`"3"`); parts inside an
/// attached `message/rfc822` continue with a dot and the index inside that message
/// (`"3.1"`). Parsing is strict (digits and dots only, no leading zeros, at most
/// [`PartId::MAX_DEPTH`] levels) so every id has exactly one spelling and a URL segment
/// can never smuggle anything else in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartId(Vec<u32>);

impl PartId {
    /// Deepest nesting accepted (mail-parser parses attached messages 3 levels deep).
    pub const MAX_DEPTH: usize = 8;

    /// The id of part `index` inside the message found at `prefix`.
    pub(crate) fn from_path(prefix: &[u32], index: u32) -> Self {
        let mut path = Vec::with_capacity(prefix.len() + 1);
        path.extend_from_slice(prefix);
        path.push(index);
        PartId(path)
    }

    /// The index path, outermost first.
    pub(crate) fn path(&self) -> &[u32] {
        &self.0
    }
}

impl fmt::Display for PartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, index) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{index}")?;
        }
        Ok(())
    }
}

/// A URL segment that is not a valid [`PartId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid part id")]
pub struct InvalidPartId;

impl FromStr for PartId {
    type Err = InvalidPartId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 64 {
            return Err(InvalidPartId);
        }
        let mut path = Vec::new();
        for segment in s.split('.') {
            let canonical = !segment.is_empty()
                && segment.len() <= 9
                && segment.bytes().all(|b| b.is_ascii_digit())
                && (segment == "0" || !segment.starts_with('0'));
            if !canonical || path.len() >= Self::MAX_DEPTH {
                return Err(InvalidPartId);
            }
            path.push(segment.parse().map_err(|_| InvalidPartId)?);
        }
        Ok(PartId(path))
    }
}

/// How [`render_body`] should treat links to the outside world and to the message's parts.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Show remote `http(s)` images (the user asked to show remote content, or trusts the
    /// sender). They are shown through `image_proxy`, never linked directly.
    pub allow_remote: bool,
    /// URL prefix for parts, e.g. "/mail/INBOX/42/part/" — cid: references become prefix + part id
    pub part_url_prefix: &'a str,
    /// Signs the image-proxy URLs that allowed remote images are rewritten to; `None`
    /// drops remote images even when allowed.
    pub image_proxy: Option<&'a ImageProxy>,
    /// Labels of the header table above a forwarded (attached) message, in the reader's
    /// language; `mime` has no catalog of its own.
    pub header_labels: HeaderLabels<'a>,
}

/// The From/To/Cc/Date/Subject labels shown above an attached message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderLabels<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub cc: &'a str,
    pub date: &'a str,
    pub subject: &'a str,
}

impl HeaderLabels<'static> {
    /// English labels, for callers without a language (tests, tools).
    pub const ENGLISH: HeaderLabels<'static> = HeaderLabels {
        from: "From",
        to: "To",
        cc: "Cc",
        date: "Date",
        subject: "Subject",
    };
}

/// The body, ready for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBody {
    /// A sanitized HTML fragment, safe to put inside `<body>` (`|safe` in the template).
    pub html: String,
    /// Remote content was present (blocked or allowed): the page shows a "Show remote
    /// content" button when this is true and it was not allowed.
    pub has_remote_content: bool,
    /// Body parts too large (or too deeply nested) to show here: the page offers them as
    /// downloads instead of rendering them.
    pub too_large: Vec<PartId>,
}

/// One part's bytes for a download response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartContent {
    /// Clean media type for the `Content-Type` header (text parts get `; charset=utf-8`,
    /// because their bytes are decoded to UTF-8).
    pub content_type: String,
    /// Sanitized filename for `Content-Disposition`.
    pub filename: Option<String>,
    /// The decoded bytes (transfer encoding undone).
    pub bytes: Vec<u8>,
    /// True only for raster images (png/jpeg/gif/webp) whose bytes match their type —
    /// everything else must be served as an attachment.
    pub inline_safe: bool,
}

/// A message parsed once, owning its data, so one request can parse it on a blocking
/// thread and then read its sender, render it, list or extract its parts without parsing
/// again (a 10 MB message takes a noticeable time to parse).
pub struct ParsedMessage {
    message: mail_parser::Message<'static>,
}

impl fmt::Debug for ParsedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedMessage")
            .field("parts", &self.message.parts.len())
            .finish_non_exhaustive()
    }
}

impl ParsedMessage {
    /// Parses `raw` (best-effort; see [`MimeError`] for what is refused). CPU-bound and
    /// linear in the size: callers on the async runtime run it with `spawn_blocking`.
    pub fn parse(raw: &[u8]) -> Result<ParsedMessage, MimeError> {
        let message = parse::parse_message(raw)?.into_owned();
        Ok(ParsedMessage { message })
    }

    /// The `From` addresses (usually one; empty without a `From`).
    pub fn sender_addresses(&self) -> Vec<Address> {
        parse::read_headers(&self.message).from
    }

    /// The decoded subject (empty without one).
    pub fn subject(&self) -> String {
        parse::read_headers(&self.message).subject
    }

    /// The body, as [`render_body`] describes it.
    pub fn render_body(&self, opts: &RenderOptions) -> RenderedBody {
        let rendered = self.render(opts);
        RenderedBody {
            html: rendered.html,
            has_remote_content: rendered.has_remote_content,
            too_large: rendered.too_large,
        }
    }

    /// What the message page shows around the body, and the body.
    pub fn view_and_body(&self, opts: &RenderOptions) -> (MessageView, RenderedBody) {
        let message = &self.message;
        let rendered = self.render(opts);
        let headers = parse::read_headers(message);
        let mut attachments = Vec::new();
        let hidden = |id: &PartId| rendered.used_parts.contains(&id.to_string());
        parse::list_attachments(message, &[], &hidden, &mut attachments);
        let has_html = message.html_body.iter().any(|&i| {
            message
                .parts
                .get(i as usize)
                .is_some_and(|p| p.is_text_html())
        });
        let view = MessageView {
            subject: headers.subject,
            from: headers.from,
            to: headers.to,
            cc: headers.cc,
            reply_to: headers.reply_to,
            date: headers.date,
            message_id: headers.message_id,
            in_reply_to: headers.in_reply_to,
            references: headers.references,
            mdn_to: headers.mdn_to,
            attachments,
            has_html,
        };
        let body = RenderedBody {
            html: rendered.html,
            has_remote_content: rendered.has_remote_content,
            too_large: rendered.too_large,
        };
        (view, body)
    }

    /// The page's view alone (the attachment list still leaves out the images the HTML
    /// body shows, which only rendering knows; the part prefix does not matter for that).
    pub fn view(&self) -> MessageView {
        self.view_and_body(&RenderOptions {
            allow_remote: false,
            part_url_prefix: "/",
            image_proxy: None,
            header_labels: HeaderLabels::ENGLISH,
        })
        .0
    }

    /// One part's content for download, or `None` when the id names no part or a
    /// multipart container.
    pub fn part(&self, id: &PartId) -> Option<PartContent> {
        let found = parse::find_part(&self.message, id.path())?;
        parse::part_content(found, id)
    }

    /// The filename a part is listed and downloaded under.
    pub fn part_filename(&self, id: &PartId) -> Option<String> {
        parse::find_part(&self.message, id.path()).map(|p| parse::filename_of(p, id))
    }

    fn render(&self, opts: &RenderOptions) -> render::Rendered {
        render::render_message(&self.message, &[], opts, 0, &mut render::Budget::default())
    }
}

/// Parses a raw message into what the message page shows around the body.
pub fn parse(raw: &[u8]) -> Result<MessageView, MimeError> {
    ParsedMessage::parse(raw).map(|m| m.view())
}

/// The body to show: the HTML part sanitized if there is one (multipart/alternative →
/// prefer HTML), else the text part escaped with links made clickable (`format=flowed`
/// undone), else empty. Images between text parts are shown; attached messages follow the
/// body with their own header block. Parts over the render caps (HTML size, nesting,
/// element count; text size) are left out and named in [`RenderedBody::too_large`].
pub fn render_body(raw: &[u8], opts: &RenderOptions) -> Result<RenderedBody, MimeError> {
    ParsedMessage::parse(raw).map(|m| m.render_body(opts))
}

/// [`parse`] and [`render_body`] in one pass, for the message page (parses once).
pub fn parse_and_render(
    raw: &[u8],
    opts: &RenderOptions,
) -> Result<(MessageView, RenderedBody), MimeError> {
    ParsedMessage::parse(raw).map(|m| m.view_and_body(opts))
}

/// The `From` addresses alone, without rendering anything: lets the web layer look the
/// sender up (e.g. in the trusted senders) before it decides how to render the body.
/// Empty when the message cannot be parsed or has no `From`.
pub fn sender_addresses(raw: &[u8]) -> Vec<Address> {
    ParsedMessage::parse(raw)
        .map(|m| m.sender_addresses())
        .unwrap_or_default()
}

/// One part's content for download, or `None` when the id names no part or a multipart
/// container.
pub fn part(raw: &[u8], id: &PartId) -> Option<PartContent> {
    ParsedMessage::parse(raw).ok()?.part(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_id_round_trips_and_rejects_junk() {
        for ok in ["0", "3", "12", "3.1", "3.0.2"] {
            assert_eq!(
                ok.parse::<PartId>().map(|p| p.to_string()),
                Ok(ok.to_string())
            );
        }
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "01",
            "+1",
            "-1",
            "1..2",
            "a",
            "1/2",
            "1%2E2",
            "9999999999",
            "1.2.3.4.5.6.7.8.9",
            " 1",
            "1 ",
        ] {
            assert!(bad.parse::<PartId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_oversized_html_body_is_left_out_and_named() {
        let opts = RenderOptions {
            allow_remote: false,
            part_url_prefix: "/p/",
            image_proxy: None,
            header_labels: HeaderLabels::ENGLISH,
        };
        let big = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nshort text\r\n--b\r\n\
             Content-Type: text/html\r\n\r\n{}\r\n--b--\r\n",
            "<b>x</b>".repeat(render::MAX_HTML_BYTES / 8 + 1)
        );
        let parsed = ParsedMessage::parse(big.as_bytes()).unwrap();
        let body = parsed.render_body(&opts);
        assert!(body.html.contains("short text"), "{}", body.html);
        assert!(!body.html.contains("<b>"));
        assert_eq!(body.too_large, vec![PartId(vec![2])]);
        assert_eq!(
            parsed.part_filename(&PartId(vec![2])).as_deref(),
            Some("part-2.html")
        );
        let small = b"Content-Type: text/html\r\n\r\n<p>fine</p>";
        let body = render_body(small, &opts).unwrap();
        assert!(body.too_large.is_empty());
        assert!(body.html.contains("<p>fine</p>"));
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"   \r\n",
            b"\x00\x01\x02\xff\xfe",
            b"no headers at all",
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi",
            b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
        ];
        for raw in inputs {
            let _ = parse(raw);
            let _ = render_body(
                raw,
                &RenderOptions {
                    allow_remote: false,
                    part_url_prefix: "/p/",
                    image_proxy: None,
                    header_labels: HeaderLabels::ENGLISH,
                },
            );
            let _ = part(raw, &PartId(vec![0]));
            let _ = part(raw, &PartId(vec![0, 1, 2]));
        }
    }
}
