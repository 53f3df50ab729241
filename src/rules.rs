//! Bounds on values where they enter voxdash: the CSV import and the write
//! API check the same rules here, so a value one door refuses the other
//! refuses too. These are *sanity* bounds (a value outside them is refused
//! and nothing is written); the *business* rules that legacy data may break
//! (a negative duration, a rating of 7) are loaded and left to `cleanup`.
//! The limits are documented in `docs/import-format.md`.

use chrono::NaiveDate;

/// A value outside its bounds: the field (or column) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Violation {
    /// The field or column name.
    pub field: &'static str,
    /// What is wrong, for the person who sent it.
    pub reason: String,
}

fn violation(field: &'static str, reason: impl Into<String>) -> Violation {
    Violation {
        field,
        reason: reason.into(),
    }
}

/// First instant accepted: 1970-01-01T00:00:00Z (µs since the epoch).
pub const MIN_INSTANT: i64 = 0;
/// First instant refused: 2100-01-01T00:00:00Z (µs since the epoch).
pub const END_INSTANT: i64 = 4_102_444_800_000_000;
/// Longest study session, in minutes (one week); legacy negative values
/// down to minus this still load.
pub const MAX_SESSION_MINUTES: i64 = 7 * 24 * 60;
/// Longest recording, in seconds (one week).
pub const MAX_RECORDING_SECONDS: f64 = 7.0 * 86_400.0;
/// Largest number of hours a course-progress row may hold.
pub const MAX_HOURS: f64 = 1_000_000.0;
/// Signal-to-noise ratios outside this range are measurement errors.
pub const SNR_RANGE: (f64, f64) = (-100.0, 200.0);
/// Birth years accepted.
pub const BIRTH_YEARS: (i64, i64) = (1900, 2100);
/// Sample rates accepted, in Hz.
pub const SAMPLE_RATES: (i64, i64) = (1, 10_000_000);
/// Longest text value (a name, a region, a file name), in bytes.
pub const MAX_TEXT: usize = 1024;

/// An id or a reference to one: at least 1.
pub fn id(field: &'static str, value: i64) -> Result<i64, Violation> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(violation(
            field,
            format!("{value} is not an id (ids are 1 or more)"),
        ))
    }
}

/// An instant (µs since the epoch) between 1970 and 2100.
pub fn instant(field: &'static str, micros: i64) -> Result<i64, Violation> {
    if (MIN_INSTANT..END_INSTANT).contains(&micros) {
        Ok(micros)
    } else {
        Err(violation(
            field,
            "must be between 1970-01-01 and 2100-01-01 (UTC)",
        ))
    }
}

/// A calendar date between 1970-01-01 and 2099-12-31.
pub fn date(field: &'static str, date: NaiveDate) -> Result<NaiveDate, Violation> {
    let first = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let last = NaiveDate::from_ymd_opt(2099, 12, 31).expect("valid date");
    if (first..=last).contains(&date) {
        Ok(date)
    } else {
        Err(violation(
            field,
            format!("{date} is outside 1970-01-01..2099-12-31"),
        ))
    }
}

/// A session duration in minutes, at most a week either way.
pub fn session_minutes(field: &'static str, minutes: i64) -> Result<i64, Violation> {
    if (-MAX_SESSION_MINUTES..=MAX_SESSION_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(violation(
            field,
            format!("{minutes} minutes is more than a week ({MAX_SESSION_MINUTES})"),
        ))
    }
}

fn finite_in(field: &'static str, value: f64, lo: f64, hi: f64) -> Result<f64, Violation> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(violation(field, format!("must be between {lo} and {hi}")))
    }
}

/// A recording's duration in seconds: finite, at most a week. Negative
/// values are out of range too: no legacy rule allows them.
pub fn recording_seconds(field: &'static str, seconds: f64) -> Result<f64, Violation> {
    finite_in(field, seconds, 0.0, MAX_RECORDING_SECONDS)
}

/// A latitude in degrees, −90..=90.
pub fn latitude(field: &'static str, value: f64) -> Result<f64, Violation> {
    finite_in(field, value, -90.0, 90.0)
}

/// A longitude in degrees, −180..=180.
pub fn longitude(field: &'static str, value: f64) -> Result<f64, Violation> {
    finite_in(field, value, -180.0, 180.0)
}

/// A signal-to-noise ratio in dB.
pub fn snr_db(field: &'static str, value: f64) -> Result<f64, Violation> {
    finite_in(field, value, SNR_RANGE.0, SNR_RANGE.1)
}

/// A focus score: any finite number fits (0..=100 is the business rule,
/// checked by the write API and flagged by cleanup), within ±1e6.
pub fn focus_score(field: &'static str, value: f64) -> Result<f64, Violation> {
    finite_in(field, value, -1e6, 1e6)
}

/// Hours of learning, or a proficiency level: finite, 0..=1e6.
pub fn hours(field: &'static str, value: f64) -> Result<f64, Violation> {
    finite_in(field, value, 0.0, MAX_HOURS)
}

/// An effectiveness rating: 1..=5 is the business rule; anything within
/// ±1000 still loads from legacy data.
pub fn rating(field: &'static str, value: i64) -> Result<i64, Violation> {
    if (-1000..=1000).contains(&value) {
        Ok(value)
    } else {
        Err(violation(field, format!("{value} is far outside 1..=5")))
    }
}

/// A birth year, 1900..=2100.
pub fn birth_year(field: &'static str, value: i64) -> Result<i64, Violation> {
    if (BIRTH_YEARS.0..=BIRTH_YEARS.1).contains(&value) {
        Ok(value)
    } else {
        Err(violation(field, "must be between 1900 and 2100"))
    }
}

/// A sample rate in Hz.
pub fn sample_rate(field: &'static str, value: i64) -> Result<i64, Violation> {
    if (SAMPLE_RATES.0..=SAMPLE_RATES.1).contains(&value) {
        Ok(value)
    } else {
        Err(violation(field, "must be between 1 and 10000000 Hz"))
    }
}

/// A text value of at most [`MAX_TEXT`] bytes with no control characters.
pub fn text(field: &'static str, value: &str) -> Result<(), Violation> {
    if value.len() > MAX_TEXT {
        return Err(violation(field, format!("longer than {MAX_TEXT} bytes")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(violation(field, "contains control characters"));
    }
    Ok(())
}

/// A business rule on one column: a value outside `min..=max` breaks it.
/// Legacy data may break it (the import loads such rows and counts them,
/// `cleanup` removes the sessions); the write API refuses it. Each rule is
/// declared here once, and the write API ([`Rule::check`]), the import
/// ([`Rule::holds`], by column name) and cleanup's SQL ([`Rule::broken_sql`])
/// all derive from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Its name in reports (`rating_out_of_range`).
    pub name: &'static str,
    /// The table of the column.
    pub table: &'static str,
    /// The column, and the field of the write API.
    pub column: &'static str,
    /// Smallest value that keeps the rule, if any.
    pub min: Option<f64>,
    /// Largest value that keeps the rule, if any.
    pub max: Option<f64>,
    /// What the write API says of a value that breaks it.
    pub message: &'static str,
}

/// A session's effectiveness rating: 1 to 5.
pub const RATING: Rule = Rule {
    name: "rating_out_of_range",
    table: "study_sessions",
    column: "effectiveness_rating",
    min: Some(1.0),
    max: Some(5.0),
    message: "must be between 1 and 5",
};

/// A session's focus score: 0 to 100.
pub const FOCUS: Rule = Rule {
    name: "focus_out_of_range",
    table: "study_sessions",
    column: "focus_score",
    min: Some(0.0),
    max: Some(100.0),
    message: "must be between 0 and 100",
};

/// A session's duration: not negative.
pub const DURATION: Rule = Rule {
    name: "negative_duration",
    table: "study_sessions",
    column: "duration_minutes",
    min: Some(0.0),
    max: None,
    message: "must be >= 0",
};

/// A course's proficiency level: 0 to 5.
pub const PROFICIENCY: Rule = Rule {
    name: "proficiency_out_of_range",
    table: "course_progress",
    column: "proficiency_level",
    min: Some(0.0),
    max: Some(5.0),
    message: "must be between 0 and 5",
};

/// Every rule on one column.
pub const RULES: [Rule; 4] = [DURATION, RATING, FOCUS, PROFICIENCY];

impl Rule {
    /// Whether `value` keeps the rule.
    pub fn holds(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }

    /// `value` as the write API takes it, or what is wrong, naming the field.
    pub fn check(&self, value: f64) -> Result<(), Violation> {
        if self.holds(value) {
            Ok(())
        } else {
            Err(violation(self.column, self.message))
        }
    }

    /// The SQL condition of a row that breaks the rule (NULL breaks none).
    pub fn broken_sql(&self) -> String {
        let c = self.column;
        let outside: Vec<String> = [
            self.min.map(|min| format!("{c} < {min}")),
            self.max.map(|max| format!("{c} > {max}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!("{c} IS NOT NULL AND ({})", outside.join(" OR "))
    }
}

/// Longest username, in characters.
pub const MAX_USERNAME: usize = 64;

/// A username: 1 to [`MAX_USERNAME`] letters, digits or `. _ - @ +`, in
/// Unicode normal form NFKC, with no space, control or invisible character
/// and no Latin letter next to a Cyrillic or Greek one (a Cyrillic `а` in
/// an otherwise Latin name is there to look like someone else). Names are
/// compared by [`username_key`].
pub fn username(field: &'static str, value: &str) -> Result<(), Violation> {
    use unicode_normalization::UnicodeNormalization;
    let length = value.chars().count();
    if length == 0 {
        return Err(violation(field, "must not be empty"));
    }
    if length > MAX_USERNAME {
        return Err(violation(
            field,
            format!("longer than {MAX_USERNAME} characters"),
        ));
    }
    if let Some(c) = value.chars().find(|c| !username_char(*c)) {
        return Err(violation(
            field,
            format!(
                "{:?} (U+{:04X}) is not allowed: use letters, digits and . _ - @ +",
                c, c as u32
            ),
        ));
    }
    if value.nfkc().ne(value.chars()) {
        return Err(violation(
            field,
            format!(
                "not in Unicode normal form NFKC (write {:?})",
                value.nfkc().collect::<String>()
            ),
        ));
    }
    let latin = value.chars().any(|c| script(c) == Script::Latin);
    let lookalike = value
        .chars()
        .any(|c| matches!(script(c), Script::Cyrillic | Script::Greek));
    if latin && lookalike {
        return Err(violation(
            field,
            "mixes Latin letters with Cyrillic or Greek ones, which look alike",
        ));
    }
    Ok(())
}

/// What two usernames are compared by: NFKC, then lower case. `Staff1` and
/// `staff1` have one key, so only one of them can exist.
pub fn username_key(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value.nfkc().collect::<String>().to_lowercase()
}

/// A name as typed, in the form [`username`] accepts when it can be (the
/// NFKC form: full-width letters become plain ones).
pub fn normalize_username(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value.nfkc().collect()
}

fn username_char(c: char) -> bool {
    // Hangul fillers and the blank braille pattern are letters to Unicode
    // and show as nothing.
    const INVISIBLE_LETTERS: [char; 5] =
        ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];
    (c.is_alphanumeric() && !INVISIBLE_LETTERS.contains(&c)) || ".-_@+".contains(c)
}

#[derive(PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Other,
}

fn script(c: char) -> Script {
    match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
        0x400..=0x52F | 0x1C80..=0x1C8F | 0xA640..=0xA69F => Script::Cyrillic,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        _ => Script::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_refuse_lookalikes_and_invisible_characters() {
        for good in [
            "staff1",
            "user00002",
            "김민수",
            "李明",
            "иван",
            "a.b-c_d@e+f",
        ] {
            assert!(username("username", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " staff1",
            "staff1 ",
            "st aff",
            "st\u{200B}aff",
            "st\u{7}aff",
            "\u{3164}",
            "stаff1",     // a Cyrillic а
            "ｓｔａｆｆ", // full-width: not NFKC
            &"x".repeat(MAX_USERNAME + 1),
        ] {
            assert!(username("username", bad).is_err(), "{bad:?}");
        }
        assert_eq!(username_key("Staff1"), username_key("staff1"));
        assert_eq!(username_key("ｓｔａｆｆ"), "staff");
        assert_eq!(normalize_username("ｓｔａｆｆ"), "staff");
    }

    #[test]
    fn bounds_take_their_edges_and_refuse_past_them() {
        assert!(instant("t", 0).is_ok());
        assert!(instant("t", -1).is_err());
        assert!(instant("t", END_INSTANT - 1).is_ok());
        assert!(instant("t", END_INSTANT).is_err());
        assert!(session_minutes("d", MAX_SESSION_MINUTES).is_ok());
        assert!(session_minutes("d", -MAX_SESSION_MINUTES).is_ok());
        assert!(session_minutes("d", i64::MAX).is_err());
        assert!(latitude("lat", 90.0).is_ok());
        assert!(latitude("lat", 1e6).is_err());
        assert!(latitude("lat", f64::NAN).is_err());
        assert!(longitude("lon", -180.0).is_ok());
        assert!(longitude("lon", 180.5).is_err());
        assert!(id("id", 1).is_ok());
        assert_eq!(id("id", 0).unwrap_err().field, "id");
        assert!(recording_seconds("duration_s", f64::INFINITY).is_err());
        let d = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        assert!(date("date", d).is_err());
    }
}
