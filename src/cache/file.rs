//! The default place of the stats cache: one redb file in the data directory
//! (`DATA_DIR/stats.redb`). redb admits one process per file, so this
//! process's memory is authoritative, the computation lock is always granted
//! and there is nobody to tell about events. A damaged file is moved aside
//! and rebuilt; an I/O error (a full disk) closes the file and the next
//! operation opens it again.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::backend::{owner, Backend, Heard};
use super::{CacheError, Entry, EntryEvent};
use crate::clock::{format_utc, Clock};
use crate::stats::StatKey;

/// The single table of the cache: key text → encoded entry.
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");

fn redb_err(e: impl Into<redb::Error>) -> CacheError {
    CacheError::Redb(Box::new(e.into()))
}

impl CacheError {
    /// Whether the cache file must be closed and opened again before it
    /// can work (after an I/O error such as a full disk, or damage).
    fn needs_reopen(&self) -> bool {
        match self {
            CacheError::Redb(e) => matches!(
                **e,
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::Corrupted(_)
            ),
            CacheError::Unavailable(_) => true,
            _ => false,
        }
    }

    /// Whether this is an I/O error (the file is fine, the disk is not).
    fn is_io(&self) -> bool {
        matches!(self, CacheError::Redb(e) if matches!(**e, redb::Error::Io(_)))
    }
}

/// The redb file of a data directory.
pub struct FileBackend {
    /// The open file; `None` while it cannot be opened. An `RwLock`
    /// because every operation reads it and only a reopen replaces it.
    db: RwLock<Option<Database>>,
    /// Set by an error that needs a reopen; the next operation reopens.
    broken: AtomicBool,
    /// When the last reopen was tried, so a full disk is not retried in a loop.
    last_reopen: Mutex<Option<Instant>>,
    path: PathBuf,
    clock: Clock,
    /// Order of the last read of each key in this process (a tick that only
    /// grows, not the clock, which tests pin), for LRU eviction.
    last_access: Mutex<(u64, HashMap<String, u64>)>,
    /// The entry limit of the last store, which bounds `last_access`.
    limit: AtomicUsize,
}

/// Opens `path` and reads every entry once; a file that cannot be opened
/// or read (an error or a panic inside redb on a damaged file) is moved
/// aside (`stats.redb.corrupt-<ts>`) and a new one started: the cache is
/// derived data, and losing it must never stop the program.
///
/// With `keep_on_io`, an I/O error (a full disk) leaves the file where it
/// is: it is not damaged, and opening it again later will work.
fn open_db(path: &Path, now: i64, keep_on_io: bool) -> Result<Database, CacheError> {
    match try_open(path) {
        Ok(db) => Ok(db),
        Err(CacheError::Locked(p)) => Err(CacheError::Locked(p)),
        Err(e) if keep_on_io && e.is_io() => Err(e),
        Err(e) => {
            let aside = PathBuf::from(format!(
                "{}.corrupt-{}",
                path.display(),
                format_utc(now).replace(':', "")
            ));
            log::warn!(
                "stats cache {} is unreadable ({e}); moved to {} and rebuilt",
                path.display(),
                aside.display()
            );
            std::fs::rename(path, &aside).map_err(|e| redb_err(redb::StorageError::Io(e)))?;
            try_open(path)
        }
    }
}

/// Opens (creating) the file and checks that every entry can be read.
fn try_open(path: &Path) -> Result<Database, CacheError> {
    if !path.exists() {
        crate::store::create_private_file(path).map_err(|e| redb_err(redb::StorageError::Io(e)))?;
        // redb wants an empty new file or a database; the empty one made
        // above carries the owner-only mode.
    }
    let opened = std::panic::catch_unwind(|| -> Result<Database, CacheError> {
        let db = match Database::create(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(CacheError::Locked(path.to_path_buf()))
            }
            Err(e) => return Err(redb_err(e)),
        };
        let tx = db.begin_write().map_err(redb_err)?;
        tx.open_table(ENTRIES).map_err(redb_err)?;
        tx.commit().map_err(redb_err)?;
        let tx = db.begin_read().map_err(redb_err)?;
        let table = tx.open_table(ENTRIES).map_err(redb_err)?;
        for item in table.iter().map_err(redb_err)? {
            let (k, v) = item.map_err(redb_err)?;
            let _ = (k.value().len(), v.value().len());
        }
        drop(table);
        drop(tx);
        Ok(db)
    });
    opened.unwrap_or_else(|_| {
        Err(redb_err(redb::Error::Corrupted(
            "redb panicked while reading the file".into(),
        )))
    })
}

impl FileBackend {
    /// Opens (or creates) the file. Fails with `Locked` when another
    /// process has it open.
    pub fn open(path: PathBuf, clock: Clock) -> Result<FileBackend, CacheError> {
        let db = open_db(&path, clock.now_micros(), false)?;
        Ok(FileBackend {
            db: RwLock::new(Some(db)),
            broken: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
            path,
            clock,
            last_access: Mutex::new((0, HashMap::new())),
            limit: AtomicUsize::new(1000),
        })
    }

    /// Runs `f` on the open file. An error that needs a reopen (I/O such as
    /// a full disk, damage, a panic inside redb) marks the file, and the
    /// next call closes and opens it again, so the cache recovers by itself.
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        if self.broken.load(Ordering::SeqCst) {
            self.reopen();
        }
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        let Some(db) = guard.as_ref() else {
            self.broken.store(true, Ordering::SeqCst);
            return Err(CacheError::Unavailable(self.place()));
        };
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(db))).unwrap_or_else(|_| {
            Err(redb_err(redb::Error::Corrupted(
                "redb panicked on this file".into(),
            )))
        });
        if let Err(e) = &result {
            if e.needs_reopen() {
                log::warn!("stats cache: {e}; the file will be opened again");
                self.broken.store(true, Ordering::SeqCst);
            }
        }
        result
    }

    /// Closes and opens the file again (at most once a second); a damaged
    /// file is moved aside, an I/O error leaves it for the next try.
    fn reopen(&self) {
        {
            let mut last = self.last_reopen.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        let mut guard = self.db.write().unwrap_or_else(|e| e.into_inner());
        drop(guard.take());
        match open_db(&self.path, self.clock.now_micros(), true) {
            Ok(db) => {
                *guard = Some(db);
                self.broken.store(false, Ordering::SeqCst);
                log::warn!("stats cache {} opened again", self.path.display());
            }
            Err(e) => log::warn!("stats cache {} still unavailable: {e}", self.path.display()),
        }
    }

    /// Evictable keys in the order they go: the entries of the owner that
    /// holds the most first ([`owner`]), each owner's least recently used
    /// first (keys never read in this process first, oldest computed
    /// first). Forgets the last reads of keys no longer stored, so the
    /// record stays as small as the cache.
    fn eviction_order(
        &self,
        table: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<Vec<String>, CacheError> {
        let mut access = self.last_access.lock().unwrap_or_else(|e| e.into_inner());
        let mut candidates = Vec::new();
        let mut kept = HashMap::with_capacity(access.1.len());
        for item in table.iter().map_err(redb_err)? {
            let (k, v) = item.map_err(redb_err)?;
            let key = k.value().to_string();
            if let Some(used) = access.1.get(&key) {
                kept.insert(key.clone(), *used);
            }
            if StatKey::shared(&key).is_some() {
                continue;
            }
            let computed = Entry::decode(v.value())
                .map(|e| e.computed_at)
                .unwrap_or(i64::MIN);
            let used = access.1.get(&key).copied().unwrap_or(0);
            candidates.push((used, computed, key));
        }
        access.1 = kept;
        drop(access);
        let mut held: HashMap<&str, usize> = HashMap::new();
        for (_, _, key) in &candidates {
            *held.entry(owner(key)).or_default() += 1;
        }
        let mut order: Vec<(std::cmp::Reverse<usize>, u64, i64, &str)> = candidates
            .iter()
            .map(|(used, computed, key)| {
                (
                    std::cmp::Reverse(held[owner(key)]),
                    *used,
                    *computed,
                    key.as_str(),
                )
            })
            .collect();
        order.sort();
        Ok(order
            .into_iter()
            .map(|(_, _, _, k)| k.to_string())
            .collect())
    }
}

impl Backend for FileBackend {
    fn place(&self) -> String {
        self.path.display().to_string()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let value = table.get(key).map_err(redb_err)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    fn put(
        &self,
        key: &str,
        bytes: &[u8],
        _evictable: bool,
        _keep: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<String>, CacheError> {
        self.limit.store(limit, Ordering::Relaxed);
        self.with_db(|db| {
            let tx = db.begin_write().map_err(redb_err)?;
            let mut evicted = Vec::new();
            {
                let mut table = tx.open_table(ENTRIES).map_err(redb_err)?;
                table.insert(key, bytes).map_err(redb_err)?;
                let len = table.len().map_err(redb_err)? as usize;
                if len > limit {
                    let victims = self.eviction_order(&table)?;
                    for victim in victims.into_iter().take(len - limit) {
                        if victim != key {
                            table.remove(victim.as_str()).map_err(redb_err)?;
                            evicted.push(victim);
                        }
                    }
                }
            }
            tx.commit().map_err(redb_err)?;
            Ok(evicted)
        })
    }

    fn touch(&self, key: &str) {
        let mut access = self.last_access.lock().unwrap_or_else(|e| e.into_inner());
        access.0 += 1;
        let tick = access.0;
        match access.1.get_mut(key) {
            Some(t) => *t = tick,
            None => {
                access.1.insert(key.to_string(), tick);
            }
        }
        // Reads of keys that were never stored, or dropped since, must not
        // grow the record without end: past twice the entry limit, only
        // the most recent reads are kept.
        let limit = self.limit.load(Ordering::Relaxed).max(64);
        if access.1.len() > 2 * limit {
            let mut ticks: Vec<u64> = access.1.values().copied().collect();
            let (_, cut, _) = ticks.select_nth_unstable(access.1.len() - limit);
            let cut = *cut;
            access.1.retain(|_, t| *t >= cut);
        }
    }

    fn memory_keys(&self) -> usize {
        self.last_access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .len()
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let mut keys = Vec::new();
            for item in table.range(prefix..).map_err(redb_err)? {
                let (k, _) = item.map_err(redb_err)?;
                let key = k.value();
                if !key.starts_with(prefix) {
                    break;
                }
                keys.push(key.to_string());
            }
            Ok(keys)
        })
    }

    fn remove(&self, keys: &[String]) -> Result<usize, CacheError> {
        if keys.is_empty() {
            return Ok(0);
        }
        {
            let mut access = self.last_access.lock().unwrap_or_else(|e| e.into_inner());
            for k in keys {
                access.1.remove(k);
            }
        }
        self.with_db(|db| {
            let tx = db.begin_write().map_err(redb_err)?;
            let mut removed = 0;
            {
                let mut table = tx.open_table(ENTRIES).map_err(redb_err)?;
                for k in keys {
                    if table.remove(k.as_str()).map_err(redb_err)?.is_some() {
                        removed += 1;
                    }
                }
            }
            tx.commit().map_err(redb_err)?;
            Ok(removed)
        })
    }

    fn entries(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, CacheError> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let mut stored = Vec::new();
            for item in table.range(prefix..).map_err(redb_err)? {
                let (k, v) = item.map_err(redb_err)?;
                if !k.value().starts_with(prefix) {
                    break;
                }
                stored.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(stored)
        })
    }

    fn count(&self) -> Result<usize, CacheError> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            Ok(table.len().map_err(redb_err)? as usize)
        })
    }

    fn lock(&self, _key: &str, _expiry: Duration) -> Result<Option<String>, CacheError> {
        // One process per file: the in-process single flight is enough.
        Ok(Some(String::new()))
    }

    fn is_locked(&self, _key: &str) -> Result<bool, CacheError> {
        Ok(false)
    }

    fn unlock(&self, _key: &str, _token: &str) {}

    fn publish(&self, _event: &EntryEvent) {}

    fn listen(&self, _on_heard: Box<dyn Fn(Heard) -> bool + Send>) {}

    fn memory_is_current(&self) -> bool {
        true
    }

    fn health(&self) -> Result<(), String> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(format!(
                "stats cache {} needs to be opened again",
                self.place()
            ));
        }
        Ok(())
    }
}
