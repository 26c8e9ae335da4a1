//! Labels: user-named tags kept on the server as IMAP keywords (RFC 3501 flags without a
//! backslash), so that other clients (Thunderbird, phones) see the same labels.
//!
//! A keyword must be an IMAP atom: printable ASCII without space or any of
//! `( ) { % * " \ ]`. A label name is turned into one by [`Keyword::from_name`]: a name
//! made only of atom characters (and no `&`) stays as it is, so a label made elsewhere
//! shows as itself; anything else is written like a mailbox name in modified UTF-7 (RFC
//! 3501 §5.1.3) with space and the atom-specials counted as "other" characters too, so
//! the result is always an atom (`&` → `&-`, `报告` → `&YqVUSg-`, `a b` → `a&ACA-b`).
//! [`Keyword::name`] decodes it back for display; an atom that does not decode exactly
//! (a keyword another client made, such as `R&D`) is shown as it is.
//!
//! The set of a user's labels is the keywords the server reports for their folders
//! (`FLAGS`), minus system flags and well-known `$` keywords ([`is_label`]), plus the
//! names created here (their colour setting). The server functions at the bottom rename
//! and delete a label in every folder; applying one to messages is an action
//! (`actions`), filtering by one a search key (`search`).

use std::collections::BTreeSet;

use base64::Engine as _;

use super::{
    Account, Imap, ImapError,
    command::{Cmd, SeqSet},
    conn::Conn,
    names::{MUTF7, mailbox_wire},
};

/// Longest label name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest keyword we send, in bytes (a 64-character Chinese name needs about 175).
pub const MAX_ATOM_BYTES: usize = 200;
/// Most folders one rename or delete goes through (bounded work per request).
pub const MAX_FOLDERS: usize = 500;

/// Keywords with a meaning of their own (RFC 5788 registry and common client use): they
/// are never shown or offered as labels, and cannot be made by naming a label so.
const WELL_KNOWN: &[&str] = &[
    "$forwarded",
    "$mdnsent",
    "$junk",
    "$notjunk",
    "$phishing",
    "$submitted",
    "$submitpending",
    "$hasattachment",
    "$hasnoattachment",
    "$ismailinglist",
    "$istrusted",
    "$muted",
    "$followed",
    "$notify",
    "$autosent",
    "$canunsubscribe",
    "$unsubscribed",
    "$mailflagbit0",
    "$mailflagbit1",
    "$mailflagbit2",
    "junk",
    "nonjunk",
    "notjunk",
];

/// Why a label name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Nothing but spaces.
    #[error("the label name is empty")]
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters (or an encoding over [`MAX_ATOM_BYTES`]).
    #[error("the label name is too long")]
    TooLong,
    /// Starts with `\`: that is a system flag (`\Seen`, `\Deleted`…), not a label.
    #[error("the label name starts with a backslash")]
    System,
    /// Line breaks, tabs and other control characters.
    #[error("the label name contains control characters")]
    Control,
    /// A keyword with its own meaning (`$Junk`, `$Forwarded`…).
    #[error("the label name is reserved")]
    Reserved,
}

/// An IMAP keyword that is a label: a valid atom by construction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Keyword(String);

impl Keyword {
    /// The keyword for a label name a user typed (trimmed; see the module doc).
    pub fn from_name(name: &str) -> Result<Keyword, LabelError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(LabelError::Empty);
        }
        if name.chars().any(char::is_control) {
            return Err(LabelError::Control);
        }
        if name.starts_with('\\') {
            return Err(LabelError::System);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(LabelError::TooLong);
        }
        let atom = encode(name);
        if atom.len() > MAX_ATOM_BYTES {
            return Err(LabelError::TooLong);
        }
        if !is_label(&atom) {
            return Err(LabelError::Reserved);
        }
        Ok(Keyword(atom))
    }

    /// A keyword as the server (or one of our forms) wrote it, if it is a label.
    pub fn from_atom(atom: &str) -> Option<Keyword> {
        (is_keyword_atom(atom) && atom.len() <= MAX_ATOM_BYTES && is_label(atom))
            .then(|| Keyword(atom.to_owned()))
    }

    /// The atom, as sent to the server.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The label's name for display (the decoded atom, or the atom itself).
    pub fn name(&self) -> String {
        decode(&self.0)
            .filter(|n| encode(n) == self.0)
            .unwrap_or_else(|| self.0.clone())
    }
}

/// Whether `c` may stand in an atom (RFC 3501 `ATOM-CHAR`): printable ASCII except
/// space and `( ) { % * " \ ]`.
fn is_atom_char(c: char) -> bool {
    ('!'..='~').contains(&c) && !matches!(c, '(' | ')' | '{' | '%' | '*' | '"' | '\\' | ']')
}

/// Whether `s` is a non-empty atom: what a flag keyword must be.
pub fn is_keyword_atom(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_atom_char)
}

/// Whether a keyword the server reports is a label: not a system flag (`\…`) and not a
/// well-known keyword such as `$Forwarded` or `$Junk`.
pub fn is_label(atom: &str) -> bool {
    !atom.starts_with('\\')
        && is_keyword_atom(atom)
        && !WELL_KNOWN.contains(&atom.to_ascii_lowercase().as_str())
}

/// The labels among a message's or a folder's flags, in a stable order.
pub fn labels_in<'a>(flags: impl IntoIterator<Item = &'a str>) -> Vec<Keyword> {
    let set: BTreeSet<Keyword> = flags.into_iter().filter_map(Keyword::from_atom).collect();
    set.into_iter().collect()
}

/// The labels and the `PERMANENTFLAGS` in the raw untagged lines of a SELECT or EXAMINE
/// (`* FLAGS (…)` and `* OK [PERMANENTFLAGS (…)]`).
pub(super) fn folder_flags<'a>(
    lines: impl IntoIterator<Item = &'a Vec<u8>>,
) -> (Vec<Keyword>, Vec<String>) {
    use async_imap::imap_proto::{MailboxDatum, Outcome, Response, ResponseCode};
    let (mut flags, mut permanent) = (Vec::new(), Vec::new());
    for line in lines {
        match Response::parse(line) {
            Ok((_, Response::MailboxData(MailboxDatum::Flags(f)))) => {
                flags = f.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            }
            Ok((
                _,
                Response::Data {
                    outcome:
                        Outcome {
                            code: Some(ResponseCode::PermanentFlags(f)),
                            ..
                        },
                    ..
                },
            )) => permanent = f.iter().map(|x| x.to_string()).collect(),
            _ => {}
        }
    }
    (labels_in(flags.iter().map(String::as_str)), permanent)
}

/// A flag parsed by async-imap, as the server wrote it (`\Seen`, `\*`, `Work`).
pub(super) fn flag_text(f: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match f {
        Flag::Custom(c) => c.to_string(),
        Flag::MayCreate => "\\*".to_owned(),
        other => format!("\\{other:?}"),
    }
}

/// Whether PERMANENTFLAGS let any new keyword be kept (`\*`, or none sent at all).
pub(super) fn can_create(permanent: &[String]) -> bool {
    permanent.is_empty() || permanent.iter().any(|f| f == "\\*")
}

/// Whether a folder's `PERMANENTFLAGS` let us keep `keyword` on its messages: `\*` (any
/// new keyword) or the keyword itself. A server that sent no PERMANENTFLAGS at all
/// (`permanent` empty) lets every flag be changed (RFC 3501 §7.1).
pub fn can_store(permanent: &[String], keyword: &Keyword) -> bool {
    permanent.is_empty()
        || permanent
            .iter()
            .any(|f| f == "\\*" || f.eq_ignore_ascii_case(keyword.as_str()))
}

/// Encodes a label name into an atom: direct characters stand for themselves, `&` is
/// `&-`, every run of other characters is `&` + modified base64 of UTF-16BE + `-`.
fn encode(name: &str) -> String {
    let direct = |c: char| is_atom_char(c) && c != '&';
    let mut out = String::with_capacity(name.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&MUTF7.encode(bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if direct(c) {
            flush(&mut pending, &mut out);
            out.push(c);
        } else if c == '&' {
            flush(&mut pending, &mut out);
            out.push_str("&-");
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes an atom written by [`encode`]; `None` when it is not well-formed.
fn decode(atom: &str) -> Option<String> {
    let mut out = String::with_capacity(atom.len());
    let mut rest = atom;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let shifted = &rest[amp + 1..];
        let end = shifted.find('-')?;
        let b64 = &shifted[..end];
        if b64.is_empty() {
            out.push('&');
        } else {
            let bytes = MUTF7.decode(b64).ok()?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            for c in char::decode_utf16(units) {
                let c = c.ok()?;
                if c.is_control() {
                    return None;
                }
                out.push(c);
            }
        }
        rest = &shifted[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// What renaming or deleting a label did on the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelChange {
    /// Messages changed.
    pub messages: usize,
    /// Folders in which some message changed.
    pub folders: usize,
    /// Folders where the new keyword cannot be stored (PERMANENTFLAGS): left as they were.
    pub refused: usize,
    /// Folders not looked at because of [`MAX_FOLDERS`].
    pub skipped: usize,
}

impl Imap {
    /// The labels found in `mailboxes` (UTF-8 names): the keywords each folder's
    /// `FLAGS` lists, one EXAMINE per folder (folders that cannot be opened are skipped).
    /// Dovecot keeps a keyword in `FLAGS` after the last message lost it, so callers
    /// subtract the labels the user deleted.
    pub async fn folder_labels(
        &self,
        a: &Account,
        mailboxes: &[String],
    ) -> Result<Vec<Keyword>, ImapError> {
        let wires: Vec<String> = mailboxes
            .iter()
            .take(MAX_FOLDERS)
            .filter_map(|m| mailbox_wire(m).ok())
            .collect();
        self.run(a, async move |c: &mut Conn| {
            let mut all = BTreeSet::new();
            for w in &wires {
                match c.examine(w).await {
                    Ok(mbox) => {
                        let flags: Vec<String> = mbox.flags.iter().map(flag_text).collect();
                        all.extend(labels_in(flags.iter().map(String::as_str)));
                    }
                    Err(f) if f.connection_ok() => {}
                    Err(f) => return Err(f),
                }
            }
            Ok(all.into_iter().collect::<Vec<_>>())
        })
        .await
    }

    /// Renames a label in `mailboxes`: in each folder, the messages with `old` get `new`
    /// (`UID STORE +FLAGS`) and then lose `old` (`-FLAGS`). A folder whose PERMANENTFLAGS
    /// cannot hold `new` is left untouched and counted in [`LabelChange::refused`].
    pub async fn rename_label(
        &self,
        a: &Account,
        mailboxes: &[String],
        old: &Keyword,
        new: &Keyword,
    ) -> Result<LabelChange, ImapError> {
        self.change_label(a, mailboxes, old.clone(), Some(new.clone()))
            .await
    }

    /// Removes a label from every message of `mailboxes` (`UID SEARCH KEYWORD`, then
    /// `UID STORE -FLAGS` per folder).
    pub async fn delete_label(
        &self,
        a: &Account,
        mailboxes: &[String],
        old: &Keyword,
    ) -> Result<LabelChange, ImapError> {
        self.change_label(a, mailboxes, old.clone(), None).await
    }

    /// [`Imap::rename_label`] (`new` given) and [`Imap::delete_label`].
    async fn change_label(
        &self,
        a: &Account,
        mailboxes: &[String],
        old: Keyword,
        new: Option<Keyword>,
    ) -> Result<LabelChange, ImapError> {
        let skipped = mailboxes.len().saturating_sub(MAX_FOLDERS);
        let wires: Vec<String> = mailboxes
            .iter()
            .take(MAX_FOLDERS)
            .filter_map(|m| mailbox_wire(m).ok())
            .collect();
        self.run(a, async move |c: &mut Conn| {
            let mut change = LabelChange {
                skipped,
                ..LabelChange::default()
            };
            for w in &wires {
                let mbox = match c.select(w).await {
                    Ok(m) => m,
                    Err(f) if f.connection_ok() => continue,
                    Err(f) => return Err(f),
                };
                if mbox.exists == 0 {
                    continue;
                }
                let search = Cmd::new("UID SEARCH KEYWORD").keyword(old.as_str());
                let uids = c.search(&search).await?;
                if uids.is_empty() {
                    continue;
                }
                let set = SeqSet::list(&uids);
                if let Some(new) = &new {
                    let permanent: Vec<String> =
                        mbox.permanent_flags.iter().map(flag_text).collect();
                    if !can_store(&permanent, new) {
                        change.refused += 1;
                        continue;
                    }
                    let add = Cmd::new("UID STORE")
                        .set(&set)
                        .atom("+FLAGS.SILENT")
                        .list(Cmd::fragment().keyword(new.as_str()));
                    c.command(&add, |_| {}).await?;
                }
                let remove = Cmd::new("UID STORE")
                    .set(&set)
                    .atom("-FLAGS.SILENT")
                    .list(Cmd::fragment().keyword(old.as_str()));
                c.command(&remove, |_| {}).await?;
                change.messages += uids.len();
                change.folders += 1;
            }
            Ok(change)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(name: &str) -> String {
        let k = Keyword::from_name(name).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert!(is_keyword_atom(k.as_str()), "{name:?} → {:?}", k.as_str());
        assert_eq!(k.name(), name.trim(), "{name:?} → {:?}", k.as_str());
        assert_eq!(Keyword::from_atom(k.as_str()), Some(k.clone()));
        k.as_str().to_owned()
    }

    #[test]
    fn atom_safe_ascii_names_stay_as_they_are() {
        for name in ["Work", "todo-2026", "$label1", "a.b_c+d", "[x"] {
            assert_eq!(round_trip(name), name);
        }
    }

    #[test]
    fn everything_else_is_encoded_into_an_atom_and_back() {
        assert_eq!(round_trip("报告"), "&YqVUSg-");
        assert_eq!(round_trip("R&D"), "R&-D");
        assert_eq!(round_trip("to do"), "to&ACA-do");
        for name in [
            "工作 项目",
            "a\\b",
            "100%",
            "*star*",
            "x]",
            "(paren)",
            "{brace}",
            "say \"hi\"",
            "&YqVUSg-",
            "&-",
            "&",
            "emoji 😀",
            "  padded  ",
            "日本語とEnglish混在",
        ] {
            round_trip(name);
        }
        // A name that looks encoded is itself encoded, so it does not turn into 报告.
        assert_ne!(round_trip("&YqVUSg-"), "&YqVUSg-");
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(Keyword::from_name(""), Err(LabelError::Empty));
        assert_eq!(Keyword::from_name("   "), Err(LabelError::Empty));
        assert_eq!(Keyword::from_name("\\Seen"), Err(LabelError::System));
        assert_eq!(Keyword::from_name("\\Deleted"), Err(LabelError::System));
        assert_eq!(Keyword::from_name("a\r\nb"), Err(LabelError::Control));
        assert_eq!(Keyword::from_name("a\0"), Err(LabelError::Control));
        assert_eq!(Keyword::from_name("$Junk"), Err(LabelError::Reserved));
        assert_eq!(Keyword::from_name("$forwarded"), Err(LabelError::Reserved));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(Keyword::from_name(&long), Err(LabelError::TooLong));
        assert!(Keyword::from_name(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        // The longest Chinese name still fits the atom cap.
        let chinese = "报".repeat(MAX_NAME_CHARS);
        assert!(Keyword::from_name(&chinese).is_ok_and(|k| k.as_str().len() <= MAX_ATOM_BYTES));
        let astral = "😀".repeat(MAX_NAME_CHARS);
        assert_eq!(Keyword::from_name(&astral), Err(LabelError::TooLong));
    }

    #[test]
    fn server_keywords_that_are_labels() {
        assert!(is_label("Work") && is_label("$label1") && is_label("R&D"));
        for not in [
            "\\Seen",
            "$Forwarded",
            "$MDNSent",
            "$Junk",
            "NonJunk",
            "",
            "a b",
            "x)",
        ] {
            assert!(!is_label(not), "{not:?}");
        }
        // A foreign keyword that is not our encoding shows as itself.
        assert_eq!(
            Keyword::from_atom("R&D").map(|k| k.name()),
            Some("R&D".into())
        );
        assert_eq!(
            Keyword::from_atom("&ZZZ").map(|k| k.name()),
            Some("&ZZZ".into())
        );
        let flags = ["\\Seen", "Work", "$Forwarded", "&YqVUSg-", "Work"];
        let labels: Vec<String> = labels_in(flags).iter().map(Keyword::name).collect();
        assert_eq!(
            labels,
            ["&YqVUSg-", "Work"].map(|a| Keyword(a.into()).name())
        );
    }

    #[test]
    fn flags_and_permanent_flags_of_a_select() {
        let lines: Vec<Vec<u8>> = [
            "* FLAGS (\\Answered \\Seen $Forwarded Work &YqVUSg-)\r\n",
            "* OK [PERMANENTFLAGS (\\Seen Work \\*)] Flags permitted.\r\n",
            "* 3 EXISTS\r\n",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        let (labels, permanent) = folder_flags(&lines);
        let names: Vec<String> = labels.iter().map(Keyword::name).collect();
        assert_eq!(names, ["报告", "Work"]);
        assert_eq!(permanent, ["\\Seen", "Work", "\\*"]);
    }

    #[test]
    fn permanent_flags_decide_whether_a_keyword_can_be_kept() {
        let k = Keyword::from_name("Work").unwrap();
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(can_store(&own(&["\\Seen", "\\*"]), &k));
        assert!(can_store(&own(&["\\Seen", "work"]), &k));
        assert!(!can_store(&own(&["\\Seen", "\\Deleted"]), &k));
        assert!(can_store(&[], &k));
        assert!(can_create(&own(&["\\Seen", "\\*"])) && can_create(&[]));
        assert!(!can_create(&own(&["\\Seen", "Work"])));
    }
}
