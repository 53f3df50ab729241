//! `GET /api/v1/search?q=` (staff): speakers by code, users by login or
//! display name, each with the path of their page.

use serde_json::json;

use crate::store::search::search as find;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::search_text;
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /api/v1/search?q=`.
pub(crate) fn search(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let text = search_text(ctx)?;
    let found = find(&app.store.conn()?, &text)?;
    let speakers: Vec<_> = found
        .speakers
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "code": s.code,
                "category": s.category,
                "gender": s.gender,
                "diagnosis": s.diagnosis,
                "url": format!("/audio/speakers/{}/", s.id),
            })
        })
        .collect();
    let users: Vec<_> = found
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "is_staff": u.is_staff,
                "url": format!("/learning/users/{}/", u.id),
            })
        })
        .collect();
    Ok(Reply::Json(
        200,
        json!({"q": text, "speakers": speakers, "users": users}),
    ))
}
