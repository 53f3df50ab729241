//! The aggregates of `dashboard` and its drill-downs, kept per group of
//! speakers (category, gender, diagnosis as stored, NULL read as empty):
//!
//! - `speaker_groups`: speakers per group;
//! - `recording_cells`: per group and local month (`YYYYMM`), recordings,
//!   their seconds, measured SNRs and their sum, the four SNR bands, and
//!   the speakers whose first recording falls in that month. Recordings of
//!   a speaker id with no row are kept apart (`known` = 0): they count in
//!   the whole corpus only;
//! - `speaker_firsts`: each speaker id's first recording;
//! - `snr_bins`: measured SNRs per group and band, 1 dB wide (`grain`
//!   100) and 0.01 dB wide (`grain` 1), and the same for the whole corpus
//!   (`known` = 2). The exact median walks them down to one narrow band,
//!   then reads that band's few values through the SNR index: its cost
//!   does not grow with the corpus;
//! - `snr_month_bins`: the whole corpus's bands per local month, for the
//!   median of a range of days;
//! - `duration_bins`, `duration_values`, `duration_month_bins`: the same
//!   three for the recordings' lengths (1 s and 0.01 s bands), for the
//!   exact median duration ([`Measure`]);
//! - `recording_day_cells`, `descriptor_days` (the whole corpus's) and
//!   `snr_day_bins`, `duration_day_bins`: the same per local day
//!   (`YYYYMMDD`), for the days of a range outside its whole months, so
//!   that a range reads no recording;
//! - `descriptor_cells`: recordings and their seconds per sample rate,
//!   per birth year of their speaker and per duration bucket: per group of
//!   every month (`month` 0), and of the whole corpus (`known` 3 for
//!   speakers with a row, 4 for the others) of every month and per local
//!   month, so that a dashboard reads one row per group (or of the whole
//!   corpus) and value, and a range one per month and value;
//! - `speaker_births`: speakers per group (`known` 1) and of the whole
//!   corpus (`known` 2) per birth year.
//!
//! The statements of the triggers are written once for both engines: each
//! reads its rows from `r` (recordings), `s` (speakers) or `f` (first
//! recordings), which SQLite binds to the one row of a row trigger and
//! PostgreSQL to the transition table of a statement trigger.

use std::collections::HashMap;

use super::{days, months};
use super::{
    floor_sql, in_key_order, insert_rows, local_day_sql, local_month_sql, without_triggers_on,
    Side, SideSql, ZoneOffsets,
};
use crate::store::{Conn, Engine, Result, Value};

/// The tables of `engine`, and the SNR index made covering for a group's
/// values in one narrow band (value, speaker: no table lookup per value).
/// A zero row is deleted as soon as it is zero; the partial indexes find
/// it without a scan. In SQLite the tables read
/// by range are clustered on their key (`WITHOUT ROWID`): a band walk then
/// reads the rows in place instead of one table lookup each.
pub(super) fn tables_sql(engine: Engine) -> String {
    let cells = cells_table_sql(Period::Month, "known, category, gender, diagnosis, month");
    clustered(engine, &TABLES_SQL.replace("@RECORDING_CELLS@", &cells))
}

/// The table of the recording cells of `period`, keyed by `key`.
fn cells_table_sql(period: Period, key: &str) -> String {
    let (table, column) = (period.cells(), period.column());
    format!(
        "CREATE TABLE {table} (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    {column} BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    snr_n BIGINT NOT NULL,
    snr_sum DOUBLE PRECISION NOT NULL,
    poor BIGINT NOT NULL,
    fair BIGINT NOT NULL,
    good BIGINT NOT NULL,
    excellent BIGINT NOT NULL,
    new_speakers BIGINT NOT NULL,
    PRIMARY KEY ({key})
)@CLUSTERED@;
CREATE INDEX {table}_empty ON {table}({column})
    WHERE recordings = 0 AND new_speakers = 0;
"
    )
}

fn clustered(engine: Engine, sql: &str) -> String {
    let clustered = match engine {
        Engine::Sqlite => " WITHOUT ROWID",
        Engine::Postgres => "",
    };
    sql.replace(")@CLUSTERED@", &format!("){clustered}"))
}

/// The table of migration 9 (SQLite) and 6 (PostgreSQL): recordings per
/// SNR value, per group and of the whole corpus. The median's last step
/// reads the few values of one narrow band of the selection's groups here;
/// through the SNR index and the speakers it read every value of the band
/// and joined its speaker, ten times as many at ten times the corpus.
pub(crate) fn values_table_sql(engine: Engine) -> String {
    clustered(
        engine,
        "
CREATE TABLE snr_values (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (known, category, gender, diagnosis, value)
)@CLUSTERED@;
CREATE INDEX snr_values_empty ON snr_values(known) WHERE recordings = 0;
",
    )
}

/// The tables whose triggers count SNR values since migration 9 (their
/// triggers are created again by it).
pub(crate) const VALUES_KEPT: [(&str, &str, SideSql); 2] = [KEPT[0], KEPT[1]];

/// The table of migration 10 (SQLite) and 7 (PostgreSQL): the whole
/// corpus's SNR bands per local month, both grains, so that the median of
/// a range of days walks a few rows per month; the index that finds the
/// uploads of a range of days; and the index on time made covering for
/// the recording list and a range's edge days (a manifest then reads it
/// in order instead of one table lookup per recording).
pub(crate) fn month_bins_table_sql(engine: Engine) -> String {
    let time_index = match engine {
        Engine::Sqlite => {
            "DROP INDEX recordings_time;
CREATE INDEX recordings_time ON recordings(recorded_at, id, speaker_id, duration_s, snr_db,
    sample_rate, file_name);"
        }
        Engine::Postgres => {
            "DROP INDEX recordings_time;
CREATE INDEX recordings_time ON recordings(recorded_at, id)
    INCLUDE (speaker_id, duration_s, snr_db, sample_rate, file_name);"
        }
    };
    time_index.to_string()
        + &clustered(
            engine,
            "
CREATE TABLE snr_month_bins (
    grain BIGINT NOT NULL,
    month BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (grain, month, bin)
)@CLUSTERED@;
CREATE INDEX snr_month_bins_empty ON snr_month_bins(grain) WHERE recordings = 0;
CREATE INDEX uploads_time ON uploads(uploaded_at);
",
        )
}

/// The tables whose triggers count the corpus's bands per month since
/// migration 10 (their triggers are created again by it).
pub(crate) const MONTH_BINS_KEPT: [(&str, &str, SideSql); 1] = [KEPT[0]];

/// The tables of migration 11 (SQLite) and 8 (PostgreSQL): the length
/// bands and values (the SNR's three tables, for durations), the
/// descriptors per cell, the speakers per birth year, and the index on
/// length that the median's last step and the list's order by length
/// read (SQLite's indexes end with the row id: ordered by length, then
/// id).
pub(crate) fn descriptor_tables_sql(engine: Engine) -> String {
    let duration_index = match engine {
        Engine::Sqlite => "CREATE INDEX recordings_duration ON recordings(duration_s);",
        Engine::Postgres => "CREATE INDEX recordings_duration ON recordings(duration_s, id);",
    };
    duration_index.to_string()
        + &clustered(
            engine,
            "
CREATE TABLE duration_bins (
    grain BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (grain, known, category, gender, diagnosis, bin)
)@CLUSTERED@;
CREATE INDEX duration_bins_empty ON duration_bins(grain) WHERE recordings = 0;
CREATE TABLE duration_values (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (known, category, gender, diagnosis, value)
)@CLUSTERED@;
CREATE INDEX duration_values_empty ON duration_values(known) WHERE recordings = 0;
CREATE TABLE duration_month_bins (
    grain BIGINT NOT NULL,
    month BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (grain, month, bin)
)@CLUSTERED@;
CREATE INDEX duration_month_bins_empty ON duration_month_bins(grain) WHERE recordings = 0;
CREATE TABLE descriptor_cells (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    month BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    value BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (known, category, gender, diagnosis, month, kind, value)
)@CLUSTERED@;
CREATE INDEX descriptor_cells_empty ON descriptor_cells(kind) WHERE recordings = 0;
CREATE TABLE speaker_births (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    birth_year BIGINT NOT NULL,
    speakers BIGINT NOT NULL,
    PRIMARY KEY (known, category, gender, diagnosis, birth_year)
)@CLUSTERED@;
CREATE INDEX speaker_births_empty ON speaker_births(birth_year) WHERE speakers = 0;
",
        )
}

/// The tables of migration 15 (SQLite) and 12 (PostgreSQL): the corpus's
/// cells, descriptors (the whole corpus's) and bands of both measures per
/// local day (`YYYYMMDD`), for the days of a range outside its whole
/// months. Each is keyed by the day first, so that those days are one
/// range of rows.
pub(crate) fn day_tables_sql(engine: Engine) -> String {
    let cells = cells_table_sql(Period::Day, "day, known, category, gender, diagnosis");
    let mut sql = clustered(
        engine,
        &(cells
            + "
CREATE TABLE descriptor_days (
    known BIGINT NOT NULL,
    day BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    value BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (known, day, kind, value)
)@CLUSTERED@;
CREATE INDEX descriptor_days_empty ON descriptor_days(kind) WHERE recordings = 0;
"),
    );
    for measure in Measure::BOTH {
        sql.push_str(&clustered(
            engine,
            &format!(
                "CREATE TABLE {table}_day_bins (
    grain BIGINT NOT NULL,
    day BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (grain, day, bin)
)@CLUSTERED@;
CREATE INDEX {table}_day_bins_empty ON {table}_day_bins(grain) WHERE recordings = 0;
",
                table = measure.tables()
            ),
        ));
    }
    sql
}

/// The tables whose triggers count lengths and descriptors since
/// migration 11 (their triggers are created again by it).
pub(crate) const DESCRIPTORS_KEPT: [(&str, &str, SideSql); 2] = [KEPT[0], KEPT[1]];

/// What a walk down value bands counts: the SNR or the length of the
/// recordings. Both keep the same three tables under their own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `snr_db`, measured or not.
    Snr,
    /// `duration_s`, always given.
    Duration,
}

impl Measure {
    /// Both measures.
    pub const BOTH: [Measure; 2] = [Measure::Snr, Measure::Duration];

    /// The recordings' column.
    pub fn column(self) -> &'static str {
        match self {
            Measure::Snr => "snr_db",
            Measure::Duration => "duration_s",
        }
    }

    /// The prefix of its tables: `_bins`, `_values`, `_month_bins`.
    pub fn tables(self) -> &'static str {
        match self {
            Measure::Snr => "snr",
            Measure::Duration => "duration",
        }
    }

    /// The index on recordings that orders them by this value.
    pub fn index(self) -> &'static str {
        match self {
            Measure::Snr => "recordings_snr",
            Measure::Duration => "recordings_duration",
        }
    }
}

/// The kind of a descriptor cell: what its `value` is.
pub mod descriptor {
    /// The recordings' sample rate in Hz (0: none given).
    pub const SAMPLE_RATE: i64 = 1;
    /// Their speaker's birth year (0: none given, or no speaker row).
    pub const BIRTH_YEAR: i64 = 2;
    /// Their duration bucket: the number of [`DURATION_BOUNDS`] at or
    /// below their length.
    pub const DURATION_BUCKET: i64 = 3;
    /// The bounds of the duration buckets, in seconds: `[.., 2)`,
    /// `[2, 5)`, …, `[60, ..)`.
    pub const DURATION_BOUNDS: [f64; 5] = [2.0, 5.0, 10.0, 30.0, 60.0];

    /// The bucket of a length, as the triggers compute it.
    pub fn duration_bucket(seconds: f64) -> i64 {
        DURATION_BOUNDS.iter().filter(|b| seconds >= **b).count() as i64
    }
}

const TABLES_SQL: &str = "
DROP INDEX recordings_snr;
CREATE INDEX recordings_snr ON recordings(snr_db, speaker_id);
CREATE TABLE zone_offsets (
    since BIGINT PRIMARY KEY,
    offset_us BIGINT NOT NULL
);
CREATE TABLE aggregate_zone (
    name TEXT NOT NULL
);
CREATE TABLE speaker_groups (
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    speakers BIGINT NOT NULL,
    PRIMARY KEY (category, gender, diagnosis)
)@CLUSTERED@;
CREATE TABLE speaker_firsts (
    speaker_id BIGINT PRIMARY KEY,
    first_at BIGINT NOT NULL
);
@RECORDING_CELLS@CREATE TABLE snr_bins (
    grain BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (grain, known, category, gender, diagnosis, bin)
)@CLUSTERED@;
CREATE INDEX snr_bins_empty ON snr_bins(grain) WHERE recordings = 0;
";

/// The grain of the wide SNR bands: 1 dB, in hundredths.
pub const COARSE: i64 = 100;
/// The grain of the narrow SNR bands: 0.01 dB.
pub const FINE: i64 = 1;

/// The narrow band of an SNR value, as the triggers compute it.
pub fn fine_band(snr: f64) -> i64 {
    (snr * 100.0).floor() as i64
}

/// The wide band of an SNR value, as the triggers compute it (from the
/// narrow one, so that a narrow band lies in one wide band).
pub fn coarse_band(snr: f64) -> i64 {
    ((snr * 100.0).floor() / 100.0).floor() as i64
}

/// The group a statement counts its rows in.
struct Group {
    known: &'static str,
    category: &'static str,
    gender: &'static str,
    diagnosis: &'static str,
    /// The birth year its recordings count under (0 for none).
    birth_year: &'static str,
    /// `known` of its recordings in the whole corpus's descriptors per
    /// month: 3 with a speaker row, 4 without.
    corpus_known: &'static str,
}

impl Group {
    fn columns(&self) -> String {
        format!(
            "{}, {}, {}, {}",
            self.known, self.category, self.gender, self.diagnosis
        )
    }
}

/// The group of the speaker row `s` (NULL when there is none: kept apart).
const JOINED: Group = Group {
    known: "CASE WHEN s.id IS NULL THEN 0 ELSE 1 END",
    category: "COALESCE(s.category, '')",
    gender: "COALESCE(s.gender, '')",
    diagnosis: "COALESCE(s.diagnosis, '')",
    birth_year: "COALESCE(s.birth_year, 0)",
    corpus_known: "CASE WHEN s.id IS NULL THEN 4 ELSE 3 END",
};

/// The group of the speaker row `s`, which exists.
const SPEAKER: Group = Group {
    known: "1",
    category: "COALESCE(s.category, '')",
    gender: "COALESCE(s.gender, '')",
    diagnosis: "COALESCE(s.diagnosis, '')",
    birth_year: "COALESCE(s.birth_year, 0)",
    corpus_known: "3",
};

/// Every recording, whatever its speaker: the SNR bands of the whole
/// corpus, so that its median walks a few rows per band, not one per group.
const EVERY: Group = Group {
    known: "2",
    category: "''",
    gender: "''",
    diagnosis: "''",
    birth_year: "0",
    corpus_known: "4",
};

/// Recordings of a speaker id with no row.
const ORPHAN: Group = Group {
    known: "0",
    category: "''",
    gender: "''",
    diagnosis: "''",
    birth_year: "0",
    corpus_known: "4",
};

/// Adds the rows of `select` (every column of `recording_cells`, in
/// order) to the cells of `period`, and deletes the cells that became
/// zero.
fn into_cells(period: Period, select: &str) -> String {
    let (table, column) = (period.cells(), period.column());
    let sums = [
        "recordings",
        "duration_s",
        "snr_n",
        "snr_sum",
        "poor",
        "fair",
        "good",
        "excellent",
        "new_speakers",
    ]
    .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
    .join(", ");
    format!(
        "INSERT INTO {table} (known, category, gender, diagnosis, {column}, recordings,
            duration_s, snr_n, snr_sum, poor, fair, good, excellent, new_speakers)
        {select}
        ON CONFLICT (known, category, gender, diagnosis, {column}) DO UPDATE SET {sums};
    DELETE FROM {table} WHERE recordings = 0 AND new_speakers = 0;\n"
    )
}

/// The grain of time of the corpus's cells, descriptors and bands per
/// period: a local month for ranges of whole months (and every
/// statistic without a range), a local day for a range's other days.
#[derive(Clone, Copy)]
enum Period {
    Month,
    Day,
}

impl Period {
    const BOTH: [Period; 2] = [Period::Month, Period::Day];

    /// The period of the instant `micros` (an SQL expression).
    fn of(self, engine: Engine, micros: &str) -> String {
        match self {
            Period::Month => local_month_sql(engine, micros),
            Period::Day => local_day_sql(engine, micros),
        }
    }

    /// The name of the period's column.
    fn column(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Day => "day",
        }
    }

    /// The table of its recording cells.
    fn cells(self) -> &'static str {
        match self {
            Period::Month => "recording_cells",
            Period::Day => "recording_day_cells",
        }
    }
}

/// Counts the recordings `r` of `from` (with `sign` `""` or `"-"`) in
/// `group`'s cells and SNR bands, and with `whole_corpus` in the bands of
/// the whole corpus too.
fn count_recordings(
    engine: Engine,
    from: &str,
    group: &Group,
    sign: &str,
    whole_corpus: bool,
) -> String {
    let band = |lo: &str, hi: &str| format!("{sign}SUM(CASE WHEN {lo} {hi} THEN 1 ELSE 0 END)");
    let bands = [
        band("r.snr_db < 10", ""),
        band("r.snr_db >= 10", "AND r.snr_db < 20"),
        band("r.snr_db >= 20", "AND r.snr_db < 30"),
        band("r.snr_db >= 30", ""),
    ]
    .join(", ");
    let mut sql = String::new();
    for period in Period::BOTH {
        sql.push_str(&into_cells(
            period,
            &format!(
                "SELECT {}, {}, {sign}COUNT(*), {sign}SUM(r.duration_s), {sign}COUNT(r.snr_db),
            {sign}COALESCE(SUM(r.snr_db), 0), {bands}, 0
        FROM {from} WHERE true GROUP BY 1, 2, 3, 4, 5",
                group.columns(),
                period.of(engine, "r.recorded_at")
            ),
        ));
    }
    let groups: &[&Group] = if whole_corpus {
        &[group, &EVERY]
    } else {
        &[group]
    };
    for measure in Measure::BOTH {
        sql.push_str(&count_values(engine, from, groups, sign, measure));
    }
    sql.push_str(&count_descriptors(engine, from, group, sign));
    sql
}

/// Counts the values of `measure` of the recordings `r` of `from` in the
/// bands and values of `groups` (with [`EVERY`], in the whole corpus's
/// bands per month too).
fn count_values(
    engine: Engine,
    from: &str,
    groups: &[&Group],
    sign: &str,
    measure: Measure,
) -> String {
    let (column, table) = (measure.column(), measure.tables());
    let value = format!("r.{column}");
    let fine = floor_sql(engine, &format!("{value} * 100"));
    let coarse = floor_sql(engine, &format!("{fine} / 100.0"));
    let mut sql = String::new();
    for (grain, band, group) in groups
        .iter()
        .flat_map(|g| [(FINE, fine.clone(), *g), (COARSE, coarse.clone(), *g)])
    {
        sql.push_str(&format!(
            "INSERT INTO {table}_bins (grain, bin, known, category, gender, diagnosis, recordings)
        SELECT {grain}, {band}, {}, {sign}COUNT(*)
        FROM {from} WHERE {value} IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (grain, bin, known, category, gender, diagnosis)
        DO UPDATE SET recordings = {table}_bins.recordings + excluded.recordings;\n",
            group.columns()
        ));
    }
    sql.push_str(&format!("DELETE FROM {table}_bins WHERE recordings = 0;\n"));
    let whole_corpus = groups.iter().any(|g| g.known == EVERY.known);
    for period in Period::BOTH.into_iter().filter(|_| whole_corpus) {
        let (column, at) = (period.column(), period.of(engine, "r.recorded_at"));
        let bins = format!("{table}_{column}_bins");
        for (grain, band) in [(FINE, &fine), (COARSE, &coarse)] {
            sql.push_str(&format!(
                "INSERT INTO {bins} (grain, {column}, bin, recordings)
        SELECT {grain}, {at}, {band}, {sign}COUNT(*)
        FROM {from} WHERE {value} IS NOT NULL GROUP BY 1, 2, 3
        ON CONFLICT (grain, {column}, bin)
        DO UPDATE SET recordings = {bins}.recordings + excluded.recordings;\n"
            ));
        }
        sql.push_str(&format!("DELETE FROM {bins} WHERE recordings = 0;\n"));
    }
    for group in groups {
        sql.push_str(&format!(
            "INSERT INTO {table}_values (known, category, gender, diagnosis, value, recordings)
        SELECT {}, {value}, {sign}COUNT(*)
        FROM {from} WHERE {value} IS NOT NULL GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (known, category, gender, diagnosis, value)
        DO UPDATE SET recordings = {table}_values.recordings + excluded.recordings;\n",
            group.columns()
        ));
    }
    sql.push_str(&format!(
        "DELETE FROM {table}_values WHERE recordings = 0;\n"
    ));
    sql
}

/// Counts the recordings `r` of `from` in `group`'s descriptor cells
/// (month 0) and in the whole corpus's of every month, of their month and
/// of their day: per sample rate, per birth year of their speaker, per
/// duration bucket. Recordings of a speaker id with no row count in the
/// whole corpus's only: a group's cells are read for drill-downs, which
/// have none.
fn count_descriptors(engine: Engine, from: &str, group: &Group, sign: &str) -> String {
    const CELLS: (&str, &str) = (
        "descriptor_cells",
        "known, category, gender, diagnosis, month",
    );
    const DAYS: (&str, &str) = ("descriptor_days", "known, day");
    let corpus = format!("{}, '', '', ''", group.corpus_known);
    let (month, day) = (
        local_month_sql(engine, "r.recorded_at"),
        local_day_sql(engine, "r.recorded_at"),
    );
    // (table and its key's columns, the key's values, which recordings)
    let mut cells = vec![
        (CELLS, format!("{corpus}, 0"), "true".to_string()),
        (CELLS, format!("{corpus}, {month}"), "true".to_string()),
        (
            DAYS,
            format!("{}, {day}", group.corpus_known),
            "true".to_string(),
        ),
    ];
    if group.known != ORPHAN.known {
        cells.push((
            CELLS,
            format!("{}, 0", group.columns()),
            format!("{} = 1", group.known),
        ));
    }
    let bucket = descriptor::DURATION_BOUNDS
        .iter()
        .enumerate()
        .map(|(i, bound)| format!("WHEN r.duration_s < {bound:?} THEN {i} "))
        .collect::<String>();
    let bucket = format!(
        "CASE {bucket}ELSE {} END",
        descriptor::DURATION_BOUNDS.len()
    );
    let mut sql = String::new();
    for (((table, key), keys, when), (kind, value)) in cells.iter().flat_map(|cell| {
        [
            (
                cell,
                (descriptor::SAMPLE_RATE, "COALESCE(r.sample_rate, 0)"),
            ),
            (cell, (descriptor::BIRTH_YEAR, group.birth_year)),
            (cell, (descriptor::DURATION_BUCKET, bucket.as_str())),
        ]
    }) {
        let grouped = (1..=key.split(',').count() + 2)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            "INSERT INTO {table} ({key}, kind, value, recordings, duration_s)
        SELECT {keys}, {kind}, {value}, {sign}COUNT(*), {sign}SUM(r.duration_s)
        FROM {from} WHERE {when} GROUP BY {grouped}
        ON CONFLICT ({key}, kind, value)
        DO UPDATE SET recordings = {table}.recordings + excluded.recordings,
            duration_s = {table}.duration_s + excluded.duration_s;\n"
        ));
    }
    sql.push_str("DELETE FROM descriptor_cells WHERE recordings = 0;\n");
    sql.push_str("DELETE FROM descriptor_days WHERE recordings = 0;\n");
    sql
}

/// Counts the first recordings `f` of `from`, joined to their speaker
/// rows `s`, as new speakers of their month and of their day.
fn count_firsts(engine: Engine, from: &str, sign: &str) -> String {
    Period::BOTH
        .map(|period| {
            into_cells(
                period,
                &format!(
                    "SELECT {}, {}, 0, 0, 0, 0, 0, 0, 0, 0, {sign}COUNT(*)
        FROM {from} WHERE true GROUP BY 1, 2, 3, 4, 5",
                    SPEAKER.columns(),
                    period.of(engine, "f.first_at")
                ),
            )
        })
        .concat()
}

/// Sets the first recording of the speaker ids `ids` (a query) from
/// their recordings: one seek each on the index on (speaker, time).
fn refresh_firsts(ids: &str) -> String {
    format!(
        "DELETE FROM speaker_firsts WHERE speaker_id IN ({ids})
        AND NOT EXISTS (SELECT 1 FROM recordings x WHERE x.speaker_id = speaker_firsts.speaker_id);
    INSERT INTO speaker_firsts (speaker_id, first_at)
        SELECT i.speaker_id,
            (SELECT MIN(x.recorded_at) FROM recordings x WHERE x.speaker_id = i.speaker_id)
        FROM (SELECT DISTINCT speaker_id FROM ({ids}) j) i
        WHERE EXISTS (SELECT 1 FROM recordings x WHERE x.speaker_id = i.speaker_id)
        ON CONFLICT (speaker_id) DO UPDATE SET first_at = excluded.first_at
        WHERE speaker_firsts.first_at <> excluded.first_at;\n"
    )
}

const RECORDING: &[&str] = &[
    "speaker_id",
    "recorded_at",
    "duration_s",
    "snr_db",
    "sample_rate",
];
const SPEAKER_ROW: &[&str] = &["id", "category", "gender", "diagnosis", "birth_year"];
const FIRST: &[&str] = &["speaker_id", "first_at"];

/// What a side of a write to `recordings` does: its rows counted in their
/// speaker's group (or kept apart), and their speakers' first recordings.
fn recordings_side(side: Side, sign: &str) -> String {
    let r = side.rows(RECORDING, "r");
    let from = format!("{r} LEFT JOIN speakers s ON s.id = r.speaker_id");
    let mut sql = count_recordings(side.engine(), &from, &JOINED, sign, true);
    sql.push_str(&refresh_firsts(&format!("SELECT r.speaker_id FROM {r}")));
    sql.push_str(&months::count_recordings(side.engine(), &r, sign));
    sql.push_str(&days::count_recordings(side.engine(), &r, sign));
    sql
}

/// What a side of a write to `speakers` does: the speakers counted in
/// their group, their recordings moved between their group and the
/// recordings kept apart, their first recordings counted as new speakers.
fn speakers_side(side: Side, sign: &str) -> String {
    let engine = side.engine();
    let s = side.rows(SPEAKER_ROW, "s");
    let undo = if sign.is_empty() { "-" } else { "" };
    let mut sql = format!(
        "INSERT INTO speaker_groups (category, gender, diagnosis, speakers)
        SELECT {}, {}, {}, {sign}COUNT(*) FROM {s} WHERE true GROUP BY 1, 2, 3
        ON CONFLICT (category, gender, diagnosis)
        DO UPDATE SET speakers = speaker_groups.speakers + excluded.speakers;
    DELETE FROM speaker_groups WHERE speakers = 0;
    DELETE FROM speaker_births WHERE speakers = 0;\n",
        SPEAKER.category, SPEAKER.gender, SPEAKER.diagnosis,
    );
    for group in [
        format!(
            "1, {}, {}, {}",
            SPEAKER.category, SPEAKER.gender, SPEAKER.diagnosis
        ),
        "2, '', '', ''".to_string(),
    ] {
        sql.push_str(&format!(
            "INSERT INTO speaker_births (known, category, gender, diagnosis, birth_year, speakers)
        SELECT {group}, {}, {sign}COUNT(*) FROM {s} WHERE true GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (known, category, gender, diagnosis, birth_year)
        DO UPDATE SET speakers = speaker_births.speakers + excluded.speakers;\n",
            SPEAKER.birth_year
        ));
    }
    sql.push_str("DELETE FROM speaker_births WHERE speakers = 0;\n");
    let recordings = format!("{s} JOIN recordings r ON r.speaker_id = s.id");
    // Moved between groups: the whole corpus's bands stay as they are.
    sql.push_str(&count_recordings(engine, &recordings, &ORPHAN, undo, false));
    sql.push_str(&count_recordings(
        engine,
        &recordings,
        &SPEAKER,
        sign,
        false,
    ));
    let firsts = format!("{s} JOIN speaker_firsts f ON f.speaker_id = s.id");
    sql.push_str(&count_firsts(engine, &firsts, sign));
    sql.push_str(&months::count_speakers(&s, sign));
    sql.push_str(&days::count_speakers(&s, sign));
    sql
}

/// What a side of a change of first recordings does: new speakers counted
/// in the month of the first recording, for speakers with a row.
fn firsts_side(side: Side, sign: &str) -> String {
    let f = side.rows(FIRST, "f");
    count_firsts(
        side.engine(),
        &format!("{f} JOIN speakers s ON s.id = f.speaker_id"),
        sign,
    )
}

/// The tables whose writes adjust the corpus aggregates, with what a side
/// of their write does.
pub(crate) const KEPT: [(&str, &str, SideSql); 3] = [
    ("recordings", "aggregates", recordings_side),
    ("speakers", "aggregates", speakers_side),
    ("speaker_firsts", "aggregates", firsts_side),
];

/// A group as the aggregates key it: known, category, gender, diagnosis.
type GroupKey = (i64, String, String, String);

/// The running sums of one cell.
#[derive(Default)]
struct Cell {
    recordings: i64,
    duration_s: f64,
    snr_n: i64,
    snr_sum: f64,
    bands: [i64; 4],
    new_speakers: i64,
}

/// The bands and values of one [`Measure`], as a rebuild sums them.
#[derive(Default)]
struct MeasureSums {
    /// Per (grain, band, group).
    bins: HashMap<(i64, i64, usize), i64>,
    /// Per (group, the value's bits); SQL keeps 0.0 and -0.0 as one value.
    values: HashMap<(usize, u64), i64>,
    /// The whole corpus's, per (grain, month, band).
    month_bins: HashMap<(i64, i64, i64), i64>,
    /// The whole corpus's, per (grain, day, band).
    day_bins: HashMap<(i64, i64, i64), i64>,
}

impl MeasureSums {
    /// Counts the value `v` of a recording of group `g` made on `day`.
    fn add(&mut self, v: f64, g: usize, every: usize, day: i64) {
        let bits = if v == 0.0 {
            0f64.to_bits()
        } else {
            v.to_bits()
        };
        let (fine, coarse) = (fine_band(v), coarse_band(v));
        for (bins, period) in [(&mut self.month_bins, day / 100), (&mut self.day_bins, day)] {
            *bins.entry((FINE, period, fine)).or_default() += 1;
            *bins.entry((COARSE, period, coarse)).or_default() += 1;
        }
        for g in [g, every] {
            *self.bins.entry((FINE, fine, g)).or_default() += 1;
            *self.bins.entry((COARSE, coarse, g)).or_default() += 1;
            *self.values.entry((g, bits)).or_default() += 1;
        }
    }

    /// Replaces the measure's three tables with these sums.
    fn write(self, conn: &Conn, groups: &[GroupKey], measure: Measure) -> Result<()> {
        let table = measure.tables();
        conn.batch(&format!("DELETE FROM {table}_bins;"))?;
        write_bins(conn, groups, &format!("{table}_bins"), &self.bins)?;
        write_values(conn, groups, &format!("{table}_values"), self.values)?;
        write_period_bins(
            conn,
            &format!("{table}_month_bins"),
            "month",
            self.month_bins,
        )?;
        write_period_bins(conn, &format!("{table}_day_bins"), "day", self.day_bins)
    }
}

/// Everything a rebuild sums in its pass over the rows.
#[derive(Default)]
struct Rebuilt {
    groups: Vec<GroupKey>,
    index: HashMap<GroupKey, usize>,
    /// Each speaker's group and birth year (0 for none).
    speakers: HashMap<i64, (usize, i64)>,
    speaker_counts: HashMap<usize, i64>,
    /// Speakers per (group, birth year), the whole corpus's as group 2.
    births: HashMap<(usize, i64), i64>,
    cells: HashMap<(usize, i64), Cell>,
    /// The cells per (group, day).
    day_cells: HashMap<(usize, i64), Cell>,
    /// Recordings and seconds per (group, month, kind, value): month 0
    /// for a group's, months for the whole corpus's (groups 3 and 4).
    descriptors: HashMap<(usize, i64, i64, i64), (i64, f64)>,
    /// The whole corpus's per (group 3 or 4, day, kind, value).
    day_descriptors: HashMap<(usize, i64, i64, i64), (i64, f64)>,
    snr: MeasureSums,
    duration: MeasureSums,
    firsts: HashMap<i64, i64>,
    /// Recordings per (speaker id, month).
    months: HashMap<(i64, i64), i64>,
    /// Recordings per (speaker id, day).
    days: HashMap<(i64, i64), i64>,
}

impl Rebuilt {
    fn group_of(&mut self, key: GroupKey) -> usize {
        *self.index.entry(key.clone()).or_insert_with(|| {
            self.groups.push(key);
            self.groups.len() - 1
        })
    }

    /// Counts one recording of speaker id `speaker`.
    fn add_recording(
        &mut self,
        (speaker, at, duration, snr, rate): (i64, i64, f64, Option<f64>, Option<i64>),
        [orphan, every, in_corpus, orphan_in_corpus]: [usize; 4],
        offsets: &ZoneOffsets,
    ) {
        let (g, born, corpus) = match self.speakers.get(&speaker) {
            Some((g, born)) => (*g, *born, in_corpus),
            None => (orphan, 0, orphan_in_corpus),
        };
        let day = offsets.day(at);
        let month = day / 100;
        *self.months.entry((speaker, month)).or_default() += 1;
        *self.days.entry((speaker, day)).or_default() += 1;
        for cell in [
            self.cells.entry((g, month)).or_default(),
            self.day_cells.entry((g, day)).or_default(),
        ] {
            cell.recordings += 1;
            cell.duration_s += duration;
            if let Some(v) = snr {
                cell.snr_n += 1;
                cell.snr_sum += v;
                let band = usize::from(v >= 10.0) + usize::from(v >= 20.0) + usize::from(v >= 30.0);
                cell.bands[band] += 1;
            }
        }
        if let Some(v) = snr {
            self.snr.add(v, g, every, day);
        }
        self.duration.add(duration, g, every, day);
        for (kind, value) in [
            (descriptor::SAMPLE_RATE, rate.unwrap_or(0)),
            (descriptor::BIRTH_YEAR, born),
            (
                descriptor::DURATION_BUCKET,
                descriptor::duration_bucket(duration),
            ),
        ] {
            // A group's cells only for speakers with a row (as the
            // triggers keep them).
            let group_key = (g != orphan).then_some((g, 0, kind, value));
            let keys = [(corpus, 0, kind, value), (corpus, month, kind, value)];
            for key in keys.into_iter().chain(group_key) {
                let d = self.descriptors.entry(key).or_default();
                d.0 += 1;
                d.1 += duration;
            }
            let d = self
                .day_descriptors
                .entry((corpus, day, kind, value))
                .or_default();
            d.0 += 1;
            d.1 += duration;
        }
        let first = self.firsts.entry(speaker).or_insert(at);
        *first = (*first).min(at);
    }
}

/// Rebuilds the corpus aggregates from the rows, inside the caller's write
/// transaction, in months of `offsets`: one pass over the recordings,
/// summed here.
pub fn rebuild(conn: &Conn, offsets: &ZoneOffsets) -> Result<()> {
    let mut b = Rebuilt::default();
    let mut pseudo = |known| b.group_of((known, String::new(), String::new(), String::new()));
    let groups = [pseudo(0), pseudo(2), pseudo(3), pseudo(4)];
    let every = groups[1];
    conn.each(
        "SELECT id, COALESCE(category, ''), COALESCE(gender, ''), COALESCE(diagnosis, ''),
            COALESCE(birth_year, 0)
         FROM speakers",
        &[],
        |r| {
            let g = b.group_of((1, r.get(1)?, r.get(2)?, r.get(3)?));
            let born: i64 = r.get(4)?;
            b.speakers.insert(r.get(0)?, (g, born));
            *b.speaker_counts.entry(g).or_default() += 1;
            *b.births.entry((g, born)).or_default() += 1;
            *b.births.entry((every, born)).or_default() += 1;
            Ok(())
        },
    )?;
    conn.each(
        "SELECT speaker_id, recorded_at, duration_s, snr_db, sample_rate FROM recordings",
        &[],
        |r| {
            let row = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            b.add_recording(row, groups, offsets);
            Ok(())
        },
    )?;
    for (speaker, at) in &b.firsts {
        if let Some(&(g, _)) = b.speakers.get(speaker) {
            let day = offsets.day(*at);
            b.cells.entry((g, day / 100)).or_default().new_speakers += 1;
            b.day_cells.entry((g, day)).or_default().new_speakers += 1;
        }
    }
    write_rebuilt(conn, &b)?;
    write_descriptors(conn, &b)?;
    months::rebuild(conn, &b.months, |id| {
        b.speakers.get(&id).map(|(g, born)| (&b.groups[*g], *born))
    })?;
    days::rebuild(conn, &b.days, &b.groups, |id| b.speakers.get(&id).copied())?;
    let groups = std::mem::take(&mut b.groups);
    std::mem::take(&mut b.snr).write(conn, &groups, Measure::Snr)?;
    std::mem::take(&mut b.duration).write(conn, &groups, Measure::Duration)
}

/// Replaces the descriptor cells and the speakers per birth year with the
/// rebuilt ones.
fn write_descriptors(conn: &Conn, b: &Rebuilt) -> Result<()> {
    conn.batch("DELETE FROM descriptor_cells; DELETE FROM speaker_births;")?;
    let group = |g: usize| {
        let (known, category, gender, diagnosis) = &b.groups[g];
        vec![
            Value::from(*known),
            Value::from(category.as_str()),
            Value::from(gender.as_str()),
            Value::from(diagnosis.as_str()),
        ]
    };
    insert_rows(
        conn,
        "descriptor_cells (known, category, gender, diagnosis, month, kind, value, recordings,
            duration_s)",
        in_key_order(
            b.descriptors
                .iter()
                .map(|((g, month, kind, value), d)| {
                    ((&b.groups[*g], *month, (*kind, *value), *g), d)
                })
                .collect(),
        )
        .into_iter()
        .map(|((_, month, (kind, value), g), (n, seconds))| {
            let mut row = group(g);
            row.extend([
                Value::from(month),
                Value::from(kind),
                Value::from(value),
                Value::from(*n),
                Value::from(*seconds),
            ]);
            row
        }),
    )?;
    insert_rows(
        conn,
        "speaker_births (known, category, gender, diagnosis, birth_year, speakers)",
        b.births.iter().map(|((g, born), n)| {
            let mut row = group(*g);
            row.extend([Value::from(*born), Value::from(*n)]);
            row
        }),
    )?;
    conn.batch("DELETE FROM descriptor_days;")?;
    insert_rows(
        conn,
        "descriptor_days (known, day, kind, value, recordings, duration_s)",
        in_key_order(
            b.day_descriptors
                .iter()
                .map(|((g, day, kind, value), d)| ((b.groups[*g].0, *day, *kind, *value), d))
                .collect(),
        )
        .into_iter()
        .map(|((known, day, kind, value), (n, seconds))| {
            vec![
                Value::from(known),
                Value::from(day),
                Value::from(kind),
                Value::from(value),
                Value::from(*n),
                Value::from(*seconds),
            ]
        }),
    )
}

/// Replaces the whole corpus's bands per period (`column`: month or day)
/// of `table` with the rebuilt ones (keyed by grain, period, band), in the
/// order of their key.
fn write_period_bins(
    conn: &Conn,
    table: &str,
    column: &str,
    bins: HashMap<(i64, i64, i64), i64>,
) -> Result<()> {
    conn.batch(&format!("DELETE FROM {table};"))?;
    insert_rows(
        conn,
        &format!("{table} (grain, {column}, bin, recordings)"),
        in_key_order(bins)
            .into_iter()
            .map(|((grain, period, bin), n)| {
                vec![
                    Value::from(grain),
                    Value::from(period),
                    Value::from(bin),
                    Value::from(n),
                ]
            }),
    )
}

/// Replaces the recordings per value of `table` with the rebuilt ones
/// (keyed by group and the value's bits), in the order of their key.
fn write_values(
    conn: &Conn,
    groups: &[GroupKey],
    table: &str,
    values: HashMap<(usize, u64), i64>,
) -> Result<()> {
    conn.batch(&format!("DELETE FROM {table};"))?;
    let mut rows: Vec<_> = values
        .into_iter()
        .map(|((g, bits), n)| (&groups[g], f64::from_bits(bits), n))
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
    insert_rows(
        conn,
        &format!("{table} (known, category, gender, diagnosis, value, recordings)"),
        rows.into_iter()
            .map(|((known, category, gender, diagnosis), v, n)| {
                vec![
                    Value::from(*known),
                    Value::from(category.as_str()),
                    Value::from(gender.as_str()),
                    Value::from(diagnosis.as_str()),
                    Value::from(v),
                    Value::from(n),
                ]
            }),
    )
}

/// Replaces the aggregates' rows with the rebuilt ones. The first
/// recordings go in first: their triggers count new speakers in cells
/// that are replaced right after (SQLite's are set aside meanwhile).
fn write_rebuilt(conn: &Conn, b: &Rebuilt) -> Result<()> {
    without_triggers_on(conn, "speaker_firsts", || {
        conn.batch("DELETE FROM speaker_firsts;")?;
        insert_rows(
            conn,
            "speaker_firsts (speaker_id, first_at)",
            in_key_order(b.firsts.iter().collect())
                .into_iter()
                .map(|(s, at)| vec![Value::from(*s), Value::from(*at)]),
        )
    })?;
    conn.batch("DELETE FROM speaker_groups;")?;
    insert_rows(
        conn,
        "speaker_groups (category, gender, diagnosis, speakers)",
        b.speaker_counts.iter().map(|(g, n)| {
            let [_, category, gender, diagnosis] = group_values(&b.groups[*g]);
            vec![category, gender, diagnosis, Value::from(*n)]
        }),
    )?;
    write_cells(conn, &b.groups, Period::Month, &b.cells)?;
    write_cells(conn, &b.groups, Period::Day, &b.day_cells)
}

/// Replaces the cells of `period` with the rebuilt ones (keyed by group
/// and period), in the order of their key.
fn write_cells(
    conn: &Conn,
    groups: &[GroupKey],
    period: Period,
    cells: &HashMap<(usize, i64), Cell>,
) -> Result<()> {
    let (table, column) = (period.cells(), period.column());
    conn.batch(&format!("DELETE FROM {table};"))?;
    // In the order of the table's key: a month's cells by group first, a
    // day's by day first.
    let key = |g: usize, at: i64| match period {
        Period::Month => (0, &groups[g], at, g),
        Period::Day => (at, &groups[g], at, g),
    };
    insert_rows(
        conn,
        &format!(
            "{table} (known, category, gender, diagnosis, {column}, recordings, duration_s,
            snr_n, snr_sum, poor, fair, good, excellent, new_speakers)"
        ),
        in_key_order(cells.iter().map(|((g, at), c)| (key(*g, *at), c)).collect())
            .into_iter()
            .map(|((_, _, at, g), c)| {
                let mut row = group_values(&groups[g]).to_vec();
                row.extend([
                    Value::from(at),
                    Value::from(c.recordings),
                    Value::from(c.duration_s),
                    Value::from(c.snr_n),
                    Value::from(c.snr_sum),
                ]);
                row.extend(c.bands.map(Value::from));
                row.push(Value::from(c.new_speakers));
                row
            }),
    )
}

/// A group's key as the four values of its columns.
fn group_values((known, category, gender, diagnosis): &GroupKey) -> [Value; 4] {
    [
        Value::from(*known),
        Value::from(category.as_str()),
        Value::from(gender.as_str()),
        Value::from(diagnosis.as_str()),
    ]
}

/// Writes the rebuilt bands (per grain, band, group) into `table`, in the
/// order of its key.
fn write_bins(
    conn: &Conn,
    groups: &[GroupKey],
    table: &str,
    bins: &HashMap<(i64, i64, usize), i64>,
) -> Result<()> {
    insert_rows(
        conn,
        &format!("{table} (grain, bin, known, category, gender, diagnosis, recordings)"),
        in_key_order(
            bins.iter()
                .map(|((grain, bin, g), n)| ((*grain, &groups[*g], *bin, *g), n))
                .collect(),
        )
        .into_iter()
        .map(|((grain, _, bin, g), n)| {
            let mut row = vec![Value::from(grain), Value::from(bin)];
            row.extend(group_values(&groups[g]));
            row.push(Value::from(*n));
            row
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_band_lies_in_one_wide_band() {
        for v in [-0.005, -1.0, 9.995, 9.999999999999998, 20.07, 0.0, 199.99] {
            let (fine, coarse) = (fine_band(v), coarse_band(v));
            assert_eq!(coarse, fine.div_euclid(100), "{v}");
            // The median reads the band with this margin.
            let (from, until) = ((fine as f64 - 0.001) / 100.0, (fine as f64 + 1.001) / 100.0);
            assert!(from <= v && v < until, "{v}");
        }
        assert_eq!(fine_band(20.07), (20.07f64 * 100.0).floor() as i64);
        assert_eq!(coarse_band(-0.005), -1);
    }
}
