//! Translations. The catalogs are Fluent files translators edit, one per language in
//! `locales/<tag>/mailroom.ftl`, compiled into the binary. Code and templates ask for a
//! message by key (`tr.t("login.title")`, read as the Fluent id `login-title`) and pass
//! named arguments (`tr.tf("page.of", &[("page", 2.into()), ("pages", 9.into())])`):
//! an argument's text is never searched for placeholders again, so a subject that
//! contains `{1}` stays as written. Numbers select plural forms and are grouped by
//! thousands. Tests check that every key exists in every language with the same
//! argument names, and that every key the code uses exists.

use std::{collections::HashMap, sync::LazyLock};

use fluent_bundle::{FluentArgs, FluentResource, concurrent::FluentBundle};

/// A value for a named argument: text, or a number (grouped, and choosing plural forms).
pub type Arg<'a> = fluent_bundle::FluentValue<'a>;

/// A language the UI is available in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    ZhHans,
    ZhHant,
}

impl Lang {
    /// Every supported language, in the order the language picker shows them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::ZhHans, Lang::ZhHant];

    /// The BCP 47 tag used in `<html lang>`, in the language cookie and as the name of the
    /// catalog's folder under `locales/`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
        }
    }

    /// The language's own name, for the picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhHans => "简体中文",
            Lang::ZhHant => "繁體中文",
        }
    }

    /// Parses a tag from a cookie, a form or a browser (`en`, `zh`, `zh-CN`, `zh-Hans`,
    /// `zh-TW`, `zh-Hant-HK`…). Chinese is Traditional when the tag says so (script
    /// `Hant`) or names a place that writes it (Taiwan, Hong Kong, Macau); else Simplified.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let mut parts = tag.trim().split(['-', '_']).map(str::to_ascii_lowercase);
        match parts.next()?.as_str() {
            "en" => Some(Lang::En),
            "zh" => {
                for sub in parts {
                    match sub.as_str() {
                        "hant" | "tw" | "hk" | "mo" => return Some(Lang::ZhHant),
                        "hans" | "cn" | "sg" | "my" => return Some(Lang::ZhHans),
                        _ => {}
                    }
                }
                Some(Lang::ZhHans)
            }
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header (RFC 9110 §12.5.4).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut choices: Vec<(f32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let lang = Lang::from_tag(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        // Highest q first; among equals, the order the browser sent.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        choices.first().map(|c| c.2)
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::ZhHans => 1,
            Lang::ZhHant => 2,
        }
    }

    /// The catalog's Fluent source.
    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../locales/en/mailroom.ftl"),
            Lang::ZhHans => include_str!("../locales/zh-Hans/mailroom.ftl"),
            Lang::ZhHant => include_str!("../locales/zh-Hant/mailroom.ftl"),
        }
    }
}

/// One language's catalog: the Fluent bundle for messages with arguments, and every
/// message already formatted without arguments, so [`Tr::t`] costs one lookup.
struct Catalog {
    bundle: FluentBundle<FluentResource>,
    plain: HashMap<String, String>,
}

impl Catalog {
    fn load(lang: Lang) -> Catalog {
        // The sources are compiled in and checked by the tests: a syntax error is a
        // programming error, and the entries that did parse are still used.
        let resource =
            FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, e)| {
                tracing::error!(lang = lang.tag(), errors = ?e, "catalog has syntax errors");
                r
            });
        let id: unic_langid::LanguageIdentifier = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // No Unicode isolation marks around arguments: pages set `dir` themselves, and the
        // marks would end up in subjects, `title`s and mail headers.
        bundle.set_use_isolating(false);
        bundle.set_formatter(Some(format_value));
        let ids: Vec<String> = message_ids(&resource).map(str::to_owned).collect();
        if let Err(e) = bundle.add_resource(resource) {
            tracing::error!(lang = lang.tag(), errors = ?e, "catalog has duplicate ids");
        }
        let plain = ids
            .into_iter()
            .filter_map(|id| {
                let text = format(&bundle, &id, None)?;
                Some((id, text))
            })
            .collect();
        Catalog { bundle, plain }
    }
}

/// The ids of the messages in `resource`.
fn message_ids(resource: &FluentResource) -> impl Iterator<Item = &str> {
    resource.entries().filter_map(|e| match e {
        fluent_syntax::ast::Entry::Message(m) => Some(m.id.name),
        _ => None,
    })
}

/// Formats message `id`; `None` when the catalog has no such message.
fn format(
    bundle: &FluentBundle<FluentResource>,
    id: &str,
    args: Option<&FluentArgs>,
) -> Option<String> {
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle
        .format_pattern(pattern, args, &mut errors)
        .into_owned();
    if args.is_some() && !errors.is_empty() {
        // A call that forgot an argument: the page shows `{$name}`; tests catch it.
        tracing::warn!(id, ?errors, "translation arguments missing");
        debug_assert!(errors.is_empty(), "{id}: {errors:?}");
    }
    Some(text)
}

/// Numbers as every supported language writes them: whole numbers grouped by thousands
/// ("10,000"); Fluent's own formatting would not group them.
fn format_value<M>(value: &Arg, _: &M) -> Option<String> {
    match value {
        Arg::Number(n) if n.value.fract() == 0.0 && n.value.abs() < 1e18 => {
            // Whole and in range: the cast is exact.
            #[allow(clippy::cast_possible_truncation)]
            let whole = n.value as i64;
            let grouped = group_thousands(whole.unsigned_abs());
            Some(if whole < 0 {
                format!("-{grouped}")
            } else {
                grouped
            })
        }
        _ => None,
    }
}

static CATALOGS: LazyLock<[Catalog; 3]> = LazyLock::new(|| Lang::ALL.map(Catalog::load));

/// Whether the catalogs have a message for `key` (for checks on keys made by code).
pub fn has_key(key: &str) -> bool {
    CATALOGS[Lang::En.index()]
        .plain
        .contains_key(&fluent_id(key))
}

/// The Fluent id of a code key: Fluent ids cannot hold `.`.
fn fluent_id(key: &str) -> String {
    key.replace('.', "-")
}

/// A translator bound to one language; cheap to copy into every page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tr(pub Lang);

impl Tr {
    /// The text for `key`, without arguments. A key missing in this language falls back
    /// to English; an unknown key gives "?" (and a test catches it).
    pub fn t(&self, key: &str) -> &'static str {
        let id = fluent_id(key);
        let catalogs: &'static [Catalog; 3] = &CATALOGS;
        catalogs[self.0.index()]
            .plain
            .get(&id)
            .or_else(|| catalogs[Lang::En.index()].plain.get(&id))
            .map_or_else(
                || {
                    tracing::warn!(key, "missing translation key");
                    "?"
                },
                String::as_str,
            )
    }

    /// The text for `key` with its named arguments (already plain text; the template still
    /// escapes the result).
    pub fn tf(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let id = fluent_id(key);
        let mut fluent = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        let catalogs: &[Catalog; 3] = &CATALOGS;
        format(&catalogs[self.0.index()].bundle, &id, Some(&fluent))
            .or_else(|| format(&catalogs[Lang::En.index()].bundle, &id, Some(&fluent)))
            .unwrap_or_else(|| {
                tracing::warn!(key, "missing translation key");
                "?".to_owned()
            })
    }

    pub fn lang(&self) -> Lang {
        self.0
    }

    /// `key` with its `count` argument: "1 message", "10,000 messages", "1 封邮件".
    pub fn count(&self, key: &str, n: u64) -> String {
        self.tf(key, &[("count", n.into())])
    }
}

/// `n` with a comma between groups of three digits, as English and Chinese write it.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn counts_choose_plural_forms_and_group_thousands() {
        let (en, zh, hant) = (Tr(Lang::En), Tr(Lang::ZhHans), Tr(Lang::ZhHant));
        assert_eq!(en.count("list.messages", 1), "1 message");
        assert_eq!(en.count("list.messages", 0), "0 messages");
        assert_eq!(en.count("list.messages", 10_000), "10,000 messages");
        assert_eq!(zh.count("list.messages", 1), "1 封邮件");
        assert_eq!(zh.count("list.messages", 1_234_567), "1,234,567 封邮件");
        assert_eq!(hant.count("list.messages", 2_000), "2,000 封郵件");
        assert_eq!(
            en.tf(
                "folders.counts",
                &[("count", 1.into()), ("unread", 0.into())]
            ),
            "1 message, 0 unread"
        );
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    /// Arguments are placed once, by name: text in them that looks like a placeholder
    /// stays as it is (positional replacement rewrote a subject holding `{1}`).
    #[test]
    fn arguments_are_never_read_as_placeholders() {
        let en = Tr(Lang::En);
        let text = en.tf(
            "receipt.text",
            &[
                ("date", "{1}".into()),
                ("recipient", "{ $subject }".into()),
                ("subject", "{0} and {2}".into()),
            ],
        );
        assert_eq!(
            text,
            "Your message of {1} to { $subject } with the subject “{0} and {2}” was displayed. \
             This does not mean it was read or understood."
        );
        // No Unicode isolation marks around arguments.
        assert!(!text.contains('\u{2068}') && !text.contains('\u{2069}'));
    }

    #[test]
    fn tags_pick_the_script() {
        for (tag, lang) in [
            ("en-GB", Lang::En),
            ("zh", Lang::ZhHans),
            ("zh-CN", Lang::ZhHans),
            ("zh-Hans", Lang::ZhHans),
            ("zh-TW", Lang::ZhHant),
            ("zh_HK", Lang::ZhHant),
            ("zh-Hant", Lang::ZhHant),
            ("zh-Hant-CN", Lang::ZhHant),
            ("zh-MO", Lang::ZhHant),
        ] {
            assert_eq!(Lang::from_tag(tag), Some(lang), "{tag}");
        }
        assert_eq!(Lang::from_tag("fr"), None);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
        }
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhHans)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, zh;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0, zh-TW;q=0.1"),
            Some(Lang::ZhHant)
        );
    }

    /// Each message's id → the names of the variables it uses.
    fn variables(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
        let source = lang.source();
        let resource = FluentResource::try_new(source.to_owned())
            .unwrap_or_else(|(_, e)| panic!("{}: syntax errors {e:?}", lang.tag()));
        let mut out = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            if let Some((id, _)) = line.split_once(" =")
                && !line.starts_with([' ', '#'])
            {
                current = Some(id.trim().to_owned());
                out.entry(id.trim().to_owned())
                    .or_insert_with(BTreeSet::new);
            }
            let Some(id) = &current else { continue };
            let mut rest = line;
            while let Some(i) = rest.find('$') {
                rest = &rest[i + 1..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if let Some(set) = out.get_mut(id) {
                    set.insert(name);
                }
            }
        }
        let ids: BTreeSet<String> = message_ids(&resource).map(str::to_owned).collect();
        assert_eq!(
            ids,
            out.keys().cloned().collect::<BTreeSet<_>>(),
            "{}: the line scan and the parser disagree",
            lang.tag()
        );
        out
    }

    /// Every message is in every language, with the same argument names, and no
    /// language has a message the others lack.
    #[test]
    fn every_language_has_every_message_with_the_same_arguments() {
        let english = variables(Lang::En);
        assert!(english.len() > 600, "{}", english.len());
        for lang in [Lang::ZhHans, Lang::ZhHant] {
            let other = variables(lang);
            let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
            let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.tag()
            );
            for (id, vars) in &english {
                assert_eq!(
                    Some(vars),
                    other.get(id),
                    "{}: arguments of {id}",
                    lang.tag()
                );
            }
            // Formats without errors, and no message is empty.
            for (id, text) in &CATALOGS[lang.index()].plain {
                assert!(
                    !text.trim().is_empty() || id.ends_with("-and") || id.ends_with("-or"),
                    "{}: {id} is empty",
                    lang.tag()
                );
            }
        }
    }

    /// Every `t("…")`/`tf("…"` key in the templates and sources exists in the catalog, and
    /// every `tf` call with a literal key passes exactly the arguments the message uses.
    #[test]
    fn every_used_key_exists_with_its_arguments() {
        let root = env!("CARGO_MANIFEST_DIR");
        let english = variables(Lang::En);
        let mut files = Vec::new();
        for dir in ["templates", "src"] {
            collect(&std::path::Path::new(root).join(dir), &mut files);
        }
        let mut problems = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for pat in [".t(\"", ".tf(\"", ".count(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    if key.is_empty() {
                        continue;
                    }
                    let Some(vars) = english.get(&fluent_id(key)) else {
                        problems.push(format!("{}: {key} is not in the catalog", f.display()));
                        continue;
                    };
                    let given: BTreeSet<String> = match pat {
                        ".t(\"" => BTreeSet::new(),
                        ".count(\"" => ["count".to_owned()].into(),
                        _ => {
                            // The argument list: from after the key to the closing `])`.
                            let args = &rest[end..rest.find("])").unwrap_or(end)];
                            args.match_indices("(\"")
                                .filter_map(|(j, _)| {
                                    let name = &args[j + 2..];
                                    name.find('"').map(|e| name[..e].to_owned())
                                })
                                .collect()
                        }
                    };
                    // `t` on a message with arguments is allowed only for texts split by code.
                    if pat != ".t(\"" && &given != vars {
                        problems.push(format!(
                            "{}: {key} is given {given:?} but uses {vars:?}",
                            f.display()
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "html" || x == "rs")
                && !p.ends_with("i18n.rs")
            {
                out.push(p);
            }
        }
    }
}
