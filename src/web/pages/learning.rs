//! `/learning/`: platform-wide learning statistics, and for those who may
//! read every learner's page (staff, or anyone on a `--public` server) the
//! list of learners, sortable, paged and exportable.

use maud::{html, Markup};

use super::{
    badge, csv_reply, csv_requested, frame, layout, local_time, opt, paged_table, sort_all,
    stat_card, tables_of, Frame,
};
use crate::cache::Answer;
use crate::i18n::{fill, region, t, Lang};
use crate::stats::{Learning, StatKey, Statistic};
use crate::store::learners::{self, LearnerRow};
use crate::web::app::{answer, etag, App};
use crate::web::context::Ctx;
use crate::web::decode::page_of;
use crate::web::error::WebError;
use crate::web::numbers;
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /learning/[?sort=&page=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let tables = tables_of(ctx)?;
    let page = page_of(ctx)?;
    let a = answer(app, ctx, &StatKey::Learning)?;
    let Statistic::Learning(d) = &a.entry.statistic else {
        unreachable!("learning key")
    };
    let sees_all = ctx.is_staff() || (app.public && ctx.account.is_none());
    let tz = app.config.local.tz;
    let list = || -> Result<Vec<Table>, WebError> {
        let rows = learners::learners(&app.store.conn()?)?;
        Ok(vec![learner_table(ctx.lang, tz, &rows)])
    };
    if let Some(id) = csv_requested(ctx)? {
        if !sees_all {
            return Err(WebError::Forbidden(
                "the list of learners is for staff".into(),
            ));
        }
        return csv_reply(&tables, list()?, id);
    }
    app.rendered.page(etag(ctx, &[&a]), || {
        let mut all = if sees_all { list()? } else { Vec::new() };
        sort_all(&tables, &mut all)?;
        let frame = frame(app, ctx, "learn.title");
        Ok(learning(&frame, &a, d, (&tables, all.first(), page)))
    })
}

/// The learners' table: each name leads to the learner's page.
fn learner_table(l: Lang, tz: chrono_tz::Tz, rows: &[LearnerRow]) -> Table {
    let mut table = Table::new(
        "learners",
        &[
            ("id", "#"),
            ("username", t(l, "learn.username")),
            ("name", t(l, "learn.name")),
            ("region", t(l, "learn.region")),
            ("last_active", t(l, "learn.last_active")),
            ("sessions", t(l, "learn.sessions_total")),
        ],
    );
    for r in rows {
        let href = format!("/learning/users/{}/", r.id);
        let last = match r.last_active_at {
            Some(at) => Cell::int(at).shown_as(local_time(at, tz)),
            None => Cell::opt(None, 0),
        };
        let username = match &r.username {
            Some(name) => Cell::text(name),
            None => Cell::text("").shown_as(t(l, "learn.no_profile")),
        };
        table.row(vec![
            Cell::id(r.id).link(href.clone()),
            username.link(href),
            Cell::text(r.display_name.clone().unwrap_or_default()),
            Cell::text(
                r.region
                    .as_deref()
                    .map(|g| region(l, g))
                    .unwrap_or_default(),
            ),
            last,
            Cell::int(r.sessions as i64),
        ]);
    }
    table
}

/// How the list agrees with the card: who has sessions, who has none yet.
fn learners_hint(l: Lang, table: &Table, with_sessions: u64) -> String {
    let without = (table.rows.len() as u64).saturating_sub(with_sessions);
    fill(
        l,
        "learn.list_hint",
        &[
            ("with", &numbers::whole(with_sessions as i64)),
            ("without", &numbers::whole(without as i64)),
        ],
    )
}

/// `/learning/`.
fn learning(
    frame: &Frame,
    answer: &Answer,
    d: &Learning,
    (tables, learners, page): (&Tables, Option<&Table>, u64),
) -> Markup {
    let l = frame.lang;
    let none = || t(l, "word.none").to_string();
    layout(
        frame,
        html! {
            h1 { (t(l, "learn.title")) }
            (badge(frame, answer))
            div.cards {
                (stat_card(t(l, "learn.total_users"), d.total_users.to_string()))
                (stat_card(t(l, "learn.active_7d"), d.active_users_7d.to_string()))
                (stat_card(t(l, "learn.today"), d.sessions_today.to_string()))
                (stat_card(t(l, "learn.week"), d.sessions_week.to_string()))
                (stat_card(t(l, "learn.avg_duration"), opt(d.avg_session_duration)))
                (stat_card(t(l, "learn.environment"), d.most_popular_environment.as_deref().map(|e| t(l, &format!("env.{e}")).to_string()).unwrap_or_else(none)))
                (stat_card(t(l, "learn.device"), d.most_popular_device.as_deref().map(|e| t(l, &format!("device.{e}")).to_string()).unwrap_or_else(none)))
            }
            @if let Some(table) = learners {
                section #learners-list {
                    h2 { (t(l, "learn.learners")) " (" (numbers::whole(table.rows.len() as i64)) ")" }
                    p.hint { (learners_hint(l, table, d.total_users)) }
                    @if table.rows.is_empty() { p.empty { (t(l, "empty.no_learners")) } } @else {
                        (paged_table(frame, tables, table, page))
                    }
                }
            } @else if let Some(a) = frame.account {
                p { a href={"/learning/users/" (a.id) "/"} { (t(l, "learn.your_page")) } }
            }
        },
    )
}
