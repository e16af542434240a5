//! Verification, rotation, unknown kids, foreign issuers and the profile for foreign tokens.

use std::sync::Arc;
use std::time::Duration;

use auth_jwks::{DEFAULT_COOLDOWN, JwksVerifier};
use authcore::{AuthError, RegisteredClaim, RolesClaim, TokenVerifier};
use serde_json::{Value, json};

use crate::{
    AUD, Answer, ISS, JwksServer, LONG, Logs, RawKey, auth, issuer, jwks, requests, started, token,
};

#[tokio::test]
async fn a_token_verifies_and_debug_shows_no_key_material() {
    let (logs, _guard) = Logs::capture();
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, DEFAULT_COOLDOWN).await;
    let requests = requests(&verifier);
    let claims = auth(&requests, &token(&k1)).await.expect("k1's token");
    assert_eq!(claims.sub, "user-1");
    assert_eq!(verifier.fetches(), 1);
    assert_eq!(verifier.kids(), ["k1"]);
    assert_eq!(server.hits(), 1);

    let debug = format!("{verifier:?}");
    assert!(
        debug.contains("k1") && debug.contains(&server.url()),
        "{debug}"
    );
    let jwk: Value = serde_json::from_str(&jwks(&[&k1])).unwrap();
    for member in ["x", "y"] {
        let value = jwk["keys"][0][member].as_str().unwrap();
        assert!(!debug.contains(value), "{member} in {debug}");
        assert!(!logs.text().contains(value), "{member} in the log");
    }
    let log = logs.text();
    assert_eq!(log.matches("jwks_fetched").count(), 1, "{log}");
    assert!(log.contains("keys=1"), "{log}");
}

#[tokio::test]
async fn rotation_fetches_once_for_a_new_key_and_drops_a_withdrawn_one() {
    // long enough that the steps after a fetch stay within it on a loaded machine
    let cooldown = Duration::from_secs(1);
    let k1 = issuer(ISS, "k1");
    let k2 = issuer(ISS, "k2");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, cooldown).await;
    let requests = requests(&verifier);
    let old = token(&k1);
    auth(&requests, &old).await.expect("k1 before rotation");

    // k2 is added and signs: one fetch, then accepted
    server.serve_keys(jwks(&[&k1, &k2]));
    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let new = token(&k2);
    auth(&requests, &new).await.expect("k2 after one fetch");
    assert_eq!(verifier.fetches(), 2, "exactly one refetch");
    auth(&requests, &new).await.expect("k2 again");
    auth(&requests, &old).await.expect("k1 still published");
    assert_eq!(verifier.fetches(), 2, "known keys need no fetch");

    // k1 leaves the JWKS: after the next fetch its tokens are refused
    server.serve_keys(jwks(&[&k2]));
    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let stranger = RawKey::new("k3").token(ISS, "k3");
    assert!(matches!(
        auth(&requests, &stranger).await,
        Err(AuthError::UnknownKey)
    ));
    assert_eq!(verifier.fetches(), 3, "the unknown kid caused one fetch");
    assert_eq!(verifier.kids(), ["k2"]);
    assert!(matches!(
        auth(&requests, &old).await,
        Err(AuthError::UnknownKey)
    ));
    auth(&requests, &new).await.expect("k2 still");
    assert_eq!(
        verifier.fetches(),
        3,
        "k1's refusal within the cooldown: no fetch"
    );
}

#[tokio::test]
async fn unknown_kids_fetch_at_most_once_per_cooldown() {
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, LONG).await;
    let requests = requests(&verifier);
    let attacker = RawKey::new("attacker");
    for i in 0..1000u32 {
        let kid = format!("kid-{:08x}", i.wrapping_mul(2_654_435_761));
        let forged = attacker.token(ISS, &kid);
        assert!(
            matches!(auth(&requests, &forged).await, Err(AuthError::UnknownKey)),
            "token {i}"
        );
    }
    assert!(verifier.fetches() <= 2, "{} fetches", verifier.fetches());
    assert!(server.hits() <= 2, "{} requests", server.hits());
    auth(&requests, &token(&k1)).await.expect("k1 still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch() {
    // long enough that every task is answered within it on a loaded machine
    let cooldown = Duration::from_secs(2);
    let k1 = issuer(ISS, "k1");
    let k2 = issuer(ISS, "k2");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, cooldown).await;
    let requests = Arc::new(requests(&verifier));
    server.serve_keys(jwks(&[&k1, &k2]));
    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let new = Arc::new(token(&k2));
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (requests, new, barrier) = (
                Arc::clone(&requests),
                Arc::clone(&new),
                Arc::clone(&barrier),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                auth(&requests, &new).await.map(|c| c.sub)
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("a task").expect("k2's token"), "user-1");
    }
    assert_eq!(verifier.fetches(), 2, "one fetch for fifty misses");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_foreign_issuer_never_causes_a_fetch() {
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, Duration::ZERO).await;
    let requests = requests(&verifier);
    let foreign = RawKey::new("f1");
    for token in [
        foreign.token("https://evil.invalid", "f1"),
        foreign.token(&format!("{ISS}/"), "f1"),
        "e30.bm90IGpzb24.c2ln".to_owned(), // payload: not json
        "e30.e30.c2ln".to_owned(),         // payload: {}
        "a.b".to_owned(),
    ] {
        assert!(
            auth(&requests, &token).await.is_err(),
            "{token} was accepted"
        );
    }
    assert_eq!(verifier.fetches(), 1, "no fetch for foreign tokens");
    assert_eq!(server.hits(), 1);
    // control: with the cooldown at zero, a token of the right issuer does fetch
    let _ = auth(&requests, &foreign.token(ISS, "f1")).await;
    assert_eq!(verifier.fetches(), 2);
}

fn keycloak_token(key: &RawKey, iss: &str) -> String {
    let now = authcore::time::OffsetDateTime::now_utc().unix_timestamp();
    key.sign(
        &json!({ "alg": "ES256", "typ": "JWT", "kid": key.kid }),
        &json!({
            "exp": now + 300, "iat": now, "jti": "kc-1", "iss": iss, "aud": AUD,
            "sub": "f:kc:user", "typ": "Bearer", "azp": "shop",
            "realm_access": { "roles": ["admin", "offline_access"] },
            "scope": "openid email", "preferred_username": "alice",
        }),
    )
}

#[tokio::test]
async fn a_configured_profile_reads_foreign_tokens() {
    let kc = RawKey::new("kc-key");
    let server = JwksServer::start(Answer::ok(json!({ "keys": [kc.jwk()] }).to_string())).await;
    let keycloak = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .configure(|b| {
            b.accept_typ("JWT")
                .optional_claim(RegisteredClaim::Nbf)
                .roles_claim(RolesClaim::array("realm_access.roles"))
        })
        .build()
        .await
        .expect("build");
    let token = keycloak_token(&kc, ISS);
    let claims = TokenVerifier::<()>::verify(&keycloak, &token).expect("keycloak's token");
    assert_eq!(claims.sub, "f:kc:user");
    assert_eq!(claims.roles, ["admin", "offline_access"]);
    assert!(claims.has_roles(&["admin"]));

    // the profile survives a change of keys
    let kc2 = RawKey::new("kc-key-2");
    server.serve_keys(json!({ "keys": [kc.jwk(), kc2.jwk()] }).to_string());
    keycloak.refresh().await.expect("refresh");
    let claims = TokenVerifier::<()>::verify(&keycloak, &keycloak_token(&kc2, ISS))
        .expect("the new key's token");
    assert_eq!(claims.roles, ["admin", "offline_access"]);

    // control: authcore's strict profile refuses the same token
    let strict = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .await
        .expect("build");
    assert!(matches!(
        TokenVerifier::<()>::verify(&strict, &token),
        Err(AuthError::WrongType)
    ));
}
