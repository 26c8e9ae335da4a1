//! Operations (issue 11 item 4): `/readyz`, `mailroom check`, `mailroom --help` and JSON
//! logs, against the real test stack.

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use reqwest::StatusCode;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::common::{
    app::{TestApp, config_for},
    mailstack::MailStack,
};

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// Everything up: 200 and one `ok` line per part, for an anonymous caller.
#[tokio::test]
async fn readyz_names_every_part_and_the_one_that_is_down() {
    let stack = MailStack::shared();
    let app = TestApp::spawn("ready").await;
    let page = app.get("/readyz").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "database: ok\nimap: ok\nsmtp: ok\n");
    assert_eq!(page.header("cache-control"), "no-store");

    let port = closed_port().await;
    let down = TestApp::spawn_with(stack, stack.add_user("ready-down"), |c| {
        c.smtp.port = port;
    })
    .await;
    let page = down.get("/readyz").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    let lines: Vec<&str> = page.body.lines().collect();
    assert_eq!(&lines[..2], ["database: ok", "imap: ok"], "{}", page.body);
    assert!(
        lines[2].starts_with("smtp: ") && lines[2].contains(&port.to_string()),
        "{}",
        page.body
    );
}

/// Anonymous callers cannot make us open connections to the mail server at will: forty
/// `/readyz` at once cost the IMAP server one connection.
#[tokio::test]
async fn readyz_probes_the_mail_server_once_for_many_callers() {
    let stack = MailStack::shared();
    // Counts connections and answers each with a greeting, as an IMAP server would.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = s.write_all(b"* OK ready\r\n").await;
                let mut line = String::new();
                let mut r = BufReader::new(&mut s);
                if r.read_line(&mut line).await.is_ok() {
                    let tag = line.split(' ').next().unwrap_or("a").to_owned();
                    let _ = s
                        .write_all(format!("* BYE\r\n{tag} OK done\r\n").as_bytes())
                        .await;
                }
            });
        }
    });
    let app = TestApp::spawn_with(stack, stack.add_user("ready-many"), |c| {
        c.imap.port = port;
        c.imap.security = mailroom::config::Security::None;
    })
    .await;
    let pages = futures::future::join_all((0..40).map(|_| app.get("/readyz"))).await;
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("imap: ok"), "{}", page.body);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// `mailroom check` says in words what answers and what does not, and its exit status
/// tells a script.
#[tokio::test]
async fn mailroom_check_reports_each_part_in_words() {
    let stack = MailStack::shared();
    let data = tempfile::tempdir().expect("temp dir");
    let config = config_for(stack, data.path());
    let run = |smtp_port: u16| {
        let config = config.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_mailroom"))
                .arg("check")
                .env_clear()
                .env("MAILROOM_DATA_DIR", &config.data_dir)
                .env("MAILROOM_DATABASE_URL", &config.database_url)
                .env("MAILROOM_IMAP_HOST", &config.imap.host)
                .env("MAILROOM_IMAP_PORT", config.imap.port.to_string())
                .env("MAILROOM_IMAP_SECURITY", "tls")
                .env(
                    "MAILROOM_IMAP_CA_FILE",
                    config.imap.ca_file.as_ref().expect("ca"),
                )
                .env("MAILROOM_SMTP_PORT", smtp_port.to_string())
                .output()
                .await
                .expect("mailroom check runs")
        }
    };
    let ok = run(stack.submission_port).await;
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert_eq!(out, "configuration: ok\ndatabase: ok\nimap: ok\nsmtp: ok\n");

    let port = closed_port().await;
    let bad = run(port).await;
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success(), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("smtp: the mail server is not reachable")
                && l.contains(&port.to_string())),
        "{out}"
    );

    let typo = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("check")
        .env_clear()
        .env("MAILROOM_IMAP_SECURITY", "ssl")
        .output()
        .await
        .expect("runs");
    let out = String::from_utf8_lossy(&typo.stdout);
    assert!(!typo.status.success());
    assert!(
        out.starts_with("configuration: environment variable MAILROOM_IMAP_SECURITY"),
        "{out}"
    );
}

/// `mailroom --help` lists every setting with its variable and default.
#[tokio::test]
async fn help_lists_every_setting() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("--help")
        .output()
        .await
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let rows = mailroom::config::documented();
    assert!(rows.len() >= 30);
    for row in rows {
        assert!(
            text.contains(&format!("{}  [default: {}]", row.var, row.default)),
            "{} missing from --help:\n{text}",
            row.var
        );
    }
}

/// `MAILROOM_LOG_FORMAT=json`: every log line is one JSON object.
#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let stack = MailStack::shared();
    let data = tempfile::tempdir().expect("temp dir");
    let config = config_for(stack, data.path());
    let port = closed_port().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("serve")
        .env_clear()
        .env("MAILROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILROOM_DATA_DIR", &config.data_dir)
        .env("MAILROOM_DATABASE_URL", &config.database_url)
        .env("MAILROOM_IMAP_PORT", config.imap.port.to_string())
        .env(
            "MAILROOM_IMAP_CA_FILE",
            config.imap.ca_file.as_ref().expect("ca"),
        )
        .env("MAILROOM_LOG_FORMAT", "json")
        .env("MAILROOM_LOG", "mailroom=info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mailroom serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("a log line within 30 s")
        .expect("read")
        .expect("a line");
    let _ = child.kill().await;
    let v: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    assert_eq!(v["level"], "INFO", "{first}");
    assert_eq!(v["fields"]["message"], "Mailroom listening", "{first}");
    assert_eq!(
        v["fields"]["address"],
        format!("127.0.0.1:{port}"),
        "{first}"
    );
}

/// Under a supervisor: `READY=1` once the port is bound; on SIGTERM `STOPPING=1`, new
/// connections are refused, and a request already under way still gets its answer.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight_and_tells_the_supervisor() {
    let stack = MailStack::shared();
    let data = tempfile::tempdir().expect("temp dir");
    let config = config_for(stack, data.path());
    let notify_path = data.path().join("notify.sock");
    let notify = tokio::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    let port = closed_port().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("serve")
        .env_clear()
        .env("MAILROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILROOM_DATA_DIR", &config.data_dir)
        .env("MAILROOM_DATABASE_URL", &config.database_url)
        .env("MAILROOM_IMAP_PORT", config.imap.port.to_string())
        .env(
            "MAILROOM_IMAP_CA_FILE",
            config.imap.ca_file.as_ref().expect("ca"),
        )
        .env("MAILROOM_SHUTDOWN_TIMEOUT", "20")
        .env("NOTIFY_SOCKET", &notify_path)
        .kill_on_drop(true)
        .spawn()
        .expect("mailroom serve starts");
    let mut buf = [0u8; 256];
    let wait = std::time::Duration::from_secs(30);
    let n = tokio::time::timeout(wait, notify.recv(&mut buf))
        .await
        .expect("READY within 30 s")
        .expect("recv");
    assert_eq!(String::from_utf8_lossy(&buf[..n]).trim(), "READY=1");

    // A request under way: the head and half of a login form's body.
    let body = "username=a%40example.test&password=wrong&csrf_token=x";
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&body.as_bytes()[..10]).await.expect("half");
    // Time for the server to take the connection from the kernel's queue and read the head
    // (no signal tells; generous for a loaded machine).
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;

    let pid = child.id().expect("pid").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(killed.success());
    let n = tokio::time::timeout(wait, notify.recv(&mut buf))
        .await
        .expect("STOPPING within 30 s")
        .expect("recv");
    assert_eq!(String::from_utf8_lossy(&buf[..n]).trim(), "STOPPING=1");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "a new connection was accepted after SIGTERM"
    );

    s.write_all(&body.as_bytes()[10..]).await.expect("rest");
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut s, &mut answer)
        .await
        .expect("answer");
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    // The CSRF check refused the form: an answer from the application, not a reset.
    assert!(answer.contains("text/html"), "{answer}");
    let status = tokio::time::timeout(wait, child.wait())
        .await
        .expect("exits after the drain")
        .expect("wait");
    assert!(status.success(), "{status}");
}

/// The packaging keeps what the README promises: the image build never sees build output,
/// databases or the key; dependencies build in a layer of their own; the systemd unit is
/// sandboxed and waits for Mailroom's readiness notice.
#[test]
fn packaging_keeps_secrets_out_and_sandboxes_the_service() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let ignore = read(".dockerignore");
    for pattern in ["target/", "data/", "**/secret.key", "**/*.db"] {
        assert!(
            ignore.lines().any(|l| l.trim() == pattern),
            "{pattern} not ignored"
        );
    }
    let dockerfile = read("Dockerfile");
    let lock = dockerfile
        .find("COPY Cargo.toml Cargo.lock")
        .expect("manifest copied first");
    let sources = dockerfile.find("COPY src").expect("sources copied");
    assert!(lock < sources, "dependencies are not a layer of their own");
    assert!(
        !dockerfile.contains("COPY . ."),
        "the whole context is copied"
    );
    let unit = read("contrib/mailroom.service");
    for line in [
        "Type=notify",
        "DynamicUser=yes",
        "StateDirectory=mailroom",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.lines().any(|l| l.trim() == line), "{line} missing");
    }
    let compose = read("docker-compose.yml");
    assert!(
        compose.contains("image: postgres:"),
        "no PostgreSQL service"
    );
    assert!(compose.contains("MAILROOM_DATABASE_URL: \"postgres://"));
}

/// `GET /metrics`: 404 unless `MAILROOM_METRICS` lets the caller in; then requests by
/// route pattern (never by path), logins, IMAP commands and connections, the database pool.
#[tokio::test]
async fn metrics_are_private_unless_allowed_and_count_by_route() {
    use mailroom::config::MetricsAccess;
    let stack = MailStack::shared();
    let off = TestApp::spawn("metrics-off").await;
    let page = off.get("/metrics").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("mailroom_"), "{}", page.body);

    let elsewhere = TestApp::spawn_with(stack, stack.add_user("metrics-far"), |c| {
        c.metrics = MetricsAccess::From(vec!["10.0.0.0/8".parse().expect("net")]);
    })
    .await;
    assert_eq!(
        elsewhere.get("/metrics").await.status,
        StatusCode::NOT_FOUND
    );

    let app = TestApp::spawn_with(stack, stack.add_user("metrics-on"), |c| {
        c.metrics = MetricsAccess::From(vec!["127.0.0.1/32".parse().expect("net")]);
    })
    .await;
    app.login().await;
    assert_eq!(app.get("/mail/INBOX").await.status, StatusCode::OK);
    let secret_path = format!("/no-such-page-{}", rand::random::<u32>());
    assert_eq!(app.get(&secret_path).await.status, StatusCode::NOT_FOUND);
    let page = app.get("/metrics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.header("content-type").starts_with("text/plain"));
    let body = &page.body;
    for line in [
        "mailroom_http_requests_total{route=\"/mail/{mailbox}\",method=\"GET\",status=\"200\"}",
        "mailroom_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}",
        "mailroom_http_request_duration_seconds_bucket{le=",
        "mailroom_logins_total{outcome=\"ok\"}",
        "mailroom_imap_commands_total{command=\"LIST\"}",
        "mailroom_imap_connections_opened_total ",
        "mailroom_imap_connections ",
        "mailroom_db_connections{state=\"idle\"}",
    ] {
        assert!(
            body.lines().any(|l| l.starts_with(line)),
            "{line} missing:\n{body}"
        );
    }
    assert!(!body.contains(&secret_path), "a path became a label");
}
