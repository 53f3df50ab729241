//! Server-rendered pages (maud): what every page shares (the frame, the
//! layout with its navigation, the freshness badge, small helpers), and one
//! file per page with its handler and its view.

pub(super) mod admin;
pub(super) mod dashboard;
pub(super) mod learner;
pub(super) mod learning;
pub(super) mod locations;
pub(super) mod maintenance;
pub(super) mod sign_in;
pub(super) mod speaker;
pub(super) mod uploads;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::app::App;
use super::context::Ctx;
use crate::cache::{Answer, Freshness};
use crate::i18n::{t, Lang};
use crate::stats::key::Filter;
use crate::store::accounts::Account;

/// The stylesheet, compiled into the binary.
pub const STYLE: &str = include_str!("../../../assets/style.css");

/// What every page needs besides its own content.
pub struct Frame<'a> {
    /// Language of all texts.
    pub lang: Lang,
    /// Page title.
    pub title: String,
    /// Signed-in account.
    pub account: Option<&'a Account>,
    /// CSRF token for forms.
    pub csrf: Option<&'a str>,
    /// Current path (for the language links and refresh redirects).
    pub path: &'a str,
    /// Current path and query: where a Refresh button comes back to.
    pub here: String,
    /// Zone of displayed times.
    pub tz: chrono_tz::Tz,
}

impl Frame<'_> {
    fn staff(&self) -> bool {
        self.account.is_some_and(|a| a.is_staff)
    }
}

/// Formats an instant in the configured zone.
pub fn local_time(micros: i64, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_micros(micros)
        .single()
        .map(|t| {
            t.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The script of live pages, compiled into the binary, inline in every page
/// (no external resource; it does nothing on a page without a badge).
pub const LIVE: &str = include_str!("../../../assets/live.js");

/// The shared layout with navigation.
pub fn layout(frame: &Frame, content: Markup) -> Markup {
    let l = frame.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · voxdash" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                nav {
                    a href="/audio/dashboard/" { (t(l, "nav.dashboard")) }
                    a href="/api/userprofile/" { (t(l, "nav.locations")) }
                    a href="/learning/" { (t(l, "nav.learning")) }
                    @if frame.staff() {
                        a href="/admin/cache/" { (t(l, "nav.cache")) }
                        a href="/admin/maintenance/" { (t(l, "nav.maintenance")) }
                    }
                    span.spacer {}
                    span.langs {
                        a href={(frame.path) "?lang=en"} { "EN" }
                        a href={(frame.path) "?lang=ko"} { "한국어" }
                        a href={(frame.path) "?lang=zh"} { "中文" }
                    }
                    @match frame.account {
                        Some(a) => {
                            span.who { (a.username) }
                            form.inline method="post" action="/logout/" {
                                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                                button type="submit" { (t(l, "nav.logout")) }
                            }
                        }
                        None => { a href="/login/" { (t(l, "nav.login")) } }
                    }
                }
                main { (content) }
                script { (PreEscaped(LIVE)) }
            }
        }
    }
}

/// The freshness badge at the top of every stats page, with the staff's
/// refresh button.
pub fn badge(frame: &Frame, answer: &Answer) -> Markup {
    let l = frame.lang;
    let when = local_time(answer.entry.computed_at, frame.tz);
    let (class, text) = match answer.status {
        Freshness::Cached => (
            "badge cached",
            format!(
                "{} ({}: {when})",
                t(l, "badge.cached"),
                t(l, "badge.updated")
            ),
        ),
        Freshness::Fresh => (
            "badge fresh",
            format!(
                "{} ({}: {when})",
                t(l, "badge.fresh"),
                t(l, "badge.refreshed")
            ),
        ),
        Freshness::Stale => {
            let changes = if answer.changes_since > 0 {
                format!(", {} {}", answer.changes_since, t(l, "badge.changes"))
            } else {
                String::new()
            };
            (
                "badge stale",
                format!(
                    "{} ({}: {when}{changes}) — {}",
                    t(l, "badge.stale"),
                    t(l, "badge.updated"),
                    t(l, "badge.refreshing")
                ),
            )
        }
    };
    html! {
        div.badgebar {
            span class=(class) data-key=(answer.key.to_string())
                data-text-fresh=(format!("{} ({}: {when})", t(l, "badge.fresh"), t(l, "badge.refreshed")))
                data-text-stale=(format!("{} ({}: {when}) — {}", t(l, "badge.stale"), t(l, "badge.updated"), t(l, "badge.refreshing")))
                data-status=(answer.status.as_str()) { (text) }
            @if frame.staff() {
                form.inline method="post" action="/refresh/" {
                    input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                    input type="hidden" name="key" value=(answer.key.to_string());
                    input type="hidden" name="next" value=(frame.here);
                    button type="submit" data-busy=(format!("{}…", t(l, "badge.refreshing"))) { (t(l, "action.refresh")) }
                }
            }
        }
    }
}

pub(crate) fn group_name(l: Lang, name: &str) -> String {
    if name.is_empty() {
        t(l, "word.none").to_string()
    } else {
        name.to_string()
    }
}

pub(crate) fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "–".into())
}

pub(crate) fn stat_card(label: &str, value: String) -> Markup {
    html! { div.card { div.value { (value) } div.label { (label) } } }
}

pub(crate) fn frame<'a>(app: &App, ctx: &'a Ctx, title: &str) -> Frame<'a> {
    Frame {
        lang: ctx.lang,
        title: crate::i18n::t(ctx.lang, title).to_string(),
        account: ctx.account.as_ref(),
        csrf: ctx.csrf.as_deref(),
        path: &ctx.path,
        here: if ctx.raw_query.is_empty() {
            ctx.path.clone()
        } else {
            format!("{}?{}", ctx.path, ctx.raw_query)
        },
        tz: app.cache.config().local.tz,
    }
}

/// Rows per page of the drill-down lists.
pub(crate) const PER_PAGE: u32 = 50;

/// The page of a group's sub-corpus.
pub(crate) fn group_href(filter: &Filter) -> String {
    if filter.is_empty() {
        "/audio/dashboard/".to_string()
    } else {
        format!("/audio/dashboard/?{}", filter.query())
    }
}

/// `filter` narrowed by one more value.
pub(crate) fn narrowed(filter: &Filter, name: &str, value: &str) -> Filter {
    let mut f = filter.clone();
    f.set(name, value.to_string());
    f
}

/// The uploads page of a region (empty: uploads with no region).
pub(crate) fn region_href(region: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("region", region);
    format!("/api/userprofile/uploads/?{}", query.finish())
}

/// The way back up: links to each level above, then where we are.
pub(crate) fn breadcrumbs(frame: &Frame, trail: &[(String, String)], here: &str) -> Markup {
    let l = frame.lang;
    html! {
        nav.breadcrumbs aria-label="breadcrumbs" {
            a href="/audio/dashboard/" { (t(l, "nav.dashboard")) }
            @for (label, href) in trail { " › " a href=(href) { (label) } }
            " › " span { (here) }
        }
    }
}

/// Previous / next links of a paged list; `base` is the page's path and
/// query without `page`.
pub(crate) fn pager(frame: &Frame, base: &str, page: u64, total: u64) -> Markup {
    let l = frame.lang;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let join = if base.contains('?') { '&' } else { '?' };
    html! {
        p.pager {
            @if page > 1 { a rel="prev" href={(base) (join) "page=" (page - 1)} { (t(l, "drill.previous")) } " " }
            (t(l, "drill.page")) " " (page) " " (t(l, "drill.of")) " " (pages)
            @if page < pages { " " a rel="next" href={(base) (join) "page=" (page + 1)} { (t(l, "drill.next")) } }
        }
    }
}
