//! What every handler shares: [`App`] (the cache, the settings, the
//! counters), and the calls into the layers below that pages and the API
//! both make (reading a statistic for a request, running a job, finishing a
//! session).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::context::Ctx;
use super::error::WebError;
use super::reply::Reply;
use super::throttle;
use crate::cache::memo::Memo;
use crate::cache::{Answer, EntryInfo, Freshness};
use crate::clock::LocalTime;
use crate::jobs::warmup::WarmupScheduler;
use crate::jobs::{self, JobReport, JobRequest, Progress};
use crate::stats::key::{Filter, KeyKind};
use crate::stats::{parse_date, StatKey};
use crate::store::speakers::{self, SpeakerSummary};
use crate::store::StudySession;
use crate::writes::{self, FinishInput};

/// Requests served, by route and status, for `/metrics`.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    counts: Mutex<BTreeMap<(String, u16), u64>>,
}

impl RequestMetrics {
    pub(crate) fn count(&self, route: &str, status: u16) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((route.to_string(), status)).or_insert(0) += 1;
    }

    /// A snapshot: ((route, status), count).
    pub fn snapshot(&self) -> Vec<((String, u16), u64)> {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Everything a handler needs; shared by the workers. Dereferences to the
/// process's [`crate::App`] (store, cache, configuration), so a handler
/// hands itself to the jobs and writes it calls.
pub struct App {
    /// The store, the stats cache and the configuration.
    pub core: crate::App,
    /// Serve without sign-in.
    pub public: bool,
    /// Request counters.
    pub requests: RequestMetrics,
    /// The debounced warm-up after finished sessions.
    pub warmups: WarmupScheduler,
    /// Mark cookies `Secure` (TLS deployments).
    pub secure_cookies: bool,
    /// Failed sign-ins, per account and address.
    pub sign_ins: throttle::SignInThrottle,
    /// The speaker lists of group pages, per group revision.
    pub speaker_lists: SpeakerLists,
    /// The open event streams and their broadcaster.
    pub events: super::events::Broadcaster,
    /// The recording manifests being sent.
    pub manifests: super::manifest::Manifests,
    /// Pages and JSON answers rendered before, by their `ETag`.
    pub rendered: Rendered,
}

/// The speakers of a group with their totals, kept per group until a write
/// counted for the group changes its revision: paging through a group page
/// then costs no scan of its recordings. At most [`SpeakerLists::MAX`]
/// lists are kept.
pub struct SpeakerLists {
    lists: Memo<Filter, (u64, SpeakerList)>,
}

/// A group's speakers, most recordings first, shared between page views.
type SpeakerList = Arc<Vec<SpeakerSummary>>;

impl Default for SpeakerLists {
    fn default() -> Self {
        SpeakerLists {
            lists: Memo::new(Self::MAX),
        }
    }
}

impl SpeakerLists {
    /// Lists kept at most.
    pub const MAX: usize = 64;

    /// The speakers of `filter`, most recordings first.
    pub fn of(&self, app: &crate::App, filter: &Filter) -> Result<SpeakerList, WebError> {
        let group = filter.group();
        let conn = app.store.conn()?;
        let revision = speakers::group_revision(&conn, group)?;
        if let Some((rev, rows)) = self.lists.get(filter) {
            if rev == revision {
                return Ok(rows);
            }
        }
        let rows = Arc::new(speakers::speakers_of(&conn, group)?);
        self.lists
            .insert(filter.clone(), (revision, Arc::clone(&rows)));
        Ok(rows)
    }
}

impl std::ops::Deref for App {
    type Target = crate::App;
    fn deref(&self) -> &crate::App {
        &self.core
    }
}

/// The bytes of pages and JSON answers, by `ETag`. A tag names the entries
/// an answer shows (key, when computed, data revision, status, changes
/// since), the language, the viewer and the query, so an entry that changes
/// changes the tag, and an answer is rendered once per tag instead of once
/// per view. At most [`Rendered::MAX`] answers are kept.
pub struct Rendered {
    answers: Memo<String, Arc<Vec<u8>>>,
}

impl Default for Rendered {
    fn default() -> Self {
        Rendered {
            answers: Memo::new(Self::MAX),
        }
    }
}

impl Rendered {
    /// Answers kept at most.
    pub const MAX: usize = 512;

    /// The tagged answer of `tag`, rendered by `render` the first time.
    pub fn get_or(
        &self,
        tag: String,
        content_type: &'static str,
        render: impl FnOnce() -> Result<Vec<u8>, WebError>,
    ) -> Result<Reply, WebError> {
        let bytes = match self.answers.get(&tag) {
            Some(bytes) => bytes,
            None => {
                let bytes = Arc::new(render()?);
                self.answers.insert(tag.clone(), Arc::clone(&bytes));
                bytes
            }
        };
        Ok(Reply::Tagged(
            tag,
            Box::new(Reply::Bytes(content_type, bytes)),
        ))
    }

    /// A page, tagged and rendered once per tag.
    pub fn page(
        &self,
        tag: String,
        render: impl FnOnce() -> Result<maud::Markup, WebError>,
    ) -> Result<Reply, WebError> {
        self.get_or(tag, "text/html; charset=utf-8", || {
            Ok(render()?.into_string().into_bytes())
        })
    }

    /// A JSON answer, tagged and serialized once per tag.
    pub fn json(
        &self,
        tag: String,
        value: impl FnOnce() -> serde_json::Value,
    ) -> Result<Reply, WebError> {
        self.get_or(tag, "application/json; charset=utf-8", || {
            Ok(serde_json::to_vec(&value()).unwrap_or_default())
        })
    }
}

/// The `ETag` of an answer showing `answers` to the caller of `ctx`.
pub fn etag(ctx: &Ctx, answers: &[&Answer]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let viewer = match &ctx.account {
        Some(a) => format!("{}:{}", a.id, a.is_staff),
        None => "anonymous".into(),
    };
    // The date: a page's presets ("this month") move at midnight even when
    // its statistic does not.
    let today = ctx.today.to_string();
    for part in [
        env!("CARGO_PKG_VERSION"),
        &today,
        &ctx.path,
        &ctx.raw_query,
        ctx.lang.code(),
        &viewer,
        ctx.csrf.as_deref().unwrap_or(""),
        ctx.cookies
            .get(super::flash::COOKIE)
            .map_or("", String::as_str),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for a in answers {
        // The revision tells two computations apart even within one
        // microsecond (or under a pinned clock).
        let identity = format!(
            "{}|{}|{}|{}|{}",
            a.key,
            a.entry.computed_at,
            a.entry.revision,
            a.status.as_str(),
            a.changes_since
        );
        h.update(identity.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Runs a job for a web button or API call, through the same runner as the
/// CLI and the scheduler; its progress goes to the server log.
pub(crate) fn run_job(app: &App, ctx: &Ctx, request: JobRequest) -> Result<JobReport, WebError> {
    let mut log_line = |p: Progress| {
        if let Progress::Line(line) = p {
            log::info!("{line}");
        }
    };
    Ok(jobs::run(app, request, ctx.run_by(), &mut log_line)?)
}

/// Recomputes one entry now (`?refresh=1`, the Refresh buttons).
pub(crate) fn refresh_entry(app: &App, ctx: &Ctx, key: StatKey) -> Result<Answer, WebError> {
    let request = JobRequest::Stats {
        key,
        refresh: true,
        lang: ctx.lang,
    };
    run_job(app, ctx, request)?
        .into_answer()
        .ok_or_else(|| WebError::Panic("a stats job answered no statistic".into()))
}

/// The cache entries (of one kind), through the job runner like `cache ls`.
pub(crate) fn list_entries(
    app: &App,
    ctx: &Ctx,
    kind: Option<KeyKind>,
) -> Result<Vec<EntryInfo>, WebError> {
    match run_job(app, ctx, JobRequest::CacheList { kind })? {
        JobReport::CacheList(entries) => Ok(entries),
        _ => Err(WebError::Panic("cache ls answered no list".into())),
    }
}

/// Drops the entries under `prefix`; returns how many.
pub(crate) fn clear_entries(app: &App, ctx: &Ctx, prefix: String) -> Result<usize, WebError> {
    let report = run_job(app, ctx, JobRequest::CacheClear { prefix, kind: None })?;
    Ok(report.removed().unwrap_or(0))
}

/// Reads a statistic through the cache; `?refresh=1` from staff forces.
pub(crate) fn answer(app: &App, ctx: &Ctx, key: &StatKey) -> Result<Answer, WebError> {
    let force = ctx.query.get("refresh").is_some_and(|v| v == "1") && ctx.is_staff();
    if force {
        return refresh_entry(app, ctx, key.clone());
    }
    let mut answer = app.cache.get(key)?;
    // Right after the staff's Refresh button, the entry it computed is
    // shown as what it is: fresh.
    if let Some(flash) = ctx.flash() {
        if answer.status == Freshness::Cached && flash.refreshed(&key.to_string()) {
            answer.status = Freshness::Fresh;
        }
    }
    Ok(answer)
}

/// The four keys of a learner page, from `?date=` and `?week_start=`
/// (today and this week by default).
pub(crate) fn user_keys(app: &App, ctx: &Ctx, user: i64) -> Result<[StatKey; 4], WebError> {
    let config = &app.config;
    let today = config.local.date(config.clock.now_micros());
    let date = match ctx.query.get("date") {
        Some(d) => parse_date("date", d)?,
        None => today,
    };
    let monday = match ctx.query.get("week_start") {
        Some(d) => parse_date("week_start", d)?,
        None => LocalTime::monday_of(today),
    };
    Ok(StatKey::user_keys(user, date, monday)?)
}

/// Finishes a session and schedules its learner's warm-up.
pub(crate) fn finish_session(
    app: &App,
    id: i64,
    input: FinishInput,
) -> Result<StudySession, WebError> {
    let row = writes::finish_session(app, id, input)?;
    let delay = Duration::from_secs(app.config.cache.warmup_delay);
    app.warmups.session_finished(row.user_id, delay);
    Ok(row)
}
