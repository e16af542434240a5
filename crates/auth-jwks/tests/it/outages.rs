//! A JWKS server that is down, slow, wrong or oversized; the background refresh.

use std::sync::Arc;
use std::time::Duration;

use auth_jwks::{JwksError, JwksVerifier};
use authcore::{AuthError, TokenVerifier};
use serde_json::json;

use crate::{
    AUD, Answer, ISS, JwksServer, LONG, Logs, RawKey, auth, closed_url, eventually, issuer, jwks,
    requests, started, token,
};

#[tokio::test]
async fn a_failing_server_leaves_the_old_keys_in_use() {
    let (logs, _guard) = Logs::capture();
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = started(&server, Duration::ZERO).await;
    let requests = requests(&verifier);
    server.set(Answer::status(500));
    assert!(matches!(
        verifier.refresh().await,
        Err(JwksError::Status { status: 500, .. })
    ));
    auth(&requests, &token(&k1)).await.expect("k1 after a 500");
    // an unknown kid fetches (cooldown zero), fails, and changes nothing
    let stranger = RawKey::new("k9").token(ISS, "k9");
    assert!(matches!(
        auth(&requests, &stranger).await,
        Err(AuthError::UnknownKey)
    ));
    assert_eq!(verifier.fetches(), 3);
    auth(&requests, &token(&k1)).await.expect("k1 still");
    assert_eq!(verifier.kids(), ["k1"]);
    let log = logs.text();
    assert!(log.contains("jwks_fetch_failed"), "{log}");
    assert!(log.contains("HTTP 500"), "{log}");
    assert_eq!(log.matches("jwks_fetched").count(), 1, "{log}");
    drop(server); // and with the server gone altogether
    assert!(matches!(
        verifier.refresh().await,
        Err(JwksError::Http { .. })
    ));
    auth(&requests, &token(&k1))
        .await
        .expect("k1 with the server gone");
}

#[tokio::test]
async fn a_slow_server_times_out_and_the_keys_stay() {
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .expect("build");
    server.set(Answer {
        delay: Duration::from_secs(5),
        ..Answer::ok(jwks(&[&k1]))
    });
    let started = std::time::Instant::now();
    let err = verifier.refresh().await.expect_err("timeout");
    assert!(matches!(err, JwksError::Http { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    TokenVerifier::<()>::verify(&verifier, &token(&k1)).expect("k1 after a timeout");
}

#[tokio::test]
async fn starting_without_keys_refuses_every_token_until_a_fetch_succeeds() {
    let k1 = issuer(ISS, "k1");
    // nothing listens
    let down = JwksVerifier::builder(closed_url().await)
        .issuer(ISS)
        .audience(AUD)
        .start_without_keys(true)
        .build()
        .await
        .expect("build succeeds with the server down");
    assert!(down.kids().is_empty());
    for token in [
        token(&k1),
        "e30.e30.c2ln".to_owned(),
        String::new(),
        "…".to_owned(),
    ] {
        assert!(matches!(
            TokenVerifier::<()>::verify(&down, &token),
            Err(AuthError::UnknownKey)
        ));
    }
    let down = Arc::new(down);
    assert!(matches!(
        auth(&requests(&down), &token(&k1)).await,
        Err(AuthError::UnknownKey)
    ));

    // answering 500, then the keys: the first token after that finds them
    let server = JwksServer::start(Answer::status(500)).await;
    let verifier = Arc::new(
        JwksVerifier::builder(server.url())
            .issuer(ISS)
            .audience(AUD)
            .cooldown(Duration::from_millis(200))
            .start_without_keys(true)
            .build()
            .await
            .expect("build"),
    );
    let requests = requests(&verifier);
    assert!(matches!(
        auth(&requests, &token(&k1)).await,
        Err(AuthError::UnknownKey)
    ));
    server.serve_keys(jwks(&[&k1]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    auth(&requests, &token(&k1))
        .await
        .expect("k1 once published");
}

#[tokio::test]
async fn without_start_without_keys_build_fails() {
    let err = JwksVerifier::builder(closed_url().await)
        .issuer(ISS)
        .audience(AUD)
        .build()
        .await
        .expect_err("server down");
    assert!(matches!(err, JwksError::Http { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("fetching http://127.0.0.1:"),
        "{err}"
    );

    let server = JwksServer::start(Answer::status(503)).await;
    let err = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .await
        .expect_err("503");
    assert!(
        matches!(err, JwksError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("answered HTTP 503"), "{err}");

    for (url, what) in [
        ("ftp://127.0.0.1/jwks.json", "ftp"),
        ("/jwks.json", "relative"),
        ("not a url", "garbage"),
    ] {
        let err = JwksVerifier::builder(url)
            .issuer(ISS)
            .audience(AUD)
            .build()
            .await
            .expect_err(what);
        assert!(matches!(err, JwksError::BadUrl { .. }), "{what}: {err:?}");
    }
    let err = JwksVerifier::builder(closed_url().await)
        .issuer(ISS)
        .audience(AUD)
        .configure(|b| b.leeway(authcore::time::Duration::seconds(-1)))
        .start_without_keys(true)
        .build()
        .await
        .expect_err("an invalid profile fails even without keys");
    assert!(matches!(err, JwksError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("leeway"), "{err}");
    let err = JwksVerifier::builder(server.url())
        .audience(AUD)
        .build()
        .await
        .expect_err("no issuer");
    assert!(matches!(err, JwksError::Config(_)), "{err:?}");
    let err = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .build()
        .await
        .expect_err("no audience");
    assert!(matches!(err, JwksError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn a_malformed_jwks_is_logged_and_the_old_keys_kept() {
    let (logs, _guard) = Logs::capture();
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .await
        .expect("build");
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
    let only_oct = json!({ "keys": [{ "kty": "oct", "kid": "h1", "k": secret }] }).to_string();
    let bad_ec =
        json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "e", "x": "AA", "y": "AA" }] })
            .to_string();
    type Check = fn(&JwksError) -> bool;
    let cases: [(&str, String, Check, &str); 5] = [
        (
            "not json",
            "not json".to_owned(),
            |e| matches!(e, JwksError::NotJwks { .. }),
            "not a JWKS document",
        ),
        (
            "keys not an array",
            r#"{"keys": "x"}"#.to_owned(),
            |e| matches!(e, JwksError::NotJwks { .. }),
            "not a JWKS document",
        ),
        (
            "only an oct key",
            only_oct,
            |e| matches!(e, JwksError::NoUsableKey { .. }),
            "no usable signature key",
        ),
        (
            "a broken EC key",
            bad_ec,
            |e| matches!(e, JwksError::NotJwks { .. }),
            "32 bytes",
        ),
        (
            "too large",
            format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(2 << 20)),
            |e| matches!(e, JwksError::TooLarge { .. }),
            "more than 1048576 bytes",
        ),
    ];
    for (what, body, expected, message) in cases {
        server.serve_keys(body);
        let err = verifier.refresh().await.expect_err(what);
        assert!(expected(&err), "{what}: {err:?}");
        assert!(err.to_string().contains(message), "{what}: {err}");
        TokenVerifier::<()>::verify(&verifier, &token(&k1)).expect(what);
        let log = logs.text();
        assert!(log.contains(message), "{what} not logged: {log}");
    }
    let log = logs.text();
    assert_eq!(log.matches("jwks_fetch_failed").count(), 5, "{log}");
    assert!(log.contains("WARN"), "{log}");
    assert!(!log.contains(secret), "a body in the log: {log}");
    assert!(!log.contains("xxxxxxxx"), "a body in the log");
    assert!(!log.contains("not json"), "a body in the log: {log}");
    assert_eq!(verifier.kids(), ["k1"]);
}

#[tokio::test]
async fn max_age_drives_a_background_refresh() {
    let k1 = issuer(ISS, "k1");
    let k2 = issuer(ISS, "k2");
    let server = JwksServer::start(Answer {
        cache_control: Some("public, max-age=1".to_owned()),
        ..Answer::ok(jwks(&[&k1]))
    })
    .await;
    let verifier = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .cooldown(LONG)
        .build()
        .await
        .expect("build");
    server.set(Answer {
        cache_control: Some("public, max-age=1".to_owned()),
        ..Answer::ok(jwks(&[&k1, &k2]))
    });
    // no token triggers anything: `verify` alone never fetches
    let new = token(&k2);
    assert!(
        eventually(Duration::from_secs(5), || {
            TokenVerifier::<()>::verify(&verifier, &new).is_ok()
        })
        .await,
        "k2 not picked up; {} fetches",
        verifier.fetches()
    );
    assert!(verifier.fetches() >= 2);

    // the background task stops with the verifier
    drop(verifier);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let hits = server.hits();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.hits(),
        hits,
        "fetches after the verifier was dropped"
    );
}

#[tokio::test]
async fn without_max_age_the_default_holds() {
    let k1 = issuer(ISS, "k1");
    let server = JwksServer::start(Answer::ok(jwks(&[&k1]))).await;
    let verifier = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .cooldown(LONG)
        .default_max_age(Duration::from_secs(1))
        .build()
        .await
        .expect("build");
    assert!(
        eventually(Duration::from_secs(5), || verifier.fetches() >= 2).await,
        "no background fetch"
    );
    assert!(server.hits() >= 2);
}
