//! Entry events: every write, invalidation or stale-marking of an entry is
//! told to whoever subscribed (the web server's event streams), as it
//! happens. Subscribers that went away are dropped at the next event. Each
//! subscriber's queue is bounded and sending never waits: a subscriber that
//! falls [`QUEUE`] events behind misses the newer ones (counted), so a slow
//! reader can never hold up a write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

/// Events waiting for one subscriber, at most.
pub const QUEUE: usize = 4096;

use serde::Serialize;

use super::Freshness;

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryEvent {
    /// The entry's key.
    pub key: String,
    /// `Fresh` (just computed) or `Stale` (marked stale or dropped).
    pub status: Freshness,
    /// When the entry now stored was computed (RFC 3339), `null` when it was
    /// dropped.
    pub computed_at: Option<String>,
    /// Writes to its data since it was computed.
    pub changes_since: u64,
}

/// The subscribers of a cache's entry events.
#[derive(Debug, Default)]
pub struct Events {
    subscribers: Mutex<Vec<SyncSender<EntryEvent>>>,
    /// Events a subscriber missed because its queue was full.
    missed: AtomicU64,
}

impl Events {
    /// A new subscription: every event from now on arrives on the receiver.
    pub fn subscribe(&self) -> Receiver<EntryEvent> {
        let (tx, rx) = sync_channel(QUEUE);
        self.lock().push(tx);
        rx
    }

    /// Tells every subscriber without waiting; drops those whose receiver
    /// is gone.
    pub fn send(&self, event: EntryEvent) {
        let mut subscribers = self.lock();
        if subscribers.is_empty() {
            return;
        }
        subscribers.retain(|s| match s.try_send(event.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.missed.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// Events missed by subscribers whose queue was full.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SyncSender<EntryEvent>>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_hears_and_the_gone_are_dropped() {
        let events = Events::default();
        let a = events.subscribe();
        let b = events.subscribe();
        let event = EntryEvent {
            key: "dashboard".into(),
            status: Freshness::Stale,
            computed_at: None,
            changes_since: 0,
        };
        events.send(event.clone());
        assert_eq!(a.recv().unwrap(), event);
        assert_eq!(b.recv().unwrap(), event);
        drop(b);
        events.send(event.clone());
        assert_eq!(events.lock().len(), 1);
        assert_eq!(a.recv().unwrap(), event);
    }

    #[test]
    fn a_subscriber_that_never_reads_never_holds_up_a_sender() {
        let events = Events::default();
        let _never_read = events.subscribe();
        let event = EntryEvent {
            key: "dashboard".into(),
            status: Freshness::Stale,
            computed_at: None,
            changes_since: 0,
        };
        for _ in 0..QUEUE + 10 {
            events.send(event.clone());
        }
        assert_eq!(events.missed(), 10);
    }
}
