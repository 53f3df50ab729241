//! `/api/userprofile/`: where uploads came from.

use maud::{html, Markup};

use super::{badge, frame, group_name, layout, region_href, stat_card, Frame};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::{Locations, StatKey, Statistic};
use crate::store;
use crate::web::app::{answer, etag, App};
use crate::web::charts::{bar_chart, bars, dot_map, linked, Bar, Dot};
use crate::web::context::Ctx;
use crate::web::error::WebError;
use crate::web::reply::Reply;

pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let a = answer(app, ctx, &StatKey::Locations)?;
    let Statistic::Locations(d) = &a.entry.statistic else {
        unreachable!("locations key")
    };
    // The region labels are read only when the page is rendered, once per
    // entry (and language and viewer), not on every view.
    app.rendered.page(etag(ctx, &[&a]), || {
        let labels = region_labels(app)?;
        Ok(locations(&frame(app, ctx, "loc.title"), &a, d, &labels))
    })
}

/// Region names at the coordinates of `ip_regions` (first row of each name).
fn region_labels(app: &App) -> Result<Vec<(String, f64, f64)>, WebError> {
    let conn = app.cache.store().conn()?;
    Ok(store::region_points(&conn)?)
}

/// `/api/userprofile/`.
fn locations(
    frame: &Frame,
    answer: &Answer,
    d: &Locations,
    labels: &[(String, f64, f64)],
) -> Markup {
    let l = frame.lang;
    let by_region = linked(
        bars(
            &d.by_region,
            |g| group_name(l, &g.region),
            |g| g.uploads as f64,
        ),
        |i| region_href(&d.by_region[i].region),
    );
    let by_ip: Vec<Bar> = d
        .by_ip_region
        .iter()
        .map(|g| Bar {
            label: if g.region == "unknown" {
                t(l, "word.unknown").to_string()
            } else {
                g.region.clone()
            },
            value: g.uploads as f64,
            href: None,
        })
        .collect();
    let dots: Vec<Dot> = d
        .points
        .iter()
        .map(|p| Dot {
            lat: p.lat,
            lon: p.lon,
            count: p.uploads,
        })
        .collect();
    layout(
        frame,
        html! {
            (badge(frame, answer))
            h1 { (t(l, "loc.title")) }
            div.cards {
                (stat_card(t(l, "loc.uploads"), d.total_uploads.to_string()))
                (stat_card(t(l, "loc.regions"), d.total_regions.to_string()))
            }
            section {
                h2 { (t(l, "loc.map")) }
                (dot_map(t(l, "loc.map"), &dots, labels))
            }
            section {
                h2 { (t(l, "loc.by_region")) }
                (bar_chart(t(l, "loc.by_region"), &by_region))
                table { tr { th { (t(l, "loc.region")) } th { (t(l, "loc.uploads")) } th { (t(l, "dash.recordings")) } }
                    @for g in &d.by_region { tr { td { a href=(region_href(&g.region)) { (group_name(l, &g.region)) } } td { (g.uploads) } td { (g.recordings) } } } }
            }
            section {
                h2 { (t(l, "loc.by_ip_region")) }
                (bar_chart(t(l, "loc.by_ip_region"), &by_ip))
                table { tr { th { (t(l, "loc.region")) } th { (t(l, "loc.uploads")) } th { (t(l, "loc.distinct_ips")) } }
                    @for g in &d.by_ip_region { tr { td { (g.region) } td { (g.uploads) } td { (g.distinct_ips) } } } }
            }
        },
    )
}
