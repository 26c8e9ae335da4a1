//! Send later and undo send, against the real Dovecot + Postfix: a sent message waits out
//! the undo window (and Undo keeps it from going out, back into Drafts and the editor); a
//! scheduled one goes out at its time, survives a restart, and is sent by exactly one of
//! several instances; with the submission server down it is tried again, then put in
//! Drafts with the reason on `/outbox`. Nobody else can touch a user's outbox.

use std::time::{Duration, Instant};

use mailroom::config::Secret;
use reqwest::StatusCode;

use crate::{
    common::{
        app::{Page, TestApp},
        mailstack::{MailStack, TestUser},
        pgstack::fresh_database_url,
    },
    compose::{DELIVERY, form_fields, messages, post_compose},
};

/// Composes to `to` and presses Send (with `extra` fields, e.g. `send_at`).
async fn send(app: &TestApp, to: &str, subject: &str, extra: &[(&str, &str)]) -> Page {
    let (_, base) = form_fields(app, "/compose").await;
    let mut fields = vec![
        ("to", to),
        ("subject", subject),
        ("body", "Sent via the outbox"),
    ];
    fields.extend_from_slice(extra);
    post_compose(
        app,
        &base,
        &fields,
        &[("notes.txt", b"attached words", "text/plain")],
    )
    .await
}

/// The outbox id in a redirect after Send.
fn queued_id(page: &Page) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let loc = page.location();
    assert!(loc.contains("notice=queued"), "{loc}");
    loc.split("outbox=")
        .nth(1)
        .expect("an outbox id")
        .to_owned()
}

/// Messages in `user`'s `mailbox` whose text contains `needle`.
async fn count_with(stack: &MailStack, user: &TestUser, mailbox: &str, needle: &str) -> usize {
    messages(stack, user, mailbox)
        .await
        .iter()
        .filter(|(_, raw)| String::from_utf8_lossy(raw).contains(needle))
        .count()
}

#[tokio::test]
async fn undo_keeps_a_sent_message_from_going_out_and_opens_it_in_the_editor() {
    let stack = MailStack::shared();
    let to = stack.add_user("ob-undo-to");
    let user = stack.add_user("ob-undo");
    let app = TestApp::spawn_with(stack, user.clone(), |c| c.undo_send = 4).await;
    app.login().await;
    let id = queued_id(&send(&app, &to.address, "Second thoughts", &[]).await);

    // Back in the folder: the notice with its Undo button.
    let page = app
        .follow(&format!("/mail/INBOX?notice=queued&outbox={id}"))
        .await;
    assert!(
        page.body.contains("Sending in a few seconds"),
        "{}",
        page.body
    );
    let undo = page.attrs("form.undo-send", "action");
    assert_eq!(undo, [format!("/outbox/{id}/cancel")]);

    let res = app.post_form(&undo[0], &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        res.location().starts_with("/compose?draft="),
        "{}",
        res.location()
    );
    // The editor has it, attachment and all, and Drafts holds it.
    let editor = app.follow(res.location()).await;
    assert!(editor.body.contains("Second thoughts"), "{}", editor.body);
    assert!(editor.body.contains("notes.txt"), "{}", editor.body);
    assert_eq!(
        count_with(stack, &user, "Drafts", "Second thoughts").await,
        1
    );

    // Well past the window: it never went out.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(count_with(stack, &to, "INBOX", "Second thoughts").await, 0);
    assert_eq!(count_with(stack, &user, "Sent", "Second thoughts").await, 0);
    // Undo once more: too late, nothing to undo, said in words.
    let again = app.post_form(&undo[0], &[]).await;
    assert_eq!(again.location(), "/outbox?notice=gone");
}

#[tokio::test]
async fn a_sent_message_goes_out_when_the_undo_window_closes() {
    let stack = MailStack::shared();
    let to = stack.add_user("ob-window-to");
    let user = stack.add_user("ob-window");
    let app = TestApp::spawn_with(stack, user.clone(), |c| c.undo_send = 5).await;
    app.login().await;
    let started = Instant::now();
    queued_id(&send(&app, &to.address, "Patience", &[]).await);
    // Not yet (the window is 5 s; this check runs well within it, even on a loaded machine).
    assert_eq!(count_with(stack, &to, "INBOX", "Patience").await, 0);
    stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(5), "{took:?}");
    let raw = &messages(stack, &to, "INBOX").await[0].1;
    let text = String::from_utf8_lossy(raw);
    assert!(text.contains("Subject: Patience"), "{text}");
    assert!(
        text.contains("notes.txt"),
        "the attachment went too: {text}"
    );
    // The Sent copy is stored after the delivery: wait for it too.
    stack.wait_for_count(&user, "Sent", 1, DELIVERY).await;
    assert_eq!(count_with(stack, &user, "Sent", "Patience").await, 1);
    // The outbox is empty again (and the password with it): the worker forgets the message
    // once the steps after delivery (the Sent copy among them) are done.
    app.get_until("/outbox", "an empty outbox", |p| {
        p.body.contains("Nothing is waiting")
    })
    .await;
    eprintln!("outbox: undo window 5 s, delivered after {took:?}");
}

#[tokio::test]
async fn a_scheduled_message_survives_a_restart_and_one_of_two_instances_sends_it_once() {
    let stack = MailStack::shared();
    let to = stack.add_user("ob-later-to");
    let user = stack.add_user("ob-later");
    let shared = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(shared.path(), "outbox").await;
    let secret = format!(
        "{}-outbox-instances-share-this-secret-key",
        std::process::id()
    );
    let spawn = |url: String, secret: String| {
        TestApp::spawn_with(stack, user.clone(), move |c| {
            c.database_url = url;
            c.secret_key = Some(Secret::new(secret));
            c.undo_send = 0;
        })
    };
    let first = spawn(url.clone(), secret.clone()).await;
    first.login().await;
    // Whole seconds: the time as the form gives it.
    // Far enough ahead that the form is sent and the first instance stopped before it.
    let at =
        chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 10, 0).expect("a time");
    let at_text = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let page = send(
        &first,
        &to.address,
        "Scheduled hello",
        &[("send_at", &at_text)],
    )
    .await;
    assert_eq!(page.location(), "/outbox?notice=scheduled");
    let outbox = first.get("/outbox").await;
    assert!(outbox.body.contains("Scheduled hello"), "{}", outbox.body);
    assert!(outbox.body.contains(&to.address), "{}", outbox.body);

    // The first instance goes away before the time; two others share the database.
    first.stop();
    let second = spawn(url.clone(), secret.clone()).await;
    let third = spawn(url, secret).await;
    stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;
    let late = chrono::Utc::now() - at;
    // Not before its time.
    assert!(late.num_milliseconds() >= 0, "early by {late}");
    let raw = &messages(stack, &to, "INBOX").await[0].1;
    assert!(String::from_utf8_lossy(raw).contains("Scheduled hello"));
    // Exactly once, in INBOX and in Sent, whatever the two workers did. The Sent copy is
    // stored after the delivery: wait for it, then long enough for a second one to show.
    stack.wait_for_count(&user, "Sent", 1, DELIVERY).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count_with(stack, &to, "INBOX", "Scheduled hello").await, 1);
    assert_eq!(count_with(stack, &user, "Sent", "Scheduled hello").await, 1);
    eprintln!(
        "outbox: scheduled message arrived {} ms after its time",
        late.num_milliseconds()
    );
    drop((second, third));
}

#[tokio::test]
async fn with_smtp_down_it_is_tried_again_then_put_in_drafts_with_the_reason() {
    let stack = MailStack::start_private();
    let to = stack.add_user("ob-down-to");
    let user = stack.add_user("ob-down");
    let app = TestApp::spawn_with(&stack, user.clone(), |c| {
        c.undo_send = 1;
        c.outbox_backoff = vec![Duration::from_secs(1), Duration::from_secs(1)];
    })
    .await;
    app.login().await;

    // Down at the first try, back before the second: it goes out.
    stack.stop_smtp();
    queued_id(&send(&app, &to.address, "Retried", &[]).await);
    tokio::time::sleep(Duration::from_millis(1800)).await;
    stack.start_smtp();
    stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;
    // The Sent copy is stored after the delivery: wait for it too.
    stack.wait_for_count(&user, "Sent", 1, DELIVERY).await;
    assert_eq!(count_with(&stack, &user, "Sent", "Retried").await, 1);

    // Down for good: after the last try it is in Drafts and the outbox says why.
    stack.stop_smtp();
    queued_id(&send(&app, &to.address, "Given up", &[]).await);
    let deadline = Instant::now() + DELIVERY;
    let page = loop {
        let page = app.get("/outbox").await;
        // Its own row says so (not just any row of the page).
        if page
            .texts("tr")
            .iter()
            .any(|r| r.contains("Given up") && r.contains("Could not be sent"))
        {
            break page;
        }
        assert!(Instant::now() < deadline, "never given up: {}", page.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(
        count_with(&stack, &user, "Drafts", "Given up").await,
        1,
        "{}",
        page.texts("tr").join("\n")
    );
    stack.start_smtp();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count_with(&stack, &to, "INBOX", "Given up").await, 0);
}

#[tokio::test]
async fn nobody_else_can_touch_an_outbox_and_bad_times_are_refused() {
    let stack = MailStack::shared();
    let to = stack.add_user("ob-sec-to");
    let user = stack.add_user("ob-sec");
    let app = TestApp::spawn_with(stack, user.clone(), |c| c.undo_send = 0).await;
    app.login().await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(8))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    send(&app, &to.address, "Mine alone", &[("send_at", &at)]).await;
    let outbox = app.get("/outbox").await;
    let cancel = outbox
        .attrs("form[action$='/cancel']", "action")
        .pop()
        .expect("a cancel form");

    // Another user of the same Mailroom: neither cancel nor send-now reaches it.
    let mallory = stack.add_user("ob-sec-mallory");
    let other = app.other_browser(mallory);
    other.login().await;
    assert_eq!(
        other.post_form(&cancel, &[]).await.location(),
        "/outbox?notice=gone"
    );
    let send_now = cancel.replace("/cancel", "/send");
    assert_eq!(
        other.post_form(&send_now, &[]).await.location(),
        "/outbox?notice=gone"
    );
    assert!(!other.get("/outbox").await.body.contains("Mine alone"));
    // Without the CSRF token (a cross-site form), nothing happens either.
    let res = app
        .client
        .post(app.url(&cancel))
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An anonymous visitor is sent to the login page.
    let anon = TestApp::spawn("ob-sec-anon").await;
    assert!(anon.get("/outbox").await.location().starts_with("/login"));
    // The message still goes out, once, at its time.
    stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;

    // Times that cannot be: the form comes back with what was typed, nothing is queued.
    for (bad, says) in [
        ("yesterday at noon", "not a date and time"),
        ("2001-01-01T10:00", "has passed"),
        ("2099-01-01T10:00", "at most a year ahead"),
    ] {
        let page = send(&app, &to.address, "Bad time", &[("send_at", bad)]).await;
        assert_eq!(page.status, StatusCode::OK, "{bad}");
        assert!(page.body.contains(says), "{bad}: {}", page.body);
        assert!(page.body.contains("Bad time"), "the subject is kept");
    }
    assert!(!app.get("/outbox").await.body.contains("Bad time"));
}

#[tokio::test]
async fn send_undo_and_send_again_in_chromium_at_phone_and_desktop_width() {
    use crate::actions::find;
    async fn at_path(client: &fantoccini::Client, path: &str) -> bool {
        client.current_url().await.is_ok_and(|u| u.path() == path)
    }
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let to = stack.add_user(&format!("ob-web-to-{width}"));
        let user = stack.add_user(&format!("ob-web-{width}"));
        // Long enough that a slow machine still shows the Undo button inside the window.
        let app = TestApp::spawn_with(stack, user.clone(), |c| c.undo_send = 8).await;
        let Some((_driver, client)) =
            crate::actions::Chromedriver::signed_in(&app, width, height).await
        else {
            return;
        };
        client.goto(&app.url("/compose")).await.expect("compose");
        find(&client, "#compose-to")
            .await
            .send_keys(&to.address)
            .await
            .expect("type");
        find(&client, "#compose-subject")
            .await
            .send_keys("Oops, not yet")
            .await
            .expect("type");
        find(&client, "#compose-body")
            .await
            .send_keys("Written in Chromium")
            .await
            .expect("type");
        find(&client, "button[name=action][value=send]")
            .await
            .click()
            .await
            .expect("send");
        // The folder, with the notice and its Undo button, on the screen's width.
        let undo = find(&client, "form.undo-send button").await;
        let (x, _, w, _) = undo.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: Undo at {x}+{w}"
        );
        undo.click().await.expect("undo");
        crate::actions::wait_until("the editor", || at_path(&client, "/compose")).await;
        let subject = find(&client, "#compose-subject")
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default();
        assert_eq!(subject, "Oops, not yet", "{width}");
        // Nothing went out; now send it for real.
        find(&client, "button[name=action][value=send]")
            .await
            .click()
            .await
            .expect("send again");
        stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;
        // The undone draft was replaced by the sent message: Drafts is empty again. The
        // worker deletes the draft after the submission server has taken the message, so
        // the recipient may have it a moment before.
        crate::actions::wait_until(&format!("{width}: the undone draft deleted"), || async {
            count_with(stack, &user, "Drafts", "Oops, not yet").await == 0
        })
        .await;
        // Sent once: a second delivery would show by now.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            count_with(stack, &to, "INBOX", "Oops, not yet").await,
            1,
            "{width}"
        );
    }
}

#[tokio::test]
async fn how_late_scheduled_messages_go_out() {
    let stack = MailStack::shared();
    let to = stack.add_user("ob-late-to");
    let user = stack.add_user("ob-late");
    let app = TestApp::spawn_with(stack, user.clone(), |c| c.undo_send = 0).await;
    app.login().await;
    let n = 10;
    // Far enough ahead that all ten forms are sent before the first is due (each send is
    // a page and a POST, slower on a loaded machine).
    let base = chrono::Utc::now().timestamp() + 3 + 2 * n;
    for i in 0..n {
        let at = chrono::DateTime::from_timestamp(base + i, 0).expect("a time");
        let text = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let page = send(
            &app,
            &to.address,
            &format!("Timed {i:02}"),
            &[("send_at", &text)],
        )
        .await;
        assert_eq!(page.location(), "/outbox?notice=scheduled");
    }
    // Poll the recipient and note when each message shows up.
    let mut arrived: Vec<Option<i64>> = vec![None; usize::try_from(n).unwrap_or(0)];
    // From the last one's time on, as long as any delivery may take.
    let last_due = u64::try_from(base + n - chrono::Utc::now().timestamp()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(last_due) + DELIVERY;
    while arrived.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "not all arrived: {arrived:?}");
        let now = chrono::Utc::now().timestamp_millis();
        for (_, raw) in messages(stack, &to, "INBOX").await {
            let text = String::from_utf8_lossy(&raw).into_owned();
            for (i, slot) in arrived.iter_mut().enumerate() {
                if slot.is_none() && text.contains(&format!("Subject: Timed {i:02}")) {
                    *slot = Some(now - (base + i64::try_from(i).unwrap_or(0)) * 1000);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut late: Vec<i64> = arrived.into_iter().flatten().collect();
    late.sort_unstable();
    // Never before its time; the figure goes in the issue note.
    assert!(late[0] >= 0, "{late:?}");
    eprintln!(
        "outbox: lateness ms (send time to seen in the recipient's INBOX, 100 ms polling): min {} median {} p90 {} max {}",
        late[0],
        late[late.len() / 2],
        late[late.len() * 9 / 10 - 1],
        late[late.len() - 1]
    );
}
