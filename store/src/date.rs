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
    }
}
