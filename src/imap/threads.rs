//! Conversations: a folder's list grouped by thread, and the other messages of one
//! message's conversation (in its folder and in Sent, where the user's replies are).
//!
//! Grouping uses the server's `THREAD` (RFC 5256) when it has it: `REFS` (Dovecot's
//! variant, threads ordered by their latest message) or else `REFERENCES`. One
//! `UID THREAD` answers with numbers only; we page over threads, newest first, and
//! FETCH just the page's messages. Without THREAD the folder is paged as usual and the
//! page's messages are grouped by their Message-ID, In-Reply-To and References headers
//! ([`group_by_references`]), so a conversation split across pages is shown in parts.
//!
//! The conversation of one message is found through the headers that link messages
//! (`Message-ID`, `References`, `In-Reply-To`) in the message's folder and in Sent, so
//! the user's own replies appear even though they live in another folder. Those headers
//! are read once per message into a link index (`links`), not searched for on every view.
//! Message-ids come from mail and are untrusted: they are checked before use.

use std::collections::HashMap;

use async_imap::{
    imap_proto::{MailboxDatum, Response, StatusAttribute},
    types::Fetch,
};
use mail_parser::{HeaderValue, MessageParser};

use super::{
    Account, Imap, ImapError, MessageSummary, PageRequest,
    command::{Cmd, SeqSet},
    conn::{Conn, Failure},
    fetch_by_uid, fetch_rows, links,
    messages::Window,
    names::mailbox_wire,
    wire::{self, Value},
};

/// At most this many messages of one thread are shown in the thread view (the newest).
pub const MAX_PER_THREAD: usize = 50;
/// At most this many linked ids of one message are searched for.
const MAX_IDS: usize = 20;
/// At most this many ids are followed through the link indexes for one conversation.
const MAX_FOLLOWED: usize = 500;
/// Longest message-id we search for; real ones are well under 100 characters.
const MAX_ID_LEN: usize = 250;

/// One conversation of the thread view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// Messages in the conversation, including any not shown (see [`MAX_PER_THREAD`]).
    pub size: u32,
    /// The messages shown, in reading order (oldest first).
    pub messages: Vec<MessageSummary>,
}

/// One page of a folder grouped into conversations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadPage {
    /// Conversations in the folder (with THREAD) or on this page (without).
    pub total: u32,
    /// The folder's UIDVALIDITY, for action forms.
    pub uidvalidity: u32,
    /// The page served (clamped).
    pub page: u32,
    /// At least 1.
    pub pages: u32,
    /// Newest conversation first.
    pub threads: Vec<Thread>,
    /// Whether the server grouped the whole folder (THREAD) or only this page.
    pub server_threads: bool,
}

/// The headers that tie a message to its conversation, as `<id>` strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadIds {
    /// The message's own Message-ID.
    pub message_id: Option<String>,
    /// Its References, oldest ancestor first.
    pub references: Vec<String>,
    /// Its In-Reply-To.
    pub in_reply_to: Vec<String>,
}

impl ThreadIds {
    /// Reads the linking headers of a raw message (or of its header alone). Ids that
    /// could not be searched for (control characters, spaces, absurd length) are dropped.
    pub fn from_message(raw: &[u8]) -> ThreadIds {
        let Some(msg) = MessageParser::new().parse_headers(raw) else {
            return ThreadIds::default();
        };
        let ids = |v: &HeaderValue<'_>| -> Vec<String> {
            v.as_text_list()
                .map(|l| l.iter().filter_map(|s| clean_id(s)).collect())
                .unwrap_or_default()
        };
        ThreadIds {
            message_id: msg.message_id().and_then(clean_id),
            references: ids(msg.references()),
            in_reply_to: ids(msg.in_reply_to()),
        }
    }

    /// Every id of the conversation this message knows: its own, its ancestors'.
    pub fn all(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let own = self.message_id.iter();
        for id in own.chain(&self.references).chain(&self.in_reply_to) {
            if !out.contains(id) && out.len() < MAX_IDS {
                out.push(id.clone());
            }
        }
        out
    }
}

/// `<id>` from a parsed id (mail-parser drops the angle brackets), or `None` for one we
/// will not search for.
fn clean_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| format!("<{id}>"))
}

/// A message related to another one (see [`Imap::conversation`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// The folder it is in (UTF-8 name).
    pub mailbox: String,
    /// Its list row.
    pub summary: MessageSummary,
}

/// Conversations by (user, folder wire name, UID, Sent's wire name), each kept with the
/// generation it was read at (`fresh`): a read message opened again shows the same rows
/// without a connection while the watcher vouches.
pub type ConversationCache =
    super::fresh::Vouched<(String, String, u32, Option<String>), Vec<Related>>;

/// An empty [`ConversationCache`], bounded by the memory its rows hold (16 MB).
pub(super) fn conversation_cache() -> ConversationCache {
    super::fresh::Vouched::new(
        moka::sync::Cache::builder()
            .max_capacity(16 << 20)
            .weigher(|_k, v: &(u64, Vec<Related>)| {
                MessageSummary::weigh(v.1.iter().map(|r| &r.summary))
            })
            .time_to_idle(std::time::Duration::from_secs(600))
            .build(),
    )
}

impl Imap {
    /// Page `page` of `mailbox` grouped into conversations, newest conversation first
    /// (`per_page` conversations per page with THREAD, messages per page without).
    pub async fn thread_page(
        &self,
        a: &Account,
        mailbox: &str,
        page: u32,
        per_page: u32,
    ) -> Result<ThreadPage, ImapError> {
        let (this, wire, user) = (self.clone(), mailbox_wire(mailbox)?, a.username.clone());
        self.run(a, async move |c: &mut Conn| {
            this.thread_page_on(c, &user, &wire, page, per_page).await
        })
        .await
    }

    /// The other messages of `uid`'s conversation in `mailbox` and in `sent` (the Sent
    /// folder, if any and different), oldest first, `uid` itself left out. `ids` are
    /// the message's linking headers ([`ThreadIds::from_message`]).
    pub async fn conversation(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
        ids: &ThreadIds,
        sent: Option<&str>,
    ) -> Result<Vec<Related>, ImapError> {
        let mut boxes = vec![(mailbox.to_owned(), mailbox_wire(mailbox)?)];
        if let Some(s) = sent.filter(|s| *s != mailbox) {
            boxes.push((s.to_owned(), mailbox_wire(s)?));
        }
        let user = a.username.clone();
        let key = (
            user.clone(),
            boxes[0].1.clone(),
            uid,
            boxes.get(1).map(|b| b.1.clone()),
        );
        let fresh = &self.inner.fresh;
        if let Some(related) = self.inner.conversations.get(fresh, &user, &key) {
            return Ok(related);
        }
        // Read before the server is asked (see `fresh`).
        let generation = fresh.generation_of(&user, boxes.iter().map(|b| b.1.as_str()));
        let (this, ids) = (self.clone(), ids.clone());
        let mut related = self
            .run(a, async move |c: &mut Conn| {
                this.conversation_on(c, &user, &boxes, uid, &ids).await
            })
            .await?;
        related.sort_by_key(|r| r.summary.date);
        self.inner
            .conversations
            .put(key, generation, related.clone());
        Ok(related)
    }

    /// [`Imap::conversation`] on one connection, from the folders' link indexes
    /// (`links`): a STATUS per folder tells whether its index is whole, the folder is
    /// opened only to read the links of messages new since, and the conversation's rows are
    /// FETCHed by UID. No folder is searched. Folders this connection does not have open
    /// come first, so the one it has open (normally the message's own, which the page's
    /// next request reads again) is the one left open.
    async fn conversation_on(
        &self,
        c: &mut Conn,
        user: &str,
        boxes: &[(String, String)],
        uid: u32,
        ids: &ThreadIds,
    ) -> Result<Vec<Related>, Failure> {
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by_key(|&i| c.open_as(&boxes[i].1, false).is_some());
        let mut indexes = vec![None; boxes.len()];
        for &i in &order {
            let wire = &boxes[i].1;
            let state = match self.folder_state(c, user, wire).await {
                Ok(state) => state,
                // No Sent folder after all, or no right to read it.
                Err(f) if f.connection_ok() && i > 0 => continue,
                Err(f) => return Err(f.no_means(ImapError::NoSuchMailbox)),
            };
            let Some((uidvalidity, uid_next)) = state else {
                continue;
            };
            let ix = links::current(&self.inner.links, c, user, wire, uidvalidity, uid_next);
            indexes[i] = Some(ix.await?);
        }
        let found = links::conversation(&indexes, &ids.all(), uid, MAX_FOLLOWED);
        let mut related = Vec::new();
        for &i in order.iter().rev() {
            // A runaway conversation (a mailing list thread): the newest suffice.
            let uids = &found[i];
            if uids.is_empty() {
                continue;
            }
            let keep = uids.len().saturating_sub(MAX_PER_THREAD);
            c.open_for_reading(&boxes[i].1).await?;
            for summary in fetch_by_uid(c, &uids[keep..]).await? {
                related.push(Related {
                    mailbox: boxes[i].0.clone(),
                    summary,
                });
            }
        }
        Ok(related)
    }

    /// [`Imap::thread_page`] on one connection.
    async fn thread_page_on(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        page: u32,
        per_page: u32,
    ) -> Result<ThreadPage, Failure> {
        let algorithm = if self.has(c, "THREAD=REFS") {
            Some("REFS")
        } else if self.has(c, "THREAD=REFERENCES") {
            Some("REFERENCES")
        } else {
            None
        };
        let Some(algorithm) = algorithm else {
            return self
                .threads_from_headers(c, user, wire, page, per_page)
                .await;
        };
        let mbox = c.examine(wire).await?;
        let lines = c
            .command_raw(&Cmd::new("UID THREAD").atom(algorithm).atom("UTF-8 ALL"))
            .await?;
        let mut threads: Vec<Vec<u32>> = lines
            .iter()
            .filter_map(|l| wire::untagged(l, "THREAD"))
            .flatten()
            .map(|t| {
                let mut uids = Vec::new();
                flatten_thread(t.items(), &mut uids);
                uids
            })
            .filter(|t| !t.is_empty())
            .collect();
        // Both algorithms list the oldest conversation first.
        threads.reverse();
        let total = u32::try_from(threads.len()).unwrap_or(u32::MAX);
        let w = Window::new(total, page, per_page);
        let chosen: Vec<Vec<u32>> = threads
            .into_iter()
            .skip(w.start as usize)
            .take(w.len as usize)
            .collect();
        let wanted: Vec<u32> = chosen
            .iter()
            .flat_map(|t| t[t.len().saturating_sub(MAX_PER_THREAD)..].iter().copied())
            .collect();
        let mut by_uid: HashMap<u32, MessageSummary> = fetch_rows(c, &wanted)
            .await?
            .into_iter()
            .map(|s| (s.uid, s))
            .collect();
        let threads = chosen
            .iter()
            .map(|t| Thread {
                size: u32::try_from(t.len()).unwrap_or(u32::MAX),
                messages: t[t.len().saturating_sub(MAX_PER_THREAD)..]
                    .iter()
                    .filter_map(|u| by_uid.remove(u))
                    .collect(),
            })
            .filter(|t| !t.messages.is_empty())
            .collect();
        Ok(ThreadPage {
            total,
            uidvalidity: mbox.uid_validity.unwrap_or(0),
            page: w.page,
            pages: w.pages,
            threads,
            server_threads: true,
        })
    }

    /// Without THREAD: the folder's page (newest first), grouped by its headers.
    async fn threads_from_headers(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        page: u32,
        per_page: u32,
    ) -> Result<ThreadPage, Failure> {
        let req = PageRequest {
            page,
            per_page,
            ..PageRequest::default()
        };
        let listing = self.fetch_page_on(c, user, wire, &req).await?;
        let uids: Vec<u32> = listing.messages.iter().map(|m| m.uid).collect();
        let mut links = Vec::with_capacity(uids.len());
        if !uids.is_empty() {
            let fetched: Vec<Fetch> = c
                .uid_fetch(
                    &SeqSet::list(&uids),
                    "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)])",
                )
                .await?;
            for f in &fetched {
                if let (Some(uid), Some(h)) = (f.uid, f.header()) {
                    links.push((uid, ThreadIds::from_message(h)));
                }
            }
        }
        let mut by_uid: HashMap<u32, MessageSummary> =
            listing.messages.into_iter().map(|s| (s.uid, s)).collect();
        let groups = group_by_references(&links);
        let mut threads: Vec<Thread> = groups
            .into_iter()
            .map(|g| {
                let mut messages: Vec<MessageSummary> =
                    g.iter().filter_map(|u| by_uid.remove(u)).collect();
                messages.sort_by_key(|m| (m.date, m.uid));
                Thread {
                    size: u32::try_from(messages.len()).unwrap_or(u32::MAX),
                    messages,
                }
            })
            .filter(|t| !t.messages.is_empty())
            .collect();
        // Messages whose headers did not come back still get a row of their own.
        let mut rest: Vec<MessageSummary> = by_uid.into_values().collect();
        rest.sort_by_key(|m| m.uid);
        threads.extend(rest.into_iter().map(|m| Thread {
            size: 1,
            messages: vec![m],
        }));
        threads.sort_by_key(|t| std::cmp::Reverse(newest(t)));
        Ok(ThreadPage {
            total: u32::try_from(threads.len()).unwrap_or(u32::MAX),
            uidvalidity: listing.uidvalidity,
            page: listing.page,
            pages: listing.pages,
            threads,
            server_threads: false,
        })
    }
}

impl Imap {
    /// A folder's UIDVALIDITY and UIDNEXT: remembered while the user's watcher vouches
    /// that nothing changed (see `fresh`), else by STATUS.
    async fn folder_state(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
    ) -> Result<Option<(u32, u32)>, Failure> {
        let key = (user.to_owned(), wire.to_owned());
        let fresh = &self.inner.fresh;
        if let Some(state) = self.inner.folder_states.get(fresh, user, &key) {
            return Ok(Some(state));
        }
        // Read before the server is asked.
        let generation = fresh.generation(user, wire);
        let state = folder_state(c, wire).await?;
        if let Some(state) = state {
            self.inner.folder_states.put(key, generation, state);
        }
        Ok(state)
    }
}

/// A folder's UIDVALIDITY and UIDNEXT by STATUS, which does not open it.
async fn folder_state(c: &mut Conn, wire: &str) -> Result<Option<(u32, u32)>, Failure> {
    let (mut validity, mut next) = (None, None);
    let cmd = Cmd::new("STATUS")
        .mailbox(wire)
        .atom("(UIDNEXT UIDVALIDITY)");
    c.command(&cmd, |r| {
        if let Response::MailboxData(MailboxDatum::Status { status, .. }) = r {
            for a in status {
                match a {
                    StatusAttribute::UidValidity(v) => validity = Some(*v),
                    StatusAttribute::UidNext(n) => next = Some(*n),
                    _ => {}
                }
            }
        }
    })
    .await?;
    Ok(validity.zip(next))
}

/// The sort key of a thread: its newest message (date, then UID).
fn newest(t: &Thread) -> (Option<chrono::DateTime<chrono::FixedOffset>>, u32) {
    t.messages
        .iter()
        .map(|m| (m.date, m.uid))
        .max()
        .unwrap_or((None, 0))
}

/// The UIDs of one RFC 5256 thread in reading order. A list holds a chain of numbers
/// (each a reply to the one before) and then, optionally, nested lists: branches that
/// all reply to the chain's last message. A list may also start with branches only
/// (a missing root).
fn flatten_thread(items: &[Value], out: &mut Vec<u32>) {
    for v in items {
        match v {
            Value::List(branch) => flatten_thread(branch, out),
            other => {
                if let Some(uid) = other.number().and_then(|n| u32::try_from(n).ok()) {
                    out.push(uid);
                }
            }
        }
    }
}

/// Groups messages into conversations by their linking headers (a union-find over
/// message-ids): two messages are in one conversation when one's id appears in the
/// other's References or In-Reply-To, or both refer to a common id. Groups come in the
/// order of their first message in `links`.
pub fn group_by_references(links: &[(u32, ThreadIds)]) -> Vec<Vec<u32>> {
    let mut parent: Vec<usize> = (0..links.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // The first message seen with each id (own or referenced) stands for that id.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, (_, ids)) in links.iter().enumerate() {
        let own = ids.message_id.iter();
        for id in own.chain(&ids.references).chain(&ids.in_reply_to) {
            match owner.get(id.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for (i, (uid, _)) in links.iter().enumerate() {
        let root = find(&mut parent, i);
        let g = *slot.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(*uid);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(own: &str, refs: &[&str], irt: &[&str]) -> ThreadIds {
        ThreadIds {
            message_id: Some(own.into()),
            references: refs.iter().map(|s| s.to_string()).collect(),
            in_reply_to: irt.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn linking_headers_are_read_and_checked() {
        let raw = b"Message-ID: <r2@x>\r\nIn-Reply-To: <r1@x>\r\nReferences: <root@x>\r\n <r1@x>\r\nSubject: Re\r\n\r\nbody";
        let t = ThreadIds::from_message(raw);
        assert_eq!(t, ids("<r2@x>", &["<root@x>", "<r1@x>"], &["<r1@x>"]));
        assert_eq!(t.all(), ["<r2@x>", "<root@x>", "<r1@x>"]);
        let none = ThreadIds::from_message(b"Subject: x\r\n\r\n");
        assert_eq!(none, ThreadIds::default());
        assert!(none.all().is_empty());
        assert_eq!(clean_id("<a b@x>"), None);
        assert_eq!(clean_id(&format!("<{}@x>", "a".repeat(300))), None);
        assert_eq!(clean_id("a@x").as_deref(), Some("<a@x>"));
    }

    #[test]
    fn rfc5256_threads_flatten_in_reading_order() {
        // The RFC's example: (2)(3 6 (4 23)(44 7 96))
        let v = wire::untagged(b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n", "THREAD").unwrap();
        let mut out = Vec::new();
        flatten_thread(v[1].items(), &mut out);
        assert_eq!(out, [3, 6, 4, 23, 44, 7, 96]);
        // A missing root: branches only.
        let v = wire::untagged(b"* THREAD ((5)(9))\r\n", "THREAD").unwrap();
        let mut out = Vec::new();
        flatten_thread(v[0].items(), &mut out);
        assert_eq!(out, [5, 9]);
    }

    #[test]
    fn grouping_by_references() {
        let links = vec![
            (1, ids("<root@x>", &[], &[])),
            (2, ids("<other@x>", &[], &[])),
            (3, ids("<r2@x>", &["<root@x>", "<r1@x>"], &["<r1@x>"])),
            // A reply to a message we do not have, linked only through <r1@x>.
            (4, ids("<r3@x>", &[], &["<r1@x>"])),
            (5, ids("<lonely@x>", &["<gone@x>"], &[])),
        ];
        assert_eq!(
            group_by_references(&links),
            vec![vec![1, 3, 4], vec![2], vec![5]]
        );
        assert!(group_by_references(&[]).is_empty());
    }
}
