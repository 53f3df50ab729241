//! What a handler answers ([`Reply`]) and how it becomes an HTTP response:
//! content types, cookies, redirects, the security headers every answer
//! carries, and the error page or JSON error with its request id.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};

use cookie::{time::Duration, Cookie, SameSite};
use maud::Markup;

use super::error::WebError;
use super::local_path::LocalPath;
use crate::i18n::Lang;

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
    /// Bytes rendered before (a page or a JSON answer), with their type.
    Bytes(&'static str, std::sync::Arc<Vec<u8>>),
    /// An answer with an `ETag`: `304` when the client has it already.
    Tagged(String, Box<Reply>),
    /// The start of an event stream: the connection leaves the worker.
    Events(super::events::Subscriber),
    /// A recording manifest: the connection leaves the worker.
    Manifest(super::manifest::Manifest),
    /// A file to save (a table's CSV), with its file name.
    Download(String, Vec<u8>),
    /// A redirect (303 See Other) to a path of this server, with cookies to set.
    Redirect(LocalPath, Vec<String>),
}

/// An answer's bytes: made for this answer, or shared with the memo of
/// rendered answers (no copy per view).
pub enum Body {
    /// Made for this answer.
    Owned(Vec<u8>),
    /// Rendered before.
    Shared(std::sync::Arc<Vec<u8>>),
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        match self {
            Body::Owned(v) => v,
            Body::Shared(v) => v,
        }
    }
}

type Response = tiny_http::Response<Cursor<Body>>;

/// A 200 answer with `body`, sent with its `Content-Length` (never chunked:
/// the length is known, and a client reads it in one go).
fn response(body: Body) -> Response {
    let length = body.as_ref().len();
    tiny_http::Response::new(
        tiny_http::StatusCode(200),
        Vec::new(),
        Cursor::new(body),
        Some(length),
        None,
    )
    .with_chunked_threshold(usize::MAX)
}

fn owned(data: impl Into<Vec<u8>>) -> Response {
    response(Body::Owned(data.into()))
}

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
pub(super) fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub(super) fn render(reply: Reply) -> Response {
    match reply {
        Reply::Html(markup) => render(Reply::HtmlWithCookies(markup, Vec::new())),
        Reply::HtmlWithCookies(markup, cookies) => {
            let mut r = with_header(
                owned(markup.into_string().into_bytes()),
                "Content-Type",
                "text/html; charset=utf-8",
            );
            for c in cookies {
                r = with_header(r, "Set-Cookie", &c);
            }
            r
        }
        Reply::Json(status, value) => with_header(
            owned(serde_json::to_vec(&value).unwrap_or_default()).with_status_code(status),
            "Content-Type",
            "application/json; charset=utf-8",
        ),
        Reply::Text(kind, text) => with_header(owned(text.into_bytes()), "Content-Type", kind),
        Reply::Bytes(kind, bytes) => {
            with_header(response(Body::Shared(bytes)), "Content-Type", kind)
        }
        Reply::Tagged(tag, inner) => {
            let r = with_header(render(*inner), "ETag", &tag);
            with_header(r, "Cache-Control", "private, no-cache")
        }
        Reply::Download(name, body) => {
            let r = with_header(owned(body), "Content-Type", "text/csv; charset=utf-8");
            with_header(
                r,
                "Content-Disposition",
                &format!("attachment; filename=\"{name}\""),
            )
        }
        // Taken out of the worker before rendering (routes::handle); never here.
        Reply::Events(_) | Reply::Manifest(_) => render(Reply::Json(
            500,
            serde_json::json!({"error": "stream not opened", "field": null}),
        )),
        Reply::Redirect(to, cookies) => {
            let mut r = with_header(
                owned(Vec::new()).with_status_code(303),
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

/// A `Set-Cookie` value: HttpOnly unless it only carries a preference
/// (`lang`), `Secure` when the server runs behind TLS; `max_age` 0 deletes.
pub fn set_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    same_site: SameSite,
    max_age: i64,
    secure: bool,
) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(name != "lang")
        .same_site(same_site)
        .max_age(Duration::seconds(max_age))
        .secure(secure)
        .build()
        .to_string()
}

/// The answer to a failed request: JSON `{"error", "field"}` for the API
/// (`page` is `None`), the error page otherwise; internal errors say only
/// their request id.
pub fn error(e: &WebError, request_id: &str, page: Option<Markup>) -> Response {
    let status = e.status();
    let response = match page {
        None => render(Reply::Json(status, e.json(request_id))),
        Some(page) => with_header(
            owned(page.into_string().into_bytes()).with_status_code(status),
            "Content-Type",
            "text/html; charset=utf-8",
        ),
    };
    match e {
        WebError::Throttled(secs) => with_header(response, "Retry-After", &secs.to_string()),
        WebError::DatabaseAway(_) => with_header(
            response,
            "Retry-After",
            &super::error::DATABASE_RETRY_SECS.to_string(),
        ),
        WebError::Busy(_) => with_header(
            response,
            "Retry-After",
            &super::error::BUSY_RETRY_SECS.to_string(),
        ),
        _ => response,
    }
}

/// Adds what every answer carries: the security headers, and the language
/// cookie when `?lang=` chose one.
pub fn with_common_headers(mut response: Response, remember_lang: Option<Lang>) -> Response {
    for (name, value) in SECURITY_HEADERS {
        response = with_header(response, name, value);
    }
    if let Some(lang) = remember_lang {
        let cookie = set_cookie(
            "lang",
            lang.code().to_string(),
            "/",
            SameSite::Lax,
            31_536_000,
            false,
        );
        response = with_header(response, "Set-Cookie", &cookie);
    }
    response
}

/// Adds a `Set-Cookie` to an answer.
pub fn with_cookie(response: Response, cookie: &str) -> Response {
    with_header(response, "Set-Cookie", cookie)
}

/// The `304 Not Modified` answer to a tagged request the client has.
pub fn not_modified(tag: &str) -> Response {
    let r = with_header(owned(Vec::new()).with_status_code(304), "ETag", tag);
    with_header(r, "Cache-Control", "private, no-cache")
}

/// Whether an `If-None-Match` value names `tag` (or is `*`).
pub fn matches_tag(if_none_match: &str, tag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}
