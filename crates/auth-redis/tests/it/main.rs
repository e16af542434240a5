//! Integration tests of auth-redis: the authcore conformance suite against `REDIS_URL`
//! (a fresh key prefix per test), plus concurrency, restart, expiry and fault tests, the
//! latter against a `redis-server` each test starts itself. One test binary, to save link
//! time.
#![allow(clippy::unwrap_used)] // helpers of a test binary: a failed unwrap is a failed test

mod faults;
mod redis_store;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_redis::RedisStore;

/// The response timeout of the stores under test.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(1);
/// How long a call may take to report an unavailable store: the timeout plus slack for a
/// loaded two-core machine.
pub(crate) const WITHIN: Duration = Duration::from_millis(2500);

/// A name unique across processes and runs.
pub(crate) fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{tag}_{:016x}", h.finish())
}

/// `REDIS_URL`, or `None` after printing why the test is skipped.
pub(crate) fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            println!("skipped: REDIS_URL not set");
            None
        }
    }
}

/// A store on `url` under `prefix`.
pub(crate) async fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder()
        .url(url)
        .prefix(prefix)
        .response_timeout(TIMEOUT)
        .connection_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap()
}

/// A plain connection for inspecting keys.
pub(crate) async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Every key under `prefix`.
pub(crate) async fn keys(url: &str, prefix: &str) -> Vec<String> {
    let mut conn = raw(url).await;
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// Deletes every key under `prefix` (best effort; they expire anyway).
pub(crate) async fn cleanup(url: &str, prefix: &str) {
    let keys = keys(url, prefix).await;
    if !keys.is_empty() {
        let mut conn = raw(url).await;
        let _: Result<u64, _> = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await;
    }
}
