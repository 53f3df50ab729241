//! `GET /api/v1/stats/{name}` and `GET /api/v1/users/{id}/stats/{name}`: the
//! statistics as JSON envelopes.

use crate::stats::StatKey;
use crate::web::app::{answer, user_keys, App};
use crate::web::context::Ctx;
use crate::web::decode::user_id;
use crate::web::error::WebError;
use crate::web::reply::Reply;

fn envelope(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let a = answer(app, ctx, key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

pub(crate) fn shared(app: &App, ctx: &Ctx, which: &str) -> Result<Reply, WebError> {
    let key = StatKey::shared(which)
        .ok_or_else(|| WebError::NotFound(format!("no statistic {which:?}")))?;
    envelope(app, ctx, &key)
}

pub(crate) fn user(app: &App, ctx: &Ctx, id: &str, which: &str) -> Result<Reply, WebError> {
    let user = user_id(id)?;
    ctx.require_user_reader(app.public, user)?;
    let [daily, weekly, analytics, courses] = user_keys(app, ctx, user)?;
    let key = match which {
        "daily" => daily,
        "weekly" => weekly,
        "analytics" => analytics,
        "courses" => courses,
        other => return Err(WebError::NotFound(format!("no statistic {other:?}"))),
    };
    envelope(app, ctx, &key)
}
