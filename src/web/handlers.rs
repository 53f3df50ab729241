//! The route table (method + path → handler) and the handlers. Each handler
//! returns `Result<Reply, WebError>`; `respond` turns either into a response.

use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use maud::Markup;
use serde_json::json;

use super::context::{Ctx, SESSION_COOKIE};
use super::error::WebError;
use super::local_path::LocalPath;
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
    /// An HTML page that sets cookies.
    HtmlWithCookies(Markup, Vec<String>),
    /// A JSON document with a status.
    Json(u16, serde_json::Value),
    /// Plain text (metrics, health).
    Text(&'static str, String),
    /// A redirect (303 See Other) to a path of this server, with cookies to set.
    Redirect(LocalPath, Vec<String>),
}

type Response = tiny_http::Response<Cursor<Vec<u8>>>;

/// A header from text voxdash chose; a value that is not a valid header
/// (which no caller should pass) is left out rather than panicking.
fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    let ok = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if !ok {
        log::error!("header {name} with an invalid value left out");
        return None;
    }
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn with_header(mut response: Response, name: &str, value: &str) -> Response {
    if let Some(h) = header(name, value) {
        response.add_header(h);
    }
    response
}

/// Sent with every answer: no framing by other sites, no content sniffing.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
];

/// A short id for a request, in its log line and in a 500 answer.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What dispatching produced, besides the reply.
struct Dispatched {
    route: String,
    result: Result<Reply, WebError>,
    /// A language to remember in a cookie (`?lang=`).
    remember_lang: Option<crate::i18n::Lang>,
}

/// Reads, routes, answers one request. A failure inside (a panic included)
/// answers 500 for this request alone; the caller goes on. Returns the
/// route label and the status, for metrics.
pub fn handle(app: &App, request: tiny_http::Request) -> (String, u16) {
    handle_with(app, request, dispatch)
}

/// [`handle`] with the dispatch given, so a test can make it panic.
fn handle_with(
    app: &App,
    mut request: tiny_http::Request,
    dispatch: impl FnOnce(&App, &mut tiny_http::Request) -> Dispatched,
) -> (String, u16) {
    let id = request_id();
    let url = request.url().to_string();
    let method = request.method().to_string();
    let is_api = url.starts_with("/api/v1/") || url.starts_with("/internal/");
    let dispatched = std::panic::catch_unwind(AssertUnwindSafe(|| dispatch(app, &mut request)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Dispatched {
                route: "(panic)".into(),
                result: Err(WebError::Internal(format!("panic: {what}"))),
                remember_lang: None,
            }
        });
    let mut response = match dispatched.result {
        Ok(reply) => render(reply),
        Err(WebError::Unauthorized) if !is_api => render(Reply::Redirect(
            LocalPath::of(&format!("/login/?next={}", encode(&url))),
            Vec::new(),
        )),
        Err(e) => {
            let status = e.status();
            if status >= 500 {
                let path = url.split('?').next().unwrap_or("");
                log::error!("request {id}: {method} {path}: {e}");
            }
            let response = if is_api {
                render(Reply::Json(status, e.json(&id)))
            } else {
                let body = format!(
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{status}</title></head><body><h1>{status}</h1><p>{}</p><p><a href=\"/\">voxdash</a></p></body></html>",
                    maud::html! { (e.public_message(&id)) }.into_string()
                );
                with_header(
                    Response::from_data(body.into_bytes()).with_status_code(status),
                    "Content-Type",
                    "text/html; charset=utf-8",
                )
            };
            match e {
                WebError::Throttled(secs) => {
                    with_header(response, "Retry-After", &secs.to_string())
                }
                _ => response,
            }
        }
    };
    for (name, value) in SECURITY_HEADERS {
        response = with_header(response, name, value);
    }
    if let Some(lang) = dispatched.remember_lang {
        response = with_header(
            response,
            "Set-Cookie",
            &format!(
                "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
                lang.code()
            ),
        );
    }
    let status = response.status_code().0;
    if let Err(e) = request.respond(response) {
        log::debug!("client went away: {e}");
    }
    (dispatched.route, status)
}

/// Reads the request head, routes it and runs the handler.
fn dispatch(app: &App, request: &mut tiny_http::Request) -> Dispatched {
    match Ctx::read(app, request) {
        Ok(ctx) => {
            let (route, result) = route(app, &ctx);
            Dispatched {
                route,
                result,
                remember_lang: ctx.lang_from_query.then_some(ctx.lang),
            }
        }
        Err(e) => Dispatched {
            route: "(unread)".into(),
            result: Err(e),
            remember_lang: None,
        },
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
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
        Reply::Html(markup) => render(Reply::HtmlWithCookies(markup, Vec::new())),
        Reply::HtmlWithCookies(markup, cookies) => {
            let mut r = with_header(
                Response::from_data(markup.into_string().into_bytes()),
                "Content-Type",
                "text/html; charset=utf-8",
            );
            for c in cookies {
                r = with_header(r, "Set-Cookie", &c);
            }
            r
        }
        Reply::Json(status, value) => with_header(
            Response::from_data(serde_json::to_vec(&value).unwrap_or_default())
                .with_status_code(status),
            "Content-Type",
            "application/json; charset=utf-8",
        ),
        Reply::Text(kind, text) => {
            with_header(Response::from_data(text.into_bytes()), "Content-Type", kind)
        }
        Reply::Redirect(to, cookies) => {
            let mut r = with_header(
                Response::from_data(Vec::new()).with_status_code(303),
                "Location",
                to.as_str(),
            );
            for c in cookies {
                r = with_header(r, "Set-Cookie", &c);
            }
            r
        }
    }
}

/// The route table.
fn route(app: &App, ctx: &Ctx) -> (String, Result<Reply, WebError>) {
    let segments: Vec<&str> = ctx.path.trim_matches('/').split('/').collect();
    let m = ctx.method.as_str();
    // Bodies are read only by the handlers that need them, after they know
    // the caller, and never past this limit.
    ctx.body_limit.set(match (m, segments.first()) {
        ("GET" | "HEAD", _) => 0,
        (_, Some(&"api") | Some(&"internal")) => super::context::MAX_BODY,
        _ => super::context::MAX_FORM,
    });
    let (name, result) = match (m, segments.as_slice()) {
        ("GET", [""]) => (
            "/",
            Ok(Reply::Redirect(
                LocalPath::of("/audio/dashboard/"),
                Vec::new(),
            )),
        ),
        ("GET", ["healthz"]) => (
            "/healthz",
            Ok(Reply::Text("text/plain; charset=utf-8", "ok\n".into())),
        ),
        ("GET", ["metrics"]) => ("/metrics", metrics(app)),
        ("GET", ["login"]) => ("/login/", login_page(app, ctx)),
        ("POST", ["login"]) => ("/login/", login(app, ctx)),
        ("GET", ["logout"]) => ("/logout/", logout_page(app, ctx)),
        ("POST", ["logout"]) => ("/logout/", logout(app, ctx)),
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
    let user = user_id(id)?;
    ctx.require_user_reader(app, user)?;
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
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let key = StatKey::parse(form.get("key").map(String::as_str).unwrap_or(""))?;
    app.cache.refresh(&key)?;
    let next = LocalPath::or(form.get("next").map(String::as_str), "/");
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
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let prefix = form.get("prefix").cloned().unwrap_or_default();
    let n = app.cache.invalidate_prefix(&prefix)?;
    log::info!(
        "cache: {n} entries under {prefix:?} cleared by {}",
        ctx.account.as_ref().map_or("?", |a| &a.username)
    );
    Ok(Reply::Redirect(LocalPath::of("/admin/cache/"), Vec::new()))
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
        running: crate::jobs::lease::is_running(app.cache.store(), "cleanup"),
    };
    Ok(Reply::Html(pages::maintenance(
        &frame(app, ctx, "maint.title"),
        &view,
    )))
}

fn maintenance_run(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form()?)?;
    // The lease is taken here, so the page this redirects to already shows
    // the run; the run itself goes on in the background.
    if let Some(lease) = crate::jobs::scheduler::take_lease(&app.cache, "cleanup") {
        let cache = Arc::clone(&app.cache);
        std::thread::Builder::new()
            .name("cleanup (button)".into())
            .spawn(move || {
                crate::jobs::scheduler::run_leased(&cache, "cleanup", lease);
            })
            .map_err(|e| WebError::Internal(format!("cannot start cleanup: {e}")))?;
    }
    Ok(Reply::Redirect(
        LocalPath::of("/admin/maintenance/"),
        Vec::new(),
    ))
}

/// Name of the cookie holding the sign-in form's CSRF token (there is no
/// session yet to hold it: the form and the cookie must carry the same value).
const LOGIN_COOKIE: &str = "voxdash_login";

/// `; Secure` when the server runs behind TLS (`secure_cookies`).
fn secure(app: &App) -> &'static str {
    if app.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

fn login_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let next = LocalPath::or(
        ctx.query.get("next").map(String::as_str),
        "/audio/dashboard/",
    );
    login_form(app, ctx, false, &next)
}

/// The sign-in form with a new CSRF token, also set as a cookie.
fn login_form(app: &App, ctx: &Ctx, failed: bool, next: &LocalPath) -> Result<Reply, WebError> {
    let token = accounts::new_token();
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/login/; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(app)
    );
    Ok(Reply::HtmlWithCookies(
        pages::login(
            &frame(app, ctx, "login.title"),
            failed,
            next.as_str(),
            &token,
        ),
        vec![cookie],
    ))
}

fn login(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let form = ctx.form()?;
    let sent = form.get("csrf_token").map(String::as_str).unwrap_or("");
    let expected = ctx
        .cookies
        .get(LOGIN_COOKIE)
        .map(String::as_str)
        .unwrap_or("");
    if expected.is_empty() || !accounts::same_secret(expected, sent) {
        return Err(WebError::Forbidden(
            "the sign-in form expired; open the sign-in page again".into(),
        ));
    }
    let username = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let next = LocalPath::or(form.get("next").map(String::as_str), "/audio/dashboard/");
    let keys = app.sign_ins.keys(username, ctx.remote);
    app.sign_ins.check(&keys)?;
    let conn = app.cache.store().conn()?;
    let ok = match account_store::password_hash(&conn, username)? {
        Some((account, hash)) if accounts::verify_password(password, &hash) => Some(account),
        Some(_) => None,
        None => {
            accounts::verify_nothing(password);
            None
        }
    };
    let Some(account) = ok else {
        log::info!("failed sign-in for {username:?}");
        app.sign_ins.failed(&keys);
        return login_form(app, ctx, true, &next);
    };
    app.sign_ins.succeeded(&keys);
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
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={week}{}",
        secure(app)
    );
    let spent = format!("{LOGIN_COOKIE}=; Path=/login/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(Reply::Redirect(next, vec![cookie, spent]))
}

fn logout_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if ctx.account.is_none() {
        return Ok(Reply::Redirect(LocalPath::of("/login/"), Vec::new()));
    }
    Ok(Reply::Html(pages::logout(&frame(app, ctx, "nav.logout"))))
}

fn logout(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if ctx.account.is_some() {
        ctx.check_csrf(&ctx.form()?)?;
        if let Some(token) = ctx.cookies.get(SESSION_COOKIE) {
            let conn = app.cache.store().conn()?;
            account_store::delete_web_session(
                &conn,
                &accounts::token_digest(token),
                app.cache.config().clock.now_micros(),
            )?;
        }
    }
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(app)
    );
    Ok(Reply::Redirect(LocalPath::of("/login/"), vec![clear]))
}

fn envelope(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Reply, WebError> {
    ctx.require_reader(app)?;
    let a = answer(app, ctx, key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

fn shared_json(app: &App, ctx: &Ctx, which: &str) -> Result<Reply, WebError> {
    let key = StatKey::shared(which)
        .ok_or_else(|| WebError::NotFound(format!("no statistic {which:?}")))?;
    envelope(app, ctx, &key)
}

fn user_json(app: &App, ctx: &Ctx, id: &str, which: &str) -> Result<Reply, WebError> {
    let user = user_id(id)?;
    ctx.require_user_reader(app, user)?;
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
    ctx.check_csrf(&ctx.form()?)?;
    let key = StatKey::parse(ctx.query.get("key").map(String::as_str).unwrap_or(""))?;
    let a = app.cache.refresh(&key)?;
    Ok(Reply::Json(200, a.envelope(ctx.lang)))
}

fn cache_delete_json(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form()?)?;
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
    let _ = writeln!(
        s,
        "# HELP voxdash_job_last_success_timestamp_seconds When the last successful run of each job started (any process).\n# TYPE voxdash_job_last_success_timestamp_seconds gauge"
    );
    for (job, started) in store::jobs::last_successes(&*app.cache.store().conn()?)? {
        let _ = writeln!(
            s,
            "voxdash_job_last_success_timestamp_seconds{{job=\"{job}\"}} {}",
            started / 1_000_000
        );
    }
    Ok(Reply::Text("text/plain; version=0.0.4; charset=utf-8", s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_request_is_answered_500_and_the_next_one_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap());
        let config =
            crate::config::Config::with(dir.path(), chrono_tz::UTC, crate::clock::Clock::System);
        let cache = crate::cache::StatsCache::open(&config, store).unwrap();
        let server = crate::web::start(
            cache,
            &crate::web::ServeOptions {
                bind: "127.0.0.1:0".into(),
                public: false,
                threads: 1,
            },
        )
        .unwrap();
        let request = || {
            tiny_http::TestRequest::new()
                .with_method(tiny_http::Method::Get)
                .with_path("/healthz")
                .into()
        };
        for _ in 0..3 {
            let (route, status) =
                handle_with(&server.app, request(), |_, _| panic!("a bug in a handler"));
            assert_eq!((route.as_str(), status), ("(panic)", 500));
        }
        assert_eq!(handle(&server.app, request()).1, 200);
        server.shutdown();
    }
}
