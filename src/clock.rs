//! The clock and the time zone: the only place that reads "now" and the
//! only place that turns instants into local days, weeks, months and hours.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Where "now" comes from. Everything that depends on the current time takes
/// a `Clock`, so tests (and `VOXDASH_NOW`) make TTLs, badges and windows exact.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// A pinned instant (from `VOXDASH_NOW`).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// Microseconds since the Unix epoch, the unit the store keeps instants in.
    pub fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }

    /// Builds a clock from the value of `VOXDASH_NOW` (RFC 3339), or the
    /// system clock when it is absent or empty.
    pub fn from_env_value(value: Option<&str>) -> Result<Clock, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(Clock::System),
            Some(v) => parse_instant(v)
                .map(|t| Clock::Fixed(Utc.timestamp_micros(t).single().unwrap_or_default()))
                .ok_or_else(|| format!("VOXDASH_NOW: {v:?} is not an RFC 3339 instant")),
        }
    }
}

/// Parses an RFC 3339 timestamp with an offset (lowercase `t`/`z` allowed)
/// into microseconds since the epoch; `None` for anything else, including a
/// date-only value or one without an offset.
pub fn parse_instant(text: &str) -> Option<i64> {
    // chrono's RFC 3339 parser accepts a space instead of `T`; the format does not.
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !(bytes[10] == b'T' || bytes[10] == b't') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

/// Formats an instant (µs since the epoch) as RFC 3339 in UTC, seconds precision
/// unless there is a fraction.
pub fn format_utc(micros: i64) -> String {
    let t = Utc.timestamp_micros(micros).single().unwrap_or_default();
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Local calendar arithmetic in the configured IANA zone.
#[derive(Debug, Clone, Copy)]
pub struct LocalTime {
    /// The configured zone.
    pub tz: Tz,
}

impl LocalTime {
    /// Wraps a zone.
    pub fn new(tz: Tz) -> Self {
        LocalTime { tz }
    }

    fn local(&self, micros: i64) -> DateTime<Tz> {
        Utc.timestamp_micros(micros)
            .single()
            .unwrap_or_default()
            .with_timezone(&self.tz)
    }

    /// The local date of an instant.
    pub fn date(&self, micros: i64) -> NaiveDate {
        self.local(micros).date_naive()
    }

    /// The local hour (0..=23) of an instant.
    pub fn hour(&self, micros: i64) -> u32 {
        self.local(micros).hour()
    }

    /// The local month of an instant as `(year, month)`.
    pub fn month(&self, micros: i64) -> (i32, u32) {
        let d = self.local(micros);
        (d.year(), d.month())
    }

    /// The first instant (µs) of a local date. On a day that starts inside a
    /// daylight-saving gap, this is the first instant that exists that day.
    pub fn start_of_day(&self, date: NaiveDate) -> i64 {
        let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        match self.tz.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) => t.timestamp_micros(),
            chrono::LocalResult::Ambiguous(a, _) => a.timestamp_micros(),
            chrono::LocalResult::None => {
                // Walk forward minute by minute to the end of the gap (gaps are < 1 day).
                let mut probe = midnight;
                loop {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                        return t.timestamp_micros();
                    }
                }
            }
        }
    }

    /// The half-open instant range `[start, end)` of a local date.
    pub fn day_range(&self, date: NaiveDate) -> (i64, i64) {
        // The last date chrono knows has no next day: its range runs to the
        // end of time rather than panicking (callers bound dates anyway).
        let end = date
            .succ_opt()
            .map_or(i64::MAX, |next| self.start_of_day(next));
        (self.start_of_day(date), end)
    }

    /// The Monday of the week that contains `date`.
    pub fn monday_of(date: NaiveDate) -> NaiveDate {
        date - Duration::days(date.weekday().num_days_from_monday() as i64)
    }
}

/// Microseconds in `n` days of 86,400 s, the spec's meaning of "N days".
pub const fn days_micros(n: i64) -> i64 {
    n * 86_400 * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_lowercase() {
        let a = parse_instant("2025-11-27T13:38:19+09:00").unwrap();
        let b = parse_instant("2025-11-27t04:38:19z").unwrap();
        assert_eq!(a, b);
        assert!(parse_instant("2025-11-27").is_none());
        assert!(parse_instant("2025-11-27T13:38:19").is_none());
        assert!(parse_instant("2025-11-27 13:38:19Z").is_none());
        assert_eq!(
            parse_instant("2025-11-27T04:38:19.5Z").unwrap() - b,
            500_000
        );
    }

    #[test]
    fn day_range_spans_dst_change() {
        let lt = LocalTime::new("America/New_York".parse().unwrap());
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let (s, e) = lt.day_range(d);
        assert_eq!(e - s, days_micros(1) - 3_600_000_000);
    }
}
