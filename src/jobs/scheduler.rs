//! The in-process scheduler of `serve --scheduler`: the nightly refresh and
//! cleanup at local times, precompute and the purge of expired entries at
//! intervals. One thread runs the jobs one after another, so two runs of a
//! job never overlap; every run is recorded in `job_runs`; a run missed
//! while the server was down runs once at start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, TimeZone};

use super::{JobError, JobName, JobRequest, Progress};
use crate::clock::LocalTime;
use crate::config::ScheduleConfig;
use crate::store::jobs::{self as record, JobRun, RunBy};
use crate::App;

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every day at a local time.
    Daily(NaiveTime),
    /// Every so many seconds.
    Every(i64),
}

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Which job.
    pub name: JobName,
    /// Its timing.
    pub when: When,
}

/// The jobs of a schedule configuration.
pub fn jobs(config: &ScheduleConfig) -> Vec<Job> {
    vec![
        Job {
            name: JobName::Refresh,
            when: When::Daily(config.refresh_at),
        },
        Job {
            name: JobName::Cleanup,
            when: When::Daily(config.cleanup_at),
        },
        Job {
            name: JobName::Precompute,
            when: When::Every(config.precompute_every_minutes.max(1) as i64 * 60),
        },
        Job {
            name: JobName::Purge,
            when: When::Every(config.purge_every_minutes.max(1) as i64 * 60),
        },
    ]
}

/// The latest scheduled instant at or before `now` (µs).
pub fn last_slot(when: When, local: &LocalTime, now: i64) -> i64 {
    match when {
        When::Every(secs) => now - now.rem_euclid(secs * 1_000_000),
        When::Daily(at) => {
            let today = local.date(now);
            let slot = |d: chrono::NaiveDate| {
                local
                    .tz
                    .from_local_datetime(&d.and_time(at))
                    .earliest()
                    .map(|t| t.timestamp_micros())
                    .unwrap_or_else(|| local.start_of_day(d))
            };
            let t = slot(today);
            if t <= now {
                t
            } else {
                slot(today.pred_opt().expect("date in range"))
            }
        }
    }
}

/// Whether a job is due at `now`, given its last run. A daily job never run
/// waits for its first slot after `since` (the scheduler's start); an
/// interval job never run is due at once.
pub fn is_due(job: &Job, local: &LocalTime, last_run: Option<i64>, since: i64, now: i64) -> bool {
    let slot = last_slot(job.when, local, now);
    match (last_run, job.when) {
        (Some(last), _) => last < slot,
        (None, When::Every(_)) => true,
        (None, When::Daily(_)) => slot > since,
    }
}

/// What looks wrong with a scheduled job, for the admin page (which says
/// it in the reader's language) and the log (`Display`, in English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobWarning {
    /// The job has never run.
    NeverRan(JobName),
    /// Its last run failed, with that run's summary.
    Failed(JobName, String),
    /// It has not run for twice its period.
    Overdue(JobName),
}

impl std::fmt::Display for JobWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobWarning::NeverRan(job) => write!(f, "{job} has never run"),
            JobWarning::Failed(job, summary) => write!(f, "last {job} failed: {summary}"),
            JobWarning::Overdue(job) => write!(f, "{job} is overdue"),
        }
    }
}

/// Whether a job looks overdue or broken for the admin page: its last run
/// failed, or it has not run for twice its period.
pub fn warning(job: &Job, last: Option<&JobRun>, now: i64) -> Option<JobWarning> {
    let period = match job.when {
        When::Daily(_) => 86_400,
        When::Every(s) => s,
    } * 1_000_000;
    match last {
        None => Some(JobWarning::NeverRan(job.name)),
        Some(run) if run.outcome != "ok" => Some(JobWarning::Failed(job.name, run.summary.clone())),
        Some(run) if now - run.started_at > 2 * period => Some(JobWarning::Overdue(job.name)),
        _ => None,
    }
}

/// Runs the scheduled job `name` through the runner, its log lines going
/// to the server log. A job already running elsewhere is skipped (logged).
pub fn run_scheduled(app: &App, name: JobName) {
    let request = JobRequest::scheduled(name);
    let mut log_line = |p: Progress| {
        if let Progress::Line(line) = p {
            log::info!("{line}");
        }
    };
    match super::run(app, request, RunBy::Scheduler, &mut log_line) {
        Ok(_) => {}
        Err(JobError::AlreadyRunning(_)) => {
            log::info!("job {name}: already running, not started again")
        }
        Err(e) => log::warn!("job {name}: {e}"),
    }
}

/// The scheduler thread; stops when dropped.
pub struct Scheduler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scheduler {
    /// Starts checking every `tick` which jobs are due, running them in turn.
    pub fn start(app: App, tick: Duration) -> Scheduler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || {
                let config = app.config.clone();
                let jobs = jobs(&config.schedule);
                let since = config.clock.now_micros();
                while !flag.load(Ordering::SeqCst) {
                    let now = config.clock.now_micros();
                    for job in &jobs {
                        let last = app
                            .store
                            .conn()
                            .ok()
                            .and_then(|c| record::last(&c, job.name.as_str()).ok().flatten());
                        if is_due(job, &config.local, last.map(|r| r.started_at), since, now) {
                            run_scheduled(&app, job.name);
                        }
                    }
                    let until = Instant::now() + tick;
                    while Instant::now() < until && !flag.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
            .expect("spawn scheduler");
        Scheduler {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::lease;

    fn at(s: &str) -> i64 {
        crate::clock::parse_instant(s).unwrap()
    }

    #[test]
    fn daily_jobs_are_due_once_after_their_local_time() {
        let local = LocalTime::new("Asia/Seoul".parse().unwrap());
        let job = jobs(&ScheduleConfig::default())[0];
        let since = at("2026-11-22T12:00:00+09:00");
        // Before 03:00 KST on the 23rd, with a run on the 22nd at 03:00: not due.
        let last = Some(at("2026-11-22T03:00:05+09:00"));
        assert!(!is_due(
            &job,
            &local,
            last,
            since,
            at("2026-11-23T02:59:00+09:00")
        ));
        assert!(is_due(
            &job,
            &local,
            last,
            since,
            at("2026-11-23T03:00:00+09:00")
        ));
        // Once run at 03:00:01, not due again that day.
        assert!(!is_due(
            &job,
            &local,
            Some(at("2026-11-23T03:00:01+09:00")),
            since,
            at("2026-11-23T20:00:00+09:00")
        ));
        // Missed while down for two days: due once at start.
        assert!(is_due(
            &job,
            &local,
            Some(at("2026-11-20T03:00:00+09:00")),
            since,
            at("2026-11-23T10:00:00+09:00")
        ));
        // Never run: waits for the first slot after the start.
        assert!(!is_due(
            &job,
            &local,
            None,
            since,
            at("2026-11-22T20:00:00+09:00")
        ));
        assert!(is_due(
            &job,
            &local,
            None,
            since,
            at("2026-11-23T03:00:00+09:00")
        ));
    }

    #[test]
    fn a_job_already_running_is_not_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap());
        // A second store on the same file stands for another process.
        let other = Arc::new(crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap());
        let first = lease::take(&store, JobName::Refresh)
            .unwrap()
            .expect("free");
        assert!(crate::jobs::lease::is_running(&other, JobName::Refresh));
        assert!(lease::take(&other, JobName::Refresh).unwrap().is_none());
        assert!(lease::take(&other, JobName::Cleanup).unwrap().is_some());
        drop(first);
        assert!(!crate::jobs::lease::is_running(&other, JobName::Refresh));
        assert!(lease::take(&other, JobName::Refresh).unwrap().is_some());
    }

    #[test]
    fn interval_jobs_and_overdue_warnings() {
        let local = LocalTime::new(chrono_tz::UTC);
        let job = jobs(&ScheduleConfig::default())[2];
        assert_eq!(job.when, When::Every(300));
        let now = at("2026-11-23T10:07:00Z");
        assert!(is_due(&job, &local, None, now, now));
        assert!(!is_due(
            &job,
            &local,
            Some(at("2026-11-23T10:05:01Z")),
            now,
            now
        ));
        assert!(is_due(
            &job,
            &local,
            Some(at("2026-11-23T10:04:59Z")),
            now,
            now
        ));
        let run = |started: &str, outcome: &str| JobRun {
            job: "precompute".into(),
            started_at: at(started),
            duration_ms: 1.0,
            outcome: outcome.into(),
            summary: "x".into(),
            ran_by: Some(RunBy::Scheduler),
        };
        assert_eq!(
            warning(&job, Some(&run("2026-11-23T10:05:00Z", "ok")), now),
            None
        );
        assert!(warning(&job, Some(&run("2026-11-23T09:00:00Z", "ok")), now)
            .unwrap()
            .to_string()
            .contains("overdue"));
        assert!(
            warning(&job, Some(&run("2026-11-23T10:05:00Z", "failed")), now)
                .unwrap()
                .to_string()
                .contains("failed")
        );
        assert!(warning(&job, None, now)
            .unwrap()
            .to_string()
            .contains("never"));
    }
}
