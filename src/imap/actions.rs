//! Message actions: flags, move, copy, archive, spam, delete, expunge and emptying a
//! folder, for one message or many at once.
//!
//! Every action addresses messages by UID *within the UIDVALIDITY the page was rendered
//! with*: the folder is SELECTed, its UIDVALIDITY compared with the one the form carried
//! (a mismatch means the server renumbered the folder, so the UIDs on the page may now
//! name other messages: we refuse), and the UIDs that are still there are looked up with
//! one `UID SEARCH`, so that messages another client already deleted are reported rather
//! than silently "done". That lookup also makes a retry after a lost connection safe.
//!
//! Moving uses `UID MOVE` (RFC 6851) when the server has it; otherwise `UID COPY`, then
//! `\Deleted` on exactly the copied UIDs, then `UID EXPUNGE` of exactly those (UIDPLUS,
//! RFC 4315). Without UIDPLUS a plain EXPUNGE would also remove messages another client
//! marked `\Deleted`, so those are unmarked for the moment of the EXPUNGE and marked
//! again after it. A target folder that vanished answers NO to MOVE/COPY, so nothing is
//! lost; we then check it is really gone and say so.
//!
//! There is one public function per action, so a rights check (ACL) can be added in one
//! place each. The web layer only sees [`Action`], [`ActionOutcome`] and
//! [`ActionError`]; the pure helpers at the bottom are unit-tested.

use std::collections::HashSet;

use super::{
    Account, Folder, Imap, ImapError, SpecialUse,
    command::{Cmd, CopyUid, SeqSet},
    conn::{Conn, Failure},
    folders,
    labels::{Keyword, LabelError, can_store},
    names::{mailbox_wire, name_from_wire},
};

/// What a message action form asks for (`action` plus `target` for move and copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Set `\Seen`.
    Read,
    /// Clear `\Seen`.
    Unread,
    /// Set `\Flagged`.
    Flag,
    /// Clear `\Flagged`.
    Unflag,
    /// Move to the named folder (UTF-8 name).
    Move(String),
    /// Copy to the named folder (UTF-8 name).
    Copy(String),
    /// Move to the `\Archive` folder (created when missing).
    Archive,
    /// Move to the `\Junk` folder (created when missing).
    Spam,
    /// Move back to INBOX.
    NotSpam,
    /// Move to `\Trash`; in Trash or Junk, remove for good (after confirmation).
    Delete,
    /// Remove for good, wherever the messages are (after confirmation).
    Expunge,
    /// Add a label (an IMAP keyword, see `labels`).
    Label(Keyword),
    /// Remove a label.
    Unlabel(Keyword),
}

impl Action {
    /// Parses the form's `action` field; `target` is used by `move` and `copy` only.
    /// `None` for an unknown action or a move/copy without a target.
    pub fn parse(action: &str, target: Option<&str>) -> Option<Action> {
        let target = target.map(str::trim).filter(|t| !t.is_empty());
        Some(match action {
            "read" => Action::Read,
            "unread" => Action::Unread,
            "flag" => Action::Flag,
            "unflag" => Action::Unflag,
            "move" => Action::Move(target?.to_owned()),
            "copy" => Action::Copy(target?.to_owned()),
            "archive" => Action::Archive,
            "spam" => Action::Spam,
            "notspam" => Action::NotSpam,
            "delete" => Action::Delete,
            "expunge" => Action::Expunge,
            _ => return None,
        })
    }

    /// `label` or `unlabel` with the form's `label` field (a label name, encoded into a
    /// keyword here); `None` for another action, else the label or why its name was
    /// refused.
    pub fn parse_label(action: &str, label: Option<&str>) -> Option<Result<Action, LabelError>> {
        let make: fn(Keyword) -> Action = match action {
            "label" => Action::Label,
            "unlabel" => Action::Unlabel,
            _ => return None,
        };
        Some(Keyword::from_name(label.unwrap_or_default()).map(make))
    }

    /// The form value of this action (the inverse of [`Action::parse`]).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Unread => "unread",
            Action::Flag => "flag",
            Action::Unflag => "unflag",
            Action::Move(_) => "move",
            Action::Copy(_) => "copy",
            Action::Archive => "archive",
            Action::Spam => "spam",
            Action::NotSpam => "notspam",
            Action::Delete => "delete",
            Action::Expunge => "expunge",
            Action::Label(_) => "label",
            Action::Unlabel(_) => "unlabel",
        }
    }

    /// Whether the messages leave the folder (so the message page opens the next one).
    pub fn removes(&self) -> bool {
        !matches!(
            self,
            Action::Read
                | Action::Unread
                | Action::Flag
                | Action::Unflag
                | Action::Copy(_)
                | Action::Label(_)
                | Action::Unlabel(_)
        )
    }
}

/// The messages an action applies to: UIDs of one folder, valid for one UIDVALIDITY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The folder (UTF-8 name).
    pub mailbox: String,
    /// The UIDVALIDITY the page was rendered with; `None` skips the check (a client that
    /// does not send it takes the risk).
    pub uidvalidity: Option<u32>,
    /// The messages. Duplicates are ignored.
    pub uids: Vec<u32>,
}

/// What an action did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionOutcome {
    /// Messages acted on.
    pub done: usize,
    /// Requested messages that were no longer in the folder (another client deleted or
    /// moved them): nothing was done to them, and the user should be told.
    pub gone: usize,
    /// The messages were removed for good rather than moved to Trash.
    pub permanent: bool,
    /// Where a move (also delete to Trash, archive, spam) put them, when the server said
    /// (UIDPLUS): what an Undo needs to move them back.
    pub moved: Option<Moved>,
}

/// Messages in their new folder after a move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The target folder (UTF-8 name).
    pub mailbox: String,
    pub uidvalidity: u32,
    /// Their UIDs there.
    pub uids: Vec<u32>,
}

/// Why an action was refused. Nothing was changed on the server in any of these cases.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The folder's UIDVALIDITY differs from the page's: its UIDs may name other
    /// messages now. The page must be reloaded.
    #[error("the folder was renumbered since the page was shown")]
    UidValidityChanged,
    /// The target folder does not exist (any more).
    #[error("the target folder does not exist")]
    NoSuchTarget,
    /// Moving or copying into the folder the messages are already in.
    #[error("source and target are the same folder")]
    SameFolder,
    /// This would delete for good, and the caller did not confirm.
    #[error("permanent deletion needs confirmation")]
    NeedsConfirmation,
    /// The user's rights (ACL, RFC 4314) in the folder, or in the target, do not allow
    /// it; see `Imap::check_action` in `imap::acl`.
    #[error("not allowed by the folder's access rights")]
    NotPermitted,
    /// The folder's PERMANENTFLAGS have neither `\*` nor the label's keyword: the
    /// server would not keep the label.
    #[error("the folder cannot keep labels")]
    LabelsNotStored,
    /// Anything else (unreachable server, no such source folder, …).
    #[error(transparent)]
    Imap(#[from] ImapError),
}

/// Where a message sits among its neighbours, for the message page's buttons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessagePlace {
    /// The folder's UIDVALIDITY, for the action forms.
    pub uidvalidity: u32,
    /// The message is `\Flagged` (the page offers "unflag" instead of "flag").
    pub flagged: bool,
    /// The message is `\Seen`.
    pub seen: bool,
    /// The next message down a newest-first list (the older neighbour, by arrival).
    pub older: Option<u32>,
    /// The previous message up the list (the newer neighbour, by arrival).
    pub newer: Option<u32>,
    /// The message's labels (keywords), sorted.
    pub labels: Vec<Keyword>,
}

/// An operation's result inside `run`: refusals travel in the inner `Result` so the
/// connection goes back to the pool.
type Inner<T> = Result<Result<T, ActionError>, Failure>;

impl Imap {
    /// Runs `action` on `sel`; one entry point for the web layer, dispatching to the
    /// function of each action below. `confirmed` must be true for anything that deletes
    /// for good (`expunge`, and `delete` inside Trash or Junk), else
    /// [`ActionError::NeedsConfirmation`] comes back and nothing happens.
    pub async fn apply_action(
        &self,
        a: &Account,
        sel: &Selection,
        action: &Action,
        confirmed: bool,
    ) -> Result<ActionOutcome, ActionError> {
        self.check_action(a, &sel.mailbox, action).await?;
        match action {
            Action::Read => self.mark_read(a, sel, true).await,
            Action::Unread => self.mark_read(a, sel, false).await,
            Action::Flag => self.mark_flagged(a, sel, true).await,
            Action::Unflag => self.mark_flagged(a, sel, false).await,
            Action::Move(target) => self.move_messages(a, sel, target).await,
            Action::Copy(target) => self.copy_messages(a, sel, target).await,
            Action::Archive => self.archive(a, sel).await,
            Action::Spam => self.mark_spam(a, sel).await,
            Action::NotSpam => self.mark_not_spam(a, sel).await,
            Action::Delete => self.delete_messages(a, sel, confirmed).await,
            Action::Expunge => self.expunge_messages(a, sel, confirmed).await,
            Action::Label(k) => self.store_label(a, sel, k, true).await,
            Action::Unlabel(k) => self.store_label(a, sel, k, false).await,
        }
    }

    /// Sets (`true`) or clears `\Seen`.
    pub async fn mark_read(
        &self,
        a: &Account,
        sel: &Selection,
        read: bool,
    ) -> Result<ActionOutcome, ActionError> {
        self.store_flag(a, sel, "\\Seen", read).await
    }

    /// Sets (`true`) or clears `\Flagged`.
    pub async fn mark_flagged(
        &self,
        a: &Account,
        sel: &Selection,
        flagged: bool,
    ) -> Result<ActionOutcome, ActionError> {
        self.store_flag(a, sel, "\\Flagged", flagged).await
    }

    /// Moves the messages to `target` (UTF-8 name). MOVE when the server has it, else
    /// COPY + `\Deleted` + UID EXPUNGE of exactly these messages.
    pub async fn move_messages(
        &self,
        a: &Account,
        sel: &Selection,
        target: &str,
    ) -> Result<ActionOutcome, ActionError> {
        let (this, sel, src) = (self.clone(), sel.clone(), mailbox_wire(&sel.mailbox)?);
        let dst = mailbox_wire(target)?;
        if dst == src {
            return Err(ActionError::SameFolder);
        }
        self.run_action(a, async move |c: &mut Conn| {
            this.move_selection_on(c, &src, &sel, &dst).await
        })
        .await
    }

    /// Copies the messages to `target` (UTF-8 name); the originals stay.
    pub async fn copy_messages(
        &self,
        a: &Account,
        sel: &Selection,
        target: &str,
    ) -> Result<ActionOutcome, ActionError> {
        let (sel, src) = (sel.clone(), mailbox_wire(&sel.mailbox)?);
        let dst = mailbox_wire(target)?;
        if dst == src {
            return Err(ActionError::SameFolder);
        }
        self.run_action(a, async move |c: &mut Conn| {
            let uids = match open_selection(c, &src, &sel).await? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            if !uids.present.is_empty() {
                let cmd = Cmd::new("UID COPY")
                    .set(&SeqSet::list(&uids.present))
                    .mailbox(&dst);
                if let Err(f) = c.command(&cmd, |_| {}).await {
                    return target_failure(c, &dst, f).await;
                }
            }
            Ok(Ok(ActionOutcome {
                done: uids.present.len(),
                gone: uids.gone,
                permanent: false,
                moved: None,
            }))
        })
        .await
    }

    /// Moves the messages to the `\Archive` folder, creating it when there is none.
    pub async fn archive(
        &self,
        a: &Account,
        sel: &Selection,
    ) -> Result<ActionOutcome, ActionError> {
        self.move_to_role(a, sel, SpecialUse::Archive).await
    }

    /// Moves the messages to the `\Junk` folder, creating it when there is none.
    pub async fn mark_spam(
        &self,
        a: &Account,
        sel: &Selection,
    ) -> Result<ActionOutcome, ActionError> {
        self.move_to_role(a, sel, SpecialUse::Junk).await
    }

    /// "Not spam": moves the messages back to INBOX.
    pub async fn mark_not_spam(
        &self,
        a: &Account,
        sel: &Selection,
    ) -> Result<ActionOutcome, ActionError> {
        self.move_messages(a, sel, "INBOX").await
    }

    /// Moves the messages to `\Trash` (created when missing). Inside Trash or Junk they
    /// are removed for good instead, which needs `confirmed`.
    pub async fn delete_messages(
        &self,
        a: &Account,
        sel: &Selection,
        confirmed: bool,
    ) -> Result<ActionOutcome, ActionError> {
        let (this, sel, src) = (self.clone(), sel.clone(), mailbox_wire(&sel.mailbox)?);
        self.run_action(a, async move |c: &mut Conn| {
            let list = this.special_folders_on(c).await?;
            let role = role_of(&list, &sel.mailbox);
            if matches!(role, Some(SpecialUse::Trash | SpecialUse::Junk)) {
                if !confirmed {
                    return Ok(Err(ActionError::NeedsConfirmation));
                }
                return this.expunge_on(c, &src, &sel).await;
            }
            let trash = match this.role_folder_on(c, &list, SpecialUse::Trash).await? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            this.move_selection_on(c, &src, &sel, &trash).await
        })
        .await
    }

    /// Removes the messages for good (`\Deleted` + UID EXPUNGE of exactly these), which
    /// needs `confirmed`.
    pub async fn expunge_messages(
        &self,
        a: &Account,
        sel: &Selection,
        confirmed: bool,
    ) -> Result<ActionOutcome, ActionError> {
        if !confirmed {
            return Err(ActionError::NeedsConfirmation);
        }
        let (this, sel, src) = (self.clone(), sel.clone(), mailbox_wire(&sel.mailbox)?);
        self.run_action(a, async move |c: &mut Conn| {
            this.expunge_on(c, &src, &sel).await
        })
        .await
    }

    /// Removes every message of the folder for good ("Empty Trash"). Messages that
    /// arrive meanwhile are not flagged and so survive. `uidvalidity` is checked like an
    /// action's. Returns how many messages were removed.
    pub async fn empty_folder(
        &self,
        a: &Account,
        mailbox: &str,
        uidvalidity: Option<u32>,
    ) -> Result<ActionOutcome, ActionError> {
        self.check_action(a, mailbox, &Action::Expunge).await?;
        let (this, wire) = (self.clone(), mailbox_wire(mailbox)?);
        self.run_action(a, async move |c: &mut Conn| {
            let mbox = c.select(&wire).await?;
            if stale(uidvalidity, mbox.uid_validity) {
                return Ok(Err(ActionError::UidValidityChanged));
            }
            if mbox.exists == 0 {
                return Ok(Ok(ActionOutcome {
                    permanent: true,
                    ..ActionOutcome::default()
                }));
            }
            let uids = c.search(&Cmd::new("UID SEARCH ALL")).await?;
            this.remove_on(c, &uids).await?;
            Ok(Ok(ActionOutcome {
                done: uids.len(),
                gone: 0,
                permanent: true,
                moved: None,
            }))
        })
        .await
    }

    /// [`Imap::mark_read`] and [`Imap::mark_flagged`]: `UID STORE ±FLAGS.SILENT`.
    async fn store_flag(
        &self,
        a: &Account,
        sel: &Selection,
        flag: &'static str,
        set: bool,
    ) -> Result<ActionOutcome, ActionError> {
        let (sel, src) = (sel.clone(), mailbox_wire(&sel.mailbox)?);
        let op = if set {
            "+FLAGS.SILENT"
        } else {
            "-FLAGS.SILENT"
        };
        let what = Cmd::fragment().atom(op).list(Cmd::fragment().atom(flag));
        self.run_action(a, async move |c: &mut Conn| {
            let uids = match open_selection(c, &src, &sel).await? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            if !uids.present.is_empty() {
                store(c, &uids.present, &what).await?;
            }
            Ok(Ok(ActionOutcome {
                done: uids.present.len(),
                gone: uids.gone,
                permanent: false,
                moved: None,
            }))
        })
        .await
    }

    /// Adds (`true`) or removes a label: `UID STORE ±FLAGS.SILENT (keyword)`. Adding is
    /// refused with [`ActionError::LabelsNotStored`] when the folder's PERMANENTFLAGS
    /// cannot hold the keyword.
    pub async fn store_label(
        &self,
        a: &Account,
        sel: &Selection,
        keyword: &Keyword,
        set: bool,
    ) -> Result<ActionOutcome, ActionError> {
        let (sel, src, keyword) = (sel.clone(), mailbox_wire(&sel.mailbox)?, keyword.clone());
        let op = if set {
            "+FLAGS.SILENT"
        } else {
            "-FLAGS.SILENT"
        };
        let what = Cmd::fragment()
            .atom(op)
            .list(Cmd::fragment().keyword(keyword.as_str()));
        self.run_action(a, async move |c: &mut Conn| {
            let (uids, permanent) = match open_selection_flags(c, &src, &sel).await? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            if set && !can_store(&permanent, &keyword) {
                return Ok(Err(ActionError::LabelsNotStored));
            }
            if !uids.present.is_empty() {
                store(c, &uids.present, &what).await?;
            }
            Ok(Ok(ActionOutcome {
                done: uids.present.len(),
                gone: uids.gone,
                permanent: false,
                moved: None,
            }))
        })
        .await
    }

    /// Archive and spam: find (or create) the folder with that role, then move there.
    async fn move_to_role(
        &self,
        a: &Account,
        sel: &Selection,
        role: SpecialUse,
    ) -> Result<ActionOutcome, ActionError> {
        let (this, sel, src) = (self.clone(), sel.clone(), mailbox_wire(&sel.mailbox)?);
        self.run_action(a, async move |c: &mut Conn| {
            let list = this.special_folders_on(c).await?;
            let dst = match this.role_folder_on(c, &list, role).await? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            if dst == src {
                return Ok(Err(ActionError::SameFolder));
            }
            this.move_selection_on(c, &src, &sel, &dst).await
        })
        .await
    }

    /// `run` for actions: refusals come back as [`ActionError`]s.
    async fn run_action(
        &self,
        a: &Account,
        op: impl AsyncFnMut(&mut Conn) -> Inner<ActionOutcome>,
    ) -> Result<ActionOutcome, ActionError> {
        self.run(a, op).await?
    }

    /// Opens the selection in `src` and moves the messages still there to `dst`: the
    /// body of move, delete (to Trash), archive and spam.
    async fn move_selection_on(
        &self,
        c: &mut Conn,
        src: &str,
        sel: &Selection,
        dst: &str,
    ) -> Inner<ActionOutcome> {
        let uids = match open_selection(c, src, sel).await? {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        let present = &uids.present;
        self.move_on(c, present, dst).await.map(|r| {
            r.map(|copied| ActionOutcome {
                done: present.len(),
                gone: uids.gone,
                permanent: false,
                moved: copied.and_then(|cu| moved_to(dst, present, cu)),
            })
        })
    }

    /// Moves `uids` of the selected folder to `dst` (wire name); the `COPYUID` the
    /// server answered with, if any.
    async fn move_on(&self, c: &mut Conn, uids: &[u32], dst: &str) -> Inner<Option<CopyUid>> {
        if uids.is_empty() {
            return Ok(Ok(None));
        }
        let set = SeqSet::list(uids);
        if self.has(c, "MOVE") {
            let cmd = Cmd::new("UID MOVE").set(&set).mailbox(dst);
            return match c.command_copyuid(&cmd).await {
                Ok(copied) => Ok(Ok(copied)),
                Err(f) => target_failure(c, dst, f).await,
            };
        }
        // RFC 6851 §3.3: COPY, then remove exactly the copied messages. If COPY fails
        // nothing was flagged, so nothing is lost.
        let cmd = Cmd::new("UID COPY").set(&set).mailbox(dst);
        let copied = match c.command_copyuid(&cmd).await {
            Ok(copied) => copied,
            Err(f) => return target_failure(c, dst, f).await,
        };
        self.remove_on(c, uids).await?;
        Ok(Ok(copied))
    }

    /// SELECTs, checks, and removes the selection for good.
    async fn expunge_on(&self, c: &mut Conn, src: &str, sel: &Selection) -> Inner<ActionOutcome> {
        let uids = match open_selection(c, src, sel).await? {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        self.remove_on(c, &uids.present).await?;
        Ok(Ok(ActionOutcome {
            done: uids.present.len(),
            gone: uids.gone,
            permanent: true,
            moved: None,
        }))
    }

    /// `\Deleted` on `uids`, then expunges exactly those: UID EXPUNGE with UIDPLUS;
    /// otherwise other `\Deleted` messages are unmarked around a plain EXPUNGE so that
    /// another client's pending deletions are not carried out by us.
    async fn remove_on(&self, c: &mut Conn, uids: &[u32]) -> Result<(), Failure> {
        if uids.is_empty() {
            return Ok(());
        }
        store(c, uids, &flags("+FLAGS.SILENT (\\Deleted)")).await?;
        if self.has(c, "UIDPLUS") {
            let expunge = Cmd::new("UID EXPUNGE").set(&SeqSet::list(uids));
            c.command(&expunge, |_| {}).await?;
            return Ok(());
        }
        let deleted = c.search(&Cmd::new("UID SEARCH DELETED")).await?;
        let ours: HashSet<u32> = uids.iter().copied().collect();
        let others: Vec<u32> = deleted.into_iter().filter(|u| !ours.contains(u)).collect();
        if !others.is_empty() {
            store(c, &others, &flags("-FLAGS.SILENT (\\Deleted)")).await?;
        }
        let expunged = c.command(&Cmd::new("EXPUNGE"), |_| {}).await;
        if !others.is_empty() {
            store(c, &others, &flags("+FLAGS.SILENT (\\Deleted)")).await?;
        }
        expunged
    }

    /// LIST with special-use attributes (names are the fallback), for finding Trash,
    /// Junk and Archive and the role of the current folder. One round trip.
    pub(super) async fn special_folders_on(&self, c: &mut Conn) -> Result<Vec<Folder>, Failure> {
        let mut col = folders::ListCollector::default();
        let cmd = Cmd::new(
            if self.has(c, "LIST-EXTENDED") && self.has(c, "SPECIAL-USE") {
                "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
            } else {
                "LIST \"\" \"*\""
            },
        );
        c.command(&cmd, |r| col.feed(r, false)).await?;
        Ok(folders::build(col.finish()))
    }

    /// The wire name of the folder with `role`, created (top level, i.e. under the
    /// personal namespace's prefix, English name, with the role attribute when the server
    /// has CREATE-SPECIAL-USE) when there is none.
    async fn role_folder_on(
        &self,
        c: &mut Conn,
        list: &[Folder],
        role: SpecialUse,
    ) -> Inner<String> {
        if let Some(f) = list
            .iter()
            .find(|f| f.special == Some(role) && f.selectable)
        {
            return Ok(Ok(mailbox_wire(&f.name).map_err(Failure::Fail)?));
        }
        let (name, attr) = match role {
            SpecialUse::Archive => ("Archive", "\\Archive"),
            SpecialUse::Junk => ("Junk", "\\Junk"),
            SpecialUse::Trash => ("Trash", "\\Trash"),
            SpecialUse::Drafts => ("Drafts", "\\Drafts"),
            SpecialUse::Sent => ("Sent", "\\Sent"),
            SpecialUse::Inbox => return Ok(Ok("INBOX".to_owned())),
        };
        // `INBOX.Archive` on Cyrus, where a bare top-level name is refused.
        let prefix = self.personal_prefix_on(c).await?;
        let name = &mailbox_wire(&format!("{prefix}{name}")).map_err(Failure::Fail)?;
        let mut cmd = Cmd::new("CREATE").mailbox(name);
        if self.has(c, "CREATE-SPECIAL-USE") {
            cmd = cmd.atom("(USE").list(Cmd::fragment().atom(attr)).atom(")");
        }
        match c.command(&cmd, |_| {}).await {
            Ok(()) => {
                // Best effort: a folder the user cannot see in other clients is confusing.
                let _ = c
                    .command(&Cmd::new("SUBSCRIBE").mailbox(name), |_| {})
                    .await;
            }
            // Someone created it meanwhile (or a folder of that name exists without the
            // attribute): use it.
            Err(Failure::Rejected { bad: false, .. }) => {}
            Err(f) => return Err(f),
        }
        Ok(Ok(name.to_owned()))
    }
}

/// The requested UIDs split into those still in the folder and a count of the rest.
struct Present {
    present: Vec<u32>,
    gone: usize,
}

/// SELECTs the source folder, checks UIDVALIDITY and finds which UIDs still exist.
async fn open_selection(c: &mut Conn, src: &str, sel: &Selection) -> Inner<Present> {
    Ok(open_selection_flags(c, src, sel).await?.map(|(p, _)| p))
}

/// [`open_selection`], also returning the folder's PERMANENTFLAGS.
async fn open_selection_flags(
    c: &mut Conn,
    src: &str,
    sel: &Selection,
) -> Inner<(Present, Vec<String>)> {
    let mbox = c.select(src).await?;
    let permanent: Vec<String> = mbox
        .permanent_flags
        .iter()
        .map(super::labels::flag_text)
        .collect();
    if stale(sel.uidvalidity, mbox.uid_validity) {
        // What the user saw is out of date: so may be what is remembered (`fresh`).
        c.note_change();
        return Ok(Err(ActionError::UidValidityChanged));
    }
    let wanted = dedup(&sel.uids);
    if wanted.is_empty() {
        let none = Present {
            present: Vec::new(),
            gone: 0,
        };
        return Ok(Ok((none, permanent)));
    }
    let search = Cmd::new("UID SEARCH UID").set(&SeqSet::list(&wanted));
    let found: HashSet<u32> = c.search(&search).await?.into_iter().collect();
    let present: Vec<u32> = wanted
        .iter()
        .copied()
        .filter(|u| found.contains(u))
        .collect();
    let found = Present {
        gone: wanted.len() - present.len(),
        present,
    };
    if found.gone > 0 {
        // Deleted elsewhere, maybe before the server's report reached the user's watcher:
        // the page the action leads to must not come from memory.
        c.note_change();
    }
    Ok(Ok((found, permanent)))
}

/// `UID STORE set <what>`, ignoring the FETCH echoes (we send `.SILENT` anyway).
async fn store(c: &mut Conn, uids: &[u32], what: &Cmd) -> Result<(), Failure> {
    let cmd = Cmd::new("UID STORE")
        .set(&SeqSet::list(uids))
        .then(what.clone());
    c.command(&cmd, |_| {}).await
}

/// A constant `UID STORE` argument, e.g. `+FLAGS.SILENT (\Deleted)`.
fn flags(what: &'static str) -> Cmd {
    Cmd::fragment().atom(what)
}

/// MOVE or COPY was refused: if the target folder is gone, say so; else pass the
/// server's refusal on. Either way nothing was lost (a refused MOVE/COPY changes nothing).
async fn target_failure<T>(c: &mut Conn, dst: &str, f: Failure) -> Inner<T> {
    if !matches!(f, Failure::Rejected { bad: false, .. }) {
        return Err(f);
    }
    let mut exists = false;
    c.command(&Cmd::new("LIST \"\"").mailbox(dst), |r| {
        if let async_imap::imap_proto::Response::MailboxData(
            async_imap::imap_proto::MailboxDatum::List(_),
        ) = r
        {
            exists = true;
        }
    })
    .await?;
    if exists {
        Err(f)
    } else {
        Ok(Err(ActionError::NoSuchTarget))
    }
}

/// Whether the page's UIDVALIDITY (when it sent one) differs from the folder's now.
fn stale(page: Option<u32>, server: Option<u32>) -> bool {
    match (page, server) {
        (Some(p), Some(s)) => p != s,
        // A server without UIDVALIDITY cannot be checked; one the page did not send
        // either.
        _ => false,
    }
}

/// UIDs sorted, without duplicates or zero (no message has UID 0).
fn dedup(uids: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = uids.iter().copied().filter(|&u| u > 0).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The role of the folder named `mailbox` (UTF-8), from a special-use listing.
fn role_of(list: &[Folder], mailbox: &str) -> Option<SpecialUse> {
    list.iter()
        .find(|f| f.name == mailbox)
        .and_then(|f| f.special)
}

/// The messages' place after a move to `dst` (wire name), from the server's `COPYUID`:
/// only when it accounts for every message moved, so an Undo never leaves one behind.
fn moved_to(dst: &str, moved: &[u32], copied: CopyUid) -> Option<Moved> {
    let mut uids = Vec::with_capacity(moved.len());
    for u in moved {
        uids.push(copied.pairs.iter().find(|(old, _)| old == u)?.1);
    }
    Some(Moved {
        mailbox: name_from_wire(dst)?,
        uidvalidity: copied.uidvalidity,
        uids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_round_trip() {
        for name in [
            "read", "unread", "flag", "unflag", "archive", "spam", "notspam", "delete", "expunge",
        ] {
            assert_eq!(Action::parse(name, None).map(|a| a.name()), Some(name));
        }
        assert_eq!(
            Action::parse("move", Some(" 报告 ")),
            Some(Action::Move("报告".into()))
        );
        assert_eq!(Action::parse("move", Some("  ")), None);
        assert_eq!(Action::parse("copy", None), None);
        assert_eq!(Action::parse("DELETE", None), None);
        assert!(Action::Delete.removes() && !Action::Copy("x".into()).removes());
        let work = Keyword::from_name("Work").unwrap();
        assert_eq!(
            Action::parse_label("label", Some(" Work ")),
            Some(Ok(Action::Label(work.clone())))
        );
        assert_eq!(
            Action::parse_label("unlabel", Some("Work")),
            Some(Ok(Action::Unlabel(work)))
        );
        assert_eq!(
            Action::parse_label("label", Some("\\Seen")),
            Some(Err(LabelError::System))
        );
        assert_eq!(
            Action::parse_label("label", None),
            Some(Err(LabelError::Empty))
        );
        assert_eq!(Action::parse_label("flag", Some("x")), None);
        assert!(!Action::Label(Keyword::from_name("x").unwrap()).removes());
    }

    #[test]
    fn uidvalidity_check() {
        assert!(!stale(Some(5), Some(5)));
        assert!(stale(Some(5), Some(6)));
        assert!(!stale(None, Some(6)));
        assert!(!stale(Some(5), None));
    }

    #[test]
    fn uids_are_deduplicated() {
        assert_eq!(dedup(&[3, 1, 3, 0, 2]), vec![1, 2, 3]);
    }

    /// Compile-time check: axum handlers need `Send` futures, and async closures given
    /// to `run` lose that as soon as they capture a reference (even a `&'static str`).
    #[allow(dead_code)]
    fn futures_are_send_for_axum(i: Imap, a: Account, s: Selection) {
        fn assert_send<T: Send>(_: T) {}
        assert_send(i.apply_action(&a, &s, &Action::Read, false));
        assert_send(i.empty_folder(&a, "x", None));
        assert_send(i.check_action(&a, "x", &Action::Read));
    }
}
