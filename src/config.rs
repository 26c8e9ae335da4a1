//! Configuration: one struct, read from an optional TOML file and then overridden by
//! `MAILROOM_*` environment variables. Unknown keys in the file are rejected so a typo
//! never silently falls back to a default. Secrets live in [`Secret`], whose `Debug`
//! prints `***`.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

mod servers;
pub use servers::{MailServer, ServerRoute, normalize_domain, parse_servers};

/// How a connection to the IMAP or SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS; refused if the server does not offer it.
    Starttls,
    /// No encryption at all. Only sensible on loopback.
    None,
}

impl std::str::FromStr for Security {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tls" => Ok(Security::Tls),
            "starttls" => Ok(Security::Starttls),
            "none" => Ok(Security::None),
            other => Err(format!(
                "unknown security mode {other:?} (tls, starttls or none)"
            )),
        }
    }
}

/// A mail server Mailroom talks to on the user's behalf. Serializable because a login
/// whose servers were found by DNS keeps them in its session.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Extra trusted CA (PEM), beside the built-in web roots. Lets a site use its own CA.
    pub ca_file: Option<PathBuf>,
}

/// A string that must never be printed: its `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is handed to the party that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Everything Mailroom can be told at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// The URL users type; `https` here turns on Secure cookies.
    pub public_url: String,
    pub imap: Endpoint,
    pub smtp: Endpoint,
    /// `sqlite:` or `postgres:` URL; defaults to a SQLite file inside `data_dir`.
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Key for session cookies and the sealed IMAP password; at least 64 bytes of
    /// entropy. `None` means: generate once and keep it in `data_dir`.
    pub secret_key: Option<Secret>,
    /// An idle IMAP connection is logged out after this long and reopened on demand.
    pub imap_idle_timeout: Duration,
    /// A web session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// A web session ends this long after login, however active it is, so a stolen
    /// session cookie cannot be used for ever.
    pub session_absolute_lifetime: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`MAILROOM_TRUSTED_PROXIES`,
    /// comma-separated IPs or CIDR ranges). Empty: the client is the socket's peer, and
    /// the header is ignored, so nobody can spoof an address to dodge login throttling.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The first lockout after too many failed logins; each further failure doubles it.
    pub login_backoff_base: Duration,
    /// TEST ONLY: lets the image proxy fetch from loopback addresses, so the tests can
    /// exercise its success path against a local server (tests may only use loopback).
    /// Never set from the file or the environment; always `false` in production.
    pub proxy_allow_loopback_for_tests: bool,
    /// TEST ONLY: lets "other mailboxes" (`crate::fetch`) connect to loopback addresses,
    /// and there only, without TLS: the tests fetch from their own Dovecot. Never set from
    /// the file or the environment; always `false` in production.
    pub remote_allow_loopback_for_tests: bool,
    /// How often a user's other mailboxes are fetched while they use Mailroom
    /// (`MAILROOM_FETCH_INTERVAL`, seconds).
    pub fetch_interval: Duration,
    /// How long a right password waits for its two-factor code (`web::twofactor`): five
    /// minutes. Not a setting; tests shorten it to see a pending login expire.
    pub login_code_lifetime: Duration,
    /// Largest message a user may send, counted after base64 growth.
    pub max_message_size: u64,
    /// Image-proxy fetches one user may have in flight (`MAILROOM_PROXY_FETCHES_PER_USER`);
    /// four times as many more may wait, the rest get 429.
    pub proxy_fetches_per_user: usize,
    /// How long an image-proxy URL works after its page was rendered
    /// (`MAILROOM_PROXY_URL_LIFETIME`, seconds).
    pub proxy_url_lifetime: Duration,
    /// The authserv-id of the `Authentication-Results` headers our own mail server adds
    /// (`MAILROOM_AUTHSERV_ID`, RFC 8601). Trusted senders' images load automatically only
    /// when such a header says the sender is authentic. `None` (the default): there is no
    /// proof to read, so trust is never honoured automatically.
    pub authserv_id: Option<String>,
    /// A connection that has not sent a whole request head within this is closed (slowloris).
    pub http_header_timeout: Duration,
    /// A request body that delivers nothing for this long is abandoned.
    pub http_body_timeout: Duration,
    /// At most this many HTTP connections are open at once; more wait to be accepted.
    pub http_max_connections: usize,
    /// Most bytes of compose forms (with their files) one user may have parked while
    /// logged out after a session expired (`MAILROOM_PARKED_BYTES_PER_USER`).
    pub parked_bytes_per_user: u64,
    /// Most bytes of parked compose forms in all (`MAILROOM_PARKED_BYTES_TOTAL`), so
    /// parking can never fill the disk.
    pub parked_bytes_total: u64,
    /// How long requests in flight get to finish after SIGTERM or Ctrl-C.
    pub shutdown_timeout: Duration,
    /// Who may read `GET /metrics` (`MAILROOM_METRICS`).
    pub metrics: MetricsAccess,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Human-readable lines or JSON objects.
    pub log_format: LogFormat,
    /// The ManageSieve server for mail rules (`MAILROOM_SIEVE_HOST`/`_PORT`, default the IMAP
    /// host and 4190; STARTTLS unless IMAP uses no TLS at all). `None` when
    /// `MAILROOM_SIEVE_PORT=0` turns mail rules off.
    pub sieve: Option<Endpoint>,
    /// How long one ManageSieve operation may take before the page says the server is
    /// unreachable. Not read from the environment; tests shorten it.
    pub sieve_timeout: Duration,
    /// Domains whose mail is on other servers than the defaults (`MAILROOM_SERVERS`).
    pub servers: Vec<ServerRoute>,
    /// The domain of users who log in with a bare name on the default servers
    /// (`MAILROOM_MAIL_DOMAIN`): `dave` writes as `dave@<domain>`.
    pub mail_domain: Option<String>,
    /// Whose servers may be found by DNS (`MAILROOM_SRV_LOOKUP`, RFC 6186).
    pub srv_lookup: SrvLookup,
    /// The DNS server asked for SRV records (`MAILROOM_SRV_RESOLVER`); `None`: the
    /// system's (`/etc/resolv.conf`).
    pub srv_resolver: Option<SocketAddr>,
    /// How long a user's watcher (live updates) outlives their last open page
    /// (`MAILROOM_WATCH_LINGER`).
    pub watch_linger: Duration,
    /// Most users watched at once, one IMAP connection each (`MAILROOM_MAX_WATCHERS`);
    /// 0 turns live updates off.
    pub max_watchers: usize,
    /// Most IMAP connections open at once, all users and watchers together
    /// (`MAILROOM_MAX_IMAP_CONNECTIONS`).
    pub max_imap_connections: usize,
    /// Seconds a sent message waits in the outbox so the user can undo it
    /// (`MAILROOM_UNDO_SEND`); users choose their own on `/settings`. 0: at once.
    pub undo_send: u64,
    /// Pauses between tries of a scheduled message the submission server does not take;
    /// after the last it goes to Drafts. Not read from the environment; tests shorten it.
    pub outbox_backoff: Vec<Duration>,
    /// The time zone of users who have not chosen one and whose browser did not say
    /// (`MAILROOM_DEFAULT_TIMEZONE`, an IANA name; UTC when unset).
    pub default_timezone: chrono_tz::Tz,
}

/// For which login domains Mailroom looks up `_imaps._tcp`/`_submission._tcp` SRV records
/// when the server map does not name the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvLookup {
    /// Never: unknown domains use the default servers.
    Off,
    /// These domains (and nothing else); their records may point anywhere.
    Domains(Vec<String>),
    /// Every domain, but a record's target must be the domain itself or below it, so a
    /// stranger's DNS cannot send passwords typed here to a third party's host.
    Any,
}

impl std::str::FromStr for SrvLookup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "off" | "0" | "no" => Ok(SrvLookup::Off),
            "any" | "on" | "1" | "yes" => Ok(SrvLookup::Any),
            list => list
                .split(',')
                .map(|d| normalize_domain(d).ok_or_else(|| format!("{d:?} is not a domain name")))
                .collect::<Result<Vec<_>, _>>()
                .map(SrvLookup::Domains),
        }
    }
}

/// The longest undo window a site or a user may choose, in seconds.
pub const MAX_UNDO_SEND: u64 = 60;

/// The log filter when none is set.
pub const DEFAULT_LOG: &str = "mailroom=info,tower_http=warn";

/// The TOML file's shape: every key optional, unknown keys an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    imap_host: Option<String>,
    imap_port: Option<u16>,
    imap_security: Option<Security>,
    imap_ca_file: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_security: Option<Security>,
    smtp_ca_file: Option<PathBuf>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    secret_key: Option<Secret>,
    #[serde(alias = "imap_idle_timeout_secs")]
    imap_idle_timeout: Option<u64>,
    #[serde(alias = "session_idle_timeout_secs")]
    session_idle_timeout: Option<u64>,
    #[serde(alias = "session_absolute_lifetime_secs")]
    session_absolute_lifetime: Option<u64>,
    trusted_proxies: Option<OneOrList>,
    #[serde(alias = "login_backoff_secs")]
    login_backoff: Option<u64>,
    max_message_size: Option<u64>,
    proxy_fetches_per_user: Option<usize>,
    #[serde(alias = "fetch_interval_secs")]
    fetch_interval: Option<u64>,
    #[serde(alias = "proxy_url_lifetime_secs")]
    proxy_url_lifetime: Option<u64>,
    authserv_id: Option<String>,
    #[serde(alias = "http_header_timeout_secs")]
    http_header_timeout: Option<u64>,
    #[serde(alias = "http_body_timeout_secs")]
    http_body_timeout: Option<u64>,
    http_max_connections: Option<usize>,
    parked_bytes_per_user: Option<u64>,
    parked_bytes_total: Option<u64>,
    default_timezone: Option<String>,
    secret_key_file: Option<PathBuf>,
    database_url_file: Option<PathBuf>,
    log: Option<String>,
    log_format: Option<LogFormat>,
    shutdown_timeout: Option<u64>,
    metrics: Option<String>,
    sieve_host: Option<String>,
    sieve_port: Option<u16>,
    servers: Option<servers::ServersValue>,
    mail_domain: Option<String>,
    srv_lookup: Option<String>,
    srv_resolver: Option<SocketAddr>,
    watch_linger: Option<u64>,
    max_watchers: Option<usize>,
    max_imap_connections: Option<usize>,
    undo_send: Option<u64>,
}

/// `trusted_proxies` in the file: a list, or one comma-separated string like the variable.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrList {
    One(String),
    List(Vec<String>),
}

impl OneOrList {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrList::One(s) => s.split(',').collect(),
            OneOrList::List(l) => l.iter().map(String::as_str).collect(),
        }
    }
}

/// Who may read `GET /metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Nobody: the route answers 404 (the default).
    Off,
    /// Any client (behind a proxy that keeps it private).
    Everyone,
    /// Clients from these addresses or ranges only.
    From(Vec<ipnet::IpNet>),
}

impl std::str::FromStr for MetricsAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "off" | "false" | "no" => Ok(MetricsAccess::Off),
            "1" | "on" | "true" | "yes" => Ok(MetricsAccess::Everyone),
            _ => parse_networks(s.split(',')).map(MetricsAccess::From),
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (text or json)")),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl Config {
    /// Loads the optional file, then applies `MAILROOM_*` variables from the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, |name| std::env::var(name).ok())
    }

    /// Same as [`Config::load`] with an injectable environment, so parsing is testable.
    pub fn load_from(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let fc = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::parse_file(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
                })?
            }
            None => FileConfig::default(),
        };
        Self::merge(fc, env)
    }

    fn parse_file(text: &str) -> Result<FileConfig, toml::de::Error> {
        toml::from_str(text)
    }

    fn merge(fc: FileConfig, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        fn parsed<T: std::str::FromStr>(
            env: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: fmt::Display,
        {
            match env(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse::<T>().map(Some).map_err(|e| ConfigError::Env {
                    name: name.to_owned(),
                    message: e.to_string(),
                }),
            }
        }
        let s = |name: &str| env(name).filter(|v| !v.is_empty());

        let listen = parsed(&env, "MAILROOM_LISTEN")?
            .or(fc.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = s("MAILROOM_PUBLIC_URL")
            .or(fc.public_url)
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let imap_security = parsed(&env, "MAILROOM_IMAP_SECURITY")?
            .or(fc.imap_security)
            .unwrap_or(Security::Tls);
        let imap = Endpoint {
            host: s("MAILROOM_IMAP_HOST")
                .or(fc.imap_host)
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: parsed(&env, "MAILROOM_IMAP_PORT")?
                .or(fc.imap_port)
                .unwrap_or(match imap_security {
                    Security::Tls => 993,
                    _ => 143,
                }),
            security: imap_security,
            ca_file: s("MAILROOM_IMAP_CA_FILE")
                .map(PathBuf::from)
                .or(fc.imap_ca_file),
        };
        let smtp_security = parsed(&env, "MAILROOM_SMTP_SECURITY")?
            .or(fc.smtp_security)
            .unwrap_or(Security::Starttls);
        let smtp = Endpoint {
            host: s("MAILROOM_SMTP_HOST")
                .or(fc.smtp_host)
                .unwrap_or_else(|| imap.host.clone()),
            port: parsed(&env, "MAILROOM_SMTP_PORT")?
                .or(fc.smtp_port)
                .unwrap_or(match smtp_security {
                    Security::Tls => 465,
                    _ => 587,
                }),
            security: smtp_security,
            // One site CA usually signs both servers.
            ca_file: s("MAILROOM_SMTP_CA_FILE")
                .map(PathBuf::from)
                .or(fc.smtp_ca_file)
                .or_else(|| imap.ca_file.clone()),
        };
        let data_dir = s("MAILROOM_DATA_DIR")
            .map(PathBuf::from)
            .or(fc.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = s("MAILROOM_DATABASE_URL")
            .map(Ok)
            .or_else(|| {
                s("MAILROOM_DATABASE_URL_FILE")
                    .map(|p| secret_file("MAILROOM_DATABASE_URL_FILE", p))
            })
            .transpose()?
            .or(fc.database_url)
            .map(Ok)
            .or_else(|| {
                fc.database_url_file
                    .map(|p| secret_file("database_url_file", p))
            })
            .transpose()?
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("mailroom.db").display()
                )
            });
        let secret_key = s("MAILROOM_SECRET_KEY")
            .map(Ok)
            .or_else(|| {
                s("MAILROOM_SECRET_KEY_FILE").map(|p| secret_file("MAILROOM_SECRET_KEY_FILE", p))
            })
            .transpose()?
            .map(Secret)
            .or(fc.secret_key)
            .map(Ok)
            .or_else(|| {
                fc.secret_key_file
                    .map(|p| secret_file("secret_key_file", p).map(Secret))
            })
            .transpose()?;
        let secs = |v: Option<u64>, d: u64| Duration::from_secs(v.unwrap_or(d));
        let trusted_proxies = match s("MAILROOM_TRUSTED_PROXIES") {
            Some(list) => parse_networks(list.split(',')).map_err(|message| ConfigError::Env {
                name: "MAILROOM_TRUSTED_PROXIES".to_owned(),
                message,
            })?,
            None => parse_networks(fc.trusted_proxies.iter().flat_map(OneOrList::items)).map_err(
                |message| ConfigError::Env {
                    name: "trusted_proxies (config file)".to_owned(),
                    message,
                },
            )?,
        };
        let sieve_port = parsed(&env, "MAILROOM_SIEVE_PORT")?
            .or(fc.sieve_port)
            .unwrap_or(4190);
        // ManageSieve has no implicit-TLS port: STARTTLS, as RFC 5804 §2.2 has it.
        let sieve = (sieve_port != 0).then(|| Endpoint {
            host: s("MAILROOM_SIEVE_HOST")
                .or(fc.sieve_host)
                .unwrap_or_else(|| imap.host.clone()),
            port: sieve_port,
            security: match imap.security {
                Security::None => Security::None,
                _ => Security::Starttls,
            },
            ca_file: imap.ca_file.clone(),
        });
        let servers = match s("MAILROOM_SERVERS") {
            Some(line) => parse_servers(&line, imap.ca_file.as_deref()),
            None => fc
                .servers
                .map(|v| v.parse(imap.ca_file.as_deref()))
                .unwrap_or(Ok(Vec::new())),
        }
        .map_err(|message| ConfigError::Env {
            name: "MAILROOM_SERVERS".to_owned(),
            message,
        })?;
        let mail_domain = match s("MAILROOM_MAIL_DOMAIN").or(fc.mail_domain) {
            Some(d) => Some(normalize_domain(&d).ok_or_else(|| ConfigError::Env {
                name: "MAILROOM_MAIL_DOMAIN".to_owned(),
                message: format!("{d:?} is not a domain name"),
            })?),
            None => None,
        };
        let srv_lookup = match s("MAILROOM_SRV_LOOKUP").or(fc.srv_lookup) {
            Some(v) => v.parse().map_err(|message| ConfigError::Env {
                name: "MAILROOM_SRV_LOOKUP".to_owned(),
                message,
            })?,
            None => SrvLookup::Off,
        };
        Ok(Config {
            servers,
            mail_domain,
            srv_lookup,
            srv_resolver: parsed(&env, "MAILROOM_SRV_RESOLVER")?.or(fc.srv_resolver),
            watch_linger: secs(
                parsed(&env, "MAILROOM_WATCH_LINGER")?.or(fc.watch_linger),
                90,
            ),
            max_watchers: parsed(&env, "MAILROOM_MAX_WATCHERS")?
                .or(fc.max_watchers)
                .unwrap_or(1000),
            max_imap_connections: parsed(&env, "MAILROOM_MAX_IMAP_CONNECTIONS")?
                .or(fc.max_imap_connections)
                .unwrap_or(2000)
                .max(1),
            undo_send: parsed(&env, "MAILROOM_UNDO_SEND")?
                .or(fc.undo_send)
                .unwrap_or(10)
                .min(MAX_UNDO_SEND),
            outbox_backoff: [30, 120, 600, 1800]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            sieve,
            sieve_timeout: Duration::from_secs(20),
            listen,
            public_url,
            imap,
            smtp,
            database_url,
            data_dir,
            secret_key,
            // Short: the server pays for every connection held, and a user whose browser
            // is gone should cost nothing within a minute or two (issue 10).
            imap_idle_timeout: secs(
                parsed(&env, "MAILROOM_IMAP_IDLE_TIMEOUT")?.or(fc.imap_idle_timeout),
                90,
            ),
            session_idle_timeout: secs(
                parsed(&env, "MAILROOM_SESSION_IDLE_TIMEOUT")?.or(fc.session_idle_timeout),
                8 * 3600,
            ),
            session_absolute_lifetime: secs(
                parsed(&env, "MAILROOM_SESSION_ABSOLUTE_LIFETIME")?
                    .or(fc.session_absolute_lifetime),
                7 * 24 * 3600,
            ),
            trusted_proxies,
            login_backoff_base: secs(
                parsed(&env, "MAILROOM_LOGIN_BACKOFF")?.or(fc.login_backoff),
                60,
            )
            .max(Duration::from_secs(1)),
            proxy_allow_loopback_for_tests: false,
            remote_allow_loopback_for_tests: false,
            fetch_interval: secs(
                parsed(&env, "MAILROOM_FETCH_INTERVAL")?.or(fc.fetch_interval),
                600,
            )
            .max(Duration::from_secs(60)),
            login_code_lifetime: Duration::from_secs(300),
            max_message_size: parsed(&env, "MAILROOM_MAX_MESSAGE_SIZE")?
                .or(fc.max_message_size)
                .unwrap_or(25 * 1024 * 1024),
            proxy_fetches_per_user: parsed(&env, "MAILROOM_PROXY_FETCHES_PER_USER")?
                .or(fc.proxy_fetches_per_user)
                .unwrap_or(6)
                .max(1),
            proxy_url_lifetime: secs(
                parsed(&env, "MAILROOM_PROXY_URL_LIFETIME")?.or(fc.proxy_url_lifetime),
                3600,
            )
            .max(Duration::from_secs(1)),
            // Compared case-insensitively (RFC 8601 §2.5), so kept in lower case.
            authserv_id: s("MAILROOM_AUTHSERV_ID")
                .or(fc.authserv_id)
                .map(|id| id.trim().to_ascii_lowercase())
                .filter(|id| !id.is_empty()),
            http_header_timeout: secs(
                parsed(&env, "MAILROOM_HTTP_HEADER_TIMEOUT")?.or(fc.http_header_timeout),
                30,
            )
            .clamp(Duration::from_secs(1), Duration::from_secs(30)),
            http_body_timeout: secs(
                parsed(&env, "MAILROOM_HTTP_BODY_TIMEOUT")?.or(fc.http_body_timeout),
                60,
            )
            .max(Duration::from_secs(1)),
            http_max_connections: parsed(&env, "MAILROOM_HTTP_MAX_CONNECTIONS")?
                .or(fc.http_max_connections)
                .unwrap_or(1024)
                .max(1),
            parked_bytes_per_user: parsed(&env, "MAILROOM_PARKED_BYTES_PER_USER")?
                .or(fc.parked_bytes_per_user)
                .unwrap_or(64 * 1024 * 1024),
            parked_bytes_total: parsed(&env, "MAILROOM_PARKED_BYTES_TOTAL")?
                .or(fc.parked_bytes_total)
                .unwrap_or(1024 * 1024 * 1024),
            metrics: match s("MAILROOM_METRICS").or(fc.metrics) {
                Some(v) => v.parse().map_err(|message| ConfigError::Env {
                    name: "MAILROOM_METRICS".to_owned(),
                    message,
                })?,
                None => MetricsAccess::Off,
            },
            shutdown_timeout: secs(
                parsed(&env, "MAILROOM_SHUTDOWN_TIMEOUT")?.or(fc.shutdown_timeout),
                30,
            ),
            log: s("MAILROOM_LOG")
                .or(fc.log)
                .unwrap_or_else(|| DEFAULT_LOG.to_owned()),
            log_format: parsed(&env, "MAILROOM_LOG_FORMAT")?
                .or(fc.log_format)
                .unwrap_or(LogFormat::Text),
            default_timezone: match s("MAILROOM_DEFAULT_TIMEZONE").or(fc.default_timezone) {
                Some(v) => crate::zone::parse(&v).ok_or_else(|| ConfigError::Env {
                    name: "MAILROOM_DEFAULT_TIMEZONE".to_owned(),
                    message: format!("{v:?} is not an IANA time zone name (like Europe/Paris)"),
                })?,
                None => chrono_tz::Tz::UTC,
            },
        })
    }

    /// Whether cookies must carry `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        // URL schemes are case-insensitive (RFC 3986 §3.1): `HTTPS://` is https too.
        self.public_url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    }
}

/// One row of the README's configuration table, the one list of settings: `mailroom
/// --help` prints it and a test checks that the parser takes every row and that every
/// setting has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documented {
    /// `MAILROOM_…`; the file key is the same without the prefix, in lower case.
    pub var: String,
    pub default: String,
    pub meaning: String,
}

impl Documented {
    /// The TOML key for this setting.
    pub fn file_key(&self) -> String {
        self.var
            .trim_start_matches("MAILROOM_")
            .to_ascii_lowercase()
    }
}

/// The README's configuration table, built into the binary.
pub fn documented() -> Vec<Documented> {
    parse_table(include_str!("../README.md"))
}

/// The rows of a Markdown table whose first cell is a `` `MAILROOM_…` `` variable;
/// Markdown marks (backticks, bold) are dropped from the cells.
fn parse_table(markdown: &str) -> Vec<Documented> {
    let plain = |cell: &str| cell.trim().replace(['`'], "").replace("**", "");
    markdown
        .lines()
        .filter(|l| l.starts_with("| `MAILROOM_"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').splitn(3, " | ").collect();
            match cells.as_slice() {
                [var, default, meaning] => Some(Documented {
                    var: plain(var),
                    default: plain(default),
                    meaning: plain(meaning),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Every setting as `mailroom --help` lists it: variable, default, meaning.
pub fn settings_help() -> String {
    let mut out = String::from(
        "Settings (environment variables; in the --config TOML file the same names in lower \
         case without MAILROOM_; the environment wins):\n",
    );
    for d in documented() {
        out.push_str(&format!(
            "  {}  [default: {}]\n      {}\n",
            d.var, d.default, d.meaning
        ));
    }
    out
}

/// Reads a secret from a file (`…_FILE` settings, for Docker and systemd credentials);
/// a trailing newline is not part of it.
fn secret_file(name: &str, path: impl Into<PathBuf>) -> Result<String, ConfigError> {
    let path = path.into();
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Env {
        name: name.to_owned(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Parses a list of IP addresses and CIDR ranges (`10.0.0.0/8`, `::1`); a bare address
/// is a single-host range. Blank items are skipped, so `a, b,` is fine.
fn parse_networks<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<ipnet::IpNet>, String> {
    items
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("{item:?} is not an IP address or CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.imap.port, 993);
        assert_eq!(c.smtp.port, 587);
        assert!(c.database_url.starts_with("sqlite://"));
        assert!(!c.secure_cookies());
    }

    #[test]
    fn fetch_interval_defaults_reads_and_has_a_floor() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.fetch_interval, Duration::from_secs(600));
        assert!(!c.remote_allow_loopback_for_tests);
        let fc = Config::parse_file("fetch_interval = 1800\n").unwrap();
        let c = Config::merge(fc, env(&[])).unwrap();
        assert_eq!(c.fetch_interval, Duration::from_secs(1800));
        let c = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_FETCH_INTERVAL", "5")]),
        )
        .unwrap();
        assert_eq!(
            c.fetch_interval,
            Duration::from_secs(60),
            "at least a minute"
        );
        assert!(Config::parse_file("remote_allow_loopback_for_tests = true").is_err());
    }

    #[test]
    fn env_overrides_file() {
        let fc = Config::parse_file("imap_host = \"mail.example\"\nimap_port = 1143\n").unwrap();
        let c = Config::merge(
            fc,
            env(&[
                ("MAILROOM_IMAP_PORT", "2143"),
                ("MAILROOM_IMAP_SECURITY", "starttls"),
                ("MAILROOM_PUBLIC_URL", "https://mail.example/"),
            ]),
        )
        .unwrap();
        assert_eq!(c.imap.host, "mail.example");
        assert_eq!(c.imap.port, 2143);
        assert_eq!(c.imap.security, Security::Starttls);
        assert_eq!(c.public_url, "https://mail.example");
        assert!(c.secure_cookies());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        assert!(Config::parse_file("imap_hots = \"x\"").is_err());
        let err = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_IMAP_SECURITY", "ssl")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("MAILROOM_IMAP_SECURITY"));
    }

    #[test]
    fn lifetimes_backoff_and_trusted_proxies() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(
            c.session_absolute_lifetime,
            Duration::from_secs(7 * 24 * 3600)
        );
        assert_eq!(c.login_backoff_base, Duration::from_secs(60));
        assert!(c.trusted_proxies.is_empty());
        assert!(!c.proxy_allow_loopback_for_tests);

        let fc = Config::parse_file(
            "session_absolute_lifetime_secs = 3600\ntrusted_proxies = [\"10.1.2.3\"]\nlogin_backoff_secs = 5\n",
        )
        .unwrap();
        let c = Config::merge(fc, env(&[("MAILROOM_SESSION_IDLE_TIMEOUT", "600")])).unwrap();
        assert_eq!(c.session_absolute_lifetime, Duration::from_secs(3600));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(600));
        assert_eq!(c.login_backoff_base, Duration::from_secs(5));
        assert_eq!(c.trusted_proxies, vec!["10.1.2.3/32".parse().unwrap()]);

        let c = Config::merge(
            FileConfig::default(),
            env(&[
                (
                    "MAILROOM_TRUSTED_PROXIES",
                    " 127.0.0.1, 10.0.0.0/8 ,fd00::/8,::1,",
                ),
                ("MAILROOM_SESSION_ABSOLUTE_LIFETIME", "120"),
                ("MAILROOM_LOGIN_BACKOFF", "0"),
            ]),
        )
        .unwrap();
        let nets: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8", "::1/128"]);
        assert_eq!(c.session_absolute_lifetime, Duration::from_secs(120));
        assert_eq!(
            c.login_backoff_base,
            Duration::from_secs(1),
            "at least a second"
        );
        // Host bits are cleared, so `10.1.2.3/8` means what it says: all of 10/8.
        let c = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_TRUSTED_PROXIES", "10.1.2.3/8")]),
        )
        .unwrap();
        assert_eq!(c.trusted_proxies[0].to_string(), "10.0.0.0/8");

        for bad in ["10.0.0.0/33", "proxy.local", "127.0.0.1:80", "1.2.3"] {
            let err = Config::merge(
                FileConfig::default(),
                env(&[("MAILROOM_TRUSTED_PROXIES", bad)]),
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("MAILROOM_TRUSTED_PROXIES"),
                "{bad}"
            );
        }
        assert!(
            Config::merge(
                FileConfig::default(),
                env(&[("MAILROOM_SESSION_ABSOLUTE_LIFETIME", "a week")]),
            )
            .is_err()
        );
        // The test-only proxy switch has no file key.
        assert!(Config::parse_file("proxy_allow_loopback_for_tests = true").is_err());
    }

    #[test]
    fn image_proxy_and_authserv_id() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.proxy_fetches_per_user, 6);
        assert_eq!(c.proxy_url_lifetime, Duration::from_secs(3600));
        assert_eq!(c.authserv_id, None, "no authserv-id unless configured");
        let fc = Config::parse_file(
            "proxy_fetches_per_user = 3\nproxy_url_lifetime_secs = 600\nauthserv_id = \"mx.file.example\"\n",
        )
        .unwrap();
        let c = Config::merge(fc, env(&[])).unwrap();
        assert_eq!(c.proxy_fetches_per_user, 3);
        assert_eq!(c.proxy_url_lifetime, Duration::from_secs(600));
        assert_eq!(c.authserv_id.as_deref(), Some("mx.file.example"));
        let c = Config::merge(
            FileConfig::default(),
            env(&[
                ("MAILROOM_PROXY_FETCHES_PER_USER", "0"),
                ("MAILROOM_PROXY_URL_LIFETIME", "120"),
                ("MAILROOM_AUTHSERV_ID", " MX.Example.ORG "),
            ]),
        )
        .unwrap();
        assert_eq!(c.proxy_fetches_per_user, 1, "at least one");
        assert_eq!(c.proxy_url_lifetime, Duration::from_secs(120));
        assert_eq!(c.authserv_id.as_deref(), Some("mx.example.org"));
        assert!(
            Config::merge(
                FileConfig::default(),
                env(&[("MAILROOM_PROXY_FETCHES_PER_USER", "many")]),
            )
            .is_err()
        );
    }

    #[test]
    fn http_limits() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.http_header_timeout, Duration::from_secs(30));
        assert_eq!(c.http_body_timeout, Duration::from_secs(60));
        assert_eq!(c.http_max_connections, 1024);
        let fc = Config::parse_file("http_header_timeout_secs = 10\nhttp_max_connections = 50\n")
            .unwrap();
        let c = Config::merge(
            fc,
            env(&[
                ("MAILROOM_HTTP_BODY_TIMEOUT", "5"),
                ("MAILROOM_HTTP_MAX_CONNECTIONS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http_header_timeout, Duration::from_secs(10));
        assert_eq!(c.http_body_timeout, Duration::from_secs(5));
        assert_eq!(c.http_max_connections, 7);
        // The header timeout never exceeds 30 s, and none of them is zero.
        let c = Config::merge(
            FileConfig::default(),
            env(&[
                ("MAILROOM_HTTP_HEADER_TIMEOUT", "600"),
                ("MAILROOM_HTTP_BODY_TIMEOUT", "0"),
                ("MAILROOM_HTTP_MAX_CONNECTIONS", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http_header_timeout, Duration::from_secs(30));
        assert_eq!(c.http_body_timeout, Duration::from_secs(1));
        assert_eq!(c.http_max_connections, 1);
        assert!(
            Config::merge(
                FileConfig::default(),
                env(&[("MAILROOM_HTTP_MAX_CONNECTIONS", "many")]),
            )
            .is_err()
        );
    }

    #[test]
    fn https_scheme_is_matched_in_any_case() {
        for (url, secure) in [
            ("HTTPS://mail.example", true),
            ("Https://mail.example/", true),
            ("https://mail.example", true),
            ("http://mail.example", false),
            ("HTTP://mail.example", false),
            ("httpsx://mail.example", false),
            ("ht", false),
        ] {
            let c =
                Config::merge(FileConfig::default(), env(&[("MAILROOM_PUBLIC_URL", url)])).unwrap();
            assert_eq!(c.secure_cookies(), secure, "{url}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_SECRET_KEY", "hunter2")]),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    /// A value for each documented setting, unlike its default.
    fn example(var: &str, secret_file: &str, url_file: &str) -> String {
        let v = match var {
            "MAILROOM_LISTEN" => "127.0.0.1:9090",
            "MAILROOM_PUBLIC_URL" => "https://mail.example",
            "MAILROOM_IMAP_HOST" => "imap.example",
            "MAILROOM_IMAP_PORT" => "1993",
            "MAILROOM_IMAP_SECURITY" => "starttls",
            "MAILROOM_IMAP_CA_FILE" => "/etc/ssl/site-ca.pem",
            "MAILROOM_SMTP_HOST" => "smtp.example",
            "MAILROOM_SMTP_PORT" => "2587",
            "MAILROOM_SMTP_SECURITY" => "tls",
            "MAILROOM_SMTP_CA_FILE" => "/etc/ssl/smtp-ca.pem",
            "MAILROOM_DATABASE_URL" => "sqlite:///var/lib/mailroom/m.db",
            "MAILROOM_DATABASE_URL_FILE" => url_file,
            "MAILROOM_DATA_DIR" => "/var/lib/mailroom",
            "MAILROOM_SECRET_KEY" => "0123456789abcdef0123456789abcdef-example",
            "MAILROOM_SECRET_KEY_FILE" => secret_file,
            "MAILROOM_IMAP_IDLE_TIMEOUT" => "120",
            "MAILROOM_SESSION_IDLE_TIMEOUT" => "600",
            "MAILROOM_SESSION_ABSOLUTE_LIFETIME" => "3600",
            "MAILROOM_TRUSTED_PROXIES" => "10.0.0.1, 10.1.0.0/16",
            "MAILROOM_LOGIN_BACKOFF" => "30",
            "MAILROOM_MAX_MESSAGE_SIZE" => "1000000",
            "MAILROOM_PROXY_FETCHES_PER_USER" => "3",
            "MAILROOM_PROXY_URL_LIFETIME" => "600",
            "MAILROOM_FETCH_INTERVAL" => "900",
            "MAILROOM_AUTHSERV_ID" => "mx.example",
            "MAILROOM_HTTP_HEADER_TIMEOUT" => "10",
            "MAILROOM_HTTP_BODY_TIMEOUT" => "20",
            "MAILROOM_HTTP_MAX_CONNECTIONS" => "50",
            "MAILROOM_PARKED_BYTES_PER_USER" => "1000",
            "MAILROOM_PARKED_BYTES_TOTAL" => "5000",
            "MAILROOM_LOG" => "mailroom=debug",
            "MAILROOM_LOG_FORMAT" => "json",
            "MAILROOM_SHUTDOWN_TIMEOUT" => "5",
            "MAILROOM_METRICS" => "127.0.0.1, 10.0.0.0/8",
            "MAILROOM_SIEVE_HOST" => "sieve.example",
            "MAILROOM_SIEVE_PORT" => "14190",
            "MAILROOM_SERVERS" => "example.org imap=imaps://mail.example.org login=local",
            "MAILROOM_MAIL_DOMAIN" => "example.com",
            "MAILROOM_SRV_LOOKUP" => "example.org, example.net",
            "MAILROOM_SRV_RESOLVER" => "127.0.0.1:5353",
            "MAILROOM_WATCH_LINGER" => "30",
            "MAILROOM_MAX_WATCHERS" => "50",
            "MAILROOM_MAX_IMAP_CONNECTIONS" => "40",
            "MAILROOM_UNDO_SEND" => "5",
            "MAILROOM_DEFAULT_TIMEZONE" => "Asia/Shanghai",
            other => panic!("add an example value for {other} to this test"),
        };
        v.to_owned()
    }

    /// Issue 11 item 5: the README's table is the configuration. Every row's variable and
    /// its file key are accepted and change the same thing; every file key and every
    /// variable the code reads has a row.
    #[test]
    fn the_readme_table_is_the_configuration() {
        let rows = documented();
        assert!(rows.len() >= 30, "{rows:?}");
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "a-secret-from-a-file-0123456789abcdef\n").unwrap();
        let url = dir.path().join("url");
        std::fs::write(&url, "sqlite:///srv/mailroom/from-file.db\n").unwrap();
        let (secret, url) = (secret.display().to_string(), url.display().to_string());

        let base = format!(
            "{:?}",
            Config::merge(FileConfig::default(), env(&[])).unwrap()
        );
        for row in &rows {
            let value = example(&row.var, &secret, &url);
            let by_env = Config::merge(FileConfig::default(), env(&[(&row.var, &value)]))
                .unwrap_or_else(|e| panic!("{}={value}: {e}", row.var));
            let by_env = format!("{by_env:?}");
            assert_ne!(by_env, base, "{} changes nothing", row.var);
            let toml = match value.parse::<u64>() {
                Ok(n) => format!("{} = {n}", row.file_key()),
                Err(_) => format!("{} = {:?}", row.file_key(), value),
            };
            let file = Config::parse_file(&toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
            let by_file = format!("{:?}", Config::merge(file, env(&[])).unwrap());
            assert_eq!(by_file, by_env, "{toml} differs from {}", row.var);
        }

        // serde names every key it takes when it meets one it does not.
        let err = Config::parse_file("no_such_key = 1")
            .unwrap_err()
            .to_string();
        let expected = err.split("expected one of").nth(1).expect("serde's list");
        let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(keys.len() >= 30, "{err}");
        let documented_keys: Vec<String> = rows.iter().map(Documented::file_key).collect();
        // Old files' `…_secs` spellings are still read, as aliases of the documented keys.
        let current = keys.iter().filter(|k| {
            k.strip_suffix("_secs")
                .is_none_or(|base| !keys.contains(&base))
        });
        for key in current {
            assert!(
                documented_keys.iter().any(|k| k == key),
                "file key {key} has no README row"
            );
        }
        // Every variable read in this file (outside the tests) has a row.
        let source = include_str!("config.rs");
        let code = source.split("#[cfg(test)]").next().unwrap();
        let is_var = |w: &&str| {
            w.strip_prefix("MAILROOM_").is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        };
        for var in code.split('"').filter(is_var) {
            assert!(rows.iter().any(|r| r.var == var), "{var} has no README row");
        }
    }

    #[test]
    fn secrets_come_from_files_and_a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-the-file-0123456789abcdef0123456789\r\n").unwrap();
        let p = path.display().to_string();
        let c = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_SECRET_KEY_FILE", &p)]),
        )
        .unwrap();
        assert_eq!(
            c.secret_key.as_ref().map(Secret::expose),
            Some("from-the-file-0123456789abcdef0123456789")
        );
        // The value itself wins over the file.
        let c = Config::merge(
            FileConfig::default(),
            env(&[
                ("MAILROOM_SECRET_KEY_FILE", &p),
                ("MAILROOM_SECRET_KEY", "direct"),
            ]),
        )
        .unwrap();
        assert_eq!(c.secret_key.as_ref().map(Secret::expose), Some("direct"));
        let err = Config::merge(
            FileConfig::default(),
            env(&[("MAILROOM_DATABASE_URL_FILE", "/nonexistent/db-url")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("MAILROOM_DATABASE_URL_FILE") && err.contains("/nonexistent/db-url"),
            "{err}"
        );
    }

    #[test]
    fn parked_form_caps() {
        let c = Config::merge(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.parked_bytes_per_user, 64 * 1024 * 1024);
        assert_eq!(c.parked_bytes_total, 1024 * 1024 * 1024);
        let fc = Config::parse_file("parked_bytes_per_user = 1000\nparked_bytes_total = 5000\n")
            .unwrap();
        let c = Config::merge(fc, env(&[("MAILROOM_PARKED_BYTES_TOTAL", "7000")])).unwrap();
        assert_eq!(c.parked_bytes_per_user, 1000);
        assert_eq!(c.parked_bytes_total, 7000);
        assert!(
            Config::merge(
                FileConfig::default(),
                env(&[("MAILROOM_PARKED_BYTES_PER_USER", "lots")]),
            )
            .is_err()
        );
    }

    #[test]
    fn sieve_endpoint() {
        let c = Config::merge(
            FileConfig::default(),
            env(&[
                ("MAILROOM_IMAP_HOST", "mail.example"),
                ("MAILROOM_IMAP_CA_FILE", "/ca.pem"),
            ]),
        )
        .unwrap();
        let sieve = c.sieve.unwrap();
        assert_eq!(sieve.host, "mail.example");
        assert_eq!(sieve.port, 4190);
        assert_eq!(sieve.security, Security::Starttls);
        assert_eq!(
            sieve.ca_file.as_deref(),
            Some(std::path::Path::new("/ca.pem"))
        );
        let fc = Config::parse_file("sieve_host = \"sieve.example\"\nsieve_port = 2000\n").unwrap();
        let c = Config::merge(
            fc,
            env(&[
                ("MAILROOM_SIEVE_PORT", "4191"),
                ("MAILROOM_IMAP_SECURITY", "none"),
            ]),
        )
        .unwrap();
        let sieve = c.sieve.unwrap();
        assert_eq!((sieve.host.as_str(), sieve.port), ("sieve.example", 4191));
        assert_eq!(sieve.security, Security::None);
        let c = Config::merge(FileConfig::default(), env(&[("MAILROOM_SIEVE_PORT", "0")])).unwrap();
        assert!(c.sieve.is_none());
        assert!(
            Config::merge(FileConfig::default(), env(&[("MAILROOM_SIEVE_PORT", "x")])).is_err()
        );
    }
}
