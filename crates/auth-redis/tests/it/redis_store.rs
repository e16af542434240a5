//! `RedisStore` on `REDIS_URL`, each test under a key prefix of its own.

use std::sync::Arc;
use std::time::Duration;

use authcore::testing::conformance;
use authcore::time::{self, OffsetDateTime};
use authcore::{RefreshTokenStore, RevocationStore};

use crate::{cleanup, keys, raw, redis_url, store, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_token_store() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    conformance::refresh_token_store(Arc::new(store(&url, &prefix).await)).await;
    cleanup(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_store() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    conformance::revocation_store(Arc::new(store(&url, &prefix).await)).await;
    cleanup(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_race_for_one_token() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    let a = Arc::new(store(&url, &prefix).await);
    let b = Arc::new(store(&url, &prefix).await);
    conformance::refresh_token_race(a, b).await;
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn nothing_is_lost_across_a_reconnect() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    let s = Arc::new(store(&url, &prefix).await);
    let written = conformance::persistence_write(None, s.clone(), s.clone()).await;
    drop(s);
    let s = Arc::new(store(&url, &prefix).await);
    conformance::persistence_check(&written, None, s.clone(), s).await;
    cleanup(&url, &prefix).await;
}

/// Every key the suite leaves behind expires, and a revocation expires exactly at the
/// token's `exp`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_key_expires_and_revocations_end_at_exp() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    let s = Arc::new(store(&url, &prefix).await);
    let written = conformance::persistence_write(None, s.clone(), s.clone()).await;
    conformance::refresh_token_race(s.clone(), s.clone()).await;
    let exp = OffsetDateTime::now_utc() + time::Duration::minutes(15);
    s.revoke("jti-exact", exp).await.unwrap();
    s.revoke_family("family-without-tokens").await.unwrap();
    let _ = written;

    let mut conn = raw(&url).await;
    let found = keys(&url, &prefix).await;
    assert!(found.len() > 5, "{found:?}");
    assert!(
        found.contains(&format!("{prefix}:rf:family-without-tokens")),
        "{found:?}"
    );
    for key in &found {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
    let at: i64 = redis::cmd("PEXPIRETIME")
        .arg(format!("{prefix}:rev:jti-exact"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let exp_ms = i64::try_from(exp.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap();
    assert!(
        at == exp_ms || at == exp_ms + 1,
        "expires at {at}, token exp {exp_ms}"
    );
    cleanup(&url, &prefix).await;
}

/// Redis itself ends a revocation at its instant (the only test that sleeps: ~1 s).
#[tokio::test]
async fn a_revocation_disappears_when_the_token_expires() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("authcore_t");
    let s = store(&url, &prefix).await;
    let exp = OffsetDateTime::now_utc() + time::Duration::milliseconds(700);
    s.revoke("jti-short", exp).await.unwrap();
    assert!(s.is_revoked(&["jti-short"]).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !s.is_revoked(&["jti-short"]).await.unwrap(),
        "expired with the token"
    );
    cleanup(&url, &prefix).await;
}

/// Two applications with different prefixes on one Redis do not see each other.
#[tokio::test]
async fn prefixes_isolate_applications() {
    let Some(url) = redis_url() else { return };
    let (p1, p2) = (unique("authcore_t"), unique("authcore_t"));
    let (a, b) = (store(&url, &p1).await, store(&url, &p2).await);
    let exp = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    a.revoke("jti-shared-name", exp).await.unwrap();
    assert!(a.is_revoked(&["jti-shared-name"]).await.unwrap());
    assert!(!b.is_revoked(&["jti-shared-name"]).await.unwrap());
    assert!(
        keys(&url, &p1)
            .await
            .iter()
            .all(|k| k.starts_with(&format!("{p1}:")))
    );
    assert!(keys(&url, &p2).await.is_empty());
    cleanup(&url, &p1).await;
}
