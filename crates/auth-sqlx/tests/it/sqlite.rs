//! `SqliteStore` on temporary files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_sqlx::{DatabaseInUse, SqliteStore};
use authcore::store::{NewUser, RefreshTokenRecord, TokenHash};
use authcore::testing::conformance;
use authcore::time::OffsetDateTime;
use authcore::{PasswordHash, RefreshTokenStore, RevocationStore, StoreError, UserStore};
use sqlx::Connection;

use crate::{TIMEOUT, WITHIN, unique};

/// A temporary directory for one database, removed on drop.
pub(crate) struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("auth_sqlx_test"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDb { dir }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("auth.db")
    }

    /// A new pool on the database, migrated.
    pub(crate) async fn store(&self) -> SqliteStore {
        self.store_with_timeout(TIMEOUT).await
    }

    /// As [`TempDb::store`], with another query timeout.
    pub(crate) async fn store_with_timeout(&self, timeout: Duration) -> SqliteStore {
        let store = SqliteStore::builder()
            .filename(self.path())
            .max_connections(4)
            .query_timeout(timeout)
            .connect()
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_store() {
    let db = TempDb::new();
    conformance::user_store(Arc::new(db.store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_token_store() {
    let db = TempDb::new();
    conformance::refresh_token_store(Arc::new(db.store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_store() {
    let db = TempDb::new();
    conformance::revocation_store(Arc::new(db.store().await)).await;
}

#[tokio::test]
async fn revocation_listing_and_mirror() {
    let db = TempDb::new();
    let store = Arc::new(db.store().await);
    conformance::revocation_listing(store).await;
    let db = TempDb::new();
    let store = Arc::new(db.store().await);
    let mirror =
        authcore::store::RevocationMirror::load(store, authcore::time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    conformance::revocation_store(Arc::new(mirror)).await;
}

#[tokio::test]
async fn in_memory_database() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    conformance::revocation_store(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_race_for_one_token_and_one_email() {
    let db = TempDb::new();
    let (a, b) = (Arc::new(db.store().await), Arc::new(db.store().await));
    conformance::refresh_token_race(a.clone(), b.clone()).await;
    conformance::user_create_race(a, b).await;
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let db = TempDb::new();
    let store = Arc::new(db.store().await);
    let written =
        conformance::persistence_write(Some(store.clone()), store.clone(), store.clone()).await;
    store.close().await;
    drop(store);
    let store = Arc::new(db.store().await);
    // a mirror loaded at start-up sees every revocation the store kept
    let mirror = authcore::store::RevocationMirror::load(
        store.clone(),
        authcore::time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    conformance::persistence_check(&written, Some(store.clone()), store, Arc::new(mirror)).await;
}

#[tokio::test]
async fn wal_mode_busy_timeout_and_foreign_keys() {
    let db = TempDb::new();
    let store = db.store().await;
    let mut conn = store.pool().acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), busy, fk), ("wal", 5000, 1));
}

#[tokio::test]
async fn migrate_twice_and_concurrently() {
    let db = TempDb::new();
    let (a, b) = (db.store().await, db.store().await);
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    a.migrate().await.unwrap();
}

/// Writers on two pools, all at once: none fails with "database is locked". (The query
/// timeout is generous: this is about lock errors, and a loaded CI machine is slow.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_see_database_is_locked() {
    let db = TempDb::new();
    let slow = Duration::from_secs(30);
    let pools = [
        Arc::new(db.store_with_timeout(slow).await),
        Arc::new(db.store_with_timeout(slow).await),
    ];
    let now = OffsetDateTime::now_utc();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = pools[i % 2].clone();
            tokio::spawn(async move {
                for j in 0..20 {
                    let family = format!("fam-{i}");
                    let mut hash = [0u8; 32];
                    hash[0] = i as u8;
                    hash[1] = j as u8;
                    let record = RefreshTokenRecord {
                        token_hash: TokenHash(hash),
                        family_id: family,
                        user_id: format!("user-{i}"),
                        issued_at: now,
                        expires_at: now + authcore::time::Duration::hours(1),
                    };
                    store.insert(record.clone()).await?;
                    store.consume(&record.token_hash, now).await?;
                    store
                        .revoke(
                            &format!("jti-{i}-{j}"),
                            now + authcore::time::Duration::hours(1),
                        )
                        .await?;
                    store.is_revoked(&[&format!("jti-{i}-{j}")]).await?;
                }
                store
                    .create(NewUser::new(
                        format!("load{i}@example.com"),
                        PasswordHash::new("x"),
                        vec![],
                    ))
                    .await?;
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

/// Another process holds the write lock longer than the query timeout: writes give
/// `Unavailable` in time, reads (WAL) still work, and writes work again once it lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_is_unavailable_within_the_timeout() {
    let db = TempDb::new();
    let store = Arc::new(db.store().await);
    let url = format!("sqlite://{}", db.path().display());
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let err = store
        .revoke(
            "jti",
            OffsetDateTime::now_utc() + authcore::time::Duration::hours(1),
        )
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() <= WITHIN, "{:?}", started.elapsed());
    let started = Instant::now();
    let err = store.set_disabled("id", true).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() <= WITHIN, "{:?}", started.elapsed());
    assert!(
        !store.is_revoked(&["jti"]).await.unwrap(),
        "readers are not blocked in WAL mode"
    );

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    store
        .revoke(
            "jti",
            OffsetDateTime::now_utc() + authcore::time::Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(store.is_revoked(&["jti"]).await.unwrap());
}

/// With a busy timeout shorter than the query timeout, SQLite's own "database is locked"
/// is reported as `Unavailable` too.
#[tokio::test]
async fn sqlite_busy_is_unavailable() {
    let db = TempDb::new();
    db.store().await;
    let store = SqliteStore::builder()
        .filename(db.path())
        .busy_timeout(Duration::from_millis(100))
        .query_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    let url = format!("sqlite://{}", db.path().display());
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = store.revoke_family("fam").await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
}

/// An existing users table with the documented columns, under another name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_in_an_existing_table() {
    let db = TempDb::new();
    let store = db.store().await;
    sqlx::query(
        "CREATE TABLE accounts (id TEXT PRIMARY KEY, email TEXT NOT NULL COLLATE NOCASE UNIQUE, \
         password_hash TEXT NOT NULL, roles TEXT NOT NULL, disabled BOOLEAN NOT NULL, \
         created_at BIGINT NOT NULL, display_name TEXT)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let accounts = SqliteStore::builder()
        .pool(store.pool().clone())
        .users_table("accounts")
        .connect()
        .await
        .unwrap();
    conformance::user_store(Arc::new(accounts)).await;
    let in_default: i64 = sqlx::query_scalar("SELECT count(*) FROM authcore_users")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(in_default, 0);
}

fn in_use(result: Result<SqliteStore, StoreError>) -> PathBuf {
    match result {
        Err(StoreError::Unavailable(source)) => source
            .downcast_ref::<DatabaseInUse>()
            .unwrap_or_else(|| panic!("Unavailable, but not DatabaseInUse: {source}"))
            .lock_file()
            .to_owned(),
        other => panic!("expected DatabaseInUse, got {other:?}"),
    }
}

#[tokio::test]
async fn an_exclusive_store_claims_its_file() {
    let db = TempDb::new();
    let exclusive = || SqliteStore::builder().filename(db.path()).exclusive(true);
    let first = exclusive().connect().await.unwrap();
    first.migrate().await.unwrap();
    assert!(format!("{first:?}").contains("exclusive: true"));

    // a second exclusive store is refused, by connect and connect_lazy alike, and the
    // error names the lock file
    let lock = in_use(exclusive().connect().await);
    assert_eq!(lock, db.path().with_file_name("auth.db.lock"));
    assert!(lock.is_file());
    in_use(exclusive().connect_lazy());
    let url = format!("sqlite://{}", db.path().display());
    in_use(
        SqliteStore::builder()
            .url(&url)
            .exclusive(true)
            .connect()
            .await,
    );

    // the lock is advisory: a store that does not ask for it still opens the file
    let shared = db.store().await;
    assert!(
        shared
            .find_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // held by every clone; released with the last one
    let clone = first.clone();
    drop(first);
    in_use(exclusive().connect().await);
    drop(clone);
    // released at once, unless a process spawned at that moment (by another test) still
    // shares the descriptor between its fork and its exec: allow it a moment
    let deadline = Instant::now() + Duration::from_secs(2);
    let again = loop {
        match exclusive().connect().await {
            Err(StoreError::Unavailable(e))
                if e.is::<DatabaseInUse>() && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => break other.unwrap(),
        }
    };
    assert!(
        again
            .find_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn exclusive_needs_no_lock_in_memory_and_a_file_with_a_pool() {
    let memory = || {
        SqliteStore::builder()
            .url("sqlite::memory:")
            .exclusive(true)
            .connect()
    };
    let (a, b) = (memory().await.unwrap(), memory().await.unwrap());
    drop((a, b));

    let db = TempDb::new();
    let pool = db.store().await.pool().clone();
    match SqliteStore::builder()
        .pool(pool)
        .exclusive(true)
        .connect()
        .await
    {
        Err(StoreError::Backend(source)) => {
            assert!(source.to_string().contains("exclusive"), "{source}")
        }
        other => panic!("an exclusive store on a pool: {other:?}"),
    }
}

#[test]
fn the_lock_is_per_process_too() {
    // another process holding the lock file, as a second demo instance would: the lock
    // is the operating system's, so this process's exclusive store is refused
    let db = TempDb::new();
    let lock = db.path().with_file_name("auth.db.lock");
    // one process that takes the lock with flock(1) and then becomes `sleep`, keeping it
    let mut holder = std::process::Command::new("bash")
        .args(["-c", r#"exec 9>"$0" && flock 9 && exec sleep 30"#])
        .arg(&lock)
        .spawn();
    let Ok(holder) = holder.as_mut() else {
        println!("skipped: the_lock_is_per_process_too needs flock(1) from util-linux");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = runtime.block_on(async {
        loop {
            match SqliteStore::builder()
                .filename(db.path())
                .exclusive(true)
                .connect()
                .await
            {
                Err(StoreError::Unavailable(source)) if source.is::<DatabaseInUse>() => break true,
                // flock(1) may not hold the lock yet
                Ok(store) if Instant::now() < deadline => {
                    drop(store);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => break false,
            }
        }
    });
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        refused,
        "an exclusive store opened a file another process had claimed"
    );
    // the holder is gone: the claim succeeds
    runtime.block_on(async {
        SqliteStore::builder()
            .filename(db.path())
            .exclusive(true)
            .connect()
            .await
            .unwrap();
    });
}

/// One store's writes take turns in the process instead of polling SQLite's write lock:
/// with a busy timeout of 1 ms, which SQLite would give up after, 8 tasks writing at once
/// on 8 connections all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_stores_writers_take_turns() {
    let db = TempDb::new();
    // migrated, then closed: a pool dropped instead closes its connections in the
    // background, and the last one's WAL checkpoint could meet the 1 ms busy timeout below
    db.store().await.close().await;
    let store = Arc::new(
        SqliteStore::builder()
            .filename(db.path())
            .max_connections(8)
            .busy_timeout(Duration::from_millis(1))
            .query_timeout(Duration::from_secs(30))
            .connect()
            .await
            .unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for j in 0..25u8 {
                    let mut hash = [0u8; 32];
                    (hash[0], hash[1]) = (i, j);
                    let record = RefreshTokenRecord {
                        token_hash: TokenHash(hash),
                        family_id: format!("fam-{i}-{j}"),
                        user_id: format!("user-{i}"),
                        issued_at: now,
                        expires_at: now + authcore::time::Duration::hours(1),
                    };
                    store.insert(record.clone()).await?;
                    store.consume(&record.token_hash, now).await?;
                    store.revoke_family(&record.family_id).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}
