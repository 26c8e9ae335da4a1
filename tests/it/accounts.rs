//! Other mailboxes (issue 14), against the real stack: user A adds user B's mailbox
//! (POP3 or IMAP on the test Dovecot) on `/settings/accounts`, presses Fetch now, and B's
//! mail arrives once in A's chosen folder (checked over IMAP), kept on or deleted from
//! B's mailbox as chosen. Also: a wrong remote password shown on the page with the time,
//! the password not stored in clear, another user's 404, CSRF, loopback refused without
//! the test switch, the fetch a page view starts, and the journey in Chromium.

use std::time::Duration;

use futures::TryStreamExt;
use mailroom::store::Db;
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::{MailStack, TestUser, imap_utf7},
};

/// A small message whose subject names it.
fn eml(subject: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.test>\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 01 Jun 2026 10:00:00 +0000\r\nMessage-ID: <{}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n.dot-stuffed line\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// Subjects of a folder, sorted.
async fn subjects(stack: &MailStack, user: &TestUser, mailbox: &str) -> Vec<String> {
    let mut s = stack.imap(user).await;
    let mbox = s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    if mbox.exists == 0 {
        return Vec::new();
    }
    let fetched: Vec<_> = s
        .fetch("1:*", "(UID ENVELOPE)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let mut out: Vec<String> = fetched
        .iter()
        .map(|f| {
            f.envelope()
                .and_then(|e| e.subject.as_deref())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default()
        })
        .collect();
    out.sort();
    let _ = s.logout().await;
    out
}

/// An app for a fresh user allowed to fetch from loopback (the test stack).
async fn app(prefix: &str) -> TestApp {
    let stack = MailStack::shared();
    let user = stack.add_user(prefix);
    TestApp::spawn_with(stack, user, |c| c.remote_allow_loopback_for_tests = true).await
}

/// Adds `remote`'s mailbox on the test stack to `app`'s user; returns the new account id.
async fn add_account(
    app: &TestApp,
    protocol: &str,
    remote: &TestUser,
    password: &str,
    folder: &str,
    keep: bool,
) -> String {
    let stack = MailStack::shared();
    let port = if protocol == "pop3" {
        stack.pop3_port
    } else {
        stack.imap_port
    }
    .to_string();
    let mut fields = vec![
        ("protocol", protocol),
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("security", "none"),
        ("login", remote.address.as_str()),
        ("password", password),
        ("folder", folder),
    ];
    if keep {
        fields.push(("keep", "on"));
    }
    let before = account_ids(&app.get("/settings/accounts").await);
    let page = app.post_form("/settings/accounts", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/settings/accounts?done=added");
    let after = account_ids(&app.get("/settings/accounts").await);
    after
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the new account is listed")
}

/// The account ids listed on the page.
fn account_ids(page: &Page) -> Vec<String> {
    page.attrs("li.remote-account", "id")
        .into_iter()
        .filter_map(|id| id.strip_prefix("account-").map(str::to_owned))
        .collect()
}

/// Presses Fetch now; returns where it redirected.
async fn fetch_now(app: &TestApp, id: &str) -> String {
    let page = app
        .post_form(&format!("/settings/accounts/{id}/fetch"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location().to_owned()
}

/// The row of account `id` on the page, as text.
async fn row_text(app: &TestApp, id: &str) -> String {
    let page = app.get("/settings/accounts").await;
    page.texts(&format!("#account-{id}")).join(" ")
}

#[tokio::test]
async fn pop3_mail_of_another_user_arrives_once_in_the_chosen_folder_kept_or_deleted() {
    let stack = MailStack::shared();
    let alice = app("acc-pop-alice").await;
    alice.login().await;
    // The first page view looks for due fetches (none yet); the next look is a minute
    // later, so the fetches below are all the button's.
    alice.get("/settings/accounts").await;
    stack.create_mailbox(&alice.user, "Fetched").await;
    let bob = stack.add_user("acc-pop-bob");
    stack.append(&bob, "INBOX", &eml("Bob one"), &[]).await;
    stack.append(&bob, "INBOX", &eml("Bob two"), &[]).await;

    let id = add_account(&alice, "pop3", &bob, &bob.password, "Fetched", true).await;
    let row = row_text(&alice, &id).await;
    assert!(row.contains("never") && row.contains("Fetched"), "{row}");

    // The stored password is sealed: not in any column of the row.
    let db = mailroom::store::connect(&alice.database_url).await.unwrap();
    let sql = "SELECT host, login, sealed_password, folder FROM remote_accounts";
    let rows: Vec<(String, String, String, String)> = match &db {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap();
    assert_eq!(rows.len(), 1);
    let (host, login, sealed, folder) = &rows[0];
    assert_eq!(
        (host.as_str(), login.as_str(), folder.as_str()),
        ("127.0.0.1", bob.address.as_str(), "Fetched")
    );
    assert!(
        !sealed.contains(&bob.password) && sealed.len() > 20,
        "{sealed}"
    );
    let page = alice.get("/settings/accounts").await;
    assert!(!page.body.contains(&bob.password), "never shown back");

    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=2"
    );
    assert_eq!(
        subjects(stack, &alice.user, "Fetched").await,
        ["Bob one", "Bob two"]
    );
    assert_eq!(stack.count(&bob, "INBOX").await, 2, "kept on the server");
    let page = alice.follow("/settings/accounts?done=fetched&n=2").await;
    assert!(
        page.body.contains("New messages fetched: 2."),
        "{}",
        page.body
    );
    let row = row_text(&alice, &id).await;
    assert!(row.contains("UTC") && row.contains("2 new"), "{row}");

    // Again: nothing new, nothing twice; then only the new one.
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=0"
    );
    stack.append(&bob, "INBOX", &eml("Bob three"), &[]).await;
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=1"
    );
    assert_eq!(
        subjects(stack, &alice.user, "Fetched").await,
        ["Bob one", "Bob three", "Bob two"]
    );

    // keep off: fetched mail is deleted from the other mailbox, and arrives once.
    let carol = stack.add_user("acc-pop-carol");
    stack.append(&carol, "INBOX", &eml("Carol one"), &[]).await;
    stack.append(&carol, "INBOX", &eml("Carol two"), &[]).await;
    let id = add_account(&alice, "pop3", &carol, &carol.password, "INBOX", false).await;
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=2"
    );
    assert_eq!(
        stack.count(&carol, "INBOX").await,
        0,
        "deleted on the server"
    );
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=0"
    );
    assert_eq!(
        subjects(stack, &alice.user, "INBOX").await,
        ["Carol one", "Carol two"]
    );
}

#[tokio::test]
async fn imap_mail_of_another_user_arrives_once_in_the_chosen_folder_kept_or_deleted() {
    let stack = MailStack::shared();
    let alice = app("acc-imap-alice").await;
    alice.login().await;
    alice.get("/settings/accounts").await;
    stack.create_mailbox(&alice.user, "From Bob").await;
    let bob = stack.add_user("acc-imap-bob");
    stack.append(&bob, "INBOX", &eml("Bob one"), &[]).await;
    stack
        .append(&bob, "INBOX", &eml("Bob two"), &["\\Seen"])
        .await;

    let id = add_account(&alice, "imap", &bob, &bob.password, "From Bob", true).await;
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=2"
    );
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=0"
    );
    assert_eq!(
        subjects(stack, &alice.user, "From Bob").await,
        ["Bob one", "Bob two"]
    );
    assert_eq!(stack.count(&bob, "INBOX").await, 2, "kept on the server");
    // BODY.PEEK: still unread there.
    let mut s = stack.imap(&bob).await;
    s.examine("INBOX").await.unwrap();
    let unseen: Vec<u32> = s.uid_search("UNSEEN").await.unwrap().into_iter().collect();
    assert_eq!(unseen.len(), 1, "fetching did not mark anything read");
    let _ = s.logout().await;

    let carol = stack.add_user("acc-imap-carol");
    stack.append(&carol, "INBOX", &eml("Carol one"), &[]).await;
    let id = add_account(&alice, "imap", &carol, &carol.password, "INBOX", false).await;
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=1"
    );
    assert_eq!(
        stack.count(&carol, "INBOX").await,
        0,
        "deleted on the server"
    );
    assert_eq!(
        fetch_now(&alice, &id).await,
        "/settings/accounts?done=fetched&n=0"
    );
    assert_eq!(subjects(stack, &alice.user, "INBOX").await, ["Carol one"]);
}

#[tokio::test]
async fn a_wrong_remote_password_is_shown_with_the_time_of_the_attempt() {
    let stack = MailStack::shared();
    let alice = app("acc-wrong-alice").await;
    alice.login().await;
    alice.get("/settings/accounts").await;
    let bob = stack.add_user("acc-wrong-bob");
    stack.append(&bob, "INBOX", &eml("Bob one"), &[]).await;
    for protocol in ["pop3", "imap"] {
        let id = add_account(&alice, protocol, &bob, "not-the-password", "INBOX", true).await;
        assert_eq!(
            fetch_now(&alice, &id).await,
            "/settings/accounts?done=failed"
        );
        let page = alice.follow("/settings/accounts?done=failed").await;
        assert!(page.body.contains("The fetch failed"), "{}", page.body);
        let row = row_text(&alice, &id).await;
        assert!(
            row.contains("The server refused the username or password.") && row.contains("UTC"),
            "{protocol}: {row}"
        );
        assert!(!row.contains("never"), "{row}");
    }
    assert_eq!(stack.count(&alice.user, "INBOX").await, 0);
}

#[tokio::test]
async fn another_user_gets_404_a_missing_token_is_refused_and_bad_input_is_shown_again() {
    let stack = MailStack::shared();
    let alice = app("acc-own-alice").await;
    alice.login().await;
    alice.get("/settings/accounts").await;
    let bob = stack.add_user("acc-own-bob");
    let id = add_account(&alice, "pop3", &bob, &bob.password, "INBOX", true).await;

    // An anonymous visitor is sent to the login page, and cannot fetch.
    let anonymous = alice.other_browser(stack.add_user("acc-own-anon"));
    let page = anonymous.get("/settings/accounts").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/login"), "{}", page.location());
    let page = anonymous
        .post_form(&format!("/settings/accounts/{id}/fetch"), &[])
        .await;
    assert!(
        page.status == StatusCode::FORBIDDEN || page.location().starts_with("/login"),
        "{} {}",
        page.status,
        page.location()
    );
    assert!(row_text(&alice, &id).await.contains("never"));

    let mallory = alice.other_browser(stack.add_user("acc-own-mallory"));
    mallory.login().await;
    for verb in ["fetch", "delete"] {
        let page = mallory
            .post_form(&format!("/settings/accounts/{id}/{verb}"), &[])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{verb}");
    }
    let page = mallory.get("/settings/accounts").await;
    assert!(!page.body.contains(&id) && !page.body.contains(&bob.address));

    // No CSRF token: refused, nothing fetched or removed.
    for verb in ["fetch", "delete"] {
        let page = alice
            .post_form(
                &format!("/settings/accounts/{id}/{verb}"),
                &[("csrf_token", "")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{verb}");
    }
    let page = alice
        .post_form(
            "/settings/accounts",
            &[
                ("csrf_token", "x"),
                ("protocol", "pop3"),
                ("host", "example.com"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(row_text(&alice, &id).await.contains("never"));

    // A refused form comes back with what was typed (never the password) and a message.
    let page = alice
        .post_form(
            "/settings/accounts",
            &[
                ("protocol", "pop3"),
                ("host", "10.0.0.7"),
                ("security", "tls"),
                ("login", "someone"),
                ("password", "typed-secret"),
                ("folder", "INBOX"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("may not connect to this address"),
        "{}",
        page.body
    );
    assert_eq!(page.attrs("#acc-host", "value"), ["10.0.0.7"]);
    assert!(!page.body.contains("typed-secret"));

    // Removing is the owner's.
    let page = alice
        .post_form(&format!("/settings/accounts/{id}/delete"), &[])
        .await;
    assert_eq!(page.location(), "/settings/accounts?done=removed");
    assert!(account_ids(&alice.get("/settings/accounts").await).is_empty());
}

#[tokio::test]
async fn loopback_is_refused_without_the_test_switch() {
    let stack = MailStack::shared();
    let alice = TestApp::spawn("acc-ssrf-alice").await;
    alice.login().await;
    let port = stack.pop3_port.to_string();
    for (host, security, expected) in [
        ("127.0.0.1", "none", "may not connect to this address"),
        ("localhost", "tls", "may not connect to this address"),
        ("169.254.169.254", "tls", "may not connect to this address"),
    ] {
        let page = alice
            .post_form(
                "/settings/accounts",
                &[
                    ("protocol", "pop3"),
                    ("host", host),
                    ("port", &port),
                    ("security", security),
                    ("login", "x"),
                    ("password", "y"),
                    ("folder", "INBOX"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{host}");
        assert!(page.body.contains(expected), "{host}: {}", page.body);
    }
    assert_eq!(alice.count_rows("remote_accounts").await, 0);
}

#[tokio::test]
async fn a_page_view_starts_a_due_fetch() {
    let stack = MailStack::shared();
    let alice = app("acc-due-alice").await;
    alice.login().await;
    let bob = stack.add_user("acc-due-bob");
    stack
        .append(&bob, "INBOX", &eml("While you browse"), &[])
        .await;
    // Added before any page view of this login: the next page view finds it due.
    let port = stack.pop3_port.to_string();
    let fields = [
        ("protocol", "pop3"),
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("security", "none"),
        ("login", bob.address.as_str()),
        ("password", bob.password.as_str()),
        ("folder", "INBOX"),
        ("keep", "on"),
    ];
    let page = alice.post_form("/settings/accounts", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    alice.get("/mail/INBOX").await;
    stack
        .wait_for_count(&alice.user, "INBOX", 1, Duration::from_secs(30))
        .await;
    // And only once, however many pages are viewed.
    for _ in 0..3 {
        alice.get("/mail/INBOX").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        subjects(stack, &alice.user, "INBOX").await,
        ["While you browse"]
    );
}

/// The journey in real Chromium, at phone and at desktop width: log in, add another user's
/// POP3 mailbox with the form, press Fetch now, see the count and the time, and find the
/// mail in the chosen folder on the server.
#[tokio::test]
async fn a_mailbox_added_and_fetched_in_chromium_at_phone_and_desktop_width() {
    use fantoccini::Locator;
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = app(&format!("acc-web-{width}")).await;
        let user = &app.user;
        stack.create_mailbox(user, "Fetched").await;
        let bob = stack.add_user(&format!("acc-web-bob-{width}"));
        stack
            .append(&bob, "INBOX", &eml("Hello from Bob"), &[])
            .await;
        // Signed in through the login form; `find` waits for its element.
        let Some((_driver, client)) =
            crate::actions::Chromedriver::signed_in(&app, width, height).await
        else {
            return;
        };
        let find = |css: String| {
            let client = client.clone();
            async move { crate::actions::find(&client, &css).await }
        };
        let type_into = |css: &'static str, text: String| async move {
            find(css.into()).await.send_keys(&text).await.expect("type")
        };
        // From the settings page, as a user finds it.
        client
            .goto(&app.url("/settings"))
            .await
            .expect("open settings");
        find("a[href='/settings/accounts']".into())
            .await
            .click()
            .await
            .expect("open other mailboxes");
        type_into("#acc-host", "127.0.0.1".into()).await;
        find("#acc-security option[value=none]".into())
            .await
            .click()
            .await
            .expect("choose no TLS");
        type_into("#acc-port", stack.pop3_port.to_string()).await;
        type_into("#acc-login", bob.address.clone()).await;
        type_into("#acc-password", bob.password.clone()).await;
        find("#acc-folder option[value=Fetched]".into())
            .await
            .click()
            .await
            .expect("choose the folder");
        let submit = find("#accounts-add button[type=submit]".into()).await;
        let (x, _, w, _) = submit.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: button at {x}+{w}"
        );
        submit.click().await.expect("add the mailbox");
        crate::actions::wait_until("the mailbox in the list", || async {
            client.find(Locator::Css(".remote-account")).await.is_ok()
        })
        .await;
        let fetch = find(".remote-account .fetch-now".into()).await;
        let (x, _, w, _) = fetch.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: Fetch now at {x}+{w}"
        );
        fetch.click().await.expect("fetch now");
        crate::actions::wait_until("the fetch notice", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.query() == Some("done=fetched&n=1"))
        })
        .await;
        let notice = find(".notice".into()).await.text().await.expect("text");
        assert_eq!(notice, "New messages fetched: 1.", "{width}");
        let last = find(".remote-account .last".into())
            .await
            .text()
            .await
            .expect("text");
        assert!(
            last.contains("UTC") && last.contains("1 new"),
            "{width}: {last}"
        );
        assert_eq!(
            subjects(stack, user, "Fetched").await,
            ["Hello from Bob"],
            "{width}"
        );
        let _ = client.close().await;
    }
}
