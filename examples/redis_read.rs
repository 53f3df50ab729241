//! Benchmark helper for `make bench-cluster`: the cost of a cache hit
//! through Redis, as a node pays it when it cannot use its memory (a
//! reconnection, a key another node just wrote): `GET voxdash:entry:KEY`
//! plus decoding the entry; and, beside it, a whole hit on a node
//! (`StatsCache::get`, memory and the revision check).
//!
//! Usage: `cargo run --release --example redis_read -- DATA_DIR REDIS_URL`

use std::sync::Arc;
use std::time::Instant;

use voxdash::cache::{Entry, StatsCache};
use voxdash::config::Config;
use voxdash::stats::StatKey;
use voxdash::store::Store;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (dir, url) = match (args.next(), args.next()) {
        (Some(d), Some(u)) => (d, u),
        _ => anyhow::bail!("usage: redis_read DATA_DIR REDIS_URL"),
    };
    let now = std::env::var("VOXDASH_NOW").ok();
    let mut config = Config::load(std::path::Path::new(&dir), None, now.as_deref())?;
    config.cache_url = Some(url.clone());
    let store = Arc::new(Store::open(&config.db_path())?);
    let cache = StatsCache::open(&config, store)?;
    cache.get(&StatKey::Dashboard)?;
    cache.wait_idle();

    let mut redis = redis::Client::open(url.as_str())?.get_connection()?;
    let mut reads = Vec::new();
    let mut size = 0;
    for _ in 0..2000 {
        let t = Instant::now();
        let bytes: Vec<u8> = redis::cmd("GET")
            .arg("voxdash:entry:dashboard")
            .query(&mut redis)?;
        let entry = Entry::decode(&bytes).expect("a current entry");
        reads.push(t.elapsed().as_secs_f64() * 1e6);
        size = bytes.len();
        assert!(entry.ttl_secs > 0);
    }
    println!(
        "dashboard entry read from Redis (GET + decode, {size} bytes): median {:.1} µs",
        median(reads)
    );

    let mut hits = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let a = cache.get(&StatKey::Dashboard)?;
        hits.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(a.status.as_str(), "cached");
    }
    println!(
        "dashboard cache hit on a node with the shared cache (memory + revision check): median {:.1} µs",
        median(hits)
    );
    Ok(())
}
