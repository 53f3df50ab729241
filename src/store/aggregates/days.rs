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

use super::months::{group_and_birth_keys, SpeakerPeriods, PER_BIRTH_YEAR, PER_GROUP};
use super::{insert_rows, local_day_sql, Side, SideSql};
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

/// The keys (before the group's; as many values as the count's columns,
/// then zeros) the point (`previous`, `day`, `next`) counts under, per
/// count of [`COUNTS`]: the twin of their SQL.
fn keys_of(previous: i64, day: i64, next: i64) -> [Option<[i64; 4]>; 5] {
    let (month, previous_month) = (day / 100, previous / 100);
    let new_month = previous_month != month;
    [
        (next == 0 || next / 100 != month).then_some([month, day, 0, 0]),
        new_month.then_some([month, day, previous_month, 0]),
        (previous != 0 && new_month).then_some([previous_month, previous, month, 0]),
        (previous != 0 && new_month).then_some([month, previous_month, previous, day]),
        (!new_month && day > previous + 1).then_some([month, day, previous, 0]),
    ]
}

/// The tables, for `engine` (clustered on their key in SQLite).
pub(crate) fn tables_sql(engine: Engine) -> String {
    let clustered = match engine {
        Engine::Sqlite => " WITHOUT ROWID",
        Engine::Postgres => "",
    };
    let mut sql = SPEAKER_DAYS.table_sql(clustered);
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

/// Each speaker's days.
const SPEAKER_DAYS: SpeakerPeriods = SpeakerPeriods {
    table: "speaker_days",
    column: "day",
};

/// What the recordings `r` (a side's rows, with `sign`) add to their
/// speakers' days; a day left without recordings is deleted.
pub(crate) fn count_recordings(engine: Engine, r: &str, sign: &str) -> String {
    let day = local_day_sql(engine, "r.recorded_at");
    SPEAKER_DAYS.count_recordings(&day, r, sign)
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
        for group in group_and_birth_keys() {
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

/// What a side of an insert or a delete on `speaker_days` does: the chain
/// of days of each of its speakers as it is now is added, and as it was
/// before the write taken away. Before: without the rows inserted (`sign`
/// `""`), with the rows deleted (`"-"`).
fn speaker_days_side(side: Side, sign: &str) -> String {
    let (now, before) = SPEAKER_DAYS.now_and_before(side, sign);
    let points = format!("{} UNION ALL {}", points(&now, "1"), points(&before, "-1"));
    into_counts(&points, "speakers s")
}

/// What a side of a write to `speakers` (rows `s`) does: the points of
/// those speakers counted under their group and birth year (`sign` `""`)
/// or taken away from them (`"-"`).
pub(crate) fn count_speakers(s: &str, sign: &str) -> String {
    let days = SPEAKER_DAYS.of_speakers(s);
    into_counts(&points(&days, &format!("{sign}1")), s)
}

/// The table whose inserts and deletes adjust the counts, with what a
/// side of them does (no update trigger: a day that keeps recordings
/// changes no point).
pub(crate) const KEPT: (&str, &str, SideSql) =
    (SPEAKER_DAYS.table, "aggregates", speaker_days_side);

/// Replaces the tables with those of `days` (recordings per speaker id
/// and day), each speaker's group (an index in `groups`) and birth year
/// given by `speaker` (none: no row), inside the caller's write
/// transaction. One count at a time: they hold millions of rows at a
/// million recordings.
pub(crate) fn rebuild(
    conn: &Conn,
    days: &HashMap<(i64, i64), i64>,
    groups: &[(i64, String, String, String)],
    speaker: impl Fn(i64) -> Option<(usize, i64)>,
) -> Result<()> {
    let mut ordered: Vec<(i64, i64, i64)> = days.iter().map(|(&(s, d), &n)| (s, d, n)).collect();
    ordered.sort_unstable();
    SPEAKER_DAYS.replace(conn, &ordered)?;
    for (c, count) in COUNTS.iter().enumerate() {
        // Per (key, kind, group index or birth year).
        let mut rows: HashMap<([i64; 4], i64, i64), i64> = HashMap::new();
        for (i, &(id, day, _)) in ordered.iter().enumerate() {
            let Some((g, born)) = speaker(id) else {
                continue;
            };
            let of_speaker = |j: Option<usize>| {
                j.and_then(|j| ordered.get(j))
                    .filter(|(s, ..)| *s == id)
                    .map_or(0, |(_, d, _)| *d)
            };
            let (previous, next) = (of_speaker(i.checked_sub(1)), of_speaker(Some(i + 1)));
            if let Some(key) = keys_of(previous, day, next)[c] {
                *rows.entry((key, PER_GROUP, g as i64)).or_default() += 1;
                *rows.entry((key, PER_BIRTH_YEAR, born)).or_default() += 1;
            }
        }
        write_count(conn, count, groups, rows)?;
    }
    Ok(())
}

/// Replaces the rows of `count` with `rows`, in the order of its key.
fn write_count(
    conn: &Conn,
    count: &Count,
    groups: &[(i64, String, String, String)],
    rows: HashMap<([i64; 4], i64, i64), i64>,
) -> Result<()> {
    let none = (0, String::new(), String::new(), String::new());
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|((key, kind, of), n)| {
            let (group, born) = match kind == PER_GROUP {
                true => (groups.get(of as usize).unwrap_or(&none), 0),
                false => (&none, of),
            };
            ((key, kind, &group.1, &group.2, &group.3, born), n)
        })
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    conn.batch(&format!("DELETE FROM {};", count.table))?;
    insert_rows(
        conn,
        &format!(
            "{} ({}, kind, category, gender, diagnosis, birth_year, speakers)",
            count.table,
            count.columns.join(", ")
        ),
        rows.into_iter()
            .map(|((key, kind, category, gender, diagnosis, born), n)| {
                let mut row: Vec<Value> = key[..count.columns.len()]
                    .iter()
                    .map(|v| Value::from(*v))
                    .collect();
                row.extend([
                    Value::from(kind),
                    Value::from(category.as_str()),
                    Value::from(gender.as_str()),
                    Value::from(diagnosis.as_str()),
                    Value::from(born),
                    Value::from(n),
                ]);
                row
            }),
    )
}
