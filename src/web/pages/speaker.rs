//! `/audio/speakers/{id}/`: one speaker's corpus statistics (recordings by
//! month among them) and the uploads that hold their recordings, paged.

use maud::{html, Markup};

use super::dashboard::{corpus_sections, group_title};
use super::{badge, breadcrumbs, frame, group_href, layout, pager, Frame, PER_PAGE};
use crate::cache::Answer;
use crate::i18n::t;
use crate::stats::key::Filter;
use crate::stats::{Dashboard, StatKey, Statistic};
use crate::store::speakers::{self, SpeakerInfo, UploadRow};
use crate::web::app::{answer, etag, App};
use crate::web::context::Ctx;
use crate::web::decode::{page_of, path_id};
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /audio/speakers/{id}/[?page=]`.
pub(crate) fn page(app: &App, ctx: &Ctx, id: &str) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let speaker = path_id(id, "speaker")?;
    let page = page_of(ctx)?;
    let a = answer(app, ctx, &StatKey::Speaker { speaker })?;
    let Statistic::Dashboard(d) = &a.entry.statistic else {
        unreachable!("a corpus key")
    };
    let conn = app.cache.store().conn()?;
    let info = speakers::speaker_info(&conn, speaker)?
        .ok_or_else(|| WebError::NotFound(format!("speaker {speaker} not found")))?;
    let offset = (page - 1) * u64::from(PER_PAGE);
    let (uploads, total) = speakers::speaker_uploads(&conn, speaker, PER_PAGE, offset)?;
    let frame = frame(app, ctx, "drill.speaker");
    let view = SpeakerView {
        id: speaker,
        info: &info,
        answer: &a,
        stats: d,
        uploads: &uploads,
        page,
        total,
    };
    app.rendered
        .page(etag(ctx, &[&a]), || Ok(speaker_page(&frame, &view)))
}

struct SpeakerView<'a> {
    id: i64,
    info: &'a SpeakerInfo,
    answer: &'a Answer,
    stats: &'a Dashboard,
    uploads: &'a [UploadRow],
    page: u64,
    total: u64,
}

fn speaker_page(frame: &Frame, v: &SpeakerView) -> Markup {
    let l = frame.lang;
    let category = Filter {
        category: Some(v.info.category.clone()),
        ..Default::default()
    };
    let trail = [(group_title(frame, &category), group_href(&category))];
    let content = html! {
        (breadcrumbs(frame, &trail, &v.info.code))
        (badge(frame, v.answer))
        h1 { (t(l, "drill.speaker")) " " (v.info.code) }
        p.facts {
            (t(l, "drill.gender")) ": " (v.info.gender) " · "
            (t(l, "drill.diagnosis")) ": " (if v.info.diagnosis.is_empty() { t(l, "word.none") } else { &v.info.diagnosis }) " · "
            (t(l, "drill.birth_year")) ": " (v.info.birth_year.map_or("–".to_string(), |y| y.to_string()))
        }
        (corpus_sections(frame, v.stats, &Filter::default()))
        section #uploads {
            h2 { (t(l, "drill.uploads")) " (" (v.total) ")" }
            (upload_table(frame, v.uploads))
            (pager(frame, &format!("/audio/speakers/{}/", v.id), v.page, v.total))
        }
    };
    layout(frame, content)
}

/// A table of uploads, or a line saying there are none.
pub(crate) fn upload_table(frame: &Frame, uploads: &[UploadRow]) -> Markup {
    let l = frame.lang;
    html! {
        @if uploads.is_empty() { p.empty { (t(l, "drill.none")) } } @else {
            table.uploads {
                tr { th { "#" } th { (t(l, "drill.uploaded_at")) } th { (t(l, "drill.region")) } th { (t(l, "drill.ip")) } th { (t(l, "dash.recordings")) } }
                @for u in uploads {
                    tr { td { (u.id) } td { (u.uploaded_at) } td { (u.region) } td { (u.ip.as_deref().unwrap_or("–")) } td { (u.recordings) } }
                }
            }
        }
    }
}
