//! The dashboard of a range of days, from the aggregates: the range's
//! whole local months read from their cells, monthly bands and speakers
//! per previous month; the days at its edges (a part of a month) from
//! their recordings, joined to the speaker rows read once. The speakers
//! of a range with both are found by one seek each.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Months, NaiveDate};

use super::{bucket_of, median_from_bands, BandSource, Corpus, Dashboard};
use crate::clock::LocalTime;
use crate::stats::key::DateRange;
use crate::stats::Result;
use crate::store::aggregates::corpus::Measure;
use crate::store::view::{GroupSpeakers, GroupedRecording, RecordingCell, Speakers, SpeakersBorn};
use crate::store::DataView;

/// Computes the dashboard of the recordings made on the days of `range`
/// (which gives at least one end), every field defined as for the whole
/// corpus; a speaker counts if one of theirs is kept, and is new in a
/// month if their first recording ever is.
pub(crate) fn dashboard_in(
    view: &DataView,
    local: &LocalTime,
    now: i64,
    range: &DateRange,
) -> Result<Dashboard> {
    let (from, until) = range.bounds(local);
    let months = whole_months(range);
    let mut c = Corpus::at(local, now);
    let spans = edge_spans(local, range, months, (from, until));
    let has_months = months.0 <= months.1;
    if has_months {
        view.recording_cells(Speakers::All, months, |cell| c.add_cell(&cell))?;
        for sum in view.descriptor_sums(None, Some(months))? {
            c.descriptors.add_sum(&sum);
        }
    }
    // Without a whole month, the edge days' recordings are the range's: so
    // are their speakers.
    let edges = add_edges(view, local, &mut c, &spans, !has_months)?;
    if spans.is_empty() {
        // Whole months: their speakers from the aggregates.
        let speakers = view.speakers_of_months(months)?;
        c.add_group_speakers(speakers.groups);
        for (born, speakers) in speakers.births {
            let band = c.descriptors.age_band(born);
            c.descriptors.add_speakers(band, speakers);
        }
    } else if !has_months {
        c.add_speakers_born(edges.speakers);
    } else {
        c.add_speakers_born(view.speakers_recording_in(from, until)?);
    }
    let source = |measure, edges| BandSource::Range {
        measure,
        months,
        edges,
        instants: (from, until),
    };
    let median_db = median_from_bands(view, source(Measure::Snr, &edges.snr), c.snr_n)?;
    let median_s = median_from_bands(
        view,
        source(Measure::Duration, &edges.lengths),
        c.recordings,
    )?;
    Ok(c.finish(median_db, median_s))
}

/// What the edge days of a range hold beyond what they add to its cells.
#[derive(Default)]
struct Edges {
    /// Their measured SNRs.
    snr: Vec<f64>,
    /// Their lengths.
    lengths: Vec<f64>,
    /// Their speakers (with a row), per group and birth year, when asked.
    speakers: Vec<SpeakersBorn>,
}

/// Adds the recordings of the edge days `spans` (µs) to the cells and
/// descriptors of `c`, and their first recordings as new speakers; counts
/// their speakers with `count_speakers`.
fn add_edges(
    view: &DataView,
    local: &LocalTime,
    c: &mut Corpus,
    spans: &[(i64, i64)],
    count_speakers: bool,
) -> Result<Edges> {
    let mut edges = Edges::default();
    if spans.is_empty() {
        return Ok(edges);
    }
    let rows = view.speaker_rows()?;
    let mut seen = HashSet::new();
    for &(a, b) in spans {
        view.grouped_recordings(a, b, &rows, |r| {
            c.add_cell(&cell_of(&r, local));
            let age = r.known.then(|| c.descriptors.age_band(r.birth_year));
            c.descriptors
                .add_recording(r.duration_s, r.sample_rate, age);
            edges.snr.extend(r.snr_db);
            edges.lengths.push(r.duration_s);
            if count_speakers && r.known {
                seen.insert(r.speaker);
            }
        })?;
        for at in view.firsts_in(a, b)? {
            c.months.entry(local.month(at)).or_default().new_speakers += 1;
        }
    }
    let mut born: BTreeMap<(&str, &str, &str, Option<i64>), u64> = BTreeMap::new();
    for s in seen.iter().filter_map(|id| rows.get(id)) {
        let key = (s.category.as_str(), s.gender.as_str(), s.diagnosis.as_str());
        *born.entry((key.0, key.1, key.2, s.birth_year)).or_default() += 1;
    }
    edges.speakers = born
        .into_iter()
        .map(
            |((category, gender, diagnosis, birth_year), speakers)| SpeakersBorn {
                group: GroupSpeakers {
                    category: category.to_string(),
                    gender: gender.to_string(),
                    diagnosis: diagnosis.to_string(),
                    speakers,
                },
                birth_year,
            },
        )
        .collect();
    Ok(edges)
}

/// `YYYYMM` of a date's month.
fn month_number(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 100 + i64::from(d.month())
}

/// Whether `d` is the last day of its month.
fn ends_its_month(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|next| next.day() == 1)
}

/// The first day of the month of `d`, moved by `months` (±1).
fn month_start(d: NaiveDate, months: i32) -> Option<NaiveDate> {
    let first = d.with_day(1)?;
    match months {
        1 => first.checked_add_months(Months::new(1)),
        -1 => first.checked_sub_months(Months::new(1)),
        _ => Some(first),
    }
}

/// The local months the range holds whole, as `YYYYMM` (first, last); an
/// open end holds every month on its side. None when first > last.
fn whole_months(range: &DateRange) -> (i64, i64) {
    let first = match range.from {
        None => Some(i64::MIN),
        Some(d) if d.day() == 1 => Some(month_number(d)),
        Some(d) => month_start(d, 1).map(month_number),
    };
    let last = match range.to {
        None => Some(i64::MAX),
        Some(d) if ends_its_month(d) => Some(month_number(d)),
        Some(d) => month_start(d, -1).map(month_number),
    };
    (first.unwrap_or(i64::MAX), last.unwrap_or(i64::MIN))
}

/// The instants (µs) of the range outside its whole months: before the
/// first, after the last, or the whole range when it holds no month.
fn edge_spans(
    local: &LocalTime,
    range: &DateRange,
    (first, last): (i64, i64),
    (from, until): (i64, i64),
) -> Vec<(i64, i64)> {
    if first > last {
        return vec![(from, until)];
    }
    let start_of = |d: Option<NaiveDate>| d.map_or(i64::MAX, |d| local.start_of_day(d));
    let mut spans = Vec::new();
    if let Some(d) = range.from {
        let whole = start_of(month_start(d, if d.day() == 1 { 0 } else { 1 }));
        if from < whole {
            spans.push((from, whole));
        }
    }
    if let Some(d) = range.to {
        let after = start_of(month_start(d, 1));
        let last_whole_end = match ends_its_month(d) {
            true => after,
            false => start_of(month_start(d, 0)),
        };
        if last_whole_end < until {
            spans.push((last_whole_end, until));
        }
    }
    spans
}

/// One recording as a cell of its group and local month.
fn cell_of<'a>(r: &GroupedRecording<'a>, local: &LocalTime) -> RecordingCell<'a> {
    let (y, m) = local.month(r.recorded_at);
    let mut bands = [0; 4];
    if let Some(s) = r.snr_db {
        bands[bucket_of(s)] = 1;
    }
    RecordingCell {
        known: r.known,
        category: r.category,
        gender: r.gender,
        diagnosis: r.diagnosis,
        month: i64::from(y) * 100 + i64::from(m),
        recordings: 1,
        duration_s: r.duration_s,
        snr_n: u64::from(r.snr_db.is_some()),
        snr_sum: r.snr_db.unwrap_or(0.0),
        bands,
        new_speakers: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>) -> DateRange {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        DateRange {
            from: from.map(d),
            to: to.map(d),
        }
    }

    #[test]
    fn whole_months_are_those_the_range_holds_from_first_to_last_day() {
        let r = |f, t| whole_months(&range(f, t));
        assert_eq!(r(Some("2025-03-01"), Some("2025-05-31")), (202503, 202505));
        assert_eq!(r(Some("2025-03-02"), Some("2025-05-30")), (202504, 202504));
        assert_eq!(r(Some("2025-03-02"), Some("2025-03-30")), (202504, 202502));
        assert_eq!(r(None, Some("2024-02-29")), (i64::MIN, 202402));
        assert_eq!(r(Some("2025-12-15"), None), (202601, i64::MAX));
    }

    #[test]
    fn edges_are_the_days_outside_the_whole_months() {
        let local = LocalTime::new(chrono_tz::UTC);
        let day = |s: &str| local.start_of_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        let spans = |f, t| {
            let r = range(f, t);
            edge_spans(&local, &r, whole_months(&r), r.bounds(&local))
        };
        assert_eq!(
            spans(Some("2025-03-02"), Some("2025-05-30")),
            [
                (day("2025-03-02"), day("2025-04-01")),
                (day("2025-05-01"), day("2025-05-31"))
            ]
        );
        assert_eq!(spans(Some("2025-03-01"), Some("2025-05-31")), []);
        assert_eq!(
            spans(Some("2025-03-02"), Some("2025-03-30")),
            [(day("2025-03-02"), day("2025-03-31"))]
        );
        assert_eq!(
            spans(None, Some("2025-03-30")),
            [(day("2025-03-01"), day("2025-03-31"))]
        );
    }
}
