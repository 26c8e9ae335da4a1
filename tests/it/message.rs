//! Reading one message: headers, bodies in many charsets, attachments, cid images, remote
//! content, source, \Seen on the server, and a server restart mid-session.

use futures::TryStreamExt;
use reqwest::StatusCode;

use crate::common::{app::TestApp, mailstack::MailStack};

const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    s.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Seeds one message into a fresh user's INBOX, logs in, and returns the app (the message is UID 1).
async fn app_with(prefix: &str, eml: &[u8]) -> TestApp {
    let app = TestApp::spawn(prefix).await;
    MailStack::shared()
        .append(&app.user, "INBOX", eml, &[])
        .await;
    app.login().await;
    app
}

#[tokio::test]
async fn plain_text_is_escaped_linkified_and_marked_read_on_the_server() {
    let eml = b"From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n\
Cc: carol@example.test\r\nSubject: Plain <b>not bold</b>\r\nDate: Wed, 25 Nov 2026 09:30:00 +0000\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nHello <script>alert(1)</script> & see https://example.test/page?a=1&b=2 now.\r\n";
    let app = app_with("msg-plain", eml).await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1.subject"), vec!["Plain <b>not bold</b>"]);
    assert_eq!(
        page.texts("dd.h-from"),
        vec!["Alice Example <alice@example.test>"]
    );
    assert_eq!(page.texts("dd.h-to"), vec!["Bob <bob@example.test>"]);
    assert_eq!(page.texts("dd.h-cc"), vec!["carol@example.test"]);
    assert_eq!(page.attrs("iframe.body", "src"), vec!["/mail/INBOX/1/body"]);
    assert!(
        page.attrs("iframe.body", "sandbox")[0]
            .split(' ')
            .all(|t| t != "allow-scripts")
    );

    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert_eq!(body.status, StatusCode::OK);
    assert!(
        body.header("content-type")
            .starts_with("text/html; charset=utf-8")
    );
    assert!(
        body.header("content-security-policy")
            .starts_with("default-src 'none'")
    );
    assert!(!body.body.contains("<script>"), "{}", body.body);
    assert!(body.texts("body")[0].contains("Hello <script>alert(1)</script> & see"));
    assert_eq!(
        body.attrs("a", "href"),
        vec!["https://example.test/page?a=1&b=2"]
    );

    // Opening the page set \Seen on the server.
    let mut imap = MailStack::shared().imap(&app.user).await;
    imap.select("INBOX").await.unwrap();
    let msgs: Vec<_> = imap
        .uid_fetch("1", "FLAGS")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(
        msgs[0]
            .flags()
            .any(|f| matches!(f, async_imap::types::Flag::Seen)),
        "message not marked \\Seen"
    );
    let _ = imap.logout().await;
}

#[tokio::test]
async fn html_is_sanitized_and_alternative_prefers_html() {
    let eml = b"From: news@example.test\r\nTo: x@example.test\r\nSubject: Newsletter\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n\
--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPLAIN VERSION\r\n\
--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
<body><p onclick=\"alert(2)\">HTML <b>VERSION</b></p><a href=\"javascript:alert(3)\">bad</a>\
<a href=\"https://example.test/\">good</a><form action=\"https://evil.test\"><input name=q></form></body></html>\r\n--alt--\r\n";
    let app = app_with("msg-html", eml).await;
    let body = app.get_frame("/mail/INBOX/1/body").await;
    let text = body.texts("body").join(" ");
    assert!(text.contains("HTML VERSION"), "{text}");
    assert!(!text.contains("PLAIN VERSION"));
    // The message's part of the document: everything after our own <body>.
    let message_html = body.body.split("<body>").nth(1).unwrap_or_default();
    for bad in [
        "<script",
        "onclick",
        "javascript:",
        "<form",
        "<input",
        "<style",
        "alert(",
    ] {
        assert!(
            !message_html.contains(bad),
            "{bad} survived: {message_html}"
        );
    }
    assert_eq!(
        body.attrs("a[href='https://example.test/']", "rel"),
        vec!["noopener noreferrer"]
    );
}

#[tokio::test]
async fn gbk_message_is_decoded() {
    let mut eml = b"From: =?GBK?B?1cXI/Q==?= <zhang@example.test>\r\nTo: x@example.test\r\n\
Subject: =?GBK?B?1tDOxLLiytTTyrz+?=\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    eml.extend_from_slice(b"\xd5\xe2\xca\xc7GBK\xb1\xe0\xc2\xeb\xb5\xc4\xd5\xfd\xce\xc4\r\n");
    let app = app_with("msg-gbk", &eml).await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.texts("h1.subject"), vec!["中文测试邮件"]);
    assert_eq!(page.texts("dd.h-from"), vec!["张三 <zhang@example.test>"]);
    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        body.texts("body")[0].contains("这是GBK编码的正文"),
        "{}",
        body.body
    );
    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.texts("td.subject a"), vec!["中文测试邮件"]);
}

#[tokio::test]
async fn iso_2022_jp_message_is_decoded() {
    let mut eml = b"From: jp@example.test\r\nTo: x@example.test\r\n\
Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiU5JUgbKEI=?=\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        .to_vec();
    eml.extend_from_slice(b"\x1b$BF|K\\8l$NK\\J8$G$9\x1b(B\r\n");
    let app = app_with("msg-jp", &eml).await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.texts("h1.subject"), vec!["日本語のテスト"]);
    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        body.texts("body")[0].contains("日本語の本文です"),
        "{}",
        body.body
    );
}

#[tokio::test]
async fn attachments_download_byte_identical_with_safe_headers() {
    let pdf: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    let eml = format!(
        "From: a@example.test\r\nTo: b@example.test\r\nSubject: Files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=mix\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
--mix\r\nContent-Type: application/pdf; name=\"=?UTF-8?B?5oql5ZGKLnBkZg==?=\"\r\nContent-Disposition: attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--mix\r\nContent-Type: text/html\r\n\
Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n<script>alert(1)</script>\r\n--mix--\r\n",
        b64(&pdf)
    );
    let app = app_with("msg-att", eml.as_bytes()).await;
    let page = app.get("/mail/INBOX/1").await;
    let names = page.texts(".attachments li a");
    assert_eq!(names, vec!["报告.pdf", "page.html"]);
    assert_eq!(page.texts(".attachments .type")[0], "application/pdf");
    assert_eq!(page.texts(".attachments .size")[0], "2.9 KB");
    let hrefs = page.attrs(".attachments li a", "href");

    let (status, headers, bytes) = app.get_bytes(&hrefs[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, pdf, "attachment bytes differ");
    assert_eq!(headers["content-type"], "application/pdf");
    let cd = headers["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment;") && cd.contains("filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
        "{cd}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (_, headers, bytes) = app.get_bytes(&hrefs[1]).await;
    assert_eq!(bytes, b"<script>alert(1)</script>");
    assert_eq!(
        headers["content-type"], "application/octet-stream",
        "HTML must not render"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
}

#[tokio::test]
async fn cid_image_is_shown_from_the_part_route() {
    let eml = format!(
        "From: a@example.test\r\nTo: b@example.test\r\nSubject: Inline\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/related; boundary=rel\r\n\r\n--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p>Logo: <img src=\"cid:logo@example.test\" alt=\"logo\"></p>\r\n--rel\r\nContent-Type: image/png\r\n\
Content-ID: <logo@example.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--rel--\r\n",
        b64(PNG)
    );
    let app = app_with("msg-cid", eml.as_bytes()).await;
    let body = app.get_frame("/mail/INBOX/1/body").await;
    let srcs = body.attrs("img", "src");
    assert_eq!(srcs.len(), 1, "{}", body.body);
    assert!(srcs[0].starts_with("/mail/INBOX/1/part/"), "{srcs:?}");
    let (status, headers, bytes) = app.get_bytes(&srcs[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
}

#[tokio::test]
async fn remote_images_are_blocked_until_asked_for() {
    let eml = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: Tracker\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>Visible text</p><img src=\"http://127.0.0.1:9/track.png\" alt=\"pixel\">\r\n";
    let app = app_with("msg-remote", eml).await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.attrs(".remote-blocked a", "href"),
        vec!["/mail/INBOX/1?remote=1"]
    );
    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        !body.body.contains("127.0.0.1:9"),
        "remote URL leaked: {}",
        body.body
    );
    assert!(
        body.header("content-security-policy")
            .contains("img-src 'self' data:;")
    );

    let page = app.get("/mail/INBOX/1?remote=1").await;
    assert!(page.attrs(".remote-blocked a", "href").is_empty());
    assert_eq!(
        page.attrs("iframe.body", "src"),
        vec!["/mail/INBOX/1/body?remote=1"]
    );
    let body = app.get_frame("/mail/INBOX/1/body?remote=1").await;
    // Allowed remote images come through Mailroom's signed image proxy (issue 5).
    let srcs = body.attrs("img", "src");
    assert_eq!(srcs.len(), 1, "{}", body.body);
    assert!(
        srcs[0].starts_with("/proxy?url=http%3A%2F%2F127.0.0.1%3A9%2Ftrack.png&exp="),
        "{srcs:?}"
    );
}

#[tokio::test]
async fn source_missing_and_bad_uids() {
    let eml = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: Source me\r\nX-Custom: yes\r\n\r\nbody <b>\r\n";
    let app = app_with("msg-src", eml).await;
    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(
        page.attrs(".tools a", "href"),
        vec!["/mail/INBOX/1/raw", "/mail/INBOX/1/print"]
    );
    let raw = app.get("/mail/INBOX/1/raw").await;
    assert!(raw.header("content-type").starts_with("text/plain"));
    assert!(raw.body.contains("X-Custom: yes\r\n") && raw.body.contains("body <b>"));

    let missing = app.get("/mail/INBOX/999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.texts("main h1"), vec!["Not found"]);
    assert_eq!(
        app.get("/mail/INBOX/abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/mail/INBOX/1/part/9999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn imap_restart_mid_session_is_invisible_to_the_user() {
    let stack = MailStack::start_private();
    let user = stack.add_user("restart");
    stack
        .append(
            &user,
            "INBOX",
            b"From: a@example.test\r\nSubject: Survivor\r\n\r\nstill here\r\n",
            &[],
        )
        .await;
    let app = TestApp::spawn_with(&stack, user, |_| {}).await;
    app.login().await;
    assert_eq!(
        app.get("/mail/INBOX").await.texts("td.subject a"),
        vec!["Survivor"]
    );
    stack.restart_imap();
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.texts("td.subject a"), vec!["Survivor"]);
    assert_eq!(
        app.get("/mail/INBOX/1").await.texts("h1.subject"),
        vec!["Survivor"]
    );
}

#[tokio::test]
async fn a_forwarded_message_shows_its_headers_in_the_readers_language() {
    let eml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mime/forwarded-rfc822.eml"
    ))
    .expect("fixture");
    let app = app_with("msg-fwd-zh", &eml).await;
    let en = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        en.texts(".mr-attached-headers th")
            .contains(&"From".to_owned()),
        "{}",
        en.body
    );
    let zh = app
        .get_with(
            "/mail/INBOX/1/body",
            &[("accept-language", "zh-CN"), ("sec-fetch-dest", "iframe")],
        )
        .await;
    let labels = zh.texts(".mr-attached-headers th");
    assert!(
        labels.contains(&"发件人".to_owned()) && labels.contains(&"主题".to_owned()),
        "{labels:?}"
    );
}

/// Uuencodes `data` the way old mailers did (`begin 644 name` … `` ` `` `end`).
fn uuencode(data: &[u8], name: &str) -> String {
    let mut out = format!("begin 644 {name}\r\n");
    let ch = |v: u8| if v == 0 { '`' } else { char::from(v + 32) };
    for line in data.chunks(45) {
        out.push(ch(line.len() as u8));
        for triple in line.chunks(3) {
            let b = |i: usize| triple.get(i).copied().unwrap_or(0);
            let n = (u32::from(b(0)) << 16) | (u32::from(b(1)) << 8) | u32::from(b(2));
            for shift in [18, 12, 6, 0] {
                out.push(ch(((n >> shift) & 63) as u8));
            }
        }
        out.push_str("\r\n");
    }
    out.push_str("`\r\nend\r\n");
    out
}

/// Mail from the wild (issue 9, item 3), delivered through Postfix into Dovecot: an
/// Outlook-style folded boundary and attachment name, a uuencoded picture, an attached
/// message whose Subject has a slash, and a last part with no blank line after its
/// headers, damaged base64 and no closing boundary. Each file downloads with its bytes,
/// name and type, as Thunderbird would save it.
#[tokio::test]
async fn wild_mail_delivered_by_smtp_downloads_like_other_clients() {
    let pdf: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    // Junk characters sprinkled into the base64 and its padding dropped.
    let damaged_pdf = b64(&pdf).trim_end_matches('=').replace("\r\n", "*\r\n");
    let eml = format!(
        "From: Outlook User <outlook@other.test>\r\nTo: someone@example.test\r\n\
Subject: Reports from the wild\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed;\r\n\tboundary=\r\n\t\"----=_NextPart_000_0012_01DA6F2B.5C1E8A40\"\r\n\r\n\
This is a multi-part message in MIME format.\r\n\r\n\
------=_NextPart_000_0012_01DA6F2B.5C1E8A40\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Three files attached.\r\n\r\n\
------=_NextPart_000_0012_01DA6F2B.5C1E8A40\r\nContent-Type: image/png; name=\"dot.png\"\r\n\
Content-Disposition: attachment; filename=\"dot.png\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
{uu}\r\n\
------=_NextPart_000_0012_01DA6F2B.5C1E8A40\r\nContent-Type: message/rfc822\r\n\r\n\
From: Carol <carol@other.test>\r\nTo: outlook@other.test\r\nSubject: Q1/Q2 report\r\n\r\nBoth quarters.\r\n\r\n\
------=_NextPart_000_0012_01DA6F2B.5C1E8A40\r\nContent-Type: application/pdf;\r\n\tname=\r\n\t\"Quarterly report 2024.pdf\"\r\n\
Content-Disposition: attachment;\r\n\tfilename=\r\n\t\"Quarterly report 2024.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
{damaged_pdf}\r\n",
        uu = uuencode(PNG, "dot.png"),
    );
    let app = TestApp::spawn("msg-wild").await;
    let stack = MailStack::shared();
    stack
        .deliver("outlook@other.test", &[&app.user.address], eml.as_bytes())
        .await;
    stack
        .wait_for_count(&app.user, "INBOX", 1, crate::compose::DELIVERY)
        .await;
    app.login().await;

    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        body.texts("body")[0].contains("Three files attached."),
        "{}",
        body.body
    );
    assert!(
        !body.body.contains("NextPart"),
        "MIME source shown: {}",
        body.body
    );
    assert_eq!(
        page.texts(".attachments li a"),
        vec!["dot.png", "Q1_Q2 report.eml", "Quarterly report 2024.pdf"]
    );
    let hrefs = page.attrs(".attachments li a", "href");

    let (status, headers, bytes) = app.get_bytes(&hrefs[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG, "uuencoded picture not decoded");
    assert_eq!(headers["content-type"], "image/png");

    let (status, headers, bytes) = app.get_bytes(&hrefs[1]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8_lossy(&bytes).contains("Subject: Q1/Q2 report"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let cd = headers["content-disposition"].to_str().unwrap();
    assert!(cd.contains("filename=\"Q1_Q2 report.eml\""), "{cd}");

    let (status, headers, bytes) = app.get_bytes(&hrefs[2]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes.len(), pdf.len(), "attachment cut short");
    assert_eq!(bytes, pdf, "attachment bytes differ");
    assert_eq!(headers["content-type"], "application/pdf");
    let cd = headers["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment;") && cd.contains("filename=\"Quarterly report 2024.pdf\""),
        "{cd}"
    );
}

/// Two Subject headers, an empty From, an invalid Content-Type and
/// quoted-printable with invalid escapes: the page agrees with the list (which comes from
/// Dovecot's ENVELOPE) and the body reads as plain text with nothing dropped.
#[tokio::test]
async fn wild_headers_read_the_same_on_the_page_and_in_the_list() {
    let eml = b"From:\r\nTo: someone@example.test\r\nSubject: The first subject\r\nSubject: The second subject\r\n\
MIME-Version: 1.0\r\nContent-Type: html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
<b>100% =ZZ caf=C3=A9</b> =3\r\n";
    let app = app_with("msg-wild-hdr", eml).await;

    let list = app.get("/mail/INBOX").await;
    assert_eq!(list.status, StatusCode::OK);
    let list_subject = list.texts("td.subject a");
    let list_from = list.texts("td.from");
    // Dovecot 2.3's ENVELOPE takes the last Subject.
    assert_eq!(list_subject, vec!["The second subject"], "{}", list.body);
    assert_eq!(list_from, vec!["(unknown sender)"]);

    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.texts("h1.subject"), list_subject);
    assert_eq!(page.texts("dd.h-from"), list_from);

    let body = app.get_frame("/mail/INBOX/1/body").await;
    assert!(
        body.texts("body")[0].contains("<b>100% =ZZ café</b> =3"),
        "{}",
        body.body
    );
    assert!(body.texts("b").is_empty(), "{}", body.body);
}

/// Issue 9 item 9: the body document opened as a page of its own (a link, a typed URL:
/// `Sec-Fetch-Dest: document`) redirects to the message page, so the sender's HTML is
/// never a top-level page on our origin; loaded as the iframe it is served, sandboxed by
/// its own CSP too (never with scripts).
#[tokio::test]
async fn the_body_document_opened_as_a_page_redirects_to_the_message() {
    let eml =
        b"From: a@example.test\r\nSubject: Phish\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<h1>Your session expired</h1><p>Please log in again.</p>\r\n";
    let app = app_with("msg-body-page", eml).await;

    let top = app.get("/mail/INBOX/1/body").await;
    assert_eq!(top.status, StatusCode::SEE_OTHER);
    assert_eq!(top.location(), "/mail/INBOX/1");
    assert!(!top.body.contains("Your session expired"));
    let remote = app.get("/mail/INBOX/1/body?remote=1").await;
    assert_eq!(remote.location(), "/mail/INBOX/1");

    let frame = app.get_frame("/mail/INBOX/1/body").await;
    assert_eq!(frame.status, StatusCode::OK);
    assert_eq!(frame.texts("h1"), vec!["Your session expired"]);
    let csp = frame.header("content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    let sandbox = directives
        .iter()
        .find(|d| d.split(' ').next() == Some("sandbox"))
        .unwrap_or_else(|| panic!("no sandbox in {csp}"));
    assert!(!sandbox.contains("allow-scripts"), "{csp}");
    assert!(!csp.contains("allow-scripts"), "{csp}");
}
