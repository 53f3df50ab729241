//! SQL for the record of job runs (refresh, precompute, purge, cleanup),
//! written by the CLI, the web buttons and the scheduler alike.

use rusqlite::{params, Connection};

use super::Result;

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
}

/// Appends a run to the record.
pub fn record(conn: &Connection, run: &JobRun) -> Result<()> {
    conn.execute(
        "INSERT INTO job_runs (job, started_at, duration_ms, outcome, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![run.job, run.started_at, run.duration_ms, run.outcome, run.summary],
    )?;
    Ok(())
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRun> {
    Ok(JobRun {
        job: r.get(0)?,
        started_at: r.get(1)?,
        duration_ms: r.get(2)?,
        outcome: r.get(3)?,
        summary: r.get(4)?,
    })
}

/// The newest run of a job, if any.
pub fn last(conn: &Connection, job: &str) -> Result<Option<JobRun>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT job, started_at, duration_ms, outcome, summary FROM job_runs
             WHERE job = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
            [job],
            run_from_row,
        )
        .optional()?)
}

/// The newest `limit` runs of every job (or of one job), newest first.
pub fn recent(conn: &Connection, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>> {
    let mut stmt = conn.prepare(
        "SELECT job, started_at, duration_ms, outcome, summary FROM job_runs
         WHERE ?1 IS NULL OR job = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![job, limit as i64], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
