//! Domain writes: study sessions, course progress and recordings. Each takes
//! a typed input, checks every rule before anything is written, runs in one
//! write transaction, and after the commit applies the cache invalidation of
//! the write ([`Change`]). Errors name the field at fault; who may write what
//! is decided by the caller (the web layer knows the account).

use std::net::IpAddr;

use crate::rules::{self, Violation};
use crate::stats::key::Change;
use crate::store::writes::{self as sql, NewRecording};
use crate::store::{CourseProgress, StoreError, StudySession, Upload};
use crate::App;

/// Why a write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A field is missing, malformed or out of bounds.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as the client named it (`upload.latitude`).
        field: &'static str,
        /// What is wrong, for the person who sent it.
        reason: String,
    },
    /// The thing written to does not exist (`session 7`).
    #[error("{0} not found")]
    NotFound(String),
    /// The input contradicts itself or the stored data.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WriteError {
    /// A refused field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> WriteError {
        WriteError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<Violation> for WriteError {
    fn from(v: Violation) -> WriteError {
        WriteError::Invalid {
            field: v.field,
            reason: v.reason,
        }
    }
}

/// A new study session. Times are µs; missing ones take defaults (start:
/// now; duration: from the end, else 0; active: while there is no end).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInput {
    /// Owner.
    pub user_id: i64,
    /// Course.
    pub course_id: Option<i64>,
    /// Start.
    pub start_time: Option<i64>,
    /// End.
    pub end_time: Option<i64>,
    /// Minutes.
    pub duration_minutes: Option<i64>,
    /// 1..=5.
    pub effectiveness_rating: Option<i64>,
    /// 0..=100.
    pub focus_score: Option<f64>,
    /// Subject category.
    pub subject: Option<String>,
    /// Where.
    pub environment: Option<String>,
    /// On what.
    pub device: Option<String>,
    /// Still running.
    pub is_active: Option<bool>,
}

/// How a session ends: at `end_time` (default now), lasting
/// `duration_minutes` (default the time since its start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishInput {
    /// End (µs).
    pub end_time: Option<i64>,
    /// Minutes.
    pub duration_minutes: Option<i64>,
}

/// Course progress of one user in one course.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressInput {
    /// 0..=5.
    pub proficiency_level: f64,
    /// Hours in all.
    pub learning_hours_total: f64,
    /// Hours this week.
    pub learning_hours_week: f64,
    /// When completed (µs).
    pub completed_at: Option<i64>,
}

/// Where a new recording came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadInput {
    /// Sender's address.
    pub ip: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Region name.
    pub region: Option<String>,
}

/// A new recording, with an existing upload or a new one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingInput {
    /// Speaker.
    pub speaker_id: i64,
    /// File name.
    pub file_name: String,
    /// When (µs; default now).
    pub recorded_at: Option<i64>,
    /// Seconds.
    pub duration_s: f64,
    /// Hz.
    pub sample_rate: Option<i64>,
    /// dB.
    pub snr_db: Option<f64>,
    /// An existing upload.
    pub upload_id: Option<i64>,
    /// A new upload.
    pub upload: Option<UploadInput>,
}

/// A recording as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingCreated {
    /// Its id.
    pub id: i64,
    /// Its upload.
    pub upload_id: Option<i64>,
    /// Its speaker.
    pub speaker_id: i64,
}

fn bounded(field: &'static str, text: Option<String>) -> Result<Option<String>, WriteError> {
    if let Some(t) = &text {
        rules::text(field, t)?;
    }
    Ok(text)
}

fn instant(field: &'static str, micros: Option<i64>) -> Result<Option<i64>, WriteError> {
    Ok(micros.map(|m| rules::instant(field, m)).transpose()?)
}

/// Minutes of a session between `start` and `end`, unless given.
fn session_minutes(start: i64, end: Option<i64>, given: Option<i64>) -> Result<i64, WriteError> {
    let minutes = given.unwrap_or_else(|| end.map_or(0, |e| (e - start) / 60_000_000));
    let minutes = rules::session_minutes("duration_minutes", minutes)?;
    rules::DURATION.check(minutes as f64)?;
    Ok(minutes)
}

fn check_rating_focus(rating: Option<i64>, focus: Option<f64>) -> Result<(), WriteError> {
    if focus.is_some_and(|f| !f.is_finite()) {
        return Err(WriteError::invalid(
            "focus_score",
            "must be a finite number",
        ));
    }
    if let Some(r) = rating {
        rules::RATING.check(r as f64)?;
    }
    if let Some(f) = focus {
        rules::FOCUS.check(f)?;
    }
    Ok(())
}

/// Checks a session against every rule and fills in its defaults.
fn new_session(input: SessionInput, now: i64) -> Result<StudySession, WriteError> {
    let user_id = rules::id("user_id", input.user_id)?;
    let start = instant("start_time", input.start_time)?.unwrap_or(now);
    let end = instant("end_time", input.end_time)?;
    let duration = session_minutes(start, end, input.duration_minutes)?;
    if end.is_some_and(|e| e < start) {
        return Err(WriteError::invalid(
            "end_time",
            "must not be before start_time",
        ));
    }
    check_rating_focus(input.effectiveness_rating, input.focus_score)?;
    Ok(StudySession {
        id: 0,
        user_id,
        course_id: input
            .course_id
            .map(|c| rules::id("course_id", c))
            .transpose()?,
        subject_category: bounded("subject", input.subject)?,
        start_time: start,
        end_time: end,
        duration_minutes: duration,
        effectiveness_rating: input.effectiveness_rating,
        focus_score: input.focus_score,
        learning_environment: bounded("environment", input.environment)?,
        device_type: bounded("device", input.device)?,
        is_active: input.is_active.unwrap_or(end.is_none()),
    })
}

/// Creates a study session; its user and course must exist.
pub fn create_session(app: &App, input: SessionInput) -> Result<StudySession, WriteError> {
    let session = new_session(input, app.config.clock.now_micros())?;
    let conn = app.store.conn()?;
    let tx = conn.write_transaction()?;
    let user = session.user_id;
    if !sql::exists(&tx, "users", user)? {
        return Err(WriteError::invalid(
            "user_id",
            format!("user {user} does not exist"),
        ));
    }
    if let Some(c) = session.course_id {
        if !sql::exists(&tx, "courses", c)? {
            return Err(WriteError::invalid(
                "course_id",
                format!("course {c} does not exist"),
            ));
        }
    }
    let row = sql::insert_session(&tx, &session)?;
    tx.commit()?;
    app.cache.apply(Change::Session { user });
    Ok(row)
}

/// The owner of session `id`.
pub fn session_owner(app: &App, id: i64) -> Result<i64, WriteError> {
    let conn = app.store.conn()?;
    sql::session(&conn, id)?
        .map(|s| s.user_id)
        .ok_or_else(|| WriteError::NotFound(format!("session {id}")))
}

/// Finishes session `id`. The row is read and updated in one write
/// transaction, so a concurrent delete makes it `NotFound`, never a failure.
pub fn finish_session(app: &App, id: i64, input: FinishInput) -> Result<StudySession, WriteError> {
    let end = instant("end_time", input.end_time)?;
    let conn = app.store.conn()?;
    let tx = conn.write_transaction()?;
    let missing = || WriteError::NotFound(format!("session {id}"));
    let session = sql::session(&tx, id)?.ok_or_else(missing)?;
    let end = end.unwrap_or(app.config.clock.now_micros());
    if end < session.start_time {
        return Err(WriteError::invalid(
            "end_time",
            "must not be before start_time",
        ));
    }
    let duration = session_minutes(session.start_time, Some(end), input.duration_minutes)?;
    let row = sql::finish_session(&tx, id, end, duration)?.ok_or_else(missing)?;
    tx.commit()?;
    app.cache.apply(Change::Session {
        user: session.user_id,
    });
    Ok(row)
}

/// Deletes session `id`; returns its owner.
pub fn delete_session(app: &App, id: i64) -> Result<i64, WriteError> {
    let conn = app.store.conn()?;
    let tx = conn.write_transaction()?;
    let session =
        sql::session(&tx, id)?.ok_or_else(|| WriteError::NotFound(format!("session {id}")))?;
    sql::delete_session(&tx, id)?;
    tx.commit()?;
    app.cache.apply(Change::Session {
        user: session.user_id,
    });
    Ok(session.user_id)
}

/// Creates or updates the progress of `user` in `course`; returns the row
/// and whether it was created.
pub fn put_progress(
    app: &App,
    user: i64,
    course: i64,
    input: ProgressInput,
) -> Result<(CourseProgress, bool), WriteError> {
    let level = input.proficiency_level;
    if !level.is_finite() {
        return Err(WriteError::invalid(
            "proficiency_level",
            rules::PROFICIENCY.message,
        ));
    }
    rules::PROFICIENCY.check(level)?;
    for (field, v) in [
        ("learning_hours_total", input.learning_hours_total),
        ("learning_hours_week", input.learning_hours_week),
    ] {
        if v < 0.0 {
            return Err(WriteError::invalid(field, "must be >= 0"));
        }
        rules::hours(field, v)?;
    }
    let completed = instant("completed_at", input.completed_at)?;
    let conn = app.store.conn()?;
    let tx = conn.write_transaction()?;
    for (table, what, id) in [("users", "user", user), ("courses", "course", course)] {
        if !sql::exists(&tx, table, id)? {
            return Err(WriteError::NotFound(format!("{what} {id}")));
        }
    }
    let now = app.config.clock.now_micros();
    let (row, created) = sql::upsert_progress(
        &tx,
        user,
        course,
        level,
        input.learning_hours_total,
        input.learning_hours_week,
        completed,
        now,
    )?;
    tx.commit()?;
    app.cache.apply(Change::Progress { user });
    Ok((row, created))
}

/// Checks a new upload; `uploader` is the account sending it.
fn new_upload(input: UploadInput, uploader: i64, now: i64) -> Result<Upload, WriteError> {
    if let Some(ip) = &input.ip {
        if ip.parse::<IpAddr>().is_err() {
            return Err(WriteError::invalid(
                "upload.ip",
                format!("{ip:?} is not an IP address"),
            ));
        }
    }
    Ok(Upload {
        id: 0,
        user_id: uploader,
        uploaded_at: now,
        ip: input.ip,
        latitude: input
            .latitude
            .map(|v| rules::latitude("upload.latitude", v))
            .transpose()?,
        longitude: input
            .longitude
            .map(|v| rules::longitude("upload.longitude", v))
            .transpose()?,
        region: bounded("region", input.region)?,
    })
}

/// Registers a recording, with a new upload sent by `uploader` or an
/// existing one.
pub fn create_recording(
    app: &App,
    input: RecordingInput,
    uploader: i64,
) -> Result<RecordingCreated, WriteError> {
    let now = app.config.clock.now_micros();
    let speaker = rules::id("speaker_id", input.speaker_id)?;
    rules::text("file_name", &input.file_name)?;
    let recording = NewRecording {
        speaker_id: speaker,
        upload_id: input
            .upload_id
            .map(|u| rules::id("upload_id", u))
            .transpose()?,
        file_name: input.file_name,
        recorded_at: instant("recorded_at", input.recorded_at)?.unwrap_or(now),
        duration_s: rules::recording_seconds("duration_s", input.duration_s)?,
        sample_rate: input
            .sample_rate
            .map(|r| rules::sample_rate("sample_rate", r))
            .transpose()?,
        snr_db: input
            .snr_db
            .map(|v| rules::snr_db("snr_db", v))
            .transpose()?,
    };
    let upload = input
        .upload
        .map(|u| new_upload(u, uploader, now))
        .transpose()?;
    if upload.is_some() && recording.upload_id.is_some() {
        return Err(WriteError::invalid(
            "upload_id",
            "give either upload_id or upload, not both",
        ));
    }
    let conn = app.store.conn()?;
    let tx = conn.write_transaction()?;
    if !sql::exists(&tx, "speakers", speaker)? {
        return Err(WriteError::invalid(
            "speaker_id",
            format!("speaker {speaker} does not exist"),
        ));
    }
    if let Some(u) = recording.upload_id {
        if !sql::exists(&tx, "uploads", u)? {
            return Err(WriteError::invalid(
                "upload_id",
                format!("upload {u} does not exist"),
            ));
        }
    }
    let (id, upload_id) = sql::insert_recording(&tx, &recording, upload.as_ref())?;
    tx.commit()?;
    app.cache.apply(Change::Recording { speaker });
    Ok(RecordingCreated {
        id,
        upload_id,
        speaker_id: speaker,
    })
}
