//! Appearance and accessibility (issue 13, items 5 and 8): the colour theme setting on
//! every page, the print view (headers and body, nothing of the app; inert for a hostile
//! message; another user's message is a 404), and in real Chromium at 390x844 and
//! 1280x800: dark colours by `prefers-color-scheme` and by the setting, print media hiding
//! the sidebar, the body frame fitted to its content, and axe-core finding no serious or
//! critical violation on the main pages in both themes.
//!
//! axe-core comes from the npm cache `scripts/install-deps` fills
//! (`~/.cache/mailroom/axe/node_modules/axe-core/axe.min.js`, or `MAILROOM_AXE_JS`);
//! nothing is downloaded while the tests run.

use mailroom::store::settings;
use reqwest::StatusCode;

use crate::{
    common::{
        app::{Page, TestApp},
        mailstack::MailStack,
    },
    contacts::fixture,
    hostile::{Canary, corpus},
};

/// The print view's CSP, as the server must send it (kept here literally, like the body
/// document's in `hostile`, so a loosened policy fails a test).
const PRINT_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-modals";

/// A plain-text message with `lines` numbered lines.
fn text_message(subject: &str, lines: usize) -> Vec<u8> {
    let body: String = (1..=lines)
        .map(|i| format!("Line {i} of {subject}\r\n"))
        .collect();
    format!(
        "From: Ann Lee <ann@example.test>\r\nTo: Bob <bob@example.test>\r\nCc: Cy <cy@example.test>\r\n\
         Subject: {subject}\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\nMessage-ID: <{lines}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The classes of the page's `<html>`.
fn html_class(page: &Page) -> String {
    page.attrs("html", "class").concat()
}

#[tokio::test]
async fn theme_setting_is_saved_and_every_page_carries_it() {
    let f = fixture("theme").await;
    let app = &f.app;
    let user = app.user.address.clone();

    let page = app.get("/settings").await;
    assert_eq!(html_class(&page), "theme-auto");
    assert_eq!(
        page.attrs("#appearance select[name=theme] option", "value"),
        vec!["auto", "light", "dark"]
    );
    assert_eq!(
        page.attrs("#appearance option[selected]", "value"),
        vec!["auto"]
    );

    let res = app.post_form("/settings/theme", &[("theme", "dark")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/settings?saved=theme");
    assert_eq!(
        settings::get(&f.db, &user, "theme")
            .await
            .unwrap()
            .as_deref(),
        Some("dark")
    );
    let page = app.follow(res.location()).await;
    assert_eq!(page.texts(".notice"), vec!["Settings saved."]);
    assert_eq!(
        page.attrs("#appearance option[selected]", "value"),
        vec!["dark"]
    );
    MailStack::shared()
        .append(&app.user, "INBOX", &text_message("Dark", 2), &[])
        .await;
    for path in [
        "/settings",
        "/mail/INBOX",
        "/mail/INBOX/1",
        "/compose",
        "/contacts",
        "/folders",
        "/settings/remote",
        "/mail/INBOX/1/print",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(
            html_class(&page).split(' ').next(),
            Some("theme-dark"),
            "{path}"
        );
    }
    // An error page of a logged-in user is dark too.
    assert_eq!(html_class(&app.get("/mail/INBOX/999").await), "theme-dark");

    // A value the form does not offer, and a form without its token, change nothing.
    let bad = app.post_form("/settings/theme", &[("theme", "blue")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Choose one of the offered themes."));
    let forged = app
        .post_form("/settings/theme", &[("theme", "light"), ("csrf_token", "")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        settings::get(&f.db, &user, "theme")
            .await
            .unwrap()
            .as_deref(),
        Some("dark")
    );

    // Another user keeps the default; light is saved as chosen.
    let other = app.other_browser(MailStack::shared().add_user("theme-other"));
    other.login().await;
    assert_eq!(html_class(&other.get("/settings").await), "theme-auto");
    let res = app
        .post_form("/settings/theme", &[("theme", "light")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(html_class(&app.get("/mail/INBOX").await), "theme-light");
    // Before login: the default.
    app.post_form("/logout", &[]).await;
    assert_eq!(html_class(&app.get("/login").await), "theme-auto");
}

#[tokio::test]
async fn print_view_shows_headers_and_body_without_the_app() {
    let app = TestApp::spawn("print").await;
    let stack = MailStack::shared();
    stack
        .append(&app.user, "INBOX", &text_message("Quarterly 报告", 3), &[])
        .await;
    app.login().await;

    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.attrs("a.print-link", "href"),
        vec!["/mail/INBOX/1/print"]
    );
    assert_eq!(page.texts("a.print-link"), vec!["Print"]);
    // Only opening a message marks it read: a second one is printed without opening it.
    stack
        .append(&app.user, "INBOX", &text_message("Second", 1), &[])
        .await;

    let print = app.get("/mail/INBOX/1/print").await;
    assert_eq!(print.status, StatusCode::OK);
    assert_eq!(print.header("content-security-policy"), PRINT_CSP);
    assert_eq!(print.texts("h1.subject"), vec!["Quarterly 报告"]);
    assert_eq!(print.texts(".h-from"), vec!["Ann Lee <ann@example.test>"]);
    assert_eq!(print.texts(".h-to"), vec!["Bob <bob@example.test>"]);
    assert_eq!(print.texts(".h-cc"), vec!["Cy <cy@example.test>"]);
    assert_eq!(print.texts(".h-date").len(), 1);
    let body = print.texts(".print-body").concat();
    assert!(
        body.contains("Line 1 of Quarterly 报告") && body.contains("Line 3 of Quarterly 报告"),
        "{body}"
    );
    for chrome in [
        ".sidebar", ".topbar", "form", "button", "script", "iframe", "nav", "input",
    ] {
        assert!(print.texts(chrome).is_empty(), "{chrome} in the print view");
    }
    assert_eq!(print.attrs(".print-tools a", "href"), vec!["/mail/INBOX/1"]);

    let second = app.get("/mail/INBOX/2/print").await;
    assert_eq!(second.texts("h1.subject"), vec!["Second"]);
    let flags = crate::compose::flags_of(stack, &app.user, "INBOX", 2).await;
    assert!(
        !flags.iter().any(|f| f.contains("Seen")),
        "printing does not mark a message read: {flags:?}"
    );

    // Another user asks for the same message: the same 404 as the message page.
    let other = app.other_browser(stack.add_user("print-other"));
    other.login().await;
    let theirs = other.get("/mail/INBOX/1").await;
    let printed = other.get("/mail/INBOX/1/print").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(printed.status, StatusCode::NOT_FOUND);
    assert!(!printed.body.contains("Quarterly"));
    // A bad uid is refused; a visitor is sent to log in.
    assert_eq!(
        app.get("/mail/INBOX/0/print").await.status,
        StatusCode::BAD_REQUEST
    );
    let anonymous = app.other_browser(app.user.clone());
    let out = anonymous.get("/mail/INBOX/1/print").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login?next=%2Fmail%2FINBOX%2F1%2Fprint");
}

#[tokio::test]
async fn print_view_of_the_hostile_corpus_runs_nothing_and_loads_nothing_remote() {
    let canary = Canary::start().await;
    let all = corpus(canary.port);
    let app = TestApp::spawn("print-hostile").await;
    let emls: Vec<Vec<u8>> = all.iter().map(|f| f.raw.clone()).collect();
    MailStack::shared()
        .append_many(&app.user, "INBOX", &emls)
        .await;
    app.login().await;
    let mut failures = Vec::new();
    for (i, f) in all.iter().enumerate() {
        let uid = i + 1;
        // Compared with lower-cased attribute values.
        let part_prefix = format!("/mail/inbox/{uid}/part/");
        for remote in ["", "?remote=1"] {
            let page = app.get(&format!("/mail/INBOX/{uid}/print{remote}")).await;
            let name = format!("{}{remote}", f.name);
            if page.status != StatusCode::OK {
                failures.push(format!("{name}: {}", page.status));
                continue;
            }
            if page.header("content-security-policy") != PRINT_CSP {
                failures.push(format!(
                    "{name}: CSP {}",
                    page.header("content-security-policy")
                ));
            }
            if !page.texts(".print-body").concat().contains(&f.marker()) {
                failures.push(format!("{name}: marker not in the print view"));
            }
            let doc = scraper::Html::parse_document(&page.body);
            for el in doc.root_element().descendent_elements() {
                let tag = el.value().name();
                for (attr, value) in el.value().attrs() {
                    let value = value.trim().to_ascii_lowercase();
                    if attr.starts_with("on") {
                        failures.push(format!("{name}: {attr} on <{tag}>"));
                    }
                    if value.starts_with("javascript:") || value.starts_with("vbscript:") {
                        failures.push(format!("{name}: {attr}={value} on <{tag}>"));
                    }
                    // What the browser would load by itself: only our own routes or data.
                    if ["src", "srcset", "background", "poster", "data"].contains(&attr) {
                        let ours = value.starts_with(&part_prefix)
                            || value.starts_with("data:")
                            || (!remote.is_empty() && value.starts_with("/proxy?"));
                        if !ours {
                            failures.push(format!("{name}: {attr}={value} on <{tag}>"));
                        }
                    }
                }
                let our_stylesheet = tag == "link"
                    && el.value().attr("rel") == Some("stylesheet")
                    && el
                        .value()
                        .attr("href")
                        .is_some_and(|h| h.starts_with("/static/"));
                let our_meta = tag == "meta"
                    && (el.value().attr("charset").is_some()
                        || ["viewport", "referrer"]
                            .contains(&el.value().attr("name").unwrap_or("")));
                if [
                    "script", "iframe", "frame", "object", "embed", "base", "style", "form",
                    "math", "svg", "input", "button", "textarea", "select",
                ]
                .contains(&tag)
                    || (tag == "link" && !our_stylesheet)
                    || (tag == "meta" && !our_meta)
                {
                    failures.push(format!("{name}: <{tag}>"));
                }
            }
        }
    }
    assert!(
        canary.hits().is_empty(),
        "canary was hit: {:?}",
        canary.hits()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

// ------------------------------------------------------------------ Chromium

/// Chrome's CDP passthrough (`POST /session/{id}/goog/cdp/execute`), for media emulation.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(serde_json::json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// Emulates a media type (`""`, `"print"`) and `prefers-color-scheme` (`"light"`, `"dark"`).
async fn emulate(client: &fantoccini::Client, media: &str, scheme: &str) {
    client
        .issue_cmd(Cdp {
            cmd: "Emulation.setEmulatedMedia",
            params: serde_json::json!({
                "media": media,
                "features": [{ "name": "prefers-color-scheme", "value": scheme }],
            }),
        })
        .await
        .expect("Emulation.setEmulatedMedia");
}

/// Runs a script returning a JSON value.
async fn eval(client: &fantoccini::Client, script: &str) -> serde_json::Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Relative luminance (WCAG) of the page's computed background colour.
async fn background_luminance(client: &fantoccini::Client) -> f64 {
    let rgb = eval(
        client,
        "var c = getComputedStyle(document.body).backgroundColor.match(/[0-9.]+/g).map(Number); return c.slice(0, 3);",
    )
    .await;
    let channel = |v: &serde_json::Value| {
        let c = v.as_f64().unwrap_or(0.0) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let c: Vec<f64> = rgb.as_array().expect("rgb").iter().map(channel).collect();
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

/// axe-core, as `scripts/install-deps` cached it.
fn axe_source() -> String {
    let path = std::env::var("MAILROOM_AXE_JS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/mailroom/axe/node_modules/axe-core/axe.min.js",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core not found at {path} ({e}): run scripts/install-deps (it installs axe-core@4 from npm)")
    })
}

/// The serious and critical axe-core violations on the current page, one line per node.
async fn axe_violations(client: &fantoccini::Client, axe: &str) -> Vec<String> {
    client
        .execute(&format!("{axe}\n;return 1;"), vec![])
        .await
        .expect("inject axe-core");
    // The message body frame is the sender's document, not ours: axe looks at our page.
    let found = client
        .execute_async(
            r#"var done = arguments[arguments.length - 1];
axe.run(document, { iframes: false, resultTypes: ["violations"] }).then(function (r) {
  done(r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; })
    .map(function (v) {
      return v.id + " (" + v.impact + "): " + v.help + " -- " + v.nodes.map(function (n) {
        return n.target.join(" ") + " " + (n.failureSummary || "").replace(/\s+/g, " ");
      }).join(" | ");
    }));
}, function (e) { done(["axe failed: " + e]); });"#,
            vec![],
        )
        .await
        .expect("axe.run");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the body frame's height settles (app.js fits it after the frame loads).
async fn settled_frame_height(client: &fantoccini::Client) -> f64 {
    let mut last = -1.0;
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let h = eval(
            client,
            "var f = document.querySelector('iframe.body'); var d = f.contentDocument; \
             return (d && d.readyState === 'complete') ? f.getBoundingClientRect().height : -1;",
        )
        .await
        .as_f64()
        .unwrap_or(-1.0);
        if h > 0.0 && (h - last).abs() < 0.5 {
            return h;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the body frame never settled"
        );
        last = h;
    }
}

/// Dark mode, print media, the fitted body frame and axe-core, in real Chromium at phone
/// and desktop width: log in with the form, look at the main pages in light and dark
/// (by `prefers-color-scheme`), choose "dark" on the settings page, print-emulate.
#[tokio::test]
async fn chromium_dark_print_fitted_frame_and_axe_at_phone_and_desktop_width() {
    use fantoccini::Locator;
    let axe = axe_source();
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("look-web-{width}")).await;
        let user = &app.user;
        stack
            .append(&app.user, "INBOX", &text_message("Short", 2), &[])
            .await;
        stack
            .append(&app.user, "INBOX", &text_message("Long", 300), &[])
            .await;
        let html_mail = "From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: Html\r\n\
             Date: Mon, 02 Jun 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>there</b></p>\r\n";
        stack
            .append(&app.user, "INBOX", html_mail.as_bytes(), &[])
            .await;
        let Some((_driver, client)) = crate::actions::Chromedriver::session().await else {
            return;
        };
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        let mut violations = Vec::new();
        client.goto(&app.url("/login")).await.expect("open /login");
        if width == 390 {
            // Positive control: axe-core is live and reports a grey-on-grey paragraph.
            eval(
                &client,
                "var p = document.createElement('p'); p.id = 'axe-control'; p.textContent = 'faint'; \
                 p.style.color = '#777'; p.style.background = '#888'; document.body.appendChild(p); return 1;",
            )
            .await;
            let control = axe_violations(&client, &axe).await;
            assert!(
                control
                    .iter()
                    .any(|v| v.starts_with("color-contrast") && v.contains("#axe-control")),
                "axe-core missed the control: {control:?}"
            );
            client.refresh().await.expect("reload /login");
        }
        for scheme in ["light", "dark"] {
            emulate(&client, "", scheme).await;
            violations.extend(
                axe_violations(&client, &axe)
                    .await
                    .into_iter()
                    .map(|v| format!("{width} {scheme} /login: {v}")),
            );
        }
        emulate(&client, "", "light").await;
        client
            .find(Locator::Css("#username"))
            .await
            .expect("username")
            .send_keys(&user.address)
            .await
            .expect("type");
        client
            .find(Locator::Css("#password"))
            .await
            .expect("password")
            .send_keys(&user.password)
            .await
            .expect("type");
        client
            .find(Locator::Css(".login button[type=submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("log in");
        crate::actions::wait_until("the inbox", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.path() == "/mail/INBOX")
        })
        .await;

        // The skip link is the first thing Tab reaches, shown with a visible focus ring;
        // "Sign out" stays on one line; checkboxes are bigger than the default 13 px.
        client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .send_keys("\u{E004}")
            .await
            .expect("Tab");
        let focused = eval(
            &client,
            "var a = document.activeElement, s = getComputedStyle(a), r = a.getBoundingClientRect(); \
             return [a.className, a.getAttribute('href'), s.outlineStyle, r.top >= 0];",
        )
        .await;
        assert_eq!(
            focused,
            serde_json::json!(["skip-link", "#main", "solid", true]),
            "{width}"
        );
        let sizes = eval(
            &client,
            "var r = document.createRange(); r.selectNodeContents(document.querySelector('.topbar .logout button')); \
             var c = document.querySelector('td.select input[type=checkbox]').getBoundingClientRect(); \
             return [r.getClientRects().length, c.width, c.height];",
        )
        .await;
        let n = |i: usize| sizes[i].as_f64().unwrap_or(0.0);
        // One line box for the button's text (a 44 px touch target is taller than a line).
        assert_eq!(n(0), 1.0, "{width}: Sign out wraps: {sizes}");
        assert!(n(1) >= 18.0 && n(2) >= 18.0, "{width}: checkbox {sizes}");

        // A contact, so the contacts page has its Edit and Delete buttons to check.
        client.goto(&app.url("/contacts")).await.expect("contacts");
        for (css, text) in [("#add-name", "Ann Lee"), ("#add-email", "ann@example.test")] {
            client
                .find(Locator::Css(css))
                .await
                .expect(css)
                .send_keys(text)
                .await
                .expect("type");
        }
        client
            .find(Locator::Css("form.add-contact button[type=submit]"))
            .await
            .expect("add contact")
            .click()
            .await
            .expect("add contact");
        crate::actions::wait_until("the contact in the list", || async {
            client
                .find(Locator::Css("table.contact-list .actions button"))
                .await
                .is_ok()
        })
        .await;

        let pages = [
            "/mail/INBOX",
            "/mail/INBOX/1",
            "/compose",
            "/folders",
            "/contacts",
            "/settings",
        ];
        for scheme in ["light", "dark"] {
            emulate(&client, "", scheme).await;
            for path in pages {
                client.goto(&app.url(path)).await.expect("open");
                let lum = background_luminance(&client).await;
                if scheme == "dark" {
                    assert!(
                        lum < 0.05,
                        "{width} {path}: dark background has luminance {lum}"
                    );
                } else {
                    assert!(
                        lum > 0.8,
                        "{width} {path}: light background has luminance {lum}"
                    );
                }
                violations.extend(
                    axe_violations(&client, &axe)
                        .await
                        .into_iter()
                        .map(|v| format!("{width} {scheme} {path}: {v}")),
                );
            }
        }
        assert!(
            violations.is_empty(),
            "axe-core:\n{}",
            violations.join("\n")
        );

        // Print media: the sidebar and the top bar go, the message stays.
        emulate(&client, "", "light").await;
        client
            .goto(&app.url("/mail/INBOX/1"))
            .await
            .expect("open message");
        emulate(&client, "print", "light").await;
        let hidden = eval(
            &client,
            "return ['.sidebar', '.topbar', '.message-actions', 'iframe.body', 'h1.subject']\
             .map(function (s) { var e = document.querySelector(s); return e ? getComputedStyle(e).display : 'absent'; });",
        )
        .await;
        assert_eq!(
            hidden,
            serde_json::json!(["none", "none", "none", "block", "block"]),
            "{width}"
        );
        emulate(&client, "", "light").await;

        // The body frame: a short message is shorter than the old fixed box, a long one
        // is shown whole.
        client.goto(&app.url("/mail/INBOX/1")).await.expect("short");
        let short = settled_frame_height(&client).await;
        assert!(short < 566.0, "{width}: short message frame {short}px");
        client.goto(&app.url("/mail/INBOX/2")).await.expect("long");
        let long = settled_frame_height(&client).await;
        let content = eval(
            &client,
            "return document.querySelector('iframe.body').contentDocument.documentElement.scrollHeight;",
        )
        .await
        .as_f64()
        .unwrap_or(f64::MAX);
        assert!(
            long >= content && long > 566.0,
            "{width}: long message frame {long}px for {content}px of content"
        );

        // The theme setting: "dark" wins over a light system preference.
        client.goto(&app.url("/settings")).await.expect("settings");
        client
            .find(Locator::Css("#theme option[value=dark]"))
            .await
            .expect("dark option")
            .click()
            .await
            .expect("choose dark");
        client
            .find(Locator::Css("#appearance button[type=submit]"))
            .await
            .expect("save")
            .click()
            .await
            .expect("save theme");
        crate::actions::wait_until("the saved notice", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.query() == Some("saved=theme"))
        })
        .await;
        let lum = background_luminance(&client).await;
        assert!(lum < 0.05, "{width}: forced dark has luminance {lum}");
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        let lum = background_luminance(&client).await;
        assert!(lum < 0.05, "{width}: forced dark inbox has luminance {lum}");
        // In the body frame: plain text follows the theme, HTML mail stays as sent.
        for (uid, dark) in [(1, true), (3, false)] {
            client
                .goto(&app.url(&format!("/mail/INBOX/{uid}")))
                .await
                .expect("message");
            settled_frame_height(&client).await;
            let bg = eval(
                &client,
                "return getComputedStyle(document.querySelector('iframe.body').contentDocument.body).backgroundColor;",
            )
            .await;
            let white = bg == "rgb(255, 255, 255)";
            assert_eq!(white, !dark, "{width}: message {uid} body background {bg}");
        }
        let _ = client.close().await;
    }
}
