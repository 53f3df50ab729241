//! `/api/userprofile/`: where uploads came from.

use maud::{html, Markup};

use super::range::range_picker;
use super::{
    badge, csv_reply, csv_requested, empty_state, frame, layout, place_name, region_href, sort_all,
    stat_card, tables_of, Frame,
};
use crate::cache::Answer;
use crate::i18n::{region, t, Lang};
use crate::stats::{Locations, StatKey, Statistic};
use crate::store;
use crate::web::app::{answer, etag, App};
use crate::web::charts::{bar_chart, bars, dot_map, linked, Axis, Dot, MapText};
use crate::web::context::Ctx;
use crate::web::decode::range_of;
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /api/userprofile/[?sort=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let tables = tables_of(ctx)?;
    let range = range_of(ctx, &["lang", "refresh", "sort", "format", "table"])?;
    let a = answer(app, ctx, &StatKey::locations_in(range))?;
    let Statistic::Locations(d) = &a.entry.statistic else {
        unreachable!("locations key")
    };
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, location_tables(ctx.lang, d), id);
    }
    // The region labels are read only when the page is rendered, once per
    // entry (and language and viewer), not on every view.
    app.rendered.page(etag(ctx, &[&a]), || {
        let labels = region_labels(app)?;
        let mut all = location_tables(ctx.lang, d);
        sort_all(&tables, &mut all)?;
        let frame = frame(app, ctx, "loc.title");
        let picker = range_picker(&frame, &range, ctx.today);
        Ok(locations(&frame, &a, d, &labels, (&tables, &all), picker))
    })
}

/// Region names at the coordinates of `ip_regions` (first row of each name).
fn region_labels(app: &App) -> Result<Vec<(String, f64, f64)>, WebError> {
    let conn = app.store.conn()?;
    Ok(store::region_points(&conn)?)
}

/// The page's tables: uploads by region, by IP region.
fn location_tables(l: Lang, d: &Locations) -> Vec<Table> {
    let mut by_region = Table::new(
        "regions",
        &[
            ("region", t(l, "loc.region")),
            ("uploads", t(l, "loc.uploads")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for g in &d.by_region {
        by_region.row(vec![
            Cell::text(place_name(l, &g.region)).link(region_href(&g.region)),
            Cell::int(g.uploads as i64),
            Cell::int(g.recordings as i64),
        ]);
    }
    let mut by_ip = Table::new(
        "ip_regions",
        &[
            ("region", t(l, "loc.region")),
            ("uploads", t(l, "loc.uploads")),
            ("distinct_ips", t(l, "loc.distinct_ips")),
        ],
    );
    for g in &d.by_ip_region {
        by_ip.row(vec![
            Cell::text(place_name(l, &g.region)),
            Cell::int(g.uploads as i64),
            Cell::int(g.distinct_ips as i64),
        ]);
    }
    vec![by_region, by_ip]
}

/// `/api/userprofile/`.
fn locations(
    frame: &Frame,
    answer: &Answer,
    d: &Locations,
    labels: &[(String, f64, f64)],
    (tables, all): (&Tables, &[Table]),
    picker: Markup,
) -> Markup {
    let l = frame.lang;
    let by_region = linked(
        bars(
            &d.by_region,
            |g| place_name(l, &g.region),
            |g| g.uploads as f64,
        ),
        |i| region_href(&d.by_region[i].region),
    );
    let by_ip = bars(
        &d.by_ip_region,
        |g| place_name(l, &g.region),
        |g| g.uploads as f64,
    );
    let dots: Vec<Dot> = d
        .points
        .iter()
        .map(|p| Dot {
            lat: p.lat,
            lon: p.lon,
            count: p.uploads,
        })
        .collect();
    let labels: Vec<(String, f64, f64)> = labels
        .iter()
        .map(|(name, lat, lon)| (region(l, name), *lat, *lon))
        .collect();
    let uploads = t(l, "unit.uploads");
    let axis = |title: &'static str| Axis {
        title: t(l, title),
        unit: uploads,
    };
    let content = html! {
        h1 { (t(l, "loc.title")) }
        (badge(frame, answer))
        (picker)
        @if d.total_uploads == 0 { (empty_state(l)) } @else {
            div.cards {
                (stat_card(t(l, "loc.uploads"), d.total_uploads.to_string()))
                (stat_card(t(l, "loc.regions"), d.total_regions.to_string()))
            }
            section #map {
                h2 { (t(l, "loc.map")) }
                @if dots.is_empty() { p.empty { (t(l, "empty.no_points")) } } @else {
                    (dot_map(&MapText { title: t(l, "loc.map"), unit: uploads, labels: &labels, land: crate::regions::LAND_OUTLINES }, &dots))
                }
            }
            section #by-region {
                h2 { (t(l, "loc.by_region")) }
                (bar_chart(axis("loc.by_region"), &by_region))
                (tables.folded(&all[0]))
            }
            section #by-ip-region {
                h2 { (t(l, "loc.by_ip_region")) }
                (bar_chart(axis("loc.by_ip_region"), &by_ip))
                (tables.folded(&all[1]))
            }
        }
    };
    layout(frame, content)
}
