//! Trusted senders: addresses and domains whose remote images a user always wants to see.
//!
//! Remote content is blocked by default; a message from a trusted sender gets it allowed
//! without the "Show remote content" click (still through the image proxy, so the sender
//! learns nothing beyond "opened"). A `From` header can be forged, which is why trusting
//! only ever unlocks images through the proxy and nothing else.
//!
//! This file owns the `trusted_senders` table, the parsing of what a user types (an
//! address or a domain, normalized to lower-case ASCII) and the matching rule: an address
//! matches itself, a domain matches itself and its subdomains.

use reqwest::Url;

use super::{Db, new_id, now, with_pool};

/// Most entries one user may keep; enough for anyone, small enough to look up per message.
pub const MAX_PER_USER: i64 = 500;

/// What a trusted entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One address, e.g. `news@shop.example`.
    Address,
    /// A domain and its subdomains, e.g. `shop.example`.
    Domain,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Address => "address",
            Kind::Domain => "domain",
        }
    }

    fn from_db(s: &str) -> Option<Kind> {
        match s {
            "address" => Some(Kind::Address),
            "domain" => Some(Kind::Domain),
            _ => None,
        }
    }
}

/// One trusted address or domain, as listed on the settings page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedSender {
    /// Row id, for the remove button.
    pub id: String,
    /// Address or domain.
    pub kind: Kind,
    /// Lower-case address or domain (domains in their ASCII form).
    pub value: String,
}

/// Why an entry could not be added; each variant is shown beside the form field.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Not a plausible `local@domain` address.
    #[error("not an email address")]
    InvalidAddress,
    /// Not a domain name with at least two labels.
    #[error("not a domain name")]
    InvalidDomain,
    /// The user already has [`MAX_PER_USER`] entries.
    #[error("too many trusted senders")]
    TooMany,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Normalizes a domain: trimmed, lower-case, IDNA ASCII, at least two labels of letters,
/// digits and hyphens (so a whole top-level domain like `com` cannot be trusted).
pub fn normalize_domain(input: &str) -> Option<String> {
    let input = input.trim().trim_end_matches('.');
    if input.is_empty()
        || input.len() > 253
        || input.contains(|c: char| c.is_whitespace() || c.is_control() || "/\\?#@:[]%".contains(c))
    {
        return None;
    }
    // The URL parser applies IDNA (bücher.example → xn--bcher-kva.example) and
    // lower-cases; it also turns numeric forms into IP addresses, which we refuse below.
    let url = Url::parse(&format!("http://{input}/")).ok()?;
    // `domain()` is `None` for IP addresses.
    let host = url.domain()?.to_owned();
    let labels: Vec<&str> = host.split('.').collect();
    let valid = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // The last label is a real top-level domain, never all digits.
        && labels.last().is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()));
    valid.then_some(host)
}

/// Normalizes an address: `local@domain`, lower-cased, domain as in [`normalize_domain`].
/// Display names and angle brackets are not accepted: this is an address, not a header.
pub fn normalize_address(input: &str) -> Option<String> {
    let input = input.trim();
    let (local, domain) = input.rsplit_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local
            .contains(|c: char| c.is_whitespace() || c.is_control() || "<>@,;\"\\".contains(c));
    let domain = normalize_domain(domain)?;
    local_ok.then(|| format!("{}@{domain}", local.to_lowercase()))
}

/// Adds an entry for `username`; adding one that exists is not an error.
pub async fn add(db: &Db, username: &str, kind: Kind, input: &str) -> Result<(), TrustError> {
    with_pool!(db, pool => {
        let value = match kind {
            Kind::Address => normalize_address(input).ok_or(TrustError::InvalidAddress)?,
            Kind::Domain => normalize_domain(input).ok_or(TrustError::InvalidDomain)?,
        };
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trusted_senders WHERE username = $1")
            .bind(username)
            .fetch_one(pool)
            .await?;
        if count >= MAX_PER_USER {
            return Err(TrustError::TooMany);
        }
        sqlx::query(
            "INSERT INTO trusted_senders (id, username, kind, value, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username, kind, value) DO NOTHING",
        )
        .bind(new_id())
        .bind(username)
        .bind(kind.as_str())
        .bind(value)
        .bind(now())
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// Removes one of `username`'s entries (someone else's id does nothing).
pub async fn remove(db: &Db, username: &str, id: &str) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM trusted_senders WHERE username = $1 AND id = $2")
            .bind(username)
            .bind(id)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// All of `username`'s entries: domains first, then addresses, each alphabetical.
pub async fn list(db: &Db, username: &str) -> Result<Vec<TrustedSender>, sqlx::Error> {
    with_pool!(db, pool => {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, kind, value FROM trusted_senders WHERE username = $1 ORDER BY kind DESC, value",
        )
        .bind(username)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, kind, value)| {
                Kind::from_db(&kind).map(|kind| TrustedSender { id, kind, value })
            })
            .collect())
    })
}

/// Whether `username` trusts mail from `sender` (an address from a `From` header): the
/// address itself is listed, or its domain or a parent domain is.
pub async fn is_trusted(db: &Db, username: &str, sender: &str) -> Result<bool, sqlx::Error> {
    with_pool!(db, pool => {
        let Some(address) = normalize_address(sender) else {
            return Ok(false);
        };
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Ok(false);
        };
        // The domain and each parent with at least two labels: a.b.shop.example →
        // a.b.shop.example, b.shop.example, shop.example.
        let labels: Vec<&str> = domain.split('.').collect();
        let mut candidates: Vec<(Kind, String)> = vec![(Kind::Address, address.clone())];
        for start in 0..labels.len().saturating_sub(1) {
            candidates.push((Kind::Domain, labels[start..].join(".")));
        }
        for (kind, value) in candidates {
            let hit: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM trusted_senders WHERE username = $1 AND kind = $2 AND value = $3",
            )
            .bind(username)
            .bind(kind.as_str())
            .bind(&value)
            .fetch_optional(pool)
            .await?;
            if hit.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db as db;

    #[test]
    fn normalizing() {
        assert_eq!(
            normalize_domain(" Shop.Example. ").as_deref(),
            Some("shop.example")
        );
        assert_eq!(
            normalize_domain("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        for bad in [
            "",
            "com",
            ".",
            "a..b",
            "-a.example",
            "a-.example",
            "1.2.3.4",
            "[::1]",
            "a b.example",
            "a/b.example",
            "x@y.example",
            "a.example:80",
            "a.example%00",
            "a_b.example",
        ] {
            assert_eq!(normalize_domain(bad), None, "{bad:?}");
        }
        assert_eq!(
            normalize_address("News@Shop.EXAMPLE").as_deref(),
            Some("news@shop.example")
        );
        for bad in [
            "news",
            "@shop.example",
            "a@com",
            "A <a@b.example>",
            "a b@c.example",
            "a@b@",
        ] {
            assert_eq!(normalize_address(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn add_list_match_and_remove() {
        let (_d, db) = db().await;
        add(&db, "u", Kind::Domain, "Shop.Example").await.unwrap();
        add(&db, "u", Kind::Address, "friend@mail.example")
            .await
            .unwrap();
        add(&db, "u", Kind::Address, "FRIEND@mail.example")
            .await
            .unwrap();
        assert!(matches!(
            add(&db, "u", Kind::Domain, "com").await,
            Err(TrustError::InvalidDomain)
        ));
        assert!(matches!(
            add(&db, "u", Kind::Address, "not an address").await,
            Err(TrustError::InvalidAddress)
        ));
        let all = list(&db, "u").await.unwrap();
        assert_eq!(
            all.iter()
                .map(|t| (t.kind, t.value.as_str()))
                .collect::<Vec<_>>(),
            [
                (Kind::Domain, "shop.example"),
                (Kind::Address, "friend@mail.example")
            ]
        );
        for (sender, expected) in [
            ("deals@shop.example", true),
            ("a@news.shop.example", true),
            ("a@SHOP.example", true),
            ("a@evilshop.example", false),
            ("a@shop.example.evil", false),
            ("friend@mail.example", true),
            ("Friend@Mail.Example", true),
            ("other@mail.example", false),
            ("garbage", false),
        ] {
            assert_eq!(
                is_trusted(&db, "u", sender).await.unwrap(),
                expected,
                "{sender}"
            );
        }
        assert!(
            !is_trusted(&db, "someone-else", "deals@shop.example")
                .await
                .unwrap()
        );
        remove(&db, "someone-else", &all[0].id).await.unwrap();
        assert_eq!(
            list(&db, "u").await.unwrap().len(),
            2,
            "not theirs to remove"
        );
        remove(&db, "u", &all[0].id).await.unwrap();
        assert!(!is_trusted(&db, "u", "deals@shop.example").await.unwrap());
    }
}
