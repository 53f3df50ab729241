//! `POST /api/v1/recordings` (staff): a recording with an existing
//! `upload_id` or a new `upload`. `GET /api/v1/recordings` (staff, or
//! anyone on a public server): the list of recordings a filter keeps, a
//! page of it, or all of it as a CSV manifest.

use serde_json::json;

use crate::store::recording_list::{self, ListedRecording};
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::{json_body, recording_list_query, require_writer, RecordingBody};
use crate::web::error::WebError;
use crate::web::manifest::Manifest;
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

fn listed_json(r: &ListedRecording) -> serde_json::Value {
    json!({
        "id": r.id,
        "file_name": r.file_name,
        "speaker_id": r.speaker_id,
        "speaker_code": r.speaker_code,
        "recorded_at": crate::clock::format_utc(r.recorded_at),
        "duration_s": r.duration_s,
        "sample_rate": r.sample_rate,
        "snr_db": r.snr_db,
    })
}

/// `GET /api/v1/recordings`: a page of the filtered list, or with
/// `format=csv` the whole list as a manifest, streamed.
pub(crate) fn list(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if !app.public {
        ctx.require_staff()?;
    }
    let query = recording_list_query(&ctx.query, &app.config.local)?;
    if query.csv {
        if ctx.method == "HEAD" {
            return Ok(Reply::Text("text/csv; charset=utf-8", String::new()));
        }
        return Ok(Reply::Manifest(Manifest {
            filter: query.filter,
            sort: query.sort,
        }));
    }
    let conn = app.store.conn()?;
    let (rows, has_more) =
        recording_list::numbered_page(&conn, &query.filter, query.sort, query.page)?;
    Ok(Reply::Json(
        200,
        json!({
            "page": query.page,
            "page_size": recording_list::PAGE_SIZE,
            "has_more": has_more,
            "recordings": rows.iter().map(listed_json).collect::<Vec<_>>(),
        }),
    ))
}
