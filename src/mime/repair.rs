//! Repairs damage that real mail carries before mail-parser sees it, so a message reads the
//! way Thunderbird, Python's `email` package, MimeKit and Dovecot read it.
//!
//! mail-parser 0.11 (we cannot move to 1.x, crates.md) loses structure on a few common kinds
//! of damage. Rather than patch its output, this file walks the MIME tree itself and rewrites
//! the raw bytes into an equivalent, well-formed message:
//!
//! - a `Content-Type`/`Content-Disposition` parameter folded right after its `=`
//!   (`boundary=⏎ "x"`, Outlook's `name=⏎ "report.pdf"`) is unfolded onto one line;
//! - a syntactically invalid `Content-Type` becomes `text/plain` (RFC 2045 §5.2), keeping
//!   its parameters (the charset still applies);
//! - a part whose body starts right after its headers, with no blank line, gets one;
//! - a multipart that never closes gets its closing delimiter;
//! - a body in `x-uuencode`, in base64 with junk characters, stray blank lines or wrong
//!   padding, or in quoted-printable with invalid escapes is decoded leniently here and
//!   re-encoded as clean base64, which mail-parser then decodes like any other part.
//!
//! It only reads and builds bytes (no I/O). Nothing is changed in a well-formed message:
//! [`repair`] returns `None` and the original bytes are parsed as they are. The raw
//! message the user downloads (`/raw`) is always the original.

use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};

/// Deepest nesting of multiparts and attached messages walked; deeper parts are left as
/// mail-parser reads them.
const MAX_DEPTH: usize = 12;

/// Most parts walked in one message, so hostile input cannot make the walk expensive.
const MAX_PARTS: usize = 5_000;

/// Base64 line length when a body is re-encoded (RFC 2045 §6.8).
const BASE64_LINE: usize = 76;

/// A well-formed copy of `raw`, or `None` when there is nothing to repair.
pub(crate) fn repair(raw: &[u8]) -> Option<Vec<u8>> {
    let eol: &'static [u8] = match raw.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && raw.get(i - 1) == Some(&b'\r') => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    };
    let mut walk = Walk {
        raw,
        eol,
        edits: Vec::new(),
        parts: 0,
    };
    walk.entity(0, raw.len(), Default::Text, 0);
    if walk.edits.is_empty() {
        return None;
    }
    // Edits never overlap; two at one offset (an inserted blank line before a rewritten
    // body, an inner closing delimiter before an outer one) keep the order they were made in.
    walk.edits.sort_by_key(|e| e.start);
    let mut out = Vec::with_capacity(raw.len() + 256);
    let mut pos = 0;
    for edit in walk.edits {
        if edit.start < pos {
            // Cannot happen by construction; never produce garbled output if it does.
            return None;
        }
        out.extend_from_slice(raw.get(pos..edit.start)?);
        out.extend_from_slice(&edit.text);
        pos = edit.end;
    }
    out.extend_from_slice(raw.get(pos..)?);
    Some(out)
}

/// Replace `raw[start..end]` with `text` (an insertion when `start == end`).
struct Edit {
    start: usize,
    end: usize,
    text: Vec<u8>,
}

/// The type a part has when it says nothing (RFC 2046 §5.1.5: parts of a digest are
/// messages).
#[derive(Clone, Copy, PartialEq)]
enum Default {
    Text,
    Message,
}

/// One header field of a part: where it is (all its lines, line ending included) and its
/// value unfolded.
struct Field {
    name: Vec<u8>,
    start: usize,
    end: usize,
    value: Vec<u8>,
    folded: bool,
}

struct Walk<'a> {
    raw: &'a [u8],
    eol: &'static [u8],
    edits: Vec<Edit>,
    parts: usize,
}

impl<'a> Walk<'a> {
    /// The line starting at `pos` (within `end`): where its content ends and where the
    /// next line starts.
    fn line(&self, pos: usize, end: usize) -> (usize, usize) {
        let rest = self.raw.get(pos..end).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let content_end = if i > 0 && rest.get(i - 1) == Some(&b'\r') {
                    pos + i - 1
                } else {
                    pos + i
                };
                (content_end, pos + i + 1)
            }
            None => (end, end),
        }
    }

    fn bytes(&self, start: usize, end: usize) -> &'a [u8] {
        self.raw.get(start..end).unwrap_or_default()
    }

    /// Walks one entity (a message or a body part) in `raw[start..end]`.
    fn entity(&mut self, start: usize, end: usize, default: Default, depth: usize) {
        self.parts += 1;
        if depth > MAX_DEPTH || self.parts > MAX_PARTS || start >= end {
            return;
        }
        let (fields, body_start) = self.headers(start, end);
        let last = |name: &[u8]| {
            // mail-parser reads the last instance of a MIME header; so do we.
            fields
                .iter()
                .rev()
                .find(|f| f.name.eq_ignore_ascii_case(name))
        };
        let content_type = last(b"content-type").map(|f| self.fix_content_type(f));
        if let Some(disposition) = last(b"content-disposition") {
            self.fix_parameters(disposition, b"Content-Disposition");
        }
        let encoding = last(b"content-transfer-encoding").map(|f| {
            (
                f,
                String::from_utf8_lossy(&f.value)
                    .trim()
                    .to_ascii_lowercase(),
            )
        });
        let (mime, boundary) = content_type.unwrap_or_else(|| {
            let mime = match default {
                Default::Text => "text/plain",
                Default::Message => "message/rfc822",
            };
            (mime.to_string(), None)
        });
        let encoded = encoding
            .as_ref()
            .is_some_and(|(_, e)| e == "base64" || e == "quoted-printable");

        if let Some(boundary) = boundary.filter(|_| mime.starts_with("multipart/")) {
            let child = if mime == "multipart/digest" {
                Default::Message
            } else {
                Default::Text
            };
            self.multipart(body_start, end, &boundary, child, depth);
            return;
        }
        if (mime == "message/rfc822" || mime == "message/global") && !encoded {
            self.entity(body_start, end, Default::Text, depth + 1);
            return;
        }
        if mime.starts_with("multipart/") || mime.starts_with("message/") {
            return;
        }
        let Some((field, encoding)) = encoding else {
            return;
        };
        self.fix_body(body_start, end, field, &encoding);
    }

    /// Reads the header block from `start`; returns the fields and where the body starts.
    /// A line that is neither a field nor a continuation ends the block early when the
    /// body evidently starts there (the blank line is missing), and a blank line is
    /// inserted before it.
    fn headers(&mut self, start: usize, end: usize) -> (Vec<Field>, usize) {
        let mut fields: Vec<Field> = Vec::new();
        let mut pos = start;
        // A header-like line found ahead by an earlier look (so stray lines before it need
        // no new look; keeps the walk linear on a block of stray lines).
        let mut field_ahead = start;
        while pos < end {
            let (content_end, next) = self.line(pos, end);
            let line = self.bytes(pos, content_end);
            if line.is_empty() {
                return (fields, next);
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                if let Some(field) = fields.last_mut() {
                    field.end = next;
                    field.value.extend_from_slice(line);
                    field.folded = true;
                    pos = next;
                    continue;
                }
            } else if let Some(colon) = field_name_end(line) {
                fields.push(Field {
                    name: line.get(..colon).unwrap_or_default().trim_ascii().to_vec(),
                    start: pos,
                    end: next,
                    value: line.get(colon + 1..).unwrap_or_default().to_vec(),
                    folded: false,
                });
                pos = next;
                continue;
            }
            // Not a header line. With headers before it and nothing header-like after it
            // (a base64 or plain body), this is where the body starts.
            if pos >= field_ahead {
                field_ahead = self.next_field_line(pos, end).unwrap_or(usize::MAX);
            }
            if !fields.is_empty() && field_ahead == usize::MAX {
                self.edits.push(Edit {
                    start: pos,
                    end: pos,
                    text: self.eol.to_vec(),
                });
                return (fields, pos);
            }
            // Otherwise let mail-parser decide what the stray line means.
            pos = next;
        }
        (fields, end)
    }

    /// Where the next line in `raw[pos..end]` that looks like a header field (or a MIME
    /// delimiter, which would mean the stray line was not a body) starts.
    fn next_field_line(&self, mut pos: usize, end: usize) -> Option<usize> {
        while pos < end {
            let (content_end, next) = self.line(pos, end);
            let line = self.bytes(pos, content_end);
            if field_name_end(line).is_some() || line.starts_with(b"--") {
                return Some(pos);
            }
            pos = next;
        }
        None
    }

    /// Checks a `Content-Type` field: an invalid type becomes `text/plain`, folded
    /// parameters are unfolded. Returns the effective `type/subtype` and boundary.
    fn fix_content_type(&mut self, field: &Field) -> (String, Option<String>) {
        let value = String::from_utf8_lossy(&field.value);
        let (type_part, params) = match value.find(';') {
            Some(i) => (
                value.get(..i).unwrap_or_default(),
                value.get(i..).unwrap_or_default(),
            ),
            None => (value.as_ref(), ""),
        };
        let cleaned = strip_comments(type_part);
        let cleaned = cleaned.trim();
        // `multipart/mixed boundary="x"` (the `;` forgotten) is read as a type with
        // parameters, as Thunderbird and Python read it, not as an invalid type.
        let (word, extra) = cleaned
            .split_once(char::is_whitespace)
            .unwrap_or((cleaned, ""));
        let mime = word.to_ascii_lowercase();
        let valid = mime
            .split_once('/')
            .is_some_and(|(t, s)| is_token(t) && is_token(s))
            && (extra.is_empty() || extra.contains('='));
        if mime.is_empty() {
            // No value at all: mail-parser applies the default, as RFC 2045 says.
            return ("text/plain".to_string(), None);
        }
        let (mime, params) = if valid {
            (mime, params.to_string())
        } else {
            // RFC 2045 §5.2: an invalid Content-Type means text/plain; the charset and
            // other parameters still apply.
            ("text/plain".to_string(), params.to_string())
        };
        let params = if valid && !extra.is_empty() {
            format!("; {}{params}", extra.trim())
        } else {
            params
        };
        let boundary = parameter(&params, "boundary");
        if !valid || !extra.is_empty() {
            let mut text = b"Content-Type: ".to_vec();
            text.extend_from_slice(mime.as_bytes());
            text.extend_from_slice(&normalize_parameters(params.as_bytes()));
            text.extend_from_slice(self.eol);
            self.edits.push(Edit {
                start: field.start,
                end: field.end,
                text,
            });
            return (mime, boundary.filter(|b| !b.is_empty()));
        }
        self.fix_parameters(field, b"Content-Type");
        (mime, boundary.filter(|b| !b.is_empty()))
    }

    /// Rewrites a folded field onto one line when a parameter was folded around its `=`,
    /// which mail-parser cannot read (`boundary=⏎ "x"` loses the whole structure).
    fn fix_parameters(&mut self, field: &Field, name: &[u8]) {
        if !field.folded {
            return;
        }
        let normalized = normalize_parameters(&field.value);
        let unchanged =
            normalized.trim_ascii() == strip_wsp_runs(&field.value).as_slice().trim_ascii();
        if unchanged {
            return;
        }
        let mut text = name.to_vec();
        text.extend_from_slice(b": ");
        text.extend_from_slice(normalized.trim_ascii());
        text.extend_from_slice(self.eol);
        self.edits.push(Edit {
            start: field.start,
            end: field.end,
            text,
        });
    }

    /// Walks the parts of a multipart body in `raw[start..end]`; appends the closing
    /// delimiter when it is missing.
    fn multipart(
        &mut self,
        start: usize,
        end: usize,
        boundary: &str,
        child: Default,
        depth: usize,
    ) {
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let mut part_start: Option<usize> = None;
        let mut prev_line_end = start;
        let mut pos = start;
        while pos < end {
            let (content_end, next) = self.line(pos, end);
            let line = self.bytes(pos, content_end);
            if let Some(rest) = line.strip_prefix(delimiter.as_slice()) {
                // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
                if let Some(s) = part_start {
                    self.entity(s, prev_line_end.max(s), child, depth + 1);
                }
                if rest.starts_with(b"--") {
                    return;
                }
                part_start = Some(next);
            }
            prev_line_end = content_end;
            pos = next;
        }
        let Some(s) = part_start else {
            // The boundary never appears: mail-parser shows the body as text.
            return;
        };
        self.entity(s, end, child, depth + 1);
        let mut text = Vec::new();
        if self.raw.get(..end).is_some_and(|r| !r.ends_with(b"\n")) {
            text.extend_from_slice(self.eol);
        }
        text.extend_from_slice(&delimiter);
        text.extend_from_slice(b"--");
        if end == self.raw.len() {
            text.extend_from_slice(self.eol);
        }
        self.edits.push(Edit {
            start: end,
            end,
            text,
        });
    }

    /// Re-encodes a leaf body as clean base64 when its transfer encoding is one
    /// mail-parser gets wrong (uuencode, damaged base64 or quoted-printable).
    fn fix_body(&mut self, start: usize, end: usize, field: &Field, encoding: &str) {
        // Trailing line breaks stay where they are (the last one belongs to a delimiter).
        let body = self.bytes(start, end);
        let trimmed = body.len()
            - body
                .iter()
                .rev()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let body_end = start + trimmed;
        let body = self.bytes(start, body_end);
        let (decoded, rewrite_header) = match encoding {
            "base64" if !is_clean_base64(body) && is_mostly_base64(body) => {
                (lenient_base64(body), false)
            }
            "quoted-printable" if has_invalid_qp(body) => (lenient_qp(body), true),
            "x-uuencode" | "uuencode" | "x-uue" | "uue" => match uudecode(body) {
                Some(decoded) => (decoded, true),
                None => return,
            },
            _ => return,
        };
        if rewrite_header {
            let mut text = b"Content-Transfer-Encoding: base64".to_vec();
            text.extend_from_slice(self.eol);
            self.edits.push(Edit {
                start: field.start,
                end: field.end,
                text,
            });
        }
        self.edits.push(Edit {
            start,
            end: body_end,
            text: base64_lines(&decoded, self.eol),
        });
    }
}

/// Where the field name of a header line ends (the colon), if the line is a field.
fn field_name_end(line: &[u8]) -> Option<usize> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?.trim_ascii_end();
    (!name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))).then_some(colon)
}

/// RFC 2045 token characters (no tspecials, space or controls).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (33..=126).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// Removes RFC 5322 comments (`(...)`, nesting allowed) from a header fragment.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Collapses runs of whitespace (the unfolded line breaks) outside quotes, for comparing.
fn strip_wsp_runs(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for &b in value {
        let wsp = matches!(b, b' ' | b'\t');
        if !in_quotes && wsp {
            if out.last().is_some_and(|&l| l != b' ') {
                out.push(b' ');
            }
            continue;
        }
        if in_quotes && !escaped && b == b'\\' {
            escaped = true;
        } else {
            if b == b'"' && !escaped {
                in_quotes = !in_quotes;
            }
            escaped = false;
        }
        out.push(b);
    }
    out
}

/// Parameters with no whitespace around `=` outside quotes, and whitespace runs collapsed.
fn normalize_parameters(value: &[u8]) -> Vec<u8> {
    let collapsed = strip_wsp_runs(value);
    let mut out: Vec<u8> = Vec::with_capacity(collapsed.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut iter = collapsed.iter().copied().peekable();
    while let Some(b) = iter.next() {
        if !in_quotes {
            if b == b' ' && iter.peek() == Some(&b'=') {
                continue;
            }
            if b == b' ' && out.last() == Some(&b'=') {
                continue;
            }
        }
        if in_quotes && !escaped && b == b'\\' {
            escaped = true;
        } else {
            if b == b'"' && !escaped {
                in_quotes = !in_quotes;
            }
            escaped = false;
        }
        out.push(b);
    }
    out
}

/// The value of parameter `name` in `; a=b; c="d"` (quotes removed), after normalising.
fn parameter(params: &str, name: &str) -> Option<String> {
    let normalized = normalize_parameters(params.as_bytes());
    let normalized = String::from_utf8_lossy(&normalized);
    let mut rest = normalized.as_ref();
    while let Some(i) = rest.find(';') {
        rest = rest.get(i + 1..)?;
        let (key, value) = rest.split_once('=')?;
        let value = value.trim_start();
        let (value, after) = if let Some(quoted) = value.strip_prefix('"') {
            let close = quoted.find('"').unwrap_or(quoted.len());
            (
                quoted.get(..close).unwrap_or_default(),
                quoted.get(close..).unwrap_or_default(),
            )
        } else {
            let stop = value.find(';').unwrap_or(value.len());
            (
                value.get(..stop).unwrap_or_default().trim(),
                value.get(stop..).unwrap_or_default(),
            )
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value.to_string());
        }
        rest = after;
    }
    None
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Base64 that mail-parser decodes completely: alphabet characters only, padding only at
/// the end, a whole number of quads, no blank line inside.
fn is_clean_base64(body: &[u8]) -> bool {
    let mut count = 0usize;
    let mut padding = false;
    let mut blank_seen = false;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            blank_seen = count > 0;
            continue;
        }
        if blank_seen || padding {
            return false;
        }
        for &b in line {
            if b == b'=' {
                padding = true;
            } else if padding || !is_base64_char(b) {
                return false;
            }
            count += 1;
        }
    }
    count.is_multiple_of(4)
}

/// Whether a damaged base64 body is still base64 with a little junk (at most one junk
/// character in nine), rather than text that was never encoded: that is better shown as it
/// is than decoded into noise.
fn is_mostly_base64(body: &[u8]) -> bool {
    let (mut valid, mut junk) = (0usize, 0usize);
    for &b in body {
        if is_base64_char(b) || b == b'=' {
            valid += 1;
        } else if !b.is_ascii_whitespace() {
            junk += 1;
        }
    }
    junk * 8 <= valid
}

/// Decodes whatever base64 there is: characters outside the alphabet (junk, line breaks,
/// padding in the wrong place) are skipped, and a final partial quad gives the bytes it
/// holds, as Python's and MimeKit's decoders do.
fn lenient_base64(body: &[u8]) -> Vec<u8> {
    let mut chars: Vec<u8> = body
        .iter()
        .copied()
        .filter(|&b| is_base64_char(b))
        .collect();
    if chars.len() % 4 == 1 {
        chars.pop();
    }
    let engine = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(&chars).unwrap_or_default()
}

/// Whether a quoted-printable body has an `=` that is neither an escape (`=XX`) nor a
/// soft line break.
fn has_invalid_qp(body: &[u8]) -> bool {
    body.iter().enumerate().any(|(i, &b)| {
        b == b'=' && {
            let rest = body.get(i + 1..).unwrap_or_default();
            let hex = rest.len() >= 2 && rest.iter().take(2).all(u8::is_ascii_hexdigit);
            let soft = rest
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t'))
                .is_none_or(|b| matches!(b, b'\r' | b'\n'));
            !hex && !soft
        }
    })
}

/// Decodes quoted-printable, keeping an `=` that starts no valid escape as it is (what
/// Python's `quopri` and Thunderbird show) instead of dropping text.
fn lenient_qp(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = body.get(i + 1..).unwrap_or_default();
        let hex = rest.get(..2).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        if let Some(byte) = hex {
            out.push(byte);
            i += 3;
            continue;
        }
        let spaces = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        match rest.get(spaces..).unwrap_or_default() {
            [] => i = body.len(),
            [b'\r', b'\n', ..] => i += 1 + spaces + 2,
            [b'\n', ..] => i += 1 + spaces + 1,
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

/// Decodes a uuencoded body (`begin 644 name` … `end`); `None` without a `begin` line.
/// Short lines are padded with zero bits rather than rejected.
fn uudecode(body: &[u8]) -> Option<Vec<u8>> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    lines.by_ref().find(|l| l.starts_with(b"begin "))?;
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for line in lines {
        if line.trim_ascii_end() == b"end" {
            break;
        }
        let Some((&first, data)) = line.split_first() else {
            continue;
        };
        let len = usize::from(first.wrapping_sub(b' ') & 63);
        if len == 0 {
            // The "`" line before "end".
            continue;
        }
        let sextet = |i: usize| data.get(i).map_or(0, |&c| c.wrapping_sub(b' ') & 63);
        let mut bytes = Vec::with_capacity(len + 2);
        for quad in 0..len.div_ceil(3) {
            let n = (0..4).fold(0u32, |acc, k| (acc << 6) | u32::from(sextet(quad * 4 + k)));
            bytes.extend_from_slice(&n.to_be_bytes()[1..]);
        }
        bytes.truncate(len);
        out.extend_from_slice(&bytes);
    }
    Some(out)
}

/// `bytes` as base64 in lines of [`BASE64_LINE`] characters.
fn base64_lines(bytes: &[u8], eol: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / BASE64_LINE * 2 + 2);
    for (i, chunk) in encoded.as_bytes().chunks(BASE64_LINE).enumerate() {
        if i > 0 {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(raw: &str) -> String {
        String::from_utf8(repair(raw.as_bytes()).expect("a repair")).expect("utf-8")
    }

    #[test]
    fn well_formed_messages_are_left_alone() {
        let raw = "From: a@b\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b1--\r\n";
        assert!(repair(raw.as_bytes()).is_none());
        assert!(repair(b"no headers at all").is_none());
        assert!(repair(b"").is_none());
    }

    #[test]
    fn unfolds_parameters_folded_after_the_equals_sign() {
        let out = fixed(
            "Content-Type: multipart/mixed;\r\n\tboundary=\r\n\t\"b 1\"\r\n\r\n--b 1\r\n\r\nx\r\n--b 1--\r\n",
        );
        assert!(
            out.starts_with("Content-Type: multipart/mixed; boundary=\"b 1\"\r\n\r\n"),
            "{out}"
        );
    }

    #[test]
    fn invalid_content_type_becomes_text_plain() {
        let out = fixed("Content-Type: text/html/x; charset=utf-8\r\n\r\n<b>x</b>");
        assert!(
            out.starts_with("Content-Type: text/plain; charset=utf-8\r\n"),
            "{out}"
        );
        assert!(repair(b"Content-Type: text/html (comment); charset=utf-8\r\n\r\nx").is_none());
        let out = fixed("Content-Type: image\r\n\r\nx");
        assert!(out.starts_with("Content-Type: text/plain\r\n\r\n"), "{out}");
        let out =
            fixed("Content-Type: multipart/mixed boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n");
        assert!(
            out.starts_with("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"),
            "{out}"
        );
    }

    #[test]
    fn closes_an_unclosed_multipart_and_adds_the_blank_line() {
        let out = fixed(
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\naGk=\n",
        );
        assert_eq!(
            out,
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n"
        );
    }

    #[test]
    fn stray_header_lines_are_walked_once() {
        // Quadratic work here would take minutes; linear work takes milliseconds.
        let mut raw = b"A: b\r\n".to_vec();
        raw.extend(b"stray\r\n".repeat(200_000));
        raw.extend_from_slice(b"B: c\r\n\r\nbody");
        assert!(repair(&raw).is_none());
    }

    #[test]
    fn lenient_decoders() {
        assert_eq!(lenient_base64(b"aGVs\r\n\r\nb*G8"), b"hello");
        assert_eq!(lenient_base64(b"aGVsbG8"), b"hello");
        assert_eq!(lenient_base64(b"aGVsbG8===="), b"hello");
        assert!(is_clean_base64(b"aGVsbG8=\r\n"));
        assert!(!is_clean_base64(b"aGVsbG8\r\n"));
        assert!(is_mostly_base64(b"aGVs*bG8=\r\n"));
        assert!(!is_mostly_base64(b"This is !!! not @@@ base64 ###"));
        assert_eq!(
            lenient_qp(b"100% =ZZ caf=C3=A9 =\r\nend = x =3"),
            "100% =ZZ café end = x =3".as_bytes()
        );
        assert!(has_invalid_qp(b"a =ZZ"));
        assert!(!has_invalid_qp(b"a=3D =\r\nb=  \r\n"));
        assert_eq!(
            uudecode(b"begin 644 a.txt\n%:&5L;&\\`\n`\nend\n").as_deref(),
            Some(b"hello".as_slice())
        );
    }
}
