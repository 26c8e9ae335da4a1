//! Message lists: page arithmetic, SORT commands and their replies, and turning FETCH
//! data into [`MessageSummary`]s.
//!
//! Pure functions only, so the fiddly parts (ESEARCH sequence sets, RFC 2047 subjects,
//! BODYSTRUCTURE walking) are unit-tested without a server. The round trips are in
//! `mod.rs`.

use async_imap::{
    imap_proto::{self, BodyStructure},
    types::{Fetch, Flag},
};
use chrono::{DateTime, FixedOffset};
use mail_parser::MessageParser;

use super::{MessageSummary, SortKey};
use crate::model::Address;

/// Largest page we serve, whatever the caller asks for.
pub const MAX_PER_PAGE: u32 = 500;

/// Which slice of the sorted folder a page covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The page actually served: the request clamped to `1..=pages`.
    pub page: u32,
    /// Number of pages, at least 1.
    pub pages: u32,
    /// 0-based position of the first message of the page in sort order.
    pub start: u32,
    /// Messages on this page.
    pub len: u32,
}

impl Window {
    /// Pages are 1-based; a page past the end shows the last one (for example after
    /// messages were deleted); an empty folder has one empty page.
    pub fn new(total: u32, page: u32, per_page: u32) -> Window {
        let per = per_page.clamp(1, MAX_PER_PAGE);
        let pages = total.div_ceil(per).max(1);
        let page = page.clamp(1, pages);
        let start = (page - 1) * per;
        Window {
            page,
            pages,
            start,
            len: per.min(total.saturating_sub(start)),
        }
    }

    /// The page as message sequence numbers, in display order, for arrival order.
    /// Sequence numbers are arrival order, so no SORT is needed.
    pub fn sequence_numbers(&self, total: u32, reverse: bool) -> Vec<u32> {
        let first = self.start + 1;
        let last = self.start + self.len;
        if reverse {
            // Newest first: position 1 is sequence number `total`.
            (first..=last).map(|pos| total + 1 - pos).collect()
        } else {
            (first..=last).collect()
        }
    }

    /// `PARTIAL` range for ESORT (1-based, inclusive); `None` for an empty page.
    pub fn partial_range(&self) -> Option<(u32, u32)> {
        (self.len > 0).then(|| (self.start + 1, self.start + self.len))
    }
}

/// The RFC 5256 sort criteria for a key. `display` is SORT=DISPLAY (RFC 5957), which
/// sorts by the sender's display name, the way people read the list.
pub fn sort_criteria(key: SortKey, reverse: bool, display: bool) -> &'static str {
    // Constants, so they go into a command as protocol syntax (`Cmd::atom`).
    match (key, reverse) {
        (SortKey::Date, false) => "(DATE)",
        (SortKey::Date, true) => "(REVERSE DATE)",
        (SortKey::Arrival, false) => "(ARRIVAL)",
        (SortKey::Arrival, true) => "(REVERSE ARRIVAL)",
        (SortKey::From, false) if display => "(DISPLAYFROM)",
        (SortKey::From, true) if display => "(REVERSE DISPLAYFROM)",
        (SortKey::From, false) => "(FROM)",
        (SortKey::From, true) => "(REVERSE FROM)",
        (SortKey::Subject, false) => "(SUBJECT)",
        (SortKey::Subject, true) => "(REVERSE SUBJECT)",
        (SortKey::Size, false) => "(SIZE)",
        (SortKey::Size, true) => "(REVERSE SIZE)",
    }
}

/// Compresses UIDs into a sequence set for UID FETCH (`1:3,7`), keeping it short.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            out.push_str(&format!("{}:{}", sorted[i], sorted[j]));
        } else {
            out.push_str(&sorted[i].to_string());
        }
        i = j + 1;
    }
    out
}

/// What we take from an `* ESEARCH` reply (RFC 4731, with PARTIAL from RFC 5267).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Esearch {
    /// The tag of the command this answers.
    pub tag: Option<String>,
    /// `COUNT n`, when asked for.
    pub count: Option<u32>,
    /// UIDs in sort order, from `PARTIAL (a:b set)` or `ALL set`.
    pub uids: Vec<u32>,
    /// `MIN n`, when asked for and something matched.
    pub min: Option<u32>,
    /// `MAX n`, likewise.
    pub max: Option<u32>,
}

/// Parses one `* ESEARCH ...` line; `None` if it is not one or is malformed.
/// `max_uids` bounds how many numbers a sequence set may expand to, so a hostile
/// `1:4294967295` cannot allocate gigabytes.
pub fn parse_esearch(line: &[u8], max_uids: usize) -> Option<Esearch> {
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let rest = strip_prefix_ci(line, "* ESEARCH")?;
    let mut tokens = Tokens { s: rest };
    let mut out = Esearch::default();
    while let Some(tok) = tokens.next()? {
        match tok {
            Token::List(inner) => {
                // The correlator: (TAG "A0001").
                let mut t = Tokens { s: inner };
                if let (Some(Token::Atom(k)), Some(Token::Quoted(v))) = (t.next()?, t.next()?)
                    && k.eq_ignore_ascii_case("TAG")
                {
                    out.tag = Some(v);
                }
            }
            Token::Atom(a) if a.eq_ignore_ascii_case("UID") => {}
            Token::Atom(name) => {
                let value = tokens.next()?;
                match (name.to_ascii_uppercase().as_str(), value) {
                    ("COUNT", Some(Token::Atom(n))) => out.count = Some(n.parse().ok()?),
                    ("ALL", Some(Token::Atom(set))) => out.uids = expand_set(set, max_uids)?,
                    ("PARTIAL", Some(Token::List(inner))) => {
                        let mut t = Tokens { s: inner };
                        let _range = t.next()?;
                        match t.next()? {
                            Some(Token::Atom(set)) if set.eq_ignore_ascii_case("NIL") => {}
                            Some(Token::Atom(set)) => out.uids = expand_set(set, max_uids)?,
                            _ => return None,
                        }
                    }
                    ("MIN", Some(Token::Atom(n))) => out.min = Some(n.parse().ok()?),
                    ("MAX", Some(Token::Atom(n))) => out.max = Some(n.parse().ok()?),
                    // MODSEQ and future items: a single value we do not need.
                    (_, Some(_)) => {}
                    (_, None) => return None,
                }
            }
            Token::Quoted(_) => return None,
        }
    }
    Some(out)
}

/// `s` without `prefix`, compared case-insensitively (IMAP keywords are).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Expands `9,13,18:19,4` in order. `a:b` with `a > b` runs downwards, as ESORT uses it
/// to keep sort order.
fn expand_set(set: &str, max: usize) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        let n = a.abs_diff(b) as usize + 1;
        if out.len() + n > max {
            return None;
        }
        if a <= b {
            out.extend(a..=b);
        } else {
            out.extend((b..=a).rev());
        }
    }
    Some(out)
}

/// A piece of an ESEARCH line.
enum Token<'a> {
    /// A number, keyword or sequence set.
    Atom(&'a str),
    /// A quoted string, unescaped.
    Quoted(String),
    /// The inside of a parenthesised list (not nested further in ESEARCH).
    List(&'a str),
}

/// A tiny tokenizer over the rest of an ESEARCH line.
struct Tokens<'a> {
    /// What is left to read.
    s: &'a str,
}

impl<'a> Tokens<'a> {
    /// The next token; `Ok(None)` at the end, `None` (as an error) on bad syntax.
    #[allow(clippy::should_implement_trait)]
    fn next(&mut self) -> Option<Option<Token<'a>>> {
        self.s = self.s.trim_start_matches(' ');
        let s = self.s;
        let Some(first) = s.chars().next() else {
            return Some(None);
        };
        match first {
            '(' => {
                let close = s.find(')')?;
                self.s = &s[close + 1..];
                Some(Some(Token::List(&s[1..close])))
            }
            '"' => {
                let mut value = String::new();
                let mut chars = s[1..].char_indices();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.push(chars.next()?.1),
                        '"' => {
                            self.s = &s[i + 2..];
                            return Some(Some(Token::Quoted(value)));
                        }
                        c => value.push(c),
                    }
                }
                None
            }
            _ => {
                let end = s.find([' ', '(', ')']).unwrap_or(s.len());
                if end == 0 {
                    return None;
                }
                self.s = &s[end..];
                Some(Some(Token::Atom(&s[..end])))
            }
        }
    }
}

/// Builds a summary from a FETCH of `(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE
/// BODYSTRUCTURE)`; `None` for responses that are not that (unsolicited flag updates).
pub fn summary(f: &Fetch) -> Option<MessageSummary> {
    let uid = f.uid?;
    let env = f.envelope()?;
    let from = env.from.iter().flatten().find_map(address);
    let to = env.to.iter().flatten().filter_map(address).collect();
    let subject = env.subject.as_deref().map(decode_text).unwrap_or_default();
    let date = env
        .date
        .as_deref()
        .and_then(parse_date)
        .or_else(|| f.internal_date());
    let (mut seen, mut flagged, mut answered) = (false, false, false);
    let mut keywords = Vec::new();
    for flag in f.flags() {
        match flag {
            Flag::Seen => seen = true,
            Flag::Flagged => flagged = true,
            Flag::Answered => answered = true,
            Flag::Custom(k) => keywords.push(k.to_string()),
            _ => {}
        }
    }
    Some(MessageSummary {
        uid,
        from,
        to,
        subject,
        date,
        size: f.size.unwrap_or(0),
        seen,
        flagged,
        answered,
        has_attachment: f.bodystructure().is_some_and(has_attachment),
        labels: super::labels::labels_in(keywords.iter().map(String::as_str)),
        preview: String::new(),
    })
}

/// An ENVELOPE address; group markers (RFC 3501: no host) are skipped.
fn address(a: &imap_proto::Address<'_>) -> Option<Address> {
    let mailbox = a.mailbox.as_deref()?;
    let host = a.host.as_deref()?;
    let email = format!(
        "{}@{}",
        String::from_utf8_lossy(mailbox),
        String::from_utf8_lossy(host)
    );
    let name = a
        .name
        .as_deref()
        .map(decode_text)
        .filter(|n| !n.trim().is_empty());
    Some(Address { name, email })
}

/// Decodes RFC 2047 encoded words (and raw 8-bit UTF-8) in an ENVELOPE string.
///
/// ENVELOPE strings are the raw header bytes; we let mail-parser decode them as the
/// value of an unstructured header. CR and LF are turned into spaces first, so a
/// string cannot end our one-line header early and smuggle in another.
pub fn decode_text(raw: &[u8]) -> String {
    if raw.is_empty() {
        return String::new();
    }
    let mut header = Vec::with_capacity(raw.len() + 16);
    header.extend_from_slice(b"Subject: ");
    header.extend(
        raw.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    header.extend_from_slice(b"\r\n\r\n");
    MessageParser::new()
        .parse_headers(&header)
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(raw).trim().to_owned())
}

/// Parses an RFC 5322 Date header value; `None` if it is missing or nonsense.
pub fn parse_date(raw: &[u8]) -> Option<DateTime<FixedOffset>> {
    let mut header = Vec::with_capacity(raw.len() + 16);
    header.extend_from_slice(b"Date: ");
    header.extend(
        raw.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    header.extend_from_slice(b"\r\n\r\n");
    let msg = MessageParser::new().parse_headers(&header)?;
    let d = msg.date()?;
    if !d.is_valid() {
        return None;
    }
    let secs = (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    let offset = FixedOffset::east_opt(secs)?;
    Some(DateTime::from_timestamp(d.to_timestamp(), 0)?.with_timezone(&offset))
}

/// Whether a message has something a reader would call an attachment.
///
/// Signatures are not attachments; parts after the first in `multipart/related` are
/// the body's inline images unless explicitly marked `attachment`; an attached message
/// (`message/rfc822`) is one; encrypted bodies are opaque, so we do not guess.
pub fn has_attachment(bs: &BodyStructure<'_>) -> bool {
    match bs {
        BodyStructure::Multipart { common, bodies, .. } => {
            let sub = common.ty.subtype.to_ascii_lowercase();
            if sub == "encrypted" {
                return false;
            }
            bodies.iter().enumerate().any(|(i, b)| {
                if sub == "related" && i > 0 {
                    disposition(b) == Some("attachment")
                } else {
                    has_attachment(b)
                }
            })
        }
        BodyStructure::Message { .. } => true,
        BodyStructure::Text { common, .. } => match disposition(bs) {
            Some("attachment") => true,
            Some("inline") => false,
            // A named text part (an attached .txt or .csv) without a disposition.
            _ => has_filename(common),
        },
        BodyStructure::Basic { common, .. } => {
            let ty = format!("{}/{}", common.ty.ty, common.ty.subtype).to_ascii_lowercase();
            if matches!(
                ty.as_str(),
                "application/pgp-signature"
                    | "application/pkcs7-signature"
                    | "application/x-pkcs7-signature"
                    | "application/pgp-keys"
            ) {
                return false;
            }
            match disposition(bs) {
                Some("inline") => has_filename(common),
                _ => true,
            }
        }
    }
}

/// The fields every kind of body part has.
fn common<'a, 'b>(bs: &'a BodyStructure<'b>) -> &'a imap_proto::BodyContentCommon<'b> {
    match bs {
        BodyStructure::Basic { common, .. }
        | BodyStructure::Text { common, .. }
        | BodyStructure::Message { common, .. }
        | BodyStructure::Multipart { common, .. } => common,
    }
}

/// The disposition type, lower-cased to `"attachment"` / `"inline"` (others as-is).
fn disposition(bs: &BodyStructure<'_>) -> Option<&'static str> {
    let d = common(bs).disposition.as_ref()?;
    if d.ty.eq_ignore_ascii_case("attachment") {
        Some("attachment")
    } else if d.ty.eq_ignore_ascii_case("inline") {
        Some("inline")
    } else {
        Some("other")
    }
}

/// Whether the part is named (Content-Type `name` or Content-Disposition `filename`).
fn has_filename(c: &imap_proto::BodyContentCommon<'_>) -> bool {
    let named = |params: &imap_proto::BodyParams<'_>, key: &str| {
        params
            .iter()
            .flatten()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
    };
    named(&c.ty.params, "name")
        || c.disposition
            .as_ref()
            .is_some_and(|d| named(&d.params, "filename"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_clamp_and_cover_the_folder() {
        assert_eq!(
            Window::new(0, 1, 50),
            Window {
                page: 1,
                pages: 1,
                start: 0,
                len: 0
            }
        );
        assert_eq!(
            Window::new(120, 3, 50),
            Window {
                page: 3,
                pages: 3,
                start: 100,
                len: 20
            }
        );
        // Past the end: the last page. Page 0: the first.
        assert_eq!(Window::new(120, 9, 50).page, 3);
        assert_eq!(Window::new(120, 0, 50).page, 1);
        assert_eq!(
            Window::new(100, 2, 50),
            Window {
                page: 2,
                pages: 2,
                start: 50,
                len: 50
            }
        );
        // per_page 0 cannot divide by zero.
        assert_eq!(Window::new(3, 1, 0).pages, 3);
        // No overflow at the extremes: the last page ends exactly at the last message.
        let huge = Window::new(u32::MAX, u32::MAX, u32::MAX);
        assert_eq!((huge.page, huge.start + huge.len), (huge.pages, u32::MAX));
    }

    #[test]
    fn sequence_numbers_for_arrival_order() {
        let w = Window::new(120, 1, 50);
        assert_eq!(w.sequence_numbers(120, true)[..3], [120, 119, 118]);
        assert_eq!(*w.sequence_numbers(120, true).last().unwrap(), 71);
        let w = Window::new(120, 3, 50);
        assert_eq!(
            w.sequence_numbers(120, true),
            (1..=20).rev().collect::<Vec<_>>()
        );
        assert_eq!(
            w.sequence_numbers(120, false),
            (101..=120).collect::<Vec<_>>()
        );
        assert_eq!(w.partial_range(), Some((101, 120)));
        assert_eq!(Window::new(0, 1, 50).partial_range(), None);
    }

    #[test]
    fn sort_criteria_and_uid_sets() {
        assert_eq!(sort_criteria(SortKey::Date, true, true), "(REVERSE DATE)");
        assert_eq!(sort_criteria(SortKey::From, false, true), "(DISPLAYFROM)");
        assert_eq!(sort_criteria(SortKey::From, false, false), "(FROM)");
        assert_eq!(sort_criteria(SortKey::Size, true, false), "(REVERSE SIZE)");
        assert_eq!(uid_set(&[9, 13, 18, 19, 4, 20, 5]), "4:5,9,13,18:20");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn esearch_replies_from_dovecot() {
        let e = parse_esearch(
            b"* ESEARCH (TAG \"A0003\") UID PARTIAL (1:5 9,13,18:19,4)\r\n",
            100,
        )
        .unwrap();
        assert_eq!(e.tag.as_deref(), Some("A0003"));
        assert_eq!(e.uids, [9, 13, 18, 19, 4]);
        let e = parse_esearch(b"* ESEARCH (TAG \"A5\") UID COUNT 20", 100).unwrap();
        assert_eq!(e.count, Some(20));
        let e = parse_esearch(b"* ESEARCH (TAG \"A6\") UID ALL 9,13,18:19,7:5", 100).unwrap();
        assert_eq!(e.uids, [9, 13, 18, 19, 7, 6, 5]);
        let e = parse_esearch(b"* ESEARCH (TAG \"A9\") UID PARTIAL (51:100 NIL)", 100).unwrap();
        assert!(e.uids.is_empty());
        let e = parse_esearch(b"* esearch (tag \"x\") uid min 3 max 9 count 2", 100).unwrap();
        assert_eq!((e.count, e.min, e.max), (Some(2), Some(3), Some(9)));
        let e = parse_esearch(b"* ESEARCH (TAG \"A7\")", 100).unwrap();
        assert_eq!(
            e,
            Esearch {
                tag: Some("A7".into()),
                ..Esearch::default()
            }
        );
    }

    #[test]
    fn esearch_rejects_garbage_and_huge_sets() {
        assert!(parse_esearch(b"* SORT 1 2 3", 100).is_none());
        assert!(parse_esearch(b"* ESEARCH (TAG \"A1\") UID ALL 1:4294967295", 1000).is_none());
        assert!(parse_esearch(b"* ESEARCH (TAG \"A1\") UID ALL 1:x", 1000).is_none());
        assert!(parse_esearch(b"* ESEARCH (TAG \"A1) UID", 1000).is_none());
        assert!(parse_esearch(b"* ESEARCH (TAG \"A1\") UID COUNT", 1000).is_none());
    }

    #[test]
    fn envelope_text_is_decoded() {
        assert_eq!(decode_text(b"=?UTF-8?B?5Lit5paH?= msg 0"), "中文 msg 0");
        assert_eq!(decode_text(b"=?UTF-8?Q?J=C3=B6rg?="), "Jörg");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?caf=E9?="), "café");
        assert_eq!(decode_text("plain ünïcode".as_bytes()), "plain ünïcode");
        assert_eq!(decode_text(b""), "");
        // No header smuggling: CR/LF become spaces.
        assert_eq!(decode_text(b"a\r\nBcc: x"), "a  Bcc: x");
    }

    #[test]
    fn dates_parse_with_their_offset() {
        let d = parse_date(b"Sun, 18 Oct 2026 18:25:56 -0500").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-10-18T18:25:56-05:00");
        let d = parse_date(b"Mon, 17 Aug 2026 20:55:24 +0530").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-08-17T20:55:24+05:30");
        assert!(parse_date(b"not a date").is_none());
        assert!(parse_date(b"").is_none());
    }

    /// Parses `* 1 FETCH (BODYSTRUCTURE <bs>)` with imap-proto, as a server would send it.
    fn attachment(bs: &str) -> bool {
        use async_imap::imap_proto::{AttributeValue, Response};
        let line = format!("* 1 FETCH (BODYSTRUCTURE {bs})\r\n");
        let (_, resp) = Response::parse(line.as_bytes()).expect("valid BODYSTRUCTURE");
        match resp {
            Response::Fetch(_, attrs) => attrs
                .iter()
                .find_map(|a| match a {
                    AttributeValue::BodyStructure(b) => Some(has_attachment(b)),
                    _ => None,
                })
                .expect("a BODYSTRUCTURE"),
            other => panic!("{other:?}"),
        }
    }

    const TEXT: &str =
        r#"("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)"#;
    const HTML: &str = r#"("text" "html" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)"#;
    const PDF: &str = r#"("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 100 NIL ("attachment" ("filename" "a.pdf")) NIL NIL)"#;
    const PNG_CID: &str = r#"("image" "png" ("name" "logo.png") "<logo@x>" NIL "base64" 100 NIL ("inline" ("filename" "logo.png")) NIL NIL)"#;
    const SIG: &str = r#"("application" "pgp-signature" ("name" "signature.asc") NIL NIL "7bit" 100 NIL ("attachment" ("filename" "signature.asc")) NIL NIL)"#;

    #[test]
    fn attachments_from_bodystructure() {
        assert!(!attachment(TEXT));
        assert!(!attachment(&format!(
            r#"({TEXT}{HTML} "alternative" ("boundary" "b") NIL NIL NIL)"#
        )));
        assert!(attachment(&format!(
            r#"({TEXT}{PDF} "mixed" ("boundary" "b") NIL NIL NIL)"#
        )));
        // A single-part PDF is all attachment.
        assert!(attachment(PDF));
        // Inline images of an HTML body are not attachments.
        assert!(!attachment(&format!(
            r#"({HTML}{PNG_CID} "related" ("boundary" "b") NIL NIL NIL)"#
        )));
        // A signature is not one either.
        assert!(!attachment(&format!(
            r#"({TEXT}{SIG} "signed" ("boundary" "b") NIL NIL NIL)"#
        )));
        // A named text part (an attached .csv).
        let csv = r#"("text" "csv" ("name" "data.csv") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)"#;
        assert!(attachment(&format!(
            r#"({TEXT}{csv} "mixed" ("boundary" "b") NIL NIL NIL)"#
        )));
    }
}
