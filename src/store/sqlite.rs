//! SQLite's connections: how each is opened (pragmas, busy waiting) and
//! the `r2d2` manager the store's pool opens them with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a connection waits for a lock another connection holds, and
/// for a free connection of the pool.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Connections of one pool at most. Each holds its own parse of the
/// schema (about 3.6 MB with the aggregates' triggers), and under bursts
/// the pool opens a new one for every wait, so it grows to this size: 64
/// took a busy server to 240 MB. Sixteen are more than two cores keep
/// busy; a computation that finds them all taken waits its turn.
const POOL_SIZE: u32 = 16;

/// A connection idle this long is closed, so that a burst's extra
/// connections (and their schema) do not stay.
const IDLE_CLOSE: Duration = Duration::from_secs(60);

/// Opens connections to one database file for the pool.
pub(crate) struct SqliteFiles {
    path: PathBuf,
}

impl r2d2::ManageConnection for SqliteFiles {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        connect(&self.path)
    }

    fn is_valid(&self, _: &mut Connection) -> Result<(), rusqlite::Error> {
        Ok(())
    }

    /// A connection left inside a transaction (after a panic) is not reused.
    fn has_broken(&self, conn: &mut Connection) -> bool {
        !conn.is_autocommit()
    }
}

/// A pool of connections to the database at `path`, none opened yet.
pub(crate) fn pool(path: &Path) -> r2d2::Pool<SqliteFiles> {
    r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(0))
        .idle_timeout(Some(IDLE_CLOSE))
        .connection_timeout(LOCK_WAIT)
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(SqliteFiles {
            path: path.to_path_buf(),
        })
}

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

/// Opens a SQLite connection with the pragmas every connection uses.
pub(crate) fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_handler(Some(wait_for_lock))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;
         PRAGMA mmap_size = 1073741824;",
    )?;
    Ok(conn)
}
