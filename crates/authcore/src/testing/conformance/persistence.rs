//! What a store keeps across a restart: written through one instance, read back
//! through another.

use super::*;

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
