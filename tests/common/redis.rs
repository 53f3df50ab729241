//! A real `redis-server` (Debian's package) for the tests of the shared
//! cache: started in a temporary directory on a Unix socket, without
//! persistence, and stopped when dropped. A server that cannot start fails
//! the test; it never skips it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server.
pub struct Redis {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `unix:///…/redis.sock`, for `cache_url`.
    pub url: String,
}

impl Redis {
    /// Starts a server and waits until it answers.
    pub fn start() -> Redis {
        let dir = super::temp_dir();
        let mut redis = Redis {
            child: None,
            url: format!("unix://{}", dir.path().join("redis.sock").display()),
            dir,
        };
        redis.spawn();
        redis
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server cannot start ({e}); install Debian's redis-server")
            });
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server did not open {} within 10 s",
            self.socket().display()
        );
    }

    /// Stops the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same socket.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// A client of this server, for looking at what the cache keeps.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
