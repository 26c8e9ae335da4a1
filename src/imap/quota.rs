//! Storage quota (RFC 9208, formerly 2087): how much of the mailbox's space is used.
//!
//! `GETQUOTAROOT INBOX` names the quota root that governs the user's mail and its
//! resources; we keep STORAGE (KiB) only, which is what people mean by "my mailbox is
//! full". A server without the QUOTA capability, or a root without a storage limit,
//! gives `None` and the sidebar shows nothing. The command is sent from `sidebar`, only
//! when some folder's content changed since it was last asked; this file holds the type
//! and the reply handling.

use async_imap::imap_proto::{Response, rfc2087::QuotaResourceName};

/// Above this share of the limit the sidebar warns the user.
pub const WARN_PERCENT: u32 = 90;

/// The mailbox's storage use and limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Bytes used.
    pub used: u64,
    /// Bytes allowed (never 0).
    pub limit: u64,
}

impl Quota {
    /// Share of the limit in use, 0–100 (more when over quota, which servers allow for
    /// mail delivered before the limit was lowered).
    pub fn percent(&self) -> u32 {
        let p = self.used.saturating_mul(100) / self.limit.max(1);
        u32::try_from(p).unwrap_or(u32::MAX)
    }

    /// Whether to warn that the mailbox is nearly full (above [`WARN_PERCENT`]).
    pub fn nearly_full(&self) -> bool {
        self.used.saturating_mul(100) > self.limit.saturating_mul(u64::from(WARN_PERCENT))
    }
}

/// Collects the STORAGE resource from the replies to GETQUOTAROOT. With several roots
/// (rare), the fullest one is what the user will hit first.
#[derive(Debug, Default)]
pub struct QuotaCollector {
    /// The fullest root so far.
    best: Option<Quota>,
}

impl QuotaCollector {
    /// Feeds one untagged response.
    pub fn feed(&mut self, resp: &Response<'_>) {
        let Response::Quota(q) = resp else { return };
        for r in &q.resources {
            if r.name == QuotaResourceName::Storage && r.limit > 0 {
                // RFC 9208: STORAGE is in units of 1024 octets.
                let quota = Quota {
                    used: r.usage.saturating_mul(1024),
                    limit: r.limit.saturating_mul(1024),
                };
                let fuller = match self.best {
                    Some(b) => quota.percent() > b.percent(),
                    None => true,
                };
                if fuller {
                    self.best = Some(quota);
                }
            }
        }
    }

    /// The storage quota, if the server reported a limited one.
    pub fn finish(self) -> Option<Quota> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(lines: &[&str]) -> Option<Quota> {
        let mut c = QuotaCollector::default();
        for l in lines {
            let (_, resp) = Response::parse(l.as_bytes()).expect("valid response");
            c.feed(&resp);
        }
        c.finish()
    }

    #[test]
    fn storage_from_getquotaroot() {
        let q = collect(&[
            "* QUOTAROOT INBOX \"User quota\"\r\n",
            "* QUOTA \"User quota\" (STORAGE 95 100 MESSAGE 3 1000)\r\n",
        ])
        .unwrap();
        assert_eq!((q.used, q.limit), (95 * 1024, 100 * 1024));
        assert_eq!(q.percent(), 95);
        assert!(q.nearly_full());
        // No storage limit, or no quota at all: nothing to show.
        assert_eq!(collect(&["* QUOTA \"x\" (MESSAGE 3 1000)\r\n"]), None);
        assert_eq!(collect(&["* QUOTAROOT INBOX\r\n"]), None);
    }

    #[test]
    fn the_fullest_root_wins_and_edges_hold() {
        let q = collect(&[
            "* QUOTA \"a\" (STORAGE 10 100)\r\n",
            "* QUOTA \"b\" (STORAGE 50 100)\r\n",
        ])
        .unwrap();
        assert_eq!(q.percent(), 50);
        let exactly = Quota {
            used: 90,
            limit: 100,
        };
        assert!(!exactly.nearly_full());
        let over = Quota {
            used: u64::MAX,
            limit: 1,
        };
        assert!(over.nearly_full() && over.percent() > 100);
    }
}
