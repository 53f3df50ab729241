//! The data in a real PostgreSQL (started by the tests in a temporary
//! directory): `voxdash migrate --to` copies a data directory into an empty
//! database and refuses one that is not; every statistic computed from the
//! copy agrees exactly with SQLite's (one implementation of the arithmetic,
//! two ways of reading rows); PostgreSQL's triggers count writes as
//! SQLite's do.
//!
//! Run by `make test-cluster` (ignored by `make test`, which must work on a
//! machine without PostgreSQL); a server that cannot start fails them.

mod common;

use common::postgres::Postgres;
use voxdash::stats::{compute, StatKey};
use voxdash::store::postgres::PgStore;
use voxdash::store::{copy_from_sqlite, Target};
use voxdash::store::{Store, StoreError};

/// Rows of `table` in the SQLite store.
fn rows(store: &Store, table: &str) -> u64 {
    store
        .conn()
        .unwrap()
        .query_value::<i64>(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap() as u64
}

/// Every key of the sample: shared, every learner's four, every group of
/// one value, every speaker.
fn every_key(store: &Store) -> Vec<StatKey> {
    let conn = store.conn().unwrap();
    let ids = |sql: &str| -> Vec<i64> {
        conn.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    };
    let mut keys = StatKey::SHARED.to_vec();
    for user in ids("SELECT DISTINCT user_id FROM study_sessions UNION SELECT id FROM users") {
        for key in [
            "daily/2026-11-23",
            "daily/2026-11-20",
            "weekly/2026-11-16",
            "analytics",
            "courses",
        ] {
            keys.push(StatKey::parse(&format!("user/{user}/{key}")).unwrap());
        }
    }
    // One entry per category, diagnosis and gender, as the warm-up makes.
    keys.extend(voxdash::jobs::warmup::group_keys(&conn).unwrap());
    for speaker in ids("SELECT id FROM speakers") {
        keys.push(StatKey::Speaker {
            speaker,
            range: Default::default(),
        });
    }
    keys
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn every_statistic_computed_from_postgresql_agrees_exactly_with_sqlite() {
    let pg = Postgres::start();
    let (_dir, store, config) = common::sample_store();
    let url = pg.database("lab");
    let report = copy_from_sqlite(&store, &url, Target::Empty, |_, _| {}).unwrap();
    for table in [
        "speakers",
        "recordings",
        "uploads",
        "study_sessions",
        "users",
    ] {
        let copied = report.tables.iter().find(|(t, _)| t == table).unwrap().1;
        assert_eq!(copied, rows(&store, table), "{table}");
        assert!(copied > 0, "{table} is empty in the sample");
    }
    let target = Store::attach_postgres(&url).unwrap();
    let keys = every_key(&store);
    assert!(keys.len() > 50, "{} keys", keys.len());
    for key in keys {
        let here = store.snapshot(|v| compute(v, &config, &key));
        let there = target.snapshot(|v| compute(v, &config, &key));
        match (here, there) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.statistic, b.statistic, "{key}");
                assert_eq!(a.revision, b.revision, "{key}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{key}"),
            (a, b) => panic!("{key}: {a:?} against {b:?}"),
        }
    }
    // The learner list, read from the aggregates, and the job history
    // with who ran each job, are the same on both engines.
    let learners = |s: &Store| voxdash::store::learners::learners(&s.conn().unwrap()).unwrap();
    let listed = learners(&store);
    assert!(listed
        .iter()
        .any(|l| l.sessions > 0 && l.last_active_at.is_some()));
    assert_eq!(listed, learners(&target));
    use voxdash::store::jobs::{recent, record, JobRun, RunBy};
    for by in [
        RunBy::Scheduler,
        RunBy::Staff("boss".into()),
        RunBy::Command("ops".into()),
    ] {
        let run = JobRun {
            job: "purge".into(),
            started_at: 1,
            duration_ms: 2.5,
            outcome: "ok".into(),
            summary: "0 purged".into(),
            ran_by: Some(by),
        };
        record(&target.conn().unwrap(), &run).unwrap();
        assert_eq!(
            recent(&target.conn().unwrap(), Some("purge"), 1).unwrap(),
            [run]
        );
    }
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn a_copy_into_a_database_that_is_not_empty_is_refused_and_writes_nothing() {
    let pg = Postgres::start();
    let (_dir, store, _) = common::sample_store();
    let url = pg.database("theirs");
    let target = PgStore::connect(&url).unwrap();
    target.execute("CREATE TABLE invoices (id int)").unwrap();
    let err = copy_from_sqlite(&store, &url, Target::Empty, |_, _| {}).unwrap_err();
    assert!(matches!(err, StoreError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("is not empty (1 tables)"), "{err}");
    assert_eq!(target.table_count().unwrap(), 1);
    assert_eq!(target.version().unwrap(), 0);
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn writes_in_postgresql_are_counted_by_its_triggers_as_in_sqlite() {
    let pg = Postgres::start();
    let (_dir, store, _) = common::sample_store();
    let url = pg.database("lab");
    copy_from_sqlite(&store, &url, Target::Empty, |_, _| {}).unwrap();
    let target = Store::attach_postgres(&url).unwrap();
    let elderly = [Some("elderly"), None, None];
    let patient = [Some("patient"), None, None];
    let moved = [Some("moved"), None, None];
    let counters = || {
        target
            .snapshot(|v| {
                Ok::<_, StoreError>([
                    v.tables_revision(&["speakers", "recordings"])?,
                    v.speaker_revision(1)?,
                    v.group_revision(elderly)?,
                    v.group_revision(patient)?,
                    v.group_revision(moved)?,
                    v.user_revision(2)?.0,
                    v.tables_revision(&["study_sessions"])?,
                ])
            })
            .unwrap()
    };
    let before = counters();
    // Speaker 1 is elderly: a recording of theirs counts for them and their
    // group, not for patients.
    target
        .conn()
        .unwrap()
        .batch(
            "INSERT INTO recordings (speaker_id, file_name, recorded_at, duration_s)
             VALUES (1, 'new.wav', 0, 1.5)",
        )
        .unwrap();
    let after = counters();
    assert_eq!(after[0], before[0] + 1);
    assert_eq!(after[1], before[1] + 1);
    assert_eq!(after[2], before[2] + 1);
    assert_eq!(after[3], before[3]);
    // Moving speaker 1 to another group counts for both groups.
    target
        .conn()
        .unwrap()
        .batch("UPDATE speakers SET category = 'moved' WHERE id = 1")
        .unwrap();
    let moved_now = counters();
    assert_eq!(moved_now[2], after[2] + 1);
    assert_eq!(moved_now[4], after[4] + 1);
    // A study session counts for its learner and its table.
    target
        .conn()
        .unwrap()
        .batch(
            "INSERT INTO study_sessions (user_id, start_time, duration_minutes, is_active)
             VALUES (2, 0, 30, 0)",
        )
        .unwrap();
    let session = counters();
    assert_eq!(session[5], moved_now[5] + 1);
    assert_eq!(session[6], moved_now[6] + 1);
    // New rows get ids past the copied ones.
    let largest = rows(&store, "study_sessions") as i64;
    let newest: i64 = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap()
        .query_one("SELECT MAX(id) FROM study_sessions", &[])
        .unwrap()
        .get(0);
    assert!(newest > largest, "{newest} after {largest} rows");
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn the_cli_copies_a_data_directory_once() {
    let pg = Postgres::start();
    let dir = common::imported_dir();
    let url = pg.database("lab");
    let bin = env!("CARGO_BIN_EXE_voxdash");
    let out = common::run_cli(bin, dir.path(), &["migrate", "--to", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let store = Store::open(&dir.path().join("voxdash.db")).unwrap();
    assert!(
        stdout.contains(&format!("recordings: {} rows", rows(&store, "recordings"))),
        "{stdout}"
    );
    assert!(
        stderr.contains("every table's row count checked"),
        "{stderr}"
    );
    let again = common::run_cli(bin, dir.path(), &["migrate", "--to", &url]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(!stderr.contains("password"), "{stderr}");
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn the_sample_imported_into_postgresql_has_every_expected_statistic() {
    let pg = Postgres::start();
    let url = pg.database("lab");
    let store = Store::open_postgres(&url).unwrap();
    let sample = common::sample_dir();
    let report = voxdash::import::import_dir(&store, &sample, &Default::default()).unwrap();
    assert!(report.files.iter().any(|f| f.rows_loaded > 0));
    let dir = common::temp_dir();
    let clock = voxdash::clock::Clock::from_env_value(Some(common::SAMPLE_NOW)).unwrap();
    let config =
        voxdash::config::Config::with(dir.path(), common::SAMPLE_TZ.parse().unwrap(), clock);
    common::assert_sample_statistics(&store, &config);
    // The same files again: every row is there already, identical, so
    // nothing counts as written and no entry goes stale.
    let written = |store: &Store| -> i64 {
        store
            .conn()
            .unwrap()
            .query_value(
                "SELECT CAST(SUM(inserts + updates + deletes) AS BIGINT) FROM write_counters
                 WHERE table_name <> 'ip_regions'",
                &[],
            )
            .unwrap()
    };
    let before = written(&store);
    let again = voxdash::import::import_dir(&store, &sample, &Default::default()).unwrap();
    assert_eq!(again.rejected, report.rejected);
    assert_eq!(written(&store), before);
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn file_backups_and_restores_are_refused_for_postgresql_and_check_reads_it() {
    let pg = Postgres::start();
    let url = pg.database("lab");
    let dir = common::temp_dir();
    let bin = env!("CARGO_BIN_EXE_voxdash");
    let env = [("VOXDASH_DATABASE_URL", url.as_str())];
    let sample = common::sample_dir();
    let out =
        common::run_cli_with_env(bin, dir.path(), &["import", sample.to_str().unwrap()], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("voxdash.db").exists(),
        "the data went to PostgreSQL"
    );

    let copy = dir.path().join("copy.db");
    let out = common::run_cli_with_env(bin, dir.path(), &["backup", copy.to_str().unwrap()], &env);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("back it up with pg_dump"), "{stderr}");
    assert!(!copy.exists());

    let other = common::imported_dir();
    let file = other.path().join("voxdash.db");
    let out = common::run_cli_with_env(bin, dir.path(), &["restore", file.to_str().unwrap()], &env);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_restore"), "{stderr}");

    let out = common::run_cli_with_env(bin, dir.path(), &["check"], &env);
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("answers"), "{said}");
    assert!(!said.contains("voxdash.db does not exist"), "{said}");
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn a_copy_told_to_replace_empties_voxdashs_tables_and_nothing_else() {
    let pg = Postgres::start();
    let dir = common::imported_dir();
    let url = pg.database("lab");
    let bin = env!("CARGO_BIN_EXE_voxdash");
    let first = common::run_cli(bin, dir.path(), &["migrate", "--to", &url]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The lab goes on in SQLite; the copy is made again over the first.
    let store = Store::open(&dir.path().join("voxdash.db")).unwrap();
    store
        .conn()
        .unwrap()
        .batch("DELETE FROM study_sessions WHERE id IN (SELECT id FROM study_sessions ORDER BY id LIMIT 3)")
        .unwrap();
    let again = common::run_cli(bin, dir.path(), &["migrate", "--to", &url, "--replace"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let target = Store::open_postgres(&url).unwrap();
    for table in [
        "study_sessions",
        "speakers",
        "recordings",
        "users",
        "write_counters",
    ] {
        assert_eq!(rows(&target, table), rows(&store, table), "{table}");
    }
    // A table that is not voxdash's: refused, and voxdash's rows stay.
    PgStore::connect(&url)
        .unwrap()
        .execute("CREATE TABLE invoices (id int)")
        .unwrap();
    store
        .conn()
        .unwrap()
        .batch("DELETE FROM study_sessions")
        .unwrap();
    let refused = common::run_cli(bin, dir.path(), &["migrate", "--to", &url, "--replace"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("tables that are not voxdash's: invoices"),
        "{stderr}"
    );
    assert!(rows(&target, "study_sessions") > 0);
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn a_job_lease_in_postgresql_is_taken_once_however_many_nodes_race_for_it() {
    use voxdash::store::jobs::{lease_holder, take_lease};
    let pg = Postgres::start();
    let url = pg.database("lab");
    // Two nodes, four schedulers each, all due at once.
    let nodes = [
        Store::open_postgres(&url).unwrap(),
        Store::open_postgres(&url).unwrap(),
    ];
    let (now, until) = (1_000_000, 61_000_000);
    let taken: Vec<String> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let store = &nodes[i % 2];
                s.spawn(move || {
                    let holder = format!("node-{}-{i}", i % 2);
                    take_lease(&store.conn().unwrap(), "refresh", &holder, now, until)
                        .unwrap()
                        .then_some(holder)
                })
            })
            .collect();
        racers
            .into_iter()
            .filter_map(|r| r.join().unwrap())
            .collect()
    });
    assert_eq!(taken.len(), 1, "{taken:?}");
    let holder = lease_holder(&nodes[1].conn().unwrap(), "refresh").unwrap();
    assert_eq!(holder.as_ref(), taken.first());
    // Once it has expired, another node takes it.
    assert!(take_lease(
        &nodes[1].conn().unwrap(),
        "refresh",
        "later",
        until,
        until + 1
    )
    .unwrap());
}
