//! Shared helpers of the integration tests: temp data dirs, the sample
//! dataset, JSON comparison with a float tolerance.
#![allow(dead_code)]

pub mod http;
pub mod postgres;
pub mod redis;
pub mod server;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The committed copy of the sample dataset.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample/data")
}

/// The sample's expected statistics.
pub fn expected() -> Value {
    let read = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sample")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let mut expected = read("expected-asia-seoul.json");
    // The descriptors, computed apart, belong to the dashboard.
    let descriptors = read("expected-descriptors.json");
    let dashboard = expected["dashboard"].as_object_mut().unwrap();
    for (field, value) in descriptors["dashboard"].as_object().unwrap() {
        dashboard.insert(field.clone(), value.clone());
    }
    expected
}

/// The clock and zone the sample's expectations were computed with.
pub const SAMPLE_NOW: &str = "2026-11-23T12:00:00+09:00";
/// The zone of the sample's expectations.
pub const SAMPLE_TZ: &str = "Asia/Seoul";

/// Compares `actual` with `expected`: floats to 1e-9 relative, objects by
/// key (only keys of `expected` are required; `text` of recommendations may be
/// extra). Returns the paths that differ.
pub fn json_diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            let tol = 1e-9 * e.abs().max(a.abs()).max(1e-300);
            if (e - a).abs() > tol {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => json_diff(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
            for k in a.keys() {
                if !e.contains_key(k) && k != "text" {
                    out.push(format!("{path}.{k}: unexpected"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_diff(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (e, a) => {
            if e != a {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
    }
}

/// A new data directory with the sample imported through the library, and
/// a configuration with the sample's clock and zone.
pub fn sample_store() -> (
    tempfile::TempDir,
    voxdash::store::Store,
    voxdash::config::Config,
) {
    let dir = temp_dir();
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    voxdash::import::import_dir(&store, &sample_dir(), &Default::default()).unwrap();
    let clock = voxdash::clock::Clock::from_env_value(Some(SAMPLE_NOW)).unwrap();
    let config = voxdash::config::Config::with(dir.path(), SAMPLE_TZ.parse().unwrap(), clock);
    // As the statistics do when they open: aggregates in the sample's zone.
    voxdash::store::aggregates::follow_zone(&store.conn().unwrap(), config.local.tz).unwrap();
    (dir, store, config)
}

/// Every statistic of the sample computed from `store` equals the expected
/// values (`expected-asia-seoul.json`): the shared ones, and each
/// learner's days, weeks, analytics and courses.
pub fn assert_sample_statistics(store: &voxdash::store::Store, config: &voxdash::config::Config) {
    let data = |key: &str| {
        let key = voxdash::stats::StatKey::parse(key).unwrap();
        store
            .snapshot(|view| voxdash::stats::compute(view, config, &key))
            .unwrap()
            .statistic
            .to_json(voxdash::i18n::Lang::En)
    };
    let expected = expected();
    let mut diffs = Vec::new();
    for key in ["dashboard", "locations", "learning"] {
        json_diff(key, &expected[key], &data(key), &mut diffs);
    }
    let users = expected["users"].as_object().unwrap();
    assert_eq!(users.len(), 6);
    let mut checked = 0;
    for (user, stats) in users {
        for (date, want) in stats["daily"].as_object().unwrap() {
            let key = format!("user/{user}/daily/{date}");
            json_diff(&key, want, &data(&key), &mut diffs);
            checked += 1;
        }
        for (monday, want) in stats["weekly"].as_object().unwrap() {
            let key = format!("user/{user}/weekly/{monday}");
            json_diff(&key, want, &data(&key), &mut diffs);
            checked += 1;
        }
        for kind in ["analytics", "courses"] {
            let key = format!("user/{user}/{kind}");
            json_diff(&key, &stats[kind], &data(&key), &mut diffs);
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * (3 + 2 + 2));
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// A fresh temporary data directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("voxdash-test-")
        .tempdir()
        .unwrap()
}

/// Runs the `voxdash` binary on a data dir with the sample's clock and zone.
pub fn run_cli(bin: &str, data: &Path, args: &[&str]) -> std::process::Output {
    run_cli_with_env(bin, data, args, &[])
}

/// Like `run_cli`, with more environment.
pub fn run_cli_with_env(
    bin: &str,
    data: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    std::process::Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("VOXDASH_NOW", SAMPLE_NOW)
        .env("VOXDASH_TZ", SAMPLE_TZ)
        .env("VOXDASH_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The number on the line `NAME VALUE` of a `/metrics` answer.
pub fn metric_in(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {metrics}"))
        .parse()
        .unwrap()
}

/// `voxdash user add NAME --password-stdin` on `data`, the password
/// `correct horse` given on standard input.
pub fn user_add(data: &Path, name: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", name, "--password-stdin"])
        .env("VOXDASH_NOW", SAMPLE_NOW)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refused name ends the command before it reads its input, so the
    // pipe may be closed already: that is the command's answer, not ours.
    let written = child.stdin.take().unwrap().write_all(b"correct horse\n");
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// `voxdash import` on `data` of a folder holding one file `name` with
/// `text`; what the command said on stderr, and whether it succeeded.
pub fn import_file(data: &Path, name: &str, text: &str) -> (String, bool) {
    let folder = temp_dir();
    std::fs::write(folder.path().join(name), text).unwrap();
    let out = run_cli(
        env!("CARGO_BIN_EXE_voxdash"),
        data,
        &["import", folder.path().to_str().unwrap()],
    );
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// A new data directory with the sample imported by the `voxdash` binary.
pub fn imported_dir() -> tempfile::TempDir {
    let dir = temp_dir();
    let out = run_cli(
        env!("CARGO_BIN_EXE_voxdash"),
        dir.path(),
        &["import", sample_dir().to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// How many entries of `dir` have a name starting with `prefix`.
pub fn files_starting_with(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(prefix)
        })
        .count()
}

/// A `voxdash serve --public` process on a free loopback port, with the
/// sample's clock and zone; killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
}

impl Served {
    pub fn start(data: &Path) -> Served {
        Served::start_with_env(data, &[])
    }

    /// Like `start`, with more environment (`VOXDASH_CACHE_URL`, ...).
    pub fn start_with_env(data: &Path, env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--public", "--bind", &format!("127.0.0.1:{port}")])
            .env("VOXDASH_NOW", SAMPLE_NOW)
            .env("VOXDASH_TZ", SAMPLE_TZ)
            .env("VOXDASH_LOG", "off")
            .envs(env.iter().copied())
            .spawn()
            .unwrap();
        Served {
            child,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    /// `GET path`, retried for up to 10 s while the server starts.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        for _ in 0..100 {
            if let Ok((status, _, body)) = http::request(&self.addr, "GET", path, &[], b"") {
                return (status, body);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("voxdash serve never answered {path}");
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
