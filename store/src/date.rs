//! Calendar dates for expiry messages. Expiries are whole days: a token expires
//! from 00:00 UTC of its expiry date on.

use finegrain_engine::api::Timestamp;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// 00:00 UTC of the day holding `t`.
pub fn day_start(t: Timestamp) -> Timestamp {
    t.div_euclid(DAY) * DAY
}

/// `YYYY-MM-DD` of the day holding `t` (UTC).
pub fn format_date(t: Timestamp) -> String {
    let mut days = t.div_euclid(DAY);
    let mut year: i64 = 1970;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    // Whole 400-year cycles (146,097 days) first, then years, then months.
    year += 400 * days.div_euclid(146_097);
    days = days.rem_euclid(146_097);
    loop {
        let length = if leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let lengths = [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 1;
    for length in lengths {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    format!("{year:04}-{month:02}-{:02}", days + 1)
}

/// 00:00 UTC of a `YYYY-MM-DD` date, or `None` when `text` is not one (a day
/// that does not exist, such as `2026-02-30`, is not a date).
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let mut parts = text.trim().split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let number = |s: &str, n: usize| -> Option<i64> {
        if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let (year, month, day) = (number(y, 4)?, number(m, 2)?, number(d, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), then checked by formatting
    // back, which rejects days past the end of their month.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let t = (era * 146_097 + doe - 719_468) * DAY;
    (format_date(t) == text.trim()).then_some(t)
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
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-01T00", "tomorrow", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
