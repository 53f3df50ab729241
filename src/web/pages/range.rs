//! The range picker of the ranged pages (dashboard, a group, a speaker,
//! locations): presets as links and two date fields, each keeping the
//! page's other parameters (its group, its language) but its page number.

use chrono::{Datelike, Months, NaiveDate};
use maud::{html, Markup};

use super::Frame;
use crate::i18n::t;
use crate::stats::key::DateRange;

/// The presets, by their text key: this month, last month, this quarter,
/// the current month and the eleven before it, every day. Each is whole
/// months, which the aggregates answer without reading a recording.
pub(crate) fn presets(today: NaiveDate) -> [(&'static str, DateRange); 5] {
    let month = today.with_day(1).expect("day 1 exists");
    let quarter = month
        .with_month(1 + (month.month0() / 3) * 3)
        .expect("a quarter starts in a month that exists");
    let span = |from: NaiveDate, months: u32| DateRange {
        from: Some(from),
        to: from
            .checked_add_months(Months::new(months))
            .and_then(|next| next.pred_opt()),
    };
    let last_month = month.checked_sub_months(Months::new(1)).unwrap_or(month);
    let year_ago = month.checked_sub_months(Months::new(11)).unwrap_or(month);
    [
        ("range.this_month", span(month, 1)),
        ("range.last_month", span(last_month, 1)),
        ("range.this_quarter", span(quarter, 3)),
        ("range.last_12_months", span(year_ago, 12)),
        ("range.all", DateRange::ALL),
    ]
}

/// The page's query without `from`, `to`, `page` and `refresh`: what a
/// preset or the form keeps.
fn kept(frame: &Frame) -> Vec<(String, String)> {
    let query = frame.here.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "from" | "to" | "page" | "refresh"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// This page over `range`.
fn href(frame: &Frame, kept: &[(String, String)], range: &DateRange) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in kept {
        query.append_pair(k, v);
    }
    for (k, v) in range.params() {
        query.append_pair(k, &v);
    }
    let query = query.finish();
    match query.is_empty() {
        true => frame.path.to_string(),
        false => format!("{}?{query}", frame.path),
    }
}

/// The picker: the presets (the one shown marked), then `from` and `to`.
pub(crate) fn range_picker(frame: &Frame, range: &DateRange, today: NaiveDate) -> Markup {
    let l = frame.lang;
    let kept = kept(frame);
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    html! {
        form.range method="get" action=(frame.path) aria-label=(t(l, "range.label")) {
            span.presets {
                @for (key, preset) in presets(today) {
                    a href=(href(frame, &kept, &preset))
                        aria-current=[(preset == *range).then_some("true")] { (t(l, key)) }
                }
            }
            @for (k, v) in &kept { input type="hidden" name=(k) value=(v); }
            label { (t(l, "range.from")) " " input type="date" name="from" lang=(l.code()) value=(date(range.from)); }
            label { (t(l, "range.to")) " " input type="date" name="to" lang=(l.code()) value=(date(range.to)); }
            button type="submit" { (t(l, "range.apply")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_whole_months_around_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let p = presets(d("2025-02-14").unwrap());
        let shown: Vec<(Option<NaiveDate>, Option<NaiveDate>)> =
            p.iter().map(|(_, r)| (r.from, r.to)).collect();
        assert_eq!(
            shown,
            [
                (d("2025-02-01"), d("2025-02-28")),
                (d("2025-01-01"), d("2025-01-31")),
                (d("2025-01-01"), d("2025-03-31")),
                (d("2024-03-01"), d("2025-02-28")),
                (None, None),
            ]
        );
        let q4 = presets(d("2024-12-31").unwrap());
        assert_eq!(
            (q4[2].1.from, q4[2].1.to),
            (d("2024-10-01"), d("2024-12-31"))
        );
    }
}
