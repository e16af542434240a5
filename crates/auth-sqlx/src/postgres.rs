//! The PostgreSQL store: one pool, shared by any number of service instances through the
//! database.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use authcore::StoreError;
use authcore::store::RefreshTokenRecord;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::common::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, DEFAULT_USERS_TABLE, Flavor, Sql, unix, validate_pool,
};
use crate::error::{bounded, db, invalid};

/// [`UserStore`](authcore::UserStore), [`RefreshTokenStore`](authcore::RefreshTokenStore)
/// and [`RevocationStore`](authcore::RevocationStore) on one PostgreSQL database.
///
/// Cheap to clone (the pool is shared). Every call returns within the query timeout, with
/// [`StoreError::Unavailable`] if the server could not be reached or did not answer in
/// time; the server also cancels statements running longer (`statement_timeout`). Its
/// [`Debug`] output shows host, port, database and user, never the password.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    pub(crate) query_timeout: Duration,
    pub(crate) sql: Arc<Sql>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        f.debug_struct("PostgresStore")
            .field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("database", &options.get_database())
            .field("username", &options.get_username())
            .field("schema", &self.sql.schema)
            .field("users_table", &self.sql.users.table)
            .field("query_timeout", &self.query_timeout)
            .field("connections", &self.pool.size())
            .finish()
    }
}

impl crate::store::Dialect for PostgresStore {
    type Db = sqlx::Postgres;
    const MIGRATIONS: crate::migrations::Embedded = crate::migrations::POSTGRES;
    const BEGIN: &'static str = "BEGIN";
    /// A transaction-scoped advisory lock, released by the commit or rollback however the
    /// migration ends. Its key is the bytes of `authcore` as a big-endian integer. Advisory
    /// locks are per database, so all of a database's schemas share it; sqlx's migrator
    /// uses another key.
    const MIGRATION_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(7022647185647825509)");
    const SCOPE: Option<&'static str> = Some("SELECT set_config('search_path', $1, TRUE)");
    const TABLE_EXISTS: &'static str = "SELECT count(to_regclass($1))";
}

crate::store::impl_stores!(PostgresStore);

impl PostgresStore {
    /// The family (unless it exists) and the token in one statement: one round trip, one
    /// commit. The family's `ON CONFLICT DO NOTHING` leaves a revoked family revoked, so the
    /// token is then never consumable.
    async fn insert_token(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        sqlx::query(&self.sql.insert_token)
            .bind(record.token_hash.to_hex())
            .bind(&record.family_id)
            .bind(&record.user_id)
            .bind(unix(record.issued_at))
            .bind(unix(record.expires_at))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

impl PostgresStore {
    /// PostgreSQL runs concurrent writes itself: no turn to wait for (unlike
    /// `SqliteStore::write_turn`).
    pub(crate) async fn write_turn(&self) {}

    /// Connects to `url` (`postgres://user:password@host:5432/database`) with default
    /// settings.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError) if the
    /// URL is invalid; [`StoreError::Unavailable`] if the server cannot be reached within
    /// the acquire timeout; [`StoreError::Backend`] if it refuses the connection (for
    /// example a wrong password).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        PostgresStore::builder().url(url).connect().await
    }

    /// Starts a builder for the pool size, timeouts, schema and users table.
    pub fn builder() -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            source: Source::None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_TIMEOUT,
            query_timeout: DEFAULT_TIMEOUT,
            schema: None,
            users_table: DEFAULT_USERS_TABLE.to_owned(),
        }
    }

    /// A store on a pool you configured yourself, with the default query timeout and users
    /// table, and no schema: the tables are where the connections' `search_path` finds
    /// them. Use [`PostgresStoreBuilder::pool`] to change those.
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresStore {
            pool,
            query_timeout: DEFAULT_TIMEOUT,
            sql: Arc::new(
                Sql::new(Flavor::Postgres, None, DEFAULT_USERS_TABLE)
                    .unwrap_or_else(|_| unreachable!("the default table name is valid")),
            ),
        }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool: waits for connections in use to be returned, then closes all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

enum Source {
    None,
    Url(String),
    Pool(PgPool),
}

/// Configures a [`PostgresStore`]; [`connect`](PostgresStoreBuilder::connect) validates.
#[must_use]
pub struct PostgresStoreBuilder {
    source: Source,
    max_connections: u32,
    acquire_timeout: Duration,
    query_timeout: Duration,
    schema: Option<String>,
    users_table: String,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::None => "none",
            Source::Url(_) => "url ([redacted])",
            Source::Pool(_) => "pool",
        };
        f.debug_struct("PostgresStoreBuilder")
            .field("source", &source)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("schema", &self.schema)
            .field("users_table", &self.users_table)
            .finish()
    }
}

impl PostgresStoreBuilder {
    /// The database URL: `postgres://user:password@host:5432/database`.
    pub fn url(mut self, url: &str) -> Self {
        self.source = Source::Url(url.to_owned());
        self
    }

    /// An existing pool instead of a URL; the pool settings below then do not apply.
    pub fn pool(mut self, pool: PgPool) -> Self {
        self.source = Source::Pool(pool);
        self
    }

    /// Most connections in the pool. Default 10.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a call waits for a connection (including opening one). Default 5 s.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The deadline of every store call, after which it returns
    /// [`StoreError::Unavailable`]; also the server's `statement_timeout`. Default 5 s.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Keeps authcore's tables, its migrations table among them, in `schema` (which must
    /// exist; a plain identifier): every statement names them schema-qualified, whether the
    /// builder opens the pool or you pass one in. Without it, the tables are where the
    /// connections' `search_path` finds them (usually `public`).
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// The users table, if not `authcore_users` (for example an existing table with the
    /// documented columns). A plain identifier, optionally schema-qualified; unqualified,
    /// it is in the [`schema`](PostgresStoreBuilder::schema), if one is set.
    pub fn users_table(mut self, table: &str) -> Self {
        self.users_table = table.to_owned();
        self
    }

    /// Validates the settings and opens the pool, connecting once.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError) for a
    /// missing or invalid URL, a zero pool size or timeout, or an invalid schema or table
    /// name; [`StoreError::Unavailable`] if the server cannot be reached within the
    /// acquire timeout; [`StoreError::Backend`] if it refuses the connection.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let acquire = self.acquire_timeout;
        let (plan, query_timeout, sql) = self.prepare()?;
        let pool = match plan {
            Plan::Ready(pool) => pool,
            Plan::Open(pool, options) => {
                bounded(acquire, async {
                    pool.connect_with(*options).await.map_err(db)
                })
                .await?
            }
        };
        Ok(PostgresStore {
            pool,
            query_timeout,
            sql,
        })
    }

    /// Validates the settings and creates the pool without connecting; the first call
    /// connects. A service can so start while the database is down and answer `503`
    /// until it is back.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError), as
    /// [`connect`](PostgresStoreBuilder::connect).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<PostgresStore, StoreError> {
        let (plan, query_timeout, sql) = self.prepare()?;
        let pool = match plan {
            Plan::Ready(pool) => pool,
            Plan::Open(pool, options) => pool.connect_lazy_with(*options),
        };
        Ok(PostgresStore {
            pool,
            query_timeout,
            sql,
        })
    }

    fn prepare(self) -> Result<(Plan, Duration, Arc<Sql>), StoreError> {
        validate_pool(
            self.max_connections,
            self.acquire_timeout,
            self.query_timeout,
        )?;
        let sql = Arc::new(Sql::new(
            Flavor::Postgres,
            self.schema.as_deref(),
            &self.users_table,
        )?);
        let url = match self.source {
            Source::Pool(pool) => return Ok((Plan::Ready(pool), self.query_timeout, sql)),
            Source::None => return Err(invalid("a database URL or pool is required")),
            Source::Url(url) => url,
        };
        let options = PgConnectOptions::from_str(&url)
            .map_err(|_| invalid("the PostgreSQL URL is invalid"))?
            .application_name("authcore")
            .options([(
                "statement_timeout",
                self.query_timeout.as_millis().to_string(),
            )]);
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout);
        Ok((Plan::Open(pool, Box::new(options)), self.query_timeout, sql))
    }
}

/// A given pool, or the options to open one.
enum Plan {
    Ready(PgPool),
    Open(PgPoolOptions, Box<PgConnectOptions>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Dialect;

    #[test]
    fn the_migration_lock_is_keyed_by_authcore() {
        let key = i64::from_be_bytes(*b"authcore");
        assert_eq!(
            PostgresStore::MIGRATION_LOCK,
            Some(format!("SELECT pg_advisory_xact_lock({key})").as_str())
        );
    }
}
