//! Attachment filename hygiene.
//!
//! A filename in a message is attacker-chosen text that ends up in a `Content-Disposition`
//! header, in the page and on the user's disk. This file owns making it harmless: no path,
//! no control or invisible characters, no right-to-left override that disguises
//! `invoice<U+202E>fdp.exe` as `invoiceexe.pdf`, no leading dot, a bounded length. It does not
//! decide content types or whether a part may be shown inline (see [`super::parse`]).

/// Longest filename we hand out, in bytes (most filesystems allow 255).
const MAX_FILENAME_BYTES: usize = 180;

/// Longest extension we try to keep when a long name is shortened.
const MAX_EXTENSION_BYTES: usize = 16;

/// Makes an attachment filename safe to show and to offer as a download name.
///
/// Strips any directory part (`/` and `\`), control characters, bidirectional overrides and
/// other invisible format characters, characters Windows refuses (`"<>:*?|`), and leading
/// dots and spaces; caps the length while keeping the extension; returns `"attachment"` when
/// nothing is left. The result still needs encoding (RFC 6266 `filename*`) when put in a
/// header.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| match c {
            '"' | '<' | '>' | ':' | '*' | '?' | '|' => '_',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let shortened = shorten(trimmed);
    if shortened.is_empty() {
        return "attachment".to_string();
    }
    if is_windows_reserved(&shortened) {
        return format!("_{shortened}");
    }
    shortened
}

/// Makes a title (an attached message's Subject) usable as a filename: its `/` and `\\` are
/// text, not a path, so they become `_` instead of [`sanitize_filename`] cutting the name at
/// them ("Q1/Q2 report" stays "Q1_Q2 report", not "Q2 report"). Sanitize the result.
pub(crate) fn title_as_filename(title: &str) -> String {
    title.replace(['/', '\\'], "_")
}

/// Control characters, bidi embeddings/overrides/isolates/marks, zero-width characters and
/// other format characters: none of them belongs in a filename and all can hide its meaning.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Caps the name at [`MAX_FILENAME_BYTES`] on a character boundary, keeping a short
/// extension so the type the user sees is the type they get.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() < MAX_EXTENSION_BYTES => {
            (stem, Some(ext))
        }
        _ => (name, None),
    };
    let budget = MAX_FILENAME_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut cut = budget.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem.get(..cut).unwrap_or_default().trim_end();
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_string(),
    }
}

/// `CON`, `NUL`, `COM1`... (with any extension) cannot be created on Windows.
fn is_windows_reserved(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem
                .as_bytes()
                .get(3)
                .is_some_and(|b| (b'1'..=b'9').contains(b)))
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn strips_paths() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("..\\..\\windows\\system.ini"),
            "system.ini"
        );
        assert_eq!(sanitize_filename("C:\\x\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_filename("dir/"), "attachment");
    }

    #[test]
    fn titles_keep_their_slashes_as_text() {
        assert_eq!(
            sanitize_filename(&super::title_as_filename("Q1/Q2 report.eml")),
            "Q1_Q2 report.eml"
        );
        assert_eq!(
            sanitize_filename(&super::title_as_filename("../..\\x.eml")),
            "_.._x.eml"
        );
    }

    #[test]
    fn strips_bidi_and_controls() {
        assert_eq!(
            sanitize_filename("invoice\u{202E}fdp.exe"),
            "invoicefdp.exe"
        );
        assert_eq!(
            sanitize_filename("a\u{2066}b\u{2069}c\u{200B}.txt"),
            "abc.txt"
        );
        assert_eq!(
            sanitize_filename("evil\r\nContent-Type: x.txt"),
            "evilContent-Type_ x.txt"
        );
        assert_eq!(sanitize_filename("nul\0byte.txt"), "nulbyte.txt");
    }

    #[test]
    fn strips_leading_dots_and_reserved() {
        assert_eq!(sanitize_filename(".htaccess"), "htaccess");
        assert_eq!(sanitize_filename("..."), "attachment");
        assert_eq!(sanitize_filename("  .  "), "attachment");
        assert_eq!(sanitize_filename(""), "attachment");
        assert_eq!(sanitize_filename("CON.txt"), "_CON.txt");
        assert_eq!(sanitize_filename("com1"), "_com1");
        assert_eq!(sanitize_filename("computer.txt"), "computer.txt");
        assert_eq!(sanitize_filename("a\"b<c>.txt"), "a_b_c_.txt");
    }

    #[test]
    fn caps_length_keeping_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let out = sanitize_filename(&long);
        assert!(out.len() <= super::MAX_FILENAME_BYTES, "{}", out.len());
        assert!(out.ends_with("é.pdf"));
        let long = "x".repeat(500);
        assert_eq!(sanitize_filename(&long).len(), super::MAX_FILENAME_BYTES);
    }

    #[test]
    fn keeps_unicode_names() {
        assert_eq!(sanitize_filename("報告書 2024.pdf"), "報告書 2024.pdf");
    }
}
