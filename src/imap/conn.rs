//! One authenticated IMAP connection and the commands we send over it.
//!
//! [`Conn`] owns an async-imap `Session` over our [`Transport`]: it opens it (TCP, TLS or
//! STARTTLS, greeting, LOGIN), remembers the server's capabilities, and runs commands,
//! including the ones async-imap has no method for (SORT, LIST-STATUS, ESEARCH replies).
//! Every failure becomes a [`Failure`], which tells the pool whether the connection is
//! still good and whether a retry on a fresh connection makes sense. Pooling, retrying
//! and what the commands mean for the web pages live elsewhere.

use std::time::Duration;

use async_imap::{
    Client, Session,
    error::Error as AsyncImapError,
    imap_proto::{Response, Status},
    types::{Capability, Mailbox},
};
use rand::{Rng, distributions::Alphanumeric};
use rustls::pki_types::ServerName;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::{
    ImapError,
    names::quote,
    transport::{self, Transport},
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
    pub fn no_means(self, error: ImapError) -> Failure {
        match self {
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
}

impl Conn {
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
    /// notices silently. We re-EXAMINE for every operation, so we need none of them.
    pub fn drain_unsolicited(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// EXAMINE (read-only): for reading, so nothing changes on the server.
    pub async fn examine(&mut self, wire_name: &str) -> Result<Mailbox, Failure> {
        // async-imap quotes the name itself (escaping `\` and `"`); `wire_name` has been
        // checked by `names::mailbox_wire`.
        let res = self.session.examine(wire_name).await;
        res.map_err(|e| Failure::from(e).no_means(ImapError::NoSuchMailbox))
    }

    /// SELECT (read-write): where we change something, and for the message list (see
    /// the `imap` module doc).
    pub async fn select(&mut self, wire_name: &str) -> Result<Mailbox, Failure> {
        let res = self.session.select(wire_name).await;
        res.map_err(|e| Failure::from(e).no_means(ImapError::NoSuchMailbox))
    }

    /// NOOP: is the connection still alive?
    pub async fn noop(&mut self) -> Result<(), Failure> {
        Ok(self.session.noop().await?)
    }

    /// The underlying async-imap session, for commands it has a method for.
    pub fn session(&mut self) -> &mut Session<Transport> {
        &mut self.session
    }

    /// Runs a raw command and hands every untagged response to `on_data` until the
    /// tagged reply. `command` must be built from constants and [`quote`]d arguments.
    pub async fn command(
        &mut self,
        command: &str,
        mut on_data: impl FnMut(&Response<'_>),
    ) -> Result<(), Failure> {
        let tag = self.session.run_command(command).await?;
        loop {
            let Some(resp) = self
                .session
                .read_response()
                .await
                .map_err(|e| io_failure(&e))?
            else {
                return Err(Failure::Lost("connection closed".into()));
            };
            match resp.parsed() {
                Response::Done {
                    tag: t,
                    status,
                    outcome,
                } if *t == tag => {
                    let text = || short(outcome.information.as_deref().unwrap_or_default());
                    return match status {
                        Status::Ok => Ok(()),
                        Status::No => Err(Failure::Rejected {
                            bad: false,
                            text: text(),
                        }),
                        _ => Err(Failure::Rejected {
                            bad: true,
                            text: text(),
                        }),
                    };
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    let text = outcome.information.as_deref().unwrap_or("BYE");
                    return Err(Failure::Lost(short(text)));
                }
                other => on_data(other),
            }
        }
    }

    /// Runs a command whose reply async-imap cannot parse (ESEARCH) and returns its
    /// untagged lines as raw bytes. See [`Transport::read_raw_line`].
    pub async fn command_raw(&mut self, command: &str) -> Result<Vec<Vec<u8>>, Failure> {
        let tag = self.session.run_command(command).await?;
        let tag = tag.0.as_bytes();
        let mut untagged = Vec::new();
        loop {
            let line = self
                .session
                .get_mut()
                .read_raw_line()
                .await
                .map_err(|e| io_failure(&e))?;
            if line.len() > tag.len() && line.starts_with(tag) && line[tag.len()] == b' ' {
                let rest = String::from_utf8_lossy(&line[tag.len() + 1..]);
                let rest = rest.trim_end();
                let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
                return match status.to_ascii_uppercase().as_str() {
                    "OK" => Ok(untagged),
                    "NO" => Err(Failure::Rejected {
                        bad: false,
                        text: short(text),
                    }),
                    _ => Err(Failure::Rejected {
                        bad: true,
                        text: short(text),
                    }),
                };
            }
            if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE") {
                return Err(Failure::Lost(short(
                    String::from_utf8_lossy(&line).trim_end(),
                )));
            }
            untagged.push(line);
        }
    }

    /// Says LOGOUT (briefly) and closes the connection. Errors do not matter here.
    pub async fn close(mut self) {
        let _ = timeout(LOGOUT_TIMEOUT, self.session.logout()).await;
    }
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
    Ok(Conn { session, caps })
}

#[cfg(test)]
mod tests {
    use super::*;

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
