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
//! The send itself (claim, SMTP, Sent copy, flags, the replaced draft, contacts, the
//! fall-back to Drafts, staged files) is [`crate::send`]'s, which a background worker
//! calls the same way; building messages is [`crate::mime::compose`]'s. This file checks
//! the form, builds the [`Letter`], and turns the outcome into a redirect or the form
//! again with its messages; reading the multipart body is in `multipart`, parking an
//! expired session's form in `park`, the read-receipt answer in `receipt`.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::Account,
    mime::{
        address::{format_address, parse_address_list},
        compose::{self as build, ForwardLabels, Original, Outgoing, Priority},
        rich,
    },
    model::Address,
    send::{Claimed, Drafted, Letter, Mailer, Origin, OriginKind, Outcome, Refusal},
    smtp::SmtpError,
    store::{self, identities::Identity},
    web::{
        contacts::{ContactsDatalist, address_message},
        encode_segment,
        extract::CurrentUser,
        format,
        layout::{Layout, PageCtx},
        mailbox_href, resume,
        session::random_token,
    },
};

mod multipart;
mod park;
mod receipt;

pub use multipart::body_limit;
pub use receipt::receipt;

use multipart::{Posted, read_multipart};
use park::park;

/// Longest subject accepted, in bytes.
const MAX_SUBJECT: usize = 1000;

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
    /// The plain text. With the rich editor, the text the server derived from `body_html`.
    body: String,
    /// The rich editor's HTML, posted only when its script runs (the field has no name in
    /// the page without it). Cleaned with the incoming-mail policy before it is used or
    /// shown again; empty for a plain-text message.
    body_html: String,
    request_mdn: bool,
    request_dsn: bool,
    priority: String,
    /// `inline` or `attachment`.
    forward_mode: String,
    /// `reply INBOX/42` or `forward INBOX/42`.
    origin: String,
    /// A forward whose original goes along when sending: its files (inline; its text is
    /// already in `body`, where the user could edit it) or itself as a `.eml` attachment.
    include_original: bool,
    in_reply_to: String,
    /// Space-separated message ids.
    references: String,
    /// `{mailbox}/{uid}` of the draft this form replaces.
    draft: String,
    /// Where to go after sending (a `/mail/…` path).
    back: String,
    /// "Send later": ISO 8601, a local time in the user's zone (what
    /// `<input type=datetime-local>` sends) or with an offset or `Z`. Empty: now.
    send_at: String,
    /// The user was told the subject or the text is empty and sends all the same.
    confirm_empty: bool,
    /// Ids of staged files the user kept ticked.
    #[serde(skip)]
    staged: Vec<String>,
    /// `send` or `draft`.
    #[serde(skip)]
    action: String,
    #[serde(skip)]
    csrf_token: String,
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
    /// What each forward mode sends, naming the original.
    forward_note: Option<ForwardNote>,
    /// "At most … in total".
    size_hint: String,
    contacts_datalist: ContactsDatalist,
}

impl ComposePage {
    /// A reply or forward (recipients already there): the cursor starts in the text.
    fn body_first(&self) -> bool {
        !self.f.to.trim().is_empty() || !self.f.in_reply_to.is_empty()
    }

    /// Whether any option differs from its default, so the folded options show.
    fn options_set(&self) -> bool {
        self.f.request_mdn
            || self.f.request_dsn
            || !self.f.send_at.trim().is_empty()
            || !matches!(self.f.priority.as_str(), "" | "normal")
    }

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

/// The hints beside the forward modes: what goes along in each.
pub struct ForwardNote {
    /// "“Subject” is in the text above, where you can change it; its files go along."
    inline: String,
    /// "“Subject” goes along whole, attached as Subject.eml."
    attachment: String,
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
    let own_address = state.directory.address_of(&account.username);
    let identities = store::identities::list(&state.db, &account.username, &own_address).await?;
    let default = identities
        .first()
        .cloned()
        .unwrap_or_else(|| Identity::derived(&own_address));
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
            .chain([own_address.clone()])
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
        let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
        let when = format::full_date(o.date, zone);
        let attribution = tr.tf(
            "compose.attribution",
            &[("date", when.into()), ("sender", who.into())],
        );
        f.body = format!("\n\n{signature}\n{}", build::quote(&o.text, &attribution));
        f.origin = format!("reply {mailbox}/{uid}");
        f.back = mailbox_href(&mailbox);
    } else if let Some(r) = q.forward.as_deref() {
        let (mailbox, uid) = parse_ref(r)?;
        let o = original(&state, &account, &mailbox, uid).await?;
        f.subject = build::forward_subject(&o.subject);
        // The forwarded message is in the text, to be read and edited before it goes; what
        // is sent is what the form holds then (its files are added when sending).
        let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
        let block = build::forward_block(&forward_labels(tr), &o, &format::full_date(o.date, zone));
        f.body = if signature.is_empty() {
            format!("\n\n{block}")
        } else {
            format!("\n\n{signature}\n{block}")
        };
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
) -> Option<ForwardNote> {
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
    match Origin::parse(&f.origin) {
        Some(origin) => match original(state, account, &origin.mailbox, origin.uid).await {
            Ok(o) => {
                forward = origin.kind == OriginKind::Forward;
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
/// [`park`]) or refused before its body is read. The send itself is [`crate::send`]'s.
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
    let mailer = mailer(&state);
    let sending = posted.form.action != "draft";
    let mut ticket = if sending {
        // Claimed before anything else (staging included), so a second copy of the same
        // form (double click, reload) stops here, even on another instance.
        match mailer
            .claim(&account.username, &posted.form.compose_id)
            .await?
        {
            Claimed::Won(ticket) => Some(ticket),
            Claimed::AlreadySent { return_to } => {
                tracing::info!(user = %account.username, "compose: repeated send ignored");
                let target = if return_to.is_empty() {
                    posted.form.back.clone()
                } else {
                    return_to
                };
                return Ok(Redirect::to(&target).into_response());
            }
        }
    } else {
        None
    };
    let prepared = prepare(&state, &ctx, &account, &mailer, posted, sending).await;
    if !matches!(prepared, Ok(Prepared::Ready(_)))
        && let Some(ticket) = ticket.take()
    {
        // Nothing went out: the same form may be sent again.
        ticket.release(&mailer).await?;
    }
    let ready = match prepared? {
        Prepared::Ready(ready) => ready,
        Prepared::Form(page) => return Ok(page.into_response()),
    };
    let Ready { mut form, letter } = *ready;
    let tr = ctx.tr;
    // Later (a chosen time, or the undo window): into the outbox instead of out now.
    if let Some(t) = ticket.take() {
        match crate::web::outbox::queue_time(&state, &account, &form.send_at).await {
            Ok(None) => ticket = Some(t),
            Ok(Some(at)) => {
                t.release(&mailer).await?;
                return crate::web::outbox::queue(
                    &state,
                    &account,
                    &letter,
                    &form.back,
                    at,
                    &form.send_at,
                )
                .await;
            }
            Err(key) => {
                t.release(&mailer).await?;
                let errors = Errors {
                    general: Some(tr.t(key).to_owned()),
                    ..Errors::default()
                };
                let page = page(&state, &ctx, &account, form, errors, None, None).await?;
                return Ok(page.into_response());
            }
        }
    }
    let (errors, notice) = match ticket {
        None => match mailer.save_draft(&account, &letter).await? {
            Drafted::Saved(appended) => {
                let target = match appended.uid {
                    Some(uid) => format!(
                        "/compose?draft={}&saved=1",
                        encode_segment(&format!("{}/{uid}", appended.mailbox))
                    ),
                    None => mailbox_href(&appended.mailbox),
                };
                return Ok(Redirect::to(&target).into_response());
            }
            Drafted::Failed(_) => (
                Errors {
                    general: Some(tr.t("compose.error.draft_failed").to_owned()),
                    ..Errors::default()
                },
                None,
            ),
            Drafted::Refused(reasons) => (refusal_errors(tr, &reasons), None),
        },
        Some(ticket) => match mailer.deliver(&account, ticket, &letter).await? {
            Outcome::Sent(_) => {
                let back = &form.back;
                let sep = if back.contains('?') { '&' } else { '?' };
                return Ok(Redirect::to(&format!("{back}{sep}notice=sent")).into_response());
            }
            Outcome::SavedAsDraft { reason, draft } => {
                if let Some(uid) = draft.uid {
                    form.draft = format!("{}/{uid}", draft.mailbox);
                }
                (
                    smtp_errors(tr, &reason, &letter.message),
                    Some(tr.t("compose.saved_after_failure").to_owned()),
                )
            }
            // `deliver` saves to Drafts; `Deferred` comes only from the outbox's call.
            Outcome::NotSaved { reason, .. } | Outcome::Deferred { reason } => (
                smtp_errors(tr, &reason, &letter.message),
                Some(tr.t("compose.error.draft_failed").to_owned()),
            ),
            Outcome::Refused(reasons) => (refusal_errors(tr, &reasons), None),
        },
    };
    let page = page(&state, &ctx, &account, form, errors, notice, None).await?;
    Ok(page.into_response())
}

/// The send workflow with this application's IMAP client, database and SMTP settings.
fn mailer(state: &AppState) -> Mailer {
    Mailer::from_config(state.imap.clone(), state.db.clone(), &state.config)
}

/// A form that passed the checks, and the letter it makes.
struct Ready {
    form: ComposeForm,
    letter: Letter,
}

/// What a posted form came to before anything is sent or saved.
enum Prepared {
    Ready(Box<Ready>),
    /// Show the form again (with messages).
    Form(Box<ComposePage>),
}

/// Stages the form's files, checks its fields and builds the letter (with the original
/// of a forward). A form with mistakes comes back as the page to show.
async fn prepare(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    mailer: &Mailer,
    posted: Posted,
    sending: bool,
) -> Result<Prepared, AppError> {
    let tr = ctx.tr;
    let Posted {
        mut form,
        uploads,
        mut refused,
        truncated,
    } = posted;
    let user = account.username.as_str();
    let limit = mailer.max_message_size();
    let replaces = build::parse_message_ref(&form.draft);
    let html_refused = take_rich_text(&mut form).await?;

    // The draft's own files the user kept (`draft:N`): staged now (a POST), no longer
    // referenced.
    let parts: Vec<usize> = form
        .staged
        .iter()
        .filter_map(|id| id.strip_prefix(DRAFT_PART)?.parse().ok())
        .collect();
    form.staged.retain(|id| !id.starts_with(DRAFT_PART));
    let draft_files = mailer
        .stage_draft_parts(account, &form.compose_id, replaces.as_ref(), &parts)
        .await?;
    let draft_files_lost = draft_files.is_none();
    form.staged.extend(draft_files.unwrap_or_default());

    // Staged files: drop the unticked ones, then stage the new uploads that still fit.
    let staged = mailer
        .stage(
            user,
            &form.compose_id,
            &form.staged,
            uploads,
            (form.body.len() + form.body_html.len()) as u64,
        )
        .await?;
    refused.extend(staged.refused);
    form.staged = staged.kept;

    let identities =
        store::identities::list(&state.db, user, &state.directory.address_of(user)).await?;
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
        errors.attachments = Some(tr.tf(
            "compose.error.too_large",
            &[("names", names.into()), ("max", format::size(limit).into())],
        ));
    }
    if draft_files_lost {
        errors.attachments = Some(tr.t("compose.error.draft_files_gone").to_owned());
    }
    if html_refused {
        errors.body = Some(tr.tf(
            "compose.error.html_too_large",
            &[("max", format::size(rich::MAX_RICH_BYTES as u64).into())],
        ));
    }
    // No subject, or no text and nothing attached, is most often a slip: asked once, and
    // Send on the page that says so sends it as it is.
    if sending && !errors.any() && !form.confirm_empty {
        let no_text =
            form.body.trim().is_empty() && form.staged.is_empty() && !form.include_original;
        let warning = if form.subject.trim().is_empty() {
            Some("compose.warn.no_subject")
        } else if no_text {
            Some("compose.warn.no_text")
        } else {
            None
        };
        if let Some(key) = warning {
            errors.general = Some(tr.t(key).to_owned());
            form.confirm_empty = true;
        }
    }
    let Some(fields) = fields.filter(|_| !errors.any()) else {
        let page = page(state, ctx, account, form, errors, None, None).await?;
        return Ok(Prepared::Form(Box::new(page)));
    };

    let mut attachments = mailer
        .staged_attachments(user, &form.compose_id, &form.staged)
        .await?;
    let mut attached_message = None;
    if form.include_original
        && let Some(o) = Origin::parse(&form.origin)
        && o.kind == OriginKind::Forward
    {
        let raw = state.imap.fetch_raw(account, &o.mailbox, o.uid).await?;
        if form.forward_mode == "attachment" {
            attached_message = Some(raw.to_vec());
        } else {
            // Its text is in the body already, as the user left it; its files go along.
            let o = build::read_original(&raw).map_err(|e| AppError::Internal(e.into()))?;
            attachments.extend(o.attachments);
        }
    }
    let message = Outgoing {
        from: fields.from,
        to: fields.to,
        cc: fields.cc,
        bcc: fields.bcc,
        subject: form.subject.clone(),
        body: form.body.clone(),
        html: (!form.body_html.is_empty()).then(|| form.body_html.clone()),
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
    let letter = Letter {
        key: form.compose_id.clone(),
        message,
        request_dsn: form.request_dsn,
        replaces,
        return_to: form.back.clone(),
    };
    Ok(Prepared::Ready(Box::new(Ready { form, letter })))
}

/// The messages for a letter the send workflow refused.
fn refusal_errors(tr: Tr, reasons: &[Refusal]) -> Errors {
    let mut errors = Errors::default();
    for r in reasons {
        match r {
            Refusal::NoRecipients => {
                errors.to = Some(tr.t("compose.error.no_recipients").to_owned())
            }
            Refusal::ControlChar(field) => {
                set_error(&mut errors, field, tr.t("compose.error.control").to_owned())
            }
            Refusal::TooLarge { limit } => {
                errors.attachments = Some(tr.tf(
                    "compose.error.too_large",
                    &[
                        ("names", tr.t("compose.attachments").into()),
                        ("max", format::size(*limit).into()),
                    ],
                ))
            }
        }
    }
    errors
}

/// The message for a send the submission server did not take, beside the field it is
/// about (a refused recipient's).
fn smtp_errors(tr: Tr, reason: &SmtpError, message: &Outgoing) -> Errors {
    let mut errors = Errors::default();
    match reason {
        SmtpError::Unreachable(_) => {
            errors.general = Some(tr.t("compose.error.smtp_down").to_owned())
        }
        SmtpError::AuthFailed => errors.general = Some(tr.t("compose.error.smtp_auth").to_owned()),
        SmtpError::MessageRefused(why) => {
            errors.general = Some(tr.tf("compose.error.refused", &[("reason", why.into())]))
        }
        SmtpError::RecipientRejected { recipients, reason } => {
            let list = recipients.join(", ");
            let text = tr.tf(
                "compose.error.rejected",
                &[("recipients", list.into()), ("reason", reason.into())],
            );
            let field = rejected_field(message, recipients);
            set_error(&mut errors, field, text);
        }
    }
    errors
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
    mut f: ComposeForm,
    errors: Errors,
    notice: Option<String>,
    forward_note: Option<ForwardNote>,
) -> Result<ComposePage, AppError> {
    let tr = ctx.tr;
    f.body_html = editor_html(&f).await;
    let user = account.username.as_str();
    let folders = ctx.folders(&state.imap, account).await.unwrap_or_default();
    let identities =
        store::identities::list(&state.db, user, &state.directory.address_of(user)).await?;
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
            &[("max", format::size(state.config.max_message_size).into())],
        ),
        contacts_datalist,
        f,
        errors,
        notice,
    })
}

/// What each forward mode sends: the text and files, or the whole message as a file.
fn forward_note_text(tr: Tr, o: &Original) -> ForwardNote {
    let subject = format::subject(tr, &o.subject);
    let mut inline = tr.tf(
        "compose.forward_inline_note",
        &[("subject", subject.as_str().into())],
    );
    if !o.attachments.is_empty() {
        let names: Vec<&str> = o.attachments.iter().map(|a| a.filename.as_str()).collect();
        inline.push(' ');
        inline.push_str(&tr.tf(
            "compose.forward_inline_files",
            &[("names", names.join(", ").into())],
        ));
    }
    let file = build::attached_message_name(&o.subject);
    ForwardNote {
        inline,
        attachment: tr.tf(
            "compose.forward_attachment_note",
            &[("subject", subject.into()), ("file", file.into())],
        ),
    }
}

/// Takes the rich editor's HTML in hand: cleaned (on the blocking pool: a big body is
/// CPU work) with the incoming-mail policy, and the plain text derived from it, so both
/// parts say the same. An editor left empty sends plain text. Returns whether the HTML
/// was refused as too large; then only the plain text the browser posted is kept.
async fn take_rich_text(form: &mut ComposeForm) -> Result<bool, AppError> {
    if form.body_html.trim().is_empty() {
        form.body_html.clear();
        return Ok(false);
    }
    let html = std::mem::take(&mut form.body_html);
    let cleaned = tokio::task::spawn_blocking(move || rich::clean(&html))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    match cleaned {
        Ok(r) => {
            if !r.is_empty() {
                form.body_html = r.html;
            }
            form.body = r.text;
            Ok(false)
        }
        Err(rich::RichError::TooLarge) => Ok(true),
    }
}

/// What the rich editor opens with: the form's HTML cleaned again (it may come from a
/// draft in IMAP or a parked form, so it is never shown as it came), else the plain text
/// as editor HTML. Only sanitizer or escaping output reaches the page.
async fn editor_html(f: &ComposeForm) -> String {
    if !f.body_html.trim().is_empty() {
        let html = f.body_html.clone();
        if let Ok(Ok(r)) = tokio::task::spawn_blocking(move || rich::clean(&html)).await
            && !r.is_empty()
        {
            return r.html;
        }
    }
    rich::from_text(&f.body)
}

async fn forward_note_for(
    state: &AppState,
    account: &Account,
    f: &ComposeForm,
    tr: Tr,
) -> Option<ForwardNote> {
    let origin = Origin::parse(&f.origin)?;
    let o = original(state, account, &origin.mailbox, origin.uid)
        .await
        .ok()?;
    Some(forward_note_text(tr, &o))
}

/// Reads the message a reply, forward or draft starts from.
async fn original(
    state: &AppState,
    account: &Account,
    mailbox: &str,
    uid: u32,
) -> Result<Original, AppError> {
    Ok(mailer(state).original(account, mailbox, uid).await?)
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
    // Cleaned before the editor shows it (`editor_html`).
    f.body_html = o.html.clone().unwrap_or_default();
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
    fn tokens() {
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
