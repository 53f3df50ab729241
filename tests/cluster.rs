//! Several nodes: the data in a real PostgreSQL and the stats cache in a
//! real `redis-server` (both started by the tests in temporary directories,
//! on Unix sockets), two `voxdash serve` processes each on a data
//! directory of its own. The sample is imported through the first node's
//! directory; the nodes answer alike, compute a key once between them,
//! hear each other's writes on their event streams, follow a CLI refresh
//! run from a third place, take over a computation whose node died, keep
//! answering while Redis is away, answer 503 while PostgreSQL is away, and
//! recover from both without a restart.
//!
//! Run by `make test-cluster` (these tests are ignored by `make test`, which
//! must work on a machine without PostgreSQL or Redis); a server that
//! cannot start fails them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::redis::Redis;
use common::Served;
use redis::Commands;
use voxdash::store::Store;

/// Two `voxdash serve` nodes sharing a Redis for the stats cache and a
/// PostgreSQL for the data, each on a data directory of its own (as on two
/// hosts); the sample was imported through the first node's directory.
struct Cluster {
    redis: Redis,
    postgres: Postgres,
    database_url: String,
    /// Each node's data directory.
    dirs: Vec<tempfile::TempDir>,
    nodes: Vec<Served>,
    /// A staff API token.
    token: String,
}

impl Cluster {
    fn start(cache_toml: &str) -> Cluster {
        let redis = Redis::start();
        let postgres = Postgres::start();
        let database_url = postgres.database("voxdash");
        let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| common::temp_dir()).collect();
        for dir in &dirs {
            std::fs::write(dir.path().join("voxdash.toml"), cache_toml).unwrap();
        }
        let env = [
            ("VOXDASH_CACHE_URL", redis.url.as_str()),
            ("VOXDASH_DATABASE_URL", database_url.as_str()),
        ];
        // The import runs on the first node's host, as any command would.
        let out = common::run_cli_with_env(
            env!("CARGO_BIN_EXE_voxdash"),
            dirs[0].path(),
            &["import", common::sample_dir().to_str().unwrap()],
            &env,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = {
            let store = Store::open_postgres(&database_url).unwrap();
            let conn = store.conn().unwrap();
            let hash = voxdash::accounts::hash_password("staff-password");
            let id = voxdash::store::accounts::add_account(&conn, "boss", true, &hash, 0).unwrap();
            let token = voxdash::accounts::new_token();
            let digest = voxdash::accounts::token_digest(&token);
            voxdash::store::accounts::create_api_token(&conn, id.0.id, &digest, 0).unwrap();
            token
        };
        let nodes = dirs
            .iter()
            .map(|dir| Served::start_with_env(dir.path(), &env))
            .collect();
        let cluster = Cluster {
            redis,
            postgres,
            database_url,
            dirs,
            nodes,
            token,
        };
        for node in &cluster.nodes {
            assert_eq!(node.get("/healthz").0, 200);
        }
        cluster
    }

    /// What a command needs to reach the cluster's data and cache.
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("VOXDASH_CACHE_URL", self.redis.url.as_str()),
            ("VOXDASH_DATABASE_URL", self.database_url.as_str()),
        ]
    }

    fn get(&self, node: usize, path: &str) -> (u16, String) {
        let auth = format!("Bearer {}", self.token);
        let (status, _, body) = common::http::request(
            &self.nodes[node].addr,
            "GET",
            path,
            &[("Authorization", &auth)],
            b"",
        )
        .unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    fn json(&self, node: usize, path: &str) -> serde_json::Value {
        let (status, body) = self.get(node, path);
        assert_eq!(status, 200, "{path} on node {node}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Creates a study session through `node`'s API, which must answer 201.
    fn post_session(&self, node: usize, body: &str) {
        let auth = format!("Bearer {}", self.token);
        let (status, _, reply) = common::http::request(
            &self.nodes[node].addr,
            "POST",
            "/api/v1/sessions",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&reply));
    }

    /// `voxdash_cache_computations_total` of `kind` on every node, summed.
    fn computations(&self, kind: &str) -> u64 {
        let line = format!("voxdash_cache_computations_total{{kind=\"{kind}\"}} ");
        (0..self.nodes.len())
            .map(|n| {
                let (_, metrics) = self.get(n, "/metrics");
                metrics
                    .lines()
                    .find_map(|l| l.strip_prefix(&line))
                    .map_or(0, |v| v.trim().parse::<u64>().unwrap())
            })
            .sum()
    }

    /// Waits until no node computes anything (the start-up warm-up, a
    /// background recomputation): no computation lock left in Redis.
    fn settle(&self) {
        let mut redis = self.redis.client();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            let locks: Vec<String> = redis.keys("voxdash:lock:*").unwrap();
            if locks.is_empty() {
                std::thread::sleep(Duration::from_millis(100));
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("a computation lock is still held after 10 s");
    }
}

/// An open event stream on one node.
struct Events {
    lines: BufReader<TcpStream>,
}

impl Events {
    fn open(node: &Served) -> Events {
        let mut stream = TcpStream::connect(&node.addr).unwrap();
        write!(
            stream,
            "GET /api/v1/events HTTP/1.1\r\nHost: {}\r\n\r\n",
            node.addr
        )
        .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut lines = BufReader::new(stream);
        loop {
            let mut line = String::new();
            lines.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
        }
        Events { lines }
    }

    /// The first `entry` event about `key` within `wait`.
    fn wait_for(&mut self, key: &str, wait: Duration) -> Option<serde_json::Value> {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {
                    if let Some(data) = line.strip_prefix("data: ") {
                        let event: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                        if event["key"] == key {
                            return Some(event);
                        }
                    }
                }
                Err(_) => {}
            }
        }
        None
    }
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn two_nodes_answer_alike_and_compute_each_key_once_between_them() {
    let c = Cluster::start("");
    c.settle();
    // Both started together and warmed the shared keys: once in all.
    assert_eq!(c.computations("dashboard"), 1);
    assert_eq!(c.computations("locations"), 1);
    assert_eq!(c.computations("learning"), 1);
    for which in ["dashboard", "locations", "learning"] {
        let path = format!("/api/v1/stats/{which}");
        let a = c.json(0, &path);
        let b = c.json(1, &path);
        assert_eq!(a, b, "{which} differs between the nodes");
        assert_eq!(a["status"], "cached");
    }
    assert_eq!(
        c.json(0, "/api/v1/stats/dashboard")["data"]["total_speakers"],
        common::expected()["dashboard"]["total_speakers"]
    );

    // 16 concurrent misses of one key, 8 on each node: one computation.
    let before = c.computations("subcorpus");
    let path = "/api/v1/stats/dashboard?category=patient";
    let cluster = &c;
    let answers: Vec<serde_json::Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| s.spawn(move || cluster.json(i % 2, path)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(c.computations("subcorpus") - before, 1);
    for answer in &answers {
        assert_eq!(answer["data"], answers[0]["data"]);
        assert_eq!(answer["computed_at"], answers[0]["computed_at"]);
    }
    // Nothing was written to a cache file: the entries are in Redis.
    // Nothing was written to a file: the data is in PostgreSQL, the
    // entries in Redis.
    for dir in &c.dirs {
        assert!(!dir.path().join("stats.redb").exists());
        assert!(!dir.path().join("voxdash.db").exists());
    }
    let mut redis = c.redis.client();
    let kept: Vec<String> = redis.zrange("voxdash:keys", 0, -1).unwrap();
    assert!(
        kept.contains(&"dashboard?category=patient".to_string()),
        "{kept:?}"
    );
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn a_write_through_one_node_reaches_the_other_nodes_stream_and_badge() {
    let c = Cluster::start("");
    c.settle();
    let mut on_b = Events::open(&c.nodes[1]);
    let body = serde_json::json!({
        "user_id": 2, "start_time": "2026-11-23T10:00:00+09:00",
        "end_time": "2026-11-23T10:40:00+09:00", "duration_minutes": 40,
        "subject": "발음", "course_id": 3
    })
    .to_string();
    let written = Instant::now();
    c.post_session(0, &body);
    let event = on_b
        .wait_for("learning", Duration::from_secs(2))
        .expect("node B heard of node A's write within 2 s");
    assert_eq!(event["status"], "stale");
    assert!(written.elapsed() < Duration::from_secs(2));
    // Node B answers the entry stale, or already as node A recomputed it
    // after its write.
    let status = c.json(1, "/api/v1/stats/learning")["status"].clone();
    assert!(status == "stale" || status == "cached", "{status}");
    let fresh = on_b
        .wait_for("learning", Duration::from_secs(5))
        .expect("the recomputation is announced");
    assert_eq!(fresh["status"], "fresh");
    c.settle();
    let a = c.json(0, "/api/v1/stats/learning");
    let b = c.json(1, "/api/v1/stats/learning");
    assert_eq!(a["data"], b["data"]);
    assert_eq!(a["changes_since"], 0);
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn a_cli_refresh_from_a_third_process_updates_what_both_nodes_serve() {
    let c = Cluster::start("");
    c.settle();
    let mut streams: Vec<Events> = c.nodes.iter().map(Events::open).collect();
    let before = c.computations("dashboard");
    let out = common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        common::temp_dir().path(),
        &["refresh", "--only", "dashboard"],
        &c.env(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (n, stream) in streams.iter_mut().enumerate() {
        let event = stream
            .wait_for("dashboard", Duration::from_secs(2))
            .unwrap_or_else(|| panic!("node {n} did not hear the CLI's refresh"));
        assert_eq!(event["status"], "fresh");
    }
    // The CLI computed it; the nodes serve its entry without computing.
    let a = c.json(0, "/api/v1/stats/dashboard");
    let b = c.json(1, "/api/v1/stats/dashboard");
    assert_eq!(a, b);
    assert_eq!(a["status"], "cached");
    assert_eq!(c.computations("dashboard"), before);
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn a_computation_left_by_a_dead_node_is_taken_over_when_its_lock_expires() {
    let c = Cluster::start("[cache]\nlock_secs = 2\n");
    c.settle();
    // A node that took the key and died: its lock is there, nobody will
    // store the entry or release it.
    let key = "dashboard?gender=F";
    let mut redis = c.redis.client();
    let _: () = redis::cmd("SET")
        .arg(format!("voxdash:lock:{key}"))
        .arg("a-dead-node")
        .arg("PX")
        .arg(2000)
        .query(&mut redis)
        .unwrap();
    let asked = Instant::now();
    let answer = c.json(1, "/api/v1/stats/dashboard?gender=F");
    let waited = asked.elapsed();
    assert_eq!(answer["status"], "fresh");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
    let left: bool = redis.exists(format!("voxdash:lock:{key}")).unwrap();
    assert!(!left, "the taking node released its lock");
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn nodes_keep_answering_while_redis_is_away_and_recover_when_it_returns() {
    let mut c = Cluster::start("");
    c.settle();
    let expected = c.json(0, "/api/v1/stats/dashboard")["data"].clone();
    c.redis.stop();
    for node in 0..2 {
        let (status, page) = c.get(node, "/audio/dashboard/");
        assert_eq!(status, 200, "node {node} without Redis: {page}");
        let (_, health) = c.get(node, "/healthz");
        assert!(health.starts_with("degraded:"), "{health}");
        assert!(!health.contains("os error"), "no low-level error: {health}");
        // A key never computed is computed by the node itself.
        let answer = c.json(node, "/api/v1/stats/dashboard?gender=M");
        assert_eq!(answer["status"], "fresh");
        assert_eq!(c.json(node, "/api/v1/stats/dashboard")["data"], expected);
    }
    c.redis.restart();
    // Each node sees Redis again within a few seconds, and stores there.
    let until = Instant::now() + Duration::from_secs(10);
    for node in 0..2 {
        loop {
            let (_, health) = c.get(node, "/healthz");
            if health == "ok\n" {
                break;
            }
            assert!(Instant::now() < until, "node {node} still: {health}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let mut redis = c.redis.client();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        c.json(0, "/api/v1/stats/dashboard?gender=M");
        c.settle();
        let stored: bool = redis.exists("voxdash:entry:dashboard?gender=M").unwrap();
        if stored {
            break;
        }
        assert!(
            Instant::now() < until,
            "nothing stored in the restarted Redis"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(c.json(1, "/api/v1/stats/dashboard")["data"], expected);
}

/// A node's `/metrics`, as a monitoring system reads it (no credentials).
fn metrics(node: &Served) -> String {
    let (status, body) = node.get("/metrics");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Runs `voxdash serve` on `dir` with `env`, expecting it to refuse within
/// 10 s; its stderr.
fn serve_refused(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--public", "--bind", "127.0.0.1:0"])
        .env("VOXDASH_LOG", "warn")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!("serve was not refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn a_command_or_a_node_with_another_cache_than_the_serving_nodes_is_refused() {
    let c = Cluster::start("");
    c.settle();
    let bin = env!("CARGO_BIN_EXE_voxdash");
    // Without the nodes' cache_url, a command would refresh a file nobody serves.
    let out = common::run_cli_with_env(
        bin,
        c.dirs[0].path(),
        &["refresh", "--only", "dashboard"],
        &[("VOXDASH_DATABASE_URL", &c.database_url)],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("with a shared stats cache (cache_url), and this command has none"),
        "{stderr}"
    );
    let stderr = serve_refused(
        c.dirs[0].path(),
        &[("VOXDASH_DATABASE_URL", &c.database_url)],
    );
    assert!(stderr.contains("with a shared stats cache"), "{stderr}");
    // Refused before anything was opened: no cache file appeared.
    assert!(!c.dirs[0].path().join("stats.redb").exists());
    // Without the nodes' database_url, a command would read an empty store
    // of its own: refused too, and no database file appears.
    let out = common::run_cli_with_env(
        bin,
        c.dirs[0].path(),
        &["refresh", "--only", "dashboard"],
        &[("VOXDASH_CACHE_URL", &c.redis.url)],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("database_url"), "{stderr}");
    assert!(!c.dirs[0].path().join("voxdash.db").exists());

    // The other way round: a server on the directory's own file, and a
    // command or a node with a shared cache.
    let alone = common::imported_dir();
    let server = Served::start(alone.path());
    assert_eq!(server.get("/healthz").0, 200);
    let out = common::run_cli_with_env(
        bin,
        alone.path(),
        &["refresh", "--only", "dashboard"],
        &[("VOXDASH_CACHE_URL", &c.redis.url)],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("with its own stats cache file"), "{stderr}");
    let stderr = serve_refused(alone.path(), &[("VOXDASH_CACHE_URL", &c.redis.url)]);
    assert!(stderr.contains("with its own stats cache file"), "{stderr}");
}

#[test]
#[ignore = "needs Debian's postgresql and redis-server: make test-cluster"]
fn nodes_answer_503_while_postgresql_is_away_and_recover_when_it_returns() {
    let c = Cluster::start("");
    c.settle();
    let expected = c.json(0, "/api/v1/stats/dashboard")["data"].clone();
    c.postgres.stop();
    for node in 0..2 {
        let (status, body) = c.get(node, "/api/v1/stats/dashboard");
        assert_eq!(status, 503, "node {node}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        let said = error["error"].as_str().unwrap();
        assert!(said.contains("the database cannot be reached"), "{said}");
        let (status, page) = c.get(node, "/audio/dashboard/");
        assert_eq!(status, 503);
        assert!(page.contains("The database cannot be reached"), "{page}");
        assert!(page.contains("Try again in 5 s."), "{page}");
        assert!(
            !page.contains("os error") && !page.contains("postgres://"),
            "{page}"
        );
        // As a proxy in front asks it: without credentials.
        let (status, health) = c.nodes[node].get("/healthz");
        let health = String::from_utf8(health).unwrap();
        assert_eq!(status, 503, "{health}");
        assert!(health.contains("unavailable: the database at"), "{health}");
        assert!(metrics(&c.nodes[node]).contains("voxdash_database_reachable 0"));
    }
    c.postgres.restart();
    // Each node answers again within a few seconds, without a restart.
    let until = Instant::now() + Duration::from_secs(10);
    for node in 0..2 {
        loop {
            let (status, _) = c.get(node, "/api/v1/stats/dashboard");
            if status == 200 {
                break;
            }
            assert!(Instant::now() < until, "node {node} still answers {status}");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(c.json(node, "/api/v1/stats/dashboard")["data"], expected);
        assert_eq!(c.get(node, "/healthz"), (200, "ok\n".to_string()));
        assert!(metrics(&c.nodes[node]).contains("voxdash_database_reachable 1"));
    }
    // And writes go through again.
    let body = serde_json::json!({"user_id": 2, "duration_minutes": 10}).to_string();
    c.post_session(1, &body);
}

#[test]
#[ignore = "needs Debian's postgresql and redis-server: make test-cluster"]
fn a_node_killed_while_computing_releases_the_key_within_the_lock_expiry() {
    let mut c = Cluster::start("[cache]\nlock_secs = 2\n");
    c.settle();
    // Hold the SNR values (the last table a group's dashboard reads) so
    // that a computation of the dashboard waits in the middle of its
    // reads, holding the key's lock in Redis.
    let mut blocker = postgres::Client::connect(&c.database_url, postgres::NoTls).unwrap();
    blocker
        .batch_execute("BEGIN; LOCK TABLE snr_values IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let key = "dashboard?gender=F";
    let addr = c.nodes[0].addr.clone();
    let asking = std::thread::spawn(move || {
        // Answers nothing: the node dies first.
        common::http::request(&addr, "GET", "/api/v1/stats/dashboard?gender=F", &[], b"").ok()
    });
    let mut redis = c.redis.client();
    let until = Instant::now() + Duration::from_secs(10);
    while !redis
        .exists::<_, bool>(format!("voxdash:lock:{key}"))
        .unwrap()
    {
        assert!(
            Instant::now() < until,
            "node A never started computing {key}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    c.nodes[0].child.kill().unwrap();
    c.nodes[0].child.wait().unwrap();
    assert!(asking.join().unwrap().is_none(), "the killed node answered");
    blocker.batch_execute("ROLLBACK").unwrap();
    // Node B asks for the same key: it waits for the dead node's lock to
    // expire, then computes the key itself.
    let asked = Instant::now();
    let answer = c.json(1, "/api/v1/stats/dashboard?gender=F");
    let waited = asked.elapsed();
    assert_eq!(answer["status"], "fresh");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    let left: bool = redis.exists(format!("voxdash:lock:{key}")).unwrap();
    assert!(!left, "node B released its lock");
    assert_eq!(
        answer["data"]["total_speakers"],
        c.json(1, "/api/v1/stats/dashboard?gender=F")["data"]["total_speakers"]
    );
}
