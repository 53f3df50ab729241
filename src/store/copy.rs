//! `voxdash migrate --to`: the copy of an embedded data directory (SQLite)
//! into PostgreSQL, in one transaction, every table's rows counted on both
//! sides before it commits.

use std::io::Write;

use postgres::Transaction;
use rusqlite::Connection;

use super::postgres::{apply_migrations, copy_line, schema, PgStore};
use super::{Result, Store, StoreError};

/// What a copy may find in its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing at all: any table there refuses the copy.
    Empty,
    /// voxdash's tables at this version and nothing else: their rows are
    /// replaced (`voxdash migrate --replace`).
    Replace,
}

/// What a copy wrote: every table with its rows, in copy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The database written (no password).
    pub place: String,
    /// (table, rows) in copy order.
    pub tables: Vec<(String, u64)>,
}

/// Copies every table of the SQLite store `source` into the PostgreSQL
/// database at `url`: the schema, the rows (COPY, triggers suspended), the
/// write counters as they are, the identities moved past the largest id;
/// then compares the row counts of every table. All of it in one
/// transaction: a copy that fails, or whose counts differ, leaves the
/// target as it was. An `Empty` target must hold no table; a `Replace`
/// target only voxdash's, at this version, whose rows are emptied first.
/// `progress` hears each table and its rows as it is done.
pub fn copy_from_sqlite(
    source: &Store,
    url: &str,
    target_is: Target,
    mut progress: impl FnMut(&str, u64),
) -> Result<CopyReport> {
    let target = PgStore::connect(url)?;
    let empty = accepts(&target, target_is)?;
    let conn = source.conn()?;
    let conn = conn
        .as_sqlite()
        .ok_or_else(|| StoreError::Invalid("the data to copy is already in PostgreSQL".into()))?;
    let snapshot = conn.unchecked_transaction()?;
    let mut link = target.link()?;
    let client = link.client();
    let err = target.err();
    let mut tx = client.transaction().map_err(&err)?;
    prepare(&mut tx, empty).map_err(&err)?;
    let mut report = CopyReport {
        place: target.place().to_string(),
        tables: Vec::new(),
    };
    for table in schema::TABLES {
        let copied = copy_table(&snapshot, &mut tx, &target, table)?;
        progress(table, copied);
        report.tables.push((table.to_string(), copied));
    }
    finish(&mut tx).map_err(&err)?;
    compare_counts(&snapshot, &mut tx, &target, &report)?;
    tx.commit().map_err(&err)?;
    snapshot.finish()?;
    // Statistics for the planner, and the visibility map that lets the
    // statistics' reads scan an index without visiting the table.
    client.batch_execute("VACUUM ANALYZE").map_err(&err)?;
    Ok(report)
}

/// Whether the target may take the copy; `true` when it holds no table.
fn accepts(target: &PgStore, target_is: Target) -> Result<bool> {
    let tables = target.table_count()?;
    if tables == 0 {
        return Ok(true);
    }
    let refuse = |what: String| StoreError::NotEmpty {
        place: target.place().to_string(),
        what,
    };
    if target_is == Target::Empty {
        return Err(refuse(format!("{tables} tables")));
    }
    let foreign = target.foreign_tables()?;
    if !foreign.is_empty() {
        return Err(refuse(format!(
            "tables that are not voxdash's: {}",
            foreign.join(", ")
        )));
    }
    let version = target.version()?;
    if version != schema::latest_version() {
        return Err(refuse(format!(
            "voxdash's tables at schema version {version}, not {}",
            schema::latest_version()
        )));
    }
    Ok(false)
}

/// The schema made (or the earlier copy's rows emptied), the counting
/// triggers suspended and the rows the migrations write (the write
/// counters, the sums over every session) emptied, to be copied as they are.
fn prepare(tx: &mut Transaction<'_>, empty: bool) -> std::result::Result<(), postgres::Error> {
    if empty {
        apply_migrations(tx, 0)?;
    } else {
        tx.batch_execute(&format!("TRUNCATE {}", schema::TABLES.join(", ")))?;
    }
    for table in schema::TABLES {
        tx.batch_execute(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))?;
    }
    tx.batch_execute("DELETE FROM write_counters; DELETE FROM session_sums")
}

/// Copies the rows of `table` by COPY; returns how many.
fn copy_table(
    snapshot: &Connection,
    tx: &mut Transaction<'_>,
    target: &PgStore,
    table: &str,
) -> Result<u64> {
    let err = target.err();
    // The columns the migrations made; SQLite has every one of them.
    let columns: Vec<String> = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
             ORDER BY ordinal_position",
            &[&table],
        )
        .map_err(&err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let list = columns.join(", ");
    let mut stmt = snapshot.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = stmt.query([])?;
    let mut writer = tx
        .copy_in(&format!("COPY {table} ({list}) FROM STDIN"))
        .map_err(&err)?;
    let mut line = Vec::new();
    let mut copied = 0u64;
    while let Some(row) = rows.next()? {
        line.clear();
        let values = (0..columns.len())
            .map(|i| row.get_ref(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        copy_line(values, &mut line).map_err(|(i, reason)| {
            StoreError::Invalid(format!("{table}.{}: {reason}", columns[i]))
        })?;
        writer.write_all(&line).map_err(|e| StoreError::DataDir {
            path: target.place().to_string().into(),
            reason: e.to_string(),
        })?;
        copied += 1;
    }
    writer.finish().map_err(&err)?;
    Ok(copied)
}

/// Identities moved past the largest id copied; the counting triggers back.
fn finish(tx: &mut Transaction<'_>) -> std::result::Result<(), postgres::Error> {
    for table in schema::IDENTITY_TABLES {
        tx.query_one(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            ),
            &[],
        )?;
    }
    for table in schema::TABLES {
        tx.batch_execute(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))?;
    }
    Ok(())
}

/// Every table holds in the target what the source held and what was copied.
fn compare_counts(
    snapshot: &Connection,
    tx: &mut Transaction<'_>,
    target: &PgStore,
    report: &CopyReport,
) -> Result<()> {
    for (table, copied) in &report.tables {
        let in_source: i64 =
            snapshot.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        let in_target: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .map_err(target.err())?
            .get(0);
        if in_source as u64 != *copied || in_target != in_source {
            return Err(StoreError::Invalid(format!(
                "{table}: {in_source} rows in the data directory, {in_target} in {} after the copy; nothing was kept",
                target.place()
            )));
        }
    }
    Ok(())
}
