//! The route table (method + path → handler) and the handlers. Each handler
//! returns `Result<Reply, WebError>`; `respond` turns either into a response.

use std::io::Cursor;

use maud::Markup;
use serde_json::json;

use super::context::{Ctx, SESSION_COOKIE};
use super::error::WebError;
use super::pages::{self, Frame};
use super::App;
use crate::accounts;
use crate::cache::Answer;
use crate::clock::LocalTime;
use crate::stats::{parse_date, StatKey, Statistic};
use crate::store::{self, accounts as account_store};

/// What a handler answers.
pub enum Reply {
    /// An HTML page.
    Html(Markup),
    /// A JSON document with a status.
    Json(u16, serde_json::Value),
    /// Plain text (metrics, health).
    Text(&'static str, String),
    /// A redirect (303 See Other), with cookies to set.
    Redirect(String, Vec<String>),
}

type Response = tiny_http::Response<Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

/// Reads, routes, answers. Returns the route label and status for metrics.
pub fn handle(app: &App, mut request: tiny_http::Request) -> (String, u16) {
    let (route, result, ctx) = match Ctx::read(app, &mut request) {
        Ok(ctx) => {
            let (route, result) = route(app, &ctx);
            (route, result, Some(ctx))
        }
        Err(e) => ("(unread)".to_string(), Err(e), None),
    };
    let is_api = request.url().starts_with("/api/v1/") || request.url().starts_with("/internal/");
    let mut response = match result {
        Ok(reply) => render(reply),
        Err(WebError::Unauthorized) if !is_api => {
            let next = request.url().to_string();
            render(Reply::Redirect(
                format!("/login/?next={}", encode(&next)),
                Vec::new(),
            ))
        }
        Err(e) => {
            let status = e.status();
            if status >= 500 {
                log::error!("{} {}: {e}", request.method(), request.url());
            }
            if is_api {
                render(Reply::Json(status, e.json()))
            } else {
                let body = format!(
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{status}</title></head><body><h1>{status}</h1><p>{}</p></body></html>",
                    maud::html! { (e.to_string()) }.into_string()
                );
                Response::from_data(body.into_bytes())
                    .with_status_code(status)
                    .with_header(header("Content-Type", "text/html; charset=utf-8"))
            }
        }
    };
    if let Some(ctx) = &ctx {
        if ctx.lang_from_query {
            response.add_header(header(
                "Set-Cookie",
                &format!(
                    "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
                    ctx.lang.code()
                ),
            ));
        }
    }
    let status = response.status_code().0;
    if let Err(e) = request.respond(response) {
        log::debug!("client went away: {e}");
    }
    (route, status)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn render(reply: Reply) -> Response {
    match reply {
        Reply::Html(markup) => Response::from_data(markup.into_string().into_bytes())
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        Reply::Json(status, value) => {
            Response::from_data(serde_json::to_vec(&value).expect("JSON"))
                .with_status_code(status)
                .with_header(header("Content-Type", "application/json; charset=utf-8"))
        }
        Reply::Text(kind, text) => {
            Response::from_data(text.into_bytes()).with_header(header("Content-Type", kind))
        }
        Reply::Redirect(to, cookies) => {
            let mut r = Response::from_data(Vec::new())
                .with_status_code(303)
                .with_header(header("Location", &to));
            for c in cookies {
                r.add_header(header("Set-Cookie", &c));
            }
            r
        }
    }
}

/// The route table.
fn route(app: &App, ctx: &Ctx) -> (String, Result<Reply, WebError>) {
    let segments: Vec<&str> = ctx.path.trim_matches('/').split('/').collect();
    let m = ctx.method.as_str();
    let (name, result) = match (m, segments.as_slice()) {
        ("GET", [""]) => (
            "/",
            Ok(Reply::Redirect("/audio/dashboard/".into(), Vec::new())),
        ),
        ("GET", ["healthz"]) => (
            "/healthz",
            Ok(Reply::Text("text/plain; charset=utf-8", "ok\n".into())),
        ),
        ("GET", ["metrics"]) => ("/metrics", metrics(app)),
        ("GET", ["login"]) => ("/login/", login_page(app, ctx)),
        ("POST", ["login"]) => ("/login/", login(app, ctx)),
        ("GET" | "POST", ["logout"]) => ("/logout/", logout(app, ctx)),
        ("GET", ["audio", "dashboard"]) => ("/audio/dashboard/", dashboard_page(app, ctx)),
        ("GET", ["api", "userprofile"]) => ("/api/userprofile/", locations_page(app, ctx)),
        ("GET", ["learning"]) => ("/learning/", learning_page(app, ctx)),
        ("GET", ["learning", "users", id]) => ("/learning/users/{id}/", user_page(app, ctx, id)),
        ("POST", ["refresh"]) => ("/refresh/", refresh_button(app, ctx)),
        ("GET", ["admin", "cache"]) => ("/admin/cache/", admin_page(app, ctx)),
        ("GET", ["admin", "maintenance"]) => ("/admin/maintenance/", maintenance_page(app, ctx)),
        ("POST", ["admin", "maintenance"]) => ("/admin/maintenance/", maintenance_run(app, ctx)),
        ("POST", ["admin", "cache", "clear"]) => ("/admin/cache/clear", admin_clear(app, ctx)),
        ("GET", ["api", "v1", "stats", which]) => {
            ("/api/v1/stats/{name}", shared_json(app, ctx, which))
        }
        ("GET", ["api", "v1", "users", id, "stats", which]) => (
            "/api/v1/users/{id}/stats/{name}",
            user_json(app, ctx, id, which),
        ),
        ("GET", ["api", "v1", "cache"]) => ("/api/v1/cache", cache_list_json(app, ctx)),
        ("POST", ["api", "v1", "cache", "refresh"]) => {
            ("/api/v1/cache/refresh", cache_refresh_json(app, ctx))
        }
        ("DELETE", ["api", "v1", "cache"]) => ("/api/v1/cache", cache_delete_json(app, ctx)),
        ("POST", ["api", "v1", "sessions"]) => {
            ("/api/v1/sessions", super::writes::create_session(app, ctx))
        }
        ("POST", ["api", "v1", "sessions", id, "finish"]) => (
            "/api/v1/sessions/{id}/finish",
            super::writes::finish_session(app, ctx, id),
        ),
        ("DELETE", ["api", "v1", "sessions", id]) => (
            "/api/v1/sessions/{id}",
            super::writes::delete_session(app, ctx, id),
        ),
        ("PUT", ["api", "v1", "users", uid, "progress", course]) => (
            "/api/v1/users/{id}/progress/{course}",
            super::writes::put_progress(app, ctx, uid, course),
        ),
        ("POST", ["api", "v1", "recordings"]) => (
            "/api/v1/recordings",
            super::writes::create_recording(app, ctx),
        ),
        ("POST", ["learning", "users", uid, "sessions"]) => (
            "/learning/users/{id}/sessions",
            super::writes::form_create_session(app, ctx, uid),
        ),
        ("POST", ["learning", "users", uid, "sessions", sid, "finish"]) => (
            "/learning/users/{id}/sessions/{id}/finish",
            super::writes::form_finish_session(app, ctx, uid, sid),
        ),
        ("POST", ["internal", "cli"]) => ("/internal/cli", super::client::control(app, ctx)),
        _ => (
            "(none)",
            Err(WebError::NotFound(format!("no page at {}", ctx.path))),
        ),
    };
    (name.to_string(), result)
}

fn frame<'a>(app: &App, ctx: &'a Ctx, title: &str) -> Frame<'a> {
    Frame {
        lang: ctx.lang,
        title: crate::i18n::t(ctx.lang, title).to_string(),
        account: ctx.account.as_ref(),
        csrf: ctx.csrf.as_deref(),
        path: &ctx.path,
        tz: app.cache.config().local.tz,
    }
}

/// Reads a statistic through the cache; `?refresh=1` from staff forces.
fn answer(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Answer, WebError> {
    let force = ctx.query.get("refresh").is_some_and(|v| v == "1") && ctx.is_staff();
    Ok(if force {
        app.cache.refresh(key)?
    } else {
        app.cache.get(key)?
    })
}

fn dashboard_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let a = answer(app, ctx, &StatKey::Dashboard)?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("dashboard key")
    };
    Ok(Reply::Html(pages::dashboard(
        &frame(app, ctx, "dash.title"),
        &a,
        d,
    )))
}

fn locations_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let a = answer(app, ctx, &StatKey::Locations)?;
    let Statistic::Locations(d) = &a.entry.statistic else {
        unreachable!("locations key")
    };
    let labels = region_labels(app)?;
    Ok(Reply::Html(pages::locations(
        &frame(app, ctx, "loc.title"),
        &a,
        d,
        &labels,
    )))
}

/// Region names at the coordinates of `ip_regions` (first row of each name).
fn region_labels(app: &App) -> Result<Vec<(String, f64, f64)>, WebError> {
    let conn = app.cache.store().conn()?;
    Ok(store::region_points(&conn)?)
}

fn learning_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let a = answer(app, ctx, &StatKey::Learning)?;
    let Statistic::Learning(d) = &a.entry.statistic else {
        unreachable!("learning key")
    };
    Ok(Reply::Html(pages::learning(
        &frame(app, ctx, "learn.title"),
        &a,
        d,
    )))
}

fn user_id(text: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::bad("id", format!("{text:?} is not a user id")))
}

/// The four keys of a user page, from `?date=` and `?week_start=`.
fn user_keys(app: &App, ctx: &Ctx, user: i64) -> Result<[StatKey; 4], WebError> {
    let config = app.cache.config();
    let today = config.local.date(config.clock.now_micros());
    let date = match ctx.query.get("date") {
        Some(d) => parse_date("date", d)?,
        None => today,
    };
    let monday = match ctx.query.get("week_start") {
        Some(d) => parse_date("week_start", d)?,
        None => LocalTime::monday_of(today),
    };
    Ok([
        StatKey::Daily { user, date },
        StatKey::weekly(user, monday)?,
        StatKey::Analytics { user },
        StatKey::Courses { user },
    ])
}

fn user_page(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let user = user_id(id)?;
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
    let view = pages::UserView {
        user,
        active_sessions,
        daily: (&answers[0], d),
        weekly: (&answers[1], w),
        analytics: (&answers[2], a),
        courses: (&answers[3], c),
    };
    Ok(Reply::Html(pages::user(
        &frame(app, ctx, "user.title"),
        &view,
    )))
}

fn refresh_button(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form();
    ctx.check_csrf(&form)?;
    let key = StatKey::parse(form.get("key").map(String::as_str).unwrap_or(""))?;
    app.cache.refresh(&key)?;
    let next = form
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/".into());
    Ok(Reply::Redirect(next, Vec::new()))
}

fn admin_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let config = app.cache.config();
    let conn = app.cache.store().conn()?;
    let size = |p: std::path::PathBuf| std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    let mut entries = app.cache.list()?;
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let view = pages::AdminView {
        entries,
        metrics: app.cache.metrics().snapshot(),
        tables: app.cache.store().table_counts()?,
        files: vec![
            (
                "voxdash.db".into(),
                size(config.db_path()) + size(config.data_dir.join("voxdash.db-wal")),
            ),
            ("stats.redb".into(), size(config.cache_path())),
        ],
        jobs: store::jobs::recent(&conn, None, 20)?,
        job_status: {
            let now = config.clock.now_micros();
            let mut lines = Vec::new();
            for job in crate::jobs::scheduler::jobs(&config.schedule) {
                let last = store::jobs::last(&conn, job.name)?;
                let line = match &last {
                    Some(r) => format!(
                        "last {}: {} at {}, {:.1} s",
                        job.name,
                        r.outcome,
                        pages::local_time(r.started_at, config.local.tz),
                        r.duration_ms / 1000.0
                    ),
                    None => format!("last {}: never", job.name),
                };
                lines.push((
                    line,
                    crate::jobs::scheduler::warning(&job, last.as_ref(), now),
                ));
            }
            lines
        },
    };
    Ok(Reply::Html(pages::admin_cache(
        &frame(app, ctx, "admin.title"),
        &view,
    )))
}

fn admin_clear(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form();
    ctx.check_csrf(&form)?;
    let prefix = form.get("prefix").cloned().unwrap_or_default();
    let n = app.cache.invalidate_prefix(&prefix)?;
    log::info!(
        "cache: {n} entries under {prefix:?} cleared by {}",
        ctx.account.as_ref().map_or("?", |a| &a.username)
    );
    Ok(Reply::Redirect("/admin/cache/".into(), Vec::new()))
}

fn maintenance_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let config = app.cache.config();
    let plan = crate::jobs::cleanup::plan(
        app.cache.store(),
        config,
        &crate::jobs::cleanup::CleanupOptions {
            dry_run: true,
            ..Default::default()
        },
    )?;
    let runs = store::jobs::recent(&*app.cache.store().conn()?, Some("cleanup"), 20)?;
    let view = pages::MaintenanceView {
        counts: plan.counts,
        runs,
    };
    Ok(Reply::Html(pages::maintenance(
        &frame(app, ctx, "maint.title"),
        &view,
    )))
}

fn maintenance_run(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form())?;
    crate::jobs::scheduler::run_job(&app.cache, "cleanup");
    Ok(Reply::Redirect("/admin/maintenance/".into(), Vec::new()))
}

fn login_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let next = ctx
        .query
        .get("next")
        .cloned()
        .unwrap_or_else(|| "/audio/dashboard/".into());
    Ok(Reply::Html(pages::login(
        &frame(app, ctx, "login.title"),
        false,
        &next,
    )))
}

fn login(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let form = ctx.form();
    let username = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let next = form
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/audio/dashboard/".into());
    let conn = app.cache.store().conn()?;
    let ok = match account_store::password_hash(&conn, username)? {
        Some((account, hash)) if accounts::verify_password(password, &hash) => Some(account),
        _ => None,
    };
    let Some(account) = ok else {
        log::info!("failed sign-in for {username:?}");
        return Ok(Reply::Html(pages::login(
            &frame(app, ctx, "login.title"),
            true,
            &next,
        )));
    };
    let token = accounts::new_token();
    let now = app.cache.config().clock.now_micros();
    let week = 7 * 86_400;
    account_store::create_web_session(
        &conn,
        &accounts::token_digest(&token),
        account.id,
        &accounts::new_token(),
        now,
        now + week * 1_000_000,
    )?;
    let cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={week}");
    Ok(Reply::Redirect(next, vec![cookie]))
}

fn logout(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if ctx.method == "POST" && ctx.account.is_some() {
        ctx.check_csrf(&ctx.form())?;
    }
    if let Some(token) = ctx.cookies.get(SESSION_COOKIE) {
        let conn = app.cache.store().conn()?;
        account_store::delete_web_session(
            &conn,
            &accounts::token_digest(token),
            app.cache.config().clock.now_micros(),
        )?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok(Reply::Redirect("/login/".into(), vec![clear]))
}

fn envelope(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let a = answer(app, ctx, key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

fn shared_json(app: &App, ctx: &Ctx, which: &str) -> Result<Reply, WebError> {
    let key = match which {
        "dashboard" => StatKey::Dashboard,
        "locations" => StatKey::Locations,
        "learning" => StatKey::Learning,
        other => return Err(WebError::NotFound(format!("no statistic {other:?}"))),
    };
    envelope(app, ctx, &key)
}

fn user_json(app: &App, ctx: &Ctx, id: &str, which: &str) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let user = user_id(id)?;
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

fn cache_list_json(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let list: Vec<serde_json::Value> = app
        .cache
        .list()?
        .into_iter()
        .map(|e| json!({"key": e.key, "status": e.status.as_str(), "age_s": e.age_secs, "ttl_s": e.ttl_secs, "size": e.size, "changes_since": e.changes_since}))
        .collect();
    Ok(Reply::Json(200, json!({"entries": list})))
}

fn cache_refresh_json(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form())?;
    let key = StatKey::parse(ctx.query.get("key").map(String::as_str).unwrap_or(""))?;
    let a = app.cache.refresh(&key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

fn cache_delete_json(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form())?;
    let prefix = ctx
        .query
        .get("prefix")
        .ok_or_else(|| WebError::bad("prefix", "required (empty for everything)"))?;
    let n = app.cache.invalidate_prefix(prefix)?;
    Ok(Reply::Json(200, json!({"removed": n})))
}

fn metrics(app: &App) -> Result<Reply, WebError> {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# HELP voxdash_http_requests_total Requests served, by route and status."
    );
    let _ = writeln!(s, "# TYPE voxdash_http_requests_total counter");
    for ((route, status), n) in app.requests.snapshot() {
        let _ = writeln!(
            s,
            "voxdash_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
        );
    }
    let snapshot = app.cache.metrics().snapshot();
    for (name, help, get) in [
        (
            "voxdash_cache_hits_total",
            "Cache answers within TTL.",
            Box::new(|m: &crate::cache::KindMetrics| m.hits as f64)
                as Box<dyn Fn(&crate::cache::KindMetrics) -> f64>,
        ),
        (
            "voxdash_cache_misses_total",
            "Keys computed because nothing was cached.",
            Box::new(|m| m.misses as f64),
        ),
        (
            "voxdash_cache_stale_total",
            "Stale answers served while recomputing.",
            Box::new(|m| m.stale as f64),
        ),
        (
            "voxdash_cache_computations_total",
            "Statistics computed.",
            Box::new(|m| m.computations as f64),
        ),
        (
            "voxdash_cache_compute_seconds_total",
            "Time spent computing.",
            Box::new(|m| m.compute_micros_sum as f64 / 1e6),
        ),
        (
            "voxdash_cache_compute_seconds_max",
            "Longest computation.",
            Box::new(|m| m.compute_micros_max as f64 / 1e6),
        ),
    ] {
        let kind = if name.ends_with("_max") {
            "gauge"
        } else {
            "counter"
        };
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (k, m) in &snapshot {
            let _ = writeln!(s, "{name}{{kind=\"{}\"}} {}", k.name(), get(m));
        }
    }
    Ok(Reply::Text("text/plain; version=0.0.4; charset=utf-8", s))
}
