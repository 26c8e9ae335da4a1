//! The settings page: identities (display name, signature and further From addresses,
//! stored by [`crate::store::identities`]), the interface language (the same cookie the
//! login page sets), and links to the other settings pages. The mail server, not Mailroom,
//! decides which From addresses a user may send as, so adding one is allowed here with a
//! warning that the server may refuse it. Also home to the small form helpers the contacts
//! page shares.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::{Lang, Tr},
    imap::{Account, Folder, ImapError},
    mime::address,
    store::{
        identities::{self, Identity},
        settings,
    },
    web::{
        contacts::address_message,
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        theme::{self, Theme},
    },
};

/// Most identities one user may keep.
pub const MAX_IDENTITIES: usize = 20;
/// Longest signature, in characters.
pub const MAX_SIGNATURE_CHARS: usize = 4000;
/// Longest display or contact name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// How long the language cookie set here lasts.
const LANG_COOKIE_DAYS: i64 = 365;

/// The sidebar's folders for pages that do not need IMAP themselves: if the server is
/// unreachable the page still works, with an empty sidebar. A rejected password still
/// sends the user to the login page.
pub(super) async fn sidebar_folders(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
) -> Result<Vec<Folder>, AppError> {
    match ctx.folders(&state.imap, account).await {
        Ok(folders) => Ok(folders),
        Err(ImapError::AuthFailed) => Err(AppError::LoginRequired),
        Err(e) => {
            tracing::warn!(error = %e, "folder list for the sidebar");
            Ok(Vec::new())
        }
    }
}

/// A name from a form, trimmed: `None` when it has control characters (a name ends up in
/// a header) or is over [`MAX_NAME_CHARS`].
pub(super) fn clean_name(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.chars().any(char::is_control) && name.chars().count() <= MAX_NAME_CHARS;
    ok.then(|| name.to_owned())
}

/// A signature from a form: line ends made `\n`, trailing blank space dropped; `None` when
/// it has other control characters than newline and tab, or is too long.
fn clean_signature(text: &str) -> Option<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim_end();
    let ok = !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
        && text.chars().count() <= MAX_SIGNATURE_CHARS;
    ok.then(|| text.to_owned())
}

/// One identity's form (or the "add" form), with the user's input and messages.
#[derive(Default)]
pub struct IdentityForm {
    /// Empty for the add form and for the login identity before it is saved.
    id: String,
    action: String,
    delete_action: Option<String>,
    email: String,
    display_name: String,
    signature: String,
    is_default: bool,
    /// The address is the login name: it cannot be changed or removed here.
    is_login: bool,
    email_error: Option<String>,
    name_error: Option<String>,
    signature_error: Option<String>,
    /// The server may refuse this address (it is not the login name).
    warning: Option<String>,
}

impl IdentityForm {
    fn from_identity(tr: Tr, username: &str, i: &Identity) -> IdentityForm {
        let is_login = i.email.eq_ignore_ascii_case(username);
        IdentityForm {
            action: if i.id.is_empty() {
                "/settings/identities".to_owned()
            } else {
                format!("/settings/identities/{}", i.id)
            },
            delete_action: (!i.id.is_empty() && !is_login)
                .then(|| format!("/settings/identities/{}/delete", i.id)),
            id: i.id.clone(),
            email: i.email.clone(),
            display_name: i.display_name.clone(),
            signature: i.signature.clone(),
            is_default: i.is_default,
            is_login,
            warning: (!is_login).then(|| {
                tr.tf(
                    "settings.identity.server_may_refuse",
                    &[("address", i.email.as_str().into())],
                )
            }),
            ..IdentityForm::default()
        }
    }
}

/// The settings page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/settings.html")]
pub struct SettingsPage {
    l: Layout,
    notice: Option<String>,
    identities: Vec<IdentityForm>,
    add: IdentityForm,
    langs: Vec<(&'static str, &'static str, bool)>,
    /// The server speaks ManageSieve: link the mail-rule pages (else say why they are missing).
    rules_available: bool,
    /// The undo window in seconds, and the choices offered.
    undo_send: u64,
    undo_choices: &'static [u64],
    /// The time-zone form (`crate::zone`).
    zone: ZoneField,
    /// Every zone name, for the field's suggestions.
    zone_names: Vec<&'static str>,
    /// The theme choices as (value, label, chosen).
    themes: Vec<(&'static str, &'static str, bool)>,
}

/// The time-zone form: the zone in use, and what the field shows.
pub struct ZoneField {
    /// The zone dates are shown in now (`UTC`, `Asia/Shanghai`).
    in_use: String,
    /// The zone is the configured default: the user saved none.
    is_default: bool,
    /// The field's value: the saved zone, or what the user typed when it was refused.
    value: String,
    error: Option<String>,
}

/// The user's identities as the page lists them: stored ones, plus the login identity
/// (derived from the login name) when it is not stored yet.
fn page_identities(tr: Tr, username: &str, stored: &[Identity]) -> Vec<IdentityForm> {
    let mut forms: Vec<IdentityForm> = stored
        .iter()
        .map(|i| IdentityForm::from_identity(tr, username, i))
        .collect();
    if !forms.iter().any(|f| f.is_login) {
        let mut derived = Identity::derived(username);
        derived.is_default = !stored.iter().any(|i| i.is_default);
        forms.push(IdentityForm::from_identity(tr, username, &derived));
    }
    forms
}

/// Renders the page; `failed` is a form to show with the user's input instead of what is
/// stored (matched by id, else the login form, else the add form).
async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<String>,
    failed: Option<IdentityForm>,
) -> Result<Response, AppError> {
    render_with(state, ctx, account, notice, failed, None).await
}

/// [`render`], with the time-zone field showing `zone_input` and its error when the
/// zone form was refused.
async fn render_with(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<String>,
    failed: Option<IdentityForm>,
    zone_input: Option<(String, String)>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let saved = crate::zone::saved_zone(&state.db, &account.username).await;
    let in_use = saved.unwrap_or(state.config.default_timezone);
    let zone = match zone_input {
        Some((value, error)) => ZoneField {
            in_use: in_use.name().to_owned(),
            is_default: saved.is_none(),
            value,
            error: Some(error),
        },
        None => ZoneField {
            in_use: in_use.name().to_owned(),
            is_default: saved.is_none(),
            value: saved.map(|z| z.name().to_owned()).unwrap_or_default(),
            error: None,
        },
    };
    let user = &account.username;
    let own = state.directory.address_of(user);
    let (folders, stored) = tokio::join!(
        sidebar_folders(state, ctx, account),
        identities::list(&state.db, user, &own)
    );
    let (folders, stored) = (folders?, stored?);
    let stored: Vec<Identity> = stored.into_iter().filter(|i| !i.id.is_empty()).collect();
    let mut forms = page_identities(tr, &own, &stored);
    let mut add = IdentityForm {
        action: "/settings/identities".to_owned(),
        warning: Some(tr.t("settings.identity.other_address").to_owned()),
        ..IdentityForm::default()
    };
    if let Some(failed) = failed {
        let slot = forms.iter_mut().find(|f| {
            if failed.id.is_empty() {
                failed.is_login && f.is_login && f.id.is_empty()
            } else {
                f.id == failed.id
            }
        });
        match slot {
            Some(slot) => {
                // Being the default is not something this form changes back.
                let was_default = slot.is_default;
                *slot = failed;
                slot.is_default |= was_default;
            }
            None => add = failed,
        }
    }
    let page = SettingsPage {
        l: Layout::with_folders(ctx, tr.t("settings.title"), user, &folders, None).await,
        notice,
        identities: forms,
        add,
        langs: Lang::ALL
            .iter()
            .map(|l| (l.tag(), l.native_name(), *l == tr.lang()))
            .collect(),
        rules_available: state.sieve.available(account).await,
        undo_send: crate::web::outbox::undo_window(state, &account.username).await,
        undo_choices: crate::web::outbox::UNDO_CHOICES,
        zone,
        zone_names: crate::zone::names().collect(),
        themes: Theme::ALL
            .iter()
            .map(|t| (t.as_str(), tr.t(t.label_key()), *t == ctx.theme))
            .collect(),
    };
    Ok(page.into_response())
}

/// `GET /settings` query: what the last save reports.
#[derive(Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// `GET /settings`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, AppError> {
    let notice = match q.saved.as_deref() {
        Some("removed") => Some(ctx.tr.t("settings.removed").to_owned()),
        Some(_) => Some(ctx.tr.t("settings.saved").to_owned()),
        None => None,
    };
    render(&state, &ctx, &account, notice, None).await
}

/// An identity form (each identity's, and the add form).
#[derive(Deserialize)]
pub struct IdentityFields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    signature: String,
    /// The "use by default" checkbox: present when ticked.
    default: Option<String>,
}

/// Checks an identity form against the user's stored identities. `locked_email` is the
/// login name when the form belongs to the login identity, whose address cannot change.
fn validate(
    tr: Tr,
    username: &str,
    stored: &[Identity],
    id: &str,
    locked_email: bool,
    fields: &IdentityFields,
) -> Result<Identity, Box<IdentityForm>> {
    let email_input = if locked_email {
        username.to_owned()
    } else {
        fields.email.clone()
    };
    let is_login = email_input.trim().eq_ignore_ascii_case(username);
    let mut form = IdentityForm {
        id: id.to_owned(),
        action: if id.is_empty() {
            "/settings/identities".to_owned()
        } else {
            format!("/settings/identities/{id}")
        },
        delete_action: (!id.is_empty() && !is_login)
            .then(|| format!("/settings/identities/{id}/delete")),
        email: email_input.clone(),
        display_name: fields.display_name.clone(),
        signature: fields.signature.clone(),
        is_default: fields.default.is_some(),
        is_login,
        warning: (!is_login).then(|| tr.t("settings.identity.other_address").to_owned()),
        ..IdentityForm::default()
    };
    let email = if locked_email {
        Some(username.to_owned())
    } else {
        match address::parse_email(&email_input) {
            Ok(e) => Some(e),
            Err(e) => {
                form.email_error = Some(address_message(tr, &e));
                None
            }
        }
    };
    if let Some(e) = &email {
        let taken = stored
            .iter()
            .any(|i| i.id != id && i.email.eq_ignore_ascii_case(e));
        if taken {
            form.email_error = Some(tr.t("settings.error.duplicate").to_owned());
        } else if id.is_empty() && stored.len() >= MAX_IDENTITIES {
            form.email_error =
                Some(tr.tf("settings.error.too_many", &[("max", MAX_IDENTITIES.into())]));
        }
    }
    let name = clean_name(&fields.display_name);
    if name.is_none() {
        form.name_error = Some(tr.t("form.error.name").to_owned());
    }
    let signature = clean_signature(&fields.signature);
    if signature.is_none() {
        form.signature_error = Some(tr.tf(
            "settings.error.signature",
            &[("max", MAX_SIGNATURE_CHARS.into())],
        ));
    }
    match (email, name, signature) {
        (Some(email), Some(display_name), Some(signature)) if form.email_error.is_none() => {
            Ok(Identity {
                id: id.to_owned(),
                email,
                display_name,
                signature,
                is_default: fields.default.is_some(),
            })
        }
        _ => Err(Box::new(form)),
    }
}

/// The user's saved identities (without the derived one `identities::list` adds).
async fn stored_identities(state: &AppState, username: &str) -> Result<Vec<Identity>, AppError> {
    let all = identities::list(&state.db, username, "").await?;
    Ok(all.into_iter().filter(|i| !i.id.is_empty()).collect())
}

/// `POST /settings/identities`: saves the login identity the first time, or adds a From
/// address.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(fields): Form<IdentityFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&fields.csrf_token)?;
    let user = &account.username;
    let own = state.directory.address_of(user);
    let stored = stored_identities(&state, user).await?;
    let mut identity = match validate(ctx.tr, &own, &stored, "", false, &fields) {
        Ok(i) => i,
        Err(form) => return render(&state, &ctx, &account, None, Some(*form)).await,
    };
    let is_login = identity.email.eq_ignore_ascii_case(&own);
    if stored.is_empty() {
        if is_login {
            identity.is_default = true;
        } else {
            // Keep the login identity first and default: store it before the new one.
            identities::save(&state.db, user, &Identity::derived(&own)).await?;
        }
    }
    identities::save(&state.db, user, &identity).await?;
    Ok(Redirect::to("/settings?saved=identity").into_response())
}

/// `POST /settings/identities/{id}`: changes an identity (the login identity keeps its
/// address; the default stays default until another one is chosen).
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(fields): Form<IdentityFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&fields.csrf_token)?;
    let user = &account.username;
    let stored = stored_identities(&state, user).await?;
    let current = stored
        .iter()
        .find(|i| i.id == id)
        .ok_or(AppError::NotFound)?;
    let own = state.directory.address_of(user);
    let locked = current.email.eq_ignore_ascii_case(&own);
    let mut identity = match validate(ctx.tr, &own, &stored, &id, locked, &fields) {
        Ok(i) => i,
        Err(form) => return render(&state, &ctx, &account, None, Some(*form)).await,
    };
    identity.is_default |= current.is_default;
    identities::save(&state.db, user, &identity).await?;
    Ok(Redirect::to("/settings?saved=identity").into_response())
}

/// `POST /settings/identities/{id}/delete`: removes a From address. The login identity
/// stays; if the default goes, the login identity becomes the default again.
pub async fn delete(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<crate::web::layout::CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let user = &account.username;
    let stored = stored_identities(&state, user).await?;
    let Some(current) = stored.iter().find(|i| i.id == id) else {
        return Ok(Redirect::to("/settings").into_response());
    };
    let own = state.directory.address_of(user);
    if current.email.eq_ignore_ascii_case(&own) {
        // The page offers no button for this; a forged request changes nothing.
        return Ok(Redirect::to("/settings").into_response());
    }
    identities::delete(&state.db, user, &id).await?;
    if current.is_default {
        let next = stored
            .iter()
            .filter(|i| i.id != id)
            .find(|i| i.email.eq_ignore_ascii_case(&own))
            .or_else(|| stored.iter().find(|i| i.id != id));
        if let Some(next) = next {
            let mut next = next.clone();
            next.is_default = true;
            identities::save(&state.db, user, &next).await?;
        }
    }
    Ok(Redirect::to("/settings?saved=removed").into_response())
}

/// The language form.
#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lang: String,
}

/// `POST /settings/language`: sets the language cookie (the one the login page sets).
pub async fn language(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: CookieJar,
    CurrentUser(_): CurrentUser,
    Form(form): Form<LanguageForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let lang = Lang::from_tag(&form.lang).ok_or(AppError::BadRequest("settings.error.language"))?;
    let c = &state.cookies;
    let mut cookie = c.build(c.lang.clone(), lang.tag().to_owned());
    cookie.set_max_age(time::Duration::days(LANG_COOKIE_DAYS));
    Ok((jar.add(cookie), Redirect::to("/settings?saved=language")).into_response())
}

/// The time-zone form.
#[derive(Deserialize)]
pub struct ZoneForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    timezone: String,
}

/// `POST /settings/timezone`: saves the user's zone (an IANA name); an empty field goes
/// back to the default. A name that is not a zone shows the form again with it.
pub async fn timezone(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<ZoneForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let user = &account.username;
    if form.timezone.trim().is_empty() {
        crate::store::settings::remove(&state.db, user, crate::zone::SETTING).await?;
        return Ok(Redirect::to("/settings?saved=timezone").into_response());
    }
    match crate::zone::save(&state.db, user, &form.timezone).await {
        Ok(_) => Ok(Redirect::to("/settings?saved=timezone").into_response()),
        Err(Some(e)) => Err(e.into()),
        Err(None) => {
            // Shown back as typed (escaped by the template), cut to a sane length.
            let typed: String = form.timezone.chars().take(100).collect();
            let error = ctx.tr.t("settings.timezone.invalid").to_owned();
            let mut res =
                render_with(&state, &ctx, &account, None, None, Some((typed, error))).await?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

/// The appearance form.
#[derive(Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    theme: String,
}

/// `POST /settings/theme`: saves the colour theme (`auto`, `light` or `dark`) for this
/// user; every page renders it from then on (`web::theme`). The form is a `<select>`, so
/// any other value is a forged request and refused, as for the language.
pub async fn theme(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<ThemeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let chosen = Theme::parse(&form.theme).ok_or(AppError::BadRequest("settings.error.theme"))?;
    settings::set(
        &state.db,
        &account.username,
        theme::SETTING,
        chosen.as_str(),
    )
    .await?;
    Ok(Redirect::to("/settings?saved=theme").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_signatures_are_checked() {
        assert_eq!(clean_name("  Ann Lee ").as_deref(), Some("Ann Lee"));
        assert_eq!(clean_name("").as_deref(), Some(""));
        assert!(clean_name("Ann\r\nBcc: x@y").is_none());
        assert!(clean_name(&"n".repeat(MAX_NAME_CHARS + 1)).is_none());
        assert_eq!(
            clean_signature("-- \r\nAnn\r\n\tLee\n\n").as_deref(),
            Some("-- \nAnn\n\tLee")
        );
        assert!(clean_signature("bell\u{7}").is_none());
        assert!(clean_signature(&"s".repeat(MAX_SIGNATURE_CHARS + 1)).is_none());
    }
}
