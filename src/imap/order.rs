//! Which UIDs are on a page of a sorted message list, remembered while the folder stays
//! the same.
//!
//! SORT is the expensive part of a message list: Dovecot sorts the whole folder on every
//! request, even when asked for one page with PARTIAL (about 7 ms for 10,000 messages,
//! where SELECT + FETCH of the page cost about 4 ms). Yet the order cannot change while
//! the set of messages stays the same (a message's date, sender, subject and size never
//! change), and (UIDVALIDITY, UIDNEXT, EXISTS) pin that set down exactly: adding a
//! message raises UIDNEXT, and removing one without adding any lowers EXISTS. So the
//! page's UIDs are kept under that state and reused until it moves, which SELECT tells
//! at no extra cost. Flags and envelopes are always fetched fresh, and only the page's
//! own UIDs are kept, never the whole folder's. It is a cache: losing it costs one SORT.

use std::{sync::Arc, time::Duration};

use async_imap::imap_proto::{MailboxDatum, Outcome, Response, ResponseCode};

/// Pages remembered in all (a page is a few hundred bytes).
const CAPACITY: u64 = 100_000;
/// A page not looked at for this long is forgotten.
const IDLE: Duration = Duration::from_secs(15 * 60);

/// What identifies the set of messages in a folder (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FolderState {
    /// Renumbering changes it (and every UID with it).
    pub uidvalidity: u32,
    /// Rises with every message added.
    pub uid_next: u32,
    /// Messages in the folder.
    pub exists: u32,
}

impl FolderState {
    /// The state in the untagged lines of a SELECT or EXAMINE read raw; 0 for what is
    /// missing.
    pub fn from_select<'a>(lines: impl IntoIterator<Item = &'a Vec<u8>>) -> FolderState {
        let mut s = FolderState::default();
        for line in lines {
            match Response::parse(line) {
                Ok((_, Response::MailboxData(MailboxDatum::Exists(n)))) => s.exists = n,
                Ok((
                    _,
                    Response::Data {
                        outcome:
                            Outcome {
                                code: Some(code), ..
                            },
                        ..
                    },
                )) => match code {
                    ResponseCode::UidValidity(v) => s.uidvalidity = v,
                    ResponseCode::UidNext(n) => s.uid_next = n,
                    _ => {}
                },
                _ => {}
            }
        }
        s
    }

    /// Whether a page remembered under this state can be trusted: a server that did
    /// not send UIDNEXT gives no way to tell.
    fn usable(&self) -> bool {
        self.uid_next != 0 && self.uidvalidity != 0
    }
}

/// One page of one user's folder in one order.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PageKey {
    /// The IMAP login name.
    pub user: String,
    /// The folder's wire name.
    pub mailbox: String,
    /// The SORT criteria, e.g. `(REVERSE DATE)`.
    pub criteria: String,
    /// 1-based positions in that order, inclusive.
    pub range: (u32, u32),
}

/// Remembered pages.
pub struct OrderCache(moka::future::Cache<PageKey, (FolderState, Arc<[u32]>)>);

impl Default for OrderCache {
    fn default() -> Self {
        OrderCache(
            moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_idle(IDLE)
                .build(),
        )
    }
}

impl OrderCache {
    /// The page's UIDs if they were seen under exactly this state.
    pub async fn get(&self, key: &PageKey, state: FolderState) -> Option<Arc<[u32]>> {
        match self.0.get(key).await {
            Some((seen, uids)) if seen == state && state.usable() => Some(uids),
            _ => None,
        }
    }

    /// Whether anything is remembered for the page (under any state).
    pub async fn knows(&self, key: &PageKey) -> bool {
        self.0.contains_key(key)
    }

    /// Remembers the page's UIDs as sorted under `state`.
    pub async fn put(&self, key: PageKey, state: FolderState, uids: &[u32]) {
        if state.usable() {
            self.0.insert(key, (state, uids.into())).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn state_from_a_select_reply() {
        let s = FolderState::from_select(&lines(&[
            "* FLAGS (\\Answered \\Seen)\r\n",
            "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n",
            "* 10001 EXISTS\r\n",
            "* 0 RECENT\r\n",
            "* OK [UIDVALIDITY 1795713735] UIDs valid\r\n",
            "* OK [UIDNEXT 10002] Predicted next UID\r\n",
        ]));
        assert_eq!(
            s,
            FolderState {
                uidvalidity: 1795713735,
                uid_next: 10002,
                exists: 10001
            }
        );
        assert_eq!(
            FolderState::from_select(&Vec::new()),
            FolderState::default()
        );
    }

    #[tokio::test]
    async fn a_page_is_reused_only_under_the_same_state() {
        let cache = OrderCache::default();
        let key = PageKey {
            user: "alice".into(),
            mailbox: "INBOX".into(),
            criteria: "(REVERSE DATE)".into(),
            range: (1, 50),
        };
        let state = FolderState {
            uidvalidity: 7,
            uid_next: 11,
            exists: 10,
        };
        assert!(!cache.knows(&key).await);
        cache.put(key.clone(), state, &[10, 9, 8]).await;
        assert!(cache.knows(&key).await);
        assert_eq!(
            cache.get(&key, state).await.as_deref(),
            Some(&[10, 9, 8][..])
        );
        for moved in [
            FolderState {
                uid_next: 12,
                exists: 11,
                ..state
            }, // one added
            FolderState { exists: 9, ..state }, // one removed
            FolderState {
                uidvalidity: 8,
                ..state
            }, // renumbered
        ] {
            assert_eq!(cache.get(&key, moved).await, None);
        }
        let other_user = PageKey {
            user: "bob".into(),
            ..key.clone()
        };
        assert_eq!(cache.get(&other_user, state).await, None);
        // Without UIDNEXT nothing is remembered.
        let blind = FolderState {
            uid_next: 0,
            ..state
        };
        cache.put(key.clone(), blind, &[1]).await;
        assert_eq!(cache.get(&key, blind).await, None);
    }
}
