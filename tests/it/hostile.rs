//! Hostile mail (issue 5): the corpus in `tests/fixtures/hostile` and `tests/fixtures/remote`
//! through the sanitizer and through HTTP, the image proxy against a local canary server,
//! trusted senders, and a time-bounded property-based fuzz run over parse → sanitize →
//! render. The real-browser half is `browser.rs`, which uses the helpers here.
//!
//! Every corpus message shows `MARKER-<name>`; every payload, if it ran or loaded, would
//! reach the canary (`http://127.0.0.1:{CANARY_PORT}/…`, templated at seed time).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode as AxStatus, header},
    response::{IntoResponse, Response},
};
use mailroom::mime::{self, HeaderLabels, ImageProxy, RenderOptions};
use reqwest::StatusCode;

use crate::common::{app::TestApp, mailstack::MailStack};

/// Which corpus a fixture belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Tries to run script or mislead (tests/fixtures/hostile).
    Hostile,
    /// Tries to load something from the network (tests/fixtures/remote).
    Remote,
}

/// One corpus message, templated for a canary port.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub name: String,
    pub kind: Kind,
    pub raw: Vec<u8>,
}

impl Fixture {
    /// The text the message must show.
    pub fn marker(&self) -> String {
        format!("MARKER-{}", self.name)
    }
}

fn fixtures_dir(kind: Kind) -> PathBuf {
    let sub = match kind {
        Kind::Hostile => "hostile",
        Kind::Remote => "remote",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

/// Both corpora, sorted by name, with `{CANARY_PORT}` replaced by `port`.
pub fn corpus(port: u16) -> Vec<Fixture> {
    let mut all = Vec::new();
    for kind in [Kind::Hostile, Kind::Remote] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir(kind))
            .expect("fixtures dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("file name")
                .to_owned();
            let raw = std::fs::read(&path).expect("read fixture");
            let raw = replace_bytes(&raw, b"{CANARY_PORT}", port.to_string().as_bytes());
            all.push(Fixture { name, kind, raw });
        }
    }
    all
}

fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

// ------------------------------------------------------------------ canary server

/// One request the canary saw.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    /// The request target: a path, or an absolute URL when Chromium used us as its proxy.
    pub target: String,
    pub headers: HeaderMap,
}

/// A canned answer for one path.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub location: Option<String>,
    pub delay: Duration,
    /// Extra response headers, e.g. a `Set-Cookie` the proxy must not pass on.
    pub headers: Vec<(String, String)>,
}

impl Canned {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            status: 200,
            content_type: content_type.to_owned(),
            body: body.into(),
            location: None,
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    pub fn redirect(to: &str) -> Canned {
        Canned {
            status: 302,
            content_type: "text/plain".into(),
            body: Vec::new(),
            location: Some(to.to_owned()),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }
}

#[derive(Default)]
struct CanaryState {
    hits: Mutex<Vec<Hit>>,
    routes: Mutex<HashMap<String, Canned>>,
}

/// A tiny HTTP server on 127.0.0.1 that records every request (and serves canned answers).
/// It also serves as Chromium's HTTP proxy in the browser suite, so a request to any
/// non-loopback host lands here too, as an absolute-URL target.
#[derive(Clone)]
pub struct Canary {
    pub port: u16,
    state: Arc<CanaryState>,
}

impl Canary {
    pub async fn start() -> Canary {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind canary");
        let port = listener.local_addr().expect("canary addr").port();
        let state = Arc::new(CanaryState::default());
        let app = axum::Router::new()
            .fallback(record)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Canary { port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn route(&self, path: &str, canned: Canned) {
        self.state
            .routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), canned);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("hits").clone()
    }
}

async fn record(State(state): State<Arc<CanaryState>>, req: Request) -> Response {
    let target = req.uri().to_string();
    state.hits.lock().expect("hits").push(Hit {
        method: req.method().to_string(),
        target: target.clone(),
        headers: req.headers().clone(),
    });
    let path = req.uri().path().to_owned();
    let canned = state.routes.lock().expect("routes").get(&path).cloned();
    let Some(c) = canned else {
        return AxStatus::NOT_FOUND.into_response();
    };
    if !c.delay.is_zero() {
        tokio::time::sleep(c.delay).await;
    }
    let mut res = c.body.into_response();
    *res.status_mut() = AxStatus::from_u16(c.status).unwrap_or(AxStatus::OK);
    if let Ok(v) = c.content_type.parse() {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(loc) = c.location
        && let Ok(v) = loc.parse()
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    for (name, value) in c.headers {
        if let (Ok(n), Ok(v)) = (
            name.parse::<axum::http::HeaderName>(),
            value.parse::<axum::http::HeaderValue>(),
        ) {
            res.headers_mut().append(n, v);
        }
    }
    res
}

// ------------------------------------------------------------------ output safety

/// Elements that must never come out of the sanitizer.
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "option",
    "template",
    "noscript",
    "video",
    "audio",
    "source",
    "picture",
    "track",
    "portal",
    "marquee",
    "title",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
    "image",
    "use",
    "animate",
    "set",
    "foreignobject",
];

/// Classes mime's own wrappers use; a message cannot set any.
const OWN_CLASSES: &[&str] = &[
    "mr-html",
    "mr-plain",
    "mr-inline-image",
    "mr-attached-message",
    "mr-attached-headers",
];

/// Everything unsafe in a sanitized body, parsed like a browser would. `proxy` is the key
/// remote images must be signed with (allowed remote content); `None` means remote
/// content is blocked and no remote or proxied URL may appear.
pub fn unsafe_output(html: &str, part_prefix: &str, proxy: Option<&ImageProxy>) -> Vec<String> {
    let mut problems = Vec::new();
    let doc = scraper::Html::parse_fragment(html);
    for el in doc.root_element().descendent_elements() {
        let tag = el.value().name().to_ascii_lowercase();
        if FORBIDDEN_ELEMENTS.contains(&tag.as_str()) {
            problems.push(format!("element <{tag}>"));
        }
        for (attr, value) in el.value().attrs() {
            let attr = attr.to_ascii_lowercase();
            let lower = value.trim().to_ascii_lowercase();
            if attr.starts_with("on") {
                problems.push(format!("event attribute {attr} on <{tag}>"));
            }
            if matches!(
                attr.as_str(),
                "id" | "name"
                    | "srcset"
                    | "poster"
                    | "action"
                    | "formaction"
                    | "xlink:href"
                    | "ping"
                    | "data"
                    | "srcdoc"
                    | "http-equiv"
            ) {
                problems.push(format!("attribute {attr} on <{tag}>"));
            }
            if attr == "class" && !OWN_CLASSES.contains(&value) {
                problems.push(format!("class {value:?} on <{tag}>"));
            }
            // Attributes a browser fetches from or runs may not hold a dangerous URL. A link
            // is judged by its scheme (below); other attributes are only text to a browser.
            let url_capable = matches!(
                attr.as_str(),
                "src"
                    | "background"
                    | "style"
                    | "srcset"
                    | "poster"
                    | "data"
                    | "action"
                    | "formaction"
                    | "xlink:href"
                    | "lowsrc"
                    | "dynsrc"
                    | "codebase"
                    | "cite"
                    | "longdesc"
                    | "usemap"
                    | "manifest"
                    | "ping"
                    | "icon"
            );
            for bad in ["javascript:", "vbscript:", "data:text", "data:image/svg"] {
                if url_capable && lower.contains(bad) {
                    problems.push(format!("{attr} on <{tag}> contains {bad}: {value}"));
                }
            }
            if attr == "style" {
                problems.extend(unsafe_style(&lower));
            }
            if attr == "href" {
                let ok = value.starts_with(part_prefix)
                    || ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|p| lower.starts_with(p));
                if !ok {
                    problems.push(format!("href {value}"));
                }
                if el.value().attr("rel") != Some("noopener noreferrer")
                    || el.value().attr("target") != Some("_blank")
                {
                    problems.push(format!("link without rel/target: {value}"));
                }
            }
            if matches!(attr.as_str(), "src" | "background") {
                let raster = ["png", "jpeg", "gif", "webp"]
                    .iter()
                    .any(|t| lower.starts_with(&format!("data:image/{t}")));
                let proxied = proxy.is_some_and(|p| proxied_url_is_ours(p, value));
                if !(value.starts_with(part_prefix) || raster || proxied) {
                    problems.push(format!("{attr} on <{tag}>: {value}"));
                }
            }
            if url_capable
                && (lower.contains("http://")
                    || lower.contains("https://")
                    || lower.starts_with("//"))
            {
                problems.push(format!("remote URL in {attr} on <{tag}>: {value}"));
            }
        }
    }
    problems
}

/// What is wrong with a (lower-cased) `style` attribute: a property that can fetch or
/// move the message out of its box, or a value that can fetch, run or escape.
fn unsafe_style(style: &str) -> Vec<String> {
    const PROPERTIES: &[&str] = &[
        "position",
        "z-index",
        "top",
        "left",
        "right",
        "bottom",
        "inset",
        "transform",
        "background",
        "background-image",
        "list-style",
        "list-style-image",
        "content",
        "cursor",
        "border-image",
        "border-image-source",
        "mask",
        "mask-image",
        "filter",
        "behavior",
        "-moz-binding",
        "src",
    ];
    const VALUES: &[&str] = &[
        "url(",
        "image-set",
        "image(",
        "expression",
        "\\",
        "var(",
        "@import",
        "javascript:",
    ];
    let mut problems = Vec::new();
    for declaration in style.split(';') {
        let (property, value) = declaration.split_once(':').unwrap_or((declaration, ""));
        let property = property.trim();
        if PROPERTIES.contains(&property) {
            problems.push(format!("style property {property}: {style}"));
        }
        if property.starts_with("margin") && value.contains('-') {
            problems.push(format!("negative margin: {style}"));
        }
    }
    for bad in VALUES {
        if style.contains(bad) {
            problems.push(format!("style contains {bad:?}: {style}"));
        }
    }
    problems
}

/// Whether `src` is `/proxy?url=…&exp=…&sig=…` with a valid signature from `proxy`.
pub fn proxied_url_is_ours(proxy: &ImageProxy, src: &str) -> bool {
    let Some(query) = src.strip_prefix("/proxy?") else {
        return false;
    };
    let mut url = None;
    let mut exp = None;
    let mut sig = None;
    for (k, v) in form_urlencoded_pairs(query) {
        match k.as_str() {
            "url" => url = Some(v),
            "exp" => exp = v.parse::<i64>().ok(),
            "sig" => sig = Some(v),
            _ => return false,
        }
    }
    // An unbound proxy (these tests render without a user) writes `exp=0`.
    match (url, exp, sig) {
        (Some(u), Some(0), Some(s)) => proxy.verify(&u, &s),
        _ => false,
    }
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let d = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

/// The visible text of a sanitized fragment.
fn text_of(html: &str) -> String {
    scraper::Html::parse_fragment(html)
        .root_element()
        .text()
        .collect()
}

const PREFIX: &str = "/mail/INBOX/1/part/";

fn render(raw: &[u8], proxy: Option<&ImageProxy>) -> Result<mime::RenderedBody, mime::MimeError> {
    mime::render_body(
        raw,
        &RenderOptions {
            allow_remote: proxy.is_some(),
            part_url_prefix: PREFIX,
            image_proxy: proxy,
            header_labels: HeaderLabels::ENGLISH,
        },
    )
}

// ------------------------------------------------------------------ corpus tests

#[test]
fn corpus_is_big_enough_and_every_message_carries_a_marker_and_a_canary() {
    let all = corpus(4242);
    let hostile = all.iter().filter(|f| f.kind == Kind::Hostile).count();
    let remote = all.iter().filter(|f| f.kind == Kind::Remote).count();
    assert!(hostile >= 40, "only {hostile} hostile messages");
    assert!(remote >= 20, "only {remote} remote-fetch messages");
    for f in &all {
        let text = String::from_utf8_lossy(&f.raw);
        assert!(!text.contains("{CANARY_PORT}"), "{}: not templated", f.name);
        let marker_shown = text.contains(&f.marker()) || f.name == "charset-utf16"; // its body is base64 UTF-16
        assert!(marker_shown, "{}: no marker", f.name);
        if f.kind == Kind::Remote {
            assert!(
                text.contains(&format!("127.0.0.1:4242/{}", f.name)),
                "{}: does not point at the canary",
                f.name
            );
        }
    }
}

#[test]
fn corpus_renders_safely_with_remote_content_blocked_and_allowed() {
    let proxy = ImageProxy::new(b"corpus test key");
    let mut failures = Vec::new();
    for f in corpus(4242) {
        for allowed in [None, Some(&proxy)] {
            let label = format!(
                "{} (remote {})",
                f.name,
                if allowed.is_some() {
                    "allowed"
                } else {
                    "blocked"
                }
            );
            let body = match render(&f.raw, allowed) {
                Ok(b) => b,
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            for p in unsafe_output(&body.html, PREFIX, allowed) {
                failures.push(format!("{label}: {p}"));
            }
            if !text_of(&body.html).contains(&f.marker()) {
                failures.push(format!("{label}: marker missing from {}", body.html));
            }
        }
        // The view (headers, attachment names) is plain text for the template to escape:
        // no control characters, no path in a filename.
        if let Ok(view) = mime::parse(&f.raw) {
            for a in &view.attachments {
                if a.filename.contains(['/', '\\']) || a.filename.chars().any(char::is_control) {
                    failures.push(format!("{}: filename {:?}", f.name, a.filename));
                }
                if let Some(p) = mime::part(&f.raw, &a.part)
                    && p.inline_safe
                    && !["image/png", "image/jpeg", "image/gif", "image/webp"]
                        .contains(&p.content_type.as_str())
                {
                    failures.push(format!("{}: {} served inline", f.name, p.content_type));
                }
            }
            if view.subject.chars().any(|c| c.is_control()) {
                failures.push(format!("{}: control character in subject", f.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The exact body CSP the issue asks for.
const BODY_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox";

#[tokio::test]
async fn corpus_through_http_is_inert_and_shows_every_marker() {
    let canary = Canary::start().await;
    let all = corpus(canary.port);
    let app = TestApp::spawn("hostile-http").await;
    let emls: Vec<Vec<u8>> = all.iter().map(|f| f.raw.clone()).collect();
    MailStack::shared()
        .append_many(&app.user, "INBOX", &emls)
        .await;
    app.login().await;
    let mut failures = Vec::new();
    for (i, f) in all.iter().enumerate() {
        let uid = i + 1;
        for remote in ["", "?remote=1"] {
            let page = app.get(&format!("/mail/INBOX/{uid}{remote}")).await;
            if page.status != StatusCode::OK {
                failures.push(format!("{} page: {}", f.name, page.status));
                continue;
            }
            // The app page itself: only our own scripts, no handler, nothing from the message
            // outside the iframe except escaped text.
            let doc = scraper::Html::parse_document(&page.body);
            for el in doc.root_element().descendent_elements() {
                let tag = el.value().name();
                for (attr, _) in el.value().attrs() {
                    if attr.starts_with("on") {
                        failures.push(format!("{}: {attr} on <{tag}> on the page", f.name));
                    }
                }
                let own_script = tag == "script"
                    && el
                        .value()
                        .attr("src")
                        .is_some_and(|s| s.starts_with("/static/"))
                    && el.text().all(|t| t.trim().is_empty());
                if (tag == "script" && !own_script)
                    || ["math", "object", "embed", "base", "style", "meta"].contains(&tag)
                        && el.value().attr("name") != Some("viewport")
                        && el.value().attr("name") != Some("referrer")
                        && el.value().attr("charset").is_none()
                {
                    failures.push(format!("{}: <{tag}> on the page", f.name));
                }
            }
            let iframes = page.attrs("iframe.body", "sandbox");
            if iframes.len() != 1 || iframes[0].split(' ').any(|t| t == "allow-scripts") {
                failures.push(format!("{}: iframe sandbox {iframes:?}", f.name));
            }

            let body = app
                .get_frame(&format!("/mail/INBOX/{uid}/body{remote}"))
                .await;
            if body.header("content-security-policy") != BODY_CSP {
                failures.push(format!(
                    "{}: body CSP {}",
                    f.name,
                    body.header("content-security-policy")
                ));
            }
            if body.header("content-type") != "text/html; charset=utf-8" {
                failures.push(format!(
                    "{}: body type {}",
                    f.name,
                    body.header("content-type")
                ));
            }
            if !body.texts("body").concat().contains(&f.marker()) {
                failures.push(format!("{}{remote}: marker not in the body", f.name));
            }
            let scripts = body.attrs("script", "src").len() + body.texts("script").len();
            if scripts > 0 {
                failures.push(format!("{}: script in the body document", f.name));
            }
        }
    }
    // Rendering fetched nothing: the server never follows a message's URLs (the image
    // proxy is only reached by a browser, and this client loads no images).
    assert!(
        canary.hits().is_empty(),
        "canary was hit: {:?}",
        canary.hits()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

// ------------------------------------------------------------------ image proxy

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// An HTML message whose images are `srcs`, from `sender`.
pub(crate) fn image_message(sender: &str, srcs: &[String]) -> Vec<u8> {
    let imgs: String = srcs
        .iter()
        .map(|s| format!("<img src=\"{s}\" alt=\"i\">\r\n"))
        .collect();
    format!(
        "From: {sender}\r\nTo: me@example.test\r\nSubject: images\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>MARKER-images</p>\r\n{imgs}"
    )
    .into_bytes()
}

/// The proxy URLs of a body document's images, in order.
pub(crate) async fn proxied_srcs(app: &TestApp, path: &str) -> Vec<String> {
    let body = app.get_frame(path).await;
    assert_eq!(body.status, StatusCode::OK, "{}", body.body);
    body.attrs("img", "src")
}

fn canary_paths(canary: &Canary) -> Vec<String> {
    canary.hits().into_iter().map(|h| h.target).collect()
}

#[tokio::test]
async fn image_proxy_serves_checked_images_and_refuses_everything_else() {
    let canary = Canary::start().await;
    let big = {
        let mut b = PNG.to_vec();
        b.resize(5 * 1024 * 1024 + 1, 0);
        b
    };
    canary.route("/ok.png", {
        let mut c = Canned::ok("image/png", PNG);
        c.headers = vec![
            ("set-cookie".into(), "tracker=1; Path=/".into()),
            ("x-tracker".into(), "1".into()),
            (
                "content-disposition".into(),
                "attachment; filename=x.html".into(),
            ),
        ];
        c
    });
    canary.route(
        "/page.html",
        Canned::ok("text/html", "<script>alert(1)</script>"),
    );
    canary.route(
        "/evil.svg",
        Canned::ok(
            "image/svg+xml",
            "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ),
    );
    canary.route(
        "/liar.png",
        Canned::ok("image/png", "<html><script>alert(1)</script>"),
    );
    canary.route("/big.png", Canned::ok("image/png", big));
    canary.route("/redirect-ok", Canned::redirect("/ok.png"));
    canary.route(
        "/redirect-private",
        Canned::redirect("http://10.0.0.1/x.png"),
    );
    canary.route(
        "/redirect-metadata",
        Canned::redirect("http://169.254.169.254/latest/meta-data/"),
    );
    canary.route("/redirect-loop", Canned::redirect("/redirect-loop"));
    let names = [
        "ok.png",
        "page.html",
        "evil.svg",
        "liar.png",
        "big.png",
        "redirect-ok",
        "redirect-private",
        "redirect-metadata",
        "redirect-loop",
        "missing.png",
    ];
    let mut srcs: Vec<String> = names.iter().map(|n| canary.url(&format!("/{n}"))).collect();
    srcs.push("http://10.1.2.3/x.png".into());
    srcs.push(format!("http://localhost:{}/ok.png", canary.port));

    let stack = MailStack::shared();
    let user = stack.add_user("proxy-on");
    let app = TestApp::spawn_with(stack, user, |c| c.proxy_allow_loopback_for_tests = true).await;
    stack
        .append(
            &app.user,
            "INBOX",
            &image_message("a@example.test", &srcs),
            &[],
        )
        .await;
    app.login().await;

    // Blocked by default: no image at all, and no request anywhere.
    assert!(
        app.get_frame("/mail/INBOX/1/body")
            .await
            .attrs("img", "src")
            .is_empty()
    );
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    assert_eq!(proxied.len(), srcs.len());
    assert!(
        canary.hits().is_empty(),
        "fetched before asked: {:?}",
        canary_paths(&canary)
    );

    let expected = [
        StatusCode::OK,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::OK,
        StatusCode::FORBIDDEN,
        StatusCode::FORBIDDEN,
        StatusCode::BAD_GATEWAY,
        StatusCode::BAD_GATEWAY,
        StatusCode::FORBIDDEN,
        StatusCode::OK,
    ];
    for ((src, url), want) in proxied.iter().zip(&srcs).zip(expected) {
        assert!(src.starts_with("/proxy?url="), "{src}");
        let (status, headers, bytes) = app.get_bytes(src).await;
        assert_eq!(status, want, "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'none'; sandbox",
            "{url}"
        );
        // No upstream header comes through: only Mailroom's own cookies (the session is
        // refreshed on every request) may be set.
        for cookie in headers.get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap_or("");
            assert!(cookie.starts_with("mailroom_"), "{url}: {cookie}");
        }
        assert!(headers.get("x-tracker").is_none(), "{url}");
        assert!(headers.get("content-disposition").is_none(), "{url}");
        if want == StatusCode::OK {
            assert_eq!(headers["content-type"], "image/png", "{url}");
            assert_eq!(bytes, PNG, "{url}");
        } else {
            assert!(bytes.is_empty(), "{url}: {} bytes", bytes.len());
        }
    }
    let paths = canary_paths(&canary);
    // The redirect loop was followed three times, then given up (1 + 3 requests).
    assert_eq!(
        paths.iter().filter(|p| *p == "/redirect-loop").count(),
        4,
        "{paths:?}"
    );
    // Nothing but the canary was contacted, and the private redirect targets never were
    // (they would have failed anyway, but they were refused before any connection).
    for hit in canary.hits() {
        assert!(hit.headers.get("cookie").is_none(), "cookie sent: {hit:?}");
        assert!(
            hit.headers.get("referer").is_none(),
            "referer sent: {hit:?}"
        );
        let ua = hit
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ua.starts_with("Mailroom-ImageProxy/"), "user agent {ua}");
    }

    // A proxy URL is only good with its own signature, and only for a logged-in user.
    let ok = &proxied[0];
    let tampered = ok.replace("ok.png", "page.html");
    assert_eq!(app.get(&tampered).await.status, StatusCode::FORBIDDEN);
    let (base, _) = ok.split_once("&sig=").expect("sig");
    assert_eq!(
        app.get(&format!("{base}&sig=00")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(base).await.status, StatusCode::FORBIDDEN);
    let before = canary.hits().len();
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = stranger.get(app.url(ok)).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap_or("")
            .starts_with("/login"),
        "{:?}",
        res.headers()
    );
    assert_eq!(
        canary.hits().len(),
        before,
        "a refused request reached the network"
    );
}

#[tokio::test]
async fn image_proxy_refuses_loopback_by_literal_and_by_name() {
    let canary = Canary::start().await;
    canary.route("/ok.png", Canned::ok("image/png", PNG));
    let srcs = vec![
        canary.url("/ok.png"),
        format!("http://localhost:{}/ok.png", canary.port),
        format!("http://[::1]:{}/ok.png", canary.port),
        format!("http://2130706433:{}/ok.png", canary.port),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://100.64.0.1/x.png".to_owned(),
    ];
    // The production configuration: the test switch is off.
    let app = TestApp::spawn("proxy-off").await;
    MailStack::shared()
        .append(
            &app.user,
            "INBOX",
            &image_message("a@example.test", &srcs),
            &[],
        )
        .await;
    app.login().await;
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    assert_eq!(proxied.len(), srcs.len());
    for (src, url) in proxied.iter().zip(&srcs) {
        let (status, _, bytes) = app.get_bytes(src).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
        assert!(bytes.is_empty());
    }
    assert!(
        canary.hits().is_empty(),
        "loopback canary reached: {:?}",
        canary_paths(&canary)
    );
}

#[tokio::test]
async fn image_proxy_gives_up_after_ten_seconds() {
    let canary = Canary::start().await;
    canary.route("/slow.png", {
        let mut c = Canned::ok("image/png", PNG);
        c.delay = Duration::from_secs(30);
        c
    });
    let stack = MailStack::shared();
    let user = stack.add_user("proxy-slow");
    let app = TestApp::spawn_with(stack, user, |c| c.proxy_allow_loopback_for_tests = true).await;
    stack
        .append(
            &app.user,
            "INBOX",
            &image_message("a@example.test", &[canary.url("/slow.png")]),
            &[],
        )
        .await;
    app.login().await;
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    let started = Instant::now();
    let (status, _, _) = app.get_bytes(&proxied[0]).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "took {took:?}"
    );
}

/// Logs `user` in on `app` from a second browser (its own cookie jar); returns the client.
async fn second_browser(
    app: &TestApp,
    user: &crate::common::mailstack::TestUser,
) -> reqwest::Client {
    let client = crate::common::app::browser_client(true);
    let login = client.get(app.url("/login")).send().await.expect("GET");
    let token = crate::common::app::Page::read(login)
        .await
        .attrs("input[name=csrf_token]", "value")[0]
        .clone();
    let res = client
        .post(app.url("/login"))
        .header("origin", &app.base)
        .form(&[
            ("username", user.address.as_str()),
            ("password", user.password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    client
}

#[tokio::test]
async fn image_proxy_urls_are_bound_to_their_user_and_expire() {
    let canary = Canary::start().await;
    canary.route("/ok.png", Canned::ok("image/png", PNG));
    let stack = MailStack::shared();
    let other = stack.add_user("proxy-bound-other");
    let app = TestApp::spawn_with(stack, stack.add_user("proxy-bound"), |c| {
        c.proxy_allow_loopback_for_tests = true;
        c.proxy_url_lifetime = Duration::from_secs(3);
    })
    .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &image_message("a@example.test", &[canary.url("/ok.png")]),
            &[],
        )
        .await;
    app.login().await;
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    let src = proxied[0].clone();
    assert!(src.contains("&exp="), "{src}");
    assert_eq!(app.get_bytes(&src).await.0, StatusCode::OK);

    // Another logged-in user of the same instance cannot use it.
    let bob = second_browser(&app, &other).await;
    let res = bob.get(app.url(&src)).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.bytes().await.expect("body").is_empty());
    // Nor can the expiry be pushed back.
    let exp: i64 = form_urlencoded_pairs(src.trim_start_matches("/proxy?"))
        .into_iter()
        .find(|(k, _)| k == "exp")
        .and_then(|(_, v)| v.parse().ok())
        .expect("exp");
    let later = src.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
    assert_eq!(app.get_bytes(&later).await.0, StatusCode::FORBIDDEN);

    // Once expired, refused, even for its own user.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(app.get_bytes(&src).await.0, StatusCode::GONE);
    assert_eq!(canary.hits().len(), 1, "only the first request was fetched");
    // A fresh page has fresh URLs that work.
    let fresh = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    assert_ne!(fresh[0], src);
    assert_eq!(app.get_bytes(&fresh[0]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn image_proxy_caps_fetches_per_user() {
    let canary = Canary::start().await;
    canary.route("/slow.png", {
        let mut c = Canned::ok("image/png", PNG);
        c.delay = Duration::from_secs(30);
        c
    });
    canary.route("/ok.png", Canned::ok("image/png", PNG));
    let stack = MailStack::shared();
    let app = TestApp::spawn_with(stack, stack.add_user("proxy-cap"), |c| {
        c.proxy_allow_loopback_for_tests = true;
        c.proxy_fetches_per_user = 1;
    })
    .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &image_message(
                "a@example.test",
                &[canary.url("/slow.png"), canary.url("/ok.png")],
            ),
            &[],
        )
        .await;
    app.login().await;
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body?remote=1").await;
    // One fetch runs and four wait (the cap is 1, four waiting per slot)...
    let busy: Vec<_> = (0..5)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url(&proxied[0]));
            tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    for _ in 0..50 {
        if !canary.hits().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for the other four to reach the queue (no signal tells; generous for a loaded
    // machine).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // ...so the next one is refused at once, with a clear status and a retry hint.
    let started = Instant::now();
    let (status, headers, bytes) = app.get_bytes(&proxied[1]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(headers["retry-after"], "5");
    assert!(bytes.is_empty());
    assert_eq!(
        canary_paths(&canary),
        vec!["/slow.png"],
        "only one fetch in flight"
    );
    for task in busy {
        task.abort();
    }
}

// ------------------------------------------------------------------ trusted senders

/// The authserv-id of "our" mail server in these tests.
const AUTHSERV_ID: &str = "mx.mailroom.test";

/// `message` as our server delivers it: its `Authentication-Results` on top.
fn authenticated(results: &str, message: &[u8]) -> Vec<u8> {
    [
        format!("Received: from mx.mailroom.test by store.mailroom.test; Mon, 1 Dec 2026 10:00:00 +0000\r\nAuthentication-Results: {AUTHSERV_ID};\r\n\t{results}\r\n").as_bytes(),
        message,
    ]
    .concat()
}

#[tokio::test]
async fn trusted_senders_need_our_servers_authentication_results() {
    let canary = Canary::start().await;
    canary.route("/logo.png", Canned::ok("image/png", PNG));
    let srcs = [canary.url("/logo.png")];
    let plain = image_message("Shop <deals@news.shop.example>", &srcs);
    let messages = [
        // 1: no Authentication-Results at all.
        plain.clone(),
        // 2: a "pass" from another server (written by the sender).
        [
            b"Authentication-Results: mx.elsewhere.test; dmarc=pass header.from=news.shop.example\r\n".as_slice(),
            &plain,
        ]
        .concat(),
        // 3: ours says fail; a forged "pass" with our id below it is not read.
        authenticated(
            "dkim=fail header.d=shop.example; dmarc=fail header.from=news.shop.example",
            &[
                b"Authentication-Results: mx.mailroom.test; dmarc=pass header.from=news.shop.example\r\n".as_slice(),
                &plain,
            ]
            .concat(),
        ),
        // 4: ours says DKIM passed for a domain that is not the From's.
        authenticated("dkim=pass header.d=evil.example", &plain),
        // 5: ours says DKIM passed for the From's own domain.
        authenticated("dkim=pass (good signature) header.d=shop.example header.s=s1", &plain),
    ];
    let stack = MailStack::shared();
    let app = TestApp::spawn_with(stack, stack.add_user("trusted-authres"), |c| {
        c.proxy_allow_loopback_for_tests = true;
        c.authserv_id = Some(AUTHSERV_ID.into());
    })
    .await;
    for m in &messages {
        stack.append(&app.user, "INBOX", m, &[]).await;
    }
    app.login().await;
    let added = app
        .post_form(
            "/settings/remote",
            &[
                ("action", "add"),
                ("kind", "domain"),
                ("value", "shop.example"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);

    let none = "You trust this sender, but images are not loaded automatically: your mail server did not confirm that this message really comes from them.";
    let failed = "You trust this sender, but images are not loaded automatically: this message failed your mail server's sender check (DKIM/DMARC), so its sender may be forged.";
    for (uid, reason) in [(1, none), (2, none), (3, failed), (4, failed)] {
        let page = app.get(&format!("/mail/INBOX/{uid}")).await;
        assert_eq!(
            page.texts(".remote-blocked .remote-unverified"),
            vec![reason],
            "{uid}"
        );
        assert_eq!(
            page.attrs(".remote-blocked a", "href"),
            vec![format!("/mail/INBOX/{uid}?remote=1")],
            "{uid}: the prompt is there"
        );
        assert!(page.texts(".remote-trusted").is_empty(), "{uid}");
        let body = app.get_frame(&format!("/mail/INBOX/{uid}/body")).await;
        assert!(body.attrs("img", "src").is_empty(), "{uid}: images loaded");
    }
    assert!(
        canary.hits().is_empty(),
        "fetched: {:?}",
        canary_paths(&canary)
    );

    // With our server's pass, images load through the proxy without asking.
    let page = app.get("/mail/INBOX/5").await;
    assert!(page.texts(".remote-blocked").is_empty());
    assert_eq!(page.texts(".remote-trusted").len(), 1);
    let proxied = proxied_srcs(&app, "/mail/INBOX/5/body").await;
    assert_eq!(proxied.len(), 1);
    assert!(proxied[0].starts_with("/proxy?"), "{proxied:?}");
    let (status, _, bytes) = app.get_bytes(&proxied[0]).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PNG));

    // Without an authserv-id configured (the default) trust is never honoured by itself,
    // and the page says why, in the reader's language.
    let off = TestApp::spawn_with(stack, stack.add_user("trusted-off"), |c| {
        c.proxy_allow_loopback_for_tests = true;
    })
    .await;
    stack.append(&off.user, "INBOX", &messages[4], &[]).await;
    off.login().await;
    off.post_form(
        "/settings/remote",
        &[
            ("action", "add"),
            ("kind", "domain"),
            ("value", "shop.example"),
        ],
    )
    .await;
    let page = off.get("/mail/INBOX/1").await;
    assert_eq!(
        page.texts(".remote-unverified"),
        vec![
            "You trust this sender, but images are not loaded automatically: this server is not set up to check who really sent a message."
        ]
    );
    assert!(
        off.get_frame("/mail/INBOX/1/body")
            .await
            .attrs("img", "src")
            .is_empty()
    );
    let zh = off
        .get_with("/mail/INBOX/1", &[("accept-language", "zh-CN")])
        .await;
    assert_eq!(
        zh.texts(".remote-unverified"),
        vec!["您信任此发件人，但图片不会自动加载：此服务器未配置验证邮件的真实发件人。"]
    );
}

#[tokio::test]
async fn trusted_senders_get_remote_images_through_the_proxy_without_asking() {
    let canary = Canary::start().await;
    canary.route("/logo.png", Canned::ok("image/png", PNG));
    let stack = MailStack::shared();
    let user = stack.add_user("trusted");
    // Trust is honoured only when our server vouches for the sender (issue 9): both
    // messages carry its Authentication-Results.
    let app = TestApp::spawn_with(stack, user, |c| {
        c.proxy_allow_loopback_for_tests = true;
        c.authserv_id = Some(AUTHSERV_ID.into());
    })
    .await;
    let srcs = [canary.url("/logo.png")];
    stack
        .append(
            &app.user,
            "INBOX",
            &authenticated(
                "dkim=pass header.d=shop.example; dmarc=pass header.from=news.shop.example",
                &image_message("Shop <deals@news.shop.example>", &srcs),
            ),
            &[],
        )
        .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &authenticated(
                "dmarc=pass header.from=mail.example",
                &image_message("friend@mail.example", &srcs),
            ),
            &[],
        )
        .await;
    app.login().await;

    // Blocked, with buttons to trust the address or the domain.
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.attrs(".remote-blocked a", "href"),
        vec!["/mail/INBOX/1?remote=1"]
    );
    assert_eq!(
        page.attrs(".remote-blocked form.trust input[name=value]", "value"),
        vec!["deals@news.shop.example", "news.shop.example"]
    );
    assert_eq!(
        page.texts(".remote-blocked form.trust button"),
        vec![
            "Always show for deals@news.shop.example",
            "Always show for everyone at news.shop.example"
        ]
    );
    assert!(
        app.get_frame("/mail/INBOX/1/body")
            .await
            .attrs("img", "src")
            .is_empty()
    );

    // The settings page starts empty; a bad value comes back with a message beside it.
    let settings = app.get("/settings/remote").await;
    assert_eq!(settings.status, StatusCode::OK);
    assert_eq!(
        settings.texts(".trusted .empty"),
        vec!["You trust no sender yet."]
    );
    let bad = app
        .post_form(
            "/settings/remote",
            &[("action", "add"), ("kind", "domain"), ("value", "com")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.texts("#trusted-value-error"),
        vec!["Enter a domain name, like shop.example."]
    );
    assert_eq!(bad.attrs("#trusted-value", "value"), vec!["com"]);
    assert_eq!(
        bad.attrs("input[name=kind][checked]", "value"),
        vec!["domain"]
    );
    // Without the CSRF token nothing is stored.
    let forged = app
        .post_form(
            "/settings/remote",
            &[
                ("action", "add"),
                ("kind", "domain"),
                ("value", "shop.example"),
                ("csrf_token", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // The message page's domain button: trusts shop.example's subdomain, back to the message.
    let added = app
        .post_form(
            "/settings/remote",
            &[
                ("action", "add"),
                ("kind", "domain"),
                ("value", "shop.example"),
                ("next", "/mail/INBOX/1"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.location(), "/mail/INBOX/1");
    let page = app.get("/mail/INBOX/1").await;
    assert!(page.attrs(".remote-blocked a", "href").is_empty());
    assert_eq!(
        page.texts(".remote-trusted"),
        vec!["Remote images are shown because you trust this sender. Manage trusted senders"]
    );
    // No `?remote=1` needed: the body looks the sender up itself, and images are proxied.
    assert_eq!(page.attrs("iframe.body", "src"), vec!["/mail/INBOX/1/body"]);
    let proxied = proxied_srcs(&app, "/mail/INBOX/1/body").await;
    assert_eq!(proxied.len(), 1);
    let (status, headers, bytes) = app.get_bytes(&proxied[0]).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PNG));
    assert_eq!(headers["content-type"], "image/png");
    // Trust covers that domain only.
    assert!(
        app.get_frame("/mail/INBOX/2/body")
            .await
            .attrs("img", "src")
            .is_empty()
    );

    // Listed, then removed.
    let settings = app.get("/settings/remote").await;
    assert_eq!(
        settings.texts(".trusted-senders .value"),
        vec!["shop.example"]
    );
    let id = settings.attrs(".trusted-senders input[name=id]", "value");
    let removed = app
        .post_form("/settings/remote", &[("action", "remove"), ("id", &id[0])])
        .await;
    assert_eq!(removed.location(), "/settings/remote?saved=removed");
    assert!(
        app.get_frame("/mail/INBOX/1/body")
            .await
            .attrs("img", "src")
            .is_empty()
    );
    assert_eq!(
        app.get("/settings/remote").await.texts(".notice"),
        Vec::<String>::new()
    );
    assert_eq!(
        app.get("/settings/remote?saved=removed")
            .await
            .texts(".notice"),
        vec!["Removed."]
    );
    // An open redirect through `next` is refused.
    let evil = app
        .post_form(
            "/settings/remote",
            &[
                ("action", "add"),
                ("kind", "address"),
                ("value", "friend@mail.example"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(evil.location(), "/settings/remote?saved=added");
    assert_eq!(
        app.get_frame("/mail/INBOX/2/body")
            .await
            .attrs("img", "src")
            .len(),
        1
    );
}

// ------------------------------------------------------------------ fuzzing

/// Bytes and MIME pieces the mutator splices in: hostile markup, structure, charsets.
const TOKENS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "</style>",
    "<style>",
    "<a href=\"javascript:alert(1)\">",
    "<a href=\"&#106;avascript:alert(1)\">",
    " style=\"background:url(http://e.example/x)\"",
    " style=\"width:\\75 rl(http://e.example/x)\"",
    " background=\"http://e.example/bg.png\"",
    "<img src=\"http://e.example/p.png\">",
    "<img src=\"cid:a@b\">",
    "<base href=\"http://e.example/\">",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<form action=\"http://e.example\"><button formaction=x>",
    "<iframe srcdoc=\"<script>alert(1)</script>\">",
    "\"'><",
    "&lt;&#x3C;&#60",
    "\u{0}",
    "\u{202E}",
    "+ADw-script+AD4-",
    "\x1b$B",
    "\x1b(B",
    "\r\n",
    "\r\n\r\n",
    "Content-Type: text/html; charset=utf-7\r\n",
    "Content-Type: text/html\r\n",
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: text/calendar\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Disposition: attachment; filename=\"../../x.html\"\r\n",
    "Content-ID: <a@b>\r\n",
    "\r\n--b\r\n",
    "\r\n--b--\r\n",
    "=?utf-8?b?PHNjcmlwdD4=?=",
    "=3Cscript=3E",
    "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize, usize),
    Splice(usize, usize, usize, usize),
    /// Wraps the whole message as a part of a multipart (or an attached message).
    Wrap(u8),
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    prop_oneof![
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        4 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Token(p, t)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<usize>(), 1usize..256, any::<usize>())
            .prop_map(|(a, n, b)| Mutation::Duplicate(a, n, b)),
        1 => (any::<usize>(), any::<usize>(), 1usize..512, any::<usize>())
            .prop_map(|(s, a, n, b)| Mutation::Splice(s, a, n, b)),
        1 => any::<u8>().prop_map(Mutation::Wrap),
    ]
}

fn apply(mut bytes: Vec<u8>, seeds: &[Vec<u8>], m: &Mutation) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match m {
        Mutation::Flip(p, b) => {
            if !bytes.is_empty() {
                let i = p % bytes.len();
                bytes[i] ^= b | 1;
            }
        }
        Mutation::Insert(p, ins) => {
            let i = at(*p, bytes.len());
            bytes.splice(i..i, ins.iter().copied());
        }
        Mutation::Token(p, t) => {
            let i = at(*p, bytes.len());
            bytes.splice(i..i, TOKENS[*t].bytes());
        }
        Mutation::Delete(p, n) => {
            if !bytes.is_empty() {
                let i = p % bytes.len();
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
        }
        Mutation::Duplicate(a, n, b) => {
            if !bytes.is_empty() {
                let i = a % bytes.len();
                let piece: Vec<u8> = bytes[i..(i + n).min(bytes.len())].to_vec();
                let j = at(*b, bytes.len());
                bytes.splice(j..j, piece);
            }
        }
        Mutation::Splice(s, a, n, b) => {
            let other = &seeds[s % seeds.len()];
            if !other.is_empty() {
                let i = a % other.len();
                let piece = &other[i..(i + n).min(other.len())];
                let j = at(*b, bytes.len());
                bytes.splice(j..j, piece.iter().copied());
            }
        }
        Mutation::Wrap(kind) => {
            let head: &[u8] = match kind % 3 {
                0 => b"Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\n",
                1 => b"Content-Type: multipart/alternative; boundary=\"w\"\r\n\r\n--w\r\n",
                _ => b"Content-Type: message/rfc822\r\n\r\n",
            };
            let mut out = head.to_vec();
            out.extend_from_slice(&bytes);
            if kind % 3 != 2 {
                out.extend_from_slice(b"\r\n--w--\r\n");
            }
            bytes = out;
        }
    }
    bytes.truncate(256 * 1024);
    bytes
}

/// Every fixture Mailroom has: the hostile and remote corpora and the MIME goldens.
fn fuzz_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = corpus(4242).into_iter().map(|f| f.raw).collect();
    let mime_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mime");
    if let Ok(rd) = std::fs::read_dir(mime_dir) {
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        seeds.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    seeds
}

/// mail-parser 0.11 has a `debug_assert!` that malformed multiparts trip in debug builds
/// (a no-op in release); `mime` catches it like any parser panic. This keeps those caught
/// panics from flooding the output, and leaves every other panic's message alone.
fn quiet_mail_parser_debug_asserts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser"))
            {
                return;
            }
            default(info);
        }));
    });
}

/// Property: for any message made by mutating a fixture, parse → sanitize → render neither
/// panics nor emits anything unsafe, with remote content blocked or allowed. Runs for
/// `MAILROOM_FUZZ_SECS` seconds (default 60) or `PROPTEST_CASES` cases, whichever ends first.
#[test]
fn fuzz_parse_sanitize_render() {
    use proptest::{
        strategy::Strategy,
        test_runner::{Config, TestCaseError, TestError, TestRunner},
    };
    let budget = Duration::from_secs(
        std::env::var("MAILROOM_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u32::MAX);
    quiet_mail_parser_debug_asserts();
    let seeds = Arc::new(fuzz_seeds());
    assert!(seeds.len() >= 60, "only {} seeds", seeds.len());
    let proxy = ImageProxy::new(b"fuzz key");
    let executions = AtomicU64::new(0);
    let started = Instant::now();
    let deadline = started + budget;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_global_rejects: 1,
        max_shrink_time: 60_000,
        ..Config::default()
    });
    let strategy = (0..seeds.len(), proptest::collection::vec(mutation(), 1..8)).prop_map({
        let seeds = Arc::clone(&seeds);
        move |(seed, muts)| {
            let mut bytes = seeds[seed].clone();
            for m in &muts {
                bytes = apply(bytes, &seeds, m);
            }
            bytes
        }
    });
    let result = runner.run(&strategy, |raw| {
        if Instant::now() >= deadline {
            return Err(TestCaseError::reject("time budget spent"));
        }
        executions.fetch_add(1, Ordering::Relaxed);
        let _ = mime::parse(&raw);
        for allowed in [None, Some(&proxy)] {
            if let Ok(body) = render(&raw, allowed) {
                let problems = unsafe_output(&body.html, PREFIX, allowed);
                if !problems.is_empty() {
                    return Err(TestCaseError::fail(format!(
                        "{problems:?} in {}",
                        body.html
                    )));
                }
            }
        }
        if let Ok((view, _)) = mime::parse_and_render(
            &raw,
            &RenderOptions {
                allow_remote: false,
                part_url_prefix: PREFIX,
                image_proxy: None,
                header_labels: HeaderLabels::ENGLISH,
            },
        ) {
            for a in view.attachments.iter().take(8) {
                if let Some(p) = mime::part(&raw, &a.part)
                    && p.inline_safe
                    && !p.content_type.starts_with("image/")
                {
                    return Err(TestCaseError::fail(format!("{} inline", p.content_type)));
                }
            }
        }
        Ok(())
    });
    let runs = executions.load(Ordering::Relaxed);
    let took = started.elapsed();
    eprintln!(
        "fuzz: {runs} executions in {:.1} s ({:.0}/s) from {} seeds",
        took.as_secs_f64(),
        runs as f64 / took.as_secs_f64().max(0.001),
        seeds.len()
    );
    match result {
        Ok(()) | Err(TestError::Abort(_)) => {}
        Err(TestError::Fail(reason, raw)) => panic!(
            "fuzz found {reason} for input:\n{}",
            String::from_utf8_lossy(&raw)
        ),
    }
    assert!(runs >= 100.min(u64::from(cases)), "only {runs} executions");
}
