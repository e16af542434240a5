//! The authenticator's cache of verified tokens: what it answers, and what it never does.

use std::sync::Arc;

use authcore::testing::CountingVerifier;
use authcore::testing::{ManualClock, TestAuth, fast_hasher};
use authcore::{AuthError, Authenticator};
use time::Duration;

/// An authenticator over a counting verifier; `slots` as given to
/// `verified_token_cache`, or the default when `None`.
fn counting(slots: Option<usize>) -> (Authenticator, Arc<CountingVerifier>, TestAuth) {
    let t = TestAuth::new();
    let counting = Arc::new(CountingVerifier::new(t.jwt.clone()));
    let mut builder = Authenticator::builder()
        .jwt(t.jwt.clone())
        .verifier(counting.clone())
        .memory_stores()
        .password_hasher(fast_hasher())
        .clock(t.clock.clone());
    if let Some(slots) = slots {
        builder = builder.verified_token_cache(slots);
    }
    (builder.build().unwrap(), counting, t)
}

fn header(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

#[tokio::test]
async fn a_token_that_verified_is_answered_from_the_cache() {
    let (auth, counting, t) = counting(Some(64));
    let token = t.mint("ada", &["admin"]).unwrap();
    let first = auth.authenticate(Some(&header(&token))).await.unwrap();
    for _ in 0..5 {
        let again = auth.authenticate(Some(&header(&token))).await.unwrap();
        assert_eq!(again, first);
    }
    assert_eq!(counting.calls(), 1);
    // another token is verified, once
    let other = t.mint("bob", &[]).unwrap();
    for _ in 0..3 {
        assert_eq!(auth.authenticate_token(&other).await.unwrap().sub, "bob");
    }
    assert_eq!(counting.calls(), 2);
    assert!(format!("{auth:?}").contains("verified_token_cache: true"));
}

#[tokio::test]
async fn a_custom_verifier_is_asked_every_time_unless_the_cache_is_chosen() {
    for (slots, calls, shown) in [(None, 3, false), (Some(0), 3, false), (Some(8), 1, true)] {
        let (auth, counting, t) = counting(slots);
        let token = t.mint("ada", &[]).unwrap();
        for _ in 0..3 {
            auth.authenticate_token(&token).await.unwrap();
        }
        assert_eq!(counting.calls(), calls, "{slots:?}");
        let debug = format!("{auth:?}");
        assert!(
            debug.contains(&format!("verified_token_cache: {shown}")),
            "{debug}"
        );
    }
}

#[tokio::test]
async fn failures_are_not_cached_and_tampering_never_hits() {
    let (auth, counting, t) = counting(Some(64));
    let token = t.mint("ada", &["admin"]).unwrap();
    auth.authenticate_token(&token).await.unwrap();
    // the same signature (so the same slot) on another payload: verified, and refused
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let other = t.mint("mallory", &["admin"]).unwrap();
    let other_payload = other.split('.').nth(1).unwrap();
    let forged = format!("{head}.{other_payload}.{signature}");
    for _ in 0..2 {
        assert!(matches!(
            auth.authenticate_token(&forged).await,
            Err(AuthError::BadSignature)
        ));
    }
    assert_eq!(counting.calls(), 3, "each refusal is verified");
    // the genuine token is still answered, unchanged
    assert_eq!(auth.authenticate_token(&token).await.unwrap().sub, "ada");
    assert_eq!(counting.calls(), 3);
}

#[tokio::test]
async fn revocation_is_checked_on_every_request() {
    let t = TestAuth::new();
    t.auth
        .register("ada@example.com", "correct horse battery")
        .await
        .unwrap();
    let pair = t
        .auth
        .login("ada@example.com", "correct horse battery")
        .await
        .unwrap();
    let claims = t.auth.authenticate_token(&pair.access_token).await.unwrap();
    t.auth.authenticate_token(&pair.access_token).await.unwrap();
    t.auth.logout(&claims).await.unwrap();
    assert!(matches!(
        t.auth.authenticate_token(&pair.access_token).await,
        Err(AuthError::Revoked)
    ));
}

#[tokio::test]
async fn expiry_is_the_verifiers_once_the_claims_are_out_of_force() {
    let (auth, counting, t) = counting(Some(64));
    let clock: &ManualClock = &t.clock;
    let token = t.mint("ada", &[]).unwrap();
    let claims = auth.authenticate_token(&token).await.unwrap();
    // a second before exp: still a hit
    clock.set(claims.exp - Duration::seconds(1));
    auth.authenticate_token(&token).await.unwrap();
    assert_eq!(counting.calls(), 1);
    // from exp on the cache no longer answers: the verifier does, every time, and
    // accepts within its leeway (30 s by default), then refuses
    for (at, calls) in [(0, 2), (29, 3)] {
        clock.set(claims.exp + Duration::seconds(at));
        auth.authenticate_token(&token).await.unwrap();
        assert_eq!(counting.calls(), calls, "at exp + {at} s");
    }
    clock.set(claims.exp + Duration::seconds(30));
    assert!(matches!(
        auth.authenticate_token(&token).await,
        Err(AuthError::Expired)
    ));
    assert_eq!(counting.calls(), 4);
    // not yet valid: a clock set back before nbf is not answered from the cache either
    clock.set(claims.nbf - Duration::seconds(1));
    auth.authenticate_token(&token).await.unwrap();
    assert_eq!(counting.calls(), 5);
}

#[tokio::test]
async fn the_default_authenticator_caches_and_extra_claims_do_not() {
    let t = TestAuth::new();
    assert!(format!("{:?}", t.auth).contains("verified_token_cache: true"));
    let with_extra = Authenticator::builder()
        .extra_claims(|_| ())
        .jwt(t.jwt.clone())
        .memory_stores()
        .build()
        .unwrap();
    assert!(format!("{with_extra:?}").contains("verified_token_cache: false"));
    let chosen = Authenticator::builder()
        .extra_claims(|_| ())
        .jwt(t.jwt.clone())
        .memory_stores()
        .verified_token_cache(16)
        .build()
        .unwrap();
    assert!(format!("{chosen:?}").contains("verified_token_cache: true"));
}
