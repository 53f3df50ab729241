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
//!   median of a range of days.
//!
//! The statements of the triggers are written once for both engines: each
//! reads its rows from `r` (recordings), `s` (speakers) or `f` (first
//! recordings), which SQLite binds to the one row of a row trigger and
//! PostgreSQL to the transition table of a statement trigger.

use std::collections::HashMap;

use super::{
    floor_sql, in_key_order, insert_rows, local_month_sql, without_triggers_on, Side, SideSql,
    ZoneOffsets,
};
use crate::store::{Conn, Engine, Result, Value};

/// The tables of `engine`, and the SNR index made covering for a group's
/// values in one narrow band (value, speaker: no table lookup per value).
/// A zero row is deleted as soon as it is zero; the partial indexes find
/// it without a scan. In SQLite the tables read
/// by range are clustered on their key (`WITHOUT ROWID`): a band walk then
/// reads the rows in place instead of one table lookup each.
pub(super) fn tables_sql(engine: Engine) -> String {
    clustered(engine, TABLES_SQL)
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
CREATE TABLE recording_cells (
    known BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    month BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    snr_n BIGINT NOT NULL,
    snr_sum DOUBLE PRECISION NOT NULL,
    poor BIGINT NOT NULL,
    fair BIGINT NOT NULL,
    good BIGINT NOT NULL,
    excellent BIGINT NOT NULL,
    new_speakers BIGINT NOT NULL,
    PRIMARY KEY (known, category, gender, diagnosis, month)
)@CLUSTERED@;
CREATE INDEX recording_cells_empty ON recording_cells(month)
    WHERE recordings = 0 AND new_speakers = 0;
CREATE TABLE snr_bins (
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
};

/// The group of the speaker row `s`, which exists.
const SPEAKER: Group = Group {
    known: "1",
    category: "COALESCE(s.category, '')",
    gender: "COALESCE(s.gender, '')",
    diagnosis: "COALESCE(s.diagnosis, '')",
};

/// Every recording, whatever its speaker: the SNR bands of the whole
/// corpus, so that its median walks a few rows per band, not one per group.
const EVERY: Group = Group {
    known: "2",
    category: "''",
    gender: "''",
    diagnosis: "''",
};

/// Recordings of a speaker id with no row.
const ORPHAN: Group = Group {
    known: "0",
    category: "''",
    gender: "''",
    diagnosis: "''",
};

/// Adds the rows of `select` (every column of `recording_cells`, in
/// order) to the cells, and deletes the cells that became zero.
fn into_cells(select: &str) -> String {
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
    .map(|c| format!("{c} = recording_cells.{c} + excluded.{c}"))
    .join(", ");
    format!(
        "INSERT INTO recording_cells (known, category, gender, diagnosis, month, recordings,
            duration_s, snr_n, snr_sum, poor, fair, good, excellent, new_speakers)
        {select}
        ON CONFLICT (known, category, gender, diagnosis, month) DO UPDATE SET {sums};
    DELETE FROM recording_cells WHERE recordings = 0 AND new_speakers = 0;\n"
    )
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
    let month = local_month_sql(engine, "r.recorded_at");
    let band = |lo: &str, hi: &str| format!("{sign}SUM(CASE WHEN {lo} {hi} THEN 1 ELSE 0 END)");
    let bands = [
        band("r.snr_db < 10", ""),
        band("r.snr_db >= 10", "AND r.snr_db < 20"),
        band("r.snr_db >= 20", "AND r.snr_db < 30"),
        band("r.snr_db >= 30", ""),
    ]
    .join(", ");
    let mut sql = into_cells(&format!(
        "SELECT {}, {month}, {sign}COUNT(*), {sign}SUM(r.duration_s), {sign}COUNT(r.snr_db),
            {sign}COALESCE(SUM(r.snr_db), 0), {bands}, 0
        FROM {from} WHERE true GROUP BY 1, 2, 3, 4, 5",
        group.columns()
    ));
    let fine = floor_sql(engine, "r.snr_db * 100");
    let coarse = floor_sql(engine, &format!("{fine} / 100.0"));
    let groups: &[&Group] = if whole_corpus {
        &[group, &EVERY]
    } else {
        &[group]
    };
    for (grain, band, group) in groups
        .iter()
        .flat_map(|g| [(FINE, fine.clone(), *g), (COARSE, coarse.clone(), *g)])
    {
        sql.push_str(&format!(
            "INSERT INTO snr_bins (grain, bin, known, category, gender, diagnosis, recordings)
        SELECT {grain}, {band}, {}, {sign}COUNT(*)
        FROM {from} WHERE r.snr_db IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (grain, bin, known, category, gender, diagnosis)
        DO UPDATE SET recordings = snr_bins.recordings + excluded.recordings;\n",
            group.columns()
        ));
    }
    sql.push_str("DELETE FROM snr_bins WHERE recordings = 0;\n");
    if whole_corpus {
        for (grain, band) in [(FINE, &fine), (COARSE, &coarse)] {
            sql.push_str(&format!(
                "INSERT INTO snr_month_bins (grain, month, bin, recordings)
        SELECT {grain}, {month}, {band}, {sign}COUNT(*)
        FROM {from} WHERE r.snr_db IS NOT NULL GROUP BY 1, 2, 3
        ON CONFLICT (grain, month, bin)
        DO UPDATE SET recordings = snr_month_bins.recordings + excluded.recordings;\n"
            ));
        }
        sql.push_str("DELETE FROM snr_month_bins WHERE recordings = 0;\n");
    }
    for group in groups {
        sql.push_str(&format!(
            "INSERT INTO snr_values (known, category, gender, diagnosis, value, recordings)
        SELECT {}, r.snr_db, {sign}COUNT(*)
        FROM {from} WHERE r.snr_db IS NOT NULL GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (known, category, gender, diagnosis, value)
        DO UPDATE SET recordings = snr_values.recordings + excluded.recordings;\n",
            group.columns()
        ));
    }
    sql.push_str("DELETE FROM snr_values WHERE recordings = 0;\n");
    sql
}

/// Counts the first recordings `f` of `from`, joined to their speaker
/// rows `s`, as new speakers of their month.
fn count_firsts(engine: Engine, from: &str, sign: &str) -> String {
    let month = local_month_sql(engine, "f.first_at");
    into_cells(&format!(
        "SELECT {}, {month}, 0, 0, 0, 0, 0, 0, 0, 0, {sign}COUNT(*)
        FROM {from} WHERE true GROUP BY 1, 2, 3, 4, 5",
        SPEAKER.columns()
    ))
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

const RECORDING: &[&str] = &["speaker_id", "recorded_at", "duration_s", "snr_db"];
const SPEAKER_ROW: &[&str] = &["id", "category", "gender", "diagnosis"];
const FIRST: &[&str] = &["speaker_id", "first_at"];

/// What a side of a write to `recordings` does: its rows counted in their
/// speaker's group (or kept apart), and their speakers' first recordings.
fn recordings_side(side: Side, sign: &str) -> String {
    let r = side.rows(RECORDING, "r");
    let from = format!("{r} LEFT JOIN speakers s ON s.id = r.speaker_id");
    let mut sql = count_recordings(side.engine(), &from, &JOINED, sign, true);
    sql.push_str(&refresh_firsts(&format!("SELECT r.speaker_id FROM {r}")));
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
    DELETE FROM speaker_groups WHERE speakers = 0;\n",
        SPEAKER.category, SPEAKER.gender, SPEAKER.diagnosis
    );
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

/// Rebuilds the corpus aggregates from the rows, inside the caller's write
/// transaction, in months of `offsets`: one pass over the recordings,
/// summed here.
pub fn rebuild(conn: &Conn, offsets: &ZoneOffsets) -> Result<()> {
    let mut groups: Vec<GroupKey> = Vec::new();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut group_of = |key: GroupKey| -> usize {
        *index.entry(key.clone()).or_insert_with(|| {
            groups.push(key);
            groups.len() - 1
        })
    };
    let orphan = group_of((0, String::new(), String::new(), String::new()));
    let every = group_of((2, String::new(), String::new(), String::new()));
    let mut speakers: HashMap<i64, usize> = HashMap::new();
    let mut speaker_counts: HashMap<usize, i64> = HashMap::new();
    conn.each(
        "SELECT id, COALESCE(category, ''), COALESCE(gender, ''), COALESCE(diagnosis, '')
         FROM speakers",
        &[],
        |r| {
            let g = group_of((1, r.get(1)?, r.get(2)?, r.get(3)?));
            speakers.insert(r.get(0)?, g);
            *speaker_counts.entry(g).or_default() += 1;
            Ok(())
        },
    )?;
    let mut cells: HashMap<(usize, i64), Cell> = HashMap::new();
    let mut bins: HashMap<(i64, i64, usize), i64> = HashMap::new();
    // Keyed by the value's bits; SQL keeps 0.0 and -0.0 as one value.
    let mut values: HashMap<(usize, u64), i64> = HashMap::new();
    let mut month_bins: HashMap<(i64, i64, i64), i64> = HashMap::new();
    let mut firsts: HashMap<i64, i64> = HashMap::new();
    conn.each(
        "SELECT speaker_id, recorded_at, duration_s, snr_db FROM recordings",
        &[],
        |r| {
            let (speaker, at): (i64, i64) = (r.get(0)?, r.get(1)?);
            let snr: Option<f64> = r.get(3)?;
            let g = speakers.get(&speaker).copied().unwrap_or(orphan);
            let month = offsets.month(at);
            let cell = cells.entry((g, month)).or_default();
            cell.recordings += 1;
            cell.duration_s += r.get::<f64>(2)?;
            if let Some(v) = snr {
                cell.snr_n += 1;
                cell.snr_sum += v;
                cell.bands
                    [usize::from(v >= 10.0) + usize::from(v >= 20.0) + usize::from(v >= 30.0)] += 1;
                let bits = if v == 0.0 {
                    0f64.to_bits()
                } else {
                    v.to_bits()
                };
                *month_bins.entry((FINE, month, fine_band(v))).or_default() += 1;
                *month_bins
                    .entry((COARSE, month, coarse_band(v)))
                    .or_default() += 1;
                for g in [g, every] {
                    *bins.entry((FINE, fine_band(v), g)).or_default() += 1;
                    *bins.entry((COARSE, coarse_band(v), g)).or_default() += 1;
                    *values.entry((g, bits)).or_default() += 1;
                }
            }
            let first = firsts.entry(speaker).or_insert(at);
            *first = (*first).min(at);
            Ok(())
        },
    )?;
    for (speaker, at) in &firsts {
        if let Some(&g) = speakers.get(speaker) {
            cells
                .entry((g, offsets.month(*at)))
                .or_default()
                .new_speakers += 1;
        }
    }
    write_rebuilt(conn, &groups, &speaker_counts, &cells, &bins, &firsts)?;
    write_values(conn, &groups, values)?;
    write_month_bins(conn, month_bins)
}

/// Replaces the corpus's SNR bands per month with the rebuilt ones
/// (keyed by grain, month, band), in the order of their key.
fn write_month_bins(conn: &Conn, month_bins: HashMap<(i64, i64, i64), i64>) -> Result<()> {
    conn.batch("DELETE FROM snr_month_bins;")?;
    insert_rows(
        conn,
        "snr_month_bins (grain, month, bin, recordings)",
        in_key_order(month_bins)
            .into_iter()
            .map(|((grain, month, bin), n)| {
                vec![
                    Value::from(grain),
                    Value::from(month),
                    Value::from(bin),
                    Value::from(n),
                ]
            }),
    )
}

/// Replaces the recordings per SNR value with the rebuilt ones (keyed by
/// group and the value's bits), in the order of their key.
fn write_values(
    conn: &Conn,
    groups: &[GroupKey],
    values: HashMap<(usize, u64), i64>,
) -> Result<()> {
    conn.batch("DELETE FROM snr_values;")?;
    let mut rows: Vec<_> = values
        .into_iter()
        .map(|((g, bits), n)| (&groups[g], f64::from_bits(bits), n))
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
    insert_rows(
        conn,
        "snr_values (known, category, gender, diagnosis, value, recordings)",
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
fn write_rebuilt(
    conn: &Conn,
    groups: &[GroupKey],
    speaker_counts: &HashMap<usize, i64>,
    cells: &HashMap<(usize, i64), Cell>,
    bins: &HashMap<(i64, i64, usize), i64>,
    firsts: &HashMap<i64, i64>,
) -> Result<()> {
    without_triggers_on(conn, "speaker_firsts", || {
        conn.batch("DELETE FROM speaker_firsts;")?;
        insert_rows(
            conn,
            "speaker_firsts (speaker_id, first_at)",
            in_key_order(firsts.iter().collect())
                .into_iter()
                .map(|(s, at)| vec![Value::from(*s), Value::from(*at)]),
        )
    })?;
    conn.batch("DELETE FROM speaker_groups; DELETE FROM recording_cells; DELETE FROM snr_bins;")?;
    let group = |g: usize| {
        let (known, category, gender, diagnosis) = &groups[g];
        [
            Value::from(*known),
            Value::from(category.as_str()),
            Value::from(gender.as_str()),
            Value::from(diagnosis.as_str()),
        ]
    };
    insert_rows(
        conn,
        "speaker_groups (category, gender, diagnosis, speakers)",
        speaker_counts.iter().map(|(g, n)| {
            let [_, category, gender, diagnosis] = group(*g);
            vec![category, gender, diagnosis, Value::from(*n)]
        }),
    )?;
    insert_rows(
        conn,
        "recording_cells (known, category, gender, diagnosis, month, recordings, duration_s,
            snr_n, snr_sum, poor, fair, good, excellent, new_speakers)",
        in_key_order(
            cells
                .iter()
                .map(|((g, month), c)| ((&groups[*g], month, *g), c))
                .collect(),
        )
        .into_iter()
        .map(|((_, month, g), c)| {
            let mut row = group(g).to_vec();
            row.extend([
                Value::from(*month),
                Value::from(c.recordings),
                Value::from(c.duration_s),
                Value::from(c.snr_n),
                Value::from(c.snr_sum),
            ]);
            row.extend(c.bands.map(Value::from));
            row.push(Value::from(c.new_speakers));
            row
        }),
    )?;
    insert_rows(
        conn,
        "snr_bins (grain, bin, known, category, gender, diagnosis, recordings)",
        in_key_order(
            bins.iter()
                .map(|((grain, bin, g), n)| ((*grain, &groups[*g], *bin, *g), n))
                .collect(),
        )
        .into_iter()
        .map(|((grain, _, bin, g), n)| {
            let mut row = vec![Value::from(grain), Value::from(bin)];
            row.extend(group(g));
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
