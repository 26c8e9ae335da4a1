//! vCard import and export for the address book (RFC 2426 vCard 3.0, RFC 6350 vCard 4.0,
//! and the older 2.1 that phones and Outlook still write).
//!
//! Import reads only what the address book keeps: a display name (`FN`, else built from
//! `N`) and every `EMAIL` of each card. It copes with what real exports contain: folded
//! lines, CRLF or LF endings, a UTF-8 or UTF-16 byte-order mark, 2.1 quoted-printable
//! values with soft line breaks, `CHARSET=` parameters (GBK, Big5, Latin-1…), backslash
//! escapes, property groups (`item1.EMAIL`) and `mailto:` values. The file is someone
//! else's text, so it is treated as hostile: the size, the number of cards and the length
//! of a line are capped, control and invisible characters are dropped from names, and
//! every address goes through [`super::address::parse_email`]; what fails is counted as
//! skipped, never stored. Export writes vCard 4.0 with proper escaping and folding.
//! No I/O here: the web layer hands in bytes and gets bytes back.

use base64::Engine;

use super::address::{self, MAX_NAME_CHARS};

/// Largest vCard file accepted, in bytes.
pub const MAX_VCARD_BYTES: usize = 1024 * 1024;
/// Most cards read from one file; the rest are counted as skipped.
pub const MAX_CARDS: usize = 5000;
/// An unfolded property line longer than this is ignored (no address is that long).
const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most addresses taken from one card.
const MAX_EMAILS_PER_CARD: usize = 20;
/// Export folds lines at this many octets (RFC 6350 §3.2).
const FOLD_AT: usize = 75;

/// One name/address pair read from a card (a card with three addresses gives three).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcardEntry {
    /// Display name, cleaned; may be empty.
    pub name: String,
    /// A valid address, normalized by [`address::parse_email`].
    pub email: String,
}

/// What an import found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcardImport {
    /// Valid entries, each address once (the first card naming it wins).
    pub entries: Vec<VcardEntry>,
    /// Cards without any usable address, invalid addresses and cards over the limit.
    pub skipped: usize,
}

/// Why a file could not be read as vCards at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VcardError {
    /// Over [`MAX_VCARD_BYTES`].
    #[error("the vCard file is too large")]
    TooLarge,
    /// No `BEGIN:VCARD` anywhere.
    #[error("the file holds no vCard")]
    NotVcard,
}

/// Reads every card of a `.vcf` file.
pub fn parse(bytes: &[u8]) -> Result<VcardImport, VcardError> {
    if bytes.len() > MAX_VCARD_BYTES {
        return Err(VcardError::TooLarge);
    }
    let bytes = strip_bom(bytes);
    let mut import = VcardImport::default();
    let mut seen = std::collections::HashSet::new();
    let mut found_card = false;
    let mut cards = 0usize;
    // Nesting depth: 2.1 can embed a card (AGENT) inside another; only the outer one counts.
    let mut depth = 0usize;
    let mut card = Card::default();

    for line in logical_lines(&bytes) {
        let Some(prop) = Property::parse(&line) else {
            continue;
        };
        match prop.name.as_str() {
            "BEGIN" if prop.raw_value.trim_ascii().eq_ignore_ascii_case(b"VCARD") => {
                found_card = true;
                depth += 1;
                if depth == 1 {
                    card = Card::default();
                }
            }
            "END" if prop.raw_value.trim_ascii().eq_ignore_ascii_case(b"VCARD") => {
                if depth == 1 {
                    cards += 1;
                    if cards > MAX_CARDS {
                        import.skipped += 1;
                    } else {
                        card.finish(&mut import, &mut seen);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            _ if depth == 1 => card.add(&prop),
            _ => {}
        }
    }
    if depth > 0 && cards < MAX_CARDS {
        // A last card without END: take what it has.
        card.finish(&mut import, &mut seen);
    }
    if !found_card {
        return Err(VcardError::NotVcard);
    }
    Ok(import)
}

/// Writes contacts as vCard 4.0, one card per (name, address) pair. `FN` is required by
/// RFC 6350, so a contact without a name gets its address as `FN`.
pub fn export<'a>(contacts: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, email) in contacts {
        let name = clean_name(name);
        let shown = if name.is_empty() { email } else { &name };
        out.push_str("BEGIN:VCARD\r\nVERSION:4.0\r\n");
        push_folded(&mut out, &format!("FN:{}", escape_text(shown)));
        push_folded(&mut out, &format!("EMAIL:{}", escape_text(email)));
        out.push_str("END:VCARD\r\n");
    }
    out
}

/// The fields of one card collected so far.
#[derive(Default)]
struct Card {
    full_name: Option<String>,
    structured_name: Option<String>,
    emails: Vec<String>,
    invalid: usize,
}

impl Card {
    fn add(&mut self, prop: &Property) {
        match prop.name.as_str() {
            "FN" if self.full_name.is_none() => {
                let name = clean_name(&unescape_text(&prop.decoded()));
                if !name.is_empty() {
                    self.full_name = Some(name);
                }
            }
            "N" if self.structured_name.is_none() => {
                let name = clean_name(&name_from_n(&prop.decoded()));
                if !name.is_empty() {
                    self.structured_name = Some(name);
                }
            }
            "EMAIL" => {
                if self.emails.len() + self.invalid >= MAX_EMAILS_PER_CARD {
                    self.invalid += 1;
                    return;
                }
                match read_email(&unescape_text(&prop.decoded())) {
                    Some(e) if !self.emails.contains(&e) => self.emails.push(e),
                    Some(_) => {}
                    None => self.invalid += 1,
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, import: &mut VcardImport, seen: &mut std::collections::HashSet<String>) {
        let card = std::mem::take(self);
        import.skipped += card.invalid;
        if card.emails.is_empty() {
            if card.invalid == 0 {
                import.skipped += 1;
            }
            return;
        }
        let mut name = card.full_name.or(card.structured_name).unwrap_or_default();
        if card.emails.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
            // Exporters (ours included) write the address as FN when there is no name.
            name.clear();
        }
        for email in card.emails {
            if seen.insert(email.to_lowercase()) {
                import.entries.push(VcardEntry {
                    name: name.clone(),
                    email,
                });
            }
        }
    }
}

/// An address from an `EMAIL` value: bare, `mailto:`, or `Name <a@b>` as some exporters
/// write it.
fn read_email(value: &str) -> Option<String> {
    let v = value.trim();
    let v = match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &v[7..],
        _ => v,
    };
    address::parse_email(v)
        .ok()
        .or_else(|| address::parse_address(v).ok().map(|a| a.email))
}

/// One content line: `[group.]NAME[;param…]:value`.
struct Property {
    /// Upper-case name without the group.
    name: String,
    /// Upper-cased parameter names and values as written (`TYPE=work`, `QUOTED-PRINTABLE`).
    params: Vec<(String, String)>,
    raw_value: Vec<u8>,
}

impl Property {
    fn parse(line: &[u8]) -> Option<Property> {
        // The value starts at the first ':' outside a quoted parameter value.
        let mut in_quote = false;
        let colon = line.iter().position(|&b| {
            if b == b'"' {
                in_quote = !in_quote;
            }
            b == b':' && !in_quote
        })?;
        let head = std::str::from_utf8(&line[..colon]).ok()?;
        let mut parts = split_unquoted(head, ';').into_iter();
        let full_name = parts.next()?.trim();
        let name = full_name
            .rsplit('.')
            .next()
            .unwrap_or(full_name)
            .to_ascii_uppercase();
        let params = parts
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (
                    k.trim().to_ascii_uppercase(),
                    v.trim().trim_matches('"').to_owned(),
                ),
                // vCard 2.1 bare parameters: `EMAIL;INTERNET;QUOTED-PRINTABLE:`.
                None => {
                    let bare = p.trim().to_ascii_uppercase();
                    let key = match bare.as_str() {
                        "QUOTED-PRINTABLE" | "BASE64" | "8BIT" | "7BIT" | "B" => "ENCODING",
                        _ => "TYPE",
                    };
                    (key.to_owned(), bare)
                }
            })
            .collect();
        Some(Property {
            name,
            params,
            raw_value: line[colon + 1..].to_vec(),
        })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value as text: transfer encoding undone, then the charset decoded (the
    /// `CHARSET` parameter, else UTF-8, else Windows-1252, the usual 2.1 default).
    fn decoded(&self) -> String {
        let bytes = match self
            .param("ENCODING")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("QUOTED-PRINTABLE") => decode_quoted_printable(&self.raw_value),
            Some("B" | "BASE64") => base64::engine::general_purpose::STANDARD
                .decode(
                    self.raw_value
                        .iter()
                        .copied()
                        .filter(|b| !b.is_ascii_whitespace())
                        .collect::<Vec<u8>>(),
                )
                .unwrap_or_default(),
            _ => self.raw_value.clone(),
        };
        let charset = self
            .param("CHARSET")
            .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()));
        match charset {
            Some(enc) => enc.decode_without_bom_handling(&bytes).0.into_owned(),
            None => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(e.as_bytes())
                    .0
                    .into_owned(),
            },
        }
    }
}

/// Splits at `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_quote) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quote = !in_quote;
        } else if c == sep && !in_quote {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Drops a UTF-8 byte-order mark, or converts UTF-16 (with its BOM) to UTF-8.
fn strip_bom(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Cow::Borrowed(rest);
    }
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((enc, bom_len)) if enc != encoding_rs::UTF_8 => Cow::Owned(
            enc.decode_without_bom_handling(&bytes[bom_len..])
                .0
                .into_owned()
                .into_bytes(),
        ),
        _ => Cow::Borrowed(bytes),
    }
}

/// Physical lines (CRLF or LF) joined into content lines: a line starting with a space or
/// tab continues the previous one (folding), and so does any line after a quoted-printable
/// line ending in `=` (a 2.1 soft line break). Over-long lines are dropped.
fn logical_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut too_long = false;
    for raw in bytes.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if let Some(cur) = current.as_mut() {
            let soft_break = cur.last() == Some(&b'=') && is_qp_line(cur);
            if soft_break || folded {
                if soft_break {
                    // Quoted-printable soft line break: the '=' goes, the next line
                    // follows as it is.
                    cur.pop();
                    cur.extend_from_slice(line);
                } else {
                    // Folding: the line break and one space or tab go.
                    cur.extend_from_slice(&line[1..]);
                }
                too_long |= cur.len() > MAX_LINE_BYTES;
                if too_long {
                    cur.clear();
                }
                continue;
            }
        }
        if let Some(done) = current.take()
            && !too_long
            && !done.is_empty()
        {
            out.push(done);
        }
        too_long = line.len() > MAX_LINE_BYTES;
        current = Some(if too_long { Vec::new() } else { line.to_vec() });
    }
    if let Some(done) = current
        && !too_long
        && !done.is_empty()
    {
        out.push(done);
    }
    out
}

/// Does this content line's parameter part ask for quoted-printable?
fn is_qp_line(line: &[u8]) -> bool {
    let head_end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    let head = String::from_utf8_lossy(&line[..head_end]).to_ascii_uppercase();
    head.contains("QUOTED-PRINTABLE")
}

/// Quoted-printable (RFC 2045 §6.7), lenient: a malformed `=XX` is kept as written.
fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'=' {
            let hex = input.get(i + 1..i + 3).and_then(|h| {
                std::str::from_utf8(h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            });
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
            if i + 1 == input.len() {
                break; // a trailing soft break
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Undoes vCard text escaping: `\\`, `\,`, `\;`, `\n`/`\N`.
fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Escapes text for a 4.0 property value (RFC 6350 §3.4).
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A display name from `N` (family;given;additional;prefix;suffix). Chinese, Japanese and
/// Korean names are written family name first without a space (张三); others as
/// "prefix given additional family suffix".
fn name_from_n(value: &str) -> String {
    let parts: Vec<String> = split_escaped(value, ';')
        .into_iter()
        .map(|p| unescape_text(&p.replace(',', " ")).trim().to_owned())
        .collect();
    let get = |i: usize| parts.get(i).map(String::as_str).unwrap_or("");
    let (family, given) = (get(0), get(1));
    if [family, given].iter().any(|p| p.chars().any(is_cjk)) {
        return format!("{family}{given}");
    }
    [get(3), given, get(2), family, get(4)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits at `sep` not preceded by a backslash (the escape itself is kept for
/// [`unescape_text`]).
fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                last.push('\\');
                last.push(next);
            }
        } else if c == sep {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // kana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}')
}

/// A name safe to store and show: control and invisible characters become spaces, runs
/// of whitespace collapse, the length is capped.
fn clean_name(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if is_unwanted(c) { ' ' } else { c })
        .collect();
    spaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

fn is_unwanted(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Appends a content line, folded at [`FOLD_AT`] octets without splitting a character.
fn push_folded(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        // Continuation lines start with a space, which counts towards their length.
        if width + len > FOLD_AT {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(import: &VcardImport) -> Vec<(&str, &str)> {
        import
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.email.as_str()))
            .collect()
    }

    #[test]
    fn vcard3_with_folding_escapes_and_several_emails() {
        let vcf = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;Jane;Q.;Dr.;\r\n\
FN:Dr. Jane Q. Smith\\, PhD\r\nEMAIL;TYPE=INTERNET,WORK:jane@exam\r\n ple.com\r\n\
item1.EMAIL;type=INTERNET;type=pref:JANE.home@Example.org\r\nTEL:+1 555\r\nEND:VCARD\r\n";
        let import = parse(vcf.as_bytes()).unwrap();
        assert_eq!(
            pairs(&import),
            [
                ("Dr. Jane Q. Smith, PhD", "jane@example.com"),
                ("Dr. Jane Q. Smith, PhD", "JANE.home@example.org"),
            ]
        );
        assert_eq!(import.skipped, 0);
    }

    #[test]
    fn vcard4_lf_only_and_chinese_name_from_n() {
        let vcf = "BEGIN:VCARD\nVERSION:4.0\nN:张;三;;;\nEMAIL;PREF=1:zhang@例子.中国\nEND:VCARD\n\
BEGIN:VCARD\nVERSION:4.0\nN:Doe;John;;;\nEMAIL:mailto:john@example.com\nEND:VCARD\n";
        let import = parse(vcf.as_bytes()).unwrap();
        assert_eq!(
            pairs(&import),
            [
                ("张三", "zhang@例子.中国"),
                ("John Doe", "john@example.com")
            ]
        );
    }

    #[test]
    fn vcard21_quoted_printable_with_charsets_and_soft_breaks() {
        let mut vcf = b"BEGIN:VCARD\r\nVERSION:2.1\r\n\
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E=E5=9B=9B =\r\n=E5=85=88=E7=94=9F\r\n\
EMAIL;INTERNET:li@example.cn\r\nEND:VCARD\r\n"
            .to_vec();
        // GBK bytes for 王五, declared with CHARSET, as Outlook writes them.
        vcf.extend_from_slice(
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=GBK;QUOTED-PRINTABLE:=CD=F5=CE=E5\r\n\
EMAIL;PREF;INTERNET:wang@example.cn\r\nEND:VCARD\r\n",
        );
        // Latin-1 without a charset: decoded as Windows-1252.
        vcf.extend_from_slice(
            b"BEGIN:VCARD\r\nFN:M\xFCller\r\nEMAIL:m@example.de\r\nEND:VCARD\r\n",
        );
        let import = parse(&vcf).unwrap();
        assert_eq!(
            pairs(&import),
            [
                ("李四 先生", "li@example.cn"),
                ("王五", "wang@example.cn"),
                ("Müller", "m@example.de")
            ]
        );
    }

    #[test]
    fn hostile_input_is_cleaned_counted_or_refused() {
        let vcf = "BEGIN:VCARD\r\nFN:Eve\\nBcc: x\u{202E}\u{7}\r\nEMAIL:eve@example.com\r\n\
EMAIL:bob@\r\nEMAIL:a b@example.com\r\nEMAIL:x@example.com\\r\\nBcc: y@example.com\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nFN:No Address\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nFN:Dup\r\nEMAIL:EVE@example.com\r\nEND:VCARD\r\n";
        let import = parse(vcf.as_bytes()).unwrap();
        assert_eq!(pairs(&import), [("Eve Bcc: x", "eve@example.com")]);
        // Three bad addresses, one card without any; the duplicate is merged, not skipped.
        assert_eq!(import.skipped, 4);

        assert_eq!(
            parse(&vec![b'a'; MAX_VCARD_BYTES + 1]),
            Err(VcardError::TooLarge)
        );
        assert_eq!(parse(b"hello\r\nworld"), Err(VcardError::NotVcard));
        assert_eq!(parse(b""), Err(VcardError::NotVcard));

        let long = format!(
            "BEGIN:VCARD\r\nFN:{}\r\nEMAIL:ok@example.com\r\nEND:VCARD\r\n",
            "n".repeat(MAX_LINE_BYTES + 10)
        );
        let import = parse(long.as_bytes()).unwrap();
        assert_eq!(pairs(&import), [("", "ok@example.com")]);

        let many: String = (0..MAX_CARDS + 3)
            .map(|i| format!("BEGIN:VCARD\nEMAIL:u{i}@example.com\nEND:VCARD\n"))
            .collect();
        let import = parse(many.as_bytes()).unwrap();
        assert_eq!(import.entries.len(), MAX_CARDS);
        assert_eq!(import.skipped, 3);

        let name = format!(
            "BEGIN:VCARD\nFN:{}\nEMAIL:l@example.com\nEND:VCARD\n",
            "长".repeat(500)
        );
        let import = parse(name.as_bytes()).unwrap();
        assert_eq!(import.entries[0].name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn bom_utf16_nested_agent_and_missing_end() {
        let text = "BEGIN:VCARD\r\nFN:Ann\r\nEMAIL:ann@example.com\r\nEND:VCARD\r\n";
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(pairs(&parse(&utf16).unwrap()), [("Ann", "ann@example.com")]);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(pairs(&parse(&bom).unwrap()), [("Ann", "ann@example.com")]);

        let nested = "BEGIN:VCARD\nFN:Boss\nAGENT:BEGIN:VCARD\nBEGIN:VCARD\nFN:Agent\n\
EMAIL:agent@example.com\nEND:VCARD\nEMAIL:boss@example.com\nEND:VCARD\n\
BEGIN:VCARD\nFN:Last\nEMAIL:last@example.com\n";
        assert_eq!(
            pairs(&parse(nested.as_bytes()).unwrap()),
            [("Boss", "boss@example.com"), ("Last", "last@example.com")]
        );
    }

    #[test]
    fn export_escapes_folds_and_round_trips() {
        let long_name = "很长的名字".repeat(10);
        let contacts = [
            ("Smith, Jane; \\PhD\\", "jane@example.com"),
            ("", "noname@example.com"),
            ("张三", "zhang@例子.中国"),
            (long_name.as_str(), "long@example.com"),
            ("Line\nBreak", "lb@example.com"),
        ];
        let vcf = export(contacts.iter().copied());
        assert!(vcf.contains("FN:Smith\\, Jane\\; \\\\PhD\\\\\r\n"));
        assert!(vcf.contains("VERSION:4.0\r\n"));
        assert!(vcf.contains("FN:noname@example.com\r\n"));
        for line in vcf.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?} is {} octets", line.len());
        }
        assert!(!vcf.replace("\r\n", "").contains(['\r', '\n']));
        let back = parse(vcf.as_bytes()).unwrap();
        assert_eq!(
            pairs(&back),
            [
                ("Smith, Jane; \\PhD\\", "jane@example.com"),
                ("", "noname@example.com"),
                ("张三", "zhang@例子.中国"),
                (long_name.as_str(), "long@example.com"),
                ("Line Break", "lb@example.com"),
            ]
        );
        assert_eq!(back.skipped, 0);
    }

    #[test]
    fn quoted_printable_is_lenient() {
        assert_eq!(decode_quoted_printable(b"a=3Db=ZZc="), b"a=b=ZZc");
        assert_eq!(decode_quoted_printable(b"=E4=B8=AD"), "中".as_bytes());
    }
}
