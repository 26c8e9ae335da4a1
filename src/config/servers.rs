//! The server map (`MAILROOM_SERVERS`): which IMAP, submission and ManageSieve servers hold
//! the mail of which domains, for a team that hosts `example.com` and `example.org` on
//! different machines. Parsed here; the choice per login is `crate::directory`'s.
//!
//! One entry per domain group, entries separated by `;`:
//!
//! ```text
//! example.org,example.net imap=imaps://mail.example.org smtp=smtps://mail.example.org login=local
//! ```
//!
//! Server URLs name the protection by their scheme: `imaps://` (TLS, port 993), `imap://`
//! (STARTTLS, 143), `smtps://` (TLS, 465), `smtp://` (STARTTLS, 587), `sieve://`
//! (STARTTLS, 4190), and `imap+plain://`, `smtp+plain://`, `sieve+plain://` for no
//! encryption (loopback only). `smtp` defaults to the IMAP host's submission port, `sieve`
//! to the IMAP host's port 4190 (`sieve=off` turns mail rules off for those domains).
//! `login=local` says the servers' logins are bare user names: `dave@example.org` logs in
//! as `dave`. `ca=/path/ca.pem` trusts a CA for these servers (default: the IMAP CA file).

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use super::{Endpoint, Security};

/// Where one group of domains keeps its mail.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct MailServer {
    pub imap: Endpoint,
    pub smtp: Endpoint,
    /// `None`: no mail rules for these users.
    pub sieve: Option<Endpoint>,
    /// The servers know their users by bare names (`dave`), not addresses: the part before
    /// `@` of what the user typed is the login.
    pub local_logins: bool,
}

impl MailServer {
    /// The name to log in with, for what the user typed on the login page.
    pub fn login_name<'a>(&self, username: &'a str) -> &'a str {
        match username.rsplit_once('@') {
            Some((local, _)) if self.local_logins => local,
            _ => username,
        }
    }
}

/// One entry of the map: the domains (lower-case, IDNA ASCII) and their servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRoute {
    pub domains: Vec<String>,
    pub server: MailServer,
}

/// A map entry as a TOML table (`[servers."example.org"]`), the same keys as in the
/// one-line form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerTable {
    imap: String,
    smtp: Option<String>,
    sieve: Option<String>,
    login: Option<String>,
    ca: Option<String>,
}

/// `servers` in the file: the one-line form of the variable, or tables.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ServersValue {
    Line(String),
    Tables(BTreeMap<String, ServerTable>),
}

impl ServersValue {
    pub(super) fn parse(self, ca_file: Option<&Path>) -> Result<Vec<ServerRoute>, String> {
        match self {
            ServersValue::Line(line) => parse_servers(&line, ca_file),
            ServersValue::Tables(tables) => tables
                .into_iter()
                .map(|(domains, t)| {
                    let mut pairs = vec![("imap", t.imap)];
                    pairs.extend(t.smtp.map(|v| ("smtp", v)));
                    pairs.extend(t.sieve.map(|v| ("sieve", v)));
                    pairs.extend(t.login.map(|v| ("login", v)));
                    pairs.extend(t.ca.map(|v| ("ca", v)));
                    entry(&domains, pairs, ca_file)
                })
                .collect::<Result<Vec<_>, _>>()
                .and_then(no_repeats),
        }
    }
}

/// Parses the one-line form (see the module documentation).
pub fn parse_servers(text: &str, ca_file: Option<&Path>) -> Result<Vec<ServerRoute>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut words = e.split_whitespace();
            let domains = words.next().unwrap_or_default();
            let pairs = words
                .map(|w| {
                    w.split_once('=')
                        .map(|(k, v)| (k, v.to_owned()))
                        .ok_or_else(|| format!("{domains}: {w:?} is not key=value"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            entry(domains, pairs, ca_file)
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(no_repeats)
}

/// A domain may appear in one entry only.
fn no_repeats(routes: Vec<ServerRoute>) -> Result<Vec<ServerRoute>, String> {
    let mut seen = std::collections::HashSet::new();
    for d in routes.iter().flat_map(|r| &r.domains) {
        if !seen.insert(d) {
            return Err(format!("domain {d} is in two entries"));
        }
    }
    Ok(routes)
}

fn entry<K: AsRef<str>>(
    domains: &str,
    pairs: Vec<(K, String)>,
    ca_file: Option<&Path>,
) -> Result<ServerRoute, String> {
    let domains = domains
        .split(',')
        .map(|d| normalize_domain(d).ok_or_else(|| format!("{d:?} is not a domain name")))
        .collect::<Result<Vec<_>, _>>()?;
    let name = domains.join(",");
    // The CA first: the URLs below take it, wherever it stands in the entry.
    let ca = pairs
        .iter()
        .find(|(k, _)| k.as_ref() == "ca")
        .map(|(_, v)| std::path::PathBuf::from(v));
    let ca_file = ca.as_deref().or(ca_file);
    let (mut imap, mut smtp, mut sieve, mut local) = (None, None, None, false);
    for (key, value) in pairs {
        let bad = |why: String| format!("{name}: {}: {why}", key.as_ref());
        match key.as_ref() {
            "imap" => imap = Some(endpoint(&value, Kind::Imap, ca_file).map_err(bad)?),
            "smtp" => smtp = Some(endpoint(&value, Kind::Smtp, ca_file).map_err(bad)?),
            "sieve" if value == "off" => sieve = Some(None),
            "sieve" => sieve = Some(Some(endpoint(&value, Kind::Sieve, ca_file).map_err(bad)?)),
            "ca" => {}
            "login" => {
                local = match value.as_str() {
                    "local" => true,
                    "address" => false,
                    _ => return Err(bad(format!("{value:?} is not `local` or `address`"))),
                }
            }
            other => {
                return Err(format!(
                    "{name}: unknown key {other:?} (imap, smtp, sieve, login, ca)"
                ));
            }
        }
    }
    let imap: Endpoint = imap.ok_or_else(|| format!("{name}: imap=… is missing"))?;
    // As for the default servers: one host usually runs all three.
    let plain = imap.security == Security::None;
    let on_imap_host = |port, secure| Endpoint {
        host: imap.host.clone(),
        port,
        security: if plain { Security::None } else { secure },
        ca_file: imap.ca_file.clone(),
    };
    let smtp = smtp.unwrap_or_else(|| on_imap_host(587, Security::Starttls));
    let sieve = sieve.unwrap_or_else(|| Some(on_imap_host(4190, Security::Starttls)));
    Ok(ServerRoute {
        domains,
        server: MailServer {
            imap,
            smtp,
            sieve,
            local_logins: local,
        },
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Imap,
    Smtp,
    Sieve,
}

/// `imaps://host:port` and its kin (see the module documentation).
fn endpoint(url: &str, kind: Kind, ca_file: Option<&Path>) -> Result<Endpoint, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    let (security, port) = match (kind, parsed.scheme()) {
        (Kind::Imap, "imaps") => (Security::Tls, 993),
        (Kind::Imap, "imap") => (Security::Starttls, 143),
        (Kind::Imap, "imap+plain") => (Security::None, 143),
        (Kind::Smtp, "smtps" | "submissions") => (Security::Tls, 465),
        (Kind::Smtp, "smtp" | "submission") => (Security::Starttls, 587),
        (Kind::Smtp, "smtp+plain") => (Security::None, 587),
        (Kind::Sieve, "sieve") => (Security::Starttls, 4190),
        (Kind::Sieve, "sieve+plain") => (Security::None, 4190),
        (_, scheme) => return Err(format!("{url:?}: scheme {scheme:?} does not fit here")),
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{url:?} has no host"))?;
    if !matches!(parsed.path(), "" | "/")
        || parsed.query().is_some()
        || !parsed.username().is_empty()
    {
        return Err(format!("{url:?}: only scheme://host:port"));
    }
    Ok(Endpoint {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port: parsed.port().unwrap_or(port),
        security,
        ca_file: ca_file.map(Path::to_owned),
    })
}

/// Lower-case IDNA ASCII form of a domain name with at least two labels, or `None`.
pub fn normalize_domain(input: &str) -> Option<String> {
    let input = input.trim().trim_end_matches('.');
    if input.is_empty() || input.contains(|c: char| c.is_whitespace() || "/\\?#@:[]%".contains(c)) {
        return None;
    }
    let ascii = idna::domain_to_ascii(input).ok()?;
    let ok = ascii.len() <= 253
        && ascii.split('.').count() >= 2
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    ok.then_some(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_line_form_names_servers_by_url() {
        let routes = parse_servers(
            "Example.ORG,bücher.example imap=imaps://mail.example.org smtp=smtps://out.example.org:2465 login=local; \
             example.net imap=imap+plain://127.0.0.1:1143 sieve=off ca=/net-ca.pem",
            Some(Path::new("/ca.pem")),
        )
        .unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].domains, ["example.org", "xn--bcher-kva.example"]);
        let s = &routes[0].server;
        assert_eq!(
            (s.imap.host.as_str(), s.imap.port),
            ("mail.example.org", 993)
        );
        assert_eq!(s.imap.security, Security::Tls);
        assert_eq!(
            (s.smtp.host.as_str(), s.smtp.port),
            ("out.example.org", 2465)
        );
        assert_eq!(s.smtp.security, Security::Tls);
        let sieve = s.sieve.as_ref().unwrap();
        assert_eq!(
            (sieve.host.as_str(), sieve.port),
            ("mail.example.org", 4190)
        );
        assert_eq!(sieve.security, Security::Starttls);
        assert_eq!(s.imap.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert!(s.local_logins);
        assert_eq!(s.login_name("dave@example.org"), "dave");
        let n = &routes[1].server;
        assert_eq!(n.imap.security, Security::None);
        assert_eq!((n.smtp.port, n.smtp.security), (587, Security::None));
        assert_eq!(n.sieve, None);
        assert_eq!(n.imap.ca_file.as_deref(), Some(Path::new("/net-ca.pem")));
        assert_eq!(n.smtp.ca_file.as_deref(), Some(Path::new("/net-ca.pem")));
        assert!(!n.local_logins);
        assert_eq!(n.login_name("eve@example.net"), "eve@example.net");
    }

    #[test]
    fn mistakes_are_named() {
        for (line, says) in [
            ("example.org", "imap=… is missing"),
            ("example.org imap=https://x.example", "scheme"),
            ("example.org imap=imaps://", "imaps://"),
            (
                "example.org imap=imaps://x.example/path",
                "only scheme://host:port",
            ),
            (
                "example.org imap=imaps://x.example smtp=imaps://x.example",
                "scheme",
            ),
            ("example.org imap=imaps://x.example login=maybe", "login"),
            (
                "example.org imap=imaps://x.example color=red",
                "unknown key",
            ),
            ("example.org imap", "not key=value"),
            ("com imap=imaps://x.example", "not a domain"),
            ("a@b.example imap=imaps://x.example", "not a domain"),
            (
                "example.org imap=imaps://x.example; EXAMPLE.org imap=imaps://y.example",
                "two entries",
            ),
        ] {
            let err = parse_servers(line, None).unwrap_err();
            assert!(err.contains(says), "{line}: {err}");
        }
        assert_eq!(parse_servers(" ; ", None).unwrap(), vec![]);
    }

    #[test]
    fn tables_mean_the_same_as_the_line() {
        #[derive(Deserialize)]
        struct F {
            servers: ServersValue,
        }
        let f: F = toml::from_str(
            "[servers.\"example.org\"]\nimap = \"imaps://mail.example.org\"\nlogin = \"local\"\n",
        )
        .unwrap();
        assert_eq!(
            f.servers.parse(None).unwrap(),
            parse_servers(
                "example.org imap=imaps://mail.example.org login=local",
                None
            )
            .unwrap()
        );
    }
}
