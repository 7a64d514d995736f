//! HTTP dates (RFC 1123, always GMT) as the original's `HTTP::Date::time2str` writes them, and a
//! per-second cached "now" for `Date` headers (WS-5, WS-25).
//!
//! The formatter works from Unix seconds and never panics: file times before 1970 are written
//! like Perl's `gmtime` does; times outside years 0000–9999 are clamped to that range.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of every formatted date: `Thu, 02 Jan 2020 03:04:05 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

/// 0000-01-01T00:00:00Z in Unix seconds.
const MIN_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z in Unix seconds.
const MAX_SECONDS: i64 = 253_402_300_799;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A formatted HTTP date, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HttpDate {
    bytes: [u8; HTTP_DATE_LEN],
}

impl std::fmt::Debug for HttpDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for HttpDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as usize, day)
}

fn put_two(bytes: &mut [u8], at: usize, value: i64) {
    bytes[at] = b'0' + (value / 10 % 10) as u8;
    bytes[at + 1] = b'0' + (value % 10) as u8;
}

impl HttpDate {
    /// Formats `seconds` since the Unix epoch.
    pub fn from_unix(seconds: i64) -> HttpDate {
        let seconds = seconds.clamp(MIN_SECONDS, MAX_SECONDS);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let weekday = (days + 4).rem_euclid(7) as usize;
        let mut bytes = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        bytes[..3].copy_from_slice(WEEKDAYS[weekday]);
        put_two(&mut bytes, 5, day);
        bytes[8..11].copy_from_slice(MONTHS[month - 1]);
        put_two(&mut bytes, 12, year / 100);
        put_two(&mut bytes, 14, year % 100);
        put_two(&mut bytes, 17, second_of_day / 3600);
        put_two(&mut bytes, 20, second_of_day / 60 % 60);
        put_two(&mut bytes, 23, second_of_day % 60);
        HttpDate { bytes }
    }

    /// Formats a file time (mtime); times before 1970 are fine.
    pub fn from_system_time(time: SystemTime) -> HttpDate {
        HttpDate::from_unix(unix_seconds(time))
    }

    /// The date text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// The date bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Whole seconds since the Unix epoch, rounded down (1969-12-31T23:59:59.5 is second -1).
pub fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            let partial = i64::from(before.subsec_nanos() > 0);
            whole.saturating_add(partial).saturating_neg()
        }
    }
}

/// The current Unix time in whole seconds.
pub fn unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

/// Caches the formatted date of one second; keep one per thread or per worker.
#[derive(Debug, Clone, Copy)]
pub struct DateCache {
    second: i64,
    date: HttpDate,
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache::new()
    }
}

impl DateCache {
    /// A cache holding the current second.
    pub fn new() -> DateCache {
        let second = unix_now();
        DateCache {
            second,
            date: HttpDate::from_unix(second),
        }
    }

    /// The date for `second`, reformatted only when the second changed.
    pub fn at(&mut self, second: i64) -> HttpDate {
        if second != self.second {
            self.second = second;
            self.date = HttpDate::from_unix(second);
        }
        self.date
    }

    /// The current date.
    pub fn now(&mut self) -> HttpDate {
        self.at(unix_now())
    }
}

thread_local! {
    static THREAD_DATE: Cell<Option<DateCache>> = const { Cell::new(None) };
}

/// The current date as an HTTP date, formatted at most once per second per thread.
pub fn now() -> HttpDate {
    THREAD_DATE.with(|slot| {
        let mut cache = slot.get().unwrap_or_default();
        let date = cache.now();
        slot.set(Some(cache));
        date
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ws5_known_dates() {
        assert_eq!(
            HttpDate::from_unix(0).as_str(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            HttpDate::from_unix(1_577_934_245).as_str(),
            "Thu, 02 Jan 2020 03:04:05 GMT"
        );
        assert_eq!(
            HttpDate::from_unix(951_782_400).as_str(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn matches_httpdate_over_a_sweep() {
        let mut seconds: u64 = 0;
        while seconds < 253_402_300_799 {
            let expected = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds));
            assert_eq!(HttpDate::from_unix(seconds as i64).as_str(), expected);
            seconds += 86_400 * 37 + 3_601 * 7 + 13;
        }
    }

    #[test]
    fn pre_epoch_mtime_is_formatted_not_panicking() {
        assert_eq!(
            HttpDate::from_unix(-1).as_str(),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
        assert_eq!(
            HttpDate::from_unix(-315_619_200).as_str(),
            "Fri, 01 Jan 1960 00:00:00 GMT"
        );
        let half_before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(
            HttpDate::from_system_time(half_before).as_str(),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
    }

    #[test]
    fn out_of_range_times_are_clamped() {
        assert_eq!(
            HttpDate::from_unix(i64::MAX).as_str(),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(
            HttpDate::from_unix(i64::MIN).as_str(),
            "Sat, 01 Jan 0000 00:00:00 GMT"
        );
    }

    #[test]
    fn cache_reformats_only_on_new_second() {
        let mut cache = DateCache::new();
        assert_eq!(cache.at(0).as_str(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(cache.at(1).as_str(), "Thu, 01 Jan 1970 00:00:01 GMT");
        assert_eq!(now().as_str().len(), HTTP_DATE_LEN);
        assert!(now().as_str().ends_with(" GMT"));
    }
}
