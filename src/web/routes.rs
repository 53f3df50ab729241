//! The route table (method + path → handler) and the handling of one
//! request around it: reading its head, containing a panic, answering.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use super::app::App;
use super::context::Ctx;
use super::error::WebError;
use super::local_path::LocalPath;
use super::reply::{self, Reply};
use super::{api, events, metrics, pages};

/// `GET /healthz`: `ok`, or `degraded: …` (still 200: the node answers)
/// while the place of the stats cache cannot be reached or refuses to
/// store entries, and this node computes by itself; `unavailable: …` with 503 while the database cannot
/// be reached (a proxy in front sends requests to another node). Names the
/// place, never the low-level error.
fn healthz(app: &App) -> Reply {
    if app.store.health().is_err() {
        return Reply::Json(
            503,
            serde_json::json!({
                "error": format!("unavailable: the database at {} is unreachable", app.store.place()),
                "field": null,
            }),
        );
    }
    let text = match (app.cache.health(), app.cache.refusing_writes()) {
        (Err(_), _) => format!(
            "degraded: the stats cache at {} is unreachable; this node computes answers itself\n",
            app.cache.place()
        ),
        (Ok(()), Some(_)) => format!(
            "degraded: the stats cache at {} refuses writes (full?); this node computes answers itself\n",
            app.cache.place()
        ),
        (Ok(()), None) => "ok\n".to_string(),
    };
    Reply::Text("text/plain; charset=utf-8", text)
}

/// What dispatching produced, besides the reply.
struct Dispatched {
    route: String,
    result: Result<Reply, WebError>,
    /// A language to remember in a cookie (`?lang=`).
    remember_lang: Option<crate::i18n::Lang>,
    /// The request carried a one-time message, which this answer shows.
    flash_shown: bool,
    /// Who asked, in which language (for an error page).
    viewer: Option<pages::Viewer>,
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
    let id = reply::request_id();
    let url = request.url().to_string();
    let method = request.method().to_string();
    let is_api = url.starts_with("/api/v1/");
    let dispatched = std::panic::catch_unwind(AssertUnwindSafe(|| dispatch(app, &mut request)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Dispatched {
                route: "(panic)".into(),
                result: Err(WebError::Panic(what)),
                remember_lang: None,
                flash_shown: false,
                viewer: None,
            }
        });
    let (request, dispatched) = match hand_off_stream(app, request, dispatched) {
        Ok(handled) => return handled,
        Err(kept) => *kept,
    };
    let response = match dispatched.result {
        Ok(Reply::Tagged(tag, _)) if has_tag(&request, &tag) => reply::not_modified(&tag),
        Ok(answer) => reply::render(answer),
        Err(WebError::Unauthorized) if !is_api => {
            reply::render(Reply::Redirect(LocalPath::sign_in_then(&url), Vec::new()))
        }
        Err(e) => {
            if e.status() >= 500 {
                let path = url.split('?').next().unwrap_or("");
                log::error!("request {id}: {method} {path}: {e}");
            }
            let page = (!is_api)
                .then(|| pages::error_page(app, dispatched.viewer.as_ref(), &url, &e, &id));
            reply::error(&e, &id, page)
        }
    };
    let mut response = reply::with_common_headers(response, dispatched.remember_lang);
    if dispatched.flash_shown && response.status_code().0 == 200 {
        response = reply::with_cookie(response, &super::flash::Flash::spent(app.secure_cookies));
    }
    let status = response.status_code().0;
    if let Err(e) = request.respond(response) {
        log::debug!("client went away: {e}");
    }
    (dispatched.route, status)
}

/// Hands a connection that streams (events, a manifest) to its own
/// writer, off the worker: `Ok` with the route and status when it left,
/// `Err` with the request and what to answer when it stays here.
fn hand_off_stream(
    app: &App,
    mut request: tiny_http::Request,
    dispatched: Dispatched,
) -> Result<(String, u16), Box<(tiny_http::Request, Dispatched)>> {
    let dispatched = match dispatched.result {
        Ok(Reply::Events(subscriber)) => match app.events.admit(subscriber) {
            Ok(stream) => match request.into_socket() {
                Ok((socket, hold)) => {
                    app.events.open(stream, socket, hold);
                    return Ok((dispatched.route, 200));
                }
                Err(given_back) => {
                    app.events.forget(stream);
                    request = given_back;
                    Dispatched {
                        result: Err(WebError::Busy("event streams need a TCP connection")),
                        ..dispatched
                    }
                }
            },
            Err(events::Refused::Full) => Dispatched {
                result: Err(WebError::Busy(
                    "too many event streams are open; try again later",
                )),
                ..dispatched
            },
        },
        Ok(Reply::Manifest(manifest)) => match app.manifests.admit() {
            Some(place) => match request.into_socket() {
                Ok((socket, hold)) => {
                    super::manifest::send(Arc::clone(&app.store), place, manifest, socket, hold);
                    return Ok((dispatched.route, 200));
                }
                Err(given_back) => {
                    request = given_back;
                    Dispatched {
                        result: Err(WebError::Busy("a manifest needs a TCP connection")),
                        ..dispatched
                    }
                }
            },
            None => Dispatched {
                result: Err(WebError::Busy(
                    "two manifests are being sent; try again when one is done",
                )),
                ..dispatched
            },
        },
        _ => dispatched,
    };
    Err(Box::new((request, dispatched)))
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
                flash_shown: ctx.cookies.contains_key(super::flash::COOKIE),
                viewer: Some(pages::Viewer {
                    lang: ctx.lang,
                    account: ctx.account.clone(),
                    csrf: ctx.csrf.clone(),
                }),
            }
        }
        Err(e) => Dispatched {
            route: "(unread)".into(),
            result: Err(e),
            remember_lang: None,
            flash_shown: false,
            viewer: None,
        },
    }
}

/// Whether the request's `If-None-Match` names `tag`.
fn has_tag(request: &tiny_http::Request, tag: &str) -> bool {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("If-None-Match"))
        .any(|h| reply::matches_tag(h.value.as_str(), tag))
}

/// A route's label in metrics and logs, and its answer.
type Routed = (&'static str, Result<Reply, WebError>);

/// The route table: pages and forms first, then the JSON API. Bodies are
/// read only by the handlers that need them, after they know the caller,
/// and never past the limit set here.
fn route(app: &App, ctx: &Ctx) -> (String, Result<Reply, WebError>) {
    let segments: Vec<&str> = ctx.path.trim_matches('/').split('/').collect();
    // HEAD is answered as GET; tiny_http leaves the body out.
    let method = match ctx.method.as_str() {
        "HEAD" => "GET",
        other => other,
    };
    ctx.body_limit.set(match (method, segments.first()) {
        ("GET" | "HEAD", _) => 0,
        (_, Some(&"api")) => super::context::MAX_BODY,
        _ => super::context::MAX_FORM,
    });
    let (name, result) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => api_route(app, ctx, method, rest),
        _ => page_route(app, ctx, method, &segments),
    };
    (name.to_string(), result)
}

fn page_route(app: &App, ctx: &Ctx, method: &str, segments: &[&str]) -> Routed {
    use learner::SessionButton;
    use pages::{
        accounts, admin, dashboard, learner, learning, locations, maintenance, recordings, search,
        sign_in, speaker, uploads,
    };
    match (method, segments) {
        ("GET", [""]) => (
            "/",
            Ok(Reply::Redirect(
                LocalPath::of("/audio/dashboard/"),
                Vec::new(),
            )),
        ),
        ("GET", ["healthz"]) => ("/healthz", Ok(healthz(app))),
        ("GET", ["metrics"]) => ("/metrics", metrics::metrics(app)),
        ("GET", ["login"]) => ("/login/", sign_in::login_page(app, ctx)),
        ("POST", ["login"]) => ("/login/", sign_in::login(app, ctx)),
        ("GET", ["logout"]) => ("/logout/", sign_in::logout_page(app, ctx)),
        ("POST", ["logout"]) => ("/logout/", sign_in::logout(app, ctx)),
        ("GET", ["audio", "dashboard"]) => ("/audio/dashboard/", dashboard::page(app, ctx)),
        ("GET", ["audio", "recordings"]) => ("/audio/recordings/", recordings::page(app, ctx)),
        ("GET", ["search"]) => ("/search/", search::page(app, ctx)),
        ("GET", ["api", "userprofile"]) => ("/api/userprofile/", locations::page(app, ctx)),
        ("GET", ["api", "userprofile", "uploads"]) => {
            ("/api/userprofile/uploads/", uploads::page(app, ctx))
        }
        ("GET", ["audio", "speakers", id]) => {
            ("/audio/speakers/{id}/", speaker::page(app, ctx, id))
        }
        ("GET", ["learning"]) => ("/learning/", learning::page(app, ctx)),
        ("GET", ["learning", "users", id]) => {
            ("/learning/users/{id}/", learner::page(app, ctx, id))
        }
        ("POST", ["learning", "users", uid, "sessions"]) => (
            "/learning/users/{id}/sessions",
            learner::form_create_session(app, ctx, uid),
        ),
        ("POST", ["learning", "users", uid, "sessions", sid, "finish"]) => (
            "/learning/users/{id}/sessions/{id}/finish",
            learner::form_session_button(app, ctx, (uid, sid), SessionButton::Finish),
        ),
        ("POST", ["learning", "users", uid, "sessions", sid, "discard"]) => (
            "/learning/users/{id}/sessions/{id}/discard",
            learner::form_session_button(app, ctx, (uid, sid), SessionButton::Discard),
        ),
        ("POST", ["refresh"]) => ("/refresh/", admin::refresh_button(app, ctx)),
        ("GET", ["admin", "cache"]) => ("/admin/cache/", admin::page(app, ctx)),
        ("GET", ["admin", "cache", "clear"]) => {
            ("/admin/cache/clear", admin::confirm_clear(app, ctx))
        }
        ("POST", ["admin", "cache", "clear"]) => ("/admin/cache/clear", admin::clear(app, ctx)),
        ("GET", ["admin", "maintenance"]) => ("/admin/maintenance/", maintenance::page(app, ctx)),
        ("GET", ["admin", "maintenance", "run"]) => {
            ("/admin/maintenance/run", maintenance::confirm(app, ctx))
        }
        ("POST", ["admin", "maintenance"]) => ("/admin/maintenance/", maintenance::run(app, ctx)),
        ("GET", ["admin", "accounts"]) => ("/admin/accounts/", accounts::page(app, ctx)),
        ("POST", ["admin", "accounts"]) => ("/admin/accounts/", accounts::change(app, ctx)),
        _ => not_found(ctx),
    }
}

fn api_route(app: &App, ctx: &Ctx, method: &str, segments: &[&str]) -> Routed {
    use api::{cache, recordings, search, sessions, stats};
    match (method, segments) {
        ("GET", ["stats", which]) => ("/api/v1/stats/{name}", stats::shared(app, ctx, which)),
        ("GET", ["speakers", id, "stats"]) => {
            ("/api/v1/speakers/{id}/stats", stats::speaker(app, ctx, id))
        }
        ("GET", ["users", id, "stats", which]) => (
            "/api/v1/users/{id}/stats/{name}",
            stats::user(app, ctx, id, which),
        ),
        ("GET", ["events"]) => ("/api/v1/events", stats::events(app, ctx)),
        ("GET", ["search"]) => ("/api/v1/search", search::search(app, ctx)),
        ("GET", ["cache"]) => ("/api/v1/cache", cache::list(app, ctx)),
        ("POST", ["cache", "refresh"]) => ("/api/v1/cache/refresh", cache::refresh(app, ctx)),
        ("DELETE", ["cache"]) => ("/api/v1/cache", cache::clear(app, ctx)),
        ("POST", ["sessions"]) => ("/api/v1/sessions", sessions::create_session(app, ctx)),
        ("POST", ["sessions", id, "finish"]) => (
            "/api/v1/sessions/{id}/finish",
            sessions::finish_session(app, ctx, id),
        ),
        ("DELETE", ["sessions", id]) => (
            "/api/v1/sessions/{id}",
            sessions::delete_session(app, ctx, id),
        ),
        ("PUT", ["users", uid, "progress", course]) => (
            "/api/v1/users/{id}/progress/{course}",
            sessions::put_progress(app, ctx, uid, course),
        ),
        ("POST", ["recordings"]) => ("/api/v1/recordings", recordings::create_recording(app, ctx)),
        ("GET", ["recordings"]) => ("/api/v1/recordings", recordings::list(app, ctx)),
        _ => not_found(ctx),
    }
}

fn not_found(ctx: &Ctx) -> Routed {
    (
        "(none)",
        Err(WebError::NotFound(format!("no page at {}", ctx.path))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_request_is_answered_500_and_the_next_one_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            std::sync::Arc::new(crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap());
        let config =
            crate::config::Config::with(dir.path(), chrono_tz::UTC, crate::clock::Clock::System);
        let app = crate::App::open(&config, store).unwrap();
        let server = crate::web::start(
            app,
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
