//! The job lease: a row in the database that one runner of a job holds
//! while it runs, so a job never overlaps itself, across processes too
//! (the scheduler, a cron CLI, the web button). A holder renews it while it
//! works; if it dies, the lease expires and the next runner takes it.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::JobName;
use crate::store::{self, Store, StoreError};

/// How long a lease lasts without renewal (a dead holder blocks the job
/// this long at most).
pub const LEASE: Duration = Duration::from_secs(120);
/// How often a live holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(30);

/// Wall-clock now in µs: leases measure real time, whatever `VOXDASH_NOW` says.
fn wall_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// A held lease; dropping it stops the renewal and gives the lease back.
pub struct Lease {
    store: Arc<Store>,
    job: String,
    holder: String,
    stop: Arc<(Mutex<bool>, Condvar)>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

/// This host's name, to tell whether a holder ran here.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether `holder` (`host:pid:token`) is a process of this host that no
/// longer exists: its lease need not wait for the expiry.
fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.splitn(3, ':');
    let (Some(h), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if h.is_empty() || h != host() || pid <= 0 {
        return false;
    }
    #[cfg(unix)]
    {
        // No signal: only whether the process exists.
        use nix::sys::signal::kill;
        use nix::unistd::Pid;
        kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Takes the lease of `job`, or `None` when another runner holds it. A
/// lease whose holder was a process of this host that has died (killed,
/// crashed) is taken over at once; one from another host waits for expiry.
pub fn take(store: &Arc<Store>, name: JobName) -> Result<Option<Lease>, StoreError> {
    let job = name.as_str();
    let holder = format!(
        "{}:{}:{}",
        host(),
        std::process::id(),
        crate::accounts::new_token()
    );
    let now = wall_micros();
    let until = now + LEASE.as_micros() as i64;
    let conn = store.conn()?;
    let mut taken = store::jobs::take_lease(&conn, job, &holder, now, until)?;
    if !taken {
        if let Some(old) = store::jobs::lease_holder(&conn, job)? {
            if holder_is_dead(&old) {
                log::warn!("job {job}: its last runner ({old}) died; taking over its lease");
                taken = store::jobs::replace_lease(&conn, job, &old, &holder, until)?;
            }
        }
    }
    if !taken {
        return Ok(None);
    }
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let renewer = {
        let (store, job, holder, stop) = (
            Arc::clone(store),
            job.to_string(),
            holder.clone(),
            Arc::clone(&stop),
        );
        std::thread::Builder::new()
            .name(format!("lease {job}"))
            .spawn(move || renew_until_stopped(&store, &job, &holder, &stop))
            .ok()
    };
    Ok(Some(Lease {
        store: Arc::clone(store),
        job: job.to_string(),
        holder,
        stop,
        renewer,
    }))
}

fn renew_until_stopped(store: &Store, job: &str, holder: &str, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
    while !*stopped {
        let (guard, _) = wake
            .wait_timeout(stopped, RENEW_EVERY)
            .unwrap_or_else(|e| e.into_inner());
        stopped = guard;
        if *stopped {
            break;
        }
        let until = wall_micros() + LEASE.as_micros() as i64;
        match store
            .conn()
            .and_then(|c| store::jobs::renew_lease(&c, job, holder, until))
        {
            Ok(true) => {}
            Ok(false) => log::warn!("job {job}: lease lost (expired and taken over)"),
            Err(e) => log::warn!("job {job}: lease not renewed: {e}"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let (lock, wake) = &*self.stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
        }
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        let released = self
            .store
            .conn()
            .and_then(|c| store::jobs::release_lease(&c, &self.job, &self.holder));
        if let Err(e) = released {
            log::warn!(
                "job {}: lease not released (it expires by itself): {e}",
                self.job
            );
        }
    }
}

/// Whether some runner (in any process) holds the lease of `job` now.
pub fn is_running(store: &Store, job: JobName) -> bool {
    store
        .conn()
        .and_then(|c| store::jobs::lease_held(&c, job.as_str(), wall_micros()))
        .unwrap_or(false)
}
