//! The speakers of a range of whole months, kept by the writes:
//!
//! - `speaker_months`: each speaker id's recordings per local month
//!   (`YYYYMM`), a row only for a month with some;
//! - `month_speakers`: speakers per month and the month they last
//!   recorded in before it (`previous_month`, 0 for none), per group
//!   (`kind` 1: category, gender, diagnosis; `birth_year` 0) and per birth
//!   year over every group (`kind` 2: the three texts empty; 0 for none).
//!   Only speakers with a row count.
//!
//! A speaker recorded in the months `first..=last` exactly when their
//! first month in it has a previous month before `first`: so the speakers
//! of the range are the sum of the rows with `month` in it and
//! `previous_month < first`, a few rows per group and month however many
//! speakers there are, where a count of distinct speakers read every
//! recording of the range.
//!
//! `speaker_months` changes its months only by an insert or a delete (a
//! recording in a month that already has some changes its count, which no
//! aggregate reads), so its triggers run on those two alone.

use std::collections::HashMap;

use super::{in_key_order, insert_rows, local_month_sql, without_triggers_on, Side, SideSql};
use crate::store::{Conn, Engine, Result, Value};

/// The two tables, for `engine` (clustered on their key in SQLite).
pub(crate) fn tables_sql(engine: Engine) -> String {
    let clustered = match engine {
        Engine::Sqlite => " WITHOUT ROWID",
        Engine::Postgres => "",
    };
    SPEAKER_MONTHS.table_sql(clustered)
        + &format!(
            "
CREATE TABLE month_speakers (
    month BIGINT NOT NULL,
    previous_month BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    birth_year BIGINT NOT NULL,
    speakers BIGINT NOT NULL,
    PRIMARY KEY (month, previous_month, kind, category, gender, diagnosis, birth_year)
){clustered};
CREATE INDEX month_speakers_empty ON month_speakers(month) WHERE speakers = 0;
"
        )
}

/// `kind` of the rows per group.
pub const PER_GROUP: i64 = 1;
/// `kind` of the rows per birth year.
pub const PER_BIRTH_YEAR: i64 = 2;

/// Each speaker's periods with recordings, in a table of (speaker_id,
/// period, recordings) whose inserts and deletes move the speakers'
/// chains of periods: `speaker_months` here, `speaker_days` in
/// [`days`](super::days).
pub(super) struct SpeakerPeriods {
    /// The table.
    pub table: &'static str,
    /// Its period's column.
    pub column: &'static str,
}

/// Each speaker's months.
const SPEAKER_MONTHS: SpeakerPeriods = SpeakerPeriods {
    table: "speaker_months",
    column: "month",
};

impl SpeakerPeriods {
    /// The table, clustered on its key with `clustered` (SQLite's
    /// `WITHOUT ROWID`).
    pub(super) fn table_sql(&self, clustered: &str) -> String {
        let (table, column) = (self.table, self.column);
        format!(
            "
CREATE TABLE {table} (
    speaker_id BIGINT NOT NULL,
    {column} BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (speaker_id, {column})
){clustered};
CREATE INDEX {table}_empty ON {table}({column}) WHERE recordings = 0;
"
        )
    }

    /// What the recordings `r` (a side's rows, with `sign`) add to their
    /// speakers' periods, `period` being the SQL of a recording's; a
    /// period left without recordings is deleted.
    pub(super) fn count_recordings(&self, period: &str, r: &str, sign: &str) -> String {
        let (table, column) = (self.table, self.column);
        format!(
            "INSERT INTO {table} (speaker_id, {column}, recordings)
        SELECT r.speaker_id, {period}, {sign}COUNT(*) FROM {r} WHERE true GROUP BY 1, 2
        ON CONFLICT (speaker_id, {column})
        DO UPDATE SET recordings = {table}.recordings + excluded.recordings;
    DELETE FROM {table} WHERE recordings = 0;\n"
        )
    }

    /// The periods (speaker_id, period) of the speakers of a side of an
    /// insert or a delete on the table, as they are now and as they were
    /// before the write: without the rows inserted (`sign` `""`), with the
    /// rows deleted (`"-"`).
    pub(super) fn now_and_before(&self, side: Side, sign: &str) -> (String, String) {
        let (table, column) = (self.table, self.column);
        let key = ["speaker_id", column];
        let r = side.rows(&key, "r");
        let now = format!(
            "SELECT speaker_id, {column} FROM {table}
        WHERE speaker_id IN (SELECT r.speaker_id FROM {r})"
        );
        let before = if sign.is_empty() {
            let inserted = side.rows(&key, "i");
            format!(
                "{now} AND NOT EXISTS (SELECT 1 FROM {inserted}
                WHERE i.speaker_id = {table}.speaker_id AND i.{column} = {table}.{column})"
            )
        } else {
            format!("{now} UNION ALL SELECT r.speaker_id, r.{column} FROM {r}")
        };
        (now, before)
    }

    /// The periods (speaker_id, period) of the speakers of the rows `s`.
    pub(super) fn of_speakers(&self, s: &str) -> String {
        format!(
            "SELECT speaker_id, {} FROM {} WHERE speaker_id IN (SELECT s.id FROM {s})",
            self.column, self.table
        )
    }

    /// Replaces the table's rows with `rows` (speaker id, period,
    /// recordings), its own triggers set aside, inside the caller's write
    /// transaction.
    pub(super) fn replace(&self, conn: &Conn, rows: &[(i64, i64, i64)]) -> Result<()> {
        let (table, column) = (self.table, self.column);
        without_triggers_on(conn, table, || {
            conn.batch(&format!("DELETE FROM {table};"))?;
            insert_rows(
                conn,
                &format!("{table} (speaker_id, {column}, recordings)"),
                rows.iter()
                    .map(|&(s, p, n)| vec![Value::from(s), Value::from(p), Value::from(n)]),
            )
        })
    }
}

/// The two keys (kind, category, gender, diagnosis, birth year) a speaker
/// row `s` counts under: their group, and their birth year.
pub(super) fn group_and_birth_keys() -> [String; 2] {
    [
        format!(
            "{PER_GROUP}, COALESCE(s.category, ''), COALESCE(s.gender, ''),
            COALESCE(s.diagnosis, ''), 0"
        ),
        format!("{PER_BIRTH_YEAR}, '', '', '', COALESCE(s.birth_year, 0)"),
    ]
}

/// What the recordings `r` (a side's rows, with `sign`) add to their
/// speakers' months; a month left without recordings is deleted.
pub(crate) fn count_recordings(engine: Engine, r: &str, sign: &str) -> String {
    let month = local_month_sql(engine, "r.recorded_at");
    SPEAKER_MONTHS.count_recordings(&month, r, sign)
}

/// The rows (speaker_id, month) of `months`, each with the speaker's
/// previous month in them (0 for none), weighted `n`.
fn with_previous(months: &str, n: &str) -> String {
    format!(
        "SELECT m.speaker_id, m.month,
            COALESCE(LAG(m.month) OVER (PARTITION BY m.speaker_id ORDER BY m.month), 0)
                AS previous_month,
            {n} AS n
        FROM ({months}) m"
    )
}

/// Adds the weighted months `months` (from [`with_previous`]) to
/// `month_speakers`, each under the group and the birth year of its
/// speaker row, found in `speakers` (aliased `s`).
fn into_month_speakers(months: &str, speakers: &str) -> String {
    let mut sql = String::new();
    for key in group_and_birth_keys() {
        sql.push_str(&format!(
            "INSERT INTO month_speakers (month, previous_month, kind, category, gender, diagnosis,
            birth_year, speakers)
        SELECT l.month, l.previous_month, {key}, SUM(l.n)
        FROM ({months}) l JOIN {speakers} ON s.id = l.speaker_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(l.n) <> 0
        ON CONFLICT (month, previous_month, kind, category, gender, diagnosis, birth_year)
        DO UPDATE SET speakers = month_speakers.speakers + excluded.speakers;\n"
        ));
    }
    sql.push_str("DELETE FROM month_speakers WHERE speakers = 0;\n");
    sql
}

/// What a side of an insert or a delete on `speaker_months` does: the
/// chain of months of each of its speakers as it is now is added, and as it
/// was before the write taken away. Before: without the rows inserted
/// (`sign` `""`), with the rows deleted (`"-"`).
fn speaker_months_side(side: Side, sign: &str) -> String {
    let (now, before) = SPEAKER_MONTHS.now_and_before(side, sign);
    let months = format!(
        "{} UNION ALL {}",
        with_previous(&now, "1"),
        with_previous(&before, "-1")
    );
    into_month_speakers(&months, "speakers s")
}

/// What a side of a write to `speakers` (rows `s`) does: the months of
/// those speakers counted under their group and birth year (`sign` `""`)
/// or taken away from them (`"-"`).
pub(crate) fn count_speakers(s: &str, sign: &str) -> String {
    let months = SPEAKER_MONTHS.of_speakers(s);
    into_month_speakers(&with_previous(&months, &format!("{sign}1")), s)
}

/// The table whose inserts and deletes adjust `month_speakers`, with what
/// a side of them does (no update trigger: see the module's doc).
pub(crate) const KEPT: (&str, &str, SideSql) =
    (SPEAKER_MONTHS.table, "aggregates", speaker_months_side);

/// The key of a `month_speakers` row: month, previous month, kind,
/// category, gender, diagnosis, birth year.
type MonthKey<'a> = (i64, i64, i64, &'a str, &'a str, &'a str, i64);

/// Replaces both tables with those of `months` (recordings per speaker id
/// and month), each speaker's group and birth year given by `speaker`
/// (none: no row), inside the caller's write transaction.
pub(crate) fn rebuild<'a>(
    conn: &Conn,
    months: &HashMap<(i64, i64), i64>,
    speaker: impl Fn(i64) -> Option<(&'a (i64, String, String, String), i64)>,
) -> Result<()> {
    let mut ordered: Vec<(i64, i64, i64)> = months.iter().map(|(&(s, m), &n)| (s, m, n)).collect();
    ordered.sort_unstable();
    let mut counts: HashMap<MonthKey, i64> = HashMap::new();
    let mut previous: Option<(i64, i64)> = None;
    for &(id, month, _) in &ordered {
        let before = match previous {
            Some((s, m)) if s == id => m,
            _ => 0,
        };
        previous = Some((id, month));
        if let Some(((_, category, gender, diagnosis), born)) = speaker(id) {
            let (c, g, d) = (category.as_str(), gender.as_str(), diagnosis.as_str());
            for key in [(PER_GROUP, c, g, d, 0), (PER_BIRTH_YEAR, "", "", "", born)] {
                let (kind, c, g, d, born) = key;
                *counts
                    .entry((month, before, kind, c, g, d, born))
                    .or_default() += 1;
            }
        }
    }
    SPEAKER_MONTHS.replace(conn, &ordered)?;
    conn.batch("DELETE FROM month_speakers;")?;
    insert_rows(
        conn,
        "month_speakers (month, previous_month, kind, category, gender, diagnosis, birth_year,
            speakers)",
        in_key_order(counts).into_iter().map(
            |((month, before, kind, category, gender, diagnosis, born), n)| {
                vec![
                    Value::from(month),
                    Value::from(before),
                    Value::from(kind),
                    Value::from(category),
                    Value::from(gender),
                    Value::from(diagnosis),
                    Value::from(born),
                    Value::from(n),
                ]
            },
        ),
    )
}
