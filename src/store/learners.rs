//! The learners of the practice platform as people see them: the list on
//! the learning overview and the name on a learner's page.

use super::{args, Conn, Result};

/// One learner of the overview's list.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerRow {
    /// User id.
    pub id: i64,
    /// Login name; `None` for sessions under an id with no profile.
    pub username: Option<String>,
    /// Name shown to people, when set.
    pub display_name: Option<String>,
    /// Region, when known.
    pub region: Option<String>,
    /// Last activity (µs since the epoch): the later of the profile's
    /// last activity and the start of their last session, when either is
    /// known.
    pub last_active_at: Option<i64>,
    /// Study sessions recorded (not archived).
    pub sessions: u64,
}

/// Every learner with their number of sessions, by id: each profile that
/// is not staff, each staff profile that has sessions, and each id that
/// has sessions but no profile. Those with sessions are exactly the ones
/// the `learning` statistic counts. Read from the aggregates the writes
/// keep (sessions and last session per learner), so it costs one row per
/// learner, not per session.
pub fn learners(conn: &Conn) -> Result<Vec<LearnerRow>> {
    conn.query(
        "SELECT u.id, u.username, u.display_name, u.region, u.last_active_at, l.last_start,
                COALESCE(su.sessions, 0)
         FROM users u
         LEFT JOIN session_users su ON su.user_id = u.id
         LEFT JOIN session_last l ON l.user_id = u.id
         WHERE u.is_staff = 0 OR su.sessions > 0
         UNION ALL
         SELECT su.user_id, NULL, NULL, NULL, NULL, l.last_start, su.sessions
         FROM session_users su LEFT JOIN session_last l ON l.user_id = su.user_id
         WHERE su.sessions > 0 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = su.user_id)
         ORDER BY 1",
        &[],
    )?
    .iter()
    .map(|r| {
        let profile: Option<i64> = r.get(4)?;
        let session: Option<i64> = r.get(5)?;
        Ok(LearnerRow {
            id: r.get(0)?,
            username: r.get(1)?,
            display_name: r.get(2)?,
            region: r.get(3)?,
            last_active_at: profile.max(session),
            sessions: r.get::<i64>(6)?.max(0) as u64,
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
