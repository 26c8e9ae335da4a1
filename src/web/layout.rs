//! What every page shares: the request context (language, CSRF token), the layout struct
//! every page template embeds, and the middleware that turns [`ErrorPage`] markers into
//! translated error pages.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;

use crate::{
    app::AppState,
    error::{AppError, ErrorPage},
    i18n::{Lang, Tr},
    imap::{Account, Folder, Imap, ImapError, Sidebar, SpecialUse},
    web::{
        mailbox_href,
        session::{AuthSession, random_token},
        theme::Theme,
    },
};
use tower_sessions::Session;

/// The sidebar being fetched beside the handler's own IMAP work (a shared future driven
/// by a spawned task, so the page does not wait for it before starting).
#[derive(Clone)]
pub struct SidebarSlot(
    pub futures::future::Shared<futures::future::BoxFuture<'static, Option<Arc<Sidebar>>>>,
);

impl std::fmt::Debug for SidebarSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SidebarSlot")
    }
}

/// Per-request context, put into request extensions by [`page_context`].
#[derive(Clone, Debug)]
pub struct PageCtx {
    pub tr: Tr,
    /// The CSRF token every form echoes: the HMAC of the login's nonce, or before login of
    /// the browser's nonce cookie (see `web::tokens`).
    pub csrf: String,
    /// The folder list and quota (except on the message page), namespaces and the current
    /// folder's rights, loaded for GET pages with a sidebar by
    /// [`crate::web::share::sidebar_prefetch`]; `None` elsewhere.
    pub sidebar: Option<SidebarSlot>,
    /// The logged-in user's colour theme (the default before login).
    pub theme: Theme,
}

/// A POST form that carries nothing but its CSRF token (logout, delete, confirm…). A
/// missing token is an empty one, so it gets the friendly CSRF page, not a parse error.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

impl PageCtx {
    /// What the prefetch found, if there was one and it worked.
    async fn prefetched(&self) -> Option<Arc<Sidebar>> {
        match &self.sidebar {
            Some(slot) => slot.0.clone().await,
            None => None,
        }
    }

    /// The folder list: the prefetched one when there is one, else asked for now (POST
    /// handlers, the message page, or when the prefetch failed: then this call meets the
    /// same problem and reports it).
    pub async fn folders(&self, imap: &Imap, account: &Account) -> Result<Vec<Folder>, ImapError> {
        if let Some(folders) = self.prefetched().await.and_then(|s| s.folders.clone()) {
            return Ok(folders);
        }
        imap.list_folders(account).await
    }

    /// Refuses a form whose token is not this session's (or, before login, this browser's).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        // Constant-time comparison: the token must not leak byte by byte through timing.
        let same = crate::web::tokens::constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes());
        if same && !self.csrf.is_empty() {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageCtx {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PageCtx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("page_context middleware missing")))
    }
}

/// Middleware: works out the language and the CSRF token for the request, and renders
/// error pages for responses that carry an [`ErrorPage`] marker.
pub async fn page_context(
    State(state): State<AppState>,
    jar: CookieJar,
    mut req: Request,
    next: Next,
) -> Response {
    let names = &state.cookies;
    let lang = jar
        .get(&names.lang)
        .and_then(|c| Lang::from_tag(c.value()))
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default();
    // The CSRF nonce: the login's own when there is a login (a planted cookie changes
    // nothing), else the browser's cookie, else a new one. Forms carry its HMAC.
    let session = req.extensions().get::<Session>().cloned();
    let (from_login, theme) = match session {
        Some(session) if jar.get(&names.session).is_some() => {
            let auth = AuthSession(session);
            let theme = match auth.username().await.ok().flatten() {
                Some(user) => Theme::of(&state.db, &user).await,
                None => Theme::default(),
            };
            (auth.csrf_nonce().await.ok().flatten(), theme)
        }
        _ => (None, Theme::default()),
    };
    let existing = jar
        .get(&names.csrf)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() >= 32);
    let nonce = from_login
        .or_else(|| existing.clone())
        .unwrap_or_else(|| random_token(32));
    let set_cookie = existing.as_deref() != Some(nonce.as_str());
    let csrf = state.keys.csrf_token(&nonce);
    let ctx = PageCtx {
        tr: Tr(lang),
        csrf: csrf.clone(),
        sidebar: None,
        theme,
    };
    req.extensions_mut().insert(ctx.clone());

    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());

    let mut res = next.run(req).await;

    if let Some(page) = res.extensions().get::<ErrorPage>().copied() {
        res = render_error(page, &ctx, &method, &path_and_query, res.status());
    }
    // A handler that set the cookie itself (login: a new nonce) has the last word.
    let prefix = format!("{}=", names.csrf);
    let handler_set = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(prefix.as_bytes()));
    if set_cookie && !handler_set {
        let cookie = names.build(names.csrf.clone(), nonce);
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn render_error(
    page: ErrorPage,
    ctx: &PageCtx,
    method: &Method,
    path: &str,
    status: StatusCode,
) -> Response {
    if page == ErrorPage::LoginRequired {
        // Come back to the same page after logging in; a POST cannot be replayed, so go home.
        let target = if method == Method::GET && path != "/" {
            format!(
                "/login?next={}",
                percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC)
            )
        } else {
            "/login".to_owned()
        };
        return Redirect::to(&target).into_response();
    }
    let (title, text) = page.text_keys();
    let tpl = ErrorTemplate {
        l: Layout::bare(ctx, ctx.tr.t(title)),
        text: ctx.tr.t(text),
    };
    let mut res = tpl.into_response();
    *res.status_mut() = status;
    res
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/error.html")]
struct ErrorTemplate {
    l: Layout,
    text: &'static str,
}

/// One folder in the sidebar.
pub struct FolderLink {
    pub href: String,
    pub label: String,
    pub depth: usize,
    pub unseen: u32,
    /// "3 unread", for the count's tooltip.
    pub unseen_title: String,
    pub current: bool,
    pub selectable: bool,
    /// CSS class for the folder's icon/position (`inbox`, `sent`, …) or empty.
    pub kind: &'static str,
}

/// The part of every page that is not the page itself.
pub struct Layout {
    pub tr: Tr,
    pub csrf: String,
    pub title: String,
    /// The logged-in address, `None` on the login and error pages.
    pub user: Option<String>,
    pub folders: Vec<FolderLink>,
    /// Cache-busting suffix for static files.
    pub asset_version: &'static str,
    /// Other users' and public folders, in their own sidebar section (`web::share`).
    pub shared_folders: Vec<FolderLink>,
    /// The storage bar, when the server reports a quota.
    pub quota: Option<crate::web::share::QuotaBar>,
    /// The user's rights in the current folder; everything when unknown. Templates hide
    /// the actions these do not allow.
    pub rights: crate::imap::Rights,
    /// The current folder's search form (`web::search`).
    pub search: Option<crate::web::search::SearchBox>,
    /// The colour theme, a class on `<html>` (`web::theme`).
    pub theme: Theme,
}

impl Layout {
    /// A layout without a user or sidebar (login, errors).
    pub fn bare(ctx: &PageCtx, title: impl Into<String>) -> Layout {
        Layout {
            tr: ctx.tr,
            csrf: ctx.csrf.clone(),
            title: title.into(),
            user: None,
            folders: Vec::new(),
            asset_version: ASSET_VERSION,
            shared_folders: Vec::new(),
            quota: None,
            rights: crate::imap::Rights::default(),
            search: None,
            theme: ctx.theme,
        }
    }

    /// A layout for a logged-in page, with the sidebar built from `folders`.
    pub async fn with_folders(
        ctx: &PageCtx,
        title: impl Into<String>,
        user: &str,
        folders: &[Folder],
        current: Option<&str>,
    ) -> Layout {
        let title: String = title.into();
        let sidebar = ctx.prefetched().await;
        let all = folders;
        let folders = folders
            .iter()
            .filter(|f| crate::web::folders::in_sidebar(all, f, current))
            .map(|f| FolderLink {
                href: mailbox_href(&f.name),
                label: folder_label(ctx.tr, f),
                depth: f.depth,
                unseen: f.unseen,
                unseen_title: ctx.tr.tf("folder.unread", &[("count", f.unseen.into())]),
                current: current == Some(f.name.as_str()),
                selectable: f.selectable,
                kind: f.special.map(special_kind).unwrap_or(""),
            })
            .collect();
        let mut l = Layout {
            user: Some(user.to_owned()),
            folders,
            ..Layout::bare(ctx, title)
        };
        let extras = sidebar.as_ref().map(|s| &s.extras);
        crate::web::share::decorate(&mut l, ctx, extras, all, current);
        l
    }

    /// `lang` attribute of the page.
    pub fn lang_tag(&self) -> &'static str {
        self.tr.lang().tag()
    }
}

/// Static files change with the binary; a version query string makes caches forget them.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

fn special_kind(s: SpecialUse) -> &'static str {
    match s {
        SpecialUse::Inbox => "inbox",
        SpecialUse::Drafts => "drafts",
        SpecialUse::Sent => "sent",
        SpecialUse::Trash => "trash",
        SpecialUse::Junk => "junk",
        SpecialUse::Archive => "archive",
    }
}

/// The name shown for a folder: special-use folders at the top level get a translated
/// name; the rest show their own (decoded) name.
pub fn folder_label(tr: Tr, f: &Folder) -> String {
    match f.special {
        Some(s) if f.depth == 0 => tr.t(&format!("folder.{}", special_kind(s))).to_owned(),
        _ => f.display_name.clone(),
    }
}
