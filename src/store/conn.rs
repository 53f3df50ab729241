//! One connection to the store, whichever engine keeps the data: SQLite
//! (the default) or PostgreSQL. Every SQL statement outside the statistics'
//! reads goes through [`Conn`], written once with `?N` parameters; for
//! PostgreSQL they become `$N`. Where the two dialects differ, the caller
//! asks [`Conn::engine`] and passes each its own statement.
//!
//! Rows come back as [`Value`]s, the five kinds both engines share, so the
//! modules above read a row the same way from either.

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;

use super::postgres::{PgLink, PgStore};
use super::{Result, StoreError};

/// Which engine keeps the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `DATA_DIR/voxdash.db`.
    Sqlite,
    /// A PostgreSQL database (`database_url`).
    Postgres,
}

/// One value of a row or a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A whole number (PostgreSQL `BIGINT`, also its booleans as 0 / 1).
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The value borrowed as SQLite sees it.
    pub(crate) fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                #[allow(clippy::redundant_closure_call)]
                ($v)(x)
            }
        }
    )*};
}

value_from! {
    i64 => Value::Integer,
    u32 => |x: u32| Value::Integer(i64::from(x)),
    bool => |x: bool| Value::Integer(i64::from(x)),
    f64 => Value::Real,
    String => Value::Text,
    &str => |x: &str| Value::Text(x.to_string()),
    &String => |x: &String| Value::Text(x.clone()),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Value {
        x.map_or(Value::Null, Into::into)
    }
}

impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(x: &Option<T>) -> Value {
        x.clone().map_or(Value::Null, Into::into)
    }
}

/// Parameters of a statement: `args![a, b]` is `&[Value::from(a), Value::from(b)]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::Value::from($v)),*][..]
    };
}
pub(crate) use args;

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(self.as_ref()))
    }
}

/// A type a column's [`Value`] converts into.
pub trait FromValue: Sized {
    /// What the type expects, for the error message.
    const EXPECTED: &'static str;
    /// The value as this type, if it is one.
    fn from_value(v: Value) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(v: Value) -> Option<i64> {
        match v {
            Value::Integer(i) => Some(i),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(v: Value) -> Option<f64> {
        match v {
            Value::Real(f) => Some(f),
            // SQLite gives a whole-valued sum or a REAL column's integer as one.
            Value::Integer(i) => Some(i as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "a truth value";
    fn from_value(v: Value) -> Option<bool> {
        i64::from_value(v).map(|i| i != 0)
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(v: Value) -> Option<String> {
        match v {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(v: Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Every value of the row, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Column `index` (from 0) as a `T`; an error names the column and
    /// what it held instead.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T> {
        let value = self.values.get(index).cloned().unwrap_or(Value::Null);
        let found = value.kind();
        T::from_value(value).ok_or(StoreError::Column {
            index,
            expected: T::EXPECTED,
            found,
        })
    }
}

/// A connection checked out of the store's pool; it goes back when dropped.
pub struct Conn<'a> {
    link: Link<'a>,
}

enum Link<'a> {
    Sqlite {
        pool: &'a Mutex<Vec<Connection>>,
        conn: Option<Connection>,
    },
    Postgres {
        store: &'a PgStore,
        link: RefCell<Option<Box<PgLink>>>,
        in_transaction: Cell<bool>,
    },
}

impl<'a> Conn<'a> {
    pub(crate) fn sqlite(pool: &'a Mutex<Vec<Connection>>, conn: Connection) -> Conn<'a> {
        Conn {
            link: Link::Sqlite {
                pool,
                conn: Some(conn),
            },
        }
    }

    pub(crate) fn postgres(store: &'a PgStore, link: PgLink) -> Conn<'a> {
        Conn {
            link: Link::Postgres {
                store,
                link: RefCell::new(Some(Box::new(link))),
                in_transaction: Cell::new(false),
            },
        }
    }

    /// Which engine this connection speaks to.
    pub fn engine(&self) -> Engine {
        match self.link {
            Link::Sqlite { .. } => Engine::Sqlite,
            Link::Postgres { .. } => Engine::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite does (backups, checks).
    pub(crate) fn as_sqlite(&self) -> Option<&Connection> {
        match &self.link {
            Link::Sqlite { conn, .. } => conn.as_ref(),
            Link::Postgres { .. } => None,
        }
    }

    /// Runs `each` on the PostgreSQL link; a link whose server went away
    /// is not given back to the pool.
    fn on_postgres<T>(
        &self,
        each: impl FnOnce(&PgStore, &mut PgLink) -> Result<T>,
    ) -> Option<Result<T>> {
        let Link::Postgres { store, link, .. } = &self.link else {
            return None;
        };
        let mut slot = link.borrow_mut();
        let Some(pg) = slot.as_mut() else {
            return Some(Err(StoreError::Unreachable {
                place: store.place().to_string(),
                reason: "the connection was lost".into(),
            }));
        };
        let out = each(store, pg);
        if pg.is_closed() {
            *slot = None;
        }
        Some(out)
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        if let Some(out) = self.on_postgres(|store, pg| pg.execute(store, sql, args)) {
            return out;
        }
        let conn = self.as_sqlite().expect("a SQLite connection");
        let mut stmt = conn.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(args))? as u64)
    }

    /// Every row of a query.
    pub fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        if let Some(out) = self.on_postgres(|store, pg| pg.query(store, sql, args)) {
            return out;
        }
        let conn = self.as_sqlite().expect("a SQLite connection");
        let mut stmt = conn.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(Value::from(row.get_ref(i)?));
            }
            out.push(Row::new(values));
        }
        Ok(out)
    }

    /// The first row of a query, if there is one.
    pub fn query_opt(&self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first column of the first row of a query, which must have one.
    pub fn query_value<T: FromValue>(&self, sql: &str, args: &[Value]) -> Result<T> {
        match self.query_opt(sql, args)? {
            Some(row) => row.get(0),
            None => Err(StoreError::NotFound("a row".into())),
        }
    }

    /// Runs statements without parameters, separated by semicolons.
    pub fn batch(&self, sql: &str) -> Result<()> {
        if let Some(out) = self.on_postgres(|store, pg| pg.batch(store, sql)) {
            return out;
        }
        let conn = self.as_sqlite().expect("a SQLite connection");
        Ok(conn.execute_batch(sql)?)
    }

    /// Loads rows in PostgreSQL's COPY text format with `sql` (`COPY t
    /// (columns) FROM STDIN`); an error on SQLite.
    pub(crate) fn copy_in(&self, sql: &str, data: &[u8]) -> Result<()> {
        self.on_postgres(|store, pg| pg.copy_in(store, sql, data))
            .unwrap_or_else(|| Err(StoreError::Unsupported("COPY is PostgreSQL's".into())))
    }

    fn set_in_transaction(&self, now: bool) {
        if let Link::Postgres { in_transaction, .. } = &self.link {
            in_transaction.set(now);
        }
    }

    /// Begins a transaction that writes: it waits for every other writer
    /// first, so what it reads stays true until it commits. SQLite's
    /// `BEGIN IMMEDIATE`; on PostgreSQL a transaction-wide advisory lock
    /// every writer of the cluster takes, the same single writer at a time.
    pub fn write_transaction(&self) -> Result<Tx<'_, 'a>> {
        match self.engine() {
            Engine::Sqlite => self.batch("BEGIN IMMEDIATE")?,
            Engine::Postgres => {
                self.batch("BEGIN; SELECT pg_advisory_xact_lock(7531001)")?;
                self.set_in_transaction(true);
            }
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        match &mut self.link {
            Link::Sqlite { pool, conn } => {
                if let Some(conn) = conn.take() {
                    // A connection left inside a transaction (after a panic) is not reused.
                    if conn.is_autocommit() {
                        let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
                        if pool.len() < 16 {
                            pool.push(conn);
                        }
                    }
                }
            }
            Link::Postgres {
                store,
                link,
                in_transaction,
            } => {
                if let Some(pg) = link.get_mut().take() {
                    if !in_transaction.get() {
                        store.give_back(*pg);
                    }
                }
            }
        }
    }
}

/// A transaction on a [`Conn`]: rolled back when dropped uncommitted, so
/// an early return leaves nothing behind. Dereferences to the connection.
pub struct Tx<'c, 'a> {
    conn: &'c Conn<'a>,
    done: bool,
}

impl Tx<'_, '_> {
    /// Makes the transaction's writes durable and visible.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.batch("COMMIT")?;
        self.conn.set_in_transaction(false);
        Ok(())
    }

    /// Undoes the transaction's writes.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.batch("ROLLBACK")?;
        self.conn.set_in_transaction(false);
        Ok(())
    }
}

impl<'a> Deref for Tx<'_, 'a> {
    type Target = Conn<'a>;
    fn deref(&self) -> &Conn<'a> {
        self.conn
    }
}

impl Drop for Tx<'_, '_> {
    fn drop(&mut self) {
        if !self.done && self.conn.batch("ROLLBACK").is_ok() {
            self.conn.set_in_transaction(false);
        }
    }
}

/// `?N` and `?` parameters as PostgreSQL's `$N`. What is not SQL code is
/// left as written: text in single quotes (`''` inside), identifiers in
/// double quotes, `-- line` and `/* block */` comments.
pub(crate) fn numbered_parameters(sql: &str) -> String {
    /// Where the scan is.
    #[derive(PartialEq)]
    enum In {
        Code,
        Text,
        Identifier,
        LineComment,
        BlockComment,
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut state = In::Code;
    let mut next = 0;
    while let Some(c) = chars.next() {
        out.push(c);
        state = match (state, c) {
            (In::Code, '\'') => In::Text,
            (In::Text, '\'') if chars.peek() == Some(&'\'') => {
                // `''` is a quote inside the text.
                out.push(chars.next().unwrap_or('\''));
                In::Text
            }
            (In::Text, '\'') => In::Code,
            (In::Code, '"') => In::Identifier,
            (In::Identifier, '"') => In::Code,
            (In::Code, '-') if chars.peek() == Some(&'-') => In::LineComment,
            (In::LineComment, '\n') => In::Code,
            (In::Code, '/') if chars.peek() == Some(&'*') => In::BlockComment,
            (In::BlockComment, '/') if out.ends_with("*/") => In::Code,
            (In::Code, '?') => {
                out.pop();
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
                In::Code
            }
            (state, _) => state,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_postgresql_outside_quotes() {
        assert_eq!(
            numbered_parameters("SELECT a FROM t WHERE b = ?1 AND c = ?12 OR d = '?2'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 OR d = '?2'"
        );
        assert_eq!(numbered_parameters("VALUES (?, ?)"), "VALUES ($1, $2)");
    }

    #[test]
    fn text_identifiers_and_comments_keep_their_question_marks() {
        assert_eq!(
            numbered_parameters("SELECT 'it''s ?1', \"odd?col\" FROM t -- why ?2\nWHERE a = ?3"),
            "SELECT 'it''s ?1', \"odd?col\" FROM t -- why ?2\nWHERE a = $3"
        );
        assert_eq!(
            numbered_parameters("/* ?1 */ SELECT ?2 /* a */ + ?"),
            "/* ?1 */ SELECT $2 /* a */ + $1"
        );
        assert_eq!(numbered_parameters("SELECT '' , ?1"), "SELECT '' , $1");
        assert_eq!(numbered_parameters("SELECT 10 - ?1"), "SELECT 10 - $1");
    }

    #[test]
    fn a_column_of_the_wrong_kind_is_an_error_naming_it() {
        let row = Row::new(vec![Value::Text("x".into()), Value::Null]);
        let err = row.get::<i64>(0).unwrap_err().to_string();
        assert!(err.contains("column 0") && err.contains("text"), "{err}");
        assert_eq!(row.get::<Option<i64>>(1).unwrap(), None);
        assert_eq!(row.get::<f64>(0).ok(), None);
    }
}
