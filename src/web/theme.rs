//! The colour theme a user chose on the settings page: follow the system
//! (`prefers-color-scheme`), or always light, or always dark. Stored per user in
//! `user_settings` under [`SETTING`]; `web::layout::page_context` reads it once per request
//! so every page's `<html>` carries it as a class (`theme-auto`, `theme-light`,
//! `theme-dark`) that `static/app.css` keys its colours on.

use crate::store::{Db, settings};

/// The `user_settings` name of the theme.
pub const SETTING: &str = "theme";

/// The colour theme of every page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Light or dark as the browser's `prefers-color-scheme` says.
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    /// Every choice, in the order the settings form offers them.
    pub const ALL: [Theme; 3] = [Theme::Auto, Theme::Light, Theme::Dark];

    /// The form value and stored value: `auto`, `light` or `dark`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The form value, the stored value and the class suffix on `<html>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The translation key of the choice's label.
    pub fn label_key(self) -> &'static str {
        match self {
            Theme::Auto => "settings.theme.auto",
            Theme::Light => "settings.theme.light",
            Theme::Dark => "settings.theme.dark",
        }
    }

    /// The user's theme; the default when none is saved, the stored value is unknown, or
    /// the database cannot be read (a page must not fail over its colours).
    pub async fn of(db: &Db, username: &str) -> Theme {
        match settings::get(db, username, SETTING).await {
            Ok(v) => v.as_deref().and_then(Theme::parse).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the theme setting");
                Theme::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_parse_only_their_own_names() {
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), Some(t));
        }
        for bad in ["", "Dark", "dark ", "blue", "auto;x"] {
            assert_eq!(Theme::parse(bad), None, "{bad}");
        }
    }
}
