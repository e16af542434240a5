//! authcore's migrations beside an application's own sqlx migrations on one database, in
//! either order, and the upgrade of a database a previous authcore version migrated (its
//! record in `_sqlx_migrations`): on SQLite (a temporary file) and PostgreSQL (a schema
//! per test, the application's pool having it as its `search_path`).

use std::path::PathBuf;
use std::sync::Arc;

use auth_sqlx::{PostgresStore, SqliteStore};
use authcore::store::NewUser;
use authcore::testing::conformance;
use authcore::{PasswordHash, StoreError, UserStore};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::TIMEOUT;
use crate::postgres::Schema;
use crate::sqlite::TempDb;

/// The application's migration, as `sqlx migrate add app` names it.
const APP_VERSION: i64 = 20240101000000;
const APP_MIGRATION: (&str, &str) = (
    "20240101000000_app.sql",
    "CREATE TABLE app_items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
);

/// The application's migrator: `files` written to a directory of `db`'s, then read as
/// `sqlx::migrate!` or `sqlx migrate run` would.
async fn app_migrator(db: &TempDb, files: &[(&str, &str)]) -> Migrator {
    let dir = db.path().with_file_name("app_migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, sql) in files {
        std::fs::write(dir.join(name), sql).unwrap();
    }
    Migrator::new(dir).await.unwrap()
}

/// The migrator of the previous authcore version, which ran authcore's migrations (the
/// same files) through sqlx and so recorded them in `_sqlx_migrations`.
async fn previous_authcore_migrator(dialect: &str) -> Migrator {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    Migrator::new(dir).await.unwrap()
}

fn new_user(email: &str) -> NewUser {
    NewUser::new(
        email,
        PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"),
        vec!["user".to_owned()],
    )
}

/// The store works: a user written is read back, by email and by id.
async fn store_works(store: &impl UserStore, email: &str) {
    let user = store.create(new_user(email)).await.unwrap();
    let found = store.find_by_email(email).await.unwrap().unwrap();
    assert_eq!(found.id, user.id);
    assert_eq!(
        store.find_by_id(&user.id).await.unwrap().unwrap().email,
        email
    );
}

// ---- SQLite ----

/// The application's own pool on the database file.
async fn sqlite_app_pool(db: &TempDb) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(db.path())
        .create_if_missing(true);
    SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap()
}

/// authcore on the application's pool.
async fn sqlite_store(app: &SqlitePool) -> SqliteStore {
    SqliteStore::builder()
        .pool(app.clone())
        .query_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap()
}

/// A row of `_sqlx_migrations`: version, description, checksum.
type SqlxRecord = (i64, String, Vec<u8>);
/// A row of `_authcore_migrations`: version, description, checksum (hex).
type AuthcoreRecord = (i64, String, String);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn sqlite_sqlx_records(pool: &SqlitePool) -> Vec<SqlxRecord> {
    sqlx::query_as("SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn sqlite_authcore_records(pool: &SqlitePool) -> Vec<AuthcoreRecord> {
    sqlx::query_as(
        "SELECT version, description, checksum FROM _authcore_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Both migration tables.
async fn sqlite_records(pool: &SqlitePool) -> (Vec<SqlxRecord>, Vec<AuthcoreRecord>) {
    (
        sqlite_sqlx_records(pool).await,
        sqlite_authcore_records(pool).await,
    )
}

/// The state both migrators leave: `_sqlx_migrations` holds the application's versions
/// only, `_authcore_migrations` authcore's, every table exists and the store works.
async fn sqlite_check(app: &SqlitePool, store: &SqliteStore, app_versions: &[i64], email: &str) {
    let (sqlx, authcore) = sqlite_records(app).await;
    let versions: Vec<i64> = sqlx.iter().map(|r| r.0).collect();
    assert_eq!(
        versions, app_versions,
        "_sqlx_migrations holds the application's only"
    );
    let authcore: Vec<(i64, &str)> = authcore.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(authcore, [(1, "authcore")]);
    for table in [
        "app_items",
        "authcore_users",
        "authcore_refresh_families",
        "authcore_refresh_tokens",
        "authcore_revocations",
    ] {
        sqlx::query(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(app)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
    store_works(store, email).await;
}

async fn sqlite_in_order(app_first: bool) {
    let db = TempDb::new();
    let app = sqlite_app_pool(&db).await;
    let migrator = app_migrator(&db, &[APP_MIGRATION]).await;
    let store = sqlite_store(&app).await;
    if app_first {
        migrator.run(&app).await.unwrap();
        store.migrate().await.unwrap();
    } else {
        store.migrate().await.unwrap();
        migrator.run(&app).await.unwrap();
    }
    let records = sqlite_records(&app).await;
    // each again, as at the next start-up: nothing changes
    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    assert_eq!(sqlite_records(&app).await, records);
    sqlite_check(&app, &store, &[APP_VERSION], "ada@example.com").await;
    // and a store that opens the file itself, as the demos do, sees the same
    let own = SqliteStore::builder()
        .filename(db.path())
        .connect()
        .await
        .unwrap();
    own.migrate().await.unwrap();
    assert!(
        own.find_by_email("ada@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn sqlite_application_migrates_first() {
    sqlite_in_order(true).await;
}

#[tokio::test]
async fn sqlite_authcore_migrates_first() {
    sqlite_in_order(false).await;
}

/// An application whose first migration is version 1 too: the two never meet.
#[tokio::test]
async fn sqlite_application_version_1_is_its_own() {
    let db = TempDb::new();
    let app = sqlite_app_pool(&db).await;
    let migrator = app_migrator(
        &db,
        &[(
            "0001_init.sql",
            "CREATE TABLE app_items (id BIGINT PRIMARY KEY);",
        )],
    )
    .await;
    let store = sqlite_store(&app).await;
    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    let (sqlx, _) = sqlite_records(&app).await;
    assert_eq!((sqlx[0].0, sqlx[0].1.as_str()), (1, "init"));
    assert_eq!(sqlx[0].2, migrator.iter().next().unwrap().checksum.to_vec());
    sqlite_check(&app, &store, &[1], "ada@example.com").await;
}

/// A database the previous authcore version migrated: its record moves from
/// `_sqlx_migrations` to `_authcore_migrations`, the data stays, and the application can
/// migrate at last.
#[tokio::test]
async fn sqlite_previous_version_is_adopted() {
    let db = TempDb::new();
    let app = sqlite_app_pool(&db).await;
    previous_authcore_migrator("sqlite")
        .await
        .run(&app)
        .await
        .unwrap();
    let store = sqlite_store(&app).await;
    let before = store.create(new_user("old@example.com")).await.unwrap();
    let legacy = sqlite_sqlx_records(&app).await;
    assert_eq!(legacy.iter().map(|r| r.0).collect::<Vec<_>>(), [1]);
    let migrator = app_migrator(&db, &[APP_MIGRATION]).await;
    // the defect: the application's migrator refuses authcore's record
    assert!(migrator.run(&app).await.is_err());

    store.migrate().await.unwrap();
    let (sqlx, authcore) = sqlite_records(&app).await;
    assert!(sqlx.is_empty(), "{sqlx:?}");
    assert_eq!(authcore, [(1, "authcore".to_owned(), hex(&legacy[0].2))]);

    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    sqlite_check(&app, &store, &[APP_VERSION], "ada@example.com").await;
    assert_eq!(
        store
            .find_by_email("old@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        before.id
    );
}

/// A record in `_sqlx_migrations` that only looks like the previous version's (version 1,
/// `authcore`, another checksum) is not authcore's to move: it stays where it is, and
/// authcore records its own migration, with its own checksum, in its own table.
#[tokio::test]
async fn sqlite_a_foreign_record_stays() {
    let db = TempDb::new();
    let app = sqlite_app_pool(&db).await;
    let migrator = app_migrator(
        &db,
        &[(
            "0001_authcore.sql",
            "CREATE TABLE app_items (id BIGINT PRIMARY KEY);",
        )],
    )
    .await;
    migrator.run(&app).await.unwrap();
    let store = sqlite_store(&app).await;
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    let (sqlx, authcore) = sqlite_records(&app).await;
    assert_eq!(
        (sqlx.len(), sqlx[0].0, sqlx[0].1.as_str()),
        (1, 1, "authcore")
    );
    assert_eq!(authcore.len(), 1);
    assert_ne!(authcore[0].2, hex(&sqlx[0].2));
    store_works(&store, "ada@example.com").await;
}

/// What `_authcore_migrations` records is checked: a version this authcore does not know
/// (a newer one migrated the database), or a checksum that differs, stops `migrate`.
#[tokio::test]
async fn sqlite_recorded_migrations_are_checked() {
    for change in [
        "INSERT INTO _authcore_migrations VALUES (2, 'newer', 'ff', 0)",
        "UPDATE _authcore_migrations SET checksum = 'ff' WHERE version = 1",
    ] {
        let db = TempDb::new();
        let app = sqlite_app_pool(&db).await;
        let store = sqlite_store(&app).await;
        store.migrate().await.unwrap();
        sqlx::query(change).execute(&app).await.unwrap();
        match store.migrate().await {
            Err(StoreError::Backend(e)) => {
                assert!(e.to_string().contains("authcore migration"), "{e}")
            }
            other => panic!("{change}: {other:?}"),
        }
    }
}

/// Stores on separate pools migrate a new database at the same moment: each succeeds,
/// and each migration runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_first_migrations_at_once() {
    let db = TempDb::new();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = SqliteStore::builder()
            .filename(db.path())
            .query_timeout(TIMEOUT)
            .connect()
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move { store.migrate().await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let app = sqlite_app_pool(&db).await;
    assert_eq!(sqlite_authcore_records(&app).await.len(), 1);
}

// ---- PostgreSQL ----

async fn pg_sqlx_records(pool: &PgPool, schema: &str) -> Vec<SqlxRecord> {
    sqlx::query_as(&format!(
        "SELECT version, description, checksum FROM {schema}._sqlx_migrations ORDER BY version"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn pg_authcore_records(pool: &PgPool, schema: &str) -> Vec<AuthcoreRecord> {
    sqlx::query_as(&format!(
        "SELECT version, description, checksum FROM {schema}._authcore_migrations ORDER BY version"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Both migration tables in `schema`.
async fn pg_records(pool: &PgPool, schema: &str) -> (Vec<SqlxRecord>, Vec<AuthcoreRecord>) {
    (
        pg_sqlx_records(pool, schema).await,
        pg_authcore_records(pool, schema).await,
    )
}

/// Whether `schema.table` exists.
async fn pg_exists(pool: &PgPool, schema: &str, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("{schema}.{table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

const AUTHCORE_TABLES: [&str; 5] = [
    "_authcore_migrations",
    "authcore_users",
    "authcore_refresh_families",
    "authcore_refresh_tokens",
    "authcore_revocations",
];

/// As [`sqlite_check`], in `schema`.
async fn pg_check(db: &Schema, store: &PostgresStore, email: &str) {
    let (sqlx, authcore) = pg_records(&db.admin, &db.name).await;
    let versions: Vec<i64> = sqlx.iter().map(|r| r.0).collect();
    assert_eq!(
        versions,
        [APP_VERSION],
        "_sqlx_migrations holds the application's only"
    );
    let authcore: Vec<(i64, &str)> = authcore.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(authcore, [(1, "authcore")]);
    assert!(pg_exists(&db.admin, &db.name, "app_items").await);
    for table in AUTHCORE_TABLES {
        assert!(pg_exists(&db.admin, &db.name, table).await, "{table}");
    }
    store_works(store, email).await;
}

/// authcore on the application's pool, with the application's schema.
async fn pg_store(app: &PgPool, schema: &str) -> PostgresStore {
    PostgresStore::builder()
        .pool(app.clone())
        .schema(schema)
        .query_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap()
}

async fn pg_in_order(app_first: bool) {
    let Some(db) = Schema::empty().await else {
        return;
    };
    let files = TempDb::new();
    let migrator = app_migrator(&files, &[APP_MIGRATION]).await;
    let app = db.app_pool().await;
    let store = pg_store(&app, &db.name).await;
    if app_first {
        migrator.run(&app).await.unwrap();
        store.migrate().await.unwrap();
    } else {
        store.migrate().await.unwrap();
        migrator.run(&app).await.unwrap();
    }
    let records = pg_records(&db.admin, &db.name).await;
    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    assert_eq!(pg_records(&db.admin, &db.name).await, records);
    pg_check(&db, &store, "ada@example.com").await;
    // a store that opens its own pool, with the schema, sees the same
    let own = db.store().await;
    own.migrate().await.unwrap();
    assert!(
        own.find_by_email("ada@example.com")
            .await
            .unwrap()
            .is_some()
    );
    app.close().await;
    own.close().await;
    db.drop().await;
}

#[tokio::test]
async fn postgres_application_migrates_first() {
    pg_in_order(true).await;
}

#[tokio::test]
async fn postgres_authcore_migrates_first() {
    pg_in_order(false).await;
}

/// `schema` holds authcore's tables, its migrations table among them, also when the pool
/// is the application's and its `search_path` names another schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_the_schema_is_kept_with_a_given_pool() {
    let Some(app_schema) = Schema::empty().await else {
        return;
    };
    let Some(auth_schema) = Schema::empty().await else {
        return;
    };
    let files = TempDb::new();
    let migrator = app_migrator(&files, &[APP_MIGRATION]).await;
    let app = app_schema.app_pool().await;
    migrator.run(&app).await.unwrap();
    let store = pg_store(&app, &auth_schema.name).await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    for table in AUTHCORE_TABLES {
        assert!(pg_exists(&app, &auth_schema.name, table).await, "{table}");
        assert!(!pg_exists(&app, &app_schema.name, table).await, "{table}");
    }
    assert!(!pg_exists(&app, &auth_schema.name, "_sqlx_migrations").await);
    let sqlx = pg_sqlx_records(&app, &app_schema.name).await;
    assert_eq!(sqlx.iter().map(|r| r.0).collect::<Vec<_>>(), [APP_VERSION]);
    // every statement finds its table
    let store = Arc::new(store);
    conformance::user_store(store.clone()).await;
    conformance::refresh_token_store(store.clone()).await;
    conformance::revocation_store(store.clone()).await;
    conformance::revocation_listing(store).await;
    app.close().await;
    app_schema.drop().await;
    auth_schema.drop().await;
}

/// As [`sqlite_previous_version_is_adopted`]: the previous version ran with the schema as
/// its connections' `search_path`, so its record is in that schema's `_sqlx_migrations`.
#[tokio::test]
async fn postgres_previous_version_is_adopted() {
    let Some(db) = Schema::empty().await else {
        return;
    };
    let app = db.app_pool().await;
    previous_authcore_migrator("postgres")
        .await
        .run(&app)
        .await
        .unwrap();
    let store = pg_store(&app, &db.name).await;
    let before = store.create(new_user("old@example.com")).await.unwrap();
    let legacy = pg_sqlx_records(&db.admin, &db.name).await;
    assert_eq!(legacy.iter().map(|r| r.0).collect::<Vec<_>>(), [1]);
    let files = TempDb::new();
    let migrator = app_migrator(&files, &[APP_MIGRATION]).await;
    // the defect: the application's migrator refuses authcore's record (on a pool of its
    // own, closed at once: sqlx's migrator leaves its session lock held when it fails)
    let probe = db.app_pool().await;
    assert!(migrator.run(&probe).await.is_err());
    probe.close().await;

    store.migrate().await.unwrap();
    let (sqlx, authcore) = pg_records(&db.admin, &db.name).await;
    assert!(sqlx.is_empty(), "{sqlx:?}");
    assert_eq!(authcore, [(1, "authcore".to_owned(), hex(&legacy[0].2))]);

    migrator.run(&app).await.unwrap();
    store.migrate().await.unwrap();
    migrator.run(&app).await.unwrap();
    pg_check(&db, &store, "ada@example.com").await;
    assert_eq!(
        store
            .find_by_email("old@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        before.id
    );
    app.close().await;
    db.drop().await;
}

/// Instances starting at once on a new schema, each with its own pool: each migrates
/// successfully, and the migration runs once (the advisory lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_first_migrations_at_once() {
    let Some(db) = Schema::empty().await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(db.store().await));
    }
    let tasks: Vec<_> = stores
        .iter()
        .map(|s| {
            let s = s.clone();
            tokio::spawn(async move { s.migrate().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(pg_authcore_records(&db.admin, &db.name).await.len(), 1);
    for store in stores {
        store.close().await;
    }
    db.drop().await;
}
