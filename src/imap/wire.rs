//! Raw IMAP replies for what async-imap cannot parse (NAMESPACE, THREAD, ESEARCH):
//! untagged responses read as [`Value`] trees, and the [`Reply`] of one pipelined
//! command (see `Conn::pipeline`).
//!
//! imap-proto has no parser for NAMESPACE or THREAD, and a reply it cannot parse wedges
//! async-imap's buffer, so those replies are read as raw lines (see
//! [`super::conn::Conn::command_raw`]) and turned into [`Value`] trees here. Writing
//! commands is `command`'s job. Everything here is pure and unit-tested.

use super::conn::Failure;

/// Deepest list nesting we follow (a THREAD reply nests one level per branch); deeper
/// input is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;
/// Largest literal we accept inside a value, whatever the server announces.
const MAX_LITERAL: usize = 1024 * 1024;

/// One value of an untagged response: the IMAP data model without its syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `NIL`.
    Nil,
    /// A number, keyword or other atom, as written.
    Atom(String),
    /// A quoted string (unescaped) or a literal, as bytes.
    Str(Vec<u8>),
    /// A parenthesised list.
    List(Vec<Value>),
}

impl Value {
    /// The value as text: strings and atoms (lossy UTF-8); `None` for `NIL` and lists.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Atom(a) => Some(a.clone()),
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            Value::Nil | Value::List(_) => None,
        }
    }

    /// The items of a list; empty for anything else.
    pub fn items(&self) -> &[Value] {
        match self {
            Value::List(items) => items,
            _ => &[],
        }
    }

    /// The value as a number, if it is an atom of digits.
    pub fn number(&self) -> Option<u64> {
        match self {
            Value::Atom(a) => a.parse().ok(),
            _ => None,
        }
    }
}

/// Parses `* <NAME> <values…>` (case-insensitive name); `None` when the line is another
/// response or malformed.
pub fn untagged(line: &[u8], name: &str) -> Option<Vec<Value>> {
    let rest = line.strip_prefix(b"* ")?;
    let head = rest.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name.as_bytes()) {
        return None;
    }
    let rest = &rest[name.len()..];
    // The name must end here: `* SEARCHX` is not `* SEARCH`.
    match rest.first() {
        None | Some(b' ' | b'\r' | b'\n') => parse_values(rest),
        _ => None,
    }
}

/// Parses `* <n> FETCH (<item> <value> …)` into its item names (upper-cased) and values;
/// `None` for other responses or a malformed line.
pub fn fetch_items(line: &[u8]) -> Option<Vec<(String, Value)>> {
    let rest = line.strip_prefix(b"* ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest.get(digits..)?.strip_prefix(b" ")?;
    let head = rest.get(..6)?;
    if digits == 0 || !head.eq_ignore_ascii_case(b"FETCH ") {
        return None;
    }
    let values = parse_values(&rest[6..])?;
    let [Value::List(items)] = values.as_slice() else {
        return None;
    };
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.iter();
    while let (Some(Value::Atom(name)), Some(value)) = (it.next(), it.next()) {
        out.push((name.to_ascii_uppercase(), value.clone()));
    }
    Some(out)
}

/// Parses a sequence of values up to the end of the line.
pub fn parse_values(input: &[u8]) -> Option<Vec<Value>> {
    let mut p = Parser { s: input, pos: 0 };
    let values = p.sequence(0)?;
    p.skip_spaces();
    // Only the line end may remain.
    p.s[p.pos..]
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n'))
        .then_some(values)
}

/// A cursor over one response line (literals included).
struct Parser<'a> {
    /// The whole line.
    s: &'a [u8],
    /// Where we are.
    pos: usize,
}

impl Parser<'_> {
    /// Values until `)` (inside a list, `depth > 0`) or the line end.
    fn sequence(&mut self, depth: usize) -> Option<Vec<Value>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            match self.s.get(self.pos) {
                None | Some(b'\r' | b'\n') => {
                    return if depth == 0 { Some(out) } else { None };
                }
                Some(b')') => {
                    if depth == 0 {
                        return None;
                    }
                    self.pos += 1;
                    return Some(out);
                }
                Some(b'(') => {
                    self.pos += 1;
                    out.push(Value::List(self.sequence(depth + 1)?));
                }
                Some(b'"') => out.push(self.quoted()?),
                Some(b'{') => out.push(self.literal()?),
                Some(_) => out.push(self.atom()?),
            }
        }
    }

    fn skip_spaces(&mut self) {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// `"…"` with `\"` and `\\` escapes.
    fn quoted(&mut self) -> Option<Value> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match *self.s.get(self.pos)? {
                b'\\' => {
                    out.push(*self.s.get(self.pos + 1)?);
                    self.pos += 2;
                }
                b'"' => {
                    self.pos += 1;
                    return Some(Value::Str(out));
                }
                b'\r' | b'\n' => return None,
                b => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    /// `{n}` CRLF then n bytes (`{n+}` too, as a server would not send it but may echo).
    fn literal(&mut self) -> Option<Value> {
        let rest = &self.s[self.pos..];
        let close = rest.iter().position(|&b| b == b'}')?;
        let digits = std::str::from_utf8(&rest[1..close]).ok()?;
        let n: usize = digits.trim_end_matches('+').parse().ok()?;
        if n > MAX_LITERAL || rest.get(close + 1..close + 3)? != b"\r\n" {
            return None;
        }
        let start = self.pos + close + 3;
        let bytes = self.s.get(start..start.checked_add(n)?)?;
        self.pos = start + n;
        Some(Value::Str(bytes.to_vec()))
    }

    /// Anything up to a space, a parenthesis or the line end; `NIL` becomes [`Value::Nil`].
    fn atom(&mut self) -> Option<Value> {
        let rest = &self.s[self.pos..];
        let end = rest
            .iter()
            .position(|b| matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n' | b'"' | b'{'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let atom = std::str::from_utf8(&rest[..end]).ok()?;
        self.pos += end;
        Some(if atom.eq_ignore_ascii_case("NIL") {
            Value::Nil
        } else {
            Value::Atom(atom.to_owned())
        })
    }
}

/// Whether `text` may be sent at all: no CR, LF or NUL (they cannot be quoted and would
/// end the command early) and no other control characters.
pub fn sendable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// The reply to one pipelined command: its untagged lines and how it ended.
#[derive(Debug)]
pub struct Reply {
    /// Untagged lines received while this command was the oldest unfinished one, and
    /// ESEARCH lines that name it in their `TAG` correlator.
    pub lines: Vec<Vec<u8>>,
    /// `Ok` for a tagged OK; the server's NO or BAD otherwise.
    pub status: Result<(), Failure>,
}

/// The tag an `* ESEARCH (TAG "x") …` line names.
pub(super) fn esearch_tag(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?;
    let head = line.get(..9)?;
    if !head.eq_ignore_ascii_case("* ESEARCH") {
        return None;
    }
    let rest = line[9..].trim_start();
    let rest = rest.strip_prefix('(')?.trim_start();
    let key = rest.get(..3)?;
    if !key.eq_ignore_ascii_case("TAG") {
        return None;
    }
    let value = rest[3..].trim_start().strip_prefix('"')?;
    value.split_once('"').map(|(t, _)| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.as_bytes().to_vec())
    }

    #[test]
    fn esearch_correlators() {
        assert_eq!(
            esearch_tag(b"* ESEARCH (TAG \"A12\") UID MAX 4\r\n").as_deref(),
            Some("A12")
        );
        assert_eq!(esearch_tag(b"* esearch (tag \"x\")").as_deref(), Some("x"));
        assert_eq!(esearch_tag(b"* ESEARCH UID MAX 4"), None);
        assert_eq!(esearch_tag(b"* 5 FETCH (UID 5)"), None);
    }

    #[test]
    fn namespace_reply() {
        let v = untagged(
            b"* NAMESPACE ((\"\" \"/\")) ((\"shared/\" \"/\")) ((\"Public/\" \"/\"))\r\n",
            "NAMESPACE",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[1],
            Value::List(vec![Value::List(vec![s("shared/"), s("/")])])
        );
        let v = untagged(b"* namespace ((\"\" NIL)) NIL NIL", "NAMESPACE").unwrap();
        assert_eq!(v[1], Value::Nil);
        assert_eq!(v[0].items()[0].items()[1], Value::Nil);
    }

    #[test]
    fn thread_reply_without_spaces_between_lists() {
        let v = untagged(b"* THREAD (4)(1)(2 3 (6)(7 8))\r\n", "THREAD").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].items().len(), 4);
        assert_eq!(v[2].items()[3].items()[1].number(), Some(8));
        assert_eq!(untagged(b"* THREAD\r\n", "THREAD").unwrap(), vec![]);
    }

    #[test]
    fn quoted_escapes_and_literals() {
        let v = parse_values(b"\"a\\\"b\\\\c\" {5}\r\nhe\"lo NIL x").unwrap();
        assert_eq!(
            v,
            vec![
                s("a\"b\\c"),
                s("he\"lo"),
                Value::Nil,
                Value::Atom("x".into())
            ]
        );
    }

    #[test]
    fn malformed_input_is_refused_not_panicking() {
        for bad in [
            &b"(1 2"[..],
            b"1 2)",
            b"\"open",
            b"{5}\r\nab",
            b"{99999999999}\r\n",
            b"{x}\r\n",
            b"\"a\r\nb\"",
        ] {
            assert_eq!(
                parse_values(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{}{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(parse_values(deep.as_bytes()), None);
        assert_eq!(untagged(b"* THREADS (1)", "THREAD"), None);
        assert_eq!(untagged(b"* OK done", "THREAD"), None);
    }

    #[test]
    fn sendable_text_has_no_control_characters() {
        assert!(sendable("报告 2026") && !sendable("a\u{0}") && !sendable("a\tb"));
    }
}
