//! `voxdash warmup` and `voxdash precompute` (the original
//! `CacheWarmupService` and `precompute_cache`): compute entries ahead of
//! readers so pages load at once; and the debounced warm-up of a user
//! after they finish a session.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cache::Freshness;
use crate::clock::{days_micros, LocalTime};
use crate::stats::key::Filter;
use crate::stats::StatKey;
use crate::store;
use crate::App;

/// What a warm-up or precompute did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmupReport {
    /// Entries computed.
    pub computed: u64,
    /// Entries already current, left alone.
    pub skipped: u64,
    /// Entries that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// Users covered.
    pub users: u64,
}

impl WarmupReport {
    /// One line for people and the job record.
    pub fn summary(&self) -> String {
        format!(
            "{} users: {} computed, {} already current, {} failed",
            self.users,
            self.computed,
            self.skipped,
            self.failed.len()
        )
    }
}

/// How many days count as "recent" for warm-up and `precompute
/// --active-users-only` when not given.
pub const RECENT_DAYS: u32 = 7;

/// The entries a page view of user `user` reads today.
pub fn user_keys(local: &LocalTime, now: i64, user: i64) -> Vec<StatKey> {
    let today = local.date(now);
    StatKey::user_keys(user, today, LocalTime::monday_of(today))
        .expect("monday_of gives a Monday")
        .to_vec()
}

/// One sub-corpus entry per category, diagnosis and gender present: what
/// a click on a group of the dashboard reads.
pub fn group_keys(conn: &store::Conn) -> Result<Vec<StatKey>, store::StoreError> {
    let values = store::speakers::group_values(conn)?;
    let mut keys = Vec::new();
    for (name, list) in [
        ("category", &values.categories),
        ("diagnosis", &values.diagnoses),
        ("gender", &values.genders),
    ] {
        for value in list {
            let mut filter = Filter::default();
            if matches!(filter.set(name, value.clone()), Ok(true)) {
                keys.push(StatKey::SubCorpus(filter));
            }
        }
    }
    Ok(keys)
}

/// Computes each key that is missing or not current (every key with
/// `force`), in the caller. `tick` is called after each key.
pub fn warm_keys(
    app: &App,
    keys: &[StatKey],
    force: bool,
    report: &mut WarmupReport,
    mut tick: impl FnMut(),
) {
    for key in keys {
        // `peek`, not `get`: a stale entry must not also start a background
        // recomputation while this one runs.
        let current =
            !force && matches!(app.cache.peek(key), Ok(Some(a)) if a.status == Freshness::Cached);
        if current {
            report.skipped += 1;
        } else {
            match app.cache.refresh(key) {
                Ok(_) => report.computed += 1,
                Err(e) => report.failed.push((key.to_string(), e.to_string())),
            }
        }
        tick();
    }
}

/// What to warm.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WarmupOptions {
    /// Only this user (with `global`, also the shared keys).
    pub user: Option<i64>,
    /// The shared keys.
    pub global: bool,
    /// Recompute entries that are still current.
    pub force: bool,
}

/// `voxdash warmup`: the shared keys (`--global`), one user (`--user`), or
/// with neither, the shared keys and every user active in the last
/// [`RECENT_DAYS`] days. `tick(done, total)` follows the keys.
pub fn warmup(
    app: &App,
    options: &WarmupOptions,
    mut tick: impl FnMut(u64, u64),
) -> Result<WarmupReport, store::StoreError> {
    let config = app.config.clone();
    let now = config.clock.now_micros();
    let mut keys = Vec::new();
    let everything = options.user.is_none() && !options.global;
    if options.global || everything {
        keys.extend(StatKey::SHARED);
        keys.extend(group_keys(&app.store.conn()?)?);
    }
    let users = match options.user {
        Some(u) => vec![u],
        None if everything => store::learners(
            &app.store.conn()?,
            Some(now - days_micros(RECENT_DAYS.into())),
        )?,
        None => Vec::new(),
    };
    for u in &users {
        keys.extend(user_keys(&config.local, now, *u));
    }
    let mut report = WarmupReport {
        users: users.len() as u64,
        ..Default::default()
    };
    let total = keys.len() as u64;
    let mut done = 0;
    warm_keys(app, &keys, options.force, &mut report, || {
        done += 1;
        tick(done, total);
    });
    Ok(report)
}

/// `voxdash precompute`: the per-user entries of every learner, or of those
/// active in the last `days_active` days. `tick(done, total)` follows the
/// users.
pub fn precompute(
    app: &App,
    active_only: bool,
    days_active: u32,
    mut tick: impl FnMut(u64, u64),
) -> Result<WarmupReport, store::StoreError> {
    let config = app.config.clone();
    let now = config.clock.now_micros();
    let since = active_only.then(|| now - days_micros(days_active as i64));
    let users = store::learners(&app.store.conn()?, since)?;
    let mut report = WarmupReport {
        users: users.len() as u64,
        ..Default::default()
    };
    let total = users.len() as u64;
    for (i, u) in users.iter().enumerate() {
        let keys = user_keys(&config.local, now, *u);
        warm_keys(app, &keys, false, &mut report, || {});
        tick(i as u64 + 1, total);
    }
    Ok(report)
}

/// Debounced warm-up of users after they finish a session: a burst of
/// notifications for one user runs one warm-up, `delay` after the last.
pub struct WarmupScheduler {
    state: Arc<(Mutex<SchedulerState>, Condvar)>,
}

#[derive(Default)]
struct SchedulerState {
    due: HashMap<i64, Instant>,
    stop: bool,
    runs: u64,
}

impl WarmupScheduler {
    /// Starts the scheduler's thread; it drops entries of the user and
    /// warms them when due.
    pub fn start(app: App) -> WarmupScheduler {
        let state = Arc::new((Mutex::new(SchedulerState::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        std::thread::Builder::new()
            .name("warmup scheduler".into())
            .spawn(move || {
                let (lock, cv) = &*shared;
                let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if st.stop {
                        return;
                    }
                    let now = Instant::now();
                    let ready: Vec<i64> = st
                        .due
                        .iter()
                        .filter(|(_, t)| **t <= now)
                        .map(|(u, _)| *u)
                        .collect();
                    for u in &ready {
                        st.due.remove(u);
                    }
                    if !ready.is_empty() {
                        drop(st);
                        for u in ready {
                            let opts = WarmupOptions {
                                user: Some(u),
                                force: true,
                                ..Default::default()
                            };
                            match warmup(&app, &opts, |_, _| {}) {
                                Ok(r) => log::info!("warm-up of user {u}: {}", r.summary()),
                                Err(e) => log::warn!("warm-up of user {u} failed: {e}"),
                            }
                            lock.lock().unwrap_or_else(|e| e.into_inner()).runs += 1;
                        }
                        st = lock.lock().unwrap_or_else(|e| e.into_inner());
                        continue;
                    }
                    let wait = st
                        .due
                        .values()
                        .min()
                        .map(|t| t.saturating_duration_since(now))
                        .unwrap_or(Duration::from_secs(3600));
                    st = cv
                        .wait_timeout(st, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })
            .expect("spawn warm-up scheduler");
        WarmupScheduler { state }
    }

    /// Schedules a warm-up of `user` after `delay`, replacing a pending one.
    pub fn session_finished(&self, user: i64, delay: Duration) {
        let (lock, cv) = &*self.state;
        lock.lock()
            .unwrap_or_else(|e| e.into_inner())
            .due
            .insert(user, Instant::now() + delay);
        cv.notify_all();
    }

    /// Warm-ups run so far.
    pub fn runs(&self) -> u64 {
        self.state.0.lock().unwrap_or_else(|e| e.into_inner()).runs
    }

    /// Users with a warm-up pending.
    pub fn pending(&self) -> usize {
        self.state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .due
            .len()
    }
}

impl Drop for WarmupScheduler {
    fn drop(&mut self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cv.notify_all();
    }
}
