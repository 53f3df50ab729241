//! SQL for accounts: user profiles with a password, browser sign-in sessions
//! and API tokens. Secrets are stored only as hashes.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Result, StoreError};

/// A user as the web and the CLI see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user's id (shared with study sessions and progress).
    pub id: i64,
    /// Unique sign-in name.
    pub username: String,
    /// Shown name, if any.
    pub display_name: Option<String>,
    /// Staff may refresh, administer the cache and run maintenance.
    pub is_staff: bool,
    /// Whether a password is set (imported profiles have none until `user add`).
    pub has_password: bool,
}

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        is_staff: r.get::<_, i64>(3)? != 0,
        has_password: r.get::<_, Option<String>>(4)?.is_some(),
    })
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, is_staff, password_hash";

/// Gives `username` a password, creating the user if no profile has that
/// name (a new id after the largest). Returns the account and whether it was created.
/// `staff` = true also makes an existing profile staff; false never demotes.
pub fn upsert_with_password(
    conn: &Connection,
    username: &str,
    staff: bool,
    password_hash: &str,
    now: i64,
) -> Result<(Account, bool)> {
    let existing = by_username(conn, username)?;
    let created = existing.is_none();
    match existing {
        Some(a) => {
            conn.execute(
                "UPDATE users SET password_hash = ?1, is_staff = MAX(is_staff, ?2) WHERE id = ?3",
                params![password_hash, staff as i64, a.id],
            )?;
        }
        None => {
            conn.execute(
                "INSERT INTO users (id, username, is_staff, created_at, password_hash)
                 VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM users), ?1, ?2, ?3, ?4)",
                params![username, staff as i64, now, password_hash],
            )?;
        }
    }
    let account = by_username(conn, username)?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
    Ok((account, created))
}

/// Sets the password of an existing user and ends every web session of
/// theirs (whoever knew the old password is signed out); `NotFound` if
/// there is no such user.
pub fn set_password(conn: &mut Connection, username: &str, password_hash: &str) -> Result<()> {
    let tx = super::write_transaction(conn)?;
    let n = tx.execute(
        "UPDATE users SET password_hash = ?1 WHERE username = ?2",
        params![password_hash, username],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username:?}")));
    }
    tx.execute(
        "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
        [username],
    )?;
    tx.commit()?;
    Ok(())
}

/// The account with this username.
pub fn by_username(conn: &Connection, username: &str) -> Result<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1"),
            [username],
            account_from_row,
        )
        .optional()?)
}

/// The account with this id.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            account_from_row,
        )
        .optional()?)
}

/// The stored password hash of a username (None: no user or no password).
pub fn password_hash(conn: &Connection, username: &str) -> Result<Option<(Account, String)>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1 AND password_hash IS NOT NULL"),
            [username],
            |r| Ok((account_from_row(r)?, r.get::<_, String>(4)?)),
        )
        .optional()?)
}

/// Every user, by id.
pub fn list(conn: &Connection) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare(&format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY id"))?;
    let rows = stmt.query_map([], account_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether any staff account can sign in.
pub fn staff_with_password_exists(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE is_staff = 1 AND password_hash IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// Records a browser session (hash of its cookie token) until `expires_at`.
pub fn create_web_session(
    conn: &Connection,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, user_id, csrf_token, now, expires_at],
    )?;
    Ok(())
}

/// The account and CSRF token of an unexpired browser session.
pub fn web_session(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(Account, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.username, u.display_name, u.is_staff, u.password_hash, s.csrf_token
         FROM web_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2",
    )?;
    Ok(stmt
        .query_row(params![token_hash, now], |r| {
            Ok((account_from_row(r)?, r.get::<_, String>(5)?))
        })
        .optional()?)
}

/// Ends a browser session (logout) and drops expired ones.
pub fn delete_web_session(conn: &Connection, token_hash: &str, now: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM web_sessions WHERE token_hash = ?1 OR expires_at <= ?2",
        params![token_hash, now],
    )?;
    Ok(())
}

/// Stores the hash of a new API token for a user; returns the token's id.
pub fn create_api_token(
    conn: &Connection,
    user_id: i64,
    token_hash: &str,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![user_id, token_hash, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The account owning an unrevoked API token.
pub fn api_token_account(conn: &Connection, token_hash: &str) -> Result<Option<Account>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.username, u.display_name, u.is_staff, u.password_hash
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL",
    )?;
    Ok(stmt.query_row([token_hash], account_from_row).optional()?)
}

/// Revokes tokens: one by id, or every token of a user. Returns how many.
pub fn revoke_api_tokens(
    conn: &Connection,
    token_id: Option<i64>,
    user_id: Option<i64>,
    now: i64,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE api_tokens SET revoked_at = ?1
         WHERE revoked_at IS NULL AND (id = ?2 OR user_id = ?3)",
        params![now, token_id, user_id],
    )?)
}

/// Whether a user id is known: a profile, or legacy sessions / progress under it.
pub fn user_is_known(conn: &Connection, user_id: i64) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)
             OR EXISTS(SELECT 1 FROM study_sessions WHERE user_id = ?1)
             OR EXISTS(SELECT 1 FROM course_progress WHERE user_id = ?1)",
    )?;
    Ok(stmt.query_row([user_id], |r| r.get(0))?)
}
