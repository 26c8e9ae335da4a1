//! Choosing which parts make up the body and turning them into one HTML fragment.
//!
//! This file owns the "pick parts" and "render" steps of the pipeline: HTML preferred over
//! text in `multipart/alternative` (using mail-parser's RFC 8621 body lists), text parts
//! escaped and linkified (with `format=flowed` undone), inline raster images shown, and
//! attached `message/rfc822` messages rendered after the body with their own headers. HTML
//! cleaning itself is [`super::sanitize`]'s job; everything this file writes itself is
//! escaped with `html-escape`.

use std::collections::{HashMap, HashSet};

use linkify::{LinkFinder, LinkKind};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::{
    HeaderLabels, PartId, RenderOptions,
    parse::{
        Headers, content_id, filename_of, flowed_params, is_attachment_disposition,
        is_inline_safe_image, mime_type, read_headers,
    },
    sanitize::{SanitizeContext, sanitize_html},
};
use crate::model::Address;

/// How deep attached messages are rendered inline (mail-parser itself parses 3 levels).
const MAX_FORWARD_DEPTH: usize = 3;

/// Most HTML bytes one message may have sanitized (all its HTML parts together). ammonia
/// builds a DOM of the whole input: 15 MB of tags took seconds and gigabytes. Newsletters
/// are tens of kilobytes; what is over this is offered as a download instead.
pub(crate) const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Most elements one HTML part may open (a DOM node each), found by [`html_shape`].
pub(crate) const MAX_HTML_ELEMENTS: usize = 100_000;
/// Deepest element nesting an HTML part may have (the same order as Chromium's parser
/// limit, 512). The HTML parser walks the stack of open elements for many tags, so deep
/// nesting makes sanitizing quadratic; table layouts stay well under 100.
pub(crate) const MAX_HTML_DEPTH: usize = 512;
/// Most plain-text bytes one message may render (escaped and linkified).
pub(crate) const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// What one render may still spend: bytes of HTML to sanitize and of text to render,
/// shared by every part and attached message.
pub(crate) struct Budget {
    html_bytes: usize,
    text_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            html_bytes: MAX_HTML_BYTES,
            text_bytes: MAX_TEXT_BYTES,
        }
    }
}

impl Budget {
    /// Takes `html`'s size from the budget if it fits and is not too deep or too big a
    /// tree; `false` leaves it out.
    fn take_html(&mut self, html: &str) -> bool {
        if html.len() > self.html_bytes || !html_shape_ok(html) {
            return false;
        }
        self.html_bytes -= html.len();
        true
    }

    /// Takes `text`'s size from the budget if it fits.
    fn take_text(&mut self, text: &str) -> bool {
        self.take_text_len(text.len())
    }

    /// Takes `len` bytes of text from the budget if they fit.
    fn take_text_len(&mut self, len: usize) -> bool {
        if len > self.text_bytes {
            return false;
        }
        self.text_bytes -= len;
        true
    }
}

/// Whether `html` stays within [`MAX_HTML_DEPTH`] and [`MAX_HTML_ELEMENTS`], by a quick
/// scan of its tags (no parse; linear). Void elements and those whose end tag may be left
/// out (`p`, `li`, `td`…, closed by their next sibling) are not counted as nesting, so
/// sloppy but ordinary HTML passes; deliberately deep nesting does not.
pub(crate) fn html_shape_ok(html: &str) -> bool {
    const FLAT: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "option",
        "optgroup", "rb", "rt", "rp", "thead", "tbody", "tfoot", "colgroup", "caption", "html",
        "head", "body",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut elements, mut i) = (0usize, 0usize, 0usize);
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'<'))
    {
        i += offset + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let len = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'-'))
            .count();
        if len == 0 || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let name = &html[start..start + len];
        if FLAT.iter().any(|flat| flat.eq_ignore_ascii_case(name)) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        elements += 1;
        // `<x/>` closes itself (in foreign content; harmless to count it as closed).
        let end = bytes[start..].iter().position(|&c| c == b'>');
        let self_closing = end.is_some_and(|e| e > 0 && bytes[start + e - 1] == b'/');
        if !self_closing {
            depth += 1;
        }
        if depth > MAX_HTML_DEPTH || elements > MAX_HTML_ELEMENTS {
            return false;
        }
    }
    true
}

/// What rendering one message (and its inline attached messages) produced.
pub(crate) struct Rendered {
    pub html: String,
    pub has_remote_content: bool,
    /// Parts (as id strings) shown through `cid:` references; they are not listed as
    /// attachments.
    pub used_parts: HashSet<String>,
    /// Body parts left out because they were over the [`Budget`], to offer as downloads.
    pub too_large: Vec<PartId>,
}

/// Renders the body of `message`, whose parts live under `prefix` (empty for the top-level
/// message, the attached-message part's path for nested ones).
pub(crate) fn render_message(
    message: &Message<'_>,
    prefix: &[u32],
    opts: &RenderOptions,
    depth: usize,
    budget: &mut Budget,
) -> Rendered {
    let RenderOptions {
        allow_remote,
        image_proxy,
        part_url_prefix,
        header_labels: ref labels,
    } = *opts;
    let mut out = Rendered {
        html: String::new(),
        has_remote_content: false,
        used_parts: HashSet::new(),
        too_large: Vec::new(),
    };
    let cids = cid_map(message, prefix);

    // mail-parser fills `html_body` and `text_body` as RFC 8621 describes: in an
    // alternative the HTML version goes to the first, the text version to the second; in
    // mixed content both lists hold every inline part. Prefer the HTML list when it really
    // has HTML.
    let has_html = message.html_body.iter().any(|&i| {
        matches!(
            message.parts.get(i as usize).map(|p| &p.body),
            Some(PartType::Html(_))
        )
    });
    let body_list = if has_html {
        &message.html_body
    } else {
        &message.text_body
    };

    // Images are collected apart from the text so that an image the HTML already shows
    // through `cid:` is not shown a second time (mail-parser lists such an image among the
    // inline parts when it sits in a multipart/mixed).
    let mut pieces: Vec<(Option<String>, String)> = Vec::new();
    for &index in body_list {
        let Some(part) = message.parts.get(index as usize) else {
            continue;
        };
        let id = PartId::from_path(prefix, index);
        match &part.body {
            PartType::Html(html) if !budget.take_html(html) => out.too_large.push(id),
            PartType::Text(text) if !budget.take_text(text) => out.too_large.push(id),
            PartType::Html(html) => {
                let cleaned = sanitize_html(
                    html,
                    SanitizeContext {
                        allow_remote,
                        image_proxy: image_proxy.cloned(),
                        part_url_prefix: part_url_prefix.to_string(),
                        cids: cids.clone(),
                    },
                );
                out.has_remote_content |= cleaned.has_remote_content;
                out.used_parts.extend(cleaned.used_parts);
                pieces.push((
                    None,
                    format!("<div class=\"mr-html\">{}</div>", cleaned.html),
                ));
            }
            PartType::Text(text) => {
                let text = match flowed_params(part) {
                    Some(delsp) => unflow(text, delsp),
                    None => text.to_string(),
                };
                pieces.push((
                    None,
                    format!("<pre class=\"mr-plain\">{}</pre>", text_to_html(&text)),
                ));
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes)
                if is_inline_safe_image(&mime_type(part), bytes) =>
            {
                // An image placed between text parts (Apple Mail does this): show it where
                // it sits. It stays in the attachment list too.
                let img = format!(
                    "<div class=\"mr-inline-image\"><img src=\"{}\" alt=\"{}\"></div>",
                    html_escape::encode_double_quoted_attribute(&format!("{part_url_prefix}{id}")),
                    html_escape::encode_double_quoted_attribute(&filename_of(part, &id)),
                );
                pieces.push((Some(id.to_string()), img));
            }
            _ => {}
        }
    }
    if pieces.is_empty()
        && let Some((index, part)) = fallback_body(message)
    {
        // Nothing usable in the body lists (mail-parser demotes parts it could not decode,
        // e.g. bad base64, to attachments): show the first unnamed text part instead, and
        // leave it out of the attachment list.
        let id = PartId::from_path(prefix, index);
        let html = match &part.body {
            PartType::Html(html) if !budget.take_html(html) => {
                out.too_large.push(id.clone());
                String::new()
            }
            PartType::Text(text) if !budget.take_text(text) => {
                out.too_large.push(id.clone());
                String::new()
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes)
                if !budget.take_text_len(bytes.len()) =>
            {
                out.too_large.push(id.clone());
                String::new()
            }
            PartType::Html(html) => {
                let cleaned = sanitize_html(
                    html,
                    SanitizeContext {
                        allow_remote,
                        image_proxy: image_proxy.cloned(),
                        part_url_prefix: part_url_prefix.to_string(),
                        cids: cids.clone(),
                    },
                );
                out.has_remote_content |= cleaned.has_remote_content;
                out.used_parts.extend(cleaned.used_parts);
                format!("<div class=\"mr-html\">{}</div>", cleaned.html)
            }
            PartType::Text(text) => {
                format!("<pre class=\"mr-plain\">{}</pre>", text_to_html(text))
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => format!(
                "<pre class=\"mr-plain\">{}</pre>",
                text_to_html(&String::from_utf8_lossy(bytes))
            ),
            _ => String::new(),
        };
        out.used_parts.insert(id.to_string());
        pieces.push((None, html));
    }
    for (image_of, html) in pieces {
        if image_of.is_none_or(|id| !out.used_parts.contains(&id)) {
            out.html.push_str(&html);
        }
    }

    if depth < MAX_FORWARD_DEPTH {
        for &index in &message.attachments {
            let Some(part) = message.parts.get(index as usize) else {
                continue;
            };
            let PartType::Message(nested) = &part.body else {
                continue;
            };
            // RFC 2183: `attachment` means "don't show unless asked"; it stays downloadable.
            if is_attachment_disposition(part) {
                continue;
            }
            let id = PartId::from_path(prefix, index);
            let inner = render_message(nested, id.path(), opts, depth + 1, budget);
            out.has_remote_content |= inner.has_remote_content;
            out.used_parts.extend(inner.used_parts);
            out.too_large.extend(inner.too_large);
            out.html.push_str("<div class=\"mr-attached-message\">");
            out.html
                .push_str(&headers_block(&read_headers(nested), labels));
            out.html.push_str(&inner.html);
            out.html.push_str("</div>");
        }
    }
    out
}

/// The first attachment that is really an unnamed, undisposed text: a body the parser could
/// not classify. A leaf declared `multipart/*` (its boundary was missing) is raw text too.
fn fallback_body<'a, 'x>(message: &'a Message<'x>) -> Option<(u32, &'a MessagePart<'x>)> {
    message.attachments.iter().find_map(|&index| {
        let part = message.parts.get(index as usize)?;
        let is_text = match part.body {
            PartType::Text(_) | PartType::Html(_) => true,
            PartType::Binary(_) | PartType::InlineBinary(_) => mime_type(part) == "text/plain",
            _ => false,
        };
        (is_text && part.attachment_name().is_none() && !is_attachment_disposition(part))
            .then_some((index, part))
    })
}

/// Content-ID → part id string for every leaf part of `message` (nested messages have
/// their own map: a `cid:` refers to its own message).
fn cid_map(message: &Message<'_>, prefix: &[u32]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (index, part) in message.parts.iter().enumerate() {
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let (Some(cid), Ok(index)) = (content_id(part), u32::try_from(index)) else {
            continue;
        };
        if is_cid_target(part) {
            map.entry(cid)
                .or_insert_with(|| PartId::from_path(prefix, index).to_string());
        }
    }
    map
}

/// Only parts that can be an image source are worth mapping: binary parts.
fn is_cid_target(part: &MessagePart<'_>) -> bool {
    matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_))
}

/// The header table shown above an attached message (everything escaped).
fn headers_block(headers: &Headers, labels: &HeaderLabels) -> String {
    let mut rows = String::new();
    let mut row = |label: &str, value: String| {
        if !value.is_empty() {
            rows.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                html_escape::encode_text(label),
                html_escape::encode_text(&value)
            ));
        }
    };
    row(labels.from, format_addresses(&headers.from));
    row(labels.to, format_addresses(&headers.to));
    row(labels.cc, format_addresses(&headers.cc));
    row(
        labels.date,
        headers.date.map(|d| d.to_rfc2822()).unwrap_or_default(),
    );
    row(labels.subject, headers.subject.clone());
    format!("<table class=\"mr-attached-headers\">{rows}</table>")
}

/// `Name <email>, other@example.com`
fn format_addresses(list: &[Address]) -> String {
    list.iter()
        .map(|a| match &a.name {
            Some(name) => format!("{name} <{}>", a.email),
            None => a.email.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Escapes plain text for HTML and turns `http`, `https` and `mailto` URLs and bare email
/// addresses into links (opening in a new tab, without referrer). Line breaks are kept as
/// `\n`, so the caller puts the result in an element that preserves whitespace
/// (`render_body` uses `<pre class="mr-plain">`).
pub fn text_to_html(text: &str) -> String {
    let text: String = text
        .replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url, LinkKind::Email]);
    finder.url_must_have_scheme(true);
    // Work on (text, href) pieces so that a `mailto:` written just before an address can
    // join that address's link (linkify reports the address alone).
    let mut pieces: Vec<(&str, Option<String>)> = Vec::new();
    for span in finder.spans(&text) {
        let s = span.as_str();
        match span.kind() {
            Some(LinkKind::Url) if has_allowed_scheme(s) => pieces.push((s, Some(s.to_string()))),
            Some(LinkKind::Email) => {
                let mut shown = s;
                if let Some((prev, None)) = pieces.last_mut()
                    && let Some(split) = prev.len().checked_sub(7)
                    && prev
                        .get(split..)
                        .is_some_and(|t| t.eq_ignore_ascii_case("mailto:"))
                    && let (Some(head), Some(start)) =
                        (prev.get(..split), span.start().checked_sub(7))
                    && let Some(with_scheme) = text.get(start..span.end())
                {
                    *prev = head;
                    shown = with_scheme;
                }
                pieces.push((shown, Some(format!("mailto:{s}"))));
            }
            _ => pieces.push((s, None)),
        }
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (shown, href) in pieces {
        match href {
            Some(href) => {
                out.push_str("<a href=\"");
                out.push_str(&html_escape::encode_double_quoted_attribute(&href));
                out.push_str("\" rel=\"noopener noreferrer\" target=\"_blank\">");
                out.push_str(&html_escape::encode_text(shown));
                out.push_str("</a>");
            }
            None => out.push_str(&html_escape::encode_text(shown)),
        }
    }
    out
}

/// The strict link rule for text: only `http:`, `https:` and `mailto:`.
fn has_allowed_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Undoes RFC 3676 `format=flowed`: a line ending in a space continues on the next line
/// (at the same quote depth), space-stuffing is removed, and `-- ` stays a hard break.
/// Quoted lines come back with a normalized `> ` prefix.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: (quote depth, text so far).
    let mut current: Option<(usize, String)> = None;
    let flush = |out: &mut String, depth: usize, line: &str| {
        for _ in 0..depth {
            out.push('>');
        }
        if depth > 0 && !line.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    };
    for raw_line in text.split('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = line.get(depth..).unwrap_or_default();
        let content = content.strip_prefix(' ').unwrap_or(content);
        let is_flowed = content.ends_with(' ') && content != "-- ";
        if let Some((d, _)) = &current
            && *d != depth
            && let Some((d, para)) = current.take()
        {
            flush(&mut out, d, &para);
        }
        let piece = if is_flowed && delsp {
            content.strip_suffix(' ').unwrap_or(content)
        } else {
            content
        };
        match current.as_mut() {
            Some((_, para)) => para.push_str(piece),
            None => current = Some((depth, piece.to_string())),
        }
        if !is_flowed && let Some((d, para)) = current.take() {
            flush(&mut out, d, &para);
        }
    }
    if let Some((d, para)) = current.take() {
        flush(&mut out, d, &para);
    }
    // Every line was written with a newline. Without a final newline in the input, the
    // last one is ours; with one, `split` yielded a final empty line that added another.
    if !text.ends_with('\n') || out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_linked() {
        assert_eq!(
            text_to_html("a <b> & \"c\" https://example.com/x?a=1&b=2."),
            "a &lt;b&gt; &amp; \"c\" <a href=\"https://example.com/x?a=1&amp;b=2\" rel=\"noopener noreferrer\" target=\"_blank\">https://example.com/x?a=1&amp;b=2</a>."
        );
        assert_eq!(
            text_to_html("or MAILTO:me@example.com?x"),
            "or <a href=\"mailto:me@example.com\" rel=\"noopener noreferrer\" target=\"_blank\">MAILTO:me@example.com</a>?x"
        );
        assert_eq!(
            text_to_html("mail me: me@example.com"),
            "mail me: <a href=\"mailto:me@example.com\" rel=\"noopener noreferrer\" target=\"_blank\">me@example.com</a>"
        );
    }

    #[test]
    fn only_strict_schemes_are_linked() {
        for s in [
            "javascript://example.com/%0Aalert(1)",
            "ftp://example.com/file",
            "file:///etc/passwd",
            "data:text/html,<script>",
        ] {
            let out = text_to_html(s);
            assert!(!out.contains("<a"), "{s} → {out}");
        }
        assert!(!text_to_html("www.example.com").contains("<a"));
    }

    #[test]
    fn quotes_in_urls_cannot_break_the_attribute() {
        let out = text_to_html("https://example.com/\"onmouseover=alert(1)");
        assert!(!out.contains("\" onmouseover"), "{out}");
        let doc = scraper::Html::parse_fragment(&out);
        for el in doc.root_element().descendent_elements() {
            assert!(
                el.value().attrs().all(|(n, _)| !n.starts_with("on")),
                "{out}"
            );
        }
    }

    #[test]
    fn html_shape_caps_depth_and_elements() {
        let nested = |n: usize| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        assert!(html_shape_ok(&nested(MAX_HTML_DEPTH)));
        assert!(!html_shape_ok(&nested(MAX_HTML_DEPTH + 1)));
        // Closed siblings do not nest; void and optional-end elements never count.
        assert!(html_shape_ok(&"<div><b>x</b></div>".repeat(10_000)));
        assert!(html_shape_ok(
            &"<p>line<br><li>item<td>cell<img src=x>".repeat(20_000)
        ));
        assert!(html_shape_ok(&"<span/>".repeat(1000)));
        assert!(!html_shape_ok(&"<b>x</b>".repeat(MAX_HTML_ELEMENTS + 1)));
        // Not tags: text with `<`, comments, end tags without a start.
        assert!(html_shape_ok(&"a < b <3 <!-- c --> </div>".repeat(10_000)));
    }

    #[test]
    fn budget_is_shared_by_all_parts() {
        let mut budget = Budget::default();
        let half = "x".repeat(MAX_HTML_BYTES / 2);
        assert!(budget.take_html(&half));
        assert!(budget.take_html(&half));
        assert!(!budget.take_html("<p>one byte too many</p>"));
        assert!(!budget.take_html(&format!("{}x", "<div>".repeat(MAX_HTML_DEPTH + 1))));
        let text = "y".repeat(MAX_TEXT_BYTES);
        assert!(budget.take_text(&text));
        assert!(!budget.take_text("z"));
    }

    #[test]
    fn unflow_joins_soft_breaks() {
        assert_eq!(
            unflow(
                "Hello \r\nworld.\r\n> quoted \r\n> more\r\n-- \r\nsig\r\n",
                false
            ),
            "Hello world.\n> quoted more\n-- \nsig\n"
        );
        assert_eq!(unflow("abc \r\ndef", true), "abcdef");
        assert_eq!(unflow(" From me", false), "From me");
        assert_eq!(unflow("a \n>b", false), "a \n> b");
    }
}
