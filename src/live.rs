//! Live updates: one IMAP watcher per user with a page open, shared by all of that user's
//! pages (`GET /events`), and stopped a while after the last page went away.
//!
//! A [`Hub`] holds a user's watcher task, the last status of each folder (so a page that
//! connects, or reconnects, learns the current state at once) and a broadcast channel for
//! changes. Updates carry ids `<hub epoch>-<n>`: a page that reconnects with `Last-Event-ID`
//! of the same hub gets only what changed since; after a restart (another epoch) it gets
//! everything, which is always correct because an update is a state, not a delta.
//!
//! Nothing here outlives a process or needs to: a hub is rebuilt from the server by the
//! first page that asks. With several instances each has its own hubs, and each is fed by
//! the mail server, so none can go stale.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{sync::broadcast, task::JoinHandle};

use crate::imap::{Account, FolderStatus, Imap};

/// Updates a slow page may fall behind by before it is sent the whole state again.
const CHANNEL: usize = 64;

/// One folder's latest state and the id of the update that brought it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// `<epoch>-<n>`, for `Last-Event-ID`.
    pub id: String,
    /// The folder's counts.
    pub status: FolderStatus,
}

/// Every user's hub.
pub struct Live {
    imap: Imap,
    /// How long a watcher outlives its user's last open page.
    linger: Duration,
    /// Most watchers at once (each holds one IMAP connection).
    max: usize,
    hubs: Mutex<HashMap<String, Arc<Hub>>>,
}

/// One user's watcher and what it last saw.
pub struct Hub {
    epoch: u64,
    seq: AtomicU64,
    tx: broadcast::Sender<Update>,
    /// Latest update per folder, by name.
    last: Mutex<BTreeMap<String, (u64, Update)>>,
    /// Pages connected right now.
    pages: AtomicUsize,
    /// When the last page went away or the user last loaded a page
    /// ([`Live::touch`]): the watcher ends `linger` after it.
    last_seen: Mutex<Instant>,
    /// The watcher; aborted when the hub is dropped from the map.
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Ok(mut t) = self.task.lock()
            && let Some(t) = t.take()
        {
            t.abort();
        }
    }
}

/// A page's view of its user's hub: the state to send first, then the changes.
pub struct Subscription {
    /// The current state of every folder the watcher has reported, minus what a
    /// reconnecting page already had.
    pub snapshot: Vec<Update>,
    /// Changes from now on.
    pub changes: broadcast::Receiver<Update>,
    /// The hub, for a fresh snapshot when the page fell behind.
    pub hub: Arc<Hub>,
    /// Counts the page as connected until dropped.
    _page: PageGuard,
}

/// Decrements the page count on drop; with no page left, the watcher's linger starts.
struct PageGuard {
    hub: Arc<Hub>,
}

impl Drop for PageGuard {
    fn drop(&mut self) {
        if self.hub.pages.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.hub.seen_now();
        }
    }
}

impl Live {
    /// `linger`: how long a watcher stays after its user's last page closed; `max`: most
    /// watchers (IMAP connections) at once.
    pub fn new(imap: Imap, linger: Duration, max: usize) -> Arc<Live> {
        Arc::new(Live {
            imap,
            linger,
            max,
            hubs: Mutex::default(),
        })
    }

    /// Watchers running now.
    pub fn watchers(&self) -> usize {
        self.hubs.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Connects a page of `account`'s user, starting the user's watcher if none runs.
    /// `None` when the cap on watchers is reached: the page then works as without
    /// JavaScript, by reloading. `last_event_id` is the page's `Last-Event-ID`, if any.
    pub fn subscribe(
        self: &Arc<Self>,
        account: &Account,
        last_event_id: Option<&str>,
    ) -> Option<Subscription> {
        let hub = {
            let mut hubs = self.hubs.lock().ok()?;
            match hubs.get(&account.username) {
                Some(hub) => hub.clone(),
                None => {
                    if hubs.len() >= self.max {
                        tracing::warn!(max = self.max, "watcher cap reached; no live updates");
                        return None;
                    }
                    let hub = self.start(account);
                    hubs.insert(account.username.clone(), hub.clone());
                    crate::metrics::watchers(hubs.len());
                    hub
                }
            }
        };
        hub.pages.fetch_add(1, Ordering::AcqRel);
        // Subscribe before reading the state: a change between the two is then sent twice
        // (harmless) rather than never.
        let changes = hub.tx.subscribe();
        let since = last_event_id
            .and_then(|id| id.split_once('-'))
            .filter(|(epoch, _)| epoch.parse() == Ok(hub.epoch))
            .and_then(|(_, n)| n.parse::<u64>().ok());
        let snapshot = hub.snapshot(since);
        Some(Subscription {
            snapshot,
            changes,
            hub: hub.clone(),
            _page: PageGuard { hub },
        })
    }

    /// A page of `account`'s user was just served. Their watcher runs (started if need
    /// be, within the cap) and stays until `linger` after the last such page or the last
    /// open page: pages without JavaScript never open `/events`, and the watcher also
    /// keeps the caches valid without asking the server (`imap::fresh`).
    pub fn touch(self: &Arc<Self>, account: &Account) {
        let Ok(mut hubs) = self.hubs.lock() else {
            return;
        };
        if let Some(hub) = hubs.get(&account.username) {
            hub.seen_now();
            return;
        }
        if hubs.len() >= self.max {
            return;
        }
        let hub = self.start(account);
        hubs.insert(account.username.clone(), hub);
        crate::metrics::watchers(hubs.len());
    }

    /// A new hub with its watcher running, and the task that retires it once its user has
    /// been gone for `linger`.
    fn start(self: &Arc<Self>, account: &Account) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(CHANNEL);
        let hub = Arc::new(Hub {
            epoch: rand::random::<u32>().into(),
            seq: AtomicU64::new(0),
            tx,
            last: Mutex::default(),
            pages: AtomicUsize::new(0),
            last_seen: Mutex::new(Instant::now()),
            task: Mutex::new(None),
        });
        let (live, user, retiring) = (
            Arc::downgrade(self),
            account.username.clone(),
            Arc::downgrade(&hub),
        );
        let every = (self.linger / 4).max(Duration::from_millis(50));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match live.upgrade() {
                    Some(live) if !live.retire(&user, &retiring) => {}
                    _ => break,
                }
            }
        });
        let weak = Arc::downgrade(&hub);
        let (imap, account) = (self.imap.clone(), account.clone());
        let task = tokio::spawn(async move {
            imap.watch(&account, |status| {
                if let Some(hub) = weak.upgrade() {
                    hub.publish(status);
                }
            })
            .await;
        });
        if let Ok(mut t) = hub.task.lock() {
            *t = Some(task);
        }
        hub
    }

    /// Ends `user`'s watcher if it is still `hub`, no page is open and none was loaded
    /// for `linger`. True when the hub is gone (ended now, or before).
    fn retire(&self, user: &str, hub: &Weak<Hub>) -> bool {
        let Ok(mut hubs) = self.hubs.lock() else {
            return true;
        };
        let Some(h) = hubs
            .get(user)
            .filter(|h| Weak::ptr_eq(&Arc::downgrade(h), hub))
        else {
            return true;
        };
        let idle = h
            .last_seen
            .lock()
            .map(|t| t.elapsed() >= self.linger)
            .unwrap_or(true);
        if h.pages.load(Ordering::Acquire) == 0 && idle {
            // Dropping the last `Arc` aborts the task, which closes its connection.
            hubs.remove(user);
            crate::metrics::watchers(hubs.len());
            return true;
        }
        false
    }
}

impl Hub {
    /// The user is here now (a page loaded or the last one closed).
    fn seen_now(&self) {
        if let Ok(mut t) = self.last_seen.lock() {
            *t = Instant::now();
        }
    }

    /// Records a status the watcher reported; a change goes out to the pages.
    fn publish(&self, status: FolderStatus) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last
            .get(&status.mailbox)
            .is_some_and(|(_, u)| u.status == status)
        {
            return;
        }
        let n = self.seq.fetch_add(1, Ordering::AcqRel) + 1;
        let update = Update {
            id: format!("{}-{n}", self.epoch),
            status,
        };
        last.insert(update.status.mailbox.clone(), (n, update.clone()));
        // No receiver is fine: nobody is looking right now.
        let _ = self.tx.send(update);
    }

    /// The latest update of every folder (those newer than `since`, when given).
    pub fn snapshot(&self, since: Option<u64>) -> Vec<Update> {
        let Ok(last) = self.last.lock() else {
            return Vec::new();
        };
        last.values()
            .filter(|(n, _)| since.is_none_or(|s| *n > s))
            .map(|(_, u)| u.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(mailbox: &str, exists: u32) -> FolderStatus {
        FolderStatus {
            mailbox: mailbox.into(),
            exists,
            unseen: exists,
            uidnext: exists + 1,
        }
    }

    #[tokio::test]
    async fn a_hub_sends_changes_once_and_resumes_after_an_id() {
        let (tx, _) = broadcast::channel(CHANNEL);
        let hub = Hub {
            epoch: 7,
            seq: AtomicU64::new(0),
            tx,
            last: Mutex::default(),
            pages: AtomicUsize::new(0),
            last_seen: Mutex::new(Instant::now()),
            task: Mutex::new(None),
        };
        let mut rx = hub.tx.subscribe();
        hub.publish(status("INBOX", 1));
        hub.publish(status("INBOX", 1)); // unchanged: not sent again
        hub.publish(status("Sent", 4));
        hub.publish(status("INBOX", 2));
        let got: Vec<String> = (0..3).map(|_| rx.try_recv().unwrap().id).collect();
        assert_eq!(got, ["7-1", "7-2", "7-3"]);
        assert!(rx.try_recv().is_err());
        // Everything, latest per folder; or only what came after 7-2.
        let all = hub.snapshot(None);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].status, status("INBOX", 2));
        let since = hub.snapshot(Some(2));
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].id, "7-3");
    }
}
