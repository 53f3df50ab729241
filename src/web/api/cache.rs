//! `/api/v1/cache`: list, refresh and clear cache entries (staff).

use serde_json::json;

use crate::stats::StatKey;
use crate::web::app::{clear_entries, list_entries, refresh_entry, App};
use crate::web::context::Ctx;
use crate::web::decode::kind_of;
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /api/v1/cache`.
pub(crate) fn list(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let kind = kind_of(ctx)?;
    let entries = list_entries(app, ctx, kind)?;
    let list: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|e| json!({"key": e.key, "status": e.status.as_str(), "age_s": e.age_secs, "ttl_s": e.ttl_secs, "size": e.size, "changes_since": e.changes_since}))
        .collect();
    Ok(Reply::Json(200, json!({"entries": list})))
}

/// `POST /api/v1/cache/refresh?key=`.
pub(crate) fn refresh(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form()?)?;
    let key = StatKey::parse(ctx.query.get("key").map(String::as_str).unwrap_or(""))?;
    let a = refresh_entry(app, ctx, key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

/// `DELETE /api/v1/cache?prefix=`.
pub(crate) fn clear(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form()?)?;
    let prefix = ctx
        .query
        .get("prefix")
        .ok_or_else(|| WebError::bad("prefix", "required (empty for everything)"))?;
    let n = clear_entries(app, ctx, prefix.clone())?;
    Ok(Reply::Json(200, json!({"removed": n})))
}
