//! Search (issue 4, item 3) against a real Dovecot: each field, Chinese subject and body
//! text, the filters, all folders, paging, bad input, and the fallbacks for servers
//! without ESORT/ESEARCH.

use mailroom::imap::{PageRequest, SearchField, SearchQuery, SearchText};
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    direct::{account, client},
    mailstack::MailStack,
};

/// A message with the given headers; `body` is plain UTF-8 text sent as base64, so the
/// server has to decode it before searching (as real Chinese mail is).
fn message(subject: &str, from: &str, to: &str, date: &str, body: &str) -> Vec<u8> {
    use base64::Engine as _;
    let subject = if subject.is_ascii() {
        subject.to_owned()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(subject)
        )
    };
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{}@example.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        rand::random::<u64>(),
        base64::engine::general_purpose::STANDARD.encode(body)
    )
    .into_bytes()
}

/// A message with a PDF attachment (multipart/mixed).
fn with_attachment(subject: &str, date: &str) -> Vec<u8> {
    format!(
        "From: Files <files@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n--b1\r\n\
         Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// Subjects of the rows of a results page, sorted (result order is by date elsewhere).
fn subjects(page: &Page) -> Vec<String> {
    let mut s = page.texts("table.messages td.subject a");
    s.sort();
    s
}

/// Query-string pairs of a search.
type Query<'a> = &'a [(&'a str, &'a str)];

/// `/mail/{mailbox}?…` with the pairs percent-encoded.
fn search_url(mailbox: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    format!("/mail/{mailbox}?{}", query.join("&"))
}

async fn seeded_app(prefix: &str) -> TestApp {
    let app = TestApp::spawn(prefix).await;
    let stack = MailStack::shared();
    let u = &app.user;
    stack
        .append(
            u,
            "INBOX",
            &message(
                "Quarterly budget",
                "Alice Wong <alice.w@corp.test>",
                "team@corp.test",
                "Mon, 02 Nov 2026 09:00:00 +0000",
                "The numbers are in the spreadsheet.",
            ),
            &[],
        )
        .await;
    stack
        .append(
            u,
            "INBOX",
            &message(
                "项目进度报告",
                "Zhang Wei <zhang@corp.test>",
                "boss@corp.test",
                "Tue, 03 Nov 2026 09:00:00 +0000",
                "请查看附件中的季度预算，谢谢。",
            ),
            &[],
        )
        .await;
    stack
        .append(
            u,
            "INBOX",
            &message(
                "Lunch",
                "Bob <bob@corp.test>",
                "alice.w@corp.test",
                "Wed, 04 Nov 2026 09:00:00 +0000",
                "Let us talk about the budget later.",
            ),
            &[],
        )
        .await;
    app.login().await;
    app
}

#[tokio::test]
async fn search_by_each_field_including_chinese_text() {
    let app = seeded_app("search-fields").await;
    let cases: &[(&str, &str, &[&str])] = &[
        ("subject", "budget", &["Quarterly budget"]),
        ("body", "budget", &["Lunch"]),
        ("all", "budget", &["Lunch", "Quarterly budget"]),
        ("from", "zhang", &["项目进度报告"]),
        ("from", "Alice Wong", &["Quarterly budget"]),
        ("to", "boss@corp.test", &["项目进度报告"]),
        ("to", "alice.w", &["Lunch"]),
        ("subject", "项目", &["项目进度报告"]),
        ("body", "季度预算", &["项目进度报告"]),
        ("all", "季度预算", &["项目进度报告"]),
        ("subject", "nothing-like-this", &[]),
    ];
    for (field, q, expected) in cases {
        let page = app
            .get(&search_url("INBOX", &[("q", q), ("field", field)]))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{field}={q}: {}", page.body);
        assert_eq!(subjects(&page), *expected, "field {field}, text {q:?}");
        // The form shows what was searched for.
        assert_eq!(
            page.attrs("form.search input[name=q]", "value"),
            vec![q.to_string()]
        );
        assert_eq!(
            page.attrs("select[name=field] option[selected]", "value"),
            vec![field.to_string()]
        );
        if expected.is_empty() {
            assert_eq!(page.texts("p.empty").len(), 1);
        } else {
            assert_eq!(
                page.texts(".list-head .total"),
                vec![format!("{} found", expected.len())]
            );
        }
    }
}

#[tokio::test]
async fn search_text_cannot_change_the_command() {
    let app = seeded_app("search-inject").await;
    // Interpolated raw, this would read `TEXT x" OR ALL` (or worse, with a line break);
    // sent as quoted strings it is three words no message contains together. In the
    // default scope (headers) and with the message text.
    for field in ["headers", "all"] {
        for q in ["x\" OR ALL", "\\\" ALL", "budget\" ALL \""] {
            let page = app
                .get(&search_url("INBOX", &[("q", q), ("field", field)]))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{q}: {}", page.body);
            assert!(
                subjects(&page).is_empty(),
                "{q:?} in {field} matched {:?}",
                subjects(&page)
            );
        }
    }
    // A quoted phrase must match as a whole (in the message text: the default scope
    // does not look there).
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "\"budget later\""), ("field", "body")],
        ))
        .await;
    assert_eq!(subjects(&page), vec!["Lunch"]);
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "\"later budget\""), ("field", "body")],
        ))
        .await;
    assert!(subjects(&page).is_empty());
}

#[tokio::test]
async fn filters_unread_flagged_attachments_and_dates() {
    let app = TestApp::spawn("search-filters").await;
    let stack = MailStack::shared();
    let u = &app.user;
    let msg = |s: &str, d: &str| message(s, "X <x@corp.test>", "me@corp.test", d, "text");
    stack
        .append(
            u,
            "INBOX",
            &msg("read old", "Sun, 01 Nov 2026 10:00:00 +0000"),
            &["\\Seen"],
        )
        .await;
    stack
        .append(
            u,
            "INBOX",
            &msg("unread mid", "Thu, 05 Nov 2026 10:00:00 +0000"),
            &[],
        )
        .await;
    stack
        .append(
            u,
            "INBOX",
            &msg("flagged new", "Tue, 10 Nov 2026 10:00:00 +0000"),
            &["\\Seen", "\\Flagged"],
        )
        .await;
    stack
        .append(
            u,
            "INBOX",
            &with_attachment("with pdf", "Fri, 06 Nov 2026 10:00:00 +0000"),
            &["\\Seen"],
        )
        .await;
    app.login().await;

    let cases: &[(Query, &[&str])] = &[
        (&[("unread", "1")], &["unread mid"]),
        (&[("flagged", "1")], &["flagged new"]),
        (&[("attachments", "1")], &["with pdf"]),
        (
            &[("since", "2026-11-05"), ("before", "2026-11-10")],
            &["unread mid", "with pdf"],
        ),
        (&[("since", "2026-11-06")], &["flagged new", "with pdf"]),
        (&[("before", "2026-11-02")], &["read old"]),
        (&[("unread", "1"), ("since", "2026-11-06")], &[]),
        (
            &[("q", "flagged"), ("field", "subject"), ("flagged", "1")],
            &["flagged new"],
        ),
    ];
    for (pairs, expected) in cases {
        let page = app.get(&search_url("INBOX", pairs)).await;
        assert_eq!(page.status, StatusCode::OK, "{pairs:?}");
        assert_eq!(subjects(&page), *expected, "{pairs:?}");
    }
    // The paperclip agrees with the filter.
    let page = app.get(&search_url("INBOX", &[("attachments", "1")])).await;
    assert_eq!(page.texts("tr .mark.attachment").len(), 1);
    // Filters are remembered in the form.
    let page = app
        .get(&search_url(
            "INBOX",
            &[("unread", "1"), ("since", "2026-11-05")],
        ))
        .await;
    assert_eq!(
        page.attrs("input[name=unread][checked]", "value"),
        vec!["1"]
    );
    assert_eq!(
        page.attrs("form.search input[name=since]", "value"),
        vec!["2026-11-05"]
    );
}

#[tokio::test]
async fn all_folders_search_shows_each_results_folder() {
    let app = TestApp::spawn("search-all").await;
    let stack = MailStack::shared();
    let u = &app.user;
    stack.create_mailbox(u, "报告/2026").await;
    let msg = |s: &str| {
        message(
            s,
            "X <x@corp.test>",
            "me@corp.test",
            "Mon, 02 Nov 2026 10:00:00 +0000",
            "milestone review",
        )
    };
    stack.append(u, "INBOX", &msg("in inbox"), &[]).await;
    stack.append(u, "报告/2026", &msg("in report"), &[]).await;
    stack.append(u, "Sent", &msg("in sent"), &["\\Seen"]).await;
    stack
        .append(
            u,
            "Archive",
            &message(
                "unrelated",
                "x@y.test",
                "z@y.test",
                "Mon, 02 Nov 2026 10:00:00 +0000",
                "nothing",
            ),
            &[],
        )
        .await;
    app.login().await;

    // Only this folder without the option… ("milestone" is in the message text.)
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "milestone"), ("field", "all")],
        ))
        .await;
    assert_eq!(subjects(&page), vec!["in inbox"]);
    assert!(page.texts("td.folder").is_empty(), "no folder column");

    // …every folder with it, each row naming its folder and linking into it.
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "milestone"), ("field", "all"), ("all_folders", "1")],
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows: Vec<(String, String)> = page
        .texts("table.messages td.subject a")
        .into_iter()
        .zip(page.texts("table.messages td.folder"))
        .collect();
    let mut rows_sorted = rows.clone();
    rows_sorted.sort();
    assert_eq!(
        rows_sorted,
        vec![
            ("in inbox".to_owned(), "Inbox".to_owned()),
            ("in report".to_owned(), "报告/2026".to_owned()),
            ("in sent".to_owned(), "Sent".to_owned()),
        ]
    );
    let hrefs = page.attrs("table.messages td.subject a", "href");
    assert!(
        hrefs
            .iter()
            .any(|h| h.starts_with("/mail/%E6%8A%A5%E5%91%8A%2F2026/")),
        "{hrefs:?}"
    );
    assert!(
        hrefs.iter().any(|h| h.starts_with("/mail/Sent/")),
        "{hrefs:?}"
    );
    // The link opens the message in its folder.
    let sent = hrefs.iter().find(|h| h.starts_with("/mail/Sent/")).unwrap();
    let msg = app.get(sent).await;
    assert_eq!(msg.texts("h1.subject"), vec!["in sent"]);
    assert_eq!(
        page.attrs("input[name=all_folders][checked]", "value"),
        vec!["1"]
    );
}

#[tokio::test]
async fn results_page_like_a_folder() {
    let app = TestApp::spawn("search-paging").await;
    let stack = MailStack::shared();
    let emls: Vec<Vec<u8>> = (0..130)
        .map(|i| {
            let subject = if i % 13 == 0 {
                format!("other {i:03}")
            } else {
                format!("needle {i:03}")
            };
            message(
                &subject,
                "X <x@corp.test>",
                "me@corp.test",
                &format!("Mon, 02 Nov 2026 {:02}:{:02}:00 +0000", i / 60, i % 60),
                "text",
            )
        })
        .collect();
    stack.append_many(&app.user, "INBOX", &emls).await;
    app.login().await;

    let mut seen = std::collections::HashSet::new();
    for (page_no, expected_rows) in [(1, 50), (2, 50), (3, 20)] {
        let page = app
            .get(&search_url(
                "INBOX",
                &[
                    ("q", "needle"),
                    ("field", "subject"),
                    ("page", &page_no.to_string()),
                ],
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let rows = page.texts("table.messages td.subject a");
        assert_eq!(rows.len(), expected_rows, "page {page_no}");
        assert!(rows.iter().all(|s| s.starts_with("needle")));
        for r in rows {
            assert!(seen.insert(r.clone()), "{r} shown twice");
        }
        assert_eq!(page.texts(".list-head .total"), vec!["120 found"]);
        assert_eq!(
            page.texts(".pager span"),
            vec![format!("Page {page_no} of 3")]
        );
        let next = page.attrs(".pager a[rel=next]", "href");
        assert_eq!(next.len(), usize::from(page_no < 3), "page {page_no}");
        if let Some(n) = next.first() {
            // The next link keeps the search.
            assert!(n.contains("q=needle") && n.contains("field=subject"), "{n}");
        }
    }
    assert_eq!(seen.len(), 120);
    // Newest first: the first row of page 1 is the last needle appended.
    let page = app.get(&search_url("INBOX", &[("q", "needle")])).await;
    assert_eq!(page.texts("table.messages td.subject a")[0], "needle 129");
    // Past the end shows the last page.
    let page = app
        .get(&search_url("INBOX", &[("q", "needle"), ("page", "99")]))
        .await;
    assert_eq!(page.texts("table.messages td.subject a").len(), 20);

    // All-folders results page the same way.
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "needle"), ("all_folders", "1"), ("page", "3")],
        ))
        .await;
    assert_eq!(page.texts("table.messages td.subject a").len(), 20);
    assert_eq!(page.texts(".list-head .total"), vec!["120 found"]);
}

#[tokio::test]
async fn bad_search_input_shows_the_form_again() {
    let app = seeded_app("search-bad").await;
    let cases: &[(Query, &str)] = &[
        (&[("q", "budget\u{1}")], "control characters"),
        (&[("q", "a\r\nA1 LOGOUT")], "control characters"),
        (&[("q", "budget"), ("since", "2026-02-31")], "YYYY-MM-DD"),
        (&[("since", "yesterday")], "YYYY-MM-DD"),
        (
            &[("since", "2026-11-10"), ("before", "2026-11-01")],
            "start date must be before",
        ),
    ];
    for (pairs, message) in cases {
        let page = app.get(&search_url("INBOX", pairs)).await;
        assert_eq!(page.status, StatusCode::OK, "{pairs:?}: {}", page.body);
        let errors = page.texts(".search .field-error");
        assert_eq!(errors.len(), 1, "{pairs:?}: {errors:?}");
        assert!(errors[0].contains(message), "{pairs:?}: {errors:?}");
        assert!(page.texts("table.messages td.subject a").is_empty());
        // The user's input comes back as typed.
        for (k, v) in *pairs {
            if *k == "q" || *k == "since" || *k == "before" {
                // (HTML parsing turns CR LF into LF.)
                assert_eq!(
                    page.attrs(&format!("form.search input[name={k}]"), "value"),
                    vec![v.replace("\r\n", "\n")]
                );
            }
        }
    }
    // In Chinese too.
    let page = app
        .get_with(
            &search_url("INBOX", &[("since", "2026-13-01")]),
            &[("Accept-Language", "zh-CN")],
        )
        .await;
    assert!(page.texts(".field-error")[0].contains("日期格式"));
}

#[tokio::test]
async fn the_search_box_is_on_every_folder_page() {
    let app = seeded_app("search-box").await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.attrs("form.search", "action"), vec!["/mail/INBOX"]);
    assert_eq!(page.attrs("form.search", "method"), vec!["get"]);
    assert_eq!(
        page.attrs("form.search input[name=q]", "value"),
        vec![String::new()]
    );
    let fields = page.attrs("select[name=field] option", "value");
    assert_eq!(
        fields,
        vec!["headers", "subject", "from", "to", "all", "body"]
    );
    // Subject, from and to are searched unless the user asks for the message text.
    assert_eq!(
        page.attrs("select[name=field] option[selected]", "value"),
        vec!["headers"]
    );
    // The plain list is not a results page.
    assert_eq!(page.texts("table.messages td.subject a").len(), 3);
}

#[tokio::test]
async fn without_esort_or_esearch_the_results_are_the_same() {
    let stack = MailStack::shared();
    let user = stack.add_user("search-fallback");
    let emls: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            message(
                &format!("{} {i:02}", if i % 2 == 0 { "even 报告" } else { "odd" }),
                "X <x@corp.test>",
                "me@corp.test",
                &format!("Mon, 02 Nov 2026 10:{i:02}:00 +0000"),
                "text",
            )
        })
        .collect();
    stack.append_many(&user, "INBOX", &emls).await;
    let a = account(&user);
    let query = SearchQuery {
        text: SearchText::parse("报告").unwrap(),
        field: SearchField::Subject,
        ..SearchQuery::default()
    };
    let req = PageRequest {
        page: 2,
        per_page: 20,
        ..PageRequest::default()
    };
    let full = client(stack);
    full.login(&a).await.unwrap();
    let expected = full.search(&a, "INBOX", &query, &req).await.unwrap();
    assert_eq!(
        (expected.total, expected.pages, expected.messages.len()),
        (30, 2, 10)
    );
    for ignored in [
        &["ESORT"][..],
        &["ESORT", "ESEARCH"],
        &["ESORT", "ESEARCH", "SORT"],
        &["ESORT", "ESEARCH", "SORT", "LITERAL+"],
    ] {
        let imap = client(stack);
        imap.ignore_capabilities(ignored);
        imap.login(&a).await.unwrap();
        let page = imap.search(&a, "INBOX", &query, &req).await.unwrap();
        let subjects = |p: &mailroom::imap::MessagePage| {
            let mut s: Vec<String> = p.messages.iter().map(|m| m.subject.clone()).collect();
            s.sort();
            s
        };
        assert_eq!(
            (page.total, page.pages),
            (expected.total, expected.pages),
            "without {ignored:?}"
        );
        assert_eq!(subjects(&page), subjects(&expected), "without {ignored:?}");
        let all = imap
            .search_all(&a, &["INBOX".into(), "Sent".into()], &query, 1, 50)
            .await
            .unwrap();
        assert_eq!(all.total, 30, "without {ignored:?}");
        assert!(all.hits.iter().all(|h| h.mailbox == "INBOX"));
    }
}

/// Three messages whose words sit in one place each: the subject, a sender or recipient
/// (Chinese names too), or only the message text. Logged in on `stack`. Bodies end with a
/// line break, as real mail does: fts_xapian 1.5.5 leaves the last word of a body without
/// one out of its index.
async fn scope_app(stack: &'static MailStack, prefix: &str) -> TestApp {
    let user = stack.add_user(prefix);
    let zhang = "=?UTF-8?B?5byg5Lyf?= <zhang@corp.test>"; // 张伟
    let emls = [
        message(
            "Quarterly budget",
            "Alice Wong <alice.w@corp.test>",
            "team@corp.test",
            "Mon, 02 Nov 2026 09:00:00 +0000",
            "The numbers are in the spreadsheet.\r\n",
        ),
        message(
            "项目进度报告",
            zhang,
            "boss@corp.test\r\nCc: auditor@corp.test",
            "Tue, 03 Nov 2026 09:00:00 +0000",
            "请查看附件中的季度预算，谢谢。\r\n",
        ),
        message(
            "Lunch",
            "Bob <bob@corp.test>",
            "alice.w@corp.test",
            "Wed, 04 Nov 2026 09:00:00 +0000",
            "Let us talk about the budget later. Pineapple pizza?\r\n",
        ),
    ];
    for eml in &emls {
        stack.append(&user, "INBOX", eml, &[]).await;
    }
    let app = TestApp::spawn_with(stack, user, |_| {}).await;
    app.login().await;
    app
}

/// The default scope (subject, from, to) and the one-click search in the message
/// text, with the "may be slow" notice exactly when the server has no full-text index.
async fn default_scope_and_text_search(stack: &'static MailStack, indexed: bool) {
    let app = scope_app(stack, if indexed { "scope-fts" } else { "scope" }).await;
    // First of all (nothing known about the server yet), across all folders.
    let page = app
        .get(&search_url(
            "INBOX",
            &[("q", "pineapple"), ("field", "all"), ("all_folders", "1")],
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(subjects(&page), vec!["Lunch"]);
    assert_eq!(
        page.texts(".search-slow").len(),
        usize::from(!indexed),
        "{}",
        page.body
    );
    // Found in subject, sender or recipients, never only in the message text.
    let cases: &[(&str, &[&str])] = &[
        ("budget", &["Quarterly budget"]),
        ("alice.w", &["Lunch", "Quarterly budget"]),
        // Cc is left to the search everywhere (it would cost a quarter more).
        ("auditor", &[]),
        ("boss", &["项目进度报告"]),
        ("项目", &["项目进度报告"]),
        ("张伟", &["项目进度报告"]),
        ("pineapple", &[]),
        ("季度预算", &[]),
    ];
    for (q, expected) in cases {
        let page = app.get(&search_url("INBOX", &[("q", q)])).await;
        assert_eq!(page.status, StatusCode::OK, "{q}: {}", page.body);
        assert_eq!(subjects(&page), *expected, "default scope, {q:?}");
        // The form says where it looked; nothing about slowness: headers are quick.
        assert_eq!(
            page.attrs("select[name=field] option[selected]", "value"),
            vec!["headers"]
        );
        assert!(page.texts(".search-slow").is_empty(), "{q:?}");
        // One click searches the message text too: same words, same filters.
        let links = page.attrs("a.search-text", "href");
        assert_eq!(links.len(), 1, "{q:?}: {}", page.body);
        assert!(links[0].contains("field=all"), "{links:?}");
        assert_eq!(
            page.texts("a.search-text"),
            vec!["Search the message text too"]
        );
    }

    // Words only in the message text are found by the one click.
    for (q, expected) in [
        ("pineapple", vec!["Lunch"]),
        ("季度预算", vec!["项目进度报告"]),
        ("auditor", vec!["项目进度报告"]),
        ("budget", vec!["Lunch", "Quarterly budget"]),
    ] {
        let page = app.get(&search_url("INBOX", &[("q", q)])).await;
        let link = page.attrs("a.search-text", "href").remove(0);
        let page = app.get(&link).await;
        assert_eq!(page.status, StatusCode::OK, "{link}: {}", page.body);
        assert_eq!(subjects(&page), expected, "text scope, {q:?}");
        assert_eq!(
            page.attrs("form.search input[name=q]", "value"),
            vec![q.to_string()]
        );
        assert_eq!(
            page.attrs("select[name=field] option[selected]", "value"),
            vec!["all"]
        );
        // Already looking everywhere: no link to do so.
        assert!(page.texts("a.search-text").is_empty());
        let slow = page.texts(".search-slow");
        if indexed {
            assert!(slow.is_empty(), "index, yet {slow:?}");
        } else {
            assert_eq!(slow.len(), 1, "no index, no notice: {}", page.body);
            assert!(slow[0].contains("may be slow"), "{slow:?}");
        }
    }
    // The text-only choice says so too, and in Chinese.
    let page = app
        .get_with(
            &search_url("INBOX", &[("q", "pineapple"), ("field", "body")]),
            &[("Accept-Language", "zh-CN")],
        )
        .await;
    assert_eq!(subjects(&page), vec!["Lunch"]);
    assert_eq!(page.texts(".search-slow").len(), usize::from(!indexed));
    if !indexed {
        assert!(page.texts(".search-slow")[0].contains("全文索引"));
    }
    let page = app
        .get_with(
            &search_url("INBOX", &[("q", "pineapple")]),
            &[("Accept-Language", "zh-CN")],
        )
        .await;
    assert_eq!(page.texts("a.search-text"), vec!["同时搜索邮件正文"]);
}

#[tokio::test]
async fn default_scope_without_a_full_text_index() {
    default_scope_and_text_search(MailStack::shared(), false).await;
}

#[tokio::test]
async fn default_scope_with_a_full_text_index() {
    default_scope_and_text_search(MailStack::fts(), true).await;
}

/// Hostile search text: quotes, backslashes, an attempt to end the command, line breaks
/// and very long text. Each is searched for as text or refused with a message beside the
/// field; none changes anything on the server.
async fn hostile_queries(stack: &'static MailStack, prefix: &str) {
    let app = scope_app(stack, prefix).await;
    // A lone quote opens an empty phrase: no words, so like an empty search it shows the
    // whole folder (the filters alone).
    let page = app.get(&search_url("INBOX", &[("q", "\"")])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(subjects(&page).len(), 3);
    for field in ["headers", "all"] {
        for q in [
            "\\",
            "\\\"\\\\",
            "x\" ) UID STORE 1:* +FLAGS (\\Deleted",
            "budget\" OR ALL \"",
            "{5+}",
        ] {
            let page = app
                .get(&search_url("INBOX", &[("q", q), ("field", field)]))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{q:?}: {}", page.body);
            assert!(subjects(&page).is_empty(), "{q:?} in {field}");
            assert!(page.texts(".search .field-error").is_empty(), "{q:?}");
            assert_eq!(
                page.attrs("form.search input[name=q]", "value"),
                vec![q.to_string()]
            );
        }
    }
    let long = "长".repeat(1000);
    for (q, message) in [
        (
            "x\r\nA1 UID STORE 1:* +FLAGS (\\Deleted)",
            "control characters",
        ),
        ("budget\n", "control characters"),
        (long.as_str(), "too long"),
        (&"a".repeat(201), "too long"),
    ] {
        let page = app.get(&search_url("INBOX", &[("q", q)])).await;
        assert_eq!(page.status, StatusCode::OK, "{q:?}: {}", page.body);
        let errors = page.texts(".search .field-error");
        assert_eq!(errors.len(), 1, "{q:?}: {errors:?}");
        assert!(errors[0].contains(message), "{q:?}: {errors:?}");
        assert!(subjects(&page).is_empty());
    }
    // Nothing was flagged or deleted, and searching still works.
    let mut s = stack.imap(&app.user).await;
    s.select("INBOX").await.expect("SELECT");
    let deleted = s.uid_search("DELETED").await.expect("SEARCH");
    assert!(deleted.is_empty(), "{deleted:?}");
    assert_eq!(s.uid_search("ALL").await.expect("SEARCH").len(), 3);
    let _ = s.logout().await;
    let page = app.get(&search_url("INBOX", &[("q", "budget")])).await;
    assert_eq!(subjects(&page), vec!["Quarterly budget"]);
}

#[tokio::test]
async fn hostile_search_text_without_an_index() {
    hostile_queries(MailStack::shared(), "hostile-search").await;
}

#[tokio::test]
async fn hostile_search_text_with_an_index() {
    hostile_queries(MailStack::fts(), "hostile-search-fts").await;
}

/// Cyrus 3.6 announces `SEARCH=FUZZY` without any index: the notice must still show.
#[tokio::test]
async fn default_scope_on_cyrus_which_scans_message_text() {
    default_scope_and_text_search(MailStack::cyrus(), false).await;
}
