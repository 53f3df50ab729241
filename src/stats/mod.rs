//! Statistics of `docs/statistics.md`: typed results and pure computations over one
//! SQLite read transaction, so all numbers of one statistic come from one
//! consistent snapshot. Nothing here caches; `cache` does.

pub(crate) mod corpus;
pub mod key;
pub(crate) mod learning;
pub(crate) mod locations;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::i18n::{self, Lang};
use crate::store::{DataView, StoreError};

pub use corpus::Dashboard;
pub use key::StatKey;
pub use learning::{Analytics, Courses, Daily, Learning, Weekly};
pub use locations::Locations;

/// Why a statistic could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The user id is unknown (404).
    #[error("user {0} not found")]
    UnknownUser(i64),
    /// The speaker id is unknown (404).
    #[error("speaker {0} not found")]
    UnknownSpeaker(i64),
    /// A parameter is malformed (400), naming the parameter.
    #[error("{param}: {reason}")]
    BadParameter {
        /// The parameter name (`date`, `week_start`, `key`, ...).
        param: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The aggregates the writes keep disagree with themselves (a bug, or
    /// a database edited by hand): `voxdash check --repair` rebuilds them.
    #[error("the statistics' aggregates are inconsistent ({0}); run voxdash check --repair")]
    Aggregates(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result alias of the statistics.
pub type Result<T, E = StatsError> = std::result::Result<T, E>;

/// Any computed statistic, as stored in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Statistic {
    /// `dashboard`.
    Dashboard(Dashboard),
    /// `locations`.
    Locations(Locations),
    /// `learning`.
    Learning(Learning),
    /// `user/{id}/daily/{date}`.
    Daily(Daily),
    /// `user/{id}/weekly/{monday}`.
    Weekly(Weekly),
    /// `user/{id}/analytics`.
    Analytics(Analytics),
    /// `user/{id}/courses`.
    Courses(Courses),
}

impl Statistic {
    /// The `data` part of the JSON envelope; recommendation texts are in `lang`.
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        let value = match self {
            Statistic::Dashboard(s) => serde_json::to_value(s),
            Statistic::Locations(s) => serde_json::to_value(s),
            Statistic::Learning(s) => serde_json::to_value(s),
            Statistic::Daily(s) => serde_json::to_value(s),
            Statistic::Weekly(s) => serde_json::to_value(s),
            Statistic::Courses(s) => serde_json::to_value(s),
            Statistic::Analytics(s) => {
                let mut v = serde_json::to_value(s).expect("analytics serializes");
                if let Some(list) = v.get_mut("recommendations").and_then(|r| r.as_array_mut()) {
                    for item in list {
                        let code = item["code"].as_str().unwrap_or_default().to_string();
                        item["text"] = serde_json::Value::String(i18n::recommendation(lang, &code));
                    }
                }
                Ok(v)
            }
        };
        value.expect("statistics always serialize to JSON")
    }
}

/// A computed statistic with the data revision it was computed from.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The statistic.
    pub statistic: Statistic,
    /// Write count of the tables it reads, at the snapshot it was computed on.
    pub revision: u64,
}

/// The write count of the tables (or of the user's rows) that `key` reads.
pub fn revision(view: &DataView, key: &StatKey) -> Result<u64> {
    Ok(match key {
        StatKey::Dashboard => view.tables_revision(&["speakers", "recordings"])?,
        StatKey::Locations | StatKey::LocationsIn(_) => {
            view.tables_revision(&["uploads", "recordings", "ip_regions"])?
        }
        StatKey::Learning => view.tables_revision(&["study_sessions"])?,
        StatKey::Daily { user, .. }
        | StatKey::Weekly { user, .. }
        | StatKey::Analytics { user } => view.user_revision(*user)?.0,
        StatKey::Courses { user } => {
            view.user_revision(*user)?.1 + view.tables_revision(&["courses"])?
        }
        StatKey::SubCorpus(f) if !f.has_group() => {
            view.tables_revision(&["speakers", "recordings"])?
        }
        StatKey::SubCorpus(f) => view.group_revision(f.group())?,
        StatKey::Speaker { speaker, .. } => view.speaker_revision(*speaker)?,
    })
}

/// Every statistic computed from the aggregates the writes keep, compared
/// with its computation from the rows (the reference): one line per
/// statistic that differs, with both values; empty when all agree. The
/// corpus is compared whole, per value of each group column, and per
/// group of speakers. Sums of reals agree to 1e-9 relative: the
/// aggregates add the same values in another order.
pub fn aggregate_differences(view: &DataView, config: &Config) -> Result<Vec<String>> {
    let now = config.clock.now_micros();
    let mut out = Vec::new();
    let zone = view.aggregates_zone()?;
    if zone.as_deref() != Some(config.local.tz.name()) {
        out.push(format!(
            "the aggregates were built for the time zone {}, not {}",
            zone.as_deref().unwrap_or("(none)"),
            config.local.tz.name()
        ));
    }
    let mut compare = |name: String, kept: serde_json::Value, reference: serde_json::Value| {
        if !nearly_equal(&kept, &reference) {
            out.push(format!(
                "{name}: {kept} from the aggregates, {reference} from the rows"
            ));
        }
    };
    compare(
        "learning".into(),
        json(&learning::platform(view, &config.local, now)?),
        json(&learning::platform_from_sessions(view, &config.local, now)?),
    );
    compare(
        "locations".into(),
        json(&locations::locations(view)?),
        json(&locations::locations_from_rows(view)?),
    );
    // The corpus from the aggregates, and from the rows.
    let both = |selection, range: &key::DateRange| -> Result<_> {
        Ok((
            json(&corpus::dashboard_of(
                view,
                &config.local,
                now,
                selection,
                range,
            )?),
            json(&corpus::dashboard_from_rows(
                view,
                &config.local,
                now,
                selection,
                range,
            )?),
        ))
    };
    let filters = filters_to_check(view)?;
    for filter in &filters {
        let (selection, name) = match filter {
            None => (corpus::Selection::All, "dashboard".to_string()),
            Some(f) => (
                corpus::Selection::Group(f),
                StatKey::SubCorpus(f.clone()).to_string(),
            ),
        };
        let (kept, reference) = both(selection, &key::DateRange::ALL)?;
        compare(name, kept, reference);
    }
    for range in ranges_to_check(view)? {
        let filter = key::Filter {
            range,
            ..key::Filter::default()
        };
        let (kept, reference) = both(corpus::Selection::All, &range)?;
        compare(StatKey::SubCorpus(filter).to_string(), kept, reference);
    }
    Ok(out)
}

/// The sub-corpora the aggregates are checked over: the whole corpus,
/// then per value of each group column and per group of speakers.
fn filters_to_check(view: &DataView) -> Result<Vec<Option<key::Filter>>> {
    let mut filters = vec![None];
    let groups = view.speaker_groups(crate::store::view::Speakers::All)?;
    for g in &groups {
        let one = |c: Option<&str>, d: Option<&str>, s: Option<&str>| key::Filter {
            category: c.map(str::to_string),
            diagnosis: d.map(str::to_string),
            gender: s.map(str::to_string),
            ..key::Filter::default()
        };
        for f in [
            one(Some(&g.category), None, None),
            one(None, Some(&g.diagnosis), None),
            one(None, None, Some(&g.gender)),
            one(Some(&g.category), Some(&g.diagnosis), Some(&g.gender)),
        ] {
            if !filters.contains(&Some(f.clone())) {
                filters.push(Some(f));
            }
        }
    }
    Ok(filters)
}

/// Ranges of days the ranged dashboard is checked over, from the months
/// with recordings: whole months with edge days on both sides, one whole
/// month, several whole months, one day, open on either side (with and
/// without edge days), part of one month, and parts of two months.
fn ranges_to_check(view: &DataView) -> Result<Vec<key::DateRange>> {
    let mut months = std::collections::BTreeSet::new();
    view.recording_cells(
        crate::store::view::Speakers::All,
        crate::store::view::Periods::Months(i64::MIN, i64::MAX),
        |cell| {
            months.insert(cell.month);
        },
    )?;
    let day = |month: i64, day: u32| {
        NaiveDate::from_ymd_opt((month / 100) as i32, (month % 100) as u32, day)
    };
    let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
        return Ok(Vec::new());
    };
    let middle = *months.iter().nth(months.len() / 2).unwrap_or(&first);
    let end_of = |month: i64| {
        day(month, 1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .and_then(|d| d.pred_opt())
    };
    let second = *months.iter().nth(1).unwrap_or(&first);
    let last_but_one = *months.iter().rev().nth(1).unwrap_or(&last);
    let after_middle = *months.range(middle + 1..).next().unwrap_or(&middle);
    let range = |from, to| key::DateRange { from, to };
    Ok(vec![
        range(day(first, 10), day(last, 20)),
        range(day(middle, 1), end_of(middle)),
        // Whole months, read from the speakers per previous month.
        range(day(second, 1), end_of(last_but_one)),
        range(None, end_of(middle)),
        range(day(middle, 15), day(middle, 15)),
        range(None, day(middle, 15)),
        range(day(middle, 15), None),
        // Edge days alone: inside one month, and in two months that follow.
        range(day(middle, 5), day(middle, 20)),
        range(day(middle, 10), day(after_middle, 20)),
    ])
}

/// A statistic as JSON, for comparing and showing it.
fn json<T: Serialize>(statistic: &T) -> serde_json::Value {
    serde_json::to_value(statistic).unwrap_or_default()
}

/// Whether two JSON values are equal, numbers to 1e-9 relative.
fn nearly_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| nearly_equal(x, y))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| nearly_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Computes `key` over `view`: with a snapshot (`Store::snapshot`), the
/// revision and every number come from the same data. Fails with
/// `UnknownUser` for an unknown user id.
pub fn compute(view: &DataView, config: &Config, key: &StatKey) -> Result<Computed> {
    let rev = revision(view, key)?;
    if let Some(user) = key.user() {
        if !view.user_is_known(user)? {
            return Err(StatsError::UnknownUser(user));
        }
    }
    if let StatKey::Speaker { speaker, .. } = key {
        if !view.speaker_exists(*speaker)? {
            return Err(StatsError::UnknownSpeaker(*speaker));
        }
    }
    let now = config.clock.now_micros();
    let local = &config.local;
    let statistic = match key {
        StatKey::Dashboard => Statistic::Dashboard(corpus::dashboard(view, local, now)?),
        StatKey::Locations => Statistic::Locations(locations::locations(view)?),
        StatKey::Learning => Statistic::Learning(learning::platform(view, local, now)?),
        StatKey::Daily { user, date } => {
            Statistic::Daily(learning::daily(view, local, *user, *date)?)
        }
        StatKey::Weekly { user, monday } => {
            Statistic::Weekly(learning::weekly(view, local, *user, *monday)?)
        }
        StatKey::Analytics { user } => {
            Statistic::Analytics(learning::analytics(view, local, *user, now)?)
        }
        StatKey::Courses { user } => Statistic::Courses(learning::courses(view, *user)?),
        StatKey::SubCorpus(filter) => {
            // A range alone keeps every speaker, as the whole dashboard does.
            let selection = match filter.has_group() {
                true => corpus::Selection::Group(filter),
                false => corpus::Selection::All,
            };
            Statistic::Dashboard(corpus::dashboard_of(
                view,
                local,
                now,
                selection,
                &filter.range,
            )?)
        }
        StatKey::Speaker { speaker, range } => Statistic::Dashboard(corpus::dashboard_of(
            view,
            local,
            now,
            corpus::Selection::Speaker(*speaker),
            range,
        )?),
        StatKey::LocationsIn(range) => {
            Statistic::Locations(locations::locations_in(view, range.bounds(local))?)
        }
    };
    Ok(Computed {
        statistic,
        revision: rev,
    })
}

/// Parses a `YYYY-MM-DD` parameter, naming it in the error.
pub fn parse_date(param: &'static str, text: &str) -> Result<NaiveDate> {
    // Written in full (`2025-03-01`, not `2025-3-1`): one day, one
    // spelling, one cache key.
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == text)
        .ok_or_else(|| StatsError::BadParameter {
            param,
            reason: format!("{text:?} is not a date (YYYY-MM-DD)"),
        })?;
    // Dates beyond the calendar the store can hold would overflow the
    // local-day arithmetic; they are a 400 like any malformed date.
    crate::rules::date(param, date).map_err(|v| StatsError::BadParameter {
        param,
        reason: v.reason,
    })
}

/// Sum of session minutes. Values the bounds refuse cannot enter through
/// voxdash, but a database written by an older version may hold them; a
/// sum past `i64` then stops at the limit with a warning in the log instead
/// of wrapping around.
pub(crate) fn sum_minutes(values: impl Iterator<Item = i64>) -> i64 {
    let mut total: i64 = 0;
    for v in values {
        total = match total.checked_add(v) {
            Some(t) => t,
            None => {
                log::warn!(
                    "a sum of session minutes overflows; `voxdash cleanup` flags the sessions with out-of-range durations"
                );
                if v > 0 {
                    i64::MAX
                } else {
                    i64::MIN
                }
            }
        };
    }
    total
}

/// Mean of a sum over `n` values; `None` over nothing.
pub(crate) fn mean(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// Sorts groups by their main count descending, then name ascending (bytes).
pub(crate) fn sort_groups<T>(
    items: &mut [T],
    count: impl Fn(&T) -> u64,
    name: impl Fn(&T) -> &str,
) {
    items.sort_by(|a, b| count(b).cmp(&count(a)).then_with(|| name(a).cmp(name(b))));
}

/// The most frequent value, alphabetically first on a tie; `None` for none.
pub(crate) fn most_frequent<'a>(
    counts: impl Iterator<Item = (&'a String, &'a u64)>,
) -> Option<String> {
    let mut best: Option<(&String, u64)> = None;
    for (name, &n) in counts {
        best = match best {
            Some((bn, bc)) if bc > n || (bc == n && bn <= name) => Some((bn, bc)),
            _ => Some((name, n)),
        };
    }
    best.map(|(n, _)| n.clone())
}
