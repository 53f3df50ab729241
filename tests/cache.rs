//! The stats cache as readers see it: fresh, cached, stale (by TTL and by
//! writes), invalidation, single flight, eviction, recovery, layouts, warm-up.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use voxdash::cache::{Freshness, StatsCache};
use voxdash::clock::Clock;
use voxdash::config::Config;
use voxdash::import::{import_dir, ImportOptions};
use voxdash::stats::StatKey;
use voxdash::store::Store;

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    /// The server of the shared cache, when the test runs against Redis.
    redis: Option<common::redis::Redis>,
}

/// The sample imported, the cache in the data directory's file.
fn fixture() -> Fixture {
    let dir = common::temp_dir();
    let store = Arc::new(Store::open(&dir.path().join("voxdash.db")).unwrap());
    import_dir(&store, &common::sample_dir(), &ImportOptions::default()).unwrap();
    Fixture {
        dir,
        store,
        redis: None,
    }
}

/// The same, the cache in a Redis server of its own.
fn fixture_in_redis() -> Fixture {
    Fixture {
        redis: Some(common::redis::Redis::start()),
        ..fixture()
    }
}

/// Runs each named case twice: on the cache file (`make test`) and on a
/// real Redis server (`make test-cluster`, which fails when redis-server
/// cannot start).
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[test]
                fn in_the_file() {
                    super::$case(&super::fixture());
                }

                #[test]
                #[ignore = "needs Debian's redis-server: make test-cluster"]
                fn in_redis() {
                    let f = super::fixture_in_redis();
                    super::$case(&f);
                    assert!(
                        !f.dir.path().join("stats.redb").exists(),
                        "a node with a shared cache keeps no cache file"
                    );
                }
            }
        )*
    };
}

on_both_backends!(
    fresh_then_cached_then_stale_after_ttl_then_fresh_after_refresh,
    a_write_makes_the_entry_stale_with_the_count_of_changes,
    prefix_clear_removes_exactly_one_users_entries,
    concurrent_readers_of_a_missing_key_share_one_computation,
    least_recently_used_user_entries_are_evicted_and_shared_ones_never,
    errors_are_not_cached,
    a_burst_of_finished_sessions_warms_the_user_once,
    refresh_ahead_recomputes_a_shared_entry_in_the_last_tenth_of_its_ttl,
);

impl Fixture {
    fn config_at(&self, now: &str) -> Config {
        let clock = Clock::from_env_value(Some(now)).unwrap();
        let mut config = Config::with(self.dir.path(), common::SAMPLE_TZ.parse().unwrap(), clock);
        config.cache_url = self.redis.as_ref().map(|r| r.url.clone());
        config
    }

    fn cache_at(&self, now: &str) -> Arc<StatsCache> {
        StatsCache::open(&self.config_at(now), Arc::clone(&self.store)).unwrap()
    }

    fn cache_with(&self, config: Config) -> Arc<StatsCache> {
        StatsCache::open(&config, Arc::clone(&self.store)).unwrap()
    }

    fn app_at(&self, now: &str) -> voxdash::App {
        voxdash::App::open(&self.config_at(now), Arc::clone(&self.store)).unwrap()
    }
}

const T0: &str = "2026-11-23T12:00:00+09:00";

fn fresh_then_cached_then_stale_after_ttl_then_fresh_after_refresh(f: &Fixture) {
    let cache = f.cache_at(T0);
    let first = cache.get(&StatKey::Dashboard).unwrap();
    assert_eq!(first.status, Freshness::Fresh);
    let second = cache.get(&StatKey::Dashboard).unwrap();
    assert_eq!(second.status, Freshness::Cached);
    assert_eq!(second.entry.computed_at, first.entry.computed_at);
    assert_eq!(
        second.envelope(Default::default())["computed_at"],
        "2026-11-23T03:00:00Z"
    );
    assert_eq!(
        second.envelope(Default::default())["expires_at"],
        "2026-11-24T03:00:00Z"
    );
    cache.wait_idle();
    drop(cache);

    // 25 hours later the 24 h entry is served stale, and recomputed behind.
    let later = f.cache_at("2026-11-24T13:00:00+09:00");
    let stale = later.get(&StatKey::Dashboard).unwrap();
    assert_eq!(stale.status, Freshness::Stale);
    assert_eq!(stale.entry.computed_at, first.entry.computed_at);
    later.wait_idle();
    let after = later.get(&StatKey::Dashboard).unwrap();
    assert_eq!(after.status, Freshness::Cached);
    assert!(after.entry.computed_at > first.entry.computed_at);
    let forced = later.refresh(&StatKey::Dashboard).unwrap();
    assert_eq!(forced.status, Freshness::Fresh);
}

fn a_write_makes_the_entry_stale_with_the_count_of_changes(f: &Fixture) {
    let cache = f.cache_at(T0);
    let key = StatKey::Analytics { user: 1 };
    assert_eq!(cache.get(&key).unwrap().status, Freshness::Fresh);
    let before = cache.get(&key).unwrap();
    assert_eq!(before.status, Freshness::Cached);
    assert_eq!(
        before.entry.statistic.to_json(Default::default())["total_sessions"],
        51
    );
    {
        // A write by "another process": plain SQL through the store.
        let conn = f.store.conn().unwrap();
        conn.execute(
            "INSERT INTO study_sessions (id, user_id, start_time, duration_minutes, is_active)
             VALUES (99001, 1, ?1, 30, 0)",
            &[voxdash::store::Value::Integer(
                Clock::from_env_value(Some(T0)).unwrap().now_micros() - 3_600_000_000,
            )],
        )
        .unwrap();
    }
    let stale = cache.get(&key).unwrap();
    assert_eq!(stale.status, Freshness::Stale);
    assert_eq!(stale.changes_since, 1);
    assert_eq!(
        stale.entry.statistic.to_json(Default::default())["total_sessions"],
        51
    );
    cache.wait_idle();
    let now = cache.get(&key).unwrap();
    assert_eq!(now.status, Freshness::Cached);
    assert_eq!(now.changes_since, 0);
    assert_eq!(
        now.entry.statistic.to_json(Default::default())["total_sessions"],
        52
    );
    // Another user's entry is not affected by user 1's write.
    let other = StatKey::Analytics { user: 2 };
    cache.get(&other).unwrap();
    assert_eq!(cache.get(&other).unwrap().status, Freshness::Cached);
}

fn prefix_clear_removes_exactly_one_users_entries(f: &Fixture) {
    let cache = f.cache_at(T0);
    for key in [
        "user/1/analytics",
        "user/1/courses",
        "user/10/courses",
        "user/2/courses",
        "dashboard",
    ] {
        cache.get(&StatKey::parse(key).unwrap()).unwrap();
    }
    assert_eq!(cache.invalidate_prefix("user/1/").unwrap(), 2);
    let mut left: Vec<String> = cache.list().unwrap().into_iter().map(|e| e.key).collect();
    left.sort();
    assert_eq!(left, ["dashboard", "user/10/courses", "user/2/courses"]);
}

fn concurrent_readers_of_a_missing_key_share_one_computation(f: &Fixture) {
    let cache = f.cache_at(T0);
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                cache.get(&StatKey::Dashboard).unwrap().entry.computed_at
            })
        })
        .collect();
    let stamps: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] == w[1]));
    let dashboard = cache.metrics().snapshot()[0].1;
    assert_eq!(dashboard.computations, 1, "{dashboard:?}");
}

fn least_recently_used_user_entries_are_evicted_and_shared_ones_never(f: &Fixture) {
    let mut config = f.config_at(T0);
    config.cache.max_entries = 4;
    let cache = f.cache_with(config);
    cache.get(&StatKey::Dashboard).unwrap();
    cache.get(&StatKey::Courses { user: 1 }).unwrap();
    cache.get(&StatKey::Courses { user: 2 }).unwrap();
    cache.get(&StatKey::Courses { user: 3 }).unwrap();
    // User 1 is read again, so user 2 is now the least recently used.
    cache.get(&StatKey::Courses { user: 1 }).unwrap();
    cache.get(&StatKey::Courses { user: 4 }).unwrap();
    let keys: Vec<String> = cache.list().unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(keys.len(), 4);
    assert!(keys.contains(&"dashboard".to_string()));
    assert!(keys.contains(&"user/4/courses".to_string()));
    assert!(keys.contains(&"user/1/courses".to_string()), "{keys:?}");
    assert!(!keys.contains(&"user/2/courses".to_string()), "{keys:?}");
}

#[test]
fn an_unreadable_cache_file_is_moved_aside_and_rebuilt() {
    let f = fixture();
    std::fs::write(
        f.dir.path().join("stats.redb"),
        b"this is not a redb file at all, just garbage",
    )
    .unwrap();
    let cache = f.cache_at(T0);
    assert_eq!(
        cache.get(&StatKey::Learning).unwrap().status,
        Freshness::Fresh
    );
    let aside: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("stats.redb.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
}

#[test]
fn an_entry_of_an_old_layout_is_a_miss() {
    let f = fixture();
    {
        let db = redb::Database::create(f.dir.path().join("stats.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("entries");
            let mut table = tx.open_table(def).unwrap();
            table
                .insert("dashboard", [0u8, 1, 2, 3].as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let cache = f.cache_at(T0);
    let answer = cache.get(&StatKey::Dashboard).unwrap();
    assert_eq!(answer.status, Freshness::Fresh);
    assert_eq!(
        answer.entry.statistic.to_json(Default::default())["total_speakers"],
        18
    );
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn an_entry_of_an_old_layout_in_redis_is_a_miss() {
    let f = fixture_in_redis();
    let mut redis = f.redis.as_ref().unwrap().client();
    let _: () = redis::cmd("SET")
        .arg("voxdash:entry:dashboard")
        .arg([0u8, 1, 2, 3].as_slice())
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("voxdash:keys")
        .arg(0)
        .arg("dashboard")
        .query(&mut redis)
        .unwrap();
    let cache = f.cache_at(T0);
    let answer = cache.get(&StatKey::Dashboard).unwrap();
    assert_eq!(answer.status, Freshness::Fresh);
    assert_eq!(
        answer.entry.statistic.to_json(Default::default())["total_speakers"],
        18
    );
}

fn errors_are_not_cached(f: &Fixture) {
    let cache = f.cache_at(T0);
    let err = cache.get(&StatKey::Courses { user: 999 }).unwrap_err();
    assert!(err.to_string().contains("user 999 not found"), "{err}");
    assert!(cache.is_empty().unwrap());
}

fn a_burst_of_finished_sessions_warms_the_user_once(f: &Fixture) {
    let app = f.app_at(T0);
    let scheduler = voxdash::jobs::warmup::WarmupScheduler::start(app.clone());
    for _ in 0..5 {
        scheduler.session_finished(3, Duration::from_millis(300));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(scheduler.runs(), 0);
    // One run once the burst is quiet; on a busy machine it may take a
    // while to start, but never becomes two.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while scheduler.runs() == 0 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(scheduler.runs(), 1);
    assert_eq!(scheduler.pending(), 0);
    let keys: Vec<String> = app
        .cache
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert!(keys.contains(&"user/3/analytics".to_string()), "{keys:?}");
    assert!(
        keys.contains(&"user/3/daily/2026-11-23".to_string()),
        "{keys:?}"
    );
}

fn refresh_ahead_recomputes_a_shared_entry_in_the_last_tenth_of_its_ttl(f: &Fixture) {
    let cache = f.cache_at(T0);
    let first = cache.get(&StatKey::Dashboard).unwrap();
    cache.wait_idle();
    drop(cache);
    // 22 h later: inside the last tenth (2.4 h) of the 24 h TTL.
    let later = f.cache_at("2026-11-24T10:00:00+09:00");
    let answer = later.get(&StatKey::Dashboard).unwrap();
    assert_eq!(answer.status, Freshness::Cached);
    later.wait_idle();
    let next = later.get(&StatKey::Dashboard).unwrap();
    assert!(next.entry.computed_at > first.entry.computed_at);
}
