//! Values and rows as both engines share them: the five kinds of
//! [`Value`], owned [`Row`]s for small results, and [`RowRef`], a row read
//! in place while a large result streams by. Knows each engine's value
//! types (`rusqlite`, `postgres`), none of the store's own modules.

use rusqlite::types::{FromSql, FromSqlResult, ToSqlOutput, ValueRef};

use std::error::Error;

use postgres::types::{IsNull, ToSql, Type};

use super::{Result, StoreError};

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

impl FromSql for Value {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Value> {
        Ok(Value::from(value))
    }
}

/// A type both engines read out of a column the same way: `i64`, `f64`,
/// `String`, [`Value`], and `Option`s of them.
pub trait Column: FromSql + for<'a> postgres::types::FromSql<'a> {}

impl<T: FromSql + for<'a> postgres::types::FromSql<'a>> Column for T {}

/// One row of a result, read where it is while the result streams by:
/// nothing is copied but what is asked for.
pub struct RowRef<'r>(Place<'r>);

enum Place<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    /// The row, and the database it came from (for errors).
    Postgres(&'r postgres::Row, &'r str),
}

impl<'r> RowRef<'r> {
    pub(crate) fn sqlite(row: &'r rusqlite::Row<'r>) -> RowRef<'r> {
        RowRef(Place::Sqlite(row))
    }

    pub(crate) fn postgres(row: &'r postgres::Row, place: &'r str) -> RowRef<'r> {
        RowRef(Place::Postgres(row, place))
    }

    /// Column `index` (from 0) as a `T`; an error names the column and
    /// what it held instead.
    pub fn get<T: Column>(&self, index: usize) -> Result<T> {
        match &self.0 {
            Place::Sqlite(row) => Ok(row.get(index)?),
            Place::Postgres(row, place) => {
                row.try_get(index).map_err(|source| pg_error(place, source))
            }
        }
    }

    /// Column `index` as text borrowed from the row (`None` for NULL).
    pub fn text(&self, index: usize) -> Result<Option<&'r str>> {
        match &self.0 {
            Place::Sqlite(row) => Ok(row
                .get_ref(index)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?),
            Place::Postgres(row, place) => {
                row.try_get(index).map_err(|source| pg_error(place, source))
            }
        }
    }

    /// The whole row, copied.
    pub fn to_row(&self) -> Result<Row> {
        let columns = match &self.0 {
            Place::Sqlite(row) => row.as_ref().column_count(),
            Place::Postgres(row, _) => row.len(),
        };
        (0..columns)
            .map(|i| self.get::<Value>(i))
            .collect::<Result<Vec<_>>>()
            .map(Row::new)
    }
}

fn pg_error(place: &str, source: postgres::Error) -> StoreError {
    StoreError::Postgres {
        place: place.to_string(),
        source,
    }
}

// PostgreSQL's side of `Value`: which of its types each kind binds to and
// is read from.

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

impl<'a> postgres::types::FromSql<'a> for Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_of_the_wrong_kind_is_an_error_naming_it() {
        let row = Row::new(vec![Value::Text("x".into()), Value::Null]);
        let err = row.get::<i64>(0).unwrap_err().to_string();
        assert!(err.contains("column 0") && err.contains("text"), "{err}");
        assert_eq!(row.get::<Option<i64>>(1).unwrap(), None);
        assert_eq!(row.get::<f64>(0).ok(), None);
    }
}
