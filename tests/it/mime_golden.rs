//! Golden-file tests for `mailroom::mime`: every `tests/fixtures/mime/<name>.eml` is parsed
//! and rendered, and the results are compared with `<name>.view.txt` (a text dump of the
//! `MessageView` plus the remote-content flag) and `<name>.body.html` (`render_body` with
//! remote content blocked and the part prefix `/mail/INBOX/1/part/`).
//!
//! `UPDATE_GOLDEN=1 cargo test --test it mime_golden` rewrites the golden files instead of
//! comparing; review the diff by eye before committing it. Independently of the goldens,
//! every fixture's output is checked for anything executable or remotely loaded.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use mailroom::mime::{self, HeaderLabels, MessageView, RenderOptions};
use mailroom::model::Address;

const PREFIX: &str = "/mail/INBOX/1/part/";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mime")
}

fn fixtures() -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    list.sort();
    list
}

fn render(raw: &[u8], allow_remote: bool) -> Result<mime::RenderedBody, mime::MimeError> {
    mime::render_body(
        raw,
        &RenderOptions {
            allow_remote,
            part_url_prefix: PREFIX,
            // Proxied remote images are covered by tests/it/hostile.rs.
            image_proxy: None,
            header_labels: HeaderLabels::ENGLISH,
        },
    )
}

fn addresses(list: &[Address]) -> String {
    list.iter()
        .map(|a| match &a.name {
            Some(n) => format!("{n:?} <{}>", a.email),
            None => format!("<{}>", a.email),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stable, reviewable dump of what the message page would show around the body.
fn dump_view(view: &Result<MessageView, mime::MimeError>, has_remote: Option<bool>) -> String {
    let view = match view {
        Ok(v) => v,
        Err(e) => return format!("error: {e}\n"),
    };
    let mut out = String::new();
    let _ = writeln!(out, "subject: {:?}", view.subject);
    let _ = writeln!(out, "from: {}", addresses(&view.from));
    let _ = writeln!(out, "to: {}", addresses(&view.to));
    let _ = writeln!(out, "cc: {}", addresses(&view.cc));
    let _ = writeln!(out, "reply-to: {}", addresses(&view.reply_to));
    let _ = writeln!(
        out,
        "date: {}",
        view.date.map(|d| d.to_rfc3339()).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "message-id: {}",
        view.message_id.as_deref().unwrap_or_default()
    );
    let _ = writeln!(out, "in-reply-to: {}", view.in_reply_to.join(" "));
    let _ = writeln!(out, "references: {}", view.references.join(" "));
    let _ = writeln!(
        out,
        "mdn-to: {}",
        view.mdn_to
            .as_ref()
            .map(|a| addresses(std::slice::from_ref(a)))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "has-html: {}", view.has_html);
    let _ = writeln!(
        out,
        "remote-content: {}",
        has_remote.map_or("error".to_string(), |b| b.to_string())
    );
    let _ = writeln!(out, "attachments: {}", view.attachments.len());
    for a in &view.attachments {
        let _ = writeln!(
            out,
            "  - part={} filename={:?} type={} size={} cid={}",
            a.part,
            a.filename,
            a.content_type,
            a.size,
            a.content_id.as_deref().unwrap_or("-")
        );
    }
    out
}

/// Compares `actual` with the golden file, or rewrites it under `UPDATE_GOLDEN=1`.
/// Returns a description of the mismatch, if any.
fn check_golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        fs::write(path, actual).expect("write golden");
        return None;
    }
    let expected = fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{} differs (run with UPDATE_GOLDEN=1 and review the diff)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )
    })
}

/// Elements that must never come out of the sanitizer.
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script", "style", "svg", "math", "form", "input", "button", "textarea", "select", "iframe",
    "frame", "frameset", "object", "embed", "applet", "base", "meta", "link", "title", "noscript",
    "template", "video", "audio", "source", "picture", "portal",
];

/// The wrapper classes `render_body` itself writes.
const OWN_CLASSES: &[&str] = &[
    "mr-html",
    "mr-plain",
    "mr-inline-image",
    "mr-attached-message",
    "mr-attached-headers",
];

/// Checks one rendered body for anything executable, and (when remote content is blocked)
/// for anything loaded from elsewhere. Returns the problems found.
fn safety_problems(name: &str, html: &str, allow_remote: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let lower = html.to_ascii_lowercase();
    for needle in [
        "<script",
        "javascript:",
        "vbscript:",
        "data:text/html",
        "expression(",
    ] {
        if lower.contains(needle) {
            problems.push(format!("{name}: output contains {needle:?}"));
        }
    }
    problems.extend(dom_problems(name, html, allow_remote));
    problems
}

/// The structural half of [`safety_problems`]: parses the output like a browser would and
/// checks every element and attribute.
fn dom_problems(name: &str, html: &str, allow_remote: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let doc = scraper::Html::parse_fragment(html);
    for el in doc.root_element().descendent_elements() {
        let tag = el.value().name();
        if FORBIDDEN_ELEMENTS.contains(&tag) {
            problems.push(format!("{name}: forbidden element <{tag}>"));
        }
        for (attr, value) in el.value().attrs() {
            let value_lower = value.trim().to_ascii_lowercase();
            if ["javascript:", "vbscript:", "data:text"]
                .iter()
                .any(|bad| value_lower.contains(bad))
            {
                problems.push(format!("{name}: {attr} on <{tag}> is {value}"));
            }
            if attr.starts_with("on") {
                problems.push(format!("{name}: event attribute {attr} on <{tag}>"));
            }
            if matches!(attr, "id" | "name" | "srcset" | "formaction" | "action") {
                problems.push(format!("{name}: attribute {attr} on <{tag}>"));
            }
            // Classes come only from mime's own wrappers, never from the message.
            if attr == "class" && !OWN_CLASSES.contains(&value) {
                problems.push(format!("{name}: class {value:?} on <{tag}>"));
            }
            if attr == "style" {
                for bad in ["url(", "expression", "position", "image", "\\", "var("] {
                    if value_lower.contains(bad) {
                        problems.push(format!("{name}: style contains {bad:?}: {value}"));
                    }
                }
            }
            let is_link = tag == "a" && attr == "href";
            if is_link {
                let ok = value.starts_with(PREFIX)
                    || ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|p| value_lower.starts_with(p));
                if !ok {
                    problems.push(format!("{name}: link to {value}"));
                }
                if el.value().attr("rel") != Some("noopener noreferrer")
                    || el.value().attr("target") != Some("_blank")
                {
                    problems.push(format!("{name}: link without rel/target: {value}"));
                }
            }
            let remote = value_lower.contains("http://")
                || value_lower.contains("https://")
                || value_lower.starts_with("//");
            if remote && !is_link && !allow_remote {
                problems.push(format!("{name}: remote URL in {attr} on <{tag}>: {value}"));
            }
            if matches!(attr, "src" | "background") {
                let ok = value.starts_with(PREFIX)
                    || value_lower.starts_with("data:image/png")
                    || value_lower.starts_with("data:image/jpeg")
                    || value_lower.starts_with("data:image/gif")
                    || value_lower.starts_with("data:image/webp")
                    || (allow_remote
                        && (value_lower.starts_with("http://")
                            || value_lower.starts_with("https://")));
                if !ok {
                    problems.push(format!("{name}: unexpected {attr} on <{tag}>: {value}"));
                }
            }
        }
    }
    problems
}

#[test]
fn mime_fixtures_match_golden_files_and_are_safe() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 30, "expected at least 30 fixtures");
    let mut failures = Vec::new();
    for eml in &fixtures {
        let name = eml
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let raw = fs::read(eml).expect("read fixture");

        let view = mime::parse(&raw);
        let blocked = render(&raw, false);
        let allowed = render(&raw, true);

        let body_html = blocked.as_ref().map(|b| b.html.clone()).unwrap_or_default();
        let view_txt = dump_view(&view, blocked.as_ref().ok().map(|b| b.has_remote_content));
        failures.extend(check_golden(&eml.with_extension("body.html"), &body_html));
        failures.extend(check_golden(&eml.with_extension("view.txt"), &view_txt));

        failures.extend(safety_problems(&name, &body_html, false));
        if let Ok(allowed) = &allowed {
            failures.extend(safety_problems(
                &format!("{name} (remote allowed)"),
                &allowed.html,
                true,
            ));
            let blocked_flag = blocked.as_ref().is_ok_and(|b| b.has_remote_content);
            if allowed.has_remote_content != blocked_flag {
                failures.push(format!("{name}: remote flag depends on allow_remote"));
            }
        }

        // Every listed attachment can be fetched, and is only inline-safe when it is a
        // raster image; filenames are clean.
        if let Ok(view) = &view {
            for a in &view.attachments {
                let round_trip: Result<mime::PartId, _> = a.part.to_string().parse();
                if round_trip.as_ref() != Ok(&a.part) {
                    failures.push(format!("{name}: part id {} does not round-trip", a.part));
                }
                match mime::part(&raw, &a.part) {
                    None => failures.push(format!("{name}: part {} not found", a.part)),
                    Some(content) => {
                        if !content.content_type.starts_with(&a.content_type) {
                            failures.push(format!(
                                "{name}: part {} type {} vs listed {}",
                                a.part, content.content_type, a.content_type
                            ));
                        }
                        if content.inline_safe
                            && !["image/png", "image/jpeg", "image/gif", "image/webp"]
                                .contains(&content.content_type.as_str())
                        {
                            failures.push(format!("{name}: part {} inline-safe", a.part));
                        }
                        if content.bytes.len() != a.size {
                            failures.push(format!("{name}: part {} size mismatch", a.part));
                        }
                    }
                }
                let f = &a.filename;
                if f.is_empty()
                    || f.starts_with('.')
                    || f.contains(['/', '\\'])
                    || f.chars().any(|c| {
                        c.is_control()
                            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
                    })
                {
                    failures.push(format!("{name}: unsafe filename {f:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn mime_part_ids_from_urls_are_strict() {
    for bad in ["", "-1", "1/2", "../1", "1.", "01", "1e3", "１"] {
        assert!(bad.parse::<mime::PartId>().is_err(), "{bad:?}");
    }
    let raw = fs::read(fixtures_dir().join("mixed-attachments.eml")).expect("fixture");
    let missing: mime::PartId = "999".parse().expect("valid id");
    assert!(mime::part(&raw, &missing).is_none());
    // The multipart container itself is not downloadable.
    let root: mime::PartId = "0".parse().expect("valid id");
    assert!(mime::part(&raw, &root).is_none());
}

#[test]
fn mime_safety_checker_catches_unsafe_output() {
    let bad = [
        r#"<img src="https://tracker.example/p.gif">"#,
        r#"<img src="x" onerror="alert(1)">"#,
        r#"<a href="javascript:alert(1)" rel="noopener noreferrer" target="_blank">x</a>"#,
        r#"<a href="https://example.com/">no rel</a>"#,
        r#"<p style="background:url(https://e.example/)">x</p>"#,
        r#"<svg></svg>"#,
        r#"<div class="page-header">x</div>"#,
        r#"<table background="//e.example/bg.png"></table>"#,
    ];
    for html in bad {
        assert!(!safety_problems("probe", html, false).is_empty(), "{html}");
    }
    let good = r#"<div class="mr-html"><img src="/mail/INBOX/1/part/2" alt="x"><a href="https://example.com/" rel="noopener noreferrer" target="_blank">x</a></div>"#;
    assert_eq!(safety_problems("probe", good, false), Vec::<String>::new());
}

fn fixture_part(name: &str, id: &str) -> Option<mime::PartContent> {
    let raw = fs::read(fixtures_dir().join(format!("{name}.eml"))).expect("fixture");
    mime::part(&raw, &id.parse().expect("valid part id"))
}

#[test]
fn mime_parts_are_served_with_safe_types() {
    let pdf = fixture_part("mixed-attachments", "2").expect("pdf");
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-1.4"));
    assert!(!pdf.inline_safe);

    let png = fixture_part("mixed-attachments", "3").expect("png");
    assert_eq!(png.content_type, "image/png");
    assert!(png.inline_safe);

    let html = fixture_part("mixed-attachments", "4").expect("html");
    assert_eq!(html.content_type, "text/html; charset=utf-8");
    assert_eq!(html.filename.as_deref(), Some("page.html"));
    assert!(!html.inline_safe);

    let passwd = fixture_part("mixed-attachments", "5").expect("passwd");
    assert_eq!(passwd.filename.as_deref(), Some("passwd"));

    // Declared image/png, but the bytes are SVG: never inline.
    let fake = fixture_part("mixed-attachments", "7").expect("fake png");
    assert!(!fake.inline_safe);

    let logo = fixture_part("related-cid", "2").expect("cid logo");
    assert!(logo.inline_safe);
    assert_eq!(logo.filename.as_deref(), Some("logo.png"));

    let attached = fixture_part("forwarded-rfc822", "2").expect("attached message");
    assert_eq!(attached.content_type, "message/rfc822");
    assert!(!attached.inline_safe);
    let text = String::from_utf8_lossy(&attached.bytes);
    assert!(
        text.starts_with("From: Carol <carol@example.net>"),
        "{text}"
    );
    assert!(text.contains("Q1,42"), "{text}");
    assert!(!text.contains("Old message body"), "{text}");

    let nested_png = fixture_part("forwarded-rfc822", "2.4").expect("png in attached message");
    assert!(nested_png.inline_safe);
    let csv = fixture_part("forwarded-rfc822", "2.5").expect("csv in attached message");
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_eq!(csv.bytes, b"quarter,value\r\nQ1,42");

    let gbk = fixture_part("gbk", "0").expect("single-part body");
    assert_eq!(gbk.content_type, "text/plain; charset=utf-8");
    assert!(String::from_utf8_lossy(&gbk.bytes).contains("你好"));
}

/// Cheap robustness sweep: every fixture cut short at many points, and with bytes flipped
/// by a fixed pseudo-random sequence, must parse and render (or error) without panicking,
/// and still render safely.
#[test]
fn mime_mangled_fixtures_never_panic() {
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut failures = Vec::new();
    for eml in fixtures() {
        let raw = fs::read(&eml).expect("read fixture");
        let step = (raw.len() / 40).max(1);
        let mut variants: Vec<Vec<u8>> = (0..raw.len())
            .step_by(step)
            .map(|cut| raw.get(..cut).unwrap_or_default().to_vec())
            .collect();
        for _ in 0..20 {
            let mut flipped = raw.clone();
            for _ in 0..8 {
                let len = flipped.len().max(1);
                if let Some(b) = flipped.get_mut(next() % len) {
                    *b = (next() % 256) as u8;
                }
            }
            variants.push(flipped);
        }
        for variant in variants {
            let _ = mime::parse(&variant);
            if let Ok(body) = render(&variant, false) {
                // A mangled Content-Type can turn hostile HTML into plain text, which shows
                // `javascript:` harmlessly as text: only the DOM checks apply here.
                let p = dom_problems(&format!("{} (mangled)", eml.display()), &body.html, false);
                failures.extend(p);
            }
            let _ = mime::part(&variant, &"1".parse().expect("valid id"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `wild-*` fixtures (mail from the wild, issue 9 item 3): each damaged part downloads
/// with the bytes, name and type the sender meant, as Thunderbird or Python's `email` save it.
#[test]
fn mime_wild_mail_decodes_to_the_sent_bytes() {
    // generate.py's PDF and 1×1 PNG.
    let is_pdf =
        |b: &[u8]| b.starts_with(b"%PDF-1.4\n") && b.ends_with(b"%%EOF\n") && b.len() == 125;
    let is_png = |b: &[u8]| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.ends_with(b"IEND\xaeB`\x82");

    let folded = fixture_part("wild-folded-parameters", "2").expect("folded attachment");
    assert_eq!(
        folded.filename.as_deref(),
        Some("Quarterly report 2024.pdf")
    );
    assert_eq!(folded.content_type, "application/pdf");
    assert!(is_pdf(&folded.bytes));

    let unclosed = fixture_part("wild-unclosed-multipart", "2").expect("last part");
    assert_eq!(unclosed.content_type, "application/pdf");
    assert!(is_pdf(&unclosed.bytes), "{:?}", unclosed.bytes);

    let tight = fixture_part("wild-no-blank-line", "2").expect("part without blank line");
    assert_eq!(tight.filename.as_deref(), Some("invoice.pdf"));
    assert!(is_pdf(&tight.bytes), "{} bytes", tight.bytes.len());

    let uu = fixture_part("wild-uuencode", "2").expect("uuencoded part");
    assert_eq!(uu.content_type, "image/png");
    assert!(is_png(&uu.bytes), "{:?}", uu.bytes);
    assert!(uu.inline_safe);

    for part in ["2", "3", "5"] {
        let pdf = fixture_part("wild-lenient-encodings", part).expect("damaged base64");
        assert!(is_pdf(&pdf.bytes), "part {part}: {:?}", pdf.bytes);
    }
    let short = fixture_part("wild-lenient-encodings", "4").expect("unpadded base64");
    assert_eq!(short.bytes.len(), 123, "every byte of unpadded base64");
    let qp = fixture_part("wild-lenient-encodings", "1").expect("quoted-printable");
    assert_eq!(
        String::from_utf8_lossy(&qp.bytes),
        "Discount: 100% =ZZ off, café =3\r\nSoft break, and a lone = sign."
    );

    let attached = fixture_part("wild-subject-with-slash", "2").expect("attached message");
    assert_eq!(attached.filename.as_deref(), Some("Q1_Q2 report.eml"));

    let invalid = fixture_part("wild-invalid-content-type", "0").expect("body");
    assert_eq!(invalid.content_type, "text/plain; charset=utf-8");
}
