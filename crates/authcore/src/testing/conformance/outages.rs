//! A store whose backend is down or hanging answers every call with
//! [`StoreError::Unavailable`] in time.

use super::*;

fn expect_unavailable<T>(
    what: &str,
    started: Instant,
    within: std::time::Duration,
    r: Result<T, StoreError>,
) {
    let took = started.elapsed();
    match r {
        Err(e) if e.is_unavailable() => {}
        Err(e) => panic!("{what}: expected StoreError::Unavailable, got {e} ({e:?})"),
        Ok(_) => panic!("{what}: expected StoreError::Unavailable, got Ok"),
    }
    assert!(
        took <= within,
        "{what}: took {took:?}, more than {within:?}"
    );
}

/// Calls every [`UserStore`] method of a store whose backend is down or hanging: each
/// must return [`StoreError::Unavailable`] within `within`.
///
/// # Panics
/// On any other result, or a late one.
pub async fn user_store_unavailable(store: Arc<dyn UserStore>, within: std::time::Duration) {
    let s = &*store;
    let hash = PasswordHash::new(HASH_A);
    let t = Instant::now();
    expect_unavailable(
        "find_by_email",
        t,
        within,
        s.find_by_email("a@example.com").await,
    );
    let t = Instant::now();
    expect_unavailable("find_by_id", t, within, s.find_by_id("id").await);
    let t = Instant::now();
    let new = NewUser {
        email: "a@example.com".to_owned(),
        password_hash: hash.clone(),
        roles: vec![],
    };
    expect_unavailable("create", t, within, s.create(new).await);
    let t = Instant::now();
    expect_unavailable(
        "update_password_hash",
        t,
        within,
        s.update_password_hash("id", &hash).await,
    );
    let t = Instant::now();
    expect_unavailable("set_roles", t, within, s.set_roles("id", &[]).await);
    let t = Instant::now();
    expect_unavailable("set_disabled", t, within, s.set_disabled("id", true).await);
}

/// Calls every [`RefreshTokenStore`] method of a store whose backend is down or hanging:
/// each must return [`StoreError::Unavailable`] within `within`.
///
/// # Panics
/// On any other result, or a late one.
pub async fn refresh_token_store_unavailable(
    store: Arc<dyn RefreshTokenStore>,
    within: std::time::Duration,
) {
    let s = &*store;
    let now = now_secs();
    let r = record("fam", "user", now, Duration::hours(1));
    let t = Instant::now();
    expect_unavailable("insert", t, within, s.insert(r.clone()).await);
    let t = Instant::now();
    expect_unavailable("consume", t, within, s.consume(&r.token_hash, now).await);
    let t = Instant::now();
    expect_unavailable("revoke_family", t, within, s.revoke_family("fam").await);
    let t = Instant::now();
    expect_unavailable("revoke_user", t, within, s.revoke_user("user").await);
    let t = Instant::now();
    expect_unavailable("purge_expired", t, within, s.purge_expired(now).await);
}

/// Calls every [`RevocationStore`] method of a store whose backend is down or hanging:
/// each must return [`StoreError::Unavailable`] within `within`.
///
/// # Panics
/// On any other result, or a late one.
pub async fn revocation_store_unavailable(
    store: Arc<dyn RevocationStore>,
    within: std::time::Duration,
) {
    let s = &*store;
    let now = now_secs();
    let t = Instant::now();
    expect_unavailable(
        "revoke",
        t,
        within,
        s.revoke("jti", now + Duration::hours(1)).await,
    );
    let t = Instant::now();
    expect_unavailable("is_revoked", t, within, s.is_revoked(&["jti", "sid"]).await);
    let t = Instant::now();
    expect_unavailable("purge_expired", t, within, s.purge_expired(now).await);
}
