//! The authentication flow through `Authenticator` with in-memory stores.

use std::io::Write;
use std::sync::{Arc, Mutex};

use authcore::store::NewUser;
use authcore::store::memory::MemoryUserStore;
use authcore::testing::{TestAuth, fast_hasher};
use authcore::{AuthError, PasswordHasher, PasswordRejection, TokenPair, UserStore, http};
use time::Duration;

const EMAIL: &str = "Ada@Example.com";
const PASSWORD: &str = "correct horse battery staple";

fn bearer(pair: &TokenPair) -> Vec<u8> {
    format!("Bearer {}", pair.access_token).into_bytes()
}

async fn logged_in(t: &TestAuth) -> TokenPair {
    t.auth.register(EMAIL, PASSWORD).await.unwrap();
    t.auth.login(EMAIL, PASSWORD).await.unwrap()
}

#[tokio::test]
async fn register_login_authenticate() {
    let t = TestAuth::new();
    let user = t.auth.register(EMAIL, PASSWORD).await.unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert!(user.roles.is_empty());
    assert!(user.password_hash.as_str().starts_with("$argon2id$"));

    let pair = t.auth.login("ADA@example.COM", PASSWORD).await.unwrap();
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 900);
    assert_eq!(pair.refresh_token.len(), 43);
    let body = serde_json::to_value(&pair).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    // The user comes with the pair, from the login's own read, and is never serialized.
    assert_eq!(pair.user, user);
    let shown = format!("{pair:?}");
    assert!(
        shown.contains(&user.id) && !shown.contains("argon2"),
        "{shown}"
    );
    let refreshed = t.auth.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(refreshed.user, user);

    let claims = t.auth.authenticate(Some(&bearer(&pair))).await.unwrap();
    assert_eq!(claims.sub, user.id);
    assert!(claims.sid.is_some());
    assert_eq!(t.auth.current_user(&claims).await.unwrap().id, user.id);
    assert!(matches!(
        t.auth.authorize(&claims, &["admin"]),
        Err(AuthError::InsufficientRole)
    ));
    assert!(t.auth.authorize(&claims, &[]).is_ok());

    let admin = t
        .auth
        .register_with_roles("root@example.com", PASSWORD, &["admin".into()])
        .await
        .unwrap();
    let pair = t.auth.login("root@example.com", PASSWORD).await.unwrap();
    let claims = t.auth.authenticate(Some(&bearer(&pair))).await.unwrap();
    assert_eq!(claims.sub, admin.id);
    assert!(t.auth.authorize(&claims, &["admin"]).is_ok());
}

#[tokio::test]
async fn registration_errors() {
    let t = TestAuth::new();
    t.auth.register(EMAIL, PASSWORD).await.unwrap();
    assert!(matches!(
        t.auth.register(EMAIL, PASSWORD).await,
        Err(AuthError::EmailTaken)
    ));
    assert!(matches!(
        t.auth.register("ADA@EXAMPLE.COM", PASSWORD).await,
        Err(AuthError::EmailTaken)
    ));
    assert!(matches!(
        t.auth.register("not-an-email", PASSWORD).await,
        Err(AuthError::InvalidEmail)
    ));
    assert!(matches!(
        t.auth.register("b@example.com", "short").await,
        Err(AuthError::WeakPassword(PasswordRejection::TooShort))
    ));
    assert!(matches!(
        t.auth.register("b@example.com", &"p".repeat(1025)).await,
        Err(AuthError::WeakPassword(PasswordRejection::TooLong))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_email_give_one_user() {
    let t = TestAuth::new();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let auth = t.auth.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@Example.COM"
            };
            tokio::spawn(async move { auth.register(email, PASSWORD).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AuthError::EmailTaken) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn login_failures_are_indistinguishable() {
    let t = TestAuth::new();
    t.auth.register(EMAIL, PASSWORD).await.unwrap();
    let unknown = t
        .auth
        .login("nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    let wrong = t.auth.login(EMAIL, "wrong password!").await.unwrap_err();
    let invalid = t.auth.login("not an email", PASSWORD).await.unwrap_err();
    for err in [&unknown, &wrong, &invalid] {
        assert!(matches!(err, AuthError::InvalidGrant), "{err:?}");
        assert_eq!(
            http::error_response(err),
            http::error_response(&AuthError::InvalidGrant)
        );
    }

    let user = t
        .auth
        .users()
        .find_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    t.auth.users().set_disabled(&user.id, true).await.unwrap();
    assert!(matches!(
        t.auth.login(EMAIL, PASSWORD).await,
        Err(AuthError::InvalidGrant)
    ));
}

#[tokio::test]
async fn weak_hashes_are_upgraded_at_login() {
    let users = Arc::new(MemoryUserStore::new());
    let weak = PasswordHasher::builder()
        .memory_kib(32)
        .iterations(1)
        .build()
        .unwrap();
    let user = users
        .create(NewUser::new(
            "old@example.com",
            weak.hash(PASSWORD).unwrap(),
            vec![],
        ))
        .await
        .unwrap();
    let t = TestAuth::new();
    let jwt = t.jwt.clone();
    let auth = authcore::Authenticator::builder()
        .jwt(jwt)
        .memory_stores()
        .users(users.clone())
        .password_hasher(fast_hasher())
        .build()
        .unwrap();
    auth.login("old@example.com", PASSWORD).await.unwrap();
    let upgraded = users
        .find_by_id(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(
        upgraded
            .as_str()
            .starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{upgraded:?}"
    );
    auth.login("old@example.com", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let t = TestAuth::new();
    let first = logged_in(&t).await;
    let second = t.auth.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let c1 = t.auth.authenticate(Some(&bearer(&first))).await.unwrap();
    let c2 = t.auth.authenticate(Some(&bearer(&second))).await.unwrap();
    assert_eq!(c1.sid, c2.sid, "rotation stays in the session");
    let third = t.auth.refresh(&second.refresh_token).await.unwrap();

    // Replaying a spent token revokes the family: the newest refresh token and every
    // access token of the session stop working.
    assert!(matches!(
        t.auth.refresh(&first.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    assert!(matches!(
        t.auth.refresh(&third.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    for pair in [&first, &second, &third] {
        assert!(matches!(
            t.auth.authenticate(Some(&bearer(pair))).await,
            Err(AuthError::Revoked)
        ));
    }

    // Another session of the same user is unaffected.
    let other = t.auth.login(EMAIL, PASSWORD).await.unwrap();
    assert!(t.auth.refresh(&other.refresh_token).await.is_ok());
}

#[tokio::test]
async fn refresh_rejects_garbage_expired_and_disabled() {
    let t = TestAuth::new();
    for garbage in ["", "x", &"A".repeat(43), &"A".repeat(10_000)] {
        assert!(matches!(
            t.auth.refresh(garbage).await,
            Err(AuthError::InvalidGrant)
        ));
    }
    let pair = logged_in(&t).await;
    t.clock.advance(Duration::days(14));
    assert!(matches!(
        t.auth.refresh(&pair.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));

    let t = TestAuth::new();
    let pair = logged_in(&t).await;
    let user = t
        .auth
        .users()
        .find_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    t.auth.users().set_disabled(&user.id, true).await.unwrap();
    assert!(matches!(
        t.auth.refresh(&pair.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    let claims = t.auth.authenticate(Some(&bearer(&pair))).await;
    assert!(
        matches!(claims, Err(AuthError::Revoked)),
        "the session was revoked with the refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_have_exactly_one_winner() {
    for _ in 0..10 {
        let t = TestAuth::new();
        let pair = logged_in(&t).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (auth, token, barrier) =
                    (t.auth.clone(), pair.refresh_token.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    auth.refresh(&token).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(p) => winners.push(p),
                Err(AuthError::InvalidGrant) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one refresh wins");
        // The losers replayed a spent token, so the family, the winner's included, is gone.
        assert!(t.auth.refresh(&winners[0].refresh_token).await.is_err());
    }
}

#[tokio::test]
async fn logout_revokes_the_token_and_the_session_at_once() {
    let t = TestAuth::new();
    let pair = logged_in(&t).await;
    let rotated = t.auth.refresh(&pair.refresh_token).await.unwrap();
    let claims = t.auth.authenticate(Some(&bearer(&rotated))).await.unwrap();
    t.auth.logout(&claims).await.unwrap();
    assert!(matches!(
        t.auth.authenticate(Some(&bearer(&rotated))).await,
        Err(AuthError::Revoked)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(&bearer(&pair))).await,
        Err(AuthError::Revoked)
    ));
    assert!(matches!(
        t.auth.refresh(&rotated.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    // Logging in again works.
    let again = t.auth.login(EMAIL, PASSWORD).await.unwrap();
    assert!(t.auth.authenticate(Some(&bearer(&again))).await.is_ok());
}

#[tokio::test]
async fn revoke_all_and_password_change_end_every_session() {
    let t = TestAuth::new();
    let a = logged_in(&t).await;
    let b = t.auth.login(EMAIL, PASSWORD).await.unwrap();
    let user_id = t.auth.authenticate(Some(&bearer(&a))).await.unwrap().sub;
    t.auth.revoke_all(&user_id).await.unwrap();
    for pair in [&a, &b] {
        assert!(matches!(
            t.auth.authenticate(Some(&bearer(pair))).await,
            Err(AuthError::Revoked)
        ));
        assert!(matches!(
            t.auth.refresh(&pair.refresh_token).await,
            Err(AuthError::InvalidGrant)
        ));
    }

    let c = t.auth.login(EMAIL, PASSWORD).await.unwrap();
    t.auth
        .change_password(&user_id, "a brand new passphrase")
        .await
        .unwrap();
    assert!(matches!(
        t.auth.authenticate(Some(&bearer(&c))).await,
        Err(AuthError::Revoked)
    ));
    assert!(matches!(
        t.auth.login(EMAIL, PASSWORD).await,
        Err(AuthError::InvalidGrant)
    ));
    assert!(t.auth.login(EMAIL, "a brand new passphrase").await.is_ok());
    assert!(matches!(
        t.auth
            .change_password("no-such-user", "a brand new passphrase")
            .await,
        Err(AuthError::UnknownSubject)
    ));
    assert!(matches!(
        t.auth.change_password(&user_id, "short").await,
        Err(AuthError::WeakPassword(_))
    ));
}

#[tokio::test]
async fn authenticate_rejections() {
    let t = TestAuth::new();
    let pair = logged_in(&t).await;
    assert!(matches!(
        t.auth.authenticate(None).await,
        Err(AuthError::MissingCredentials)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(b"Basic Zm9vOmJhcg==")).await,
        Err(AuthError::MissingCredentials)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(b"Bearer")).await,
        Err(AuthError::MalformedHeader)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(b"Bearer a b")).await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(b"Bearer \xff")).await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        t.auth
            .authenticate(Some(b"Bearer eyJ*garbage*.@@@@.!!!!"))
            .await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        t.auth.authenticate(Some(b"Bearer abc")).await,
        Err(AuthError::Malformed)
    ));
    let lower = format!("bearer {}", pair.access_token);
    assert!(t.auth.authenticate(Some(lower.as_bytes())).await.is_ok());
    t.clock.advance(Duration::minutes(16));
    assert!(matches!(
        t.auth.authenticate(Some(&bearer(&pair))).await,
        Err(AuthError::Expired)
    ));

    // A minted token (test helper) works without a login.
    let minted = t.bearer("user-x", &["admin"]).unwrap();
    let claims = t.auth.authenticate(Some(minted.as_bytes())).await.unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.roles.as_slice()),
        ("user-x", &["admin".to_owned()][..])
    );
    assert!(matches!(
        t.auth.current_user(&claims).await,
        Err(AuthError::UnknownSubject)
    ));
}

/// A revocation outlives the token by the verifier's leeway: within it the verifier
/// still accepts the token, so a revocation ending at `exp` (purged, or expired by Redis)
/// would bring a logged-out token back.
#[tokio::test]
async fn a_logged_out_token_stays_revoked_through_the_leeway() {
    // Without a session: only the `jti` revocation stands between the token and a 200.
    let t = TestAuth::new();
    let token = t.bearer("user-x", &[]).unwrap();
    let claims = t.auth.authenticate(Some(token.as_bytes())).await.unwrap();
    assert_eq!(claims.sid, None);
    t.auth.logout(&claims).await.unwrap();
    t.clock.set(claims.exp + Duration::seconds(20)); // past exp, within the 30 s leeway
    t.auth.purge_expired().await.unwrap();
    assert!(matches!(
        t.auth.authenticate(Some(token.as_bytes())).await,
        Err(AuthError::Revoked)
    ));
    // Once the verifier refuses it by itself, the revocation may go.
    t.clock.set(claims.exp + Duration::seconds(30));
    assert!(t.auth.purge_expired().await.unwrap() >= 1);
    assert!(matches!(
        t.auth.authenticate(Some(token.as_bytes())).await,
        Err(AuthError::Expired)
    ));
}

/// The session (`sid`) revocation too: with a leeway longer than any fixed margin, the
/// other access tokens of a logged-out session stay refused until the verifier refuses
/// them.
#[tokio::test]
async fn a_logged_out_session_stays_revoked_through_a_long_leeway() {
    let t = TestAuth::new();
    let jwt = std::sync::Arc::new(
        authcore::Jwt::builder()
            .keys(authcore::KeySet::new(
                authcore::SigningKey::hmac(authcore::Algorithm::HS256, &[7; 32]).unwrap(),
            ))
            .issuer("i")
            .audience("a")
            .leeway(Duration::minutes(10))
            .clock(t.clock.clone())
            .build()
            .unwrap(),
    );
    let auth = authcore::Authenticator::builder()
        .jwt(jwt.clone())
        .memory_stores()
        .password_hasher(fast_hasher())
        .clock(t.clock.clone())
        .build()
        .unwrap();
    auth.register(EMAIL, PASSWORD).await.unwrap();
    let first = auth.login(EMAIL, PASSWORD).await.unwrap();
    let rotated = auth.refresh(&first.refresh_token).await.unwrap();
    let claims = auth.authenticate(Some(&bearer(&rotated))).await.unwrap();
    auth.logout(&claims).await.unwrap();
    // `first`'s own jti was never revoked: only its session is.
    let first_claims: authcore::Claims =
        authcore::TokenVerifier::verify(&*jwt, &first.access_token)
            .expect("verifies apart from revocation");
    t.clock
        .set(first_claims.exp + Duration::minutes(9) + Duration::seconds(59));
    auth.purge_expired().await.unwrap();
    assert!(matches!(
        auth.authenticate(Some(&bearer(&first))).await,
        Err(AuthError::Revoked)
    ));
}

#[tokio::test]
async fn purge_removes_expired_state() {
    let t = TestAuth::new();
    let pair = logged_in(&t).await;
    let claims = t.auth.authenticate(Some(&bearer(&pair))).await.unwrap();
    t.auth.logout(&claims).await.unwrap();
    assert_eq!(t.auth.purge_expired().await.unwrap(), 0);
    t.clock.advance(Duration::days(15));
    assert!(
        t.auth.purge_expired().await.unwrap() >= 3,
        "refresh token, jti and sid revocations"
    );
}

#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A process-wide capturing subscriber. A thread-scoped one (`with_default`) would miss
/// events whose callsite interest another test thread cached while no subscriber was set.
pub(crate) fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        captured
    })
    .clone()
}

/// Every authentication event is logged, and no log line carries a password, a hash, an
/// access token or a refresh token.
#[test]
fn logs_carry_events_but_no_secrets() {
    let captured = captured_logs();
    let mut secrets = vec![PASSWORD.to_owned(), "wrong password!".to_owned()];
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let t = TestAuth::new();
            let pair = logged_in(&t).await;
            let _ = t.auth.login(EMAIL, "wrong password!").await;
            let _ = t.auth.login("nobody@example.com", PASSWORD).await;
            let rotated = t.auth.refresh(&pair.refresh_token).await.unwrap();
            let claims = t.auth.authenticate(Some(&bearer(&rotated))).await.unwrap();
            let _ = t.auth.authenticate(Some(b"Bearer forged.token.here")).await;
            let _ = t.auth.authorize(&claims, &["admin"]);
            t.auth.logout(&claims).await.unwrap();
            let _ = t.auth.refresh(&pair.refresh_token).await;
            let user = t
                .auth
                .users()
                .find_by_email("ada@example.com")
                .await
                .unwrap()
                .unwrap();
            secrets.extend([
                pair.access_token.clone(),
                pair.refresh_token.clone(),
                rotated.access_token.clone(),
                rotated.refresh_token.clone(),
                user.password_hash.as_str().to_owned(),
            ]);
            // Signatures alone are secrets enough.
            secrets.push(pair.access_token.rsplit('.').next().unwrap().to_owned());
        });
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for event in [
        "register",
        "login",
        "login_failed",
        "refresh",
        "refresh_reuse_detected",
        "unauthenticated",
        "forbidden",
        "logout",
    ] {
        assert!(
            logs.contains(&format!("event=\"{event}\""))
                || logs.contains(&format!("event={event}")),
            "no {event} event in:\n{logs}"
        );
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs:\n{logs}"
        );
    }
}

/// A request without credentials is no failure: on a public page every anonymous visit
/// would log one. Its decision is logged at debug; a presented token that fails stays at
/// info.
#[test]
fn anonymous_requests_log_at_debug_and_failed_tokens_at_info() {
    let captured = captured_logs();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = TestAuth::new();
        assert!(t.auth.authenticate_optional(None).await.unwrap().is_none());
        let _ = t.auth.authenticate(Some(b"Basic dXNlcjpwYXNz")).await;
        let _ = t.auth.authenticate(Some(b"Bearer not-a-token")).await;
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let level_of = |reason: &str| -> Vec<String> {
        logs.lines()
            .filter(|l| l.contains("unauthenticated") && l.contains(reason))
            .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned())
            .collect()
    };
    let anonymous = level_of("no credentials were sent");
    assert!(!anonymous.is_empty(), "no anonymous event in:\n{logs}");
    assert!(anonymous.iter().all(|l| l == "DEBUG"), "{anonymous:?}");
    let failed = level_of("the token is malformed");
    assert!(!failed.is_empty(), "no failed-token event in:\n{logs}");
    assert!(failed.iter().all(|l| l == "INFO"), "{failed:?}");
}

/// `error_response` logs an internal error once a call, and an outage with its cause;
/// `status_code` gives the same status as `error_response` for every error, and logs
/// nothing.
#[test]
fn error_mapping_logs_once_and_status_code_never() {
    let captured = captured_logs();
    let marker = "internal-marker-8c2e";
    let count = || {
        String::from_utf8(captured.0.lock().unwrap().clone())
            .unwrap()
            .matches(marker)
            .count()
    };
    let internal = AuthError::Internal(marker.into());
    assert_eq!(http::status_code(&internal), 500);
    assert_eq!(count(), 0, "status_code logged");
    assert_eq!(http::error_response(&internal).status, 500);
    assert_eq!(count(), 1, "error_response logs once");
    // An outage is logged with its cause, which the response never shows.
    let cause = "cause-marker-41b7: connection refused";
    let outage = AuthError::Unavailable(authcore::StoreError::unavailable(cause));
    let response = http::error_response(&outage);
    assert!(!response.body_json().contains("cause-marker"));
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&format!("the store is unavailable: {cause}")),
        "{logs}"
    );
    for err in authcore::testing::error_samples() {
        assert_eq!(http::status_code(&err), http::error_response(&err).status);
    }
}

#[test]
fn debug_output_is_redacted() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = TestAuth::new();
        let pair = logged_in(&t).await;
        let user = t
            .auth
            .users()
            .find_by_email("ada@example.com")
            .await
            .unwrap()
            .unwrap();
        let shown = format!("{pair:?} {user:?} {:?}", t.auth);
        assert!(!shown.contains(&pair.access_token) && !shown.contains(&pair.refresh_token));
        assert!(!shown.contains(user.password_hash.as_str()));
    });
}

/// A store whose backend is down.
struct Down;

#[authcore::async_trait]
impl authcore::RevocationStore for Down {
    async fn revoke(&self, _: &str, _: time::OffsetDateTime) -> Result<(), authcore::StoreError> {
        Err(authcore::StoreError::unavailable("connection refused"))
    }
    async fn is_revoked(&self, _: &[&str]) -> Result<bool, authcore::StoreError> {
        Err(authcore::StoreError::unavailable("connection refused"))
    }
    async fn purge_expired(&self, _: time::OffsetDateTime) -> Result<u64, authcore::StoreError> {
        Err(authcore::StoreError::unavailable("connection refused"))
    }
}

#[authcore::async_trait]
impl authcore::UserStore for Down {
    async fn find_by_email(&self, _: &str) -> Result<Option<authcore::User>, authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
    async fn find_by_id(&self, _: &str) -> Result<Option<authcore::User>, authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
    async fn create(&self, _: NewUser) -> Result<authcore::User, authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
    async fn update_password_hash(
        &self,
        _: &str,
        _: &authcore::PasswordHash,
    ) -> Result<(), authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
    async fn set_roles(&self, _: &str, _: &[String]) -> Result<(), authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
    async fn set_disabled(&self, _: &str, _: bool) -> Result<(), authcore::StoreError> {
        Err(authcore::StoreError::unavailable("timed out"))
    }
}

/// With the revocation store down, no token is accepted unchecked, and the answer is a
/// `503` with `Retry-After`, never a `401` or a `500`.
#[tokio::test]
async fn unavailable_stores_give_503_and_never_accept_a_token() {
    let t = TestAuth::new();
    let build = |users: Arc<dyn UserStore>, revocations: Arc<dyn authcore::RevocationStore>| {
        authcore::Authenticator::builder()
            .jwt(t.jwt.clone())
            .memory_stores()
            .users(users)
            .revocations(revocations)
            .password_hasher(fast_hasher())
            .build()
            .unwrap()
    };
    let auth = build(Arc::new(MemoryUserStore::new()), Arc::new(Down));
    let token = t.bearer("user-1", &[]).unwrap();
    let err = auth.authenticate(Some(token.as_bytes())).await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    let response = http::error_response(&err);
    assert_eq!(
        (response.status, response.body.error),
        (503, "temporarily_unavailable")
    );
    assert!(response.retry_after.is_some());

    let auth = build(
        Arc::new(Down),
        Arc::new(authcore::store::memory::MemoryRevocationStore::new()),
    );
    assert!(matches!(
        auth.login(EMAIL, PASSWORD).await,
        Err(AuthError::Unavailable(_))
    ));
    assert!(matches!(
        auth.register(EMAIL, PASSWORD).await,
        Err(AuthError::Unavailable(_))
    ));
}

#[tokio::test]
async fn optional_authentication_is_none_only_without_bearer_credentials() {
    let t = TestAuth::new();
    let pair = logged_in(&t).await;
    assert!(t.auth.authenticate_optional(None).await.unwrap().is_none());
    assert!(
        t.auth
            .authenticate_optional(Some(b"Basic dXNlcjpwYXNz"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        t.auth
            .authenticate_optional(Some(&bearer(&pair)))
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        t.auth.authenticate_optional(Some(b"Bearer garbage")).await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        t.auth.authenticate_optional(Some(b"Bearer")).await,
        Err(AuthError::MalformedHeader)
    ));
}

/// With the system clock (sub-second `now`), `expires_in` is still the whole lifetime.
#[tokio::test]
async fn expires_in_is_the_access_token_lifetime() {
    let auth = authcore::Authenticator::builder()
        .jwt(Arc::new(
            authcore::Jwt::builder()
                .keys(authcore::KeySet::new(
                    authcore::SigningKey::generate(authcore::Algorithm::HS256).unwrap(),
                ))
                .issuer("i")
                .audience("a")
                .access_ttl(Duration::seconds(900))
                .build()
                .unwrap(),
        ))
        .memory_stores()
        .password_hasher(fast_hasher())
        .build()
        .unwrap();
    auth.register(EMAIL, PASSWORD).await.unwrap();
    for _ in 0..5 {
        assert_eq!(auth.login(EMAIL, PASSWORD).await.unwrap().expires_in, 900);
    }
}
