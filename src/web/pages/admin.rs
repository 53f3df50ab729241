//! `/admin/cache/` and the staff's refresh and clear buttons.

use maud::{html, Markup};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::{
    csv_reply, csv_requested, frame, human_bytes, human_duration, layout, local_time, pager,
    sort_all, tables_of, Frame, PER_PAGE,
};
use crate::cache::{EntryInfo, KindMetrics};
use crate::i18n::{fill, t, word, Lang};
use crate::jobs::scheduler::JobWarning;
use crate::stats::key::KeyKind;
use crate::stats::StatKey;
use crate::store;
use crate::store::jobs::{JobRun, RunBy};
use crate::web::app::{clear_entries, list_entries, refresh_entry, App};
use crate::web::context::Ctx;
use crate::web::decode::{kind_of, page_of};
use crate::web::error::WebError;
use crate::web::flash::Flash;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;
use crate::web::table::{natural, Cell, Table, Tables};

/// Most entries one Refresh button recomputes (a learner page has four).
const MAX_REFRESH_KEYS: usize = 8;

/// `POST /refresh/` (`key`: one key, or several separated by spaces):
/// recomputes them in turn and goes back to `next`, whose badge then says
/// "fresh".
pub(crate) fn refresh_button(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let text = form.get("key").map(String::as_str).unwrap_or("");
    let keys = text
        .split_whitespace()
        .map(StatKey::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() || keys.len() > MAX_REFRESH_KEYS {
        return Err(WebError::bad(
            "key",
            format!("give one to {MAX_REFRESH_KEYS} keys, separated by spaces"),
        ));
    }
    for key in &keys {
        refresh_entry(app, ctx, key.clone())?;
    }
    let next = LocalPath::or(form.get("next").map(String::as_str), "/");
    let refreshed = keys
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(Flash::KEY_SEPARATOR);
    let flash = Flash::Refreshed(refreshed).cookie(app.secure_cookies);
    Ok(Reply::Redirect(next, vec![flash]))
}

/// `GET /admin/cache/[?kind=&sort=&page=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let tables = tables_of(ctx)?;
    let page = page_of(ctx)?;
    let kind = kind_of(ctx)?;
    let mut entries = list_entries(app, ctx, kind)?;
    entries.sort_by(|a, b| natural(&a.key, &b.key));
    let l = ctx.lang;
    let config = &app.config;
    let conn = app.store.conn()?;
    let size = |p: std::path::PathBuf| std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    let mut files = vec![(
        "voxdash.db".to_string(),
        size(config.db_path()) + size(config.data_dir.join("voxdash.db-wal")),
    )];
    if app.cache.is_shared() {
        // The shared cache: where it is and what its entries take there.
        let bytes = entries.iter().map(|e| e.size as u64).sum();
        files.push((app.cache.place(), bytes));
    } else {
        files.push(("stats.redb".to_string(), size(config.cache_path())));
    }
    let mut all = vec![
        entry_table(l, &entries),
        metrics_table(l, &app.cache.metrics().snapshot()),
        job_table(l, config.local.tz, &store::jobs::recent(&conn, None, 20)?),
        count_table(
            l,
            "tables",
            ("admin.table", "admin.rows"),
            app.store
                .table_counts()?
                .into_iter()
                .map(|(n, c)| (n, Cell::int(c))),
        ),
        count_table(
            l,
            "files",
            ("admin.file", "admin.size"),
            files
                .into_iter()
                .map(|(n, b)| (n, Cell::int(b as i64).shown_as(human_bytes(b)))),
        ),
    ];
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all, id);
    }
    sort_all(&tables, &mut all)?;
    let view = AdminView {
        kind,
        job_status: job_status(app, &conn, l)?,
        tables: &tables,
        all: &all,
        page,
    };
    Ok(Reply::Html(admin_cache(
        &frame(app, ctx, "admin.title"),
        &view,
    )))
}

/// One line per scheduled job: its last run, and a warning if any.
fn job_status(
    app: &App,
    conn: &store::Conn,
    l: Lang,
) -> Result<Vec<(String, Option<String>)>, WebError> {
    let config = &app.config;
    let now = config.clock.now_micros();
    let mut lines = Vec::new();
    for job in crate::jobs::scheduler::jobs(&config.schedule) {
        let last = store::jobs::last(conn, job.name.as_str())?;
        let name = word(l, "job", job.name.as_str());
        let line = match &last {
            Some(r) => fill(
                l,
                "admin.last_run",
                &[
                    ("job", &name),
                    ("outcome", &word(l, "outcome", &r.outcome)),
                    ("when", &local_time(r.started_at, config.local.tz)),
                    ("secs", &format!("{:.1}", r.duration_ms / 1000.0)),
                ],
            ),
            None => fill(l, "admin.never_run", &[("job", &name)]),
        };
        let warning = crate::jobs::scheduler::warning(&job, last.as_ref(), now).map(|w| match w {
            JobWarning::NeverRan(_) => fill(l, "warn.never", &[("job", &name)]),
            JobWarning::Failed(_, summary) => {
                fill(l, "warn.failed", &[("job", &name), ("summary", &summary)])
            }
            JobWarning::Overdue(_) => fill(l, "warn.overdue", &[("job", &name)]),
        });
        lines.push((line, warning));
    }
    Ok(lines)
}

/// Every cache entry (of the kind shown), keys in natural order.
fn entry_table(l: Lang, entries: &[EntryInfo]) -> Table {
    let mut table = Table::new(
        "entries",
        &[
            ("key", t(l, "admin.key")),
            ("status", t(l, "admin.status")),
            ("age", t(l, "admin.age")),
            ("ttl", t(l, "admin.ttl")),
            ("size", t(l, "admin.size")),
            ("changes", t(l, "admin.changes")),
        ],
    );
    for e in entries {
        let age = e.age_secs.max(0.0) as u64;
        table.row(vec![
            Cell::code(&e.key),
            Cell::text(e.status.as_str()).shown_as(word(l, "status", e.status.as_str())),
            Cell::int(age as i64).shown_as(human_duration(l, age)),
            Cell::int(e.ttl_secs as i64).shown_as(human_duration(l, e.ttl_secs)),
            Cell::int(e.size as i64).shown_as(human_bytes(e.size as u64)),
            Cell::int(e.changes_since as i64),
        ]);
    }
    table
}

/// Hits, misses and computing time per kind of entry.
fn metrics_table(l: Lang, metrics: &[(KeyKind, KindMetrics)]) -> Table {
    let mut table = Table::new(
        "metrics",
        &[
            ("kind", t(l, "admin.kind")),
            ("hits", t(l, "admin.hits")),
            ("misses", t(l, "admin.misses")),
            ("stale", t(l, "admin.stale_reads")),
            ("computations", t(l, "admin.computations")),
            ("compute_s", t(l, "admin.compute_s")),
            ("max_ms", t(l, "admin.max_ms")),
            ("hit_rate", t(l, "admin.hit_rate")),
        ],
    )
    .saying_when_empty(t(l, "admin.no_reads"));
    for (k, m) in metrics {
        let rate = m.hit_rate().map(|r| r * 100.0);
        table.row(vec![
            Cell::code(k.name()),
            Cell::int(m.hits as i64),
            Cell::int(m.misses as i64),
            Cell::int(m.stale as i64),
            Cell::int(m.computations as i64),
            Cell::num(m.compute_micros_sum as f64 / 1e6, 3),
            Cell::num(m.compute_micros_max as f64 / 1e3, 1),
            Cell::opt(rate, 0).shown_as(rate.map_or("–".into(), |r| format!("{r:.0}%"))),
        ]);
    }
    table
}

/// The latest job runs.
pub(crate) fn job_table(l: Lang, tz: chrono_tz::Tz, runs: &[JobRun]) -> Table {
    let mut table = Table::new(
        "jobs",
        &[
            ("job", t(l, "admin.job")),
            ("outcome", t(l, "admin.outcome")),
            ("started", t(l, "admin.started")),
            ("duration", t(l, "admin.duration")),
            ("summary", t(l, "admin.summary")),
            ("by", t(l, "admin.by")),
        ],
    )
    .saying_when_empty(t(l, "admin.no_runs"));
    for j in runs {
        table.row(vec![
            Cell::text(&j.job).shown_as(word(l, "job", &j.job)),
            Cell::text(&j.outcome).shown_as(word(l, "outcome", &j.outcome)),
            Cell::int(j.started_at).shown_as(local_time(j.started_at, tz)),
            Cell::num(j.duration_ms / 1000.0, 1),
            Cell::code(&j.summary),
            ran_by(l, j.ran_by.as_ref()),
        ]);
    }
    table
}

/// Who started a run, in the page's language; exported as stored
/// (`staff:NAME`), and `–` for runs from before it was kept.
fn ran_by(l: Lang, by: Option<&RunBy>) -> Cell {
    let Some(by) = by else {
        return Cell::text("").shown_as("–");
    };
    let shown = match by {
        RunBy::Scheduler => t(l, "by.scheduler").to_string(),
        RunBy::Staff(name) => fill(l, "by.staff", &[("name", name)]),
        RunBy::Command(name) => fill(l, "by.command", &[("name", name)]),
    };
    Cell::text(by.as_stored()).shown_as(shown)
}

/// A two-column table of names and a figure.
fn count_table(
    l: Lang,
    id: &'static str,
    (name, figure): (&str, &str),
    rows: impl Iterator<Item = (String, Cell)>,
) -> Table {
    let mut table = Table::new(id, &[("name", t(l, name)), ("value", t(l, figure))]);
    for (n, c) in rows {
        table.row(vec![Cell::code(n), c]);
    }
    table
}

/// `GET /admin/cache/clear?prefix=`: what Clear would remove, and the
/// buttons to go on or go back.
pub(crate) fn confirm_clear(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let prefix = ctx.query.get("prefix").cloned().unwrap_or_default();
    Ok(Reply::Html(clear_page(app, ctx, &prefix)?))
}

fn clear_page(app: &App, ctx: &Ctx, prefix: &str) -> Result<maud::Markup, WebError> {
    let l = ctx.lang;
    let n = list_entries(app, ctx, None)?
        .iter()
        .filter(|e| e.key.starts_with(prefix))
        .count();
    let frame = frame(app, ctx, "admin.title");
    let question = if prefix.is_empty() {
        t(l, "confirm.clear_all").to_string()
    } else {
        fill(l, "confirm.clear_some", &[("prefix", prefix)])
    };
    let content = html! {
        section.confirm {
            h1 { (question) }
            p { (fill(l, "confirm.clear_what", &[("n", &n.to_string())])) }
            form method="post" action="/admin/cache/clear" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                input type="hidden" name="prefix" value=(prefix);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { (t(l, "confirm.clear")) }
                " " a.button href="/admin/cache/" { (t(l, "confirm.cancel")) }
            }
        }
    };
    Ok(layout(&frame, content))
}

/// `POST /admin/cache/clear`: clears once confirmed (`confirm=yes`);
/// without it, shows the confirmation page.
pub(crate) fn clear(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let prefix = form.get("prefix").cloned().unwrap_or_default();
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return Ok(Reply::Html(clear_page(app, ctx, &prefix)?));
    }
    let n = clear_entries(app, ctx, prefix.clone())?;
    log::info!(
        "cache: {n} entries under {prefix:?} cleared by {}",
        ctx.account.as_ref().map_or("?", |a| &a.username)
    );
    let flash = Flash::Cleared(n as u64).cookie(app.secure_cookies);
    Ok(Reply::Redirect(LocalPath::of("/admin/cache/"), vec![flash]))
}

/// What `/admin/cache/` shows.
struct AdminView<'a> {
    /// The kind the list is narrowed to.
    kind: Option<KeyKind>,
    /// One line per scheduled job: its last run, and a warning if any.
    job_status: Vec<(String, Option<String>)>,
    tables: &'a Tables<'a>,
    /// Entries, metrics, jobs, tables, files.
    all: &'a [Table],
    page: u64,
}

/// `/admin/cache/`.
fn admin_cache(frame: &Frame, v: &AdminView) -> Markup {
    let l = frame.lang;
    let csrf = frame.csrf.unwrap_or("");
    let entries = &v.all[0];
    let total = entries.rows.len() as u64;
    let rows = entries.page(v.page, PER_PAGE);
    let actions = |row: &[Cell]| {
        let key = &row[0].exported;
        html! {
            form.inline method="post" action="/refresh/" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="key" value=(key);
                input type="hidden" name="next" value=(frame.here);
                button type="submit" { (t(l, "action.refresh")) }
            }
            " "
            a.button href={"/admin/cache/clear?prefix=" (utf8_percent_encode(key, NON_ALPHANUMERIC))} { (t(l, "action.clear")) }
        }
    };
    layout(
        frame,
        html! {
            h1 { (t(l, "admin.title")) }
            p.kinds {
                @if v.kind.is_none() { strong { (t(l, "admin.all")) } } @else { a href="/admin/cache/" { (t(l, "admin.all")) } }
                @for k in KeyKind::ALL { " · " @if Some(k) == v.kind { strong { code { (k.name()) } } } @else { a href={"/admin/cache/?kind=" (k.name())} { code { (k.name()) } } } }
            }
            section #cache-entries {
                h2 { (t(l, "admin.entries")) " (" (total) ")" }
                @if rows.is_empty() { p.empty { (t(l, "drill.none")) } } @else {
                    (v.tables.html_with(entries, Some(rows), &actions))
                    @if total > u64::from(PER_PAGE) { (pager(frame, &v.tables.base(), v.page, total)) }
                }
                p { a.button.danger href="/admin/cache/clear?prefix=" { (t(l, "admin.clear_all")) } }
            }
            section #hit-rates {
                h2 { (t(l, "admin.hit_rates")) }
                (v.tables.html(&v.all[1], None))
            }
            section #job-runs {
                h2 { (t(l, "admin.jobs")) }
                ul #job-status {
                    @for (line, warn) in &v.job_status {
                        li { (line) @if let Some(w) = warn { " " span.error { "⚠ " (w) } } }
                    }
                }
                (v.tables.html(&v.all[2], None))
            }
            section #table-rows {
                h2 { (t(l, "admin.tables")) }
                (v.tables.html(&v.all[3], None))
            }
            section #file-sizes {
                h2 { (t(l, "admin.files")) }
                (v.tables.html(&v.all[4], None))
            }
        },
    )
}
