//! SQL of the CSV import (`voxdash import`): the import's transaction, the
//! suspension and restoring of secondary indexes and counting triggers, the
//! upsert of each row, the ids and speaker codes business rules check
//! against, and the write counts applied in bulk before the commit.

use std::collections::{HashMap, HashSet};

use rusqlite::types::Value;
use rusqlite::{Connection, Statement};

use super::Result;

/// Begins the import's transaction, taking the write lock first: the whole
/// import is one transaction, committed or rolled back as a whole.
pub fn begin(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch("BEGIN IMMEDIATE")?)
}

/// Commits the transaction [`begin`] started.
pub fn commit(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch("COMMIT")?)
}

/// Rolls back the transaction [`begin`] started: nothing of the import is
/// written, and suspended indexes and triggers are back.
pub fn rollback(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch("ROLLBACK")?)
}

/// Secondary indexes and triggers dropped for a load, as the SQL that
/// recreates them ([`Suspended::restore`]).
#[must_use = "suspended indexes and triggers are gone until restored"]
pub struct Suspended {
    sql: Vec<String>,
}

/// Drops the secondary indexes and triggers of `tables` (inside the
/// import's transaction: a rollback restores them, and other connections
/// never see them missing).
pub fn suspend_indexes_and_triggers(conn: &Connection, tables: &[&str]) -> Result<Suspended> {
    let mut sql = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(
            "SELECT type, name, sql FROM sqlite_master
             WHERE type IN ('index', 'trigger') AND tbl_name = ?1 AND sql IS NOT NULL",
        )?;
        let items: Vec<(String, String, String)> = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (kind, name, create) in items {
            conn.execute_batch(&format!("DROP {} \"{name}\"", kind.to_ascii_uppercase()))?;
            sql.push(create);
        }
    }
    Ok(Suspended { sql })
}

impl Suspended {
    /// Recreates the indexes and triggers, in the order they were dropped.
    pub fn restore(self, conn: &Connection) -> Result<()> {
        for sql in &self.sql {
            conn.execute_batch(sql)?;
        }
        Ok(())
    }
}

/// Deletes every IP region (the file replaces the table); returns how many
/// rows were deleted.
pub fn clear_ip_regions(conn: &Connection) -> Result<u64> {
    Ok(conn.execute("DELETE FROM ip_regions", [])? as u64)
}

/// A table whose ids the business rules of later files check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTable {
    /// `users`.
    Users,
    /// `speakers`.
    Speakers,
    /// `uploads`.
    Uploads,
    /// `courses`.
    Courses,
}

/// Every id of `table`.
pub fn ids(conn: &Connection, table: IdTable) -> Result<HashSet<i64>> {
    let sql = match table {
        IdTable::Users => "SELECT id FROM users",
        IdTable::Speakers => "SELECT id FROM speakers",
        IdTable::Uploads => "SELECT id FROM uploads",
        IdTable::Courses => "SELECT id FROM courses",
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Calls `each` with the id and code of every speaker, lowest id first (so
/// that of two speakers sharing a code, the first one is seen first).
pub fn for_each_speaker_code(conn: &Connection, mut each: impl FnMut(i64, String)) -> Result<()> {
    let mut stmt = conn.prepare("SELECT id, code FROM speakers ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        each(row.get(0)?, row.get(1)?);
    }
    Ok(())
}

/// What an upsert did with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    /// The row was already there, identical: nothing was written.
    Unchanged,
    /// Rows inserted or replaced.
    Changed(u64),
    /// A constraint of the table failed (a value already used by another
    /// row); nothing was written.
    Conflict {
        /// The column SQLite names in its message, or `(row)`.
        column: String,
    },
}

/// The prepared statement that writes the rows of one file into its table.
pub struct Upsert<'conn> {
    stmt: Statement<'conn>,
}

impl<'conn> Upsert<'conn> {
    /// Prepares the upsert by `id` of `columns` into `table` (an identical
    /// row is left alone, so it is no write), or for `ip_regions` a plain
    /// insert with a trailing `seq` value (the table was cleared first and
    /// has no `id`).
    pub fn prepare(conn: &'conn Connection, table: &str, columns: &[&str]) -> Result<Self> {
        Ok(Upsert {
            stmt: conn.prepare(&upsert_sql(table, columns))?,
        })
    }

    /// Writes one row: `values` in the order of the columns (and `seq` last
    /// for `ip_regions`). A broken unique constraint is an outcome, not an
    /// error: the caller rejects that row and goes on.
    pub fn execute(&mut self, values: &[Value]) -> Result<Upserted> {
        match self.stmt.execute(rusqlite::params_from_iter(values.iter())) {
            Ok(0) => Ok(Upserted::Unchanged),
            Ok(changed) => Ok(Upserted::Changed(changed as u64)),
            Err(rusqlite::Error::SqliteFailure(e, msg))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(Upserted::Conflict {
                    column: constraint_column(msg.as_deref()),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn upsert_sql(table: &str, names: &[&str]) -> String {
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    if table == "ip_regions" {
        return format!(
            "INSERT INTO ip_regions (seq, {}) VALUES (?{}, {})",
            names.join(", "),
            names.len() + 1,
            placeholders.join(", ")
        );
    }
    let rest: Vec<&str> = names.iter().copied().filter(|n| *n != "id").collect();
    let set: Vec<String> = rest.iter().map(|n| format!("{n} = excluded.{n}")).collect();
    // Re-importing an identical row is a no-op, so it does not count as a write.
    let old: Vec<String> = rest.iter().map(|n| n.to_string()).collect();
    let new: Vec<String> = rest.iter().map(|n| format!("excluded.{n}")).collect();
    format!(
        "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT(id) DO UPDATE SET {set} \
         WHERE ({old}) IS NOT ({new})",
        t = table,
        cols = names.join(", "),
        vals = placeholders.join(", "),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

fn constraint_column(msg: Option<&str>) -> String {
    // SQLite says e.g. "UNIQUE constraint failed: users.username".
    msg.and_then(|m| m.rsplit('.').next())
        .map(str::to_string)
        .unwrap_or_else(|| "(row)".into())
}

/// Writes of an import, counted while the counting triggers are suspended
/// and applied in one go by [`WriteCounts::apply`]: rows changed and
/// deleted per table, and sessions / progress rows written per user.
#[derive(Debug, Default)]
pub struct WriteCounts {
    tables: HashMap<&'static str, (u64, u64)>,
    users: HashMap<i64, (u64, u64)>,
}

impl WriteCounts {
    /// Counts `n` rows of `table` inserted or replaced.
    pub fn changed(&mut self, table: &'static str, n: u64) {
        self.tables.entry(table).or_default().0 += n;
    }

    /// Counts `n` rows of `table` deleted.
    pub fn deleted(&mut self, table: &'static str, n: u64) {
        self.tables.entry(table).or_default().1 += n;
    }

    /// Counts one study session of `user` written.
    pub fn session_of(&mut self, user: i64) {
        self.users.entry(user).or_default().0 += 1;
    }

    /// Counts one course progress row of `user` written.
    pub fn progress_of(&mut self, user: i64) {
        self.users.entry(user).or_default().1 += 1;
    }

    /// Adds the counts to `write_counters` and `user_revisions`, as the
    /// suspended triggers would have row by row.
    pub fn apply(&self, conn: &Connection) -> Result<()> {
        for (table, (changed, deleted)) in &self.tables {
            conn.execute(
                "UPDATE write_counters SET inserts = inserts + ?2, deletes = deletes + ?3 WHERE table_name = ?1",
                rusqlite::params![table, *changed as i64, *deleted as i64],
            )?;
        }
        let mut stmt = conn.prepare(
            "INSERT INTO user_revisions (user_id, sessions, progress) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + ?2, progress = progress + ?3",
        )?;
        for (user, (sessions, progress)) in &self.users {
            stmt.execute(rusqlite::params![user, *sessions as i64, *progress as i64])?;
        }
        let corpus_written = ["speakers", "recordings"]
            .iter()
            .any(|t| self.tables.get(t).is_some_and(|(c, d)| c + d > 0));
        if corpus_written {
            count_every_speaker_and_group(conn)?;
        }
        Ok(())
    }
}

/// After an import that wrote speakers or recordings, every speaker and
/// group counts as written (rows were loaded without their triggers): every
/// drill-down entry is stale, none is missed. Groups that lost all their
/// speakers keep their row and are counted too.
fn count_every_speaker_and_group(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "UPDATE speaker_revisions SET n = n + 1;
         INSERT INTO speaker_revisions(speaker_id, n) SELECT id, 1 FROM speakers WHERE true
             ON CONFLICT(speaker_id) DO NOTHING;
         UPDATE group_revisions SET n = n + 1;
         INSERT INTO group_revisions(category, diagnosis, gender, n)
             SELECT DISTINCT COALESCE(category, ''), COALESCE(diagnosis, ''), COALESCE(gender, ''), 1
             FROM speakers WHERE true
             ON CONFLICT(category, diagnosis, gender) DO NOTHING;",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_skips_identical_rows() {
        let sql = upsert_sql("courses", &["id", "name", "subject"]);
        assert!(sql.contains("ON CONFLICT(id) DO UPDATE SET name = excluded.name"));
        assert!(sql.contains("IS NOT (excluded.name, excluded.subject)"));
    }
}
