//! PostgreSQL (`database_url = "postgres://…"`), for labs that outgrow one
//! host: the same tables and write counters as SQLite (`schema`), its
//! links with their prepared statements (`link`), pooled by `r2d2`; every
//! module's SQL runs on them through `store::Conn`. The copy of an embedded
//! data directory into PostgreSQL is `store::copy`'s.

mod link;
pub(crate) mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use r2d2::PooledConnection;

pub use link::PgLink;

use super::{Result, StoreError};

/// How long a connection attempt waits for the server, and a request for
/// a free connection of the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// After the server could not be reached, how long requests fail at once
/// instead of each waiting for a connection attempt of its own.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Connections of one node at most (PostgreSQL's own default limit is 100
/// for every client together).
const POOL_SIZE: u32 = 32;

/// A PostgreSQL database holding (or about to hold) voxdash's data: its
/// address and a pool of open connections.
pub struct PgStore {
    pool: r2d2::Pool<PgLinks>,
    server: Arc<Server>,
}

/// What the pool and the store know of the server.
struct Server {
    config: postgres::Config,
    place: String,
    /// When the server last could not be reached, with the reason.
    down: Mutex<Option<(Instant, String)>>,
    /// Counts the times the server went away: a link opened before the
    /// last time went with it and is not handed out again.
    losses: AtomicU64,
}

/// Opens links to the server for the pool, and tells which may be reused.
pub(crate) struct PgLinks(Arc<Server>);

impl r2d2::ManageConnection for PgLinks {
    type Connection = PgLink;
    type Error = StoreError;

    fn connect(&self) -> Result<PgLink> {
        let generation = self.0.losses.load(Ordering::Relaxed);
        match self.0.config.connect(NoTls) {
            Ok(client) => Ok(PgLink::new(client, generation)),
            Err(e) => Err(self.0.error(e)),
        }
    }

    /// Costs no round trip: a link is stale when the server went away after
    /// it was opened.
    fn is_valid(&self, link: &mut PgLink) -> Result<()> {
        if link.generation == self.0.losses.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(StoreError::Unreachable {
            place: self.0.place.clone(),
            reason: "the connection was lost".into(),
        })
    }

    fn has_broken(&self, link: &mut PgLink) -> bool {
        link.is_closed()
            || link.in_transaction
            || link.generation != self.0.losses.load(Ordering::Relaxed)
    }
}

impl Server {
    /// A PostgreSQL error as the store reports it: `Unreachable` when the
    /// server cannot be reached (and every open link is retired: they went
    /// with the server), else the statement's error.
    fn error(&self, source: postgres::Error) -> StoreError {
        if link::is_unreachable(&source) {
            let reason = source.to_string();
            let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
            if down.is_none() {
                log::warn!("the database at {} is unreachable: {reason}", self.place);
            }
            *down = Some((Instant::now(), reason.clone()));
            self.losses.fetch_add(1, Ordering::Relaxed);
            return StoreError::Unreachable {
                place: self.place.clone(),
                reason,
            };
        }
        StoreError::Postgres {
            place: self.place.clone(),
            source,
        }
    }
}

/// Reads a URL (`postgres://…` or `key=value` settings).
fn parse_url(url: &str) -> Result<postgres::Config> {
    url.parse().map_err(|e| StoreError::BadUrl(format!("{e}")))
}

/// Where a database is, for messages: never its password.
fn place_of(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`, or the
    /// `key=value` form, e.g. `host=/run/postgresql dbname=voxdash`).
    pub fn connect(url: &str) -> Result<PgStore> {
        let mut config = parse_url(url)?;
        let place = place_of(&config);
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("voxdash");
        let server = Arc::new(Server {
            config,
            place,
            down: Mutex::new(None),
            losses: AtomicU64::new(0),
        });
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(PgLinks(Arc::clone(&server)));
        let store = PgStore { pool, server };
        // Reachable now, or an error saying why.
        store.link()?;
        Ok(store)
    }

    /// The database, for messages (no password).
    pub fn place(&self) -> &str {
        &self.server.place
    }

    /// A link from the pool. While the server was unreachable less than
    /// [`RETRY_AFTER`] ago, fails at once.
    pub(crate) fn link(&self) -> Result<PooledConnection<PgLinks>> {
        if let Some((when, reason)) = &*self.server.down.lock().unwrap_or_else(|e| e.into_inner()) {
            if when.elapsed() < RETRY_AFTER {
                return Err(StoreError::Unreachable {
                    place: self.server.place.clone(),
                    reason: reason.clone(),
                });
            }
        }
        match self.pool.get() {
            Ok(link) => {
                let was_down = self
                    .server
                    .down
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if was_down.is_some() {
                    log::info!("the database at {} answers again", self.server.place);
                }
                Ok(link)
            }
            Err(e) => Err(StoreError::Unreachable {
                place: self.server.place.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// A PostgreSQL error as the store reports it (see `Server::error`).
    pub(crate) fn error(&self, source: postgres::Error) -> StoreError {
        self.server.error(source)
    }

    pub(crate) fn err(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        move |source| self.error(source)
    }

    /// Runs `each` on a pooled client, giving it back afterwards.
    fn with_client<T>(&self, each: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        each(self.link()?.client())
    }

    /// The schema version applied (0 for a database voxdash never touched).
    pub fn version(&self) -> Result<i64> {
        self.with_client(|client| schema_version(client).map_err(self.err()))
    }

    /// Tables in the schema voxdash would use (any, not only voxdash's).
    pub fn table_count(&self) -> Result<i64> {
        self.with_client(|client| {
            let row = client
                .query_one(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
                    &[],
                )
                .map_err(self.err())?;
            Ok(row.get(0))
        })
    }

    /// Brings the schema to this binary's version, in one transaction.
    /// Nodes starting together take turns: the first migrates, the others
    /// find the work done.
    pub fn migrate(&self) -> Result<()> {
        self.with_client(|client| {
            let err = self.err();
            let mut tx = client.transaction().map_err(&err)?;
            tx.batch_execute("SELECT pg_advisory_xact_lock(7531002)")
                .map_err(&err)?;
            let found = schema_version(&mut tx).map_err(&err)?;
            let latest = schema::latest_version();
            if found > latest {
                return Err(StoreError::TooNew {
                    path: self.server.place.clone().into(),
                    found,
                    supported: latest,
                });
            }
            if found < latest {
                apply_migrations(&mut tx, found).map_err(&err)?;
                if found > 0 {
                    log::info!(
                        "database {} migrated to schema version {latest}",
                        self.server.place
                    );
                }
            }
            tx.commit().map_err(&err)
        })
    }

    /// Tables in the schema voxdash uses that are not voxdash's, by name.
    pub fn foreign_tables(&self) -> Result<Vec<String>> {
        let ours: Vec<String> = schema::TABLES
            .iter()
            .map(|t| t.to_string())
            .chain(["voxdash_schema".to_string()])
            .collect();
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = current_schema() AND NOT (table_name = ANY($1))
                     ORDER BY 1",
                    &[&ours],
                )
                .map_err(self.err())?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Runs plain SQL (tests and tools).
    pub fn execute(&self, sql: &str) -> Result<()> {
        self.with_client(|client| client.batch_execute(sql).map_err(self.err()))
    }
}

/// The schema version applied (0 for a database voxdash never touched).
fn schema_version(
    client: &mut impl postgres::GenericClient,
) -> std::result::Result<i64, postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'voxdash_schema')",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM voxdash_schema", &[])?
        .get(0))
}

pub(crate) fn apply_migrations(
    tx: &mut postgres::Transaction<'_>,
    from: i64,
) -> std::result::Result<(), postgres::Error> {
    tx.batch_execute("CREATE TABLE IF NOT EXISTS voxdash_schema (version BIGINT NOT NULL)")?;
    for index in from as usize..schema::MIGRATIONS.len() {
        tx.batch_execute(&schema::migration_sql(index))?;
        tx.execute(
            "INSERT INTO voxdash_schema(version) VALUES ($1)",
            &[&(index as i64 + 1)],
        )?;
    }
    Ok(())
}

/// One row in PostgreSQL's COPY text format, its values separated by tabs
/// and ended by a newline; a value that has no such text fails with its
/// place in the row and the reason.
pub(crate) fn copy_line<'v>(
    values: impl IntoIterator<Item = rusqlite::types::ValueRef<'v>>,
    out: &mut Vec<u8>,
) -> std::result::Result<(), (usize, String)> {
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        copy_text(value, out).map_err(|reason| (i, reason))?;
    }
    out.push(b'\n');
    Ok(())
}

/// One value of a SQLite row (or of an import) in PostgreSQL's COPY text format.
fn copy_text(
    value: rusqlite::types::ValueRef<'_>,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(bytes) => {
            for &b in bytes {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
        ValueRef::Blob(_) => {
            return Err("a binary value where text or a number was expected".into())
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_of_a_database_never_shows_its_password() {
        let place = |url| place_of(&parse_url(url).unwrap());
        assert_eq!(
            place("postgres://lab:s3cret@db.example:6543/voxdash"),
            "postgres://lab@db.example:6543/voxdash"
        );
        assert_eq!(
            place("host=/run/postgresql user=voxdash dbname=lab password=s3cret"),
            "postgres://voxdash@/run/postgresql:5432/lab"
        );
        let err = parse_url("postgres://lab@db.example:notaport/x").unwrap_err();
        assert!(err.to_string().starts_with("database_url: "), "{err}");
    }

    #[test]
    fn values_take_copys_text_format() {
        use rusqlite::types::ValueRef;
        let text = |v| {
            let mut out = Vec::new();
            copy_text(v, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(ValueRef::Null), "\\N");
        assert_eq!(text(ValueRef::Integer(-7)), "-7");
        assert_eq!(text(ValueRef::Real(0.1)), "0.1");
        assert_eq!(text(ValueRef::Real(1e-7)), "0.0000001");
        assert_eq!(
            text(ValueRef::Text("a\tb\\c\nd\re 발음".as_bytes())),
            "a\\tb\\\\c\\nd\\re 발음"
        );
        assert!(copy_text(ValueRef::Blob(b"x"), &mut Vec::new()).is_err());
    }
}
