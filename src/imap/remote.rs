//! What fetching from another mailbox (`crate::fetch`) needs from IMAP, on both ends: on
//! the remote server (an [`Account`] whose `server` names it), the INBOX's UIDs and sizes,
//! one message at a time, and deleting fetched ones; on the user's own server, APPEND into
//! the folder they chose.
//!
//! Remote messages never go through the raw-message cache: its key is a login name, and a
//! remote login may equal a local one.

use futures::TryStreamExt;

use super::{
    Account, Imap, ImapError,
    command::{Cmd, SeqSet},
    compose::append_on,
    conn::{Conn, Failure},
    names::mailbox_wire,
};

/// A remote INBOX: its UIDVALIDITY and each message's UID and size, by ascending UID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteListing {
    pub uidvalidity: u32,
    pub messages: Vec<(u32, u64)>,
}

impl Imap {
    /// The remote INBOX's UIDVALIDITY, UIDs and sizes (EXAMINE: nothing changes there).
    pub async fn remote_inbox(&self, a: &Account) -> Result<RemoteListing, ImapError> {
        self.run(a, async move |c: &mut Conn| {
            let mbox = c.examine("INBOX").await?;
            let mut messages = Vec::with_capacity(mbox.exists.min(100_000) as usize);
            if mbox.exists > 0 {
                let mut stream = c
                    .uid_fetch_stream(&SeqSet::all(), "(UID RFC822.SIZE)")
                    .await?;
                while let Some(f) = stream.try_next().await? {
                    if let Some(uid) = f.uid {
                        messages.push((uid, u64::from(f.size.unwrap_or(0))));
                    }
                }
            }
            messages.sort_unstable();
            messages.dedup_by_key(|m| m.0);
            Ok(RemoteListing {
                uidvalidity: mbox.uid_validity.unwrap_or(0),
                messages,
            })
        })
        .await
    }

    /// One remote INBOX message, with BODY.PEEK[] (it stays unread there), if it is still
    /// there under the same UIDVALIDITY.
    pub async fn remote_message(
        &self,
        a: &Account,
        uidvalidity: u32,
        uid: u32,
    ) -> Result<Vec<u8>, ImapError> {
        self.run(a, async move |c: &mut Conn| {
            let mbox = c.examine("INBOX").await?;
            if mbox.uid_validity.unwrap_or(0) != uidvalidity {
                return Err(Failure::Fail(ImapError::NoSuchMessage));
            }
            let fetched = c.uid_fetch(&SeqSet::one(uid), "(UID BODY.PEEK[])").await?;
            fetched
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
                .map(<[u8]>::to_vec)
                .ok_or(Failure::Fail(ImapError::NoSuchMessage))
        })
        .await
    }

    /// Deletes these remote INBOX messages for good (`\Deleted`, then `UID EXPUNGE` of
    /// just them; without UIDPLUS they stay flagged rather than expunging anything else).
    pub async fn remote_delete(
        &self,
        a: &Account,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = SeqSet::list(uids);
        let this = self.clone();
        self.run(a, async move |c: &mut Conn| {
            let mbox = c.select("INBOX").await?;
            if mbox.uid_validity.unwrap_or(0) != uidvalidity {
                return Err(Failure::Fail(ImapError::NoSuchMessage));
            }
            let store = Cmd::new("UID STORE")
                .set(&set)
                .atom("+FLAGS.SILENT (\\Deleted)");
            c.command(&store, |_| {}).await?;
            if this.has(c, "UIDPLUS") {
                c.command(&Cmd::new("UID EXPUNGE").set(&set), |_| {})
                    .await?;
            }
            Ok(())
        })
        .await
    }

    /// APPENDs a fetched message, unread, to the user's folder `mailbox`
    /// ([`ImapError::NoSuchMailbox`] if it is gone). Like every operation, it is tried
    /// again once on a lost connection, so a connection lost right after the server took
    /// the message can store it twice; never zero times.
    pub async fn append_fetched(
        &self,
        a: &Account,
        mailbox: &str,
        message: &[u8],
    ) -> Result<(), ImapError> {
        let wire = mailbox_wire(mailbox)?;
        let message = message.to_vec();
        self.run(a, async move |c: &mut Conn| {
            match append_on(c, &wire, "()", &message).await {
                Ok(_) => Ok(()),
                // RFC 3501: [TRYCREATE] is the folder missing; other NOs (over quota…)
                // keep their text.
                Err(Failure::Rejected { bad: false, text }) if text.contains("TRYCREATE") => {
                    Err(Failure::Fail(ImapError::NoSuchMailbox))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }
}
