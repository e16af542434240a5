//! The group guard stores the verified claims; the extractors behind it reuse them.

use std::sync::Arc;

use auth_axum::authcore::Authenticator;
use auth_axum::authcore::testing::CountingVerifier;
use auth_axum::authcore::testing::TestAuth;
use auth_axum::authcore::testing::adapter::Admin;
use auth_axum::{Authenticated, Authorized, MaybeAuthenticated, RequireAuth};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use serde_json::json;

use crate::{body_json, get_request, json_response, send};

fn counting_app(t: &TestAuth) -> (Router, Arc<CountingVerifier>) {
    let counting = Arc::new(CountingVerifier::new(t.jwt.clone()));
    let auth = Arc::new(
        Authenticator::builder()
            .issuer(t.jwt.clone())
            .verifier(counting.clone())
            .memory_stores()
            .revocations(counting.revocations())
            .clock(t.clock.clone())
            .build()
            .unwrap(),
    );
    let guarded =
        Router::new()
            .route(
                "/group/me",
                get(|user: Authenticated| async move { json_response(&json!({"sub": user.sub})) }),
            )
            .route(
                "/group/admin",
                get(|user: Authenticated, admin: Authorized<Admin>| async move {
                    assert_eq!(user.sub, admin.sub);
                    json_response(&json!({"ok": true}))
                }),
            )
            .route(
                "/group/maybe",
                get(
                    |MaybeAuthenticated(claims): MaybeAuthenticated,
                     option: Option<Authenticated>| async move {
                        assert_eq!(claims.map(|c| c.sub), option.map(|a| a.into_inner().sub));
                        json_response(&json!({"ok": true}))
                    },
                ),
            )
            .route_layer(RequireAuth::<()>::new(auth.clone()));
    // Nested guards: the outer one verifies, the inner one only checks the role.
    let nested = Router::new()
        .route(
            "/ping",
            get(|user: Authenticated| async move { json_response(&json!({"sub": user.sub})) }),
        )
        .route_layer(RequireAuth::<Admin>::new(auth.clone()));
    let nested = Router::new()
        .nest("/nested/admin", nested)
        .route_layer(RequireAuth::<()>::new(auth.clone()));
    let router = Router::new()
        .route(
            "/me",
            get(|user: Authenticated| async move { json_response(&json!({"sub": user.sub})) }),
        )
        // No guard: the first extractor verifies, the others reuse its claims.
        .route(
            "/unguarded/all",
            get(
                |user: Authenticated,
                 admin: Authorized<Admin>,
                 MaybeAuthenticated(maybe): MaybeAuthenticated| async move {
                    assert_eq!(user.sub, admin.sub);
                    assert_eq!(maybe.map(|c| c.sub), Some(user.sub.clone()));
                    json_response(&json!({"sub": user.sub}))
                },
            ),
        )
        .merge(guarded)
        .merge(nested)
        .with_state(auth);
    (router, counting)
}

#[tokio::test]
async fn behind_the_guard_a_token_is_verified_once() {
    let t = TestAuth::new();
    let (router, counting) = counting_app(&t);
    // One verification and one revocation check a request.
    let calls = || counting.take_calls_each_checked();

    for path in [
        "/me",
        "/unguarded/all",
        "/group/me",
        "/group/admin",
        "/group/maybe",
        "/nested/admin/ping",
    ] {
        let request = get_request(path)
            .header("authorization", t.bearer("ada", &["admin"]).unwrap())
            .body(Body::empty())
            .unwrap();
        let response = send(&router, request).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(calls(), 1, "{path}: verifications");
    }
    let request = get_request("/group/me")
        .header("authorization", t.bearer("ada", &[]).unwrap())
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body_json(&send(&router, request).await),
        json!({"sub": "ada"})
    );
    assert_eq!(calls(), 1);
}

#[tokio::test]
async fn extractors_behind_the_guard_still_check_roles() {
    let t = TestAuth::new();
    let (router, counting) = counting_app(&t);
    let request = get_request("/group/admin")
        .header("authorization", t.bearer("bob", &[]).unwrap())
        .body(Body::empty())
        .unwrap();
    let response = send(&router, request).await;
    assert_eq!(response.status, 403);
    assert_eq!(body_json(&response)["error"], "insufficient_scope");
    assert_eq!(counting.take_calls(), 1);

    let request = get_request("/nested/admin/ping")
        .header("authorization", t.bearer("bob", &[]).unwrap())
        .body(Body::empty())
        .unwrap();
    let response = send(&router, request).await;
    assert_eq!(response.status, 403, "the inner guard checks its role");
    assert_eq!(body_json(&response)["error"], "insufficient_scope");
    assert_eq!(counting.calls(), 1);
}

#[tokio::test]
async fn the_guard_rejects_before_the_handler_and_unknown_paths_stay_404() {
    let t = TestAuth::new();
    let (router, counting) = counting_app(&t);
    let response = send(
        &router,
        get_request("/group/me").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status, 401);
    assert_eq!(body_json(&response)["error"], "unauthorized");
    let response = send(
        &router,
        get_request("/group/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status, 404);
    assert_eq!(counting.calls(), 0);
}

#[tokio::test]
async fn option_of_authenticated_is_none_only_without_a_header() {
    let t = TestAuth::new();
    let router = Router::new()
        .route(
            "/opt",
            get(|user: Option<Authenticated>| async move {
                json_response(&json!({"sub": user.map(|u| u.into_inner().sub)}))
            }),
        )
        .with_state(t.auth.clone());
    let anonymous = send(&router, get_request("/opt").body(Body::empty()).unwrap()).await;
    assert_eq!(body_json(&anonymous), json!({"sub": null}));
    let request = get_request("/opt")
        .header("authorization", t.bearer("ada", &[]).unwrap())
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body_json(&send(&router, request).await),
        json!({"sub": "ada"})
    );
    let request = get_request("/opt")
        .header("authorization", "Bearer garbage")
        .body(Body::empty())
        .unwrap();
    let response = send(&router, request).await;
    assert_eq!(response.status, 401);
    assert_eq!(body_json(&response)["error"], "invalid_token");
}
