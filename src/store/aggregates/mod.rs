//! Aggregates the writes keep, so that a statistic costs what the change
//! costs, not a pass over the corpus. Triggers adjust them in the
//! transaction of each write: row triggers in SQLite, statement triggers
//! with transition tables in PostgreSQL, both running the same statements
//! (only where a trigger's rows come from differs, and the one expression
//! of a local month). A bulk load rebuilds them once, from the rows.
//!
//! - `sessions`: what the platform-wide `learning` statistic counts
//!   (sessions and minutes per learner, sessions per environment and
//!   device, per quarter hour, each learner's last session); nothing there
//!   depends on the time zone.
//! - `corpus`: what `dashboard` and its drill-downs count, per group of
//!   speakers (category, gender, diagnosis) and local month (and day, for
//!   the edges of a range of days), each
//!   speaker's first recording, and SNR counts per value band for the
//!   exact median.
//! - `months`: each speaker's months with recordings, and the speakers
//!   per month by the month they last recorded before it: the speakers of
//!   a range of whole months.
//! - `days`: each speaker's days with recordings, and the speakers
//!   counted over their chains of days: the speakers of a range that
//!   starts or ends inside a month.
//! - `uploads`: what `locations` counts, per region, address and grid
//!   cell.
//!
//! The corpus aggregates depend on the configured zone (a recording's
//! month is a local month): `zone_offsets` holds the zone's UTC offsets,
//! which the triggers read, and `aggregate_zone` names the zone they were
//! built for. Opening the statistics with another zone rebuilds them
//! ([`follow_zone`]), with a log line.

pub(crate) mod corpus;
pub(crate) mod days;
pub(crate) mod months;
pub(crate) mod sessions;
pub(crate) mod uploads;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::{args, Conn, Engine, Result, Value};

/// The first and last instants whose offsets are written (1900 to 2200);
/// before the first, the first offset holds.
const ZONE_FROM_S: i64 = -2_208_988_800;
const ZONE_UNTIL_S: i64 = 7_258_118_400;

/// A zone's UTC offsets: (from this instant in µs, local time is UTC +
/// this many µs), in order, the first from the beginning of time.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneOffsets(Vec<(i64, i64)>);

impl ZoneOffsets {
    /// The offsets of `tz` from 1900 to 2200, each change to the second.
    pub fn of(tz: Tz) -> ZoneOffsets {
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
        ZoneOffsets(out)
    }

    /// The local month of the instant `micros` as `YYYYMM`, exactly as
    /// `local_month_sql` computes it in a trigger.
    pub fn month(&self, micros: i64) -> i64 {
        self.day(micros) / 100
    }

    /// The local day of the instant `micros` as `YYYYMMDD`, exactly as
    /// `local_day_sql` computes it in a trigger.
    pub fn day(&self, micros: i64) -> i64 {
        let i = self.0.partition_point(|(since, _)| *since <= micros);
        let offset = if i == 0 { 0 } else { self.0[i - 1].1 };
        let secs = (micros.saturating_add(offset)).div_euclid(1_000_000);
        let local = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        use chrono::Datelike;
        (i64::from(local.year()) * 100 + i64::from(local.month())) * 100 + i64::from(local.day())
    }
}

/// The local month of the instant `micros` (an SQL expression of µs) as
/// the number `YYYYMM`, by the offsets in `zone_offsets`. The engines have
/// no common date function; everything else about it is shared.
pub(crate) fn local_month_sql(engine: Engine, micros: &str) -> String {
    local_period_sql(engine, micros, ("%Y%m", "YYYYMM"))
}

/// The local day of the instant `micros` as the number `YYYYMMDD`, as
/// [`local_month_sql`] computes a month.
pub(crate) fn local_day_sql(engine: Engine, micros: &str) -> String {
    local_period_sql(engine, micros, ("%Y%m%d", "YYYYMMDD"))
}

/// The local date of `micros` written with `format` (SQLite's, then
/// PostgreSQL's), as an integer.
fn local_period_sql(engine: Engine, micros: &str, (sqlite, postgres): (&str, &str)) -> String {
    let local = format!(
        "({micros} + COALESCE((SELECT z.offset_us FROM zone_offsets z WHERE z.since <= {micros}
            ORDER BY z.since DESC LIMIT 1), 0))"
    );
    // Whole seconds, rounded down (a date function would round a real).
    let secs = format!("(({local} - ((({local}) % 1000000) + 1000000) % 1000000) / 1000000)");
    match engine {
        Engine::Sqlite => format!("CAST(strftime('{sqlite}', {secs}, 'unixepoch') AS INTEGER)"),
        Engine::Postgres => format!(
            "CAST(to_char(to_timestamp({secs}) AT TIME ZONE 'UTC', '{postgres}') AS BIGINT)"
        ),
    }
}

/// `floor(x)` as an integer, in SQL (SQLite has no `floor` of its own).
pub(crate) fn floor_sql(engine: Engine, x: &str) -> String {
    match engine {
        Engine::Sqlite => format!("(CAST({x} AS INTEGER) - ({x} < CAST({x} AS INTEGER)))"),
        Engine::Postgres => format!("CAST(floor({x}) AS BIGINT)"),
    }
}

/// Where the rows of one side of a write come from, aliased `alias`:
/// SQLite's `NEW`/`OLD` row in a row trigger, or a table of rows in
/// `engine` (PostgreSQL's transition tables `new_rows`/`old_rows`, or the
/// rows a bulk delete removed).
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Row(&'static str),
    Rows(Engine, &'static str),
}

impl Side {
    pub(crate) fn engine(self) -> Engine {
        match self {
            Side::Row(_) => Engine::Sqlite,
            Side::Rows(engine, _) => engine,
        }
    }

    pub(crate) fn rows(self, columns: &[&str], alias: &str) -> String {
        match self {
            Side::Row(row) => {
                let picked: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{row}.{c} AS {c}"))
                    .collect();
                format!("(SELECT {}) {alias}", picked.join(", "))
            }
            Side::Rows(_, table) => format!("{table} {alias}"),
        }
    }
}

/// What one side of a write does to the aggregates: the statements for
/// the rows of `side`, counted with `sign` (`""` adds, `"-"` takes away).
pub(crate) type SideSql = fn(Side, &str) -> String;

/// The tables whose writes adjust an aggregate since migration 8:
/// (table, name of its triggers, what a side of its write does).
fn kept_since_8() -> impl Iterator<Item = (&'static str, &'static str, SideSql)> {
    corpus::KEPT
        .into_iter()
        .chain(uploads::KEPT)
        .chain(sessions::KEPT)
}

/// Every table whose writes adjust an aggregate (the session aggregates'
/// own triggers on `study_sessions` apart).
fn kept() -> impl Iterator<Item = (&'static str, &'static str, SideSql)> {
    kept_since_8()
        .chain(sessions::KEPT_SINCE_9)
        .chain([months::KEPT, days::KEPT])
}

/// The tables of the aggregates of migration 8 (the corpus, the uploads,
/// the learning statistic's last days), for `engine`.
pub(crate) fn tables_sql(engine: Engine) -> String {
    corpus::tables_sql(engine) + uploads::TABLES_SQL + sessions::WINDOW_TABLES_SQL
}

/// SQLite's triggers of the aggregates of migration 8: an insert adds
/// its row, a delete takes it away, an update does both.
pub(crate) fn sqlite_triggers() -> String {
    kept_since_8()
        .map(|(table, name, side)| sqlite_triggers_of(table, name, side, ""))
        .collect()
}

/// SQLite's three row triggers on `table` running `side`; `delete_when`
/// is the delete trigger's `WHEN` clause, if any.
pub(crate) fn sqlite_triggers_of(
    table: &str,
    name: &str,
    side: SideSql,
    delete_when: &str,
) -> String {
    let (new, old) = (side(Side::Row("NEW"), ""), side(Side::Row("OLD"), "-"));
    // Their rows change what the aggregates count only by an insert or a
    // delete.
    let update = match table == months::KEPT.0 || table == days::KEPT.0 {
        true => String::new(),
        false => format!(
            "CREATE TRIGGER {table}_{name}_upd AFTER UPDATE ON {table} BEGIN\n{old}{new}END;\n"
        ),
    };
    format!(
        "CREATE TRIGGER {table}_{name}_ins AFTER INSERT ON {table} BEGIN\n{new}END;
{update}CREATE TRIGGER {table}_{name}_del AFTER DELETE ON {table}{delete_when} BEGIN\n{old}END;\n"
    )
}

/// Runs `write` with the aggregate triggers on `table` set aside, inside
/// the caller's transaction (SQLite's dropped and created again,
/// PostgreSQL's disabled and enabled): for a rebuild, which writes the
/// aggregates itself.
pub(crate) fn without_triggers_on(
    conn: &Conn,
    table: &str,
    write: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let Some((table, name, side)) = kept().find(|(t, ..)| *t == table) else {
        return write();
    };
    if conn.engine() == Engine::Postgres {
        // Only this transaction sees them off (it holds the table's lock).
        conn.batch(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))?;
        write()?;
        return conn.batch(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"));
    }
    for kind in ["ins", "upd", "del"] {
        conn.batch(&format!("DROP TRIGGER IF EXISTS {table}_{name}_{kind}"))?;
    }
    write()?;
    conn.batch(&sqlite_triggers_of(table, name, side, ""))
}

/// PostgreSQL's functions of the aggregates of migration 8, for
/// statement triggers (see `postgres::schema`): the rows a statement
/// removed are taken away, the rows it wrote added. Returns (table, name of
/// the triggers, function name, its SQL).
pub(crate) fn postgres_functions() -> Vec<(&'static str, &'static str, String, String)> {
    postgres_functions_of(kept_since_8())
}

/// PostgreSQL's functions of the aggregates of migration 6 (the sums of
/// the sessions, the learners per quarter hour of their last session).
pub(crate) fn postgres_functions_since_6() -> Vec<(&'static str, &'static str, String, String)> {
    postgres_functions_of(sessions::KEPT_SINCE_9.into_iter().chain([sessions::SUMS]))
}

/// PostgreSQL's functions replaced by migration 6 (the corpus functions,
/// which count SNR values since).
pub(crate) fn postgres_functions_replaced_by_6() -> Vec<String> {
    postgres_functions_of(corpus::VALUES_KEPT.into_iter())
        .into_iter()
        .map(|(.., sql)| sql)
        .collect()
}

/// Migration 10 (SQLite) or 7 (PostgreSQL): the corpus's SNR bands per
/// month, the recordings' triggers (or function) that keep them, and a
/// rebuild of every aggregate at the next open.
pub(crate) fn month_bins_migration(engine: Engine) -> String {
    corpus_migration(
        engine,
        corpus::month_bins_table_sql(engine),
        &corpus::MONTH_BINS_KEPT,
    )
}

/// Migration 11 (SQLite) or 8 (PostgreSQL): the lengths' bands and
/// values, the descriptors per cell, the speakers per birth year, the
/// recordings' and speakers' triggers (or functions) that keep them, and
/// a rebuild of every aggregate at the next open.
pub(crate) fn descriptors_migration(engine: Engine) -> String {
    corpus_migration(
        engine,
        corpus::descriptor_tables_sql(engine),
        &corpus::DESCRIPTORS_KEPT,
    )
}

/// Migration 14 (SQLite) or 11 (PostgreSQL): each speaker's months and
/// the speakers per month by their previous month ([`months`]), the
/// recordings' and speakers' triggers (or functions) that keep them
/// written again, and a rebuild at the next open. The triggers of
/// `speaker_months` itself: SQLite's here, PostgreSQL's from
/// [`months_functions`]. With it, the SNR index carries the time (a
/// range's median then reads no table row) and the recordings get an index
/// on sample rate (the recording list).
pub(crate) fn months_migration(engine: Engine) -> String {
    let indexes = "
DROP INDEX recordings_snr;
CREATE INDEX recordings_snr ON recordings(snr_db, speaker_id, recorded_at);
CREATE INDEX recordings_sample_rate ON recordings(sample_rate);
";
    let mut sql = corpus_migration(
        engine,
        months::tables_sql(engine) + indexes,
        &corpus::DESCRIPTORS_KEPT,
    );
    if engine == Engine::Sqlite {
        let (table, name, side) = months::KEPT;
        sql.push_str(&sqlite_triggers_of(table, name, side, ""));
    }
    sql
}

/// Migration 15 (SQLite) or 12 (PostgreSQL): the corpus's cells,
/// descriptors and bands per local day (`corpus::day_tables_sql`) and
/// each speaker's days with the speakers counted over them ([`days`]),
/// the triggers (or functions) of the recordings, the speakers and the
/// first recordings written again to keep them, and a rebuild at the next
/// open. The triggers of `speaker_days` itself: SQLite's here,
/// PostgreSQL's from [`days_functions`].
pub(crate) fn days_migration(engine: Engine) -> String {
    let tables = corpus::day_tables_sql(engine) + &days::tables_sql(engine);
    let mut sql = corpus_migration(engine, tables, &corpus::KEPT);
    if engine == Engine::Sqlite {
        let (table, name, side) = days::KEPT;
        sql.push_str(&sqlite_triggers_of(table, name, side, ""));
    }
    sql
}

/// PostgreSQL's function of `speaker_days` (table, name of its triggers,
/// function name, its SQL), for an insert and a delete only.
pub(crate) fn days_functions() -> Vec<(&'static str, &'static str, String, String)> {
    postgres_functions_of([days::KEPT].into_iter())
}

/// PostgreSQL's function of `speaker_months` (table, name of its
/// triggers, function name, its SQL), for an insert and a delete only.
pub(crate) fn months_functions() -> Vec<(&'static str, &'static str, String, String)> {
    postgres_functions_of([months::KEPT].into_iter())
}

/// A migration of the corpus aggregates: `tables`, then the triggers (or
/// functions) of `kept` written again, then a rebuild at the next open.
fn corpus_migration(
    engine: Engine,
    tables: String,
    kept: &[(&'static str, &'static str, SideSql)],
) -> String {
    let mut sql = tables;
    match engine {
        Engine::Sqlite => {
            for (table, name, side) in kept {
                for kind in ["ins", "upd", "del"] {
                    sql.push_str(&format!("DROP TRIGGER {table}_{name}_{kind};\n"));
                }
                sql.push_str(&sqlite_triggers_of(table, name, *side, ""));
            }
        }
        Engine::Postgres => {
            for (.., function) in postgres_functions_of(kept.iter().copied()) {
                sql.push_str(&function);
            }
        }
    }
    sql.push_str("DELETE FROM aggregate_zone;\n");
    sql
}

fn postgres_functions_of(
    kept: impl Iterator<Item = (&'static str, &'static str, SideSql)>,
) -> Vec<(&'static str, &'static str, String, String)> {
    kept.map(|(table, name, side)| {
        let function = format!("voxdash_{table}_{name}");
        let sql = statement_function(
            &function,
            &side(Side::Rows(Engine::Postgres, "old_rows"), "-"),
            &side(Side::Rows(Engine::Postgres, "new_rows"), ""),
        );
        (table, name, function, sql)
    })
    .collect()
}

/// A PostgreSQL trigger function `name` for statement triggers: `old`
/// takes away the rows an update or a delete removed (`old_rows`), `new`
/// adds the rows an insert or an update wrote (`new_rows`).
pub(crate) fn statement_function(name: &str, old: &str, new: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {old}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {new}
    END IF;
    RETURN NULL;
END $$;\n"
    )
}

/// The zone the aggregates were built for, if they were.
pub fn built_for(conn: &Conn) -> Result<Option<String>> {
    conn.row("SELECT name FROM aggregate_zone", &[], |r| r.get(0))
}

/// Makes the aggregates follow `tz`: when they were built for another
/// zone (or none: a database from before them), writes the zone's offsets
/// and rebuilds them, in one transaction, with a log line. Returns whether
/// it rebuilt them.
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
    tx.batch("DELETE FROM zone_offsets; DELETE FROM aggregate_zone;")?;
    let offsets = ZoneOffsets::of(tz);
    insert_rows(
        &tx,
        "zone_offsets (since, offset_us)",
        offsets
            .0
            .iter()
            .map(|(since, offset)| vec![Value::from(*since), Value::from(*offset)]),
    )?;
    tx.execute(
        "INSERT INTO aggregate_zone (name) VALUES (?1)",
        args![tz.name()],
    )?;
    rebuild_with(&tx, &offsets)?;
    tx.commit()?;
    match before {
        Some(old) => log::info!(
            "the time zone changed from {old} to {}: the statistics' aggregates were rebuilt for it",
            tz.name()
        ),
        None => log::info!("the statistics' aggregates were built for the time zone {}", tz.name()),
    }
    Ok(true)
}

/// Rebuilds every aggregate from the rows, inside the caller's write
/// transaction, for the zone they were built for: after a bulk load whose
/// triggers were suspended, or `voxdash check --repair`.
pub fn rebuild(conn: &Conn) -> Result<()> {
    rebuild_with(conn, &stored_offsets(conn)?)
}

/// Resolves the addresses of uploads that no voxdash write resolved yet
/// (written by another program), inside the caller's write transaction,
/// so that they count in their region without being resolved at each
/// computation.
pub fn resolve_addresses(conn: &Conn) -> Result<()> {
    uploads::resolve_pending(conn)
}

/// Brings the aggregates up to date after a bulk load of `tables`, inside
/// its transaction: with `triggers_were_off` (SQLite's import sets them
/// aside), rebuilds those the load wrote; a new `ip_regions` resolves
/// every address again; addresses still waiting are resolved.
pub fn after_load(conn: &Conn, tables: &[&str], triggers_were_off: bool) -> Result<()> {
    if triggers_were_off {
        rebuild_after_load(conn, tables)?;
    } else if tables.contains(&"ip_regions") {
        uploads::rebuild(conn)?;
    }
    uploads::resolve_pending(conn)
}

/// Rebuilds the aggregates of the tables a bulk load wrote without their
/// triggers (inside its transaction): the sessions', the corpus', the
/// uploads', or none.
fn rebuild_after_load(conn: &Conn, tables: &[&str]) -> Result<()> {
    let timed = |part: &str, rebuild: &dyn Fn() -> Result<()>| {
        let started = std::time::Instant::now();
        rebuild()?;
        log::debug!("the {part} aggregates rebuilt in {:.2?}", started.elapsed());
        Ok::<_, super::StoreError>(())
    };
    if tables.contains(&"study_sessions") {
        timed("sessions'", &|| sessions::rebuild(conn))?;
    }
    if tables
        .iter()
        .any(|t| matches!(*t, "speakers" | "recordings"))
    {
        timed("corpus'", &|| corpus::rebuild(conn, &stored_offsets(conn)?))?;
    }
    if tables
        .iter()
        .any(|t| matches!(*t, "uploads" | "recordings" | "ip_regions"))
    {
        timed("uploads'", &|| uploads::rebuild(conn))?;
    }
    Ok(())
}

/// The offsets the aggregates were built with.
fn stored_offsets(conn: &Conn) -> Result<ZoneOffsets> {
    let mut offsets = Vec::new();
    conn.each(
        "SELECT since, offset_us FROM zone_offsets ORDER BY since",
        &[],
        |r| {
            offsets.push((r.get(0)?, r.get(1)?));
            Ok(())
        },
    )?;
    Ok(ZoneOffsets(offsets))
}

fn rebuild_with(conn: &Conn, offsets: &ZoneOffsets) -> Result<()> {
    sessions::rebuild(conn)?;
    corpus::rebuild(conn, offsets)?;
    uploads::rebuild(conn)
}

/// The entries of `map` in the order of their keys: rows inserted in the
/// order of the table's key fill its B-tree from one end (a fifth faster
/// for the 250,000 SNR bands of a million recordings than in hash order).
pub(crate) fn in_key_order<K: Ord, V>(map: std::collections::HashMap<K, V>) -> Vec<(K, V)> {
    let mut entries: Vec<(K, V)> = map.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// Inserts `rows` into `table (columns)`, many rows per statement: a
/// rebuild writes hundreds of thousands, and a round trip each would cost
/// PostgreSQL minutes.
pub(crate) fn insert_rows(
    conn: &Conn,
    table: &str,
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<()> {
    const PER_STATEMENT: usize = 400;
    let mut batch: Vec<Value> = Vec::new();
    let mut width = 0;
    let flush = |batch: &mut Vec<Value>, width: usize| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let count = batch.len() / width;
        let tuples: Vec<String> = (0..count)
            .map(|row| {
                let marks: Vec<String> = (1..=width)
                    .map(|c| format!("?{}", row * width + c))
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        conn.execute(
            &format!("INSERT INTO {table} VALUES {}", tuples.join(", ")),
            batch,
        )?;
        batch.clear();
        Ok(())
    };
    for row in rows {
        width = row.len();
        batch.extend(row);
        if batch.len() >= PER_STATEMENT * width {
            flush(&mut batch, width)?;
        }
    }
    flush(&mut batch, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_summer_time_has_its_transitions_to_the_second() {
        let offsets = ZoneOffsets::of(chrono_tz::Europe::Berlin);
        // 2025-03-30 01:00 UTC: CET (+1 h) becomes CEST (+2 h).
        let spring = 1_743_296_400 * 1_000_000;
        let at = offsets.0.iter().position(|(since, _)| *since == spring);
        let at = at.expect("the spring transition of 2025");
        assert_eq!(offsets.0[at].1, 7_200_000_000);
        assert_eq!(offsets.0[at - 1].1, 3_600_000_000);
        assert_eq!(ZoneOffsets::of(chrono_tz::UTC).0, vec![(i64::MIN, 0)]);
    }

    #[test]
    fn a_month_is_the_local_month_to_the_microsecond() {
        let offsets = ZoneOffsets::of(chrono_tz::Asia::Seoul);
        // 2024-10-31 15:00 UTC is midnight of 1 November in Seoul.
        let midnight = 1_730_386_800 * 1_000_000;
        assert_eq!(offsets.month(midnight), 202411);
        assert_eq!(offsets.month(midnight - 1), 202410);
        let utc = ZoneOffsets::of(chrono_tz::UTC);
        assert_eq!(utc.month(-1), 196912);
        assert_eq!(utc.month(0), 197001);
    }
}
