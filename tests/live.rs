//! Live pages and HTTP caching: entry events on `GET /api/v1/events` within
//! 2 s of a write, only the keys a learner may read, hundreds of open
//! streams costing no worker, dead streams dropped; `ETag` / `304` / `HEAD`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::{call, get, metric, sign_in, start, start_with, Running};

/// An open event stream: the head read, events read line by line.
struct Events {
    lines: BufReader<TcpStream>,
}

impl Events {
    fn open(r: &Running, headers: &[(&str, &str)]) -> Events {
        let (status, head, lines) = common::http::open_event_stream(&r.addr, headers);
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert!(
            head.iter()
                .any(|h| h.starts_with("content-type:") && h.contains("text/event-stream")),
            "{head:?}"
        );
        Events { lines }
    }

    /// The `data` of every `entry` event that arrives within `wait`.
    fn entries_within(&mut self, wait: Duration) -> Vec<serde_json::Value> {
        let until = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < until {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if let Some(data) = line.strip_prefix("data: ") {
                        out.push(serde_json::from_str(data.trim()).unwrap());
                    }
                }
                Err(_) => continue, // the read timeout: look at the clock again
            }
        }
        out
    }

    /// Waits up to `wait` for an event of `key`; returns it and when it came.
    fn wait_for(&mut self, key: &str, wait: Duration) -> Option<(serde_json::Value, Duration)> {
        let started = Instant::now();
        while started.elapsed() < wait {
            for e in self.entries_within(Duration::from_millis(100)) {
                if e["key"] == key {
                    return Some((e, started.elapsed()));
                }
            }
        }
        None
    }
}

fn post_session(r: &Running, cookie: &str, csrf: &str, user: i64) {
    let body = format!(r#"{{"user_id": {user}, "duration_minutes": 30}}"#);
    let reply = call(
        r,
        "POST",
        "/api/v1/sessions",
        &[("Cookie", cookie), ("X-CSRF-Token", csrf)],
        &body,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[test]
fn an_event_follows_a_write_through_the_api_within_two_seconds() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    assert_eq!(
        get(&r, "/api/v1/stats/learning", &[("Cookie", &staff)]).status,
        200
    );
    let mut events = Events::open(&r, &[("Cookie", &staff)]);
    post_session(&r, &staff, &csrf, 2);
    let (event, after) = events
        .wait_for("learning", Duration::from_secs(2))
        .expect("an event for learning within 2 s");
    assert_eq!(event["status"], "stale");
    assert!(after < Duration::from_secs(2));
}

#[test]
fn an_event_follows_a_cli_refresh_through_the_server() {
    let r = start(true);
    let mut events = Events::open(&r, &[]);
    let out = common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        r.dir.path(),
        &["refresh", "--only", "locations"],
        &r.cli_env(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (event, _) = events
        .wait_for("locations", Duration::from_secs(2))
        .expect("an event for locations within 2 s");
    assert_eq!(event["status"], "fresh");
    assert!(event["computed_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_learners_stream_carries_only_shared_keys_and_their_own() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    for user in [2, 3] {
        let path = format!("/api/v1/users/{user}/stats/analytics");
        assert_eq!(get(&r, &path, &[("Cookie", &staff)]).status, 200);
    }
    let mut events = Events::open(&r, &[("Cookie", &learner)]);
    post_session(&r, &staff, &csrf, 3);
    post_session(&r, &staff, &csrf, 2);
    let seen = events.entries_within(Duration::from_millis(1500));
    let keys: Vec<&str> = seen.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"user/2/analytics"), "{keys:?}");
    assert!(keys.contains(&"learning"), "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| !k.starts_with("user/") || k.starts_with("user/2/")),
        "{keys:?}"
    );
}

/// The threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn three_hundred_open_streams_leave_the_server_answering() {
    // Three hundred readers behind a proxy on this host, each its own
    // address (streams are capped per address), on a server whose
    // connection cap leaves room for them (streams take at most half).
    let r = start_with(true, |c| {
        c.server.trust_forwarded_for = true;
        c.server.max_connections = 1024;
    });
    assert_eq!(get(&r, "/audio/dashboard/", &[]).status, 200);
    // The server's workers are named `http PORT/N`.
    let port = r.addr.rsplit(':').next().unwrap();
    let prefix = format!("http {port}/");
    let workers = threads_named(&prefix);
    assert_eq!(workers, 4);
    let streams: Vec<Events> = (0..300)
        .map(|i| Events::open(&r, &[("X-Forwarded-For", &format!("2001:db8::{i:x}"))]))
        .collect();
    assert_eq!(metric(&r, "voxdash_event_streams"), 300);
    for path in ["/healthz", "/audio/dashboard/", "/api/v1/stats/dashboard"] {
        let t = Instant::now();
        assert_eq!(get(&r, path, &[]).status, 200, "{path}");
        let took = t.elapsed();
        // A stream holding a worker would make this wait forever; a second
        // leaves room for a loaded CI machine.
        assert!(took < Duration::from_secs(1), "{path} took {took:?}");
    }
    assert_eq!(threads_named(&prefix), workers);
    drop(streams);
}

#[test]
fn a_closed_stream_is_noticed_within_a_second_without_any_event() {
    let r = start(true);
    let events = Events::open(&r, &[]);
    assert_eq!(metric(&r, "voxdash_event_streams"), 1);
    drop(events);
    let started = Instant::now();
    while metric(&r, "voxdash_event_streams") > 0 {
        assert!(started.elapsed() < Duration::from_secs(1), "still open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stats_answers_carry_a_tag_and_a_current_tag_gets_304() {
    let r = start(true);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    for path in [
        "/api/v1/stats/dashboard",
        "/audio/dashboard/",
        "/api/v1/speakers/1/stats",
    ] {
        get(&r, path, &[]);
        let first = get(&r, path, &[]);
        assert_eq!(first.status, 200, "{path}");
        let tag = first.header("etag").expect("an ETag").to_string();
        assert_eq!(first.header("cache-control"), Some("private, no-cache"));
        let again = get(&r, path, &[("If-None-Match", &tag)]);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        // Another language, or a signed-in viewer, is another tag.
        let korean = get(&r, &format!("{path}?lang=ko"), &[("If-None-Match", &tag)]);
        assert_eq!(korean.status, 200, "{path}");
        let staff_view = get(&r, path, &[("Cookie", &staff), ("If-None-Match", &tag)]);
        assert_eq!(staff_view.status, 200, "{path}");
    }
    let tag = get(&r, "/api/v1/stats/dashboard", &[])
        .header("etag")
        .unwrap()
        .to_string();
    let written = call(
        &r,
        "POST",
        "/api/v1/recordings",
        &[("Cookie", &staff), ("X-CSRF-Token", &csrf)],
        r#"{"speaker_id": 1, "file_name": "new.wav", "duration_s": 3.0}"#,
    );
    assert_eq!(written.status, 201);
    let after = get(&r, "/api/v1/stats/dashboard", &[("If-None-Match", &tag)]);
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), Some(tag.as_str()));
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let r = start(true);
    let page = get(&r, "/audio/dashboard/", &[]);
    let mut stream = TcpStream::connect(&r.addr).unwrap();
    write!(
        stream,
        "HEAD /audio/dashboard/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("etag: {}", page.header("etag").unwrap())));
    assert!(body.is_empty(), "{body}");
}
