//! The value layout of a stats-cache entry, versioned: a first byte with the
//! layout version, then the postcard encoding of [`Entry`]. Any change to
//! `Entry` or to a statistic's struct bumps [`LAYOUT_VERSION`]; an entry of
//! another version reads as a miss, never as a crash.

use serde::{Deserialize, Serialize};

use crate::stats::Statistic;

/// The layout this binary writes and reads.
pub const LAYOUT_VERSION: u8 = 2;

/// One cached statistic and how it came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was computed (µs since the epoch).
    pub computed_at: i64,
    /// Time to live in seconds, fixed when computed.
    pub ttl_secs: u64,
    /// How long computing took, in µs.
    pub compute_micros: u64,
    /// Write count of the source tables at the snapshot it was computed on.
    pub revision: u64,
    /// Set by a write that made it out of date without a counted table change
    /// (e.g. an explicit mark-stale); served as stale until recomputed.
    pub marked_stale: bool,
    /// The statistic itself.
    pub statistic: Statistic,
}

impl Entry {
    /// When it expires (µs since the epoch).
    pub fn expires_at(&self) -> i64 {
        self.computed_at + (self.ttl_secs as i64) * 1_000_000
    }

    /// Encodes with the layout version first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![LAYOUT_VERSION];
        out.extend(postcard::to_stdvec(self).expect("entries always encode"));
        out
    }

    /// Decodes an entry; `None` for another layout or undecodable bytes.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        match bytes.split_first() {
            Some((&LAYOUT_VERSION, rest)) => postcard::from_bytes(rest).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::learning::Courses;

    fn sample() -> Entry {
        Entry {
            computed_at: 1_700_000_000_000_000,
            ttl_secs: 900,
            compute_micros: 1200,
            revision: 7,
            marked_stale: false,
            statistic: Statistic::Courses(Courses {
                total_courses: 1,
                avg_proficiency: Some(2.5),
                total_hours: 3.0,
                weekly_hours: 1.0,
                completed_courses: 0,
                subjects: vec!["발음".into()],
            }),
        }
    }

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Entry::decode(&e.encode()), Some(e));
    }

    #[test]
    fn another_layout_is_a_miss() {
        let mut bytes = sample().encode();
        bytes[0] = 0;
        assert_eq!(Entry::decode(&bytes), None);
        assert_eq!(Entry::decode(&[]), None);
        assert_eq!(Entry::decode(&[LAYOUT_VERSION, 200, 1]), None);
    }
}
