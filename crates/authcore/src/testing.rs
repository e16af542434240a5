//! Test helpers (feature `testing`): a steerable clock, token minting and a ready
//! in-memory authenticator with cheap password hashing.

pub mod adapter;
pub mod conformance;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

use async_trait::async_trait;

use crate::clock::Clock;
use crate::store::memory::MemoryRevocationStore;
use crate::{
    Algorithm, AuthError, Authenticator, Claims, Jwt, KeySet, PasswordHasher, RevocationStore,
    SigningKey, StoreError, TokenIssuer, TokenVerifier,
};

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `now`, truncated to whole seconds.
    pub fn new(now: OffsetDateTime) -> Self {
        ManualClock {
            now: Mutex::new(now.replace_nanosecond(0).unwrap_or(now)),
        }
    }

    /// A clock stopped at the current system time.
    pub fn now_utc() -> Self {
        ManualClock::new(OffsetDateTime::now_utc())
    }

    /// Moves the clock by `by` (negative moves it back).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A password hasher with tiny argon2id parameters (64 KiB, one pass): fast tests, no
/// security. Never use it outside tests.
///
/// # Panics
/// Never: the parameters are constant and valid.
pub fn fast_hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .memory_kib(64)
        .iterations(1)
        .build()
        .unwrap_or_else(|_| unreachable!("constant parameters are valid"))
}

/// One error of each shape the HTTP mapping gives: `401` with a bare challenge and with
/// `invalid_token`, `400` with `invalid_request`, `403` with `insufficient_scope`, `401`
/// without a challenge, `409`, `422`, `400` without a challenge, `503` with `Retry-After`,
/// and `500`. For an adapter's test that its rendering matches
/// [`http::error_response`](crate::http::error_response).
pub fn error_samples() -> Vec<AuthError> {
    vec![
        AuthError::MissingCredentials,
        AuthError::Expired,
        AuthError::MalformedHeader,
        AuthError::InsufficientRole,
        AuthError::InvalidGrant,
        AuthError::EmailTaken,
        AuthError::RegistrationDisabled,
        AuthError::InvalidEmail,
        AuthError::InvalidRequest,
        AuthError::Unavailable(crate::StoreError::unavailable("down")),
        AuthError::Internal("detail".into()),
    ]
}

/// The issuer and audience of [`TestAuth`] tokens.
pub const TEST_ISSUER: &str = "authcore-test";

/// An in-memory authenticator with a random HS256 key, a [`ManualClock`] and
/// [`fast_hasher`], ready for tests.
///
/// ```
/// use authcore::testing::TestAuth;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = TestAuth::new();
/// let token = t.mint("user-1", &["admin"])?;
/// let claims = t.auth.authenticate_token(&token).await?;
/// assert!(claims.has_role("admin"));
///
/// t.clock.advance(time::Duration::hours(1));
/// assert!(t.auth.authenticate_token(&token).await.is_err()); // expired
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestAuth {
    /// The authenticator.
    pub auth: Arc<Authenticator>,
    /// Its issuer and verifier.
    pub jwt: Arc<Jwt>,
    /// The clock both use.
    pub clock: Arc<ManualClock>,
}

impl Default for TestAuth {
    fn default() -> Self {
        TestAuth::new()
    }
}

impl TestAuth {
    /// A fresh authenticator; the clock starts at the current time.
    ///
    /// # Panics
    /// If the system's random generator fails.
    pub fn new() -> Self {
        let key = SigningKey::generate(Algorithm::HS256)
            .unwrap_or_else(|e| panic!("key generation: {e}"));
        Self::with_keys(KeySet::new(key))
    }

    /// A fresh authenticator with the given keys.
    ///
    /// # Panics
    /// If `keys` has no signing key.
    pub fn with_keys(keys: KeySet) -> Self {
        let clock = Arc::new(ManualClock::now_utc());
        let jwt = Arc::new(
            Jwt::builder()
                .keys(keys)
                .issuer(TEST_ISSUER)
                .audience(TEST_ISSUER)
                .clock(clock.clone())
                .build()
                .unwrap_or_else(|e| panic!("test JWT configuration: {e}")),
        );
        TestAuth {
            auth: test_authenticator(&jwt, &clock, crate::DEFAULT_VERIFIED_TOKEN_SLOTS),
            jwt,
            clock,
        }
    }

    /// The same keys and clock, with fresh in-memory stores and a verified-token cache of
    /// `slots` (`0`: none; see [`AuthenticatorBuilder::verified_token_cache`]), for
    /// instance to measure verification itself rather than the cache.
    ///
    /// [`AuthenticatorBuilder::verified_token_cache`]: crate::AuthenticatorBuilder::verified_token_cache
    ///
    /// # Panics
    /// Never in practice: the configuration is the one [`TestAuth::with_keys`] built.
    #[must_use]
    pub fn verified_token_cache(self, slots: usize) -> Self {
        TestAuth {
            auth: test_authenticator(&self.jwt, &self.clock, slots),
            ..self
        }
    }

    /// Mints an access token for `subject` with `roles`, without a session.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if signing fails.
    pub fn mint(&self, subject: &str, roles: &[&str]) -> Result<String, AuthError> {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        Ok(TokenIssuer::<()>::issue(&*self.jwt, subject, &roles, None, ())?.token)
    }

    /// `Authorization` header value for a minted token.
    ///
    /// # Errors
    /// As [`TestAuth::mint`].
    pub fn bearer(&self, subject: &str, roles: &[&str]) -> Result<String, AuthError> {
        Ok(format!("Bearer {}", self.mint(subject, roles)?))
    }
}

/// The authenticator of a [`TestAuth`]: `jwt`, in-memory stores, cheap hashing, `clock`,
/// and a verified-token cache of `slots`.
fn test_authenticator(
    jwt: &Arc<Jwt>,
    clock: &Arc<ManualClock>,
    slots: usize,
) -> Arc<Authenticator> {
    let auth = Authenticator::builder()
        .jwt(jwt.clone())
        .memory_stores()
        .password_hasher(fast_hasher())
        .clock(clock.clone())
        .verified_token_cache(slots)
        .build()
        .unwrap_or_else(|e| panic!("test authenticator: {e}"));
    Arc::new(auth)
}

/// A [`TokenVerifier`] that delegates to a [`Jwt`] and counts its calls: to check how
/// often a request is verified (once, whatever guards it passes), or that a token was
/// answered without verification. With [`CountingVerifier::revocations`] as the
/// revocation store, it counts revocation checks too.
#[derive(Debug)]
pub struct CountingVerifier {
    jwt: Arc<Jwt>,
    calls: AtomicUsize,
    revocations: Arc<CountingRevocations>,
}

impl CountingVerifier {
    /// Counts from zero.
    pub fn new(jwt: Arc<Jwt>) -> Self {
        CountingVerifier {
            jwt,
            calls: AtomicUsize::new(0),
            revocations: Arc::new(CountingRevocations::default()),
        }
    }

    /// An in-memory revocation store whose revocation checks
    /// ([`RevocationStore::is_revoked`]) this verifier counts.
    pub fn revocations(&self) -> Arc<dyn RevocationStore> {
        self.revocations.clone()
    }

    /// Revocation checks of [`CountingVerifier::revocations`] so far, and counts from
    /// zero again.
    pub fn take_revocation_checks(&self) -> usize {
        self.revocations.checks.swap(0, Ordering::SeqCst)
    }

    /// Verifications so far, after checking that each was followed by exactly one
    /// revocation check of [`CountingVerifier::revocations`]; both count from zero again.
    /// For requests whose tokens all verify.
    ///
    /// # Panics
    /// If the revocation checks differ from the verifications.
    pub fn take_calls_each_checked(&self) -> usize {
        let verified = self.take_calls();
        assert_eq!(
            self.take_revocation_checks(),
            verified,
            "one revocation check per verification"
        );
        verified
    }

    /// Verifications so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Verifications so far, and counts from zero again.
    pub fn take_calls(&self) -> usize {
        self.calls.swap(0, Ordering::SeqCst)
    }
}

impl TokenVerifier for CountingVerifier {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        TokenVerifier::<()>::verify(&*self.jwt, token)
    }

    fn leeway(&self) -> time::Duration {
        TokenVerifier::<()>::leeway(&*self.jwt)
    }
}

/// The store of [`CountingVerifier::revocations`].
#[derive(Debug, Default)]
struct CountingRevocations {
    store: MemoryRevocationStore,
    checks: AtomicUsize,
}

#[async_trait]
impl RevocationStore for CountingRevocations {
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.store.revoke(id, expires_at).await
    }

    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.store.is_revoked(ids).await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.store.purge_expired(now).await
    }
}
