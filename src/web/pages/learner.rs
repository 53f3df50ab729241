//! `/learning/users/{id}/`: one learner's day, week, last 30 days and
//! courses, and for staff the form that adds or finishes a session.

use maud::{html, Markup};
use serde_json::{json, Map};

use chrono::{Duration, NaiveDate};

use super::{badge_of, frame, layout, local_time, opt, stat_card, with_param, Frame};
use crate::cache::Answer;
use crate::clock::LocalTime;
use crate::i18n::{t, word, Lang};
use crate::stats::{parse_date, Analytics, Courses, Daily, Statistic, Weekly};
use crate::store;
use crate::web::app::{answer, etag, finish_session, user_keys, App};
use crate::web::charts::{bars, column_chart, fmt_num, Axis, Bar};
use crate::web::context::Ctx;
use crate::web::decode::{
    from_json, path_id, require_signed_in, require_writer, user_id, SessionBody,
};
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::numbers::whole;
use crate::web::reply::Reply;
use crate::writes::{self, FinishInput};

/// `GET /learning/users/{id}/[?date=&week_start=]`. A `week_start` that is
/// not a Monday leads to the week that holds it.
pub(crate) fn page(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    let user = user_id(id)?;
    ctx.require_user_reader(app.public, user)?;
    if let Some(monday) = week_to_snap(ctx)? {
        return Ok(Reply::Redirect(
            LocalPath::of(&with_param(
                &ctx.path,
                &ctx.raw_query,
                "week_start",
                &monday.to_string(),
            )),
            Vec::new(),
        ));
    }
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
    let conn = app.store.conn()?;
    let active_sessions = if ctx.is_staff() {
        store::writes::active_sessions(&conn, user)?
    } else {
        Vec::new()
    };
    let name = store::learners::learner_name(&conn, user)?;
    drop(conn);
    let view = UserView {
        user,
        name,
        active_sessions,
        day_ago: app.config.clock.now_micros() - DAY_MICROS,
        daily: (&answers[0], d),
        weekly: (&answers[1], w),
        analytics: (&answers[2], a),
        courses: (&answers[3], c),
    };
    let shown: Vec<&Answer> = answers.iter().collect();
    app.rendered.page(etag(ctx, &shown), || {
        Ok(learner_view(&frame(app, ctx, "user.title"), ctx, &view))
    })
}

/// µs in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The Monday to go to when `?week_start=` is a valid date but not a Monday.
fn week_to_snap(ctx: &Ctx) -> Result<Option<NaiveDate>, WebError> {
    let Some(text) = ctx.query.get("week_start") else {
        return Ok(None);
    };
    let date = parse_date("week_start", text)?;
    let monday = LocalTime::monday_of(date);
    Ok((monday != date).then_some(monday))
}

/// The four statistics of one user's page.
pub struct UserView<'a> {
    /// User id.
    pub user: i64,
    /// The learner's name, when they have a profile.
    pub name: Option<String>,
    /// Running sessions (id, start), shown to staff with a finish button.
    pub active_sessions: Vec<(i64, i64)>,
    /// A day before now (µs): running sessions that started earlier are
    /// probably forgotten, and are marked so.
    pub day_ago: i64,
    /// Day and its answer.
    pub daily: (&'a Answer, &'a Daily),
    /// Week and its answer.
    pub weekly: (&'a Answer, &'a Weekly),
    /// Last 30 days.
    pub analytics: (&'a Answer, &'a Analytics),
    /// Courses.
    pub courses: (&'a Answer, &'a Courses),
}

/// `home 3, library 1`, each word in the page's language.
fn counts(l: Lang, prefix: &str, map: &std::collections::BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "–".into();
    }
    map.iter()
        .map(|(k, v)| format!("{} {v}", word(l, prefix, k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the day and the week can be changed: previous / next links and a
/// date picker (a plain GET form, no script needed).
fn date_nav(frame: &Frame, ctx: &Ctx, day: NaiveDate, monday: NaiveDate) -> Markup {
    let l = frame.lang;
    let day_link = |d: NaiveDate| with_param(&ctx.path, &ctx.raw_query, "date", &d.to_string());
    let week_link =
        |d: NaiveDate| with_param(&ctx.path, &ctx.raw_query, "week_start", &d.to_string());
    html! {
        nav.dates aria-label=(t(l, "user.pick_day")) {
            form.pick method="get" action=(ctx.path) {
                @if ctx.lang_from_query { input type="hidden" name="lang" value=(l.code()); }
                label { (t(l, "user.pick_day")) " " input type="date" name="date" value=(day.to_string()) min="1970-01-01" max="2100-12-31"; }
                label { (t(l, "user.pick_week")) " " input type="date" name="week_start" value=(monday.to_string()) min="1970-01-01" max="2100-12-31"; }
                button type="submit" { (t(l, "user.show")) }
                " " a href=(ctx.path) { (t(l, "user.today_link")) }
            }
            p.steps {
                a rel="prev" href=(day_link(day - Duration::days(1))) { (t(l, "user.previous_day")) }
                a rel="next" href=(day_link(day + Duration::days(1))) { (t(l, "user.next_day")) }
                a.week rel="prev" href=(week_link(monday - Duration::days(7))) { (t(l, "user.previous_week")) }
                a.week rel="next" href=(week_link(monday + Duration::days(7))) { (t(l, "user.next_week")) }
            }
        }
    }
}

/// `/learning/users/{id}/`.
fn learner_view(frame: &Frame, ctx: &Ctx, v: &UserView) -> Markup {
    let l = frame.lang;
    let title = match &v.name {
        Some(name) => format!("{}: {name} (#{})", t(l, "user.title"), v.user),
        None => format!("{} #{}", t(l, "user.title"), v.user),
    };
    let c = v.courses.1;
    layout(
        frame,
        html! {
            h1 { (title) }
            (badge_of(frame, &[v.daily.0, v.weekly.0, v.analytics.0, v.courses.0]))
            (date_nav(frame, ctx, v.daily.1.date, v.weekly.1.week_start))
            (daily_section(frame, v))
            (weekly_section(frame, v))
            (analytics_section(frame, v))
            (courses_section(frame, c))
            @if frame.staff() { (session_form(frame, v)) }
        },
    )
}

/// The learner's day.
fn daily_section(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let d = v.daily.1;
    html! {
        section #daily {
            h2 { (t(l, "user.today")) " " (d.date) }
            p.hint { (t(l, "user.day_hint")) }
            div.cards {
                (stat_card(t(l, "user.sessions"), d.total_sessions.to_string()))
                (stat_card(t(l, "user.minutes"), d.total_duration_minutes.to_string()))
                (stat_card(t(l, "user.completed"), d.completed_sessions.to_string()))
                (stat_card(t(l, "user.active"), d.active_sessions.to_string()))
                (stat_card(t(l, "user.productive"), d.productive_sessions.to_string()))
                (stat_card(t(l, "user.effectiveness"), opt(d.avg_effectiveness)))
            }
            p { (t(l, "user.environments")) ": " (counts(l, "env", &d.environments)) " · " (t(l, "user.devices")) ": " (counts(l, "device", &d.devices)) " · " (t(l, "user.subjects")) ": " (counts(l, "", &d.subjects)) }
        }
    }
}

/// The learner's week, with its daily chart.
fn weekly_section(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let w = v.weekly.1;
    let week_bars = bars(
        &w.daily_breakdown,
        |b| b.date.format("%m-%d").to_string(),
        |b| b.duration_minutes as f64,
    );
    let minutes = Axis {
        title: t(l, "user.week"),
        unit: t(l, "unit.minutes"),
    };
    html! {
        section #weekly {
            h2 { (t(l, "user.week")) " " (w.week_start) " – " (w.week_end) }
            (column_chart(minutes, t(l, "axis.day"), &week_bars))
            div.table { table { thead { tr { th { (t(l, "axis.day")) } th { (t(l, "user.sessions")) } th { (t(l, "user.minutes")) } th { (t(l, "user.completed")) } } }
                tbody { @for b in &w.daily_breakdown { tr { td { (b.date) } td.num { (whole(b.sessions as i64)) } td.num { (whole(b.duration_minutes)) } td.num { (whole(b.completed as i64)) } } } } } }
            div.cards {
                (stat_card(t(l, "user.active_days"), w.active_days.to_string()))
                (stat_card(t(l, "user.streak"), w.longest_streak.to_string()))
                (stat_card(t(l, "user.best_day"), w.most_productive_day.map(|d| d.to_string()).unwrap_or_else(|| "–".into())))
                (stat_card(t(l, "user.consistency"), format!("{:.2}", w.consistency_score)))
            }
        }
    }
}

/// The learner's last 30 days: figures, peak hours, recommendations.
fn analytics_section(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let a = v.analytics.1;
    let hour_bars: Vec<Bar> = (0..24u32)
        .map(|h| Bar {
            label: h.to_string(),
            value: *a.peak_hours.get(&h).unwrap_or(&0) as f64,
            href: None,
        })
        .collect();
    let sessions = Axis {
        title: t(l, "user.peak_hours"),
        unit: t(l, "unit.sessions"),
    };
    html! {
        section #analytics {
            h2 { (t(l, "user.analytics")) }
            div.cards {
                (stat_card(t(l, "user.sessions"), a.total_sessions.to_string()))
                (stat_card(t(l, "user.effectiveness"), opt(a.avg_effectiveness)))
                (stat_card(t(l, "user.focus"), opt(a.avg_focus_score)))
                (stat_card(t(l, "learn.avg_duration"), opt(a.avg_duration_minutes)))
                (stat_card(t(l, "user.trend"), word(l, "trend", &a.improvement_trend)))
            }
            h3 { (t(l, "user.peak_hours")) }
            (column_chart(sessions, t(l, "axis.hour"), &hour_bars))
            h3 { (t(l, "user.recommendations")) }
            @if a.recommendations.is_empty() {
                p.empty { (t(l, "user.no_recommendations")) }
            } @else {
                ul.recommendations {
                    @for r in &a.recommendations { li data-code=(r.code) { (crate::i18n::recommendation(l, &r.code)) } }
                }
            }
        }
    }
}

/// The course summary of the learner page.
fn courses_section(frame: &Frame, c: &Courses) -> Markup {
    let l = frame.lang;
    html! {
        section #courses {
            h2 { (t(l, "user.courses")) }
            p.hint { (t(l, "user.courses_hint")) }
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
    let choice = |name: &str, prefix: &str, values: &[&str]| {
        html! {
            select name=(name) {
                option value="" { "–" }
                @for value in values { option value=(value) { (word(l, prefix, value)) } }
            }
        }
    };
    html! {
        section #write {
            h2 { (t(l, "user.add_session")) }
            form.session method="post" action={"/learning/users/" (v.user) "/sessions"} {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (t(l, "form.start_time")) input type="text" name="start_time" placeholder=(t(l, "form.now_hint")) title="2026-11-23T10:00:00+09:00"; }
                label { (t(l, "form.duration")) input type="number" name="duration_minutes" min="0" value="30"; }
                label { (t(l, "form.effectiveness")) input type="number" name="effectiveness_rating" min="1" max="5"; }
                label { (t(l, "form.focus")) input type="number" name="focus_score" min="0" max="100" step="0.1"; }
                label { (t(l, "form.environment")) (choice("environment", "env", &["home", "library", "office", "cafe", "classroom", "other"])) }
                label { (t(l, "form.device")) (choice("device", "device", &["desktop", "laptop", "tablet", "mobile", "other"])) }
                label { (t(l, "form.subject")) input type="text" name="subject"; }
                button type="submit" { (t(l, "user.add_session")) }
            }
            @if !v.active_sessions.is_empty() {
                h3 { (t(l, "user.active")) }
                ul.active {
                    @for (id, start) in &v.active_sessions {
                        li {
                            (t(l, "user.started")) " " (local_time(*start, frame.tz)) " "
                            @if *start < v.day_ago { span.error { "⚠ " (t(l, "user.running_old")) } " " }
                            form.inline method="post" action={"/learning/users/" (v.user) "/sessions/" (id) "/finish"} {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button type="submit" { (t(l, "user.finish")) }
                            }
                            " "
                            form.inline method="post" action={"/learning/users/" (v.user) "/sessions/" (id) "/discard"} {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button.danger type="submit" { (t(l, "user.discard")) }
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
    let body: SessionBody = from_json(serde_json::Value::Object(body))?;
    writes::create_session(app, body.input(user))?;
    Ok(back_to(user))
}

/// What a staff button does to a running session on the learner page.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SessionButton {
    /// End it now, like `POST /api/v1/sessions/{id}/finish`.
    Finish,
    /// Delete it (a forgotten one that should not count), like
    /// `DELETE /api/v1/sessions/{id}`.
    Discard,
}

/// The finish and discard buttons of the learner page.
pub(crate) fn form_session_button(
    app: &App,
    ctx: &Ctx,
    (uid, sid): (&str, &str),
    button: SessionButton,
) -> Result<Reply, WebError> {
    let user = path_id(uid, "user")?;
    require_signed_in(ctx)?;
    let form = ctx.form()?;
    require_writer(ctx, None, &form)?;
    let id = path_id(sid, "session")?;
    match button {
        SessionButton::Finish => {
            finish_session(app, id, FinishInput::default())?;
        }
        SessionButton::Discard => {
            writes::delete_session(app, id)?;
        }
    }
    Ok(back_to(user))
}

fn back_to(user: i64) -> Reply {
    Reply::Redirect(
        LocalPath::of(&format!("/learning/users/{user}/")),
        Vec::new(),
    )
}
