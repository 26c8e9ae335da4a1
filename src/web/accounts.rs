//! Other mailboxes, `/settings/accounts` (issue 14): POP3 or IMAP accounts elsewhere whose
//! new mail Mailroom copies into one of the user's folders. The list with each account's
//! last fetch and error, "Fetch now" and "Remove" buttons, and the add form. The work is
//! in [`crate::fetch`]; the rows in [`crate::store::remote`].
//!
//! Another user's account id answers 404 (every query names the owner). The password is
//! never put back into the form, not even after a refused submission.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    fetch::{FetchError, Started},
    imap::Account,
    store::remote::{self, AddError, NewAccount, Protocol, Security},
    web::{
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        settings::sidebar_folders,
    },
};

/// Longest host name (DNS limit).
const MAX_HOST: usize = 253;
/// Longest login or password accepted.
const MAX_LOGIN: usize = 320;
const MAX_PASSWORD: usize = 512;

/// One account in the list.
pub struct AccountRow {
    id: String,
    protocol: &'static str,
    host: String,
    port: u16,
    login: String,
    folder: String,
    keep: bool,
    /// "2026-12-04 13:05 UTC", or "never".
    last_fetch: String,
    /// "3 messages fetched", after a fetch that did not fail.
    count_text: Option<String>,
    /// The last error, translated, and the server's words if any.
    error: Option<String>,
    error_detail: Option<String>,
}

/// The add form as shown (the user's input after a refusal; never the password).
#[derive(Default)]
pub struct AddForm {
    protocol: String,
    host: String,
    port: String,
    security: String,
    login: String,
    folder: String,
    keep: bool,
}

/// A refused field and the message shown beside it.
pub struct FieldError {
    field: &'static str,
    message: &'static str,
}

/// The page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/accounts.html")]
pub struct AccountsPage {
    l: Layout,
    notice: Option<String>,
    rows: Vec<AccountRow>,
    form: AddForm,
    error: Option<FieldError>,
    /// The user's folders that can take mail: (name, indented display name).
    folders: Vec<(String, String)>,
    /// What the page does, with the interval between fetches.
    intro: String,
}

impl AccountsPage {
    /// The message for `field`, if it was refused.
    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message)
    }
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<String>,
    form: AddForm,
    error: Option<FieldError>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (folders, accounts) = tokio::join!(
        sidebar_folders(state, ctx, account),
        remote::list(&state.db, &account.username)
    );
    let (folders, accounts) = (folders?, accounts?);
    let rows = accounts
        .into_iter()
        .map(|a| {
            let (error, error_detail) = match a.last_error.as_deref() {
                Some(stored) => {
                    let (key, detail) = stored.split_once('\n').unwrap_or((stored, ""));
                    let text = if key == "accounts.error.oversize" {
                        tr.tf(
                            "accounts.error.oversize",
                            &[("count", detail.parse::<u64>().unwrap_or(0).into())],
                        )
                    } else {
                        tr.t(key).to_owned()
                    };
                    let detail = (!detail.is_empty() && key != "accounts.error.oversize")
                        .then(|| detail.to_owned());
                    (Some(text), detail)
                }
                None => (None, None),
            };
            AccountRow {
                protocol: if a.protocol == Protocol::Pop3 {
                    "POP3"
                } else {
                    "IMAP"
                },
                last_fetch: a
                    .last_fetch_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| tr.t("accounts.never").to_owned()),
                id: a.id,
                host: a.host,
                port: a.port,
                login: a.login,
                folder: a.folder,
                keep: a.keep_on_server,
                count_text: (a.last_fetch_at.is_some() && error.is_none())
                    .then(|| tr.tf("accounts.last_count", &[("count", a.last_count.into())])),
                error,
                error_detail,
            }
        })
        .collect();
    let failed = error.is_some();
    let page = AccountsPage {
        l: Layout::with_folders(
            ctx,
            tr.t("accounts.title"),
            &account.username,
            &folders,
            None,
        )
        .await,
        notice,
        rows,
        form,
        error,
        folders: folders
            .iter()
            .filter(|f| f.selectable)
            .map(|f| {
                let indent = "\u{a0}\u{a0}".repeat(f.depth);
                (f.name.clone(), format!("{indent}{}", f.display_name))
            })
            .collect(),
        intro: tr.tf(
            "accounts.intro",
            &[(
                "minutes",
                state.config.fetch_interval.as_secs().div_ceil(60).into(),
            )],
        ),
    };
    let mut res = page.into_response();
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// After a POST: `?done=added|removed|fetched|busy|failed` and, for `fetched`, `n`.
#[derive(Deserialize)]
pub struct AccountsQuery {
    done: Option<String>,
    n: Option<u32>,
}

/// `GET /settings/accounts`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<AccountsQuery>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let notice = match q.done.as_deref() {
        Some("added") => Some(tr.t("accounts.added").to_owned()),
        Some("removed") => Some(tr.t("accounts.removed").to_owned()),
        Some("fetched") => Some(tr.tf("accounts.fetched", &[("count", q.n.unwrap_or(0).into())])),
        Some("busy") => Some(tr.t("accounts.busy").to_owned()),
        Some("failed") => Some(tr.t("accounts.failed").to_owned()),
        _ => None,
    };
    let form = AddForm {
        protocol: "pop3".into(),
        security: "tls".into(),
        folder: "INBOX".into(),
        keep: true,
        ..AddForm::default()
    };
    render(&state, &ctx, &account, notice, form, None).await
}

/// The add form's fields.
#[derive(Deserialize)]
pub struct AddFields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    folder: String,
    /// A checkbox: present when ticked.
    keep: Option<String>,
}

/// The usual port for a protocol and security.
fn default_port(protocol: Protocol, security: Security) -> u16 {
    match (protocol, security) {
        (Protocol::Pop3, Security::Tls) => 995,
        (Protocol::Pop3, _) => 110,
        (Protocol::Imap, Security::Tls) => 993,
        (Protocol::Imap, _) => 143,
    }
}

/// A host name or IP literal as typed: letters, digits, `.`, `-`, `:` (IPv6) only.
fn clean_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= MAX_HOST
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    ok.then_some(host)
}

/// `POST /settings/accounts`: adds an account.
pub async fn add(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(f): Form<AddFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf_token)?;
    let shown = AddForm {
        protocol: f.protocol.clone(),
        host: f.host.trim().to_owned(),
        port: f.port.trim().to_owned(),
        security: f.security.clone(),
        login: f.login.trim().to_owned(),
        folder: f.folder.clone(),
        keep: f.keep.is_some(),
    };
    let refuse = |field, message| FieldError { field, message };
    let checked = async {
        let protocol = Protocol::parse(&f.protocol)
            .ok_or_else(|| refuse("protocol", "accounts.error.protocol"))?;
        let security = Security::parse(&f.security)
            .ok_or_else(|| refuse("security", "accounts.error.security"))?;
        let host = clean_host(&f.host).ok_or_else(|| refuse("host", "accounts.error.host"))?;
        let port = match f.port.trim() {
            "" => default_port(protocol, security),
            p => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| refuse("port", "accounts.error.port"))?,
        };
        let login = f.login.trim();
        if login.is_empty() || login.len() > MAX_LOGIN || login.chars().any(char::is_control) {
            return Err(refuse("login", "accounts.error.login"));
        }
        let password = f.password.as_str();
        if password.is_empty()
            || password.len() > MAX_PASSWORD
            || password.chars().any(char::is_control)
        {
            return Err(refuse("password", "accounts.error.password_field"));
        }
        let folders = sidebar_folders(&state, &ctx, &account)
            .await
            .map_err(|_| refuse("folder", "accounts.error.folder"))?;
        let folder_ok = folders.iter().any(|x| x.selectable && x.name == f.folder);
        if !folder_ok {
            return Err(refuse("folder", "accounts.error.folder"));
        }
        match crate::fetch::resolve(&host, port, security, state.fetcher.allow_loopback()).await {
            Ok(_) => {}
            Err(FetchError::Plaintext) => {
                return Err(refuse("security", "accounts.error.plaintext"));
            }
            Err(e) => return Err(refuse("host", e.key())),
        }
        Ok((protocol, security, host, port))
    }
    .await;
    let (protocol, security, host, port) = match checked {
        Ok(ok) => ok,
        Err(error) => return render(&state, &ctx, &account, None, shown, Some(error)).await,
    };
    let sealed = state.fetcher.seal(&f.password)?;
    let new = NewAccount {
        protocol,
        host: &host,
        port,
        security,
        login: f.login.trim(),
        sealed_password: &sealed,
        folder: &f.folder,
        keep_on_server: f.keep.is_some(),
    };
    match remote::add(&state.db, &account.username, &new).await {
        Ok(_) => Ok(Redirect::to("/settings/accounts?done=added").into_response()),
        Err(AddError::TooMany) => {
            let error = refuse("host", "accounts.error.too_many");
            render(&state, &ctx, &account, None, shown, Some(error)).await
        }
        Err(AddError::TooLong) => {
            let error = refuse("login", "accounts.error.login");
            render(&state, &ctx, &account, None, shown, Some(error)).await
        }
        Err(AddError::Db(e)) => Err(e.into()),
    }
}

/// The buttons' one field.
#[derive(Deserialize)]
pub struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /settings/accounts/{id}/fetch`: fetches now and waits for it (a run is bounded,
/// see [`crate::fetch`]); the row then shows the time and any error.
pub async fn fetch_now(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<TokenOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf_token)?;
    let target = match state.fetcher.fetch_now(&account, &id).await? {
        Started::NotFound => return Err(AppError::NotFound),
        Started::Busy => "/settings/accounts?done=busy".to_owned(),
        Started::Ran(Ok(progress)) => {
            format!("/settings/accounts?done=fetched&n={}", progress.fetched)
        }
        Started::Ran(Err(_)) => "/settings/accounts?done=failed".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

/// `POST /settings/accounts/{id}/delete`: forgets the account (mail already fetched stays).
pub async fn delete(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<TokenOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf_token)?;
    if !remote::remove(&state.db, &account.username, &id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/settings/accounts?done=removed").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            clean_host(" Pop.Example.COM. ").as_deref(),
            Some("pop.example.com")
        );
        assert_eq!(clean_host("::1").as_deref(), Some("::1"));
        for bad in ["", "a b", "h/x", "x@y", "a\r\nb", &"a".repeat(254)] {
            assert!(clean_host(bad).is_none(), "{bad:?}");
        }
        assert_eq!(default_port(Protocol::Pop3, Security::Tls), 995);
        assert_eq!(default_port(Protocol::Imap, Security::Starttls), 143);
    }
}
