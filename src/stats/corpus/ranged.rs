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
use crate::store::view::{Periods, Speakers};
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
    let mut periods = edge_days(range, (first, last));
    let edges = !periods.is_empty();
    if first <= last {
        periods.push(Periods::Months(first, last));
    }
    let mut c = Corpus::at(local, now);
    for p in &periods {
        view.recording_cells(Speakers::All, *p, |cell| c.add_cell(&cell))?;
        for sum in view.descriptor_sums(None, Some(*p))? {
            c.descriptors.add_sum(&sum);
        }
    }
    let speakers = match edges {
        true => view.speakers_of_days(
            range.from.map_or(0, day_number),
            range.to.map_or(i64::MAX, day_number),
        )?,
        false => view.speakers_of_months((first, last))?,
    };
    c.add_group_speakers(speakers.groups);
    for (born, speakers) in speakers.births {
        let band = c.descriptors.age_band(born);
        c.descriptors.add_speakers(band, speakers);
    }
    let source = |measure| BandSource::Range {
        measure,
        periods: &periods,
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
/// (`YYYYMM`): before the first, after the last, or the whole range when
/// it holds no month.
fn edge_days(range: &DateRange, (first, last): (i64, i64)) -> Vec<Periods> {
    let (Some(from), Some(to)) = (range.from, range.to) else {
        // An open end holds every month on its side: one edge at most.
        let edge = match (range.from, range.to) {
            (Some(d), None) if d.day() != 1 => month_start(d, 1)
                .and_then(|next| next.pred_opt())
                .map(|end| (d, end)),
            (None, Some(d)) if !ends_its_month(d) => month_start(d, 0).map(|start| (start, d)),
            _ => None,
        };
        return edge
            .map(|(a, b)| Periods::Days(day_number(a), day_number(b)))
            .into_iter()
            .collect();
    };
    if first > last {
        return vec![Periods::Days(day_number(from), day_number(to))];
    }
    let mut days = Vec::new();
    if from.day() != 1 {
        if let Some(end) = month_start(from, 1).and_then(|next| next.pred_opt()) {
            days.push(Periods::Days(day_number(from), day_number(end)));
        }
    }
    if !ends_its_month(to) {
        if let Some(start) = month_start(to, 0) {
            days.push(Periods::Days(day_number(start), day_number(to)));
        }
    }
    days
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
        };
        let d = Periods::Days;
        assert_eq!(
            days(Some("2025-03-02"), Some("2025-05-30")),
            [d(20250302, 20250331), d(20250501, 20250530)]
        );
        assert_eq!(days(Some("2025-03-01"), Some("2025-05-31")), []);
        assert_eq!(
            days(Some("2025-03-02"), Some("2025-03-30")),
            [d(20250302, 20250330)]
        );
        assert_eq!(
            days(Some("2025-02-20"), Some("2025-03-10")),
            [d(20250220, 20250310)]
        );
        assert_eq!(days(None, Some("2025-03-30")), [d(20250301, 20250330)]);
        assert_eq!(days(Some("2024-02-10"), None), [d(20240210, 20240229)]);
        assert_eq!(days(None, Some("2024-02-29")), []);
        assert_eq!(days(Some("2025-12-01"), None), []);
    }
}
