//! `/api/v1/sessions` and `/api/v1/users/{id}/progress/{course}`: study
//! sessions and course progress, written by their learner or by staff.

use std::collections::HashMap;

use serde_json::json;

use crate::rules;
use crate::web::app::{finish_session as finish, App};
use crate::web::context::Ctx;
use crate::web::decode::{path_id, require_signed_in, require_writer, session_input, Body};
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::writes::{self, FinishInput, ProgressInput};

fn no_form() -> HashMap<String, String> {
    HashMap::new()
}

/// `POST /api/v1/sessions`.
pub(crate) fn create_session(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_signed_in(ctx)?;
    let body = Body::parse(ctx)?;
    let user = rules::id("user_id", body.req_int("user_id")?)?;
    require_writer(ctx, Some(user), &no_form())?;
    let row = writes::create_session(&app.cache, session_input(&body, user)?)?;
    Ok(Reply::Json(
        201,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `POST /api/v1/sessions/{id}/finish`.
pub(crate) fn finish_session(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let id = path_id(id, "session")?;
    require_signed_in(ctx)?;
    let body = Body::parse(ctx)?;
    let input = FinishInput {
        end_time: body.time("end_time")?,
        duration_minutes: body.int("duration_minutes")?,
    };
    require_writer(
        ctx,
        Some(writes::session_owner(&app.cache, id)?),
        &no_form(),
    )?;
    let row = finish(app, id, input)?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `DELETE /api/v1/sessions/{id}`.
pub(crate) fn delete_session(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let id = path_id(id, "session")?;
    require_signed_in(ctx)?;
    require_writer(
        ctx,
        Some(writes::session_owner(&app.cache, id)?),
        &no_form(),
    )?;
    writes::delete_session(&app.cache, id)?;
    Ok(Reply::Json(200, json!({"deleted": id})))
}

/// `PUT /api/v1/users/{uid}/progress/{course_id}`.
pub(crate) fn put_progress(
    app: &App,
    ctx: &Ctx,
    uid: &str,
    course: &str,
) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    let course = path_id(course, "course")?;
    require_writer(ctx, Some(user), &no_form())?;
    let body = Body::parse(ctx)?;
    let input = ProgressInput {
        proficiency_level: body.req_float("proficiency_level")?,
        learning_hours_total: body.req_float("learning_hours_total")?,
        learning_hours_week: body.req_float("learning_hours_week")?,
        completed_at: body.time("completed_at")?,
    };
    let (row, created) = writes::put_progress(&app.cache, user, course, input)?;
    let status = if created { 201 } else { 200 };
    Ok(Reply::Json(
        status,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}
