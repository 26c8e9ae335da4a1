//! The address book: the contacts page (list, search, add, edit, delete), vCard import and
//! export, the `/contacts/suggest` endpoint the recipient fields call as the user types,
//! and the `<datalist>` of contacts that forms include so suggestions work without
//! JavaScript. Storage is [`crate::store::contacts`]; parsing is [`crate::mime::address`]
//! and [`crate::mime::vcard`]. Handlers stay thin: validate, call the store, show the page
//! again with the input and a message beside the field, or redirect.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Json,
    extract::{Multipart, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::Account,
    mime::{
        address::{self, AddressError},
        vcard::{self, MAX_VCARD_BYTES, VcardError},
    },
    model::Address,
    store::{
        Db,
        contacts::{self, Contact},
    },
    web::{
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        settings::{clean_name, sidebar_folders},
    },
};

/// Most contacts one user may keep (imports stop there).
pub const MAX_CONTACTS: i64 = 10_000;
/// Most suggestions `/contacts/suggest` returns.
const SUGGEST_LIMIT: i64 = 10;
/// Longest query `/contacts/suggest` looks at, in characters.
const MAX_QUERY_CHARS: usize = 100;
/// How many contacts the `<datalist>` of a form carries (the most used ones).
pub const DATALIST_LIMIT: i64 = 200;

/// One `<option>` of the contacts datalist.
pub struct DatalistOption {
    /// What the field gets: `Name <a@b>` (quoted as needed) or the bare address.
    pub value: String,
    /// What the list shows beside it.
    pub label: String,
}

/// The `<datalist id="contacts-list">` a form with recipient fields includes. Put a field
/// `contacts_datalist: ContactsDatalist` in the page struct, fill it with
/// [`ContactsDatalist::load`], add `{% include "components/contacts_datalist.html" %}` to
/// the template, and give each recipient input `list="contacts-list" data-suggest`:
/// browsers then offer the user's contacts as they type (phones too), and `static/app.js`
/// refines the list from `/contacts/suggest` for the address after the last comma.
pub struct ContactsDatalist {
    pub options: Vec<DatalistOption>,
}

impl ContactsDatalist {
    /// The user's [`DATALIST_LIMIT`] most used contacts.
    pub async fn load(db: &Db, username: &str) -> Result<ContactsDatalist, AppError> {
        let top = contacts::top(db, username, DATALIST_LIMIT).await?;
        let options = top
            .into_iter()
            .map(|c| DatalistOption {
                value: address::format_address(&contact_address(&c)),
                label: if c.name.is_empty() {
                    c.email.clone()
                } else {
                    c.name.clone()
                },
            })
            .collect();
        Ok(ContactsDatalist { options })
    }
}

fn contact_address(c: &Contact) -> Address {
    Address {
        name: (!c.name.is_empty()).then(|| c.name.clone()),
        email: c.email.clone(),
    }
}

/// One row of the list.
pub struct ContactRow {
    id: String,
    name: String,
    email: String,
    collected: bool,
    edit_href: String,
    update_action: String,
    delete_action: String,
}

/// The add form, or the edit form of one row, with what the user typed and the messages.
#[derive(Default)]
pub struct ContactForm {
    /// Empty for the add form.
    id: String,
    name: String,
    email: String,
    name_error: Option<String>,
    email_error: Option<String>,
}

/// The contacts page: the list, the add form, the import form.
#[derive(Template, WebTemplate)]
#[template(path = "pages/contacts.html")]
pub struct ContactsPage {
    l: Layout,
    rows: Vec<ContactRow>,
    count_label: String,
    q: String,
    no_match: Option<String>,
    notice: Option<String>,
    add: ContactForm,
    /// The row being edited, shown as a form in place.
    edit: ContactForm,
    import_error: Option<String>,
}

/// What [`render`] should show besides the stored contacts.
#[derive(Default)]
struct PageState {
    q: String,
    notice: Option<String>,
    add: ContactForm,
    edit: ContactForm,
    import_error: Option<String>,
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    page: PageState,
) -> Result<ContactsPage, AppError> {
    let tr = ctx.tr;
    let (folders, all) = tokio::join!(
        sidebar_folders(state, ctx, account),
        contacts::list(&state.db, &account.username)
    );
    let (folders, all) = (folders?, all?);
    let total = all.len();
    let needle = page.q.trim().to_lowercase();
    let rows: Vec<ContactRow> = all
        .into_iter()
        .filter(|c| {
            needle.is_empty()
                || c.email.to_lowercase().contains(&needle)
                || c.name.to_lowercase().contains(&needle)
        })
        .map(|c| ContactRow {
            edit_href: format!("/contacts?edit={}#edit", c.id),
            update_action: format!("/contacts/{}", c.id),
            delete_action: format!("/contacts/{}/delete", c.id),
            id: c.id,
            name: c.name,
            email: c.email,
            collected: c.collected,
        })
        .collect();
    let no_match = (rows.is_empty() && !needle.is_empty())
        .then(|| tr.tf("contacts.no_match", &[("query", page.q.as_str().into())]));
    Ok(ContactsPage {
        l: Layout::with_folders(
            ctx,
            tr.t("contacts.title"),
            &account.username,
            &folders,
            None,
        )
        .await,
        rows,
        count_label: tr.tf("contacts.count", &[("count", total.into())]),
        q: page.q,
        no_match,
        notice: page.notice,
        add: page.add,
        edit: page.edit,
        import_error: page.import_error,
    })
}

/// `GET /contacts` query: filter, row to edit, and what the last action reports.
#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    edit: Option<String>,
    saved: Option<String>,
    deleted: Option<String>,
    imported: Option<u32>,
    skipped: Option<u32>,
}

/// `GET /contacts`: the list (`?q=` filters it, `?edit={id}` opens one row as a form).
pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let mut page = PageState {
        q: q.q
            .unwrap_or_default()
            .chars()
            .take(MAX_QUERY_CHARS)
            .collect(),
        ..PageState::default()
    };
    if let Some(id) = q.edit.as_deref().filter(|id| valid_id(id)) {
        let contact = contacts::get(&state.db, &account.username, id)
            .await?
            .ok_or(AppError::NotFound)?;
        page.edit = ContactForm {
            id: contact.id,
            name: contact.name,
            email: contact.email,
            ..ContactForm::default()
        };
    }
    page.notice = if let Some(n) = q.imported {
        Some(tr.tf(
            "contacts.import.done",
            &[
                ("imported", n.into()),
                ("skipped", q.skipped.unwrap_or(0).into()),
            ],
        ))
    } else if q.saved.is_some() {
        Some(tr.t("contacts.saved").to_owned())
    } else if q.deleted.is_some() {
        Some(tr.t("contacts.deleted").to_owned())
    } else {
        None
    };
    Ok(render(&state, &ctx, &account, page).await?.into_response())
}

/// The add and edit forms.
#[derive(Deserialize)]
pub struct ContactFields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// Checks a contact form: `Ok((name, email))`, or the form back with messages. The
/// address field also takes `Name <a@b>`; the name then fills an empty name field.
fn validate(tr: Tr, id: &str, fields: &ContactFields) -> Result<(String, String), ContactForm> {
    let mut form = ContactForm {
        id: id.to_owned(),
        name: fields.name.clone(),
        email: fields.email.clone(),
        ..ContactForm::default()
    };
    let name = clean_name(&fields.name);
    if name.is_none() {
        form.name_error = Some(tr.t("form.error.name").to_owned());
    }
    let parsed = address::parse_address(&fields.email);
    if let Err(e) = &parsed {
        form.email_error = Some(address_message(tr, e));
    }
    match (name, parsed) {
        (Some(name), Ok(addr)) => {
            let name = if name.is_empty() {
                addr.name.and_then(|n| clean_name(&n)).unwrap_or_default()
            } else {
                name
            };
            Ok((name, addr.email))
        }
        _ => Err(form),
    }
}

/// The message shown beside an address field.
pub fn address_message(tr: Tr, e: &AddressError) -> String {
    tr.tf(e.kind.message_key(), &[("entry", e.text.as_str().into())])
}

/// `POST /contacts`: adds a contact (or renames the one with that address).
pub async fn add(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(fields): Form<ContactFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&fields.csrf_token)?;
    let user = &account.username;
    let again = async |add: ContactForm| -> Result<Response, AppError> {
        let page = PageState {
            add,
            ..PageState::default()
        };
        Ok(render(&state, &ctx, &account, page).await?.into_response())
    };
    let (name, email) = match validate(ctx.tr, "", &fields) {
        Ok(v) => v,
        Err(form) => return again(form).await,
    };
    let known = contacts::find_by_email(&state.db, user, &email).await?;
    if known.is_none() && contacts::count(&state.db, user).await? >= MAX_CONTACTS {
        let mut form = ContactForm {
            name: fields.name.clone(),
            email: fields.email.clone(),
            ..ContactForm::default()
        };
        form.email_error = Some(
            ctx.tr
                .tf("contacts.error.full", &[("max", MAX_CONTACTS.into())]),
        );
        return again(form).await;
    }
    contacts::upsert(&state.db, user, &name, &email).await?;
    Ok(Redirect::to("/contacts?saved=1").into_response())
}

/// `POST /contacts/{id}`: changes a contact's name and address.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(fields): Form<ContactFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&fields.csrf_token)?;
    let user = &account.username;
    if !valid_id(&id) || contacts::get(&state.db, user, &id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let checked = match validate(ctx.tr, &id, &fields) {
        Ok((name, email)) => {
            let other = contacts::find_by_email(&state.db, user, &email).await?;
            if other.is_some_and(|c| c.id != id) {
                let mut form = ContactForm {
                    id: id.clone(),
                    name: fields.name.clone(),
                    email: fields.email.clone(),
                    ..ContactForm::default()
                };
                form.email_error = Some(ctx.tr.t("contacts.error.duplicate").to_owned());
                Err(form)
            } else {
                Ok((name, email))
            }
        }
        Err(form) => Err(form),
    };
    match checked {
        Ok((name, email)) => {
            contacts::update(&state.db, user, &id, &name, &email).await?;
            Ok(Redirect::to("/contacts?saved=1").into_response())
        }
        Err(edit) => {
            let page = PageState {
                edit,
                ..PageState::default()
            };
            Ok(render(&state, &ctx, &account, page).await?.into_response())
        }
    }
}

/// `POST /contacts/{id}/delete`: deletes a contact (an unknown id is already gone).
pub async fn delete(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<crate::web::layout::CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if valid_id(&id) {
        contacts::delete(&state.db, &account.username, &id).await?;
    }
    Ok(Redirect::to("/contacts?deleted=1").into_response())
}

/// `POST /contacts/import`: a `multipart/form-data` upload of a `.vcf` file (field
/// `file`). Reports how many contacts were imported and how many entries skipped.
pub async fn import(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let mut too_large = false;
    // The form puts the token first; a body over the limit (or a broken one) ends the
    // loop with an error, which counts as "too large" once the token is known.
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                too_large = true;
                break;
            }
        };
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => match read_capped(field, MAX_VCARD_BYTES).await {
                Some(bytes) => file = Some(bytes),
                None => {
                    too_large = true;
                    break;
                }
            },
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let error = |key: &str| Some(tr.tf(key, &[("max", "1 MB".into())]));
    let import_error = if too_large {
        error("contacts.import.too_large")
    } else {
        match file.filter(|f| !f.is_empty()).map(|f| vcard::parse(&f)) {
            None => error("contacts.import.none"),
            Some(Err(VcardError::TooLarge)) => error("contacts.import.too_large"),
            Some(Err(VcardError::NotVcard)) => error("contacts.import.not_vcard"),
            Some(Ok(found)) => {
                let pairs: Vec<(String, String)> = found
                    .entries
                    .into_iter()
                    .map(|e| (e.name, e.email))
                    .collect();
                let stored =
                    contacts::import(&state.db, &account.username, &pairs, MAX_CONTACTS).await?;
                let skipped = found.skipped + (pairs.len() - stored);
                let target = format!("/contacts?imported={stored}&skipped={skipped}");
                return Ok(Redirect::to(&target).into_response());
            }
        }
    };
    let page = PageState {
        import_error,
        ..PageState::default()
    };
    Ok(render(&state, &ctx, &account, page).await?.into_response())
}

/// Reads an upload field up to `max` bytes; `None` when it is larger or breaks off.
async fn read_capped(
    mut field: axum::extract::multipart::Field<'_>,
    max: usize,
) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.ok()? {
        if buf.len() + chunk.len() > max {
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    Some(buf)
}

/// `GET /contacts/export.vcf`: every contact as a vCard 4.0 download.
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
) -> Result<Response, AppError> {
    let all = contacts::list(&state.db, &account.username).await?;
    let body = vcard::export(all.iter().map(|c| (c.name.as_str(), c.email.as_str())));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/vcard; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"contacts.vcf\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /contacts/suggest` query.
#[derive(Deserialize)]
pub struct SuggestQuery {
    q: Option<String>,
}

/// One suggestion, as `/contacts/suggest` returns it.
#[derive(Serialize)]
pub struct Suggestion {
    name: String,
    email: String,
}

/// `GET /contacts/suggest?q=`: up to [`SUGGEST_LIMIT`] of the user's contacts matching
/// `q`, as JSON `[{"name", "email"}]`. Empty `q`, empty list; no login, 401 (a script
/// calls this, so no redirect to the login page).
pub async fn suggest(
    State(state): State<AppState>,
    user: Result<CurrentUser, AppError>,
    Query(q): Query<SuggestQuery>,
) -> Result<Response, AppError> {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    let Ok(CurrentUser(account)) = user else {
        let empty: Vec<Suggestion> = Vec::new();
        return Ok((StatusCode::UNAUTHORIZED, no_store, Json(empty)).into_response());
    };
    let q: String =
        q.q.unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_QUERY_CHARS)
            .collect();
    let found = if q.is_empty() {
        Vec::new()
    } else {
        contacts::suggest(&state.db, &account.username, &q, SUGGEST_LIMIT).await?
    };
    let list: Vec<Suggestion> = found
        .into_iter()
        .map(|c| Suggestion {
            name: c.name,
            email: c.email,
        })
        .collect();
    Ok((no_store, Json(list)).into_response())
}

/// Row ids are short base64url tokens; anything else cannot name a contact.
fn valid_id(id: &str) -> bool {
    crate::ids::is_row_id(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page that includes the datalist the way compose does.
    #[derive(Template)]
    #[template(
        source = r#"<input name="to" list="contacts-list" data-suggest>{% include "components/contacts_datalist.html" %}"#,
        ext = "html"
    )]
    struct Host {
        contacts_datalist: ContactsDatalist,
    }

    #[tokio::test]
    async fn datalist_offers_the_users_contacts_most_used_first_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::store::connect(&url).await.unwrap();
        let jane = Address {
            name: Some("Doe, Jane".into()),
            email: "jane@example.test".into(),
        };
        contacts::collect(&db, "u", std::slice::from_ref(&jane))
            .await
            .unwrap();
        contacts::collect(&db, "u", &[jane]).await.unwrap();
        contacts::upsert(&db, "u", "<b>Bob</b>", "bob@example.test")
            .await
            .unwrap();
        contacts::upsert(&db, "u", "", "plain@example.test")
            .await
            .unwrap();
        contacts::upsert(&db, "other", "Eve", "eve@example.test")
            .await
            .unwrap();

        let list = ContactsDatalist::load(&db, "u").await.unwrap();
        let html = Host {
            contacts_datalist: list,
        }
        .render()
        .unwrap();
        assert!(!html.contains("<b>"), "{html}");
        let doc = scraper::Html::parse_fragment(&html);
        let sel = scraper::Selector::parse("datalist#contacts-list option").unwrap();
        let options: Vec<(String, String)> = doc
            .select(&sel)
            .map(|o| {
                (
                    o.value().attr("value").unwrap_or("").to_owned(),
                    o.text().collect(),
                )
            })
            .collect();
        assert_eq!(
            options,
            [
                (
                    "\"Doe, Jane\" <jane@example.test>".to_owned(),
                    "Doe, Jane".to_owned()
                ),
                (
                    "\"<b>Bob</b>\" <bob@example.test>".to_owned(),
                    "<b>Bob</b>".to_owned()
                ),
                (
                    "plain@example.test".to_owned(),
                    "plain@example.test".to_owned()
                ),
            ]
        );
        // Every value reads back as the contact's address.
        for (value, _) in &options {
            assert_eq!(address::parse_address_list(value).unwrap().len(), 1);
        }
    }

    #[test]
    fn ids_are_checked_before_any_query() {
        assert!(valid_id("AbC-_09xyzAbC-_0"));
        for bad in ["", "../x", "a b", "a%2Fb", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
