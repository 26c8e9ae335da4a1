//! Mail from other mailboxes (issue 14): copying new mail from a POP3 or IMAP account
//! elsewhere into one of the user's folders. No HTTP here: `web::accounts` calls
//! [`Fetcher`] for the "Fetch now" button and for due fetches while the user is active.
//!
//! **Why only while the user uses Mailroom.** Appending to the user's own mailbox needs
//! their password, which Mailroom keeps sealed under a key that lives only in their
//! browser (`web::session`). So a fetch runs with a logged-in [`Account`]: on demand, or
//! started by one of their page views once the interval has passed. Never two at once per
//! account: a fetch first claims the account in the database (a lease that also holds
//! across instances, and runs out by itself if an instance dies mid-fetch).
//!
//! **Never twice, never lost.** Each remote message has a key (the POP3 UIDL, or IMAP
//! `uidvalidity:uid`); a message is marked seen only after the APPEND to the user's folder
//! succeeded, and deleted on the remote (when the user chose so) only after that. A crash
//! in between fetches it again on the next run rather than losing it; the seen-set then
//! stops the run after that one from storing it a third time.
//!
//! **A hostile remote server.** The address the user typed is resolved and refused when
//! any of its addresses is loopback, private, link-local… (the image proxy's rule,
//! [`crate::web::proxy::is_allowed`]); plaintext is only allowed to loopback, which is
//! only allowed in tests. POP3 connects to the checked address itself; the IMAP side
//! connects by name (TLS needs it), so a name re-resolved in between could point
//! elsewhere, but only to finish a TLS handshake whose certificate must be valid for that
//! name. Connects and reads time out; each run is bounded ([`MAX_MESSAGES`],
//! [`MAX_RUN_BYTES`], [`RUN_TIMEOUT`]) and a message over [`MAX_MESSAGE_BYTES`] is left
//! on the server and reported. The POP3 client caps every line and message itself; on
//! the IMAP side sizes are checked (RFC822.SIZE) before a message is fetched, but a server
//! that lies about them is only stopped by async-imap's own 512 MiB buffer limit and the
//! operation timeout.
//!
//! **The remote password** is stored sealed with ChaCha20-Poly1305 under a key derived
//! from the server's secret key ([`Vault`]): a copy of the database alone does not
//! reveal it. It never goes back to the page and never into a log or an error.

pub mod pop3;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::{net::TcpStream, time::timeout};

use crate::{
    config::{Endpoint, MailServer, Secret},
    imap::{Account, Imap, ImapError},
    store::{
        self, Db,
        remote::{Protocol, RemoteAccount, Security},
    },
};

/// Most messages one run fetches; the next run continues.
pub const MAX_MESSAGES: usize = 200;
/// Most bytes one run fetches; the next run continues.
pub const MAX_RUN_BYTES: u64 = 50 * 1024 * 1024;
/// Largest message fetched; bigger ones stay on the server and are reported.
pub const MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;
/// How long one run may take in all; the database lease lasts a little longer.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(540);
const LEASE_SECS: i64 = 600;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A user's page views check for due accounts at most this often (per instance).
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Shortens `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Seals and opens remote passwords under a key derived from the server's key.
pub struct Vault {
    key: Key,
}

impl Vault {
    /// The key is HMAC-SHA256(master, "mailroom remote accounts"): bound to this purpose,
    /// so it is no other key Mailroom uses.
    pub fn new(master: &[u8]) -> Vault {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(master) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(b"mailroom remote accounts");
        Vault {
            key: Key::clone_from_slice(&mac.finalize().into_bytes()),
        }
    }

    /// base64(nonce || ciphertext).
    pub fn seal(&self, password: &str) -> anyhow::Result<String> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = ChaCha20Poly1305::new(&self.key)
            .encrypt(&nonce, password.as_bytes())
            .map_err(|_| anyhow::anyhow!("sealing a password failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ct);
        Ok(B64.encode(sealed))
    }

    /// The password, or `None` if `sealed` was not made with this key (the server's key
    /// changed) or was tampered with.
    pub fn open(&self, sealed: &str) -> Option<Secret> {
        let sealed = B64.decode(sealed).ok()?;
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        let plain = ChaCha20Poly1305::new(&self.key)
            .decrypt(Nonce::from_slice(nonce), ct)
            .ok()?;
        String::from_utf8(plain).ok().map(Secret::new)
    }
}

/// Why a fetch failed. [`FetchError::key`] names the text shown on the page.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The host resolves to an address Mailroom must not connect to.
    #[error("address not allowed")]
    Address,
    /// Plaintext to anything but loopback.
    #[error("plaintext not allowed")]
    Plaintext,
    /// No such host, or it could not be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The remote server refused the login.
    #[error("login refused")]
    Auth,
    /// The remote server answered something unexpected or refused a command.
    #[error("remote server: {0}")]
    Remote(String),
    /// The user's folder is gone.
    #[error("folder missing")]
    Folder,
    /// The user's own mail server failed.
    #[error("own server: {0}")]
    Local(String),
    /// The stored password cannot be opened (the server's key changed).
    #[error("password unreadable")]
    Password,
    /// The run took longer than [`RUN_TIMEOUT`].
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl FetchError {
    /// Catalog key of the message shown on the page.
    pub fn key(&self) -> &'static str {
        match self {
            FetchError::Address => "accounts.error.address",
            FetchError::Plaintext => "accounts.error.plaintext",
            FetchError::Unreachable(_) => "accounts.error.unreachable",
            FetchError::Auth => "accounts.error.auth",
            FetchError::Remote(_) => "accounts.error.remote",
            FetchError::Folder => "accounts.error.folder_gone",
            FetchError::Local(_) => "accounts.error.local",
            FetchError::Password => "accounts.error.password",
            FetchError::Timeout => "accounts.error.timeout",
            FetchError::Db(_) => "accounts.error.local",
        }
    }

    /// What is stored as the account's last error: the key, then the server's words (if
    /// any) on a second line.
    fn stored(&self) -> String {
        match self {
            FetchError::Unreachable(d) | FetchError::Remote(d) | FetchError::Local(d) => {
                format!("{}\n{d}", self.key())
            }
            _ => self.key().to_owned(),
        }
    }
}

impl From<pop3::Pop3Error> for FetchError {
    fn from(e: pop3::Pop3Error) -> FetchError {
        match e {
            pop3::Pop3Error::Connection(d) => FetchError::Unreachable(d),
            pop3::Pop3Error::Auth(_) => FetchError::Auth,
            pop3::Pop3Error::Protocol(d) => FetchError::Remote(d),
            pop3::Pop3Error::TooBig(n) => FetchError::Remote(format!("a message over {n} bytes")),
        }
    }
}

/// An error of the remote IMAP server.
fn remote_imap(e: ImapError) -> FetchError {
    match e {
        ImapError::AuthFailed => FetchError::Auth,
        ImapError::Unreachable(d) => FetchError::Unreachable(d),
        other => FetchError::Remote(other.to_string()),
    }
}

/// An error of the user's own server while appending.
fn local_imap(e: ImapError) -> FetchError {
    match e {
        ImapError::NoSuchMailbox | ImapError::InvalidName => FetchError::Folder,
        other => FetchError::Local(other.to_string()),
    }
}

/// Resolves `host` and checks every address (see the module doc): the address to use.
pub async fn resolve(
    host: &str,
    port: u16,
    security: Security,
    allow_loopback: bool,
) -> Result<SocketAddr, FetchError> {
    let found = timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| FetchError::Unreachable(format!("looking up {host} timed out")))?
        .map_err(|_| FetchError::Unreachable(format!("no such host: {host}")))?;
    let addrs: Vec<SocketAddr> = found.collect();
    let Some(first) = addrs.first().copied() else {
        return Err(FetchError::Unreachable(format!("no such host: {host}")));
    };
    if addrs
        .iter()
        .any(|a| !crate::web::proxy::is_allowed(a.ip(), allow_loopback))
    {
        return Err(FetchError::Address);
    }
    if security == Security::None && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(FetchError::Plaintext);
    }
    Ok(first)
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Messages stored in the user's folder.
    pub fetched: usize,
    /// Messages left on the server for their size.
    pub oversize: usize,
    /// The run stopped at its bounds; more is waiting.
    pub more: bool,
    bytes: u64,
}

impl Progress {
    /// Whether the run may take one more message of `size` bytes.
    fn room_for(&mut self, size: u64) -> bool {
        let room = self.fetched < MAX_MESSAGES && self.bytes + size <= MAX_RUN_BYTES.max(size);
        if !room {
            self.more = true;
        }
        room
    }
}

/// How a "Fetch now" went.
#[derive(Debug)]
pub enum Started {
    /// No such account for this user.
    NotFound,
    /// Another fetch of it is running.
    Busy,
    /// It ran: what it did, or why it failed (also recorded on the account).
    Ran(Result<Progress, FetchError>),
}

/// Runs fetches. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    imap: Imap,
    vault: Vault,
    allow_loopback: bool,
    interval: Duration,
    /// Users whose due accounts were looked at recently (so a page view costs no query).
    checked: moka::future::Cache<String, ()>,
}

impl Fetcher {
    /// `master` is the server's key; `allow_loopback` only ever true in tests.
    pub fn new(
        db: Db,
        imap: Imap,
        master: &[u8],
        allow_loopback: bool,
        interval: Duration,
    ) -> Fetcher {
        Fetcher {
            inner: Arc::new(Inner {
                db,
                imap,
                vault: Vault::new(master),
                allow_loopback,
                interval,
                checked: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(CHECK_EVERY)
                    .build(),
            }),
        }
    }

    /// Seals a password for storing.
    pub fn seal(&self, password: &str) -> anyhow::Result<String> {
        self.inner.vault.seal(password)
    }

    /// Whether the test-only loopback switch is on.
    pub fn allow_loopback(&self) -> bool {
        self.inner.allow_loopback
    }

    /// Fetches one of `user`'s accounts now and waits for the result.
    pub async fn fetch_now(&self, user: &Account, id: &str) -> Result<Started, sqlx::Error> {
        let db = &self.inner.db;
        let Some(remote) = store::remote::get(db, &user.username, id).await? else {
            return Ok(Started::NotFound);
        };
        if !store::remote::claim(db, &user.username, id, LEASE_SECS).await? {
            return Ok(Started::Busy);
        }
        Ok(Started::Ran(self.run_claimed(user, &remote).await))
    }

    /// Called on a user's page views: starts, in the background, a fetch of each of their
    /// accounts that is due. Looks at the database at most once a minute per user.
    pub async fn fetch_due(&self, user: &Account) {
        let checked = &self.inner.checked;
        if checked.contains_key(&user.username) {
            return;
        }
        checked.insert(user.username.clone(), ()).await;
        let this = self.clone();
        let user = user.clone();
        tokio::spawn(async move {
            let interval = i64::try_from(this.inner.interval.as_secs()).unwrap_or(i64::MAX);
            let db = &this.inner.db;
            let ids = match store::remote::due(db, &user.username, interval).await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "looking for due fetches failed");
                    return;
                }
            };
            for id in ids {
                if let Err(e) = this.fetch_now(&user, &id).await {
                    tracing::warn!(error = %e, "a scheduled fetch failed");
                }
            }
        });
    }

    /// Runs a claimed fetch and records its end (which gives the lease back).
    async fn run_claimed(
        &self,
        user: &Account,
        remote: &RemoteAccount,
    ) -> Result<Progress, FetchError> {
        let mut progress = Progress::default();
        let outcome = match timeout(RUN_TIMEOUT, self.run(user, remote, &mut progress)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout),
        };
        let note = match &outcome {
            Err(e) => {
                tracing::info!(account = %remote.id, error = %e, "fetch from another mailbox failed");
                Some(e.stored())
            }
            Ok(()) if progress.oversize > 0 => {
                Some(format!("accounts.error.oversize\n{}", progress.oversize))
            }
            Ok(()) => None,
        };
        let count = i64::try_from(progress.fetched).unwrap_or(i64::MAX);
        store::remote::finish(&self.inner.db, &remote.id, count, note.as_deref()).await?;
        outcome.map(|()| progress)
    }

    async fn run(
        &self,
        user: &Account,
        remote: &RemoteAccount,
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        let password = self
            .inner
            .vault
            .open(&remote.sealed_password)
            .ok_or(FetchError::Password)?;
        let addr = resolve(
            &remote.host,
            remote.port,
            remote.security,
            self.inner.allow_loopback,
        )
        .await?;
        match remote.protocol {
            Protocol::Pop3 => self.run_pop3(user, remote, &password, addr, progress).await,
            Protocol::Imap => self.run_imap(user, remote, password, addr, progress).await,
        }
    }

    /// The seen-set, after forgetting keys no longer on the server.
    async fn seen(
        &self,
        id: &str,
        on_server: &HashSet<&str>,
    ) -> Result<HashSet<String>, FetchError> {
        let seen = store::remote::seen(&self.inner.db, id).await?;
        let (kept, gone): (Vec<String>, Vec<String>) = seen
            .into_iter()
            .partition(|k| on_server.contains(k.as_str()));
        store::remote::forget_seen(&self.inner.db, id, &gone).await?;
        Ok(kept.into_iter().collect())
    }

    async fn run_pop3(
        &self,
        user: &Account,
        remote: &RemoteAccount,
        password: &Secret,
        addr: SocketAddr,
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        let mut p = pop3_connect(remote, addr).await?;
        p.login(&remote.login, password.expose()).await?;
        let uidl = p.uidl().await?;
        let sizes: HashMap<u32, u64> = p.list().await?.into_iter().collect();
        let on_server: HashSet<&str> = uidl.iter().map(|(_, k)| k.as_str()).collect();
        let seen = self.seen(&remote.id, &on_server).await?;
        let result = async {
            for (n, key) in &uidl {
                if seen.contains(key) {
                    continue;
                }
                let size = sizes.get(n).copied().unwrap_or(0);
                if size > MAX_MESSAGE_BYTES {
                    store::remote::mark_seen(&self.inner.db, &remote.id, key).await?;
                    progress.oversize += 1;
                    continue;
                }
                if !progress.room_for(size) {
                    break;
                }
                let max = usize::try_from(MAX_MESSAGE_BYTES).unwrap_or(usize::MAX);
                let raw = p.retr(*n, max).await?;
                self.store(user, remote, key, &raw, progress).await?;
                if !remote.keep_on_server {
                    p.dele(*n).await?;
                }
            }
            Ok::<(), FetchError>(())
        }
        .await;
        // QUIT even after an error: it is what makes the DELEs of the messages already
        // stored happen (RFC 1939 §6).
        let quit = p.quit().await;
        result?;
        quit.map_err(FetchError::from)
    }

    async fn run_imap(
        &self,
        user: &Account,
        remote: &RemoteAccount,
        password: Secret,
        addr: SocketAddr,
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        let security = match remote.security {
            Security::Tls => crate::config::Security::Tls,
            Security::Starttls => crate::config::Security::Starttls,
            Security::None => crate::config::Security::None,
        };
        // Plaintext is loopback only: connect to the checked address itself. With TLS the
        // name is needed for the certificate.
        let host = match remote.security {
            Security::None => addr.ip().to_string(),
            _ => remote.host.clone(),
        };
        let endpoint = Endpoint {
            host,
            port: remote.port,
            security,
            ca_file: None,
        };
        let account = Account {
            login_id: format!("fetch-{}", crate::ids::random_token(16)),
            username: remote.login.clone(),
            password,
            server: Some(Arc::new(MailServer {
                imap: endpoint.clone(),
                smtp: endpoint,
                sieve: None,
                local_logins: false,
            })),
        };
        let imap = &self.inner.imap;
        let result = self.imap_messages(user, remote, &account, progress).await;
        imap.logout(&account.login_id).await;
        result
    }

    async fn imap_messages(
        &self,
        user: &Account,
        remote: &RemoteAccount,
        account: &Account,
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        let imap = &self.inner.imap;
        let listing = imap.remote_inbox(account).await.map_err(remote_imap)?;
        let validity = listing.uidvalidity;
        let keys: Vec<(u32, u64, String)> = listing
            .messages
            .iter()
            .map(|&(uid, size)| (uid, size, format!("{validity}:{uid}")))
            .collect();
        let on_server: HashSet<&str> = keys.iter().map(|(_, _, k)| k.as_str()).collect();
        let seen = self.seen(&remote.id, &on_server).await?;
        let mut stored = Vec::new();
        let result = async {
            for (uid, size, key) in &keys {
                if seen.contains(key) {
                    continue;
                }
                if *size > MAX_MESSAGE_BYTES {
                    store::remote::mark_seen(&self.inner.db, &remote.id, key).await?;
                    progress.oversize += 1;
                    continue;
                }
                if !progress.room_for(*size) {
                    break;
                }
                let raw = match imap.remote_message(account, validity, *uid).await {
                    Ok(raw) => raw,
                    // Deleted on the server meanwhile: nothing to fetch.
                    Err(ImapError::NoSuchMessage) => continue,
                    Err(e) => return Err(remote_imap(e)),
                };
                self.store(user, remote, key, &raw, progress).await?;
                stored.push(*uid);
            }
            Ok(())
        }
        .await;
        if !remote.keep_on_server && !stored.is_empty() {
            let deleted = imap.remote_delete(account, validity, &stored).await;
            result?;
            return deleted.map_err(remote_imap);
        }
        result
    }

    /// Appends one message to the user's folder, then marks it seen.
    async fn store(
        &self,
        user: &Account,
        remote: &RemoteAccount,
        key: &str,
        raw: &[u8],
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        self.inner
            .imap
            .append_fetched(user, &remote.folder, raw)
            .await
            .map_err(local_imap)?;
        store::remote::mark_seen(&self.inner.db, &remote.id, key).await?;
        progress.fetched += 1;
        progress.bytes += raw.len() as u64;
        Ok(())
    }
}

/// Connects to the checked address and secures the connection as the account says.
async fn pop3_connect(remote: &RemoteAccount, addr: SocketAddr) -> Result<pop3::Pop3, FetchError> {
    let tcp = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| FetchError::Unreachable(format!("timed out connecting to {}", remote.host)))?
        .map_err(|e| FetchError::Unreachable(format!("cannot connect to {}: {e}", remote.host)))?;
    let tls = || async {
        let connector = crate::imap::tls_connector_for(None).map_err(FetchError::Unreachable)?;
        let name = rustls::pki_types::ServerName::try_from(remote.host.clone())
            .map_err(|_| FetchError::Unreachable(format!("invalid host name {}", remote.host)))?;
        Ok::<_, FetchError>((connector, name))
    };
    let handshake =
        |e: std::io::Error| FetchError::Unreachable(format!("TLS with {}: {e}", remote.host));
    match remote.security {
        Security::None => Ok(pop3::Pop3::greet(Box::new(tcp), READ_TIMEOUT).await?),
        Security::Tls => {
            let (connector, name) = tls().await?;
            let stream = timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                .await
                .map_err(|_| FetchError::Unreachable("TLS handshake timed out".into()))?
                .map_err(handshake)?;
            Ok(pop3::Pop3::greet(Box::new(stream), READ_TIMEOUT).await?)
        }
        Security::Starttls => {
            let plain = pop3::Pop3::greet(Box::new(tcp), READ_TIMEOUT).await?;
            let stream = plain.stls().await?;
            let (connector, name) = tls().await?;
            let stream = timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
                .await
                .map_err(|_| FetchError::Unreachable("TLS handshake timed out".into()))?
                .map_err(handshake)?;
            Ok(pop3::Pop3::resume(Box::new(stream), READ_TIMEOUT))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_seals_per_key_and_detects_tampering() {
        let v = Vault::new(&[7; 64]);
        let sealed = v.seal("hunter2 ☃").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            v.seal("hunter2 ☃").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(v.open(&sealed).unwrap().expose(), "hunter2 ☃");
        assert!(
            Vault::new(&[8; 64]).open(&sealed).is_none(),
            "another server key"
        );
        let mut bytes = B64.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(v.open(&B64.encode(bytes)).is_none());
        assert!(v.open("!").is_none());
    }

    #[tokio::test]
    async fn loopback_private_and_plaintext_are_refused_without_the_test_switch() {
        for host in [
            "127.0.0.1",
            "localhost",
            "10.1.2.3",
            "169.254.169.254",
            "::1",
            "192.168.0.1",
        ] {
            assert!(
                matches!(
                    resolve(host, 995, Security::Tls, false).await,
                    Err(FetchError::Address)
                ),
                "{host}"
            );
        }
        // The test switch opens loopback only, and plaintext only there.
        assert!(
            resolve("127.0.0.1", 110, Security::None, true)
                .await
                .is_ok()
        );
        assert!(matches!(
            resolve("10.1.2.3", 110, Security::Tls, true).await,
            Err(FetchError::Address)
        ));
        assert!(matches!(
            resolve("8.8.8.8", 110, Security::None, true).await,
            Err(FetchError::Plaintext)
        ));
    }

    #[test]
    fn a_run_stops_at_its_bounds() {
        let mut p = Progress::default();
        assert!(
            p.room_for(MAX_RUN_BYTES + 1),
            "one big message alone is fine"
        );
        p.bytes = MAX_RUN_BYTES;
        assert!(!p.room_for(1) && p.more);
        let mut p = Progress {
            fetched: MAX_MESSAGES,
            ..Progress::default()
        };
        assert!(!p.room_for(1));
    }
}
