//! Quota, public folders and sharing (issue 4, items 5 and 6) against a real Dovecot with
//! quota, ACL, a public namespace (`Public/`) and a shared one (`shared/<user>/`): what
//! the user sees in the sidebar and on the sharing page, and what the server holds after
//! each step, read over a separate connection.

use async_imap::imap_proto::Response;
use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    direct::{account, client},
    mailstack::{ImapSession, MailStack, TestUser, imap_utf7},
};

/// A user whose quota is `kib` KiB instead of the stack's 1 GiB (a userdb field).
fn add_user_with_quota(stack: &MailStack, prefix: &str, kib: u32) -> TestUser {
    let user = stack.add_user(prefix);
    let out = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack"),
    )
    .arg("adduser")
    .arg(&stack.dir)
    .arg(&user.address)
    .arg(&user.password)
    .arg(format!("userdb_quota_rule=*:storage={kib}k"))
    .stdin(std::process::Stdio::null())
    .output()
    .expect("run scripts/mailstack");
    assert!(
        out.status.success(),
        "adduser with quota: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    user
}

/// A message of about `size` bytes.
fn sized(subject: &str, size: usize) -> Vec<u8> {
    let line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\r\n";
    let body = line.repeat(size / line.len() + 1);
    format!(
        "From: Big <big@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n{body}"
    )
    .into_bytes()
}

/// Runs a command on a test session and returns its untagged responses, rendered with
/// `Debug` (enough to look for an ACL entry or a flag).
async fn raw(session: &mut ImapSession, command: &str) -> Vec<String> {
    let tag = session.run_command(command).await.expect("send command");
    let mut out = Vec::new();
    loop {
        let resp = session
            .read_response()
            .await
            .expect("read response")
            .expect("connection open");
        match resp.parsed() {
            Response::Done { tag: t, status, .. } if *t == tag => {
                assert_eq!(
                    format!("{status:?}"),
                    "Ok",
                    "{command} failed; so far {out:?}"
                );
                return out;
            }
            other => out.push(format!("{other:?}")),
        }
    }
}

/// The (used, limit) KiB of the user's STORAGE quota, straight from the server.
async fn server_quota(stack: &MailStack, user: &TestUser) -> (u64, u64) {
    let mut s = stack.imap(user).await;
    let (_, quotas) = s.get_quota_root("INBOX").await.expect("GETQUOTAROOT");
    let _ = s.logout().await;
    let r = quotas
        .iter()
        .flat_map(|q| q.resources.iter())
        .find(|r| format!("{:?}", r.name) == "Storage")
        .expect("a STORAGE resource");
    (r.usage, r.limit)
}

#[tokio::test]
async fn the_sidebar_shows_the_quota_and_warns_above_90_percent() {
    let stack = MailStack::shared();
    let user = add_user_with_quota(stack, "quota-small", 100);
    stack
        .append(&user, "INBOX", &sized("first", 30_000), &[])
        .await;
    let app = TestApp::spawn_with(stack, user.clone(), |_| {}).await;
    app.login().await;

    let (used, limit) = server_quota(stack, &user).await;
    assert_eq!(limit, 100);
    let percent = used * 100 / limit;
    assert!((25..=35).contains(&percent), "{used}/{limit}");
    let page = app.get("/mail/INBOX").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.attrs(".sidebar .quota meter", "value"),
        vec![percent.to_string()]
    );
    let label = page.texts(".sidebar .quota .quota-label");
    assert_eq!(
        label,
        vec![format!("{used} KB of 100 KB used ({percent}%)")],
        "KB as the server counts them"
    );
    assert!(page.texts(".quota-warning").is_empty());

    // Fill it past 90 %: the warning appears, on every page with a sidebar.
    stack
        .append(&user, "INBOX", &sized("second", 63_000), &[])
        .await;
    let (used, _) = server_quota(stack, &user).await;
    assert!(used * 100 > 90 * limit, "seeded to {used} KiB");
    for path in ["/mail/INBOX", "/mail/INBOX/1", "/mail/INBOX?q=first"] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let warning = page.texts(".sidebar .quota.quota-warn .quota-warning");
        assert_eq!(warning.len(), 1, "{path}");
        assert!(warning[0].contains("almost full"), "{warning:?}");
    }
    let page = app
        .get_with("/mail/INBOX", &[("Accept-Language", "zh-CN")])
        .await;
    assert!(page.texts(".quota-warning")[0].contains("即将满额"));
    // Pages without a sidebar do not pay for it.
    let (_, _, body) = app.get_bytes("/mail/INBOX/1/raw").await;
    assert!(String::from_utf8_lossy(&body).contains("Subject: first"));
}

#[tokio::test]
async fn an_ordinary_user_sees_their_gigabyte() {
    let app = TestApp::spawn("quota-normal").await;
    app.login().await;
    let page = app.get("/mail/INBOX").await;
    assert_eq!(
        page.texts(".sidebar .quota .quota-label"),
        vec!["0 B of 1.0 GB used (0%)"]
    );
}

/// Mailroom asks for the quota again only when some folder's content changed (see
/// `imap::sidebar`): whatever another client does that changes the storage used must
/// show on the next page.
#[tokio::test]
async fn the_quota_follows_what_other_clients_do() {
    let stack = MailStack::shared();
    let user = add_user_with_quota(stack, "quota-follow", 100);
    stack
        .append(&user, "INBOX", &sized("one", 30_000), &[])
        .await;
    stack
        .append(&user, "INBOX", &sized("two", 10_000), &[])
        .await;
    let app = TestApp::spawn_with(stack, user.clone(), |_| {}).await;
    app.login().await;
    let expected = |used: u64| vec![format!("{used} KB of 100 KB used ({used}%)")];
    let shown = |page: Page| page.texts(".sidebar .quota .quota-label");

    let (first, _) = server_quota(stack, &user).await;
    assert!(first >= 39, "{first}");
    assert_eq!(shown(app.get("/mail/INBOX").await), expected(first));

    // Another client deletes the big one: the space comes back as soon as the server
    // reports the change to the user's watcher (issue 10: caches it validates).
    let mut s = stack.imap(&user).await;
    s.select("INBOX").await.expect("select");
    raw(&mut s, "STORE 1 +FLAGS (\\Deleted)").await;
    raw(&mut s, "EXPUNGE").await;
    let (after_delete, _) = server_quota(stack, &user).await;
    assert!(
        (9..first - 25).contains(&after_delete),
        "{after_delete} of {first}"
    );
    let page = app
        .get_until("/mail/INBOX", "the space freed", |p| {
            p.texts(".sidebar .quota .quota-label") == expected(after_delete)
        })
        .await;
    assert_eq!(shown(page), expected(after_delete));

    // Mail filed into another folder counts too, on any page with a sidebar.
    stack
        .append(&user, "Archive", &sized("three", 50_000), &[])
        .await;
    // Dovecot's own count may lag the APPEND under load (it once still said so after 5 s,
    // in a full parallel run): ask it until it agrees. This is the test's own view of the
    // server; Mailroom is asked below.
    let mut after_append = server_quota(stack, &user).await.0;
    for _ in 0..200 {
        if after_append >= after_delete + 48 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after_append = server_quota(stack, &user).await.0;
    }
    assert!(after_append >= after_delete + 48, "{after_append}");
    let page = app
        .get_until("/mail/INBOX", "the space used in Archive", |p| {
            p.texts(".sidebar .quota .quota-label") == expected(after_append)
        })
        .await;
    assert_eq!(shown(page), expected(after_append));
    assert_eq!(shown(app.get("/folders").await), expected(after_append));

    // Flags do not change the storage used: still the same figure.
    s.select("Archive").await.expect("select");
    raw(&mut s, "STORE 1:* +FLAGS (\\Seen)").await;
    assert_eq!(shown(app.get("/mail/INBOX").await), expected(after_append));
    let _ = s.logout().await;
}

#[tokio::test]
async fn without_the_capabilities_there_is_nothing_extra() {
    let stack = MailStack::shared();
    let user = stack.add_user("quota-caps");
    let a = account(&user);
    let full = client(stack);
    full.login(&a).await.unwrap();
    let e = full.sidebar(&a, Some("INBOX"), true).await.unwrap().extras;
    let ns = e.namespaces.expect("Dovecot has NAMESPACE");
    assert_eq!(ns.shared[0].prefix, "Public/");
    assert_eq!(ns.other_users[0].prefix, "shared/");
    assert_eq!(e.quota.map(|q| q.limit), Some(1 << 30));
    let (folder, rights) = e.rights.expect("Dovecot has ACL");
    assert_eq!(folder, "INBOX");
    assert!(rights.can_admin() && rights.permits("delete"));
    // The second time the quota is the remembered one: nothing changed in between.
    let again = full.sidebar(&a, Some("INBOX"), true).await.unwrap().extras;
    assert_eq!(again.quota.map(|q| q.limit), Some(1 << 30));

    let bare = client(stack);
    bare.ignore_capabilities(&["NAMESPACE", "QUOTA", "ACL"]);
    bare.login(&a).await.unwrap();
    let e = bare.sidebar(&a, Some("INBOX"), true).await.unwrap().extras;
    assert_eq!(e, mailroom::imap::SidebarExtras::default());
    // Without ACL every action is allowed and sharing is unavailable.
    assert!(
        bare.my_rights(&a, "INBOX")
            .await
            .unwrap()
            .permits("expunge")
    );
    assert_eq!(
        bare.share(
            &a,
            "INBOX",
            "someone@example.test",
            mailroom::imap::ShareLevel::Read
        )
        .await,
        Err(mailroom::imap::ShareError::Unsupported)
    );
}

/// Texts of the sidebar's shared section, whitespace squeezed.
fn shared_section(page: &Page) -> Vec<String> {
    page.texts(".sidebar .shared-folders li")
        .iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn a_public_folder_has_its_own_section_and_follows_its_acl() {
    // A stack of its own: public folders are visible to every user of a stack, and the
    // other tests' sidebars must not change.
    let stack = MailStack::start_private();
    let alice = stack.add_user("pub-alice");
    let bob = stack.add_user("pub-bob");
    stack.create_mailbox(&alice, "Public/Board").await;
    stack
        .append(
            &alice,
            "Public/Board",
            &sized("Office closed Friday", 200),
            &[],
        )
        .await;

    let app = TestApp::spawn_with(&stack, bob.clone(), |_| {}).await;
    app.login().await;
    let page = app.get("/mail/INBOX").await;
    // (With its unread count.)
    assert_eq!(shared_section(&page), vec!["Public folders", "Board 1"]);
    assert_eq!(
        page.texts(".sidebar h2.sidebar-heading"),
        vec!["Shared folders"]
    );
    // Not among the user's own folders.
    let own: Vec<String> = page.texts(".sidebar ul.folders:not(.shared-folders) li");
    assert!(own.iter().all(|f| !f.contains("Board")), "{own:?}");

    // Bob reads the board…
    let board = app.get("/mail/Public%2FBoard").await;
    assert_eq!(board.status, StatusCode::OK);
    assert_eq!(
        board.texts("table.messages td.subject a"),
        vec!["Office closed Friday"]
    );
    // …and may post to it (the stack's public ACL is `anyone lrwstipekxa`).
    stack
        .append(
            &bob,
            "Public/Board",
            &sized("Cake in the kitchen", 200),
            &[],
        )
        .await;
    assert_eq!(stack.count(&alice, "Public/Board").await, 2);

    // Alice narrows it to read-only for bob (Dovecot refuses SETACL for `anyone`; a
    // user's own entry overrides it): he may read, not post or delete.
    let mut s = stack.imap(&alice).await;
    raw(
        &mut s,
        &format!("SETACL \"Public/Board\" \"{}\" lrs", bob.address),
    )
    .await;
    let _ = s.logout().await;
    let mut s = stack.imap(&bob).await;
    let refused = s
        .append(imap_utf7("Public/Board"), None, None, &sized("Spam", 100))
        .await;
    assert!(refused.is_err(), "APPEND without the i right must fail");
    let _ = s.logout().await;
    // Dovecot caches a session's rights for up to 30 s: a new login sees them at once.
    app.login().await;
    let board = app.get("/mail/Public%2FBoard").await;
    assert_eq!(board.texts("table.messages td.subject a").len(), 2);
    let offered = board.attrs("select[name=action] option", "value");
    assert_eq!(offered, vec!["read", "unread", "copy"]);
    let uid = board.attrs("table.messages input[name=uid]", "value")[0].clone();
    let validity = board.attrs("input[name=uidvalidity]", "value")[0].clone();
    let res = app
        .post_form(
            "/mail/Public%2FBoard/actions",
            &[
                ("uid", &uid),
                ("action", "delete"),
                ("uidvalidity", &validity),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.follow(res.location()).await;
    assert_eq!(
        page.texts(".notice"),
        vec!["Your access rights in this folder do not allow that; nothing was changed."]
    );
    assert_eq!(
        stack.count(&alice, "Public/Board").await,
        2,
        "nothing deleted"
    );
}

/// Flags of every message in `mailbox`, as the owner sees them.
async fn flags(stack: &MailStack, owner: &TestUser, mailbox: &str) -> Vec<String> {
    let mut s = stack.imap(owner).await;
    s.examine(imap_utf7(mailbox)).await.expect("EXAMINE");
    let out = raw(&mut s, "UID FETCH 1:* (FLAGS)").await;
    let _ = s.logout().await;
    out
}

#[tokio::test]
async fn alice_shares_a_folder_with_bob() {
    let stack = MailStack::shared();
    let alice_user = stack.add_user("share-alice");
    let bob_user = stack.add_user("share-bob");
    stack.create_mailbox(&alice_user, "Team 报告").await;
    stack
        .append(&alice_user, "Team 报告", &sized("Roadmap", 300), &[])
        .await;
    stack
        .append(&alice_user, "Team 报告", &sized("Minutes", 300), &[])
        .await;
    let alice = TestApp::spawn_with(stack, alice_user.clone(), |_| {}).await;
    alice.login().await;
    let bob = TestApp::spawn_with(stack, bob_user.clone(), |_| {}).await;
    let team = "/mail/Team%20%E6%8A%A5%E5%91%8A";
    let share = "/folders/Team%20%E6%8A%A5%E5%91%8A/share";

    // The folder's page links to its sharing settings (alice administers it).
    let list = alice.get(team).await;
    assert_eq!(list.attrs("a.share-link", "href"), vec![share]);
    let page = alice.get(share).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.texts("table.access td.who"),
        vec![alice_user.address.clone()]
    );
    assert!(
        page.texts("table.access button").is_empty(),
        "the owner stays"
    );

    // Bad input comes back with a message beside the field.
    for (user, rights, field) in [
        ("", "read", "user"),
        ("two words", "read", "user"),
        ("anyone", "read", "user"),
        (alice_user.address.as_str(), "read", "user"),
        ("bob@example.test", "admin", "rights"),
    ] {
        let res = alice
            .post_form(share, &[("user", user), ("rights", rights)])
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{user:?} {rights}");
        assert_eq!(res.texts(".share-form .field-error").len(), 1, "{user:?}");
        assert_eq!(res.attrs("#share-user", "value"), vec![user.to_owned()]);
        let _ = field;
    }
    let mut s = stack.imap(&alice_user).await;
    let acl = raw(&mut s, &format!("GETACL \"{}\"", imap_utf7("Team 报告"))).await;
    assert!(!acl.iter().any(|l| l.contains("anyone")), "{acl:?}");

    // Before sharing, bob sees nothing of it.
    let folder = format!("shared/{}/Team 报告", alice_user.address);
    let bob_team = format!("/mail/{}", mailroom::web::encode_segment(&folder));
    bob.login().await;
    assert!(shared_section(&bob.get("/mail/INBOX").await).is_empty());

    // Alice shares it read-only.
    let res = alice
        .post_form(share, &[("user", &bob_user.address), ("rights", "read")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = alice.follow(res.location()).await;
    assert_eq!(page.texts(".notice"), vec!["Sharing updated."]);
    let rows: Vec<String> = page.texts("table.access tr td.who");
    assert!(rows.contains(&bob_user.address), "{rows:?}");
    let acl = raw(&mut s, &format!("GETACL \"{}\"", imap_utf7("Team 报告"))).await;
    assert!(
        acl.iter()
            .any(|l| l.contains(&bob_user.address) && l.contains("Lookup") && l.contains("Read")),
        "{acl:?}"
    );

    // Bob logs in and finds it in his shared section. (Dovecot lists other users'
    // folders as they were when the IMAP session began, and caches rights for up to
    // 30 s, so changes show at the next login.)
    bob.login().await;
    let page = bob.get("/mail/INBOX").await;
    assert_eq!(
        shared_section(&page),
        vec![
            "Shared with me".to_owned(),
            alice_user.address.clone(),
            // With its unread count.
            "Team 报告 2".to_owned()
        ]
    );
    let list = bob.get(&bob_team).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let mut subjects = list.texts("table.messages td.subject a");
    subjects.sort();
    assert_eq!(subjects, vec!["Minutes", "Roadmap"]);
    // He may only read: the toolbar offers no flag, move or delete, and there is no
    // sharing link for him.
    assert_eq!(
        list.attrs("select[name=action] option", "value"),
        vec!["read", "unread", "copy"]
    );
    assert!(list.attrs("a.share-link", "href").is_empty());
    let msg_href = list.attrs("table.messages td.subject a", "href")[0].clone();
    let msg = bob.get(&msg_href).await;
    assert_eq!(msg.status, StatusCode::OK);
    assert!(msg.attrs("form.action-delete", "action").is_empty());
    assert!(msg.attrs("form.action-move", "action").is_empty());

    // Forcing the actions anyway is refused with a message, and nothing changes.
    let uid = msg_href.rsplit('/').next().unwrap().to_owned();
    let validity = list.attrs("input[name=uidvalidity]", "value")[0].clone();
    for action in ["delete", "flag"] {
        let res = bob
            .post_form(
                &format!("{bob_team}/actions"),
                &[
                    ("uid", &uid),
                    ("action", action),
                    ("uidvalidity", &validity),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}");
        let page = bob.follow(res.location()).await;
        assert_eq!(
            page.texts(".notice"),
            vec!["Your access rights in this folder do not allow that; nothing was changed."],
            "{action}"
        );
    }
    let f = flags(stack, &alice_user, "Team 报告").await;
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f.iter()
            .all(|l| !l.contains("Flagged") && !l.contains("Deleted")),
        "{f:?}"
    );
    // Nor may he share alice's folder further.
    let res = bob
        .post_form(
            &format!("/folders/{}/share", mailroom::web::encode_segment(&folder)),
            &[("user", "carol@example.test"), ("rights", "read")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.texts(".error")[0].contains("not allowed"),
        "{}",
        res.body
    );

    // Read and write: now flagging works.
    let res = alice
        .post_form(
            share,
            &[("user", &bob_user.address), ("rights", "read-write")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    bob.login().await;
    let list = bob.get(&bob_team).await;
    let offered = list.attrs("select[name=action] option", "value");
    assert!(offered.contains(&"flag".to_owned()) && offered.contains(&"delete".to_owned()));
    let res = bob
        .post_form(
            &format!("{bob_team}/actions"),
            &[
                ("uid", &uid),
                ("action", "flag"),
                ("uidvalidity", &validity),
            ],
        )
        .await;
    let page = bob.follow(res.location()).await;
    assert_eq!(page.texts(".notice"), vec!["Flagged: 1"]);
    let f = flags(stack, &alice_user, "Team 报告").await;
    assert_eq!(
        f.iter().filter(|l| l.contains("Flagged")).count(),
        1,
        "{f:?}"
    );

    // No access: gone from his sidebar, and the folder is not found.
    let res = alice
        .post_form(share, &[("user", &bob_user.address), ("rights", "none")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let acl = raw(&mut s, &format!("GETACL \"{}\"", imap_utf7("Team 报告"))).await;
    assert!(
        !acl.iter().any(|l| l.contains(&bob_user.address)),
        "{acl:?}"
    );
    let _ = s.logout().await;
    bob.login().await;
    assert!(shared_section(&bob.get("/mail/INBOX").await).is_empty());
    assert_eq!(bob.get(&bob_team).await.status, StatusCode::NOT_FOUND);
}
