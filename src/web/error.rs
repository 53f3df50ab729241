//! HTTP errors in one place: every handler returns `Result<Reply,
//! WebError>`; this file maps the errors of the layers below to statuses,
//! keeping their cause for the log, and says what the client is told.

use serde_json::json;

use crate::cache::CacheError;
use crate::jobs::JobError;
use crate::stats::StatsError;
use crate::store::StoreError;
use crate::writes::WriteError;

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
    /// The server is at a limit it keeps on purpose (503), saying which.
    #[error("{0}")]
    Busy(&'static str),
    /// The database server cannot be reached (503); pages answer again
    /// when it is back, without a restart.
    #[error("store: {0}")]
    DatabaseAway(#[source] StoreError),
    /// The database failed (500).
    #[error("store: {0}")]
    Store(#[source] StoreError),
    /// The stats cache failed (500).
    #[error("cache: {0}")]
    Cache(#[source] CacheError),
    /// A job failed (500).
    #[error("job: {0}")]
    Job(#[source] JobError),
    /// The server itself failed: a socket, a thread (500).
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// A handler panicked (500), with the panic's message.
    #[error("panic: {0}")]
    Panic(String),
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
            WebError::Busy(_) | WebError::DatabaseAway(_) => 503,
            WebError::Store(_)
            | WebError::Cache(_)
            | WebError::Job(_)
            | WebError::Io(_)
            | WebError::Panic(_) => 500,
        }
    }

    /// What the client is told: the error itself, except for internal
    /// errors, whose text stays in the log under `request_id`.
    pub fn public_message(&self, request_id: &str) -> String {
        if let WebError::DatabaseAway(_) = self {
            return format!(
                "the database cannot be reached; this answers again by itself when it is back (request {request_id})"
            );
        }
        // A limit kept on purpose says which, so that a client knows to
        // come back.
        if let WebError::Busy(why) = self {
            return why.to_string();
        }
        if self.status() >= 500 {
            format!("internal error (request {request_id}; the server log has the details)")
        } else {
            self.to_string()
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

/// Seconds a client is asked to wait while the database is away.
pub const DATABASE_RETRY_SECS: u64 = 5;

/// Seconds a client is asked to wait when a limit kept on purpose (event
/// streams, manifests at once) is reached.
pub const BUSY_RETRY_SECS: u64 = 5;

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        if e.is_unreachable() {
            WebError::DatabaseAway(e)
        } else {
            WebError::Store(e)
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
            StatsError::UnknownSpeaker(s) => WebError::NotFound(format!("speaker {s} not found")),
            StatsError::BadParameter { param, reason } => WebError::bad(param, reason),
            StatsError::Store(s) => s.into(),
            e @ StatsError::Aggregates(_) => WebError::Cache(CacheError::Stats(e)),
        }
    }
}

impl From<CacheError> for WebError {
    fn from(e: CacheError) -> Self {
        match e.root() {
            CacheError::Stats(StatsError::UnknownUser(u)) => {
                WebError::NotFound(format!("user {u} not found"))
            }
            CacheError::Stats(StatsError::UnknownSpeaker(s)) => {
                WebError::NotFound(format!("speaker {s} not found"))
            }
            CacheError::Stats(StatsError::BadParameter { param, reason }) => {
                WebError::bad(param, reason.clone())
            }
            CacheError::Stats(StatsError::Store(StoreError::Unreachable { place, reason })) => {
                WebError::DatabaseAway(StoreError::Unreachable {
                    place: place.clone(),
                    reason: reason.clone(),
                })
            }
            _ => WebError::Cache(e),
        }
    }
}

impl From<WriteError> for WebError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid { field, reason } => WebError::bad(field, reason),
            WriteError::NotFound(what) => WebError::NotFound(format!("{what} not found")),
            WriteError::Conflict(why) => WebError::bad("body", why),
            WriteError::Store(e) => e.into(),
        }
    }
}

impl From<JobError> for WebError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Cache(e) => e.into(),
            JobError::Stats(e) => e.into(),
            JobError::Store(e) => e.into(),
            JobError::Invalid { field, reason } => WebError::bad(field, reason),
            JobError::NotCached(key) => WebError::NotFound(format!("{key}: not in the cache")),
            e @ JobError::AlreadyRunning(_) => WebError::Job(e),
        }
    }
}
