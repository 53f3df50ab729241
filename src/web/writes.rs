//! The write API: validated study-session, progress and recording writes,
//! each followed by exactly the cache invalidation it calls for.
//! Every rule is checked before anything is written; a violation names its
//! field (400), an unknown id in the path is a 404.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::error::WebError;
use super::handlers::Reply;
use super::local_path::LocalPath;
use super::App;
use crate::clock::parse_instant;
use crate::rules;
use crate::store::writes::{self, NewRecording, NewSession, NewUpload};
use crate::store::{write_transaction, StoreError};

/// A JSON object body with typed, field-naming accessors.
struct Body(Map<String, Value>);

impl Body {
    fn parse(ctx: &Ctx) -> Result<Body, WebError> {
        let body = ctx.body()?;
        if body.is_empty() {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            Ok(_) => Err(WebError::bad("body", "expected a JSON object")),
            Err(e) => Err(WebError::bad("body", format!("malformed JSON: {e}"))),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn int(&self, field: &str) -> Result<Option<i64>, WebError> {
        self.get(field)
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| WebError::bad(field, "must be an integer"))
            })
            .transpose()
    }

    fn req_int(&self, field: &str) -> Result<i64, WebError> {
        self.int(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    fn float(&self, field: &str) -> Result<Option<f64>, WebError> {
        self.get(field)
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| WebError::bad(field, "must be a number"))
            })
            .transpose()
    }

    fn req_float(&self, field: &str) -> Result<f64, WebError> {
        self.float(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    fn text(&self, field: &str) -> Result<Option<String>, WebError> {
        self.get(field)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| WebError::bad(field, "must be a string"))
            })
            .transpose()
            .map(|o| o.filter(|s| !s.is_empty()))
    }

    fn time(&self, field: &'static str) -> Result<Option<i64>, WebError> {
        match self.text(field)? {
            None => Ok(None),
            Some(t) => {
                let micros = parse_instant(&t).ok_or_else(|| {
                    WebError::bad(
                        field,
                        format!("{t:?} is not an RFC 3339 timestamp with an offset"),
                    )
                })?;
                Ok(Some(rules::instant(field, micros)?))
            }
        }
    }

    /// An optional text field within the shared bounds.
    fn bounded_text(&self, field: &'static str) -> Result<Option<String>, WebError> {
        let text = self.text(field)?;
        if let Some(t) = &text {
            rules::text(field, t)?;
        }
        Ok(text)
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>, WebError> {
        self.get(field)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| WebError::bad(field, "must be true or false"))
            })
            .transpose()
    }
}

fn path_id(text: &str, what: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("{what} {text:?} not found")))
}

/// Someone is signed in: checked before a write reads its body, so an
/// anonymous client cannot make the server wait for one.
fn require_signed_in(ctx: &Ctx) -> Result<(), WebError> {
    ctx.account
        .as_ref()
        .map(|_| ())
        .ok_or(WebError::Unauthorized)
}

/// Signed in, and allowed to write for `user` (themselves, or staff).
fn require_writer(ctx: &Ctx, user: Option<i64>) -> Result<(), WebError> {
    require_writer_form(ctx, user, &Default::default())
}

/// As `require_writer`, with the CSRF token possibly in a form.
fn require_writer_form(
    ctx: &Ctx,
    user: Option<i64>,
    form: &std::collections::HashMap<String, String>,
) -> Result<(), WebError> {
    let account = ctx.account.as_ref().ok_or(WebError::Unauthorized)?;
    ctx.check_csrf(form)?;
    match user {
        Some(u) if !account.is_staff && account.id != u => Err(WebError::Forbidden(
            "you may write only your own data".into(),
        )),
        None if !account.is_staff => Err(WebError::Forbidden("staff only".into())),
        _ => Ok(()),
    }
}

fn check_rating_focus(rating: Option<i64>, focus: Option<f64>) -> Result<(), WebError> {
    if focus.is_some_and(|f| !f.is_finite()) {
        return Err(WebError::bad("focus_score", "must be a finite number"));
    }
    if rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(WebError::bad(
            "effectiveness_rating",
            "must be between 1 and 5",
        ));
    }
    if focus.is_some_and(|f| !(0.0..=100.0).contains(&f)) {
        return Err(WebError::bad("focus_score", "must be between 0 and 100"));
    }
    Ok(())
}

/// Drops a user's session-based entries and marks `learning` stale. Runs
/// after the commit, so it never fails the write: an error is logged, and
/// the write counters still make the entries stale.
fn after_session_write(app: &App, user: i64) {
    let prefixes = ["daily/", "weekly/", "analytics"].map(|kind| format!("user/{user}/{kind}"));
    if let Err(e) = app.cache.invalidate_prefixes(&prefixes) {
        log::warn!("cache invalidation after a session write of user {user}: {e}");
    }
    mark_stale(app, "learning");
}

/// Marks a shared entry stale after a committed write; best effort, logged.
fn mark_stale(app: &App, key: &str) {
    if let Err(e) = app.cache.mark_stale(key) {
        log::warn!("cache: marking {key} stale after a write: {e}");
    }
}

/// `POST /api/v1/sessions`.
pub(super) fn create_session(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_signed_in(ctx)?;
    let body = Body::parse(ctx)?;
    let user = rules::id("user_id", body.req_int("user_id")?)?;
    require_writer(ctx, Some(user))?;
    create_session_from(app, body, user)
}

/// The staff form of the user page: the same rules as the API.
pub(super) fn form_create_session(app: &App, ctx: &Ctx, uid: &str) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    require_signed_in(ctx)?;
    let form = ctx.form()?;
    require_writer_form(ctx, None, &form)?;
    let mut body = Map::new();
    body.insert("user_id".into(), json!(user));
    for (field, kind) in [
        ("start_time", 's'),
        ("end_time", 's'),
        ("duration_minutes", 'i'),
        ("effectiveness_rating", 'i'),
        ("focus_score", 'f'),
        ("environment", 's'),
        ("device", 's'),
        ("subject", 's'),
    ] {
        let Some(text) = form.get(field).map(|t| t.trim()).filter(|t| !t.is_empty()) else {
            continue;
        };
        let value = match kind {
            'i' => text
                .parse::<i64>()
                .map(|v| json!(v))
                .map_err(|_| WebError::bad(field, format!("{text:?} is not an integer")))?,
            'f' => text
                .parse::<f64>()
                .map(|v| json!(v))
                .map_err(|_| WebError::bad(field, format!("{text:?} is not a number")))?,
            _ => json!(text),
        };
        body.insert(field.into(), value);
    }
    create_session_from(app, Body(body), user)?;
    Ok(Reply::Redirect(
        LocalPath::of(&format!("/learning/users/{user}/")),
        Vec::new(),
    ))
}

/// The finish button of the user page.
pub(super) fn form_finish_session(
    app: &App,
    ctx: &Ctx,
    uid: &str,
    sid: &str,
) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    require_signed_in(ctx)?;
    let form = ctx.form()?;
    require_writer_form(ctx, None, &form)?;
    let id = path_id(sid, "session")?;
    finish(app, id, &Body(Map::new()))?;
    Ok(Reply::Redirect(
        LocalPath::of(&format!("/learning/users/{user}/")),
        Vec::new(),
    ))
}

fn create_session_from(app: &App, body: Body, user: i64) -> Result<Reply, WebError> {
    let now = app.cache.config().clock.now_micros();
    let start = body.time("start_time")?.unwrap_or(now);
    let end = body.time("end_time")?;
    let duration = match body.int("duration_minutes")? {
        Some(d) => d,
        None => end.map(|e| (e - start) / 60_000_000).unwrap_or(0),
    };
    let duration = rules::session_minutes("duration_minutes", duration)?;
    if duration < 0 {
        return Err(WebError::bad("duration_minutes", "must be >= 0"));
    }
    if end.is_some_and(|e| e < start) {
        return Err(WebError::bad("end_time", "must not be before start_time"));
    }
    let rating = body.int("effectiveness_rating")?;
    let focus = body.float("focus_score")?;
    check_rating_focus(rating, focus)?;
    let course = body
        .int("course_id")?
        .map(|c| rules::id("course_id", c))
        .transpose()?;
    let mut conn = app.cache.store().conn()?;
    let tx = write_transaction(&mut conn)?;
    if !writes::exists(&tx, "users", user)? {
        return Err(WebError::bad(
            "user_id",
            format!("user {user} does not exist"),
        ));
    }
    if let Some(c) = course {
        if !writes::exists(&tx, "courses", c)? {
            return Err(WebError::bad(
                "course_id",
                format!("course {c} does not exist"),
            ));
        }
    }
    let row = writes::insert_session(
        &tx,
        &NewSession {
            user_id: user,
            course_id: course,
            subject_category: body
                .bounded_text("subject")?
                .or(body.bounded_text("subject_category")?),
            start_time: start,
            end_time: end,
            duration_minutes: duration,
            effectiveness_rating: rating,
            focus_score: focus,
            learning_environment: body
                .bounded_text("environment")?
                .or(body.bounded_text("learning_environment")?),
            device_type: body
                .bounded_text("device")?
                .or(body.bounded_text("device_type")?),
            is_active: body.boolean("is_active")?.unwrap_or(end.is_none()),
        },
    )?;
    tx.commit().map_err(StoreError::from)?;
    after_session_write(app, user);
    Ok(Reply::Json(
        201,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `POST /api/v1/sessions/{id}/finish`.
pub(super) fn finish_session(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let id = path_id(id, "session")?;
    require_signed_in(ctx)?;
    let body = Body::parse(ctx)?;
    let owner = {
        let conn = app.cache.store().conn()?;
        writes::session(&conn, id)?
            .ok_or_else(|| WebError::NotFound(format!("session {id} not found")))?
            .user_id
    };
    require_writer(ctx, Some(owner))?;
    finish(app, id, &body)
}

/// Finishes a session in one write transaction: the row is read and
/// updated under the write lock, so a concurrent delete makes it a 404.
fn finish(app: &App, id: i64, body: &Body) -> Result<Reply, WebError> {
    let requested_end = body.time("end_time")?;
    let requested_duration = body.int("duration_minutes")?;
    let mut conn = app.cache.store().conn()?;
    let tx = write_transaction(&mut conn)?;
    let session = writes::session(&tx, id)?
        .ok_or_else(|| WebError::NotFound(format!("session {id} not found")))?;
    let end = requested_end.unwrap_or(app.cache.config().clock.now_micros());
    if end < session.start_micros {
        return Err(WebError::bad("end_time", "must not be before start_time"));
    }
    let duration = match requested_duration {
        Some(d) => d,
        None => (end - session.start_micros) / 60_000_000,
    };
    let duration = rules::session_minutes("duration_minutes", duration)?;
    if duration < 0 {
        return Err(WebError::bad("duration_minutes", "must be >= 0"));
    }
    let row = writes::finish_session(&tx, id, end, duration)?
        .ok_or_else(|| WebError::NotFound(format!("session {id} not found")))?;
    tx.commit().map_err(StoreError::from)?;
    after_session_write(app, session.user_id);
    app.warmups.session_finished(
        session.user_id,
        Duration::from_secs(app.cache.config().cache.warmup_delay),
    );
    Ok(Reply::Json(
        200,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `DELETE /api/v1/sessions/{id}`.
pub(super) fn delete_session(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let id = path_id(id, "session")?;
    require_signed_in(ctx)?;
    let mut conn = app.cache.store().conn()?;
    let tx = write_transaction(&mut conn)?;
    let session = writes::session(&tx, id)?
        .ok_or_else(|| WebError::NotFound(format!("session {id} not found")))?;
    require_writer(ctx, Some(session.user_id))?;
    writes::delete_session(&tx, id)?;
    tx.commit().map_err(StoreError::from)?;
    after_session_write(app, session.user_id);
    Ok(Reply::Json(200, json!({"deleted": id})))
}

/// `PUT /api/v1/users/{uid}/progress/{course_id}`.
pub(super) fn put_progress(
    app: &App,
    ctx: &Ctx,
    uid: &str,
    course: &str,
) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    let course = path_id(course, "course")?;
    require_writer(ctx, Some(user))?;
    let body = Body::parse(ctx)?;
    let proficiency = body.req_float("proficiency_level")?;
    if !proficiency.is_finite() || !(0.0..=5.0).contains(&proficiency) {
        return Err(WebError::bad(
            "proficiency_level",
            "must be between 0 and 5",
        ));
    }
    let total = body.req_float("learning_hours_total")?;
    let week = body.req_float("learning_hours_week")?;
    for (field, v) in [
        ("learning_hours_total", total),
        ("learning_hours_week", week),
    ] {
        if v < 0.0 {
            return Err(WebError::bad(field, "must be >= 0"));
        }
    }
    rules::hours("learning_hours_total", total)?;
    rules::hours("learning_hours_week", week)?;
    let completed = body.time("completed_at")?;
    let mut conn = app.cache.store().conn()?;
    let tx = write_transaction(&mut conn)?;
    if !writes::exists(&tx, "users", user)? {
        return Err(WebError::NotFound(format!("user {user} not found")));
    }
    if !writes::exists(&tx, "courses", course)? {
        return Err(WebError::NotFound(format!("course {course} not found")));
    }
    let now = app.cache.config().clock.now_micros();
    let (row, created) =
        writes::upsert_progress(&tx, user, course, proficiency, total, week, completed, now)?;
    tx.commit().map_err(StoreError::from)?;
    if let Err(e) = app.cache.invalidate(&format!("user/{user}/courses")) {
        log::warn!("cache invalidation after a progress write of user {user}: {e}");
    }
    Ok(Reply::Json(
        if created { 201 } else { 200 },
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `POST /api/v1/recordings` (staff): with an existing `upload_id` or a new `upload`.
pub(super) fn create_recording(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_writer(ctx, None)?;
    let body = Body::parse(ctx)?;
    let speaker = rules::id("speaker_id", body.req_int("speaker_id")?)?;
    let file_name = body
        .bounded_text("file_name")?
        .ok_or_else(|| WebError::bad("file_name", "required"))?;
    let now = app.cache.config().clock.now_micros();
    let recorded_at = body.time("recorded_at")?.unwrap_or(now);
    let duration = rules::recording_seconds("duration_s", body.req_float("duration_s")?)?;
    let sample_rate = body
        .int("sample_rate")?
        .map(|r| rules::sample_rate("sample_rate", r))
        .transpose()?;
    let snr_db = body
        .float("snr_db")?
        .map(|v| rules::snr_db("snr_db", v))
        .transpose()?;
    let upload = match body.get("upload") {
        None => None,
        Some(Value::Object(m)) => {
            let u = Body(m.clone());
            let ip = u.text("ip")?;
            if let Some(ip) = &ip {
                if ip.parse::<IpAddr>().is_err() {
                    return Err(WebError::bad(
                        "upload.ip",
                        format!("{ip:?} is not an IP address"),
                    ));
                }
            }
            let lat = u
                .float("latitude")?
                .map(|v| rules::latitude("upload.latitude", v))
                .transpose()?;
            let lon = u
                .float("longitude")?
                .map(|v| rules::longitude("upload.longitude", v))
                .transpose()?;
            Some(NewUpload {
                user_id: ctx.account.as_ref().map_or(0, |a| a.id),
                uploaded_at: now,
                ip,
                latitude: lat,
                longitude: lon,
                region: u.bounded_text("region")?,
            })
        }
        Some(_) => return Err(WebError::bad("upload", "must be an object")),
    };
    let upload_id = body
        .int("upload_id")?
        .map(|u| rules::id("upload_id", u))
        .transpose()?;
    if upload.is_some() && upload_id.is_some() {
        return Err(WebError::bad(
            "upload_id",
            "give either upload_id or upload, not both",
        ));
    }
    let mut conn = app.cache.store().conn()?;
    let tx = write_transaction(&mut conn)?;
    if !writes::exists(&tx, "speakers", speaker)? {
        return Err(WebError::bad(
            "speaker_id",
            format!("speaker {speaker} does not exist"),
        ));
    }
    if let Some(u) = upload_id {
        if !writes::exists(&tx, "uploads", u)? {
            return Err(WebError::bad(
                "upload_id",
                format!("upload {u} does not exist"),
            ));
        }
    }
    let recording = NewRecording {
        speaker_id: speaker,
        upload_id,
        file_name,
        recorded_at,
        duration_s: duration,
        sample_rate,
        snr_db,
    };
    let (id, upload_id) = writes::insert_recording(&tx, &recording, upload.as_ref())?;
    tx.commit().map_err(StoreError::from)?;
    mark_stale(app, "dashboard");
    mark_stale(app, "locations");
    Ok(Reply::Json(
        201,
        json!({"id": id, "upload_id": upload_id, "speaker_id": speaker}),
    ))
}
