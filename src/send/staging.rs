//! The files of a message being written, kept in the database between the posts of its
//! form under the letter's key, so they stay attached without JavaScript and across a
//! refused send. Whatever is kept counts against the size limit as it will be encoded.
//!
//! Rows live in [`crate::store::compose`]; this file decides which to keep.

use std::collections::HashSet;

use super::{Mailer, SendError};
use crate::{
    imap::Account,
    mime::compose::{self as build, Attachment},
    store,
};

/// Bytes for headers and MIME structure when a message's size is estimated.
const OVERHEAD: u64 = 8 * 1024;

/// A file that has just arrived (an upload).
#[derive(Clone, Debug)]
pub struct NewFile {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// What [`Mailer::stage`] kept and refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Staged {
    /// Ids of the files now attached, in the order they were staged.
    pub kept: Vec<String>,
    /// Names of the new files left out because they would pass the size limit.
    pub refused: Vec<String>,
}

impl Mailer {
    /// Keeps the staged files whose ids are in `keep` and deletes the others, then stages
    /// the new files that still fit beside a body of `body_len` bytes.
    pub async fn stage(
        &self,
        user: &str,
        key: &str,
        keep: &[String],
        new: Vec<NewFile>,
        body_len: u64,
    ) -> Result<Staged, SendError> {
        let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
        let mut used = OVERHEAD + body_len;
        let mut out = Staged::default();
        for s in store::compose::staged_list(&self.db, user, key).await? {
            if keep.contains(s.id.as_str()) {
                used += build::encoded_size(s.size.max(0) as u64);
                out.kept.push(s.id);
            } else {
                store::compose::unstage(&self.db, user, key, &s.id).await?;
            }
        }
        for f in new {
            let size = build::encoded_size(f.data.len() as u64);
            if used + size > self.max_message_size {
                out.refused.push(f.filename);
                continue;
            }
            used += size;
            let id =
                store::compose::stage(&self.db, user, key, &f.filename, &f.content_type, &f.data)
                    .await?;
            out.kept.push(id);
        }
        Ok(out)
    }

    /// Stages attachments `parts` (by position) of the draft being edited; returns their
    /// new ids, or `None` when the draft could not be read any more, so its files are lost
    /// (the caller says so rather than send without them).
    pub async fn stage_draft_parts(
        &self,
        account: &Account,
        key: &str,
        draft: Option<&(String, u32)>,
        parts: &[usize],
    ) -> Result<Option<Vec<String>>, SendError> {
        if parts.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let Some((mailbox, uid)) = draft else {
            return Ok(None);
        };
        let draft = match self.original(account, mailbox, *uid).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "the draft's files could not be read");
                return Ok(None);
            }
        };
        let mut ids = Vec::new();
        for (i, a) in draft.attachments.iter().enumerate() {
            if !parts.contains(&i) {
                continue;
            }
            let id = store::compose::stage(
                &self.db,
                &account.username,
                key,
                &a.filename,
                &a.content_type,
                &a.data,
            )
            .await?;
            ids.push(id);
        }
        Ok(Some(ids))
    }

    /// The staged files `ids`, with their bytes, ready to attach.
    pub async fn staged_attachments(
        &self,
        user: &str,
        key: &str,
        ids: &[String],
    ) -> Result<Vec<Attachment>, SendError> {
        Ok(store::compose::staged_load(&self.db, user, key)
            .await?
            .into_iter()
            .filter(|s| ids.contains(&s.info.id))
            .map(|s| Attachment {
                filename: s.info.filename,
                content_type: s.info.content_type,
                data: s.data,
            })
            .collect())
    }
}
