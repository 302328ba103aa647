//! Calendar dates for expiry messages. Expiries are whole days: a token expires
//! from 00:00 UTC of its expiry date on.

use finegrain_engine::api::Timestamp;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// 00:00 UTC of the day holding `t`.
pub fn day_start(t: Timestamp) -> Timestamp {
    t.div_euclid(DAY) * DAY
}

/// `YYYY-MM-DD` of the day holding `t` (UTC); beyond the years −9999 to 9999,
/// which no expiry reaches, the Unix seconds themselves.
pub fn format_date(t: Timestamp) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(at) => jiff::tz::Offset::UTC.to_datetime(at).date().to_string(),
        Err(_) => t.to_string(),
    }
}

/// 00:00 UTC of a `YYYY-MM-DD` date, or `None` when `text` is not one (a day
/// that does not exist, such as `2026-02-30`, is not a date).
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let date: jiff::civil::Date = text.parse().ok()?;
    // jiff also reads other spellings (`20261121`, a date with a time): only
    // the one it writes back is a date here.
    let midnight = jiff::tz::Offset::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight())).ok()?;
    (date.to_string() == text).then_some(midnight.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_795_262_400), "2026-11-21");
        assert_eq!(format_date(1_709_164_800), "2024-02-29");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(day_start(1_795_262_400), 1_795_219_200);
        assert_eq!(parse_date("2026-11-21"), Some(1_795_219_200));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-01T00", "tomorrow", "", "20261121"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
