//! Where the stats cache keeps its entries: the seam between the cache's
//! rules (get-or-compute, single flight, staleness, events) and the place the
//! encoded entries live. Two places exist: a redb file in the data directory
//! (`cache::file`, the default, one process) and a Redis server shared by
//! several nodes (`cache::redis`). Everything above the cache sees neither.

use std::time::Duration;

use super::{CacheError, EntryEvent};

/// What a node heard from the other nodes sharing its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Another node wrote, dropped or marked stale an entry.
    Event(EntryEvent),
    /// The node may have missed events (it was disconnected): whatever it
    /// keeps in memory must be read again.
    Missed,
    /// Nothing for a while; the listener asks whether it is still wanted.
    Idle,
}

/// Whose entry an evictable key is, for eviction: the user of a per-user
/// key, or the drill-down entries together. When the cache is full, the
/// owner with the most entries loses one first, so one reader filling the
/// cache with keys of their own evicts their own entries, not everyone's.
pub fn owner(key: &str) -> &str {
    match key.strip_prefix("user/") {
        Some(rest) => &key[..5 + rest.find('/').unwrap_or(rest.len())],
        None => "drill-down",
    }
}

/// A place for encoded entries, by key text. Every method may be called from
/// any thread.
pub trait Backend: Send + Sync {
    /// Where, for messages and `/healthz`: the file's path, or the server's
    /// address without its password.
    fn place(&self) -> String;

    /// The stored bytes of `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `bytes` under `key`. An `evictable` entry may be dropped once
    /// more than `limit` entries are kept: least recently used first, and
    /// first among the entries of whoever holds the most (see [`owner`]);
    /// `keep`, when given, bounds how long the place may keep it at all (the
    /// cache's own purge is what drops expired entries on time). Returns
    /// the keys evicted to make room.
    fn put(
        &self,
        key: &str,
        bytes: &[u8],
        evictable: bool,
        keep: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<String>, CacheError>;

    /// Notes a read of `key`, for least-recently-used eviction.
    fn touch(&self, key: &str);

    /// How many keys this process keeps in memory to order evictions
    /// (bounded by the entry limit).
    fn memory_keys(&self) -> usize {
        0
    }

    /// Every stored key that starts with `prefix` (all for `""`).
    fn keys(&self, prefix: &str) -> Result<Vec<String>, CacheError>;

    /// Drops `keys`; returns how many existed.
    fn remove(&self, keys: &[String]) -> Result<usize, CacheError>;

    /// Every stored entry whose key starts with `prefix`, with its bytes.
    fn entries(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, CacheError>;

    /// How many entries are stored.
    fn count(&self) -> Result<usize, CacheError>;

    /// Takes the computation of `key` for this node, for at most `expiry`:
    /// `Some(token)` when taken, `None` while another node holds it. A place
    /// only one process can open always grants it.
    fn lock(&self, key: &str, expiry: Duration) -> Result<Option<String>, CacheError>;

    /// Whether some node holds the computation of `key`.
    fn is_locked(&self, key: &str) -> Result<bool, CacheError>;

    /// Gives back a computation taken with `token`; one taken over by
    /// another node after its expiry stays theirs.
    fn unlock(&self, key: &str, token: &str);

    /// Tells the other nodes about an entry event of this node.
    fn publish(&self, event: &EntryEvent);

    /// Starts hearing the other nodes: `on_heard` is called for each thing
    /// heard, from a background thread, until it returns `false`.
    fn listen(&self, on_heard: Box<dyn Fn(Heard) -> bool + Send>);

    /// Whether entries read before may be served from this process's memory
    /// without asking the place again: true when no other process writes to
    /// it, or while this node hears every change the others make.
    fn memory_is_current(&self) -> bool;

    /// `Err(reason)` while the place cannot be reached (answers are then
    /// computed by this node alone).
    fn health(&self) -> Result<(), String>;

    /// `Some(reason)` while the place answers but refuses to store entries
    /// (a Redis server at its `maxmemory`), until an entry is stored again.
    fn refusing_writes(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn per_user_keys_are_their_users_and_drill_downs_one_owner() {
        assert_eq!(owner("user/12/daily/2025-06-26"), "user/12");
        assert_eq!(owner("user/12/analytics"), "user/12");
        assert_eq!(owner("dashboard?category=adult"), "drill-down");
        assert_eq!(owner("speaker/4"), "drill-down");
    }
}
