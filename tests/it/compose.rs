//! Writing mail against the real Postfix + Dovecot: sending with attachments and non-ASCII
//! text, Bcc, the Sent copy, reply / reply all / forward, drafts, DSN, read receipts, every
//! bad input (the form comes back with everything), SMTP down, double submit, header
//! injection, and a session that expires while composing.

use std::{collections::HashMap, time::Duration};

use futures::TryStreamExt;
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};

use crate::common::{
    app::{Page, TestApp},
    mailstack::{MailStack, TestUser},
};

/// Deliveries take well under a second; this is the patience for a slow CI machine.
pub(crate) const DELIVERY: Duration = Duration::from_secs(20);

/// A file to upload: (name, bytes, content type).
type File<'a> = (&'a str, &'a [u8], &'a str);

/// The compose form's fields as the page fills them (hidden ones included).
pub(crate) async fn form_fields(app: &TestApp, path: &str) -> (Page, HashMap<String, String>) {
    let page = app.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "GET {path}: {}", page.body);
    let fields = fields_of(&page);
    (page, fields)
}

/// Reads the compose form of a page: inputs (checked boxes only), the textarea, the
/// selected options.
pub(crate) fn fields_of(page: &Page) -> HashMap<String, String> {
    let doc = scraper::Html::parse_document(&page.body);
    let mut out = HashMap::new();
    let input = scraper::Selector::parse("form.compose-form input[name]").expect("selector");
    for e in doc.select(&input) {
        let v = e.value();
        let kind = v.attr("type").unwrap_or("text");
        if kind == "file" || kind == "submit" {
            continue;
        }
        if (kind == "checkbox" || kind == "radio") && v.attr("checked").is_none() {
            continue;
        }
        let name = v.attr("name").unwrap_or_default().to_owned();
        let value = v.attr("value").unwrap_or_default().to_owned();
        // Several staged files share a name: keep them comma-joined for the helper below.
        out.entry(name)
            .and_modify(|old: &mut String| {
                old.push(',');
                old.push_str(&value);
            })
            .or_insert(value);
    }
    let textarea = scraper::Selector::parse("form.compose-form textarea[name]").expect("selector");
    for e in doc.select(&textarea) {
        out.insert(
            e.value().attr("name").unwrap_or_default().to_owned(),
            e.text().collect(),
        );
    }
    let select = scraper::Selector::parse("form.compose-form select[name]").expect("selector");
    let option = scraper::Selector::parse("option[selected]").expect("selector");
    for e in doc.select(&select) {
        if let Some(o) = e.select(&option).next() {
            out.insert(
                e.value().attr("name").unwrap_or_default().to_owned(),
                o.value().attr("value").unwrap_or_default().to_owned(),
            );
        }
    }
    out
}

/// POSTs the compose form as multipart/form-data: `fields` over `base`, then the files.
pub(crate) async fn post_compose(
    app: &TestApp,
    base: &HashMap<String, String>,
    fields: &[(&str, &str)],
    files: &[File<'_>],
) -> Page {
    let mut all: Vec<(String, String)> = Vec::new();
    let overridden: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    for (k, v) in base {
        if overridden.contains(&k.as_str()) {
            continue;
        }
        if k == "staged" {
            for id in v.split(',').filter(|s| !s.is_empty()) {
                all.push((k.clone(), id.to_owned()));
            }
        } else {
            all.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in fields {
        all.push((k.to_string(), v.to_string()));
    }
    let mut form = Form::new();
    for (k, v) in all {
        form = form.text(k, v);
    }
    for (name, data, ct) in files {
        let part = Part::bytes(data.to_vec())
            .file_name(name.to_string())
            .mime_str(ct)
            .expect("content type");
        form = form.part("attachments", part);
    }
    app.post_multipart("/compose", form).await
}

/// Every message of a folder: (flags as text, raw bytes), in UID order.
pub(crate) async fn messages(
    stack: &MailStack,
    user: &TestUser,
    mailbox: &str,
) -> Vec<(Vec<String>, Vec<u8>)> {
    let mut s = stack.imap(user).await;
    s.select(mailbox).await.expect("SELECT");
    let fetched: Vec<_> = s
        .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
        .await
        .expect("UID FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let mut out: Vec<(u32, Vec<String>, Vec<u8>)> = fetched
        .iter()
        .filter_map(|f| {
            let body = f.body()?.to_vec();
            let flags = f.flags().map(|fl| format!("{fl:?}")).collect();
            Some((f.uid.unwrap_or(0), flags, body))
        })
        .collect();
    out.sort_by_key(|m| m.0);
    let _ = s.logout().await;
    out.into_iter().map(|(_, f, b)| (f, b)).collect()
}

/// Flags of one message, as text.
pub(crate) async fn flags_of(
    stack: &MailStack,
    user: &TestUser,
    mailbox: &str,
    uid: u32,
) -> Vec<String> {
    let mut s = stack.imap(user).await;
    s.select(mailbox).await.expect("SELECT");
    let fetched: Vec<_> = s
        .uid_fetch(uid.to_string(), "FLAGS")
        .await
        .expect("UID FETCH")
        .try_collect()
        .await
        .expect("FETCH");
    let _ = s.logout().await;
    fetched
        .iter()
        .flat_map(|f| f.flags().map(|fl| format!("{fl:?}")).collect::<Vec<_>>())
        .collect()
}

pub(crate) fn binary(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A fresh sender app (logged in) and a recipient on the shared stack.
async fn pair(prefix: &str) -> (TestApp, TestUser) {
    let app = TestApp::spawn(&format!("{prefix}-a")).await;
    app.login().await;
    let bob = MailStack::shared().add_user(&format!("{prefix}-b"));
    (app, bob)
}

#[tokio::test]
async fn send_with_chinese_subject_and_two_attachments_arrives_byte_identical() {
    let stack = MailStack::shared();
    let (app, bob) = pair("send").await;
    let carol = stack.add_user("send-c");
    let pdf = binary(200_000, 7);
    let notes = "第一行\nsecond line\r\nthird\n".as_bytes().to_vec();
    let (_, base) = form_fields(&app, "/compose").await;
    assert!(!base["compose_id"].is_empty());
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", &format!("Bob 鲍勃 <{}>", bob.address)),
            ("bcc", &carol.address),
            ("subject", "季度报告 📈 Q3"),
            ("body", "你好 Bob,\n附件是报告。\n"),
            ("action", "send"),
        ],
        &[
            ("report.pdf", &pdf, "application/pdf"),
            ("说明.txt", &notes, "text/plain"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(
        page.location().starts_with("/mail/INBOX"),
        "{}",
        page.location()
    );
    let landing = app.get(page.location()).await;
    assert!(
        landing.body.contains("Message sent"),
        "no sent notice on {}",
        page.location()
    );

    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let inbox = messages(stack, &bob, "INBOX").await;
    let raw = &inbox[0].1;
    let m = MessageParser::default().parse(raw).expect("parse");
    assert_eq!(m.subject(), Some("季度报告 📈 Q3"));
    assert!(m.body_text(0).unwrap_or_default().contains("附件是报告"));
    let from = m.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.address.as_deref(), Some(app.user.address.as_str()));
    assert!(m.date().is_some() && m.message_id().is_some());
    let to = m.to().and_then(|t| t.first()).expect("To");
    assert_eq!(to.name.as_deref(), Some("Bob 鲍勃"));
    let files: Vec<(String, Vec<u8>)> = m
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or("").to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].0, "report.pdf");
    assert_eq!(files[0].1, pdf, "the PDF changed on the way");
    assert_eq!(files[1].0, "说明.txt");
    assert_eq!(files[1].1, notes, "the text file changed on the way");
    let text = String::from_utf8_lossy(raw);
    assert!(
        !text.contains(&carol.address),
        "Bcc visible to To recipients"
    );
    assert!(!text.to_ascii_lowercase().contains("\nbcc:"));

    // Bcc got it too.
    stack.wait_for_count(&carol, "INBOX", 1, DELIVERY).await;
    // The Sent copy: one message, \Seen, without Bcc header but otherwise the same.
    let sent = messages(stack, &app.user, "Sent").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.iter().any(|f| f == "Seen"), "{:?}", sent[0].0);
    let sent_parsed = MessageParser::default().parse(&sent[0].1).expect("parse");
    assert_eq!(sent_parsed.message_id(), m.message_id());
    // The recipients were collected into the address book.
    let suggest = app.get("/contacts/suggest?q=send-b").await;
    assert!(suggest.body.contains(&bob.address), "{}", suggest.body);
}

#[tokio::test]
async fn reply_and_reply_all_thread_quote_and_flag_answered() {
    let stack = MailStack::shared();
    let (app, bob) = pair("reply").await;
    let me = app.user.address.clone();
    let eml = format!(
        "From: Bob <{bob}>\r\nTo: {me}, Dave <dave@example.test>\r\nCc: erin@example.test\r\n\
         Subject: Lunch?\r\nDate: Wed, 25 Nov 2026 09:30:00 +0000\r\nMessage-ID: <orig-1@example.test>\r\n\
         References: <root-0@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Are we still on for noon?\r\n> older quote\r\n",
        bob = bob.address
    );
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;

    // The message page offers the three links.
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.attrs("a.reply", "href"),
        vec!["/compose?reply=INBOX%2F1"]
    );
    assert_eq!(
        page.attrs("a.reply-all", "href"),
        vec!["/compose?reply_all=INBOX%2F1"]
    );
    assert_eq!(
        page.attrs("a.forward", "href"),
        vec!["/compose?forward=INBOX%2F1"]
    );

    let (_, all) = form_fields(&app, "/compose?reply_all=INBOX%2F1").await;
    assert!(all["to"].contains(&bob.address) && all["to"].contains("dave@example.test"));
    assert!(
        !all["to"].contains(&me) && !all["cc"].contains(&me),
        "own address kept: {all:?}"
    );
    assert_eq!(all["cc"], "erin@example.test");
    assert_eq!(all["subject"], "Re: Lunch?");

    let (_, f) = form_fields(&app, "/compose?reply=INBOX%2F1").await;
    assert_eq!(f["to"], format!("Bob <{}>", bob.address));
    assert_eq!(f["cc"], "");
    assert_eq!(f["in_reply_to"], "orig-1@example.test");
    assert_eq!(f["references"], "root-0@example.test orig-1@example.test");
    assert!(f["body"].contains("Bob wrote:"), "{}", f["body"]);
    assert!(f["body"].contains("> Are we still on for noon?"));
    assert!(f["body"].contains(">> older quote"));

    let page = post_compose(&app, &f, &[("action", "send")], &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(m.subject(), Some("Re: Lunch?"));
    assert_eq!(m.in_reply_to().as_text(), Some("orig-1@example.test"));
    let refs: Vec<String> = m
        .references()
        .as_text_list()
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(refs, ["root-0@example.test", "orig-1@example.test"]);
    assert!(
        m.body_text(0)
            .unwrap_or_default()
            .contains("> Are we still on")
    );
    // A second "Re:" is not added when replying to the reply.
    assert!(
        flags_of(stack, &app.user, "INBOX", 1)
            .await
            .iter()
            .any(|f| f == "Answered")
    );
}

#[tokio::test]
async fn forward_inline_with_attachments_and_as_message_sets_forwarded() {
    let stack = MailStack::shared();
    let (app, bob) = pair("fwd").await;
    let png = binary(5000, 3);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let eml = format!(
        "From: Zoe <zoe@example.test>\r\nTo: {me}\r\nSubject: Photos\r\nMessage-ID: <ph-1@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHere are the photos.\r\n--b\r\n\
         Content-Type: image/png\r\nContent-Disposition: attachment; filename=cat.png\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n",
        me = app.user.address
    );
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;

    let (page, f) = form_fields(&app, "/compose?forward=INBOX%2F1").await;
    assert_eq!(f["subject"], "Fwd: Photos");
    assert_eq!(f["include_original"], "1");
    assert_eq!(f["forward_mode"], "inline");
    assert!(page.texts(".forward-mode .hint")[0].contains("Photos"));
    // The forwarded text is in the editor; what is sent is what it holds.
    let body = format!("FYI{}", f["body"]);
    let sent = post_compose(
        &app,
        &f,
        &[("to", &bob.address), ("body", &body), ("action", "send")],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    let text = m.body_text(0).unwrap_or_default().into_owned();
    assert!(text.starts_with("FYI"), "{text}");
    assert!(
        text.contains("Forwarded message") && text.contains("Here are the photos."),
        "{text}"
    );
    let att: Vec<_> = m.attachments().collect();
    assert_eq!(att.len(), 1);
    assert_eq!(att[0].attachment_name(), Some("cat.png"));
    assert_eq!(att[0].contents(), png.as_slice());
    assert!(
        flags_of(stack, &app.user, "INBOX", 1)
            .await
            .iter()
            .any(|f| f.contains("$Forwarded"))
    );

    // As an attached message this time.
    let (_, f) = form_fields(&app, "/compose?forward=INBOX%2F1").await;
    let sent = post_compose(
        &app,
        &f,
        &[
            ("to", &bob.address),
            ("forward_mode", "attachment"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 2, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[1].1).expect("parse");
    let inner = m
        .attachments()
        .find(|a| a.is_message())
        .and_then(|a| a.message())
        .expect("a message/rfc822 part");
    assert_eq!(inner.subject(), Some("Photos"));
    assert_eq!(inner.message_id(), Some("ph-1@example.test"));
    assert!(String::from_utf8_lossy(&got[1].1).contains("Content-Type: message/rfc822"));
}

/// A message forwarded as an attachment is named after its subject read as a title: a
/// slash in it is not a path ("Q1/Q2 report" stays whole, as on the message page).
#[tokio::test]
async fn a_forwarded_attachment_keeps_a_subject_with_a_slash_whole() {
    let stack = MailStack::shared();
    let (app, bob) = pair("fwd-slash").await;
    let eml = format!(
        "From: Zoe <zoe@example.test>\r\nTo: {me}\r\nSubject: Q1/Q2 report\r\n\
         Message-ID: <q12@example.test>\r\n\r\nBoth quarters.\r\n",
        me = app.user.address
    );
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;
    let (_, f) = form_fields(&app, "/compose?forward=INBOX%2F1").await;
    let sent = post_compose(
        &app,
        &f,
        &[
            ("to", &bob.address),
            ("forward_mode", "attachment"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    let names: Vec<_> = m
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names, vec!["Q1_Q2 report.eml"]);
}

#[tokio::test]
async fn draft_saves_reopens_with_attachments_replaces_and_is_removed_on_send() {
    let stack = MailStack::shared();
    let (app, bob) = pair("draft").await;
    let data = binary(30_000, 9);
    let (_, base) = form_fields(&app, "/compose").await;
    let saved = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("bcc", "hidden@example.test"),
            ("subject", "Plan 草稿"),
            ("body", "first version"),
            ("priority", "high"),
            ("action", "draft"),
        ],
        &[("plan.bin", &data, "application/octet-stream")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        saved.location().starts_with("/compose?draft=Drafts%2F"),
        "{}",
        saved.location()
    );
    let drafts = messages(stack, &app.user, "Drafts").await;
    assert_eq!(drafts.len(), 1);
    assert!(
        drafts[0].0.iter().any(|f| f == "Draft"),
        "{:?}",
        drafts[0].0
    );
    assert!(
        String::from_utf8_lossy(&drafts[0].1).contains("hidden@example.test"),
        "Bcc kept in the draft"
    );

    // Reopen: every field and the file are back.
    let (page, f) = form_fields(&app, saved.location()).await;
    assert_eq!(f["to"], bob.address);
    assert_eq!(f["bcc"], "hidden@example.test");
    assert_eq!(f["subject"], "Plan 草稿");
    assert_eq!(f["body"].trim_end(), "first version");
    assert_eq!(f["priority"], "high");
    assert_eq!(page.texts(".staged .filename"), vec!["plan.bin"]);
    assert_eq!(page.texts("p.notice").len(), 1);

    // Save again: the old version is replaced.
    let saved = post_compose(
        &app,
        &f,
        &[("body", "second version"), ("action", "draft")],
        &[],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let drafts = messages(stack, &app.user, "Drafts").await;
    assert_eq!(drafts.len(), 1, "the previous draft was not replaced");
    assert!(String::from_utf8_lossy(&drafts[0].1).contains("second version"));

    // Send it: Drafts is empty, the file arrives intact.
    let (_, f) = form_fields(&app, saved.location()).await;
    let sent = post_compose(&app, &f, &[("bcc", ""), ("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    assert_eq!(messages(stack, &app.user, "Drafts").await.len(), 0);
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(m.subject(), Some("Plan 草稿"));
    assert_eq!(
        m.attachments().next().map(|a| a.contents().to_vec()),
        Some(data)
    );
    assert_eq!(
        m.header_raw("X-Priority").map(str::trim),
        Some("1 (Highest)")
    );
}

#[tokio::test]
async fn dsn_parameters_reach_postfix_and_the_report_comes_back() {
    let stack = MailStack::shared();
    let (app, bob) = pair("dsn").await;
    let (_, base) = form_fields(&app, "/compose").await;
    let envid = base["compose_id"].clone();
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "tracked"),
            ("body", "please confirm delivery"),
            ("request_dsn", "1"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    // NOTIFY=SUCCESS: Postfix reports the delivery back to the sender, with our ENVID.
    stack.wait_for_count(&app.user, "INBOX", 1, DELIVERY).await;
    let reports = messages(stack, &app.user, "INBOX").await;
    let raw = String::from_utf8_lossy(&reports[0].1).into_owned();
    assert!(raw.contains("report-type=delivery-status"), "{raw}");
    assert!(
        raw.contains(&format!("Original-Envelope-Id: {envid}")),
        "{raw}"
    );
    // ORCPT came through too; LMTP hand-off is reported as "relayed" (Dovecot's LMTP
    // does not speak DSN itself), which still means NOTIFY=SUCCESS was honoured.
    assert!(
        raw.contains(&format!("Original-Recipient: rfc822;{}", bob.address)),
        "{raw}"
    );
    let lower = raw.to_ascii_lowercase();
    assert!(
        lower.contains("action: delivered") || lower.contains("action: relayed"),
        "{raw}"
    );
    let log = std::fs::read_to_string(stack.postfix_log()).unwrap_or_default();
    assert!(
        log.contains("delivery status notification"),
        "Postfix log has no DSN line"
    );
}

#[tokio::test]
async fn read_receipt_is_asked_offered_sent_once_and_well_formed() {
    let stack = MailStack::shared();
    let (alice, bob) = pair("mdn").await;
    let (_, base) = form_fields(&alice, "/compose").await;
    let page = post_compose(
        &alice,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "Did you read this?"),
            ("body", "hello"),
            ("request_mdn", "1"),
            ("priority", "low"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    let dnt = m
        .header_raw("Disposition-Notification-To")
        .expect("Disposition-Notification-To");
    assert!(dnt.contains(&alice.user.address), "{dnt}");
    assert_eq!(m.header_raw("Importance").map(str::trim), Some("low"));
    let original_id = m.message_id().expect("Message-ID").to_owned();

    // Bob opens it in his own Mailroom: the question is asked, nothing is sent.
    let bob_app = TestApp::spawn_with(stack, bob.clone(), |_| {}).await;
    bob_app.login().await;
    let page = bob_app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.texts(".receipt-prompt button").len(),
        2,
        "{}",
        page.body
    );
    let action = page.attrs(".receipt-prompt form", "action")[0].clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.count(&alice.user, "INBOX").await,
        0,
        "a receipt went out by itself"
    );

    let res = bob_app.post_form(&action, &[("action", "send")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // A second click does not send a second receipt.
    let res = bob_app.post_form(&action, &[("action", "send")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    stack
        .wait_for_count(&alice.user, "INBOX", 1, DELIVERY)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let receipts = messages(stack, &alice.user, "INBOX").await;
    assert_eq!(receipts.len(), 1);
    let r = MessageParser::default()
        .parse(&receipts[0].1)
        .expect("parse");
    let ct = r.content_type().expect("Content-Type");
    assert_eq!(ct.ctype(), "multipart");
    assert_eq!(ct.subtype(), Some("report"));
    assert_eq!(
        ct.attribute("report-type"),
        Some("disposition-notification")
    );
    let raw = String::from_utf8_lossy(&receipts[0].1).into_owned();
    assert!(
        raw.contains("Content-Type: message/disposition-notification"),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("Original-Message-ID: <{original_id}>")),
        "{raw}"
    );
    assert!(raw.contains("Disposition: manual-action/MDN-sent-manually; displayed"));
    assert!(raw.contains(&format!("Final-Recipient: rfc822;{}", bob.address)));
    assert!(
        flags_of(stack, &bob, "INBOX", 1)
            .await
            .iter()
            .any(|f| f.contains("$MDNSent"))
    );
    let page = bob_app.get("/mail/INBOX/1").await;
    assert!(
        page.texts(".receipt-prompt").is_empty(),
        "asked again after answering"
    );

    // "Ignore" sends nothing and stops the question too.
    let eml = format!(
        "From: {a}\r\nTo: {b}\r\nSubject: again\r\nMessage-ID: <again@example.test>\r\n\
         Disposition-Notification-To: {a}\r\n\r\nhi\r\n",
        a = alice.user.address,
        b = bob.address
    );
    stack.append(&bob, "INBOX", eml.as_bytes(), &[]).await;
    let res = bob_app
        .post_form("/mail/INBOX/2/receipt", &[("action", "ignore")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        flags_of(stack, &bob, "INBOX", 2)
            .await
            .iter()
            .any(|f| f.contains("$MDNSent"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.count(&alice.user, "INBOX").await,
        1,
        "Ignore sent a receipt"
    );
}

/// Asserts the form came back with the user's input, the staged file, and a message
/// beside `field`.
fn assert_form_kept(page: &Page, field: &str, to: &str, file: &str) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let f = fields_of(page);
    assert_eq!(f["to"], to);
    assert_eq!(f["subject"], "Keep me 保留");
    assert_eq!(f["body"], "Every word\nstays.");
    assert_eq!(f["cc"], "carol@example.test");
    assert_eq!(page.texts(".staged .filename"), vec![file.to_owned()]);
    let errors = page.texts(&format!("#compose-{field}-error"));
    assert_eq!(errors.len(), 1, "no message beside {field}: {}", page.body);
    assert!(!errors[0].is_empty());
}

#[tokio::test]
async fn every_bad_input_shows_the_form_again_with_everything() {
    let stack = MailStack::shared();
    let (app, bob) = pair("bad").await;
    let file = binary(2000, 1);
    for bad_to in ["bob@", "a b@c.example"] {
        let (_, base) = form_fields(&app, "/compose").await;
        let page = post_compose(
            &app,
            &base,
            &[
                ("to", bad_to),
                ("cc", "carol@example.test"),
                ("subject", "Keep me 保留"),
                ("body", "Every word\r\nstays."),
                ("action", "send"),
            ],
            &[("keep.bin", &file, "application/octet-stream")],
        )
        .await;
        assert_form_kept(&page, "to", bad_to, "keep.bin");
    }
    // No recipient at all.
    let (_, base) = form_fields(&app, "/compose").await;
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", ""),
            ("subject", "none"),
            ("body", "x"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("#compose-to-error").len(), 1);

    // Fix the address in the form that came back: it goes out with the staged file.
    let (_, base) = form_fields(&app, "/compose").await;
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", "bob@"),
            ("cc", "carol@example.test"),
            ("subject", "Keep me 保留"),
            ("body", "Every word\nstays."),
            ("action", "send"),
        ],
        &[("keep.bin", &file, "application/octet-stream")],
    )
    .await;
    assert_form_kept(&page, "to", "bob@", "keep.bin");
    let again = fields_of(&page);
    let sent = post_compose(
        &app,
        &again,
        &[("to", &bob.address), ("cc", ""), ("action", "send")],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(
        m.attachments().next().map(|a| a.contents().to_vec()),
        Some(file)
    );
}

#[tokio::test]
async fn an_attachment_over_the_limit_is_refused_politely_and_the_rest_stays() {
    let stack = MailStack::shared();
    let user = stack.add_user("big-a");
    let app = TestApp::spawn_with(stack, user, |c| c.max_message_size = 64 * 1024).await;
    app.login().await;
    let small = binary(1000, 2);
    let big = binary(60_000, 4); // 60 KB raw is 81 KB base64: over 64 KB.
    let (_, base) = form_fields(&app, "/compose").await;
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", "bob@"),
            ("cc", "carol@example.test"),
            ("subject", "Keep me 保留"),
            ("body", "Every word\nstays."),
            ("action", "send"),
        ],
        &[
            ("small.bin", &small, "application/octet-stream"),
            ("huge.bin", &big, "application/octet-stream"),
        ],
    )
    .await;
    assert_form_kept(&page, "attachments", "bob@", "small.bin");
    assert!(page.texts("#compose-attachments-error")[0].contains("huge.bin"));

    // Far over the limit (past the hard cap): still the form, not a bare 413.
    let (_, base) = form_fields(&app, "/compose").await;
    let huge = binary(400_000, 5);
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", "bob@example.test"),
            ("cc", "carol@example.test"),
            ("subject", "Keep me 保留"),
            ("body", "Every word\nstays."),
            ("action", "send"),
        ],
        &[("huge.bin", &huge, "application/octet-stream")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.status);
    assert_eq!(fields_of(&page)["subject"], "Keep me 保留");
    assert_eq!(page.texts("#compose-attachments-error").len(), 1);
}

#[tokio::test]
async fn header_injection_is_refused_and_nothing_is_sent() {
    let stack = MailStack::shared();
    let (app, bob) = pair("inject").await;
    let evil = stack.add_user("inject-evil");
    let cases: [(&str, String, String); 3] = [
        (
            "subject",
            bob.address.clone(),
            format!("Hi\r\nBcc: {}", evil.address),
        ),
        (
            "to",
            format!("{}\r\nBcc: {}", bob.address, evil.address),
            "Hi".into(),
        ),
        (
            "to",
            format!("\"Bob\r\nBcc: {}\" <{}>", evil.address, bob.address),
            "Hi".into(),
        ),
    ];
    for (field, to, subject) in cases {
        let (_, base) = form_fields(&app, "/compose").await;
        let page = post_compose(
            &app,
            &base,
            &[
                ("to", &to),
                ("subject", &subject),
                ("body", "x"),
                ("action", "send"),
            ],
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{field}: {}", page.body);
        assert_eq!(
            page.texts(&format!("#compose-{field}-error")).len(),
            1,
            "{field}"
        );
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 0);
    assert_eq!(stack.count(&evil, "INBOX").await, 0);
}

#[tokio::test]
async fn smtp_down_saves_a_draft_says_so_and_sends_later() {
    let stack = MailStack::start_private();
    let user = stack.add_user("down-a");
    let bob = stack.add_user("down-b");
    let app = TestApp::spawn_with(&stack, user, |_| {}).await;
    app.login().await;
    let file = binary(3000, 6);
    let (_, base) = form_fields(&app, "/compose").await;
    stack.stop_smtp();
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("bcc", "quiet@example.test"),
            ("subject", "while down"),
            ("body", "not lost"),
            ("action", "send"),
        ],
        &[("f.bin", &file, "application/octet-stream")],
    )
    .await;
    stack.start_smtp();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.texts("#compose-error").len(), 1, "no error shown");
    assert_eq!(page.texts("p.notice").len(), 1, "not told about the draft");
    let f = fields_of(&page);
    assert_eq!(f["subject"], "while down");
    assert!(f["draft"].starts_with("Drafts/"), "{f:?}");
    let drafts = messages(&stack, &app.user, "Drafts").await;
    assert_eq!(drafts.len(), 1);
    let d = MessageParser::default().parse(&drafts[0].1).expect("parse");
    assert_eq!(d.subject(), Some("while down"));
    assert_eq!(
        d.attachments().next().map(|a| a.contents().to_vec()),
        Some(file.clone())
    );

    // Server back: the same form goes out, and the automatic draft goes away.
    let sent = post_compose(&app, &f, &[("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    assert_eq!(messages(&stack, &app.user, "Drafts").await.len(), 0);
    let got = messages(&stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(
        m.attachments().next().map(|a| a.contents().to_vec()),
        Some(file)
    );
}

#[tokio::test]
async fn double_submit_sends_once() {
    let stack = MailStack::shared();
    let (app, bob) = pair("twice").await;
    let (_, base) = form_fields(&app, "/compose").await;
    let fields = [
        ("to", bob.address.as_str()),
        ("subject", "only once"),
        ("body", "click click"),
        ("action", "send"),
    ];
    let (a, b) = tokio::join!(
        post_compose(&app, &base, &fields, &[]),
        post_compose(&app, &base, &fields, &[])
    );
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(b.status, StatusCode::SEE_OTHER, "{}", b.body);
    // A reload of the POST later: still nothing new.
    let c = post_compose(&app, &base, &fields, &[]).await;
    assert_eq!(c.status, StatusCode::SEE_OTHER);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 1);
    assert_eq!(messages(stack, &app.user, "Sent").await.len(), 1);
}

/// Idle seconds after which the sessions of [`expiring`] apps end.
pub(crate) const IDLE: u64 = 2;

/// An app whose sessions end after [`IDLE`] idle seconds (`tweak` changes more), logged
/// in, and a recipient.
async fn expiring(
    prefix: &str,
    tweak: impl FnOnce(&mut mailroom::config::Config),
) -> (TestApp, TestUser) {
    let stack = MailStack::shared();
    let app = TestApp::spawn_with(stack, stack.add_user(&format!("{prefix}-a")), |c| {
        c.session_idle_timeout = Duration::from_secs(IDLE);
        tweak(c);
    })
    .await;
    // The recipient first: making a user can take longer than the idle timeout on a
    // loaded machine, and the session must still be fresh when the caller goes on.
    let to = stack.add_user(&format!("{prefix}-b"));
    app.login().await;
    (app, to)
}

/// Lets the session of an [`expiring`] app run out, as it does while the user writes.
pub(crate) async fn let_the_session_expire() {
    tokio::time::sleep(Duration::from_millis(IDLE * 1000 + 1200)).await;
}

/// The `next` of a redirect to the login page, decoded.
pub(crate) fn login_next(page: &Page) -> String {
    assert!(
        page.location().starts_with("/login?next="),
        "{} {}",
        page.location(),
        page.body
    );
    percent_encoding::percent_decode_str(page.location().trim_start_matches("/login?next="))
        .decode_utf8_lossy()
        .into_owned()
}

/// Logs `app`'s user in through the login form with `next`, as the login page would.
pub(crate) async fn login_to(app: &TestApp, next: &str) {
    let login = app
        .post_form(
            "/login",
            &[
                ("username", &app.user.address),
                ("password", &app.user.password),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert_eq!(login.location(), next);
}

#[tokio::test]
async fn an_expired_session_brings_the_form_back_after_login() {
    let (app, bob) = expiring("expired", |_| {}).await;
    let (_, base) = form_fields(&app, "/compose").await;
    // The session ends while the user writes.
    let_the_session_expire().await;
    let file = binary(1500, 8);
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "written slowly"),
            ("body", "long text\nkept"),
            ("action", "send"),
        ],
        &[("slow.bin", &file, "application/octet-stream")],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let next = login_next(&page);
    assert_eq!(app.count_rows("compose_parked").await, 1);
    login_to(&app, &next).await;
    let (page, f) = form_fields(&app, &next).await;
    assert_eq!(f["to"], bob.address);
    assert_eq!(f["subject"], "written slowly");
    assert_eq!(f["body"], "long text\nkept");
    assert_eq!(page.texts(".staged .filename"), vec!["slow.bin"]);
    assert_eq!(page.texts("p.notice").len(), 1);
    assert_eq!(app.count_rows("compose_parked").await, 0, "restored once");
    // And it sends from there.
    let sent = post_compose(&app, &f, &[("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    MailStack::shared()
        .wait_for_count(&bob, "INBOX", 1, DELIVERY)
        .await;
}

#[tokio::test]
async fn a_logout_parks_nothing() {
    let (app, bob) = pair("loggedout").await;
    let (_, base) = form_fields(&app, "/compose").await;
    let out = app.post_form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let page = post_compose(
        &app,
        &base,
        &[("to", &bob.address), ("subject", "after logout")],
        &[("f.bin", &binary(5000, 1), "application/octet-stream")],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/login");
    assert_eq!(app.count_rows("compose_parked").await, 0);
    assert_eq!(app.count_rows("compose_uploads").await, 0);
}

#[tokio::test]
async fn an_anonymous_post_with_a_forged_csrf_pair_stores_nothing() {
    let app = TestApp::spawn("anon").await;
    let token = "f".repeat(43);
    let form = Form::new()
        .text("csrf_token", token.clone())
        .text("to", "victim@example.test")
        .text("subject", "fill the disk")
        .text("body", "x".repeat(20_000))
        .part(
            "attachments",
            Part::bytes(binary(20_000, 3)).file_name("junk.bin"),
        );
    let res = app
        .client
        .post(app.url("/compose"))
        .header("origin", &app.base)
        .header("cookie", format!("mailroom_csrf={token}"))
        .multipart(form)
        .send()
        .await
        .expect("POST");
    let page = Page::read(res).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/login");
    assert_eq!(app.count_rows("compose_parked").await, 0);
    assert_eq!(app.count_rows("compose_uploads").await, 0);
}

#[tokio::test]
async fn a_large_anonymous_body_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn("anonbig").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let token = "f".repeat(43);
    let boundary = "mailroomtestboundary";
    // 30 MB announced (under the body limit), 64 KB sent: the answer must not wait for
    // the rest.
    let first = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let mut body = first.into_bytes();
    body.resize(64 * 1024, b'x');
    let head = format!(
        "POST /compose HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nSec-Fetch-Site: same-origin\r\n\
         Cookie: mailroom_csrf={token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        app.base,
        30 * 1024 * 1024
    );
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&body).await.expect("body");
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
        .await
        .expect("an answer before the body is complete")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 303"), "{answer}");
    assert!(answer.contains("location: /login\r\n"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(app.count_rows("compose_parked").await, 0);
    assert_eq!(app.count_rows("compose_uploads").await, 0);
}

#[tokio::test]
async fn parking_stops_at_the_cap() {
    let (app, bob) = expiring("parkcap", |c| c.parked_bytes_per_user = 20_000).await;
    let (_, base) = form_fields(&app, "/compose").await;
    let_the_session_expire().await;
    let page = post_compose(
        &app,
        &base,
        &[("to", &bob.address), ("subject", "too big to keep")],
        &[("big.bin", &binary(40_000, 2), "application/octet-stream")],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("could not be kept"), "{}", page.body);
    assert_eq!(app.count_rows("compose_parked").await, 0);
    assert_eq!(app.count_rows("compose_uploads").await, 0);
    // A small form still fits.
    let page = post_compose(
        &app,
        &base,
        &[("to", &bob.address), ("subject", "small")],
        &[],
    )
    .await;
    login_next(&page);
    assert_eq!(app.count_rows("compose_parked").await, 1);
}

#[tokio::test]
async fn a_parked_form_comes_back_only_to_its_owner_with_its_hidden_fields_checked() {
    let stack = MailStack::shared();
    let (app, bob) = expiring("restore", |_| {}).await;
    let (_, base) = form_fields(&app, "/compose").await;
    let_the_session_expire().await;
    let page = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "mine alone"),
            ("draft", "INBOX/1"),
            ("origin", "forward INBOX/999"),
            ("include_original", "1"),
            ("back", "https://evil.test/phish"),
        ],
        &[],
    )
    .await;
    let next = login_next(&page);

    // Another user, in another browser, opens the link: nothing comes back.
    let mallory = app.other_browser(stack.add_user("restore-m"));
    login_to(&mallory, &next).await;
    let (page, f) = form_fields(&mallory, &next).await;
    assert_eq!(f["subject"], "");
    assert_eq!(f["to"], "");
    assert_eq!(page.texts("p.notice").len(), 1, "says it is gone");
    assert_eq!(
        app.count_rows("compose_parked").await,
        1,
        "still there for its owner"
    );

    // Its owner gets it, without the hidden fields nobody could vouch for.
    login_to(&app, &next).await;
    let (page, f) = form_fields(&app, &next).await;
    assert_eq!(f["subject"], "mine alone");
    assert_eq!(f["to"], bob.address);
    assert_eq!(f["draft"], "");
    assert_eq!(f["origin"], "");
    assert_eq!(f["back"], "/mail/INBOX");
    assert!(!f.contains_key("include_original"));
    let cancel: Vec<String> = page.attrs("a.button", "href");
    assert!(cancel.iter().all(|h| !h.contains("evil")), "{cancel:?}");
}

#[tokio::test]
async fn no_subject_or_no_text_is_asked_once_and_nothing_typed_is_lost() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("c-empty").await;
    let bob = stack.add_user("c-empty-bob");
    app.login().await;
    let (_, base) = form_fields(&app, "/compose").await;
    // No subject: the form comes back with the warning, the text and the file kept,
    // and nothing was sent.
    let warned = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("body", "The text I typed."),
            ("action", "send"),
        ],
        &[("notes.txt", b"kept", "text/plain")],
    )
    .await;
    assert_eq!(warned.status, StatusCode::OK, "{}", warned.body);
    assert_eq!(
        warned.texts("#compose-error"),
        ["This message has no subject. Press Send again to send it as it is."]
    );
    assert_eq!(warned.texts("#compose-body"), ["The text I typed."]);
    assert_eq!(warned.texts(".staged .filename"), ["notes.txt"]);
    assert_eq!(warned.attrs("input[name=confirm_empty]", "value"), ["1"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 0);
    // Send again (the page's own fields): it goes out as it is.
    let again = fields_of(&warned);
    let sent = post_compose(&app, &again, &[("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let got = String::from_utf8_lossy(&got[0].1);
    assert!(
        got.contains("The text I typed.") && got.contains("notes.txt"),
        "{got}"
    );

    // A subject but no text and no file: asked too; with a file it is not.
    let (_, base) = form_fields(&app, "/compose").await;
    let warned = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "Empty"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(
        warned.texts("#compose-error"),
        ["This message has no text and nothing attached. Press Send again to send it as it is."]
    );
    let (_, base) = form_fields(&app, "/compose").await;
    let sent = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "Only a file"),
            ("action", "send"),
        ],
        &[("only.txt", b"x", "text/plain")],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 2, DELIVERY).await;
}

#[tokio::test]
async fn a_draft_field_naming_a_message_that_is_not_a_draft_deletes_nothing() {
    let stack = MailStack::shared();
    let (app, bob) = pair("notdraft").await;
    let eml = b"From: x@example.test\r\nSubject: keep me\r\nMessage-ID: <keep@example.test>\r\n\r\nimportant\r\n";
    stack.append(&app.user, "INBOX", eml, &[]).await;
    // In Drafts, but without \Draft: not ours to remove either.
    stack.append(&app.user, "Drafts", eml, &["\\Seen"]).await;
    let (_, base) = form_fields(&app, "/compose").await;
    let saved = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("draft", "Drafts/1"),
            ("action", "draft"),
        ],
        &[],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(messages(stack, &app.user, "Drafts").await.len(), 2);
    let (_, base) = form_fields(&app, "/compose").await;
    let sent = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "hello"),
            ("body", "Hello."),
            ("draft", "INBOX/1"),
            ("back", "https://evil.test/x"),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(
        sent.location().starts_with("/mail/INBOX"),
        "{}",
        sent.location()
    );
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let inbox = messages(stack, &app.user, "INBOX").await;
    assert_eq!(inbox.len(), 1, "the INBOX message was deleted");
    assert!(
        !inbox[0].0.iter().any(|f| f == "Deleted"),
        "{:?}",
        inbox[0].0
    );
    assert_eq!(messages(stack, &app.user, "Drafts").await.len(), 2);
}

#[tokio::test]
async fn opening_a_draft_changes_nothing_until_it_is_posted() {
    let stack = MailStack::shared();
    let (app, bob) = pair("getdraft").await;
    let data = binary(12_000, 4);
    let (_, base) = form_fields(&app, "/compose").await;
    let saved = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "kept"),
            ("action", "draft"),
        ],
        &[("kept.bin", &data, "application/octet-stream")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // (\Recent is only told to the first session that sees a message: left out.)
    let drafts = async || {
        messages(stack, &app.user, "Drafts")
            .await
            .into_iter()
            .map(|(flags, raw)| (flags.into_iter().filter(|f| f != "Recent").collect(), raw))
            .collect::<Vec<(Vec<String>, Vec<u8>)>>()
    };
    let before = drafts().await;
    let uploads = app.count_rows("compose_uploads").await;
    for _ in 0..2 {
        let (page, _) = form_fields(&app, saved.location()).await;
        assert_eq!(page.texts(".staged .filename"), vec!["kept.bin"]);
    }
    assert_eq!(
        app.count_rows("compose_uploads").await,
        uploads,
        "a GET staged files"
    );
    assert!(drafts().await == before, "the Drafts folder changed");
    // Posted, the draft's file goes out with the message.
    let (_, f) = form_fields(&app, saved.location()).await;
    let sent = post_compose(&app, &f, &[("action", "send")], &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(
        m.attachments().next().map(|a| a.contents().to_vec()),
        Some(data)
    );
    assert_eq!(messages(stack, &app.user, "Drafts").await.len(), 0);
}

#[tokio::test]
async fn the_stable_fields_alone_send_from_the_primary_identity() {
    let stack = MailStack::shared();
    let (app, bob) = pair("stable").await;
    let stable = |csrf: String, subject: &str| {
        Form::new()
            .text("to", bob.address.clone())
            .text("cc", "")
            .text("bcc", "")
            .text("subject", subject.to_owned())
            .text("body", "only the stable fields")
            .part(
                "attachments",
                Part::bytes(b"note".to_vec())
                    .file_name("note.txt")
                    .mime_str("text/plain")
                    .expect("type"),
            )
            .text("request_mdn", "")
            .text("request_dsn", "")
            .text("priority", "normal")
            .text("csrf_token", csrf)
            .text("action", "send")
    };
    // No identity saved: the login address.
    let page = app
        .post_multipart("/compose", stable(app.csrf().await, "plain"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // With a saved identity: that one, with its name.
    let saved = app
        .post_form(
            "/settings/identities",
            &[
                ("email", &app.user.address),
                ("display_name", "Stable Sender"),
                ("default", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = app
        .post_multipart("/compose", stable(app.csrf().await, "named"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    stack.wait_for_count(&bob, "INBOX", 2, DELIVERY).await;
    let from = |raw: &[u8]| {
        let m = MessageParser::default().parse(raw).expect("parse");
        let f = m.from().and_then(|f| f.first()).expect("From");
        (
            m.subject().unwrap_or_default().to_owned(),
            f.name().unwrap_or_default().to_owned(),
            f.address().unwrap_or_default().to_owned(),
            m.attachments().count(),
        )
    };
    let mut got: Vec<_> = messages(stack, &bob, "INBOX")
        .await
        .iter()
        .map(|m| from(&m.1))
        .collect();
    got.sort();
    let me = app.user.address.clone();
    assert_eq!(
        got,
        vec![
            (
                "named".to_owned(),
                "Stable Sender".to_owned(),
                me.clone(),
                1
            ),
            ("plain".to_owned(), String::new(), me.clone(), 1),
        ]
    );
    let mut sent: Vec<_> = messages(stack, &app.user, "Sent")
        .await
        .iter()
        .map(|m| from(&m.1))
        .collect();
    sent.sort();
    assert_eq!(sent, got, "the Sent copies");
}
