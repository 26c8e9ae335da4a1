//! A real Dovecot + Postfix on 127.0.0.1 for the integration tests, driven by
//! `scripts/mailstack` (which holds all the server configuration).
//!
//! Tests run in parallel threads, each with its own tokio runtime, so everything here that
//! starts or stops servers is synchronous, and every async helper opens its own connection
//! instead of sharing one across runtimes.
//!
//! - [`MailStack::shared`]: one stack per test process; use it unless a test stops servers.
//!   A watchdog started by the script stops it and deletes its directory once this process
//!   has exited, so nothing leaks even though statics are never dropped.
//! - [`MailStack::start_private`]: a stack of one's own, stopped on drop, for tests that
//!   restart or stop a server.
//!
//! - [`MailStack::cyrus`]: a second IMAP server, Cyrus IMAP 3.6 (driven by
//!   `scripts/mailstack-cyrus`, unpacked by `scripts/install-cyrus`), one per test process.
//!   IMAP only (no SMTP: seed with APPEND), and Debian's default namespace: personal
//!   folders are `INBOX.`-prefixed with `.` as separator (see [`MailStack::folder`]).
//!
//! - [`MailStack::fts`]: Dovecot + Postfix like the shared stack, but Dovecot keeps a
//!   full-text index (`fts` + `fts_xapian`, `MAILSTACK_FTS=xapian` in `scripts/mailstack`),
//!   so searches in the message text take the indexed path; one per test process.
//!
//! Each test should create its own users with [`MailStack::add_user`], so tests sharing a
//! stack never see each other's mail.

// Each test binary (and the read_path bench, which includes this file) uses a different part.
#![allow(dead_code)]

use std::{
    collections::HashSet,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use rand::{Rng, distributions::Alphanumeric};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// A logged-in IMAP session over plain TCP on loopback.
pub type ImapSession = async_imap::Session<TcpStream>;

/// A running Dovecot + Postfix pair and where to reach it. All ports are on 127.0.0.1.
#[derive(Debug)]
pub struct MailStack {
    /// The state directory: configs, logs, mail, certificates.
    pub dir: PathBuf,
    /// Plain IMAP; STARTTLS is offered.
    pub imap_port: u16,
    /// IMAP with implicit TLS.
    pub imaps_port: u16,
    /// Postfix submission: STARTTLS offered, AUTH required (also without TLS).
    pub submission_port: u16,
    /// Postfix inbound SMTP: no AUTH; mail for example.test is delivered, other domains dropped.
    pub smtp_port: u16,
    /// ManageSieve (RFC 5804): STARTTLS offered, AUTHENTICATE PLAIN also without TLS.
    /// Delivery runs each user's active Sieve script. 0 on Cyrus.
    pub sieve_port: u16,
    /// Plain POP3 (STLS offered, USER/PASS and AUTH PLAIN also without TLS). 0 on Cyrus.
    pub pop3_port: u16,
    /// The CA that signed the servers' certificate (valid for 127.0.0.1, localhost and
    /// mail.example.test); clients must trust this file.
    pub ca_file: PathBuf,
    /// Private stacks stop on drop; the shared one is left to the watchdog, because statics
    /// are never dropped.
    private: bool,
    /// Which IMAP server this is.
    pub server: Server,
    /// Deletes a private stack's directory on drop (None when MAILSTACK_KEEP is set, or for
    /// the shared stack, whose directory the watchdog deletes).
    _tempdir: Option<tempfile::TempDir>,
}

/// The IMAP server of a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// Dovecot 2.3 with Postfix: personal namespace `""`, separator `/`.
    Dovecot,
    /// Cyrus IMAP 3.6 alone: personal namespace `INBOX.`, separator `.`.
    Cyrus,
}

/// A mailbox account on a stack.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub address: String,
    pub password: String,
}

/// Makes every address unique within the process; the pid makes it unique across processes.
static USER_COUNTER: AtomicU64 = AtomicU64::new(1);

/// Ports handed out by this process, so two stacks started at once never pick the same one.
static PORTS_TAKEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

impl MailStack {
    /// One stack per test process, started on first use.
    pub fn shared() -> &'static MailStack {
        static SHARED: OnceLock<MailStack> = OnceLock::new();
        SHARED.get_or_init(|| {
            let stack = Self::start(false);
            eprintln!("mailstack: shared stack in {}", stack.dir.display());
            stack
        })
    }

    /// A stack of one's own for tests that restart or stop servers; stopped (and its
    /// directory deleted) when dropped.
    pub fn start_private() -> MailStack {
        Self::start(true)
    }

    /// One Dovecot + Postfix with a full-text index per test process, started on first use
    /// (see the module doc).
    pub fn fts() -> &'static MailStack {
        static FTS: OnceLock<MailStack> = OnceLock::new();
        FTS.get_or_init(|| {
            let stack = Self::start_with(false, Some("xapian"));
            eprintln!("mailstack: full-text stack in {}", stack.dir.display());
            stack
        })
    }

    /// [`MailStack::start_private`] with a full-text index (`fts`: `MAILSTACK_FTS`'s value,
    /// e.g. `xapian`), for benchmarks that compare both.
    pub fn start_private_fts(fts: &str) -> MailStack {
        Self::start_with(true, Some(fts))
    }

    /// One Cyrus IMAP server per test process, started on first use (see the module doc).
    /// Its `submission_port` and `smtp_port` are 0: there is no SMTP.
    pub fn cyrus() -> &'static MailStack {
        static CYRUS: OnceLock<MailStack> = OnceLock::new();
        CYRUS.get_or_init(|| {
            let stack = Self::start_cyrus();
            eprintln!("mailstack: Cyrus stack in {}", stack.dir.display());
            stack
        })
    }

    fn start_cyrus() -> MailStack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = std::env::var_os("MAILSTACK_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let tempdir = tempfile::Builder::new()
            .prefix("mailstack-cyrus-")
            .tempdir_in(&base)
            .unwrap_or_else(|e| panic!("cannot create a temp dir in {}: {e}", base.display()));
        let dir = tempdir.path().to_owned();
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let ports = pick_free_ports(2);
            let mut cmd = Server::Cyrus.script();
            cmd.arg("up")
                .arg(&dir)
                .env("MAILSTACK_IMAP_PORT", ports[0].to_string())
                .env("MAILSTACK_IMAPS_PORT", ports[1].to_string())
                .env("MAILSTACK_OWNER_PID", std::process::id().to_string())
                .env(
                    "MAILSTACK_REMOVE_DIR_ON_EXIT",
                    if std::env::var_os("MAILSTACK_KEEP").is_some() {
                        "0"
                    } else {
                        "1"
                    },
                );
            match run(cmd) {
                Ok(_) => {
                    // The watchdog deletes the directory once this process is gone.
                    let _ = tempdir.keep();
                    return MailStack {
                        ca_file: dir.join("ca.pem"),
                        dir,
                        imap_port: ports[0],
                        imaps_port: ports[1],
                        submission_port: 0,
                        smtp_port: 0,
                        sieve_port: 0,
                        pop3_port: 0,
                        private: false,
                        server: Server::Cyrus,
                        _tempdir: None,
                    };
                }
                Err(e) if e.contains("Address already in use") => last_error = e,
                Err(e) => panic!("scripts/mailstack-cyrus up failed:\n{e}"),
            }
        }
        panic!("scripts/mailstack-cyrus up kept finding its ports taken:\n{last_error}");
    }

    /// The server's full name of a personal folder given as `/`-separated levels:
    /// `Projects/2026` is itself on Dovecot and `INBOX.Projects.2026` on Cyrus; `INBOX`
    /// is `INBOX` everywhere.
    pub fn folder(&self, levels: &str) -> String {
        match self.server {
            Server::Dovecot => levels.to_owned(),
            Server::Cyrus if levels.eq_ignore_ascii_case("INBOX") => "INBOX".to_owned(),
            Server::Cyrus => format!("INBOX.{}", levels.replace('/', ".")),
        }
    }

    fn start(private: bool) -> MailStack {
        Self::start_with(private, None)
    }

    /// `fts`: the full-text index backend (`MAILSTACK_FTS`), or none.
    fn start_with(private: bool, fts: Option<&str>) -> MailStack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        for bin in ["/usr/sbin/dovecot", "/usr/sbin/postfix", "/usr/bin/doveadm"] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: run scripts/install-deps (as root) to install Dovecot and Postfix"
            );
        }
        // The daemons' users must be able to traverse every parent directory, so /tmp rather
        // than a TMPDIR that might sit under a private home directory.
        let base = std::env::var_os("MAILSTACK_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let tempdir = tempfile::Builder::new()
            .prefix("mailstack-")
            .tempdir_in(&base)
            .unwrap_or_else(|e| panic!("cannot create a temp dir in {}: {e}", base.display()));
        let dir = tempdir.path().to_owned();

        // A port picked as free can be taken by someone else before the daemons bind it; then
        // `up` fails with "Address already in use" and we try other ports.
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let ports = pick_free_ports(6);
            let mut cmd = script();
            cmd.arg("up")
                .arg(&dir)
                .env("MAILSTACK_IMAP_PORT", ports[0].to_string())
                .env("MAILSTACK_IMAPS_PORT", ports[1].to_string())
                .env("MAILSTACK_SUBMISSION_PORT", ports[2].to_string())
                .env("MAILSTACK_SMTP_PORT", ports[3].to_string())
                .env("MAILSTACK_SIEVE_PORT", ports[4].to_string())
                .env("MAILSTACK_POP3_PORT", ports[5].to_string())
                .env("MAILSTACK_FTS", fts.unwrap_or(""))
                .env("MAILSTACK_OWNER_PID", std::process::id().to_string())
                // MAILSTACK_KEEP=1 keeps the state dir (logs, mail) for a post-mortem.
                .env(
                    "MAILSTACK_REMOVE_DIR_ON_EXIT",
                    if std::env::var_os("MAILSTACK_KEEP").is_some() {
                        "0"
                    } else {
                        "1"
                    },
                );
            match run(cmd) {
                Ok(_) => {
                    let keep = !private || std::env::var_os("MAILSTACK_KEEP").is_some();
                    return MailStack {
                        ca_file: dir.join("ca.pem"),
                        dir,
                        imap_port: ports[0],
                        imaps_port: ports[1],
                        submission_port: ports[2],
                        smtp_port: ports[3],
                        sieve_port: ports[4],
                        pop3_port: ports[5],
                        private,
                        server: Server::Dovecot,
                        _tempdir: if keep {
                            let _ = tempdir.keep();
                            None
                        } else {
                            Some(tempdir)
                        },
                    };
                }
                Err(e) if e.contains("Address already in use") => last_error = e,
                Err(e) => panic!("scripts/mailstack up failed:\n{e}"),
            }
        }
        panic!("scripts/mailstack up kept finding its ports taken:\n{last_error}");
    }

    /// Stops Dovecot and starts it again on the same ports; open IMAP connections are cut.
    pub fn restart_imap(&self) {
        self.script_cmd("restart-imap");
    }

    /// Stops only Dovecot (IMAP and LMTP delivery).
    pub fn stop_imap(&self) {
        self.script_cmd("stop-imap");
    }

    /// Starts Dovecot again after [`MailStack::stop_imap`].
    pub fn start_imap(&self) {
        self.script_cmd("start-imap");
    }

    /// Stops only Postfix, so both SMTP ports refuse connections.
    pub fn stop_smtp(&self) {
        self.script_cmd("stop-smtp");
    }

    /// Starts Postfix again after [`MailStack::stop_smtp`].
    pub fn start_smtp(&self) {
        self.script_cmd("start-smtp");
    }

    fn script_cmd(&self, verb: &str) {
        let mut cmd = self.server.script();
        cmd.arg(verb).arg(&self.dir);
        if let Err(e) = run(cmd) {
            panic!("scripts/mailstack {verb} failed:\n{e}");
        }
    }

    /// A fresh user `{prefix}-{n}-{pid}@example.test` with a random password, usable as soon
    /// as this returns (the script waits until Dovecot sees it).
    pub fn add_user(&self, prefix: &str) -> TestUser {
        let prefix: String = prefix
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| {
                // '.' is Cyrus's hierarchy separator: not in its login names.
                let dot = c == '.' && self.server == Server::Dovecot;
                if c.is_ascii_alphanumeric() || dot || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let n = USER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let address = format!("{prefix}-{n}-{}@example.test", std::process::id());
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        let mut cmd = self.server.script();
        cmd.arg("adduser")
            .arg(&self.dir)
            .arg(&address)
            .arg(&password);
        if let Err(e) = run(cmd) {
            panic!("scripts/mailstack adduser {address} failed:\n{e}");
        }
        TestUser { address, password }
    }

    /// A logged-in session over plain TCP, for seeding and for checking server state.
    pub async fn imap(&self, user: &TestUser) -> ImapSession {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap_or_else(|e| panic!("connect to IMAP port {}: {e}", self.imap_port));
        let mut client = async_imap::Client::new(tcp);
        client
            .read_response()
            .await
            .expect("reading the IMAP greeting")
            .expect("IMAP server closed the connection before its greeting");
        client
            .login(&user.address, &user.password)
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("IMAP LOGIN as {} failed: {e}", user.address))
    }

    /// APPENDs one message. `mailbox` is the UTF-8 name (encoded to modified UTF-7 here);
    /// `flags` are like `["\\Seen", "\\Flagged"]`.
    pub async fn append(&self, user: &TestUser, mailbox: &str, eml: &[u8], flags: &[&str]) {
        let mut session = self.imap(user).await;
        let flags = flag_list(flags);
        session
            .append(
                imap_utf7(mailbox),
                (!flags.is_empty()).then_some(flags.as_str()),
                None,
                eml,
            )
            .await
            .unwrap_or_else(|e| panic!("APPEND to {mailbox:?} as {}: {e}", user.address));
        let _ = session.logout().await;
    }

    /// Bulk seeding: MULTIAPPEND with LITERAL+ literals, about a thousand messages per round
    /// trip (10,000 messages take a few seconds). Messages get no flags.
    pub async fn append_many(&self, user: &TestUser, mailbox: &str, emls: &[Vec<u8>]) {
        if emls.is_empty() {
            return;
        }
        let mut conn = RawImap::login(self.imap_port, user).await;
        let mailbox_arg = quoted(&imap_utf7(mailbox));
        // Bound each command by count and size so a rejected batch names a sane range.
        const MAX_MESSAGES: usize = 1000;
        const MAX_BYTES: usize = 32 << 20;
        let mut start = 0;
        while start < emls.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < emls.len()
                && end - start < MAX_MESSAGES
                && (bytes < MAX_BYTES || end == start)
            {
                bytes += emls[end].len();
                end += 1;
            }
            let mut command = Vec::with_capacity(bytes + 32 * (end - start) + 64);
            let tag = conn.next_tag();
            command.extend_from_slice(format!("{tag} APPEND {mailbox_arg}").as_bytes());
            for eml in &emls[start..end] {
                command.extend_from_slice(format!(" {{{}+}}\r\n", eml.len()).as_bytes());
                command.extend_from_slice(eml);
            }
            command.extend_from_slice(b"\r\n");
            if let Err(e) = conn.command(&tag, &command).await {
                panic!(
                    "MULTIAPPEND of messages {start}..{end} to {mailbox:?} as {}: {e}",
                    user.address
                );
            }
            start = end;
        }
        conn.logout().await;
    }

    /// The user's first session, as a mail client's first visit would: a LIST with
    /// STATUS, which makes Dovecot create its `auto` folders. Needed before many
    /// connections of a new user list folders at once: Dovecot 2.3 processes creating
    /// them concurrently can deadlock on the folder-list index lock, and the losing
    /// process panics ("locking failed: Resource deadlock avoided"), dropping its client.
    pub async fn first_use(&self, user: &TestUser) {
        let mut session = self.imap(user).await;
        session
            .run_command_and_check_ok("LIST \"\" \"*\" RETURN (STATUS (MESSAGES))")
            .await
            .unwrap_or_else(|e| panic!("LIST-STATUS as {}: {e}", user.address));
        let _ = session.logout().await;
    }

    /// Creates and subscribes to a folder (UTF-8 name; `/` separates levels).
    pub async fn create_mailbox(&self, user: &TestUser, name: &str) {
        let mut session = self.imap(user).await;
        let encoded = imap_utf7(name);
        session
            .create(&encoded)
            .await
            .unwrap_or_else(|e| panic!("CREATE {name:?} as {}: {e}", user.address));
        session
            .subscribe(&encoded)
            .await
            .unwrap_or_else(|e| panic!("SUBSCRIBE {name:?} as {}: {e}", user.address));
        let _ = session.logout().await;
    }

    /// Another client changes flags: `UID STORE uid_set change` (e.g. `+FLAGS (\Seen)`)
    /// in `mailbox`, on a connection of its own.
    pub async fn store(&self, user: &TestUser, mailbox: &str, uid_set: &str, change: &str) {
        let mut s = self.imap(user).await;
        s.select(imap_utf7(mailbox)).await.expect("SELECT");
        store_on(&mut s, uid_set, change).await;
        let _ = s.logout().await;
    }

    /// Another client deletes messages for good: `\Deleted` on `uid_set` (an IMAP UID
    /// set: `3`, `1,5:7`), then EXPUNGE.
    pub async fn expunge(&self, user: &TestUser, mailbox: &str, uid_set: &str) {
        let mut s = self.imap(user).await;
        s.select(imap_utf7(mailbox)).await.expect("SELECT");
        store_on(&mut s, uid_set, "+FLAGS (\\Deleted)").await;
        let _: Vec<_> = s
            .expunge()
            .await
            .expect("EXPUNGE")
            .try_collect()
            .await
            .expect("EXPUNGE responses");
        let _ = s.logout().await;
    }

    /// Number of messages in a mailbox, by EXAMINE. Not STATUS: Dovecot 2.3 answers STATUS
    /// from its mailbox list index, which two deliveries saving into one folder at the same
    /// moment can leave a message behind until the folder is opened (seen: Sieve logged two
    /// `fileinto` into "Big", STATUS said 1 for 15 s). A new user's first STATUS/EXAMINE
    /// can also race Dovecot's INBOX autocreate ("[ALREADYEXISTS]"): asked again once.
    pub async fn count(&self, user: &TestUser, mailbox: &str) -> u32 {
        let mut session = self.imap(user).await;
        let mut examined = session.examine(imap_utf7(mailbox)).await;
        if matches!(&examined, Err(e) if e.to_string().contains("ALREADYEXISTS")) {
            examined = session.examine(imap_utf7(mailbox)).await;
        }
        let mbox =
            examined.unwrap_or_else(|e| panic!("EXAMINE {mailbox:?} as {}: {e}", user.address));
        let _ = session.logout().await;
        mbox.exists
    }

    /// Polls until `mailbox` holds at least `n` messages (deliveries are asynchronous:
    /// Postfix queues, then hands over by LMTP); panics after `timeout`.
    pub async fn wait_for_count(&self, user: &TestUser, mailbox: &str, n: u32, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.count(user, mailbox).await;
            if have >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{mailbox:?} of {} has {have} messages, expected {n} within {timeout:?}; \
                 what the logs say of them (the stack's directory is gone after the run):\n\
                 Postfix:\n{}\nDovecot:\n{}",
                user.address,
                log_lines(&self.postfix_log(), &user.address),
                log_lines(&self.dovecot_log(), &user.address),
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Hands a message to Postfix on the plain SMTP port, the way another server would
    /// deliver inbound mail. Returns once Postfix has queued it (delivery follows shortly;
    /// see [`MailStack::wait_for_count`]).
    pub async fn deliver(&self, from: &str, to: &[&str], eml: &[u8]) {
        if let Err(e) = smtp_send(self.smtp_port, from, to, eml).await {
            panic!("SMTP delivery from {from} to {to:?}: {e}");
        }
    }

    /// A rustls client config that trusts only this stack's CA.
    pub fn rustls_config(&self) -> Arc<rustls::ClientConfig> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pem = std::fs::read(&self.ca_file)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.ca_file.display()));
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots
                .add(cert.expect("parse ca.pem"))
                .expect("add ca.pem to the root store");
        }
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// Postfix's log, for asserting on what Postfix saw (DSN parameters, relays...).
    pub fn postfix_log(&self) -> PathBuf {
        self.dir.join("log/postfix.log")
    }

    /// Dovecot's log (logins, LMTP deliveries, errors).
    pub fn dovecot_log(&self) -> PathBuf {
        self.dir.join("log/dovecot.log")
    }
}

/// The last lines of the log at `path` that mention `needle`, and the queue IDs and
/// processes they name: what a failed delivery leaves for the test's panic message.
fn log_lines(path: &Path, needle: &str) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("({} unreadable)", path.display());
    };
    // Postfix names a message by its queue ID on every line after the first that
    // names the recipient: follow those too.
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.split(": ").nth(1))
        .filter(|id| id.len() >= 8 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(needle) || ids.iter().any(|id| l.contains(id)))
        .collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Drop for MailStack {
    fn drop(&mut self) {
        if self.private {
            let mut cmd = self.server.script();
            cmd.arg("down").arg(&self.dir);
            if let Err(e) = run(cmd) {
                eprintln!("scripts/mailstack down failed (the watchdog will retry): {e}");
            }
        }
    }
}

impl Server {
    /// The script that drives this server.
    fn script(self) -> Command {
        match self {
            Server::Dovecot => script(),
            Server::Cyrus => {
                let mut cmd = Command::new(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack-cyrus"),
                );
                cmd.stdin(std::process::Stdio::null());
                cmd
            }
        }
    }
}

fn script() -> Command {
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack"));
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// Runs a script command; on failure returns its stderr and stdout for the panic message.
pub fn run(mut cmd: Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        ))
    }
}

/// Free loopback ports below the kernel's ephemeral range. Ports from binding port 0 come
/// from that range, where any outgoing connection (tests make thousands) may grab one in the
/// moment between our check and the daemon's bind; below it only listeners compete.
pub fn pick_free_ports(n: usize) -> Vec<u16> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = ephemeral_start.saturating_sub(12000).max(1024);
    let mut taken = PORTS_TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let taken = taken.get_or_insert_with(HashSet::new);
    let mut rng = rand::thread_rng();
    let mut ports = Vec::with_capacity(n);
    let mut held = Vec::with_capacity(n);
    while ports.len() < n {
        let port = rng.gen_range(low..ephemeral_start);
        if taken.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            taken.insert(port);
            ports.push(port);
            held.push(listener);
        }
    }
    ports
}

/// A UTF-8 mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3).
pub fn imap_utf7(name: &str) -> String {
    utf7_imap::encode_utf7_imap(name.to_owned())
}

/// An IMAP quoted string.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `["\\Seen", "\\Flagged"]` → `(\Seen \Flagged)`; tolerates items already in parentheses.
fn flag_list(flags: &[&str]) -> String {
    let inner: Vec<&str> = flags
        .iter()
        .map(|f| f.trim().trim_start_matches('(').trim_end_matches(')'))
        .filter(|f| !f.is_empty())
        .collect();
    if inner.is_empty() {
        String::new()
    } else {
        format!("({})", inner.join(" "))
    }
}

/// A minimal line-level IMAP client for pipelined bulk APPEND, which async-imap cannot send
/// (it waits for a continuation request before every literal).
struct RawImap {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    tag: u32,
}

impl RawImap {
    async fn login(port: u16, user: &TestUser) -> RawImap {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("connect to IMAP port {port}: {e}"));
        let (r, w) = tcp.into_split();
        let mut conn = RawImap {
            reader: BufReader::new(r),
            writer: w,
            tag: 0,
        };
        let greeting = conn.read_line().await.expect("reading the IMAP greeting");
        assert!(
            greeting.starts_with("* OK"),
            "unexpected IMAP greeting: {greeting}"
        );
        let tag = conn.next_tag();
        let login = format!(
            "{tag} LOGIN {} {}\r\n",
            quoted(&user.address),
            quoted(&user.password)
        );
        if let Err(e) = conn.command(&tag, login.as_bytes()).await {
            panic!("IMAP LOGIN as {} failed: {e}", user.address);
        }
        conn
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("M{}", self.tag)
    }

    async fn read_line(&mut self) -> Result<String, String> {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
    }

    /// Sends a whole command (literals included) while reading responses, so a server that
    /// answers early can never deadlock us; returns the tagged OK line or the failure.
    async fn command(&mut self, tag: &str, bytes: &[u8]) -> Result<String, String> {
        let RawImap { reader, writer, .. } = self;
        let write = async {
            writer.write_all(bytes).await.map_err(|e| e.to_string())?;
            writer.flush().await.map_err(|e| e.to_string())
        };
        let read = async {
            let prefix = format!("{tag} ");
            loop {
                let mut line = Vec::new();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .await
                    .map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed by the server".to_string());
                }
                let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                if let Some(rest) = line.strip_prefix(&prefix) {
                    return if rest.starts_with("OK") {
                        Ok(line)
                    } else {
                        Err(line)
                    };
                }
            }
        };
        let (written, answer) = tokio::join!(write, read);
        // A tagged NO explains more than the broken pipe that may follow it.
        let answer = answer?;
        written?;
        Ok(answer)
    }

    async fn logout(mut self) {
        let tag = self.next_tag();
        let _ = self
            .command(&tag, format!("{tag} LOGOUT\r\n").as_bytes())
            .await;
    }
}

/// A plain SMTP conversation (no TLS, no AUTH): enough for Postfix's inbound port.
async fn smtp_send(port: u16, from: &str, to: &[&str], eml: &[u8]) -> Result<(), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect to SMTP port {port}: {e}"))?;
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);

    async fn reply(
        r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        expect: char,
    ) -> Result<String, String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
                return Err(format!("connection closed; so far: {all}"));
            }
            all.push_str(&line);
            // The last line of a multi-line reply has a space after the code.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        if all.starts_with(expect) {
            Ok(all)
        } else {
            Err(all)
        }
    }
    async fn send(w: &mut tokio::net::tcp::OwnedWriteHalf, s: &[u8]) -> Result<(), String> {
        w.write_all(s).await.map_err(|e| e.to_string())
    }

    reply(&mut r, '2').await?;
    send(&mut w, b"EHLO client.example.test\r\n").await?;
    reply(&mut r, '2').await?;
    send(&mut w, format!("MAIL FROM:<{from}>\r\n").as_bytes()).await?;
    reply(&mut r, '2').await?;
    for rcpt in to {
        send(&mut w, format!("RCPT TO:<{rcpt}>\r\n").as_bytes()).await?;
        reply(&mut r, '2').await?;
    }
    send(&mut w, b"DATA\r\n").await?;
    reply(&mut r, '3').await?;
    send(&mut w, &smtp_data(eml)).await?;
    reply(&mut r, '2').await?;
    send(&mut w, b"QUIT\r\n").await?;
    let _ = reply(&mut r, '2').await;
    Ok(())
}

/// The DATA payload: CRLF line ends, dot-stuffed, terminated by `.`.
fn smtp_data(eml: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(eml.len() + 64);
    for line in eml.split_inclusive(|&b| b == b'\n') {
        let body = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if body.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Lists all folders with their attributes, as `(name in UTF-8, attributes in Debug form)`.
pub async fn list_folders(session: &mut ImapSession) -> Vec<(String, Vec<String>)> {
    let names: Vec<_> = session
        .list(Some(""), Some("*"))
        .await
        .expect("LIST")
        .try_collect()
        .await
        .expect("LIST responses");
    names
        .iter()
        .map(|n| {
            (
                utf7_imap::decode_utf7_imap(n.name().to_owned()),
                n.attributes().iter().map(|a| format!("{a:?}")).collect(),
            )
        })
        .collect()
}

/// `UID STORE uid_set change` on `s`, which has the folder selected.
async fn store_on(s: &mut ImapSession, uid_set: &str, change: &str) {
    let _: Vec<_> = s
        .uid_store(uid_set, change)
        .await
        .expect("STORE")
        .try_collect()
        .await
        .expect("STORE responses");
}
