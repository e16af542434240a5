//! The PostgreSQL store: one pool, shared by any number of service instances through the
//! database.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use authcore::StoreError;
use authcore::store::RefreshTokenRecord;
use sqlx::postgres::{PgConnectOptions, PgPool};

use crate::builder::{Plan, PoolSettings, WithSettings};
use crate::common::{DEFAULT_TIMEOUT, Flavor, Sql, unix};
use crate::error::{db, invalid};

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
            settings: PoolSettings::default(),
            schema: None,
        }
    }

    /// A store on a pool you configured yourself, with the default query timeout and users
    /// table, and no schema: the tables are where the connections' `search_path` finds
    /// them. Use [`PostgresStoreBuilder::pool`] to change those.
    pub fn from_pool(pool: PgPool) -> Self {
        Parts {
            query_timeout: DEFAULT_TIMEOUT,
            sql: PoolSettings::default_sql(Flavor::Postgres),
        }
        .store(pool)
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
    settings: PoolSettings,
    schema: Option<String>,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::None => "none",
            Source::Url(_) => "url ([redacted])",
            Source::Pool(_) => "pool",
        };
        let mut f = f.debug_struct("PostgresStoreBuilder");
        f.field("source", &source);
        self.settings.debug_fields(&mut f);
        f.field("schema", &self.schema)
            .field("users_table", &self.settings.users_table)
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
    pub fn max_connections(self, n: u32) -> Self {
        self.set(|s| s.max_connections = n)
    }

    /// How long a call waits for a connection (including opening one). Default 5 s.
    pub fn acquire_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.acquire_timeout = timeout)
    }

    /// The deadline of every store call, after which it returns
    /// [`StoreError::Unavailable`]; also the server's `statement_timeout`. Default 5 s.
    pub fn query_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.query_timeout = timeout)
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
    pub fn users_table(self, table: &str) -> Self {
        self.set(|s| s.users_table = table.to_owned())
    }

    /// Validates the settings and opens the pool, connecting once.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError) for a
    /// missing or invalid URL, a zero pool size or timeout, or an invalid schema or table
    /// name; [`StoreError::Unavailable`] if the server cannot be reached within the
    /// acquire timeout; [`StoreError::Backend`] if it refuses the connection.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let (plan, parts) = self.prepare()?;
        Ok(parts.store(plan.open().await?))
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
        let (plan, parts) = self.prepare()?;
        Ok(parts.store(plan.open_lazy()))
    }

    /// The pool to open or use, and the rest of the store.
    fn prepare(self) -> Result<(Plan<sqlx::Postgres>, Parts), StoreError> {
        self.settings.validate()?;
        let sql = self
            .settings
            .sql(Flavor::Postgres, self.schema.as_deref())?;
        let query_timeout = self.settings.query_timeout;
        let url = match self.source {
            Source::Pool(pool) => return Ok((Plan::Ready(pool), Parts { query_timeout, sql })),
            Source::None => return Err(invalid("a database URL or pool is required")),
            Source::Url(url) => url,
        };
        let options = PgConnectOptions::from_str(&url)
            .map_err(|_| invalid("the PostgreSQL URL is invalid"))?
            .application_name("authcore")
            .options([("statement_timeout", query_timeout.as_millis().to_string())]);
        let pool = self.settings.pool_options();
        Ok((
            Plan::Open(pool, Box::new(options)),
            Parts { query_timeout, sql },
        ))
    }
}

impl WithSettings for PostgresStoreBuilder {
    fn settings_mut(&mut self) -> &mut PoolSettings {
        &mut self.settings
    }
}

/// A store but for its pool.
struct Parts {
    query_timeout: Duration,
    sql: Arc<Sql>,
}

impl Parts {
    fn store(self, pool: PgPool) -> PostgresStore {
        PostgresStore {
            pool,
            query_timeout: self.query_timeout,
            sql: self.sql,
        }
    }
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
