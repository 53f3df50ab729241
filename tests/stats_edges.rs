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

/// Imports the given files (name, content) and returns a computing closure.
fn dataset(files: &[(&str, &str)], now: &str, tz: &str) -> impl Fn(&str) -> Value {
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
    let buckets: Vec<u64> = d["snr"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["recordings"].as_u64().unwrap())
        .collect();
    assert_eq!(buckets, [0, 1, 1, 1]);
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
