//! Aggregates the writes keep, so that a statistic costs what the change
//! costs, not a pass over the corpus. Triggers (row triggers in SQLite,
//! statement triggers in PostgreSQL) adjust them in the transaction of each
//! write; an import rebuilds them once before it commits.
//!
//! They depend on the configured time zone (a local day is a day of that
//! zone): `zone_offsets` holds the zone's UTC offsets, which the triggers
//! read, and `aggregate_zone` names the zone they were built for. Opening
//! the statistics with another zone rebuilds them ([`follow_zone`]).
//!
//! Kept today: study sessions per learner and local day (`session_days`),
//! per learner (`session_users`), and per environment and device value
//! (`session_tallies`): what the platform-wide `learning` statistic counts.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::{args, Conn, Engine, Result};

/// A local day as a number: days since 1970-01-01 in the configured zone.
pub type DayNumber = i64;

/// µs in a day.
const DAY_US: i64 = 86_400_000_000;

/// The first and last instants whose offsets are written (1900 to 2200);
/// before the first, the first offset holds.
const ZONE_FROM_S: i64 = -2_208_988_800;
const ZONE_UNTIL_S: i64 = 7_258_118_400;

/// The local day of the instant `micros` (an SQL expression), by the
/// offsets in `zone_offsets`: floor((t + offset) / day).
pub(crate) fn local_day_sql(engine: Engine, micros: &str) -> String {
    let shifted = format!(
        "({micros} + COALESCE((SELECT z.offset_us FROM zone_offsets z WHERE z.since <= {micros}
            ORDER BY z.since DESC LIMIT 1), 0))"
    );
    match engine {
        // `/` truncates towards zero; one less for a negative remainder.
        Engine::Sqlite => format!("({shifted} / {DAY_US} - ({shifted} % {DAY_US} < 0))"),
        Engine::Postgres => format!("floor({shifted}::numeric / {DAY_US})::bigint"),
    }
}

/// The zone's UTC offsets from 1900 to 2200: (from this instant in µs,
/// local time is UTC + this many µs), the first from the beginning of time.
pub fn zone_offsets(tz: Tz) -> Vec<(i64, i64)> {
    let offset_at = |secs: i64| -> i64 {
        let utc = DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .naive_utc();
        i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
    };
    // Every 6 hours, then to the second where the offset changed.
    const STEP: i64 = 6 * 3600;
    let mut current = offset_at(ZONE_FROM_S);
    let mut out = vec![(i64::MIN, current * 1_000_000)];
    let mut t = ZONE_FROM_S;
    while t < ZONE_UNTIL_S {
        let next = t + STEP;
        let offset = offset_at(next);
        if offset != current {
            let (mut before, mut at) = (t, next);
            while at - before > 1 {
                let mid = before + (at - before) / 2;
                if offset_at(mid) == current {
                    before = mid;
                } else {
                    at = mid;
                }
            }
            out.push((at * 1_000_000, offset * 1_000_000));
            current = offset;
        }
        t = next;
    }
    out
}

/// The local day number of a date.
pub fn day_number(date: chrono::NaiveDate) -> DayNumber {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    (date - epoch).num_days()
}

/// The zone the aggregates were built for, if they were.
pub fn built_for(conn: &Conn) -> Result<Option<String>> {
    conn.row("SELECT name FROM aggregate_zone", &[], |r| r.get(0))
}

/// Makes the aggregates follow `tz`: when they were built for another
/// zone (or none), writes the zone's offsets and rebuilds them, in one
/// transaction, with a log line. Returns whether it rebuilt them.
pub fn follow_zone(conn: &Conn, tz: Tz) -> Result<bool> {
    if built_for(conn)?.as_deref() == Some(tz.name()) {
        return Ok(false);
    }
    let tx = conn.write_transaction()?;
    // Another process may have done it while this one waited.
    let before = built_for(&tx)?;
    if before.as_deref() == Some(tz.name()) {
        return Ok(false);
    }
    tx.execute("DELETE FROM zone_offsets", &[])?;
    for (since, offset) in zone_offsets(tz) {
        tx.execute(
            "INSERT INTO zone_offsets (since, offset_us) VALUES (?1, ?2)",
            args![since, offset],
        )?;
    }
    tx.execute("DELETE FROM aggregate_zone", &[])?;
    tx.execute(
        "INSERT INTO aggregate_zone (name) VALUES (?1)",
        args![tz.name()],
    )?;
    rebuild(&tx)?;
    tx.commit()?;
    match before {
        Some(old) => log::info!(
            "the time zone changed from {old} to {}: the aggregates were rebuilt for it",
            tz.name()
        ),
        None => log::debug!("aggregates built for the time zone {}", tz.name()),
    }
    Ok(true)
}

/// Rebuilds every aggregate from the rows (inside the caller's write
/// transaction): after a bulk load whose triggers were suspended, a change
/// of zone, or `voxdash check --repair`.
pub fn rebuild(conn: &Conn) -> Result<()> {
    let day = local_day_sql(conn.engine(), "s.start_time");
    // SQLite's SUM fails past i64 (legacy rows may hold huge durations);
    // TOTAL is exact below 2^53 minutes. PostgreSQL's is NUMERIC.
    let sum = conn.dialect("TOTAL(s.duration_minutes)", "SUM(s.duration_minutes)");
    conn.batch(&format!(
        "DELETE FROM session_days;
         DELETE FROM session_users;
         DELETE FROM session_tallies;
         INSERT INTO session_days (user_id, day, sessions, minutes)
             SELECT s.user_id, {day}, COUNT(*), {sum}
             FROM study_sessions s GROUP BY 1, 2;
         INSERT INTO session_users (user_id, sessions, minutes)
             SELECT s.user_id, COUNT(*), {sum} FROM study_sessions s GROUP BY 1;
         INSERT INTO session_tallies (kind, value, sessions)
             SELECT 'environment', learning_environment, COUNT(*) FROM study_sessions
             WHERE learning_environment <> '' GROUP BY 2;
         INSERT INTO session_tallies (kind, value, sessions)
             SELECT 'device', device_type, COUNT(*) FROM study_sessions
             WHERE device_type <> '' GROUP BY 2;"
    ))
}

/// SQLite's triggers of the session aggregates: an insert adds its row,
/// a delete takes it away, an update does both.
pub(crate) fn sqlite_session_triggers() -> String {
    let add = |side: &str, sign: &str| {
        let day = local_day_sql(Engine::Sqlite, &format!("{side}.start_time"));
        format!(
            "INSERT INTO session_days (user_id, day, sessions, minutes)
    VALUES ({side}.user_id, {day}, {sign}1, {sign}{side}.duration_minutes)
    ON CONFLICT(user_id, day) DO UPDATE SET sessions = sessions + excluded.sessions,
        minutes = minutes + excluded.minutes;
DELETE FROM session_days WHERE user_id = {side}.user_id AND day = {day} AND sessions = 0;
INSERT INTO session_users (user_id, sessions, minutes)
    VALUES ({side}.user_id, {sign}1, {sign}{side}.duration_minutes)
    ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + excluded.sessions,
        minutes = minutes + excluded.minutes;
DELETE FROM session_users WHERE user_id = {side}.user_id AND sessions = 0;
INSERT INTO session_tallies (kind, value, sessions)
    SELECT 'environment', {side}.learning_environment, {sign}1 WHERE {side}.learning_environment <> ''
    ON CONFLICT(kind, value) DO UPDATE SET sessions = sessions + excluded.sessions;
INSERT INTO session_tallies (kind, value, sessions)
    SELECT 'device', {side}.device_type, {sign}1 WHERE {side}.device_type <> ''
    ON CONFLICT(kind, value) DO UPDATE SET sessions = sessions + excluded.sessions;
DELETE FROM session_tallies WHERE sessions = 0
    AND ((kind = 'environment' AND value = {side}.learning_environment)
      OR (kind = 'device' AND value = {side}.device_type));\n"
        )
    };
    let (new, old) = (add("NEW", ""), add("OLD", "-"));
    format!(
        "CREATE TRIGGER study_sessions_aggregates_ins AFTER INSERT ON study_sessions BEGIN\n{new}END;
CREATE TRIGGER study_sessions_aggregates_upd AFTER UPDATE ON study_sessions BEGIN\n{old}{new}END;
CREATE TRIGGER study_sessions_aggregates_del AFTER DELETE ON study_sessions BEGIN\n{old}END;\n"
    )
}

/// PostgreSQL's function of the session aggregates, for statement
/// triggers: the rows a statement removed (`old_rows`) are taken away, the
/// rows it wrote (`new_rows`) added, each grouped once.
pub(crate) fn postgres_session_function() -> String {
    let adjust = |rows: &str, sign: &str| {
        let day = local_day_sql(Engine::Postgres, "r.start_time");
        format!(
            "INSERT INTO session_days (user_id, day, sessions, minutes)
        SELECT r.user_id, {day}, {sign}count(*), {sign}sum(r.duration_minutes) FROM {rows} r GROUP BY 1, 2
        ON CONFLICT (user_id, day) DO UPDATE SET sessions = session_days.sessions + EXCLUDED.sessions,
            minutes = session_days.minutes + EXCLUDED.minutes;
    DELETE FROM session_days d USING (SELECT DISTINCT r.user_id, {day} AS day FROM {rows} r) t
        WHERE d.user_id = t.user_id AND d.day = t.day AND d.sessions = 0;
    INSERT INTO session_users (user_id, sessions, minutes)
        SELECT r.user_id, {sign}count(*), {sign}sum(r.duration_minutes) FROM {rows} r GROUP BY 1
        ON CONFLICT (user_id) DO UPDATE SET sessions = session_users.sessions + EXCLUDED.sessions,
            minutes = session_users.minutes + EXCLUDED.minutes;
    DELETE FROM session_users u USING (SELECT DISTINCT user_id FROM {rows}) t
        WHERE u.user_id = t.user_id AND u.sessions = 0;
    INSERT INTO session_tallies (kind, value, sessions)
        SELECT 'environment', learning_environment, {sign}count(*) FROM {rows}
        WHERE learning_environment <> '' GROUP BY 2
        UNION ALL
        SELECT 'device', device_type, {sign}count(*) FROM {rows}
        WHERE device_type <> '' GROUP BY 2
        ON CONFLICT (kind, value) DO UPDATE SET sessions = session_tallies.sessions + EXCLUDED.sessions;
    DELETE FROM session_tallies WHERE sessions = 0;\n"
        )
    };
    format!(
        "CREATE FUNCTION voxdash_session_aggregates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {}
    END IF;
    RETURN NULL;
END $$;\n",
        adjust("old_rows", "-"),
        adjust("new_rows", "")
    )
}

/// The tables of the aggregates (both engines), without their triggers.
pub(crate) const TABLES_SQL: &str = "
CREATE TABLE zone_offsets (
    since BIGINT PRIMARY KEY,
    offset_us BIGINT NOT NULL
);
CREATE TABLE aggregate_zone (
    name TEXT NOT NULL
);
CREATE TABLE session_days (
    user_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    sessions BIGINT NOT NULL,
    minutes NUMERIC NOT NULL,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX session_days_by_day ON session_days(day, user_id, sessions);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_summer_time_has_its_transitions_to_the_second() {
        let offsets = zone_offsets(chrono_tz::Europe::Berlin);
        // 2025-03-30 01:00 UTC: CET (+1 h) becomes CEST (+2 h).
        let spring = 1_743_296_400 * 1_000_000;
        let at = offsets.iter().position(|(since, _)| *since == spring);
        let at = at.expect("the spring transition of 2025");
        assert_eq!(offsets[at].1, 7_200_000_000);
        assert_eq!(offsets[at - 1].1, 3_600_000_000);
        assert_eq!(zone_offsets(chrono_tz::UTC), vec![(i64::MIN, 0)]);
    }

    #[test]
    fn day_numbers_count_from_1970() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(day_number(d(1970, 1, 1)), 0);
        assert_eq!(day_number(d(1969, 12, 31)), -1);
        assert_eq!(day_number(d(2026, 11, 23)), 20_780);
    }
}
