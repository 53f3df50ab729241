//! Per-user entries for days and weeks other than the current ones
//! (`?date=` and `?week_start=` picks), kept in memory only: at most
//! [`CAPACITY`] of them, the least recently used going first. They cost no
//! commit, never count against the file's entry limit and never evict what
//! the file holds; a restart forgets them, which costs one recomputation.

use std::collections::HashMap;

use super::Entry;

/// Most transient entries kept.
pub const CAPACITY: usize = 256;

/// The entries, with the order of their last use.
#[derive(Debug, Default)]
pub struct Transient {
    entries: HashMap<String, (u64, Entry)>,
    tick: u64,
}

impl Transient {
    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry of `key`, marking it used.
    pub fn get(&mut self, key: &str) -> Option<Entry> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(used, entry)| {
            *used = tick;
            entry.clone()
        })
    }

    /// Stores an entry, dropping the least recently used beyond capacity.
    pub fn put(&mut self, key: &str, entry: Entry) {
        self.tick += 1;
        self.entries.insert(key.to_string(), (self.tick, entry));
        while self.entries.len() > CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.entries.remove(&k),
                None => break,
            };
        }
    }

    /// Drops the entries whose key matches; returns how many.
    pub fn remove_where(&mut self, pred: &impl Fn(&str) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|k, _| !pred(k));
        before - self.entries.len()
    }

    /// Drops entries expired at `now`; returns how many.
    pub fn purge_expired(&mut self, now: i64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, (_, e)| e.expires_at() > now);
        before - self.entries.len()
    }
}
