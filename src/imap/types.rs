//! The data types of the IMAP API: who asks ([`Account`]), what can go wrong
//! ([`ImapError`]), folders, list requests and pages. No I/O.

use std::sync::Arc;

use crate::{
    config::{MailServer, Secret},
    model::Address,
};

/// Who is asking: one web login.
///
/// `login_id` keys the connection pool. For web logins it is a keyed hash of the servers,
/// name and password (`web::tokens::Keys::pool_key`): a user's browsers share a few
/// connections, and logins that differ in any of them never share one. A logout closes
/// the pool's connections; other browsers of the user reopen one on their next request.
#[derive(Clone, Debug)]
pub struct Account {
    /// Keys the pool (see above).
    pub login_id: String,
    /// The IMAP login name, as typed on the login form.
    pub username: String,
    /// Needed to reopen connections after an idle timeout or a server restart.
    pub password: Secret,
    /// The servers of this login's domain (`crate::directory`); `None`: the default
    /// servers of the configuration.
    pub server: Option<Arc<MailServer>>,
}

impl Account {
    /// The name to log in to the mail servers with (a bare name where the server map says
    /// so).
    pub fn login_name(&self) -> &str {
        match &self.server {
            Some(s) => s.login_name(&self.username),
            None => &self.username,
        }
    }
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
    /// Every connection Mailroom may hold to the mail server (all users together,
    /// `MAILROOM_MAX_IMAP_CONNECTIONS`) is in use, and none came free in time.
    #[error("all mail server connections are in use")]
    Busy,
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

/// One folder of the sidebar, in display order
/// (see [`Imap::list_folders`](super::Imap::list_folders)).
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    /// The labels the folder's `FLAGS` lists (from the same SELECT); empty where the page
    /// did not SELECT (search results).
    pub labels: Vec<super::Keyword>,
    /// Whether the folder's `PERMANENTFLAGS` let new labels be kept (`\*`); `true` where
    /// unknown.
    pub new_labels: bool,
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
    /// The message's labels (keywords from the same FETCH of FLAGS), sorted.
    pub labels: Vec<super::Keyword>,
    /// The start of its text (RFC 8970 PREVIEW, made by the server), for the list's
    /// preview line; empty where the server has no PREVIEW or the message no text.
    pub preview: String,
}

impl MessageSummary {
    /// About how many bytes the row holds, for bounding caches by memory rather than by
    /// rows: a hostile message's row can carry thousands of To addresses or a huge subject.
    pub fn weight(&self) -> usize {
        let address = |a: &Address| 48 + a.email.len() + a.name.as_ref().map_or(0, String::len);
        std::mem::size_of::<Self>()
            + self.subject.len()
            + self.preview.len()
            + self.from.as_ref().map_or(0, address)
            + self.to.iter().map(address).sum::<usize>()
            + self
                .labels
                .iter()
                .map(|k| 24 + k.as_str().len())
                .sum::<usize>()
    }

    /// [`MessageSummary::weight`] of `rows` together, as a cache's weigher wants it.
    pub fn weigh<'a>(rows: impl IntoIterator<Item = &'a MessageSummary>) -> u32 {
        let bytes: usize = rows.into_iter().map(MessageSummary::weight).sum();
        u32::try_from(bytes + 256).unwrap_or(u32::MAX)
    }
}

/// Pool numbers for one login, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Logged-in connections of this login waiting in the pool.
    pub idle: usize,
    /// Connections opened by this [`Imap`](super::Imap) since it was created (all logins).
    pub opened_total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(to: usize) -> MessageSummary {
        let address = |i: usize| Address {
            name: Some(format!("Person {i}")),
            email: format!("person{i}@example.test"),
        };
        MessageSummary {
            uid: 1,
            from: Some(address(0)),
            to: (0..to).map(address).collect(),
            subject: "Hello".into(),
            date: None,
            size: 100,
            seen: false,
            flagged: false,
            answered: false,
            has_attachment: false,
            labels: Vec::new(),
            preview: "Hi there".into(),
        }
    }

    /// Caches of rows are bounded by memory: a row with thousands of recipients (a hostile
    /// or a mailing-list message) weighs what it holds, not one row.
    #[test]
    fn a_rows_weight_follows_what_it_holds() {
        let plain = row(1).weight();
        assert!((150..1_000).contains(&plain), "{plain}");
        let crowded = row(5_000).weight();
        assert!(crowded > 5_000 * 80, "{crowded}");
        let rows = [row(1), row(5_000)];
        assert_eq!(MessageSummary::weigh(&rows) as usize, plain + crowded + 256);
    }
}
