//! What the benches share; each includes it with `mod common;` (cargo takes only
//! `benches/*.rs` and `benches/*/main.rs` for bench targets, so this is not one):
//! - [`Web`]: Mailroom in-process on a free port with a temporary data directory, and a
//!   client logged in to it;
//! - [`stats`]: median and p90 of timings;
//! - [`counting_proxy`]: a loopback TCP relay that counts IMAP round trips and commands.

// Each bench uses a different part.
#![allow(dead_code)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use mailroom::{
    app::App,
    config::{Config, Security},
};
use tempfile::TempDir;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Median and p90 of `v`, in milliseconds.
pub fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 9) / 10]))
}

/// Median and p90 of `f` over `runs` runs, after `warmup` untimed ones.
pub async fn time<F, Fut>(warmup: usize, runs: usize, mut f: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        f().await;
    }
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = std::time::Instant::now();
        f().await;
        v.push(t.elapsed());
    }
    stats(v)
}

/// Mailroom running in-process, and an HTTP client for it.
pub struct Web {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Keeps cookies and follows no redirects, like the tests' browser.
    pub client: reqwest::Client,
    /// The app's data directory (and SQLite database), deleted on drop; `None` for a
    /// server this process did not start.
    _data: Option<TempDir>,
}

impl Web {
    /// Starts Mailroom on 127.0.0.1 port 0 with a temporary data directory, talking plain
    /// IMAP to 127.0.0.1:`imap_port`; `configure` may change the config further first.
    pub async fn start(imap_port: u16, configure: impl FnOnce(&mut Config)) -> Web {
        let data = tempfile::tempdir().expect("tempdir");
        let mut config = Config::load_from(None, |_| None).expect("config");
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.data_dir = data.path().to_owned();
        config.database_url = format!("sqlite://{}?mode=rwc", data.path().join("b.db").display());
        config.imap.host = "127.0.0.1".into();
        config.imap.port = imap_port;
        config.imap.security = Security::None;
        configure(&mut config);
        let app = App::build(config).await.expect("app");
        let base = format!("http://{}", app.address());
        tokio::spawn(app.run());
        Web {
            base,
            client: browser(),
            _data: Some(data),
        }
    }

    /// A client of its own for a Mailroom already running at `base` (`http://host:port`).
    pub fn external(base: &str) -> Web {
        Web {
            base: base.to_owned(),
            client: browser(),
            _data: None,
        }
    }

    /// [`Web::start`], then [`Web::login`].
    pub async fn start_logged_in(
        imap_port: u16,
        username: &str,
        password: &str,
        configure: impl FnOnce(&mut Config),
    ) -> Web {
        let web = Web::start(imap_port, configure).await;
        web.login(username, password).await;
        web
    }

    /// Logs in through the login form (panics unless the answer is a 303).
    pub async fn login(&self, username: &str, password: &str) {
        let login_page = self.page("/login", "login page").await;
        let token = csrf_token(&login_page).expect("csrf token");
        let res = self
            .client
            .post(format!("{}/login", self.base))
            .header("origin", &self.base)
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 303, "login failed");
    }

    /// A GET of `path` that must succeed; the body is read and dropped. Owns what it
    /// needs, so several can run side by side (a page and its body document).
    pub fn get_ok(&self, path: &str) -> impl std::future::Future<Output = ()> + use<> {
        let (client, url) = (self.client.clone(), format!("{}{path}", self.base));
        async move {
            let r = client.get(&url).send().await.expect("GET");
            assert!(r.status().is_success(), "{url}: {}", r.status());
            let _ = r.bytes().await.expect("body");
        }
    }

    /// The text of the page at `path`; `what` names it in the panic if the request fails.
    pub async fn page(&self, path: &str, what: &str) -> String {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect(what)
            .text()
            .await
            .expect("text")
    }
}

/// An HTTP client that keeps cookies, follows no redirects and asks for compressed
/// answers as Chromium does (decoding them, as a browser must).
fn browser() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    for (k, v) in [
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-language", "en-US,en;q=0.9"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
    ] {
        h.insert(k, reqwest::header::HeaderValue::from_static(v));
    }
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(h)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .build()
        .expect("client")
}

/// A plain-text message of the benches' 10,000-message INBOX, number `i`.
pub fn bench_message(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {s} <s{s}@example.test>\r\nTo: bench@example.test\r\nSubject: Bench message {i}\r\n\
         Date: Mon, 01 Jun 2026 12:00:00 +0000\r\nMessage-ID: <b{i}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello number {i}.\r\n",
        s = i % 97
    )
    .into_bytes()
}

/// The raw floor of a list page on a logged-in connection: SELECT INBOX, then FETCH its
/// newest 50 summaries (what the list page shows).
pub async fn select_and_fetch_50(s: &mut async_imap::Session<TcpStream>) {
    use futures::TryStreamExt;
    let mb = s.select("INBOX").await.expect("select");
    let end = mb.exists;
    let range = format!("{}:{}", end.saturating_sub(49).max(1), end);
    let _: Vec<_> = s
        .fetch(
            range,
            "(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE)",
        )
        .await
        .expect("fetch")
        .try_collect()
        .await
        .expect("collect");
}

/// The value of the first `csrf_token` form field on `page`.
pub fn csrf_token(page: &str) -> Option<String> {
    page.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(str::to_owned)
}

/// Counts what crosses a [`counting_proxy`].
#[derive(Default)]
pub struct Counters {
    /// Client bursts after the server spoke: round trips.
    pub round_trips: AtomicU64,
    /// CRLF-terminated client lines: commands (when no literals are sent).
    pub commands: AtomicU64,
}

impl Counters {
    /// (round trips, commands) so far.
    pub fn snapshot(&self) -> (u64, u64) {
        (self.round_trips(), self.commands.load(Ordering::SeqCst))
    }

    /// Round trips so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
    }
}

/// A TCP proxy on loopback to 127.0.0.1:`upstream` that counts round trips and commands
/// into `counters`; returns its port.
///
/// A round trip is a burst of client bytes after the server last spoke, so pipelined
/// commands count once.
pub async fn counting_proxy(upstream: u16, counters: Arc<Counters>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counters = counters.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                // Set when the server has sent something since the client last wrote.
                let server_spoke = Arc::new(AtomicBool::new(true));
                let spoke = server_spoke.clone();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = cr.read(&mut buf).await {
                        if server_spoke.swap(false, Ordering::SeqCst) {
                            counters.round_trips.fetch_add(1, Ordering::SeqCst);
                        }
                        let lines = buf[..n].windows(2).filter(|w| w == b"\r\n").count();
                        counters.commands.fetch_add(lines as u64, Ordering::SeqCst);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = sr.read(&mut buf).await {
                        spoke.store(true, Ordering::SeqCst);
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    port
}
