//! Send-path benchmark (issue "Write and send mail"): time to send a 1 MB message with an
//! attachment end to end — `POST /compose` (multipart) until the 303 — beside the SMTP
//! floor: the same message bytes sent straight to Postfix with lettre (STARTTLS + AUTH,
//! a new connection each time, as Mailroom does). Median and p90 of 21 runs after 3
//! warm-up runs, on a private Dovecot + Postfix, Mailroom in-process (release build).
//!
//! The end-to-end figure includes what a send really does besides SMTP: parsing the
//! upload, staging it in SQLite, building the message, the Sent copy (IMAP APPEND of the
//! same megabyte) and collecting the recipients.
//!
//! Run with `cargo bench --bench send_path`. Under `cargo test` it only checks that it
//! builds and exits at once.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use std::time::Instant;

use common::{Web, csrf_token, stats};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{Certificate, Tls, TlsParameters},
    },
};
use mailroom::{
    config::{Endpoint, Security},
    mime::compose::{self, Attachment, Copy, Outgoing},
    model::Address,
};
use mailstack::MailStack;

const WARMUP: usize = 3;
const RUNS: usize = 21;
const ATTACHMENT_BYTES: usize = 1024 * 1024;

fn attachment() -> Vec<u8> {
    (0..ATTACHMENT_BYTES)
        .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 8) as u8)
        .collect()
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("send_path: run with `cargo bench --bench send_path` (skipped under cargo test)");
        return;
    }
    let stack = MailStack::start_private();
    let alice = stack.add_user("bench-a");
    let bob = stack.add_user("bench-b");
    let data = attachment();

    let web = Web::start_logged_in(stack.imap_port, &alice.address, &alice.password, |config| {
        config.smtp = Endpoint {
            host: "127.0.0.1".into(),
            port: stack.submission_port,
            security: Security::Starttls,
            ca_file: Some(stack.ca_file.clone()),
        };
    })
    .await;
    let (base, client) = (&web.base, &web.client);
    // A login rotates the CSRF token: read the new one from the compose form.
    let token = csrf_token(&web.page("/compose", "compose page").await).expect("csrf token");

    // The floor's message: what Mailroom builds for the same send, sent with lettre.
    let message = compose::build(
        &Outgoing {
            from: Address {
                name: None,
                email: alice.address.clone(),
            },
            to: vec![Address {
                name: None,
                email: bob.address.clone(),
            }],
            subject: "Bench floor".into(),
            body: "A 1 MB attachment follows.".into(),
            attachments: vec![Attachment {
                filename: "data.bin".into(),
                content_type: "application/octet-stream".into(),
                data: data.clone(),
            }],
            message_id: compose::new_message_id(&alice.address),
            date: 1_800_000_000,
            ..Outgoing::default()
        },
        Copy::Sent,
    )
    .expect("message");
    let pem = std::fs::read(&stack.ca_file).expect("ca");
    let tls = TlsParameters::builder("127.0.0.1".into())
        .add_root_certificate(Certificate::from_pem(&pem).expect("ca pem"))
        .build_rustls()
        .expect("tls");
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(stack.submission_port)
            .tls(Tls::Required(tls))
            .credentials(Credentials::new(
                alice.address.clone(),
                alice.password.clone(),
            ))
            .authentication(vec![Mechanism::Plain])
            .build();
    let envelope = Envelope::new(
        Some(alice.address.parse().expect("from")),
        vec![bob.address.parse().expect("to")],
    )
    .expect("envelope");
    // The two are interleaved, one of each per round, so load from the rest of the
    // machine (2 cores) hits both alike.
    let mut e2e = Vec::with_capacity(RUNS);
    let mut floor = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        // End to end: POST /compose until the 303.
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .text("compose_id", format!("bench-compose-{i:08}"))
            .text("from", alice.address.clone())
            .text("to", bob.address.clone())
            .text("subject", format!("Bench {i}"))
            .text("body", "A 1 MB attachment follows.")
            .text("priority", "normal")
            .text("action", "send")
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(data.clone())
                    .file_name("data.bin")
                    .mime_str("application/octet-stream")
                    .expect("mime"),
            );
        let t = Instant::now();
        let res = client
            .post(format!("{base}/compose"))
            .multipart(form)
            .send()
            .await
            .expect("POST /compose");
        let status = res.status();
        let _ = res.bytes().await;
        let took = t.elapsed();
        assert_eq!(status, 303, "send {i} failed");
        if i >= WARMUP {
            e2e.push(took);
        }
        // The floor: the same bytes straight to Postfix.
        let t = Instant::now();
        transport
            .send_raw(&envelope, &message)
            .await
            .expect("lettre send");
        if i >= WARMUP {
            floor.push(t.elapsed());
        }
    }

    let (m1, p1) = stats(e2e);
    let (m2, p2) = stats(floor);
    println!(
        "message: {} bytes on the wire ({} KB attachment)",
        message.len(),
        ATTACHMENT_BYTES / 1024
    );
    println!("POST /compose → 303 (1 MB attachment)   median {m1:7.1} ms   p90 {p1:7.1} ms");
    println!("SMTP floor (lettre, same bytes)          median {m2:7.1} ms   p90 {p2:7.1} ms");
    println!("runs: {RUNS} each after {WARMUP} warm-up");
}
