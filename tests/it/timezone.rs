//! The user's time zone (issue 13 item 2): dates in the list, on the message page and in
//! reply quotes are the user's local time; search ranges are the user's days; the login
//! form's hidden field saves the browser's zone; `/settings` changes it and refuses a name
//! that is not a zone. Against the real Dovecot.

use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::MailStack,
};

/// A plain message sent at `date`.
fn message(subject: &str, date: &str) -> Vec<u8> {
    format!(
        "From: Wei <wei@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: <{}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello.\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// Logs in as a browser with the login page's script would: `timezone` is what
/// `Intl.DateTimeFormat().resolvedOptions().timeZone` gave.
async fn login_from_zone(app: &TestApp, timezone: &str) -> Page {
    let (u, p) = (app.user.address.clone(), app.user.password.clone());
    app.post_form(
        "/login",
        &[("username", &u), ("password", &p), ("timezone", timezone)],
    )
    .await
}

/// The zone the settings page says is in use, and whether it is marked as the default.
async fn zone_in_use(app: &TestApp) -> String {
    let page = app.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    page.texts("#timezone-in-use").join(" ")
}

/// The reply form's body for message `uid` of INBOX.
async fn reply_body(app: &TestApp, uid: u32) -> String {
    let page = app.get(&format!("/compose?reply=INBOX%2F{uid}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.texts("textarea[name=body]").join("")
}

#[tokio::test]
async fn a_message_shows_the_users_local_time_in_the_list_message_page_and_reply() {
    let app = TestApp::spawn("tz-show").await;
    let stack = MailStack::shared();
    // 20:30 UTC on New Year's Eve 2020 is 04:30 on New Year's Day 2021 in Shanghai.
    stack
        .append(
            &app.user,
            "INBOX",
            &message("New year", "Thu, 31 Dec 2020 20:30:00 +0000"),
            &[],
        )
        .await;

    // The login page carries the hidden field the script fills.
    let login = app.get("/login").await;
    assert_eq!(
        login.attrs("input[type=hidden][name=timezone]", "value"),
        vec![""]
    );
    let res = login_from_zone(&app, "Asia/Shanghai").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let in_use = zone_in_use(&app).await;
    assert!(
        in_use.contains("Asia/Shanghai") && !in_use.contains("default"),
        "{in_use}"
    );

    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.texts("table.messages td.date"), vec!["2021-01-01"]);
    assert_eq!(
        list.attrs("table.messages td.date", "title"),
        vec!["2021-01-01 04:30:00 +08:00 Asia/Shanghai"]
    );
    let msg = app.get("/mail/INBOX/1").await;
    assert_eq!(msg.texts(".h-date"), vec!["2021-01-01 04:30"]);
    assert!(reply_body(&app, 1).await.contains("2021-01-01 04:30"));

    // The same message for a user in UTC: the evening before.
    let saved = app
        .post_form("/settings/timezone", &[("timezone", "UTC")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.texts("table.messages td.date"), vec!["2020-12-31"]);
    let msg = app.get("/mail/INBOX/1").await;
    assert_eq!(msg.texts(".h-date"), vec!["2020-12-31 20:30"]);
    let body = reply_body(&app, 1).await;
    assert!(
        body.contains("2020-12-31 20:30") && !body.contains("2021-01-01"),
        "{body}"
    );
}

#[tokio::test]
async fn search_dates_are_the_users_days() {
    let app = TestApp::spawn("tz-search").await;
    let stack = MailStack::shared();
    let u = &app.user;
    for (subject, date) in [
        // 23:00 on the 5th in Shanghai.
        ("fifth late", "Thu, 05 Nov 2026 15:00:00 +0000"),
        // 04:00 on the 6th in Shanghai, still the 5th in UTC.
        ("sixth early", "Thu, 05 Nov 2026 20:00:00 +0000"),
        // 05:00 on the 6th in Shanghai; the header's own day is the 5th (Pacific time).
        ("sixth from pacific", "Thu, 05 Nov 2026 13:00:00 -0800"),
        // 01:00 on the 7th in Shanghai, the 6th in UTC.
        ("seventh early", "Fri, 06 Nov 2026 17:00:00 +0000"),
    ] {
        stack.append(u, "INBOX", &message(subject, date), &[]).await;
    }
    stack.create_mailbox(u, "Kept").await;
    stack
        .append(
            u,
            "Kept",
            &message("archived sixth", "Fri, 06 Nov 2026 08:00:00 +0800"),
            &[],
        )
        .await;
    let res = login_from_zone(&app, "Asia/Shanghai").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let subjects = |page: &Page| {
        let mut s = page.texts("table.messages td.subject a");
        s.sort();
        s
    };
    let sixth = "/mail/INBOX?since=2026-11-06&before=2026-11-07";
    let page = app.get(sixth).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(subjects(&page), vec!["sixth early", "sixth from pacific"]);
    let page = app.get(&format!("{sixth}&all_folders=1")).await;
    assert_eq!(
        subjects(&page),
        vec!["archived sixth", "sixth early", "sixth from pacific"]
    );
    let page = app.get("/mail/INBOX?before=2026-11-06").await;
    assert_eq!(subjects(&page), vec!["fifth late"]);

    // In UTC the 6th is another set of messages.
    app.post_form("/settings/timezone", &[("timezone", "UTC")])
        .await;
    let page = app.get(sixth).await;
    assert_eq!(subjects(&page), vec!["seventh early"]);
    let page = app.get(&format!("{sixth}&all_folders=1")).await;
    assert_eq!(subjects(&page), vec!["archived sixth", "seventh early"]);
}

#[tokio::test]
async fn the_settings_page_refuses_a_bad_zone_and_shows_the_form_again() {
    let app = TestApp::spawn_with(
        MailStack::shared(),
        MailStack::shared().add_user("tz-set"),
        |c| {
            c.default_timezone = chrono_tz::Tz::Europe__Paris;
        },
    )
    .await;
    // A browser without the script (or a bad value) leaves the default in place.
    let res = login_from_zone(&app, "Not/AZone").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let in_use = zone_in_use(&app).await;
    assert!(
        in_use.contains("Europe/Paris") && in_use.contains("default"),
        "{in_use}"
    );

    let page = app
        .post_form("/settings/timezone", &[("timezone", "Mars/<b>Olympus</b>")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.attrs("input[name=timezone]", "value"),
        vec!["Mars/<b>Olympus</b>"]
    );
    assert!(!page.body.contains("<b>Olympus"), "typed text not escaped");
    assert_eq!(page.texts("#timezone-error").len(), 1);
    assert!(zone_in_use(&app).await.contains("Europe/Paris"));

    // Without the CSRF token nothing changes.
    let forged = app
        .post_form(
            "/settings/timezone",
            &[("timezone", "Asia/Tokyo"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(zone_in_use(&app).await.contains("Europe/Paris"));

    let saved = app
        .post_form("/settings/timezone", &[("timezone", "Asia/Tokyo")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location(), "/settings?saved=timezone");
    let page = app.get("/settings").await;
    assert_eq!(
        page.attrs("input[name=timezone]", "value"),
        vec!["Asia/Tokyo"]
    );

    // A later login from a browser elsewhere does not undo the choice.
    app.post_form("/logout", &[]).await;
    login_from_zone(&app, "America/New_York").await;
    assert!(zone_in_use(&app).await.contains("Asia/Tokyo"));

    // Emptying the field goes back to the default.
    app.post_form("/settings/timezone", &[("timezone", "")])
        .await;
    let in_use = zone_in_use(&app).await;
    assert!(
        in_use.contains("Europe/Paris") && in_use.contains("default"),
        "{in_use}"
    );
}
