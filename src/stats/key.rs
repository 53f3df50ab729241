//! Names of the statistics: the cache keys of docs/cache.md
//! (`dashboard`, `user/42/daily/2025-06-26`, ...), parsed and printed.

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{parse_date, StatsError};
use crate::clock::LocalTime;

/// A sub-corpus: the speakers whose columns equal every given value (AND;
/// an empty value selects NULL or empty, `None` does not filter), and of
/// their recordings those made in `range`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Filter {
    /// `category=`.
    pub category: Option<String>,
    /// `diagnosis=`.
    pub diagnosis: Option<String>,
    /// `gender=`.
    pub gender: Option<String>,
    /// `from=` / `to=`: the local dates of the recordings kept.
    pub range: DateRange,
}

/// A range of local dates, both ends inclusive, either end open: what a
/// ranged statistic keeps (recordings by the day they were made, uploads
/// by the day they arrived).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    /// `from=`: the first day kept.
    pub from: Option<NaiveDate>,
    /// `to=`: the last day kept.
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Every day.
    pub const ALL: DateRange = DateRange {
        from: None,
        to: None,
    };

    /// Whether no end is given (every day).
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The given ends as parameters, `from` then `to`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        [("from", self.from), ("to", self.to)]
            .into_iter()
            .filter_map(|(name, d)| d.map(|d| (name, d.to_string())))
            .collect()
    }

    /// Sets the end `name` (`from` or `to`) from its text: `Ok(false)` for
    /// another name, a `BadParameter` naming it for a bad date. An empty
    /// text leaves the end open (what a form's empty date field sends).
    pub fn set(&mut self, name: &str, text: &str) -> Result<bool, StatsError> {
        match name {
            "from" | "to" if text.is_empty() => {}
            "from" => self.from = Some(parse_date("from", text)?),
            "to" => self.to = Some(parse_date("to", text)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Refuses a `from` after `to` (naming `from`).
    pub fn check(&self) -> Result<(), StatsError> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > to => Err(StatsError::BadParameter {
                param: "from",
                reason: format!("{from} is after to ({to})"),
            }),
            _ => Ok(()),
        }
    }

    /// The range as instants (µs): from the start of `from` to the start
    /// of the day after `to`, in the zone of `local`; an open end is
    /// `i64::MIN` or `i64::MAX`.
    pub fn bounds(&self, local: &LocalTime) -> (i64, i64) {
        (
            self.from.map_or(i64::MIN, |d| local.start_of_day(d)),
            self.to.map_or(i64::MAX, |d| {
                d.succ_opt()
                    .map_or(i64::MAX, |next| local.start_of_day(next))
            }),
        )
    }
}

/// Escaped in a filter value of a key: everything but unreserved characters.
const FILTER_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Filter {
    /// The filter's parameters sorted by name (category, diagnosis, from,
    /// gender, to): the order of its key.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params: Vec<(&'static str, String)> = [
            ("category", &self.category),
            ("diagnosis", &self.diagnosis),
            ("gender", &self.gender),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .chain(self.range.params())
        .collect();
        params.sort_by_key(|(name, _)| *name);
        params
    }

    /// Whether the filter selects speakers by a group column (if not, it
    /// keeps every speaker, orphans' recordings included).
    pub fn has_group(&self) -> bool {
        self.group().iter().any(Option::is_some)
    }

    /// Whether a speaker of this group is in the sub-corpus (every given
    /// value equal; NULL is read as empty).
    pub fn holds(&self, category: &str, diagnosis: &str, gender: &str) -> bool {
        [
            (&self.category, category),
            (&self.diagnosis, diagnosis),
            (&self.gender, gender),
        ]
        .iter()
        .all(|(wanted, value)| wanted.as_deref().is_none_or(|w| w == *value))
    }

    /// The filter as the store reads it: (category, diagnosis, gender).
    pub fn group(&self) -> [Option<&str>; 3] {
        [
            self.category.as_deref(),
            self.diagnosis.as_deref(),
            self.gender.as_deref(),
        ]
    }

    /// Whether no value is given (the whole corpus, every day).
    pub fn is_empty(&self) -> bool {
        !self.has_group() && self.range.is_all()
    }

    /// Sets the parameter `name`: `Ok(false)` for a name that is not a
    /// filter, a `BadParameter` naming it for a bad date.
    pub fn set(&mut self, name: &str, value: String) -> Result<bool, StatsError> {
        let slot = match name {
            "category" => &mut self.category,
            "diagnosis" => &mut self.diagnosis,
            "gender" => &mut self.gender,
            _ => return self.range.set(name, &value),
        };
        *slot = Some(value);
        Ok(true)
    }

    /// The query string, values percent-encoded (`category=a%20b&gender=F`).
    pub fn query(&self) -> String {
        self.params()
            .iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, FILTER_VALUE)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Whether a speaker with these columns is in the sub-corpus (NULL
    /// columns given as empty).
    pub fn matches(&self, category: &str, diagnosis: &str, gender: &str) -> bool {
        [
            (&self.category, category),
            (&self.diagnosis, diagnosis),
            (&self.gender, gender),
        ]
        .iter()
        .all(|(want, have)| want.as_deref().is_none_or(|w| w == *have))
    }
}

/// One statistic, identified as in the key table of docs/cache.md.
/// Serialized as its text form, so a key crosses the control channel as
/// the same string it has in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StatKey {
    /// Voice-corpus statistics.
    Dashboard,
    /// Upload / access locations.
    Locations,
    /// Platform-wide learning statistics.
    Learning,
    /// One user's local day.
    Daily {
        /// User id.
        user: i64,
        /// Local date.
        date: NaiveDate,
    },
    /// One user's week starting on a Monday.
    Weekly {
        /// User id.
        user: i64,
        /// The Monday.
        monday: NaiveDate,
    },
    /// One user's last 30 days.
    Analytics {
        /// User id.
        user: i64,
    },
    /// One user's course summary.
    Courses {
        /// User id.
        user: i64,
    },
    /// The dashboard over a sub-corpus of speakers (`dashboard?category=…`).
    SubCorpus(Filter),
    /// The dashboard over one speaker (`speaker/{id}`, with a range
    /// `speaker/{id}?from=…&to=…`).
    Speaker {
        /// Speaker id.
        speaker: i64,
        /// The days of the recordings kept.
        range: DateRange,
    },
    /// The locations of the uploads of a range of days
    /// (`locations?from=…&to=…`).
    LocationsIn(DateRange),
}

/// The kind of a key, the unit of TTLs and metrics.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// `dashboard`.
    Dashboard,
    /// `locations`.
    Locations,
    /// `learning`.
    Learning,
    /// `user/{id}/daily/{date}`.
    Daily,
    /// `user/{id}/weekly/{monday}`.
    Weekly,
    /// `user/{id}/analytics`.
    Analytics,
    /// `user/{id}/courses`.
    Courses,
    /// `dashboard?category=…&diagnosis=…&gender=…`.
    SubCorpus,
    /// `speaker/{id}`.
    Speaker,
}

impl KeyKind {
    /// Every kind, in display order.
    pub const ALL: [KeyKind; 9] = [
        KeyKind::Dashboard,
        KeyKind::Locations,
        KeyKind::Learning,
        KeyKind::Daily,
        KeyKind::Weekly,
        KeyKind::Analytics,
        KeyKind::Courses,
        KeyKind::SubCorpus,
        KeyKind::Speaker,
    ];

    /// Lower-case name (`dashboard`, `daily`, ...), as in metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Dashboard => "dashboard",
            KeyKind::Locations => "locations",
            KeyKind::Learning => "learning",
            KeyKind::Daily => "daily",
            KeyKind::Weekly => "weekly",
            KeyKind::Analytics => "analytics",
            KeyKind::Courses => "courses",
            KeyKind::SubCorpus => "subcorpus",
            KeyKind::Speaker => "speaker",
        }
    }

    /// The kind named `name` (as in [`KeyKind::name`]), or what is wrong
    /// with the name, for people.
    pub fn parse(name: &str) -> Result<KeyKind, String> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = KeyKind::ALL.iter().map(|k| k.name()).collect();
                format!("{name:?} is not one of {}", names.join(", "))
            })
    }

    /// Shared kinds are never evicted.
    pub fn is_shared(self) -> bool {
        matches!(
            self,
            KeyKind::Dashboard | KeyKind::Locations | KeyKind::Learning
        )
    }
}

impl StatKey {
    /// The shared keys, refreshed nightly and never evicted.
    pub const SHARED: [StatKey; 3] = [StatKey::Dashboard, StatKey::Locations, StatKey::Learning];

    /// Whether the statistic is computed from the aggregates the writes
    /// keep (`store::aggregates`): it costs milliseconds whatever the size
    /// of the data, so a write that touches it recomputes it at once.
    pub fn kept_by_writes(&self) -> bool {
        // One speaker's statistic reads that speaker's recordings only:
        // as cheap, whatever the size of the corpus.
        matches!(
            self,
            StatKey::Learning
                | StatKey::Dashboard
                | StatKey::Locations
                | StatKey::SubCorpus(_)
                | StatKey::Speaker { .. }
                | StatKey::LocationsIn(_)
        )
    }

    /// The kind of this key.
    pub fn kind(&self) -> KeyKind {
        match self {
            StatKey::Dashboard => KeyKind::Dashboard,
            StatKey::Locations | StatKey::LocationsIn(_) => KeyKind::Locations,
            StatKey::Learning => KeyKind::Learning,
            StatKey::Daily { .. } => KeyKind::Daily,
            StatKey::Weekly { .. } => KeyKind::Weekly,
            StatKey::Analytics { .. } => KeyKind::Analytics,
            StatKey::Courses { .. } => KeyKind::Courses,
            StatKey::SubCorpus(_) => KeyKind::SubCorpus,
            StatKey::Speaker { .. } => KeyKind::Speaker,
        }
    }

    /// The user of a per-user key.
    pub fn user(&self) -> Option<i64> {
        match self {
            StatKey::Daily { user, .. }
            | StatKey::Weekly { user, .. }
            | StatKey::Analytics { user }
            | StatKey::Courses { user } => Some(*user),
            _ => None,
        }
    }

    /// A weekly key; refuses a `week_start` that is not a Monday.
    pub fn weekly(user: i64, monday: NaiveDate) -> Result<StatKey, StatsError> {
        if monday.weekday() != Weekday::Mon {
            return Err(StatsError::BadParameter {
                param: "week_start",
                reason: format!("{monday} is a {:?}, not a Monday", monday.weekday()),
            });
        }
        Ok(StatKey::Weekly { user, monday })
    }

    /// The four entries of a learner's page: the day `date`, the week
    /// starting `monday` (refused unless a Monday), the last 30 days and the
    /// course summary.
    pub fn user_keys(
        user: i64,
        date: NaiveDate,
        monday: NaiveDate,
    ) -> Result<[StatKey; 4], StatsError> {
        Ok([
            StatKey::Daily { user, date },
            StatKey::weekly(user, monday)?,
            StatKey::Analytics { user },
            StatKey::Courses { user },
        ])
    }

    /// The shared key named `name` (`dashboard`, `locations`, `learning`).
    pub fn shared(name: &str) -> Option<StatKey> {
        StatKey::SHARED
            .into_iter()
            .find(|k| k.kind().name() == name)
    }

    /// The dashboard over the speakers `filter` selects: the plain
    /// `dashboard` when it selects everything.
    pub fn sub_corpus(filter: Filter) -> StatKey {
        if filter.is_empty() {
            StatKey::Dashboard
        } else {
            StatKey::SubCorpus(filter)
        }
    }

    /// The locations of the uploads of `range`: the plain `locations` for
    /// every day.
    pub fn locations_in(range: DateRange) -> StatKey {
        if range.is_all() {
            StatKey::Locations
        } else {
            StatKey::LocationsIn(range)
        }
    }

    /// Parses a key as written by `Display` (e.g. `user/42/weekly/2025-06-23`).
    pub fn parse(text: &str) -> Result<StatKey, StatsError> {
        let bad = || StatsError::BadParameter {
            param: "key",
            reason: format!(
                "{text:?} is not a statistic key (dashboard, dashboard?category=…, speaker/ID, \
                 locations, learning, user/ID/daily/DATE, user/ID/weekly/MONDAY, \
                 user/ID/analytics, user/ID/courses)"
            ),
        };
        if let Some(query) = text.strip_prefix("dashboard?") {
            return parse_filter_key(query).ok_or_else(bad);
        }
        if let Some(query) = text.strip_prefix("locations?") {
            return parse_range_key(query)
                .map(StatKey::LocationsIn)
                .ok_or_else(bad);
        }
        let (path, range) = match text.split_once('?') {
            Some((path, query)) if path.starts_with("speaker/") => {
                (path, parse_range_key(query).ok_or_else(bad)?)
            }
            _ => (text, DateRange::ALL),
        };
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["speaker", id] => match id.parse::<i64>() {
                Ok(speaker) if speaker > 0 && id.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(StatKey::Speaker { speaker, range })
                }
                _ => Err(bad()),
            },
            ["dashboard"] => Ok(StatKey::Dashboard),
            ["locations"] => Ok(StatKey::Locations),
            ["learning"] => Ok(StatKey::Learning),
            ["user", id, rest @ ..] => {
                let user: i64 = id.parse().map_err(|_| bad())?;
                match rest {
                    ["daily", date] => Ok(StatKey::Daily {
                        user,
                        date: parse_date("date", date)?,
                    }),
                    ["weekly", date] => StatKey::weekly(user, parse_date("week_start", date)?),
                    ["analytics"] => Ok(StatKey::Analytics { user }),
                    ["courses"] => Ok(StatKey::Courses { user }),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for StatKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatKey::Dashboard => write!(f, "dashboard"),
            StatKey::Locations => write!(f, "locations"),
            StatKey::Learning => write!(f, "learning"),
            StatKey::Daily { user, date } => write!(f, "user/{user}/daily/{date}"),
            StatKey::Weekly { user, monday } => write!(f, "user/{user}/weekly/{monday}"),
            StatKey::Analytics { user } => write!(f, "user/{user}/analytics"),
            StatKey::Courses { user } => write!(f, "user/{user}/courses"),
            StatKey::SubCorpus(filter) => write!(f, "dashboard?{}", filter.query()),
            StatKey::Speaker { speaker, range } if range.is_all() => {
                write!(f, "speaker/{speaker}")
            }
            StatKey::Speaker { speaker, range } => {
                write!(f, "speaker/{speaker}?{}", range_query(range))
            }
            StatKey::LocationsIn(range) => write!(f, "locations?{}", range_query(range)),
        }
    }
}

/// The query of a range in a key (`from=…&to=…`).
fn range_query(range: &DateRange) -> String {
    Filter {
        range: *range,
        ..Filter::default()
    }
    .query()
}

/// The filter of a `dashboard?…` key: only the known parameters, each once,
/// sorted by name, values percent-encoded as [`Filter::query`] writes them,
/// a range in order, so that one sub-corpus has exactly one key.
fn parse_filter_key(query: &str) -> Option<StatKey> {
    let mut filter = Filter::default();
    for pair in query.split('&') {
        let (name, raw) = pair.split_once('=')?;
        let value = percent_decode_str(raw).decode_utf8().ok()?.into_owned();
        let before = filter.params().len();
        if !filter.set(name, value).ok()? || filter.params().len() == before {
            return None;
        }
    }
    filter.range.check().ok()?;
    (!filter.is_empty() && filter.query() == query).then_some(StatKey::SubCorpus(filter))
}

/// The range of a `speaker/{id}?…` or `locations?…` key: `from` and / or
/// `to` only, in that order, `from` not after `to`.
fn parse_range_key(query: &str) -> Option<DateRange> {
    match parse_filter_key(query)? {
        StatKey::SubCorpus(filter) if !filter.has_group() => Some(filter.range),
        _ => None,
    }
}

/// A write that changes what statistics say. [`Change::invalidation`] is
/// the invalidation table: which entries a write drops and which it marks
/// stale. Writes voxdash does not see (an import, plain SQL, another
/// process) reach readers through the write counters instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A study session of `user` was created, finished or deleted.
    Session {
        /// Its owner.
        user: i64,
    },
    /// Course progress of `user` was created or updated.
    Progress {
        /// Its owner.
        user: i64,
    },
    /// A recording (and maybe its upload) of `speaker` was registered.
    Recording {
        /// Its speaker.
        speaker: i64,
    },
    /// Cleanup changed sessions and progress of any user.
    Cleanup,
}

/// What a [`Change`] does to the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// Entries whose key starts with one of these are dropped.
    pub drop_prefixes: Vec<String>,
    /// These entries are kept but marked stale (served while recomputed).
    pub mark_stale: Vec<StatKey>,
}

impl Change {
    /// The entries this change makes wrong.
    pub fn invalidation(self) -> Invalidation {
        let (drop_prefixes, mark_stale) = match self {
            Change::Session { user } => (
                ["daily/", "weekly/", "analytics"]
                    .map(|kind| format!("user/{user}/{kind}"))
                    .to_vec(),
                vec![StatKey::Learning],
            ),
            Change::Progress { user } => (vec![format!("user/{user}/courses")], vec![]),
            // The sub-corpus entries `speaker` is in see the write through the
            // group counters (`changes_since`); no list of them is needed here.
            Change::Recording { speaker } => (
                vec![],
                vec![
                    StatKey::Dashboard,
                    StatKey::Locations,
                    StatKey::Speaker {
                        speaker,
                        range: DateRange::ALL,
                    },
                ],
            ),
            Change::Cleanup => (vec!["user/".to_string()], vec![StatKey::Learning]),
        };
        Invalidation {
            drop_prefixes,
            mark_stale,
        }
    }
}

impl TryFrom<String> for StatKey {
    type Error = StatsError;

    fn try_from(text: String) -> Result<StatKey, StatsError> {
        StatKey::parse(&text)
    }
}

impl From<StatKey> for String {
    fn from(key: StatKey) -> String {
        key.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for text in [
            "dashboard",
            "locations",
            "learning",
            "user/42/daily/2025-06-26",
            "user/42/weekly/2025-06-23",
            "user/42/analytics",
            "user/7/courses",
            "speaker/12",
            "dashboard?category=",
            "dashboard?category=vocal%20polyp&gender=F",
            "dashboard?category=%EC%84%B1%EC%9D%B8&diagnosis=x&gender=M",
            "dashboard?from=2025-03-01",
            "dashboard?category=a&from=2025-03-01&gender=F&to=2025-03-31",
            "speaker/12?to=2025-03-31",
            "locations?from=2025-03-01&to=2025-03-01",
        ] {
            assert_eq!(StatKey::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn a_session_write_touches_only_its_user() {
        let inv = Change::Session { user: 1 }.invalidation();
        let dropped = |key: &str| {
            inv.drop_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
        };
        assert!(dropped("user/1/daily/2025-06-26"));
        assert!(dropped("user/1/analytics"));
        assert!(!dropped("user/1/courses"));
        assert!(!dropped("user/10/daily/2025-06-26"));
        assert_eq!(inv.mark_stale, vec![StatKey::Learning]);
    }

    #[test]
    fn a_sub_corpus_has_one_key() {
        for text in [
            "dashboard?",
            "dashboard?gender=F&category=a",
            "dashboard?category=a&category=b",
            "dashboard?colour=red",
            "dashboard?category=a b",
            "speaker/0",
            "speaker/+3",
            "dashboard?to=2025-03-01&from=2025-02-01",
            "dashboard?from=2025-03-02&to=2025-03-01",
            "dashboard?from=2025-3-1",
            "speaker/3?category=a",
            "speaker/3?",
            "locations?",
            "locations?gender=F",
        ] {
            assert!(StatKey::parse(text).is_err(), "{text}");
        }
        let f = Filter {
            category: Some(String::new()),
            ..Default::default()
        };
        assert!(f.matches("", "x", "F"));
        assert!(!f.matches("adult", "x", "F"));
    }

    #[test]
    fn weekly_refuses_a_tuesday() {
        let err = StatKey::parse("user/1/weekly/2025-06-24").unwrap_err();
        assert!(err.to_string().starts_with("week_start:"), "{err}");
    }
}
