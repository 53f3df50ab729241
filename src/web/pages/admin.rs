//! `/admin/cache/` and the staff's refresh and clear buttons.

use maud::{html, Markup};

use super::{frame, layout, local_time, Frame};
use crate::cache::{EntryInfo, KindMetrics};
use crate::i18n::t;
use crate::stats::key::KeyKind;
use crate::stats::StatKey;
use crate::store;
use crate::store::jobs::JobRun;
use crate::web::app::{clear_entries, list_entries, refresh_entry, App};
use crate::web::context::Ctx;
use crate::web::decode::kind_of;
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;

pub(crate) fn refresh_button(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let key = StatKey::parse(form.get("key").map(String::as_str).unwrap_or(""))?;
    refresh_entry(app, key, ctx.lang)?;
    let next = LocalPath::or(form.get("next").map(String::as_str), "/");
    Ok(Reply::Redirect(next, Vec::new()))
}

pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let config = app.cache.config();
    let conn = app.cache.store().conn()?;
    let size = |p: std::path::PathBuf| std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    let kind = kind_of(ctx)?;
    let mut entries = list_entries(app, kind)?;
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let view = AdminView {
        kind,
        entries,
        metrics: app.cache.metrics().snapshot(),
        tables: app.cache.store().table_counts()?,
        files: vec![
            (
                "voxdash.db".into(),
                size(config.db_path()) + size(config.data_dir.join("voxdash.db-wal")),
            ),
            ("stats.redb".into(), size(config.cache_path())),
        ],
        jobs: store::jobs::recent(&conn, None, 20)?,
        job_status: {
            let now = config.clock.now_micros();
            let mut lines = Vec::new();
            for job in crate::jobs::scheduler::jobs(&config.schedule) {
                let last = store::jobs::last(&conn, job.name)?;
                let line = match &last {
                    Some(r) => format!(
                        "last {}: {} at {}, {:.1} s",
                        job.name,
                        r.outcome,
                        local_time(r.started_at, config.local.tz),
                        r.duration_ms / 1000.0
                    ),
                    None => format!("last {}: never", job.name),
                };
                lines.push((
                    line,
                    crate::jobs::scheduler::warning(&job, last.as_ref(), now),
                ));
            }
            lines
        },
    };
    Ok(Reply::Html(admin_cache(
        &frame(app, ctx, "admin.title"),
        &view,
    )))
}

pub(crate) fn clear(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let prefix = form.get("prefix").cloned().unwrap_or_default();
    let n = clear_entries(app, prefix.clone())?;
    log::info!(
        "cache: {n} entries under {prefix:?} cleared by {}",
        ctx.account.as_ref().map_or("?", |a| &a.username)
    );
    Ok(Reply::Redirect(LocalPath::of("/admin/cache/"), Vec::new()))
}

/// What `/admin/cache/` shows.
pub struct AdminView {
    /// The kind the list is narrowed to.
    pub kind: Option<KeyKind>,
    /// Every entry.
    pub entries: Vec<EntryInfo>,
    /// Metrics per kind.
    pub metrics: Vec<(KeyKind, KindMetrics)>,
    /// Rows per table.
    pub tables: Vec<(String, i64)>,
    /// (file, bytes).
    pub files: Vec<(String, u64)>,
    /// Latest job runs.
    pub jobs: Vec<JobRun>,
    /// One line per scheduled job: its last run, and a warning if any.
    pub job_status: Vec<(String, Option<String>)>,
}

/// `/admin/cache/`.
fn admin_cache(frame: &Frame, v: &AdminView) -> Markup {
    let l = frame.lang;
    let csrf = frame.csrf.unwrap_or("");
    layout(
        frame,
        html! {
            h1 { (t(l, "admin.title")) }
            p.kinds {
                a href="/admin/cache/" { "all" }
                @for k in KeyKind::ALL { " · " @if Some(k) == v.kind { strong { (k.name()) } } @else { a href={"/admin/cache/?kind=" (k.name())} { (k.name()) } } }
            }
            table #entries {
                tr { th { (t(l, "admin.key")) } th { (t(l, "admin.status")) } th { (t(l, "admin.age")) } th { (t(l, "admin.ttl")) } th { (t(l, "admin.size")) } th { (t(l, "admin.changes")) } th {} }
                @for e in &v.entries {
                    tr data-key=(e.key) {
                        td { code { (e.key) } }
                        td { span class={"badge " (e.status.as_str())} { (e.status.as_str()) } }
                        td { (crate::jobs::refresh::human_secs(e.age_secs.max(0.0) as u64)) }
                        td { (crate::jobs::refresh::human_secs(e.ttl_secs)) }
                        td { (e.size) }
                        td { (e.changes_since) }
                        td {
                            form.inline method="post" action="/refresh/" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                input type="hidden" name="key" value=(e.key);
                                input type="hidden" name="next" value="/admin/cache/";
                                button type="submit" { (t(l, "action.refresh")) }
                            }
                            form.inline method="post" action="/admin/cache/clear" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                input type="hidden" name="prefix" value=(e.key);
                                button type="submit" { (t(l, "action.clear")) }
                            }
                        }
                    }
                }
            }
            form.inline method="post" action="/admin/cache/clear" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="prefix" value="";
                button type="submit" { (t(l, "admin.clear_all")) }
            }
            h2 { (t(l, "admin.hit_rates")) }
            table #metrics {
                tr { th { "kind" } th { "hits" } th { "misses" } th { "stale" } th { "computations" } th { "compute s" } th { "max ms" } th { "hit rate" } }
                @for (k, m) in &v.metrics {
                    tr { td { (k.name()) } td { (m.hits) } td { (m.misses) } td { (m.stale) } td { (m.computations) }
                         td { (format!("{:.3}", m.compute_micros_sum as f64 / 1e6)) } td { (format!("{:.1}", m.compute_micros_max as f64 / 1e3)) }
                         td { (m.hit_rate().map_or("–".to_string(), |r| format!("{:.0}%", r * 100.0))) } }
                }
            }
            h2 { (t(l, "admin.jobs")) }
            ul #job-status {
                @for (line, warn) in &v.job_status {
                    li { (line) @if let Some(w) = warn { " " span.error { "⚠ " (w) } } }
                }
            }
            table #jobs {
                @for j in &v.jobs {
                    tr { td { (j.job) } td { (j.outcome) } td { (local_time(j.started_at, frame.tz)) } td { (format!("{:.1} s", j.duration_ms / 1000.0)) } td { (j.summary) } }
                }
            }
            h2 { (t(l, "admin.tables")) }
            table #tables { @for (name, n) in &v.tables { tr { td { (name) } td { (n) } } } }
            h2 { (t(l, "admin.files")) }
            table #files { @for (name, n) in &v.files { tr { td { (name) } td { (format!("{:.1} MiB", *n as f64 / 1048576.0)) } } } }
        },
    )
}
