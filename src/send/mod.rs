//! Sending mail, apart from HTTP: what a send *is*, so that the compose form and a
//! background worker (send later, undo send) go through the same steps.
//!
//! A send is a [`Letter`] (the built-up [`Outgoing`] message plus what surrounds it: its
//! idempotency key, the draft it replaces, whether to ask for DSN) from an [`Account`]:
//!
//! 1. [`Mailer::claim`] takes the key in the database first, so a double click, a reload
//!    or a second instance sends it once; the [`Ticket`] proves the claim.
//! 2. [`Mailer::deliver`] builds the Drafts and Sent copies and refuses what must not go
//!    out ([`Refusal`]: no recipient, a control character, over the size limit), then
//!    hands the Sent copy to the submission server.
//! 3. Sent: the claim is marked, the Sent copy APPENDed, the original flagged
//!    (`\Answered` or `$Forwarded`), the replaced draft deleted (only a real draft: in
//!    Drafts, with `\Draft`), the recipients collected as contacts, the staged files
//!    dropped. A failure after SMTP accepted the message is logged, never reported as
//!    "not sent".
//! 4. Not sent: the message is saved to Drafts (replacing the previous draft) and the
//!    SMTP reason comes back with it; the claim is released so it can be sent again.
//!
//! [`Mailer::save_draft`] is the "save as draft" button; [`Mailer::send_receipt`] sends a
//! read receipt under the same claim rules; [`staging`] keeps a form's files between its
//! posts. Nothing here knows axum, askama, sessions or the catalog: reasons come back
//! typed, and the caller words them.

pub mod outbox;
pub mod staging;

use crate::{
    config::{Config, Endpoint},
    imap::{Account, Appended, Imap, ImapError, MessageFlag, SpecialUse},
    mime::{
        MimeError,
        compose::{self as build, ComposeError, Copy, Mdn, Original, Outgoing},
    },
    model::Address,
    smtp::{DsnRequest, Envelope, Smtp, SmtpError},
    store::{self, Db, compose::Claim},
};

/// Everything a send needs, without HTTP: the IMAP client, the database, the submission
/// server and the size limit. Cheap to clone (the IMAP client and the pool are shared).
#[derive(Clone)]
pub struct Mailer {
    imap: Imap,
    db: Db,
    smtp: Endpoint,
    max_message_size: u64,
}

/// What a send goes wrong with beyond the mail itself: the database, or the IMAP server
/// while reading an original. SMTP failures are not errors but an [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("the message could not be built: {0}")]
    Build(#[from] ComposeError),
    #[error("the original message could not be read: {0}")]
    Original(#[from] MimeError),
    /// `deliver` was given a ticket for another key or user: a caller's bug.
    #[error("the send was not claimed")]
    Unclaimed,
}

/// A message to send, with what surrounds it. Serializable: the outbox keeps it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    /// The idempotency key (the compose form's id; a worker's queue row). Its files are
    /// staged under it too, and it is the DSN envelope id.
    pub key: String,
    pub message: Outgoing,
    /// Ask for delivery status notifications (RFC 3461), when the server offers them.
    pub request_dsn: bool,
    /// The draft this message replaces (`mailbox`, `uid`): deleted once the message is
    /// sent or saved again, if the server says it is a draft.
    pub replaces: Option<(String, u32)>,
    /// Where a repeat of this send is pointed (kept with the claim; a page for the web).
    pub return_to: String,
}

/// Proof that this caller owns the send of one key: from [`Mailer::claim`], used up by
/// [`Mailer::deliver`] or [`Ticket::release`].
#[must_use = "a claim not delivered must be released, or the message cannot be sent again"]
#[derive(Debug)]
pub struct Ticket {
    user: String,
    key: String,
}

/// What claiming a send found.
#[derive(Debug)]
pub enum Claimed {
    /// This caller sends it.
    Won(Ticket),
    /// Someone sent it already (or is sending it); where they went afterwards.
    AlreadySent { return_to: String },
}

/// Why a message was refused before anything went out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No To, Cc or Bcc.
    NoRecipients,
    /// A control character in a single-line field (header injection); names the field
    /// (`from`, `to`, `cc`, `bcc`, `subject`, `body`, …).
    ControlChar(&'static str),
    /// The built message is larger than the limit (bytes).
    TooLarge { limit: u64 },
}

/// A successful send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// DSN was asked for and the server took the parameters.
    pub dsn: bool,
    /// Where the Sent copy went (`None`: it could not be stored; the message went out).
    pub sent_copy: Option<Appended>,
}

/// What [`Mailer::deliver`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The submission server took it.
    Sent(Delivered),
    /// Not sent; kept in Drafts (where, for editing it again).
    SavedAsDraft { reason: SmtpError, draft: Appended },
    /// Not sent, and the Drafts copy failed too: only the caller still holds it.
    NotSaved {
        reason: SmtpError,
        draft_error: ImapError,
    },
    /// Refused before anything went out.
    Refused(Vec<Refusal>),
    /// Not sent, and (as asked, by [`Mailer::deliver_or_keep`]) not saved either: the
    /// caller keeps it to try again.
    Deferred { reason: SmtpError },
}

/// What [`Mailer::save_draft`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drafted {
    Saved(Appended),
    Failed(ImapError),
    Refused(Vec<Refusal>),
}

/// What [`Mailer::send_receipt`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptSent {
    Sent,
    NotSent(SmtpError),
}

/// Whether a message answers or forwards another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginKind {
    Reply,
    Forward,
}

/// The message a reply or forward comes from: `reply INBOX/42` in the form and in the
/// draft's `X-Mailroom-Origin` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub kind: OriginKind,
    pub mailbox: String,
    pub uid: u32,
}

impl Origin {
    /// Reads `reply INBOX/5` or `forward Archive/2024/7`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Origin> {
        let (kind, r) = s.split_once(' ')?;
        let kind = match kind {
            "reply" => OriginKind::Reply,
            "forward" => OriginKind::Forward,
            _ => return None,
        };
        let (mailbox, uid) = build::parse_message_ref(r)?;
        Some(Origin { kind, mailbox, uid })
    }

    /// The flag a successful send sets on the original.
    fn flag(&self) -> MessageFlag {
        match self.kind {
            OriginKind::Reply => MessageFlag::Answered,
            OriginKind::Forward => MessageFlag::Forwarded,
        }
    }
}

impl Mailer {
    pub fn new(imap: Imap, db: Db, smtp: Endpoint, max_message_size: u64) -> Mailer {
        Mailer {
            imap,
            db,
            smtp,
            max_message_size,
        }
    }

    /// A mailer with the configured submission server and size limit.
    pub fn from_config(imap: Imap, db: Db, config: &Config) -> Mailer {
        Mailer::new(imap, db, config.smtp.clone(), config.max_message_size)
    }

    /// The largest message accepted, in bytes.
    pub fn max_message_size(&self) -> u64 {
        self.max_message_size
    }

    /// Claims the send of `key` for `user`. Exactly one concurrent caller (across
    /// instances sharing the database) wins.
    pub async fn claim(&self, user: &str, key: &str) -> Result<Claimed, SendError> {
        Ok(
            match store::compose::claim_send(&self.db, user, key).await? {
                Claim::Won => Claimed::Won(Ticket {
                    user: user.to_owned(),
                    key: key.to_owned(),
                }),
                Claim::AlreadySent(return_to) => Claimed::AlreadySent { return_to },
            },
        )
    }

    /// Sends a claimed letter; see the module comment for every step. The claim is
    /// released unless the message went out.
    pub async fn deliver(
        &self,
        account: &Account,
        ticket: Ticket,
        letter: &Letter,
    ) -> Result<Outcome, SendError> {
        self.deliver_with(account, ticket, letter, true).await
    }

    /// As [`Mailer::deliver`], but a message the submission server does not take is not
    /// saved to Drafts: [`Outcome::Deferred`], for the outbox, which tries again later.
    pub async fn deliver_or_keep(
        &self,
        account: &Account,
        ticket: Ticket,
        letter: &Letter,
    ) -> Result<Outcome, SendError> {
        self.deliver_with(account, ticket, letter, false).await
    }

    /// Checks the ticket, delivers, counts the outcome and releases the claim unless the
    /// message went out.
    async fn deliver_with(
        &self,
        account: &Account,
        ticket: Ticket,
        letter: &Letter,
        to_drafts: bool,
    ) -> Result<Outcome, SendError> {
        if ticket.key != letter.key || ticket.user != account.username {
            ticket.release(self).await?;
            return Err(SendError::Unclaimed);
        }
        let outcome = self.deliver_claimed(account, letter, to_drafts).await;
        crate::metrics::send(match &outcome {
            Ok(Outcome::Sent(_)) => "sent",
            Ok(Outcome::SavedAsDraft { .. }) => "draft",
            Ok(Outcome::Refused(_)) => "refused",
            Ok(Outcome::Deferred { .. }) => "deferred",
            Ok(Outcome::NotSaved { .. }) | Err(_) => "failed",
        });
        if !matches!(outcome, Ok(Outcome::Sent(_))) {
            // Nothing went out: the same message may be sent again.
            ticket.release(self).await?;
        }
        outcome
    }

    async fn deliver_claimed(
        &self,
        account: &Account,
        letter: &Letter,
        to_drafts: bool,
    ) -> Result<Outcome, SendError> {
        let user = account.username.as_str();
        let m = &letter.message;
        let recipients = recipients(m);
        if recipients.is_empty() {
            return Ok(Outcome::Refused(vec![Refusal::NoRecipients]));
        }
        let draft = match self.draft_copy(m) {
            Ok(d) => d,
            Err(reasons) => return Ok(Outcome::Refused(reasons)),
        };
        let sent_bytes = build::build(m, Copy::Sent)?;
        let envelope = Envelope {
            from: Some(m.from.email.clone()),
            to: recipients.iter().map(|a| a.email.clone()).collect(),
            dsn: letter.request_dsn.then(|| DsnRequest {
                envid: letter.key.clone(),
            }),
        };
        let reason = match self.submit(account, &envelope, &sent_bytes).await {
            Ok(sent) => {
                tracing::info!(
                    user,
                    recipients = recipients.len(),
                    dsn = sent.dsn,
                    "message sent"
                );
                let sent_copy = self
                    .after_sending(account, letter, &recipients, &sent_bytes)
                    .await;
                return Ok(Outcome::Sent(Delivered {
                    dsn: sent.dsn,
                    sent_copy,
                }));
            }
            Err(e) => e,
        };
        if !to_drafts {
            tracing::info!(user, error = %reason, "send failed; kept to try again");
            return Ok(Outcome::Deferred { reason });
        }
        tracing::warn!(user, error = %reason, "send failed; saving to Drafts");
        Ok(match self.store_draft(account, letter, &draft).await {
            Ok(draft) => Outcome::SavedAsDraft { reason, draft },
            Err(draft_error) => {
                tracing::warn!(error = %draft_error, "the draft could not be saved either");
                Outcome::NotSaved {
                    reason,
                    draft_error,
                }
            }
        })
    }

    /// Everything after the submission server took the message. Nothing here may turn a
    /// sent message into "not sent", so failures are logged. Returns the Sent copy.
    async fn after_sending(
        &self,
        account: &Account,
        letter: &Letter,
        recipients: &[Address],
        sent_bytes: &[u8],
    ) -> Option<Appended> {
        let user = account.username.as_str();
        let m = &letter.message;
        if let Err(e) =
            store::compose::mark_sent(&self.db, user, &letter.key, &letter.return_to).await
        {
            tracing::warn!(error = %e, "sent, but the claim could not be marked");
        }
        let sent_copy = match self
            .imap
            .append_special(account, SpecialUse::Sent, sent_bytes, Some(&m.message_id))
            .await
        {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "sent, but the Sent copy failed");
                None
            }
        };
        if let Some(o) = m.origin.as_deref().and_then(Origin::parse)
            && let Err(e) = self
                .imap
                .add_flag(account, &o.mailbox, o.uid, o.flag())
                .await
        {
            tracing::info!(error = %e, "could not flag the original");
        }
        if let Some((mailbox, uid)) = &letter.replaces {
            self.remove_draft(account, mailbox, *uid).await;
        }
        if let Err(e) = store::contacts::collect(&self.db, user, recipients).await {
            tracing::warn!(error = %e, "collecting contacts failed");
        }
        if let Err(e) = store::compose::unstage_all(&self.db, user, &letter.key).await {
            tracing::warn!(error = %e, "sent, but its staged files stay until the sweep");
        }
        sent_copy
    }

    /// Saves `letter` to Drafts, replacing the draft it came from, and drops its staged
    /// files (the draft holds them now).
    pub async fn save_draft(
        &self,
        account: &Account,
        letter: &Letter,
    ) -> Result<Drafted, SendError> {
        let draft = match self.draft_copy(&letter.message) {
            Ok(d) => d,
            Err(reasons) => return Ok(Drafted::Refused(reasons)),
        };
        match self.store_draft(account, letter, &draft).await {
            Ok(appended) => {
                store::compose::unstage_all(&self.db, &account.username, &letter.key).await?;
                Ok(Drafted::Saved(appended))
            }
            Err(e) => {
                tracing::warn!(error = %e, "saving the draft failed");
                Ok(Drafted::Failed(e))
            }
        }
    }

    /// Sends a read receipt (built by the caller, whose language it speaks) under a
    /// claimed key, with the null return path of RFC 8098 §3; releases the claim when it
    /// does not go out.
    pub async fn send_receipt(
        &self,
        account: &Account,
        ticket: Ticket,
        mdn: &Mdn,
        return_to: &str,
    ) -> Result<ReceiptSent, SendError> {
        let bytes = match build::build_mdn(mdn) {
            Ok(b) => b,
            Err(e) => {
                ticket.release(self).await?;
                return Err(e.into());
            }
        };
        let envelope = Envelope {
            from: None,
            to: vec![mdn.to.email.clone()],
            dsn: None,
        };
        if let Err(e) = self.submit(account, &envelope, &bytes).await {
            tracing::warn!(error = %e, "read receipt not sent");
            ticket.release(self).await?;
            return Ok(ReceiptSent::NotSent(e));
        }
        store::compose::mark_sent(&self.db, &ticket.user, &ticket.key, return_to).await?;
        tracing::info!(user = %account.username, "read receipt sent");
        Ok(ReceiptSent::Sent)
    }

    /// Reads the message a reply, forward or draft starts from.
    pub async fn original(
        &self,
        account: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<Original, SendError> {
        let raw = self.imap.fetch_raw(account, mailbox, uid).await?;
        Ok(build::read_original(&raw)?)
    }

    /// The Drafts copy (the larger one: it keeps Bcc), once the message passes the
    /// checks: no control character in a header field, not over the size limit.
    fn draft_copy(&self, m: &Outgoing) -> Result<Vec<u8>, Vec<Refusal>> {
        let draft = match build::build(m, Copy::Draft) {
            Ok(b) => b,
            Err(ComposeError::ControlChar(field)) => {
                return Err(vec![Refusal::ControlChar(field)]);
            }
        };
        if draft.len() as u64 > self.max_message_size {
            return Err(vec![Refusal::TooLarge {
                limit: self.max_message_size,
            }]);
        }
        Ok(draft)
    }

    /// One SMTP submission as the account's user.
    async fn submit(
        &self,
        account: &Account,
        envelope: &Envelope,
        bytes: &[u8],
    ) -> Result<crate::smtp::Sent, SmtpError> {
        let endpoint = match &account.server {
            Some(server) => &server.smtp,
            None => &self.smtp,
        };
        Smtp::new(endpoint)?
            .send(account.login_name(), &account.password, envelope, bytes)
            .await
    }

    /// APPENDs the Drafts copy and deletes the draft it replaces (unless that is the one
    /// just written).
    async fn store_draft(
        &self,
        account: &Account,
        letter: &Letter,
        draft: &[u8],
    ) -> Result<Appended, ImapError> {
        let appended = self
            .imap
            .append_special(
                account,
                SpecialUse::Drafts,
                draft,
                Some(&letter.message.message_id),
            )
            .await?;
        if let Some((mailbox, uid)) = &letter.replaces
            && !(*mailbox == appended.mailbox && Some(*uid) == appended.uid)
        {
            self.remove_draft(account, mailbox, *uid).await;
        }
        Ok(appended)
    }

    /// Removes the draft a letter names, if it is a real draft (the server checks: see
    /// [`Imap::delete_draft`]); anything else it names stays.
    async fn remove_draft(&self, account: &Account, mailbox: &str, uid: u32) {
        match self.imap.delete_draft(account, mailbox, uid).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                user = %account.username,
                "the letter named a message that is not a draft; left in place"
            ),
            Err(e) => tracing::warn!(error = %e, "could not delete the previous draft"),
        }
    }
}

/// Everyone the message goes to: To, Cc and Bcc, in that order.
fn recipients(m: &Outgoing) -> Vec<Address> {
    m.to.iter().chain(&m.cc).chain(&m.bcc).cloned().collect()
}

impl Ticket {
    /// Gives the claim back without sending, so the message can be sent later.
    pub async fn release(self, mailer: &Mailer) -> Result<(), SendError> {
        store::compose::release_claim(&mailer.db, &self.user, &self.key).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
