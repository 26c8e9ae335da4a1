//! A loopback relay in front of Dovecot's plain IMAP port that writes down every command
//! line Mailroom sends (per connection, whole lines only), so a test can assert on how much
//! work one page costs the mail server, and keeps the raw bytes too, to prove what did or
//! did not reach the server.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{
    app::TestApp,
    mailstack::{MailStack, TestUser},
};

/// The relay and its log: `(connection number, command line without its tag)`.
pub struct CommandLog {
    pub port: u16,
    lines: Arc<Mutex<Vec<(usize, String)>>>,
    /// Connections open through the relay right now.
    open: Arc<std::sync::atomic::AtomicUsize>,
    /// Every byte sent, all connections together.
    raw: Arc<Mutex<Vec<u8>>>,
}

impl CommandLog {
    /// Starts a relay to `stack`'s plain IMAP port.
    pub async fn start(stack: &MailStack) -> CommandLog {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("relay addr").port();
        let (lines, raw) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let target = stack.imap_port;
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (log, bytes, counter) = (Arc::clone(&lines), Arc::clone(&raw), Arc::clone(&open));
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((client, _)) = listener.accept().await {
                n += 1;
                let (log, bytes, conn) = (Arc::clone(&log), Arc::clone(&bytes), n);
                let open = OpenGuard::new(&counter);
                tokio::spawn(async move {
                    let _open = open;
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let (mut buf, mut pending) = (vec![0u8; 16 * 1024], Vec::new());
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            bytes.lock().expect("log").extend_from_slice(&buf[..n]);
                            pending.extend_from_slice(&buf[..n]);
                            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                                let line: Vec<u8> = pending.drain(..=end).collect();
                                let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                                // Drop the tag: "A12 UID FETCH …" → "UID FETCH …".
                                let cmd = line.split_once(' ').map_or(line.as_str(), |(_, c)| c);
                                log.lock().expect("log").push((conn, cmd.to_owned()));
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        CommandLog {
            port,
            lines,
            open,
            raw,
        }
    }

    /// How many connections are open through the relay right now (a connection counts
    /// until both directions have ended).
    pub fn open_now(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many lines were logged so far: a mark for [`CommandLog::since`].
    pub fn mark(&self) -> usize {
        self.lines.lock().expect("log").len()
    }

    /// The command lines sent since `mark`.
    pub fn since(&self, mark: usize) -> Vec<String> {
        let lines = self.lines.lock().expect("log");
        lines[mark.min(lines.len())..]
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The command lines sent since `mark` on connections other than a watcher's (those
    /// that have sent NOTIFY or IDLE at any time): what pages asked, without the
    /// watcher's IDLE/DONE turns or its start, which may fall anywhere in between.
    pub fn page_lines_since(&self, mark: usize) -> Vec<String> {
        let lines = self.lines.lock().expect("log");
        let watchers: Vec<usize> = lines
            .iter()
            .filter(|(_, l)| starts_with(l, "NOTIFY") || starts_with(l, "IDLE"))
            .map(|(c, _)| *c)
            .collect();
        lines[mark.min(lines.len())..]
            .iter()
            .filter(|(c, _)| !watchers.contains(c))
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// How many connections have sent at least one command so far.
    pub fn connections(&self) -> usize {
        let lines = self.lines.lock().expect("log");
        let mut seen: Vec<usize> = lines.iter().map(|(c, _)| *c).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Each connection's first commands (after LOGIN), one line per connection: what a
    /// failed connection count prints, to tell the pool's, the logins' and the watcher's
    /// connections apart.
    pub fn connection_summary(&self) -> String {
        let lines = self.lines.lock().expect("log");
        let mut by_conn: Vec<(usize, Vec<&str>)> = Vec::new();
        for (c, l) in lines.iter() {
            match by_conn.iter_mut().find(|(n, _)| n == c) {
                Some((_, cmds)) => cmds.push(l),
                None => by_conn.push((*c, vec![l])),
            }
        }
        by_conn
            .iter()
            .map(|(c, cmds)| {
                let first: Vec<&str> = cmds
                    .iter()
                    .filter(|l| !starts_with(l, "LOGIN"))
                    .take(4)
                    .map(|l| l.get(..40).unwrap_or(l))
                    .collect();
                format!("#{c} ({} commands): {}", cmds.len(), first.join(" | "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything sent so far, as text (lossy), every connection's bytes in arrival order.
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().expect("log")).into_owned()
    }

    /// An app for `user` on the shared stack that reaches IMAP through this relay.
    pub async fn app(&self, user: TestUser) -> TestApp {
        self.app_with(user, |_| {}).await
    }

    /// [`CommandLog::app`] with more configuration.
    pub async fn app_with(
        &self,
        user: TestUser,
        tweak: impl FnOnce(&mut mailroom::config::Config),
    ) -> TestApp {
        let port = self.port;
        TestApp::spawn_with(MailStack::shared(), user, move |c| {
            c.imap = mailroom::config::Endpoint {
                host: "127.0.0.1".into(),
                port,
                security: mailroom::config::Security::None,
                ca_file: None,
            };
            tweak(c);
        })
        .await
    }
}

/// Counts a relayed connection as open until dropped.
struct OpenGuard(Arc<std::sync::atomic::AtomicUsize>);

impl OpenGuard {
    fn new(counter: &Arc<std::sync::atomic::AtomicUsize>) -> OpenGuard {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        OpenGuard(Arc::clone(counter))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Lines whose command starts with `verb` (case-insensitive, e.g. `"SELECT"`,
/// `"UID SEARCH"`).
pub fn count(lines: &[String], verb: &str) -> usize {
    lines.iter().filter(|l| starts_with(l, verb)).count()
}

/// Whether `line` starts with `verb`, ignoring case.
pub fn starts_with(line: &str, verb: &str) -> bool {
    line.len() >= verb.len() && line[..verb.len()].eq_ignore_ascii_case(verb)
}
