//! `POST /api/v1/recordings` (staff): a recording with an existing
//! `upload_id` or a new `upload`.

use serde_json::{json, Value};

use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::{require_writer, Body};
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::writes::{self, RecordingInput, UploadInput};

fn upload_input(body: &Body) -> Result<Option<UploadInput>, WebError> {
    match body.get("upload") {
        None => Ok(None),
        Some(Value::Object(m)) => {
            let u = Body(m.clone());
            Ok(Some(UploadInput {
                ip: u.text("ip")?,
                latitude: u.float("latitude")?,
                longitude: u.float("longitude")?,
                region: u.text("region")?,
            }))
        }
        Some(_) => Err(WebError::bad("upload", "must be an object")),
    }
}

/// `POST /api/v1/recordings`.
pub(crate) fn create_recording(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    require_writer(ctx, None, &Default::default())?;
    let body = Body::parse(ctx)?;
    let input = RecordingInput {
        speaker_id: body.req_int("speaker_id")?,
        file_name: body
            .text("file_name")?
            .ok_or_else(|| WebError::bad("file_name", "required"))?,
        recorded_at: body.time("recorded_at")?,
        duration_s: body.req_float("duration_s")?,
        sample_rate: body.int("sample_rate")?,
        snr_db: body.float("snr_db")?,
        upload_id: body.int("upload_id")?,
        upload: upload_input(&body)?,
    };
    let uploader = ctx.account.as_ref().map_or(0, |a| a.id);
    let created = writes::create_recording(&app.cache, input, uploader)?;
    Ok(Reply::Json(
        201,
        json!({"id": created.id, "upload_id": created.upload_id, "speaker_id": created.speaker_id}),
    ))
}
