//! The same pages against both IMAP servers (issue 10, item 7: "no stalls on other servers").
//!
//! Cyrus writes a reply larger than its 4 KB output buffer in more than one `write`; with
//! Nagle's algorithm on its socket the second part waits until we ACK the first, and a
//! client that delays its ACKs makes that about 40 ms per reply. This bench seeds the same
//! 200 messages (and one of about 30 KB) on Dovecot (`MailStack::shared`) and on Cyrus
//! (`MailStack::cyrus`), runs Mailroom in-process against each, and prints median and p90
//! of the list page and of a message page with its body document, side by side.
//!
//! Run with `cargo bench --bench two_servers` (needs Cyrus: `scripts/install-cyrus`).
//! Under `cargo test` it only checks that it builds and exits at once.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use common::{Web, time};
use mailstack::MailStack;

const WARMUP: usize = 20;
const RUNS: usize = 40;
/// Messages in the folder.
const MESSAGES: usize = 200;

/// A small message; `i` makes the subject, sender and date differ.
fn small(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {s} <s{s}@example.test>\r\nTo: bench@example.test\r\nSubject: Bench message {i}\r\n\
         Date: Mon, 01 Jun 2026 {h:02}:{m:02}:00 +0000\r\nMessage-ID: <t{i}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello number {i}.\r\n",
        s = i % 17,
        h = (i / 60) % 24,
        m = i % 60,
    )
    .into_bytes()
}

/// A plain-text message of about 30 KB: its FETCH reply spans several of Cyrus's writes.
fn big() -> Vec<u8> {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 30 * 1024 {
        body.push_str(&format!(
            "Line {i}: the quick brown fox jumps over the lazy dog, again and again.\r\n"
        ));
        i += 1;
    }
    format!(
        "From: Long <long@example.test>\r\nTo: bench@example.test\r\nSubject: Long letter\r\n\
         Date: Tue, 02 Jun 2026 12:00:00 +0000\r\nMessage-ID: <long@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

/// (list page, message page + body) on `stack`.
async fn measure(stack: &MailStack) -> ((f64, f64), (f64, f64)) {
    let user = stack.add_user("twoservers");
    let emls: Vec<Vec<u8>> = (0..MESSAGES).map(small).collect();
    stack.append_many(&user, "INBOX", &emls).await;
    stack.append(&user, "INBOX", &big(), &[]).await;
    let big_uid = MESSAGES as u32 + 1;
    let web = Web::start_logged_in(stack.imap_port, &user.address, &user.password, |_| {}).await;
    let get = |path: String| web.get_ok(&path);
    let list = time(WARMUP, RUNS, || get("/mail/INBOX".into())).await;
    let open = time(WARMUP, RUNS, || {
        let (page, body) = (
            get(format!("/mail/INBOX/{big_uid}")),
            get(format!("/mail/INBOX/{big_uid}/body")),
        );
        async move {
            page.await;
            body.await;
        }
    })
    .await;
    (list, open)
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "two_servers: run with `cargo bench --bench two_servers` (skipped under cargo test)"
        );
        return;
    }
    let dovecot = measure(MailStack::shared()).await;
    let cyrus = measure(MailStack::cyrus()).await;
    println!(
        "\n{RUNS} runs after {WARMUP} warm-up, {MESSAGES} messages, milliseconds: median / p90"
    );
    println!("{:<40} {:>17} {:>17}", "", "Dovecot", "Cyrus");
    let row = |name: &str, d: (f64, f64), c: (f64, f64)| {
        println!(
            "{name:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            d.0, d.1, c.0, c.1
        )
    };
    row("GET /mail/INBOX (list page)", dovecot.0, cyrus.0);
    row("message page + body (30 KB)", dovecot.1, cyrus.1);
}
