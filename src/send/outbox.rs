//! The outbox: "send later", and the undo window after Send.
//!
//! A message the user sends with a delay (the undo window, a few seconds by default) or
//! for a chosen time waits in the `outbox` table (`store::outbox`) instead of going out at
//! once. Every instance runs [`Outbox::run`], which takes due messages (each by exactly one
//! instance: a lease in the database) and hands them to the send workflow
//! ([`Mailer::deliver_or_keep`]) with the user's account rebuilt from credentials sealed
//! under the server's key (`crate::vault`) — the browser may be closed by then. The row
//! (and with it the sealed password) is deleted once the message is sent, cancelled or in
//! Drafts.
//!
//! When the submission server does not take it, the message is tried again after a
//! growing pause; after the last try it goes to Drafts and the outbox page says why.
//! Cancelling (Undo, or Cancel on `/outbox`) puts it in Drafts too, attachments and all,
//! for editing. The outbox survives restarts; it never needs FUTURERELEASE (RFC 4865).

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use super::{Claimed, Drafted, Letter, Mailer, Outcome, SendError};
use crate::{
    config::{MailServer, Secret},
    imap::{Account, Appended},
    store::{
        self, Db,
        outbox::{Enqueued, NewRow, Queued},
    },
    vault::Vault,
};

/// How often the worker looks for due messages (how late a message may go out).
const TICK: Duration = Duration::from_millis(500);
/// How long a taken message is the taker's (a send takes seconds; a crashed instance's
/// messages are taken by another after this).
const LEASE_SECS: i64 = 120;

/// What the sealed credentials hold.
#[derive(Serialize, Deserialize)]
struct Credentials {
    password: String,
    server: Option<MailServer>,
}

/// What cancelling found.
#[derive(Debug)]
pub enum Cancelled {
    /// Back in Drafts, where the editor can open it.
    ToDrafts(Appended),
    /// A message given up before (already in Drafts): its notice is dismissed.
    Dismissed,
    /// Not there (sent already, being sent right now, or another user's).
    Gone,
}

/// The outbox of every user, and its worker.
pub struct Outbox {
    db: Db,
    mailer: Mailer,
    vault: Vault,
    /// Pauses between tries when the submission server refuses or is down; after the
    /// last one the message goes to Drafts.
    backoff: Vec<Duration>,
}

impl Outbox {
    /// `master`: the server's key, under which credentials are sealed.
    pub fn new(db: Db, mailer: Mailer, master: &[u8], backoff: Vec<Duration>) -> Arc<Outbox> {
        Arc::new(Outbox {
            db,
            mailer,
            vault: Vault::new(master, "outbox credentials"),
            backoff,
        })
    }

    /// Queues `letter` of `account` to go out at `send_at` (Unix seconds).
    pub async fn enqueue(
        &self,
        account: &Account,
        letter: &Letter,
        send_at: i64,
    ) -> Result<Enqueued, SendError> {
        let m = &letter.message;
        let recipients: Vec<&str> =
            m.to.iter()
                .chain(&m.cc)
                .chain(&m.bcc)
                .map(|a| a.email.as_str())
                .collect();
        let credentials = serde_json::to_vec(&Credentials {
            password: account.password.expose().to_owned(),
            server: account.server.as_deref().cloned(),
        })
        .map_err(|e| SendError::Store(sqlx::Error::Protocol(e.to_string())))?;
        let json = serde_json::to_string(letter)
            .map_err(|e| SendError::Store(sqlx::Error::Protocol(e.to_string())))?;
        let queued = store::outbox::enqueue(
            &self.db,
            NewRow {
                username: &account.username,
                compose_id: &letter.key,
                letter: &json,
                credentials: &self.vault.seal(&credentials),
                subject: &m.subject,
                recipients: &recipients.join(", "),
                send_at,
            },
        )
        .await?;
        if matches!(queued, Enqueued::New(_)) {
            // The row holds the files now.
            store::compose::unstage_all(&self.db, &account.username, &letter.key).await?;
        }
        Ok(queued)
    }

    /// The user's waiting and given-up messages.
    pub async fn list(&self, username: &str) -> Result<Vec<Queued>, SendError> {
        Ok(store::outbox::list(&self.db, username).await?)
    }

    /// Sends `id` now rather than at its time.
    pub async fn send_now(&self, username: &str, id: &str) -> Result<bool, SendError> {
        Ok(store::outbox::send_now(&self.db, username, id).await?)
    }

    /// Takes `id` out of the outbox into Drafts (Undo, Cancel, Edit). If Drafts cannot be
    /// written, the message stays queued and the error is returned: it is never lost.
    pub async fn cancel(&self, account: &Account, id: &str) -> Result<Cancelled, SendError> {
        let Some(q) = store::outbox::take_back(&self.db, &account.username, id).await? else {
            return Ok(Cancelled::Gone);
        };
        let Ok(letter) = serde_json::from_str::<Letter>(&q.letter) else {
            return Ok(Cancelled::Dismissed);
        };
        let failure = match self.mailer.save_draft(account, &letter).await {
            Ok(Drafted::Saved(appended)) => return Ok(Cancelled::ToDrafts(appended)),
            Ok(Drafted::Failed(e)) => SendError::Imap(e),
            Ok(Drafted::Refused(reasons)) => {
                SendError::Store(sqlx::Error::Protocol(format!("{reasons:?}")))
            }
            Err(e) => e,
        };
        store::outbox::enqueue(
            &self.db,
            NewRow {
                username: &q.username,
                compose_id: &q.compose_id,
                letter: &q.letter,
                credentials: &q.credentials,
                subject: &q.subject,
                recipients: &q.recipients,
                send_at: q.send_at,
            },
        )
        .await?;
        Err(failure)
    }

    /// The worker: sends due messages for ever (every instance runs one).
    pub async fn run(self: Arc<Self>) {
        loop {
            loop {
                match store::outbox::take_due(&self.db, LEASE_SECS).await {
                    Ok(Some(q)) => self.process(q).await,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox: cannot read the queue");
                        break;
                    }
                }
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// One due message: send it, or schedule the next try, or give up into Drafts.
    async fn process(&self, q: Queued) {
        let late = store::now() - q.send_at;
        let opened = self
            .vault
            .open(&q.credentials)
            .and_then(|c| serde_json::from_slice::<Credentials>(&c).ok());
        let letter = serde_json::from_str::<Letter>(&q.letter).ok();
        let (Some(creds), Some(letter)) = (opened, letter) else {
            // Sealed under another key (MAILROOM_SECRET_KEY changed) or damaged: nothing
            // can be done with it; say so on the outbox page.
            tracing::warn!(id = %q.id, "outbox: a message cannot be opened; given up");
            let _ = store::outbox::give_up(&self.db, &q.id, "unreadable", false).await;
            return;
        };
        let account = Account {
            login_id: format!("outbox-{}", q.id),
            username: q.username.clone(),
            password: Secret::new(creds.password),
            server: creds.server.map(Arc::new),
        };
        let result = self.send(&account, &letter).await;
        match result {
            Ok(Some(reason)) => self.failed(&account, &letter, &q, &reason).await,
            Ok(None) => {
                tracing::info!(id = %q.id, late_secs = late, "outbox: sent");
                if let Err(e) = store::outbox::remove(&self.db, &q.id).await {
                    tracing::warn!(error = %e, "outbox: sent, but the row stays");
                }
            }
            Err(e) => self.failed(&account, &letter, &q, &e.to_string()).await,
        }
        self.mailer.imap.logout(&account.login_id).await;
    }

    /// Sends; `Ok(None)` when it went out (or had gone out before), `Ok(Some(why))` when
    /// the server did not take it.
    async fn send(&self, account: &Account, letter: &Letter) -> Result<Option<String>, SendError> {
        let ticket = match self.mailer.claim(&account.username, &letter.key).await? {
            Claimed::Won(t) => t,
            Claimed::AlreadySent { .. } => return Ok(None),
        };
        Ok(
            match self.mailer.deliver_or_keep(account, ticket, letter).await? {
                Outcome::Sent(_) => None,
                Outcome::Deferred { reason } => Some(reason.to_string()),
                Outcome::Refused(reasons) => Some(format!("refused: {reasons:?}")),
                // `deliver_or_keep` does not save drafts; kept for completeness.
                Outcome::SavedAsDraft { reason, .. } | Outcome::NotSaved { reason, .. } => {
                    Some(reason.to_string())
                }
            },
        )
    }

    /// A try that did not send: again later, or (after the last try) into Drafts.
    async fn failed(&self, account: &Account, letter: &Letter, q: &Queued, why: &str) {
        let tries = usize::try_from(q.attempts).unwrap_or(usize::MAX);
        if let Some(pause) = self.backoff.get(tries) {
            let next = store::now() + i64::try_from(pause.as_secs()).unwrap_or(i64::MAX / 2);
            tracing::info!(id = %q.id, tries = tries + 1, error = %why, "outbox: will try again");
            if let Err(e) = store::outbox::retry(&self.db, &q.id, next, why).await {
                tracing::warn!(error = %e, "outbox: cannot schedule the next try");
            }
            return;
        }
        let saved = matches!(
            self.mailer.save_draft(account, letter).await,
            Ok(Drafted::Saved(_))
        );
        tracing::warn!(id = %q.id, error = %why, saved, "outbox: given up");
        // Without a Drafts copy the row keeps the message, so "Send now" can try again.
        if let Err(e) = store::outbox::give_up(&self.db, &q.id, why, !saved).await {
            tracing::warn!(error = %e, "outbox: cannot record the failure");
        }
    }
}

/// How far ahead a message may be scheduled.
pub const MAX_AHEAD_SECS: i64 = 366 * 24 * 3600;

/// Why a "send later" time was not taken (each a catalog key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendAtError {
    /// Not a date and time.
    Invalid,
    /// Not in the future.
    Past,
    /// More than a year ahead.
    TooFar,
}

impl SendAtError {
    /// The message's catalog key.
    pub fn key(self) -> &'static str {
        match self {
            SendAtError::Invalid => "outbox.error.invalid",
            SendAtError::Past => "outbox.error.past",
            SendAtError::TooFar => "outbox.error.too_far",
        }
    }
}

/// Reads a send time (ISO 8601): with an offset or `Z` it is exact; without one it is a
/// local time in `zone` (what `<input type=datetime-local>` sends: `2026-12-24T09:30`,
/// seconds optional). A local time that does not exist (skipped by a DST change) is
/// refused; one that happens twice is the first. Unix seconds, in the future.
pub fn parse_send_at(input: &str, zone: chrono_tz::Tz, now: i64) -> Result<i64, SendAtError> {
    use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone};
    let input = input.trim();
    if input.len() > 40 {
        return Err(SendAtError::Invalid);
    }
    // ISO 8601 lets seconds go (`…T09:30Z`); RFC 3339, which chrono reads, does not.
    let with_seconds = match input.split_once('T') {
        Some((date, time))
            if time.is_ascii()
                && time.len() > 5
                && time.as_bytes()[2] == b':'
                && b"Zz+-".contains(&time.as_bytes()[5]) =>
        {
            format!("{date}T{}:00{}", &time[..5], &time[5..])
        }
        _ => input.to_owned(),
    };
    let at = if let Ok(exact) = DateTime::parse_from_rfc3339(&with_seconds) {
        exact.timestamp()
    } else {
        let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(input, f).ok())
            .ok_or(SendAtError::Invalid)?;
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp(),
            LocalResult::None => return Err(SendAtError::Invalid),
        }
    };
    if at <= now {
        Err(SendAtError::Past)
    } else if at - now > MAX_AHEAD_SECS {
        Err(SendAtError::TooFar)
    } else {
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_local_to_the_user_unless_they_say_otherwise() {
        // 2026-12-04 00:00:00 UTC
        let now = 1_796_342_400;
        let shanghai: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        // 09:30 in Shanghai is 01:30 UTC.
        assert_eq!(
            parse_send_at("2026-12-04T09:30", shanghai, now),
            Ok(now + 5400)
        );
        assert_eq!(
            parse_send_at("2026-12-04T09:30:00", shanghai, now),
            Ok(now + 5400)
        );
        assert_eq!(
            parse_send_at("2026-12-04T01:30Z", shanghai, now),
            Ok(now + 5400)
        );
        assert_eq!(
            parse_send_at("2026-12-04T02:30+01:00", shanghai, now),
            Ok(now + 5400)
        );
        assert_eq!(
            parse_send_at("2026-12-04T09:30", chrono_tz::UTC, now),
            Ok(now + 9 * 3600 + 1800)
        );
        assert_eq!(
            parse_send_at("2026-12-03T23:00Z", shanghai, now),
            Err(SendAtError::Past)
        );
        assert_eq!(
            parse_send_at("2028-01-01T00:00Z", shanghai, now),
            Err(SendAtError::TooFar)
        );
        assert_eq!(
            parse_send_at("tomorrow", shanghai, now),
            Err(SendAtError::Invalid)
        );
        // 02:30 on 2027-03-14 does not exist in New York (clocks jump from 2:00 to 3:00).
        let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            parse_send_at("2027-03-14T02:30", ny, now),
            Err(SendAtError::Invalid)
        );
    }
}
