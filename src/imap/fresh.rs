//! What the watchers vouch for: which users' folders are known unchanged without asking
//! the server again.
//!
//! A user's watcher (`watch`) holds a connection on which the server reports, through
//! NOTIFY, every change to the user's personal folders: new, expunged and re-flagged
//! messages (as STATUS), folders made, renamed, deleted and (un)subscribed (as LIST). While
//! it is connected, each user has a *generation* that moves on every such report, and on
//! every command of ours that may change something (`Conn` marks those, `Imap::run` reports
//! them here), so a change made through this instance counts at once, before the server's
//! report comes back. A cache entry remembers the generation it was read at (taken
//! *before* asking the server, so a change during the read moves it on) and is served
//! without asking the server only while the generation is still the same and the watcher
//! still connected. A change by another client or instance counts when the server reports
//! it, usually within milliseconds.
//!
//! Only folders the watcher's NOTIFY covers count ([`Coverage`]): every personal folder,
//! including those made after it started, and the public namespaces it asked about. Other
//! users' folders (and every folder of a server without NOTIFY) are always asked about.
//! [`Vouched`] is the cache kind all of this feeds.
//!
//! Nothing here outlives the process; losing it costs only the STATUS round trips the
//! caches then make (see `page_cache`).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// Each user's watched state.
#[derive(Default)]
pub struct Freshness {
    users: Mutex<HashMap<String, Watched>>,
    /// Source of generations: unique across users and watchers, so a generation read
    /// under one watcher is never mistaken for one of the next.
    next: AtomicU64,
}

/// A user whose watcher is connected.
struct Watched {
    generation: u64,
    /// The folders the server reports on.
    coverage: Coverage,
}

/// Which folders a watcher's `NOTIFY SET STATUS (personal …) (subtree <public> …)` covers.
///
/// By namespace rather than by the folders the server listed when the watch began: a
/// folder made later (by another client, or one the server makes on first use, like
/// Dovecot's `auto = subscribe` folders) is covered as well, as RFC 5465's `personal` and
/// `subtree` are. A list taken at the start missed such a folder, and every sidebar that
/// showed it was then read from the server until the watcher reconnected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// UTF-8 prefixes (with their delimiter, `shared/`) of the namespaces the server does
    /// not report on: other users', and public ones left out of the NOTIFY.
    pub unwatched: Vec<String>,
}

impl Coverage {
    /// Whether the folder `wire` is reported on.
    pub fn covers(&self, wire: &str) -> bool {
        let Some(name) = super::names::name_from_wire(wire) else {
            return false;
        };
        if name == "INBOX" {
            return true;
        }
        !self.unwatched.iter().any(|prefix| {
            // The namespace's own root (`shared`), as well as what is inside it.
            let root = prefix
                .char_indices()
                .last()
                .map_or(prefix.as_str(), |(i, _)| &prefix[..i]);
            prefix.is_empty() || name.starts_with(prefix.as_str()) || name == root
        })
    }
}

impl Freshness {
    fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The current generation of `user`'s folder `wire`, if the watcher vouches for it;
    /// taken before reading the server, kept with what was read.
    pub fn generation(&self, user: &str, wire: &str) -> Option<u64> {
        self.generation_of(user, std::iter::once(wire))
    }

    /// The current generation of `user`, if a watcher is connected (whatever folders it
    /// reports on: see [`Freshness::covers`]).
    pub fn current(&self, user: &str) -> Option<u64> {
        let users = self.users.lock().ok()?;
        users.get(user).map(|w| w.generation)
    }

    /// The current generation of `user`, if the watcher reports on every one of `wires`
    /// ([`Freshness::generation`] for several folders at once).
    pub fn generation_of<'a>(
        &self,
        user: &str,
        mut wires: impl Iterator<Item = &'a str>,
    ) -> Option<u64> {
        let users = self.users.lock().ok()?;
        let w = users.get(user)?;
        wires.all(|f| w.coverage.covers(f)).then_some(w.generation)
    }

    /// Whether `user`'s watcher reports on every one of `wires`.
    pub fn covers<'a>(&self, user: &str, wires: impl Iterator<Item = &'a str>) -> bool {
        self.generation_of(user, wires).is_some()
    }

    /// Whether nothing has changed for `user` since `generation` was read.
    pub fn unchanged(&self, user: &str, generation: u64) -> bool {
        self.users
            .lock()
            .ok()
            .and_then(|u| u.get(user).map(|w| w.generation == generation))
            .unwrap_or(false)
    }

    /// Something of `user`'s may have changed: everything read before is to be read again.
    pub fn changed(&self, user: &str) {
        let next = self.next();
        if let Ok(mut users) = self.users.lock()
            && let Some(w) = users.get_mut(user)
        {
            w.generation = next;
        }
    }

    /// Whether `user`'s watcher reports on every selectable folder of `folders` and on
    /// `current` (a wire name), if any.
    pub fn covers_folders(
        &self,
        user: &str,
        folders: &[super::Folder],
        current: Option<&str>,
    ) -> bool {
        let wires: Vec<String> = folders
            .iter()
            .filter(|f| f.selectable)
            .filter_map(|f| super::names::mailbox_wire(&f.name).ok())
            .chain(current.map(str::to_owned))
            .collect();
        self.covers(user, wires.iter().map(String::as_str))
    }

    /// `user`'s watcher is connected and the server reports on the folders `coverage`
    /// covers.
    pub fn watching(&self, user: &str, coverage: Coverage) {
        let generation = self.next();
        if let Ok(mut users) = self.users.lock() {
            users.insert(
                user.to_owned(),
                Watched {
                    generation,
                    coverage,
                },
            );
        }
    }

    /// `user`'s watcher is gone (or reconnecting): nothing is vouched for any more.
    pub fn stopped(&self, user: &str) {
        if let Ok(mut users) = self.users.lock() {
            users.remove(user);
        }
    }
}

/// A cache whose entries are served only while the user's watcher vouches that nothing
/// changed since they were read: each is kept with the generation it was read at.
pub struct Vouched<K, V>(moka::sync::Cache<K, (u64, V)>);

impl<K, V> Vouched<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Over `cache`, whose bounds (entries, weight, lifetime) the caller chooses.
    pub fn new(cache: moka::sync::Cache<K, (u64, V)>) -> Self {
        Vouched(cache)
    }

    /// Over a cache of at most `entries` entries, each forgotten after ten idle minutes.
    pub fn entries(entries: u64) -> Self {
        Vouched(
            moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_idle(std::time::Duration::from_secs(600))
                .build(),
        )
    }

    /// `key`'s value, if `user`'s generation is still the one it was read at.
    pub fn get(&self, fresh: &Freshness, user: &str, key: &K) -> Option<V> {
        self.0
            .get(key)
            .filter(|(generation, _)| fresh.unchanged(user, *generation))
            .map(|(_, value)| value)
    }

    /// Keeps `value`, read at `generation` (taken before the server was asked; `None`: no
    /// watcher vouched then, so nothing is kept).
    pub fn put(&self, key: K, generation: Option<u64>, value: V) {
        if let Some(generation) = generation {
            self.0.insert(key, (generation, value));
        }
    }
}

/// Ends what a watcher vouches for when it ends, however it ends (a watcher task is
/// aborted when its user's last page is long gone).
pub struct WatchGuard<'a> {
    pub fresh: &'a Freshness,
    pub user: &'a str,
}

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.fresh.stopped(self.user);
    }
}

/// Whether a command may change something on the server (a folder's messages, flags or
/// the folder list): anything but the commands known only to read. `line` is the
/// command without its tag, for FETCH, which sets `\Seen` unless it only PEEKs.
pub fn may_change(name: &str, line: &str) -> bool {
    const READ_ONLY: &[&str] = &[
        "CAPABILITY",
        "NOOP",
        "LOGIN",
        "AUTHENTICATE",
        "LOGOUT",
        "ID",
        "ENABLE",
        "SELECT",
        "EXAMINE",
        "UNSELECT",
        "STATUS",
        "LIST",
        "LSUB",
        "NAMESPACE",
        "MYRIGHTS",
        "GETACL",
        "LISTRIGHTS",
        "GETQUOTA",
        "GETQUOTAROOT",
        "GETMETADATA",
        "SEARCH",
        "UID SEARCH",
        "SORT",
        "UID SORT",
        "THREAD",
        "UID THREAD",
        "IDLE",
        "NOTIFY",
        "CHECK",
        "COMPRESS",
        "STARTTLS",
    ];
    if READ_ONLY.iter().any(|v| name.eq_ignore_ascii_case(v)) {
        return false;
    }
    if name.eq_ignore_ascii_case("FETCH") || name.eq_ignore_ascii_case("UID FETCH") {
        return fetch_sets_seen(line);
    }
    true
}

/// Whether FETCH `items` set `\Seen`: `BODY[…]` without `.PEEK`, `RFC822` and
/// `RFC822.TEXT` do (RFC 3501 §6.4.5).
pub fn fetch_sets_seen(items: &str) -> bool {
    let up = items.to_ascii_uppercase();
    up.contains("BODY[")
        || up
            .match_indices("RFC822")
            .any(|(i, _)| !up[i + 6..].starts_with(".SIZE") && !up[i + 6..].starts_with(".HEADER"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything but other users' folders (`shared/`) and `Public/`.
    fn personal() -> Coverage {
        Coverage {
            unwatched: vec!["shared/".into(), "Public/".into()],
        }
    }

    #[test]
    fn coverage_is_by_namespace_and_includes_folders_made_later() {
        let c = personal();
        for wire in [
            "INBOX",
            "inbox",
            "Sent",
            "Junk",
            "a/b",
            "Entw&APw-rfe",
            "sharedx",
        ] {
            assert!(c.covers(wire), "{wire}");
        }
        for wire in [
            "shared/bob/INBOX",
            "shared",
            "Public/Board",
            "Public",
            "&Jjo",
        ] {
            assert!(!c.covers(wire), "{wire}");
        }
        let utf8 = Coverage {
            unwatched: vec!["Öffentlich/".into()],
        };
        assert!(!utf8.covers("&ANY-ffentlich/x"));
        assert!(utf8.covers("&ANY-ffentlichkeit"));
        let nothing = Coverage {
            unwatched: vec![String::new()],
        };
        assert!(nothing.covers("INBOX") && !nothing.covers("Sent"));
    }

    #[test]
    fn a_generation_holds_until_a_change_or_the_watcher_goes() {
        let f = Freshness::default();
        assert_eq!(
            f.generation("ann", "INBOX"),
            None,
            "no watcher: nothing vouched"
        );
        f.watching("ann", personal());
        let g = f.generation("ann", "INBOX").unwrap();
        assert_eq!(f.generation("ann", "shared/x"), None, "unwatched folder");
        assert!(f.unchanged("ann", g));
        f.changed("ben");
        assert!(f.unchanged("ann", g), "another user's change");
        f.changed("ann");
        assert!(!f.unchanged("ann", g));
        let g2 = f.generation("ann", "Sent").unwrap();
        assert_eq!(f.current("ann"), Some(g2));
        assert!(f.covers("ann", ["INBOX", "Sent"].into_iter()));
        assert!(!f.covers("ann", ["INBOX", "Public/x"].into_iter()));
        assert!(!f.covers("ben", ["INBOX"].into_iter()));
        {
            let _guard = WatchGuard {
                fresh: &f,
                user: "ann",
            };
        }
        assert!(!f.unchanged("ann", g2), "watcher gone");
        // A new watcher never brings an old generation back.
        f.watching("ann", personal());
        assert!(!f.unchanged("ann", g2));
    }

    #[test]
    fn vouched_entries_last_while_the_generation_does() {
        let f = Freshness::default();
        let cache: Vouched<&str, u32> = Vouched::new(moka::sync::Cache::new(10));
        cache.put("k", f.generation("ann", "INBOX"), 1);
        assert_eq!(cache.get(&f, "ann", &"k"), None, "no watcher: not kept");
        f.watching("ann", personal());
        cache.put("k", f.generation("ann", "INBOX"), 2);
        assert_eq!(cache.get(&f, "ann", &"k"), Some(2));
        assert_eq!(
            cache.get(&f, "ben", &"k"),
            None,
            "another user's generation"
        );
        f.changed("ann");
        assert_eq!(cache.get(&f, "ann", &"k"), None);
    }

    #[test]
    fn commands_that_may_change_something_are_told_apart() {
        for (name, line) in [
            ("UID STORE", "UID STORE 1 +FLAGS (\\Seen)"),
            ("UID MOVE", "UID MOVE 1 Trash"),
            ("EXPUNGE", "EXPUNGE"),
            ("APPEND", "APPEND Sent {10}"),
            ("CREATE", "CREATE x"),
            ("RENAME", "RENAME x y"),
            ("SUBSCRIBE", "SUBSCRIBE x"),
            ("CLOSE", "CLOSE"),
            ("SETACL", "SETACL x bob lr"),
            ("UID FETCH", "UID FETCH 1 BODY[]"),
            ("FETCH", "FETCH 1 (RFC822)"),
            ("FETCH", "FETCH 1 RFC822.TEXT"),
        ] {
            assert!(may_change(name, line), "{line}");
        }
        for (name, line) in [
            ("UID FETCH", "UID FETCH 1 (UID FLAGS BODY.PEEK[])"),
            ("UID FETCH", "UID FETCH 1 (RFC822.SIZE RFC822.HEADER)"),
            ("STATUS", "STATUS INBOX (UNSEEN)"),
            (
                "UID SORT",
                "UID SORT RETURN (PARTIAL 1:50) (DATE) UTF-8 ALL",
            ),
            ("select", "select INBOX"),
            ("NOOP", "NOOP"),
        ] {
            assert!(!may_change(name, line), "{line}");
        }
    }
}
