//! One message: the page with its headers and attachment list, the sanitized body document
//! shown in a sandboxed iframe, single parts (attachments, inline images) and the source.
//!
//! Remote content is blocked unless the user asked for it once (`?remote=1`) or trusts the
//! sender and our mail server vouches for it ([`crate::web::trusted::remote_policy`]); even
//! then remote images come through the image proxy, so the body's CSP is the same strict
//! one either way.
//!
//! The page renders the body anyway (it needs the sanitizer's findings), so it keeps the
//! finished body document for its iframe (`web::rendered`), which then costs the mail
//! server only a check that the message is still there.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    mime::{self, ParsedMessage, PartId, RenderOptions},
    model::Address,
    store::trusted,
    web::{
        Precompressed, encode_segment,
        extract::CurrentUser,
        format,
        layout::{Layout, PageCtx, folder_label},
        mailbox_href, message_href,
        rendered::{BodyKey, CachedBody},
    },
};

/// CSP of the body document: no script at all, images only from us (cid parts, the image
/// proxy) or inline data, inline styles allowed (mail needs them), may only be framed by
/// our own pages. Allowed remote images come through the proxy, so this never loosens.
/// `sandbox` repeats the iframe's own flags (never `allow-scripts`), so the sender's HTML
/// is sandboxed even where it is not loaded by our iframe.
pub const BODY_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'self'; \
     sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox";
/// CSP of the print view: our stylesheet and the message's inline styles, images as in
/// the body document, no script at all, never framed. The sandbox keeps the origin (the
/// page's images are our own authenticated routes) but runs nothing.
pub const PRINT_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-modals";
/// CSP of parts and source: nothing runs, even if a browser decided to render it.
const PART_CSP: &str = "default-src 'none'; sandbox";

/// Most attachments listed on the message page; the rest are counted and come with the
/// `.zip` (a hostile message can have thousands of parts).
pub const MAX_LISTED_ATTACHMENTS: usize = 200;

/// Runs CPU-bound work (parsing, sanitizing, zipping a message) on tokio's blocking pool:
/// a large or hostile message must never stall the async workers that answer every
/// other request.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))
}

/// Parses the message once for this request, on the blocking pool.
pub(crate) async fn parse_blocking(raw: Arc<Vec<u8>>) -> Result<Arc<ParsedMessage>, AppError> {
    blocking(move || ParsedMessage::parse(&raw))
        .await?
        .map(Arc::new)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))
}

/// Renders the page's view and the body on the blocking pool.
async fn render_blocking(
    proxy: mime::ImageProxy,
    parsed: &Arc<ParsedMessage>,
    prefix: &str,
    allow_remote: bool,
    labels: mime::HeaderLabels<'static>,
) -> Result<(mime::MessageView, mime::RenderedBody), AppError> {
    let (parsed, prefix) = (Arc::clone(parsed), prefix.to_owned());
    blocking(move || {
        parsed.view_and_body(&RenderOptions {
            allow_remote,
            part_url_prefix: &prefix,
            image_proxy: Some(&proxy),
            header_labels: labels,
        })
    })
    .await
}

/// Parses the `{uid}` path segment; anything but a positive 32-bit number is refused.
fn parse_uid(s: &str) -> Result<u32, AppError> {
    s.parse::<u32>()
        .ok()
        .filter(|&u| u > 0)
        .ok_or(AppError::BadRequest("error.bad.uid"))
}

#[derive(Deserialize)]
pub struct RemoteQuery {
    remote: Option<String>,
    /// A notice after an action that opened this message (the previous one left).
    notice: Option<String>,
    n: Option<String>,
    /// Where the previous message went, for its Undo (see [`crate::web::undo`]).
    undo_box: Option<String>,
    undo_v: Option<String>,
    undo_uids: Option<String>,
}

impl RemoteQuery {
    fn allowed(&self) -> bool {
        self.remote.as_deref() == Some("1")
    }
}

/// One "always show remote content" button offered beside a blocked message: a small
/// form posting to `/settings/remote`, then back to the message.
pub struct TrustButton {
    /// `address` or `domain`.
    kind: &'static str,
    /// The sender's address or domain.
    value: String,
    /// "Always show for …".
    label: String,
    /// Back to this message after trusting.
    next: String,
}

/// The trust buttons for `sender`: its address and its domain (none when the address
/// cannot be trusted as written).
fn trust_buttons(tr: Tr, sender: Option<&Address>, message: &str) -> Vec<TrustButton> {
    let Some(address) = sender.and_then(|s| trusted::normalize_address(&s.email)) else {
        return Vec::new();
    };
    let domain = address
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    vec![
        TrustButton {
            kind: "address",
            label: tr.tf("msg.trust_address", &[("address", address.as_str().into())]),
            value: address,
            next: message.to_owned(),
        },
        TrustButton {
            kind: "domain",
            label: tr.tf("msg.trust_domain", &[("domain", domain.as_str().into())]),
            value: domain,
            next: message.to_owned(),
        },
    ]
}

/// A body part left out of the body document, as a download link.
pub struct TooLargeLink {
    href: String,
    label: String,
}

pub struct AttachmentRow {
    href: String,
    filename: String,
    content_type: String,
    size: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    l: Layout,
    subject: String,
    from: String,
    to: String,
    cc: String,
    reply_to: String,
    /// The Date header in the reader's zone.
    date: String,
    /// The same with seconds, offset and zone name.
    date_title: String,
    attachments: Vec<AttachmentRow>,
    /// "N more attachments": those past [`MAX_LISTED_ATTACHMENTS`].
    more_attachments: Option<String>,
    /// Body parts too large to show, offered as downloads instead.
    too_large: Vec<TooLargeLink>,
    body_src: String,
    show_remote_href: Option<String>,
    /// Buttons to trust the sender, offered with `show_remote_href`.
    trust_buttons: Vec<TrustButton>,
    /// Why a trusted sender's images were not loaded by themselves (not authenticated).
    remote_unverified: Option<&'static str>,
    /// Remote content is shown because the sender is trusted.
    remote_trusted: bool,
    source_href: String,
    /// The print view (`/print`, with `?remote=1` when remote content was asked for).
    print_href: String,
    /// `/compose?reply=…`, `?reply_all=…`, `?forward=…` (see [`crate::web::compose`]).
    reply_href: String,
    reply_all_href: String,
    forward_href: String,
    /// `/compose?draft=…` when the message is a draft (it is in the Drafts folder): the
    /// editor opens it with its recipients, text and files, and saving or sending it
    /// replaces it (issue 13 item 3).
    edit_href: Option<String>,
    /// Where the read-receipt answer posts, when the message asks for one that was
    /// neither sent nor declined yet (no `$MDNSent`). Never sent without the user.
    receipt_action: Option<String>,
    back_href: String,
    back_label: String,
    /// Mark unread, flag, move, archive, spam, delete; newer/older; downloads.
    actions: crate::web::actions::MessageActions,
    /// The other messages of its conversation, with the user's replies from Sent.
    conversation: Vec<crate::web::threads::ConversationRow>,
    /// What the last action did (the message before this one moved away) ...
    notice: Option<String>,
    /// ... and how to take it back.
    undo: Option<crate::web::undo::Undo>,
}

fn join_addresses(list: &[Address]) -> String {
    list.iter()
        .map(|a| match &a.name {
            Some(n) if !n.trim().is_empty() => format!("{n} <{}>", a.email),
            _ => a.email.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /mail/{mailbox}/{uid}`: the message page. Opening it marks the message read.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    Query(q): Query<RemoteQuery>,
) -> Result<Response, AppError> {
    let uid = parse_uid(&uid)?;
    state.live.touch(&account);
    // One round trip: the message, marked read, its neighbours, and the folders listed
    // after that, so the sidebar's unread count already agrees.
    let opened = state.imap.open_message(&account, &mailbox, uid).await?;
    let (raw, folders) = (&opened.raw, &opened.folders);

    let base = message_href(&mailbox, uid);
    let prefix = format!("{base}/part/");
    let parsed = parse_blocking(Arc::clone(raw)).await?;
    let policy =
        crate::web::trusted::remote_policy(&state, &account.username, &parsed, raw, q.allowed())
            .await?;
    let (allow_remote, remote_trusted) = (policy.allow, policy.trusted);
    // The page needs the body's sanitizer result too: it tells which cid images the body
    // shows (left out of the attachment list) and whether remote content was blocked.
    let (view, rendered) = render_blocking(
        crate::web::proxy::signer_for(&state, &account.username),
        &parsed,
        &prefix,
        allow_remote,
        header_labels(ctx.tr),
    )
    .await?;

    // The iframe asks for this body next: keep the finished document for it.
    state
        .bodies
        .put(
            body_key(
                &account.username,
                &mailbox,
                opened.place.uidvalidity,
                uid,
                &q,
                &ctx,
            ),
            CachedBody {
                html: body_document_html(ctx.tr, &rendered),
                sender: sender_of(&parsed),
                listed: policy.trusted || policy.unverified.is_some(),
                made: std::time::Instant::now(),
            },
        )
        .await;

    let tr = ctx.tr;
    let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
    let subject = format::subject(tr, &view.subject);
    let folder_label = folders
        .iter()
        .find(|f| f.name == mailbox)
        .map(|f| folder_label(tr, f))
        .unwrap_or_else(|| mailbox.clone());
    let ask_receipt = view.mdn_to.is_some() && !opened.mdn_sent;
    // The editor checks again that it is a real draft (`\Draft` in Drafts) before it
    // lets a save replace it; here the folder is enough to offer the action.
    let in_drafts = folders
        .iter()
        .any(|f| f.name == mailbox && f.special == Some(crate::imap::SpecialUse::Drafts));
    let mut actions = crate::web::actions::MessageActions::new(
        tr,
        &mailbox,
        uid,
        &opened.place,
        folders,
        !view.attachments.is_empty(),
    );
    let ls = crate::web::labels::LabelSettings::load(&state, &account.username).await?;
    actions.labels = ls.chips(&mailbox, &opened.place.labels);
    actions.label_choices = ls
        .all(&opened.place.labels)
        .iter()
        .filter(|k| !opened.place.labels.contains(k))
        .map(|k| k.name())
        .collect();
    let conversation =
        crate::web::threads::conversation(&state, &account, &mailbox, uid, raw, folders, tr).await;
    let mut l = Layout::with_folders(
        &ctx,
        subject.clone(),
        &account.username,
        folders,
        Some(&mailbox),
    )
    .await;
    // This page's prefetched sidebar has no folder list to check a remembered quota
    // against: the quota came with the message (`Imap::open_message`).
    l.quota = opened
        .quota
        .map(|q| crate::web::share::QuotaBar::new(tr, q));
    let page = MessagePage {
        l,
        subject,
        // No usable From reads as the list reads it ("(unknown sender)"), not as a blank.
        from: if view.from.is_empty() {
            format::sender(tr, None)
        } else {
            join_addresses(&view.from)
        },
        to: join_addresses(&view.to),
        cc: join_addresses(&view.cc),
        reply_to: join_addresses(&view.reply_to),
        date: format::full_date(view.date, zone),
        date_title: format::exact_date(view.date, zone),
        attachments: view
            .attachments
            .iter()
            .take(MAX_LISTED_ATTACHMENTS)
            .map(|a| AttachmentRow {
                href: format!("{prefix}{}", encode_segment(&a.part.to_string())),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: format::size(a.size as u64),
            })
            .collect(),
        more_attachments: (view.attachments.len() > MAX_LISTED_ATTACHMENTS).then(|| {
            let more = view.attachments.len() - MAX_LISTED_ATTACHMENTS;
            tr.tf("msg.more_attachments", &[("count", more.into())])
        }),
        too_large: rendered
            .too_large
            .iter()
            .map(|id| TooLargeLink {
                href: format!("{prefix}{}", encode_segment(&id.to_string())),
                label: tr.tf(
                    "msg.too_large_part",
                    &[(
                        "name",
                        (parsed.part_filename(id).unwrap_or_else(|| id.to_string())).into(),
                    )],
                ),
            })
            .collect(),
        // A trusted sender needs no `?remote=1`: the body route looks the sender up too.
        body_src: if q.allowed() {
            format!("{base}/body?remote=1")
        } else {
            format!("{base}/body")
        },
        show_remote_href: (rendered.has_remote_content && !allow_remote)
            .then(|| format!("{base}?remote=1")),
        remote_unverified: policy
            .unverified
            .filter(|_| rendered.has_remote_content && !allow_remote)
            .map(|key| tr.t(key)),
        trust_buttons: if rendered.has_remote_content
            && !allow_remote
            && policy.unverified.is_none()
        {
            trust_buttons(tr, view.from.first(), &base)
        } else {
            Vec::new()
        },
        remote_trusted: remote_trusted && rendered.has_remote_content,
        source_href: format!("{base}/raw"),
        print_href: if q.allowed() {
            format!("{base}/print?remote=1")
        } else {
            format!("{base}/print")
        },
        reply_href: compose_href("reply", &mailbox, uid),
        reply_all_href: compose_href("reply_all", &mailbox, uid),
        forward_href: compose_href("forward", &mailbox, uid),
        edit_href: in_drafts.then(|| compose_href("draft", &mailbox, uid)),
        receipt_action: ask_receipt.then(|| format!("{base}/receipt")),
        back_href: mailbox_href(&mailbox),
        back_label: tr.tf("msg.back", &[("folder", folder_label.into())]),
        actions,
        conversation,
        notice: crate::web::actions::notice_text(tr, q.notice.as_deref(), q.n.as_deref()),
        undo: crate::web::undo::Undo::from_query(
            q.undo_box.as_deref(),
            q.undo_v.as_deref(),
            q.undo_uids.as_deref(),
            &mailbox,
            true,
        ),
    };
    Ok(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/body.html")]
pub struct BodyDocument {
    lang: &'static str,
    /// The reader's theme (`web::theme`): plain-text mail follows it, HTML mail does not.
    theme: &'static str,
    html: String,
}

/// `/compose?{param}={mailbox}/{uid}`, the reply and forward links.
fn compose_href(param: &str, mailbox: &str, uid: u32) -> String {
    format!(
        "/compose?{param}={}",
        encode_segment(&format!("{mailbox}/{uid}"))
    )
}

/// `GET /mail/{mailbox}/{uid}/body`: the sanitized body as its own document, for the iframe.
///
/// Opened as a page of its own (`Sec-Fetch-Dest: document`: a link, a typed URL), it
/// redirects to the message page: the sender's HTML is never a top-level page on our
/// origin, where it could pose as one of ours.
pub async fn body(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    Query(q): Query<RemoteQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let uid = parse_uid(&uid)?;
    // Checked first, so a bad folder name or a missing message is still an error page, and
    // a kept document is never served for a message deleted meanwhile.
    let uidvalidity = state.imap.check_message(&account, &mailbox, uid).await?;
    let top_level = headers
        .get("sec-fetch-dest")
        .is_some_and(|d| d.as_bytes().eq_ignore_ascii_case(b"document"));
    if top_level {
        return Ok(Redirect::to(&message_href(&mailbox, uid)).into_response());
    }
    let key = body_key(&account.username, &mailbox, uidvalidity, uid, &q, &ctx);
    let html = match kept_body(&state, &account.username, &key).await? {
        Some(kept) => kept,
        None => {
            let (html, sender, listed) =
                render_body_document(&state, &account, &mailbox, uid, &q, ctx.tr).await?;
            let keep = CachedBody {
                html: html.clone(),
                sender,
                listed,
                made: std::time::Instant::now(),
            };
            state.bodies.put(key, keep).await;
            html
        }
    };
    let mut res = BodyDocument {
        lang: ctx.tr.lang().tag(),
        theme: ctx.theme.as_str(),
        html,
    }
    .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(BODY_CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// The key of a body document in [`AppState::bodies`].
fn body_key(
    user: &str,
    mailbox: &str,
    uidvalidity: u32,
    uid: u32,
    q: &RemoteQuery,
    ctx: &PageCtx,
) -> BodyKey {
    BodyKey {
        user: user.to_owned(),
        mailbox: mailbox.to_owned(),
        uidvalidity,
        uid,
        asked_remote: q.allowed(),
        lang: ctx.tr.lang().tag(),
    }
}

/// The sender address whose trust decides about remote content (see
/// [`crate::web::trusted::remote_policy`]).
fn sender_of(parsed: &ParsedMessage) -> Option<String> {
    parsed
        .sender_addresses()
        .into_iter()
        .next()
        .map(|a| a.email)
}

/// The kept document for `key`, if the remote-content decision it was rendered under
/// still holds: asked for once, or the sender's place in the trusted list unchanged.
async fn kept_body(
    state: &AppState,
    username: &str,
    key: &BodyKey,
) -> Result<Option<String>, AppError> {
    let Some(kept) = state.bodies.get(key).await else {
        return Ok(None);
    };
    // Its signed image-proxy URLs expire: an old document is rendered afresh.
    if kept.made.elapsed() > crate::web::rendered::fresh_for(state.config.proxy_url_lifetime) {
        return Ok(None);
    }
    let listed = match (&kept.sender, key.asked_remote) {
        (Some(sender), false) => trusted::is_trusted(&state.db, username, sender).await?,
        _ => kept.listed,
    };
    Ok((listed == kept.listed).then(|| kept.html.clone()))
}

/// Fetches, parses and renders the body document (when the page's was not kept):
/// the document's HTML, the sender and whether it was listed as trusted.
async fn render_body_document(
    state: &AppState,
    account: &crate::imap::Account,
    mailbox: &str,
    uid: u32,
    q: &RemoteQuery,
    tr: Tr,
) -> Result<(String, Option<String>, bool), AppError> {
    let raw = state.imap.fetch_raw(account, mailbox, uid).await?;
    let prefix = format!("{}/part/", message_href(mailbox, uid));
    let parsed = parse_blocking(Arc::clone(&raw)).await?;
    let policy =
        crate::web::trusted::remote_policy(state, &account.username, &parsed, &raw, q.allowed())
            .await?;
    let (allow_remote, listed) = (policy.allow, policy.trusted || policy.unverified.is_some());
    let sender = sender_of(&parsed);
    let proxy = crate::web::proxy::signer_for(state, &account.username);
    let labels = header_labels(tr);
    let rendered = blocking(move || {
        parsed.render_body(&RenderOptions {
            allow_remote,
            part_url_prefix: &prefix,
            image_proxy: Some(&proxy),
            header_labels: labels,
        })
    })
    .await?;
    Ok((body_document_html(tr, &rendered), sender, listed))
}

/// What goes inside the body document's `<body>`: the sanitized body, with our notices
/// for parts left out and for an empty body.
fn body_document_html(tr: Tr, rendered: &mime::RenderedBody) -> String {
    let mut html = String::new();
    if !rendered.too_large.is_empty() {
        // The page beside this frame has the download links (a sandboxed frame may not
        // start downloads).
        html.push_str(&format!(
            "<p class=\"mr-too-large\"><em>{}</em></p>",
            html_escape::encode_text(tr.t("msg.too_large"))
        ));
    }
    if rendered.html.trim().is_empty() && rendered.too_large.is_empty() {
        html.push_str(&format!(
            "<p><em>{}</em></p>",
            html_escape::encode_text(tr.t("msg.no_body"))
        ));
    } else {
        html.push_str(&rendered.html);
    }
    html
}

/// The print view: the headers and the sanitized body, nothing of the app around them.
#[derive(Template, WebTemplate)]
#[template(path = "pages/print.html")]
pub struct PrintPage {
    l: Layout,
    subject: String,
    from: String,
    to: String,
    cc: String,
    date: String,
    /// Attachment names, listed under the body (their links would print as noise).
    attachments: Vec<String>,
    /// The body, sanitized exactly as for the iframe.
    body: String,
    back_href: String,
}

/// `GET /mail/{mailbox}/{uid}/print`: the message for printing, without the top bar,
/// sidebar, buttons or forms, and without JavaScript (the browser's Print command prints
/// it). The body comes from the same sanitizer and the same remote-content decision as
/// the message page; the page's own CSP forbids every script. Another user's or a
/// missing message is the same 404 as the message page. It does not mark the message
/// read (only opening it does).
pub async fn print(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    Query(q): Query<RemoteQuery>,
) -> Result<Response, AppError> {
    let uid = parse_uid(&uid)?;
    let raw = state.imap.fetch_raw(&account, &mailbox, uid).await?;
    let base = message_href(&mailbox, uid);
    let prefix = format!("{base}/part/");
    let parsed = parse_blocking(Arc::clone(&raw)).await?;
    let allow_remote =
        crate::web::trusted::remote_policy(&state, &account.username, &parsed, &raw, q.allowed())
            .await?
            .allow;
    let (view, rendered) = render_blocking(
        crate::web::proxy::signer_for(&state, &account.username),
        &parsed,
        &prefix,
        allow_remote,
        header_labels(ctx.tr),
    )
    .await?;
    let tr = ctx.tr;
    let subject = format::subject(tr, &view.subject);
    let body = if rendered.html.trim().is_empty() {
        format!(
            "<p><em>{}</em></p>",
            html_escape::encode_text(tr.t("msg.no_body"))
        )
    } else {
        rendered.html
    };
    let mut res = PrintPage {
        l: Layout::bare(&ctx, subject.clone()),
        subject,
        from: if view.from.is_empty() {
            format::sender(tr, None)
        } else {
            join_addresses(&view.from)
        },
        to: join_addresses(&view.to),
        cc: join_addresses(&view.cc),
        date: format::full_date(
            view.date,
            crate::zone::user_zone(&state.db, &account.username, &state.config).await,
        ),
        attachments: view
            .attachments
            .iter()
            .take(MAX_LISTED_ATTACHMENTS)
            .map(|a| a.filename.clone())
            .collect(),
        body,
        back_href: base,
    }
    .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PRINT_CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// `GET /mail/{mailbox}/{uid}/part/{part}`: one attachment or inline image, byte for byte.
pub async fn part(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid, part)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let uid = parse_uid(&uid)?;
    let id: PartId = part
        .parse()
        .map_err(|_| AppError::BadRequest("error.bad.part"))?;
    let raw = state.imap.fetch_raw(&account, &mailbox, uid).await?;
    let p = blocking(move || mime::part(&raw, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    let content_type = if p.inline_safe {
        p.content_type.clone()
    } else {
        download_type(&p.content_type)
    };
    let disposition =
        content_disposition(p.inline_safe, p.filename.as_deref().unwrap_or("attachment"));
    let mut res = p.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PART_CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    // Text is worth compressing; images, archives and documents mostly are already.
    if !content_type.starts_with("text/") {
        res.extensions_mut().insert(Precompressed);
    }
    Ok(res)
}

/// `?download=1` of the raw route.
#[derive(Deserialize)]
pub struct RawQuery {
    download: Option<String>,
}

/// `GET /mail/{mailbox}/{uid}/raw`: the message source as plain text, or with
/// `?download=1` the exact bytes as an `.eml` file (see `web::export`).
pub async fn raw(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    Query(q): Query<RawQuery>,
) -> Result<Response, AppError> {
    let uid = parse_uid(&uid)?;
    let raw = state.imap.fetch_raw(&account, &mailbox, uid).await?;
    if q.download.as_deref() == Some("1") {
        return crate::web::export::eml_response(raw).await;
    }
    let text = blocking(move || String::from_utf8_lossy(&raw).into_owned()).await?;
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PART_CSP),
    );
    Ok(res)
}

/// The type an attachment is downloaded as. Types a browser would execute or render as a
/// document (HTML, SVG, XML, scripts) become octet-stream; the rest keep their declared
/// type, cleaned of anything but a `type/subtype`.
fn download_type(declared: &str) -> String {
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let valid = essence.split_once('/').is_some_and(|(t, s)| {
        !t.is_empty()
            && !s.is_empty()
            && essence
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b))
    });
    let dangerous = essence.contains("html")
        || essence.contains("xml")
        || essence.contains("svg")
        || essence.contains("javascript")
        || essence.contains("ecmascript");
    if valid && !dangerous {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

/// `Content-Disposition` per RFC 6266: an ASCII fallback `filename` plus the exact
/// UTF-8 name in `filename*` (RFC 8187).
pub fn content_disposition(inline: bool, filename: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // attr-char of RFC 8187: ALPHA / DIGIT / "!#$&+-.^_`|~"
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(filename, ATTR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The header labels above a forwarded message, in the reader's language.
fn header_labels(tr: crate::i18n::Tr) -> mime::HeaderLabels<'static> {
    mime::HeaderLabels {
        from: tr.t("msg.from"),
        to: tr.t("msg.to"),
        cc: tr.t("msg.cc"),
        date: tr.t("msg.date"),
        subject: tr.t("msg.subject"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition(false, "报告 v1.pdf"),
            "attachment; filename=\"__ v1.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20v1.pdf"
        );
        assert!(content_disposition(true, "a\"b.png").starts_with("inline; filename=\"a_b.png\""));
    }

    #[test]
    fn download_types() {
        assert_eq!(
            download_type("application/pdf; name=x.pdf"),
            "application/pdf"
        );
        assert_eq!(download_type("text/html"), "application/octet-stream");
        assert_eq!(download_type("image/svg+xml"), "application/octet-stream");
        assert_eq!(download_type("bogus"), "application/octet-stream");
        assert_eq!(
            download_type("text/plain\r\nX: y"),
            "application/octet-stream"
        );
    }

    #[test]
    fn uids() {
        assert_eq!(parse_uid("42").unwrap(), 42);
        for bad in ["0", "-1", "x", "4294967296", ""] {
            assert!(parse_uid(bad).is_err());
        }
    }
}
