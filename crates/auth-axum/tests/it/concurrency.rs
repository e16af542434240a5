//! Concurrent requests through one router.

use auth_axum::WithBearer;
use auth_axum::authcore::testing::TestAuth;
use axum::body::Body;
use serde_json::json;

use crate::{app, body_json, get_request, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_all_succeed() {
    let t = TestAuth::new();
    let router = app(t.auth.clone());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let router = router.clone();
            let (path, roles): (&str, &[&str]) = match i % 3 {
                0 => ("/me", &[]),
                1 => ("/admin", &["admin"]),
                _ => ("/group/ping", &[]),
            };
            let request = get_request(path)
                .with_bearer(&t, &format!("user-{i}"), roles)
                .body(Body::empty())
                .unwrap();
            tokio::spawn(async move { (i, send(&router, request).await) })
        })
        .collect();
    for task in tasks {
        let (i, response) = task.await.unwrap();
        assert_eq!(response.status, 200, "request {i}");
        if i % 3 == 0 {
            assert_eq!(
                body_json(&response),
                json!({"sub": format!("user-{i}"), "roles": []})
            );
        }
    }
}
