//! Benchmark helper for `make bench-cluster`: the shared statistics
//! computed from SQLite and from PostgreSQL holding the same rows (after
//! `voxdash migrate --to`), in milliseconds, median of five each, and
//! that they agree. Keys after the URL (e.g. `dashboard?category=…`) are
//! computed too.
//!
//! Usage: `cargo run --release --example pg_compute -- DATA_DIR DATABASE_URL [KEY…]`

use std::time::Instant;

use voxdash::config::Config;
use voxdash::stats::{compute, StatKey};
use voxdash::store::Store;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (dir, url) = match (args.next(), args.next()) {
        (Some(d), Some(u)) => (d, u),
        _ => anyhow::bail!("usage: pg_compute DATA_DIR DATABASE_URL"),
    };
    let now = std::env::var("VOXDASH_NOW").ok();
    // The zone the aggregates were built for, as the commands take it.
    let tz = std::env::var("VOXDASH_TZ").ok();
    let config = Config::load(std::path::Path::new(&dir), tz.as_deref(), now.as_deref())?;
    let sqlite = Store::open(&config.db_path())?;
    let pg = Store::open_postgres(&url)?;
    let mut keys = StatKey::SHARED.to_vec();
    for text in args {
        keys.push(StatKey::parse(&text)?);
    }
    for key in keys {
        let (mut here, mut there) = (Vec::new(), Vec::new());
        let (mut a, mut b) = (None, None);
        for _ in 0..5 {
            let t = Instant::now();
            a = Some(sqlite.snapshot(|v| compute(v, &config, &key))?);
            here.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            b = Some(pg.snapshot(|v| compute(v, &config, &key))?);
            there.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let same = a.map(|c| c.statistic) == b.map(|c| c.statistic);
        println!(
            "{key}: SQLite {:.1} ms, PostgreSQL {:.1} ms (median of 5), {}",
            median(here),
            median(there),
            if same { "equal" } else { "DIFFERENT" }
        );
    }
    Ok(())
}
