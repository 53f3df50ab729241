//! The one way a job runs: a typed [`JobRequest`], a runner that takes the
//! job's lease, reports progress through a callback, records the run once
//! and returns a typed [`JobReport`]. The CLI, the scheduler, the web
//! buttons and the control channel all come through here.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::cleanup::{self, CleanupOptions, CleanupReport};
use super::lease::{self, Lease};
use super::refresh::{self, human_secs, RefreshReport};
use super::warmup::{self, WarmupOptions, WarmupReport};
use super::JobName;
use crate::cache::{Answer, CacheError, EntryInfo};
use crate::i18n::Lang;
use crate::stats::key::KeyKind;
use crate::stats::{StatKey, StatsError};
use crate::store::jobs::{JobRun, RunBy};
use crate::store::{self, StoreError};
use crate::App;

/// What to run. Serialized as one JSON line on the control channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum JobRequest {
    /// Recompute shared statistics, in order (`refresh_dashboard_cache`).
    Refresh {
        /// The keys, shared ones.
        keys: Vec<StatKey>,
    },
    /// Warm entries ahead of readers (`CacheWarmupService`).
    Warmup(WarmupOptions),
    /// Per-user entries of many users (`precompute_cache`).
    Precompute {
        /// Only users active in the last `days_active` days.
        active_users_only: bool,
        /// Days that count as recent.
        days_active: u32,
    },
    /// Data hygiene (`cleanup_learning_data`).
    Cleanup(CleanupOptions),
    /// Drop cache entries past their TTL.
    Purge,
    /// List the cache entries (of one kind).
    CacheList {
        /// Only this kind.
        kind: Option<KeyKind>,
    },
    /// One entry as it is stored, without computing.
    CacheShow {
        /// Its key.
        key: StatKey,
    },
    /// Drop the entries under a prefix (all of them for `""`), of one kind.
    CacheClear {
        /// Key prefix.
        prefix: String,
        /// Only this kind.
        kind: Option<KeyKind>,
    },
    /// Hits, misses and compute time per key kind of the running process.
    CacheStats,
    /// One statistic through the cache, or recomputed.
    Stats {
        /// Which statistic.
        key: StatKey,
        /// Recompute instead of reading the cache.
        refresh: bool,
        /// Language of the envelope's texts.
        lang: Lang,
    },
}

impl JobRequest {
    /// A refresh of every shared statistic.
    pub fn refresh_all() -> JobRequest {
        JobRequest::Refresh {
            keys: StatKey::SHARED.to_vec(),
        }
    }

    /// The request the scheduler runs for the job `name` (for a warm-up,
    /// the default one).
    pub fn scheduled(name: JobName) -> JobRequest {
        match name {
            JobName::Refresh => JobRequest::refresh_all(),
            JobName::Warmup => JobRequest::Warmup(Default::default()),
            JobName::Precompute => JobRequest::Precompute {
                active_users_only: true,
                days_active: warmup::RECENT_DAYS,
            },
            JobName::Cleanup => JobRequest::Cleanup(CleanupOptions::default()),
            JobName::Purge => JobRequest::Purge,
        }
    }

    /// The job a run is leased and recorded as; `None` for reads and dry
    /// runs, which may run alongside anything and are not recorded.
    pub fn job_name(&self) -> Option<JobName> {
        match self {
            JobRequest::Refresh { .. } => Some(JobName::Refresh),
            JobRequest::Warmup(_) => Some(JobName::Warmup),
            JobRequest::Precompute { .. } => Some(JobName::Precompute),
            JobRequest::Cleanup(o) if !o.dry_run => Some(JobName::Cleanup),
            JobRequest::Purge => Some(JobName::Purge),
            _ => None,
        }
    }

    fn check(&self) -> Result<(), JobError> {
        match self {
            JobRequest::Cleanup(o) if o.batch_size == 0 => Err(JobError::Invalid {
                field: "--batch-size",
                reason: "must be at least 1".into(),
            }),
            JobRequest::Refresh { keys } if keys.iter().any(|k| !k.kind().is_shared()) => {
                Err(JobError::Invalid {
                    field: "--only",
                    reason: "only shared statistics are refreshed as a job".into(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Progress of a running job, as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// A line of the job's log (a refresh step, ...).
    Line(String),
    /// `done` of `total` items of `what` (keys, users) are done; sent at
    /// most about a hundred times per job.
    Count {
        /// What is counted (`warmup`, `precompute`).
        what: String,
        /// Items done.
        done: u64,
        /// Items in all.
        total: u64,
    },
}

/// What a job did.
#[derive(Debug, Clone)]
pub enum JobReport {
    /// A refresh: its steps.
    Refresh(RefreshReport),
    /// A warm-up.
    Warmup(WarmupReport),
    /// A precompute.
    Precompute(WarmupReport),
    /// A cleanup or its dry run.
    Cleanup(CleanupReport),
    /// Expired entries purged.
    Purged(usize),
    /// The cache entries.
    CacheList(Vec<EntryInfo>),
    /// One stored entry.
    CacheEntry(Answer),
    /// Entries removed.
    CacheCleared(usize),
    /// The metrics of the process that ran the request, as a table.
    CacheStats(String),
    /// A statistic, in the language asked for.
    Stats(Answer, Lang),
}

/// A report as text for people: what goes to standard output and to
/// standard error. The same whether the job ran here or in the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Printed {
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

impl JobReport {
    /// Whether the job did all it was asked.
    pub fn ok(&self) -> bool {
        match self {
            JobReport::Refresh(r) => r.ok(),
            JobReport::Warmup(r) | JobReport::Precompute(r) => r.failed.is_empty(),
            _ => true,
        }
    }

    /// One line for the job record.
    pub fn summary(&self) -> String {
        match self {
            JobReport::Refresh(r) => r.summary(),
            JobReport::Warmup(r) | JobReport::Precompute(r) => r.summary(),
            JobReport::Cleanup(r) => r.summary(),
            JobReport::Purged(n) => format!("{n} expired entries purged"),
            JobReport::CacheList(l) => format!("{} entries", l.len()),
            JobReport::CacheEntry(a) | JobReport::Stats(a, _) => a.key.to_string(),
            JobReport::CacheCleared(n) => format!("{n} entries removed"),
            JobReport::CacheStats(_) => "cache metrics".into(),
        }
    }

    /// The statistic or entry a `Stats` or `CacheShow` request answered.
    pub fn into_answer(self) -> Option<Answer> {
        match self {
            JobReport::Stats(a, _) | JobReport::CacheEntry(a) => Some(a),
            _ => None,
        }
    }

    /// How many entries a `CacheClear` or `Purge` removed.
    pub fn removed(&self) -> Option<usize> {
        match self {
            JobReport::CacheCleared(n) | JobReport::Purged(n) => Some(*n),
            _ => None,
        }
    }

    /// The report for people (a refresh printed its steps as progress).
    pub fn printed(&self) -> Printed {
        let mut p = Printed::default();
        match self {
            JobReport::Refresh(_) => {}
            JobReport::Warmup(r) | JobReport::Precompute(r) => {
                let what = if matches!(self, JobReport::Warmup(_)) {
                    "warmup"
                } else {
                    "precompute"
                };
                p.out = format!("{what}: {}\n", r.summary());
                for (key, e) in &r.failed {
                    p.err += &format!("failed: {key}: {e}\n");
                }
            }
            JobReport::Cleanup(r) => p.out = r.render(),
            JobReport::Purged(_) | JobReport::CacheCleared(_) => {
                p.err = format!("{}\n", self.summary())
            }
            JobReport::CacheList(entries) => p.out = entry_table(entries),
            JobReport::CacheEntry(a) => p.out = pretty(a, Lang::En),
            JobReport::Stats(a, lang) => p.out = pretty(a, *lang),
            JobReport::CacheStats(table) => {
                p.out = table.clone();
                p.err =
                    "(counters of this process; the server's are on /admin/cache/ and /metrics)\n"
                        .into();
            }
        }
        p
    }
}

fn pretty(answer: &Answer, lang: Lang) -> String {
    let json = serde_json::to_string_pretty(&answer.envelope(lang)).unwrap_or_default();
    format!("{json}\n")
}

fn entry_table(entries: &[EntryInfo]) -> String {
    let row = |cells: [&str; 6]| {
        format!(
            "{:<36} {:<7} {:>10} {:>8} {:>8} {:>8}\n",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        )
    };
    let mut s = row(["key", "status", "age", "ttl", "size", "changes"]);
    for e in entries {
        s += &row([
            &e.key,
            e.status.as_str(),
            &human_secs(e.age_secs.max(0.0) as u64),
            &human_secs(e.ttl_secs),
            &e.size.to_string(),
            &e.changes_since.to_string(),
        ]);
    }
    s
}

/// Why a job did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Another runner holds the job's lease.
    #[error("{0} is already running (in this or another voxdash process); not started")]
    AlreadyRunning(JobName),
    /// A parameter of the request is out of bounds.
    #[error("{field}: {reason}")]
    Invalid {
        /// The parameter, as the user wrote it (`--only`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `cache show` of a key with no entry.
    #[error("{0}: not in the cache")]
    NotCached(StatKey),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stats cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A statistic could not be computed.
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// A job whose lease is held, ready to run.
pub struct Started {
    app: App,
    request: JobRequest,
    by: RunBy,
    lease: Option<Lease>,
}

/// Checks `request` and takes its lease; the job has not started yet. A
/// caller that answers at once (a web button) takes the lease here and runs
/// the job in the background. `by` is who asked, as the job history will
/// name them.
pub fn begin(app: &App, request: JobRequest, by: RunBy) -> Result<Started, JobError> {
    request.check()?;
    let lease = match request.job_name() {
        Some(name) => Some(lease::take(&app.store, name)?.ok_or(JobError::AlreadyRunning(name))?),
        None => None,
    };
    Ok(Started {
        app: app.clone(),
        request,
        by,
        lease,
    })
}

/// Runs `request` to the end: [`begin`], then [`Started::run`].
pub fn run(
    app: &App,
    request: JobRequest,
    by: RunBy,
    progress: &mut dyn FnMut(Progress),
) -> Result<JobReport, JobError> {
    begin(app, request, by)?.run(progress)
}

impl Started {
    /// Runs the job, records the run (leased jobs only) and gives the lease
    /// back.
    pub fn run(self, progress: &mut dyn FnMut(Progress)) -> Result<JobReport, JobError> {
        let started_at = self.app.config.clock.now_micros();
        let clock = Instant::now();
        let result = execute(&self.app, &self.request, progress);
        if let Some(name) = self.request.job_name() {
            let (ok, summary) = match &result {
                Ok(report) => (report.ok(), report.summary()),
                Err(e) => (false, e.to_string()),
            };
            let run = JobRun {
                job: name.as_str().into(),
                started_at,
                duration_ms: clock.elapsed().as_secs_f64() * 1000.0,
                outcome: if ok { "ok" } else { "failed" }.into(),
                summary,
                ran_by: Some(self.by),
            };
            record(&self.app, &run);
        }
        drop(self.lease);
        result
    }
}

fn record(app: &App, run: &JobRun) {
    let recorded = app
        .store
        .conn()
        .and_then(|conn| store::jobs::record(&conn, run));
    if let Err(e) = recorded {
        log::warn!("could not record the {} run: {e}", run.job);
    }
    log::info!(
        "job {} ({}): {} in {:.1} s: {}",
        run.job,
        run.ran_by.as_ref().map_or("?".into(), RunBy::as_stored),
        run.outcome,
        run.duration_ms / 1000.0,
        run.summary
    );
}

/// Reports `done/total` at most about a hundred times, and always the last.
fn counter<'a>(what: &'a str, progress: &'a mut dyn FnMut(Progress)) -> impl FnMut(u64, u64) + 'a {
    move |done, total| {
        let step = (total / 100).max(1);
        if done % step == 0 || done == total {
            progress(Progress::Count {
                what: what.into(),
                done,
                total,
            });
        }
    }
}

fn execute(
    app: &App,
    request: &JobRequest,
    progress: &mut dyn FnMut(Progress),
) -> Result<JobReport, JobError> {
    Ok(match request {
        JobRequest::Refresh { keys } => JobReport::Refresh(refresh::refresh(app, keys, |line| {
            progress(Progress::Line(line.into()))
        })),
        JobRequest::Warmup(options) => {
            JobReport::Warmup(warmup::warmup(app, options, counter("warmup", progress))?)
        }
        JobRequest::Precompute {
            active_users_only,
            days_active,
        } => JobReport::Precompute(warmup::precompute(
            app,
            *active_users_only,
            *days_active,
            counter("precompute", progress),
        )?),
        JobRequest::Cleanup(options) => JobReport::Cleanup(cleanup::cleanup(
            &app.store,
            &app.config,
            Some(&app.cache),
            options,
        )?),
        JobRequest::Purge => JobReport::Purged(app.cache.purge_expired()?),
        JobRequest::CacheList { kind } => {
            let mut entries = app.cache.list()?;
            if let Some(kind) = kind {
                entries.retain(|e| StatKey::parse(&e.key).is_ok_and(|key| key.kind() == *kind));
            }
            JobReport::CacheList(entries)
        }
        JobRequest::CacheShow { key } => JobReport::CacheEntry(
            app.cache
                .peek(key)?
                .ok_or_else(|| JobError::NotCached(key.clone()))?,
        ),
        JobRequest::CacheClear { prefix, kind } => {
            JobReport::CacheCleared(app.cache.invalidate_prefix_of_kind(prefix, *kind)?)
        }
        JobRequest::CacheStats => JobReport::CacheStats(app.cache.metrics().render()),
        JobRequest::Stats { key, refresh, lang } => {
            let answer = if *refresh {
                app.cache.refresh(key)?
            } else {
                app.cache.get(key)?
            };
            JobReport::Stats(answer, *lang)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cross_the_wire_unchanged() {
        let requests = [
            JobRequest::refresh_all(),
            JobRequest::Cleanup(CleanupOptions::default()),
            JobRequest::Stats {
                key: StatKey::parse("user/3/weekly/2025-06-23").unwrap(),
                refresh: true,
                lang: Lang::Ko,
            },
        ];
        for request in requests {
            let line = serde_json::to_string(&request).unwrap();
            assert_eq!(serde_json::from_str::<JobRequest>(&line).unwrap(), request);
        }
        let forged =
            r#"{"job":"stats","key":"user/3/weekly/2025-06-24","refresh":false,"lang":"En"}"#;
        assert!(serde_json::from_str::<JobRequest>(forged).is_err());
    }
}
