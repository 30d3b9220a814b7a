//! Calendar days: FHIR dates as days since 1970-01-01 and back (proleptic Gregorian), for the
//! date arithmetic of cohorts, outcome tables and exports, without a time zone in sight.

/// `YYYY[-MM[-DD]]...` as (year, month, day), missing parts as 1.
pub fn parse_ymd(s: &str) -> Option<(i32, u32, u32)> {
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let day = s.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(1);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((year, month, day))
}

/// The date part of a date or dateTime as days since 1970-01-01.
pub fn parse_day(s: &str) -> Option<i32> {
    let (y, m, d) = parse_ymd(s)?;
    Some(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i32::try_from(m).unwrap_or(1);
    let d = i32::try_from(d).unwrap_or(1);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i32::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}
