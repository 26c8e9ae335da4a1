//! Requests that would ask the server the same thing at the same moment take turns.
//!
//! When a change ends what the watcher vouched for (`fresh`), every open page asks again
//! at once: each tab that the change's event updates, each browser of the user. Without
//! turns, they all ask the server the same thing on as many connections as the pool
//! gives (opening new ones). With turns, the first asks and the others, once it is done,
//! find the answer it left in the vouched cache: one command where there were many, and
//! no extra connection. Turns are per key *and generation*: when another change comes
//! while the first asks, its answer is no longer vouched for, and the waiters take turns
//! again on the new generation rather than queueing behind one another. When the first
//! left nothing to share (the answer may not be cached: a sidebar listing folders the
//! watcher does not see, a server without CONDSTORE; or asking failed), the waiters ask
//! at once, side by side, as they would without turns.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

/// How many generations a request waits through before asking on its own: a folder
/// changing faster than the server answers gains nothing from turns.
const MAX_ROUNDS: usize = 3;

/// The lock the askers of one key at one generation queue on; `true` once one of them
/// has asked (so a later one that finds nothing cached knows waiting is useless).
type Queue = Arc<tokio::sync::Mutex<bool>>;

/// The keys being asked for now (with the generation), each with its queue.
pub(super) struct Turns<K> {
    held: Mutex<HashMap<(K, u64), Queue>>,
}

impl<K> Default for Turns<K> {
    fn default() -> Self {
        Turns {
            held: Mutex::new(HashMap::new()),
        }
    }
}

/// The right to ask the server for a key at a generation; the next asker's turn comes
/// when it is dropped.
pub(super) struct Turn<'a, K: Eq + Hash> {
    turns: &'a Turns<K>,
    key: Option<(K, u64)>,
    asked: tokio::sync::OwnedMutexGuard<bool>,
}

impl<K: Eq + Hash + Clone> Turns<K> {
    /// Waits for whoever asks the server for `key` at the current generation (as
    /// `generation` tells), then looks in the cache (`cached`): `Ok` with what was left
    /// there, or `Err` when the caller must ask, holding the turn (if any) while it does.
    pub async fn after_others<T, F: Future<Output = Option<T>>>(
        &self,
        key: &K,
        generation: impl Fn() -> Option<u64>,
        cached: impl Fn(u64) -> F,
    ) -> Result<T, Option<Turn<'_, K>>> {
        for _ in 0..MAX_ROUNDS {
            let Some(now) = generation() else {
                return Err(None);
            };
            if let Some(found) = cached(now).await {
                return Ok(found);
            }
            let mut turn = self.take((key.clone(), now)).await;
            if generation() == Some(now) {
                if let Some(found) = cached(now).await {
                    return Ok(found);
                }
                if *turn.asked {
                    // The one before asked and left nothing: no use in queueing.
                    return Err(None);
                }
                *turn.asked = true;
                return Err(Some(turn));
            }
        }
        Err(None)
    }

    /// Queues for `key`'s turn.
    async fn take(&self, key: (K, u64)) -> Turn<'_, K> {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            // A queue only the map holds was left by a waiter whose request ended (the
            // browser went away) after the last turn's drop saw it waiting: forget it.
            held.retain(|_, queue| Arc::strong_count(queue) > 1);
            held.entry(key.clone()).or_default().clone()
        };
        Turn {
            turns: self,
            key: Some(key),
            asked: lock.lock_owned().await,
        }
    }

    /// Keys being asked for or waited on (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<K: Eq + Hash> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut held = self
            .turns
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map and this turn's guard hold the lock: nobody waits, forget the key
        // (a newcomer would clone it under the map's lock, which is held here).
        if held.get(&key).is_some_and(|l| Arc::strong_count(l) <= 2) {
            held.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    /// Eight askers of one key at one generation: one asks, seven find its answer.
    #[tokio::test]
    async fn askers_at_once_ask_once() {
        let turns = Turns::<&str>::default();
        let cache = Mutex::new(None::<u64>);
        let asked = AtomicUsize::new(0);
        let ask = async || match turns
            .after_others(
                &"INBOX",
                || Some(7),
                |g| std::future::ready((*cache.lock().unwrap() == Some(g)).then_some(())),
            )
            .await
        {
            Ok(()) => "cached",
            Err(_turn) => {
                asked.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                *cache.lock().unwrap() = Some(7);
                "asked"
            }
        };
        let answers = futures::future::join_all((0..8).map(|_| ask())).await;
        assert_eq!(asked.load(Ordering::SeqCst), 1, "{answers:?}");
        assert_eq!(answers.iter().filter(|a| **a == "cached").count(), 7);
        assert_eq!(turns.len(), 0, "keys are forgotten once nobody waits");
    }

    /// When the first asker leaves nothing to share, the others ask side by side instead
    /// of one after another.
    #[tokio::test]
    async fn askers_ask_side_by_side_when_nothing_is_left_to_share() {
        let turns = Turns::<&str>::default();
        let (asking, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let ask = async || {
            let found = turns
                .after_others(&"INBOX", || Some(1), |_| std::future::ready(None::<()>))
                .await;
            assert!(found.is_err());
            let now = asking.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            asking.fetch_sub(1, Ordering::SeqCst);
        };
        futures::future::join_all((0..8).map(|_| ask())).await;
        assert_eq!(most.load(Ordering::SeqCst), 7, "all but the first at once");
        assert_eq!(turns.len(), 0);
    }

    /// A waiter whose request ends while the turn before it ends leaves no queue behind.
    #[tokio::test]
    async fn a_waiter_that_goes_away_leaves_nothing_behind() {
        let turns = Turns::<&str>::default();
        let nothing = |_| std::future::ready(None::<()>);
        let first = turns.after_others(&"INBOX", || Some(1), nothing).await;
        let Err(Some(first)) = first else {
            panic!("the first asker asks")
        };
        let mut waiter = Box::pin(turns.after_others(&"INBOX", || Some(1), nothing));
        assert!(futures::poll!(&mut waiter).is_pending());
        // The first asker is done while the other still waits, then the other's
        // request ends before its turn comes.
        drop(first);
        drop(waiter);
        let later = turns.after_others(&"INBOX", || Some(2), nothing).await;
        drop(later);
        assert_eq!(turns.len(), 0, "a queue nobody waits on is forgotten");
    }

    /// A change while the first asks: the waiters do not queue behind each other, they
    /// take turns on the new generation; without a watcher (no generation) nobody waits.
    #[tokio::test]
    async fn a_change_meanwhile_starts_new_turns_and_no_watcher_means_no_turns() {
        let turns = Turns::<&str>::default();
        let generation = AtomicU64::new(1);
        let cache = Mutex::new(None::<u64>);
        let asked = AtomicUsize::new(0);
        let ask = async || {
            let found = turns
                .after_others(
                    &"INBOX",
                    || Some(generation.load(Ordering::SeqCst)),
                    |g| std::future::ready((*cache.lock().unwrap() == Some(g)).then_some(())),
                )
                .await;
            if let Err(_turn) = found {
                let now = generation.load(Ordering::SeqCst);
                if asked.fetch_add(1, Ordering::SeqCst) == 0 {
                    // The first asker's answer is overtaken by a change.
                    generation.store(2, Ordering::SeqCst);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                *cache.lock().unwrap() = Some(now);
            }
        };
        futures::future::join_all((0..6).map(|_| ask())).await;
        assert_eq!(asked.load(Ordering::SeqCst), 2, "one per generation");
        assert_eq!(turns.len(), 0);

        let none = turns
            .after_others(&"INBOX", || None, |_| std::future::ready(Some(())))
            .await;
        assert!(matches!(none, Err(None)));
    }
}
