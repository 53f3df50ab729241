//! `/metrics`: request, cache and job counters in the Prometheus text format.

use super::app::App;
use super::error::WebError;
use super::reply::Reply;
use std::fmt::Write;

use crate::store;

/// `GET /metrics`.
pub(super) fn metrics(app: &App) -> Result<Reply, WebError> {
    let mut s = String::new();
    requests(&mut s, app);
    computations(&mut s, app);
    jobs(&mut s, app);
    gauges(&mut s, app);
    Ok(Reply::Text("text/plain; version=0.0.4; charset=utf-8", s))
}

/// Requests answered, by route and status.
fn requests(s: &mut String, app: &App) {
    let _ = writeln!(
        s,
        "# HELP voxdash_http_requests_total Requests served, by route and status."
    );
    let _ = writeln!(s, "# TYPE voxdash_http_requests_total counter");
    for ((route, status), n) in app.requests.snapshot() {
        let _ = writeln!(
            s,
            "voxdash_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
        );
    }
}

/// Hits, misses, stale answers and computations of the cache, by key kind.
fn computations(s: &mut String, app: &App) {
    let snapshot = app.cache.metrics().snapshot();
    for (name, help, get) in [
        (
            "voxdash_cache_hits_total",
            "Cache answers within TTL.",
            Box::new(|m: &crate::cache::KindMetrics| m.hits as f64)
                as Box<dyn Fn(&crate::cache::KindMetrics) -> f64>,
        ),
        (
            "voxdash_cache_misses_total",
            "Keys computed because nothing was cached.",
            Box::new(|m| m.misses as f64),
        ),
        (
            "voxdash_cache_stale_total",
            "Stale answers served while recomputing.",
            Box::new(|m| m.stale as f64),
        ),
        (
            "voxdash_cache_computations_total",
            "Statistics computed.",
            Box::new(|m| m.computations as f64),
        ),
        (
            "voxdash_cache_compute_seconds_total",
            "Time spent computing.",
            Box::new(|m| m.compute_micros_sum as f64 / 1e6),
        ),
        (
            "voxdash_cache_compute_seconds_max",
            "Longest computation.",
            Box::new(|m| m.compute_micros_max as f64 / 1e6),
        ),
    ] {
        let kind = if name.ends_with("_max") {
            "gauge"
        } else {
            "counter"
        };
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (k, m) in &snapshot {
            let _ = writeln!(s, "{name}{{kind=\"{}\"}} {}", k.name(), get(m));
        }
    }
}

/// When each job last succeeded (read from the database, any process).
fn jobs(s: &mut String, app: &App) {
    let _ = writeln!(
        s,
        "# HELP voxdash_job_last_success_timestamp_seconds When the last successful run of each job started (any process).\n# TYPE voxdash_job_last_success_timestamp_seconds gauge"
    );
    // While the database is away the other figures still count (the
    // reachability gauge among them); the job times are left out.
    let store = &app.store;
    let successes = store
        .conn()
        .and_then(|conn| store::jobs::last_successes(&conn))
        .unwrap_or_default();
    for (job, started) in successes {
        let _ = writeln!(
            s,
            "voxdash_job_last_success_timestamp_seconds{{job=\"{job}\"}} {}",
            started / 1_000_000
        );
    }
}

/// Streams, memory and whether the cache and the database answer.
fn gauges(s: &mut String, app: &App) {
    let _ = writeln!(
        s,
        "# HELP voxdash_event_streams Open event streams (GET /api/v1/events).\n# TYPE voxdash_event_streams gauge\nvoxdash_event_streams {}",
        app.events.open_streams()
    );
    let _ = writeln!(
        s,
        "# HELP voxdash_events_dropped_total Entry events left out because a stream's queue was full.\n# TYPE voxdash_events_dropped_total counter\nvoxdash_events_dropped_total {}",
        app.events.dropped_events() + app.cache.missed_events()
    );
    let _ = writeln!(
        s,
        "# HELP voxdash_cache_memory_keys Keys held in each in-memory index of the stats cache (each bounded).\n# TYPE voxdash_cache_memory_keys gauge"
    );
    for (index, keys) in app.cache.memory_indexes() {
        let _ = writeln!(s, "voxdash_cache_memory_keys{{index=\"{index}\"}} {keys}");
    }
    if let Some(bytes) = resident_bytes() {
        let _ = writeln!(
            s,
            "# HELP voxdash_process_resident_memory_bytes Memory of this process in RAM (RSS).\n# TYPE voxdash_process_resident_memory_bytes gauge\nvoxdash_process_resident_memory_bytes {bytes}"
        );
    }
    let _ = writeln!(
        s,
        "# HELP voxdash_cache_reachable Whether the place of the stats cache (file or Redis) can be used now.\n# TYPE voxdash_cache_reachable gauge\nvoxdash_cache_reachable {}",
        u8::from(app.cache.health().is_ok())
    );
    let _ = writeln!(
        s,
        "# HELP voxdash_cache_writable Whether the place of the stats cache stores entries now (0 while Redis refuses writes, e.g. at maxmemory).\n# TYPE voxdash_cache_writable gauge\nvoxdash_cache_writable {}",
        u8::from(app.cache.health().is_ok() && app.cache.refusing_writes().is_none())
    );
    let _ = writeln!(
        s,
        "# HELP voxdash_database_reachable Whether the database (SQLite file or PostgreSQL) can be used now.\n# TYPE voxdash_database_reachable gauge\nvoxdash_database_reachable {}",
        u8::from(app.store.health().is_ok())
    );
}

/// This process's resident memory, from `/proc/self/status` (Linux; `None`
/// elsewhere).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
