//! Mail rules kept on the mail server: ManageSieve (RFC 5804) with the user's own login.
//!
//! The server runs the rules as mail arrives, so they work while nobody is logged in.
//! Mailroom writes one script, [`SCRIPT_NAME`], and leaves the user's other scripts alone.
//! - [`client`]: the protocol on a byte stream (unit-tested against recorded replies).
//! - [`script`]: the rule model, written as readable Sieve and read back.
//! - this file: connecting (TCP, STARTTLS or TLS as configured, the same TLS setup as
//!   IMAP), logging in, and the few operations the settings pages need, each under one
//!   timeout so a slow server gives an error page rather than a hung request.
//!
//! The password goes out with SASL PLAIN only over TLS, or to a loopback address.

pub mod client;
pub mod script;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rustls::pki_types::ServerName;
use tokio::{net::TcpStream, time::timeout};
use tokio_rustls::TlsConnector;

use self::client::Client;
pub use self::client::{ScriptEntry, SieveError};
use crate::{
    config::{Endpoint, Security},
    imap::{Account, Transport, tls_connector, tls_connector_for},
};

/// The one script Mailroom writes.
pub const SCRIPT_NAME: &str = "mailroom";
/// How long the settings page waits to learn whether the server speaks ManageSieve.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long that answer is remembered.
const PROBE_MEMORY: Duration = Duration::from_secs(60);

/// A logged-in ManageSieve connection.
pub type Conn = Client<Transport>;

/// The ManageSieve endpoint and its TLS setup; cheap to clone.
#[derive(Clone)]
pub struct Sieve {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: the site turned the feature off.
    endpoint: Option<Endpoint>,
    tls: TlsConnector,
    /// How long one operation (connect, log in, its commands) may take.
    timeout: Duration,
    /// The last probe's answer and when it was taken, per server (host, port).
    probe: Mutex<HashMap<(String, u16), (Instant, bool)>>,
    /// One lock per user: saves of one user in this process run one after another.
    saving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// How often [`Sieve::update`] starts over when the script changes under it.
const UPDATE_ATTEMPTS: usize = 5;

/// A short fingerprint of Mailroom's script text (`None`: no script yet). The forms carry
/// it, so a save can tell whether the script changed since the form was shown.
pub fn version(text: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let normalized = text.map(|t| t.replace("\r\n", "\n"));
    let digest = Sha256::digest(normalized.as_deref().unwrap_or("").as_bytes());
    let tag = if text.is_some() { "s" } else { "n" };
    format!("{tag}{}", hex::encode(&digest[..8]))
}

/// What [`Sieve::update`] did.
#[derive(Debug)]
pub enum Update<E> {
    /// The change is in the script on the server.
    Saved {
        saved: Saved,
        /// The script had changed since `base` (another window or instance saved):
        /// the change was applied onto that newer script.
        merged: bool,
    },
    /// The change could not be applied to the script as it is now.
    Refused(E),
    /// Mailroom's script was edited by hand: it is not rewritten.
    Foreign,
}

impl std::fmt::Debug for Sieve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sieve")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

/// The user's scripts as the settings pages need them.
#[derive(Debug)]
pub struct State {
    pub scripts: Vec<ScriptEntry>,
    /// Mailroom's script: `None` when there is none yet.
    pub ours: Option<script::Parsed>,
    /// Its text, for the advanced editor.
    pub ours_text: Option<String>,
    pub ours_active: bool,
    /// Another script that is active (name, text): replacing it needs the user's consent.
    pub other_active: Option<(String, String)>,
}

impl State {
    /// The rules to edit; `None` when Mailroom's script is foreign (edited by hand).
    pub fn rules(&self) -> Option<script::Rules> {
        match &self.ours {
            None => Some(script::Rules::default()),
            Some(script::Parsed::Ours(r)) => Some(r.clone()),
            Some(script::Parsed::Foreign) => None,
        }
    }
}

/// What saving did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Stored and active.
    Active,
    /// Stored, but another script stays active until the user agrees to replace it.
    Inactive,
}

impl Sieve {
    /// Prepares the endpoint (`None` turns mail rules off); `timeout` bounds each operation.
    pub fn new(endpoint: Option<Endpoint>, timeout: Duration) -> Result<Sieve, String> {
        let ca = endpoint.as_ref().and_then(|e| e.ca_file.as_deref());
        Ok(Sieve {
            inner: Arc::new(Inner {
                tls: tls_connector(ca)?,
                timeout,
                endpoint,
                probe: Mutex::default(),
                saving: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The ManageSieve server of `account`: its domain's (`crate::directory`), else the
    /// site's.
    fn endpoint<'a>(&'a self, account: &'a Account) -> Option<&'a Endpoint> {
        match &account.server {
            Some(server) => server.sieve.as_ref(),
            None => self.inner.endpoint.as_ref(),
        }
    }

    /// The TLS setup for `endpoint`: the site's, or one for a server map entry's own CA.
    fn tls(&self, account: &Account, endpoint: &Endpoint) -> Result<TlsConnector, SieveError> {
        match account.server {
            None => Ok(self.inner.tls.clone()),
            Some(_) => {
                tls_connector_for(endpoint.ca_file.as_deref()).map_err(SieveError::Unreachable)
            }
        }
    }

    /// Whether `account` has a ManageSieve server configured at all.
    pub fn configured(&self, account: &Account) -> bool {
        self.endpoint(account).is_some()
    }

    /// Whether `account`'s server greets as a ManageSieve server; remembered for a
    /// minute, so the settings page does not connect on every view.
    pub async fn available(&self, account: &Account) -> bool {
        let Some(endpoint) = self.endpoint(account) else {
            return false;
        };
        let key = (endpoint.host.clone(), endpoint.port);
        if let Ok(guard) = self.inner.probe.lock()
            && let Some((at, ok)) = guard.get(&key)
            && at.elapsed() < PROBE_MEMORY
        {
            return *ok;
        }
        let ok = matches!(
            timeout(PROBE_TIMEOUT.min(self.inner.timeout), async {
                connect(endpoint, &self.tls(account, endpoint)?).await
            })
            .await,
            Ok(Ok(_))
        );
        if let Ok(mut guard) = self.inner.probe.lock() {
            // Bounded: one entry per configured or DNS-found server seen in a minute.
            guard.retain(|_, (at, _)| at.elapsed() < PROBE_MEMORY);
            guard.insert(key, (Instant::now(), ok));
        }
        ok
    }

    /// Connects and logs in as `account`.
    async fn session(&self, account: &Account) -> Result<Conn, SieveError> {
        let endpoint = self
            .endpoint(account)
            .ok_or_else(|| SieveError::Unreachable("ManageSieve is turned off".into()))?;
        let (mut conn, secure) = connect(endpoint, &self.tls(account, endpoint)?).await?;
        if !password_allowed(secure, &endpoint.host) {
            return Err(SieveError::InsecureAuth);
        }
        conn.authenticate_plain(account.login_name(), account.password.expose())
            .await?;
        Ok(conn)
    }

    /// Runs `op` on a fresh logged-in connection under the operation timeout.
    async fn with<T>(
        &self,
        account: &Account,
        op: impl AsyncFnOnce(&mut Conn) -> Result<T, SieveError>,
    ) -> Result<T, SieveError> {
        let work = async {
            let mut conn = self.session(account).await?;
            let result = op(&mut conn).await;
            conn.logout().await;
            result
        };
        timeout(self.inner.timeout, work).await.map_err(|_| {
            SieveError::Unreachable("the ManageSieve server did not answer in time".into())
        })?
    }

    /// Reads the script list, Mailroom's script and any other active script.
    pub async fn load(&self, account: &Account) -> Result<State, SieveError> {
        self.with(account, async |conn| {
            let scripts = conn.list_scripts().await?;
            let mut state = State {
                ours: None,
                ours_text: None,
                ours_active: false,
                other_active: None,
                scripts: Vec::new(),
            };
            for s in &scripts {
                if s.name == SCRIPT_NAME {
                    let text = conn.get_script(&s.name).await?;
                    state.ours = Some(script::parse(&text));
                    state.ours_text = Some(text);
                    state.ours_active = s.active;
                } else if s.active {
                    let text = conn.get_script(&s.name).await?;
                    state.other_active = Some((s.name.clone(), text));
                }
            }
            state.scripts = scripts;
            Ok(state)
        })
        .await
    }

    /// Stores `text` as Mailroom's script. It becomes active unless another script is
    /// active and `replace_other` is false.
    pub async fn save(
        &self,
        account: &Account,
        text: &str,
        replace_other: bool,
    ) -> Result<Saved, SieveError> {
        self.with(account, async |conn| {
            let scripts = conn.list_scripts().await?;
            conn.put_script(SCRIPT_NAME, text).await?;
            let other = scripts.iter().any(|s| s.active && s.name != SCRIPT_NAME);
            if other && !replace_other {
                return Ok(Saved::Inactive);
            }
            if !scripts.iter().any(|s| s.active && s.name == SCRIPT_NAME) {
                conn.set_active(SCRIPT_NAME).await?;
            }
            Ok(Saved::Active)
        })
        .await
    }

    /// Changes Mailroom's rules without losing a change saved meanwhile elsewhere.
    ///
    /// ManageSieve has no "write only if unchanged", so this reads the script, lets
    /// `change` edit the rules, reads the script again right before PUTSCRIPT and reads it
    /// back afterwards. Whenever the script is not what this save expected (another
    /// browser or Mailroom instance wrote in between), it starts over from the newer
    /// script, so `change` must be safe to apply again (see the rules page). Saves of one
    /// user in this process also take turns. `base` is the [`version`] the form was built
    /// from, to report a merge.
    pub async fn update<E>(
        &self,
        account: &Account,
        base: &str,
        mut change: impl FnMut(&mut script::Rules) -> Result<(), E>,
    ) -> Result<Update<E>, SieveError> {
        let lock = self.user_lock(&account.username);
        let _turn = lock.lock().await;
        self.with(account, async |conn| {
            let mut merged = false;
            for _ in 0..UPDATE_ATTEMPTS {
                let scripts = conn.list_scripts().await?;
                let exists = scripts.iter().any(|s| s.name == SCRIPT_NAME);
                let text = if exists {
                    Some(conn.get_script(SCRIPT_NAME).await?)
                } else {
                    None
                };
                let current = version(text.as_deref());
                merged |= !base.is_empty() && current != base;
                let rules = match text.as_deref().map(script::parse) {
                    None => script::Rules::default(),
                    Some(script::Parsed::Ours(r)) => r,
                    Some(script::Parsed::Foreign) => return Ok(Update::Foreign),
                };
                let mut changed = rules.clone();
                if let Err(e) = change(&mut changed) {
                    return Ok(Update::Refused(e));
                }
                let other = scripts.iter().any(|s| s.active && s.name != SCRIPT_NAME);
                let saved = if other {
                    Saved::Inactive
                } else {
                    Saved::Active
                };
                if changed == rules && exists {
                    // Already there (applied by an earlier attempt, or nothing to do).
                    return Ok(Update::Saved { saved, merged });
                }
                let out = script::generate(&changed);
                if exists && conn.get_script(SCRIPT_NAME).await? != text.clone().unwrap_or_default()
                {
                    continue;
                }
                conn.put_script(SCRIPT_NAME, &out).await?;
                if !other && !scripts.iter().any(|s| s.active && s.name == SCRIPT_NAME) {
                    conn.set_active(SCRIPT_NAME).await?;
                }
                // Read back: a different text means someone wrote right after us, and
                // their write may have been built on the script before ours.
                if version(Some(&conn.get_script(SCRIPT_NAME).await?)) == version(Some(&out)) {
                    return Ok(Update::Saved { saved, merged });
                }
                merged = true;
            }
            Err(SieveError::Unreachable(
                "the rules kept changing while saving; try again".into(),
            ))
        })
        .await
    }

    /// This user's save lock.
    fn user_lock(&self, username: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = match self.inner.saving.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Locks nobody holds are dropped, so the map stays as small as the active savers.
        map.retain(|_, l| Arc::strong_count(l) > 1);
        map.entry(username.to_owned()).or_default().clone()
    }

    /// Makes Mailroom's script the active one (the user agreed to replace another).
    pub async fn activate(&self, account: &Account) -> Result<(), SieveError> {
        self.with(account, async |conn| conn.set_active(SCRIPT_NAME).await)
            .await
    }

    /// Compiles `text` on the server without storing it; `Ok` carries warnings.
    pub async fn check(&self, account: &Account, text: &str) -> Result<Option<String>, SieveError> {
        self.with(account, async |conn| conn.check_script(text).await)
            .await
    }
}

/// SASL PLAIN sends the password as it is: only over TLS, or to this machine.
fn password_allowed(secure: bool, host: &str) -> bool {
    secure || is_loopback(host)
}

/// A host that is this machine: the password may go there without TLS.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// TCP, then TLS or STARTTLS as configured, and the greeting. Also says whether the
/// channel is encrypted.
async fn connect(endpoint: &Endpoint, tls: &TlsConnector) -> Result<(Conn, bool), SieveError> {
    let addr = format!("{}:{}", endpoint.host, endpoint.port);
    let unreachable = |what: &str, e: &dyn std::fmt::Display| {
        SieveError::Unreachable(format!("{what} {addr}: {e}"))
    };
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| unreachable("cannot connect to", &e))?;
    let _ = tcp.set_nodelay(true);
    let server_name = || {
        ServerName::try_from(endpoint.host.clone())
            .map_err(|e| unreachable("invalid TLS server name for", &e))
    };
    match endpoint.security {
        Security::Tls => {
            let t = Transport::tls(tcp, tls, server_name()?)
                .await
                .map_err(|e| unreachable("TLS handshake failed with", &e))?;
            Ok((Client::start(t).await?, true))
        }
        Security::None => Ok((Client::start(Transport::plain(tcp)).await?, false)),
        Security::Starttls => {
            let plain = Client::start(Transport::plain(tcp)).await?;
            let transport = plain.starttls().await?;
            let tcp = transport
                .into_plain_tcp()
                .ok_or_else(|| unreachable("unexpected data after STARTTLS from", &"?"))?;
            let t = Transport::tls(tcp, tls, server_name()?)
                .await
                .map_err(|e| unreachable("TLS handshake failed with", &e))?;
            Ok((Client::after_starttls(t).await?, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_tell_scripts_apart() {
        assert_eq!(version(Some("a\r\nb")), version(Some("a\nb")));
        assert_ne!(version(Some("a")), version(Some("b")));
        // No script and an empty script differ: the empty one was saved by someone.
        assert_ne!(version(None), version(Some("")));
        assert_eq!(version(None).len(), 17);
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("LOCALHOST"));
        assert!(!is_loopback("mail.example.test"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn password_only_over_tls_or_to_loopback() {
        assert!(password_allowed(true, "mail.example.test"));
        assert!(password_allowed(false, "127.0.0.1"));
        assert!(!password_allowed(false, "mail.example.test"));
        assert!(!password_allowed(false, "192.0.2.7"));
    }
}
