//! Search: server-side `SEARCH` in one folder or in all of them, paged like a folder.
//!
//! What a user typed becomes a [`SearchQuery`] (checked text, the part of the message to
//! look in, filters), and that becomes RFC 3501 search keys with `CHARSET UTF-8`, every
//! piece of user text sent as a quoted string or a LITERAL+ literal (never spliced in
//! raw), so Chinese text works and no input can end the command early.
//!
//! Pages never fetch every match. In one folder, with ESORT (Dovecot), one
//! `UID SORT RETURN (PARTIAL a:b COUNT)` gives the page's UIDs and the number of matches,
//! then one FETCH gets just that page: EXAMINE + SORT + FETCH, three round trips. Without
//! ESORT we get the matching UIDs (numbers only) and slice.
//!
//! Searching all folders: Dovecot 2.3 has no MULTISEARCH (`ESEARCH IN (…)` is an unknown
//! command there), so we count the matches in every folder with `EXAMINE` +
//! `UID SEARCH RETURN (COUNT)` for all folders *pipelined in one round trip*, lay the
//! folders end to end (sidebar order, newest first inside each), and fetch only the
//! folders the requested page falls in. Results are grouped by folder rather than merged
//! by date: a global date order would need the date of every match in every folder.
//!
//! Whether text searches are fast depends on the server: see [`TextIndex`].
//!
//! Date ranges are the user's days, not the sender's: `SENTSINCE`/`SENTBEFORE` compare the
//! Date header's calendar day in the sender's own zone (RFC 3501), which can be a day off
//! from the reader's. So when the query carries exact instants ([`SearchQuery::in_zone`]),
//! the day keys are widened by two days on each side and, in each folder, the few messages
//! sent near a boundary are fetched and those outside the exact range left out with
//! `NOT UID …` (one more SEARCH and one FETCH per bound).
//!
//! "Has attachment" is a header test (`multipart/mixed`, a top-level `application/…`
//! type or an `attachment` disposition): exact BODYSTRUCTURE checks would need every
//! match's structure and break paging.

use std::sync::atomic::{AtomicU8, Ordering};

use async_imap::imap_proto::{MailboxDatum, Response};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{
    Account, Imap, ImapError, MessagePage, MessageSummary, PageRequest,
    command::{Cmd, LiteralMode, SeqSet},
    conn::{Conn, Failure},
    fetch_by_uid, fetch_rows,
    messages::{self, Window},
    names::mailbox_wire,
    wire,
};

/// Longest search text we accept, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// At most this many words are searched for (each one must match).
const MAX_WORDS: usize = 8;

/// Which part of the messages the search text must be found in.
///
/// The default looks where users expect a quick answer (subject, sender, recipients, as
/// Roundcube does): servers answer header searches from their caches. Looking in the
/// message text ([`SearchField::All`], [`SearchField::Body`]) makes a server without a
/// full-text index read every message of the folder (about 1 s per 10,000 on Dovecot),
/// so it is a choice the user makes, and the results page says when it may be slow
/// (see [`Imap::text_index`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SearchField {
    /// Subject, From or To: the default. (Cc would cost a quarter more on a 10,000-message
    /// folder; searching everywhere covers it.)
    #[default]
    Headers,
    /// The Subject header.
    Subject,
    /// The From header (name or address).
    From,
    /// The To header.
    To,
    /// Anywhere: headers and message text (IMAP `TEXT`).
    All,
    /// The message text only (IMAP `BODY`).
    Body,
}

impl SearchField {
    /// Every choice, in the order the search form offers them.
    pub const ALL: [SearchField; 6] = [
        SearchField::Headers,
        SearchField::Subject,
        SearchField::From,
        SearchField::To,
        SearchField::All,
        SearchField::Body,
    ];

    /// Reads the form value; missing or unknown values are the default. (`all` and
    /// `body` keep the meaning they had when `all` was the default.)
    pub fn parse(s: Option<&str>) -> SearchField {
        match s {
            Some("subject") => SearchField::Subject,
            Some("from") => SearchField::From,
            Some("to") => SearchField::To,
            Some("all") => SearchField::All,
            Some("body") => SearchField::Body,
            _ => SearchField::Headers,
        }
    }

    /// The form value (the inverse of [`SearchField::parse`]).
    pub fn param(self) -> &'static str {
        match self {
            SearchField::Headers => "headers",
            SearchField::Subject => "subject",
            SearchField::From => "from",
            SearchField::To => "to",
            SearchField::All => "all",
            SearchField::Body => "body",
        }
    }

    /// True when the message text is searched too: the slow part without an index.
    pub fn reads_text(self) -> bool {
        matches!(self, SearchField::All | SearchField::Body)
    }

    /// Adds the RFC 3501 search key for one word to `keys`.
    fn key(self, keys: Cmd, word: &str, literals: LiteralMode) -> Cmd {
        let one = |keys: Cmd, name: &'static str| keys.atom(name).text(word, literals);
        match self {
            // Search keys are ANDed; `OR a b` takes two keys, so two ORs join three.
            SearchField::Headers => one(one(one(keys.atom("OR OR"), "SUBJECT"), "FROM"), "TO"),
            SearchField::Subject => one(keys, "SUBJECT"),
            SearchField::From => one(keys, "FROM"),
            SearchField::To => one(keys, "TO"),
            SearchField::All => one(keys, "TEXT"),
            SearchField::Body => one(keys, "BODY"),
        }
    }
}

/// Why search text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchTextError {
    /// Control characters (line breaks, tabs, NUL…) cannot be searched for.
    #[error("search text contains control characters")]
    ControlCharacters,
    /// Longer than [`MAX_TEXT_CHARS`].
    #[error("search text is too long")]
    TooLong,
}

/// Search text a user typed, checked so it can always be sent: no control characters,
/// at most [`MAX_TEXT_CHARS`] characters, surrounding spaces removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SearchText(String);

impl SearchText {
    /// Checks and trims `s`.
    pub fn parse(s: &str) -> Result<SearchText, SearchTextError> {
        if !wire::sendable(s) {
            return Err(SearchTextError::ControlCharacters);
        }
        let s = s.trim();
        if s.chars().count() > MAX_TEXT_CHARS {
            return Err(SearchTextError::TooLong);
        }
        Ok(SearchText(s.to_owned()))
    }

    /// The text as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The words to look for: split at spaces, except inside `"double quotes"`, which
    /// keep a phrase together. Every word must match (IMAP ANDs search keys).
    pub fn words(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || out.len() == MAX_WORDS {
                break;
            }
            let (word, next) = match rest.strip_prefix('"') {
                Some(inner) => match inner.find('"') {
                    Some(end) => (&inner[..end], &inner[end + 1..]),
                    None => (inner, ""),
                },
                None => {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                }
            };
            let word = word.trim();
            if !word.is_empty() {
                out.push(word);
            }
            rest = next;
        }
        out
    }
}

/// A search: text, where to look for it, and filters. Every part is optional; an empty
/// query matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    /// What to look for.
    pub text: SearchText,
    /// Where to look for it.
    pub field: SearchField,
    /// Only messages without `\Seen`.
    pub unread: bool,
    /// Only messages with `\Flagged`.
    pub flagged: bool,
    /// Only messages that look like they carry attachments.
    pub attachments: bool,
    /// Sent on or after this day (the Date header).
    pub since: Option<NaiveDate>,
    /// Sent before this day (the Date header).
    pub before: Option<NaiveDate>,
    /// Only messages with this label (`KEYWORD`).
    pub label: Option<super::Keyword>,
    /// The exact start of `since` in the reader's zone (see [`SearchQuery::in_zone`]).
    pub since_at: Option<DateTime<Utc>>,
    /// The exact start of `before` in the reader's zone.
    pub before_at: Option<DateTime<Utc>>,
}

/// How far a Date header's own calendar day can be from the reader's day for one instant:
/// zones span UTC-12 to UTC+14, so a day either way, and one more to be safe.
const DAY_SLACK: TimeDelta = TimeDelta::days(2);

impl SearchQuery {
    /// Makes the date range exact: `since` and `before` are days in the reader's zone,
    /// starting at the instants `day_start` gives for them.
    pub fn in_zone(mut self, day_start: impl Fn(NaiveDate) -> DateTime<Utc>) -> SearchQuery {
        self.since_at = self.since.map(&day_start);
        self.before_at = self.before.map(&day_start);
        self
    }

    /// Whether the date range has exact bounds to check near its ends.
    fn is_exact(&self) -> bool {
        self.since_at.is_some() || self.before_at.is_some()
    }

    /// Whether an instant is inside the exact range.
    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.since_at.is_none_or(|s| t >= s) && self.before_at.is_none_or(|b| t < b)
    }

    /// The day ranges `[from, to)` (Date-header days) around each exact bound, where a
    /// message may match the widened day keys and still be outside the exact range.
    fn boundary_bands(&self) -> Vec<(NaiveDate, NaiveDate)> {
        [self.since_at, self.before_at]
            .into_iter()
            .flatten()
            .map(|t| {
                let day = t.date_naive();
                (day - DAY_SLACK, day + DAY_SLACK)
            })
            .collect()
    }

    /// The RFC 3501 search keys (after `CHARSET UTF-8`). `literal_plus`/`literal_minus`
    /// say how the server accepts 8-bit text (see [`Cmd::text`]).
    pub(super) fn keys(&self, literal_plus: bool, literal_minus: bool) -> Cmd {
        let literals = LiteralMode::from_caps(literal_plus, literal_minus);
        let mut keys = Cmd::fragment();
        for w in self.text.words() {
            keys = self.field.key(keys, w, literals);
        }
        if self.unread {
            keys = keys.atom("UNSEEN");
        }
        if self.flagged {
            keys = keys.atom("FLAGGED");
        }
        if let Some(k) = &self.label {
            keys = keys.atom("KEYWORD").keyword(k.as_str());
        }
        if self.attachments {
            keys = keys.atom(
                "OR OR HEADER Content-Type \"multipart/mixed\" \
                 HEADER Content-Type \"application/\" HEADER Content-Disposition \"attachment\"",
            );
        }
        // SENTSINCE/SENTBEFORE compare the Date header, which is the date the list shows;
        // SINCE/BEFORE would use the arrival time instead.
        // With exact bounds, the day keys are a wider net; the boundary check narrows it.
        let since = match self.since_at {
            Some(t) => Some(t.date_naive() - DAY_SLACK),
            None => self.since,
        };
        let before = match self.before_at {
            Some(t) => Some(t.date_naive() + DAY_SLACK),
            None => self.before,
        };
        if let Some(d) = since {
            keys = keys.atom("SENTSINCE").date(d);
        }
        if let Some(d) = before {
            keys = keys.atom("SENTBEFORE").date(d);
        }
        if keys.is_empty() {
            Cmd::fragment().atom("ALL")
        } else {
            keys
        }
    }
}

/// Whether the server answers searches in the message text from a full-text index.
///
/// Servers announce nothing reliable for it: RFC 6203's `SEARCH=FUZZY` is announced by
/// Cyrus 3.6 with no index at all, and not by Dovecot 2.3 with Debian's `fts_xapian`. So
/// one search tells: does the folder's first message contain `:` in its text? A server
/// that reads the raw message always finds one (every header line has one); a word index
/// never holds a lone punctuation mark, so it finds nothing. One message is searched, so
/// the question costs one quick round trip, once per server (see [`Imap::text_index`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextIndex {
    /// Text searches use an index: about as fast as header searches.
    Indexed,
    /// Text searches read every message of the folder: slow in large folders.
    Scan,
}

/// What has been learnt about the server's [`TextIndex`] (0 = not yet).
#[derive(Debug, Default)]
pub(super) struct TextIndexMemo(AtomicU8);

impl TextIndexMemo {
    fn get(&self) -> Option<TextIndex> {
        match self.0.load(Ordering::Relaxed) {
            1 => Some(TextIndex::Indexed),
            2 => Some(TextIndex::Scan),
            _ => None,
        }
    }

    fn set(&self, t: TextIndex) {
        let v = match t {
            TextIndex::Indexed => 1,
            TextIndex::Scan => 2,
        };
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Search result pages the user's watcher vouches for, by user, folder (wire name), query
/// and page: `(generation, page)` (see `fresh`).
pub type SearchCache =
    super::fresh::Vouched<(String, String, SearchQuery, PageRequest), MessagePage>;

/// An empty [`SearchCache`], bounded by the memory its rows hold (16 MB).
pub fn search_cache() -> SearchCache {
    super::fresh::Vouched::new(
        moka::sync::Cache::builder()
            .max_capacity(16 << 20)
            .weigher(|_k, v: &(u64, MessagePage)| MessageSummary::weigh(&v.1.messages))
            .time_to_idle(std::time::Duration::from_secs(600))
            .build(),
    )
}

/// One result of a search across folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHit {
    /// The folder the message is in (UTF-8 name).
    pub mailbox: String,
    /// The message's list row.
    pub summary: MessageSummary,
}

/// One page of results of a search across folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchResults {
    /// Matches in all folders together.
    pub total: u32,
    /// The page served (clamped to `1..=pages`).
    pub page: u32,
    /// At least 1.
    pub pages: u32,
    /// The page's results: folder by folder in the given order, newest first in each.
    pub hits: Vec<SearchHit>,
}

impl Imap {
    /// One page of the messages of `mailbox` matching `q`, in `req`'s order (see the
    /// module doc for the round trips). `total` is the number of matches.
    pub async fn search(
        &self,
        a: &Account,
        mailbox: &str,
        q: &SearchQuery,
        req: &PageRequest,
    ) -> Result<MessagePage, ImapError> {
        let wire = mailbox_wire(mailbox)?;
        let key = (a.username.clone(), wire.clone(), q.clone(), req.clone());
        // The same search again (results paged through, or come back to from a message)
        // while the user's watcher vouches that nothing changed: no scan of the folder.
        if let Some(page) = self
            .inner
            .searches
            .get(&self.inner.fresh, &a.username, &key)
        {
            return Ok(page);
        }
        // Read before the server is asked (see `fresh`).
        let generation = self.inner.fresh.generation(&a.username, &wire);
        let (this, q, req) = (self.clone(), q.clone(), req.clone());
        let page = self
            .run_in(a, Some(&key.1), async move |c: &mut Conn| {
                this.search_on(c, &wire, &q, &req).await
            })
            .await?;
        self.inner.searches.put(key, generation, page.clone());
        Ok(page)
    }

    /// One page of the messages matching `q` in all of `mailboxes` (UTF-8 names, in the
    /// order results are grouped by). Folders that cannot be opened count as empty.
    pub async fn search_all(
        &self,
        a: &Account,
        mailboxes: &[String],
        q: &SearchQuery,
        page: u32,
        per_page: u32,
    ) -> Result<SearchResults, ImapError> {
        let boxes: Vec<(String, String)> = mailboxes
            .iter()
            .filter_map(|m| mailbox_wire(m).ok().map(|w| (m.clone(), w)))
            .collect();
        let (this, q) = (self.clone(), q.clone());
        self.run(a, async move |c: &mut Conn| {
            this.search_all_on(c, &boxes, &q, page, per_page).await
        })
        .await
    }

    /// Whether the server has a full-text index, once a search in the message text has
    /// found out (`None` before: nothing has needed to know yet). One Mailroom talks to
    /// one server, so the answer holds for every login.
    pub fn text_index(&self) -> Option<TextIndex> {
        self.inner.text_index.get()
    }

    /// Finds out [`Imap::text_index`] if nobody has yet, in the examined folder of
    /// `exists` messages (see [`TextIndex`] for how).
    async fn probe_text_index(&self, c: &mut Conn, exists: u32) -> Result<(), Failure> {
        let memo = &self.inner.text_index;
        if memo.get().is_some() || exists == 0 {
            return Ok(());
        }
        let mut found = false;
        match c
            .command(&Cmd::new("SEARCH 1 TEXT").string(":"), |r| {
                if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                    found |= !ids.is_empty();
                }
            })
            .await
        {
            Ok(()) => {
                let t = if found {
                    TextIndex::Scan
                } else {
                    TextIndex::Indexed
                };
                tracing::info!(?t, "IMAP: how the server searches message text");
                memo.set(t);
                Ok(())
            }
            // Refused: we still do not know; the next text search asks again.
            Err(f) if f.connection_ok() => Ok(()),
            Err(f) => Err(f),
        }
    }

    /// The search keys for `c`'s server.
    fn search_keys(&self, c: &Conn, q: &SearchQuery) -> Cmd {
        q.keys(self.has(c, "LITERAL+"), self.has(c, "LITERAL-"))
    }

    /// The search keys for the examined folder: [`Imap::search_keys`], plus `NOT UID …`
    /// for the messages near the range's ends that are outside it for the reader (see the
    /// module doc). Messages without a usable Date are left as the server judged them.
    async fn exact_keys(&self, c: &mut Conn, q: &SearchQuery) -> Result<Cmd, Failure> {
        let keys = self.search_keys(c, q);
        if !q.is_exact() {
            return Ok(keys);
        }
        let mut candidates = Vec::new();
        for (from, to) in q.boundary_bands() {
            let cmd = Cmd::new("UID SEARCH SENTSINCE")
                .date(from)
                .atom("SENTBEFORE")
                .date(to);
            c.command(&cmd, |r| {
                if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                    candidates.extend_from_slice(ids);
                }
            })
            .await?;
        }
        candidates.sort_unstable();
        candidates.dedup();
        let outside: Vec<u32> = fetch_by_uid(c, &candidates)
            .await?
            .into_iter()
            .filter(|m| m.date.is_some_and(|d| !q.contains(d.to_utc())))
            .map(|m| m.uid)
            .collect();
        if outside.is_empty() {
            return Ok(keys);
        }
        Ok(keys.atom("NOT UID").set(&SeqSet::list(&outside)))
    }

    /// [`Imap::search`] on one connection.
    async fn search_on(
        &self,
        c: &mut Conn,
        wire: &str,
        q: &SearchQuery,
        req: &PageRequest,
    ) -> Result<MessagePage, Failure> {
        let mbox = c.examine(wire).await?;
        let uidvalidity = mbox.uid_validity.unwrap_or(0);
        if q.field.reads_text() && !q.text.is_empty() {
            self.probe_text_index(c, mbox.exists).await?;
        }
        let keys = self.exact_keys(c, q).await?;
        // The folder's size bounds the number of matches, so the page can be clamped
        // before we know how many there are.
        let bound = Window::new(mbox.exists, req.page, req.per_page);
        let mut page = MessagePage {
            total: 0,
            uidvalidity,
            page: 1,
            pages: 1,
            messages: Vec::new(),
            unseen: None,
            labels: Vec::new(),
            new_labels: true,
        };
        if mbox.exists == 0 {
            return Ok(page);
        }
        let (count, uids) = self.matching_page(c, &keys, req, bound.page).await?;
        let w = Window::new(count, req.page, req.per_page);
        page.total = count;
        page.page = w.page;
        page.pages = w.pages;
        page.messages = fetch_rows(c, &uids).await?;
        Ok(page)
    }

    /// The number of matches in the examined folder and the UIDs of page `page` of
    /// them, in `req`'s order.
    async fn matching_page(
        &self,
        c: &mut Conn,
        keys: &Cmd,
        req: &PageRequest,
        page: u32,
    ) -> Result<(u32, Vec<u32>), Failure> {
        let per = req.per_page.clamp(1, messages::MAX_PER_PAGE);
        if let Some(found) = self.partial_sort(c, keys, req, page, per).await? {
            let (count, uids) = found;
            let w = Window::new(count, page, per);
            if uids.is_empty() && count > 0 && w.page != page {
                // Fewer matches than the page needs: serve the last page instead.
                if let Some(found) = self.partial_sort(c, keys, req, w.page, per).await? {
                    return Ok(found);
                }
            } else {
                return Ok((count, uids));
            }
        }
        let all = self.all_matches(c, keys, req).await?;
        let count = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let w = Window::new(count, page, per);
        let uids = all
            .into_iter()
            .skip(w.start as usize)
            .take(w.len as usize)
            .collect();
        Ok((count, uids))
    }

    /// ESORT: `UID SORT RETURN (PARTIAL a:b COUNT)`, the page and the count in one reply.
    /// `None` when the server cannot (then the caller lists all matches).
    async fn partial_sort(
        &self,
        c: &mut Conn,
        keys: &Cmd,
        req: &PageRequest,
        page: u32,
        per: u32,
    ) -> Result<Option<(u32, Vec<u32>)>, Failure> {
        if !self.has(c, "SORT")
            || !self.has(c, "ESORT")
            || self.inner.no_partial.load(Ordering::Relaxed)
        {
            return Ok(None);
        }
        let from = (page - 1).saturating_mul(per).saturating_add(1);
        let to = page.saturating_mul(per);
        let crit = self.sort_crit(c, req);
        let cmd = Cmd::new("UID SORT RETURN")
            .list(
                Cmd::fragment()
                    .atom("PARTIAL")
                    .range(from, to)
                    .atom("COUNT"),
            )
            .atom(crit)
            .atom("UTF-8")
            .then(keys.clone());
        match c.command_raw(&cmd).await {
            Ok(lines) => {
                let e = lines
                    .iter()
                    .find_map(|l| messages::parse_esearch(l, per as usize))
                    .unwrap_or_default();
                Ok(Some((e.count.unwrap_or(0), e.uids)))
            }
            Err(Failure::Rejected { bad: true, text }) => {
                tracing::info!(%text, "IMAP: server refused SORT RETURN (PARTIAL); not using it again");
                self.inner.no_partial.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Every matching UID of the examined folder in `req`'s order: SORT when the server
    /// has it, else SEARCH in UID (arrival) order. Numbers only.
    async fn all_matches(
        &self,
        c: &mut Conn,
        keys: &Cmd,
        req: &PageRequest,
    ) -> Result<Vec<u32>, Failure> {
        let mut uids = Vec::new();
        if self.has(c, "SORT") {
            let cmd = Cmd::new("UID SORT")
                .atom(self.sort_crit(c, req))
                .atom("UTF-8")
                .then(keys.clone());
            c.command(&cmd, |r| {
                if let Response::MailboxData(MailboxDatum::Sort(ids)) = r {
                    uids.extend_from_slice(ids);
                }
            })
            .await?;
            return Ok(uids);
        }
        let search = Cmd::new("UID SEARCH CHARSET UTF-8").then(keys.clone());
        c.command(&search, |r| {
            if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                uids.extend_from_slice(ids);
            }
        })
        .await?;
        uids.sort_unstable();
        if req.reverse {
            uids.reverse();
        }
        Ok(uids)
    }

    /// The SORT criteria for `req` on `c`'s server.
    fn sort_crit(&self, c: &Conn, req: &PageRequest) -> &'static str {
        messages::sort_criteria(req.sort, req.reverse, self.has(c, "SORT=DISPLAY"))
    }

    /// [`Imap::search_all`] on one connection.
    async fn search_all_on(
        &self,
        c: &mut Conn,
        boxes: &[(String, String)],
        q: &SearchQuery,
        page: u32,
        per_page: u32,
    ) -> Result<SearchResults, Failure> {
        let keys = self.search_keys(c, q);
        // Exact date bounds need each folder's own exclusions: counted folder by folder.
        let (counts, folder_keys) = if q.is_exact() {
            self.count_exact_matches(c, boxes, q).await?
        } else {
            let counts = self.count_matches(c, boxes, &keys).await?;
            let same = vec![keys.clone(); counts.len()];
            (counts, same)
        };
        let total = counts.iter().fold(0u32, |t, n| t.saturating_add(*n));
        let w = Window::new(total, page, per_page);
        let mut hits = Vec::new();
        let req = PageRequest {
            page: 1,
            per_page: w.len.max(1),
            ..PageRequest::default()
        };
        for (i, part) in folder_slices(&counts, w.start, w.len) {
            let (name, wire) = &boxes[i];
            match c.examine(wire).await {
                Ok(mbox) if q.field.reads_text() && !q.text.is_empty() => {
                    self.probe_text_index(c, mbox.exists).await?;
                }
                Ok(_) => {}
                // Deleted since we counted: its results are simply missing.
                Err(f) if f.connection_ok() => continue,
                Err(f) => return Err(f),
            }
            let keys = folder_keys.get(i).unwrap_or(&keys);
            let uids = self.slice_of_matches(c, keys, &req, part).await?;
            for summary in fetch_rows(c, &uids).await? {
                hits.push(SearchHit {
                    mailbox: name.clone(),
                    summary,
                });
            }
        }
        Ok(SearchResults {
            total,
            page: w.page,
            pages: w.pages,
            hits,
        })
    }

    /// Matches per folder: EXAMINE + SEARCH for every folder, all in one round trip.
    async fn count_matches(
        &self,
        c: &mut Conn,
        boxes: &[(String, String)],
        keys: &Cmd,
    ) -> Result<Vec<u32>, Failure> {
        let esearch = self.has(c, "ESEARCH");
        let search = if esearch {
            Cmd::new("UID SEARCH RETURN (COUNT) CHARSET UTF-8")
        } else {
            Cmd::new("UID SEARCH CHARSET UTF-8")
        }
        .then(keys.clone());
        let commands: Vec<Cmd> = boxes
            .iter()
            .flat_map(|(_, wire)| [Cmd::new("EXAMINE").mailbox(wire), search.clone()])
            .collect();
        let replies = c.pipeline(&commands).await?;
        let counts = replies
            .chunks(2)
            .map(|pair| match pair {
                [examine, search] if examine.status.is_ok() && search.status.is_ok() => {
                    count_in(&search.lines, esearch)
                }
                _ => 0,
            })
            .collect();
        Ok(counts)
    }

    /// [`Imap::count_matches`] for a query with exact date bounds: one folder after the
    /// other, each with its own [`Imap::exact_keys`], which are returned too.
    async fn count_exact_matches(
        &self,
        c: &mut Conn,
        boxes: &[(String, String)],
        q: &SearchQuery,
    ) -> Result<(Vec<u32>, Vec<Cmd>), Failure> {
        let (mut counts, mut all_keys) = (Vec::new(), Vec::new());
        for (_, wire) in boxes {
            match c.examine(wire).await {
                Ok(mbox) if mbox.exists > 0 => {}
                Ok(_) => {
                    counts.push(0);
                    all_keys.push(self.search_keys(c, q));
                    continue;
                }
                Err(f) if f.connection_ok() => {
                    counts.push(0);
                    all_keys.push(self.search_keys(c, q));
                    continue;
                }
                Err(f) => return Err(f),
            }
            let keys = self.exact_keys(c, q).await?;
            let mut n = 0u32;
            let search = Cmd::new("UID SEARCH CHARSET UTF-8").then(keys.clone());
            c.command(&search, |r| {
                if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                    n = n.saturating_add(u32::try_from(ids.len()).unwrap_or(u32::MAX));
                }
            })
            .await?;
            counts.push(n);
            all_keys.push(keys);
        }
        Ok((counts, all_keys))
    }

    /// The matches at positions `part` (0-based, in sort order) of the examined folder.
    async fn slice_of_matches(
        &self,
        c: &mut Conn,
        keys: &Cmd,
        req: &PageRequest,
        part: std::ops::Range<u32>,
    ) -> Result<Vec<u32>, Failure> {
        let len = part.end - part.start;
        if self.has(c, "ESORT") && !self.inner.no_partial.load(Ordering::Relaxed) {
            let cmd = Cmd::new("UID SORT RETURN")
                .list(
                    Cmd::fragment()
                        .atom("PARTIAL")
                        .range(part.start + 1, part.end),
                )
                .atom(self.sort_crit(c, req))
                .atom("UTF-8")
                .then(keys.clone());
            match c.command_raw(&cmd).await {
                Ok(lines) => {
                    return Ok(lines
                        .iter()
                        .find_map(|l| messages::parse_esearch(l, len as usize))
                        .map(|e| e.uids)
                        .unwrap_or_default());
                }
                Err(Failure::Rejected { bad: true, .. }) => {
                    self.inner.no_partial.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let all = self.all_matches(c, keys, req).await?;
        Ok(all
            .into_iter()
            .skip(part.start as usize)
            .take(len as usize)
            .collect())
    }
}

/// The number of matches in a SEARCH reply: ESEARCH `COUNT`, or the numbers of a plain
/// `* SEARCH` line.
fn count_in(lines: &[Vec<u8>], esearch: bool) -> u32 {
    if esearch {
        return lines
            .iter()
            .find_map(|l| messages::parse_esearch(l, 0))
            .and_then(|e| e.count)
            .unwrap_or(0);
    }
    lines
        .iter()
        .filter_map(|l| wire::untagged(l, "SEARCH"))
        .map(|v| v.iter().filter(|x| x.number().is_some()).count())
        .fold(0u32, |t, n| {
            t.saturating_add(u32::try_from(n).unwrap_or(u32::MAX))
        })
}

/// Which folders a page of `len` results starting at `start` covers, when the folders'
/// results (`counts`) are laid end to end: `(folder index, positions inside it)`.
fn folder_slices(counts: &[u32], start: u32, len: u32) -> Vec<(usize, std::ops::Range<u32>)> {
    let (lo, hi) = (u64::from(start), u64::from(start) + u64::from(len));
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, &n) in counts.iter().enumerate() {
        let (a, b) = (offset, offset + u64::from(n));
        offset = b;
        let (from, to) = (lo.max(a), hi.min(b));
        if from < to {
            // Both ends lie within folder i, so they fit in u32 like its count.
            out.push((i, (from - a) as u32..(to - a) as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> SearchText {
        SearchText::parse(s).unwrap()
    }

    #[test]
    fn text_is_checked() {
        assert_eq!(text("  报告  ").as_str(), "报告");
        assert_eq!(
            SearchText::parse("a\r\nA1 LOGOUT"),
            Err(SearchTextError::ControlCharacters)
        );
        assert_eq!(
            SearchText::parse("x\u{0}"),
            Err(SearchTextError::ControlCharacters)
        );
        assert_eq!(
            SearchText::parse(&"长".repeat(MAX_TEXT_CHARS + 1)),
            Err(SearchTextError::TooLong)
        );
        assert!(SearchText::parse(&"长".repeat(MAX_TEXT_CHARS)).is_ok());
    }

    #[test]
    fn words_and_phrases() {
        assert_eq!(text("project plan").words(), ["project", "plan"]);
        assert_eq!(
            text("\"project plan\" 2026").words(),
            ["project plan", "2026"]
        );
        assert_eq!(text("\"unclosed phrase").words(), ["unclosed phrase"]);
        assert_eq!(text("\"\"  ").words(), Vec::<&str>::new());
        assert_eq!(text("a b c d e f g h i j").words().len(), MAX_WORDS);
    }

    #[test]
    fn keys_quote_or_literal_every_word() {
        let q = SearchQuery {
            text: text("季度 \"budget\\plan\""),
            field: SearchField::Subject,
            ..SearchQuery::default()
        };
        assert_eq!(
            q.keys(true, false).line().unwrap(),
            "SUBJECT {6+}\r\n季度 SUBJECT \"budget\\\\plan\""
        );
        let q = SearchQuery {
            text: text("季度"),
            ..SearchQuery::default()
        };
        // The default looks in subject, sender and recipients, never the message text.
        assert_eq!(
            q.keys(true, false).line().unwrap(),
            "OR OR SUBJECT {6+}\r\n季度 FROM {6+}\r\n季度 TO {6+}\r\n季度"
        );
        let q = SearchQuery {
            text: text("x\" OR ALL"),
            field: SearchField::Body,
            ..SearchQuery::default()
        };
        // The quote cannot close the string early: it is escaped.
        assert_eq!(
            q.keys(true, false).line().unwrap(),
            "BODY \"x\\\"\" BODY \"OR\" BODY \"ALL\""
        );
        assert_eq!(
            SearchQuery::default().keys(true, false).line().unwrap(),
            "ALL"
        );
    }

    #[test]
    fn filters_and_dates() {
        let q = SearchQuery {
            unread: true,
            flagged: true,
            since: NaiveDate::from_ymd_opt(2026, 11, 1),
            before: NaiveDate::from_ymd_opt(2026, 12, 24),
            ..SearchQuery::default()
        };
        assert_eq!(
            q.keys(true, false).line().unwrap(),
            "UNSEEN FLAGGED SENTSINCE 1-Nov-2026 SENTBEFORE 24-Dec-2026"
        );
        let q = SearchQuery {
            attachments: true,
            text: text("x"),
            field: SearchField::All,
            ..SearchQuery::default()
        };
        assert!(
            q.keys(true, false)
                .line()
                .unwrap()
                .starts_with("TEXT \"x\" OR OR HEADER Content-Type")
        );
    }

    #[test]
    fn a_label_is_a_keyword_key() {
        let q = SearchQuery {
            unread: true,
            label: super::super::Keyword::from_name("报告 2026").ok(),
            ..SearchQuery::default()
        };
        assert_eq!(
            q.keys(true, false).line().unwrap(),
            "UNSEEN KEYWORD &YqVUSgAg-2026"
        );
    }

    #[test]
    fn fields_round_trip() {
        for f in SearchField::ALL {
            assert_eq!(SearchField::parse(Some(f.param())), f);
        }
        assert_eq!(SearchField::parse(Some("bogus")), SearchField::Headers);
        assert_eq!(SearchField::parse(None), SearchField::Headers);
        assert_eq!(SearchField::parse(Some("all")), SearchField::All);
        let text: Vec<_> = SearchField::ALL
            .into_iter()
            .filter(|f| f.reads_text())
            .collect();
        assert_eq!(text, [SearchField::All, SearchField::Body]);
    }

    #[test]
    fn pages_across_folders() {
        // Folders with 3, 0, 5 and 2 matches; pages of 4.
        let counts = [3, 0, 5, 2];
        assert_eq!(folder_slices(&counts, 0, 4), vec![(0, 0..3), (2, 0..1)]);
        assert_eq!(folder_slices(&counts, 4, 4), vec![(2, 1..5)]);
        assert_eq!(folder_slices(&counts, 8, 2), vec![(3, 0..2)]);
        assert_eq!(folder_slices(&counts, 10, 4), vec![]);
        assert_eq!(folder_slices(&[], 0, 4), vec![]);
        assert_eq!(
            folder_slices(&[u32::MAX, u32::MAX], u32::MAX - 1, 3),
            vec![(0, u32::MAX - 1..u32::MAX), (1, 0..2)]
        );
    }

    #[test]
    fn counts_from_both_reply_kinds() {
        let es = vec![b"* ESEARCH (TAG \"A3\") UID COUNT 12\r\n".to_vec()];
        assert_eq!(count_in(&es, true), 12);
        let plain = vec![b"* SEARCH 4 9 10\r\n".to_vec()];
        assert_eq!(count_in(&plain, false), 3);
        assert_eq!(count_in(&[b"* SEARCH\r\n".to_vec()], false), 0);
        assert_eq!(count_in(&[], true), 0);
    }
}
