//! The shared case table of `authcore::testing::adapter`, every row through axum.

use auth_axum::WithBearer;
use auth_axum::authcore::testing::TestAuth;
use auth_axum::authcore::testing::adapter::{self, cases, check_side_effects, verify_only_cases};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};

use crate::{app, body_json, get_request, send, verify_only_app};

#[tokio::test]
async fn every_row_of_the_shared_table() {
    let t = TestAuth::new();
    let router = app(t.auth.clone());
    let table = cases(&t).await;
    run(&router, &table).await;
    check_side_effects(&t, &table).await;
}

/// The rows of the extractors and guards, in a service whose state holds only the
/// request authenticator (no users, no refresh tokens, no signing key).
#[tokio::test]
async fn every_extractor_row_in_a_verify_only_service() {
    let t = TestAuth::new();
    let router = verify_only_app(t.auth.request_authenticator().clone());
    let table = verify_only_cases(&t).await;
    assert!(table.len() > 10, "only {} rows", table.len());
    run(&router, &table).await;
}

async fn run(router: &axum::Router, table: &[adapter::Case]) {
    for case in table {
        let r = &case.request;
        let mut request = Request::builder().method(r.method).uri(r.path);
        for (name, value) in &r.headers {
            // Raw bytes: one row sends a non-UTF-8 `Authorization`.
            request = request.header(
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let request = request.body(Body::from(r.body.clone())).unwrap();
        case.check(&send(router, request).await);
    }
}

#[tokio::test]
async fn with_bearer_sends_a_token_of_the_test_authenticator() {
    let t = TestAuth::new();
    let router = app(t.auth.clone());
    let request = get_request("/me")
        .with_bearer(&t, "user-7", &["admin", "ops"])
        .body(Body::empty())
        .unwrap();
    let response = send(&router, request).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        body_json(&response),
        serde_json::json!({"sub": "user-7", "roles": ["admin", "ops"]})
    );

    let request = get_request("/admin")
        .with_bearer(&t, "user-7", &["admin"])
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, request).await.status, 200);
}
