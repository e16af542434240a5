//! `SqliteStoreBuilder::connect_single_instance`: the claimed file, the cached users and
//! the mirrored revocations, as one arrangement.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_sqlx::{DatabaseInUse, SingleInstance, SingleInstanceError, SqliteStore};
use authcore::testing::fast_hasher;
use authcore::time::OffsetDateTime;
use authcore::{Algorithm, AuthError, Authenticator, Jwt, KeySet, SigningKey, StoreError};

use crate::TIMEOUT;
use crate::sqlite::TempDb;

async fn single_instance(path: &Path) -> Result<SingleInstance, SingleInstanceError> {
    SqliteStore::builder()
        .filename(path)
        .query_timeout(TIMEOUT)
        .connect_single_instance()
        .await
}

/// A single instance on `path`, once another one's claim is gone: allows a process
/// spawned by another test, which may share the lock's descriptor between its fork and
/// its exec, a moment.
async fn single_instance_after_release(path: &Path) -> SingleInstance {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match single_instance(path).await {
            Err(e) if e.is_in_use() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => return other.unwrap(),
        }
    }
}

/// An authenticator on `single`'s stores; every one signs with the same key, so tokens
/// outlive a restart.
fn authenticator(single: SingleInstance) -> Authenticator {
    let key = SigningKey::hmac(Algorithm::HS256, b"a single instance's 32-byte secret").unwrap();
    let jwt = Jwt::builder()
        .keys(KeySet::new(key))
        .issuer("single")
        .audience("single")
        .build()
        .unwrap();
    single
        .stores(Authenticator::builder())
        .jwt(Arc::new(jwt))
        .password_hasher(fast_hasher())
        .build()
        .unwrap()
}

fn in_use(err: &SingleInstanceError) -> &DatabaseInUse {
    match err {
        SingleInstanceError::Open(StoreError::Unavailable(source)) => source
            .downcast_ref::<DatabaseInUse>()
            .unwrap_or_else(|| panic!("Unavailable, but not DatabaseInUse: {source}")),
        other => panic!("expected DatabaseInUse, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_instance_round_trip_survives_a_restart() {
    let db = TempDb::new();
    let auth = authenticator(single_instance(&db.path()).await.unwrap());

    let ada = auth
        .register("ada@example.com", "correct horse battery staple")
        .await
        .unwrap();
    let pair = auth
        .login("ada@example.com", "correct horse battery staple")
        .await
        .unwrap();
    let claims = auth.authenticate_token(&pair.access_token).await.unwrap();
    assert_eq!(claims.sub, ada.id);
    assert_eq!(auth.current_user(&claims).await.unwrap().id, ada.id);
    auth.logout(&claims).await.unwrap();
    assert!(matches!(
        auth.authenticate_token(&pair.access_token).await,
        Err(AuthError::Revoked)
    ));
    // written through: the database holds the revocation
    let direct = db.store().await;
    let active = authcore::RevocationStore::active(&direct, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert!(active.iter().any(|(id, _)| *id == claims.jti), "{active:?}");
    direct.close().await;
    drop(direct);

    // the next instance, once this one is gone, loads it back
    drop(auth);
    let auth = authenticator(single_instance_after_release(&db.path()).await);
    assert!(matches!(
        auth.authenticate_token(&pair.access_token).await,
        Err(AuthError::Revoked)
    ));
    let again = auth
        .login("ADA@example.com", "correct horse battery staple")
        .await
        .unwrap();
    assert_eq!(
        auth.authenticate_token(&again.access_token)
            .await
            .unwrap()
            .sub,
        ada.id
    );
}

#[tokio::test]
async fn a_second_single_instance_is_refused_until_the_first_is_dropped() {
    let db = TempDb::new();
    let first = single_instance(&db.path()).await.unwrap();

    let err = single_instance(&db.path()).await.unwrap_err();
    assert!(err.is_in_use());
    assert_eq!(
        in_use(&err).lock_file(),
        db.path().with_file_name("auth.db.lock")
    );
    // so is an exclusive store, however it was asked for
    let exclusive = SqliteStore::builder()
        .filename(db.path())
        .exclusive(true)
        .connect()
        .await;
    assert!(matches!(exclusive, Err(StoreError::Unavailable(e)) if e.is::<DatabaseInUse>()));

    // every one of the three stores holds the claim
    let SingleInstance {
        users,
        refresh_tokens,
        revocations,
        ..
    } = first;
    drop(users);
    drop(refresh_tokens);
    in_use(&single_instance(&db.path()).await.unwrap_err());
    drop(revocations);
    let second = single_instance_after_release(&db.path()).await;
    in_use(&single_instance(&db.path()).await.unwrap_err());
    drop(second);
    single_instance_after_release(&db.path()).await;
}

#[tokio::test]
async fn a_single_instance_needs_a_file_or_memory_not_a_pool() {
    // an in-memory database belongs to its process: no lock, and it works
    let memory = SqliteStore::builder()
        .url("sqlite::memory:")
        .connect_single_instance()
        .await
        .unwrap();
    assert!(
        memory
            .users
            .find_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // a pool cannot be claimed
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    let err = SqliteStore::builder()
        .pool(pool)
        .connect_single_instance()
        .await
        .unwrap_err();
    assert!(
        matches!(err, SingleInstanceError::Open(StoreError::Backend(_))),
        "{err:?}"
    );
    assert!(!err.is_in_use());
}
