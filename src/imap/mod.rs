//! Every conversation with the IMAP server, behind typed functions.
//!
//! The web layer calls [`Imap`] with an [`Account`] (one web login) and gets folders,
//! pages of message summaries and raw messages back, never a protocol type. Underneath,
//! each login keeps a few authenticated connections in a pool (`pool`), reused between
//! requests, closed when idle, and silently reopened when the server dropped them: an
//! operation that loses its connection is retried once on a fresh one.
//!
//! Folder names are UTF-8 everywhere in this API (what URLs carry); `names` converts
//! them to modified UTF-7, and `command` quotes them and refuses names with control
//! characters. Reading uses EXAMINE, so it never changes anything on the server, with
//! two exceptions that SELECT: [`Imap::open_message`] (which marks the message read),
//! and the message list. Opening a folder read-write lets Dovecot write back what it
//! learned while syncing it; after new mail, a read-only EXAMINE of a 10,000-message
//! Maildir redoes that work every time (about 14 ms instead of 4) until some client
//! SELECTs. SELECT changes nothing a client can see besides `\Recent`, which IMAP4rev2
//! dropped; we never CLOSE, so nothing is expunged by it.
//!
//! A connection remembers which folder it has open and how (`conn::Conn::open_as`): an
//! operation that only reads a folder already open, read-only or read-write, says NOOP
//! (so changes made elsewhere, expunges included, are seen) instead of opening it again,
//! which for a 10,000-message folder costs the server about 10 ms each time.
//!
//! **One way to speak IMAP.** Every command is a `command::Cmd`: protocol syntax only
//! from constants, numbers and sequence sets, every name or text quoted (or a literal)
//! and refused if it holds CR, LF, NUL or another control character. `conn::Conn` is
//! the only place that writes to the connection (`command`, `command_raw`, `pipeline`,
//! `append`, `search`, and async-imap's FETCH/SELECT with typed arguments); its
//! async-imap session is private to it. Every tagged reply is read by
//! `command::Tagged::parse`.
//!
//! Passwords never reach a log or an error: async-imap logs the commands it writes, so
//! LOGIN goes out with a placeholder that the transport replaces (see `transport`).
//!
//! Files: `types` (the API's data types and errors), `client` ([`Imap`]: pool, retry
//! loop, raw-message cache), `listing` (a page of a message list: SORT, PARTIAL, FETCH),
//! `page_cache` (list pages served again while STATUS shows the folder unchanged),
//! `command` (the command builder and the tagged-status parser), `conn` (one
//! connection), `transport` (plain/TLS stream, password injection, socket options),
//! `pool`, `names`, `folders`, `messages`, `wire` (the pure parts); `actions` (flags,
//! move, delete… by UID within a UIDVALIDITY), `folder_admin` (create, rename, delete,
//! subscribe), `labels` (label names as keywords; renaming and deleting them), `export` (a
//! folder as a streamed mbox), `open`, `search`, `threads`, `sidebar`, `acl`, `quota`,
//! `compose`, `remote` (fetching from other mailboxes), `watch` (IDLE/NOTIFY for live
//! updates), `links` (per folder, which messages name which message-ids: the conversation
//! panel's index, instead of a header search over the folder on every view), `turns`
//! (pages asked for at once after a change ask the server once).

mod acl;
mod actions;
mod client;
mod command;
mod compose;
mod conn;
mod export;
mod folder_admin;
mod folders;
mod fresh;
mod labels;
mod links;
mod listing;
#[cfg(test)]
pub(crate) use folders::test_folder;
mod messages;
mod names;
mod open;
mod order;
mod page_cache;
mod pool;
mod quota;
mod remote;
mod search;
mod sidebar;
mod threads;
mod transport;
mod turns;
mod types;
mod watch;
mod wire;

pub use acl::{AclEntry, NamespaceKind, Namespaces, Rights, ShareError, ShareLevel};
pub use actions::{Action, ActionError, ActionOutcome, MessagePlace, Moved, Selection};
pub use folder_admin::{FolderError, NameError, is_protected, validate_name};
pub use labels::{Keyword, LabelChange, LabelError, MAX_NAME_CHARS};
pub use open::OpenedMessage;
pub use quota::Quota;
pub use remote::RemoteListing;
pub use search::{
    SearchField, SearchHit, SearchQuery, SearchResults, SearchText, SearchTextError, TextIndex,
};
pub use sidebar::{QUOTA_RECHECK, Sidebar, SidebarExtras};
pub use threads::{Related, Thread, ThreadIds, ThreadPage};
/// Reused by the ManageSieve client ([`crate::sieve`]): the same TLS setup as IMAP.
pub(crate) use transport::{Transport, tls_connector, tls_connector_for};
pub use watch::FolderStatus;

pub use self::client::Imap;
pub use self::compose::{Appended, MessageFlag};
pub use self::pool::SURPLUS_GRACE;
pub use self::types::{
    Account, Folder, ImapError, MessagePage, MessageSummary, PageRequest, PoolStats, SortKey,
    SpecialUse,
};

// What the operation files share, under the names they have always used.
use self::{
    client::{RawKey, uid_exists},
    listing::{fetch_by_uid, fetch_rows},
};
