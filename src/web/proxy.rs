//! The image proxy: `GET /proxy?url=&sig=` fetches a remote image for a message whose
//! remote content the user allowed, so the sender sees Mailroom's address instead of the
//! reader's, and no cookie or referrer of the reader's ever reaches them.
//!
//! A proxy that fetches URLs is a server-side request forgery waiting to happen, so this
//! one is narrow on purpose:
//! - it fetches only URLs the sanitizer wrote (`sig` is their HMAC, see
//!   [`crate::mime::ImageProxy`]), only for the logged-in user they were written for, and
//!   only until their expiry (`exp`, `MAILROOM_PROXY_URL_LIFETIME` after the page was
//!   rendered);
//! - each user has at most `MAILROOM_PROXY_FETCHES_PER_USER` fetches in flight; a few
//!   times that many may wait for a slot, and anything beyond gets 429 at once;
//! - it connects only to public addresses: every name is resolved by [`CheckedResolver`],
//!   which drops loopback, private, link-local, CGNAT, unspecified, multicast and other
//!   special addresses, and the connection goes to exactly the addresses it returned (no
//!   second lookup a DNS-rebinding attacker could answer differently); literal IP hosts
//!   are checked the same way before anything is sent;
//! - it follows at most [`MAX_REDIRECTS`] redirects, each target checked like the first;
//! - it serves only png, jpeg, gif, webp and avif whose bytes really are that format, at
//!   most [`MAX_BYTES`], within [`TIMEOUT`] in total;
//! - the answer carries no upstream header, plus `nosniff` and a sandboxing CSP.
//!
//! Failures are answered with a bare status and no body: the only reader is an `<img>`.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect::Policy,
};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::{app::AppState, mime::ImageProxy, store, web::extract::CurrentUser};

/// Largest image served, in bytes.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Time for the whole fetch, redirects included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 3;
/// Requests allowed to wait for a fetch slot, per slot: a newsletter with dozens of images
/// loads completely, a flood is refused.
const WAITING_PER_SLOT: usize = 4;
/// CSP of every proxy answer: an image needs nothing, and must not run if opened directly.
const PROXY_CSP: &str = "default-src 'none'; sandbox";

/// Why an image was not served. Each maps to a status of its own, so logs and tests can
/// tell a refused address from a broken upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// `url`/`exp`/`sig` missing, or the signature does not match: not a URL we wrote
    /// for this user.
    #[error("bad signature")]
    BadSignature,
    /// A URL we wrote for this user, but its expiry has passed.
    #[error("expired")]
    Expired,
    /// The user already has as many fetches running and waiting as allowed.
    #[error("too many fetches")]
    TooMany,
    /// Not an absolute `http(s)` URL without credentials.
    #[error("bad url")]
    BadUrl,
    /// The host resolves only to addresses we do not connect to.
    #[error("address refused")]
    Refused,
    /// More than [`MAX_REDIRECTS`] redirects, or a redirect without a usable target.
    #[error("too many redirects")]
    TooManyRedirects,
    /// Connection failed or the server did not answer 200.
    #[error("upstream failed")]
    Upstream,
    /// The answer is not one of the raster image types we serve.
    #[error("not an image")]
    NotAnImage,
    /// The image is larger than [`MAX_BYTES`].
    #[error("too large")]
    TooLarge,
    /// The fetch took longer than [`TIMEOUT`].
    #[error("timed out")]
    Timeout,
}

impl ProxyError {
    /// The status this failure answers with.
    pub fn status_code(self) -> StatusCode {
        match self {
            ProxyError::BadSignature | ProxyError::Refused => StatusCode::FORBIDDEN,
            ProxyError::Expired => StatusCode::GONE,
            ProxyError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::BadUrl => StatusCode::BAD_REQUEST,
            ProxyError::TooManyRedirects | ProxyError::Upstream => StatusCode::BAD_GATEWAY,
            ProxyError::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProxyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        tracing::debug!(error = %self, "image proxy refused");
        let mut res = self.status_code().into_response();
        protect(&mut res);
        if self == ProxyError::TooMany {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// Headers every proxy answer carries, image or not.
fn protect(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PROXY_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A fetched image, checked.
#[derive(Debug)]
pub struct Image {
    /// The type its bytes really have (not what the server claimed).
    pub content_type: &'static str,
    /// The image itself, at most [`MAX_BYTES`].
    pub bytes: Vec<u8>,
}

impl IntoResponse for Image {
    fn into_response(self) -> Response {
        let mut res = self.bytes.into_response();
        protect(&mut res);
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=86400"),
        );
        res
    }
}

/// The query of `/proxy`: the remote URL, its expiry and its signature.
#[derive(Deserialize)]
pub struct ProxyQuery {
    url: Option<String>,
    exp: Option<String>,
    sig: Option<String>,
}

/// The signer for the proxy URLs in a page rendered now for `user`. Expiries are rounded
/// up to a sixth of the lifetime, so a message shows the same URLs (and the browser's
/// image cache keeps working) for a while.
pub fn signer_for(state: &AppState, user: &str) -> ImageProxy {
    let lifetime = state.config.proxy_url_lifetime.as_secs().max(1) as i64;
    let step = (lifetime / 6).max(1);
    let expires = (store::now() + lifetime + step - 1) / step * step;
    state.image_proxy.bound(user, expires)
}

/// `GET /proxy?url=&exp=&sig=`: one remote image, for the user the URL was written for.
pub async fn image(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    Query(q): Query<ProxyQuery>,
) -> Response {
    let (Some(url), Some(exp), Some(sig)) = (q.url, q.exp, q.sig) else {
        return ProxyError::BadSignature.into_response();
    };
    let Ok(expires) = exp.parse::<i64>() else {
        return ProxyError::BadSignature.into_response();
    };
    // The user comes from the session: another user's URL does not verify.
    let signer = state.image_proxy.bound(&account.username, expires);
    if !signer.verify(&url, &sig) {
        return ProxyError::BadSignature.into_response();
    }
    if expires < store::now() {
        return ProxyError::Expired.into_response();
    }
    let Some(admitted) = state.image_fetcher.limiter.admit(&account.username) else {
        return ProxyError::TooMany.into_response();
    };
    let Ok(_slot) = admitted.slots.clone().acquire_owned().await else {
        return ProxyError::Upstream.into_response();
    };
    match state.image_fetcher.fetch(&url).await {
        Ok(image) => image.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Per-user admission to the proxy: at most `per_user` fetches run at once, at most
/// [`WAITING_PER_SLOT`] times as many more wait for a slot, the rest are refused.
#[derive(Debug)]
pub struct FetchLimiter {
    per_user: usize,
    /// Per user: requests admitted (running or waiting) and the fetch slots. An entry
    /// goes when its last request does, so the map holds only active users.
    users: Mutex<HashMap<String, (usize, Arc<Semaphore>)>>,
}

/// One admitted request; dropping it gives its place back.
struct Admitted {
    limiter: Arc<FetchLimiter>,
    user: String,
    slots: Arc<Semaphore>,
}

impl FetchLimiter {
    fn new(per_user: usize) -> Arc<FetchLimiter> {
        Arc::new(FetchLimiter {
            per_user: per_user.max(1),
            users: Mutex::new(HashMap::new()),
        })
    }

    fn admit(self: &Arc<Self>, user: &str) -> Option<Admitted> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let (admitted, slots) = users
            .entry(user.to_owned())
            .or_insert_with(|| (0, Arc::new(Semaphore::new(self.per_user))));
        if *admitted >= self.per_user * (1 + WAITING_PER_SLOT) {
            return None;
        }
        *admitted += 1;
        Some(Admitted {
            limiter: Arc::clone(self),
            user: user.to_owned(),
            slots: Arc::clone(slots),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut users = self.limiter.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((admitted, _)) = users.get_mut(&self.user) {
            *admitted = admitted.saturating_sub(1);
            if *admitted == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// The HTTP client of the proxy, built once (it keeps a connection pool).
#[derive(Clone, Debug)]
pub struct ImageFetcher {
    client: reqwest::Client,
    allow_loopback: bool,
    /// Shared by every clone: the per-user cap on fetches.
    limiter: Arc<FetchLimiter>,
}

impl ImageFetcher {
    /// Builds the client. `allow_loopback_for_tests` lets loopback addresses through (and
    /// nothing else); only the test suite sets it, see `Config::proxy_allow_loopback_for_tests`.
    /// `per_user` caps each user's fetches in flight.
    pub fn new(allow_loopback_for_tests: bool, per_user: usize) -> anyhow::Result<ImageFetcher> {
        let client = reqwest::Client::builder()
            // Redirects are followed by hand, so each target is checked first.
            .redirect(Policy::none())
            // HTTP(S)_PROXY in the environment would resolve names for us, past the checks.
            .no_proxy()
            // The size cap counts the bytes that arrive; decoding a compressed body would
            // let a small response grow past it (and behave differently under tests, whose
            // reqwest has the decoders compiled in).
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .referer(false)
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Mailroom-ImageProxy/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver {
                allow_loopback: allow_loopback_for_tests,
            }))
            .build()?;
        Ok(ImageFetcher {
            client,
            allow_loopback: allow_loopback_for_tests,
            limiter: FetchLimiter::new(per_user),
        })
    }

    /// Fetches `url` under every rule in the module doc.
    pub async fn fetch(&self, url: &str) -> Result<Image, ProxyError> {
        let url = Url::parse(url).map_err(|_| ProxyError::BadUrl)?;
        tokio::time::timeout(TIMEOUT, self.fetch_following(url))
            .await
            .map_err(|_| ProxyError::Timeout)?
    }

    async fn fetch_following(&self, mut url: Url) -> Result<Image, ProxyError> {
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&url)?;
            let res = self
                .client
                .get(url.clone())
                .header(
                    header::ACCEPT,
                    "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9",
                )
                .send()
                .await
                .map_err(classify)?;
            let status = res.status();
            if status.is_redirection() {
                let location = res
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(ProxyError::TooManyRedirects)?;
                url = url
                    .join(location)
                    .map_err(|_| ProxyError::TooManyRedirects)?;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                return Err(ProxyError::Upstream);
            }
            return read_image(res).await;
        }
        Err(ProxyError::TooManyRedirects)
    }

    /// The checks a URL must pass before a request: `http(s)`, no credentials, and a host
    /// that is a name (checked by the resolver) or a literal address we may connect to.
    fn check_url(&self, url: &Url) -> Result<(), ProxyError> {
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(ProxyError::BadUrl);
        }
        let host = url.host_str().ok_or(ProxyError::BadUrl)?;
        // The URL parser already turned 0x7f.1, 2130706433 and friends into dotted IPv4.
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !is_allowed(ip, self.allow_loopback)
        {
            return Err(ProxyError::Refused);
        }
        Ok(())
    }
}

/// Reads the body up to [`MAX_BYTES`] and checks it is an image we serve.
async fn read_image(mut res: reqwest::Response) -> Result<Image, ProxyError> {
    let declared = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !declared.starts_with("image/") || declared.contains("svg") {
        return Err(ProxyError::NotAnImage);
    }
    if res.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(ProxyError::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(classify)? {
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(ProxyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    let content_type = sniff_raster(&bytes).ok_or(ProxyError::NotAnImage)?;
    Ok(Image {
        content_type,
        bytes,
    })
}

/// The raster type the bytes start with, from their magic numbers; `None` for anything
/// else (SVG, HTML, a polyglot that does not start like an image).
pub fn sniff_raster(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if bytes.get(4..8) == Some(b"ftyp")
        && matches!(bytes.get(8..12), Some(b"avif") | Some(b"avis"))
    {
        Some("image/avif")
    } else {
        None
    }
}

/// Maps a client error: our resolver's refusal, a timeout, or any other failure.
fn classify(e: reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        return ProxyError::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<AddressRefused>() {
            return ProxyError::Refused;
        }
        source = err.source();
    }
    ProxyError::Upstream
}

/// The resolver's error when a name has no address we may connect to.
#[derive(Debug, thiserror::Error)]
#[error("no public address for this host")]
struct AddressRefused;

/// DNS for the proxy: the system resolver, keeping only addresses [`is_allowed`] accepts.
/// The client connects to what this returns, so the check and the connection agree.
#[derive(Debug)]
struct CheckedResolver {
    allow_loopback: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| is_allowed(a.ip(), allow_loopback))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether the proxy may connect to `ip`: globally routable unicast only. Refused:
/// unspecified, loopback (unless `allow_loopback`, for tests), private (RFC 1918, ULA),
/// link-local, CGNAT (RFC 6598), multicast, broadcast, reserved, documentation and
/// benchmarking ranges; IPv6 forms that embed an IPv4 address (mapped, compatible,
/// NAT64, 6to4) are judged by that address, and Teredo is refused.
pub fn is_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, allow_loopback),
        IpAddr::V6(v6) => v6_allowed(v6, allow_loopback),
    }
}

fn v4_allowed(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", incl. 0.0.0.0
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn v6_allowed(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    if ip.is_unspecified() {
        return false;
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return v4_allowed(embedded_v4(s[6], s[7]), allow_loopback);
    }
    // 64:ff9b::/96 and 64:ff9b:1::/48: NAT64, which would reach the embedded IPv4.
    if s[0] == 0x64 && s[1] == 0xff9b {
        return v4_allowed(embedded_v4(s[6], s[7]), false);
    }
    // 2002::/16: 6to4, the IPv4 address follows the prefix.
    if s[0] == 0x2002 {
        return v4_allowed(embedded_v4(s[1], s[2]), false);
    }
    let special = (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only
        || s[0] == 0; // the rest of ::/16 is reserved
    !special
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        is_allowed(s.parse().unwrap(), false)
    }

    #[test]
    fn only_public_addresses_are_allowed() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(ok(public), "{public} refused");
        }
        for special in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "100::1",
        ] {
            assert!(!ok(special), "{special} allowed");
        }
        // The test switch opens loopback and nothing else.
        assert!(is_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(is_allowed("::1".parse().unwrap(), true));
        assert!(!is_allowed("10.0.0.1".parse().unwrap(), true));
        assert!(!is_allowed("169.254.169.254".parse().unwrap(), true));
        assert!(!is_allowed("64:ff9b::7f00:1".parse().unwrap(), true));
    }

    #[test]
    fn literal_hosts_are_checked_in_every_spelling() {
        let f = ImageFetcher::new(false, 8).unwrap();
        for url in [
            "http://127.0.0.1/x.png",
            "http://2130706433/x.png",
            "http://0x7f.1/x.png",
            "http://0177.0.0.1/x.png",
            "http://127.1/x.png",
            "http://[::1]/x.png",
            "http://[::ffff:127.0.0.1]/x.png",
            "http://[0:0:0:0:0:ffff:a9fe:a9fe]/x.png",
            "https://169.254.169.254/latest/meta-data/",
            "http://0/x.png",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(f.check_url(&parsed), Err(ProxyError::Refused), "{url}");
        }
        for url in [
            "ftp://e.example/x.png",
            "file:///etc/passwd",
            "http://user:pw@e.example/x.png",
            "data:image/png;base64,AAAA",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(f.check_url(&parsed), Err(ProxyError::BadUrl), "{url}");
        }
        assert_eq!(
            f.check_url(&Url::parse("https://e.example/x.png").unwrap()),
            Ok(())
        );
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let f = ImageFetcher::new(false, 8).unwrap();
        assert_eq!(
            f.fetch("http://localhost:9/x.png").await.unwrap_err(),
            ProxyError::Refused
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_raster(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_raster(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_raster(b"GIF89a...."), Some("image/gif"));
        assert_eq!(sniff_raster(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_raster(b"\0\0\0\x1cftypavif\0\0"), Some("image/avif"));
        for bad in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<html><script>alert(1)</script>",
            b"GIF8",
            b"RIFF\0\0\0\0WAVE",
            b"",
        ] {
            assert_eq!(sniff_raster(bad), None);
        }
    }

    #[test]
    fn the_limiter_admits_running_plus_waiting_and_forgets_idle_users() {
        let l = FetchLimiter::new(2);
        let held: Vec<_> = (0..10).map(|_| l.admit("a").expect("admitted")).collect();
        assert!(l.admit("a").is_none(), "the eleventh is refused");
        assert!(l.admit("b").is_some(), "other users are not affected");
        drop(held);
        assert!(l.admit("a").is_some());
        assert!(l.users.lock().unwrap().is_empty(), "no entry left behind");
    }
}
