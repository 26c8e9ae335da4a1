//! The read and organize paths against both IMAP servers: Dovecot (the usual stack) and
//! Cyrus IMAP 3.6 (`MailStack::cyrus`), whose default namespace puts every personal folder
//! under `INBOX.` with `.` as separator, and which announces ESORT without CONTEXT=SORT.
//! Each scenario is one function taking the stack, run once per server; folder names are
//! written as `/`-separated levels and turned into the server's own by
//! `MailStack::folder`.

use futures::TryStreamExt;
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::{MailStack, TestUser, imap_utf7, list_folders},
};

/// An app for a fresh user of `stack`.
async fn app_on(stack: &MailStack, prefix: &str) -> TestApp {
    let user = stack.add_user(prefix);
    TestApp::spawn_with(stack, user, |_| {}).await
}

/// Message `i` of `n`, dated so that date order is not arrival order: `(i * 37) % n`
/// hours after a fixed start (37 is prime to the counts used here).
fn scrambled(i: usize, n: usize) -> (Vec<u8>, i64) {
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00").unwrap();
    let date = base + chrono::Duration::hours(((i * 37) % n) as i64);
    let eml = format!(
        "From: Amy <amy@example.test>\r\nTo: someone@example.test\r\nSubject: Message {i:03}\r\n\
         Date: {}\r\nMessage-ID: <s{i}@example.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBody of message {i}.\r\n",
        date.to_rfc2822()
    );
    (eml.into_bytes(), date.timestamp())
}

/// A small message whose subject names it.
fn eml(subject: &str) -> Vec<u8> {
    format!(
        "From: Amy <amy@example.test>\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 01 Jun 2026 10:00:00 +0000\r\nMessage-ID: <{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from {subject}.\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// UIDs and flags (Debug form) of a folder, by UID, over a separate connection.
async fn messages(stack: &MailStack, user: &TestUser, folder: &str) -> Vec<(u32, Vec<String>)> {
    let mut s = stack.imap(user).await;
    let mbox = s.examine(imap_utf7(folder)).await.expect("EXAMINE");
    if mbox.exists == 0 {
        return Vec::new();
    }
    let fetched: Vec<_> = s
        .fetch("1:*", "(UID FLAGS)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let _ = s.logout().await;
    let mut out: Vec<(u32, Vec<String>)> = fetched
        .iter()
        .map(|f| {
            (
                f.uid.unwrap_or(0),
                f.flags().map(|fl| format!("{fl:?}")).collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every folder name on the server (UTF-8), sorted.
async fn server_folders(stack: &MailStack, user: &TestUser) -> Vec<String> {
    let mut s = stack.imap(user).await;
    let mut names: Vec<String> = list_folders(&mut s)
        .await
        .into_iter()
        .map(|f| f.0)
        .collect();
    let _ = s.logout().await;
    names.sort();
    names
}

/// The list page's UIDVALIDITY field.
fn validity(page: &Page) -> String {
    page.attrs("form.bulk input[name=uidvalidity]", "value")
        .into_iter()
        .next()
        .expect("uidvalidity field in the list's form")
}

/// `/folders/{name}`.
fn folder_path(name: &str) -> String {
    format!("/folders/{}", mailroom::web::encode_segment(name))
}

/// The sidebar's unread count of INBOX, 0 when it shows none.
fn inbox_count(page: &Page) -> u32 {
    page.texts(".sidebar a[href=\"/mail/INBOX\"] .count")
        .first()
        .map(|n| n.parse().expect("a number"))
        .unwrap_or(0)
}

/// 120 messages whose dates are not in arrival order: "newest first" pages through them
/// by date (three pages of 50, 50, 20), and oldest first is the exact reverse.
async fn newest_first_is_by_date(stack: &MailStack) {
    const N: usize = 120;
    let app = app_on(stack, "xs-order").await;
    let (emls, dates): (Vec<Vec<u8>>, Vec<i64>) = (0..N).map(|i| scrambled(i, N)).unzip();
    stack.append_many(&app.user, "INBOX", &emls).await;
    let mut newest: Vec<usize> = (0..N).collect();
    newest.sort_by_key(|&i| std::cmp::Reverse(dates[i]));
    let subject = |i: &usize| format!("Message {i:03}");
    app.login().await;
    let mut seen = Vec::new();
    for (page, len) in [(1, 50), (2, 50), (3, 20)] {
        let p = app.get(&format!("/mail/INBOX?page={page}")).await;
        assert_eq!(p.status, StatusCode::OK, "{:?} page {page}", stack.server);
        let subjects = p.texts("td.subject a");
        assert_eq!(subjects.len(), len, "{:?} page {page}", stack.server);
        seen.extend(subjects);
    }
    let expected: Vec<String> = newest.iter().map(subject).collect();
    assert_eq!(seen, expected, "{:?}: newest first, by date", stack.server);
    let oldest = app
        .get("/mail/INBOX?sort=date_asc")
        .await
        .texts("td.subject a");
    let expected: Vec<String> = newest.iter().rev().take(50).map(subject).collect();
    assert_eq!(oldest, expected, "{:?}: oldest first", stack.server);
}

/// Open a message (marked read), flag one, move one to a folder, delete one (to Trash).
async fn open_flag_move_delete(stack: &MailStack) {
    let app = app_on(stack, "xs-act").await;
    let user = &app.user;
    let projects = stack.folder("Projects");
    let trash = stack.folder("Trash");
    stack.create_mailbox(user, &projects).await;
    for s in ["First", "Second", "Third"] {
        stack.append(user, "INBOX", &eml(s), &[]).await;
    }
    app.login().await;
    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.texts("tr.unread").len(), 3, "{:?}", stack.server);
    let v = validity(&list);
    let uids: Vec<u32> = messages(stack, user, "INBOX")
        .await
        .iter()
        .map(|m| m.0)
        .collect();
    let [first, second, third] = uids[..] else {
        panic!("three messages: {uids:?}")
    };

    let page = app.get(&format!("/mail/INBOX/{first}")).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", stack.server);
    assert!(
        page.texts("h1").iter().any(|t| t.contains("First")),
        "{}",
        page.body
    );
    let body = app.get_frame(&format!("/mail/INBOX/{first}/body")).await;
    assert!(
        body.body.contains("Hello from First."),
        "{:?}",
        stack.server
    );
    assert_eq!(
        inbox_count(&page),
        2,
        "{:?}: the open message is read",
        stack.server
    );

    let act = async |fields: &[(&str, &str)]| {
        let res = app.post_form("/mail/INBOX/actions", fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    };
    let (s2, s3) = (second.to_string(), third.to_string());
    act(&[("action", "flag"), ("uid", &s2), ("uidvalidity", &v)]).await;
    act(&[
        ("action", "move"),
        ("target", &projects),
        ("uid", &s2),
        ("uidvalidity", &v),
    ])
    .await;
    act(&[("action", "delete"), ("uid", &s3), ("uidvalidity", &v)]).await;

    let inbox = messages(stack, user, "INBOX").await;
    assert_eq!(inbox.len(), 1, "{:?}: {inbox:?}", stack.server);
    assert_eq!(inbox[0].0, first);
    assert!(inbox[0].1.contains(&"Seen".to_owned()), "{inbox:?}");
    let moved = messages(stack, user, &projects).await;
    assert_eq!(moved.len(), 1, "{:?}", stack.server);
    assert!(moved[0].1.contains(&"Flagged".to_owned()), "{moved:?}");
    assert_eq!(
        messages(stack, user, &trash).await.len(),
        1,
        "{:?}",
        stack.server
    );
    let page = app
        .get(&format!(
            "/mail/{}",
            mailroom::web::encode_segment(&projects)
        ))
        .await;
    assert_eq!(page.texts("tr.flagged td.subject a"), ["Second"]);
}

/// A folder at the top level, one inside it, and that one moved to the top level: on
/// Cyrus all three land under `INBOX.`, where a bare name is refused.
async fn folders_at_the_top_and_below(stack: &MailStack) {
    let app = app_on(stack, "xs-fold").await;
    let user = &app.user;
    app.login().await;
    let res = app
        .post_form("/folders", &[("name", "Projects"), ("parent", "")])
        .await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "{:?}: {}",
        stack.server,
        res.body
    );
    let projects = stack.folder("Projects");
    assert!(server_folders(stack, user).await.contains(&projects));
    let res = app
        .post_form("/folders", &[("name", "2026"), ("parent", &projects)])
        .await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "{:?}: {}",
        stack.server,
        res.body
    );
    let nested = stack.folder("Projects/2026");
    assert!(server_folders(stack, user).await.contains(&nested));
    // The sidebar shows both, the child inside its parent.
    let page = app.get("/mail/INBOX").await;
    let hrefs = page.attrs(".sidebar a", "href");
    for f in [&projects, &nested] {
        let href = format!("/mail/{}", mailroom::web::encode_segment(f));
        assert!(
            hrefs.contains(&href),
            "{:?}: {href} in {hrefs:?}",
            stack.server
        );
    }

    // Moved to the top level.
    let res = app
        .post_form(
            &format!("{}/rename", folder_path(&nested)),
            &[("name", "2026"), ("parent", "")],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "{:?}: {}",
        stack.server,
        res.body
    );
    let top = stack.folder("2026");
    assert_eq!(
        res.location(),
        format!("{}?notice=renamed", folder_path(&top))
    );
    let names = server_folders(stack, user).await;
    assert!(
        names.contains(&top) && !names.contains(&nested),
        "{names:?}"
    );

    // A wildcard is a name, not a pattern, on this server too.
    let res = app
        .post_form(
            "/folders",
            &[("name", "x"), ("parent", &format!("{projects}*"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let names = server_folders(stack, user).await;
    assert!(names.iter().all(|n| !n.contains('*')), "{names:?}");
}

/// New mail (APPENDed by another client) shows unread in the list and in the sidebar's
/// count on the same page.
async fn new_mail_counts_agree(stack: &MailStack) {
    let app = app_on(stack, "xs-fresh").await;
    stack.append(&app.user, "INBOX", &eml("Old"), &[]).await;
    app.login().await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!((page.texts("tr.unread").len(), inbox_count(&page)), (1, 1));
    for n in 2..=4 {
        stack
            .append(&app.user, "INBOX", &eml(&format!("New {n}")), &[])
            .await;
        // Another client's message: shown once the server has reported it to the user's
        // watcher (Dovecot; Cyrus has no NOTIFY, so there every page asks).
        let page = app
            .get_until("/mail/INBOX", "the new message", |p| {
                p.texts("tr.unread").len() as u32 == n
            })
            .await;
        let rows = page.texts("tr.unread").len() as u32;
        assert_eq!((rows, inbox_count(&page)), (n, n), "{:?}", stack.server);
    }
}

/// A user whose Drafts folder is gone (Cyrus only: the Dovecot stack makes it again at
/// every login): saving a draft makes it again, where the server
/// keeps top-level folders (`INBOX.Drafts` on Cyrus), and the draft lands there.
async fn a_missing_drafts_folder_is_made_in_the_personal_namespace(stack: &MailStack) {
    let app = app_on(stack, "xs-draft").await;
    let drafts = stack.folder("Drafts");
    let mut s = stack.imap(&app.user).await;
    // Cyrus keeps a special-use folder: take the use away first.
    s.run_command_and_check_ok(&format!(
        "SETMETADATA \"{}\" (/private/specialuse NIL)",
        imap_utf7(&drafts)
    ))
    .await
    .expect("SETMETADATA");
    s.delete(imap_utf7(&drafts)).await.expect("DELETE Drafts");
    let _ = s.logout().await;
    assert!(!server_folders(stack, &app.user).await.contains(&drafts));

    app.login().await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", app.csrf().await)
        .text("to", "bob@example.test")
        .text("subject", "Plan")
        .text("body", "First version.")
        .text("action", "draft");
    let saved = app.post_multipart("/compose", form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        server_folders(stack, &app.user).await.contains(&drafts),
        "{:?}",
        server_folders(stack, &app.user).await
    );
    let kept = messages(stack, &app.user, &drafts).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].1.iter().any(|f| f == "Draft"), "{kept:?}");
}

#[tokio::test]
async fn cyrus_a_missing_drafts_folder_is_made() {
    a_missing_drafts_folder_is_made_in_the_personal_namespace(MailStack::cyrus()).await;
}

#[tokio::test]
async fn dovecot_newest_first_is_by_date() {
    newest_first_is_by_date(MailStack::shared()).await;
}

#[tokio::test]
async fn cyrus_newest_first_is_by_date() {
    newest_first_is_by_date(MailStack::cyrus()).await;
}

#[tokio::test]
async fn dovecot_open_flag_move_delete() {
    open_flag_move_delete(MailStack::shared()).await;
}

#[tokio::test]
async fn cyrus_open_flag_move_delete() {
    open_flag_move_delete(MailStack::cyrus()).await;
}

#[tokio::test]
async fn dovecot_folders_at_the_top_and_below() {
    folders_at_the_top_and_below(MailStack::shared()).await;
}

#[tokio::test]
async fn cyrus_folders_at_the_top_and_below() {
    folders_at_the_top_and_below(MailStack::cyrus()).await;
}

#[tokio::test]
async fn dovecot_new_mail_counts_agree() {
    new_mail_counts_agree(MailStack::shared()).await;
}

#[tokio::test]
async fn cyrus_new_mail_counts_agree() {
    new_mail_counts_agree(MailStack::cyrus()).await;
}
