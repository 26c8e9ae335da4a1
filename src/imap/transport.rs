//! The byte stream under an IMAP connection: plain TCP or TLS, behind one type.
//!
//! async-imap is generic over its stream; [`Transport`] is the one type we give it, so
//! pooled connections have a single type whatever [`Security`](crate::config::Security)
//! the site uses. It also does two jobs async-imap cannot do for us:
//!
//! - **Password injection.** async-imap trace-logs every command it writes, LOGIN
//!   included. We hand it a random placeholder instead of the password and swap the real
//!   argument in here, below the logging, so the password exists only on the wire.
//! - **Raw responses.** imap-proto cannot parse `* ESEARCH`, and a parse failure wedges
//!   async-imap's buffer for good. For the few commands that answer with ESEARCH we read
//!   the reply ourselves with [`Transport::read_raw_line`]; whatever we read past the end
//!   of our reply is kept and handed back to async-imap on its next read.
//!
//! - **No stalls waiting for ACKs.** Some servers (Cyrus) write a reply larger than their
//!   4 KB output buffer in several pieces with Nagle's algorithm on: each later piece waits
//!   until we acknowledge the earlier ones, and Linux delays that ACK by up to 40 ms when it
//!   expects to piggyback it on our next command. [`connect_tcp`] turns Nagle off for our
//!   own commands (`TCP_NODELAY`), and on Linux every read that returned data re-arms
//!   `TCP_QUICKACK`, which the kernel clears by itself: that sends the pending ACK at once.
//!
//! It does not know IMAP beyond line and literal framing.

use std::{
    fmt, io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

/// Longest raw response we accept from [`Transport::read_raw_line`]. ESEARCH replies are
/// a few hundred bytes; this only stops a broken server from filling memory.
const MAX_RAW_LINE: usize = 4 * 1024 * 1024;

/// Connects to `host:port` with the socket options described in the module doc.
pub async fn connect_tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    // Commands are single small writes; do not let Nagle hold them back. A failure only
    // costs speed, never correctness, so it is not an error.
    let _ = tcp.set_nodelay(true);
    quickack(&tcp);
    Ok(tcp)
}

/// Asks the kernel to acknowledge received data right away (Linux; elsewhere nothing).
/// Cheap: one `setsockopt`, and it sends an ACK only if one is pending.
fn quickack(tcp: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}

/// The socket itself.
enum Io {
    /// Security `none`, or before STARTTLS.
    Plain(TcpStream),
    /// Boxed: a TLS stream is large and the enum is moved around.
    Tls(Box<TlsStream<TcpStream>>),
}

/// One-shot replacement of a placeholder argument in the next write (see module doc).
struct Injection {
    /// What async-imap writes (the placeholder, with its quotes).
    placeholder: Vec<u8>,
    /// What goes on the wire instead.
    value: Vec<u8>,
}

/// A connected socket, plain or TLS, as async-imap's stream type.
pub struct Transport {
    /// The socket.
    io: Io,
    /// Bytes read by [`Transport::read_raw_line`] beyond the reply it was reading.
    pushback: Vec<u8>,
    /// How much of `pushback` has been consumed.
    pushback_pos: usize,
    /// Armed for the LOGIN command only.
    injection: Option<Injection>,
    /// Rewritten bytes not yet accepted by the socket.
    pending_out: Vec<u8>,
}

impl fmt::Debug for Transport {
    // Never print buffers: they may hold the password or mail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.io {
            Io::Plain(_) => "plain",
            Io::Tls(_) => "tls",
        };
        f.debug_struct("Transport")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Wraps a TCP connection without encryption (security `none`, or before STARTTLS).
    pub fn plain(tcp: TcpStream) -> Transport {
        Transport::new(Io::Plain(tcp))
    }

    /// Runs the TLS handshake over `tcp`.
    pub async fn tls(
        tcp: TcpStream,
        connector: &TlsConnector,
        server_name: ServerName<'static>,
    ) -> io::Result<Transport> {
        let tls = connector.connect(server_name, tcp).await?;
        Ok(Transport::new(Io::Tls(Box::new(tls))))
    }

    /// A transport with empty buffers.
    fn new(io: Io) -> Transport {
        Transport {
            io,
            pushback: Vec::new(),
            pushback_pos: 0,
            injection: None,
            pending_out: Vec::new(),
        }
    }

    /// The TCP socket under the transport, plain or TLS.
    fn tcp(&self) -> &TcpStream {
        match &self.io {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }

    /// The TCP stream under a plain transport, for the STARTTLS upgrade.
    pub fn into_plain_tcp(self) -> Option<TcpStream> {
        match self.io {
            // Nothing may be buffered: the server sends nothing after its STARTTLS OK.
            Io::Plain(tcp) if self.pushback_pos >= self.pushback.len() => Some(tcp),
            _ => None,
        }
    }

    /// The next write containing `placeholder` goes out with `value` in its place.
    pub fn inject_once(&mut self, placeholder: &[u8], value: Vec<u8>) {
        self.injection = Some(Injection {
            placeholder: placeholder.to_vec(),
            value,
        });
    }

    /// Forgets an injection that was not used (so the value does not linger in memory).
    pub fn clear_injection(&mut self) {
        self.injection = None;
    }

    /// Reads one complete response line, literals included, straight off the socket.
    ///
    /// Only call this between commands' replies that async-imap does not read itself:
    /// async-imap keeps its own buffer, which is empty between complete responses because
    /// an IMAP server sends nothing after a tagged reply until the next command. If a
    /// `* BYE` did sneak in there, we simply hit end of file and the caller reconnects.
    pub async fn read_raw_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            // Find the end of the current line.
            let eol = loop {
                let avail = &self.pushback[self.pushback_pos..];
                if let Some(i) = avail.windows(2).position(|w| w == b"\r\n") {
                    break i + 2;
                }
                if avail.len() + line.len() > MAX_RAW_LINE {
                    return Err(io::Error::other("IMAP response line too long"));
                }
                self.fill().await?;
            };
            let start = self.pushback_pos;
            line.extend_from_slice(&self.pushback[start..start + eol]);
            self.pushback_pos += eol;
            // A line ending in `{n}` (or `{n+}`) announces n bytes of literal, then the
            // line goes on.
            let Some(n) = literal_len(&line) else {
                break;
            };
            if line.len() + n > MAX_RAW_LINE {
                return Err(io::Error::other("IMAP literal too long"));
            }
            while self.pushback.len() - self.pushback_pos < n {
                self.fill().await?;
            }
            let start = self.pushback_pos;
            line.extend_from_slice(&self.pushback[start..start + n]);
            self.pushback_pos += n;
        }
        if self.pushback_pos == self.pushback.len() {
            self.pushback.clear();
            self.pushback_pos = 0;
        }
        Ok(line)
    }

    /// Appends one read from the socket to the pushback buffer.
    async fn fill(&mut self) -> io::Result<()> {
        if self.pushback_pos > 0 && self.pushback_pos == self.pushback.len() {
            self.pushback.clear();
            self.pushback_pos = 0;
        }
        let mut chunk = [0u8; 8192];
        let n = match &mut self.io {
            Io::Plain(s) => s.read(&mut chunk).await?,
            Io::Tls(s) => s.read(&mut chunk).await?,
        };
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        quickack(self.tcp());
        self.pushback.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Writes straight to the socket.
    fn poll_write_io(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    /// Writes out any rewritten bytes still waiting.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending_out.is_empty() {
            let pending = std::mem::take(&mut self.pending_out);
            let res = self.poll_write_io(cx, &pending);
            self.pending_out = pending;
            match res {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending_out.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// If `line` (ending in CRLF) ends with a literal announcement `{n}` or `{n+}`, its n.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let body = body.strip_suffix(b"+").unwrap_or(body);
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Replaces the first `needle` in `hay`, or `None` if it is absent.
fn replace_once(hay: &[u8], needle: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let at = hay.windows(needle.len()).position(|w| w == needle)?;
    let mut out = Vec::with_capacity(hay.len() - needle.len() + value.len());
    out.extend_from_slice(&hay[..at]);
    out.extend_from_slice(value);
    out.extend_from_slice(&hay[at + needle.len()..]);
    Some(out)
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pushback_pos < this.pushback.len() {
            let avail = &this.pushback[this.pushback_pos..];
            let n = avail.len().min(buf.remaining());
            buf.put_slice(&avail[..n]);
            this.pushback_pos += n;
            if this.pushback_pos == this.pushback.len() {
                this.pushback.clear();
                this.pushback_pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let res = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        // Data came in (under TLS: at least one record did): ACK it now, see module doc.
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            quickack(this.tcp());
        }
        res
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(inj) = &this.injection
            && let Some(rewritten) = replace_once(buf, &inj.placeholder, &inj.value)
        {
            this.injection = None;
            this.pending_out = rewritten;
            // We own the rewritten bytes now, so the caller's buffer counts as written;
            // flush (or the next write) pushes them out.
            if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        this.poll_write_io(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The connector for `ca_file`, built once per file and kept: the servers of other mail
/// domains (`crate::directory`) may trust another CA than the default servers.
pub fn tls_connector_for(ca_file: Option<&std::path::Path>) -> Result<TlsConnector, String> {
    type Cache =
        std::sync::Mutex<std::collections::HashMap<Option<std::path::PathBuf>, TlsConnector>>;
    static CACHE: std::sync::LazyLock<Cache> = std::sync::LazyLock::new(Cache::default);
    let key = ca_file.map(std::path::Path::to_owned);
    if let Some(c) = CACHE.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let connector = tls_connector(ca_file)?;
    if let Ok(mut m) = CACHE.lock() {
        m.insert(key, connector.clone());
    }
    Ok(connector)
}

/// Builds the TLS connector: the web PKI roots plus, optionally, the site's own CA.
pub fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<TlsConnector, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let mut added = 0;
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("CA file {} holds no certificate", path.display()));
        }
    }
    // An explicit provider: never depends on (or panics over) the process default.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_announcements() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {42}\r\n"), Some(42));
        assert_eq!(literal_len(b"A1 LOGIN {5+}\r\n"), Some(5));
        assert_eq!(literal_len(b"* OK {x}\r\n"), None);
        assert_eq!(literal_len(b"* OK done\r\n"), None);
        assert_eq!(literal_len(b"* OK {}\r\n"), None);
    }

    #[test]
    fn injection_replaces_exactly_the_placeholder() {
        let out = replace_once(b"LOGIN \"bob\" \"PH\"", b"\"PH\"", b"\"s3cret\"").unwrap();
        assert_eq!(out, b"LOGIN \"bob\" \"s3cret\"");
        assert!(replace_once(b"NOOP", b"\"PH\"", b"x").is_none());
    }

    /// The socket Mailroom talks IMAP over sends at once and acknowledges at once, after
    /// every read (both read paths), also once the exchange looks interactive to the
    /// kernel (which is when Linux starts delaying ACKs).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_socket_sends_and_acks_without_delay() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // A reply of 8 KB, one line: bigger than Cyrus's 4 KB output buffer.
        let reply = format!("* OK {}\r\n", "x".repeat(8192));
        let server = {
            let reply = reply.clone();
            tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut line = [0u8; 64];
                for _ in 0..6 {
                    s.write_all(reply.as_bytes()).await.unwrap();
                    // Wait for the client's next command.
                    let _ = s.read(&mut line).await.unwrap();
                }
            })
        };
        let mut t = Transport::plain(connect_tcp("127.0.0.1", port).await.unwrap());
        let sock = socket2::SockRef::from(t.tcp());
        assert!(sock.tcp_nodelay().unwrap(), "TCP_NODELAY");
        for round in 0..6 {
            if round % 2 == 0 {
                assert_eq!(t.read_raw_line().await.unwrap(), reply.as_bytes());
            } else {
                let mut got = vec![0u8; reply.len()];
                t.read_exact(&mut got).await.unwrap();
                assert_eq!(got, reply.as_bytes());
            }
            let sock = socket2::SockRef::from(t.tcp());
            assert!(
                sock.tcp_quickack().unwrap(),
                "TCP_QUICKACK after round {round}"
            );
            t.write_all(b"A1 NOOP\r\n").await.unwrap();
            t.flush().await.unwrap();
        }
        server.await.unwrap();
    }

    #[tokio::test]
    async fn raw_reader_keeps_what_it_over_reads() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            use tokio::io::AsyncWriteExt;
            s.write_all(b"* ESEARCH (TAG \"A1\") UID COUNT 3\r\nA1 OK done\r\n* 1 FETCH (BODY[] {5}\r\nhello)\r\nA2 OK x\r\n")
                .await
                .unwrap();
        });
        let mut t = Transport::plain(TcpStream::connect(addr).await.unwrap());
        server.await.unwrap();
        assert_eq!(
            t.read_raw_line().await.unwrap(),
            b"* ESEARCH (TAG \"A1\") UID COUNT 3\r\n"
        );
        assert_eq!(t.read_raw_line().await.unwrap(), b"A1 OK done\r\n");
        assert_eq!(
            t.read_raw_line().await.unwrap(),
            b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n"
        );
        // The rest is still there for an ordinary read.
        let mut rest = Vec::new();
        t.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"A2 OK x\r\n");
    }
}
