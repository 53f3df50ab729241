//! One pooled connection to PostgreSQL with its prepared statements, and
//! the conversion of [`Value`]s to and from PostgreSQL's types.

use std::collections::HashMap;
use std::error::Error;

use postgres::types::{FromSql, IsNull, ToSql, Type};
use postgres::{Client, Statement};

use super::PgStore;
use crate::store::conn::{numbered_parameters, Row, Value};
use crate::store::Result;

/// Statements a link keeps prepared before it starts over.
const STATEMENTS_KEPT: usize = 256;

/// A client and the statements prepared on it, keyed by their SQL.
pub struct PgLink {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgLink {
    pub(super) fn new(client: Client) -> PgLink {
        PgLink {
            client,
            statements: HashMap::new(),
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

    pub(crate) fn query(&mut self, store: &PgStore, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(store, sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        let rows = self
            .client
            .query(&stmt, &params)
            .map_err(|e| store.error(e))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Value>(i).map_err(|e| store.error(e)))
                    .collect::<Result<Vec<_>>>()
                    .map(Row::new)
            })
            .collect()
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

type BoxError = Box<dyn Error + Sync + Send>;

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!("cannot store {value:?} in a {ty} column").into()
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Text(t) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    t.as_str().to_sql(ty, out)
                }
                _ => Err(mismatch(self, ty)),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which says what did not fit.
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::FLOAT8
                | Type::FLOAT4
                | Type::BYTEA
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
        )
    }
}

/// Whether `e` means the server cannot be reached (as against a statement
/// it refused).
pub(super) fn is_unreachable(e: &postgres::Error) -> bool {
    e.is_closed()
        || (e.as_db_error().is_none() && e.source().is_some_and(|s| s.is::<std::io::Error>()))
}
