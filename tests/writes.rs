//! The write API: each endpoint's success, each rule's rejection with
//! nothing written, permissions, and what the next reads show.

mod common;

use std::time::Duration;

use common::server::{call, get, sign_in, start_with, Running};
use serde_json::json;

fn count(r: &Running, table: &str) -> i64 {
    let store = r.store();
    let conn = store.conn().unwrap();
    conn.query_value(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()
}

fn server() -> Running {
    start_with(false, |c| c.cache.warmup_delay = 1)
}

/// Calls with a signed-in session and its CSRF header.
fn send(
    r: &Running,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> common::server::Reply {
    call(
        r,
        method,
        path,
        &[
            ("Cookie", &auth.0),
            ("X-CSRF-Token", &auth.1),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )
}

#[test]
fn a_new_session_is_stored_and_shows_in_the_next_reads() {
    let r = server();
    let user = sign_in(&r, "user00002", "user-password");
    let before = get(
        &r,
        "/api/v1/users/2/stats/daily?date=2026-11-23",
        &[("Cookie", &user.0)],
    )
    .json();
    let learning = get(&r, "/api/v1/stats/learning", &[("Cookie", &user.0)]).json();
    assert_eq!(learning["status"], "cached");
    let rows = count(&r, "study_sessions");
    let created = send(
        &r,
        &user,
        "POST",
        "/api/v1/sessions",
        &json!({
            "user_id": 2, "start_time": "2026-11-23T10:00:00+09:00", "end_time": "2026-11-23T10:40:00+09:00",
            "duration_minutes": 40, "effectiveness_rating": 5, "focus_score": 90.5,
            "environment": "library", "device": "laptop", "subject": "발음", "course_id": 3
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let row = created.json();
    assert_eq!(row["user_id"], 2);
    assert_eq!(row["start_time"], "2026-11-23T01:00:00Z");
    assert_eq!(row["is_active"], false);
    assert_eq!(count(&r, "study_sessions"), rows + 1);

    let after = get(
        &r,
        "/api/v1/users/2/stats/daily?date=2026-11-23",
        &[("Cookie", &user.0)],
    )
    .json();
    assert_eq!(after["status"], "fresh");
    assert_eq!(
        after["data"]["total_sessions"],
        before["data"]["total_sessions"].as_u64().unwrap() + 1
    );
    assert_eq!(
        after["data"]["productive_sessions"],
        before["data"]["productive_sessions"].as_u64().unwrap() + 1
    );
    // Kept by the writes: the write itself recomputed the platform-wide
    // statistic; no reader had to find it stale first.
    r.server.as_ref().unwrap().app.cache.wait_idle();
    let updated = get(&r, "/api/v1/stats/learning", &[("Cookie", &user.0)]).json();
    assert_eq!(updated["status"], "cached");
    assert_eq!(updated["changes_since"], 0);
    assert_eq!(
        updated["data"]["sessions_today"],
        learning["data"]["sessions_today"].as_u64().unwrap() + 1
    );
}

#[test]
fn each_rule_is_a_400_naming_its_field_and_nothing_is_written() {
    let r = server();
    let staff = sign_in(&r, "boss", "staff-password");
    let rows = count(&r, "study_sessions");
    let base =
        json!({"user_id": 2, "start_time": "2026-11-23T10:00:00+09:00", "duration_minutes": 30});
    let cases = [
        (json!({"duration_minutes": -1}), "duration_minutes"),
        (json!({"end_time": "2026-11-23T09:00:00+09:00"}), "end_time"),
        (json!({"effectiveness_rating": 6}), "effectiveness_rating"),
        (json!({"effectiveness_rating": 0}), "effectiveness_rating"),
        (json!({"focus_score": 100.5}), "focus_score"),
        (json!({"user_id": 4242}), "user_id"),
        (json!({"course_id": 999}), "course_id"),
        (json!({"start_time": "2026-11-23"}), "start_time"),
        (json!({"duration_minutes": "thirty"}), "duration_minutes"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = send(&r, &staff, "POST", "/api/v1/sessions", &body);
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        assert_eq!(reply.json()["field"], field, "{}", reply.body);
    }
    let malformed = call(
        &r,
        "POST",
        "/api/v1/sessions",
        &[("Cookie", &staff.0), ("X-CSRF-Token", &staff.1)],
        "{not json",
    );
    assert_eq!(
        (malformed.status, malformed.json()["field"].clone()),
        (400, json!("body"))
    );
    let huge = "x".repeat(70 * 1024);
    let too_big = call(
        &r,
        "POST",
        "/api/v1/sessions",
        &[("Cookie", &staff.0), ("X-CSRF-Token", &staff.1)],
        &huge,
    );
    assert_eq!(too_big.status, 413);
    assert_eq!(count(&r, "study_sessions"), rows);
}

#[test]
fn permissions_tokens_and_csrf() {
    let r = server();
    let user = sign_in(&r, "user00002", "user-password");
    let body =
        json!({"user_id": 3, "start_time": "2026-11-23T10:00:00+09:00", "duration_minutes": 30});
    assert_eq!(
        send(&r, &user, "POST", "/api/v1/sessions", &body).status,
        403
    );
    let no_csrf = call(
        &r,
        "POST",
        "/api/v1/sessions",
        &[("Cookie", &user.0)],
        &json!({"user_id": 2, "duration_minutes": 5}).to_string(),
    );
    assert_eq!(no_csrf.status, 403);
    assert_eq!(
        call(&r, "POST", "/api/v1/sessions", &[], &body.to_string()).status,
        401
    );
    let rec = json!({"speaker_id": 1, "file_name": "a.wav", "duration_s": 3.0});
    assert_eq!(
        send(&r, &user, "POST", "/api/v1/recordings", &rec).status,
        403
    );
    // An API token needs no CSRF token.
    let token = {
        let store = r.store();
        let conn = store.conn().unwrap();
        let token = voxdash::accounts::new_token();
        voxdash::store::accounts::create_api_token(
            &conn,
            2,
            &voxdash::accounts::token_digest(&token),
            0,
        )
        .unwrap();
        token
    };
    let bearer = format!("Bearer {token}");
    let ok = call(
        &r,
        "POST",
        "/api/v1/sessions",
        &[("Authorization", &bearer)],
        &json!({"user_id": 2, "duration_minutes": 5}).to_string(),
    );
    assert_eq!(ok.status, 201, "{}", ok.body);
    let other = call(
        &r,
        "PUT",
        "/api/v1/users/3/progress/1",
        &[("Authorization", &bearer)],
        &json!({"proficiency_level": 1, "learning_hours_total": 1, "learning_hours_week": 1})
            .to_string(),
    );
    assert_eq!(other.status, 403);
}

#[test]
fn finishing_and_deleting_sessions_and_the_warm_up_after_a_burst() {
    let r = server();
    let user = sign_in(&r, "user00002", "user-password");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = send(
            &r,
            &user,
            "POST",
            "/api/v1/sessions",
            &json!({"user_id": 2, "start_time": "2026-11-23T11:00:00+09:00"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["is_active"], true);
        ids.push(created.json()["id"].as_i64().unwrap());
    }
    for id in &ids {
        let finished = send(
            &r,
            &user,
            "POST",
            &format!("/api/v1/sessions/{id}/finish"),
            &json!({}),
        );
        assert_eq!(finished.status, 200, "{}", finished.body);
        let row = finished.json();
        assert_eq!(row["end_time"], "2026-11-23T03:00:00Z");
        assert_eq!(row["duration_minutes"], 60);
        assert_eq!(row["is_active"], false);
    }
    let app = &r.server.as_ref().unwrap().app;
    assert_eq!(app.warmups.runs(), 0);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(app.warmups.runs(), 1, "one warm-up for the burst");
    let daily = get(&r, "/api/v1/users/2/stats/daily", &[("Cookie", &user.0)]).json();
    assert_eq!(daily["status"], "cached", "warmed");

    let deleted = send(
        &r,
        &user,
        "DELETE",
        &format!("/api/v1/sessions/{}", ids[0]),
        &json!({}),
    );
    assert_eq!(deleted.status, 200);
    assert_eq!(
        send(
            &r,
            &user,
            "DELETE",
            &format!("/api/v1/sessions/{}", ids[0]),
            &json!({})
        )
        .status,
        404
    );
    assert_eq!(
        send(
            &r,
            &user,
            "POST",
            "/api/v1/sessions/99999/finish",
            &json!({})
        )
        .status,
        404
    );
    let early = send(
        &r,
        &user,
        "POST",
        &format!("/api/v1/sessions/{}/finish", ids[1]),
        &json!({"end_time": "2020-01-01T00:00:00Z"}),
    );
    assert_eq!(
        (early.status, early.json()["field"].clone()),
        (400, json!("end_time"))
    );
}

#[test]
fn progress_upserts_one_row_and_the_courses_entry_is_recomputed() {
    let r = server();
    let user = sign_in(&r, "user00002", "user-password");
    let before = get(&r, "/api/v1/users/2/stats/courses", &[("Cookie", &user.0)]).json();
    assert_eq!(before["data"]["total_courses"], 4);
    let body =
        json!({"proficiency_level": 2.5, "learning_hours_total": 10.0, "learning_hours_week": 1.5});
    let created = send(&r, &user, "PUT", "/api/v1/users/2/progress/12", &body);
    assert_eq!(created.status, 201, "{}", created.body);
    let again = send(
        &r,
        &user,
        "PUT",
        "/api/v1/users/2/progress/12",
        &json!({"proficiency_level": 3.0, "learning_hours_total": 12.0, "learning_hours_week": 2.0, "completed_at": "2026-11-23T11:00:00+09:00"}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], created.json()["id"]);
    let after = get(&r, "/api/v1/users/2/stats/courses", &[("Cookie", &user.0)]).json();
    assert_eq!(after["status"], "fresh");
    assert_eq!(after["data"]["total_courses"], 5);
    assert_eq!(after["data"]["completed_courses"], 1);
    let rows = count(&r, "course_progress");
    assert_eq!(
        send(&r, &user, "PUT", "/api/v1/users/2/progress/77", &body).status,
        404
    );
    let bad = send(
        &r,
        &user,
        "PUT",
        "/api/v1/users/2/progress/1",
        &json!({"proficiency_level": 6, "learning_hours_total": 1, "learning_hours_week": 1}),
    );
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (400, json!("proficiency_level"))
    );
    assert_eq!(count(&r, "course_progress"), rows);
}

#[test]
fn a_recording_with_a_new_upload_brings_the_corpus_statistics_up_to_date() {
    let r = server();
    let staff = sign_in(&r, "boss", "staff-password");
    let dash = get(&r, "/api/v1/stats/dashboard", &[("Cookie", &staff.0)]).json();
    assert_eq!(dash["status"], "cached");
    let (recs, ups) = (count(&r, "recordings"), count(&r, "uploads"));
    for (upload, field) in [
        (json!({"ip": "10.0.0.300"}), "upload.ip"),
        (json!({"latitude": 91.0}), "upload.latitude"),
        (json!({"longitude": -181.0}), "upload.longitude"),
        // A value of the wrong type is named by its path in the body.
        (json!({"latitude": "north"}), "upload.latitude"),
        (json!(["not", "an", "object"]), "upload"),
    ] {
        let reply = send(
            &r,
            &staff,
            "POST",
            "/api/v1/recordings",
            &json!({"speaker_id": 1, "file_name": "x.wav", "duration_s": 2.0, "upload": upload}),
        );
        assert_eq!(
            (reply.status, reply.json()["field"].clone()),
            (400, json!(field)),
            "{}",
            reply.body
        );
    }
    let unknown = send(
        &r,
        &staff,
        "POST",
        "/api/v1/recordings",
        &json!({"speaker_id": 999, "file_name": "x.wav", "duration_s": 2.0}),
    );
    assert_eq!(unknown.json()["field"], "speaker_id");
    assert_eq!((count(&r, "recordings"), count(&r, "uploads")), (recs, ups));
    let ok = send(
        &r,
        &staff,
        "POST",
        "/api/v1/recordings",
        &json!({
            "speaker_id": 1, "file_name": "new.wav", "duration_s": 3600.0, "snr_db": 25.0,
            "upload": {"ip": "203.252.7.9", "latitude": 36.48, "longitude": 127.29, "region": "Sejong"}
        }),
    );
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(
        (count(&r, "recordings"), count(&r, "uploads")),
        (recs + 1, ups + 1)
    );
    // Both are kept by the writes: recomputed right after the write,
    // without a reader, and current when read.
    r.server.as_ref().unwrap().app.cache.wait_idle();
    let now = get(&r, "/api/v1/stats/dashboard", &[("Cookie", &staff.0)]).json();
    assert_eq!(
        (now["status"].clone(), now["changes_since"].clone()),
        (json!("cached"), json!(0))
    );
    assert_eq!(now["data"]["total_recordings"], 629);
    let loc = get(&r, "/api/v1/stats/locations", &[("Cookie", &staff.0)]).json();
    assert_eq!(
        (loc["status"].clone(), loc["changes_since"].clone()),
        (json!("cached"), json!(0))
    );
    let sejong = loc["data"]["by_region"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["region"] == "Sejong")
        .cloned();
    assert_eq!(
        sejong,
        Some(json!({"region": "Sejong", "uploads": 1, "recordings": 1}))
    );
}

#[test]
fn staff_add_and_finish_sessions_from_the_user_page() {
    let r = server();
    let staff = sign_in(&r, "boss", "staff-password");
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff.0)]);
    assert!(
        page.body.contains("action=\"/learning/users/2/sessions\""),
        "no form"
    );
    let rows = count(&r, "study_sessions");
    let form = format!("csrf_token={}&start_time=2026-11-23T11%3A30%3A00%2B09%3A00&duration_minutes=&environment=home", staff.1);
    let added = call(
        &r,
        "POST",
        "/learning/users/2/sessions",
        &[("Cookie", &staff.0)],
        &form,
    );
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(count(&r, "study_sessions"), rows + 1);
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff.0)]);
    let action = page
        .body
        .split("action=\"/learning/users/2/sessions/")
        .nth(1)
        .expect("a finish button")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let finished = call(
        &r,
        "POST",
        &format!("/learning/users/2/sessions/{action}"),
        &[("Cookie", &staff.0)],
        &format!("csrf_token={}", staff.1),
    );
    assert_eq!(finished.status, 303);
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff.0)]);
    assert!(
        !page
            .body
            .contains(&format!("/learning/users/2/sessions/{action}")),
        "still active"
    );
    let forged = call(
        &r,
        "POST",
        "/learning/users/2/sessions",
        &[("Cookie", &staff.0)],
        "duration_minutes=5",
    );
    assert_eq!(forged.status, 403);
    let bad = call(
        &r,
        "POST",
        "/learning/users/2/sessions",
        &[("Cookie", &staff.0)],
        &format!("csrf_token={}&effectiveness_rating=9", staff.1),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("effectiveness_rating"));
    assert_eq!(count(&r, "study_sessions"), rows + 1);
}
