//! The corpus descriptors of a dashboard: its recordings per sample rate,
//! its speakers per age band, and the lengths of its recordings (mean,
//! exact median, buckets). Summed from the rows or from the aggregates'
//! descriptor cells, the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::aggregates::corpus::descriptor;
use crate::store::view::DescriptorSum;

/// Recordings of one sample rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRateGroup {
    /// Hz, none when not given.
    pub sample_rate: Option<i64>,
    /// Recordings.
    pub recordings: u64,
    /// Their hours.
    pub duration_hours: f64,
}

/// Speakers of one age band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgeBand {
    /// `<18`, `18-29`, `30-44`, `45-59`, `60-74`, `75+`, or `""` for no
    /// birth year.
    pub band: String,
    /// Speakers.
    pub speakers: u64,
    /// Their recordings.
    pub recordings: u64,
}

/// The lengths of the recordings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// Mean length in seconds.
    pub mean_s: Option<f64>,
    /// Median length (mean of the two middle values for an even count).
    pub median_s: Option<f64>,
    /// Half-open length buckets.
    pub buckets: Vec<DurationBucket>,
}

/// One length bucket, `[min_s, max_s)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationBucket {
    /// `<2s`, `2-5s`, `5-10s`, `10-30s`, `30-60s`, `>=60s`.
    pub label: String,
    /// Lower bound (inclusive), none for the first.
    pub min_s: Option<u32>,
    /// Upper bound (exclusive), none for the last.
    pub max_s: Option<u32>,
    /// Recordings in it.
    pub recordings: u64,
}

/// The age bands: (label, youngest age in it); the last band holds the
/// speakers without a birth year.
pub const AGE_BANDS: [(&str, i64); 6] = [
    ("<18", i64::MIN),
    ("18-29", 18),
    ("30-44", 30),
    ("45-59", 45),
    ("60-74", 60),
    ("75+", 75),
];

/// The index of the band of speakers without a birth year.
const NO_BIRTH_YEAR: usize = AGE_BANDS.len();

/// The running sums of the descriptors.
#[derive(Debug, Default)]
pub(super) struct Descriptors {
    /// The local year of now, from which ages are counted.
    pub year: i64,
    /// Recordings and seconds per sample rate (0: none given).
    rates: BTreeMap<i64, (u64, f64)>,
    /// Speakers and recordings per age band.
    ages: [(u64, u64); AGE_BANDS.len() + 1],
    buckets: [u64; descriptor::DURATION_BOUNDS.len() + 1],
    /// Every length, for the median of a dashboard computed from its rows.
    pub lengths: Option<Vec<f64>>,
}

impl Descriptors {
    /// The age band of a speaker born in `birth_year`.
    pub fn age_band(&self, birth_year: Option<i64>) -> usize {
        let Some(born) = birth_year.filter(|b| *b != 0) else {
            return NO_BIRTH_YEAR;
        };
        let age = self.year - born;
        AGE_BANDS
            .iter()
            .rposition(|(_, from)| age >= *from)
            .unwrap_or(0)
    }

    /// Counts `n` speakers of the age band `band`.
    pub fn add_speakers(&mut self, band: usize, n: u64) {
        self.ages[band].0 += n;
    }

    /// Counts one recording; `band` is its speaker's age band, none for a
    /// speaker id without a row.
    pub fn add_recording(&mut self, duration: f64, sample_rate: Option<i64>, band: Option<usize>) {
        let rate = self.rates.entry(sample_rate.unwrap_or(0)).or_default();
        rate.0 += 1;
        rate.1 += duration;
        self.buckets[descriptor::duration_bucket(duration) as usize] += 1;
        if let Some(band) = band {
            self.ages[band].1 += 1;
        }
        if let Some(lengths) = &mut self.lengths {
            lengths.push(duration);
        }
    }

    /// Adds one descriptor sum of the aggregates.
    pub fn add_sum(&mut self, cell: &DescriptorSum) {
        match cell.kind {
            descriptor::SAMPLE_RATE => {
                let rate = self.rates.entry(cell.value).or_default();
                rate.0 += cell.recordings;
                rate.1 += cell.duration_s;
            }
            descriptor::DURATION_BUCKET => {
                if let Some(n) = self.buckets.get_mut(cell.value as usize) {
                    *n += cell.recordings;
                }
            }
            // Recordings of a speaker id with no row have no age.
            descriptor::BIRTH_YEAR if cell.known => {
                let band = self.age_band(Some(cell.value));
                self.ages[band].1 += cell.recordings;
            }
            _ => {}
        }
    }

    /// The descriptors, given the recordings' count, seconds and median
    /// length.
    pub fn finish(
        self,
        recordings: u64,
        duration_s: f64,
        median_s: Option<f64>,
    ) -> (Vec<SampleRateGroup>, Vec<AgeBand>, Durations) {
        let mut rates: Vec<SampleRateGroup> = self
            .rates
            .into_iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(rate, (n, seconds))| SampleRateGroup {
                sample_rate: (rate != 0).then_some(rate),
                recordings: n,
                duration_hours: seconds / 3600.0,
            })
            .collect();
        // As groups: most recordings first; "none" first among equals (as
        // an empty name is), then by rate.
        rates.sort_by(|a, b| {
            b.recordings
                .cmp(&a.recordings)
                .then(a.sample_rate.cmp(&b.sample_rate))
        });
        let labels = AGE_BANDS.iter().map(|(label, _)| *label).chain([""]);
        let ages = labels
            .zip(self.ages)
            .filter(|(_, (speakers, recordings))| *speakers > 0 || *recordings > 0)
            .map(|(band, (speakers, recordings))| AgeBand {
                band: band.to_string(),
                speakers,
                recordings,
            })
            .collect();
        let bounds = descriptor::DURATION_BOUNDS.map(|b| b as u32);
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let min_s = i.checked_sub(1).map(|j| bounds[j]);
                let max_s = bounds.get(i).copied();
                DurationBucket {
                    label: match (min_s, max_s) {
                        (None, Some(max)) => format!("<{max}s"),
                        (Some(min), Some(max)) => format!("{min}-{max}s"),
                        (Some(min), None) => format!(">={min}s"),
                        (None, None) => String::new(),
                    },
                    min_s,
                    max_s,
                    recordings: *n,
                }
            })
            .collect();
        let durations = Durations {
            mean_s: super::mean(duration_s, recordings),
            median_s,
            buckets,
        };
        (rates, ages, durations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_fall_in_their_bands_by_the_year_of_now() {
        let d = Descriptors {
            year: 2026,
            ..Descriptors::default()
        };
        let label = |born: Option<i64>| {
            let i = d.age_band(born);
            AGE_BANDS.get(i).map_or("", |(l, _)| l)
        };
        assert_eq!(label(Some(2009)), "<18");
        assert_eq!(label(Some(2030)), "<18");
        assert_eq!(label(Some(2008)), "18-29");
        assert_eq!(label(Some(1997)), "18-29");
        assert_eq!(label(Some(1996)), "30-44");
        assert_eq!(label(Some(1952)), "60-74");
        assert_eq!(label(Some(1951)), "75+");
        assert_eq!(label(None), "");
    }

    #[test]
    fn duration_buckets_are_half_open_and_labelled() {
        let mut d = Descriptors::default();
        for length in [-1.0, 1.999, 2.0, 4.99, 5.0, 30.0, 59.999, 60.0, 3600.0] {
            d.add_recording(length, None, None);
        }
        let (_, _, durations) = d.finish(9, 0.0, None);
        let got: Vec<(&str, u64)> = durations
            .buckets
            .iter()
            .map(|b| (b.label.as_str(), b.recordings))
            .collect();
        assert_eq!(
            got,
            [
                ("<2s", 2),
                ("2-5s", 2),
                ("5-10s", 1),
                ("10-30s", 0),
                ("30-60s", 2),
                (">=60s", 2)
            ]
        );
        assert_eq!(durations.buckets[0].min_s, None);
        assert_eq!(durations.buckets[5].max_s, None);
    }
}
