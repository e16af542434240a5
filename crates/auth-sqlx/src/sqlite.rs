//! The SQLite store: WAL mode, a busy timeout, one pool.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use authcore::StoreError;
use authcore::store::RefreshTokenRecord;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};

use crate::builder::{Plan, PoolSettings, WithSettings};
use crate::common::{DEFAULT_TIMEOUT, Flavor, Sql, unix};
use crate::error::{db, invalid};

/// [`UserStore`](authcore::UserStore), [`RefreshTokenStore`](authcore::RefreshTokenStore)
/// and [`RevocationStore`](authcore::RevocationStore) on one SQLite database.
///
/// Cheap to clone (the pool is shared). Connections use WAL mode, a busy timeout (5 s by
/// default), `foreign_keys` and create the file if missing, so concurrent requests wait
/// for the write lock instead of failing with "database is locked". The store's own
/// writes, and its clones', take turns in the process rather than poll SQLite's write
/// lock; reads never wait for writes. Every call returns
/// within the query timeout, with [`StoreError::Unavailable`] if the database did not
/// answer in time.
///
/// A process that is the database's only user can put its revocations behind an
/// [`authcore::store::RevocationMirror`]: loaded once, written through, and read from
/// memory, so authenticating a request does no query at all. Open the store
/// [`exclusive`](SqliteStoreBuilder::exclusive) then, so that a second process on the
/// same file is refused instead of writing revocations the mirror never sees;
/// [`connect_single_instance`](SqliteStoreBuilder::connect_single_instance) takes the
/// lock, the mirror and a user cache together.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) query_timeout: Duration,
    pub(crate) sql: Arc<Sql>,
    /// The claim of an exclusive store, released when the last clone is dropped.
    lock: Option<Arc<File>>,
    /// The turn to write, shared by clones (see [`SqliteStore::write_turn`]).
    writes: Arc<tokio::sync::Mutex<()>>,
}

/// The error inside [`StoreError::Unavailable`] when an
/// [`exclusive`](SqliteStoreBuilder::exclusive) store cannot claim its database: another
/// exclusive store, in this process or another, holds the lock file.
#[derive(Debug, thiserror::Error)]
#[error("the SQLite database is in use by another exclusive store (lock file {})", .lock_file.display())]
pub struct DatabaseInUse {
    lock_file: PathBuf,
}

impl DatabaseInUse {
    /// The lock file: the database file's path with `.lock` appended.
    pub fn lock_file(&self) -> &Path {
        &self.lock_file
    }
}

/// Takes the advisory lock of an exclusive store on `<database>.lock`, without waiting.
fn claim(database: &Path) -> Result<File, StoreError> {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let lock_file = PathBuf::from(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(StoreError::backend)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::unavailable(DatabaseInUse { lock_file })),
        Err(TryLockError::Error(e)) => Err(StoreError::backend(e)),
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("filename", &self.pool.connect_options().get_filename())
            .field("users_table", &self.sql.users.table)
            .field("query_timeout", &self.query_timeout)
            .field("connections", &self.pool.size())
            .field("exclusive", &self.lock.is_some())
            .finish()
    }
}

impl crate::store::Dialect for SqliteStore {
    type Db = sqlx::Sqlite;
    const MIGRATIONS: crate::migrations::Embedded = crate::migrations::SQLITE;
    /// Takes the write lock at once, which serializes migrating connections, in this
    /// process or another.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const MIGRATION_LOCK: Option<&'static str> = None;
    /// A SQLite store has no schema.
    const SCOPE: Option<&'static str> = None;
    const TABLE_EXISTS: &'static str =
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1";
}

crate::store::impl_stores!(SqliteStore);

impl SqliteStore {
    /// The family (unless it exists) and the token in one transaction: one commit. The
    /// family's `ON CONFLICT DO NOTHING` leaves a revoked family revoked, so the token is
    /// then never consumable.
    async fn insert_token(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        // The write lock at once: a deferred transaction that another process's commit
        // overtakes between its read and its write fails without waiting.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        sqlx::query(&self.sql.insert_family)
            .bind(&record.family_id)
            .bind(&record.user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(&self.sql.insert_token)
            .bind(record.token_hash.to_hex())
            .bind(&record.family_id)
            .bind(&record.user_id)
            .bind(unix(record.issued_at))
            .bind(unix(record.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}

impl SqliteStore {
    /// Waits for this store's turn to write. SQLite lets one connection write at a time,
    /// and a connection that finds the write lock taken polls for it: its busy handler
    /// sleeps 1, 2, 5, 10, 15, 20, 25 ms… between attempts. So the store's writes (its
    /// clones' too) take turns here, in the order they come, and only writers in other
    /// processes meet the busy timeout. Reads never wait: WAL mode.
    pub(crate) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/file.db`,
    /// `sqlite::memory:`) with default settings.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError) if the
    /// URL is invalid; [`StoreError::Unavailable`] or [`StoreError::Backend`] if the file
    /// cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        SqliteStore::builder().url(url).connect().await
    }

    /// Starts a builder for the pool size, timeouts and users table.
    pub fn builder() -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            source: Source::None,
            settings: PoolSettings::default(),
            busy_timeout: DEFAULT_TIMEOUT,
            exclusive: false,
        }
    }

    /// A store on a pool you configured yourself (WAL mode and a busy timeout are then
    /// yours to set), with the default query timeout and users table. Use
    /// [`SqliteStoreBuilder::pool`] to change those.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Parts {
            query_timeout: DEFAULT_TIMEOUT,
            sql: PoolSettings::default_sql(Flavor::Sqlite),
            lock: None,
        }
        .store(pool)
    }

    /// The underlying pool.
    pub fn pool(&self) -> &SqlitePool {
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
    File(PathBuf),
    Pool(SqlitePool),
}

/// Configures a [`SqliteStore`]; [`connect`](SqliteStoreBuilder::connect) validates.
#[must_use]
pub struct SqliteStoreBuilder {
    source: Source,
    settings: PoolSettings,
    busy_timeout: Duration,
    exclusive: bool,
}

impl fmt::Debug for SqliteStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::None => "none",
            Source::Url(_) => "url",
            Source::File(_) => "file",
            Source::Pool(_) => "pool",
        };
        let mut f = f.debug_struct("SqliteStoreBuilder");
        f.field("source", &source);
        self.settings.debug_fields(&mut f);
        f.field("busy_timeout", &self.busy_timeout)
            .field("users_table", &self.settings.users_table)
            .field("exclusive", &self.exclusive)
            .finish()
    }
}

impl SqliteStoreBuilder {
    /// The database URL: `sqlite://path/to/file.db`, `sqlite::memory:`.
    pub fn url(mut self, url: &str) -> Self {
        self.source = Source::Url(url.to_owned());
        self
    }

    /// The database file (created if missing).
    pub fn filename(mut self, path: impl AsRef<Path>) -> Self {
        self.source = Source::File(path.as_ref().to_owned());
        self
    }

    /// An existing pool instead of a URL; the pool settings below then do not apply.
    pub fn pool(mut self, pool: SqlitePool) -> Self {
        self.source = Source::Pool(pool);
        self
    }

    /// Most connections in the pool. Default 10; an in-memory database always uses one.
    pub fn max_connections(self, n: u32) -> Self {
        self.set(|s| s.max_connections = n)
    }

    /// How long a call waits for a free connection. Default 5 s.
    pub fn acquire_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.acquire_timeout = timeout)
    }

    /// The deadline of every store call, after which it returns
    /// [`StoreError::Unavailable`]. Default 5 s.
    pub fn query_timeout(self, timeout: Duration) -> Self {
        self.set(|s| s.query_timeout = timeout)
    }

    /// How long SQLite waits for the write lock while a connection outside this store
    /// holds it (another process, or a second store on the file); the store's own writes
    /// take turns instead. Default 5 s.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The users table, if not `authcore_users` (for example an existing table with the
    /// documented columns). A plain identifier, optionally schema-qualified.
    pub fn users_table(self, table: &str) -> Self {
        self.set(|s| s.users_table = table.to_owned())
    }

    /// Claims the database file for this store alone: an advisory lock on
    /// `<database file>.lock` (created next to it), taken when the store is built, held
    /// while the store or a clone of it lives, and released by the operating system when
    /// the process ends, however it ends. Building a second exclusive store on the same
    /// file, in this process or another, fails at once with [`StoreError::Unavailable`]
    /// wrapping [`DatabaseInUse`]. Default off.
    ///
    /// Take it when this process keeps state that other writers would make stale, such as
    /// a [`RevocationMirror`](authcore::store::RevocationMirror) of the revocations
    /// ([`connect_single_instance`](SqliteStoreBuilder::connect_single_instance) sets up
    /// both). The
    /// lock is advisory: a store that is not exclusive, or another program, can still
    /// open the file. An in-memory database belongs to its process anyway and takes no
    /// lock.
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }

    /// Validates the settings and opens the pool, connecting once.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError) for a
    /// missing or invalid URL, a zero pool size or timeout, an invalid table name, or
    /// [`exclusive`](SqliteStoreBuilder::exclusive) with a pool; [`StoreError::Unavailable`]
    /// wrapping [`DatabaseInUse`] if an exclusive store's database is claimed already;
    /// [`StoreError::Unavailable`] or [`StoreError::Backend`] if the database cannot be
    /// opened within the acquire timeout.
    pub async fn connect(self) -> Result<SqliteStore, StoreError> {
        let (plan, parts) = self.prepare()?;
        Ok(parts.store(plan.open().await?))
    }

    /// Validates the settings and creates the pool without connecting; the first call
    /// opens the database.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`](authcore::ConfigError), and
    /// [`DatabaseInUse`], as [`connect`](SqliteStoreBuilder::connect).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<SqliteStore, StoreError> {
        let (plan, parts) = self.prepare()?;
        Ok(parts.store(plan.open_lazy()))
    }

    /// The pool to open or use, and the rest of the store.
    fn prepare(self) -> Result<(Plan<sqlx::Sqlite>, Parts), StoreError> {
        self.settings.validate()?;
        if self.busy_timeout.is_zero() {
            return Err(invalid("timeouts must be positive"));
        }
        let sql = self.settings.sql(Flavor::Sqlite, None)?;
        let (options, in_memory) = match self.source {
            Source::Pool(_) if self.exclusive => {
                return Err(invalid(
                    "an exclusive store needs a URL or a file, not a pool",
                ));
            }
            Source::Pool(pool) => {
                let parts = Parts {
                    query_timeout: self.settings.query_timeout,
                    sql,
                    lock: None,
                };
                return Ok((Plan::Ready(pool), parts));
            }
            Source::None => return Err(invalid("a database URL, file or pool is required")),
            Source::Url(url) => {
                if !url.starts_with("sqlite:") {
                    return Err(invalid("the SQLite URL must start with `sqlite:`"));
                }
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = SqliteConnectOptions::from_str(&url)
                    .map_err(|_| invalid("the SQLite URL is invalid"))?;
                (options, in_memory)
            }
            Source::File(path) => (SqliteConnectOptions::new().filename(path), false),
        };
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(self.busy_timeout)
            .create_if_missing(true)
            .foreign_keys(true);
        let mut pool = self
            .settings
            .pool_options::<sqlx::Sqlite>()
            // A connection to a file cannot go stale the way a network connection can:
            // no round trip to the connection's thread before every query.
            .test_before_acquire(false);
        if in_memory {
            // An in-memory database lives as long as one of its connections: keep exactly
            // one, forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let lock = if self.exclusive && !in_memory {
            Some(claim(options.get_filename())?)
        } else {
            None
        };
        let parts = Parts {
            query_timeout: self.settings.query_timeout,
            sql,
            lock,
        };
        Ok((Plan::Open(pool, Box::new(options)), parts))
    }
}

impl WithSettings for SqliteStoreBuilder {
    fn settings_mut(&mut self) -> &mut PoolSettings {
        &mut self.settings
    }
}

/// A store but for its pool.
struct Parts {
    query_timeout: Duration,
    sql: Arc<Sql>,
    /// The claim of an exclusive store on a file.
    lock: Option<File>,
}

impl Parts {
    fn store(self, pool: SqlitePool) -> SqliteStore {
        SqliteStore {
            pool,
            query_timeout: self.query_timeout,
            sql: self.sql,
            lock: self.lock.map(Arc::new),
            writes: Arc::default(),
        }
    }
}
