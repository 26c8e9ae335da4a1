//! Seeds the demo mailbox (used by `scripts/demo`): appends every `*.eml` under the fixture
//! directory to INBOX, and every `<dir>/<folder>/*.eml` to that (UTF-8) folder, creating it.
//!
//! Fixture files keep stable, readable dates and LF line ends in git; here each message's
//! `Date:` is moved to "recently" (newest file name first) so the demo inbox looks alive, line
//! ends become CRLF as IMAP requires, and an `X-Demo-Flags:` header, if present, is removed and
//! turned into the message's flags.
//!
//! Idempotent: does nothing when INBOX already holds mail.
//!
//! ```sh
//! cargo run --example seed_demo -- --port 10143 --user alice@example.test --password demo-password
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use tokio::net::TcpStream;

/// Where to connect and what to seed.
#[derive(Parser, Debug)]
struct Args {
    /// IMAP host; plain IMAP, so use only loopback.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Plain IMAP port of the demo stack.
    #[arg(long, default_value_t = 10143)]
    port: u16,
    #[arg(long)]
    user: String,
    #[arg(long)]
    password: String,
    /// Directory holding `*.eml` files (INBOX) and one subdirectory per extra folder.
    #[arg(long, default_value = "tests/fixtures/demo")]
    fixtures: PathBuf,
}

type Session = async_imap::Session<TcpStream>;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut session = login(&args).await?;

    let inbox = session.status("INBOX", "(MESSAGES)").await?;
    if inbox.exists > 0 {
        println!(
            "seed_demo: {} already has {} messages in INBOX; not seeding again",
            args.user, inbox.exists
        );
        session.logout().await?;
        return Ok(());
    }

    let mut age = 0;
    let inbox_files = eml_files(&args.fixtures)?;
    for path in &inbox_files {
        age += 1;
        append_file(&mut session, "INBOX", path, age).await?;
    }
    let mut count = inbox_files.len();

    for folder_dir in subdirs(&args.fixtures)? {
        let Some(folder) = folder_dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let encoded = utf7_imap::encode_utf7_imap(folder.to_owned());
        // An existing folder is fine (a half-finished earlier run, or a user-made one).
        if let Err(e) = session.create(&encoded).await {
            println!("seed_demo: CREATE {folder}: {e} (continuing)");
        }
        session
            .subscribe(&encoded)
            .await
            .with_context(|| format!("SUBSCRIBE {folder}"))?;
        for path in eml_files(&folder_dir)? {
            age += 1;
            append_file(&mut session, &encoded, &path, age).await?;
            count += 1;
        }
    }
    session.logout().await?;
    println!("seed_demo: appended {count} messages for {}", args.user);
    Ok(())
}

async fn login(args: &Args) -> Result<Session> {
    let tcp = TcpStream::connect((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("connect to IMAP {}:{}", args.host, args.port))?;
    let mut client = async_imap::Client::new(tcp);
    match client
        .read_response()
        .await
        .context("reading the IMAP greeting")?
    {
        Some(_) => {}
        None => bail!("the IMAP server closed the connection before greeting"),
    }
    client
        .login(&args.user, &args.password)
        .await
        .map_err(|(e, _)| e)
        .with_context(|| format!("IMAP LOGIN as {}", args.user))
}

/// `*.eml` files directly in `dir`, sorted by name (the order sets their dates).
fn eml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    Ok(files)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Appends one fixture; `age` n dates it about n × 7 hours ago.
async fn append_file(session: &mut Session, mailbox: &str, path: &Path, age: i64) -> Result<()> {
    let raw = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let when = Utc::now() - Duration::minutes(age * 7 * 60 + age * 13);
    let (eml, flags) = prepare(&raw, when);
    let internal_date = when.format("%d-%b-%Y %H:%M:%S +0000").to_string();
    let flags = format!("({})", flags.join(" "));
    session
        .append(
            mailbox,
            Some(flags.as_str()),
            Some(format!("\"{internal_date}\"").as_str()),
            &eml,
        )
        .await
        .with_context(|| format!("APPEND {} to {mailbox}", path.display()))?;
    Ok(())
}

/// Rewrites the header (new `Date:`, `X-Demo-Flags:` removed) and normalises line ends to
/// CRLF. Returns the message and the flags named by `X-Demo-Flags:`.
fn prepare(raw: &[u8], when: DateTime<Utc>) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    let mut flags = Vec::new();
    let mut in_header = true;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if in_header {
            if content.is_empty() {
                in_header = false;
            } else if let Some(value) = strip_header(content, b"x-demo-flags:") {
                flags.extend(
                    String::from_utf8_lossy(value)
                        .split_whitespace()
                        .map(str::to_owned),
                );
                continue;
            } else if strip_header(content, b"date:").is_some() {
                out.extend_from_slice(format!("Date: {}\r\n", when.to_rfc2822()).as_bytes());
                continue;
            }
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    (out, flags)
}

/// The value of a header line if its name matches `name` (lower case, with the colon).
fn strip_header<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name))
        .then(|| &line[name.len()..])
}
