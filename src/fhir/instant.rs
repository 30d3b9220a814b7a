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
pub fn http_date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
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
    }
}
