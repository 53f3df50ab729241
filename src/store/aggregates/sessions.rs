//! The aggregates of the platform-wide `learning` statistic: study
//! sessions and their minutes per learner (`session_users`), sessions per
//! environment and device value (`session_tallies`), and for its last
//! seven local days: sessions per quarter of an hour (`session_quarters`;
//! a local day starts on a quarter hour in every zone of our time) and
//! each learner's last session (`session_last`). None depends on the time
//! zone: the statistic turns the local days into instants when it reads.

use std::collections::HashMap;

use super::{in_key_order, insert_rows, Side, SideSql};
use crate::store::{args, Conn, Engine, Result, Value};

/// µs in a quarter of an hour.
pub const QUARTER: i64 = 900_000_000;

/// The tables of the last days' aggregates (both engines).
pub(crate) const WINDOW_TABLES_SQL: &str = "
CREATE TABLE session_quarters (
    quarter BIGINT PRIMARY KEY,
    sessions BIGINT NOT NULL
);
CREATE TABLE session_last (
    user_id BIGINT PRIMARY KEY,
    last_start BIGINT NOT NULL
);
CREATE INDEX session_last_start ON session_last(last_start);
CREATE INDEX session_quarters_empty ON session_quarters(quarter) WHERE sessions = 0;
";

/// The quarter of an hour of the instant `micros` (an SQL expression),
/// rounded down, in the same integer arithmetic in both engines.
fn quarter_sql(micros: &str) -> String {
    format!("(({micros} - ((({micros}) % {QUARTER}) + {QUARTER}) % {QUARTER}) / {QUARTER})")
}

const SESSION: &[&str] = &["user_id", "start_time"];

/// What a side of a write to `study_sessions` does to the last days'
/// aggregates: its sessions counted per quarter hour; its learners' last
/// session raised to a newer one written, or, when the last one was
/// removed, set again from the learner's sessions (one seek on the index
/// on learner and start). Removing older sessions, as cleanup does by the
/// hundred thousand, costs one key lookup each.
fn window_side(side: Side, sign: &str) -> String {
    let s = side.rows(SESSION, "s");
    let quarter = quarter_sql("s.start_time");
    let mut sql = format!(
        "INSERT INTO session_quarters (quarter, sessions)
        SELECT {quarter}, {sign}COUNT(*) FROM {s} WHERE true GROUP BY 1
        ON CONFLICT (quarter) DO UPDATE SET sessions = session_quarters.sessions + excluded.sessions;
    DELETE FROM session_quarters WHERE sessions = 0;\n"
    );
    if sign.is_empty() {
        sql.push_str(&format!(
            "INSERT INTO session_last (user_id, last_start)
        SELECT s.user_id, MAX(s.start_time) FROM {s} WHERE true GROUP BY 1
        ON CONFLICT (user_id) DO UPDATE SET last_start = excluded.last_start
        WHERE excluded.last_start > session_last.last_start;\n"
        ));
        return sql;
    }
    let lost = format!(
        "SELECT DISTINCT s.user_id FROM {s}
        JOIN session_last l ON l.user_id = s.user_id AND l.last_start = s.start_time"
    );
    sql.push_str(&format!(
        "DELETE FROM session_last WHERE user_id IN ({lost})
        AND NOT EXISTS (SELECT 1 FROM study_sessions x WHERE x.user_id = session_last.user_id);
    UPDATE session_last
        SET last_start = (SELECT MAX(x.start_time) FROM study_sessions x
                          WHERE x.user_id = session_last.user_id)
        WHERE user_id IN ({lost});\n"
    ));
    sql
}

/// The table whose writes adjust the last days' aggregates.
pub(crate) const KEPT: [(&str, &str, SideSql); 1] = [("study_sessions", "window", window_side)];

/// The tables of migration 9 (SQLite) and 6 (PostgreSQL): the sums over
/// every session (one row), and how many learners' last session starts in
/// each quarter hour. Both are read at every computation of `learning`;
/// summing them from the per-learner rows grew with the learners (40 ms
/// at 96,000 learners).
pub(crate) const SUMS_TABLES_SQL: &str = "
CREATE TABLE session_sums (
    sessions BIGINT NOT NULL,
    minutes NUMERIC NOT NULL
);
INSERT INTO session_sums (sessions, minutes) VALUES (0, 0);
CREATE TABLE session_last_quarters (
    quarter BIGINT PRIMARY KEY,
    learners BIGINT NOT NULL
);
CREATE INDEX session_last_quarters_empty ON session_last_quarters(quarter) WHERE learners = 0;
";

/// What a side of a write to `study_sessions` does to the sums over every
/// session.
fn sums_side(side: Side, sign: &str) -> String {
    let s = side.rows(&["duration_minutes"], "s");
    format!(
        "UPDATE session_sums SET sessions = sessions + (SELECT {sign}COUNT(*) FROM {s}),
        minutes = minutes + (SELECT {sign}COALESCE(SUM(s.duration_minutes), 0) FROM {s});\n"
    )
}

/// The sums' triggers on `study_sessions`.
pub(crate) const SUMS: (&str, &str, SideSql) = ("study_sessions", "sums", sums_side);

/// What a side of a write to `session_last` (a learner's last session
/// moved, came or went) does to the learners per quarter hour.
fn last_quarters_side(side: Side, sign: &str) -> String {
    let s = side.rows(&["last_start"], "s");
    let quarter = quarter_sql("s.last_start");
    format!(
        "INSERT INTO session_last_quarters (quarter, learners)
        SELECT {quarter}, {sign}COUNT(*) FROM {s} WHERE true GROUP BY 1
        ON CONFLICT (quarter) DO UPDATE SET learners = session_last_quarters.learners + excluded.learners;
    DELETE FROM session_last_quarters WHERE learners = 0;\n"
    )
}

/// The aggregate whose table is written by the session aggregates
/// themselves (since migration 9).
pub(crate) const KEPT_SINCE_9: [(&str, &str, SideSql); 1] =
    [("session_last", "quarters", last_quarters_side)];

/// Rebuilds the session aggregates from the rows, inside the caller's
/// write transaction. One pass over the sessions in table order,
/// summed here: grouping in SQL would visit them through an index, row by
/// row, ten times slower.
pub fn rebuild(conn: &Conn) -> Result<()> {
    let mut users: HashMap<i64, (i64, i128)> = HashMap::new();
    let mut last: HashMap<i64, i64> = HashMap::new();
    let mut quarters: HashMap<i64, i64> = HashMap::new();
    // Per kind, sessions per value; looked up by the borrowed text, so a
    // pass over millions of rows allocates only new values.
    let mut tallies: [(&str, HashMap<String, i64>); 2] =
        [("environment", HashMap::new()), ("device", HashMap::new())];
    conn.each(
        "SELECT user_id, duration_minutes, learning_environment, device_type, start_time
         FROM study_sessions",
        &[],
        |r| {
            let start: i64 = r.get(4)?;
            *quarters.entry(start.div_euclid(QUARTER)).or_default() += 1;
            let latest = last.entry(r.get(0)?).or_insert(start);
            *latest = (*latest).max(start);
            let user = users.entry(r.get(0)?).or_default();
            user.0 += 1;
            // i128: legacy rows may hold durations whose sum passes i64.
            user.1 += i128::from(r.get::<i64>(1)?);
            for (i, (_, counts)) in tallies.iter_mut().enumerate() {
                if let Some(value) = r.text(2 + i)?.filter(|v| !v.is_empty()) {
                    match counts.get_mut(value) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(value.to_string(), 1);
                        }
                    }
                }
            }
            Ok(())
        },
    )?;
    write_rebuilt(conn, users, last, quarters, tallies)
}

/// Replaces the session aggregates with the rebuilt ones.
fn write_rebuilt(
    conn: &Conn,
    users: HashMap<i64, (i64, i128)>,
    last: HashMap<i64, i64>,
    quarters: HashMap<i64, i64>,
    tallies: [(&str, HashMap<String, i64>); 2],
) -> Result<()> {
    let mut last_quarters: HashMap<i64, i64> = HashMap::new();
    for at in last.values() {
        *last_quarters.entry(at.div_euclid(QUARTER)).or_default() += 1;
    }
    let sessions: i64 = users.values().map(|(n, _)| n).sum();
    let minutes: i128 = users.values().map(|(_, m)| m).sum();
    conn.execute(
        "UPDATE session_sums SET sessions = ?1, minutes = CAST(CAST(?2 AS TEXT) AS NUMERIC)",
        args![sessions, minutes.to_string()],
    )?;
    conn.batch(
        "DELETE FROM session_users; DELETE FROM session_tallies;
         DELETE FROM session_quarters; DELETE FROM session_last_quarters;",
    )?;
    insert_rows(
        conn,
        "session_last_quarters (quarter, learners)",
        in_key_order(last_quarters)
            .into_iter()
            .map(|(q, n)| vec![Value::from(q), Value::from(n)]),
    )?;
    insert_rows(
        conn,
        "session_quarters (quarter, sessions)",
        in_key_order(quarters)
            .into_iter()
            .map(|(q, n)| vec![Value::from(q), Value::from(n)]),
    )?;
    // The learners per quarter hour are written above, not by the triggers.
    super::without_triggers_on(conn, "session_last", || {
        conn.batch("DELETE FROM session_last;")?;
        insert_rows(
            conn,
            "session_last (user_id, last_start)",
            in_key_order(last)
                .into_iter()
                .map(|(u, at)| vec![Value::from(u), Value::from(at)]),
        )
    })?;
    for (user, (sessions, minutes)) in in_key_order(users) {
        // Written as text: a sum past i64 stays exact as a NUMERIC.
        conn.execute(
            "INSERT INTO session_users (user_id, sessions, minutes)
             VALUES (?1, ?2, CAST(CAST(?3 AS TEXT) AS NUMERIC))",
            args![user, sessions, minutes.to_string()],
        )?;
    }
    for (kind, counts) in tallies {
        for (value, sessions) in counts {
            conn.execute(
                "INSERT INTO session_tallies (kind, value, sessions) VALUES (?1, ?2, ?3)",
                args![kind, value, sessions],
            )?;
        }
    }
    Ok(())
}

const TOTALLED: &[&str] = &[
    "user_id",
    "duration_minutes",
    "learning_environment",
    "device_type",
];

/// What a side of a write to `study_sessions` does to the learners'
/// totals and the tallies per environment and device: its rows counted
/// (and their minutes summed) once per learner and per value.
fn totals_side(side: Side, sign: &str) -> String {
    let s = side.rows(TOTALLED, "s");
    let tally = |kind: &str, column: &str| {
        format!(
            "INSERT INTO session_tallies (kind, value, sessions)
        SELECT '{kind}', s.{column}, {sign}COUNT(*) FROM {s} WHERE s.{column} <> '' GROUP BY 2
        ON CONFLICT (kind, value) DO UPDATE SET sessions = session_tallies.sessions + excluded.sessions;\n"
        )
    };
    format!(
        "INSERT INTO session_users (user_id, sessions, minutes)
        SELECT s.user_id, {sign}COUNT(*), {sign}SUM(s.duration_minutes) FROM {s} WHERE true GROUP BY 1
        ON CONFLICT (user_id) DO UPDATE SET sessions = session_users.sessions + excluded.sessions,
            minutes = session_users.minutes + excluded.minutes;
    DELETE FROM session_users WHERE sessions = 0 AND user_id IN (SELECT s.user_id FROM {s});
    {}{}DELETE FROM session_tallies WHERE sessions = 0;\n",
        tally("environment", "learning_environment"),
        tally("device", "device_type"),
    )
}

/// Every kind of aggregate a write to `study_sessions` adjusts: (name of
/// its triggers, what a side of the write does).
const SESSION_AGGREGATES: [(&str, SideSql); 3] = [
    ("aggregates", totals_side),
    ("window", window_side),
    ("sums", sums_side),
];

/// SQLite's triggers of the learners' totals and tallies (migration 7):
/// an insert adds its row, a delete takes it away, an update does both.
pub(crate) fn sqlite_session_triggers() -> String {
    super::sqlite_triggers_of("study_sessions", "aggregates", totals_side, "")
}

/// PostgreSQL's function of the learners' totals and tallies, for
/// statement triggers: the rows a statement removed (`old_rows`) are taken
/// away, the rows it wrote (`new_rows`) added, each grouped once.
pub(crate) fn postgres_session_function() -> String {
    super::statement_function(
        "voxdash_session_aggregates",
        &totals_side(Side::Rows(Engine::Postgres, "old_rows"), "-"),
        &totals_side(Side::Rows(Engine::Postgres, "new_rows"), ""),
    )
}

/// While `aggregate_pause` holds a row (only ever inside the transaction
/// of a bulk delete, which adjusts the aggregates itself), SQLite's delete
/// triggers of the session aggregates stand aside.
const UNLESS_PAUSED: &str = " WHEN NOT EXISTS (SELECT 1 FROM aggregate_pause)";

/// Migration 9 (SQLite): the sums over every session and the learners
/// per quarter hour of their last session, with their triggers; the
/// recordings per SNR value, counted by the corpus triggers made again; the pause
/// of the session aggregates' delete triggers, which are created again
/// with it. The aggregates are rebuilt (in Rust, exactly) at the next
/// open: forgetting their zone asks for it.
pub(crate) fn sqlite_migration_9() -> String {
    let mut sql = String::from(SUMS_TABLES_SQL);
    sql.push_str(&super::corpus::values_table_sql(Engine::Sqlite));
    for (table, name, side) in super::corpus::VALUES_KEPT {
        for kind in ["ins", "upd", "del"] {
            sql.push_str(&format!("DROP TRIGGER {table}_{name}_{kind};\n"));
        }
        sql.push_str(&super::sqlite_triggers_of(table, name, side, ""));
    }
    sql.push_str("CREATE TABLE aggregate_pause (paused INTEGER NOT NULL);\n");
    sql.push_str("DELETE FROM aggregate_zone;\n");
    for (table, name, side) in KEPT_SINCE_9 {
        sql.push_str(&super::sqlite_triggers_of(table, name, side, ""));
    }
    for (name, side) in SESSION_AGGREGATES {
        for kind in ["ins", "upd", "del"] {
            sql.push_str(&format!(
                "DROP TRIGGER IF EXISTS study_sessions_{name}_{kind};\n"
            ));
        }
        sql.push_str(&super::sqlite_triggers_of(
            "study_sessions",
            name,
            side,
            UNLESS_PAUSED,
        ));
    }
    sql
}

/// The largest |minutes| of a session the bulk path sums in SQL: SQLite's
/// `SUM` fails on an overflow, and a batch of sessions under this bound
/// cannot overflow (2^32 minutes is 8,000 years).
const BULK_MINUTES: i64 = 1 << 32;

/// Deletes the sessions whose ids `ids` selects (an SQL query, with
/// `args`), inside the caller's write transaction, and returns how many.
/// The aggregates are adjusted once for the whole set: SQLite's row
/// triggers stand aside and the same statements run over the removed
/// rows, so cleanup pays per batch what a write pays per row. Rows whose
/// minutes a sum could overflow (legacy data) take the row triggers.
pub(crate) fn delete_sessions(conn: &Conn, ids: &str, args: &[Value]) -> Result<u64> {
    let delete = format!("DELETE FROM study_sessions WHERE id IN ({ids})");
    if conn.engine() == Engine::Postgres {
        // Its statement triggers already adjust once per statement.
        return conn.execute(&delete, args);
    }
    conn.batch(
        "CREATE TEMP TABLE IF NOT EXISTS removed_sessions (
            user_id INTEGER, start_time INTEGER, duration_minutes, learning_environment, device_type);
         DELETE FROM temp.removed_sessions;",
    )?;
    conn.execute(
        &format!(
            "INSERT INTO temp.removed_sessions
             SELECT user_id, start_time, duration_minutes, learning_environment, device_type
             FROM study_sessions WHERE id IN ({ids})"
        ),
        args,
    )?;
    let unsafe_sums: i64 = conn.query_value(
        "SELECT COUNT(*) FROM temp.removed_sessions WHERE typeof(duration_minutes) <> 'integer'
            OR duration_minutes > ?1 OR duration_minutes < -?1",
        args![BULK_MINUTES],
    )?;
    if unsafe_sums > 0 {
        return conn.execute(&delete, args);
    }
    conn.execute("INSERT INTO aggregate_pause (paused) VALUES (1)", &[])?;
    let removed = conn.execute(&delete, args)?;
    conn.execute("DELETE FROM aggregate_pause", &[])?;
    for (_, side) in SESSION_AGGREGATES {
        conn.batch(&side(
            Side::Rows(Engine::Sqlite, "temp.removed_sessions"),
            "-",
        ))?;
    }
    Ok(removed)
}

/// The tables of the aggregates (both engines), without their triggers,
/// and the index the last days' sessions are read through. Minutes are a
/// `NUMERIC`: legacy rows may hold durations whose sum passes `i64`, and a
/// write must never fail on its aggregate.
pub(crate) const TABLES_SQL: &str = "
DROP INDEX study_sessions_start;
CREATE INDEX study_sessions_start ON study_sessions(start_time, user_id);
CREATE TABLE session_users (
    user_id BIGINT PRIMARY KEY,
    sessions BIGINT NOT NULL,
    minutes NUMERIC NOT NULL
);
CREATE TABLE session_tallies (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    sessions BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
";
