//! `/api/userprofile/uploads/?region=`: the uploads of one region of the
//! locations page, newest first, paged.

use maud::html;

use super::speaker::upload_table;
use super::{
    addresses_toggle, breadcrumbs, csv_reply, csv_requested, frame, full_addresses, layout,
    paged_table, place_name, sort_all, tables_of,
};
use crate::i18n::t;
use crate::store::speakers;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::page_of;
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /api/userprofile/uploads/?region=&page=&sort=&format=&table=`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_reader(app.public)?;
    let region = ctx
        .query
        .get("region")
        .ok_or_else(|| WebError::bad("region", "required (empty for uploads without one)"))?;
    let page = page_of(ctx)?;
    let tables = tables_of(ctx)?;
    let (uploads, total) = speakers::region_uploads(&app.store.conn()?, region, u32::MAX, 0)?;
    let l = ctx.lang;
    let full = full_addresses(ctx)?;
    let mut all = vec![upload_table(l, app.config.local.tz, &uploads, full)];
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all, id);
    }
    sort_all(&tables, &mut all)?;
    let frame = frame(app, ctx, "drill.uploads");
    let name = place_name(l, region);
    let trail = [(
        t(l, "nav.locations").to_string(),
        "/api/userprofile/".to_string(),
    )];
    let content = html! {
        (breadcrumbs(&frame, &trail, &name))
        h1 { (t(l, "drill.uploads")) " — " (name) " (" (total) ")" }
        (addresses_toggle(&frame, full))
        (paged_table(&frame, &tables, &all[0], page))
    };
    Ok(Reply::Html(layout(&frame, content)))
}
