//! The list of recordings researchers filter, page through and export as
//! a manifest: which recordings a filter keeps, in which order.

use super::speakers::GROUP_WHERE;
use super::{Conn, Result, Value};

/// Which recordings a list keeps; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingFilter {
    /// Their speaker's group (category, diagnosis, gender; `None` is any;
    /// a missing value is the empty one).
    pub group: [Option<String>; 3],
    /// Their speaker.
    pub speaker: Option<i64>,
    /// Recorded at or after this instant (µs).
    pub from: Option<i64>,
    /// Recorded before this instant (µs).
    pub until: Option<i64>,
    /// SNR at least this (dB); recordings without SNR are left out.
    pub snr_min: Option<f64>,
    /// SNR below this (dB); recordings without SNR are left out.
    pub snr_max: Option<f64>,
}

/// A column a list is sorted by; then by id, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// When it was recorded (the default).
    RecordedAt,
    /// Its id.
    Id,
    /// Its file name.
    FileName,
    /// Its speaker's id.
    SpeakerId,
    /// Its length.
    DurationS,
    /// Its sample rate (none first).
    SampleRate,
    /// Its SNR (none first).
    SnrDb,
}

impl SortColumn {
    /// Every column by its name in the API, in the order of the columns.
    pub const NAMES: [(&'static str, SortColumn); 7] = [
        ("id", SortColumn::Id),
        ("file_name", SortColumn::FileName),
        ("speaker_id", SortColumn::SpeakerId),
        ("recorded_at", SortColumn::RecordedAt),
        ("duration_s", SortColumn::DurationS),
        ("sample_rate", SortColumn::SampleRate),
        ("snr_db", SortColumn::SnrDb),
    ];

    /// The column named `name`.
    pub fn parse(name: &str) -> Option<SortColumn> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    fn sql(self) -> &'static str {
        match self {
            SortColumn::RecordedAt => "r.recorded_at",
            SortColumn::Id => "r.id",
            SortColumn::FileName => "r.file_name",
            SortColumn::SpeakerId => "r.speaker_id",
            SortColumn::DurationS => "r.duration_s",
            SortColumn::SampleRate => "r.sample_rate",
            SortColumn::SnrDb => "r.snr_db",
        }
    }
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: SortColumn,
    /// Largest first.
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            column: SortColumn::RecordedAt,
            descending: false,
        }
    }
}

/// One recording of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRecording {
    /// Recording id.
    pub id: i64,
    /// Its audio file's name.
    pub file_name: String,
    /// Its speaker's id.
    pub speaker_id: i64,
    /// Its speaker's code (`None` for a speaker id with no row).
    pub speaker_code: Option<String>,
    /// When it was recorded (µs since the epoch).
    pub recorded_at: i64,
    /// Its length in seconds.
    pub duration_s: f64,
    /// Its sample rate, when known.
    pub sample_rate: Option<i64>,
    /// Its SNR in dB, when measured.
    pub snr_db: Option<f64>,
}

/// The query of a list: its SQL and arguments (`limit`, `offset` last
/// when given).
fn query(filter: &RecordingFilter, sort: Sort, page: Option<(u64, u64)>) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut conditions = Vec::new();
    if filter.group.iter().any(Option::is_some) {
        // ?1..?3, as the shared clause numbers them.
        args.extend(filter.group.iter().map(|v| Value::from(v.as_deref())));
        conditions.push(GROUP_WHERE.to_string());
    }
    let mut given = |condition: &str, value: Value| {
        args.push(value);
        conditions.push(condition.replace('?', &format!("?{}", args.len())));
    };
    if let Some(speaker) = filter.speaker {
        given("r.speaker_id = ?", Value::from(speaker));
    }
    if let Some(from) = filter.from {
        given("r.recorded_at >= ?", Value::from(from));
    }
    if let Some(until) = filter.until {
        given("r.recorded_at < ?", Value::from(until));
    }
    if let Some(min) = filter.snr_min {
        given("r.snr_db >= ?", Value::from(min));
    }
    if let Some(max) = filter.snr_max {
        given("r.snr_db < ?", Value::from(max));
    }
    let mut sql = String::from(
        "SELECT r.id, r.file_name, r.speaker_id, s.code, r.recorded_at, r.duration_s,
                r.sample_rate, r.snr_db
         FROM recordings r LEFT JOIN speakers s ON s.id = r.speaker_id",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    // None sorts as the smallest value, in both engines; said only for
    // the columns that may be none, so that an index on the others serves
    // the order in PostgreSQL too.
    let direction = if sort.descending { "DESC" } else { "ASC" };
    let nulls = match (sort.column, sort.descending) {
        (SortColumn::SampleRate | SortColumn::SnrDb, false) => " NULLS FIRST",
        (SortColumn::SampleRate | SortColumn::SnrDb, true) => " NULLS LAST",
        _ => "",
    };
    sql.push_str(&format!(
        " ORDER BY {} {direction}{nulls}, r.id {direction}",
        sort.column.sql()
    ));
    if let Some((limit, offset)) = page {
        let at = args.len();
        sql.push_str(&format!(" LIMIT ?{} OFFSET ?{}", at + 1, at + 2));
        args.extend([Value::from(limit as i64), Value::from(offset as i64)]);
    }
    (sql, args)
}

fn read(r: &super::value::RowRef<'_>) -> Result<ListedRecording> {
    Ok(ListedRecording {
        id: r.get(0)?,
        file_name: r.get(1)?,
        speaker_id: r.get(2)?,
        speaker_code: r.get(3)?,
        recorded_at: r.get(4)?,
        duration_s: r.get(5)?,
        sample_rate: r.get(6)?,
        snr_db: r.get(7)?,
    })
}

/// `limit` recordings of the list from position `offset`.
pub fn page(
    conn: &Conn,
    filter: &RecordingFilter,
    sort: Sort,
    limit: u64,
    offset: u64,
) -> Result<Vec<ListedRecording>> {
    let (sql, args) = query(filter, sort, Some((limit, offset)));
    let mut out = Vec::new();
    conn.each(&sql, &args, |r| {
        out.push(read(&r)?);
        Ok(())
    })?;
    Ok(out)
}

/// Hands every recording of the list to `each` as it streams by, without
/// holding the list (a manifest of millions); an error of `each` stops it.
pub fn each(
    conn: &Conn,
    filter: &RecordingFilter,
    sort: Sort,
    mut each: impl FnMut(ListedRecording) -> Result<()>,
) -> Result<()> {
    let (sql, args) = query(filter, sort, None);
    conn.each(&sql, &args, |r| each(read(&r)?))
}
