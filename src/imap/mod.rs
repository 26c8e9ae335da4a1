//! Every conversation with the IMAP server, behind typed functions.
//!
//! The web layer calls [`Imap`] with an [`Account`] (one web login) and gets folders,
//! pages of message summaries and raw messages back, never a protocol type. Underneath,
//! each login keeps a few authenticated connections in a pool (`pool`), reused between
//! requests, closed when idle, and silently reopened when the server dropped them: an
//! operation that loses its connection is retried once on a fresh one.
//!
//! Folder names are UTF-8 everywhere in this API (what URLs carry); `names` converts
//! them to modified UTF-7 and quotes them, and refuses names with control characters.
//! Reading uses EXAMINE, so it never changes anything on the server, with two
//! exceptions that SELECT: [`Imap::open_message`] (which marks the message read), and
//! the message list. Opening a folder
//! read-write lets Dovecot write back what it learned while syncing it; after new mail,
//! a read-only EXAMINE of a 10,000-message Maildir redoes that work every time (about
//! 14 ms instead of 4) until some client SELECTs. SELECT changes nothing a client can
//! see besides `\Recent`, which IMAP4rev2 dropped; we never CLOSE, so nothing is
//! expunged by it.
//!
//! Message lists never fetch every envelope. When the server takes PARTIAL in SORT
//! (RFC 5267 CONTEXT=SORT; also Dovecot 2.3, which announces ESORT with CONTEXT=SEARCH
//! and accepts it) a page is one `UID SORT RETURN (PARTIAL a:b)` plus one FETCH of that
//! page. Otherwise (Cyrus 3.6 announces ESORT without CONTEXT=SORT and answers BAD to
//! PARTIAL; a server that refuses it is not asked again) we fetch the sorted UID list
//! (numbers only, compressed with ESORT) and slice the page out ourselves; either way a
//! page's UIDs are remembered while the folder stays the same (`order`). Without SORT,
//! everything is arrival order.
//!
//! Passwords never reach a log or an error: async-imap logs the commands it writes, so
//! LOGIN goes out with a placeholder that the transport replaces (see `transport`).
//!
//! Files: `conn` (one connection and raw commands), `transport` (plain/TLS stream,
//! password injection), `pool`, `names`, `folders`, `messages` (the pure parts);
//! `actions` (flags, move, delete… by UID within a UIDVALIDITY), `folder_admin`
//! (create, rename, delete, subscribe), `export` (a folder as a streamed mbox).

mod acl;
mod actions;
mod compose;
mod conn;
mod export;
mod folder_admin;
mod folders;
#[cfg(test)]
pub(crate) use folders::test_folder;
mod messages;
mod names;
mod open;
mod order;
mod pool;
mod quota;
mod search;
mod sidebar;
mod threads;
mod transport;
mod wire;

pub use acl::{AclEntry, NamespaceKind, Namespaces, Rights, ShareError, ShareLevel};
pub use actions::{Action, ActionError, ActionOutcome, MessagePlace, Selection};
pub use folder_admin::{FolderError, NameError, is_protected, validate_name};
pub use open::OpenedMessage;
pub use quota::Quota;
pub use search::{
    SearchField, SearchHit, SearchQuery, SearchResults, SearchText, SearchTextError, TextIndex,
};
pub use sidebar::{QUOTA_RECHECK, Sidebar, SidebarExtras};
pub use threads::{Related, Thread, ThreadIds, ThreadPage};

use std::{
    sync::{
        Arc, OnceLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_imap::{imap_proto::MailboxDatum, imap_proto::Response, types::Fetch};
use futures::TryStreamExt;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

pub use self::compose::{Appended, MessageFlag};

use self::{
    conn::{Conn, Failure},
    messages::Window,
    names::{mailbox_wire, quote},
    pool::Pool,
    wire::pipeline,
};
use crate::{
    config::{Endpoint, Secret},
    model::Address,
};

/// How long one operation (all its commands) may take before we give up on the server.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A pooled connection idle for longer than this is checked with NOOP before use: a
/// firewall or NAT may have forgotten it without either end noticing, and then the first
/// command would hang until [`OPERATION_TIMEOUT`] instead of failing fast.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(60);
/// How long that NOOP may take before we open a new connection instead.
const NOOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Total size of the raw-message cache.
const RAW_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The fetch items of one list row.
const SUMMARY_ITEMS: &str = "(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE)";

/// Who is asking: one web login.
///
/// `login_id` is a random id per login (not the cookie's session id) and keys the
/// connection pool, so two logins of the same user never share a connection and a
/// logout closes exactly that login's connections.
#[derive(Clone, Debug)]
pub struct Account {
    /// Random per web login; keys the pool.
    pub login_id: String,
    /// The IMAP login name, as typed on the login form.
    pub username: String,
    /// Needed to reopen connections after an idle timeout or a server restart.
    pub password: Secret,
}

/// Why an IMAP operation failed. The web layer picks the page to show from the variant;
/// the strings are for logs and never contain the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    /// Wrong username or password (deliberately no difference between the two).
    #[error("wrong username or password")]
    AuthFailed,
    /// Connecting, TLS or the connection itself failed: "the mail server is not reachable".
    #[error("the mail server is not reachable: {0}")]
    Unreachable(String),
    /// The folder does not exist (or may not be opened).
    #[error("no such folder")]
    NoSuchMailbox,
    /// The message (UID) is not, or no longer, in the folder.
    #[error("no such message")]
    NoSuchMessage,
    /// A folder name that cannot be sent (empty, or with control characters).
    #[error("invalid folder name")]
    InvalidName,
    /// The server said NO or BAD, or answered something we did not expect.
    #[error("IMAP error: {0}")]
    Protocol(String),
}

/// The role of a folder, from RFC 6154 SPECIAL-USE or, failing that, its well-known name.
/// Lets the UI put the usual folders first and give them icons and translated names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    /// `INBOX`, always present.
    Inbox,
    /// `\Drafts`: unfinished messages.
    Drafts,
    /// `\Sent`: copies of sent mail.
    Sent,
    /// `\Trash`: deleted messages.
    Trash,
    /// `\Junk`: spam.
    Junk,
    /// `\Archive`: filed away.
    Archive,
}

/// One folder of the sidebar, in display order (see [`Imap::list_folders`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Full UTF-8 name: what URLs carry and what every other call takes.
    pub name: String,
    /// The last path component, for display.
    pub display_name: String,
    /// The hierarchy separator (`/` or `.`); `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// Nesting level, 0 for top-level folders: the UI indents by it.
    pub depth: usize,
    /// The folder's role, if it has one.
    pub special: Option<SpecialUse>,
    /// Messages without `\Seen` (0 for non-selectable folders).
    pub unseen: u32,
    /// Messages in the folder.
    pub total: u32,
    /// False for placeholders (`\Noselect`) that exist only to hold children.
    pub selectable: bool,
    /// Whether the user subscribed to it (some clients show only those).
    pub subscribed: bool,
}

/// The order of a message list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The Date header (INTERNALDATE when missing), as people expect.
    #[default]
    Date,
    /// When the message arrived in this folder.
    Arrival,
    /// The sender's display name (or address).
    From,
    /// The subject without `Re:`/`Fwd:`.
    Subject,
    /// The message size in bytes.
    Size,
}

/// Which page of a folder to show, and in what order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based; past the end means the last page.
    pub page: u32,
    /// Clamped to 1..=500.
    pub per_page: u32,
    /// The order of the whole list (pages are slices of it).
    pub sort: SortKey,
    /// True = newest / largest / Z first.
    pub reverse: bool,
}

impl Default for PageRequest {
    /// The inbox view: first page, newest first.
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: 50,
            sort: SortKey::Date,
            reverse: true,
        }
    }
}

/// One page of a message list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagePage {
    /// Messages in the folder.
    pub total: u32,
    /// Together with a UID, identifies a message for good (links stay valid until the
    /// server renumbers the folder, which changes this value).
    pub uidvalidity: u32,
    /// The page served (the request clamped to `1..=pages`).
    pub page: u32,
    /// At least 1, even for an empty folder.
    pub pages: u32,
    /// The page's messages, in the requested order.
    pub messages: Vec<MessageSummary>,
    /// Unread messages in the folder, counted right after the SELECT that gave `total`
    /// (pipelined, no extra round trip): the sidebar shows this folder's counts from here
    /// so that one page never shows two states of the folder. `None` if unknown.
    pub unseen: Option<u32>,
}

/// One row of a message list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSummary {
    /// Stable id of the message within the folder (with [`MessagePage::uidvalidity`]).
    pub uid: u32,
    /// The first From address; `None` if the header is missing or empty.
    pub from: Option<Address>,
    /// All To addresses (groups flattened).
    pub to: Vec<Address>,
    /// RFC 2047 decoded.
    pub subject: String,
    /// The Date header, else INTERNALDATE.
    pub date: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// RFC822.SIZE in bytes.
    pub size: u32,
    /// `\Seen`: read.
    pub seen: bool,
    /// `\Flagged`: starred.
    pub flagged: bool,
    /// `\Answered`: replied to.
    pub answered: bool,
    /// From BODYSTRUCTURE, so the list can show a paperclip without fetching bodies.
    pub has_attachment: bool,
}

/// Pool numbers for one login, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Logged-in connections of this login waiting in the pool.
    pub idle: usize,
    /// Connections opened by this [`Imap`] since it was created (all logins).
    pub opened_total: u64,
}

/// Key of the raw-message cache: user, folder (wire name), UID. A UID is only meaningful
/// with its folder's UIDVALIDITY, which is kept beside the bytes ([`RawEntry`]) so that
/// the message page can tell whether it needs the bytes before it opens the folder.
type RawKey = (String, String, u32);
/// UIDVALIDITY and the whole message.
type RawEntry = (u32, Arc<Vec<u8>>);

/// The IMAP client of the whole application. Cheap to clone; owns the TLS
/// configuration, the per-login connection pool and the raw-message cache.
#[derive(Clone)]
pub struct Imap {
    /// Shared by all clones.
    inner: Arc<Inner>,
}

/// What an [`Imap`] and its clones share.
struct Inner {
    /// Where the server is and how to secure the connection.
    endpoint: Endpoint,
    /// Built once: loading roots and the CA file is not free.
    tls: TlsConnector,
    /// Connections per login.
    pool: Arc<Pool>,
    /// Whole messages, because the message page, its body iframe and every inline part
    /// are separate requests that all need the same bytes.
    raw_cache: moka::future::Cache<RawKey, RawEntry>,
    /// Set once the idle reaper task runs.
    reaper: OnceLock<()>,
    /// Set when the server refused `RETURN (PARTIAL …)`, so we stop trying.
    no_partial: AtomicBool,
    /// The UIDs of recently shown pages, per folder state (`order`).
    order: order::OrderCache,
    /// Per login, the quota and the content stamp it was read at (see `sidebar`).
    quota_memo: moka::future::Cache<String, sidebar::QuotaMemo>,
    /// Capabilities to act as if the server had not announced (see `ignore_capabilities`).
    ignored_caps: std::sync::RwLock<Vec<String>>,
    /// Whether the server answers text searches from a full-text index, once seen
    /// (see `search::TextIndex`).
    text_index: search::TextIndexMemo,
}

impl std::fmt::Debug for Imap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

/// How a page of a message list is found.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Sequence numbers are arrival order: no SORT needed.
    Arrival,
    /// The server sorts and returns only the page's UIDs (`RETURN (PARTIAL …)`).
    Partial(String),
    /// All UIDs in order (numbers only; `RETURN (ALL)` with ESORT), then we slice.
    FullSort {
        /// The SORT criteria.
        crit: String,
        /// Whether to ask for the compact ESORT answer.
        esort: bool,
    },
}

impl Plan {
    /// How to find the page of `req`, from the capabilities the server announced (`has`)
    /// and whether it already refused PARTIAL in SORT.
    fn choose(has: impl Fn(&str) -> bool, partial_refused: bool, req: &PageRequest) -> Plan {
        if req.sort == SortKey::Arrival || !has("SORT") {
            return Plan::Arrival;
        }
        let crit = messages::sort_criteria(req.sort, req.reverse, has("SORT=DISPLAY"));
        // RFC 5267 puts PARTIAL in SORT under CONTEXT=SORT; ESORT alone only promises
        // ESEARCH-style answers (Cyrus 3.6 has ESORT and answers BAD to PARTIAL). Dovecot
        // 2.3 announces ESORT with CONTEXT=SEARCH and takes PARTIAL in SORT as well.
        let partial = has("CONTEXT=SORT") || (has("ESORT") && has("CONTEXT=SEARCH"));
        if partial && !partial_refused {
            Plan::Partial(crit)
        } else {
            Plan::FullSort {
                crit,
                esort: has("ESORT"),
            }
        }
    }
}

impl Imap {
    /// Builds the client. TLS trusts the web PKI roots plus `endpoint.ca_file` (PEM) if
    /// set; an unreadable or empty CA file is reported as `Unreachable` because no
    /// secure connection could be made with it. Idle connections are logged out after
    /// `idle_timeout`.
    pub fn new(endpoint: Endpoint, idle_timeout: Duration) -> Result<Imap, ImapError> {
        let tls = transport::tls_connector(endpoint.ca_file.as_deref())
            .map_err(ImapError::Unreachable)?;
        let raw_cache = moka::future::Cache::builder()
            .max_capacity(RAW_CACHE_BYTES)
            .weigher(|_k: &RawKey, v: &RawEntry| u32::try_from(v.1.len()).unwrap_or(u32::MAX))
            // Bounded in time too, so a user's mail does not sit in memory for long.
            .time_to_idle(Duration::from_secs(600))
            .build();
        let imap = Imap {
            inner: Arc::new(Inner {
                endpoint,
                tls,
                pool: Arc::new(Pool::new(idle_timeout)),
                raw_cache,
                reaper: OnceLock::new(),
                no_partial: AtomicBool::new(false),
                order: order::OrderCache::default(),
                quota_memo: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(QUOTA_RECHECK)
                    .build(),
                ignored_caps: std::sync::RwLock::new(Vec::new()),
                text_index: search::TextIndexMemo::default(),
            }),
        };
        imap.ensure_reaper();
        Ok(imap)
    }

    /// Logs in; on success the connection stays in the pool for `account.login_id`.
    /// A wrong password and an unknown user both give [`ImapError::AuthFailed`].
    pub async fn login(&self, account: &Account) -> Result<(), ImapError> {
        self.ensure_reaper();
        let conn = self.open(account).await?;
        if let Some(extra) = self.inner.pool.add_idle(&account.login_id, conn) {
            close_later(vec![extra]);
        }
        Ok(())
    }

    /// Logs out and closes every pooled connection of this login; connections busy
    /// right now are closed when their operation ends.
    pub async fn logout(&self, login_id: &str) {
        let conns = self.inner.pool.remove(login_id);
        futures::future::join_all(conns.into_iter().map(Conn::close)).await;
    }

    /// The server's capabilities after login (upper-cased), e.g. to show what it supports.
    pub async fn capabilities(&self, a: &Account) -> Result<Vec<String>, ImapError> {
        let this = self.clone();
        self.run(a, async move |c: &mut Conn| {
            let caps = c.capabilities().iter();
            Ok(caps.filter(|cap| this.has(c, cap)).cloned().collect())
        })
        .await
    }

    /// All folders with unread and total counts, in display order: INBOX, then Drafts,
    /// Sent, Archive, Junk, Trash, then the rest with children right after their parent,
    /// siblings sorted by name. One round trip when the server has LIST-STATUS.
    pub async fn list_folders(&self, a: &Account) -> Result<Vec<Folder>, ImapError> {
        let this = self.clone();
        self.run(a, async move |c: &mut Conn| {
            Ok(this.list_on(c).await?.folders)
        })
        .await
    }

    /// One page of a folder's message list (see the module doc for how it stays fast).
    pub async fn fetch_page(
        &self,
        a: &Account,
        mailbox: &str,
        req: &PageRequest,
    ) -> Result<MessagePage, ImapError> {
        // The closures given to `run` own what they use: with borrowed captures the
        // returned future is not provably `Send` (a rustc limitation with async closures).
        let (this, wire, req) = (self.clone(), mailbox_wire(mailbox)?, req.clone());
        let user = a.username.clone();
        self.run(a, async move |c: &mut Conn| {
            this.fetch_page_on(c, &user, &wire, &req).await
        })
        .await
    }

    /// The whole raw message, fetched with BODY.PEEK[] so reading it does not mark it
    /// seen. [`ImapError::NoSuchMessage`] if the UID is gone. Cached (64 MB in total),
    /// keyed by user, folder, UIDVALIDITY and UID, since one message view makes several
    /// requests for the same message.
    pub async fn fetch_raw(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<Arc<Vec<u8>>, ImapError> {
        let (this, wire, user) = (self.clone(), mailbox_wire(mailbox)?, a.username.clone());
        self.run(a, async move |c: &mut Conn| {
            this.fetch_raw_on(c, &user, &wire, uid).await
        })
        .await
    }

    /// Acts as if the server had not announced these capabilities (e.g. `"ESORT"`,
    /// `"LIST-STATUS"`): a way around a server whose extension is broken, and how the
    /// tests exercise the fallback paths against a server that has everything.
    pub fn ignore_capabilities(&self, caps: &[&str]) {
        let mut ignored = self
            .inner
            .ignored_caps
            .write()
            .unwrap_or_else(|p| p.into_inner());
        ignored.extend(caps.iter().map(|c| c.to_ascii_uppercase()));
    }

    /// Whether `c`'s server announced `cap` and we have not been told to ignore it.
    fn has(&self, c: &Conn, cap: &str) -> bool {
        let ignored = self
            .inner
            .ignored_caps
            .read()
            .unwrap_or_else(|p| p.into_inner());
        c.has(cap) && !ignored.iter().any(|i| i.eq_ignore_ascii_case(cap))
    }

    /// Pool numbers for one login (idle connections, connections opened so far).
    pub fn pool_stats(&self, login_id: &str) -> PoolStats {
        let (idle, opened_total) = self.inner.pool.stats(login_id);
        PoolStats { idle, opened_total }
    }

    /// Runs `op` on a pooled connection of this login. If the connection turns out to be
    /// dead (server restart, timeout, BYE), the login's idle connections are dropped and
    /// `op` runs once more on a fresh connection, so the user never notices.
    async fn run<T>(
        &self,
        account: &Account,
        mut op: impl AsyncFnMut(&mut Conn) -> Result<T, Failure>,
    ) -> Result<T, ImapError> {
        self.ensure_reaper();
        let pool = &self.inner.pool;
        let mut retried = false;
        loop {
            let (mut lease, stale) = pool.checkout(&account.login_id).await;
            close_later(stale);
            let pooled = lease.conn.take();
            let pooled = if retried {
                // The retry always gets a fresh connection: a sibling given back meanwhile
                // may be just as dead as the one that failed.
                drop(pooled);
                None
            } else {
                pooled
            };
            let mut conn = match pooled {
                Some(mut conn) if lease.idle_for >= CHECK_AFTER_IDLE => {
                    match timeout(NOOP_TIMEOUT, conn.noop()).await {
                        Ok(Ok(())) => conn,
                        _ => {
                            // Dead: so are probably its siblings. Start afresh.
                            drop(conn);
                            drop(pool.take_idle(&account.login_id));
                            self.open(account).await?
                        }
                    }
                }
                Some(conn) => conn,
                None => self.open(account).await?,
            };
            conn.drain_unsolicited();
            let outcome = timeout(OPERATION_TIMEOUT, op(&mut conn)).await;
            conn.drain_unsolicited();
            let failure = match outcome {
                Ok(Ok(value)) => {
                    lease.conn = Some(conn);
                    if let Some(extra) = pool.give_back(lease) {
                        close_later(vec![extra]);
                    }
                    return Ok(value);
                }
                Ok(Err(f)) => f,
                Err(_) => {
                    return Err(ImapError::Unreachable(
                        "the mail server did not answer in time".into(),
                    ));
                }
            };
            if failure.connection_ok() {
                lease.conn = Some(conn);
                if let Some(extra) = pool.give_back(lease) {
                    close_later(vec![extra]);
                }
                return Err(failure.into_error());
            }
            // The connection is unusable: drop it (no LOGOUT on a dead socket).
            drop(conn);
            drop(lease);
            match failure {
                Failure::Lost(why) if !retried => {
                    tracing::info!(user = %account.username, %why, "IMAP connection lost; reconnecting");
                    // Its siblings are probably dead too (a server restart kills them all).
                    drop(pool.take_idle(&account.login_id));
                    retried = true;
                }
                other => return Err(other.into_error()),
            }
        }
    }

    /// Opens and logs in a new connection for `account`.
    async fn open(&self, account: &Account) -> Result<Conn, ImapError> {
        let conn = Conn::open(
            &self.inner.endpoint,
            &self.inner.tls,
            &account.username,
            &account.password,
        )
        .await?;
        self.inner.pool.note_opened();
        Ok(conn)
    }

    /// Starts the task that logs out idle connections, once, as soon as we are inside a
    /// Tokio runtime (`new` may be called before there is one).
    fn ensure_reaper(&self) {
        if self.inner.reaper.get().is_some() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if self.inner.reaper.set(()).is_ok() {
            tokio::spawn(reap(Arc::downgrade(&self.inner.pool)));
        }
    }

    /// [`Imap::fetch_page`] on one connection.
    async fn fetch_page_on(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        req: &PageRequest,
    ) -> Result<MessagePage, Failure> {
        let mut plan = self.plan(c, req);
        if let Plan::Partial(crit) = &plan {
            match self.fetch_page_partial(c, user, wire, req, crit).await? {
                Some(page) => return Ok(page),
                None => plan = self.plan(c, req),
            }
        }
        // SELECT, not EXAMINE: see the module doc. The unread count goes along.
        let commands = [format!("SELECT {}", quote(wire)), self.unseen_command(c)];
        let replies = pipeline(c, &commands).await?;
        let select = replies
            .first()
            .ok_or_else(|| Failure::Lost("no reply".into()))?;
        select
            .status
            .clone()
            .map_err(|f| f.no_means(ImapError::NoSuchMailbox))?;
        let state = order::FolderState::from_select(&select.lines);
        let total = state.exists;
        let w = Window::new(total, req.page, req.per_page);
        let mut page = MessagePage {
            total,
            uidvalidity: state.uidvalidity,
            page: w.page,
            pages: w.pages,
            messages: Vec::new(),
            unseen: unseen_in(&replies),
        };
        if w.len == 0 {
            return Ok(page);
        }
        page.messages = match plan {
            Plan::FullSort { crit, esort } => {
                let key = order::PageKey {
                    user: user.to_owned(),
                    mailbox: wire.to_owned(),
                    criteria: crit.clone(),
                    range: w.partial_range().unwrap_or((1, 1)),
                };
                let slice = match self.inner.order.get(&key, state).await {
                    Some(uids) => uids.to_vec(),
                    None => {
                        let uids = sorted_uids(c, &crit, esort, total).await?;
                        let slice: Vec<u32> = uids
                            .iter()
                            .skip(w.start as usize)
                            .take(w.len as usize)
                            .copied()
                            .collect();
                        self.inner.order.put(key, state, &slice).await;
                        slice
                    }
                };
                fetch_by_uid(c, &slice).await?
            }
            // A refused PARTIAL was turned into one of the others above.
            Plan::Arrival | Plan::Partial(_) => {
                let seqs = w.sequence_numbers(total, req.reverse);
                fetch_by_seq(c, &seqs).await?
            }
        };
        Ok(page)
    }

    /// The ESORT path of [`Imap::fetch_page_on`]. The page's UIDs come from the order
    /// cache when the folder has not changed since they were sorted (`order`); otherwise
    /// from `UID SORT RETURN (PARTIAL)`, sent together with the SELECT when nothing is
    /// remembered (the range does not depend on the folder's size unless the page is
    /// past the end). Then one FETCH: two round trips, like SELECT + FETCH. `None` when
    /// the server refused PARTIAL (we stop asking; the caller takes another plan).
    async fn fetch_page_partial(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        req: &PageRequest,
        crit: &str,
    ) -> Result<Option<MessagePage>, Failure> {
        let sort = |(from, to): (u32, u32)| {
            format!("UID SORT RETURN (PARTIAL {from}:{to}) {crit} UTF-8 ALL")
        };
        // The window if the folder is big enough; corrected below when it is not.
        let wanted = Window::new(u32::MAX, req.page, req.per_page);
        let range = wanted.partial_range().unwrap_or((1, 1));
        let key = order::PageKey {
            user: user.to_owned(),
            mailbox: wire.to_owned(),
            criteria: crit.to_owned(),
            range,
        };
        // SELECT, not EXAMINE: see the module doc. The unread count goes along.
        let mut commands = vec![format!("SELECT {}", quote(wire)), self.unseen_command(c)];
        if !self.inner.order.knows(&key).await {
            commands.push(sort(range));
        }
        let replies = pipeline(c, &commands).await?;
        let unseen = unseen_in(&replies);
        let mut replies = replies.into_iter();
        let select = replies
            .next()
            .ok_or_else(|| Failure::Lost("no reply".into()))?;
        // A failed SELECT leaves no folder selected, so a SORT's failure says nothing.
        select
            .status
            .map_err(|f| f.no_means(ImapError::NoSuchMailbox))?;
        let state = order::FolderState::from_select(&select.lines);
        let _count = replies.next();
        let w = Window::new(state.exists, req.page, req.per_page);
        let same_page = w.page == wanted.page;
        let remembered = match same_page {
            true => self.inner.order.get(&key, state).await,
            false => None,
        };
        let uids: Vec<u32> = match remembered {
            Some(uids) => uids.to_vec(),
            None => {
                let sorted = match (replies.next(), w.partial_range()) {
                    (Some(reply), _) if same_page => reply.status.map(|()| reply.lines),
                    (_, Some(range)) => c.command_raw(&sort(range)).await,
                    (_, None) => Ok(Vec::new()),
                };
                let lines = match sorted {
                    Ok(lines) => lines,
                    Err(Failure::Rejected { bad: true, text }) => {
                        tracing::info!(%text, "IMAP: server refused SORT RETURN (PARTIAL); not using it again");
                        self.inner.no_partial.store(true, Ordering::Relaxed);
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                };
                let uids = lines
                    .iter()
                    .find_map(|l| messages::parse_esearch(l, w.len as usize))
                    .map(|e| e.uids)
                    .unwrap_or_default();
                if same_page {
                    self.inner.order.put(key, state, &uids).await;
                }
                uids
            }
        };
        Ok(Some(MessagePage {
            total: state.exists,
            uidvalidity: state.uidvalidity,
            page: w.page,
            pages: w.pages,
            messages: fetch_by_uid(c, &uids).await?,
            unseen,
        }))
    }

    /// [`Imap::fetch_raw`] on one connection.
    async fn fetch_raw_on(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        uid: u32,
    ) -> Result<Arc<Vec<u8>>, Failure> {
        let mbox = c.examine(wire).await?;
        let uidvalidity = mbox.uid_validity.unwrap_or(0);
        let key: RawKey = (user.to_owned(), wire.to_owned(), uid);
        match self.inner.raw_cache.get(&key).await {
            Some((v, hit)) if v == uidvalidity => {
                // Still there? A UID never comes back once expunged, so one cheap check
                // keeps the cache from serving deleted mail.
                return if uid_exists(c, uid).await? {
                    Ok(hit)
                } else {
                    Err(Failure::Fail(ImapError::NoSuchMessage))
                };
            }
            // The folder was renumbered: that UID is another message now.
            Some(_) => self.inner.raw_cache.invalidate(&key).await,
            None => {}
        }
        self.cached_body(c, key, uidvalidity).await
    }

    /// The message's bytes from the cache, or fetched and cached. Concurrent requests
    /// for the same message wait for one FETCH.
    async fn cached_body(
        &self,
        c: &mut Conn,
        key: RawKey,
        uidvalidity: u32,
    ) -> Result<Arc<Vec<u8>>, Failure> {
        let uid = key.2;
        self.inner
            .raw_cache
            .try_get_with(key, async {
                fetch_body(c, uid).await.map(|b| (uidvalidity, Arc::new(b)))
            })
            .await
            .map(|(_, bytes)| bytes)
            .map_err(|e| (*e).clone())
    }

    /// The command that counts the selected folder's unread messages: only the number
    /// with ESEARCH, else the list of their sequence numbers.
    fn unseen_command(&self, c: &Conn) -> String {
        if self.has(c, "ESEARCH") {
            "SEARCH RETURN (COUNT) UNSEEN".to_owned()
        } else {
            "SEARCH UNSEEN".to_owned()
        }
    }

    /// How to find the page, from what the server can do (see [`Plan::choose`]).
    fn plan(&self, c: &Conn, req: &PageRequest) -> Plan {
        let refused = self.inner.no_partial.load(Ordering::Relaxed);
        Plan::choose(|cap| self.has(c, cap), refused, req)
    }
}

/// The reaper: every so often, log out connections idle for too long. Ends when the
/// [`Imap`] is dropped.
async fn reap(pool: Weak<Pool>) {
    loop {
        let interval = match pool.upgrade() {
            Some(p) => p.reap_interval(),
            None => return,
        };
        tokio::time::sleep(interval).await;
        let Some(p) = pool.upgrade() else { return };
        let expired = p.reap();
        drop(p);
        if !expired.is_empty() {
            tracing::debug!(count = expired.len(), "IMAP: closing idle connections");
            futures::future::join_all(expired.into_iter().map(Conn::close)).await;
        }
    }
}

/// Logs connections out in the background.
fn close_later(conns: Vec<Conn>) {
    if conns.is_empty() {
        return;
    }
    tokio::spawn(futures::future::join_all(
        conns.into_iter().map(Conn::close),
    ));
}

/// The answer to [`Imap::unseen_command`] among pipelined replies: the ESEARCH line with
/// a COUNT (a SORT's ESEARCH has none) or the `* SEARCH` line (the only SEARCH sent).
/// `None` when the command failed or nothing was found.
fn unseen_in(replies: &[wire::Reply]) -> Option<u32> {
    let lines = replies.iter().flat_map(|r| &r.lines);
    lines.into_iter().find_map(|l| {
        if let Some(e) = messages::parse_esearch(l, 0) {
            return e.count;
        }
        let text = std::str::from_utf8(l).ok()?.trim_end();
        let head = text.get(..8)?;
        if !head.eq_ignore_ascii_case("* SEARCH") {
            return None;
        }
        let numbers = text[8..].split_whitespace();
        u32::try_from(numbers.filter(|n| n.parse::<u32>().is_ok()).count()).ok()
    })
}

/// Every UID of the selected folder in the order `crit`: with ESORT as one compact
/// sequence set (`RETURN (ALL)`), else as plain SORT's list of numbers. `exists` bounds
/// how many UIDs the answer may expand to.
async fn sorted_uids(
    c: &mut Conn,
    crit: &str,
    esort: bool,
    exists: u32,
) -> Result<Vec<u32>, Failure> {
    if esort {
        let lines = c
            .command_raw(&format!("UID SORT RETURN (ALL) {crit} UTF-8 ALL"))
            .await?;
        let max = usize::try_from(exists).unwrap_or(usize::MAX);
        return Ok(lines
            .iter()
            .find_map(|l| messages::parse_esearch(l, max))
            .map(|e| e.uids)
            .unwrap_or_default());
    }
    let mut uids = Vec::new();
    c.command(&format!("UID SORT {crit} UTF-8 ALL"), |r| {
        if let Response::MailboxData(MailboxDatum::Sort(ids)) = r {
            uids.extend_from_slice(ids);
        }
    })
    .await?;
    Ok(uids)
}

/// FETCHes summaries by UID and returns them in the order of `uids`.
async fn fetch_by_uid(c: &mut Conn, uids: &[u32]) -> Result<Vec<MessageSummary>, Failure> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let fetched: Vec<Fetch> = c
        .session()
        .uid_fetch(messages::uid_set(uids), SUMMARY_ITEMS)
        .await?
        .try_collect()
        .await?;
    let mut by_uid: std::collections::HashMap<u32, MessageSummary> = fetched
        .iter()
        .filter_map(messages::summary)
        .map(|s| (s.uid, s))
        .collect();
    // A message expunged between SORT and FETCH is simply missing.
    Ok(uids.iter().filter_map(|u| by_uid.remove(u)).collect())
}

/// FETCHes summaries by sequence number and returns them in the order of `seqs`.
async fn fetch_by_seq(c: &mut Conn, seqs: &[u32]) -> Result<Vec<MessageSummary>, Failure> {
    let (Some(&lo), Some(&hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    let fetched: Vec<Fetch> = c
        .session()
        .fetch(format!("{lo}:{hi}"), SUMMARY_ITEMS)
        .await?
        .try_collect()
        .await?;
    let mut by_seq: std::collections::HashMap<u32, MessageSummary> = fetched
        .iter()
        .filter_map(|f| messages::summary(f).map(|s| (f.message, s)))
        .collect();
    Ok(seqs.iter().filter_map(|n| by_seq.remove(n)).collect())
}

/// Whether `uid` is in the examined/selected folder.
async fn uid_exists(c: &mut Conn, uid: u32) -> Result<bool, Failure> {
    let fetched: Vec<Fetch> = c
        .session()
        .uid_fetch(uid.to_string(), "(UID)")
        .await?
        .try_collect()
        .await?;
    Ok(fetched.iter().any(|f| f.uid == Some(uid)))
}

/// The whole message, without setting `\Seen`.
async fn fetch_body(c: &mut Conn, uid: u32) -> Result<Vec<u8>, Failure> {
    let fetched: Vec<Fetch> = c
        .session()
        .uid_fetch(uid.to_string(), "BODY.PEEK[]")
        .await?
        .try_collect()
        .await?;
    fetched
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body())
        .map(<[u8]>::to_vec)
        .ok_or(Failure::Fail(ImapError::NoSuchMessage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Security;

    fn imap() -> Imap {
        Imap::new(
            Endpoint {
                host: "127.0.0.1".into(),
                // Nothing listens on port 1.
                port: 1,
                security: Security::None,
                ca_file: None,
            },
            Duration::from_secs(60),
        )
        .unwrap()
    }

    fn account() -> Account {
        Account {
            login_id: "l1".into(),
            username: "alice".into(),
            password: Secret::new("hunter2"),
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn futures_are_send_for_axum() {
        let (i, a) = (imap(), account());
        let req = PageRequest::default();
        assert_send(&i.fetch_page(&a, "INBOX", &req));
        assert_send(&i.fetch_raw(&a, "INBOX", 1));
        assert_send(&i.list_folders(&a));
        assert_send(&i.open_message(&a, "INBOX", 1));
        assert_send(&i.login(&a));
        assert_send(&i.logout("l1"));
    }

    #[tokio::test]
    async fn unreachable_server_and_bad_names() {
        let (i, a) = (imap(), account());
        let err = i.login(&a).await.unwrap_err();
        assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"));
        let err = i
            .fetch_page(&a, "a\r\nA1 LOGOUT", &PageRequest::default())
            .await;
        assert_eq!(err.unwrap_err(), ImapError::InvalidName);
    }

    /// Capabilities as a lookup, like `Imap::has`.
    fn caps(list: &str) -> impl Fn(&str) -> bool {
        let list: Vec<String> = list.split(' ').map(str::to_owned).collect();
        move |cap: &str| list.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    #[test]
    fn partial_only_where_sort_takes_it() {
        let newest = PageRequest::default();
        let crit = "(REVERSE DATE)".to_owned();
        // Cyrus 3.6: ESORT without CONTEXT=SORT answers BAD to PARTIAL. Newest first is
        // still sorted by date (the whole UID list, paged here), never arrival order.
        let cyrus = caps("IMAP4rev1 ESEARCH ESORT SORT SORT=DISPLAY LIST-STATUS");
        assert_eq!(
            Plan::choose(&cyrus, false, &newest),
            Plan::FullSort {
                crit: crit.clone(),
                esort: true
            }
        );
        // RFC 5267's own capability, and Dovecot 2.3's ESORT + CONTEXT=SEARCH.
        for server in [
            "IMAP4rev1 SORT ESORT CONTEXT=SORT",
            "IMAP4rev1 SORT ESORT ESEARCH CONTEXT=SEARCH",
        ] {
            assert_eq!(
                Plan::choose(caps(server), false, &newest),
                Plan::Partial(crit.clone()),
                "{server}"
            );
        }
        // A server that refused PARTIAL once is not asked again, and keeps its order.
        assert_eq!(
            Plan::choose(caps("SORT ESORT CONTEXT=SORT"), true, &newest),
            Plan::FullSort {
                crit: crit.clone(),
                esort: true
            }
        );
        // Plain SORT: the numbers, sorted by the server.
        assert_eq!(
            Plan::choose(caps("IMAP4rev1 SORT"), false, &newest),
            Plan::FullSort { crit, esort: false }
        );
        // Without SORT, or when arrival order is asked for, no SORT at all.
        assert_eq!(
            Plan::choose(caps("IMAP4rev1"), false, &newest),
            Plan::Arrival
        );
        let arrival = PageRequest {
            sort: SortKey::Arrival,
            ..PageRequest::default()
        };
        assert_eq!(Plan::choose(&cyrus, false, &arrival), Plan::Arrival);
    }

    #[test]
    fn the_unread_count_among_pipelined_replies() {
        let reply = |lines: &[&str]| wire::Reply {
            lines: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
            status: Ok(()),
        };
        let select = reply(&["* 12 EXISTS\r\n", "* OK [UIDNEXT 13] x\r\n"]);
        // ESEARCH: the line with COUNT, not the SORT's page.
        let sort = reply(&["* ESEARCH (TAG \"A3\") UID PARTIAL (1:50 12:1)\r\n"]);
        let count = reply(&["* ESEARCH (TAG \"A2\") COUNT 4\r\n"]);
        assert_eq!(unseen_in(&[select, count, sort]), Some(4));
        // Plain SEARCH: the numbers are counted.
        let plain = reply(&["* SEARCH 2 5 9\r\n"]);
        assert_eq!(unseen_in(&[plain]), Some(3));
        assert_eq!(unseen_in(&[reply(&["* SEARCH\r\n"])]), Some(0));
        // Refused or missing: unknown, not zero.
        assert_eq!(unseen_in(&[reply(&["* 3 EXISTS\r\n"])]), None);
    }

    #[test]
    fn missing_ca_file_is_reported() {
        let err = Imap::new(
            Endpoint {
                host: "localhost".into(),
                port: 993,
                security: Security::Tls,
                ca_file: Some("/nonexistent/ca.pem".into()),
            },
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }
}
