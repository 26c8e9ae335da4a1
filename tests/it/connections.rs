//! What a user's browsers cost the mail server in connections (issue 10 item 3): every
//! browser of one user (same name, password and servers) draws on one small pool of IMAP
//! connections instead of holding some each, and sharing never lets a wrong password in
//! or one browser's logout break another's.

use reqwest::StatusCode;

use crate::common::{
    app::TestApp,
    mailstack::{MailStack, TestUser},
    relay::CommandLog,
};

/// A plain message with `subject`.
fn msg(subject: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

/// `n` list pages of `app` at once; each must show `subject`.
async fn pages_at_once(app: &TestApp, n: usize, subject: &str) {
    let pages = futures::future::join_all((0..n).map(|_| app.get("/mail/INBOX"))).await;
    for p in pages {
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(
            p.texts("td.subject a").iter().any(|s| s == subject),
            "the list shows the user's mail: {:?}",
            p.texts("td.subject a")
        );
    }
}

#[tokio::test]
async fn a_users_browsers_share_a_few_connections() {
    let stack = MailStack::shared();
    let user: TestUser = stack.add_user("conn-share");
    stack.append(&user, "INBOX", &msg("Shared pool"), &[]).await;
    // Not a brand-new mailbox: its first use makes Dovecot create folders, and 36 pages
    // doing that at once crash Dovecot processes (see `first_use`); each crash costs a
    // reconnection, which the count below would take for a pool that does not share.
    stack.first_use(&user).await;
    let log = CommandLog::start(stack).await;
    let phone = log.app(user.clone()).await;
    phone.login().await;
    let desk = phone.other_browser(user.clone());
    desk.login().await;
    let laptop = phone.other_browser(user.clone());
    laptop.login().await;

    // Three browsers, twelve pages each, all at once.
    futures::future::join3(
        pages_at_once(&phone, 12, "Shared pool"),
        pages_at_once(&desk, 12, "Shared pool"),
        pages_at_once(&laptop, 12, "Shared pool"),
    )
    .await;
    // Each login proves its password on a connection of its own (3), then all the
    // pages share at most 4, beside the user's one watcher: never 4 per browser (12).
    let opened = log.connections();
    assert!(
        opened <= 3 + 4 + 1,
        "{opened} connections for three browsers of one user:\n{}",
        log.connection_summary()
    );

    // A wrong password is refused while the user's connections are open.
    let stranger = phone.other_browser(user.clone());
    let page = stranger
        .post_form(
            "/login",
            &[
                ("username", &user.address),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER, "wrong password let in");
    let inbox = stranger.get("/mail/INBOX").await;
    assert!(
        !inbox.body.contains("Shared pool"),
        "a refused login reads no mail"
    );

    // One browser logs out: the others go on reading (their next page reconnects).
    let out = phone.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    pages_at_once(&desk, 2, "Shared pool").await;
    let gone = phone.get("/mail/INBOX").await;
    assert!(
        !gone.body.contains("Shared pool"),
        "the logged-out browser reads nothing"
    );
}

#[tokio::test]
async fn users_never_share_a_connection() {
    let stack = MailStack::shared();
    let (ann, ben) = (stack.add_user("conn-ann"), stack.add_user("conn-ben"));
    stack.append(&ann, "INBOX", &msg("For Ann only"), &[]).await;
    stack.append(&ben, "INBOX", &msg("For Ben only"), &[]).await;
    let log = CommandLog::start(stack).await;
    let a = log.app(ann.clone()).await;
    a.login().await;
    let b = a.other_browser(ben.clone());
    b.login().await;
    for _ in 0..3 {
        let (pa, pb) = futures::future::join(a.get("/mail/INBOX"), b.get("/mail/INBOX")).await;
        assert_eq!(pa.texts("td.subject a"), vec!["For Ann only".to_owned()]);
        assert_eq!(pb.texts("td.subject a"), vec!["For Ben only".to_owned()]);
    }
}
