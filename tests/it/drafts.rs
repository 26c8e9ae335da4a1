//! Drafts open in the editor from the message page (issue 13 item 3): a draft in Drafts
//! gets an "Edit draft" action; the editor has its recipients, subject, text and files;
//! sending it leaves no copy in Drafts and the file arrives. A hostile draft is only ever
//! text in the editor. Against the real Postfix + Dovecot.

use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;

use crate::common::{app::TestApp, mailstack::MailStack};
use crate::compose::{DELIVERY, form_fields, messages, post_compose};

/// A draft as another client (or an earlier session) left it: multipart with a file.
fn draft_with_file(to: &str, file_b64: &str) -> Vec<u8> {
    format!(
        "From: me@example.test\r\nTo: {to}\r\nCc: carol@example.test\r\nSubject: Budget 预算\r\n\
         Date: Wed, 02 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHalf-written text.\r\n--b1\r\n\
         Content-Type: application/octet-stream; name=\"numbers.bin\"\r\n\
         Content-Disposition: attachment; filename=\"numbers.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{file_b64}\r\n--b1--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_draft_opened_from_drafts_is_edited_and_sent_with_its_file() {
    use base64::Engine as _;
    let stack = MailStack::shared();
    let app = TestApp::spawn("drafts-edit").await;
    let bob = stack.add_user("drafts-edit-b");
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    stack
        .append(
            &app.user,
            "Drafts",
            &draft_with_file(&bob.address, &b64),
            &["\\Draft", "\\Seen"],
        )
        .await;
    stack
        .append(
            &app.user,
            "INBOX",
            &draft_with_file(&bob.address, &b64),
            &[],
        )
        .await;
    app.login().await;

    // A message elsewhere has no Edit action.
    let inbox = app.get("/mail/INBOX/1").await;
    assert!(inbox.attrs("a.edit-draft", "href").is_empty());

    // The Drafts list links to the message page, which offers Edit first.
    let list = app.get("/mail/Drafts").await;
    assert_eq!(
        list.texts("table.messages td.subject a"),
        vec!["Budget 预算"]
    );
    let page = app.get("/mail/Drafts/1").await;
    assert_eq!(page.status, StatusCode::OK);
    let edit = page.attrs("a.edit-draft", "href");
    assert_eq!(edit, vec!["/compose?draft=Drafts%2F1"]);

    let (editor, f) = form_fields(&app, &edit[0]).await;
    assert_eq!(f["to"], bob.address);
    assert_eq!(f["cc"], "carol@example.test");
    assert_eq!(f["subject"], "Budget 预算");
    assert!(f["body"].contains("Half-written text."), "{}", f["body"]);
    assert_eq!(f["draft"], "Drafts/1");
    assert_eq!(editor.texts(".staged .filename"), vec!["numbers.bin"]);

    let sent = post_compose(
        &app,
        &f,
        &[("cc", ""), ("body", "Finished text."), ("action", "send")],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    // No copy of the draft is left on the server.
    assert_eq!(messages(stack, &app.user, "Drafts").await.len(), 0);
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(m.subject(), Some("Budget 预算"));
    assert!(m.body_text(0).is_some_and(|t| t.contains("Finished text.")));
    let file = m.attachments().next().expect("the draft's file was sent");
    assert_eq!(file.attachment_name(), Some("numbers.bin"));
    assert_eq!(file.contents(), &data[..]);
}

#[tokio::test]
async fn a_hostile_draft_is_text_in_the_editor() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("drafts-hostile").await;
    let eml = "From: me@example.test\r\nTo: \"<script>alert(1)</script>\" <x@example.test>\r\n\
         Subject: <img src=x onerror=alert(2)>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <p>Hi</p><script>alert(3)</script><textarea></textarea><img src=x onerror=alert(4)>\r\n";
    stack
        .append(&app.user, "Drafts", eml.as_bytes(), &["\\Draft"])
        .await;
    app.login().await;
    let page = app.get("/mail/Drafts/1").await;
    let edit = page.attrs("a.edit-draft", "href");
    assert_eq!(edit.len(), 1);
    let (editor, f) = form_fields(&app, &edit[0]).await;
    // Tags from the draft appear only escaped (as text in fields), never as markup.
    for bad in ["<script>alert", "<img src=x", "</textarea><"] {
        assert!(!editor.body.contains(bad), "{bad} reached the editor page");
    }
    assert!(
        f["subject"].contains("<img src=x onerror=alert(2)>"),
        "{f:?}"
    );
    assert!(f["body"].contains("Hi"), "{}", f["body"]);
}

/// Issue 13 item 4, in part: the message page's Move menu starts on no folder, and a Move
/// posted without one moves nothing.
#[tokio::test]
async fn move_on_the_message_page_never_defaults_to_a_folder() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("move-default").await;
    let eml = "From: a@example.test\r\nTo: me@example.test\r\nSubject: stay\r\n\r\nHi.\r\n";
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;
    stack.create_mailbox(&app.user, "Projects").await;
    app.login().await;
    let page = app.get("/mail/INBOX/1").await;
    let options = page.attrs("#move-target option", "value");
    assert_eq!(options.first().map(String::as_str), Some(""), "{options:?}");
    assert!(options.iter().any(|o| o == "Projects"));
    assert_eq!(
        page.attrs("#move-target option[selected]", "value"),
        vec![""]
    );
    assert_eq!(page.attrs("#move-target[required]", "name"), vec!["target"]);
    let uidvalidity = page.attrs("form.action-move input[name=uidvalidity]", "value");
    let res = app
        .post_form(
            "/mail/INBOX/actions",
            &[
                ("uid", "1"),
                ("uidvalidity", &uidvalidity[0]),
                ("from", "message"),
                ("action", "move"),
                ("target", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location().contains("notice=choose_target"),
        "{}",
        res.location()
    );
    assert_eq!(stack.count(&app.user, "INBOX").await, 1);
    assert_eq!(stack.count(&app.user, "Projects").await, 0);
}
