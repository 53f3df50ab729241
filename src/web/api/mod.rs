//! The JSON API under `/api/v1/`: one file per area. Handlers decode the
//! request into typed inputs, call the statistics, jobs or domain writes,
//! and encode the answer; the rules themselves live below the web layer.

pub(super) mod cache;
pub(super) mod recordings;
pub(super) mod sessions;
pub(super) mod stats;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::WebError;
use crate::clock::parse_instant;

/// A JSON object body with typed accessors whose errors name the field.
pub(super) struct Body(pub(super) Map<String, Value>);

impl Body {
    /// The request body as a JSON object (an empty body is an empty object).
    pub(super) fn parse(ctx: &Ctx) -> Result<Body, WebError> {
        let body = ctx.body()?;
        if body.is_empty() {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            Ok(_) => Err(WebError::bad("body", "expected a JSON object")),
            Err(e) => Err(WebError::bad("body", format!("malformed JSON: {e}"))),
        }
    }

    pub(super) fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn typed<T>(
        &self,
        field: &str,
        expected: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<T>, WebError> {
        self.get(field)
            .map(|v| read(v).ok_or_else(|| WebError::bad(field, expected)))
            .transpose()
    }

    pub(super) fn int(&self, field: &str) -> Result<Option<i64>, WebError> {
        self.typed(field, "must be an integer", Value::as_i64)
    }

    pub(super) fn req_int(&self, field: &str) -> Result<i64, WebError> {
        self.int(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    pub(super) fn float(&self, field: &str) -> Result<Option<f64>, WebError> {
        self.typed(field, "must be a number", Value::as_f64)
    }

    pub(super) fn req_float(&self, field: &str) -> Result<f64, WebError> {
        self.float(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    /// A non-empty string.
    pub(super) fn text(&self, field: &str) -> Result<Option<String>, WebError> {
        let text = self.typed(field, "must be a string", |v| {
            v.as_str().map(str::to_string)
        })?;
        Ok(text.filter(|s| !s.is_empty()))
    }

    /// The first of `fields` given (a field and its older aliases).
    pub(super) fn text_of(&self, fields: &[&str]) -> Result<Option<String>, WebError> {
        for field in fields {
            if let Some(text) = self.text(field)? {
                return Ok(Some(text));
            }
        }
        Ok(None)
    }

    /// An RFC 3339 timestamp with an offset, as µs.
    pub(super) fn time(&self, field: &str) -> Result<Option<i64>, WebError> {
        self.text(field)?
            .map(|t| {
                parse_instant(&t).ok_or_else(|| {
                    WebError::bad(
                        field,
                        format!("{t:?} is not an RFC 3339 timestamp with an offset"),
                    )
                })
            })
            .transpose()
    }

    pub(super) fn boolean(&self, field: &str) -> Result<Option<bool>, WebError> {
        self.typed(field, "must be true or false", Value::as_bool)
    }
}

/// An id in the path; anything but a positive integer is a 404.
pub(super) fn path_id(text: &str, what: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("{what} {text:?} not found")))
}

/// Someone is signed in: checked before a write reads its body, so an
/// anonymous client cannot make the server wait for one.
pub(super) fn require_signed_in(ctx: &Ctx) -> Result<(), WebError> {
    ctx.account
        .as_ref()
        .map(|_| ())
        .ok_or(WebError::Unauthorized)
}

/// Signed in, and allowed to write for `user` (themselves, or staff), with
/// the CSRF token in a header or in `form`. `None` means staff only.
pub(super) fn require_writer(
    ctx: &Ctx,
    user: Option<i64>,
    form: &std::collections::HashMap<String, String>,
) -> Result<(), WebError> {
    let account = ctx.account.as_ref().ok_or(WebError::Unauthorized)?;
    ctx.check_csrf(form)?;
    match user {
        Some(u) if !account.is_staff && account.id != u => Err(WebError::Forbidden(
            "you may write only your own data".into(),
        )),
        None if !account.is_staff => Err(WebError::Forbidden("staff only".into())),
        _ => Ok(()),
    }
}
