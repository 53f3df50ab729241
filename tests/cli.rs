//! The command line as an operator uses it: exit codes, JSON on stdout,
//! messages on stderr, the refresh log and the cache commands.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn voxdash(data: &Path, args: &[&str]) -> std::process::Output {
    common::run_cli(env!("CARGO_BIN_EXE_voxdash"), data, args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn imported() -> tempfile::TempDir {
    let dir = common::temp_dir();
    let out = voxdash(
        dir.path(),
        &["import", common::sample_dir().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("study_sessions.csv"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    dir
}

#[test]
fn stats_prints_only_the_json_envelope_fresh_then_cached() {
    let dir = imported();
    let first = voxdash(dir.path(), &["stats", "dashboard"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let json: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    assert_eq!(json["key"], "dashboard");
    assert_eq!(json["status"], "fresh");
    assert_eq!(json["changes_since"], 0);
    assert_eq!(json["data"]["total_recordings"], 628);
    let second = voxdash(dir.path(), &["stats", "dashboard"]);
    let json2: serde_json::Value = serde_json::from_str(&stdout(&second)).unwrap();
    assert_eq!(json2["status"], "cached");
    assert_eq!(json2["computed_at"], json["computed_at"]);
    let forced = voxdash(dir.path(), &["stats", "dashboard", "--refresh"]);
    let json3: serde_json::Value = serde_json::from_str(&stdout(&forced)).unwrap();
    assert_eq!(json3["status"], "fresh");
}

#[test]
fn user_statistics_in_korean_carry_recommendation_texts() {
    let dir = imported();
    let out = voxdash(
        dir.path(),
        &["stats", "user", "4", "analytics", "--lang", "ko"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let recs = json["data"]["recommendations"].as_array().unwrap();
    assert_eq!(recs[0]["code"], "low_effectiveness");
    assert!(recs[0]["text"].as_str().unwrap().contains("학습"));
}

#[test]
fn unknown_users_and_bad_parameters_fail_with_one_line_naming_them() {
    let dir = imported();
    let out = voxdash(dir.path(), &["stats", "user", "424242", "courses"]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert_eq!(stderr(&out).trim(), "error: user 424242 not found");

    let out = voxdash(
        dir.path(),
        &["stats", "user", "1", "weekly", "--week-start", "2026-11-25"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("week_start: 2026-11-25"),
        "{}",
        stderr(&out)
    );

    let out = voxdash(
        dir.path(),
        &["stats", "user", "1", "daily", "--date", "23/11/2026"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("date: \"23/11/2026\" is not a date"),
        "{}",
        stderr(&out)
    );
    // Nothing was cached for the failures.
    let ls = voxdash(dir.path(), &["cache", "ls"]);
    assert_eq!(stdout(&ls).lines().count(), 1, "{}", stdout(&ls));
}

#[test]
fn refresh_logs_each_step_with_key_figures_and_the_ttl() {
    let dir = imported();
    let out = voxdash(dir.path(), &["refresh"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Starting refresh at 2026-11-23T03:00:00Z"),
        "{text}"
    );
    assert!(lines[1].starts_with("[1/3] dashboard ..."), "{text}");
    assert!(
        lines[1].contains("total speakers: 18, total recordings: 628"),
        "{text}"
    );
    assert!(
        lines[2].contains("upload regions: 15, uploads: 40"),
        "{text}"
    );
    assert!(lines[3].starts_with("[3/3] learning"), "{text}");
    assert!(lines[4].contains("dashboard 24 h"), "{text}");

    let only = voxdash(dir.path(), &["refresh", "--only", "locations"]);
    assert_eq!(
        stdout(&only).lines().filter(|l| l.starts_with('[')).count(),
        1
    );
    let bad = voxdash(dir.path(), &["refresh", "--only", "dashbord"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--only: \"dashbord\""),
        "{}",
        stderr(&bad)
    );

    let ls = voxdash(dir.path(), &["cache", "ls"]);
    let listing = stdout(&ls);
    for key in ["dashboard", "locations", "learning"] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(key) && l.contains("cached")),
            "{listing}"
        );
    }
    let show = voxdash(dir.path(), &["cache", "show", "learning"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(json["data"]["total_users"], 14);
}

#[test]
fn warmup_of_a_user_and_clearing_by_prefix() {
    let dir = imported();
    let out = voxdash(dir.path(), &["warmup", "--user", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("4 computed"), "{}", stdout(&out));
    let again = voxdash(dir.path(), &["warmup", "--user", "2"]);
    assert!(
        stdout(&again).contains("0 computed, 4 already current"),
        "{}",
        stdout(&again)
    );
    let clear = voxdash(dir.path(), &["cache", "clear", "user/2/"]);
    assert!(
        stderr(&clear).contains("4 entries removed"),
        "{}",
        stderr(&clear)
    );
}

#[test]
fn accounts_and_tokens() {
    let dir = imported();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "add", "user00002", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // The imported profile got the password: no second account.
    assert!(
        stderr(&out).contains("set the password of user user00002 (id 2)"),
        "{}",
        stderr(&out)
    );
    let list = stdout(&voxdash(dir.path(), &["user", "list"]));
    assert_eq!(list.lines().filter(|l| l.contains("user00002")).count(), 1);
    assert!(
        list.lines()
            .any(|l| l.contains("user00002") && l.contains("set")),
        "{list}"
    );

    let token = voxdash(dir.path(), &["token", "create", "user00002"]);
    assert!(token.status.success());
    assert_eq!(stdout(&token).trim().len(), 64);
    let revoke = voxdash(dir.path(), &["token", "revoke", "--user", "user00002"]);
    assert!(
        stderr(&revoke).contains("1 token(s) revoked"),
        "{}",
        stderr(&revoke)
    );
    let missing = voxdash(dir.path(), &["token", "create", "nobody"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("user \"nobody\" not found"));
}

#[test]
fn an_unwritable_data_directory_is_one_line_naming_the_path() {
    let dir = common::temp_dir();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = voxdash(&file.join("data"), &["init"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not-a-dir/data"), "{err}");
}

#[test]
fn a_refresh_killed_at_any_point_leaves_a_readable_entry() {
    let dir = imported();
    let first = voxdash(dir.path(), &["stats", "dashboard"]);
    assert!(first.status.success());
    for delay_ms in [0u64, 1, 2, 4, 8, 16, 32] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_voxdash"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["refresh"])
            .env("VOXDASH_LOG", "off")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SIGKILL: no destructor, no commit of anything in flight.
        child.kill().unwrap();
        child.wait().unwrap();
        let show = voxdash(dir.path(), &["cache", "show", "dashboard"]);
        assert!(
            show.status.success(),
            "after kill at {delay_ms} ms: {}",
            stderr(&show)
        );
        let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
        assert_eq!(json["data"]["total_recordings"], 628);
        assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("corrupt")));
    }
}

#[test]
fn the_committed_demo_dataset_re_imports_cleanly() {
    let dir = common::temp_dir();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    for _ in 0..2 {
        let out = voxdash(dir.path(), &["import", "--strict", demo.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("rejected:"), "{}", stderr(&out));
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&voxdash(dir.path(), &["stats", "dashboard"]))).unwrap();
    assert_eq!(json["data"]["total_speakers"], 19);
}
