//! Load benchmark (issue 10: "Put a load benchmark in the repo"): what 20 logged-in
//! sessions listing page 1 back to back cost Mailroom and the mail server.
//!
//! Seeds a 10,000-message INBOX on a private Dovecot, starts the release `mailroom` binary
//! as its own process (so its memory is its own), logs in `LOAD_SESSIONS` browsers (default
//! 20) as the same user, each sending what Chromium sends, and has each GET
//! `/mail/INBOX` back to back for `LOAD_SECONDS` (default 20). It prints requests/s,
//! median/p90/p99 latency, Mailroom's and Dovecot's peak memory (PSS), Dovecot's process
//! count and its CPU time per request; then the raw IMAP floor of the same work (as many
//! logged-in connections doing `SELECT INBOX` + `FETCH` of 50 envelopes back to back).
//! Finally it waits for the sessions' IMAP connections to close once the browsers stop.
//!
//! Run with `cargo bench --bench load`. Under `cargo test` it only checks that it builds.

mod common;
#[path = "../tests/it/common/mailstack.rs"]
mod mailstack;

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{Web, bench_message};
use mailstack::MailStack;

/// Clock ticks per second of `/proc/*/stat` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// A number from the environment, or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every process on the machine: pid → (parent pid, command name, CPU ticks used).
fn processes() -> HashMap<u32, (u32, String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid … utime stime cutime cstime": comm may hold spaces.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_owned();
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // After the comm: state=0, ppid=1, utime=11, stime=12, cutime=13, cstime=14.
        out.insert(
            pid,
            (num(1) as u32, comm, num(11) + num(12) + num(13) + num(14)),
        );
    }
    out
}

/// `root` and all its descendants.
fn tree(root: u32, all: &HashMap<u32, (u32, String, u64)>) -> Vec<u32> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|(_, (ppid, _, _))| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.retain(|p| all.contains_key(p));
    found
}

/// Proportional set size of `pid` in kB (0 when it is gone).
fn pss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// What one look at the two servers saw.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    mailroom_kb: u64,
    dovecot_kb: u64,
    dovecot_procs: usize,
    /// Dovecot `imap` processes: one per IMAP connection.
    imap_procs: usize,
    /// CPU ticks of Dovecot's whole tree, reaped children included.
    dovecot_ticks: u64,
}

fn sample(mailroom: u32, dovecot: u32) -> Sample {
    let all = processes();
    let dc = tree(dovecot, &all);
    Sample {
        mailroom_kb: pss_kb(mailroom),
        dovecot_kb: dc.iter().map(|p| pss_kb(*p)).sum(),
        dovecot_procs: dc.len(),
        imap_procs: dc.iter().filter(|p| all[p].1 == "imap").count(),
        dovecot_ticks: dc.iter().map(|p| all[p].2).sum(),
    }
}

/// Samples every 200 ms until `stop`; returns the peaks.
fn sampler(mailroom: u32, dovecot: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Sample> {
    std::thread::spawn(move || {
        let mut peak = Sample::default();
        while !stop.load(Ordering::SeqCst) {
            let s = sample(mailroom, dovecot);
            peak.mailroom_kb = peak.mailroom_kb.max(s.mailroom_kb);
            peak.dovecot_kb = peak.dovecot_kb.max(s.dovecot_kb);
            peak.dovecot_procs = peak.dovecot_procs.max(s.dovecot_procs);
            peak.imap_procs = peak.imap_procs.max(s.imap_procs);
            std::thread::sleep(Duration::from_millis(200));
        }
        peak
    })
}

/// The `mailroom` binary serving on a free loopback port; killed on drop.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_mailroom(stack: &MailStack) -> Server {
    let port = mailstack::pick_free_ports(1)[0];
    let data = tempfile::tempdir().expect("tempdir");
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("serve")
        .env("MAILROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILROOM_PUBLIC_URL", &base)
        .env("MAILROOM_DATA_DIR", data.path())
        .env("MAILROOM_IMAP_HOST", "127.0.0.1")
        .env("MAILROOM_IMAP_PORT", stack.imap_port.to_string())
        .env("MAILROOM_IMAP_SECURITY", "none")
        .env("MAILROOM_SMTP_HOST", "127.0.0.1")
        .env("MAILROOM_SMTP_PORT", stack.submission_port.to_string())
        .env("MAILROOM_SMTP_SECURITY", "none")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mailroom");
    let server = Server {
        child,
        base,
        _data: data,
    };
    let probe = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = probe.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mailroom did not answer /healthz within 30 s");
}

/// Latencies of `f` run back to back by `workers` tasks for `span`.
async fn hammer<F, Fut>(workers: usize, span: Duration, f: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let all = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|i| {
            let (f, all) = (f.clone(), all.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while start.elapsed() < span {
                    let t = Instant::now();
                    f(i).await;
                    mine.push(t.elapsed());
                }
                all.lock().expect("latencies").extend(mine);
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("worker");
    }
    let wall = start.elapsed();
    let v = std::mem::take(&mut *all.lock().expect("latencies"));
    (v, wall)
}

/// Milliseconds at percentile `p` of sorted `v`.
fn pct(v: &[Duration], p: usize) -> f64 {
    v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: run with `cargo bench --bench load` (skipped under cargo test)");
        return;
    }
    let sessions = env_or("LOAD_SESSIONS", 20) as usize;
    let span = Duration::from_secs(env_or("LOAD_SECONDS", 20));

    let stack = MailStack::start_private();
    let user = stack.add_user("load");
    let emls: Vec<Vec<u8>> = (0..10_000).map(bench_message).collect();
    stack.append_many(&user, "INBOX", &emls).await;
    let master_pid = std::fs::read_to_string(stack.dir.join("run/dovecot/master.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .expect("dovecot master.pid");
    println!(
        "seeded 10,000 messages; {sessions} sessions for {} s",
        span.as_secs()
    );

    let server = start_mailroom(&stack).await;
    let pid = server.child.id();
    let idle_before = sample(pid, master_pid);
    let mut webs = Vec::new();
    for _ in 0..sessions {
        let web = Web::external(&server.base);
        web.login(&user.address, &user.password).await;
        // A browser that has the list on screen.
        web.get_ok("/mail/INBOX").await;
        webs.push(web);
    }
    let webs = Arc::new(webs);

    let stop = Arc::new(AtomicBool::new(false));
    let peaks = sampler(pid, master_pid, stop.clone());
    let before = sample(pid, master_pid);
    let list = {
        let webs = webs.clone();
        move |i: usize| webs[i].get_ok("/mail/INBOX")
    };
    let (mut lat, wall) = hammer(sessions, span, list).await;
    let after = sample(pid, master_pid);
    stop.store(true, Ordering::SeqCst);
    let peak = peaks.join().expect("sampler");
    lat.sort();
    let n = lat.len();
    let dovecot_ms = (after.dovecot_ticks - before.dovecot_ticks) as f64 / TICKS * 1000.0;

    // The floor: the same number of logged-in IMAP connections doing the list's work.
    let mut conns = Vec::new();
    for _ in 0..sessions {
        conns.push(Arc::new(tokio::sync::Mutex::new(stack.imap(&user).await)));
    }
    let floor_span = span.min(Duration::from_secs(10));
    let floor = {
        let conns = conns.clone();
        move |i: usize| {
            let c = conns[i].clone();
            async move { common::select_and_fetch_50(&mut *c.lock().await).await }
        }
    };
    let (mut floor_lat, floor_wall) = hammer(sessions, floor_span, floor).await;
    floor_lat.sort();
    for c in conns {
        let _ = c.lock().await.logout().await;
    }

    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "\nGET /mail/INBOX, {sessions} sessions x {} s",
        span.as_secs()
    );
    println!(
        "  requests/s {:.0}   median {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   ({n} requests)",
        n as f64 / wall.as_secs_f64(),
        pct(&lat, 50),
        pct(&lat, 90),
        pct(&lat, 99)
    );
    println!(
        "  memory (PSS, peak): Mailroom {:.1} MB, Dovecot {:.1} MB (idle before: {:.1} + {:.1} MB)",
        mb(peak.mailroom_kb),
        mb(peak.dovecot_kb),
        mb(idle_before.mailroom_kb),
        mb(idle_before.dovecot_kb)
    );
    println!(
        "  Dovecot processes (peak): {} in all, {} imap ({:.1} per session; {} before login)",
        peak.dovecot_procs,
        peak.imap_procs,
        peak.imap_procs as f64 / sessions as f64,
        idle_before.dovecot_procs
    );
    println!(
        "  Dovecot CPU: {:.3} ms per request ({:.0} ms in all)",
        dovecot_ms / n.max(1) as f64,
        dovecot_ms
    );
    println!("floor: {sessions} IMAP connections, SELECT INBOX + FETCH 50 envelopes back to back");
    println!(
        "  requests/s {:.0}   median {:.2} ms   p99 {:.2} ms",
        floor_lat.len() as f64 / floor_wall.as_secs_f64(),
        pct(&floor_lat, 50),
        pct(&floor_lat, 99)
    );

    // The browsers go away: their IMAP connections should close within the idle timeout.
    drop(webs);
    let gone = Instant::now();
    let limit = Duration::from_secs(env_or("LOAD_IDLE_WAIT", 180));
    let left = loop {
        let s = sample(pid, master_pid);
        if s.imap_procs == 0 || gone.elapsed() > limit {
            break s;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!(
        "after the browsers left: {} imap processes after {:.0} s",
        left.imap_procs,
        gone.elapsed().as_secs_f64()
    );
    drop(server);
}
