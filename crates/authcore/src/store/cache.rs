//! A bounded in-process cache of users by id, in front of any user store.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::clock::{Clock, SystemClock};
use crate::error::StoreError;
use crate::password::PasswordHash;
use crate::slots::Slots;
use crate::store::{NewUser, User, UserStore};

/// The slot count of a new [`UserCache`].
pub const DEFAULT_USER_CACHE_SLOTS: usize = 4096;

/// A [`UserStore`] that answers [`find_by_id`](UserStore::find_by_id) from memory,
/// reading the store only for users it does not hold.
///
/// [`Authenticator::current_user`](crate::Authenticator::current_user) (behind a `/me`
/// route) and every refresh look a user up by id. Against a database that is a round trip
/// per request; from the cache it is a hash lookup. Everything else goes to the store:
/// lookups by email (logins read the password hash fresh), registrations, and writes.
///
/// - **Writes through the cache are seen at once.** Changing a user's password hash,
///   roles or disabled flag through it evicts the user, and a lookup that read the store
///   before such a write never stores what it read.
/// - **Writes by other processes are seen after the time to live**, when one is set
///   ([`UserCache::ttl`]). Without one, a user stays cached until written through this
///   cache or evicted: use that only when this process is the store's only writer, e.g.
///   the embedded SQLite database of a single instance, as with
///   [`RevocationMirror`](crate::store::RevocationMirror).
/// - **Memory is bounded**: a direct-mapped table of [`DEFAULT_USER_CACHE_SLOTS`] slots
///   (see [`UserCache::slots`]), chosen by a keyed hash of the id, each holding one user.
///   A user read into an occupied slot replaces the one there.
/// - Unknown ids and store errors are never cached.
///
/// ```
/// use std::sync::Arc;
/// use authcore::store::UserCache;
/// use authcore::store::memory::MemoryUserStore;
/// use authcore::{PasswordHash, UserStore, time::Duration};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), authcore::StoreError> {
/// let store = Arc::new(MemoryUserStore::new()); // e.g. an auth_sqlx::PostgresStore
/// let users = UserCache::new(store.clone()).ttl(Duration::seconds(5));
///
/// let ada = users
///     .create(authcore::store::NewUser::new(
///         "ada@example.com",
///         PasswordHash::new("$argon2id$…"),
///         vec![],
///     ))
///     .await?;
/// assert_eq!(users.find_by_id(&ada.id).await?, Some(ada.clone())); // read, then cached
///
/// users.set_roles(&ada.id, &["admin".to_owned()]).await?; // written through, evicted
/// assert_eq!(users.find_by_id(&ada.id).await?.unwrap().roles, ["admin"]);
/// # Ok(())
/// # }
/// ```
pub struct UserCache {
    store: Arc<dyn UserStore>,
    slots: Slots<Slot>,
    keys: std::collections::hash_map::RandomState,
    ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Slot {
    /// Advanced by every write through the cache to a user of this slot, so that a read of
    /// the store that began before the write is not stored after it.
    writes: u64,
    entry: Option<Box<Entry>>,
}

struct Entry {
    user: User,
    /// `None` without a time to live: the clock is then never read.
    fresh_until: Option<OffsetDateTime>,
}

impl fmt::Debug for UserCache {
    // never the users (emails)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCache")
            .field("slots", &self.slots.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl UserCache {
    /// A cache of [`DEFAULT_USER_CACHE_SLOTS`] slots in front of `store`, without a time
    /// to live.
    pub fn new(store: Arc<dyn UserStore>) -> UserCache {
        UserCache {
            store,
            slots: Slots::new(DEFAULT_USER_CACHE_SLOTS),
            keys: std::collections::hash_map::RandomState::new(),
            ttl: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The number of slots (rounded up to a power of two): at most this many users are
    /// held at once.
    #[must_use]
    pub fn slots(mut self, slots: usize) -> UserCache {
        self.slots = Slots::new(slots);
        self
    }

    /// How long a user read from the store may be answered from memory. Set it when
    /// other processes write the store: their writes are seen after at most this long.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> UserCache {
        self.ttl = Some(ttl);
        self
    }

    /// The time source for the time to live (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> UserCache {
        self.clock = clock;
        self
    }

    fn hash(&self, id: &str) -> u64 {
        self.keys.hash_one(id)
    }

    /// Runs a write for user `id` on the store, then evicts the user and fences off reads
    /// that began before it, whether or not the write succeeded (a failed write may still
    /// have been applied).
    async fn written<T>(
        &self,
        id: &str,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = write.await;
        let mut slot = self.slots.lock(self.hash(id));
        slot.writes = slot.writes.wrapping_add(1);
        if slot.entry.as_ref().is_some_and(|e| e.user.id == id) {
            slot.entry = None;
        }
        result
    }
}

#[async_trait]
impl UserStore for UserCache {
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.store.find_by_email(email).await
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let hash = self.hash(id);
        let writes = {
            let slot = self.slots.lock(hash);
            if let Some(entry) = &slot.entry
                && entry.user.id == id
                && entry.fresh_until.is_none_or(|end| self.clock.now() < end)
            {
                return Ok(Some(entry.user.clone()));
            }
            slot.writes
        };
        // counted from before the read, so that no entry outlives its time to live
        let fresh_until = self.ttl.map(|ttl| self.clock.now().saturating_add(ttl));
        let found = self.store.find_by_id(id).await?;
        if let Some(user) = &found {
            let mut slot = self.slots.lock(hash);
            // a write to a user of this slot since the read began: what was read may be
            // older than it, so it is not kept
            if slot.writes == writes {
                slot.entry = Some(Box::new(Entry {
                    user: user.clone(),
                    fresh_until,
                }));
            }
        }
        Ok(found)
    }

    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.store.create(user).await
    }

    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        self.written(id, self.store.update_password_hash(id, hash))
            .await
    }

    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        self.written(id, self.store.set_roles(id, roles)).await
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        self.written(id, self.store.set_disabled(id, disabled))
            .await
    }
}
