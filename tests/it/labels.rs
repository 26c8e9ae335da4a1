//! Labels against a real Dovecot: applied and removed through the actions route, seen as
//! keywords by a separate IMAP session, shown as chips, used as a filter and a search
//! criterion across folders, renamed and deleted everywhere from /labels; hostile names
//! never reach the server as commands; and one journey in Chromium at phone and desktop
//! widths.

use futures::TryStreamExt;
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::{MailStack, TestUser, imap_utf7},
};

/// A small message whose subject names it.
fn eml(subject: &str) -> Vec<u8> {
    format!(
        "From: Amy <amy@example.test>\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 01 Jun 2026 10:00:00 +0000\r\nMessage-ID: <{}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// Every message of a folder as (UID, subject, flags as the server writes them), in UID
/// order, over a separate IMAP session.
async fn messages(
    stack: &MailStack,
    user: &TestUser,
    mailbox: &str,
) -> Vec<(u32, String, Vec<String>)> {
    let mut s = stack.imap(user).await;
    let mbox = s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    if mbox.exists == 0 {
        return Vec::new();
    }
    let fetched: Vec<_> = s
        .fetch("1:*", "(UID FLAGS ENVELOPE)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let mut out: Vec<(u32, String, Vec<String>)> = fetched
        .iter()
        .map(|f| {
            let subject = f
                .envelope()
                .and_then(|e| e.subject.as_deref())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            let mut flags: Vec<String> = f
                .flags()
                .filter(|fl| !matches!(fl, async_imap::types::Flag::Recent))
                .map(|fl| match fl {
                    async_imap::types::Flag::Custom(c) => c.to_string(),
                    other => format!("{other:?}"),
                })
                .collect();
            flags.sort();
            (f.uid.unwrap_or(0), subject, flags)
        })
        .collect();
    out.sort_by_key(|m| m.0);
    let _ = s.logout().await;
    out
}

/// The flags of the message with `subject`.
async fn flags_of(stack: &MailStack, user: &TestUser, mailbox: &str, subject: &str) -> Vec<String> {
    messages(stack, user, mailbox)
        .await
        .into_iter()
        .find(|m| m.1 == subject)
        .map(|m| m.2)
        .unwrap_or_else(|| panic!("no message {subject:?} in {mailbox}"))
}

/// The UID of the message with `subject`.
async fn uid_of(stack: &MailStack, user: &TestUser, mailbox: &str, subject: &str) -> String {
    messages(stack, user, mailbox)
        .await
        .into_iter()
        .find(|m| m.1 == subject)
        .map(|m| m.0.to_string())
        .unwrap_or_else(|| panic!("no message {subject:?} in {mailbox}"))
}

/// The list page's UIDVALIDITY field.
fn validity(page: &Page) -> String {
    page.attrs("form.bulk input[name=uidvalidity]", "value")
        .into_iter()
        .next()
        .expect("uidvalidity field in the list's form")
}

/// POSTs an action on `uids` of `mailbox_path`; returns the 303's target.
async fn act(app: &TestApp, mailbox_path: &str, fields: &[(&str, &str)]) -> String {
    let res = app
        .post_form(&format!("{mailbox_path}/actions"), fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_owned()
}

/// The subjects a list (or results) page shows.
fn listed(page: &Page) -> Vec<String> {
    let mut v = page.texts("table.messages td.subject > a");
    v.sort();
    v
}

#[tokio::test]
async fn a_label_applied_from_the_list_is_a_keyword_chip_and_filter() {
    let app = TestApp::spawn("labels-apply").await;
    let stack = MailStack::shared();
    let user = &app.user;
    for s in ["one", "two", "three"] {
        stack.append(user, "INBOX", &eml(s), &[]).await;
    }
    app.login().await;
    let list = app.get("/mail/INBOX").await;
    let v = validity(&list);
    let (u1, u2) = (
        uid_of(stack, user, "INBOX", "one").await,
        uid_of(stack, user, "INBOX", "two").await,
    );
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "label"),
            ("label", "Work"),
            ("uid", &u1),
            ("uid", &u2),
            ("uidvalidity", &v),
        ],
    )
    .await;
    assert!(to.contains("notice=done.label&n=2"), "{to}");
    // Another IMAP session sees the keyword, and nothing else changed.
    assert_eq!(flags_of(stack, user, "INBOX", "one").await, ["Work"]);
    assert_eq!(flags_of(stack, user, "INBOX", "two").await, ["Work"]);
    assert!(flags_of(stack, user, "INBOX", "three").await.is_empty());

    // Chips in the list rows and on the message page.
    let list = app.get(&to).await;
    assert!(list.body.contains("Labelled: 2"), "{}", list.body);
    assert_eq!(list.texts("td.subject .label-chip"), ["Work", "Work"]);
    let msg = app.get(&format!("/mail/INBOX/{u1}")).await;
    assert_eq!(msg.texts(".message-labels .label-chip"), ["Work"]);
    // The picker offers it now.
    assert!(
        list.texts("#bulk-label option")
            .contains(&"Work".to_owned())
    );

    // The filter shows exactly the labelled ones.
    let filtered = app.get("/mail/INBOX?label=Work").await;
    assert_eq!(filtered.status, StatusCode::OK);
    assert_eq!(listed(&filtered), ["one", "two"]);

    // Unlabel one, from the message page.
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "unlabel"),
            ("label", "Work"),
            ("uid", &u1),
            ("uidvalidity", &v),
            ("from", "message"),
        ],
    )
    .await;
    assert_eq!(to, format!("/mail/INBOX/{u1}"));
    // Only `\Seen` is left: opening the message page marked it read.
    assert_eq!(flags_of(stack, user, "INBOX", "one").await, ["Seen"]);
    let msg = app.get(&to).await;
    assert!(msg.texts(".message-labels .label-chip").is_empty());
    let filtered = app.get("/mail/INBOX?label=Work").await;
    assert_eq!(listed(&filtered), ["two"]);
}

#[tokio::test]
async fn a_chinese_label_round_trips_and_is_found_across_folders() {
    let app = TestApp::spawn("labels-zh").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "项目").await;
    stack.append(user, "INBOX", &eml("in-inbox"), &[]).await;
    stack.append(user, "INBOX", &eml("not-labelled"), &[]).await;
    stack.append(user, "项目", &eml("in-project"), &[]).await;
    app.login().await;
    for mailbox in ["INBOX", "项目"] {
        let path = format!(
            "/mail/{}",
            percent_encoding::utf8_percent_encode(mailbox, percent_encoding::NON_ALPHANUMERIC)
        );
        let list = app.get(&path).await;
        let v = validity(&list);
        let subject = if mailbox == "INBOX" {
            "in-inbox"
        } else {
            "in-project"
        };
        let uid = uid_of(stack, user, mailbox, subject).await;
        act(
            &app,
            &path,
            &[
                ("action", "label"),
                ("label", "报告 2026"),
                ("uid", &uid),
                ("uidvalidity", &v),
            ],
        )
        .await;
    }
    // On the server: one valid atom, modified UTF-7 with the space encoded too.
    assert_eq!(
        flags_of(stack, user, "INBOX", "in-inbox").await,
        ["&YqVUSgAg-2026"]
    );
    assert_eq!(
        flags_of(stack, user, "项目", "in-project").await,
        ["&YqVUSgAg-2026"]
    );
    // Shown decoded.
    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.texts("td.subject .label-chip"), ["报告 2026"]);
    // Search by label across both folders.
    let found = app
        .get("/mail/INBOX?all_folders=1&label=%E6%8A%A5%E5%91%8A%202026")
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(listed(&found), ["in-inbox", "in-project"]);
    // A label nobody has finds nothing; a bad name is explained beside the field.
    let none = app.get("/mail/INBOX?all_folders=1&label=nothing").await;
    assert!(listed(&none).is_empty());
    let bad = app.get("/mail/INBOX?label=%5CSeen").await;
    assert!(bad.body.contains("cannot start with"), "{}", bad.body);
}

#[tokio::test]
async fn rename_and_delete_reach_every_folder() {
    let app = TestApp::spawn("labels-rename").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Projects").await;
    // Labels made by another client, straight over IMAP.
    stack.append(user, "INBOX", &eml("a"), &["Old"]).await;
    stack
        .append(user, "Projects", &eml("b"), &["Old", "\\Seen"])
        .await;
    stack.append(user, "Projects", &eml("c"), &["Other"]).await;
    app.login().await;
    let page = app.get("/labels").await;
    assert_eq!(page.status, StatusCode::OK);
    let names = page.texts("#labels-list .label-chip");
    assert!(
        names.contains(&"Old".to_owned()) && names.contains(&"Other".to_owned()),
        "{names:?}"
    );

    let res = app
        .post_form(
            "/labels",
            &[("action", "rename"), ("keyword", "Old"), ("name", "新的")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let done = app.get(res.location()).await;
    assert!(
        done.body
            .contains("Label renamed on 2 messages in 2 folders"),
        "{}",
        done.body
    );
    let new_atom = "&ZbB2hA-";
    assert_eq!(flags_of(stack, user, "INBOX", "a").await, [new_atom]);
    assert_eq!(
        flags_of(stack, user, "Projects", "b").await,
        [new_atom, "Seen"]
    );
    assert_eq!(flags_of(stack, user, "Projects", "c").await, ["Other"]);
    let names = done.texts("#labels-list .label-chip");
    assert!(
        names.contains(&"新的".to_owned()) && !names.contains(&"Old".to_owned()),
        "{names:?}"
    );

    // Colour, then delete.
    let res = app
        .post_form(
            "/labels",
            &[
                ("action", "colour"),
                ("keyword", new_atom),
                ("colour", "blue"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = app.get("/mail/INBOX").await;
    assert_eq!(
        list.attrs("td.subject .label-chip", "class"),
        ["label-chip label-blue"]
    );
    let res = app
        .post_form("/labels", &[("action", "delete"), ("keyword", new_atom)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let done = app.get(res.location()).await;
    assert!(
        done.body.contains("removed from 2 messages in 2 folders"),
        "{}",
        done.body
    );
    assert!(flags_of(stack, user, "INBOX", "a").await.is_empty());
    assert_eq!(flags_of(stack, user, "Projects", "b").await, ["Seen"]);
    assert_eq!(flags_of(stack, user, "Projects", "c").await, ["Other"]);
    assert!(
        !done
            .texts("#labels-list .label-chip")
            .contains(&"新的".to_owned())
    );

    // Creating one lists it before any message has it; a bad name is shown again.
    let res = app
        .post_form(
            "/labels",
            &[("action", "create"), ("name", "Later"), ("colour", "green")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get("/labels").await;
    assert!(
        page.texts("#labels-list .label-chip")
            .contains(&"Later".to_owned())
    );
    let bad = app
        .post_form("/labels", &[("action", "create"), ("name", "\\Flagged")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.attrs("#label-name", "value"), ["\\Flagged"]);
}

#[tokio::test]
async fn hostile_label_names_never_become_commands() {
    let app = TestApp::spawn("labels-hostile").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.append(user, "INBOX", &eml("target"), &[]).await;
    stack.append(user, "INBOX", &eml("bystander"), &[]).await;
    app.login().await;
    let v = validity(&app.get("/mail/INBOX").await);
    let uid = uid_of(stack, user, "INBOX", "target").await;
    let long = "x".repeat(65);
    // Refused outright.
    for name in [
        "x\r\nA1 UID STORE 1:* +FLAGS (\\Deleted)",
        "\\Seen",
        "\\Deleted",
        "$Junk",
        long.as_str(),
        "",
    ] {
        let to = act(
            &app,
            "/mail/INBOX",
            &[
                ("action", "label"),
                ("label", name),
                ("uid", &uid),
                ("uidvalidity", &v),
            ],
        )
        .await;
        assert!(to.contains("notice=label_invalid"), "{name:?}: {to}");
    }
    // Encoded into harmless atoms.
    for name in ["say \"hi\"", "(x) \\Deleted", "100% * ]", "x) \\Deleted ("] {
        act(
            &app,
            "/mail/INBOX",
            &[
                ("action", "label"),
                ("label", name),
                ("uid", &uid),
                ("uidvalidity", &v),
            ],
        )
        .await;
    }
    let flags = flags_of(stack, user, "INBOX", "target").await;
    assert_eq!(flags.len(), 4, "{flags:?}");
    assert!(
        flags.iter().all(|f| f
            .chars()
            .all(|c| c.is_ascii_graphic() && !"()\"\\%*]{".contains(c))),
        "{flags:?}"
    );
    assert!(flags_of(stack, user, "INBOX", "bystander").await.is_empty());
    assert_eq!(messages(stack, user, "INBOX").await.len(), 2);
    // And they read back as typed.
    let list = app.get("/mail/INBOX").await;
    let mut chips = list.texts("td.subject .label-chip");
    chips.sort();
    assert_eq!(
        chips,
        ["(x) \\Deleted", "100% * ]", "say \"hi\"", "x) \\Deleted ("]
    );
}

#[tokio::test]
async fn without_csrf_or_for_another_user_nothing_changes() {
    let app = TestApp::spawn("labels-csrf").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.append(user, "INBOX", &eml("mine"), &[]).await;
    app.login().await;
    let uid = uid_of(stack, user, "INBOX", "mine").await;
    let forged = app
        .post_form(
            "/mail/INBOX/actions",
            &[
                ("action", "label"),
                ("label", "Work"),
                ("uid", &uid),
                ("csrf_token", ""),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = app
        .post_form(
            "/labels",
            &[
                ("action", "create"),
                ("name", "X"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(flags_of(stack, user, "INBOX", "mine").await.is_empty());

    // Another user labelling "the same" UID acts on their own INBOX only; their labels
    // page never lists this user's labels.
    stack
        .append(user, "INBOX", &eml("mine-2"), &["Secret"])
        .await;
    let other = TestApp::spawn("labels-other").await;
    stack
        .append(&other.user, "INBOX", &eml("theirs"), &[])
        .await;
    other.login().await;
    let res = other
        .post_form(
            "/mail/INBOX/actions",
            &[("action", "label"), ("label", "Work"), ("uid", &uid)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(flags_of(stack, user, "INBOX", "mine").await.is_empty());
    let labels = other.get("/labels").await;
    assert!(!labels.body.contains("Secret"));
    // Anonymous: to the login page.
    let anon = TestApp::spawn("labels-anon").await;
    let page = anon.get("/labels").await;
    assert!(page.status.is_redirection(), "{}", page.status);
}

#[tokio::test]
async fn a_label_made_in_chromium_at_phone_and_desktop_width_shows_and_filters() {
    use fantoccini::Locator;
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("labels-web-{width}")).await;
        let user = &app.user;
        stack.append(user, "INBOX", &eml("keep me"), &[]).await;
        stack.append(user, "INBOX", &eml("other"), &[]).await;
        // Signed in through the login form; `find` waits for its element.
        let Some((_driver, client)) =
            crate::actions::Chromedriver::signed_in(&app, width, height).await
        else {
            return;
        };
        let find = |css: String| {
            let client = client.clone();
            async move { crate::actions::find(&client, &css).await }
        };
        // Open the message, add a label with the form beside its chips.
        let uid = uid_of(stack, user, "INBOX", "keep me").await;
        client
            .goto(&app.url(&format!("/mail/INBOX/{uid}")))
            .await
            .expect("open the message");
        find("#message-label".into())
            .await
            .send_keys("客户")
            .await
            .expect("type");
        let add = find(".action-label button[type=submit]".into()).await;
        let (x, _, w, _) = add.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: button at {x}+{w}"
        );
        add.click().await.expect("add the label");
        crate::actions::wait_until("the chip", || async {
            client
                .find(Locator::Css(".message-labels .label-chip"))
                .await
                .is_ok()
        })
        .await;
        let chip = find(".message-labels .label-chip".into()).await;
        assert_eq!(chip.text().await.expect("text"), "客户");
        assert!(
            flags_of(stack, user, "INBOX", "keep me")
                .await
                .contains(&"&W6JiNw-".to_owned())
        );
        // The chip links to the folder filtered by it.
        chip.click().await.expect("follow the chip");
        crate::actions::wait_until("the filtered list", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.query().is_some_and(|q| q.contains("label=")))
        })
        .await;
        let rows = client
            .find_all(Locator::Css("table.messages td.subject > a"))
            .await
            .expect("rows");
        let mut subjects = Vec::new();
        for r in rows {
            subjects.push(r.text().await.expect("text"));
        }
        assert_eq!(subjects, ["keep me"], "{width}");
        let _ = client.close().await;
    }
}
