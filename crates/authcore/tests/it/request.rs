//! The verifying half on its own: a `RequestAuthenticator` with no users, no refresh
//! tokens and no signing key, and token issuers and verifiers written outside authcore.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use authcore::store::memory::MemoryRevocationStore;
use authcore::testing::{CountingVerifier, TestAuth, fast_hasher};
use authcore::{
    Algorithm, AuthError, Authenticator, Claims, IssuedToken, Jwt, JwtVerifier, KeySet,
    RequestAuthenticator, RevocationStore, SigningKey, TokenIssuer, TokenVerifier,
};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "correct horse battery staple";

/// An auth server signing with Ed25519, and a resource server that holds only the public
/// key, verifying through a `Jwt` verifier built from the auth server's JWKS.
fn auth_and_resource_server() -> (TestAuth, JwtVerifier) {
    let t = TestAuth::with_keys(KeySet::new(SigningKey::generate(Algorithm::EdDSA).unwrap()));
    // Only public keys: a JWKS carries no secret.
    let jwks = t.jwt.jwks().to_json();
    let public = Jwt::builder()
        .keys(KeySet::from_jwks(&jwks).unwrap())
        .issuer(authcore::testing::TEST_ISSUER)
        .audience(authcore::testing::TEST_ISSUER)
        .clock(t.clock.clone())
        .build_verifier()
        .unwrap();
    (t, public)
}

fn header(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

#[tokio::test]
async fn a_resource_server_verifies_and_honours_logouts_through_the_shared_store() {
    let (t, public) = auth_and_resource_server();
    let public = Arc::new(public);
    let resource: RequestAuthenticator = RequestAuthenticator::builder(public.clone())
        .revocations(t.auth.revocations().clone())
        .clock(t.clock.clone())
        .build();
    let unshared: RequestAuthenticator = RequestAuthenticator::builder(public).build();

    t.auth.register("ada@example.com", PASSWORD).await.unwrap();
    let pair = t.auth.login("ada@example.com", PASSWORD).await.unwrap();
    let claims = resource
        .authenticate(Some(&header(&pair.access_token)))
        .await
        .unwrap();
    assert_eq!(
        claims.sub,
        t.auth
            .authenticate_token(&pair.access_token)
            .await
            .unwrap()
            .sub
    );

    t.auth.logout(&claims).await.unwrap();
    assert!(matches!(
        resource
            .authenticate(Some(&header(&pair.access_token)))
            .await,
        Err(AuthError::Revoked)
    ));
    // Without the auth server's revocations, only the signature and claims count.
    assert!(
        unshared
            .authenticate(Some(&header(&pair.access_token)))
            .await
            .is_ok()
    );

    // Every other rejection as at the auth server.
    assert!(matches!(
        resource.authenticate(None).await,
        Err(AuthError::MissingCredentials)
    ));
    assert!(
        resource
            .authenticate_optional(None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        resource.authenticate(Some(b"Bearer not.a.token")).await,
        Err(AuthError::Malformed)
    ));
    let foreign = TestAuth::new().mint("user", &["admin"]).unwrap();
    assert!(matches!(
        resource.authenticate(Some(&header(&foreign))).await,
        Err(AuthError::UnknownKey)
    ));
    t.clock.advance(Duration::hours(1));
    let fresh = t.mint("user-2", &[]).unwrap();
    t.clock.advance(Duration::hours(1));
    assert!(matches!(
        resource.authenticate(Some(&header(&fresh))).await,
        Err(AuthError::Expired)
    ));
}

#[tokio::test]
async fn the_headers_call_parses_all_values_at_once() {
    let t = TestAuth::new();
    let requests = t.auth.request_authenticator();
    let token = t.bearer("user-1", &["admin"]).unwrap();
    let claims = requests
        .authenticate_headers([token.as_bytes()])
        .await
        .unwrap();
    assert_eq!(claims.roles, ["admin"]);
    requests
        .require::<authcore::testing::adapter::Admin>(&claims)
        .unwrap();
    assert!(matches!(
        requests.authorize(&claims, &["ops"]),
        Err(AuthError::InsufficientRole)
    ));
    assert!(matches!(
        requests
            .authenticate_headers([token.as_bytes(), token.as_bytes()])
            .await,
        Err(AuthError::MalformedHeader)
    ));
    assert!(matches!(
        requests.authenticate_headers([]).await,
        Err(AuthError::MissingCredentials)
    ));
    assert!(
        requests
            .authenticate_headers_optional([])
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        requests
            .authenticate_headers_optional([&b"Bearer x"[..], b"Bearer y"])
            .await,
        Err(AuthError::MalformedHeader)
    ));
}

#[tokio::test]
async fn the_verified_token_cache_is_opt_in_and_revocation_is_checked_on_every_hit() {
    let t = TestAuth::new();
    let counting = Arc::new(CountingVerifier::new(t.jwt.clone()));
    let revocations = Arc::new(MemoryRevocationStore::new());
    let cached: RequestAuthenticator = RequestAuthenticator::builder(counting.clone())
        .revocations(revocations.clone())
        .clock(t.clock.clone())
        .verified_token_cache(16)
        .build();
    let token = t.mint("user-1", &[]).unwrap();
    for _ in 0..3 {
        cached.authenticate_token(&token).await.unwrap();
    }
    assert_eq!(
        counting.take_calls(),
        1,
        "verified once, then answered from the cache"
    );
    let claims = cached.authenticate_token(&token).await.unwrap();
    revocations
        .revoke(&claims.jti, claims.exp + Duration::minutes(1))
        .await
        .unwrap();
    assert!(matches!(
        cached.authenticate_token(&token).await,
        Err(AuthError::Revoked)
    ));

    let uncached: RequestAuthenticator = RequestAuthenticator::builder(counting.clone()).build();
    for _ in 0..3 {
        uncached.authenticate_token(&token).await.unwrap();
    }
    assert_eq!(counting.take_calls(), 3, "no cache unless asked for");
}

/// Opaque tokens of an application's own format: `<id>` looked up in a table the issuer
/// and verifier share. Written outside authcore with its public API only.
#[derive(Debug, Default)]
struct TableTokens {
    issued: Mutex<HashMap<String, Claims>>,
    next: Mutex<u64>,
}

impl TokenIssuer for TableTokens {
    fn issue(
        &self,
        subject: &str,
        roles: &[String],
        session: Option<&str>,
        (): (),
    ) -> Result<IssuedToken, AuthError> {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let id = format!("tok{next}");
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let mut claims = Claims::builder("table", subject, "api")
            .issued_at(now)
            .expires_at(now + self.access_ttl())
            .jti(id.clone())
            .roles(roles.iter().cloned());
        if let Some(session) = session {
            claims = claims.session(session);
        }
        let claims = claims.build().unwrap();
        let expires_at = claims.exp;
        self.issued.lock().unwrap().insert(id.clone(), claims);
        Ok(IssuedToken::new(id.clone(), id, expires_at))
    }

    fn access_ttl(&self) -> Duration {
        Duration::minutes(5)
    }
}

impl TokenVerifier for TableTokens {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.issued
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .ok_or(AuthError::BadSignature)
    }

    fn leeway(&self) -> Duration {
        Duration::ZERO
    }
}

#[tokio::test]
async fn the_flow_runs_with_an_issuer_and_verifier_written_outside_authcore() {
    let tokens = Arc::new(TableTokens::default());
    let auth = Authenticator::builder()
        .issuer(tokens.clone())
        .verifier(tokens.clone())
        .memory_stores()
        .password_hasher(fast_hasher())
        .build()
        .unwrap();
    auth.register("ada@example.com", PASSWORD).await.unwrap();
    let pair = auth.login("ada@example.com", PASSWORD).await.unwrap();
    assert_eq!(pair.access_token, "tok1");
    let claims = auth
        .authenticate(Some(&header(&pair.access_token)))
        .await
        .unwrap();
    assert_eq!(claims.iss, "table");
    assert!(claims.sid.is_some(), "the issuer was given the session");

    let rotated = auth.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(rotated.access_token, "tok2");
    let claims = auth
        .authenticate(Some(&header(&rotated.access_token)))
        .await
        .unwrap();
    auth.logout(&claims).await.unwrap();
    for token in [&pair.access_token, &rotated.access_token] {
        assert!(matches!(
            auth.authenticate(Some(&header(token))).await,
            Err(AuthError::Revoked)
        ));
    }
    assert!(matches!(
        auth.authenticate(Some(b"Bearer tok99")).await,
        Err(AuthError::BadSignature)
    ));
}

/// A verifier whose keys change: it starts with one key and learns a second one when
/// asked to look for new keys.
#[derive(Debug)]
struct Rotating {
    current: Mutex<Arc<Jwt>>,
    next: Arc<Jwt>,
    refreshes: std::sync::atomic::AtomicUsize,
}

impl TokenVerifier for Rotating {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let current = self.current.lock().unwrap().clone();
        TokenVerifier::<()>::verify(&*current, token)
    }

    fn refresh_keys<'a>(&'a self, _token: &'a str) -> Option<authcore::KeyRefresh<'a>> {
        Some(Box::pin(async move {
            self.refreshes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *self.current.lock().unwrap() = self.next.clone();
        }))
    }
}

#[tokio::test]
async fn a_token_of_an_unknown_key_is_verified_again_after_the_verifier_looked_for_keys() {
    let old = TestAuth::new();
    let new = TestAuth::new();
    let rotating = Arc::new(Rotating {
        current: Mutex::new(old.jwt.clone()),
        next: new.jwt.clone(),
        refreshes: Default::default(),
    });
    let requests: RequestAuthenticator = RequestAuthenticator::builder(rotating.clone()).build();
    let count = || rotating.refreshes.load(std::sync::atomic::Ordering::SeqCst);

    // A known key: no refresh.
    requests
        .authenticate_token(&old.mint("u", &[]).unwrap())
        .await
        .unwrap();
    assert_eq!(count(), 0);
    // Other failures never ask for keys.
    assert!(requests.authenticate_token("a.b.c").await.is_err());
    assert_eq!(count(), 0);
    // A key the verifier does not know yet: one refresh, then it verifies.
    let claims = requests
        .authenticate_token(&new.mint("v", &[]).unwrap())
        .await
        .unwrap();
    assert_eq!((claims.sub.as_str(), count()), ("v", 1));
    // Unknown after the refresh too: refused, after one more look.
    assert!(matches!(
        requests
            .authenticate_token(&TestAuth::new().mint("w", &[]).unwrap())
            .await,
        Err(AuthError::UnknownKey)
    ));
    assert_eq!(count(), 2);
}
