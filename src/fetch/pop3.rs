//! A minimal POP3 client: what fetching needs and nothing more (RFC 1939 USER/PASS, UIDL,
//! LIST, RETR, DELE, QUIT; RFC 2595 STLS).
//!
//! Written for a server that may be hostile: every read has a timeout, a status line is at
//! most [`MAX_LINE`] bytes, a listing at most [`MAX_LISTING`] entries, and a message stops
//! being read at the size the caller allows, so no answer can fill memory. Server text in
//! errors is shortened and stripped of control characters; the password never appears in
//! an error or a log.

use std::time::Duration;

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    time::timeout,
};

/// Longest status or listing line accepted (RFC 1939 allows 512; some servers say more).
pub const MAX_LINE: usize = 8 * 1024;
/// Most entries read from a UIDL or LIST answer.
pub const MAX_LISTING: usize = 200_000;

/// A connection's byte stream: plain TCP, TLS, or a test's in-memory pipe.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What went wrong talking POP3.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Pop3Error {
    /// The connection failed, closed or timed out.
    #[error("connection: {0}")]
    Connection(String),
    /// USER or PASS was refused.
    #[error("login refused: {0}")]
    Auth(String),
    /// The server said -ERR, or something that is not POP3.
    #[error("server: {0}")]
    Protocol(String),
    /// A message was larger than allowed (the connection is then unusable).
    #[error("message larger than {0} bytes")]
    TooBig(usize),
}

/// An open POP3 conversation.
pub struct Pop3 {
    io: BufReader<Box<dyn Io>>,
    read_timeout: Duration,
}

impl Pop3 {
    /// Reads the greeting on a fresh connection.
    pub async fn greet(io: Box<dyn Io>, read_timeout: Duration) -> Result<Pop3, Pop3Error> {
        let mut p = Pop3::resume(io, read_timeout);
        p.status().await?;
        Ok(p)
    }

    /// Continues on a stream without a greeting (after STLS, RFC 2595 §4: none is sent).
    pub fn resume(io: Box<dyn Io>, read_timeout: Duration) -> Pop3 {
        Pop3 {
            io: BufReader::new(io),
            read_timeout,
        }
    }

    /// Sends STLS and hands back the raw stream for the TLS handshake.
    pub async fn stls(mut self) -> Result<Box<dyn Io>, Pop3Error> {
        self.command("STLS").await?;
        // Anything already buffered was sent before TLS: an injection attempt.
        if !self.io.buffer().is_empty() {
            return Err(Pop3Error::Protocol("data after STLS".into()));
        }
        Ok(self.io.into_inner())
    }

    /// USER then PASS. Names or passwords with CR, LF or NUL cannot be sent and are
    /// refused as a failed login.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), Pop3Error> {
        let bad = |s: &str| s.is_empty() || s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
        if bad(user) || bad(password) {
            return Err(Pop3Error::Auth(
                "the login or password cannot be sent".into(),
            ));
        }
        let auth = |e: Pop3Error| match e {
            Pop3Error::Protocol(text) => Pop3Error::Auth(text),
            other => other,
        };
        self.command(&format!("USER {user}")).await.map_err(auth)?;
        self.command(&format!("PASS {password}"))
            .await
            .map_err(auth)?;
        Ok(())
    }

    /// `UIDL`: each message's number and unique id (1 to 70 printable characters).
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>, Pop3Error> {
        let lines = self.listing("UIDL").await?;
        lines
            .iter()
            .map(|l| {
                let (n, id) = split_pair(l)?;
                let valid =
                    (1..=70).contains(&id.len()) && id.bytes().all(|b| (0x21..0x7f).contains(&b));
                valid
                    .then(|| (n, id.to_owned()))
                    .ok_or_else(|| Pop3Error::Protocol("invalid UIDL line".into()))
            })
            .collect()
    }

    /// `LIST`: each message's number and size in octets.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, Pop3Error> {
        let lines = self.listing("LIST").await?;
        lines
            .iter()
            .map(|l| {
                let (n, size) = split_pair(l)?;
                let size = size
                    .parse()
                    .map_err(|_| Pop3Error::Protocol("invalid LIST line".into()))?;
                Ok((n, size))
            })
            .collect()
    }

    /// `RETR n`: the whole message, dot-unstuffed, CRLF line ends. More than `max` bytes
    /// is [`Pop3Error::TooBig`]; then the rest is unread and the connection must be dropped.
    pub async fn retr(&mut self, n: u32, max: usize) -> Result<Vec<u8>, Pop3Error> {
        self.command(&format!("RETR {n}")).await?;
        let mut message = Vec::new();
        loop {
            let budget = max.saturating_sub(message.len()) + 3;
            let line = self.read_line(budget).await.map_err(|e| match e {
                Pop3Error::Protocol(_) => Pop3Error::TooBig(max),
                other => other,
            })?;
            if line == b"." {
                return Ok(message);
            }
            // RFC 1939 §3: a line starting with "." had one more "." added.
            let line = line.strip_prefix(b".").unwrap_or(&line);
            message.extend_from_slice(line);
            message.extend_from_slice(b"\r\n");
            if message.len() > max {
                return Err(Pop3Error::TooBig(max));
            }
        }
    }

    /// `DELE n`: marked for deletion, done when QUIT succeeds.
    pub async fn dele(&mut self, n: u32) -> Result<(), Pop3Error> {
        self.command(&format!("DELE {n}")).await.map(|_| ())
    }

    /// `QUIT`: the server deletes what DELE marked (RFC 1939 UPDATE state).
    pub async fn quit(mut self) -> Result<(), Pop3Error> {
        self.command("QUIT").await.map(|_| ())
    }

    /// Sends a command line and reads its `+OK` (the text after it) or `-ERR`.
    async fn command(&mut self, line: &str) -> Result<String, Pop3Error> {
        let io = self.io.get_mut();
        let written = async {
            io.write_all(line.as_bytes()).await?;
            io.write_all(b"\r\n").await?;
            io.flush().await
        };
        timeout(self.read_timeout, written)
            .await
            .map_err(|_| Pop3Error::Connection("timed out writing".into()))?
            .map_err(|e| Pop3Error::Connection(e.to_string()))?;
        self.status().await
    }

    /// Reads a status line.
    async fn status(&mut self) -> Result<String, Pop3Error> {
        let line = self.read_line(MAX_LINE).await?;
        let text = printable(&line);
        if let Some(rest) = text.strip_prefix("+OK") {
            Ok(rest.trim().to_owned())
        } else if let Some(rest) = text.strip_prefix("-ERR") {
            Err(Pop3Error::Protocol(rest.trim().to_owned()))
        } else {
            Err(Pop3Error::Protocol(format!("not POP3: {text}")))
        }
    }

    /// A multi-line answer of short lines (UIDL, LIST), without the final ".".
    async fn listing(&mut self, command: &str) -> Result<Vec<String>, Pop3Error> {
        self.command(command).await?;
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(MAX_LINE).await?;
            if line == b"." {
                return Ok(lines);
            }
            if lines.len() >= MAX_LISTING {
                return Err(Pop3Error::Protocol(format!(
                    "more than {MAX_LISTING} messages"
                )));
            }
            lines.push(printable(&line));
        }
    }

    /// One line without its CRLF (or bare LF); longer than `max`: [`Pop3Error::Protocol`].
    async fn read_line(&mut self, max: usize) -> Result<Vec<u8>, Pop3Error> {
        let mut line = Vec::new();
        loop {
            let buf = timeout(self.read_timeout, self.io.fill_buf())
                .await
                .map_err(|_| Pop3Error::Connection("timed out waiting for the server".into()))?
                .map_err(|e| Pop3Error::Connection(e.to_string()))?;
            if buf.is_empty() {
                return Err(Pop3Error::Connection(
                    "the server closed the connection".into(),
                ));
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            line.extend_from_slice(&buf[..take]);
            self.io.consume(take);
            if line.len() > max + 2 {
                return Err(Pop3Error::Protocol("line too long".into()));
            }
            if done {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
        }
    }
}

/// `"n rest"` as (n, rest).
fn split_pair(line: &str) -> Result<(u32, &str), Pop3Error> {
    let (n, rest) = line
        .split_once(' ')
        .ok_or_else(|| Pop3Error::Protocol("invalid listing line".into()))?;
    let n = n
        .parse()
        .map_err(|_| Pop3Error::Protocol("invalid message number".into()))?;
    Ok((n, rest.trim()))
}

/// Server text safe for logs and pages: control characters dropped, at most 200 bytes.
fn printable(line: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(line)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    super::truncate(&text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, DuplexStream, duplex};

    /// A client on one end of a pipe, the server script on the other: it writes `answers`
    /// and returns everything the client sent.
    async fn talk(answers: &'static [u8]) -> (Pop3, tokio::task::JoinHandle<String>) {
        let (client, mut server): (DuplexStream, DuplexStream) = duplex(1 << 16);
        let task = tokio::spawn(async move {
            server.write_all(answers).await.unwrap();
            let mut got = Vec::new();
            let _ = timeout(Duration::from_millis(300), server.read_to_end(&mut got)).await;
            String::from_utf8_lossy(&got).into_owned()
        });
        let p = Pop3::greet(Box::new(client), Duration::from_millis(500))
            .await
            .unwrap();
        (p, task)
    }

    #[tokio::test]
    async fn a_whole_session_lists_retrieves_unstuffs_and_deletes() {
        let (mut p, sent) = talk(
            b"+OK ready\r\n+OK\r\n+OK logged in\r\n\
              +OK\r\n1 abc\r\n2 def\r\n.\r\n\
              +OK\r\n1 120\r\n2 7\r\n.\r\n\
              +OK message\r\nSubject: x\r\n\r\n..hidden dot\r\n.\r\n\
              +OK\r\n+OK bye\r\n",
        )
        .await;
        p.login("bob@example.test", "s3cret").await.unwrap();
        assert_eq!(
            p.uidl().await.unwrap(),
            [(1, "abc".to_owned()), (2, "def".to_owned())]
        );
        assert_eq!(p.list().await.unwrap(), [(1, 120), (2, 7)]);
        assert_eq!(
            p.retr(1, 1000).await.unwrap(),
            b"Subject: x\r\n\r\n.hidden dot\r\n"
        );
        p.dele(1).await.unwrap();
        p.quit().await.unwrap();
        assert_eq!(
            sent.await.unwrap(),
            "USER bob@example.test\r\nPASS s3cret\r\nUIDL\r\nLIST\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n"
        );
    }

    #[tokio::test]
    async fn a_refused_password_is_an_auth_error_and_is_not_in_it() {
        let (mut p, _) = talk(b"+OK\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n").await;
        let e = p.login("bob", "hunter2").await.unwrap_err();
        assert!(matches!(&e, Pop3Error::Auth(t) if t.contains("Authentication failed")));
        assert!(!e.to_string().contains("hunter2"));
        let e = p.login("bob\r\nDELE 1", "x").await.unwrap_err();
        assert!(
            matches!(e, Pop3Error::Auth(_)),
            "an injected line is never sent"
        );
    }

    #[tokio::test]
    async fn endless_lines_and_huge_messages_stop_at_their_caps() {
        // A status line that never ends.
        let (client, mut server) = duplex(1 << 16);
        tokio::spawn(async move {
            let _ = server.write_all(b"+OK ").await;
            let chunk = vec![b'a'; 4096];
            for _ in 0..100 {
                if server.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let e = Pop3::greet(Box::new(client), Duration::from_millis(500))
            .await
            .err()
            .unwrap();
        assert_eq!(e, Pop3Error::Protocol("line too long".into()));

        // A message over the allowed size, whether in one line or many.
        let (mut p, _) =
            talk(b"+OK\r\n+OK\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n.\r\n").await;
        assert_eq!(p.retr(1, 20).await.unwrap_err(), Pop3Error::TooBig(20));
        let (mut p, _) = talk(b"+OK\r\n+OK\r\na\r\nb\r\nc\r\nd\r\ne\r\nf\r\n.\r\n").await;
        assert_eq!(p.retr(1, 6).await.unwrap_err(), Pop3Error::TooBig(6));
        let (mut p, _) = talk(b"+OK\r\n+OK\r\na\r\nb\r\n.\r\n").await;
        assert_eq!(p.retr(1, 6).await.unwrap(), b"a\r\nb\r\n");
    }

    #[tokio::test]
    async fn silence_times_out_and_garbage_is_not_pop3() {
        let (client, _server) = duplex(64);
        let e = Pop3::greet(Box::new(client), Duration::from_millis(50))
            .await
            .err()
            .unwrap();
        assert!(matches!(e, Pop3Error::Connection(t) if t.contains("timed out")));
        let (mut p, _) = talk(b"+OK\r\n+OK\r\n1 has\x01 space\r\n.\r\n").await;
        assert!(
            p.uidl().await.is_err(),
            "a UIDL with a space or control is refused"
        );
        let (client, mut server) = duplex(64);
        server.write_all(b"* OK IMAP4rev1\r\n").await.unwrap();
        let e = Pop3::greet(Box::new(client), Duration::from_millis(200))
            .await
            .err()
            .unwrap();
        assert!(matches!(e, Pop3Error::Protocol(t) if t.starts_with("not POP3")));
    }

    #[tokio::test]
    async fn stls_hands_back_the_stream_unless_the_server_said_more() {
        let (p, _) = talk(b"+OK\r\n+OK begin TLS\r\n").await;
        let mut raw = p.stls().await.expect("the stream for the handshake");
        raw.write_all(b"x").await.unwrap();
        // Lines sent along with the go-ahead would be read as if they came over TLS.
        let (p, _) = talk(b"+OK\r\n+OK begin TLS\r\n+OK injected\r\n").await;
        assert_eq!(
            p.stls().await.err(),
            Some(Pop3Error::Protocol("data after STLS".into()))
        );
    }
}
