//! Message actions against a real Dovecot: every action from the list and from the
//! message page, bulk actions on 100 messages, the MOVE-less fallback, and the fault
//! cases (renumbered folder, message already gone, target folder gone). Each result is
//! checked on the server over a separate IMAP connection, and on the page the user sees.

use std::time::Duration;

use futures::TryStreamExt;
use mailroom::{
    config::{Endpoint, Secret, Security},
    imap::{Account, Action, ActionError, Imap, Selection},
};
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

/// Like [`eml`], dated `n` minutes after the first, so date order is well defined.
fn eml_n(subject: &str, n: u32) -> Vec<u8> {
    let text = String::from_utf8(eml(subject)).expect("ASCII");
    text.replace("10:00:00", &format!("{:02}:{:02}:00", 10 + n / 60, n % 60))
        .into_bytes()
}

/// UIDs of a folder, ascending, over a separate connection.
async fn uids(stack: &MailStack, user: &TestUser, mailbox: &str) -> Vec<u32> {
    let mut s = stack.imap(user).await;
    s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    let mut v: Vec<u32> = s
        .uid_search("ALL")
        .await
        .expect("UID SEARCH")
        .into_iter()
        .collect();
    v.sort_unstable();
    let _ = s.logout().await;
    v
}

/// Subjects of a folder, in UID order.
pub(crate) async fn subjects(stack: &MailStack, user: &TestUser, mailbox: &str) -> Vec<String> {
    let mut s = stack.imap(user).await;
    let mbox = s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    if mbox.exists == 0 {
        return Vec::new();
    }
    let mut fetched: Vec<_> = s
        .fetch("1:*", "(UID ENVELOPE)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    fetched.sort_by_key(|f| f.uid);
    let out = fetched
        .iter()
        .map(|f| {
            f.envelope()
                .and_then(|e| e.subject.as_deref())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default()
        })
        .collect();
    let _ = s.logout().await;
    out
}

/// Flags of one message, in Debug form (`Seen`, `Flagged`, `Deleted`…).
async fn flags(stack: &MailStack, user: &TestUser, mailbox: &str, uid: u32) -> Vec<String> {
    let mut s = stack.imap(user).await;
    s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    let fetched: Vec<_> = s
        .uid_fetch(uid.to_string(), "(UID FLAGS)")
        .await
        .expect("UID FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let out = fetched
        .iter()
        .find(|f| f.uid == Some(uid))
        .map(|f| f.flags().map(|fl| format!("{fl:?}")).collect())
        .unwrap_or_default();
    let _ = s.logout().await;
    out
}

/// The list page's UIDVALIDITY field.
fn validity(page: &Page) -> String {
    page.attrs("form.bulk input[name=uidvalidity]", "value")
        .into_iter()
        .next()
        .expect("uidvalidity field in the list's form")
}

/// POSTs an action and returns the 303's target, after checking it is one.
async fn act(app: &TestApp, mailbox_path: &str, fields: &[(&str, &str)]) -> String {
    let res = app
        .post_form(&format!("{mailbox_path}/actions"), fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_owned()
}

#[tokio::test]
async fn each_action_is_carried_out_on_the_server() {
    let app = TestApp::spawn("act-each").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Projects 项目").await;
    for i in 1..=6 {
        stack
            .append(user, "INBOX", &eml(&format!("M{i}")), &[])
            .await;
    }
    app.login().await;
    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.status, StatusCode::OK);
    let v = validity(&list);
    let u = uids(stack, user, "INBOX").await;
    let (s1, s2, s3, s4, s5, s6) = (
        u[0].to_string(),
        u[1].to_string(),
        u[2].to_string(),
        u[3].to_string(),
        u[4].to_string(),
        u[5].to_string(),
    );
    // The table offers one checkbox per message, valued by UID.
    let mut boxes = list.attrs("table.messages input[name=uid]", "value");
    boxes.sort();
    let mut expected: Vec<String> = u.iter().map(u32::to_string).collect();
    expected.sort();
    assert_eq!(boxes, expected);

    // Read, then flag two at once; the list says what happened.
    let to = act(
        &app,
        "/mail/INBOX",
        &[("action", "read"), ("uid", &s1), ("uidvalidity", &v)],
    )
    .await;
    assert!(
        flags(stack, user, "INBOX", u[0])
            .await
            .contains(&"Seen".into())
    );
    assert_eq!(app.get(&to).await.texts("p.notice"), ["Marked as read: 1"]);
    act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "flag"),
            ("uid", &s1),
            ("uid", &s2),
            ("uidvalidity", &v),
        ],
    )
    .await;
    for uid in [u[0], u[1]] {
        assert!(
            flags(stack, user, "INBOX", uid)
                .await
                .contains(&"Flagged".into())
        );
    }
    act(&app, "/mail/INBOX", &[("action", "unflag"), ("uid", &s2)]).await;
    assert!(
        !flags(stack, user, "INBOX", u[1])
            .await
            .contains(&"Flagged".into())
    );
    act(&app, "/mail/INBOX", &[("action", "unread"), ("uid", &s1)]).await;
    assert!(
        !flags(stack, user, "INBOX", u[0])
            .await
            .contains(&"Seen".into())
    );

    // Move: in the target, not in the source. Copy: in both.
    act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "move"),
            ("target", "Projects 项目"),
            ("uid", &s3),
            ("uidvalidity", &v),
        ],
    )
    .await;
    assert_eq!(subjects(stack, user, "Projects 项目").await, ["M3"]);
    assert!(!subjects(stack, user, "INBOX").await.contains(&"M3".into()));
    act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "copy"),
            ("target", "Projects 项目"),
            ("uid", &s4),
        ],
    )
    .await;
    assert_eq!(subjects(stack, user, "Projects 项目").await, ["M3", "M4"]);
    assert!(subjects(stack, user, "INBOX").await.contains(&"M4".into()));

    // Archive, spam, not spam.
    act(&app, "/mail/INBOX", &[("action", "archive"), ("uid", &s5)]).await;
    assert_eq!(subjects(stack, user, "Archive").await, ["M5"]);
    act(&app, "/mail/INBOX", &[("action", "spam"), ("uid", &s6)]).await;
    assert_eq!(subjects(stack, user, "Junk").await, ["M6"]);
    assert!(!subjects(stack, user, "INBOX").await.contains(&"M6".into()));
    let junk = uids(stack, user, "Junk").await;
    let junk_page = app.get("/mail/Junk").await;
    assert!(
        junk_page
            .texts("#bulk-action option")
            .contains(&"Not spam".to_owned())
    );
    act(
        &app,
        "/mail/Junk",
        &[("action", "notspam"), ("uid", &junk[0].to_string())],
    )
    .await;
    assert!(subjects(stack, user, "Junk").await.is_empty());
    assert!(subjects(stack, user, "INBOX").await.contains(&"M6".into()));

    // Delete moves to Trash; in Trash, delete asks first and then removes for good.
    act(&app, "/mail/INBOX", &[("action", "delete"), ("uid", &s1)]).await;
    assert_eq!(subjects(stack, user, "Trash").await, ["M1"]);
    assert!(!subjects(stack, user, "INBOX").await.contains(&"M1".into()));
    let trash = uids(stack, user, "Trash").await;
    let t = trash[0].to_string();
    let confirm = act(&app, "/mail/Trash", &[("action", "delete"), ("uid", &t)]).await;
    assert!(confirm.starts_with("/mail/Trash/confirm?"), "{confirm}");
    assert_eq!(
        subjects(stack, user, "Trash").await,
        ["M1"],
        "nothing happens before confirming"
    );
    let page = app.get(&confirm).await;
    assert_eq!(page.texts("p.question"), ["Delete 1 message for good?"]);
    let hidden: Vec<(String, String)> = page
        .attrs("section.confirm form input[type=hidden]", "name")
        .into_iter()
        .zip(page.attrs("section.confirm form input[type=hidden]", "value"))
        .collect();
    let fields: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let to = act(&app, "/mail/Trash", &fields).await;
    assert!(subjects(stack, user, "Trash").await.is_empty());
    assert_eq!(
        app.get(&to).await.texts("p.notice"),
        ["Deleted for good: 1"]
    );

    // Expunge (delete for good) from an ordinary folder, confirmed directly.
    act(
        &app,
        "/mail/INBOX",
        &[("action", "expunge"), ("uid", &s2), ("confirm", "1")],
    )
    .await;
    assert!(!uids(stack, user, "INBOX").await.contains(&u[1]));
    assert!(!subjects(stack, user, "Trash").await.contains(&"M2".into()));
}

#[tokio::test]
async fn the_list_keeps_its_place_and_explains_refusals() {
    let app = TestApp::spawn("act-place").await;
    let stack = MailStack::shared();
    for i in 1..=3 {
        stack
            .append(&app.user, "INBOX", &eml(&format!("P{i}")), &[])
            .await;
    }
    app.login().await;
    let list = app.get("/mail/INBOX?sort=subject&page=1").await;
    let place: Vec<(String, String)> = list
        .attrs(
            "form.bulk input[name=sort], form.bulk input[name=page]",
            "name",
        )
        .into_iter()
        .zip(list.attrs(
            "form.bulk input[name=sort], form.bulk input[name=page]",
            "value",
        ))
        .collect();
    assert_eq!(
        place,
        [
            ("page".into(), "1".into()),
            ("sort".into(), "subject".into())
        ]
    );
    let u = uids(stack, &app.user, "INBOX").await[0].to_string();
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "read"),
            ("uid", &u),
            ("sort", "subject"),
            ("page", "1"),
        ],
    )
    .await;
    assert!(to.starts_with("/mail/INBOX?page=1&sort=subject&"), "{to}");

    // Nothing ticked, or "move" without a folder: said plainly, nothing done.
    let to = act(&app, "/mail/INBOX", &[("action", "read")]).await;
    assert_eq!(
        app.get(&to).await.texts("p.notice"),
        ["Select at least one message first."]
    );
    let to = act(&app, "/mail/INBOX", &[("action", "move"), ("uid", &u)]).await;
    assert_eq!(
        app.get(&to).await.texts("p.notice"),
        ["Choose a folder to move or copy to."]
    );
    // A made-up notice key shows nothing.
    assert!(
        app.get("/mail/INBOX?notice=%3Cb%3Ehi")
            .await
            .texts("p.notice")
            .is_empty()
    );
    // Unknown actions and junk UIDs are bad requests; a missing token is refused.
    let bad = app
        .post_form("/mail/INBOX/actions", &[("action", "explode"), ("uid", &u)])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = app
        .post_form("/mail/INBOX/actions", &[("action", "read"), ("uid", "x")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let forged = app
        .post_form(
            "/mail/INBOX/actions",
            &[("action", "read"), ("uid", &u), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bulk_actions_on_100_messages() {
    let app = TestApp::spawn("act-bulk").await;
    let stack = MailStack::shared();
    let user = &app.user;
    let emls: Vec<Vec<u8>> = (1..=100).map(|i| eml_n(&format!("B{i:03}"), i)).collect();
    stack.create_mailbox(user, "Bulk").await;
    stack.create_mailbox(user, "Kept").await;
    stack.append_many(user, "Bulk", &emls).await;
    app.login().await;

    // Tick all 100 (two list pages' worth, as a script or a long page would send them).
    let all = uids(stack, user, "Bulk").await;
    assert_eq!(all.len(), 100);
    let strings: Vec<String> = all.iter().map(u32::to_string).collect();
    let mut fields: Vec<(&str, &str)> = vec![("action", "flag")];
    fields.extend(strings.iter().map(|s| ("uid", s.as_str())));
    let to = act(&app, "/mail/Bulk", &fields).await;
    assert_eq!(app.get(&to).await.texts("p.notice"), ["Flagged: 100"]);
    let mut s = stack.imap(user).await;
    s.examine("Bulk").await.expect("EXAMINE");
    let flagged = s.uid_search("FLAGGED").await.expect("SEARCH");
    assert_eq!(flagged.len(), 100);
    let _ = s.logout().await;

    // "Apply to all on this page" without ticking anything: the page's 50 (newest).
    let page = app.get("/mail/Bulk").await;
    let page_uids = page.attrs("form.bulk input[name=page_uid]", "value");
    assert_eq!(page_uids.len(), 50);
    let v = validity(&page);
    let mut fields: Vec<(&str, &str)> = vec![
        ("action", "move"),
        ("target", "Kept"),
        ("scope", "page"),
        ("uidvalidity", &v),
    ];
    fields.extend(page_uids.iter().map(|s| ("page_uid", s.as_str())));
    let to = act(&app, "/mail/Bulk", &fields).await;
    assert_eq!(app.get(&to).await.texts("p.notice"), ["Moved: 50"]);
    let kept = subjects(stack, user, "Kept").await;
    assert_eq!(kept.len(), 50);
    assert_eq!(kept[0], "B051");
    assert_eq!(kept[49], "B100");
    assert_eq!(subjects(stack, user, "Bulk").await.len(), 50);

    // Then the remaining 50 to Trash at once.
    let rest: Vec<String> = uids(stack, user, "Bulk")
        .await
        .iter()
        .map(u32::to_string)
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![("action", "delete")];
    fields.extend(rest.iter().map(|s| ("uid", s.as_str())));
    act(&app, "/mail/Bulk", &fields).await;
    assert!(uids(stack, user, "Bulk").await.is_empty());
    assert_eq!(subjects(stack, user, "Trash").await.len(), 50);
}

fn direct_client(stack: &MailStack, user: &TestUser, ignore: &[&str]) -> (Imap, Account) {
    let imap = Imap::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: stack.imaps_port,
            security: Security::Tls,
            ca_file: Some(stack.ca_file.clone()),
        },
        Duration::from_secs(60),
    )
    .expect("Imap::new");
    imap.ignore_capabilities(ignore);
    let account = Account {
        login_id: format!("direct-{}", rand::random::<u64>()),
        username: user.address.clone(),
        password: Secret::new(user.password.clone()),
        server: None,
    };
    (imap, account)
}

#[tokio::test]
async fn moving_without_the_move_extension_expunges_only_what_it_moved() {
    let stack = MailStack::shared();
    for ignore in [&["MOVE"][..], &["MOVE", "UIDPLUS"][..]] {
        let user = stack.add_user("act-nomove");
        stack.create_mailbox(&user, "Target").await;
        for i in 1..=5 {
            stack
                .append(&user, "INBOX", &eml(&format!("N{i}")), &[])
                .await;
        }
        // Another client marked N5 deleted but has not expunged it: it must survive.
        let u = uids(stack, &user, "INBOX").await;
        stack
            .store(&user, "INBOX", &u[4].to_string(), "+FLAGS (\\Deleted)")
            .await;

        let (imap, account) = direct_client(stack, &user, ignore);
        imap.login(&account).await.expect("login");
        let caps = imap.capabilities(&account).await.expect("caps");
        for cap in ignore {
            assert!(!caps.iter().any(|c| c == cap), "{cap} still used: {caps:?}");
        }
        let sel = Selection {
            mailbox: "INBOX".into(),
            uidvalidity: None,
            uids: vec![u[0], u[1], u[2]],
        };
        let out = imap
            .apply_action(&account, &sel, &Action::Move("Target".into()), false)
            .await
            .expect("move");
        assert_eq!((out.done, out.gone), (3, 0), "{ignore:?}");
        assert_eq!(subjects(stack, &user, "Target").await, ["N1", "N2", "N3"]);
        assert_eq!(
            subjects(stack, &user, "INBOX").await,
            ["N4", "N5"],
            "{ignore:?}: only the moved messages were expunged"
        );
        assert!(
            flags(stack, &user, "INBOX", u[4])
                .await
                .contains(&"Deleted".into())
        );

        // Deleting inside Trash goes through the same removal path.
        let sel = Selection {
            mailbox: "INBOX".into(),
            uidvalidity: None,
            uids: vec![u[3]],
        };
        imap.apply_action(&account, &sel, &Action::Delete, false)
            .await
            .expect("delete");
        let trash = uids(stack, &user, "Trash").await;
        let sel = Selection {
            mailbox: "Trash".into(),
            uidvalidity: None,
            uids: trash.clone(),
        };
        assert_eq!(
            imap.apply_action(&account, &sel, &Action::Delete, false)
                .await,
            Err(ActionError::NeedsConfirmation)
        );
        imap.apply_action(&account, &sel, &Action::Delete, true)
            .await
            .expect("delete for good");
        assert!(uids(stack, &user, "Trash").await.is_empty());
        assert_eq!(subjects(stack, &user, "INBOX").await, ["N5"]);
        imap.logout(&account.login_id).await;
    }
}

#[tokio::test]
async fn a_renumbered_folder_is_refused_and_reloaded() {
    let app = TestApp::spawn("act-stale").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Renumbered").await;
    stack.append(user, "Renumbered", &eml("Old"), &[]).await;
    app.login().await;
    let list = app.get("/mail/Renumbered").await;
    let v = validity(&list);
    let uid = list.attrs("table.messages input[name=uid]", "value")[0].clone();

    // Another client deletes and recreates the folder: same UIDs, other messages.
    let mut other = stack.imap(user).await;
    let mut new_validity = v.clone();
    for _ in 0..50 {
        other.delete("Renumbered").await.expect("DELETE");
        other.create("Renumbered").await.expect("CREATE");
        let m = other.examine("Renumbered").await.expect("EXAMINE");
        new_validity = m.uid_validity.unwrap_or(0).to_string();
        if new_validity != v {
            break;
        }
        // Dovecot derives UIDVALIDITY from the clock: try again a moment later.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(new_validity, v, "the folder got a new UIDVALIDITY");
    let _ = other.logout().await;
    stack.append(user, "Renumbered", &eml("New"), &[]).await;

    let to = act(
        &app,
        "/mail/Renumbered",
        &[("action", "delete"), ("uid", &uid), ("uidvalidity", &v)],
    )
    .await;
    let page = app.get(&to).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.texts("p.notice"),
        [
            "This folder was changed by another program, so nothing was done. \
          The list has been reloaded; please choose again."
        ]
    );
    // The new message with the old UID was not touched; the reloaded list shows it
    // with the new UIDVALIDITY.
    assert_eq!(subjects(stack, user, "Renumbered").await, ["New"]);
    assert!(subjects(stack, user, "Trash").await.is_empty());
    assert_eq!(page.texts("td.subject a"), ["New"]);
    assert_eq!(validity(&page), new_validity);
}

#[tokio::test]
async fn a_message_another_client_deleted_is_reported() {
    let app = TestApp::spawn("act-gone").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.append(user, "INBOX", &eml("Doomed"), &[]).await;
    stack.append(user, "INBOX", &eml("Stays"), &[]).await;
    app.login().await;
    let list = app.get("/mail/INBOX").await;
    let v = validity(&list);
    let u = uids(stack, user, "INBOX").await;

    stack.expunge(user, "INBOX", &u[0].to_string()).await;

    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "archive"),
            ("uid", &u[0].to_string()),
            ("uidvalidity", &v),
        ],
    )
    .await;
    let page = app.get(&to).await;
    assert_eq!(
        page.texts("p.notice"),
        [
            "These messages had already been deleted or moved elsewhere (for example from \
          another device). The list has been refreshed."
        ]
    );
    assert_eq!(page.texts("td.subject a"), ["Stays"]);
    assert!(subjects(stack, user, "Archive").await.is_empty());

    // One gone, one there: the one there is acted on, and the notice says so.
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "flag"),
            ("uid", &u[0].to_string()),
            ("uid", &u[1].to_string()),
            ("uidvalidity", &v),
        ],
    )
    .await;
    assert!(app.get(&to).await.texts("p.notice")[0].starts_with("Done, but 1 of the messages"));
    assert!(
        flags(stack, user, "INBOX", u[1])
            .await
            .contains(&"Flagged".into())
    );
}

#[tokio::test]
async fn moving_to_a_folder_that_disappeared_loses_nothing() {
    let app = TestApp::spawn("act-vanish").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Short-lived").await;
    stack.append(user, "INBOX", &eml("Precious"), &[]).await;
    app.login().await;
    let list = app.get("/mail/INBOX").await;
    assert!(
        list.attrs("#bulk-target option", "value")
            .contains(&"Short-lived".to_owned())
    );
    let v = validity(&list);
    let mut other = stack.imap(user).await;
    other.delete("Short-lived").await.expect("DELETE");
    let _ = other.logout().await;

    let uid = uids(stack, user, "INBOX").await[0].to_string();
    for action in ["move", "copy"] {
        let to = act(
            &app,
            "/mail/INBOX",
            &[
                ("action", action),
                ("target", "Short-lived"),
                ("uid", &uid),
                ("uidvalidity", &v),
            ],
        )
        .await;
        let page = app.get(&to).await;
        assert_eq!(
            page.texts("p.notice"),
            [
                "The target folder no longer exists. Nothing was moved; your messages are still here."
            ]
        );
        assert_eq!(page.texts("td.subject a"), ["Precious"]);
        assert_eq!(subjects(stack, user, "INBOX").await, ["Precious"]);
        assert!(
            !flags(stack, user, "INBOX", uid.parse().unwrap())
                .await
                .contains(&"Deleted".into())
        );
    }
}

#[tokio::test]
async fn the_message_page_acts_and_opens_the_next_message() {
    let app = TestApp::spawn("act-msgpage").await;
    let stack = MailStack::shared();
    let user = &app.user;
    for s in ["First", "Second", "Third"] {
        stack.append(user, "INBOX", &eml(s), &[]).await;
    }
    app.login().await;
    let u = uids(stack, user, "INBOX").await;
    // The middle message: older is First, newer is Third.
    let page = app.get(&format!("/mail/INBOX/{}", u[1])).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.attrs(".message-actions a[rel=next]", "href"),
        [format!("/mail/INBOX/{}", u[0])]
    );
    assert_eq!(
        page.attrs(".message-actions a[rel=prev]", "href"),
        [format!("/mail/INBOX/{}", u[2])]
    );
    let forms = page.attrs(".message-actions form", "action");
    assert!(
        forms.iter().all(|a| a == "/mail/INBOX/actions"),
        "{forms:?}"
    );
    assert_eq!(
        page.attrs(
            ".message-actions form.action-delete input[name=next]",
            "value"
        ),
        [u[0].to_string()]
    );
    assert_eq!(
        page.attrs(
            ".message-actions form.action-delete input[name=uidvalidity]",
            "value"
        )
        .len(),
        1
    );

    // Flag from the message page: back to the same message, now offering "unflag".
    let v = page.attrs(
        ".message-actions form.action-flag input[name=uidvalidity]",
        "value",
    )[0]
    .clone();
    let s1 = u[1].to_string();
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "flag"),
            ("uid", &s1),
            ("uidvalidity", &v),
            ("from", "message"),
        ],
    )
    .await;
    assert_eq!(to, format!("/mail/INBOX/{}", u[1]));
    assert!(
        flags(stack, user, "INBOX", u[1])
            .await
            .contains(&"Flagged".into())
    );
    let again = app.get(&to).await;
    assert_eq!(
        again
            .attrs(".message-actions form.action-unflag", "class")
            .len(),
        1
    );

    // Delete from the message page: the next (older) message opens.
    let next = u[0].to_string();
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "delete"),
            ("uid", &s1),
            ("uidvalidity", &v),
            ("from", "message"),
            ("next", &next),
        ],
    )
    .await;
    let delete_notice = format!(
        "/mail/INBOX/{}?notice=done.delete&n=1&undo_box=Trash&",
        u[0]
    );
    assert!(to.starts_with(&delete_notice), "{to}");
    assert_eq!(subjects(stack, user, "Trash").await, ["Second"]);
    let opened = app.get(&to).await;
    assert_eq!(opened.texts("h1.subject"), ["First"]);
    assert_eq!(opened.texts("p.notice"), ["Deleted: 1"]);

    // "Mark unread" goes back to the list (opening the message would read it again).
    let to = act(
        &app,
        "/mail/INBOX",
        &[("action", "unread"), ("uid", &next), ("from", "message")],
    )
    .await;
    assert!(to.starts_with("/mail/INBOX?"), "{to}");
    assert!(
        !flags(stack, user, "INBOX", u[0])
            .await
            .contains(&"Seen".into())
    );
}

/// The hidden fields of the first form `css` finds, as (name, value) pairs.
fn form_fields(page: &Page, css: &str) -> Vec<(String, String)> {
    let names = page.attrs(&format!("{css} input"), "name");
    let values = page.attrs(&format!("{css} input"), "value");
    assert!(!names.is_empty(), "no form {css} on the page");
    names.into_iter().zip(values).collect()
}

/// Posts the form `css` of `page` as the browser would; the redirect's target.
async fn submit(app: &TestApp, page: &Page, css: &str) -> String {
    let action = page.attrs(css, "action").remove(0);
    let fields = form_fields(page, css);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app.post_form(&action, &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_owned()
}

#[tokio::test]
async fn delete_and_archive_are_undone_from_their_notice() {
    let app = TestApp::spawn("act-undo").await;
    let stack = MailStack::shared();
    let user = &app.user;
    for (i, s) in ["Old", "Keep me", "New"].iter().enumerate() {
        stack.append(user, "INBOX", &eml_n(s, i as u32), &[]).await;
    }
    app.login().await;
    let u = uids(stack, user, "INBOX").await;

    // Delete from the message page: the next message opens with "Deleted: 1" and Undo.
    let page = app.get(&format!("/mail/INBOX/{}", u[1])).await;
    assert_eq!(
        page.texts(".message-actions form.action-delete button"),
        ["Delete"]
    );
    let to = submit(&app, &page, ".message-actions form.action-delete").await;
    let next = app.get(&to).await;
    assert_eq!(next.texts("p.notice"), ["Deleted: 1"]);
    assert_eq!(subjects(stack, user, "Trash").await, ["Keep me"]);
    assert_eq!(next.texts("form.undo-move button"), ["Undo"]);
    assert_eq!(
        next.attrs("form.undo-move", "action"),
        ["/mail/Trash/actions"]
    );

    // Undo: the message is back in the inbox (a new UID there) and opens again.
    let back = submit(&app, &next, "form.undo-move").await;
    assert_eq!(subjects(stack, user, "Trash").await, Vec::<String>::new());
    let inbox = uids(stack, user, "INBOX").await;
    assert_eq!(inbox.len(), 3);
    let restored = *inbox.last().expect("a uid");
    assert_eq!(back, format!("/mail/INBOX/{restored}?notice=done.undo&n=1"));
    let again = app.get(&back).await;
    assert_eq!(again.texts("h1.subject"), ["Keep me"]);
    assert_eq!(again.texts("p.notice"), ["Moved back: 1"]);
    assert!(again.attrs("form.undo-move", "action").is_empty());

    // From the list: archive two, then undo both.
    let v = app
        .get("/mail/INBOX")
        .await
        .attrs("input[name=uidvalidity]", "value")[0]
        .clone();
    let (a, b) = (u[0].to_string(), u[2].to_string());
    let to = act(
        &app,
        "/mail/INBOX",
        &[
            ("action", "archive"),
            ("uid", &a),
            ("uid", &b),
            ("uidvalidity", &v),
        ],
    )
    .await;
    let list = app.get(&to).await;
    assert_eq!(list.texts("p.notice"), ["Archived: 2"]);
    assert_eq!(list.texts("td.subject a"), ["Keep me"]);
    assert_eq!(
        list.attrs("form.undo-move input[name=uid]", "value").len(),
        2
    );
    let back = submit(&app, &list, "form.undo-move").await;
    let list = app.get(&back).await;
    assert_eq!(list.texts("p.notice"), ["Moved back: 2"]);
    let mut shown = list.texts("td.subject a");
    shown.sort();
    assert_eq!(shown, ["Keep me", "New", "Old"]);
    assert_eq!(subjects(stack, user, "Archive").await, Vec::<String>::new());

    // Deleting for good (inside Trash) cannot be undone and offers nothing.
    stack
        .append(user, "Trash", &eml("Gone for good"), &[])
        .await;
    let t = uids(stack, user, "Trash").await[0].to_string();
    let tv = app
        .get("/mail/Trash")
        .await
        .attrs("input[name=uidvalidity]", "value")[0]
        .clone();
    let to = act(
        &app,
        "/mail/Trash",
        &[
            ("action", "delete"),
            ("uid", &t),
            ("uidvalidity", &tv),
            ("confirm", "1"),
        ],
    )
    .await;
    assert!(!to.contains("undo_"), "{to}");
}

#[tokio::test]
async fn a_forged_or_stale_undo_moves_nothing() {
    let app = TestApp::spawn("act-undo-forged").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.append(user, "INBOX", &eml("Stays"), &[]).await;
    stack
        .append(user, "Trash", &eml("Stays in Trash"), &[])
        .await;
    app.login().await;
    // Undo fields a link could carry: malformed ones show no Undo at all.
    for q in [
        "undo_box=Trash&undo_v=1&undo_uids=1%20OR%202",
        "undo_box=Trash&undo_v=x&undo_uids=1",
        "undo_box=INBOX&undo_v=1&undo_uids=1",
        "undo_box=Trash&undo_v=1&undo_uids=",
    ] {
        let page = app
            .get(&format!("/mail/INBOX?notice=done.move&n=1&{q}"))
            .await;
        assert_eq!(page.texts("p.notice"), ["Moved: 1"], "{q}");
        assert!(page.attrs("form.undo-move", "action").is_empty(), "{q}");
    }
    // Well-formed but stale (another UIDVALIDITY): the action refuses, nothing moves.
    let page = app
        .get("/mail/INBOX?notice=done.move&n=1&undo_box=Trash&undo_v=1&undo_uids=1")
        .await;
    let to = submit(&app, &page, "form.undo-move").await;
    assert_eq!(app.get(&to).await.texts("p.notice").len(), 1);
    assert!(to.contains("notice=stale"), "{to}");
    assert_eq!(subjects(stack, user, "Trash").await, ["Stays in Trash"]);
    assert_eq!(subjects(stack, user, "INBOX").await, ["Stays"]);
    // From a cross-site page (its Origin, no token) nothing happens either, even with
    // the user's cookie.
    let res = app
        .client
        .post(app.url("/mail/Trash/actions"))
        .header("Origin", "http://evil.test")
        .form(&[
            ("action", "move"),
            ("uid", "1"),
            ("target", "INBOX"),
            ("undo", "1"),
        ])
        .send()
        .await
        .expect("post");
    assert_ne!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(subjects(stack, user, "Trash").await, ["Stays in Trash"]);
}

#[tokio::test]
async fn empty_trash_asks_first_then_removes_everything() {
    let app = TestApp::spawn("act-empty").await;
    let stack = MailStack::shared();
    let user = &app.user;
    for i in 1..=3 {
        stack
            .append(user, "Trash", &eml(&format!("T{i}")), &[])
            .await;
    }
    app.login().await;
    let trash = app.get("/mail/Trash").await;
    let href = trash.attrs("a.empty-folder", "href");
    assert_eq!(href.len(), 1, "Trash offers \"Empty\"");
    assert!(
        app.get("/mail/INBOX")
            .await
            .attrs("a.empty-folder", "href")
            .is_empty()
    );
    let confirm = app.get(&href[0]).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(
        confirm.texts("p.question"),
        ["Delete all 3 messages in Trash for good?"]
    );
    assert_eq!(subjects(stack, user, "Trash").await.len(), 3);
    let v = confirm.attrs("input[name=uidvalidity]", "value");
    let res = app
        .post_form("/mail/Trash/empty", &[("uidvalidity", &v[0])])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(subjects(stack, user, "Trash").await.is_empty());
    assert_eq!(
        app.get(res.location()).await.texts("p.notice"),
        ["Folder emptied: 3 messages deleted for good"]
    );
    // INBOX cannot be emptied, not even by a hand-made form.
    stack.append(user, "INBOX", &eml("Safe"), &[]).await;
    let res = app.post_form("/mail/INBOX/empty", &[]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(subjects(stack, user, "INBOX").await, ["Safe"]);
}

/// A chromedriver of this test's own, stopped (by its PID) on drop.
pub(crate) struct Chromedriver {
    child: std::process::Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver and the Chromium it started (see `common::group`).
        crate::common::group::kill(&mut self.child);
    }
}

/// The element `css` finds on the current page, waited for up to 10 s (a click that submits
/// a form may return before the next page is there), or a panic naming it and the page.
pub(crate) async fn find(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    let started = std::time::Instant::now();
    loop {
        match client.find(fantoccini::Locator::Css(css)).await {
            Ok(e) => return e,
            Err(e) if started.elapsed() > Duration::from_secs(10) => {
                let url = client.current_url().await.map(|u| u.to_string());
                let text = match client.find(fantoccini::Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let text: String = text.chars().take(600).collect();
                panic!("{css}: {e}\n  on {url:?}\n  page text: {text}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The text of the element `css` finds. Found again when it went stale meanwhile: the
/// page may be replaced by a navigation, or the list's rows by a live update.
pub(crate) async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    for _ in 0..20 {
        if let Ok(e) = client.find(fantoccini::Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css}: not found, or always stale");
}

impl Chromedriver {
    /// A Chromium session at `width`×`height`, signed in as `app`'s user through the login
    /// form (typed, as a person would) and on the inbox; `None` when not installed.
    pub(crate) async fn signed_in(
        app: &crate::common::app::TestApp,
        width: u32,
        height: u32,
    ) -> Option<(Chromedriver, fantoccini::Client)> {
        let (driver, client) = Chromedriver::session().await?;
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        client.goto(&app.url("/login")).await.expect("open /login");
        for (css, text) in [
            ("#username", &app.user.address),
            ("#password", &app.user.password),
        ] {
            find(&client, css)
                .await
                .send_keys(text)
                .await
                .expect("type");
        }
        find(&client, ".login button[type=submit]")
            .await
            .click()
            .await
            .expect("log in");
        wait_until("the inbox", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.path() == "/mail/INBOX")
        })
        .await;
        Some((driver, client))
    }

    /// Starts chromedriver and a headless Chromium session; `None` when not installed.
    pub(crate) async fn session() -> Option<(Chromedriver, fantoccini::Client)> {
        let (driver_bin, chromium) = ("/usr/bin/chromedriver", "/usr/bin/chromium");
        if !std::path::Path::new(driver_bin).exists() || !std::path::Path::new(chromium).exists() {
            eprintln!("chromedriver/chromium not installed: keyboard test skipped");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = crate::common::group::spawn(
            std::process::Command::new(driver_bin)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        )
        .expect("start chromedriver");
        let driver = Chromedriver {
            child,
            port,
            _profile: tempfile::tempdir().expect("profile dir"),
        };
        let started = std::time::Instant::now();
        while reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage", "--disable-extensions",
                    // Nothing but loopback: any other request goes to a dead port.
                    "--proxy-server=http://127.0.0.1:9",
                    format!("--user-data-dir={}", driver._profile.path().display()),
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a JSON object literal")
        };
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("WebDriver session");
        Some((driver, client))
    }
}

/// Polls until `check` holds (the page navigates after a key press, a message is
/// delivered), for as long as a delivery may take on a loaded machine.
pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < crate::compose::DELIVERY,
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn keyboard_shortcuts_and_select_all_in_a_browser() {
    use fantoccini::Locator;
    let app = TestApp::spawn("act-keys").await;
    let stack = MailStack::shared();
    let user = &app.user;
    for i in 1..=4 {
        stack
            .append(user, "INBOX", &eml_n(&format!("K{i}"), i), &[])
            .await;
    }
    let Some((_driver, client)) = Chromedriver::session().await else {
        return;
    };
    client.goto(&app.url("/login")).await.expect("open /login");
    let field = |css: &'static str| {
        let client = client.clone();
        async move { client.find(Locator::Css(css)).await.expect(css) }
    };
    field("#username")
        .await
        .send_keys(&user.address)
        .await
        .expect("type");
    field("#password")
        .await
        .send_keys(&user.password)
        .await
        .expect("type");
    field(".login button[type=submit]")
        .await
        .click()
        .await
        .expect("submit");
    wait_until("the inbox", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/mail/INBOX")
    })
    .await;
    let press = |keys: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css("body"))
                .await
                .expect("body")
                .send_keys(keys)
                .await
                .expect("keys");
        }
    };
    let js = |script: &'static str| {
        let client = client.clone();
        async move { client.execute(script, vec![]).await.expect("script") }
    };

    // `?` shows the translated shortcut list, Escape hides it.
    let help_hidden = "return document.getElementById('shortcut-help').hidden";
    assert_eq!(js(help_hidden).await, serde_json::json!(true));
    press("?").await;
    assert_eq!(js(help_hidden).await, serde_json::json!(false));
    press("\u{e00c}").await; // WebDriver's Escape key
    assert_eq!(js(help_hidden).await, serde_json::json!(true));

    // The select-all box appears with the script and ticks every row.
    field("table.messages input.select-all")
        .await
        .click()
        .await
        .expect("tick all");
    assert_eq!(
        js("return document.querySelectorAll('table.messages tbody input[name=uid]:checked').length").await,
        serde_json::json!(4)
    );
    field("table.messages input.select-all")
        .await
        .click()
        .await
        .expect("untick all");

    // j j → second row (K3, newest first); # deletes it on the server.
    press("jj").await;
    assert_eq!(
        js("return document.querySelector('tr.kb-current td.subject a').textContent.trim()").await,
        serde_json::json!("K3")
    );
    press("#").await;
    wait_until("the delete", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.contains("notice=done.delete")))
    })
    .await;
    assert_eq!(subjects(stack, user, "Trash").await, ["K3"]);
    // j e → archives the newest.
    press("je").await;
    wait_until("the archive", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.contains("notice=done.archive")))
    })
    .await;
    assert_eq!(subjects(stack, user, "Archive").await, ["K4"]);

    // o opens the highlighted message; j there goes to the older one.
    press("jo").await;
    wait_until("the message page", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path().starts_with("/mail/INBOX/"))
    })
    .await;
    let opened = client.current_url().await.expect("url").path().to_owned();
    press("j").await;
    wait_until("the older message", || async {
        client.current_url().await.is_ok_and(|u| u.path() != opened)
    })
    .await;
    assert_eq!(
        js("return document.querySelector('h1.subject').textContent.trim()").await,
        serde_json::json!("K1")
    );
    let _ = client.close().await;
}
