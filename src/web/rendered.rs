//! The body documents the message page rendered, kept briefly for the page's iframe.
//!
//! The message page has to parse and sanitize the body anyway (it shows which inline
//! images the body used and whether remote content was blocked), and its iframe asks for
//! the same body a moment later. Keeping the finished document saves the iframe request a
//! fetch, a parse and a sanitize. What is kept is bounded (32 MB, ten minutes unused) and
//! keyed by everything the document depends on: user, folder, UIDVALIDITY and UID, whether
//! remote content was asked for, and the reader's language (its notices). The sender's
//! trust may change in between: an entry remembers whether the sender was listed, and is
//! only used while that is still so. Whether the message still exists is checked with the
//! mail server before an entry is served ([`crate::imap::Imap::check_message`]), so a
//! deleted message is never shown from here.

use std::{sync::Arc, time::Duration};

/// Total size of the kept documents.
const MAX_BYTES: u64 = 32 * 1024 * 1024;
/// An entry unused for this long is dropped: mail should not sit in memory for long.
const IDLE: Duration = Duration::from_secs(600);

/// What a body document depends on.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct BodyKey {
    /// The web login's user name.
    pub user: String,
    /// The folder (UTF-8 name, as in URLs).
    pub mailbox: String,
    /// The folder's UIDVALIDITY: a renumbered folder's UID is another message.
    pub uidvalidity: u32,
    pub uid: u32,
    /// `?remote=1`: remote content asked for once.
    pub asked_remote: bool,
    /// The reader's language tag (the document's notices are translated).
    pub lang: &'static str,
}

/// A finished body document.
#[derive(Debug)]
pub struct CachedBody {
    /// What goes inside the document's `<body>`: sanitizer output and our notices.
    pub html: String,
    /// The sender address whose trust decided about remote content, if any.
    pub sender: Option<String>,
    /// Whether that sender was in the user's trusted list when the body was rendered.
    pub listed: bool,
    /// When it was rendered: the image-proxy URLs in it are signed to expire, so a kept
    /// document is used only while they are young (see [`fresh_for`]).
    pub made: std::time::Instant,
}

/// How long a kept document may be served: the page's iframe asks at once, and the
/// proxy URLs inside must have most of their life left when the browser uses them.
pub fn fresh_for(proxy_url_lifetime: Duration) -> Duration {
    (proxy_url_lifetime / 2).min(Duration::from_secs(60))
}

/// The kept documents; cheap to clone.
#[derive(Clone)]
pub struct BodyCache(moka::future::Cache<BodyKey, Arc<CachedBody>>);

impl Default for BodyCache {
    fn default() -> BodyCache {
        BodyCache(
            moka::future::Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|k: &BodyKey, v: &Arc<CachedBody>| {
                    let bytes = v.html.len() + k.user.len() + k.mailbox.len() + 64;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .time_to_idle(IDLE)
                .build(),
        )
    }
}

impl BodyCache {
    /// The document kept for `key`, if any.
    pub async fn get(&self, key: &BodyKey) -> Option<Arc<CachedBody>> {
        self.0.get(key).await
    }

    /// Keeps a document.
    pub async fn put(&self, key: BodyKey, body: CachedBody) {
        self.0.insert(key, Arc::new(body)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uid: u32, asked_remote: bool) -> BodyKey {
        BodyKey {
            user: "alice".into(),
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid,
            asked_remote,
            lang: "en",
        }
    }

    #[tokio::test]
    async fn a_document_is_found_only_under_everything_it_depends_on() {
        let cache = BodyCache::default();
        let body = CachedBody {
            html: "<p>hi</p>".into(),
            sender: None,
            listed: false,
            made: std::time::Instant::now(),
        };
        cache.put(key(1, false), body).await;
        assert_eq!(cache.get(&key(1, false)).await.unwrap().html, "<p>hi</p>");
        assert!(cache.get(&key(1, true)).await.is_none());
        assert!(cache.get(&key(2, false)).await.is_none());
        let renumbered = BodyKey {
            uidvalidity: 8,
            ..key(1, false)
        };
        assert!(cache.get(&renumbered).await.is_none());
        let other_user = BodyKey {
            user: "bob".into(),
            ..key(1, false)
        };
        assert!(cache.get(&other_user).await.is_none());
    }

    #[test]
    fn kept_documents_are_used_while_their_proxy_urls_are_young() {
        assert_eq!(
            fresh_for(Duration::from_secs(3)),
            Duration::from_millis(1500)
        );
        assert_eq!(
            fresh_for(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
    }
}
