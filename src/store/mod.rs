//! The SQLite store (`DATA_DIR/voxdash.db`): opening, pragmas, migrations,
//! a small connection pool, and the write counters the stats cache reads.
//! Every SQL statement of the program lives in this module's files.

pub mod accounts;
mod dir_lock;
pub mod import;
pub mod jobs;
pub mod learners;
pub mod maintenance;
pub mod postgres;
pub mod schema;
pub mod speakers;
pub mod view;
pub mod writes;

pub use dir_lock::DirLock;
pub use view::DataView;

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A SQLite call failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory cannot be created or written.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What is missing (permission, space, ...).
        reason: String,
    },
    /// The database was written by a newer voxdash.
    #[error("{path} has schema version {found}, newer than the {supported} this voxdash knows; upgrade voxdash")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Latest version this binary supports.
        supported: i64,
    },
    /// A migration failed; the database is left at the previous version.
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        /// Target version.
        version: i64,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A row asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A value breaks a rule of the store (e.g. a duplicate username).
    #[error("{0}")]
    Invalid(String),
    /// `database_url` is not a PostgreSQL address voxdash can use.
    #[error("database_url: {0}")]
    BadUrl(String),
    /// A PostgreSQL call failed.
    #[error("{place}: {source}")]
    Postgres {
        /// The database, without its password.
        place: String,
        /// The cause.
        source: ::postgres::Error,
    },
    /// A copy's target already holds tables.
    #[error("{place} is not empty ({what}); voxdash copies only into an empty database")]
    NotEmpty {
        /// The database, without its password.
        place: String,
        /// What it holds.
        what: String,
    },
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The SQLite store: a path and a pool of open connections.
///
/// Connections are pooled behind a `Mutex<Vec<_>>` because a
/// `rusqlite::Connection` is `Send` but not `Sync`; a checkout is a pop.
pub struct Store {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

/// A pooled connection; it goes back to the pool when dropped.
pub struct Conn<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl Deref for Conn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A connection left inside a transaction (after a panic) is not reused.
            if conn.is_autocommit() {
                let mut pool = self.store.pool.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < 16 {
                    pool.push(conn);
                }
            }
        }
    }
}

/// How long a connection waits for a lock another connection holds.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Waits for a busy database in short steps, up to [`LOCK_WAIT`]. SQLite's
/// own busy timeout sleeps up to 100 ms between tries, so under a steady
/// write load a cleanup batch or a write would lose tens of milliseconds
/// each time it meets another writer; write transactions here last about a
/// millisecond, so a step of at most 1 ms wastes little.
fn wait_for_lock(tries: i32) -> bool {
    let step = Duration::from_micros((50 * (tries as u64 + 1)).min(1000));
    // After the first 20 tries every step is 1 ms.
    let waited = step * (tries as u32).saturating_sub(20) + Duration::from_millis(10);
    if waited >= LOCK_WAIT {
        return false;
    }
    std::thread::sleep(step);
    true
}

/// Begins a transaction that takes the write lock first (`BEGIN IMMEDIATE`).
/// Every read-then-write uses it: a deferred transaction that reads and
/// then writes fails with "database is locked" when another connection
/// wrote in between, where this one waits its turn (busy timeout).
pub fn write_transaction(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Opens the database at `path` read-only and reports its integrity check
/// (`"ok"` or the problems found) and its schema version, each with its own
/// error, so `voxdash check` can say which part failed.
pub fn inspect(path: &Path) -> Result<(Result<String>, Result<i64>)> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity = integrity_check(&conn);
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(StoreError::from);
    Ok((integrity, version))
}

/// Creates `path` readable and writable by its owner only, if it does not
/// exist yet (the database holds password hashes and tokens; SQLite gives
/// its `-wal` and `-shm` files the same mode).
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies the database `source` is connected to into `dest` (which must
/// not exist), readable by its owner only. SQLite's online backup copies
/// every page in one step, inside one read transaction: writers in WAL mode
/// neither wait for it nor restart it (a backup in many small steps starts
/// over after each write from another connection, and under a steady write
/// load never ends).
pub fn copy_database(source: &Connection, dest: &Path) -> Result<()> {
    let private = |e: std::io::Error| StoreError::DataDir {
        path: dest.to_path_buf(),
        reason: format!("cannot create the copy ({e})"),
    };
    if dest.exists() {
        return Err(private(std::io::ErrorKind::AlreadyExists.into()));
    }
    create_private_file(dest).map_err(private)?;
    let copy = (|| -> Result<()> {
        let mut target = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(source, &mut target)?;
        match backup.step(-1)? {
            rusqlite::backup::StepResult::Done => Ok(()),
            other => Err(StoreError::Invalid(format!(
                "copy to {} did not finish ({other:?})",
                dest.display()
            ))),
        }
    })();
    if copy.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    copy
}

/// `PRAGMA integrity_check`: `ok`, or the problems found, one per line.
pub fn integrity_check(conn: &Connection) -> Result<String> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let lines: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(lines.join("\n"))
}

/// Makes sure `dir` exists and is writable, with a message naming what is missing.
pub fn ensure_data_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::DataDir {
        path: dir.to_path_buf(),
        reason: format!("cannot create it ({e})"),
    })?;
    let probe = dir.join(".voxdash-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| StoreError::DataDir {
        path: dir.to_path_buf(),
        reason: format!("cannot write into it ({e}); check its owner and permissions"),
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to
    /// the latest schema. Fails if the file is newer than this binary.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            ensure_data_dir(dir)?;
        }
        create_private_file(path).map_err(|e| StoreError::DataDir {
            path: path.to_path_buf(),
            reason: format!("cannot create the database ({e})"),
        })?;
        let store = Store {
            path: path.to_path_buf(),
            pool: Mutex::new(Vec::new()),
        };
        let mut conn = store.connect()?;
        migrate(&mut conn, &store.path, schema::latest_version())?;
        store
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_handler(Some(wait_for_lock))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = OFF;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32000;",
        )?;
        Ok(conn)
    }

    /// A connection from the pool (a new one when the pool is empty).
    pub fn conn(&self) -> Result<Conn<'_>> {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        Ok(Conn {
            store: self,
            conn: Some(conn),
        })
    }

    /// Runs `read` over one consistent snapshot of the data (a read
    /// transaction), as the statistics read it.
    pub fn snapshot<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce(&dyn DataView) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(StoreError::from)?;
        let out = read(&view::SqliteView::new(&tx))?;
        tx.finish().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `read` on the data without a transaction around it: for one
    /// question (a revision), cheaper than a snapshot on every page view.
    pub fn glance<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce(&dyn DataView) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.conn()?;
        read(&view::SqliteView::new(&conn))
    }

    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist) while others keep writing. SQLite's online backup copies every
    /// page in one step, inside one read transaction: writers in WAL mode
    /// neither wait for it nor restart it (a backup in many small steps
    /// starts over after each write from another connection, and under a
    /// steady write load never ends). The copy is readable by its owner only.
    pub fn backup_into(&self, dest: &Path) -> Result<()> {
        copy_database(&*self.conn()?, dest)
    }

    /// Opens an existing database without creating or migrating it.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!("database {}", path.display())));
        }
        let store = Store {
            path: path.to_path_buf(),
            pool: Mutex::new(Vec::new()),
        };
        drop(store.conn()?);
        Ok(store)
    }

    /// Moves everything in the write-ahead log into the database file.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()?
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Rows in each table the product keeps, for `/admin/cache/`.
    pub fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn()?;
        let mut out = Vec::new();
        for table in schema::COUNTED_TABLES {
            let n: i64 =
                conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            out.push((table.to_string(), n));
        }
        Ok(out)
    }

    /// Whether the store holds no lab data yet (no speakers, recordings or sessions).
    pub fn is_empty(&self) -> Result<bool> {
        let conn = self.conn()?;
        let n: i64 = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM speakers) + (SELECT COUNT(*) FROM recordings)
                  + (SELECT COUNT(*) FROM study_sessions)",
            [],
            |r| r.get(0),
        )?;
        Ok(n == 0)
    }

    /// Whether the store holds nothing at all: no speakers, recordings,
    /// users or study sessions (a new data directory, or a mistaken one).
    pub fn holds_nothing(&self) -> Result<bool> {
        Ok(self.conn()?.query_row(
            "SELECT NOT (EXISTS(SELECT 1 FROM speakers) OR EXISTS(SELECT 1 FROM recordings)
                      OR EXISTS(SELECT 1 FROM users) OR EXISTS(SELECT 1 FROM study_sessions))",
            [],
            |r| r.get(0),
        )?)
    }
}

/// Applies the migrations after the file's current version up to `target`,
/// each in its own transaction. Exposed so tests can build an older schema.
pub fn migrate(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = schema::latest_version();
    if current > latest {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            supported: latest,
        });
    }
    let target = target.min(latest);
    for version in (current + 1)..=target {
        let tx = conn.transaction()?;
        let sql = schema::migration_sql((version - 1) as usize);
        tx.execute_batch(&sql)
            .and_then(|_| tx.pragma_update(None, "user_version", version))
            .map_err(|source| StoreError::Migration { version, source })?;
        tx.commit()?;
        // Upgrading an existing database is worth a line in the journal;
        // building a new one step by step is a detail.
        let level = if current == 0 {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log!(
            level,
            "database {} migrated to schema version {version}",
            path.display()
        );
    }
    Ok(())
}

/// Write counts per table at one point in time (inserts + updates + deletes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// Writes per table name since the database was created.
    pub tables: HashMap<String, u64>,
}

impl Revisions {
    /// The sum of the counts of `tables`.
    pub fn sum(&self, tables: &[&str]) -> u64 {
        tables
            .iter()
            .map(|t| self.tables.get(*t).copied().unwrap_or(0))
            .sum()
    }
}

/// The sum of the write counts of `tables`, in one query and without
/// building the whole table (the hot path of every cache read). One key
/// lookup per table: `IN (?1, ?2, ?3)` or `OR` would make SQLite build and
/// drop a temporary b-tree on every run, which cost a page view about a
/// tenth of its time.
pub fn read_revision_sum(conn: &Connection, tables: &[&str]) -> Result<u64> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?1), 0)
              + COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?2), 0)
              + COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?3), 0)",
    )?;
    let name = |i: usize| tables.get(i).copied().unwrap_or("");
    debug_assert!(tables.len() <= 3, "at most three tables per statistic");
    let n: i64 = stmt.query_row([name(0), name(1), name(2)], |r| r.get(0))?;
    Ok(n as u64)
}

/// Reads every table's write count in one query.
pub fn read_revisions(conn: &Connection) -> Result<Revisions> {
    let mut stmt =
        conn.prepare_cached("SELECT table_name, inserts + updates + deletes FROM write_counters")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut tables = HashMap::new();
    for row in rows {
        let (name, n) = row?;
        tables.insert(name, n as u64);
    }
    Ok(Revisions { tables })
}

/// Writes to one user's study sessions and course progress, counted by triggers.
pub fn read_user_revision(conn: &Connection, user_id: i64) -> Result<(u64, u64)> {
    let mut stmt =
        conn.prepare_cached("SELECT sessions, progress FROM user_revisions WHERE user_id = ?1")?;
    let row = stmt
        .query_row([user_id], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .optional()?;
    Ok(row.unwrap_or((0, 0)))
}

/// Users with a study session starting at or after `since` (µs), or every
/// user with a session when `since` is `None`; by id.
pub fn learners(conn: &Connection, since: Option<i64>) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT user_id FROM study_sessions WHERE ?1 IS NULL OR start_time >= ?1 ORDER BY user_id",
    )?;
    let rows = stmt.query_map([since], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Region names of `ip_regions` with coordinates (first row of each name),
/// for labels on the map.
pub fn region_points(conn: &Connection) -> Result<Vec<(String, f64, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT region, latitude, longitude FROM ip_regions
         WHERE latitude IS NOT NULL AND longitude IS NOT NULL ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, f64>(1)?,
            r.get::<_, f64>(2)?,
        ))
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in rows {
        let (name, lat, lon) = row?;
        if seen.insert(name.clone()) {
            out.push((name, lat, lon));
        }
    }
    Ok(out)
}
