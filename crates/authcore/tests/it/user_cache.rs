//! `UserCache`: the user store suite through it, what it reads and when, and a model
//! check of arbitrary operation sequences against the store alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use authcore::store::memory::MemoryUserStore;
use authcore::store::{NewUser, UserCache};
use authcore::testing::{ManualClock, conformance};
use authcore::time::Duration;
use authcore::{PasswordHash, StoreError, User, UserStore, async_trait};
use proptest::prelude::*;
use tokio::sync::{Mutex, Notify};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_user_store_suite() {
    for cache in [
        UserCache::new(Arc::new(MemoryUserStore::new())),
        UserCache::new(Arc::new(MemoryUserStore::new())).slots(1),
        UserCache::new(Arc::new(MemoryUserStore::new())).ttl(Duration::seconds(5)),
    ] {
        conformance::user_store(Arc::new(cache)).await;
    }
}

/// A user store that counts its lookups by id, can fail them, and can hold a lookup
/// after it has read the user and before it answers.
#[derive(Default)]
struct Probe {
    inner: MemoryUserStore,
    reads: AtomicUsize,
    down: AtomicBool,
    /// A lookup waits for this lock after reading; the test holds it to pause one.
    answer: Mutex<()>,
    read_done: Notify,
}

#[async_trait]
impl UserStore for Probe {
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_by_email(email).await
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("probe is down"));
        }
        let found = self.inner.find_by_id(id).await;
        self.read_done.notify_one();
        drop(self.answer.lock().await);
        found
    }

    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create(user).await
    }

    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        self.inner.update_password_hash(id, hash).await
    }

    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        self.inner.set_roles(id, roles).await
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        self.inner.set_disabled(id, disabled).await
    }
}

impl Probe {
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn new_user(email: &str) -> NewUser {
    NewUser::new(
        email,
        PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
        vec!["user".to_owned()],
    )
}

fn probed() -> (Arc<Probe>, UserCache) {
    let probe = Arc::new(Probe::default());
    let cache = UserCache::new(probe.clone());
    (probe, cache)
}

#[tokio::test]
async fn a_user_is_read_once_then_answered_from_memory() {
    let (probe, cache) = probed();
    let ada = cache.create(new_user("ada@example.com")).await.unwrap();
    for _ in 0..3 {
        assert_eq!(cache.find_by_id(&ada.id).await.unwrap(), Some(ada.clone()));
    }
    assert_eq!(probe.reads(), 1);
    // lookups by email always go to the store (logins read the hash fresh)
    assert_eq!(
        cache.find_by_email("ADA@example.com").await.unwrap(),
        Some(ada)
    );
}

#[tokio::test]
async fn writes_through_the_cache_are_seen_at_once() {
    let (probe, cache) = probed();
    let ada = cache.create(new_user("ada@example.com")).await.unwrap();
    cache.find_by_id(&ada.id).await.unwrap();

    cache
        .set_roles(&ada.id, &["admin".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        cache.find_by_id(&ada.id).await.unwrap().unwrap().roles,
        ["admin"]
    );

    cache.set_disabled(&ada.id, true).await.unwrap();
    assert!(cache.find_by_id(&ada.id).await.unwrap().unwrap().disabled);

    let rehashed = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA");
    cache
        .update_password_hash(&ada.id, &rehashed)
        .await
        .unwrap();
    let found = cache.find_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(found.password_hash, rehashed);
    // one read at first, then one after each write, and none more
    assert_eq!(probe.reads(), 4);
    cache.find_by_id(&ada.id).await.unwrap();
    assert_eq!(probe.reads(), 4);

    // a failed write still evicts: it may have been applied
    assert!(matches!(
        cache.set_roles("nobody", &[]).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn writes_behind_the_cache_are_seen_after_the_ttl() {
    let probe = Arc::new(Probe::default());
    let clock = Arc::new(ManualClock::now_utc());
    let cache = UserCache::new(probe.clone())
        .ttl(Duration::seconds(5))
        .clock(clock.clone());
    let ada = cache.create(new_user("ada@example.com")).await.unwrap();
    cache.find_by_id(&ada.id).await.unwrap();

    // another process's write, straight to the store
    probe
        .inner
        .set_roles(&ada.id, &["admin".to_owned()])
        .await
        .unwrap();
    clock.advance(Duration::seconds(4));
    assert_eq!(
        cache.find_by_id(&ada.id).await.unwrap().unwrap().roles,
        ["user"]
    );
    clock.advance(Duration::seconds(1));
    assert_eq!(
        cache.find_by_id(&ada.id).await.unwrap().unwrap().roles,
        ["admin"]
    );
    assert_eq!(probe.reads(), 2);

    // without a time to live, only writes through the cache evict
    let (probe, cache) = probed();
    let bob = cache.create(new_user("bob@example.com")).await.unwrap();
    cache.find_by_id(&bob.id).await.unwrap();
    probe.inner.set_disabled(&bob.id, true).await.unwrap();
    assert!(!cache.find_by_id(&bob.id).await.unwrap().unwrap().disabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_began_before_a_write_is_not_kept() {
    let (probe, cache) = probed();
    let cache = Arc::new(cache);
    let ada = cache.create(new_user("ada@example.com")).await.unwrap();

    // a lookup reads the old roles and is held before it answers
    let held = probe.answer.lock().await;
    let reader = tokio::spawn({
        let (cache, id) = (cache.clone(), ada.id.clone());
        async move { cache.find_by_id(&id).await.unwrap().unwrap() }
    });
    probe.read_done.notified().await;
    // meanwhile the roles change through the cache
    cache
        .set_roles(&ada.id, &["admin".to_owned()])
        .await
        .unwrap();
    drop(held);
    assert_eq!(
        reader.await.unwrap().roles,
        ["user"],
        "it answers what it read"
    );

    // but what it read was not cached over the newer write
    assert_eq!(
        cache.find_by_id(&ada.id).await.unwrap().unwrap().roles,
        ["admin"]
    );
}

#[tokio::test]
async fn unknown_ids_and_failures_are_not_cached() {
    let (probe, cache) = probed();
    assert_eq!(cache.find_by_id("nobody").await.unwrap(), None);
    assert_eq!(cache.find_by_id("nobody").await.unwrap(), None);
    assert_eq!(probe.reads(), 2);

    let ada = cache.create(new_user("ada@example.com")).await.unwrap();
    probe.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        cache.find_by_id(&ada.id).await,
        Err(StoreError::Unavailable(_))
    ));
    probe.down.store(false, Ordering::SeqCst);
    assert_eq!(cache.find_by_id(&ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(cache.find_by_id(&ada.id).await.unwrap(), Some(ada));
    assert_eq!(probe.reads(), 4);
}

#[tokio::test]
async fn users_sharing_a_slot_replace_each_other() {
    let probe = Arc::new(Probe::default());
    let cache = UserCache::new(probe.clone()).slots(1);
    let ada = cache.create(new_user("ada@example.com")).await.unwrap();
    let bob = cache.create(new_user("bob@example.com")).await.unwrap();
    for _ in 0..2 {
        assert_eq!(cache.find_by_id(&ada.id).await.unwrap(), Some(ada.clone()));
        assert_eq!(cache.find_by_id(&bob.id).await.unwrap(), Some(bob.clone()));
    }
    assert_eq!(probe.reads(), 4);
    // a write to ada evicts ada only: bob, who holds the one slot now, stays
    cache.set_roles(&ada.id, &[]).await.unwrap();
    assert_eq!(cache.find_by_id(&bob.id).await.unwrap(), Some(bob));
    assert_eq!(probe.reads(), 4);
}

#[test]
fn debug_shows_no_user() {
    let (_, cache) = probed();
    let debug = format!("{cache:?}");
    assert!(
        debug.starts_with("UserCache") && debug.contains("slots: 4096"),
        "{debug}"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Find(usize),
    Roles(usize, Vec<String>),
    Disable(usize, bool),
    Rehash(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..4usize;
    prop_oneof![
        3 => user.clone().prop_map(Op::Find),
        1 => (user.clone(), proptest::collection::vec("[a-c]", 0..3)).prop_map(|(u, r)| Op::Roles(u, r)),
        1 => (user.clone(), any::<bool>()).prop_map(|(u, d)| Op::Disable(u, d)),
        1 => (user, any::<u8>()).prop_map(|(u, n)| Op::Rehash(u, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the operations, every lookup through the cache answers what the store
    /// holds: with two slots for four users, hits, misses and evictions all happen.
    #[test]
    fn lookups_match_the_store(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store = Arc::new(MemoryUserStore::new());
            let cache = UserCache::new(store.clone()).slots(2);
            let mut ids = Vec::new();
            for i in 0..4 {
                ids.push(cache.create(new_user(&format!("u{i}@example.com"))).await.unwrap().id);
            }
            for op in ops {
                match op {
                    Op::Find(u) => {
                        let cached = cache.find_by_id(&ids[u]).await.unwrap();
                        prop_assert_eq!(cached, store.find_by_id(&ids[u]).await.unwrap());
                    }
                    Op::Roles(u, roles) => cache.set_roles(&ids[u], &roles).await.unwrap(),
                    Op::Disable(u, d) => cache.set_disabled(&ids[u], d).await.unwrap(),
                    Op::Rehash(u, n) => cache
                        .update_password_hash(&ids[u], &PasswordHash::new(format!("$argon2id${n}")))
                        .await
                        .unwrap(),
                }
            }
            Ok(())
        })?;
    }
}
