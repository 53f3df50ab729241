//! SQL of the write API: study sessions, course progress, recordings and
//! uploads. Validation happens before these are called; each call is one
//! transaction, so a failed write leaves nothing behind.

use super::{args, Conn, CourseProgress, Result, StoreError, StudySession, Upload};

/// Inserts a session with the next id after every current and archived
/// one; returns the stored row.
pub fn insert_session(conn: &Conn, s: &StudySession) -> Result<StudySession> {
    let id: i64 = conn.query_value(
        "INSERT INTO study_sessions (id, user_id, course_id, subject_category, start_time, end_time,
            duration_minutes, effectiveness_rating, focus_score, learning_environment, device_type, is_active)
         VALUES ((SELECT COALESCE(MAX(m), 0) + 1 FROM (SELECT MAX(id) AS m FROM study_sessions
                  UNION ALL SELECT MAX(id) FROM study_sessions_archive) AS every_session),
            ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         RETURNING id",
        args![
            s.user_id,
            s.course_id,
            &s.subject_category,
            s.start_time,
            s.end_time,
            s.duration_minutes,
            s.effectiveness_rating,
            s.focus_score,
            &s.learning_environment,
            &s.device_type,
            s.is_active
        ],
    )?;
    session(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("session {id}")))
}

/// One session.
pub fn session(conn: &Conn, id: i64) -> Result<Option<StudySession>> {
    conn.row(
        &format!(
            "SELECT {} FROM study_sessions WHERE id = ?1",
            StudySession::COLUMNS
        ),
        args![id],
        StudySession::read,
    )
}

/// Sets a session's end, duration and clears `is_active`; `None` when the
/// session no longer exists.
pub fn finish_session(
    conn: &Conn,
    id: i64,
    end: i64,
    duration: i64,
) -> Result<Option<StudySession>> {
    conn.execute(
        "UPDATE study_sessions SET end_time = ?2, duration_minutes = ?3, is_active = 0 WHERE id = ?1",
        args![id, end, duration],
    )?;
    session(conn, id)
}

/// Deletes a session; returns whether it existed.
pub fn delete_session(conn: &Conn, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM study_sessions WHERE id = ?1", args![id])? > 0)
}

/// Whether a row with this id exists in `table` (a fixed table name).
pub fn exists(conn: &Conn, table: &str, id: i64) -> Result<bool> {
    conn.query_value(
        &format!("SELECT EXISTS(SELECT 1 FROM {table} WHERE id = ?1)"),
        args![id],
    )
}

/// Upserts the progress of (user, course): updates the current row (the
/// latest `updated_at`, then highest id) or inserts one. Returns the row and
/// whether it was created.
#[allow(clippy::too_many_arguments)]
pub fn upsert_progress(
    conn: &Conn,
    user: i64,
    course: i64,
    proficiency: f64,
    hours_total: f64,
    hours_week: f64,
    completed_at: Option<i64>,
    now: i64,
) -> Result<(CourseProgress, bool)> {
    let current: Option<i64> = conn
        .query_opt(
            "SELECT id FROM course_progress WHERE user_id = ?1 AND course_id = ?2
             ORDER BY updated_at DESC, id DESC LIMIT 1",
            args![user, course],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let id = match current {
        Some(id) => {
            conn.execute(
                "UPDATE course_progress SET proficiency_level = ?2, learning_hours_total = ?3,
                 learning_hours_week = ?4, completed_at = ?5, updated_at = ?6 WHERE id = ?1",
                args![id, proficiency, hours_total, hours_week, completed_at, now],
            )?;
            id
        }
        None => conn.query_value(
            "INSERT INTO course_progress (id, user_id, course_id, proficiency_level, learning_hours_total,
                learning_hours_week, completed_at, updated_at)
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM course_progress), ?1, ?2, ?3, ?4, ?5, ?6, ?7)
             RETURNING id",
            args![user, course, proficiency, hours_total, hours_week, completed_at, now],
        )?,
    };
    let row = conn
        .row(
            &format!(
                "SELECT {} FROM course_progress p WHERE p.id = ?1",
                CourseProgress::COLUMNS
            ),
            args![id],
            CourseProgress::read,
        )?
        .ok_or_else(|| StoreError::NotFound(format!("course progress {id}")))?;
    Ok((row, current.is_none()))
}

/// A new recording.
#[derive(Debug, Clone, Default)]
pub struct NewRecording {
    /// Speaker.
    pub speaker_id: i64,
    /// Existing upload.
    pub upload_id: Option<i64>,
    /// File name.
    pub file_name: String,
    /// When (µs).
    pub recorded_at: i64,
    /// Seconds.
    pub duration_s: f64,
    /// Hz.
    pub sample_rate: Option<i64>,
    /// dB.
    pub snr_db: Option<f64>,
}

/// Inserts a recording, and first its new upload if given; returns (recording id, upload id).
pub fn insert_recording(
    conn: &Conn,
    r: &NewRecording,
    upload: Option<&Upload>,
) -> Result<(i64, Option<i64>)> {
    let upload_id = match upload {
        Some(u) => Some(conn.query_value(
            "INSERT INTO uploads (id, user_id, uploaded_at, ip, latitude, longitude, region)
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM uploads), ?1, ?2, ?3, ?4, ?5, ?6)
             RETURNING id",
            args![
                u.user_id,
                u.uploaded_at,
                &u.ip,
                u.latitude,
                u.longitude,
                &u.region
            ],
        )?),
        None => r.upload_id,
    };
    let id = conn.query_value(
        "INSERT INTO recordings (id, speaker_id, upload_id, file_name, recorded_at, duration_s, sample_rate, snr_db)
         VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM recordings), ?1, ?2, ?3, ?4, ?5, ?6, ?7)
         RETURNING id",
        args![r.speaker_id, upload_id, &r.file_name, r.recorded_at, r.duration_s, r.sample_rate, r.snr_db],
    )?;
    if upload.is_some() {
        // A new address counts in its region at once.
        super::aggregates::uploads::resolve_pending(conn)?;
    }
    Ok((id, upload_id))
}

/// A user's running sessions (id, start in µs since the epoch), newest first.
pub fn active_sessions(conn: &Conn, user: i64) -> Result<Vec<(i64, i64)>> {
    conn.query(
        "SELECT id, start_time FROM study_sessions WHERE user_id = ?1 AND is_active = 1
         ORDER BY start_time DESC LIMIT 20",
        args![user],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}
