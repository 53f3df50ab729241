//! `voxdash import DIR`: loads a folder of CSV files in the format of
//! `docs/import-format.md` into the store — columns by header name, upsert by id,
//! format errors as `file:line: column: reason`, dirty legacy rows loaded and
//! counted by business rule, `--strict` all-or-nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::clock::parse_instant;
use crate::rules::{self, Violation};
use crate::store::import::{self as sql, IdTable, Upserted, WriteCounts};
use crate::store::{Conn, Value};
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
    /// This text column, bounded by `check` instead of [`rules::text`].
    const fn text(self, check: fn(&'static str, &str) -> Result<(), Violation>) -> Column {
        Column {
            bound: Bound::Text(check),
            ..self
        }
    }

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
            col("username", Text, true).text(rules::username),
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
    /// A header has more than [`MAX_COLUMNS`] columns.
    #[error("{file}: the header has {found} columns; at most {MAX_COLUMNS} are read")]
    TooManyColumns {
        /// The file.
        file: String,
        /// Columns in its header.
        found: usize,
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

/// Most columns a header may have; the widest file has a dozen.
pub const MAX_COLUMNS: usize = 256;

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
    if names.len() > MAX_COLUMNS {
        return Err(ImportError::TooManyColumns {
            file: spec.file.into(),
            found: names.len(),
        });
    }
    let mut seen = HashSet::with_capacity(names.len());
    for name in &names {
        if !seen.insert(name.as_str()) {
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
    speaker_codes: UniqueValues,
    /// Usernames by [`rules::username_key`], in the store and loaded so far.
    usernames: UniqueValues,
}

/// Which row holds each value of a column that must be unique, and each
/// row's value, so that a value already used by another row rejects the row
/// (no query per row). Values are compared by their key (a speaker code as
/// it is, a username by [`rules::username_key`]).
#[derive(Default)]
struct UniqueValues {
    owner: HashMap<String, i64>,
    code: HashMap<i64, String>,
}

impl UniqueValues {
    /// The speaker codes of the store.
    fn speaker_codes(conn: &Conn) -> Result<UniqueValues, StoreError> {
        let mut codes = UniqueValues::default();
        // Lowest id first: if the store already holds a duplicate, the
        // first speaker keeps the code.
        sql::for_each_speaker_code(conn, |id, code| {
            codes.owner.entry(code.clone()).or_insert(id);
            codes.code.insert(id, code);
        })?;
        Ok(codes)
    }

    /// The usernames of the store, by key.
    fn usernames(conn: &Conn) -> Result<UniqueValues, StoreError> {
        let mut names = UniqueValues::default();
        sql::for_each_username(conn, |id, name| {
            let key = rules::username_key(&name);
            names.owner.entry(key.clone()).or_insert(id);
            names.code.insert(id, key);
        })?;
        Ok(names)
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
/// Values are found by column name, so the order of a spec's columns does
/// not matter; the bounds on one column are [`rules::RULES`].
fn violations(spec: &TableSpec, v: &[Value], known: &mut Known) -> Vec<&'static str> {
    let at = |column: &str| {
        spec.columns
            .iter()
            .position(|c| c.name == column)
            .and_then(|i| v.get(i))
    };
    let id_of = |column: &str| at(column).and_then(int);
    let mut out: Vec<&'static str> = rules::RULES
        .iter()
        .filter(|r| r.table == spec.table)
        .filter(|r| at(r.column).and_then(real).is_some_and(|x| !r.holds(x)))
        .map(|r| r.name)
        .collect();
    let user_known = || known.users.contains(&id_of("user_id").unwrap_or(0));
    match spec.table {
        "uploads" if !user_known() => out.push("unknown_user"),
        "recordings" => {
            if !known.speakers.contains(&id_of("speaker_id").unwrap_or(0)) {
                out.push("unknown_speaker");
            }
            if id_of("upload_id").is_some_and(|u| !known.uploads.contains(&u)) {
                out.push("unknown_upload");
            }
        }
        "study_sessions" => {
            if let (Some(start), Some(end)) = (id_of("start_time"), id_of("end_time")) {
                if end < start {
                    out.push("end_before_start");
                }
            }
            if !user_known() {
                out.push("unknown_user");
            }
            if id_of("course_id").is_some_and(|c| !known.courses.contains(&c)) {
                out.push("unknown_course");
            }
        }
        "course_progress" => {
            let (user, course) = (
                id_of("user_id").unwrap_or(0),
                id_of("course_id").unwrap_or(0),
            );
            if !user_known() {
                out.push("unknown_user");
            }
            if !known.courses.contains(&course) {
                out.push("unknown_course");
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
    let mut report = ImportReport::default();
    // Check every header before writing anything.
    let plan = plan_files(dir, &mut report.warnings)?;
    let total_bytes: u64 = plan.iter().map(|p| p.size).sum();
    let bar = progress_bar(options.progress, total_bytes);

    let conn = store.conn()?;
    // The whole import is one transaction, committed or rolled back as a
    // whole; it takes the write lock first.
    let tx = conn.write_transaction()?;
    let result = load_all(&tx, plan, options, &bar, &mut report);
    bar.finish_and_clear();
    match result {
        Ok(()) => {
            tx.commit()?;
            Ok(report)
        }
        Err(e) => {
            let _ = tx.rollback();
            Err(e)
        }
    }
}

/// A file of the format found in the folder, its header checked.
struct PlannedFile {
    spec: &'static TableSpec,
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    header: Header,
    /// Bytes, for the progress bar.
    size: u64,
}

/// Opens the files of the format that `dir` holds, in load order, and reads
/// their headers; fails if there is none or a header is wrong.
fn plan_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<PlannedFile>, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::Io {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let mut plan = Vec::new();
    for spec in TABLES {
        let path = dir.join(spec.file);
        if !path.exists() {
            continue;
        }
        let mut reader = open_reader(&path)?;
        let header = read_header(spec, &mut reader, warnings)?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        plan.push(PlannedFile {
            spec,
            path,
            reader,
            header,
            size,
        });
    }
    if plan.is_empty() {
        return Err(ImportError::NoFiles(dir.to_path_buf()));
    }
    Ok(plan)
}

/// Loads the planned files, in order, inside the import's transaction.
fn load_all(
    conn: &Conn,
    plan: Vec<PlannedFile>,
    options: &ImportOptions,
    bar: &indicatif::ProgressBar,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let tables: Vec<&str> = plan.iter().map(|p| p.spec.table).collect();
    // Secondary indexes and write-counting triggers are dropped for the
    // load and rebuilt before the commit (one sort per index instead of
    // a random B-tree insert per row; one counter update per table
    // instead of one per row). DDL is transactional: a rollback
    // restores them, and other processes never see them missing.
    let suspended = sql::suspend_indexes_and_triggers(conn, &tables)?;
    let mut loader = Loader {
        conn,
        options,
        bar,
        known: Known::default(),
        writes: WriteCounts::default(),
        rejected: &mut report.rejected,
    };
    let mut done_bytes = 0u64;
    for file in plan {
        loader.known.refresh(conn, file.spec.table)?;
        let (name, size) = (file.spec.file, file.size);
        let file_report = loader.load_file(file, done_bytes)?;
        done_bytes += size;
        bar.set_position(done_bytes);
        announce(bar, options, name, file_report.rows_loaded);
        report.files.push(file_report);
        if options.strict && !loader.rejected.is_empty() {
            return Err(ImportError::Strict {
                first: loader.rejected[0].clone(),
                count: loader.rejected.len(),
            });
        }
    }
    let counts_writes = suspended.counts_writes();
    suspended.restore(conn)?;
    if counts_writes {
        loader.writes.apply(conn)?;
    }
    // Loaded without their triggers (SQLite), the aggregates are built
    // once, from every row, before the commit.
    crate::store::aggregates::after_load(conn, &tables, counts_writes)?;
    Ok(())
}

/// Says how many rows a file loaded: above the bar when one is drawn, else
/// on stderr when progress was asked for.
fn announce(bar: &indicatif::ProgressBar, options: &ImportOptions, file: &str, rows: u64) {
    if !bar.is_hidden() {
        bar.println(format!("{file}: {rows} rows loaded"));
    } else if options.progress {
        eprintln!("{file}: {rows} rows loaded");
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

impl Known {
    /// Loads the ids later files refer to, once the files that define them are in.
    fn refresh(&mut self, conn: &Conn, table: &str) -> Result<(), StoreError> {
        match table {
            "speakers" => self.speaker_codes = UniqueValues::speaker_codes(conn)?,
            "users" => self.usernames = UniqueValues::usernames(conn)?,
            "uploads" => self.users = sql::ids(conn, IdTable::Users)?,
            "recordings" => {
                self.speakers = sql::ids(conn, IdTable::Speakers)?;
                self.uploads = sql::ids(conn, IdTable::Uploads)?;
            }
            "study_sessions" => {
                self.users = sql::ids(conn, IdTable::Users)?;
                self.courses = sql::ids(conn, IdTable::Courses)?;
            }
            "course_progress" => {
                self.users = sql::ids(conn, IdTable::Users)?;
                self.courses = sql::ids(conn, IdTable::Courses)?;
                self.progress_pairs.clear();
            }
            _ => {}
        }
        Ok(())
    }
}

/// What the files of one import share while they load.
struct Loader<'a> {
    conn: &'a Conn<'a>,
    options: &'a ImportOptions,
    bar: &'a indicatif::ProgressBar,
    /// Ids and codes the business rules check against.
    known: Known,
    /// Writes counted while the counting triggers are suspended.
    writes: WriteCounts,
    /// Every row rejected so far, in any file.
    rejected: &'a mut Vec<RowError>,
}

impl Loader<'_> {
    /// Loads one file; in strict mode it stops at the first rejected row.
    fn load_file(&mut self, file: PlannedFile, base_bytes: u64) -> Result<FileReport, ImportError> {
        let PlannedFile {
            spec,
            path,
            mut reader,
            header,
            ..
        } = file;
        self.bar.set_message(spec.file);
        if spec.table == "ip_regions" {
            let deleted = sql::clear_ip_regions(self.conn)?;
            self.writes.deleted(spec.table, deleted);
        }
        let columns: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let mut load = FileLoad {
            spec,
            header: &header,
            upsert: sql::Upsert::prepare(self.conn, spec.table, &columns)?,
            lines: Lines {
                path: &path,
                file: None,
            },
            // Byte records: a field that is not UTF-8 rejects its row, not the file.
            record: csv::ByteRecord::new(),
            values: Vec::with_capacity(spec.columns.len() + 1),
            report: FileReport {
                file: spec.file.into(),
                ..Default::default()
            },
        };
        while load.next_record(&mut reader, self.rejected)? {
            load.report.rows_read += 1;
            let rejected = match load.parse_row(&self.known) {
                Some(err) => Some(err),
                None => load.write_row(&mut self.writes)?,
            };
            if let Some(err) = rejected {
                load.report.rows_rejected += 1;
                self.rejected.push(err);
                if self.options.strict {
                    return Ok(load.report);
                }
                continue;
            }
            load.loaded(&mut self.known);
            if load.report.rows_read.is_multiple_of(65_536) {
                let byte = load.record.position().map(|p| p.byte()).unwrap_or(0);
                self.bar.set_position(base_bytes + byte);
            }
        }
        load.upsert.finish()?;
        Ok(load.report)
    }
}

/// One file being loaded: its statement, the current record and its parsed
/// values, and what the file contributed so far.
struct FileLoad<'f> {
    spec: &'static TableSpec,
    header: &'f Header,
    upsert: sql::Upsert<'f>,
    lines: Lines<'f>,
    record: csv::ByteRecord,
    values: Vec<Value>,
    report: FileReport,
}

impl FileLoad<'_> {
    /// Reads the next record; `false` at the end of the file. A row with the
    /// wrong number of fields is rejected here (read, not loaded) and
    /// skipped; any other CSV fault fails the import.
    fn next_record(
        &mut self,
        reader: &mut csv::Reader<BufReader<File>>,
        rejected: &mut Vec<RowError>,
    ) -> Result<bool, ImportError> {
        loop {
            let e = match reader.read_byte_record(&mut self.record) {
                Ok(more) => return Ok(more),
                Err(e) => e,
            };
            let line = self.lines.of(e.position());
            if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                return Err(ImportError::Csv {
                    file: self.spec.file.into(),
                    line,
                    reason: e.to_string(),
                });
            }
            self.report.rows_read += 1;
            self.report.rows_rejected += 1;
            rejected.push(RowError {
                file: self.spec.file.into(),
                line,
                column: "(row)".into(),
                reason: e.to_string(),
            });
        }
    }

    /// Parses the record into `values` by the header; the first field at
    /// fault, or a speaker code another speaker holds, rejects the row.
    fn parse_row(&mut self, known: &Known) -> Option<RowError> {
        let (spec, header) = (self.spec, self.header);
        self.values.clear();
        for (column, pos) in spec.columns.iter().zip(&header.positions) {
            let parsed = match pos
                .and_then(|p| self.record.get(p))
                .map(std::str::from_utf8)
            {
                Some(Err(_)) => Err("not valid UTF-8".to_string()),
                Some(Ok(raw)) => parse_field(column, Some(raw)),
                None => parse_field(column, None),
            };
            match parsed {
                Ok(v) => self.values.push(v),
                Err(reason) => return Some(self.row_error(column.name, reason)),
            }
        }
        match spec.table {
            "speakers" => {
                let reason = speaker_code_taken(&self.values, &known.speaker_codes)?;
                Some(self.row_error("code", reason))
            }
            "users" => {
                let reason = username_taken(&self.values, &known.usernames)?;
                Some(self.row_error("username", reason))
            }
            _ => None,
        }
    }

    /// Writes the parsed row and counts the write; a broken constraint
    /// rejects the row.
    fn write_row(&mut self, writes: &mut WriteCounts) -> Result<Option<RowError>, ImportError> {
        let table = self.spec.table;
        if table == "ip_regions" {
            // `seq`: the row's place in the file, the order readers go by.
            self.values
                .push(Value::Integer(self.report.rows_read as i64));
        }
        match self.upsert.execute(&self.values)? {
            Upserted::Unchanged | Upserted::Staged => {}
            Upserted::Changed(n) => {
                writes.changed(table, n);
                let user = int(&self.values[1]).unwrap_or(0);
                match table {
                    "study_sessions" => writes.session_of(user),
                    "course_progress" => writes.progress_of(user),
                    _ => {}
                }
            }
            Upserted::Conflict { column } => {
                let reason = "value already used by another row (must be unique)".into();
                return Ok(Some(self.row_error(&column, reason)));
            }
        }
        Ok(None)
    }

    /// Counts the row just written as loaded: its speaker code is taken
    /// from now on, and the business rules it breaks are counted.
    fn loaded(&mut self, known: &mut Known) {
        self.report.rows_loaded += 1;
        if let (Some(id), Value::Text(value)) = (int(&self.values[0]), &self.values[1]) {
            match self.spec.table {
                "speakers" => known.speaker_codes.set(id, value),
                "users" => known.usernames.set(id, &rules::username_key(value)),
                _ => {}
            }
        }
        for rule in violations(self.spec, &self.values, known) {
            *self.report.violations.entry(rule).or_insert(0) += 1;
        }
    }

    /// The rejection of the current record, at `column`.
    fn row_error(&mut self, column: &str, reason: String) -> RowError {
        RowError {
            file: self.spec.file.into(),
            line: self.lines.of(self.record.position()),
            column: column.into(),
            reason,
        }
    }
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
fn speaker_code_taken(values: &[Value], codes: &UniqueValues) -> Option<String> {
    let (Some(id), Value::Text(code)) = (int(&values[0]), &values[1]) else {
        return None;
    };
    codes
        .taken_by(id, code)
        .map(|other| format!("{code:?} is already used by speaker {other}"))
}

/// Why a parsed users row may not be loaded: another user has the same name
/// but for case or Unicode form.
fn username_taken(values: &[Value], names: &UniqueValues) -> Option<String> {
    let (Some(id), Value::Text(name)) = (int(&values[0]), &values[1]) else {
        return None;
    };
    names
        .taken_by(id, &rules::username_key(name))
        .map(|other| format!("{name:?} is already the name of user {other} (ignoring case)"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut codes = UniqueValues::default();
        codes.set(1, "A");
        assert_eq!(codes.taken_by(2, "A"), Some(1));
        assert_eq!(codes.taken_by(1, "A"), None, "same speaker, same code");
        codes.set(1, "B");
        assert_eq!(codes.taken_by(2, "A"), None);
        assert_eq!(codes.taken_by(2, "B"), Some(1));
    }
}
