//! The user's time zone: which one applies, and how it is chosen.
//!
//! Every date Mailroom shows (the list, the message page, reply quotes) and every date a
//! user types (search ranges, later: scheduled sending) is in the user's zone. The zone is
//! an IANA name kept in the per-user settings store under [`SETTING`]: saved from the
//! browser's own zone at the first login (the login form's hidden field), changed on
//! `/settings`. Users without one get `MAILROOM_DEFAULT_TIMEZONE` (UTC when unset). The
//! zone database is compiled in (`chrono-tz`), so the host's tzdata does not matter.
//!
//! This module does no HTTP: [`user_zone`] is what handlers and background workers call.

use chrono_tz::Tz;

use crate::{config::Config, store::Db};

/// The settings-store name of the user's zone.
pub const SETTING: &str = "timezone";

/// Longest zone name accepted (the longest IANA name is about 30 bytes).
const MAX_NAME: usize = 64;

/// The zone named `name` (an IANA name such as `Asia/Shanghai`, or `UTC`); `None` for
/// anything else. Surrounding blanks are ignored; case matters, as in the database.
pub fn parse(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    name.parse::<Tz>().ok()
}

/// The zone `username` saved, if any and if it is still a valid name.
pub async fn saved_zone(db: &Db, username: &str) -> Option<Tz> {
    match crate::store::settings::get(db, username, SETTING).await {
        Ok(v) => v.as_deref().and_then(parse),
        Err(e) => {
            // Dates in the default zone beat an error page: log and go on.
            tracing::warn!(error = %e, "could not read the user's time zone");
            None
        }
    }
}

/// The zone `username`'s dates are shown in: the saved one, else the configured default.
pub async fn user_zone(db: &Db, username: &str, config: &Config) -> Tz {
    saved_zone(db, username)
        .await
        .unwrap_or(config.default_timezone)
}

/// Saves `name` as `username`'s zone. `Err(None)` when it is not a zone name; a storage
/// failure is `Err(Some(_))`.
pub async fn save(db: &Db, username: &str, name: &str) -> Result<Tz, Option<sqlx::Error>> {
    let zone = parse(name).ok_or(None)?;
    crate::store::settings::set(db, username, SETTING, zone.name())
        .await
        .map_err(Some)?;
    Ok(zone)
}

/// At login: saves the zone the browser reported, unless the user already has one (a
/// choice made on `/settings`, or an earlier login, wins over a laptop carried abroad).
/// A missing or invalid name is ignored, and so is a storage failure: logging in matters
/// more.
pub async fn remember_browser_zone(db: &Db, username: &str, reported: &str) {
    if parse(reported).is_none() {
        return;
    }
    match crate::store::settings::get(db, username, SETTING).await {
        Ok(Some(saved)) if parse(&saved).is_some() => {}
        Ok(_) => {
            if let Err(Some(e)) = save(db, username, reported).await {
                tracing::warn!(error = %e, "could not save the browser's time zone");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the user's time zone"),
    }
}

/// Every zone name users can choose, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db;

    #[test]
    fn names_are_checked() {
        assert_eq!(parse("Asia/Shanghai"), Some(Tz::Asia__Shanghai));
        assert_eq!(parse(" UTC "), Some(Tz::UTC));
        assert_eq!(parse("Mars/Olympus_Mons"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("asia/shanghai"), None);
        assert_eq!(parse(&"A".repeat(100)), None);
        assert!(names().any(|n| n == "Pacific/Kiritimati"));
    }

    #[tokio::test]
    async fn the_browser_zone_is_saved_only_when_there_is_none() {
        let (_d, db) = test_db().await;
        let config = crate::config::Config::load_from(None, |_| None).unwrap();
        assert_eq!(user_zone(&db, "ann", &config).await, Tz::UTC);
        remember_browser_zone(&db, "ann", "not a zone").await;
        assert_eq!(saved_zone(&db, "ann").await, None);
        remember_browser_zone(&db, "ann", "Asia/Shanghai").await;
        remember_browser_zone(&db, "ann", "Europe/Paris").await;
        assert_eq!(user_zone(&db, "ann", &config).await, Tz::Asia__Shanghai);
        assert!(matches!(save(&db, "ann", "Nowhere/Land").await, Err(None)));
        assert_eq!(
            save(&db, "ann", "Europe/Paris").await.ok(),
            Some(Tz::Europe__Paris)
        );
        assert_eq!(saved_zone(&db, "bob").await, None);
    }
}
