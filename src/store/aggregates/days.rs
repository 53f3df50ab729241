//! The speakers of a range of days that starts or ends inside a month,
//! kept by the writes:
//!
//! - `speaker_days`: each speaker id's recordings per local day
//!   (`YYYYMMDD`), a row only for a day with some;
//! - five counts of speakers over each speaker's chain of days, per group
//!   (`kind` 1) and per birth year (`kind` 2), as in
//!   [`months`](super::months). Each day of a speaker's is a point: the day
//!   `d`, the day they recorded before it `p` and after it `n` (0 for
//!   none). Only speakers with a row count.
//!   - `day_lasts`: per month, speakers by their last day in it;
//!   - `day_firsts`: per month, speakers by their first day in it and the
//!     month they recorded in before;
//!   - `day_links`: per month, speakers by the month and the last day they
//!     recorded on before it;
//!   - `day_returns`: the same with their first day in the month, for a
//!     return from one month to another;
//!   - `day_gaps`: per month, speakers by a day and the day before it they
//!     last recorded on in the same month, when they skipped a day.
//!
//! A speaker recorded on a day of `a..=b` (in the months `Ma..=Mb`)
//! exactly when they recorded in `Ma` on or after `a`, or came back after
//! `a` (a month in `Ma+1..=Mb` whose previous day is before `a`), minus
//! those who came back only after `b`: in `Mb` after `b` from before `a`
//! (from another month, or within `Ma` when the range lies in one month).
//! Each term is a range of rows of one table, a few per group and day
//! however many speakers there are: see [`DataView::speakers_of_days`].
//!
//! [`DataView::speakers_of_days`]: crate::store::DataView::speakers_of_days

use std::collections::HashMap;

use super::months::{PER_BIRTH_YEAR, PER_GROUP};
use super::{in_key_order, insert_rows, local_day_sql, without_triggers_on, Side, SideSql};
use crate::store::{Conn, Engine, Result, Value};

/// One count over the points of the speakers' chains of days.
struct Count {
    /// Its table.
    table: &'static str,
    /// The columns of its key before the group's.
    columns: &'static [&'static str],
    /// Their values for a point `p` (`day`, `previous_day`, `next_day`).
    values: &'static str,
    /// Which points it counts.
    when: &'static str,
}

/// The five counts. The SQL of `values` and `when` is plain integer
/// arithmetic, read the same by both engines; [`keys_of`] is its twin for
/// a rebuild.
const COUNTS: [Count; 5] = [
    Count {
        table: "day_lasts",
        columns: &["month", "last_day"],
        values: "p.day / 100, p.day",
        when: "p.next_day = 0 OR p.next_day / 100 <> p.day / 100",
    },
    Count {
        table: "day_firsts",
        columns: &["month", "first_day", "previous_month"],
        values: "p.day / 100, p.day, p.previous_day / 100",
        when: "p.previous_day / 100 <> p.day / 100",
    },
    Count {
        table: "day_links",
        columns: &["previous_month", "previous_last_day", "month"],
        values: "p.previous_day / 100, p.previous_day, p.day / 100",
        when: "p.previous_day <> 0 AND p.previous_day / 100 <> p.day / 100",
    },
    Count {
        table: "day_returns",
        columns: &["month", "previous_month", "previous_last_day", "first_day"],
        values: "p.day / 100, p.previous_day / 100, p.previous_day, p.day",
        when: "p.previous_day <> 0 AND p.previous_day / 100 <> p.day / 100",
    },
    // A day right after the previous one lies in every range holding both.
    Count {
        table: "day_gaps",
        columns: &["month", "day", "previous_day"],
        values: "p.day / 100, p.day, p.previous_day",
        when: "p.previous_day / 100 = p.day / 100 AND p.day > p.previous_day + 1",
    },
];

/// The keys (before the group's) the point (`previous`, `day`, `next`)
/// counts under, per count of [`COUNTS`]: the twin of their SQL.
fn keys_of(previous: i64, day: i64, next: i64) -> [Option<Vec<i64>>; 5] {
    let (month, previous_month) = (day / 100, previous / 100);
    let new_month = previous_month != month;
    [
        (next == 0 || next / 100 != month).then(|| vec![month, day]),
        new_month.then(|| vec![month, day, previous_month]),
        (previous != 0 && new_month).then(|| vec![previous_month, previous, month]),
        (previous != 0 && new_month).then(|| vec![month, previous_month, previous, day]),
        (!new_month && day > previous + 1).then(|| vec![month, day, previous]),
    ]
}

/// The tables, for `engine` (clustered on their key in SQLite).
pub(crate) fn tables_sql(engine: Engine) -> String {
    let clustered = match engine {
        Engine::Sqlite => " WITHOUT ROWID",
        Engine::Postgres => "",
    };
    let mut sql = format!(
        "
CREATE TABLE speaker_days (
    speaker_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    recordings BIGINT NOT NULL,
    PRIMARY KEY (speaker_id, day)
){clustered};
CREATE INDEX speaker_days_empty ON speaker_days(day) WHERE recordings = 0;
"
    );
    for count in &COUNTS {
        let columns: String = count
            .columns
            .iter()
            .map(|c| format!("    {c} BIGINT NOT NULL,\n"))
            .collect();
        sql.push_str(&format!(
            "CREATE TABLE {table} (
{columns}    kind BIGINT NOT NULL,
    category TEXT NOT NULL,
    gender TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    birth_year BIGINT NOT NULL,
    speakers BIGINT NOT NULL,
    PRIMARY KEY ({key}, kind, category, gender, diagnosis, birth_year)
){clustered};
CREATE INDEX {table}_empty ON {table}(kind) WHERE speakers = 0;
",
            table = count.table,
            key = count.columns.join(", "),
        ));
    }
    sql
}

/// What the recordings `r` (a side's rows, with `sign`) add to their
/// speakers' days; a day left without recordings is deleted.
pub(crate) fn count_recordings(engine: Engine, r: &str, sign: &str) -> String {
    let day = local_day_sql(engine, "r.recorded_at");
    format!(
        "INSERT INTO speaker_days (speaker_id, day, recordings)
        SELECT r.speaker_id, {day}, {sign}COUNT(*) FROM {r} WHERE true GROUP BY 1, 2
        ON CONFLICT (speaker_id, day)
        DO UPDATE SET recordings = speaker_days.recordings + excluded.recordings;
    DELETE FROM speaker_days WHERE recordings = 0;\n"
    )
}

/// The points of the days `days` (speaker_id, day): each with the
/// speaker's previous and next day in them (0 for none), weighted `n`.
fn points(days: &str, n: &str) -> String {
    format!(
        "SELECT m.speaker_id, m.day,
            COALESCE(LAG(m.day) OVER (PARTITION BY m.speaker_id ORDER BY m.day), 0)
                AS previous_day,
            COALESCE(LEAD(m.day) OVER (PARTITION BY m.speaker_id ORDER BY m.day), 0)
                AS next_day,
            {n} AS n
        FROM ({days}) m"
    )
}

/// Adds the weighted points `points` to the five counts, each under the
/// group and the birth year of its speaker row, found in `speakers`
/// (aliased `s`).
fn into_counts(points: &str, speakers: &str) -> String {
    let mut sql = String::new();
    for count in &COUNTS {
        let (table, key) = (count.table, count.columns.join(", "));
        let grouped: Vec<String> = (1..=count.columns.len() + 5)
            .map(|i| i.to_string())
            .collect();
        for group in [
            format!(
                "{PER_GROUP}, COALESCE(s.category, ''), COALESCE(s.gender, ''),
            COALESCE(s.diagnosis, ''), 0"
            ),
            format!("{PER_BIRTH_YEAR}, '', '', '', COALESCE(s.birth_year, 0)"),
        ] {
            sql.push_str(&format!(
                "INSERT INTO {table} ({key}, kind, category, gender, diagnosis, birth_year, speakers)
        SELECT {values}, {group}, SUM(p.n)
        FROM ({points}) p JOIN {speakers} ON s.id = p.speaker_id
        WHERE {when}
        GROUP BY {grouped} HAVING SUM(p.n) <> 0
        ON CONFLICT ({key}, kind, category, gender, diagnosis, birth_year)
        DO UPDATE SET speakers = {table}.speakers + excluded.speakers;\n",
                values = count.values,
                when = count.when,
                grouped = grouped.join(", "),
            ));
        }
        sql.push_str(&format!("DELETE FROM {table} WHERE speakers = 0;\n"));
    }
    sql
}

const SPEAKER_DAY: &[&str] = &["speaker_id", "day"];

/// What a side of an insert or a delete on `speaker_days` does: the chain
/// of days of each of its speakers as it is now is added, and as it was
/// before the write taken away. Before: without the rows inserted (`sign`
/// `""`), with the rows deleted (`"-"`).
fn speaker_days_side(side: Side, sign: &str) -> String {
    let r = side.rows(SPEAKER_DAY, "r");
    let now = format!(
        "SELECT speaker_id, day FROM speaker_days
        WHERE speaker_id IN (SELECT r.speaker_id FROM {r})"
    );
    let before = if sign.is_empty() {
        let inserted = side.rows(SPEAKER_DAY, "i");
        format!(
            "{now} AND NOT EXISTS (SELECT 1 FROM {inserted}
                WHERE i.speaker_id = speaker_days.speaker_id AND i.day = speaker_days.day)"
        )
    } else {
        format!("{now} UNION ALL SELECT r.speaker_id, r.day FROM {r}")
    };
    let points = format!("{} UNION ALL {}", points(&now, "1"), points(&before, "-1"));
    into_counts(&points, "speakers s")
}

/// What a side of a write to `speakers` (rows `s`) does: the points of
/// those speakers counted under their group and birth year (`sign` `""`)
/// or taken away from them (`"-"`).
pub(crate) fn count_speakers(s: &str, sign: &str) -> String {
    let days = format!(
        "SELECT speaker_id, day FROM speaker_days WHERE speaker_id IN (SELECT s.id FROM {s})"
    );
    into_counts(&points(&days, &format!("{sign}1")), s)
}

/// The table whose inserts and deletes adjust the counts, with what a
/// side of them does (no update trigger: a day that keeps recordings
/// changes no point).
pub(crate) const KEPT: (&str, &str, SideSql) = ("speaker_days", "aggregates", speaker_days_side);

/// The key of a count's row: its own columns, kind, category, gender,
/// diagnosis, birth year.
type CountKey<'a> = (Vec<i64>, i64, &'a str, &'a str, &'a str, i64);

/// Replaces the tables with those of `days` (recordings per speaker id
/// and day), each speaker's group and birth year given by `speaker` (none:
/// no row), inside the caller's write transaction.
pub(crate) fn rebuild<'a>(
    conn: &Conn,
    days: &HashMap<(i64, i64), i64>,
    speaker: impl Fn(i64) -> Option<(&'a (i64, String, String, String), i64)>,
) -> Result<()> {
    let mut ordered: Vec<(i64, i64, i64)> = days.iter().map(|(&(s, d), &n)| (s, d, n)).collect();
    ordered.sort_unstable();
    let mut counts: [HashMap<CountKey, i64>; 5] = Default::default();
    for (i, &(id, day, _)) in ordered.iter().enumerate() {
        let Some(((_, category, gender, diagnosis), born)) = speaker(id) else {
            continue;
        };
        let of_speaker = |j: Option<usize>| {
            j.and_then(|j| ordered.get(j))
                .filter(|(s, ..)| *s == id)
                .map_or(0, |(_, d, _)| *d)
        };
        let (previous, next) = (of_speaker(i.checked_sub(1)), of_speaker(Some(i + 1)));
        let (c, g, d) = (category.as_str(), gender.as_str(), diagnosis.as_str());
        for (count, key) in counts.iter_mut().zip(keys_of(previous, day, next)) {
            let Some(key) = key else { continue };
            for (kind, c, g, d, born) in
                [(PER_GROUP, c, g, d, 0), (PER_BIRTH_YEAR, "", "", "", born)]
            {
                *count.entry((key.clone(), kind, c, g, d, born)).or_default() += 1;
            }
        }
    }
    without_triggers_on(conn, "speaker_days", || {
        conn.batch("DELETE FROM speaker_days;")?;
        insert_rows(
            conn,
            "speaker_days (speaker_id, day, recordings)",
            ordered
                .iter()
                .map(|&(s, d, n)| vec![Value::from(s), Value::from(d), Value::from(n)]),
        )
    })?;
    for (count, rows) in COUNTS.iter().zip(counts) {
        conn.batch(&format!("DELETE FROM {};", count.table))?;
        insert_rows(
            conn,
            &format!(
                "{} ({}, kind, category, gender, diagnosis, birth_year, speakers)",
                count.table,
                count.columns.join(", ")
            ),
            in_key_order(rows).into_iter().map(
                |((key, kind, category, gender, diagnosis, born), n)| {
                    let mut row: Vec<Value> = key.into_iter().map(Value::from).collect();
                    row.extend([
                        Value::from(kind),
                        Value::from(category),
                        Value::from(gender),
                        Value::from(diagnosis),
                        Value::from(born),
                        Value::from(n),
                    ]);
                    row
                },
            ),
        )?;
    }
    Ok(())
}
