//! The aggregates the writes keep agree with the rows: after every step of
//! random sequences of study-session writes (single rows, statements of
//! many rows, an import, cleanup's archive), the statistics computed from
//! them equal their computation from the rows, on SQLite and PostgreSQL,
//! in a zone whose last seven days span the end of summer time.

mod common;

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxdash::clock::Clock;
use voxdash::config::Config;
use voxdash::store::{Store, Value};

/// Monday after the end of summer time in New York (2026-11-01): the last
/// 7 local days span the change of offset.
const NOW: &str = "2026-11-03T12:00:00-05:00";
const ZONE: &str = "America/New_York";
const HOUR: i64 = 3_600_000_000;

fn config(dir: &Path, zone: &str) -> Config {
    let clock = Clock::from_env_value(Some(NOW)).unwrap();
    Config::with(dir, zone.parse().unwrap(), clock)
}

/// Aggregates built for `config`'s zone, as the statistics do when they open.
fn follow(store: &Store, config: &Config) {
    voxdash::store::aggregates::follow_zone(&store.conn().unwrap(), config.local.tz).unwrap();
}

fn now() -> i64 {
    voxdash::clock::parse_instant(NOW).unwrap()
}

/// The statistics from the aggregates against those from the rows.
fn assert_agree(store: &Store, config: &Config, step: &str) {
    let differences = store
        .snapshot(|view| voxdash::stats::aggregate_differences(view, config))
        .unwrap();
    assert!(differences.is_empty(), "after {step}: {differences:?}");
}

fn text(rng: &mut StdRng, values: &[&str]) -> Value {
    match rng.gen_range(0..=values.len()) {
        0 => Value::Null,
        i => Value::from(values[i - 1]),
    }
}

/// One random write of either kind; returns what it was.
fn random_write(store: &Store, rng: &mut StdRng) -> String {
    if rng.gen_bool(0.5) {
        random_session_write(store, rng)
    } else {
        random_corpus_write(store, rng)
    }
}

fn pick(rng: &mut StdRng, values: &[&str]) -> Value {
    Value::from(values[rng.gen_range(0..values.len())])
}

const CATEGORIES: &[&str] = &["patient", "normal", "child", ""];
const GENDERS: &[&str] = &["F", "M", "U"];
const DIAGNOSES: &[&str] = &["aphasia", "dysarthria", ""];

/// A random SNR: often none, often on a band's edge, sometimes one of a
/// few values shared by many recordings (ties at the median), sometimes
/// one of a few values in one narrow band (the median's last step).
fn snr(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..7) {
        0 => Value::Null,
        1 => Value::from([9.995, 10.0, 19.99, 20.0, 30.0, -0.005][rng.gen_range(0..6)]),
        2 => Value::from([21.0, 21.5, 22.25][rng.gen_range(0..3)]),
        3 => Value::from(21.0 + f64::from(rng.gen_range(0..5)) * 0.001),
        _ => Value::from(rng.gen_range(-5.0..45.0)),
    }
}

/// An upload id: none, or one of a few (some of which have no row).
fn upload(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..8i64) {
        0 => Value::Null,
        id => Value::from(id),
    }
}

/// One random write of uploads: their region, address, coordinates
/// (some on the edge of a grid cell), or the upload removed.
fn random_upload_write(store: &Store, rng: &mut StdRng) -> String {
    let conn = store.conn().unwrap();
    let id = Value::from(rng.gen_range(1..8i64));
    let addresses = [
        "10.1.2.3",
        "10.1.2.3",
        "2001:db8::1",
        "2001:DB8:0::1",
        "garbage",
        "",
    ];
    let address = text(rng, &addresses);
    let coordinate = |rng: &mut StdRng| match rng.gen_range(0..4) {
        0 => Value::Null,
        1 => Value::from([37.45, -0.04, -126.95, 0.05][rng.gen_range(0..4)]),
        _ => Value::from(rng.gen_range(-90.0..90.0)),
    };
    if rng.gen_bool(0.2) {
        conn.execute("DELETE FROM uploads WHERE id = ?1", &[id])
            .unwrap();
        return "an upload removed".into();
    }
    conn.execute(
        "INSERT INTO uploads (id, user_id, uploaded_at, ip, latitude, longitude, region)
         VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET ip = excluded.ip, latitude = excluded.latitude,
             longitude = excluded.longitude, region = excluded.region",
        &[
            id,
            Value::from(now()),
            address,
            coordinate(rng),
            coordinate(rng),
            text(rng, &["서울", "Busan", ""]),
        ],
    )
    .unwrap();
    if rng.gen_bool(0.5) {
        // As voxdash's own write does: its address resolved at once.
        voxdash::store::aggregates::resolve_addresses(&conn).unwrap();
        return "an upload written, its address resolved".into();
    }
    "an upload written by another program".into()
}

/// One random write of recordings, speakers or uploads: rows and
/// statements of many rows, speakers changing groups or going away (their
/// recordings then count in the whole corpus only), recordings of unknown
/// speakers and uploads.
/// A recording's length: on a bucket's bound now and then.
fn length(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..4) {
        0 => Value::from([2.0, 5.0, 10.0, 60.0][rng.gen_range(0..4)]),
        _ => Value::from(rng.gen_range(0.5..90.0)),
    }
}

/// A sample rate, or none.
fn sample_rate(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..3) {
        0 => Value::Null,
        1 => Value::from(16000i64),
        _ => Value::from(44100i64),
    }
}

/// A birth year, or none: ages in every band.
fn birth_year(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..4) {
        0 => Value::Null,
        _ => Value::from(rng.gen_range(1940..2015i64)),
    }
}

fn random_corpus_write(store: &Store, rng: &mut StdRng) -> String {
    if rng.gen_bool(0.25) {
        return random_upload_write(store, rng);
    }
    let conn = store.conn().unwrap();
    let speaker = Value::from(rng.gen_range(1..14i64));
    // Around the turn of a month, local and UTC.
    let at = now() + rng.gen_range(-70 * 24..2 * 24) * HOUR + rng.gen_range(0..HOUR);
    match rng.gen_range(0..8) {
        0..=2 => {
            conn.execute(
                "INSERT INTO recordings (speaker_id, file_name, recorded_at, duration_s, snr_db,
                     upload_id, sample_rate)
                 VALUES (?1, 'r.wav', ?2, ?3, ?4, ?5, ?6)",
                &[
                    speaker,
                    Value::from(at),
                    length(rng),
                    snr(rng),
                    upload(rng),
                    sample_rate(rng),
                ],
            )
            .unwrap();
            "a recording".into()
        }
        3 => {
            let (column, value) = match rng.gen_range(0..6) {
                0 => ("speaker_id", speaker),
                1 => ("upload_id", upload(rng)),
                2 => ("recorded_at", Value::from(at)),
                3 => ("duration_s", length(rng)),
                4 => ("sample_rate", sample_rate(rng)),
                _ => ("snr_db", snr(rng)),
            };
            conn.execute(
                &format!(
                    "UPDATE recordings SET {column} = ?1
                     WHERE id = (SELECT id FROM recordings ORDER BY id LIMIT 1 OFFSET ?2)"
                ),
                &[value, Value::from(rng.gen_range(0..30i64))],
            )
            .unwrap();
            format!("an update of a recording's {column}")
        }
        4 => {
            conn.execute(
                "DELETE FROM recordings WHERE speaker_id = ?1 AND id % 3 = 0",
                &[speaker],
            )
            .unwrap();
            "a delete of a third of one speaker's recordings".into()
        }
        5 => {
            conn.execute(
                "INSERT INTO speakers (id, code, gender, category, diagnosis, created_at, birth_year)
                 VALUES (?1, ?5, ?2, ?3, ?4, 0, ?6)
                 ON CONFLICT (id) DO UPDATE SET gender = excluded.gender,
                     category = excluded.category, diagnosis = excluded.diagnosis,
                     birth_year = excluded.birth_year",
                &[
                    speaker.clone(),
                    pick(rng, GENDERS),
                    pick(rng, CATEGORIES),
                    text(rng, DIAGNOSES),
                    Value::from(format!("S{speaker:?}")),
                    birth_year(rng),
                ],
            )
            .unwrap();
            "a speaker written (new, or into another group)".into()
        }
        6 => {
            conn.execute("DELETE FROM speakers WHERE id = ?1", &[speaker])
                .unwrap();
            "a speaker removed".into()
        }
        _ => {
            conn.execute(
                "UPDATE speakers SET category = ?1 WHERE gender = ?2",
                &[pick(rng, CATEGORIES), pick(rng, GENDERS)],
            )
            .unwrap();
            "one statement moving many speakers".into()
        }
    }
}

/// One random write of study sessions.
fn random_session_write(store: &Store, rng: &mut StdRng) -> String {
    let conn = store.conn().unwrap();
    let start = now() + rng.gen_range(-12 * 24..3 * 24) * HOUR + rng.gen_range(0..HOUR);
    let env = text(rng, &["home", "library", "cafe", ""]);
    let device = text(rng, &["laptop", "mobile", ""]);
    match rng.gen_range(0..6) {
        0 | 1 => {
            conn.execute(
                "INSERT INTO study_sessions (user_id, start_time, duration_minutes,
                     learning_environment, device_type, is_active)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                &[
                    Value::from(rng.gen_range(1..8i64)),
                    Value::from(start),
                    Value::from(rng.gen_range(0..120i64)),
                    env,
                    device,
                ],
            )
            .unwrap();
            "an insert".into()
        }
        2 => {
            let column = [
                "user_id",
                "start_time",
                "duration_minutes",
                "learning_environment",
            ][rng.gen_range(0..4)];
            let value = match column {
                "user_id" => Value::from(rng.gen_range(1..8i64)),
                "start_time" => Value::from(start),
                "duration_minutes" => Value::from(rng.gen_range(0..120i64)),
                _ => env,
            };
            conn.execute(
                &format!(
                    "UPDATE study_sessions SET {column} = ?1
                     WHERE id = (SELECT id FROM study_sessions ORDER BY id LIMIT 1 OFFSET ?2)"
                ),
                &[value, Value::from(rng.gen_range(0..20i64))],
            )
            .unwrap();
            format!("an update of {column}")
        }
        3 => {
            conn.execute(
                "DELETE FROM study_sessions
                 WHERE id = (SELECT id FROM study_sessions ORDER BY id LIMIT 1 OFFSET ?1)",
                &[Value::from(rng.gen_range(0..20i64))],
            )
            .unwrap();
            "a delete".into()
        }
        4 => {
            // One statement, many rows: copies shifted by a few hours.
            conn.execute(
                "INSERT INTO study_sessions (user_id, start_time, duration_minutes,
                     learning_environment, device_type, is_active)
                 SELECT user_id, start_time + ?1, duration_minutes, learning_environment,
                        device_type, is_active
                 FROM study_sessions WHERE user_id = ?2",
                &[
                    Value::from(rng.gen_range(-30..30i64) * HOUR),
                    Value::from(rng.gen_range(1..8i64)),
                ],
            )
            .unwrap();
            "a copy of one learner's sessions".into()
        }
        _ => {
            conn.execute(
                "UPDATE study_sessions SET device_type = ?1 WHERE user_id = ?2",
                &[device, Value::from(rng.gen_range(1..8i64))],
            )
            .unwrap();
            "an update of one learner's devices".into()
        }
    }
}

/// An import of sessions of the last days (a bulk load).
fn import_sessions(store: &Store, rng: &mut StdRng) {
    let folder = common::temp_dir();
    let mut csv = String::from(
        "id,user_id,course_id,subject_category,start_time,end_time,duration_minutes,\
         effectiveness_rating,focus_score,learning_environment,device_type,is_active\n",
    );
    for i in 0..40 {
        let start = now() - rng.gen_range(0..9 * 24) * HOUR;
        csv.push_str(&format!(
            "{},{},,,{},,{},,,{},laptop,0\n",
            5000 + i,
            rng.gen_range(1..8),
            voxdash::clock::format_utc(start),
            rng.gen_range(1..90),
            ["home", "cafe", ""][i % 3],
        ));
    }
    std::fs::write(folder.path().join("study_sessions.csv"), csv).unwrap();
    voxdash::import::import_dir(store, folder.path(), &Default::default()).unwrap();
}

/// Cleanup, in batches of a random size: sessions older than the archive
/// age are archived (among them one whose minutes no sum in SQL may hold,
/// which takes the row triggers), invalid ones deleted; or, with
/// `purge`, an inactive learner's sessions deleted with the learner's data.
fn clean_up(store: &Store, config: &Config, rng: &mut StdRng, purge: bool) {
    let conn = store.conn().unwrap();
    conn.execute(
        "UPDATE study_sessions SET start_time = start_time - ?1 WHERE id % 5 = 0",
        &[Value::from(200 * 24 * HOUR)],
    )
    .unwrap();
    for (user, age, minutes) in [
        (3i64, 220 * 24 * HOUR, 1i64 << 50),
        (4, HOUR, -5),
        (99, 2 * HOUR, 30),
        (8, 800 * 24 * HOUR, 45),
        (8, 801 * 24 * HOUR, 15),
    ] {
        conn.execute(
            "INSERT INTO study_sessions (user_id, start_time, duration_minutes,
                 learning_environment, device_type, is_active)
             VALUES (?1, ?2, ?3, 'home', 'laptop', 0)",
            &[
                Value::from(user),
                Value::from(now() - age),
                Value::from(minutes),
            ],
        )
        .unwrap();
    }
    drop(conn);
    let options = voxdash::jobs::cleanup::CleanupOptions {
        no_backup: true,
        batch_size: rng.gen_range(1..40),
        purge_inactive: purge,
        // Archived sessions leave for good before a purge finds them.
        archive_older_than: Some(if purge { 3650 } else { 180 }),
        ..Default::default()
    };
    voxdash::jobs::cleanup::cleanup(store, config, None, &options).unwrap();
}

/// An import of speakers (some into other groups) and recordings.
fn import_corpus(store: &Store, rng: &mut StdRng) {
    let folder = common::temp_dir();
    let mut speakers = String::from("id,code,gender,birth_year,category,diagnosis,created_at\n");
    for id in 1..10 {
        speakers.push_str(&format!(
            "{id},S{id},{},{},{},{},2024-01-01T00:00:00Z\n",
            GENDERS[rng.gen_range(0..GENDERS.len())],
            match birth_year(rng) {
                Value::Integer(year) => year.to_string(),
                _ => String::new(),
            },
            // A category is required in a file.
            CATEGORIES[rng.gen_range(0..CATEGORIES.len() - 1)],
            DIAGNOSES[rng.gen_range(0..DIAGNOSES.len())],
        ));
    }
    let mut recordings = String::from(
        "id,speaker_id,upload_id,file_name,recorded_at,duration_s,sample_rate,snr_db\n",
    );
    for i in 0..30 {
        let at = now() - rng.gen_range(0..60 * 24) * HOUR;
        recordings.push_str(&format!(
            "{},{},,f.wav,{},{:.3},{},{}\n",
            9000 + i,
            rng.gen_range(1..14),
            voxdash::clock::format_utc(at),
            rng.gen_range(1.0..30.0),
            ["", "8000", "48000"][rng.gen_range(0..3)],
            if i % 4 == 0 {
                String::new()
            } else {
                format!("{:.2}", rng.gen_range(0.0..40.0))
            },
        ));
    }
    // Another table of networks: every address is resolved again.
    let networks = ["10.0.0.0/8,Korea", "10.1.0.0/16,Busan", "2001:db8::/32,V6"];
    let mut ip_regions = String::from("cidr,region,latitude,longitude\n");
    for line in networks.iter().filter(|_| rng.gen_bool(0.6)) {
        ip_regions.push_str(&format!("{line},,\n"));
    }
    std::fs::write(folder.path().join("ip_regions.csv"), ip_regions).unwrap();
    std::fs::write(folder.path().join("speakers.csv"), speakers).unwrap();
    std::fs::write(folder.path().join("recordings.csv"), recordings).unwrap();
    let report = voxdash::import::import_dir(store, folder.path(), &Default::default()).unwrap();
    assert!(report.rejected.is_empty(), "{}", report.render());
}

fn random_sequences(store: &Store, config: &Config) {
    follow(store, config);
    // The learners exist: cleanup removes the sessions of unknown ones.
    let conn = store.conn().unwrap();
    for i in 1..9 {
        voxdash::store::accounts::add_account(&conn, &format!("learner{i}"), false, "-", 0)
            .unwrap();
    }
    drop(conn);
    assert_agree(store, config, "nothing written yet");
    for seed in 0..4 {
        let mut rng = StdRng::seed_from_u64(seed);
        for step in 0..60 {
            let write = random_write(store, &mut rng);
            assert_agree(store, config, &format!("seed {seed}, step {step}: {write}"));
        }
        import_sessions(store, &mut rng);
        assert_agree(store, config, &format!("seed {seed}: an import"));
        import_corpus(store, &mut rng);
        assert_agree(
            store,
            config,
            &format!("seed {seed}: an import of the corpus"),
        );
        let purge = seed % 2 == 1;
        clean_up(store, config, &mut rng, purge);
        assert_agree(
            store,
            config,
            &format!("seed {seed}: cleanup (purge {purge})"),
        );
    }
    // Not an empty comparison: the week has sessions, spread over days.
    let learning = store
        .snapshot(|v| voxdash::stats::compute(v, config, &voxdash::stats::StatKey::Learning))
        .unwrap();
    let json = serde_json::to_value(&learning.statistic).unwrap()["Learning"].clone();
    assert!(
        json["sessions_week"].as_u64().unwrap() > json["sessions_today"].as_u64().unwrap(),
        "{json}"
    );
    assert!(json["total_users"].as_u64().unwrap() >= 5, "{json}");
    let dashboard = store
        .snapshot(|v| voxdash::stats::compute(v, config, &voxdash::stats::StatKey::Dashboard))
        .unwrap();
    let json = serde_json::to_value(&dashboard.statistic).unwrap()["Dashboard"].clone();
    assert!(json["monthly"].as_array().unwrap().len() >= 2, "{json}");
    assert!(json["by_category"].as_array().unwrap().len() >= 2, "{json}");
    assert!(json["snr"]["median_db"].is_number(), "{json}");
}

#[test]
fn the_aggregates_agree_with_the_rows_after_every_write_on_sqlite() {
    let dir = common::temp_dir();
    let store = Store::open(&dir.path().join("voxdash.db")).unwrap();
    random_sequences(&store, &config(dir.path(), ZONE));
}

#[test]
#[ignore = "needs Debian's postgresql: make test-cluster"]
fn the_aggregates_agree_with_the_rows_after_every_write_on_postgresql() {
    let pg = common::postgres::Postgres::start();
    let dir = common::temp_dir();
    let store = Store::open_postgres(&pg.database("lab")).unwrap();
    random_sequences(&store, &config(dir.path(), ZONE));
}

#[test]
fn the_sample_computed_from_the_aggregates_matches_its_expected_statistics() {
    let (_dir, store, config) = common::sample_store();
    assert_agree(&store, &config, "the sample's import");
    common::assert_sample_statistics(&store, &config);
}

#[test]
fn a_change_of_zone_moves_the_days_and_the_statistics_follow_it() {
    let dir = common::temp_dir();
    let store = Store::open(&dir.path().join("voxdash.db")).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..80 {
        random_session_write(&store, &mut rng);
    }
    for _ in 0..150 {
        random_corpus_write(&store, &mut rng);
    }
    let statistics = |config: &Config| {
        follow(&store, config);
        assert_agree(&store, config, config.local.tz.name());
        let json = |key| {
            let computed = store
                .snapshot(|v| voxdash::stats::compute(v, config, &key))
                .unwrap();
            serde_json::to_value(&computed.statistic).unwrap()
        };
        (
            json(voxdash::stats::StatKey::Learning)["Learning"].clone(),
            json(voxdash::stats::StatKey::Dashboard)["Dashboard"]["monthly"].clone(),
        )
    };
    let in_new_york = statistics(&config(dir.path(), ZONE));
    // Seventeen hours ahead: other sessions fall on "today", other
    // recordings in the next month.
    let in_auckland = statistics(&config(dir.path(), "Pacific/Auckland"));
    assert_ne!(
        in_new_york.0["sessions_today"], in_auckland.0["sessions_today"],
        "{in_new_york:?} {in_auckland:?}"
    );
    assert_ne!(in_new_york.1, in_auckland.1);
}

#[test]
fn check_repair_rebuilds_aggregates_that_went_wrong() {
    let dir = common::imported_dir();
    let db = Store::open(&dir.path().join("voxdash.db")).unwrap();
    db.conn()
        .unwrap()
        .batch("UPDATE session_sums SET sessions = sessions + 1")
        .unwrap();
    let bin = env!("CARGO_BIN_EXE_voxdash");
    let out = common::run_cli(bin, dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("FAIL aggregates") && text.contains("learning: "),
        "{text}"
    );
    let out = common::run_cli(bin, dir.path(), &["check", "--repair"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rebuilt; agree with the rows"), "{text}");
}
