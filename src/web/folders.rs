//! Folder management pages: the list of all folders (with subscribe toggles and the
//! "new folder" form), one folder's settings (rename / move, subscribe, export, delete),
//! and the delete confirmation.
//!
//! A bad name is not an error page: the same page comes back (422) with the user's input
//! and the message beside the field. Success answers 303 with a `notice=` the next page
//! shows. What happens on the server is in `imap::folder_admin`.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{Folder, FolderError, NameError, SpecialUse, is_protected},
    web::{
        encode_segment,
        extract::CurrentUser,
        layout::{Layout, PageCtx, folder_label},
        mailbox_href,
    },
};

/// Notices the folder pages show (`notice=` in the URL): catalog key `folders.notice.<k>`.
const NOTICES: &[&str] = &[
    "created",
    "renamed",
    "deleted",
    "subscribed",
    "unsubscribed",
];

/// `?notice=` of the folder pages.
#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

impl NoticeQuery {
    fn text(&self, tr: Tr) -> Option<&'static str> {
        let key = NOTICES
            .iter()
            .find(|k| Some(**k) == self.notice.as_deref())?;
        Some(tr.t(&format!("folders.notice.{key}")))
    }
}

/// Whether the sidebar shows `f`: subscribed folders (as in other clients), INBOX and
/// the special-use folders always, the folder being looked at, and the parents of
/// anything shown so the tree stays whole. `/folders` lists everything.
pub fn in_sidebar(all: &[Folder], f: &Folder, current: Option<&str>) -> bool {
    let shown = |g: &Folder| g.subscribed || g.special.is_some() || current == Some(&g.name);
    shown(f)
        || f.delimiter.is_some_and(|d| {
            let prefix = format!("{}{d}", f.name);
            all.iter().any(|g| g.name.starts_with(&prefix) && shown(g))
        })
}

/// `/folders/{mailbox}`: a folder's settings page.
pub fn folder_href(name: &str) -> String {
    format!("/folders/{}", encode_segment(name))
}

/// The message shown beside the name field for a refused operation, or `None` when the
/// error is not about the form (then it becomes an error page).
fn form_message(tr: Tr, e: &FolderError) -> Option<String> {
    let key = match e {
        FolderError::InvalidName(NameError::Delimiter(d)) => {
            return Some(tr.tf(
                "folders.error.delimiter",
                &[("delimiter", d.to_string().into())],
            ));
        }
        FolderError::InvalidName(n) => n.message_key(),
        FolderError::AlreadyExists => "folders.error.exists",
        FolderError::NoSuchParent => "folders.error.no_parent",
        FolderError::Protected => "folders.error.protected",
        FolderError::IntoItself => "folders.error.into_itself",
        FolderError::Refused(_) => "folders.error.refused",
        FolderError::NoSuchFolder | FolderError::Imap(_) => return None,
    };
    Some(tr.t(key).to_owned())
}

/// A folder error that is not about the form.
fn page_error(e: FolderError) -> AppError {
    match e {
        FolderError::NoSuchFolder => AppError::NotFound,
        FolderError::Imap(e) => e.into(),
        other => AppError::Internal(anyhow::Error::new(other)),
    }
}

/// One line of the folder list.
pub struct FolderRow {
    /// Full name (the subscribe form's target).
    pub name: String,
    /// Translated or own name.
    pub label: String,
    /// Nesting level, for indentation.
    pub depth: usize,
    /// Link to the folder's messages (`None` for placeholders).
    pub open_href: Option<String>,
    /// Link to its settings page (`None` for placeholders).
    pub settings_href: Option<String>,
    /// Posts the subscribe toggle.
    pub subscribe_href: String,
    /// "12 messages, 3 unread".
    pub counts: String,
    /// Currently subscribed.
    pub subscribed: bool,
}

/// A parent choice of the create and rename forms.
pub struct ParentOption {
    /// Full name; empty for "top level".
    pub name: String,
    /// Indented label.
    pub label: String,
}

/// The parents a folder may be created or moved under: the top level and every folder
/// except `exclude` and what is inside it.
fn parents(tr: Tr, folders: &[Folder], exclude: Option<&str>) -> Vec<ParentOption> {
    let mut out = vec![ParentOption {
        name: String::new(),
        label: tr.t("folders.top_level").to_owned(),
    }];
    out.extend(
        folders
            .iter()
            .filter(|f| {
                exclude.is_none_or(|x| {
                    f.name != x
                        && !f
                            .delimiter
                            .is_some_and(|d| f.name.starts_with(&format!("{x}{d}")))
                })
            })
            .map(|f| ParentOption {
                name: f.name.clone(),
                label: format!(
                    "{}{}",
                    "\u{a0}\u{a0}".repeat(f.depth + 1),
                    folder_label(tr, f)
                ),
            }),
    );
    out
}

/// The parent of `f` (empty for a top-level folder).
fn parent_of(f: &Folder) -> String {
    f.delimiter
        .and_then(|d| f.name.rsplit_once(d))
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

/// What the user typed into the create or rename form, shown again on error.
#[derive(Default)]
pub struct NameForm {
    /// The name field.
    pub name: String,
    /// The chosen parent (empty = top level).
    pub parent: String,
    /// The message beside the name field.
    pub error: Option<String>,
}

/// `GET /folders`: every folder, subscribed or not.
#[derive(Template, WebTemplate)]
#[template(path = "pages/folders.html")]
pub struct FoldersPage {
    l: Layout,
    notice: Option<&'static str>,
    rows: Vec<FolderRow>,
    parents: Vec<ParentOption>,
    form: NameForm,
}

impl FoldersPage {
    async fn build(ctx: &PageCtx, user: &str, folders: &[Folder], form: NameForm) -> FoldersPage {
        let tr = ctx.tr;
        let rows = folders
            .iter()
            .map(|f| FolderRow {
                name: f.name.clone(),
                label: folder_label(tr, f),
                depth: f.depth,
                open_href: f.selectable.then(|| mailbox_href(&f.name)),
                settings_href: f.selectable.then(|| folder_href(&f.name)),
                subscribe_href: format!("{}/subscribe", folder_href(&f.name)),
                counts: tr.tf(
                    "folders.counts",
                    &[("count", f.total.into()), ("unread", f.unseen.into())],
                ),
                subscribed: f.subscribed,
            })
            .collect();
        FoldersPage {
            l: Layout::with_folders(ctx, tr.t("folders.title"), user, folders, None).await,
            notice: None,
            rows,
            parents: parents(tr, folders, None),
            form,
        }
    }
}

/// `GET /folders`.
pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let folders = ctx.folders(&state.imap, &account).await?;
    let mut page = FoldersPage::build(&ctx, &account.username, &folders, NameForm::default()).await;
    page.notice = q.text(ctx.tr);
    Ok(page.into_response())
}

/// The create and rename forms.
#[derive(Deserialize)]
pub struct NameFields {
    /// Missing is empty: the CSRF page, not a parse error.
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent: String,
}

impl NameFields {
    fn parent(&self) -> Option<&str> {
        Some(self.parent.as_str()).filter(|p| !p.is_empty())
    }
}

/// `POST /folders`: creates a folder (`name`, under `parent`).
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<NameFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    match state
        .imap
        .create_folder(&account, form.parent(), &form.name)
        .await
    {
        Ok(_) => Ok(Redirect::to("/folders?notice=created").into_response()),
        Err(e) => {
            let Some(error) = form_message(ctx.tr, &e) else {
                return Err(page_error(e));
            };
            let folders = ctx.folders(&state.imap, &account).await?;
            let form = NameForm {
                name: form.name,
                parent: form.parent,
                error: Some(error),
            };
            let page = FoldersPage::build(&ctx, &account.username, &folders, form).await;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `GET /folders/{mailbox}`: one folder's settings.
#[derive(Template, WebTemplate)]
#[template(path = "pages/folder.html")]
pub struct FolderPage {
    l: Layout,
    notice: Option<&'static str>,
    /// The folder's full name (what the forms act on).
    name: String,
    label: String,
    counts: String,
    subscribed: bool,
    /// Special-use and INBOX: no rename, no delete.
    protected: bool,
    open_href: String,
    rename_href: String,
    subscribe_href: String,
    delete_href: String,
    export_href: String,
    /// "Empty" link, for Trash and Junk.
    empty_href: Option<String>,
    parents: Vec<ParentOption>,
    form: NameForm,
}

impl FolderPage {
    async fn build(
        ctx: &PageCtx,
        user: &str,
        folders: &[Folder],
        f: &Folder,
        form: Option<NameForm>,
    ) -> FolderPage {
        let tr = ctx.tr;
        let label = folder_label(tr, f);
        let base = folder_href(&f.name);
        FolderPage {
            l: Layout::with_folders(ctx, label.clone(), user, folders, Some(&f.name)).await,
            notice: None,
            name: f.name.clone(),
            counts: tr.tf(
                "folders.counts",
                &[("count", f.total.into()), ("unread", f.unseen.into())],
            ),
            subscribed: f.subscribed,
            protected: is_protected(f),
            open_href: mailbox_href(&f.name),
            rename_href: format!("{base}/rename"),
            subscribe_href: format!("{base}/subscribe"),
            delete_href: format!("{base}/delete"),
            export_href: format!("/export/{}", encode_segment(&f.name)),
            empty_href: matches!(f.special, Some(SpecialUse::Trash | SpecialUse::Junk))
                .then(|| format!("/mail/{}/empty", encode_segment(&f.name))),
            parents: parents(tr, folders, Some(&f.name)),
            form: form.unwrap_or_else(|| NameForm {
                name: f.display_name.clone(),
                parent: parent_of(f),
                error: None,
            }),
            label,
        }
    }
}

/// The folder named `name` in `folders`, or 404.
fn find<'a>(folders: &'a [Folder], name: &str) -> Result<&'a Folder, AppError> {
    folders
        .iter()
        .find(|f| f.name == name)
        .ok_or(AppError::NotFound)
}

/// `GET /folders/{mailbox}`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let folders = ctx.folders(&state.imap, &account).await?;
    let f = find(&folders, &mailbox)?;
    let mut page = FolderPage::build(&ctx, &account.username, &folders, f, None).await;
    page.notice = q.text(ctx.tr);
    Ok(page.into_response())
}

/// `POST /folders/{mailbox}/rename`: renames and/or moves under another parent.
pub async fn rename(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<NameFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    match state
        .imap
        .rename_folder(&account, &mailbox, form.parent(), &form.name)
        .await
    {
        Ok(new) => {
            Ok(Redirect::to(&format!("{}?notice=renamed", folder_href(&new))).into_response())
        }
        Err(e) => {
            let Some(error) = form_message(ctx.tr, &e) else {
                return Err(page_error(e));
            };
            let folders = ctx.folders(&state.imap, &account).await?;
            let f = find(&folders, &mailbox)?;
            let form = NameForm {
                name: form.name,
                parent: form.parent,
                error: Some(error),
            };
            let page = FolderPage::build(&ctx, &account.username, &folders, f, Some(form)).await;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `GET /folders/{mailbox}/delete`: what would be deleted, and a button to do it.
#[derive(Template, WebTemplate)]
#[template(path = "pages/confirm_folder_delete.html")]
pub struct DeleteFolderPage {
    l: Layout,
    question: String,
    /// The folder and its subfolders with their message counts.
    doomed: Vec<(String, String)>,
    action_href: String,
    cancel_href: String,
}

/// `GET /folders/{mailbox}/delete`.
pub async fn delete_confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let folders = ctx.folders(&state.imap, &account).await?;
    let f = find(&folders, &mailbox)?;
    let doomed = match state.imap.folders_to_delete(&account, &mailbox).await {
        Ok(d) => d,
        Err(e) => {
            let Some(error) = form_message(tr, &e) else {
                return Err(page_error(e));
            };
            let mut page = FolderPage::build(&ctx, &account.username, &folders, f, None).await;
            page.form.error = Some(error);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let label = folder_label(tr, f);
    let messages: u32 = doomed.iter().map(|d| d.total).sum();
    Ok(DeleteFolderPage {
        l: Layout::with_folders(
            &ctx,
            tr.t("folders.delete.title"),
            &account.username,
            &folders,
            Some(&mailbox),
        )
        .await,
        question: tr.tf(
            "folders.delete.question",
            &[("folder", label.into()), ("count", messages.into())],
        ),
        doomed: doomed
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    tr.tf(
                        "folders.counts",
                        &[("count", d.total.into()), ("unread", d.unseen.into())],
                    ),
                )
            })
            .collect(),
        action_href: format!("{}/delete", folder_href(&mailbox)),
        cancel_href: folder_href(&mailbox),
    }
    .into_response())
}

/// `POST /folders/{mailbox}/delete`: deletes the folder and its subfolders.
pub async fn delete(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<crate::web::layout::CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    match state.imap.delete_folder(&account, &mailbox).await {
        Ok(_) => Ok(Redirect::to("/folders?notice=deleted").into_response()),
        Err(e) => {
            let Some(error) = form_message(ctx.tr, &e) else {
                return Err(page_error(e));
            };
            let folders = ctx.folders(&state.imap, &account).await?;
            let f = find(&folders, &mailbox)?;
            let mut page = FolderPage::build(&ctx, &account.username, &folders, f, None).await;
            page.form.error = Some(error);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// The subscribe toggle.
#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    csrf_token: String,
    /// `true` or `false`: the user's choice, so anything else is a bad request.
    #[serde(default)]
    subscribed: String,
    /// `folder` when sent from the folder's own page (the answer goes back there).
    from: Option<String>,
}

/// `POST /folders/{mailbox}/subscribe`: `subscribed=true` shows the folder in the
/// sidebar, `false` hides it there (it stays on the folder list).
pub async fn subscribe(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let on = match form.subscribed.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("error.bad.subscribed")),
    };
    state
        .imap
        .set_subscribed(&account, &mailbox, on)
        .await
        .map_err(page_error)?;
    let notice = if on { "subscribed" } else { "unsubscribed" };
    let to = if form.from.as_deref() == Some("folder") {
        format!("{}?notice={notice}", folder_href(&mailbox))
    } else {
        format!("/folders?notice={notice}")
    };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn folder(name: &str) -> Folder {
        crate::imap::test_folder(name, None)
    }

    #[test]
    fn a_folder_cannot_move_under_itself() {
        let list = vec![folder("a"), folder("a/b"), folder("ab")];
        let names: Vec<String> = parents(Tr(Lang::En), &list, Some("a"))
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["", "ab"]);
        assert_eq!(parent_of(&list[1]), "a");
        assert_eq!(parent_of(&list[0]), "");
    }

    #[test]
    fn the_sidebar_shows_subscribed_folders_and_their_parents() {
        let mut list = vec![folder("a"), folder("a/b"), folder("c"), folder("d")];
        list[0].subscribed = false;
        list[2].subscribed = false;
        list[3].subscribed = false;
        let shown: Vec<&str> = list
            .iter()
            .filter(|f| in_sidebar(&list, f, Some("d")))
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(shown, ["a", "a/b", "d"]);
    }

    #[test]
    fn form_messages_name_the_problem() {
        let tr = Tr(Lang::En);
        let m = form_message(tr, &FolderError::InvalidName(NameError::Delimiter('/')));
        assert!(m.is_some_and(|m| m.contains('/')));
        assert!(form_message(tr, &FolderError::NoSuchFolder).is_none());
    }
}
