//! One type per stored entity, as both engines read it: a study session,
//! a course's progress, a speaker, an upload. The write API, the pages and
//! the statistics all use these; times are µs since the epoch here, and
//! RFC 3339 (UTC) in JSON. Only the statistics' passes over millions of
//! rows read narrower projections of their own (`view`).

use serde::{Serialize, Serializer};

use super::{Result, RowRef};
use crate::clock::format_utc;

fn utc<S: Serializer>(micros: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format_utc(*micros))
}

fn utc_opt<S: Serializer>(micros: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match micros {
        Some(m) => s.serialize_str(&format_utc(*m)),
        None => s.serialize_none(),
    }
}

/// A study session. A new one's `id` is chosen by the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudySession {
    /// Id.
    pub id: i64,
    /// The learner.
    pub user_id: i64,
    /// Course, if any.
    pub course_id: Option<i64>,
    /// Subject category.
    pub subject_category: Option<String>,
    /// Start.
    #[serde(serialize_with = "utc")]
    pub start_time: i64,
    /// End, once finished.
    #[serde(serialize_with = "utc_opt")]
    pub end_time: Option<i64>,
    /// Minutes.
    pub duration_minutes: i64,
    /// Effectiveness rating (`rules::RATING`).
    pub effectiveness_rating: Option<i64>,
    /// Focus score (`rules::FOCUS`).
    pub focus_score: Option<f64>,
    /// Where.
    pub learning_environment: Option<String>,
    /// On what.
    pub device_type: Option<String>,
    /// Still running.
    pub is_active: bool,
}

impl StudySession {
    /// The columns [`StudySession::read`] reads, in its order.
    pub(crate) const COLUMNS: &'static str =
        "id, user_id, course_id, subject_category, start_time, end_time, duration_minutes,
         effectiveness_rating, focus_score, learning_environment, device_type, is_active";

    /// A session from a row of [`StudySession::COLUMNS`].
    pub(crate) fn read(r: &RowRef) -> Result<StudySession> {
        Ok(StudySession {
            id: r.get(0)?,
            user_id: r.get(1)?,
            course_id: r.get(2)?,
            subject_category: r.get(3)?,
            start_time: r.get(4)?,
            end_time: r.get(5)?,
            duration_minutes: r.get(6)?,
            effectiveness_rating: r.get(7)?,
            focus_score: r.get(8)?,
            learning_environment: r.get(9)?,
            device_type: r.get(10)?,
            is_active: r.get::<i64>(11)? != 0,
        })
    }
}

/// A learner's progress in one course.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CourseProgress {
    /// Id.
    pub id: i64,
    /// The learner.
    pub user_id: i64,
    /// The course.
    pub course_id: i64,
    /// Proficiency level (`rules::PROFICIENCY`).
    pub proficiency_level: f64,
    /// Hours in all.
    pub learning_hours_total: f64,
    /// Hours this week.
    pub learning_hours_week: f64,
    /// When the course was completed.
    #[serde(serialize_with = "utc_opt")]
    pub completed_at: Option<i64>,
    /// Last change.
    #[serde(serialize_with = "utc")]
    pub updated_at: i64,
}

impl CourseProgress {
    /// The columns [`CourseProgress::read`] reads, in its order, of
    /// `course_progress` aliased `p`.
    pub(crate) const COLUMNS: &'static str =
        "p.id, p.user_id, p.course_id, p.proficiency_level, p.learning_hours_total,
         p.learning_hours_week, p.completed_at, p.updated_at";

    /// A progress row from a row of [`CourseProgress::COLUMNS`].
    pub(crate) fn read(r: &RowRef) -> Result<CourseProgress> {
        Ok(CourseProgress {
            id: r.get(0)?,
            user_id: r.get(1)?,
            course_id: r.get(2)?,
            proficiency_level: r.get(3)?,
            learning_hours_total: r.get(4)?,
            learning_hours_week: r.get(5)?,
            completed_at: r.get(6)?,
            updated_at: r.get(7)?,
        })
    }
}

/// A speaker. Group columns read NULL as empty: the statistics and the
/// pages treat the two alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Speaker {
    /// Id.
    pub id: i64,
    /// The lab's code.
    pub code: String,
    /// Category (empty for none).
    pub category: String,
    /// Diagnosis (empty for none).
    pub diagnosis: String,
    /// Gender (empty for none).
    pub gender: String,
    /// Year of birth.
    pub birth_year: Option<i64>,
}

impl Speaker {
    /// The columns [`Speaker::read`] reads, in its order, of `speakers`
    /// aliased `s`.
    pub(crate) const COLUMNS: &'static str =
        "s.id, s.code, COALESCE(s.category, ''), COALESCE(s.diagnosis, ''),
         COALESCE(s.gender, ''), s.birth_year";

    /// A speaker from a row of [`Speaker::COLUMNS`].
    pub(crate) fn read(r: &RowRef) -> Result<Speaker> {
        Ok(Speaker {
            id: r.get(0)?,
            code: r.get(1)?,
            category: r.get(2)?,
            diagnosis: r.get(3)?,
            gender: r.get(4)?,
            birth_year: r.get(5)?,
        })
    }
}

/// An upload: a batch of recordings sent from one place. A new one's `id`
/// is chosen by the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upload {
    /// Id.
    pub id: i64,
    /// Who sent it.
    pub user_id: i64,
    /// When.
    pub uploaded_at: i64,
    /// The sender's address, as written.
    pub ip: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Region, as written.
    pub region: Option<String>,
}

impl Upload {
    /// The columns [`Upload::read`] reads, in its order, of `uploads`
    /// aliased `u`.
    pub(crate) const COLUMNS: &'static str =
        "u.id, u.user_id, u.uploaded_at, u.ip, u.latitude, u.longitude, u.region";

    /// An upload from a row of [`Upload::COLUMNS`].
    pub(crate) fn read(r: &RowRef) -> Result<Upload> {
        Ok(Upload {
            id: r.get(0)?,
            user_id: r.get(1)?,
            uploaded_at: r.get(2)?,
            ip: r.get(3)?,
            latitude: r.get(4)?,
            longitude: r.get(5)?,
            region: r.get(6)?,
        })
    }
}
