//! Learning statistics: one user's day, week, last 30 days and courses, and
//! the platform-wide `learning` figures, all on local days of the configured zone.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{mean, most_frequent, Result};
use crate::clock::{days_micros, LocalTime};
use crate::store::DataView;
use crate::store::StudySession;

/// One user's local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Daily {
    /// The local date.
    pub date: NaiveDate,
    /// Sessions started that day.
    pub total_sessions: u64,
    /// Sum of their durations.
    pub total_duration_minutes: i64,
    /// Mean rating of the rated ones.
    pub avg_effectiveness: Option<f64>,
    /// Sessions with an end time.
    pub completed_sessions: u64,
    /// Sessions still running.
    pub active_sessions: u64,
    /// Completed, >= 25 minutes and rated >= 4.
    pub productive_sessions: u64,
    /// Non-empty environments → sessions.
    pub environments: BTreeMap<String, u64>,
    /// Non-empty devices → sessions.
    pub devices: BTreeMap<String, u64>,
    /// Non-empty subject categories → sessions.
    pub subjects: BTreeMap<String, u64>,
}

/// One user's week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weekly {
    /// The Monday.
    pub week_start: NaiveDate,
    /// The Sunday.
    pub week_end: NaiveDate,
    /// Sessions started in the week.
    pub total_sessions: u64,
    /// Sum of their durations.
    pub total_duration_minutes: i64,
    /// Mean duration (none without sessions).
    pub avg_session_duration: Option<f64>,
    /// Exactly seven days.
    pub daily_breakdown: Vec<DayBreakdown>,
    /// Days with a duration sum > 0.
    pub active_days: u64,
    /// Longest run of consecutive active days.
    pub longest_streak: u64,
    /// Day with the largest duration sum (earliest on a tie).
    pub most_productive_day: Option<NaiveDate>,
    /// max(0, 1 - σ/μ) of the seven daily sums.
    pub consistency_score: f64,
}

/// One day of a week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayBreakdown {
    /// The local date.
    pub date: NaiveDate,
    /// Sessions started.
    pub sessions: u64,
    /// Their duration sum.
    pub duration_minutes: i64,
    /// Those with an end time.
    pub completed: u64,
}

/// One user's last 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    /// Sessions in the window.
    pub total_sessions: u64,
    /// Mean rating.
    pub avg_effectiveness: Option<f64>,
    /// Mean focus score.
    pub avg_focus_score: Option<f64>,
    /// Mean duration.
    pub avg_duration_minutes: Option<f64>,
    /// Most frequent non-empty environment.
    pub preferred_environment: Option<String>,
    /// Most frequent non-empty device.
    pub preferred_device: Option<String>,
    /// Local hour → sessions (hours without sessions omitted).
    pub peak_hours: BTreeMap<u32, u64>,
    /// `improving`, `declining` or `stable`.
    pub improvement_trend: String,
    /// Recommendations in the order of docs/statistics.md; texts are added per language.
    pub recommendations: Vec<Recommendation>,
}

/// A recommendation, identified by its stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// `short_sessions`, `low_effectiveness`, `home_environment`,
    /// `morning_learner` or `late_night`.
    pub code: String,
}

/// One user's courses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Courses {
    /// Progress rows (duplicates included).
    pub total_courses: u64,
    /// Mean proficiency.
    pub avg_proficiency: Option<f64>,
    /// Sum of total hours.
    pub total_hours: f64,
    /// Sum of this week's hours.
    pub weekly_hours: f64,
    /// Rows with a completion time.
    pub completed_courses: u64,
    /// Distinct subjects of existing courses, sorted.
    pub subjects: Vec<String>,
}

/// Platform-wide learning figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learning {
    /// Distinct users with sessions.
    pub total_users: u64,
    /// Distinct users with a session in the last 7 local days.
    pub active_users_7d: u64,
    /// Sessions starting today (local).
    pub sessions_today: u64,
    /// Sessions starting in the last 7 local days.
    pub sessions_week: u64,
    /// Mean duration over all sessions.
    pub avg_session_duration: Option<f64>,
    /// Most frequent non-empty environment.
    pub most_popular_environment: Option<String>,
    /// Most frequent non-empty device.
    pub most_popular_device: Option<String>,
}

/// A session as the statistics read it.
type Session = StudySession;

/// A user's sessions with `lo <= start_time < hi`, in start order.
fn sessions(view: &DataView, user: i64, lo: i64, hi_exclusive: i64) -> Result<Vec<Session>> {
    Ok(view.sessions_of(user, lo, hi_exclusive)?)
}

fn count_non_empty(map: &mut BTreeMap<String, u64>, value: &Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        *map.entry(v.to_string()).or_insert(0) += 1;
    }
}

/// Mean of the ratings present.
fn mean_rating<'a>(items: impl Iterator<Item = &'a Session>) -> Option<f64> {
    let (sum, n) = items
        .filter_map(|s| s.effectiveness_rating)
        .fold((0.0, 0u64), |(s, n), r| (s + r as f64, n + 1));
    mean(sum, n)
}

/// One user's local day.
pub fn daily(view: &DataView, local: &LocalTime, user: i64, date: NaiveDate) -> Result<Daily> {
    let (lo, hi) = local.day_range(date);
    let list = sessions(view, user, lo, hi)?;
    let mut out = Daily {
        date,
        total_sessions: list.len() as u64,
        total_duration_minutes: super::sum_minutes(list.iter().map(|s| s.duration_minutes)),
        avg_effectiveness: mean_rating(list.iter()),
        completed_sessions: list.iter().filter(|s| s.end_time.is_some()).count() as u64,
        active_sessions: list.iter().filter(|s| s.is_active).count() as u64,
        productive_sessions: list
            .iter()
            .filter(|s| {
                s.end_time.is_some()
                    && s.duration_minutes >= 25
                    && s.effectiveness_rating.is_some_and(|r| r >= 4)
            })
            .count() as u64,
        environments: BTreeMap::new(),
        devices: BTreeMap::new(),
        subjects: BTreeMap::new(),
    };
    for s in &list {
        count_non_empty(&mut out.environments, &s.learning_environment);
        count_non_empty(&mut out.devices, &s.device_type);
        count_non_empty(&mut out.subjects, &s.subject_category);
    }
    Ok(out)
}

/// One user's week from `monday` (the caller checks it is a Monday).
pub fn weekly(view: &DataView, local: &LocalTime, user: i64, monday: NaiveDate) -> Result<Weekly> {
    let days: Vec<NaiveDate> = (0..7).map(|i| monday + Duration::days(i)).collect();
    let lo = local.start_of_day(days[0]);
    let hi = local.start_of_day(days[6] + Duration::days(1));
    let list = sessions(view, user, lo, hi)?;
    let mut breakdown: Vec<DayBreakdown> = days
        .iter()
        .map(|d| DayBreakdown {
            date: *d,
            sessions: 0,
            duration_minutes: 0,
            completed: 0,
        })
        .collect();
    for s in &list {
        let offset = (local.date(s.start_time) - monday).num_days();
        if let Some(day) = usize::try_from(offset)
            .ok()
            .and_then(|i| breakdown.get_mut(i))
        {
            day.sessions += 1;
            day.duration_minutes =
                super::sum_minutes([day.duration_minutes, s.duration_minutes].into_iter());
            day.completed += s.end_time.is_some() as u64;
        }
    }
    let active: Vec<bool> = breakdown.iter().map(|d| d.duration_minutes > 0).collect();
    let mut longest = 0u64;
    let mut run = 0u64;
    for a in &active {
        run = if *a { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let mut best: Option<&DayBreakdown> = None;
    for d in breakdown.iter().filter(|d| d.duration_minutes > 0) {
        if best.is_none_or(|b| d.duration_minutes > b.duration_minutes) {
            best = Some(d);
        }
    }
    let sums: Vec<f64> = breakdown
        .iter()
        .map(|d| d.duration_minutes as f64)
        .collect();
    let mu = sums.iter().sum::<f64>() / 7.0;
    let consistency_score = if mu <= 0.0 {
        0.0
    } else {
        let sigma = (sums.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / 7.0).sqrt();
        (1.0 - sigma / mu).max(0.0)
    };
    let total = super::sum_minutes(list.iter().map(|s| s.duration_minutes));
    Ok(Weekly {
        week_start: monday,
        week_end: days[6],
        total_sessions: list.len() as u64,
        total_duration_minutes: total,
        avg_session_duration: mean(
            list.iter().map(|s| s.duration_minutes as f64).sum(),
            list.len() as u64,
        ),
        most_productive_day: best.map(|d| d.date),
        active_days: active.iter().filter(|a| **a).count() as u64,
        longest_streak: longest,
        daily_breakdown: breakdown,
        consistency_score,
    })
}

/// One user's last 30 days up to `now` (both ends included).
pub fn analytics(view: &DataView, local: &LocalTime, user: i64, now: i64) -> Result<Analytics> {
    let window_start = now - days_micros(30);
    let half = now - days_micros(15);
    let list = sessions(view, user, window_start, now.saturating_add(1))?;
    let mut environments: HashMap<String, u64> = HashMap::new();
    let mut devices: HashMap<String, u64> = HashMap::new();
    let mut peak_hours: BTreeMap<u32, u64> = BTreeMap::new();
    let (mut focus_sum, mut focus_n) = (0.0, 0u64);
    for s in &list {
        if let Some(e) = s.learning_environment.as_deref().filter(|v| !v.is_empty()) {
            *environments.entry(e.to_string()).or_insert(0) += 1;
        }
        if let Some(d) = s.device_type.as_deref().filter(|v| !v.is_empty()) {
            *devices.entry(d.to_string()).or_insert(0) += 1;
        }
        if let Some(f) = s.focus_score {
            focus_sum += f;
            focus_n += 1;
        }
        *peak_hours.entry(local.hour(s.start_time)).or_insert(0) += 1;
    }
    let avg_duration = mean(
        list.iter().map(|s| s.duration_minutes as f64).sum(),
        list.len() as u64,
    );
    let avg_effectiveness = mean_rating(list.iter());
    let recent = mean_rating(list.iter().filter(|s| s.start_time >= half));
    let previous = mean_rating(list.iter().filter(|s| s.start_time < half));
    let trend = match (recent, previous) {
        (Some(r), Some(p)) if r > p + 0.2 => "improving",
        (Some(r), Some(p)) if r < p - 0.2 => "declining",
        _ => "stable",
    };
    let preferred_environment = most_frequent(environments.iter());
    let preferred_device = most_frequent(devices.iter());
    // Peak hour: most sessions, earliest on a tie (BTreeMap iterates in hour order).
    let peak = peak_hours
        .iter()
        .fold(None::<(u32, u64)>, |best, (&h, &n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((h, n)),
        })
        .map(|(h, _)| h);
    let mut codes = Vec::new();
    if avg_duration.is_some_and(|d| d < 30.0) {
        codes.push("short_sessions");
    }
    if avg_effectiveness.is_some_and(|e| e < 3.0) {
        codes.push("low_effectiveness");
    }
    if preferred_environment.as_deref() == Some("home") {
        codes.push("home_environment");
    }
    if peak.is_some_and(|h| (6..=10).contains(&h)) {
        codes.push("morning_learner");
    }
    if peak.is_some_and(|h| (20..=23).contains(&h)) {
        codes.push("late_night");
    }
    Ok(Analytics {
        total_sessions: list.len() as u64,
        avg_effectiveness,
        avg_focus_score: mean(focus_sum, focus_n),
        avg_duration_minutes: avg_duration,
        preferred_environment,
        preferred_device,
        peak_hours,
        improvement_trend: trend.to_string(),
        recommendations: codes
            .into_iter()
            .map(|c| Recommendation {
                code: c.to_string(),
            })
            .collect(),
    })
}

/// One user's course summary over their progress rows.
pub fn courses(view: &DataView, user: i64) -> Result<Courses> {
    let mut out = Courses {
        total_courses: 0,
        avg_proficiency: None,
        total_hours: 0.0,
        weekly_hours: 0.0,
        completed_courses: 0,
        subjects: Vec::new(),
    };
    let mut proficiency = 0.0;
    let mut subjects = HashSet::new();
    for (row, subject) in view.progress_of(user)? {
        out.total_courses += 1;
        proficiency += row.proficiency_level;
        out.total_hours += row.learning_hours_total;
        out.weekly_hours += row.learning_hours_week;
        out.completed_courses += row.completed_at.is_some() as u64;
        if let Some(subject) = subject {
            subjects.insert(subject);
        }
    }
    out.avg_proficiency = mean(proficiency, out.total_courses);
    out.subjects = subjects.into_iter().collect();
    out.subjects.sort();
    Ok(out)
}

/// Platform-wide figures, from the aggregates the writes keep
/// (`store::aggregates`: per learner, per environment and device) and an
/// index walk over the last 7 local days' sessions: milliseconds, whatever
/// the number of sessions.
pub fn platform(view: &DataView, local: &LocalTime, now: i64) -> Result<Learning> {
    let today = local.date(now);
    let (today_lo, today_hi) = local.day_range(today);
    let week_lo = local.start_of_day(today - Duration::days(6));
    let (total_users, n, duration_sum) = view.session_totals()?;
    // Active: those whose last session is in the week, and of those whose
    // last session is later (in the future), the ones with one in it.
    let active_users_7d = in_quarters(
        week_lo,
        today_hi,
        |a, b| view.learners_last_starting(a, b),
        |a, b| view.learners_last_in_quarters(a, b),
    )? + view.learners_later_with_session(week_lo, today_hi)?;
    let sessions_between = |from, until| {
        in_quarters(
            from,
            until,
            |a, b| view.sessions_starting(a, b),
            |a, b| view.sessions_in_quarters(a, b),
        )
    };
    let sessions_week = sessions_between(week_lo, today_hi)?;
    let sessions_today = sessions_between(today_lo, today_hi)?;
    let tallies = |kind| -> Result<Option<String>> {
        let counts = view.session_tallies(kind)?;
        Ok(most_frequent(counts.iter().map(|(name, n)| (name, n))))
    };
    Ok(Learning {
        total_users,
        active_users_7d,
        sessions_today,
        sessions_week,
        avg_session_duration: mean(duration_sum, n),
        most_popular_environment: tallies("environment")?,
        most_popular_device: tallies("device")?,
    })
}

/// A count over `from..until` (µs) from the aggregates: `quarters` counts
/// the whole quarter hours, `part` the parts at either edge (a zone whose
/// day does not start on a quarter hour) through an index.
fn in_quarters(
    from: i64,
    until: i64,
    part: impl Fn(i64, i64) -> crate::store::Result<u64>,
    quarters: impl Fn(i64, i64) -> crate::store::Result<u64>,
) -> Result<u64> {
    use crate::store::aggregates::sessions::QUARTER;
    let first = from.div_euclid(QUARTER) + i64::from(from.rem_euclid(QUARTER) != 0);
    let last = until.div_euclid(QUARTER);
    if first >= last {
        return Ok(part(from, until)?);
    }
    Ok(part(from, first * QUARTER)? + quarters(first, last)? + part(last * QUARTER, until)?)
}

/// Platform-wide figures in one pass over every session: the reference the
/// aggregates are checked against (`voxdash check`, the tests).
pub fn platform_from_sessions(view: &DataView, local: &LocalTime, now: i64) -> Result<Learning> {
    let today = local.date(now);
    let (today_lo, today_hi) = local.day_range(today);
    let week_lo = local.start_of_day(today - Duration::days(6));
    let mut users = HashSet::new();
    let mut active_users = HashSet::new();
    let (mut sessions_today, mut sessions_week) = (0u64, 0u64);
    // i128: legacy rows may hold durations whose sum passes i64.
    let (mut duration_sum, mut n) = (0i128, 0u64);
    let mut environments: HashMap<String, u64> = HashMap::new();
    let mut devices: HashMap<String, u64> = HashMap::new();
    view.all_sessions(|r| {
        users.insert(r.user);
        if r.start >= week_lo && r.start < today_hi {
            sessions_week += 1;
            active_users.insert(r.user);
            if r.start >= today_lo {
                sessions_today += 1;
            }
        }
        duration_sum += i128::from(r.duration);
        n += 1;
        for (text, map) in [(r.environment, &mut environments), (r.device, &mut devices)] {
            if let Some(text) = text.filter(|t| !t.is_empty()) {
                match map.get_mut(text) {
                    Some(c) => *c += 1,
                    None => {
                        map.insert(text.to_string(), 1);
                    }
                }
            }
        }
    })?;
    Ok(Learning {
        total_users: users.len() as u64,
        active_users_7d: active_users.len() as u64,
        sessions_today,
        sessions_week,
        avg_session_duration: mean(duration_sum as f64, n),
        most_popular_environment: most_frequent(environments.iter()),
        most_popular_device: most_frequent(devices.iter()),
    })
}
