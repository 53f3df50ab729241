//! `POST /api/v1/recordings` (staff): a recording with an existing
//! `upload_id` or a new `upload`.

use serde_json::json;

use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::{json_body, require_writer, RecordingBody};
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::writes::{self, RecordingInput};

/// `POST /api/v1/recordings`.
pub(crate) fn create_recording(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_writer(ctx, None, &Default::default())?;
    let input = RecordingInput::try_from(json_body::<RecordingBody>(ctx)?)?;
    let uploader = ctx.account.as_ref().map_or(0, |a| a.id);
    let created = writes::create_recording(app, input, uploader)?;
    Ok(Reply::Json(
        201,
        json!({"id": created.id, "upload_id": created.upload_id, "speaker_id": created.speaker_id}),
    ))
}
