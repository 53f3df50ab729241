//! `/api/userprofile/uploads/?region=`: the uploads of one region of the
//! locations page, newest first, paged.

use maud::html;

use super::speaker::upload_table;
use super::{breadcrumbs, frame, group_name, layout, pager, region_href, PER_PAGE};
use crate::i18n::t;
use crate::store::speakers;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::page_of;
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /api/userprofile/uploads/?region=&page=`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let region = ctx
        .query
        .get("region")
        .ok_or_else(|| WebError::bad("region", "required (empty for uploads without one)"))?;
    let page = page_of(ctx)?;
    let conn = app.cache.store().conn()?;
    let offset = (page - 1) * u64::from(PER_PAGE);
    let (uploads, total) = speakers::region_uploads(&conn, region, PER_PAGE, offset)?;
    let frame = frame(app, ctx, "drill.uploads");
    let l = frame.lang;
    let name = group_name(l, region);
    let trail = [(
        t(l, "nav.locations").to_string(),
        "/api/userprofile/".to_string(),
    )];
    let content = html! {
        (breadcrumbs(&frame, &trail, &name))
        h1 { (t(l, "drill.uploads")) " — " (name) " (" (total) ")" }
        (upload_table(&frame, &uploads))
        (pager(&frame, &region_href(region), page, total))
    };
    Ok(Reply::Html(layout(&frame, content)))
}
