//! Search benchmark (issue 4, item 3; issue 10, item 2): searching a 10,000-message folder
//! in the default scope (subject, from, to), everywhere, by subject and by body text, timed and with its IMAP round trips counted, beside the raw IMAP floor
//! for the same commands.
//!
//! Everything talks to a private Dovecot through a small counting proxy on loopback, so
//! round trips are measured on the wire: a round trip is a burst of client bytes after
//! the server last spoke (pipelined commands count once). Rows:
//! - `Imap::search` (one folder) and `Imap::search_all` (every folder), page 1 and a deep
//!   page, ASCII and Chinese text;
//! - `GET /mail/INBOX?q=…` (the whole web path: sidebar, folder list, search);
//! - the raw floor on one logged-in connection: `EXAMINE` + `UID SORT RETURN (PARTIAL)`
//!   + `UID FETCH` of the page, and for all folders the pipelined counts plus the page.
//!
//! Run with `cargo bench --bench search` (release build); `MAILSTACK_FTS=xapian` runs it
//! against a Dovecot with a full-text index. Under `cargo test` it only
//! checks that it builds and exits at once.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::{Counters, Web, counting_proxy, stats};
use mailroom::{
    config::{Endpoint, Secret, Security},
    imap::{Account, Imap, PageRequest, SearchField, SearchQuery, SearchText},
};
use mailstack::{MailStack, TestUser};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

const WARMUP: usize = 3;
const RUNS: usize = 20;
const MESSAGES: usize = 10_000;
const SUMMARY: &str = "(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE)";

/// One measured row.
struct Row {
    name: String,
    times: Vec<Duration>,
    round_trips: u64,
}

impl Row {
    fn print(&self) {
        let (median, p90) = stats(self.times.clone());
        println!(
            "{:<62} {median:>8.2} {p90:>8.2} {:>5}",
            self.name, self.round_trips
        );
    }
}

/// Times `f` (after warm-up) and counts the round trips of its last run.
async fn measure<F, Fut>(name: &str, counters: &Counters, mut f: F) -> Row
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..WARMUP {
        f().await;
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut round_trips = 0;
    for _ in 0..RUNS {
        let before = counters.round_trips();
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
        round_trips = counters.round_trips() - before;
    }
    Row {
        name: name.to_owned(),
        times,
        round_trips,
    }
}

/// A bare IMAP connection for the floor: writes a command, reads to its tagged reply.
struct Raw {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    tag: u32,
}

impl Raw {
    async fn login(port: u16, user: &TestUser) -> Raw {
        let (r, w) = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect")
            .into_split();
        let mut raw = Raw {
            reader: BufReader::new(r),
            writer: w,
            tag: 0,
        };
        let mut greeting = String::new();
        raw.reader.read_line(&mut greeting).await.expect("greeting");
        raw.run(&[format!("LOGIN \"{}\" \"{}\"", user.address, user.password)])
            .await;
        raw
    }

    /// Sends all `commands` at once, then reads every reply; returns the untagged lines.
    async fn run(&mut self, commands: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut tags = Vec::new();
        let mut bytes = Vec::new();
        for c in commands {
            self.tag += 1;
            let tag = format!("R{}", self.tag);
            bytes.extend_from_slice(format!("{tag} {c}\r\n").as_bytes());
            tags.push(tag);
        }
        self.writer.write_all(&bytes).await.expect("write");
        for tag in tags {
            loop {
                let mut line = Vec::new();
                self.reader
                    .read_until(b'\n', &mut line)
                    .await
                    .expect("read");
                let text = String::from_utf8_lossy(&line).into_owned();
                // Literals in FETCH replies: read their bytes and go on with the line.
                if let Some(n) = text
                    .trim_end()
                    .strip_suffix('}')
                    .and_then(|t| t.rsplit_once('{'))
                    .and_then(|(_, n)| n.parse::<usize>().ok())
                {
                    let mut lit = vec![0u8; n];
                    self.reader.read_exact(&mut lit).await.expect("literal");
                    continue;
                }
                if text.starts_with(&format!("{tag} ")) {
                    assert!(text.contains(" OK "), "{text}");
                    break;
                }
                out.push(text);
            }
        }
        out
    }
}

/// The UIDs in an `* ESEARCH … PARTIAL (a:b set)` reply.
fn partial_uids(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| {
            let rest = l.split("PARTIAL (").nth(1)?;
            let set = rest.split(')').next()?.split(' ').nth(1)?;
            (set != "NIL").then(|| set.to_owned())
        })
        .unwrap_or_else(|| "1".into())
}

fn query(field: SearchField, text: &str) -> SearchQuery {
    SearchQuery {
        text: SearchText::parse(text).expect("valid text"),
        field,
        ..SearchQuery::default()
    }
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("search: run with `cargo bench --bench search` (skipped under cargo test)");
        return;
    }
    // MAILSTACK_FTS=xapian: the same on a Dovecot with a full-text index.
    let stack = match std::env::var("MAILSTACK_FTS") {
        Ok(fts) if !fts.is_empty() => MailStack::start_private_fts(&fts),
        _ => MailStack::start_private(),
    };
    let user = stack.add_user("bench-search");
    // 10,000 messages: `alpha` in 1 subject in 10, `omega` in 1 body in 7, Chinese in a
    // few of each; dates spread over a year so sorting has work to do.
    let emls: Vec<Vec<u8>> = (0..MESSAGES)
        .map(|i| {
            let mut subject = format!("Bench message {i}");
            if i % 10 == 0 {
                subject.push_str(" alpha");
            }
            if i % 100 == 0 {
                subject.push_str(" =?UTF-8?B?5a2j5bqm5oql5ZGK?="); // 季度报告
            }
            let mut body = format!("Hello number {i}.");
            if i % 7 == 0 {
                body.push_str(" The omega release is near.");
            }
            if i % 50 == 0 {
                body.push_str(" 项目进度正常。");
            }
            format!(
                "From: Sender {s} <s{s}@example.test>\r\nTo: bench@example.test\r\nSubject: {subject}\r\n\
                 Date: {day:02} {month} 2026 {h:02}:{m:02}:00 +0000\r\nMessage-ID: <s{i}@example.test>\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
                s = i % 97,
                day = 1 + (i / 7) % 28,
                month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][i % 12],
                h = i % 24,
                m = i % 60,
            )
            .into_bytes()
        })
        .collect();
    let t = Instant::now();
    stack.append_many(&user, "INBOX", &emls).await;
    stack.append_many(&user, "Sent", &emls[..1000]).await;
    println!(
        "seeded {MESSAGES} messages in INBOX and 1,000 in Sent in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let counters = Arc::new(Counters::default());
    let proxy = counting_proxy(stack.imap_port, counters.clone()).await;
    let imap = Imap::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: proxy,
            security: Security::None,
            ca_file: None,
        },
        Duration::from_secs(300),
    )
    .expect("Imap::new");
    let a = Account {
        login_id: "bench".into(),
        username: user.address.clone(),
        password: Secret::new(user.password.clone()),
        server: None,
    };
    imap.login(&a).await.expect("login");
    let folders: Vec<String> = imap
        .list_folders(&a)
        .await
        .expect("folders")
        .into_iter()
        .filter(|f| f.selectable)
        .map(|f| f.name)
        .collect();

    let mut rows = Vec::new();
    let page = |n: u32| PageRequest {
        page: n,
        per_page: 50,
        ..PageRequest::default()
    };
    for (name, q, n) in [
        (
            "Imap::search default scope \"alpha\" (subject/from/to), page 1",
            query(SearchField::Headers, "alpha"),
            1,
        ),
        (
            "Imap::search everywhere \"alpha\" (TEXT, the old default), page 1",
            query(SearchField::All, "alpha"),
            1,
        ),
        (
            "Imap::search subject \"alpha\" (1,000 hits), page 1",
            query(SearchField::Subject, "alpha"),
            1,
        ),
        (
            "Imap::search subject \"alpha\", page 20",
            query(SearchField::Subject, "alpha"),
            20,
        ),
        (
            "Imap::search body \"omega\" (1,429 hits), page 1",
            query(SearchField::Body, "omega"),
            1,
        ),
        (
            "Imap::search subject \"季度报告\" (100 hits), page 1",
            query(SearchField::Subject, "季度报告"),
            1,
        ),
        (
            "Imap::search body \"项目进度\" (200 hits), page 1",
            query(SearchField::Body, "项目进度"),
            1,
        ),
    ] {
        let (imap, a) = (&imap, &a);
        let row = measure(name, &counters, || {
            let q = q.clone();
            async move {
                let p = imap.search(a, "INBOX", &q, &page(n)).await.expect("search");
                assert_eq!(p.messages.len(), 50);
            }
        })
        .await;
        rows.push(row);
    }
    {
        let (imap, a, folders) = (&imap, &a, &folders);
        let q = query(SearchField::Subject, "alpha");
        let name = format!(
            "Imap::search_all subject \"alpha\" ({} folders), page 1",
            folders.len()
        );
        rows.push(
            measure(&name, &counters, || {
                let q = q.clone();
                async move {
                    let r = imap
                        .search_all(a, folders, &q, 1, 50)
                        .await
                        .expect("search_all");
                    assert_eq!((r.total, r.hits.len()), (1100, 50));
                }
            })
            .await,
        );
    }

    // The whole web path, through the same proxy.
    let web = Web::start_logged_in(proxy, &user.address, &user.password, |_| {}).await;
    for (name, path) in [
        (
            "GET /mail/INBOX?q=alpha (default: subject/from/to)",
            "/mail/INBOX?q=alpha",
        ),
        (
            "GET /mail/INBOX?q=alpha&field=all (message text too)",
            "/mail/INBOX?q=alpha&field=all",
        ),
        (
            "GET /mail/INBOX?q=alpha&field=subject",
            "/mail/INBOX?q=alpha&field=subject",
        ),
        (
            "GET /mail/INBOX?q=omega&field=body",
            "/mail/INBOX?q=omega&field=body",
        ),
        (
            "GET /mail/INBOX?q=alpha&all_folders=1",
            "/mail/INBOX?q=alpha&field=subject&all_folders=1",
        ),
        ("GET /mail/INBOX (no search, for comparison)", "/mail/INBOX"),
    ] {
        let url = format!("{}{path}", web.base);
        let client = &web.client;
        rows.push(
            measure(name, &counters, || {
                let url = url.clone();
                async move {
                    let r = client.get(&url).send().await.expect("GET");
                    assert!(r.status().is_success(), "{url}: {}", r.status());
                    let _ = r.bytes().await.expect("body");
                }
            })
            .await,
        );
    }

    // The raw floor: the same commands on one logged-in connection, nothing else.
    let mut raw = Raw::login(proxy, &user).await;
    for (name, key) in [
        (
            "floor: EXAMINE + UID SORT PARTIAL + FETCH (subject alpha)",
            "SUBJECT \"alpha\"",
        ),
        (
            "floor: same, subject or from alpha (Roundcube's default)",
            "OR SUBJECT \"alpha\" FROM \"alpha\"",
        ),
        (
            "floor: same, subject/from/to alpha (our default)",
            "OR OR SUBJECT \"alpha\" FROM \"alpha\" TO \"alpha\"",
        ),
        (
            "floor: same, subject/from/to/cc alpha (Cc too)",
            "OR OR OR SUBJECT \"alpha\" FROM \"alpha\" TO \"alpha\" CC \"alpha\"",
        ),
        (
            "floor: EXAMINE + UID SORT PARTIAL + FETCH (body omega)",
            "BODY \"omega\"",
        ),
        (
            "floor: same, subject 季度报告 (LITERAL+)",
            "SUBJECT {12+}\r\n季度报告",
        ),
    ] {
        let raw = &mut raw;
        let key = key.to_owned();
        let mut times = Vec::new();
        let mut rts = 0;
        for i in 0..WARMUP + RUNS {
            let before = counters.round_trips();
            let t = Instant::now();
            raw.run(&["EXAMINE INBOX".into()]).await;
            let lines = raw
                .run(&[format!(
                    "UID SORT RETURN (PARTIAL 1:50 COUNT) (REVERSE DATE) UTF-8 {key}"
                )])
                .await;
            raw.run(&[format!("UID FETCH {} {SUMMARY}", partial_uids(&lines))])
                .await;
            if i >= WARMUP {
                times.push(t.elapsed());
                rts = counters.round_trips() - before;
            }
        }
        rows.push(Row {
            name: name.into(),
            times,
            round_trips: rts,
        });
    }
    {
        let mut times = Vec::new();
        let mut rts = 0;
        for i in 0..WARMUP + RUNS {
            let before = counters.round_trips();
            let t = Instant::now();
            let commands: Vec<String> = folders
                .iter()
                .flat_map(|f| {
                    [
                        format!("EXAMINE \"{f}\""),
                        "UID SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT \"alpha\"".into(),
                    ]
                })
                .collect();
            raw.run(&commands).await;
            raw.run(&["EXAMINE INBOX".into()]).await;
            let lines = raw
                .run(&[
                    "UID SORT RETURN (PARTIAL 1:50) (REVERSE DATE) UTF-8 SUBJECT \"alpha\"".into(),
                ])
                .await;
            raw.run(&[format!("UID FETCH {} {SUMMARY}", partial_uids(&lines))])
                .await;
            if i >= WARMUP {
                times.push(t.elapsed());
                rts = counters.round_trips() - before;
            }
        }
        rows.push(Row {
            name: format!(
                "floor: {} folders' counts pipelined + INBOX page",
                folders.len()
            ),
            times,
            round_trips: rts,
        });
    }

    println!("\n{RUNS} runs after {WARMUP} warm-up; milliseconds; round trips of one run");
    println!("{:<62} {:>8} {:>8} {:>5}", "", "median", "p90", "RTs");
    for r in &rows {
        r.print();
    }
}
