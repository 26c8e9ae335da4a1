//! Shared folders, sharing, quota: what the sidebar shows besides the user's own folders,
//! and the page where a folder's owner shares it with a teammate.
//!
//! - [`sidebar_prefetch`] is a middleware: before a GET page handler runs, it starts
//!   asking the server for the folder list, its namespaces, the quota and the user's
//!   rights in the folder being viewed (one pipelined round trip, `Imap::sidebar`) and
//!   puts the pending answer in the [`PageCtx`]; handlers take the folders from there
//!   (`PageCtx::folders`). The message page lists its folders (and gets the quota)
//!   itself, after marking the message read (`Imap::open_message`).
//!   [`decorate`], called by `Layout::with_folders`, then moves other users' and public
//!   folders into their own sidebar section, adds the quota bar (with a warning above
//!   90 %), and records the rights so templates hide what the user may not do. Pages
//!   get all this without each handler asking for it.
//! - `GET/POST /folders/{mailbox}/share`: who has access (GETACL) and a form giving a
//!   teammate read or read-write access, or taking it away (SETACL/DELETEACL).

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{FromRequestParts, Path, Query, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{AclEntry, Folder, NamespaceKind, Quota, ShareError, ShareLevel},
    web::{
        encode_segment,
        extract::CurrentUser,
        format,
        layout::{FolderLink, Layout, PageCtx, folder_label},
        mailbox_href,
        search::SearchBox,
    },
};

/// The sidebar's storage bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaBar {
    /// 0–100, for the `<meter>`.
    pub percent: u32,
    /// "1.2 MB of 1 GB used (0 %)".
    pub label: String,
    /// Shown above 90 %.
    pub warning: Option<String>,
}

impl QuotaBar {
    /// The bar for `q`, in the user's language.
    pub fn new(tr: Tr, q: Quota) -> QuotaBar {
        let percent = q.percent();
        QuotaBar {
            percent: percent.min(100),
            label: tr.tf(
                "quota.used",
                &[
                    ("used", format::size(q.used).into()),
                    ("limit", format::size(q.limit).into()),
                    ("percent", percent.into()),
                ],
            ),
            warning: q.nearly_full().then(|| tr.t("quota.warning").to_owned()),
        }
    }
}

/// `/folders/{mailbox}/share` for a folder.
pub fn share_href(mailbox: &str) -> String {
    format!("/folders/{}/share", encode_segment(mailbox))
}

/// Middleware: starts fetching the sidebar for GET pages that show one (see the module
/// doc). Anything that goes wrong just leaves it out: the handler meets the same problem
/// and reports it properly. The login it found is handed on, so the handler does not
/// read the session again.
pub async fn sidebar_prefetch(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !wants_sidebar(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    if let Ok(CurrentUser(account)) = CurrentUser::from_request_parts(&mut parts, &state).await {
        let path = parts.uri.path();
        let (current, with_folders) = (current_folder(path), lists_folders_early(path));
        let imap = state.imap.clone();
        // Other mailboxes are fetched while their owner uses Mailroom (see `crate::fetch`).
        state.fetcher.fetch_due(&account).await;
        crate::web::extract::hand_on(&mut parts, account.clone());
        let fetch: futures::future::BoxFuture<'static, _> = Box::pin(async move {
            match imap
                .sidebar(&account, current.as_deref(), with_folders)
                .await
            {
                Ok(sidebar) => Some(Arc::new(sidebar)),
                Err(e) => {
                    tracing::debug!(error = %e, "sidebar prefetch failed");
                    None
                }
            }
        });
        let shared = futures::FutureExt::shared(fetch);
        // Driven by its own task: the round trip runs while the handler does its own
        // IMAP work; the layout awaits the result only when it is built.
        tokio::spawn(shared.clone());
        if let Some(ctx) = parts.extensions.get_mut::<PageCtx>() {
            ctx.sidebar = Some(crate::web::layout::SidebarSlot(shared));
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Whether the folder list can be fetched before the handler runs. Not on the message
/// page: it marks the message read first, so that the unread counts agree with it.
fn lists_folders_early(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    !matches!(segments.as_slice(), ["mail", _, uid] if uid.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a request is for a page that shows the sidebar: GETs other than message
/// bodies, parts, downloads, static files and JSON.
fn wants_sidebar(method: &Method, path: &str) -> bool {
    if method != Method::GET {
        return false;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => false,
        ["mail", _] | ["mail", _, _] => true,
        ["mail", ..] => false,
        [
            "static" | "healthz" | "readyz" | "metrics" | "login" | "proxy" | "export" | "events",
            ..,
        ] => false,
        ["contacts", "suggest" | "export.vcf"] => false,
        _ => true,
    }
}

/// The folder a page is about (`/mail/{mailbox}…`, `/folders/{mailbox}…`), decoded.
fn current_folder(path: &str) -> Option<String> {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("mail" | "folders"), Some(name)) if !name.is_empty() => {
            percent_encoding::percent_decode_str(name)
                .decode_utf8()
                .ok()
                .map(|n| n.into_owned())
        }
        _ => None,
    }
}

/// Adds what [`sidebar_prefetch`] found to a logged-in page's layout: the shared folders'
/// own section, the quota bar, the rights in `current`, and the search box of `current`
/// (with a "Share" link when the user may share it). `folders` is the list the layout's
/// sidebar was built from.
pub fn decorate(
    l: &mut Layout,
    ctx: &PageCtx,
    extras: Option<&crate::imap::SidebarExtras>,
    folders: &[Folder],
    current: Option<&str>,
) {
    let tr = ctx.tr;
    l.search = current.map(|m| SearchBox::for_folder(tr, m));
    let Some(extras) = extras else {
        return;
    };
    if let Some(ns) = &extras.namespaces {
        // Built from the whole list: other users' folders are not subscribed (their
        // namespace keeps no subscriptions), so the main list's filter would hide them.
        let shared: HashMap<String, (&Folder, NamespaceKind)> = folders
            .iter()
            .filter_map(|f| ns.kind(&f.name).map(|k| (mailbox_href(&f.name), (f, k))))
            .collect();
        l.folders.retain(|link| !shared.contains_key(&link.href));
        l.shared_folders = folders
            .iter()
            .filter_map(|f| shared.get(&mailbox_href(&f.name)).copied())
            .map(|(f, kind)| shared_link(tr, f, kind, current))
            .collect();
    }
    l.quota = extras.quota.map(|q| QuotaBar::new(tr, q));
    if let (Some((name, rights)), Some(cur)) = (&extras.rights, current)
        && name == cur
    {
        l.rights = rights.clone();
        if rights.can_admin()
            && let Some(s) = l.search.as_mut()
        {
            s.share_href = Some(share_href(cur));
        }
    }
}

/// A sidebar entry of the shared section. The namespace's root is a placeholder and is
/// named for what it holds; `shared/<user>` shows the user's name.
fn shared_link(tr: Tr, f: &Folder, kind: NamespaceKind, current: Option<&str>) -> FolderLink {
    let label = match (f.depth, kind) {
        (0, NamespaceKind::OtherUsers) => tr.t("share.ns.users").to_owned(),
        (0, NamespaceKind::Public) => tr.t("share.ns.public").to_owned(),
        _ => f.display_name.clone(),
    };
    FolderLink {
        href: mailbox_href(&f.name),
        label,
        depth: f.depth,
        unseen: f.unseen,
        unseen_title: tr.tf("folder.unread", &[("count", f.unseen.into())]),
        current: current == Some(f.name.as_str()),
        selectable: f.selectable,
        kind: "",
    }
}

/// The sharing form's fields.
#[derive(Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    csrf_token: String,
    /// The teammate's login name.
    #[serde(default)]
    user: String,
    /// `read`, `read-write` or `none`.
    #[serde(default)]
    rights: String,
}

/// `?notice=shared` after a change.
#[derive(Deserialize)]
pub struct ShareQuery {
    notice: Option<String>,
}

/// One line of the "who has access" table.
pub struct AccessRow {
    /// The user (or `anyone`).
    who: String,
    /// "Read", "Read and write" or the raw rights.
    level: String,
    /// Whether the page offers to remove it (not the owner's own entry).
    removable: bool,
}

/// A folder's sharing settings: who has access, and the form to change it.
#[derive(Template, WebTemplate)]
#[template(path = "pages/folder_settings.html")]
pub struct FolderSettingsPage {
    l: Layout,
    folder_name: String,
    /// Where the form posts.
    action: String,
    back_href: String,
    entries: Vec<AccessRow>,
    /// Why the folder cannot be shared (no ACL on the server, or no right to).
    problem: Option<&'static str>,
    /// The form, as typed.
    user: String,
    rights: String,
    /// (value, label) of the rights menu.
    levels: Vec<(&'static str, &'static str)>,
    user_error: Option<&'static str>,
    rights_error: Option<&'static str>,
    notice: Option<&'static str>,
}

/// `GET /folders/{mailbox}/share`: who has access, and the form to change it.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Query(q): Query<ShareQuery>,
) -> Result<Response, AppError> {
    let mut page = settings_page(&state, &ctx, &account, &mailbox).await?;
    if q.notice.as_deref() == Some("shared") {
        page.notice = Some(ctx.tr.t("share.done"));
    }
    Ok(page.into_response())
}

/// `POST /folders/{mailbox}/share` (`user`, `rights`): shares the folder, changes the
/// teammate's access, or removes it; 303 back to the page. A bad form comes back with
/// the input and a message beside the field.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<ShareForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let tr = ctx.tr;
    let again = async |user_error: Option<&'static str>,
                       rights_error: Option<&'static str>,
                       problem: Option<&'static str>|
           -> Result<Response, AppError> {
        let mut page = settings_page(&state, &ctx, &account, &mailbox).await?;
        page.user = form.user.clone();
        page.rights = form.rights.clone();
        page.user_error = user_error.map(|k| tr.t(k));
        page.rights_error = rights_error.map(|k| tr.t(k));
        page.problem = problem.map(|k| tr.t(k)).or(page.problem);
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    let Some(level) = ShareLevel::parse(form.rights.trim()) else {
        return again(None, Some("share.error.rights"), None).await;
    };
    match state
        .imap
        .share(&account, &mailbox, &form.user, level)
        .await
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("{}?notice=shared", share_href(&mailbox))).into_response())
        }
        Err(ShareError::InvalidUser) => again(Some("share.error.user"), None, None).await,
        Err(ShareError::NotATeammate) => again(Some("share.error.teammate"), None, None).await,
        Err(ShareError::Unsupported) => again(None, None, Some("share.unsupported")).await,
        Err(ShareError::NotAllowed) => again(None, None, Some("share.not_allowed")).await,
        Err(ShareError::Imap(e)) => Err(e.into()),
    }
}

/// The page with the current access list and an empty form.
async fn settings_page(
    state: &AppState,
    ctx: &PageCtx,
    account: &crate::imap::Account,
    mailbox: &str,
) -> Result<FolderSettingsPage, AppError> {
    let tr = ctx.tr;
    let (folders, acl) = tokio::join!(
        ctx.folders(&state.imap, account),
        state.imap.acl(account, mailbox)
    );
    let folders = folders?;
    let folder = folders
        .iter()
        .find(|f| f.name == mailbox)
        .ok_or(AppError::NotFound)?;
    let folder_name = folder_label(tr, folder);
    let (entries, problem) = match acl {
        // A server with ACL always lists at least the owner: empty means no ACL.
        Ok(list) if list.is_empty() => (Vec::new(), Some("share.unsupported")),
        Ok(list) => (access_rows(tr, &list, &account.username), None),
        Err(ShareError::NotAllowed) => (Vec::new(), Some("share.not_allowed")),
        Err(ShareError::Unsupported) => (Vec::new(), Some("share.unsupported")),
        Err(ShareError::Imap(e)) => return Err(e.into()),
        Err(_) => (Vec::new(), Some("share.not_allowed")),
    };
    Ok(FolderSettingsPage {
        l: Layout::with_folders(
            ctx,
            tr.tf("share.title", &[("folder", folder_name.as_str().into())]),
            &account.username,
            &folders,
            Some(mailbox),
        )
        .await,
        folder_name,
        action: share_href(mailbox),
        back_href: mailbox_href(mailbox),
        entries,
        problem: problem.map(|k| tr.t(k)),
        user: String::new(),
        rights: ShareLevel::Read.param().to_owned(),
        levels: [ShareLevel::Read, ShareLevel::ReadWrite, ShareLevel::None]
            .iter()
            .map(|l| (l.param(), tr.t(&format!("share.level.{}", l.param()))))
            .collect(),
        user_error: None,
        rights_error: None,
        notice: None,
    })
}

/// The access list as the page shows it; the user's own entry is not removable here.
fn access_rows(tr: Tr, list: &[AclEntry], owner: &str) -> Vec<AccessRow> {
    list.iter()
        .map(|e| AccessRow {
            who: e.identifier.clone(),
            level: match ShareLevel::of(&e.rights) {
                Some(l) if e.rights.can_admin() => {
                    format!("{} ({})", tr.t("share.level.owner"), l.param())
                }
                Some(l) => tr.t(&format!("share.level.{}", l.param())).to_owned(),
                None => e.rights.as_str().to_owned(),
            },
            removable: !e.identifier.eq_ignore_ascii_case(owner),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn which_requests_get_a_sidebar() {
        let get = Method::GET;
        for yes in [
            "/mail/INBOX",
            "/mail/INBOX/12",
            "/mail/%E6%8A%A5%E5%91%8A/confirm",
            "/folders",
            "/folders/INBOX/share",
            "/settings",
            "/compose",
        ] {
            assert!(wants_sidebar(&get, yes), "{yes}");
        }
        for no in [
            "/",
            "/mail/INBOX/12/body",
            "/mail/INBOX/12/part/2",
            "/mail/INBOX/12/raw",
            "/static/app.css",
            "/export/INBOX",
            "/contacts/suggest",
            "/login",
            "/healthz",
            "/readyz",
        ] {
            assert!(!wants_sidebar(&get, no), "{no}");
        }
        // The message page lists folders after marking the message read.
        assert!(!lists_folders_early("/mail/INBOX/12"));
        for early in ["/mail/INBOX", "/mail/a/confirm", "/folders", "/settings"] {
            assert!(lists_folders_early(early), "{early}");
        }
        assert!(!wants_sidebar(&Method::POST, "/mail/INBOX"));
    }

    #[test]
    fn current_folder_is_decoded() {
        assert_eq!(current_folder("/mail/INBOX/3").as_deref(), Some("INBOX"));
        assert_eq!(
            current_folder("/folders/%E6%8A%A5%E5%91%8A%2F2026/share").as_deref(),
            Some("报告/2026")
        );
        assert_eq!(current_folder("/settings"), None);
        assert_eq!(current_folder("/mail/"), None);
    }

    #[test]
    fn quota_bar_warns_above_ninety_percent() {
        let tr = Tr(Lang::En);
        let low = QuotaBar::new(
            tr,
            Quota {
                used: 10 << 20,
                limit: 100 << 20,
            },
        );
        assert_eq!(low.percent, 10);
        assert!(
            low.label.contains("10.0 MB") || low.label.contains("10 MB"),
            "{}",
            low.label
        );
        assert!(low.warning.is_none());
        let high = QuotaBar::new(
            tr,
            Quota {
                used: 95,
                limit: 100,
            },
        );
        assert!(high.warning.is_some());
        let over = QuotaBar::new(
            tr,
            Quota {
                used: 300,
                limit: 100,
            },
        );
        assert_eq!(over.percent, 100);
    }
}
