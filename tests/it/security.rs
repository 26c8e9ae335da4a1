//! Hostile visitors (issue 5), over HTTP against a real Dovecot: every security header and
//! cookie flag, CSRF refusals (token and Origin / Sec-Fetch-Site), open-redirect refusal
//! for `next`, session fixation, logout and session lifetimes, login throttling (proved not
//! to reach IMAP by a recording relay in front of Dovecot), and folder names with CR/LF.

use std::time::Duration;

use reqwest::{StatusCode, header};

use crate::common::{
    app::{Page, TestApp},
    mailstack::MailStack,
    relay::{self, CommandLog},
};

/// The exact body CSP the issue asks for.
const BODY_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox";
/// The parts' CSP.
const PART_CSP: &str = "default-src 'none'; sandbox";

// ------------------------------------------------------------------ helpers

/// How many LOGIN commands went through `recorder` so far.
fn logins_through(recorder: &CommandLog) -> usize {
    relay::count(&recorder.since(0), "LOGIN ")
}

/// The `Set-Cookie` headers of a response.
fn set_cookies(headers: &header::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// The `name=value` part of the cookie called `name` (prefix-insensitive match on the end).
fn cookie_pair(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.split('=').next() == Some(name))
}

/// The attributes of the cookie called `name`, lower-cased.
fn cookie_attrs(cookies: &[String], name: &str) -> Vec<String> {
    cookies
        .iter()
        .find(|c| c.split('=').next() == Some(name))
        .map(|c| {
            c.split(';')
                .skip(1)
                .map(|a| a.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// A client without a cookie store, so the test decides exactly which cookies go out.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GET `path` with exactly the `cookie` header given.
async fn get_with_cookies(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    bare_client()
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("GET")
}

/// Logs in with a bare client; returns the login response and the cookies (as one
/// `Cookie` header value) the browser would now hold.
async fn login_bare(app: &TestApp, extra_cookie: Option<&str>) -> (reqwest::Response, String) {
    let client = bare_client();
    // A browser holding `extra_cookie` sends it with the form's GET too.
    let mut get = client.get(app.url("/login"));
    if let Some(extra) = extra_cookie {
        get = get.header(header::COOKIE, extra);
    }
    let form = get.send().await.expect("GET /login");
    let mut jar: Vec<String> = set_cookies(form.headers())
        .iter()
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
        .collect();
    let page = Page::read(form).await;
    let token = page.attrs("input[name=csrf_token]", "value")[0].clone();
    if let Some(extra) = extra_cookie {
        jar.push(extra.to_owned());
    }
    let res = client
        .post(app.url("/login"))
        .header(header::COOKIE, jar.join("; "))
        .form(&[
            ("username", app.user.address.as_str()),
            ("password", app.user.password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST /login");
    for c in set_cookies(res.headers()) {
        let pair = c.split(';').next().unwrap_or("").to_owned();
        let name = pair.split('=').next().unwrap_or("").to_owned();
        jar.retain(|p| p.split('=').next() != Some(name.as_str()));
        jar.push(pair);
    }
    (res, jar.join("; "))
}

fn is_login_redirect(res: &reqwest::Response) -> bool {
    res.status() == StatusCode::SEE_OTHER
        && res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/login"))
}

// ------------------------------------------------------------------ headers

#[tokio::test]
async fn pages_bodies_and_parts_send_every_security_header() {
    let html_attachment = "<script>alert(1)</script>";
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let png = crate::hostile::PNG;
    let b64 = |d: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(d)
    };
    let eml = format!(
        "From: a@example.test\r\nTo: b@example.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--b\r\nContent-Type: text/html; name=page.html\r\nContent-Disposition: inline; filename=page.html\r\n\r\n{html_attachment}\r\n\
--b\r\nContent-Type: image/svg+xml\r\nContent-Disposition: inline; filename=\"logo.svg\"\r\n\r\n{svg}\r\n\
--b\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"../../pic\x01.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
--b\r\nContent-Type: application/xml\r\nContent-Disposition: attachment; filename*=utf-8''%E6%8A%A5%E5%91%8A%0D%0A.xml\r\n\r\n<x/>\r\n\
--b--\r\n",
        b64(png)
    );
    let app = TestApp::spawn("sec-headers").await;
    MailStack::shared()
        .append(&app.user, "INBOX", eml.as_bytes(), &[])
        .await;

    // Pages, logged out and in.
    let login = app.get("/login").await;
    app.login().await;
    let inbox = app.get("/mail/INBOX").await;
    let message = app.get("/mail/INBOX/1").await;
    for page in [&login, &inbox, &message] {
        let csp = page.header("content-security-policy");
        assert_eq!(csp, mailroom::web::PAGE_CSP);
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for d in [
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(directives.contains(&d), "{d} missing from {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(page.header("referrer-policy"), "no-referrer");
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert_eq!(page.header("x-content-type-options"), "nosniff");
    }
    // Links open without Referer: the iframe and the page both say so.
    assert_eq!(
        message.attrs("iframe.body", "referrerpolicy"),
        vec!["no-referrer"]
    );

    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert_eq!(body.header("content-security-policy"), BODY_CSP);
    assert_eq!(body.header("x-frame-options"), "SAMEORIGIN");
    assert_eq!(body.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(body.header("referrer-policy"), "no-referrer");
    assert!(body.header("cache-control").contains("no-store"));

    // Parts: only the PNG is inline; HTML, SVG and XML are downloads of an inert type.
    let page = app.get("/mail/INBOX/1").await;
    let hrefs = page.attrs(".attachments a", "href");
    let names = page.texts(".attachments a");
    assert_eq!(names.len(), 4, "{names:?}");
    let mut seen = Vec::new();
    for (href, name) in hrefs.iter().zip(&names) {
        let (status, headers, _) = app.get_bytes(href).await;
        assert_eq!(status, StatusCode::OK, "{href}");
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(h("x-content-type-options"), "nosniff", "{href}");
        assert_eq!(h("content-security-policy"), PART_CSP, "{href}");
        let disposition = h("content-disposition");
        assert!(
            !disposition.contains(['\r', '\n', '/', '\\']),
            "{disposition}"
        );
        seen.push((name.clone(), h("content-type"), disposition));
    }
    for (name, content_type, disposition) in &seen {
        if content_type == "image/png" {
            assert!(disposition.starts_with("inline;"), "{name}: {disposition}");
            assert_eq!(name, "pic.png", "path and control characters stripped");
        } else {
            assert!(
                disposition.starts_with("attachment;"),
                "{name}: {disposition}"
            );
            assert_eq!(content_type, "application/octet-stream", "{name}");
            assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
        }
    }
    assert!(
        seen.iter()
            .any(|(n, _, d)| n == "报告.xml" && d.contains("%E6%8A%A5%E5%91%8A.xml")),
        "{seen:?}"
    );
    let raw = app.get("/mail/INBOX/1/raw").await;
    assert_eq!(raw.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(raw.header("content-security-policy"), PART_CSP);
}

#[tokio::test]
async fn every_response_turns_dns_prefetch_off() {
    let app = TestApp::spawn("sec-dns-prefetch").await;
    MailStack::shared()
        .append(
            &app.user,
            "INBOX",
            b"From: a@example.test\r\nSubject: hi\r\n\r\n<a href=\"https://t.example/\">x</a>\r\n",
            &[],
        )
        .await;
    let mut paths = vec![
        "/login",
        "/healthz",
        "/static/app.css",
        "/nowhere",
        "/mail/INBOX",
    ];
    let mut seen = Vec::new();
    for path in &paths {
        seen.push((*path, app.get(path).await));
    }
    app.login().await;
    paths.extend([
        "/mail/INBOX/1",
        "/mail/INBOX/1/body",
        "/mail/INBOX/1/raw",
        "/proxy?url=x&sig=y",
    ]);
    for path in &paths {
        seen.push((*path, app.get(path).await));
    }
    for (path, page) in &seen {
        assert_eq!(
            page.header("x-dns-prefetch-control"),
            "off",
            "{path} ({})",
            page.status
        );
    }
}

#[tokio::test]
async fn cookies_are_http_only_lax_and_host_prefixed_over_https() {
    // Plain http (the tests' and the demo's setting): no Secure, no prefix.
    let app = TestApp::spawn("sec-cookies").await;
    let (res, _) = login_bare(&app, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(res.headers());
    for name in ["mailroom_session", "mailroom_key", "mailroom_csrf"] {
        let attrs = cookie_attrs(&cookies, name);
        assert!(attrs.contains(&"httponly".to_owned()), "{name}: {attrs:?}");
        assert!(
            attrs.contains(&"samesite=lax".to_owned()),
            "{name}: {attrs:?}"
        );
        assert!(attrs.contains(&"path=/".to_owned()), "{name}: {attrs:?}");
        assert!(!attrs.contains(&"secure".to_owned()), "{name}: {attrs:?}");
    }

    // Behind https: every cookie is `__Host-` (Secure, path /, no Domain).
    let stack = MailStack::shared();
    let user = stack.add_user("sec-cookies-https");
    let app = TestApp::spawn_with(stack, user, |c| {
        c.public_url = "https://mail.example.test".into();
    })
    .await;
    let (res, _) = login_bare(&app, None).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "login over https config"
    );
    let cookies = set_cookies(res.headers());
    for name in [
        "__Host-mailroom_session",
        "__Host-mailroom_key",
        "__Host-mailroom_csrf",
    ] {
        let attrs = cookie_attrs(&cookies, name);
        assert!(!attrs.is_empty(), "{name} not set: {cookies:?}");
        for want in ["httponly", "secure", "samesite=lax", "path=/"] {
            assert!(
                attrs.contains(&want.to_owned()),
                "{name} lacks {want}: {attrs:?}"
            );
        }
        assert!(
            !attrs.iter().any(|a| a.starts_with("domain")),
            "{name}: {attrs:?}"
        );
    }
    assert!(
        !cookies.iter().any(|c| c.starts_with("mailroom_")),
        "an unprefixed cookie: {cookies:?}"
    );
}

// ------------------------------------------------------------------ CSRF

#[tokio::test]
async fn forms_without_the_token_or_from_another_site_are_refused() {
    let app = TestApp::spawn("sec-csrf").await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    let token = app.csrf().await;
    let post = |fields: Vec<(&'static str, String)>, headers: Vec<(&'static str, &'static str)>| {
        let mut req = app.client.post(app.url("/login")).form(&fields);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let creds = |t: &str| {
        vec![
            ("username", u.clone()),
            ("password", p.clone()),
            ("csrf_token", t.to_owned()),
        ]
    };
    // Token missing, or wrong.
    let missing = post(creds("")[..2].to_vec(), vec![]).await.expect("POST");
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = post(creds(&"x".repeat(token.len())), vec![])
        .await
        .expect("POST");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // Right token, but the browser says the form came from another site (the client sends
    // Chromium's same-origin Sec-Fetch-Site by default, so each case states both headers).
    for headers in [
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://sub.127.0.0.1"),
        ],
    ] {
        let res = post(creds(&token), headers.clone()).await.expect("POST");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert_eq!(
        app.get("/mail/INBOX").await.status,
        StatusCode::SEE_OTHER,
        "not logged in"
    );
    // The same form from our own page goes through.
    let origin = app.base.clone();
    let ok = app
        .client
        .post(app.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", origin)
        .form(&creds(&token))
        .send()
        .await
        .expect("POST");
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/mail/INBOX").await.status, StatusCode::OK);
    // Logging out needs the token too.
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/mail/INBOX").await.status,
        StatusCode::OK,
        "still logged in"
    );
}

// ------------------------------------------------------------------ open redirects

/// `jar` (a `Cookie` header value) with the CSRF cookie set to `value`.
fn with_csrf_cookie(jar: &str, value: &str) -> String {
    jar.split("; ")
        .filter(|pair| !pair.starts_with("mailroom_csrf="))
        .chain([format!("mailroom_csrf={value}").as_str()])
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_self_made_csrf_pair_is_refused_and_changes_nothing() {
    let app = TestApp::spawn("sec-csrf-bound").await;
    let (res, jar) = login_bare(&app, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A pair the server issued to another, anonymous browser: valid, but not this session's.
    let anon = bare_client()
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET");
    let anon_cookie = cookie_pair(&set_cookies(anon.headers()), "mailroom_csrf").expect("cookie");
    let anon_nonce = anon_cookie.trim_start_matches("mailroom_csrf=").to_owned();
    let anon_token = Page::read(anon)
        .await
        .attrs("input[name=csrf_token]", "value")[0]
        .clone();
    let self_made = "A".repeat(43);
    for (i, (cookie, field)) in [
        (self_made.as_str(), self_made.as_str()),
        (anon_nonce.as_str(), anon_token.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        let res = bare_client()
            .post(app.url("/settings/remote"))
            .header(header::COOKIE, with_csrf_cookie(&jar, cookie))
            .form(&[
                ("action", "add"),
                ("kind", "domain"),
                ("value", &format!("forged{i}.example")),
                ("csrf_token", field),
            ])
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "pair {i}");
        let page = Page::read(res).await;
        assert_eq!(page.texts("h1"), vec!["This form has expired"], "pair {i}");
    }
    // Nothing was stored.
    let settings = Page::read(get_with_cookies(&app, "/settings/remote", &jar).await).await;
    assert_eq!(settings.status, StatusCode::OK);
    assert_eq!(
        settings.texts(".trusted .empty"),
        vec!["You trust no sender yet."]
    );
    // The session's own token works, even with a planted cookie beside it.
    let token = settings.attrs("input[name=csrf_token]", "value")[0].clone();
    let ok = bare_client()
        .post(app.url("/settings/remote"))
        .header(header::COOKIE, with_csrf_cookie(&jar, &self_made))
        .form(&[
            ("action", "add"),
            ("kind", "domain"),
            ("value", "real.example"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);

    // Before login: a self-made pair on the login form is refused, and nobody logs in.
    let res = bare_client()
        .post(app.url("/login"))
        .header(header::COOKIE, format!("mailroom_csrf={self_made}"))
        .form(&[
            ("username", app.user.address.as_str()),
            ("password", app.user.password.as_str()),
            ("csrf_token", self_made.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(cookie_pair(&set_cookies(res.headers()), "mailroom_key").is_none());
    let page = Page::read(res).await;
    assert_eq!(page.texts("h1"), vec!["This form has expired"]);
}

#[tokio::test]
async fn next_after_login_accepts_only_local_paths() {
    let app = TestApp::spawn("sec-next").await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    for evil in [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\\/evil.example/",
        "https://evil.example/",
        "HTTPS://evil.example/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        " //evil.example/",
        "/\t/evil.example/",
        "/\r\n/evil.example/",
        "evil.example",
        "@evil.example",
    ] {
        let res = app
            .post_form(
                "/login",
                &[("username", &u), ("password", &p), ("next", evil)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{evil:?}");
        assert_eq!(res.location(), "/mail/INBOX", "next={evil:?}");
        // The login form does not carry it either.
        let form = app.get(&format!("/login?next={}", percent(evil))).await;
        assert!(
            form.attrs("input[name=next]", "value").is_empty(),
            "{evil:?} kept in the form"
        );
    }
    // Encoded variants stay on this site: whatever Location says, it is a path here.
    for odd in [
        "/%2F%2Fevil.example/",
        "/%5Cevil.example/",
        "/.//evil.example/",
    ] {
        let res = app
            .post_form(
                "/login",
                &[("username", &u), ("password", &p), ("next", odd)],
            )
            .await;
        let loc = res.location();
        let resolved = reqwest::Url::parse(&app.base)
            .and_then(|b| b.join(loc))
            .expect("joinable");
        assert_eq!(
            resolved.host_str(),
            Some("127.0.0.1"),
            "{odd:?} → {loc:?} leaves the site"
        );
    }
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

// ------------------------------------------------------------------ sessions

#[tokio::test]
async fn session_id_is_rotated_at_login_and_destroyed_at_logout() {
    let app = TestApp::spawn("sec-session").await;
    let (first, jar1) = login_bare(&app, None).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let s1 = cookie_pair(&set_cookies(first.headers()), "mailroom_session").expect("session set");
    assert_eq!(
        get_with_cookies(&app, "/mail/INBOX", &jar1).await.status(),
        StatusCode::OK
    );

    // Logging in again while holding s1 (as a fixation victim would): a new id, and s1 dies.
    let (second, jar2) = login_bare(&app, Some(&s1)).await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let s2 = cookie_pair(&set_cookies(second.headers()), "mailroom_session").expect("session set");
    assert_ne!(s1, s2, "session cookie unchanged at login");
    assert!(is_login_redirect(
        &get_with_cookies(&app, "/mail/INBOX", &jar1).await
    ));
    assert_eq!(
        get_with_cookies(&app, "/mail/INBOX", &jar2).await.status(),
        StatusCode::OK
    );

    // Logout: the server forgets the session, so replaying the old cookies fails.
    let page = get_with_cookies(&app, "/mail/INBOX", &jar2).await;
    let body = page.text().await.expect("body");
    let token = scraper::Html::parse_document(&body)
        .select(&scraper::Selector::parse("form.logout input[name=csrf_token]").expect("sel"))
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_owned))
        .expect("logout form");
    let out = bare_client()
        .post(app.url("/logout"))
        .header(header::COOKIE, &jar2)
        .form(&[("csrf_token", token)])
        .send()
        .await
        .expect("POST /logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(is_login_redirect(
        &get_with_cookies(&app, "/mail/INBOX", &jar2).await
    ));
}

#[tokio::test]
async fn idle_and_absolute_session_lifetimes_end_sessions() {
    let stack = MailStack::shared();
    let idle = TestApp::spawn_with(stack, stack.add_user("sec-idle"), |c| {
        c.session_idle_timeout = Duration::from_secs(3);
    })
    .await;
    let absolute = TestApp::spawn_with(stack, stack.add_user("sec-absolute"), |c| {
        c.session_absolute_lifetime = Duration::from_secs(2);
    })
    .await;
    absolute.login().await;
    idle.login().await;
    // Busy sessions: the idle one stays alive while used, the absolute one only for 2 s.
    // The idle one is used every second on the clock, however long the other's pages take
    // on a loaded machine, so its gaps stay well under its 3 s.
    let mut tick = tokio::time::Instant::now();
    for _ in 0..3 {
        tick += Duration::from_millis(1000);
        tokio::time::sleep_until(tick).await;
        assert_eq!(idle.get("/mail/INBOX").await.status, StatusCode::OK);
        let _ = absolute.get("/mail/INBOX").await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let res = absolute.get("/mail/INBOX").await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "absolute lifetime ignored"
    );
    assert!(res.location().starts_with("/login"));
    // Idle for longer than the idle timeout.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let res = idle.get("/mail/INBOX").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "idle timeout ignored");
    assert!(res.location().starts_with("/login"));
}

// ------------------------------------------------------------------ login throttling

#[tokio::test]
async fn sixth_wrong_password_locks_out_even_the_right_one_without_asking_imap() {
    let stack = MailStack::shared();
    let recorder = CommandLog::start(stack).await;
    let other = stack.add_user("sec-throttle-other");
    let app = recorder
        .app_with(stack.add_user("sec-throttle"), |c| {
            c.login_backoff_base = Duration::from_secs(4);
        })
        .await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    for i in 0..5 {
        let res = app
            .post_form("/login", &[("username", &u), ("password", "wrong")])
            .await;
        assert_eq!(res.status, StatusCode::OK, "attempt {i}");
        assert_eq!(
            res.texts(".login .error"),
            vec!["Wrong address or password"]
        );
    }
    let logins = logins_through(&recorder);
    assert_eq!(logins, 5, "{}", recorder.raw_text());

    // Sixth attempt, right password: refused, same page, nobody asked.
    let refused = app
        .post_form("/login", &[("username", &u), ("password", &p)])
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.texts(".login .error"),
        vec!["Too many attempts, try again in 1 minute."]
    );
    assert_eq!(
        refused.attrs("input[name=username]", "value"),
        vec![u.clone()]
    );
    let retry: u64 = refused.header("retry-after").parse().expect("Retry-After");
    assert!((1..=4).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        app.get("/mail/INBOX").await.status,
        StatusCode::SEE_OTHER,
        "logged in anyway"
    );
    // The address is locked for everyone, whatever X-Forwarded-For says (no trusted proxy),
    // and an unknown account gets the very same answer.
    for (user, pass) in [
        (other.address.as_str(), other.password.as_str()),
        ("nobody@example.test", "x"),
    ] {
        let res = app
            .client
            .post(app.url("/login"))
            .header("x-forwarded-for", "203.0.113.77")
            .form(&[
                ("username", user),
                ("password", pass),
                ("csrf_token", &app.csrf().await),
            ])
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{user}");
        let page = Page::read(res).await;
        assert_eq!(
            page.texts(".login .error"),
            vec!["Too many attempts, try again in 1 minute."]
        );
    }
    assert_eq!(
        logins_through(&recorder),
        logins,
        "a throttled login reached IMAP"
    );

    // After the backoff, the right password works (and resets the account).
    tokio::time::sleep(Duration::from_secs(retry + 1)).await;
    let ok = app
        .post_form("/login", &[("username", &u), ("password", &p)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(logins_through(&recorder), logins + 1);
}

#[tokio::test]
async fn throttling_is_shared_by_instances_and_trusts_forwarded_for_only_from_proxies() {
    let stack = MailStack::shared();
    let recorder = CommandLog::start(stack).await;
    let victim = stack.add_user("sec-shared-victim");
    let bystander = stack.add_user("sec-shared-bystander");
    // Two instances behind a reverse proxy on 127.0.0.1, sharing one database.
    let shared = tempfile::tempdir().expect("temp dir");
    let db = crate::common::pgstack::fresh_database_url(shared.path(), "shared").await;
    let db2 = db.clone();
    let first = recorder
        .app_with(victim.clone(), move |c| {
            c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
            c.login_backoff_base = Duration::from_secs(60);
            c.database_url = db2;
        })
        .await;
    let second = recorder
        .app_with(bystander.clone(), move |c| {
            c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
            c.login_backoff_base = Duration::from_secs(60);
            c.database_url = db;
        })
        .await;
    // Five failures for the victim, each from another client address, on the first instance.
    for fwd in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.5",
    ] {
        assert_eq!(
            login_via(&first, fwd, &victim.address, "wrong").await,
            StatusCode::OK
        );
    }
    let logins = logins_through(&recorder);
    // The second instance knows: the account is locked from any address.
    assert_eq!(
        login_via(&second, "198.51.100.9", &victim.address, &victim.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(logins_through(&recorder), logins);
    // Each address failed once only, so another account from one of them is fine.
    assert_eq!(
        login_via(
            &second,
            "198.51.100.1",
            &bystander.address,
            &bystander.password
        )
        .await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forty_concurrent_wrong_passwords_let_at_most_five_reach_imap() {
    let stack = MailStack::shared();
    let recorder = CommandLog::start(stack).await;
    let app = recorder.app_with(stack.add_user("sec-burst"), |_| {}).await;
    let token = app.csrf().await;
    let user = app.user.address.clone();
    let attempts = (0..40).map(|i| {
        let (client, url, token, user) = (
            app.client.clone(),
            app.url("/login"),
            token.clone(),
            user.clone(),
        );
        tokio::spawn(async move {
            let res = client
                .post(url)
                .form(&[
                    ("username", user.as_str()),
                    ("password", &format!("wrong-{i}")),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .expect("POST");
            Page::read(res).await
        })
    });
    let pages: Vec<Page> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|p| p.expect("task"))
        .collect();
    let wrong = pages
        .iter()
        .filter(|p| {
            p.status == StatusCode::OK && p.texts(".login .error") == ["Wrong address or password"]
        })
        .count();
    let locked = pages
        .iter()
        .filter(|p| {
            p.status == StatusCode::TOO_MANY_REQUESTS
                && p.texts(".login .error") == ["Too many attempts, try again in 1 minute."]
        })
        .count();
    let logins = logins_through(&recorder);
    assert!(
        logins <= 5,
        "{logins} LOGINs reached IMAP: {}",
        recorder.raw_text()
    );
    assert_eq!(
        wrong, logins,
        "every wrong-password page was one IMAP LOGIN"
    );
    assert_eq!(
        wrong + locked,
        40,
        "every other attempt got the lockout page"
    );
}

#[tokio::test]
async fn a_known_browser_still_logs_in_while_strangers_lock_the_account() {
    let stack = MailStack::shared();
    let recorder = CommandLog::start(stack).await;
    let app = recorder
        .app_with(stack.add_user("sec-known-device"), |c| {
            c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
            c.login_backoff_base = Duration::from_secs(300);
        })
        .await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    // The owner's browser logged in before, and logged out.
    assert_eq!(
        login_via(&app, "203.0.113.10", &u, &p).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post_form("/logout", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // Strangers fail five times from five addresses: the account is locked.
    let stranger = crate::common::app::browser_client(true);
    for i in 1..=5 {
        assert_eq!(
            login_with(&stranger, &app, &format!("198.51.100.{i}"), &u, "guess").await,
            StatusCode::OK
        );
    }
    let logins = logins_through(&recorder);
    // A browser without the known-device cookie is refused, right password or not.
    assert_eq!(
        login_with(&stranger, &app, "192.0.2.44", &u, &p).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        logins_through(&recorder),
        logins,
        "the refused login reached IMAP"
    );
    // The owner's browser gets in, from yet another address.
    assert_eq!(
        login_via(&app, "192.0.2.45", &u, &p).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/mail/INBOX").await.status, StatusCode::OK);
    // The account stays locked for everyone else.
    assert_eq!(
        login_with(&stranger, &app, "192.0.2.46", &u, &p).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A login POST as if relayed by a proxy for `forwarded`; returns the status.
async fn login_via(app: &TestApp, forwarded: &str, user: &str, pass: &str) -> StatusCode {
    login_with(&app.client, app, forwarded, user, pass).await
}

/// [`login_via`] from another browser (`client`, with its own cookies) on the same app.
async fn login_with(
    client: &reqwest::Client,
    app: &TestApp,
    forwarded: &str,
    user: &str,
    pass: &str,
) -> StatusCode {
    let login = Page::read(client.get(app.url("/login")).send().await.expect("GET")).await;
    let token = login.attrs("input[name=csrf_token]", "value")[0].clone();
    client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("username", user),
            ("password", pass),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST")
        .status()
}

// ------------------------------------------------------------------ IMAP arguments

#[tokio::test]
async fn folder_names_with_line_breaks_are_refused_before_reaching_the_server() {
    let stack = MailStack::shared();
    let recorder = CommandLog::start(stack).await;
    let app = recorder.app_with(stack.add_user("sec-crlf"), |_| {}).await;
    stack
        .append(
            &app.user,
            "INBOX",
            b"From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n",
            &[],
        )
        .await;
    app.login().await;
    for path in [
        "/mail/INBOX%0D%0AX1%20DELETE%20INBOX",
        "/mail/INBOX%0AX2%20DELETE%20INBOX/1",
        "/mail/INBOX%0DX3%20DELETE%20INBOX/1/body",
        "/mail/IN%00BOX/1/raw",
        "/mail/INBOX%0D%0AX4%20LOGOUT/1/part/1",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            page.texts("main p")
                .contains(&"That folder name is not valid.".to_owned()),
            "{path}: {:?}",
            page.texts("main p")
        );
    }
    for path in [
        "/mail/INBOX/1%20OR%201",
        "/mail/INBOX/-1",
        "/mail/INBOX/1:*",
    ] {
        assert_eq!(
            app.get(path).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    let sent = recorder.raw_text();
    // Each marker holds a character a test password (20 random letters and digits, sent in
    // LOGIN) cannot: a bare "X4" once matched a password.
    for injected in [
        "DELETE",
        "X1 DELETE",
        "X2 DELETE",
        "X3 DELETE",
        "X4 LOGOUT",
        "IN\0BOX",
        "OR 1",
        "1:*",
    ] {
        assert!(
            !sent.contains(injected),
            "{injected:?} reached the server:\n{sent}"
        );
    }
    // The connection is fine afterwards.
    assert_eq!(app.get("/mail/INBOX/1").await.status, StatusCode::OK);
}
