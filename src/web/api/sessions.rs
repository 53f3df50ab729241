//! `/api/v1/sessions` and `/api/v1/users/{id}/progress/{course}`: study
//! sessions and course progress, written by their learner or by staff.

use std::collections::HashMap;

use serde_json::json;

use crate::rules;
use crate::web::app::{finish_session as finish, App};
use crate::web::context::Ctx;
use crate::web::decode::{
    json_body, path_id, require_signed_in, require_writer, FinishBody, ProgressBody, SessionBody,
};
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::writes::{self, FinishInput, ProgressInput};

fn no_form() -> HashMap<String, String> {
    HashMap::new()
}

/// `POST /api/v1/sessions`.
pub(crate) fn create_session(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_signed_in(ctx)?;
    let body: SessionBody = json_body(ctx)?;
    let user = rules::id("user_id", body.user()?)?;
    require_writer(ctx, Some(user), &no_form())?;
    let row = writes::create_session(app, body.input(user))?;
    Ok(Reply::Json(
        201,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}

/// `POST /api/v1/sessions/{id}/finish`.
pub(crate) fn finish_session(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let id = path_id(id, "session")?;
    require_signed_in(ctx)?;
    let input = FinishInput::from(json_body::<FinishBody>(ctx)?);
    require_writer(ctx, Some(writes::session_owner(app, id)?), &no_form())?;
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
    require_writer(ctx, Some(writes::session_owner(app, id)?), &no_form())?;
    writes::delete_session(app, id)?;
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
    let input = ProgressInput::try_from(json_body::<ProgressBody>(ctx)?)?;
    let (row, created) = writes::put_progress(app, user, course, input)?;
    let status = if created { 201 } else { 200 };
    Ok(Reply::Json(
        status,
        serde_json::to_value(&row).unwrap_or_default(),
    ))
}
