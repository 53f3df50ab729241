//! The `dashboard` statistic: the voice corpus (speakers, recordings, SNR,
//! monthly trend), aggregated in one streaming pass over the recordings.

mod descriptors;
mod ranged;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::key::{DateRange, Filter};
use super::StatsError;
use super::{mean, sort_groups, Result};
use crate::clock::LocalTime;
pub use descriptors::{AgeBand, DurationBucket, Durations, SampleRateGroup};

use crate::store::aggregates::corpus::{fine_band, Measure, COARSE, FINE};
use crate::store::view::{GroupSpeakers, Part, Periods, RecordingCell, Speakers};
use crate::store::DataView;

/// The voice corpus (`GET /api/v1/stats/dashboard`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Rows in speakers.
    pub total_speakers: u64,
    /// Rows in recordings.
    pub total_recordings: u64,
    /// Sum of durations, in hours.
    pub total_duration_hours: f64,
    /// Speakers grouped by category.
    pub by_category: Vec<CategoryGroup>,
    /// Speakers grouped by gender.
    pub by_gender: Vec<GenderGroup>,
    /// Signal-to-noise ratio over recordings.
    pub snr: Snr,
    /// Local months from the first to the last with a recording.
    pub monthly: Vec<Month>,
    /// Speakers grouped by diagnosis.
    pub by_diagnosis: Vec<DiagnosisGroup>,
    /// Recordings grouped by sample rate.
    pub by_sample_rate: Vec<SampleRateGroup>,
    /// Speakers grouped by age band, in band order.
    pub by_age: Vec<AgeBand>,
    /// The lengths of the recordings.
    pub duration: Durations,
}

/// One category of speakers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryGroup {
    /// Category as stored (`""` for none).
    pub category: String,
    /// Speakers in it.
    pub speakers: u64,
    /// Their recordings.
    pub recordings: u64,
    /// Their recorded hours.
    pub duration_hours: f64,
}

/// One gender of speakers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenderGroup {
    /// `M`, `F` or `U`.
    pub gender: String,
    /// Speakers.
    pub speakers: u64,
    /// Their recordings.
    pub recordings: u64,
}

/// One diagnosis of speakers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisGroup {
    /// Diagnosis as stored (`""` for none).
    pub diagnosis: String,
    /// Speakers.
    pub speakers: u64,
    /// Their recordings.
    pub recordings: u64,
    /// Mean SNR of their measured recordings.
    pub mean_snr_db: Option<f64>,
}

/// SNR summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snr {
    /// Recordings with an SNR.
    pub measured: u64,
    /// Recordings without.
    pub unmeasured: u64,
    /// Mean SNR in dB.
    pub mean_db: Option<f64>,
    /// Median SNR in dB (mean of the two middle values for an even count).
    pub median_db: Option<f64>,
    /// Half-open quality buckets.
    pub buckets: Vec<SnrBucket>,
}

/// One SNR bucket, `[min_db, max_db)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnrBucket {
    /// `poor`, `fair`, `good`, `excellent`.
    pub label: String,
    /// Lower bound (inclusive), none for the first.
    pub min_db: Option<u32>,
    /// Upper bound (exclusive), none for the last.
    pub max_db: Option<u32>,
    /// Recordings in it.
    pub recordings: u64,
}

/// One local month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Recordings made that month.
    pub recordings: u64,
    /// Speakers whose first recording falls in it.
    pub new_speakers: u64,
    /// Hours recorded that month.
    pub duration_hours: f64,
}

#[derive(Default, Clone)]
struct Acc {
    speakers: u64,
    recordings: u64,
    duration_s: f64,
    snr_sum: f64,
    snr_n: u64,
}

/// Group index of one speaker in each grouping.
struct SpeakerGroups {
    category: usize,
    gender: usize,
    diagnosis: usize,
    /// The age band.
    age: usize,
}

/// Interns group names into indices so the hot loop does no string hashing.
#[derive(Default)]
struct Groups {
    names: Vec<String>,
    index: HashMap<String, usize>,
    acc: Vec<Acc>,
}

impl Groups {
    fn slot(&mut self, name: String) -> usize {
        if let Some(&i) = self.index.get(&name) {
            return i;
        }
        self.names.push(name.clone());
        self.acc.push(Acc::default());
        self.index.insert(name, self.names.len() - 1);
        self.names.len() - 1
    }
}

const BUCKETS: [(&str, Option<u32>, Option<u32>); 4] = [
    ("poor", None, Some(10)),
    ("fair", Some(10), Some(20)),
    ("good", Some(20), Some(30)),
    ("excellent", Some(30), None),
];

fn bucket_of(snr: f64) -> usize {
    if snr < 10.0 {
        0
    } else if snr < 20.0 {
        1
    } else if snr < 30.0 {
        2
    } else {
        3
    }
}

#[derive(Default, Clone, Copy)]
struct MonthAcc {
    recordings: u64,
    new_speakers: u64,
    duration_s: f64,
}

/// Which speakers a dashboard covers.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Every speaker, and every recording (orphans count in the totals).
    All,
    /// The speakers a filter selects, and their recordings.
    Group(&'a Filter),
    /// One speaker and their recordings.
    Speaker(i64),
}

/// The running sums of one pass over speakers and recordings.
#[derive(Default)]
struct Corpus {
    categories: Groups,
    genders: Groups,
    diagnoses: Groups,
    /// Each speaker's groups and first recording.
    speakers: HashMap<i64, (SpeakerGroups, Option<i64>)>,
    recordings: u64,
    duration_s: f64,
    snr_n: u64,
    snr_sum: f64,
    buckets: [u64; 4],
    months: BTreeMap<(i32, u32), MonthAcc>,
    /// Speakers counted.
    total_speakers: u64,
    /// The instants `[from, until)` of the recordings kept, when ranged:
    /// a speaker then counts from their first recording kept.
    range: Option<(i64, i64)>,
    /// Every measured SNR, for the median of a sub-corpus (the whole corpus
    /// reads it through the SNR index instead).
    snr_values: Option<Vec<f64>>,
    /// Sample rates, ages and lengths.
    descriptors: descriptors::Descriptors,
}

impl Selection<'_> {
    /// The speakers this selection covers, as the store reads them.
    fn speakers(&self) -> Speakers<'_> {
        match self {
            Selection::All => Speakers::All,
            Selection::Group(filter) => Speakers::Group(filter.group()),
            Selection::Speaker(id) => Speakers::One(*id),
        }
    }
}

impl Corpus {
    fn add_speakers(&mut self, view: &DataView, selection: Selection) -> Result<()> {
        view.speakers(selection.speakers(), |r| {
            let groups = SpeakerGroups {
                category: self.categories.slot(r.category),
                gender: self.genders.slot(r.gender),
                diagnosis: self.diagnoses.slot(r.diagnosis),
                age: self.descriptors.age_band(r.birth_year),
            };
            if self.range.is_none() {
                self.count_speaker(&groups);
            }
            self.speakers.insert(r.id, (groups, None));
        })?;
        Ok(())
    }

    fn count_speaker(&mut self, groups: &SpeakerGroups) {
        self.total_speakers += 1;
        self.categories.acc[groups.category].speakers += 1;
        self.genders.acc[groups.gender].speakers += 1;
        self.diagnoses.acc[groups.diagnosis].speakers += 1;
        self.descriptors.add_speakers(groups.age, 1);
    }

    fn add_recordings(
        &mut self,
        view: &DataView,
        local: &LocalTime,
        selection: Selection,
    ) -> Result<()> {
        let range = self.range;
        let mut add = |r: crate::store::view::RecordingRow| self.add_recording(&r, local);
        match range {
            None => view.recordings(selection.speakers(), &mut add)?,
            Some((from, until)) => {
                view.recordings_in(selection.speakers(), from, until, &mut add)?
            }
        }
        // A speaker is new in the month of their first recording ever: in
        // a range, only if that recording is kept.
        let firsts = match self.range {
            None => None,
            Some(_) => Some(view.first_recordings(selection.speakers())?),
        };
        for (id, (_, first)) in &self.speakers {
            let first = match (&firsts, first) {
                (_, None) => None,
                (None, Some(at)) => Some(*at),
                (Some(firsts), Some(at)) => firsts.get(id).copied().filter(|f| f == at),
            };
            if let Some(at) = first {
                self.months.entry(local.month(at)).or_default().new_speakers += 1;
            }
        }
        Ok(())
    }

    fn add_recording(&mut self, r: &crate::store::view::RecordingRow, local: &LocalTime) {
        let (speaker, at, duration, snr) = (r.speaker, r.recorded_at, r.duration_s, r.snr_db);
        let age = self.speakers.get(&speaker).map(|(g, _)| g.age);
        self.descriptors.add_recording(duration, r.sample_rate, age);
        self.recordings += 1;
        self.duration_s += duration;
        if let Some(s) = snr {
            self.snr_n += 1;
            self.snr_sum += s;
            self.buckets[bucket_of(s)] += 1;
            if let Some(values) = &mut self.snr_values {
                values.push(s);
            }
        }
        let month = self.months.entry(local.month(at)).or_default();
        month.recordings += 1;
        month.duration_s += duration;
        // A recording of an unknown speaker counts in the totals only.
        let Some((groups, first)) = self.speakers.get_mut(&speaker) else {
            return;
        };
        if self.range.is_some() && first.is_none() {
            self.total_speakers += 1;
            for (set, i) in [
                (&mut self.categories, groups.category),
                (&mut self.genders, groups.gender),
                (&mut self.diagnoses, groups.diagnosis),
            ] {
                set.acc[i].speakers += 1;
            }
            self.descriptors.add_speakers(groups.age, 1);
        }
        for (set, i) in [
            (&mut self.categories, groups.category),
            (&mut self.genders, groups.gender),
            (&mut self.diagnoses, groups.diagnosis),
        ] {
            let acc = &mut set.acc[i];
            acc.recordings += 1;
            acc.duration_s += duration;
            if let Some(s) = snr {
                acc.snr_sum += s;
                acc.snr_n += 1;
            }
        }
        if first.is_none_or(|f| at < f) {
            *first = Some(at);
        }
    }

    fn snr(&self, median_db: Option<f64>) -> Snr {
        Snr {
            measured: self.snr_n,
            unmeasured: self.recordings - self.snr_n,
            mean_db: mean(self.snr_sum, self.snr_n),
            median_db,
            buckets: BUCKETS
                .iter()
                .zip(self.buckets)
                .map(|((label, min, max), n)| SnrBucket {
                    label: label.to_string(),
                    min_db: *min,
                    max_db: *max,
                    recordings: n,
                })
                .collect(),
        }
    }
}

/// One row per group of `groups`, most recordings first.
fn group_rows<G>(
    groups: &Groups,
    row: impl Fn(String, &Acc) -> G,
    recordings: impl Fn(&G) -> u64,
    name: impl Fn(&G) -> &str,
) -> Vec<G> {
    // A group with nothing kept (a range none of its recordings is in)
    // is left out, as it would be without its speakers.
    let mut rows: Vec<G> = groups
        .names
        .iter()
        .zip(&groups.acc)
        .filter(|(_, a)| a.speakers > 0 || a.recordings > 0)
        .map(|(n, a)| row(n.clone(), a))
        .collect();
    sort_groups(&mut rows, recordings, name);
    rows
}

/// Computes the dashboard from the aggregates the writes keep, ages
/// counted at `now` (µs).
pub fn dashboard(view: &DataView, local: &LocalTime, now: i64) -> Result<Dashboard> {
    dashboard_of(view, local, now, Selection::All, &DateRange::ALL)
}

impl Corpus {
    /// An empty corpus whose ages are counted at `now` (µs).
    fn at(local: &LocalTime, now: i64) -> Corpus {
        use chrono::Datelike;
        let mut c = Corpus::default();
        c.descriptors.year = i64::from(local.date(now).year());
        c
    }
}

/// Computes the dashboard over the speakers of `selection` and their
/// recordings only: every field defined as for the whole corpus. The whole
/// corpus and a group are read from the aggregates the writes keep, in
/// milliseconds whatever their size; one speaker from their own
/// recordings, which cost what that speaker has.
///
/// With a range, only the recordings made on its days are kept, and a
/// speaker counts if one of theirs is.
pub fn dashboard_of(
    view: &DataView,
    local: &LocalTime,
    now: i64,
    selection: Selection,
    range: &DateRange,
) -> Result<Dashboard> {
    // Aggregates built for another zone (a store opened without the
    // statistics, which rebuild them) would put recordings in other months.
    let zone_agrees = view.aggregates_zone()?.as_deref() == Some(local.tz.name());
    if zone_agrees && !range.is_all() && matches!(selection, Selection::All) {
        return ranged::dashboard_in(view, local, now, range);
    }
    if matches!(selection, Selection::Speaker(_)) || !zone_agrees || !range.is_all() {
        return dashboard_from_rows(view, local, now, selection, range);
    }
    let which = selection.speakers();
    let mut c = Corpus::at(local, now);
    let groups = view.speaker_groups(which)?;
    c.add_group_speakers(groups.iter().cloned());
    let bands_of = match selection {
        Selection::All => None,
        _ => Some(groups.as_slice()),
    };
    for (born, speakers) in view.speaker_births(bands_of)? {
        let band = c.descriptors.age_band(born);
        c.descriptors.add_speakers(band, speakers);
    }
    let all_months = Periods::Months(i64::MIN, i64::MAX);
    view.recording_cells(which, all_months, |cell| c.add_cell(&cell))?;
    for sum in view.descriptor_sums(bands_of, None)? {
        c.descriptors.add_sum(&sum);
    }
    let source = |measure| BandSource::Groups(measure, bands_of);
    let median_db = median_from_bands(view, source(Measure::Snr), c.snr_n)?;
    let median_s = median_from_bands(view, source(Measure::Duration), c.recordings)?;
    Ok(c.finish(median_db, median_s))
}

/// Computes the dashboard of `selection` from the rows, in one pass over
/// its recordings: the reference the aggregates are checked against
/// (`voxdash check`), and one speaker's statistic.
pub fn dashboard_from_rows(
    view: &DataView,
    local: &LocalTime,
    now: i64,
    selection: Selection,
    range: &DateRange,
) -> Result<Dashboard> {
    let range = (!range.is_all()).then(|| range.bounds(local));
    let mut c = Corpus {
        snr_values: (!matches!(selection, Selection::All) || range.is_some()).then(Vec::new),
        range,
        ..Corpus::at(local, now)
    };
    c.descriptors.lengths = Some(Vec::new());
    c.add_speakers(view, selection)?;
    c.add_recordings(view, local, selection)?;
    let median_db = match c.snr_values.take() {
        None => median_snr(view, c.snr_n)?,
        Some(values) => median_of(values),
    };
    let median_s = median_of(c.descriptors.lengths.take().unwrap_or_default());
    Ok(c.finish(median_db, median_s))
}

impl Corpus {
    /// Adds the speakers of each group, to the totals and to their groups.
    fn add_group_speakers(&mut self, groups: impl IntoIterator<Item = GroupSpeakers>) {
        for g in groups {
            self.total_speakers += g.speakers;
            for (set, name) in [
                (&mut self.categories, g.category),
                (&mut self.genders, g.gender),
                (&mut self.diagnoses, g.diagnosis),
            ] {
                let i = set.slot(name);
                set.acc[i].speakers += g.speakers;
            }
        }
    }

    /// Adds one cell of the aggregates: its month, and its group's sums
    /// when its speakers are known.
    fn add_cell(&mut self, cell: &RecordingCell) {
        self.recordings += cell.recordings;
        self.duration_s += cell.duration_s;
        self.snr_n += cell.snr_n;
        self.snr_sum += cell.snr_sum;
        for (total, n) in self.buckets.iter_mut().zip(cell.bands) {
            *total += n;
        }
        let month = ((cell.month / 100) as i32, (cell.month % 100) as u32);
        let m = self.months.entry(month).or_default();
        m.recordings += cell.recordings;
        m.duration_s += cell.duration_s;
        m.new_speakers += cell.new_speakers;
        if !cell.known {
            return;
        }
        for (set, name) in [
            (&mut self.categories, cell.category),
            (&mut self.genders, cell.gender),
            (&mut self.diagnoses, cell.diagnosis),
        ] {
            let i = set.slot(name.to_string());
            let acc = &mut set.acc[i];
            acc.recordings += cell.recordings;
            acc.duration_s += cell.duration_s;
            acc.snr_sum += cell.snr_sum;
            acc.snr_n += cell.snr_n;
        }
    }

    /// The dashboard of what was added, with the median SNR and length.
    fn finish(mut self, median_db: Option<f64>, median_s: Option<f64>) -> Dashboard {
        let (by_sample_rate, by_age, duration) = std::mem::take(&mut self.descriptors).finish(
            self.recordings,
            self.duration_s,
            median_s,
        );
        let c = self;
        let by_category = group_rows(
            &c.categories,
            |category, a| CategoryGroup {
                category,
                speakers: a.speakers,
                recordings: a.recordings,
                duration_hours: a.duration_s / 3600.0,
            },
            |g| g.recordings,
            |g| &g.category,
        );
        let by_gender = group_rows(
            &c.genders,
            |gender, a| GenderGroup {
                gender,
                speakers: a.speakers,
                recordings: a.recordings,
            },
            |g| g.recordings,
            |g| &g.gender,
        );
        let by_diagnosis = group_rows(
            &c.diagnoses,
            |diagnosis, a| DiagnosisGroup {
                diagnosis,
                speakers: a.speakers,
                recordings: a.recordings,
                mean_snr_db: mean(a.snr_sum, a.snr_n),
            },
            |g| g.recordings,
            |g| &g.diagnosis,
        );
        Dashboard {
            total_speakers: c.total_speakers,
            total_recordings: c.recordings,
            total_duration_hours: c.duration_s / 3600.0,
            by_category,
            by_gender,
            snr: c.snr(median_db),
            monthly: fill_months(&c.months),
            by_diagnosis,
            by_sample_rate,
            by_age,
            duration,
        }
    }
}

/// Where a walk down the SNR bands reads them.
pub(super) enum BandSource<'v> {
    /// The bands of a measure of a selection's groups (`None`: the whole
    /// corpus), of every day.
    Groups(Measure, Option<&'v [GroupSpeakers]>),
    /// The whole corpus's bands of a range of days: those of its whole
    /// local months and of its other days from the aggregates, and at last
    /// the values of one narrow band made in the range's instants, read
    /// from the recordings.
    Range {
        /// What the bands count.
        measure: Measure,
        /// Its whole months and its other days, or months less some days.
        parts: &'v [Part],
        /// The range's instants (µs).
        instants: (i64, i64),
    },
}

impl BandSource<'_> {
    /// Measured SNRs per band of `grain` in `from..until`, by band.
    fn bands(&self, view: &DataView, grain: i64, from: i64, until: i64) -> Result<Vec<(i64, u64)>> {
        let (measure, parts) = match self {
            BandSource::Groups(measure, groups) => {
                return Ok(view.bands(*measure, *groups, grain, from, until)?)
            }
            BandSource::Range { measure, parts, .. } => (*measure, *parts),
        };
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for p in parts {
            let sign = p.sign();
            for (band, n) in view.period_bands(measure, grain, p.periods, from, until)? {
                *counts.entry(band).or_default() += sign * n as i64;
            }
        }
        Ok(counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(band, n)| (band, n as u64))
            .collect())
    }

    /// The measured values in `from..until`, in order, with their
    /// recordings.
    fn values(&self, view: &DataView, from: f64, until: f64) -> Result<Vec<(f64, u64)>> {
        Ok(match self {
            BandSource::Groups(measure, groups) => {
                view.band_values(*measure, *groups, from, until)?
            }
            BandSource::Range {
                measure, instants, ..
            } => view.values_made_in(*measure, (from, until), instants.0, instants.1)?,
        })
    }
}

/// The exact median of a measure (`measured` values) from the aggregates:
/// the middle value (or the two middle values) found by walking the wide
/// bands (1 dB, 1 s), then the narrow bands (0.01) of one of them, then
/// reading that narrow band's few values.
pub(super) fn median_from_bands(
    view: &DataView,
    source: BandSource,
    measured: u64,
) -> Result<Option<f64>> {
    if measured == 0 {
        return Ok(None);
    }
    let mut bands = BandWalk {
        view,
        wide: source.bands(view, COARSE, i64::MIN, i64::MAX)?,
        source,
        narrow: HashMap::new(),
        values: HashMap::new(),
    };
    Ok(Some(if measured % 2 == 1 {
        bands.nth(measured / 2)?
    } else {
        (bands.nth(measured / 2 - 1)? + bands.nth(measured / 2)?) / 2.0
    }))
}

/// A walk down the SNR bands of a selection; the two middle values
/// usually share their bands, which are then read once.
struct BandWalk<'v, 'c> {
    view: &'v DataView<'c>,
    /// Where the bands are read.
    source: BandSource<'v>,
    wide: Vec<(i64, u64)>,
    narrow: HashMap<i64, Vec<(i64, u64)>>,
    /// Per narrow band, its values in order with their recordings.
    values: HashMap<i64, Vec<(f64, u64)>>,
}

impl BandWalk<'_, '_> {
    /// The `rank`-th smallest measured SNR (from 0).
    fn nth(&mut self, rank: u64) -> Result<f64> {
        let (wide, rank) = locate(&self.wide, rank)?;
        if !self.narrow.contains_key(&wide) {
            let narrow = self
                .source
                .bands(self.view, FINE, wide * 100, wide * 100 + 100)?;
            self.narrow.insert(wide, narrow);
        }
        let (band, rank) = locate(&self.narrow[&wide], rank)?;
        if !self.values.contains_key(&band) {
            // A little more than the band (a value's band is computed,
            // not compared), narrowed to it as the triggers computed it.
            let (from, until) = ((band as f64 - 0.001) / 100.0, (band as f64 + 1.001) / 100.0);
            let mut values = self.source.values(self.view, from, until)?;
            values.retain(|(v, _)| fine_band(*v) == band);
            self.values.insert(band, values);
        }
        let mut rank = rank;
        for (value, n) in &self.values[&band] {
            if rank < *n {
                return Ok(*value);
            }
            rank -= n;
        }
        Err(StatsError::Aggregates(format!(
            "band {band} holds too few values"
        )))
    }
}

/// The band holding the `rank`-th value of `counts` (by band), and the
/// value's rank within it.
fn locate(counts: &[(i64, u64)], mut rank: u64) -> Result<(i64, u64)> {
    for (band, n) in counts {
        if rank < *n {
            return Ok((*band, rank));
        }
        rank -= n;
    }
    Err(StatsError::Aggregates(
        "the bands count fewer values than the cells".into(),
    ))
}

/// The median of values held in memory (a sub-corpus), as [`median_snr`]
/// defines it: the middle value, or the mean of the two middle ones.
fn median_of(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The median through the SNR index: constant memory whatever the table size.
fn median_snr(view: &DataView, measured: u64) -> Result<Option<f64>> {
    if measured == 0 {
        return Ok(None);
    }
    let (offset, take) = if measured % 2 == 1 {
        ((measured - 1) / 2, 1)
    } else {
        (measured / 2 - 1, 2)
    };
    let values = view.snr_in_order(offset, take)?;
    Ok(match values.as_slice() {
        [v] => Some(*v),
        [a, b] => Some((a + b) / 2.0),
        _ => None,
    })
}

fn fill_months(months: &BTreeMap<(i32, u32), MonthAcc>) -> Vec<Month> {
    let (Some(first), Some(last)) = (months.keys().next(), months.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut y, mut m) = *first;
    loop {
        let acc = months.get(&(y, m)).copied().unwrap_or_default();
        out.push(Month {
            month: format!("{y:04}-{m:02}"),
            recordings: acc.recordings,
            new_speakers: acc.new_speakers,
            duration_hours: acc.duration_s / 3600.0,
        });
        if (y, m) == *last {
            break;
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_half_open() {
        assert_eq!(bucket_of(9.999), 0);
        assert_eq!(bucket_of(10.0), 1);
        assert_eq!(bucket_of(20.0), 2);
        assert_eq!(bucket_of(30.0), 3);
        assert_eq!(bucket_of(-5.0), 0);
    }

    #[test]
    fn months_between_are_filled_with_zeros() {
        let mut months = BTreeMap::new();
        months.insert(
            (2024, 11),
            MonthAcc {
                recordings: 2,
                new_speakers: 1,
                duration_s: 3600.0,
            },
        );
        months.insert(
            (2025, 2),
            MonthAcc {
                recordings: 1,
                new_speakers: 0,
                duration_s: 0.0,
            },
        );
        let out = fill_months(&months);
        let names: Vec<&str> = out.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(names, ["2024-11", "2024-12", "2025-01", "2025-02"]);
        assert_eq!(out[1].recordings, 0);
        assert_eq!(out[0].duration_hours, 1.0);
    }
}
