//! What the SQLite and PostgreSQL store builders share: the pool settings and their
//! checks, and opening the pool at once or lazily. Each builder keeps its source, its own
//! settings and the documentation of its setters.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authcore::StoreError;
use sqlx::pool::{Pool, PoolOptions};
use sqlx::{Connection, Database};

use crate::common::{DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, DEFAULT_USERS_TABLE, Flavor, Sql};
use crate::error::{bounded, db, invalid};

/// The settings of both builders.
pub(crate) struct PoolSettings {
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) query_timeout: Duration,
    pub(crate) users_table: String,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_TIMEOUT,
            query_timeout: DEFAULT_TIMEOUT,
            users_table: DEFAULT_USERS_TABLE.to_owned(),
        }
    }
}

impl PoolSettings {
    /// Checks the pool size and the timeouts.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.max_connections == 0 {
            return Err(invalid("max_connections must be at least 1"));
        }
        if self.acquire_timeout.is_zero() || self.query_timeout.is_zero() {
            return Err(invalid("timeouts must be positive"));
        }
        Ok(())
    }

    /// The statements of a store on a pool given to `from_pool`: the default users
    /// table, no schema.
    pub(crate) fn default_sql(flavor: Flavor) -> Arc<Sql> {
        Arc::new(
            Sql::new(flavor, None, DEFAULT_USERS_TABLE)
                .unwrap_or_else(|_| unreachable!("the default table name is valid")),
        )
    }

    /// The store's statements, on the users table and in `schema`.
    pub(crate) fn sql(&self, flavor: Flavor, schema: Option<&str>) -> Result<Arc<Sql>, StoreError> {
        Ok(Arc::new(Sql::new(flavor, schema, &self.users_table)?))
    }

    /// A pool of the configured size and acquire timeout.
    pub(crate) fn pool_options<DB: Database>(&self) -> PoolOptions<DB> {
        PoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
    }

    /// The size and the timeouts, for a builder's `Debug`.
    pub(crate) fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("query_timeout", &self.query_timeout);
    }
}

/// A given pool, or the options to open one.
pub(crate) enum Plan<DB: Database> {
    Ready(Pool<DB>),
    Open(
        PoolOptions<DB>,
        Box<<DB::Connection as Connection>::Options>,
    ),
}

impl<DB: Database> Plan<DB> {
    /// The pool, opened with one connection within its acquire timeout.
    pub(crate) async fn open(self) -> Result<Pool<DB>, StoreError> {
        match self {
            Plan::Ready(pool) => Ok(pool),
            Plan::Open(pool, options) => {
                bounded(pool.get_acquire_timeout(), async {
                    pool.connect_with(*options).await.map_err(db)
                })
                .await
            }
        }
    }

    /// The pool, created without connecting: the first call connects.
    pub(crate) fn open_lazy(self) -> Pool<DB> {
        match self {
            Plan::Ready(pool) => pool,
            Plan::Open(pool, options) => pool.connect_lazy_with(*options),
        }
    }
}

/// A builder of [`PoolSettings`]: its shared setters are one line each.
pub(crate) trait WithSettings: Sized {
    fn settings_mut(&mut self) -> &mut PoolSettings;

    /// The builder with one shared setting changed.
    fn set(mut self, change: impl FnOnce(&mut PoolSettings)) -> Self {
        change(self.settings_mut());
        self
    }
}
