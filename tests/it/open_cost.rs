//! What opening a message costs the mail server (issue 10 item 1), counted on the wire by
//! a relay in front of Dovecot: no scan of the folder for the conversation, one opening of
//! the folder per request at most, the body document rendered once for the page and its
//! iframe; and the caches this needs never serve deleted mail or miss new replies.

use reqwest::StatusCode;

use crate::common::{
    mailstack::{MailStack, TestUser},
    relay::{CommandLog, count, starts_with},
};

/// A plain message; `refs` become In-Reply-To (the last) and References (all).
fn msg(id: &str, subject: &str, refs: &[&str]) -> Vec<u8> {
    let mut h = format!(
        "From: Bob <bob@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{id}>\r\n"
    );
    if let Some(last) = refs.last() {
        let all: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        h.push_str(&format!(
            "In-Reply-To: <{last}>\r\nReferences: {}\r\n",
            all.join(" ")
        ));
    }
    h.push_str(&format!(
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Text of {subject}</p>\r\n"
    ));
    h.into_bytes()
}

/// A unique id for this run.
fn id(user: &TestUser, s: &str) -> String {
    format!("{s}.{}@example.test", user.address.replace('@', "."))
}

/// Opening a mailbox: SELECT or EXAMINE.
fn openings(lines: &[String]) -> usize {
    count(lines, "SELECT") + count(lines, "EXAMINE")
}

/// A SEARCH over the folder's headers (the old conversation lookup).
fn header_scans(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| starts_with(l, "UID SEARCH") && l.to_ascii_uppercase().contains("HEADER"))
        .count()
}

/// A FETCH of a whole message.
fn body_fetches(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains("FETCH") && l.to_ascii_uppercase().contains("BODY.PEEK[]"))
        .count()
}

#[tokio::test]
async fn opening_a_message_scans_nothing_and_opens_its_folder_once() {
    let stack = MailStack::shared();
    let user = stack.add_user("open-cost");
    let plain: Vec<Vec<u8>> = (0..30)
        .map(|i| msg(&id(&user, &format!("m{i}")), &format!("Plain {i}"), &[]))
        .collect();
    stack.append_many(&user, "INBOX", &plain).await;
    stack
        .append(
            &user,
            "Sent",
            &msg(&id(&user, "s1"), "Sent one", &[]),
            &["\\Seen"],
        )
        .await;
    let log = CommandLog::start(stack).await;
    let app = log.app(user).await;
    app.login().await;
    // The first open may learn about the folders; the ones after it are what we count.
    assert_eq!(app.get("/mail/INBOX/1").await.status, StatusCode::OK);
    assert_eq!(
        app.get_frame("/mail/INBOX/1/body").await.status,
        StatusCode::OK
    );

    // Counted without the watcher's connection: its IDLE turns (the server reports each
    // open's `\Seen`) and its start may fall between any two requests.
    for uid in [2, 3, 17] {
        let mark = log.mark();
        let page = app.get(&format!("/mail/INBOX/{uid}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let page_lines = log.page_lines_since(mark);
        let mark = log.mark();
        let body = app.get_frame(&format!("/mail/INBOX/{uid}/body")).await;
        assert_eq!(body.status, StatusCode::OK);
        assert!(
            body.body.contains(&format!("Text of Plain {}", uid - 1)),
            "{}",
            body.body
        );
        let body_lines = log.page_lines_since(mark);
        println!("open {uid}: page {page_lines:#?}\nbody {body_lines:#?}");

        assert_eq!(header_scans(&page_lines), 0, "{page_lines:#?}");
        // The message page shows no preview lines: none are fetched for its panel.
        let previews = page_lines.iter().filter(|l| l.contains("PREVIEW")).count();
        assert_eq!(previews, 0, "{page_lines:#?}");
        assert!(openings(&page_lines) <= 1, "{page_lines:#?}");
        // The iframe's document comes from what the page rendered: the folder is not
        // opened again and the message is not fetched again; only that it still exists.
        assert_eq!(openings(&body_lines), 0, "{body_lines:#?}");
        assert_eq!(body_fetches(&body_lines), 0, "{body_lines:#?}");
        assert!(body_lines.len() <= 2, "{body_lines:#?}");
    }
}

#[tokio::test]
async fn the_conversation_follows_new_replies_in_the_folder_and_in_sent() {
    let stack = MailStack::shared();
    let user = stack.add_user("open-thread");
    let (root, mine, theirs) = (id(&user, "root"), id(&user, "mine"), id(&user, "theirs"));
    stack
        .append(&user, "INBOX", &msg(&root, "Plan", &[]), &[])
        .await;
    stack
        .append(&user, "INBOX", &msg(&id(&user, "x"), "Other", &[]), &[])
        .await;
    let log = CommandLog::start(stack).await;
    let app = log.app(user.clone()).await;
    app.login().await;
    let page = app.get("/mail/INBOX/1").await;
    assert!(page.texts(".conversation li").is_empty(), "{}", page.body);

    // Replies arrive after the folders were looked at: the panel must show them.
    stack
        .append(
            &user,
            "Sent",
            &msg(&mine, "Re: Plan", &[&root]),
            &["\\Seen"],
        )
        .await;
    stack
        .append(
            &user,
            "INBOX",
            &msg(&theirs, "Re: Plan", &[&root, &mine]),
            &[],
        )
        .await;
    // Once the server has reported them to the user's watcher (issue 10: the folders'
    // state is remembered while it vouches that nothing changed).
    let mark = log.mark();
    let page = app
        .get_until("/mail/INBOX/1", "the replies in the panel", |p| {
            p.texts(".conversation li").len() == 2
        })
        .await;
    let lines = log.since(mark);
    let mut folders = page.texts(".conversation li .c-folder");
    folders.sort();
    assert_eq!(folders, vec!["in Inbox", "in Sent"], "{}", page.body);
    assert_eq!(header_scans(&lines), 0, "{lines:#?}");

    // From the newest reply, the whole conversation (its ancestors in both folders).
    let page = app.get("/mail/INBOX/3").await;
    let mut folders = page.texts(".conversation li .c-folder");
    folders.sort();
    assert_eq!(folders, vec!["in Inbox", "in Sent"], "{}", page.body);

    // Read now, and opened again while the watcher vouches that nothing changed: the
    // page, its conversation included, asks the server nothing.
    let started = std::time::Instant::now();
    let quiet = loop {
        let mark = log.mark();
        let page = app.get("/mail/INBOX/3").await;
        let asked: Vec<String> = log
            .since(mark)
            .into_iter()
            .filter(|l| !["IDLE", "DONE", "NOTIFY"].iter().any(|v| starts_with(l, v)))
            .collect();
        if asked.is_empty() {
            break page;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the page still asks: {asked:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(quiet.texts(".conversation li").len(), 2, "{}", quiet.body);
    assert_eq!(quiet.attrs(".conversation li", "class"), ["seen", "seen"]);
    // Another client marks the first message unread: the panel says so once the server
    // has reported it.
    stack.store(&user, "INBOX", "1", "-FLAGS (\\Seen)").await;
    let page = app
        .get_until("/mail/INBOX/3", "another client's unread mark", |p| {
            p.attrs(".conversation li.unread", "class").len() == 1
        })
        .await;
    assert_eq!(page.texts(".conversation li").len(), 2, "{}", page.body);

    // A plain message opened again stays without a panel.
    assert!(
        app.get("/mail/INBOX/2")
            .await
            .texts(".conversation li")
            .is_empty()
    );
}

#[tokio::test]
async fn deleted_mail_is_never_served_from_a_cache() {
    let stack = MailStack::shared();
    let user = stack.add_user("open-gone");
    for i in 0..3 {
        stack
            .append(
                &user,
                "INBOX",
                &msg(&id(&user, &format!("g{i}")), &format!("Gone {i}"), &[]),
                &[],
            )
            .await;
    }
    let log = CommandLog::start(stack).await;
    let app = log.app(user.clone()).await;
    app.login().await;
    assert_eq!(app.get("/mail/INBOX/2").await.status, StatusCode::OK);
    let body = app.get_frame("/mail/INBOX/2/body").await;
    assert!(body.body.contains("Text of Gone 1"));

    // Read now: opened again, it may come from memory while the user's watcher vouches.
    assert!(app.get("/mail/INBOX/2").await.body.contains("Gone 1"));

    // Another client deletes it for good; the app's connection still has INBOX open.
    // The message page and the body document are known to exist while the user's
    // watcher vouches for them (issue 10), so they are gone once the server has
    // reported the expunge.
    stack.expunge(&user, "INBOX", "2").await;
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let page = loop {
        let page = app.get("/mail/INBOX/2").await;
        if page.status == StatusCode::NOT_FOUND || std::time::Instant::now() > end {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let body = app.get_frame("/mail/INBOX/2/body").await;
    assert_eq!(body.status, StatusCode::NOT_FOUND, "{}", body.body);
    assert!(!body.body.contains("Text of Gone 1"));
    let page = app.get("/mail/INBOX/2").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Text of Gone 1"));
    assert_eq!(
        app.get("/mail/INBOX/2/raw").await.status,
        StatusCode::NOT_FOUND
    );
    // Its neighbours still open.
    assert_eq!(app.get("/mail/INBOX/3").await.status, StatusCode::OK);
}
