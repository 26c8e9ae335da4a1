//! The send workflow without any server: refusals, claims and the staging rules, with a
//! real database and mail servers that are not there (a closed loopback port).

use std::time::Duration;

use super::{staging::NewFile, *};
use crate::{
    config::{Secret, Security},
    store::test_db,
};

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn nowhere() -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: closed_port(),
        security: Security::None,
        ca_file: None,
    }
}

fn mailer(db: Db, limit: u64) -> Mailer {
    let imap = Imap::new(nowhere(), Duration::from_secs(60)).expect("Imap::new");
    Mailer::new(imap, db, nowhere(), limit)
}

fn account() -> Account {
    Account {
        login_id: "test-login".into(),
        username: "alice@example.test".into(),
        password: Secret::new("pw"),
        server: None,
    }
}

fn letter(key: &str, to: &str) -> Letter {
    let addr = |e: &str| Address {
        name: None,
        email: e.to_owned(),
    };
    Letter {
        key: key.into(),
        message: Outgoing {
            from: addr("alice@example.test"),
            to: (!to.is_empty()).then(|| addr(to)).into_iter().collect(),
            subject: "hello".into(),
            body: "text".into(),
            message_id: "m1@example.test".into(),
            ..Outgoing::default()
        },
        request_dsn: false,
        replaces: None,
        return_to: "/mail/INBOX".into(),
    }
}

async fn won(m: &Mailer, key: &str) -> Ticket {
    match m.claim("alice@example.test", key).await.expect("claim") {
        Claimed::Won(t) => t,
        Claimed::AlreadySent { .. } => panic!("{key} already claimed"),
    }
}

#[test]
fn origins_parse_reply_and_forward_only() {
    assert_eq!(
        Origin::parse("reply INBOX/5"),
        Some(Origin {
            kind: OriginKind::Reply,
            mailbox: "INBOX".into(),
            uid: 5
        })
    );
    let f = Origin::parse("forward Archive/2024/7").expect("forward");
    assert_eq!(
        (f.kind, f.mailbox.as_str(), f.uid),
        (OriginKind::Forward, "Archive/2024", 7)
    );
    assert_eq!(f.flag(), MessageFlag::Forwarded);
    assert_eq!(Origin::parse("delete INBOX/5"), None);
    assert_eq!(Origin::parse("reply INBOX/0"), None);
    assert_eq!(Origin::parse(""), None);
}

#[tokio::test]
async fn a_claim_is_won_once_and_released_by_a_refusal() {
    let (_d, db) = test_db().await;
    let m = mailer(db, 1024 * 1024);
    let a = account();
    let t = won(&m, "k1").await;
    assert!(matches!(
        m.claim(&a.username, "k1").await.unwrap(),
        Claimed::AlreadySent { .. }
    ));
    // No recipient: refused before SMTP, and the key can be claimed again.
    let out = m.deliver(&a, t, &letter("k1", "")).await.unwrap();
    assert_eq!(out, Outcome::Refused(vec![Refusal::NoRecipients]));
    let t = won(&m, "k1").await;

    let mut bad = letter("k1", "bob@example.test");
    bad.message.subject = "hi\r\nBcc: eve@example.test".into();
    let out = m.deliver(&a, t, &bad).await.unwrap();
    assert_eq!(out, Outcome::Refused(vec![Refusal::ControlChar("subject")]));
    let t = won(&m, "k1").await;

    // A ticket for another key sends nothing, and is given back.
    let err = m.deliver(&a, t, &letter("k2", "bob@example.test")).await;
    assert!(matches!(err, Err(SendError::Unclaimed)), "{err:?}");
    let _ = won(&m, "k1").await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_refused_and_no_draft_is_saved() {
    let (_d, db) = test_db().await;
    let m = mailer(db, 4096);
    let a = account();
    let mut big = letter("big", "bob@example.test");
    big.message.body = "x".repeat(8000);
    let t = won(&m, "big").await;
    let out = m.deliver(&a, t, &big).await.unwrap();
    assert_eq!(
        out,
        Outcome::Refused(vec![Refusal::TooLarge { limit: 4096 }])
    );
    assert_eq!(
        m.save_draft(&a, &big).await.unwrap(),
        Drafted::Refused(vec![Refusal::TooLarge { limit: 4096 }])
    );
}

#[tokio::test]
async fn smtp_and_imap_down_leave_the_message_with_the_caller_and_the_claim_free() {
    let (_d, db) = test_db().await;
    let m = mailer(db, 1024 * 1024);
    let a = account();
    let t = won(&m, "down").await;
    let out = m
        .deliver(&a, t, &letter("down", "bob@example.test"))
        .await
        .unwrap();
    match out {
        Outcome::NotSaved {
            reason: SmtpError::Unreachable(_),
            draft_error,
        } => assert!(
            matches!(draft_error, ImapError::Unreachable(_)),
            "{draft_error:?}"
        ),
        other => panic!("{other:?}"),
    }
    let _ = won(&m, "down").await;
}

#[tokio::test]
async fn staging_keeps_the_ticked_files_and_refuses_what_does_not_fit() {
    let (_d, db) = test_db().await;
    let m = mailer(db, 20 * 1024);
    let user = "alice@example.test";
    let file = |name: &str, n: usize| NewFile {
        filename: name.into(),
        content_type: "application/octet-stream".into(),
        data: vec![7; n],
    };
    let first = m
        .stage(user, "c1", &[], vec![file("a", 1000), file("b", 1000)], 0)
        .await
        .unwrap();
    assert_eq!(first.kept.len(), 2);
    assert!(first.refused.is_empty());

    // Untick "a"; "big" would pass the limit, "c" fits.
    let keep = vec![first.kept[1].clone()];
    let second = m
        .stage(
            user,
            "c1",
            &keep,
            vec![file("big", 15_000), file("c", 500)],
            10,
        )
        .await
        .unwrap();
    assert_eq!(second.refused, ["big"]);
    assert_eq!(second.kept.len(), 2);
    assert_eq!(second.kept[0], first.kept[1]);
    let files = m
        .staged_attachments(user, "c1", &second.kept)
        .await
        .unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    // Another user's key holds nothing of alice's.
    assert!(
        m.staged_attachments("mallory@example.test", "c1", &second.kept)
            .await
            .unwrap()
            .is_empty()
    );
}
