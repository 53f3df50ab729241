//! Server-rendered pages (maud): what every page shares (the frame, the
//! layout with its navigation, the freshness badge, small helpers), and one
//! file per page with its handler and its view.

pub(super) mod accounts;
pub(super) mod admin;
pub(super) mod dashboard;
pub(super) mod learner;
pub(super) mod learning;
pub(super) mod locations;
pub(super) mod maintenance;
pub(super) mod range;
pub(super) mod recordings;
pub(super) mod search;
pub(super) mod sign_in;
pub(super) mod speaker;
pub(super) mod uploads;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::app::App;
use super::context::Ctx;
use crate::cache::{Answer, Freshness};
use crate::i18n::{fill, plural, t, word, Lang};
use crate::stats::key::Filter;
use crate::store::accounts::Account;
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;
use crate::web::table::{Sort, Table, Tables};

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
    /// The result of the action that led here, shown once.
    pub notice: Option<String>,
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
                header.top {
                    nav.main aria-label="main" {
                        a.brand href="/audio/dashboard/" { "voxdash" }
                        a href="/audio/dashboard/" { (t(l, "nav.dashboard")) }
                        a href="/api/userprofile/" { (t(l, "nav.locations")) }
                        a href="/learning/" { (t(l, "nav.learning")) }
                        @if frame.staff() {
                            a href="/audio/recordings/" { (t(l, "nav.recordings")) }
                            a href="/admin/cache/" { (t(l, "nav.cache")) }
                            a href="/admin/maintenance/" { (t(l, "nav.maintenance")) }
                            a href="/admin/accounts/" { (t(l, "nav.accounts")) }
                        }
                    }
                    @if frame.staff() {
                        form.search method="get" action="/search/" role="search" {
                            input type="search" name="q" required maxlength="100"
                                placeholder=(t(l, "search.placeholder")) aria-label=(t(l, "nav.search"));
                            @if l != Lang::En { input type="hidden" name="lang" value=(l.code()); }
                        }
                    }
                    div.account {
                        span.langs {
                            @for (code, name) in [("en", "EN"), ("ko", "한국어"), ("zh", "中文")] {
                                a href=(lang_href(frame, code)) lang=(code) aria-current=[(code == l.code()).then_some("true")] { (name) }
                            }
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
                }
                main {
                    @if let Some(text) = &frame.notice { (notice(text)) }
                    (content)
                }
                script { (PreEscaped(LIVE)) }
            }
        }
    }
}

/// This page in another language: its query kept, `lang` replaced.
fn lang_href(frame: &Frame, code: &str) -> String {
    let query = frame.here.split_once('?').map_or("", |(_, q)| q);
    with_param(frame.path, query, "lang", code)
}

/// `path` with `query`, `name` set to `value`. A link never carries
/// `refresh` (following it would force a recomputation) nor a sign-in
/// target that is not one of our pages.
pub(crate) fn with_param(path: &str, query: &str, name: &str, value: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let foreign = k == "next" && LocalPath::parse(&v).is_none();
        if k != name && k != "refresh" && !foreign {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair(name, value);
    format!("{path}?{}", out.finish())
}

/// Whether the page shows whole IP addresses: only staff who ask for them
/// (`?addresses=full`); everyone else sees them masked.
pub(crate) fn full_addresses(ctx: &Ctx) -> Result<bool, WebError> {
    match ctx.query.get("addresses").map(String::as_str) {
        None | Some("masked") => Ok(false),
        Some("full") if ctx.is_staff() => Ok(true),
        Some("full") => Err(WebError::Forbidden(
            "whole addresses are shown to staff only".into(),
        )),
        Some(_) => Err(WebError::bad("addresses", "must be full or masked")),
    }
}

/// An uploader's address as a page shows it: masked to its network (an
/// IPv4 address to its /24, `203.252.1.0/24`; IPv6 to its /48,
/// `2001:db8:1::/48`) unless `full`; a text that is not an address as
/// "unknown", since it may still hold one.
pub(crate) fn shown_address(l: Lang, ip: Option<&str>, full: bool) -> String {
    use std::net::IpAddr;
    let Some(text) = ip else {
        return "–".into();
    };
    match text.trim().parse::<IpAddr>() {
        Ok(_) if full => text.to_string(),
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) if full => text.to_string(),
        Err(_) => t(l, "word.unknown").to_string(),
    }
}

/// The link that shows whole addresses (staff), or masks them again.
pub(crate) fn addresses_toggle(frame: &Frame, full: bool) -> Markup {
    if !frame.staff() {
        return html! {};
    }
    let query = frame.here.split_once('?').map_or("", |(_, q)| q);
    let (value, label) = match full {
        true => ("masked", "drill.mask_addresses"),
        false => ("full", "drill.full_addresses"),
    };
    html! { p.addresses { a href=(with_param(frame.path, query, "addresses", value)) { (t(frame.lang, label)) } } }
}

/// A place for people: a region translated when it is one of Korea's,
/// "unknown" when empty (an upload without a region, like one whose
/// address matches no region: one word for both tables), the statistic's
/// `other` in the page's language, anything else as written.
pub(crate) fn place_name(l: Lang, name: &str) -> String {
    match name {
        "" | "unknown" => t(l, "word.unknown").to_string(),
        "other" => t(l, "word.other").to_string(),
        _ => crate::i18n::region(l, name),
    }
}

/// The freshness badge at the top of every stats page, with the staff's
/// refresh button.
pub fn badge(frame: &Frame, answer: &Answer) -> Markup {
    badge_of(frame, &[answer])
}

/// One badge for the entries a page shows (a learner's day, week, month
/// and courses): the least fresh of them and the oldest time, so that it
/// never says more than the worst number on the page; its Refresh button
/// recomputes them all. Live updates follow each of its keys.
pub fn badge_of(frame: &Frame, answers: &[&Answer]) -> Markup {
    let l = frame.lang;
    let Some(oldest) = answers.iter().map(|a| a.entry.computed_at).min() else {
        return html! {};
    };
    let when = local_time(oldest, frame.tz);
    let status = answers
        .iter()
        .map(|a| a.status)
        .max_by_key(|s| match s {
            Freshness::Fresh => 0,
            Freshness::Cached => 1,
            Freshness::Stale => 2,
        })
        .unwrap_or(Freshness::Cached);
    let changes: u64 = answers.iter().map(|a| a.changes_since).sum();
    let keys = answers
        .iter()
        .map(|a| a.key.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let fresh = format!(
        "{} ({}: {when})",
        t(l, "badge.fresh"),
        t(l, "badge.refreshed")
    );
    let stale = |changes: u64| {
        let changes = if changes > 0 {
            format!(", {}", plural(l, "badge.changes", changes))
        } else {
            String::new()
        };
        format!(
            "{} ({}: {when}{changes}) — {}",
            t(l, "badge.stale"),
            t(l, "badge.updated"),
            t(l, "badge.refreshing")
        )
    };
    let text = match status {
        Freshness::Cached => format!(
            "{} ({}: {when})",
            t(l, "badge.cached"),
            t(l, "badge.updated")
        ),
        Freshness::Fresh => fresh.clone(),
        Freshness::Stale => stale(changes),
    };
    html! {
        div.badgebar {
            span class={"badge " (status.as_str())} data-key=(keys)
                data-text-fresh=(fresh) data-text-stale=(stale(0))
                data-status=(status.as_str()) { (text) }
            @if frame.staff() {
                form.inline method="post" action="/refresh/" {
                    input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                    input type="hidden" name="key" value=(keys);
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

/// A value of the group column `column` for people: a gender code in
/// words, anything else as [`group_name`] shows it.
pub(crate) fn group_value(l: Lang, column: &str, value: &str) -> String {
    match (column, value) {
        ("gender", "F" | "M" | "U") => t(l, &format!("gender.{value}")).to_string(),
        _ => group_name(l, value),
    }
}

pub(crate) fn opt(v: Option<f64>) -> String {
    v.map(|x| crate::web::numbers::fixed(x, 1))
        .unwrap_or_else(|| "–".into())
}

/// A card: a number (grouped by thousands) over what it counts.
pub(crate) fn stat_card(label: &str, value: String) -> Markup {
    let value = crate::web::numbers::grouped(&value);
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
        tz: app.config.local.tz,
        notice: ctx.flash().map(|f| f.message(ctx.lang)),
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
    // A group column always takes its value.
    let _ = f.set(name, value.to_string());
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

/// How this request wants the page's tables: its sort, and the query the
/// sort and CSV links keep.
pub(crate) fn tables_of<'a>(ctx: &'a Ctx) -> Result<Tables<'a>, WebError> {
    let sort = ctx.query.get("sort").map(|s| Sort::parse(s)).transpose()?;
    let keep = form_urlencoded::parse(ctx.raw_query.as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "sort" | "page" | "format" | "table" | "refresh"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok(Tables {
        lang: ctx.lang,
        path: &ctx.path,
        keep,
        sort,
    })
}

/// The table `?format=csv&table=ID` asks for, if it asks for one.
pub(crate) fn csv_requested<'a>(ctx: &'a Ctx) -> Result<Option<&'a str>, WebError> {
    match ctx.query.get("format").map(String::as_str) {
        None | Some("html") => Ok(None),
        Some("csv") => ctx
            .query
            .get("table")
            .map(|t| Some(t.as_str()))
            .ok_or_else(|| WebError::bad("table", "required with format=csv")),
        Some(other) => Err(WebError::bad(
            "format",
            format!("{other:?} is not html or csv"),
        )),
    }
}

/// The CSV download of the table named `id` among `tables`, sorted as
/// asked.
pub(crate) fn csv_reply(tables: &Tables, mut all: Vec<Table>, id: &str) -> Result<Reply, WebError> {
    let names: Vec<&str> = all.iter().map(|t| t.id).collect();
    let names = names.join(", ");
    let table = all
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| WebError::bad("table", format!("{id:?} is not one of {names}")))?;
    table.sort(tables.sort.as_ref())?;
    Ok(Reply::Download(
        format!("voxdash-{}.csv", table.id),
        table.csv()?,
    ))
}

/// Sorts every table as asked; a sort naming no table of the page fails.
pub(crate) fn sort_all(tables: &Tables, all: &mut [Table]) -> Result<(), WebError> {
    if let Some(sort) = &tables.sort {
        if !all.iter().any(|t| t.id == sort.table) {
            let names: Vec<&str> = all.iter().map(|t| t.id).collect();
            return Err(WebError::bad(
                "sort",
                format!(
                    "this page has no table {:?} (tables: {})",
                    sort.table,
                    names.join(", ")
                ),
            ));
        }
    }
    for table in all {
        table.sort(tables.sort.as_ref())?;
    }
    Ok(())
}

/// What a page shows when there is no data at all: what to do about it.
pub(crate) fn empty_state(l: Lang) -> Markup {
    html! {
        section.empty-state {
            h2 { (t(l, "empty.title")) }
            p { (t(l, "empty.load")) }
        }
    }
}

/// A one-line message at the top of a page (the result of an action).
pub(crate) fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

/// A duration for people: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub(crate) fn human_duration(l: Lang, secs: u64) -> String {
    let unit = |key: &str| t(l, key).to_string();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match secs {
        0..=59 => format!("{s} {}", unit("unit.s")),
        60..=3599 => format!("{m} {}", unit("unit.min")),
        3600..=86_399 if m == 0 => format!("{h} {}", unit("unit.h")),
        3600..=86_399 => format!("{h} {} {m} {}", unit("unit.h"), unit("unit.min")),
        _ if h == 0 => format!("{d} {}", unit("unit.d")),
        _ => format!("{d} {} {h} {}", unit("unit.d"), unit("unit.h")),
    }
}

/// A size for people: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.1} MiB", n as f64 / 1_048_576.0),
        _ => format!("{:.1} GiB", n as f64 / 1_073_741_824.0),
    }
}

/// Who an error page is for: their language and account.
pub(crate) struct Viewer {
    /// Language of the page.
    pub lang: Lang,
    /// Signed-in account.
    pub account: Option<Account>,
    /// CSRF token (for the sign-out button).
    pub csrf: Option<String>,
}

/// The page of a failed request: what happened in the reader's language,
/// the detail (naming the parameter), and the way back.
pub(crate) fn error_page(
    app: &App,
    viewer: Option<&Viewer>,
    url: &str,
    e: &WebError,
    request_id: &str,
) -> Markup {
    let l = viewer.map_or(Lang::En, |v| v.lang);
    let status = e.status();
    let title = match e {
        WebError::DatabaseAway(_) => t(l, "error.database").to_string(),
        _ => word(l, "error", &status.to_string()),
    };
    let account = viewer.and_then(|v| v.account.as_ref());
    // The language links lead back here: only to a path of this server.
    let path = LocalPath::or(url.split('?').next(), "/");
    let frame = Frame {
        lang: l,
        title: title.clone(),
        account,
        csrf: viewer.and_then(|v| v.csrf.as_deref()),
        path: path.as_str(),
        here: url.to_string(),
        tz: app.config.local.tz,
        notice: None,
    };
    let content = html! {
        section.error-page {
            p.status { (status) }
            h1 { (title) }
            p { (t(l, "error.detail")) ": " code { (e.public_message(request_id)) } }
            @if let WebError::Throttled(secs) = e { p { (fill(l, "error.retry", &[("n", &secs.to_string())])) } }
            @if let WebError::DatabaseAway(_) = e {
                p { (fill(l, "error.retry", &[("n", &crate::web::error::DATABASE_RETRY_SECS.to_string())])) }
            }
            p.actions {
                a.button href="/audio/dashboard/" { (t(l, "error.back")) }
                @if account.is_none() && matches!(status, 401 | 403) { " " a.button href="/login/" { (t(l, "nav.login")) } }
            }
        }
    };
    layout(&frame, content)
}

/// One page of `table` with its pager, or a line saying it is empty.
pub(crate) fn paged_table(frame: &Frame, tables: &Tables, table: &Table, page: u64) -> Markup {
    let total = table.rows.len() as u64;
    let rows = table.page(page, PER_PAGE);
    html! {
        @if rows.is_empty() { p.empty { (t(frame.lang, "drill.none")) } } @else {
            (tables.html(table, Some(rows)))
            @if total > u64::from(PER_PAGE) { (pager(frame, &tables.base(), page, total)) }
        }
    }
}
