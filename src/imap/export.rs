//! Exporting a whole folder as one mbox file, streamed.
//!
//! A folder may hold gigabytes, so it is never loaded whole: [`Imap::export_mbox`]
//! first lists the folder's UIDs and sizes (numbers only), then the returned stream
//! fetches the messages in chunks of at most [`CHUNK_MESSAGES`] messages and
//! [`CHUNK_BYTES`] bytes, each chunk in its own pooled-connection operation, and hands
//! each chunk on as mbox bytes before fetching the next. Memory stays around one chunk,
//! and a slow download never holds an IMAP operation open for long (each chunk is
//! collected, the connection released, then the bytes are sent).
//!
//! The format is mboxrd: each message starts with a `From ` line carrying its
//! INTERNALDATE, lines that match `>*From ` get one more `>` (so the quoting is
//! reversible), CRLF becomes LF as Unix mbox readers expect, and a blank line follows
//! every message. The pure formatting is [`mbox_entry`], unit-tested below.
//!
//! Messages expunged while the export runs are skipped; if the folder is renumbered
//! (UIDVALIDITY changes) the stream ends with an error rather than mixing up messages.

use std::collections::VecDeque;

use async_imap::types::Fetch;
use chrono::{DateTime, FixedOffset, Utc};
use futures::{Stream, TryStreamExt};

use super::{
    Account, Imap, ImapError,
    command::SeqSet,
    conn::{Conn, Failure},
    names::mailbox_wire,
};

/// Most messages fetched in one chunk.
pub const CHUNK_MESSAGES: usize = 200;
/// Most bytes (by RFC822.SIZE) fetched in one chunk; a bigger message goes alone.
pub const CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// What the stream still has to fetch.
struct Export {
    imap: Imap,
    account: Account,
    wire: String,
    uidvalidity: Option<u32>,
    chunks: VecDeque<Vec<u32>>,
    failed: bool,
}

impl Imap {
    /// Streams folder `mailbox` as an mbox file. The folder is checked (and its UIDs
    /// listed) before this returns, so a missing folder is an error here, not a broken
    /// download; later failures end the stream with an error.
    pub async fn export_mbox(
        &self,
        a: &Account,
        mailbox: &str,
    ) -> Result<impl Stream<Item = Result<Vec<u8>, ImapError>> + Send + 'static, ImapError> {
        let wire = mailbox_wire(mailbox)?;
        let w = wire.clone();
        let (uidvalidity, sizes) = self
            .run(a, async move |c: &mut Conn| {
                let mbox = c.examine(&w).await?;
                let mut sizes = Vec::with_capacity(mbox.exists as usize);
                if mbox.exists > 0 {
                    let mut stream = c
                        .uid_fetch_stream(&SeqSet::all(), "(UID RFC822.SIZE)")
                        .await?;
                    while let Some(f) = stream.try_next().await? {
                        if let Some(uid) = f.uid {
                            sizes.push((uid, u64::from(f.size.unwrap_or(0))));
                        }
                    }
                }
                Ok((mbox.uid_validity, sizes))
            })
            .await?;
        let state = Export {
            imap: self.clone(),
            account: a.clone(),
            wire,
            uidvalidity,
            chunks: plan_chunks(sizes, CHUNK_MESSAGES, CHUNK_BYTES).into(),
            failed: false,
        };
        Ok(futures::stream::unfold(state, |mut st| async move {
            if st.failed {
                return None;
            }
            let uids = st.chunks.pop_front()?;
            let (wire, validity) = (st.wire.clone(), st.uidvalidity);
            let result = st
                .imap
                .run(&st.account, async move |c: &mut Conn| {
                    fetch_chunk(c, &wire, validity, &uids).await
                })
                .await;
            st.failed = result.is_err();
            Some((result, st))
        }))
    }
}

/// EXAMINE (checking UIDVALIDITY), then one UID FETCH of the chunk, formatted as mbox.
async fn fetch_chunk(
    c: &mut Conn,
    wire: &str,
    validity: Option<u32>,
    uids: &[u32],
) -> Result<Vec<u8>, Failure> {
    let mbox = c.examine(wire).await?;
    if validity.is_some() && mbox.uid_validity != validity {
        return Err(Failure::Fail(ImapError::Protocol(
            "the folder was renumbered during the export".into(),
        )));
    }
    let mut out = Vec::new();
    let mut stream = c
        .uid_fetch_stream(&SeqSet::list(uids), "(UID INTERNALDATE BODY.PEEK[])")
        .await?;
    // Responses come in the server's order (ascending UIDs for Dovecot); an mbox has no
    // required order, and a folder's own order is by UID anyway.
    while let Some(f) = stream.try_next().await? {
        append(&mut out, &f);
    }
    Ok(out)
}

/// Formats one fetched message, if it carries a body.
fn append(out: &mut Vec<u8>, f: &Fetch) {
    if let Some(body) = f.body() {
        mbox_entry(out, body, f.internal_date());
    }
}

/// Splits `(uid, size)` pairs into chunks of at most `max_count` messages and
/// `max_bytes` bytes (a message bigger than that forms a chunk of its own).
pub fn plan_chunks(sizes: Vec<(u32, u64)>, max_count: usize, max_bytes: u64) -> Vec<Vec<u32>> {
    let mut chunks = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0u64;
    for (uid, size) in sizes {
        if !cur.is_empty() && (cur.len() >= max_count || bytes + size > max_bytes) {
            chunks.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes += size;
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// Appends one message in mboxrd form: `From ` line, the message with CRLF turned into
/// LF and `>*From ` lines quoted with one more `>`, and a blank line.
pub fn mbox_entry(out: &mut Vec<u8>, raw: &[u8], date: Option<DateTime<FixedOffset>>) {
    let date = date
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    // asctime() form, as every mbox reader expects.
    out.extend_from_slice(
        format!(
            "From MAILER-DAEMON {}\n",
            date.format("%a %b %e %H:%M:%S %Y")
        )
        .as_bytes(),
    );
    let mut rest = raw;
    while !rest.is_empty() {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let unquoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
        if line[unquoted..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
        rest = next;
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mboxrd_quoting_and_line_endings() {
        let mut out = Vec::new();
        let date = DateTime::parse_from_rfc2822("Tue, 2 Jun 2026 09:05:00 +0200").ok();
        mbox_entry(
            &mut out,
            b"Subject: x\r\n\r\nFrom here\r\n>From there\r\n>>From afar\r\n From not\r\nend",
            date,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From MAILER-DAEMON Tue Jun  2 07:05:00 2026\nSubject: x\n\n>From here\n\
             >>From there\n>>>From afar\n From not\nend\n\n"
        );
    }

    #[test]
    fn missing_date_and_empty_message() {
        let mut out = Vec::new();
        mbox_entry(&mut out, b"", None);
        assert_eq!(out, b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n\n");
    }

    #[test]
    fn chunks_by_count_and_bytes() {
        let sizes: Vec<(u32, u64)> = (1..=5).map(|u| (u, 10)).collect();
        assert_eq!(
            plan_chunks(sizes.clone(), 2, 1000),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(
            plan_chunks(sizes, 10, 25),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        // A message bigger than the byte bound goes alone.
        assert_eq!(
            plan_chunks(vec![(1, 5), (2, 100), (3, 5)], 10, 50),
            vec![vec![1], vec![2], vec![3]]
        );
        assert!(plan_chunks(Vec::new(), 10, 50).is_empty());
    }
}
