//! A server no request, client, file or fault can take down: each test
//! reproduces one way voxdash could be stopped or misled, and checks what a
//! user of the server then sees.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::{call, get, post_login, sign_in, start, start_with, Running};

/// Opens a raw connection and sends `head` as is.
fn raw(r: &Running, head: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(&r.addr).unwrap();
    s.write_all(head).unwrap();
    s
}

/// Reads what the server answers on a raw connection (until it closes or 5 s).
fn answer(mut s: TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `/healthz` and a signed-in page both answer within a second.
fn assert_responsive(r: &Running, cookie: &str) {
    let t = Instant::now();
    assert_eq!(get(r, "/healthz", &[]).status, 200);
    let page = get(r, "/learning/", &[("Cookie", cookie)]);
    assert_eq!(page.status, 200);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        t.elapsed()
    );
}

#[test]
fn slow_bodies_idle_and_slow_head_connections_leave_the_server_answering() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let mut held = Vec::new();
    // More of each kind than the server has workers (4).
    for i in 0..12 {
        // Announce a body and never send it: small (read by the connection
        // thread), large (would have been read by a worker), signed in or not.
        let len = if i % 2 == 0 { 900 } else { 50_000 };
        let auth = if i % 3 == 0 {
            format!("Cookie: {cookie}\r\n")
        } else {
            String::new()
        };
        held.push(raw(
            &r,
            format!("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n{{")
                .as_bytes(),
        ));
        // Connected, silent.
        held.push(TcpStream::connect(&r.addr).unwrap());
        // A head that never ends.
        held.push(raw(&r, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_responsive(&r, &cookie);
    drop(held);
    assert_responsive(&r, &cookie);
}

#[test]
fn an_idle_connection_is_closed_after_the_timeout() {
    let r = start_with(false, |c| c.server.timeout_secs = 1);
    let s = TcpStream::connect(&r.addr).unwrap();
    let t = Instant::now();
    let got = answer(s);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    // Nothing was asked, so the 408 (if any) is all there is.
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 408"), "{got}");
}

#[test]
fn oversized_urls_and_headers_are_refused_with_414_and_431() {
    let r = start(false);
    let long_url = format!(
        "GET /healthz?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(10_000)
    );
    assert!(answer(raw(&r, long_url.as_bytes())).starts_with("HTTP/1.1 414"));
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(40_000)
    );
    assert!(answer(raw(&r, big_header.as_bytes())).starts_with("HTTP/1.1 431"));
    let many: String = (0..150).map(|i| format!("X-{i}: v\r\n")).collect();
    let many_headers = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert!(answer(raw(&r, many_headers.as_bytes())).starts_with("HTTP/1.1 431"));
    // A 300 MB header is cut off at the limit, not read into memory.
    let mut s = raw(&r, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ");
    let chunk = vec![b'c'; 1 << 20];
    let mut sent = 0;
    while sent < 300 {
        if s.write_all(&chunk).is_err() {
            break;
        }
        sent += 1;
    }
    assert!(sent < 300, "the server read a 300 MB header");
    assert_eq!(get(&r, "/healthz", &[]).status, 200);
}

#[test]
fn connections_over_the_cap_get_a_clear_503() {
    let r = start_with(false, |c| c.server.max_connections = 6);
    let held: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(&r.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let over = answer(raw(&r, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(over.starts_with("HTTP/1.1 503"), "{over}");
    assert!(over.contains("Retry-After: 1"), "{over}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(&r, "/healthz", &[]).status, 200);
}

#[test]
fn bodies_over_the_route_limit_are_413_without_being_read() {
    let r = start(false);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    // Announced 10 MB, nothing sent: the answer comes at once.
    let s = raw(
        &r,
        format!("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: 10000000\r\n\r\n").as_bytes(),
    );
    let t = Instant::now();
    let got = answer(s);
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(t.elapsed() < Duration::from_secs(2));
    // Not signed in: 401 before any body is read.
    let s = raw(
        &r,
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
    );
    assert!(answer(s).starts_with("HTTP/1.1 401"));
}

#[test]
fn inputs_that_used_to_panic_answer_and_leave_every_worker_alive() {
    let r = start(false);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    for _ in 0..12 {
        // A date beyond the calendar: a 400 naming the parameter.
        let far = get(
            &r,
            "/api/v1/users/1/stats/daily?date=9999-12-31",
            &[("Cookie", &cookie)],
        );
        assert_eq!(far.status, 400, "{}", far.body);
        assert_eq!(far.json()["field"], "date");
        let page = get(
            &r,
            "/learning/users/1/?week_start=0001-01-01",
            &[("Cookie", &cookie)],
        );
        assert_eq!(page.status, 400);
        // A non-ASCII next= on sign-in falls back to the default page.
        let next = post_login(&r, "boss", "staff-password", "/%EC%84%9C%EC%9A%B8");
        assert_eq!(next.status, 303);
        assert_eq!(next.header("location"), Some("/audio/dashboard/"));
    }
    // A session finished and deleted at the same moment: each call answers
    // 200 or 404, never 500.
    for _ in 0..6 {
        let created = call(
            &r,
            "POST",
            "/api/v1/sessions",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            r#"{"user_id": 1, "start_time": "2026-11-23T01:00:00Z"}"#,
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json()["id"].as_i64().unwrap();
        let (a, b) = std::thread::scope(|s| {
            let finish = s.spawn(|| {
                call(
                    &r,
                    "POST",
                    &format!("/api/v1/sessions/{id}/finish"),
                    &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
                    "",
                )
                .status
            });
            let delete = s.spawn(|| {
                call(
                    &r,
                    "DELETE",
                    &format!("/api/v1/sessions/{id}"),
                    &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
                    "",
                )
                .status
            });
            (finish.join().unwrap(), delete.join().unwrap())
        });
        assert!(matches!(a, 200 | 404), "finish answered {a}");
        assert!(matches!(b, 200 | 404), "delete answered {b}");
    }
    assert_responsive(&r, &cookie);
}

#[test]
fn redirect_targets_are_local_paths_only() {
    let r = start(false);
    for next in [
        "/x%0D%0ASet-Cookie:%20evil=1",
        "/%5Cevil.example",
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/a%09b",
    ] {
        let reply = post_login(&r, "boss", "staff-password", next);
        assert_eq!(reply.status, 303, "{next}");
        assert_eq!(
            reply.header("location"),
            Some("/audio/dashboard/"),
            "{next}"
        );
        assert!(
            !reply
                .headers
                .iter()
                .any(|(k, v)| k == "set-cookie" && v.contains("evil")),
            "{next}"
        );
    }
    let ok = post_login(
        &r,
        "boss",
        "staff-password",
        "/learning/users/1/%3Fdate=2026-11-20",
    );
    assert_eq!(
        ok.header("location"),
        Some("/learning/users/1/?date=2026-11-20")
    );
    // The login page does not echo a bad target into its form either.
    let page = get(&r, "/login/?next=//evil.example/", &[]);
    assert!(!page.body.contains("evil.example"));
}

#[test]
fn a_learner_reads_only_their_own_statistics() {
    let r = start(false);
    let store = r.store();
    let me = voxdash::store::accounts::by_username(&store.conn().unwrap(), "user00002")
        .unwrap()
        .unwrap()
        .id;
    let other = if me == 1 { 3 } else { 1 };
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    for path in [
        format!("/learning/users/{other}/"),
        format!("/api/v1/users/{other}/stats/daily"),
        format!("/api/v1/users/{other}/stats/courses"),
    ] {
        assert_eq!(
            get(&r, &path, &[("Cookie", &learner)]).status,
            403,
            "{path}"
        );
        assert_eq!(get(&r, &path, &[("Cookie", &staff)]).status, 200, "{path}");
    }
    for path in [
        format!("/learning/users/{me}/"),
        format!("/api/v1/users/{me}/stats/weekly"),
    ] {
        assert_eq!(
            get(&r, &path, &[("Cookie", &learner)]).status,
            200,
            "{path}"
        );
    }
}

#[test]
fn changing_a_password_ends_the_old_sessions() {
    let r = start(false);
    let (old, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(get(&r, "/learning/", &[("Cookie", &old)]).status, 200);
    let store = r.store();
    let hash = voxdash::accounts::hash_password("new-password");
    voxdash::store::accounts::set_password(&store.conn().unwrap(), "user00002", &hash).unwrap();
    assert_eq!(get(&r, "/learning/", &[("Cookie", &old)]).status, 303);
    let (new, _) = sign_in(&r, "user00002", "new-password");
    assert_eq!(get(&r, "/learning/", &[("Cookie", &new)]).status, 200);
}

#[test]
fn failed_sign_ins_are_throttled_with_retry_after() {
    let r = start(false);
    for _ in 0..5 {
        let wrong = post_login(&r, "boss", "wrong", "/");
        assert_eq!(wrong.status, 200);
        assert!(wrong.body.contains("Wrong username or password."));
    }
    let throttled = post_login(&r, "boss", "staff-password", "/");
    assert_eq!(throttled.status, 429);
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 900);
    // Another account from the same address is not locked out yet.
    assert_eq!(
        post_login(&r, "user00002", "user-password", "/").status,
        303
    );
}

#[test]
fn sign_in_and_sign_out_need_their_csrf_tokens() {
    let r = start(false);
    let forged = call(
        &r,
        "POST",
        "/login/",
        &[],
        "username=boss&password=staff-password",
    );
    assert_eq!(forged.status, 403);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    // GET /logout/ only offers the button.
    let page = get(&r, "/logout/", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert_eq!(get(&r, "/learning/", &[("Cookie", &cookie)]).status, 200);
    let no_token = call(&r, "POST", "/logout/", &[("Cookie", &cookie)], "");
    assert_eq!(no_token.status, 403);
    assert_eq!(get(&r, "/learning/", &[("Cookie", &cookie)]).status, 200);
    let out = call(
        &r,
        "POST",
        "/logout/",
        &[("Cookie", &cookie)],
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(out.status, 303);
    assert_eq!(get(&r, "/learning/", &[("Cookie", &cookie)]).status, 303);
}

#[test]
fn every_answer_forbids_framing_and_sniffing_and_cookies_can_be_secure() {
    let r = start_with(false, |c| c.server.secure_cookies = true);
    for path in [
        "/healthz",
        "/login/",
        "/no/such/page",
        "/api/v1/stats/dashboard",
    ] {
        let reply = get(&r, path, &[]);
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let login = post_login(&r, "boss", "staff-password", "/");
    let set = login.header("set-cookie").unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

#[test]
fn database_and_cache_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let r = start(false);
    // With the data in PostgreSQL there is no database file to check.
    let files = if r.database_url.is_some() {
        &["stats.redb", "control.sock"][..]
    } else {
        &["voxdash.db", "stats.redb", "control.sock"][..]
    };
    for file in files {
        let mode = std::fs::metadata(r.dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} has mode {mode:o}");
    }
}

#[test]
fn out_of_bounds_values_are_400s_naming_the_field_and_write_nothing() {
    let r = start(false);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    let sessions = |r: &Running| {
        voxdash::store::Store::open(&r.dir.path().join("voxdash.db"))
            .unwrap()
            .table_counts()
            .unwrap()
            .into_iter()
            .find(|(t, _)| t == "study_sessions")
            .unwrap()
            .1
    };
    let before = sessions(&r);
    for (body, field) in [
        (
            r#"{"user_id": 1, "duration_minutes": 9223372036854775807}"#,
            "duration_minutes",
        ),
        (
            r#"{"user_id": 1, "duration_minutes": 10081}"#,
            "duration_minutes",
        ),
        (
            r#"{"user_id": 1, "start_time": "0001-01-01T00:00:00Z"}"#,
            "start_time",
        ),
        (
            r#"{"user_id": 1, "start_time": "9999-12-31T00:00:00Z"}"#,
            "start_time",
        ),
        (r#"{"user_id": 0}"#, "user_id"),
        (r#"{"user_id": 1, "course_id": -4}"#, "course_id"),
        (r#"{"user_id": 1, "subject": "a\u0000b"}"#, "subject"),
    ] {
        let reply = call(
            &r,
            "POST",
            "/api/v1/sessions",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            body,
        );
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.json()["field"], field, "{body}");
    }
    assert_eq!(sessions(&r), before);
    for (body, field) in [
        (
            r#"{"speaker_id": 1, "file_name": "a.wav", "duration_s": 1, "upload": {"latitude": 1e6}}"#,
            "upload.latitude",
        ),
        (
            r#"{"speaker_id": 1, "file_name": "a.wav", "duration_s": 1, "upload": {"longitude": 200}}"#,
            "upload.longitude",
        ),
        (
            r#"{"speaker_id": 1, "file_name": "a.wav", "duration_s": 1e300}"#,
            "duration_s",
        ),
        (
            r#"{"speaker_id": 1, "file_name": "a.wav", "duration_s": 1, "snr_db": 1e9}"#,
            "snr_db",
        ),
    ] {
        let reply = call(
            &r,
            "POST",
            "/api/v1/recordings",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            body,
        );
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.json()["field"], field, "{body}");
    }
}

#[test]
fn a_flood_of_dates_neither_grows_the_cache_nor_evicts_shared_entries() {
    let r = start_with(false, |c| c.cache.max_entries = 20);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let cache = &r.server.as_ref().unwrap().app.cache;
    for key in ["dashboard", "locations", "learning"] {
        assert_eq!(
            get(&r, &format!("/api/v1/stats/{key}"), &[("Cookie", &cookie)]).status,
            200
        );
    }
    let stored = cache.len().unwrap();
    let mut day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for _ in 0..400 {
        let reply = get(
            &r,
            &format!("/api/v1/users/1/stats/daily?date={day}"),
            &[("Cookie", &cookie)],
        );
        assert_eq!(reply.status, 200);
        day = day.succ_opt().unwrap();
    }
    assert_eq!(cache.len().unwrap(), stored);
    for key in ["dashboard", "locations", "learning"] {
        assert!(cache.read(key).is_some(), "{key} was evicted");
    }
    // A date read twice in a row is answered from memory the second time.
    let path = "/api/v1/users/1/stats/daily?date=2026-11-20";
    assert_eq!(
        get(&r, path, &[("Cookie", &cookie)]).json()["status"],
        "fresh"
    );
    assert_eq!(
        get(&r, path, &[("Cookie", &cookie)]).json()["status"],
        "cached"
    );
}

#[test]
fn cache_ls_through_the_server_prints_a_thousand_entries() {
    let r = start_with(false, |c| c.cache.max_entries = 2000);
    let cache = &r.server.as_ref().unwrap().app.cache;
    let entry = cache
        .refresh(&voxdash::stats::StatKey::Dashboard)
        .unwrap()
        .entry;
    for user in 1..=1000 {
        cache
            .write(&format!("user/{user}/courses"), &entry)
            .unwrap();
    }
    let out = common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        r.dir.path(),
        &["cache", "ls"],
        &r.cli_env(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for user in [1, 500, 1000] {
        assert!(
            text.contains(&format!("user/{user}/courses")),
            "user {user}"
        );
    }
    assert!(text.lines().count() >= 1001);
}

/// Random requests straight into the handler: whatever the method, path,
/// query, headers and body, it answers a valid status and never a 500.
#[test]
fn random_requests_never_panic_and_never_answer_500() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    let app = &r.server.as_ref().unwrap().app;
    let mut rng = StdRng::seed_from_u64(20261123);
    let pick = |rng: &mut StdRng, items: &[&str]| items[rng.gen_range(0..items.len())].to_string();
    let noise = |rng: &mut StdRng| -> String {
        let pieces = [
            "",
            "1",
            "0",
            "-1",
            "42",
            "9223372036854775807",
            "99999999999999999999",
            "2026-11-23",
            "2026-02-30",
            "9999-12-31",
            "0001-01-01",
            "%",
            "%zz",
            "%00",
            "%0D%0A",
            "..",
            "%2F",
            "서울",
            "%EC%84%9C",
            "a b",
            "<script>",
            "'",
            "\"",
            "\\",
            "NaN",
            "1e309",
            "-0",
        ];
        (0..rng.gen_range(1..3))
            .map(|_| pieces[rng.gen_range(0..pieces.len())])
            .collect()
    };
    for round in 0..2500 {
        let method = pick(
            &mut rng,
            &[
                "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS",
            ],
        );
        let n = noise(&mut rng);
        let template = pick(
            &mut rng,
            &[
                "/",
                "/healthz",
                "/metrics",
                "/login/",
                "/logout/",
                "/audio/dashboard/",
                "/api/userprofile/",
                "/learning/",
                "/learning/users/{}/",
                "/learning/users/{}/sessions",
                "/learning/users/{}/sessions/{}/finish",
                "/refresh/",
                "/admin/cache/",
                "/admin/cache/clear",
                "/admin/maintenance/",
                "/admin/accounts/",
                "/api/v1/stats/{}",
                "/api/v1/users/{}/stats/{}",
                "/api/v1/cache",
                "/api/v1/cache/refresh",
                "/api/v1/sessions",
                "/api/v1/sessions/{}",
                "/api/v1/sessions/{}/finish",
                "/api/v1/users/{}/progress/{}",
                "/api/v1/recordings",
                "/internal/cli",
                "/{}",
                "//",
                "/api/v1/",
                "/%2e%2e/",
            ],
        );
        let mut path = template.replacen("{}", &n, 1);
        path = path.replacen("{}", &noise(&mut rng), 1);
        if rng.gen_bool(0.6) {
            let keys = [
                "date",
                "week_start",
                "refresh",
                "lang",
                "next",
                "key",
                "prefix",
                "x",
            ];
            let q: Vec<String> = (0..rng.gen_range(1..4))
                .map(|_| format!("{}={}", pick(&mut rng, &keys), noise(&mut rng)))
                .collect();
            path = format!("{path}?{}", q.join("&"));
        }
        let mut request = tiny_http::TestRequest::new()
            .with_method(method.parse().unwrap())
            .with_path(&path);
        let cookie = match rng.gen_range(0..4) {
            0 => Some(staff.clone()),
            1 => Some(learner.clone()),
            2 => Some(format!(
                "voxdash_session={}; lang={}",
                noise(&mut rng),
                noise(&mut rng)
            )),
            _ => None,
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(c) = cookie {
            headers.push(("Cookie".into(), c));
        }
        if rng.gen_bool(0.5) {
            headers.push((
                "X-CSRF-Token".into(),
                if rng.gen_bool(0.5) {
                    csrf.clone()
                } else {
                    noise(&mut rng)
                },
            ));
        }
        if rng.gen_bool(0.2) {
            headers.push((
                "Authorization".into(),
                format!("Bearer {}", noise(&mut rng)),
            ));
        }
        if rng.gen_bool(0.3) {
            headers.push((
                "Accept-Language".into(),
                pick(&mut rng, &["ko", "zh-CN,zh;q=0.9", "en", "*", ";q=", ""]),
            ));
        }
        for (k, v) in headers {
            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                request = request.with_header(h);
            }
        }
        let body = match rng.gen_range(0..6) {
            0 => String::new(),
            1 => format!("{{\"user_id\": {}, \"start_time\": \"{}\", \"duration_minutes\": {}}}", noise(&mut rng), noise(&mut rng), noise(&mut rng)),
            2 => format!("csrf_token={csrf}&key={}&next={}&prefix={}", noise(&mut rng), noise(&mut rng), noise(&mut rng)),
            3 => format!("{{\"speaker_id\": 1, \"file_name\": \"{}\", \"duration_s\": {}, \"upload\": {{\"latitude\": {}}}}}", noise(&mut rng), noise(&mut rng), noise(&mut rng)),
            4 => format!("{{\"args\": [\"{}\"]}}", noise(&mut rng)),
            _ => noise(&mut rng),
        };
        let request = request.with_body(Box::leak(body.clone().into_boxed_str()));
        let (route, status) = voxdash::web::handle(app, request.into());
        assert!(
            (200..600).contains(&status) && status != 500,
            "round {round}: {method} {path} ({route}) with body {body:?} answered {status}"
        );
    }
    assert_eq!(get(&r, "/healthz", &[]).status, 200);
}

#[test]
fn serve_starts_over_a_truncated_or_corrupted_cache_file() {
    let dir = common::imported_dir();
    let bin = env!("CARGO_BIN_EXE_voxdash");
    assert!(common::run_cli(bin, dir.path(), &["refresh"])
        .status
        .success());
    let path = dir.path().join("stats.redb");
    let whole = std::fs::read(&path).unwrap();
    let mut corrupted = whole.clone();
    let (a, b) = (corrupted.len() / 4, corrupted.len() * 3 / 4);
    for (i, byte) in corrupted[a..b].iter_mut().enumerate() {
        *byte = (i * 7 + 13) as u8;
    }
    for damaged in [
        whole[..whole.len() / 2].to_vec(),
        corrupted,
        Vec::from(&b"\x00garbage"[..]),
    ] {
        std::fs::write(&path, &damaged).unwrap();
        // The CLI first: it must not panic (exit 101).
        let out = common::run_cli(bin, dir.path(), &["cache", "ls"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&path, &damaged).unwrap();
        let mut server = common::Served::start(dir.path());
        let (code, body) = server.get("/api/v1/stats/dashboard");
        assert!(server.running(), "serve exited");
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    }
    let aside = common::files_starting_with(dir.path(), "stats.redb.corrupt-");
    assert!(aside >= 1);
}

#[test]
fn cleanup_runs_while_a_writer_posts_sessions_and_loses_no_write() {
    let r = start(false);
    let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let accepted: Vec<i64> = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut ids = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || ids.len() < 20 {
                i += 1;
                let reply = call(
                    &r,
                    "POST",
                    "/api/v1/sessions",
                    &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
                    &format!(r#"{{"user_id": 1, "start_time": "2026-11-22T0{}:00:00Z", "duration_minutes": 5}}"#, i % 10),
                );
                assert_eq!(reply.status, 201, "{}", reply.body);
                ids.push(reply.json()["id"].as_i64().unwrap());
            }
            ids
        });
        let runs: Vec<std::process::Output> = (0..3)
            .map(|_| {
                common::run_cli_with_env(
                    env!("CARGO_BIN_EXE_voxdash"),
                    r.dir.path(),
                    &["cleanup", "--batch-size", "2"],
                    &r.cli_env(),
                )
            })
            .collect();
        // Stop the writer before any assertion, or a failure would hang here.
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for out in runs {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        writer.join().unwrap()
    });
    let store = r.store();
    let conn = store.conn().unwrap();
    for id in &accepted {
        let n: i64 = conn
            .query_value(
                "SELECT COUNT(*) FROM study_sessions WHERE id = ?1",
                &[voxdash::store::Value::Integer(*id)],
            )
            .unwrap();
        assert_eq!(n, 1, "accepted session {id} is gone");
    }
    // A backup file only of SQLite (PostgreSQL is pg_dump's).
    if r.database_url.is_none() {
        let backups = std::fs::read_dir(r.dir.path().join("backups"))
            .unwrap()
            .count();
        assert!(backups >= 1);
    }
}

#[test]
fn a_sum_past_i64_from_legacy_rows_is_answered_not_wrapped() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let store = r.store();
    store
        .conn()
        .unwrap()
        .batch(
            "INSERT INTO study_sessions (id, user_id, start_time, duration_minutes, is_active)
             VALUES (900001, 1, 1795392000000000, 9223372036854775807, 0),
                    (900002, 1, 1795392060000000, 9223372036854775807, 0);",
        )
        .unwrap();
    let reply = get(
        &r,
        "/api/v1/users/1/stats/daily?date=2026-11-23",
        &[("Cookie", &cookie)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["data"]["total_duration_minutes"], i64::MAX);
    // The aggregates the writes keep took them too, and the platform-wide
    // average is answered.
    let reply = get(
        &r,
        "/api/v1/stats/learning?refresh=1",
        &[("Cookie", &cookie)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let average = reply.json()["data"]["avg_session_duration"].as_f64();
    assert!(average.unwrap() > 1e15, "{}", reply.body);
}

#[test]
fn behind_a_trusted_proxy_throttling_counts_each_forwarded_client() {
    let r = start_with(false, |c| c.server.trust_forwarded_for = true);
    let attempt = |from: &str, user: &str, password: &str| {
        let (cookie, token) = common::server::login_form(&r);
        call(
            &r,
            "POST",
            "/login/",
            &[("Cookie", &cookie), ("X-Forwarded-For", from)],
            &format!("csrf_token={token}&username={user}&password={password}&next=/"),
        )
        .status
    };
    // 20 failures from one client, spread over accounts so none is locked.
    for i in 0..20 {
        assert_eq!(attempt("10.9.9.1", &format!("nobody{i}"), "x"), 200);
    }
    assert_eq!(attempt("10.9.9.1", "boss", "staff-password"), 429);
    // Another client behind the same proxy is not affected.
    assert_eq!(attempt("spoof, 10.9.9.2", "boss", "staff-password"), 303);
}
