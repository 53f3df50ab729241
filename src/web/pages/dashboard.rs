//! `/audio/dashboard/`: the voice-corpus statistics.

use maud::{html, Markup};

use super::{badge, frame, group_name, layout, opt, stat_card, Frame};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::{Dashboard, StatKey, Statistic};
use crate::web::app::{answer, App};
use crate::web::charts::{bar_chart, bars, column_chart};
use crate::web::context::Ctx;
use crate::web::error::WebError;
use crate::web::reply::Reply;

pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let a = answer(app, ctx, &StatKey::Dashboard)?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("dashboard key")
    };
    Ok(Reply::Html(dashboard(
        &frame(app, ctx, "dash.title"),
        &a,
        d,
    )))
}

/// `/audio/dashboard/`.
fn dashboard(frame: &Frame, answer: &Answer, d: &Dashboard) -> Markup {
    let l = frame.lang;
    let cat = bars(
        &d.by_category,
        |g| group_name(l, &g.category),
        |g| g.recordings as f64,
    );
    let gender = bars(
        &d.by_gender,
        |g| group_name(l, &g.gender),
        |g| g.recordings as f64,
    );
    let snr = bars(
        &d.snr.buckets,
        |b| t(l, &format!("snr.{}", b.label)).to_string(),
        |b| b.recordings as f64,
    );
    let months = bars(&d.monthly, |m| m.month.clone(), |m| m.recordings as f64);
    let diag = bars(
        &d.by_diagnosis,
        |g| group_name(l, &g.diagnosis),
        |g| g.recordings as f64,
    );
    layout(
        frame,
        html! {
            (badge(frame, answer))
            h1 { (t(l, "dash.title")) }
            div.cards {
                (stat_card(t(l, "dash.speakers"), d.total_speakers.to_string()))
                (stat_card(t(l, "dash.recordings"), d.total_recordings.to_string()))
                (stat_card(t(l, "dash.hours"), format!("{:.1}", d.total_duration_hours)))
            }
            section {
                h2 { (t(l, "dash.by_category")) }
                (bar_chart(t(l, "dash.by_category"), &cat))
                table { tr { th { (t(l, "dash.by_category")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } th { (t(l, "dash.hours")) } }
                    @for g in &d.by_category { tr { td { (group_name(l, &g.category)) } td { (g.speakers) } td { (g.recordings) } td { (format!("{:.2}", g.duration_hours)) } } } }
            }
            section {
                h2 { (t(l, "dash.by_gender")) }
                (bar_chart(t(l, "dash.by_gender"), &gender))
                table { tr { th { (t(l, "dash.by_gender")) } th { (t(l, "dash.speakers")) } th { (t(l, "dash.recordings")) } }
                    @for g in &d.by_gender { tr { td { (g.gender) } td { (g.speakers) } td { (g.recordings) } } } }
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
                    @for g in &d.by_diagnosis { tr { td { (group_name(l, &g.diagnosis)) } td { (g.speakers) } td { (g.recordings) } td { (opt(g.mean_snr_db)) } } } }
            }
        },
    )
}
