//! Shared folders and access control: NAMESPACE (RFC 2342), ACL (RFC 4314) and what the
//! sidebar needs besides the folder list.
//!
//! - [`Namespaces`] tells the user's own folders from other users' (`shared/alice/…` on
//!   Dovecot) and public ones (`Public/…`), so the sidebar can show the latter apart.
//! - [`Rights`] is what MYRIGHTS says the user may do in a folder. The web layer hides
//!   the actions it does not allow, and [`Imap::check_action`] refuses them before
//!   anything is sent: a server may "succeed" at a STORE it silently ignores (Dovecot
//!   does, for flags the user has no right to), or refuse half-way through a move.
//! - [`Imap::share`] gives a teammate read or read-write access with SETACL (or takes it
//!   away with DELETEACL); [`Imap::acl`] lists who has access (GETACL).
//! - The sidebar asks for NAMESPACE and MYRIGHTS together with the folder list and the
//!   quota (`sidebar`); this file holds the types and the reply parsing.
//!
//! Servers without NAMESPACE, ACL or QUOTA simply give `None`s: everything is then shown
//! as the user's own and every action is offered (the server still has the last word).

use super::{
    Account, Action, ActionError, Imap, ImapError,
    command::{Cmd, LiteralMode},
    conn::{Conn, Failure},
    names::{mailbox_wire, name_from_wire},
    wire::{self, Value},
};

/// Longest user name we accept for sharing (an address is at most 254 characters).
const MAX_IDENTIFIER: usize = 254;

/// One namespace: folders whose names start with `prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// UTF-8, with its trailing delimiter (`shared/`); empty for the personal one.
    pub prefix: String,
    /// The hierarchy delimiter inside it.
    pub delimiter: Option<char>,
}

/// The three kinds of namespace of RFC 2342.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// The user's own folders.
    pub personal: Vec<Namespace>,
    /// Folders other users shared with this one (`shared/<user>/…`).
    pub other_users: Vec<Namespace>,
    /// Public folders everybody may see (`Public/…`).
    pub shared: Vec<Namespace>,
}

/// Which non-personal namespace a folder is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceKind {
    /// Another user's folder.
    OtherUsers,
    /// A public folder.
    Public,
}

impl Namespaces {
    /// Parses the values of a `* NAMESPACE` reply; `None` if it is malformed.
    pub fn parse(values: &[Value]) -> Option<Namespaces> {
        let [personal, other, shared] = values else {
            return None;
        };
        let list = |v: &Value| -> Option<Vec<Namespace>> {
            match v {
                Value::Nil => Some(Vec::new()),
                Value::List(items) => items
                    .iter()
                    .map(|ns| {
                        let [prefix, delim, ..] = ns.items() else {
                            return None;
                        };
                        Some(Namespace {
                            prefix: name_from_wire(&prefix.text()?)?,
                            delimiter: delim.text().and_then(|d| d.chars().next()),
                        })
                    })
                    .collect(),
                _ => None,
            }
        };
        Some(Namespaces {
            personal: list(personal)?,
            other_users: list(other)?,
            shared: list(shared)?,
        })
    }

    /// Whether `folder` (UTF-8 name) is another user's or a public folder, and which.
    /// The namespace's root itself (`shared`, `Public`) counts as inside it.
    pub fn kind(&self, folder: &str) -> Option<NamespaceKind> {
        let inside = |ns: &Namespace| {
            let root = match ns.delimiter {
                Some(d) => ns.prefix.strip_suffix(d).unwrap_or(&ns.prefix),
                None => &ns.prefix,
            };
            !ns.prefix.is_empty() && (folder.starts_with(&ns.prefix) || folder == root)
        };
        if self.other_users.iter().any(inside) {
            Some(NamespaceKind::OtherUsers)
        } else if self.shared.iter().any(inside) {
            Some(NamespaceKind::Public)
        } else {
            None
        }
    }
}

/// What the user may do in one folder (RFC 4314 rights, from MYRIGHTS or GETACL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rights(String);

impl Default for Rights {
    /// Everything: what we assume when the server has no ACL.
    fn default() -> Self {
        Rights::parse("lrswipkxtea")
    }
}

impl Rights {
    /// Reads a rights string. The obsolete `c` and `d` of RFC 2086 are expanded to the
    /// rights they stood for (RFC 4314 §2.1.1).
    pub fn parse(s: &str) -> Rights {
        let mut set: Vec<char> = Vec::new();
        for c in s.chars() {
            let expanded: &[char] = match c {
                'c' => &['k', 'x'],
                'd' => &['t', 'e', 'x'],
                _ => std::slice::from_ref(&c),
            };
            for &r in expanded {
                if r.is_ascii_alphanumeric() && !set.contains(&r) {
                    set.push(r);
                }
            }
        }
        set.sort_unstable();
        Rights(set.into_iter().collect())
    }

    /// Whether every right in `rights` is held.
    pub fn has(&self, rights: &str) -> bool {
        rights.chars().all(|r| self.0.contains(r))
    }

    /// The rights as a string (sorted).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `r`: the messages can be read.
    pub fn can_read(&self) -> bool {
        self.has("r")
    }

    /// `i`: messages may be added (APPEND, COPY, MOVE into it).
    pub fn can_insert(&self) -> bool {
        self.has("i")
    }

    /// `a`: who has access may be changed (sharing).
    pub fn can_admin(&self) -> bool {
        self.has("a")
    }

    /// The rights an action (by its form name: `read`, `flag`, `move`, …) needs on the
    /// folder the messages are in. RFC 4314 §4: `\Seen` needs `s`, other flags `w`;
    /// taking messages out (MOVE, or COPY + `\Deleted` + EXPUNGE) needs `t` and `e`.
    pub fn needed_for(action: &str) -> &'static str {
        match action {
            "read" | "unread" => "s",
            "flag" | "unflag" | "label" | "unlabel" => "w",
            "copy" => "r",
            "move" | "archive" | "spam" | "notspam" | "delete" | "expunge" => "te",
            // Unknown actions are refused by their own parser; nothing extra here.
            _ => "",
        }
    }

    /// Whether the action (form name) is allowed on this folder's messages.
    pub fn permits(&self, action: &str) -> bool {
        self.has(Self::needed_for(action))
    }
}

/// The access levels the sharing form offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareLevel {
    /// See the folder and read its messages, with their own read/unread state.
    Read,
    /// Also flag, add, delete and expunge messages; not delete or rename the folder,
    /// create sub-folders, or share it further.
    ReadWrite,
    /// No access (the entry is removed).
    None,
}

impl ShareLevel {
    /// Reads the form's `rights` field: `read`, `read-write` or `none`.
    pub fn parse(s: &str) -> Option<ShareLevel> {
        match s {
            "read" => Some(ShareLevel::Read),
            "read-write" => Some(ShareLevel::ReadWrite),
            "none" => Some(ShareLevel::None),
            _ => None,
        }
    }

    /// The form value.
    pub fn param(self) -> &'static str {
        match self {
            ShareLevel::Read => "read",
            ShareLevel::ReadWrite => "read-write",
            ShareLevel::None => "none",
        }
    }

    /// The RFC 4314 rights granted: `lrs` (lookup, read, own seen state) for reading;
    /// plus `w i p t e` (flags, insert, post, delete and expunge messages) for writing.
    /// Servers that only know RFC 2086 rights get `d` instead of `t e`.
    pub fn rights(self, texk: bool) -> &'static str {
        match (self, texk) {
            (ShareLevel::Read, _) => "lrs",
            (ShareLevel::ReadWrite, true) => "lrswipte",
            (ShareLevel::ReadWrite, false) => "lrswipd",
            (ShareLevel::None, _) => "",
        }
    }

    /// The level that a set of rights amounts to, for showing an existing entry.
    pub fn of(rights: &Rights) -> Option<ShareLevel> {
        if rights.has("lrswipte") {
            Some(ShareLevel::ReadWrite)
        } else if rights.has("lr") {
            Some(ShareLevel::Read)
        } else {
            None
        }
    }
}

/// One entry of a folder's access control list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclEntry {
    /// Who: a user name, `anyone`, or `-name` for negative rights.
    pub identifier: String,
    /// What they may do.
    pub rights: Rights,
}

/// Why a sharing change was refused; nothing changed on the server in any case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The user name is empty, too long, or contains characters no login name has.
    #[error("invalid user name")]
    InvalidUser,
    /// Sharing with oneself, or with everybody (`anyone`), is not what this form is for.
    #[error("cannot share with this identifier")]
    NotATeammate,
    /// The server has no ACL support.
    #[error("the server does not support sharing")]
    Unsupported,
    /// The user may not change who has access to this folder (no `a` right).
    #[error("not allowed to share this folder")]
    NotAllowed,
    /// Anything else.
    #[error(transparent)]
    Imap(#[from] ImapError),
}

/// Checks a teammate's login name for SETACL: non-empty, printable, no spaces, not
/// starting with `-` (which would mean negative rights), not a group like `anyone`.
pub fn check_identifier(user: &str, owner: &str) -> Result<String, ShareError> {
    let user = user.trim();
    let printable = user.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if user.is_empty() || user.chars().count() > MAX_IDENTIFIER || !printable {
        return Err(ShareError::InvalidUser);
    }
    let lower = user.to_lowercase();
    if user.starts_with('-')
        || lower == "anyone"
        || lower == "authenticated"
        || lower.starts_with('$')
        || lower == owner.to_lowercase()
    {
        return Err(ShareError::NotATeammate);
    }
    Ok(user.to_owned())
}

impl Imap {
    /// The user's rights in `mailbox`; full rights when the server has no ACL.
    pub async fn my_rights(&self, a: &Account, mailbox: &str) -> Result<Rights, ImapError> {
        let (this, wire) = (self.clone(), mailbox_wire(mailbox)?);
        self.run(a, async move |c: &mut Conn| {
            this.my_rights_on(c, &wire).await
        })
        .await
    }

    /// MYRIGHTS on one connection (full rights without ACL).
    async fn my_rights_on(&self, c: &mut Conn, wire: &str) -> Result<Rights, Failure> {
        if !self.has(c, "ACL") {
            return Ok(Rights::default());
        }
        let lines = c
            .command_raw(&Cmd::new("MYRIGHTS").mailbox(wire))
            .await
            .map_err(|f| f.no_means(ImapError::NoSuchMailbox))?;
        Ok(my_rights_in(&lines, wire).unwrap_or_else(|| Rights::parse("")))
    }

    /// Refuses an action the user's rights in the source folder (and, for move and
    /// copy, in the target) do not allow, before anything is changed. Nothing to check
    /// when the server has no ACL.
    pub async fn check_action(
        &self,
        a: &Account,
        mailbox: &str,
        action: &Action,
    ) -> Result<(), ActionError> {
        let src = mailbox_wire(mailbox)?;
        let target = match action {
            Action::Move(t) | Action::Copy(t) => Some(mailbox_wire(t)?),
            _ => None,
        };
        // Everything the closure uses is owned: a captured reference (even a `&'static
        // str`) makes the future not provably `Send` (rustc's async-closure limitation).
        let (this, name) = (self.clone(), action.name().to_owned());
        let allowed = self
            .run(a, async move |c: &mut Conn| {
                this.check_action_on(c, &src, target.as_deref(), &name)
                    .await
            })
            .await?;
        if allowed {
            Ok(())
        } else {
            Err(ActionError::NotPermitted)
        }
    }

    /// [`Imap::check_action`] on one connection: both MYRIGHTS in one round trip.
    async fn check_action_on(
        &self,
        c: &mut Conn,
        src: &str,
        target: Option<&str>,
        action: &str,
    ) -> Result<bool, Failure> {
        if !self.has(c, "ACL") {
            return Ok(true);
        }
        let mut commands = vec![Cmd::new("MYRIGHTS").mailbox(src)];
        if let Some(t) = target {
            commands.push(Cmd::new("MYRIGHTS").mailbox(t));
        }
        let replies = c.pipeline(&commands).await?;
        let all: Vec<Vec<u8>> = replies.iter().flat_map(|r| r.lines.clone()).collect();
        let names = [Some(src), target];
        let rights = |i: usize| {
            replies
                .get(i)
                .filter(|r| r.status.is_ok())
                .and_then(|_| my_rights_in(&all, names[i]?))
        };
        let source_ok = rights(0).is_some_and(|r| r.permits(action));
        // A target that does not exist answers NO: the action itself reports that
        // better ("the folder is gone"), so only a known refusal counts.
        let target_ok = target.is_none()
            || replies.get(1).is_some_and(|r| r.status.is_err())
            || rights(1).is_some_and(|r| r.can_insert());
        Ok(source_ok && target_ok)
    }

    /// Who has access to `mailbox` (GETACL; needs the `a` right). Empty without ACL.
    pub async fn acl(&self, a: &Account, mailbox: &str) -> Result<Vec<AclEntry>, ShareError> {
        let (this, wire) = (self.clone(), mailbox_wire(mailbox)?);
        self.run(a, async move |c: &mut Conn| this.acl_on(c, &wire).await)
            .await?
    }

    /// [`Imap::acl`] on one connection.
    async fn acl_on(
        &self,
        c: &mut Conn,
        wire: &str,
    ) -> Result<Result<Vec<AclEntry>, ShareError>, Failure> {
        if !self.has(c, "ACL") {
            return Ok(Ok(Vec::new()));
        }
        match c.command_raw(&Cmd::new("GETACL").mailbox(wire)).await {
            Ok(lines) => Ok(Ok(lines
                .iter()
                .filter_map(|l| wire::untagged(l, "ACL"))
                .flat_map(|v| acl_entries(&v))
                .collect())),
            Err(Failure::Rejected { bad: false, .. }) => Ok(Err(self.why_refused(c, wire).await?)),
            Err(e) => Err(e),
        }
    }

    /// Gives `user` (a login name) `level` access to `mailbox`, or removes their access
    /// (`ShareLevel::None`). `owner` is the user's own login, which cannot be changed here.
    pub async fn share(
        &self,
        a: &Account,
        mailbox: &str,
        user: &str,
        level: ShareLevel,
    ) -> Result<(), ShareError> {
        let user = check_identifier(user, &a.username)?;
        let (this, wire) = (self.clone(), mailbox_wire(mailbox)?);
        self.run(a, async move |c: &mut Conn| {
            this.share_on(c, &wire, &user, level).await
        })
        .await?
    }

    /// [`Imap::share`] on one connection.
    async fn share_on(
        &self,
        c: &mut Conn,
        wire: &str,
        user: &str,
        level: ShareLevel,
    ) -> Result<Result<(), ShareError>, Failure> {
        if !self.has(c, "ACL") {
            return Ok(Err(ShareError::Unsupported));
        }
        // RFC 4314 servers announce RIGHTS=texk; older ones know only `d` for deleting.
        let texk = c
            .capabilities()
            .iter()
            .any(|cap| cap.starts_with("RIGHTS=") && cap.contains('T') && cap.contains('E'));
        let literals = LiteralMode::from_caps(self.has(c, "LITERAL+"), self.has(c, "LITERAL-"));
        let cmd = match level {
            ShareLevel::None => Cmd::new("DELETEACL").mailbox(wire).text(user, literals),
            _ => Cmd::new("SETACL")
                .mailbox(wire)
                .text(user, literals)
                .atom(level.rights(texk)),
        };
        match c.command_raw(&cmd).await {
            Ok(_) => Ok(Ok(())),
            Err(Failure::Rejected { bad: false, .. }) => Ok(Err(self.why_refused(c, wire).await?)),
            Err(e) => Err(e),
        }
    }

    /// After a NO to an ACL command: the folder is gone, or the user lacks `a`.
    async fn why_refused(&self, c: &mut Conn, wire: &str) -> Result<ShareError, Failure> {
        match self.my_rights_on(c, wire).await {
            Ok(r) if !r.can_admin() => Ok(ShareError::NotAllowed),
            Ok(_) => Ok(ShareError::Imap(ImapError::Protocol(
                "the server refused the ACL change".into(),
            ))),
            Err(Failure::Fail(e)) => Ok(ShareError::Imap(e)),
            Err(f) if f.connection_ok() => Ok(ShareError::Imap(f.into_error())),
            Err(f) => Err(f),
        }
    }
}

/// The rights in folder `wire` (its wire name) among the lines of MYRIGHTS replies: by
/// name, since pipelined commands may answer in any order.
pub(super) fn my_rights_in(lines: &[Vec<u8>], wire: &str) -> Option<Rights> {
    let same = |name: &str| {
        name == wire || (name.eq_ignore_ascii_case("INBOX") && wire.eq_ignore_ascii_case("INBOX"))
    };
    lines
        .iter()
        .filter_map(|l| wire::untagged(l, "MYRIGHTS"))
        .filter(|v| v.first().and_then(Value::text).is_some_and(|n| same(&n)))
        .find_map(|v| v.get(1).and_then(Value::text))
        .map(|r| Rights::parse(&r))
}

/// The entries of an `* ACL mailbox id rights id rights…` reply.
fn acl_entries(values: &[Value]) -> Vec<AclEntry> {
    values
        .get(1..)
        .unwrap_or_default()
        .chunks_exact(2)
        .filter_map(|pair| {
            Some(AclEntry {
                identifier: pair[0].text()?,
                rights: Rights::parse(&pair[1].text()?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(line: &[u8]) -> Option<Namespaces> {
        Namespaces::parse(&wire::untagged(line, "NAMESPACE")?)
    }

    #[test]
    fn dovecot_namespaces() {
        let n = ns(b"* NAMESPACE ((\"\" \"/\")) ((\"shared/\" \"/\")) ((\"Public/\" \"/\"))\r\n")
            .unwrap();
        assert_eq!(n.personal[0].prefix, "");
        assert_eq!(n.other_users[0].prefix, "shared/");
        assert_eq!(
            n.kind("shared/alice@example.test/Team"),
            Some(NamespaceKind::OtherUsers)
        );
        assert_eq!(n.kind("shared"), Some(NamespaceKind::OtherUsers));
        assert_eq!(n.kind("Public/Board"), Some(NamespaceKind::Public));
        assert_eq!(n.kind("Public"), Some(NamespaceKind::Public));
        assert_eq!(n.kind("Publications"), None);
        assert_eq!(n.kind("INBOX"), None);
        // Modified UTF-7 prefixes are decoded; NIL namespaces are empty.
        let n = ns(b"* NAMESPACE ((\"\" \".\")) NIL ((\"&UWxRcQ-.\" \".\"))").unwrap();
        assert_eq!(n.shared[0].prefix, "公共.");
        assert_eq!(n.kind("公共.公告"), Some(NamespaceKind::Public));
        assert!(n.other_users.is_empty());
        assert_eq!(ns(b"* NAMESPACE ((\"\" \"/\"))"), None);
        assert_eq!(ns(b"* NAMESPACE (x) NIL NIL"), None);
    }

    #[test]
    fn rights_and_actions() {
        let read = Rights::parse("lrs");
        assert!(read.permits("read") && read.permits("unread") && read.permits("copy"));
        for a in ["flag", "move", "delete", "archive", "spam", "expunge"] {
            assert!(!read.permits(a), "{a}");
        }
        assert!(!read.can_insert() && !read.can_admin());
        let full = Rights::parse("lrwstipekxacd");
        assert!(
            ["flag", "move", "delete", "expunge"]
                .iter()
                .all(|a| full.permits(a))
        );
        // RFC 2086's `d` stands for t, e and x.
        assert!(Rights::parse("lrd").permits("delete"));
        assert_eq!(Rights::parse("srl").as_str(), "lrs");
        assert!(Rights::default().permits("move"));
    }

    #[test]
    fn share_levels() {
        for l in [ShareLevel::Read, ShareLevel::ReadWrite, ShareLevel::None] {
            assert_eq!(ShareLevel::parse(l.param()), Some(l));
        }
        assert_eq!(ShareLevel::parse("admin"), None);
        assert_eq!(
            ShareLevel::of(&Rights::parse("lrs")),
            Some(ShareLevel::Read)
        );
        assert_eq!(
            ShareLevel::of(&Rights::parse(ShareLevel::ReadWrite.rights(true))),
            Some(ShareLevel::ReadWrite)
        );
        assert_eq!(
            ShareLevel::of(&Rights::parse(ShareLevel::ReadWrite.rights(false))),
            Some(ShareLevel::ReadWrite)
        );
        assert_eq!(ShareLevel::of(&Rights::parse("l")), None);
    }

    #[test]
    fn identifiers() {
        let owner = "alice@example.test";
        assert_eq!(
            check_identifier(" bob@example.test ", owner).unwrap(),
            "bob@example.test"
        );
        for bad in ["", "a b", "bob\r\nx", &"x".repeat(300)] {
            assert_eq!(
                check_identifier(bad, owner),
                Err(ShareError::InvalidUser),
                "{bad:?}"
            );
        }
        for no in [
            "anyone",
            "Authenticated",
            "-bob",
            "$group",
            "ALICE@example.test",
        ] {
            assert_eq!(
                check_identifier(no, owner),
                Err(ShareError::NotATeammate),
                "{no:?}"
            );
        }
    }

    #[test]
    fn acl_and_myrights_replies() {
        let v = wire::untagged(
            b"* ACL Team bob@example.test lrs \"alice@example.test\" lrwstipekxacd\r\n",
            "ACL",
        )
        .unwrap();
        let e = acl_entries(&v);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].identifier, "bob@example.test");
        assert_eq!(e[0].rights, Rights::parse("lrs"));
        assert_eq!(e[1].identifier, "alice@example.test");
        let lines = [
            b"* MYRIGHTS \"shared/a/Team\" lrs\r\n".to_vec(),
            b"* MYRIGHTS inbox lrswipkxtecda\r\n".to_vec(),
        ];
        let r = my_rights_in(&lines, "shared/a/Team").unwrap();
        assert!(my_rights_in(&lines, "INBOX").unwrap().can_admin());
        assert_eq!(my_rights_in(&lines, "Other"), None);
        assert_eq!(r.as_str(), "lrs");
        assert_eq!(my_rights_in(&[b"* OK x\r\n".to_vec()], "INBOX"), None);
    }
}
