//! One request as handlers see it: method, path, query, cookies, language,
//! the signed-in account (cookie session or API token) and the body.

use std::collections::HashMap;
use std::io::Read;

use super::error::WebError;
use super::App;
use crate::accounts::token_digest;
use crate::i18n::Lang;
use crate::store::accounts::{self, Account};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Name of the sign-in cookie.
pub const SESSION_COOKIE: &str = "voxdash_session";

/// A parsed request.
pub struct Ctx {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path without the query.
    pub path: String,
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
    /// Headers by lower-case name.
    pub headers: HashMap<String, String>,
    /// The body (at most 64 KiB).
    pub body: Vec<u8>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=two` (URL-encoded) into a map.
pub fn parse_form(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl Ctx {
    /// Reads a request: headers, query, cookies, body, language and account.
    pub fn read(app: &App, request: &mut tiny_http::Request) -> Result<Ctx, WebError> {
        let url = request.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let mut headers = HashMap::new();
        for h in request.headers() {
            headers.insert(
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            );
        }
        let cookies: HashMap<String, String> = headers
            .get("cookie")
            .map(|c| {
                c.split(';')
                    .filter_map(|p| p.trim().split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let query = parse_form(query);
        let from_query = query.get("lang").and_then(|l| Lang::parse(l));
        let lang = from_query
            .or_else(|| cookies.get("lang").and_then(|l| Lang::parse(l)))
            .or_else(|| {
                headers
                    .get("accept-language")
                    .map(|h| Lang::from_accept_language(h))
            })
            .unwrap_or_default();
        let mut body = Vec::new();
        if let Some(len) = request.body_length() {
            if len > MAX_BODY {
                return Err(WebError::TooLarge(MAX_BODY));
            }
        }
        request
            .as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| WebError::bad("body", e.to_string()))?;
        if body.len() > MAX_BODY {
            return Err(WebError::TooLarge(MAX_BODY));
        }
        let mut ctx = Ctx {
            method: request.method().to_string(),
            path: path.to_string(),
            query,
            cookies,
            lang,
            lang_from_query: from_query.is_some(),
            account: None,
            csrf: None,
            by_token: false,
            headers,
            body,
        };
        ctx.authenticate(app)?;
        Ok(ctx)
    }

    fn authenticate(&mut self, app: &App) -> Result<(), WebError> {
        let conn = app.cache.store().conn()?;
        if let Some(token) = self
            .headers
            .get("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            self.account = accounts::api_token_account(&conn, &token_digest(token.trim()))?;
            self.by_token = self.account.is_some();
            return Ok(());
        }
        if let Some(token) = self.cookies.get(SESSION_COOKIE) {
            let now = app.cache.config().clock.now_micros();
            if let Some((account, csrf)) = accounts::web_session(&conn, &token_digest(token), now)?
            {
                self.account = Some(account);
                self.csrf = Some(csrf);
            }
        }
        Ok(())
    }

    /// Whether a staff account is signed in.
    pub fn is_staff(&self) -> bool {
        self.account.as_ref().is_some_and(|a| a.is_staff)
    }

    /// Fails unless someone is signed in (or the server is public).
    pub fn require_reader(&self, app: &App) -> Result<(), WebError> {
        if app.public || self.account.is_some() {
            Ok(())
        } else {
            Err(WebError::Unauthorized)
        }
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
    pub fn form(&self) -> HashMap<String, String> {
        parse_form(&String::from_utf8_lossy(&self.body))
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
            (Some(expected), Some(sent)) if expected == sent => Ok(()),
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
}
