//! Cleanup on the sample: dry-run counts equal the rules counted here from
//! the CSV files and the real run's; rows are conserved between the main
//! and archive tables; the backup holds the pre-run rows; a run killed
//! part-way and rerun ends where an uninterrupted run ends.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use chrono::DateTime;
use voxdash::store::{Store, Value};

const DAY: i64 = 86_400;

fn ts(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap().timestamp()
}

fn rows(file: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(common::sample_dir().join(file)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The counts of each rule, computed from the CSV files.
fn expected_counts() -> HashMap<&'static str, u64> {
    let now = ts(common::SAMPLE_NOW);
    let users: HashSet<String> = rows("users.csv")
        .into_iter()
        .map(|r| r["id"].clone())
        .collect();
    let courses: HashSet<String> = rows("courses.csv")
        .into_iter()
        .map(|r| r["id"].clone())
        .collect();
    let mut c: HashMap<&'static str, u64> = HashMap::new();
    for s in rows("study_sessions.csv") {
        let start = ts(&s["start_time"]);
        let mut invalid = false;
        let mut hit = |rule: &'static str, cond: bool| {
            if cond {
                *c.entry(rule).or_insert(0) += 1;
                invalid = true;
            }
        };
        hit(
            "negative_duration",
            s["duration_minutes"].parse::<i64>().unwrap() < 0,
        );
        hit(
            "end_before_start",
            !s["end_time"].is_empty() && ts(&s["end_time"]) < start,
        );
        hit(
            "rating_out_of_range",
            !s["effectiveness_rating"].is_empty()
                && !(1..=5).contains(&s["effectiveness_rating"].parse::<i64>().unwrap()),
        );
        hit(
            "focus_out_of_range",
            !s["focus_score"].is_empty()
                && !(0.0..=100.0).contains(&s["focus_score"].parse::<f64>().unwrap()),
        );
        hit("unknown_user", !users.contains(&s["user_id"]));
        hit(
            "unknown_course",
            !s["course_id"].is_empty() && !courses.contains(&s["course_id"]),
        );
        if !invalid {
            if start < now - 180 * DAY {
                *c.entry("to_archive").or_insert(0) += 1;
            }
            if start < now - 730 * DAY {
                *c.entry("to_delete").or_insert(0) += 1;
            }
        }
        *c.entry("invalid_rows").or_insert(0) += invalid as u64;
    }
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    for p in rows("course_progress.csv") {
        *pairs
            .entry((p["user_id"].clone(), p["course_id"].clone()))
            .or_insert(0) += 1;
    }
    c.insert("duplicate_progress", pairs.values().map(|n| n - 1).sum());
    c
}

/// The sample imported by the CLI into a data directory, or into a
/// PostgreSQL database of its own when the suite runs on one.
struct Lab {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Lab {
    fn env(&self) -> Vec<(&str, &str)> {
        self.database_url
            .iter()
            .map(|u| ("VOXDASH_DATABASE_URL", u.as_str()))
            .collect()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn store(&self) -> Store {
        Store::open_configured(
            self.database_url.as_deref(),
            &self.dir.path().join("voxdash.db"),
        )
        .unwrap()
    }
}

fn voxdash(lab: &Lab, args: &[&str]) -> std::process::Output {
    common::run_cli_with_env(env!("CARGO_BIN_EXE_voxdash"), lab.path(), args, &lab.env())
}

fn imported() -> Lab {
    let lab = Lab {
        dir: common::temp_dir(),
        database_url: common::server::on_postgres().then(common::postgres::fresh_database),
    };
    let out = voxdash(&lab, &["import", common::sample_dir().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab
}

fn report(out: &std::process::Output) -> HashMap<String, u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            Some((p.next()?.to_string(), p.next()?.parse().ok()?))
        })
        .collect()
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().unwrap().query_value(sql, &[]).unwrap()
}

fn dump(store: &Store) -> Vec<String> {
    let conn = store.conn().unwrap();
    let mut out = Vec::new();
    for t in [
        "study_sessions",
        "study_sessions_archive",
        "course_progress",
    ] {
        let rows = conn
            .query(&format!("SELECT * FROM {t} ORDER BY id"), &[])
            .unwrap();
        out.extend(rows.iter().map(|r| {
            let values: Vec<String> = r.values().iter().map(|v| format!("{v:?}")).collect();
            format!("{t}:{}", values.join("|"))
        }));
    }
    out
}

#[test]
fn dry_run_counts_match_the_rules_and_the_real_run_and_rows_are_conserved() {
    let lab = imported();
    let db = lab.store();
    let want = expected_counts();
    let before = dump(&db);
    let dry = voxdash(&lab, &["cleanup", "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let got = report(&dry);
    for rule in [
        "negative_duration",
        "end_before_start",
        "rating_out_of_range",
        "focus_out_of_range",
        "unknown_user",
        "unknown_course",
        "duplicate_progress",
        "to_archive",
        "to_delete",
    ] {
        assert_eq!(
            got.get(rule).copied().unwrap_or(0),
            want.get(rule).copied().unwrap_or(0),
            "{rule}"
        );
    }
    assert!(want["to_archive"] > 0 && want["duplicate_progress"] > 0);
    assert_eq!(dump(&db), before, "a dry run changes nothing");

    let sessions_before = count(&db, "SELECT COUNT(*) FROM study_sessions");
    let real = voxdash(&lab, &["cleanup"]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let done = report(&real);
    for (rule, n) in &got {
        assert_eq!(done.get(rule), Some(n), "{rule}");
    }
    let main = count(&db, "SELECT COUNT(*) FROM study_sessions");
    let archive = count(&db, "SELECT COUNT(*) FROM study_sessions_archive");
    assert_eq!(
        archive as u64,
        want["to_archive"] - want.get("to_delete").copied().unwrap_or(0)
    );
    assert_eq!(
        (main + archive) as u64,
        sessions_before as u64 - want["invalid_rows"] - want.get("to_delete").copied().unwrap_or(0)
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM course_progress") as u64,
        17 - want["duplicate_progress"]
    );
    // The kept progress row of user 3, course 1 is the later one (id 10).
    assert_eq!(
        count(
            &db,
            "SELECT id FROM course_progress WHERE user_id = 3 AND course_id = 1"
        ),
        10
    );

    if lab.database_url.is_some() {
        // PostgreSQL is backed up with its own tools; the run says so.
        let said = String::from_utf8_lossy(&real.stdout);
        assert!(
            said.contains(
                "backup: none written (the data is in PostgreSQL: back it up with pg_dump)"
            ),
            "{said}"
        );
        assert!(!lab.path().join("backups").exists());
    } else {
        // The backup opens and holds the pre-run rows.
        let backups: Vec<_> = std::fs::read_dir(lab.path().join("backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(backups.len(), 1);
        assert_eq!(
            count(
                &Store::open_existing(&backups[0]).unwrap(),
                "SELECT COUNT(*) FROM study_sessions"
            ),
            sessions_before
        );
    }
    // A second run finds nothing more to do.
    let again = report(&voxdash(&lab, &["cleanup", "--no-backup"]));
    assert_eq!(again.get("to_archive"), Some(&0));
    assert_eq!(again.get("negative_duration"), Some(&0));
}

#[test]
fn a_run_killed_part_way_then_rerun_ends_like_an_uninterrupted_run() {
    let reference = imported();
    assert!(
        voxdash(&reference, &["cleanup", "--no-backup", "--batch-size", "1"])
            .status
            .success()
    );
    let expected = dump(&reference.store());

    for delay_ms in [5u64, 20, 60] {
        let lab = imported();
        let db = lab.store();
        let total = count(&db, "SELECT COUNT(*) FROM study_sessions");
        let mut child = Command::new(env!("CARGO_BIN_EXE_voxdash"))
            .arg("--data-dir")
            .arg(lab.path())
            .args(["cleanup", "--no-backup", "--batch-size", "1"])
            .envs(lab.env())
            .env("VOXDASH_NOW", common::SAMPLE_NOW)
            .env("VOXDASH_LOG", "off")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        // Nothing lost part-way: every session is in main or archive, or was invalid / old enough to delete.
        let main = count(&db, "SELECT COUNT(*) FROM study_sessions");
        let archive = count(&db, "SELECT COUNT(*) FROM study_sessions_archive");
        let want = expected_counts();
        let may_go = (want["invalid_rows"] + want.get("to_delete").copied().unwrap_or(0)) as i64;
        assert!(
            main + archive <= total && main + archive >= total - may_go,
            "{main} + {archive} of {total}"
        );
        assert!(
            voxdash(&lab, &["cleanup", "--no-backup", "--batch-size", "1"])
                .status
                .success()
        );
        assert_eq!(
            dump(&db),
            expected,
            "after a kill at {delay_ms} ms and a rerun"
        );
    }
}

#[test]
fn schedule_prints_crontab_lines_with_absolute_paths() {
    let lab = imported();
    let out = voxdash(&lab, &["schedule"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CRON_TZ=Asia/Seoul"), "{text}");
    let refresh = text.lines().find(|l| l.contains(" refresh ")).unwrap();
    assert!(refresh.starts_with("0 3 * * * /"), "{refresh}");
    assert!(refresh.contains("--data-dir /"), "{refresh}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("*/5 * * * * /") && l.contains("precompute --active-users-only")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("0 2 * * * /") && l.contains(" cleanup ")));
}

#[test]
fn the_maintenance_page_shows_the_dry_run_and_runs_cleanup_with_its_record() {
    let r = common::server::start(false);
    let staff = common::server::sign_in(&r, "boss", "staff-password");
    let db = r.store();
    let page = common::server::get(&r, "/admin/maintenance/", &[("Cookie", &staff.0)]);
    assert_eq!(page.status, 200);
    let want = expected_counts();
    assert!(
        page.body.contains(&format!(
            "data-row=\"to_archive\"><td>sessions to archive (older than 180 days; archived sessions leave the statistics)</td><td class=\"num\">{}</td>",
            want["to_archive"]
        )),
        "{}",
        page.body
    );
    let admin = common::server::get(&r, "/admin/cache/", &[("Cookie", &staff.0)]);
    assert!(admin.body.contains("last cleanup: never"), "{}", admin.body);
    // An empty history says so, not "Nothing here." under the job list.
    assert!(admin.body.contains("No job has run yet."), "{}", admin.body);
    assert!(!admin.body.contains("Nothing here."), "{}", admin.body);
    let no_csrf = common::server::call(
        &r,
        "POST",
        "/admin/maintenance/",
        &[("Cookie", &staff.0)],
        "",
    );
    assert_eq!(no_csrf.status, 403);
    let before = count(&db, "SELECT COUNT(*) FROM study_sessions_archive");
    assert_eq!(before, 0);
    // The button leads to a confirmation page; a post without the
    // confirmation shows that page again and changes nothing.
    let confirm = common::server::get(&r, "/admin/maintenance/run", &[("Cookie", &staff.0)]);
    assert!(
        confirm.body.contains("Run a cleanup now?"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("name=\"confirm\" value=\"yes\""));
    let unconfirmed = common::server::call(
        &r,
        "POST",
        "/admin/maintenance/",
        &[("Cookie", &staff.0)],
        &format!("csrf_token={}", staff.1),
    );
    assert_eq!(unconfirmed.status, 200);
    assert!(unconfirmed.body.contains("Run a cleanup now?"));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM study_sessions_archive"), 0);
    let run = common::server::call(
        &r,
        "POST",
        "/admin/maintenance/",
        &[("Cookie", &staff.0)],
        &format!("csrf_token={}&confirm=yes", staff.1),
    );
    assert_eq!(run.status, 303);
    // The next page says what happened, once.
    let flash = run.cookie("voxdash_flash").expect("a one-time message");
    let said = common::server::get(
        &r,
        "/admin/maintenance/",
        &[("Cookie", &format!("{}; {flash}", staff.0))],
    );
    assert!(said.body.contains("Cleanup started."), "{}", said.body);
    // The button starts the job in the background; the page says so until
    // the run ends and its report is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let page = common::server::get(&r, "/admin/maintenance/", &[("Cookie", &staff.0)]);
        if !page.body.contains("id=\"job-running\"") {
            break;
        }
        assert!(page.body.contains("A cleanup is running"));
        assert!(std::time::Instant::now() < deadline, "cleanup never ended");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM study_sessions_archive") as u64,
        want["to_archive"] - want.get("to_delete").copied().unwrap_or(0)
    );
    let admin = common::server::get(&r, "/admin/cache/", &[("Cookie", &staff.0)]);
    assert!(
        admin
            .body
            .contains("last cleanup: ok at 2026-11-23 12:00:00 KST"),
        "{}",
        admin.body
    );
    let page = common::server::get(&r, "/admin/maintenance/", &[("Cookie", &staff.0)]);
    assert!(page
        .body
        .contains("data-row=\"to_archive\"><td>sessions to archive (older than 180 days; archived sessions leave the statistics)</td><td class=\"num\">0</td>"));
    // The history names who started the run.
    assert!(page.body.contains("<td>boss (web)</td>"), "{}", page.body);
    // Monitoring sees the run too: its start, at the pinned clock.
    let metrics = common::server::get(&r, "/metrics", &[]).body;
    assert!(
        metrics.contains("voxdash_job_last_success_timestamp_seconds{job=\"cleanup\"} 1795402800"),
        "{metrics}"
    );
}

#[test]
fn the_scheduler_runs_due_jobs_once_each_and_records_them() {
    let r = common::server::start(false);
    let app = r.server.as_ref().unwrap().app.core.clone();
    let db = r.store();
    // An earlier refresh two days ago: overdue, so it runs once at start.
    {
        let conn = db.conn().unwrap();
        let two_days_ago = ts(common::SAMPLE_NOW) * 1_000_000 - 2 * DAY * 1_000_000;
        conn.execute(
            "INSERT INTO job_runs (job, started_at, duration_ms, outcome, summary) VALUES ('refresh', ?1, 5, 'ok', 'x')",
            &[Value::Integer(two_days_ago)],
        )
        .unwrap();
    }
    let scheduler =
        voxdash::jobs::scheduler::Scheduler::start(app, std::time::Duration::from_millis(100));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(scheduler);
    let runs = |job: &str| {
        count(
            &db,
            &format!("SELECT COUNT(*) FROM job_runs WHERE job = '{job}' AND summary <> 'x'"),
        )
    };
    // With the clock pinned, each due job runs exactly once however many ticks pass.
    assert_eq!(runs("refresh"), 1);
    assert_eq!(runs("precompute"), 1);
    assert_eq!(runs("purge"), 1);
    // Cleanup never ran and its 02:00 slot was before the start: it waits.
    assert_eq!(runs("cleanup"), 0);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM job_runs WHERE outcome <> 'ok'"),
        0
    );
    // Each is recorded as the scheduler's; the earlier run, from before
    // voxdash kept it, as nobody's.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM job_runs WHERE ran_by = 'scheduler' AND summary <> 'x'"
        ),
        3
    );
    let staff = common::server::sign_in(&r, "boss", "staff-password");
    let page = common::server::get(&r, "/admin/cache/", &[("Cookie", &staff.0)]);
    assert!(
        page.body.contains("<td>the scheduler</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>–</td></tr>"), "{}", page.body);
}

#[test]
fn retention_ages_come_from_the_configuration_and_zero_turns_a_step_off() {
    let lab = imported();
    let archived = |db: &Store| count(db, "SELECT COUNT(*) FROM study_sessions_archive");
    let dry = |args: &[&str]| {
        let mut all = vec!["cleanup", "--dry-run"];
        all.extend(args);
        let out = voxdash(&lab, &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        report(&out)
    };
    let by_default = dry(&[])["to_archive"];
    assert!(by_default > 0);
    // A longer age in voxdash.toml archives fewer; the flag still wins.
    std::fs::write(
        lab.path().join("voxdash.toml"),
        "[retention]\narchive_after_days = 400\n",
    )
    .unwrap();
    let older = dry(&[])["to_archive"];
    assert!(0 < older && older < by_default, "{older} of {by_default}");
    assert_eq!(
        dry(&["--archive-older-than", "180"])["to_archive"],
        by_default
    );
    assert_eq!(dry(&["--archive-older-than", "0"])["to_archive"], 0);

    // Both steps off: a real run removes invalid rows and archives nothing.
    std::fs::write(
        lab.path().join("voxdash.toml"),
        "[retention]\narchive_after_days = 0\ndelete_after_days = 0\n",
    )
    .unwrap();
    let off = dry(&[]);
    assert_eq!((off["to_archive"], off["to_delete"]), (0, 0));
    let out = voxdash(&lab, &["cleanup"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(archived(&lab.store()), 0);

    // The nightly run (the scheduler's request) follows the same setting.
    let r = common::server::start_with(false, |config| {
        config.retention = voxdash::config::RetentionPolicy {
            archive_after_days: 0,
            delete_after_days: 0,
        };
    });
    let app = r.server.as_ref().unwrap().app.core.clone();
    let request = voxdash::jobs::JobRequest::scheduled(voxdash::jobs::JobName::Cleanup);
    voxdash::jobs::run(&app, request, voxdash::jobs::RunBy::Scheduler, &mut |_| {}).unwrap();
    let db = r.store();
    assert_eq!(archived(&db), 0);
    assert!(count(&db, "SELECT COUNT(*) FROM job_runs WHERE job = 'cleanup'") == 1);

    // And a bad value is named with its file.
    std::fs::write(
        lab.path().join("voxdash.toml"),
        "[retention]\narchive_after_days = -1\n",
    )
    .unwrap();
    let bad = voxdash(&lab, &["cleanup", "--dry-run"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("voxdash.toml") && err.contains("archive_after_days"),
        "{err}"
    );
}
