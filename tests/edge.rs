//! The edge, second round: event streams that never read cannot stall the
//! server, streams are capped per caller with the newest winning, a closed
//! or signed-out stream goes at once, a flood of made-up keys keeps memory
//! and other readers' entries, and ambiguous request framing is refused.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::{get, metric, sign_in, start, start_with, Running};

/// An event stream opened by hand: its socket, after the head.
struct Stream {
    lines: BufReader<TcpStream>,
}

/// Opens `GET /api/v1/events` with `headers`; the status line and the stream.
fn open(r: &Running, headers: &[(&str, &str)]) -> (String, Stream) {
    let (status, _, lines) = common::http::open_event_stream(&r.addr, headers);
    (status, Stream { lines })
}

impl Stream {
    /// Reads until `until`; every line read, and whether the server closed.
    fn read_for(&mut self, wait: Duration) -> (Vec<String>, bool) {
        let until = Instant::now() + wait;
        let mut lines = Vec::new();
        while Instant::now() < until {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => return (lines, true),
                Ok(_) => lines.push(line),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (lines, true),
                Err(_) => {}
            }
        }
        (lines, false)
    }
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn streams_that_never_read_stall_neither_the_server_nor_other_streams() {
    let r = start(false);
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    // Seven streams of one learner that never read a byte.
    let stuck: Vec<(String, Stream)> = (0..7).map(|_| open(&r, &[("Cookie", &learner)])).collect();
    assert!(stuck.iter().all(|(status, _)| status.contains(" 200 ")));
    let (_, mut reader) = open(&r, &[("Cookie", &staff)]);
    // Events made large by long drill-down keys, far more than any socket
    // buffer holds: each read of a new key is computed, stored and told.
    let long = "x".repeat(7000);
    let mut slowest = Duration::ZERO;
    let mut healthz = Vec::new();
    for i in 0..600 {
        let path = format!("/api/v1/stats/dashboard?category={long}{i}");
        assert_eq!(get(&r, &path, &[("Cookie", &learner)]).status, 200);
        if i % 20 == 0 {
            let t = Instant::now();
            assert_eq!(get(&r, "/healthz", &[]).status, 200);
            healthz.push(t.elapsed());
            // The reading stream keeps up all along.
            let (lines, closed) = reader.read_for(Duration::from_millis(10));
            assert!(!closed, "the reading stream was closed");
            drop(lines);
        }
        slowest = slowest.max(healthz.last().copied().unwrap_or_default());
    }
    healthz.sort();
    let median = healthz[healthz.len() / 2];
    assert!(
        median < Duration::from_millis(100),
        "/healthz took {median:?} (median)"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?} once"
    );
    // The last event reaches the reader at once.
    let path = format!("/api/v1/stats/dashboard?category={long}last");
    get(&r, &path, &[("Cookie", &learner)]);
    let started = Instant::now();
    let mut seen = false;
    while !seen && started.elapsed() < Duration::from_secs(2) {
        let (lines, _) = reader.read_for(Duration::from_millis(100));
        seen = lines.iter().any(|l| l.contains(&format!("{long}last")));
    }
    assert!(seen, "the reader did not hear the last event within 2 s");
    // The streams that fell a buffer behind were closed; the reader stays.
    wait_until("stuck streams closed", Duration::from_secs(5), || {
        metric(&r, "voxdash_event_streams") == 1
    });
    drop(stuck);
}

#[test]
fn one_address_cannot_take_every_connection_with_streams() {
    let r = start(true);
    // Anonymous streams from one address: the newest eight stay open.
    let streams: Vec<(String, Stream)> = (0..40).map(|_| open(&r, &[])).collect();
    assert!(streams.iter().all(|(status, _)| status.contains(" 200 ")));
    wait_until("eight streams per address", Duration::from_secs(2), || {
        metric(&r, "voxdash_event_streams") == 8
    });
    let t = Instant::now();
    assert_eq!(get(&r, "/healthz", &[]).status, 200);
    assert_eq!(get(&r, "/audio/dashboard/", &[]).status, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    drop(streams);
}

#[test]
fn streams_take_at_most_half_the_connections_and_requests_still_get_through() {
    let r = start_with(true, |c| {
        c.server.trust_forwarded_for = true;
        c.server.max_connections = 64;
    });
    let mut streams = Vec::new();
    for i in 0..32 {
        let (status, s) = open(&r, &[("X-Forwarded-For", &format!("2001:db8::{i:x}"))]);
        assert!(status.contains(" 200 "), "stream {i}: {status}");
        streams.push(s);
    }
    let (status, _) = open(&r, &[("X-Forwarded-For", "2001:db8::ffff")]);
    assert!(status.contains(" 503 "), "{status}");
    for _ in 0..5 {
        assert_eq!(get(&r, "/healthz", &[]).status, 200);
        assert_eq!(get(&r, "/api/v1/stats/dashboard", &[]).status, 200);
    }
}

#[test]
fn the_newest_stream_of_an_account_wins_and_the_oldest_is_told() {
    let r = start(false);
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    let (_, mut oldest) = open(&r, &[("Cookie", &learner)]);
    let rest: Vec<(String, Stream)> = (0..8).map(|_| open(&r, &[("Cookie", &learner)])).collect();
    assert!(rest.iter().all(|(status, _)| status.contains(" 200 ")));
    let (lines, closed) = oldest.read_for(Duration::from_secs(2));
    assert!(closed, "the oldest stream is still open");
    assert!(
        lines.iter().any(|l| l.trim() == "event: closed"),
        "{lines:?}"
    );
    assert_eq!(metric(&r, "voxdash_event_streams"), 8);
}

#[test]
fn a_stream_closes_when_its_token_is_revoked_or_its_password_changes() {
    let r = start(false);
    let store = r.store();
    let conn = store.conn().unwrap();
    let user = voxdash::store::accounts::by_username(&conn, "user00002")
        .unwrap()
        .unwrap();
    let token = voxdash::accounts::new_token();
    let digest = voxdash::accounts::token_digest(&token);
    voxdash::store::accounts::create_api_token(&conn, user.id, &digest, 0).unwrap();
    let bearer = format!("Bearer {token}");
    let (status, mut by_token) = open(&r, &[("Authorization", &bearer)]);
    assert!(status.contains(" 200 "), "{status}");
    let (session, _) = sign_in(&r, "user00002", "user-password");
    let (status, mut by_session) = open(&r, &[("Cookie", &session)]);
    assert!(status.contains(" 200 "), "{status}");
    assert!(!by_token.read_for(Duration::from_millis(300)).1);

    voxdash::store::accounts::revoke_api_tokens(&conn, None, Some(user.id), 1).unwrap();
    let (_, closed) = by_token.read_for(Duration::from_secs(4));
    assert!(closed, "the stream of a revoked token is still open");

    let hash = voxdash::accounts::hash_password("a-new-password");
    voxdash::store::accounts::set_password(&conn, "user00002", &hash).unwrap();
    let (_, closed) = by_session.read_for(Duration::from_secs(4));
    assert!(closed, "the stream of an ended session is still open");
}

#[test]
fn head_of_the_event_stream_is_a_head_and_no_stream() {
    let r = start(true);
    let mut socket = TcpStream::connect(&r.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        socket,
        "HEAD /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    socket
        .read_to_string(&mut raw)
        .expect("the answer ends, no stream stays open");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("text/event-stream"),
        "{head}"
    );
    assert!(body.is_empty(), "{body}");
    assert_eq!(metric(&r, "voxdash_event_streams"), 0);
}

/// Sends `raw` on one connection and reads until the server closes it.
fn exchange(r: &Running, raw: &str) -> String {
    let mut socket = TcpStream::connect(&r.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.write_all(raw.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn ambiguous_body_framing_is_refused_and_nothing_behind_it_is_answered() {
    let r = start(true);
    let smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    for framing in [
        "Content-Length: 0\r\nContent-Length: 40",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
        "Content-Length: 5x",
        "Transfer-Encoding: gzip",
    ] {
        let answer = exchange(
            &r,
            &format!(
                "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{framing}: {answer}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{framing}: {answer}");
    }
    // One length, said once, is served as before.
    let answer = exchange(
        &r,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_flood_of_made_up_keys_keeps_memory_bounded_and_others_entries() {
    let r = start_with(false, |c| c.cache.max_entries = 10);
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    // Entries staff rely on: another user's statistics and a speaker.
    for path in [
        "/api/v1/users/3/stats/analytics",
        "/api/v1/users/3/stats/courses",
        "/api/v1/speakers/1/stats",
    ] {
        assert_eq!(get(&r, path, &[("Cookie", &staff)]).status, 200, "{path}");
    }
    for i in 0..3000 {
        let path = format!("/api/v1/stats/dashboard?category=made-up-{i}");
        let answer = get(&r, &path, &[("Cookie", &learner)]);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["data"]["total_speakers"], 0);
    }
    // Every speaker of the sample too: real keys, more than the cache
    // holds, owned together: they evict each other, not user 3's.
    for id in 1..=20 {
        get(
            &r,
            &format!("/api/v1/speakers/{id}/stats"),
            &[("Cookie", &learner)],
        );
    }
    let body = get(&r, "/metrics", &[]).body;
    for line in body
        .lines()
        .filter(|l| l.starts_with("voxdash_cache_memory_keys{"))
    {
        let keys: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(keys <= 256, "{line}");
    }
    let entries = get(&r, "/api/v1/cache", &[("Cookie", &staff)]).json();
    let keys: Vec<&str> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert!(keys.len() <= 10, "{}", keys.len());
    assert!(!keys.iter().any(|k| k.contains("made-up")), "{keys:?}");
    for kept in ["user/3/analytics", "user/3/courses"] {
        assert!(keys.contains(&kept), "{kept} was evicted: {keys:?}");
    }
}

#[test]
fn a_new_account_never_takes_the_id_of_orphan_sessions() {
    let dir = common::imported_dir();
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    let conn = store.conn().unwrap();
    let largest_profile: i64 = conn.query_value("SELECT MAX(id) FROM users", &[]).unwrap();
    let orphan: i64 = conn
        .query_value("SELECT MAX(user_id) FROM study_sessions", &[])
        .unwrap();
    assert!(orphan > largest_profile, "the sample has orphan sessions");
    drop(conn);
    let out = common::user_add(dir.path(), "newcomer");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let id = voxdash::store::accounts::by_username(&store.conn().unwrap(), "newcomer")
        .unwrap()
        .unwrap()
        .id;
    assert!(id > orphan, "id {id} is not past orphan user {orphan}");
    assert!(said.contains(&format!("(id {id})")), "{said}");
}

#[test]
fn usernames_are_checked_and_compared_ignoring_case() {
    let dir = common::imported_dir();
    assert!(common::user_add(dir.path(), "staff1").status.success());
    for (name, says) in [
        ("Staff1", "taken by user \"staff1\""),
        ("staff1", "user passwd staff1"),
        ("stаff2", "Cyrillic"),
        ("a\u{200B}b", "not allowed"),
        (" padded", "not allowed"),
        (&"x".repeat(5000), "longer than 64"),
    ] {
        let out = common::user_add(dir.path(), name);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name:?} was accepted");
        assert!(said.contains(says), "{name:?}: {said}");
    }
    // Full-width letters are the plain name, in its one form.
    let out = common::user_add(dir.path(), "ｎｅｗ");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = common::run_cli(env!("CARGO_BIN_EXE_voxdash"), dir.path(), &["user", "list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.contains(" new ")), "{list}");
    assert_eq!(list.matches("staff1").count(), 1, "{list}");
}

#[test]
fn the_import_refuses_a_username_that_differs_only_by_case() {
    let dir = common::imported_dir();
    let (said, _) = common::import_file(
        dir.path(),
        "users.csv",
        "id,username,display_name,is_staff,created_at\n\
         50,USER00003,,0,2025-01-01T00:00:00Z\n\
         51,zero\u{200B}width,,0,2025-01-01T00:00:00Z\n\
         52,fine,,0,2025-01-01T00:00:00Z\n",
    );
    assert!(said.contains("users.csv:2: username"), "{said}");
    assert!(said.contains("user 3 (ignoring case)"), "{said}");
    assert!(said.contains("users.csv:3: username"), "{said}");
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    let conn = store.conn().unwrap();
    assert!(voxdash::store::accounts::by_id(&conn, 50)
        .unwrap()
        .is_none());
    assert!(voxdash::store::accounts::by_id(&conn, 51)
        .unwrap()
        .is_none());
    assert!(voxdash::store::accounts::by_id(&conn, 52)
        .unwrap()
        .is_some());
}

#[test]
fn a_failed_sign_in_does_not_log_what_was_typed_as_a_name() {
    let dir = common::imported_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--bind", &addr])
        .env("VOXDASH_NOW", common::SAMPLE_NOW)
        .env("VOXDASH_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let page = (0..100)
        .find_map(|_| {
            let got = common::http::request(&addr, "GET", "/login/", &[], b"").ok();
            if got.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            got
        })
        .expect("the server answers");
    let body = String::from_utf8_lossy(&page.2).into_owned();
    let cookie = page
        .1
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .unwrap();
    let token = common::server::csrf_in(&body);
    let form = format!("csrf_token={token}&username=Hunter2Secret&password=x&next=/");
    common::http::request(
        &addr,
        "POST",
        "/login/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        form.as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("failed sign-in for an unknown name"), "{log}");
    assert!(!log.contains("Hunter2Secret"), "{log}");
}

/// A number of the server's `/metrics`.
fn served_metric(served: &common::Served, name: &str) -> u64 {
    common::metric_in(&String::from_utf8(served.get("/metrics").1).unwrap(), name)
}

#[test]
fn a_key_flood_leaves_the_servers_memory_where_it_was() {
    let dir = common::imported_dir();
    std::fs::write(
        dir.path().join("voxdash.toml"),
        "[cache]\nmax_entries = 100\n",
    )
    .unwrap();
    let served = common::Served::start(dir.path());
    assert_eq!(served.get("/api/v1/stats/dashboard").0, 200);
    // Warm up what every request allocates once.
    for i in 0..200 {
        served.get(&format!("/api/v1/stats/dashboard?category=warm-{i}"));
    }
    let before = served_metric(&served, "voxdash_process_resident_memory_bytes");
    for i in 0..6000 {
        let (status, _) = served.get(&format!("/api/v1/stats/dashboard?category=flood-{i}"));
        assert_eq!(status, 200);
    }
    let after = served_metric(&served, "voxdash_process_resident_memory_bytes");
    assert!(
        after < before + 20 * 1024 * 1024,
        "RSS grew from {before} to {after} bytes"
    );
}

#[test]
fn csv_exports_neutralise_values_a_spreadsheet_would_run() {
    let data = common::temp_dir();
    for file in std::fs::read_dir(common::sample_dir()).unwrap() {
        let file = file.unwrap().path();
        std::fs::copy(&file, data.path().join(file.file_name().unwrap())).unwrap();
    }
    let speakers = data.path().join("speakers.csv");
    let mut text = std::fs::read_to_string(&speakers).unwrap();
    text.push_str(
        "900,=HYPERLINK(\"http://x\"),F,1990,=cmd|' /C calc'!A0,@SUM(1),2025-01-01T00:00:00Z\n",
    );
    std::fs::write(&speakers, text).unwrap();
    let r = common::server::start_on(data.path());
    let csv = get(&r, "/audio/dashboard/?format=csv&table=category", &[]).body;
    assert!(csv.contains("\n'=cmd|' /C calc'!A0,"), "{csv}");
    assert!(!csv.contains("\n=cmd"), "{csv}");
    let csv = get(&r, "/audio/dashboard/?format=csv&table=diagnosis", &[]).body;
    assert!(csv.contains("\n'@SUM(1),"), "{csv}");
}

#[test]
fn an_import_header_of_a_million_columns_is_refused_at_once() {
    let dir = common::temp_dir();
    let header: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let (said, succeeded) = common::import_file(
        dir.path(),
        "users.csv",
        &format!("id,username,{}\n", header.join(",")),
    );
    assert!(!succeeded);
    assert!(
        said.contains("users.csv: the header has 1000002 columns; at most 256 are read"),
        "{said}"
    );
}

#[test]
fn restore_and_check_refuse_a_database_whose_schema_was_changed() {
    for (change, says) in [
        (
            "CREATE TRIGGER promote AFTER INSERT ON web_sessions BEGIN \
             UPDATE users SET is_staff = 1 WHERE id = NEW.user_id; END;",
            "trigger promote is not voxdash's",
        ),
        (
            "DROP TABLE write_counters; CREATE VIEW write_counters AS \
             SELECT 'recordings' AS table_name, 0 AS inserts, 0 AS updates, 0 AS deletes;",
            "view write_counters is not voxdash's",
        ),
    ] {
        let dir = common::imported_dir();
        let db = dir.path().join("voxdash.db");
        let backup = dir.path().join("changed.db");
        let out = common::run_cli(
            env!("CARGO_BIN_EXE_voxdash"),
            dir.path(),
            &["backup", backup.to_str().unwrap()],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        rusqlite::Connection::open(&backup)
            .unwrap()
            .execute_batch(change)
            .unwrap();
        let out = common::run_cli(
            env!("CARGO_BIN_EXE_voxdash"),
            dir.path(),
            &["restore", backup.to_str().unwrap()],
        );
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "restored: {said}");
        assert!(said.contains(says), "{said}");
        // The same change made in place: check names it and fails.
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(change)
            .unwrap();
        let out = common::run_cli(env!("CARGO_BIN_EXE_voxdash"), dir.path(), &["check"]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{said}");
        assert!(said.contains(says), "{said}");
    }
}

#[test]
#[ignore = "needs Debian's redis-server: make test-cluster"]
fn a_redis_that_refuses_writes_is_reported_and_recovers() {
    let redis = common::redis::Redis::start();
    let dir = common::imported_dir();
    let served = common::Served::start_with_env(dir.path(), &[("VOXDASH_CACHE_URL", &redis.url)]);
    let healthz = |s: &common::Served| String::from_utf8(s.get("/healthz").1).unwrap();
    assert_eq!(healthz(&served), "ok\n");
    let mut client = redis.client();
    for (name, value) in [("maxmemory-policy", "noeviction"), ("maxmemory", "1")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut client)
            .unwrap();
    }
    // A new entry cannot be stored; the answer is still given.
    let (status, _) = served.get("/api/v1/stats/dashboard?gender=F");
    assert_eq!(status, 200);
    let said = healthz(&served);
    assert!(
        said.starts_with("degraded:") && said.contains("refuses writes"),
        "{said}"
    );
    assert_eq!(served_metric(&served, "voxdash_cache_writable"), 0);
    assert_eq!(served_metric(&served, "voxdash_cache_reachable"), 1);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query::<()>(&mut client)
        .unwrap();
    let (status, _) = served.get("/api/v1/stats/dashboard?gender=M");
    assert_eq!(status, 200);
    assert_eq!(healthz(&served), "ok\n");
    assert_eq!(served_metric(&served, "voxdash_cache_writable"), 1);
}

#[test]
fn user_list_shows_control_and_invisible_characters_of_old_names_escaped() {
    let dir = common::imported_dir();
    // A name from before the rule, written straight into the database.
    rusqlite::Connection::open(dir.path().join("voxdash.db"))
        .unwrap()
        .execute(
            "INSERT INTO users (id, username, is_staff, created_at) VALUES (900, ?1, 0, 0)",
            ["old\u{1b}[31mname\u{200b}"],
        )
        .unwrap();
    let out = common::run_cli(env!("CARGO_BIN_EXE_voxdash"), dir.path(), &["user", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("old\\u{1b}[31mname\\u{200b}"), "{list}");
    assert!(
        !list.contains('\u{1b}') && !list.contains('\u{200b}'),
        "{list}"
    );
    assert!(
        list.contains("사용자 3") || list.contains("user00003"),
        "{list}"
    );
}
