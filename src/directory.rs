//! Which mail servers serve a login, for a team with several mail domains.
//!
//! The login page has no server field: the domain of what the user types picks the
//! servers. In order: the server map (`MAILROOM_SERVERS`), then DNS SRV records (RFC 6186:
//! `_imaps._tcp`/`_imap._tcp`, `_submissions._tcp`/`_submission._tcp`, `_sieve._tcp`)
//! for the domains `MAILROOM_SRV_LOOKUP` allows, then the default servers. The choice is
//! made once, at login, and kept in the session ([`Route`]), so DNS is not asked per
//! request and every instance uses the same servers for the whole session.
//!
//! Servers found by DNS are never used without TLS, and the certificate must be valid for
//! the record's target. With `MAILROOM_SRV_LOOKUP=any` a target must also lie inside the
//! user's domain: otherwise anyone who controls some domain's DNS could point Mailroom at
//! any host (an internal one included) and have it connect there with what users type.
//!
//! Users of the default servers who log in with a bare name (`dave`) write as
//! `dave@MAILROOM_MAIL_DOMAIN` ([`Directory::address_of`]).

use std::{cmp::Reverse, collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use hickory_resolver::{
    Resolver, TokioResolver,
    config::{NameServerConfigGroup, ResolverConfig},
    name_server::TokioConnectionProvider,
};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Endpoint, MailServer, Security, SrvLookup, normalize_domain};

/// How long the SRV lookups of one login may take in all before the defaults are used.
const SRV_TIMEOUT: Duration = Duration::from_secs(5);

/// Which servers a session uses, as its record keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Route {
    /// The default servers (`MAILROOM_IMAP_*`, `MAILROOM_SMTP_*`, `MAILROOM_SIEVE_*`).
    #[default]
    Default,
    /// The server map's entry for this domain (looked up again per request, so a changed
    /// map takes effect; a removed domain ends its sessions).
    Mapped(String),
    /// Found by DNS at login.
    Found(MailServer),
}

/// The server map and the SRV lookup, built once at start-up.
pub struct Directory {
    routes: HashMap<String, Arc<MailServer>>,
    mail_domain: Option<String>,
    srv: SrvLookup,
    /// Built only when SRV lookups are on.
    resolver: Option<TokioResolver>,
    /// Trusted beside the web roots for servers found by DNS too (a site CA).
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("domains", &self.routes.keys().collect::<Vec<_>>())
            .field("mail_domain", &self.mail_domain)
            .field("srv", &self.srv)
            .finish()
    }
}

impl Directory {
    /// Builds the map; with SRV lookups on, also the resolver (the system's, unless
    /// `MAILROOM_SRV_RESOLVER` names one), which fails without a readable
    /// `/etc/resolv.conf`.
    pub fn new(config: &Config) -> Result<Directory, String> {
        let mut routes = HashMap::new();
        for route in &config.servers {
            let server = Arc::new(route.server.clone());
            for d in &route.domains {
                routes.insert(d.clone(), server.clone());
            }
        }
        let resolver = match config.srv_lookup {
            SrvLookup::Off => None,
            _ => {
                let mut builder = match config.srv_resolver {
                    Some(addr) => Resolver::builder_with_config(
                        ResolverConfig::from_parts(
                            None,
                            Vec::new(),
                            NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
                        ),
                        TokioConnectionProvider::default(),
                    ),
                    None => Resolver::builder_tokio()
                        .map_err(|e| format!("MAILROOM_SRV_LOOKUP: the system's DNS: {e}"))?,
                };
                let opts = builder.options_mut();
                opts.timeout = Duration::from_secs(2);
                opts.attempts = 2;
                Some(builder.build())
            }
        };
        Ok(Directory {
            routes,
            mail_domain: config.mail_domain.clone(),
            srv: config.srv_lookup.clone(),
            resolver,
            ca_file: config.imap.ca_file.clone(),
        })
    }

    /// Chooses the servers for `username` (as typed on the login page). Never fails: a
    /// domain DNS knows nothing about (or DNS trouble) means the default servers.
    pub async fn route(&self, username: &str) -> Route {
        let Some(domain) = username
            .rsplit_once('@')
            .and_then(|(_, d)| normalize_domain(d))
        else {
            return Route::Default;
        };
        if self.routes.contains_key(&domain) {
            return Route::Mapped(domain);
        }
        match tokio::time::timeout(SRV_TIMEOUT, self.find(&domain)).await {
            Ok(Some(server)) => Route::Found(server),
            Ok(None) => Route::Default,
            Err(_) => {
                tracing::warn!(%domain, "SRV lookup timed out; using the default servers");
                Route::Default
            }
        }
    }

    /// The servers of a session's route: `Some(None)` for the defaults, `None` when the
    /// route no longer exists (its domain left the map): the session is over.
    pub fn server(&self, route: &Route) -> Option<Option<Arc<MailServer>>> {
        match route {
            Route::Default => Some(None),
            Route::Mapped(domain) => self.routes.get(domain).cloned().map(Some),
            Route::Found(server) => Some(Some(Arc::new(server.clone()))),
        }
    }

    /// The user's own address: what they typed when it is an address, else the bare name
    /// at `MAILROOM_MAIL_DOMAIN` (or the bare name alone when none is set).
    pub fn address_of(&self, username: &str) -> String {
        match &self.mail_domain {
            Some(domain) if !username.contains('@') => format!("{username}@{domain}"),
            _ => username.to_owned(),
        }
    }

    /// RFC 6186 lookups for `domain`, if the configuration allows them.
    async fn find(&self, domain: &str) -> Option<MailServer> {
        let resolver = self.resolver.as_ref()?;
        let inside = match &self.srv {
            SrvLookup::Off => return None,
            SrvLookup::Domains(list) if list.iter().any(|d| d == domain) => false,
            SrvLookup::Domains(_) => return None,
            SrvLookup::Any => true,
        };
        let look = |services| self.first_of(resolver, domain, services, inside);
        let imap = look(&[
            ("_imaps._tcp", Security::Tls),
            ("_imap._tcp", Security::Starttls),
        ])
        .await?;
        let smtp = look(&[
            ("_submissions._tcp", Security::Tls),
            ("_submission._tcp", Security::Starttls),
        ])
        .await
        .unwrap_or_else(|| Endpoint {
            host: imap.host.clone(),
            port: 587,
            security: Security::Starttls,
            ca_file: self.ca_file.clone(),
        });
        let sieve = look(&[("_sieve._tcp", Security::Starttls)]).await;
        tracing::info!(%domain, imap = %imap.host, smtp = %smtp.host, "servers found by SRV");
        Some(MailServer {
            imap,
            smtp,
            sieve,
            local_logins: false,
        })
    }

    /// The first usable record of the first service that has one.
    async fn first_of(
        &self,
        resolver: &TokioResolver,
        domain: &str,
        services: &[(&str, Security)],
        inside: bool,
    ) -> Option<Endpoint> {
        for (service, security) in services {
            let name = format!("{service}.{domain}.");
            let lookup = match resolver.srv_lookup(name.as_str()).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::debug!(%name, error = %e, "no SRV record");
                    continue;
                }
            };
            let mut records: Vec<_> = lookup.iter().cloned().collect();
            // RFC 2782: lowest priority first. Among equals the heaviest, rather than a
            // weighted random pick, so that every login (and instance) agrees.
            records.sort_by_key(|r| (r.priority(), Reverse(r.weight())));
            for r in records {
                let target = r
                    .target()
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                // "." means "not offered here" (RFC 6186 §3.4).
                if target.is_empty() || r.port() == 0 {
                    continue;
                }
                if inside && target != domain && !target.ends_with(&format!(".{domain}")) {
                    tracing::warn!(%name, %target, "SRV target outside the domain ignored");
                    continue;
                }
                return Some(Endpoint {
                    host: target,
                    port: r.port(),
                    security: *security,
                    ca_file: self.ca_file.clone(),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(env: &[(&str, &str)]) -> Directory {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = Config::load_from(None, |k| env.get(k).cloned()).unwrap();
        Directory::new(&config).unwrap()
    }

    #[tokio::test]
    async fn the_map_picks_by_domain_and_bare_names_get_the_mail_domain() {
        let d = directory(&[
            (
                "MAILROOM_SERVERS",
                "example.org imap=imaps://mail.example.org login=local",
            ),
            ("MAILROOM_MAIL_DOMAIN", "example.com"),
        ]);
        let route = d.route("Dave@EXAMPLE.org").await;
        assert_eq!(route, Route::Mapped("example.org".into()));
        let server = d.server(&route).unwrap().unwrap();
        assert_eq!(server.imap.host, "mail.example.org");
        assert_eq!(server.login_name("Dave@EXAMPLE.org"), "Dave");
        assert_eq!(d.route("eve@example.com").await, Route::Default);
        assert_eq!(d.route("eve").await, Route::Default);
        assert_eq!(d.server(&Route::Default), Some(None));
        // A session whose domain left the map is over.
        assert_eq!(d.server(&Route::Mapped("gone.example".into())), None);
        assert_eq!(d.address_of("dave"), "dave@example.com");
        assert_eq!(d.address_of("dave@example.org"), "dave@example.org");
        assert_eq!(directory(&[]).address_of("dave"), "dave");
    }

    #[test]
    fn old_sessions_without_a_route_use_the_defaults() {
        #[derive(Deserialize)]
        struct Rec {
            #[serde(default)]
            route: Route,
        }
        let rec: Rec = serde_json::from_str("{}").unwrap();
        assert_eq!(rec.route, Route::Default);
    }
}
