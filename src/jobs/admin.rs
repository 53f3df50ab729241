//! Looking after a data directory: an online backup of the database, a
//! restore that keeps what it replaces, and a check of everything an admin
//! would look at first (database integrity, schema version, the cache file,
//! free disk space). The stats cache is derived data: it is never backed up,
//! and a restore drops it so no number computed from the replaced data
//! survives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cache::{CacheError, StatsCache};
use crate::clock::format_utc;
use crate::config::Config;
use crate::stats::{self, StatsError};
use crate::store::{self, Store, StoreError};

/// What went wrong in an admin job.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read, written or moved.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A server (or a job) holds the data directory.
    #[error("{0} is in use by a running voxdash (the server?); stop it before restoring")]
    InUse(PathBuf),
    /// The stats cache could not be opened or cleared.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The file to restore is not a sound voxdash database.
    #[error("{path} cannot be restored: {reason}")]
    BadSource {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> AdminError + '_ {
    move |source| AdminError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a consistent copy of the database to `dest` while the server may
/// be running and writing (see [`Store::backup_into`]).
pub fn backup(store: &Store, dest: &Path) -> Result<(), AdminError> {
    store.backup_into(dest)?;
    Ok(())
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    /// Where the replaced database was moved (absent if there was none).
    pub replaced: Option<PathBuf>,
}

/// Checks that `path` is a sound SQLite database this voxdash can open.
fn check_source(path: &Path) -> Result<(), AdminError> {
    let bad = |reason: String| AdminError::BadSource {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(bad("no such file".into()));
    }
    let found = store::inspect(path).map_err(|e| bad(e.to_string()))?;
    let integrity = found.integrity.map_err(|e| bad(e.to_string()))?;
    if integrity != "ok" {
        return Err(bad(format!("integrity check: {integrity}")));
    }
    let version = found.version.map_err(|e| bad(e.to_string()))?;
    let latest = store::schema::latest_version();
    if version == 0 || version > latest {
        return Err(bad(format!(
            "schema version {version} (this voxdash reads 1 to {latest})"
        )));
    }
    let differences = found.schema.map_err(|e| bad(e.to_string()))?;
    if !differences.is_empty() {
        return Err(bad(format!(
            "its schema is not voxdash's: {}",
            differences.join("; ")
        )));
    }
    Ok(())
}

/// Copies the SQLite database of `store` into the empty PostgreSQL
/// database at `url`, checking every table's row count; nothing is kept in
/// the target when anything fails ([`store::copy_from_sqlite`]).
pub fn migrate(
    store: &Store,
    url: &str,
    target: store::Target,
    progress: impl FnMut(&str, u64),
) -> Result<store::CopyReport, AdminError> {
    Ok(store::copy_from_sqlite(store, url, target, progress)?)
}

/// Replaces the database of `config`'s data directory with `src`. Refuses
/// while a server (or any voxdash job) holds the directory. The replaced
/// database is kept as `voxdash.db.replaced-<time>`; the stats cache is
/// removed (it described the replaced data).
pub fn restore(config: &Config, src: &Path) -> Result<RestoreReport, AdminError> {
    if config.database_url.is_some() {
        return Err(StoreError::Unsupported(
            "the data is in PostgreSQL (database_url): restore it with pg_restore or psql, not a file copy"
                .into(),
        )
        .into());
    }
    check_source(src)?;
    let db = config.db_path();
    store::ensure_data_dir(&config.data_dir)?;
    // No node may serve the directory meanwhile (with a shared cache,
    // several may), nor start until the restore is done.
    let Some(_alone) = store::DirLock::alone(&config.data_dir)? else {
        return Err(AdminError::InUse(config.data_dir.clone()));
    };
    // Holding the cache file proves no server or job runs on this directory,
    // and keeps one from starting until the restore is done.
    let current = Arc::new(Store::open(&db)?);
    let guard = match StatsCache::open(config, Arc::clone(&current)) {
        Ok(cache) => cache,
        Err(CacheError::Locked(_)) => return Err(AdminError::InUse(config.data_dir.clone())),
        Err(e) => {
            return Err(AdminError::File {
                path: config.cache_path(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    };
    // Fold the write-ahead log into the file, so moving it moves everything.
    current.checkpoint()?;
    let stamp = format_utc(config.clock.now_micros()).replace(':', "");
    let aside = config.data_dir.join(format!("voxdash.db.replaced-{stamp}"));
    std::fs::rename(&db, &aside).map_err(file_err(&db))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let cache_path = config.cache_path();
    // The file must be closed before it is removed; a shared cache stays
    // open, to be cleared afterwards.
    let shared = guard.is_shared().then_some(guard);
    let copied = store::copy_database_file(src, &db);
    if let Err(e) = copied {
        // Put the previous database back: a failed restore changes nothing.
        let _ = std::fs::remove_file(&db);
        let _ = std::fs::rename(&aside, &db);
        return Err(e.into());
    }
    if let Some(cache) = shared {
        // Every node reads the shared cache: what it holds described the
        // replaced data.
        cache.invalidate_prefix("")?;
    } else {
        std::fs::remove_file(&cache_path).map_err(file_err(&cache_path))?;
    }
    // Migrate a restored older database now, not at the next start.
    Store::open(&db)?;
    Ok(RestoreReport {
        replaced: Some(aside),
    })
}

/// One line of `voxdash check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked.
    pub what: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Free space (bytes) below which `check` reports a problem.
pub const MIN_FREE_BYTES: u64 = 256 * 1024 * 1024;

impl Finding {
    fn new(what: &str, ok: bool, detail: impl Into<String>) -> Finding {
        Finding {
            what: what.into(),
            ok,
            detail: detail.into(),
        }
    }
}

/// Checks the data directory of `config`: database integrity and schema
/// version, the cache file, free disk space. Never changes anything (an
/// older database is reported, not migrated).
pub fn check(config: &Config, repair: bool) -> Vec<Finding> {
    let mut out = match &config.database_url {
        Some(url) => check_postgres(url),
        None => check_database(&config.db_path()),
    };
    if out.iter().all(|f| f.ok) {
        out.push(check_aggregates(config, repair));
    }
    out.push(check_cache(config));
    out.push(check_disk(&config.data_dir));
    out
}

/// Whether every statistic computed from the aggregates equals its
/// computation from the rows; with `repair`, rebuilds them first.
fn check_aggregates(config: &Config, repair: bool) -> Finding {
    let what = "aggregates";
    let opened = match &config.database_url {
        Some(url) => Store::attach_postgres(url),
        None => Store::open_existing(&config.db_path()),
    };
    let checked = opened.map_err(StatsError::from).and_then(|store| {
        if !store.is_current()? {
            return Ok(None);
        }
        // A change of zone rebuilds them, as a start would.
        store::aggregates::follow_zone(&store.conn()?, config.local.tz)?;
        if repair {
            let conn = store.conn()?;
            let tx = conn.write_transaction()?;
            store::aggregates::rebuild(&tx)?;
            tx.commit()?;
        }
        store
            .snapshot(|view| stats::aggregate_differences(view, config))
            .map(Some)
    });
    match checked {
        Ok(None) => Finding::new(what, true, "checked once the schema is migrated"),
        Ok(Some(d)) if d.is_empty() => Finding::new(
            what,
            true,
            if repair {
                "rebuilt; agree with the rows"
            } else {
                "agree with the rows"
            },
        ),
        Ok(Some(d)) => Finding::new(what, false, d.join("; ")),
        Err(e) => Finding::new(what, false, e.to_string()),
    }
}

/// Whether the PostgreSQL database answers, and its schema version.
fn check_postgres(url: &str) -> Vec<Finding> {
    match store::database_version(url) {
        Err(e) => vec![Finding::new("database", false, e.to_string())],
        Ok((place, version)) => vec![
            Finding::new("database", true, format!("{place} answers")),
            version_finding(Ok(version)),
        ],
    }
}

/// The schema version found, against this binary's.
fn version_finding(version: Result<i64, StoreError>) -> Finding {
    let latest = store::schema::latest_version();
    match version {
        Ok(v) if v == latest => Finding::new("schema version", true, format!("{v}")),
        Ok(v) if v < latest => Finding::new(
            "schema version",
            true,
            format!("{v}; migrated to {latest} at the next start"),
        ),
        Ok(v) => Finding::new(
            "schema version",
            false,
            format!("{v}, newer than the {latest} this voxdash knows"),
        ),
        Err(e) => Finding::new("schema version", false, e.to_string()),
    }
}

/// Integrity and schema version, read without writing anything.
fn check_database(db: &Path) -> Vec<Finding> {
    if !db.is_file() {
        let missing = format!("{} does not exist", db.display());
        return vec![Finding::new("database", false, missing)];
    }
    let found = match store::inspect(db) {
        Err(e) => {
            return vec![Finding::new(
                "database",
                false,
                format!("{}: {e}", db.display()),
            )]
        }
        Ok(found) => found,
    };
    let schema = match found.schema {
        Ok(d) if d.is_empty() => Finding::new("database schema", true, "voxdash's own"),
        Ok(d) => Finding::new("database schema", false, d.join("; ")),
        Err(e) => Finding::new("database schema", false, e.to_string()),
    };
    let integrity = match found.integrity {
        Ok(r) if r == "ok" => Finding::new("database integrity", true, "ok"),
        Ok(r) => Finding::new("database integrity", false, r),
        Err(e) => Finding::new("database integrity", false, e.to_string()),
    };
    let version = version_finding(found.version);
    vec![integrity, version, schema]
}

/// Whether the stats cache opens and reads (or is held by the server).
fn check_cache(config: &Config) -> Finding {
    if config.cache_url.is_none() && !config.cache_path().exists() {
        return Finding::new("stats cache", true, "none yet (made at the next start)");
    }
    let opened = match &config.database_url {
        Some(url) => Store::attach_postgres(url),
        None => Store::open_existing(&config.db_path()),
    };
    let store = match opened {
        Ok(store) => Arc::new(store),
        Err(e) => return Finding::new("stats cache", false, format!("not checked: {e}")),
    };
    match StatsCache::open(config, store) {
        Ok(c) if c.is_shared() && c.health().is_err() => Finding::new(
            "stats cache",
            false,
            format!("{} is unreachable", c.place()),
        ),
        Ok(c) => match c.len() {
            Ok(n) if c.is_shared() => Finding::new(
                "stats cache",
                true,
                format!("{} answers, {n} entries", c.place()),
            ),
            Ok(n) => Finding::new("stats cache", true, format!("readable, {n} entries")),
            Err(e) => Finding::new("stats cache", false, e.to_string()),
        },
        Err(CacheError::Locked(_)) => {
            Finding::new("stats cache", true, "in use by the running server")
        }
        Err(e) => Finding::new("stats cache", false, e.to_string()),
    }
}

fn check_disk(dir: &Path) -> Finding {
    match free_bytes(dir) {
        Some(free) => Finding::new(
            "free disk space",
            free >= MIN_FREE_BYTES,
            format!("{} MiB free in {}", free / (1024 * 1024), dir.display()),
        ),
        None => Finding::new(
            "free disk space",
            false,
            format!("cannot read for {}", dir.display()),
        ),
    }
}

/// Bytes available to this user on the file system of `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stat = nix::sys::statvfs::statvfs(dir).ok()?;
        Some(stat.blocks_available() as u64 * stat.fragment_size() as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}
