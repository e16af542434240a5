//! The shared case table of `authcore::testing::adapter`, every row through axum.

use auth_axum::WithBearer;
use auth_axum::authcore::testing::TestAuth;
use auth_axum::authcore::testing::adapter::{cases, check_side_effects};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};

use crate::{app, body_json, get_request, send};

#[tokio::test]
async fn every_row_of_the_shared_table() {
    let t = TestAuth::new();
    let router = app(t.auth.clone());
    let table = cases(&t).await;
    for case in &table {
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
        case.check(&send(&router, request).await);
    }
    check_side_effects(&t, &table).await;
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
