//! Benchmark helper for `make bench-cluster`: the shared statistics
//! computed from SQLite and from PostgreSQL holding the same rows (after
//! `voxdash migrate --to`), median of three each, and that they agree.
//!
//! Usage: `cargo run --release --example pg_compute -- DATA_DIR DATABASE_URL`

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
    let config = Config::load(std::path::Path::new(&dir), None, now.as_deref())?;
    let sqlite = Store::open(&config.db_path())?;
    let pg = Store::open_postgres(&url)?;
    for key in StatKey::SHARED {
        let (mut here, mut there) = (Vec::new(), Vec::new());
        let (mut a, mut b) = (None, None);
        for _ in 0..3 {
            let t = Instant::now();
            a = Some(sqlite.snapshot(|v| compute(v, &config, &key))?);
            here.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            b = Some(pg.snapshot(|v| compute(v, &config, &key))?);
            there.push(t.elapsed().as_secs_f64());
        }
        let same = a.map(|c| c.statistic) == b.map(|c| c.statistic);
        println!(
            "{key}: SQLite {:.2} s, PostgreSQL {:.2} s (median of 3), {}",
            median(here),
            median(there),
            if same { "equal" } else { "DIFFERENT" }
        );
    }
    Ok(())
}
