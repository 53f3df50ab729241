//! The web server on an ephemeral port: pages and badges in English and
//! Korean, charts, sign-in and permissions, CSRF, the JSON of every endpoint
//! against the sample's expected values, and the CLI while serving.

mod common;

use common::server::{call, get, post_login, sign_in, start};

#[test]
fn pages_show_the_right_badge_in_english_and_korean_with_their_charts() {
    let r = start(true);
    let page = get(&r, "/audio/dashboard/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("<meta charset=\"utf-8\">"));
    // Warmed at start, so the first view is served from the cache.
    assert!(
        page.body
            .contains("data-status=\"cached\">Cached data (updated: 2026-11-23 12:00:00 KST)"),
        "{}",
        page.body
    );
    assert!(page.body.matches("<svg").count() >= 5);
    assert!(page.body.contains("환자"));

    let ko = get(
        &r,
        "/audio/dashboard/",
        &[("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5")],
    );
    assert!(ko.body.contains("캐시 데이터"), "{}", ko.body);
    assert!(ko.body.contains("<html lang=\"ko\">"));
    let zh = get(&r, "/learning/?lang=zh", &[]);
    assert!(zh.body.contains("缓存数据"));
    assert!(zh.header("set-cookie").unwrap().starts_with("lang=zh"));
    let remembered = get(&r, "/learning/", &[("Cookie", "lang=zh")]);
    assert!(remembered.body.contains("缓存数据"));

    let user = get(&r, "/learning/users/1/", &[]);
    assert_eq!(user.status, 200);
    // Per-user entries are not warmed at start: computed for this view.
    assert!(
        user.body
            .contains("Fresh data (refreshed: 2026-11-23 12:00:00 KST)"),
        "{}",
        user.body
    );
    assert!(user.body.contains("data-code=\"late_night\""));
    let again = get(&r, "/learning/users/1/?lang=ko", &[]);
    // The second view reads the entries the first one computed.
    assert!(again.body.contains("캐시 데이터"), "{}", again.body);
    // No badge shows fresh (the badges carry the fresh text for the live
    // script in an attribute, so the text alone is no longer the sign).
    assert!(!again.body.contains("data-status=\"fresh\">최신 데이터"));
    assert!(again.body.contains("data-status=\"cached\">캐시 데이터"));
    let map = get(&r, "/api/userprofile/", &[]);
    assert!(map.body.contains("<circle"), "no dots");
    assert_eq!(get(&r, "/learning/users/999/", &[]).status, 404);
    // A day that is not a Monday leads to the week that holds it.
    let tuesday = get(&r, "/learning/users/1/?week_start=2026-11-24&lang=ko", &[]);
    assert_eq!(tuesday.status, 303);
    assert_eq!(
        tuesday.header("location"),
        Some("/learning/users/1/?lang=ko&week_start=2026-11-23")
    );
    assert_eq!(
        get(&r, "/learning/users/1/?week_start=2026-13-01", &[]).status,
        400
    );
}

#[test]
fn every_json_endpoint_equals_the_samples_expected_values() {
    let r = start(true);
    let expected = common::expected();
    let mut diffs = Vec::new();
    for key in ["dashboard", "locations", "learning"] {
        let reply = get(&r, &format!("/api/v1/stats/{key}"), &[]);
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let json = reply.json();
        assert_eq!(json["key"], key);
        common::json_diff(key, &expected[key], &json["data"], &mut diffs);
    }
    for (user, stats) in expected["users"].as_object().unwrap() {
        for (date, want) in stats["daily"].as_object().unwrap() {
            let json = get(
                &r,
                &format!("/api/v1/users/{user}/stats/daily?date={date}"),
                &[],
            )
            .json();
            common::json_diff(
                &format!("{user} daily {date}"),
                want,
                &json["data"],
                &mut diffs,
            );
        }
        for (monday, want) in stats["weekly"].as_object().unwrap() {
            let json = get(
                &r,
                &format!("/api/v1/users/{user}/stats/weekly?week_start={monday}"),
                &[],
            )
            .json();
            common::json_diff(
                &format!("{user} weekly {monday}"),
                want,
                &json["data"],
                &mut diffs,
            );
        }
        for kind in ["analytics", "courses"] {
            let json = get(&r, &format!("/api/v1/users/{user}/stats/{kind}"), &[]).json();
            common::json_diff(
                &format!("{user} {kind}"),
                &stats[kind],
                &json["data"],
                &mut diffs,
            );
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let today = get(&r, "/api/v1/users/1/stats/daily", &[]).json();
    assert_eq!(today["data"]["date"], "2026-11-23");
    let bad = get(&r, "/api/v1/users/1/stats/daily?date=2026-02-30", &[]);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["field"], "date");
    let unknown = get(&r, "/api/v1/users/4242/stats/courses", &[]);
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].as_str().unwrap().contains("4242"));
}

#[test]
fn sign_in_permissions_and_csrf() {
    let r = start(false);
    let page = get(&r, "/audio/dashboard/", &[]);
    assert_eq!(page.status, 303);
    assert!(page
        .header("location")
        .unwrap()
        .starts_with("/login/?next=/audio/dashboard/"));
    assert_eq!(get(&r, "/api/v1/stats/dashboard", &[]).status, 401);
    let wrong = post_login(&r, "boss", "nope", "/learning/");
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("Wrong username or password."));

    let (user_cookie, user_csrf) = sign_in(&r, "user00002", "user-password");
    assert_eq!(
        get(&r, "/api/v1/stats/dashboard", &[("Cookie", &user_cookie)]).status,
        200
    );
    assert_eq!(
        get(&r, "/admin/cache/", &[("Cookie", &user_cookie)]).status,
        403
    );
    let form = format!("csrf_token={user_csrf}&key=dashboard&next=/audio/dashboard/");
    assert_eq!(
        call(&r, "POST", "/refresh/", &[("Cookie", &user_cookie)], &form).status,
        403
    );
    // ?refresh=1 from a non-staff user changes nothing.
    let plain = get(
        &r,
        "/api/v1/stats/dashboard?refresh=1",
        &[("Cookie", &user_cookie)],
    )
    .json();
    assert_eq!(plain["status"], "cached");

    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let page = get(&r, "/audio/dashboard/", &[("Cookie", &staff)]);
    assert!(page.body.contains("Refresh data"));
    let forced = get(
        &r,
        "/api/v1/stats/dashboard?refresh=1",
        &[("Cookie", &staff)],
    )
    .json();
    assert_eq!(forced["status"], "fresh");
    let no_csrf = call(
        &r,
        "POST",
        "/refresh/",
        &[("Cookie", &staff)],
        "key=learning&next=/learning/",
    );
    assert_eq!(no_csrf.status, 403);
    let ok = call(
        &r,
        "POST",
        "/refresh/",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}&key=learning&next=/learning/"),
    );
    assert_eq!(ok.status, 303);
    let admin = get(&r, "/admin/cache/", &[("Cookie", &staff)]);
    assert_eq!(admin.status, 200);
    assert!(admin.body.contains("data-row=\"learning\""));
    assert!(admin.body.contains("study_sessions"));
    let listed = get(&r, "/api/v1/cache", &[("Cookie", &staff)]).json();
    assert!(listed["entries"].as_array().unwrap().len() >= 3);
    let deleted = call(
        &r,
        "DELETE",
        "/api/v1/cache?prefix=user/",
        &[("Cookie", &staff), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);

    let out = call(
        &r,
        "POST",
        "/logout/",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(out.status, 303);
    assert_eq!(get(&r, "/admin/cache/", &[("Cookie", &staff)]).status, 303);
    let health = get(&r, "/healthz", &[]);
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let metrics = get(&r, "/metrics", &[]).body;
    assert!(
        metrics.contains("voxdash_http_requests_total{route=\"/admin/cache/\",status=\"403\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("voxdash_cache_computations_total{kind=\"dashboard\"}"));
}

#[test]
fn the_cli_runs_through_the_server_while_it_serves() {
    let r = start(true);
    if r.redis.is_some() {
        // The control channel reaches the process holding the cache file;
        // a shared cache has none. Its counterpart: tests/cluster.rs.
        return;
    }
    let before = get(&r, "/api/v1/stats/learning", &[]).json();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_voxdash"))
            .arg("--data-dir")
            .arg(r.dir.path())
            .args(args)
            .envs(r.cli_env())
            .env("VOXDASH_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["refresh", "--only", "learning"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[1/1] learning"), "{text}");
    // The server serves the entry the CLI's refresh computed.
    let after = get(&r, "/api/v1/stats/learning", &[]).json();
    assert_eq!(after["status"], "cached");
    assert_eq!(after["data"], before["data"]);
    let metrics = get(&r, "/metrics", &[]).body;
    assert!(
        metrics.contains("voxdash_cache_computations_total{kind=\"learning\"} 2"),
        "{metrics}"
    );
    let stats = run(&["stats", "user", "1", "courses"]);
    let json: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(json["data"]["total_courses"], 4);
    let ls = run(&["cache", "ls"]);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("user/1/courses"));
    let bad = run(&["stats", "user", "777", "courses"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("user 777 not found"));
    // The control channel is not on the network: the old HTTP endpoint is
    // gone, and the socket is the data directory owner's alone.
    let forged = call(
        &r,
        "POST",
        "/internal/cli",
        &[("X-Voxdash-Control", "guess")],
        "{\"args\":[\"cache\",\"clear\"]}",
    );
    assert_eq!(forged.status, 404);
    let mode = std::fs::metadata(voxdash::control::socket_path(r.dir.path())).unwrap();
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    assert!(mode.file_type().is_socket());
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}

/// Runs `voxdash ARGS` on the server's data directory.
fn on_the_server(r: &common::server::Running, args: &[&str]) -> std::process::Output {
    common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        r.dir.path(),
        args,
        &r.cli_env(),
    )
}

#[test]
fn staff_disable_enable_unstaff_and_remove_accounts_and_it_takes_effect_at_once() {
    use common::server::{get, post_login, sign_in, start};
    let r = start(false);
    let cli = |args: &[&str]| {
        let out = on_the_server(&r, args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, printed) = cli(&["token", "create", "user00002"]);
    assert!(ok, "{printed}");
    let token = printed
        .split_whitespace()
        .find(|w| w.len() > 30)
        .unwrap()
        .to_string();
    let bearer = format!("Bearer {token}");
    let (cookie, _) = sign_in(&r, "user00002", "user-password");
    let own = "/api/v1/users/2/stats/daily";
    let page = |cookie: &str| get(&r, "/learning/users/2/", &[("Cookie", cookie)]).status;
    let api = || get(&r, own, &[("Authorization", &bearer)]).status;
    assert_eq!((page(&cookie), api()), (200, 200));

    // Disabled: the open session, the token and a new sign-in all stop.
    let (ok, printed) = cli(&["user", "disable", "user00002"]);
    assert!(ok && printed.contains("disabled"), "{printed}");
    assert_ne!(page(&cookie), 200);
    assert_eq!(api(), 401);
    assert_ne!(
        post_login(&r, "user00002", "user-password", "/").status,
        303
    );
    let (_, list) = cli(&["user", "list"]);
    assert!(
        list.lines()
            .any(|l| l.contains("user00002") && l.contains("disabled")),
        "{list}"
    );

    // Enabled: the token works again; the old session stays ended.
    assert!(cli(&["user", "enable", "user00002"]).0);
    assert_eq!(api(), 200);
    assert_ne!(page(&cookie), 200);
    let (cookie, _) = sign_in(&r, "user00002", "user-password");

    // Staff rights come and go with the open session.
    assert_eq!(get(&r, "/admin/cache/", &[("Cookie", &cookie)]).status, 403);
    assert!(cli(&["user", "staff", "user00002", "--on"]).0);
    assert_eq!(get(&r, "/admin/cache/", &[("Cookie", &cookie)]).status, 200);
    assert!(cli(&["user", "staff", "user00002", "--off"]).0);
    assert_eq!(get(&r, "/admin/cache/", &[("Cookie", &cookie)]).status, 403);

    // Removed: no more sign-in of any kind; the learner's data stays.
    assert!(cli(&["user", "remove", "user00002"]).0);
    assert_ne!(page(&cookie), 200);
    assert_eq!(api(), 401);
    assert_ne!(
        post_login(&r, "user00002", "user-password", "/").status,
        303
    );
    let (boss, _) = sign_in(&r, "boss", "staff-password");
    assert_eq!(get(&r, own, &[("Cookie", &boss)]).status, 200);
    let (_, tokens) = cli(&["token", "list", "--user", "user00002"]);
    let line = tokens.lines().find(|l| l.contains("user00002")).unwrap();
    assert!(line.trim_end().ends_with('Z'), "revoked: {tokens}");
    assert!(!tokens.contains(&token), "{tokens}");

    // The last staff login cannot lock everyone out.
    let (ok, printed) = cli(&["user", "disable", "boss"]);
    assert!(!ok && printed.contains("last staff account"), "{printed}");
    assert!(!cli(&["user", "staff", "boss", "--off"]).0);
    assert!(!cli(&["user", "remove", "boss"]).0);
    assert_eq!(get(&r, "/admin/cache/", &[("Cookie", &boss)]).status, 200);
    let (ok, printed) = cli(&["user", "disable", "nobody"]);
    assert!(!ok && printed.contains("nobody"), "{printed}");
}

#[test]
fn the_accounts_page_changes_accounts_like_the_commands_and_at_once() {
    use common::server::{call, get, sign_in, start};
    let r = start(false);
    let (boss, csrf) = sign_in(&r, "boss", "staff-password");
    let (learner, learner_csrf) = sign_in(&r, "user00002", "user-password");
    let page = |cookie: &str| get(&r, "/admin/accounts/", &[("Cookie", cookie)]);
    assert_eq!(page(&learner).status, 403);
    let list = page(&boss);
    assert_eq!(list.status, 200);
    assert!(
        list.body
            .contains("data-row=\"user00002\"><td><code>user00002</code></td>"),
        "{}",
        list.body
    );
    assert!(list.body.contains("name=\"change\" value=\"disable\""));
    // A platform has thousands of accounts: they come a page at a time.
    {
        let store = r.store();
        let conn = store.conn().unwrap();
        let hash = voxdash::accounts::hash_password("learner-password");
        for i in 0..60 {
            voxdash::store::accounts::add_account(&conn, &format!("extra{i:03}"), false, &hash, 0)
                .unwrap();
        }
    }
    let listed = |query: &str| {
        let body = get(
            &r,
            &format!("/admin/accounts/{query}"),
            &[("Cookie", &boss)],
        )
        .body;
        let table = body.split("<table id=\"accounts\">").nth(1).unwrap();
        let table = table.split("</table>").next().unwrap().to_string();
        (body, table.matches("<tr data-row=").count())
    };
    let (first, shown) = listed("");
    assert_eq!(shown, 50);
    let total: usize = first
        .split("<h2>Accounts (")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(total > 60, "{total}");
    assert_eq!(listed("?page=2").1, total - 50);
    let post = |cookie: &str, body: String| {
        call(
            &r,
            "POST",
            "/admin/accounts/",
            &[
                ("Cookie", cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        )
    };
    let change = |user: &str, change: &str| {
        post(
            &boss,
            format!("csrf_token={csrf}&user={user}&change={change}"),
        )
    };
    // A learner, a missing token and a bad change are refused.
    assert_eq!(
        post(
            &learner,
            format!("csrf_token={learner_csrf}&user=boss&change=disable")
        )
        .status,
        403
    );
    assert_eq!(
        post(&boss, "user=user00002&change=disable".into()).status,
        403
    );
    let bad = change("user00002", "delete");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("change"), "{}", bad.body);
    assert_eq!(change("nobody", "disable").status, 404);

    // Disabled from the page: the learner's open session ends at once.
    let own = |cookie: &str| get(&r, "/learning/users/2/", &[("Cookie", cookie)]).status;
    assert_eq!(own(&learner), 200);
    let done = change("user00002", "disable");
    assert_eq!(done.status, 303);
    assert_ne!(own(&learner), 200);
    let flash = done.cookie("voxdash_flash").expect("a one-time message");
    let said = page(&format!("{boss}; {flash}"));
    assert!(
        said.body
            .contains("Account disabled: signed out everywhere"),
        "{}",
        said.body
    );
    assert!(said.body.contains("name=\"change\" value=\"enable\""));
    assert_eq!(change("user00002", "enable").status, 303);

    // Staff rights, given and taken from the page.
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(change("user00002", "staff-on").status, 303);
    assert_eq!(page(&learner).status, 200);
    assert_eq!(change("user00002", "staff-off").status, 303);
    assert_eq!(page(&learner).status, 403);

    // Removing a sign-in asks first; confirmed, the sign-in is gone.
    let asked = change("user00002", "remove");
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Remove the sign-in of user00002?"));
    assert_eq!(own(&learner), 200);
    let removed = post(
        &boss,
        format!("csrf_token={csrf}&user=user00002&change=remove&confirm=yes"),
    );
    assert_eq!(removed.status, 303);
    assert_ne!(own(&learner), 200);

    // The last staff account cannot lock everyone out from here either.
    let refused = change("boss", "staff-off");
    assert_eq!(refused.status, 303);
    let flash = refused.cookie("voxdash_flash").unwrap();
    let said = page(&format!("{boss}; {flash}"));
    assert!(
        said.body
            .contains("Not changed: that is the last staff account"),
        "{}",
        said.body
    );
}
