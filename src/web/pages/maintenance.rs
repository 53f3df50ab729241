//! `/admin/maintenance/`: what a cleanup would do now, the button that runs
//! it, and the latest runs.

use maud::{html, Markup};

use super::admin::job_table;
use super::{csv_reply, csv_requested, frame, layout, sort_all, tables_of, Frame};
use crate::i18n::{fill, t, word, Lang};
use crate::jobs::cleanup::CleanupOptions;
use crate::jobs::{self, JobError, JobRequest};
use crate::store;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::error::WebError;
use crate::web::flash::Flash;
use crate::web::local_path::LocalPath;
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /admin/maintenance/[?sort=&format=&table=]`.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let tables = tables_of(ctx)?;
    let (mut all, running) = maintenance_tables(app, ctx.lang)?;
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all, id);
    }
    sort_all(&tables, &mut all)?;
    let frame = frame(app, ctx, "maint.title");
    Ok(Reply::Html(maintenance(&frame, &tables, &all, running)))
}

/// What a cleanup would act on now and the latest runs; and whether one is
/// running.
fn maintenance_tables(app: &App, l: Lang) -> Result<(Vec<Table>, bool), WebError> {
    let config = &app.config;
    let dry_run = CleanupOptions {
        dry_run: true,
        ..Default::default()
    };
    let plan = jobs::cleanup::plan(&app.store, config, &dry_run)?;
    let runs = store::jobs::recent(
        &app.store.conn()?,
        Some(jobs::JobName::Cleanup.as_str()),
        20,
    )?;
    let mut preview = Table::new(
        "preview",
        &[("rule", t(l, "maint.rule")), ("rows", t(l, "maint.rows"))],
    );
    // The ages as configured, said with their rules.
    let days = |rule: &str| match rule {
        "to_archive" => Some(config.retention.archive_after_days),
        "to_delete" => Some(config.retention.delete_after_days),
        _ => None,
    };
    for (rule, n) in &plan.counts {
        let shown = match days(rule) {
            None => word(l, "rule", rule),
            Some(0) => fill(l, "rule.off", &[("rule", rule)]),
            Some(d) => fill(l, &format!("rule.{rule}"), &[("n", &d.to_string())]),
        };
        preview.row(vec![Cell::text(rule).shown_as(shown), Cell::int(*n as i64)]);
    }
    let running = jobs::lease::is_running(&app.store, jobs::JobName::Cleanup);
    Ok((vec![preview, job_table(l, config.local.tz, &runs)], running))
}

/// `GET /admin/maintenance/run`: what a cleanup will do, and the buttons to
/// go on or go back.
pub(crate) fn confirm(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    Ok(Reply::Html(confirm_page(app, ctx)?))
}

fn confirm_page(app: &App, ctx: &Ctx) -> Result<Markup, WebError> {
    let l = ctx.lang;
    let (all, _) = maintenance_tables(app, l)?;
    let tables = tables_of(ctx)?;
    let frame = frame(app, ctx, "maint.title");
    let content = html! {
        section.confirm {
            h1 { (t(l, "maint.confirm")) }
            p { (t(l, "maint.confirm_what")) }
            (tables.html(&all[0], None))
            form method="post" action="/admin/maintenance/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { (t(l, "maint.confirm_run")) }
                " " a.button href="/admin/maintenance/" { (t(l, "confirm.cancel")) }
            }
        }
    };
    Ok(layout(&frame, content))
}

/// `POST /admin/maintenance/`: starts a cleanup once confirmed
/// (`confirm=yes`); without it, shows the confirmation page.
pub(crate) fn run(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return Ok(Reply::Html(confirm_page(app, ctx)?));
    }
    // The lease is taken here, so the page this redirects to already shows
    // the run; the run itself goes on in the background. A cleanup already
    // running is not started again.
    let flash = match jobs::begin(
        app,
        JobRequest::Cleanup(CleanupOptions::default()),
        ctx.run_by(),
    ) {
        Ok(started) => {
            std::thread::Builder::new()
                .name("cleanup (button)".into())
                .spawn(move || {
                    let _ = started.run(&mut |_| {});
                })?;
            Flash::CleanupStarted
        }
        Err(JobError::AlreadyRunning(_)) => {
            log::info!("cleanup: already running, not started again");
            Flash::CleanupAlreadyRunning
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Reply::Redirect(
        LocalPath::of("/admin/maintenance/"),
        vec![flash.cookie(app.secure_cookies)],
    ))
}

/// `/admin/maintenance/`.
fn maintenance(frame: &Frame, tables: &Tables, all: &[Table], running: bool) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "maint.title")) }
            @if running {
                p #job-running .notice { (t(l, "maint.running")) " " a href="/admin/maintenance/" { (t(l, "maint.reload")) } }
            }
            section #cleanup-preview {
                h2 { (t(l, "maint.preview")) }
                (tables.html(&all[0], None))
                p { a.button.danger href="/admin/maintenance/run" { (t(l, "maint.run")) } }
            }
            section #cleanup-runs {
                h2 { (t(l, "admin.jobs")) }
                (tables.html(&all[1], None))
            }
        },
    )
}
