//! The stats cache in Redis (or Valkey), shared by several nodes
//! (`cache_url = "redis://…"`). What is kept under the `voxdash:` prefix:
//!
//! - `voxdash:entry:KEY`: the encoded entry, the same bytes as in the file;
//!   per-user entries carry an expiry (well past their TTL, so a stale one
//!   can still be served while it is recomputed);
//! - `voxdash:keys`: a sorted set of every entry key (all scores 0), so a
//!   prefix is a `ZRANGEBYLEX` range, never a scan of the keyspace;
//! - `voxdash:lru`: evictable (per-user) keys scored by the order of their
//!   last write or read (`voxdash:tick`, one counter for every node), the
//!   eviction order beyond `max_entries`;
//! - `voxdash:lock:KEY`: the computation of KEY, held by one node with a
//!   random token and an expiry, released only by its holder;
//! - channel `voxdash:events`: every node's entry events, so each node's
//!   event streams and memory hear what the others did.
//!
//! Redis being unreachable is never fatal: operations fail fast for a
//! second after a failure (the node computes by itself meanwhile), then the
//! next one tries again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::redis::{Client, Commands, ConnectionAddr, ConnectionLike, RedisError};

use super::backend::{Backend, Heard};
use super::{CacheError, EntryEvent};
use crate::stats::StatKey;

const ENTRY: &str = "voxdash:entry:";
const INDEX: &str = "voxdash:keys";
const LRU: &str = "voxdash:lru";
const LOCK: &str = "voxdash:lock:";
const TICK: &str = "voxdash:tick";
const CHANNEL: &str = "voxdash:events";

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failure, how long operations fail at once instead of waiting
/// for a server that is not there.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Connections of one node at most.
const POOL_SIZE: u32 = 16;
/// How often a server that keeps refusing writes is logged.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);
/// Errors by which a reachable server refuses a command for what it is in
/// (full, a read-only replica, unable to persist), not for what was sent.
const REFUSALS: [&str; 5] = ["OOM", "READONLY", "MISCONF", "NOREPLICAS", "BUSY"];

/// Deletes a lock only when it still holds the caller's token.
const UNLOCK: &str = r"if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
else
    return 0
end";

/// Notes a use of ARGV[1] in the LRU order with the next tick; with ARGV[2]
/// = "XX" only when the key is still kept.
const NOTE_USE: &str = r"local tick = redis.call('incr', KEYS[2])
if ARGV[2] == 'XX' then
    return redis.call('zadd', KEYS[1], 'XX', tick, ARGV[1])
end
return redis.call('zadd', KEYS[1], tick, ARGV[1])";

/// A Redis server holding the cache of every node.
pub struct RedisBackend {
    client: Client,
    place: String,
    /// Open connections, by `r2d2`.
    pool: r2d2::Pool<RedisLinks>,
    /// Counts the failures that may have broken connections (shared with
    /// the pool, which then opens new ones).
    losses: Arc<AtomicU64>,
    /// The last failure (when, what), cleared by the next success.
    down: Mutex<Option<(Instant, String)>>,
    /// While the server refuses writes (at `maxmemory`, ...): when that was
    /// last logged, and why; cleared by the next entry stored.
    refusing: Mutex<Option<(Instant, String)>>,
    /// This process, so it can skip its own events.
    node: String,
    /// Whether the event listener is subscribed now.
    listening: Arc<AtomicBool>,
}

/// A connection, and the failures counted when it was opened.
struct RedisLink {
    con: ::redis::Connection,
    generation: u64,
}

/// Opens connections with their timeouts for the pool, and retires those
/// opened before the last failure.
struct RedisLinks {
    client: Client,
    losses: Arc<AtomicU64>,
}

impl r2d2::ManageConnection for RedisLinks {
    type Connection = RedisLink;
    type Error = RedisError;

    fn connect(&self) -> Result<RedisLink, RedisError> {
        let generation = self.losses.load(Ordering::Relaxed);
        let con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        con.set_write_timeout(Some(COMMAND_TIMEOUT))?;
        Ok(RedisLink { con, generation })
    }

    fn is_valid(&self, link: &mut RedisLink) -> Result<(), RedisError> {
        if self.has_broken(link) {
            return Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset).into());
        }
        Ok(())
    }

    fn has_broken(&self, link: &mut RedisLink) -> bool {
        !link.con.is_open() || link.generation != self.losses.load(Ordering::Relaxed)
    }
}

/// What goes over the channel.
#[derive(serde::Serialize, serde::Deserialize)]
struct Message {
    node: String,
    key: String,
    status: super::Freshness,
    computed_at: Option<String>,
    changes_since: u64,
}

/// The address of a server for messages, never with its password.
fn place_of(client: &Client) -> String {
    let info = client.get_connection_info();
    let addr = match &info.addr {
        ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("rediss://{host}:{port}"),
        ConnectionAddr::Unix(path) => format!("unix://{}", path.display()),
    };
    format!("{addr}/{}", info.redis.db)
}

impl RedisBackend {
    /// A backend for `url` (`redis://[:password@]host[:port][/db]` or
    /// `unix:///path/to/redis.sock[?db=N]`). Connects once to check it, but
    /// an unreachable server is not an error: the node starts degraded and
    /// recovers when the server answers.
    pub fn open(url: &str) -> Result<RedisBackend, CacheError> {
        let client = Client::open(url).map_err(|e| CacheError::BadUrl(e.to_string()))?;
        if matches!(
            client.get_connection_info().addr,
            ConnectionAddr::TcpTls { .. }
        ) {
            return Err(CacheError::BadUrl(
                "rediss:// (TLS) is not supported; reach Redis over a private network or a Unix socket"
                    .into(),
            ));
        }
        let losses = Arc::new(AtomicU64::new(0));
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(RedisLinks {
                client: client.clone(),
                losses: Arc::clone(&losses),
            });
        let backend = RedisBackend {
            place: place_of(&client),
            client,
            pool,
            losses,
            down: Mutex::new(None),
            refusing: Mutex::new(None),
            node: format!("{:016x}", rand::random::<u64>()),
            listening: Arc::new(AtomicBool::new(false)),
        };
        if let Err(e) = backend.health() {
            log::warn!("{e}; answers are computed by this node until it is back");
        }
        Ok(backend)
    }

    /// Runs `f` on a pooled connection. A connection that failed is dropped
    /// and the server marked down for [`RETRY_AFTER`].
    fn run<T>(
        &self,
        f: impl FnOnce(&mut ::redis::Connection) -> Result<T, RedisError>,
    ) -> Result<T, CacheError> {
        if let Some((since, why)) = &*self.lock_down() {
            if since.elapsed() < RETRY_AFTER {
                return Err(CacheError::Unreachable {
                    place: self.place.clone(),
                    reason: why.clone(),
                });
            }
        }
        let mut link = match self.pool.get() {
            Ok(link) => link,
            Err(e) => return Err(self.went_down(e.to_string())),
        };
        match f(&mut link.con) {
            Ok(value) => {
                *self.lock_down() = None;
                Ok(value)
            }
            Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                self.went_down(e.to_string());
                Err(CacheError::Redis {
                    place: self.place.clone(),
                    source: e,
                })
            }
            Err(e) if e.code().is_some_and(|c| REFUSALS.contains(&c)) => {
                let reason = e.to_string();
                let mut refusing = self.refusing.lock().unwrap_or_else(|e| e.into_inner());
                let log_now = refusing
                    .as_ref()
                    .is_none_or(|(logged, _)| logged.elapsed() >= REFUSAL_LOG_EVERY);
                if log_now {
                    log::warn!(
                        "stats cache at {} refuses writes (said at most once a minute): {reason}",
                        self.place
                    );
                    *refusing = Some((Instant::now(), reason.clone()));
                } else if let Some((_, why)) = refusing.as_mut() {
                    *why = reason.clone();
                }
                Err(CacheError::Refused {
                    place: self.place.clone(),
                    reason,
                })
            }
            Err(e) => Err(CacheError::Redis {
                place: self.place.clone(),
                source: e,
            }),
        }
    }

    /// Puts `key` last in the eviction order (with `only_kept`, only if it
    /// is in it).
    fn note_use(&self, key: &str, only_kept: bool) -> Result<(), CacheError> {
        self.run(|c| {
            ::redis::Script::new(NOTE_USE)
                .key(LRU)
                .key(TICK)
                .arg(key)
                .arg(if only_kept { "XX" } else { "" })
                .invoke::<()>(c)
        })
    }

    /// Notes that the server failed (every open connection is retired) and
    /// returns the error operations fail with until it is asked again.
    fn went_down(&self, reason: String) -> CacheError {
        let mut down = self.lock_down();
        if down.is_none() {
            log::warn!("stats cache at {} unreachable: {reason}", self.place);
        }
        *down = Some((Instant::now(), reason.clone()));
        self.losses.fetch_add(1, Ordering::Relaxed);
        CacheError::Unreachable {
            place: self.place.clone(),
            reason,
        }
    }

    fn lock_down(&self) -> std::sync::MutexGuard<'_, Option<(Instant, String)>> {
        self.down.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The lexicographic range of keys starting with `prefix`.
fn lex_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let mut from = b"[".to_vec();
    from.extend_from_slice(prefix.as_bytes());
    let mut to = b"(".to_vec();
    to.extend_from_slice(prefix.as_bytes());
    to.push(0xff);
    (from, to)
}

impl Backend for RedisBackend {
    fn place(&self) -> String {
        self.place.clone()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.run(|c| c.get(format!("{ENTRY}{key}")))
    }

    fn put(
        &self,
        key: &str,
        bytes: &[u8],
        evictable: bool,
        keep: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<String>, CacheError> {
        let stored: usize = self.run(|c| {
            let mut pipe = ::redis::pipe();
            pipe.atomic();
            let entry = format!("{ENTRY}{key}");
            match keep {
                Some(keep) => pipe
                    .cmd("SET")
                    .arg(&entry)
                    .arg(bytes)
                    .arg("PX")
                    .arg(keep.as_millis().max(1) as u64)
                    .ignore(),
                None => pipe.set(&entry, bytes).ignore(),
            };
            pipe.zadd(INDEX, key, 0).ignore();
            pipe.zcard(INDEX);
            let (count,): (usize,) = pipe.query(c)?;
            Ok(count)
        })?;
        if self
            .refusing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
        {
            log::warn!("stats cache at {} stores entries again", self.place);
        }
        if evictable {
            self.note_use(key, false)?;
        }
        if stored <= limit {
            return Ok(Vec::new());
        }
        let excess = stored - limit;
        let victims: Vec<String> = self.run(|c| c.zrange(LRU, 0, excess as isize - 1))?;
        let victims: Vec<String> = victims.into_iter().filter(|v| v != key).collect();
        self.remove(&victims)?;
        Ok(victims)
    }

    fn touch(&self, key: &str) {
        if StatKey::shared(key).is_some() {
            return;
        }
        // Only keys still kept: a dropped key is not brought back.
        if let Err(e) = self.note_use(key, true) {
            log::debug!("stats cache: last read of {key} not noted: {e}");
        }
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        let (from, to) = lex_range(prefix);
        self.run(|c| c.zrangebylex(INDEX, from, to))
    }

    fn remove(&self, keys: &[String]) -> Result<usize, CacheError> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.run(|c| {
            let entries: Vec<String> = keys.iter().map(|k| format!("{ENTRY}{k}")).collect();
            let mut pipe = ::redis::pipe();
            pipe.atomic();
            pipe.del(entries);
            pipe.zrem(INDEX, keys).ignore();
            pipe.zrem(LRU, keys).ignore();
            let (removed,): (usize,) = pipe.query(c)?;
            Ok(removed)
        })
    }

    fn entries(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, CacheError> {
        let keys = self.keys(prefix)?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(256) {
            let names: Vec<String> = chunk.iter().map(|k| format!("{ENTRY}{k}")).collect();
            let values: Vec<Option<Vec<u8>>> =
                self.run(|c| ::redis::cmd("MGET").arg(&names).query(c))?;
            for (key, value) in chunk.iter().zip(values) {
                if let Some(bytes) = value {
                    out.push((key.clone(), bytes));
                }
            }
        }
        Ok(out)
    }

    fn count(&self) -> Result<usize, CacheError> {
        self.run(|c| c.zcard(INDEX))
    }

    fn lock(&self, key: &str, expiry: Duration) -> Result<Option<String>, CacheError> {
        let token = format!("{}:{:016x}", self.node, rand::random::<u64>());
        let taken: Option<String> = self.run(|c| {
            ::redis::cmd("SET")
                .arg(format!("{LOCK}{key}"))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(expiry.as_millis().max(1) as u64)
                .query(c)
        })?;
        Ok(taken.map(|_| token))
    }

    fn is_locked(&self, key: &str) -> Result<bool, CacheError> {
        self.run(|c| c.exists(format!("{LOCK}{key}")))
    }

    fn unlock(&self, key: &str, token: &str) {
        let released = self.run(|c| {
            ::redis::Script::new(UNLOCK)
                .key(format!("{LOCK}{key}"))
                .arg(token)
                .invoke::<i64>(c)
        });
        if let Err(e) = released {
            log::warn!(
                "stats cache: computation lock of {key} not released ({e}); it expires by itself"
            );
        }
    }

    fn publish(&self, event: &EntryEvent) {
        let message = Message {
            node: self.node.clone(),
            key: event.key.clone(),
            status: event.status,
            computed_at: event.computed_at.clone(),
            changes_since: event.changes_since,
        };
        let text = serde_json::to_string(&message).expect("a message always encodes");
        if let Err(e) = self.run(|c| c.publish::<_, _, ()>(CHANNEL, text)) {
            log::debug!(
                "stats cache: event of {} not sent to the other nodes: {e}",
                event.key
            );
        }
    }

    fn listen(&self, on_heard: Box<dyn Fn(Heard) -> bool + Send>) {
        let client = self.client.clone();
        let node = self.node.clone();
        let listening = Arc::clone(&self.listening);
        let place = self.place.clone();
        std::thread::Builder::new()
            .name("cache events".into())
            .spawn(move || listen(&client, &node, &listening, &place, &*on_heard))
            .expect("spawn the cache event listener");
    }

    fn memory_is_current(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    fn health(&self) -> Result<(), String> {
        self.run(|c| ::redis::cmd("PING").query::<String>(c))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn refusing_writes(&self) -> Option<String> {
        self.refusing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, why)| why.clone())
    }
}

/// Subscribes to the event channel and hands every other node's event to
/// `on_heard`, reconnecting after a failure; after each (re)subscription
/// the node is told it may have missed events.
fn listen(
    client: &Client,
    node: &str,
    listening: &AtomicBool,
    place: &str,
    on_heard: &dyn Fn(Heard) -> bool,
) {
    let mut quiet_failures = 0u32;
    loop {
        let subscribed = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .and_then(|mut con| {
                // A short read timeout, so the loop notices when nobody
                // needs it any more.
                con.set_read_timeout(Some(Duration::from_secs(1)))?;
                let mut pubsub = con.as_pubsub();
                pubsub.subscribe(CHANNEL)?;
                listening.store(true, Ordering::SeqCst);
                if quiet_failures > 0 {
                    log::warn!("stats cache at {place}: hearing the other nodes again");
                }
                quiet_failures = 0;
                if !on_heard(Heard::Missed) {
                    return Ok(false);
                }
                loop {
                    match pubsub.get_message() {
                        Ok(msg) => {
                            let Ok(message) =
                                serde_json::from_slice::<Message>(msg.get_payload_bytes())
                            else {
                                continue;
                            };
                            if message.node == node {
                                continue;
                            }
                            let event = EntryEvent {
                                key: message.key,
                                status: message.status,
                                computed_at: message.computed_at,
                                changes_since: message.changes_since,
                            };
                            if !on_heard(Heard::Event(event)) {
                                return Ok(false);
                            }
                        }
                        Err(e) if e.is_timeout() => {
                            if !on_heard(Heard::Idle) {
                                return Ok(false);
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
            });
        listening.store(false, Ordering::SeqCst);
        match subscribed {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                if quiet_failures == 0 {
                    log::warn!(
                        "stats cache at {place}: not hearing the other nodes ({e}); retrying"
                    );
                }
                quiet_failures += 1;
            }
        }
        if !on_heard(Heard::Missed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_of_a_server_never_shows_its_password() {
        let backend = RedisBackend::open("redis://:s3cret@127.0.0.1:1/2").unwrap();
        assert_eq!(backend.place(), "redis://127.0.0.1:1/2");
        let down = backend.health().unwrap_err();
        assert!(!down.contains("s3cret"), "{down}");
        let socket = RedisBackend::open("unix:///run/redis.sock").unwrap();
        assert_eq!(socket.place(), "unix:///run/redis.sock/0");
    }

    #[test]
    fn a_url_voxdash_cannot_use_is_an_error_naming_the_setting() {
        for (url, says) in [
            ("rediss://cache.example:6380", "TLS"),
            ("http://cache.example", "cache_url"),
            ("redis://cache.example:port/0", "cache_url"),
        ] {
            let err = RedisBackend::open(url).err().expect(url).to_string();
            assert!(
                err.starts_with("cache_url: ") && err.contains(says),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn an_unreachable_server_fails_fast_after_the_first_failure() {
        let backend = RedisBackend::open("redis://127.0.0.1:1/0").unwrap();
        assert!(backend.get("dashboard").is_err());
        let started = Instant::now();
        for _ in 0..100 {
            let err = backend.get("dashboard").unwrap_err();
            assert!(matches!(err, CacheError::Unreachable { .. }), "{err}");
        }
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn prefixes_are_ranges_of_the_key_index() {
        assert_eq!(lex_range(""), (b"-".to_vec(), b"+".to_vec()));
        let (from, to) = lex_range("user/1/");
        assert_eq!(from, b"[user/1/".to_vec());
        assert_eq!(to, b"(user/1/\xff".to_vec());
        // user/1/courses is inside user/1/'s range, user/10/courses past it.
        assert!(b"user/1/courses".as_slice() < &to[1..]);
        assert!(b"user/10/courses".as_slice() > &to[1..]);
    }
}
