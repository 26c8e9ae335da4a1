//! Mail rules through the web forms (issue 12): filters, vacation and forwarding are saved
//! on Dovecot's ManageSieve, mail is then delivered through Postfix's inbound port, and the
//! result is checked on the server over IMAP (the folder it landed in, its flags, the copy
//! another user received). Also: bad input shown again as typed, another active script
//! kept until the user agrees, a hand-edited script never rewritten, the raw editor's
//! CHECKSCRIPT errors at their line, and a dead ManageSieve server.

use std::time::Duration;

use futures::TryStreamExt;
use mailroom::sieve::client::{Client, ScriptEntry};
use reqwest::StatusCode;
use tokio::net::TcpStream;

use crate::common::{
    app::TestApp,
    mailstack::{MailStack, TestUser, imap_utf7},
};

const WAIT: Duration = Duration::from_secs(15);

/// A logged-in ManageSieve connection as `user` (plain TCP on loopback), to look at and
/// prepare the server's scripts behind Mailroom's back.
async fn sieve(user: &TestUser) -> Client<TcpStream> {
    let stack = MailStack::shared();
    let tcp = TcpStream::connect(("127.0.0.1", stack.sieve_port))
        .await
        .expect("connect ManageSieve");
    let mut c = Client::start(tcp).await.expect("greeting");
    c.authenticate_plain(&user.address, &user.password)
        .await
        .expect("ManageSieve login");
    c
}

async fn scripts(user: &TestUser) -> Vec<ScriptEntry> {
    let mut c = sieve(user).await;
    let list = c.list_scripts().await.expect("LISTSCRIPTS");
    c.logout().await;
    list
}

fn eml(from: &str, to: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\n\
         Date: Fri, 04 Dec 2026 03:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n{extra}\r\nHello.\r\n",
        rand_id()
    )
    .into_bytes()
}

fn rand_id() -> String {
    mailroom::ids::random_token(9)
}

/// Another server hands `to` a message from `from` through Postfix's inbound port.
async fn mail(from: &str, to: &str, subject: &str, extra: &str) {
    let stack = MailStack::shared();
    stack
        .deliver(from, &[to], &eml(from, to, subject, extra))
        .await;
}

/// Flags of every message in `mailbox`.
async fn flags(user: &TestUser, mailbox: &str) -> Vec<Vec<String>> {
    let stack = MailStack::shared();
    let mut s = stack.imap(user).await;
    s.select(imap_utf7(mailbox)).await.expect("SELECT");
    let fetches: Vec<_> = s
        .fetch("1:*", "FLAGS")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let _ = s.logout().await;
    fetches
        .iter()
        .map(|f| f.flags().map(|fl| format!("{fl:?}")).collect())
        .collect()
}

async fn app(prefix: &str) -> TestApp {
    let app = TestApp::spawn(prefix).await;
    app.login().await;
    app
}

#[tokio::test]
async fn filters_sort_flag_and_forward_mail_on_the_server() {
    let stack = MailStack::shared();
    let app = app("rules-a").await;
    let other = stack.add_user("rules-b");
    let me = app.user.address.clone();
    stack.create_mailbox(&app.user, "项目").await;

    let page = app.get("/settings/rules").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.texts("main h1"), ["Filters"]);
    // The folder picker offers the real folders, Chinese names included.
    let options = page.attrs("#rule-folders option", "value");
    assert!(options.contains(&"项目".to_owned()), "{options:?}");
    assert!(options.contains(&"INBOX".to_owned()));

    for fields in [
        [
            ("name", "报告"),
            ("field", "subject"),
            ("op", "contains"),
            ("value", "季度报告"),
            ("action", "move"),
            ("target", "项目"),
        ],
        [
            ("name", "boss"),
            ("field", "from"),
            ("op", "contains"),
            ("value", "boss@"),
            ("action", "flag"),
            ("target", ""),
        ],
        [
            ("name", "fwd"),
            ("field", "header"),
            ("op", "is"),
            ("value", "yes"),
            ("action", "forward"),
            ("target", &other.address),
        ],
    ] {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        if f.iter().any(|(_, v)| *v == "forward") {
            f.push(("header", "X-Forward-Me"));
            f.push(("keep", "1"));
        }
        let res = app.post_form("/settings/rules", &f).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(res.location(), "/settings/rules?saved=1");
    }
    let page = app.get("/settings/rules?saved=1").await;
    assert_eq!(page.texts(".notice"), ["Saved on the mail server."]);
    assert_eq!(page.texts(".rule-name"), ["报告", "boss", "fwd"]);
    assert_eq!(
        page.texts(".rule-summary")[0],
        "Subject contains “季度报告” → Move to 项目"
    );
    assert_eq!(
        scripts(&app.user).await,
        [ScriptEntry {
            name: "mailroom".into(),
            active: true
        }]
    );

    mail("x@example.test", &me, "=?UTF-8?B?5a2j5bqm5oql5ZGK?= Q4", "").await;
    mail("boss@example.test", &me, "hi", "").await;
    mail("y@example.test", &me, "pass on", "X-Forward-Me: yes\r\n").await;
    stack.wait_for_count(&app.user, "项目", 1, WAIT).await;
    stack.wait_for_count(&app.user, "INBOX", 2, WAIT).await;
    stack.wait_for_count(&other, "INBOX", 1, WAIT).await;
    assert_eq!(stack.count(&app.user, "项目").await, 1);
    let inbox = flags(&app.user, "INBOX").await;
    assert_eq!(
        inbox.len(),
        2,
        "the report went to 项目, the forwarded one was kept"
    );
    assert_eq!(
        inbox
            .iter()
            .filter(|f| f.iter().any(|x| x.contains("Flagged")))
            .count(),
        1,
        "{inbox:?}"
    );

    // Turn the flag rule off, move the forward rule up, delete the first.
    let ids = page.attrs(".rules-list li", "id");
    let id = |i: usize| ids[i].trim_start_matches("rule-").to_owned();
    let res = app
        .post_form(&format!("/settings/rules/{}/toggle", id(1)), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app
        .post_form(&format!("/settings/rules/{}/up", id(2)), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app
        .post_form(&format!("/settings/rules/{}/delete", id(0)), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get("/settings/rules").await;
    assert_eq!(page.texts(".rule-name"), ["fwd", "boss"]);
    assert_eq!(page.texts(".rule.disabled .rule-name"), ["boss"]);
    mail("boss@example.test", &me, "again", "").await;
    stack.wait_for_count(&app.user, "INBOX", 3, WAIT).await;
    let inbox = flags(&app.user, "INBOX").await;
    assert_eq!(
        inbox
            .iter()
            .filter(|f| f.iter().any(|x| x.contains("Flagged")))
            .count(),
        1,
        "a disabled rule does nothing: {inbox:?}"
    );
}

#[tokio::test]
async fn bad_rule_input_is_shown_again_as_typed() {
    let app = app("rules-bad").await;
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("name", "空的"),
                ("field", "subject"),
                ("op", "contains"),
                ("value", "  "),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.texts("#rule-value-error"), ["Enter what to look for."]);
    assert_eq!(res.attrs("#rule-name", "value"), ["空的"]);
    assert_eq!(
        res.attrs("#rule-field option[selected]", "value"),
        ["subject"]
    );

    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "from"),
                ("op", "is"),
                ("value", "a"),
                ("action", "forward"),
                ("target", "not an address"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts("#rule-target-error")[0].starts_with("Enter a valid address"));
    assert_eq!(res.attrs("#rule-target", "value"), ["not an address"]);
    assert_eq!(
        res.attrs("#rule-action option[selected]", "value"),
        ["forward"]
    );

    // A folder that is not in the user's list, and a script injection attempt in the value.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "from"),
                ("op", "is"),
                ("value", "a"),
                ("action", "move"),
                ("target", "Nope\";discard;"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts("#rule-target-error"),
        ["Choose one of your folders."]
    );
    assert!(scripts(&app.user).await.is_empty(), "nothing was written");

    // Quotes and backslashes in a value are data, not Sieve.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "subject"),
                ("op", "contains"),
                ("value", "\"; discard; \\"),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mut c = sieve(&app.user).await;
    let text = c.get_script("mailroom").await.unwrap();
    c.logout().await;
    assert!(
        text.contains("header :contains \"subject\" \"\\\"; discard; \\\\\""),
        "{text}"
    );

    // Another user, a cross-site form and an anonymous visitor get nowhere.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("csrf_token", "forged"),
                ("field", "from"),
                ("value", "x"),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let anon = app.other_browser(app.user.clone());
    let res = anon.get("/settings/rules").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"));
}

#[tokio::test]
async fn vacation_answers_once_and_never_a_list() {
    let stack = MailStack::shared();
    let app = app("vac-a").await;
    let me = app.user.address.clone();
    let sender = stack.add_user("vac-sender");
    let list = stack.add_user("vac-list");

    // Bad input first: enabled without a message, a wrong date; what was typed stays.
    let res = app
        .post_form(
            "/settings/vacation",
            &[
                ("enabled", "1"),
                ("subject", "不在办公室"),
                ("body", ""),
                ("start", "2026-13-01"),
                ("days", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts("#vacation-body-error"),
        ["Write the message to send."]
    );
    assert_eq!(
        res.texts("#vacation-dates-error"),
        ["Enter dates as YYYY-MM-DD."]
    );
    assert_eq!(res.attrs("#vacation-subject", "value"), ["不在办公室"]);
    assert_eq!(res.attrs("#vacation-start", "value"), ["2026-13-01"]);

    let res = app
        .post_form(
            "/settings/vacation",
            &[
                ("enabled", "1"),
                ("subject", "不在办公室"),
                ("body", "I am away.\n我不在。"),
                ("start", ""),
                ("end", ""),
                ("days", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/vacation").await;
    assert_eq!(
        page.attrs("#vacation-enabled[checked]", "name"),
        ["enabled"]
    );
    assert_eq!(page.texts("#vacation-body"), ["I am away.\n我不在。"]);

    let s = sender.address.as_str();
    mail(s, &me, "one", "").await;
    stack.wait_for_count(&sender, "INBOX", 1, WAIT).await;
    mail(s, &me, "two", "").await;
    let l = list.address.as_str();
    mail(l, &me, "list", "List-Id: <team.example.test>\r\n").await;
    mail(l, &me, "bulk", "Precedence: bulk\r\n").await;
    stack.wait_for_count(&app.user, "INBOX", 4, WAIT).await;
    // Give a (wrong) second reply time to arrive before asserting there is none.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        stack.count(&sender, "INBOX").await,
        1,
        "answered once within the interval"
    );
    assert_eq!(
        stack.count(&list, "INBOX").await,
        0,
        "lists and bulk mail get no answer"
    );
    let mut s = stack.imap(&sender).await;
    s.select("INBOX").await.unwrap();
    let fetched: Vec<_> = s
        .fetch("1", "BODY.PEEK[HEADER.FIELDS (SUBJECT AUTO-SUBMITTED)]")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let head = String::from_utf8_lossy(fetched[0].header().unwrap_or_default()).into_owned();
    assert!(
        head.to_ascii_lowercase()
            .contains("auto-submitted: auto-replied"),
        "{head}"
    );
    let _ = s.logout().await;
}

#[tokio::test]
async fn forwarding_with_and_without_a_copy() {
    let stack = MailStack::shared();
    let app = app("fwd-a").await;
    let me = app.user.address.clone();
    let to = stack.add_user("fwd-b");

    let res = app
        .post_form(
            "/settings/forwarding",
            &[("enabled", "1"), ("addresses", "bad@@x"), ("keep", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts("#forwarding-error")[0].contains("not valid"));
    assert_eq!(res.texts("#forwarding-addresses"), ["bad@@x"]);

    let res = app
        .post_form(
            "/settings/forwarding",
            &[("enabled", "1"), ("addresses", &to.address), ("keep", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    mail("x@example.test", &me, "copy kept", "").await;
    stack.wait_for_count(&to, "INBOX", 1, WAIT).await;
    stack.wait_for_count(&app.user, "INBOX", 1, WAIT).await;

    let res = app
        .post_form(
            "/settings/forwarding",
            &[("enabled", "1"), ("addresses", &to.address)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get("/settings/forwarding").await;
    assert!(page.attrs("#forwarding-keep[checked]", "name").is_empty());
    mail("x@example.test", &me, "no copy", "").await;
    stack.wait_for_count(&to, "INBOX", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.count(&app.user, "INBOX").await, 1, "no copy kept");
}

#[tokio::test]
async fn another_active_script_is_kept_until_the_user_agrees() {
    let app = app("rules-other").await;
    let mut c = sieve(&app.user).await;
    c.put_script(
        "roundcube",
        "require \"fileinto\";\r\nfileinto \"Old\";\r\n",
    )
    .await
    .unwrap();
    c.set_active("roundcube").await.unwrap();
    c.logout().await;

    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "from"),
                ("op", "contains"),
                ("value", "a"),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/settings/rules?saved=inactive");
    let list = scripts(&app.user).await;
    assert!(
        list.contains(&ScriptEntry {
            name: "roundcube".into(),
            active: true
        }),
        "{list:?}"
    );
    assert!(
        list.contains(&ScriptEntry {
            name: "mailroom".into(),
            active: false
        }),
        "{list:?}"
    );
    let page = app.get("/settings/rules?saved=inactive").await;
    assert!(page.texts("#rules-other-active p")[0].contains("“roundcube” is active"));
    assert!(page.texts("#rules-other-active pre")[0].contains("fileinto \"Old\";"));

    let res = app.post_form("/settings/rules/activate", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = scripts(&app.user).await;
    assert!(
        list.contains(&ScriptEntry {
            name: "roundcube".into(),
            active: false
        }),
        "kept: {list:?}"
    );
    assert!(list.contains(&ScriptEntry {
        name: "mailroom".into(),
        active: true
    }));
    let page = app.get("/settings/rules").await;
    assert!(page.texts("#rules-other-active").is_empty());
}

#[tokio::test]
async fn hand_edited_script_is_never_rewritten_and_the_editor_shows_errors_at_their_line() {
    let app = app("rules-raw").await;
    // The advanced editor: an error on line 3 is reported there, and the text stays.
    let bad = "require \"fileinto\";\r\n# 注释\r\nfileinot \"x\";\r\n";
    let res = app
        .post_form("/settings/rules/advanced", &[("script", bad)])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(
        res.texts("#advanced-errors li[data-line=\"3\"]").len(),
        1,
        "{}",
        res.body
    );
    assert_eq!(res.texts("#line-3"), ["fileinot \"x\";"]);
    assert_eq!(
        res.texts("#advanced-script"),
        [bad.replace("\r\n", "\n").trim_end()]
    );
    assert!(scripts(&app.user).await.is_empty());

    let good = "require \"fileinto\";\r\n# by hand\r\nif header :contains \"subject\" \"x\" { fileinto \"INBOX\"; }\r\n";
    let res = app
        .post_form("/settings/rules/advanced", &[("script", good)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/rules").await;
    assert_eq!(page.texts("#rules-foreign").len(), 1);

    // The forms refuse to overwrite it and keep what was typed.
    let res = app
        .post_form(
            "/settings/forwarding",
            &[("enabled", "1"), ("addresses", "z@example.test")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts("#forwarding-error")[0].contains("changed outside Mailroom"));
    assert_eq!(res.texts("#forwarding-addresses"), ["z@example.test"]);
    let mut c = sieve(&app.user).await;
    let text = c.get_script("mailroom").await.unwrap();
    c.logout().await;
    assert_eq!(text.replace("\r\n", "\n"), good.replace("\r\n", "\n"));
}

#[tokio::test]
async fn a_dead_managesieve_server_gives_an_error_page_and_hides_the_links() {
    let stack = MailStack::shared();
    let user = stack.add_user("rules-down");
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(stack, user, |c| {
        if let Some(s) = c.sieve.as_mut() {
            s.port = closed;
        }
    })
    .await;
    app.login().await;
    let page = app.get("/settings/rules").await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    let res = app
        .post_form(
            "/settings/vacation",
            &[("enabled", "1"), ("body", "x"), ("days", "3")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY);
    let page = app.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#rules-unavailable")[0].contains("offers no ManageSieve"));
    assert!(
        page.attrs("#more a[href=\"/settings/rules\"]", "href")
            .is_empty()
    );
}

#[tokio::test]
async fn another_users_rule_cannot_be_touched_and_a_future_vacation_stays_silent() {
    let stack = MailStack::shared();
    let owner = app("rules-owner").await;
    let res = owner
        .post_form(
            "/settings/rules",
            &[
                ("field", "from"),
                ("op", "contains"),
                ("value", "x"),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = owner.get("/settings/rules").await;
    let id = page.attrs(".rules-list li", "id")[0]
        .trim_start_matches("rule-")
        .to_owned();

    // Another user on the same app only ever sees and changes their own script.
    let intruder = owner.other_browser(stack.add_user("rules-intruder"));
    intruder.login().await;
    let res = intruder
        .post_form(&format!("/settings/rules/{id}/delete"), &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        owner.get("/settings/rules").await.texts(".rule-name"),
        ["x"]
    );

    // A vacation that starts next year is saved but answers nobody yet.
    let res = owner
        .post_form(
            "/settings/vacation",
            &[
                ("enabled", "1"),
                ("subject", "later"),
                ("body", "Away later."),
                ("start", "2099-01-01"),
                ("days", "7"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let sender = stack.add_user("rules-early");
    let (s, me) = (sender.address.as_str(), owner.user.address.as_str());
    mail(s, me, "early", "").await;
    stack.wait_for_count(&owner.user, "INBOX", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(stack.count(&sender, "INBOX").await, 0);
    // The rule survived the vacation save: all pages share one script.
    assert_eq!(
        owner.get("/settings/rules").await.texts(".rule-name"),
        ["x"]
    );
}

#[tokio::test]
async fn two_conditions_with_any_and_a_size_rule() {
    let stack = MailStack::shared();
    let app = app("rules-any").await;
    let me = app.user.address.clone();
    stack.create_mailbox(&app.user, "Big").await;
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("name", "big or urgent"),
                ("field", "size_over"),
                ("value", "20k"),
                ("match", "any"),
                ("field2", "subject"),
                ("op2", "contains"),
                ("value2", "紧急"),
                ("action", "move"),
                ("target", "Big"),
                ("stop", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/rules").await;
    assert_eq!(
        page.texts(".rule-summary"),
        ["Size is over 20K or Subject contains “紧急” → Move to Big, Stop"]
    );
    // A bad second condition is reported and everything typed stays.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "from"),
                ("value", "a"),
                ("field2", "size_under"),
                ("value2", "lots"),
                ("action", "flag"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts("#rule-value2-error"),
        ["Enter a size such as 500K or 2M."]
    );
    assert_eq!(res.attrs("#rule-value2", "value"), ["lots"]);

    let big = format!("{}\r\n", "x".repeat(30_000));
    let mut large = eml("x@example.test", &me, "plain", "");
    large.extend_from_slice(big.as_bytes());
    stack.deliver("x@example.test", &[&me], &large).await;
    mail("x@example.test", &me, "=?UTF-8?B?57Sn5oCl?=", "").await;
    mail("x@example.test", &me, "small", "").await;
    stack.wait_for_count(&app.user, "Big", 2, WAIT).await;
    stack.wait_for_count(&app.user, "INBOX", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stack.count(&app.user, "INBOX").await, 1);
    assert_eq!(stack.count(&app.user, "Big").await, 2);
}

#[tokio::test]
async fn a_rule_is_edited_in_place() {
    let app = app("rules-edit").await;
    for value in ["first", "second"] {
        let res = app
            .post_form(
                "/settings/rules",
                &[
                    ("name", value),
                    ("field", "subject"),
                    ("op", "contains"),
                    ("value", value),
                    ("action", "flag"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    let page = app.get("/settings/rules").await;
    let hrefs = page.attrs(".rule-edit", "href");
    let form = app.get(&hrefs[0]).await;
    assert_eq!(form.attrs("#rule-value", "value"), ["first"]);
    assert_eq!(
        form.attrs("#rule-action option[selected]", "value"),
        ["flag"]
    );
    let id = form.attrs("input[name=id]", "value")[0].clone();
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("id", &id),
                ("name", "第一"),
                ("field", "from"),
                ("op", "is"),
                ("value", "a@example.test"),
                ("action", "read"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/rules").await;
    assert_eq!(page.texts(".rule-name"), ["第一", "second"]);
    assert_eq!(
        page.texts(".rule-summary")[0],
        "From is “a@example.test” → Mark as read"
    );
    assert_eq!(
        app.get("/settings/rules?edit=nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn vacation_also_answers_mail_to_the_users_other_addresses() {
    let stack = MailStack::shared();
    let app = app("vac-alias").await;
    let alias = format!("alias-{}", app.user.address);
    let res = app
        .post_form(
            "/settings/identities",
            &[("email", &alias), ("display_name", "Alias")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = app
        .post_form(
            "/settings/vacation",
            &[
                ("enabled", "1"),
                ("subject", "Away"),
                ("body", "Away."),
                ("days", "3"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/vacation").await;
    assert!(page.texts("#vacation-addresses")[0].contains(&alias));
    let mut c = sieve(&app.user).await;
    let text = c.get_script("mailroom").await.unwrap();
    c.logout().await;
    assert!(
        text.contains(&format!(":addresses [\"{alias}\"]")),
        "{text}"
    );

    // Mail addressed to the alias (delivered to the account) is answered.
    let sender = stack.add_user("vac-alias-sender");
    let (s, me) = (sender.address.as_str(), app.user.address.as_str());
    stack
        .deliver(s, &[me], &eml(s, &alias, "to the alias", ""))
        .await;
    stack.wait_for_count(&sender, "INBOX", 1, WAIT).await;
}

#[tokio::test]
async fn a_silent_managesieve_server_times_out_into_the_error_page() {
    let stack = MailStack::shared();
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let app = TestApp::spawn_with(stack, stack.add_user("rules-slow"), |c| {
        if let Some(s) = c.sieve.as_mut() {
            s.port = port;
        }
        c.sieve_timeout = Duration::from_secs(1);
    })
    .await;
    app.login().await;
    assert_eq!(
        app.get("/settings/rules").await.status,
        StatusCode::BAD_GATEWAY
    );
    let res = app
        .post_form(
            "/settings/rules",
            &[("field", "from"), ("value", "x"), ("action", "flag")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY);
    assert!(app.get("/settings").await.texts("#rules-unavailable").len() == 1);
}

#[tokio::test]
async fn one_rule_marks_read_and_moves_and_a_bad_combination_is_refused() {
    let stack = MailStack::shared();
    let app = app("rules-two-acts").await;
    let me = app.user.address.clone();
    stack.create_mailbox(&app.user, "归档").await;

    // "Delete for good" with another action is refused, and the typed input is kept.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("name", "组合"),
                ("field", "subject"),
                ("op", "contains"),
                ("value", "newsletter"),
                ("action", "move"),
                ("target", "归档"),
                ("action2", "discard"),
                ("target2", "typed"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(
        res.texts("#rule-target2-error"),
        ["“Delete for good” cannot be combined with another action."]
    );
    assert_eq!(res.attrs("#rule-target", "value"), ["归档"]);
    assert_eq!(res.attrs("#rule-target2", "value"), ["typed"]);
    assert_eq!(
        res.attrs("#rule-action2 option[selected]", "value"),
        ["discard"]
    );
    assert!(scripts(&app.user).await.is_empty(), "nothing was written");

    // A bad folder in the second action is shown next to it.
    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("field", "subject"),
                ("op", "contains"),
                ("value", "newsletter"),
                ("action", "read"),
                ("action2", "copy"),
                ("target2", "Nope"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.texts("#rule-target2-error"),
        ["Choose one of your folders."]
    );
    assert!(res.texts("#rule-target-error").is_empty());

    let res = app
        .post_form(
            "/settings/rules",
            &[
                ("name", "组合"),
                ("field", "subject"),
                ("op", "contains"),
                ("value", "newsletter"),
                ("action", "move"),
                ("target", "归档"),
                ("action2", "read"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/settings/rules").await;
    assert_eq!(
        page.texts(".rule-summary"),
        ["Subject contains “newsletter” → Move to 归档, Mark as read"]
    );
    // The edit form shows both actions.
    let form = app.get(&page.attrs(".rule-edit", "href")[0]).await;
    assert_eq!(
        form.attrs("#rule-action option[selected]", "value"),
        ["move"]
    );
    assert_eq!(form.attrs("#rule-target", "value"), ["归档"]);
    assert_eq!(
        form.attrs("#rule-action2 option[selected]", "value"),
        ["read"]
    );
    let mut c = sieve(&app.user).await;
    let text = c.get_script("mailroom").await.unwrap();
    c.logout().await;
    assert!(
        text.contains("  addflag \"\\\\Seen\";\n  fileinto :create \"归档\";\n"),
        "the flag is set before filing: {text}"
    );

    mail("x@example.test", &me, "Weekly newsletter", "").await;
    mail("x@example.test", &me, "something else", "").await;
    stack.wait_for_count(&app.user, "归档", 1, WAIT).await;
    stack.wait_for_count(&app.user, "INBOX", 1, WAIT).await;
    let filed = flags(&app.user, "归档").await;
    assert_eq!(filed.len(), 1);
    assert!(filed[0].iter().any(|f| f.contains("Seen")), "{filed:?}");
    let inbox = flags(&app.user, "INBOX").await;
    assert!(
        !inbox[0].iter().any(|f| f.contains("Seen")),
        "the other message stays unread: {inbox:?}"
    );
}

/// A rule form's fields with the version the page was built from.
fn flag_rule<'a>(value: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", value),
        ("field", "subject"),
        ("op", "contains"),
        ("value", value),
        ("action", "flag"),
        ("version", version),
    ]
}

#[tokio::test]
async fn two_browsers_saving_at_once_lose_no_rule() {
    let a = app("rules-race").await;
    let b = a.other_browser(a.user.clone());
    b.login().await;

    // Both open the page, then both add a rule from what they saw.
    let version = |p: &crate::common::app::Page| {
        p.attrs("#rules-add input[name=version]", "value")[0].clone()
    };
    let va = version(&a.get("/settings/rules").await);
    let vb = version(&b.get("/settings/rules").await);
    assert_eq!(va, vb);
    let res = a
        .post_form("/settings/rules", &flag_rule("from-a", &va))
        .await;
    assert_eq!(res.location(), "/settings/rules?saved=1", "{}", res.body);
    let res = b
        .post_form("/settings/rules", &flag_rule("from-b", &vb))
        .await;
    assert_eq!(
        res.location(),
        "/settings/rules?saved=merged",
        "{}",
        res.body
    );
    let page = b.get("/settings/rules?saved=merged").await;
    assert_eq!(
        page.texts(".notice"),
        [
            "Saved on the mail server. The rules had also been changed in another window; both changes are kept."
        ]
    );
    assert_eq!(page.texts(".rule-name"), ["from-a", "from-b"]);

    // Truly at the same moment, from the same stale page.
    let v = version(&page);
    let fa = flag_rule("same-time-a", &v);
    let fb = flag_rule("same-time-b", &v);
    let (ra, rb) = tokio::join!(
        a.post_form("/settings/rules", &fa),
        b.post_form("/settings/rules", &fb)
    );
    assert_eq!(ra.status, StatusCode::SEE_OTHER, "{}", ra.body);
    assert_eq!(rb.status, StatusCode::SEE_OTHER, "{}", rb.body);
    let mut c = sieve(&a.user).await;
    let text = c.get_script("mailroom").await.unwrap();
    c.logout().await;
    for name in ["from-a", "from-b", "same-time-a", "same-time-b"] {
        assert!(
            text.contains(&format!("# Filter: {name}\n")),
            "{name}: {text}"
        );
    }

    // A deletes "from-a" while B edits it: B is told, and keeps what it typed.
    let page = a.get("/settings/rules").await;
    let ids = page.attrs(".rules-list li", "id");
    let id_a = ids[0].trim_start_matches("rule-").to_owned();
    let form = b.get(&format!("/settings/rules?edit={id_a}")).await;
    let vb = version(&form);
    let res = a
        .post_form(&format!("/settings/rules/{id_a}/delete"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let mut edit = flag_rule("edited-a", &vb);
    edit.push(("id", &id_a));
    let res = b.post_form("/settings/rules", &edit).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(
        res.texts("#rules-form-error")[0].starts_with("This filter was deleted in another window"),
        "{:?}",
        res.texts("#rules-form-error")
    );
    assert_eq!(res.attrs("#rule-value", "value"), ["edited-a"]);
    assert!(res.attrs("#rules-add input[name=id]", "value").is_empty());
    let page = b.get("/settings/rules").await;
    let mut names = page.texts(".rule-name");
    names.sort();
    assert_eq!(names, ["from-b", "same-time-a", "same-time-b"]);

    // A toggle from a stale page sets the state the user saw the button for: two
    // "disable" clicks leave the rule disabled, not enabled again.
    let ids = page.attrs(".rules-list li", "id");
    let id = ids[0].trim_start_matches("rule-").to_owned();
    let toggle = [("enabled", "0"), ("version", "stale")];
    for browser in [&a, &b] {
        let res = browser
            .post_form(&format!("/settings/rules/{id}/toggle"), &toggle)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    let page = a.get("/settings/rules").await;
    assert_eq!(page.texts(".rule.disabled .rule-name").len(), 1);

    // The raw editor replaces the whole script: from a stale page it refuses, text kept.
    let editor = b.get("/settings/rules/advanced").await;
    let stale = editor.attrs("input[name=version]", "value")[0].clone();
    let res = a
        .post_form("/settings/rules", &flag_rule("newer", &v))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = b
        .post_form(
            "/settings/rules/advanced",
            &[("script", "keep;\r\n"), ("version", &stale)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("The rules were changed elsewhere"));
    assert!(res.body.contains("keep;"));
    let page = a.get("/settings/rules").await;
    assert!(page.texts(".rule-name").contains(&"newer".to_owned()));
}

/// The filter journey in real Chromium, at phone and at desktop width: log in, add a rule
/// with the form (a Chinese folder and value), see it listed, and mail that matches lands
/// in the folder on the server.
#[tokio::test]
async fn a_rule_made_in_chromium_at_phone_and_desktop_width_sorts_mail() {
    use fantoccini::Locator;
    let stack = MailStack::shared();
    for (width, height) in [(390u32, 844u32), (1280, 800)] {
        let app = TestApp::spawn(&format!("rules-web-{width}")).await;
        let user = &app.user;
        stack.create_mailbox(user, "项目").await;
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
        client
            .goto(&app.url("/settings/rules"))
            .await
            .expect("open rules");
        find("#rule-name".into())
            .await
            .send_keys("项目邮件")
            .await
            .expect("type");
        find("#rule-field option[value=subject]".into())
            .await
            .click()
            .await
            .expect("choose subject");
        find("#rule-value".into())
            .await
            .send_keys("项目")
            .await
            .expect("type");
        find("#rule-action option[value=move]".into())
            .await
            .click()
            .await
            .expect("choose move");
        find("#rule-target".into())
            .await
            .send_keys("项目")
            .await
            .expect("type");
        let submit = find("#rules-add button[type=submit]".into()).await;
        // The button is on the screen's width, not beside it.
        let (x, _, w, _) = submit.rectangle().await.expect("rect");
        assert!(
            x >= 0.0 && x + w <= f64::from(width),
            "{width}: button at {x}+{w}"
        );
        submit.click().await.expect("add the rule");
        crate::actions::wait_until("the rule in the list", || async {
            client.find(Locator::Css(".rule-summary")).await.is_ok()
        })
        .await;
        let summary = find(".rule-summary".into())
            .await
            .text()
            .await
            .expect("text");
        assert!(summary.contains("项目"), "{width}: {summary}");

        mail(
            "x@example.test",
            &user.address,
            "=?UTF-8?B?6aG555uu5ZGo5oql?=",
            "",
        )
        .await;
        mail("x@example.test", &user.address, "lunch", "").await;
        stack.wait_for_count(user, "项目", 1, WAIT).await;
        stack.wait_for_count(user, "INBOX", 1, WAIT).await;
        let _ = client.close().await;
    }
}
