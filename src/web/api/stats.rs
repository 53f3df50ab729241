//! `GET /api/v1/stats/{name}` (with `?category=&diagnosis=&gender=` for a
//! sub-corpus of the dashboard), `GET /api/v1/speakers/{id}/stats` and
//! `GET /api/v1/users/{id}/stats/{name}`: the statistics as JSON envelopes.

use crate::stats::StatKey;
use crate::web::app::{answer, etag, user_keys, App};
use crate::web::context::Ctx;
use crate::web::decode::{filter_of, path_id, range_of, user_id};
use crate::web::error::WebError;
use crate::web::events::{Audience, Subscriber};
use crate::web::reply::Reply;

fn envelope(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let a = answer(app, ctx, key)?;
    app.rendered.json(etag(ctx, &[&a]), || a.envelope(ctx.lang))
}

/// `GET /api/v1/stats/{name}`.
pub(crate) fn shared(app: &App, ctx: &Ctx, which: &str) -> Result<Reply, WebError> {
    let key = StatKey::shared(which)
        .ok_or_else(|| WebError::NotFound(format!("no statistic {which:?}")))?;
    let key = match key {
        StatKey::Dashboard => {
            ctx.require_reader(app.public)?;
            StatKey::sub_corpus(filter_of(ctx, &["lang", "refresh"])?)
        }
        StatKey::Locations => {
            ctx.require_reader(app.public)?;
            StatKey::locations_in(range_of(ctx, &["lang", "refresh"])?)
        }
        key => key,
    };
    envelope(app, ctx, &key)
}

/// `GET /api/v1/events`: the entry events this caller may read, as a
/// server-sent event stream (opened by `routes::handle`).
pub(crate) fn events(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    if ctx.method == "HEAD" {
        // What a stream's head says, and no stream.
        return Ok(Reply::Text(
            "text/event-stream; charset=utf-8",
            String::new(),
        ));
    }
    let audience = match &ctx.account {
        Some(a) if !a.is_staff => Audience::Learner(a.id),
        _ => Audience::All,
    };
    Ok(Reply::Events(Subscriber {
        audience,
        account: ctx.account.as_ref().map(|a| a.id),
        address: ctx.remote,
        credential: ctx.credential.clone(),
    }))
}

/// `GET /api/v1/speakers/{id}/stats`: the dashboard over one speaker.
pub(crate) fn speaker(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let speaker = path_id(id, "speaker")?;
    let range = range_of(ctx, &["lang", "refresh"])?;
    envelope(app, ctx, &StatKey::Speaker { speaker, range })
}

/// `GET /api/v1/users/{id}/stats/{name}`.
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
