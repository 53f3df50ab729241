//! `voxdash cleanup` (the original `cleanup_learning_data`): invalid
//! sessions, duplicate progress, archive, delete, inactive users — counted
//! exactly by a dry run, done in batches of one transaction each after an
//! online backup, and followed by cache invalidation.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cache::StatsCache;
use crate::clock::{days_micros, format_utc};
use crate::config::Config;
use crate::store::{maintenance as m, Engine, Store, StoreError};

/// What to clean.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CleanupOptions {
    /// Count only; change nothing.
    pub dry_run: bool,
    /// Only invalid data (invalid sessions, duplicate progress).
    pub invalid_only: bool,
    /// Archive sessions older than this many days (0: archive none);
    /// none: as `[retention]` says.
    pub archive_older_than: Option<u32>,
    /// Delete archived sessions older than this many days (0: delete
    /// none); none: as `[retention]` says.
    pub delete_older_than: Option<u32>,
    /// Rows per transaction.
    pub batch_size: usize,
    /// Also delete the data of users inactive for `delete_older_than` days.
    pub purge_inactive: bool,
    /// Skip the backup before a destructive run.
    pub no_backup: bool,
}

impl CleanupOptions {
    /// Rows per transaction unless told otherwise.
    pub const BATCH_SIZE: usize = 500;

    /// The instants (µs) before which sessions are archived and archived
    /// sessions deleted, `now` being `now`; none for a step turned off.
    fn cuts(&self, config: &Config, now: i64) -> (Option<i64>, Option<i64>) {
        let cut = |days: u32| (days > 0).then(|| now - days_micros(i64::from(days)));
        (
            cut(self
                .archive_older_than
                .unwrap_or(config.retention.archive_after_days)),
            cut(self
                .delete_older_than
                .unwrap_or(config.retention.delete_after_days)),
        )
    }
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions {
            dry_run: false,
            invalid_only: false,
            archive_older_than: None,
            delete_older_than: None,
            batch_size: Self::BATCH_SIZE,
            purge_inactive: false,
            no_backup: false,
        }
    }
}

/// Counts per rule, and what was done.
#[derive(Debug, Clone, Default)]
pub struct CleanupReport {
    /// (rule, rows it applies to), in the order of the run.
    pub counts: Vec<(String, u64)>,
    /// Rows changed by the run (0 for a dry run).
    pub rows_changed: u64,
    /// The backup written, if any.
    pub backup: Option<PathBuf>,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Whether the data is in PostgreSQL (no backup file is written).
    pub in_postgres: bool,
}

impl CleanupReport {
    /// The count of a rule.
    pub fn count(&self, rule: &str) -> u64 {
        self.counts
            .iter()
            .find(|(r, _)| r == rule)
            .map_or(0, |(_, n)| *n)
    }

    /// The report as lines for people.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (rule, n) in &self.counts {
            s += &format!("{rule:<24} {n:>10}\n");
        }
        if self.dry_run {
            s += "dry run: nothing changed\n";
        } else {
            s += &format!("{} rows changed\n", self.rows_changed);
        }
        match &self.backup {
            Some(b) => s += &format!("backup: {}\n", b.display()),
            None if !self.dry_run && self.in_postgres => {
                s += "backup: none written (the data is in PostgreSQL: back it up with pg_dump)\n"
            }
            None => {}
        }
        s
    }

    /// One line for the job record.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        format!(
            "{}{}",
            if self.dry_run { "dry run: " } else { "" },
            if parts.is_empty() {
                "nothing to do".into()
            } else {
                parts.join(", ")
            }
        )
    }
}

/// Counts what a run with `options` acts on, at `now`.
pub fn plan(
    store: &Store,
    config: &Config,
    options: &CleanupOptions,
) -> Result<CleanupReport, StoreError> {
    let conn = store.conn()?;
    let now = config.clock.now_micros();
    let mut counts = Vec::new();
    for (rule, clause) in m::session_rules() {
        counts.push((rule.to_string(), m::count_sessions_where(&conn, &clause)?));
    }
    counts.push((
        "duplicate_progress".into(),
        m::count_duplicate_progress(&conn)?,
    ));
    if !options.invalid_only {
        let (archive_cut, delete_cut) = options.cuts(config, now);
        let to_archive = match archive_cut {
            Some(cut) => m::count_to_archive(&conn, cut, true)?,
            None => 0,
        };
        counts.push(("to_archive".into(), to_archive));
        let to_delete = match (archive_cut, delete_cut) {
            (_, None) => 0,
            // What is archived first is deleted in the same run.
            (Some(archive), Some(delete)) if delete <= archive => {
                m::count_archived_before(&conn, delete)? + m::count_to_archive(&conn, delete, true)?
            }
            (_, Some(delete)) => m::count_archived_before(&conn, delete)?,
        };
        counts.push(("to_delete".into(), to_delete));
        if options.purge_inactive {
            let inactive = match delete_cut {
                Some(cut) => m::count_inactive_users(&conn, cut)?,
                None => 0,
            };
            counts.push(("inactive_users".into(), inactive));
        }
    }
    Ok(CleanupReport {
        counts,
        dry_run: options.dry_run,
        in_postgres: store.engine() == Engine::Postgres,
        ..Default::default()
    })
}

fn backup(store: &Store, config: &Config) -> Result<PathBuf, StoreError> {
    let dir = config.data_dir.join("backups");
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::DataDir {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    let stamp = format_utc(config.clock.now_micros()).replace(':', "");
    // Two runs in one second (or under a pinned clock) get distinct names.
    let path = (0..)
        .map(|n| match n {
            0 => dir.join(format!("voxdash-{stamp}.db")),
            n => dir.join(format!("voxdash-{stamp}-{n}.db")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("voxdash-{stamp}.db")));
    store.backup_into(&path)?;
    // Keep the newest `backups_keep`.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "db"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    while files.len() > config.backups_keep.max(1) {
        let old = files.remove(0);
        let _ = std::fs::remove_file(old);
    }
    Ok(path)
}

/// Runs a batched rule to the end: each step is one transaction that
/// resumes after the last id of the previous one.
fn in_batches(
    mut step: impl FnMut(i64) -> Result<m::Cursor, StoreError>,
) -> Result<u64, StoreError> {
    let (mut total, mut after) = (0u64, 0i64);
    loop {
        let cursor = step(after)?;
        if cursor.done {
            return Ok(total);
        }
        total += cursor.changed as u64;
        after = cursor.after;
    }
}

/// Runs cleanup: a dry run counts; a real run backs up, then works rule by
/// rule in batches, then invalidates the affected cache entries.
pub fn cleanup(
    store: &Store,
    config: &Config,
    cache: Option<&Arc<StatsCache>>,
    options: &CleanupOptions,
) -> Result<CleanupReport, StoreError> {
    let mut report = plan(store, config, options)?;
    if options.dry_run {
        return Ok(report);
    }
    // PostgreSQL is backed up by its own tools (pg_dump), which voxdash
    // neither has nor should run with the database's credentials; the
    // run says so instead of naming a file.
    if !options.no_backup && store.engine() == Engine::Sqlite {
        report.backup = Some(backup(store, config)?);
    }
    let now = config.clock.now_micros();
    let batch = options.batch_size.max(1);
    let conn = store.conn()?;
    report.rows_changed = m::with_rare_checkpoints(&conn, || {
        let mut changed = in_batches(|after| m::delete_invalid_batch(&conn, after, batch))?;
        changed += in_batches(|after| m::delete_duplicate_progress_batch(&conn, after, batch))?;
        if !options.invalid_only {
            let (archive_cut, delete_cut) = options.cuts(config, now);
            if let Some(cut) = archive_cut {
                changed += in_batches(|after| m::archive_batch(&conn, cut, now, after, batch))?;
            }
            if let Some(cut) = delete_cut {
                changed += in_batches(|after| m::delete_archived_batch(&conn, cut, after, batch))?;
                if options.purge_inactive {
                    changed += m::purge_inactive(&conn, cut)? as u64;
                }
            }
        }
        Ok(changed)
    })?;
    let changed = report.rows_changed;
    if let Some(cache) = cache {
        if changed > 0 {
            cache.apply(crate::stats::key::Change::Cleanup);
        }
    }
    Ok(report)
}
