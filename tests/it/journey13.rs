//! Issue 13 in real Chromium at phone (390x844) and desktop (1280x800) width: the login
//! page's script reports the browser's time zone, a zone chosen on /settings changes the
//! times the list and the message page show, and a draft opened from Drafts is edited and
//! sent from the editor.

use fantoccini::{Client, Locator};

use crate::actions::{Chromedriver, wait_until};
use crate::common::{app::TestApp, mailstack::MailStack};
use crate::compose::DELIVERY;

async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    crate::actions::text_of(client, css).await
}

/// Waits for the page at `path` after a click.
async fn wait_for_path(client: &Client, what: &str, path: &str) {
    wait_until(what, || async {
        client.current_url().await.is_ok_and(|u| u.path() == path)
    })
    .await;
}

#[tokio::test]
async fn time_zone_and_draft_editing_in_chromium_at_phone_and_desktop_width() {
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("j13-{width}")).await;
        let user = &app.user;
        let bob = stack.add_user(&format!("j13-b-{width}"));
        // 20:30 UTC on New Year's Eve 2020: 04:30 on New Year's Day in Shanghai.
        let eml = "From: Wei <wei@example.test>\r\nTo: me@example.test\r\nSubject: New year\r\n\
                   Date: Thu, 31 Dec 2020 20:30:00 +0000\r\nMessage-ID: <ny@example.test>\r\n\r\nHi.\r\n";
        stack.append(user, "INBOX", eml.as_bytes(), &[]).await;
        let draft = format!(
            "From: {me}\r\nTo: {bob}\r\nSubject: Unfinished\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nFirst half.\r\n",
            me = user.address,
            bob = bob.address
        );
        stack
            .append(user, "Drafts", draft.as_bytes(), &["\\Draft", "\\Seen"])
            .await;
        let Some((_driver, client)) = Chromedriver::session().await else {
            return;
        };
        client
            .set_window_size(width, height)
            .await
            .expect("window size");

        // Log in: the script fills the hidden field with the browser's own zone.
        client.goto(&app.url("/login")).await.expect("open /login");
        let browser_zone = client
            .execute(
                "return Intl.DateTimeFormat().resolvedOptions().timeZone || ''",
                vec![],
            )
            .await
            .expect("script");
        let browser_zone = browser_zone.as_str().unwrap_or_default().to_owned();
        let field = find(&client, "input[name=timezone]").await;
        assert_eq!(
            field
                .prop("value")
                .await
                .expect("value")
                .unwrap_or_default(),
            browser_zone
        );
        find(&client, "#username")
            .await
            .send_keys(&user.address)
            .await
            .expect("type");
        find(&client, "#password")
            .await
            .send_keys(&user.password)
            .await
            .expect("type");
        find(&client, ".login button[type=submit]")
            .await
            .click()
            .await
            .expect("log in");
        wait_for_path(&client, "the inbox", "/mail/INBOX").await;

        // The settings page names the zone in use: the browser's (when it is a zone name).
        client.goto(&app.url("/settings")).await.expect("settings");
        let in_use = text(&client, "#timezone-in-use").await;
        if mailroom::zone::parse(&browser_zone).is_some() {
            assert!(in_use.contains(&browser_zone), "{width}: {in_use}");
        }
        // Choose Shanghai.
        let input = find(&client, "#timezone-name").await;
        input.clear().await.expect("clear");
        input.send_keys("Asia/Shanghai").await.expect("type");
        let save = find(&client, "form.timezone button[type=submit]").await;
        let (x, _, w, _) = save.rectangle().await.expect("rect");
        assert!(x >= 0.0 && x + w <= f64::from(width), "{width}: {x}+{w}");
        save.click().await.expect("save zone");
        wait_until("the saved zone", || async {
            client
                .find(Locator::Css("#timezone-in-use"))
                .await
                .ok()
                .is_some()
                && text(&client, "#timezone-in-use")
                    .await
                    .contains("Asia/Shanghai")
        })
        .await;

        // The list and the message page show Shanghai's time.
        client.goto(&app.url("/mail/INBOX")).await.expect("inbox");
        assert_eq!(text(&client, "table.messages td.date").await, "2021-01-01");
        client
            .goto(&app.url("/mail/INBOX/1"))
            .await
            .expect("message");
        assert_eq!(text(&client, ".h-date").await, "2021-01-01 04:30");

        // Drafts: open the draft, Edit, finish the text, send.
        client
            .goto(&app.url("/mail/Drafts/1"))
            .await
            .expect("draft");
        find(&client, "a.edit-draft")
            .await
            .click()
            .await
            .expect("edit");
        wait_for_path(&client, "the editor", "/compose").await;
        let to = find(&client, "#compose-to").await;
        assert_eq!(
            to.prop("value").await.expect("to").unwrap_or_default(),
            bob.address
        );
        let body = find(&client, "#compose-body").await;
        body.send_keys(" Second half.").await.expect("type");
        find(&client, "button[name=action][value=send]")
            .await
            .click()
            .await
            .expect("send");
        stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
        // The draft is deleted after the submission server took the message (and the Sent
        // copy is kept), so Bob may have it a moment before the draft is gone.
        wait_until(&format!("{width}: the sent draft deleted"), || async {
            stack.count(user, "Drafts").await == 0
        })
        .await;
        let _ = client.close().await;
    }
}
