//! Several instances behind one address: two apps on one database with one
//! `MAILROOM_SECRET_KEY`, and one browser that talks to either (as a load balancer without
//! sticky sessions would send it). Cookies are not bound to a port, so the browser's cookie
//! jar sends what one instance set to the other. Run on PostgreSQL by the second pass of
//! `scripts/test` (and on a shared SQLite file in the first: one box with two processes).

use std::time::Duration;

use mailroom::config::Secret;
use reqwest::StatusCode;

use crate::{
    common::{
        app::TestApp,
        mailstack::{MailStack, TestUser},
        pgstack::fresh_database_url,
    },
    compose::{
        DELIVERY, IDLE, binary, form_fields, let_the_session_expire, login_next, login_to,
        post_compose,
    },
    hostile::{Canary, Canned, PNG, image_message, proxied_srcs},
};

/// Two instances `a` and `b` for `user`, sharing a new database and a secret key, and one
/// browser (`b.client` is `a.client`). `tweak` changes both configurations alike.
async fn two_instances(
    user: TestUser,
    tweak: impl Fn(&mut mailroom::config::Config) + Clone + Send + 'static,
) -> (TestApp, TestApp, tempfile::TempDir) {
    let stack = MailStack::shared();
    let shared = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(shared.path(), "shared").await;
    let secret = format!(
        "{}-a-secret-both-instances-share-for-this-test",
        std::process::id()
    );
    let spawn = |url: String, secret: String| {
        let tweak = tweak.clone();
        TestApp::spawn_with(stack, user.clone(), move |c| {
            c.database_url = url;
            c.secret_key = Some(Secret::new(secret));
            tweak(c);
        })
    };
    let a = spawn(url.clone(), secret.clone()).await;
    let mut b = spawn(url, secret).await;
    b.client = a.client.clone();
    // With the key and the database given, an instance keeps nothing in its data dir:
    // there is nothing there to share.
    for app in [&a, &b] {
        let kept: Vec<_> = std::fs::read_dir(app.data_dir())
            .expect("data dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(kept.is_empty(), "{kept:?}");
    }
    (a, b, shared)
}

#[tokio::test]
async fn a_session_a_send_an_image_url_and_the_throttle_work_across_instances() {
    let stack = MailStack::shared();
    let alice = stack.add_user("inst-alice");
    let bob = stack.add_user("inst-bob");
    let (a, b, _db) =
        two_instances(alice.clone(), |c| c.proxy_allow_loopback_for_tests = true).await;

    // A stranger's browser gets nothing from either instance.
    let stranger = b.other_browser(alice.clone());
    let page = stranger.get("/mail/INBOX").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/login"), "{}", page.location());

    // Logged in on A, the same browser reads its mail on B.
    a.login().await;
    let inbox = b.get("/mail/INBOX").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert!(inbox.body.contains(&alice.address), "{}", inbox.body);

    // One compose form posted to both at once (a double click split by the balancer):
    // one instance claims the send, the other sees the claim; Bob gets one message.
    let (_, base) = form_fields(&a, "/compose").await;
    let fields = [
        ("to", bob.address.as_str()),
        ("subject", "claimed once"),
        ("body", "one of two instances sends this"),
        ("action", "send"),
    ];
    let (on_a, on_b) = tokio::join!(
        post_compose(&a, &base, &fields, &[]),
        post_compose(&b, &base, &fields, &[])
    );
    assert_eq!(on_a.status, StatusCode::SEE_OTHER, "{}", on_a.body);
    assert_eq!(on_b.status, StatusCode::SEE_OTHER, "{}", on_b.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 1);
    assert_eq!(stack.count(&alice, "Sent").await, 1);

    // An image-proxy URL that A wrote into a message is honoured by B.
    let canary = Canary::start().await;
    canary.route("/ok.png", Canned::ok("image/png", PNG));
    stack
        .append(
            &alice,
            "INBOX",
            &image_message("news@example.test", &[canary.url("/ok.png")]),
            &[],
        )
        .await;
    let srcs = proxied_srcs(&a, "/mail/INBOX/1/body?remote=1").await;
    assert_eq!(srcs.len(), 1, "{srcs:?}");
    assert!(srcs[0].starts_with("/proxy?url="), "{}", srcs[0]);
    let (status, headers, bytes) = b.get_bytes(&srcs[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(bytes, PNG);
    // B checks the signature rather than trusting any URL.
    let (unsigned, _) = srcs[0].split_once("&sig=").expect("sig");
    let forged = b.get(&format!("{unsigned}&sig=00")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Logging out on B ends the session on A too.
    let out = b.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let after = a.get("/mail/INBOX").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(
        after.location().starts_with("/login"),
        "{}",
        after.location()
    );

    // Five wrong passwords on A lock the account on B: even the right one waits.
    for _ in 0..5 {
        let wrong = a
            .post_form(
                "/login",
                &[("username", &alice.address), ("password", "wrong")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.body);
    }
    let locked = b
        .post_form(
            "/login",
            &[("username", &alice.address), ("password", &alice.password)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("Too many attempts"), "{}", locked.body);
}

#[tokio::test]
async fn a_form_parked_on_one_instance_comes_back_on_the_other() {
    let stack = MailStack::shared();
    let alice = stack.add_user("inst-park-a");
    let bob = stack.add_user("inst-park-b");
    let (a, b, _db) = two_instances(alice, |c| {
        c.session_idle_timeout = Duration::from_secs(IDLE);
    })
    .await;
    a.login().await;
    let (_, base) = form_fields(&a, "/compose").await;
    let_the_session_expire().await;
    // The form is posted to A after the session ended: A parks it with its file.
    let file = binary(2000, 3);
    let page = post_compose(
        &a,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "parked on A"),
            ("body", "restored on B"),
            ("action", "send"),
        ],
        &[("notes.bin", &file, "application/octet-stream")],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let next = login_next(&page);
    assert_eq!(a.count_rows("compose_parked").await, 1);
    // The user signs in again through B, which shows the form back with the file.
    login_to(&b, &next).await;
    let (page, f) = form_fields(&b, &next).await;
    assert_eq!(f["to"], bob.address);
    assert_eq!(f["subject"], "parked on A");
    assert_eq!(f["body"], "restored on B");
    assert_eq!(page.texts(".staged .filename"), vec!["notes.bin"]);
    assert_eq!(b.count_rows("compose_parked").await, 0, "restored once");
    // And it sends from there, with the file A received.
    let sent = post_compose(&b, &f, &[("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
}
