//! Turning dates and sizes into the short forms the message list shows.

use chrono::{DateTime, Datelike, FixedOffset, Local};

use crate::{i18n::Tr, model::Address};

/// Today: the time; this year: day and month; older: the full date. Shown in the server's
/// local time zone.
pub fn list_date(tr: Tr, date: Option<DateTime<FixedOffset>>, now: DateTime<Local>) -> String {
    let Some(d) = date else {
        return String::new();
    };
    let d = d.with_timezone(&Local);
    if d.date_naive() == now.date_naive() {
        d.format("%H:%M").to_string()
    } else if d.year() == now.year() {
        let months: Vec<&str> = tr.t("month.short").split(' ').collect();
        let month = months.get(d.month0() as usize).copied().unwrap_or("");
        tr.tf("date.day_month", &[&d.day(), &month])
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// The full date for the message header.
pub fn full_date(date: Option<DateTime<FixedOffset>>) -> String {
    date.map(|d| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// 1234567 → "1.2 MB".
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// The subject to show: the message's own, or "(no subject)" in the reader's language.
pub fn subject(tr: Tr, subject: &str) -> String {
    if subject.trim().is_empty() {
        tr.t("list.no_subject").to_owned()
    } else {
        subject.to_owned()
    }
}

/// The sender to show: the name (else the address), or "(unknown sender)".
pub fn sender(tr: Tr, from: Option<&Address>) -> String {
    from.map(|a| a.display().to_owned())
        .unwrap_or_else(|| tr.t("msg.unknown_sender").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use chrono::TimeZone;

    #[test]
    fn placeholders_for_a_missing_subject_or_sender() {
        let tr = Tr(Lang::En);
        assert_eq!(subject(tr, "Hi"), "Hi");
        assert_eq!(subject(tr, "  "), tr.t("list.no_subject"));
        let a = Address {
            name: None,
            email: "a@example.test".into(),
        };
        assert_eq!(sender(tr, Some(&a)), "a@example.test");
        assert_eq!(sender(tr, None), tr.t("msg.unknown_sender"));
    }

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(size(50 * 1024 * 1024), "50 MB");
    }

    #[test]
    fn dates() {
        let now = Local.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
        let today = now.with_timezone(now.offset()).fixed_offset() - chrono::Duration::hours(2);
        assert_eq!(list_date(Tr(Lang::En), Some(today), now), "13:00");
        let earlier = Local
            .with_ymd_and_hms(2026, 3, 5, 9, 0, 0)
            .unwrap()
            .fixed_offset();
        assert_eq!(list_date(Tr(Lang::En), Some(earlier), now), "5 Mar");
        assert_eq!(list_date(Tr(Lang::ZhHans), Some(earlier), now), "3月5日");
        let old = Local
            .with_ymd_and_hms(2024, 12, 31, 9, 0, 0)
            .unwrap()
            .fixed_offset();
        assert_eq!(list_date(Tr(Lang::En), Some(old), now), "2024-12-31");
        assert_eq!(list_date(Tr(Lang::En), None, now), "");
    }
}
