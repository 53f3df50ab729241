//! voxdash: marks the connection when a chunked body is dropped before its end.

use std::io::{Read, Result as IoResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Passes reads through; if dropped before the inner reader said EOF, sets
/// `abandoned` so that the connection closes instead of reading on.
pub struct UntilEof<R> {
    inner: R,
    done: bool,
    abandoned: Arc<AtomicBool>,
}

impl<R> UntilEof<R> {
    pub fn new(inner: R, abandoned: Arc<AtomicBool>) -> UntilEof<R> {
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
            self.abandoned.store(true, Ordering::SeqCst);
        }
    }
}
