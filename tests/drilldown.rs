//! Drill-down: the dashboard over a group of speakers or one speaker equals
//! the dashboard of a dataset holding only those speakers and their
//! recordings, and a write makes exactly the entries it changes stale.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use common::server::{call, get, sign_in, start, Running};
use serde_json::{json, Value};
use voxdash::clock::Clock;
use voxdash::config::Config;
use voxdash::i18n::Lang;
use voxdash::import::{import_dir, ImportOptions};
use voxdash::stats::{compute, StatKey};
use voxdash::store::Store;

/// A speaker with no recordings, added to the sample.
const SILENT_SPEAKER: &str = "99,SPK-00099,M,1980,normal,,2025-01-01T00:00:00Z";

/// The sample's CSV files plus [`SILENT_SPEAKER`], in a temporary folder.
fn sample_plus_silent_speaker() -> tempfile::TempDir {
    let dir = common::temp_dir();
    for entry in std::fs::read_dir(common::sample_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let speakers = dir.path().join("speakers.csv");
    let mut text = std::fs::read_to_string(&speakers).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(SILENT_SPEAKER);
    text.push('\n');
    std::fs::write(speakers, text).unwrap();
    dir
}

fn config(dir: &Path) -> Config {
    Config::with(
        dir,
        common::SAMPLE_TZ.parse().unwrap(),
        Clock::from_env_value(Some(common::SAMPLE_NOW)).unwrap(),
    )
}

/// Imports `csv` into a new store in `data` and returns it.
fn imported(csv: &Path, data: &Path) -> Store {
    let store = Store::open(&data.join("voxdash.db")).unwrap();
    import_dir(&store, csv, &ImportOptions::default()).unwrap();
    store
}

fn statistic(store: &Store, data: &Path, key: &StatKey) -> Value {
    store
        .snapshot(|view| compute(view, &config(data), key))
        .unwrap()
        .statistic
        .to_json(Lang::En)
}

/// Copies `csv` keeping, in speakers.csv, the rows of `speakers` and, in
/// recordings.csv, the rows of their recordings; the other files as they are.
fn only_speakers(csv: &Path, speakers: &HashSet<String>) -> tempfile::TempDir {
    let out = common::temp_dir();
    for entry in std::fs::read_dir(csv).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let column = match name.as_str() {
            "speakers.csv" => "id",
            "recordings.csv" => "speaker_id",
            _ => {
                std::fs::copy(&path, out.path().join(&name)).unwrap();
                continue;
            }
        };
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let headers = reader.headers().unwrap().clone();
        let at = headers.iter().position(|h| h == column).unwrap();
        let mut writer = csv::Writer::from_path(out.path().join(&name)).unwrap();
        writer.write_record(&headers).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            if speakers.contains(&record[at]) {
                writer.write_record(&record).unwrap();
            }
        }
        writer.flush().unwrap();
    }
    out
}

/// The speakers a filter selects, read from the stored rows (NULL as empty).
fn selected(store: &Store, filter: &[(&str, &str)]) -> HashSet<String> {
    let conn = store.conn().unwrap();
    let rows = conn
        .query(
            "SELECT id, category, COALESCE(diagnosis, ''), gender FROM speakers",
            &[],
        )
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get::<i64>(0).unwrap(),
                r.get::<String>(1).unwrap(),
                r.get::<String>(2).unwrap(),
                r.get::<String>(3).unwrap(),
            )
        })
        .filter(|(_, category, diagnosis, gender)| {
            filter.iter().all(|(name, value)| match *name {
                "category" => category == value,
                "diagnosis" => diagnosis == value,
                "gender" => gender == value,
                other => panic!("{other}"),
            })
        })
        .map(|(id, ..)| id.to_string())
        .collect()
}

fn filter_key(filter: &[(&str, &str)]) -> StatKey {
    let mut f = voxdash::stats::key::Filter::default();
    for (name, value) in filter {
        assert!(f.set(name, value.to_string()).unwrap());
    }
    StatKey::sub_corpus(f)
}

#[test]
fn every_sub_corpus_equals_the_dashboard_of_its_own_rows() {
    let csv = sample_plus_silent_speaker();
    let data = common::temp_dir();
    let store = imported(csv.path(), data.path());
    let values = {
        let conn = store.conn().unwrap();
        voxdash::store::speakers::group_values(&conn).unwrap()
    };
    assert!(values.categories.len() >= 4 && values.diagnoses.contains(&String::new()));
    let mut filters: Vec<Vec<(&str, &str)>> = Vec::new();
    for (name, list) in [
        ("category", &values.categories),
        ("diagnosis", &values.diagnoses),
        ("gender", &values.genders),
    ] {
        filters.extend(list.iter().map(|v| vec![(name, v.as_str())]));
    }
    filters.push(vec![("category", "elderly"), ("gender", "F")]);
    filters.push(vec![("category", "patient"), ("diagnosis", "")]);
    filters.push(vec![("category", "")]);
    filters.push(vec![("category", "no such group")]);
    let mut checked = 0;
    for filter in &filters {
        let speakers = selected(&store, filter);
        let key = filter_key(filter);
        checked += check_against_own_rows(&store, data.path(), csv.path(), &speakers, &key);
    }
    for speaker in ["1", "13", "99"] {
        let speakers = HashSet::from([speaker.to_string()]);
        let key = StatKey::Speaker {
            speaker: speaker.parse().unwrap(),
            range: Default::default(),
        };
        checked += check_against_own_rows(&store, data.path(), csv.path(), &speakers, &key);
    }
    assert_eq!(checked, filters.len() + 3);
}

/// Compares `key` on the whole store with `dashboard` on a store holding
/// only `speakers` and their recordings. Returns 1.
fn check_against_own_rows(
    store: &Store,
    data: &Path,
    csv: &Path,
    speakers: &HashSet<String>,
    key: &StatKey,
) -> usize {
    let actual = statistic(store, data, key);
    let own_csv = only_speakers(csv, speakers);
    let own_data = common::temp_dir();
    let own = imported(own_csv.path(), own_data.path());
    let expected = statistic(&own, own_data.path(), &StatKey::Dashboard);
    let mut diff = Vec::new();
    common::json_diff(&key.to_string(), &expected, &actual, &mut diff);
    assert!(diff.is_empty(), "{key}:\n{}", diff.join("\n"));
    assert_eq!(actual["total_speakers"], speakers.len(), "{key}");
    1
}

#[test]
fn the_api_answers_sub_corpora_and_refuses_what_it_does_not_know() {
    let r = start(true);
    let whole = get(&r, "/api/v1/stats/dashboard", &[]).json();
    let elderly = get(&r, "/api/v1/stats/dashboard?category=elderly", &[]);
    assert_eq!(elderly.status, 200, "{}", elderly.body);
    let elderly = elderly.json();
    assert_eq!(elderly["key"], "dashboard?category=elderly");
    assert_eq!(elderly["data"]["total_speakers"], 7);
    assert!(
        elderly["data"]["total_recordings"].as_u64() < whole["data"]["total_recordings"].as_u64()
    );
    // Percent-encoded values, in key order whatever the order asked.
    let both = get(
        &r,
        "/api/v1/stats/dashboard?gender=F&category=%ED%99%98%EC%9E%90",
        &[],
    )
    .json();
    assert_eq!(
        both["key"],
        "dashboard?category=%ED%99%98%EC%9E%90&gender=F"
    );
    let nothing = get(&r, "/api/v1/stats/dashboard?category=nobody", &[]).json();
    assert_eq!(nothing["data"]["total_speakers"], 0);
    assert_eq!(nothing["data"]["snr"]["mean_db"], Value::Null);
    assert_eq!(nothing["data"]["monthly"], json!([]));
    let unknown = get(&r, "/api/v1/stats/dashboard?colour=red", &[]);
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["field"], "colour");
    let speaker = get(&r, "/api/v1/speakers/1/stats", &[]).json();
    assert_eq!(speaker["key"], "speaker/1");
    assert_eq!(speaker["data"]["total_speakers"], 1);
    for missing in ["/api/v1/speakers/777/stats", "/api/v1/speakers/x/stats"] {
        let answer = get(&r, missing, &[]);
        assert_eq!(answer.status, 404, "{missing}");
    }
    assert!(get(&r, "/api/v1/speakers/777/stats", &[]).json()["error"]
        .as_str()
        .unwrap()
        .contains("speaker 777 not found"));
}

/// Status of every cache entry, by key.
fn statuses(r: &Running, staff: &str) -> BTreeMap<String, String> {
    let list = get(r, "/api/v1/cache", &[("Cookie", staff)]).json();
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn stale(statuses: &BTreeMap<String, String>) -> BTreeSet<String> {
    statuses
        .iter()
        .filter(|(_, s)| *s == "stale")
        .map(|(k, _)| k.clone())
        .collect()
}

/// The drill-down entries the tests read.
const ENTRY_PATHS: [&str; 11] = [
    "/api/v1/stats/dashboard",
    "/api/v1/stats/dashboard?category=elderly",
    "/api/v1/stats/dashboard?category=patient",
    "/api/v1/stats/dashboard?category=child",
    "/api/v1/stats/dashboard?gender=F",
    "/api/v1/stats/dashboard?gender=M",
    "/api/v1/stats/dashboard?category=elderly&gender=F",
    "/api/v1/stats/dashboard?category=elderly&gender=M",
    "/api/v1/stats/dashboard?diagnosis=",
    "/api/v1/speakers/1/stats",
    "/api/v1/speakers/2/stats",
];

/// Reads each of the drill-down entries once, so each is cached.
fn read_entries(r: &Running) {
    for path in ENTRY_PATHS {
        assert_eq!(get(r, path, &[]).status, 200, "{path}");
    }
}

/// Each drill-down entry's key and total of recordings, as a reader gets it.
fn totals(r: &Running) -> BTreeMap<String, u64> {
    ENTRY_PATHS
        .iter()
        .map(|path| {
            let answer = get(r, path, &[]).json();
            (
                answer["key"].as_str().unwrap().to_string(),
                answer["data"]["total_recordings"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Writes a recording of speaker 1 (elderly, F, Parkinson's disease)
/// through the API, as staff.
fn write_recording_of_speaker_1(r: &Running, staff: &str, csrf: &str) {
    let written = call(
        r,
        "POST",
        "/api/v1/recordings",
        &[("Cookie", staff), ("X-CSRF-Token", csrf)],
        r#"{"speaker_id": 1, "file_name": "new.wav", "duration_s": 12.5, "snr_db": 21.0}"#,
    );
    assert_eq!(written.status, 201, "{}", written.body);
}

#[test]
fn a_recording_write_recomputes_exactly_its_speakers_entries() {
    let r = start(true);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    read_entries(&r);
    let before = statuses(&r, &staff);
    assert!(stale(&before).is_empty(), "{before:?}");
    assert_eq!(before.len(), 13, "{before:?}");
    let totals_before = totals(&r);
    // Speaker 1: elderly, F, Parkinson's disease.
    write_recording_of_speaker_1(&r, &staff, &csrf);
    // The entries the write touched are recomputed at once, without a
    // reader: none is left stale.
    r.server.as_ref().unwrap().app.cache.wait_idle();
    let after = statuses(&r, &staff);
    assert!(stale(&after).is_empty(), "{after:?}");
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let holding_speaker_1: BTreeSet<&str> = [
        "dashboard",
        "dashboard?category=elderly",
        "dashboard?gender=F",
        "dashboard?category=elderly&gender=F",
        "speaker/1",
    ]
    .into();
    for (key, total) in totals(&r) {
        let grew = u64::from(holding_speaker_1.contains(key.as_str()));
        assert_eq!(total, totals_before[&key] + grew, "{key}");
    }
}

#[test]
fn a_recording_write_leaves_ranged_entries_stale_for_their_next_reader() {
    let r = start(true);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let ranged = [
        "/api/v1/stats/dashboard?from=2024-01-01",
        "/api/v1/stats/dashboard?category=elderly&from=2024-01-01",
    ];
    let total = |path: &str| get(&r, path, &[]).json()["data"]["total_recordings"].as_u64();
    let before: Vec<Option<u64>> = ranged.iter().map(|p| total(p)).collect();
    write_recording_of_speaker_1(&r, &staff, &csrf);
    // A range costs more than the aggregates' milliseconds: a write makes
    // it stale, and does not recompute it at once (two writes a second
    // would keep a core busy with every cached range).
    let cache = &r.server.as_ref().unwrap().app.cache;
    cache.wait_idle();
    let after = statuses(&r, &staff);
    for key in [
        "dashboard?from=2024-01-01",
        "dashboard?category=elderly&from=2024-01-01",
    ] {
        assert_eq!(after[key], "stale", "{key}: {after:?}");
    }
    assert_ne!(after["dashboard"], "stale", "recomputed at once: {after:?}");
    // Its next reader gets it stale and recomputed behind; then current.
    for (path, before) in ranged.iter().zip(before) {
        total(path);
        cache.wait_idle();
        assert_eq!(total(path), before.map(|n| n + 1), "{path}");
    }
}

#[test]
fn moving_a_speaker_to_another_group_makes_both_groups_stale() {
    let r = start(true);
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    read_entries(&r);
    assert!(stale(&statuses(&r, &staff)).is_empty());
    // Another process changes speaker 2 (patient, M) to child, in plain SQL.
    let other = r.store();
    other
        .conn()
        .unwrap()
        .execute("UPDATE speakers SET category = 'child' WHERE id = 2", &[])
        .unwrap();
    let expected: BTreeSet<String> = [
        "dashboard",
        "dashboard?category=patient",
        "dashboard?category=child",
        "dashboard?gender=M",
        "speaker/2",
    ]
    .map(String::from)
    .into();
    assert_eq!(stale(&statuses(&r, &staff)), expected);
    // The next read of the new group recomputes it with the speaker in it.
    let child_before = get(&r, "/api/v1/stats/dashboard?category=child", &[]).json();
    assert_eq!(child_before["status"], "stale");
    r.server.as_ref().unwrap().app.cache.wait_idle();
    let child = get(&r, "/api/v1/stats/dashboard?category=child", &[]).json();
    assert_eq!(child["status"], "cached");
    assert_eq!(
        child["data"]["total_speakers"].as_u64().unwrap(),
        child_before["data"]["total_speakers"].as_u64().unwrap() + 1
    );
}

#[test]
fn pages_lead_from_a_group_to_its_speakers_and_back() {
    let r = start(true);
    let page = get(&r, "/audio/dashboard/", &[]);
    assert!(page
        .body
        .contains("href=\"/audio/dashboard/?category=elderly\""));
    let group = get(&r, "/audio/dashboard/?category=elderly", &[]);
    assert_eq!(group.status, 200);
    assert!(group.body.contains("class=\"breadcrumbs\""));
    assert!(group.body.contains("href=\"/audio/speakers/1/\""));
    // Narrowing further keeps the group.
    assert!(group
        .body
        .contains("href=\"/audio/dashboard/?category=elderly&amp;gender=F\""));
    // Staff refresh this entry and come back to this page.
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    let as_staff = get(
        &r,
        "/audio/dashboard/?category=elderly",
        &[("Cookie", &staff)],
    );
    assert!(as_staff
        .body
        .contains("name=\"key\" value=\"dashboard?category=elderly\""));
    assert!(as_staff
        .body
        .contains("name=\"next\" value=\"/audio/dashboard/?category=elderly\""));
    let by_hours = get(
        &r,
        "/audio/dashboard/?category=elderly&sort=-speakers.hours",
        &[],
    );
    assert_eq!(by_hours.status, 200);
    assert!(by_hours.body.contains("aria-sort=\"descending\""));
    for bad in ["x", "speakers.x", "nope.hours"] {
        let reply = get(
            &r,
            &format!("/audio/dashboard/?category=elderly&sort={bad}"),
            &[],
        );
        assert_eq!(reply.status, 400, "{bad}");
        assert!(reply.body.contains("sort: "), "{}", reply.body);
    }
    let speaker = get(&r, "/audio/speakers/1/", &[]);
    assert_eq!(speaker.status, 200);
    assert!(speaker.body.contains("SPK-00001"));
    assert!(speaker.body.contains("id=\"uploads\""));
    assert_eq!(get(&r, "/audio/speakers/777/", &[]).status, 404);
    let locations = get(&r, "/api/userprofile/", &[]);
    assert!(locations.body.contains("/api/userprofile/uploads/?region="));
    let uploads = get(&r, "/api/userprofile/uploads/?region=Seoul", &[]);
    assert_eq!(uploads.status, 200);
    assert!(uploads.body.contains("table id=\"uploads\""));
}

#[test]
fn warm_up_knows_the_groups_and_the_cache_commands_their_kinds() {
    let r = start(true);
    let run = |args: &[&str]| {
        let out = common::run_cli_with_env(
            env!("CARGO_BIN_EXE_voxdash"),
            r.dir.path(),
            args,
            &r.cli_env(),
        );
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let warmed = run(&["warmup", "--global"]);
    // One entry per category (5), diagnosis (8) and gender (3); the three
    // shared keys were computed when the server started.
    assert!(
        warmed.starts_with("warmup: 0 users: 16 computed, 3 already current"),
        "{warmed}"
    );
    let listed = run(&["cache", "ls", "--kind", "subcorpus"]);
    let keys: Vec<&str> = listed
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(keys.len(), 16, "{listed}");
    assert!(keys.contains(&"dashboard?diagnosis="), "{listed}");
    assert!(keys.iter().all(|k| k.starts_with("dashboard?")), "{listed}");
    // The server computed them for the command (it holds the cache file);
    // with a shared cache the command computes them itself.
    if r.redis.is_none() {
        let metrics = get(&r, "/metrics", &[]).body;
        assert!(
            metrics.contains("voxdash_cache_computations_total{kind=\"subcorpus\"} 16"),
            "{metrics}"
        );
    }
    // Clearing `dashboard` of kind dashboard leaves the groups alone.
    let out = common::run_cli_with_env(
        env!("CARGO_BIN_EXE_voxdash"),
        r.dir.path(),
        &["cache", "clear", "dashboard", "--kind", "dashboard"],
        &r.cli_env(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 entries removed"));
    assert_eq!(
        run(&["cache", "ls", "--kind", "subcorpus"]).lines().count(),
        17
    );
    let bad = common::run_cli(
        env!("CARGO_BIN_EXE_voxdash"),
        r.dir.path(),
        &["cache", "ls", "--kind", "speakers"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("'--kind <KIND>': \"speakers\" is not one of"));
}
