//! Folder management: create (also nested), rename or move under another parent,
//! delete, subscribe and unsubscribe.
//!
//! Names are UTF-8 here as everywhere in this API; `names` turns them into modified
//! UTF-7 and quoted strings, so Chinese, spaces, quotes and `&` all work. A name typed
//! by the user is *one* level: the parent is chosen separately, so the hierarchy
//! delimiter inside a typed name is refused rather than silently creating levels. The
//! same goes for the LIST wildcards `*` and `%` (a folder with one in its name cannot be
//! listed reliably), control characters, `.`/`..`, and names whose wire form is too long
//! for the server's filesystem. See [`validate_name`].
//!
//! INBOX and the special-use folders (Drafts, Sent, Trash, Junk, Archive) cannot be
//! renamed or deleted from here: other clients and the server's own rules rely on them.
//! Deleting a folder deletes its subfolders too (deepest first), because IMAP servers
//! differ on what DELETE does to a folder with children. Subscriptions follow renames
//! and deletions, whatever the server does about them itself.
//!
//! A parent is a folder *name*, never a LIST pattern: whether it exists is decided by an
//! exact match on what LIST returns, so `X*` or `%` from a form is just a name that does
//! not exist. A top-level folder lives under the personal namespace's prefix (NAMESPACE):
//! empty on Dovecot, `INBOX.` on Cyrus with its default namespace, where a bare top-level
//! name is refused ("Permission denied").
//!
//! The pure helpers (validation, name joining) are unit-tested at the bottom.

use async_imap::imap_proto::{MailboxDatum, Response};

use super::{
    Account, Folder, Imap, ImapError,
    acl::Namespaces,
    command::Cmd,
    conn::{Conn, Failure},
    names::{mailbox_wire, name_from_wire},
    wire,
};

/// Longest modified-UTF-7 form of one level of a name, in bytes. Dovecot (and most
/// servers) store a folder as a directory named after it, and filesystems stop at 255
/// bytes; this leaves room for the server's own prefixes and suffixes.
pub const MAX_COMPONENT_WIRE_BYTES: usize = 200;
/// Longest whole name on the wire, in bytes.
pub const MAX_NAME_WIRE_BYTES: usize = 1000;

/// What is wrong with a folder name the user typed. Each has a message for the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Nothing but spaces.
    Empty,
    /// Too long for the server (see [`MAX_COMPONENT_WIRE_BYTES`]).
    TooLong,
    /// Contains the hierarchy delimiter: levels are made by choosing a parent.
    Delimiter(char),
    /// Contains `*` or `%`, `.`/`..`, or a control character.
    Forbidden,
}

impl NameError {
    /// Catalog key of the message shown beside the name field.
    pub fn message_key(self) -> &'static str {
        match self {
            NameError::Empty => "folders.error.empty",
            NameError::TooLong => "folders.error.too_long",
            NameError::Delimiter(_) => "folders.error.delimiter",
            NameError::Forbidden => "folders.error.forbidden",
        }
    }
}

/// Why a folder operation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FolderError {
    /// The typed name is not acceptable (nothing was sent to the server).
    #[error("invalid folder name: {0:?}")]
    InvalidName(NameError),
    /// A folder of that name already exists.
    #[error("a folder of that name already exists")]
    AlreadyExists,
    /// The folder to rename, delete or subscribe to does not exist.
    #[error("no such folder")]
    NoSuchFolder,
    /// The chosen parent folder does not exist.
    #[error("no such parent folder")]
    NoSuchParent,
    /// INBOX or a special-use folder (or a folder holding one).
    #[error("this folder cannot be renamed or deleted")]
    Protected,
    /// Moving a folder under itself or one of its subfolders.
    #[error("a folder cannot be moved into itself")]
    IntoItself,
    /// The server said NO for a reason of its own (text for the log only).
    #[error("the server refused: {0}")]
    Refused(String),
    /// Anything else (unreachable server, …).
    #[error(transparent)]
    Imap(#[from] ImapError),
}

/// An operation's result inside `run`: refusals travel in the inner `Result` so the
/// connection goes back to the pool.
type Inner<T> = Result<Result<T, FolderError>, Failure>;

/// Checks one level of a folder name as the user typed it and returns it trimmed.
/// `delimiter` is the server's hierarchy separator (`None` for a flat namespace).
pub fn validate_name(name: &str, delimiter: Option<char>) -> Result<String, NameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(d) = delimiter
        && name.contains(d)
    {
        return Err(NameError::Delimiter(d));
    }
    let forbidden = |c: char| c == '*' || c == '%' || c.is_control();
    if name.chars().any(forbidden) || name == "." || name == ".." {
        return Err(NameError::Forbidden);
    }
    if super::names::encode_mutf7(name).len() > MAX_COMPONENT_WIRE_BYTES {
        return Err(NameError::TooLong);
    }
    Ok(name.to_owned())
}

/// The full name of `name` under `parent`; at the top level (`None`) that is inside
/// the personal namespace, whose `prefix` ends with its delimiter (`INBOX.`) or is empty.
pub fn join_name(
    parent: Option<&str>,
    name: &str,
    delimiter: Option<char>,
    prefix: &str,
) -> String {
    match (parent, delimiter) {
        (Some(p), Some(d)) if !p.is_empty() => format!("{p}{d}{name}"),
        _ => format!("{prefix}{name}"),
    }
}

/// Whether `name` is `folder` itself or inside it.
pub fn is_within(name: &str, folder: &str, delimiter: Option<char>) -> bool {
    name == folder
        || delimiter.is_some_and(|d| {
            name.strip_prefix(folder)
                .is_some_and(|rest| rest.starts_with(d))
        })
}

/// Whether a folder may be renamed or deleted: not INBOX, not special-use.
pub fn is_protected(f: &Folder) -> bool {
    f.name == "INBOX" || f.special.is_some()
}

impl Imap {
    /// Creates folder `name` (one level, as typed) under `parent` (top level when
    /// `None`) and subscribes to it. Returns the new folder's full name.
    pub async fn create_folder(
        &self,
        a: &Account,
        parent: Option<&str>,
        name: &str,
    ) -> Result<String, FolderError> {
        let (this, parent, name) = (self.clone(), parent.map(str::to_owned), name.to_owned());
        self.run_folder(a, async move |c: &mut Conn| {
            let delim = delimiter_on(c).await?;
            let name = match validate_name(&name, delim) {
                Ok(n) => n,
                Err(e) => return Ok(Err(FolderError::InvalidName(e))),
            };
            if let Some(p) = parent.as_deref()
                && !exists_on(c, p).await?
            {
                return Ok(Err(FolderError::NoSuchParent));
            }
            let prefix = this.personal_prefix_on(c).await?;
            let full = join_name(parent.as_deref(), &name, delim, &prefix);
            let wire = match wire_of(&full) {
                Ok(w) => w,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(f) = c.command(&Cmd::new("CREATE").mailbox(&wire), |_| {}).await {
                return refusal(c, &full, f, FolderError::AlreadyExists).await;
            }
            let _ = c
                .command(&Cmd::new("SUBSCRIBE").mailbox(&wire), |_| {})
                .await;
            Ok(Ok(full))
        })
        .await
    }

    /// Renames folder `old` to `name` (one level, as typed) under `parent` (top level
    /// when `None`): a rename, a move, or both. Subfolders come along, and so do their
    /// subscriptions. Returns the new full name.
    pub async fn rename_folder(
        &self,
        a: &Account,
        old: &str,
        parent: Option<&str>,
        name: &str,
    ) -> Result<String, FolderError> {
        let (this, old) = (self.clone(), old.to_owned());
        let (parent, name) = (parent.map(str::to_owned), name.to_owned());
        self.run_folder(a, async move |c: &mut Conn| {
            let delim = delimiter_on(c).await?;
            let name = match validate_name(&name, delim) {
                Ok(n) => n,
                Err(e) => return Ok(Err(FolderError::InvalidName(e))),
            };
            let list = this.special_folders_on(c).await?;
            let Some(folder) = list.iter().find(|f| f.name == old) else {
                return Ok(Err(FolderError::NoSuchFolder));
            };
            if is_protected(folder) {
                return Ok(Err(FolderError::Protected));
            }
            if let Some(p) = parent.as_deref() {
                if is_within(p, &old, delim) {
                    return Ok(Err(FolderError::IntoItself));
                }
                if !list.iter().any(|f| f.name == p) {
                    return Ok(Err(FolderError::NoSuchParent));
                }
            }
            let prefix = this.personal_prefix_on(c).await?;
            let new = join_name(parent.as_deref(), &name, delim, &prefix);
            if new == old {
                return Ok(Ok(new));
            }
            let (old_wire, new_wire) = match (wire_of(&old), wire_of(&new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
            };
            let subscribed = subscribed_within(c, &old, delim).await?;
            let cmd = Cmd::new("RENAME").mailbox(&old_wire).mailbox(&new_wire);
            if let Err(f) = c.command(&cmd, |_| {}).await {
                return refusal(c, &new, f, FolderError::AlreadyExists).await;
            }
            // RFC 3501 leaves subscriptions alone on RENAME; move them to the new names.
            for s in subscribed {
                let renamed = format!("{new}{}", &s[old.len()..]);
                if let (Ok(sw), Ok(rw)) = (wire_of(&s), wire_of(&renamed)) {
                    let _ = c
                        .command(&Cmd::new("UNSUBSCRIBE").mailbox(&sw), |_| {})
                        .await;
                    let _ = c.command(&Cmd::new("SUBSCRIBE").mailbox(&rw), |_| {}).await;
                }
            }
            Ok(Ok(new))
        })
        .await
    }

    /// The folders that deleting `name` removes: the folder and its subfolders, deepest
    /// first, with their message counts, for the confirmation page. Refuses protected
    /// folders like [`Imap::delete_folder`] does.
    pub async fn folders_to_delete(
        &self,
        a: &Account,
        name: &str,
    ) -> Result<Vec<Folder>, FolderError> {
        let folders = self.list_folders(a).await?;
        doomed(&folders, name)
    }

    /// Deletes folder `name` with its subfolders (deepest first) and their
    /// subscriptions. Returns the deleted names. INBOX and special-use folders (or a
    /// folder holding one) are refused with [`FolderError::Protected`].
    pub async fn delete_folder(&self, a: &Account, name: &str) -> Result<Vec<String>, FolderError> {
        let (this, name) = (self.clone(), name.to_owned());
        self.run_folder(a, async move |c: &mut Conn| {
            let list = this.special_folders_on(c).await?;
            let doomed = match doomed(&list, &name) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            let mut deleted = Vec::new();
            for f in &doomed {
                let wire = match wire_of(&f.name) {
                    Ok(w) => w,
                    Err(e) => return Ok(Err(e)),
                };
                let _ = c
                    .command(&Cmd::new("UNSUBSCRIBE").mailbox(&wire), |_| {})
                    .await;
                match c.command(&Cmd::new("DELETE").mailbox(&wire), |_| {}).await {
                    Ok(()) => deleted.push(f.name.clone()),
                    // Already gone (another client): fine, that is what we wanted.
                    Err(Failure::Rejected { bad: false, .. }) if !exists_on(c, &f.name).await? => {}
                    Err(failure) => {
                        return refusal(c, &name, failure, FolderError::NoSuchFolder).await;
                    }
                }
            }
            Ok(Ok(deleted))
        })
        .await
    }

    /// Subscribes to (`true`) or unsubscribes from a folder. Subscribed folders are the
    /// ones shown in the sidebar (here and in most other clients).
    pub async fn set_subscribed(
        &self,
        a: &Account,
        name: &str,
        subscribed: bool,
    ) -> Result<(), FolderError> {
        let name = name.to_owned();
        self.run_folder(a, async move |c: &mut Conn| {
            let wire = match wire_of(&name) {
                Ok(w) => w,
                Err(e) => return Ok(Err(e)),
            };
            if subscribed && !exists_on(c, &name).await? {
                return Ok(Err(FolderError::NoSuchFolder));
            }
            let verb = if subscribed {
                "SUBSCRIBE"
            } else {
                "UNSUBSCRIBE"
            };
            match c.command(&Cmd::new(verb).mailbox(&wire), |_| {}).await {
                Ok(()) => Ok(Ok(())),
                Err(Failure::Rejected { bad: false, text }) => Ok(Err(FolderError::Refused(text))),
                Err(f) => Err(f),
            }
        })
        .await
    }

    /// The personal namespace's prefix (UTF-8, with its trailing delimiter), where
    /// top-level folders are made; empty when the server has no NAMESPACE.
    pub(super) async fn personal_prefix_on(&self, c: &mut Conn) -> Result<String, Failure> {
        if !self.has(c, "NAMESPACE") {
            return Ok(String::new());
        }
        let replies = c.pipeline(&[Cmd::new("NAMESPACE")]).await?;
        let namespaces = replies
            .iter()
            .flat_map(|r| &r.lines)
            .find_map(|l| wire::untagged(l, "NAMESPACE"))
            .and_then(|v| Namespaces::parse(&v));
        Ok(personal_prefix(namespaces.as_ref()))
    }

    /// `run` for folder operations: refusals come back as [`FolderError`]s.
    async fn run_folder<T>(
        &self,
        a: &Account,
        op: impl AsyncFnMut(&mut Conn) -> Inner<T>,
    ) -> Result<T, FolderError> {
        self.run(a, op).await?
    }
}

/// The folder `name` and everything inside it, deepest first; refused if any of them is
/// protected.
fn doomed(list: &[Folder], name: &str) -> Result<Vec<Folder>, FolderError> {
    let Some(folder) = list.iter().find(|f| f.name == name) else {
        return Err(FolderError::NoSuchFolder);
    };
    let delim = folder.delimiter;
    let mut doomed: Vec<Folder> = list
        .iter()
        .filter(|f| is_within(&f.name, name, delim))
        .cloned()
        .collect();
    if doomed.iter().any(is_protected) {
        return Err(FolderError::Protected);
    }
    // Children before parents.
    doomed.sort_by(|a, b| b.depth.cmp(&a.depth).then_with(|| a.name.cmp(&b.name)));
    Ok(doomed)
}

/// The wire (modified UTF-7) form of a full name, refused when too long or unsendable.
fn wire_of(full: &str) -> Result<String, FolderError> {
    let wire = mailbox_wire(full).map_err(|_| FolderError::InvalidName(NameError::Forbidden))?;
    if wire.len() > MAX_NAME_WIRE_BYTES {
        return Err(FolderError::InvalidName(NameError::TooLong));
    }
    Ok(wire)
}

/// The hierarchy delimiter of the personal namespace (`LIST "" ""`).
async fn delimiter_on(c: &mut Conn) -> Result<Option<char>, Failure> {
    let mut delim = None;
    c.command(&Cmd::new("LIST \"\" \"\""), |r| {
        if let Response::MailboxData(MailboxDatum::List(l)) = r {
            delim = l.delimiter.as_deref().and_then(|d| d.chars().next());
        }
    })
    .await?;
    Ok(delim)
}

/// The prefix of the first personal namespace; empty when there is none.
fn personal_prefix(namespaces: Option<&Namespaces>) -> String {
    namespaces
        .and_then(|n| n.personal.first())
        .map(|p| p.prefix.clone())
        .unwrap_or_default()
}

/// Whether a folder (UTF-8 name) exists, by LIST. The name is sent as LIST's pattern,
/// where `*` and `%` are wildcards that IMAP cannot escape, so only a returned name equal
/// to `name` counts: `X*` matches `X1` on the server but is not `X1`.
async fn exists_on(c: &mut Conn, name: &str) -> Result<bool, Failure> {
    let Ok(wire) = mailbox_wire(name) else {
        return Ok(false);
    };
    let mut found = false;
    c.command(&Cmd::new("LIST \"\"").mailbox(&wire), |r| {
        if let Response::MailboxData(MailboxDatum::List(l)) = r
            && name_from_wire(&l.name).is_some_and(|n| same_folder(&n, name))
        {
            found = true;
        }
    })
    .await?;
    Ok(found)
}

/// Whether two UTF-8 names are the same folder: exactly equal, except that INBOX is
/// case-insensitive (RFC 3501 5.1).
fn same_folder(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// The subscribed names at or below `folder` (LSUB of the folder and its subtree).
async fn subscribed_within(
    c: &mut Conn,
    folder: &str,
    delim: Option<char>,
) -> Result<Vec<String>, Failure> {
    let Ok(wire) = mailbox_wire(folder) else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    let mut patterns = vec![wire.clone()];
    if let Some(d) = delim {
        // The wildcard goes outside the name: `*` in a name was refused on creation,
        // but another client may have made one.
        patterns.push(format!("{wire}{d}*"));
    }
    for p in patterns {
        c.command(&Cmd::new("LSUB \"\"").mailbox(&p), |r| {
            if let Response::MailboxData(MailboxDatum::List(l)) = r
                && let Some(n) = name_from_wire(&l.name)
                && is_within(&n, folder, delim)
            {
                names.push(n);
            }
        })
        .await?;
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// A NO from CREATE/RENAME/DELETE: `if_exists` when `name` exists now (the usual
/// reason), else the server's own refusal.
async fn refusal<T>(c: &mut Conn, name: &str, f: Failure, if_exists: FolderError) -> Inner<T> {
    match f {
        Failure::Rejected { bad: false, text } => {
            if if_exists == FolderError::AlreadyExists && exists_on(c, name).await? {
                Ok(Err(FolderError::AlreadyExists))
            } else if if_exists == FolderError::NoSuchFolder && !exists_on(c, name).await? {
                Ok(Err(FolderError::NoSuchFolder))
            } else {
                tracing::info!(%text, "IMAP: the server refused a folder operation");
                Ok(Err(FolderError::Refused(text)))
            }
        }
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::SpecialUse;
    use crate::imap::test_folder as folder;

    #[test]
    fn names_are_validated() {
        let d = Some('/');
        assert_eq!(validate_name("  报告 ", d), Ok("报告".to_owned()));
        assert_eq!(
            validate_name(r#"a "quoted" & name"#, d).as_deref(),
            Ok(r#"a "quoted" & name"#)
        );
        assert_eq!(validate_name("   ", d), Err(NameError::Empty));
        assert_eq!(validate_name("a/b", d), Err(NameError::Delimiter('/')));
        assert_eq!(validate_name("a.b", d), Ok("a.b".to_owned()));
        assert_eq!(
            validate_name("a.b", Some('.')),
            Err(NameError::Delimiter('.'))
        );
        for bad in ["a*", "50%", "tab\there", "nul\0", "..", "."] {
            assert_eq!(validate_name(bad, d), Err(NameError::Forbidden), "{bad:?}");
        }
        assert!(validate_name(&"x".repeat(200), d).is_ok());
        assert_eq!(validate_name(&"x".repeat(201), d), Err(NameError::TooLong));
        // 60 Chinese characters: 120 bytes of UTF-16, 160 of base64 plus `&` and `-`.
        assert!(validate_name(&"报".repeat(60), d).is_ok());
        assert_eq!(validate_name(&"报".repeat(80), d), Err(NameError::TooLong));
    }

    #[test]
    fn names_join_and_nest() {
        assert_eq!(join_name(Some("报告"), "2026", Some('/'), ""), "报告/2026");
        assert_eq!(join_name(None, "2026", Some('/'), ""), "2026");
        assert_eq!(join_name(Some(""), "x", Some('/'), ""), "x");
        assert!(is_within("a/b", "a", Some('/')));
        assert!(is_within("a", "a", Some('/')));
        assert!(!is_within("ab", "a", Some('/')));
        assert!(!is_within("a", "a/b", Some('/')));
    }

    #[test]
    fn top_level_names_live_in_the_personal_namespace() {
        let ns = |line: &[u8]| Namespaces::parse(&wire::untagged(line, "NAMESPACE").unwrap());
        // Cyrus's default: everything of the user's is under `INBOX.`.
        let cyrus = ns(b"* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n");
        let prefix = personal_prefix(cyrus.as_ref());
        assert_eq!(prefix, "INBOX.");
        assert_eq!(
            join_name(None, "Projects", Some('.'), &prefix),
            "INBOX.Projects"
        );
        assert_eq!(
            join_name(Some(""), "报告", Some('.'), &prefix),
            "INBOX.报告"
        );
        assert_eq!(
            join_name(Some("INBOX.Projects"), "2026", Some('.'), &prefix),
            "INBOX.Projects.2026"
        );
        // Dovecot: an empty prefix, so top-level names stay bare.
        let dovecot = ns(b"* NAMESPACE ((\"\" \"/\")) ((\"shared/\" \"/\")) NIL\r\n");
        let prefix = personal_prefix(dovecot.as_ref());
        assert_eq!(join_name(None, "Projects", Some('/'), &prefix), "Projects");
        // No NAMESPACE at all.
        assert_eq!(personal_prefix(None), "");
    }

    #[test]
    fn a_parent_is_a_name_not_a_pattern() {
        assert!(same_folder("X*", "X*"));
        assert!(!same_folder("X1", "X*"));
        assert!(!same_folder("a/b", "a/%"));
        assert!(same_folder("inbox", "INBOX"));
        assert!(!same_folder("inbox/x", "INBOX/x"));
    }

    #[test]
    fn deletion_takes_children_first_and_spares_special_folders() {
        let list = vec![
            folder("INBOX", Some(SpecialUse::Inbox)),
            folder("Trash", Some(SpecialUse::Trash)),
            folder("a", None),
            folder("a/b", None),
            folder("a/b/c", None),
            folder("ab", None),
            folder("x", None),
            folder("x/Trash", Some(SpecialUse::Trash)),
        ];
        let names: Vec<String> = doomed(&list, "a")
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["a/b/c", "a/b", "a"]);
        assert_eq!(doomed(&list, "Trash"), Err(FolderError::Protected));
        assert_eq!(doomed(&list, "INBOX"), Err(FolderError::Protected));
        assert_eq!(doomed(&list, "x"), Err(FolderError::Protected));
        assert_eq!(doomed(&list, "nope"), Err(FolderError::NoSuchFolder));
    }
}
