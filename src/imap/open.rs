//! Opening a message for its page: one pipelined round trip on one connection.
//!
//! First round trip: SELECT the folder (or, when this connection has it open read-write
//! already, a NOOP just before, so the folder is not re-opened); FETCH the message's
//! flags; find its neighbours in arrival order (ESEARCH `MAX` below its UID and `MIN`
//! above it, so its sequence number is not needed first). Then, only for an unread
//! message, STORE `\Seen` (a change, which the caches must hear of: `fresh`). Then
//! LIST-STATUS, once the STORE is done, so that the sidebar's unread count already agrees with the message being read
//! (Dovecot may finish pipelined commands out of order), and with it the quota when a
//! folder's content changed since it was last read (`sidebar`). The bytes come from the raw
//! cache, or from one more FETCH the first time (through async-imap, which reads
//! literals of any size). Done as separate operations this was four openings of the
//! folder, each about 4 ms on a 10,000-message Maildir.
//!
//! A read message opened again while the user's watcher vouches that nothing changed
//! (`fresh`) asks the server nothing: its place, the folder list and its bytes are in
//! memory.

use std::sync::Arc;

use async_imap::imap_proto::{AttributeValue, Response};

use super::{
    Account, Folder, Imap, ImapError, MessagePlace, Quota, RawKey,
    command::{Cmd, SeqSet},
    conn::{Conn, Failure},
    messages,
    names::mailbox_wire,
    order::FolderState,
    wire::Reply,
};

/// Read messages' places and `$MDNSent`, by (user, folder wire name, UID), each kept with
/// the generation it was read at (`fresh`).
pub type PlaceCache = super::fresh::Vouched<RawKey, (MessagePlace, bool)>;

/// What the message page needs from the server.
#[derive(Clone, Debug)]
pub struct OpenedMessage {
    /// The whole message.
    pub raw: Arc<Vec<u8>>,
    /// UIDVALIDITY, flags (as they were before it was marked read) and neighbours.
    pub place: MessagePlace,
    /// `$MDNSent`: a read receipt was sent or declined already.
    pub mdn_sent: bool,
    /// The sidebar's folders, listed after the message was marked read.
    pub folders: Vec<Folder>,
    /// The storage quota, checked against that listing (see `sidebar`).
    pub quota: Option<Quota>,
}

impl Imap {
    /// Opens message `uid` of `mailbox` for reading and marks it read (see the module
    /// doc). [`ImapError::NoSuchMessage`] if the UID is not in the folder. A folder the
    /// user may read but not change still opens; the message then stays unread.
    pub async fn open_message(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<OpenedMessage, ImapError> {
        let (this, wire) = (self.clone(), mailbox_wire(mailbox)?);
        let (user, login) = (a.username.clone(), a.login_id.clone());
        // Read before the server is asked (see `fresh`).
        let generation = self.inner.fresh.generation(&a.username, &wire);
        let key = (a.username.clone(), wire.clone(), uid);
        if let Some(opened) = self.vouched_open(&key).await {
            return Ok(opened);
        }
        let opened = self
            .run_in(a, Some(&key.1), async move |c: &mut Conn| {
                this.open_message_on(c, &user, &login, &wire, uid).await
            })
            .await?;
        // The body document asks next whether the message still exists.
        self.inner
            .existing
            .put(key.clone(), generation, opened.place.uidvalidity);
        // Read before it was opened: a message marked read just now is a change, so
        // this generation has ended and nothing is kept.
        if opened.place.seen {
            let value = (opened.place.clone(), opened.mdn_sent);
            self.inner.places.put(key, generation, value);
        }
        Ok(opened)
    }

    /// A message read before, opened again while the user's watcher vouches that nothing
    /// changed since: its place, the folder list and its bytes all come from memory, and
    /// the server is not asked at all.
    async fn vouched_open(&self, key: &RawKey) -> Option<OpenedMessage> {
        let (user, wire, _) = key;
        let (place, mdn_sent) = self.inner.places.get(&self.inner.fresh, user, key)?;
        let (folders, quota) = self.vouched_listing(user, wire)?;
        let (uidvalidity, raw) = self.inner.raw_cache.get(key).await?;
        (uidvalidity == place.uidvalidity).then_some(OpenedMessage {
            raw,
            place,
            mdn_sent,
            folders,
            quota,
        })
    }

    /// [`Imap::open_message`] on one connection.
    async fn open_message_on(
        &self,
        c: &mut Conn,
        user: &str,
        login_id: &str,
        wire: &str,
        uid: u32,
    ) -> Result<OpenedMessage, Failure> {
        let neighbours = self.has(c, "ESEARCH");
        let one = SeqSet::one(uid);
        // Already open read-write on this connection (the list, or the message before this
        // one): a NOOP brings the server up to date instead of re-opening the folder. The
        // folder's size is then unknown, which only the neighbours without ESEARCH need.
        let open = c.open_as(wire, true).filter(|_| neighbours);
        if open.is_some() {
            c.noop().await?;
        }
        let mut commands = Vec::new();
        if open.is_none() {
            commands.push(Cmd::new("SELECT").mailbox(wire));
        }
        // Where the FETCH's reply is: after the SELECT's, if there is one.
        let fetch = commands.len();
        commands.push(Cmd::new("UID FETCH").set(&one).atom("(UID FLAGS)"));
        if neighbours {
            // `n:*` with n past the last UID means the last UID: checked below.
            commands.push(Cmd::new("UID SEARCH RETURN (MAX) UID").range(1, uid.max(2) - 1));
            let after = SeqSet::from(uid.saturating_add(1));
            commands.push(Cmd::new("UID SEARCH RETURN (MIN) UID").set(&after));
        }
        let replies = c.pipeline(&commands).await?;
        let reply = |i: usize| {
            replies
                .get(i)
                .ok_or_else(|| Failure::Lost("missing reply".into()))
        };
        // The commands may finish in any order: FETCH and SELECT data are looked for
        // in every reply (ESEARCH lines carry their command's tag).
        let all = || replies.iter().flat_map(|r| r.lines.iter());
        if let (None, Err(f)) = (open, &reply(0)?.status) {
            return Err(f.clone().no_means(ImapError::NoSuchMailbox));
        }
        let mut state = FolderState::from_select(all());
        match open {
            Some(uidvalidity) => state.uidvalidity = uidvalidity,
            None => c.note_selected(wire, true, state.uidvalidity),
        }
        let (seq, flags) = flags_of(all(), uid).ok_or(Failure::Fail(ImapError::NoSuchMessage))?;
        let was_seen = flags.iter().any(|f| f.eq_ignore_ascii_case("\\seen"));
        if !was_seen {
            // Only when it changes something: a STORE counts as a change for the caches
            // (`fresh`), and most messages opened were read before.
            let store = Cmd::new("UID STORE")
                .set(&one)
                .atom("+FLAGS.SILENT (\\Seen)");
            match c.command(&store, |_| {}).await {
                Ok(()) => {}
                // No right to change flags here (a folder shared read-only): still readable.
                Err(f) if f.connection_ok() => {
                    tracing::debug!(error = ?f, "IMAP: could not mark a message read");
                }
                Err(f) => return Err(f),
            }
        }
        let mut place = MessagePlace {
            uidvalidity: state.uidvalidity,
            ..MessagePlace::default()
        };
        let mut mdn_sent = false;
        place.labels = super::labels::labels_in(flags.iter().map(String::as_str));
        for flag in &flags {
            match flag.to_ascii_lowercase().as_str() {
                "\\seen" => place.seen = true,
                "\\flagged" => place.flagged = true,
                "$mdnsent" => mdn_sent = true,
                _ => {}
            }
        }
        if neighbours {
            let below = esearch_of(reply(fetch + 1)?).and_then(|e| e.max);
            let above = esearch_of(reply(fetch + 2)?).and_then(|e| e.min);
            place.older = below.filter(|&u| u < uid);
            place.newer = above.filter(|&u| u > uid);
        } else {
            (place.older, place.newer) = neighbours_by_seq(c, seq, state.exists).await?;
        }
        // The folder list with its counts: the list page's sidebar while the user's
        // watcher vouches that nothing changed since (never after the STORE above: that
        // is a change), else asked for.
        let vouched = was_seen.then(|| self.vouched_listing(user, wire)).flatten();
        let (folders, quota) = match vouched {
            Some(listing) => listing,
            None => {
                // Read before the server is asked; none after our own STORE, which is a
                // change the generation does not know of until this operation ends.
                let generation = was_seen.then(|| self.inner.fresh.current(user)).flatten();
                let listing = self.list_on(c).await?;
                let quota = self.quota_on(c, login_id, listing.stamp).await?;
                self.remember_listing(user, generation, &listing.folders, quota);
                (listing.folders, quota)
            }
        };

        let key: RawKey = (user.to_owned(), wire.to_owned(), uid);
        let raw = match self.inner.raw_cache.get(&key).await {
            Some((v, bytes)) if v == state.uidvalidity => bytes,
            other => {
                if other.is_some() {
                    self.inner.raw_cache.invalidate(&key).await;
                }
                self.cached_body(c, key, state.uidvalidity).await?
            }
        };
        Ok(OpenedMessage {
            raw,
            place,
            mdn_sent,
            folders,
            quota,
        })
    }
}

/// The sequence number and flags of `uid` in FETCH responses read raw.
fn flags_of<'a>(
    lines: impl IntoIterator<Item = &'a Vec<u8>>,
    uid: u32,
) -> Option<(u32, Vec<String>)> {
    lines.into_iter().find_map(|line| {
        let Ok((_, Response::Fetch(seq, attrs))) = Response::parse(line) else {
            return None;
        };
        if !attrs
            .iter()
            .any(|a| matches!(a, AttributeValue::Uid(u) if *u == uid))
        {
            return None;
        }
        let flags = attrs.iter().find_map(|a| match a {
            AttributeValue::Flags(f) => Some(f.iter().map(|x| x.to_string()).collect()),
            _ => None,
        });
        Some((seq, flags.unwrap_or_default()))
    })
}

/// The ESEARCH answer in a reply read raw.
fn esearch_of(reply: &Reply) -> Option<messages::Esearch> {
    reply
        .lines
        .iter()
        .find_map(|l| messages::parse_esearch(l, 0))
}

/// Without ESEARCH: the UIDs of sequence numbers `seq - 1` and `seq + 1` (arrival order),
/// as (older, newer).
async fn neighbours_by_seq(
    c: &mut Conn,
    seq: u32,
    exists: u32,
) -> Result<(Option<u32>, Option<u32>), Failure> {
    let wanted = neighbour_seqs(seq, exists);
    if wanted.as_str().is_empty() {
        return Ok((None, None));
    }
    let near = c.fetch(&wanted, "(UID)").await?;
    let uid_at = |n: u32| near.iter().find(|f| f.message == n).and_then(|f| f.uid);
    Ok((seq.checked_sub(1).and_then(uid_at), uid_at(seq + 1)))
}

/// The sequence set of message `n`'s neighbours in a folder of `exists` messages.
fn neighbour_seqs(n: u32, exists: u32) -> SeqSet {
    let mut parts = Vec::new();
    if n > 1 {
        parts.push(n - 1);
    }
    if n < exists {
        parts.push(n + 1);
    }
    SeqSet::list(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours() {
        assert_eq!(neighbour_seqs(1, 1).as_str(), "");
        assert_eq!(neighbour_seqs(1, 3).as_str(), "2");
        assert_eq!(neighbour_seqs(2, 3).as_str(), "1,3");
        assert_eq!(neighbour_seqs(3, 3).as_str(), "2");
    }

    #[test]
    fn flags_and_sequence_number_from_a_raw_fetch() {
        let lines = vec![
            b"* OK [UIDNEXT 10] Predicted next UID\r\n".to_vec(),
            b"* 3 FETCH (UID 7 FLAGS (\\Seen $MDNSent))\r\n".to_vec(),
            b"* 4 FETCH (UID 9 FLAGS ())\r\n".to_vec(),
        ];
        assert_eq!(
            flags_of(&lines, 7),
            Some((3, vec!["\\Seen".to_owned(), "$MDNSent".to_owned()]))
        );
        assert_eq!(flags_of(&lines, 9), Some((4, vec![])));
        assert_eq!(flags_of(&lines, 8), None);
    }
}
