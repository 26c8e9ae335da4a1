//! The everyday journey in real Chromium at phone (390×844) and desktop (1280×800) width
//! (issue 13 item 9): log in, the inbox with the mail first, the folder drawer on the
//! phone, read, reply with an attachment, move, delete and undo, search, dark mode, print.
//! Each step is checked on the page and on the server; the screenshots go to
//! `docs/screenshots/`, which the README shows.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::actions::{Chromedriver, find, subjects as subjects_of, text_of, wait_until};
use crate::common::{app::TestApp, mailstack::MailStack};
use crate::compose::messages;

/// Where the screenshots go: `docs/screenshots/` of this checkout.
fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

async fn shoot(client: &Client, name: &str, width: u32) {
    let png = client.screenshot().await.expect("screenshot");
    let dir = shots();
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("write screenshot");
}

async fn eval(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect(script)
}

/// The top of the first element `css` finds, in CSS pixels from the top of the window.
async fn top_of(client: &Client, css: &str) -> f64 {
    let script = format!(
        "var e = document.querySelector({css:?}); return e ? e.getBoundingClientRect().top : -1;"
    );
    eval(client, &script).await.as_f64().unwrap_or(-1.0)
}

/// The page fits the window's width: nothing sticks out to the right (on a phone that
/// means a sideways-scrolling page). On failure, the elements that stick out.
async fn fits_width(client: &Client, what: &str) {
    let out = eval(
        client,
        "var w = document.documentElement.clientWidth, bad = []; \
         document.querySelectorAll('body *').forEach(function (e) { \
           var r = e.getBoundingClientRect(); \
           if (r.width > 0 && r.right > w + 1 && !e.closest('.action-bar')) \
             bad.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right)); }); \
         return [document.documentElement.scrollWidth <= w, w, bad.slice(0, 8)];",
    )
    .await;
    assert_eq!(
        out[0],
        Value::Bool(true),
        "{what} is wider than the window: {out}"
    );
}

/// Waits until the current URL's query string contains `needle`.
async fn wait_for_query(client: &Client, what: &str, needle: &str) {
    wait_until(what, || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.contains(needle)))
    })
    .await;
}

async fn visible(client: &Client, css: &str) -> bool {
    match client.find(Locator::Css(css)).await {
        Ok(e) => e.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// Clicks `css` and waits for the page at `path` (an exact path, or a prefix ending in `/`).
async fn click_to(client: &Client, css: &str, path: &str) {
    // Found again if it went stale: a live update may replace the list's rows.
    let mut clicked = false;
    for _ in 0..20 {
        if let Ok(e) = client.find(Locator::Css(css)).await
            && e.click().await.is_ok()
        {
            clicked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(clicked, "{css}: not found, or always stale");
    wait_until(path, || async {
        client.current_url().await.is_ok_and(|u| {
            if path.ends_with('/') {
                u.path().starts_with(path)
            } else {
                u.path() == path
            }
        })
    })
    .await;
}

fn eml(subject: &str, minute: u32, body: &str) -> Vec<u8> {
    format!(
        "From: Wei Zhang <wei@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: Tue, 01 Dec 2026 09:{minute:02}:00 +0000\r\nMessage-ID: <j{minute}-{}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        rand::random::<u32>()
    )
    .into_bytes()
}

#[tokio::test]
async fn the_everyday_journey_in_chromium_at_phone_and_desktop_width_with_screenshots() {
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("journey-{width}")).await;
        let user = &app.user;
        stack.create_mailbox(user, "Projects").await;
        let mails = [
            (
                "Quarterly numbers",
                "The figures for the quarter are attached below.",
            ),
            ("Lunch on Friday?", "Noodles at the usual place?"),
            (
                "Project kickoff notes",
                "Kickoff went well; minutes follow.",
            ),
            ("Your parcel is on its way", "Tracking: 0000."),
        ];
        for (i, (s, b)) in mails.iter().enumerate() {
            stack.append(user, "INBOX", &eml(s, i as u32, b), &[]).await;
        }
        let Some((_driver, client)) = Chromedriver::signed_in(&app, width, height).await else {
            return;
        };
        let phone = width < 800;

        // The inbox: on the phone the first message row is near the top of the screen
        // (the folders are behind the menu button), on the desktop beside the folders.
        shoot(&client, "inbox", width).await;
        fits_width(&client, "the inbox").await;
        let first_row = top_of(&client, "table.messages tbody tr").await;
        assert!(first_row >= 0.0, "{width}: no message rows");
        if phone {
            assert!(
                first_row < 260.0,
                "{width}: the first row starts at y = {first_row}"
            );
            assert!(
                !visible(&client, "nav.sidebar").await,
                "{width}: folders shown"
            );
            assert!(visible(&client, "a.menu-toggle").await);
        } else {
            assert!(visible(&client, "nav.sidebar").await);
            assert!(!visible(&client, "a.menu-toggle").await);
        }

        // Each row has a line of the message's text: one line, inside the screen.
        let preview = eval(
            &client,
            "var p = document.querySelector('table.messages tbody tr .preview');\
             if (!p) return null; var r = p.getBoundingClientRect();\
             var lh = parseFloat(getComputedStyle(p).lineHeight) || 20;\
             return [p.textContent.trim(), r.right, r.height, lh];",
        )
        .await;
        let text = preview[0].as_str().unwrap_or_default();
        assert!(
            mails.iter().any(|(_, body)| text.starts_with(body)),
            "{width}: preview {preview}"
        );
        if phone {
            let (right, height, line) = (
                preview[1].as_f64().unwrap_or(f64::MAX),
                preview[2].as_f64().unwrap_or(f64::MAX),
                preview[3].as_f64().unwrap_or(0.0),
            );
            assert!(
                right <= f64::from(width) + 0.5,
                "{width}: preview ends at {right}"
            );
            assert!(
                height < 1.8 * line,
                "{width}: preview {height} px high, line {line}"
            );
        }

        // A row has one link, and it covers the row: the sender and the date open the
        // message, while the checkbox stays on top of it (ticked, not opened).
        let hit = eval(
            &client,
            "var r = document.querySelector('table.messages tbody tr');\
             var at = function (sel) { var b = r.querySelector(sel).getBoundingClientRect();\
               var e = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);\
               var a = e && e.closest('a'); return a ? a.className : (e ? e.tagName : null); };\
             return [at('td.from'), at('td.date'), at('td.select input'),\
                     r.querySelectorAll('a.open').length, r.querySelectorAll('td.from a').length];",
        )
        .await;
        assert_eq!(
            hit,
            serde_json::json!(["open", "open", "INPUT", 1, 0]),
            "{width}"
        );
        find(&client, "table.messages tbody tr td.select input")
            .await
            .click()
            .await
            .expect("tick one row");
        let ticked = eval(
            &client,
            "return [location.pathname, document.querySelectorAll('table.messages tbody input[name=uid]:checked').length];",
        )
        .await;
        assert_eq!(ticked, serde_json::json!(["/mail/INBOX", 1]), "{width}");
        find(&client, "table.messages tbody tr td.select input")
            .await
            .click()
            .await
            .expect("untick");

        // Select all works on both (the bulk toolbar acts on the ticked rows).
        find(&client, "table.messages input.select-all")
            .await
            .click()
            .await
            .expect("select all");
        let ticked = eval(
            &client,
            "return document.querySelectorAll('table.messages tbody input[name=uid]:checked').length;",
        )
        .await;
        assert_eq!(ticked, Value::from(mails.len()), "{width}");
        find(&client, "table.messages input.select-all")
            .await
            .click()
            .await
            .expect("none");

        // The folder drawer on the phone: opens from the menu button, leads to a folder.
        if phone {
            find(&client, "a.menu-toggle")
                .await
                .click()
                .await
                .expect("menu");
            wait_until("the drawer", || async {
                visible(&client, "nav.sidebar").await
            })
            .await;
            shoot(&client, "drawer", width).await;
            click_to(
                &client,
                "nav.sidebar a[href='/mail/Projects']",
                "/mail/Projects",
            )
            .await;
            assert!(!visible(&client, "nav.sidebar").await, "the drawer closes");
            client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        }

        // Read: the newest message opens with Reply at hand.
        click_to(
            &client,
            "table.messages tbody tr td.subject a",
            "/mail/INBOX/",
        )
        .await;
        assert_eq!(
            text_of(&client, "h1.subject").await,
            "Your parcel is on its way"
        );
        let reply_top = top_of(&client, "a.reply").await;
        assert!(
            (0.0..f64::from(height)).contains(&reply_top),
            "{width}: Reply at y = {reply_top}"
        );
        assert!(
            !visible(&client, "form.action-archive button").await,
            "More starts closed"
        );
        shoot(&client, "message", width).await;
        fits_width(&client, "the message page").await;

        // Reply with an attachment, to ourselves so it arrives back.
        click_to(&client, "a.reply", "/compose").await;
        // The cursor waits in the text; on the phone Send is at the top of the form.
        let focused = eval(&client, "return document.activeElement.id;").await;
        assert_eq!(focused, Value::String("compose-body".into()), "{width}");
        let send_top = top_of(&client, ".compose-form button[value=send]").await;
        assert!(
            (0.0..f64::from(height)).contains(&send_top),
            "{width}: Send at y = {send_top}"
        );
        if phone {
            assert!(send_top < 200.0, "{width}: Send at y = {send_top}");
        }
        assert!(
            !visible(&client, "#compose-cc").await,
            "{width}: Cc waits until asked"
        );
        let to = find(&client, "#compose-to").await;
        to.clear().await.expect("clear To");
        to.send_keys(&user.address).await.expect("To");
        find(&client, "#compose-body")
            .await
            .send_keys("Thanks, see the plan attached.")
            .await
            .expect("body");
        let file = tempfile::Builder::new()
            .prefix("plan-")
            .suffix(".txt")
            .tempfile()
            .expect("tempfile");
        std::fs::write(file.path(), "step 1\nstep 2\n").expect("write attachment");
        find(&client, "#compose-attachments")
            .await
            .send_keys(&file.path().display().to_string())
            .await
            .expect("attach");
        shoot(&client, "compose", width).await;
        fits_width(&client, "the editor").await;
        click_to(&client, ".compose-form button[value=send]", "/mail/INBOX").await;
        let name = file
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        wait_until("the reply in the inbox", || async {
            stack.count(user, "INBOX").await as usize == mails.len() + 1
        })
        .await;
        let sent = messages(stack, user, "Sent").await;
        assert_eq!(sent.len(), 1, "{width}: one Sent copy");
        let sent = String::from_utf8_lossy(&sent[0].1);
        assert!(
            sent.contains("Subject: Re: Your parcel is on its way"),
            "{sent}"
        );
        assert!(
            sent.contains(&name) && sent.contains("Thanks, see the plan attached."),
            "{sent}"
        );

        // Move: from the message page's More menu to Projects.
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        // Its link read in one go: live updates may swap the list's rows meanwhile.
        let href = eval(
            &client,
            "var a = Array.prototype.find.call(document.querySelectorAll('table.messages td.subject a[href]'), \
               function (a) { return a.textContent.trim() === 'Lunch on Friday?'; }); \
             return a ? a.getAttribute('href') : '';",
        )
        .await;
        let href = href.as_str().unwrap_or_default().to_owned();
        assert!(
            href.starts_with("/mail/INBOX/"),
            "{width}: Lunch in the list: {href:?}"
        );
        client.goto(&app.url(&href)).await.expect("open Lunch");
        wait_until("the message", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.path().starts_with("/mail/INBOX/"))
        })
        .await;
        find(&client, "details.more-actions > summary")
            .await
            .click()
            .await
            .expect("More");
        let select = find(&client, "#move-target").await;
        select
            .select_by_value("Projects")
            .await
            .expect("choose Projects");
        find(&client, "form.action-move button[type=submit]")
            .await
            .click()
            .await
            .expect("Move");
        wait_until("the move", || async {
            subjects_of(stack, user, "Projects").await == ["Lunch on Friday?"]
        })
        .await;

        // Delete with Undo: the notice offers it; Undo brings the message back.
        wait_until("the next message", || async {
            client.find(Locator::Css("h1.subject")).await.is_ok()
        })
        .await;
        let victim = text_of(&client, "h1.subject").await;
        find(&client, "form.action-delete button")
            .await
            .click()
            .await
            .expect("Delete");
        wait_until("the Undo button", || async {
            visible(&client, "form.undo-move button").await
        })
        .await;
        let notice = text_of(&client, "p.notice").await;
        assert_eq!(notice, "Deleted: 1");
        assert_eq!(
            subjects_of(stack, user, "Trash").await,
            std::slice::from_ref(&victim)
        );
        shoot(&client, "undo", width).await;
        find(&client, "form.undo-move button")
            .await
            .click()
            .await
            .expect("Undo");
        wait_for_query(&client, "the message back", "notice=done.undo").await;
        assert_eq!(text_of(&client, "h1.subject").await, victim);
        assert_eq!(text_of(&client, "p.notice").await, "Moved back: 1");
        assert!(subjects_of(stack, user, "Trash").await.is_empty());

        // Search: the default scope (subject, sender, recipients) finds by subject.
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        find(&client, "#search-q")
            .await
            .send_keys("kickoff")
            .await
            .expect("type");
        find(&client, "form.search button[type=submit]")
            .await
            .click()
            .await
            .expect("search");
        wait_for_query(&client, "the results", "q=kickoff").await;
        let found = client
            .find_all(Locator::Css("table.messages td.subject a"))
            .await
            .expect("rows");
        let mut subjects = Vec::new();
        for f in found {
            subjects.push(f.text().await.unwrap_or_default());
        }
        assert_eq!(subjects, ["Project kickoff notes"], "{width}");
        shoot(&client, "search", width).await;

        // Forward: the inline/attachment choice is two small radio buttons, not two bars.
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        click_to(
            &client,
            "table.messages tbody tr td.subject a",
            "/mail/INBOX/",
        )
        .await;
        click_to(&client, "a.forward", "/compose").await;
        let radio = eval(
            &client,
            "return document.querySelector('.forward-mode input[type=radio]').getBoundingClientRect().width;",
        )
        .await;
        assert!(
            radio.as_f64().is_some_and(|w| w < 40.0),
            "{width}: radio {radio}"
        );
        fits_width(&client, "the forward form").await;

        // The other pages fit the window too (a phone never scrolls sideways).
        for path in [
            "/folders",
            "/contacts",
            "/settings",
            "/settings/2fa",
            "/labels",
            "/outbox",
        ] {
            client.goto(&app.url(path)).await.expect(path);
            fits_width(&client, path).await;
        }

        // Dark mode from /settings, then the message in the dark and its print view.
        client.goto(&app.url("/settings")).await.expect("settings");
        find(&client, "#theme")
            .await
            .select_by_value("dark")
            .await
            .expect("dark");
        find(&client, "form.theme button[type=submit]")
            .await
            .click()
            .await
            .expect("save theme");
        wait_until("the dark theme", || async {
            eval(&client, "return document.documentElement.className;").await
                == Value::String("theme-dark".into())
        })
        .await;
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        click_to(
            &client,
            "table.messages tbody tr td.subject a",
            "/mail/INBOX/",
        )
        .await;
        let bg = eval(
            &client,
            "return getComputedStyle(document.body).backgroundColor;",
        )
        .await;
        assert_eq!(
            bg,
            Value::String("rgb(22, 23, 27)".into()),
            "{width}: dark page"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        shoot(&client, "message-dark", width).await;
        let print = find(&client, "a.print-link")
            .await
            .attr("href")
            .await
            .expect("href");
        let print = print.unwrap_or_default();
        assert!(print.ends_with("/print"), "{print}");
        client.goto(&app.url(&print)).await.expect("print view");
        assert!(!visible(&client, "nav.sidebar").await && !visible(&client, "header.topbar").await);
        shoot(&client, "print", width).await;
        let _ = client.close().await;
    }
}
