//! Building and running the application: shared state, the secret key, the session layer,
//! and the HTTP listener. `App::build` is what both `main` and the tests call.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, SameSite};
use tokio::net::TcpListener;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::Key};

use crate::{config::Config, imap::Imap, mime::ImageProxy, store};

/// Names and flags of Mailroom's own cookies. Over https they get the `__Host-` prefix,
/// which makes browsers refuse them unless Secure, host-only and on path `/`.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    pub secure: bool,
    pub session: String,
    /// Holds the per-login key that unseals the IMAP password.
    pub key: String,
    pub csrf: String,
    pub lang: String,
    /// The known-device entries that let a browser past a username lock (`web::tokens`).
    pub device: String,
    /// Tokens of the browsers that may skip the two-factor code (`web::twofactor`).
    pub remember: String,
}

impl CookiePolicy {
    fn new(secure: bool) -> Self {
        let p = if secure { "__Host-" } else { "" };
        CookiePolicy {
            secure,
            session: format!("{p}mailroom_session"),
            key: format!("{p}mailroom_key"),
            csrf: format!("{p}mailroom_csrf"),
            lang: format!("{p}mailroom_lang"),
            device: format!("{p}mailroom_device"),
            remember: format!("{p}mailroom_2fa"),
        }
    }

    /// A cookie with Mailroom's flags: HttpOnly, SameSite=Lax, path `/`, Secure over https.
    pub fn build(&self, name: String, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .build()
    }

    /// A cookie that deletes `name`.
    pub fn removal(&self, name: String) -> Cookie<'static> {
        let mut c = self.build(name, String::new());
        c.make_removal();
        c
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub imap: Imap,
    pub db: store::Db,
    pub cookies: Arc<CookiePolicy>,
    /// Signs the image-proxy URLs the sanitizer writes and checks them in `/proxy`.
    pub image_proxy: ImageProxy,
    /// The image proxy's HTTP client (with its address checks).
    pub image_fetcher: crate::web::proxy::ImageFetcher,
    /// The cookie key, for Mailroom's own sealed cookies (the resume cookie).
    pub cookie_key: Key,
    /// Signs CSRF tokens and known-device entries.
    pub keys: Arc<crate::web::tokens::Keys>,
    /// The last readiness probe, shared by `/readyz` callers.
    pub readiness: Arc<crate::health::Readiness>,
    /// The ManageSieve endpoint for mail rules.
    pub sieve: crate::sieve::Sieve,
    /// Which servers serve which login domain.
    pub directory: Arc<crate::directory::Directory>,
    /// One IMAP watcher per user with a page open (`GET /events`).
    pub live: Arc<crate::live::Live>,
    /// Messages waiting for their send time (send later, undo send).
    pub outbox: Arc<crate::send::outbox::Outbox>,
    /// Fetches mail from the users' other mailboxes.
    pub fetcher: crate::fetch::Fetcher,
    /// Body documents the message page rendered, for its iframe (`web::rendered`).
    pub bodies: crate::web::rendered::BodyCache,
}

/// A built application, bound to its port but not yet serving.
pub struct App {
    listener: TcpListener,
    router: Router,
    address: SocketAddr,
    limits: crate::server::Limits,
    /// Started by [`App::run`]: the outbox worker lives as long as the server.
    outbox: Arc<crate::send::outbox::Outbox>,
}

impl App {
    /// Opens the database, prepares IMAP and sessions, and binds the listener
    /// (port 0 picks a free port; see [`App::address`]).
    pub async fn build(config: Config) -> anyhow::Result<App> {
        // ring is the one crypto provider in the tree; installing it up front keeps any
        // crate that would pick a default from panicking.
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let key = load_or_create_key(&config)?;
        let image_proxy = ImageProxy::new(key.master());
        let keys = Arc::new(crate::web::tokens::Keys::new(key.master()));
        let db = store::connect(&config.database_url).await?;

        let session_store = store::sessions::Sessions::open(&db)
            .await
            .context("session table migration failed")?;
        spawn_expired_session_cleanup(session_store.clone());
        store::compose::spawn_sweeper(db.clone());

        let imap = Imap::new(config.imap.clone(), config.imap_idle_timeout)
            .context("invalid IMAP settings")?
            .with_connection_cap(config.max_imap_connections);
        let cookies = Arc::new(CookiePolicy::new(config.secure_cookies()));
        let idle = time::Duration::try_from(config.session_idle_timeout)
            .unwrap_or(time::Duration::hours(8));
        let sessions = SessionManagerLayer::new(session_store)
            .with_name(cookies.session.clone())
            .with_secure(cookies.secure)
            .with_http_only(true)
            .with_same_site(tower_sessions::cookie::SameSite::Lax)
            .with_path("/")
            // tower-sessions writes a session only when its data changes, which alone would
            // never push the inactivity expiry back: `web::session::keep_alive` changes it
            // often enough to keep the idle timeout real, without a write per request.
            .with_expiry(Expiry::OnInactivity(idle))
            .with_private(key.clone());

        let live = crate::live::Live::new(imap.clone(), config.watch_linger, config.max_watchers);
        let outbox = crate::send::outbox::Outbox::new(
            db.clone(),
            crate::send::Mailer::from_config(imap.clone(), db.clone(), &config),
            key.master(),
            config.outbox_backoff.clone(),
        );

        let fetcher = crate::fetch::Fetcher::new(
            db.clone(),
            imap.clone(),
            key.master(),
            config.remote_allow_loopback_for_tests,
            config.fetch_interval,
        );
        let state = AppState {
            fetcher,
            bodies: Default::default(),
            config: Arc::new(config.clone()),
            live,
            outbox,
            imap,
            db,
            cookies,
            image_proxy,
            image_fetcher: crate::web::proxy::ImageFetcher::new(
                config.proxy_allow_loopback_for_tests,
                config.proxy_fetches_per_user,
            )
            .context("cannot build the image proxy's HTTP client")?,
            cookie_key: key,
            keys,
            readiness: Arc::default(),
            sieve: crate::sieve::Sieve::new(config.sieve.clone(), config.sieve_timeout)
                .map_err(anyhow::Error::msg)
                .context("invalid ManageSieve settings")?,
            directory: Arc::new(
                crate::directory::Directory::new(&config)
                    .map_err(anyhow::Error::msg)
                    .context("invalid server map or SRV settings")?,
            ),
        };
        let limits = crate::server::Limits {
            header_read_timeout: config.http_header_timeout,
            max_connections: config.http_max_connections,
            drain: config.shutdown_timeout,
        };
        let outbox = state.outbox.clone();
        let router = crate::web::router(state, sessions);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        Ok(App {
            listener,
            router,
            address,
            limits,
            outbox,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until Ctrl-C / SIGTERM, then finishes in-flight requests.
    pub async fn run(self) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "Mailroom listening");
        // Under systemd (`Type=notify`), say we are ready only once the port is bound.
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        // Every instance sends due messages (the database gives each to one of them); the
        // worker stops with the server, also when this future is dropped.
        let worker = AbortOnDrop(tokio::spawn(self.outbox.run()));
        let trimmer = AbortOnDrop(tokio::spawn(give_back_memory()));
        crate::server::serve(self.listener, self.router, self.limits, shutdown_signal()).await;
        drop((worker, trimmer));
        Ok(())
    }
}

/// Every 10 s, hands memory the allocator keeps but no longer uses back to the system.
/// glibc's allocator keeps freed memory in each thread's arena; after a burst (a big
/// folder's link index read, many pages at once) that stayed counted against us (and
/// against the mail server's machine) long after. `malloc_trim` releases it; costs well
/// under a millisecond on the blocking pool.
async fn give_back_memory() {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `malloc_trim` only releases free memory; it takes the arenas' locks
        // itself and is safe to call from any thread at any time.
        let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn spawn_expired_session_cleanup(store: store::sessions::Sessions) {
    use tower_sessions::ExpiredDeletion;
    tokio::spawn(async move {
        if let Err(e) = store
            .continuously_delete_expired(tokio::time::Duration::from_secs(600))
            .await
        {
            tracing::warn!(error = %e, "expired-session cleanup stopped");
        }
    });
}

/// The cookie key: derived from `MAILROOM_SECRET_KEY` when given, else generated once and
/// kept in the data dir, so a restart does not log everyone out.
fn load_or_create_key(config: &Config) -> anyhow::Result<Key> {
    let material = match &config.secret_key {
        Some(s) => {
            anyhow::ensure!(
                s.expose().len() >= 32,
                "MAILROOM_SECRET_KEY must be at least 32 characters"
            );
            s.expose().as_bytes().to_vec()
        }
        None => {
            let path = config.data_dir.join("secret.key");
            match std::fs::read_to_string(&path) {
                Ok(text) => hex::decode(text.trim()).context("data dir secret.key is corrupt")?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = Key::generate();
                    write_private(&path, &hex::encode(key.master()))?;
                    key.master().to_vec()
                }
                Err(e) => return Err(e).context("cannot read data dir secret.key"),
            }
        }
    };
    Ok(if material.len() >= 64 {
        Key::from(&material)
    } else {
        Key::derive_from(&material)
    })
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
