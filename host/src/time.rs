//! Timestamps as world and scenario files write them: a date (`2027-01-01`,
//! meaning midnight UTC at its start), an RFC 3339 time
//! (`2026-11-21T12:00:00Z`, `2026-11-21T13:00:00+01:00`), or Unix seconds.

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// Parses a timestamp; the error says what forms are accepted.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let bad =
        || format!("{text:?} is not a date (2027-01-01), an RFC 3339 time (2026-11-21T12:00:00Z) or Unix seconds");
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (year, month, day): (i64, u32, u32) =
        (number(y, 4).ok_or_else(bad)?, number(m, 2).ok_or_else(bad)?, number(d, 2).ok_or_else(bad)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
            (clock, 0)
        } else if let Some(at) = time.rfind(['+', '-']) {
            let (clock, zone) = time.split_at(at);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':').ok_or_else(bad)?;
            let (h, m): (i64, i64) = (number(h, 2).ok_or_else(bad)?, number(m, 2).ok_or_else(bad)?);
            (clock, sign * (h * 3600 + m * 60))
        } else {
            return Err(bad());
        };
        let clock = clock.split_once('.').map_or(clock, |(whole, _fraction)| whole);
        let mut fields = clock.split(':');
        let (Some(h), Some(mi), Some(s), None) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
            return Err(bad());
        };
        let (h, mi, s): (i64, i64, i64) =
            (number(h, 2).ok_or_else(bad)?, number(mi, 2).ok_or_else(bad)?, number(s, 2).ok_or_else(bad)?);
        if h > 23 || mi > 59 || s > 60 {
            return Err(bad());
        }
        seconds += h * 3600 + mi * 60 + s - offset;
    }
    Ok(seconds)
}

/// Formats Unix seconds as RFC 3339 UTC.
pub fn format_timestamp(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The current time from the host's clock.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_timestamp("1970-01-01"), Ok(0));
        assert_eq!(parse_timestamp("2026-11-21T12:00:00Z"), Ok(1_795_262_400));
        assert_eq!(parse_timestamp("2026-11-21T13:00:00+01:00"), Ok(1_795_262_400));
        assert_eq!(parse_timestamp("2026-11-21T12:00:00.250Z"), Ok(1_795_262_400));
        assert_eq!(parse_timestamp("2024-02-29"), Ok(1_709_164_800));
        assert_eq!(parse_timestamp("1795262400"), Ok(1_795_262_400));
        for bad in ["2025-02-29", "2026-13-01", "2026-1-1", "yesterday", "2026-11-21T25:00:00Z", "2026-11-21T12:00:00"]
        {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for t in [0, 1_795_262_400, 1_709_164_800, 4_102_444_799] {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Ok(t));
        }
        assert_eq!(format_timestamp(1_795_262_400), "2026-11-21T12:00:00Z");
    }
}
