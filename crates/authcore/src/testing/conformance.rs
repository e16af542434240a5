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

/// Checks a [`UserStore`]: creation, case-insensitive lookups, [`StoreError::Conflict`]
/// on a taken email (also under a race of concurrent registrations), every update and
/// [`StoreError::NotFound`] for unknown ids.
///
/// # Panics
/// On the first violation of the contract, naming the rule.
pub async fn user_store(store: Arc<dyn UserStore>) {
    let s = &*store;
    let tag = unique("ada");
    let email = format!("{tag}@example.com");
    let before = OffsetDateTime::now_utc() - Duration::seconds(2);
    let ada = ok(
        "create",
        s.create(NewUser {
            email: email.clone(),
            password_hash: PasswordHash::new(HASH_A),
            roles: vec!["user".to_owned()],
        })
        .await,
    );
    let after = OffsetDateTime::now_utc() + Duration::seconds(2);
    assert!(!ada.id.is_empty(), "create assigns an id");
    assert_eq!(ada.email, email, "create keeps the email");
    assert_eq!(ada.password_hash.as_str(), HASH_A, "create keeps the hash");
    assert_eq!(ada.roles, ["user"], "create keeps the roles");
    assert!(!ada.disabled, "a new user is enabled");
    assert!(
        before <= ada.created_at && ada.created_at <= after,
        "create sets created_at to the current time"
    );

    assert_eq!(
        find_id(s, &ada.id).await.as_ref(),
        Some(&ada),
        "find_by_id returns the created user"
    );
    assert_eq!(
        find_email(s, &email).await.as_ref(),
        Some(&ada),
        "find_by_email returns the created user"
    );
    assert_eq!(
        find_email(s, &email.to_uppercase()).await.as_ref(),
        Some(&ada),
        "email lookups are case-insensitive"
    );
    assert_eq!(
        find_email(s, &format!("x{email}")).await,
        None,
        "unknown email is Ok(None)"
    );
    assert_eq!(
        find_id(s, &unique("no-such-id")).await,
        None,
        "unknown id is Ok(None)"
    );

    let dup = s
        .create(NewUser {
            email: email.to_uppercase(),
            password_hash: PasswordHash::new(HASH_B),
            roles: vec![],
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict)),
        "an email taken in another case is a Conflict, got {dup:?}"
    );

    let mixed = format!("Grace.{tag}@Example.COM");
    let grace = ok(
        "create",
        s.create(NewUser {
            email: mixed.clone(),
            password_hash: PasswordHash::new(HASH_B),
            roles: vec![],
        })
        .await,
    );
    assert_ne!(grace.id, ada.id, "every user gets its own id");
    assert_eq!(
        find_email(s, &mixed.to_lowercase()).await.map(|u| u.email),
        Some(mixed.clone()),
        "a mixed-case email is found in lowercase and returned as stored"
    );

    ok(
        "update_password_hash",
        s.update_password_hash(&ada.id, &PasswordHash::new(HASH_B))
            .await,
    );
    let roles = vec!["admin".to_owned(), "ops".to_owned()];
    ok("set_roles", s.set_roles(&ada.id, &roles).await);
    ok("set_disabled", s.set_disabled(&ada.id, true).await);
    let got = find_id(s, &ada.id)
        .await
        .unwrap_or_else(|| panic!("updated user vanished"));
    assert_eq!(
        got.password_hash.as_str(),
        HASH_B,
        "update_password_hash replaces the hash"
    );
    assert_eq!(got.roles, roles, "set_roles replaces the roles, in order");
    assert!(got.disabled, "set_disabled(true) disables");
    assert_eq!(
        (got.id.as_str(), got.email.as_str(), got.created_at),
        (ada.id.as_str(), email.as_str(), ada.created_at),
        "updates keep id, email and created_at"
    );
    ok("set_roles", s.set_roles(&ada.id, &[]).await);
    ok("set_disabled", s.set_disabled(&ada.id, false).await);
    let got = find_email(s, &email)
        .await
        .unwrap_or_else(|| panic!("updated user vanished"));
    assert!(got.roles.is_empty(), "set_roles(&[]) clears the roles");
    assert!(!got.disabled, "set_disabled(false) re-enables");
    assert_eq!(
        find_id(s, &grace.id).await.as_ref(),
        Some(&grace),
        "updates touch only their user"
    );

    let nobody = unique("no-such-user");
    let r = s
        .update_password_hash(&nobody, &PasswordHash::new(HASH_A))
        .await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "update_password_hash of an unknown id is NotFound, got {r:?}"
    );
    let r = s.set_roles(&nobody, &roles).await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "set_roles of an unknown id is NotFound, got {r:?}"
    );
    let r = s.set_disabled(&nobody, true).await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "set_disabled of an unknown id is NotFound, got {r:?}"
    );

    user_create_race(store.clone(), store).await;
}

/// Races 16 concurrent registrations of one email (in different cases),
/// alternating between `a` and `b` (two pools or two processes' stores on one database):
/// exactly one succeeds, every other one is a [`StoreError::Conflict`], and both stores
/// then find the winner.
///
/// # Panics
/// If not exactly one registration succeeds, or another error occurs.
pub async fn user_create_race(a: Arc<dyn UserStore>, b: Arc<dyn UserStore>) {
    let email = format!("{}@example.com", unique("race"));
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let email = if i % 3 == 0 {
                email.to_uppercase()
            } else {
                email.clone()
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .create(NewUser {
                        email,
                        password_hash: PasswordHash::new(HASH_A),
                        roles: vec![],
                    })
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap_or_else(|e| panic!("racer panicked: {e}")) {
            Ok(user) => winners.push(user),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("concurrent registration: expected Ok or Conflict, got {e} ({e:?})"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "of {RACERS} concurrent registrations of one email, exactly one succeeds"
    );
    for store in [&a, &b] {
        let found = find_email(&**store, &email).await.map(|u| u.id);
        assert_eq!(
            found.as_deref(),
            Some(winners[0].id.as_str()),
            "both stores see the single winner"
        );
    }
}

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

/// What [`persistence_write`] stored, for [`persistence_check`] to read back through
/// fresh connections.
#[derive(Clone)]
pub struct Persisted {
    user: Option<User>,
    live: RefreshTokenRecord,
    spent: RefreshTokenRecord,
    revoked: RefreshTokenRecord,
    jti: String,
    t0: OffsetDateTime,
}

impl fmt::Debug for Persisted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persisted").finish_non_exhaustive()
    }
}

/// Writes a user (when `users` is given), a live, a spent and a revoked refresh token and
/// a revocation, for [`persistence_check`] to find after the stores were dropped and
/// reconnected.
///
/// # Panics
/// On a store error.
pub async fn persistence_write(
    users: Option<Arc<dyn UserStore>>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
) -> Persisted {
    let t0 = now_secs();
    let user = match users {
        Some(store) => Some(ok(
            "create",
            store
                .create(NewUser {
                    email: format!("{}@example.com", unique("persist")),
                    password_hash: PasswordHash::new(HASH_A),
                    roles: vec!["admin".to_owned()],
                })
                .await,
        )),
        None => None,
    };
    let owner = user
        .as_ref()
        .map_or_else(|| unique("user"), |u| u.id.clone());
    let r = &*refresh_tokens;
    let live = record(&unique("fam"), &owner, t0, Duration::hours(1));
    let spent = record(&unique("fam"), &owner, t0, Duration::hours(1));
    let revoked = record(&unique("fam"), &owner, t0, Duration::hours(1));
    for rec in [&live, &spent, &revoked] {
        insert(r, rec).await;
    }
    expect_rotated(r, &spent, t0, "a live token").await;
    ok("revoke_family", r.revoke_family(&revoked.family_id).await);
    let jti = unique("jti");
    ok(
        "revoke",
        revocations.revoke(&jti, t0 + Duration::hours(1)).await,
    );
    Persisted {
        user,
        live,
        spent,
        revoked,
        jti,
        t0,
    }
}

/// Reads back what [`persistence_write`] stored, through other store instances: the user,
/// the live token (still [`Consumed::Rotated`]), the spent one ([`Consumed::Reused`]), the
/// revoked one ([`Consumed::Invalid`]) and the revocation.
///
/// # Panics
/// If anything was lost.
pub async fn persistence_check(
    written: &Persisted,
    users: Option<Arc<dyn UserStore>>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
) {
    if let (Some(store), Some(user)) = (users, &written.user) {
        assert_eq!(
            find_id(&*store, &user.id).await.as_ref(),
            Some(user),
            "the user survives a reconnect"
        );
        assert_eq!(
            find_email(&*store, &user.email).await.as_ref(),
            Some(user),
            "the user survives a reconnect"
        );
    }
    let r = &*refresh_tokens;
    let t0 = written.t0;
    expect_reused(r, &written.spent, t0, "a spent token survives a reconnect").await;
    expect_invalid(
        r,
        &written.revoked,
        t0,
        "a family revocation survives a reconnect",
    )
    .await;
    expect_rotated(r, &written.live, t0, "a live token survives a reconnect").await;
    assert!(
        revoked(&*revocations, &[&written.jti]).await,
        "a revocation survives a reconnect"
    );
}

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
