//! Prometheus metrics, served by `GET /metrics` when `MAILROOM_METRICS` lets the caller in.
//! They are process-wide (one process is one scrape target), so the IMAP layer, the send
//! workflow and the web layer count into the same registry without passing it around.

use std::sync::LazyLock;

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::{Family, MetricConstructor},
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::store::{self, Db};

type Labels = Vec<(String, String)>;

/// Request latency buckets: 0.5 ms to about 16 s.
#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0005, 2.0, 16))
    }
}

struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, LatencyBuckets>,
    imap_commands: Family<Labels, Counter>,
    imap_connections_opened: Counter,
    imap_connections_open: Gauge,
    logins: Family<Labels, Counter>,
    sends: Family<Labels, Counter>,
    db_connections: Family<Labels, Gauge>,
    watchers: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("mailroom");
    let m = Metrics {
        registry: Registry::default(),
        requests: Family::default(),
        latency: Family::new_with_constructor(LatencyBuckets),
        imap_commands: Family::default(),
        imap_connections_opened: Counter::default(),
        imap_connections_open: Gauge::default(),
        logins: Family::default(),
        sends: Family::default(),
        db_connections: Family::default(),
        watchers: Gauge::default(),
    };
    registry.register(
        "http_requests",
        "HTTP requests by route, method and status",
        m.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by route",
        m.latency.clone(),
    );
    registry.register(
        "imap_commands",
        "IMAP commands sent, by command",
        m.imap_commands.clone(),
    );
    registry.register(
        "imap_connections_opened",
        "IMAP connections opened (logged in)",
        m.imap_connections_opened.clone(),
    );
    registry.register(
        "imap_connections",
        "IMAP connections open now",
        m.imap_connections_open.clone(),
    );
    registry.register(
        "logins",
        "Login attempts by outcome (ok, failed, throttled)",
        m.logins.clone(),
    );
    registry.register(
        "sends",
        "Messages handed to the send workflow, by outcome (sent, draft, failed, refused)",
        m.sends.clone(),
    );
    registry.register(
        "db_connections",
        "Database pool connections by state (idle, busy)",
        m.db_connections.clone(),
    );
    registry.register(
        "watchers",
        "Users whose folders are watched for live updates (one IMAP connection each)",
        m.watchers.clone(),
    );
    Metrics { registry, ..m }
});

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// How many watchers run now (`crate::live`).
pub fn watchers(n: usize) {
    METRICS.watchers.set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// One answered HTTP request. `route` is the route pattern (`/mail/{mailbox}`), never
/// the path, so a visitor cannot grow the label set.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&labels(&[
            ("route", route),
            ("method", method),
            ("status", &status.to_string()),
        ]))
        .inc();
    m.latency
        .get_or_create(&labels(&[("route", route)]))
        .observe(seconds);
}

/// One IMAP command, by its name (`UID FETCH`); names come from our code, not from users.
pub fn imap_command(name: &str) {
    METRICS
        .imap_commands
        .get_or_create(&labels(&[("command", name)]))
        .inc();
}

/// Counts a logged-in IMAP connection for as long as the guard lives.
#[derive(Debug)]
pub struct ImapConnection(());

impl ImapConnection {
    pub fn open() -> ImapConnection {
        METRICS.imap_connections_opened.inc();
        METRICS.imap_connections_open.inc();
        ImapConnection(())
    }
}

impl Drop for ImapConnection {
    fn drop(&mut self) {
        METRICS.imap_connections_open.dec();
    }
}

/// A login attempt's outcome: `ok`, `failed`, `throttled`, or `code` (right password, the
/// two-factor code still to come).
pub fn login(outcome: &'static str) {
    METRICS
        .logins
        .get_or_create(&labels(&[("outcome", outcome)]))
        .inc();
}

/// A send's outcome: `sent`, `draft`, `failed` or `refused`.
pub fn send(outcome: &'static str) {
    METRICS
        .sends
        .get_or_create(&labels(&[("outcome", outcome)]))
        .inc();
}

/// The text exposition, with the database pool read now.
pub fn render(db: &Db) -> String {
    let m = &*METRICS;
    let (size, idle) = store::pool_state(db);
    m.db_connections
        .get_or_create(&labels(&[("state", "idle")]))
        .set(i64::from(idle));
    m.db_connections
        .get_or_create(&labels(&[("state", "busy")]))
        .set(i64::from(size.saturating_sub(idle)));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &m.registry);
    out
}
