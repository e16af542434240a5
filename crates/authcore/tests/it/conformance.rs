//! The store conformance suite against the in-memory stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use authcore::store::RevocationMirror;
use authcore::store::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemoryUserStore};
use authcore::testing::conformance;
use authcore::time::{Duration, OffsetDateTime};
use authcore::{RevocationStore, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_user_store() {
    conformance::user_store(Arc::new(MemoryUserStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_refresh_token_store() {
    conformance::refresh_token_store(Arc::new(MemoryRefreshTokenStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_refresh_token_race() {
    let store = Arc::new(MemoryRefreshTokenStore::new());
    conformance::refresh_token_race(store.clone(), store).await;
}

#[tokio::test]
async fn memory_revocation_store() {
    conformance::revocation_store(Arc::new(MemoryRevocationStore::new())).await;
}

#[tokio::test]
async fn memory_revocation_listing() {
    conformance::revocation_listing(Arc::new(MemoryRevocationStore::new())).await;
}

async fn mirror_of(store: Arc<dyn RevocationStore>) -> Arc<RevocationMirror> {
    Arc::new(
        RevocationMirror::load(store, OffsetDateTime::now_utc())
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn mirror_passes_the_revocation_suite() {
    conformance::revocation_store(mirror_of(Arc::new(MemoryRevocationStore::new())).await).await;
    conformance::revocation_listing(mirror_of(Arc::new(MemoryRevocationStore::new())).await).await;
}

/// A revocation store whose reads and writes can be made to fail, counting reads.
#[derive(Default)]
struct Flaky {
    inner: MemoryRevocationStore,
    down: AtomicBool,
    reads: AtomicUsize,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::unavailable("down"))
        } else {
            Ok(())
        }
    }
}

#[authcore::async_trait]
impl RevocationStore for Flaky {
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.check()?;
        self.inner.revoke(id, expires_at).await
    }
    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.is_revoked(ids).await
    }
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.purge_expired(now).await
    }
    async fn active(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        self.check()?;
        self.inner.active(now).await
    }
}

#[tokio::test]
async fn mirror_loads_writes_through_and_reads_only_memory() {
    let now = OffsetDateTime::now_utc();
    let later = now + Duration::minutes(15);
    let store = Arc::new(Flaky::default());
    store.revoke("before", later).await.unwrap();
    store
        .revoke("expired", now - Duration::seconds(1))
        .await
        .unwrap();
    let mirror = mirror_of(store.clone()).await;
    assert!(mirror.is_revoked(&["before"]).await.unwrap(), "loaded");
    assert!(
        !mirror.is_revoked(&["expired"]).await.unwrap(),
        "expired revocations are not loaded"
    );

    mirror.revoke("after", later).await.unwrap();
    assert!(
        store.is_revoked(&["after"]).await.unwrap(),
        "written through"
    );
    let reads = store.reads.load(Ordering::SeqCst);
    store.down.store(true, Ordering::SeqCst);
    assert!(mirror.is_revoked(&["x", "after"]).await.unwrap());
    assert!(!mirror.is_revoked(&["x"]).await.unwrap());
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        reads,
        "reads never reach the store"
    );

    // a failed write still revokes in this process, and says it failed
    assert!(matches!(
        mirror.revoke("during-outage", later).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(mirror.is_revoked(&["during-outage"]).await.unwrap());

    // a reload (a restart) sees what the store kept
    store.down.store(false, Ordering::SeqCst);
    let restarted = mirror_of(store.clone()).await;
    assert!(restarted.is_revoked(&["before", "x"]).await.unwrap());
    assert!(restarted.is_revoked(&["after"]).await.unwrap());
    assert!(!restarted.is_revoked(&["during-outage"]).await.unwrap());

    // purging purges both
    assert_eq!(
        mirror
            .purge_expired(later + Duration::seconds(1))
            .await
            .unwrap(),
        3,
        "the store's count: before, after and expired"
    );
    assert!(
        !mirror
            .is_revoked(&["during-outage", "after"])
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_store_that_cannot_list_cannot_be_mirrored() {
    struct Unlisted;
    #[authcore::async_trait]
    impl RevocationStore for Unlisted {
        async fn revoke(&self, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
            Ok(())
        }
        async fn is_revoked(&self, _: &[&str]) -> Result<bool, StoreError> {
            Ok(false)
        }
        async fn purge_expired(&self, _: OffsetDateTime) -> Result<u64, StoreError> {
            Ok(0)
        }
    }
    let err = RevocationMirror::load(Arc::new(Unlisted), OffsetDateTime::now_utc())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let store = Arc::new(Flaky::default());
    store.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        RevocationMirror::load(store, OffsetDateTime::now_utc()).await,
        Err(StoreError::Unavailable(_))
    ));
}
