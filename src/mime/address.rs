//! Addresses typed by a user: parsing and validating what goes into To/Cc/Bcc, a contact or
//! an identity, before anything is stored or put in a header.
//!
//! The input is what people actually type or paste, not strict RFC 5322: `Name <a@b>`,
//! `"Quoted, Name" <a@b>`, `<a@b>` and bare `a@b`, separated by commas or semicolons, with
//! internationalized domains (`张三@例子.中国`, checked with IDNA/UTS 46) and UTF-8 local
//! parts (RFC 6531). What is refused, with the offending entry and its position so a form
//! can say which one is wrong: control characters anywhere (CR/LF/NUL would be header
//! injection), spaces or invisible characters inside an address, a missing or empty side of
//! the `@`, malformed domains, quoted local parts, domain literals and group syntax (rare in
//! typed input and a common way to confuse other software). This file does no I/O; turning
//! an [`Address`] into header bytes is the message builder's job.

use std::fmt;

use crate::model::Address;

/// Longest input accepted at all, in bytes (a To field with a few hundred recipients fits).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Most addresses in one list.
pub const MAX_ADDRESSES: usize = 1000;
/// Longest address (RFC 5321 §4.5.3.1.3: a path is at most 256 octets including `<>`).
pub const MAX_ADDRESS_BYTES: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_BYTES: usize = 64;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Why an address list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressErrorKind {
    /// A control character (CR, LF, NUL, TAB…) somewhere in the input.
    ControlChar,
    /// An unclosed `"` or `<`, or a `>` without `<`.
    Unbalanced,
    /// `Name <>`, or a single address was required and none was given.
    MissingAddress,
    /// No `@` at all (`bob`).
    MissingAt,
    /// Nothing before the `@` (`@example.com`).
    EmptyLocal,
    /// Nothing after the `@` (`bob@`).
    EmptyDomain,
    /// A space inside the address (`a b@c`).
    Space,
    /// Characters or dots not allowed before the `@`.
    InvalidLocal,
    /// Not a valid (internationalized) domain name, or no dot in it.
    InvalidDomain,
    /// Text after the closing `>`.
    TrailingText,
    /// An address, name, list or input over the limits above.
    TooLong,
    /// Several addresses where one was expected.
    NotSingle,
}

impl AddressErrorKind {
    /// Every kind, for the test that checks the catalog has a message for each.
    pub const ALL: [AddressErrorKind; 12] = [
        AddressErrorKind::ControlChar,
        AddressErrorKind::Unbalanced,
        AddressErrorKind::MissingAddress,
        AddressErrorKind::MissingAt,
        AddressErrorKind::EmptyLocal,
        AddressErrorKind::EmptyDomain,
        AddressErrorKind::Space,
        AddressErrorKind::InvalidLocal,
        AddressErrorKind::InvalidDomain,
        AddressErrorKind::TrailingText,
        AddressErrorKind::TooLong,
        AddressErrorKind::NotSingle,
    ];

    /// Catalog key of the message shown beside the field; `{0}` in it is the entry.
    pub fn message_key(self) -> &'static str {
        match self {
            AddressErrorKind::ControlChar => "address.error.control",
            AddressErrorKind::Unbalanced => "address.error.unbalanced",
            AddressErrorKind::MissingAddress => "address.error.missing",
            AddressErrorKind::MissingAt => "address.error.missing_at",
            AddressErrorKind::EmptyLocal => "address.error.empty_local",
            AddressErrorKind::EmptyDomain => "address.error.empty_domain",
            AddressErrorKind::Space => "address.error.space",
            AddressErrorKind::InvalidLocal => "address.error.local",
            AddressErrorKind::InvalidDomain => "address.error.domain",
            AddressErrorKind::TrailingText => "address.error.trailing",
            AddressErrorKind::TooLong => "address.error.too_long",
            AddressErrorKind::NotSingle => "address.error.not_single",
        }
    }
}

/// A refused address list: what is wrong, where, and the entry to quote back to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AddressError {
    pub kind: AddressErrorKind,
    /// Byte offset in the input where the offending entry starts.
    pub position: usize,
    /// The offending entry, trimmed, with control characters shown as `�` so it is safe
    /// to put in a page (the template still escapes it).
    pub text: String,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid address {:?} at byte {}: {:?}",
            self.text, self.position, self.kind
        )
    }
}

impl AddressError {
    fn new(kind: AddressErrorKind, position: usize, entry: &str) -> Self {
        let shown: String = entry
            .trim()
            .chars()
            .take(MAX_ADDRESS_BYTES)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect();
        AddressError {
            kind,
            position,
            text: shown,
        }
    }
}

/// Parses a comma- or semicolon-separated list of addresses as typed in a To field.
/// Empty entries (`a@b, , c@d,`) are skipped, so an empty input gives an empty list; the
/// caller decides whether that is allowed. Domains come back normalized (lower case, IDNA
/// mapped, in Unicode form: see [`ascii_email`] for the form SMTP needs); local parts are
/// kept as typed.
pub fn parse_address_list(input: &str) -> Result<Vec<Address>, AddressError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(AddressError::new(AddressErrorKind::TooLong, 0, ""));
    }
    if let Some(pos) = input.find(|c: char| c.is_control()) {
        let (start, entry) = entry_around(input, pos);
        let lead = entry.len() - entry.trim_start().len();
        return Err(AddressError::new(
            AddressErrorKind::ControlChar,
            start + lead,
            entry,
        ));
    }
    let mut out = Vec::new();
    for (start, raw) in split_entries(input)? {
        let lead = raw.len() - raw.trim_start().len();
        let entry = raw.trim();
        if entry.is_empty() {
            continue;
        }
        if out.len() >= MAX_ADDRESSES {
            return Err(AddressError::new(
                AddressErrorKind::TooLong,
                start + lead,
                entry,
            ));
        }
        let address =
            parse_entry(entry).map_err(|kind| AddressError::new(kind, start + lead, entry))?;
        out.push(address);
    }
    Ok(out)
}

/// Parses exactly one address (a contact's or an identity's field), with or without a
/// display name.
pub fn parse_address(input: &str) -> Result<Address, AddressError> {
    let mut list = parse_address_list(input)?;
    match list.len() {
        1 => Ok(list.remove(0)),
        0 => Err(AddressError::new(
            AddressErrorKind::MissingAddress,
            0,
            input,
        )),
        _ => Err(AddressError::new(AddressErrorKind::NotSingle, 0, input)),
    }
}

/// Checks a bare address (`a@b`, no name, no brackets) and returns it normalized.
pub fn parse_email(input: &str) -> Result<String, AddressError> {
    let trimmed = input.trim();
    if let Some(pos) = input.find(|c: char| c.is_control()) {
        return Err(AddressError::new(AddressErrorKind::ControlChar, pos, input));
    }
    if trimmed.is_empty() {
        return Err(AddressError::new(
            AddressErrorKind::MissingAddress,
            0,
            input,
        ));
    }
    let start = input.len() - input.trim_start().len();
    addr_spec(trimmed).map_err(|kind| AddressError::new(kind, start, trimmed))
}

/// The address as a To field or a `<datalist>` option shows it, in a form
/// [`parse_address_list`] reads back to the same value: `Name <a@b>`, the name quoted
/// when it holds a separator or a quote.
pub fn format_address(address: &Address) -> String {
    let name = address.name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return address.email.clone();
    }
    let needs_quotes = name.chars().any(|c| {
        matches!(
            c,
            ',' | ';' | '<' | '>' | '"' | '\\' | '@' | ':' | '(' | ')'
        )
    });
    if needs_quotes {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" <{}>", address.email)
    } else {
        format!("{name} <{}>", address.email)
    }
}

/// The address with its domain in ASCII (Punycode) form, for the SMTP envelope and for
/// headers when the server does not offer SMTPUTF8. `None` when the domain is not valid.
pub fn ascii_email(email: &str) -> Option<String> {
    let (local, domain) = email.rsplit_once('@')?;
    let ascii = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3).ok()?;
    Some(format!("{local}@{ascii}"))
}

/// The entry (between separators) that contains byte `pos`, and where it starts.
fn entry_around(input: &str, pos: usize) -> (usize, &str) {
    let start = input[..pos].rfind([',', ';']).map(|i| i + 1).unwrap_or(0);
    let end = input[pos..]
        .find([',', ';'])
        .map(|i| pos + i)
        .unwrap_or(input.len());
    (start, &input[start..end])
}

/// Splits at `,` and `;` outside quoted strings and angle brackets. Returns (byte offset,
/// entry) pairs; refuses an unclosed quote or bracket.
fn split_entries(input: &str) -> Result<Vec<(usize, &str)>, AddressError> {
    let mut entries = Vec::new();
    let (mut start, mut quotes, mut in_angle) = (0, Quotes::default(), false);
    for (i, c) in input.char_indices() {
        // Inside angle brackets a `"` is just a character.
        if !in_angle && quotes.quoted(c) {
            continue;
        }
        match c {
            '<' => {
                if in_angle {
                    return Err(unbalanced(input, start));
                }
                in_angle = true;
            }
            '>' => {
                if !in_angle {
                    return Err(unbalanced(input, start));
                }
                in_angle = false;
            }
            ',' | ';' if !in_angle => {
                entries.push((start, &input[start..i]));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if quotes.inside || in_angle {
        return Err(unbalanced(input, start));
    }
    entries.push((start, &input[start..]));
    Ok(entries)
}

fn unbalanced(input: &str, start: usize) -> AddressError {
    let rest = &input[start..];
    let lead = rest.len() - rest.trim_start().len();
    AddressError::new(AddressErrorKind::Unbalanced, start + lead, rest)
}

/// One trimmed, non-empty entry: `name <addr>`, `<addr>` or `addr`.
fn parse_entry(entry: &str) -> Result<Address, AddressErrorKind> {
    let Some(open) = last_unquoted(entry, '<') else {
        if entry.contains('"') {
            // A quoted name without an address, or a quoted local part: both refused.
            return Err(if entry.contains('@') {
                AddressErrorKind::InvalidLocal
            } else {
                AddressErrorKind::MissingAt
            });
        }
        return Ok(Address {
            name: None,
            email: addr_spec(entry)?,
        });
    };
    let close = entry[open..]
        .find('>')
        .map(|i| open + i)
        .ok_or(AddressErrorKind::Unbalanced)?;
    if !entry[close + 1..].trim().is_empty() {
        return Err(AddressErrorKind::TrailingText);
    }
    let inner = entry[open + 1..close].trim();
    if inner.is_empty() {
        return Err(AddressErrorKind::MissingAddress);
    }
    let email = addr_spec(inner)?;
    let name = display_name(&entry[..open])?;
    Ok(Address { name, email })
}

/// Byte index of the last `c` outside a quoted string.
fn last_unquoted(s: &str, wanted: char) -> Option<usize> {
    let (mut found, mut quotes) = (None, Quotes::default());
    for (i, c) in s.char_indices() {
        if !quotes.quoted(c) && c == wanted {
            found = Some(i);
        }
    }
    found
}

/// Whether a left-to-right scan is inside a quoted string (`"…"`, with `\` escapes).
#[derive(Default)]
struct Quotes {
    inside: bool,
    escaped: bool,
}

impl Quotes {
    /// Feeds the next character; true when it belongs to a quoted string, its quotes
    /// included.
    fn quoted(&mut self, c: char) -> bool {
        if self.inside {
            match c {
                _ if self.escaped => self.escaped = false,
                '\\' => self.escaped = true,
                '"' => self.inside = false,
                _ => {}
            }
            true
        } else if c == '"' {
            self.inside = true;
            true
        } else {
            false
        }
    }
}

/// The text before `<`: quoted strings unquoted, runs of whitespace collapsed.
fn display_name(raw: &str) -> Result<Option<String>, AddressErrorKind> {
    let mut name = String::new();
    let (mut in_quote, mut escaped, mut space) = (false, false, false);
    for c in raw.trim().chars() {
        if in_quote {
            match c {
                _ if escaped => {
                    escaped = false;
                    name.push(c);
                }
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => name.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                if space && !name.is_empty() {
                    name.push(' ');
                }
                space = false;
                in_quote = true;
            }
            c if c.is_whitespace() => space = true,
            c => {
                if space && !name.is_empty() {
                    name.push(' ');
                }
                space = false;
                name.push(c);
            }
        }
    }
    let name = name.trim().to_owned();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AddressErrorKind::TooLong);
    }
    Ok((!name.is_empty()).then_some(name))
}

/// Validates `local@domain` and normalizes the domain.
fn addr_spec(s: &str) -> Result<String, AddressErrorKind> {
    if s.len() > MAX_ADDRESS_BYTES {
        return Err(AddressErrorKind::TooLong);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(AddressErrorKind::Space);
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err(AddressErrorKind::MissingAt);
    };
    if local.is_empty() {
        return Err(AddressErrorKind::EmptyLocal);
    }
    if domain.is_empty() {
        return Err(AddressErrorKind::EmptyDomain);
    }
    check_local(local)?;
    let domain = normalize_domain(domain)?;
    Ok(format!("{local}@{domain}"))
}

/// RFC 5322 dot-atom (plus UTF-8 per RFC 6531): atoms of atext separated by single dots.
fn check_local(local: &str) -> Result<(), AddressErrorKind> {
    if local.len() > MAX_LOCAL_BYTES {
        return Err(AddressErrorKind::TooLong);
    }
    let atoms_ok = local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                if c.is_ascii() {
                    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
                } else {
                    !is_invisible(c)
                }
            })
    });
    if atoms_ok {
        Ok(())
    } else {
        Err(AddressErrorKind::InvalidLocal)
    }
}

/// IDNA-maps the domain (lower case, Unicode normalization, STD3 rules), checks the
/// DNS label rules on its ASCII form, and returns its Unicode form for display.
fn normalize_domain(domain: &str) -> Result<String, AddressErrorKind> {
    if domain.starts_with('[') || domain.chars().any(is_invisible) {
        return Err(AddressErrorKind::InvalidDomain);
    }
    let ascii = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3)
        .map_err(|_| AddressErrorKind::InvalidDomain)?;
    let labels_ok = ascii.len() <= 253
        && ascii.contains('.')
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // The top-level label is never all digits (that would be an IP address).
        && ascii
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if !labels_ok {
        return Err(AddressErrorKind::InvalidDomain);
    }
    let (unicode, result) = idna::domain_to_unicode(&ascii);
    result.map_err(|_| AddressErrorKind::InvalidDomain)?;
    Ok(unicode)
}

/// Control, bidirectional-override and zero-width characters: never part of an address
/// (they disguise one address as another).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    fn kind(input: &str) -> AddressErrorKind {
        match parse_address_list(input) {
            Ok(v) => panic!("{input:?} accepted as {v:?}"),
            Err(e) => e.kind,
        }
    }

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(
            parse_address_list("bob@example.com").unwrap(),
            [a(None, "bob@example.com")]
        );
        assert_eq!(
            parse_address_list("Bob Smith <bob@example.com>").unwrap(),
            [a(Some("Bob Smith"), "bob@example.com")]
        );
        assert_eq!(
            parse_address_list("<bob@example.com>").unwrap(),
            [a(None, "bob@example.com")]
        );
        assert_eq!(
            parse_address_list(r#""Smith, Bob" <bob@example.com>"#).unwrap(),
            [a(Some("Smith, Bob"), "bob@example.com")]
        );
        assert_eq!(
            parse_address_list(r#""Bob \"the builder\" S." <b@example.com>"#).unwrap(),
            [a(Some(r#"Bob "the builder" S."#), "b@example.com")]
        );
        assert_eq!(
            parse_address_list("  Bob   Smith   <bob@example.com>  ").unwrap(),
            [a(Some("Bob Smith"), "bob@example.com")]
        );
        assert_eq!(
            parse_address_list("first.last+tag@sub.example.co.uk").unwrap(),
            [a(None, "first.last+tag@sub.example.co.uk")]
        );
        assert_eq!(
            parse_address_list("o'brien!#$%&*/=?^_`{|}~-@example.com").unwrap(),
            [a(None, "o'brien!#$%&*/=?^_`{|}~-@example.com")]
        );
    }

    #[test]
    fn lists_split_on_commas_and_semicolons_outside_quotes() {
        let list = parse_address_list(
            r#"a@example.com, "Doe; Jane" <jane@example.com>;Carl <c@example.com> ,, ; "#,
        )
        .unwrap();
        assert_eq!(
            list,
            [
                a(None, "a@example.com"),
                a(Some("Doe; Jane"), "jane@example.com"),
                a(Some("Carl"), "c@example.com"),
            ]
        );
        assert!(parse_address_list("").unwrap().is_empty());
        assert!(parse_address_list(" , ; ").unwrap().is_empty());
    }

    #[test]
    fn idn_domains_are_normalized() {
        assert_eq!(
            parse_address_list("张三 <张三@例子.中国>").unwrap(),
            [a(Some("张三"), "张三@例子.中国")]
        );
        assert_eq!(
            parse_address_list("x@BÜCHER.Example").unwrap(),
            [a(None, "x@bücher.example")]
        );
        assert_eq!(
            parse_address_list("x@xn--bcher-kva.example").unwrap(),
            [a(None, "x@bücher.example")],
            "punycode input comes back in Unicode form"
        );
        assert_eq!(
            ascii_email("x@bücher.example").as_deref(),
            Some("x@xn--bcher-kva.example")
        );
        assert_eq!(
            ascii_email("张三@例子.中国").as_deref(),
            Some("张三@xn--fsqu00a.xn--fiqs8s")
        );
        assert_eq!(
            parse_address_list("Bob@Example.COM").unwrap(),
            [a(None, "Bob@example.com")],
            "the local part keeps its case"
        );
    }

    #[test]
    fn refuses_what_users_get_wrong() {
        use AddressErrorKind::*;
        assert_eq!(kind("bob@"), EmptyDomain);
        assert_eq!(kind("@example.com"), EmptyLocal);
        assert_eq!(kind("bob"), MissingAt);
        assert_eq!(kind("a b@c.com"), Space);
        assert_eq!(kind("a b@c"), Space);
        assert_eq!(kind("bob@example"), InvalidDomain, "no dot");
        assert_eq!(kind("bob@-x.com"), InvalidDomain);
        assert_eq!(kind("bob@x..com"), InvalidDomain);
        assert_eq!(kind("bob@x_y.com"), InvalidDomain);
        assert_eq!(kind("bob@example.com."), InvalidDomain);
        assert_eq!(kind("bob@[127.0.0.1]"), InvalidDomain);
        assert_eq!(kind("bob@127.0.0.1"), InvalidDomain);
        assert_eq!(kind("a@b@example.com"), InvalidLocal);
        assert_eq!(kind(".bob@example.com"), InvalidLocal);
        assert_eq!(kind("bob.@example.com"), InvalidLocal);
        assert_eq!(kind("b..ob@example.com"), InvalidLocal);
        assert_eq!(kind("b(o)b@example.com"), InvalidLocal);
        assert_eq!(kind(r#""a b"@example.com"#), InvalidLocal);
        assert_eq!(kind(r#""Just a name""#), MissingAt);
        assert_eq!(kind("Bob <>"), MissingAddress);
        assert_eq!(kind("Bob <bob@example.com> extra"), TrailingText);
        assert_eq!(kind("Bob <bob@example.com"), Unbalanced);
        assert_eq!(kind("Bob bob@example.com>"), Unbalanced);
        assert_eq!(kind(r#""Bob <bob@example.com>"#), Unbalanced);
        assert_eq!(kind("Bob <<bob@example.com>>"), Unbalanced);
        assert_eq!(kind("Bob bob@example.com"), Space);
        assert_eq!(kind("b\u{202E}ob@example.com"), InvalidLocal);
        assert_eq!(kind("bob@exa\u{200B}mple.com"), InvalidDomain);
        assert_eq!(kind(&format!("{}@example.com", "x".repeat(65))), TooLong);
        assert_eq!(
            kind(&format!("x@{}.com", "a".repeat(64))),
            InvalidDomain,
            "label over 63"
        );
        assert_eq!(
            kind(&format!("\"{}\" <x@example.com>", "n".repeat(201))),
            TooLong
        );
        assert_eq!(kind(&"a@example.com,".repeat(1001)), TooLong);
        assert_eq!(kind(&"x".repeat(MAX_INPUT_BYTES + 1)), TooLong);
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for bad in [
            "bob@example.com\r\nBcc: eve@evil.test",
            "Bob\n <bob@example.com>",
            "\"Bob\r\n\" <bob@example.com>",
            "bob@example.com\0",
            "Bob\t<bob@example.com>",
            "ok@example.com, x\u{7f}@example.com",
        ] {
            let e = parse_address_list(bad).unwrap_err();
            assert_eq!(e.kind, AddressErrorKind::ControlChar, "{bad:?}");
            assert!(!e.text.chars().any(char::is_control), "{:?}", e.text);
        }
        assert_eq!(
            parse_email("a@example.com\r\n").unwrap_err().kind,
            AddressErrorKind::ControlChar
        );
    }

    #[test]
    fn errors_point_at_the_bad_entry() {
        let input = "good@example.com, Bad Entry <bob@>, other@example.com";
        let e = parse_address_list(input).unwrap_err();
        assert_eq!(e.kind, AddressErrorKind::EmptyDomain);
        assert_eq!(e.text, "Bad Entry <bob@>");
        assert_eq!(e.position, input.find("Bad").unwrap());
        let e = parse_address_list("a@example.com;  x\ny@example.com").unwrap_err();
        assert_eq!(e.text, "x\u{FFFD}y@example.com");
        assert_eq!(e.position, 16);
    }

    #[test]
    fn single_address_and_bare_email() {
        assert_eq!(
            parse_address(" Ann <ann@example.com> ").unwrap(),
            a(Some("Ann"), "ann@example.com")
        );
        assert_eq!(
            parse_address("").unwrap_err().kind,
            AddressErrorKind::MissingAddress
        );
        assert_eq!(
            parse_address("a@example.com, b@example.com")
                .unwrap_err()
                .kind,
            AddressErrorKind::NotSingle
        );
        assert_eq!(parse_email(" a@Example.com ").unwrap(), "a@example.com");
        assert_eq!(
            parse_email("Ann <a@example.com>").unwrap_err().kind,
            AddressErrorKind::Space
        );
        assert_eq!(
            parse_email("  ").unwrap_err().kind,
            AddressErrorKind::MissingAddress
        );
    }

    #[test]
    fn format_round_trips() {
        for addr in [
            a(None, "x@example.com"),
            a(Some("Plain Name"), "x@example.com"),
            a(Some("Doe, Jane"), "x@example.com"),
            a(Some("Say \"hi\"; \\ ok"), "x@example.com"),
            a(Some("张三"), "张三@例子.中国"),
            a(Some("at@sign"), "x@example.com"),
        ] {
            let shown = format_address(&addr);
            assert_eq!(
                parse_address_list(&shown).unwrap(),
                std::slice::from_ref(&addr),
                "{shown}"
            );
        }
        assert_eq!(
            format_address(&a(Some("Doe, Jane"), "j@example.com")),
            "\"Doe, Jane\" <j@example.com>"
        );
    }

    #[test]
    fn every_error_has_a_message_in_the_catalog() {
        for k in AddressErrorKind::ALL {
            let key = k.message_key();
            assert!(crate::i18n::has_key(key), "{key} missing");
        }
    }
}
