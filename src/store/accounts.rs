//! SQL for accounts: user profiles with a password, browser sign-in sessions
//! and API tokens. Secrets are stored only as hashes.

use super::{args, Conn, Result, Row, StoreError};

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
    /// Disabled by staff: it cannot sign in, and its tokens do not work.
    pub disabled: bool,
}

fn account_from_row(r: &Row) -> Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        is_staff: r.get(3)?,
        has_password: r.get::<Option<String>>(4)?.is_some(),
        disabled: r.get::<Option<i64>>(5)?.is_some(),
    })
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, is_staff, password_hash, disabled_at";

/// [`ACCOUNT_COLUMNS`] of the table aliased `u`.
const ACCOUNT_COLUMNS_OF_U: &str =
    "u.id, u.username, u.display_name, u.is_staff, u.password_hash, u.disabled_at";

/// The id a new account gets: one past every user id any row refers to
/// (profiles, current and archived sessions, course progress), so a new
/// account never inherits rows left by a user whose profile is gone.
const NEXT_USER_ID: &str = "SELECT COALESCE(MAX(id), 0) + 1 FROM (
        SELECT MAX(id) AS id FROM users
        UNION ALL SELECT MAX(user_id) FROM study_sessions
        UNION ALL SELECT MAX(user_id) FROM study_sessions_archive
        UNION ALL SELECT MAX(user_id) FROM course_progress
    ) AS referenced";

/// Makes `username` an account with a password: a new user (with a new id,
/// see `NEXT_USER_ID`), or an imported profile of that name that has no
/// password yet. Refused (`Invalid`) when the name breaks
/// [`crate::rules::username`], when the account already has a password
/// (that is `set_password`'s), or when another user's name differs only by
/// case or Unicode form. `staff` = true also makes an existing profile
/// staff. Returns the account and whether it was created.
pub fn add_account(
    conn: &Conn,
    username: &str,
    staff: bool,
    password_hash: &str,
    now: i64,
) -> Result<(Account, bool)> {
    crate::rules::username("username", username).map_err(|v| StoreError::Invalid(v.to_string()))?;
    let tx = conn.write_transaction()?;
    let existing = by_username(&tx, username)?;
    if let Some(a) = existing.as_ref().filter(|a| a.has_password) {
        return Err(StoreError::Invalid(format!(
            "user {:?} already exists; change its password with `voxdash user passwd {}`",
            a.username, a.username
        )));
    }
    if existing.is_none() {
        if let Some(other) = by_name_ignoring_case(&tx, username)? {
            return Err(StoreError::Invalid(format!(
                "username {username:?} is taken by user {:?} (names are compared ignoring case)",
                other.username
            )));
        }
    }
    let created = existing.is_none();
    match existing {
        Some(a) => {
            tx.execute(
                "UPDATE users SET password_hash = ?1,
                 is_staff = CASE WHEN ?2 = 1 THEN 1 ELSE is_staff END WHERE id = ?3",
                args![password_hash, staff, a.id],
            )?;
        }
        None => {
            tx.execute(
                &format!(
                    "INSERT INTO users (id, username, is_staff, created_at, password_hash)
                     VALUES (({NEXT_USER_ID}), ?1, ?2, ?3, ?4)"
                ),
                args![username, staff, now, password_hash],
            )?;
        }
    }
    let account = by_username(&tx, username)?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
    tx.commit()?;
    Ok((account, created))
}

/// The user whose name equals `name` after NFKC and ignoring case
/// ([`crate::rules::username_key`]), if any.
pub fn by_name_ignoring_case(conn: &Conn, name: &str) -> Result<Option<Account>> {
    if let Some(exact) = by_username(conn, name)? {
        return Ok(Some(exact));
    }
    // `lower` narrows the candidates on both engines (SQLite folds ASCII
    // only); the key decides.
    let key = crate::rules::username_key(name);
    let candidates = conn.query(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE lower(username) = lower(?1)"),
        args![name],
    )?;
    for row in &candidates {
        let account = account_from_row(row)?;
        if crate::rules::username_key(&account.username) == key {
            return Ok(Some(account));
        }
    }
    Ok(None)
}

/// Sets the password of an existing user and ends every web session of
/// theirs (whoever knew the old password is signed out); `NotFound` if
/// there is no such user.
pub fn set_password(conn: &Conn, username: &str, password_hash: &str) -> Result<()> {
    let tx = conn.write_transaction()?;
    let n = tx.execute(
        "UPDATE users SET password_hash = ?1 WHERE username = ?2",
        args![password_hash, username],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username:?}")));
    }
    tx.execute(
        "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
        args![username],
    )?;
    tx.commit()
}

fn one_account(conn: &Conn, sql: &str, args: &[super::Value]) -> Result<Option<Account>> {
    conn.query_opt(sql, args)?
        .map(|r| account_from_row(&r))
        .transpose()
}

/// The account with this username.
pub fn by_username(conn: &Conn, username: &str) -> Result<Option<Account>> {
    one_account(
        conn,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1"),
        args![username],
    )
}

/// The account with this id.
pub fn by_id(conn: &Conn, id: i64) -> Result<Option<Account>> {
    one_account(
        conn,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ?1"),
        args![id],
    )
}

/// The account signing in as `username` (compared as
/// [`by_name_ignoring_case`] does) with its stored password hash (None: no
/// such user, no password, or a disabled account).
pub fn password_hash(conn: &Conn, username: &str) -> Result<Option<(Account, String)>> {
    let Some(account) = by_name_ignoring_case(conn, username)?.filter(|a| !a.disabled) else {
        return Ok(None);
    };
    let hash: Option<String> = conn.query_value(
        "SELECT password_hash FROM users WHERE id = ?1",
        args![account.id],
    )?;
    Ok(hash.map(|h| (account, h)))
}

/// Every user, by id.
pub fn list(conn: &Conn) -> Result<Vec<Account>> {
    conn.query(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY id"),
        &[],
    )?
    .iter()
    .map(account_from_row)
    .collect()
}

/// Records a browser session (hash of its cookie token) until `expires_at`.
pub fn create_web_session(
    conn: &Conn,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![token_hash, user_id, csrf_token, now, expires_at],
    )?;
    Ok(())
}

/// The account and CSRF token of an unexpired browser session.
pub fn web_session(conn: &Conn, token_hash: &str, now: i64) -> Result<Option<(Account, String)>> {
    conn.query_opt(
        &format!(
            "SELECT {ACCOUNT_COLUMNS_OF_U}, s.csrf_token
             FROM web_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL"
        ),
        args![token_hash, now],
    )?
    .map(|r| Ok((account_from_row(&r)?, r.get(6)?)))
    .transpose()
}

/// Ends a browser session (logout) and drops expired ones.
pub fn delete_web_session(conn: &Conn, token_hash: &str, now: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM web_sessions WHERE token_hash = ?1 OR expires_at <= ?2",
        args![token_hash, now],
    )?;
    Ok(())
}

/// Stores the hash of a new API token for a user; returns the token's id.
pub fn create_api_token(conn: &Conn, user_id: i64, token_hash: &str, now: i64) -> Result<i64> {
    conn.query_value(
        "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        args![user_id, token_hash, now],
    )
}

/// The account owning an unrevoked API token, unless it is disabled.
pub fn api_token_account(conn: &Conn, token_hash: &str) -> Result<Option<Account>> {
    one_account(
        conn,
        &format!(
            "SELECT {ACCOUNT_COLUMNS_OF_U}
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
        ),
        args![token_hash],
    )
}

/// An API token as staff see it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its id.
    pub id: i64,
    /// Whose it is.
    pub username: String,
    /// When it was created (µs).
    pub created_at: i64,
    /// When it was revoked (µs), if it was.
    pub revoked_at: Option<i64>,
}

/// Every API token (or a user's), by id.
pub fn tokens(conn: &Conn, username: Option<&str>) -> Result<Vec<TokenInfo>> {
    conn.query(
        "SELECT t.id, u.username, t.created_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE CAST(?1 AS TEXT) IS NULL OR u.username = ?1 ORDER BY t.id",
        args![username],
    )?
    .iter()
    .map(|r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            username: r.get(1)?,
            created_at: r.get(2)?,
            revoked_at: r.get(3)?,
        })
    })
    .collect()
}

/// What staff can change about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// Disable it: it is signed out everywhere, cannot sign in, and its
    /// tokens stop working (they work again once it is enabled).
    Disable,
    /// Enable a disabled account.
    Enable,
    /// Make it staff, or not.
    Staff(bool),
    /// Remove its sign-in: password, staff, browser sessions and tokens.
    /// The profile and the learner's data stay.
    RemoveSignIn,
}

/// Applies `change` to the account named `username` in one transaction,
/// and returns it as it now is. Refused (`Invalid`) when it would leave no
/// enabled staff account that can sign in: nobody could undo it from the
/// web.
pub fn change_account(
    conn: &Conn,
    username: &str,
    change: AccountChange,
    now: i64,
) -> Result<Account> {
    let tx = conn.write_transaction()?;
    let account = by_username(&tx, username)?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
    let takes_staff_away = account.is_staff
        && account.has_password
        && !account.disabled
        && matches!(
            change,
            AccountChange::Disable | AccountChange::Staff(false) | AccountChange::RemoveSignIn
        );
    if takes_staff_away {
        let others: i64 = tx.query_value(
            "SELECT COUNT(*) FROM users WHERE is_staff = 1 AND password_hash IS NOT NULL
             AND disabled_at IS NULL AND id <> ?1",
            args![account.id],
        )?;
        if others == 0 {
            return Err(StoreError::Invalid(format!(
                "{username:?} is the last staff account that can sign in; \
                 make another one staff first (`voxdash user add NAME --staff`)"
            )));
        }
    }
    let signed_out = "DELETE FROM web_sessions WHERE user_id = ?1";
    match change {
        AccountChange::Disable => {
            tx.execute(
                "UPDATE users SET disabled_at = ?1 WHERE id = ?2",
                args![now, account.id],
            )?;
            tx.execute(signed_out, args![account.id])?;
        }
        AccountChange::Enable => {
            tx.execute(
                "UPDATE users SET disabled_at = NULL WHERE id = ?1",
                args![account.id],
            )?;
        }
        AccountChange::Staff(on) => {
            // Rights are read with the session at every request: an open
            // page loses staff rights at once, without a new sign-in.
            tx.execute(
                "UPDATE users SET is_staff = ?1 WHERE id = ?2",
                args![on, account.id],
            )?;
        }
        AccountChange::RemoveSignIn => {
            tx.execute(
                "UPDATE users SET password_hash = NULL, is_staff = 0, disabled_at = NULL
                 WHERE id = ?1",
                args![account.id],
            )?;
            tx.execute(signed_out, args![account.id])?;
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                args![now, account.id],
            )?;
        }
    }
    let changed = by_username(&tx, username)?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
    tx.commit()?;
    Ok(changed)
}

/// Revokes tokens: one by id, or every token of a user. Returns how many.
pub fn revoke_api_tokens(
    conn: &Conn,
    token_id: Option<i64>,
    user_id: Option<i64>,
    now: i64,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE api_tokens SET revoked_at = ?1
         WHERE revoked_at IS NULL AND (id = ?2 OR user_id = ?3)",
        args![now, token_id, user_id],
    )? as usize)
}

/// Whether user `?1` is known.
pub(crate) const USER_IS_KNOWN: &str = "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)
    OR EXISTS(SELECT 1 FROM study_sessions WHERE user_id = ?1)
    OR EXISTS(SELECT 1 FROM course_progress WHERE user_id = ?1)";

/// Whether a user id is known: a profile, or legacy sessions / progress under it.
pub fn user_is_known(conn: &Conn, user_id: i64) -> Result<bool> {
    conn.query_value(USER_IS_KNOWN, args![user_id])
}
