//! Throttling of failed sign-ins, per account and per client address, kept
//! in memory (a restart forgets it, which costs an attacker nothing they
//! could not get by waiting out the window).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::WebError;

/// Failures allowed per account within [`WINDOW`].
pub const PER_ACCOUNT: u32 = 5;
/// Failures allowed per client address within [`WINDOW`] (several people
/// may sign in from behind one address, so it is larger).
pub const PER_ADDRESS: u32 = 20;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most keys remembered; older windows are forgotten first beyond it.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// The keys one sign-in attempt is counted under.
#[derive(Debug, Clone)]
pub struct Keys {
    account: String,
    address: Option<String>,
}

/// Counts failed sign-ins; a `Mutex` because every attempt reads and writes.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl SignInThrottle {
    /// The keys of an attempt for `username` from `remote`.
    pub fn keys(&self, username: &str, remote: Option<IpAddr>) -> Keys {
        Keys {
            account: format!("account:{username}"),
            address: remote.map(|ip| format!("address:{ip}")),
        }
    }

    /// `Throttled(seconds to wait)` while the account or the address has
    /// used up its failures in the current window.
    pub fn check(&self, keys: &Keys) -> Result<(), WebError> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for (key, limit) in keys.with_limits() {
            if let Some(f) = map.get(key) {
                let age = now.duration_since(f.since);
                if age < WINDOW && f.count >= limit {
                    wait = wait.max((WINDOW - age).as_secs().max(1));
                }
            }
        }
        if wait > 0 {
            Err(WebError::Throttled(wait))
        } else {
            Ok(())
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, keys: &Keys) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.duration_since(f.since) < WINDOW);
        }
        for (key, _) in keys.with_limits() {
            let f = map.entry(key.to_string()).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now.duration_since(f.since) >= WINDOW {
                *f = Failures {
                    count: 0,
                    since: now,
                };
            }
            f.count += 1;
        }
    }

    /// A successful sign-in clears its account's failures (not the address's).
    pub fn succeeded(&self, keys: &Keys) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&keys.account);
    }
}

impl Keys {
    fn with_limits(&self) -> impl Iterator<Item = (&str, u32)> {
        std::iter::once((self.account.as_str(), PER_ACCOUNT))
            .chain(self.address.as_deref().map(|a| (a, PER_ADDRESS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_throttled_after_its_failures_and_others_are_not() {
        let t = SignInThrottle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let keys = t.keys("ada", Some(ip));
        for _ in 0..PER_ACCOUNT {
            t.check(&keys).unwrap();
            t.failed(&keys);
        }
        match t.check(&keys) {
            Err(WebError::Throttled(s)) => assert!(s > 0 && s <= WINDOW.as_secs()),
            other => panic!("{other:?}"),
        }
        let other = t.keys("bob", Some(ip));
        assert!(t.check(&other).is_ok());
    }
}
