//! The questions researchers ask: finding a speaker or a learner by what
//! staff type (`/api/v1/search`).

mod common;

use common::server::{get, sign_in, start, Running};
use serde_json::Value;

/// `GET path` as the signed-in `cookie`.
fn get_as(r: &Running, cookie: &str, path: &str) -> common::server::Reply {
    get(r, path, &[("Cookie", cookie)])
}

fn codes(found: &Value) -> Vec<&str> {
    found["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect()
}

fn usernames(found: &Value) -> Vec<&str> {
    found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[test]
fn staff_find_speakers_by_code_and_users_by_login_or_name_ignoring_case() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");

    // An exact code first, then the codes it begins, each by code.
    let found = get_as(&r, &cookie, "/api/v1/search?q=spk-0000").json();
    let found_codes = codes(&found);
    assert_eq!(found_codes.len(), 9, "{found}");
    assert_eq!(found_codes[0], "SPK-00001", "{found}");
    assert!(found_codes.windows(2).all(|w| w[0] < w[1]), "{found}");
    let exact = get_as(&r, &cookie, "/api/v1/search?q=SPK-00010").json();
    assert_eq!(codes(&exact), ["SPK-00010"], "{exact}");
    assert_eq!(exact["speakers"][0]["url"], "/audio/speakers/10/");
    assert_eq!(exact["speakers"][0]["id"], 10);

    // A query matching nothing finds nothing.
    let all = get_as(&r, &cookie, "/api/v1/search?q=spk").json();
    assert_eq!(codes(&all).len(), 18, "{all}");
    let none = get_as(&r, &cookie, "/api/v1/search?q=zzz-none").json();
    assert!(
        codes(&none).is_empty() && usernames(&none).is_empty(),
        "{none}"
    );

    // Users by login, in any case, and by display name (any script).
    let by_login = get_as(&r, &cookie, "/api/v1/search?q=USER0000").json();
    assert_eq!(
        usernames(&by_login).first(),
        Some(&"user00001"),
        "{by_login}"
    );
    let hangul = "%EC%82%AC%EC%9A%A9%EC%9E%90%204"; // "사용자 4"
    let by_name = get_as(&r, &cookie, &format!("/api/v1/search?q={hangul}")).json();
    assert_eq!(usernames(&by_name), ["user00004"], "{by_name}");
    assert_eq!(by_name["users"][0]["display_name"], "사용자 4");
    assert_eq!(by_name["users"][0]["url"], "/learning/users/4/");
    let chinese = get_as(&r, &cookie, "/api/v1/search?q=%E7%94%A8%E6%88%B72").json(); // "用户2"
    assert_eq!(usernames(&chinese), ["user00002"], "{chinese}");
}

#[test]
fn a_search_is_for_staff_and_names_its_bad_parameters() {
    let r = start(false);
    assert_eq!(get(&r, "/api/v1/search?q=spk", &[]).status, 401);
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(get_as(&r, &learner, "/api/v1/search?q=spk").status, 403);

    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    for (path, param) in [
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=%20%20", "q"),
        ("/api/v1/search?q=spk&speaker=1", "speaker"),
        ("/api/v1/search?q=a%01b", "q"),
    ] {
        let reply = get_as(&r, &cookie, path);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.json()["field"], param, "{path}: {}", reply.body);
    }
    let long = "x".repeat(101);
    let reply = get_as(&r, &cookie, &format!("/api/v1/search?q={long}"));
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn a_search_finds_at_most_twenty_of_each() {
    let dir = common::temp_dir();
    let store = voxdash::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
    let conn = store.conn().unwrap();
    for i in 1..=25i64 {
        conn.execute(
            "INSERT INTO speakers (id, code, gender, category, created_at) VALUES (?1, ?2, 'F', 'adult', 0)",
            &[i.into(), format!("LAB-{i:03}").into()],
        )
        .unwrap();
        voxdash::store::accounts::add_account(&conn, &format!("lab{i:03}"), false, "-", 0).unwrap();
    }
    let found = voxdash::store::search::search(&conn, "lab").unwrap();
    assert_eq!(found.speakers.len(), 20);
    assert_eq!(found.users.len(), 20);
    assert_eq!(found.speakers[0].code, "LAB-001");
    assert_eq!(found.users[19].username, "lab020");
}
