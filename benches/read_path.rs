//! Read-path benchmark (issue: "a 10,000-message folder opens as fast as a 10-message one").
//!
//! Seeds a 10,000-message INBOX plus one 50 KB HTML message on a private Dovecot, runs
//! Mailroom in-process (release build), and reports median and p90 of:
//! GET /mail/INBOX, GET /mail/INBOX?page=100, page 1 right after new mail arrived (the
//! page's order not remembered: the server's SORT runs), the 50 KB message page + its
//! body, beside the raw IMAP floor for the same work on an already logged-in connection;
//! then the IMAP round trips and commands per page, counted on the wire.
//!
//! Run with `scripts/bench` (or `cargo bench --bench read_path`). Under `cargo test` it
//! only checks that it builds and exits at once.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use std::time::Instant;

use std::sync::Arc;

use common::{Counters, Web, counting_proxy, stats};
use futures::TryStreamExt;
use mailstack::MailStack;

const WARMUP: usize = 20;
const RUNS: usize = 30;

/// [`common::time`] with this bench's run counts.
async fn time<F, Fut>(f: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    common::time(WARMUP, RUNS, f).await
}

/// A small new message, as if just delivered.
fn new_mail(i: usize) -> Vec<u8> {
    format!(
        "From: New <new@example.test>\r\nTo: bench@example.test\r\nSubject: New {i}\r\n\
         Date: Tue, 02 Jun 2026 12:00:00 +0000\r\n\r\nNew mail {i}.\r\n"
    )
    .into_bytes()
}

/// Opens message `uid` as a browser does: the page, then its body document.
async fn a_open(web: &Web, uid: u32) {
    web.page(&format!("/mail/INBOX/{uid}"), "message page")
        .await;
    web.page(&format!("/mail/INBOX/{uid}/body"), "body document")
        .await;
}

fn html_50k() -> Vec<u8> {
    let mut body = String::from("<html><body><h1>Big newsletter</h1>");
    let mut i = 0;
    while body.len() < 50 * 1024 {
        body.push_str(&format!(
            "<p style=\"color:#333;font-size:14px\">Paragraph {i}: <a href=\"https://example.test/{i}\">link {i}</a> \
             <b>bold</b> <i>italic</i> text text text text text text text.</p>"
        ));
        i += 1;
    }
    body.push_str("</body></html>");
    format!(
        "From: News <news@example.test>\r\nTo: bench@example.test\r\nSubject: Big HTML\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("read_path: run with `cargo bench --bench read_path` (skipped under cargo test)");
        return;
    }
    let stack = MailStack::start_private();
    let user = stack.add_user("bench");
    let emls: Vec<Vec<u8>> = (0..10_000).map(common::bench_message).collect();
    let t = Instant::now();
    stack.append_many(&user, "INBOX", &emls).await;
    stack.append(&user, "INBOX", &html_50k(), &[]).await;
    let big_uid = 10_001u32;
    println!(
        "seeded 10,001 messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let web = Web::start_logged_in(stack.imap_port, &user.address, &user.password, |_| {}).await;
    let get = |path: String| web.get_ok(&path);
    // Warm up the whole path first (Dovecot's caches for the new folder, SQLite, pools):
    // the first few dozen requests after seeding are slower and would skew the first row.
    for _ in 0..100 {
        get("/mail/INBOX".into()).await;
        get("/mail/INBOX?page=100".into()).await;
    }
    let page1 = time(|| get("/mail/INBOX".into())).await;
    let page100 = time(|| get("/mail/INBOX?page=100".into())).await;
    // Page 1 again, after the others: shows whether order (warm-up) matters.
    let page1_again = time(|| get("/mail/INBOX?page=1".into())).await;
    // Page 1 right after new mail arrived, every time: the page's order is not
    // remembered then (`imap::order`), so this is the cost of the server's SORT.
    let after_new_mail = {
        let mut v = Vec::new();
        for i in 0..(WARMUP + RUNS) {
            stack.append(&user, "INBOX", &new_mail(i), &[]).await;
            let t = Instant::now();
            get("/mail/INBOX".into()).await;
            if i >= WARMUP {
                v.push(t.elapsed());
            }
        }
        stats(v)
    };
    let open = time(|| {
        let (a, b) = (
            get(format!("/mail/INBOX/{big_uid}")),
            get(format!("/mail/INBOX/{big_uid}/body")),
        );
        async move {
            a.await;
            b.await;
        }
    })
    .await;
    // A different message each time (each has a Message-ID; none is in a conversation),
    // page then its body document, as a browser loads them.
    let mut next_uid = (1..10_000u32).step_by(37);
    let mut other = || next_uid.next().unwrap_or(1);
    let open_other = time(|| {
        let uid = other();
        let (a, b) = (
            get(format!("/mail/INBOX/{uid}")),
            get(format!("/mail/INBOX/{uid}/body")),
        );
        async move {
            a.await;
            b.await;
        }
    })
    .await;

    // The raw IMAP floor on one logged-in connection (same plain transport as the app).
    let mut s = stack.imap(&user).await;
    let floor_list = {
        let mut v = Vec::new();
        for i in 0..(WARMUP + RUNS) {
            let t = Instant::now();
            common::select_and_fetch_50(&mut s).await;
            if i >= WARMUP {
                v.push(t.elapsed());
            }
        }
        stats(v)
    };
    let floor_after_new_mail = {
        let mut v = Vec::new();
        for i in 0..(WARMUP + RUNS) {
            stack.append(&user, "INBOX", &new_mail(1000 + i), &[]).await;
            let t = Instant::now();
            common::select_and_fetch_50(&mut s).await;
            if i >= WARMUP {
                v.push(t.elapsed());
            }
        }
        stats(v)
    };
    let floor_body = {
        let mut v = Vec::new();
        for i in 0..(WARMUP + RUNS) {
            let t = Instant::now();
            let _: Vec<_> = s
                .uid_fetch(big_uid.to_string(), "BODY.PEEK[]")
                .await
                .expect("fetch")
                .try_collect()
                .await
                .expect("collect");
            if i >= WARMUP {
                v.push(t.elapsed());
            }
        }
        stats(v)
    };
    let _ = s.logout().await;

    // IMAP round trips and commands per page, counted on the wire by a relay in front of
    // the server (a second instance, so the timings above do not pass through it). All
    // connections together: the sidebar's and the page's run side by side.
    let counters = Arc::new(Counters::default());
    let relay = counting_proxy(stack.imap_port, counters.clone()).await;
    let counted = Web::start_logged_in(relay, &user.address, &user.password, |_| {}).await;
    let per_page = |path: &'static str| {
        let (counters, counted) = (counters.clone(), &counted);
        async move {
            for _ in 0..3 {
                counted.page(path, "warm-up").await;
            }
            let before = counters.snapshot();
            for _ in 0..10 {
                counted.page(path, "counted").await;
            }
            let after = counters.snapshot();
            (
                (after.0 - before.0) as f64 / 10.0,
                (after.1 - before.1) as f64 / 10.0,
            )
        }
    };
    let trips_page1 = per_page("/mail/INBOX").await;
    let trips_open = per_page("/mail/INBOX/10001").await;
    // Page and body document together, a different message each time.
    let trips_open_other = {
        let (a, b) = (&counters, &counted);
        for uid in [5000, 5001, 5002] {
            a_open(b, uid).await;
        }
        let before = a.snapshot();
        for uid in (6000..6100).step_by(10) {
            a_open(b, uid).await;
        }
        let after = a.snapshot();
        (
            (after.0 - before.0) as f64 / 10.0,
            (after.1 - before.1) as f64 / 10.0,
        )
    };

    println!("\n{RUNS} runs after {WARMUP} warm-up, milliseconds        median      p90");
    let row = |name: &str, (m, p): (f64, f64)| println!("{name:<44} {m:>8.2} {p:>8.2}");
    row("GET /mail/INBOX (page 1)", page1);
    row("GET /mail/INBOX?page=100", page100);
    row("GET /mail/INBOX?page=1 (measured again)", page1_again);
    row("GET /mail/INBOX right after new mail", after_new_mail);
    row("open 50 KB HTML message (page + body)", open);
    row("open a different message each time (+ body)", open_other);
    row("IMAP floor: SELECT + FETCH 50 envelopes", floor_list);
    row(
        "IMAP floor: the same right after new mail",
        floor_after_new_mail,
    );
    row("IMAP floor: UID FETCH BODY.PEEK[] (50 KB)", floor_body);
    println!("\nIMAP per page (all connections)              round trips  commands");
    let trips = |name: &str, (r, c): (f64, f64)| println!("{name:<44} {r:>8.1} {c:>9.1}");
    trips("GET /mail/INBOX (page 1)", trips_page1);
    trips("GET /mail/INBOX/10001 (message page)", trips_open);
    trips("a different message: page + body", trips_open_other);
    println!(
        "\npage 1 / floor = {:.2}x; target: page 1 median <= 2 x floor + 5 ms = {:.2} ms -> {}",
        page1.0 / floor_list.0,
        2.0 * floor_list.0 + 5.0,
        if page1.0 <= 2.0 * floor_list.0 + 5.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
