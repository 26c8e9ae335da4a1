//! Sending mail: one SMTP submission conversation per message, as the logged-in user.
//!
//! We log in to the configured submission server with the user's own IMAP credentials
//! (the same account), so the server applies its own sender and rate policies. The
//! conversation uses lettre's low-level `AsyncSmtpConnection` rather than its transport:
//! only that path can put DSN parameters (RFC 3461: `RET`, `ENVID`, `NOTIFY`, `ORCPT`) on
//! the envelope and tell us *which* recipient the server refused. On this path we add
//! `BODY=8BITMIME` and `SMTPUTF8` ourselves when the message or an address needs them.
//!
//! STARTTLS is required when configured: if the server does not offer it we stop before
//! sending the password (lettre's opportunistic mode would send it in clear). Failures
//! come back as [`SmtpError`] variants the web layer can explain; texts are for logs and
//! never hold the password. Building the message is [`crate::mime::compose`]'s job.

use std::time::Duration;

use lettre::{
    Address as LettreAddress,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, Certificate, TlsParameters},
        commands::{Data, Ehlo, Mail, Rcpt, Rset},
        extension::{ClientId, Extension, MailBodyParameter, MailParameter, RcptParameter},
    },
};

use crate::{
    config::{Endpoint, Secret, Security},
    mime::address::ascii_email,
};

/// TCP connect and TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The whole conversation, DATA included (a 25 MB message over a slow link).
const SEND_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a message was not sent. The web layer shows a message for each, and saves the
/// message to Drafts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    /// No connection, TLS failed, STARTTLS missing, or the server hung up.
    #[error("the mail server is not reachable: {0}")]
    Unreachable(String),
    /// The server refused the user's credentials.
    #[error("the mail server refused the login")]
    AuthFailed,
    /// One or more recipients were refused (`RCPT TO` answered 4xx/5xx).
    #[error("recipients refused: {recipients:?}: {reason}")]
    RecipientRejected {
        /// The refused addresses, as given.
        recipients: Vec<String>,
        /// The server's answer to the first one.
        reason: String,
    },
    /// The server refused the sender or the message itself (size, content, policy).
    #[error("message refused: {0}")]
    MessageRefused(String),
}

/// Who the message goes from and to, for the SMTP envelope (not the headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM`; `None` is the null sender `<>` (read receipts, RFC 8098 §3).
    pub from: Option<String>,
    /// `RCPT TO`, in order; To, Cc and Bcc together.
    pub to: Vec<String>,
    /// Ask for delivery status notifications (when the server offers DSN).
    pub dsn: Option<DsnRequest>,
}

/// A DSN request (RFC 3461).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsnRequest {
    /// `ENVID`: lets the user match a report to the message.
    pub envid: String,
}

/// What happened on a successful send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// DSN was asked for and the server offered it, so the parameters went out.
    pub dsn: bool,
}

/// The SMTP client: where the submission server is and which CAs to trust.
#[derive(Clone)]
pub struct Smtp {
    endpoint: Endpoint,
    /// Extra CA (PEM) beside the web roots.
    ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// Reads the CA file now, so a broken one is reported before anyone tries to send.
    pub fn new(endpoint: &Endpoint) -> Result<Smtp, SmtpError> {
        let ca_pem = match &endpoint.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                SmtpError::Unreachable(format!("cannot read CA file {}: {e}", path.display()))
            })?),
            None => None,
        };
        Ok(Smtp {
            endpoint: endpoint.clone(),
            ca_pem,
        })
    }

    /// Sends `message` as `username`: connect, secure, AUTH, MAIL, RCPT for every
    /// recipient, DATA. All recipients are tried so the error can name every refused one.
    pub async fn send(
        &self,
        username: &str,
        password: &Secret,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Sent, SmtpError> {
        match tokio::time::timeout(
            SEND_TIMEOUT,
            self.send_inner(username, password, envelope, message),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(SmtpError::Unreachable(
                "the mail server did not answer in time".into(),
            )),
        }
    }

    async fn send_inner(
        &self,
        username: &str,
        password: &Secret,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Sent, SmtpError> {
        let hello = ClientId::default();
        let mut conn = self.connect(&hello).await?;
        let result = converse(&mut conn, &hello, username, password, envelope, message).await;
        match &result {
            Ok(_) => {
                let _ = conn.quit().await;
            }
            Err(_) => conn.abort().await,
        }
        result
    }

    /// Whether the server answers (greeting, EHLO, TLS as configured), without logging in.
    pub async fn probe(&self) -> Result<(), SmtpError> {
        let mut conn = self.connect(&ClientId::default()).await?;
        let _ = conn.quit().await;
        Ok(())
    }

    /// TCP, then TLS or STARTTLS as configured; EHLO is sent by lettre.
    async fn connect(&self, hello: &ClientId) -> Result<AsyncSmtpConnection, SmtpError> {
        let ep = &self.endpoint;
        let addr = (ep.host.as_str(), ep.port);
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            SmtpError::Unreachable(short(&format!("{what} {}:{}: {e}", ep.host, ep.port)))
        };
        match ep.security {
            Security::Tls => AsyncSmtpConnection::connect_tokio1(
                addr,
                Some(CONNECT_TIMEOUT),
                hello,
                Some(self.tls()?),
                None,
            )
            .await
            .map_err(|e| unreachable("cannot connect (TLS) to", &e)),
            Security::Starttls => {
                let mut conn = AsyncSmtpConnection::connect_tokio1(
                    addr,
                    Some(CONNECT_TIMEOUT),
                    hello,
                    None,
                    None,
                )
                .await
                .map_err(|e| unreachable("cannot connect to", &e))?;
                if !conn.can_starttls() {
                    conn.abort().await;
                    // Never fall back to sending the password in clear.
                    return Err(unreachable(
                        "STARTTLS is not offered by",
                        &"refusing to go on",
                    ));
                }
                conn.starttls(self.tls()?, hello)
                    .await
                    .map_err(|e| unreachable("STARTTLS failed with", &e))?;
                Ok(conn)
            }
            Security::None => {
                AsyncSmtpConnection::connect_tokio1(addr, Some(CONNECT_TIMEOUT), hello, None, None)
                    .await
                    .map_err(|e| unreachable("cannot connect to", &e))
            }
        }
    }

    /// TLS parameters: the web roots plus the configured CA.
    fn tls(&self) -> Result<TlsParameters, SmtpError> {
        let mut b = TlsParameters::builder(self.endpoint.host.clone());
        if let Some(pem) = &self.ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| SmtpError::Unreachable(format!("invalid CA file: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| SmtpError::Unreachable(short(&format!("TLS setup failed: {e}"))))
    }
}

/// AUTH, envelope and DATA on an open connection.
async fn converse(
    conn: &mut AsyncSmtpConnection,
    hello: &ClientId,
    username: &str,
    password: &Secret,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Sent, SmtpError> {
    // lettre's ServerInfo drops extensions it does not know, DSN among them: read the
    // EHLO answer ourselves (before AUTH; EHLO after AUTH may reset the session).
    let dsn = match &envelope.dsn {
        Some(_) => {
            let answer = conn
                .command(Ehlo::new(hello.clone()))
                .await
                .map_err(|e| SmtpError::Unreachable(short(&e.to_string())))?;
            answer.message().any(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("DSN"))
            })
        }
        None => false,
    };
    let info = conn.server_info().clone();
    let mechanisms = [Mechanism::Plain, Mechanism::Login];
    if info.get_auth_mechanism(&mechanisms).is_some() {
        let creds = Credentials::new(username.to_owned(), password.expose().to_owned());
        if let Err(e) = conn.auth(&mechanisms, &creds).await {
            return Err(if e.is_permanent() {
                SmtpError::AuthFailed
            } else {
                SmtpError::Unreachable(short(&format!("during AUTH: {e}")))
            });
        }
    }

    let utf8 = info.supports_feature(Extension::SmtpUtfEight);
    let mut needs_utf8 = false;
    let mut to_lettre = |email: &str| -> Option<LettreAddress> {
        let ascii = ascii_email(email).unwrap_or_else(|| email.to_owned());
        if !ascii.is_ascii() {
            needs_utf8 = true;
        }
        ascii.parse::<LettreAddress>().ok()
    };
    let from =
        match &envelope.from {
            Some(f) => Some(to_lettre(f).ok_or_else(|| {
                SmtpError::MessageRefused(format!("invalid sender address {f:?}"))
            })?),
            None => None,
        };
    let mut rcpts = Vec::with_capacity(envelope.to.len());
    let mut invalid = Vec::new();
    for r in &envelope.to {
        match to_lettre(r) {
            Some(a) => rcpts.push((r.clone(), a)),
            None => invalid.push(r.clone()),
        }
    }
    if !invalid.is_empty() {
        return Err(SmtpError::RecipientRejected {
            recipients: invalid,
            reason: "not a valid address".into(),
        });
    }
    if needs_utf8 && !utf8 {
        return Err(SmtpError::MessageRefused(
            "the server cannot take non-ASCII addresses (no SMTPUTF8)".into(),
        ));
    }

    let mut params = Vec::new();
    if !message.is_ascii() {
        if !info.supports_feature(Extension::EightBitMime) {
            return Err(SmtpError::MessageRefused(
                "the server cannot take 8-bit messages (no 8BITMIME)".into(),
            ));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if needs_utf8 {
        params.push(MailParameter::SmtpUtfEight);
    }
    let dsn_request = envelope.dsn.as_ref().filter(|_| dsn);
    if let Some(d) = dsn_request {
        params.push(MailParameter::Other {
            keyword: "RET".into(),
            value: Some("HDRS".into()),
        });
        params.push(MailParameter::Other {
            keyword: "ENVID".into(),
            value: Some(d.envid.clone()),
        });
    }
    conn.command(Mail::new(from, params))
        .await
        .map_err(|e| refused_or_lost(&e, SmtpError::MessageRefused))?;

    let mut rejected = Vec::new();
    let mut reason = String::new();
    for (given, address) in rcpts {
        let params = match dsn_request {
            Some(_) => vec![
                RcptParameter::Other {
                    keyword: "NOTIFY".into(),
                    value: Some("SUCCESS,FAILURE,DELAY".into()),
                },
                RcptParameter::Other {
                    keyword: "ORCPT".into(),
                    value: Some(format!("rfc822;{address}")),
                },
            ],
            None => Vec::new(),
        };
        match conn.command(Rcpt::new(address, params)).await {
            Ok(_) => {}
            Err(e) if e.is_permanent() || e.is_transient() => {
                if reason.is_empty() {
                    reason = short(&e.to_string());
                }
                rejected.push(given);
            }
            Err(e) => return Err(SmtpError::Unreachable(short(&e.to_string()))),
        }
    }
    if !rejected.is_empty() {
        let _ = conn.command(Rset).await;
        return Err(SmtpError::RecipientRejected {
            recipients: rejected,
            reason,
        });
    }
    conn.command(Data)
        .await
        .map_err(|e| refused_or_lost(&e, SmtpError::MessageRefused))?;
    conn.message(message)
        .await
        .map_err(|e| refused_or_lost(&e, SmtpError::MessageRefused))?;
    Ok(Sent {
        dsn: dsn_request.is_some(),
    })
}

/// A 4xx/5xx answer becomes `refused`; anything else means the connection failed.
fn refused_or_lost(
    e: &lettre::transport::smtp::Error,
    refused: impl FnOnce(String) -> SmtpError,
) -> SmtpError {
    if e.is_permanent() || e.is_transient() {
        refused(short(&e.to_string()))
    } else {
        SmtpError::Unreachable(short(&e.to_string()))
    }
}

/// Error text goes to logs and pages: keep it short.
fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(port: u16, security: Security) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port,
            security,
            ca_file: None,
        }
    }

    /// alice sends a one-line message to bob with password `hunter2`.
    async fn send_one(smtp: &Smtp) -> Result<Sent, SmtpError> {
        let envelope = Envelope {
            from: Some("alice@example.test".into()),
            to: vec!["bob@example.test".into()],
            dsn: None,
        };
        let message = b"Subject: x\r\n\r\nx\r\n";
        smtp.send(
            "alice@example.test",
            &Secret::new("hunter2"),
            &envelope,
            message,
        )
        .await
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable() {
        let smtp = Smtp::new(&endpoint(1, Security::Starttls)).unwrap();
        let err = send_one(&smtp).await.unwrap_err();
        assert!(matches!(err, SmtpError::Unreachable(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_missing_ca_file_is_reported() {
        let mut ep = endpoint(587, Security::Tls);
        ep.ca_file = Some("/nonexistent/ca.pem".into());
        let err = Smtp::new(&ep).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }

    /// A tiny fake server: greets, offers no STARTTLS; we must refuse to go on.
    #[tokio::test]
    async fn starttls_missing_stops_before_auth() {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (r, mut w) = sock.into_split();
            let mut r = BufReader::new(r);
            w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut seen = String::new();
            let mut line = String::new();
            while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                seen.push_str(&line);
                let reply: &[u8] = if line.starts_with("EHLO") {
                    b"250-fake\r\n250 AUTH PLAIN\r\n"
                } else if line.starts_with("QUIT") {
                    b"221 bye\r\n"
                } else {
                    b"500 what\r\n"
                };
                w.write_all(reply).await.unwrap();
                line.clear();
            }
            seen
        });
        let smtp = Smtp::new(&endpoint(port, Security::Starttls)).unwrap();
        let err = send_one(&smtp).await.unwrap_err();
        assert!(
            matches!(err, SmtpError::Unreachable(ref m) if m.contains("STARTTLS")),
            "{err:?}"
        );
        let seen = server.await.unwrap();
        assert!(!seen.contains("AUTH"), "credentials were offered: {seen}");
    }
}
