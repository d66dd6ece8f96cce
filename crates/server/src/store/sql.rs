//! The small interface every query goes through, so that each is written
//! once for both databases: arguments ([`Arg`]), rows ([`Row`]), and the
//! three ways to run a statement on a [`Tx`].
//!
//! Statements are written in SQLite's spelling with numbered parameters
//! (`?1`); for PostgreSQL they are rewritten to `$1` once, when first
//! prepared on a connection. The SQL in this crate is otherwise portable:
//! `INSERT … ON CONFLICT`, `RETURNING`, partial indexes. What differs (column
//! types, auto-numbered keys, how the schema version is kept) lives in the
//! migrations of each dialect.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql as PgToSql, Type};
use r2d2_sqlite::rusqlite;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// One statement argument. Integers are 64-bit in both schemas; booleans
/// are stored as 0 and 1.
#[derive(Debug)]
pub(crate) enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    OwnedText(String),
    Bytes(&'a [u8]),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::OwnedText(v)
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(v.into())
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Arg<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a, T> From<Option<T>> for Arg<'a>
where
    T: Into<Arg<'a>>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Arg::Null, Arg::Text)
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Arg<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        v.as_deref().map_or(Arg::Null, Arg::Bytes)
    }
}

/// `args![a, b, c]`: a slice of [`Arg`]s.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::Arg::from($value)),*][..]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Null => ValueRef::Null,
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::OwnedText(v) => ValueRef::Text(v.as_bytes()),
            Arg::Bytes(v) => ValueRef::Blob(v),
        }))
    }
}

impl PgToSql for Arg<'_> {
    /// Encodes for the type PostgreSQL inferred for the parameter, so one
    /// argument serves a BIGINT column and, say, a LIMIT.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Arg::Text(v) => v.to_sql(ty, out),
            Arg::OwnedText(v) => v.as_str().to_sql(ty, out),
            Arg::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// One result row, of either database.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or(Error::Corrupt("a required text column is empty"))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(match self {
            Row::Sqlite(r) => r.get(i)?,
            Row::Postgres(r) => r.try_get(i)?,
        })
    }

    pub fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?
            .ok_or(Error::Corrupt("a required number column is empty"))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(match self {
            Row::Sqlite(r) => r.get(i)?,
            Row::Postgres(r) => match *r.columns()[i].type_() {
                Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
                Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
                Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(i64::from),
                _ => r.try_get(i)?,
            },
        })
    }

    /// A count or other number that fits 32 bits.
    pub fn count(&self, i: usize) -> Result<u32> {
        u32::try_from(self.int(i)?).map_err(|_| Error::Corrupt("a count out of range"))
    }

    /// A condition: SQLite gives 0 or 1, PostgreSQL a boolean.
    pub fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.int(i)? != 0)
    }

    pub fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        self.opt_bytes(i)?
            .ok_or(Error::Corrupt("a required binary column is empty"))
    }

    pub fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(match self {
            Row::Sqlite(r) => r.get(i)?,
            Row::Postgres(r) => r.try_get(i)?,
        })
    }

    pub fn time(&self, i: usize) -> Result<OffsetDateTime> {
        from_ts(self.int(i)?)
    }

    pub fn opt_time(&self, i: usize) -> Result<Option<OffsetDateTime>> {
        self.opt_int(i)?.map(from_ts).transpose()
    }

    /// A JSON text column as its type; `name` says which, if it is unreadable.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize, name: &'static str) -> Result<T> {
        serde_json::from_str(&self.text(i)?).map_err(|_| Error::Corrupt(name))
    }

    pub fn is_null(&self, i: usize) -> Result<bool> {
        Ok(match self {
            Row::Sqlite(r) => matches!(r.get_ref(i)?, rusqlite::types::ValueRef::Null),
            Row::Postgres(r) => {
                // Any column can be read as raw bytes to see whether it is NULL.
                r.try_get::<_, Option<RawValue>>(i)?.is_none()
            }
        })
    }
}

/// A column read only for whether it is NULL.
struct RawValue;

impl<'a> postgres::types::FromSql<'a> for RawValue {
    fn from_sql(
        _: &Type,
        _: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Seconds since the epoch, as every time is stored.
pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(secs: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| Error::Corrupt("a time out of range"))
}

/// A PostgreSQL connection's prepared statements, by their SQLite spelling.
pub(crate) type Statements = HashMap<String, postgres::Statement>;

/// An open PostgreSQL transaction and its connection's statement cache.
pub(crate) struct PgTx<'a> {
    pub tx: postgres::Transaction<'a>,
    pub statements: &'a mut Statements,
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(&numbered_parameters(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// `?1` → `$1`. The crate's SQL has no `?` inside string literals.
pub(crate) fn numbered_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// One transaction, with the queries the service needs (in `store.rs` and
/// its submodules), over either database.
pub struct Tx<'a>(Conn<'a>);

enum Conn<'a> {
    Sqlite(&'a rusqlite::Transaction<'a>),
    Postgres(RefCell<PgTx<'a>>),
}

fn pg_params<'b>(args: &'b [Arg<'_>]) -> Vec<&'b (dyn PgToSql + Sync)> {
    args.iter().map(|a| a as &(dyn PgToSql + Sync)).collect()
}

impl<'a> Tx<'a> {
    pub(crate) fn sqlite(tx: &'a rusqlite::Transaction<'a>) -> Tx<'a> {
        Tx(Conn::Sqlite(tx))
    }

    pub(crate) fn postgres(tx: PgTx<'a>) -> Tx<'a> {
        Tx(Conn::Postgres(RefCell::new(tx)))
    }

    /// The PostgreSQL transaction back, to commit it.
    pub(crate) fn into_postgres(self) -> Option<postgres::Transaction<'a>> {
        match self.0 {
            Conn::Postgres(cell) => Some(cell.into_inner().tx),
            Conn::Sqlite(_) => None,
        }
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize> {
        match &self.0 {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))?)
            }
            Conn::Postgres(cell) => {
                let mut pg = cell.borrow_mut();
                let stmt = pg.statement(sql)?;
                let n = pg.tx.execute(&stmt, &pg_params(args))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs a query; every row through `map`.
    pub(crate) fn query<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match &self.0 {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(map(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Conn::Postgres(cell) => {
                let mut pg = cell.borrow_mut();
                let stmt = pg.statement(sql)?;
                let rows = pg.tx.query(&stmt, &pg_params(args))?;
                rows.iter().map(|row| map(&Row::Postgres(row))).collect()
            }
        }
    }

    /// Runs a query for at most one row.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut map = Some(map);
        let mut rows = self.query(sql, args, |row| {
            let map = map
                .take()
                .ok_or(Error::Corrupt("a key matched several rows"))?;
            map(row)
        })?;
        Ok(rows.pop())
    }

    /// Runs a query for exactly one row (a count, `RETURNING`).
    pub(crate) fn query_one<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, map)?
            .ok_or(Error::Corrupt("a query that returns a row returned none"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_for_postgres() {
        assert_eq!(
            numbered_parameters("UPDATE t SET a = ?2 WHERE b = ?1 AND c = ?10"),
            "UPDATE t SET a = $2 WHERE b = $1 AND c = $10"
        );
        assert_eq!(numbered_parameters("SELECT 1"), "SELECT 1");
    }
}
