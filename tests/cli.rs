//! The command line as an operator uses it: exit codes, JSON on stdout,
//! messages on stderr, the refresh log and the cache commands.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn voxdash(data: &Path, args: &[&str]) -> std::process::Output {
    common::run_cli(env!("CARGO_BIN_EXE_voxdash"), data, args)
}

/// The program as its hints name it from this directory: its path from
/// here (`target/debug/voxdash`), since it is not the one on `PATH`.
fn program() -> String {
    let exe = Path::new(env!("CARGO_BIN_EXE_voxdash"))
        .canonicalize()
        .unwrap();
    let here = std::env::current_dir().unwrap().canonicalize().unwrap();
    exe.strip_prefix(&here)
        .map(Path::to_path_buf)
        .unwrap_or(exe)
        .display()
        .to_string()
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
fn the_help_speaks_of_voxdash_not_of_the_programs_it_replaced() {
    let dir = common::temp_dir();
    let mut texts = vec![stdout(&voxdash(dir.path(), &["--help"]))];
    for command in [
        "refresh",
        "warmup",
        "precompute",
        "cleanup",
        "import",
        "schedule",
    ] {
        texts.push(stdout(&voxdash(dir.path(), &[command, "--help"])));
    }
    for text in &texts {
        for old in [
            "refresh_dashboard_cache",
            "CacheWarmupService",
            "precompute_cache",
            "cleanup_learning_data",
            "Django",
        ] {
            assert!(!text.contains(old), "{old} in:\n{text}");
        }
    }
    assert!(
        texts[0].contains("Recompute the shared statistics"),
        "{}",
        texts[0]
    );
    // The import's help names a document that exists.
    let doc = texts[5]
        .split("docs/")
        .nth(1)
        .and_then(|t| t.split(')').next());
    let doc = doc.expect("import --help names its document");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(doc)
            .exists(),
        "{doc}"
    );
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

    let only = common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        dir.path(),
        &["refresh", "--only", "locations"],
        &[("SUDO_USER", "alice")],
    );
    assert_eq!(
        stdout(&only).lines().filter(|l| l.starts_with('[')).count(),
        1
    );
    // The job history names who ran each: the one behind `sudo` when
    // there is one, else the user running the command.
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    let runs = voxdash::store::jobs::recent(&store.conn().unwrap(), Some("refresh"), 2).unwrap();
    assert_eq!(
        runs[0].ran_by,
        Some(voxdash::jobs::RunBy::Command("alice".into()))
    );
    assert!(
        matches!(&runs[1].ran_by, Some(voxdash::jobs::RunBy::Command(u)) if u != "alice"),
        "{runs:?}"
    );
    let bad = voxdash(dir.path(), &["refresh", "--only", "dashbord"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("'--only <ONLY>': \"dashbord\" is not one of"),
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
    let out = common::user_add(dir.path(), "user00002");
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

/// Runs the binary at the default log level (`VOXDASH_LOG` unset), as a
/// newcomer does.
fn voxdash_default_log(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("VOXDASH_NOW", common::SAMPLE_NOW)
        .env("VOXDASH_TZ", common::SAMPLE_TZ)
        .env_remove("VOXDASH_LOG")
        .output()
        .unwrap()
}

#[test]
fn init_ends_with_the_next_steps_and_shows_no_migration_log() {
    let dir = common::temp_dir();
    let data = dir.path().join("data");
    let out = voxdash_default_log(&data, &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(!err.contains("migrated to schema version"), "{err}");
    let vd = format!("{} --data-dir {}", program(), data.display());
    assert!(
        err.contains(&format!(
            "voxdash: data directory ready at {} (empty database)",
            data.display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("Next: {vd} import CSV_DIR")), "{err}");
    assert!(
        err.contains(&format!("{vd} user add NAME --staff")),
        "{err}"
    );
    assert!(err.contains(&format!("{vd} serve")), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("then open http://127.0.0.1:8010/audio/dashboard/"),
        "{err}"
    );
}

/// The password of the line `staff login created: user admin, password P`.
fn printed_password(err: &str) -> Option<String> {
    let rest = err
        .split("staff login created: user admin, password ")
        .nth(1)?;
    Some(rest.split_whitespace().next()?.to_string())
}

fn admin_password_hash(data: &Path) -> (voxdash::store::accounts::Account, String) {
    let store = voxdash::store::Store::open(&data.join("voxdash.db")).unwrap();
    let conn = store.conn().unwrap();
    voxdash::store::accounts::password_hash(&conn, "admin")
        .unwrap()
        .expect("an account admin with a password")
}

#[test]
fn the_demo_data_comes_with_a_staff_login_shown_once() {
    let dir = common::temp_dir();
    let out = voxdash(dir.path(), &["demo", "--scale", "0.1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    let password = printed_password(&err).unwrap_or_else(|| panic!("no login in {err}"));
    assert!(password.len() >= 16, "{password}");
    let (account, hash) = admin_password_hash(dir.path());
    assert!(account.is_staff);
    assert!(voxdash::accounts::verify_password(&password, &hash));
    // The password comes last, framed, after the next steps, with a
    // command that works from here.
    let lines: Vec<&str> = err.trim_end().lines().collect();
    let open = lines
        .iter()
        .position(|l| l.contains("/audio/dashboard/ and sign in as admin"))
        .unwrap_or_else(|| panic!("{err}"));
    let shown = lines.iter().position(|l| l.contains(&password)).unwrap();
    assert!(open < shown, "{err}");
    assert!(lines[shown - 1].starts_with("====="), "{err}");
    assert!(lines.last().unwrap().starts_with("====="), "{err}");
    assert!(
        lines[shown..].iter().any(|l| l.contains(&format!(
            "{} --data-dir {} user passwd admin",
            program(),
            dir.path().display()
        ))),
        "{err}"
    );

    // `init --demo` on it: the data is there, the login is left as it is.
    let again = voxdash(dir.path(), &["init", "--demo"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).is_empty(), "{}", stdout(&again));
    let err = stderr(&again);
    assert!(printed_password(&err).is_none(), "{err}");
    assert!(
        err.contains("the staff login admin already exists; its password is unchanged"),
        "{err}"
    );
    assert!(!err.contains("loading the demo dataset"), "{err}");
    let (_, hash) = admin_password_hash(dir.path());
    assert!(voxdash::accounts::verify_password(&password, &hash));
    assert!(
        err.contains(&format!(
            "Next: {} --data-dir {} serve",
            program(),
            dir.path().display()
        )),
        "{err}"
    );
}

#[test]
fn a_second_serve_names_the_running_one_and_exits_at_once() {
    let dir = imported();
    let first = common::Served::start(dir.path());
    assert_eq!(first.get("/healthz").0, 200);
    let started = std::time::Instant::now();
    let mut second = Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("VOXDASH_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while second.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second serve was still waiting after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = second.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "another voxdash is already serving {} (pid {}, http://{}); stop it first",
            dir.path().display(),
            first.child.id(),
            first.addr
        )),
        "{err}"
    );
    // `make run` again: `init` passes (the cache is the server's), `serve` stops.
    let init = voxdash(dir.path(), &["init"]);
    assert!(init.status.success(), "{}", stderr(&init));
    // Short commands still go to the running server.
    let refresh = voxdash(dir.path(), &["refresh", "--only", "locations"]);
    assert!(refresh.status.success(), "{}", stderr(&refresh));
    assert!(
        stdout(&refresh).contains("[1/1] locations"),
        "{}",
        stdout(&refresh)
    );
}

#[test]
fn read_commands_refuse_a_data_directory_that_does_not_exist() {
    let dir = common::temp_dir();
    let missing = dir.path().join("dta");
    let expected = format!(
        "error: no data directory at {0} (run `voxdash --data-dir {0} init` first)",
        missing.display()
    );
    for args in [
        &["stats", "dashboard"][..],
        &["stats", "learning"],
        &["cache", "ls"],
        &["cache", "show", "dashboard"],
        &["cache", "stats"],
        &["refresh"],
        &["warmup"],
        &["precompute"],
        &["cleanup", "--dry-run"],
    ] {
        let out = voxdash(&missing, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        assert_eq!(stderr(&out).trim(), expected, "{args:?}");
        assert!(!missing.exists(), "{args:?} created the directory");
    }
}

#[test]
fn statistics_of_an_empty_database_come_with_a_warning() {
    let dir = common::temp_dir();
    assert!(voxdash(dir.path(), &["init"]).status.success());
    let out = voxdash(dir.path(), &["stats", "dashboard"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["data"]["total_speakers"], 0);
    let db = dir.path().join("voxdash.db");
    assert!(
        stderr(&out).contains(&format!(
            "voxdash: empty database at {} — load data with `{} --data-dir {} import DIR`",
            db.display(),
            program(),
            dir.path().display()
        )),
        "{}",
        stderr(&out)
    );
    let loaded = imported();
    let out = voxdash(loaded.path(), &["stats", "dashboard"]);
    assert!(!stderr(&out).contains("empty database"), "{}", stderr(&out));
}

/// `user add` on a terminal: asked twice, and nothing typed is shown. Runs
/// under `script`, which gives the command a real terminal.
#[test]
fn the_password_prompt_on_a_terminal_shows_nothing_and_asks_twice() {
    use std::io::{Read, Write};
    let dir = imported();
    let command = format!(
        "{} --data-dir {} user add alice",
        env!("CARGO_BIN_EXE_voxdash"),
        dir.path().display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (Debian's bsdutils) runs the command on a terminal");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = String::new();
    let wait_for = |text: &str, shown: &mut String| {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !shown.contains(text) {
            let left = until.saturating_duration_since(std::time::Instant::now());
            let bytes = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {text:?} in {shown:?}"));
            shown.push_str(&String::from_utf8_lossy(&bytes));
        }
    };
    // A person types after the prompt shows, by when echo is off; typing
    // at the very instant it shows would race the prompt itself.
    let typing_pause = std::time::Duration::from_millis(300);
    wait_for("Password for alice: ", &mut shown);
    std::thread::sleep(typing_pause);
    stdin.write_all(b"horse-battery-1\r").unwrap();
    wait_for("again: ", &mut shown);
    std::thread::sleep(typing_pause);
    stdin.write_all(b"horse-battery-1\r").unwrap();
    wait_for("created user alice", &mut shown);
    assert!(child.wait().unwrap().success(), "{shown}");
    assert!(
        !shown.contains("horse-battery"),
        "the password was shown: {shown}"
    );
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    let hash = voxdash::store::accounts::password_hash(&store.conn().unwrap(), "alice")
        .unwrap()
        .expect("alice has a password")
        .1;
    assert!(voxdash::accounts::verify_password("horse-battery-1", &hash));
}
