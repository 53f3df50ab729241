//! Edge cases of the statistics beyond the sample: an empty database, a week
//! across a daylight-saving change, a month without recordings, ties,
//! orphans, half-open buckets, IP matching rules.

mod common;

use std::path::Path;

use serde_json::{json, Value};
use voxdash::clock::Clock;
use voxdash::config::Config;
use voxdash::i18n::Lang;
use voxdash::import::{import_dir, ImportOptions};
use voxdash::stats::{compute, StatKey};
use voxdash::store::Store;

/// The recordings of each SNR bucket of a dashboard, in order.
fn bucket_counts(d: &Value) -> Vec<u64> {
    d["snr"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["recordings"].as_u64().unwrap())
        .collect()
}

/// Imports the given files (name, content) and returns a computing closure.
fn dataset(files: &[(&str, &str)], now: &str, tz: &str) -> impl Fn(&str) -> Value {
    dataset_then(files, now, tz, "")
}

/// [`dataset`], with the statements `then` run on the store once its
/// aggregates are built (their triggers adjust them).
fn dataset_then(files: &[(&str, &str)], now: &str, tz: &str, then: &str) -> impl Fn(&str) -> Value {
    let dir = common::temp_dir();
    let csv = dir.path().join("csv");
    std::fs::create_dir(&csv).unwrap();
    for (name, content) in files {
        std::fs::write(csv.join(name), content).unwrap();
    }
    let store = Store::open(&dir.path().join("voxdash.db")).unwrap();
    if !files.is_empty() {
        let report = import_dir(&store, &csv, &ImportOptions::default()).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
    let config = Config::with(
        Path::new(dir.path()),
        tz.parse().unwrap(),
        Clock::from_env_value(Some(now)).unwrap(),
    );
    // Computed from the aggregates, as a server does (they are built for
    // the zone when the statistics first open the store).
    voxdash::store::aggregates::follow_zone(&store.conn().unwrap(), config.local.tz).unwrap();
    store.conn().unwrap().batch(then).unwrap();
    move |key: &str| {
        let _keep = &dir;
        store
            .snapshot(|view| compute(view, &config, &StatKey::parse(key).unwrap()))
            .unwrap()
            .statistic
            .to_json(Lang::En)
    }
}

const SESSIONS_HEADER: &str = "id,user_id,course_id,subject_category,start_time,end_time,duration_minutes,effectiveness_rating,focus_score,learning_environment,device_type,is_active\n";
const USERS: &str = "id,username,display_name,is_staff,created_at,last_active_at,region\n1,a,,0,2025-01-01T00:00:00Z,,\n2,b,,0,2025-01-01T00:00:00Z,,\n";

#[test]
fn an_empty_database_gives_zeros_and_nulls() {
    let stat = dataset(&[], "2026-03-10T12:00:00Z", "UTC");
    let d = stat("dashboard");
    assert_eq!(d["total_speakers"], 0);
    assert_eq!(d["total_duration_hours"], 0.0);
    assert_eq!(d["snr"]["mean_db"], Value::Null);
    assert_eq!(d["snr"]["median_db"], Value::Null);
    assert_eq!(d["monthly"], json!([]));
    assert_eq!(d["snr"]["buckets"].as_array().unwrap().len(), 4);
    let l = stat("locations");
    assert_eq!(l["total_uploads"], 0);
    assert_eq!(l["points"], json!([]));
    let p = stat("learning");
    assert_eq!(p["total_users"], 0);
    assert_eq!(p["avg_session_duration"], Value::Null);
    assert_eq!(p["most_popular_environment"], Value::Null);
}

#[test]
fn a_week_across_the_daylight_saving_change_uses_local_days() {
    // America/New_York springs forward on 2026-03-08 at 02:00.
    let sessions = format!(
        "{SESSIONS_HEADER}\
         1,1,,,2026-03-08T04:30:00Z,2026-03-08T05:00:00Z,30,4,50,home,laptop,0\n\
         2,1,,,2026-03-09T03:30:00Z,2026-03-09T04:00:00Z,30,4,50,home,laptop,0\n\
         3,1,,,2026-03-09T04:30:00Z,2026-03-09T05:00:00Z,20,4,50,home,laptop,0\n\
         4,1,,,2026-03-16T03:59:00Z,,10,,,,,1\n"
    );
    let stat = dataset(
        &[("users.csv", USERS), ("study_sessions.csv", &sessions)],
        "2026-03-12T12:00:00Z",
        "America/New_York",
    );
    let w = stat("user/1/weekly/2026-03-09");
    // 2026-03-09T03:30Z is still Sunday the 8th in New York (EDT, -4): not in this week.
    assert_eq!(w["total_sessions"], 2, "{w}");
    assert_eq!(w["daily_breakdown"][0]["date"], "2026-03-09");
    assert_eq!(w["daily_breakdown"][0]["sessions"], 1);
    // 2026-03-16T03:59Z is 23:59 on Sunday the 15th: the last day of the week.
    assert_eq!(w["daily_breakdown"][6]["sessions"], 1);
    assert_eq!(w["daily_breakdown"][6]["completed"], 0);
    assert_eq!(w["active_days"], 2);
    assert_eq!(w["longest_streak"], 1);
    assert_eq!(w["most_productive_day"], "2026-03-09");
    let prev = stat("user/1/weekly/2026-03-02");
    assert_eq!(prev["total_sessions"], 2, "{prev}");
    // Session 1 (04:30Z) is Saturday 23:30 EST; session 2 Sunday 23:30 EDT.
    let sunday = stat("user/1/daily/2026-03-08");
    assert_eq!(sunday["total_sessions"], 1);
    assert_eq!(sunday["productive_sessions"], 1);
}

#[test]
fn a_month_without_recordings_between_two_with_appears_with_zeros() {
    let speakers = "id,code,gender,birth_year,category,diagnosis,created_at\n1,S1,F,,normal,,2025-01-01T00:00:00Z\n2,S2,M,,patient,aphasia,2025-01-01T00:00:00Z\n";
    let recordings =
        "id,speaker_id,upload_id,file_name,recorded_at,duration_s,sample_rate,snr_db\n\
        1,1,,a.wav,2025-01-31T20:00:00-05:00,3600,,10\n\
        2,2,,b.wav,2025-03-01T00:00:00Z,1800,,20\n\
        3,99,,c.wav,2025-03-02T00:00:00Z,1800,,30\n\
        4,2,,d.wav,2025-05-03T00:00:00Z,1800,,\n";
    let stat = dataset(
        &[("speakers.csv", speakers), ("recordings.csv", recordings)],
        "2025-04-01T00:00:00Z",
        "UTC",
    );
    let d = stat("dashboard");
    let months: Vec<&str> = d["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    // Recording 1 is 2025-02-01T01:00Z: February in UTC.
    assert_eq!(months, ["2025-02", "2025-03", "2025-04", "2025-05"]);
    assert_eq!(d["monthly"][0]["new_speakers"], 1);
    assert_eq!(d["monthly"][1]["recordings"], 2);
    assert_eq!(d["monthly"][1]["new_speakers"], 1);
    assert_eq!(
        d["monthly"][2],
        json!({"month": "2025-04", "recordings": 0, "new_speakers": 0, "duration_hours": 0.0})
    );
    // The orphan (speaker 99) counts in totals and SNR, in no group.
    assert_eq!(d["total_recordings"], 4);
    let group_total: u64 = d["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["recordings"].as_u64().unwrap())
        .sum();
    assert_eq!(group_total, 3);
    // Buckets are half-open: 10 is fair, 20 good, 30 excellent.
    assert_eq!(bucket_counts(&d), [0, 1, 1, 1]);
    assert_eq!(d["snr"]["median_db"], 20.0);
    assert_eq!(d["snr"]["unmeasured"], 1);
    assert_eq!(d["by_diagnosis"][0]["diagnosis"], "aphasia");
    assert_eq!(d["by_diagnosis"][0]["mean_snr_db"], 20.0);
    assert_eq!(d["by_diagnosis"][1]["diagnosis"], "");
    // In New York, recording 1 is in January and recording 2 in February.
    let ny = dataset(
        &[("speakers.csv", speakers), ("recordings.csv", recordings)],
        "2025-04-01T00:00:00Z",
        "America/New_York",
    );
    let months: Vec<(String, u64)> = ny("dashboard")["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().to_string(),
                m["recordings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months,
        [
            ("2025-01".into(), 1),
            ("2025-02".into(), 1),
            ("2025-03".into(), 1),
            ("2025-04".into(), 0),
            ("2025-05".into(), 1)
        ]
    );
}

#[test]
fn ties_pick_the_alphabetically_first_value_and_the_earliest_peak_hour() {
    let sessions = format!(
        "{SESSIONS_HEADER}\
         1,1,,,2026-03-10T09:00:00Z,2026-03-10T09:30:00Z,30,2,50,library,tablet,0\n\
         2,1,,,2026-03-10T21:00:00Z,2026-03-10T21:30:00Z,30,2,50,home,laptop,0\n\
         3,2,,,2026-03-10T22:00:00Z,2026-03-10T22:30:00Z,30,2,50,cafe,,0\n"
    );
    let stat = dataset(
        &[("users.csv", USERS), ("study_sessions.csv", &sessions)],
        "2026-03-12T12:00:00Z",
        "UTC",
    );
    let a = stat("user/1/analytics");
    assert_eq!(a["preferred_environment"], "home");
    assert_eq!(a["preferred_device"], "laptop");
    assert_eq!(a["peak_hours"], json!({"9": 1, "21": 1}));
    let codes: Vec<&str> = a["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    // Peak hour 9 (earliest of the tie) → morning, not late night.
    assert_eq!(
        codes,
        ["low_effectiveness", "home_environment", "morning_learner"]
    );
    let p = stat("learning");
    assert_eq!(p["most_popular_environment"], "cafe");
    assert_eq!(p["most_popular_device"], "laptop");
}

#[test]
fn ip_regions_match_by_longest_prefix_and_count_spellings_once() {
    let regions = "cidr,region,latitude,longitude\n10.0.0.0/8,Wide,,\n10.1.0.0/16,Narrow,,\n10.1.0.0/16,Later,,\n::ffff:0:0/96,Mapped,,\n";
    let uploads = "id,user_id,uploaded_at,ip,latitude,longitude,region\n\
        1,1,2025-01-01T00:00:00Z,10.1.2.3,37.45,-0.04,Seoul\n\
        2,1,2025-01-01T00:00:00Z,::ffff:10.1.2.3,37.46,0.04,Seoul\n\
        3,1,2025-01-01T00:00:00Z,10.9.9.9,,,\n\
        4,1,2025-01-01T00:00:00Z,not-an-ip,,,\n\
        5,1,2025-01-01T00:00:00Z,2001:db8::1,,,\n\
        6,1,2025-01-01T00:00:00Z,2001:0db8:0::1,,,\n\
        7,1,2025-01-01T00:00:00Z,,,,\n";
    let stat = dataset(
        &[("ip_regions.csv", regions), ("uploads.csv", uploads)],
        "2025-04-01T00:00:00Z",
        "UTC",
    );
    let l = stat("locations");
    let groups: Vec<(String, u64, u64)> = l["by_ip_region"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["region"].as_str().unwrap().to_string(),
                g["uploads"].as_u64().unwrap(),
                g["distinct_ips"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("unknown".into(), 4, 2),
            ("Mapped".into(), 1, 1),
            ("Narrow".into(), 1, 1),
            ("Wide".into(), 1, 1)
        ]
    );
    assert_eq!(l["total_regions"], 1);
    assert_eq!(
        l["points"],
        json!([{"lat": 37.5, "lon": 0.0, "uploads": 2}])
    );
    assert!(!serde_json::to_string(&l["points"])
        .unwrap()
        .contains("-0.0"));
}

/// Three speakers and an orphan around the end of daylight-saving time in
/// New York (2025-11-02, 02:00 EDT → 01:00 EST), and three uploads.
fn around_the_fall_back() -> impl Fn(&str) -> Value {
    let speakers = "id,code,gender,birth_year,category,diagnosis,created_at\n\
        1,S1,F,,normal,,2025-01-01T00:00:00Z\n\
        2,S2,M,,patient,aphasia,2025-01-01T00:00:00Z\n\
        3,S3,F,,patient,aphasia,2025-01-01T00:00:00Z\n";
    let uploads = "id,user_id,uploaded_at,ip,latitude,longitude,region\n\
        1,1,2025-11-01T03:30:00Z,10.0.0.1,,,Seoul\n\
        2,1,2025-11-02T05:30:00Z,10.0.0.2,,,Busan\n\
        3,1,2025-11-03T06:00:00Z,10.0.0.3,,,Busan\n";
    // Local (New York) days: 1 Oct 20, 2 Oct 31 23:30 EDT, 3 Nov 1 00:30
    // EDT, 4 Nov 2 23:30 EST, 5 Nov 3 00:30 EST, 6 Nov 2, 7 Dec 1.
    let recordings =
        "id,speaker_id,upload_id,file_name,recorded_at,duration_s,sample_rate,snr_db\n\
        1,1,,a.wav,2025-10-20T12:00:00Z,600,,5\n\
        2,1,,b.wav,2025-11-01T03:30:00Z,1800,,12\n\
        3,2,1,c.wav,2025-11-01T04:30:00Z,3600,,25\n\
        4,2,2,d.wav,2025-11-03T04:30:00Z,1800,,31\n\
        5,1,3,e.wav,2025-11-03T05:30:00Z,900,,40\n\
        6,99,,f.wav,2025-11-02T12:00:00Z,1200,,\n\
        7,3,,g.wav,2025-12-01T15:00:00Z,600,,20\n";
    dataset(
        &[
            ("speakers.csv", speakers),
            ("uploads.csv", uploads),
            ("recordings.csv", recordings),
        ],
        "2025-12-10T12:00:00Z",
        "America/New_York",
    )
}

/// (name, speakers, recordings) of each group of a `by_…` list.
fn groups(list: &Value, name: &str) -> Vec<(String, u64, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g[name].as_str().unwrap().to_string(),
                g["speakers"].as_u64().unwrap(),
                g["recordings"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn group(name: &str, speakers: u64, recordings: u64) -> (String, u64, u64) {
    (name.to_string(), speakers, recordings)
}

#[test]
fn a_range_across_a_month_end_and_the_fall_back_keeps_local_days() {
    let stat = around_the_fall_back();
    let d = stat("dashboard?from=2025-10-31&to=2025-11-02");
    // Kept: 2 (Oct 31), 3 (Nov 1), 4 (Nov 2, EST), 6 (the orphan).
    assert_eq!(d["total_recordings"], 4, "{d}");
    assert_eq!(d["total_speakers"], 2, "{d}");
    assert_eq!(d["total_duration_hours"], 8400.0 / 3600.0);
    // S3 has no recording in the range: no speaker of "patient" but S2.
    assert_eq!(
        groups(&d["by_category"], "category"),
        [group("patient", 1, 2), group("normal", 1, 1)]
    );
    assert_eq!(
        groups(&d["by_gender"], "gender"),
        [group("M", 1, 2), group("F", 1, 1)]
    );
    assert_eq!(d["by_diagnosis"][0]["diagnosis"], "aphasia");
    assert_eq!(d["by_diagnosis"][0]["mean_snr_db"], 28.0);
    assert_eq!(d["by_diagnosis"][1]["mean_snr_db"], 12.0);
    assert_eq!(d["snr"]["measured"], 3);
    assert_eq!(d["snr"]["unmeasured"], 1);
    assert_eq!(d["snr"]["median_db"], 25.0);
    assert_eq!(d["snr"]["mean_db"], 68.0 / 3.0);
    assert_eq!(bucket_counts(&d), [0, 1, 1, 1]);
    // S1's first recording ever (Oct 20) is outside the range: not new.
    assert_eq!(
        d["monthly"],
        json!([
            {"month": "2025-10", "recordings": 1, "new_speakers": 0, "duration_hours": 0.5},
            {"month": "2025-11", "recordings": 3, "new_speakers": 1,
             "duration_hours": 6600.0 / 3600.0},
        ])
    );

    // An open start, up to the last day of October.
    let october = stat("dashboard?to=2025-10-31");
    assert_eq!(october["total_recordings"], 2, "{october}");
    assert_eq!(october["total_speakers"], 1);
    assert_eq!(october["snr"]["median_db"], 8.5);
    assert_eq!(
        october["monthly"],
        json!([{"month": "2025-10", "recordings": 2, "new_speakers": 1,
                "duration_hours": 2400.0 / 3600.0}])
    );
}

#[test]
fn a_ranged_group_speaker_and_locations_keep_their_own_days() {
    let stat = around_the_fall_back();
    let patients = stat("dashboard?category=patient&from=2025-10-31&to=2025-11-02");
    assert_eq!(patients["total_speakers"], 1, "{patients}");
    assert_eq!(patients["total_recordings"], 2);
    assert_eq!(patients["snr"]["median_db"], 28.0);
    assert_eq!(groups(&patients["by_gender"], "gender"), [group("M", 1, 2)]);
    let s1 = stat("speaker/1?from=2025-11-01");
    assert_eq!(s1["total_recordings"], 1, "{s1}");
    assert_eq!(s1["snr"]["median_db"], 40.0);
    assert_eq!(s1["monthly"][0]["new_speakers"], 0);
    // Upload 1 is Oct 31 local, 3 is Nov 3: only upload 2 is kept.
    let l = stat("locations?from=2025-11-01&to=2025-11-02");
    assert_eq!(l["total_uploads"], 1, "{l}");
    assert_eq!(
        l["by_region"],
        json!([{"region": "Busan", "uploads": 1, "recordings": 1}])
    );
}

#[test]
fn a_range_with_no_data_gives_the_empty_statistic() {
    let stat = around_the_fall_back();
    let empty = stat("dashboard?from=2026-01-01");
    let none = dataset(&[], "2025-12-10T12:00:00Z", "America/New_York")("dashboard");
    assert_eq!(empty, none);
    let group = stat("dashboard?category=normal&from=2025-12-01");
    assert_eq!(group, none);
    assert_eq!(stat("locations?to=2025-01-01")["total_uploads"], 0);
}

/// Speakers who come and go: A in January and March, B in February, C in
/// every month, D never; an orphan recording in February.
fn speakers_who_come_back() -> impl Fn(&str) -> Value {
    let speakers = "id,code,gender,birth_year,category,diagnosis,created_at\n\
        1,A,F,1990,normal,,2025-01-01T00:00:00Z\n\
        2,B,M,2010,patient,aphasia,2025-01-01T00:00:00Z\n\
        3,C,F,,patient,aphasia,2025-01-01T00:00:00Z\n\
        4,D,M,1950,normal,,2025-01-01T00:00:00Z\n";
    let recordings =
        "id,speaker_id,upload_id,file_name,recorded_at,duration_s,sample_rate,snr_db\n\
        1,1,,a1.wav,2025-01-15T12:00:00Z,10,,20\n\
        2,1,,a2.wav,2025-03-31T23:59:59Z,10,,20\n\
        3,2,,b1.wav,2025-02-01T00:00:00Z,10,,20\n\
        4,2,,b2.wav,2025-02-20T00:00:00Z,10,,20\n\
        5,3,,c1.wav,2025-01-01T00:00:00Z,10,,20\n\
        6,3,,c2.wav,2025-02-10T00:00:00Z,10,,20\n\
        7,3,,c3.wav,2025-03-10T00:00:00Z,10,,20\n\
        8,99,,o.wav,2025-02-11T00:00:00Z,10,,20\n";
    dataset(
        &[("speakers.csv", speakers), ("recordings.csv", recordings)],
        "2025-12-10T12:00:00Z",
        "UTC",
    )
}

/// Speakers per age band of a dashboard, in its order.
fn age_speakers(d: &Value) -> Vec<(String, u64)> {
    let bands = d["by_age"].as_array().unwrap().iter();
    bands
        .map(|b| {
            (
                b["band"].as_str().unwrap().to_string(),
                b["speakers"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_speaker_who_comes_back_counts_once_in_a_range_of_whole_months() {
    let stat = speakers_who_come_back();
    let speakers = |query: &str| stat(&format!("dashboard?{query}"))["total_speakers"].clone();
    assert_eq!(speakers("from=2025-01-01&to=2025-01-31"), 2, "A and C");
    assert_eq!(
        speakers("from=2025-02-01&to=2025-02-28"),
        2,
        "B and C, not the orphan"
    );
    assert_eq!(speakers("from=2025-03-01&to=2025-03-31"), 2, "A and C");
    assert_eq!(
        speakers("from=2025-02-01&to=2025-03-31"),
        3,
        "A back in March"
    );
    assert_eq!(speakers("from=2025-01-01&to=2025-03-31"), 3);
    assert_eq!(speakers("from=2025-02-01"), 3);
    assert_eq!(speakers("to=2025-01-31"), 2);
    assert_eq!(speakers("from=2025-04-01"), 0);
    let d = stat("dashboard?from=2025-02-01&to=2025-03-31");
    assert_eq!(
        groups(&d["by_category"], "category"),
        [group("patient", 2, 4), group("normal", 1, 1)],
        "{d}"
    );
    // Ages at 2025: A 35, B 15, C none; D has no recording.
    assert_eq!(
        age_speakers(&d),
        [("<18".into(), 1), ("30-44".into(), 1), (String::new(), 1)]
    );
    let march = stat("dashboard?from=2025-03-01&to=2025-03-31");
    assert_eq!(march["monthly"][0]["new_speakers"], 0, "{march}");
}

/// Speakers who record on chosen days of January to April 2025 (UTC):
/// within a month with a gap, on days that follow, back after a skipped
/// month, first in the middle of a month; (id, category, days).
const DAYS_OF_SPEAKERS: [(i64, &str, &[&str]); 8] = [
    (1, "normal", &["01-05", "01-20", "02-10", "03-11"]),
    (2, "patient", &["01-10", "03-20"]),
    (3, "patient", &["02-01", "02-02", "02-28"]),
    (4, "normal", &["03-05"]),
    (5, "child", &["01-31", "02-01"]),
    (6, "child", &["02-20", "04-10"]),
    (7, "normal", &["01-01", "04-30"]),
    (8, "patient", &[]),
];

#[test]
fn the_speakers_of_any_range_of_days_are_those_who_recorded_on_one_of_its_days() {
    let mut speakers = "id,code,gender,birth_year,category,diagnosis,created_at\n".to_string();
    let mut recordings =
        "id,speaker_id,upload_id,file_name,recorded_at,duration_s,sample_rate,snr_db\n".to_string();
    let mut id = 0;
    for (speaker, category, days) in DAYS_OF_SPEAKERS {
        let born = 1950 + 10 * speaker;
        speakers.push_str(&format!(
            "{speaker},S{speaker},F,{born},{category},,2025-01-01T00:00:00Z\n"
        ));
        for day in days {
            id += 1;
            recordings.push_str(&format!(
                "{id},{speaker},,r{id}.wav,2025-{day}T12:00:00Z,10,,20\n"
            ));
        }
    }
    recordings.push_str("99,99,,orphan.wav,2025-02-11T12:00:00Z,10,,20\n");
    let files = [
        ("speakers.csv", speakers.as_str()),
        ("recordings.csv", &recordings),
    ];
    let now = "2025-12-10T12:00:00Z";
    let imported = dataset(&files, now, "UTC");
    // The same recordings written again one by one: the writes' own
    // adjustments, not the import's rebuild.
    let written = dataset_then(
        &files,
        now,
        "UTC",
        "CREATE TEMP TABLE kept AS SELECT * FROM recordings;
         DELETE FROM recordings;
         INSERT INTO recordings SELECT * FROM kept ORDER BY file_name DESC;",
    );
    // The days around every edge of every term: first, last, and those
    // next to the speakers' days.
    let ends: Vec<String> = (1..=4)
        .flat_map(|m| [1, 2, 5, 6, 10, 11, 19, 20, 21, 28].map(|d| format!("2025-0{m}-{d:02}")))
        .chain(["2025-01-31", "2025-03-31", "2025-04-30"].map(String::from))
        .collect();
    let mut checked = 0;
    for from in &ends {
        for to in ends.iter().filter(|to| *to >= from) {
            let recorded = |(_, _, days): &(i64, &str, &[&str])| {
                days.iter()
                    .any(|d| (from.as_str()..=to.as_str()).contains(&format!("2025-{d}").as_str()))
            };
            let mut expected: Vec<(String, u64)> = Vec::new();
            for (_, category, _) in DAYS_OF_SPEAKERS.iter().filter(|s| recorded(s)) {
                match expected.iter_mut().find(|(c, _)| c == category) {
                    Some((_, n)) => *n += 1,
                    None => expected.push((category.to_string(), 1)),
                }
            }
            let query = format!("dashboard?from={from}&to={to}");
            let d = imported(&query);
            assert_eq!(written(&query), d, "{from}..={to}");
            let total: u64 = expected.iter().map(|(_, n)| n).sum();
            assert_eq!(d["total_speakers"], total, "{from}..={to}: {d}");
            let mut got: Vec<(String, u64)> = groups(&d["by_category"], "category")
                .into_iter()
                .filter(|(_, speakers, _)| *speakers > 0)
                .map(|(c, speakers, _)| (c, speakers))
                .collect();
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{from}..={to}");
            let ages: u64 = age_speakers(&d).iter().map(|(_, n)| n).sum();
            assert_eq!(ages, total, "{from}..={to}: {d}");
            // One recording a day, and the orphan's.
            let in_range = |day: &str| (from.as_str()..=to.as_str()).contains(&day);
            let recordings = DAYS_OF_SPEAKERS
                .iter()
                .flat_map(|(_, _, days)| days.iter())
                .map(|d| format!("2025-{d}"))
                .chain(["2025-02-11".to_string()])
                .filter(|d| in_range(d))
                .count();
            assert_eq!(d["total_recordings"], recordings, "{from}..={to}: {d}");
            let monthly: u64 = d["monthly"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["recordings"].as_u64().unwrap())
                .sum();
            assert_eq!(monthly, recordings as u64, "{from}..={to}: {d}");
            checked += 1;
        }
    }
    assert_eq!(checked, 43 * 44 / 2);
}
