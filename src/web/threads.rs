//! The "Conversation" list of the message page: the other messages of the same thread,
//! from the message's folder and from Sent (the user's own replies). Finding them is
//! `imap::threads`; this only turns them into rows.
//!
//! The list is an extra: if looking it up fails, the message page still shows, without
//! it (the failure is logged).

use crate::{
    app::AppState,
    i18n::Tr,
    imap::{Account, Folder, SpecialUse, ThreadIds},
    web::{format, layout::folder_label, message_href},
};

/// One other message of the conversation.
pub struct ConversationRow {
    /// Link to it.
    pub href: String,
    /// Its sender.
    pub from: String,
    /// Its subject.
    pub subject: String,
    /// Short date, in the reader's zone.
    pub date: String,
    /// The full date, offset and zone, for the tooltip.
    pub date_title: String,
    /// The folder it is in, e.g. "in Sent".
    pub folder: String,
    /// Already read.
    pub seen: bool,
}

/// The other messages of `uid`'s conversation (oldest first); empty when there are none
/// or they could not be looked up. `raw` is the message, `folders` the sidebar's list
/// (to find Sent and name folders).
pub async fn conversation(
    state: &AppState,
    account: &Account,
    mailbox: &str,
    uid: u32,
    raw: &[u8],
    folders: &[Folder],
    tr: Tr,
) -> Vec<ConversationRow> {
    let ids = ThreadIds::from_message(raw);
    if ids.all().is_empty() {
        return Vec::new();
    }
    let sent = folders
        .iter()
        .find(|f| f.special == Some(SpecialUse::Sent))
        .map(|f| f.name.as_str());
    let related = match state
        .imap
        .conversation(account, mailbox, uid, &ids, sent)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "conversation lookup failed; showing the message without it");
            return Vec::new();
        }
    };
    let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
    let now = chrono::Utc::now().with_timezone(&zone);
    related
        .into_iter()
        .map(|r| {
            let m = &r.summary;
            ConversationRow {
                href: message_href(&r.mailbox, m.uid),
                from: format::sender(tr, m.from.as_ref()),
                subject: format::subject(tr, &m.subject),
                date: format::list_date(tr, m.date, now),
                date_title: format::exact_date(m.date, zone),
                folder: tr.tf(
                    "threads.in_folder",
                    &[(
                        "folder",
                        (folders
                            .iter()
                            .find(|f| f.name == r.mailbox)
                            .map(|f| folder_label(tr, f))
                            .unwrap_or(r.mailbox))
                        .into(),
                    )],
                ),
                seen: m.seen,
            }
        })
        .collect()
}
