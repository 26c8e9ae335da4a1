//! Labels in the web pages: the coloured chips on list rows and the message page, and
//! the management page `GET/POST /labels` (create, rename, colour, delete).
//!
//! A label lives on the server as an IMAP keyword (`imap::Keyword`, which also encodes
//! names that are not plain ASCII). Mailroom keeps only what IMAP cannot: each label's
//! colour, in the per-user settings as `label.colour.<keyword>` (a label created here
//! has one, so it is listed before any message carries it), and `label.deleted.<keyword>`
//! for a label deleted here (Dovecot keeps listing a keyword in a folder's `FLAGS` after
//! the last message lost it). Applying labels to messages is a message action
//! (`web::actions`); filtering by one is a search criterion (`web::search`).
//!
//! One POST endpoint takes the four forms, told apart by `action`, like the
//! remote-content page; each form names an existing label by its keyword (`keyword`),
//! never by its display name, so a rename cannot hit a different label.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    imap::{Account, Folder, Keyword, LabelError},
    store::settings,
    web::{
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        mailbox_href,
        settings::sidebar_folders,
    },
};

/// Settings name prefix of a label's colour.
const COLOUR: &str = "label.colour.";
/// Settings name prefix of a deleted label (see the module doc).
const DELETED: &str = "label.deleted.";
/// The colours a label can have: the CSS class `label-<name>` pairs a background with a
/// text colour of readable contrast (static/app.css).
pub const PALETTE: [&str; 8] = [
    "grey", "red", "orange", "yellow", "green", "teal", "blue", "purple",
];
/// The colour of a label nobody chose one for.
const DEFAULT_COLOUR: &str = "grey";

/// The catalog key of the message for a refused label name.
pub fn error_key(e: LabelError) -> &'static str {
    match e {
        LabelError::Empty => "labels.error.empty",
        LabelError::TooLong => "labels.error.too_long",
        LabelError::System => "labels.error.system",
        LabelError::Control => "labels.error.control",
        LabelError::Reserved => "labels.error.reserved",
    }
}

/// A label as shown: a coloured chip, linking to the folder filtered by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chip {
    /// The display name.
    pub name: String,
    /// A [`PALETTE`] entry.
    pub colour: &'static str,
    /// The folder's list filtered by this label.
    pub href: String,
}

/// `/mail/{mailbox}?label=NAME`.
pub fn filter_href(mailbox: &str, name: &str) -> String {
    format!(
        "{}?label={}",
        mailbox_href(mailbox),
        utf8_percent_encode(name, NON_ALPHANUMERIC)
    )
}

/// The user's label settings: colours and deleted labels.
#[derive(Clone, Debug, Default)]
pub struct LabelSettings {
    /// Keyword → colour, for every label created (or coloured) here.
    colours: BTreeMap<String, &'static str>,
    /// Keywords deleted here.
    deleted: BTreeSet<String>,
}

impl LabelSettings {
    /// Reads them (two indexed queries).
    pub async fn load(state: &AppState, username: &str) -> Result<LabelSettings, AppError> {
        let (colours, deleted) = tokio::join!(
            settings::get_prefixed(&state.db, username, COLOUR),
            settings::get_prefixed(&state.db, username, DELETED)
        );
        let colours = colours?
            .into_iter()
            .filter_map(|(k, v)| {
                let atom = k.strip_prefix(COLOUR)?.to_owned();
                Some((atom, palette_entry(&v).unwrap_or(DEFAULT_COLOUR)))
            })
            .collect();
        let deleted = deleted?
            .into_iter()
            .filter_map(|(k, _)| k.strip_prefix(DELETED).map(str::to_owned))
            .collect();
        Ok(LabelSettings { colours, deleted })
    }

    /// The colour of `k`.
    pub fn colour(&self, k: &Keyword) -> &'static str {
        self.colours
            .get(k.as_str())
            .copied()
            .unwrap_or(DEFAULT_COLOUR)
    }

    /// The chips of a message of `mailbox` with labels `labels`.
    pub fn chips(&self, mailbox: &str, labels: &[Keyword]) -> Vec<Chip> {
        labels
            .iter()
            .map(|k| {
                let name = k.name();
                Chip {
                    href: filter_href(mailbox, &name),
                    colour: self.colour(k),
                    name,
                }
            })
            .collect()
    }

    /// The user's labels: created here, or reported by the server in `seen` (a folder's
    /// `FLAGS`, messages' flags), minus those deleted here; sorted by name.
    pub fn all<'a>(&self, seen: impl IntoIterator<Item = &'a Keyword>) -> Vec<Keyword> {
        let mut set: BTreeSet<Keyword> = seen
            .into_iter()
            .filter(|k| !self.deleted.contains(k.as_str()))
            .cloned()
            .collect();
        set.extend(self.colours.keys().filter_map(|a| Keyword::from_atom(a)));
        let mut v: Vec<Keyword> = set.into_iter().collect();
        v.sort_by_key(|k| k.name().to_lowercase());
        v
    }
}

/// The palette entry named `s`, if any.
fn palette_entry(s: &str) -> Option<&'static str> {
    PALETTE.iter().copied().find(|c| *c == s)
}

/// Marks a label as one of the user's (with a colour), undoing an earlier delete.
async fn remember(state: &AppState, user: &str, k: &Keyword, colour: &str) -> Result<(), AppError> {
    settings::set(&state.db, user, &format!("{COLOUR}{}", k.as_str()), colour).await?;
    settings::remove(&state.db, user, &format!("{DELETED}{}", k.as_str())).await?;
    Ok(())
}

/// Records that a label is gone (and forgets its colour).
async fn forget(state: &AppState, user: &str, k: &Keyword) -> Result<(), AppError> {
    settings::remove(&state.db, user, &format!("{COLOUR}{}", k.as_str())).await?;
    settings::set(&state.db, user, &format!("{DELETED}{}", k.as_str()), "1").await?;
    Ok(())
}

/// Remembers a label applied from the list (so it stays in the picker), keeping its
/// colour if it has one.
pub async fn remember_applied(state: &AppState, user: &str, k: &Keyword) -> Result<(), AppError> {
    let name = format!("{COLOUR}{}", k.as_str());
    let colour = settings::get(&state.db, user, &name).await?;
    let colour = colour
        .as_deref()
        .and_then(palette_entry)
        .unwrap_or(DEFAULT_COLOUR);
    remember(state, user, k, colour).await
}

/// One label on the management page.
pub struct LabelRow {
    /// The keyword (the forms' `keyword` field).
    keyword: String,
    /// Its chip.
    chip: Chip,
}

/// The management page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/labels.html")]
pub struct LabelsPage {
    l: Layout,
    notice: Option<String>,
    rows: Vec<LabelRow>,
    /// (value, translated name) of the colour menus.
    colours: Vec<(&'static str, &'static str)>,
    /// The create form's input after a refusal.
    name: String,
    colour: &'static str,
    /// Beside the name field (create) or on top (rename).
    error: Option<&'static str>,
}

/// `?done=…&n=…` after a successful POST, for the notice.
#[derive(Deserialize)]
pub struct LabelsQuery {
    done: Option<String>,
    n: Option<String>,
    m: Option<String>,
}

/// The folders a label lives in: every folder that can hold messages.
fn selectable(folders: &[Folder]) -> Vec<String> {
    folders
        .iter()
        .filter(|f| f.selectable)
        .map(|f| f.name.clone())
        .collect()
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<String>,
    form: (String, &'static str, Option<&'static str>),
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let folders = sidebar_folders(state, ctx, account).await?;
    let names = selectable(&folders);
    let (found, ls) = tokio::join!(
        state.imap.folder_labels(account, &names),
        LabelSettings::load(state, &account.username)
    );
    let (found, ls) = (found?, ls?);
    let rows = ls
        .all(&found)
        .into_iter()
        .map(|k| LabelRow {
            chip: ls.chips("INBOX", std::slice::from_ref(&k)).remove(0),
            keyword: k.as_str().to_owned(),
        })
        .collect();
    let failed = form.2.is_some();
    let page = LabelsPage {
        l: Layout::with_folders(ctx, tr.t("labels.title"), &account.username, &folders, None).await,
        notice,
        rows,
        colours: PALETTE
            .iter()
            .map(|c| (*c, tr.t(&format!("labels.colour.{c}"))))
            .collect(),
        name: form.0,
        colour: form.1,
        error: form.2.map(|k| tr.t(k)),
    };
    let mut res = page.into_response();
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// `GET /labels`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<LabelsQuery>,
) -> Result<Response, AppError> {
    let n: usize = q.n.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
    let m: usize = q.m.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
    let notice = match q.done.as_deref() {
        Some(k @ ("created" | "coloured")) => {
            Some(ctx.tr.t(&format!("labels.done.{k}")).to_owned())
        }
        Some(k @ ("renamed" | "deleted")) => Some(ctx.tr.tf(
            &format!("labels.done.{k}"),
            &[("count", n.into()), ("folders", m.into())],
        )),
        Some("refused") => Some(ctx.tr.tf("labels.done.refused", &[("folders", n.into())])),
        _ => None,
    };
    render(
        &state,
        &ctx,
        &account,
        notice,
        (String::new(), DEFAULT_COLOUR, None),
    )
    .await
}

/// The four forms' fields.
#[derive(Deserialize)]
pub struct LabelsForm {
    #[serde(default)]
    csrf_token: String,
    /// `create`, `rename`, `colour` or `delete`.
    #[serde(default)]
    action: String,
    /// The label acted on (rename, colour, delete).
    #[serde(default)]
    keyword: String,
    /// The new name (create, rename).
    #[serde(default)]
    name: String,
    #[serde(default)]
    colour: String,
}

/// `POST /labels`.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<LabelsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let user = &account.username;
    let colour = palette_entry(&form.colour).unwrap_or(DEFAULT_COLOUR);
    let existing =
        || Keyword::from_atom(&form.keyword).ok_or(AppError::BadRequest("labels.error.unknown"));
    let done = |q: String| Ok(Redirect::to(&format!("/labels?{q}")).into_response());
    match form.action.as_str() {
        "create" => match Keyword::from_name(&form.name) {
            Ok(k) => {
                remember(&state, user, &k, colour).await?;
                done("done=created".into())
            }
            Err(e) => {
                let input = (form.name.clone(), colour, Some(error_key(e)));
                render(&state, &ctx, &account, None, input).await
            }
        },
        "colour" => {
            let k = existing()?;
            remember(&state, user, &k, colour).await?;
            done("done=coloured".into())
        }
        "rename" => {
            let old = existing()?;
            let new = match Keyword::from_name(&form.name) {
                Ok(k) => k,
                Err(e) => {
                    let input = (String::new(), DEFAULT_COLOUR, Some(error_key(e)));
                    return render(&state, &ctx, &account, None, input).await;
                }
            };
            if new == old {
                return done("done=renamed&n=0&m=0".into());
            }
            let folders = selectable(&ctx.folders(&state.imap, &account).await?);
            let change = state
                .imap
                .rename_label(&account, &folders, &old, &new)
                .await?;
            let ls = LabelSettings::load(&state, user).await?;
            let old_colour = ls.colour(&old);
            remember(&state, user, &new, old_colour).await?;
            if change.refused > 0 {
                return done(format!("done=refused&n={}", change.refused));
            }
            forget(&state, user, &old).await?;
            done(format!(
                "done=renamed&n={}&m={}",
                change.messages, change.folders
            ))
        }
        "delete" => {
            let old = existing()?;
            let folders = selectable(&ctx.folders(&state.imap, &account).await?);
            let change = state.imap.delete_label(&account, &folders, &old).await?;
            forget(&state, user, &old).await?;
            done(format!(
                "done=deleted&n={}&m={}",
                change.messages, change.folders
            ))
        }
        _ => Err(AppError::BadRequest("labels.error.action")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_link_to_the_filtered_folder() {
        let mut ls = LabelSettings::default();
        let k = Keyword::from_name("报告 A&B").unwrap();
        ls.colours.insert(k.as_str().to_owned(), "blue");
        let chips = ls.chips("收件箱", std::slice::from_ref(&k));
        assert_eq!(chips[0].name, "报告 A&B");
        assert_eq!(chips[0].colour, "blue");
        assert!(
            chips[0]
                .href
                .starts_with("/mail/%E6%94%B6%E4%BB%B6%E7%AE%B1?label=%E6%8A%A5")
        );
        assert!(chips[0].href.ends_with("%20A%26B"));
        assert_eq!(palette_entry("blue\"x"), None);
    }

    #[test]
    fn deleted_labels_are_left_out_unless_created_again() {
        let mut ls = LabelSettings::default();
        let work = Keyword::from_name("Work").unwrap();
        let home = Keyword::from_name("Home").unwrap();
        ls.deleted.insert("Work".into());
        ls.colours.insert("zeta".into(), "red");
        let all: Vec<String> = ls.all([&work, &home]).iter().map(Keyword::name).collect();
        assert_eq!(all, ["Home", "zeta"]);
    }
}
