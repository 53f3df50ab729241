//! `/admin/maintenance/`: what a cleanup would do now, the button that runs
//! it, and the latest runs.

use maud::{html, Markup};

use super::{frame, layout, local_time, Frame};
use crate::i18n::t;
use crate::jobs::cleanup::CleanupOptions;
use crate::jobs::{self, JobError, JobRequest};
use crate::store;
use crate::store::jobs::JobRun;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;

pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let config = app.cache.config();
    let dry_run = CleanupOptions {
        dry_run: true,
        ..Default::default()
    };
    let plan = jobs::cleanup::plan(app.cache.store(), config, &dry_run)?;
    let runs = store::jobs::recent(&*app.cache.store().conn()?, Some("cleanup"), 20)?;
    let view = MaintenanceView {
        counts: plan.counts,
        runs,
        running: jobs::lease::is_running(app.cache.store(), "cleanup"),
    };
    Ok(Reply::Html(maintenance(
        &frame(app, ctx, "maint.title"),
        &view,
    )))
}

pub(crate) fn run(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    ctx.check_csrf(&ctx.form()?)?;
    // The lease is taken here, so the page this redirects to already shows
    // the run; the run itself goes on in the background. A cleanup already
    // running is not started again.
    match jobs::begin(&app.cache, JobRequest::Cleanup(CleanupOptions::default())) {
        Ok(started) => {
            std::thread::Builder::new()
                .name("cleanup (button)".into())
                .spawn(move || {
                    let _ = started.run(&mut |_| {});
                })?;
        }
        Err(JobError::AlreadyRunning(_)) => {
            log::info!("cleanup: already running, not started again")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Reply::Redirect(
        LocalPath::of("/admin/maintenance/"),
        Vec::new(),
    ))
}

/// What `/admin/maintenance/` shows.
pub struct MaintenanceView {
    /// (rule, rows a cleanup would act on now).
    pub counts: Vec<(String, u64)>,
    /// Latest cleanup runs.
    pub runs: Vec<JobRun>,
    /// A cleanup is running now (here or in another process).
    pub running: bool,
}

/// `/admin/maintenance/`.
fn maintenance(frame: &Frame, v: &MaintenanceView) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "maint.title")) }
            @if v.running {
                p #job-running .notice { (t(l, "maint.running")) " " a href="/admin/maintenance/" { (t(l, "maint.reload")) } }
            }
            table #dry-run { @for (rule, n) in &v.counts { tr data-rule=(rule) { td { (rule) } td { (n) } } } }
            form.inline method="post" action="/admin/maintenance/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                button type="submit" { (t(l, "maint.run")) }
            }
            h2 { (t(l, "admin.jobs")) }
            table #runs {
                @for j in &v.runs {
                    tr { td { (local_time(j.started_at, frame.tz)) } td { (j.outcome) } td { (format!("{:.1} s", j.duration_ms / 1000.0)) } td { (j.summary) } }
                }
            }
        },
    )
}
