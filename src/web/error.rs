//! HTTP errors in one place: every handler returns `Result<Response,
//! WebError>`, and this file turns an error into a status and an HTML or
//! JSON body.

use serde_json::json;

use crate::cache::CacheError;
use crate::stats::StatsError;
use crate::store::StoreError;

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A parameter or body field is malformed (400), naming it.
    #[error("{field}: {message}")]
    BadRequest {
        /// The parameter or field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Not signed in (401 for JSON, a redirect to /login/ for pages).
    #[error("sign-in required")]
    Unauthorized,
    /// Signed in but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such page or id (404).
    #[error("{0}")]
    NotFound(String),
    /// Body too large (413).
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    /// The body did not arrive in time (408).
    #[error("the request body did not arrive in time")]
    Timeout,
    /// Too many failed sign-ins (429), with the seconds to wait.
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    /// Anything else (500). The text goes to the log, never to the client.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    /// A 400 naming a field.
    pub fn bad(field: &str, message: impl Into<String>) -> WebError {
        WebError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            WebError::BadRequest { .. } => 400,
            WebError::Unauthorized => 401,
            WebError::Forbidden(_) => 403,
            WebError::NotFound(_) => 404,
            WebError::TooLarge(_) => 413,
            WebError::Timeout => 408,
            WebError::Throttled(_) => 429,
            WebError::Internal(_) => 500,
        }
    }

    /// What the client is told: the error itself, except for internal
    /// errors, whose text stays in the log under `request_id`.
    pub fn public_message(&self, request_id: &str) -> String {
        match self {
            WebError::Internal(_) => {
                format!("internal error (request {request_id}; the server log has the details)")
            }
            other => other.to_string(),
        }
    }

    /// The JSON body `{"error": ..., "field": ...}`.
    pub fn json(&self, request_id: &str) -> serde_json::Value {
        match self {
            WebError::BadRequest { field, message } => json!({"error": message, "field": field}),
            other => json!({"error": other.public_message(request_id), "field": null}),
        }
    }
}

impl From<crate::rules::Violation> for WebError {
    fn from(v: crate::rules::Violation) -> Self {
        WebError::bad(v.field, v.reason)
    }
}

impl From<StatsError> for WebError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::UnknownUser(u) => WebError::NotFound(format!("user {u} not found")),
            StatsError::BadParameter { param, reason } => WebError::bad(param, reason),
            StatsError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        log::error!("store: {e}");
        WebError::Internal(e.to_string())
    }
}

impl From<CacheError> for WebError {
    fn from(e: CacheError) -> Self {
        match e.root() {
            CacheError::Stats(StatsError::UnknownUser(u)) => {
                WebError::NotFound(format!("user {u} not found"))
            }
            CacheError::Stats(StatsError::BadParameter { param, reason }) => {
                WebError::bad(param, reason.clone())
            }
            other => {
                log::error!("cache: {other}");
                WebError::Internal(other.to_string())
            }
        }
    }
}
