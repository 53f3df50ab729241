//! The control channel: while `voxdash serve` holds the stats cache (redb
//! admits one process per file), a CLI command that needs it is run by the
//! server. The channel is a Unix socket in the data directory, `control.sock`,
//! readable and writable by the directory's owner only: its permissions are
//! the access control, and nothing of it is reachable over the network.
//!
//! The protocol is JSON lines: the client sends one [`JobRequest`]; the server
//! answers with [`Progress`] lines as the job goes, then one closing line
//! with the report as printed text, or the reason the job did not run. So a
//! cron `voxdash refresh` prints the same steps whether the job ran in the
//! CLI or in the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::StatsCache;
use crate::jobs::{self, JobRequest, Printed, Progress};

/// The longest request line accepted; a request is a few hundred bytes.
const MAX_REQUEST: u64 = 64 * 1024;
/// Requests served at once; one more is told the server is busy.
const MAX_CLIENTS: usize = 8;

/// Path of the control socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// Why the control channel failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No server listens on the socket (none, or a stale socket file).
    #[error("no voxdash server answers on {}", .0.display())]
    NotRunning(PathBuf),
    /// Another server already listens on the socket.
    #[error("another voxdash server already serves this data directory ({})", .0.display())]
    InUse(PathBuf),
    /// The socket could not be created, read or written.
    #[error("control socket {}: {source}", path.display())]
    Io {
        /// The socket.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The other side sent something that is not the protocol.
    #[error("control socket: {0}")]
    Protocol(String),
    /// The server refused or failed the job; the text is for the CLI's user.
    #[error("{0}")]
    Refused(String),
}

/// One line from the server to the client.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Message {
    Progress(Progress),
    Done { ok: bool, printed: Printed },
    Failed { error: String },
}

/// How a job run by the server ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Whether it did all it was asked (exit status 0).
    pub ok: bool,
    /// What it printed.
    pub printed: Printed,
}

/// The server's side: a thread accepting on the socket; stops (and removes
/// the socket) when dropped.
pub struct ControlChannel {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Listens on the control socket of the cache's data directory. A stale
/// socket left by a server that died is replaced; a live one is an error.
pub fn listen(cache: Arc<StatsCache>) -> Result<ControlChannel, ControlError> {
    let path = socket_path(&cache.config().data_dir);
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            return Err(ControlError::InUse(path));
        }
        std::fs::remove_file(&path).map_err(io)?;
    }
    // Bound under a temporary name and made private before it is moved into
    // place, so there is no moment when others could connect.
    let tmp = path.with_extension(format!("sock.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(io)?;
    let private = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
    };
    private
        .and_then(|()| std::fs::rename(&tmp, &path))
        .and_then(|()| listener.set_nonblocking(true))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || accept_loop(&listener, &cache, &flag))
        .map_err(io)?;
    log::info!("control socket {}", path.display());
    Ok(ControlChannel {
        path,
        stop,
        thread: Some(thread),
    })
}

fn accept_loop(listener: &UnixListener, cache: &Arc<StatsCache>, stop: &AtomicBool) {
    let active = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => {
                log::warn!("control socket: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            active.fetch_sub(1, Ordering::SeqCst);
            let busy = Message::Failed {
                error: "the server is busy with other commands; try again".into(),
            };
            let _ = send_line(&mut &stream, &busy);
            continue;
        }
        let (cache, active) = (Arc::clone(cache), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("control client".into())
            .spawn(move || {
                serve_client(stream, &cache);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            log::warn!("control socket: no thread for a client: {e}");
        }
    }
}

fn send_line(stream: &mut impl Write, message: &Message) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Reads one request, runs it through the job runner, streams its progress
/// and closes with its report. A client that goes away does not stop the job.
fn serve_client(stream: UnixStream, cache: &Arc<StatsCache>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line);
    let mut out = &stream;
    let request = match read.map(|_| serde_json::from_str::<JobRequest>(&line)) {
        Ok(Ok(request)) => request,
        Ok(Err(e)) => {
            let error = format!("not a request: {e}");
            let _ = send_line(&mut out, &Message::Failed { error });
            return;
        }
        Err(e) => return log::warn!("control socket: request not read: {e}"),
    };
    let mut alive = true;
    let mut forward = |p: Progress| {
        if alive && send_line(&mut out, &Message::Progress(p)).is_err() {
            alive = false;
        }
    };
    let closing = match jobs::run(cache, request, &mut forward) {
        Ok(report) => Message::Done {
            ok: report.ok(),
            printed: report.printed(),
        },
        Err(e) => Message::Failed {
            error: e.to_string(),
        },
    };
    let _ = send_line(&mut out, &closing);
}

impl Drop for ControlChannel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The client's side: sends `request` to the server of `data_dir`, passes
/// each progress line to `progress` as it comes, and returns how it ended.
pub fn send(
    data_dir: &Path,
    request: &JobRequest,
    progress: &mut dyn FnMut(Progress),
) -> Result<Finished, ControlError> {
    let path = socket_path(data_dir);
    let mut stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ControlError::NotRunning(path))
        }
        Err(source) => return Err(ControlError::Io { path, source }),
    };
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    let mut line =
        serde_json::to_vec(request).map_err(|e| ControlError::Protocol(e.to_string()))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    for line in BufReader::new(&stream).lines() {
        let line = line.map_err(io)?;
        match serde_json::from_str::<Message>(&line) {
            Ok(Message::Progress(p)) => progress(p),
            Ok(Message::Done { ok, printed }) => return Ok(Finished { ok, printed }),
            Ok(Message::Failed { error }) => return Err(ControlError::Refused(error)),
            Err(e) => return Err(ControlError::Protocol(format!("bad answer: {e}"))),
        }
    }
    Err(ControlError::Protocol(
        "the server closed the channel before the job ended".into(),
    ))
}
