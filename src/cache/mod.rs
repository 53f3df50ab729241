//! The persistent stats cache: get-or-compute by key with fresh / cached /
//! stale answers, single-flight computations (within a node, and across
//! nodes when the cache is shared), background recomputation of stale
//! entries, refresh-ahead, invalidation, LRU eviction of per-user entries
//! and per-kind metrics. Where the entries are kept is a `backend`: a redb
//! file in the data directory (`DATA_DIR/stats.redb`, the default) or a
//! Redis server shared by several nodes (`cache_url`).
//!
//! Key layout and invalidation rules are described in `docs/cache.md`.

pub(crate) mod backend;
pub(crate) mod entry;
mod events;
mod file;
pub(crate) mod memo;
pub(crate) mod metrics;
mod redis;
mod transient;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::clock::format_utc;
use crate::config::Config;
use crate::i18n::Lang;
use crate::stats::key::{Change, KeyKind};
use crate::stats::{self, StatKey, StatsError};
use crate::store::{Store, StoreError};

use backend::{Backend, Heard};
pub use entry::Entry;
pub use events::EntryEvent;
pub use metrics::{KindMetrics, Metrics};

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
    Unavailable(String),
    /// `cache_url` is not a Redis URL voxdash can use.
    #[error("cache_url: {0}")]
    BadUrl(String),
    /// A Redis command failed.
    #[error("stats cache at {place}: {source}")]
    Redis {
        /// The server, without its password.
        place: String,
        /// The cause.
        source: ::redis::RedisError,
    },
    /// The Redis server answers but refuses to store (it is at its
    /// `maxmemory`, a read-only replica, ...).
    #[error("stats cache at {place} refuses writes: {reason}")]
    Refused {
        /// The server, without its password.
        place: String,
        /// What it said.
        reason: String,
    },
    /// The Redis server failed a moment ago; not asked again yet.
    #[error("stats cache at {place} is unreachable: {reason}")]
    Unreachable {
        /// The server, without its password.
        place: String,
        /// The last failure.
        reason: String,
    },
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
            CacheError::Stats(StatsError::Store(StoreError::Unreachable { place, reason })) => {
                CacheError::Stats(StatsError::Store(StoreError::Unreachable {
                    place: place.clone(),
                    reason: reason.clone(),
                }))
            }
            CacheError::Locked(p) => CacheError::Locked(p.clone()),
            other => CacheError::Failed(other.to_string()),
        }
    }

    /// Logs `what: self` as a warning; an unreachable Redis only at debug
    /// level, since it was said once when it went away (a log line per page
    /// view would bury everything else).
    fn log(&self, what: &str) {
        match self {
            // Said once when it happened (a refusal once a minute).
            CacheError::Unreachable { .. } | CacheError::Refused { .. } => {
                log::debug!("{what}: {self}")
            }
            _ => log::warn!("{what}: {self}"),
        }
    }

    /// The underlying error, through shared computations.
    pub fn root(&self) -> &CacheError {
        match self {
            CacheError::Shared(inner) => inner.root(),
            other => other,
        }
    }
}

impl From<redb::Error> for CacheError {
    fn from(e: redb::Error) -> Self {
        CacheError::Redb(Box::new(e))
    }
}

/// What a computation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// A current entry (a miss, a stale entry): one stored meanwhile by
    /// another node will do.
    Current,
    /// A new computation (an explicit refresh).
    Recomputed,
}

/// How an answer relates to the data, as the badge shows it; in JSON and
/// entry events `fresh`, `cached` or `stale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// The JSON envelope of docs/statistics.md, texts in `lang`.
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
    /// Where the entries are kept.
    backend: Box<dyn Backend>,
    /// Per-user entries for dates other than today and this week, kept in
    /// memory only and bounded: a flood of `?date=` values can neither grow
    /// the store nor evict what is in it, nor cost a commit each.
    transient: Mutex<transient::Transient>,
    store: Arc<Store>,
    config: Config,
    /// Computations under way, by key text. A `Mutex` because every access
    /// inserts or removes.
    inflight: Mutex<HashMap<String, Arc<Flight>>>,
    metrics: Metrics,
    /// Who hears of written, dropped and stale-marked entries.
    events: events::Events,
    /// Entries decoded before, by key. While the backend says memory is
    /// current (one process per file; or a shared cache whose changes this
    /// node hears), a read needs no round trip and no decoding once an
    /// entry was read. Every write, drop and purge goes past it.
    decoded: memo::Memo<String, Arc<Entry>>,
    /// Bumped by every write and drop, so a read that raced with one does
    /// not put what it read into `decoded`.
    generation: AtomicU64,
}

impl StatsCache {
    /// Opens (or creates) the cache of `config`: the data directory's file,
    /// or the Redis server of `config.cache_url`. Fails with `Locked` when
    /// another process has the file open; an unreachable Redis server is not
    /// an error (the node computes by itself until it answers).
    pub fn open(config: &Config, store: Arc<Store>) -> Result<Arc<StatsCache>, CacheError> {
        // The aggregates the statistics read must be those of this zone.
        let conn = store.conn().map_err(StatsError::from)?;
        crate::store::aggregates::follow_zone(&conn, config.local.tz).map_err(StatsError::from)?;
        drop(conn);
        let backend: Box<dyn Backend> = match &config.cache_url {
            Some(url) => Box::new(redis::RedisBackend::open(url)?),
            None => Box::new(file::FileBackend::open(config.cache_path(), config.clock)?),
        };
        let cache = Arc::new(StatsCache {
            backend,
            transient: Mutex::new(transient::Transient::default()),
            store,
            config: config.clone(),
            inflight: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            events: events::Events::default(),
            decoded: memo::Memo::new(config.cache.max_entries),
            generation: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&cache);
        cache.backend.listen(Box::new(move |heard| {
            let Some(cache) = weak.upgrade() else {
                return false;
            };
            match heard {
                Heard::Event(event) => {
                    cache.forget(&event.key);
                    cache.events.send(event);
                }
                Heard::Missed => {
                    cache.generation.fetch_add(1, Ordering::SeqCst);
                    cache.decoded.clear();
                }
                Heard::Idle => {}
            }
            true
        }));
        Ok(cache)
    }

    /// Drops what memory holds of `key`.
    fn forget(&self, key: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.decoded.remove(key);
    }

    /// Where the entries are kept: the file's path or the Redis server's
    /// address (never its password).
    pub fn place(&self) -> String {
        self.backend.place()
    }

    /// Whether the entries are kept in a Redis server shared with other nodes.
    pub fn is_shared(&self) -> bool {
        self.config.cache_url.is_some()
    }

    /// `Err(reason)` while the place of the entries cannot be used; answers
    /// are then computed by this node.
    pub fn health(&self) -> Result<(), String> {
        self.backend.health()
    }

    /// `Some(reason)` while the place of the cache answers but refuses to
    /// store entries; answers are then computed by this node and kept in
    /// its memory only.
    pub fn refusing_writes(&self) -> Option<String> {
        self.backend.refusing_writes()
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
    /// before and memory is current, else from the backend (and then kept in
    /// memory). While the backend cannot be reached, what this node last
    /// had is the answer.
    fn read_shared(&self, key: &str) -> Option<Arc<Entry>> {
        let current = self.backend.memory_is_current();
        if current {
            if let Some(entry) = self.decoded.get(key) {
                return Some(entry);
            }
        }
        if let Some(entry) = self.lock_transient().get(key) {
            let entry = Arc::new(entry);
            self.decoded.insert(key.to_string(), Arc::clone(&entry));
            return Some(entry);
        }
        let before = self.generation.load(Ordering::SeqCst);
        match self.backend.get(key) {
            Ok(Some(bytes)) => {
                let entry = Arc::new(Entry::decode(&bytes)?);
                // Bounded like the store (`max_entries`).
                if self.generation.load(Ordering::SeqCst) == before {
                    self.decoded.insert(key.to_string(), Arc::clone(&entry));
                }
                Some(entry)
            }
            Ok(None) => {
                self.decoded.remove(key);
                None
            }
            Err(e) => {
                e.log(&format!("stats cache read of {key} failed"));
                self.decoded.get(key)
            }
        }
    }

    fn changes_since(&self, key: &StatKey, entry: &Entry) -> Result<u64, CacheError> {
        let now_rev = self.store.glance(|view| stats::revision(view, key))?;
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
        self.backend.touch(&text);
        if let Some(entry) = self.read_shared(&text) {
            let (status, changes) = self.status(key, &entry)?;
            let status = if status == Freshness::Stale {
                self.metrics.stale(kind);
                self.spawn(key.clone(), Need::Current);
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
        self.fresh_answer(key, Need::Current)
    }

    /// Recomputes `key` now, in the caller (joining a computation under way),
    /// and answers `Fresh`.
    pub fn refresh(self: &Arc<Self>, key: &StatKey) -> Result<Answer, CacheError> {
        self.fresh_answer(key, Need::Recomputed)
    }

    fn fresh_answer(self: &Arc<Self>, key: &StatKey, need: Need) -> Result<Answer, CacheError> {
        let entry = self.compute_shared(key, need)?;
        Ok(Answer {
            key: key.clone(),
            status: Freshness::Fresh,
            changes_since: 0,
            entry,
        })
    }

    /// Starts a background recomputation unless one is under way. The
    /// flight is registered before the thread starts, so `wait_idle` sees it.
    pub fn spawn_recompute(self: &Arc<Self>, key: StatKey) {
        self.spawn(key, Need::Recomputed);
    }

    /// Starts a background computation of `key` unless one is under way or
    /// a current entry is stored by then (another node made it).
    pub fn spawn_fill(self: &Arc<Self>, key: StatKey) {
        self.spawn(key, Need::Current);
    }

    fn spawn(self: &Arc<Self>, key: StatKey, need: Need) {
        let (flight, leader) = self.join_flight(&key.to_string());
        if !leader {
            return;
        }
        let cache = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("recompute {key}"))
            .spawn(move || {
                if let Err(e) = cache.lead(&key, &flight, need) {
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
    fn compute_shared(
        self: &Arc<Self>,
        key: &StatKey,
        need: Need,
    ) -> Result<Arc<Entry>, CacheError> {
        let (flight, leader) = self.join_flight(&key.to_string());
        if leader {
            return self.lead(key, &flight, need);
        }
        flight.wait().map_err(CacheError::Shared)
    }

    /// Runs the computation of a flight this caller leads and wakes its
    /// waiters. The flight is finished by a drop guard, so a computation that
    /// panics still releases its key: waiters get an error, later readers
    /// start anew.
    fn lead(&self, key: &StatKey, flight: &Flight, need: Need) -> Result<Arc<Entry>, CacheError> {
        self.lead_with(key, flight, || self.compute_and_store(key, need))
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

    /// Computes `key` and stores it. With a shared cache, one node at a
    /// time computes a key: the others wait for its entry, and take over
    /// when it goes away without storing one (its lock expired). Unless a
    /// recomputation is asked for, a current entry stored by another node
    /// since the caller looked is the answer.
    fn compute_and_store(&self, key: &StatKey, need: Need) -> Result<Entry, CacheError> {
        let text = key.to_string();
        let expiry = Duration::from_secs(self.config.cache.lock_secs.max(1));
        let token = loop {
            match self.backend.lock(&text, expiry) {
                Ok(Some(token)) => break Some(token),
                Ok(None) => {
                    if let Some(entry) = self.await_other_node(key, &text, expiry) {
                        return Ok(entry);
                    }
                }
                Err(e) => {
                    e.log(&format!(
                        "stats cache: computing {key} here, without the cluster lock"
                    ));
                    break None;
                }
            }
        };
        if need == Need::Current {
            if let Some(entry) = self.current_stored(key, &text) {
                if let Some(token) = token {
                    self.backend.unlock(&text, &token);
                }
                return Ok(entry);
            }
        }
        let computed = self.compute(key);
        if let Some(token) = token {
            // Stored (or not) before the lock goes, so a waiter finds it.
            self.backend.unlock(&text, &token);
        }
        computed
    }

    /// Waits while another node computes `key`; its entry when it stored a
    /// current one, `None` when it went away without (the caller takes over).
    fn await_other_node(&self, key: &StatKey, text: &str, expiry: Duration) -> Option<Entry> {
        let deadline = Instant::now() + expiry + Duration::from_secs(1);
        while Instant::now() < deadline {
            match self.backend.is_locked(text) {
                Ok(true) => std::thread::sleep(Duration::from_millis(20)),
                Ok(false) => break,
                Err(_) => return None,
            }
        }
        self.current_stored(key, text)
    }

    /// The stored entry of `key` if a reader would get it as `Cached`.
    fn current_stored(&self, key: &StatKey, text: &str) -> Option<Entry> {
        let bytes = self.backend.get(text).ok()??;
        let entry = Entry::decode(&bytes)?;
        match self.status(key, &entry) {
            Ok((Freshness::Cached, _)) => Some(entry),
            _ => None,
        }
    }

    fn compute(&self, key: &StatKey) -> Result<Entry, CacheError> {
        let kind = key.kind();
        let started = Instant::now();
        let computed_at = self.config.clock.now_micros();
        let computed = self
            .store
            .snapshot(|view| stats::compute(view, &self.config, key))?;
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
        // A value that cannot be stored (a full disk, Redis away) is still
        // the answer, and this node keeps serving it from memory; the cache
        // recovers by itself and stores the next one.
        if let Err(e) = self.write(&key.to_string(), &entry) {
            e.log(&format!("stats cache: {key} computed but not stored"));
        }
        Ok(entry)
    }

    /// Stores an entry, evicting least recently used per-user entries when
    /// over the limit. The previous entry stays readable until the commit.
    pub fn write(&self, key: &str, entry: &Entry) -> Result<(), CacheError> {
        let parsed = StatKey::parse(key);
        // A group that matches no speaker (any text a reader cares to type)
        // is answered from memory only: a flood of made-up filter values
        // must not take the place of entries others use.
        let no_speakers = matches!(
            (&parsed, &entry.statistic),
            (Ok(StatKey::SubCorpus(_)), stats::Statistic::Dashboard(d)) if d.total_speakers == 0
        );
        let written = if no_speakers || parsed.as_ref().is_ok_and(|k| self.is_transient(k)) {
            self.lock_transient().put(key, entry.clone());
            Ok(())
        } else {
            let evictable = StatKey::shared(key).is_none();
            // A shared cache may drop a per-user entry by itself well after
            // its TTL; `purge_expired` drops them on time.
            let keep = key.starts_with("user/").then(|| {
                Duration::from_secs(entry.ttl_secs.saturating_mul(2).max(entry.ttl_secs + 3600))
            });
            let limit = self.config.cache.max_entries;
            self.backend
                .put(key, &entry.encode(), evictable, keep, limit)
                .map(|evicted| {
                    for victim in evicted {
                        self.forget(&victim);
                    }
                })
        };
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.decoded
            .insert(key.to_string(), Arc::new(entry.clone()));
        let changes_since = match &parsed {
            Ok(k) if entry.marked_stale => self.changes_since(k, entry).unwrap_or(0),
            _ => 0,
        };
        self.announce(EntryEvent {
            key: key.to_string(),
            status: if entry.marked_stale {
                Freshness::Stale
            } else {
                Freshness::Fresh
            },
            computed_at: Some(format_utc(entry.computed_at)),
            changes_since,
        });
        written
    }

    /// Tells this node's subscribers and the other nodes.
    fn announce(&self, event: EntryEvent) {
        self.backend.publish(&event);
        self.events.send(event);
    }

    /// Entry events that a subscriber missed because it fell too far behind.
    pub fn missed_events(&self) -> u64 {
        self.events.missed()
    }

    /// How many keys each in-memory index of the cache holds now: decoded
    /// entries, the record of last reads, memory-only entries. Each is
    /// bounded (by `max_entries`, or a fixed capacity).
    pub fn memory_indexes(&self) -> [(&'static str, usize); 3] {
        [
            ("decoded", self.decoded.len()),
            ("last_read", self.backend.memory_keys()),
            ("memory_only", self.lock_transient().len()),
        ]
    }

    /// Every entry event from now on, this node's and the other nodes':
    /// written (`fresh`), marked stale or dropped (`stale`).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<EntryEvent> {
        self.events.subscribe()
    }

    /// Drops every entry whose key starts with `prefix` (`user/42/` drops all
    /// of user 42; an empty prefix clears the cache). Returns how many.
    pub fn invalidate_prefix(&self, prefix: &str) -> Result<usize, CacheError> {
        self.remove_where(&[prefix], |_| true)
    }

    /// Drops every entry under `prefix` whose key is of `kind` (any kind for
    /// `None`): `cache clear dashboard --kind dashboard` keeps the sub-corpus
    /// entries `dashboard?…`. Returns how many.
    pub fn invalidate_prefix_of_kind(
        &self,
        prefix: &str,
        kind: Option<KeyKind>,
    ) -> Result<usize, CacheError> {
        self.remove_where(&[prefix], |k| {
            kind.is_none_or(|kind| StatKey::parse(k).is_ok_and(|key| key.kind() == kind))
        })
    }

    /// Drops every entry under any of `prefixes`, in one removal. Returns
    /// how many.
    pub fn invalidate_prefixes(&self, prefixes: &[String]) -> Result<usize, CacheError> {
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        self.remove_where(&prefixes, |_| true)
    }

    /// Drops the entries under `prefixes` that `pred` accepts, from memory
    /// and from the backend (found through its key index, never by reading
    /// every entry), and tells everyone.
    fn remove_where(
        &self,
        prefixes: &[&str],
        pred: impl Fn(&str) -> bool,
    ) -> Result<usize, CacheError> {
        let wanted = |k: &str| prefixes.iter().any(|p| k.starts_with(p)) && pred(k);
        let removed = std::cell::RefCell::new(BTreeSet::new());
        let from_memory = self.lock_transient().remove_where(&|k: &str| {
            let hit = wanted(k);
            if hit {
                removed.borrow_mut().insert(k.to_string());
            }
            hit
        });
        let stored = (|| -> Result<usize, CacheError> {
            let mut keys = BTreeSet::new();
            for prefix in prefixes {
                keys.extend(self.backend.keys(prefix)?.into_iter().filter(|k| wanted(k)));
            }
            let keys: Vec<String> = keys.into_iter().collect();
            let n = self.backend.remove(&keys)?;
            removed.borrow_mut().extend(keys);
            Ok(n)
        })();
        for key in removed.into_inner() {
            self.forget(&key);
            self.announce(EntryEvent {
                key,
                status: Freshness::Stale,
                computed_at: None,
                changes_since: 0,
            });
        }
        Ok(from_memory + stored?)
    }

    /// Applies the invalidation of a committed write ([`Change::invalidation`]),
    /// and recomputes at once the entries it marked stale that are computed
    /// from the aggregates ([`StatKey::kept_by_writes`]). Best effort: the
    /// write is done, so a failure here is logged, and the write counters
    /// still make the entries stale.
    pub fn apply(self: &Arc<Self>, change: Change) {
        let invalidation = change.invalidation();
        if !invalidation.drop_prefixes.is_empty() {
            if let Err(e) = self.invalidate_prefixes(&invalidation.drop_prefixes) {
                log::warn!("cache: invalidation after {change:?}: {e}");
            }
        }
        for key in invalidation.mark_stale {
            if key.kept_by_writes() {
                self.recompute_now(key);
                continue;
            }
            if let Err(e) = self.mark_stale(&key.to_string()) {
                log::warn!("cache: marking {key} stale after {change:?}: {e}");
            }
        }
        if let Change::Recording { speaker } = change {
            self.recompute_groups_of(speaker);
        }
    }

    /// For an entry computed from the aggregates the writes keep (current
    /// again in milliseconds): tells the pages it is stale and recomputes
    /// it at once, without waiting for a reader. The mark is not written:
    /// the write counters already make it stale to a reader meanwhile, and
    /// a write of the cache (an fsync) would lengthen the write's answer.
    fn recompute_now(self: &Arc<Self>, key: StatKey) {
        let text = key.to_string();
        let Some(entry) = self.read(&text) else {
            return;
        };
        self.announce(EntryEvent {
            key: text,
            status: Freshness::Stale,
            computed_at: Some(format_utc(entry.computed_at)),
            changes_since: self.changes_since(&key, &entry).unwrap_or(0),
        });
        self.spawn_recompute(key);
    }

    /// Recomputes at once the sub-corpus entries that hold
    /// `speaker` (a filter its group matches, over every day): the group
    /// counters would make them stale anyway, but recomputed only at their
    /// next reader.
    fn recompute_groups_of(self: &Arc<Self>, speaker: i64) {
        let found = self
            .store
            .conn()
            .and_then(|conn| crate::store::speakers::speaker(&conn, speaker));
        let speaker = match found {
            Ok(Some(speaker)) => speaker,
            Ok(None) => return,
            Err(e) => return log::warn!("cache: the group of speaker {speaker}: {e}"),
        };
        let keys = match self.backend.keys("dashboard?") {
            Ok(keys) => keys,
            Err(e) => return log::warn!("cache: the sub-corpus entries: {e}"),
        };
        for text in keys {
            let Ok(StatKey::SubCorpus(filter)) = StatKey::parse(&text) else {
                continue;
            };
            // A range of days costs more than the aggregates' milliseconds:
            // it goes stale by the counters and is computed when next read.
            if filter.range.is_all()
                && filter.holds(&speaker.category, &speaker.diagnosis, &speaker.gender)
            {
                self.recompute_now(StatKey::SubCorpus(filter));
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
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.decoded.clear();
        let now = self.config.clock.now_micros();
        let from_memory = self.lock_transient().purge_expired(now);
        let stored: HashMap<String, Vec<u8>> = self.backend.entries("user/")?.into_iter().collect();
        // Every listed key whose entry is expired, unreadable, or already let
        // go by the backend (Redis expiry: then only its index entry is left,
        // and removing it counts nothing).
        let victims: Vec<String> = self
            .backend
            .keys("user/")?
            .into_iter()
            .filter(|k| {
                stored
                    .get(k)
                    .and_then(|bytes| Entry::decode(bytes))
                    .is_none_or(|e| e.expires_at() <= now)
            })
            .collect();
        let removed = self.backend.remove(&victims)?;
        Ok(from_memory + removed)
    }

    /// Every entry with the status a reader would get now, by key.
    pub fn list(&self) -> Result<Vec<EntryInfo>, CacheError> {
        let now = self.config.clock.now_micros();
        let mut out = Vec::new();
        for (key, bytes) in self.backend.entries("")? {
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
        self.backend.count()
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
