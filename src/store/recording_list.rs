//! The list of recordings researchers filter, page through and export as
//! a manifest: which recordings a filter keeps, in which order.

use super::aggregates::corpus::Measure;
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
    /// Their sample rate in Hz (`Some(None)`: none given).
    pub sample_rate: Option<Option<i64>>,
    /// At least this long (s).
    pub length_min: Option<f64>,
    /// Shorter than this (s).
    pub length_max: Option<f64>,
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

/// At most this many recordings are read through a selective index and
/// sorted, rather than found by walking every recording in time order.
const SORTED_AT_MOST: i64 = 20_000;

/// How SQLite reaches the recordings of a list in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// As the engine chooses: PostgreSQL, another order than time, or one
    /// speaker's recordings (through the index on speaker).
    AsChosen,
    /// Through the index of a measure (SNR, length) over its band, then
    /// sorted.
    ByBand(Measure),
    /// Through the group's speakers and the index on speaker, then sorted.
    BySpeakers,
    /// Through the index on sample rate, then sorted.
    ByRate,
    /// Walking the index on time, keeping those the filter keeps. Said
    /// rather than left to SQLite: given a band of SNR or length it reads
    /// the whole band through that index and sorts it (6 s for a band of
    /// 400,000 recordings, against under a millisecond in time order).
    ByTime,
}

/// The plan of a list in time order: the aggregates say exactly how many
/// recordings the group and the sample rate have, and bound how many the
/// SNR or length band has; a filter
/// that keeps few is read through its index and sorted (walking in time
/// order, a filter keeping nothing read every recording: 1.9 s at a
/// million).
fn plan(conn: &Conn, filter: &RecordingFilter, sort: Sort) -> Result<Plan> {
    if conn.engine() != super::Engine::Sqlite
        || sort.column != SortColumn::RecordedAt
        || filter.speaker.is_some()
    {
        return Ok(Plan::AsChosen);
    }
    let grouped = filter.group.iter().any(Option::is_some);
    let group_args = || filter.group.iter().map(|v| Value::from(v.as_deref()));
    let in_group: Option<i64> = if grouped {
        Some(conn.query_value(
            &format!(
                "SELECT CAST(COALESCE(SUM(recordings), 0) AS BIGINT) FROM recording_cells s
                 WHERE s.known = 1 AND {GROUP_WHERE}"
            ),
            &group_args().collect::<Vec<_>>(),
        )?)
    } else {
        None
    };
    // Each plan reads what its index holds; the smaller one, if small.
    let in_snr = in_band(conn, Measure::Snr, (filter.snr_min, filter.snr_max))?;
    let in_length = in_band(
        conn,
        Measure::Duration,
        (filter.length_min, filter.length_max),
    )?;
    let smallest = [
        (in_snr, Plan::ByBand(Measure::Snr)),
        (in_length, Plan::ByBand(Measure::Duration)),
        (in_group, Plan::BySpeakers),
        (in_rate(conn, filter.sample_rate)?, Plan::ByRate),
    ]
    .into_iter()
    .filter_map(|(n, plan)| n.map(|n| (n, plan)))
    .min_by_key(|(n, _)| *n);
    Ok(match smallest {
        Some((n, plan)) if n <= SORTED_AT_MOST => plan,
        _ => Plan::ByTime,
    })
}

/// What the index of `measure` holds in the band `[min, max)`, of every
/// group: the whole units its bins count that overlap it, a bound from
/// above; `None` when no band is asked for.
fn in_band(
    conn: &Conn,
    measure: Measure,
    (min, max): (Option<f64>, Option<f64>),
) -> Result<Option<i64>> {
    if min.is_none() && max.is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(recordings), 0) AS BIGINT) FROM {}_bins
         WHERE grain = 100 AND known = 2 AND category = '' AND gender = ''
         AND diagnosis = '' AND bin >= ?1 AND bin < ?2",
        measure.tables()
    );
    let args = [
        Value::from(min.map_or(i64::MIN, |v| v.floor() as i64)),
        Value::from(max.unwrap_or(f64::MAX)),
    ];
    Ok(Some(conn.query_value(&sql, &args)?))
}

/// How many recordings have the sample rate asked for (`Some(None)`: none
/// given), exactly, from the whole corpus's descriptor cells; `None` when
/// no rate is asked for. A rate no recording has reads nothing (walking
/// in time order, it read every recording: 0.3 s at a million).
fn in_rate(conn: &Conn, rate: Option<Option<i64>>) -> Result<Option<i64>> {
    use super::aggregates::corpus::descriptor::SAMPLE_RATE;
    let Some(rate) = rate else {
        return Ok(None);
    };
    // The cells count "none" as 0.
    let sql = "SELECT CAST(COALESCE(SUM(recordings), 0) AS BIGINT) FROM descriptor_cells
         WHERE known IN (3, 4) AND category = '' AND gender = '' AND diagnosis = ''
         AND month = 0 AND kind = ?1 AND value = ?2";
    let args = [Value::from(SAMPLE_RATE), Value::from(rate.unwrap_or(0))];
    Ok(Some(conn.query_value(sql, &args)?))
}

/// The conditions of a filter, numbered `?1`, `?2`, ... in the order of
/// their arguments.
fn conditions(filter: &RecordingFilter) -> (Vec<String>, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut conditions = Vec::new();
    if filter.group.iter().any(Option::is_some) {
        // ?1..?3, as the shared clause numbers them.
        args.extend(filter.group.iter().map(|v| Value::from(v.as_deref())));
        conditions.push(GROUP_WHERE.to_string());
    }
    if filter.sample_rate == Some(None) {
        conditions.push("r.sample_rate IS NULL".to_string());
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
    if let Some(Some(rate)) = filter.sample_rate {
        given("r.sample_rate = ?", Value::from(rate));
    }
    if let Some(min) = filter.length_min {
        given("r.duration_s >= ?", Value::from(min));
    }
    if let Some(max) = filter.length_max {
        given("r.duration_s < ?", Value::from(max));
    }
    (conditions, args)
}

/// The query of a list: its SQL and arguments (`limit`, `offset` last
/// when given).
fn query(
    filter: &RecordingFilter,
    sort: Sort,
    plan: Plan,
    page: Option<(u64, u64)>,
) -> (String, Vec<Value>) {
    let (conditions, mut args) = conditions(filter);
    let from = match plan {
        Plan::AsChosen => "recordings r LEFT JOIN speakers s ON s.id = r.speaker_id",
        Plan::ByTime => {
            "recordings r INDEXED BY recordings_time LEFT JOIN speakers s ON s.id = r.speaker_id"
        }
        Plan::ByBand(measure) => &format!(
            "recordings r INDEXED BY {} LEFT JOIN speakers s ON s.id = r.speaker_id",
            measure.index()
        ),
        Plan::ByRate => {
            "recordings r INDEXED BY recordings_sample_rate LEFT JOIN speakers s ON s.id = r.speaker_id"
        }
        // The group's speakers first (only they can match), each one's
        // recordings through the index on speaker.
        Plan::BySpeakers => {
            "speakers s CROSS JOIN recordings r INDEXED BY recordings_speaker ON r.speaker_id = s.id"
        }
    };
    let mut sql = format!(
        "SELECT r.id, r.file_name, r.speaker_id, s.code, r.recorded_at, r.duration_s,
                r.sample_rate, r.snr_db
         FROM {from}"
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

/// Recordings on one page of a list.
pub const PAGE_SIZE: u64 = 100;

/// Page `page` (from 1) of a list, [`PAGE_SIZE`] recordings, and whether
/// more follow.
pub fn numbered_page(
    conn: &Conn,
    filter: &RecordingFilter,
    sort: Sort,
    page: u64,
) -> Result<(Vec<ListedRecording>, bool)> {
    let offset = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
    let mut rows = self::page(conn, filter, sort, PAGE_SIZE + 1, offset)?;
    let has_more = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    Ok((rows, has_more))
}

/// `limit` recordings of the list from position `offset`.
pub fn page(
    conn: &Conn,
    filter: &RecordingFilter,
    sort: Sort,
    limit: u64,
    offset: u64,
) -> Result<Vec<ListedRecording>> {
    let (sql, args) = query(
        filter,
        sort,
        plan(conn, filter, sort)?,
        Some((limit, offset)),
    );
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
    let (sql, args) = query(filter, sort, plan(conn, filter, sort)?, None);
    conn.each(&sql, &args, |r| each(read(&r)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three speakers and sixty recordings whose times, SNRs, lengths and
    /// sample rates vary (some missing).
    fn fixture(conn: &Conn) {
        for (id, category) in [(1i64, "child"), (2, "adult"), (3, "child")] {
            conn.execute(
                "INSERT INTO speakers (id, code, gender, category, created_at)
                 VALUES (?1, ?2, 'F', ?3, 0)",
                &[
                    Value::from(id),
                    Value::from(format!("S{id}")),
                    Value::from(category),
                ],
            )
            .unwrap();
        }
        for i in 0..60i64 {
            let snr = if i % 7 == 0 {
                Value::Null
            } else {
                Value::from((i % 40) as f64 + 0.25)
            };
            let rate = if i % 3 == 0 {
                Value::Null
            } else {
                Value::from(16000 * (i % 3))
            };
            conn.execute(
                "INSERT INTO recordings (id, speaker_id, file_name, recorded_at, duration_s, snr_db, sample_rate)
                 VALUES (?1, ?2, 'f.wav', ?3, ?4, ?5, ?6)",
                // Times out of id order, some shared.
                &[
                    Value::from(i + 1),
                    Value::from(i % 4 + 1),
                    Value::from((i * 37) % 23),
                    Value::from((i % 13) as f64 * 2.5),
                    snr,
                    rate,
                ],
            )
            .unwrap();
        }
    }

    /// Every plan that can serve `filter` lists the same recordings.
    #[test]
    fn every_plan_lists_the_same_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
        let conn = store.conn().unwrap();
        fixture(&conn);
        let child = || [Some("child".to_string()), None, None];
        let filters = [
            RecordingFilter {
                group: child(),
                ..Default::default()
            },
            RecordingFilter {
                snr_min: Some(10.0),
                snr_max: Some(30.0),
                ..Default::default()
            },
            RecordingFilter {
                group: child(),
                snr_min: Some(5.0),
                from: Some(3),
                until: Some(20),
                ..Default::default()
            },
            RecordingFilter {
                length_min: Some(5.0),
                length_max: Some(20.0),
                sample_rate: Some(Some(16000)),
                ..Default::default()
            },
            RecordingFilter {
                length_min: Some(10.0),
                sample_rate: Some(None),
                ..Default::default()
            },
        ];
        for filter in filters {
            for descending in [false, true] {
                let sort = Sort {
                    column: SortColumn::RecordedAt,
                    descending,
                };
                let listed = |plan| {
                    let (sql, args) = query(&filter, sort, plan, Some((1000, 0)));
                    conn.query(&sql, &args)
                        .unwrap()
                        .iter()
                        .map(|r| r.get::<i64>(0).unwrap())
                        .collect::<Vec<_>>()
                };
                let chosen = listed(Plan::AsChosen);
                assert!(!chosen.is_empty(), "{filter:?}");
                assert_eq!(listed(Plan::ByTime), chosen, "{filter:?}");
                if filter.snr_min.is_some() {
                    assert_eq!(listed(Plan::ByBand(Measure::Snr)), chosen, "{filter:?}");
                }
                if filter.length_min.is_some() {
                    assert_eq!(
                        listed(Plan::ByBand(Measure::Duration)),
                        chosen,
                        "{filter:?}"
                    );
                }
                if filter.group[0].is_some() {
                    assert_eq!(listed(Plan::BySpeakers), chosen, "{filter:?}");
                }
                if filter.sample_rate.is_some() {
                    assert_eq!(listed(Plan::ByRate), chosen, "{filter:?}");
                }
            }
        }
    }
}
