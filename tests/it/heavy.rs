//! Hostile sizes (issue 9 item 7): a message of 5,000 parts and HTML bodies too big or
//! too deeply nested to sanitize. The page stays bounded (a capped attachment list, a
//! download link instead of the body), the zip still arrives whole, and other requests
//! are answered while the heavy one runs.

use std::io::Read as _;

use base64::Engine as _;
use reqwest::StatusCode;

use crate::common::{app::TestApp, mailstack::MailStack};

/// Bytes that do not compress (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn b64(data: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    s.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A message with a short text and `n` attachments `f{i}.bin` of `size` random bytes.
fn many_parts(n: usize, size: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let files: Vec<Vec<u8>> = (0..n).map(|i| noise(size, i as u64 + 1)).collect();
    let mut eml = String::from(
        "From: Bulk <bulk@example.test>\r\nTo: bob@example.test\r\nSubject: Many parts\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n\
         --p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFive thousand files.\r\n",
    );
    for (i, f) in files.iter().enumerate() {
        eml.push_str(&format!(
            "--p\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(f)
        ));
    }
    eml.push_str("--p--\r\n");
    (eml.into_bytes(), files)
}

/// A message whose only body is `html`.
fn html_message(subject: &str, html: &str) -> Vec<u8> {
    format!(
        "From: a@example.test\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_5000_part_message_lists_a_capped_number_and_zips_whole_while_others_are_answered() {
    let app = TestApp::spawn("heavy-parts").await;
    let (eml, files) = many_parts(5000, 1500);
    MailStack::shared()
        .append(&app.user, "INBOX", &eml, &[])
        .await;
    app.login().await;

    let page = app.get("/mail/INBOX/1").await;
    assert_eq!(page.status, StatusCode::OK);
    let listed = page.texts("section.attachments li");
    assert_eq!(listed.len(), 200);
    assert!(listed[0].starts_with("f0.bin"), "{}", listed[0]);
    let more = page.texts("section.attachments .more-attachments");
    assert_eq!(more.len(), 1);
    assert!(
        more[0].starts_with("4,800 more attachments are not listed here"),
        "{more:?}"
    );
    assert_eq!(
        page.attrs("section.attachments .more-attachments a", "href"),
        ["/mail/INBOX/1/attachments.zip"]
    );

    // The zip is streamed: its headers come before it is written, and while it is
    // still being written (its body not read yet) the server answers other requests.
    let res = app
        .client
        .get(app.url("/mail/INBOX/1/attachments.zip"))
        .send()
        .await
        .expect("GET zip");
    assert_eq!(res.status(), StatusCode::OK);
    let health = app.get("/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok")
    );
    let other = app.get("/mail/INBOX").await;
    assert_eq!(other.texts("main h1").len(), 1, "{}", other.body);

    let bytes = res.bytes().await.expect("the whole zip").to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip file");
    assert_eq!(zip.len(), 5000);
    for (i, expected) in files.iter().enumerate() {
        let mut f = zip.by_index(i).expect("entry");
        assert_eq!(f.name().expect("name"), format!("f{i}.bin"));
        let mut got = Vec::new();
        f.read_to_end(&mut got).expect("read entry");
        assert!(got == *expected, "f{i}.bin differs");
    }
}

#[tokio::test]
async fn html_too_large_or_too_deep_is_offered_as_a_download_instead() {
    let app = TestApp::spawn("heavy-html").await;
    let stack = MailStack::shared();
    // 3 MB of nested tags (over the size cap), 1,000 nested divs (over the depth cap),
    // and an ordinary table layout (under both).
    let huge = "<div><b>x".repeat(3 * 1024 * 1024 / 9);
    let deep = format!("{}deep{}", "<div>".repeat(1000), "</div>".repeat(1000));
    let layout = format!(
        "{}<p>Hello <b>there</b></p><br><img src=\"cid:none\">{}",
        "<table><tr><td><div>".repeat(40),
        "</div></td></tr></table>".repeat(40)
    );
    for (subject, html) in [("Huge", &huge), ("Deep", &deep), ("Layout", &layout)] {
        stack
            .append(&app.user, "INBOX", &html_message(subject, html), &[])
            .await;
    }
    app.login().await;

    for (uid, html) in [(1, &huge), (2, &deep)] {
        let page = app.get(&format!("/mail/INBOX/{uid}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let notice = page.texts(".too-large");
        assert_eq!(notice.len(), 1, "message {uid}");
        assert!(
            notice[0]
                .starts_with("Part of this message is too large to display here — download it."),
            "{notice:?}"
        );
        let links = page.attrs(".too-large a", "href");
        assert_eq!(links, [format!("/mail/INBOX/{uid}/part/0")]);
        // The link downloads the HTML itself (as a file, never rendered).
        let (status, headers, bytes) = app.get_bytes(&links[0]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(String::from_utf8_lossy(&bytes).trim_end(), html.as_str());

        let body = app.get_frame(&format!("/mail/INBOX/{uid}/body")).await;
        assert_eq!(body.status, StatusCode::OK);
        assert_eq!(
            body.texts("p.mr-too-large"),
            ["Part of this message is too large to display here — download it."]
        );
        assert!(
            body.body.len() < 10_000,
            "message {uid}: nothing of the HTML"
        );
    }

    // Ordinary nesting renders as always, with no notice.
    let page = app.get("/mail/INBOX/3").await;
    assert!(page.texts(".too-large").is_empty());
    let body = app.get_frame("/mail/INBOX/3/body").await;
    assert!(
        body.texts("p").contains(&"Hello there".to_owned()),
        "{}",
        body.body
    );
    assert!(body.texts("p.mr-too-large").is_empty());

    // In Chinese too.
    let zh = app
        .get_with(
            "/mail/INBOX/2/body",
            &[("accept-language", "zh-CN"), ("sec-fetch-dest", "iframe")],
        )
        .await;
    assert_eq!(
        zh.texts("p.mr-too-large"),
        ["此邮件有部分内容过大，无法在此显示——请下载查看。"]
    );
}
