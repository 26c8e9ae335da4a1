//! Login, logout, language and session behaviour, through HTTP against a real Dovecot.

use reqwest::StatusCode;

use crate::common::{app::TestApp, mailstack::MailStack};

#[tokio::test]
async fn login_page_has_a_form_with_csrf() {
    let app = TestApp::spawn("auth-form").await;
    let page = app.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.attrs("form[action='/login'] input[name=username]", "name")
            .len(),
        1
    );
    assert_eq!(
        page.attrs("input[type=password][name=password]", "name")
            .len(),
        1
    );
    let token = page.attrs("input[name=csrf_token]", "value");
    assert!(token[0].len() >= 32, "csrf token too short: {token:?}");
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self'")
    );
}

#[tokio::test]
async fn login_lands_in_inbox_and_logout_ends_the_session() {
    let app = TestApp::spawn("auth-ok").await;
    let res = app.login().await;
    assert_eq!(res.location(), "/mail/INBOX");
    let inbox = app.follow("/").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert_eq!(inbox.texts("main h1"), vec!["Inbox"]);
    assert_eq!(inbox.texts(".topbar .user"), vec![app.user.address.clone()]);

    let out = app.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    let after = app.get("/mail/INBOX").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(
        after.location().starts_with("/login"),
        "{}",
        after.location()
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer_and_no_session() {
    let app = TestApp::spawn("auth-wrong").await;
    let user = app.user.address.clone();
    for (u, p) in [
        (user.as_str(), "not-the-password"),
        ("nobody-here@example.test", "whatever"),
    ] {
        let page = app
            .post_form("/login", &[("username", u), ("password", p)])
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.texts(".login .error"),
            vec!["Wrong address or password"]
        );
        // The address typed is kept, the password is not.
        assert_eq!(
            page.attrs("input[name=username]", "value"),
            vec![u.to_owned()]
        );
        assert!(page.attrs("input[name=password]", "value").is_empty());
        let cookies: Vec<_> = page.headers.get_all("set-cookie").iter().collect();
        assert!(
            !cookies
                .iter()
                .any(|c| c.to_str().unwrap_or("").contains("mailroom_session")),
            "a session was created: {cookies:?}"
        );
    }
    let inbox = app.get("/mail/INBOX").await;
    assert_eq!(inbox.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn post_without_csrf_token_is_refused() {
    let app = TestApp::spawn("auth-csrf").await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    let page = app
        .post_form(
            "/login",
            &[("username", &u), ("password", &p), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.texts("main h1"), vec!["This form has expired"]);
    assert_eq!(app.get("/mail/INBOX").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_returns_to_the_page_asked_for_but_never_offsite() {
    let app = TestApp::spawn("auth-next").await;
    let first = app.get("/mail/INBOX?page=1").await;
    assert_eq!(first.location(), "/login?next=%2Fmail%2FINBOX%3Fpage%3D1");
    let form = app.follow(first.location()).await;
    assert_eq!(
        form.attrs("input[name=next]", "value"),
        vec!["/mail/INBOX?page=1"]
    );
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    let res = app
        .post_form(
            "/login",
            &[
                ("username", &u),
                ("password", &p),
                ("next", "/mail/INBOX?page=1"),
            ],
        )
        .await;
    assert_eq!(res.location(), "/mail/INBOX?page=1");

    let app2 = TestApp::spawn("auth-next2").await;
    let (u, p) = (app2.user.address.clone(), app2.user.password.clone());
    for evil in ["//evil.test/", "https://evil.test/", "/\\evil.test"] {
        let res = app2
            .post_form(
                "/login",
                &[("username", &u), ("password", &p), ("next", evil)],
            )
            .await;
        assert_eq!(res.location(), "/mail/INBOX", "next={evil}");
    }
}

#[tokio::test]
async fn chinese_ui_from_accept_language_and_from_the_picker() {
    let app = TestApp::spawn("auth-zh").await;
    let page = app
        .get_with("/login", &[("accept-language", "zh-CN,zh;q=0.9")])
        .await;
    assert_eq!(page.texts("main h1"), vec!["登录"]);
    assert_eq!(page.attrs("html", "lang"), vec!["zh-Hans"]);

    let switch = app.get("/login?lang=zh-Hans").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    let page = app.get_with("/login", &[("accept-language", "en")]).await;
    assert_eq!(
        page.texts("main h1"),
        vec!["登录"],
        "the picked language wins over the header"
    );
    app.login().await;
    let inbox = app.get("/mail/INBOX").await;
    assert_eq!(inbox.texts("main h1"), vec!["收件箱"]);
    assert!(
        inbox
            .texts(".sidebar a")
            .iter()
            .any(|t| t.starts_with("已发送"))
    );
}

/// Taiwan and Hong Kong read Traditional Chinese (`zh-Hant`), from the browser or the
/// picker; counts say one or many in English, grouped by thousands in every language.
#[tokio::test]
async fn traditional_chinese_for_taiwan_and_plural_counts_in_english() {
    let app = TestApp::spawn("auth-hant").await;
    let page = app
        .get_with("/login", &[("accept-language", "zh-TW,zh;q=0.9,en;q=0.5")])
        .await;
    assert_eq!(page.texts("main h1"), vec!["登入"]);
    assert_eq!(page.attrs("html", "lang"), vec!["zh-Hant"]);
    assert_eq!(
        page.texts(".langs a, .langs strong"),
        ["English", "简体中文", "繁體中文"],
        "the picker offers all three, this one current"
    );
    assert_eq!(page.texts(".langs strong"), ["繁體中文"]);
    let hk = app
        .get_with("/login", &[("accept-language", "zh-HK")])
        .await;
    assert_eq!(hk.attrs("html", "lang"), vec!["zh-Hant"]);

    let stack = MailStack::shared();
    let one = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: {1} stays {0}\r\n\
                Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <hant-1@example.test>\r\n\r\nHi\r\n";
    stack.append(&app.user, "INBOX", one, &[]).await;
    app.login().await;
    let inbox = app.get("/mail/INBOX").await;
    assert_eq!(inbox.texts(".list-head .total"), vec!["1 message"]);
    assert!(
        inbox.body.contains("{1} stays {0}"),
        "the subject as written"
    );

    app.get("/login?lang=zh-Hant").await;
    let inbox = app.get("/mail/INBOX").await;
    assert_eq!(inbox.attrs("html", "lang"), vec!["zh-Hant"]);
    assert_eq!(inbox.texts("main h1"), vec!["收件匣"]);
    assert_eq!(inbox.texts(".list-head .total"), vec!["1 封郵件"]);
}

#[tokio::test]
async fn unreachable_mail_server_gives_a_clear_page() {
    let stack = MailStack::shared();
    let user = stack.add_user("auth-down");
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(stack, user, |c| c.imap.port = closed).await;
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    let page = app
        .post_form("/login", &[("username", &u), ("password", &p)])
        .await;
    assert_eq!(
        page.texts(".login .error"),
        vec!["The mail server is not reachable"]
    );
}

#[tokio::test]
async fn healthz_answers() {
    let app = TestApp::spawn("healthz").await;
    let page = app.get("/healthz").await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, "ok"));
}
