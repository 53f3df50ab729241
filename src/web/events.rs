//! `GET /api/v1/events`: server-sent events of cache entries. An accepted
//! stream leaves its worker at once: the worker writes the response head
//! and hands the connection to one broadcaster thread, which writes each
//! entry event to every stream allowed to see its key, a comment every 15 s
//! to keep proxies from closing idle streams, and drops a stream whose
//! client went away (its next write fails).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{EntryEvent, StatsCache};
use crate::stats::StatKey;

/// Open streams at most, in all.
pub const MAX_STREAMS: usize = 1000;
/// Open streams at most per signed-in account.
pub const MAX_STREAMS_PER_ACCOUNT: usize = 8;
/// How often an idle stream gets a comment line.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

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
                StatKey::parse(key).is_ok_and(|k| k.user().map_or(true, |u| u == user))
            }
        }
    }
}

/// Who opens a stream: what it may see and whose cap it counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    /// What it may see.
    pub audience: Audience,
    /// The signed-in account, if any (capped per account).
    pub account: Option<i64>,
}

struct Stream {
    writer: Box<dyn Write + Send>,
    subscriber: Subscriber,
}

/// The open streams and the thread that writes to them; stops when dropped.
pub struct Broadcaster {
    streams: Arc<Mutex<Vec<Stream>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// [`MAX_STREAMS`] are open.
    Full,
    /// The account has [`MAX_STREAMS_PER_ACCOUNT`] open.
    AccountFull,
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

impl Broadcaster {
    /// Subscribes to the cache's entry events and starts the thread.
    pub fn start(cache: &StatsCache) -> Broadcaster {
        let events = cache.subscribe();
        let streams: Arc<Mutex<Vec<Stream>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, flag) = (Arc::clone(&streams), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("event streams".into())
            .spawn(move || broadcast(&events, &s, &flag))
            .expect("spawn the event broadcaster");
        Broadcaster {
            streams,
            stop,
            thread: Some(thread),
        }
    }

    /// Whether one more stream of `subscriber` may open.
    pub fn admits(&self, subscriber: &Subscriber) -> Result<(), Refused> {
        let streams = lock(&self.streams);
        if streams.len() >= MAX_STREAMS {
            return Err(Refused::Full);
        }
        let of_account = |a| {
            streams
                .iter()
                .filter(|s| s.subscriber.account == Some(a))
                .count()
        };
        match subscriber.account {
            Some(a) if of_account(a) >= MAX_STREAMS_PER_ACCOUNT => Err(Refused::AccountFull),
            _ => Ok(()),
        }
    }

    /// Writes the response head to `writer` and adds it to the open streams.
    pub fn open(&self, mut writer: Box<dyn Write + Send>, subscriber: Subscriber) {
        // Under the lock, so that once the client has the head the stream
        // is counted and hears every event.
        let mut streams = lock(&self.streams);
        if writer.write_all(HEAD).and_then(|()| writer.flush()).is_ok() {
            streams.push(Stream { writer, subscriber });
        }
    }

    /// Closes every stream (the server is stopping).
    pub fn close_all(&self) {
        lock(&self.streams).clear();
    }

    /// How many streams are open.
    pub fn open_streams(&self) -> usize {
        lock(&self.streams).len()
    }
}

impl Drop for Broadcaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        lock(&self.streams).clear();
    }
}

fn lock(streams: &Mutex<Vec<Stream>>) -> std::sync::MutexGuard<'_, Vec<Stream>> {
    streams.lock().unwrap_or_else(|e| e.into_inner())
}

/// The broadcaster's loop: each event to the streams that see its key, a
/// comment to all when idle, and out with every stream whose write fails.
fn broadcast(events: &Receiver<EntryEvent>, streams: &Mutex<Vec<Stream>>, stop: &AtomicBool) {
    let mut last_comment = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        match events.recv_timeout(Duration::from_millis(250)) {
            Ok(event) => {
                let Ok(data) = serde_json::to_string(&event) else {
                    continue;
                };
                let message = format!("event: entry\ndata: {data}\n\n");
                write_all(streams, message.as_bytes(), |s| {
                    s.subscriber.audience.sees(&event.key)
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_comment.elapsed() >= KEEP_ALIVE {
            last_comment = Instant::now();
            write_all(streams, b": keep-alive\n\n", |_| true);
        }
    }
}

fn write_all(streams: &Mutex<Vec<Stream>>, bytes: &[u8], to: impl Fn(&Stream) -> bool) {
    lock(streams).retain_mut(|s| {
        !to(s)
            || s.writer
                .write_all(bytes)
                .and_then(|()| s.writer.flush())
                .is_ok()
    });
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
