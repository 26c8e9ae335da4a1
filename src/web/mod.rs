//! The HTTP layer: the route table, the middleware stack, and one handler file per area.
//! Handlers stay thin: extract, call `imap::`/`mime::`/`store::`, build a page, return it.

use axum::{
    Router,
    http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode, Version, header},
    middleware,
    routing::{get, post},
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tower_http::{
    compression::{CompressionLayer, DefaultPredicate, Predicate},
    csrf::CsrfLayer,
    set_header::SetResponseHeaderLayer,
    timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{SessionManagerLayer, SessionStore, service::PrivateCookie};

use crate::app::AppState;

mod accounts;
mod actions;
mod assets;
mod auth;
mod compose;
/// Public for [`contacts::ContactsDatalist`], which pages with recipient fields embed.
pub mod contacts;
mod events;
mod export;
mod extract;
mod folders;
mod format;
mod labels;
pub mod layout;
mod mailbox;
mod message;
mod ops;
pub mod outbox;
/// Crate-visible for [`proxy::ImageFetcher`], which [`AppState`] holds.
pub(crate) mod proxy;
pub mod rendered;
mod resume;
mod rules;
mod search;
pub mod session;
mod settings;
mod share;
pub mod theme;
mod threads;
pub(crate) mod throttle;
pub(crate) mod tokens;
mod trusted;
mod twofactor;
mod undo;

/// Content-Security-Policy of application pages: only our own scripts and styles; message
/// bodies come in a sandboxed same-origin iframe; nothing may frame us.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'";

/// The whole route table.
pub fn router<S: SessionStore + Clone>(
    state: AppState,
    sessions: SessionManagerLayer<S, PrivateCookie>,
) -> Router {
    Router::new()
        // Health and home
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(mailbox::home))
        // Login and logout
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        // Two-factor login (issue 14): the code after the password, and its settings
        .route(
            "/login/code",
            get(twofactor::code_form).post(twofactor::submit_code),
        )
        .route("/settings/2fa", get(twofactor::show))
        .route("/settings/2fa/start", post(twofactor::start))
        .route("/settings/2fa/enable", post(twofactor::enable))
        .route("/settings/2fa/disable", post(twofactor::disable))
        // Reading: folder list pages, a message, its sanitized body, its parts, its source
        // Live updates for open pages (server-sent events)
        .route("/events", get(events::events))
        .route("/mail/{mailbox}", get(mailbox::list))
        .route("/mail/{mailbox}/{uid}", get(message::show))
        .route("/mail/{mailbox}/{uid}/body", get(message::body))
        .route("/mail/{mailbox}/{uid}/part/{part}", get(message::part))
        .route("/mail/{mailbox}/{uid}/raw", get(message::raw))
        .route("/mail/{mailbox}/{uid}/print", get(message::print))
        // Organizing: message actions (one or many), deleting for good, emptying Trash/Junk
        .route("/mail/{mailbox}/actions", post(actions::apply))
        .route("/mail/{mailbox}/confirm", get(actions::confirm))
        .route(
            "/mail/{mailbox}/empty",
            get(actions::empty_confirm).post(actions::empty),
        )
        // Folder management: all folders, one folder's settings, rename, delete, subscribe
        .route("/folders", get(folders::list).post(folders::create))
        .route("/folders/{mailbox}", get(folders::show))
        .route("/folders/{mailbox}/rename", post(folders::rename))
        .route(
            "/folders/{mailbox}/delete",
            get(folders::delete_confirm).post(folders::delete),
        )
        .route("/folders/{mailbox}/subscribe", post(folders::subscribe))
        // Sharing a folder with a teammate (ACL)
        .route(
            "/folders/{mailbox}/share",
            get(share::show).post(share::update),
        )
        // Export: a message's attachments as .zip, a folder as mbox (the .eml is `raw`)
        .route(
            "/mail/{mailbox}/{uid}/attachments.zip",
            get(export::attachments_zip),
        )
        .route("/export/{mailbox}", get(export::mbox))
        // Writing: the compose form (send, save draft) and read-receipt answers
        .route(
            "/compose",
            get(compose::form)
                .post(compose::submit)
                .layer(compose::body_limit(&state.config)),
        )
        .route("/mail/{mailbox}/{uid}/receipt", post(compose::receipt))
        // Address book: list, add, edit, delete, vCard import/export, suggestions (JSON)
        // Send later and undo send
        .route("/outbox", get(outbox::show))
        .route("/settings/undo", post(outbox::set_undo))
        .route("/outbox/{id}/cancel", post(outbox::cancel))
        .route("/outbox/{id}/send", post(outbox::send_now))
        .route("/contacts", get(contacts::list).post(contacts::add))
        .route("/contacts/suggest", get(contacts::suggest))
        .route("/contacts/import", post(contacts::import))
        .route("/contacts/export.vcf", get(contacts::export))
        .route("/contacts/{id}", post(contacts::update))
        .route("/contacts/{id}/delete", post(contacts::delete))
        // Settings: identities (From addresses, names, signatures) and the language
        .route("/settings", get(settings::show))
        .route("/settings/identities", post(settings::create))
        .route("/settings/identities/{id}", post(settings::update))
        .route("/settings/identities/{id}/delete", post(settings::delete))
        .route("/settings/language", post(settings::language))
        .route("/settings/timezone", post(settings::timezone))
        .route("/settings/theme", post(settings::theme))
        // Remote content: the image proxy and the trusted senders (issue 5)
        .route("/proxy", get(proxy::image))
        .route("/settings/remote", get(trusted::show).post(trusted::update))
        // Mail from other mailboxes, fetched on demand and while the user is active (issue 14)
        .route(
            "/settings/accounts",
            get(accounts::show).post(accounts::add),
        )
        .route("/settings/accounts/{id}/fetch", post(accounts::fetch_now))
        .route("/settings/accounts/{id}/delete", post(accounts::delete))
        // Labels (IMAP keywords): create, rename, colour, delete.
        .route("/labels", get(labels::show).post(labels::update))
        // Mail rules kept on the server with ManageSieve (issue 12): filters, vacation
        // reply, forwarding, the raw script
        .route("/settings/rules", get(rules::show).post(rules::create))
        .route("/settings/rules/activate", post(rules::activate))
        .route(
            "/settings/rules/advanced",
            get(rules::advanced_show).post(rules::advanced_update),
        )
        .route("/settings/rules/{id}/{verb}", post(rules::change))
        .route(
            "/settings/vacation",
            get(rules::vacation_show).post(rules::vacation_update),
        )
        .route(
            "/settings/forwarding",
            get(rules::forwarding_show).post(rules::forwarding_update),
        )
        // Static assets, compiled into the binary
        .route("/static/{file}", get(assets::serve))
        .route_layer(middleware::from_fn(ops::tag_route))
        // Inside page_context (it needs the PageCtx): namespaces, quota, folder rights.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            share::sidebar_prefetch,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layout::page_context,
        ))
        // Inside the session layer: it needs the session.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::keep_alive,
        ))
        .layer(sessions)
        // Refuse cross-site POSTs from browsers (Sec-Fetch-Site / Origin); the CSRF token
        // checked in each handler covers the rest.
        .layer(CsrfLayer::new())
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        // Names in a message (links, proxied image hosts) must not be resolved by the
        // browser ahead of time: a DNS lookup is itself a "read" receipt for the sender.
        .layer(security_header(
            HeaderName::from_static("x-dns-prefetch-control"),
            "off",
        ))
        .layer(
            // The fastest level: a list page shrinks 44 KB → ~10 KB either way, and the
            // default level costs about as much CPU as the rest of a cached page.
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new().and(not_precompressed)),
        )
        // A body that stalls is abandoned (the header-read timeout is in `server`).
        .layer(RequestBodyTimeoutLayer::new(state.config.http_body_timeout))
        .layer(TraceLayer::new_for_http())
        // One read of the user's settings per request, however many a page needs.
        .layer(middleware::from_fn(
            |req: axum::extract::Request, next: middleware::Next| {
                crate::store::settings::per_request(next.run(req))
            },
        ))
        .layer(middleware::from_fn(ops::count_requests))
        .with_state(state)
}

/// Sets a header unless the handler already chose one (the body and part routes do).
fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Response extension that keeps a response out of the compression layer: a `.zip` or an
/// attachment is already compressed (or binary), and deflating it again costs CPU on
/// every download for nothing.
#[derive(Clone, Copy, Debug)]
pub struct Precompressed;

/// The compression predicate: compress unless the handler marked the response
/// [`Precompressed`] (images, SSE and tiny bodies are skipped by `DefaultPredicate`).
fn not_precompressed(_: StatusCode, _: Version, _: &HeaderMap, ext: &Extensions) -> bool {
    ext.get::<Precompressed>().is_none()
}

/// Characters left as-is in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a folder name as one path segment (a `/` delimiter becomes `%2F`).
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `/mail/{mailbox}` for a folder.
pub fn mailbox_href(name: &str) -> String {
    format!("/mail/{}", encode_segment(name))
}

/// `/mail/{mailbox}/{uid}` for a message.
pub fn message_href(mailbox: &str, uid: u32) -> String {
    format!("/mail/{}/{uid}", encode_segment(mailbox))
}
