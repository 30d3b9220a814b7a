//! Server timestamps. carebridge keeps time as milliseconds since the Unix epoch (UTC): what is stored is
//! exactly what `meta.lastUpdated` shows, so `_since` and `_lastUpdated` compare like with like.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A FHIR `instant` (`2026-11-24T11:23:35.123Z`) for an epoch-millisecond time.
pub fn format_instant(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An HTTP-date (RFC 9110 IMF-fixdate) for `Last-Modified`.
///
/// Written field by field: chrono's `format` parses its pattern on every call, which was about 1%
/// of a read's CPU (every read answers `Last-Modified`).
pub fn http_date(ms: i64) -> String {
    use chrono::{Datelike as _, Timelike as _};
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let day = DAYS[t.weekday().num_days_from_monday() as usize % 7];
    let month = MONTHS[t.month0() as usize % 12];
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_instants_and_http_dates() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_instant(1_795_000_000_123),
            "2026-11-18T11:06:40.123Z"
        );
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // Against chrono's own formatting, across days of the week, months and a leap day.
        for ms in [
            951_782_400_000_i64,
            1_709_164_800_123,
            1_795_000_000_123,
            1_800_000_000_999,
        ] {
            let expected = DateTime::<Utc>::from_timestamp_millis(ms)
                .unwrap_or_default()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            assert_eq!(http_date(ms), expected);
        }
    }
}
