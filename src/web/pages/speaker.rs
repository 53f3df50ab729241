//! `/audio/speakers/{id}/`: one speaker's corpus statistics (recordings by
//! month among them) and the uploads that hold their recordings, paged.

use maud::{html, Markup};

use super::dashboard::{corpus_sections, corpus_tables, group_title};
use super::range::range_picker;
use super::recordings::RecordingsOf;
use super::{
    addresses_toggle, badge, breadcrumbs, csv_reply, csv_requested, frame, full_addresses,
    group_href, group_name, group_value, layout, local_time, paged_table, shown_address, sort_all,
    tables_of, Frame,
};
use crate::cache::Answer;
use crate::clock::format_utc;
use crate::i18n::{region, t, Lang};
use crate::stats::key::DateRange;
use crate::stats::key::Filter;
use crate::stats::{Dashboard, StatKey, Statistic};
use crate::store::speakers::{self, UploadSummary};
use crate::store::Speaker;
use crate::web::app::{answer, etag, App};
use crate::web::context::Ctx;
use crate::web::decode::{page_of, path_id, range_of};
use crate::web::error::WebError;
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /audio/speakers/{id}/[?page=&sort=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let speaker = path_id(id, "speaker")?;
    let page = page_of(ctx)?;
    let tables = tables_of(ctx)?;
    let range = range_of(
        ctx,
        &[
            "lang",
            "refresh",
            "page",
            "sort",
            "format",
            "table",
            "addresses",
        ],
    )?;
    let full = full_addresses(ctx)?;
    let a = answer(app, ctx, &StatKey::Speaker { speaker, range })?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("a corpus key")
    };
    let conn = app.store.conn()?;
    let info = speakers::speaker(&conn, speaker)?
        .ok_or_else(|| WebError::NotFound(format!("speaker {speaker} not found")))?;
    let (uploads, _) = speakers::speaker_uploads(&conn, speaker, u32::MAX, 0)?;
    drop(conn);
    let tz = app.config.local.tz;
    let all_tables = || {
        let list = RecordingsOf::speaker(speaker, &range);
        let mut all = corpus_tables(ctx.lang, d, &Filter::default(), &list);
        all.push(upload_table(ctx.lang, tz, &uploads, full));
        all
    };
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all_tables(), id);
    }
    app.rendered.page(etag(ctx, &[&a]), || {
        let mut all = all_tables();
        sort_all(&tables, &mut all)?;
        let frame = frame(app, ctx, "drill.speaker");
        let view = SpeakerView {
            picker: range_picker(&frame, &range, ctx.today),
            full,
            range,
            info: &info,
            answer: &a,
            stats: d,
            tables: &tables,
            all: &all,
            page,
        };
        Ok(speaker_page(&frame, &view))
    })
}

struct SpeakerView<'a> {
    picker: Markup,
    range: DateRange,
    info: &'a Speaker,
    answer: &'a Answer,
    stats: &'a Dashboard,
    tables: &'a Tables<'a>,
    all: &'a [Table],
    page: u64,
    /// Whether the uploads show whole addresses.
    full: bool,
}

fn speaker_page(frame: &Frame, v: &SpeakerView) -> Markup {
    let l = frame.lang;
    let category = Filter {
        category: Some(v.info.category.clone()),
        ..Default::default()
    };
    let trail = [(group_title(frame, &category), group_href(&category))];
    let uploads = v.all.last().expect("the uploads table");
    // A speaker is one category, gender and diagnosis: no chart of those.
    let own_group = Filter {
        category: Some(v.info.category.clone()),
        gender: Some(v.info.gender.clone()),
        diagnosis: Some(v.info.diagnosis.clone()),
        ..Default::default()
    };
    let content = html! {
        (breadcrumbs(frame, &trail, &v.info.code))
        h1 { (t(l, "drill.speaker")) " " (v.info.code) }
        (badge(frame, v.answer))
        p.facts {
            (t(l, "drill.gender")) ": " (group_value(l, "gender", &v.info.gender)) " · "
            (t(l, "drill.diagnosis")) ": " (group_name(l, &v.info.diagnosis)) " · "
            (t(l, "drill.birth_year")) ": " (v.info.birth_year.map_or("–".to_string(), |y| y.to_string()))
        }
        (v.picker)
        (corpus_sections(frame, v.stats, &own_group, &RecordingsOf::speaker(v.info.id, &v.range), (v.tables, v.all), html! {}))
        section #uploads {
            h2 { (t(l, "drill.uploads")) " (" (uploads.rows.len()) ")" }
            (addresses_toggle(frame, v.full))
            (paged_table(frame, v.tables, uploads, v.page))
        }
    };
    layout(frame, content)
}

/// A table of uploads, newest first, times in the configured zone.
/// Addresses are masked unless `full`.
pub(crate) fn upload_table(
    l: Lang,
    tz: chrono_tz::Tz,
    uploads: &[UploadSummary],
    full: bool,
) -> Table {
    let mut table = Table::new(
        "uploads",
        &[
            ("id", "#"),
            ("uploaded_at", t(l, "drill.uploaded_at")),
            ("region", t(l, "drill.region")),
            ("ip", t(l, "drill.ip")),
            ("recordings", t(l, "dash.recordings")),
        ],
    );
    for UploadSummary {
        upload: u,
        recordings,
    } in uploads
    {
        table.row(vec![
            Cell::id(u.id),
            Cell::text(format_utc(u.uploaded_at)).shown_as(local_time(u.uploaded_at, tz)),
            Cell::text(region(l, u.region.as_deref().unwrap_or(""))),
            Cell::text(shown_address(l, u.ip.as_deref(), full)),
            Cell::int(*recordings as i64),
        ]);
    }
    table
}
