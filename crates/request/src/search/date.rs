//! FHIR date, dateTime and instant values as half-open millisecond ranges `[lo, hi)`.
//!
//! A partial date is the whole period it names: `2026` is all of 2026, `2026-03-04` the whole day.
//! Values without a time zone are taken as UTC (the spec leaves this to the server; UK systems send
//! either UTC or `+00:00`/`+01:00`, which are honoured).

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A half-open time range in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Range {
    /// Inclusive start.
    pub lo: i64,
    /// Exclusive end.
    pub hi: i64,
}

fn day_start(d: NaiveDate) -> Option<i64> {
    Some(
        Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
            .timestamp_millis(),
    )
}

/// Parses a FHIR date, dateTime or instant into the range it covers. `None` when malformed.
pub fn parse_range(s: &str) -> Option<Range> {
    let s = s.trim();
    match s.len() {
        4 => {
            let y: i32 = s.parse().ok()?;
            let start = NaiveDate::from_ymd_opt(y, 1, 1)?;
            let end = NaiveDate::from_ymd_opt(y + 1, 1, 1)?;
            Some(Range {
                lo: day_start(start)?,
                hi: day_start(end)?,
            })
        }
        7 => {
            let start = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()?;
            let end = start.checked_add_months(Months::new(1))?;
            Some(Range {
                lo: day_start(start)?,
                hi: day_start(end)?,
            })
        }
        10 => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            let lo = day_start(d)?;
            Some(Range {
                lo,
                hi: lo + 86_400_000,
            })
        }
        _ => parse_date_time(s),
    }
}

fn parse_date_time(s: &str) -> Option<Range> {
    // Bytes, not `str` slices: a value's last six bytes may start inside a multi-byte character
    // (`n\u{fffd}2024` from a bad percent-escape), and the signs looked for are ASCII.
    let tail = &s.as_bytes()[s.len().saturating_sub(6)..];
    let has_zone = s.ends_with('Z') || tail.iter().any(|b| matches!(b, b'+' | b'-'));
    let (lo, precision_ms) = if has_zone {
        // Minute precision (`2026-03-04T10:00Z`) is not RFC 3339 but clients send it in searches.
        let zoned = s
            .strip_suffix('Z')
            .map_or_else(|| s.to_owned(), |t| format!("{t}+00:00"));
        let dt = DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(&zoned, "%Y-%m-%dT%H:%M%:z"))
            .ok()?;
        (dt.timestamp_millis(), precision_of(s))
    } else {
        let dt = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
            .ok()?;
        (
            Utc.from_utc_datetime(&dt).timestamp_millis(),
            precision_of(s),
        )
    };
    Some(Range {
        lo,
        hi: lo + precision_ms,
    })
}

/// The width of the period a dateTime names: a minute, a second, or a millisecond.
fn precision_of(s: &str) -> i64 {
    let time = s.split('T').nth(1).unwrap_or("");
    let colons = time.chars().filter(|c| *c == ':').count();
    let zone_colon = usize::from(
        time.len() > 6 && matches!(time.as_bytes().get(time.len() - 6), Some(b'+' | b'-')),
    );
    match (colons - zone_colon.min(colons), time.contains('.')) {
        (1, _) => 60_000,
        (_, false) => 1_000,
        (_, true) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn partial_dates_cover_their_whole_period() {
        let y = parse_range("2026").expect("year");
        assert_eq!(
            (y.lo, y.hi),
            (ms("2026-01-01T00:00:00Z"), ms("2027-01-01T00:00:00Z"))
        );
        let m = parse_range("2026-02").expect("month");
        assert_eq!(m.hi, ms("2026-03-01T00:00:00Z"));
        let d = parse_range("2026-12-31").expect("day");
        assert_eq!(d.hi, ms("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn date_times_honour_zone_and_precision() {
        let t = parse_range("2026-03-04T10:00:00+01:00").expect("dt");
        assert_eq!(t.lo, ms("2026-03-04T09:00:00Z"));
        assert_eq!(t.hi - t.lo, 1_000);
        let i = parse_range("2026-03-04T10:00:00.123Z").expect("instant");
        assert_eq!(i.hi - i.lo, 1);
        let n = parse_range("2026-03-04T10:00:00").expect("no zone");
        assert_eq!(n.lo, ms("2026-03-04T10:00:00Z"));
        let minute = parse_range("2026-03-04T10:00Z").expect("minute");
        assert_eq!(minute.hi - minute.lo, 60_000);
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "",
            "20",
            "2026-13",
            "2026-02-30",
            "yesterday",
            "2026-03-04T25:00:00Z",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    /// Found by the `search_query` fuzz target: the zone and precision checks sliced a `str` at a
    /// fixed byte offset, which panicked when it fell inside a multi-byte character.
    #[test]
    fn multi_byte_characters_near_the_end_are_rejected_not_a_panic() {
        for bad in [
            "n\u{fffd}2024",
            "2026-03-04T10:00:0\u{e9}",
            "2026-03-04T1\u{e9}:00Z",
            "2026-03-04T10:00:00\u{1f4a9}",
            "2026-03-04T\u{e9}\u{e9}\u{e9}",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }
}
