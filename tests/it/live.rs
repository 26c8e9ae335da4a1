//! Live updates: `GET /events` (server-sent events) fed by one IMAP watcher per user,
//! against the real Dovecot: mail delivered by Postfix and flags set by another client
//! reach an open stream; a restarted Dovecot is reconnected to; `Last-Event-ID` resumes;
//! a user whose pages are gone has no IMAP connection left. And in Chromium: a delivered
//! message appears in the open inbox with its count and the tab title.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::common::{
    app::TestApp,
    mailstack::{MailStack, TestUser},
};

/// How long an event may take in these tests (the target is 2 s; CI machines are slow).
const PATIENCE: Duration = Duration::from_secs(15);

/// An open `GET /events` response, read event by event.
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buf: String,
}

/// One event: (event name, id, data as JSON).
type Sse = (String, String, Value);

impl Events {
    async fn open(app: &TestApp, last_id: Option<&str>) -> Events {
        let mut req = app
            .client
            .get(app.url("/events"))
            .header(header::ACCEPT, "text/event-stream")
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-dest", "empty");
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.expect("GET /events");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default(),
            "text/event-stream"
        );
        // Never compressed: a gzip stream would hold events back in its buffer.
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        Events {
            body: res.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            buf: String::new(),
        }
    }

    /// The next `mailbox` event, or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name == "mailbox" {
                    let json = serde_json::from_str(&data).expect("event data is JSON");
                    return Some((name, id, json));
                }
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => panic!("the event stream ended"),
                Err(_) => return None,
            }
        }
    }

    /// Reads events until one satisfies `want`; panics after [`PATIENCE`].
    async fn until(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Sse {
        let started = tokio::time::Instant::now();
        loop {
            let left = PATIENCE.saturating_sub(started.elapsed());
            match self.next(left).await {
                Some(e) if want(&e.2) => return e,
                Some(_) => {}
                None => panic!("no event: {what}"),
            }
        }
    }
}

fn inbox(v: &Value) -> bool {
    v["mailbox"] == "INBOX"
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn eml(subject: &str) -> Vec<u8> {
    format!(
        "From: Live <live@example.test>\r\nSubject: {subject}\r\nMessage-ID: <{}@example.test>\r\n\r\nhello\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// The IMAP connections Dovecot has open for `user` (its process titles name the user).
fn imap_processes(user: &TestUser) -> usize {
    let needle = format!("[{} ", user.address);
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .filter(|c| c.contains("imap") && c.contains(&needle))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn new_mail_and_another_clients_flags_reach_an_open_page() {
    let app = TestApp::spawn("live").await;
    let stack = MailStack::shared();
    let user = app.user.clone();
    stack.append(&user, "INBOX", &eml("Before"), &[]).await;
    app.login().await;

    let mut events = Events::open(&app, None).await;
    // First, the current state of every folder.
    let (_, _, first) = events.until("the INBOX's state", inbox).await;
    assert_eq!((n(&first, "exists"), n(&first, "unseen")), (1, 1));
    let uidnext = n(&first, "uidnext");

    // Delivered through Postfix while the page is open.
    stack
        .deliver("live@example.test", &[&user.address], &eml("Arrived"))
        .await;
    let (_, _, e) = events
        .until("the delivery", |v| inbox(v) && n(v, "exists") == 2)
        .await;
    assert_eq!(n(&e, "unseen"), 2);
    assert!(n(&e, "uidnext") > uidnext);

    // Another client reads a message: the count drops on the open page too.
    let mut other = stack.imap(&user).await;
    other.select("INBOX").await.expect("SELECT");
    other
        .store("1", "+FLAGS (\\Seen)")
        .await
        .expect("STORE")
        .collect::<Vec<_>>()
        .await;
    let (_, _, e) = events
        .until("the flag change", |v| inbox(v) && n(v, "unseen") == 1)
        .await;
    assert_eq!(n(&e, "exists"), 2);
    let _ = other.logout().await;

    // The page itself agrees, never the stale count.
    let page = app.get("/mail/INBOX").await;
    let counts =
        page.texts("nav.sidebar li.inbox span.count, nav.sidebar a[href='/mail/INBOX'] span.count");
    assert_eq!(counts.first().map(String::as_str), Some("1"), "{counts:?}");
}

#[tokio::test]
async fn a_reconnecting_page_gets_only_what_changed_after_its_last_event() {
    let app = TestApp::spawn("liveresume").await;
    let stack = MailStack::shared();
    let user = app.user.clone();
    app.login().await;
    let mut events = Events::open(&app, None).await;
    let (_, mut last_id, _) = events.until("the INBOX's state", inbox).await;
    // The rest of the snapshot (the other folders): the page has seen up to the last one.
    while let Some((_, id, _)) = events.next(Duration::from_millis(500)).await {
        last_id = id;
    }
    drop(events);

    let mut again = Events::open(&app, Some(&last_id)).await;
    // Nothing changed: nothing is sent again.
    assert!(again.next(Duration::from_millis(700)).await.is_none());
    stack
        .deliver("live@example.test", &[&user.address], &eml("Resumed"))
        .await;
    let (_, id, e) = again.until("the delivery", inbox).await;
    assert_eq!(n(&e, "exists"), 1);
    assert_ne!(id, last_id);

    // An id from another watcher (or nonsense) gets the whole state.
    let mut fresh = Events::open(&app, Some("1-999999")).await;
    let (_, _, e) = fresh.until("the whole state", inbox).await;
    assert_eq!(n(&e, "exists"), 1);
}

#[tokio::test]
async fn a_restarted_imap_server_is_reconnected_to() {
    let stack = MailStack::start_private();
    let user = stack.add_user("liverestart");
    let app = TestApp::spawn_with(&stack, user.clone(), |_| {}).await;
    app.login().await;
    let mut events = Events::open(&app, None).await;
    events.until("the INBOX's state", inbox).await;

    stack.restart_imap();
    stack
        .deliver("live@example.test", &[&user.address], &eml("After restart"))
        .await;
    let (_, _, e) = events
        .until("the delivery after the restart", |v| {
            inbox(v) && n(v, "exists") == 1
        })
        .await;
    assert_eq!(n(&e, "unseen"), 1);
}

/// A new user logged in to an app whose watcher and idle connections last one second.
async fn logged_in_briefly(prefix: &str) -> (TestUser, TestApp) {
    let stack = MailStack::shared();
    let user = stack.add_user(prefix);
    let app = TestApp::spawn_with(stack, user.clone(), |c| {
        c.watch_linger = Duration::from_secs(1);
        c.imap_idle_timeout = Duration::from_secs(1);
    })
    .await;
    app.login().await;
    (user, app)
}

#[tokio::test]
async fn a_user_whose_pages_are_gone_keeps_no_imap_connection() {
    let (user, app) = logged_in_briefly("livegone").await;
    let mut events = Events::open(&app, None).await;
    events.until("the INBOX's state", inbox).await;
    assert!(imap_processes(&user) >= 1, "the watcher is connected");
    drop(events);
    crate::actions::wait_until("the user's IMAP connections to close", || async {
        imap_processes(&user) == 0
    })
    .await;
}

#[tokio::test]
async fn the_total_connection_cap_holds_and_every_user_still_gets_pages() {
    let stack = MailStack::shared();
    let users: Vec<TestUser> = (0..3)
        .map(|i| stack.add_user(&format!("capped{i}")))
        .collect();
    for u in &users {
        stack
            .append(u, "INBOX", &eml(&format!("For {}", u.address)), &[])
            .await;
    }
    // Two connections for everyone together; three users take turns.
    let app = TestApp::spawn_with(stack, users[0].clone(), |c| c.max_imap_connections = 2).await;
    let browsers: Vec<TestApp> = users.iter().map(|u| app.other_browser(u.clone())).collect();
    let open = || users.iter().map(imap_processes).sum::<usize>();
    for round in 0..2 {
        for (b, u) in browsers.iter().zip(&users) {
            if round == 0 {
                b.login().await;
            }
            let page = b.get("/mail/INBOX").await;
            assert_eq!(page.status, StatusCode::OK, "{}: {}", u.address, page.body);
            assert_eq!(page.texts("td.subject a"), [format!("For {}", u.address)]);
            // Connections pushed out close at once; Dovecot's processes follow.
            crate::actions::wait_until("at most two IMAP connections", || async { open() <= 2 })
                .await;
        }
    }
    // The cap leaves no room for a watcher: the stream says so and pages still work.
    let events = Events::open(&browsers[0], None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(open() <= 2, "{} IMAP connections", open());
    assert_eq!(browsers[0].get("/mail/INBOX").await.status, StatusCode::OK);
    drop(events);
}

#[tokio::test]
async fn events_need_a_login_and_respect_the_cap() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("liveanon").await;
    // Anonymous: sent to the login page, no stream, no IMAP work.
    let res = app.get("/events").await;
    assert!(res.status.is_redirection(), "{}", res.status);
    assert!(res.location().starts_with("/login"), "{}", res.location());

    // Live updates off (or at the cap): 204 makes EventSource stop; pages still work.
    let user = stack.add_user("liveoff");
    let off = TestApp::spawn_with(stack, user, |c| c.max_watchers = 0).await;
    off.login().await;
    let res = off.get("/events").await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(off.get("/mail/INBOX").await.status, StatusCode::OK);
}

#[tokio::test]
async fn chromium_shows_new_mail_in_the_open_inbox_at_phone_and_desktop_width() {
    use fantoccini::Locator;
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("live-web-{width}")).await;
        let user = app.user.clone();
        stack
            .append(&user, "INBOX", &eml("Already here"), &[])
            .await;
        let Some((_driver, client)) =
            crate::actions::Chromedriver::signed_in(&app, width, height).await
        else {
            return;
        };
        // Mail may arrive before the page's watcher is up: the first state it sends is
        // compared with the page's own count, so the row shows either way.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stack
            .deliver(
                "live@example.test",
                &[&user.address],
                &eml("Pushed to the page"),
            )
            .await;
        let started = std::time::Instant::now();
        crate::actions::wait_until("the new row in the open inbox", || async {
            client
                .source()
                .await
                .is_ok_and(|html| html.contains("Pushed to the page"))
        })
        .await;
        let took = started.elapsed();
        let title = client.title().await.expect("title");
        assert!(title.starts_with("(2) "), "{width}: {title}");
        // The phone has the folders in a drawer: its menu button carries the count.
        let badge = if width < 800 {
            "a.menu-toggle span.count"
        } else {
            "nav.sidebar a[href='/mail/INBOX'] span.count"
        };
        let count = client
            .find(Locator::Css(badge))
            .await
            .expect("count")
            .text()
            .await
            .expect("text");
        assert_eq!(count, "2", "{width}");
        // Both rows are there: the page was not replaced by a partial one.
        let rows = client
            .find_all(Locator::Css("table.messages tbody tr"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2, "{width}");
        eprintln!("live: {width}px: delivery to row on screen in {took:?}");
    }
}

/// Commands of page requests among `lines`: all but the watcher's own (NOTIFY, IDLE and
/// the DONE that ends it).
fn page_commands(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| {
            !["IDLE", "DONE", "NOTIFY"]
                .iter()
                .any(|v| crate::common::relay::starts_with(l, v))
        })
        .collect()
}

/// A new user with `subjects` in the INBOX, logged in to an app whose IMAP commands a
/// relay writes down.
async fn logged_in_through_a_relay(
    prefix: &str,
    subjects: &[&str],
) -> (TestUser, crate::common::relay::CommandLog, TestApp) {
    let stack = MailStack::shared();
    let user = stack.add_user(prefix);
    for s in subjects {
        stack.append(&user, "INBOX", &eml(s), &[]).await;
    }
    let log = crate::common::relay::CommandLog::start(stack).await;
    let app = log.app(user.clone()).await;
    app.login().await;
    (user, log, app)
}

/// Loads the inbox (which starts the user's watcher) until a page costs the server no
/// command: the watcher vouches for it. The inbox must list `rows` messages.
async fn until_vouched(app: &TestApp, log: &crate::common::relay::CommandLog, rows: usize) {
    until_vouched_at(app, log, "/mail/INBOX", rows).await;
}

/// [`until_vouched`] for the list page at `path`.
async fn until_vouched_at(
    app: &TestApp,
    log: &crate::common::relay::CommandLog,
    path: &str,
    rows: usize,
) {
    let started = std::time::Instant::now();
    loop {
        let mark = log.mark();
        let page = app.get(path).await;
        assert_eq!(page.texts("td.subject a").len(), rows);
        if page_commands(&log.since(mark)).is_empty() {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "pages still ask the server: {:?}",
            log.since(mark)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the user's connections are back at rest: the watcher's and one idle
/// connection (a burst's surplus closes [`mailroom::imap::SURPLUS_GRACE`] after it).
async fn until_at_rest(log: &crate::common::relay::CommandLog) {
    let deadline =
        std::time::Instant::now() + mailroom::imap::SURPLUS_GRACE * 2 + Duration::from_secs(5);
    while log.open_now() > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} connections still open",
            log.open_now()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 10 item 4: while the user's watcher is connected, the list page and the sidebar
/// come from memory without a single IMAP command; a change by another client shows once
/// the server has reported it (and an unread count never stays stale after its event);
/// a change made through Mailroom shows on the very next page.
#[tokio::test]
async fn the_watcher_vouches_for_cached_pages_until_something_changes() {
    let stack = MailStack::shared();
    let (user, log, app) = logged_in_through_a_relay("livecache", &["One", "Two", "Three"]).await;
    assert_eq!(app.get("/mail/INBOX").await.texts("tr.unread").len(), 3);

    // The page starts the watcher; once it vouches, pages cost the server nothing.
    until_vouched(&app, &log, 3).await;
    let mark = log.mark();
    for _ in 0..5 {
        let page = app.get("/mail/INBOX").await;
        assert_eq!(page.texts("tr.unread").len(), 3);
        assert_eq!(
            page.texts(".sidebar a[href=\"/mail/INBOX\"] .count"),
            vec!["3"]
        );
    }
    assert_eq!(page_commands(&log.since(mark)), Vec::<&String>::new());

    // Another client flags a message: shown as soon as the server reports it.
    stack.store(&user, "INBOX", "1", "+FLAGS (\\Flagged)").await;
    let page = app
        .get_until("/mail/INBOX", "another client's flag", |p| {
            p.texts("tr.flagged").len() == 1
        })
        .await;
    assert_eq!(page.texts("tr.flagged td.subject a"), vec!["One"]);

    // Another client reads a message: after the event, no page shows it unread.
    let mut events = Events::open(&app, None).await;
    events
        .until("the INBOX's state", |v| inbox(v) && n(v, "unseen") == 3)
        .await;
    stack.store(&user, "INBOX", "2", "+FLAGS (\\Seen)").await;
    events
        .until("the read message", |v| inbox(v) && n(v, "unseen") == 2)
        .await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.texts("tr.unread").len(), 2, "stale after the event");
    assert_eq!(
        page.texts(".sidebar a[href=\"/mail/INBOX\"] .count"),
        vec!["2"]
    );

    // A change made through Mailroom shows on the very next page, without waiting.
    let done = app
        .post_form("/mail/INBOX/actions", &[("action", "flag"), ("uid", "3")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.texts("tr.flagged").len(), 2, "{}", page.body);
    let done = app
        .post_form("/mail/INBOX/actions", &[("action", "unread"), ("uid", "2")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.texts("tr.unread").len(), 3);
    assert_eq!(
        page.texts(".sidebar a[href=\"/mail/INBOX\"] .count"),
        vec!["3"]
    );
}

/// A watcher that loses its connection stops vouching at once: pages ask the server
/// again (and stay right) until it is back.
#[tokio::test]
async fn pages_ask_the_server_while_the_watcher_is_away() {
    let stack = MailStack::start_private();
    let user = stack.add_user("liveaway");
    stack.append(&user, "INBOX", &eml("Before"), &[]).await;
    let app = TestApp::spawn_with(&stack, user.clone(), |_| {}).await;
    app.login().await;
    app.get_until("/mail/INBOX", "the first message", |p| {
        p.texts("td.subject a") == ["Before"]
    })
    .await;
    // Dovecot restarts: the watcher's connection is gone; a message arrives meanwhile.
    stack.restart_imap();
    stack.append(&user, "INBOX", &eml("During"), &[]).await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut subjects = page.texts("td.subject a");
    subjects.sort();
    assert_eq!(
        subjects,
        ["Before", "During"],
        "a stale page after a restart"
    );
}

/// A folder made after the watcher started (by another client here; Dovecot also makes
/// its `auto` folders on first use) is watched as well: its pages and a sidebar that
/// shows it come from memory, and another client's new mail in it still shows.
#[tokio::test]
async fn a_folder_made_after_the_watcher_started_is_watched_too() {
    let stack = MailStack::shared();
    let (user, log, app) = logged_in_through_a_relay("livelater", &["One"]).await;
    until_vouched(&app, &log, 1).await;

    stack.create_mailbox(&user, "Später").await;
    stack
        .append(&user, "Später", &eml("First later"), &[])
        .await;
    app.get_until("/mail/INBOX", "the new folder in the sidebar", |p| {
        p.texts(".sidebar a[href=\"/mail/Sp%C3%A4ter\"] .count") == ["1"]
    })
    .await;
    // The sidebar that shows it, and the folder's own page, are vouched for again.
    until_vouched(&app, &log, 1).await;
    until_vouched_at(&app, &log, "/mail/Sp%C3%A4ter", 1).await;

    stack
        .append(&user, "Später", &eml("Second later"), &[])
        .await;
    let page = app
        .get_until("/mail/Sp%C3%A4ter", "new mail in the new folder", |p| {
            p.texts("td.subject a").len() == 2
        })
        .await;
    assert_eq!(
        page.texts(".sidebar a[href=\"/mail/Sp%C3%A4ter\"] .count"),
        vec!["2"]
    );
}

/// Issue 10 items 1, 2 and 4: while the watcher vouches, a search asked again costs no
/// scan of the folder, re-opening a read message asks neither for the folder list nor for
/// the conversation's folders' state, and its body document asks nothing; new mail still
/// shows in the results once the server has reported it.
#[tokio::test]
async fn searches_and_read_messages_come_from_memory_while_vouched() {
    let stack = MailStack::shared();
    let (user, log, app) =
        logged_in_through_a_relay("livesearch", &["Apple pie", "Apple tart", "Pear"]).await;
    until_vouched(&app, &log, 3).await;

    let found = app.get("/mail/INBOX?q=apple").await;
    assert_eq!(found.texts("td.subject a").len(), 2, "{}", found.body);
    let mark = log.mark();
    let again = app.get("/mail/INBOX?q=apple").await;
    assert_eq!(again.texts("td.subject a"), found.texts("td.subject a"));
    assert_eq!(page_commands(&log.since(mark)), Vec::<&String>::new());

    // Opened once (it becomes read: a change), then again: the folder list comes from
    // memory, and the message's flags and neighbours are read once more. The server
    // reports the `\Seen` to the watcher a moment later, which ends the generation:
    // wait for that report before counting.
    let mut events = Events::open(&app, None).await;
    events
        .until("the INBOX's state", |v| inbox(v) && n(v, "unseen") == 3)
        .await;
    assert_eq!(app.get("/mail/INBOX/1").await.status, StatusCode::OK);
    events
        .until("the read message", |v| inbox(v) && n(v, "unseen") == 2)
        .await;
    until_vouched(&app, &log, 3).await;
    let mark = log.mark();
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1.subject"), vec!["Apple pie"], "{}", page.body);
    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert_eq!(body.status, StatusCode::OK);
    // No folder list and no `\Seen` again. The state of the conversation's folders
    // (STATUS) was read by the first open, before the report ended that generation, so
    // this open reads it once more; the opens below find it in memory.
    let sent = log.since(mark);
    let asked: Vec<&String> = page_commands(&sent)
        .into_iter()
        .filter(|l| {
            ["LIST", "UID STORE"]
                .iter()
                .any(|v| crate::common::relay::starts_with(l, v))
        })
        .collect();
    assert_eq!(asked, Vec::<&String>::new(), "all sent: {sent:?}");
    // Opened again: nothing at all is asked, and the page is the same. Should the server
    // report something more late under load (between a page and its body), an open may
    // still ask once more; without the cache of read messages every open asks.
    let started = std::time::Instant::now();
    loop {
        let mark = log.mark();
        let again = app.get("/mail/INBOX/1").await;
        assert_eq!(
            again.texts("h1.subject"),
            vec!["Apple pie"],
            "{}",
            again.body
        );
        assert_eq!(
            again
                .attrs(".message-actions form.action-flag", "class")
                .len(),
            1,
            "{}",
            again.body
        );
        assert!(
            app.get_frame("/mail/INBOX/1/body")
                .await
                .body
                .contains("hello")
        );
        let asked = log.since(mark);
        if page_commands(&asked).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "a read message opened again still asks: {asked:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Another client flags it: the next view after the server reports it says so.
    stack.store(&user, "INBOX", "1", "+FLAGS (\\Flagged)").await;
    let flagged = app
        .get_until("/mail/INBOX/1", "another client's flag", |p| {
            p.attrs(".message-actions form.action-unflag", "class")
                .len()
                == 1
        })
        .await;
    assert_eq!(flagged.texts("h1.subject"), vec!["Apple pie"]);

    // Another client's new match shows in the results once the server reports it.
    stack
        .append(&user, "INBOX", &eml("Apple crumble"), &[])
        .await;
    let results = app
        .get_until("/mail/INBOX?q=apple", "the new match", |p| {
            p.texts("td.subject a").len() == 3
        })
        .await;
    assert!(
        results
            .texts("td.subject a")
            .contains(&"Apple crumble".to_owned())
    );
}

/// A watcher started by a page load (no `/events`: a browser without JavaScript) also ends
/// once the user stops loading pages, and with it every IMAP connection of the user.
#[tokio::test]
async fn a_watcher_started_by_pages_alone_ends_when_they_stop() {
    let (user, app) = logged_in_briefly("livetouch").await;
    assert_eq!(app.get("/mail/INBOX").await.status, StatusCode::OK);
    crate::actions::wait_until("the watcher to connect", || async {
        imap_processes(&user) >= 1
    })
    .await;
    crate::actions::wait_until("the user's IMAP connections to close", || async {
        imap_processes(&user) == 0
    })
    .await;
}

/// Issue 10 item 3: while the watcher vouches for a user's caches, most pages need no
/// connection, so the user keeps one idle connection beside the watcher's: a burst that
/// needs the server opens more, and they close a few seconds after it.
#[tokio::test]
async fn a_vouched_user_keeps_one_idle_connection_beside_the_watcher() {
    let (_user, log, app) = logged_in_through_a_relay("livefew", &["Apple", "Pear", "Plum"]).await;
    until_vouched(&app, &log, 3).await;
    // Eight different searches at once: each asks the server.
    let words = [
        "apple", "pear", "plum", "fig", "kiwi", "lime", "date", "sloe",
    ];
    let paths: Vec<String> = words.iter().map(|w| format!("/mail/INBOX?q={w}")).collect();
    let pages = futures::future::join_all(paths.iter().map(|p| app.get(p))).await;
    for (page, word) in pages.iter().zip(words) {
        assert_eq!(page.status, StatusCode::OK, "{word}");
    }
    assert_eq!(pages[0].texts("td.subject a"), vec!["Apple"]);
    let busy = log.open_now();
    assert!(busy > 2, "the burst ran on {busy} connections");
    until_at_rest(&log).await;
    assert_eq!(log.open_now(), 2, "one idle connection and the watcher's");
    // Pages still come from memory, and a search still works.
    until_vouched(&app, &log, 3).await;
    let found = app.get("/mail/INBOX?q=plum").await;
    assert_eq!(found.texts("td.subject a"), vec!["Plum"]);
}

/// Issue 10 item 3: a change ends what the watcher vouched for, and every open page asks
/// again at the same moment (each tab its event updates, each browser of the user). They
/// take turns: one asks the server for the list page and one for the sidebar, the others
/// get what it left in memory, so the burst repeats no command and opens at most the one
/// connection the sidebar needs beside the list.
#[tokio::test]
async fn pages_asked_at_once_after_a_change_ask_the_server_once() {
    let stack = MailStack::shared();
    let (user, log, app) = logged_in_through_a_relay("liveturns", &["One", "Two", "Three"]).await;
    until_vouched(&app, &log, 3).await;
    let mut events = Events::open(&app, None).await;
    events
        .until("the INBOX's state", |v| inbox(v) && n(v, "unseen") == 3)
        .await;
    // At rest first (the watcher and one idle connection), so that every run starts the
    // burst from the same pool, however long the steps before took.
    until_at_rest(&log).await;
    let opened = log.connections();
    stack.store(&user, "INBOX", "2", "+FLAGS (\\Seen)").await;
    events
        .until("the read message", |v| inbox(v) && n(v, "unseen") == 2)
        .await;

    let mark = log.mark();
    let pages = futures::future::join_all((0..8).map(|_| app.get("/mail/INBOX"))).await;
    for page in &pages {
        assert_eq!(page.texts("tr.unread").len(), 2, "{}", page.body);
        assert_eq!(
            page.texts(".sidebar a[href=\"/mail/INBOX\"] .count"),
            vec!["2"]
        );
    }
    let sent = log.since(mark);
    let count = |verb: &str| crate::common::relay::count(&sent, verb);
    assert_eq!(count("STATUS"), 1, "the list page asked once: {sent:?}");
    assert_eq!(count("LIST"), 1, "the sidebar asked once: {sent:?}");
    // The first page asks for its list and its sidebar side by side: the idle connection
    // and at most one more. Without turns the eight pages open as many as the pool allows.
    assert!(
        log.connections() <= opened + 1,
        "{} connections opened: {sent:?}\n{}",
        log.connections() - opened,
        log.connection_summary()
    );
}
