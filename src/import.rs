//! `voxdash import DIR`: loads a folder of CSV files in the format of
//! `data-format.md` into the store — columns by header name, upsert by id,
//! format errors as `file:line: column: reason`, dirty legacy rows loaded and
//! counted by business rule, `--strict` all-or-nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::clock::parse_instant;
use crate::rules::{self, Violation};
use crate::store::{Store, StoreError};

/// The type of a column of the import format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Text,
    Timestamp,
    Bool,
    Gender,
    Cidr,
}

/// The sanity bound (from [`rules`]) a parsed value must be within; a value
/// outside rejects its row like any other format error.
#[derive(Clone, Copy)]
enum Bound {
    /// Nothing beyond the kind itself (booleans, genders, networks).
    Unbounded,
    /// A bound on an integer (or a timestamp, in µs since the epoch).
    Int(fn(&'static str, i64) -> Result<i64, Violation>),
    /// A bound on a number.
    Float(fn(&'static str, f64) -> Result<f64, Violation>),
    /// A bound on a text.
    Text(fn(&'static str, &str) -> Result<(), Violation>),
}

struct Column {
    name: &'static str,
    kind: Kind,
    required: bool,
    bound: Bound,
}

/// A column; timestamps are bounded by [`rules::instant`] and texts by
/// [`rules::text`] from the start, integers and numbers are given their
/// bound with [`Column::int`] / [`Column::float`].
const fn col(name: &'static str, kind: Kind, required: bool) -> Column {
    let bound = match kind {
        Timestamp => Bound::Int(rules::instant),
        Text => Bound::Text(rules::text),
        Int | Float | Bool | Gender | Cidr => Bound::Unbounded,
    };
    Column {
        name,
        kind,
        required,
        bound,
    }
}

impl Column {
    /// This integer column, bounded by `check`.
    const fn int(self, check: fn(&'static str, i64) -> Result<i64, Violation>) -> Column {
        Column {
            bound: Bound::Int(check),
            ..self
        }
    }

    /// This number column, bounded by `check`.
    const fn float(self, check: fn(&'static str, f64) -> Result<f64, Violation>) -> Column {
        Column {
            bound: Bound::Float(check),
            ..self
        }
    }

    /// Checks a parsed value against the column's bound (NULL is always in).
    fn check(&self, value: &Value) -> Result<(), Violation> {
        match (self.bound, value) {
            (Bound::Int(check), Value::Integer(i)) => check(self.name, *i).map(drop),
            (Bound::Float(check), Value::Real(f)) => check(self.name, *f).map(drop),
            (Bound::Text(check), Value::Text(t)) => check(self.name, t),
            _ => Ok(()),
        }
    }
}

/// One file of the format and the table it fills.
struct TableSpec {
    file: &'static str,
    table: &'static str,
    columns: &'static [Column],
}

use Kind::*;

/// Files in the order they are loaded (referenced tables first). Every
/// integer and number column names its bound from [`rules`], shared with the
/// write API (a unit test checks none is forgotten).
const TABLES: &[TableSpec] = &[
    TableSpec {
        file: "users.csv",
        table: "users",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("username", Text, true),
            col("display_name", Text, false),
            col("is_staff", Bool, true),
            col("created_at", Timestamp, true),
            col("last_active_at", Timestamp, false),
            col("region", Text, false),
        ],
    },
    TableSpec {
        file: "speakers.csv",
        table: "speakers",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("code", Text, true),
            col("gender", Gender, true),
            col("birth_year", Int, false).int(rules::birth_year),
            col("category", Text, true),
            col("diagnosis", Text, false),
            col("created_at", Timestamp, true),
        ],
    },
    TableSpec {
        file: "courses.csv",
        table: "courses",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("name", Text, true),
            col("subject", Text, true),
        ],
    },
    TableSpec {
        file: "uploads.csv",
        table: "uploads",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("user_id", Int, true).int(rules::id),
            col("uploaded_at", Timestamp, true),
            col("ip", Text, false),
            col("latitude", Float, false).float(rules::latitude),
            col("longitude", Float, false).float(rules::longitude),
            col("region", Text, false),
        ],
    },
    TableSpec {
        file: "recordings.csv",
        table: "recordings",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("speaker_id", Int, true).int(rules::id),
            col("upload_id", Int, false).int(rules::id),
            col("file_name", Text, true),
            col("recorded_at", Timestamp, true),
            col("duration_s", Float, true).float(rules::recording_seconds),
            col("sample_rate", Int, false).int(rules::sample_rate),
            col("snr_db", Float, false).float(rules::snr_db),
        ],
    },
    TableSpec {
        file: "ip_regions.csv",
        table: "ip_regions",
        columns: &[
            col("cidr", Cidr, true),
            col("region", Text, true),
            col("latitude", Float, false).float(rules::latitude),
            col("longitude", Float, false).float(rules::longitude),
        ],
    },
    TableSpec {
        file: "study_sessions.csv",
        table: "study_sessions",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("user_id", Int, true).int(rules::id),
            col("course_id", Int, false).int(rules::id),
            col("subject_category", Text, false),
            col("start_time", Timestamp, true),
            col("end_time", Timestamp, false),
            // Negative legacy durations (down to minus a week) still load and
            // are counted as `negative_duration`.
            col("duration_minutes", Int, true).int(rules::session_minutes),
            // Ratings outside 1..=5 and focus scores outside 0..=100 load and
            // are counted; the bounds only refuse absurd values.
            col("effectiveness_rating", Int, false).int(rules::rating),
            col("focus_score", Float, false).float(rules::focus_score),
            col("learning_environment", Text, false),
            col("device_type", Text, false),
            col("is_active", Bool, true),
        ],
    },
    TableSpec {
        file: "course_progress.csv",
        table: "course_progress",
        columns: &[
            col("id", Int, true).int(rules::id),
            col("user_id", Int, true).int(rules::id),
            col("course_id", Int, true).int(rules::id),
            // Levels above 5 (up to the bound) load and are counted as
            // `proficiency_out_of_range`.
            col("proficiency_level", Float, true).float(rules::hours),
            col("learning_hours_total", Float, true).float(rules::hours),
            col("learning_hours_week", Float, true).float(rules::hours),
            col("completed_at", Timestamp, false),
            col("updated_at", Timestamp, true),
        ],
    },
];

/// The import file names, in load order (used by `demo` to write the same set).
pub fn file_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.file)
}

/// A row rejected for breaking the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The file name (e.g. `study_sessions.csv`).
    pub file: String,
    /// 1-based line of the row in the file.
    pub line: u64,
    /// The column at fault.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

/// Why an import failed as a whole (nothing written in strict mode).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The folder or a file cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The folder holds none of the format's files.
    #[error("{0}: no import files found (expected some of: users.csv, speakers.csv, ...)")]
    NoFiles(PathBuf),
    /// A required column is missing from a header.
    #[error("{file}: missing required column {column:?}")]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: String,
    },
    /// A header names the same column twice.
    #[error("{file}: column {column:?} appears more than once in the header")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The column.
        column: String,
    },
    /// The CSV itself is malformed (unbalanced quotes, a header that is not
    /// UTF-8, ...).
    #[error("{file}:{line}: {reason}")]
    Csv {
        /// The file.
        file: String,
        /// Line of the fault.
        line: u64,
        /// The parser's message.
        reason: String,
    },
    /// `--strict` and at least one row was rejected: nothing was written.
    #[error("{first} ({count} row(s) rejected; --strict: nothing was imported)")]
    Strict {
        /// The first rejected row.
        first: RowError,
        /// How many rows were rejected in all.
        count: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Abort with nothing written if any row is rejected.
    pub strict: bool,
    /// Draw a progress bar (only when stderr is a terminal).
    pub progress: bool,
}

/// What one file contributed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// The file name.
    pub file: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows written (inserted or replaced).
    pub rows_loaded: u64,
    /// Rows rejected for their format.
    pub rows_rejected: u64,
    /// Rows loaded that break a business rule, by rule.
    pub violations: BTreeMap<&'static str, u64>,
}

/// The summary of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// One entry per file found, in load order.
    pub files: Vec<FileReport>,
    /// Every rejected row.
    pub rejected: Vec<RowError>,
    /// Unknown columns and other non-fatal remarks.
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// Total business-rule violations by rule, over all files.
    pub fn violations(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for f in &self.files {
            for (rule, n) in &f.violations {
                *out.entry(format!("{}: {rule}", f.file)).or_insert(0) += n;
            }
        }
        out
    }

    /// The summary table printed at the end of `voxdash import`.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{:<22} {:>10} {:>10} {:>9}\n",
            "file", "read", "loaded", "rejected"
        );
        for f in &self.files {
            s += &format!(
                "{:<22} {:>10} {:>10} {:>9}\n",
                f.file, f.rows_read, f.rows_loaded, f.rows_rejected
            );
        }
        let violations = self.violations();
        if !violations.is_empty() {
            s += "\nloaded rows that break a business rule (cleanup deals with them):\n";
            for (rule, n) in violations {
                s += &format!("  {rule:<44} {n:>8}\n");
            }
        }
        s
    }
}

/// A parsed CSV header: for each column of the spec, its index in the file.
struct Header {
    positions: Vec<Option<usize>>,
}

fn open_reader(path: &Path) -> Result<csv::Reader<BufReader<File>>, ImportError> {
    let file = File::open(path).map_err(|e| ImportError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(BufReader::with_capacity(1 << 20, file)))
}

fn read_header(
    spec: &TableSpec,
    reader: &mut csv::Reader<BufReader<File>>,
    warnings: &mut Vec<String>,
) -> Result<Header, ImportError> {
    let headers = reader.headers().map_err(|e| ImportError::Csv {
        file: spec.file.into(),
        line: 1,
        reason: e.to_string(),
    })?;
    let names: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            };
            h.trim().to_string()
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(ImportError::DuplicateColumn {
                file: spec.file.into(),
                column: name.clone(),
            });
        }
    }
    let mut positions = Vec::with_capacity(spec.columns.len());
    for column in spec.columns {
        let pos = names.iter().position(|n| n == column.name);
        if pos.is_none() && column.required {
            return Err(ImportError::MissingColumn {
                file: spec.file.into(),
                column: column.name.into(),
            });
        }
        positions.push(pos);
    }
    for name in &names {
        if !spec.columns.iter().any(|c| c.name == name) {
            warnings.push(format!("{}: unknown column {name:?} ignored", spec.file));
        }
    }
    Ok(Header { positions })
}

/// Parses a field by its column's kind and checks it against the column's
/// bound; the error is the reason the row is rejected.
fn parse_field(column: &Column, raw: Option<&str>) -> Result<Value, String> {
    let value = parse_kind(column, raw)?;
    column.check(&value).map_err(|v| v.reason)?;
    Ok(value)
}

fn parse_kind(column: &Column, raw: Option<&str>) -> Result<Value, String> {
    let text = raw.unwrap_or("");
    if text.is_empty() {
        return if column.required {
            Err("missing required value".into())
        } else {
            Ok(Value::Null)
        };
    }
    match column.kind {
        Text => Ok(Value::Text(text.to_string())),
        Int => text
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("{text:?} is not an integer")),
        Float => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Value::Real(v)),
            _ => Err(format!("{text:?} is not a number")),
        },
        Timestamp => parse_instant(text.trim())
            .map(Value::Integer)
            .ok_or_else(|| format!("{text:?} is not an RFC 3339 timestamp with an offset")),
        Bool => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Value::Integer(1)),
            "0" | "false" => Ok(Value::Integer(0)),
            _ => Err(format!("{text:?} is not a boolean (1/0/true/false)")),
        },
        Gender => match text {
            "M" | "F" | "U" => Ok(Value::Text(text.to_string())),
            _ => Err(format!("{text:?} is not a gender (M, F or U)")),
        },
        Cidr => text
            .trim()
            .parse::<ipnet::IpNet>()
            .map(|_| Value::Text(text.trim().to_string()))
            .map_err(|_| format!("{text:?} is not an IP network (e.g. 10.0.0.0/16)")),
    }
}

/// Ids already in the store that business rules refer to.
#[derive(Default)]
struct Known {
    users: HashSet<i64>,
    speakers: HashSet<i64>,
    uploads: HashSet<i64>,
    courses: HashSet<i64>,
    progress_pairs: HashMap<(i64, i64), u32>,
    /// Speaker codes (unique per speaker) in the store and loaded so far.
    speaker_codes: SpeakerCodes,
}

/// Which speaker holds each code, and each speaker's code, so that a code
/// already used by another speaker rejects the row (no query per row).
#[derive(Default)]
struct SpeakerCodes {
    owner: HashMap<String, i64>,
    code: HashMap<i64, String>,
}

impl SpeakerCodes {
    fn load(conn: &Connection) -> rusqlite::Result<SpeakerCodes> {
        let mut codes = SpeakerCodes::default();
        // Lowest id first: if the store already holds a duplicate, the
        // first speaker keeps the code.
        let mut stmt = conn.prepare("SELECT id, code FROM speakers ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, code): (i64, String) = (row.get(0)?, row.get(1)?);
            codes.owner.entry(code.clone()).or_insert(id);
            codes.code.insert(id, code);
        }
        Ok(codes)
    }

    /// The other speaker already using `code`, if any.
    fn taken_by(&self, id: i64, code: &str) -> Option<i64> {
        self.owner.get(code).copied().filter(|owner| *owner != id)
    }

    /// Records that speaker `id` now has `code` (its old code is freed).
    fn set(&mut self, id: i64, code: &str) {
        if let Some(old) = self.code.insert(id, code.to_string()) {
            if old != code && self.owner.get(&old) == Some(&id) {
                self.owner.remove(&old);
            }
        }
        self.owner.insert(code.to_string(), id);
    }
}

fn ids(conn: &Connection, table: &str) -> rusqlite::Result<HashSet<i64>> {
    let mut stmt = conn.prepare(&format!("SELECT id FROM {table}"))?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

fn real(v: &Value) -> Option<f64> {
    match v {
        Value::Real(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Business rules of a loaded row; returns the names of those it breaks.
fn violations(table: &str, v: &[Value], known: &mut Known) -> Vec<&'static str> {
    let mut out = Vec::new();
    match table {
        "uploads" if !known.users.contains(&int(&v[1]).unwrap_or(0)) => {
            out.push("unknown_user");
        }
        "recordings" => {
            if !known.speakers.contains(&int(&v[1]).unwrap_or(0)) {
                out.push("unknown_speaker");
            }
            if let Some(upload) = int(&v[2]) {
                if !known.uploads.contains(&upload) {
                    out.push("unknown_upload");
                }
            }
        }
        "study_sessions" => {
            if int(&v[6]).unwrap_or(0) < 0 {
                out.push("negative_duration");
            }
            if let (Some(start), Some(end)) = (int(&v[4]), int(&v[5])) {
                if end < start {
                    out.push("end_before_start");
                }
            }
            if let Some(r) = int(&v[7]) {
                if !(1..=5).contains(&r) {
                    out.push("rating_out_of_range");
                }
            }
            if let Some(f) = real(&v[8]) {
                if !(0.0..=100.0).contains(&f) {
                    out.push("focus_out_of_range");
                }
            }
            if !known.users.contains(&int(&v[1]).unwrap_or(0)) {
                out.push("unknown_user");
            }
            if let Some(course) = int(&v[2]) {
                if !known.courses.contains(&course) {
                    out.push("unknown_course");
                }
            }
        }
        "course_progress" => {
            let (user, course) = (int(&v[1]).unwrap_or(0), int(&v[2]).unwrap_or(0));
            if !known.users.contains(&user) {
                out.push("unknown_user");
            }
            if !known.courses.contains(&course) {
                out.push("unknown_course");
            }
            if let Some(p) = real(&v[3]) {
                if !(0.0..=5.0).contains(&p) {
                    out.push("proficiency_out_of_range");
                }
            }
            let seen = known.progress_pairs.entry((user, course)).or_insert(0);
            *seen += 1;
            if *seen > 1 {
                out.push("duplicate_progress");
            }
        }
        _ => {}
    }
    out
}

fn upsert_sql(spec: &TableSpec) -> String {
    let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    if spec.table == "ip_regions" {
        return format!(
            "INSERT INTO ip_regions (seq, {}) VALUES (?{}, {})",
            names.join(", "),
            names.len() + 1,
            placeholders.join(", ")
        );
    }
    let rest: Vec<&str> = names.iter().copied().filter(|n| *n != "id").collect();
    let set: Vec<String> = rest.iter().map(|n| format!("{n} = excluded.{n}")).collect();
    // Re-importing an identical row is a no-op, so it does not count as a write.
    let old: Vec<String> = rest.iter().map(|n| n.to_string()).collect();
    let new: Vec<String> = rest.iter().map(|n| format!("excluded.{n}")).collect();
    format!(
        "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT(id) DO UPDATE SET {set} \
         WHERE ({old}) IS NOT ({new})",
        t = spec.table,
        cols = names.join(", "),
        vals = placeholders.join(", "),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

/// Imports every file of the format found in `dir` into `store`.
///
/// The import is one transaction: outside strict mode good rows are
/// committed and rejected ones listed in the report; in strict mode it is
/// rolled back at the first rejected row, leaving nothing written.
pub fn import_dir(
    store: &Store,
    dir: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::Io {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let mut report = ImportReport::default();
    // Check every header before writing anything.
    let mut plan = Vec::new();
    for spec in TABLES {
        let path = dir.join(spec.file);
        if !path.exists() {
            continue;
        }
        let mut reader = open_reader(&path)?;
        let header = read_header(spec, &mut reader, &mut report.warnings)?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        plan.push((spec, path, reader, header, size));
    }
    if plan.is_empty() {
        return Err(ImportError::NoFiles(dir.to_path_buf()));
    }
    let total_bytes: u64 = plan.iter().map(|p| p.4).sum();
    let bar = progress_bar(options.progress, total_bytes);

    let conn = store.conn()?;
    let mut known = Known::default();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let tables: Vec<&str> = plan.iter().map(|p| p.0.table).collect();
    let result = (|| -> Result<(), ImportError> {
        // Secondary indexes and write-counting triggers are dropped for the
        // load and rebuilt before the commit (one sort per index instead of
        // a random B-tree insert per row; one counter update per table
        // instead of one per row). DDL is transactional: a rollback
        // restores them, and other processes never see them missing.
        let suspended = suspend_indexes_and_triggers(&conn, &tables)?;
        let mut writes = Writes::default();
        let mut done_bytes = 0u64;
        for (spec, path, reader, header, size) in plan {
            refresh_known(&conn, spec.table, &mut known)?;
            let file_report = load_file(
                &conn,
                spec,
                &path,
                reader,
                &header,
                &mut known,
                options,
                &mut report.rejected,
                &bar,
                done_bytes,
                &mut writes,
            )?;
            done_bytes += size;
            bar.set_position(done_bytes);
            if !bar.is_hidden() {
                bar.println(format!(
                    "{}: {} rows loaded",
                    spec.file, file_report.rows_loaded
                ));
            } else if options.progress {
                eprintln!("{}: {} rows loaded", spec.file, file_report.rows_loaded);
            }
            report.files.push(file_report);
            if options.strict && !report.rejected.is_empty() {
                return Err(ImportError::Strict {
                    first: report.rejected[0].clone(),
                    count: report.rejected.len(),
                });
            }
        }
        for sql in &suspended {
            conn.execute_batch(sql)?;
        }
        writes.record(&conn)?;
        Ok(())
    })();
    bar.finish_and_clear();
    match result {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            Ok(report)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn progress_bar(wanted: bool, total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:20} [{bar:40}] {bytes}/{total_bytes} {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Loads the ids later files refer to, once the files that define them are in.
fn refresh_known(conn: &Connection, table: &str, known: &mut Known) -> rusqlite::Result<()> {
    match table {
        "speakers" => known.speaker_codes = SpeakerCodes::load(conn)?,
        "uploads" => known.users = ids(conn, "users")?,
        "recordings" => {
            known.speakers = ids(conn, "speakers")?;
            known.uploads = ids(conn, "uploads")?;
        }
        "study_sessions" => {
            known.users = ids(conn, "users")?;
            known.courses = ids(conn, "courses")?;
        }
        "course_progress" => {
            known.users = ids(conn, "users")?;
            known.courses = ids(conn, "courses")?;
            known.progress_pairs.clear();
        }
        _ => {}
    }
    Ok(())
}

/// Writes of an import, counted in bulk while the counting triggers are
/// suspended: rows changed per table, and per user for sessions / progress.
#[derive(Default)]
struct Writes {
    tables: HashMap<&'static str, (u64, u64)>,
    users: HashMap<i64, (u64, u64)>,
}

impl Writes {
    fn record(&self, conn: &Connection) -> rusqlite::Result<()> {
        for (table, (changed, deleted)) in &self.tables {
            conn.execute(
                "UPDATE write_counters SET inserts = inserts + ?2, deletes = deletes + ?3 WHERE table_name = ?1",
                rusqlite::params![table, *changed as i64, *deleted as i64],
            )?;
        }
        let mut stmt = conn.prepare(
            "INSERT INTO user_revisions (user_id, sessions, progress) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + ?2, progress = progress + ?3",
        )?;
        for (user, (sessions, progress)) in &self.users {
            stmt.execute(rusqlite::params![user, *sessions as i64, *progress as i64])?;
        }
        Ok(())
    }
}

/// Drops the secondary indexes and triggers of `tables`; returns the SQL
/// that recreates them.
fn suspend_indexes_and_triggers(
    conn: &Connection,
    tables: &[&str],
) -> rusqlite::Result<Vec<String>> {
    let mut saved = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(
            "SELECT type, name, sql FROM sqlite_master
             WHERE type IN ('index', 'trigger') AND tbl_name = ?1 AND sql IS NOT NULL",
        )?;
        let items: Vec<(String, String, String)> = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (kind, name, sql) in items {
            conn.execute_batch(&format!("DROP {} \"{name}\"", kind.to_ascii_uppercase()))?;
            saved.push(sql);
        }
    }
    Ok(saved)
}

#[allow(clippy::too_many_arguments)]
fn load_file(
    conn: &Connection,
    spec: &TableSpec,
    path: &Path,
    mut reader: csv::Reader<BufReader<File>>,
    header: &Header,
    known: &mut Known,
    options: &ImportOptions,
    rejected: &mut Vec<RowError>,
    bar: &indicatif::ProgressBar,
    base_bytes: u64,
    writes: &mut Writes,
) -> Result<FileReport, ImportError> {
    let mut report = FileReport {
        file: spec.file.into(),
        ..Default::default()
    };
    bar.set_message(spec.file);
    if spec.table == "ip_regions" {
        let deleted = conn.execute("DELETE FROM ip_regions", [])?;
        writes.tables.entry(spec.table).or_default().1 += deleted as u64;
    }
    let mut stmt = conn.prepare(&upsert_sql(spec))?;
    let mut lines = Lines { path, file: None };
    // Byte records: a field that is not UTF-8 rejects its row, not the file.
    let mut record = csv::ByteRecord::new();
    let mut values: Vec<Value> = Vec::with_capacity(spec.columns.len() + 1);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = lines.of(e.position());
                let err = RowError {
                    file: spec.file.into(),
                    line,
                    column: "(row)".into(),
                    reason: e.to_string(),
                };
                if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    report.rows_read += 1;
                    report.rows_rejected += 1;
                    rejected.push(err);
                    continue;
                }
                return Err(ImportError::Csv {
                    file: spec.file.into(),
                    line,
                    reason: e.to_string(),
                });
            }
        }
        report.rows_read += 1;
        values.clear();
        let mut bad = None;
        for (column, pos) in spec.columns.iter().zip(&header.positions) {
            let parsed = match pos.and_then(|p| record.get(p)).map(std::str::from_utf8) {
                Some(Err(_)) => Err("not valid UTF-8".to_string()),
                Some(Ok(raw)) => parse_field(column, Some(raw)),
                None => parse_field(column, None),
            };
            match parsed {
                Ok(v) => values.push(v),
                Err(reason) => {
                    bad = Some(RowError {
                        file: spec.file.into(),
                        line: lines.of(record.position()),
                        column: column.name.into(),
                        reason,
                    });
                    break;
                }
            }
        }
        if bad.is_none() && spec.table == "speakers" {
            bad = speaker_code_taken(&values, &known.speaker_codes).map(|reason| RowError {
                file: spec.file.into(),
                line: lines.of(record.position()),
                column: "code".into(),
                reason,
            });
        }
        if let Some(err) = bad {
            report.rows_rejected += 1;
            rejected.push(err);
            if options.strict {
                return Ok(report);
            }
            continue;
        }
        if spec.table == "ip_regions" {
            values.push(Value::Integer(report.rows_read as i64));
        }
        match stmt.execute(rusqlite::params_from_iter(values.iter())) {
            Ok(0) => {}
            Ok(changed) => {
                writes.tables.entry(spec.table).or_default().0 += changed as u64;
                let user = int(&values[1]).unwrap_or(0);
                match spec.table {
                    "study_sessions" => writes.users.entry(user).or_default().0 += 1,
                    "course_progress" => writes.users.entry(user).or_default().1 += 1,
                    _ => {}
                }
            }
            Err(rusqlite::Error::SqliteFailure(e, msg))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                report.rows_rejected += 1;
                rejected.push(RowError {
                    file: spec.file.into(),
                    line: lines.of(record.position()),
                    column: constraint_column(msg.as_deref()),
                    reason: "value already used by another row (must be unique)".into(),
                });
                if options.strict {
                    return Ok(report);
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        report.rows_loaded += 1;
        if spec.table == "speakers" {
            if let (Some(id), Value::Text(code)) = (int(&values[0]), &values[1]) {
                known.speaker_codes.set(id, code);
            }
        }
        for rule in violations(spec.table, &values, known) {
            *report.violations.entry(rule).or_insert(0) += 1;
        }
        if report.rows_read % 65_536 == 0 {
            bar.set_position(base_bytes + record.position().map(|p| p.byte()).unwrap_or(0));
        }
    }
    Ok(report)
}

/// Finds the 1-based line of the file a record starts on, from the position
/// the csv reader gives it. The reader notes that position *before* it
/// consumes the `\n` of a `\r\n` ending the previous record (it stops after
/// the `\r`) and any blank lines, so its line falls one short per such `\n`
/// (BurntSushi/rust-csv#395); the sample files end lines with `\r\n`. The
/// `\r`/`\n` run at the position is read back from the file to correct it;
/// only rows that are reported pay for it.
struct Lines<'a> {
    path: &'a Path,
    /// Opened at the first reported row.
    file: Option<File>,
}

impl Lines<'_> {
    fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        use std::io::{Read, Seek, SeekFrom};
        let Some(position) = position else {
            return 0;
        };
        let mut line = position.line();
        if self.file.is_none() {
            self.file = File::open(self.path).ok();
        }
        let Some(file) = self.file.as_mut() else {
            return line;
        };
        if file.seek(SeekFrom::Start(position.byte())).is_err() {
            return line;
        }
        let mut buf = [0u8; 512];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) | Err(_) => return line,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => return line,
                }
            }
        }
    }
}

/// Why a parsed speakers row may not be loaded: its code already belongs to
/// another speaker (in the store or earlier in the import). The store has no
/// unique index on `code`, so the import keeps the codes itself.
fn speaker_code_taken(values: &[Value], codes: &SpeakerCodes) -> Option<String> {
    let (Some(id), Value::Text(code)) = (int(&values[0]), &values[1]) else {
        return None;
    };
    codes
        .taken_by(id, code)
        .map(|other| format!("{code:?} is already used by speaker {other}"))
}

fn constraint_column(msg: Option<&str>) -> String {
    // SQLite says e.g. "UNIQUE constraint failed: users.username".
    msg.and_then(|m| m.rsplit('.').next())
        .map(str::to_string)
        .unwrap_or_else(|| "(row)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_skips_identical_rows() {
        let sql = upsert_sql(&TABLES[2]);
        assert!(sql.contains("ON CONFLICT(id) DO UPDATE SET name = excluded.name"));
        assert!(sql.contains("IS NOT (excluded.name, excluded.subject)"));
    }

    #[test]
    fn fields_parse_by_kind() {
        let c = col("x", Bool, true);
        assert_eq!(parse_field(&c, Some("TRUE")).unwrap(), Value::Integer(1));
        assert!(parse_field(&c, Some("")).is_err());
        let c = col("x", Float, false);
        assert_eq!(parse_field(&c, Some("")).unwrap(), Value::Null);
        assert!(parse_field(&c, Some("abc"))
            .unwrap_err()
            .contains("not a number"));
        let c = col("t", Timestamp, true);
        assert!(parse_field(&c, Some("2025-01-01")).is_err());
    }

    #[test]
    fn every_number_column_has_a_bound_of_its_kind() {
        for spec in TABLES {
            for c in spec.columns {
                let fits = matches!(
                    (c.kind, c.bound),
                    (Int | Timestamp, Bound::Int(_))
                        | (Float, Bound::Float(_))
                        | (Text, Bound::Text(_))
                        | (Bool | Gender | Cidr, Bound::Unbounded)
                );
                assert!(fits, "{}: {} has no bound of its kind", spec.file, c.name);
            }
        }
    }

    #[test]
    fn fields_outside_their_bound_are_refused() {
        let c = col("id", Int, true).int(rules::id);
        assert_eq!(parse_field(&c, Some("1")).unwrap(), Value::Integer(1));
        assert!(parse_field(&c, Some("0")).is_err());
        let c = col("latitude", Float, false).float(rules::latitude);
        assert_eq!(parse_field(&c, Some("")).unwrap(), Value::Null);
        assert!(parse_field(&c, Some("90.5")).is_err());
        let c = col("start_time", Timestamp, true);
        assert!(parse_field(&c, Some("0001-01-01T00:00:00Z")).is_err());
        assert!(parse_field(&c, Some("1970-01-01T00:00:00Z")).is_ok());
        let c = col("name", Text, true);
        assert!(parse_field(&c, Some("a\u{7}b")).is_err());
        assert!(parse_field(&c, Some(&"x".repeat(rules::MAX_TEXT + 1))).is_err());
    }

    #[test]
    fn a_speaker_code_changed_frees_the_old_one() {
        let mut codes = SpeakerCodes::default();
        codes.set(1, "A");
        assert_eq!(codes.taken_by(2, "A"), Some(1));
        assert_eq!(codes.taken_by(1, "A"), None, "same speaker, same code");
        codes.set(1, "B");
        assert_eq!(codes.taken_by(2, "A"), None);
        assert_eq!(codes.taken_by(2, "B"), Some(1));
    }
}
