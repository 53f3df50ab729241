//! `/audio/dashboard/`: the voice-corpus statistics, and with
//! `?category=`, `?diagnosis=`, `?gender=` the same over a group of
//! speakers (a sub-corpus), with its speakers listed, paged and sortable.

use maud::{html, Markup};

use super::{
    badge, breadcrumbs, frame, group_href, group_name, layout, narrowed, opt, pager, stat_card,
    Frame, PER_PAGE,
};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::key::Filter;
use crate::stats::{Dashboard, StatKey, Statistic};
use crate::store::speakers::SpeakerRow;
use crate::web::app::{answer, etag, App};
use crate::web::charts::{bar_chart, bars, column_chart, Bar};
use crate::web::context::Ctx;
use crate::web::decode::{filter_of, page_of, speaker_order_of};
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /audio/dashboard/[?category=&diagnosis=&gender=&sort=&page=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let filter = filter_of(ctx, &["lang", "refresh", "page", "sort"])?;
    let a = answer(app, ctx, &StatKey::sub_corpus(filter.clone()))?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("a corpus key")
    };
    if filter.is_empty() {
        return app.rendered.page(etag(ctx, &[&a]), || {
            let frame = frame(app, ctx, "dash.title");
            let content = html! {
                (badge(&frame, &a))
                h1 { (t(frame.lang, "dash.title")) }
                (corpus_sections(&frame, d, &filter))
            };
            Ok(layout(&frame, content))
        });
    }
    let order = speaker_order_of(ctx)?;
    let page = page_of(ctx)?;
    let all = app.speaker_lists.sorted(&app.cache, &filter, order)?;
    let offset = ((page - 1) * u64::from(PER_PAGE)).min(all.len() as u64) as usize;
    let rows = &all[offset..(offset + PER_PAGE as usize).min(all.len())];
    let total = all.len() as u64;
    let frame = frame(app, ctx, "dash.title");
    let sort = ctx.query.get("sort").map(String::as_str);
    let list = SpeakerList {
        rows,
        page,
        total,
        sort,
    };
    app.rendered.page(etag(ctx, &[&a]), || {
        Ok(group_page(&frame, &a, d, &filter, &list))
    })
}

/// What a group is, for people: `category: adult · gender: F`.
pub(crate) fn group_title(frame: &Frame, filter: &Filter) -> String {
    filter
        .params()
        .iter()
        .map(|(name, value)| {
            format!(
                "{}: {}",
                t(frame.lang, &format!("drill.{name}")),
                group_name(frame.lang, value)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One page of a group's speakers.
struct SpeakerList<'a> {
    rows: &'a [SpeakerRow],
    page: u64,
    total: u64,
    /// The `sort` asked for (checked), kept by the pager.
    sort: Option<&'a str>,
}

fn group_page(
    frame: &Frame,
    a: &Answer,
    d: &Dashboard,
    filter: &Filter,
    list: &SpeakerList,
) -> Markup {
    let (speakers, page, total) = (list.rows, list.page, list.total);
    let l = frame.lang;
    let title = group_title(frame, filter);
    let base = group_href(filter);
    let sort_link =
        |sort: &str, label: &str| html! { a href={(base) "&sort=" (sort)} { (t(l, label)) } };
    let content = html! {
        (breadcrumbs(frame, &[], &title))
        (badge(frame, a))
        h1 { (t(l, "dash.title")) " — " (title) }
        (corpus_sections(frame, d, filter))
        section #speakers {
            h2 { (t(l, "drill.speakers")) " (" (total) ")" }
            @if speakers.is_empty() { p.empty { (t(l, "drill.none")) } } @else {
                table {
                    tr { th { (sort_link("code", "drill.code")) } th { (t(l, "drill.category")) } th { (t(l, "drill.gender")) } th { (t(l, "drill.diagnosis")) }
                         th { (sort_link("recordings", "dash.recordings")) } th { (sort_link("hours", "dash.hours")) } th { (sort_link("snr", "drill.mean_snr")) } }
                    @for s in speakers {
                        tr { td { a href={"/audio/speakers/" (s.id) "/"} { (s.code) } } td { (group_name(l, &s.category)) } td { (group_name(l, &s.gender)) }
                             td { (group_name(l, &s.diagnosis)) } td { (s.recordings) } td { (format!("{:.2}", s.hours)) } td { (opt(s.mean_snr_db)) } }
                    }
                }
                (pager(frame, &format!("{base}{}", list.sort.map(|s| format!("&sort={s}")).unwrap_or_default()), page, total))
            }
        }
    };
    layout(frame, content)
}

/// The sections of a corpus statistic (whole, a group's or a speaker's):
/// cards, groups, SNR, months. Each group leads to `within` narrowed by it.
pub(crate) fn corpus_sections(frame: &Frame, d: &Dashboard, within: &Filter) -> Markup {
    let l = frame.lang;
    let to = |name: &str, value: &str| group_href(&narrowed(within, name, value));
    // One bar per group, named and leading to its page.
    let group_bars = |name: &str, groups: Vec<(&str, u64)>| -> Vec<Bar> {
        groups
            .into_iter()
            .map(|(value, recordings)| Bar {
                label: group_name(l, value),
                value: recordings as f64,
                href: Some(to(name, value)),
            })
            .collect()
    };
    let cat = group_bars(
        "category",
        d.by_category
            .iter()
            .map(|g| (g.category.as_str(), g.recordings))
            .collect(),
    );
    let gender = group_bars(
        "gender",
        d.by_gender
            .iter()
            .map(|g| (g.gender.as_str(), g.recordings))
            .collect(),
    );
    let diag = group_bars(
        "diagnosis",
        d.by_diagnosis
            .iter()
            .map(|g| (g.diagnosis.as_str(), g.recordings))
            .collect(),
    );
    let snr = bars(
        &d.snr.buckets,
        |b| t(l, &format!("snr.{}", b.label)).to_string(),
        |b| b.recordings as f64,
    );
    let months = bars(&d.monthly, |m| m.month.clone(), |m| m.recordings as f64);
    html! {
            div.cards {
                (stat_card(t(l, "dash.speakers"), d.total_speakers.to_string()))
                (stat_card(t(l, "dash.recordings"), d.total_recordings.to_string()))
                (stat_card(t(l, "dash.hours"), format!("{:.1}", d.total_duration_hours)))
            }
            section {
                h2 { (t(l, "dash.by_category")) }
                (bar_chart(t(l, "dash.by_category"), &cat))
                table { tr { th { (t(l, "dash.by_category")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } th { (t(l, "dash.hours")) } }
                    @for g in &d.by_category { tr { td { a href=(to("category", &g.category)) { (group_name(l, &g.category)) } } td { (g.speakers) } td { (g.recordings) } td { (format!("{:.2}", g.duration_hours)) } } } }
            }
            section {
                h2 { (t(l, "dash.by_gender")) }
                (bar_chart(t(l, "dash.by_gender"), &gender))
                table { tr { th { (t(l, "dash.by_gender")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } }
                    @for g in &d.by_gender { tr { td { a href=(to("gender", &g.gender)) { (group_name(l, &g.gender)) } } td { (g.speakers) } td { (g.recordings) } } } }
            }
            section {
                h2 { (t(l, "dash.snr")) }
                p { (d.snr.measured) " " (t(l, "dash.measured")) ", " (d.snr.unmeasured) " " (t(l, "dash.unmeasured")) "; "
                    (t(l, "dash.mean")) " " (opt(d.snr.mean_db)) " dB, " (t(l, "dash.median")) " " (opt(d.snr.median_db)) " dB" }
                (bar_chart(t(l, "dash.snr"), &snr))
            }
            section {
                h2 { (t(l, "dash.monthly")) }
                (column_chart(t(l, "dash.monthly"), &months))
                table { tr { th { "" } th { (t(l, "dash.recordings")) } th { (t(l, "dash.new_speakers")) } th { (t(l, "dash.hours")) } }
                    @for m in &d.monthly { tr { td { (m.month) } td { (m.recordings) } td { (m.new_speakers) } td { (format!("{:.2}", m.duration_hours)) } } } }
            }
            section {
                h2 { (t(l, "dash.by_diagnosis")) }
                (bar_chart(t(l, "dash.by_diagnosis"), &diag))
                table { tr { th { (t(l, "dash.by_diagnosis")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } th { (t(l, "dash.mean_snr")) } }
                    @for g in &d.by_diagnosis { tr { td { a href=(to("diagnosis", &g.diagnosis)) { (group_name(l, &g.diagnosis)) } } td { (g.speakers) } td { (g.recordings) } td { (opt(g.mean_snr_db)) } } } }
            }
    }
}
