//! Which messages of a folder are linked to which message-ids: the index the message
//! page's conversation panel is found in, instead of a `SEARCH HEADER` over the folder.
//!
//! Finding a message's conversation used to take `UID SEARCH OR HEADER Message-ID …
//! OR HEADER References …` over the whole folder and again over Sent, on every view:
//! about 22 ms of the mail server's time per folder of 10,000 messages, even for the
//! many messages that are in no conversation at all. We cannot tell those apart by their
//! own headers (the first message of a thread has no References, but has replies), and
//! `THREAD` does not help with the user's replies, which live in Sent.
//!
//! So per user and folder we keep, for every message, the ids in its Message-ID,
//! In-Reply-To and References headers (as 64-bit hashes), read once with one FETCH of
//! those header fields and then only for new messages: a message keeps its UID and its
//! headers for life, so UIDVALIDITY and UIDNEXT (from a STATUS, which does not open the
//! folder) tell whether the index is still whole. Expunged messages may linger in it;
//! they do no harm, since the conversation's rows are FETCHed by UID afterwards and a
//! UID that is gone returns nothing. A 64-bit hash collision could at worst list an
//! unrelated message of the user's own in the panel.
//!
//! Memory is bounded (64 MB in all, an hour unused): about 100 bytes per message.

use std::{
    collections::{HashMap, HashSet},
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use futures::TryStreamExt;

use super::{
    command::SeqSet,
    conn::{Conn, Failure},
    threads::ThreadIds,
};

/// Total size of the indexes kept.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// An index unused for this long is dropped.
const IDLE: Duration = Duration::from_secs(3600);
/// The headers that link messages, and nothing else.
const LINK_ITEMS: &str = "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)])";

/// One folder's links.
#[derive(Clone, Debug, Default)]
pub(super) struct LinkIndex {
    /// The folder's UIDVALIDITY when read.
    uidvalidity: u32,
    /// Every message with a smaller UID has been read.
    uid_next: u32,
    /// Id hash → UIDs of the messages that name it (as their own id or an ancestor's).
    by_id: HashMap<u64, Vec<u32>>,
    /// UID → the id hashes it names.
    ids_of: HashMap<u32, Vec<u64>>,
}

/// The indexes of all users: (user, folder wire name) → index.
pub(super) type LinkCache = moka::future::Cache<(String, String), Arc<LinkIndex>>;

/// An empty cache with the bounds above.
pub(super) fn cache() -> LinkCache {
    moka::future::Cache::builder()
        .max_capacity(MAX_BYTES)
        .weigher(|k: &(String, String), v: &Arc<LinkIndex>| {
            let ids: usize = v.ids_of.values().map(Vec::len).sum();
            let bytes = k.0.len() + k.1.len() + 64 + v.ids_of.len() * 48 + ids * 32;
            u32::try_from(bytes).unwrap_or(u32::MAX)
        })
        .time_to_idle(IDLE)
        .build()
}

/// The hash a message-id (`<id>`, as [`ThreadIds`] has it) is indexed under.
pub(super) fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl LinkIndex {
    /// Whether this index covers a folder now at `uidvalidity` / `uid_next`.
    pub(super) fn is_current(&self, uidvalidity: u32, uid_next: u32) -> bool {
        self.uidvalidity == uidvalidity && self.uid_next >= uid_next
    }

    /// Adds message `uid`, which names `ids`.
    fn add(&mut self, uid: u32, ids: &ThreadIds) {
        let hashes: Vec<u64> = ids.all().iter().map(|id| id_hash(id)).collect();
        for &h in &hashes {
            let uids = self.by_id.entry(h).or_default();
            if !uids.contains(&uid) {
                uids.push(uid);
            }
        }
        self.ids_of.insert(uid, hashes);
    }

    /// The messages naming `id`.
    pub(super) fn naming(&self, id: u64) -> &[u32] {
        self.by_id.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The ids message `uid` names.
    pub(super) fn ids_of(&self, uid: u32) -> &[u64] {
        self.ids_of.get(&uid).map_or(&[], Vec::as_slice)
    }
}

/// The index of `wire`, brought up to date: from the cache when it covers the folder's
/// `uidvalidity` and `uid_next` (from a STATUS), else read on `c`, which then has the
/// folder open, for the messages added since (all of them the first time).
pub(super) async fn current(
    cache: &LinkCache,
    c: &mut Conn,
    user: &str,
    wire: &str,
    uidvalidity: u32,
    uid_next: u32,
) -> Result<Arc<LinkIndex>, Failure> {
    let key = (user.to_owned(), wire.to_owned());
    let kept = cache.get(&key).await;
    if let Some(ix) = kept
        .as_ref()
        .filter(|ix| ix.is_current(uidvalidity, uid_next))
    {
        return Ok(Arc::clone(ix));
    }
    // Opened (or caught up with a NOOP) after the STATUS: every message below `uid_next`
    // is visible to the FETCH.
    let opened = c.open_for_reading(wire).await?;
    let mut ix = match kept {
        Some(ix) if ix.uidvalidity == opened => (*ix).clone(),
        _ => LinkIndex {
            uidvalidity: opened,
            uid_next: 1,
            ..LinkIndex::default()
        },
    };
    // A renumbering between the STATUS and the opening: index what is there now.
    let uid_next = if opened == uidvalidity {
        uid_next
    } else {
        u32::MAX
    };
    if ix.uid_next < uid_next {
        // Read as it comes: holding every response of a 10,000-message folder at once
        // cost ~65 MB at its peak, which the allocator then kept.
        let stream = c
            .uid_fetch_stream(&SeqSet::from(ix.uid_next), LINK_ITEMS)
            .await?;
        let mut stream = std::pin::pin!(stream);
        let mut top = ix.uid_next;
        while let Some(f) = stream.try_next().await? {
            // `n:*` answers with the last message even when it is below n.
            let Some(uid) = f.uid.filter(|&u| u >= ix.uid_next && u < uid_next) else {
                continue;
            };
            top = top.max(uid.saturating_add(1));
            ix.add(
                uid,
                &f.header().map(ThreadIds::from_message).unwrap_or_default(),
            );
        }
        ix.uid_next = if uid_next == u32::MAX { top } else { uid_next };
    }
    let ix = Arc::new(ix);
    cache.insert(key, Arc::clone(&ix)).await;
    Ok(ix)
}

/// The messages of `indexes` in one conversation with `ids` (a message's own linking ids),
/// per index: every message naming one of the known ids, whose own ids are known from
/// then on, until nothing new turns up (at most `max_ids` ids are followed, so a runaway
/// mailing-list thread stays bounded). `own` is left out of the first index.
pub(super) fn conversation(
    indexes: &[Option<Arc<LinkIndex>>],
    ids: &[String],
    own: u32,
    max_ids: usize,
) -> Vec<Vec<u32>> {
    let mut known: HashSet<u64> = ids.iter().map(|id| id_hash(id)).collect();
    let mut todo: Vec<u64> = known.iter().copied().collect();
    let mut found: Vec<HashSet<u32>> = vec![HashSet::new(); indexes.len()];
    while let Some(id) = todo.pop() {
        for (i, ix) in indexes.iter().enumerate() {
            let Some(ix) = ix else { continue };
            for &uid in ix.naming(id) {
                if (i == 0 && uid == own) || !found[i].insert(uid) {
                    continue;
                }
                for &next in ix.ids_of(uid) {
                    if known.len() < max_ids && known.insert(next) {
                        todo.push(next);
                    }
                }
            }
        }
    }
    found
        .into_iter()
        .map(|s| {
            let mut v: Vec<u32> = s.into_iter().collect();
            v.sort_unstable();
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(own: &str, refs: &[&str]) -> ThreadIds {
        ThreadIds {
            message_id: Some(own.into()),
            references: refs.iter().map(|s| s.to_string()).collect(),
            in_reply_to: refs.last().iter().map(|s| s.to_string()).collect(),
        }
    }

    fn index(messages: &[(u32, ThreadIds)]) -> Option<Arc<LinkIndex>> {
        let mut ix = LinkIndex::default();
        for (uid, t) in messages {
            ix.add(*uid, t);
        }
        Some(Arc::new(ix))
    }

    #[test]
    fn a_conversation_is_found_across_folders_from_any_of_its_messages() {
        // INBOX: the root, an unrelated message, a reply to the user's reply (only
        // In-Reply-To and References to it), a late reply knowing only its parent.
        let inbox = index(&[
            (1, ids("<root>", &[])),
            (2, ids("<other>", &[])),
            (3, ids("<answer>", &["<root>", "<mine>"])),
            (4, ids("<late>", &["<answer>"])),
        ]);
        // Sent: the user's reply to the root.
        let sent = index(&[(1, ids("<mine>", &["<root>"])), (2, ids("<x>", &[]))]);
        let both = [inbox, sent];
        let from_root = conversation(&both, &ids("<root>", &[]).all(), 1, 100);
        assert_eq!(from_root, vec![vec![3, 4], vec![1]]);
        let from_late = conversation(&both, &ids("<late>", &["<answer>"]).all(), 4, 100);
        assert_eq!(from_late, vec![vec![1, 3], vec![1]]);
        // A message in no conversation finds nothing (and never itself).
        let alone = conversation(&both, &ids("<other>", &[]).all(), 2, 100);
        assert_eq!(alone, vec![Vec::<u32>::new(), vec![]]);
        // No Sent index (no Sent folder): the folder alone.
        let one = conversation(&[both[0].clone(), None], &ids("<root>", &[]).all(), 1, 100);
        assert_eq!(one, vec![vec![3, 4], vec![]]);
    }

    #[test]
    fn following_ids_is_bounded() {
        // A chain of 50 messages, each replying to the one before.
        let chain: Vec<(u32, ThreadIds)> = (1..=50)
            .map(|n| {
                let parent = format!("<m{}>", n - 1);
                let refs: Vec<&str> = if n > 1 { vec![parent.as_str()] } else { vec![] };
                (n, ids(&format!("<m{n}>"), &refs))
            })
            .collect();
        let ix = [index(&chain)];
        let all = conversation(&ix, &ids("<m1>", &[]).all(), 1, 1000);
        assert_eq!(all[0].len(), 49);
        let few = conversation(&ix, &ids("<m1>", &[]).all(), 1, 5);
        assert!(few[0].len() < 10, "{few:?}");
    }

    #[test]
    fn an_index_covers_the_folder_until_it_grows_or_is_renumbered() {
        let ix = LinkIndex {
            uidvalidity: 7,
            uid_next: 10,
            ..LinkIndex::default()
        };
        assert!(ix.is_current(7, 10));
        assert!(!ix.is_current(7, 11));
        assert!(!ix.is_current(8, 10));
    }
}
