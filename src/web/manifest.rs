//! The CSV manifest of a recording list (`GET /api/v1/recordings?format=csv`),
//! streamed from a thread of its own: the list is never held in memory (a
//! training set may be millions of files), and a client that reads slowly
//! holds no worker. At most [`AT_ONCE`] manifests are sent at a time; a
//! client that takes nothing for [`WRITE_WAIT`] is dropped. The body is
//! chunked, so a manifest cut short is seen as incomplete, never taken for
//! a shorter list.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::store::recording_list::{self, ListedRecording, RecordingFilter, Sort};
use crate::store::{Store, StoreError};
use crate::web::table::spreadsheet_safe;

/// Manifests sent at the same time; another one is answered 503.
pub const AT_ONCE: usize = 2;

/// How long a write to the client may wait before the manifest ends.
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// Bytes of CSV sent per chunk.
const CHUNK: usize = 64 * 1024;

/// The columns of a manifest, in order.
pub const COLUMNS: [&str; 8] = [
    "id",
    "file_name",
    "speaker_id",
    "speaker_code",
    "recorded_at",
    "duration_s",
    "sample_rate",
    "snr_db",
];

/// The head of a manifest's answer.
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/csv; charset=utf-8\r\n\
Content-Disposition: attachment; filename=\"recordings.csv\"\r\n\
Transfer-Encoding: chunked\r\n\
Cache-Control: no-store\r\n\
Connection: close\r\n\
X-Frame-Options: DENY\r\n\
Content-Security-Policy: frame-ancestors 'none'\r\n\
X-Content-Type-Options: nosniff\r\n\
Referrer-Policy: same-origin\r\n\
\r\n";

/// Which recordings a manifest lists, in which order.
pub struct Manifest {
    /// The list's filter.
    pub filter: RecordingFilter,
    /// The list's order.
    pub sort: Sort,
}

/// The manifests being sent.
#[derive(Default)]
pub struct Manifests {
    sending: Arc<AtomicUsize>,
}

/// A place among the manifests being sent, given back when dropped.
pub struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Manifests {
    /// A place for one more manifest, unless [`AT_ONCE`] are being sent.
    pub fn admit(&self) -> Option<Place> {
        let taken = self
            .sending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < AT_ONCE).then_some(n + 1)
            });
        taken.ok().map(|_| Place(Arc::clone(&self.sending)))
    }
}

/// Sends `manifest` on `socket` from a thread of its own, holding `place`
/// (and `hold`, which keeps the HTTP library off the connection) until
/// it is done.
pub fn send(
    store: Arc<Store>,
    place: Place,
    manifest: Manifest,
    mut socket: TcpStream,
    hold: Box<dyn Write + Send>,
) {
    let started = std::thread::Builder::new()
        .name("manifest".into())
        .spawn(move || {
            let _place = place;
            let _hold = hold;
            if let Err(e) = write_manifest(&store, &manifest, &mut socket) {
                log::debug!("a recording manifest ended early: {e}");
            }
            socket.shutdown(Shutdown::Both).ok();
        });
    if let Err(e) = started {
        log::error!("no thread for a recording manifest: {e}");
    }
}

/// Why a manifest ended early.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("the client: {0}")]
    Client(#[from] std::io::Error),
    #[error("the store: {0}")]
    Store(#[from] StoreError),
}

/// The body of an answer in HTTP chunks of about [`CHUNK`] bytes.
struct Chunked<'s> {
    socket: &'s mut TcpStream,
    pending: Vec<u8>,
}

impl Chunked<'_> {
    fn send_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        write!(self.socket, "{:x}\r\n", self.pending.len())?;
        self.socket.write_all(&self.pending)?;
        self.socket.write_all(b"\r\n")?;
        self.pending.clear();
        Ok(())
    }

    /// Sends what is left and the last, empty chunk.
    fn finish(mut self) -> std::io::Result<()> {
        self.send_pending()?;
        self.socket.write_all(b"0\r\n\r\n")
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.send_pending()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send_pending()
    }
}

/// One recording as a manifest's row: text made [`spreadsheet_safe`],
/// times in UTC, missing values empty.
fn row(r: &ListedRecording) -> [String; 8] {
    [
        r.id.to_string(),
        spreadsheet_safe(&r.file_name).into_owned(),
        r.speaker_id.to_string(),
        r.speaker_code
            .as_deref()
            .map(|c| spreadsheet_safe(c).into_owned())
            .unwrap_or_default(),
        crate::clock::format_utc(r.recorded_at),
        r.duration_s.to_string(),
        r.sample_rate.map(|v| v.to_string()).unwrap_or_default(),
        r.snr_db.map(|v| v.to_string()).unwrap_or_default(),
    ]
}

fn write_manifest(store: &Store, m: &Manifest, socket: &mut TcpStream) -> Result<(), Ended> {
    // The connection comes non-blocking (as event streams want it): a
    // manifest waits for a slow reader instead, up to its write timeout;
    // non-blocking, it ended as soon as the socket's buffer was full.
    socket.set_nonblocking(false)?;
    socket.set_write_timeout(Some(WRITE_WAIT))?;
    socket.write_all(HEAD)?;
    let mut body = Chunked {
        socket,
        pending: Vec::with_capacity(CHUNK + 1024),
    };
    // A byte-order mark, so that spreadsheet programs read UTF-8.
    body.write_all(b"\xEF\xBB\xBF")?;
    let mut out = csv::Writer::from_writer(body);
    let csv_failed = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    };
    out.write_record(COLUMNS).map_err(csv_failed)?;
    let conn = store.conn()?;
    // One snapshot: a list written meanwhile is not half in it.
    let tx = conn.read_transaction()?;
    let mut client: Option<std::io::Error> = None;
    let listed = recording_list::each(&tx, &m.filter, m.sort, |r| {
        out.write_record(row(&r)).map_err(|e| {
            client = Some(csv_failed(e));
            StoreError::Stopped
        })
    });
    if let Some(e) = client {
        return Err(e.into());
    }
    listed?;
    let body = out
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    body.finish()?;
    Ok(())
}
