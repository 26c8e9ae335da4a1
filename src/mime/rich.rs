//! Rich text written in the compose editor: its HTML cleaned with the incoming-mail policy,
//! its plain-text twin, and plain text turned into editor HTML.
//!
//! The editor's HTML comes from a browser, which is to say from anyone: [`clean`] runs it
//! through [`super::sanitize`] (the same allowlist as a received message, not a second
//! sanitizer) with everything remote, relative or `cid:` refused, under the same size and
//! shape caps as a received HTML part. The text/plain part is always derived here from the
//! cleaned HTML ([`Rich::text`]), never taken from the form, so the two parts of a
//! `multipart/alternative` say the same thing. [`from_text`] goes the other way, for a
//! reply's quote, a forward or a plain draft opened in the editor.
//!
//! No I/O, and no HTTP: the caller decides what a refusal means to the user.

use std::collections::HashMap;

use super::{
    render::{MAX_HTML_BYTES, html_shape_ok},
    sanitize::{SanitizeContext, sanitize_html},
};

/// Most bytes of editor HTML accepted: the cap a received HTML part has.
pub const MAX_RICH_BYTES: usize = MAX_HTML_BYTES;

/// Why editor HTML was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RichError {
    /// Over [`MAX_RICH_BYTES`], or nested too deep or too many elements to sanitize cheaply.
    #[error("the formatted text is too large")]
    TooLarge,
}

/// Cleaned editor HTML and the plain text it reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rich {
    /// A sanitized HTML fragment (ammonia's output: well-formed).
    pub html: String,
    /// The same content as plain text: lists with `-`/`1.`, quotes with `> `, links as
    /// `text <url>`.
    pub text: String,
}

impl Rich {
    /// Nothing to read: no text and no picture (an editor the user emptied).
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && !self.html.contains("<img")
    }
}

/// Cleans editor HTML with the incoming-mail policy; refuses it over the caps.
pub fn clean(html: &str) -> Result<Rich, RichError> {
    if html.len() > MAX_RICH_BYTES || !html_shape_ok(html) {
        return Err(RichError::TooLarge);
    }
    // Control characters a paste may carry are invisible and would be refused in the text:
    // dropped before the sanitizer (never an edit of its output).
    let input: String = html
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect();
    let cleaned = sanitize_html(
        &input,
        SanitizeContext {
            // Nothing remote goes out from us: no proxy, no remote images, and no part or
            // `cid:` URLs (an empty prefix allows no relative URL at all).
            allow_remote: false,
            image_proxy: None,
            part_url_prefix: String::new(),
            cids: HashMap::new(),
        },
    );
    let text = to_text(&cleaned.html);
    Ok(Rich {
        html: cleaned.html,
        text,
    })
}

/// Plain text as editor HTML: a `div` per line (what the browser's editor writes itself),
/// `>`-quoted lines in nested `blockquote`s. Everything is escaped.
pub fn from_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0usize;
    for line in text.trim_end_matches('\n').split('\n') {
        let (level, rest) = quote_level(line);
        while depth < level {
            out.push_str("<blockquote>");
            depth += 1;
        }
        while depth > level {
            out.push_str("</blockquote>");
            depth -= 1;
        }
        if rest.is_empty() {
            out.push_str("<div><br></div>");
        } else {
            out.push_str("<div>");
            out.push_str(&html_escape::encode_text(rest));
            out.push_str("</div>");
        }
    }
    if depth > 0 {
        for _ in 0..depth {
            out.push_str("</blockquote>");
        }
        // A line below a closing quote, or whatever is typed at the end lands in the quote.
        out.push_str("<div><br></div>");
    }
    out
}

/// How many `>` a line is quoted with (`> > a` and `>> a` are both 2), and the rest.
fn quote_level(line: &str) -> (usize, &str) {
    let mut level = 0;
    let mut rest = line;
    while let Some(r) = rest.strip_prefix('>') {
        level += 1;
        rest = r.strip_prefix(' ').unwrap_or(r);
    }
    (level, rest)
}

/// Elements that start and end a line of their own.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "main",
    "nav",
    "p",
    "section",
    "summary",
    "table",
    "tr",
];

/// Where the text writer stands on its current line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Nothing written yet; the quote and indent prefix is still to come.
    Fresh,
    /// Only a list marker so far: a block opening here stays on this line.
    Marker,
    /// Text written.
    Text,
}

/// Turns sanitized HTML into text, one element at a time.
struct TextWriter {
    out: String,
    line: Line,
    quote: usize,
    /// Open lists: `None` for `ul`, the next number for `ol`.
    lists: Vec<Option<u32>>,
    pre: usize,
    /// A space is owed before the next word (whitespace collapsed outside `pre`).
    space: bool,
    /// Open links: where their text starts in `out`, and their target.
    links: Vec<(usize, String)>,
}

impl TextWriter {
    /// The start of a line: the quote marks, then the list indent.
    fn prefix(&mut self) {
        if self.line != Line::Fresh {
            return;
        }
        if self.quote > 0 {
            self.out.push_str(&">".repeat(self.quote));
            self.out.push(' ');
        }
        for _ in 1..self.lists.len() {
            self.out.push_str("   ");
        }
        self.line = Line::Marker;
    }

    fn newline(&mut self) {
        if self.line == Line::Fresh && self.quote > 0 {
            // An empty quoted line keeps its marks, so the quote stays one block.
            self.out.push_str(&">".repeat(self.quote));
        }
        // A line of quote marks and spaces alone ends without its trailing space.
        while self.out.ends_with(' ') && self.line != Line::Text {
            self.out.pop();
        }
        // The signature separator is `-- ` with its space (RFC 3676 §4.3), which collapsing
        // whitespace took away.
        if self.out.ends_with("\n--") || self.out == "--" {
            self.out.push(' ');
        }
        self.out.push('\n');
        self.line = Line::Fresh;
        self.space = false;
    }

    /// Ends the current line unless nothing (or only a marker) is on it.
    fn block(&mut self) {
        if self.line == Line::Text {
            self.newline();
        }
        self.space = false;
    }

    fn text(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        if self.pre > 0 {
            for (i, part) in decoded.split('\n').enumerate() {
                if i > 0 {
                    self.newline();
                }
                if !part.is_empty() {
                    self.prefix();
                    self.out.push_str(part);
                    self.line = Line::Text;
                }
            }
            return;
        }
        for (i, word) in decoded
            .split(|c: char| c.is_whitespace() && c != '\u{a0}')
            .enumerate()
        {
            if i > 0 {
                self.space = true;
            }
            if word.is_empty() {
                continue;
            }
            self.prefix();
            if self.space && self.line == Line::Text {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push_str(word);
            self.line = Line::Text;
        }
    }

    fn open(&mut self, name: &str, tag: &str) {
        match name {
            "br" => self.newline(),
            "hr" => {
                self.block();
                self.prefix();
                self.out.push_str("----------");
                self.line = Line::Text;
                self.newline();
            }
            "blockquote" => {
                self.block();
                self.quote += 1;
            }
            "ul" => {
                self.block();
                self.lists.push(None);
            }
            "ol" => {
                self.block();
                let start = attribute(tag, "start")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(1);
                self.lists.push(Some(start));
            }
            "li" => {
                self.block();
                self.prefix();
                match self.lists.last_mut() {
                    Some(Some(n)) => {
                        self.out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => self.out.push_str("- "),
                }
                self.line = Line::Marker;
            }
            "pre" => {
                self.block();
                self.pre += 1;
            }
            // Cells of a row stay on its line, a tab apart.
            "td" | "th" if self.line == Line::Text => self.out.push('\t'),
            "a" => {
                let href = attribute(tag, "href").unwrap_or_default();
                self.links.push((self.out.len(), href));
            }
            "img" => {
                if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                    self.text(&format!("[{alt}]"));
                }
            }
            n if BLOCKS.contains(&n) => self.block(),
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        match name {
            "blockquote" => {
                self.block();
                self.quote = self.quote.saturating_sub(1);
            }
            "ul" | "ol" => {
                self.block();
                self.lists.pop();
            }
            "pre" => {
                self.block();
                self.pre = self.pre.saturating_sub(1);
            }
            "li" => self.block(),
            "p" => {
                // A paragraph is followed by an empty line.
                self.block();
                self.newline();
            }
            "a" => {
                if let Some((start, href)) = self.links.pop() {
                    let shown = self.out.get(start..).unwrap_or_default().trim();
                    let plain = href.strip_prefix("mailto:").unwrap_or(&href);
                    let same = shown == href || shown == plain || href.is_empty();
                    if !same {
                        self.out.push_str(&format!(" <{href}>"));
                        self.line = Line::Text;
                    }
                }
            }
            n if BLOCKS.contains(&n) => self.block(),
            _ => {}
        }
    }
}

/// Plain text from sanitized HTML (ammonia's output, so tags are well-formed, comments and
/// scripts gone, and the only entities are the serializer's). Trailing blank lines are
/// dropped.
fn to_text(html: &str) -> String {
    let mut w = TextWriter {
        out: String::with_capacity(html.len()),
        line: Line::Fresh,
        quote: 0,
        lists: Vec::new(),
        pre: 0,
        space: false,
        links: Vec::new(),
    };
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        w.text(&rest[..lt]);
        rest = &rest[lt..];
        // Sanitizer output closes every tag; anything else ends the text here.
        let Some(end) = tag_end(rest) else {
            rest = "";
            break;
        };
        // `<` and `>` are ASCII, so these are character boundaries.
        let tag = &rest[1..end - 1];
        rest = &rest[end..];
        let (closing, body) = match tag.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, tag),
        };
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if closing {
            w.close(&name);
        } else {
            w.open(&name, body);
        }
    }
    w.text(rest);
    let mut text = w.out;
    let kept = text.trim_end().len();
    text.truncate(kept);
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// Index just past the `>` that ends the tag at the start of `s`, skipping quoted
/// attribute values (where a `>` may stand).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a tag's text (`a href="…"`), entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().last();
        let after = &rest[i + name.len()..];
        rest = after;
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(value) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let (quote, value) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => value.find(q),
            None => value.find(char::is_whitespace),
        }
        .unwrap_or(value.len());
        return Some(decode_entities(&value[..end]));
    }
    None
}

/// Decodes the entities an HTML serializer writes (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&nbsp;`, numeric); anything else is left as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        clean(html).expect("clean").text
    }

    #[test]
    fn hostile_html_loses_scripts_handlers_remote_images_and_bad_links() {
        let r = clean(
            r#"<p onclick="x()">Hi <b>there</b><script>alert(1)</script>
            <img src="http://tracker.example/p.gif" onerror="alert(2)">
            <a href="javascript:alert(3)">bad</a> <a href="https://ok.example/">good</a>
            <img src="cid:logo@x"> <a href="/relative">rel</a>
            <style>body{}</style><iframe src="https://x.example"></iframe></p>"#,
        )
        .expect("clean");
        for banned in [
            "script",
            "alert",
            "onerror",
            "onclick",
            "tracker",
            "javascript",
            "cid:",
            "/relative",
            "style",
            "iframe",
        ] {
            assert!(!r.html.contains(banned), "{banned} in {}", r.html);
        }
        assert!(r.html.contains("<b>there</b>"), "{}", r.html);
        assert!(
            r.html.contains(r#"href="https://ok.example/""#),
            "{}",
            r.html
        );
        assert!(r.text.contains("Hi there"), "{}", r.text);
        assert!(r.text.contains("good <https://ok.example/>"), "{}", r.text);
    }

    #[test]
    fn lists_quotes_links_and_breaks_read_as_text() {
        assert_eq!(
            text(
                "<div>Hello <b>bold</b> &amp; <i>it</i></div><ul><li>one</li><li>two</li></ul><ol start=3><li>three</li><li>four</li></ol>"
            ),
            "Hello bold & it\n- one\n- two\n3. three\n4. four\n"
        );
        assert_eq!(
            text(
                "<div>Me</div><blockquote><div>You said</div><div><br></div><blockquote>deeper</blockquote></blockquote><div>end</div>"
            ),
            "Me\n> You said\n>\n>> deeper\nend\n"
        );
        assert_eq!(
            text(
                r#"<a href="mailto:a@b.example">a@b.example</a> and <a href="https://x.example/?a=1&amp;b=2">site</a>"#
            ),
            "a@b.example and site <https://x.example/?a=1&b=2>\n"
        );
        assert_eq!(text("<p>one</p><p>two<br>three</p>"), "one\n\ntwo\nthree\n");
        assert_eq!(
            text("<ul><li><div>in a div</div></li></ul>"),
            "- in a div\n"
        );
        assert_eq!(text("<pre>a  b\n  c</pre>"), "a  b\n  c\n");
        assert_eq!(text("&lt;script&gt; is text"), "<script> is text\n");
    }

    #[test]
    fn text_round_trips_through_the_editor_html() {
        let t = "Hi,\n\n-- \nAlice\nOn Monday, Bob wrote:\n> first <b>\n>\n>> older\n";
        let html = from_text(t);
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert_eq!(html.matches("<blockquote>").count(), 2, "{html}");
        assert!(
            html.ends_with("</blockquote><div><br></div>"),
            "room below the quote: {html}"
        );
        let back = clean(&html).expect("clean").text;
        assert_eq!(
            back,
            "Hi,\n\n-- \nAlice\nOn Monday, Bob wrote:\n> first <b>\n>\n>> older\n"
        );
    }

    #[test]
    fn oversized_or_too_deep_html_is_refused_before_sanitizing() {
        let big = "a".repeat(MAX_RICH_BYTES + 1);
        assert_eq!(clean(&big), Err(RichError::TooLarge));
        let deep = "<span>".repeat(10_000);
        assert_eq!(clean(&deep), Err(RichError::TooLarge));
        assert!(clean("<div><br></div>").expect("clean").is_empty());
        assert!(!clean("x").expect("clean").is_empty());
    }
}
