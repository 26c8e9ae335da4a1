//! The folder list: from LIST (and STATUS) responses to the ordered [`Folder`]s the
//! sidebar shows.
//!
//! Pure functions only: collecting raw LIST/STATUS data, naming special-use folders
//! (from RFC 6154 attributes, or from well-known names when the server has none), and
//! ordering (INBOX, then Drafts, Sent, Archive, Junk, Trash, then the rest, children
//! right after their parent). The commands themselves are sent from `mod.rs`.

use std::collections::{BTreeMap, HashMap};

use async_imap::imap_proto::{MailboxDatum, NameAttribute, Response, StatusAttribute};

use super::{Folder, SpecialUse, names::name_from_wire};

/// One LIST entry plus what STATUS said about it, names still as on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawFolder {
    /// The name as the server sent it (modified UTF-7).
    pub wire_name: String,
    /// Hierarchy separator.
    pub delimiter: Option<char>,
    /// `\Noselect` or `\NonExistent`: a placeholder, not a mailbox.
    pub noselect: bool,
    /// `\Subscribed`, or named by LSUB.
    pub subscribed: bool,
    /// From RFC 6154 attributes only (names are looked at later).
    pub special: Option<SpecialUse>,
    /// STATUS MESSAGES.
    pub total: u32,
    /// STATUS UNSEEN.
    pub unseen: u32,
    /// STATUS UIDNEXT: with MESSAGES, it changes whenever the folder's content does.
    pub uid_next: u32,
}

/// Accumulates LIST, LSUB and STATUS responses in whatever order they arrive.
#[derive(Debug, Default)]
pub struct ListCollector {
    /// In the order LIST sent them.
    folders: Vec<RawFolder>,
    /// Wire name (INBOX normalised) → position in `folders`.
    index: HashMap<String, usize>,
    /// LSUB names (when the server cannot return `\Subscribed` with LIST).
    lsub: Vec<String>,
}

impl ListCollector {
    /// Feeds one untagged response. `from_lsub` marks responses to an LSUB command,
    /// which imap-proto reports as LIST data.
    pub fn feed(&mut self, resp: &Response<'_>, from_lsub: bool) {
        match resp {
            Response::MailboxData(MailboxDatum::List(list)) if from_lsub => {
                self.lsub.push(list.name.to_string());
            }
            Response::MailboxData(MailboxDatum::List(list)) => {
                let mut f = RawFolder {
                    wire_name: list.name.to_string(),
                    delimiter: list.delimiter.as_deref().and_then(|d| d.chars().next()),
                    ..RawFolder::default()
                };
                for attr in &list.name_attributes {
                    match attr {
                        NameAttribute::NoSelect => f.noselect = true,
                        NameAttribute::Drafts => f.special = Some(SpecialUse::Drafts),
                        NameAttribute::Sent => f.special = Some(SpecialUse::Sent),
                        NameAttribute::Trash => f.special = Some(SpecialUse::Trash),
                        NameAttribute::Junk => f.special = Some(SpecialUse::Junk),
                        NameAttribute::Archive => f.special = Some(SpecialUse::Archive),
                        NameAttribute::Extension(ext) => {
                            // RFC 5258: \NonExistent implies \Noselect.
                            if ext.eq_ignore_ascii_case("\\NonExistent") {
                                f.noselect = true;
                            } else if ext.eq_ignore_ascii_case("\\Subscribed") {
                                f.subscribed = true;
                            }
                        }
                        _ => {}
                    }
                }
                self.upsert(f);
            }
            Response::MailboxData(MailboxDatum::Status { mailbox, status }) => {
                let i = self.slot(mailbox);
                for s in status {
                    match s {
                        StatusAttribute::Messages(n) => self.folders[i].total = *n,
                        StatusAttribute::Unseen(n) => self.folders[i].unseen = *n,
                        StatusAttribute::UidNext(n) => self.folders[i].uid_next = *n,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// The entry for a name, created empty if STATUS arrives before LIST.
    fn slot(&mut self, wire_name: &str) -> usize {
        let key = key(wire_name);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.folders.push(RawFolder {
            wire_name: wire_name.to_owned(),
            ..RawFolder::default()
        });
        self.index.insert(key, self.folders.len() - 1);
        self.folders.len() - 1
    }

    /// Stores a LIST entry, keeping counts a STATUS may already have stored.
    fn upsert(&mut self, f: RawFolder) {
        let i = self.slot(&f.wire_name);
        let slot = &mut self.folders[i];
        // STATUS may have come first (LIST-STATUS allows any order); keep its counts.
        let (total, unseen, uid_next) = (slot.total, slot.unseen, slot.uid_next);
        *slot = RawFolder {
            total,
            unseen,
            uid_next,
            ..f
        };
    }

    /// The selectable folders, for STATUS one by one when there is no LIST-STATUS.
    pub fn selectable_wire_names(&self) -> Vec<String> {
        self.folders
            .iter()
            // A name that could break the STATUS command is skipped (its counts stay 0).
            .filter(|f| {
                !f.noselect && !f.wire_name.is_empty() && !f.wire_name.chars().any(char::is_control)
            })
            .map(|f| f.wire_name.clone())
            .collect()
    }

    /// Everything collected, with LSUB results applied.
    pub fn finish(mut self) -> Vec<RawFolder> {
        for name in std::mem::take(&mut self.lsub) {
            if let Some(&i) = self.index.get(&key(&name)) {
                self.folders[i].subscribed = true;
            }
        }
        self.folders
    }
}

/// INBOX is case-insensitive; every other name is exact.
fn key(wire_name: &str) -> String {
    if wire_name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_owned()
    } else {
        wire_name.to_owned()
    }
}

/// Well-known names for servers without SPECIAL-USE, matched case-insensitively against
/// the last path component of a top-level folder or a child of INBOX.
const FALLBACK_NAMES: &[(SpecialUse, &[&str])] = &[
    (SpecialUse::Drafts, &["Drafts", "Draft"]),
    (
        SpecialUse::Sent,
        &["Sent", "Sent Items", "Sent Messages", "Sent Mail"],
    ),
    (SpecialUse::Archive, &["Archive", "Archives"]),
    (
        SpecialUse::Junk,
        &["Junk", "Spam", "Junk E-mail", "Junk Email", "Bulk Mail"],
    ),
    (
        SpecialUse::Trash,
        &[
            "Trash",
            "Deleted Items",
            "Deleted Messages",
            "Deleted",
            "Bin",
        ],
    ),
];

/// Where a folder sorts among its siblings: INBOX, the special folders, the rest.
fn rank(f: &Folder) -> u8 {
    match f.special {
        Some(SpecialUse::Inbox) => 0,
        Some(SpecialUse::Drafts) => 1,
        Some(SpecialUse::Sent) => 2,
        Some(SpecialUse::Archive) => 3,
        Some(SpecialUse::Junk) => 4,
        Some(SpecialUse::Trash) => 5,
        None => 6,
    }
}

/// A number that changes whenever a message is added to or removed from any folder (its
/// MESSAGES or UIDNEXT moves), and so whenever the storage used can have changed: the
/// quota is asked for again only then (see `sidebar`).
pub fn content_stamp(raw: &[RawFolder]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in raw {
        (&f.wire_name, f.total, f.uid_next).hash(&mut h);
    }
    h.finish()
}

/// Turns raw LIST data into the ordered folder list.
///
/// Names are decoded from modified UTF-7 (malformed ones are skipped: we could not
/// address them anyway). Missing parents (`a/b` listed without `a`) are added as
/// non-selectable entries so the tree stays a tree.
pub fn build(raw: Vec<RawFolder>) -> Vec<Folder> {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    for r in raw {
        let Some(name) = name_from_wire(&r.wire_name) else {
            tracing::warn!(name = %r.wire_name.escape_debug(), "IMAP: skipping a folder with a malformed name");
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let special = if name == "INBOX" {
            Some(SpecialUse::Inbox)
        } else {
            r.special
        };
        folders.insert(
            name.clone(),
            make_folder(
                name,
                r.delimiter,
                special,
                !r.noselect,
                r.subscribed,
                r.total,
                r.unseen,
            ),
        );
    }

    // Add missing ancestors.
    let known: Vec<(String, Option<char>)> = folders
        .values()
        .map(|f| (f.name.clone(), f.delimiter))
        .collect();
    for (name, delim) in known {
        let Some(d) = delim else { continue };
        let mut parent = name.as_str();
        while let Some((p, _)) = parent.rsplit_once(d) {
            if p.is_empty() {
                break;
            }
            folders
                .entry(p.to_owned())
                .or_insert_with(|| make_folder(p.to_owned(), Some(d), None, false, false, 0, 0));
            parent = p;
        }
    }

    apply_fallback_names(&mut folders);

    // Children per parent, then a depth-first walk.
    let parent_of = |f: &Folder| -> Option<String> {
        let d = f.delimiter?;
        let (p, _) = f.name.rsplit_once(d)?;
        (!p.is_empty() && folders.contains_key(p)).then(|| p.to_owned())
    };
    let mut children: HashMap<Option<String>, Vec<&Folder>> = HashMap::new();
    for f in folders.values() {
        children.entry(parent_of(f)).or_default().push(f);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| {
                    a.display_name
                        .to_lowercase()
                        .cmp(&b.display_name.to_lowercase())
                })
                .then_with(|| a.name.cmp(&b.name))
        });
    }
    let mut out = Vec::with_capacity(folders.len());
    let mut stack: Vec<&Folder> = children
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .copied()
        .collect();
    while let Some(f) = stack.pop() {
        out.push(f.clone());
        if let Some(kids) = children.get(&Some(f.name.clone())) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    out
}

/// A selectable, subscribed, empty folder `name` (`/`-separated), for unit tests.
#[cfg(test)]
pub(crate) fn test_folder(name: &str, special: Option<SpecialUse>) -> Folder {
    make_folder(name.to_owned(), Some('/'), special, true, true, 0, 0)
}

/// A [`Folder`] with display name and depth derived from the full name.
fn make_folder(
    name: String,
    delimiter: Option<char>,
    special: Option<SpecialUse>,
    selectable: bool,
    subscribed: bool,
    total: u32,
    unseen: u32,
) -> Folder {
    let (display_name, depth) = match delimiter {
        Some(d) => (
            name.rsplit(d).next().unwrap_or(&name).to_owned(),
            name.matches(d).count(),
        ),
        None => (name.clone(), 0),
    };
    Folder {
        name,
        display_name,
        delimiter,
        depth,
        special,
        unseen,
        total,
        selectable,
        subscribed,
    }
}

/// Gives special roles by name, for each role that no folder has from the server.
fn apply_fallback_names(folders: &mut BTreeMap<String, Folder>) {
    for (role, names) in FALLBACK_NAMES {
        if folders.values().any(|f| f.special == Some(*role)) {
            continue;
        }
        // The first name in the list wins over later ones (`Sent` before `Sent Items`).
        let pick = names.iter().find_map(|wanted| {
            folders
                .values()
                .find(|f| {
                    f.selectable
                        && f.special.is_none()
                        && top_level_or_inbox_child(f)
                        && f.display_name.eq_ignore_ascii_case(wanted)
                })
                .map(|f| f.name.clone())
        });
        if let Some(name) = pick
            && let Some(f) = folders.get_mut(&name)
        {
            f.special = Some(*role);
        }
    }
}

/// `Sent` or `INBOX.Sent` (Courier-style servers put every folder under INBOX).
fn top_level_or_inbox_child(f: &Folder) -> bool {
    match (f.depth, f.delimiter) {
        (0, _) => true,
        (1, Some(d)) => f.name.split(d).next() == Some("INBOX"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, special: Option<SpecialUse>) -> RawFolder {
        RawFolder {
            wire_name: name.to_owned(),
            delimiter: Some('/'),
            special,
            ..RawFolder::default()
        }
    }

    fn names(folders: &[Folder]) -> Vec<&str> {
        folders.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn inbox_then_special_then_hierarchy() {
        let folders = build(vec![
            raw("Work", None),
            raw("Work/Projects", None),
            raw("&YqVUSg-", None),
            raw("Trash", Some(SpecialUse::Trash)),
            raw("Archive", Some(SpecialUse::Archive)),
            raw("Junk", Some(SpecialUse::Junk)),
            raw("Sent", Some(SpecialUse::Sent)),
            raw("Drafts", Some(SpecialUse::Drafts)),
            raw("INBOX", None),
            raw("INBOX/Receipts", None),
            raw("apple", None),
            raw("Work/Alpha", None),
        ]);
        assert_eq!(
            names(&folders),
            [
                "INBOX",
                "INBOX/Receipts",
                "Drafts",
                "Sent",
                "Archive",
                "Junk",
                "Trash",
                "apple",
                "Work",
                "Work/Alpha",
                "Work/Projects",
                "报告",
            ]
        );
        let projects = &folders[10];
        assert_eq!(
            (projects.display_name.as_str(), projects.depth),
            ("Projects", 1)
        );
        assert_eq!(folders[0].special, Some(SpecialUse::Inbox));
    }

    #[test]
    fn fallback_names_apply_only_without_special_use() {
        let folders = build(vec![
            raw("INBOX", None),
            raw("Sent Items", None),
            raw("Deleted Items", None),
            raw("Spam", None),
            raw("Projects/Drafts", None),
        ]);
        let role = |n: &str| folders.iter().find(|f| f.name == n).and_then(|f| f.special);
        assert_eq!(role("Sent Items"), Some(SpecialUse::Sent));
        assert_eq!(role("Deleted Items"), Some(SpecialUse::Trash));
        assert_eq!(role("Spam"), Some(SpecialUse::Junk));
        // Nested deeper than INBOX's children: just a folder.
        assert_eq!(role("Projects/Drafts"), None);
        // A real \Sent attribute wins over a well-known name.
        let folders = build(vec![
            raw("Sent", None),
            raw("Outbox", Some(SpecialUse::Sent)),
        ]);
        assert_eq!(folders[0].name, "Outbox");
        assert_eq!(folders[1].special, None);
    }

    #[test]
    fn courier_style_inbox_children_get_roles() {
        let mut r = vec![
            raw("INBOX", None),
            raw("INBOX.Sent", None),
            raw("INBOX.Zeta", None),
        ];
        for f in &mut r {
            f.delimiter = Some('.');
        }
        let folders = build(r);
        assert_eq!(names(&folders), ["INBOX", "INBOX.Sent", "INBOX.Zeta"]);
        assert_eq!(folders[1].special, Some(SpecialUse::Sent));
        assert_eq!(folders[1].display_name, "Sent");
    }

    #[test]
    fn missing_parents_are_added_and_bad_names_skipped() {
        let folders = build(vec![raw("a/b/c", None), raw("&bad", None)]);
        assert_eq!(names(&folders), ["a", "a/b", "a/b/c"]);
        assert!(!folders[0].selectable && !folders[1].selectable);
        assert_eq!(folders[2].depth, 2);
    }

    #[test]
    fn collector_merges_status_in_any_order() {
        use async_imap::imap_proto::{MailboxListData, Response};
        use std::borrow::Cow;
        let mut c = ListCollector::default();
        c.feed(
            &Response::MailboxData(MailboxDatum::Status {
                mailbox: Cow::Borrowed("inbox"),
                status: vec![StatusAttribute::Messages(7), StatusAttribute::Unseen(2)],
            }),
            false,
        );
        c.feed(
            &Response::MailboxData(MailboxDatum::List(MailboxListData {
                name_attributes: vec![
                    NameAttribute::Extension(Cow::Borrowed("\\Subscribed")),
                    NameAttribute::Sent,
                ],
                delimiter: Some(Cow::Borrowed("/")),
                name: Cow::Borrowed("INBOX"),
            })),
            false,
        );
        c.feed(
            &Response::MailboxData(MailboxDatum::List(MailboxListData {
                name_attributes: vec![NameAttribute::NoSelect],
                delimiter: Some(Cow::Borrowed("/")),
                name: Cow::Borrowed("shared"),
            })),
            false,
        );
        assert_eq!(c.selectable_wire_names(), ["INBOX"]);
        let raw = c.finish();
        assert_eq!(raw.len(), 2);
        assert_eq!(
            (raw[0].total, raw[0].unseen, raw[0].subscribed),
            (7, 2, true)
        );
    }

    #[test]
    fn the_content_stamp_moves_with_messages_and_uidnext_only() {
        let mut a = vec![raw("INBOX", None), raw("Sent", None)];
        (a[0].total, a[0].uid_next, a[0].unseen) = (5, 9, 1);
        let base = content_stamp(&a);
        a[0].unseen = 0;
        a[0].subscribed = true;
        assert_eq!(
            content_stamp(&a),
            base,
            "flags and subscriptions do not count"
        );
        a[0].uid_next = 10;
        assert_ne!(content_stamp(&a), base, "an append");
        a[0].uid_next = 9;
        a[0].total = 4;
        assert_ne!(content_stamp(&a), base, "an expunge");
        a[0].total = 5;
        a.push(raw("New", None));
        assert_ne!(content_stamp(&a), base, "a new folder");
    }
}
