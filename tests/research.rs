//! The questions researchers ask: finding a speaker or a learner by what
//! staff type (`/api/v1/search`).

mod common;

use common::server::{get, sign_in, start, Running};
use serde_json::Value;

/// `GET path` as the signed-in `cookie`.
fn get_as(r: &Running, cookie: &str, path: &str) -> common::server::Reply {
    get(r, path, &[("Cookie", cookie)])
}

/// The `field` of every entry of the `list` a search found.
fn found<'v>(answer: &'v Value, list: &str, field: &str) -> Vec<&'v str> {
    answer[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[field].as_str().unwrap())
        .collect()
}

fn codes(answer: &Value) -> Vec<&str> {
    found(answer, "speakers", "code")
}

fn usernames(answer: &Value) -> Vec<&str> {
    found(answer, "users", "username")
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

/// A recording of the sample as the store holds it.
struct SampleRecording {
    id: i64,
    /// Its speaker's category.
    category: Option<String>,
    /// µs since the epoch.
    recorded_at: i64,
    snr_db: Option<f64>,
    duration_s: f64,
    sample_rate: Option<i64>,
}

/// The sample's recordings, read with plain SQL.
fn sample_recordings(r: &Running) -> Vec<SampleRecording> {
    let store = r.store();
    let conn = store.conn().unwrap();
    conn.query(
        "SELECT r.id, s.category, r.recorded_at, r.snr_db, r.duration_s, r.sample_rate
         FROM recordings r LEFT JOIN speakers s ON s.id = r.speaker_id",
        &[],
    )
    .unwrap()
    .iter()
    .map(|row| SampleRecording {
        id: row.get(0).unwrap(),
        category: row.get(1).unwrap(),
        recorded_at: row.get(2).unwrap(),
        snr_db: row.get(3).unwrap(),
        duration_s: row.get(4).unwrap(),
        sample_rate: row.get(5).unwrap(),
    })
    .collect()
}

/// Midnight of `date` in the sample's zone, in µs.
fn local_midnight(date: &str) -> i64 {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = common::SAMPLE_TZ.parse().unwrap();
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .timestamp_micros()
}

/// Every page of a list, by its `has_more`.
fn every_page(r: &Running, cookie: &str, query: &str) -> Vec<Value> {
    let mut listed = Vec::new();
    for page in 1.. {
        let reply = get_as(
            r,
            cookie,
            &format!("/api/v1/recordings?{query}&page={page}"),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let json = reply.json();
        let rows = json["recordings"].as_array().unwrap().clone();
        assert!(rows.len() <= 100);
        listed.extend(rows);
        if !json["has_more"].as_bool().unwrap() {
            assert!(listed.len() < page * 100 + 1);
            return listed;
        }
        assert_eq!(json["recordings"].as_array().unwrap().len(), 100);
    }
    unreachable!()
}

#[test]
fn the_recording_list_keeps_its_filter_in_its_order_on_pages_and_in_its_manifest() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let all = sample_recordings(&r);
    assert!(all.len() > 200, "the sample has several pages");

    // A group, an SNR band and a range of local dates, by time then id.
    let (from, until) = (local_midnight("2025-03-01"), local_midnight("2026-07-01"));
    let mut expected: Vec<(i64, i64)> = all
        .iter()
        .filter(|x| {
            x.category.as_deref() == Some("elderly")
                && (from..until).contains(&x.recorded_at)
                && x.snr_db.is_some_and(|v| (10.0..30.0).contains(&v))
        })
        .map(|x| (x.recorded_at, x.id))
        .collect();
    expected.sort();
    assert!(expected.len() > 10, "{expected:?}");
    let query = "category=elderly&snr_min=10&snr_max=30&from=2025-03-01&to=2026-06-30";
    let listed = every_page(&r, &cookie, query);
    let ids: Vec<i64> = listed.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, expected.iter().map(|(_, id)| *id).collect::<Vec<_>>());
    let first = &listed[0];
    assert!(
        first["file_name"].as_str().unwrap().ends_with(".wav"),
        "{first}"
    );
    assert!(
        first["speaker_code"].as_str().unwrap().starts_with("SPK-"),
        "{first}"
    );
    assert!(
        first["recorded_at"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );

    // Every recording, most SNR first, those without SNR last, on pages.
    let by_snr = every_page(&r, &cookie, "sort=-snr_db");
    assert_eq!(by_snr.len(), all.len());
    let snrs: Vec<Option<f64>> = by_snr.iter().map(|v| v["snr_db"].as_f64()).collect();
    let measured = snrs.iter().take_while(|v| v.is_some()).count();
    assert!(snrs[measured..].iter().all(Option::is_none), "no SNR last");
    assert!(
        measured < snrs.len(),
        "the sample has recordings without SNR"
    );
    assert!(snrs[..measured].windows(2).all(|w| w[0] >= w[1]));

    // The manifest: a byte-order mark, the header, every row of the
    // filter in the list's order, and nothing else.
    let reply = get_as(
        &r,
        &cookie,
        &format!("/api/v1/recordings?{query}&format=csv"),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert!(reply
        .header("content-disposition")
        .unwrap()
        .contains("recordings.csv"));
    let text = reply
        .body
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,file_name,speaker_id,speaker_code,recorded_at,duration_s,sample_rate,snr_db")
    );
    let rows: Vec<&str> = lines.collect();
    let csv_ids: Vec<i64> = rows
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(csv_ids, ids);
    let first_row: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(first_row[1], first["file_name"].as_str().unwrap());
    assert_eq!(first_row[4], first["recorded_at"].as_str().unwrap());
    assert_eq!(
        first_row[7].parse::<f64>().unwrap(),
        first["snr_db"].as_f64().unwrap()
    );

    // The whole list as a manifest.
    let reply = get_as(&r, &cookie, "/api/v1/recordings?format=csv");
    assert_eq!(reply.body.lines().count(), all.len() + 1);
}

#[test]
fn the_descriptors_lead_to_the_lists_of_their_recordings() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let rows = sample_recordings(&r);
    let ids_of = |query: &str| {
        let mut ids: Vec<i64> = every_page(&r, &cookie, query)
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect();
        ids.sort();
        ids
    };
    let expected = |keep: &dyn Fn(f64, Option<i64>) -> bool| {
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|x| keep(x.duration_s, x.sample_rate))
            .map(|x| x.id)
            .collect();
        ids.sort();
        ids
    };
    // A rate, no rate, a length bucket (half open), and both at once.
    let with_rate = expected(&|_, hz| hz == Some(16000));
    assert!(!with_rate.is_empty());
    assert_eq!(ids_of("sample_rate=16000"), with_rate);
    let without = expected(&|_, hz| hz.is_none());
    assert!(
        !without.is_empty(),
        "the sample has recordings without a rate"
    );
    assert_eq!(ids_of("sample_rate=none"), without);
    let bucket = expected(&|s, _| (10.0..30.0).contains(&s));
    assert!(!bucket.is_empty());
    assert_eq!(ids_of("length_min=10&length_max=30"), bucket);
    assert_eq!(
        ids_of("length_min=10&length_max=30&sample_rate=none&sort=-recorded_at"),
        expected(&|s, hz| (10.0..30.0).contains(&s) && hz.is_none())
    );
    // The dashboard's rows and bars of a rate or a length lead there, and
    // the list holds as many recordings as the row counts.
    let page = get_as(&r, &cookie, "/audio/dashboard/").body;
    let json = get_as(&r, &cookie, "/api/v1/stats/dashboard").json();
    let bucket = &json["data"]["duration"]["buckets"][3];
    let href = format!(
        "/audio/recordings/?length_min={}&amp;length_max={}",
        bucket["min_s"], bucket["max_s"]
    );
    assert!(page.contains(&href), "{href}");
    assert_eq!(
        ids_of(&format!(
            "length_min={}&length_max={}",
            bucket["min_s"], bucket["max_s"]
        ))
        .len() as u64,
        bucket["recordings"].as_u64().unwrap()
    );
    let rate = &json["data"]["by_sample_rate"][0];
    let value = rate["sample_rate"]
        .as_i64()
        .map_or("none".to_string(), |hz| hz.to_string());
    assert!(page.contains(&format!("/audio/recordings/?sample_rate={value}\"")));
    assert_eq!(
        ids_of(&format!("sample_rate={value}")).len() as u64,
        rate["recordings"].as_u64().unwrap()
    );
}

#[test]
fn the_recording_list_is_for_staff_and_names_its_bad_parameters() {
    let r = start(false);
    assert_eq!(get(&r, "/api/v1/recordings", &[]).status, 401);
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(get_as(&r, &learner, "/api/v1/recordings").status, 403);
    assert_eq!(
        get_as(&r, &learner, "/api/v1/recordings?format=csv").status,
        403
    );
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    for (query, param) in [
        ("from=2025-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-02-01&to=2026-01-31", "from"),
        ("snr_min=loud", "snr_min"),
        ("snr_max=inf", "snr_max"),
        ("sample_rate=fast", "sample_rate"),
        ("sample_rate=-8000", "sample_rate"),
        ("length_min=long", "length_min"),
        ("length_max=NaN", "length_max"),
        ("speaker=0", "speaker"),
        ("sort=-loudness", "sort"),
        ("format=xml", "format"),
        ("page=0", "page"),
        ("colour=red", "colour"),
    ] {
        let reply = get_as(&r, &cookie, &format!("/api/v1/recordings?{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.json()["field"], param, "{query}: {}", reply.body);
    }
    // A range with nothing in it is an empty list, not an error.
    let empty = get_as(
        &r,
        &cookie,
        "/api/v1/recordings?from=1990-01-01&to=1990-12-31",
    );
    assert_eq!(empty.json()["recordings"], serde_json::json!([]));
    assert_eq!(empty.json()["has_more"], false);
}

#[test]
fn on_a_public_server_anyone_lists_recordings() {
    let r = start(true);
    let reply = get(&r, "/api/v1/recordings?speaker=1", &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let listed = reply.json()["recordings"].as_array().unwrap().clone();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|v| v["speaker_id"] == 1));
}

/// Recordings of the sample made on the local days `from..=to`, of
/// `category` when given.
fn made_in(r: &Running, category: Option<&str>, from: &str, to: &str) -> u64 {
    let (from, until) = (local_midnight(from), local_midnight(to) + 86_400_000_000);
    sample_recordings(r)
        .iter()
        .filter(|x| {
            (from..until).contains(&x.recorded_at)
                && category.is_none_or(|want| x.category.as_deref() == Some(want))
        })
        .count() as u64
}

#[test]
fn ranged_statistics_keep_their_days_under_one_key_and_name_bad_dates() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let whole = get_as(
        &r,
        &cookie,
        "/api/v1/stats/dashboard?to=2025-06-30&from=2025-03-01",
    );
    assert_eq!(whole.status, 200, "{}", whole.body);
    let whole = whole.json();
    assert_eq!(whole["key"], "dashboard?from=2025-03-01&to=2025-06-30");
    let expected = made_in(&r, None, "2025-03-01", "2025-06-30");
    assert!(expected > 10, "{expected}");
    assert_eq!(whole["data"]["total_recordings"], expected);
    let group = get_as(
        &r,
        &cookie,
        "/api/v1/stats/dashboard?from=2025-03-01&category=elderly&to=2025-06-30",
    )
    .json();
    assert_eq!(
        group["key"],
        "dashboard?category=elderly&from=2025-03-01&to=2025-06-30"
    );
    assert_eq!(
        group["data"]["total_recordings"],
        made_in(&r, Some("elderly"), "2025-03-01", "2025-06-30")
    );
    let speaker = get_as(&r, &cookie, "/api/v1/speakers/1/stats?from=2025-03-01").json();
    assert_eq!(speaker["key"], "speaker/1?from=2025-03-01");
    let places = get_as(&r, &cookie, "/api/v1/stats/locations?to=2025-06-30").json();
    assert_eq!(places["key"], "locations?to=2025-06-30");

    for (path, param) in [
        ("/api/v1/stats/dashboard?from=2025-02-30", "from"),
        ("/api/v1/stats/dashboard?to=tomorrow", "to"),
        (
            "/api/v1/stats/dashboard?from=2025-03-02&to=2025-03-01",
            "from",
        ),
        ("/api/v1/stats/dashboard?category=elderly&to=2025-3-1", "to"),
        ("/api/v1/stats/locations?from=x", "from"),
        ("/api/v1/stats/locations?colour=red", "colour"),
        ("/api/v1/speakers/1/stats?to=2025-13-01", "to"),
        ("/audio/dashboard/?from=2025-03-02&to=2025-03-01", "from"),
        ("/api/userprofile/?to=someday", "to"),
    ] {
        let reply = get_as(&r, &cookie, path);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.body.contains(param), "{path}: {}", reply.body);
    }
}

/// `text` as maud writes it in an attribute.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
}

#[test]
fn the_pages_offer_ranges_and_lead_to_the_lists_of_their_recordings() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let group = "category=elderly&from=2025-03-01&to=2025-06-30";
    let page = get_as(&r, &cookie, &format!("/audio/dashboard/?{group}"));
    assert_eq!(page.status, 200, "{}", page.body);
    // The presets keep the group; the fields show the range.
    assert!(page.body.contains("This month"), "{}", page.body);
    assert!(page
        .body
        .contains(r#"href="/audio/dashboard/?category=elderly""#));
    assert!(page
        .body
        .contains(r#"name="from" lang="en" value="2025-03-01""#));
    // The good SNR band of the group in the range, and its list.
    let good = format!("/audio/recordings/?{group}&snr_min=20&snr_max=30");
    assert!(page.body.contains(&escaped(&good)), "{}", page.body);
    let list = get_as(&r, &cookie, &good);
    assert_eq!(list.status, 200, "{}", list.body);
    let expected = sample_recordings(&r)
        .iter()
        .filter(|x| {
            x.category.as_deref() == Some("elderly")
                && (local_midnight("2025-03-01")..local_midnight("2025-07-01"))
                    .contains(&x.recorded_at)
                && x.snr_db.is_some_and(|v| (20.0..30.0).contains(&v))
        })
        .count();
    assert!(expected > 0);
    let rows = list
        .body
        .matches(r#"<td><a href="/audio/speakers/"#)
        .count();
    assert_eq!(rows, expected.min(100), "{}", list.body);
    // The manifest of the same list, one link away.
    assert!(
        list.body.contains(&escaped(
            "/audio/recordings/?category=elderly&format=csv&from=2025-03-01&snr_max=30&snr_min=20&to=2025-06-30"
        )),
        "{}",
        list.body
    );
    // A month's bar leads to its days; the Korean page keeps its language.
    assert!(page.body.contains(&escaped(
        "/audio/recordings/?category=elderly&from=2025-03-01&to=2025-03-31"
    )));
    let ko = get_as(&r, &cookie, &format!("/audio/dashboard/?{group}&lang=ko"));
    assert!(ko.body.contains("이번 달"), "{}", ko.body);

    let (learner, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(get_as(&r, &learner, &good).status, 403);
    assert_eq!(get_as(&r, &learner, "/search/?q=spk").status, 403);
    let learner_page = get_as(&r, &learner, "/learning/users/2/");
    assert!(!learner_page.body.contains(r#"action="/search/""#));
}

#[test]
fn staff_search_from_the_navigation() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let dashboard = get_as(&r, &cookie, "/audio/dashboard/");
    assert!(dashboard.body.contains(r#"action="/search/""#));
    let found = get_as(&r, &cookie, "/search/?q=SPK-00010");
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(
        found.body.contains(r#"href="/audio/speakers/10/""#),
        "{}",
        found.body
    );
    let by_name = get_as(&r, &cookie, "/search/?q=%EC%82%AC%EC%9A%A9%EC%9E%90%204");
    assert!(
        by_name.body.contains(r#"href="/learning/users/4/""#),
        "{}",
        by_name.body
    );
    assert_eq!(get_as(&r, &cookie, "/search/?q=").status, 400);
}

/// The descriptors a dashboard should show for `rows` (duration, sample
/// rate, speaker id, birth year), computed here the plain way: ages from
/// the sample's year, 2026.
fn descriptors_of(rows: &[(f64, Option<i64>, i64, Option<i64>)]) -> Value {
    use std::collections::{BTreeMap, BTreeSet};
    let mut rates: BTreeMap<Option<i64>, (u64, f64)> = BTreeMap::new();
    let bands = ["<18", "18-29", "30-44", "45-59", "60-74", "75+", ""];
    let band = |born: Option<i64>| match born.map(|b| 2026 - b) {
        None => 6,
        Some(age) => [18, 30, 45, 60, 75]
            .iter()
            .filter(|from| age >= **from)
            .count(),
    };
    let mut speakers: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); 7];
    let mut recordings = [0u64; 7];
    let mut buckets = [0u64; 6];
    let mut lengths: Vec<f64> = Vec::new();
    for (length, rate, speaker, born) in rows {
        let r = rates.entry(*rate).or_default();
        r.0 += 1;
        r.1 += length;
        speakers[band(*born)].insert(*speaker);
        recordings[band(*born)] += 1;
        buckets[[2.0, 5.0, 10.0, 30.0, 60.0]
            .iter()
            .filter(|b| length >= *b)
            .count()] += 1;
        lengths.push(*length);
    }
    let mut by_rate: Vec<_> = rates.into_iter().collect();
    by_rate.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    lengths.sort_by(f64::total_cmp);
    let n = lengths.len();
    let median = match n % 2 {
        1 => lengths[n / 2],
        _ => (lengths[n / 2 - 1] + lengths[n / 2]) / 2.0,
    };
    serde_json::json!({
        "by_sample_rate": by_rate.iter().map(|(rate, (n, seconds))| serde_json::json!({
            "sample_rate": rate, "recordings": n, "duration_hours": seconds / 3600.0,
        })).collect::<Vec<_>>(),
        "by_age": (0..7).filter(|i| recordings[*i] > 0).map(|i| serde_json::json!({
            "band": bands[i], "speakers": speakers[i].len(), "recordings": recordings[i],
        })).collect::<Vec<_>>(),
        "duration": {
            "mean_s": lengths.iter().sum::<f64>() / n as f64,
            "median_s": median,
            "buckets": buckets,
        },
    })
}

#[test]
fn descriptors_of_a_group_over_a_range_are_those_of_its_recordings() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let (from, to) = ("2025-03-01", "2026-02-15");
    let store = r.store();
    let conn = store.conn().unwrap();
    let rows: Vec<(f64, Option<i64>, i64, Option<i64>)> = conn
        .query(
            "SELECT r.duration_s, r.sample_rate, r.speaker_id, s.birth_year, r.recorded_at
             FROM recordings r JOIN speakers s ON s.id = r.speaker_id
             WHERE s.category = 'elderly'",
            &[],
        )
        .unwrap()
        .iter()
        .filter(|row| {
            let at: i64 = row.get(4).unwrap();
            (local_midnight(from)..local_midnight("2026-02-16")).contains(&at)
        })
        .map(|row| {
            (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
                row.get(3).unwrap(),
            )
        })
        .collect();
    assert!(rows.len() > 50, "{}", rows.len());
    let expected = descriptors_of(&rows);
    let answer = get_as(
        &r,
        &cookie,
        &format!("/api/v1/stats/dashboard?category=elderly&from={from}&to={to}"),
    )
    .json();
    let d = &answer["data"];
    let close = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9;
    assert_eq!(
        d["by_sample_rate"].as_array().unwrap().len(),
        expected["by_sample_rate"].as_array().unwrap().len(),
        "{d}"
    );
    for (got, want) in d["by_sample_rate"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["by_sample_rate"].as_array().unwrap())
    {
        assert_eq!(got["sample_rate"], want["sample_rate"], "{d}");
        assert_eq!(got["recordings"], want["recordings"], "{d}");
        assert!(
            close(&got["duration_hours"], &want["duration_hours"]),
            "{d}"
        );
    }
    assert_eq!(d["by_age"], expected["by_age"], "{d}");
    assert!(
        close(&d["duration"]["mean_s"], &expected["duration"]["mean_s"]),
        "{d}"
    );
    assert!(
        close(
            &d["duration"]["median_s"],
            &expected["duration"]["median_s"]
        ),
        "{d}"
    );
    let buckets: Vec<&Value> = d["duration"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["recordings"])
        .collect();
    let want: Vec<&Value> = expected["duration"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(buckets, want, "{d}");

    // The page draws them, in the page's language, each with its CSV.
    let page = get_as(&r, &cookie, "/audio/dashboard/?category=elderly&lang=ko");
    for heading in ["샘플링 레이트별", "연령대별", "녹음 길이"] {
        assert!(page.body.contains(heading), "{heading}: {}", page.body);
    }
    let csv = get_as(&r, &cookie, "/audio/dashboard/?format=csv&table=length").body;
    let lines: Vec<&str> = csv.trim_end().lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].ends_with("Length (s),Recordings"), "{csv}");
    assert_eq!(lines[1], "< 2,27", "{csv}");
    let ages = get_as(&r, &cookie, "/audio/dashboard/?format=csv&table=age").body;
    assert!(ages.contains("no birth year,10,333"), "{ages}");
}

/// A connection to `addr` whose receive buffer is small (set before
/// connecting, so the kernel does not grow it): a client that stops
/// reading soon stops the server's writes.
fn with_small_receive_buffer(addr: &str) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    let addr: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: a new socket owned by the returned stream; the structures
    // passed live for each call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        let set = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(set, 0);
        let to = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let connected = libc::connect(
            fd,
            (&to as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(connected, 0);
        std::net::TcpStream::from_raw_fd(fd)
    }
}

/// Asks for the whole manifest on a connection of its own and reads only
/// its status line.
fn manifest_started(
    r: &Running,
    cookie: &str,
) -> (String, std::io::BufReader<std::net::TcpStream>) {
    use std::io::{BufRead, Write};
    let mut socket = with_small_receive_buffer(&r.addr);
    let head = format!(
        "GET /api/v1/recordings?format=csv HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n",
        r.addr
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut status = String::new();
    let mut answer = std::io::BufReader::new(socket);
    answer.read_line(&mut status).unwrap();
    (status, answer)
}

#[test]
fn two_manifests_stream_at_once_and_a_third_waits_for_a_free_one() {
    let r = start(false);
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    // Long file names: a manifest of about 20 MB, more than the server's
    // socket and a small receive buffer hold, so a reader that does not
    // read keeps its manifest going.
    let store = r.store();
    let conn = store.conn().unwrap();
    conn.execute(
        "UPDATE recordings SET file_name = ?1 || file_name WHERE id <= 200",
        &[voxdash::store::Value::from("x".repeat(100_000))],
    )
    .unwrap();
    let (first, held) = manifest_started(&r, &cookie);
    let (second, _also_held) = manifest_started(&r, &cookie);
    assert!(first.contains(" 200 "), "{first}");
    assert!(second.contains(" 200 "), "{second}");
    let third = get_as(&r, &cookie, "/api/v1/recordings?format=csv");
    assert_eq!(third.status, 503, "{}", third.body);
    assert_eq!(third.header("retry-after"), Some("5"));
    assert!(third.body.contains("two manifests"), "{}", third.body);
    // The list's pages are not manifests: they still answer.
    assert_eq!(get_as(&r, &cookie, "/api/v1/recordings").status, 200);

    // A reader that leaves frees its place.
    drop(held);
    let started = std::time::Instant::now();
    let mut slow = loop {
        let (again, answer) = manifest_started(&r, &cookie);
        if again.contains(" 200 ") {
            break answer;
        }
        assert!(again.contains(" 503 "), "{again}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // A slow reader gets every byte: the server waits for it.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut slow, &mut rest).unwrap();
    assert!(rest.len() > 20_000_000, "{}", rest.len());
    assert!(
        rest.ends_with(b"\r\n0\r\n\r\n"),
        "the last chunk is missing"
    );
}
