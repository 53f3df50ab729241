//! The dashboard of a range of days, from the aggregates: the range's
//! whole local months read from their cells, monthly bands and speakers
//! per previous month; the days at its edges (a part of a month) from the
//! cells, descriptors and bands per day, and its speakers from their
//! chains of days.

use chrono::{Datelike, Months, NaiveDate};

use super::{median_from_bands, BandSource, Corpus, Dashboard};
use crate::clock::LocalTime;
use crate::stats::key::DateRange;
use crate::stats::Result;
use crate::store::aggregates::corpus::Measure;
use crate::store::view::{Part, Periods};
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
    let (first, last) = whole_months(range);
    let edge_spans = edge_days(range, (first, last));
    let mut parts: Vec<Part> = edge_spans
        .iter()
        .flat_map(|&(a, b)| parts_of(a, b))
        .collect();
    if first <= last {
        parts.push(Part {
            periods: Periods::Months(first, last),
            less: false,
        });
    }
    // Added before taken away (a part taken away lies in one added).
    parts.sort_by_key(|p| p.less);
    let mut c = Corpus::at(local, now);
    view.range_cells(&parts, |cell| c.add_cell(&cell))?;
    for sum in view.descriptor_sums(None, Some(&parts))? {
        c.descriptors.add_sum(&sum);
    }
    let speakers = if edge_spans.is_empty() {
        view.speakers_of_months((first, last))?
    } else {
        view.speakers_of_days(
            range.from.map_or(0, day_number),
            range.to.map_or(i64::MAX, day_number),
        )?
    };
    c.add_group_speakers(speakers.groups);
    for (born, speakers) in speakers.births {
        let band = c.descriptors.age_band(born);
        c.descriptors.add_speakers(band, speakers);
    }
    let source = |measure| BandSource::Range {
        measure,
        parts: &parts,
        instants: (from, until),
    };
    let median_db = median_from_bands(view, source(Measure::Snr), c.snr_n)?;
    let median_s = median_from_bands(view, source(Measure::Duration), c.recordings)?;
    Ok(c.finish(median_db, median_s))
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

/// `YYYYMMDD` of a date.
fn day_number(d: NaiveDate) -> i64 {
    month_number(d) * 100 + i64::from(d.day())
}

/// The days of the range outside its whole months `(first, last)`
/// (`YYYYMM`), as spans (first and last day) inside one month each.
fn edge_days(range: &DateRange, (first, last): (i64, i64)) -> Vec<(NaiveDate, NaiveDate)> {
    let end_of = |d: NaiveDate| month_start(d, 1).and_then(|next| next.pred_opt());
    let mut spans = Vec::new();
    match (range.from, range.to) {
        (Some(from), Some(to)) if first > last => {
            // No whole month: at most the end of one and the start of the next.
            match end_of(from).filter(|end| *end < to) {
                Some(end) => spans.extend([(from, end), (month_start(to, 0).unwrap_or(to), to)]),
                None => spans.push((from, to)),
            }
        }
        (from, to) => {
            if let Some(from) = from.filter(|d| d.day() != 1) {
                spans.extend(end_of(from).map(|end| (from, end)));
            }
            if let Some(to) = to.filter(|d| !ends_its_month(*d)) {
                spans.extend(month_start(to, 0).map(|start| (start, to)));
            }
        }
    }
    spans
}

/// How the days `a..=b` of one month are read: as themselves, or, when
/// they are most of it, as their month less its other days.
fn parts_of(a: NaiveDate, b: NaiveDate) -> Vec<Part> {
    let days = |a: NaiveDate, b: NaiveDate| Part {
        periods: Periods::Days(day_number(a), day_number(b)),
        less: false,
    };
    let (Some(start), Some(end)) = (
        month_start(a, 0),
        month_start(a, 1).and_then(|n| n.pred_opt()),
    ) else {
        return vec![days(a, b)];
    };
    let held = (b - a).num_days() + 1;
    let month = i64::from(end.day());
    if 2 * held <= month {
        return vec![days(a, b)];
    }
    let less = |a: NaiveDate, b: NaiveDate| Part {
        less: true,
        ..days(a, b)
    };
    let mut parts = vec![Part {
        periods: Periods::Months(month_number(a), month_number(a)),
        less: false,
    }];
    parts.extend(a.pred_opt().filter(|_| a > start).map(|y| less(start, y)));
    parts.extend(b.succ_opt().filter(|_| b < end).map(|x| less(x, end)));
    parts
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
        let days = |f, t| {
            let r = range(f, t);
            edge_days(&r, whole_months(&r))
                .into_iter()
                .map(|(a, b)| (day_number(a), day_number(b)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            days(Some("2025-03-02"), Some("2025-05-30")),
            [(20250302, 20250331), (20250501, 20250530)]
        );
        assert_eq!(days(Some("2025-03-01"), Some("2025-05-31")), []);
        assert_eq!(
            days(Some("2025-03-02"), Some("2025-03-30")),
            [(20250302, 20250330)]
        );
        assert_eq!(
            days(Some("2025-02-20"), Some("2025-03-10")),
            [(20250220, 20250228), (20250301, 20250310)]
        );
        assert_eq!(days(None, Some("2025-03-30")), [(20250301, 20250330)]);
        assert_eq!(days(Some("2024-02-10"), None), [(20240210, 20240229)]);
        assert_eq!(days(None, Some("2024-02-29")), []);
        assert_eq!(days(Some("2025-12-01"), None), []);
    }

    #[test]
    fn most_of_a_month_is_read_as_the_month_less_its_other_days() {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let parts = |a, b| parts_of(date(a), date(b));
        let (days, month) = (Periods::Days, Periods::Months);
        let add = |periods| Part {
            periods,
            less: false,
        };
        let less = |periods| Part {
            periods,
            less: true,
        };
        assert_eq!(
            parts("2025-03-02", "2025-03-15"),
            [add(days(20250302, 20250315))]
        );
        assert_eq!(
            parts("2025-03-05", "2025-03-31"),
            [add(month(202503, 202503)), less(days(20250301, 20250304))]
        );
        assert_eq!(
            parts("2025-03-02", "2025-03-30"),
            [
                add(month(202503, 202503)),
                less(days(20250301, 20250301)),
                less(days(20250331, 20250331))
            ]
        );
        assert_eq!(
            parts("2024-02-01", "2024-02-20"),
            [add(month(202402, 202402)), less(days(20240221, 20240229))]
        );
    }
}
