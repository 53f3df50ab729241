//! One request as handlers see it: method, path, query, cookies, language,
//! the signed-in account (cookie session or API token) and, read only when
//! a handler asks for it (after its route and its caller are known), the body.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, Instant};

use super::error::WebError;
use super::events::Credential;
use crate::accounts::token_digest;
use crate::i18n::Lang;
use crate::store::accounts::{self, Account};

/// Largest request body of the write API and the control channel.
pub const MAX_BODY: usize = 64 * 1024;

/// Largest body of a form (sign-in, buttons).
pub const MAX_FORM: usize = 16 * 1024;

/// Longest time a client may take to send a body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Name of the sign-in cookie.
pub const SESSION_COOKIE: &str = "voxdash_session";

/// A parsed request.
pub struct Ctx<'r> {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query as sent (without `?`), to come back to the same page.
    pub raw_query: String,
    /// Query parameters (last one wins).
    pub query: HashMap<String, String>,
    /// Cookies.
    pub cookies: HashMap<String, String>,
    /// Language of every text of the answer.
    pub lang: Lang,
    /// Whether `?lang=` asked for a language to remember.
    pub lang_from_query: bool,
    /// The signed-in account, if any.
    pub account: Option<Account>,
    /// The CSRF token of the browser session, if signed in by cookie.
    pub csrf: Option<String>,
    /// Signed in with an API token (no CSRF needed).
    pub by_token: bool,
    /// How the account signed in, when it did.
    pub credential: Option<Credential>,
    /// Headers by lower-case name.
    pub headers: HashMap<String, String>,
    /// The client's address (for sign-in throttling).
    pub remote: Option<std::net::IpAddr>,
    /// The local date when the request came: pages that name "this month"
    /// or "this week" change with it.
    pub today: chrono::NaiveDate,
    /// Largest body this request's route accepts (set by the route table).
    pub body_limit: Cell<usize>,
    /// Where the body comes from, until it is read.
    body_source: RefCell<Option<&'r mut dyn Read>>,
    /// Announced body length, if any.
    body_length: Option<usize>,
    /// The body, once read.
    body: OnceCell<Vec<u8>>,
}

/// Parses `a=1&b=two` (URL-encoded, `+` for space) into a map; the last
/// of a repeated name wins.
pub fn parse_form(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// The cookies of a `Cookie` header; pairs that do not parse are skipped.
fn parse_cookies(header: &str) -> HashMap<String, String> {
    cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .map(|c| (c.name().to_string(), c.value().to_string()))
        .collect()
}

impl<'r> Ctx<'r> {
    /// Reads a request's head: query, cookies, language and account. The
    /// body stays unread until [`Ctx::body`] is called.
    pub fn read(
        app: &crate::App,
        request: &'r mut tiny_http::Request,
    ) -> Result<Ctx<'r>, WebError> {
        let url = request.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let mut headers = HashMap::new();
        for h in request.headers() {
            headers.insert(
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            );
        }
        let cookies = headers
            .get("cookie")
            .map(|c| parse_cookies(c))
            .unwrap_or_default();
        let parsed_query = parse_form(query);
        let from_query = parsed_query.get("lang").and_then(|l| Lang::parse(l));
        let lang = from_query
            .or_else(|| cookies.get("lang").and_then(|l| Lang::parse(l)))
            .or_else(|| {
                headers
                    .get("accept-language")
                    .map(|h| Lang::from_accept_language(h))
            })
            .unwrap_or_default();
        let method = request.method().to_string();
        let peer = request.remote_addr().map(|a| a.ip());
        let remote = match peer {
            Some(p) if p.is_loopback() && app.config.server.trust_forwarded_for => headers
                .get("x-forwarded-for")
                .and_then(|v| v.rsplit(',').next())
                .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok())
                .or(peer),
            _ => peer,
        };
        let body_length = request.body_length();
        let mut ctx = Ctx {
            method,
            path: path.to_string(),
            raw_query: query.to_string(),
            query: parsed_query,
            cookies,
            lang,
            lang_from_query: from_query.is_some(),
            account: None,
            csrf: None,
            by_token: false,
            credential: None,
            headers,
            remote,
            today: app.config.local.date(app.config.clock.now_micros()),
            body_limit: Cell::new(0),
            body_source: RefCell::new(Some(request.as_reader())),
            body_length,
            body: OnceCell::new(),
        };
        ctx.authenticate(app)?;
        Ok(ctx)
    }

    /// The body, read on first use: at most [`Ctx::body_limit`] bytes (413
    /// beyond, without reading further) within ten seconds (408).
    pub fn body(&self) -> Result<&[u8], WebError> {
        if let Some(body) = self.body.get() {
            return Ok(body);
        }
        let limit = self.body_limit.get();
        if self.body_length.is_some_and(|n| n > limit) {
            return Err(WebError::TooLarge(limit));
        }
        let mut source = self.body_source.borrow_mut();
        let Some(reader) = source.take() else {
            return Ok(self.body.get_or_init(Vec::new));
        };
        let started = Instant::now();
        let mut body = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(WebError::Timeout)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(WebError::bad("body", "the body could not be read")),
            };
            if body.len() + n > limit {
                return Err(WebError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk[..n]);
            if started.elapsed() > BODY_TIMEOUT {
                return Err(WebError::Timeout);
            }
        }
        Ok(self.body.get_or_init(|| body))
    }

    fn authenticate(&mut self, app: &crate::App) -> Result<(), WebError> {
        // An anonymous request (most page views of a public server) needs
        // no connection at all.
        if !self.headers.contains_key("authorization") && !self.cookies.contains_key(SESSION_COOKIE)
        {
            return Ok(());
        }
        let conn = app.store.conn()?;
        if let Some(token) = self
            .headers
            .get("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            let digest = token_digest(token.trim());
            self.account = accounts::api_token_account(&conn, &digest)?;
            self.by_token = self.account.is_some();
            self.credential = self.by_token.then_some(Credential::Token(digest));
            return Ok(());
        }
        if let Some(token) = self.cookies.get(SESSION_COOKIE) {
            let now = app.config.clock.now_micros();
            let digest = token_digest(token);
            if let Some((account, csrf)) = accounts::web_session(&conn, &digest, now)? {
                self.account = Some(account);
                self.csrf = Some(csrf);
                self.credential = Some(Credential::Session(digest));
            }
        }
        Ok(())
    }

    /// The one-time message of the action that led here, if any.
    pub fn flash(&self) -> Option<super::flash::Flash> {
        self.cookies
            .get(super::flash::COOKIE)
            .and_then(|v| super::flash::Flash::parse(v))
    }

    /// Whether a staff account is signed in.
    pub fn is_staff(&self) -> bool {
        self.account.as_ref().is_some_and(|a| a.is_staff)
    }

    /// Fails unless someone is signed in (or the server is `public`).
    pub fn require_reader(&self, public: bool) -> Result<(), WebError> {
        if public || self.account.is_some() {
            Ok(())
        } else {
            Err(WebError::Unauthorized)
        }
    }

    /// Fails unless the caller may read `user`'s statistics: that user
    /// themselves or staff (403 for another learner). A server started with
    /// `--public` shows them to anyone not signed in, like every page.
    pub fn require_user_reader(&self, public: bool, user: i64) -> Result<(), WebError> {
        match &self.account {
            Some(a) if a.is_staff || a.id == user => Ok(()),
            Some(_) => Err(WebError::Forbidden(
                "you may read only your own statistics".into(),
            )),
            None if public => Ok(()),
            None => Err(WebError::Unauthorized),
        }
    }

    /// Who a job started by this request is recorded as: the signed-in
    /// account (staff, as only staff start jobs).
    pub fn run_by(&self) -> crate::store::jobs::RunBy {
        crate::store::jobs::RunBy::Staff(
            self.account
                .as_ref()
                .map_or_else(|| "unknown".into(), |a| a.username.clone()),
        )
    }

    /// Fails unless a staff account is signed in.
    pub fn require_staff(&self) -> Result<(), WebError> {
        match &self.account {
            None => Err(WebError::Unauthorized),
            Some(a) if a.is_staff => Ok(()),
            Some(_) => Err(WebError::Forbidden("staff only".into())),
        }
    }

    /// The form fields of a URL-encoded body.
    pub fn form(&self) -> Result<HashMap<String, String>, WebError> {
        Ok(parse_form(&String::from_utf8_lossy(self.body()?)))
    }

    /// Checks the CSRF token of a state-changing request from a browser
    /// session (form field `csrf_token` or header `X-CSRF-Token`). Requests
    /// signed with an API token need none.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), WebError> {
        if self.by_token {
            return Ok(());
        }
        let sent = form
            .get("csrf_token")
            .or_else(|| self.headers.get("x-csrf-token"));
        match (&self.csrf, sent) {
            (Some(expected), Some(sent)) if crate::accounts::same_secret(expected, sent) => Ok(()),
            _ => Err(WebError::Forbidden("missing or wrong CSRF token".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_percent_and_plus() {
        let f = parse_form("a=1&name=%EC%84%9C%EC%9A%B8+x&empty=&bad=%zz");
        assert_eq!(f["a"], "1");
        assert_eq!(f["name"], "서울 x");
        assert_eq!(f["empty"], "");
        assert_eq!(f["bad"], "%zz");
    }

    #[test]
    fn cookies_parse_and_skip_garbage() {
        let c = parse_cookies("voxdash_session=abc; lang=ko; junk; =x");
        assert_eq!(c["voxdash_session"], "abc");
        assert_eq!(c["lang"], "ko");
        assert!(!c.contains_key("junk"));
    }
}
