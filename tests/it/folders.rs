//! Folder management against a real Dovecot: create (nested), rename and move, delete
//! with confirmation, subscribe and unsubscribe, with Chinese and awkward names; bad
//! names come back on the form. Every change is checked with LIST/LSUB over a separate
//! connection and on the pages the user sees.

use futures::TryStreamExt;
use reqwest::StatusCode;

use crate::common::{
    app::TestApp,
    mailstack::{MailStack, TestUser, list_folders},
};

/// imap-proto leaves quoted-string escapes in names (`a \"b\"`); undo them.
fn unescape(name: &str) -> String {
    name.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Every folder name on the server (UTF-8).
async fn server_folders(stack: &MailStack, user: &TestUser) -> Vec<String> {
    let mut s = stack.imap(user).await;
    let mut names: Vec<String> = list_folders(&mut s)
        .await
        .into_iter()
        .map(|f| unescape(&f.0))
        .collect();
    let _ = s.logout().await;
    names.sort();
    names
}

/// Subscribed folder names (LSUB).
async fn subscribed(stack: &MailStack, user: &TestUser) -> Vec<String> {
    let mut s = stack.imap(user).await;
    let list: Vec<_> = s
        .lsub(Some(""), Some("*"))
        .await
        .expect("LSUB")
        .try_collect()
        .await
        .expect("LSUB responses");
    let _ = s.logout().await;
    let mut names: Vec<String> = list
        .iter()
        .map(|n| unescape(&utf7_imap::decode_utf7_imap(n.name().to_owned())))
        .collect();
    names.sort();
    names
}

/// `/folders/{name}` with the name as one path segment.
fn folder_path(name: &str) -> String {
    format!("/folders/{}", mailroom::web::encode_segment(name))
}

/// The sidebar's folder labels.
fn sidebar(page: &crate::common::app::Page) -> Vec<String> {
    page.texts(".sidebar li")
        .iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn create_nested_rename_move_and_delete_with_awkward_names() {
    let app = TestApp::spawn("fold-life").await;
    let stack = MailStack::shared();
    let user = &app.user;
    app.login().await;

    // Create: a quoted-and-ampersand name, then 报告 and 报告/2026 inside it.
    let quoted = r#"a "quoted" & name"#;
    for (name, parent) in [(quoted, ""), ("报告", ""), ("2026", "报告")] {
        let res = app
            .post_form("/folders", &[("name", name), ("parent", parent)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{name}: {}", res.body);
        assert_eq!(res.location(), "/folders?notice=created");
    }
    let names = server_folders(stack, user).await;
    for n in [quoted, "报告", "报告/2026"] {
        assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
    }
    // Created folders are subscribed, so other clients and the sidebar show them.
    let subs = subscribed(stack, user).await;
    assert!(subs.contains(&"报告/2026".to_owned()), "{subs:?}");
    let page = app.follow("/folders?notice=created").await;
    assert_eq!(page.texts("p.notice"), ["Folder created."]);
    let rows = page.attrs("table.folders-table tr[data-folder]", "data-folder");
    for n in [quoted, "报告", "报告/2026"] {
        assert!(rows.contains(&n.to_owned()), "{n} listed: {rows:?}");
    }
    let bar = sidebar(&page);
    assert!(
        bar.contains(&"2026".to_owned()) && bar.contains(&quoted.to_owned()),
        "{bar:?}"
    );

    // The nested folder opens and has a settings page.
    let inner = app.get("/mail/%E6%8A%A5%E5%91%8A%2F2026").await;
    assert_eq!(inner.status, StatusCode::OK);
    let settings = app.get(&folder_path("报告/2026")).await;
    assert_eq!(settings.attrs("h1", "data-folder"), ["报告/2026"]);
    assert_eq!(settings.attrs("#folder-name", "value"), ["2026"]);
    assert_eq!(
        settings.attrs("#folder-parent option[selected]", "value"),
        ["报告"]
    );

    // Rename and move in one go: 报告/2026 → top level "2026 归档 & co".
    stack
        .append(user, "报告/2026", b"Subject: kept\r\n\r\nx\r\n", &[])
        .await;
    let res = app
        .post_form(
            &format!("{}/rename", folder_path("报告/2026")),
            &[("name", "2026 归档 & co"), ("parent", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        format!("{}?notice=renamed", folder_path("2026 归档 & co"))
    );
    let names = server_folders(stack, user).await;
    assert!(names.contains(&"2026 归档 & co".to_owned()), "{names:?}");
    assert!(!names.contains(&"报告/2026".to_owned()), "{names:?}");
    assert_eq!(
        stack.count(user, "2026 归档 & co").await,
        1,
        "its mail came along"
    );
    let subs = subscribed(stack, user).await;
    assert!(subs.contains(&"2026 归档 & co".to_owned()), "{subs:?}");
    assert!(!subs.contains(&"报告/2026".to_owned()), "{subs:?}");

    // Move the quoted folder under 报告, keeping its name; children move with a parent.
    let res = app
        .post_form(
            &format!("{}/rename", folder_path(quoted)),
            &[("name", quoted), ("parent", "报告")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let moved = format!("报告/{quoted}");
    assert!(server_folders(stack, user).await.contains(&moved));
    let res = app
        .post_form(
            &format!("{}/rename", folder_path("报告")),
            &[("name", "报告 旧"), ("parent", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let names = server_folders(stack, user).await;
    assert!(names.contains(&format!("报告 旧/{quoted}")), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("报告/")), "{names:?}");

    // A folder cannot move into its own subfolder.
    let res = app
        .post_form(
            &format!("{}/rename", folder_path("报告 旧")),
            &[("name", "x"), ("parent", &format!("报告 旧/{quoted}"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts(".field-error"),
        ["A folder cannot be moved into itself or one of its subfolders."]
    );

    // Delete with confirmation: the page lists the folder and its subfolder.
    let confirm = app.get(&format!("{}/delete", folder_path("报告 旧"))).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let doomed: Vec<String> = confirm.texts("ul.doomed .name");
    assert_eq!(doomed, [format!("报告 旧/{quoted}"), "报告 旧".to_owned()]);
    assert!(
        server_folders(stack, user)
            .await
            .contains(&"报告 旧".to_owned())
    );
    let res = app
        .post_form(&format!("{}/delete", folder_path("报告 旧")), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let names = server_folders(stack, user).await;
    assert!(!names.iter().any(|n| n.starts_with("报告 旧")), "{names:?}");
    assert!(
        !subscribed(stack, user)
            .await
            .iter()
            .any(|n| n.starts_with("报告 旧"))
    );
    assert_eq!(
        app.get(res.location()).await.texts("p.notice"),
        ["Folder deleted."]
    );
}

#[tokio::test]
async fn bad_names_come_back_on_the_form() {
    let app = TestApp::spawn("fold-bad").await;
    let stack = MailStack::shared();
    let user = &app.user;
    app.login().await;
    let before = server_folders(stack, user).await;
    let long = "长".repeat(80);
    let cases: [(&str, &str); 7] = [
        ("   ", "Enter a name."),
        (
            "a/b",
            "A name cannot contain \"/\": it separates folder levels. To make a subfolder, \
             choose its parent under \"Inside\".",
        ),
        (
            "stars*",
            "A name cannot contain * or %, control characters, or be \".\" or \"..\".",
        ),
        (
            "100%",
            "A name cannot contain * or %, control characters, or be \".\" or \"..\".",
        ),
        (
            "tab\there",
            "A name cannot contain * or %, control characters, or be \".\" or \"..\".",
        ),
        (&long, "This name is too long. Please use a shorter one."),
        ("Trash", "A folder with this name already exists here."),
    ];
    for (name, message) in cases {
        let res = app
            .post_form("/folders", &[("name", name), ("parent", "")])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(res.texts(".field-error"), [message], "{name:?}");
        assert_eq!(res.attrs("#folder-name", "value"), [name], "input kept");
        assert_eq!(res.attrs("#folder-name", "aria-invalid"), ["true"]);
    }
    // A parent that does not exist.
    let res = app
        .post_form("/folders", &[("name", "x"), ("parent", "Nowhere")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts(".field-error"),
        ["The chosen parent folder no longer exists."]
    );
    assert_eq!(
        server_folders(stack, user).await,
        before,
        "nothing was created"
    );

    // Special-use folders can be neither renamed nor deleted.
    let res = app
        .post_form("/folders/Trash/rename", &[("name", "Bin"), ("parent", "")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.post_form("/folders/Trash/delete", &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts(".field-error")[0].starts_with("Standard folders"));
    let res = app.post_form("/folders/INBOX/delete", &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server_folders(stack, user).await, before);
    // Their settings page offers neither.
    let page = app.get("/folders/Trash").await;
    assert!(page.attrs("a.delete-folder", "href").is_empty());
    assert!(page.attrs("form.folder-form", "action").is_empty());
}

#[tokio::test]
async fn subscribing_decides_what_the_sidebar_shows() {
    let app = TestApp::spawn("fold-sub").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Newsletters 通讯").await;
    app.login().await;
    assert!(sidebar(&app.get("/mail/INBOX").await).contains(&"Newsletters 通讯".to_owned()));

    let path = folder_path("Newsletters 通讯");
    let res = app
        .post_form(&format!("{path}/subscribe"), &[("subscribed", "false")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        !subscribed(stack, user)
            .await
            .contains(&"Newsletters 通讯".to_owned())
    );
    assert!(!sidebar(&app.get("/mail/INBOX").await).contains(&"Newsletters 通讯".to_owned()));
    // Still on the full list, with a button to bring it back; still openable.
    let list = app.get("/folders").await;
    let row = "tr[data-folder=\"Newsletters 通讯\"]";
    assert_eq!(
        list.texts(&format!("{row} button.subscribe")),
        ["Show in sidebar"]
    );
    assert_eq!(
        app.get(&format!(
            "/mail/{}",
            mailroom::web::encode_segment("Newsletters 通讯")
        ))
        .await
        .status,
        StatusCode::OK
    );

    let res = app
        .post_form(
            &format!("{path}/subscribe"),
            &[("subscribed", "true"), ("from", "folder")],
        )
        .await;
    assert_eq!(res.location(), format!("{path}?notice=subscribed"));
    assert!(
        subscribed(stack, user)
            .await
            .contains(&"Newsletters 通讯".to_owned())
    );
    assert!(sidebar(&app.get("/mail/INBOX").await).contains(&"Newsletters 通讯".to_owned()));

    // Junk values are refused; nothing changes.
    let res = app
        .post_form(&format!("{path}/subscribe"), &[("subscribed", "maybe")])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        subscribed(stack, user)
            .await
            .contains(&"Newsletters 通讯".to_owned())
    );
}

/// The form's `parent` is a folder name, never a LIST pattern: `X*` and `%` match real
/// folders on the server (`Xmas`, every top-level folder), but they name none, so the
/// form says the parent does not exist and no folder with a wildcard in its name appears.
#[tokio::test]
async fn a_wildcard_parent_is_a_name_not_a_pattern() {
    let app = TestApp::spawn("fold-wild").await;
    let stack = MailStack::shared();
    let user = &app.user;
    stack.create_mailbox(user, "Xmas").await;
    stack.create_mailbox(user, "Xmas/2026").await;
    app.login().await;
    let before = server_folders(stack, user).await;
    for parent in ["X*", "Xmas*", "X%", "%", "*", "Xmas/%"] {
        let res = app
            .post_form("/folders", &[("name", "child"), ("parent", parent)])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{parent:?}");
        assert_eq!(
            res.texts(".field-error"),
            ["The chosen parent folder no longer exists."],
            "{parent:?}"
        );
        // Moving a folder under such a "parent" is refused the same way.
        let res = app
            .post_form(
                &format!("{}/rename", folder_path("Xmas/2026")),
                &[("name", "2026"), ("parent", parent)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{parent:?}");
    }
    let after = server_folders(stack, user).await;
    assert!(
        after.iter().all(|n| !n.contains('*') && !n.contains('%')),
        "{after:?}"
    );
    assert_eq!(after, before, "nothing was created or moved");
    // A real parent still works, and the new folder is exactly where it was asked for.
    let res = app
        .post_form("/folders", &[("name", "child"), ("parent", "Xmas")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        server_folders(stack, user)
            .await
            .contains(&"Xmas/child".to_owned())
    );
}
