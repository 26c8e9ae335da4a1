//! One authenticated IMAP connection and the only code that writes to it.
//!
//! [`Conn`] owns an async-imap `Session` over our [`Transport`]: it opens it (TCP, TLS or
//! STARTTLS, greeting, LOGIN), remembers the server's capabilities, and sends commands
//! built with [`Cmd`]. Replies are read as raw lines: untagged ones are parsed with
//! imap-proto where it can (a line it cannot parse is skipped, never wedging the
//! connection) or handed over raw (ESEARCH, THREAD, NAMESPACE), and the tagged end is
//! read by [`Tagged::parse`]. async-imap itself only sends LOGIN, SELECT/EXAMINE, NOOP,
//! LOGOUT and FETCH (with a [`SeqSet`] and constant items), whose replies it parses
//! into its types. The session is private: no other module can write to the socket.
//!
//! Every failure becomes a [`Failure`], which tells the pool whether the connection is
//! still good and whether a retry on a fresh connection makes sense. Pooling, retrying
//! and what the commands mean for the web pages live elsewhere.

use std::time::Duration;

use async_imap::{
    Client, Session,
    error::Error as AsyncImapError,
    imap_proto::{MailboxDatum, Response, Status},
    types::{Capability, Fetch, Mailbox},
};
use futures::TryStreamExt;
use rand::{Rng, distributions::Alphanumeric};
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::{
    ImapError,
    command::{Cmd, CopyUid, SeqSet, Tagged, quote},
    transport::{self, Transport},
    wire::{self, Reply},
};
use crate::config::{Endpoint, Secret, Security};

/// TCP connect, TLS handshake and greeting together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// LOGIN can be slow on purpose: Dovecot delays failed logins by 2 s or more.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A polite LOGOUT when we close a connection; we do not wait longer for it.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a command failed, as far as the connection is concerned.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The connection is gone (I/O error, end of file, `* BYE`). The pool drops it, and
    /// the operation is retried once on a fresh connection.
    Lost(String),
    /// The server answered NO (or BAD) to the command; the connection is still fine.
    Rejected {
        /// BAD (we sent something the server did not understand) rather than NO.
        bad: bool,
        /// The server's explanation, shortened.
        text: String,
    },
    /// A failure of this request; the connection is still fine.
    Fail(ImapError),
    /// The connection is in an unknown state (for example a reply we could not parse):
    /// drop it, but do not retry, since the same request would fail the same way.
    Broken(ImapError),
}

impl Failure {
    /// Whether the connection may go back into the pool.
    pub fn connection_ok(&self) -> bool {
        matches!(self, Failure::Rejected { .. } | Failure::Fail(_))
    }

    /// The error the caller of [`super::Imap`] sees.
    pub fn into_error(self) -> ImapError {
        match self {
            Failure::Lost(s) => ImapError::Unreachable(format!("connection lost: {s}")),
            Failure::Rejected { text, .. } => ImapError::Protocol(text),
            Failure::Fail(e) | Failure::Broken(e) => e,
        }
    }

    /// Maps a NO from the server to `error` (for example NoSuchMailbox after EXAMINE).
    ///
    /// Except `[ALREADYEXISTS]`: where a folder is only opened, that is Dovecot creating a
    /// new user's INBOX from two connections at once (seen on a first login, answered to
    /// SELECT INBOX). It is not the folder's absence: the operation is tried once more,
    /// as after a lost connection.
    pub fn no_means(self, error: ImapError) -> Failure {
        match self {
            Failure::Rejected { bad: false, text } if text.contains("ALREADYEXISTS") => {
                Failure::Lost(format!("folder being created meanwhile: {text}"))
            }
            Failure::Rejected { bad: false, .. } => Failure::Fail(error),
            other => other,
        }
    }
}

impl From<AsyncImapError> for Failure {
    fn from(e: AsyncImapError) -> Failure {
        match e {
            AsyncImapError::Io(e) => io_failure(&e),
            AsyncImapError::ConnectionLost => Failure::Lost("connection closed".into()),
            AsyncImapError::No(text) => Failure::Rejected {
                bad: false,
                text: short(&text),
            },
            AsyncImapError::Bad(text) => Failure::Rejected {
                bad: true,
                text: short(&text),
            },
            AsyncImapError::Validate(_) => Failure::Fail(ImapError::InvalidName),
            AsyncImapError::Parse(e) => Failure::Broken(ImapError::Protocol(short(&e.to_string()))),
            other => Failure::Broken(ImapError::Protocol(short(&other.to_string()))),
        }
    }
}

/// Classifies an I/O error from the connection.
fn io_failure(e: &std::io::Error) -> Failure {
    let text = e.to_string();
    // async-imap reports a response imap-proto cannot parse as an I/O error whose text
    // quotes the whole buffer (mail included). Its buffer is wedged from then on: the
    // connection is useless, but a retry would only fail the same way.
    if text.contains("during parsing of") {
        tracing::warn!("IMAP: the server sent a response we cannot parse");
        return Failure::Broken(ImapError::Protocol(
            "unparsable response from the server".into(),
        ));
    }
    Failure::Lost(short(&text))
}

/// Error text is shown in logs: keep it short, whatever the server or a library put in it.
fn short(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An authenticated connection, ready for commands.
pub struct Conn {
    /// async-imap's logged-in session.
    session: Session<Transport>,
    /// Capabilities after login, upper-cased.
    caps: Vec<String>,
    /// Counts this connection in the metrics while it lives.
    _counted: crate::metrics::ImapConnection,
    /// Its place under the total cap (`Imap::with_connection_cap`), freed when it closes.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The folder this connection has open, as far as we know for sure.
    selected: Option<Selected>,
    /// A command that may have changed something was sent since [`Conn::take_wrote`]
    /// (see `fresh`).
    wrote: bool,
}

/// The folder a connection has open: re-opening a 10,000-message folder costs the server
/// about 10 ms, so a request that finds the right folder already open does not open it again.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Selected {
    /// Its wire name.
    wire: String,
    /// SELECT (flags may be changed) rather than EXAMINE.
    writable: bool,
    /// Cannot change while it stays open: a server that renumbers a folder closes the
    /// connection (RFC 3501 §2.3.1.1).
    uidvalidity: u32,
}

impl Conn {
    /// Makes this connection count under the total cap until it closes.
    pub(super) fn hold(&mut self, permit: tokio::sync::OwnedSemaphorePermit) {
        self.permit = Some(permit);
    }

    /// Connects, secures the connection as configured, and logs in.
    pub async fn open(
        endpoint: &Endpoint,
        tls: &TlsConnector,
        username: &str,
        password: &Secret,
    ) -> Result<Conn, ImapError> {
        let client = timeout(CONNECT_TIMEOUT, connect(endpoint, tls))
            .await
            .map_err(|_| {
                ImapError::Unreachable(format!(
                    "timed out connecting to {}:{}",
                    endpoint.host, endpoint.port
                ))
            })??;
        timeout(LOGIN_TIMEOUT, login(client, username, password))
            .await
            .map_err(|_| ImapError::Unreachable("timed out waiting for LOGIN".into()))?
    }

    /// Whether the server announced `cap` (case-insensitive).
    pub fn has(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    /// The capabilities announced after login.
    pub fn capabilities(&self) -> &[String] {
        &self.caps
    }

    /// Empties async-imap's channel of unsolicited responses (EXISTS, EXPUNGE, …).
    ///
    /// It is bounded at 100 and fed with `try_send`: left alone it fills and then drops
    /// notices silently. We need none of them: an operation that needs the folder's counts
    /// opens it afresh, and one that finds it still open ([`Conn::open_for_reading`]) says
    /// NOOP first, which brings the server's view of it up to date.
    pub fn drain_unsolicited(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// EXAMINE (read-only): for reading, so nothing changes on the server.
    pub async fn examine(&mut self, wire_name: &str) -> Result<Mailbox, Failure> {
        // async-imap quotes the name itself (escaping `\` and `"`); `wire_name` has been
        // checked by `names::mailbox_wire`.
        crate::metrics::imap_command("EXAMINE");
        let res = self.session.examine(wire_name).await;
        self.opened(wire_name, false, res)
    }

    /// SELECT (read-write): where we change something, and for the message list (see
    /// the `imap` module doc).
    pub async fn select(&mut self, wire_name: &str) -> Result<Mailbox, Failure> {
        crate::metrics::imap_command("SELECT");
        let res = self.session.select(wire_name).await;
        self.opened(wire_name, true, res)
    }

    /// Remembers the outcome of SELECT or EXAMINE: a failed one leaves no folder open.
    fn opened(
        &mut self,
        wire: &str,
        writable: bool,
        res: Result<Mailbox, AsyncImapError>,
    ) -> Result<Mailbox, Failure> {
        self.selected = match &res {
            Ok(mbox) => Some(Selected {
                wire: wire.to_owned(),
                writable,
                uidvalidity: mbox.uid_validity.unwrap_or(0),
            }),
            Err(_) => None,
        };
        res.map_err(|e| Failure::from(e).no_means(ImapError::NoSuchMailbox))
    }

    /// Records a SELECT (`writable`) or EXAMINE of `wire` that succeeded inside a
    /// [`Conn::pipeline`], so later operations can find it open.
    pub fn note_selected(&mut self, wire: &str, writable: bool, uidvalidity: u32) {
        self.selected = Some(Selected {
            wire: wire.to_owned(),
            writable,
            uidvalidity,
        });
    }

    /// The UIDVALIDITY of `wire` if this connection has it open, read-write when
    /// `writable` is asked for.
    pub fn open_as(&self, wire: &str, writable: bool) -> Option<u32> {
        self.selected
            .as_ref()
            .filter(|s| s.wire == wire && (s.writable || !writable))
            .map(|s| s.uidvalidity)
    }

    /// Makes `wire` the open folder for reading and returns its UIDVALIDITY. A folder
    /// already open (read-only or read-write: reading is the same) is not opened again,
    /// which would cost the server a full re-sync of a big folder; a NOOP instead makes the
    /// server catch up with changes made elsewhere (a message expunged by another client is
    /// then gone for our next command too).
    pub async fn open_for_reading(&mut self, wire: &str) -> Result<u32, Failure> {
        if let Some(uidvalidity) = self.open_as(wire, false) {
            crate::metrics::imap_command("NOOP");
            self.session.noop().await?;
            return Ok(uidvalidity);
        }
        Ok(self.examine(wire).await?.uid_validity.unwrap_or(0))
    }

    /// The server showed a change made elsewhere (a message gone, a folder renumbered):
    /// counts as a change for the caches, like a command that may change something.
    pub fn note_change(&mut self) {
        self.wrote = true;
    }

    /// Whether a command that may have changed something was sent since the last call.
    pub fn take_wrote(&mut self) -> bool {
        std::mem::take(&mut self.wrote)
    }

    /// NOOP: is the connection still alive?
    pub async fn noop(&mut self) -> Result<(), Failure> {
        Ok(self.session.noop().await?)
    }

    /// Sends `cmd` and returns its tag. Every command we write goes out here (or through
    /// async-imap's FETCH and SELECT, whose arguments are typed, below).
    async fn send(&mut self, cmd: &Cmd) -> Result<String, Failure> {
        let line = cmd.line().map_err(Failure::Fail)?;
        crate::metrics::imap_command(cmd.name());
        self.wrote |= super::fresh::may_change(cmd.name(), line);
        // Whatever these do to the open folder, its caller tells (`note_selected`).
        if ["SELECT", "EXAMINE", "CLOSE", "UNSELECT", "DELETE", "RENAME"]
            .iter()
            .any(|v| cmd.name().eq_ignore_ascii_case(v))
        {
            self.selected = None;
        }
        Ok(self.session.run_command(line).await?.0)
    }

    /// The next response line, literals included (see [`Transport::read_raw_line`]); a
    /// `* BYE` means the connection is gone.
    async fn next_line(&mut self) -> Result<Vec<u8>, Failure> {
        let line = self
            .session
            .get_mut()
            .read_raw_line()
            .await
            .map_err(|e| io_failure(&e))?;
        if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE") {
            return Err(Failure::Lost(short(
                String::from_utf8_lossy(&line).trim_end(),
            )));
        }
        Ok(line)
    }

    /// Runs a command and hands every untagged response imap-proto can parse to
    /// `on_data` (others are skipped, never wedging the connection) until the tagged end.
    pub async fn command(
        &mut self,
        cmd: &Cmd,
        mut on_data: impl FnMut(&Response<'_>),
    ) -> Result<(), Failure> {
        let tag = self.send(cmd).await?;
        loop {
            let line = self.next_line().await?;
            if let Some(end) = Tagged::of(&line, &tag) {
                return end.result().map(|_| ());
            }
            if let Ok((_, resp)) = Response::parse(&line) {
                on_data(&resp);
            }
        }
    }

    /// Runs COPY or MOVE and returns its `COPYUID`, if the server sent one: in the tagged
    /// OK for COPY, in an untagged OK before the expunges for MOVE (RFC 6851).
    pub async fn command_copyuid(&mut self, cmd: &Cmd) -> Result<Option<CopyUid>, Failure> {
        let tag = self.send(cmd).await?;
        let mut found = None;
        loop {
            let line = self.next_line().await?;
            if let Some(end) = Tagged::of(&line, &tag) {
                let end = end.result()?;
                return Ok(end.copy_uid().or(found));
            }
            if let Some(rest) = line.strip_prefix(b"* ".as_slice()) {
                found = found.or_else(|| Tagged::parse(rest).copy_uid());
            }
        }
    }

    /// Runs a command whose reply imap-proto cannot parse (ESEARCH, THREAD, NAMESPACE)
    /// and returns its untagged lines as raw bytes.
    pub async fn command_raw(&mut self, cmd: &Cmd) -> Result<Vec<Vec<u8>>, Failure> {
        let tag = self.send(cmd).await?;
        let mut untagged = Vec::new();
        loop {
            let line = self.next_line().await?;
            if let Some(end) = Tagged::of(&line, &tag) {
                return end.result().map(|_| untagged);
            }
            untagged.push(line);
        }
    }

    /// `UID SEARCH …` (or `SEARCH …`): the numbers of the `* SEARCH` answer.
    pub async fn search(&mut self, cmd: &Cmd) -> Result<Vec<u32>, Failure> {
        let mut found = Vec::new();
        self.command(cmd, |r| {
            if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                found.extend_from_slice(ids);
            }
        })
        .await?;
        Ok(found)
    }

    /// `UID FETCH set items`, parsed by async-imap. `items` is a constant, `set` numbers
    /// only: nothing here can carry user text.
    pub async fn uid_fetch(
        &mut self,
        set: &SeqSet,
        items: &'static str,
    ) -> Result<Vec<Fetch>, Failure> {
        crate::metrics::imap_command("UID FETCH");
        self.wrote |= super::fresh::fetch_sets_seen(items);
        let stream = self.session.uid_fetch(set.as_str(), items).await?;
        Ok(stream.try_collect().await?)
    }

    /// `FETCH set items` by sequence number, as [`Conn::uid_fetch`].
    pub async fn fetch(
        &mut self,
        set: &SeqSet,
        items: &'static str,
    ) -> Result<Vec<Fetch>, Failure> {
        crate::metrics::imap_command("FETCH");
        self.wrote |= super::fresh::fetch_sets_seen(items);
        let stream = self.session.fetch(set.as_str(), items).await?;
        Ok(stream.try_collect().await?)
    }

    /// `UID FETCH set items` as a stream, for replies too big to hold (an export).
    pub async fn uid_fetch_stream(
        &mut self,
        set: &SeqSet,
        items: &'static str,
    ) -> Result<impl futures::Stream<Item = Result<Fetch, AsyncImapError>> + Send + '_, Failure>
    {
        crate::metrics::imap_command("UID FETCH");
        self.wrote |= super::fresh::fetch_sets_seen(items);
        Ok(self.session.uid_fetch(set.as_str(), items).await?)
    }

    /// Sends every command before reading any answer, then collects the replies: one
    /// round trip instead of one per command. Commands must be independent of each
    /// other's *results* (EXAMINE then SEARCH is fine: the server runs them in order).
    ///
    /// A server may finish commands out of order (Dovecot runs a SEARCH beside a FETCH
    /// and completes it first), so completions are matched by tag in any order. Untagged
    /// lines are given to the oldest command still waiting, except ESEARCH lines, which
    /// carry their command's tag. Where replies of commands that may run side by side
    /// must be told apart, callers look at the lines of all replies and go by their kind.
    pub async fn pipeline(&mut self, commands: &[Cmd]) -> Result<Vec<Reply>, Failure> {
        // Refuse before anything is sent, so no half of a pipeline goes out.
        for cmd in commands {
            cmd.line().map_err(Failure::Fail)?;
        }
        let mut tags = Vec::with_capacity(commands.len());
        for cmd in commands {
            tags.push(self.send(cmd).await?);
        }
        let mut lines: Vec<Vec<Vec<u8>>> = vec![Vec::new(); tags.len()];
        let mut done: Vec<Option<Result<Tagged, Failure>>> = tags.iter().map(|_| None).collect();
        while let Some(oldest) = done.iter().position(Option::is_none) {
            let line = self.next_line().await?;
            let tagged = tags
                .iter()
                .enumerate()
                .find_map(|(i, t)| Tagged::of(&line, t).map(|end| (i, end)));
            match tagged {
                Some((i, end)) if done[i].is_none() => done[i] = Some(end.result()),
                _ => {
                    let owner = wire::esearch_tag(&line)
                        .and_then(|t| tags.iter().position(|x| *x == t))
                        .unwrap_or(oldest);
                    lines[owner].push(line);
                }
            }
        }
        Ok(lines
            .into_iter()
            .zip(done)
            .map(|(lines, status)| Reply {
                lines,
                status: status.map_or(Ok(()), |s| s.map(|_| ())),
            })
            .collect())
    }

    /// `APPEND` with a synchronizing literal: `cmd` is everything before the literal
    /// (`APPEND mailbox (flags)`); the server's go-ahead is awaited before the message.
    /// Returns the tagged OK (its `APPENDUID` code, if any).
    pub async fn append(&mut self, cmd: Cmd, message: &[u8]) -> Result<Tagged, Failure> {
        let cmd = cmd.literal_announcement(message.len());
        let tag = self.send(&cmd).await?;
        // Wait for the continuation request (or an early refusal, e.g. over quota).
        loop {
            let line = self.next_line().await?;
            if line.starts_with(b"+") {
                break;
            }
            if let Some(end) = Tagged::of(&line, &tag) {
                // A refusal before the literal: no message follows.
                return end.result();
            }
        }
        let stream = self.session.get_mut();
        let written = async {
            stream.write_all(message).await?;
            stream.write_all(b"\r\n").await?;
            stream.flush().await
        }
        .await;
        written.map_err(|e| Failure::Lost(e.to_string()))?;
        loop {
            let line = self.next_line().await?;
            if let Some(end) = Tagged::of(&line, &tag) {
                return end.result();
            }
        }
    }

    /// IDLE (RFC 2177): waits until the server says something or `max` passes. Returns
    /// the untagged lines the server sent (`None` when `max` passed first), after DONE and
    /// the tagged end. When `max` passes the connection is left mid-IDLE (a read cannot be
    /// abandoned halfway safely): the caller must close it, which is what a watcher does
    /// every few minutes anyway to stay below servers' 30-minute IDLE limits.
    pub async fn idle(&mut self, max: Duration) -> Result<Option<Vec<Vec<u8>>>, Failure> {
        let tag = self.send(&Cmd::new("IDLE")).await?;
        let mut lines = Vec::new();
        // The go-ahead; untagged news may come before it.
        loop {
            let line = timeout(LOGIN_TIMEOUT, self.next_line())
                .await
                .map_err(|_| Failure::Lost("no answer to IDLE".into()))??;
            if line.starts_with(b"+") {
                break;
            }
            if let Some(end) = Tagged::of(&line, &tag) {
                end.result()?;
                return Ok(Some(lines));
            }
            lines.push(line);
        }
        if lines.is_empty() {
            match timeout(max, self.next_line()).await {
                Ok(line) => lines.push(line?),
                Err(_) => return Ok(None),
            }
        }
        let stream = self.session.get_mut();
        let written = async {
            stream.write_all(b"DONE\r\n").await?;
            stream.flush().await
        }
        .await;
        written.map_err(|e| Failure::Lost(e.to_string()))?;
        loop {
            let line = timeout(LOGIN_TIMEOUT, self.next_line())
                .await
                .map_err(|_| Failure::Lost("no answer to DONE".into()))??;
            if let Some(end) = Tagged::of(&line, &tag) {
                end.result()?;
                return Ok(Some(lines));
            }
            lines.push(line);
        }
    }

    /// Says LOGOUT (briefly) and closes the connection. Errors do not matter here.
    pub async fn close(mut self) {
        let _ = timeout(LOGOUT_TIMEOUT, self.session.logout()).await;
    }
}

/// Connects and secures the connection as configured, reads the greeting and says
/// LOGOUT: whether the server answers, without logging anyone in (readiness checks).
pub async fn greet(endpoint: &Endpoint, tls: &TlsConnector) -> Result<(), ImapError> {
    let mut client = connect(endpoint, tls).await?;
    let _ = timeout(
        LOGOUT_TIMEOUT,
        client.run_command_and_check_ok("LOGOUT", None),
    )
    .await;
    Ok(())
}

/// TCP connect, TLS or STARTTLS as configured, and the server greeting.
async fn connect(endpoint: &Endpoint, tls: &TlsConnector) -> Result<Client<Transport>, ImapError> {
    let addr = format!("{}:{}", endpoint.host, endpoint.port);
    let unreachable = |what: &str, e: &dyn std::fmt::Display| {
        ImapError::Unreachable(short(&format!("{what} {addr}: {e}")))
    };
    let tcp = transport::connect_tcp(&endpoint.host, endpoint.port)
        .await
        .map_err(|e| unreachable("cannot connect to", &e))?;
    let server_name = || {
        ServerName::try_from(endpoint.host.clone())
            .map_err(|e| unreachable("invalid TLS server name for", &e))
    };
    match endpoint.security {
        Security::Tls => {
            let transport = Transport::tls(tcp, tls, server_name()?)
                .await
                .map_err(|e| unreachable("TLS handshake failed with", &e))?;
            let mut client = Client::new(transport);
            greeting(&mut client).await?;
            Ok(client)
        }
        Security::None => {
            let mut client = Client::new(Transport::plain(tcp));
            greeting(&mut client).await?;
            Ok(client)
        }
        Security::Starttls => {
            let mut client = Client::new(Transport::plain(tcp));
            greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| unreachable("STARTTLS refused by", &e))?;
            let tcp = client
                .into_inner()
                .into_plain_tcp()
                .ok_or_else(|| unreachable("unexpected data after STARTTLS from", &"?"))?;
            let transport = Transport::tls(tcp, tls, server_name()?)
                .await
                .map_err(|e| unreachable("TLS handshake failed with", &e))?;
            // No second greeting after STARTTLS (RFC 3501 §6.2.1).
            Ok(Client::new(transport))
        }
    }
}

/// async-imap leaves reading the greeting to us.
async fn greeting(client: &mut Client<Transport>) -> Result<(), ImapError> {
    let resp = client
        .read_response()
        .await
        .map_err(|e| ImapError::Unreachable(short(&format!("reading the greeting: {e}"))))?
        .ok_or_else(|| ImapError::Unreachable("the server closed the connection".into()))?;
    match resp.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(ImapError::Unreachable(short(&format!(
            "the server refused the connection: {}",
            outcome.information.as_deref().unwrap_or_default()
        )))),
        _ => Err(ImapError::Protocol("unexpected greeting".into())),
    }
}

/// LOGIN without the password ever passing through async-imap (see `transport`).
async fn login(
    mut client: Client<Transport>,
    username: &str,
    password: &Secret,
) -> Result<Conn, ImapError> {
    // A quoted string cannot carry CR, LF or NUL; such credentials cannot be valid.
    let bad = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    if username.is_empty() || bad(username) || bad(password.expose()) {
        return Err(ImapError::AuthFailed);
    }
    let placeholder: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    // async-imap writes the placeholder as a quoted string; the transport swaps in the
    // real, quoted password (UTF-8 is fine in quoted strings for Dovecot and IMAP4rev2).
    client.get_mut().inject_once(
        format!("\"{placeholder}\"").as_bytes(),
        quote(password.expose()).into_bytes(),
    );
    let (mut session, caps) = match client.login_with_capabilities(username, &placeholder).await {
        Ok(ok) => ok,
        Err((e, mut client)) => {
            client.get_mut().clear_injection();
            return Err(match e {
                AsyncImapError::No(text) if text.contains("UNAVAILABLE") => {
                    ImapError::Unreachable(short(&format!("login unavailable: {text}")))
                }
                // LOGINDISABLED / plaintext refused: a configuration problem, not the
                // user's password.
                AsyncImapError::No(text)
                    if text.contains("PRIVACYREQUIRED") || text.contains("Plaintext") =>
                {
                    ImapError::Protocol(short(&format!(
                        "the server refuses LOGIN without TLS (use tls or starttls): {text}"
                    )))
                }
                // No distinction between unknown user and wrong password, on purpose.
                AsyncImapError::No(_) | AsyncImapError::Validate(_) => ImapError::AuthFailed,
                AsyncImapError::Bad(text) => ImapError::Protocol(short(&text)),
                other => ImapError::Unreachable(short(&format!("during LOGIN: {other}"))),
            });
        }
    };
    session.get_mut().clear_injection();
    let caps = match caps {
        Some(caps) => caps,
        None => session
            .capabilities()
            .await
            .map_err(|e| Failure::from(e).into_error())?,
    };
    let caps = caps
        .iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4REV1".to_owned(),
            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
            Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect();
    Ok(Conn {
        session,
        caps,
        _counted: crate::metrics::ImapConnection::open(),
        permit: None,
        selected: None,
        wrote: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    /// A scripted IMAP server on loopback: greets, accepts LOGIN, answers NOOP, SEARCH
    /// and APPEND, and returns every line it received (the command log) when the client
    /// has gone.
    async fn fake_server() -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            let mut log = Vec::new();
            w.write_all(b"* OK ready\r\n").await.unwrap();
            let mut line = String::new();
            while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                log.push(line.clone());
                let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
                let reply = if rest.starts_with("LOGIN") {
                    format!("{tag} OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n")
                } else if rest.starts_with("UID SEARCH") {
                    format!("* SEARCH 3 9\r\n{tag} OK done\r\n")
                } else if let Some(n) = rest.strip_prefix("APPEND \"INBOX\" (\\Seen) {") {
                    let n: usize = n.trim_end().trim_end_matches('}').parse().unwrap();
                    w.write_all(b"+ go ahead\r\n").await.unwrap();
                    let mut body = vec![0u8; n + 2];
                    r.read_exact(&mut body).await.unwrap();
                    log.push(String::from_utf8_lossy(&body).into_owned());
                    format!("{tag} OK [APPENDUID 7 42] stored\r\n")
                } else if rest.starts_with("LOGOUT") {
                    format!("* BYE\r\n{tag} OK bye\r\n")
                } else {
                    format!("{tag} OK done\r\n")
                };
                w.write_all(reply.as_bytes()).await.unwrap();
                line.clear();
            }
            log
        });
        (port, server)
    }

    async fn connect_to(port: u16) -> Conn {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            ca_file: None,
        };
        let tls = transport::tls_connector(None).unwrap();
        Conn::open(&endpoint, &tls, "alice", &Secret::new("pw"))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_refused_argument_never_reaches_the_server() {
        let (port, server) = fake_server().await;
        let mut c = connect_to(port).await;
        assert!(c.has("LITERAL+"));
        let evil = "x\r\nA9 DELETE INBOX";
        let res = c.command(&Cmd::new("SELECT").mailbox(evil), |_| {}).await;
        assert!(matches!(res, Err(Failure::Fail(ImapError::InvalidName))));
        // One bad command in a pipeline: none of it goes out.
        let cmds = [
            Cmd::new("NOOP"),
            Cmd::new("UID SEARCH SUBJECT").string(evil),
        ];
        assert!(c.pipeline(&cmds).await.is_err());
        // The connection is still usable, and the server saw only good commands.
        c.command(&Cmd::new("NOOP"), |_| {}).await.unwrap();
        let found = c
            .search(&Cmd::new("UID SEARCH SUBJECT").string("a\"b"))
            .await;
        assert_eq!(found.unwrap(), vec![3, 9]);
        let stored = c
            .append(Cmd::new("APPEND").mailbox("INBOX").atom("(\\Seen)"), b"Hi")
            .await
            .unwrap();
        assert_eq!(stored.append_uid(), Some(42));
        c.close().await;
        let log = server.await.unwrap();
        assert!(log[0].contains("LOGIN"), "{log:?}");
        let sent: Vec<&str> = log[1..]
            .iter()
            .map(|l| l.split_once(' ').map_or(l.as_str(), |(_, rest)| rest))
            .collect();
        assert_eq!(
            sent,
            [
                "NOOP\r\n",
                "UID SEARCH SUBJECT \"a\\\"b\"\r\n",
                "APPEND \"INBOX\" (\\Seen) {2}\r\n",
                "Hi\r\n",
                "LOGOUT\r\n",
            ]
        );
        assert!(!log.iter().any(|l| l.contains("DELETE")));
    }

    #[test]
    fn short_cuts_long_text_on_a_char_boundary() {
        let long = "é".repeat(300);
        let s = short(&long);
        assert!(s.len() <= 204 && s.ends_with('…'));
        assert_eq!(short("fine"), "fine");
    }

    #[test]
    fn failures_know_whether_the_connection_survives() {
        assert!(!Failure::Lost("x".into()).connection_ok());
        assert!(
            Failure::Rejected {
                bad: false,
                text: String::new()
            }
            .connection_ok()
        );
        assert!(!Failure::Broken(ImapError::Protocol(String::new())).connection_ok());
        let e = Failure::Rejected {
            bad: false,
            text: "no".into(),
        }
        .no_means(ImapError::NoSuchMailbox);
        assert!(matches!(e.into_error(), ImapError::NoSuchMailbox));
        // A new user's INBOX being made by another connection is not "no such folder".
        let racing = Failure::Rejected {
            bad: false,
            text: "[ALREADYEXISTS] Mailbox already exists".into(),
        }
        .no_means(ImapError::NoSuchMailbox);
        assert!(matches!(racing, Failure::Lost(_)), "{racing:?}");
        let e = Failure::Rejected {
            bad: true,
            text: "bad".into(),
        }
        .no_means(ImapError::NoSuchMailbox);
        assert!(matches!(e.into_error(), ImapError::Protocol(_)));
    }

    #[test]
    fn parse_failures_are_not_retried_and_do_not_leak_the_buffer() {
        let e = std::io::Error::other("Error during parsing of \"* 1 FETCH secret mail\"");
        match io_failure(&e) {
            Failure::Broken(ImapError::Protocol(t)) => assert!(!t.contains("secret")),
            other => panic!("{other:?}"),
        }
    }
}
