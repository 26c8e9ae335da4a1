//! What composing needs from the IMAP server: storing the Sent and Drafts copies,
//! deleting a replaced draft, and the flags that record a reply, a forward or a read
//! receipt (`\Answered`, `$Forwarded`, `$MDNSent`).
//!
//! The Sent and Drafts folders are found by their RFC 6154 special-use attribute, else
//! by their usual names (see `folders`), and created when missing. APPEND reports the new
//! message's UID from the UIDPLUS `APPENDUID` response code (see `Conn::append`);
//! without UIDPLUS we look the message up by its Message-ID.

use async_imap::types::Fetch;

use super::{
    Account, Folder, Imap, ImapError, SpecialUse,
    command::{Cmd, SeqSet},
    conn::{Conn, Failure},
    names::mailbox_wire,
    uid_exists,
};

/// A flag composing sets on an existing message. A closed set, so no user input ever
/// becomes part of a STORE command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageFlag {
    /// `\Answered`: the user replied.
    Answered,
    /// `$Forwarded` (RFC 5788 registry): the user forwarded it.
    Forwarded,
    /// `$MDNSent` (RFC 3503): a read receipt was sent or declined; never ask again.
    MdnSent,
}

impl MessageFlag {
    fn wire(self) -> &'static str {
        match self {
            MessageFlag::Answered => "\\Answered",
            MessageFlag::Forwarded => "$Forwarded",
            MessageFlag::MdnSent => "$MDNSent",
        }
    }
}

/// Where an APPENDed message ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The folder's UTF-8 name (as URLs carry it).
    pub mailbox: String,
    /// The new message's UID, when the server told us or we could find it.
    pub uid: Option<u32>,
}

/// The folder name created when the server has no folder for a role.
fn default_name(role: SpecialUse) -> &'static str {
    match role {
        SpecialUse::Drafts => "Drafts",
        SpecialUse::Sent => "Sent",
        SpecialUse::Trash => "Trash",
        SpecialUse::Junk => "Junk",
        SpecialUse::Archive => "Archive",
        SpecialUse::Inbox => "INBOX",
    }
}

/// The RFC 6154 attribute for CREATE-SPECIAL-USE.
fn attribute(role: SpecialUse) -> &'static str {
    match role {
        SpecialUse::Drafts => "\\Drafts",
        SpecialUse::Sent => "\\Sent",
        SpecialUse::Trash => "\\Trash",
        SpecialUse::Junk => "\\Junk",
        SpecialUse::Archive => "\\Archive",
        SpecialUse::Inbox => "",
    }
}

/// The folder playing `role`: a top-level one first (the server's own choice).
fn find_role(folders: &[Folder], role: SpecialUse) -> Option<&Folder> {
    let mut candidates = folders
        .iter()
        .filter(|f| f.special == Some(role) && f.selectable);
    let first = candidates.next()?;
    Some(
        std::iter::once(first)
            .chain(candidates)
            .min_by_key(|f| f.depth)
            .unwrap_or(first),
    )
}

impl Imap {
    /// APPENDs `message` to the folder with special use `role` (Sent or Drafts), creating
    /// it if there is none, with `\Seen` (and `\Draft` for Drafts). Returns the folder and
    /// the new UID.
    pub async fn append_special(
        &self,
        a: &Account,
        role: SpecialUse,
        message: &[u8],
        message_id: Option<&str>,
    ) -> Result<Appended, ImapError> {
        let this = self.clone();
        let message = message.to_vec();
        let message_id = message_id.map(str::to_owned);
        self.run(a, async move |c: &mut Conn| {
            let folders = this.list_on(c).await?.folders;
            let name = match find_role(&folders, role) {
                Some(f) => f.name.clone(),
                None => this.create_role_on(c, role).await?,
            };
            let wire = mailbox_wire(&name).map_err(Failure::Fail)?;
            let flags = if role == SpecialUse::Drafts {
                "(\\Seen \\Draft)"
            } else {
                "(\\Seen)"
            };
            let mut uid = append_on(c, &wire, flags, &message).await?;
            if uid.is_none()
                && let Some(id) = &message_id
            {
                uid = find_by_message_id(c, &wire, id).await?;
            }
            Ok(Appended { mailbox: name, uid })
        })
        .await
    }

    /// Whether `mailbox`/`uid` is one of the user's drafts: it is in the Drafts
    /// special-use folder and carries `\Draft` (EXAMINE, so nothing changes).
    pub async fn is_draft(&self, a: &Account, mailbox: &str, uid: u32) -> Result<bool, ImapError> {
        let this = self.clone();
        let mailbox = mailbox.to_owned();
        self.run(a, async move |c: &mut Conn| {
            let Some(wire) = this.drafts_wire_on(c, &mailbox).await? else {
                return Ok(false);
            };
            c.examine(&wire).await?;
            has_draft_flag(c, uid).await
        })
        .await
    }

    /// Removes a replaced or sent draft for good: `\Deleted`, then `UID EXPUNGE` of just
    /// that UID. Only a real draft goes (in the Drafts special-use folder, with `\Draft`,
    /// both checked on the server first), since the reference comes from the form and
    /// could name any message. Returns whether it was removed. Without UIDPLUS the
    /// message stays flagged `\Deleted` rather than expunging anything else.
    pub async fn delete_draft(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<bool, ImapError> {
        let this = self.clone();
        let mailbox = mailbox.to_owned();
        self.run(a, async move |c: &mut Conn| {
            let Some(wire) = this.drafts_wire_on(c, &mailbox).await? else {
                return Ok(false);
            };
            c.select(&wire).await?;
            if !has_draft_flag(c, uid).await? {
                return Ok(false);
            }
            let store = Cmd::new("UID STORE")
                .set(&SeqSet::one(uid))
                .atom("+FLAGS.SILENT (\\Deleted)");
            c.command(&store, |_| {}).await?;
            if this.has(c, "UIDPLUS") {
                let expunge = Cmd::new("UID EXPUNGE").set(&SeqSet::one(uid));
                c.command(&expunge, |_| {}).await?;
            }
            Ok(true)
        })
        .await
    }

    /// The wire name of `mailbox` when it is the Drafts special-use folder, else `None`.
    async fn drafts_wire_on(&self, c: &mut Conn, mailbox: &str) -> Result<Option<String>, Failure> {
        let folders = self.list_on(c).await?.folders;
        match find_role(&folders, SpecialUse::Drafts) {
            Some(f) if f.name == mailbox => Ok(Some(mailbox_wire(mailbox).map_err(Failure::Fail)?)),
            _ => Ok(None),
        }
    }

    /// Adds a flag to a message; [`ImapError::NoSuchMessage`] if it is gone.
    pub async fn add_flag(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
        flag: MessageFlag,
    ) -> Result<(), ImapError> {
        let wire = mailbox_wire(mailbox)?;
        self.run(a, async move |c: &mut Conn| {
            c.select(&wire).await?;
            if !uid_exists(c, uid).await? {
                return Err(Failure::Fail(ImapError::NoSuchMessage));
            }
            let store = Cmd::new("UID STORE")
                .set(&SeqSet::one(uid))
                .atom("+FLAGS.SILENT")
                .list(Cmd::fragment().atom(flag.wire()));
            c.command(&store, |_| {}).await
        })
        .await
    }

    /// Whether a message has `flag` (EXAMINE, so nothing changes).
    pub async fn has_flag(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
        flag: MessageFlag,
    ) -> Result<bool, ImapError> {
        let wire = mailbox_wire(mailbox)?;
        self.run(a, async move |c: &mut Conn| {
            c.examine(&wire).await?;
            let fetched = c.uid_fetch(&SeqSet::one(uid), "(UID FLAGS)").await?;
            let f = fetched
                .iter()
                .find(|f| f.uid == Some(uid))
                .ok_or(Failure::Fail(ImapError::NoSuchMessage))?;
            let wanted = flag.wire();
            Ok(f.flags().any(|fl| {
                let name = match fl {
                    async_imap::types::Flag::Answered => "\\Answered".to_owned(),
                    async_imap::types::Flag::Custom(c) => c.to_string(),
                    other => format!("{other:?}"),
                };
                name.eq_ignore_ascii_case(wanted)
            }))
        })
        .await
    }

    /// Creates the folder for `role` (with CREATE-SPECIAL-USE when the server has it) and
    /// subscribes to it; an existing folder of that name is fine. Returns its name.
    async fn create_role_on(&self, c: &mut Conn, role: SpecialUse) -> Result<String, Failure> {
        // At the top of the personal namespace (`INBOX.Sent` on Cyrus's default).
        let name = format!(
            "{}{}",
            self.personal_prefix_on(c).await?,
            default_name(role)
        );
        let wire = mailbox_wire(&name).map_err(Failure::Fail)?;
        let mut cmd = Cmd::new("CREATE").mailbox(&wire);
        if self.has(c, "CREATE-SPECIAL-USE") {
            let attr = Cmd::fragment().atom(attribute(role));
            cmd = cmd.atom("(USE").list(attr).atom(")");
        }
        match c.command(&cmd, |_| {}).await {
            Ok(()) => {}
            // ALREADYEXISTS (or a server that does not say): try to use it anyway.
            Err(Failure::Rejected { bad: false, text }) => {
                tracing::info!(%text, folder = %name, "IMAP: CREATE refused; using the existing folder");
            }
            Err(e) => return Err(e),
        }
        let _ = c
            .command(&Cmd::new("SUBSCRIBE").mailbox(&wire), |_| {})
            .await;
        Ok(name)
    }
}

/// `APPEND` of `message` with `flags` (a constant list); returns the UID from
/// `APPENDUID`, if any.
pub(super) async fn append_on(
    c: &mut Conn,
    wire: &str,
    flags: &'static str,
    message: &[u8],
) -> Result<Option<u32>, Failure> {
    let cmd = Cmd::new("APPEND").mailbox(wire).atom(flags);
    Ok(c.append(cmd, message).await?.append_uid())
}

/// Whether `uid` in the examined/selected folder carries `\Draft`.
async fn has_draft_flag(c: &mut Conn, uid: u32) -> Result<bool, Failure> {
    let fetched: Vec<Fetch> = c.uid_fetch(&SeqSet::one(uid), "(UID FLAGS)").await?;
    Ok(fetched
        .iter()
        .filter(|f| f.uid == Some(uid))
        .any(|f| f.flags().any(|fl| fl == async_imap::types::Flag::Draft)))
}

/// The UID of the message with this Message-ID (the newest if several), for servers
/// without UIDPLUS.
async fn find_by_message_id(c: &mut Conn, wire: &str, id: &str) -> Result<Option<u32>, Failure> {
    if id
        .chars()
        .any(|ch| ch.is_control() || ch == '"' || ch == '\\')
    {
        return Ok(None);
    }
    c.examine(wire).await?;
    let search = Cmd::new("UID SEARCH HEADER Message-ID").string(&format!("<{id}>"));
    Ok(c.search(&search).await?.into_iter().max())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::test_folder as folder;

    #[test]
    fn the_top_level_special_folder_wins() {
        let folders = vec![
            folder("INBOX", Some(SpecialUse::Inbox)),
            folder("Work/Sent", Some(SpecialUse::Sent)),
            folder("Sent Items", Some(SpecialUse::Sent)),
        ];
        assert_eq!(
            find_role(&folders, SpecialUse::Sent).map(|f| f.name.as_str()),
            Some("Sent Items")
        );
        assert!(find_role(&folders, SpecialUse::Drafts).is_none());
    }

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn futures_are_send_for_axum() {
        let imap = Imap::new(
            crate::config::Endpoint {
                host: "127.0.0.1".into(),
                port: 1,
                security: crate::config::Security::None,
                ca_file: None,
            },
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        let a = Account {
            login_id: "l".into(),
            username: "u".into(),
            password: crate::config::Secret::new("p"),
            server: None,
        };
        assert_send(&imap.append_special(&a, SpecialUse::Sent, b"x", Some("id@x")));
        assert_send(&imap.delete_draft(&a, "Drafts", 1));
        assert_send(&imap.is_draft(&a, "Drafts", 1));
        assert_send(&imap.add_flag(&a, "INBOX", 1, MessageFlag::Answered));
        assert_send(&imap.has_flag(&a, "INBOX", 1, MessageFlag::MdnSent));
    }

    #[test]
    fn flags_are_a_closed_set() {
        assert_eq!(MessageFlag::Answered.wire(), "\\Answered");
        assert_eq!(MessageFlag::Forwarded.wire(), "$Forwarded");
        assert_eq!(MessageFlag::MdnSent.wire(), "$MDNSent");
    }
}
