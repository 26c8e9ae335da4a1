//! Readiness: whether the database, the IMAP server and the SMTP server answer. `GET
//! /readyz` and `mailroom check` both ask [`probe`]. The web route shares one probe for
//! a few seconds ([`Readiness`]), so anonymous callers cannot make us open connections to
//! the mail server at will.

use std::time::{Duration, Instant};

use tokio::{sync::Mutex, time::timeout};

use crate::{config::Config, imap::Imap, smtp::Smtp, store};

/// How long one part may take to answer before it counts as down.
const PART_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a probe's result answers `/readyz` before the next one is made.
const REUSE_FOR: Duration = Duration::from_secs(5);

/// One part and, when it is not ready, why.
#[derive(Clone, Debug)]
pub struct Check {
    pub part: &'static str,
    pub problem: Option<String>,
}

/// The result of one probe.
#[derive(Clone, Debug)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Every part answered.
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.problem.is_none())
    }

    /// One line per part: `database: ok`, `imap: cannot connect to …`.
    pub fn text(&self) -> String {
        self.checks
            .iter()
            .map(|c| format!("{}: {}\n", c.part, c.problem.as_deref().unwrap_or("ok")))
            .collect()
    }
}

/// Asks the database, the IMAP server and the SMTP server, at the same time.
pub async fn probe(config: &Config, db: &store::Db, imap: &Imap) -> Report {
    let (database, imap, smtp) = tokio::join!(ping(db), greet(imap), smtp_part(config));
    report(database, imap, smtp)
}

/// A part's answer: `None` when it gave none in time.
type Answer = Option<Result<(), String>>;

async fn ping(db: &store::Db) -> Answer {
    timeout(PART_TIMEOUT, store::ping(db))
        .await
        .ok()
        .map(|r| r.map_err(|e| e.to_string()))
}

async fn greet(imap: &Imap) -> Answer {
    timeout(PART_TIMEOUT, imap.probe())
        .await
        .ok()
        .map(|r| r.map_err(|e| e.to_string()))
}

async fn smtp_part(config: &Config) -> Answer {
    let smtp = match Smtp::new(&config.smtp) {
        Ok(smtp) => smtp,
        Err(e) => return Some(Err(e.to_string())),
    };
    timeout(PART_TIMEOUT, smtp.probe())
        .await
        .ok()
        .map(|r| r.map_err(|e| e.to_string()))
}

fn report(database: Answer, imap: Answer, smtp: Answer) -> Report {
    let check = |part: &'static str, answer: Answer| Check {
        part,
        problem: match answer {
            Some(Ok(())) => None,
            Some(Err(e)) => Some(e),
            None => Some(format!(
                "no answer within {} seconds",
                PART_TIMEOUT.as_secs()
            )),
        },
    };
    Report {
        checks: vec![
            check("database", database),
            check("imap", imap),
            check("smtp", smtp),
        ],
    }
}

/// The last probe, shared by `/readyz` callers: one probe at a time, reused for
/// [`REUSE_FOR`].
#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Report)>>,
}

impl Readiness {
    /// A recent report, or a new probe if the last one is older than [`REUSE_FOR`].
    pub async fn report(&self, config: &Config, db: &store::Db, imap: &Imap) -> Report {
        // Held across the probe: callers arriving meanwhile wait for it instead of
        // starting probes of their own.
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < REUSE_FOR
        {
            return report.clone();
        }
        let report = probe(config, db, imap).await;
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

/// `mailroom check`: the same parts from the configuration alone (no running server),
/// opening the database the way `serve` would (making the data directory if need be).
pub async fn check(config: &Config) -> Report {
    let database = async {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        let db = store::connect(&config.database_url)
            .await
            .map_err(|e| format!("{e:#}"))?;
        ping(&db).await.unwrap_or(Err(format!(
            "no answer within {} seconds",
            PART_TIMEOUT.as_secs()
        )))
    };
    let imap = async {
        match Imap::new(config.imap.clone(), config.imap_idle_timeout) {
            Ok(imap) => greet(&imap).await,
            Err(e) => Some(Err(e.to_string())),
        }
    };
    let (database, imap, smtp) = tokio::join!(database, imap, smtp_part(config));
    report(Some(database), imap, smtp)
}
