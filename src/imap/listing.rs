//! A page of a folder's message list: how it is found (SORT with PARTIAL, the whole
//! sorted UID list, or arrival order; see [`Plan`]) and the FETCH of its rows.
//!
//! Message lists never fetch every envelope. When the server takes PARTIAL in SORT
//! (RFC 5267 CONTEXT=SORT; also Dovecot 2.3, which announces ESORT with CONTEXT=SEARCH
//! and accepts it) a page is one `UID SORT RETURN (PARTIAL a:b)` plus one FETCH of that
//! page. Otherwise (Cyrus 3.6 announces ESORT without CONTEXT=SORT and answers BAD to
//! PARTIAL; a server that refuses it is not asked again) we fetch the sorted UID list
//! (numbers only, compressed with ESORT) and slice the page out ourselves; either way a
//! page's UIDs are remembered while the folder stays the same (`order`). Without SORT,
//! everything is arrival order.

use std::sync::atomic::Ordering;

use async_imap::{imap_proto::MailboxDatum, imap_proto::Response, types::Fetch};

use super::{
    Account, Imap, ImapError, MessagePage, MessageSummary, PageRequest, SortKey,
    command::{Cmd, SeqSet},
    conn::{Conn, Failure},
    messages::{self, Window},
    names::mailbox_wire,
    order, page_cache, wire,
};

/// The fetch items of one list row.
pub(super) const SUMMARY_ITEMS: &str =
    "(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE)";

/// How a page of a message list is found.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Sequence numbers are arrival order: no SORT needed.
    Arrival,
    /// The server sorts and returns only the page's UIDs (`RETURN (PARTIAL …)`).
    Partial(&'static str),
    /// All UIDs in order (numbers only; `RETURN (ALL)` with ESORT), then we slice.
    FullSort {
        /// The SORT criteria.
        crit: &'static str,
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
    /// One page of a folder's message list (see the module doc for how it stays fast).
    pub async fn fetch_page(
        &self,
        a: &Account,
        mailbox: &str,
        req: &PageRequest,
    ) -> Result<MessagePage, ImapError> {
        let wire = mailbox_wire(mailbox)?;
        // Vouched for by the user's watcher: no connection needed at all (perhaps once
        // another page asking at the same moment has asked the server).
        let key = page_cache::Key::new(&a.username, &wire, req);
        let _turn = match self
            .inner
            .page_turns
            .after_others(
                &key,
                || self.inner.fresh.generation(&a.username, &wire),
                |generation| {
                    let (this, key) = (self.clone(), key.clone());
                    async move { this.inner.pages.vouched(&key, generation).await }
                },
            )
            .await
        {
            Ok(page) => return Ok(page),
            Err(turn) => turn,
        };
        // The closures given to `run` own what they use: with borrowed captures the
        // returned future is not provably `Send` (a rustc limitation with async closures).
        let (this, req) = (self.clone(), req.clone());
        let user = a.username.clone();
        self.run(a, async move |c: &mut Conn| {
            this.fetch_page_cached(c, &user, &wire, &req).await
        })
        .await
    }

    /// [`Imap::fetch_page_on`], or the same page from memory when the server says the
    /// folder has not changed since (see `page_cache`): `STATUS` first.
    async fn fetch_page_cached(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        req: &PageRequest,
    ) -> Result<MessagePage, Failure> {
        if !self.has(c, "CONDSTORE") || !self.has(c, "UNSELECT") {
            return self.fetch_page_on(c, user, wire, req).await;
        }
        // Read before the server is asked: a change meanwhile moves it on.
        let generation = self.inner.fresh.generation(user, wire);
        // STATUS about the folder this connection has open reports the connection's own,
        // possibly stale, view (even after NOOP when the folder was deleted and made
        // again): leave it first, on a round trip of its own, since Dovecot may run
        // pipelined commands in parallel. Any other folder's STATUS is read afresh.
        if c.open_as(wire, false).is_some() {
            match c.command(&Cmd::new("UNSELECT"), |_| {}).await {
                Ok(()) | Err(Failure::Rejected { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let cmd = Cmd::new("STATUS")
            .mailbox(wire)
            .atom(page_cache::STATUS_ITEMS);
        // A failed STATUS (no such folder…) is left to the SELECT below to report.
        let status = match c.command_raw(&cmd).await {
            Ok(lines) => page_cache::Status::parse(&lines),
            Err(Failure::Rejected { .. }) => page_cache::Status::default(),
            Err(e) => return Err(e),
        };
        let key = page_cache::Key::new(user, wire, req);
        if let Some(stamp) = status.stamp {
            if let Some(mut page) = self.inner.pages.get(&key, stamp, generation).await {
                page.unseen = status.unseen.or(page.unseen);
                return Ok(page);
            }
            let page = self.fetch_page_on(c, user, wire, req).await?;
            self.inner.pages.put(key, stamp, generation, &page).await;
            return Ok(page);
        }
        self.fetch_page_on(c, user, wire, req).await
    }

    /// [`Imap::fetch_page`] on one connection.
    pub(super) async fn fetch_page_on(
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
        let commands = [Cmd::new("SELECT").mailbox(wire), self.unseen_command(c)];
        let replies = c.pipeline(&commands).await?;
        let select = replies
            .first()
            .ok_or_else(|| Failure::Lost("no reply".into()))?;
        select
            .status
            .clone()
            .map_err(|f| f.no_means(ImapError::NoSuchMailbox))?;
        let state = order::FolderState::from_select(&select.lines);
        c.note_selected(wire, true, state.uidvalidity);
        let total = state.exists;
        let w = Window::new(total, req.page, req.per_page);
        let mut page = MessagePage {
            total,
            uidvalidity: state.uidvalidity,
            page: w.page,
            pages: w.pages,
            messages: Vec::new(),
            unseen: unseen_in(&replies),
            labels: Vec::new(),
            new_labels: true,
        };
        (page.labels, page.new_labels) = {
            let (labels, permanent) = super::labels::folder_flags(&select.lines);
            (labels, super::labels::can_create(&permanent))
        };
        if w.len == 0 {
            return Ok(page);
        }
        page.messages = match plan {
            Plan::FullSort { crit, esort } => {
                let key = order::PageKey {
                    user: user.to_owned(),
                    mailbox: wire.to_owned(),
                    criteria: crit.to_owned(),
                    range: w.partial_range().unwrap_or((1, 1)),
                };
                let slice = match self.inner.order.get(&key, state).await {
                    Some(uids) => uids.to_vec(),
                    None => {
                        let uids = sorted_uids(c, crit, esort, total).await?;
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
                fetch_rows(c, &slice).await?
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
        crit: &'static str,
    ) -> Result<Option<MessagePage>, Failure> {
        let sort = |(from, to): (u32, u32)| {
            Cmd::new("UID SORT RETURN")
                .list(Cmd::fragment().atom("PARTIAL").range(from, to))
                .atom(crit)
                .atom("UTF-8 ALL")
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
        let mut commands = vec![Cmd::new("SELECT").mailbox(wire), self.unseen_command(c)];
        if !self.inner.order.knows(&key).await {
            commands.push(sort(range));
        }
        let replies = c.pipeline(&commands).await?;
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
        c.note_selected(wire, true, state.uidvalidity);
        let (labels, permanent) = super::labels::folder_flags(&select.lines);
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
            messages: fetch_rows(c, &uids).await?,
            unseen,
            labels,
            new_labels: super::labels::can_create(&permanent),
        }))
    }

    /// The command that counts the selected folder's unread messages: only the number
    /// with ESEARCH, else the list of their sequence numbers.
    fn unseen_command(&self, c: &Conn) -> Cmd {
        if self.has(c, "ESEARCH") {
            Cmd::new("SEARCH RETURN (COUNT) UNSEEN")
        } else {
            Cmd::new("SEARCH UNSEEN")
        }
    }

    /// How to find the page, from what the server can do (see [`Plan::choose`]).
    fn plan(&self, c: &Conn, req: &PageRequest) -> Plan {
        let refused = self.inner.no_partial.load(Ordering::Relaxed);
        Plan::choose(|cap| self.has(c, cap), refused, req)
    }
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
    crit: &'static str,
    esort: bool,
    exists: u32,
) -> Result<Vec<u32>, Failure> {
    if esort {
        let lines = c
            .command_raw(
                &Cmd::new("UID SORT RETURN (ALL)")
                    .atom(crit)
                    .atom("UTF-8 ALL"),
            )
            .await?;
        let max = usize::try_from(exists).unwrap_or(usize::MAX);
        return Ok(lines
            .iter()
            .find_map(|l| messages::parse_esearch(l, max))
            .map(|e| e.uids)
            .unwrap_or_default());
    }
    let mut uids = Vec::new();
    c.command(&Cmd::new("UID SORT").atom(crit).atom("UTF-8 ALL"), |r| {
        if let Response::MailboxData(MailboxDatum::Sort(ids)) = r {
            uids.extend_from_slice(ids);
        }
    })
    .await?;
    Ok(uids)
}

/// FETCHes summaries by UID and returns them in the order of `uids`.
pub(super) async fn fetch_by_uid(
    c: &mut Conn,
    uids: &[u32],
) -> Result<Vec<MessageSummary>, Failure> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let fetched: Vec<Fetch> = c.uid_fetch(&SeqSet::list(uids), SUMMARY_ITEMS).await?;
    let mut by_uid: std::collections::HashMap<u32, MessageSummary> = fetched
        .iter()
        .filter_map(messages::summary)
        .map(|s| (s.uid, s))
        .collect();
    // A message expunged between SORT and FETCH is simply missing.
    Ok(uids.iter().filter_map(|u| by_uid.remove(u)).collect())
}

/// [`fetch_by_uid`] for rows a page shows, with their preview lines: the FETCH for the
/// preview goes only where it is shown (not for a conversation panel or a date filter).
pub(super) async fn fetch_rows(c: &mut Conn, uids: &[u32]) -> Result<Vec<MessageSummary>, Failure> {
    let mut rows = fetch_by_uid(c, uids).await?;
    add_previews(c, rows.iter_mut()).await?;
    Ok(rows)
}

/// FETCHes summaries by sequence number and returns them in the order of `seqs`.
async fn fetch_by_seq(c: &mut Conn, seqs: &[u32]) -> Result<Vec<MessageSummary>, Failure> {
    let (Some(&lo), Some(&hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    let fetched: Vec<Fetch> = c.fetch(&SeqSet::range(lo, hi), SUMMARY_ITEMS).await?;
    let mut by_seq: std::collections::HashMap<u32, MessageSummary> = fetched
        .iter()
        .filter_map(|f| messages::summary(f).map(|s| (f.message, s)))
        .collect();
    add_previews(c, by_seq.values_mut()).await?;
    Ok(seqs.iter().filter_map(|n| by_seq.remove(n)).collect())
}

/// Longest preview line kept, in characters (RFC 8970 lets a server send up to 256).
const PREVIEW_CHARS: usize = 160;

/// Fills in the rows' preview lines where the server makes them (RFC 8970 `PREVIEW`): a
/// second, raw FETCH of the same UIDs, since imap-proto cannot parse that item. The
/// server reads each text once and keeps the result in its cache. A server that refuses
/// the FETCH costs the rows their previews, not the page.
async fn add_previews<'a>(
    c: &mut Conn,
    rows: impl Iterator<Item = &'a mut MessageSummary>,
) -> Result<(), Failure> {
    if !c.has("PREVIEW") {
        return Ok(());
    }
    let mut rows: Vec<&mut MessageSummary> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = rows.iter().map(|r| r.uid).collect();
    let cmd = Cmd::new("UID FETCH")
        .set(&SeqSet::list(&uids))
        .atom("(UID PREVIEW)");
    let lines = match c.command_raw(&cmd).await {
        Ok(lines) => lines,
        Err(Failure::Rejected { text, .. }) => {
            tracing::debug!(%text, "IMAP: PREVIEW refused");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let previews: std::collections::HashMap<u32, String> =
        lines.iter().filter_map(|l| preview_of(l)).collect();
    for row in &mut rows {
        if let Some(p) = previews.get(&row.uid) {
            row.preview.clone_from(p);
        }
    }
    Ok(())
}

/// The UID and preview text of one `* n FETCH (UID u PREVIEW "…")` line: whitespace and
/// control characters folded to single spaces, at most [`PREVIEW_CHARS`] characters.
fn preview_of(line: &[u8]) -> Option<(u32, String)> {
    let items = wire::fetch_items(line)?;
    let uid = items
        .iter()
        .find(|(k, _)| k == "UID")
        .and_then(|(_, v)| v.number())
        .and_then(|n| u32::try_from(n).ok())?;
    let raw = items.iter().find(|(k, _)| k == "PREVIEW")?.1.text()?;
    let words = raw.split(|c: char| c.is_whitespace() || c.is_control());
    let mut text = String::new();
    for word in words.filter(|w| !w.is_empty()) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
        if text.chars().count() >= PREVIEW_CHARS {
            break;
        }
    }
    let text: String = text.chars().take(PREVIEW_CHARS).collect();
    Some((uid, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_read_from_quoted_strings_and_literals_and_tidied() {
        assert_eq!(
            preview_of(b"* 3 FETCH (UID 17 PREVIEW \"Hello  there, \\\"you\\\"\")\r\n"),
            Some((17, "Hello there, \"you\"".to_owned()))
        );
        let utf8 = "你好，周五见\u{7}\nBye";
        let line = format!("* 1 FETCH (PREVIEW {{{}}}\r\n{utf8} UID 9)\r\n", utf8.len());
        assert_eq!(
            preview_of(line.as_bytes()),
            Some((9, "你好，周五见 Bye".to_owned()))
        );
        // NIL (nothing to show), another response, and a long text cut to length.
        assert_eq!(preview_of(b"* 1 FETCH (UID 9 PREVIEW NIL)\r\n"), None);
        assert_eq!(preview_of(b"* 1 EXISTS\r\n"), None);
        let long = format!("* 1 FETCH (UID 2 PREVIEW \"{}\")\r\n", "word ".repeat(100));
        let (_, text) = preview_of(long.as_bytes()).unwrap_or_default();
        assert_eq!(text.chars().count(), PREVIEW_CHARS);
    }

    /// Capabilities as a lookup, like `Imap::has`.
    fn caps(list: &str) -> impl Fn(&str) -> bool {
        let list: Vec<String> = list.split(' ').map(str::to_owned).collect();
        move |cap: &str| list.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    #[test]
    fn partial_only_where_sort_takes_it() {
        let newest = PageRequest::default();
        let crit = "(REVERSE DATE)";
        // Cyrus 3.6: ESORT without CONTEXT=SORT answers BAD to PARTIAL. Newest first is
        // still sorted by date (the whole UID list, paged here), never arrival order.
        let cyrus = caps("IMAP4rev1 ESEARCH ESORT SORT SORT=DISPLAY LIST-STATUS");
        assert_eq!(
            Plan::choose(&cyrus, false, &newest),
            Plan::FullSort { crit, esort: true }
        );
        // RFC 5267's own capability, and Dovecot 2.3's ESORT + CONTEXT=SEARCH.
        for server in [
            "IMAP4rev1 SORT ESORT CONTEXT=SORT",
            "IMAP4rev1 SORT ESORT ESEARCH CONTEXT=SEARCH",
        ] {
            assert_eq!(
                Plan::choose(caps(server), false, &newest),
                Plan::Partial(crit),
                "{server}"
            );
        }
        // A server that refused PARTIAL once is not asked again, and keeps its order.
        assert_eq!(
            Plan::choose(caps("SORT ESORT CONTEXT=SORT"), true, &newest),
            Plan::FullSort { crit, esort: true }
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
}
