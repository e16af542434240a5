//! OpenID discovery: the JWKS URL from `/.well-known/openid-configuration`.

use std::sync::Arc;

use auth_jwks::{JwksError, JwksVerifier};
use serde_json::json;

use crate::{AUD, Answer, JwksServer, auth, issuer, jwks, requests, token};

#[tokio::test]
async fn discovery_finds_the_jwks() {
    let server = JwksServer::start(Answer::status(404)).await;
    let iss = server.base.clone();
    let k1 = issuer(&iss, "k1");
    server.serve_keys(jwks(&[&k1]));
    server.set_discovery(Answer::ok(
        json!({ "issuer": iss, "jwks_uri": server.url(), "token_endpoint": "x" }).to_string(),
    ));
    let verifier = Arc::new(
        JwksVerifier::discover(&iss)
            .audience(AUD)
            .build()
            .await
            .expect("discovery"),
    );
    assert_eq!(verifier.url(), server.url());
    auth(&requests(&verifier), &token(&k1)).await.expect("k1");

    // the builder method, with a trailing slash on the URL
    let verifier = JwksVerifier::builder("unused")
        .discovery(format!("{iss}/"))
        .issuer(&iss)
        .audience(AUD)
        .build()
        .await
        .expect("discovery");
    assert_eq!(verifier.url(), server.url());
}

#[tokio::test]
async fn a_bad_discovery_document_is_a_clear_error() {
    let server = JwksServer::start(Answer::status(404)).await;
    let iss = server.base.clone();
    let cases = [
        ("not json", "not json".to_owned(), "not a JSON object"),
        (
            "no jwks_uri",
            json!({ "issuer": iss }).to_string(),
            "no jwks_uri",
        ),
        (
            "jwks_uri not http",
            json!({ "issuer": iss, "jwks_uri": "file:///etc/passwd" }).to_string(),
            "jwks_uri",
        ),
        (
            "another issuer",
            json!({ "issuer": "https://evil.invalid", "jwks_uri": server.url() }).to_string(),
            "is not the configured",
        ),
        (
            "no issuer",
            json!({ "jwks_uri": server.url() }).to_string(),
            "no issuer",
        ),
    ];
    for (what, body, message) in cases {
        server.set_discovery(Answer::ok(body));
        let err = JwksVerifier::discover(&iss)
            .audience(AUD)
            .build()
            .await
            .expect_err(what);
        assert!(
            matches!(err, JwksError::BadDiscovery { .. }),
            "{what}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("openid-configuration"), "{what}: {text}");
        assert!(text.contains(message), "{what}: {text}");
    }
    server.set_discovery(Answer::status(404));
    let err = JwksVerifier::discover(&iss)
        .audience(AUD)
        .build()
        .await
        .expect_err("404");
    assert!(
        matches!(err, JwksError::Status { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(server.hits(), 0, "no JWKS fetched after a bad discovery");
}
