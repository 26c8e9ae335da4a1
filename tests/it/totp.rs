//! Two-factor login (issue 14 item 4) against the real Dovecot: set up through the settings
//! pages (codes computed here from the secret the page shows, as an authenticator app
//! would), then logins that need the code, its replay, recovery codes, "remember this
//! browser", the throttle, disabling, an expired pending login, CSRF, and another user.

use std::time::Duration;

use mailroom::totp::{STEP_SECS, code_at_step, step_at};
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::MailStack,
};

/// Decodes the base32 key the setup page shows (groups of four, no padding).
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base32: {text}")) as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Waits until at least `margin` seconds are left in the current 30-second step, so codes
/// computed now are still in the server's window when they arrive; returns that step.
async fn step_with_margin(margin: i64) -> i64 {
    loop {
        let t = now();
        let left = STEP_SECS - t.rem_euclid(STEP_SECS);
        if left >= margin {
            return step_at(t);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A six-digit string that is none of the codes of the steps around now.
fn wrong_code(secret: &[u8], step: i64) -> String {
    let taken: Vec<String> = (step - 2..=step + 2)
        .map(|s| code_at_step(secret, s))
        .collect();
    (0..)
        .map(|n| format!("{:06}", 123_456 + n))
        .find(|c| !taken.contains(c))
        .expect("a free code")
}

/// Logs in, sets up two-factor login through the pages and confirms it with the code of
/// the *previous* step (so the current and next steps are still unused for logins).
/// Returns the secret and the recovery codes the page showed once.
async fn enable(app: &TestApp) -> (Vec<u8>, Vec<String>) {
    app.login().await;
    let page = app.get("/settings/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.texts("#twofactor-off .state"),
        ["Two-factor login is off."]
    );
    let res = app.post_form("/settings/2fa/start", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/settings/2fa");
    let setup = app.get("/settings/2fa").await;
    assert_eq!(setup.header("cache-control"), "no-store");
    let qr = setup.attrs("#twofactor-setup .qr img", "src");
    assert!(
        qr[0].starts_with("data:image/svg+xml;base64,"),
        "QR code: {qr:?}"
    );
    let secret_text = setup.texts(".totp-secret").remove(0);
    let secret = base32_decode(&secret_text);
    assert_eq!(secret.len(), 20, "{secret_text}");

    // A wrong code is refused and the form shown again, still setting up.
    let step = step_with_margin(5).await;
    let bad = app
        .post_form(
            "/settings/2fa/enable",
            &[("code", &wrong_code(&secret, step))],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.texts("#twofactor-error"),
        ["That code is not right, or was already used."]
    );
    assert_eq!(bad.texts(".totp-secret"), [secret_text.as_str()]);

    let step = step_with_margin(5).await;
    let ok = app
        .post_form(
            "/settings/2fa/enable",
            &[("code", &code_at_step(&secret, step - 1))],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/settings/2fa?done=enabled");
    let done = app.get("/settings/2fa?done=enabled").await;
    assert_eq!(done.texts(".notice"), ["Two-factor login is on."]);
    let codes = done.texts(".recovery-codes code");
    assert_eq!(codes.len(), 10, "{}", done.body);
    assert!(done.texts(".recovery-left")[0].ends_with("10"));
    // Shown once: the next visit no longer has them.
    let again = app.get("/settings/2fa").await;
    assert!(again.texts(".recovery-codes code").is_empty());
    assert_eq!(
        again.texts("#twofactor-on .state"),
        ["Two-factor login is on: signing in needs your password and a code."]
    );
    (secret, codes)
}

/// Posts the password: with two-factor login on, this must lead to the code page only.
async fn password(app: &TestApp) -> Page {
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    app.post_form("/login", &[("username", &u), ("password", &p)])
        .await
}

async fn logout(app: &TestApp) {
    let out = app.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
}

/// The inbox answers with the inbox (true) or sends to the login page (false).
async fn in_inbox(app: &TestApp) -> bool {
    let page = app.get("/mail/INBOX").await;
    if page.status == StatusCode::OK {
        assert_eq!(page.texts("main h1"), ["Inbox"]);
        true
    } else {
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.location().starts_with("/login"), "{}", page.location());
        false
    }
}

async fn code(app: &TestApp, code: &str, remember: bool) -> Page {
    let mut fields = vec![("code", code)];
    if remember {
        fields.push(("remember", "1"));
    }
    app.post_form("/login/code", &fields).await
}

#[tokio::test]
async fn a_password_alone_is_not_enough_and_each_code_works_once() {
    let app = TestApp::spawn("totp-login").await;
    let (secret, recovery) = enable(&app).await;
    logout(&app).await;

    // The password is right, but it only leads to the code page.
    let res = password(&app).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/login/code");
    assert!(!in_inbox(&app).await, "the password alone opened the inbox");
    let form = app.get("/login/code").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.texts("h1"), ["Enter your code"]);
    assert_eq!(form.texts(".code-user"), [app.user.address.as_str()]);

    // A wrong code: refused, still no inbox.
    let step = step_with_margin(6).await;
    let bad = code(&app, &wrong_code(&secret, step), false).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert_eq!(
        bad.texts(".login .error"),
        ["That code is not right, or was already used."]
    );
    assert!(!in_inbox(&app).await);

    // The right code lands in the inbox.
    let right = code_at_step(&secret, step);
    let ok = code(&app, &right, false).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/mail/INBOX");
    assert!(in_inbox(&app).await);
    logout(&app).await;

    // The same code again: refused (replay), even with the right password.
    assert_eq!(password(&app).await.location(), "/login/code");
    let replay = code(&app, &right, false).await;
    assert_eq!(
        replay.texts(".login .error"),
        ["That code is not right, or was already used."]
    );
    assert!(!in_inbox(&app).await);

    // A recovery code works (typed in capitals, without its dash), once.
    let first = recovery[0].to_uppercase().replace('-', "");
    let ok = code(&app, &first, false).await;
    assert_eq!(ok.location(), "/mail/INBOX", "{}", ok.body);
    assert!(in_inbox(&app).await);
    let settings = app.get("/settings/2fa").await;
    assert!(settings.texts(".recovery-left")[0].ends_with('9'));
    logout(&app).await;
    password(&app).await;
    let spent = code(&app, &recovery[0], false).await;
    assert_eq!(
        spent.texts(".login .error"),
        ["That code is not right, or was already used."]
    );
    assert!(!in_inbox(&app).await);

    // "Start again" goes back to the password form.
    assert_eq!(
        spent.attrs(".login-code a[href='/login']", "href"),
        ["/login"]
    );
}

#[tokio::test]
async fn a_remembered_browser_skips_the_code_but_another_does_not_and_disable_needs_a_code() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("totp-remember").await;
    let (secret, recovery) = enable(&app).await;
    logout(&app).await;

    // Ticking "remember" sets a 30-day HttpOnly cookie.
    password(&app).await;
    let step = step_with_margin(5).await;
    let ok = code(&app, &code_at_step(&secret, step), true).await;
    assert_eq!(ok.location(), "/mail/INBOX", "{}", ok.body);
    let cookie = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mailroom_2fa="))
        .expect("remember cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    assert_eq!(app.count_rows("totp_remembered").await, 1);
    logout(&app).await;

    // This browser goes straight in with the password.
    let res = password(&app).await;
    assert_eq!(res.location(), "/mail/INBOX");
    assert!(in_inbox(&app).await);

    // Another browser is asked for the code.
    let other = app.other_browser(app.user.clone());
    assert_eq!(password(&other).await.location(), "/login/code");
    assert!(!in_inbox(&other).await);

    // Turning it off needs a code: none or a wrong one changes nothing.
    for typed in [
        "",
        "000000x",
        &wrong_code(&secret, step_with_margin(3).await),
    ] {
        let res = app
            .post_form("/settings/2fa/disable", &[("code", typed)])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert_eq!(
            res.texts("#twofactor-error"),
            ["That code is not right, or was already used."]
        );
        assert_eq!(res.texts("#twofactor-on .state").len(), 1);
    }
    let off = app
        .post_form("/settings/2fa/disable", &[("code", &recovery[3])])
        .await;
    assert_eq!(off.location(), "/settings/2fa?done=disabled");
    let page = app.get("/settings/2fa?done=disabled").await;
    assert_eq!(
        page.texts("#twofactor-off .state"),
        ["Two-factor login is off."]
    );
    // Off forgets the remembered browsers and the codes.
    assert_eq!(app.count_rows("totp_remembered").await, 0);
    assert_eq!(app.count_rows("totp_recovery").await, 0);
    assert_eq!(app.count_rows("totp").await, 0);

    // And the other browser now gets in with the password alone.
    let other = app.other_browser(app.user.clone());
    assert_eq!(password(&other).await.location(), "/mail/INBOX");
    assert!(in_inbox(&other).await);
    let _ = stack;
}

#[tokio::test]
async fn turning_it_on_ends_the_users_other_logins_but_not_this_one() {
    let app = TestApp::spawn("totp-others").await;
    // The same user already logged in on another browser, and another user too.
    let laptop = app.other_browser(app.user.clone());
    laptop.login().await;
    assert!(in_inbox(&laptop).await);
    let stack = crate::common::mailstack::MailStack::shared();
    let neighbour = app.other_browser(stack.add_user("totp-others-n"));
    neighbour.login().await;
    assert!(in_inbox(&neighbour).await);

    let (secret, _) = enable(&app).await;
    // This browser goes on (with a new session id); the laptop's login has ended, and
    // the neighbour's is untouched.
    assert!(in_inbox(&app).await);
    assert!(
        !in_inbox(&laptop).await,
        "the other login survived turning 2FA on"
    );
    assert!(in_inbox(&neighbour).await);

    // The laptop logs in again: now it takes the code, and after that it stays in.
    let res = password(&laptop).await;
    assert_eq!(res.location(), "/login/code");
    assert!(!in_inbox(&laptop).await);
    let step = step_with_margin(5).await;
    let ok = code(&laptop, &code_at_step(&secret, step), false).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(in_inbox(&laptop).await);
    assert!(in_inbox(&app).await);
}

#[tokio::test]
async fn wrong_codes_are_counted_by_the_login_throttle() {
    let app = TestApp::spawn("totp-throttle").await;
    let (secret, _) = enable(&app).await;
    logout(&app).await;
    assert_eq!(password(&app).await.location(), "/login/code");
    let step = step_with_margin(3).await;
    let bad = wrong_code(&secret, step);
    for i in 0..5 {
        let page = code(&app, &bad, false).await;
        assert_eq!(page.status, StatusCode::OK, "attempt {i}");
    }
    // The sixth is refused without looking at it, even the right code.
    let step = step_with_margin(3).await;
    let locked = code(&app, &code_at_step(&secret, step), false).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        locked.texts(".login .error"),
        ["Too many attempts, try again in 1 minute."]
    );
    assert!(!locked.header("retry-after").is_empty());
    assert!(!in_inbox(&app).await);
    // Going back to the password does not clear the count.
    let res = password(&app).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!in_inbox(&app).await);
}

#[tokio::test]
async fn a_pending_login_expires() {
    let stack = MailStack::shared();
    let user = stack.add_user("totp-expire");
    let app = TestApp::spawn_with(stack, user, |c| {
        c.login_code_lifetime = Duration::from_secs(2);
    })
    .await;
    let (secret, _) = enable(&app).await;
    logout(&app).await;
    let res = password(&app).await;
    assert_eq!(res.location(), "/login/code");
    // The key cookie holding the password's key expires with it.
    let key_cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mailroom_key="))
        .expect("key cookie")
        .to_owned();
    assert!(key_cookie.contains("Max-Age=2"), "{key_cookie}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let page = app.get("/login/code").await;
    assert_eq!(
        page.texts(".login .error"),
        ["The sign-in took too long. Please enter your password again."]
    );
    assert_eq!(page.attrs("form[action='/login']", "action").len(), 1);
    let step = step_with_margin(3).await;
    let late = code(&app, &code_at_step(&secret, step), false).await;
    assert_eq!(
        late.texts(".login .error"),
        ["The sign-in took too long. Please enter your password again."]
    );
    assert!(!in_inbox(&app).await);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::spawn("totp-csrf").await;
    app.login().await;
    for path in [
        "/settings/2fa/start",
        "/settings/2fa/enable",
        "/settings/2fa/disable",
    ] {
        let res = app
            .post_form(path, &[("csrf_token", ""), ("code", "123456")])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.count_rows("totp").await, 0);
    let (secret, _) = enable(&app).await;
    logout(&app).await;
    password(&app).await;
    let step = step_with_margin(3).await;
    let res = app
        .post_form(
            "/login/code",
            &[("csrf_token", ""), ("code", &code_at_step(&secret, step))],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!in_inbox(&app).await);
    // Anonymous visitors see the login form, not a settings page.
    let anon = app.other_browser(app.user.clone());
    let res = anon.get("/settings/2fa").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"));
    let res = anon.get("/login/code").await;
    assert_eq!(
        res.texts(".login .error"),
        ["The sign-in took too long. Please enter your password again."]
    );
}

/// The address typed in other capitals or with spaces is the same account to the mail
/// server, so it must not get around the code.
#[tokio::test]
async fn another_spelling_of_the_address_still_needs_the_code() {
    let app = TestApp::spawn("totp-case").await;
    enable(&app).await;
    logout(&app).await;
    let upper = format!(" {} ", app.user.address.to_uppercase());
    let page = app
        .post_form(
            "/login",
            &[("username", &upper), ("password", &app.user.password)],
        )
        .await;
    // Dovecot takes the capitals (its usernames are case-folded), so the password is right.
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/login/code");
    assert!(!in_inbox(&app).await);
}

#[tokio::test]
async fn another_users_two_factor_state_is_untouched() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("totp-owner").await;
    let (_secret, recovery) = enable(&app).await;
    let bob = app.other_browser(stack.add_user("totp-other"));
    // Bob logs in with his password alone, and his page says off.
    assert_eq!(password(&bob).await.location(), "/mail/INBOX");
    let page = bob.get("/settings/2fa").await;
    assert_eq!(
        page.texts("#twofactor-off .state"),
        ["Two-factor login is off."]
    );
    // Alice's recovery code means nothing for Bob, and his actions do not reach her row.
    let res = bob
        .post_form("/settings/2fa/disable", &[("code", &recovery[0])])
        .await;
    assert_eq!(res.location(), "/settings/2fa");
    assert_eq!(
        bob.post_form("/settings/2fa/start", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count_rows("totp").await, 2);
    let res = bob.post_form("/settings/2fa/disable", &[]).await;
    assert_eq!(res.location(), "/settings/2fa?done=cancelled");
    assert_eq!(app.count_rows("totp").await, 1);
    assert_eq!(app.count_rows("totp_recovery").await, 10);
    let mine = app.get("/settings/2fa").await;
    assert_eq!(mine.texts("#twofactor-on .state").len(), 1);
    assert!(mine.texts(".recovery-left")[0].ends_with("10"));
}

/// The journey in real Chromium, at phone and desktop width, JavaScript or not: set up
/// two-factor login from the settings page (the QR code shows and fits the screen), log
/// out, log in with the password and then the code.
#[tokio::test]
async fn two_factor_login_in_chromium_at_phone_and_desktop_width() {
    use fantoccini::Locator;
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("totp-web-{width}")).await;
        let user = app.user.clone();
        let Some((_driver, client)) = crate::actions::Chromedriver::session().await else {
            return;
        };
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        let find = |css: &'static str| {
            let client = client.clone();
            async move {
                client
                    .find(Locator::Css(css))
                    .await
                    .unwrap_or_else(|e| panic!("{css}: {e}"))
            }
        };
        let at = |path: &'static str| {
            let client = client.clone();
            async move { client.current_url().await.is_ok_and(|u| u.path() == path) }
        };
        let password_step = || async {
            client.goto(&app.url("/login")).await.expect("open /login");
            find("#username")
                .await
                .send_keys(&user.address)
                .await
                .expect("type");
            find("#password")
                .await
                .send_keys(&user.password)
                .await
                .expect("type");
            find(".login button[type=submit]")
                .await
                .click()
                .await
                .expect("submit");
        };
        password_step().await;
        crate::actions::wait_until("the inbox", || at("/mail/INBOX")).await;

        client
            .goto(&app.url("/settings/2fa"))
            .await
            .expect("open settings");
        find("#twofactor-off button[type=submit]")
            .await
            .click()
            .await
            .expect("start");
        crate::actions::wait_until("the QR code", || async {
            client.find(Locator::Css(".qr img")).await.is_ok()
        })
        .await;
        let qr = find(".qr img").await;
        let loaded = client
            .execute(
                "return document.querySelector('.qr img').naturalWidth",
                vec![],
            )
            .await
            .expect("naturalWidth");
        assert!(
            loaded.as_u64().is_some_and(|w| w > 0),
            "{width}: the QR image did not load (CSP?): {loaded:?}"
        );
        let (x, _, w, _) = qr.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: QR at {x}+{w}"
        );
        let secret = base32_decode(&find(".totp-secret").await.text().await.expect("text"));
        let step = step_with_margin(12).await;
        find("#enable-code")
            .await
            .send_keys(&code_at_step(&secret, step - 1))
            .await
            .expect("type");
        find("#twofactor-setup button[type=submit]")
            .await
            .click()
            .await
            .expect("enable");
        crate::actions::wait_until("the recovery codes", || async {
            client
                .find(Locator::Css(".recovery-codes code"))
                .await
                .is_ok()
        })
        .await;
        let codes = client
            .find_all(Locator::Css(".recovery-codes code"))
            .await
            .expect("codes");
        assert_eq!(codes.len(), 10, "{width}");

        find(".logout button").await.click().await.expect("log out");
        crate::actions::wait_until("the login page", || at("/login")).await;
        password_step().await;
        crate::actions::wait_until("the code page", || at("/login/code")).await;
        // Without the code there is no inbox.
        client
            .goto(&app.url("/mail/INBOX"))
            .await
            .expect("open inbox");
        crate::actions::wait_until("sent back to log in", || at("/login")).await;
        client
            .goto(&app.url("/login/code"))
            .await
            .expect("back to the code");
        let step = step_with_margin(8).await;
        find("#code")
            .await
            .send_keys(&code_at_step(&secret, step))
            .await
            .expect("type");
        let submit = find(".login-code button[type=submit]").await;
        let (x, _, w, _) = submit.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: button at {x}+{w}"
        );
        find(".remember input").await.click().await.expect("tick");
        submit.click().await.expect("verify");
        crate::actions::wait_until("the inbox after the code", || at("/mail/INBOX")).await;
        let h1 = find("main h1").await.text().await.expect("text");
        assert_eq!(h1, "Inbox", "{width}");
        let _ = client.close().await;
    }
}
