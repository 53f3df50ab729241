//! `/learning/users/{id}/`: one learner's day, week, last 30 days and
//! courses, and for staff the form that adds or finishes a session.

use maud::{html, Markup};
use serde_json::{json, Map};

use super::{badge, frame, layout, opt, stat_card, Frame};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::{Analytics, Courses, Daily, Statistic, Weekly};
use crate::store;
use crate::web::app::{answer, etag, finish_session, user_keys, App};
use crate::web::charts::{bars, column_chart, fmt_num, Bar};
use crate::web::context::Ctx;
use crate::web::decode::{
    path_id, require_signed_in, require_writer, session_input, user_id, Body,
};
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;
use crate::writes::{self, FinishInput};

pub(crate) fn page(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let user = user_id(id)?;
    ctx.require_user_reader(app.public, user)?;
    let keys = user_keys(app, ctx, user)?;
    let answers: Vec<Answer> = keys
        .iter()
        .map(|k| answer(app, ctx, k))
        .collect::<Result<_, _>>()?;
    let (Statistic::Daily(d), Statistic::Weekly(w), Statistic::Analytics(a), Statistic::Courses(c)) = (
        &answers[0].entry.statistic,
        &answers[1].entry.statistic,
        &answers[2].entry.statistic,
        &answers[3].entry.statistic,
    ) else {
        unreachable!("user keys")
    };
    let active_sessions = if ctx.is_staff() {
        store::writes::active_sessions(&*app.cache.store().conn()?, user)?
    } else {
        Vec::new()
    };
    let view = UserView {
        user,
        active_sessions,
        daily: (&answers[0], d),
        weekly: (&answers[1], w),
        analytics: (&answers[2], a),
        courses: (&answers[3], c),
    };
    let shown: Vec<&Answer> = answers.iter().collect();
    app.rendered.page(etag(ctx, &shown), || {
        Ok(learner_view(&frame(app, ctx, "user.title"), &view))
    })
}

/// The four statistics of one user's page.
pub struct UserView<'a> {
    /// User id.
    pub user: i64,
    /// Running sessions (shown to staff with a finish button).
    pub active_sessions: Vec<(i64, String)>,
    /// Day and its answer.
    pub daily: (&'a Answer, &'a Daily),
    /// Week and its answer.
    pub weekly: (&'a Answer, &'a Weekly),
    /// Last 30 days.
    pub analytics: (&'a Answer, &'a Analytics),
    /// Courses.
    pub courses: (&'a Answer, &'a Courses),
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/learning/users/{id}/`.
fn learner_view(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let (da, d) = v.daily;
    let (wa, w) = v.weekly;
    let (aa, a) = v.analytics;
    let (ca, c) = v.courses;
    let week_bars = bars(
        &w.daily_breakdown,
        |b| b.date.format("%m-%d").to_string(),
        |b| b.duration_minutes as f64,
    );
    let hour_bars: Vec<Bar> = (0..24u32)
        .map(|h| Bar {
            label: h.to_string(),
            value: *a.peak_hours.get(&h).unwrap_or(&0) as f64,
            href: None,
        })
        .collect();
    layout(
        frame,
        html! {
            h1 { (t(l, "user.title")) " " (v.user) }
            section #daily {
                (badge(frame, da))
                h2 { (t(l, "user.today")) " " (d.date) }
                div.cards {
                    (stat_card(t(l, "user.sessions"), d.total_sessions.to_string()))
                    (stat_card(t(l, "user.minutes"), d.total_duration_minutes.to_string()))
                    (stat_card(t(l, "user.completed"), d.completed_sessions.to_string()))
                    (stat_card(t(l, "user.active"), d.active_sessions.to_string()))
                    (stat_card(t(l, "user.productive"), d.productive_sessions.to_string()))
                    (stat_card(t(l, "user.effectiveness"), opt(d.avg_effectiveness)))
                }
                p { (t(l, "user.environments")) ": " (counts(&d.environments)) " · " (t(l, "user.devices")) ": " (counts(&d.devices)) " · " (t(l, "user.subjects")) ": " (counts(&d.subjects)) }
            }
            section #weekly {
                (badge(frame, wa))
                h2 { (t(l, "user.week")) " " (w.week_start) " – " (w.week_end) }
                (column_chart(t(l, "user.week"), &week_bars))
                table { tr { th { "" } th { (t(l, "user.sessions")) } th { (t(l, "user.minutes")) } th { (t(l, "user.completed")) } }
                    @for b in &w.daily_breakdown { tr { td { (b.date) } td { (b.sessions) } td { (b.duration_minutes) } td { (b.completed) } } } }
                div.cards {
                    (stat_card(t(l, "user.active_days"), w.active_days.to_string()))
                    (stat_card(t(l, "user.streak"), w.longest_streak.to_string()))
                    (stat_card(t(l, "user.best_day"), w.most_productive_day.map(|d| d.to_string()).unwrap_or_else(|| "–".into())))
                    (stat_card(t(l, "user.consistency"), format!("{:.2}", w.consistency_score)))
                }
            }
            section #analytics {
                (badge(frame, aa))
                h2 { (t(l, "user.analytics")) }
                div.cards {
                    (stat_card(t(l, "user.sessions"), a.total_sessions.to_string()))
                    (stat_card(t(l, "user.effectiveness"), opt(a.avg_effectiveness)))
                    (stat_card(t(l, "user.focus"), opt(a.avg_focus_score)))
                    (stat_card(t(l, "learn.avg_duration"), opt(a.avg_duration_minutes)))
                    (stat_card(t(l, "user.trend"), t(l, &format!("trend.{}", a.improvement_trend)).to_string()))
                }
                h3 { (t(l, "user.peak_hours")) }
                (column_chart(t(l, "user.peak_hours"), &hour_bars))
                h3 { (t(l, "user.recommendations")) }
                ul.recommendations {
                    @for r in &a.recommendations { li data-code=(r.code) { (crate::i18n::recommendation(l, &r.code)) } }
                }
            }
            (courses_section(frame, ca, c))
            @if frame.staff() { (session_form(frame, v)) }
        },
    )
}

/// The course summary of the learner page.
fn courses_section(frame: &Frame, ca: &Answer, c: &Courses) -> Markup {
    let l = frame.lang;
    html! {
        section #courses {
            (badge(frame, ca))
            h2 { (t(l, "user.courses")) }
            div.cards {
                (stat_card(t(l, "user.courses"), c.total_courses.to_string()))
                (stat_card(t(l, "user.proficiency"), opt(c.avg_proficiency)))
                (stat_card(t(l, "user.hours_total"), fmt_num(c.total_hours)))
                (stat_card(t(l, "user.hours_week"), fmt_num(c.weekly_hours)))
                (stat_card(t(l, "user.completed"), c.completed_courses.to_string()))
            }
            p { (t(l, "user.subjects")) ": " (c.subjects.join(", ")) }
        }
    }
}

/// The staff's form to add a session, and finish buttons for running ones.
fn session_form(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let csrf = frame.csrf.unwrap_or("");
    html! {
        section #write {
            h2 { (t(l, "user.add_session")) }
            form.session method="post" action={"/learning/users/" (v.user) "/sessions"} {
                input type="hidden" name="csrf_token" value=(csrf);
                label { "start_time " input type="text" name="start_time" placeholder="2026-11-23T10:00:00+09:00"; }
                label { "duration_minutes " input type="number" name="duration_minutes" min="0" value="30"; }
                label { "effectiveness_rating " input type="number" name="effectiveness_rating" min="1" max="5"; }
                label { "focus_score " input type="number" name="focus_score" min="0" max="100" step="0.1"; }
                label { "environment " select name="environment" { option value="" {} @for e in ["home", "library", "office", "cafe", "classroom", "other"] { option value=(e) { (e) } } } }
                label { "device " select name="device" { option value="" {} @for d in ["desktop", "laptop", "tablet", "mobile", "other"] { option value=(d) { (d) } } } }
                label { "subject " input type="text" name="subject"; }
                button type="submit" { (t(l, "user.add_session")) }
            }
            @if !v.active_sessions.is_empty() {
                h3 { (t(l, "user.active")) }
                ul.active {
                    @for (id, start) in &v.active_sessions {
                        li {
                            (start) " "
                            form.inline method="post" action={"/learning/users/" (v.user) "/sessions/" (id) "/finish"} {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button type="submit" { (t(l, "user.finish")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The staff form of the learner page: the same rules as the API.
pub(crate) fn form_create_session(app: &App, ctx: &Ctx, uid: &str) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    require_signed_in(ctx)?;
    let form = ctx.form()?;
    require_writer(ctx, None, &form)?;
    let mut body = Map::new();
    for (field, kind) in [
        ("start_time", 's'),
        ("end_time", 's'),
        ("duration_minutes", 'i'),
        ("effectiveness_rating", 'i'),
        ("focus_score", 'f'),
        ("environment", 's'),
        ("device", 's'),
        ("subject", 's'),
    ] {
        let Some(text) = form.get(field).map(|t| t.trim()).filter(|t| !t.is_empty()) else {
            continue;
        };
        let value = match kind {
            'i' => text
                .parse::<i64>()
                .map(|v| json!(v))
                .map_err(|_| WebError::bad(field, format!("{text:?} is not an integer")))?,
            'f' => text
                .parse::<f64>()
                .map(|v| json!(v))
                .map_err(|_| WebError::bad(field, format!("{text:?} is not a number")))?,
            _ => json!(text),
        };
        body.insert(field.into(), value);
    }
    writes::create_session(&app.cache, session_input(&Body(body), user)?)?;
    Ok(back_to(user))
}

/// The finish button of the learner page.
pub(crate) fn form_finish_session(
    app: &App,
    ctx: &Ctx,
    uid: &str,
    sid: &str,
) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    require_signed_in(ctx)?;
    let form = ctx.form()?;
    require_writer(ctx, None, &form)?;
    let id = path_id(sid, "session")?;
    finish_session(app, id, FinishInput::default())?;
    Ok(back_to(user))
}

fn back_to(user: i64) -> Reply {
    Reply::Redirect(
        LocalPath::of(&format!("/learning/users/{user}/")),
        Vec::new(),
    )
}
