//! The store conformance suite against the in-memory stores.

use std::sync::Arc;

use authcore::store::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemoryUserStore};
use authcore::testing::conformance;

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
