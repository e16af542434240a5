//! `PostgresStore` on `DATABASE_URL`, each test in a schema of its own, dropped at its end.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use auth_sqlx::PostgresStore;
use authcore::testing::conformance;
use authcore::{RefreshTokenStore, RevocationStore, UserStore};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};

use crate::{TIMEOUT, WITHIN, closed_port, unique};

/// `DATABASE_URL` if it names a PostgreSQL database; prints why a test is skipped if not.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Some(url),
        Ok(_) => {
            println!("skipped: DATABASE_URL is not a PostgreSQL URL");
            None
        }
        Err(_) => {
            println!("skipped: DATABASE_URL not set");
            None
        }
    }
}

/// A schema of its own on the test database.
pub(crate) struct Schema {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) admin: PgPool,
}

impl Schema {
    /// A new schema, migrated.
    async fn new() -> Option<Schema> {
        let schema = Schema::empty().await?;
        schema.store().await.migrate().await.unwrap();
        Some(schema)
    }

    /// A new, empty schema.
    pub(crate) async fn empty() -> Option<Schema> {
        let url = database_url()?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let name = unique("authcore_t");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        Some(Schema { url, name, admin })
    }

    /// A new pool whose tables are those of this schema.
    pub(crate) async fn store(&self) -> PostgresStore {
        PostgresStore::builder()
            .url(&self.url)
            .schema(&self.name)
            .max_connections(4)
            .query_timeout(TIMEOUT)
            .connect()
            .await
            .unwrap()
    }

    /// A pool of the kind an application makes, with this schema as its `search_path`.
    pub(crate) async fn app_pool(&self) -> PgPool {
        let options = PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", self.name.as_str())]);
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap()
    }

    /// Drops the schema (best effort: a failed test leaves it behind).
    pub(crate) async fn drop(self) {
        let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await;
        self.admin.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_store() {
    let Some(db) = Schema::new().await else {
        return;
    };
    conformance::user_store(Arc::new(db.store().await)).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_token_store() {
    let Some(db) = Schema::new().await else {
        return;
    };
    conformance::refresh_token_store(Arc::new(db.store().await)).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_store() {
    let Some(db) = Schema::new().await else {
        return;
    };
    conformance::revocation_store(Arc::new(db.store().await)).await;
    db.drop().await;
}

#[tokio::test]
async fn revocation_listing() {
    let Some(db) = Schema::new().await else {
        return;
    };
    conformance::revocation_listing(Arc::new(db.store().await)).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_race_for_one_token_and_one_email() {
    let Some(db) = Schema::new().await else {
        return;
    };
    let (a, b) = (Arc::new(db.store().await), Arc::new(db.store().await));
    conformance::refresh_token_race(a.clone(), b.clone()).await;
    conformance::user_create_race(a, b).await;
    db.drop().await;
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let Some(db) = Schema::new().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    let written =
        conformance::persistence_write(Some(store.clone()), store.clone(), store.clone()).await;
    store.close().await;
    drop(store);
    let store = Arc::new(db.store().await);
    conformance::persistence_check(&written, Some(store.clone()), store.clone(), store).await;
    db.drop().await;
}

#[tokio::test]
async fn migrate_is_idempotent_and_concurrent() {
    let Some(db) = Schema::new().await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    db.drop().await;
}

/// A server that does not listen: every call is `Unavailable` at once, and so is an
/// eager connect. Needs no database.
#[tokio::test]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let url = format!("postgres://postgres@127.0.0.1:{}/test", closed_port());
    let store = Arc::new(
        PostgresStore::builder()
            .url(&url)
            .query_timeout(TIMEOUT)
            .acquire_timeout(TIMEOUT)
            .connect_lazy()
            .unwrap(),
    );
    // sqlx retries a refused connection until the acquire timeout: each call takes it.
    tokio::join!(
        conformance::user_store_unavailable(store.clone(), WITHIN),
        conformance::refresh_token_store_unavailable(store.clone(), WITHIN),
        conformance::revocation_store_unavailable(store, WITHIN),
    );

    let started = Instant::now();
    let err = PostgresStore::builder()
        .url(&url)
        .acquire_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() <= WITHIN);
}

/// A server that hangs (here: another session holds exclusive locks on every table): every
/// call is `Unavailable` within the timeout, and works again once the locks are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_is_unavailable_within_the_timeout() {
    let Some(db) = Schema::new().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    let mut holder = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query(&format!(
        "LOCK TABLE {0}.authcore_users, {0}.authcore_refresh_tokens, {0}.authcore_refresh_families, \
         {0}.authcore_revocations IN ACCESS EXCLUSIVE MODE",
        db.name
    ))
    .execute(&mut holder)
    .await
    .unwrap();

    tokio::join!(
        conformance::user_store_unavailable(store.clone(), WITHIN),
        conformance::refresh_token_store_unavailable(store.clone(), WITHIN),
        conformance::revocation_store_unavailable(store.clone(), WITHIN),
    );

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    holder.close().await.unwrap();
    assert!(
        !store.is_revoked(&["jti"]).await.unwrap(),
        "the store recovers"
    );
    assert_eq!(store.find_by_id("nobody").await.unwrap(), None);
    assert_eq!(
        store.revoke_user("nobody").await.unwrap(),
        Vec::<String>::new()
    );
    db.drop().await;
}

/// An existing users table with the documented columns, under another name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_in_an_existing_table() {
    let Some(db) = Schema::new().await else {
        return;
    };
    let table = format!("{}.accounts", db.name);
    sqlx::query(&format!(
        "CREATE TABLE {table} (id TEXT PRIMARY KEY, email TEXT NOT NULL, password_hash TEXT NOT NULL, \
         roles TEXT NOT NULL, disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, display_name TEXT)"
    ))
    .execute(&db.admin)
    .await
    .unwrap();
    sqlx::query(&format!("CREATE UNIQUE INDEX ON {table} (lower(email))"))
        .execute(&db.admin)
        .await
        .unwrap();
    let store = db.store().await;
    let accounts = PostgresStore::builder()
        .pool(store.pool().clone())
        .users_table(&table)
        .connect()
        .await
        .unwrap();
    conformance::user_store(Arc::new(accounts)).await;
    db.drop().await;
}
