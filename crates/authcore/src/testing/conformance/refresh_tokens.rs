//! The [`RefreshTokenStore`] contract: rotation with exactly one winner, reuse and
//! revocation of families, expiry and purging, and a consumption race across two
//! instances.

use super::*;

/// Checks a [`RefreshTokenStore`]: rotation and replay ([`Consumed::Rotated`] then
/// [`Consumed::Reused`] with the stored record), unknown and expired tokens, revoked
/// families (also for tokens inserted after the revocation, and families revoked before
/// their first token), `revoke_user`, a race of concurrent consumers on one store, and
/// that `purge_expired` deletes exactly the expired tokens.
///
/// # Panics
/// On the first violation of the contract, naming the rule.
pub async fn refresh_token_store(store: Arc<dyn RefreshTokenStore>) {
    let s = &*store;
    let t0 = now_secs();
    let hour = Duration::hours(1);
    let mut live = 0u64; // tokens inserted with a one-hour lifetime
    let user = unique("user");

    let unknown = record("no-family", &user, t0, hour);
    expect_invalid(s, &unknown, t0, "an unknown token").await;

    let f1 = unique("fam");
    let r1 = record(&f1, &user, t0, hour);
    insert(s, &r1).await;
    live += 1;
    expect_rotated(s, &r1, t0, "a live token").await;
    expect_reused(s, &r1, t0 + Duration::minutes(1), "a spent token").await;
    expect_reused(
        s,
        &r1,
        t0 + Duration::minutes(2),
        "a spent token is kept until it expires",
    )
    .await;
    let r2 = record(&f1, &user, t0 + Duration::minutes(1), hour);
    insert(s, &r2).await;
    live += 1;
    expect_rotated(
        s,
        &r2,
        t0 + Duration::minutes(1),
        "the next token of a family",
    )
    .await;

    let short = Duration::minutes(10);
    let r3 = record(&unique("fam"), &user, t0, short);
    insert(s, &r3).await;
    expect_invalid(s, &r3, r3.expires_at, "a token at its expires_at").await;
    expect_invalid(s, &r3, t0 + Duration::hours(2), "an expired token").await;
    expect_rotated(
        s,
        &r3,
        r3.expires_at - Duration::seconds(1),
        "consuming an expired token does not spend it",
    )
    .await;
    expect_invalid(s, &r3, r3.expires_at, "a spent token past its expiry").await;

    let f3 = unique("fam");
    let r4 = record(&f3, &user, t0, hour);
    insert(s, &r4).await;
    live += 1;
    ok("revoke_family", s.revoke_family(&f3).await);
    expect_invalid(s, &r4, t0, "a token of a revoked family").await;
    let r5 = record(&f3, &user, t0, hour);
    insert(s, &r5).await;
    live += 1;
    expect_invalid(s, &r5, t0, "a token inserted into a revoked family").await;
    ok("revoke_family (again)", s.revoke_family(&f3).await);
    expect_invalid(
        s,
        &r5,
        t0 + Duration::minutes(5),
        "a token inserted into a revoked family",
    )
    .await;

    ok("revoke_family", s.revoke_family(&f1).await);
    expect_reused(s, &r1, t0, "a spent token of a since revoked family").await;

    let f4 = unique("fam");
    ok("revoke_family (unknown family)", s.revoke_family(&f4).await);
    let r6 = record(&f4, &user, t0, hour);
    insert(s, &r6).await;
    live += 1;
    expect_invalid(
        s,
        &r6,
        t0,
        "a token of a family revoked before its first token",
    )
    .await;

    // revoke_user: every live family of the user, once; nobody else's.
    let (u2, u3) = (unique("user"), unique("user"));
    let (g1, g2, g3, g4) = (unique("fam"), unique("fam"), unique("fam"), unique("fam"));
    let s1 = record(&g1, &u2, t0, hour);
    let s2 = record(&g2, &u2, t0, hour);
    let s2b = record(&g2, &u2, t0, hour);
    let s3 = record(&g3, &u3, t0, hour);
    let s4 = record(&g4, &u2, t0, hour);
    for r in [&s1, &s2, &s2b, &s3, &s4] {
        insert(s, r).await;
        live += 1;
    }
    expect_rotated(s, &s2, t0, "a live token").await;
    ok("revoke_family", s.revoke_family(&g4).await);
    let mut families = ok("revoke_user", s.revoke_user(&u2).await);
    families.sort();
    let mut expected = vec![g1.clone(), g2.clone()];
    expected.sort();
    assert_eq!(
        families, expected,
        "revoke_user returns the user's families that it revoked"
    );
    expect_invalid(s, &s1, t0, "a token of a user revoked with revoke_user").await;
    expect_invalid(s, &s2b, t0, "a token of a user revoked with revoke_user").await;
    expect_reused(s, &s2, t0, "a spent token after revoke_user").await;
    expect_rotated(s, &s3, t0, "revoke_user leaves other users alone").await;
    assert!(
        ok("revoke_user", s.revoke_user(&u2).await).is_empty(),
        "revoke_user does not return families it revoked before"
    );
    assert!(
        ok("revoke_user", s.revoke_user(&unique("user")).await).is_empty(),
        "revoke_user of an unknown user returns nothing"
    );
    let s5 = record(&g1, &u2, t0, hour);
    insert(s, &s5).await;
    live += 1;
    expect_invalid(
        s,
        &s5,
        t0,
        "a token inserted into a family revoked by revoke_user",
    )
    .await;

    // Concurrent consumers on one store.
    live += race(s, store.clone(), store.clone(), t0).await;

    // purge_expired deletes exactly the expired tokens (expires_at <= now), spent or not.
    let f5 = unique("fam");
    let p1 = record(&f5, &user, t0, Duration::minutes(20));
    let p2 = record(&f5, &user, t0, Duration::minutes(30));
    let p3 = record(&f5, &user, t0, hour);
    for r in [&p1, &p2, &p3] {
        insert(s, r).await;
    }
    live += 1;
    let purged = ok(
        "purge_expired",
        s.purge_expired(t0 + Duration::minutes(30)).await,
    );
    assert_eq!(
        purged, 3,
        "purge_expired(t) deletes exactly the tokens with expires_at <= t"
    );
    expect_invalid(s, &p1, t0, "a purged token").await;
    expect_invalid(s, &p2, t0, "a purged token").await;
    expect_rotated(
        s,
        &p3,
        t0,
        "purge_expired keeps live tokens and their families",
    )
    .await;
    assert_eq!(
        ok(
            "purge_expired",
            s.purge_expired(t0 + Duration::minutes(30)).await
        ),
        0,
        "a second purge finds nothing"
    );
    let purged = ok(
        "purge_expired",
        s.purge_expired(t0 + Duration::hours(2)).await,
    );
    assert_eq!(
        purged, live,
        "purge_expired deletes every expired token, spent or not"
    );
    expect_invalid(s, &r2, t0, "a purged token").await;
    expect_invalid(s, &s3, t0, "a purged token").await;
}

/// Inserts tokens through `via` and races 16 consumers for each, alternating
/// between `a` and `b`. Returns how many one-hour tokens it inserted.
async fn race(
    via: &dyn RefreshTokenStore,
    a: Arc<dyn RefreshTokenStore>,
    b: Arc<dyn RefreshTokenStore>,
    t0: OffsetDateTime,
) -> u64 {
    const ROUNDS: u64 = 4;
    let user = unique("user");
    for round in 0..ROUNDS {
        let r = record(&unique("fam"), &user, t0, Duration::hours(1));
        insert(via, &r).await;
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (barrier, hash) = (barrier.clone(), r.token_hash);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.consume(&hash, t0).await
                })
            })
            .collect();
        let (mut rotated, mut reused) = (0, 0);
        for task in tasks {
            let got = task.await.unwrap_or_else(|e| panic!("racer panicked: {e}"));
            match ok("concurrent consume", got) {
                Consumed::Rotated(got) => {
                    assert_eq!(got, r, "Rotated must return the stored record");
                    rotated += 1;
                }
                Consumed::Reused(got) => {
                    assert_eq!(got, r, "Reused must return the stored record");
                    reused += 1;
                }
                Consumed::Invalid => {
                    panic!("round {round}: a racing consume saw Invalid; losers must see Reused")
                }
            }
        }
        assert_eq!(
            (rotated, reused),
            (1, RACERS - 1),
            "round {round}: of {RACERS} concurrent consumes of one token exactly one rotates"
        );
    }
    ROUNDS
}

/// Races 16 concurrent consumers of one refresh token, alternating between
/// `a` and `b` (two pools, or two processes' stores on one backend), for several tokens:
/// each time exactly one sees [`Consumed::Rotated`] and every other one
/// [`Consumed::Reused`].
///
/// # Panics
/// If two consumers win, or any sees [`Consumed::Invalid`] or an error.
pub async fn refresh_token_race(a: Arc<dyn RefreshTokenStore>, b: Arc<dyn RefreshTokenStore>) {
    race(&*a, a.clone(), b, now_secs()).await;
}
