//! The store of the lab's data: SQLite (`DATA_DIR/voxdash.db`, the
//! default) or PostgreSQL (`database_url`), chosen when it is opened.
//! Opening, migrations, a pool of connections per engine (`r2d2`), one
//! way to reach either ([`Conn`]), and the rows the statistics read
//! ([`DataView`]). Every SQL statement of the program lives in this
//! module's files; the engines differ only in `sqlite`, `postgres` and the
//! few statements [`Conn::dialect`] chooses between.

pub mod accounts;
pub mod aggregates;
mod conn;
mod copy;
mod dir_lock;
pub(crate) mod import;
pub mod jobs;
pub mod learners;
pub(crate) mod maintenance;
pub mod postgres;
pub mod recording_list;
pub(crate) mod rows;
pub mod schema;
pub mod search;
pub mod speakers;
mod sqlite;
mod value;
pub(crate) mod view;
pub(crate) mod writes;

pub use conn::{Conn, Engine, Tx};
pub use copy::{copy_from_sqlite, CopyReport, Target};
pub use dir_lock::DirLock;
pub use rows::{CourseProgress, Speaker, StudySession, Upload};
pub use sqlite::LOCK_WAIT;
pub(crate) use value::args;
pub use value::{Column, FromValue, Row, RowRef, Value};
pub use view::DataView;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

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
    /// No connection to the SQLite file could be had in time (every one of
    /// the pool busy for [`LOCK_WAIT`], or the file cannot be opened).
    #[error("no connection to {place}: {reason}")]
    NoConnection {
        /// The database file.
        place: String,
        /// Why.
        reason: String,
    },
    /// A value breaks a rule of the store (e.g. a duplicate username).
    #[error("{0}")]
    Invalid(String),
    /// A streamed read was stopped by the one it streams to (a client that
    /// went away).
    #[error("stopped by its reader")]
    Stopped,
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
    /// The database server cannot be reached (it is down, or the network
    /// between is); requests fail until it answers again.
    #[error("the database at {place} is unreachable: {reason}")]
    Unreachable {
        /// The database, without its password.
        place: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// A column held another kind of value than the code reads.
    #[error("column {index}: expected {expected}, found {found}")]
    Column {
        /// The column, from 0.
        index: usize,
        /// What the code reads.
        expected: &'static str,
        /// What was there.
        found: &'static str,
    },
    /// The operation belongs to the other engine (a file backup of PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
    /// A copy's target already holds tables.
    #[error("{place} is not empty ({what}); voxdash copies into an empty database, or with --replace into one that holds only voxdash's tables")]
    NotEmpty {
        /// The database, without its password.
        place: String,
        /// What it holds.
        what: String,
    },
}

impl StoreError {
    /// Whether the database server cannot be reached (as against a
    /// statement or a value it refused): the request may succeed later.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Unreachable { .. })
    }
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store: SQLite files or a PostgreSQL database, each with a pool of
/// open connections.
pub struct Store {
    kept: Kept,
}

enum Kept {
    /// A path and a pool of connections to it.
    Sqlite {
        path: PathBuf,
        pool: r2d2::Pool<sqlite::SqliteFiles>,
    },
    Postgres(Box<postgres::PgStore>),
}

/// What `voxdash check` and `restore` learn of a database file, each part
/// with its own error so the report can say which part failed.
pub struct Inspection {
    /// `"ok"`, or the problems `PRAGMA integrity_check` found.
    pub integrity: Result<String>,
    /// The schema version.
    pub version: Result<i64>,
    /// How the schema differs from what the migrations make at that
    /// version: empty when it is exactly theirs.
    pub schema: Result<Vec<String>>,
}

/// Opens the database at `path` read-only and inspects it.
pub fn inspect(path: &Path) -> Result<Inspection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity = integrity_check(&conn);
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(StoreError::from);
    let schema = match &version {
        Ok(v) => schema_differences(&conn, *v),
        Err(_) => Ok(Vec::new()),
    };
    Ok(Inspection {
        integrity,
        version,
        schema,
    })
}

/// Every table, index, trigger and view of `conn`'s schema that differs
/// from what the migrations make at `version`: added (a trigger that makes
/// a learner staff), missing, or changed (a table replaced by a view). A
/// database is data, not code: anything but voxdash's own schema is refused.
fn schema_differences(conn: &Connection, version: i64) -> Result<Vec<String>> {
    fn objects(conn: &Connection) -> Result<BTreeMap<(String, String), String>> {
        let mut stmt = conn.prepare(
            "SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        )?;
        let rows = stmt.query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((
                (r.get(0)?, r.get(1)?),
                sql.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
    let mut reference = Connection::open_in_memory()?;
    migrate(&mut reference, Path::new(":memory:"), version)?;
    let (expected, found) = (objects(&reference)?, objects(conn)?);
    let mut out = Vec::new();
    for ((kind, name), sql) in &found {
        match expected.get(&(kind.clone(), name.clone())) {
            None => out.push(format!("{kind} {name} is not voxdash's")),
            Some(theirs) if theirs != sql => out.push(format!("{kind} {name} was changed")),
            Some(_) => {}
        }
    }
    for (kind, name) in expected.keys() {
        if !found.contains_key(&(kind.clone(), name.clone())) {
            out.push(format!("{kind} {name} is missing"));
        }
    }
    Ok(out)
}

/// The place (without password) and schema version of the PostgreSQL
/// database at `url`, read without migrating anything.
pub fn database_version(url: &str) -> Result<(String, i64)> {
    let pg = postgres::PgStore::connect(url)?;
    Ok((pg.place().to_string(), pg.version()?))
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
fn copy_database(source: &Connection, dest: &Path) -> Result<()> {
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

/// Copies the database file `src` (opened read-only) into `dest`, which
/// must not exist, with the same online backup as [`Store::backup_into`].
pub fn copy_database_file(src: &Path, dest: &Path) -> Result<()> {
    let source = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    copy_database(&source, dest)
}

/// `PRAGMA integrity_check`: `ok`, or the problems found, one per line.
fn integrity_check(conn: &Connection) -> Result<String> {
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
    fn sqlite(path: &Path) -> Store {
        Store {
            kept: Kept::Sqlite {
                path: path.to_path_buf(),
                pool: sqlite::pool(path),
            },
        }
    }

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
        let mut conn = sqlite::connect(path)?;
        migrate(&mut conn, path, schema::latest_version())?;
        Ok(Store::sqlite(path))
    }

    /// Connects to the PostgreSQL database at `url` and migrates it to the
    /// latest schema (nodes starting together take turns).
    pub fn open_postgres(url: &str) -> Result<Store> {
        let pg = postgres::PgStore::connect(url)?;
        pg.migrate()?;
        Ok(Store {
            kept: Kept::Postgres(Box::new(pg)),
        })
    }

    /// Connects to the PostgreSQL database at `url` as it is, migrating
    /// nothing (for `voxdash check`).
    pub fn attach_postgres(url: &str) -> Result<Store> {
        Ok(Store {
            kept: Kept::Postgres(Box::new(postgres::PgStore::connect(url)?)),
        })
    }

    /// Opens the store the configuration names: PostgreSQL when
    /// `database_url` is set, else the SQLite file at `path`.
    pub fn open_configured(database_url: Option<&str>, path: &Path) -> Result<Store> {
        match database_url {
            Some(url) => Store::open_postgres(url),
            None => Store::open(path),
        }
    }

    /// Whether the data can be reached now: always for the SQLite file
    /// (its failures are those of the disk), a round trip for PostgreSQL.
    pub fn health(&self) -> Result<()> {
        match &self.kept {
            Kept::Sqlite { .. } => Ok(()),
            Kept::Postgres(_) => self.conn()?.batch("SELECT 1"),
        }
    }

    /// Whether the schema is at this binary's version (a store opened as
    /// it is may be older, before the next start migrates it).
    pub fn is_current(&self) -> Result<bool> {
        match &self.kept {
            Kept::Sqlite { .. } => {
                let v: i64 = self.conn()?.query_value("PRAGMA user_version", &[])?;
                Ok(v == schema::latest_version())
            }
            Kept::Postgres(pg) => Ok(pg.version()? == postgres::schema::latest_version()),
        }
    }

    /// Which engine keeps the data.
    pub fn engine(&self) -> Engine {
        match self.kept {
            Kept::Sqlite { .. } => Engine::Sqlite,
            Kept::Postgres(_) => Engine::Postgres,
        }
    }

    /// The database file, for SQLite.
    pub fn path(&self) -> Option<&Path> {
        match &self.kept {
            Kept::Sqlite { path, .. } => Some(path),
            Kept::Postgres(_) => None,
        }
    }

    /// Where the data is, for people: the file, or the database's address
    /// without its password.
    pub fn place(&self) -> String {
        match &self.kept {
            Kept::Sqlite { path, .. } => path.display().to_string(),
            Kept::Postgres(pg) => pg.place().to_string(),
        }
    }

    /// A connection from the pool.
    pub fn conn(&self) -> Result<Conn<'_>> {
        match &self.kept {
            Kept::Sqlite { .. } => Ok(Conn::sqlite(self.sqlite_conn()?)),
            Kept::Postgres(pg) => Ok(Conn::postgres(pg, pg.link()?)),
        }
    }

    /// Runs `read` over one consistent snapshot of the data (a read
    /// transaction), as the statistics read it.
    pub fn snapshot<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce(&DataView) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.conn()?;
        let tx = conn.read_transaction()?;
        let out = read(&DataView::new(&tx))?;
        // Nothing was written: the end only releases the snapshot.
        tx.commit()?;
        Ok(out)
    }

    /// Runs `read` on the data without a transaction around it: for one
    /// question (a revision), cheaper than a snapshot on every page view.
    pub fn glance<T, E: From<StoreError>>(
        &self,
        read: impl FnOnce(&DataView) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.conn()?;
        read(&DataView::new(&conn))
    }

    /// A SQLite connection of the pool (given back when dropped); an
    /// error on PostgreSQL.
    fn sqlite_conn(&self) -> Result<r2d2::PooledConnection<sqlite::SqliteFiles>> {
        match &self.kept {
            Kept::Sqlite { path, pool } => pool.get().map_err(|e| StoreError::NoConnection {
                place: path.display().to_string(),
                reason: e.to_string(),
            }),
            Kept::Postgres(pg) => Err(StoreError::Unsupported(format!(
                "the data is in PostgreSQL ({}), not in a SQLite file",
                pg.place()
            ))),
        }
    }

    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist) while others keep writing. SQLite's online backup copies every
    /// page in one step, inside one read transaction: writers in WAL mode
    /// neither wait for it nor restart it (a backup in many small steps
    /// starts over after each write from another connection, and under a
    /// steady write load never ends). The copy is readable by its owner
    /// only. PostgreSQL is backed up with its own tools (`pg_dump`).
    pub fn backup_into(&self, dest: &Path) -> Result<()> {
        if let Kept::Postgres(pg) = &self.kept {
            return Err(StoreError::Unsupported(format!(
                "the data is in PostgreSQL ({}); back it up with pg_dump, not a file copy",
                pg.place()
            )));
        }
        copy_database(&*self.sqlite_conn()?, dest)
    }

    /// Opens an existing database without creating or migrating it.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!("database {}", path.display())));
        }
        sqlite::connect(path)?;
        Ok(Store::sqlite(path))
    }

    /// Moves everything in the write-ahead log into the database file
    /// (nothing to do on PostgreSQL).
    pub fn checkpoint(&self) -> Result<()> {
        if self.engine() == Engine::Postgres {
            return Ok(());
        }
        self.sqlite_conn()?
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Rows in each table the product keeps, for `/admin/cache/`.
    pub fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn()?;
        let mut out = Vec::new();
        for table in schema::COUNTED_TABLES {
            let n: i64 = conn.query_value(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
            out.push((table.to_string(), n));
        }
        Ok(out)
    }

    /// Whether the store holds no lab data yet (no speakers, recordings or sessions).
    pub fn is_empty(&self) -> Result<bool> {
        let n: i64 = self.conn()?.query_value(
            "SELECT (SELECT COUNT(*) FROM speakers) + (SELECT COUNT(*) FROM recordings)
                  + (SELECT COUNT(*) FROM study_sessions)",
            &[],
        )?;
        Ok(n == 0)
    }

    /// Whether the store holds nothing at all: no speakers, recordings,
    /// users or study sessions (a new data directory, or a mistaken one).
    pub fn holds_nothing(&self) -> Result<bool> {
        self.conn()?.query_value(
            "SELECT NOT (EXISTS(SELECT 1 FROM speakers) OR EXISTS(SELECT 1 FROM recordings)
                      OR EXISTS(SELECT 1 FROM users) OR EXISTS(SELECT 1 FROM study_sessions))",
            &[],
        )
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

/// Users with a study session starting at or after `since` (µs), or every
/// user with a session when `since` is `None`; by id.
pub fn learners(conn: &Conn, since: Option<i64>) -> Result<Vec<i64>> {
    conn.query(
        "SELECT DISTINCT user_id FROM study_sessions
         WHERE CAST(?1 AS BIGINT) IS NULL OR start_time >= ?1 ORDER BY user_id",
        args![since],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Region names of `ip_regions` with coordinates (first row of each name),
/// for labels on the map.
pub fn region_points(conn: &Conn) -> Result<Vec<(String, f64, f64)>> {
    let rows = conn.query(
        "SELECT region, latitude, longitude FROM ip_regions
         WHERE latitude IS NOT NULL AND longitude IS NOT NULL ORDER BY seq",
        &[],
    )?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.get(0)?;
        if seen.insert(name.clone()) {
            out.push((name, row.get(1)?, row.get(2)?));
        }
    }
    Ok(out)
}
