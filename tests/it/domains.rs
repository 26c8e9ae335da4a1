//! Several mail domains on several servers: the server map (`MAILROOM_SERVERS`), RFC 6186
//! SRV lookups (`MAILROOM_SRV_LOOKUP`, answered by a small DNS server on loopback), and
//! bare login names with a mail domain (`MAILROOM_MAIL_DOMAIN`, `login=local`). The "other"
//! servers are a second real Dovecot + Postfix; the defaults point at the shared stack or
//! at a closed port, so a page that works proves the login went where it should.

use std::collections::HashMap;

use hickory_resolver::proto::{
    op::{Message, MessageType, ResponseCode},
    rr::{Name, RData, Record, RecordType, rdata::SRV},
};
use mailroom::config::{Config, parse_servers};
use reqwest::StatusCode;
use tokio::net::UdpSocket;

use crate::{
    common::{
        app::TestApp,
        mailstack::{MailStack, TestUser, pick_free_ports},
    },
    compose::{DELIVERY, form_fields, messages, post_compose},
};

/// The part of an address before `@`.
fn local_part(user: &TestUser) -> &str {
    user.address.split('@').next().unwrap_or_default()
}

/// Logs in with `username` as typed; returns the page the login answered with.
async fn login_as(app: &TestApp, username: &str) -> crate::common::app::Page {
    app.post_form(
        "/login",
        &[("username", username), ("password", &app.user.password)],
    )
    .await
}

/// Sends a short message from the compose page to `to`; asserts the page says it was sent.
async fn send(app: &TestApp, to: &str, subject: &str) {
    let (_, base) = form_fields(app, "/compose").await;
    let page = post_compose(
        app,
        &base,
        &[("to", to), ("subject", subject), ("body", "across domains")],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// The default servers at a port where nothing listens.
fn nowhere(c: &mut Config) {
    let port = pick_free_ports(1)[0];
    c.imap.port = port;
    c.smtp.port = port;
    c.sieve = None;
}

#[tokio::test]
async fn a_mapped_domain_uses_its_own_servers_and_bare_server_logins() {
    // The other domain's servers: a private stack. The defaults: the shared one, where
    // this user does not exist.
    let other = MailStack::start_private();
    let user = other.add_user("mapped");
    other
        .append(
            &user,
            "INBOX",
            b"From: Zoe <zoe@example.test>\r\nTo: x@example.test\r\nSubject: Only on the other server\r\n\r\nhi\r\n",
            &[],
        )
        .await;
    let line = format!(
        "example.test imap=imaps://127.0.0.1:{} smtp=smtp://127.0.0.1:{} sieve=sieve://127.0.0.1:{} login=local ca={}",
        other.imaps_port,
        other.submission_port,
        other.sieve_port,
        other.ca_file.display()
    );
    // The defaults' CA is the shared stack's: the entry's own `ca=` must be the one used.
    let ca = MailStack::shared().ca_file.clone();
    let app = TestApp::spawn_with(MailStack::shared(), user.clone(), move |c| {
        c.servers = parse_servers(&line, Some(&ca)).expect("server map");
    })
    .await;

    // The login page has no server field; the domain picks the servers.
    let form = app.get("/login").await;
    assert!(form.attrs("input[name=server]", "name").is_empty());
    let page = login_as(&app, &user.address).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let inbox = app.follow("/mail/INBOX").await;
    assert!(
        inbox.body.contains("Only on the other server"),
        "{}",
        inbox.body
    );

    // Sending goes through the other domain's submission server, as the bare login name
    // (`login=local`): the copy lands in that server's Sent, the message in the INBOX.
    send(&app, &user.address, "Mapped send").await;
    other.wait_for_count(&user, "INBOX", 2, DELIVERY).await;
    let sent = messages(&other, &user, "Sent").await;
    assert_eq!(sent.len(), 1);
    let raw = String::from_utf8_lossy(&sent[0].1);
    assert!(
        raw.contains(&format!("From: {}", user.address))
            || raw.contains(&format!("<{}>", user.address)),
        "{raw}"
    );

    // Mail rules talk to the other domain's ManageSieve.
    let rules = app.get("/settings/rules").await;
    assert_eq!(rules.status, StatusCode::OK, "{}", rules.body);
}

#[tokio::test]
async fn a_bare_login_name_writes_from_the_mail_domain_and_reply_all_leaves_it_out() {
    let stack = MailStack::shared();
    let user = stack.add_user("bare");
    let me = user.address.clone();
    let bare = local_part(&user).to_owned();
    stack
        .append(
            &user,
            "INBOX",
            format!(
                "From: Ann <ann@example.test>\r\nTo: {me}, Bob <bob@example.test>\r\nCc: carol@example.test\r\nSubject: Team lunch\r\nMessage-ID: <lunch@example.test>\r\n\r\nWho comes?\r\n"
            )
            .as_bytes(),
            &[],
        )
        .await;
    let app = TestApp::spawn_with(stack, user.clone(), |c| {
        c.mail_domain = Some("example.test".into());
    })
    .await;
    let page = login_as(&app, &bare).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // Identities and From: the address, not the bare name.
    let settings = app.get("/settings").await;
    assert!(settings.body.contains(&me), "{}", settings.body);
    let (_, fields) = form_fields(&app, "/compose").await;
    assert_eq!(fields.get("from").map(String::as_str), Some(me.as_str()));

    // Reply all: everyone but the user.
    let inbox = app.follow("/mail/INBOX").await;
    let href = inbox
        .attrs("a[href^='/mail/INBOX/']", "href")
        .into_iter()
        .find(|h| h.trim_start_matches("/mail/INBOX/").parse::<u32>().is_ok())
        .expect("a message link");
    let uid = href.trim_start_matches("/mail/INBOX/");
    let (_, reply) = form_fields(&app, &format!("/compose?reply_all=INBOX/{uid}")).await;
    let recipients = format!("{} {}", reply["to"], reply["cc"]);
    assert!(recipients.contains("ann@example.test"), "{recipients}");
    assert!(recipients.contains("bob@example.test"), "{recipients}");
    assert!(recipients.contains("carol@example.test"), "{recipients}");
    assert!(!recipients.contains(&me), "{recipients}");

    // And sending works with the bare name as the SMTP login; the From is the address.
    send(&app, &me, "Bare send").await;
    stack.wait_for_count(&user, "INBOX", 2, DELIVERY).await;
    let inbox = messages(stack, &user, "INBOX").await;
    let raw = String::from_utf8_lossy(&inbox[1].1);
    assert!(raw.contains("Subject: Bare send"), "{raw}");
    assert!(raw.contains(&me), "{raw}");
}

/// A DNS server on loopback that answers SRV questions from `records` (name → targets)
/// and says NXDOMAIN to everything else. Returns its port; runs until the test ends.
async fn dns(records: HashMap<String, (String, u16)>) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind DNS");
    let port = socket.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut answer = Message::new();
            answer
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_op_code(query.op_code())
                .set_recursion_desired(true)
                .set_recursion_available(true)
                .set_authoritative(true);
            let mut found = false;
            for q in query.queries() {
                answer.add_query(q.clone());
                let name = q.name().to_ascii().to_ascii_lowercase();
                if q.query_type() == RecordType::SRV
                    && let Some((target, port)) = records.get(&name)
                {
                    let target = Name::from_ascii(target).expect("target");
                    answer.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::SRV(SRV::new(0, 1, *port, target)),
                    ));
                    found = true;
                }
            }
            if !found {
                answer.set_response_code(ResponseCode::NXDomain);
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    port
}

/// SRV records for example.test pointing at `stack` (IMAPS, submission, ManageSieve).
fn records_for(stack: &MailStack, target: &str) -> HashMap<String, (String, u16)> {
    HashMap::from([
        (
            "_imaps._tcp.example.test.".to_owned(),
            (target.to_owned(), stack.imaps_port),
        ),
        (
            "_submission._tcp.example.test.".to_owned(),
            (target.to_owned(), stack.submission_port),
        ),
        (
            "_sieve._tcp.example.test.".to_owned(),
            (target.to_owned(), stack.sieve_port),
        ),
    ])
}

#[tokio::test]
async fn srv_records_find_the_servers_of_a_listed_domain() {
    let stack = MailStack::shared();
    let user = stack.add_user("srv");
    stack
        .append(
            &user,
            "INBOX",
            b"From: a@example.test\r\nSubject: Found by DNS\r\n\r\nx\r\n",
            &[],
        )
        .await;
    // The records name `localhost`, which the stack's certificate covers: the servers
    // are reached with TLS (implicit, STARTTLS) and a checked certificate.
    let port = dns(records_for(stack, "localhost.")).await;
    let app = TestApp::spawn_with(stack, user.clone(), move |c| {
        nowhere(c);
        c.srv_lookup = "example.test".parse().expect("srv setting");
        c.srv_resolver = Some(format!("127.0.0.1:{port}").parse().expect("addr"));
    })
    .await;
    let page = login_as(&app, &user.address).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // The route is in the session: later pages use the same servers without DNS.
    let inbox = app.follow("/mail/INBOX").await;
    assert!(inbox.body.contains("Found by DNS"), "{}", inbox.body);
    send(&app, &user.address, "Sent via SRV").await;
    stack.wait_for_count(&user, "INBOX", 2, DELIVERY).await;
    assert_eq!(messages(stack, &user, "Sent").await.len(), 1);
}

#[tokio::test]
async fn srv_lookups_for_any_domain_refuse_targets_outside_it_and_off_means_off() {
    let stack = MailStack::shared();
    let user = stack.add_user("srvany");
    let port = dns(records_for(stack, "localhost.")).await;
    for setting in ["any", "off", "example.org"] {
        let app = TestApp::spawn_with(stack, user.clone(), move |c| {
            nowhere(c);
            c.srv_lookup = setting.parse().expect("srv setting");
            c.srv_resolver = Some(format!("127.0.0.1:{port}").parse().expect("addr"));
        })
        .await;
        // `localhost` is not inside example.test (any), or DNS is not asked at all (off, or
        // another domain listed): the defaults are used, and nothing listens there.
        let page = login_as(&app, &user.address).await;
        assert_eq!(page.status, StatusCode::OK, "{setting}: {}", page.body);
        assert!(
            page.body.contains("The mail server is not reachable"),
            "{setting}: {}",
            page.body
        );
        assert!(app.get("/mail/INBOX").await.status.is_redirection());
    }
}
