//! The compose editor beyond plain text (issue 13 item 7), against the real Postfix +
//! Dovecot: an inline forward shows the original in the editor and sends what the user made
//! of it (with the original's files); formatted text goes out as `multipart/alternative`,
//! cleaned with the incoming-mail policy, with a plain-text part derived from it; without
//! `body_html` (JavaScript off) a message is plain text as before; formatted text over the
//! cap is refused with the text kept; a formatted draft reopens formatted; and in Chromium
//! the toolbar makes bold and lists that arrive as such.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use reqwest::StatusCode;

use crate::{
    common::{app::TestApp, mailstack::MailStack},
    compose::{DELIVERY, binary, fields_of, form_fields, messages, post_compose},
};

/// `type/subtype` of a parsed part.
fn mime(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The HTML and the plain text of a message's body parts (as parsed, not converted).
fn html_and_text(m: &Message<'_>) -> (Option<String>, Option<String>) {
    let mut html = None;
    let mut text = None;
    for p in &m.parts {
        match &p.body {
            PartType::Html(h) if html.is_none() => html = Some(h.to_string()),
            PartType::Text(t) if text.is_none() && !p.is_message() => text = Some(t.to_string()),
            _ => {}
        }
    }
    (html, text)
}

/// Whether a list item of `html` holds `word` (perhaps inside `<b>`: the typing style may
/// carry on from the bold word before it).
fn li_holds(html: &str, word: &str) -> bool {
    html.split("<li").skip(1).any(|item| {
        item.split("</li>")
            .next()
            .is_some_and(|inside| inside.contains(word))
    })
}

#[tokio::test]
async fn forward_inline_shows_the_original_in_the_editor_and_sends_the_edited_text() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("rich-fwd-a").await;
    app.login().await;
    let bob = stack.add_user("rich-fwd-b");
    let data = binary(7000, 5);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let eml = format!(
        "From: Zoe <zoe@example.test>\r\nTo: {me}\r\nSubject: Quarterly numbers\r\n\
         Date: Tue, 3 Mar 2026 10:00:00 +0000\r\nMessage-ID: <qn-1@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe numbers are in.\r\nSecond line.\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=numbers.bin\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n",
        me = app.user.address
    );
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;

    // The editor holds the usual header block and the original's text.
    let (page, f) = form_fields(&app, "/compose?forward=INBOX%2F1").await;
    let body = &f["body"];
    for expected in [
        "---------- Forwarded message ----------",
        "From: Zoe <zoe@example.test>",
        "Subject: Quarterly numbers",
        &format!("To: {}", app.user.address),
        "Date: ",
        "The numbers are in.\nSecond line.",
    ] {
        assert!(body.contains(expected), "{expected:?} not in {body:?}");
    }
    // The formatted editor gets the same, as HTML.
    let html = page.texts("#compose-body-html").concat();
    assert!(
        html.contains("Forwarded message") && html.contains("<div>The numbers are in.</div>"),
        "{html}"
    );
    assert!(page.texts(".forward-inline-note")[0].contains("numbers.bin"));
    assert!(page.texts(".forward-attachment-note")[0].contains("Quarterly numbers.eml"));

    // Edited, and shown again after a mistake with every edit kept.
    let edited = format!(
        "See below, with my note.{}",
        body.replace("Second line.", "Second line (edited by me).")
    );
    let wrong = post_compose(
        &app,
        &f,
        &[("to", "bob@"), ("body", &edited), ("action", "send")],
        &[],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.body);
    assert_eq!(wrong.texts("#compose-body"), [edited.trim().to_owned()]);
    assert_eq!(fields_of(&wrong)["body"], edited, "every character kept");
    assert!(wrong.texts(".forward-inline-note")[0].contains("numbers.bin"));
    let again = fields_of(&wrong);
    assert_eq!(again["include_original"], "1");
    let sent = post_compose(
        &app,
        &again,
        &[("to", &bob.address), ("action", "send")],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    let text = m.body_text(0).unwrap_or_default().replace("\r\n", "\n");
    assert!(text.starts_with("See below, with my note."), "{text}");
    assert!(
        text.contains("Second line (edited by me).") && !text.contains("Second line.\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("Forwarded message").count(),
        1,
        "the original is not added a second time: {text}"
    );
    let files: Vec<_> = m.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment_name(), Some("numbers.bin"));
    assert_eq!(files[0].contents(), data.as_slice());
}

#[tokio::test]
async fn hostile_formatted_text_is_cleaned_and_sent_as_multipart_alternative() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("rich-alt-a").await;
    app.login().await;
    let bob = stack.add_user("rich-alt-b");
    let hostile = r#"<p>Hello <b>bold</b> friend</p><script>alert(1)</script>
        <img src="http://tracker.example/p.gif" onerror="alert(2)">
        <a href="javascript:alert(3)">click me</a> <a href="https://ok.example/page" onclick="alert(4)">ok link</a>
        <ul><li>first item</li><li>second item</li></ul><blockquote>quoted words</blockquote>
        <iframe src="https://evil.example/"></iframe><style>p{color:red}</style>"#;
    for (n, files) in [
        (1u32, vec![]),
        (2, vec![("notes.txt", &b"file words"[..], "text/plain")]),
    ] {
        let (_, base) = form_fields(&app, "/compose").await;
        let sent = post_compose(
            &app,
            &base,
            &[
                ("to", &bob.address),
                ("subject", &format!("Formatted {n}")),
                // What the browser's script puts here is not what is sent: the text part
                // is derived from the cleaned HTML.
                ("body", "out of date text"),
                ("body_html", hostile),
                ("action", "send"),
            ],
            &files,
        )
        .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        stack.wait_for_count(&bob, "INBOX", n, DELIVERY).await;
        let got = messages(stack, &bob, "INBOX").await;
        let raw = &got[n as usize - 1].1;
        let m = MessageParser::default().parse(raw).expect("parse");
        let top = mime(&m.parts[0]);
        let alternative = if files.is_empty() {
            assert_eq!(top, "multipart/alternative");
            0
        } else {
            assert_eq!(top, "multipart/mixed");
            let alt = m
                .parts
                .iter()
                .position(|p| mime(p) == "multipart/alternative")
                .expect("an alternative inside the mixed");
            assert_eq!(m.attachments().count(), 1);
            alt
        };
        let PartType::Multipart(children) = &m.parts[alternative].body else {
            panic!("not a multipart");
        };
        let kinds: Vec<String> = children
            .iter()
            .map(|&i| mime(&m.parts[i as usize]))
            .collect();
        assert_eq!(kinds, ["text/plain", "text/html"], "plain first, then HTML");
        let (html, text) = html_and_text(&m);
        let html = html.expect("an HTML part");
        let text = text.expect("a text part").replace("\r\n", "\n");
        for banned in [
            "<script",
            "alert",
            "onerror",
            "onclick",
            "tracker.example",
            "javascript:",
            "<iframe",
            "evil.example",
            "color:red",
        ] {
            assert!(!html.contains(banned), "{banned} in {html}");
        }
        for kept in [
            "<b>bold</b>",
            "<li>first item</li>",
            "<blockquote>quoted words</blockquote>",
            "href=\"https://ok.example/page\"",
        ] {
            assert!(html.contains(kept), "{kept} not in {html}");
        }
        assert!(!text.contains("out of date"), "{text}");
        for kept in [
            "Hello bold friend",
            "- first item\n- second item",
            "> quoted words",
            "ok link <https://ok.example/page>",
        ] {
            assert!(text.contains(kept), "{kept:?} not in {text}");
        }
        assert!(!text.contains("alert"), "{text}");
    }
}

#[tokio::test]
async fn without_formatted_text_a_message_is_plain_text_only() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("rich-plain-a").await;
    app.login().await;
    let bob = stack.add_user("rich-plain-b");
    let (page, base) = form_fields(&app, "/compose").await;
    // Without the script nothing names the HTML field, so the form never posts it.
    assert!(
        page.attrs("#compose-body-html", "name")
            .iter()
            .all(String::is_empty)
    );
    assert!(!base.contains_key("body_html"));
    let sent = post_compose(
        &app,
        &base,
        &[
            ("to", &bob.address),
            ("subject", "Plain as ever"),
            ("body", "Just <b>text</b>, as typed."),
            ("action", "send"),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let m = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(m.parts.len(), 1, "a single part");
    assert_eq!(mime(&m.parts[0]), "text/plain");
    assert!(!String::from_utf8_lossy(&got[0].1).contains("text/html"));
    assert_eq!(
        m.body_text(0).unwrap_or_default().trim_end(),
        "Just <b>text</b>, as typed."
    );
}

#[tokio::test]
async fn formatted_text_over_the_cap_is_refused_and_the_text_kept() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("rich-cap-a").await;
    app.login().await;
    let bob = stack.add_user("rich-cap-b");
    let (_, base) = form_fields(&app, "/compose").await;
    let big = format!("<div>{}</div>", "x".repeat(2 * 1024 * 1024 + 1));
    // Small but nested past the sanitizer's depth cap (quadratic to parse).
    let deep = format!("{}deep", "<span>".repeat(2000));
    for html in [big.as_str(), deep.as_str()] {
        let page = post_compose(
            &app,
            &base,
            &[
                ("to", &bob.address),
                ("subject", "Too much"),
                ("body", "The plain words I typed."),
                ("body_html", html),
                ("action", "send"),
            ],
            &[],
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "{}",
            &page.body[..200.min(page.body.len())]
        );
        let error = page.texts("#compose-body-error").concat();
        assert!(
            error.contains("too large") && error.contains("2"),
            "{error}"
        );
        assert_eq!(page.texts("#compose-body"), ["The plain words I typed."]);
        // The editor gets the kept text back, not the refused HTML.
        let editor = page.texts("#compose-body-html").concat();
        assert!(editor.contains("The plain words I typed.") && !editor.contains("xxxx"));
        assert_eq!(page.attrs("#compose-subject", "value"), ["Too much"]);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 0, "nothing went out");
}

#[tokio::test]
async fn a_formatted_draft_reopens_formatted_and_a_reply_quotes_in_a_blockquote() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("rich-draft-a").await;
    app.login().await;
    let (_, base) = form_fields(&app, "/compose").await;
    let saved = post_compose(
        &app,
        &base,
        &[
            ("subject", "Half done"),
            ("body", "stale"),
            (
                "body_html",
                "<div>Draft with <i>italic</i></div><ol><li>step</li></ol><img src=x onerror=alert(1)>",
            ),
            ("action", "draft"),
        ],
        &[],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (page, f) = form_fields(&app, saved.location()).await;
    let html = page.texts("#compose-body-html").concat();
    assert!(
        html.contains("<i>italic</i>")
            && html.contains("<li>step</li>")
            && !html.contains("onerror"),
        "{html}"
    );
    // With the script off, the same draft reads as text.
    assert!(
        f["body"].contains("Draft with italic") && f["body"].contains("1. step"),
        "{:?}",
        f["body"]
    );

    // A reply's quote is a blockquote in the editor, `>` lines in the text.
    let eml = format!(
        "From: Bob <bob@example.test>\r\nTo: {me}\r\nSubject: Question\r\n\
         Message-ID: <q-1@example.test>\r\n\r\nWhat about <this>?\r\n",
        me = app.user.address
    );
    stack.append(&app.user, "INBOX", eml.as_bytes(), &[]).await;
    let (page, f) = form_fields(&app, "/compose?reply=INBOX%2F1").await;
    assert!(
        f["body"].contains("> What about <this>?"),
        "{:?}",
        f["body"]
    );
    let html = page.texts("#compose-body-html").concat();
    assert!(
        html.contains("<blockquote><div>What about &lt;this&gt;?</div></blockquote>"),
        "{html}"
    );
}

#[tokio::test]
async fn bold_and_a_list_from_the_toolbar_arrive_formatted_in_chromium() {
    use crate::actions::find;
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let to = stack.add_user(&format!("rich-web-to-{width}"));
        let user = stack.add_user(&format!("rich-web-{width}"));
        let app = TestApp::spawn_with(stack, user, |c| c.undo_send = 0).await;
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
            .send_keys("Formatted in Chromium")
            .await
            .expect("type");
        // The script turned the body into the editor, which now answers to its id.
        let editor = find(&client, "div.rich-editor#compose-body").await;
        editor.send_keys("Hello world").await.expect("type");
        let selected = client
            .execute(
                "var ed = document.getElementById('compose-body'); ed.focus();\
                 var w = document.createTreeWalker(ed, NodeFilter.SHOW_TEXT), n;\
                 while ((n = w.nextNode())) { var i = n.data.indexOf('world');\
                   if (i >= 0) { var r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 5);\
                     var s = getSelection(); s.removeAllRanges(); s.addRange(r); return true; } }\
                 return false;",
                vec![],
            )
            .await
            .expect("select");
        assert_eq!(selected, serde_json::Value::Bool(true), "{width}");
        find(&client, ".rich-toolbar button[data-cmd=bold]")
            .await
            .click()
            .await
            .expect("bold");
        client
            .execute(
                "var ed = document.getElementById('compose-body'); ed.focus();\
                 var r = document.createRange(); r.selectNodeContents(ed); r.collapse(false);\
                 var s = getSelection(); s.removeAllRanges(); s.addRange(r);",
                vec![],
            )
            .await
            .expect("caret to the end");
        editor.send_keys("\u{E007}").await.expect("enter");
        find(
            &client,
            ".rich-toolbar button[data-cmd=insertUnorderedList]",
        )
        .await
        .click()
        .await
        .expect("list");
        editor.send_keys("apples").await.expect("type");
        let inner = client
            .execute(
                "return document.getElementById('compose-body').innerHTML;",
                vec![],
            )
            .await
            .expect("html");
        let inner = inner.as_str().unwrap_or_default().to_owned();
        assert!(
            (inner.contains("<b>world</b>") || inner.contains("<strong>world</strong>"))
                && li_holds(&inner, "apples"),
            "{width}: {inner}"
        );
        // The toolbar fits the screen.
        let (x, _, w, _) = find(&client, ".rich-toolbar")
            .await
            .rectangle()
            .await
            .expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: toolbar at {x}+{w}"
        );
        find(&client, "button[name=action][value=send]")
            .await
            .click()
            .await
            .expect("send");
        stack.wait_for_count(&to, "INBOX", 1, DELIVERY).await;
        let got = messages(stack, &to, "INBOX").await;
        let m = MessageParser::default().parse(&got[0].1).expect("parse");
        assert_eq!(mime(&m.parts[0]), "multipart/alternative", "{width}");
        let (html, text) = html_and_text(&m);
        let html = html.expect("HTML part");
        let text = text.expect("text part").replace("\r\n", "\n");
        assert!(
            html.contains("<b>world</b>") || html.contains("<strong>world</strong>"),
            "{width}: {html}"
        );
        assert!(li_holds(&html, "apples"), "{width}: {html}");
        assert!(text.contains("Hello world"), "{width}: {text}");
        assert!(text.contains("- apples"), "{width}: {text}");
        let _ = client.close().await;
    }
}
