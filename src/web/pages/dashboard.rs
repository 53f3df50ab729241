//! `/audio/dashboard/`: the voice-corpus statistics, and with
//! `?category=`, `?diagnosis=`, `?gender=` the same over a group of
//! speakers (a sub-corpus), with its speakers listed, paged and sortable.

use maud::{html, Markup};

use super::range::range_picker;
use super::recordings::RecordingsOf;
use super::{
    badge, breadcrumbs, csv_reply, csv_requested, empty_state, frame, group_href, group_name,
    group_value, layout, narrowed, opt, pager, sort_all, stat_card, tables_of, Frame, PER_PAGE,
};
use crate::cache::Answer;
use crate::i18n::{fill, plural, t, Lang};
use crate::stats::key::Filter;
use crate::stats::{Dashboard, StatKey, Statistic};
use crate::store::speakers::SpeakerSummary;
use crate::web::app::{answer, etag, App};
use crate::web::charts::{bar_chart, bars, column_chart, linked, Axis, Bar};
use crate::web::context::Ctx;
use crate::web::decode::{filter_of, page_of};
use crate::web::error::WebError;
use crate::web::numbers::{self, whole};
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /audio/dashboard/[?category=&diagnosis=&gender=&sort=&page=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let filter = filter_of(ctx, &["lang", "refresh", "page", "sort", "format", "table"])?;
    let tables = tables_of(ctx)?;
    let page = page_of(ctx)?;
    let a = answer(app, ctx, &StatKey::sub_corpus(filter.clone()))?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("a corpus key")
    };
    let l = ctx.lang;
    // A group's speakers are listed whatever the range.
    let speakers = if filter.has_group() {
        let group = Filter {
            range: Default::default(),
            ..filter.clone()
        };
        Some(app.speaker_lists.of(app, &group)?)
    } else {
        None
    };
    let all_tables = || {
        let mut all = corpus_tables(l, d, &filter, &RecordingsOf::group(&filter));
        if let Some(rows) = &speakers {
            all.push(speaker_table(l, rows));
        }
        all
    };
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all_tables(), id);
    }
    app.rendered.page(etag(ctx, &[&a]), || {
        let frame = frame(app, ctx, "dash.title");
        let mut all = all_tables();
        sort_all(&tables, &mut all)?;
        let picker = range_picker(&frame, &filter.range, ctx.today);
        let content = if filter.has_group() {
            group_page(&frame, &a, d, &filter, (&tables, &all), page, picker)
        } else {
            html! {
                h1 { (t(l, "dash.title")) }
                (badge(&frame, &a))
                (picker)
                (corpus_sections(&frame, d, &filter, &RecordingsOf::group(&filter), (&tables, &all), html! {}))
            }
        };
        Ok(layout(&frame, content))
    })
}

/// What a group is, for people: `category: adult · gender: F`.
pub(crate) fn group_title(frame: &Frame, filter: &Filter) -> String {
    filter
        .params()
        .iter()
        .filter(|(name, _)| !matches!(*name, "from" | "to"))
        .map(|(name, value)| {
            format!(
                "{}: {}",
                t(frame.lang, &format!("drill.{name}")),
                group_value(frame.lang, name, value)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn group_page(
    frame: &Frame,
    a: &Answer,
    d: &Dashboard,
    filter: &Filter,
    (tables, all): (&Tables, &[Table]),
    page: u64,
    picker: Markup,
) -> Markup {
    let l = frame.lang;
    let title = group_title(frame, filter);
    let speakers = all.last().expect("the speakers table");
    let total = speakers.rows.len() as u64;
    let rows = speakers.page(page, PER_PAGE);
    html! {
        (breadcrumbs(frame, &[], &title))
        h1 { (t(l, "dash.title")) " — " (title) }
        (badge(frame, a))
        (picker)
        // The group's speakers come first, under its cards: they are
        // what a group page is opened for.
        (corpus_sections(frame, d, filter, &RecordingsOf::group(filter), (tables, all), html! {
            section #speakers-list {
                h2 { (t(l, "drill.speakers")) " (" (whole(total as i64)) ")" }
                @if rows.is_empty() { p.empty { (t(l, "drill.none")) } } @else {
                    (tables.html(speakers, Some(rows)))
                    (pager(frame, &tables.base(), page, total))
                }
            }
        }))
    }
}

/// A group's speakers, most recordings first.
fn speaker_table(l: Lang, speakers: &[SpeakerSummary]) -> Table {
    let mut table = Table::new(
        "speakers",
        &[
            ("code", t(l, "drill.code")),
            ("category", t(l, "drill.category")),
            ("gender", t(l, "drill.gender")),
            ("diagnosis", t(l, "drill.diagnosis")),
            ("recordings", t(l, "dash.recordings")),
            ("hours", t(l, "dash.hours")),
            ("snr", t(l, "drill.mean_snr")),
        ],
    );
    for SpeakerSummary {
        speaker: s,
        recordings,
        hours,
        mean_snr_db,
    } in speakers
    {
        table.row(vec![
            Cell::text(&s.code).link(format!("/audio/speakers/{}/", s.id)),
            Cell::text(group_name(l, &s.category)),
            Cell::text(&s.gender).shown_as(group_value(l, "gender", &s.gender)),
            Cell::text(group_name(l, &s.diagnosis)),
            Cell::int(*recordings as i64),
            Cell::num(*hours, 2),
            Cell::opt(*mean_snr_db, 1),
        ]);
    }
    table
}

/// The tables of a corpus statistic, in the order the sections show them:
/// category, gender, SNR, months, diagnosis, then the descriptors: sample
/// rates, ages, lengths.
/// Each row's recordings lead to their list (`list` narrowed by the row).
pub(crate) fn corpus_tables(
    l: Lang,
    d: &Dashboard,
    within: &Filter,
    list: &RecordingsOf,
) -> Vec<Table> {
    vec![
        category_table(l, d, within, list),
        gender_table(l, d, within, list),
        snr_table(l, d, list),
        months_table(l, d, list),
        diagnosis_table(l, d, within, list),
        sample_rate_table(l, d, list),
        age_table(l, d),
        length_table(l, d, list),
    ]
}

/// A sample rate for people: `16000 Hz`, or "not given".
fn sample_rate_name(l: Lang, rate: Option<i64>) -> String {
    match rate {
        Some(hz) => format!("{hz} Hz"),
        None => t(l, "word.not_given").to_string(),
    }
}

/// An age band for people: `18-29`, or "no birth year".
fn age_band_name(l: Lang, band: &str) -> String {
    match band {
        "" => t(l, "dash.no_birth_year").to_string(),
        band => band.to_string(),
    }
}

/// A length bucket's limits in seconds: `< 2`, `2–5`, `≥ 60`.
fn length_range(b: &crate::stats::corpus::DurationBucket) -> String {
    snr_range(b.min_s, b.max_s)
}

fn sample_rate_table(l: Lang, d: &Dashboard, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "sample_rate",
        &[
            ("sample_rate", t(l, "rec.sample_rate")),
            ("recordings", t(l, "dash.recordings")),
            ("hours", t(l, "dash.hours")),
        ],
    );
    for g in &d.by_sample_rate {
        table.row(vec![
            Cell::text(sample_rate_name(l, g.sample_rate)),
            Cell::int(g.recordings as i64).link(list.sample_rate_href(g.sample_rate)),
            Cell::num(g.duration_hours, 2),
        ]);
    }
    table
}

fn age_table(l: Lang, d: &Dashboard) -> Table {
    let mut table = Table::new(
        "age",
        &[
            ("age", t(l, "dash.age")),
            ("speakers", t(l, "dash.speakers")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for band in &d.by_age {
        table.row(vec![
            Cell::text(age_band_name(l, &band.band)),
            Cell::int(band.speakers as i64),
            Cell::int(band.recordings as i64),
        ]);
    }
    table
}

fn length_table(l: Lang, d: &Dashboard, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "length",
        &[
            ("length", t(l, "dash.length_s")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for b in &d.duration.buckets {
        table.row(vec![
            Cell::text(length_range(b)),
            Cell::int(b.recordings as i64).link(list.length_href(b.min_s, b.max_s)),
        ]);
    }
    table
}

/// The list of a group's recordings: `list` narrowed by `name` = `value`.
fn group_list(list: &RecordingsOf, name: &'static str, value: &str) -> String {
    list.href(&[(name, value.to_string())])
}

fn category_table(l: Lang, d: &Dashboard, within: &Filter, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "category",
        &[
            ("category", t(l, "drill.category")),
            ("speakers", t(l, "dash.speakers")),
            ("recordings", t(l, "dash.recordings")),
            ("hours", t(l, "dash.hours")),
        ],
    );
    for g in &d.by_category {
        table.row(vec![
            Cell::text(group_name(l, &g.category)).link(group_href(&narrowed(
                within,
                "category",
                &g.category,
            ))),
            Cell::int(g.speakers as i64),
            Cell::int(g.recordings as i64).link(group_list(list, "category", &g.category)),
            Cell::num(g.duration_hours, 2),
        ]);
    }
    table
}

fn gender_table(l: Lang, d: &Dashboard, within: &Filter, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "gender",
        &[
            ("gender", t(l, "drill.gender")),
            ("speakers", t(l, "dash.speakers")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for g in &d.by_gender {
        table.row(vec![
            Cell::text(&g.gender)
                .shown_as(group_value(l, "gender", &g.gender))
                .link(group_href(&narrowed(within, "gender", &g.gender))),
            Cell::int(g.speakers as i64),
            Cell::int(g.recordings as i64).link(group_list(list, "gender", &g.gender)),
        ]);
    }
    table
}

fn snr_table(l: Lang, d: &Dashboard, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "snr",
        &[
            ("band", t(l, "dash.snr_band")),
            ("range", t(l, "dash.snr_range")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for b in &d.snr.buckets {
        table.row(vec![
            Cell::text(t(l, &format!("snr.{}", b.label))),
            Cell::text(snr_range(b.min_db, b.max_db)),
            Cell::int(b.recordings as i64).link(list.band_href(b.min_db, b.max_db)),
        ]);
    }
    table
}

fn months_table(l: Lang, d: &Dashboard, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "months",
        &[
            ("month", t(l, "axis.month")),
            ("recordings", t(l, "dash.recordings")),
            ("new_speakers", t(l, "dash.new_speakers")),
            ("hours", t(l, "dash.hours")),
        ],
    );
    for m in &d.monthly {
        table.row(vec![
            Cell::text(&m.month),
            Cell::int(m.recordings as i64).link(list.month_href(&m.month)),
            Cell::int(m.new_speakers as i64),
            Cell::num(m.duration_hours, 2),
        ]);
    }
    table
}

fn diagnosis_table(l: Lang, d: &Dashboard, within: &Filter, list: &RecordingsOf) -> Table {
    let mut table = Table::new(
        "diagnosis",
        &[
            ("diagnosis", t(l, "drill.diagnosis")),
            ("speakers", t(l, "dash.speakers")),
            ("recordings", t(l, "dash.recordings")),
            ("snr", t(l, "dash.mean_snr")),
        ],
    );
    for g in &d.by_diagnosis {
        table.row(vec![
            Cell::text(group_name(l, &g.diagnosis)).link(group_href(&narrowed(
                within,
                "diagnosis",
                &g.diagnosis,
            ))),
            Cell::int(g.speakers as i64),
            Cell::int(g.recordings as i64).link(group_list(list, "diagnosis", &g.diagnosis)),
            Cell::opt(g.mean_snr_db, 1),
        ]);
    }
    table
}

/// An SNR band's limits: `< 10`, `10–20`, `≥ 30`.
fn snr_range(min: Option<u32>, max: Option<u32>) -> String {
    match (min, max) {
        (None, Some(hi)) => format!("< {hi}"),
        (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, None) => "–".into(),
    }
}

/// The descriptors' sections: recordings per sample rate, speakers per
/// age band, the lengths of the recordings; each chart with its table
/// (`all[5..8]`).
/// The descriptors' sections, whose bars of recordings lead to their list;
/// a speaker's page has no age chart (one bar).
fn descriptor_sections(
    l: Lang,
    d: &Dashboard,
    list: &RecordingsOf,
    (tables, all): (&Tables, &[Table]),
) -> Markup {
    let one_speaker = list.of_one_speaker();
    let axis = |title: &'static str, unit: &'static str| Axis {
        title: t(l, title),
        unit: t(l, unit),
    };
    let rates = linked(
        bars(
            &d.by_sample_rate,
            |g| sample_rate_name(l, g.sample_rate),
            |g| g.recordings as f64,
        ),
        |i| list.sample_rate_href(d.by_sample_rate[i].sample_rate),
    );
    let ages = bars(
        &d.by_age,
        |b| age_band_name(l, &b.band),
        |b| b.speakers as f64,
    );
    let lengths = linked(
        bars(&d.duration.buckets, length_range, |b| b.recordings as f64),
        |i| {
            let b = &d.duration.buckets[i];
            list.length_href(b.min_s, b.max_s)
        },
    );
    let unit = t(l, "unit.s");
    let seconds = |v: Option<f64>| v.map_or_else(|| "–".into(), |s| format!("{s:.1} {unit}"));
    html! {
        section #by-sample-rate {
            h2 { (t(l, "dash.by_sample_rate")) }
            (bar_chart(axis("dash.by_sample_rate", "unit.recordings"), &rates))
            (tables.folded(&all[5]))
        }
        @if !one_speaker {
            section #by-age {
                h2 { (t(l, "dash.by_age")) }
                (bar_chart(axis("dash.by_age", "unit.speakers"), &ages))
                (tables.folded(&all[6]))
            }
        }
        section #lengths {
            h2 { (t(l, "dash.lengths")) }
            p { (t(l, "dash.mean")) " " (seconds(d.duration.mean_s)) ", "
                (t(l, "dash.median")) " " (seconds(d.duration.median_s)) }
            (bar_chart(axis("dash.lengths", "unit.recordings"), &lengths))
            (tables.folded(&all[7]))
        }
    }
}

/// The bars of a corpus statistic's charts: each group's leads to
/// `within` narrowed by it.
struct CorpusBars {
    category: Vec<Bar>,
    gender: Vec<Bar>,
    diagnosis: Vec<Bar>,
    snr: Vec<Bar>,
    months: Vec<Bar>,
}

fn corpus_bars(l: Lang, d: &Dashboard, within: &Filter, list: &RecordingsOf) -> CorpusBars {
    // One bar per group, named and leading to its page.
    let group_bars = |name: &str, groups: Vec<(&str, u64)>| -> Vec<Bar> {
        groups
            .into_iter()
            .map(|(value, recordings)| Bar {
                label: group_value(l, name, value),
                value: recordings as f64,
                href: Some(group_href(&narrowed(within, name, value))),
            })
            .collect()
    };
    let snr_label = |b: &crate::stats::corpus::SnrBucket| {
        fill(
            l,
            "snr.band",
            &[
                ("name", t(l, &format!("snr.{}", b.label))),
                ("range", &snr_range(b.min_db, b.max_db)),
            ],
        )
    };
    CorpusBars {
        category: group_bars(
            "category",
            d.by_category
                .iter()
                .map(|g| (g.category.as_str(), g.recordings))
                .collect(),
        ),
        gender: group_bars(
            "gender",
            d.by_gender
                .iter()
                .map(|g| (g.gender.as_str(), g.recordings))
                .collect(),
        ),
        diagnosis: group_bars(
            "diagnosis",
            d.by_diagnosis
                .iter()
                .map(|g| (g.diagnosis.as_str(), g.recordings))
                .collect(),
        ),
        snr: linked(
            bars(&d.snr.buckets, snr_label, |b| b.recordings as f64),
            |i| list.band_href(d.snr.buckets[i].min_db, d.snr.buckets[i].max_db),
        ),
        months: linked(
            bars(&d.monthly, |m| m.month.clone(), |m| m.recordings as f64),
            |i| list.month_href(&d.monthly[i].month),
        ),
    }
}

/// The sections of a corpus statistic (whole, a group's or a speaker's):
/// cards, groups, SNR, months, each chart with its table (`all`, from
/// [`corpus_tables`], sorted as asked). Each group leads to `within`
/// narrowed by it, each SNR band and month to its list of recordings.
/// The cards, charts and tables of a dashboard. `within` is the group the
/// page is about: a chart of a column it fixes would be one bar, so it is
/// left out (its table stays in the CSV). `after_cards` comes right under
/// the cards (a group's speakers).
pub(crate) fn corpus_sections(
    frame: &Frame,
    d: &Dashboard,
    within: &Filter,
    list: &RecordingsOf,
    (tables, all): (&Tables, &[Table]),
    after_cards: Markup,
) -> Markup {
    let l = frame.lang;
    if d.total_speakers == 0 && d.total_recordings == 0 && within.is_empty() {
        return empty_state(l);
    }
    let CorpusBars {
        category: cat,
        gender,
        diagnosis: diag,
        snr,
        months,
    } = corpus_bars(l, d, within, list);
    let recordings = t(l, "unit.recordings");
    let axis = |title: &'static str| Axis {
        title: t(l, title),
        unit: recordings,
    };
    html! {
        div.cards {
            @if !list.of_one_speaker() {
                (stat_card(&plural(l, "card.speakers", d.total_speakers), d.total_speakers.to_string()))
            }
            (stat_card(&plural(l, "card.recordings", d.total_recordings), d.total_recordings.to_string()))
            (stat_card(t(l, "dash.hours"), numbers::fixed(d.total_duration_hours, 1)))
        }
        (after_cards)
        @if within.category.is_none() {
            section #by-category {
                h2 { (t(l, "dash.by_category")) }
                (bar_chart(axis("dash.by_category"), &cat))
                (tables.folded(&all[0]))
            }
        }
        @if within.gender.is_none() {
            section #by-gender {
                h2 { (t(l, "dash.by_gender")) }
                (bar_chart(axis("dash.by_gender"), &gender))
                (tables.folded(&all[1]))
            }
        }
        section #snr {
            h2 { (t(l, "dash.snr")) }
            p { (whole(d.snr.measured as i64)) " " (t(l, "dash.measured")) ", " (whole(d.snr.unmeasured as i64)) " " (t(l, "dash.unmeasured")) "; "
                (t(l, "dash.mean")) " " (opt(d.snr.mean_db)) " dB, " (t(l, "dash.median")) " " (opt(d.snr.median_db)) " dB" }
            (bar_chart(axis("dash.snr"), &snr))
            (tables.folded(&all[2]))
        }
        section #monthly {
            h2 { (t(l, "dash.monthly")) }
            (column_chart(axis("dash.monthly"), t(l, "axis.month"), &months))
            (tables.folded(&all[3]))
        }
        @if within.diagnosis.is_none() {
            section #by-diagnosis {
                h2 { (t(l, "dash.by_diagnosis")) }
                (bar_chart(axis("dash.by_diagnosis"), &diag))
                (tables.folded(&all[4]))
            }
        }
        (descriptor_sections(l, d, list, (tables, all)))
    }
}
