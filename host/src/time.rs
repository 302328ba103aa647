//! Timestamps as world and scenario files write them: a date (`2027-01-01`,
//! meaning midnight UTC at its start), an RFC 3339 time
//! (`2026-11-21T12:00:00Z`, `2026-11-21T13:00:00+01:00`), or Unix seconds.

use jiff::civil::{Date, Time};
use jiff::tz::Offset;

/// Parses a timestamp; the error says what forms are accepted. A time needs its
/// offset (`Z` or `±HH:MM`); a fraction of a second is dropped and a leap
/// second (`:60`) read as `:59`, as jiff reads them.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let bad =
        || format!("{text:?} is not a date (2027-01-01), an RFC 3339 time (2026-11-21T12:00:00Z) or Unix seconds");
    if text.contains(['T', 't', ' ']) {
        let at: jiff::Timestamp = text.parse().map_err(|_| bad())?;
        return Ok(at.as_second());
    }
    // A date alone is written in full (YYYY-MM-DD), as world files write it.
    let digits = |range: std::ops::Range<usize>| text.get(range).is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()));
    if text.len() != 10 || !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return Err(bad());
    }
    let date: Date = text.parse().map_err(|_| bad())?;
    let midnight = Offset::UTC.to_timestamp(date.to_datetime(Time::midnight())).map_err(|_| bad())?;
    Ok(midnight.as_second())
}

/// Formats Unix seconds as RFC 3339 UTC; seconds beyond the years −9999 to 9999
/// are written as the number itself, which [`parse_timestamp`] reads back.
pub fn format_timestamp(seconds: i64) -> String {
    match jiff::Timestamp::from_second(seconds) {
        Ok(at) => at.to_string(),
        Err(_) => seconds.to_string(),
    }
}

/// The current time from the host's clock.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
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
            .into_iter()
            .chain(["2026-11-21T12:00:00+1", " ", "2026-11-2a"])
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
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59Z");
        assert_eq!(parse_timestamp(&format_timestamp(i64::MAX)), Ok(i64::MAX));
    }
}
