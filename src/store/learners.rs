//! The learners of the practice platform as people see them: the list on
//! the learning overview and the name on a learner's page.

use super::{args, Conn, Result};

/// One learner of the overview's list.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerRow {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown to people, when set.
    pub display_name: Option<String>,
    /// Region, when known.
    pub region: Option<String>,
    /// Last activity (µs since the epoch), when known.
    pub last_active_at: Option<i64>,
    /// Study sessions recorded (not archived).
    pub sessions: u64,
}

/// Every learner with their number of sessions, by id.
pub fn learners(conn: &Conn) -> Result<Vec<LearnerRow>> {
    conn.query(
        "SELECT u.id, u.username, u.display_name, u.region, u.last_active_at,
                (SELECT COUNT(*) FROM study_sessions s WHERE s.user_id = u.id)
         FROM users u ORDER BY u.id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(LearnerRow {
            id: r.get(0)?,
            username: r.get(1)?,
            display_name: r.get(2)?,
            region: r.get(3)?,
            last_active_at: r.get(4)?,
            sessions: r.get::<i64>(5)?.max(0) as u64,
        })
    })
    .collect()
}

/// The name a learner is shown by: their display name, else their login
/// name; `None` for a user with no profile (sessions under an unknown id).
pub fn learner_name(conn: &Conn, id: i64) -> Result<Option<String>> {
    conn.query_opt(
        "SELECT COALESCE(NULLIF(TRIM(display_name), ''), username) FROM users WHERE id = ?1",
        args![id],
    )?
    .map(|r| r.get(0))
    .transpose()
}
