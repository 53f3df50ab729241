//! `GET /api/v1/events`: server-sent events of cache entries. An accepted
//! stream leaves its worker at once: the worker takes the connection's
//! socket and hands it to one broadcaster thread, which writes each entry
//! event to every stream allowed to see its key, a comment every 15 s to
//! keep proxies from closing idle streams, and closes a stream whose client
//! went away, fell too far behind, was replaced by a newer stream of the
//! same caller, or whose sign-in ended.
//!
//! No write ever waits for a client: sockets are non-blocking and each
//! stream has a small buffer of its own; a stream whose buffer is full is
//! closed (the browser reconnects and reloads what it missed). Opening and
//! closing take one short lock that no write holds, so a stream that never
//! reads costs its own buffer and nothing else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{EntryEvent, StatsCache};
use crate::stats::StatKey;

/// Open streams at most per signed-in account, and per address for
/// streams without a sign-in; one more closes the oldest.
pub const MAX_STREAMS_PER_CALLER: usize = 8;
/// How often an idle stream gets a comment line.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Bytes a stream may have waiting for its client; past that it is closed.
pub const STREAM_BUFFER: usize = 64 * 1024;
/// Events and opened streams waiting for the broadcaster, at most.
const QUEUE: usize = 1024;
/// How often every stream is looked at: a closed client, buffered bytes, a
/// stream closed from outside.
const SWEEP: Duration = Duration::from_millis(250);
/// How often the sign-ins behind open streams are checked again.
const RECHECK: Duration = Duration::from_secs(2);

/// How a request signed in, by the digest of its secret (never the secret
/// itself): what an open event stream checks again while it stays open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// `Authorization: Bearer` with an API token.
    Token(String),
    /// A browser session cookie.
    Session(String),
}

/// What a stream may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every key (staff, or anyone on a public server).
    All,
    /// Shared keys and the keys of this user only (a learner).
    Learner(i64),
}

impl Audience {
    /// Whether an event of `key` may reach this stream.
    pub fn sees(self, key: &str) -> bool {
        match self {
            Audience::All => true,
            Audience::Learner(user) => {
                StatKey::parse(key).is_ok_and(|k| k.user().is_none_or(|u| u == user))
            }
        }
    }
}

/// Who opens a stream: what it may see, whose cap it counts against and
/// the sign-in that must stay valid for it to stay open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// What it may see.
    pub audience: Audience,
    /// The signed-in account, if any (capped per account).
    pub account: Option<i64>,
    /// The client's address (capped per address when not signed in).
    pub address: Option<IpAddr>,
    /// How the account signed in, checked again while the stream is open.
    pub credential: Option<Credential>,
}

impl Subscriber {
    /// Whose cap this stream counts against.
    fn caller(&self) -> Caller {
        match (self.account, self.address) {
            (Some(a), _) => Caller::Account(a),
            (None, Some(ip)) => Caller::Address(ip),
            (None, None) => Caller::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Caller {
    Account(i64),
    Address(IpAddr),
    Unknown,
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server's stream cap is reached.
    Full,
}

/// Answers whether a sign-in is still valid: `Some(false)` closes the
/// streams opened with it, `None` (the database cannot tell now) keeps them.
pub type CredentialCheck = Box<dyn Fn(&Credential) -> Option<bool> + Send>;

/// Which streams are open, by id: the one truth opening, closing and the
/// caps go by. Its lock is held for bookkeeping only, never for a write.
#[derive(Default)]
struct Registry {
    open: BTreeMap<u64, Subscriber>,
    /// Closed from outside for a newer stream of the same caller: told why.
    replaced: HashSet<u64>,
    next_id: u64,
}

enum Message {
    Event(EntryEvent),
    Open(Stream),
    CloseAll,
    Stop,
}

struct Stream {
    id: u64,
    socket: TcpStream,
    /// Kept unused: while it lives, the HTTP library leaves the connection
    /// to this stream (see `tiny_http::Request::into_socket`).
    _hold: Box<dyn Write + Send>,
    subscriber: Subscriber,
    /// Bytes the client has not taken yet, at most [`STREAM_BUFFER`].
    pending: Vec<u8>,
}

/// The open streams and the thread that writes to them; stops when dropped.
pub struct Broadcaster {
    registry: Arc<Mutex<Registry>>,
    queue: SyncSender<Message>,
    max_streams: usize,
    dropped: Arc<AtomicU64>,
    /// Set when the broadcaster is dropped.
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The head of an event stream: no length, the body runs until either side
/// closes. `retry` tells the browser to reconnect after 3 s.
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/event-stream; charset=utf-8\r\n\
Cache-Control: no-cache\r\n\
Connection: close\r\n\
X-Content-Type-Options: nosniff\r\n\
X-Accel-Buffering: no\r\n\
\r\n\
retry: 3000\n\n";

/// The last words to a stream closed for a newer one of the same caller, or
/// because its sign-in ended: the page stops listening instead of
/// reconnecting.
const CLOSED: &[u8] = b"event: closed\ndata: {}\n\n";

impl Broadcaster {
    /// Subscribes to the cache's entry events and starts the thread.
    /// `max_streams` caps the open streams of the server; `check` tells
    /// whether a stream's sign-in is still valid.
    pub fn start(cache: &StatsCache, max_streams: usize, check: CredentialCheck) -> Broadcaster {
        let registry: Arc<Mutex<Registry>> = Arc::default();
        let (queue, messages) = std::sync::mpsc::sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let events = cache.subscribe();
        let forward = queue.clone();
        let lost = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("event queue".into())
            .spawn(move || {
                while let Ok(event) = events.recv() {
                    match forward.try_send(Message::Event(event)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            lost.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
            })
            .expect("spawn the event queue");
        let shared = Arc::clone(&registry);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("event streams".into())
            .spawn(move || Writer::new(shared, check).run(&messages, &stopped))
            .expect("spawn the event broadcaster");
        Broadcaster {
            registry,
            queue,
            max_streams: max_streams.max(1),
            dropped,
            stop,
            thread: Some(thread),
        }
    }

    /// Counts a new stream of `subscriber` as open and returns its id. At
    /// the caller's cap, the caller's oldest stream is closed: the newest
    /// page is the one being looked at.
    pub fn admit(&self, subscriber: Subscriber) -> Result<u64, Refused> {
        let mut registry = lock(&self.registry);
        if registry.open.len() >= self.max_streams {
            return Err(Refused::Full);
        }
        let caller = subscriber.caller();
        let of_caller: Vec<u64> = registry
            .open
            .iter()
            .filter(|(_, s)| s.caller() == caller)
            .map(|(id, _)| *id)
            .collect();
        if of_caller.len() >= MAX_STREAMS_PER_CALLER {
            let excess = of_caller.len() + 1 - MAX_STREAMS_PER_CALLER;
            for id in &of_caller[..excess] {
                registry.open.remove(id);
                registry.replaced.insert(*id);
            }
        }
        registry.next_id += 1;
        let id = registry.next_id;
        registry.open.insert(id, subscriber);
        Ok(id)
    }

    /// Hands the admitted stream `id` its connection; the broadcaster
    /// writes the head and, from then on, every event it may see.
    pub fn open(&self, id: u64, socket: TcpStream, hold: Box<dyn Write + Send>) {
        let Some(subscriber) = lock(&self.registry).open.get(&id).cloned() else {
            return;
        };
        let stream = Stream {
            id,
            socket,
            _hold: hold,
            subscriber,
            pending: HEAD.to_vec(),
        };
        if let Err(e) = self.queue.try_send(Message::Open(stream)) {
            // The broadcaster is far behind or gone: the stream closes.
            let stream = match e {
                TrySendError::Full(Message::Open(s))
                | TrySendError::Disconnected(Message::Open(s)) => Some(s),
                _ => None,
            };
            self.forget(id);
            if let Some(s) = stream {
                s.socket.shutdown(Shutdown::Both).ok();
            }
        }
    }

    /// Forgets an admitted stream that will not be opened.
    pub fn forget(&self, id: u64) {
        lock(&self.registry).open.remove(&id);
    }

    /// Closes every stream (the server is stopping).
    pub fn close_all(&self) {
        lock(&self.registry).open.clear();
        self.queue.try_send(Message::CloseAll).ok();
    }

    /// How many streams are open.
    pub fn open_streams(&self) -> usize {
        lock(&self.registry).open.len()
    }

    /// Entry events left out because the broadcaster was too far behind.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Broadcaster {
    fn drop(&mut self) {
        // The flag stops the thread even when the queue is full and the
        // message cannot be sent; the message only wakes it sooner.
        self.stop.store(true, Ordering::SeqCst);
        lock(&self.registry).open.clear();
        self.queue.try_send(Message::Stop).ok();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    // A Mutex, not an RwLock: every use changes it or is a short count.
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// The broadcaster thread's state: the streams it owns and writes to.
struct Writer {
    registry: Arc<Mutex<Registry>>,
    check: CredentialCheck,
    streams: Vec<Stream>,
    last_sweep: Instant,
    last_comment: Instant,
    last_check: Instant,
}

impl Writer {
    fn new(registry: Arc<Mutex<Registry>>, check: CredentialCheck) -> Writer {
        let now = Instant::now();
        Writer {
            registry,
            check,
            streams: Vec::new(),
            last_sweep: now,
            last_comment: now,
            last_check: now,
        }
    }

    fn run(mut self, messages: &Receiver<Message>, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            match messages.recv_timeout(SWEEP) {
                Ok(Message::Event(event)) => self.send_event(&event),
                Ok(Message::Open(mut stream)) => {
                    if flush(&mut stream) {
                        self.streams.push(stream);
                    } else {
                        self.close(stream, false);
                    }
                }
                Ok(Message::CloseAll) => {
                    for s in std::mem::take(&mut self.streams) {
                        self.close(s, false);
                    }
                }
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.last_sweep.elapsed() >= SWEEP {
                self.sweep();
            }
        }
        for s in std::mem::take(&mut self.streams) {
            self.close(s, false);
        }
    }

    /// Queues the event on every stream that may see it.
    fn send_event(&mut self, event: &EntryEvent) {
        let Ok(data) = serde_json::to_string(event) else {
            return;
        };
        let message = format!("event: entry\ndata: {data}\n\n");
        self.write_where(message.as_bytes(), |s| {
            s.subscriber.audience.sees(&event.key)
        });
    }

    /// Queues `bytes` on the streams `to` picks and writes what each client
    /// takes now; a stream over its buffer is closed.
    fn write_where(&mut self, bytes: &[u8], to: impl Fn(&Stream) -> bool) {
        let mut i = 0;
        while i < self.streams.len() {
            let s = &mut self.streams[i];
            let keep = !to(s)
                || (s.pending.len() + bytes.len() <= STREAM_BUFFER && {
                    s.pending.extend_from_slice(bytes);
                    flush(s)
                });
            if keep {
                i += 1;
            } else {
                let s = self.streams.swap_remove(i);
                self.close(s, false);
            }
        }
    }

    /// Every stream: closed from outside, its client gone, its sign-in
    /// ended; buffered bytes written; a comment when idle.
    fn sweep(&mut self) {
        self.last_sweep = Instant::now();
        let invalid = if self.last_check.elapsed() >= RECHECK {
            self.last_check = Instant::now();
            self.invalid_credentials()
        } else {
            HashSet::new()
        };
        let (open, replaced) = {
            let mut registry = lock(&self.registry);
            let replaced = std::mem::take(&mut registry.replaced);
            let open: HashSet<u64> = registry.open.keys().copied().collect();
            (open, replaced)
        };
        let mut i = 0;
        while i < self.streams.len() {
            let s = &mut self.streams[i];
            let signed_out = s
                .subscriber
                .credential
                .as_ref()
                .is_some_and(|c| invalid.contains(c));
            let told = replaced.contains(&s.id) || signed_out;
            if open.contains(&s.id) && !signed_out && !client_gone(s) && flush(s) {
                i += 1;
            } else {
                let s = self.streams.swap_remove(i);
                self.close(s, told);
            }
        }
        if self.last_comment.elapsed() >= KEEP_ALIVE {
            self.last_comment = Instant::now();
            self.write_where(b": keep-alive\n\n", |_| true);
        }
    }

    /// The sign-ins of open streams that are no longer valid, each asked once.
    fn invalid_credentials(&self) -> HashSet<Credential> {
        let mut seen: HashMap<&Credential, bool> = HashMap::new();
        for c in self
            .streams
            .iter()
            .filter_map(|s| s.subscriber.credential.as_ref())
        {
            if !seen.contains_key(c) {
                let valid = (self.check)(c).unwrap_or(true);
                seen.insert(c, valid);
            }
        }
        seen.into_iter()
            .filter(|(_, valid)| !valid)
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Ends a stream: `tell` first says why, if the client takes it now.
    fn close(&self, mut stream: Stream, tell: bool) {
        if tell {
            stream.socket.write_all(CLOSED).ok();
        }
        stream.socket.shutdown(Shutdown::Both).ok();
        lock(&self.registry).open.remove(&stream.id);
    }
}

/// Writes what the client takes now; false when the connection failed.
fn flush(stream: &mut Stream) -> bool {
    while !stream.pending.is_empty() {
        match stream.socket.write(&stream.pending) {
            Ok(0) => return false,
            Ok(n) => {
                stream.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Whether the client closed its side. A stream's client sends nothing:
/// whatever it sends is read and ignored.
fn client_gone(stream: &mut Stream) -> bool {
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        match stream.socket.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_sees_shared_keys_and_their_own() {
        let learner = Audience::Learner(2);
        assert!(learner.sees("dashboard"));
        assert!(learner.sees("dashboard?category=adult"));
        assert!(learner.sees("speaker/5"));
        assert!(learner.sees("user/2/analytics"));
        assert!(!learner.sees("user/3/analytics"));
        assert!(!learner.sees("user/21/daily/2025-06-26"));
        assert!(!learner.sees("not a key"));
        assert!(Audience::All.sees("user/3/analytics"));
    }
}
