//! Mailroom's rules as data ([`Rules`]), written out as one Sieve script (RFC 5228) a
//! person can read, and read back.
//!
//! Reading back does not parse Sieve. Each block of the script is preceded by a comment
//! line holding that block's rule as JSON (`# mailroom:rule {…}`); [`parse`] collects
//! those, writes the script again with [`generate`], and accepts the result only when it
//! is byte for byte what the server holds. Anything else (a script by another tool, or
//! ours edited by hand) is [`Parsed::Foreign`], which Mailroom shows but never rewrites
//! without asking. No I/O here, and no validation of folder names against the server.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The first line of every script Mailroom writes, after the readable header.
const MARKER: &str = "# mailroom:v1";
const RULE: &str = "# mailroom:rule ";
const VACATION: &str = "# mailroom:vacation ";
const FORWARD: &str = "# mailroom:forward ";

/// Everything Mailroom keeps in its script, in the order it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub vacation: Option<Vacation>,
    pub forwarding: Option<Forwarding>,
    pub filters: Vec<Filter>,
}

/// One filter: if the conditions match, do the actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Random, to address the rule in URLs.
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Match when any condition holds (else all must).
    #[serde(default)]
    pub any: bool,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

/// A test on one part of the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

/// Which part of the message a condition looks at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    From,
    /// `To` or `Cc`.
    To,
    Subject,
    /// Any header, by name.
    Header(String),
    /// The message is larger than the value (`100K`, `2M`).
    SizeOver,
    /// The message is smaller than the value.
    SizeUnder,
}

/// How the value is compared (Sieve's match types, case-insensitive for ASCII).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Contains,
    Is,
    /// `*` and `?` wildcards.
    Matches,
}

/// What happens to a matching message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Into this folder instead of the inbox.
    Move(String),
    /// Into this folder as well.
    Copy(String),
    Read,
    Flag,
    /// An IMAP keyword.
    Label(String),
    /// Redirect to this address; `keep` leaves a copy here too.
    Forward {
        address: String,
        keep: bool,
    },
    Discard,
    /// No later rule looks at the message.
    Stop,
}

/// The automatic reply while away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vacation {
    pub enabled: bool,
    pub subject: String,
    pub body: String,
    /// First and last day (`YYYY-MM-DD`), both optional.
    pub start: Option<String>,
    pub end: Option<String>,
    /// A sender is answered at most once per this many days.
    pub days: u32,
    /// The user's other addresses (identities): mail to them is answered too.
    pub addresses: Vec<String>,
}

/// Forwarding all mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    pub enabled: bool,
    pub addresses: Vec<String>,
    pub keep: bool,
}

/// What a script on the server turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Ours(Rules),
    /// Not written by Mailroom, or changed since: never rewritten without asking.
    Foreign,
}

/// Reads a script Mailroom wrote (see the module doc).
pub fn parse(text: &str) -> Parsed {
    let normalized = text.replace("\r\n", "\n");
    if !normalized.lines().any(|l| l == MARKER) {
        return Parsed::Foreign;
    }
    let mut rules = Rules::default();
    for line in normalized.lines() {
        let ok = if let Some(json) = line.strip_prefix(RULE) {
            serde_json::from_str(json)
                .map(|f| rules.filters.push(f))
                .is_ok()
        } else if let Some(json) = line.strip_prefix(VACATION) {
            serde_json::from_str(json)
                .map(|v| rules.vacation = Some(v))
                .is_ok()
        } else if let Some(json) = line.strip_prefix(FORWARD) {
            serde_json::from_str(json)
                .map(|f| rules.forwarding = Some(f))
                .is_ok()
        } else {
            true
        };
        if !ok {
            return Parsed::Foreign;
        }
    }
    if generate(&rules) == normalized {
        Parsed::Ours(rules)
    } else {
        Parsed::Foreign
    }
}

/// A Sieve string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A one-line rendering for a comment: no line breaks can escape it.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn string_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

fn json<T: Serialize>(value: &T) -> String {
    // Serializing our own plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Writes the whole script.
pub fn generate(rules: &Rules) -> String {
    let mut body = String::new();
    let mut need: Vec<&str> = Vec::new();
    let mut require = |ext: &'static str| {
        if !need.contains(&ext) {
            need.push(ext);
        }
    };

    if let Some(v) = &rules.vacation {
        body.push_str("\n# Vacation reply\n");
        let _ = writeln!(body, "{VACATION}{}", json(v));
        if v.enabled {
            require("vacation");
            // RFC 5230 already skips mailing lists it can recognise; these make sure.
            let mut tests = vec![
                "not exists \"list-id\"".to_owned(),
                "not header :is \"precedence\" [\"bulk\", \"list\", \"junk\"]".to_owned(),
            ];
            if let Some(start) = &v.start {
                require("date");
                require("relational");
                tests.push(format!(
                    "currentdate :value \"ge\" \"date\" {}",
                    quote(start)
                ));
            }
            if let Some(end) = &v.end {
                require("date");
                require("relational");
                tests.push(format!("currentdate :value \"le\" \"date\" {}", quote(end)));
            }
            let _ = writeln!(body, "if allof ({}) {{", tests.join(", "));
            let mut line = format!("  vacation :days {} :subject {}", v.days, quote(&v.subject));
            if !v.addresses.is_empty() {
                let _ = write!(line, " :addresses {}", string_list(&v.addresses));
            }
            let _ = writeln!(body, "{line} {};", quote(&v.body));
            body.push_str("}\n");
        }
    }

    if let Some(f) = &rules.forwarding {
        body.push_str("\n# Forwarding\n");
        let _ = writeln!(body, "{FORWARD}{}", json(f));
        if f.enabled && !f.addresses.is_empty() {
            if f.keep {
                require("copy");
            }
            for a in &f.addresses {
                let copy = if f.keep { ":copy " } else { "" };
                let _ = writeln!(body, "redirect {copy}{};", quote(a));
            }
            if !f.keep {
                // Nothing stays here, so no filter has anything left to sort.
                body.push_str("stop;\n");
            }
        }
    }

    for f in &rules.filters {
        let _ = writeln!(body, "\n# Filter: {}", comment_text(&f.name));
        let _ = writeln!(body, "{RULE}{}", json(f));
        if !f.enabled {
            body.push_str("# (disabled)\n");
            continue;
        }
        let tests: Vec<String> = f.conditions.iter().map(condition).collect();
        let joined = if tests.len() == 1 {
            tests[0].clone()
        } else {
            format!(
                "{} ({})",
                if f.any { "anyof" } else { "allof" },
                tests.join(", ")
            )
        };
        let _ = writeln!(body, "if {joined} {{");
        // Flags first: imap4flags applies them to the fileinto/keep that follow.
        let mut ordered: Vec<&Action> = f.actions.iter().collect();
        ordered.sort_by_key(|a| match a {
            Action::Read | Action::Flag | Action::Label(_) => 0,
            Action::Move(_) | Action::Copy(_) => 1,
            Action::Forward { .. } => 2,
            Action::Discard => 3,
            Action::Stop => 4,
        });
        for a in ordered {
            let line = match a {
                Action::Read => {
                    require("imap4flags");
                    "addflag \"\\\\Seen\";".to_owned()
                }
                Action::Flag => {
                    require("imap4flags");
                    "addflag \"\\\\Flagged\";".to_owned()
                }
                Action::Label(k) => {
                    require("imap4flags");
                    format!("addflag {};", quote(k))
                }
                Action::Move(folder) => {
                    require("fileinto");
                    require("mailbox");
                    format!("fileinto :create {};", quote(folder))
                }
                Action::Copy(folder) => {
                    require("fileinto");
                    require("mailbox");
                    require("copy");
                    format!("fileinto :copy :create {};", quote(folder))
                }
                Action::Forward { address, keep } => {
                    if *keep {
                        require("copy");
                        format!("redirect :copy {};", quote(address))
                    } else {
                        format!("redirect {};", quote(address))
                    }
                }
                Action::Discard => "discard;".to_owned(),
                Action::Stop => "stop;".to_owned(),
            };
            let _ = writeln!(body, "  {line}");
        }
        body.push_str("}\n");
    }

    let mut out = String::from(
        "# Mail rules written by Mailroom (Settings: Filters, Vacation reply, Forwarding).\n\
         # Mailroom reads this script back from the \"mailroom:\" lines; if you edit it by hand,\n\
         # Mailroom shows it but no longer changes it.\n",
    );
    out.push_str(MARKER);
    out.push('\n');
    if !need.is_empty() {
        let names: Vec<String> = need.iter().map(|s| (*s).to_owned()).collect();
        let _ = writeln!(out, "require {};", string_list(&names));
    }
    out.push_str(&body);
    out
}

fn condition(c: &Condition) -> String {
    let op = match c.op {
        Op::Contains => ":contains",
        Op::Is => ":is",
        Op::Matches => ":matches",
    };
    let size = |tag: &str| format!("size {tag} {}", c.value);
    let headers = match &c.field {
        Field::SizeOver => return size(":over"),
        Field::SizeUnder => return size(":under"),
        Field::From => "\"from\"".to_owned(),
        Field::To => "[\"to\", \"cc\"]".to_owned(),
        Field::Subject => "\"subject\"".to_owned(),
        Field::Header(name) => quote(name),
    };
    format!("header {op} {headers} {}", quote(&c.value))
}

/// Why a rule cannot be saved; each is a catalog key.
pub fn validate_header_name(name: &str) -> bool {
    // RFC 5322 §3.6.8 field names: printable ASCII except the colon.
    !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// An IMAP keyword (RFC 3501 atom, not a system flag).
pub fn validate_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 100
        && !k.starts_with('\\')
        && k.bytes()
            .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
}

/// A size for `size :over`: digits with an optional K, M or G (RFC 5228 §2.4.1).
pub fn validate_size(s: &str) -> bool {
    let digits = s.strip_suffix(['K', 'M', 'G']).unwrap_or(s);
    !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A `YYYY-MM-DD` date.
pub fn validate_date(d: &str) -> bool {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() && d.len() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rules {
        Rules {
            vacation: Some(Vacation {
                enabled: true,
                subject: "Away \"now\"".into(),
                body: "Back on Monday.\n回来再说。".into(),
                start: Some("2026-12-01".into()),
                end: None,
                days: 3,
                addresses: vec!["me@example.test".into()],
            }),
            forwarding: Some(Forwarding {
                enabled: true,
                addresses: vec!["a@example.test".into()],
                keep: true,
            }),
            filters: vec![
                Filter {
                    id: "r1".into(),
                    name: "项目\nname".into(),
                    enabled: true,
                    any: true,
                    conditions: vec![
                        Condition {
                            field: Field::Subject,
                            op: Op::Contains,
                            value: "报告 \\ \"x\"".into(),
                        },
                        Condition {
                            field: Field::Header("X-Tag".into()),
                            op: Op::Matches,
                            value: "a*".into(),
                        },
                        Condition {
                            field: Field::SizeOver,
                            op: Op::Contains,
                            value: "100K".into(),
                        },
                    ],
                    actions: vec![Action::Move("项目/2026".into()), Action::Flag, Action::Stop],
                },
                Filter {
                    id: "r2".into(),
                    name: "off".into(),
                    enabled: false,
                    any: false,
                    conditions: vec![Condition {
                        field: Field::From,
                        op: Op::Is,
                        value: "b@example.test".into(),
                    }],
                    actions: vec![Action::Discard],
                },
            ],
        }
    }

    #[test]
    fn generated_script_reads_well_and_round_trips() {
        let rules = sample();
        let text = generate(&rules);
        assert!(text.contains(
            "require [\"vacation\", \"date\", \"relational\", \"copy\", \"imap4flags\", \"fileinto\", \"mailbox\"];"
        ), "{text}");
        assert!(text.contains("if anyof (header :contains \"subject\" \"报告 \\\\ \\\"x\\\"\", header :matches \"X-Tag\" \"a*\", size :over 100K) {\n  addflag \"\\\\Flagged\";\n  fileinto :create \"项目/2026\";\n  stop;\n}"), "{text}");
        assert!(text.contains("# Filter: 项目 name\n"), "{text}");
        assert!(text.contains("vacation :days 3 :subject \"Away \\\"now\\\"\" :addresses [\"me@example.test\"] \"Back on Monday.\n回来再说。\";"));
        assert!(text.contains("redirect :copy \"a@example.test\";"));
        assert!(!text.contains("discard;"), "disabled rule has no code");
        assert_eq!(parse(&text), Parsed::Ours(rules.clone()));
        // CRLF from a server or an editor is the same script.
        assert_eq!(parse(&text.replace('\n', "\r\n")), Parsed::Ours(rules));
    }

    #[test]
    fn hand_edits_and_other_scripts_are_foreign() {
        let text = generate(&sample());
        assert_eq!(parse(&text.replace("stop;", "keep;")), Parsed::Foreign);
        assert_eq!(
            parse("require \"fileinto\";\nfileinto \"x\";\n"),
            Parsed::Foreign
        );
        assert_eq!(
            parse(&format!("{MARKER}\n{RULE}{{not json\n")),
            Parsed::Foreign
        );
        // An empty rule set is ours too.
        assert_eq!(
            parse(&generate(&Rules::default())),
            Parsed::Ours(Rules::default())
        );
    }

    #[test]
    fn forwarding_without_copy_stops() {
        let rules = Rules {
            forwarding: Some(Forwarding {
                enabled: true,
                addresses: vec!["a@x.test".into(), "b@x.test".into()],
                keep: false,
            }),
            ..Rules::default()
        };
        let text = generate(&rules);
        assert!(text.contains("redirect \"a@x.test\";\nredirect \"b@x.test\";\nstop;\n"));
        assert!(!text.contains("require"));
    }

    #[test]
    fn validators() {
        assert!(validate_header_name("X-Spam-Flag"));
        assert!(!validate_header_name("X Spam"));
        assert!(!validate_header_name("a:b"));
        assert!(validate_keyword("$Work"));
        assert!(!validate_keyword("\\Seen"));
        assert!(!validate_keyword("two words"));
        assert!(validate_size("100K") && validate_size("5"));
        assert!(!validate_size("K") && !validate_size("1.5M") && !validate_size("1 M"));
        assert!(validate_date("2026-12-04"));
        assert!(!validate_date("2026-13-04"));
        assert!(!validate_date("4.12.2026"));
    }
}
