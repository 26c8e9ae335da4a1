//! Reading `Authentication-Results` (RFC 8601): did *our* mail server find that a message
//! really comes from the domain in its `From`?
//!
//! A `From` header is whatever the sender wrote, so "trusted sender" features must not
//! rest on it alone. The receiving server checks DKIM, SPF and DMARC and records the
//! outcome in an `Authentication-Results` header that starts with its own name, the
//! authserv-id. Only the topmost such header carrying *our* authserv-id is read: our server
//! adds its header above every header the sender wrote, so a copy the sender forged (with
//! our id or any other) sits below it and is never looked at. This relies on the server
//! adding its header to every incoming message, which is why the authserv-id must be
//! configured on purpose (`MAILROOM_AUTHSERV_ID`).
//!
//! The message is authentic when that header says `dmarc=pass` (for the `From` domain,
//! when it names one in `header.from`), or `dkim=pass` with a signing domain (`header.d`,
//! or the domain of `header.i`) aligned with the `From` domain. Alignment is relaxed and
//! kept simple: one domain equals the other or is a subdomain of it.
//!
//! This file only parses; it does no I/O and knows nothing of users or trust lists.

/// What our server's `Authentication-Results` say about a message's `From` domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderAuth {
    /// DMARC passed, or DKIM passed for an aligned domain.
    Verified,
    /// No `Authentication-Results` header with our authserv-id.
    NoResult,
    /// Our header is there, but it does not vouch for this `From` (failed, unaligned, or
    /// the message has no single `From` domain).
    Failed,
}

/// Checks `raw` (a whole message, or just its header) for our verdict on `from_domain`.
/// `authserv_id` is compared case-insensitively.
pub fn sender_auth(raw: &[u8], authserv_id: &str, from_domain: &str) -> SenderAuth {
    let fields = header_fields(raw);
    let ours = fields
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authentication-results"))
        .filter_map(|(_, value)| parse(value))
        .find(|r| r.authserv_id.eq_ignore_ascii_case(authserv_id.trim()));
    let Some(results) = ours else {
        return SenderAuth::NoResult;
    };
    // Two `From` headers: which one a reader sees is up to the reader, so neither counts.
    let from_count = fields
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("from"))
        .count();
    let from_domain = from_domain
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if from_count != 1 || !from_domain.contains('.') {
        return SenderAuth::Failed;
    }
    if results.verifies(&from_domain) {
        SenderAuth::Verified
    } else {
        SenderAuth::Failed
    }
}

/// One `Authentication-Results` header, parsed.
#[derive(Debug, PartialEq, Eq)]
struct Results {
    authserv_id: String,
    methods: Vec<MethodResult>,
}

/// One `method=result` with its properties (`header.d=…`), names lower-cased.
#[derive(Debug, PartialEq, Eq)]
struct MethodResult {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

impl MethodResult {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Results {
    fn verifies(&self, from_domain: &str) -> bool {
        let passed = |m: &&MethodResult, method: &str| m.method == method && m.result == "pass";
        // An explicit DMARC failure is the server's final word, whatever else it lists.
        if self
            .methods
            .iter()
            .any(|m| m.method == "dmarc" && m.result != "pass")
        {
            return false;
        }
        let dmarc = self.methods.iter().filter(|m| passed(m, "dmarc")).any(|m| {
            m.prop("header.from")
                .is_none_or(|d| normalize(d) == from_domain)
        });
        let dkim = self.methods.iter().filter(|m| passed(m, "dkim")).any(|m| {
            let signer = m
                .prop("header.d")
                .map(normalize)
                .or_else(|| m.prop("header.i").map(|i| normalize(domain_of(i))));
            signer.is_some_and(|d| aligned(&d, from_domain))
        });
        dmarc || dkim
    }
}

fn normalize(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The domain of a `header.i` value (`@example.com` or `user@example.com`).
fn domain_of(identity: &str) -> &str {
    identity.rsplit_once('@').map_or(identity, |(_, d)| d)
}

/// Relaxed alignment, simply: equal, or one a subdomain of the other, never a bare TLD.
fn aligned(signer: &str, from: &str) -> bool {
    if !signer.contains('.') || !from.contains('.') {
        return false;
    }
    signer == from || from.ends_with(&format!(".{signer}")) || signer.ends_with(&format!(".{from}"))
}

/// The header fields of a message in order, unfolded: (name, value). Stops at the blank
/// line; a line that is neither a field nor a continuation ends the header too.
fn header_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => break,
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            break;
        }
        fields.push((name.to_owned(), value.trim().to_owned()));
    }
    fields
}

/// Parses one header value; `None` when it has no authserv-id.
fn parse(value: &str) -> Option<Results> {
    let clean = strip_comments(value);
    let mut parts = split_outside_quotes(&clean, |c| c == ';').into_iter();
    let authserv_id = parts
        .next()?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    let mut methods = Vec::new();
    for part in parts {
        let mut tokens = split_outside_quotes(&part, char::is_whitespace)
            .into_iter()
            .filter(|t| !t.is_empty());
        let Some(first) = tokens.next() else {
            continue;
        };
        let Some((method, result)) = first.split_once('=') else {
            // `none`: the server checked nothing.
            continue;
        };
        let method = method
            .split('/')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let props = tokens
            .filter_map(|t| {
                let (name, value) = t.split_once('=')?;
                Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
            })
            .collect();
        methods.push(MethodResult {
            method,
            result: unquote(result.trim()).to_ascii_lowercase(),
            props,
        });
    }
    Some(Results {
        authserv_id,
        methods,
    })
}

/// Removes `( … )` comments (nested, with `\` escapes), leaving quoted strings alone.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Splits at every `sep` character outside double quotes.
fn split_outside_quotes(s: &str, sep: impl Fn(char) -> bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        let current = parts.last_mut().expect("never empty");
        if escaped {
            escaped = false;
            current.push(c);
        } else if c == '\\' && quoted {
            escaped = true;
            current.push(c);
        } else if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if !quoted && sep(c) {
            parts.push(String::new());
        } else {
            current.push(c);
        }
    }
    parts
}

/// A value without its surrounding quotes and escapes.
fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut escaped = false;
            for c in inner.chars() {
                if c == '\\' && !escaped {
                    escaped = true;
                } else {
                    escaped = false;
                    out.push(c);
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "mx.mailroom.test";

    fn msg(headers: &str) -> Vec<u8> {
        format!("{headers}\r\nFrom: Shop <deals@news.shop.example>\r\nSubject: x\r\n\r\nbody\r\nFrom: late@evil.example\r\n")
            .into_bytes()
    }

    fn auth(headers: &str) -> SenderAuth {
        sender_auth(&msg(headers), ID, "news.shop.example")
    }

    #[test]
    fn dmarc_pass_from_our_server_verifies() {
        assert_eq!(
            auth(
                "Authentication-Results: mx.mailroom.test;\r\n\tdmarc=pass (p=reject dis=none) header.from=news.shop.example"
            ),
            SenderAuth::Verified
        );
        // The authserv-id in any case; a version number after it; no header.from.
        assert_eq!(
            auth(
                "Authentication-Results: MX.Mailroom.Test 1; spf=fail smtp.mailfrom=x; dmarc=pass"
            ),
            SenderAuth::Verified
        );
        // DMARC for another domain than the From.
        assert_eq!(
            auth("Authentication-Results: mx.mailroom.test; dmarc=pass header.from=evil.example"),
            SenderAuth::Failed
        );
    }

    #[test]
    fn dkim_pass_must_be_aligned() {
        for (d, want) in [
            ("header.d=shop.example", SenderAuth::Verified),
            ("header.d=news.shop.example", SenderAuth::Verified),
            ("header.d=mail.news.shop.example", SenderAuth::Verified),
            ("header.i=@shop.example", SenderAuth::Verified),
            ("header.i=\"bounce@shop.example\"", SenderAuth::Verified),
            ("header.d=evil.example", SenderAuth::Failed),
            ("header.d=example", SenderAuth::Failed),
            ("header.d=notshop.example", SenderAuth::Failed),
            ("", SenderAuth::Failed),
        ] {
            let h = format!(
                "Authentication-Results: mx.mailroom.test; dkim=pass (2048-bit key) {d} header.s=s1"
            );
            assert_eq!(auth(&h), want, "{d}");
        }
        assert_eq!(
            auth("Authentication-Results: mx.mailroom.test; dkim=fail header.d=shop.example"),
            SenderAuth::Failed
        );
        // An explicit DMARC failure wins over a pass listed beside it.
        assert_eq!(
            auth(
                "Authentication-Results: mx.mailroom.test; dkim=pass header.d=shop.example; dmarc=fail"
            ),
            SenderAuth::Failed
        );
    }

    #[test]
    fn only_our_topmost_header_counts() {
        // Nothing of ours.
        assert_eq!(
            auth("Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000"),
            SenderAuth::NoResult
        );
        assert_eq!(
            auth("Authentication-Results: mx.elsewhere.test; dmarc=pass"),
            SenderAuth::NoResult
        );
        // Ours says fail; a forged "pass" with our id further down is never read.
        assert_eq!(
            auth(
                "Received: from a by b\r\nAuthentication-Results: mx.mailroom.test; dmarc=fail\r\nAuthentication-Results: mx.mailroom.test; dmarc=pass"
            ),
            SenderAuth::Failed
        );
        // Our id inside a comment or quoted string is not an authserv-id.
        assert_eq!(
            auth("Authentication-Results: (mx.mailroom.test) mx.elsewhere.test; dmarc=pass"),
            SenderAuth::NoResult
        );
        // A `From` in the body is not a header; a second `From` header is refused.
        assert_eq!(
            sender_auth(
                b"Authentication-Results: mx.mailroom.test; dmarc=pass\r\nFrom: a@shop.example\r\nFrom: b@evil.example\r\n\r\n",
                ID,
                "shop.example"
            ),
            SenderAuth::Failed
        );
    }

    #[test]
    fn parser_details() {
        let r = parse("mx.example.org (comment (nested)); none").unwrap();
        assert_eq!(r.authserv_id, "mx.example.org");
        assert!(r.methods.is_empty());
        let r = parse("a.example; dkim/1=Pass reason=\"x; y\" header.d=\"D.example\"").unwrap();
        assert_eq!(r.methods.len(), 1);
        assert_eq!(r.methods[0].method, "dkim");
        assert_eq!(r.methods[0].result, "pass");
        assert_eq!(r.methods[0].prop("header.d"), Some("D.example"));
        assert!(parse("").is_none());
        let fields = header_fields(b"A: 1\r\n  continued\r\nB:2\r\n\r\nC: 3\r\n");
        assert_eq!(
            fields,
            vec![("A".into(), "1 continued".into()), ("B".into(), "2".into())]
        );
    }
}
