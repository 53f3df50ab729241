//! Decoding what clients send: JSON bodies with typed, field-naming
//! accessors, ids in the path, the typed input of a session write, and who
//! may write for whom.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::WebError;
use crate::clock::parse_instant;
use crate::stats::key::{Filter, KeyKind};
use crate::writes::SessionInput;

/// A JSON object body with typed accessors whose errors name the field.
pub(crate) struct Body(pub(crate) Map<String, Value>);

impl Body {
    /// The request body as a JSON object (an empty body is an empty object).
    pub(crate) fn parse(ctx: &Ctx) -> Result<Body, WebError> {
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

    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
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

    pub(crate) fn int(&self, field: &str) -> Result<Option<i64>, WebError> {
        self.typed(field, "must be an integer", Value::as_i64)
    }

    pub(crate) fn req_int(&self, field: &str) -> Result<i64, WebError> {
        self.int(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    pub(crate) fn float(&self, field: &str) -> Result<Option<f64>, WebError> {
        self.typed(field, "must be a number", Value::as_f64)
    }

    pub(crate) fn req_float(&self, field: &str) -> Result<f64, WebError> {
        self.float(field)?
            .ok_or_else(|| WebError::bad(field, "required"))
    }

    /// A non-empty string.
    pub(crate) fn text(&self, field: &str) -> Result<Option<String>, WebError> {
        let text = self.typed(field, "must be a string", |v| {
            v.as_str().map(str::to_string)
        })?;
        Ok(text.filter(|s| !s.is_empty()))
    }

    /// The first of `fields` given (a field and its older aliases).
    pub(crate) fn text_of(&self, fields: &[&str]) -> Result<Option<String>, WebError> {
        for field in fields {
            if let Some(text) = self.text(field)? {
                return Ok(Some(text));
            }
        }
        Ok(None)
    }

    /// An RFC 3339 timestamp with an offset, as µs.
    pub(crate) fn time(&self, field: &str) -> Result<Option<i64>, WebError> {
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

    pub(crate) fn boolean(&self, field: &str) -> Result<Option<bool>, WebError> {
        self.typed(field, "must be true or false", Value::as_bool)
    }
}

/// An id in the path; anything but a positive integer is a 404.
pub(crate) fn path_id(text: &str, what: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("{what} {text:?} not found")))
}

/// Someone is signed in: checked before a write reads its body, so an
/// anonymous client cannot make the server wait for one.
pub(crate) fn require_signed_in(ctx: &Ctx) -> Result<(), WebError> {
    ctx.account
        .as_ref()
        .map(|_| ())
        .ok_or(WebError::Unauthorized)
}

/// Signed in, and allowed to write for `user` (themselves, or staff), with
/// the CSRF token in a header or in `form`. `None` means staff only.
pub(crate) fn require_writer(
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

/// A user id in the path; anything but a positive integer is a 400.
pub(crate) fn user_id(text: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::bad("id", format!("{text:?} is not a user id")))
}

/// Decodes a new session of `user` from the JSON body (or a form turned
/// into one); `subject`, `environment` and `device` also accept their
/// column names.
pub(crate) fn session_input(body: &Body, user: i64) -> Result<SessionInput, WebError> {
    Ok(SessionInput {
        user_id: user,
        course_id: body.int("course_id")?,
        start_time: body.time("start_time")?,
        end_time: body.time("end_time")?,
        duration_minutes: body.int("duration_minutes")?,
        effectiveness_rating: body.int("effectiveness_rating")?,
        focus_score: body.float("focus_score")?,
        subject: body.text_of(&["subject", "subject_category"])?,
        environment: body.text_of(&["environment", "learning_environment"])?,
        device: body.text_of(&["device", "device_type"])?,
        is_active: body.boolean("is_active")?,
    })
}

/// The sub-corpus filter of the query (`category`, `diagnosis`, `gender`);
/// a parameter that is neither a filter nor in `allowed` is a 400 naming it.
pub(crate) fn filter_of(ctx: &Ctx, allowed: &[&str]) -> Result<Filter, WebError> {
    let mut filter = Filter::default();
    let mut names: Vec<&String> = ctx.query.keys().collect();
    names.sort();
    for name in names {
        if !filter.set(name, ctx.query[name].clone()) && !allowed.contains(&name.as_str()) {
            return Err(WebError::bad(name, "unknown parameter"));
        }
    }
    Ok(filter)
}

/// `?kind=` of a cache list (`dashboard`, `subcorpus`, `speaker`, `daily`, ...).
pub(crate) fn kind_of(ctx: &Ctx) -> Result<Option<KeyKind>, WebError> {
    match ctx.query.get("kind").filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(name) => KeyKind::parse(name)
            .map(Some)
            .map_err(|reason| WebError::bad("kind", reason)),
    }
}

/// `?page=` (1-based, default 1).
pub(crate) fn page_of(ctx: &Ctx) -> Result<u64, WebError> {
    match ctx.query.get("page") {
        None => Ok(1),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| WebError::bad("page", format!("{text:?} is not a page number"))),
    }
}
