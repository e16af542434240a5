//! The token routes at configured paths.

use std::sync::Arc;

use auth_axum::TokenRoutes;
use auth_axum::authcore::http::RoutePaths;
use auth_axum::authcore::testing::{TestAuth, adapter};
use auth_axum::authcore::{Algorithm, Authenticator, KeySet, SigningKey};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::{body_json, get_request, send};

fn post_json(path: &str, body: &serde_json::Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn token_routes_at_configured_paths() {
    let t = TestAuth::with_keys(KeySet::new(SigningKey::generate(Algorithm::EdDSA).unwrap()));
    let paths = RoutePaths::builder()
        .register("/auth/users")
        .token("/auth/token")
        .refresh("/auth/refresh")
        .logout("/auth/logout")
        .jwks("/auth/keys")
        .build()
        .unwrap();
    let router: Router = Router::new()
        .merge(
            TokenRoutes::new()
                .paths(paths)
                .router::<Arc<Authenticator>>(),
        )
        .with_state(t.auth.clone());

    let credentials = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let response = send(&router, post_json("/auth/users", &credentials)).await;
    assert_eq!(response.status, 201);
    assert_eq!(body_json(&response)["email"], "ada@example.com");
    assert_eq!(
        send(&router, post_json("/users", &credentials))
            .await
            .status,
        404
    );

    let response = send(&router, post_json("/auth/token", &credentials)).await;
    assert_eq!(response.status, 200);
    let pair = body_json(&response);
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let response = send(&router, post_json("/auth/refresh", &refresh)).await;
    assert_eq!(response.status, 200);
    let access = body_json(&response)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let logout = Request::post("/auth/logout")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let response = send(&router, logout).await;
    assert_eq!((response.status, response.body.len()), (204, 0));

    let response = send(
        &router,
        get_request("/auth/keys").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status, 200);
    let jwks = body_json(&response);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0]["kid"].is_string());
    let default_jwks = get_request("/.well-known/jwks.json")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, default_jwks).await.status, 404);
}

#[tokio::test]
async fn unreadable_and_oversized_bodies_are_the_cores_invalid_request() {
    let t = TestAuth::new();
    let router: Router = TokenRoutes::new()
        .paths(adapter::route_paths())
        .router()
        .with_state(t.auth.clone());
    let huge = vec![b' '; auth_axum::authcore::http::MAX_BODY_BYTES * 4];
    for request in [
        Request::post("/token").body(Body::from(huge)).unwrap(),
        Request::post("/users")
            .header("content-type", &b"application/json\xff"[..])
            .body(Body::from(r#"{"email":"a@b.c","password":"xxxxxxxxxx"}"#))
            .unwrap(),
    ] {
        let response = send(&router, request).await;
        assert_eq!(response.status, 400);
        let content_type = response
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str());
        assert_eq!(content_type, Some("application/json"));
        assert_eq!(body_json(&response)["error"], "invalid_request");
    }
}

#[tokio::test]
async fn registration_can_be_left_out() {
    let t = TestAuth::new();
    let paths = RoutePaths::builder().without_register().build().unwrap();
    let router: Router = Router::new()
        .merge(TokenRoutes::new().paths(paths).router())
        .with_state(t.auth.clone());
    let credentials = json!({"email": "ada@example.com", "password": "correct horse battery"});
    assert_eq!(
        send(&router, post_json("/users", &credentials))
            .await
            .status,
        404
    );
    // The other routes are there: an unknown user's login is refused, not missing.
    assert_eq!(
        send(&router, post_json("/token", &credentials))
            .await
            .status,
        401
    );
}
