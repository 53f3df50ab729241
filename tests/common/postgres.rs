//! A real PostgreSQL server (Debian's `postgresql` package) for the tests:
//! `initdb` in a temporary directory, `pg_ctl start` listening on a Unix
//! socket only, stopped when dropped. As root it runs as the `postgres`
//! account (PostgreSQL refuses root). A server that cannot start fails the
//! test; it never skips it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// The newest `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("no /usr/lib/postgresql ({e}); install Debian's postgresql"))
        .map(|e| e.unwrap().path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no PostgreSQL server under /usr/lib/postgresql")
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// Runs a PostgreSQL program, as `postgres` when this is root.
fn run(bin: &Path, program: &str, args: &[&str]) {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    };
    let out = command.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// Creates a cluster and starts it.
    pub fn start() -> Postgres {
        let dir = super::temp_dir();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the test directory failed");
        }
        let bin = bin_dir();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        let server = Postgres { dir, bin };
        server.restart();
        server
    }

    /// Starts the server (again), on its Unix socket only.
    pub fn restart(&self) {
        let data = self.dir.path().join("data");
        let socket = self.dir.path().to_str().unwrap().to_string();
        let log = self.dir.path().join("log");
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-o",
                &format!("-k {socket} -c listen_addresses='' -c fsync=off"),
                "start",
            ],
        );
    }

    /// Stops the server at once (as a crash would: connections are cut).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// The URL of database `name` (created when it is not `postgres`).
    pub fn database(&self, name: &str) -> String {
        if name != "postgres" {
            let mut client =
                postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
        }
        self.url_of(name)
    }

    fn url_of(&self, name: &str) -> String {
        format!(
            "host={} user=postgres dbname={name}",
            self.dir.path().display()
        )
    }
}

/// One server for the whole test process, started at first use and
/// stopped when the process exits (the suites on PostgreSQL start many
/// servers of voxdash; each gets a database of its own in it).
static SHARED: std::sync::Mutex<Option<Postgres>> = std::sync::Mutex::new(None);

extern "C" fn stop_shared() {
    if let Ok(mut shared) = SHARED.lock() {
        shared.take();
    }
}

/// A new empty database in the process's shared server.
pub fn fresh_database() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if shared.is_none() {
        *shared = Some(Postgres::start());
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(stop_shared) };
    }
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    shared
        .as_ref()
        .unwrap()
        .database(&format!("voxdash_test_{n}"))
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let out = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(self.bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
                .output()
        };
        let _ = out;
    }
}
