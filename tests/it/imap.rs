//! `mailroom::imap` against a real Dovecot: login, folders, paging and sorting, raw
//! messages and flags, and the connection pool's resilience (server restart, idle
//! timeout, unreachable server).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use mailroom::{
    config::{Endpoint, Secret, Security},
    imap::{Account, Folder, Imap, ImapError, PageRequest, SURPLUS_GRACE, SortKey, SpecialUse},
};

use crate::common::mailstack::{MailStack, TestUser, imap_utf7};

fn endpoint(stack: &MailStack, security: Security) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: match security {
            Security::Tls => stack.imaps_port,
            _ => stack.imap_port,
        },
        security,
        ca_file: Some(stack.ca_file.clone()),
    }
}

fn client(stack: &MailStack) -> Imap {
    Imap::new(endpoint(stack, Security::Tls), Duration::from_secs(300)).expect("Imap::new")
}

fn account(user: &TestUser) -> Account {
    Account {
        login_id: format!("login-{}", rand::random::<u64>()),
        username: user.address.clone(),
        password: Secret::new(user.password.clone()),
        server: None,
    }
}

fn eml(from: &str, subject: &str, date: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Alice <alice@example.test>, bob@example.test\r\n\
         Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        // Fixed width, so sizes differ only by what a test puts in the body.
        rand::random::<u64>() % 10_000_000_000_000_000 + 10_000_000_000_000_000
    )
    .into_bytes()
}

/// Flags of one message, read over a separate plain connection.
async fn server_flags(stack: &MailStack, user: &TestUser, mailbox: &str, uid: u32) -> Vec<String> {
    let mut session = stack.imap(user).await;
    session.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    let fetches: Vec<_> = session
        .uid_fetch(uid.to_string(), "FLAGS")
        .await
        .expect("UID FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let _ = session.logout().await;
    fetches
        .iter()
        .flat_map(|f| f.flags().map(|fl| format!("{fl:?}")))
        .collect()
}

#[tokio::test]
async fn login_succeeds_and_bad_credentials_are_auth_failed() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-login");
    let imap = client(stack);
    let good = account(&user);
    imap.login(&good).await.expect("login");
    assert_eq!(
        imap.pool_stats(&good.login_id).idle,
        1,
        "the login connection is pooled"
    );
    let caps = imap.capabilities(&good).await.expect("capabilities");
    assert!(caps.iter().any(|c| c == "SORT"), "{caps:?}");
    // That used the pooled connection: still exactly one opened.
    assert_eq!(imap.pool_stats(&good.login_id).opened_total, 1);

    let wrong_password = Account {
        password: Secret::new("not-the-password"),
        ..account(&user)
    };
    let unknown_user = Account {
        username: "nobody-here@example.test".into(),
        ..account(&user)
    };
    for (what, a) in [
        ("wrong password", wrong_password),
        ("unknown user", unknown_user),
    ] {
        let err = imap.login(&a).await.expect_err(what);
        assert_eq!(err, ImapError::AuthFailed, "{what}");
        assert!(!err.to_string().contains(a.password.expose()));
        assert_eq!(imap.pool_stats(&a.login_id).idle, 0);
    }

    imap.logout(&good.login_id).await;
    assert_eq!(imap.pool_stats(&good.login_id).idle, 0);
}

#[tokio::test]
async fn starttls_and_plain_work_too() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-starttls");
    for security in [Security::Starttls, Security::None] {
        let imap = Imap::new(endpoint(stack, security), Duration::from_secs(60)).unwrap();
        let a = account(&user);
        imap.login(&a)
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {e}"));
        let folders = imap.list_folders(&a).await.unwrap();
        assert_eq!(folders[0].name, "INBOX");
        imap.logout(&a.login_id).await;
    }
}

#[tokio::test]
async fn tls_without_trusting_the_ca_is_unreachable() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-untrusted");
    let mut ep = endpoint(stack, Security::Tls);
    ep.ca_file = None;
    let imap = Imap::new(ep, Duration::from_secs(60)).unwrap();
    let err = imap.login(&account(&user)).await.unwrap_err();
    assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn unreachable_port_is_unreachable() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Tls,
        ca_file: None,
    };
    let imap = Imap::new(ep, Duration::from_secs(60)).unwrap();
    let a = Account {
        login_id: "x".into(),
        username: "someone".into(),
        password: Secret::new("pw"),
        server: None,
    };
    let err = imap.login(&a).await.unwrap_err();
    assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
    let err = imap.list_folders(&a).await.unwrap_err();
    assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
}

fn visible(folders: &[Folder]) -> Vec<&str> {
    // The shared stack's public namespace shows up once any test creates a public folder.
    folders
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !n.starts_with("Public"))
        .collect()
}

#[tokio::test]
async fn folders_are_ordered_decoded_and_counted() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-folders");
    for name in [
        "报告 2026",
        "Work",
        "Work/Projects",
        "Work/Alpha",
        "archive-old",
    ] {
        stack.create_mailbox(&user, name).await;
    }
    let date = "Tue, 24 Nov 2026 10:00:00 +0000";
    stack
        .append(
            &user,
            "INBOX",
            &eml("a@example.test", "one", date, "1"),
            &["\\Seen"],
        )
        .await;
    stack
        .append(
            &user,
            "INBOX",
            &eml("a@example.test", "two", date, "2"),
            &[],
        )
        .await;
    stack
        .append(
            &user,
            "INBOX",
            &eml("a@example.test", "three", date, "3"),
            &[],
        )
        .await;
    stack
        .append(
            &user,
            "报告 2026",
            &eml("a@example.test", "四", date, "4"),
            &[],
        )
        .await;

    let imap = client(stack);
    let a = account(&user);
    imap.login(&a).await.unwrap();
    let with_list_status = imap.list_folders(&a).await.unwrap();

    // The same without LIST-STATUS (LIST, LSUB, then STATUS per folder).
    let fallback = client(stack);
    fallback.ignore_capabilities(&["LIST-STATUS"]);
    let without_list_status = fallback.list_folders(&a).await.unwrap();

    for folders in [&with_list_status, &without_list_status] {
        assert_eq!(
            visible(folders),
            [
                "INBOX",
                "Drafts",
                "Sent",
                "Archive",
                "Junk",
                "Trash",
                "archive-old",
                "Work",
                "Work/Alpha",
                "Work/Projects",
                "报告 2026",
            ]
        );
        let by_name: HashMap<&str, &Folder> =
            folders.iter().map(|f| (f.name.as_str(), f)).collect();
        let inbox = by_name["INBOX"];
        assert_eq!(
            (inbox.total, inbox.unseen, inbox.special),
            (3, 2, Some(SpecialUse::Inbox))
        );
        let report = by_name["报告 2026"];
        assert_eq!((report.total, report.unseen), (1, 1));
        assert!(report.selectable && report.subscribed);
        assert_eq!(by_name["Sent"].special, Some(SpecialUse::Sent));
        assert_eq!(by_name["Trash"].special, Some(SpecialUse::Trash));
        assert_eq!(by_name["archive-old"].special, None);
        let projects = by_name["Work/Projects"];
        assert_eq!(
            (projects.display_name.as_str(), projects.depth),
            ("Projects", 1)
        );
        assert_eq!(projects.delimiter, Some('/'));
    }

    // Folder names round-trip: the decoded name opens the folder.
    let page = imap
        .fetch_page(&a, "报告 2026", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].subject, "四");
    assert_eq!(
        imap.fetch_page(&a, "No such folder", &PageRequest::default())
            .await,
        Err(ImapError::NoSuchMailbox)
    );
    assert_eq!(
        imap.fetch_page(&a, "INBOX\r\nA1 LOGOUT", &PageRequest::default())
            .await,
        Err(ImapError::InvalidName)
    );
}

/// 200 messages whose date, sender, subject and size orders are four different
/// permutations of the arrival order, so every sort is told apart.
struct Seeded {
    /// Per message index (= arrival order): (date, sender name, subject, size rank).
    dates: Vec<i64>,
    senders: Vec<String>,
    subjects: Vec<String>,
    sizes: Vec<usize>,
}

const SEEDED: usize = 200;

async fn seed_sortable(stack: &MailStack, user: &TestUser, mailbox: &str) -> Seeded {
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00").unwrap();
    let mut emls = Vec::new();
    let mut s = Seeded {
        dates: Vec::new(),
        senders: Vec::new(),
        subjects: Vec::new(),
        sizes: Vec::new(),
    };
    for i in 0..SEEDED {
        let date = base + chrono::Duration::hours(((i * 37) % SEEDED) as i64);
        // Some dates in another zone: DATE sorts by the UTC instant.
        let date = if i % 3 == 0 {
            date.with_timezone(&chrono::FixedOffset::east_opt(-5 * 3600).unwrap())
        } else {
            date
        };
        let sender = format!("Sender {:03}", (i * 53) % SEEDED);
        let subject = format!("Topic {:03}", (i * 71) % SEEDED);
        let size = (i * 89) % SEEDED;
        // Steps of 100 bytes dwarf the few bytes by which the headers differ.
        let body = "x".repeat(size * 100);
        emls.push(eml(
            &format!("{sender} <s{i}@example.test>"),
            &subject,
            &date.to_rfc2822(),
            &body,
        ));
        s.dates.push(date.timestamp());
        s.senders.push(sender);
        s.subjects.push(subject);
        s.sizes.push(size);
    }
    stack.create_mailbox(user, mailbox).await;
    stack.append_many(user, mailbox, &emls).await;
    s
}

#[tokio::test]
async fn paging_and_every_sort_over_200_messages() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-sort");
    let seeded = seed_sortable(stack, &user, "Sortable").await;
    // UIDs are 1..=200 in arrival order (a fresh folder).
    let uid_of = |i: usize| i as u32 + 1;

    let esort = client(stack);
    let full_sort = client(stack);
    full_sort.ignore_capabilities(&["ESORT"]);
    let no_sort = client(stack);
    no_sort.ignore_capabilities(&["SORT"]);
    // What Cyrus 3.6 announces: ESORT, but no CONTEXT=SORT (nor CONTEXT=SEARCH), so
    // PARTIAL is not sent and the whole sorted list is paged here.
    let esort_only = client(stack);
    esort_only.ignore_capabilities(&["CONTEXT=SEARCH", "CONTEXT=SORT"]);
    let a = account(&user);

    let by = |key: &dyn Fn(usize) -> String, reverse: bool| -> Vec<u32> {
        let mut idx: Vec<usize> = (0..SEEDED).collect();
        idx.sort_by_key(|&i| key(i));
        if reverse {
            idx.reverse();
        }
        idx.into_iter().map(uid_of).collect()
    };
    let date_key = |i: usize| format!("{:020}", seeded.dates[i]);
    let arrival = |reverse| by(&|i| format!("{i:05}"), reverse);
    let cases: Vec<(SortKey, bool, Vec<u32>)> = vec![
        (SortKey::Date, true, by(&date_key, true)),
        (SortKey::Date, false, by(&date_key, false)),
        (SortKey::Arrival, true, arrival(true)),
        (SortKey::Arrival, false, arrival(false)),
        (
            SortKey::From,
            false,
            by(&|i| seeded.senders[i].clone(), false),
        ),
        (
            SortKey::From,
            true,
            by(&|i| seeded.senders[i].clone(), true),
        ),
        (
            SortKey::Subject,
            false,
            by(&|i| seeded.subjects[i].clone(), false),
        ),
        (
            SortKey::Subject,
            true,
            by(&|i| seeded.subjects[i].clone(), true),
        ),
        (
            SortKey::Size,
            true,
            by(&|i| format!("{:05}", seeded.sizes[i]), true),
        ),
        (
            SortKey::Size,
            false,
            by(&|i| format!("{:05}", seeded.sizes[i]), false),
        ),
    ];

    for (name, imap) in [
        ("ESORT", &esort),
        ("ESORT without CONTEXT=SORT", &esort_only),
        ("SORT", &full_sort),
        ("no SORT", &no_sort),
    ] {
        for (sort, reverse, expected) in &cases {
            let mut got = Vec::new();
            for page in 1..=5 {
                let req = PageRequest {
                    page,
                    per_page: 60,
                    sort: *sort,
                    reverse: *reverse,
                };
                let p = imap.fetch_page(&a, "Sortable", &req).await.unwrap();
                assert_eq!((p.total, p.pages), (200, 4), "{name} {sort:?}");
                // Page 5 does not exist: it is served as the last page.
                assert_eq!(p.page, page.min(4));
                let want = if page == 4 || page == 5 { 20 } else { 60 };
                assert_eq!(p.messages.len(), want, "{name} {sort:?} page {page}");
                if page <= 4 {
                    got.extend(p.messages.iter().map(|m| m.uid));
                }
            }
            let expected = match (name, sort, reverse) {
                // Without SORT everything is arrival order.
                ("no SORT", _, r) => arrival(*r),
                _ => expected.clone(),
            };
            assert_eq!(got, expected, "{name}: {sort:?} reverse={reverse}");
        }
    }

    // The summaries themselves.
    let p = esort
        .fetch_page(&a, "Sortable", &PageRequest::default())
        .await
        .unwrap();
    let newest = &p.messages[0];
    let i = (newest.uid - 1) as usize;
    assert_eq!(newest.subject, seeded.subjects[i]);
    assert_eq!(newest.date.map(|d| d.timestamp()), Some(seeded.dates[i]));
    let from = newest.from.as_ref().unwrap();
    assert_eq!(from.name.as_deref(), Some(seeded.senders[i].as_str()));
    assert_eq!(from.email, format!("s{i}@example.test"));
    assert_eq!(newest.to.len(), 2);
    assert_eq!(newest.to[0].name.as_deref(), Some("Alice"));
    assert_eq!(newest.to[1].email, "bob@example.test");
    assert!(!newest.seen && !newest.flagged && !newest.answered && !newest.has_attachment);
    assert!(newest.size > seeded.sizes[i] as u32 * 100);
}

#[tokio::test]
async fn summaries_decode_headers_flags_and_attachments() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-summary");
    let mixed = b"From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jorg@example.test>\r\n\
        To: =?UTF-8?B?5byg5LiJ?= <zhang@example.test>\r\n\
        Subject: =?UTF-8?B?5pyI5bqm5oql5ZGK?= with PDF\r\n\
        Message-ID: <att@example.test>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
        --b\r\nContent-Type: application/pdf; name=a.pdf\r\n\
        Content-Disposition: attachment; filename=a.pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
    stack
        .append(
            &user,
            "INBOX",
            mixed,
            &["\\Flagged", "\\Answered", "\\Seen"],
        )
        .await;
    let imap = client(stack);
    let a = account(&user);
    let page = imap
        .fetch_page(&a, "INBOX", &PageRequest::default())
        .await
        .unwrap();
    let m = &page.messages[0];
    assert_eq!(m.subject, "月度报告 with PDF");
    let from = m.from.as_ref().unwrap();
    assert_eq!(from.name.as_deref(), Some("Jörg Müller"));
    assert_eq!(m.to[0].name.as_deref(), Some("张三"));
    assert!(m.has_attachment && m.seen && m.flagged && m.answered);
    // No Date header: INTERNALDATE (the APPEND time) stands in.
    let age = chrono::Utc::now().timestamp() - m.date.unwrap().timestamp();
    assert!(age.abs() < 600, "{age}");
}

#[tokio::test]
async fn fetch_raw_peeks_and_open_message_marks_read() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-raw");
    let message = eml(
        "x@example.test",
        "raw",
        "Tue, 24 Nov 2026 10:00:00 +0000",
        "the body",
    );
    stack.create_mailbox(&user, "Reading").await;
    stack.append(&user, "Reading", &message, &[]).await;
    let imap = client(stack);
    let a = account(&user);

    let raw = imap.fetch_raw(&a, "Reading", 1).await.unwrap();
    assert_eq!(raw.as_slice(), message.as_slice());
    assert!(
        !server_flags(stack, &user, "Reading", 1)
            .await
            .contains(&"Seen".to_string()),
        "BODY.PEEK must not set \\Seen"
    );
    // Again: from the cache, same bytes.
    assert!(Arc::ptr_eq(
        &raw,
        &imap.fetch_raw(&a, "Reading", 1).await.unwrap()
    ));

    let opened = imap.open_message(&a, "Reading", 1).await.unwrap();
    assert!(Arc::ptr_eq(&raw, &opened.raw), "the cached bytes");
    assert!(!opened.place.seen, "the flags as they were before");
    assert!(
        server_flags(stack, &user, "Reading", 1)
            .await
            .contains(&"Seen".to_string())
    );
    let reading = opened.folders.iter().find(|f| f.name == "Reading");
    assert_eq!(
        reading.map(|f| (f.total, f.unseen)),
        Some((1, 0)),
        "folders listed after the message was marked read"
    );
    // Again: idempotent, and now it was seen before.
    assert!(
        imap.open_message(&a, "Reading", 1)
            .await
            .unwrap()
            .place
            .seen
    );

    assert_eq!(
        imap.fetch_raw(&a, "Reading", 99).await,
        Err(ImapError::NoSuchMessage)
    );
    assert_eq!(
        imap.open_message(&a, "Reading", 99).await.err(),
        Some(ImapError::NoSuchMessage)
    );
    assert_eq!(
        imap.open_message(&a, "Nope", 1).await.err(),
        Some(ImapError::NoSuchMailbox)
    );
    assert_eq!(
        imap.fetch_raw(&a, "Nope", 1).await,
        Err(ImapError::NoSuchMailbox)
    );

    // An expunged message is gone even though it is cached.
    stack.expunge(&user, "Reading", "1").await;
    assert_eq!(
        imap.fetch_raw(&a, "Reading", 1).await,
        Err(ImapError::NoSuchMessage)
    );
}

/// The message page's newer/older links: arrival-order neighbours, found with ESEARCH
/// MIN/MAX, or by sequence number when the server has no ESEARCH.
#[tokio::test]
async fn open_message_finds_neighbours_and_flags_with_and_without_esearch() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-open");
    stack.create_mailbox(&user, "Row").await;
    for i in 1..=5 {
        let flags: &[&str] = if i == 2 {
            &["\\Flagged", "$MDNSent"]
        } else {
            &[]
        };
        let m = eml(
            "x@example.test",
            &format!("m{i}"),
            "Tue, 24 Nov 2026 10:00:00 +0000",
            "b",
        );
        stack.append(&user, "Row", &m, flags).await;
    }
    // UID 3 goes: the neighbours of 2 and 4 skip it.
    stack.expunge(&user, "Row", "3").await;

    let a = account(&user);
    for ignored in [&[][..], &["ESEARCH"][..]] {
        let imap = client(stack);
        imap.ignore_capabilities(ignored);
        let around = async |uid| {
            let p = imap.open_message(&a, "Row", uid).await.unwrap().place;
            (p.older, p.newer)
        };
        assert_eq!(around(1).await, (None, Some(2)), "{ignored:?}");
        assert_eq!(around(2).await, (Some(1), Some(4)), "{ignored:?}");
        assert_eq!(around(4).await, (Some(2), Some(5)), "{ignored:?}");
        assert_eq!(around(5).await, (Some(4), None), "{ignored:?}");
        let two = imap.open_message(&a, "Row", 2).await.unwrap();
        assert!(two.place.flagged && two.mdn_sent, "{ignored:?}");
        assert!(two.place.uidvalidity > 0);
        let five = imap.open_message(&a, "Row", 5).await.unwrap();
        assert!(!five.place.flagged && !five.mdn_sent, "{ignored:?}");
    }
}

#[tokio::test]
async fn concurrent_requests_share_a_few_connections() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-concurrent");
    let big = eml(
        "x@example.test",
        "big",
        "Tue, 24 Nov 2026 10:00:00 +0000",
        &"y".repeat(200_000),
    );
    stack.append(&user, "INBOX", &big, &[]).await;
    let imap = client(stack);
    let a = account(&user);
    imap.login(&a).await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (imap, a) = (imap.clone(), a.clone());
            tokio::spawn(async move { imap.fetch_raw(&a, "INBOX", 1).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().len(), big.len());
    }
    let stats = imap.pool_stats(&a.login_id);
    assert!(
        stats.opened_total <= 4,
        "at most 4 connections per login: {stats:?}"
    );
    assert!(stats.idle <= 4, "{stats:?}");
    // Bursts a moment apart (pages of several browsers arriving unevenly) reuse them
    // all: none is closed and opened again. (The folders are listed once first: see
    // `MailStack::first_use`.)
    imap.list_folders(&a).await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let burst = (0..4).map(|_| imap.list_folders(&a));
        for folders in futures::future::join_all(burst).await {
            assert_eq!(folders.unwrap()[0].total, 1);
        }
    }
    let again = imap.pool_stats(&a.login_id);
    assert_eq!(again.opened_total, stats.opened_total, "{again:?}");
    // The surplus beyond three idle ones is kept a few seconds (the next burst would
    // log in again), then closed.
    let deadline = Instant::now() + SURPLUS_GRACE * 2 + Duration::from_secs(3);
    while imap.pool_stats(&a.login_id).idle > 3 {
        assert!(
            Instant::now() < deadline,
            "the surplus connection stays open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        imap.pool_stats(&a.login_id).idle,
        3,
        "three stay for the next page"
    );
}

#[tokio::test]
async fn a_restarted_server_is_invisible_to_the_user() {
    let stack = MailStack::start_private();
    let user = stack.add_user("imap-restart");
    stack
        .append(
            &user,
            "INBOX",
            &eml(
                "x@example.test",
                "hi",
                "Tue, 24 Nov 2026 10:00:00 +0000",
                "b",
            ),
            &[],
        )
        .await;
    let imap = client(&stack);
    let a = account(&user);
    imap.login(&a).await.unwrap();
    assert_eq!(imap.list_folders(&a).await.unwrap()[0].total, 1);
    let before = imap.pool_stats(&a.login_id).opened_total;

    stack.restart_imap();

    // The pooled connection is dead; the call reconnects and succeeds.
    let folders = imap.list_folders(&a).await.expect("transparent reconnect");
    assert_eq!(folders[0].total, 1);
    let page = imap
        .fetch_page(&a, "INBOX", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.messages[0].subject, "hi");
    assert_eq!(imap.pool_stats(&a.login_id).opened_total, before + 1);

    // Server down for good: Unreachable, not a hang.
    stack.stop_imap();
    let err = imap.list_folders(&a).await.unwrap_err();
    assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
    stack.start_imap();
    assert!(imap.list_folders(&a).await.is_ok());
}

#[tokio::test]
async fn idle_connections_are_closed_and_reopened() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-idle");
    let imap = Imap::new(endpoint(stack, Security::Tls), Duration::from_millis(400)).unwrap();
    let a = account(&user);
    imap.login(&a).await.unwrap();
    assert_eq!(imap.pool_stats(&a.login_id).idle, 1);
    imap.list_folders(&a).await.unwrap();
    assert_eq!(imap.pool_stats(&a.login_id).opened_total, 1);

    // Within the timeout the connection stays; after it, the reaper logs it out.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(imap.pool_stats(&a.login_id).idle, 1);
    let deadline = Instant::now() + Duration::from_secs(3);
    while imap.pool_stats(&a.login_id).idle > 0 {
        assert!(Instant::now() < deadline, "idle connection not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The next request opens a new one, transparently.
    imap.list_folders(&a).await.unwrap();
    let stats = imap.pool_stats(&a.login_id);
    assert_eq!((stats.idle, stats.opened_total), (1, 2));
}

#[tokio::test]
async fn the_password_never_reaches_the_logs() {
    use std::io::Write;
    use tracing_subscriber::util::SubscriberInitExt;

    /// Scans everything logged instead of storing it.
    #[derive(Clone)]
    struct Scan {
        needle: Arc<Vec<u8>>,
        leaked: Arc<AtomicBool>,
        login_lines: Arc<AtomicUsize>,
    }
    impl Write for Scan {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf
                .windows(self.needle.len())
                .any(|w| w == self.needle.as_slice())
            {
                self.leaked.store(true, Ordering::SeqCst);
            }
            if buf.windows(6).any(|w| w == b"LOGIN ") {
                self.login_lines.fetch_add(1, Ordering::SeqCst);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let stack = MailStack::shared();
    let user = stack.add_user("imap-secret");
    let scan = Scan {
        needle: Arc::new(user.password.clone().into_bytes()),
        leaked: Arc::new(AtomicBool::new(false)),
        login_lines: Arc::new(AtomicUsize::new(0)),
    };
    let writer = scan.clone();
    // async-imap trace-logs every command it writes (through `log`); catch all of it.
    let installed = tracing_subscriber::fmt()
        .with_env_filter("async_imap=trace,mailroom=trace")
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .is_ok();
    let imap = client(stack);
    let a = account(&user);
    imap.login(&a).await.unwrap();
    let wrong = Account {
        password: Secret::new(format!("{}x", user.password)),
        ..account(&user)
    };
    assert_eq!(imap.login(&wrong).await, Err(ImapError::AuthFailed));
    if installed {
        assert!(
            scan.login_lines.load(Ordering::SeqCst) > 0,
            "LOGIN was logged (with a placeholder)"
        );
    }
    assert!(
        !scan.leaked.load(Ordering::SeqCst),
        "the password appeared in the logs"
    );
}

/// Timings on a 10,000-message folder; slow to seed, so run on demand:
/// `cargo test --release --test it imap::big_folder -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn big_folder_paging_is_fast() {
    let stack = MailStack::shared();
    let user = stack.add_user("imap-big");
    let base = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00+00:00").unwrap();
    let emls: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            let date = base + chrono::Duration::minutes(((i * 7919) % 10_000) as i64);
            eml(
                &format!("Person {} <p{i}@example.test>", i % 997),
                &format!("Message {i}"),
                &date.to_rfc2822(),
                &"z".repeat(200 + i % 500),
            )
        })
        .collect();
    stack.append_many(&user, "INBOX", &emls).await;
    let esort = client(stack);
    let full_sort = client(stack);
    full_sort.ignore_capabilities(&["ESORT"]);
    let a = account(&user);
    for (name, imap) in [("ESORT", &esort), ("SORT without ESORT", &full_sort)] {
        imap.login(&a).await.unwrap();
        for (sort, reverse) in [
            (SortKey::Date, true),
            (SortKey::Date, false),
            (SortKey::Arrival, true),
            (SortKey::From, false),
            (SortKey::Subject, false),
            (SortKey::Size, true),
        ] {
            for page in [1, 100, 200] {
                let req = PageRequest {
                    page,
                    per_page: 50,
                    sort,
                    reverse,
                };
                let t = Instant::now();
                let p = imap.fetch_page(&a, "INBOX", &req).await.unwrap();
                let took = t.elapsed();
                println!("{name}: {sort:?} reverse={reverse} page {page}: {took:?}");
                assert_eq!((p.total, p.messages.len()), (10_000, 50));
                assert!(
                    took < Duration::from_secs(2),
                    "{sort:?} page {page} took {took:?}"
                );
            }
        }
    }
}

/// A list page is served from memory only while the server says its folder is unchanged:
/// a flag set, a message added or one expunged by another client (here another Mailroom
/// instance, with its own cache and connections) shows on the very next page.
#[tokio::test]
async fn list_pages_come_from_memory_only_while_the_folder_is_unchanged() {
    use mailroom::imap::{PageRequest, Selection};
    let stack = MailStack::shared();
    let user = stack.add_user("imap-pagecache");
    for i in 1..=3 {
        let m = eml(
            "x@example.test",
            &format!("Cached {i}"),
            &format!("Tue, 24 Nov 2026 10:0{i}:00 +0000"),
            "text",
        );
        stack.append(&user, "INBOX", &m, &[]).await;
    }
    let (ours, theirs) = (client(stack), client(stack));
    let (a, b) = (account(&user), account(&user));
    let req = PageRequest::default();
    let subjects = |p: &mailroom::imap::MessagePage| -> Vec<String> {
        p.messages.iter().map(|m| m.subject.clone()).collect()
    };

    let first = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert_eq!(subjects(&first), ["Cached 3", "Cached 2", "Cached 1"]);
    let hits = ours.page_cache_hits();
    let again = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        ours.page_cache_hits(),
        hits + 1,
        "an unchanged folder is not fetched again"
    );

    // A flag set elsewhere.
    let uid = first.messages[0].uid;
    let sel = Selection {
        mailbox: "INBOX".into(),
        uidvalidity: None,
        uids: vec![uid],
    };
    theirs.mark_flagged(&b, &sel, true).await.unwrap();
    let flagged = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert!(flagged.messages[0].flagged, "the flag shows at once");
    assert_eq!(ours.page_cache_hits(), hits + 1);

    // New mail, then an expunge.
    let m = eml(
        "x@example.test",
        "Cached 4",
        "Tue, 24 Nov 2026 10:09:00 +0000",
        "text",
    );
    stack.append(&user, "INBOX", &m, &[]).await;
    let grown = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert_eq!(grown.total, 4);
    assert_eq!(subjects(&grown)[0], "Cached 4");
    let sel = Selection {
        mailbox: "INBOX".into(),
        uidvalidity: None,
        uids: vec![grown.messages[0].uid],
    };
    theirs.expunge_messages(&b, &sel, true).await.unwrap();
    let shrunk = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert_eq!(subjects(&shrunk), ["Cached 3", "Cached 2", "Cached 1"]);
    assert!(shrunk.messages[0].flagged);
    assert_eq!(ours.page_cache_hits(), hits + 1, "every change was fetched");
    // And unchanged again: from memory, with the unread count from the same STATUS.
    let last = ours.fetch_page(&a, "INBOX", &req).await.unwrap();
    assert_eq!(last, shrunk);
    assert_eq!(ours.page_cache_hits(), hits + 2);
}
