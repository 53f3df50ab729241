//! Per-kind counters of the stats cache: hits, misses, stale serves,
//! computations and compute time (sum and max).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::stats::key::KeyKind;

/// Counters of one key kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindMetrics {
    /// Answers `cached`.
    pub hits: u64,
    /// Answers `fresh` because nothing was cached.
    pub misses: u64,
    /// Answers `stale`.
    pub stale: u64,
    /// Statistics computed (misses, refreshes, background).
    pub computations: u64,
    /// Sum of compute times, µs.
    pub compute_micros_sum: u64,
    /// Longest compute time, µs.
    pub compute_micros_max: u64,
}

impl KindMetrics {
    /// Share of reads answered from the cache (cached or stale), if any read.
    pub fn hit_rate(&self) -> Option<f64> {
        let reads = self.hits + self.misses + self.stale;
        (reads > 0).then(|| (self.hits + self.stale) as f64 / reads as f64)
    }
}

/// Counters of every kind, since the process started. A `Mutex` because
/// updates are tiny and reads (admin page, /metrics) rare.
#[derive(Debug, Default)]
pub struct Metrics {
    kinds: Mutex<BTreeMap<KeyKind, KindMetrics>>,
}

impl Metrics {
    fn update(&self, kind: KeyKind, f: impl FnOnce(&mut KindMetrics)) {
        let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        f(kinds.entry(kind).or_default());
    }

    /// Counts a `cached` answer.
    pub fn hit(&self, kind: KeyKind) {
        self.update(kind, |m| m.hits += 1);
    }

    /// Counts a miss.
    pub fn miss(&self, kind: KeyKind) {
        self.update(kind, |m| m.misses += 1);
    }

    /// Counts a `stale` answer.
    pub fn stale(&self, kind: KeyKind) {
        self.update(kind, |m| m.stale += 1);
    }

    /// Counts a computation of `micros`.
    pub fn computed(&self, kind: KeyKind, micros: u64) {
        self.update(kind, |m| {
            m.computations += 1;
            m.compute_micros_sum += micros;
            m.compute_micros_max = m.compute_micros_max.max(micros);
        });
    }

    /// A snapshot of every kind, in display order (kinds never used are zeros).
    pub fn snapshot(&self) -> Vec<(KeyKind, KindMetrics)> {
        let kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        KeyKind::ALL
            .iter()
            .map(|k| (*k, kinds.get(k).copied().unwrap_or_default()))
            .collect()
    }

    /// The snapshot as a table for `voxdash cache stats`.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{:<10} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12} {:>8}\n",
            "kind", "hits", "misses", "stale", "computed", "compute_s", "max_ms", "hit_rate"
        );
        for (kind, m) in self.snapshot() {
            s += &format!(
                "{:<10} {:>8} {:>8} {:>8} {:>8} {:>12.3} {:>12.1} {:>8}\n",
                kind.name(),
                m.hits,
                m.misses,
                m.stale,
                m.computations,
                m.compute_micros_sum as f64 / 1e6,
                m.compute_micros_max as f64 / 1e3,
                m.hit_rate()
                    .map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0)),
            );
        }
        s
    }
}
