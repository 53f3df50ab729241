//! SQL of `cleanup`: the rules that find invalid, duplicate, old and
//! inactive rows, and batch operations that each run in one transaction
//! (copy to the archive and delete together), so an interrupted run loses
//! nothing and a rerun finishes the job.

use rusqlite::Connection;

use super::Result;

/// A rule of cleanup: its name and the `WHERE` clause over `study_sessions`.
pub const SESSION_RULES: &[(&str, &str)] = &[
    ("negative_duration", "duration_minutes < 0"),
    (
        "end_before_start",
        "end_time IS NOT NULL AND end_time < start_time",
    ),
    (
        "rating_out_of_range",
        "effectiveness_rating IS NOT NULL AND effectiveness_rating NOT BETWEEN 1 AND 5",
    ),
    (
        "focus_out_of_range",
        "focus_score IS NOT NULL AND (focus_score < 0 OR focus_score > 100)",
    ),
    ("unknown_user", "user_id NOT IN (SELECT id FROM users)"),
    (
        "unknown_course",
        "course_id IS NOT NULL AND course_id NOT IN (SELECT id FROM courses)",
    ),
];

/// Sessions breaking any rule.
pub fn invalid_clause() -> String {
    SESSION_RULES
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

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u64> {
    Ok(conn.query_row(sql, p, |r| r.get::<_, i64>(0))? as u64)
}

/// Sessions matching one rule's clause.
pub fn count_sessions_where(conn: &Connection, clause: &str) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM study_sessions WHERE {clause}"),
        [],
    )
}

/// Duplicate progress rows (those cleanup deletes).
pub fn count_duplicate_progress(conn: &Connection) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM course_progress WHERE {DUPLICATE_PROGRESS}"),
        [],
    )
}

/// Valid sessions started before `cut` (to archive).
pub fn count_to_archive(conn: &Connection, cut: i64, skip_invalid: bool) -> Result<u64> {
    let extra = if skip_invalid {
        format!(" AND NOT ({})", invalid_clause())
    } else {
        String::new()
    };
    count(
        conn,
        &format!("SELECT COUNT(*) FROM study_sessions WHERE start_time < ?1{extra}"),
        [cut],
    )
}

/// Archived sessions started before `cut` (to delete).
pub fn count_archived_before(conn: &Connection, cut: i64) -> Result<u64> {
    count(
        conn,
        "SELECT COUNT(*) FROM study_sessions_archive WHERE start_time < ?1",
        [cut],
    )
}

/// Users inactive since `since`.
pub fn count_inactive_users(conn: &Connection, since: i64) -> Result<u64> {
    count(
        conn,
        &format!("SELECT COUNT(*) FROM {INACTIVE_USER}"),
        [since],
    )
}

/// One batch: the ids of `table` after `after` matching `clause`, in id
/// order (keyset pagination, so a run is linear however many batches).
/// Fills `temp.cleanup_batch` and returns the largest id, `None` when done.
fn select_batch(
    tx: &Connection,
    table: &str,
    clause: &str,
    after: i64,
    limit: usize,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Option<i64>> {
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS cleanup_batch (id INTEGER PRIMARY KEY)",
        [],
    )?;
    tx.execute("DELETE FROM temp.cleanup_batch", [])?;
    let limit = limit as i64;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&after, &limit];
    params.extend_from_slice(p);
    tx.execute(
        &format!("INSERT INTO temp.cleanup_batch SELECT id FROM {table} WHERE id > ?1 AND ({clause}) ORDER BY id LIMIT ?2"),
        params.as_slice(),
    )?;
    Ok(tx.query_row("SELECT MAX(id) FROM temp.cleanup_batch", [], |r| r.get(0))?)
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
    conn: &mut Connection,
    table: &str,
    clause: &str,
    after: i64,
    limit: usize,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Cursor> {
    let tx = super::write_transaction(conn)?;
    let Some(last) = select_batch(&tx, table, clause, after, limit, p)? else {
        return Ok(Cursor {
            after,
            changed: 0,
            done: true,
        });
    };
    let n = tx.execute(
        &format!("DELETE FROM {table} WHERE id IN (SELECT id FROM temp.cleanup_batch)"),
        [],
    )?;
    tx.commit()?;
    Ok(Cursor {
        after: last,
        changed: n,
        done: false,
    })
}

/// Deletes the next `limit` invalid sessions after id `after`, in one transaction.
pub fn delete_invalid_batch(conn: &mut Connection, after: i64, limit: usize) -> Result<Cursor> {
    delete_batch(conn, "study_sessions", &invalid_clause(), after, limit, &[])
}

/// Deletes the next `limit` duplicate progress rows after id `after`.
pub fn delete_duplicate_progress_batch(
    conn: &mut Connection,
    after: i64,
    limit: usize,
) -> Result<Cursor> {
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
pub fn archive_batch(
    conn: &mut Connection,
    cut: i64,
    now: i64,
    after: i64,
    limit: usize,
) -> Result<Cursor> {
    let tx = super::write_transaction(conn)?;
    let Some(last) = select_batch(
        &tx,
        "study_sessions",
        "start_time < ?3",
        after,
        limit,
        &[&cut],
    )?
    else {
        return Ok(Cursor {
            after,
            changed: 0,
            done: true,
        });
    };
    tx.execute(
        "INSERT OR REPLACE INTO study_sessions_archive
            (id, user_id, course_id, subject_category, start_time, end_time, duration_minutes,
             effectiveness_rating, focus_score, learning_environment, device_type, is_active, archived_at)
         SELECT id, user_id, course_id, subject_category, start_time, end_time, duration_minutes,
             effectiveness_rating, focus_score, learning_environment, device_type, is_active, ?1
         FROM study_sessions WHERE id IN (SELECT id FROM temp.cleanup_batch)",
        [now],
    )?;
    let n = tx.execute(
        "DELETE FROM study_sessions WHERE id IN (SELECT id FROM temp.cleanup_batch)",
        [],
    )?;
    tx.commit()?;
    Ok(Cursor {
        after: last,
        changed: n,
        done: false,
    })
}

/// Deletes the next `limit` archived sessions (after id `after`) started before `cut`.
pub fn delete_archived_batch(
    conn: &mut Connection,
    cut: i64,
    after: i64,
    limit: usize,
) -> Result<Cursor> {
    delete_batch(
        conn,
        "study_sessions_archive",
        "start_time < ?3",
        after,
        limit,
        &[&cut],
    )
}

/// Deletes the sessions (current and archived) and progress of users
/// inactive since `since`, in one transaction. Returns rows deleted.
pub fn purge_inactive(conn: &mut Connection, since: i64) -> Result<usize> {
    let tx = super::write_transaction(conn)?;
    let mut n = 0;
    for table in [
        "study_sessions",
        "study_sessions_archive",
        "course_progress",
    ] {
        n += tx.execute(
            &format!("DELETE FROM {table} WHERE user_id IN {INACTIVE_USER}"),
            [since],
        )?;
    }
    tx.commit()?;
    Ok(n)
}
