//! An in-process mirror of a revocation store, for a process that is the store's only
//! writer.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::store::RevocationStore;
use crate::store::memory::MemoryRevocationStore;

/// A [`RevocationStore`] that answers [`is_revoked`](RevocationStore::is_revoked) from
/// memory and writes every revocation through to a durable store.
///
/// Checking revocation is the one store read on every authenticated request. With an
/// embedded database that read costs more than verifying the token; the mirror makes it
/// a hash lookup. [`RevocationMirror::load`] reads every revocation still in force, and
/// each [`revoke`](RevocationStore::revoke) enters the id in memory *before* writing it
/// to the store, so a revocation takes effect in this process at once, even when the
/// write fails (the caller then sees the error: the revocation may not survive a
/// restart). Revocations still survive a restart: the store keeps them and the next
/// `load` reads them back.
///
/// **Use it only when this process is the store's only writer**, e.g. the embedded SQLite
/// database of a single instance (auth-sqlx's `SqliteStoreBuilder::exclusive` makes a
/// second process on the same file fail to start). Revocations written by another
/// process are not seen until a restart; instances that share PostgreSQL or Redis must
/// read the shared store itself, which the [`Authenticator`](crate::Authenticator) does
/// when it is given the store directly.
///
/// ```
/// use std::sync::Arc;
/// use authcore::store::RevocationMirror;
/// use authcore::store::memory::MemoryRevocationStore;
/// use authcore::{RevocationStore, time::OffsetDateTime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), authcore::StoreError> {
/// let durable = Arc::new(MemoryRevocationStore::new()); // e.g. an auth_sqlx::SqliteStore
/// let until = OffsetDateTime::now_utc() + authcore::time::Duration::minutes(15);
/// durable.revoke("revoked-before-start", until).await?;
///
/// let mirror = RevocationMirror::load(durable.clone(), OffsetDateTime::now_utc()).await?;
/// assert!(mirror.is_revoked(&["revoked-before-start"]).await?);
/// mirror.revoke("jti-1", until).await?;
/// assert!(durable.is_revoked(&["jti-1"]).await?); // written through
/// # Ok(())
/// # }
/// ```
pub struct RevocationMirror {
    store: Arc<dyn RevocationStore>,
    local: MemoryRevocationStore,
}

impl fmt::Debug for RevocationMirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationMirror").finish_non_exhaustive()
    }
}

impl RevocationMirror {
    /// Loads every revocation of `store` still in force at `now`
    /// ([`RevocationStore::active`]).
    ///
    /// # Errors
    /// What `store.active` returns, e.g. [`StoreError::Unavailable`].
    pub async fn load(
        store: Arc<dyn RevocationStore>,
        now: OffsetDateTime,
    ) -> Result<RevocationMirror, StoreError> {
        let local = MemoryRevocationStore::new();
        for (id, until) in store.active(now).await? {
            local.insert(&id, until)?;
        }
        Ok(RevocationMirror { store, local })
    }
}

#[async_trait]
impl RevocationStore for RevocationMirror {
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.local.insert(id, expires_at)?;
        self.store.revoke(id, expires_at).await
    }

    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        self.local.contains_any(ids)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.local.purge(now)?;
        self.store.purge_expired(now).await
    }

    async fn active(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        self.local.live(now)
    }
}
