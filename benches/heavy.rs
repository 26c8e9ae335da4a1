//! Hostile-message benchmark (issue 9 item 7): while one client opens a 10 MB message of
//! 5,000 parts (its page and its attachments.zip) and a 15 MB body of nested tags (its
//! page and its body document, once alone and twice at once) and the worst HTML still under
//! the caps (UID 3, sanitized), another client polls
//! `/healthz` every 10 ms. Prints the heavy requests' durations and `/healthz` latency
//! (median, p99, max) while they run, beside `/healthz` on an idle server.
//! Target: `/healthz` under 50 ms throughout.
//!
//! Run with `cargo bench --bench heavy`. Under `cargo test` it only checks that it builds
//! and exits at once.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use common::Web;
use mailstack::MailStack;

/// Bytes that do not compress (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// About 10.7 MB: a text part and 5,000 base64 attachments of 1,500 bytes.
fn many_parts() -> Vec<u8> {
    let mut eml = String::from(
        "From: Bulk <bulk@example.test>\r\nTo: bench@example.test\r\nSubject: Many parts\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n\
         --p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFive thousand files.\r\n",
    );
    for i in 0..5000 {
        let b64 = base64::engine::general_purpose::STANDARD.encode(noise(1500, i + 1));
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        eml.push_str(&format!(
            "--p\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
    }
    eml.push_str("--p--\r\n");
    eml.into_bytes()
}

/// 15 MB of nested tags as the only body.
fn nested_html() -> Vec<u8> {
    format!(
        "From: a@example.test\r\nSubject: Nested\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{}\r\n",
        "<div>".repeat(3 * 1024 * 1024)
    )
    .into_bytes()
}

/// The worst body still under the caps: 199 blocks of 500 nested divs (99,500 elements,
/// 1.1 MB), which is sanitized.
fn worst_allowed_html() -> Vec<u8> {
    let block = format!("{}x{}", "<div>".repeat(500), "</div>".repeat(500));
    format!(
        "From: a@example.test\r\nSubject: Worst allowed\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{}\r\n",
        block.repeat(199)
    )
    .into_bytes()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (count, median, p99, max) in milliseconds.
fn summary(mut v: Vec<Duration>) -> (usize, f64, f64, f64) {
    if v.is_empty() {
        return (0, 0.0, 0.0, 0.0);
    }
    v.sort();
    let p99 = ((v.len() * 99) / 100).min(v.len() - 1);
    (v.len(), ms(v[v.len() / 2]), ms(v[p99]), ms(v[v.len() - 1]))
}

/// Polls `/healthz` every 10 ms until `stop`, returning each answer's latency.
async fn poll_health(base: String, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let res = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert!(res.status().is_success());
        let _ = res.bytes().await;
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("heavy: run with `cargo bench --bench heavy` (skipped under cargo test)");
        return;
    }
    let stack = MailStack::start_private();
    let user = stack.add_user("bench");
    let (parts, nested) = (many_parts(), nested_html());
    stack.append(&user, "INBOX", &parts, &[]).await;
    stack.append(&user, "INBOX", &nested, &[]).await;
    stack
        .append(&user, "INBOX", &worst_allowed_html(), &[])
        .await;
    println!(
        "seeded: 5,000-part message {:.1} MB (UID 1), nested HTML {:.1} MB (UID 2)",
        parts.len() as f64 / 1e6,
        nested.len() as f64 / 1e6
    );
    let web = Web::start_logged_in(stack.imap_port, &user.address, &user.password, |_| {}).await;
    let (base, client) = (web.base.clone(), web.client.clone());

    // /healthz on an idle server, for comparison.
    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(poll_health(base.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let idle = idle.await.expect("idle poller");

    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn(poll_health(base.clone(), stop.clone()));
    let get = |path: &'static str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let t = Instant::now();
            let res = client.get(&url).send().await.expect("GET");
            assert!(res.status().is_success(), "{url}: {}", res.status());
            let len = res.bytes().await.expect("body").len();
            (t.elapsed(), len)
        }
    };
    let mut rows = Vec::new();
    for round in 0..3 {
        for path in [
            "/mail/INBOX/1",
            "/mail/INBOX/1/attachments.zip",
            "/mail/INBOX/2",
            "/mail/INBOX/2/body",
            "/mail/INBOX/3/body",
        ] {
            let (d, len) = get(path).await;
            rows.push((format!("{path} (run {})", round + 1), d, len));
        }
    }
    let t = Instant::now();
    let (a, b) = tokio::join!(get("/mail/INBOX/2/body"), get("/mail/INBOX/2/body"));
    rows.push((
        "2 x /mail/INBOX/2/body at once (wall)".into(),
        t.elapsed(),
        a.1 + b.1,
    ));
    stop.store(true, Ordering::Relaxed);
    let busy = busy.await.expect("busy poller");

    println!("\nheavy requests (one client, in turn)                  ms      bytes");
    for (name, d, len) in &rows {
        println!("{name:<46} {:>9.1} {len:>10}", ms(*d));
    }
    println!("\n/healthz every 10 ms            count   median      p99      max");
    let line = |name: &str, (n, m, p, x): (usize, f64, f64, f64)| {
        println!("{name:<30} {n:>6} {m:>8.2} {p:>8.2} {x:>8.2}")
    };
    line("idle server", summary(idle));
    let busy = summary(busy);
    line("during the heavy requests", busy);
    println!(
        "\ntarget: /healthz under 50 ms throughout -> {}",
        if busy.3 < 50.0 { "met" } else { "NOT met" }
    );
}
