//! The persistent stats cache (`DATA_DIR/stats.redb`): get-or-compute by key
//! with fresh / cached / stale answers, single-flight computations,
//! background recomputation of stale entries, refresh-ahead, invalidation,
//! LRU eviction of per-user entries and per-kind metrics.
//!
//! Key layout and invalidation rules are described in `docs/cache.md`.

pub mod entry;
mod events;
pub mod memo;
pub mod metrics;
mod transient;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde_json::json;

use crate::clock::format_utc;
use crate::config::Config;
use crate::i18n::Lang;
use crate::stats::key::{Change, KeyKind};
use crate::stats::{self, StatKey, StatsError};
use crate::store::Store;

pub use entry::Entry;
pub use events::EntryEvent;
pub use metrics::{KindMetrics, Metrics};

/// The single table of the cache: key text → encoded [`Entry`].
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");

/// What went wrong in the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Computing the statistic failed (unknown user, bad parameter, store).
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// Another process (normally `voxdash serve`) has the cache file open.
    #[error("{0} is open in another voxdash process (the server?)")]
    Locked(PathBuf),
    /// redb failed (an I/O error, a damaged file, ...).
    #[error("stats cache: {0}")]
    Redb(Box<redb::Error>),
    /// The cache file could not be opened or rebuilt; reads miss and
    /// computations are answered without being stored until it can be.
    #[error("stats cache {0} is unavailable")]
    Unavailable(PathBuf),
    /// The computation of a key panicked (the statistic's code has a bug).
    #[error("the computation of {0} failed unexpectedly")]
    Panicked(String),
    /// What a computation shared with this caller failed with, as text.
    #[error("{0}")]
    Failed(String),
    /// The shared computation this call waited for failed.
    #[error("{0}")]
    Shared(Arc<CacheError>),
}

impl CacheError {
    /// A copy of this error for the callers that shared the computation.
    fn for_waiters(&self) -> CacheError {
        match self.root() {
            CacheError::Stats(StatsError::UnknownUser(u)) => {
                CacheError::Stats(StatsError::UnknownUser(*u))
            }
            CacheError::Stats(StatsError::UnknownSpeaker(s)) => {
                CacheError::Stats(StatsError::UnknownSpeaker(*s))
            }
            CacheError::Stats(StatsError::BadParameter { param, reason }) => {
                CacheError::Stats(StatsError::BadParameter {
                    param,
                    reason: reason.clone(),
                })
            }
            CacheError::Locked(p) => CacheError::Locked(p.clone()),
            other => CacheError::Failed(other.to_string()),
        }
    }

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

    /// The underlying error, through shared computations.
    pub fn root(&self) -> &CacheError {
        match self {
            CacheError::Shared(inner) => inner.root(),
            other => other,
        }
    }
}

fn redb_err(e: impl Into<redb::Error>) -> CacheError {
    CacheError::Redb(Box::new(e.into()))
}

impl From<redb::Error> for CacheError {
    fn from(e: redb::Error) -> Self {
        redb_err(e)
    }
}

/// How an answer relates to the data, as the badge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Computed while answering.
    Fresh,
    /// From the cache, within its TTL, no change since.
    Cached,
    /// From the cache, past its TTL or with changes since; being recomputed.
    Stale,
}

impl Freshness {
    /// `fresh`, `cached` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Cached => "cached",
            Freshness::Stale => "stale",
        }
    }
}

/// A statistic as answered to a reader.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Which statistic.
    pub key: StatKey,
    /// Fresh, cached or stale.
    pub status: Freshness,
    /// Writes to its source since it was computed.
    pub changes_since: u64,
    /// The entry.
    pub entry: Arc<Entry>,
}

impl Answer {
    /// The JSON envelope of stats.md, texts in `lang`.
    pub fn envelope(&self, lang: Lang) -> serde_json::Value {
        json!({
            "key": self.key.to_string(),
            "status": self.status.as_str(),
            "computed_at": format_utc(self.entry.computed_at),
            "expires_at": format_utc(self.entry.expires_at()),
            "compute_ms": self.entry.compute_micros as f64 / 1000.0,
            "changes_since": self.changes_since,
            "data": self.entry.statistic.to_json(lang),
        })
    }
}

/// One line of `cache ls` and `/admin/cache/`.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// Key text.
    pub key: String,
    /// Status a reader would get now.
    pub status: Freshness,
    /// Age in seconds.
    pub age_secs: f64,
    /// TTL in seconds.
    pub ttl_secs: u64,
    /// Encoded size in bytes.
    pub size: usize,
    /// Writes since computed.
    pub changes_since: u64,
}

struct Flight {
    result: Mutex<Option<Result<Arc<Entry>, Arc<CacheError>>>>,
    done: Condvar,
}

impl Flight {
    /// Blocks until the leader has set the result, and returns it.
    fn wait(&self) -> Result<Arc<Entry>, Arc<CacheError>> {
        let mut slot = self.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(result) = slot.as_ref() {
                return result.clone();
            }
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Sets a flight's result (an error if none was set: the computation
/// panicked), removes it from the flights under way and wakes its waiters.
struct FinishFlight<'a> {
    cache: &'a StatsCache,
    key: String,
    flight: &'a Flight,
    result: Option<Result<Arc<Entry>, Arc<CacheError>>>,
}

impl Drop for FinishFlight<'_> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or_else(|| {
            log::error!("computation of {} panicked", self.key);
            Err(Arc::new(CacheError::Panicked(self.key.clone())))
        });
        *self.flight.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        // Remove the flight after its result is set: a later call starts anew,
        // and `wait_idle` never misses a computation.
        self.cache
            .inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        self.flight.done.notify_all();
    }
}

/// The stats cache. Cheap to share (`Arc`); every method may be called from
/// any thread.
pub struct StatsCache {
    /// The open file; `None` while it cannot be opened. An `RwLock`
    /// because every operation reads it and only a reopen replaces it.
    db: RwLock<Option<Database>>,
    /// Set by an error that needs a reopen; the next operation reopens.
    broken: AtomicBool,
    /// When the last reopen was tried, so a full disk is not retried in a loop.
    last_reopen: Mutex<Option<Instant>>,
    /// Per-user entries for dates other than today and this week, kept in
    /// memory only and bounded: a flood of `?date=` values can neither grow
    /// the file nor evict what is in it, nor cost a commit each.
    transient: Mutex<transient::Transient>,
    path: PathBuf,
    store: Arc<Store>,
    config: Config,
    /// Computations under way, by key text. A `Mutex` because every access
    /// inserts or removes.
    inflight: Mutex<HashMap<String, Arc<Flight>>>,
    /// Order of the last read of each key in this process (a tick that only
    /// grows, not the clock, which tests pin), for LRU eviction.
    last_access: Mutex<(u64, HashMap<String, u64>)>,
    metrics: Metrics,
    /// Who hears of written, dropped and stale-marked entries.
    events: events::Events,
    /// Entries decoded before, by key. redb admits one process per file, so
    /// what this process wrote is what the file holds: a read needs no redb
    /// transaction and no decoding once an entry was read. Every write,
    /// drop, purge and reopen goes past it.
    decoded: memo::Memo<String, Arc<Entry>>,
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

impl StatsCache {
    /// Opens (or creates) the cache of `config`'s data directory. Fails with
    /// `Locked` when another process has it open.
    pub fn open(config: &Config, store: Arc<Store>) -> Result<Arc<StatsCache>, CacheError> {
        let path = config.cache_path();
        let db = open_db(&path, config.clock.now_micros(), false)?;
        Ok(Arc::new(StatsCache {
            db: RwLock::new(Some(db)),
            broken: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
            transient: Mutex::new(transient::Transient::default()),
            path,
            store,
            config: config.clone(),
            inflight: Mutex::new(HashMap::new()),
            last_access: Mutex::new((0, HashMap::new())),
            metrics: Metrics::default(),
            events: events::Events::default(),
            decoded: memo::Memo::new(config.cache.max_entries),
        }))
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
            return Err(CacheError::Unavailable(self.path.clone()));
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
        self.decoded.clear();
        {
            let mut last = self.last_reopen.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        let mut guard = self.db.write().unwrap_or_else(|e| e.into_inner());
        drop(guard.take());
        match open_db(&self.path, self.config.clock.now_micros(), true) {
            Ok(db) => {
                *guard = Some(db);
                self.broken.store(false, Ordering::SeqCst);
                log::warn!("stats cache {} opened again", self.path.display());
            }
            Err(e) => log::warn!("stats cache {} still unavailable: {e}", self.path.display()),
        }
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store statistics are computed from.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The configuration (clock, zone, policy).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Per-kind counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// TTL of a key kind, from the policy.
    pub fn ttl_of(&self, kind: KeyKind) -> u64 {
        let p = &self.config.cache;
        match kind {
            // A sub-corpus is the dashboard over fewer speakers.
            KeyKind::Dashboard | KeyKind::SubCorpus | KeyKind::Speaker => p.dashboard_ttl,
            KeyKind::Locations => p.locations_ttl,
            KeyKind::Learning => p.learning_ttl,
            KeyKind::Daily => p.daily_ttl,
            KeyKind::Weekly => p.weekly_ttl,
            KeyKind::Analytics => p.analytics_ttl,
            KeyKind::Courses => p.courses_ttl,
        }
    }

    /// Reads the stored entry of a key (a miss for unknown layouts or read errors).
    pub fn read(&self, key: &str) -> Option<Entry> {
        self.read_shared(key).map(|e| e.as_ref().clone())
    }

    /// The stored entry of a key, shared: from memory when it was read
    /// before, else from the file (and then kept in memory).
    fn read_shared(&self, key: &str) -> Option<Arc<Entry>> {
        if let Some(entry) = self.decoded.get(key) {
            return Some(entry);
        }
        // Bounded like the file (`max_entries`).
        let entry = Arc::new(self.read_stored(key)?);
        self.decoded.insert(key.to_string(), Arc::clone(&entry));
        Some(entry)
    }

    fn read_stored(&self, key: &str) -> Option<Entry> {
        if let Some(entry) = self.lock_transient().get(key) {
            return Some(entry);
        }
        let result = self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let value = table.get(key).map_err(redb_err)?;
            Ok(value.and_then(|v| Entry::decode(v.value())))
        });
        result.unwrap_or_else(|e| {
            log::warn!("stats cache read of {key} failed: {e}");
            None
        })
    }

    fn changes_since(&self, key: &StatKey, entry: &Entry) -> Result<u64, CacheError> {
        let conn = self.store.conn().map_err(StatsError::from)?;
        let now_rev = stats::revision(&conn, key)?;
        Ok(now_rev.saturating_sub(entry.revision))
    }

    /// The status a reader would get for a stored entry now (`Cached` or
    /// `Stale`) and its changes since; no side effect.
    pub fn status(&self, key: &StatKey, entry: &Entry) -> Result<(Freshness, u64), CacheError> {
        let changes = self.changes_since(key, entry)?;
        let expired = self.config.clock.now_micros() >= entry.expires_at();
        let stale = expired || changes > 0 || entry.marked_stale;
        Ok((
            if stale {
                Freshness::Stale
            } else {
                Freshness::Cached
            },
            changes,
        ))
    }

    /// The stored answer of `key` as a reader would see it, without counting
    /// a read or starting a recomputation; `None` when nothing is stored.
    pub fn peek(&self, key: &StatKey) -> Result<Option<Answer>, CacheError> {
        let Some(entry) = self.read_shared(&key.to_string()) else {
            return Ok(None);
        };
        let (status, changes_since) = self.status(key, &entry)?;
        Ok(Some(Answer {
            key: key.clone(),
            status,
            changes_since,
            entry,
        }))
    }

    /// Answers `key` without ever waiting for a recomputation when a value
    /// exists: an expired or changed entry is returned as `Stale` while one
    /// background recomputation runs. A never-computed key is computed here
    /// (shared with concurrent callers). Errors are never cached.
    pub fn get(self: &Arc<Self>, key: &StatKey) -> Result<Answer, CacheError> {
        let text = key.to_string();
        let kind = key.kind();
        let now = self.config.clock.now_micros();
        self.touch(&text);
        if let Some(entry) = self.read_shared(&text) {
            let (status, changes) = self.status(key, &entry)?;
            let status = if status == Freshness::Stale {
                self.metrics.stale(kind);
                self.spawn_recompute(key.clone());
                Freshness::Stale
            } else {
                self.metrics.hit(kind);
                // Refresh-ahead: a shared entry read in the last tenth of its TTL.
                let tenth = (entry.ttl_secs as i64) * 100_000;
                if kind.is_shared() && now >= entry.expires_at() - tenth {
                    self.spawn_recompute(key.clone());
                }
                Freshness::Cached
            };
            return Ok(Answer {
                key: key.clone(),
                status,
                changes_since: changes,
                entry,
            });
        }
        self.metrics.miss(kind);
        self.refresh(key)
    }

    /// Recomputes `key` now, in the caller (joining a computation under way),
    /// and answers `Fresh`.
    pub fn refresh(self: &Arc<Self>, key: &StatKey) -> Result<Answer, CacheError> {
        let entry = self.compute_shared(key)?;
        Ok(Answer {
            key: key.clone(),
            status: Freshness::Fresh,
            changes_since: 0,
            entry,
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
    }

    /// Starts a background recomputation unless one is under way. The
    /// flight is registered before the thread starts, so `wait_idle` sees it.
    pub fn spawn_recompute(self: &Arc<Self>, key: StatKey) {
        let (flight, leader) = self.join_flight(&key.to_string());
        if !leader {
            return;
        }
        let cache = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("recompute {key}"))
            .spawn(move || {
                if let Err(e) = cache.lead(&key, &flight) {
                    log::warn!("background recomputation of {key} failed: {e}");
                }
            })
            .expect("spawn recompute thread");
    }

    /// Blocks until no computation is under way (tests, CLI).
    pub fn wait_idle(&self) {
        loop {
            let flights: Vec<Arc<Flight>> = {
                let inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
                inflight.values().cloned().collect()
            };
            if flights.is_empty() {
                return;
            }
            for f in flights {
                let _ = f.wait();
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// The flight of a key: an existing one, or a new one this caller leads.
    fn join_flight(&self, text: &str) -> (Arc<Flight>, bool) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        match inflight.get(text) {
            Some(f) => (Arc::clone(f), false),
            None => {
                let f = Arc::new(Flight {
                    result: Mutex::new(None),
                    done: Condvar::new(),
                });
                inflight.insert(text.to_string(), Arc::clone(&f));
                (f, true)
            }
        }
    }

    /// One computation per key at a time; other callers wait for its result.
    fn compute_shared(self: &Arc<Self>, key: &StatKey) -> Result<Arc<Entry>, CacheError> {
        let (flight, leader) = self.join_flight(&key.to_string());
        if leader {
            return self.lead(key, &flight);
        }
        flight.wait().map_err(CacheError::Shared)
    }

    /// Runs the computation of a flight this caller leads and wakes its
    /// waiters. The flight is finished by a drop guard, so a computation that
    /// panics still releases its key: waiters get an error, later readers
    /// start anew.
    fn lead(&self, key: &StatKey, flight: &Flight) -> Result<Arc<Entry>, CacheError> {
        self.lead_with(key, flight, || self.compute_and_store(key))
    }

    /// [`StatsCache::lead`] with the computation given (tests make it panic).
    fn lead_with(
        &self,
        key: &StatKey,
        flight: &Flight,
        compute: impl FnOnce() -> Result<Entry, CacheError>,
    ) -> Result<Arc<Entry>, CacheError> {
        let mut finish = FinishFlight {
            cache: self,
            key: key.to_string(),
            flight,
            result: None,
        };
        let result = compute().map(Arc::new);
        finish.result = Some(match &result {
            Ok(e) => Ok(Arc::clone(e)),
            Err(e) => Err(Arc::new(e.for_waiters())),
        });
        drop(finish);
        result
    }

    fn compute_and_store(&self, key: &StatKey) -> Result<Entry, CacheError> {
        let kind = key.kind();
        let started = Instant::now();
        let computed_at = self.config.clock.now_micros();
        let computed = {
            let mut conn = self.store.conn().map_err(StatsError::from)?;
            stats::compute(&mut conn, &self.config, key)?
        };
        let micros = started.elapsed().as_micros() as u64;
        self.metrics.computed(kind, micros);
        let entry = Entry {
            computed_at,
            ttl_secs: self.ttl_of(kind),
            compute_micros: micros,
            revision: computed.revision,
            marked_stale: false,
            statistic: computed.statistic,
        };
        // A value that cannot be stored (a full disk) is still the answer;
        // the cache recovers by itself and stores the next one.
        if let Err(e) = self.write(&key.to_string(), &entry) {
            log::warn!("stats cache: {key} computed but not stored: {e}");
        }
        Ok(entry)
    }

    /// Stores an entry, evicting least recently used per-user entries when
    /// over the limit. The previous entry stays readable until the commit.
    pub fn write(&self, key: &str, entry: &Entry) -> Result<(), CacheError> {
        self.decoded.remove(key);
        let parsed = StatKey::parse(key);
        let written = if parsed.as_ref().is_ok_and(|k| self.is_transient(k)) {
            self.lock_transient().put(key, entry.clone());
            Ok(())
        } else {
            self.with_db(|db| self.write_to(db, key, entry))
        };
        let changes_since = match &parsed {
            Ok(k) if entry.marked_stale => self.changes_since(k, entry).unwrap_or(0),
            _ => 0,
        };
        self.events.send(EntryEvent {
            key: key.to_string(),
            status: if entry.marked_stale { "stale" } else { "fresh" },
            computed_at: Some(format_utc(entry.computed_at)),
            changes_since,
        });
        written
    }

    /// Every entry event from now on: written (`fresh`), marked stale or
    /// dropped (`stale`).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<EntryEvent> {
        self.events.subscribe()
    }

    fn write_to(&self, db: &Database, key: &str, entry: &Entry) -> Result<(), CacheError> {
        let tx = db.begin_write().map_err(redb_err)?;
        {
            let mut table = tx.open_table(ENTRIES).map_err(redb_err)?;
            table
                .insert(key, entry.encode().as_slice())
                .map_err(redb_err)?;
            let len = table.len().map_err(redb_err)? as usize;
            let limit = self.config.cache.max_entries;
            if len > limit {
                let victims = self.eviction_order(&table)?;
                for victim in victims.into_iter().take(len - limit) {
                    if victim != key {
                        table.remove(victim.as_str()).map_err(redb_err)?;
                        self.decoded.remove(&victim);
                    }
                }
            }
        }
        tx.commit().map_err(redb_err)
    }

    /// Per-user keys, least recently used first: keys never read in this
    /// process first (oldest computed first), then by order of last read.
    fn eviction_order(
        &self,
        table: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<Vec<String>, CacheError> {
        let access = self
            .last_access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone();
        let mut candidates = Vec::new();
        for item in table.iter().map_err(redb_err)? {
            let (k, v) = item.map_err(redb_err)?;
            let key = k.value().to_string();
            if StatKey::shared(&key).is_some() {
                continue;
            }
            let computed = Entry::decode(v.value())
                .map(|e| e.computed_at)
                .unwrap_or(i64::MIN);
            let used = access.get(&key).copied().unwrap_or(0);
            candidates.push((used, computed, key));
        }
        candidates.sort();
        Ok(candidates.into_iter().map(|(_, _, k)| k).collect())
    }

    /// Drops one entry. Returns whether it existed.
    pub fn invalidate(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.remove_where(|k| k == key)? > 0)
    }

    /// Drops every entry whose key starts with `prefix` (`user/42/` drops all
    /// of user 42; an empty prefix clears the cache). Returns how many.
    pub fn invalidate_prefix(&self, prefix: &str) -> Result<usize, CacheError> {
        self.remove_where(|k| k.starts_with(prefix))
    }

    /// Drops every entry under `prefix` whose key is of `kind` (any kind for
    /// `None`): `cache clear dashboard --kind dashboard` keeps the sub-corpus
    /// entries `dashboard?…`. Returns how many.
    pub fn invalidate_prefix_of_kind(
        &self,
        prefix: &str,
        kind: Option<KeyKind>,
    ) -> Result<usize, CacheError> {
        self.remove_where(|k| {
            k.starts_with(prefix)
                && kind.map_or(true, |kind| {
                    StatKey::parse(k).is_ok_and(|key| key.kind() == kind)
                })
        })
    }

    /// Drops every entry under any of `prefixes`, in one scan and one
    /// transaction. Returns how many.
    pub fn invalidate_prefixes(&self, prefixes: &[String]) -> Result<usize, CacheError> {
        self.remove_where(|k| prefixes.iter().any(|p| k.starts_with(p.as_str())))
    }

    fn remove_where(&self, pred: impl Fn(&str) -> bool) -> Result<usize, CacheError> {
        let removed = Mutex::new(std::collections::BTreeSet::new());
        let noting = |k: &str| {
            let hit = pred(k);
            if hit {
                self.decoded.remove(k);
                removed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(k.to_string());
            }
            hit
        };
        let from_memory = self.lock_transient().remove_where(&noting);
        let result = self.with_db(|db| Self::remove_from(db, &noting));
        for key in removed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            self.events.send(EntryEvent {
                key,
                status: "stale",
                computed_at: None,
                changes_since: 0,
            });
        }
        Ok(from_memory + result?)
    }

    fn remove_from(db: &Database, pred: &impl Fn(&str) -> bool) -> Result<usize, CacheError> {
        let tx = db.begin_write().map_err(redb_err)?;
        let removed;
        {
            let mut table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let keys: Vec<String> = table
                .iter()
                .map_err(redb_err)?
                .filter_map(|item| item.ok().map(|(k, _)| k.value().to_string()))
                .filter(|k| pred(k))
                .collect();
            for k in &keys {
                table.remove(k.as_str()).map_err(redb_err)?;
            }
            removed = keys.len();
        }
        tx.commit().map_err(redb_err)?;
        Ok(removed)
    }

    /// Applies the invalidation of a committed write ([`Change::invalidation`]).
    /// Best effort: the write is done, so a failure here is logged, and the
    /// write counters still make the entries stale.
    pub fn apply(&self, change: Change) {
        let invalidation = change.invalidation();
        if !invalidation.drop_prefixes.is_empty() {
            if let Err(e) = self.invalidate_prefixes(&invalidation.drop_prefixes) {
                log::warn!("cache: invalidation after {change:?}: {e}");
            }
        }
        for key in invalidation.mark_stale {
            if let Err(e) = self.mark_stale(&key.to_string()) {
                log::warn!("cache: marking {key} stale after {change:?}: {e}");
            }
        }
    }

    /// Marks an entry stale: it keeps being served (as `stale`) while a
    /// recomputation runs on the next read. Returns whether it existed.
    pub fn mark_stale(&self, key: &str) -> Result<bool, CacheError> {
        let Some(mut entry) = self.read(key) else {
            return Ok(false);
        };
        entry.marked_stale = true;
        self.write(key, &entry)?;
        Ok(true)
    }

    /// Drops per-user entries past their TTL. Returns how many.
    pub fn purge_expired(&self) -> Result<usize, CacheError> {
        self.decoded.clear();
        let now = self.config.clock.now_micros();
        let from_memory = self.lock_transient().purge_expired(now);
        Ok(from_memory + self.with_db(|db| Self::purge_expired_from(db, now))?)
    }

    fn purge_expired_from(db: &Database, now: i64) -> Result<usize, CacheError> {
        let tx = db.begin_write().map_err(redb_err)?;
        let removed;
        {
            let mut table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let mut victims = Vec::new();
            for item in table.iter().map_err(redb_err)? {
                let (k, v) = item.map_err(redb_err)?;
                let key = k.value().to_string();
                if key.starts_with("user/") {
                    match Entry::decode(v.value()) {
                        Some(e) if e.expires_at() > now => {}
                        _ => victims.push(key),
                    }
                }
            }
            for k in &victims {
                table.remove(k.as_str()).map_err(redb_err)?;
            }
            removed = victims.len();
        }
        tx.commit().map_err(redb_err)?;
        Ok(removed)
    }

    /// Every entry with the status a reader would get now, by key.
    pub fn list(&self) -> Result<Vec<EntryInfo>, CacheError> {
        let now = self.config.clock.now_micros();
        let stored = self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            let mut stored = Vec::new();
            for item in table.iter().map_err(redb_err)? {
                let (k, v) = item.map_err(redb_err)?;
                stored.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(stored)
        })?;
        let mut out = Vec::new();
        for (key, bytes) in stored {
            let size = bytes.len();
            let Some(entry) = Entry::decode(&bytes) else {
                continue;
            };
            let (status, changes) = match StatKey::parse(&key) {
                Ok(sk) => self.status(&sk, &entry)?,
                Err(_) => (Freshness::Stale, 0),
            };
            out.push(EntryInfo {
                key,
                status,
                age_secs: (now - entry.computed_at) as f64 / 1e6,
                ttl_secs: entry.ttl_secs,
                size,
                changes_since: changes,
            });
        }
        Ok(out)
    }

    /// Number of entries stored.
    pub fn len(&self) -> Result<usize, CacheError> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(redb_err)?;
            let table = tx.open_table(ENTRIES).map_err(redb_err)?;
            Ok(table.len().map_err(redb_err)? as usize)
        })
    }

    fn lock_transient(&self) -> std::sync::MutexGuard<'_, transient::Transient> {
        self.transient.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `key` is a per-user entry for a day or week other than the
    /// current one: those are kept in memory only, at most a few hundred.
    pub fn is_transient(&self, key: &StatKey) -> bool {
        let today = self.config.local.date(self.config.clock.now_micros());
        match key {
            StatKey::Daily { date, .. } => *date != today,
            StatKey::Weekly { monday, .. } => *monday != crate::clock::LocalTime::monday_of(today),
            _ => false,
        }
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> Result<bool, CacheError> {
        Ok(self.len()? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_computation_that_panics_releases_its_key_and_its_waiters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("voxdash.db")).unwrap());
        let config = Config::with(dir.path(), chrono_tz::UTC, crate::clock::Clock::System);
        let cache = StatsCache::open(&config, store).unwrap();
        let key = StatKey::Dashboard;
        let (flight, leader) = cache.join_flight("dashboard");
        assert!(leader);
        let waiter = {
            let (f, leader) = cache.join_flight("dashboard");
            assert!(!leader);
            std::thread::spawn(move || f.wait().map(|_| ()).map_err(|e| e.to_string()))
        };
        let leader = {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                let _ = cache.lead_with(&key, &flight, || panic!("a bug in a statistic"));
            })
        };
        assert!(leader.join().is_err(), "the computation panicked");
        let waited = waiter.join().unwrap();
        assert!(waited.unwrap_err().contains("dashboard"));
        // The key is free again: the next reader computes it.
        cache.wait_idle();
        assert_eq!(
            cache.get(&StatKey::Dashboard).unwrap().status,
            Freshness::Fresh
        );
    }

    #[test]
    fn a_damaged_cache_file_is_moved_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("voxdash.db")).unwrap());
        let config = Config::with(dir.path(), chrono_tz::UTC, crate::clock::Clock::System);
        {
            let cache = StatsCache::open(&config, Arc::clone(&store)).unwrap();
            cache.refresh(&StatKey::Dashboard).unwrap();
        }
        let path = config.cache_path();
        let bytes = std::fs::read(&path).unwrap();
        for damage in [
            bytes[..bytes.len() / 3].to_vec(),
            {
                let mut b = bytes.clone();
                let mid = b.len() / 2;
                let end = (mid + 4096).min(b.len());
                b[mid..end].fill(0xA5);
                b
            },
            b"not a redb file at all".to_vec(),
        ] {
            std::fs::write(&path, &damage).unwrap();
            let cache = StatsCache::open(&config, Arc::clone(&store)).expect("rebuilt");
            // Damage in unused pages may leave the entry readable; either
            // way the statistic is answered.
            cache.get(&StatKey::Dashboard).unwrap();
            drop(cache);
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let aside = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("stats.redb.corrupt-")
            })
            .count();
        assert!(aside >= 2, "{aside} files moved aside");
    }
}
