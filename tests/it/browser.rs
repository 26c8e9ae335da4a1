//! The hostile corpus in a real browser (issue 5): Debian's headless Chromium, driven over
//! WebDriver (fantoccini) by a chromedriver this test starts on a free loopback port and
//! stops by its own PID.
//!
//! Detectors, which the positive control proves live:
//! - a canary HTTP server on 127.0.0.1 that every payload would call (`fetch`, a load, a
//!   navigation) and that is also Chromium's HTTP proxy, so a request to any non-loopback
//!   host lands there too;
//! - `alert`/`confirm`/`prompt`/`print` replaced in every frame before any page script runs
//!   (CDP `Page.addScriptToEvaluateOnNewDocument`), recording into `window.top.__fired`,
//!   wrapped again after load in the same-origin message iframe; and a real dialog, should
//!   one slip through, makes the next WebDriver command fail, which counts as fired.
//!
//! `mailroom_shows_the_corpus_inertly` logs in through the login form, opens every corpus
//! message (remote ones also with "show remote content" once) and checks: nothing fired,
//! nothing reached the canary or the outside, the marker text is visible in the iframe,
//! and the sidebar's Inbox link still works. `raw_corpus_fires_the_detectors` serves the
//! same messages without Mailroom (a deliberately naive rendering, straight from the
//! canary) and counts how many fire.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::http::Method;
use fantoccini::{Client, ClientBuilder, Locator, wd::WebDriverCompatibleCommand};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde_json::{Value, json};

use crate::{
    common::{app::TestApp, mailstack::MailStack},
    hostile::{Canary, Canned, Fixture, Kind, corpus},
};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process of our own, killed (by PID) when dropped.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and the Chromium it started (see `common::group`).
        crate::common::group::kill(&mut self.child);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Driver {
    async fn start() -> Driver {
        assert!(
            PathBuf::from(CHROMEDRIVER).exists() && PathBuf::from(CHROMIUM).exists(),
            "Chromium and ChromeDriver are needed: run scripts/install-deps (chromium, chromium-driver)"
        );
        let port = free_port();
        let child = crate::common::group::spawn(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start chromedriver");
        let driver = Driver {
            child,
            port,
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let status = format!("http://127.0.0.1:{port}/status");
        let started = Instant::now();
        loop {
            if let Ok(res) = reqwest::get(&status).await
                && res.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// A Chromium session whose every non-loopback request goes to `proxy_port`.
    async fn session(&self, proxy_port: u16) -> Client {
        let profile = self.profile.path().display().to_string();
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            // Chromium's own services (autofill, sign-in, optimization hints, safe browsing
            // pings…) would otherwise call Google from a test machine that has no network,
            // and land at the canary proxy as if a message had caused them.
            "--disable-features=AutofillServerCommunication,OptimizationHints,OptimizationHintsFetching,OptimizationGuideModelDownloading,OptimizationTargetPrediction,Translate,MediaRouter,InterestFeedContentSuggestions,PrivacySandboxSettings4,PasswordLeakDetection,PasswordManagerOnboarding".to_owned(),
            "--disable-client-side-phishing-detection".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-component-extensions-with-background-pages".to_owned(),
            "--disable-domain-reliability".to_owned(),
            "--disable-breakpad".to_owned(),
            "--no-pings".to_owned(),
            "--metrics-recording-only".to_owned(),
            "--password-store=basic".to_owned(),
            "--use-mock-keychain".to_owned(),
            "--allow-browser-signin=false".to_owned(),
            // What is left of Chromium's own Google traffic (account checks) goes to a dead
            // loopback port instead; a message's own URL to a Google host would still go
            // through the canary proxy, since these switches only move Chromium's services.
            "--gaia-url=http://127.0.0.1:9".to_owned(),
            "--google-apis-url=http://127.0.0.1:9".to_owned(),
            "--lso-url=http://127.0.0.1:9".to_owned(),
            "--component-updater=url-source=http://127.0.0.1:9/service/update2".to_owned(),
            format!("--user-data-dir={profile}"),
            format!("--proxy-server=http://127.0.0.1:{proxy_port}"),
            "--window-size=1200,900".to_owned(),
        ];
        let caps = json!({
            "browserName": "chrome",
            "unhandledPromptBehavior": "dismiss and notify",
            "timeouts": {"pageLoad": 15000, "script": 10000},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                // No password manager (its leak check calls Google) and no Google sign-in.
                "prefs": {
                    "credentials_enable_service": false,
                    "profile.password_manager_enabled": false,
                    "profile.password_manager_leak_detection": false,
                    "signin.allowed": false,
                    "browser.signin.allowed": false,
                },
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session");
        client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": HOOK }),
            })
            .await
            .expect("install the dialog hooks");
        client
    }
}

/// Replaces the dialog functions before any page script runs; every call is recorded in
/// `window.top.__fired` (or the frame's own, if the top is out of reach).
const HOOK: &str = r#"(() => {
  const record = (kind) => function (message) {
    const entry = kind + ':' + String(message);
    try { (window.top.__fired = window.top.__fired || []).push(entry); }
    catch (e) { (window.__fired = window.__fired || []).push(entry); }
    return kind === 'confirm' ? false : (kind === 'prompt' ? null : undefined);
  };
  for (const kind of ['alert', 'confirm', 'prompt', 'print']) {
    try { window[kind] = record(kind); } catch (e) {}
  }
})();"#;

/// Runs after load: hooks the message iframe's window too (scripts cannot run in it, so
/// nothing should ever call these; a call would show here), then reports what fired.
const COLLECT: &str = r#"
  const fired = (window.__fired || []).slice();
  for (const f of document.querySelectorAll('iframe')) {
    try {
      const w = f.contentWindow;
      for (const kind of ['alert', 'confirm', 'prompt', 'print']) {
        w[kind] = function (m) { (window.__fired = window.__fired || []).push('frame-' + kind + ':' + m); };
      }
      for (const e of (w.__fired || [])) fired.push('frame:' + e);
    } catch (e) {}
  }
  return fired;
"#;

/// Chrome's CDP passthrough (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
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

    fn method_and_body(&self, _: &reqwest::Url) -> (Method, Option<String>) {
        (
            Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// What a dialog that slipped past the hooks does to the next command.
fn is_alert_error(e: &fantoccini::error::CmdError) -> bool {
    let s = e.to_string().to_ascii_lowercase();
    s.contains("alert") || s.contains("dialog")
}

/// `window.__fired` and friends, or `["dialog"]` when a real dialog interrupted us.
async fn fired(client: &Client) -> Vec<String> {
    match client.execute(COLLECT, vec![]).await {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| v.as_str().unwrap_or("?").to_owned())
            .collect(),
        Ok(_) => Vec::new(),
        Err(e) if is_alert_error(&e) => vec![format!("dialog: {e}")],
        Err(e) => vec![format!("collect failed: {e}")],
    }
}

/// Waits until the message iframe's document has loaded.
async fn wait_for_body_frame(client: &Client) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let ready = client
            .execute(
                "const f = document.querySelector('iframe.body'); \
                 return !!(f && f.contentDocument && f.contentDocument.readyState === 'complete' \
                   && f.contentDocument.body);",
                vec![],
            )
            .await;
        match ready {
            Ok(Value::Bool(true)) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("waiting for the iframe: {e}")),
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("the message iframe never finished loading".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Requests that count against a message: anything at the canary that is not one of the
/// positive control's own pages.
fn foreign_hits(canary: &Canary, from: usize) -> Vec<String> {
    canary
        .hits()
        .into_iter()
        .skip(from)
        .filter(|h| !h.target.starts_with("/raw/"))
        .map(|h| format!("{} {}", h.method, h.target))
        .collect()
}

/// Logs in through the login form, as a person would.
async fn log_in(client: &Client, app: &TestApp) {
    client.goto(&app.url("/login")).await.expect("open /login");
    client
        .find(Locator::Css("#username"))
        .await
        .expect("username field")
        .send_keys(&app.user.address)
        .await
        .expect("type username");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(&app.user.password)
        .await
        .expect("type password");
    client
        .find(Locator::Css(".login button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
    let started = Instant::now();
    loop {
        let url = client.current_url().await.expect("url");
        if url.path() == "/mail/INBOX" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "login did not land in the inbox: {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens one message in Mailroom and returns what went wrong (empty: it passed).
async fn check_message(
    client: &Client,
    app: &TestApp,
    canary: &Canary,
    uid: usize,
    query: &str,
    f: &Fixture,
) -> Vec<String> {
    let mut problems = Vec::new();
    let before = canary.hits().len();
    let path = format!("/mail/INBOX/{uid}{query}");
    if let Err(e) = client.goto(&app.url(&path)).await {
        problems.push(format!("open: {e}"));
        let _ = client.dismiss_alert().await;
        return problems;
    }
    if let Err(e) = wait_for_body_frame(client).await {
        problems.push(e);
    }
    // Late loads (CSS, refreshes, media) get a moment to happen, or not.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let fired = fired(client).await;
    if !fired.is_empty() {
        problems.push(format!("dialogs fired: {fired:?}"));
        let _ = client.dismiss_alert().await;
    }
    let hits = foreign_hits(canary, before);
    if !hits.is_empty() {
        problems.push(format!(
            "requests reached the canary or the outside: {hits:?}"
        ));
    }
    match client
        .execute(
            "const f = document.querySelector('iframe.body'); \
             return f && f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '';",
            vec![],
        )
        .await
    {
        Ok(Value::String(text)) if text.contains(&f.marker()) => {}
        Ok(other) => problems.push(format!("marker not visible; iframe text: {:.200}", other.to_string())),
        Err(e) => problems.push(format!("reading the iframe: {e}")),
    }
    match client.current_url().await {
        Ok(url) if url.path() == path.split('?').next().unwrap_or_default() => {}
        Ok(url) => problems.push(format!("the page navigated away to {url}")),
        Err(e) => problems.push(format!("url: {e}")),
    }
    // The app around the message still works: the sidebar's Inbox link is there and
    // clickable (not covered by anything), and it leads to the inbox.
    match client
        .find(Locator::Css(".sidebar a[href='/mail/INBOX']"))
        .await
    {
        Ok(link) => {
            if !link.is_displayed().await.unwrap_or(false) {
                problems.push("the Inbox link is hidden".into());
            } else if let Err(e) = link.click().await {
                problems.push(format!("the Inbox link cannot be clicked: {e}"));
            } else {
                let mut landed = false;
                for _ in 0..100 {
                    if client
                        .current_url()
                        .await
                        .is_ok_and(|u| u.path() == "/mail/INBOX")
                        && client.find(Locator::Css("main h1")).await.is_ok()
                    {
                        landed = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if !landed {
                    problems.push("clicking Inbox did not open the inbox".into());
                }
            }
        }
        Err(e) => problems.push(format!("no Inbox link in the sidebar: {e}")),
    }
    problems
}

#[tokio::test]
async fn mailroom_shows_the_corpus_inertly() {
    let canary = Canary::start().await;
    let all = corpus(canary.port);
    let app = TestApp::spawn("browser").await;
    let emls: Vec<Vec<u8>> = all.iter().map(|f| f.raw.clone()).collect();
    MailStack::shared()
        .append_many(&app.user, "INBOX", &emls)
        .await;

    let driver = Driver::start().await;
    let client = driver.session(canary.port).await;
    log_in(&client, &app).await;

    let started = Instant::now();
    let mut checked = 0;
    let mut passed = 0;
    let mut failures = Vec::new();
    for (i, f) in all.iter().enumerate() {
        let queries: &[&str] = match f.kind {
            Kind::Hostile => &[""],
            // Remote content blocked, then allowed once: even then only the proxy fetches,
            // and it refuses loopback (the production setting), so nothing reaches the canary.
            Kind::Remote => &["", "?remote=1"],
        };
        for query in queries {
            checked += 1;
            let problems = match tokio::time::timeout(
                Duration::from_secs(40),
                check_message(&client, &app, &canary, i + 1, query, f),
            )
            .await
            {
                Ok(p) => p,
                Err(_) => vec!["timed out".to_owned()],
            };
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{}{query}: {problems:?}", f.name));
            }
        }
    }
    let _ = client.close().await;
    drop(driver);
    eprintln!(
        "browser suite: {passed}/{checked} checks passed ({} messages: {} hostile, {} remote) in {:.0} s",
        all.len(),
        all.iter().filter(|f| f.kind == Kind::Hostile).count(),
        all.iter().filter(|f| f.kind == Kind::Remote).count(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked >= 60);
}

/// A deliberately naive webmail page for a message: subject, sender, every HTML and text
/// part and every filename pasted in unescaped. What Mailroom must never be.
fn naive_page(raw: &[u8]) -> String {
    let mut out = String::from("<!doctype html><html><head><meta charset=\"utf-8\"></head><body>");
    if let Some(message) = MessageParser::default().parse(raw) {
        naive_message(&message, &mut out);
    }
    out.push_str("</body></html>");
    out
}

fn naive_message(message: &mail_parser::Message<'_>, out: &mut String) {
    out.push_str(&format!("<h1>{}</h1>", message.subject().unwrap_or("")));
    if let Some(from) = message.from().and_then(|f| f.first()) {
        out.push_str(&format!(
            "<p>{} &lt;{}&gt;</p>",
            from.name().unwrap_or(""),
            from.address().unwrap_or("")
        ));
    }
    for part in &message.parts {
        match &part.body {
            PartType::Html(html) => out.push_str(html),
            PartType::Text(text) => out.push_str(text),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                if let Some(name) = part.attachment_name() {
                    out.push_str(&format!("<p>{name}</p>"));
                }
                if part
                    .content_type()
                    .is_some_and(|ct| ct.subtype().is_some_and(|s| s.contains("svg")))
                {
                    out.push_str(&String::from_utf8_lossy(bytes));
                }
            }
            PartType::Message(nested) => naive_message(nested, out),
            PartType::Multipart(_) => {}
        }
        if let Some(name) = part.attachment_name()
            && matches!(part.body, PartType::Html(_) | PartType::Text(_))
        {
            out.push_str(&format!("<p>{name}</p>"));
        }
    }
}

#[tokio::test]
async fn raw_corpus_fires_the_detectors() {
    let canary = Canary::start().await;
    let all = corpus(canary.port);
    for f in &all {
        canary.route(
            &format!("/raw/{}", f.name),
            Canned::ok("text/html; charset=utf-8", naive_page(&f.raw)),
        );
    }
    let driver = Driver::start().await;
    let client = driver.session(canary.port).await;
    let mut fired_hostile = Vec::new();
    let mut fired_remote = Vec::new();
    let mut quiet = Vec::new();
    for f in &all {
        let before = canary.hits().len();
        let outcome = tokio::time::timeout(Duration::from_secs(30), async {
            let mut signals = Vec::new();
            if let Err(e) = client.goto(&canary.url(&format!("/raw/{}", f.name))).await
                && is_alert_error(&e)
            {
                signals.push("dialog".to_owned());
                let _ = client.dismiss_alert().await;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
            signals.extend(
                fired(&client)
                    .await
                    .into_iter()
                    .filter(|s| !s.starts_with("collect failed")),
            );
            signals
        })
        .await
        .unwrap_or_else(|_| vec!["timeout".to_owned()]);
        let reached = canary
            .hits()
            .into_iter()
            .skip(before)
            .any(|h| !h.target.starts_with("/raw/") && h.target.contains(&f.name));
        let fired = reached || outcome.iter().any(|s| s != "timeout");
        match (fired, f.kind) {
            (true, Kind::Hostile) => fired_hostile.push(f.name.clone()),
            (true, Kind::Remote) => fired_remote.push(f.name.clone()),
            (false, _) => quiet.push(f.name.clone()),
        }
        // Leave the page (a refresh or an open dialog must not leak into the next one).
        let _ = client.dismiss_alert().await;
        let _ = client.goto("about:blank").await;
    }
    let _ = client.close().await;
    drop(driver);
    let hostile = all.iter().filter(|f| f.kind == Kind::Hostile).count();
    let remote = all.iter().filter(|f| f.kind == Kind::Remote).count();
    eprintln!(
        "positive control: {}/{hostile} hostile and {}/{remote} remote messages fired when rendered raw; quiet: {quiet:?}",
        fired_hostile.len(),
        fired_remote.len()
    );
    // Most payloads are live in a real browser (some only work in old ones or need a
    // click: vbscript:, expression(), javascript: links), so the detectors are live too.
    assert!(
        fired_hostile.len() * 3 >= hostile * 2,
        "only {fired_hostile:?} fired"
    );
    assert!(
        fired_remote.len() * 3 >= remote * 2,
        "only {fired_remote:?} fired"
    );
}
