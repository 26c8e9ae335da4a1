//! Watching a login's folders: one connection of its own that waits in IDLE (RFC 2177).
//!
//! Where the server has NOTIFY (RFC 5465, Dovecot), one `NOTIFY SET STATUS` makes it
//! report every personal folder's counts at once and then whenever a folder changes (new,
//! expunged or re-flagged messages), as `* STATUS` responses during IDLE: one connection
//! watches them all. Without NOTIFY the INBOX is watched: IDLE on it, and a STATUS after
//! each wake-up. What the counts mean for the pages is `crate::live`'s business.
//!
//! The connection is not pooled: it lives as long as the watch, which its owner ends by
//! dropping (aborting) the task.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use async_imap::imap_proto::{MailboxDatum, Response, StatusAttribute};
use serde::Serialize;

use super::{
    Account, Imap, ImapError,
    acl::Namespaces,
    command::Cmd,
    conn::{Conn, Failure},
    fresh::{Coverage, WatchGuard},
    names::name_from_wire,
};

/// One IDLE connection serves this long, then is replaced: servers end IDLE after 30
/// minutes, and NAT boxes forget quiet connections sooner.
const IDLE_SPAN: Duration = Duration::from_secs(9 * 60);
/// The longest pause between reconnection attempts while the server is unreachable.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// A folder's counts as the server reported them (what `GET /events` sends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderStatus {
    /// The folder's UTF-8 name, as URLs carry it.
    pub mailbox: String,
    /// Messages in the folder.
    pub exists: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// The UID the next message will get: it grows exactly when mail arrives.
    pub uidnext: u32,
}

impl Imap {
    /// Watches `account`'s folders for ever, calling `report` with each status the server
    /// sends: every folder's at the start and after each reconnection (so nothing missed
    /// while disconnected stays missed), then those that change. A lost connection is
    /// reopened after a pause that grows to a minute; a refused login ends the watch.
    pub async fn watch(&self, account: &Account, mut report: impl FnMut(FolderStatus)) {
        // However the watch ends (its task is aborted when the user has gone), it stops
        // vouching for the user's folders.
        let _vouching = WatchGuard {
            fresh: &self.inner.fresh,
            user: &account.username,
        };
        let mut pause = Duration::from_secs(1);
        // Servers may report only what changed (Dovecot's STATUS after a flag change has
        // UNSEEN alone): the rest comes from the folder's last full report.
        let mut known: HashMap<String, FolderStatus> = HashMap::new();
        let mut report = |p: Partial| {
            let s = known.entry(p.mailbox.clone()).or_insert(FolderStatus {
                mailbox: p.mailbox,
                exists: 0,
                unseen: 0,
                uidnext: 0,
            });
            s.exists = p.exists.unwrap_or(s.exists);
            s.unseen = p.unseen.unwrap_or(s.unseen);
            s.uidnext = p.uidnext.unwrap_or(s.uidnext);
            report(s.clone());
        };
        loop {
            let outcome = self.watch_once(account, &mut report).await;
            self.inner.fresh.stopped(&account.username);
            match outcome {
                Ok(()) => pause = Duration::from_secs(1),
                Err(ImapError::AuthFailed) => {
                    tracing::info!(user = %account.username, "watch: login refused; stopped");
                    return;
                }
                Err(e) => {
                    tracing::debug!(user = %account.username, error = %e, "watch: reconnecting");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
            }
        }
    }

    /// One connection's worth of watching: until it is lost or its span is over.
    async fn watch_once(
        &self,
        account: &Account,
        report: &mut impl FnMut(Partial),
    ) -> Result<(), ImapError> {
        let mut conn = self
            .open_for(account, super::client::Purpose::Watch)
            .await?;
        let notify = self.has(&conn, "NOTIFY");
        if notify {
            // Folder names too (made, renamed, deleted, subscribed: LIST responses), so
            // that the folder list can be vouched for as well (`fresh`); public folders
            // too where the server takes it, since the sidebar shows them.
            let namespaces = namespaces(&mut conn).await.map_err(|f| f.into_error())?;
            let public = public_wires(&namespaces);
            let mut record = |r: &Response<'_>| {
                if let Some(s) = status_of(r) {
                    report(s);
                }
            };
            let mut set = conn.command(&notify_command(&public), &mut record).await;
            let mut public_watched = true;
            if matches!(set, Err(Failure::Rejected { .. })) && !public.is_empty() {
                set = conn.command(&notify_command(&[]), &mut record).await;
                public_watched = false;
            }
            set.map_err(|f| f.into_error())?;
            let coverage = coverage(&namespaces, public_watched);
            self.inner.fresh.watching(&account.username, coverage);
        } else {
            conn.examine("INBOX").await.map_err(|f| f.into_error())?;
            inbox_status(&mut conn, report).await?;
        }
        let started = Instant::now();
        while let Some(left) = IDLE_SPAN.checked_sub(started.elapsed()) {
            // `None`: the span ran out mid-IDLE; the connection is dropped below.
            let Some(lines) = conn.idle(left).await.map_err(|f| f.into_error())? else {
                break;
            };
            conn.drain_unsolicited();
            if notify {
                // Anything but a keep-alive (`* OK Still here`) may be a change.
                if lines.iter().any(|l| !l.starts_with(b"* OK")) {
                    self.inner.fresh.changed(&account.username);
                }
                for line in &lines {
                    if let Ok((_, r)) = Response::parse(line)
                        && let Some(s) = status_of(&r)
                    {
                        report(s);
                    }
                }
            } else {
                inbox_status(&mut conn, report).await?;
            }
        }
        Ok(())
    }
}

/// What NOTIFY asks the server to report, for every folder it covers.
const EVENTS: &str = "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))";

/// `NOTIFY SET STATUS` for the personal folders and the public namespaces `public`
/// (wire names of their prefixes, without the trailing delimiter).
fn notify_command(public: &[String]) -> Cmd {
    let mut cmd = Cmd::new("NOTIFY").atom("SET STATUS (personal").atom(EVENTS);
    for prefix in public {
        cmd = cmd.atom("(subtree").mailbox(prefix).atom(EVENTS);
    }
    cmd
}

/// The server's namespaces; `None` without NAMESPACE (or with a reply that does not
/// parse): then nothing is known beyond the personal folders.
async fn namespaces(conn: &mut Conn) -> Result<Option<Namespaces>, Failure> {
    if !conn.has("NAMESPACE") {
        return Ok(None);
    }
    let lines = match conn.command_raw(&Cmd::new("NAMESPACE")).await {
        Ok(lines) => lines,
        Err(f) if f.connection_ok() => return Ok(None),
        Err(f) => return Err(f),
    };
    Ok(lines
        .iter()
        .find_map(|l| super::wire::untagged(l, "NAMESPACE"))
        .and_then(|v| Namespaces::parse(&v)))
}

/// The wire names of the public namespaces (RFC 2342's "shared" group), without their
/// trailing delimiter, for NOTIFY's `subtree`. Other users' folders are left out: whether
/// a server reports their changes to another user is not something to count on.
fn public_wires(namespaces: &Option<Namespaces>) -> Vec<String> {
    let Some(ns) = namespaces else {
        return Vec::new();
    };
    ns.shared
        .iter()
        .filter_map(|n| {
            let name = n
                .delimiter
                .and_then(|d| n.prefix.strip_suffix(d))
                .unwrap_or(&n.prefix);
            (!name.is_empty()).then(|| super::names::mailbox_wire(name).ok())?
        })
        .collect()
}

/// What the NOTIFY covers: all but other users' namespaces, and the public ones unless
/// `public_watched`. Without NAMESPACE, a server that does not say it has other
/// namespaces is taken at its word.
fn coverage(namespaces: &Option<Namespaces>, public_watched: bool) -> Coverage {
    let Some(ns) = namespaces else {
        return Coverage::default();
    };
    // A public namespace without a name could not be put in the NOTIFY.
    let nameless = |n: &&super::acl::Namespace| n.prefix.chars().count() <= 1;
    let public = ns.shared.iter().filter(|n| !public_watched || nameless(n));
    Coverage {
        unwatched: ns
            .other_users
            .iter()
            .chain(public)
            .map(|n| n.prefix.clone())
            .collect(),
    }
}

/// STATUS of the INBOX (watched without NOTIFY).
async fn inbox_status(conn: &mut Conn, report: &mut impl FnMut(Partial)) -> Result<(), ImapError> {
    let cmd = Cmd::new("STATUS")
        .mailbox("INBOX")
        .atom("(MESSAGES UNSEEN UIDNEXT)");
    conn.command(&cmd, |r| {
        if let Some(s) = status_of(r) {
            report(s);
        }
    })
    .await
    .map_err(|f| f.into_error())
}

/// What one `* STATUS` response said: only the attributes it carried.
#[derive(Debug, PartialEq, Eq)]
struct Partial {
    mailbox: String,
    exists: Option<u32>,
    unseen: Option<u32>,
    uidnext: Option<u32>,
}

/// A `* STATUS` response as a [`Partial`] (names the server sent in modified UTF-7
/// decoded; a name that does not decode is skipped).
fn status_of(r: &Response<'_>) -> Option<Partial> {
    let Response::MailboxData(MailboxDatum::Status { mailbox, status }) = r else {
        return None;
    };
    let mut s = Partial {
        mailbox: name_from_wire(mailbox)?,
        exists: None,
        unseen: None,
        uidnext: None,
    };
    for a in status {
        match a {
            StatusAttribute::Messages(n) => s.exists = Some(*n),
            StatusAttribute::Unseen(n) => s.unseen = Some(*n),
            StatusAttribute::UidNext(n) => s.uidnext = Some(*n),
            _ => {}
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_covers_personal_and_public_folders() {
        let ev = "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))";
        assert_eq!(
            notify_command(&[]).line().unwrap(),
            format!("NOTIFY SET STATUS (personal {ev}")
        );
        assert_eq!(
            notify_command(&["Public".into(), "&ANY-ffentlich".into()])
                .line()
                .unwrap(),
            format!(
                "NOTIFY SET STATUS (personal {ev} (subtree \"Public\" {ev} (subtree \"&ANY-ffentlich\" {ev}"
            )
        );
    }

    #[test]
    fn the_notify_covers_all_but_other_users_and_unwatched_public_folders() {
        let ns = |prefix: &str| super::super::acl::Namespace {
            prefix: prefix.into(),
            delimiter: Some('/'),
        };
        let spaces = Some(Namespaces {
            personal: vec![ns("")],
            other_users: vec![ns("shared/")],
            shared: vec![ns("Public/")],
        });
        assert_eq!(public_wires(&spaces), ["Public"]);
        let watched = coverage(&spaces, true);
        assert!(watched.covers("Public/Board") && watched.covers("Junk"));
        assert!(!watched.covers("shared/bob/INBOX"));
        let refused = coverage(&spaces, false);
        assert!(!refused.covers("Public/Board") && refused.covers("Junk"));
        assert!(coverage(&None, true).covers("Anything"));
    }

    #[test]
    fn status_lines_become_folder_statuses() {
        let line = b"* STATUS \"Entw&APw-rfe\" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 1 UNSEEN 2 HIGHESTMODSEQ 4)\r\n";
        let (_, r) = Response::parse(line).unwrap();
        assert_eq!(
            status_of(&r),
            Some(Partial {
                mailbox: "Entwürfe".into(),
                exists: Some(3),
                unseen: Some(2),
                uidnext: Some(9)
            })
        );
        let (_, r) = Response::parse(b"* STATUS INBOX (UNSEEN 1)\r\n").unwrap();
        assert_eq!(
            status_of(&r).map(|p| (p.exists, p.unseen)),
            Some((None, Some(1)))
        );
        let (_, r) = Response::parse(b"* 4 EXISTS\r\n").unwrap();
        assert_eq!(status_of(&r), None);
    }
}
