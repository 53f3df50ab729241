//! Benchmark helper for `make bench`: the median time of a cache hit
//! (redb read + postcard decode + revision check) of the `dashboard` entry,
//! and of each per-user statistic computed from scratch.
//!
//! Usage: `cargo run --release --example cache_hit -- DATA_DIR`

use std::sync::Arc;
use std::time::Instant;

use voxdash::cache::StatsCache;
use voxdash::config::Config;
use voxdash::stats::StatKey;
use voxdash::store::Store;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: cache_hit DATA_DIR");
    let now = std::env::var("VOXDASH_NOW").ok();
    // The zone the aggregates were built for, as the commands take it
    // (another one would rebuild them for it).
    let tz = std::env::var("VOXDASH_TZ").ok();
    let config = Config::load(std::path::Path::new(&dir), tz.as_deref(), now.as_deref())?;
    let store = Arc::new(Store::open(&config.db_path())?);
    let cache = StatsCache::open(&config, Arc::clone(&store))?;
    cache.get(&StatKey::Dashboard)?;
    cache.wait_idle();
    let mut hits = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let a = cache.get(&StatKey::Dashboard)?;
        hits.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(a.status.as_str(), "cached");
    }
    println!("dashboard cache hit: median {:.1} µs", median(hits));

    let users = voxdash::store::learners(&store.conn()?, None)?;
    let today = config.local.date(config.clock.now_micros());
    let monday = voxdash::clock::LocalTime::monday_of(today);
    for (name, make) in [
        (
            "daily",
            Box::new(|u| StatKey::Daily {
                user: u,
                date: today,
            }) as Box<dyn Fn(i64) -> StatKey>,
        ),
        (
            "weekly",
            Box::new(move |u| StatKey::Weekly { user: u, monday }),
        ),
        ("analytics", Box::new(|u| StatKey::Analytics { user: u })),
        ("courses", Box::new(|u| StatKey::Courses { user: u })),
    ] {
        let mut times = Vec::new();
        for u in users.iter().take(200) {
            let t = Instant::now();
            store.snapshot(|view| voxdash::stats::compute(view, &config, &make(*u)))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "per-user {name}: median {:.2} ms, max {:.2} ms over {} users",
            median(times.clone()),
            times.iter().cloned().fold(0.0, f64::max),
            times.len()
        );
    }
    Ok(())
}
