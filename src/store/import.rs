//! SQL of the CSV import (`voxdash import`): the import's transaction, the
//! suspension and restoring of secondary indexes and counting triggers, the
//! upsert of each row, the ids and speaker codes business rules check
//! against, and the write counts applied in bulk before the commit.

use std::collections::{HashMap, HashSet};

use super::{args, Conn, Engine, Result, StoreError, Value};

/// Secondary indexes and triggers dropped for a load, as the SQL that
/// recreates them ([`Suspended::restore`]).
#[must_use = "suspended indexes and triggers are gone until restored"]
pub struct Suspended {
    sql: Vec<String>,
}

/// Drops the secondary indexes and triggers of `tables` (inside the
/// import's transaction: a rollback restores them, and other connections
/// never see them missing). On PostgreSQL nothing is dropped: there a
/// dropped trigger or index locks its table against every reader until
/// the import commits, so the triggers count the rows as they come.
pub fn suspend_indexes_and_triggers(conn: &Conn, tables: &[&str]) -> Result<Suspended> {
    let mut sql = Vec::new();
    if conn.engine() == Engine::Postgres {
        return Ok(Suspended { sql });
    }
    for table in tables {
        let items = conn.query(
            "SELECT type, name, sql FROM sqlite_master
             WHERE type IN ('index', 'trigger') AND tbl_name = ?1 AND sql IS NOT NULL",
            args![*table],
        )?;
        for item in items {
            let (kind, name): (String, String) = (item.get(0)?, item.get(1)?);
            conn.batch(&format!("DROP {} \"{name}\"", kind.to_ascii_uppercase()))?;
            sql.push(item.get(2)?);
        }
    }
    Ok(Suspended { sql })
}

impl Suspended {
    /// Recreates the indexes and triggers, in the order they were dropped.
    pub fn restore(self, conn: &Conn) -> Result<()> {
        for sql in &self.sql {
            conn.batch(sql)?;
        }
        Ok(())
    }

    /// Whether the counting triggers were suspended, so that the import
    /// counts its writes itself ([`WriteCounts::apply`]).
    pub fn counts_writes(&self) -> bool {
        !self.sql.is_empty()
    }
}

/// Deletes every IP region (the file replaces the table); returns how many
/// rows were deleted.
pub fn clear_ip_regions(conn: &Conn) -> Result<u64> {
    conn.execute("DELETE FROM ip_regions", &[])
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
pub fn ids(conn: &Conn, table: IdTable) -> Result<HashSet<i64>> {
    let sql = match table {
        IdTable::Users => "SELECT id FROM users",
        IdTable::Speakers => "SELECT id FROM speakers",
        IdTable::Uploads => "SELECT id FROM uploads",
        IdTable::Courses => "SELECT id FROM courses",
    };
    conn.query(sql, &[])?.iter().map(|r| r.get(0)).collect()
}

/// Calls `each` with the id and code of every speaker, lowest id first (so
/// that of two speakers sharing a code, the first one is seen first).
pub fn for_each_speaker_code(conn: &Conn, mut each: impl FnMut(i64, String)) -> Result<()> {
    for row in conn.query("SELECT id, code FROM speakers ORDER BY id", &[])? {
        each(row.get(0)?, row.get(1)?);
    }
    Ok(())
}

/// Calls `each` with the id and username of every user, lowest id first.
pub fn for_each_username(conn: &Conn, mut each: impl FnMut(i64, String)) -> Result<()> {
    for row in conn.query("SELECT id, username FROM users ORDER BY id", &[])? {
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
    /// The row was handed to a bulk load, written when the file is done
    /// ([`Upsert::finish`]).
    Staged,
    /// A constraint of the table failed (a value already used by another
    /// row); nothing was written.
    Conflict {
        /// The column SQLite names in its message, or `(row)`.
        column: String,
    },
}

/// How the rows of one file reach their table.
pub struct Upsert<'c> {
    conn: &'c Conn<'c>,
    sql: String,
    /// On PostgreSQL a failed statement ends the whole transaction, so a
    /// row that may break a unique constraint besides its id is tried
    /// inside a savepoint.
    savepoint: bool,
    /// On PostgreSQL, tables whose only unique value is the id are loaded
    /// in bulk: rows by `COPY` into a temporary table, then one upsert.
    staged: Option<Staged>,
    /// On SQLite, the statement prepared once for every row (looking it up
    /// in the statement cache by its text, row after row, cost a tenth of
    /// the load).
    prepared: Option<rusqlite::CachedStatement<'c>>,
}

/// Rows waiting for `COPY`, and where they go.
struct Staged {
    table: String,
    columns: Vec<String>,
    /// The `COPY … FROM STDIN` the lines go to.
    copy: String,
    /// What makes the staged rows the table's once the file is read;
    /// `None` for `ip_regions`, copied straight into the table it replaces.
    finish: Option<String>,
    /// COPY text lines not sent yet.
    lines: Vec<u8>,
    /// Rows staged so far; each line carries its number when there is a
    /// `finish` (the last of two rows with one id wins, as row by row).
    rows: i64,
}

/// Bytes of COPY text sent at a time.
const STAGED_CHUNK: usize = 8 << 20;

impl<'c> Upsert<'c> {
    /// Prepares the upsert by `id` of `columns` into `table` (an identical
    /// row is left alone, so it is no write), or for `ip_regions` a plain
    /// insert with a trailing `seq` value (the table was cleared first and
    /// has no `id`).
    pub fn prepare(conn: &'c Conn<'c>, table: &str, columns: &[&str]) -> Result<Self> {
        let postgres = conn.engine() == Engine::Postgres;
        let staged = if postgres && table != "users" {
            Some(Staged::prepare(conn, table, columns)?)
        } else {
            None
        };
        let sql = upsert_sql(conn.engine(), table, columns);
        let prepared = match conn.as_sqlite() {
            Some(sqlite) => Some(sqlite.prepare_cached(&sql)?),
            None => None,
        };
        Ok(Upsert {
            conn,
            sql,
            savepoint: postgres && table == "users",
            staged,
            prepared,
        })
    }

    /// Writes what is staged: the rows in file order, each id's last row
    /// only, upserted as row by row would (identical rows left alone).
    pub fn finish(self) -> Result<()> {
        match self.staged {
            Some(mut s) => s.finish(self.conn),
            None => Ok(()),
        }
    }

    /// Writes one row: `values` in the order of the columns (and `seq` last
    /// for `ip_regions`). A broken unique constraint is an outcome, not an
    /// error: the caller rejects that row and goes on.
    pub fn execute(&mut self, values: &[Value]) -> Result<Upserted> {
        if let Some(s) = self.staged.as_mut() {
            s.push(self.conn, values)?;
            return Ok(Upserted::Staged);
        }
        if self.savepoint {
            self.conn.batch("SAVEPOINT upsert_row")?;
        }
        let written = match self.prepared.as_mut() {
            Some(statement) => statement
                .execute(rusqlite::params_from_iter(values))
                .map(|n| n as u64)
                .map_err(StoreError::from),
            None => self.conn.execute(&self.sql, values),
        };
        let outcome = match written {
            Ok(0) => Ok(Upserted::Unchanged),
            Ok(changed) => Ok(Upserted::Changed(changed)),
            Err(e) => match conflict_column(&e) {
                Some(column) => Ok(Upserted::Conflict { column }),
                None => Err(e),
            },
        };
        if self.savepoint {
            match outcome {
                Ok(Upserted::Conflict { .. }) => {
                    self.conn.batch("ROLLBACK TO SAVEPOINT upsert_row")?
                }
                Ok(_) => self.conn.batch("RELEASE SAVEPOINT upsert_row")?,
                Err(_) => {}
            }
        }
        outcome
    }
}

impl Staged {
    /// Makes the temporary table the rows of `columns` of `table` are
    /// copied into (none for `ip_regions`).
    fn prepare(conn: &Conn, table: &str, columns: &[&str]) -> Result<Staged> {
        let cols = columns.join(", ");
        let (copy, finish) = if table == "ip_regions" {
            (format!("COPY ip_regions ({cols}, seq) FROM STDIN"), None)
        } else {
            conn.batch(&format!(
                "DROP TABLE IF EXISTS import_stage;
                 CREATE TEMP TABLE import_stage AS SELECT {cols} FROM {table} WITH NO DATA;
                 ALTER TABLE import_stage ADD COLUMN stage_seq BIGINT"
            ))?;
            let finish = format!(
                "INSERT INTO {table} ({cols})
                 SELECT {cols} FROM (SELECT DISTINCT ON (id) {cols} FROM import_stage
                     ORDER BY id, stage_seq DESC) AS last_of_each
                 {on_conflict};
                 DROP TABLE import_stage",
                on_conflict = on_conflict(Engine::Postgres, table, columns),
            );
            (
                format!("COPY import_stage ({cols}, stage_seq) FROM STDIN"),
                Some(finish),
            )
        };
        Ok(Staged {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            copy,
            finish,
            lines: Vec::new(),
            rows: 0,
        })
    }

    /// Adds one row, sending the lines when they reach [`STAGED_CHUNK`].
    fn push(&mut self, conn: &Conn, values: &[Value]) -> Result<()> {
        self.rows += 1;
        let number = self
            .finish
            .is_some()
            .then_some(rusqlite::types::ValueRef::Integer(self.rows));
        let line = values.iter().map(Value::as_ref).chain(number);
        super::postgres::copy_line(line, &mut self.lines).map_err(|(i, reason)| {
            let column = self.columns.get(i).map_or("(row)", String::as_str);
            StoreError::Invalid(format!("{}.{column}: {reason}", self.table))
        })?;
        if self.lines.len() >= STAGED_CHUNK {
            self.send(conn)?;
        }
        Ok(())
    }

    /// Sends the staged lines.
    fn send(&mut self, conn: &Conn) -> Result<()> {
        if !self.lines.is_empty() {
            conn.copy_in(&self.copy, &self.lines)?;
            self.lines.clear();
        }
        Ok(())
    }

    /// Sends the rest, then makes the staged rows the table's.
    fn finish(&mut self, conn: &Conn) -> Result<()> {
        self.send(conn)?;
        match &self.finish {
            Some(sql) => conn.batch(sql),
            None => Ok(()),
        }
    }
}

/// The column of a broken constraint, when `e` is one.
fn conflict_column(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, msg))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(constraint_column(msg.as_deref()))
        }
        StoreError::Postgres { source, .. } => {
            let db = source.as_db_error()?;
            if !db.code().code().starts_with("23") {
                return None;
            }
            // PostgreSQL says e.g. "Key (username)=(ada) already exists."
            let column = db
                .detail()
                .and_then(|d| d.split_once('(')?.1.split_once(')'))
                .map(|(column, _)| column.to_string())
                .or_else(|| db.column().map(str::to_string))
                .unwrap_or_else(|| "(row)".into());
            Some(column)
        }
        _ => None,
    }
}

fn upsert_sql(engine: Engine, table: &str, names: &[&str]) -> String {
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    if table == "ip_regions" {
        return format!(
            "INSERT INTO ip_regions (seq, {}) VALUES (?{}, {})",
            names.join(", "),
            names.len() + 1,
            placeholders.join(", ")
        );
    }
    format!(
        "INSERT INTO {table} ({cols}) VALUES ({vals}) {on_conflict}",
        cols = names.join(", "),
        vals = placeholders.join(", "),
        on_conflict = on_conflict(engine, table, names),
    )
}

/// The upsert by `id` of `names` into `table`: the other columns replaced,
/// unless they are all equal (re-importing an identical row is no write).
fn on_conflict(engine: Engine, table: &str, names: &[&str]) -> String {
    let rest: Vec<&str> = names.iter().copied().filter(|n| *n != "id").collect();
    let set: Vec<String> = rest.iter().map(|n| format!("{n} = excluded.{n}")).collect();
    let old: Vec<String> = rest.iter().map(|n| format!("{table}.{n}")).collect();
    let new: Vec<String> = rest.iter().map(|n| format!("excluded.{n}")).collect();
    let differs = match engine {
        Engine::Sqlite => "IS NOT",
        Engine::Postgres => "IS DISTINCT FROM",
    };
    let row = |cols: &[String]| match engine {
        Engine::Postgres if cols.len() > 1 => format!("ROW({})", cols.join(", ")),
        _ => format!("({})", cols.join(", ")),
    };
    format!(
        "ON CONFLICT(id) DO UPDATE SET {set} WHERE {old} {differs} {new}",
        set = set.join(", "),
        old = row(&old),
        new = row(&new),
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
    pub fn apply(&self, conn: &Conn) -> Result<()> {
        for (table, (changed, deleted)) in &self.tables {
            conn.execute(
                "UPDATE write_counters SET inserts = inserts + ?2, deletes = deletes + ?3 WHERE table_name = ?1",
                args![*table, *changed as i64, *deleted as i64],
            )?;
        }
        for (user, (sessions, progress)) in &self.users {
            conn.execute(
                "INSERT INTO user_revisions (user_id, sessions, progress) VALUES (?1, ?2, ?3)
                 ON CONFLICT(user_id) DO UPDATE SET sessions = user_revisions.sessions + ?2,
                     progress = user_revisions.progress + ?3",
                args![*user, *sessions as i64, *progress as i64],
            )?;
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
fn count_every_speaker_and_group(conn: &Conn) -> Result<()> {
    conn.batch(
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
        let sql = upsert_sql(Engine::Sqlite, "courses", &["id", "name", "subject"]);
        assert!(sql.contains("ON CONFLICT(id) DO UPDATE SET name = excluded.name"));
        assert!(sql.contains("IS NOT (excluded.name, excluded.subject)"));
        let sql = upsert_sql(Engine::Postgres, "courses", &["id", "name", "subject"]);
        assert!(sql.contains(
            "ROW(courses.name, courses.subject) IS DISTINCT FROM ROW(excluded.name, excluded.subject)"
        ));
    }
}
