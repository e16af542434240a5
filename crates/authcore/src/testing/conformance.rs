//! One conformance suite for every store implementation: the in-memory stores, and the
//! SQL and Redis stores of `auth-sqlx` and `auth-redis`.
//!
//! Each function drives a store through the contract written on its trait and panics with
//! a message naming the rule that was broken. Time comes from arguments (`now`), never
//! from sleeping; expiry instants are set a little in the future of the wall clock, so
//! stores that also expire entries by themselves (Redis key TTLs) keep them for the whole
//! run.
//!
//! Give each function a store that nothing else writes to while it runs: the suite checks
//! exactly how many entries [`RefreshTokenStore::purge_expired`] and
//! [`RevocationStore::purge_expired`] remove.
//!
//! ```
//! use std::sync::Arc;
//! use authcore::store::memory::MemoryRevocationStore;
//! use authcore::testing::conformance;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! conformance::revocation_store(Arc::new(MemoryRevocationStore::new())).await;
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::crypto::random_bytes;
use crate::error::StoreError;
use crate::password::PasswordHash;
use crate::store::{
    Consumed, NewUser, RefreshTokenRecord, RefreshTokenStore, RevocationStore, TokenHash, User,
    UserStore,
};

/// How many tasks race for one token or one email.
const RACERS: usize = 16;

/// A syntactically valid argon2id PHC string; stores treat it as opaque text.
const HASH_A: &str =
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE";
const HASH_B: &str =
    "$argon2id$v=19$m=64,t=1,p=1$cGVwcGVycGVwcGVy$YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI";

fn ok<T>(what: &str, result: Result<T, StoreError>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected store error: {e} ({e:?})"))
}

fn bytes<const N: usize>() -> [u8; N] {
    random_bytes::<N>().unwrap_or_else(|e| panic!("random generator: {e}"))
}

/// A fresh identifier with a readable tag, unique across runs.
fn unique(tag: &str) -> String {
    format!("{tag}-{}", TokenHash(bytes::<32>()).to_hex().split_at(16).0)
}

fn random_hash() -> TokenHash {
    TokenHash(bytes::<32>())
}

/// The wall clock in whole seconds: every store keeps at least second precision.
fn now_secs() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn record(
    family: &str,
    user: &str,
    issued_at: OffsetDateTime,
    ttl: Duration,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: random_hash(),
        family_id: family.to_owned(),
        user_id: user.to_owned(),
        issued_at,
        expires_at: issued_at + ttl,
    }
}

fn show(c: &Consumed) -> &'static str {
    match c {
        Consumed::Rotated(_) => "Rotated",
        Consumed::Reused(_) => "Reused",
        Consumed::Invalid => "Invalid",
    }
}

async fn consume(
    store: &dyn RefreshTokenStore,
    record: &RefreshTokenRecord,
    now: OffsetDateTime,
) -> Consumed {
    ok("consume", store.consume(&record.token_hash, now).await)
}

async fn expect_rotated(
    store: &dyn RefreshTokenStore,
    r: &RefreshTokenRecord,
    now: OffsetDateTime,
    rule: &str,
) {
    match consume(store, r, now).await {
        Consumed::Rotated(got) => {
            assert_eq!(&got, r, "{rule}: Rotated must return the stored record")
        }
        other => panic!("{rule}: expected Rotated, got {}", show(&other)),
    }
}

async fn expect_reused(
    store: &dyn RefreshTokenStore,
    r: &RefreshTokenRecord,
    now: OffsetDateTime,
    rule: &str,
) {
    match consume(store, r, now).await {
        Consumed::Reused(got) => {
            assert_eq!(&got, r, "{rule}: Reused must return the stored record")
        }
        other => panic!("{rule}: expected Reused, got {}", show(&other)),
    }
}

async fn expect_invalid(
    store: &dyn RefreshTokenStore,
    r: &RefreshTokenRecord,
    now: OffsetDateTime,
    rule: &str,
) {
    let got = consume(store, r, now).await;
    assert!(
        matches!(got, Consumed::Invalid),
        "{rule}: expected Invalid, got {}",
        show(&got)
    );
}

async fn insert(store: &dyn RefreshTokenStore, r: &RefreshTokenRecord) {
    ok("insert", store.insert(r.clone()).await);
}

async fn find_email(store: &dyn UserStore, email: &str) -> Option<User> {
    ok("find_by_email", store.find_by_email(email).await)
}

async fn find_id(store: &dyn UserStore, id: &str) -> Option<User> {
    ok("find_by_id", store.find_by_id(id).await)
}

async fn revoked(store: &dyn RevocationStore, ids: &[&str]) -> bool {
    ok("is_revoked", store.is_revoked(ids).await)
}

mod outages;
mod persistence;
mod refresh_tokens;
mod revocations;
mod users;

pub use outages::{
    refresh_token_store_unavailable, revocation_store_unavailable, user_store_unavailable,
};
pub use persistence::{Persisted, persistence_check, persistence_write};
pub use refresh_tokens::{refresh_token_race, refresh_token_store};
pub use revocations::{revocation_listing, revocation_store};
pub use users::{user_create_race, user_store};
