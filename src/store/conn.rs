//! One connection to the store, whichever engine keeps the data: SQLite
//! (the default) or PostgreSQL. Every SQL statement of the program goes
//! through [`Conn`], written once with `?N` parameters (PostgreSQL's link
//! numbers them `$N`). Where the engines truly differ (planner hints, DDL,
//! COPY), the caller asks [`Conn::engine`] and passes each its own statement.
//!
//! Rows come back as [`Value`]s, or stream by as [`RowRef`]s, so the
//! modules above read a row the same way from either engine. Connections
//! come from the store's `r2d2` pools and go back when dropped; one left
//! inside a transaction (after a panic) is closed instead.

use std::cell::RefCell;
use std::ops::Deref;

use r2d2::PooledConnection;

use super::postgres::{PgLinks, PgStore};
use super::sqlite::SqliteFiles;
use super::value::{FromValue, Row, RowRef, Value};
use super::{Result, StoreError};

/// Which engine keeps the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `DATA_DIR/voxdash.db`.
    Sqlite,
    /// A PostgreSQL database (`database_url`).
    Postgres,
}

/// A connection checked out of the store's pool; it goes back when dropped.
pub struct Conn<'a> {
    link: Link<'a>,
}

enum Link<'a> {
    Sqlite(PooledConnection<SqliteFiles>),
    /// The link is borrowed mutably by each statement in turn; the store
    /// turns its errors into the store's (and notices a server gone away).
    Postgres {
        store: &'a PgStore,
        link: RefCell<Box<PooledConnection<PgLinks>>>,
    },
}

impl<'a> Conn<'a> {
    pub(crate) fn sqlite(conn: PooledConnection<SqliteFiles>) -> Conn<'a> {
        Conn {
            link: Link::Sqlite(conn),
        }
    }

    pub(crate) fn postgres(store: &'a PgStore, link: PooledConnection<PgLinks>) -> Conn<'a> {
        Conn {
            link: Link::Postgres {
                store,
                link: RefCell::new(Box::new(link)),
            },
        }
    }

    /// Which engine this connection speaks to.
    pub fn engine(&self) -> Engine {
        match self.link {
            Link::Sqlite(_) => Engine::Sqlite,
            Link::Postgres { .. } => Engine::Postgres,
        }
    }

    /// The statement for this connection's engine, where the two differ.
    pub fn dialect<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.engine() {
            Engine::Sqlite => sqlite,
            Engine::Postgres => postgres,
        }
    }

    /// The SQLite connection, for what only SQLite does (backups, checks).
    pub(crate) fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.link {
            Link::Sqlite(conn) => Some(conn),
            Link::Postgres { .. } => None,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        match &self.link {
            Link::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(args))? as u64)
            }
            Link::Postgres { store, link } => link.borrow_mut().execute(store, sql, args),
        }
    }

    /// Hands every row of a query to `each` as it streams by, without
    /// holding the result: for passes over millions of rows. An error of
    /// `each` stops the query and is returned.
    pub fn each(
        &self,
        sql: &str,
        args: &[Value],
        mut each: impl FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<()> {
        match &self.link {
            Link::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
                while let Some(row) = rows.next()? {
                    each(RowRef::sqlite(row))?;
                }
                Ok(())
            }
            Link::Postgres { store, link } => link.borrow_mut().each(store, sql, args, &mut each),
        }
    }

    /// Every row of a query.
    pub fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.each(sql, args, |row| {
            out.push(row.to_row()?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row of a query, each read by `read` as it streams by.
    pub fn rows<T>(
        &self,
        sql: &str,
        args: &[Value],
        mut read: impl FnMut(&RowRef) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |row| {
            out.push(read(&row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query read by `read`, if there is one.
    pub fn row<T>(
        &self,
        sql: &str,
        args: &[Value],
        read: impl FnMut(&RowRef) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.rows(sql, args, read)?.into_iter().next())
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
        match &self.link {
            Link::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Link::Postgres { store, link } => link.borrow_mut().batch(store, sql),
        }
    }

    /// Loads rows in PostgreSQL's COPY text format with `sql` (`COPY t
    /// (columns) FROM STDIN`); an error on SQLite.
    pub(crate) fn copy_in(&self, sql: &str, data: &[u8]) -> Result<()> {
        match &self.link {
            Link::Sqlite(_) => Err(StoreError::Unsupported("COPY is PostgreSQL's".into())),
            Link::Postgres { store, link } => link.borrow_mut().copy_in(store, sql, data),
        }
    }

    /// Begins a transaction with `begin`; on PostgreSQL the link remembers
    /// it is inside one, so that it is not reused if it is never ended.
    fn begin(&self, begin: &str) -> Result<Tx<'_, 'a>> {
        self.batch(begin)?;
        self.set_in_transaction(true);
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    fn set_in_transaction(&self, now: bool) {
        if let Link::Postgres { link, .. } = &self.link {
            link.borrow_mut().in_transaction = now;
        }
    }

    /// Begins a transaction that writes: it waits for every other writer
    /// first, so what it reads stays true until it commits. SQLite's
    /// `BEGIN IMMEDIATE`; on PostgreSQL a transaction-wide advisory lock
    /// every writer of the cluster takes, the same single writer at a time.
    pub fn write_transaction(&self) -> Result<Tx<'_, 'a>> {
        self.begin(self.dialect(
            "BEGIN IMMEDIATE",
            "BEGIN; SELECT pg_advisory_xact_lock(7531001)",
        ))
    }

    /// Begins a transaction that only reads, over one consistent snapshot
    /// of the data: SQLite's deferred transaction (a WAL snapshot from its
    /// first read), PostgreSQL's repeatable read.
    pub fn read_transaction(&self) -> Result<Tx<'_, 'a>> {
        self.begin(self.dialect(
            "BEGIN DEFERRED",
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ))
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
        self.end("COMMIT")
    }

    /// Undoes the transaction's writes.
    pub fn rollback(mut self) -> Result<()> {
        self.end("ROLLBACK")
    }

    fn end(&mut self, how: &str) -> Result<()> {
        self.done = true;
        self.conn.batch(how)?;
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
        if !self.done {
            let _ = self.end("ROLLBACK");
        }
    }
}
