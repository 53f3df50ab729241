//! One pooled connection to PostgreSQL with its prepared statements, and
//! the one translation of the store's `?N` parameters into `$N`.

use std::collections::HashMap;
use std::error::Error;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Statement};

use super::PgStore;
use crate::store::value::{RowRef, Value};
use crate::store::Result;

/// Statements a link keeps prepared before it starts over.
const STATEMENTS_KEPT: usize = 256;

/// A client and the statements prepared on it, keyed by their SQL.
pub struct PgLink {
    client: Client,
    statements: HashMap<String, Statement>,
    /// The server's losses counted when this link was opened.
    pub(super) generation: u64,
    /// Inside a transaction `store::Conn` began: not to be reused if it
    /// is never ended.
    pub(crate) in_transaction: bool,
}

impl PgLink {
    pub(super) fn new(client: Client, generation: u64) -> PgLink {
        PgLink {
            client,
            statements: HashMap::new(),
            generation,
            in_transaction: false,
        }
    }

    /// Whether the server closed the connection (it is not reused).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub(super) fn statement(&mut self, store: &PgStore, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        if self.statements.len() >= STATEMENTS_KEPT {
            self.statements.clear();
        }
        let stmt = self
            .client
            .prepare(&numbered_parameters(sql))
            .map_err(|e| store.error(e))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    pub(crate) fn execute(&mut self, store: &PgStore, sql: &str, args: &[Value]) -> Result<u64> {
        let stmt = self.statement(store, sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        self.client
            .execute(&stmt, &params)
            .map_err(|e| store.error(e))
    }

    /// Streams the rows of `sql` to `each`, one at a time.
    pub(crate) fn each(
        &mut self,
        store: &PgStore,
        sql: &str,
        args: &[Value],
        each: &mut dyn FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<()> {
        let stmt = self.statement(store, sql)?;
        let mut rows = self
            .client
            .query_raw(&stmt, args.iter())
            .map_err(|e| store.error(e))?;
        while let Some(row) = rows.next().map_err(|e| store.error(e))? {
            each(RowRef::postgres(&row, store.place()))?;
        }
        Ok(())
    }

    pub(crate) fn copy_in(&mut self, store: &PgStore, sql: &str, data: &[u8]) -> Result<()> {
        use std::io::Write;
        let mut writer = self.client.copy_in(sql).map_err(|e| store.error(e))?;
        writer
            .write_all(data)
            .map_err(|e| crate::store::StoreError::Unreachable {
                place: store.place().to_string(),
                reason: e.to_string(),
            })?;
        writer.finish().map_err(|e| store.error(e))?;
        Ok(())
    }

    pub(crate) fn batch(&mut self, store: &PgStore, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(|e| store.error(e))
    }
}

/// Whether `e` means the server cannot be reached (as against a statement
/// it refused).
pub(super) fn is_unreachable(e: &postgres::Error) -> bool {
    e.is_closed()
        || (e.as_db_error().is_none() && e.source().is_some_and(|s| s.is::<std::io::Error>()))
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
}
