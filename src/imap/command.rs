//! The one way to write an IMAP command, and the one way to read how it ended.
//!
//! [`Cmd`] builds a command line (without its tag) piece by piece. Protocol syntax comes
//! in only as `&'static str` constants, [`SeqSet`]s and dates; anything a user or a
//! server could have influenced (folder names, search text, addresses, Message-IDs) goes
//! through [`Cmd::mailbox`], [`Cmd::string`] or [`Cmd::text`], which quote it (or send a
//! literal) and refuse CR, LF, NUL and other control characters. A refused piece does
//! not panic: the command remembers the error and [`Cmd::line`] returns it, so the
//! connection never sends it. Fragments (search keys, a list of items) are `Cmd`s too
//! ([`Cmd::fragment`]) and join with [`Cmd::then`] or [`Cmd::list`].
//!
//! [`Tagged::parse`] reads the tagged end of a reply (`OK`/`NO`/`BAD`, an optional
//! `[response code]`, the text) for every command we send; [`Tagged::result`] turns it
//! into the [`Failure`] the pool understands.
//!
//! No I/O here: [`super::conn::Conn`] sends what this builds.

use std::fmt::Write as _;

use super::{ImapError, conn::Failure};

/// Longest text a [`LiteralMode::LiteralMinus`] server takes as a non-synchronizing
/// literal (RFC 7888).
const LITERAL_MINUS_MAX: usize = 4096;
/// How much of a server's text we keep for logs and errors.
const MAX_TEXT: usize = 200;

/// How a server takes 8-bit text in a string argument (its LITERAL+ / LITERAL-).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralMode {
    /// Neither: 8-bit text goes quoted, which RFC 3501 does not allow but Dovecot, Cyrus
    /// and Courier accept (better than failing).
    Quoted,
    /// LITERAL+: non-synchronizing literals of any size.
    LiteralPlus,
    /// LITERAL-: non-synchronizing literals up to 4096 bytes.
    LiteralMinus,
}

impl LiteralMode {
    /// From the capabilities: `plus` = LITERAL+, `minus` = LITERAL-.
    pub fn from_caps(plus: bool, minus: bool) -> LiteralMode {
        match (plus, minus) {
            (true, _) => LiteralMode::LiteralPlus,
            (false, true) => LiteralMode::LiteralMinus,
            (false, false) => LiteralMode::Quoted,
        }
    }
}

/// A message sequence set or UID set: only digits, `:`, `,` and `*` by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqSet(String);

impl SeqSet {
    /// One number.
    pub fn one(n: u32) -> SeqSet {
        SeqSet(n.to_string())
    }

    /// `lo:hi`.
    pub fn range(lo: u32, hi: u32) -> SeqSet {
        SeqSet(format!("{lo}:{hi}"))
    }

    /// `n:*`: from `n` to the last message.
    pub fn from(n: u32) -> SeqSet {
        SeqSet(format!("{n}:*"))
    }

    /// `1:*`: every message.
    pub fn all() -> SeqSet {
        SeqSet::from(1)
    }

    /// These numbers, with runs compressed (`1:3,7`); any order, duplicates allowed.
    /// Callers never send an empty set (it is not valid IMAP); it comes out as `""`.
    pub fn list(numbers: &[u32]) -> SeqSet {
        SeqSet(super::messages::uid_set(numbers))
    }

    /// As written on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One command line under construction (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct Cmd {
    /// What goes on the wire after the tag, without the final CRLF.
    line: String,
    /// The first piece that was refused, if any: then nothing is sent.
    error: Option<ImapError>,
}

impl Cmd {
    /// A command starting with its name, e.g. `"UID FETCH"` or `"LIST \"\""`.
    pub fn new(verb: &'static str) -> Cmd {
        Cmd::fragment().atom(verb)
    }

    /// An empty fragment, for arguments built apart (search keys, criteria).
    pub fn fragment() -> Cmd {
        Cmd::default()
    }

    /// The command's name for counting: its first word, two for `UID …` (always a
    /// fixed string of ours: user text comes later in the line).
    pub fn name(&self) -> &str {
        let mut words = self.line.splitn(3, ' ');
        match (words.next(), words.next()) {
            (Some(uid), Some(verb)) if uid.eq_ignore_ascii_case("UID") => {
                &self.line[..uid.len() + 1 + verb.len()]
            }
            (Some(verb), _) => verb,
            _ => "",
        }
    }

    /// Whether nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.line.is_empty()
    }

    /// Appends `piece` after a space (none at the start or right after `(`).
    fn push(mut self, piece: &str) -> Cmd {
        if !self.line.is_empty() && !self.line.ends_with('(') && !piece.starts_with(')') {
            self.line.push(' ');
        }
        self.line.push_str(piece);
        self
    }

    /// Remembers the first refusal.
    fn refuse(mut self, e: ImapError) -> Cmd {
        self.error.get_or_insert(e);
        self
    }

    /// Protocol syntax: a keyword, fetch items, flags, a parenthesis. Only constants.
    pub fn atom(self, syntax: &'static str) -> Cmd {
        self.push(syntax)
    }

    /// A sequence or UID set.
    pub fn set(self, set: &SeqSet) -> Cmd {
        self.push(set.as_str())
    }

    /// `lo:hi` (for `PARTIAL`, `UID 1:n` search keys…).
    pub fn range(self, lo: u32, hi: u32) -> Cmd {
        self.set(&SeqSet::range(lo, hi))
    }

    /// A mailbox name already in wire form (modified UTF-7, see `names::mailbox_wire`),
    /// quoted. Control characters make it [`ImapError::InvalidName`].
    pub fn mailbox(self, wire: &str) -> Cmd {
        if wire.chars().any(char::is_control) {
            return self.refuse(ImapError::InvalidName);
        }
        let quoted = quote(wire);
        self.push(&quoted)
    }

    /// A flag keyword (a label, see `labels`): sent bare, so it must be an atom (RFC
    /// 3501: printable ASCII without space or `( ) { % * " \\ ]`) that is not a system
    /// flag. Anything else makes the command fail with [`ImapError::Protocol`].
    pub fn keyword(self, atom: &str) -> Cmd {
        if !super::labels::is_keyword_atom(atom) {
            return self.refuse(ImapError::Protocol("not a keyword atom".into()));
        }
        self.push(atom)
    }

    /// Any other string, quoted (`"` and `\` escaped). CR, LF, NUL or another control
    /// character make the command fail with [`ImapError::Protocol`] instead.
    pub fn string(self, text: &str) -> Cmd {
        if text.chars().any(char::is_control) {
            return self.refuse(ImapError::Protocol(
                "a control character in a command argument".into(),
            ));
        }
        let quoted = quote(text);
        self.push(&quoted)
    }

    /// Text a user typed (a search, an address): quoted when it is printable ASCII, else
    /// a non-synchronizing literal (`{n+}` CRLF bytes, RFC 7888) when `mode` allows one.
    /// Control characters are refused as in [`Cmd::string`].
    pub fn text(self, text: &str, mode: LiteralMode) -> Cmd {
        let ascii = text.bytes().all(|b| (0x20..0x7f).contains(&b));
        let literal = match mode {
            LiteralMode::Quoted => false,
            LiteralMode::LiteralPlus => true,
            LiteralMode::LiteralMinus => text.len() <= LITERAL_MINUS_MAX,
        };
        if ascii || !literal || text.chars().any(char::is_control) {
            return self.string(text);
        }
        let mut piece = String::with_capacity(text.len() + 12);
        let _ = write!(piece, "{{{}+}}\r\n{text}", text.len());
        self.push(&piece)
    }

    /// An RFC 3501 date (`1-Nov-2026`; chrono's `%b` is always English, as IMAP wants).
    pub fn date(self, d: chrono::NaiveDate) -> Cmd {
        let text = d.format("%-d-%b-%Y").to_string();
        self.push(&text)
    }

    /// Appends a fragment as it is (its refusal, if any, carries over).
    pub fn then(self, fragment: Cmd) -> Cmd {
        let Cmd { line, error } = fragment;
        let mut out = if line.is_empty() {
            self
        } else {
            self.push(&line)
        };
        if let Some(e) = error {
            out = out.refuse(e);
        }
        out
    }

    /// Appends a fragment in parentheses: `(…)`.
    pub fn list(self, fragment: Cmd) -> Cmd {
        self.atom("(").then(fragment).atom(")")
    }

    /// Ends the line with a synchronizing literal's announcement `{n}` (APPEND): the
    /// bytes follow once the server says go ahead (see `Conn::append`).
    pub fn literal_announcement(mut self, n: usize) -> Cmd {
        let _ = write!(self.line, " {{{n}}}");
        self
    }

    /// The line to send, or why it must not be sent.
    pub fn line(&self) -> Result<&str, ImapError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(&self.line),
        }
    }
}

/// Wraps a string into an IMAP quoted string, escaping `\` and `"`. Callers go through
/// [`Cmd`], which has checked for characters a quoted string cannot carry; the one
/// exception is LOGIN's password, which `conn` checks itself and injects below
/// async-imap (see `transport`).
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `OK`.
    Ok,
    /// `NO`: refused; the connection is fine.
    No,
    /// `BAD`: not understood (or anything we cannot read as OK or NO).
    Bad,
}

/// The tagged line that ends a command's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    /// OK, NO or BAD.
    pub status: Status,
    /// The response code without its brackets, e.g. `APPENDUID 38505 3955`.
    pub code: Option<String>,
    /// The human-readable rest, shortened for logs.
    pub text: String,
}

impl Tagged {
    /// Parses what follows the tag and its space: `OK [CODE args] text` CRLF.
    pub fn parse(rest: &[u8]) -> Tagged {
        let rest = String::from_utf8_lossy(rest);
        let rest = rest.trim_end_matches(['\r', '\n']);
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = match word.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            _ => Status::Bad,
        };
        let (code, text) = match after.strip_prefix('[').and_then(|a| a.split_once(']')) {
            Some((code, text)) => (Some(code.to_owned()), text.trim_start()),
            None => (None, after),
        };
        Tagged {
            status,
            code,
            text: text.chars().take(MAX_TEXT).collect(),
        }
    }

    /// If `line` is the tagged end for `tag`, that end.
    pub fn of(line: &[u8], tag: &str) -> Option<Tagged> {
        let t = tag.as_bytes();
        (line.len() > t.len() && line.starts_with(t) && line[t.len()] == b' ')
            .then(|| Tagged::parse(&line[t.len() + 1..]))
    }

    /// `Ok(self)` for OK; otherwise the [`Failure`] that NO or BAD means.
    pub fn result(self) -> Result<Tagged, Failure> {
        match self.status {
            Status::Ok => Ok(self),
            Status::No => Err(Failure::Rejected {
                bad: false,
                text: self.text,
            }),
            Status::Bad => Err(Failure::Rejected {
                bad: true,
                text: self.text,
            }),
        }
    }

    /// The UID from an `APPENDUID uidvalidity uid` code (RFC 4315).
    pub fn append_uid(&self) -> Option<u32> {
        let code = self.code.as_deref()?;
        let (name, args) = code.split_once(' ')?;
        if !name.eq_ignore_ascii_case("APPENDUID") {
            return None;
        }
        let set = args.split_whitespace().nth(1)?;
        // A single APPEND gets one UID; take the first of a set all the same.
        let first = set.split([',', ':']).next()?;
        first.parse().ok()
    }

    /// Where COPY or MOVE put the messages, from a `COPYUID uidvalidity src dst` code
    /// (RFC 4315): each source UID paired with its new UID in the target folder.
    pub fn copy_uid(&self) -> Option<CopyUid> {
        let code = self.code.as_deref()?;
        let mut words = code.split_whitespace();
        if !words.next()?.eq_ignore_ascii_case("COPYUID") {
            return None;
        }
        let uidvalidity = words.next()?.parse().ok()?;
        let src = uid_set(words.next()?)?;
        let dst = uid_set(words.next()?)?;
        (src.len() == dst.len()).then(|| CopyUid {
            uidvalidity,
            pairs: src.into_iter().zip(dst).collect(),
        })
    }
}

/// A `COPYUID` response code: the target folder's UIDVALIDITY and (old, new) UID pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyUid {
    pub uidvalidity: u32,
    pub pairs: Vec<(u32, u32)>,
}

/// The UIDs of a sequence set such as `3:5,9` in the order the server wrote them, or
/// `None` when it is malformed or names more than [`MAX_SET_UIDS`] (a server's answer is
/// untrusted: `1:4294967295` must not allocate gigabytes).
fn uid_set(s: &str) -> Option<Vec<u32>> {
    const MAX_SET_UIDS: u64 = 10_000;
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        let (lo, hi) = (a.min(b), a.max(b));
        if out.len() as u64 + u64::from(hi - lo) + 1 > MAX_SET_UIDS {
            return None;
        }
        // RFC 4315: a range in the source set matches the range in the target set in
        // ascending order, whichever way round the server wrote it.
        out.extend(lo..=hi);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: &Cmd) -> &str {
        c.line().unwrap()
    }

    #[test]
    fn copyuid_pairs_old_and_new_uids_and_refuses_hostile_sets() {
        let t = Tagged::parse(b"OK [COPYUID 38505 304,319:320 3956:3958] Done");
        assert_eq!(
            t.copy_uid(),
            Some(CopyUid {
                uidvalidity: 38505,
                pairs: vec![(304, 3956), (319, 3957), (320, 3958)]
            })
        );
        for bad in [
            "OK [COPYUID 1 1:4294967295 1:4294967295] huge",
            "OK [COPYUID 1 1,2 7] counts differ",
            "OK [COPYUID x 1 2] not a number",
            "OK [APPENDUID 1 2] another code",
            "OK no code",
        ] {
            assert_eq!(Tagged::parse(bad.as_bytes()).copy_uid(), None, "{bad}");
        }
    }

    #[test]
    fn pieces_are_spaced_and_lists_are_tight() {
        let c = Cmd::new("UID SORT")
            .atom("RETURN")
            .list(Cmd::fragment().atom("PARTIAL").range(1, 50).atom("COUNT"))
            .atom("(REVERSE DATE) UTF-8 ALL");
        assert_eq!(
            line(&c),
            "UID SORT RETURN (PARTIAL 1:50 COUNT) (REVERSE DATE) UTF-8 ALL"
        );
        let c = Cmd::new("UID FETCH")
            .set(&SeqSet::list(&[7, 1, 2, 3]))
            .atom("(UID FLAGS)");
        assert_eq!(line(&c), "UID FETCH 1:3,7 (UID FLAGS)");
        assert_eq!(line(&Cmd::new("FETCH").set(&SeqSet::all())), "FETCH 1:*");
        assert_eq!(line(&Cmd::new("X").list(Cmd::fragment())), "X ()");
        let create = Cmd::new("CREATE")
            .mailbox("Archive")
            .atom("(USE")
            .list(Cmd::fragment().atom("\\Archive"))
            .atom(")");
        assert_eq!(line(&create), "CREATE \"Archive\" (USE (\\Archive))");
        let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            line(&Cmd::new("S SENTSINCE").date(since)),
            "S SENTSINCE 1-Nov-2026"
        );
        assert_eq!(line(&Cmd::new("A").then(Cmd::fragment())), "A");
    }

    #[test]
    fn strings_are_quoted_with_escapes() {
        let c = Cmd::new("SELECT").mailbox(r#"we"ird\name"#);
        assert_eq!(line(&c), r#"SELECT "we\"ird\\name""#);
        let c = Cmd::new("SETACL").mailbox("INBOX").string(r#"bo"b\"#);
        assert_eq!(line(&c), r#"SETACL "INBOX" "bo\"b\\""#);
        assert_eq!(line(&Cmd::new("LIST \"\"").string("")), r#"LIST "" """#);
    }

    #[test]
    fn crlf_and_nul_are_refused_never_sent() {
        let evil = "x\r\nA1 DELETE INBOX";
        let c = Cmd::new("SELECT").mailbox(evil);
        assert_eq!(c.line(), Err(ImapError::InvalidName));
        for bad in [evil, "a\nb", "nul\0", "bell\u{7}"] {
            let c = Cmd::new("UID SEARCH").atom("SUBJECT").string(bad);
            assert!(matches!(c.line(), Err(ImapError::Protocol(_))), "{bad:?}");
            let c = Cmd::new("UID SEARCH").text(bad, LiteralMode::LiteralPlus);
            assert!(c.line().is_err(), "{bad:?}");
        }
        // A refused piece inside a fragment refuses the whole command, and the first
        // refusal wins.
        let keys = Cmd::fragment().atom("OR").string("ok").string("not\r\nok");
        let c = Cmd::new("UID SEARCH").then(keys).mailbox("a\nb");
        assert!(matches!(c.line(), Err(ImapError::Protocol(_))));
        let c = Cmd::new("X").list(Cmd::fragment().mailbox("\0"));
        assert_eq!(c.line(), Err(ImapError::InvalidName));
    }

    #[test]
    fn keywords_are_bare_atoms_or_refused() {
        let c = Cmd::new("UID STORE")
            .set(&SeqSet::one(3))
            .atom("+FLAGS.SILENT")
            .list(Cmd::fragment().keyword("Work"));
        assert_eq!(line(&c), "UID STORE 3 +FLAGS.SILENT (Work)");
        for bad in [
            "",
            "a b",
            "x)",
            "\\Seen",
            "a\r\nA1 DELETE INBOX",
            "\"q\"",
            "%",
            "*",
            "]",
            "{3}",
            "中",
        ] {
            let c = Cmd::new("UID SEARCH KEYWORD").keyword(bad);
            assert!(matches!(c.line(), Err(ImapError::Protocol(_))), "{bad:?}");
        }
    }

    #[test]
    fn eight_bit_text_is_a_literal_where_the_server_takes_one() {
        let c = |mode| Cmd::new("UID SEARCH CHARSET UTF-8 SUBJECT").text("中文", mode);
        assert_eq!(
            line(&c(LiteralMode::LiteralPlus)),
            "UID SEARCH CHARSET UTF-8 SUBJECT {6+}\r\n中文"
        );
        assert_eq!(
            line(&c(LiteralMode::LiteralMinus)),
            "UID SEARCH CHARSET UTF-8 SUBJECT {6+}\r\n中文"
        );
        assert_eq!(
            line(&c(LiteralMode::Quoted)),
            "UID SEARCH CHARSET UTF-8 SUBJECT \"中文\""
        );
        // LITERAL- stops at 4096 bytes; ASCII is always quoted.
        let long = "é".repeat(3000);
        let c = Cmd::new("S").text(&long, LiteralMode::LiteralMinus);
        assert!(line(&c).starts_with("S \"é"));
        let c = Cmd::new("S").text("a\"b", LiteralMode::LiteralPlus);
        assert_eq!(line(&c), r#"S "a\"b""#);
        assert_eq!(
            LiteralMode::from_caps(false, true),
            LiteralMode::LiteralMinus
        );
    }

    #[test]
    fn tagged_statuses_codes_and_texts() {
        let ok = Tagged::parse(b"OK [APPENDUID 38505 3955] APPEND completed\r\n");
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.code.as_deref(), Some("APPENDUID 38505 3955"));
        assert_eq!(ok.text, "APPEND completed");
        assert_eq!(ok.append_uid(), Some(3955));
        assert_eq!(
            Tagged::parse(b"ok [appenduid 1 7:9] x").append_uid(),
            Some(7)
        );
        let no = Tagged::parse(b"NO [NONEXISTENT] Mailbox doesn't exist\r\n");
        assert_eq!(no.status, Status::No);
        assert_eq!(no.code.as_deref(), Some("NONEXISTENT"));
        assert!(matches!(
            no.result(),
            Err(Failure::Rejected { bad: false, .. })
        ));
        let bad = Tagged::parse(b"BAD Error in IMAP command");
        assert_eq!((bad.status, bad.code.clone()), (Status::Bad, None));
        assert!(matches!(
            bad.result(),
            Err(Failure::Rejected { bad: true, .. })
        ));
        // Anything else counts as BAD; a bare status and long texts are fine.
        assert_eq!(Tagged::parse(b"WHAT").status, Status::Bad);
        assert_eq!(Tagged::parse(b"OK").text, "");
        let long = format!("NO {}", "x".repeat(1000));
        assert_eq!(Tagged::parse(long.as_bytes()).text.len(), MAX_TEXT);
        assert!(Tagged::parse(b"OK done").result().is_ok());
    }

    #[test]
    fn the_tag_must_match_exactly() {
        assert!(Tagged::of(b"A12 OK done\r\n", "A12").is_some());
        assert!(Tagged::of(b"A123 OK done\r\n", "A12").is_none());
        assert!(Tagged::of(b"* OK done\r\n", "A12").is_none());
        assert!(Tagged::of(b"A12", "A12").is_none());
    }
}
