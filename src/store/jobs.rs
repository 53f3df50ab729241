//! SQL for the record of job runs (refresh, precompute, purge, cleanup),
//! written by the CLI, the web buttons and the scheduler alike.

use super::{args, Conn, Result, Row};

/// Who started a job, as the job history names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunBy {
    /// A `voxdash` command at a shell or from a timer, by this system user.
    Command(String),
    /// A staff account's button on a page.
    Staff(String),
    /// The server's own scheduler.
    Scheduler,
}

impl RunBy {
    /// How it is stored: `scheduler`, `staff:NAME` or `command:NAME`.
    pub fn as_stored(&self) -> String {
        match self {
            RunBy::Command(user) => format!("command:{user}"),
            RunBy::Staff(user) => format!("staff:{user}"),
            RunBy::Scheduler => "scheduler".into(),
        }
    }

    /// Reads [`RunBy::as_stored`]; `None` for anything else.
    pub fn parse(stored: &str) -> Option<RunBy> {
        match stored.split_once(':') {
            Some(("command", user)) => Some(RunBy::Command(user.into())),
            Some(("staff", user)) => Some(RunBy::Staff(user.into())),
            None if stored == "scheduler" => Some(RunBy::Scheduler),
            _ => None,
        }
    }
}

/// One finished run of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    /// Job name (`refresh`, `precompute`, `purge`, `cleanup`, ...).
    pub job: String,
    /// When it started (µs since the epoch).
    pub started_at: i64,
    /// How long it ran.
    pub duration_ms: f64,
    /// `ok` or `failed`.
    pub outcome: String,
    /// One line for people.
    pub summary: String,
    /// Who started it (`None` for runs recorded before voxdash kept it).
    pub ran_by: Option<RunBy>,
}

/// Appends a run to the record.
pub fn record(conn: &Conn, run: &JobRun) -> Result<()> {
    conn.execute(
        "INSERT INTO job_runs (job, started_at, duration_ms, outcome, summary, ran_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            &run.job,
            run.started_at,
            run.duration_ms,
            &run.outcome,
            &run.summary,
            run.ran_by.as_ref().map(RunBy::as_stored)
        ],
    )?;
    Ok(())
}

fn run_from_row(r: &Row) -> Result<JobRun> {
    Ok(JobRun {
        job: r.get(0)?,
        started_at: r.get(1)?,
        duration_ms: r.get(2)?,
        outcome: r.get(3)?,
        summary: r.get(4)?,
        ran_by: r
            .get::<Option<String>>(5)?
            .as_deref()
            .and_then(RunBy::parse),
    })
}

/// The newest run of a job, if any.
pub fn last(conn: &Conn, job: &str) -> Result<Option<JobRun>> {
    conn.query_opt(
        "SELECT job, started_at, duration_ms, outcome, summary, ran_by FROM job_runs
         WHERE job = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
        args![job],
    )?
    .map(|r| run_from_row(&r))
    .transpose()
}

/// The newest `limit` runs of every job (or of one job), newest first.
pub fn recent(conn: &Conn, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>> {
    conn.query(
        "SELECT job, started_at, duration_ms, outcome, summary, ran_by FROM job_runs
         WHERE CAST(?1 AS TEXT) IS NULL OR job = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
        args![job, limit as i64],
    )?
    .iter()
    .map(run_from_row)
    .collect()
}

/// When the last successful run of each job started (µs), by job name.
pub fn last_successes(conn: &Conn) -> Result<Vec<(String, i64)>> {
    conn.query(
        "SELECT job, MAX(started_at) FROM job_runs WHERE outcome = 'ok' GROUP BY job ORDER BY job",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// Takes the lease of `job` for `holder` until `expires_at` (µs, wall clock)
/// if nobody holds it or the holder's lease has expired. One write
/// transaction, so two processes (or nodes) cannot both take it. Returns
/// whether taken.
pub fn take_lease(conn: &Conn, job: &str, holder: &str, now: i64, expires_at: i64) -> Result<bool> {
    let tx = conn.write_transaction()?;
    let taken = tx.execute(
        "INSERT INTO job_leases (job, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE job_leases.expires_at <= ?4",
        args![job, holder, expires_at, now],
    )?;
    tx.commit()?;
    Ok(taken == 1)
}

/// Extends a lease its holder still has. Returns whether it was still held.
pub fn renew_lease(conn: &Conn, job: &str, holder: &str, expires_at: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE job_leases SET expires_at = ?3 WHERE job = ?1 AND holder = ?2",
        args![job, holder, expires_at],
    )? == 1)
}

/// The holder of `job`'s lease, expired or not.
pub fn lease_holder(conn: &Conn, job: &str) -> Result<Option<String>> {
    conn.query_opt("SELECT holder FROM job_leases WHERE job = ?1", args![job])?
        .map(|r| r.get(0))
        .transpose()
}

/// Hands `job`'s lease from `old` (known dead) to `holder`; false if
/// someone else took it meanwhile.
pub fn replace_lease(
    conn: &Conn,
    job: &str,
    old: &str,
    holder: &str,
    expires_at: i64,
) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE job_leases SET holder = ?3, expires_at = ?4 WHERE job = ?1 AND holder = ?2",
        args![job, old, holder, expires_at],
    )? == 1)
}

/// Gives a lease back (only its holder can).
pub fn release_lease(conn: &Conn, job: &str, holder: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM job_leases WHERE job = ?1 AND holder = ?2",
        args![job, holder],
    )?;
    Ok(())
}

/// Whether someone holds an unexpired lease of `job` at `now`.
pub fn lease_held(conn: &Conn, job: &str, now: i64) -> Result<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM job_leases WHERE job = ?1 AND expires_at > ?2",
            args![job, now],
        )?
        .is_some())
}
