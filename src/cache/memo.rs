//! A bounded memo shared between threads: values kept by key until told
//! otherwise; when full, it starts over (cheaper than tracking use, and a
//! memo only saves work, it never decides an answer).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// At most `max` values by key.
#[derive(Debug)]
pub struct Memo<K, V> {
    values: Mutex<HashMap<K, V>>,
    max: usize,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// An empty memo of at most `max` values (at least one).
    pub fn new(max: usize) -> Memo<K, V> {
        Memo {
            values: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// The value kept for `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.lock().get(key).cloned()
    }

    /// Keeps `value` for `key`; a full memo is emptied first.
    pub fn insert(&self, key: K, value: V) {
        let mut values = self.lock();
        if values.len() >= self.max {
            values.clear();
        }
        values.insert(key, value);
    }

    /// Forgets `key`.
    pub fn remove<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.lock().remove(key);
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_memo_starts_over() {
        let memo = Memo::new(2);
        memo.insert("a".to_string(), 1);
        memo.insert("b".to_string(), 2);
        assert_eq!(memo.get("a"), Some(1));
        memo.insert("c".to_string(), 3);
        assert_eq!((memo.get("a"), memo.get("c")), (None, Some(3)));
        memo.remove("c");
        assert_eq!(memo.get("c"), None);
    }
}
