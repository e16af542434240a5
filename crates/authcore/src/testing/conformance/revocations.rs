//! The [`RevocationStore`] contract: revocations, their expiry and purging, and the
//! listing of live ones.

use super::*;

/// Checks a [`RevocationStore`]: `is_revoked` over several ids in one call, a later
/// revocation of an id extends it but an earlier one never shortens it, and
/// `purge_expired` deletes exactly the expired entries (`expires_at <= now`).
///
/// # Panics
/// On the first violation of the contract, naming the rule.
pub async fn revocation_store(store: Arc<dyn RevocationStore>) {
    let s = &*store;
    let t0 = now_secs();
    let min = Duration::minutes(1);
    let [a, b, c, d, e, f, x, y] =
        ["a", "b", "c", "d", "e", "f", "x", "y"].map(|tag| unique(&format!("jti-{tag}")));

    assert!(!revoked(s, &[]).await, "no ids: not revoked");
    assert!(!revoked(s, &[&a]).await, "an unknown id is not revoked");
    ok("revoke", s.revoke(&a, t0 + 60 * min).await);
    assert!(revoked(s, &[&a]).await, "a revoked id is revoked");
    assert!(
        revoked(s, &[&x, &a]).await,
        "any revoked id in the list counts (last)"
    );
    assert!(
        revoked(s, &[&a, &x, &y]).await,
        "any revoked id in the list counts (first)"
    );
    assert!(
        !revoked(s, &[&x, &y]).await,
        "a list of unknown ids is not revoked"
    );
    ok("revoke (again)", s.revoke(&a, t0 + 60 * min).await);

    ok("revoke", s.revoke(&b, t0 + 60 * min).await);
    ok("revoke (earlier)", s.revoke(&b, t0 + 10 * min).await);
    ok("revoke", s.revoke(&c, t0 + 10 * min).await);
    ok("revoke (later)", s.revoke(&c, t0 + 120 * min).await);
    ok("revoke", s.revoke(&d, t0 + 10 * min).await);
    ok("revoke", s.revoke(&e, t0 + 20 * min).await);
    assert!(
        revoked(s, &[&d]).await && revoked(s, &[&e]).await,
        "revoked until they expire"
    );

    let purged = ok("purge_expired", s.purge_expired(t0 + 30 * min).await);
    assert_eq!(
        purged, 2,
        "purge_expired(t) deletes exactly the entries with expires_at <= t"
    );
    assert!(
        !revoked(s, &[&d, &e]).await,
        "purged entries are no longer revoked"
    );
    assert!(revoked(s, &[&a]).await, "purge_expired keeps live entries");
    assert!(
        revoked(s, &[&b]).await,
        "an earlier revocation never shortens a later one"
    );
    assert!(
        revoked(s, &[&c]).await,
        "a later revocation extends an earlier one"
    );

    ok("revoke", s.revoke(&f, t0 + 40 * min).await);
    let purged = ok("purge_expired", s.purge_expired(t0 + 40 * min).await);
    assert_eq!(purged, 1, "an entry expires at its expires_at");
    assert!(
        !revoked(s, &[&f]).await,
        "an entry expires at its expires_at"
    );

    let purged = ok("purge_expired", s.purge_expired(t0 + 90 * min).await);
    assert_eq!(
        purged, 2,
        "purge_expired deletes every entry expired by then"
    );
    assert!(
        !revoked(s, &[&a, &b]).await,
        "purged entries are no longer revoked"
    );
    assert!(
        revoked(s, &[&c]).await,
        "a later revocation extends an earlier one"
    );
    assert_eq!(
        ok("purge_expired", s.purge_expired(t0 + 180 * min).await),
        1,
        "the last entry"
    );
    assert_eq!(
        ok("purge_expired", s.purge_expired(t0 + 180 * min).await),
        0,
        "nothing is left"
    );
    assert!(
        !revoked(s, &[&a, &b, &c, &d, &e, &f]).await,
        "nothing is left"
    );
}

/// `store.active(at)`, only the given ids, sorted.
async fn listed(
    store: &dyn RevocationStore,
    ids: &[&String],
    at: OffsetDateTime,
) -> Vec<(String, OffsetDateTime)> {
    let mut listed: Vec<_> = ok("active", store.active(at).await)
        .into_iter()
        .filter(|(id, _)| ids.contains(&id))
        .collect();
    listed.sort();
    listed
}

/// Checks [`RevocationStore::active`], for stores that can be loaded into a
/// [`RevocationMirror`](crate::store::RevocationMirror): it lists every revocation in
/// force at `now` with its latest expiry (rounded up to the second at most), and none that
/// expired by then. Entries that other writers put in the store are ignored.
///
/// # Panics
/// On the first violation of the contract, naming the rule.
pub async fn revocation_listing(store: Arc<dyn RevocationStore>) {
    let s = &*store;
    let t0 = now_secs();
    let min = Duration::minutes(1);
    let [a, b, c] = ["a", "b", "c"].map(|tag| unique(&format!("listed-{tag}")));
    ok("revoke", s.revoke(&a, t0 + 60 * min).await);
    ok("revoke", s.revoke(&b, t0 + 10 * min).await);
    ok("revoke (later)", s.revoke(&b, t0 + 30 * min).await);
    ok("revoke", s.revoke(&c, t0 + 20 * min).await);
    let mut expected = vec![
        (a.clone(), t0 + 60 * min),
        (b.clone(), t0 + 30 * min),
        (c.clone(), t0 + 20 * min),
    ];
    expected.sort();
    assert_eq!(
        listed(s, &[&a, &b, &c], t0).await,
        expected,
        "active lists every live revocation with its latest expiry"
    );
    expected.retain(|(id, _)| *id != c);
    assert_eq!(
        listed(s, &[&a, &b, &c], t0 + 20 * min).await,
        expected,
        "active omits revocations expired by `now` (expires_at <= now)"
    );
    assert!(
        listed(s, &[&a, &b, &c], t0 + 60 * min).await.is_empty(),
        "active omits revocations expired by `now`"
    );
}
