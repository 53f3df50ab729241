//! What a lab admin does to keep voxdash running: backups while it serves,
//! restores, checks, the systemd units, and a repository that stands alone.

mod common;

use std::path::Path;
use std::time::Duration;

use common::server::{call, sign_in, start};

fn voxdash(data: &Path, args: &[&str]) -> std::process::Output {
    common::run_cli(env!("CARGO_BIN_EXE_voxdash"), data, args)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count_sessions(db: &Path, id: i64) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM study_sessions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

/// Starts `voxdash serve` on a data directory and returns the `data` of
/// the JSON at `paths`, then stops it.
fn served_json(data: &Path, paths: &[&str]) -> Vec<serde_json::Value> {
    let server = common::Served::start(data);
    paths
        .iter()
        .map(|path| {
            let (status, body) = server.get(path);
            assert_eq!(status, 200, "{path}");
            let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            v["data"].take()
        })
        .collect()
}

#[test]
fn a_backup_taken_under_writes_is_sound_and_restores_the_same_statistics() {
    let r = start(false);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    let backup = r.dir.path().join("copy.db");
    let post = |i: i64| {
        let reply = call(
            &r,
            "POST",
            "/api/v1/sessions",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            &format!(
                r#"{{"user_id": 2, "start_time": "2026-11-23T0{}:00:00+09:00", "end_time": "2026-11-23T0{}:30:00+09:00", "duration_minutes": 30}}"#,
                i % 10,
                i % 10
            ),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["id"].as_i64().unwrap()
    };
    let before: Vec<i64> = (0..10).map(post).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                post(n);
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(100));
        let out = voxdash(r.dir.path(), &["backup", backup.to_str().unwrap()]);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            writer.join().unwrap() > 0,
            "the writer wrote during the backup"
        );
        out
    });
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&backup).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    for id in &before {
        assert_eq!(count_sessions(&backup, *id), 1, "acknowledged session {id}");
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "backup mode {mode:o}");
    }

    // The backup, restored into a new data directory, serves what the
    // database held when it was taken.
    let dir = common::temp_dir();
    assert!(voxdash(dir.path(), &["init"]).status.success());
    let restored = voxdash(dir.path(), &["restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert!(stderr(&restored).contains("voxdash.db.replaced-"));
    let paths = [
        "/api/v1/stats/dashboard",
        "/api/v1/stats/locations",
        "/api/v1/users/1/stats/courses",
    ];
    let from_restore = served_json(dir.path(), &paths);
    // The statistics these paths show do not depend on the sessions the
    // writer kept adding, so the original server must show the same.
    let from_original: Vec<serde_json::Value> = paths
        .iter()
        .map(|p| {
            let reply = common::server::get(&r, &format!("{p}?refresh=1"), &[("Cookie", &cookie)]);
            assert_eq!(reply.status, 200);
            reply.json()["data"].clone()
        })
        .collect();
    assert_eq!(from_restore, from_original);
    // The directory had no data before the restore.
    assert_ne!(from_restore[0]["total_speakers"], 0);
}

#[test]
fn restore_is_refused_while_the_server_runs() {
    let r = start(false);
    let copy = r.dir.path().join("copy.db");
    assert!(voxdash(r.dir.path(), &["backup", copy.to_str().unwrap()])
        .status
        .success());
    let refused = voxdash(r.dir.path(), &["restore", copy.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("in use"), "{}", stderr(&refused));
    // Nothing was moved.
    assert!(!std::fs::read_dir(r.dir.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("replaced")));
}

#[test]
fn restore_refuses_a_file_that_is_not_a_database() {
    let dir = common::temp_dir();
    assert!(voxdash(dir.path(), &["init"]).status.success());
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database").unwrap();
    let out = voxdash(dir.path(), &["restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be restored"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_passes_on_a_healthy_directory_and_fails_on_a_corrupted_database() {
    let dir = common::imported_dir();
    let ok = voxdash(dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(ok.status.success(), "{text}");
    for what in [
        "database integrity",
        "schema version",
        "stats cache",
        "free disk space",
    ] {
        assert!(text.contains(what), "{what}: {text}");
    }
    // Damage the middle of the database file.
    let db = dir.path().join("voxdash.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    for p in (pages / 3)..(pages * 2 / 3) {
        bytes[p * page + 8..p * page + 200].fill(0x5A);
    }
    std::fs::write(&db, &bytes).unwrap();
    let bad = voxdash(dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert!(!bad.status.success(), "{text}");
    assert!(text.contains("FAIL"), "{text}");
}

#[test]
fn the_version_is_printed() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("voxdash {}", env!("CARGO_PKG_VERSION"))
    );
    // The newest heading of the changelog is this version.
    let changelog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CHANGELOG.md"))
            .unwrap();
    let newest = changelog.lines().find(|l| l.starts_with("## ")).unwrap();
    assert!(
        newest.starts_with(&format!("## {} ", env!("CARGO_PKG_VERSION"))),
        "{newest}"
    );
}

#[test]
fn the_systemd_units_verify_where_systemd_analyze_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let units = [
        "dist/voxdash.service",
        "dist/timer-instead/voxdash-refresh.service",
        "dist/timer-instead/voxdash-refresh.timer",
    ];
    // One scheduler ships: the server's. What `dist/` installs holds no
    // timer; the timer comes with the drop-in that takes `--scheduler` out.
    let shipped: Vec<String> = std::fs::read_dir(root.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".timer") || name.ends_with(".service"))
        .collect();
    assert_eq!(shipped, ["voxdash.service"]);
    let drop_in =
        std::fs::read_to_string(root.join("dist/timer-instead/no-scheduler.conf")).unwrap();
    let exec = drop_in
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect::<Vec<_>>();
    assert_eq!(exec.len(), 2, "{drop_in}");
    assert_eq!(exec[0], "ExecStart=", "the drop-in clears the line first");
    assert!(exec[1].contains(" serve ") && !exec[1].contains("--scheduler"));
    for unit in units {
        let text = std::fs::read_to_string(root.join(unit)).unwrap();
        assert!(text.contains("voxdash"), "{unit}");
    }
    let service = std::fs::read_to_string(root.join("dist/voxdash.service")).unwrap();
    assert!(service.contains("serve --bind 127.0.0.1:8010 --scheduler"));
    for needed in [
        "StateDirectory=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "serve",
    ] {
        assert!(service.contains(needed), "voxdash.service lacks {needed}");
    }
    let Ok(probe) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze is not installed here: only the unit texts were checked");
        return;
    };
    if !probe.status.success() {
        return;
    }
    // verify wants the binary of ExecStart to exist: point it at this build.
    let dir = common::temp_dir();
    let mut paths = Vec::new();
    for unit in units {
        let text = std::fs::read_to_string(root.join(unit))
            .unwrap()
            .replace("/usr/local/bin/voxdash", env!("CARGO_BIN_EXE_voxdash"));
        let path = dir.path().join(Path::new(unit).file_name().unwrap());
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_file_in_the_repository_refers_outside_it() {
    // Written in two halves so this file does not match itself.
    let needle = format!("{}{}", "../", "shared");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git is installed");
    assert!(listed.status.success());
    let mut offenders = Vec::new();
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let path = root.join(String::from_utf8_lossy(name).as_ref());
        if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                offenders.push(path.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

#[test]
fn the_configuration_reference_is_a_valid_file_with_the_defaults() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md"))
            .unwrap();
    let section = doc.split("### voxdash.toml").nth(1).unwrap();
    let reference = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let dir = common::temp_dir();
    std::fs::write(dir.path().join("voxdash.toml"), reference).unwrap();
    // Every key is known (unknown keys are refused) and every value parses.
    let config = voxdash::config::Config::load(dir.path(), None, None).unwrap();
    let defaults = voxdash::config::Config::load(common::temp_dir().path(), None, None).unwrap();
    assert_eq!(config.retention, defaults.retention);
    assert_eq!(config.cache.lock_secs, defaults.cache.lock_secs);
    assert_eq!(
        format!("{:?}", config.cache),
        format!("{:?}", defaults.cache)
    );
    assert_eq!(
        format!("{:?}", config.server),
        format!("{:?}", defaults.server)
    );
    assert_eq!(
        format!("{:?}", config.schedule),
        format!("{:?}", defaults.schedule)
    );
    assert_eq!(config.backups_keep, defaults.backups_keep);
    for key in [
        "lock_secs",
        "archive_after_days",
        "max_header_bytes",
        "cache_url",
    ] {
        assert!(reference.contains(key), "{key}");
    }
}
