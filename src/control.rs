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
//! CLI or in the server. One request is not a job: `{"query":"server"}` asks
//! who serves the directory, and is answered with one line
//! `{"server":{"pid":…,"address":…}}` ([`ask_server`]), so that a second
//! `voxdash serve` can name the first one.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::jobs::{self, JobRequest, Printed, Progress, RunBy};
use crate::App;

/// The longest request line accepted; a request is a few hundred bytes.
const MAX_REQUEST: u64 = 64 * 1024;
/// Requests served at once; one more is told the server is busy.
const MAX_CLIENTS: usize = 8;
/// How long [`ask_server`] waits for the server's answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

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
    Server(ServerInfo),
}

/// A request of the channel that is not a job, tagged like a job request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
enum Query {
    /// Who serves this data directory.
    Server,
}

/// What a client sent.
enum Incoming {
    /// A job, and the system user who asked for it.
    Job(JobRequest, String),
    Query(Query),
}

/// The field a job request carries beside the job: the client's system
/// user. An extra field, so that a server of an older version still reads
/// the job (and ignores it).
#[derive(Debug, Default, Deserialize)]
struct Caller {
    #[serde(default)]
    by: Option<String>,
}

/// Longest user name kept in the job history from a client.
const MAX_CALLER: usize = 64;

/// Reads a request line: a job, else a query; a line that is neither is
/// reported with the reason it is not a job.
fn parse_request(line: &str) -> Result<Incoming, serde_json::Error> {
    serde_json::from_str::<JobRequest>(line)
        .map(|job| {
            // The socket is its owner's alone (see the module's doc), so
            // the name is the owner's word; it is still kept short and
            // printable, as it ends up on a page.
            let caller: Caller = serde_json::from_str(line).unwrap_or_default();
            let by: String = caller
                .by
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_CALLER)
                .collect();
            let by = if by.is_empty() { "unknown".into() } else { by };
            Incoming::Job(job, by)
        })
        .or_else(|e| {
            serde_json::from_str::<Query>(line)
                .map(Incoming::Query)
                .map_err(|_| e)
        })
}

/// The server that holds a data directory, as it describes itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Its process id.
    pub pid: u32,
    /// The address its web server listens on (`None` while it starts).
    pub address: Option<String>,
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
    address: Arc<OnceLock<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Listens on the control socket of the cache's data directory. A stale
/// socket left by a server that died is replaced; a live one is an error.
pub fn listen(app: App) -> Result<ControlChannel, ControlError> {
    let path = socket_path(&app.config.data_dir);
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
    let address = Arc::new(OnceLock::new());
    let shared = Shared {
        app,
        address: Arc::clone(&address),
    };
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || accept_loop(&listener, &shared, &flag))
        .map_err(io)?;
    log::info!("control socket {}", path.display());
    Ok(ControlChannel {
        path,
        address,
        stop,
        thread: Some(thread),
    })
}

impl ControlChannel {
    /// Records the address the web server listens on, for [`ask_server`].
    pub fn announce(&self, address: impl std::fmt::Display) {
        let _ = self.address.set(address.to_string());
    }
}

/// What the threads of the channel share.
#[derive(Clone)]
struct Shared {
    app: App,
    address: Arc<OnceLock<String>>,
}

fn accept_loop(listener: &UnixListener, shared: &Shared, stop: &AtomicBool) {
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
        let (shared, active) = (shared.clone(), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("control client".into())
            .spawn(move || {
                serve_client(stream, &shared);
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
/// and closes with its report, or answers a query. A client that goes away
/// does not stop the job.
fn serve_client(stream: UnixStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line);
    let mut out = &stream;
    let (request, by) = match read.map(|_| parse_request(&line)) {
        Ok(Ok(Incoming::Job(request, by))) => (request, RunBy::Command(by)),
        Ok(Ok(Incoming::Query(Query::Server))) => {
            let info = ServerInfo {
                pid: std::process::id(),
                address: shared.address.get().cloned(),
            };
            let _ = send_line(&mut out, &Message::Server(info));
            return;
        }
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
    let closing = match jobs::run(&shared.app, request, by, &mut forward) {
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

/// The client's side: sends `request` to the server of `data_dir` on
/// behalf of the system user `by`, passes each progress line to `progress`
/// as it comes, and returns how it ended.
pub fn send(
    data_dir: &Path,
    request: &JobRequest,
    by: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Finished, ControlError> {
    let (path, stream) = connect(data_dir)?;
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    let mut line =
        serde_json::to_value(request).map_err(|e| ControlError::Protocol(e.to_string()))?;
    if let Some(fields) = line.as_object_mut() {
        fields.insert("by".into(), by.into());
    }
    write_request(&stream, &line).map_err(io)?;
    for line in BufReader::new(&stream).lines() {
        match parse_answer(&line.map_err(io)?)? {
            Message::Progress(p) => progress(p),
            Message::Done { ok, printed } => return Ok(Finished { ok, printed }),
            Message::Failed { error } => return Err(ControlError::Refused(error)),
            Message::Server(_) => return Err(unexpected("a server description")),
        }
    }
    Err(ControlError::Protocol(
        "the server closed the channel before the job ended".into(),
    ))
}

/// Asks the server of `data_dir` who it is: `NotRunning` when none listens,
/// `Refused` when it does not know the question (an older voxdash).
pub fn ask_server(data_dir: &Path) -> Result<ServerInfo, ControlError> {
    let (path, stream) = connect(data_dir)?;
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    stream.set_read_timeout(Some(ASK_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(ASK_TIMEOUT)).map_err(io)?;
    write_request(&stream, &Query::Server).map_err(io)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(io)?;
    match parse_answer(line.trim_end())? {
        Message::Server(info) => Ok(info),
        Message::Failed { error } => Err(ControlError::Refused(error)),
        _ => Err(unexpected("job progress")),
    }
}

/// Connects to the control socket of `data_dir`.
fn connect(data_dir: &Path) -> Result<(PathBuf, UnixStream), ControlError> {
    let path = socket_path(data_dir);
    match UnixStream::connect(&path) {
        Ok(stream) => Ok((path, stream)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Err(ControlError::NotRunning(path))
        }
        Err(source) => Err(ControlError::Io { path, source }),
    }
}

/// Writes one request line.
fn write_request(mut stream: &UnixStream, request: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Reads one line of the server's answer.
fn parse_answer(line: &str) -> Result<Message, ControlError> {
    serde_json::from_str(line).map_err(|e| ControlError::Protocol(format!("bad answer: {e}")))
}

fn unexpected(what: &str) -> ControlError {
    ControlError::Protocol(format!("unexpected answer: {what}"))
}
