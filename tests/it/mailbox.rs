//! Folder pages: the sidebar, paging and sorting, against a real Dovecot.

use reqwest::StatusCode;

use crate::common::app::TestApp;

/// A small message with a given subject, sender, date and padding (to vary its size).
pub fn simple_message(i: usize, from: &str, pad: usize) -> Vec<u8> {
    let day = 1 + (i / 24) % 28;
    let hour = i % 24;
    format!(
        "From: {from} <sender{i}@example.test>\r\nTo: someone@example.test\r\nSubject: Message {i:03}\r\n\
         Date: Mon, {day:02} Jun 2025 {hour:02}:00:00 +0000\r\nMessage-ID: <m{i}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody {i}\r\n{}\r\n",
        "x".repeat(pad)
    )
    .into_bytes()
}

#[tokio::test]
async fn sidebar_lists_special_folders_first_and_decodes_chinese_names() {
    let app = TestApp::spawn("mb-folders").await;
    let stack = crate::common::mailstack::MailStack::shared();
    stack.create_mailbox(&app.user, "报告 2026").await;
    stack.create_mailbox(&app.user, "Zeta").await;
    stack
        .append(&app.user, "报告 2026", &simple_message(1, "Amy", 0), &[])
        .await;
    stack
        .append(
            &app.user,
            "报告 2026",
            &simple_message(2, "Amy", 0),
            &["\\Seen"],
        )
        .await;
    app.login().await;

    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.status, StatusCode::OK);
    let names: Vec<String> = page
        .texts(".sidebar li")
        .iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        names,
        vec![
            "Inbox",
            "Drafts",
            "Sent",
            "Archive",
            "Junk",
            "Trash",
            "Zeta",
            "报告 2026 1"
        ],
        "sidebar order, names and unread count"
    );
    let hrefs = page.attrs(".sidebar a", "href");
    assert!(
        hrefs.contains(&"/mail/%E6%8A%A5%E5%91%8A%202026".to_owned()),
        "{hrefs:?}"
    );

    let folder = app.get("/mail/%E6%8A%A5%E5%91%8A%202026").await;
    assert_eq!(folder.status, StatusCode::OK);
    assert_eq!(folder.texts("main h1"), vec!["报告 2026"]);
    assert_eq!(folder.texts("table.messages tbody tr").len(), 2);
    assert_eq!(folder.texts("tr.unread td.subject a"), vec!["Message 001"]);
}

#[tokio::test]
async fn a_200_message_folder_pages_and_sorts() {
    let app = TestApp::spawn("mb-paging").await;
    let stack = crate::common::mailstack::MailStack::shared();
    let senders = ["Mia", "Bob", "Zoe", "Amy", "Kim"];
    let pad = |i: usize| ((i * 37) % 200) * 100;
    let emls: Vec<Vec<u8>> = (1..=200)
        .map(|i| simple_message(i, senders[i % senders.len()], pad(i)))
        .collect();
    stack.create_mailbox(&app.user, "Bulk").await;
    stack.append_many(&app.user, "Bulk", &emls).await;
    app.login().await;

    // Default: newest first, 50 a page.
    let p1 = app.get("/mail/Bulk").await;
    let subjects = p1.texts("td.subject a");
    assert_eq!(subjects.len(), 50);
    assert_eq!(subjects[0], "Message 200");
    assert_eq!(subjects[49], "Message 151");
    assert_eq!(p1.texts(".pager span"), vec!["Page 1 of 4"]);
    assert_eq!(
        p1.attrs(".pager a[rel=next]", "href"),
        vec!["/mail/Bulk?page=2"]
    );
    assert!(p1.attrs(".pager a[rel=prev]", "href").is_empty());

    let p4 = app.get("/mail/Bulk?page=4").await;
    let subjects = p4.texts("td.subject a");
    assert_eq!(
        (subjects.len(), subjects[0].as_str(), subjects[49].as_str()),
        (50, "Message 050", "Message 001")
    );
    assert!(p4.attrs(".pager a[rel=next]", "href").is_empty());

    // Past the end clamps to the last page; junk is page 1.
    assert_eq!(
        app.get("/mail/Bulk?page=99").await.texts("td.subject a")[0],
        "Message 050"
    );
    assert_eq!(
        app.get("/mail/Bulk?page=abc").await.texts("td.subject a")[0],
        "Message 200"
    );

    // Oldest first.
    let asc = app.get("/mail/Bulk?sort=date_asc").await;
    assert_eq!(asc.texts("td.subject a")[0], "Message 001");
    assert_eq!(
        asc.attrs(".pager a[rel=next]", "href"),
        vec!["/mail/Bulk?page=2&sort=date_asc"]
    );

    // By sender: A→Z, so all of Amy's first.
    let from = app.get("/mail/Bulk?sort=from").await;
    let froms = from.texts("td.from");
    assert_eq!(froms.len(), 50);
    // 200 messages from 5 senders: 40 each.
    assert!(froms[..40].iter().all(|f| f == "Amy"), "{froms:?}");
    assert!(froms[40..].iter().all(|f| f == "Bob"), "{froms:?}");
    let from_p2 = app.get("/mail/Bulk?sort=from&page=2").await;
    let froms = from_p2.texts("td.from");
    assert!(
        froms[..30].iter().all(|f| f == "Bob") && froms[30..].iter().all(|f| f == "Kim"),
        "{froms:?}"
    );

    // By subject A→Z.
    let subj = app.get("/mail/Bulk?sort=subject").await;
    assert_eq!(subj.texts("td.subject a")[0], "Message 001");
    assert_eq!(subj.texts("td.subject a")[1], "Message 002");

    // Largest first.
    let largest = (1..=200).max_by_key(|&i| pad(i)).unwrap();
    let size = app.get("/mail/Bulk?sort=size").await;
    assert_eq!(
        size.texts("td.subject a")[0],
        format!("Message {largest:03}")
    );
    assert_eq!(
        size.texts("select[name=sort] option[selected]"),
        vec!["Largest first"]
    );
}

#[tokio::test]
async fn list_shows_sender_subject_date_size_and_marks() {
    let app = TestApp::spawn("mb-marks").await;
    let stack = crate::common::mailstack::MailStack::shared();
    let eml = b"From: =?UTF-8?B?5byg5LiJ?= <zhang@example.test>\r\nTo: x@example.test\r\n\
Subject: =?UTF-8?Q?Caf=C3=A9_=E2=98=95?=\r\nDate: Tue, 03 Jan 2023 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n";
    stack.append(&app.user, "INBOX", eml, &["\\Flagged"]).await;
    app.login().await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.texts("td.from"), vec!["张三"]);
    assert_eq!(page.texts("td.subject a"), vec!["Café ☕"]);
    assert_eq!(page.texts("td.date"), vec!["2023-01-03"]);
    assert!(page.texts("td.size")[0].ends_with(" B"));
    assert_eq!(
        page.attrs("tr.unread.flagged .mark.attachment", "title"),
        vec!["Has attachments"]
    );
}

#[tokio::test]
async fn a_missing_folder_is_a_404_page() {
    let app = TestApp::spawn("mb-404").await;
    app.login().await;
    let page = app.get("/mail/No%20Such%20Folder").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.texts("main h1"), vec!["Not found"]);
}

/// The UIDs (as a UID set) of the INBOX messages whose subject contains `subject`.
async fn uids_with_subject(
    stack: &crate::common::mailstack::MailStack,
    user: &crate::common::mailstack::TestUser,
    subject: &str,
) -> String {
    let mut s = stack.imap(user).await;
    s.examine("INBOX").await.expect("EXAMINE");
    let uids = s
        .uid_search(format!("SUBJECT \"{subject}\""))
        .await
        .expect("SEARCH");
    let _ = s.logout().await;
    assert!(!uids.is_empty(), "no message with subject {subject}");
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A page's messages are remembered while the folder does not change (`imap::order`):
/// whatever another client does must show on the next page all the same.
#[tokio::test]
async fn the_list_follows_what_other_clients_do() {
    let app = TestApp::spawn("mb-others").await;
    let stack = crate::common::mailstack::MailStack::shared();
    let emls: Vec<Vec<u8>> = (0..60).map(|i| simple_message(i, "Amy", 0)).collect();
    stack.append_many(&app.user, "INBOX", &emls).await;
    app.login().await;
    let subjects = |p: crate::common::app::Page| p.texts("td.subject a");

    let first = subjects(app.get("/mail/INBOX").await);
    assert_eq!(first.len(), 50);
    assert_eq!(
        (first[0].as_str(), first[49].as_str()),
        ("Message 059", "Message 010")
    );
    assert_eq!(subjects(app.get("/mail/INBOX").await), first, "reloaded");

    // Newer mail arrives: on top, the rest moves down.
    let newest = simple_message(59, "Zed", 0);
    let newest = String::from_utf8(newest)
        .unwrap()
        .replace("Subject: Message 059", "Subject: Newest")
        .replace("Jun 2025", "Jun 2026");
    stack
        .append(&app.user, "INBOX", newest.as_bytes(), &[])
        .await;
    // Another client's changes show once the server has reported them to the user's
    // watcher (issue 10: the caches are validated by the watcher), within milliseconds.
    let page = subjects(
        app.get_until("/mail/INBOX", "the new message", |p| {
            p.texts("td.subject a").first().map(String::as_str) == Some("Newest")
        })
        .await,
    );
    assert_eq!(page[0], "Newest");
    assert_eq!(page[1..], first[..49]);

    // Another client deletes it and one more: both gone, the next message moves up.
    let gone = [
        uids_with_subject(stack, &app.user, "Newest").await,
        uids_with_subject(stack, &app.user, "Message 058").await,
    ];
    stack.expunge(&app.user, "INBOX", &gone.join(",")).await;
    let page = app
        .get_until("/mail/INBOX", "the expunge", |p| {
            !p.texts("td.subject a").iter().any(|s| s == "Newest")
        })
        .await;
    assert_eq!(page.texts(".total"), vec!["59 messages"]);
    let page = subjects(page);
    assert_eq!(page.len(), 50);
    assert_eq!(
        (page[0].as_str(), page[1].as_str()),
        ("Message 059", "Message 057")
    );
    assert_eq!(page[49], "Message 009");

    // Another client's flag shows as soon as the server reports it.
    let top = uids_with_subject(stack, &app.user, "Message 059").await;
    stack
        .store(&app.user, "INBOX", &top, "+FLAGS (\\Flagged)")
        .await;
    let page = app
        .get_until("/mail/INBOX", "the flag", |p| {
            !p.texts("tr.flagged").is_empty()
        })
        .await;
    assert_eq!(page.texts("tr.flagged td.subject a"), vec!["Message 059"]);
}

/// The sidebar's unread count of INBOX, 0 when it shows none.
fn inbox_count(page: &crate::common::app::Page) -> u32 {
    page.texts(".sidebar a[href=\"/mail/INBOX\"] .count")
        .first()
        .map(|n| n.parse().expect("a number"))
        .unwrap_or(0)
}

/// New mail, delivered by Postfix over LMTP while the user looks at the inbox: the very
/// next page shows it unread in the list AND counted in the sidebar, never one without
/// the other (the sidebar's folder list is fetched beside the message list, on another
/// connection). The message page agrees too.
#[tokio::test]
async fn new_mail_shows_in_the_list_and_the_sidebar_on_the_same_page() {
    let app = TestApp::spawn("mb-fresh").await;
    let stack = crate::common::mailstack::MailStack::shared();
    let emls: Vec<Vec<u8>> = (0..3).map(|i| simple_message(i, "Amy", 0)).collect();
    stack.append_many(&app.user, "INBOX", &emls).await;
    app.login().await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!((page.texts("tr.unread").len(), inbox_count(&page)), (3, 3));
    for n in 4..=8u32 {
        let eml = String::from_utf8(simple_message(n as usize, "Zed", 0))
            .unwrap()
            .replace("Jun 2025", "Jun 2026");
        stack
            .deliver("zed@example.org", &[&app.user.address], eml.as_bytes())
            .await;
        stack
            .wait_for_count(&app.user, "INBOX", n, crate::compose::DELIVERY)
            .await;
        // Once the server has reported the delivery to the user's watcher.
        let page = app
            .get_until("/mail/INBOX", "the delivery", |p| {
                p.texts("tr.unread").len() as u32 == n
            })
            .await;
        let unread_rows = page.texts("tr.unread").len() as u32;
        assert_eq!(unread_rows, n, "delivery {n}: the list");
        assert_eq!(
            inbox_count(&page),
            unread_rows,
            "delivery {n}: the sidebar disagrees with the list on the same page"
        );
    }
    // The message page: another delivery, then an older message is opened. Its sidebar
    // counts the new one, and not the one just read.
    let eml = String::from_utf8(simple_message(9, "Zed", 0)).unwrap();
    stack
        .deliver("zed@example.org", &[&app.user.address], eml.as_bytes())
        .await;
    stack
        .wait_for_count(&app.user, "INBOX", 9, crate::compose::DELIVERY)
        .await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(inbox_count(&page), 8, "9 unread, one of them just opened");
    let page = app.get("/mail/INBOX").await;
    assert_eq!((page.texts("tr.unread").len(), inbox_count(&page)), (8, 8));
}

/// Rows carry a line of the message's text (the server's RFC 8970 PREVIEW), as text:
/// markup in a message never becomes markup in the list.
#[tokio::test]
async fn rows_show_a_preview_line_as_plain_text() {
    let app = TestApp::spawn("mb-preview").await;
    let stack = crate::common::mailstack::MailStack::shared();
    let mail = |id: &str, subject: &str, kind: &str, body: &str| {
        format!(
            "From: Amy <amy@example.test>\r\nTo: x@example.test\r\nSubject: {subject}\r\n\
             Date: Tue, 03 Jan 2023 10:00:{id}0 +0000\r\nMessage-ID: <pv{id}@example.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: {kind}; charset=utf-8\r\n\r\n{body}\r\n"
        )
        .into_bytes()
    };
    stack
        .append(
            &app.user,
            "INBOX",
            &mail(
                "1",
                "Lunch",
                "text/plain",
                "Shall we meet at noon\r\non Friday?\r\n\r\n-- \r\nAmy",
            ),
            &[],
        )
        .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &mail(
                "2",
                "Markup",
                "text/plain",
                "Type <img src=x onerror=alert(1)> to test",
            ),
            &[],
        )
        .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &mail(
                "3",
                "Html",
                "text/html",
                "<p>Hello <b>Bob</b></p><img src=\"http://tracker.example/p.gif\">",
            ),
            &[],
        )
        .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &mail("4", "中文", "text/plain", "周五中午一起吃饭吧"),
            &[],
        )
        .await;
    app.login().await;
    let page = app.get("/mail/INBOX?sort=date_asc").await;
    assert_eq!(
        page.texts("td.subject a"),
        ["Lunch", "Markup", "Html", "中文"]
    );
    let previews = page.texts("td.subject .preview");
    assert_eq!(previews.len(), 4, "{previews:?}");
    assert!(
        previews[0].starts_with("Shall we meet at noon on Friday?"),
        "{previews:?}"
    );
    assert_eq!(previews[1], "Type <img src=x onerror=alert(1)> to test");
    assert!(previews[2].starts_with("Hello Bob"), "{previews:?}");
    assert_eq!(previews[3], "周五中午一起吃饭吧");
    // Shown as text: the markup is escaped, and the list loads nothing from the tracker.
    assert!(!page.body.contains("<img src=x"), "unescaped");
    assert!(
        page.body.contains("&lt;img src=x") || page.body.contains("&#60;img src=x"),
        "escaped"
    );
    assert!(!page.body.contains("tracker.example"));
}
