//! The send workflow called directly, with no HTTP request, the way a background worker
//! calls it: against the real Dovecot + Postfix, a message goes out with its Sent copy,
//! the original flagged and the replaced draft gone; with SMTP down it stays in Drafts
//! with the reason.

use std::time::Duration;

use mail_parser::MessageParser;
use mailroom::{
    config::{Endpoint, Security},
    imap::Account,
    mime::compose::{Attachment, Outgoing, new_message_id},
    model::Address,
    send::{Claimed, Drafted, Letter, Mailer, Outcome, Ticket},
    smtp::SmtpError,
    store::{self, Db},
};

use crate::{
    common::{
        direct,
        mailstack::{MailStack, TestUser},
    },
    compose::{flags_of, messages},
};

/// Deliveries take well under a second; this is the patience for a slow CI machine.
const DELIVERY: Duration = Duration::from_secs(20);

/// A database of Mailroom's own, kept alive by the returned guard.
async fn database() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("send.db").display());
    let db = store::connect(&url).await.expect("database");
    (dir, db)
}

/// A mailer for `stack` whose submission server is `smtp`.
fn mailer(stack: &MailStack, db: Db, smtp: Endpoint) -> Mailer {
    Mailer::new(direct::client(stack), db, smtp, 10 * 1024 * 1024)
}

fn submission(stack: &MailStack) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: stack.submission_port,
        security: Security::Starttls,
        ca_file: Some(stack.ca_file.clone()),
    }
}

fn address(user: &TestUser) -> Address {
    Address {
        name: None,
        email: user.address.clone(),
    }
}

/// A letter from `from` to `to` with one attachment.
fn letter(key: &str, from: &TestUser, to: &TestUser, subject: &str, file: &[u8]) -> Letter {
    Letter {
        key: key.into(),
        message: Outgoing {
            from: address(from),
            to: vec![address(to)],
            subject: subject.into(),
            body: "sent by a worker\n".into(),
            attachments: vec![Attachment {
                filename: "data.bin".into(),
                content_type: "application/octet-stream".into(),
                data: file.to_vec(),
            }],
            message_id: new_message_id(&from.address),
            date: time::OffsetDateTime::now_utc().unix_timestamp(),
            ..Outgoing::default()
        },
        request_dsn: false,
        replaces: None,
        return_to: "/mail/INBOX".into(),
    }
}

async fn won(m: &Mailer, account: &Account, key: &str) -> Ticket {
    match m.claim(&account.username, key).await.expect("claim") {
        Claimed::Won(t) => t,
        Claimed::AlreadySent { .. } => panic!("{key} was claimed already"),
    }
}

fn file() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn a_worker_sends_a_reply_with_its_sent_copy_and_the_draft_replaced() {
    let stack = MailStack::shared();
    let alice = stack.add_user("worker-a");
    let bob = stack.add_user("worker-b");
    let (_d, db) = database().await;
    let m = mailer(stack, db.clone(), submission(stack));
    let account = direct::account(&alice);
    let original = format!(
        "From: {b}\r\nTo: {a}\r\nSubject: question\r\nMessage-ID: <q1@example.test>\r\n\r\nwell?\r\n",
        a = alice.address,
        b = bob.address
    );
    stack
        .append(&alice, "INBOX", original.as_bytes(), &[])
        .await;
    let data = file();

    // First saved as a draft (its reply origin travels with it), then sent from there.
    let mut l = letter("job-1", &alice, &bob, "Re: question", &data);
    l.message.origin = Some("reply INBOX/1".into());
    l.message.in_reply_to = Some("q1@example.test".into());
    let draft = match m.save_draft(&account, &l).await.expect("save_draft") {
        Drafted::Saved(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(messages(stack, &alice, &draft.mailbox).await.len(), 1);
    l.replaces = Some((
        draft.mailbox.clone(),
        draft.uid.expect("UIDPLUS gives the uid"),
    ));

    let ticket = won(&m, &account, "job-1").await;
    let delivered = match m.deliver(&account, ticket, &l).await.expect("deliver") {
        Outcome::Sent(d) => d,
        other => panic!("{other:?}"),
    };
    let sent_copy = delivered.sent_copy.expect("a Sent copy");

    stack.wait_for_count(&bob, "INBOX", 1, DELIVERY).await;
    let got = messages(stack, &bob, "INBOX").await;
    let msg = MessageParser::default().parse(&got[0].1).expect("parse");
    assert_eq!(msg.subject(), Some("Re: question"));
    assert_eq!(msg.in_reply_to().as_text(), Some("q1@example.test"));
    assert_eq!(
        msg.attachments().next().map(|a| a.contents().to_vec()),
        Some(data)
    );

    let sent = messages(stack, &alice, &sent_copy.mailbox).await;
    assert_eq!(sent.len(), 1);
    let copy = MessageParser::default().parse(&sent[0].1).expect("parse");
    assert_eq!(copy.message_id(), Some(l.message.message_id.as_str()));
    assert!(
        flags_of(stack, &alice, "INBOX", 1)
            .await
            .iter()
            .any(|f| f == "Answered"),
        "the original is not flagged \\Answered"
    );
    assert_eq!(
        messages(stack, &alice, &draft.mailbox).await.len(),
        0,
        "the draft it replaced is still there"
    );
    let contacts = store::contacts::list(&db, &alice.address)
        .await
        .expect("contacts");
    assert!(
        contacts.iter().any(|c| c.email == bob.address),
        "{contacts:?}"
    );

    // The same job again (a second worker, a retry): claimed once, sent once.
    match m.claim(&account.username, "job-1").await.expect("claim") {
        Claimed::AlreadySent { return_to } => assert_eq!(return_to, "/mail/INBOX"),
        Claimed::Won(_) => panic!("a sent job was claimed again"),
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(stack.count(&bob, "INBOX").await, 1);
}

#[tokio::test]
async fn with_smtp_down_a_worker_leaves_the_message_in_drafts_with_the_reason() {
    let stack = MailStack::shared();
    let alice = stack.add_user("workerdown-a");
    let bob = stack.add_user("workerdown-b");
    let (_d, db) = database().await;
    // A loopback port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let down = Endpoint {
        port: closed,
        ..submission(stack)
    };
    let m = mailer(stack, db, down);
    let account = direct::account(&alice);
    let data = file();
    let l = letter("job-2", &alice, &bob, "while down", &data);

    let ticket = won(&m, &account, "job-2").await;
    let (reason, draft) = match m.deliver(&account, ticket, &l).await.expect("deliver") {
        Outcome::SavedAsDraft { reason, draft } => (reason, draft),
        other => panic!("{other:?}"),
    };
    assert!(matches!(reason, SmtpError::Unreachable(_)), "{reason:?}");
    assert!(
        reason.to_string().contains(&closed.to_string()),
        "the reason names the server: {reason}"
    );
    let drafts = messages(stack, &alice, &draft.mailbox).await;
    assert_eq!(drafts.len(), 1);
    assert!(
        drafts[0].0.iter().any(|f| f == "Draft"),
        "{:?}",
        drafts[0].0
    );
    let d = MessageParser::default().parse(&drafts[0].1).expect("parse");
    assert_eq!(d.subject(), Some("while down"));
    assert_eq!(
        d.attachments().next().map(|a| a.contents().to_vec()),
        Some(data)
    );
    assert_eq!(
        stack.count(&alice, "Sent").await,
        0,
        "a Sent copy of nothing"
    );
    // Nothing went out, so the job can be tried again later.
    let _retry = won(&m, &account, "job-2").await;
    assert_eq!(stack.count(&bob, "INBOX").await, 0);
}
