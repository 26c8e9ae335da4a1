//! Conversations (issue 4, item 4) against a real Dovecot: the folder grouped by thread
//! (server THREAD and the header fallback), and the message page's list of the other
//! messages of its conversation, including the user's reply in Sent.

use reqwest::StatusCode;

use crate::common::{
    app::TestApp,
    direct::{account, client},
    mailstack::{MailStack, TestUser},
};

/// A plain message with threading headers.
fn msg(
    id: &str,
    subject: &str,
    from: &str,
    date: &str,
    in_reply_to: Option<&str>,
    references: &[&str],
) -> Vec<u8> {
    let mut h = format!(
        "From: {from}\r\nTo: team@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}>\r\n"
    );
    if let Some(p) = in_reply_to {
        h.push_str(&format!("In-Reply-To: <{p}>\r\n"));
    }
    if !references.is_empty() {
        let refs: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        h.push_str(&format!("References: {}\r\n", refs.join(" ")));
    }
    h.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n");
    h.into_bytes()
}

/// Seeds a conversation: Bob's question (INBOX), the user's reply (Sent), Bob's answer
/// (INBOX, References to both), Carol's late reply with only In-Reply-To (INBOX), plus
/// two unrelated messages. Ids are unique per user so tests never see each other's.
async fn seed(stack: &MailStack, u: &TestUser) -> String {
    let t = format!("{}", rand::random::<u32>());
    let id = |s: &str| format!("{s}.{t}@example.test");
    let (root, reply, answer, late) = (id("root"), id("reply"), id("answer"), id("late"));
    let inbox = [
        msg(
            &id("old"),
            "Unrelated old",
            "Ann <ann@example.test>",
            "Sun, 01 Nov 2026 08:00:00 +0000",
            None,
            &[],
        ),
        msg(
            &root,
            "Plan for Q4",
            "Bob <bob@example.test>",
            "Mon, 02 Nov 2026 09:00:00 +0000",
            None,
            &[],
        ),
        msg(
            &answer,
            "Re: Plan for Q4",
            "Bob <bob@example.test>",
            "Tue, 03 Nov 2026 09:00:00 +0000",
            Some(&reply),
            &[&root, &reply],
        ),
        msg(
            &id("mid"),
            "Unrelated new",
            "Dan <dan@example.test>",
            "Tue, 03 Nov 2026 12:00:00 +0000",
            None,
            &[],
        ),
        msg(
            &late,
            "Re: Plan for Q4",
            "Carol <carol@example.test>",
            "Wed, 04 Nov 2026 09:00:00 +0000",
            Some(&answer),
            &[],
        ),
    ];
    for m in &inbox {
        stack.append(u, "INBOX", m, &[]).await;
    }
    let sent = msg(
        &reply,
        "Re: Plan for Q4",
        &format!("Me <{}>", u.address),
        "Mon, 02 Nov 2026 18:00:00 +0000",
        Some(&root),
        &[&root],
    );
    stack.append(u, "Sent", &sent, &["\\Seen"]).await;
    t
}

#[tokio::test]
async fn the_folder_groups_by_conversation() {
    let app = TestApp::spawn("threads-view").await;
    let stack = MailStack::shared();
    seed(stack, &app.user).await;
    app.login().await;

    // The list offers the view…
    let list = app.get("/mail/INBOX").await;
    assert_eq!(
        list.attrs("a.view-toggle", "href"),
        vec!["/mail/INBOX?view=threads"]
    );

    let page = app.get("/mail/INBOX?view=threads").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Three conversations, newest activity first; the Q4 thread holds its three INBOX
    // messages (Carol's reply is linked only by In-Reply-To) in reading order.
    assert_eq!(
        page.texts("section.thread h2 .thread-subject"),
        vec!["Plan for Q4", "Unrelated new", "Unrelated old"]
    );
    assert_eq!(
        page.texts("section.thread h2 .thread-size"),
        vec!["3 messages", "1 message", "1 message"]
    );
    let first: Vec<String> = page
        .texts("section.thread:first-of-type td.from")
        .into_iter()
        .collect();
    assert_eq!(first, vec!["Bob", "Bob", "Carol"]);
    assert_eq!(page.texts(".list-head .total"), vec!["3 conversations"]);
    // Every message is still selectable for the actions toolbar.
    assert_eq!(
        page.attrs("section.thread input[name=uid]", "value").len(),
        5
    );
    assert_eq!(page.attrs("a.view-toggle", "href"), vec!["/mail/INBOX"]);
}

#[tokio::test]
async fn the_message_page_lists_the_conversation_including_sent() {
    let app = TestApp::spawn("threads-msg").await;
    let stack = MailStack::shared();
    seed(stack, &app.user).await;
    app.login().await;

    let list = app.get("/mail/INBOX?view=threads").await;
    let hrefs = list.attrs("section.thread:first-of-type td.subject a", "href");
    assert_eq!(hrefs.len(), 3);

    // Bob's question: the user's reply (from Sent) and the two later INBOX messages.
    let page = app.get(&hrefs[0]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1.subject"), vec!["Plan for Q4"]);
    let from = page.texts(".conversation li .c-from");
    assert_eq!(from.len(), 3, "{}", page.body);
    assert!(from[0].starts_with("Me"), "{from:?}");
    assert_eq!(from[1..], ["Bob", "Carol"]);
    let folders = page.texts(".conversation li .c-folder");
    assert_eq!(folders, vec!["in Sent", "in Inbox", "in Inbox"]);
    let links = page.attrs(".conversation li a", "href");
    assert!(links[0].starts_with("/mail/Sent/"), "{links:?}");
    // The link opens the reply in Sent.
    let reply = app.get(&links[0]).await;
    assert!(reply.texts(".h-from")[0].starts_with("Me"));

    // Carol's late reply knows only its parent, yet the whole thread shows: the parent
    // carries the root and the Sent reply in its References.
    let page = app.get(&hrefs[2]).await;
    let from = page.texts(".conversation li .c-from");
    assert_eq!(from.len(), 3, "{from:?}");
    assert_eq!(from[0], "Bob");
    assert!(from[1].starts_with("Me"), "{from:?}");
    assert_eq!(from[2], "Bob");

    // A message outside any conversation has no list.
    let other = list.attrs("section.thread:nth-of-type(2) td.subject a", "href");
    let page = app.get(&other[0]).await;
    assert!(page.texts(".conversation").is_empty());
}

#[tokio::test]
async fn without_server_threads_the_page_is_grouped_by_headers() {
    let stack = MailStack::shared();
    let user = stack.add_user("threads-fallback");
    seed(stack, &user).await;
    let a = account(&user);
    for (ignored, server) in [
        (&[][..], true),
        (&["THREAD=REFS", "THREAD=REFERENCES"][..], false),
    ] {
        let imap = client(stack);
        imap.ignore_capabilities(ignored);
        imap.login(&a).await.unwrap();
        let page = imap.thread_page(&a, "INBOX", 1, 50).await.unwrap();
        assert_eq!(page.server_threads, server);
        let subjects: Vec<Vec<&str>> = page
            .threads
            .iter()
            .map(|t| t.messages.iter().map(|m| m.subject.as_str()).collect())
            .collect();
        assert_eq!(
            subjects,
            vec![
                vec!["Plan for Q4", "Re: Plan for Q4", "Re: Plan for Q4"],
                vec!["Unrelated new"],
                vec!["Unrelated old"],
            ],
            "server threads: {server}"
        );
    }
}

#[tokio::test]
async fn conversations_page_newest_first() {
    let stack = MailStack::shared();
    let user = stack.add_user("threads-paging");
    // 60 two-message conversations, the n-th one active on day n.
    let mut emls = Vec::new();
    for n in 0..60 {
        let root = format!("t{n}@example.test");
        let date = |h: u32| {
            format!(
                "Mon, 02 Nov 2026 {:02}:{:02}:00 +0000",
                n / 4,
                (n % 4) * 10 + h
            )
        };
        emls.push(msg(
            &root,
            &format!("Topic {n:02}"),
            "A <a@example.test>",
            &date(0),
            None,
            &[],
        ));
        emls.push(msg(
            &format!("r{n}@example.test"),
            &format!("Re: Topic {n:02}"),
            "B <b@example.test>",
            &date(5),
            Some(&root),
            &[&root],
        ));
    }
    stack.append_many(&user, "INBOX", &emls).await;
    let a = account(&user);
    let imap = client(stack);
    imap.login(&a).await.unwrap();
    let p1 = imap.thread_page(&a, "INBOX", 1, 50).await.unwrap();
    assert_eq!((p1.total, p1.pages, p1.threads.len()), (60, 2, 50));
    assert_eq!(p1.threads[0].messages[0].subject, "Topic 59");
    assert!(
        p1.threads
            .iter()
            .all(|t| t.size == 2 && t.messages.len() == 2)
    );
    let p2 = imap.thread_page(&a, "INBOX", 2, 50).await.unwrap();
    assert_eq!(p2.threads.len(), 10);
    assert_eq!(p2.threads[9].messages[0].subject, "Topic 00");
}
