//! What every page's sidebar needs, in one pipelined round trip: the folder list with
//! counts (LIST-STATUS), the namespaces (other users' and public folders are shown
//! apart), the user's rights in the folder being viewed (MYRIGHTS: the toolbar hides
//! what they do not allow) and the storage quota.
//!
//! The quota is the expensive part: with Dovecot's `count` backend, GETQUOTAROOT opens
//! every folder, which on a 10,000-message Maildir costs as much as the whole message
//! list. Storage only changes when a message is added or removed, and the folder list
//! tells exactly that (each folder's MESSAGES and UIDNEXT), so the quota is asked for
//! again only when that "content stamp" moved since the last time, or after
//! [`QUOTA_RECHECK`] (an administrator may change the limit). So the quota always comes
//! with a folder list ([`Imap::quota_on`]; the message page gets both from
//! `Imap::open_message`). The remembered value is a cache: losing it only costs one
//! GETQUOTAROOT.

use std::time::Duration;

use async_imap::imap_proto::Response;

use super::{
    Account, Folder, Imap, ImapError,
    acl::{Namespaces, Rights, my_rights_in},
    command::Cmd,
    conn::{Conn, Failure},
    folders::{self, ListCollector},
    fresh::Vouched,
    names::mailbox_wire,
    quota::{Quota, QuotaCollector},
    wire,
};

/// How long a remembered quota may be shown while no folder's content changed.
pub const QUOTA_RECHECK: Duration = Duration::from_secs(60);

/// Sidebars vouched for by a watcher (see `fresh`), by user, current folder (wire name)
/// and whether the folder list was asked for. Kept at most [`QUOTA_RECHECK`], so an
/// administrator's new storage limit still shows.
pub type SidebarCache = Vouched<SidebarKey, Sidebar>;

/// Whose sidebar, for a page about which folder (wire name), with the folder list or not.
pub type SidebarKey = (String, Option<String>, bool);

/// Folder lists with their quota, by user, vouched for by a watcher. At most
/// [`QUOTA_RECHECK`] old, as sidebars.
pub type ListingCache = Vouched<String, (Vec<Folder>, Option<Quota>)>;

/// An empty [`SidebarCache`] or [`ListingCache`].
pub fn short_lived<K, V>() -> Vouched<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Vouched::new(
        moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(QUOTA_RECHECK)
            .build(),
    )
}

/// The quota of one login, and the content stamp it was read at.
pub type QuotaMemo = (u64, Option<Quota>);

/// What the sidebar and the action toolbar need besides the folder list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SidebarExtras {
    /// `None` when the server has no NAMESPACE.
    pub namespaces: Option<Namespaces>,
    /// `None` when the server has no QUOTA or no storage limit.
    pub quota: Option<Quota>,
    /// The user's rights in the current folder; `None` without ACL or folder.
    pub rights: Option<(String, Rights)>,
}

/// Everything a page's sidebar shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sidebar {
    /// The folders, as [`Imap::list_folders`] gives them; `None` when not asked for.
    pub folders: Option<Vec<Folder>>,
    /// Namespaces, quota, rights.
    pub extras: SidebarExtras,
}

/// The folder list and its content stamp (see the module doc).
pub(super) struct Listing {
    pub folders: Vec<Folder>,
    pub stamp: u64,
}

impl Imap {
    /// The sidebar of a page about `current` (a UTF-8 folder name, if any): namespaces
    /// and rights, plus the folder list and the quota when `with_folders`, in one round
    /// trip when the server has LIST-STATUS and the quota is known not to have changed.
    pub async fn sidebar(
        &self,
        a: &Account,
        current: Option<&str>,
        with_folders: bool,
    ) -> Result<Sidebar, ImapError> {
        let current = current.and_then(|m| mailbox_wire(m).ok().map(|w| (m.to_owned(), w)));
        let key = (
            a.username.clone(),
            current.as_ref().map(|(_, w)| w.clone()),
            with_folders,
        );
        let fresh = &self.inner.fresh;
        // Vouched for by the user's watcher: no connection needed at all (perhaps once
        // another page asking at the same moment has asked the server).
        let user = a.username.as_str();
        let _turn = match self
            .inner
            .sidebar_turns
            .after_others(
                &key,
                || fresh.current(user),
                |_| std::future::ready(self.inner.sidebars.get(fresh, user, &key)),
            )
            .await
        {
            Ok(sidebar) => return Ok(sidebar),
            Err(turn) => turn,
        };
        // Read before the server is asked: a change meanwhile moves it on.
        let generation = fresh.current(&a.username);
        let (this, login) = (self.clone(), a.login_id.clone());
        let sidebar = self
            .run(a, async move |c: &mut Conn| {
                this.sidebar_on(c, &login, current.as_ref(), with_folders)
                    .await
            })
            .await?;
        // Kept only when the watcher reports on every folder it shows (other users'
        // folders' changes are not reported to it) and on the current one.
        let folders = sidebar.folders.as_deref().unwrap_or_default();
        if fresh.covers_folders(&a.username, folders, key.1.as_deref()) {
            self.inner.sidebars.put(key, generation, sidebar.clone());
        }
        Ok(sidebar)
    }

    /// The folder list and quota of `user` (for a page about `wire`), if remembered (by a
    /// message page, or in the list page's sidebar) and the user's watcher vouches that
    /// nothing changed since it was read.
    pub(super) fn vouched_listing(
        &self,
        user: &str,
        wire: &str,
    ) -> Option<(Vec<Folder>, Option<Quota>)> {
        let fresh = &self.inner.fresh;
        if let Some(listing) = self.inner.listings.get(fresh, user, &user.to_owned()) {
            return Some(listing);
        }
        let key = (user.to_owned(), Some(wire.to_owned()), true);
        let sidebar = self.inner.sidebars.get(fresh, user, &key)?;
        Some((sidebar.folders?, sidebar.extras.quota))
    }

    /// Remembers `user`'s folder list and quota, read at `generation`, if the watcher
    /// reports on every folder in it.
    pub(super) fn remember_listing(
        &self,
        user: &str,
        generation: Option<u64>,
        folders: &[Folder],
        quota: Option<Quota>,
    ) {
        if self.inner.fresh.covers_folders(user, folders, None) {
            self.inner
                .listings
                .put(user.to_owned(), generation, (folders.to_vec(), quota));
        }
    }

    /// [`Imap::sidebar`] on one connection.
    async fn sidebar_on(
        &self,
        c: &mut Conn,
        login_id: &str,
        current: Option<&(String, String)>,
        with_folders: bool,
    ) -> Result<Sidebar, Failure> {
        let list = with_folders.then(|| self.list_status_command(c)).flatten();
        let namespace = self.has(c, "NAMESPACE");
        let rights_of = current.filter(|_| self.has(c, "ACL"));
        let has_quota = self.has(c, "QUOTA");
        // Sent along only the first time; later the folder list tells whether the
        // remembered one still holds.
        let quota_now = has_quota && with_folders && !self.inner.quota_memo.contains_key(login_id);

        let mut commands = Vec::new();
        commands.extend(list.clone());
        if namespace {
            commands.push(Cmd::new("NAMESPACE"));
        }
        if let Some((_, wire)) = rights_of {
            commands.push(Cmd::new("MYRIGHTS").mailbox(wire));
        }
        if quota_now {
            commands.push(Cmd::new(QUOTA_COMMAND));
        }
        // These commands may finish in any order (see `Conn::pipeline`): each answer is
        // picked out of all the replies' lines by its kind.
        let mut list_status = Ok(());
        let mut all = Vec::new();
        for (i, reply) in c.pipeline(&commands).await?.into_iter().enumerate() {
            if i == 0 && list.is_some() {
                list_status = reply.status;
            }
            all.extend(reply.lines);
        }

        let mut out = Sidebar::default();
        let listing = match list {
            Some(_) => Some(listing_of(list_status, &all)?),
            None if with_folders => Some(self.list_on(c).await?),
            None => None,
        };
        if namespace {
            out.extras.namespaces = all
                .iter()
                .find_map(|l| wire::untagged(l, "NAMESPACE"))
                .and_then(|v| Namespaces::parse(&v));
        }
        if let Some((name, wire)) = rights_of {
            out.extras.rights = my_rights_in(&all, wire).map(|r| (name.clone(), r));
        }
        out.extras.quota = match &listing {
            Some(l) if quota_now => {
                let q = quota_in(&all);
                self.remember_quota(login_id, l.stamp, q).await;
                q
            }
            Some(l) if has_quota => self.quota_on(c, login_id, l.stamp).await?,
            _ => None,
        };
        out.folders = listing.map(|l| l.folders);
        Ok(out)
    }

    /// The quota of a login whose folders were just listed with content stamp `stamp`:
    /// the remembered one when no folder's content moved since, else asked for now and
    /// remembered. `None` without QUOTA or a storage limit.
    pub(super) async fn quota_on(
        &self,
        c: &mut Conn,
        login_id: &str,
        stamp: u64,
    ) -> Result<Option<Quota>, Failure> {
        if !self.has(c, "QUOTA") {
            return Ok(None);
        }
        if let Some((seen, q)) = self.inner.quota_memo.get(login_id).await
            && seen == stamp
        {
            return Ok(q);
        }
        let reply = c.pipeline(&[Cmd::new(QUOTA_COMMAND)]).await?;
        let q = reply.first().and_then(|r| quota_in(&r.lines));
        self.remember_quota(login_id, stamp, q).await;
        Ok(q)
    }

    /// Remembers the quota read at content stamp `stamp`.
    async fn remember_quota(&self, login_id: &str, stamp: u64, q: Option<Quota>) {
        self.inner
            .quota_memo
            .insert(login_id.to_owned(), (stamp, q))
            .await;
    }

    /// The LIST command that returns every folder with its counts (RFC 5819), when the
    /// server has LIST-STATUS.
    pub(super) fn list_status_command(&self, c: &Conn) -> Option<Cmd> {
        if !self.has(c, "LIST-STATUS") {
            return None;
        }
        let mut ret = Cmd::fragment();
        if self.has(c, "LIST-EXTENDED") {
            ret = ret.atom("SUBSCRIBED");
        }
        if self.has(c, "SPECIAL-USE") {
            ret = ret.atom("SPECIAL-USE");
        }
        ret = ret.atom("STATUS (MESSAGES UNSEEN UIDNEXT)");
        Some(Cmd::new("LIST \"\" \"*\" RETURN").list(ret))
    }

    /// The folder list on one connection: one LIST-STATUS when the server has it, else
    /// LIST, LSUB and a STATUS per folder.
    pub(super) async fn list_on(&self, c: &mut Conn) -> Result<Listing, Failure> {
        if let Some(cmd) = self.list_status_command(c) {
            let reply = c.pipeline(&[cmd]).await?.into_iter().next();
            let reply = reply.ok_or_else(missing_reply)?;
            return listing_of(reply.status, &reply.lines);
        }
        let mut col = ListCollector::default();
        c.command(&Cmd::new("LIST \"\" \"*\""), |r| col.feed(r, false))
            .await?;
        c.command(&Cmd::new("LSUB \"\" \"*\""), |r| col.feed(r, true))
            .await?;
        for name in col.selectable_wire_names() {
            let cmd = Cmd::new("STATUS")
                .mailbox(&name)
                .atom("(MESSAGES UNSEEN UIDNEXT)");
            match c.command(&cmd, |r| col.feed(r, false)).await {
                // A folder we may not open keeps zero counts.
                Err(f) if !f.connection_ok() => return Err(f),
                _ => {}
            }
        }
        Ok(finish(col))
    }
}

/// The quota command: the root that governs the user's mail.
const QUOTA_COMMAND: &str = "GETQUOTAROOT \"INBOX\"";

/// The reply to a LIST-STATUS read raw (how it ended, and lines among which are its
/// LIST and STATUS responses), as a listing.
fn listing_of(status: Result<(), Failure>, lines: &[Vec<u8>]) -> Result<Listing, Failure> {
    status?;
    let mut col = ListCollector::default();
    for line in lines {
        // A line imap-proto cannot read is one folder less, not a broken page.
        if let Ok((_, resp)) = Response::parse(line) {
            col.feed(&resp, false);
        }
    }
    Ok(finish(col))
}

fn finish(col: ListCollector) -> Listing {
    let raw = col.finish();
    let stamp = folders::content_stamp(&raw);
    Listing {
        folders: folders::build(raw),
        stamp,
    }
}

/// The storage quota in the lines of a GETQUOTAROOT reply.
fn quota_in(lines: &[Vec<u8>]) -> Option<Quota> {
    let mut col = QuotaCollector::default();
    for l in lines {
        if let Ok((_, resp)) = Response::parse(l) {
            col.feed(&resp);
        }
    }
    col.finish()
}

fn missing_reply() -> Failure {
    Failure::Lost("the server sent fewer replies than commands".into())
}
