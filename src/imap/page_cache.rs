//! Pages of message lists kept in memory and served again while the folder is provably
//! unchanged: a cache the server validates on every use.
//!
//! A folder's state is its [`Stamp`]: UIDVALIDITY, HIGHESTMODSEQ (RFC 7162 CONDSTORE:
//! every new, expunged or re-flagged message raises it), MESSAGES and UIDNEXT. Before a
//! page is served from memory, one `STATUS` (after an `UNSELECT` when the connection has
//! that folder open: it would report its own, possibly stale, view) asks the server for
//! the stamp; only an identical stamp serves the remembered page.
//! So a change made anywhere (another client, another Mailroom instance, this one) is
//! seen on the next request, and an unchanged folder costs the server one STATUS instead
//! of SELECT, SORT and FETCH. The stamp is taken before the page is fetched: a change
//! between the two makes the next stamp differ, never the reverse.
//!
//! Servers without CONDSTORE or UNSELECT get no cache. Entries are bounded by the memory their
//! rows hold and forgotten after ten idle minutes.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::{MessagePage, MessageSummary, PageRequest, wire};

/// Bytes kept over all cached pages ([`MessageSummary::weight`]; a row is usually a few
/// hundred bytes, so about 200,000 rows).
const MAX_BYTES: u64 = 64 << 20;

/// A folder's state as STATUS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    uidvalidity: u64,
    highestmodseq: u64,
    messages: u64,
    uidnext: u64,
}

/// What the STATUS of [`STATUS_ITEMS`] says: the stamp (when the server sent every part
/// of it) and the unread count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Status {
    pub stamp: Option<Stamp>,
    pub unseen: Option<u32>,
}

/// The STATUS items asked for.
pub(super) const STATUS_ITEMS: &str = "(UIDVALIDITY HIGHESTMODSEQ MESSAGES UIDNEXT UNSEEN)";

impl Status {
    /// Reads the `* STATUS name (…)` line among `lines`.
    pub fn parse(lines: &[Vec<u8>]) -> Status {
        let Some(values) = lines.iter().find_map(|l| wire::untagged(l, "STATUS")) else {
            return Status::default();
        };
        let Some(items) = values.get(1).map(wire::Value::items) else {
            return Status::default();
        };
        let get = |name: &str| {
            items
                .chunks(2)
                .find(|kv| kv[0].text().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                .and_then(|kv| kv.get(1))
                .and_then(wire::Value::number)
        };
        let stamp = match (
            get("UIDVALIDITY"),
            get("HIGHESTMODSEQ"),
            get("MESSAGES"),
            get("UIDNEXT"),
        ) {
            (Some(uidvalidity), Some(highestmodseq), Some(messages), Some(uidnext)) => {
                Some(Stamp {
                    uidvalidity,
                    highestmodseq,
                    messages,
                    uidnext,
                })
            }
            _ => None,
        };
        Status {
            stamp,
            unseen: get("UNSEEN").and_then(|n| u32::try_from(n).ok()),
        }
    }
}

/// Whose page, of which folder, asked how.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    user: String,
    mailbox: String,
    page: u32,
    per_page: u32,
    sort: super::SortKey,
    reverse: bool,
}

impl Key {
    pub fn new(user: &str, mailbox: &str, req: &PageRequest) -> Key {
        Key {
            user: user.to_owned(),
            mailbox: mailbox.to_owned(),
            page: req.page,
            per_page: req.per_page,
            sort: req.sort,
            reverse: req.reverse,
        }
    }
}

/// A remembered page.
struct Cached {
    /// The folder's state it was read at.
    stamp: Stamp,
    page: MessagePage,
    /// The user's generation (`fresh`) at which it was last known current; 0: none.
    vouched: AtomicU64,
}

/// The cache itself.
pub(super) struct PageCache {
    pages: moka::future::Cache<Key, Arc<Cached>>,
    /// Pages served from memory, for tests and diagnostics.
    hits: AtomicU64,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            pages: moka::future::Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|_k: &Key, v: &Arc<Cached>| MessageSummary::weigh(&v.page.messages))
                .time_to_idle(Duration::from_secs(600))
                .build(),
            hits: AtomicU64::new(0),
        }
    }
}

impl PageCache {
    /// The remembered page, if it was known current at `generation` (the user's current
    /// one, which a watcher vouches for): no need to ask the server.
    pub async fn vouched(&self, key: &Key, generation: u64) -> Option<MessagePage> {
        let hit = self.pages.get(key).await?;
        (hit.vouched.load(Ordering::Acquire) == generation).then(|| {
            self.hits.fetch_add(1, Ordering::Relaxed);
            hit.page.clone()
        })
    }

    /// The remembered page, if the folder's state is still `stamp`; it is then known
    /// current at `generation` too (read before the stamp was asked for), if any.
    pub async fn get(
        &self,
        key: &Key,
        stamp: Stamp,
        generation: Option<u64>,
    ) -> Option<MessagePage> {
        let hit = self.pages.get(key).await?;
        if hit.stamp == stamp {
            self.hits.fetch_add(1, Ordering::Relaxed);
            hit.vouched
                .store(generation.unwrap_or(0), Ordering::Release);
            Some(hit.page.clone())
        } else {
            self.pages.invalidate(key).await;
            None
        }
    }

    /// Pages served from memory so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Remembers `page`, fetched when the folder's state was `stamp` (and the user's
    /// generation, read before, `generation`).
    pub async fn put(&self, key: Key, stamp: Stamp, generation: Option<u64>, page: &MessagePage) {
        let cached = Cached {
            stamp,
            page: page.clone(),
            vouched: AtomicU64::new(generation.unwrap_or(0)),
        };
        self.pages.insert(key, Arc::new(cached)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_the_stamp_only_when_complete() {
        let line = b"* STATUS \"Sent Items\" (MESSAGES 4 UIDNEXT 9 UIDVALIDITY 17 UNSEEN 2 HIGHESTMODSEQ 30)\r\n";
        let s = Status::parse(&[b"* OK x\r\n".to_vec(), line.to_vec()]);
        assert_eq!(
            s.stamp,
            Some(Stamp {
                uidvalidity: 17,
                highestmodseq: 30,
                messages: 4,
                uidnext: 9
            })
        );
        assert_eq!(s.unseen, Some(2));
        // No HIGHESTMODSEQ (no CONDSTORE): no stamp, so nothing is served from memory.
        let old = b"* STATUS INBOX (MESSAGES 4 UIDNEXT 9 UIDVALIDITY 17 UNSEEN 2)\r\n";
        assert_eq!(Status::parse(&[old.to_vec()]).stamp, None);
        assert_eq!(Status::parse(&[]), Status::default());
    }

    #[tokio::test]
    async fn a_page_is_served_only_for_the_same_stamp() {
        let cache = PageCache::default();
        let key = Key::new("u", "INBOX", &PageRequest::default());
        let stamp = Stamp {
            uidvalidity: 1,
            highestmodseq: 5,
            messages: 3,
            uidnext: 4,
        };
        let page = MessagePage {
            total: 3,
            uidvalidity: 1,
            page: 1,
            pages: 1,
            messages: Vec::new(),
            unseen: Some(1),
            labels: Vec::new(),
            new_labels: true,
        };
        cache.put(key.clone(), stamp, Some(7), &page).await;
        assert_eq!(cache.vouched(&key, 7).await, Some(page.clone()));
        assert_eq!(cache.vouched(&key, 8).await, None, "another generation");
        assert_eq!(cache.get(&key, stamp, Some(9)).await, Some(page.clone()));
        assert_eq!(
            cache.vouched(&key, 9).await,
            Some(page.clone()),
            "vouched again"
        );
        assert_eq!(cache.get(&key, stamp, None).await, Some(page));
        assert_eq!(
            cache.vouched(&key, 9).await,
            None,
            "no watcher: not vouched"
        );
        let changed = Stamp {
            highestmodseq: 6,
            ..stamp
        };
        assert_eq!(cache.get(&key, changed, None).await, None);
        // Forgotten once found stale, even if the old stamp came back.
        assert_eq!(cache.get(&key, stamp, None).await, None);
        let other = Key::new("someone else", "INBOX", &PageRequest::default());
        assert_eq!(cache.get(&other, stamp, None).await, None);
    }
}
