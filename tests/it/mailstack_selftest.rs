//! Tests of the mail server harness itself, so a broken Dovecot/Postfix setup fails here with
//! a clear name instead of as a mystery in the application's tests.

use std::time::{Duration, Instant};

use async_imap::imap_proto::{Response, Status};
use futures::TryStreamExt;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{Certificate, Tls, TlsParameters},
    },
};

use crate::common::mailstack::{MailStack, TestUser, imap_utf7, list_folders};

fn eml(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.test>\r\nTo: someone@example.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// The subject of message 1 in `mailbox`, decoded from RFC 2047.
async fn first_subject(stack: &MailStack, user: &TestUser, mailbox: &str) -> String {
    let mut session = stack.imap(user).await;
    session.select(imap_utf7(mailbox)).await.expect("SELECT");
    let fetches: Vec<_> = session
        .fetch("1", "BODY.PEEK[HEADER]")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH responses");
    let header = fetches
        .first()
        .and_then(|f| f.header())
        .expect("a header in the FETCH response")
        .to_vec();
    let _ = session.logout().await;
    let parsed = mail_parser::MessageParser::default()
        .parse_headers(&header)
        .expect("parse the header");
    parsed.subject().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn login_and_append_utf8_subject_to_inbox_and_chinese_folder() {
    let stack = MailStack::shared();
    let user = stack.add_user("selftest-append");
    let session = stack.imap(&user).await;
    drop(session);

    let subject = "=?UTF-8?B?5pyI5bqm5oql5ZGK77ya56ys5LiJ5a2j5bqm?="; // 月度报告：第三季度
    stack
        .append(&user, "INBOX", &eml(subject, "正文"), &["\\Seen"])
        .await;
    assert_eq!(
        first_subject(stack, &user, "INBOX").await,
        "月度报告：第三季度"
    );

    stack.create_mailbox(&user, "报告 2026").await;
    stack
        .append(&user, "报告 2026", &eml(subject, "正文"), &[])
        .await;
    assert_eq!(stack.count(&user, "报告 2026").await, 1);
    assert_eq!(
        first_subject(stack, &user, "报告 2026").await,
        "月度报告：第三季度"
    );

    let mut session = stack.imap(&user).await;
    let folders = list_folders(&mut session).await;
    assert!(
        folders.iter().any(|(name, _)| name == "报告 2026"),
        "the UTF-8 folder round-trips through modified UTF-7: {folders:?}"
    );
    // The \Seen flag from append() arrived.
    session.select("INBOX").await.expect("SELECT INBOX");
    let seen = session.search("SEEN").await.expect("SEARCH SEEN");
    assert_eq!(seen.len(), 1);
    let _ = session.logout().await;
}

#[tokio::test]
async fn special_use_folders_exist_for_a_new_user() {
    let stack = MailStack::shared();
    let user = stack.add_user("selftest-special-use");
    let mut session = stack.imap(&user).await;
    let folders = list_folders(&mut session).await;
    for (folder, attribute) in [
        ("Drafts", "Drafts"),
        ("Sent", "Sent"),
        ("Trash", "Trash"),
        ("Junk", "Junk"),
        ("Archive", "Archive"),
    ] {
        let attrs = folders
            .iter()
            .find(|(name, _)| name == folder)
            .map(|(_, attrs)| attrs)
            .unwrap_or_else(|| panic!("{folder} missing from {folders:?}"));
        assert!(
            attrs.iter().any(|a| a == attribute),
            "{folder} should be \\{attribute}: {attrs:?}"
        );
    }
    assert!(folders.iter().any(|(name, _)| name == "INBOX"));
    // Special-use folders are subscribed too.
    let subscribed: Vec<_> = session
        .lsub(Some(""), Some("*"))
        .await
        .expect("LSUB")
        .try_collect()
        .await
        .expect("LSUB responses");
    assert!(subscribed.iter().any(|n| n.name() == "Sent"));
    let capabilities = session.capabilities().await.expect("CAPABILITY");
    for cap in [
        "SPECIAL-USE",
        "MULTIAPPEND",
        "LITERAL+",
        "QUOTA",
        "ACL",
        "MOVE",
        "IDLE",
    ] {
        assert!(capabilities.has_str(cap), "missing capability {cap}");
    }
    let _ = session.logout().await;
}

#[tokio::test]
async fn plain_smtp_delivers_to_inbox() {
    let stack = MailStack::shared();
    let user = stack.add_user("selftest-smtp");
    stack
        .deliver(
            "outside@other.test",
            &[&user.address],
            &eml("Delivered by SMTP", "Hello\r\n.leading dot survives"),
        )
        .await;
    stack
        .wait_for_count(&user, "INBOX", 1, Duration::from_secs(20))
        .await;
    assert_eq!(
        first_subject(stack, &user, "INBOX").await,
        "Delivered by SMTP"
    );
}

#[tokio::test]
async fn submission_auth_plain_over_starttls() {
    let stack = MailStack::shared();
    let user = stack.add_user("selftest-submission");
    let ca = std::fs::read(&stack.ca_file).expect("read ca.pem");
    let tls = TlsParameters::builder("localhost".to_owned())
        .add_root_certificate(Certificate::from_pem(&ca).expect("parse ca.pem"))
        .build_rustls()
        .expect("TLS parameters");
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(stack.submission_port)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(
            user.address.clone(),
            user.password.clone(),
        ))
        .authentication(vec![Mechanism::Plain])
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let address: Mailbox = user.address.parse().expect("address");
    let message = Message::builder()
        .from(address.clone())
        .to(address)
        .subject("Sent through submission")
        .header(ContentType::TEXT_PLAIN)
        .body("Hi me".to_owned())
        .expect("build message");
    mailer
        .send(message)
        .await
        .expect("submission with AUTH PLAIN over STARTTLS");
    stack
        .wait_for_count(&user, "INBOX", 1, Duration::from_secs(20))
        .await;
    let log = std::fs::read_to_string(stack.postfix_log()).expect("read the Postfix log");
    assert!(
        log.contains(&format!(
            "sasl_method=PLAIN, sasl_username={}",
            user.address
        )),
        "Postfix logged the SASL login"
    );
}

#[tokio::test]
async fn imaps_is_trusted_through_ca_pem() {
    let stack = MailStack::shared();
    let connector = tokio_rustls::TlsConnector::from(stack.rustls_config());
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", stack.imaps_port))
        .await
        .expect("connect IMAPS");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("server name");
    let tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake trusting ca.pem");
    let mut client = async_imap::Client::new(tls);
    let greeting = client
        .read_response()
        .await
        .expect("read the greeting")
        .expect("a greeting");
    assert!(
        matches!(
            greeting.parsed(),
            Response::Data {
                status: Status::Ok,
                ..
            }
        ),
        "{:?}",
        greeting.parsed()
    );
}

#[tokio::test]
async fn append_many_seeds_ten_thousand_messages_quickly() {
    let stack = MailStack::shared();
    let user = stack.add_user("selftest-bulk");
    let emls: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            eml(
                &format!("Bulk message {i}"),
                &format!("Body of message {i}\r\n").repeat(1 + i % 20),
            )
        })
        .collect();
    let started = Instant::now();
    stack.append_many(&user, "INBOX", &emls).await;
    let took = started.elapsed();
    eprintln!("append_many: 10,000 messages in {took:?}");
    assert_eq!(stack.count(&user, "INBOX").await, 10_000);
    assert!(took < Duration::from_secs(30), "bulk APPEND took {took:?}");
}

#[test]
fn private_stack_restarts_and_stops_servers() {
    let started = Instant::now();
    let stack = MailStack::start_private();
    eprintln!("private stack up in {:?}", started.elapsed());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let user = stack.add_user("selftest-private");
    rt.block_on(async {
        let mut session = stack.imap(&user).await;
        session.noop().await.expect("NOOP before the restart");

        let started = Instant::now();
        stack.restart_imap();
        eprintln!("restart_imap in {:?}", started.elapsed());
        assert!(
            session.noop().await.is_err(),
            "the old session was cut by the restart"
        );
        let mut session = stack.imap(&user).await;
        session.noop().await.expect("NOOP after the restart");
    });

    stack.stop_smtp();
    assert!(std::net::TcpStream::connect(("127.0.0.1", stack.smtp_port)).is_err());
    stack.start_smtp();
    rt.block_on(async {
        stack
            .deliver("a@other.test", &[&user.address], &eml("after restart", "x"))
            .await;
        stack
            .wait_for_count(&user, "INBOX", 1, Duration::from_secs(20))
            .await;
    });

    let dir = stack.dir.clone();
    drop(stack);
    if std::env::var_os("MAILSTACK_KEEP").is_none() {
        assert!(
            !dir.exists(),
            "a private stack's directory goes away on drop"
        );
    }
}
