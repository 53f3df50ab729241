//! Server-rendered pages (maud): the shared layout, the freshness badge and
//! one view per page, each taking a single view model.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::charts::{bar_chart, column_chart, dot_map, fmt_num, Bar, Dot};
use crate::cache::{Answer, EntryInfo, Freshness, KindMetrics};
use crate::i18n::{t, Lang};
use crate::stats::key::KeyKind;
use crate::stats::{Analytics, Courses, Daily, Dashboard, Learning, Locations, Weekly};
use crate::store::accounts::Account;
use crate::store::jobs::JobRun;

/// The stylesheet, compiled into the binary.
pub const STYLE: &str = include_str!("../../assets/style.css");

/// What every page needs besides its own content.
pub struct Frame<'a> {
    /// Language of all texts.
    pub lang: Lang,
    /// Page title.
    pub title: String,
    /// Signed-in account.
    pub account: Option<&'a Account>,
    /// CSRF token for forms.
    pub csrf: Option<&'a str>,
    /// Current path (for the language links and refresh redirects).
    pub path: &'a str,
    /// Zone of displayed times.
    pub tz: chrono_tz::Tz,
}

impl Frame<'_> {
    fn staff(&self) -> bool {
        self.account.is_some_and(|a| a.is_staff)
    }
}

/// Formats an instant in the configured zone.
pub fn local_time(micros: i64, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_micros(micros)
        .single()
        .map(|t| {
            t.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The shared layout with navigation.
pub fn layout(frame: &Frame, content: Markup) -> Markup {
    let l = frame.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · voxdash" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                nav {
                    a href="/audio/dashboard/" { (t(l, "nav.dashboard")) }
                    a href="/api/userprofile/" { (t(l, "nav.locations")) }
                    a href="/learning/" { (t(l, "nav.learning")) }
                    @if frame.staff() {
                        a href="/admin/cache/" { (t(l, "nav.cache")) }
                        a href="/admin/maintenance/" { (t(l, "nav.maintenance")) }
                    }
                    span.spacer {}
                    span.langs {
                        a href={(frame.path) "?lang=en"} { "EN" }
                        a href={(frame.path) "?lang=ko"} { "한국어" }
                        a href={(frame.path) "?lang=zh"} { "中文" }
                    }
                    @match frame.account {
                        Some(a) => {
                            span.who { (a.username) }
                            form.inline method="post" action="/logout/" {
                                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                                button type="submit" { (t(l, "nav.logout")) }
                            }
                        }
                        None => { a href="/login/" { (t(l, "nav.login")) } }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The freshness badge at the top of every stats page, with the staff's
/// refresh button.
pub fn badge(frame: &Frame, answer: &Answer) -> Markup {
    let l = frame.lang;
    let when = local_time(answer.entry.computed_at, frame.tz);
    let (class, text) = match answer.status {
        Freshness::Cached => (
            "badge cached",
            format!(
                "{} ({}: {when})",
                t(l, "badge.cached"),
                t(l, "badge.updated")
            ),
        ),
        Freshness::Fresh => (
            "badge fresh",
            format!(
                "{} ({}: {when})",
                t(l, "badge.fresh"),
                t(l, "badge.refreshed")
            ),
        ),
        Freshness::Stale => {
            let changes = if answer.changes_since > 0 {
                format!(", {} {}", answer.changes_since, t(l, "badge.changes"))
            } else {
                String::new()
            };
            (
                "badge stale",
                format!(
                    "{} ({}: {when}{changes}) — {}",
                    t(l, "badge.stale"),
                    t(l, "badge.updated"),
                    t(l, "badge.refreshing")
                ),
            )
        }
    };
    html! {
        div.badgebar {
            span class=(class) data-status=(answer.status.as_str()) { (text) }
            @if frame.staff() {
                form.inline method="post" action="/refresh/" {
                    input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                    input type="hidden" name="key" value=(answer.key.to_string());
                    input type="hidden" name="next" value=(frame.path);
                    button type="submit" { (t(l, "action.refresh")) }
                }
            }
        }
    }
}

fn group_name(l: Lang, name: &str) -> String {
    if name.is_empty() {
        t(l, "word.none").to_string()
    } else {
        name.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "–".into())
}

fn stat_card(label: &str, value: String) -> Markup {
    html! { div.card { div.value { (value) } div.label { (label) } } }
}

/// `/audio/dashboard/`.
pub fn dashboard(frame: &Frame, answer: &Answer, d: &Dashboard) -> Markup {
    let l = frame.lang;
    let cat: Vec<Bar> = d
        .by_category
        .iter()
        .map(|g| Bar {
            label: group_name(l, &g.category),
            value: g.recordings as f64,
        })
        .collect();
    let gender: Vec<Bar> = d
        .by_gender
        .iter()
        .map(|g| Bar {
            label: group_name(l, &g.gender),
            value: g.recordings as f64,
        })
        .collect();
    let snr: Vec<Bar> = d
        .snr
        .buckets
        .iter()
        .map(|b| Bar {
            label: t(l, &format!("snr.{}", b.label)).to_string(),
            value: b.recordings as f64,
        })
        .collect();
    let months: Vec<Bar> = d
        .monthly
        .iter()
        .map(|m| Bar {
            label: m.month.clone(),
            value: m.recordings as f64,
        })
        .collect();
    let diag: Vec<Bar> = d
        .by_diagnosis
        .iter()
        .map(|g| Bar {
            label: group_name(l, &g.diagnosis),
            value: g.recordings as f64,
        })
        .collect();
    layout(
        frame,
        html! {
            (badge(frame, answer))
            h1 { (t(l, "dash.title")) }
            div.cards {
                (stat_card(t(l, "dash.speakers"), d.total_speakers.to_string()))
                (stat_card(t(l, "dash.recordings"), d.total_recordings.to_string()))
                (stat_card(t(l, "dash.hours"), format!("{:.1}", d.total_duration_hours)))
            }
            section {
                h2 { (t(l, "dash.by_category")) }
                (bar_chart(t(l, "dash.by_category"), &cat))
                table { tr { th { (t(l, "dash.by_category")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } th { (t(l, "dash.hours")) } }
                    @for g in &d.by_category { tr { td { (group_name(l, &g.category)) } td { (g.speakers) } td { (g.recordings) } td { (format!("{:.2}", g.duration_hours)) } } } }
            }
            section {
                h2 { (t(l, "dash.by_gender")) }
                (bar_chart(t(l, "dash.by_gender"), &gender))
                table { tr { th { (t(l, "dash.by_gender")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } }
                    @for g in &d.by_gender { tr { td { (g.gender) } td { (g.speakers) } td { (g.recordings) } } } }
            }
            section {
                h2 { (t(l, "dash.snr")) }
                p { (d.snr.measured) " " (t(l, "dash.measured")) ", " (d.snr.unmeasured) " " (t(l, "dash.unmeasured")) "; "
                    (t(l, "dash.mean")) " " (opt(d.snr.mean_db)) " dB, " (t(l, "dash.median")) " " (opt(d.snr.median_db)) " dB" }
                (bar_chart(t(l, "dash.snr"), &snr))
            }
            section {
                h2 { (t(l, "dash.monthly")) }
                (column_chart(t(l, "dash.monthly"), &months))
                table { tr { th { "" } th { (t(l, "dash.recordings")) } th { (t(l, "dash.new_speakers")) } th { (t(l, "dash.hours")) } }
                    @for m in &d.monthly { tr { td { (m.month) } td { (m.recordings) } td { (m.new_speakers) } td { (format!("{:.2}", m.duration_hours)) } } } }
            }
            section {
                h2 { (t(l, "dash.by_diagnosis")) }
                (bar_chart(t(l, "dash.by_diagnosis"), &diag))
                table { tr { th { (t(l, "dash.by_diagnosis")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } th { (t(l, "dash.mean_snr")) } }
                    @for g in &d.by_diagnosis { tr { td { (group_name(l, &g.diagnosis)) } td { (g.speakers) } td { (g.recordings) } td { (opt(g.mean_snr_db)) } } } }
            }
        },
    )
}

/// `/api/userprofile/`.
pub fn locations(
    frame: &Frame,
    answer: &Answer,
    d: &Locations,
    labels: &[(String, f64, f64)],
) -> Markup {
    let l = frame.lang;
    let by_region: Vec<Bar> = d
        .by_region
        .iter()
        .map(|g| Bar {
            label: group_name(l, &g.region),
            value: g.uploads as f64,
        })
        .collect();
    let by_ip: Vec<Bar> = d
        .by_ip_region
        .iter()
        .map(|g| Bar {
            label: if g.region == "unknown" {
                t(l, "word.unknown").to_string()
            } else {
                g.region.clone()
            },
            value: g.uploads as f64,
        })
        .collect();
    let dots: Vec<Dot> = d
        .points
        .iter()
        .map(|p| Dot {
            lat: p.lat,
            lon: p.lon,
            count: p.uploads,
        })
        .collect();
    layout(
        frame,
        html! {
            (badge(frame, answer))
            h1 { (t(l, "loc.title")) }
            div.cards {
                (stat_card(t(l, "loc.uploads"), d.total_uploads.to_string()))
                (stat_card(t(l, "loc.regions"), d.total_regions.to_string()))
            }
            section {
                h2 { (t(l, "loc.map")) }
                (dot_map(t(l, "loc.map"), &dots, labels))
            }
            section {
                h2 { (t(l, "loc.by_region")) }
                (bar_chart(t(l, "loc.by_region"), &by_region))
                table { tr { th { (t(l, "loc.region")) } th { (t(l, "loc.uploads")) } th { (t(l, "dash.recordings")) } }
                    @for g in &d.by_region { tr { td { (group_name(l, &g.region)) } td { (g.uploads) } td { (g.recordings) } } } }
            }
            section {
                h2 { (t(l, "loc.by_ip_region")) }
                (bar_chart(t(l, "loc.by_ip_region"), &by_ip))
                table { tr { th { (t(l, "loc.region")) } th { (t(l, "loc.uploads")) } th { (t(l, "loc.distinct_ips")) } }
                    @for g in &d.by_ip_region { tr { td { (g.region) } td { (g.uploads) } td { (g.distinct_ips) } } } }
            }
        },
    )
}

/// `/learning/`.
pub fn learning(frame: &Frame, answer: &Answer, d: &Learning) -> Markup {
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
pub fn user(frame: &Frame, v: &UserView) -> Markup {
    let l = frame.lang;
    let (da, d) = v.daily;
    let (wa, w) = v.weekly;
    let (aa, a) = v.analytics;
    let (ca, c) = v.courses;
    let week_bars: Vec<Bar> = w
        .daily_breakdown
        .iter()
        .map(|b| Bar {
            label: b.date.format("%m-%d").to_string(),
            value: b.duration_minutes as f64,
        })
        .collect();
    let hour_bars: Vec<Bar> = (0..24u32)
        .map(|h| Bar {
            label: h.to_string(),
            value: *a.peak_hours.get(&h).unwrap_or(&0) as f64,
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
            @if frame.staff() { (session_form(frame, v)) }
        },
    )
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

/// What `/admin/cache/` shows.
pub struct AdminView {
    /// Every entry.
    pub entries: Vec<EntryInfo>,
    /// Metrics per kind.
    pub metrics: Vec<(KeyKind, KindMetrics)>,
    /// Rows per table.
    pub tables: Vec<(String, i64)>,
    /// (file, bytes).
    pub files: Vec<(String, u64)>,
    /// Latest job runs.
    pub jobs: Vec<JobRun>,
    /// One line per scheduled job: its last run, and a warning if any.
    pub job_status: Vec<(String, Option<String>)>,
}

/// `/admin/cache/`.
pub fn admin_cache(frame: &Frame, v: &AdminView) -> Markup {
    let l = frame.lang;
    let csrf = frame.csrf.unwrap_or("");
    layout(
        frame,
        html! {
            h1 { (t(l, "admin.title")) }
            table #entries {
                tr { th { (t(l, "admin.key")) } th { (t(l, "admin.status")) } th { (t(l, "admin.age")) } th { (t(l, "admin.ttl")) } th { (t(l, "admin.size")) } th { (t(l, "admin.changes")) } th {} }
                @for e in &v.entries {
                    tr data-key=(e.key) {
                        td { code { (e.key) } }
                        td { span class={"badge " (e.status.as_str())} { (e.status.as_str()) } }
                        td { (crate::jobs::refresh::human_secs(e.age_secs.max(0.0) as u64)) }
                        td { (crate::jobs::refresh::human_secs(e.ttl_secs)) }
                        td { (e.size) }
                        td { (e.changes_since) }
                        td {
                            form.inline method="post" action="/refresh/" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                input type="hidden" name="key" value=(e.key);
                                input type="hidden" name="next" value="/admin/cache/";
                                button type="submit" { (t(l, "action.refresh")) }
                            }
                            form.inline method="post" action="/admin/cache/clear" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                input type="hidden" name="prefix" value=(e.key);
                                button type="submit" { (t(l, "action.clear")) }
                            }
                        }
                    }
                }
            }
            form.inline method="post" action="/admin/cache/clear" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="prefix" value="";
                button type="submit" { (t(l, "admin.clear_all")) }
            }
            h2 { (t(l, "admin.hit_rates")) }
            table #metrics {
                tr { th { "kind" } th { "hits" } th { "misses" } th { "stale" } th { "computations" } th { "compute s" } th { "max ms" } th { "hit rate" } }
                @for (k, m) in &v.metrics {
                    tr { td { (k.name()) } td { (m.hits) } td { (m.misses) } td { (m.stale) } td { (m.computations) }
                         td { (format!("{:.3}", m.compute_micros_sum as f64 / 1e6)) } td { (format!("{:.1}", m.compute_micros_max as f64 / 1e3)) }
                         td { (m.hit_rate().map_or("–".to_string(), |r| format!("{:.0}%", r * 100.0))) } }
                }
            }
            h2 { (t(l, "admin.jobs")) }
            ul #job-status {
                @for (line, warn) in &v.job_status {
                    li { (line) @if let Some(w) = warn { " " span.error { "⚠ " (w) } } }
                }
            }
            table #jobs {
                @for j in &v.jobs {
                    tr { td { (j.job) } td { (j.outcome) } td { (local_time(j.started_at, frame.tz)) } td { (format!("{:.1} s", j.duration_ms / 1000.0)) } td { (j.summary) } }
                }
            }
            h2 { (t(l, "admin.tables")) }
            table #tables { @for (name, n) in &v.tables { tr { td { (name) } td { (n) } } } }
            h2 { (t(l, "admin.files")) }
            table #files { @for (name, n) in &v.files { tr { td { (name) } td { (format!("{:.1} MiB", *n as f64 / 1048576.0)) } } } }
        },
    )
}

/// What `/admin/maintenance/` shows.
pub struct MaintenanceView {
    /// (rule, rows a cleanup would act on now).
    pub counts: Vec<(String, u64)>,
    /// Latest cleanup runs.
    pub runs: Vec<JobRun>,
    /// A cleanup is running now (here or in another process).
    pub running: bool,
}

/// `/admin/maintenance/`.
pub fn maintenance(frame: &Frame, v: &MaintenanceView) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "maint.title")) }
            @if v.running {
                p #job-running .notice { (t(l, "maint.running")) " " a href="/admin/maintenance/" { (t(l, "maint.reload")) } }
            }
            table #dry-run { @for (rule, n) in &v.counts { tr data-rule=(rule) { td { (rule) } td { (n) } } } }
            form.inline method="post" action="/admin/maintenance/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                button type="submit" { (t(l, "maint.run")) }
            }
            h2 { (t(l, "admin.jobs")) }
            table #runs {
                @for j in &v.runs {
                    tr { td { (local_time(j.started_at, frame.tz)) } td { (j.outcome) } td { (format!("{:.1} s", j.duration_ms / 1000.0)) } td { (j.summary) } }
                }
            }
        },
    )
}

/// `/login/`; `token` is the sign-in form's CSRF token (also in a cookie).
pub fn login(frame: &Frame, failed: bool, next: &str, token: &str) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "login.title")) }
            @if failed { p.error { (t(l, "login.failed")) } }
            form.login method="post" action="/login/" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="csrf_token" value=(token);
                label { (t(l, "login.username")) input type="text" name="username" autofocus; }
                label { (t(l, "login.password")) input type="password" name="password"; }
                button type="submit" { (t(l, "login.title")) }
            }
        },
    )
}

/// `GET /logout/`: signing out is a POST (with a CSRF token), so a link or
/// an image elsewhere cannot sign anyone out; this page offers the button.
pub fn logout(frame: &Frame) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "nav.logout")) }
            form method="post" action="/logout/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                button type="submit" { (t(l, "nav.logout")) }
            }
        },
    )
}
