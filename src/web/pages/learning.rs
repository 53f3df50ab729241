//! `/learning/`: platform-wide learning statistics.

use maud::{html, Markup};

use super::{badge, frame, layout, opt, stat_card, Frame};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::{Learning, StatKey, Statistic};
use crate::web::app::{answer, etag, App};
use crate::web::context::Ctx;
use crate::web::error::WebError;
use crate::web::reply::Reply;

pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let a = answer(app, ctx, &StatKey::Learning)?;
    let Statistic::Learning(d) = &a.entry.statistic else {
        unreachable!("learning key")
    };
    app.rendered.page(etag(ctx, &[&a]), || {
        Ok(learning(&frame(app, ctx, "learn.title"), &a, d))
    })
}

/// `/learning/`.
fn learning(frame: &Frame, answer: &Answer, d: &Learning) -> Markup {
    let l = frame.lang;
    let none = || t(l, "word.none").to_string();
    layout(
        frame,
        html! {
            (badge(frame, answer))
            h1 { (t(l, "learn.title")) }
            div.cards {
                (stat_card(t(l, "learn.total_users"), d.total_users.to_string()))
                (stat_card(t(l, "learn.active_7d"), d.active_users_7d.to_string()))
                (stat_card(t(l, "learn.today"), d.sessions_today.to_string()))
                (stat_card(t(l, "learn.week"), d.sessions_week.to_string()))
                (stat_card(t(l, "learn.avg_duration"), opt(d.avg_session_duration)))
                (stat_card(t(l, "learn.environment"), d.most_popular_environment.clone().unwrap_or_else(none)))
                (stat_card(t(l, "learn.device"), d.most_popular_device.clone().unwrap_or_else(none)))
            }
        },
    )
}
