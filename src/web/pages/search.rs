//! `/search/?q=` (staff): what the search box of the navigation finds,
//! speakers by code and learners by login or display name, each a link to
//! their page.

use maud::html;

use super::{frame, group_name, group_value, layout};
use crate::i18n::t;
use crate::store::search::search as find;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::search_text;
use crate::web::error::WebError;
use crate::web::reply::Reply;

/// `GET /search/?q=`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let text = search_text(ctx)?;
    let found = find(&app.store.conn()?, &text)?;
    let frame = frame(app, ctx, "nav.search");
    let l = frame.lang;
    let content = html! {
        h1 { (t(l, "nav.search")) ": " (text) }
        section #found-speakers {
            h2 { (t(l, "drill.speakers")) " (" (found.speakers.len()) ")" }
            @if found.speakers.is_empty() { p.empty { (t(l, "search.nothing")) } }
            ul.found {
                @for s in &found.speakers {
                    li {
                        a href={"/audio/speakers/" (s.id) "/"} { (s.code) }
                        " · " (group_name(l, s.category.as_deref().unwrap_or_default())) " · " (group_value(l, "gender", s.gender.as_deref().unwrap_or_default()))
                        " · " (group_name(l, s.diagnosis.as_deref().unwrap_or_default()))
                    }
                }
            }
        }
        section #found-users {
            h2 { (t(l, "search.users")) " (" (found.users.len()) ")" }
            @if found.users.is_empty() { p.empty { (t(l, "search.nothing")) } }
            ul.found {
                @for u in &found.users {
                    li {
                        a href={"/learning/users/" (u.id) "/"} { (u.username) }
                        @if let Some(name) = &u.display_name { " · " (name) }
                    }
                }
            }
        }
    };
    Ok(Reply::Html(layout(&frame, content)))
}
