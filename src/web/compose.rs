//! Writing mail: the compose form (new, reply, reply all, forward, reopened draft), sending
//! it, saving it as a draft, and the read-receipt answer from the message page.
//!
//! Nothing the user typed is ever lost. A mistake shows the form again with every field
//! and a message beside the wrong one; uploaded files are staged in the database under the
//! form's random compose id, so they stay attached without JavaScript; a failed send saves
//! the message to Drafts and says why; a form posted after the session expired is parked
//! and comes back after the login. The compose id doubles as the idempotency key: a send
//! is claimed in the database before SMTP, so a double click or a reload sends once.
//!
//! Nothing here trusts the form's hidden fields with the user's mail or our disk: only a
//! browser whose real login just ended may park (the resume cookie, `web::resume`), within
//! caps, and only that user in that browser gets the form back, with `draft`, `origin` and
//! `back` checked again; a replaced draft is deleted only when the server says it is a
//! draft in Drafts; and opening a draft (a GET) changes nothing anywhere.
//!
//! The pieces live elsewhere: building messages in [`crate::mime::compose`], SMTP in
//! [`crate::smtp`], Sent/Drafts and flags in [`crate::imap`], staging in
//! [`crate::store::compose`]. This file only wires them to HTTP.

use std::collections::HashSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    app::AppState,
    config::Config,
    error::AppError,
    i18n::Tr,
    imap::{Account, Appended, MessageFlag, SpecialUse},
    mime::{
        self,
        address::{format_address, parse_address_list},
        compose::{
            self as build, Attachment, Copy, ForwardLabels, Mdn, Original, Outgoing, Priority,
        },
    },
    model::Address,
    smtp::{DsnRequest, Envelope, Smtp, SmtpError},
    store::{self, compose::Claim, identities::Identity},
    web::{
        contacts::{ContactsDatalist, address_message},
        encode_segment,
        extract::CurrentUser,
        format,
        layout::{Layout, PageCtx},
        mailbox_href, message_href, resume,
        session::random_token,
    },
};

/// Longest subject accepted, in bytes.
const MAX_SUBJECT: usize = 1000;
/// Bytes for headers and MIME structure when a message's size is estimated.
const OVERHEAD: u64 = 8 * 1024;

/// The multipart body limit of `POST /compose`: half again the message size limit plus a
/// megabyte. Up to this we read everything and refuse politely (the form comes back with
/// a message); only beyond it does the upload stop short.
pub fn body_limit(config: &Config) -> DefaultBodyLimit {
    let max = config.max_message_size;
    let cap = max.saturating_add(max / 2).saturating_add(1024 * 1024);
    DefaultBodyLimit::max(usize::try_from(cap).unwrap_or(usize::MAX))
}

/// The compose form's fields, as posted (and as parked when the session expired).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ComposeForm {
    /// Random per form; the idempotency key and the staging key.
    compose_id: String,
    /// The identity's address.
    from: String,
    to: String,
    cc: String,
    bcc: String,
    subject: String,
    body: String,
    request_mdn: bool,
    request_dsn: bool,
    priority: String,
    /// `inline` or `attachment`.
    forward_mode: String,
    /// `reply INBOX/42` or `forward INBOX/42`.
    origin: String,
    /// A forward whose original is not yet in the text (added when sending).
    include_original: bool,
    in_reply_to: String,
    /// Space-separated message ids.
    references: String,
    /// `{mailbox}/{uid}` of the draft this form replaces.
    draft: String,
    /// Where to go after sending (a `/mail/…` path).
    back: String,
    /// Ids of staged files the user kept ticked.
    #[serde(skip)]
    staged: Vec<String>,
    /// `send` or `draft`.
    #[serde(skip)]
    action: String,
    #[serde(skip)]
    csrf_token: String,
}

/// A file from this request's file input.
struct Upload {
    filename: String,
    content_type: String,
    data: Vec<u8>,
}

/// Everything read from the multipart body.
struct Posted {
    form: ComposeForm,
    uploads: Vec<Upload>,
    /// Files left out because they would pass the size limit.
    refused: Vec<String>,
    /// The body stopped short (over the hard cap, or malformed).
    truncated: bool,
}

/// Messages shown beside the fields (already translated).
#[derive(Default)]
pub struct Errors {
    general: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    bcc: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    attachments: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.general.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.cc.is_some()
            || self.bcc.is_some()
            || self.subject.is_some()
            || self.body.is_some()
            || self.attachments.is_some()
    }
}

/// One identity in the From select.
pub struct FromOption {
    value: String,
    label: String,
    selected: bool,
}

/// One staged file, with its keep checkbox.
pub struct StagedRow {
    id: String,
    filename: String,
    size: String,
}

/// The compose page: the form with what the user typed, the messages beside the fields,
/// the staged files and the choices (identity, forward mode, priority, receipts).
#[derive(Template, WebTemplate)]
#[template(path = "pages/compose.html")]
pub struct ComposePage {
    l: Layout,
    f: ComposeForm,
    errors: Errors,
    /// Success or information line (e.g. "saved to Drafts").
    notice: Option<String>,
    identities: Vec<FromOption>,
    staged: Vec<StagedRow>,
    /// The form continues a forward: show the inline/attachment choice.
    is_forward: bool,
    /// "The original message … will be included".
    forward_note: Option<String>,
    /// "At most … in total".
    size_hint: String,
    contacts_datalist: ContactsDatalist,
}

impl ComposePage {
    fn priority_is(&self, p: &str) -> bool {
        let current = if self.f.priority.is_empty() {
            "normal"
        } else {
            self.f.priority.as_str()
        };
        current == p
    }

    fn forward_mode_is(&self, m: &str) -> bool {
        let current = if self.f.forward_mode == "attachment" {
            "attachment"
        } else {
            "inline"
        };
        current == m
    }
}

/// What `GET /compose` can start from.
#[derive(Debug, Default, Deserialize)]
pub struct ComposeQuery {
    reply: Option<String>,
    reply_all: Option<String>,
    forward: Option<String>,
    draft: Option<String>,
    /// A form parked during a login.
    restore: Option<String>,
    /// A notice to show (after saving a draft).
    saved: Option<String>,
}

/// `GET /compose`: an empty form, or one prefilled for a reply, a forward or a draft.
pub async fn form(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    headers: HeaderMap,
    Query(q): Query<ComposeQuery>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let identities = store::identities::list(&state.db, &account.username).await?;
    let default = identities
        .first()
        .cloned()
        .unwrap_or_else(|| Identity::derived(&account.username));
    let mut f = ComposeForm {
        compose_id: random_token(16),
        from: default.email.clone(),
        priority: "normal".into(),
        forward_mode: "inline".into(),
        back: referer_folder(&headers).unwrap_or_else(|| mailbox_href("INBOX")),
        ..ComposeForm::default()
    };
    let signature = signature_block(&default.signature);
    let mut notice = None;
    let mut forward_note = None;
    let mut draft_parts = Vec::new();

    if let Some((r, all)) = q
        .reply
        .as_deref()
        .map(|r| (r, false))
        .or(q.reply_all.as_deref().map(|r| (r, true)))
    {
        let (mailbox, uid) = parse_ref(r)?;
        let o = original(&state, &account, &mailbox, uid).await?;
        let own: Vec<String> = identities
            .iter()
            .map(|i| i.email.clone())
            .chain([account.username.clone()])
            .collect();
        let (to, cc) = build::reply_recipients(&o, all, &own);
        f.to = join_addresses(&to);
        f.cc = join_addresses(&cc);
        f.subject = build::reply_subject(&o.subject);
        f.in_reply_to = o.message_id.clone().unwrap_or_default();
        f.references = build::reply_references(&o).join(" ");
        let who = o
            .from
            .first()
            .map(|a| a.display().to_owned())
            .unwrap_or_default();
        let attribution = tr.tf("compose.attribution", &[&format::full_date(o.date), &who]);
        f.body = format!("\n\n{signature}\n{}", build::quote(&o.text, &attribution));
        f.origin = format!("reply {mailbox}/{uid}");
        f.back = mailbox_href(&mailbox);
    } else if let Some(r) = q.forward.as_deref() {
        let (mailbox, uid) = parse_ref(r)?;
        let o = original(&state, &account, &mailbox, uid).await?;
        f.subject = build::forward_subject(&o.subject);
        f.body = format!("\n\n{signature}");
        f.origin = format!("forward {mailbox}/{uid}");
        f.include_original = true;
        f.back = mailbox_href(&mailbox);
        forward_note = Some(forward_note_text(tr, &o));
    } else if let Some(r) = q.draft.as_deref() {
        let (mailbox, uid) = parse_ref(r)?;
        let o = original(&state, &account, &mailbox, uid).await?;
        fill_from_draft(&mut f, &o, &identities);
        f.draft = format!("{mailbox}/{uid}");
        f.back = mailbox_href(&mailbox);
        // The draft's files are offered as references to its parts, staged only when the
        // form is posted: a GET changes nothing, on the server or here.
        draft_parts = o
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| StagedRow {
                id: format!("{DRAFT_PART}{i}"),
                filename: a.filename.clone(),
                size: format::size(a.data.len() as u64),
            })
            .collect();
        if q.saved.is_some() {
            notice = Some(tr.t("compose.draft_saved").to_owned());
        }
    } else if let Some(token) = q.restore.as_deref() {
        // Only the user and the browser that parked the form get it back.
        let restored = match resume::read(&state, &headers) {
            Some(marker) => {
                store::compose::unpark(
                    &state.db,
                    token,
                    &account.username,
                    &marker.browser,
                    &f.compose_id,
                )
                .await?
            }
            None => None,
        };
        match restored.and_then(|json| serde_json::from_str::<ComposeForm>(&json).ok()) {
            Some(parked) => {
                f = ComposeForm {
                    compose_id: f.compose_id,
                    ..parked
                };
                if !identities.iter().any(|i| i.email == f.from) {
                    f.from = default.email.clone();
                }
                forward_note = recheck_restored(&state, &account, &mut f, tr).await;
                notice = Some(tr.t("compose.restored").to_owned());
            }
            None => notice = Some(tr.t("compose.restore_missing").to_owned()),
        }
    } else {
        f.body = if signature.is_empty() {
            String::new()
        } else {
            format!("\n\n{signature}")
        };
    }
    if f.include_original && forward_note.is_none() {
        forward_note = forward_note_for(&state, &account, &f, tr).await;
    }
    let mut page = page(
        &state,
        &ctx,
        &account,
        f,
        Errors::default(),
        notice,
        forward_note,
    )
    .await?;
    page.staged.extend(draft_parts);
    Ok(page.into_response())
}

/// Prefix of a staged-file id that names a part of the draft being edited (`draft:2` is
/// its third attachment) rather than a file staged in the database. Database ids never
/// contain `:`.
const DRAFT_PART: &str = "draft:";

/// A restored form's hidden fields came from a request nobody was logged in for: keep
/// them only when they still hold. `back` must be a local folder page, `draft` a real
/// draft (in Drafts, with `\Draft`), `origin` a message the user can read, and the
/// original is included only in a forward. Returns the forward note when there is one.
async fn recheck_restored(
    state: &AppState,
    account: &Account,
    f: &mut ComposeForm,
    tr: Tr,
) -> Option<String> {
    f.back = safe_back(&f.back);
    if let Some((mailbox, uid)) = build::parse_message_ref(&f.draft) {
        if !matches!(state.imap.is_draft(account, &mailbox, uid).await, Ok(true)) {
            f.draft.clear();
        }
    } else {
        f.draft.clear();
    }
    let mut note = None;
    let mut forward = false;
    match origin_of(&f.origin) {
        Some((kind, (mailbox, uid))) => match original(state, account, &mailbox, uid).await {
            Ok(o) => {
                forward = kind == "forward";
                if forward {
                    note = Some(forward_note_text(tr, &o));
                }
            }
            Err(_) => f.origin.clear(),
        },
        None => f.origin.clear(),
    }
    f.include_original &= forward;
    if !f.include_original {
        note = None;
    }
    note
}

/// `POST /compose`: send, or save as a draft. Without a login, the form is parked (see
/// [`park`]) or refused before its body is read.
pub async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    user: Result<CurrentUser, AppError>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let account = match user {
        Ok(CurrentUser(a)) => a,
        Err(AppError::LoginRequired) => return park(&state, &ctx, &headers, multipart).await,
        Err(e) => return Err(e),
    };
    let limit = state.config.max_message_size;
    let mut posted = read_multipart(multipart, limit).await;
    ctx.check_csrf(&posted.form.csrf_token)?;
    if !valid_token(&posted.form.compose_id) {
        posted.form.compose_id = random_token(16);
    }
    posted.form.back = safe_back(&posted.form.back);
    let sending = posted.form.action != "draft";
    if sending {
        // Claimed before anything else, so a second copy of the same form (double
        // click, reload) stops here, even on another instance.
        let claim =
            store::compose::claim_send(&state.db, &account.username, &posted.form.compose_id)
                .await?;
        if let Claim::AlreadySent(to) = claim {
            tracing::info!(user = %account.username, "compose: repeated send ignored");
            let target = if to.is_empty() {
                posted.form.back.clone()
            } else {
                to
            };
            return Ok(Redirect::to(&target).into_response());
        }
    }
    let compose_id = posted.form.compose_id.clone();
    let result = handle(&state, &ctx, &account, posted, sending).await;
    if sending && !matches!(result, Ok(Outcome::Sent(_))) {
        // Nothing went out: the same form may be sent again.
        store::compose::release_claim(&state.db, &account.username, &compose_id).await?;
    }
    match result? {
        Outcome::Sent(target) | Outcome::Redirect(target) => {
            Ok(Redirect::to(&target).into_response())
        }
        Outcome::Form(page) => Ok(page.into_response()),
    }
}

/// What a compose POST came to.
enum Outcome {
    /// Sent; go here.
    Sent(String),
    /// Saved as a draft; go here.
    Redirect(String),
    /// Show the form again (with messages).
    Form(Box<ComposePage>),
}

/// The body of [`submit`] once the user is known and a send is claimed.
async fn handle(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    posted: Posted,
    sending: bool,
) -> Result<Outcome, AppError> {
    let tr = ctx.tr;
    let Posted {
        mut form,
        uploads,
        mut refused,
        truncated,
    } = posted;
    let user = account.username.as_str();
    let limit = state.config.max_message_size;

    // The draft's own files the user kept: staged now (a POST), no longer referenced.
    let draft_files_lost = stage_draft_parts(state, account, &mut form).await?;

    // Staged files: drop the unticked ones, then stage the new uploads that still fit.
    let keep: HashSet<&str> = form.staged.iter().map(String::as_str).collect();
    let mut used = OVERHEAD + form.body.len() as u64;
    let mut kept_ids = Vec::new();
    for s in store::compose::staged_list(&state.db, user, &form.compose_id).await? {
        if keep.contains(s.id.as_str()) {
            used += build::encoded_size(s.size.max(0) as u64);
            kept_ids.push(s.id);
        } else {
            store::compose::unstage(&state.db, user, &form.compose_id, &s.id).await?;
        }
    }
    for u in uploads {
        let size = build::encoded_size(u.data.len() as u64);
        if used + size > limit {
            refused.push(u.filename);
            continue;
        }
        used += size;
        let id = store::compose::stage(
            &state.db,
            user,
            &form.compose_id,
            &u.filename,
            &u.content_type,
            &u.data,
        )
        .await?;
        kept_ids.push(id);
    }
    form.staged = kept_ids.clone();

    let identities = store::identities::list(&state.db, user).await?;
    if form.from.trim().is_empty() {
        // Not chosen: the primary identity (the login address when there is none).
        form.from = identities
            .first()
            .map(|i| i.email.clone())
            .unwrap_or_else(|| user.to_owned());
    }
    let (mut errors, fields) = validate(tr, &form, &identities, sending);
    if !refused.is_empty() || truncated {
        let names = if refused.is_empty() {
            tr.t("compose.attachments").to_owned()
        } else {
            refused.join(", ")
        };
        errors.attachments =
            Some(tr.tf("compose.error.too_large", &[&names, &format::size(limit)]));
    }
    if draft_files_lost {
        errors.attachments = Some(tr.t("compose.error.draft_files_gone").to_owned());
    }
    let Some(fields) = fields.filter(|_| !errors.any()) else {
        let page = page(state, ctx, account, form, errors, None, None).await?;
        return Ok(Outcome::Form(Box::new(page)));
    };

    let staged = store::compose::staged_load(&state.db, user, &form.compose_id).await?;
    let mut attachments: Vec<Attachment> = staged
        .into_iter()
        .filter(|s| kept_ids.contains(&s.info.id))
        .map(|s| Attachment {
            filename: s.info.filename,
            content_type: s.info.content_type,
            data: s.data,
        })
        .collect();
    let mut body = form.body.clone();
    let mut attached_message = None;
    if form.include_original
        && let Some((kind, (mailbox, uid))) = origin_of(&form.origin)
        && kind == "forward"
    {
        let raw = state.imap.fetch_raw(account, &mailbox, uid).await?;
        if form.forward_mode == "attachment" {
            attached_message = Some(raw.to_vec());
        } else {
            let o = build::read_original(&raw).map_err(|e| AppError::Internal(e.into()))?;
            body = format!(
                "{}\n\n{}",
                body.trim_end(),
                build::forward_block(&forward_labels(tr), &o, &format::full_date(o.date))
            );
            attachments.extend(o.attachments);
        }
    }
    let outgoing = Outgoing {
        from: fields.from,
        to: fields.to,
        cc: fields.cc,
        bcc: fields.bcc,
        subject: form.subject.clone(),
        body,
        in_reply_to: fields.in_reply_to,
        references: fields.references,
        priority: Priority::from_form(&form.priority).unwrap_or_default(),
        request_mdn: form.request_mdn,
        attachments,
        attached_message,
        message_id: build::new_message_id(&form.from),
        date: time::OffsetDateTime::now_utc().unix_timestamp(),
        origin: (!form.origin.is_empty()).then(|| form.origin.clone()),
    };
    let draft_bytes = match build::build(&outgoing, Copy::Draft) {
        Ok(b) => b,
        Err(build::ComposeError::ControlChar(field)) => {
            let mut errors = Errors::default();
            set_error(&mut errors, field, tr.t("compose.error.control").to_owned());
            let page = page(state, ctx, account, form, errors, None, None).await?;
            return Ok(Outcome::Form(Box::new(page)));
        }
    };
    let estimated = draft_bytes.len() as u64;
    if estimated > limit {
        let errors = Errors {
            attachments: Some(tr.tf(
                "compose.error.too_large",
                &[&tr.t("compose.attachments"), &format::size(limit)],
            )),
            ..Errors::default()
        };
        let page = page(state, ctx, account, form, errors, None, None).await?;
        return Ok(Outcome::Form(Box::new(page)));
    }

    if !sending {
        return save_draft(state, ctx, account, form, &outgoing, &draft_bytes).await;
    }
    send(state, ctx, account, form, &outgoing, draft_bytes).await
}

/// Stages the files of the draft being edited that the form kept ticked (`draft:N`
/// ids), replacing each reference by the staged file's id. Returns `true` when the draft
/// could not be read any more, so its files are lost (the form says so rather than send
/// without them).
async fn stage_draft_parts(
    state: &AppState,
    account: &Account,
    form: &mut ComposeForm,
) -> Result<bool, AppError> {
    let wanted: Vec<usize> = form
        .staged
        .iter()
        .filter_map(|id| id.strip_prefix(DRAFT_PART)?.parse().ok())
        .collect();
    form.staged.retain(|id| !id.starts_with(DRAFT_PART));
    if wanted.is_empty() {
        return Ok(false);
    }
    let Some((mailbox, uid)) = build::parse_message_ref(&form.draft) else {
        return Ok(true);
    };
    let draft = match original(state, account, &mailbox, uid).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "compose: the draft's files could not be read");
            return Ok(true);
        }
    };
    for (i, a) in draft.attachments.iter().enumerate() {
        if !wanted.contains(&i) {
            continue;
        }
        let id = store::compose::stage(
            &state.db,
            &account.username,
            &form.compose_id,
            &a.filename,
            &a.content_type,
            &a.data,
        )
        .await?;
        form.staged.push(id);
    }
    Ok(false)
}

/// Saves the Drafts copy, replacing the previous version, and reopens it.
async fn save_draft(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    form: ComposeForm,
    outgoing: &Outgoing,
    draft_bytes: &[u8],
) -> Result<Outcome, AppError> {
    let user = account.username.as_str();
    match state
        .imap
        .append_special(
            account,
            SpecialUse::Drafts,
            draft_bytes,
            Some(&outgoing.message_id),
        )
        .await
    {
        Ok(appended) => {
            replace_old_draft(state, account, &form.draft, &appended).await;
            // The draft holds the files now; reopening it offers them again.
            store::compose::unstage_all(&state.db, user, &form.compose_id).await?;
            let target = match appended.uid {
                Some(uid) => format!(
                    "/compose?draft={}&saved=1",
                    encode_segment(&format!("{}/{uid}", appended.mailbox))
                ),
                None => mailbox_href(&appended.mailbox),
            };
            Ok(Outcome::Redirect(target))
        }
        Err(e) => {
            tracing::warn!(error = %e, "compose: saving the draft failed");
            let errors = Errors {
                general: Some(ctx.tr.t("compose.error.draft_failed").to_owned()),
                ..Errors::default()
            };
            let page = page(state, ctx, account, form, errors, None, None).await?;
            Ok(Outcome::Form(Box::new(page)))
        }
    }
}

/// Deletes the draft a form replaced, unless it is the one just written.
async fn replace_old_draft(state: &AppState, account: &Account, old: &str, appended: &Appended) {
    let Some((mailbox, uid)) = build::parse_message_ref(old) else {
        return;
    };
    if mailbox == appended.mailbox && Some(uid) == appended.uid {
        return;
    }
    remove_draft(state, account, &mailbox, uid).await;
}

/// Removes the draft a form named, if it is a real draft (the server checks: see
/// [`crate::imap::Imap::delete_draft`]); anything else the form names stays.
async fn remove_draft(state: &AppState, account: &Account, mailbox: &str, uid: u32) {
    match state.imap.delete_draft(account, mailbox, uid).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            user = %account.username,
            "compose: the form named a message that is not a draft; left in place"
        ),
        Err(e) => tracing::warn!(error = %e, "compose: could not delete the previous draft"),
    }
}

/// Sends; on success files the Sent copy, flags the original, removes the draft and
/// collects the recipients. On failure saves to Drafts and shows the form with the reason.
async fn send(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    mut form: ComposeForm,
    outgoing: &Outgoing,
    draft_bytes: Vec<u8>,
) -> Result<Outcome, AppError> {
    let tr = ctx.tr;
    let user = account.username.as_str();
    let sent_bytes = build::build(outgoing, Copy::Sent)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let recipients: Vec<Address> = outgoing
        .to
        .iter()
        .chain(&outgoing.cc)
        .chain(&outgoing.bcc)
        .cloned()
        .collect();
    let envelope = Envelope {
        from: Some(outgoing.from.email.clone()),
        to: recipients.iter().map(|a| a.email.clone()).collect(),
        dsn: form.request_dsn.then(|| DsnRequest {
            envid: form.compose_id.clone(),
        }),
    };
    let result = match Smtp::new(&state.config.smtp) {
        Ok(smtp) => {
            smtp.send(user, &account.password, &envelope, &sent_bytes)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(sent) => {
            tracing::info!(
                user,
                recipients = recipients.len(),
                dsn = sent.dsn,
                "message sent"
            );
            store::compose::mark_sent(&state.db, user, &form.compose_id, &form.back).await?;
            if let Err(e) = state
                .imap
                .append_special(
                    account,
                    SpecialUse::Sent,
                    &sent_bytes,
                    Some(&outgoing.message_id),
                )
                .await
            {
                tracing::warn!(error = %e, "compose: sent, but the Sent copy failed");
            }
            if let Some((kind, (mailbox, uid))) = origin_of(&form.origin) {
                let flag = if kind == "reply" {
                    MessageFlag::Answered
                } else {
                    MessageFlag::Forwarded
                };
                if let Err(e) = state.imap.add_flag(account, &mailbox, uid, flag).await {
                    tracing::info!(error = %e, "compose: could not flag the original");
                }
            }
            if let Some((mailbox, uid)) = build::parse_message_ref(&form.draft) {
                remove_draft(state, account, &mailbox, uid).await;
            }
            if let Err(e) = store::contacts::collect(&state.db, user, &recipients).await {
                tracing::warn!(error = %e, "compose: collecting contacts failed");
            }
            store::compose::unstage_all(&state.db, user, &form.compose_id).await?;
            let back = form.back.clone();
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Outcome::Sent(format!("{back}{sep}notice=sent")))
        }
        Err(e) => {
            tracing::warn!(user, error = %e, "compose: send failed; saving to Drafts");
            let mut errors = Errors::default();
            match &e {
                SmtpError::Unreachable(_) => {
                    errors.general = Some(tr.t("compose.error.smtp_down").to_owned())
                }
                SmtpError::AuthFailed => {
                    errors.general = Some(tr.t("compose.error.smtp_auth").to_owned())
                }
                SmtpError::MessageRefused(why) => {
                    errors.general = Some(tr.tf("compose.error.refused", &[why]))
                }
                SmtpError::RecipientRejected { recipients, reason } => {
                    let list = recipients.join(", ");
                    let text = tr.tf("compose.error.rejected", &[&list, reason]);
                    let field = rejected_field(outgoing, recipients);
                    set_error(&mut errors, field, text);
                }
            }
            let notice = match state
                .imap
                .append_special(
                    account,
                    SpecialUse::Drafts,
                    &draft_bytes,
                    Some(&outgoing.message_id),
                )
                .await
            {
                Ok(appended) => {
                    replace_old_draft(state, account, &form.draft, &appended).await;
                    if let Some(uid) = appended.uid {
                        form.draft = format!("{}/{uid}", appended.mailbox);
                    }
                    Some(tr.t("compose.saved_after_failure").to_owned())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "compose: the draft could not be saved either");
                    Some(tr.t("compose.error.draft_failed").to_owned())
                }
            };
            let page = page(state, ctx, account, form, errors, notice, None).await?;
            Ok(Outcome::Form(Box::new(page)))
        }
    }
}

/// Which field holds the first refused recipient.
fn rejected_field(o: &Outgoing, rejected: &[String]) -> &'static str {
    let has = |list: &[Address]| {
        list.iter()
            .any(|a| rejected.iter().any(|r| r.eq_ignore_ascii_case(&a.email)))
    };
    if has(&o.to) {
        "to"
    } else if has(&o.cc) {
        "cc"
    } else if has(&o.bcc) {
        "bcc"
    } else {
        "general"
    }
}

fn set_error(errors: &mut Errors, field: &str, text: String) {
    let slot = match field {
        "from" => &mut errors.from,
        "to" => &mut errors.to,
        "cc" => &mut errors.cc,
        "bcc" => &mut errors.bcc,
        "subject" => &mut errors.subject,
        "body" => &mut errors.body,
        "attachments" => &mut errors.attachments,
        _ => &mut errors.general,
    };
    *slot = Some(text);
}

/// The validated, typed fields of a form.
struct Fields {
    from: Address,
    to: Vec<Address>,
    cc: Vec<Address>,
    bcc: Vec<Address>,
    in_reply_to: Option<String>,
    references: Vec<String>,
}

/// Checks every field; returns the messages and, when nothing is wrong, the typed fields.
fn validate(
    tr: Tr,
    f: &ComposeForm,
    identities: &[Identity],
    sending: bool,
) -> (Errors, Option<Fields>) {
    let mut e = Errors::default();
    let list = |value: &str, slot: &mut Option<String>| match parse_address_list(value) {
        Ok(l) => l,
        Err(err) => {
            *slot = Some(address_message(tr, &err));
            Vec::new()
        }
    };
    let to = list(&f.to, &mut e.to);
    let cc = list(&f.cc, &mut e.cc);
    let bcc = list(&f.bcc, &mut e.bcc);
    if sending
        && e.to.is_none()
        && e.cc.is_none()
        && e.bcc.is_none()
        && to.is_empty()
        && cc.is_empty()
        && bcc.is_empty()
    {
        e.to = Some(tr.t("compose.error.no_recipients").to_owned());
    }
    if f.subject.chars().any(char::is_control) {
        e.subject = Some(tr.t("compose.error.control").to_owned());
    } else if f.subject.len() > MAX_SUBJECT {
        e.subject = Some(tr.t("compose.error.subject_long").to_owned());
    }
    if f.body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
    {
        e.body = Some(tr.t("compose.error.control").to_owned());
    }
    let identity = identities.iter().find(|i| i.email == f.from);
    if identity.is_none() {
        e.from = Some(tr.t("compose.error.from").to_owned());
    }
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 250
            && s.chars()
                .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
    };
    let clean_id = |s: &str| {
        s.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    };
    let in_reply_to = Some(clean_id(&f.in_reply_to)).filter(|s| !s.is_empty());
    let references: Vec<String> = f.references.split_whitespace().map(clean_id).collect();
    let threading_ok = in_reply_to.as_deref().is_none_or(id_ok)
        && references.iter().all(|r| id_ok(r))
        && !f.in_reply_to.chars().any(char::is_control)
        && !f.references.chars().any(|c| c.is_control() && c != ' ');
    if !threading_ok || f.origin.chars().any(char::is_control) {
        e.general = Some(tr.t("compose.error.control").to_owned());
    }
    if e.any() {
        return (e, None);
    }
    let Some(identity) = identity else {
        return (e, None);
    };
    let from = Address {
        name: Some(identity.display_name.trim().to_owned()).filter(|n| !n.is_empty()),
        email: identity.email.clone(),
    };
    (
        e,
        Some(Fields {
            from,
            to,
            cc,
            bcc,
            in_reply_to,
            references,
        }),
    )
}

/// Builds the form page around `f`.
async fn page(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    f: ComposeForm,
    errors: Errors,
    notice: Option<String>,
    forward_note: Option<String>,
) -> Result<ComposePage, AppError> {
    let tr = ctx.tr;
    let user = account.username.as_str();
    let folders = ctx.folders(&state.imap, account).await.unwrap_or_default();
    let identities = store::identities::list(&state.db, user).await?;
    let staged = store::compose::staged_list(&state.db, user, &f.compose_id).await?;
    let forward_note = match forward_note {
        Some(n) => Some(n),
        None if f.include_original => forward_note_for(state, account, &f, tr).await,
        None => None,
    };
    let contacts_datalist = ContactsDatalist::load(&state.db, user).await?;
    Ok(ComposePage {
        l: Layout::with_folders(ctx, tr.t("compose.title"), user, &folders, None).await,
        identities: identities
            .iter()
            .map(|i| FromOption {
                value: i.email.clone(),
                label: format_address(&Address {
                    name: Some(i.display_name.clone()).filter(|n| !n.trim().is_empty()),
                    email: i.email.clone(),
                }),
                selected: i.email == f.from,
            })
            .collect(),
        staged: staged
            .into_iter()
            .map(|s| StagedRow {
                id: s.id,
                filename: s.filename,
                size: format::size(s.size.max(0) as u64),
            })
            .collect(),
        is_forward: f.include_original,
        forward_note,
        size_hint: tr.tf(
            "compose.size_hint",
            &[&format::size(state.config.max_message_size)],
        ),
        contacts_datalist,
        f,
        errors,
        notice,
    })
}

/// "The original message … (n attachments) will be included."
fn forward_note_text(tr: Tr, o: &Original) -> String {
    let subject = format::subject(tr, &o.subject);
    tr.tf("compose.forward_note", &[&subject, &o.attachments.len()])
}

async fn forward_note_for(
    state: &AppState,
    account: &Account,
    f: &ComposeForm,
    tr: Tr,
) -> Option<String> {
    let (_, (mailbox, uid)) = origin_of(&f.origin)?;
    let o = original(state, account, &mailbox, uid).await.ok()?;
    Some(forward_note_text(tr, &o))
}

/// Reads the message a reply, forward or draft starts from.
async fn original(
    state: &AppState,
    account: &Account,
    mailbox: &str,
    uid: u32,
) -> Result<Original, AppError> {
    let raw = state.imap.fetch_raw(account, mailbox, uid).await?;
    build::read_original(&raw).map_err(|e| AppError::Internal(anyhow::Error::new(e)))
}

/// Puts a reopened draft into the form.
fn fill_from_draft(f: &mut ComposeForm, o: &Original, identities: &[Identity]) {
    if let Some(from) = o.from.first()
        && identities
            .iter()
            .any(|i| i.email.eq_ignore_ascii_case(&from.email))
    {
        f.from = identities
            .iter()
            .find(|i| i.email.eq_ignore_ascii_case(&from.email))
            .map(|i| i.email.clone())
            .unwrap_or_default();
    }
    f.to = join_addresses(&o.to);
    f.cc = join_addresses(&o.cc);
    f.bcc = join_addresses(&o.bcc);
    f.subject = o.subject.clone();
    f.body = o.text.replace("\r\n", "\n");
    f.priority = o.priority.as_form().to_owned();
    f.request_mdn = o.mdn_to.is_some();
    f.in_reply_to = o.in_reply_to.first().cloned().unwrap_or_default();
    f.references = o.references.join(" ");
    f.origin = o.origin.clone().unwrap_or_default();
}

/// The labels of the inline-forward block, translated.
fn forward_labels(tr: Tr) -> ForwardLabels<'static> {
    ForwardLabels {
        heading: tr.t("compose.forwarded"),
        from: tr.t("msg.from"),
        date: tr.t("msg.date"),
        subject: tr.t("msg.subject"),
        to: tr.t("msg.to"),
        cc: tr.t("msg.cc"),
    }
}

/// `-- \nsignature` (RFC 3676 §4.3 separator), or nothing.
fn signature_block(signature: &str) -> String {
    let s = signature.trim_end();
    if s.is_empty() {
        String::new()
    } else {
        format!("-- \n{s}\n")
    }
}

fn join_addresses(list: &[Address]) -> String {
    list.iter()
        .map(format_address)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{mailbox}/{uid}` from a query parameter.
fn parse_ref(r: &str) -> Result<(String, u32), AppError> {
    build::parse_message_ref(r).ok_or(AppError::BadRequest("error.bad.uid"))
}

/// `reply INBOX/5` → `("reply", ("INBOX", 5))`.
fn origin_of(origin: &str) -> Option<(&str, (String, u32))> {
    let (kind, r) = origin.split_once(' ')?;
    matches!(kind, "reply" | "forward")
        .then_some(())
        .and_then(|()| build::parse_message_ref(r).map(|m| (kind, m)))
}

/// Random tokens we issue: base64url, 16 to 64 characters.
fn valid_token(s: &str) -> bool {
    (16..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `back` must stay a local folder page.
fn safe_back(back: &str) -> String {
    let ok = back.starts_with("/mail/")
        && !back.contains("//")
        && !back.contains('\\')
        && !back.chars().any(char::is_control);
    if ok {
        back.to_owned()
    } else {
        mailbox_href("INBOX")
    }
}

/// The folder page the user came from (`/mail/{mailbox}`), from the Referer's path.
fn referer_folder(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let path_start = referer.find("/mail/")?;
    let rest = &referer[path_start + "/mail/".len()..];
    let segment = rest.split(['/', '?', '#']).next()?;
    (!segment.is_empty()).then(|| safe_back(&format!("/mail/{segment}")))
}

/// Reads the multipart body. Files past the size limit are read to the end (so the
/// browser gets our answer) but not kept; a body past the hard cap stops early, and
/// whatever came before it is kept.
async fn read_multipart(mut mp: Multipart, limit: u64) -> Posted {
    let mut posted = Posted {
        form: ComposeForm::default(),
        uploads: Vec::new(),
        refused: Vec::new(),
        truncated: false,
    };
    let mut total: u64 = 0;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                tracing::info!(error = %e, "compose: multipart body cut short");
                posted.truncated = true;
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments" {
            let filename = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut data = Vec::new();
            let mut over = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if over {
                            continue;
                        }
                        let next = (data.len() + chunk.len()) as u64;
                        if build::encoded_size(total + next) > limit {
                            over = true;
                            data = Vec::new();
                        } else {
                            data.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(error = %e, "compose: upload cut short");
                        posted.truncated = true;
                        over = true;
                        break;
                    }
                }
            }
            if filename.is_empty() && data.is_empty() && !over {
                // The empty file input of a form sent without a file.
                continue;
            }
            let filename = mime::sanitize_filename(&filename);
            if over {
                posted.refused.push(filename);
                if posted.truncated {
                    break;
                }
            } else {
                total += data.len() as u64;
                posted.uploads.push(Upload {
                    filename,
                    content_type,
                    data,
                });
            }
            continue;
        }
        let value = match field.text().await {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(error = %e, "compose: form field cut short");
                posted.truncated = true;
                break;
            }
        };
        let f = &mut posted.form;
        match name.as_str() {
            "compose_id" => f.compose_id = value,
            "from" => f.from = value,
            "to" => f.to = value,
            "cc" => f.cc = value,
            "bcc" => f.bcc = value,
            "subject" => f.subject = value,
            // Browsers send CRLF; keep LF in the form, the builder writes CRLF.
            "body" => f.body = value.replace("\r\n", "\n"),
            "request_mdn" => f.request_mdn = !value.is_empty(),
            "request_dsn" => f.request_dsn = !value.is_empty(),
            "priority" => f.priority = value,
            "forward_mode" => f.forward_mode = value,
            "origin" => f.origin = value,
            "include_original" => f.include_original = value == "1",
            "in_reply_to" => f.in_reply_to = value,
            "references" => f.references = value,
            "draft" => f.draft = value,
            "back" => f.back = value,
            "staged" => f.staged.push(value),
            "action" => f.action = value,
            "csrf_token" => f.csrf_token = value,
            _ => {}
        }
    }
    posted
}

/// Slack for the multipart framing when a body's declared length is compared with what
/// may still be parked.
const FRAMING_SLACK: u64 = 64 * 1024;

/// The session expired while composing: keep the form and its files under a random
/// token, bound to the user and browser of the expired login, and send the user through
/// the login and back to the restored form.
///
/// Only a browser with a resume cookie of ours (a real login here, recent enough; see
/// `web::resume`) may park, so anonymous clients cannot write to the database. Anything
/// else, and a body declared larger than the caps allow, is answered before a byte of
/// the body is read.
async fn park(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let Some(marker) = resume::read(state, headers).filter(|m| m.valid_at(store::now())) else {
        return Err(AppError::LoginRequired);
    };
    let caps = store::compose::ParkCaps {
        per_user: state.config.parked_bytes_per_user,
        total: state.config.parked_bytes_total,
    };
    let allowance = store::compose::park_allowance(&state.db, &marker.user, caps).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > allowance.saturating_add(FRAMING_SLACK)) {
        tracing::warn!(user = %marker.user, "compose: parking refused, over the cap");
        return Err(AppError::BadRequest("compose.error.park_full"));
    }
    let posted = read_multipart(multipart, state.config.max_message_size).await;
    ctx.check_csrf(&posted.form.csrf_token)?;
    let json = serde_json::to_string(&posted.form)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let size = posted.uploads.iter().fold(json.len() as u64, |n, u| {
        n.saturating_add(u.data.len() as u64)
    });
    let token = random_token(24);
    let parked = store::compose::Parked {
        token: &token,
        username: &marker.user,
        browser: &marker.browser,
        form_json: &json,
        size,
    };
    if !store::compose::park(&state.db, &parked, caps).await? {
        tracing::warn!(user = %marker.user, size, "compose: parking refused, over the cap");
        return Err(AppError::BadRequest("compose.error.park_full"));
    }
    for u in &posted.uploads {
        store::compose::stage(&state.db, "", &token, &u.filename, &u.content_type, &u.data).await?;
    }
    tracing::info!(user = %marker.user, "compose: session expired; form parked until the login");
    let next = format!("/compose?restore={token}");
    let target = format!(
        "/login?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(Redirect::to(&target).into_response())
}

/// The read-receipt answer from the message page.
#[derive(Debug, Deserialize)]
pub struct ReceiptForm {
    #[serde(default)]
    csrf_token: String,
    /// `send` or `ignore`.
    #[serde(default)]
    action: String,
}

/// `POST /mail/{mailbox}/{uid}/receipt`: sends the read receipt the message asked for
/// (once: `$MDNSent` is checked and a claim taken first), or declines it. Either way
/// `$MDNSent` is set so the question is not asked again (RFC 3503).
pub async fn receipt(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    axum::Form(form): axum::Form<ReceiptForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let uid: u32 = uid
        .parse()
        .ok()
        .filter(|&u| u > 0)
        .ok_or(AppError::BadRequest("error.bad.uid"))?;
    let back = message_href(&mailbox, uid);
    if state
        .imap
        .has_flag(&account, &mailbox, uid, MessageFlag::MdnSent)
        .await?
    {
        return Ok(Redirect::to(&back).into_response());
    }
    if form.action == "send" {
        let raw = state.imap.fetch_raw(&account, &mailbox, uid).await?;
        let o = build::read_original(&raw).map_err(|e| AppError::Internal(e.into()))?;
        let Some(to) = o.mdn_to.clone() else {
            return Err(AppError::BadRequest("error.bad.receipt"));
        };
        let key = format!(
            "mdn:{}",
            o.message_id
                .clone()
                .unwrap_or_else(|| format!("{mailbox}/{uid}"))
        );
        if let Claim::AlreadySent(_) =
            store::compose::claim_send(&state.db, &account.username, &key).await?
        {
            return Ok(Redirect::to(&back).into_response());
        }
        let identity = store::identities::default_for(&state.db, &account.username).await?;
        let from = Address {
            name: Some(identity.display_name.clone()).filter(|n| !n.trim().is_empty()),
            email: identity.email.clone(),
        };
        let tr = ctx.tr;
        let subject = format::subject(tr, &o.subject);
        let mdn = Mdn {
            subject: tr.tf("receipt.subject", &[&subject]),
            text: tr.tf(
                "receipt.text",
                &[&format::full_date(o.date), &from.email, &subject],
            ),
            from,
            to: to.clone(),
            original_message_id: o.message_id.clone(),
            original_headers: o.raw_headers.clone(),
            message_id: build::new_message_id(&identity.email),
            date: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        let bytes = build::build_mdn(&mdn).map_err(|e| AppError::Internal(e.into()))?;
        let envelope = Envelope {
            // RFC 8098 §3: receipts go out with a null return path.
            from: None,
            to: vec![to.email.clone()],
            dsn: None,
        };
        let sent = match Smtp::new(&state.config.smtp) {
            Ok(smtp) => {
                smtp.send(&account.username, &account.password, &envelope, &bytes)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            store::compose::release_claim(&state.db, &account.username, &key).await?;
            tracing::warn!(error = %e, "read receipt not sent");
            return Err(AppError::Unreachable(e.to_string()));
        }
        store::compose::mark_sent(&state.db, &account.username, &key, &back).await?;
        tracing::info!(user = %account.username, "read receipt sent");
    }
    state
        .imap
        .add_flag(&account, &mailbox, uid, MessageFlag::MdnSent)
        .await?;
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_stays_local() {
        assert_eq!(safe_back("/mail/INBOX"), "/mail/INBOX");
        assert_eq!(safe_back("/mail/Sent%2Fold"), "/mail/Sent%2Fold");
        for bad in [
            "https://evil.test/mail/x",
            "//evil.test",
            "/mail//evil",
            "/login",
            "/mail/x\r\n",
        ] {
            assert_eq!(safe_back(bad), "/mail/INBOX", "{bad:?}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::REFERER,
            "http://127.0.0.1:8080/mail/Archive/12?x=1".parse().unwrap(),
        );
        assert_eq!(referer_folder(&h).as_deref(), Some("/mail/Archive"));
    }

    #[test]
    fn origins_and_tokens() {
        assert_eq!(
            origin_of("reply INBOX/5"),
            Some(("reply", ("INBOX".to_owned(), 5)))
        );
        assert_eq!(origin_of("delete INBOX/5"), None);
        assert_eq!(origin_of(""), None);
        assert!(valid_token(&random_token(16)));
        assert!(!valid_token("short"));
        assert!(!valid_token("../../../../etc/passwd/xxxxxxxx"));
    }

    #[test]
    fn validation_names_the_field() {
        let ids = vec![Identity::derived("alice@example.test")];
        let tr = Tr::default();
        let form = |to: &str, subject: &str| ComposeForm {
            from: "alice@example.test".into(),
            to: to.into(),
            subject: subject.into(),
            ..ComposeForm::default()
        };
        let (e, ok) = validate(tr, &form("bob@", "hi"), &ids, true);
        assert!(e.to.is_some() && ok.is_none());
        let (e, _) = validate(tr, &form("", "hi"), &ids, true);
        assert!(e.to.is_some(), "no recipients");
        let (e, ok) = validate(tr, &form("", "hi"), &ids, false);
        assert!(!e.any() && ok.is_some(), "a draft may have no recipients");
        let (e, _) = validate(tr, &form("bob@example.test", "a\r\nBcc: x@y"), &ids, true);
        assert!(e.subject.is_some());
        let mut f = form("bob@example.test", "hi");
        f.from = "mallory@example.test".into();
        assert!(validate(tr, &f, &ids, true).0.from.is_some());
        let mut f = form("bob@example.test", "hi");
        f.references = "a@b>\r\nX-Evil: 1".into();
        assert!(validate(tr, &f, &ids, true).0.general.is_some());
    }
}
