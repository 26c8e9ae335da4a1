//! Turning dates and sizes into the short forms pages show. Dates are shown in the
//! reader's time zone (`crate::zone`), never the server's.

use chrono::{DateTime, Datelike, FixedOffset, TimeDelta};
use chrono_tz::Tz;

use crate::{i18n::Tr, model::Address};

/// The list's date column, as mail clients show it: today the time (`14:05`), yesterday
/// "Yesterday", in the six days before that the weekday, this year day and month, older
/// the full date. `now` is the reader's "now" in the reader's zone; `date` is converted to
/// that zone first, so "today" is the reader's day.
pub fn list_date(tr: Tr, date: Option<DateTime<FixedOffset>>, now: DateTime<Tz>) -> String {
    let Some(d) = date else {
        return String::new();
    };
    let d = d.with_timezone(&now.timezone());
    let (day, today) = (d.date_naive(), now.date_naive());
    let days_ago = (today - day).num_days();
    if days_ago == 0 {
        d.format("%H:%M").to_string()
    } else if days_ago == 1 {
        tr.t("date.yesterday").to_owned()
    } else if (2..=6).contains(&days_ago) {
        let names: Vec<&str> = tr.t("date.weekdays").split(' ').collect();
        let i = d.weekday().num_days_from_monday() as usize;
        names.get(i).copied().unwrap_or("").to_owned()
    } else if d.year() == now.year() {
        let months: Vec<&str> = tr.t("month.short").split(' ').collect();
        let month = months.get(d.month0() as usize).copied().unwrap_or("");
        tr.tf(
            "date.day_month",
            &[("day", d.day().into()), ("month", month.into())],
        )
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// The full date for the message header and reply quotes, in `zone`.
pub fn full_date(date: Option<DateTime<FixedOffset>>, zone: Tz) -> String {
    date.map(|d| d.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The date with seconds, offset and zone name, for `title` attributes
/// (`2026-12-04 21:05:00 +08:00 Asia/Shanghai`).
pub fn exact_date(date: Option<DateTime<FixedOffset>>, zone: Tz) -> String {
    date.map(|d| {
        let d = d.with_timezone(&zone);
        format!("{} {}", d.format("%Y-%m-%d %H:%M:%S %:z"), zone.name())
    })
    .unwrap_or_default()
}

/// The instant a day starts in `zone` (the first moment of it that exists: a DST jump at
/// midnight moves it to 01:00). Search date ranges are the reader's days.
pub fn day_start(day: chrono::NaiveDate, zone: Tz) -> DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let mut t = day.and_time(chrono::NaiveTime::MIN);
    // A gap is at most a few hours; step through it a quarter hour at a time.
    for _ in 0..(4 * 26) {
        if let Some(d) = zone.from_local_datetime(&t).earliest() {
            return d.to_utc();
        }
        t += TimeDelta::minutes(15);
    }
    day.and_time(chrono::NaiveTime::MIN).and_utc()
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

    fn at(zone: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Tz> {
        zone.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn list_dates_are_relative_to_the_readers_day() {
        let (en, zh) = (Tr(Lang::En), Tr(Lang::ZhHans));
        let utc = Tz::UTC;
        // Friday 2026-12-04 15:00 UTC.
        let now = at(utc, 2026, 12, 4, 15, 0);
        let show = |y, m, d, h, min| Some(at(utc, y, m, d, h, min).fixed_offset());
        assert_eq!(list_date(en, show(2026, 12, 4, 0, 5), now), "00:05");
        assert_eq!(list_date(en, show(2026, 12, 3, 23, 59), now), "Yesterday");
        assert_eq!(list_date(zh, show(2026, 12, 3, 8, 0), now), "昨天");
        assert_eq!(list_date(en, show(2026, 12, 2, 8, 0), now), "Wed");
        assert_eq!(list_date(zh, show(2026, 12, 2, 8, 0), now), "周三");
        assert_eq!(list_date(en, show(2026, 11, 28, 8, 0), now), "Sat");
        // Seven days ago is the same weekday as today: a date, not "Fri".
        assert_eq!(list_date(en, show(2026, 11, 27, 8, 0), now), "27 Nov");
        assert_eq!(list_date(en, show(2026, 3, 5, 9, 0), now), "5 Mar");
        assert_eq!(list_date(zh, show(2026, 3, 5, 9, 0), now), "3月5日");
        assert_eq!(list_date(en, show(2025, 12, 31, 9, 0), now), "2025-12-31");
        assert_eq!(list_date(en, None, now), "");
        // A message from the future (a sender's wrong clock) gets a date, not a weekday.
        assert_eq!(list_date(en, show(2026, 12, 9, 9, 0), now), "9 Dec");
    }

    #[test]
    fn one_instant_is_today_west_of_the_date_line_and_yesterday_east_of_it() {
        let en = Tr(Lang::En);
        // Sent 2026-12-04 10:30 UTC, read half an hour later: 00:30 on the 5th in
        // Kiritimati (+14), where it is 01:00: today; 23:30 on the 3rd in Pago Pago (-11),
        // where it is already midnight: yesterday.
        let msg = Some(at(Tz::UTC, 2026, 12, 4, 10, 30).fixed_offset());
        let kiri = Tz::Pacific__Kiritimati;
        let pago = Tz::Pacific__Pago_Pago;
        let instant = at(Tz::UTC, 2026, 12, 4, 11, 0);
        assert_eq!(list_date(en, msg, instant.with_timezone(&kiri)), "00:30");
        assert_eq!(
            list_date(en, msg, instant.with_timezone(&pago)),
            "Yesterday"
        );
        assert_eq!(full_date(msg, kiri), "2026-12-05 00:30");
        assert_eq!(full_date(msg, pago), "2026-12-03 23:30");
        assert_eq!(full_date(msg, Tz::Asia__Shanghai), "2026-12-04 18:30");
        assert_eq!(
            exact_date(msg, Tz::Asia__Shanghai),
            "2026-12-04 18:30:00 +08:00 Asia/Shanghai"
        );
    }

    #[test]
    fn dst_changes_the_offset_and_the_length_of_a_day() {
        let paris = Tz::Europe__Paris;
        // 2026-03-29: clocks go from 02:00 to 03:00 in Paris.
        let before = Some(at(Tz::UTC, 2026, 3, 29, 0, 30).fixed_offset());
        let after = Some(at(Tz::UTC, 2026, 3, 29, 1, 30).fixed_offset());
        assert_eq!(full_date(before, paris), "2026-03-29 01:30");
        assert_eq!(full_date(after, paris), "2026-03-29 03:30");
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert_eq!(day_start(day(29), paris), at(Tz::UTC, 2026, 3, 28, 23, 0));
        assert_eq!(day_start(day(30), paris), at(Tz::UTC, 2026, 3, 29, 22, 0));
        // Where the jump is at midnight (Santiago, 2026-09-06), the day starts at 01:00.
        let santiago = Tz::America__Santiago;
        let sept = chrono::NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            day_start(sept, santiago)
                .with_timezone(&santiago)
                .format("%H:%M")
                .to_string(),
            "01:00"
        );
    }
}
