//! In-process axum benchmarks: what the `Authenticated` extractor adds to a request.
//!
//! - `protected/axum`: `GET /me` through the router to a handler taking `Authenticated`
//!   (HS256 via `TestAuth`, in-memory revocation check) and returning a constant JSON.
//! - `unprotected/axum`: the same request, the same router set-up and the same constant
//!   JSON, from a handler without the extractor.
//! - `authenticate/core`: `Authenticator::authenticate` on the same header value.
//!
//! All three run each iteration with `block_on` on one current-thread tokio runtime, so
//! they share the harness overhead: `protected − unprotected` is the extractor's cost,
//! to be compared with `authenticate/core`. Each request is built per iteration (the
//! same request for both routers, `Authorization` included) and its body is read.

use std::hint::black_box;
use std::time::Duration;

use auth_axum::Authenticated;
use authcore::testing::TestAuth;
use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const BODY: &str = r#"{"ok":true}"#;

fn constant() -> Response {
    ([(CONTENT_TYPE, "application/json")], BODY).into_response()
}

async fn protected(user: Authenticated) -> Response {
    black_box(&user);
    constant()
}

async fn unprotected() -> Response {
    constant()
}

fn request(authorization: &HeaderValue) -> Request<Body> {
    let mut request = Request::new(Body::empty());
    *request.uri_mut() = axum::http::Uri::from_static("/me");
    request
        .headers_mut()
        .insert(AUTHORIZATION, authorization.clone());
    request
}

/// One request through `router`, its body read; the status.
async fn send(router: &Router, authorization: &HeaderValue) -> StatusCode {
    let response = router
        .clone()
        .oneshot(request(authorization))
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    black_box(body.map(|b| b.len()).unwrap_or_default());
    status
}

fn bench_axum(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // verification itself, as measured before the verified-token cache existed
    let t = TestAuth::new().verified_token_cache(0);
    let bearer = t
        .bearer("user-1234567890", &["user", "admin"])
        .unwrap_or_else(|e| panic!("minting: {e}"));
    let header = HeaderValue::from_str(&bearer).unwrap_or_else(|e| panic!("header: {e}"));

    let protected_app = Router::new()
        .route("/me", get(protected))
        .with_state(t.auth.clone());
    let unprotected_app = Router::new()
        .route("/me", get(unprotected))
        .with_state(t.auth.clone());
    check(&rt, &protected_app, &unprotected_app, &t, &header);

    c.bench_function("protected/axum", |b| {
        b.iter(|| rt.block_on(send(&protected_app, &header)));
    });
    c.bench_function("unprotected/axum", |b| {
        b.iter(|| rt.block_on(send(&unprotected_app, &header)));
    });
    c.bench_function("authenticate/core", |b| {
        b.iter(|| {
            rt.block_on(async {
                let claims = t
                    .auth
                    .authenticate(Some(black_box(header.as_bytes())))
                    .await;
                black_box(claims.is_ok())
            })
        });
    });
}

/// Before timing: both routes answer `200`, and the token authenticates.
fn check(rt: &Runtime, protected: &Router, unprotected: &Router, t: &TestAuth, h: &HeaderValue) {
    assert_eq!(rt.block_on(send(protected, h)), StatusCode::OK);
    assert_eq!(rt.block_on(send(unprotected, h)), StatusCode::OK);
    assert!(rt.block_on(t.auth.authenticate(Some(h.as_bytes()))).is_ok());
    let anonymous = HeaderValue::from_static("Basic dXNlcjpwdw==");
    assert_eq!(
        rt.block_on(send(protected, &anonymous)),
        StatusCode::UNAUTHORIZED
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_axum
}
criterion_main!(benches);
