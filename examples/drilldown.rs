//! Benchmark helper for `make bench`: drill-down figures on a data
//! directory: the whole dashboard, one speaker's and one category's
//! statistic computed from scratch, and the warm-up of every category,
//! diagnosis and gender entry. Prints one line per figure, then the page
//! path of the largest category (for the web figures of bench.sh).
//!
//! Usage: `cargo run --release --example drilldown -- DATA_DIR`

use std::sync::Arc;
use std::time::Instant;

use voxdash::cache::StatsCache;
use voxdash::config::Config;
use voxdash::stats::key::Filter;
use voxdash::stats::{compute, StatKey};
use voxdash::store::Store;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median milliseconds of computing `key` `n` times from scratch.
fn compute_ms(store: &Store, config: &Config, key: &StatKey, n: usize) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        store.snapshot(|view| compute(view, config, key))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(times))
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: drilldown DATA_DIR");
    let now = std::env::var("VOXDASH_NOW").ok();
    // The zone the aggregates were built for, as the commands take it.
    let tz = std::env::var("VOXDASH_TZ").ok();
    let config = Config::load(std::path::Path::new(&dir), tz.as_deref(), now.as_deref())?;
    let store = Arc::new(Store::open(&config.db_path())?);
    let whole = compute_ms(&store, &config, &StatKey::Dashboard, 5)?;
    println!("whole dashboard computed: median {whole:.1} ms");

    let (largest, speakers): (String, Vec<i64>) = {
        let conn = store.conn()?;
        let largest = conn.query_value(
            "SELECT s.category FROM recordings r JOIN speakers s ON s.id = r.speaker_id
             GROUP BY s.category ORDER BY COUNT(*) DESC LIMIT 1",
            &[],
        )?;
        let ids = conn.query("SELECT id FROM speakers ORDER BY id", &[])?;
        let ids = ids.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
        (largest, ids)
    };
    let step = (speakers.len() / 200).max(1);
    let mut per_speaker = Vec::new();
    for id in speakers.iter().step_by(step) {
        let key = StatKey::Speaker {
            speaker: *id,
            range: Default::default(),
        };
        per_speaker.push(compute_ms(&store, &config, &key, 1)?);
    }
    println!(
        "one speaker's statistic computed: median {:.2} ms, max {:.2} ms over {} speakers",
        median(per_speaker.clone()),
        per_speaker.iter().copied().fold(0.0, f64::max),
        per_speaker.len()
    );
    let category = StatKey::SubCorpus(Filter {
        category: Some(largest.clone()),
        ..Default::default()
    });
    let one = compute_ms(&store, &config, &category, 5)?;
    println!(
        "largest category ({largest}) computed: median {one:.1} ms = {:.2} x the whole dashboard",
        one / whole
    );

    let cache = StatsCache::open(&config, Arc::clone(&store))?;
    let keys = voxdash::jobs::warmup::group_keys(&store.conn()?)?;
    let t = Instant::now();
    for key in &keys {
        cache.refresh(key)?;
    }
    println!(
        "warm-up of every category, diagnosis and gender entry ({} entries): {:.2} s",
        keys.len(),
        t.elapsed().as_secs_f64()
    );
    cache.wait_idle();
    println!(
        "/audio/dashboard/?{}",
        match &category {
            StatKey::SubCorpus(f) => f.query(),
            _ => unreachable!(),
        }
    );
    Ok(())
}
