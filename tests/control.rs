//! The control channel: jobs handed to a running server through
//! `DATA_DIR/control.sock` stream their progress, are recorded once, and a
//! client that sends garbage or goes away changes nothing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;

use common::server::{get, start};
use voxdash::control::{self, ControlError};
use voxdash::jobs::{JobRequest, Progress, RunBy};
use voxdash::stats::StatKey;

#[test]
fn a_job_sent_to_the_server_streams_its_steps_and_is_recorded_once() {
    let r = start(true);
    let mut events = Vec::new();
    let finished = control::send(
        r.dir.path(),
        &JobRequest::Refresh {
            keys: vec![StatKey::Learning, StatKey::Dashboard],
        },
        "ops-alice",
        &mut |p| events.push(p),
    )
    .unwrap();
    assert!(finished.ok);
    let lines: Vec<&str> = events
        .iter()
        .filter_map(|p| match p {
            Progress::Line(l) => Some(l.as_str()),
            Progress::Count { .. } => None,
        })
        .collect();
    assert!(lines[0].starts_with("Starting refresh at "), "{lines:?}");
    assert!(lines[1].starts_with("[1/2] learning ... "), "{lines:?}");
    assert!(lines[2].starts_with("[2/2] dashboard ... "), "{lines:?}");
    assert!(lines[3].starts_with("Refresh done in "), "{lines:?}");
    // The steps came as progress; the closing report adds nothing to them.
    assert_eq!(finished.printed.out, "");
    let store = Arc::clone(&r.server.as_ref().unwrap().app.store);
    let runs = voxdash::store::jobs::recent(&store.conn().unwrap(), Some("refresh"), 10).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].outcome, "ok");
    // Recorded as the client's system user's run, not the server's.
    assert_eq!(runs[0].ran_by, Some(RunBy::Command("ops-alice".into())));
    // The server serves what the job computed.
    let json = get(&r, "/api/v1/stats/learning", &[]).json();
    assert_eq!(json["status"], "cached");
}

#[test]
fn a_job_already_running_is_refused_with_its_reason() {
    let r = start(true);
    let store = Arc::clone(&r.server.as_ref().unwrap().app.store);
    let held = voxdash::jobs::lease::take(&store, voxdash::jobs::JobName::Refresh)
        .unwrap()
        .expect("lease free");
    let err =
        control::send(r.dir.path(), &JobRequest::refresh_all(), "ops", &mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, ControlError::Refused(why) if why.contains("refresh is already running")),
        "{err}"
    );
    drop(held);
    assert!(
        control::send(r.dir.path(), &JobRequest::refresh_all(), "ops", &mut |_| {})
            .unwrap()
            .ok
    );
}

#[test]
fn a_job_line_without_a_user_runs_and_a_hostile_user_name_is_tamed() {
    let r = start(true);
    let store = Arc::clone(&r.server.as_ref().unwrap().app.store);
    let long = "x".repeat(500);
    for (line, recorded) in [
        // A client of an older version sends the job alone.
        ("{\"job\":\"purge\"}\n".to_string(), "unknown".to_string()),
        (
            format!("{{\"job\":\"purge\",\"by\":\"eve\\u001b[31m{long}\"}}\n"),
            format!("eve[31m{}", "x".repeat(57)),
        ),
    ] {
        let mut stream = UnixStream::connect(control::socket_path(r.dir.path())).unwrap();
        stream.write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer).unwrap();
        assert!(answer.contains("\"done\""), "{line}: {answer}");
        let runs = voxdash::store::jobs::recent(&store.conn().unwrap(), Some("purge"), 1).unwrap();
        assert_eq!(runs[0].ran_by, Some(RunBy::Command(recorded)));
    }
}

#[test]
fn garbage_on_the_socket_is_answered_with_an_error_and_changes_nothing() {
    let r = start(true);
    let before = get(&r, "/api/v1/stats/dashboard", &[]).json();
    for garbage in [
        "not json\n",
        "{\"job\":\"cache_clear\",\"kind\":null}\n",
        "{\"job\":\"stats\",\"key\":\"user/1/weekly/2025-06-24\",\"refresh\":true,\"lang\":\"En\"}\n",
    ] {
        let mut stream = UnixStream::connect(control::socket_path(r.dir.path())).unwrap();
        stream.write_all(garbage.as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer).unwrap();
        assert!(answer.contains("\"failed\""), "{garbage}: {answer}");
        assert!(answer.contains("not a request"), "{garbage}: {answer}");
    }
    // A client that connects and leaves without a word is no harm either.
    drop(UnixStream::connect(control::socket_path(r.dir.path())).unwrap());
    let after = get(&r, "/api/v1/stats/dashboard", &[]).json();
    assert_eq!(after["status"], "cached");
    assert_eq!(after["computed_at"], before["computed_at"]);
}

#[test]
fn a_stale_socket_is_replaced_and_the_socket_goes_with_the_server() {
    let dir = common::temp_dir();
    let path = control::socket_path(dir.path());
    // A server that died leaves its socket file behind.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert!(matches!(
        control::send(
            dir.path(),
            &JobRequest::CacheList { kind: None },
            "ops",
            &mut |_| {}
        ),
        Err(ControlError::NotRunning(_))
    ));
    let config =
        voxdash::config::Config::with(dir.path(), chrono_tz::UTC, voxdash::clock::Clock::System);
    let store = Arc::new(voxdash::store::Store::open(&config.db_path()).unwrap());
    let app = voxdash::App::open(&config, store).unwrap();
    let channel = control::listen(app.clone()).unwrap();
    let listed = control::send(
        dir.path(),
        &JobRequest::CacheList { kind: None },
        "ops",
        &mut |_| {},
    )
    .unwrap();
    assert!(
        listed.printed.out.starts_with("key "),
        "{:?}",
        listed.printed
    );
    drop(channel);
    assert!(!path.exists());
}

#[test]
fn the_server_says_who_it_is_and_a_missing_one_is_not_running() {
    let r = start(true);
    let info = control::ask_server(r.dir.path()).unwrap();
    assert_eq!(info.pid, std::process::id());
    assert_eq!(info.address, None);
    r.control.as_ref().unwrap().announce(&r.addr);
    let info = control::ask_server(r.dir.path()).unwrap();
    assert_eq!(info.address.as_deref(), Some(r.addr.as_str()));
    // Jobs are answered as before.
    assert!(
        control::send(r.dir.path(), &JobRequest::CacheStats, "ops", &mut |_| {})
            .unwrap()
            .ok
    );
    let none = common::temp_dir();
    assert!(matches!(
        control::ask_server(none.path()),
        Err(ControlError::NotRunning(_))
    ));
}
