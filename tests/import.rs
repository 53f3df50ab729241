//! `voxdash import` and the schema migrations as a user sees them: every CSV
//! row of the sample lands in the database, business-rule violations are
//! counted per rule (checked against counts computed here from the CSV files,
//! independently of the importer), re-importing changes nothing, format errors
//! name file, line and column, `--strict` writes nothing, headers are matched
//! by name (any order, BOM, unknown columns warned about), and an old database
//! is upgraded while a newer one is refused.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use voxdash::import::{import_dir, ImportError, ImportOptions, ImportReport};
use voxdash::store::{migrate, schema, Store, StoreError, Value};

/// Data tables of the import format, with the file that fills each.
const TABLES: [(&str, &str); 8] = [
    ("users", "users.csv"),
    ("speakers", "speakers.csv"),
    ("uploads", "uploads.csv"),
    ("recordings", "recordings.csv"),
    ("ip_regions", "ip_regions.csv"),
    ("courses", "courses.csv"),
    ("study_sessions", "study_sessions.csv"),
    ("course_progress", "course_progress.csv"),
];

/// One CSV row as column name -> field.
type Row = HashMap<String, String>;

/// A table dump: every row, every column, in id (or seq) order.
type Dump = Vec<Vec<Value>>;

// ---------------------------------------------------------------- helpers

/// Reads the data rows of `dir/file` with the `csv` crate, keyed by header.
fn read_rows(dir: &Path, file: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(dir.join(file)).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The `id` column of the rows, as integers.
fn ids(rows: &[Row]) -> HashSet<i64> {
    rows.iter().map(|r| r["id"].parse().unwrap()).collect()
}

/// An optional integer field (empty = `None`).
fn opt_int(row: &Row, column: &str) -> Option<i64> {
    let text = &row[column];
    (!text.is_empty()).then(|| text.parse().unwrap())
}

/// An optional float field (empty = `None`).
fn opt_f64(row: &Row, column: &str) -> Option<f64> {
    let text = &row[column];
    (!text.is_empty()).then(|| text.parse().unwrap())
}

/// An optional timestamp field, as an instant with its offset.
fn opt_instant(row: &Row, column: &str) -> Option<DateTime<FixedOffset>> {
    let text = &row[column];
    (!text.is_empty()).then(|| DateTime::parse_from_rfc3339(text).unwrap())
}

/// A fresh store in a fresh temporary directory (kept alive by the guard).
fn fresh_store() -> (tempfile::TempDir, Store) {
    let dir = common::temp_dir();
    // `make test-cluster` runs this suite on PostgreSQL too.
    let database_url = common::server::on_postgres().then(common::postgres::fresh_database);
    let store =
        Store::open_configured(database_url.as_deref(), &dir.path().join("voxdash.db")).unwrap();
    (dir, store)
}

/// Imports `dir` with default (non-strict) options; panics on failure.
fn import(store: &Store, dir: &Path) -> ImportReport {
    import_dir(store, dir, &ImportOptions::default()).unwrap()
}

/// `SELECT * FROM table ORDER BY 1`, every value.
fn dump(store: &Store, table: &str) -> Dump {
    let conn = store.conn().unwrap();
    conn.query(&format!("SELECT * FROM {table} ORDER BY 1"), &[])
        .unwrap()
        .iter()
        .map(|r| r.values().to_vec())
        .collect()
}

/// Dumps of every data table, by table name.
fn dump_all(store: &Store) -> BTreeMap<&'static str, Dump> {
    TABLES.iter().map(|(t, _)| (*t, dump(store, t))).collect()
}

/// Rows in `table`.
fn count(store: &Store, table: &str) -> i64 {
    let conn = store.conn().unwrap();
    conn.query_value(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()
}

/// Asserts that no data table holds a row.
fn assert_all_empty(store: &Store) {
    for (table, _) in TABLES {
        assert_eq!(count(store, table), 0, "{table} should be empty");
    }
}

/// Writes to the counted tables except `ip_regions` (replaced on every import).
fn writes(store: &Store) -> i64 {
    let conn = store.conn().unwrap();
    conn.query_value(
        "SELECT CAST(SUM(inserts+updates+deletes) AS BIGINT) FROM write_counters WHERE table_name <> 'ip_regions'",
        &[],
    )
    .unwrap()
}

/// A temporary copy of the sample dataset.
fn sample_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = common::temp_dir();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    for (_, file) in TABLES {
        std::fs::copy(common::sample_dir().join(file), dir.join(file)).unwrap();
    }
    (tmp, dir)
}

/// Rewrites `dir/file` record by record (header included) with `f(index, record)`.
fn rewrite(dir: &Path, file: &str, mut f: impl FnMut(usize, Vec<String>) -> Vec<String>) {
    let path = dir.join(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&path)
        .unwrap();
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    for (i, record) in records.into_iter().enumerate() {
        writer.write_record(f(i, record)).unwrap();
    }
    writer.flush().unwrap();
}

/// Sets `column` of the row on 1-based `line` of `dir/file` (one line per
/// record, as in the sample) to `value`.
fn set_field(dir: &Path, file: &str, line: usize, column: &str, value: &str) {
    let mut pos = None;
    rewrite(dir, file, |i, mut record| {
        if i == 0 {
            pos = record.iter().position(|c| c == column);
        }
        if i + 1 == line {
            record[pos.expect("column exists")] = value.to_string();
        }
        record
    });
}

/// Imports a sample copy whose study_sessions.csv line 5 has `start_time`
/// set to `value`, non-strict; returns the store and the report.
fn import_with_start_time(value: &str) -> (tempfile::TempDir, Store, ImportReport) {
    let (tmp, dir) = sample_copy();
    set_field(&dir, "study_sessions.csv", 5, "start_time", value);
    let (db, store) = fresh_store();
    let report = import(&store, &dir);
    drop(tmp);
    (db, store, report)
}

/// The rejected rows of `report` as (file, line, column).
fn rejected_at(report: &ImportReport) -> Vec<(String, u64, String)> {
    report
        .rejected
        .iter()
        .map(|e| (e.file.clone(), e.line, e.column.clone()))
        .collect()
}

/// Imports a sample copy whose `file` line `line` has `column` set to
/// `value`, non-strict; asserts that exactly that row is rejected (reported
/// as `file:line: column: ...`) and the rest of the file loaded; returns the
/// rejection's message.
fn assert_only_row_rejected(file: &str, line: usize, column: &str, value: &str) -> String {
    let (_tmp, dir) = sample_copy();
    set_field(&dir, file, line, column, value);
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert_eq!(
        rejected_at(&report),
        [(file.to_string(), line as u64, column.to_string())],
        "{value}: {:?}",
        report.rejected
    );
    let message = report.rejected[0].to_string();
    assert!(
        message.starts_with(&format!("{file}:{line}: {column}: ")),
        "{message}"
    );
    let table = TABLES.iter().find(|(_, f)| *f == file).unwrap().0;
    let rows = read_rows(&common::sample_dir(), file).len() as i64;
    assert_eq!(count(&store, table), rows - 1, "{table}");
    message
}

/// Replaces the first occurrence of `from` in `dir/file` by `to`, bytes as
/// they are (so `to` may be anything but UTF-8).
fn replace_bytes(dir: &Path, file: &str, from: &[u8], to: &[u8]) {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the bytes to replace are in the file");
    let out = [&bytes[..at], to, &bytes[at + from.len()..]].concat();
    std::fs::write(&path, out).unwrap();
}

/// A folder holding only `speakers.csv` with the given data lines.
fn speakers_only(lines: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = common::temp_dir();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let mut text = String::from("id,code,gender,birth_year,category,diagnosis,created_at\n");
    for line in lines {
        text += line;
        text += "\n";
    }
    std::fs::write(dir.join("speakers.csv"), text).unwrap();
    (tmp, dir)
}

/// Speaker id -> code, as stored.
fn speaker_codes(store: &Store) -> BTreeMap<i64, String> {
    let conn = store.conn().unwrap();
    conn.query("SELECT id, code FROM speakers", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

/// Adds 1 to the counter of `rule` when `broken`.
fn tally(out: &mut BTreeMap<String, u64>, rule: &str, broken: bool) {
    if broken {
        *out.entry(rule.to_string()).or_insert(0) += 1;
    }
}

// ------------------------------------------------ business rules, by hand

/// Rows of the sample's `file` and the ids of the files it refers to.
struct Sample {
    dir: PathBuf,
    users: HashSet<i64>,
    speakers: HashSet<i64>,
    uploads: HashSet<i64>,
    courses: HashSet<i64>,
}

impl Sample {
    fn load(dir: &Path) -> Sample {
        Sample {
            users: ids(&read_rows(dir, "users.csv")),
            speakers: ids(&read_rows(dir, "speakers.csv")),
            uploads: ids(&read_rows(dir, "uploads.csv")),
            courses: ids(&read_rows(dir, "courses.csv")),
            dir: dir.to_path_buf(),
        }
    }

    /// Business-rule violations of `file`, by rule (zero counts absent).
    fn violations(&self, file: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut pairs = HashSet::new();
        for row in read_rows(&self.dir, file) {
            match file {
                "study_sessions.csv" => self.session_rules(&row, &mut out),
                "course_progress.csv" => self.progress_rules(&row, &mut pairs, &mut out),
                "recordings.csv" => {
                    let speaker = opt_int(&row, "speaker_id").unwrap();
                    tally(
                        &mut out,
                        "unknown_speaker",
                        !self.speakers.contains(&speaker),
                    );
                    let upload = opt_int(&row, "upload_id");
                    let orphan = upload.is_some_and(|u| !self.uploads.contains(&u));
                    tally(&mut out, "unknown_upload", orphan);
                }
                "uploads.csv" => {
                    let user = opt_int(&row, "user_id").unwrap();
                    tally(&mut out, "unknown_user", !self.users.contains(&user));
                }
                _ => {}
            }
        }
        out
    }

    fn session_rules(&self, row: &Row, out: &mut BTreeMap<String, u64>) {
        let duration = opt_int(row, "duration_minutes").unwrap();
        tally(out, "negative_duration", duration < 0);
        let start = opt_instant(row, "start_time").unwrap();
        let end_before = opt_instant(row, "end_time").is_some_and(|end| end < start);
        tally(out, "end_before_start", end_before);
        let rating = opt_int(row, "effectiveness_rating");
        tally(
            out,
            "rating_out_of_range",
            rating.is_some_and(|r| !(1..=5).contains(&r)),
        );
        let focus = opt_f64(row, "focus_score");
        let bad_focus = focus.is_some_and(|f| !(0.0..=100.0).contains(&f));
        tally(out, "focus_out_of_range", bad_focus);
        let user = opt_int(row, "user_id").unwrap();
        tally(out, "unknown_user", !self.users.contains(&user));
        let course = opt_int(row, "course_id");
        tally(
            out,
            "unknown_course",
            course.is_some_and(|c| !self.courses.contains(&c)),
        );
    }

    fn progress_rules(
        &self,
        row: &Row,
        pairs: &mut HashSet<(i64, i64)>,
        out: &mut BTreeMap<String, u64>,
    ) {
        let user = opt_int(row, "user_id").unwrap();
        let course = opt_int(row, "course_id").unwrap();
        tally(out, "unknown_user", !self.users.contains(&user));
        tally(out, "unknown_course", !self.courses.contains(&course));
        tally(out, "duplicate_progress", !pairs.insert((user, course)));
        // data-format.md: proficiency_level is 0..=5 (none out of range in the sample).
        let level = opt_f64(row, "proficiency_level").unwrap();
        tally(
            out,
            "proficiency_out_of_range",
            !(0.0..=5.0).contains(&level),
        );
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn sample_rows_all_land_in_the_database() {
    let (_db, store) = fresh_store();
    let report = import(&store, &common::sample_dir());
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    for (table, file) in TABLES {
        let rows = read_rows(&common::sample_dir(), file);
        assert!(!rows.is_empty(), "{file} has data rows");
        if table != "ip_regions" {
            // Upserts by id: the row count only matches if ids are unique.
            assert_eq!(ids(&rows).len(), rows.len(), "{file}: ids are unique");
        }
        assert_eq!(count(&store, table), rows.len() as i64, "{table}");
    }
}

/// Imports `dir` and checks each file's violation counts against those
/// computed here from the CSV files; returns the total.
fn check_violations(dir: &Path) -> u64 {
    let (_db, store) = fresh_store();
    let report = import(&store, dir);
    let sample = Sample::load(dir);
    let mut total = 0;
    for file in [
        "study_sessions.csv",
        "course_progress.csv",
        "recordings.csv",
        "uploads.csv",
    ] {
        let expected = sample.violations(file);
        total += expected.values().sum::<u64>();
        let found = report.files.iter().find(|f| f.file == file).unwrap();
        let actual: BTreeMap<String, u64> = found
            .violations
            .iter()
            .map(|(rule, n)| (rule.to_string(), *n))
            .collect();
        assert_eq!(actual, expected, "{file}");
    }
    total
}

#[test]
fn sample_violations_are_counted_per_rule() {
    assert!(
        check_violations(&common::sample_dir()) > 0,
        "the sample is dirty on purpose"
    );
}

#[test]
fn orphan_uploads_and_recordings_are_counted() {
    // The sample has no orphan upload and no upload by an unknown user.
    let (_tmp, dir) = sample_copy();
    set_field(&dir, "recordings.csv", 2, "upload_id", "9999");
    set_field(&dir, "uploads.csv", 3, "user_id", "9999");
    set_field(&dir, "course_progress.csv", 4, "proficiency_level", "7.5");
    let sample = Sample::load(&dir);
    assert_eq!(
        sample.violations("recordings.csv").get("unknown_upload"),
        Some(&1)
    );
    assert_eq!(
        sample.violations("uploads.csv").get("unknown_user"),
        Some(&1)
    );
    check_violations(&dir);
}

#[test]
fn importing_twice_changes_nothing() {
    let (_db, store) = fresh_store();
    import(&store, &common::sample_dir());
    let first = dump_all(&store);
    let writes_first = writes(&store);
    assert!(writes_first > 0);
    import(&store, &common::sample_dir());
    assert_eq!(dump_all(&store), first);
    assert_eq!(writes(&store), writes_first, "identical rows are no-ops");
}

#[test]
fn bad_timestamp_rejects_only_its_row() {
    let (_db, store, report) = import_with_start_time("2026-13-45");
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    let err = &report.rejected[0];
    assert_eq!(
        (err.file.as_str(), err.line, err.column.as_str()),
        ("study_sessions.csv", 5, "start_time")
    );
    assert!(
        err.to_string()
            .starts_with("study_sessions.csv:5: start_time: "),
        "{err}"
    );
    let rows = read_rows(&common::sample_dir(), "study_sessions.csv").len() as i64;
    assert_eq!(count(&store, "study_sessions"), rows - 1);
    let conn = store.conn().unwrap();
    let line5: i64 = conn
        .query_value("SELECT COUNT(*) FROM study_sessions WHERE id = 4", &[])
        .unwrap();
    assert_eq!(line5, 0, "the row on line 5 (id 4) is not loaded");
}

/// A `--strict` import of `dir` fails on exactly one row, reported as `place`.
fn strict_import_rejects_one(store: &Store, dir: &Path, place: &str) {
    let options = ImportOptions {
        strict: true,
        ..Default::default()
    };
    let err = import_dir(store, dir, &options).unwrap_err();
    assert!(
        matches!(err, ImportError::Strict { count: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(place), "{err}");
}

#[test]
fn bad_timestamp_in_strict_mode_writes_nothing() {
    let (_tmp, dir) = sample_copy();
    set_field(&dir, "study_sessions.csv", 5, "start_time", "2026-13-45");
    let (_db, store) = fresh_store();
    strict_import_rejects_one(&store, &dir, "study_sessions.csv:5: start_time");
    assert_all_empty(&store);
}

#[test]
fn timestamps_need_time_and_offset() {
    for value in ["2026-01-01", "2026-01-01T10:00:00"] {
        let (_db, _store, report) = import_with_start_time(value);
        let found: Vec<String> = report.rejected.iter().map(|e| e.to_string()).collect();
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert!(
            found[0].starts_with("study_sessions.csv:5: start_time: "),
            "{value}: {found:?}"
        );
    }
    // The control: lowercase `t`/`z` and a fraction are RFC 3339 too.
    let (_db, store, report) = import_with_start_time("2026-01-01t10:00:00.5z");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let conn = store.conn().unwrap();
    let start: i64 = conn
        .query_value("SELECT start_time FROM study_sessions WHERE id = 4", &[])
        .unwrap();
    let expected = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.5Z").unwrap();
    assert_eq!(start, expected.timestamp_micros());
}

#[test]
fn missing_required_column_is_an_error_and_writes_nothing() {
    let (_tmp, dir) = sample_copy();
    let mut pos = None;
    rewrite(&dir, "study_sessions.csv", |i, mut record| {
        if i == 0 {
            pos = record.iter().position(|c| c == "duration_minutes");
        }
        record.remove(pos.unwrap());
        record
    });
    let (_db, store) = fresh_store();
    let err = import_dir(&store, &dir, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::MissingColumn { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("study_sessions.csv") && msg.contains("duration_minutes"),
        "{msg}"
    );
    assert_all_empty(&store);
}

#[test]
fn unknown_column_is_ignored_with_a_warning() {
    let (_tmp, dir) = sample_copy();
    rewrite(&dir, "courses.csv", |i, mut record| {
        record.push(if i == 0 { "mood" } else { "happy" }.to_string());
        record
    });
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let warning = &report.warnings[0];
    assert!(
        warning.contains("courses.csv") && warning.contains("mood"),
        "{warning}"
    );
    let (_db2, plain) = fresh_store();
    import(&plain, &common::sample_dir());
    assert_eq!(dump_all(&store), dump_all(&plain));
}

#[test]
fn column_order_and_bom_do_not_matter() {
    let (_db, plain) = fresh_store();
    import(&plain, &common::sample_dir());
    let expected = dump_all(&plain);

    let (_tmp, reversed) = sample_copy();
    for (_, file) in TABLES {
        rewrite(&reversed, file, |_, record| {
            record.into_iter().rev().collect()
        });
    }
    let (_db2, store) = fresh_store();
    let report = import(&store, &reversed);
    assert!(report.warnings.is_empty() && report.rejected.is_empty());
    assert_eq!(dump_all(&store), expected, "columns in reverse order");

    let (_tmp2, bom) = sample_copy();
    for (_, file) in TABLES {
        let text = std::fs::read(bom.join(file)).unwrap();
        std::fs::write(bom.join(file), [b"\xEF\xBB\xBF".as_slice(), &text].concat()).unwrap();
    }
    let (_db3, store) = fresh_store();
    let report = import(&store, &bom);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(dump_all(&store), expected, "UTF-8 BOM");
}

// ------------------------------------------------ bounds where values enter

#[test]
fn huge_duration_is_rejected_naming_file_line_and_column() {
    let message = assert_only_row_rejected(
        "study_sessions.csv",
        5,
        "duration_minutes",
        "9223372036854775807",
    );
    assert!(message.contains("9223372036854775807"), "{message}");
    // The control: a negative legacy duration within a week is dirty, not
    // absurd; it loads and is counted as a business-rule violation.
    let (_tmp, dir) = sample_copy();
    set_field(&dir, "study_sessions.csv", 5, "duration_minutes", "-600");
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    check_violations(&dir);
}

#[test]
fn sessions_before_1970_or_after_2100_are_rejected() {
    for value in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        let (_db, store, report) = import_with_start_time(value);
        assert_eq!(
            rejected_at(&report),
            [(
                "study_sessions.csv".to_string(),
                5,
                "start_time".to_string()
            )],
            "{value}"
        );
        let rows = read_rows(&common::sample_dir(), "study_sessions.csv").len() as i64;
        assert_eq!(count(&store, "study_sessions"), rows - 1, "{value}");
    }
}

#[test]
fn ip_region_latitude_out_of_range_is_rejected() {
    assert_only_row_rejected("ip_regions.csv", 2, "latitude", "1e6");
}

#[test]
fn upload_longitude_out_of_range_is_rejected() {
    assert_only_row_rejected("uploads.csv", 3, "longitude", "200");
}

#[test]
fn speaker_ids_below_one_are_rejected() {
    let (_tmp, dir) = sample_copy();
    set_field(&dir, "speakers.csv", 2, "id", "0");
    set_field(&dir, "speakers.csv", 3, "id", "-3");
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    let speakers = "speakers.csv".to_string();
    assert_eq!(
        rejected_at(&report),
        [
            (speakers.clone(), 2, "id".to_string()),
            (speakers, 3, "id".to_string())
        ]
    );
    let rows = read_rows(&common::sample_dir(), "speakers.csv").len() as i64;
    assert_eq!(count(&store, "speakers"), rows - 2);
    let conn = store.conn().unwrap();
    let low: i64 = conn
        .query_value("SELECT COUNT(*) FROM speakers WHERE id < 1", &[])
        .unwrap();
    assert_eq!(low, 0);
}

#[test]
fn out_of_bounds_row_in_strict_mode_writes_nothing() {
    let (_db, store) = fresh_store();
    import(&store, &common::sample_dir());
    let before = dump_all(&store);
    let counts: Vec<i64> = TABLES.iter().map(|(t, _)| count(&store, t)).collect();
    let writes_before = writes(&store);

    let (_tmp, dir) = sample_copy();
    // A change that would be written if the import went through.
    set_field(&dir, "courses.csv", 2, "name", "Renamed");
    set_field(&dir, "uploads.csv", 3, "longitude", "200");
    strict_import_rejects_one(&store, &dir, "uploads.csv:3: longitude");
    let after: Vec<i64> = TABLES.iter().map(|(t, _)| count(&store, t)).collect();
    assert_eq!(after, counts);
    assert_eq!(dump_all(&store), before);
    assert_eq!(writes(&store), writes_before);
}

#[test]
fn invalid_utf8_rejects_only_its_row() {
    let (_tmp, dir) = sample_copy();
    // courses.csv line 3 is `2,Course 2,...` (lines end with CRLF).
    replace_bytes(&dir, "courses.csv", b"Course 2,", b"Course \xff\xfe,");
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert_eq!(
        rejected_at(&report),
        [("courses.csv".to_string(), 3, "name".to_string())]
    );
    let message = report.rejected[0].to_string();
    assert!(message.contains("not valid UTF-8"), "{message}");
    let rows = read_rows(&common::sample_dir(), "courses.csv").len() as i64;
    assert_eq!(count(&store, "courses"), rows - 1);
    let conn = store.conn().unwrap();
    let course2: i64 = conn
        .query_value("SELECT COUNT(*) FROM courses WHERE id = 2", &[])
        .unwrap();
    assert_eq!(course2, 0, "the row on line 3 (id 2) is not loaded");
    // The files after it load as usual.
    let sessions = read_rows(&common::sample_dir(), "study_sessions.csv").len() as i64;
    assert_eq!(count(&store, "study_sessions"), sessions);
}

#[test]
fn crlf_and_blank_lines_do_not_shift_reported_lines() {
    // The sample's files end their lines with CRLF, as files saved on
    // Windows do; line 3 is blank and the bad row is on line 4.
    let tmp = common::temp_dir();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let created = "2025-01-01T00:00:00Z";
    let text = format!(
        "id,code,gender,birth_year,category,diagnosis,created_at\r\n\
         1,SPK-1,F,1950,patient,,{created}\r\n\
         \r\n\
         0,SPK-0,F,1950,patient,,{created}\r\n\
         2,SPK-2,F,1950,patient,,{created}\r\n"
    );
    std::fs::write(dir.join("speakers.csv"), text).unwrap();
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert_eq!(
        rejected_at(&report),
        [("speakers.csv".to_string(), 4, "id".to_string())]
    );
    assert_eq!(count(&store, "speakers"), 2);
}

#[test]
fn duplicated_header_column_is_an_error_and_writes_nothing() {
    let (_tmp, dir) = sample_copy();
    // The last file loaded, so that a late check would have written the rest.
    rewrite(&dir, "study_sessions.csv", |i, mut record| {
        record.push(if i == 0 { "user_id" } else { "1" }.to_string());
        record
    });
    let (_db, store) = fresh_store();
    let err = import_dir(&store, &dir, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&err, ImportError::DuplicateColumn { file, column }
            if file == "study_sessions.csv" && column == "user_id"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("study_sessions.csv") && msg.contains("user_id"),
        "{msg}"
    );
    assert_all_empty(&store);
}

#[test]
fn speaker_code_used_twice_in_a_file_rejects_the_second() {
    let (_tmp, dir) = sample_copy();
    set_field(&dir, "speakers.csv", 4, "code", "SPK-00001");
    let (_db, store) = fresh_store();
    let report = import(&store, &dir);
    assert_eq!(
        rejected_at(&report),
        [("speakers.csv".to_string(), 4, "code".to_string())]
    );
    let message = report.rejected[0].to_string();
    assert!(
        message.starts_with("speakers.csv:4: code: ")
            && message.contains("already used by speaker 1"),
        "{message}"
    );
    let codes = speaker_codes(&store);
    assert_eq!(codes[&1], "SPK-00001");
    assert!(!codes.contains_key(&3), "speaker 3 (line 4) is not loaded");
}

#[test]
fn speaker_code_already_in_the_database_is_rejected() {
    let (_db, store) = fresh_store();
    import(&store, &common::sample_dir());
    let created = "2025-01-01T00:00:00Z";
    let (_tmp, dir) = speakers_only(&[
        // The same speaker, the same code: an upsert, not a clash.
        &format!("1,SPK-00001,F,2004,elderly,,{created}"),
        // Another speaker with speaker 1's code.
        &format!("99,SPK-00001,M,1950,patient,,{created}"),
        // Speaker 2 takes a new code, which frees its old one ...
        &format!("2,SPK-NEW,M,1940,patient,,{created}"),
        // ... for a new speaker.
        &format!("100,SPK-00002,F,1960,patient,,{created}"),
    ]);
    let report = import(&store, &dir);
    assert_eq!(
        rejected_at(&report),
        [("speakers.csv".to_string(), 3, "code".to_string())],
        "{:?}",
        report.rejected
    );
    assert!(
        report.rejected[0]
            .to_string()
            .contains("already used by speaker 1"),
        "{}",
        report.rejected[0]
    );
    let codes = speaker_codes(&store);
    assert!(!codes.contains_key(&99));
    assert_eq!(codes[&2], "SPK-NEW");
    assert_eq!(codes[&100], "SPK-00002");
    let mut unique: Vec<&String> = codes.values().collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "codes are unique: {codes:?}");
}

#[test]
fn old_database_is_upgraded_and_keeps_its_rows() {
    let tmp = common::temp_dir();
    let path = tmp.path().join("voxdash.db");
    let row = (7_i64, "SPK-0007".to_string(), 1_700_000_000_123_456_i64);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        migrate(&mut conn, &path, 1).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        conn.execute(
            "INSERT INTO speakers (id, code, gender, birth_year, category, diagnosis, created_at)
             VALUES (?1, ?2, 'F', 1950, 'patient', '성대 결절', ?3)",
            rusqlite::params![row.0, row.1, row.2],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let conn = store.conn().unwrap();
    let version: i64 = conn.query_value("PRAGMA user_version", &[]).unwrap();
    assert_eq!(version, schema::latest_version());
    let kept = conn
        .query_opt("SELECT id, code, created_at FROM speakers", &[])
        .unwrap()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .unwrap();
    assert_eq!(kept, row);
    for table in ["write_counters", "api_tokens", "web_sessions", "job_runs"] {
        let n: i64 = conn
            .query_value(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                &[Value::from(table)],
            )
            .unwrap();
        assert_eq!(n, 1, "table {table} exists after the upgrade");
    }
}

#[test]
fn newer_database_is_refused() {
    let tmp = common::temp_dir();
    let path = tmp.path().join("voxdash.db");
    let too_new = schema::latest_version() + 1;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", too_new).unwrap();
    }
    let err = Store::open(&path).err().expect("a newer schema is refused");
    assert!(
        matches!(err, StoreError::TooNew { found, supported, .. }
            if found == too_new && supported == schema::latest_version()),
        "{err:?}"
    );
    // The path may hold digits itself; look at the rest of the message.
    let msg = err.to_string().replace(&path.display().to_string(), "");
    assert!(msg.contains(&too_new.to_string()), "{msg}");
    assert!(msg.contains(&schema::latest_version().to_string()), "{msg}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, too_new, "the file is left as it was");
}
