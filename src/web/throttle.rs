//! The web side of login throttling: who the client is, and what a throttled login sees.
//!
//! The client address is the TCP peer (`ConnectInfo`, which `App::run` provides). Only
//! when that peer is one of `MAILROOM_TRUSTED_PROXIES` is `X-Forwarded-For` read, from
//! the right: each trusted proxy appends the address it saw, so the rightmost address
//! that is not a trusted proxy is the client; anything to its left was written by the
//! client itself and is ignored. Without trusted proxies the header is never read, so a
//! client cannot pick a fresh address per guess. The counting lives in
//! [`crate::store::throttle`].

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

use crate::{app::AppState, error::AppError, i18n::Tr};

/// The client's address, as far as Mailroom can trust it (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Without connection info (a router driven in-process, not through `App::run`)
        // every request shares one unspecified address: throttling stays on, never open.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client address for a request from `peer` with `headers`, given the trusted proxies.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    // Several X-Forwarded-For headers count as one comma-separated list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            // A trusted proxy wrote something unreadable: stop at the last one we know.
            None => return client,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, optionally with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), as some proxies write.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// "Too many attempts, try again in N minutes", N rounded up (never 0).
pub fn refused_message(tr: Tr, retry_after: Duration) -> String {
    let minutes = retry_after.as_secs().div_ceil(60).max(1);
    if minutes == 1 {
        tr.t("login.throttled_one").to_owned()
    } else {
        tr.tf("login.throttled", &[("minutes", minutes.into())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
        // A peer that is not a trusted proxy cannot choose its address either.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        let peer = ip("10.0.0.5");
        // The client forged a first entry; the proxies appended the real ones.
        let h = headers(&["1.1.1.1, 203.0.113.7", "192.168.1.1"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.7"));
        let h = headers(&["203.0.113.7:4711"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.7"));
        let h = headers(&["[2001:db8::7]:443"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("2001:db8::7"));
        let h = headers(&["::ffff:203.0.113.7"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.7"));
        // Only trusted hops: the leftmost one is as far as we can see.
        let h = headers(&["10.1.1.1, 10.2.2.2"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("10.1.1.1"));
        // Garbage written by a trusted hop stops the walk at the last known address.
        let h = headers(&["203.0.113.7, nonsense, 10.3.3.3"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("10.3.3.3"));
        // No header at all: the proxy itself.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
        // A mapped peer address matches an IPv4 range.
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.5"), &headers(&["203.0.113.8"]), &trusted),
            ip("203.0.113.8")
        );
    }

    #[test]
    fn minutes_round_up() {
        let tr = Tr(Lang::En);
        assert_eq!(
            refused_message(tr, Duration::from_secs(1)),
            "Too many attempts, try again in 1 minute."
        );
        assert_eq!(
            refused_message(tr, Duration::from_secs(61)),
            "Too many attempts, try again in 2 minutes."
        );
        assert_eq!(
            refused_message(Tr(Lang::ZhHans), Duration::from_secs(3600)),
            "尝试次数过多，请在 60 分钟后重试。"
        );
    }
}
