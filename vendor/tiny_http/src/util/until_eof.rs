//! voxdash: a body dropped before its end ends its connection.

use std::io::{Read, Result as IoResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::refined_tcp_stream::ReadCloser;

/// Set when a request's body is dropped unread: the stream is then out of
/// step with the requests, so the connection must not read another one.
/// Marking it also shuts the reading side, so the connection closes at once
/// (after the answer is written) instead of waiting for the client.
pub struct Abandon {
    flag: AtomicBool,
    /// Set when the connection was handed over (`Request::into_socket`).
    detached: AtomicBool,
    closer: ReadCloser,
}

impl Abandon {
    pub(crate) fn new(closer: ReadCloser) -> Abandon {
        Abandon {
            flag: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            closer,
        }
    }

    /// Marks the connection abandoned and shuts its reading side.
    pub fn mark(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.closer.close();
    }

    /// Marks the connection handed over: its reader reads no further
    /// request and waits for the new owner to finish.
    pub fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    /// Whether the connection was handed over.
    pub fn is_detached(&self) -> bool {
        self.detached.load(Ordering::SeqCst)
    }

    /// A clone of the TCP socket, if the connection is plain TCP.
    pub fn tcp_clone(&self) -> Option<std::net::TcpStream> {
        self.closer.tcp_clone()
    }

    /// Whether a body was left unread.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Default for Abandon {
    fn default() -> Abandon {
        Abandon::new(ReadCloser::none())
    }
}

/// Passes reads through; if dropped before the inner reader said EOF, sets
/// `abandoned` so that the connection closes instead of reading on.
pub struct UntilEof<R> {
    inner: R,
    done: bool,
    abandoned: Arc<Abandon>,
}

impl<R> UntilEof<R> {
    pub fn new(inner: R, abandoned: Arc<Abandon>) -> UntilEof<R> {
        UntilEof {
            inner,
            done: false,
            abandoned,
        }
    }
}

impl<R: Read> Read for UntilEof<R> {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.done = true;
        }
        Ok(n)
    }
}

impl<R> Drop for UntilEof<R> {
    fn drop(&mut self) {
        if !self.done {
            self.abandoned.mark();
        }
    }
}
