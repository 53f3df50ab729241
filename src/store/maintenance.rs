//! SQL of `cleanup`: the rules that find invalid, duplicate, old and
//! inactive rows, and batch operations that each run in one transaction
//! (copy to the archive and delete together), so an interrupted run loses
//! nothing and a rerun finishes the job.

use super::{aggregates, args, Conn, Engine, Result, Tx, Value};

/// The rules of cleanup: each one's name and the `WHERE` clause over
/// `study_sessions` of the sessions that break it. The bounds on one column
/// come from [`crate::rules`], as the write API's and the import's do.
pub fn session_rules() -> Vec<(&'static str, String)> {
    use crate::rules::{DURATION, FOCUS, RATING};
    let bound = |r: crate::rules::Rule| (r.name, r.broken_sql());
    vec![
        bound(DURATION),
        (
            "end_before_start",
            "end_time IS NOT NULL AND end_time < start_time".into(),
        ),
        bound(RATING),
        bound(FOCUS),
        (
            "unknown_user",
            "user_id NOT IN (SELECT id FROM users)".into(),
        ),
        (
            "unknown_course",
            "course_id IS NOT NULL AND course_id NOT IN (SELECT id FROM courses)".into(),
        ),
    ]
}

/// Sessions breaking any rule.
pub fn invalid_clause() -> String {
    session_rules()
        .iter()
        .map(|(_, w)| format!("({w})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Progress rows that are not the one kept for their (user, course): the
/// latest `updated_at`, then the highest id.
const DUPLICATE_PROGRESS: &str = "EXISTS (SELECT 1 FROM course_progress k
    WHERE k.user_id = course_progress.user_id AND k.course_id = course_progress.course_id
      AND (k.updated_at > course_progress.updated_at
           OR (k.updated_at = course_progress.updated_at AND k.id > course_progress.id)))";

/// Users with no session (current or archived) starting at or after
/// `since` and no activity since then.
const INACTIVE_USER: &str = "(SELECT id FROM users u
    WHERE COALESCE(u.last_active_at, u.created_at) < ?1
      AND NOT EXISTS (SELECT 1 FROM study_sessions s WHERE s.user_id = u.id AND s.start_time >= ?1)
      AND NOT EXISTS (SELECT 1 FROM study_sessions_archive a WHERE a.user_id = u.id AND a.start_time >= ?1))";

fn count(conn: &Conn, sql: &str, args: &[Value]) -> Result<u64> {
    Ok(conn.query_value::<i64>(sql, args)? as u64)
}

/// Sessions matching one rule's clause.
pub fn count_sessions_where(conn: &Conn, clause: &str) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM study_sessions WHERE {clause}"),
        &[],
    )
}

/// Duplicate progress rows (those cleanup deletes).
pub fn count_duplicate_progress(conn: &Conn) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM course_progress WHERE {DUPLICATE_PROGRESS}"),
        &[],
    )
}

/// Valid sessions started before `cut` (to archive).
pub fn count_to_archive(conn: &Conn, cut: i64, skip_invalid: bool) -> Result<u64> {
    let extra = if skip_invalid {
        format!(" AND NOT ({})", invalid_clause())
    } else {
        String::new()
    };
    count(
        conn,
        &format!("SELECT COUNT(*) FROM study_sessions WHERE start_time < ?1{extra}"),
        args![cut],
    )
}

/// Archived sessions started before `cut` (to delete).
pub fn count_archived_before(conn: &Conn, cut: i64) -> Result<u64> {
    count(
        conn,
        "SELECT COUNT(*) FROM study_sessions_archive WHERE start_time < ?1",
        args![cut],
    )
}

/// Users inactive since `since`.
pub fn count_inactive_users(conn: &Conn, since: i64) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM {INACTIVE_USER} AS inactive"),
        args![since],
    )
}

/// One batch: the ids of `table` after `after` matching `clause`, in id
/// order (keyset pagination, so a run is linear however many batches).
/// Fills the temporary table `cleanup_batch` and returns the largest id,
/// `None` when done. `extra` are the clause's parameters from `?3` on.
fn select_batch(
    tx: &Conn,
    table: &str,
    clause: &str,
    after: i64,
    limit: usize,
    extra: &[Value],
) -> Result<Option<i64>> {
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS cleanup_batch (id BIGINT PRIMARY KEY)",
        &[],
    )?;
    tx.execute("DELETE FROM cleanup_batch", &[])?;
    let mut args = vec![Value::from(after), Value::from(limit as i64)];
    args.extend_from_slice(extra);
    tx.execute(
        &format!("INSERT INTO cleanup_batch SELECT id FROM {table} WHERE id > ?1 AND ({clause}) ORDER BY id LIMIT ?2"),
        &args,
    )?;
    tx.query_value("SELECT MAX(id) FROM cleanup_batch", &[])
}

/// Runs `work`, a run of many batches on `conn`, with SQLite's WAL
/// checkpointed every 64 MB instead of every 4 MB. A batch dirties pages
/// spread over the learners' indexes and aggregates, and the next batches
/// dirty the same pages again: a checkpoint after every batch or two
/// wrote each of them into the database (and synced it) again and again;
/// now once per many batches. Readers are not slowed; the WAL file grows
/// to at most that size while cleanup runs.
pub fn with_rare_checkpoints<T>(conn: &Conn, work: impl FnOnce() -> Result<T>) -> Result<T> {
    if conn.engine() != Engine::Sqlite {
        return work();
    }
    conn.batch("PRAGMA wal_autocheckpoint = 16384")?;
    let done = work();
    // The connection goes back to the pool: the next user gets the default.
    conn.batch("PRAGMA wal_autocheckpoint = 1000")?;
    done
}

/// Where a batched rule goes on from, and how many rows it changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    /// Largest id handled so far.
    pub after: i64,
    /// Rows changed by the last batch.
    pub changed: usize,
    /// No more rows match.
    pub done: bool,
}

fn delete_batch(
    conn: &Conn,
    table: &str,
    clause: &str,
    after: i64,
    limit: usize,
    extra: &[Value],
) -> Result<Cursor> {
    let tx = conn.write_transaction()?;
    let Some(last) = select_batch(&tx, table, clause, after, limit, extra)? else {
        return Ok(Cursor {
            after,
            changed: 0,
            done: true,
        });
    };
    remove_batch(tx, table, last)
}

/// Deletes the rows of the batch from `table` and commits: the batch
/// ending at id `last` is done.
fn remove_batch(tx: Tx, table: &str, last: i64) -> Result<Cursor> {
    const BATCH: &str = "SELECT id FROM cleanup_batch";
    let n = if table == "study_sessions" {
        aggregates::sessions::delete_sessions(&tx, BATCH, &[])?
    } else {
        tx.execute(&format!("DELETE FROM {table} WHERE id IN ({BATCH})"), &[])?
    };
    tx.commit()?;
    Ok(Cursor {
        after: last,
        changed: n as usize,
        done: false,
    })
}

/// Deletes the next `limit` invalid sessions after id `after`, in one transaction.
pub fn delete_invalid_batch(conn: &Conn, after: i64, limit: usize) -> Result<Cursor> {
    delete_batch(conn, "study_sessions", &invalid_clause(), after, limit, &[])
}

/// Deletes the next `limit` duplicate progress rows after id `after`.
pub fn delete_duplicate_progress_batch(conn: &Conn, after: i64, limit: usize) -> Result<Cursor> {
    delete_batch(
        conn,
        "course_progress",
        DUPLICATE_PROGRESS,
        after,
        limit,
        &[],
    )
}

/// Moves the next `limit` sessions (after id `after`) started before `cut`
/// to the archive, in one transaction (copy and delete together).
pub fn archive_batch(conn: &Conn, cut: i64, now: i64, after: i64, limit: usize) -> Result<Cursor> {
    let tx = conn.write_transaction()?;
    let Some(last) = select_batch(
        &tx,
        "study_sessions",
        "start_time < ?3",
        after,
        limit,
        args![cut],
    )?
    else {
        return Ok(Cursor {
            after,
            changed: 0,
            done: true,
        });
    };
    // A session archived before (and restored by hand) is replaced.
    let copy = match tx.engine() {
        Engine::Sqlite => "INSERT OR REPLACE INTO study_sessions_archive",
        Engine::Postgres => "INSERT INTO study_sessions_archive",
    };
    let on_conflict = match tx.engine() {
        Engine::Sqlite => "",
        Engine::Postgres => {
            " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, course_id = excluded.course_id,
               subject_category = excluded.subject_category, start_time = excluded.start_time,
               end_time = excluded.end_time, duration_minutes = excluded.duration_minutes,
               effectiveness_rating = excluded.effectiveness_rating, focus_score = excluded.focus_score,
               learning_environment = excluded.learning_environment, device_type = excluded.device_type,
               is_active = excluded.is_active, archived_at = excluded.archived_at"
        }
    };
    tx.execute(
        &format!(
            "{copy}
                (id, user_id, course_id, subject_category, start_time, end_time, duration_minutes,
                 effectiveness_rating, focus_score, learning_environment, device_type, is_active, archived_at)
             SELECT id, user_id, course_id, subject_category, start_time, end_time, duration_minutes,
                 effectiveness_rating, focus_score, learning_environment, device_type, is_active, CAST(?1 AS BIGINT)
             FROM study_sessions WHERE id IN (SELECT id FROM cleanup_batch){on_conflict}"
        ),
        args![now],
    )?;
    remove_batch(tx, "study_sessions", last)
}

/// Deletes the next `limit` archived sessions (after id `after`) started before `cut`.
pub fn delete_archived_batch(conn: &Conn, cut: i64, after: i64, limit: usize) -> Result<Cursor> {
    delete_batch(
        conn,
        "study_sessions_archive",
        "start_time < ?3",
        after,
        limit,
        args![cut],
    )
}

/// Deletes the sessions (current and archived) and progress of users
/// inactive since `since`, in one transaction. Returns rows deleted.
pub fn purge_inactive(conn: &Conn, since: i64) -> Result<usize> {
    let tx = conn.write_transaction()?;
    let mut n = aggregates::sessions::delete_sessions(
        &tx,
        &format!("SELECT id FROM study_sessions WHERE user_id IN {INACTIVE_USER}"),
        args![since],
    )?;
    for table in ["study_sessions_archive", "course_progress"] {
        n += tx.execute(
            &format!("DELETE FROM {table} WHERE user_id IN {INACTIVE_USER}"),
            args![since],
        )?;
    }
    tx.commit()?;
    Ok(n as usize)
}
