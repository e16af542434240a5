//! The guards beyond the table: claims verified once per request, sentinels, the group
//! guard's prefix matching, handlers answering guard errors, concurrency.

use std::sync::Arc;

use auth_rocket::authcore::testing::CountingVerifier;
use auth_rocket::authcore::testing::adapter::Admin;
use auth_rocket::authcore::testing::{TestAuth, fast_hasher};
use auth_rocket::authcore::{AuthError, Authenticator};
use auth_rocket::{
    AuthFairing, AuthRejection, Authenticated, Authorized, MaybeAuthenticated, RequireAuth,
    WithBearer,
};
use rocket::error::ErrorKind;
use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;
use tokio::task::JoinSet;

use crate::{Json, app, client, me_json, parts, quiet};

#[tokio::test]
async fn with_bearer_authenticates_local_requests() {
    let t = TestAuth::new();
    let client = client(app(t.auth.clone())).await;
    let response = client
        .get("/me")
        .with_bearer(&t, "user-1", &["admin"])
        .dispatch()
        .await;
    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"sub": "user-1", "roles": ["admin"]}));
    let response = client
        .get("/admin")
        .with_bearer(&t, "user-2", &[])
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Forbidden);
}

#[test]
fn with_bearer_works_on_the_blocking_client() {
    let t = TestAuth::new();
    let client = rocket::local::blocking::Client::untracked(app(t.auth.clone())).unwrap();
    let response = client
        .get("/admin-group/ping")
        .with_bearer(&t, "root", &["admin"])
        .dispatch();
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().as_deref(), Some(r#"{"pong":true}"#));
}

#[rocket::get("/all")]
fn all(
    a: Authenticated,
    b: Authenticated,
    admin: Authorized<Admin>,
    maybe: MaybeAuthenticated,
) -> Json {
    assert_eq!(a.sub, b.sub);
    assert_eq!(Some(&admin.sub), maybe.0.as_ref().map(|c| &c.sub));
    me_json(&a)
}

#[tokio::test]
async fn every_guard_reuses_one_verification() {
    let t = TestAuth::new();
    let counting = Arc::new(CountingVerifier::new(t.jwt.clone()));
    let auth = Authenticator::builder()
        .jwt(t.jwt.clone())
        .verifier(counting.clone())
        .memory_stores()
        .revocations(counting.revocations())
        .password_hasher(fast_hasher())
        .clock(t.clock.clone())
        .build()
        .unwrap();
    let rocket = rocket::custom(quiet())
        .attach(AuthFairing::new(Arc::new(auth)))
        .attach(RequireAuth::<()>::prefix("/group"))
        .attach(RequireAuth::<Admin>::prefix("/group/admin"))
        .mount("/", rocket::routes![all])
        .mount("/group/admin", rocket::routes![all]);
    let client = client(rocket).await;
    // One verification and one revocation check a request.
    let calls = || counting.take_calls_each_checked();

    for path in ["/all", "/group/admin/all"] {
        let response = client
            .get(path)
            .with_bearer(&t, "root", &["admin"])
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Ok, "{path}");
        assert_eq!(
            calls(),
            1,
            "{path}: two group guards and four guards, one verification"
        );

        let response = client
            .get(path)
            .header(Header::new("Authorization", "Bearer garbage"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Unauthorized, "{path}");
        assert_eq!(counting.take_calls(), 1, "{path}: a failure is cached too");
        assert_eq!(
            counting.take_revocation_checks(),
            0,
            "{path}: a bad token is never looked up"
        );
    }
}

#[rocket::get("/me")]
fn me_maybe(_user: MaybeAuthenticated) {}

#[rocket::get("/me")]
fn me_authorized(_user: Authorized<Admin>) {}

#[rocket::get("/me")]
fn me_result(_user: Result<Authenticated, &AuthError>) {}

#[tokio::test]
async fn sentinels_abort_the_launch_without_the_authenticator() {
    let routes = [
        rocket::routes![crate::me],
        rocket::routes![me_maybe],
        rocket::routes![me_authorized],
        rocket::routes![me_result],
    ];
    for routes in routes {
        let name = routes[0].name.clone();
        let error = Client::tracked(rocket::custom(quiet()).mount("/", routes))
            .await
            .err()
            .unwrap_or_else(|| panic!("{name:?} launched"));
        match error.kind() {
            ErrorKind::SentinelAborts(sentries) => {
                assert!(sentries[0].type_name.starts_with("auth_rocket::"))
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_group_guard_without_the_authenticator_aborts_the_launch() {
    let rocket = rocket::custom(quiet())
        .attach(RequireAuth::<()>::prefix("/group"))
        .mount("/group", rocket::routes![crate::ping]);
    let error = Client::tracked(rocket).await.expect_err("launched");
    assert!(
        matches!(error.kind(), ErrorKind::FailedFairings(_)),
        "{:?}",
        error.kind()
    );

    // Attached before the authenticator's fairing is fine.
    let t = TestAuth::new();
    let rocket = rocket::custom(quiet())
        .attach(RequireAuth::<()>::prefix("/group"))
        .attach(AuthFairing::new(t.auth.clone()))
        .mount("/group", rocket::routes![crate::ping]);
    let client = client(rocket).await;
    let response = client.get("/group/ping").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

#[tokio::test]
async fn managing_the_authenticator_twice_aborts_the_launch() {
    let t = TestAuth::new();
    let rocket = rocket::custom(quiet())
        .manage(t.auth.clone())
        .attach(AuthFairing::new(t.auth.clone()));
    let error = Client::tracked(rocket).await.expect_err("launched");
    assert!(matches!(error.kind(), ErrorKind::FailedFairings(_)));
}

#[tokio::test]
async fn a_verify_only_fairing_mounts_no_token_route_and_refuses_with_routes() {
    let t = TestAuth::new();
    let requests = t.auth.request_authenticator().clone();
    let rocket =
        rocket::custom(quiet()).attach(AuthFairing::verify_only(requests.clone()).with_routes());
    let error = Client::tracked(rocket).await.expect_err("launched");
    assert!(matches!(error.kind(), ErrorKind::FailedFairings(_)));

    // Without routes it launches; the guards work, no token route exists, and no
    // `Authenticator` is managed.
    let rocket = rocket::custom(quiet())
        .attach(AuthFairing::verify_only(requests))
        .mount("/", rocket::routes![crate::me]);
    let client = client(rocket).await;
    assert!(client.rocket().state::<Arc<Authenticator>>().is_none());
    let response = client.post("/token").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    let response = client
        .get("/me")
        .with_bearer(&t, "user-1", &[])
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
}

#[tokio::test]
async fn the_group_guard_matches_segments_as_the_router_does() {
    let t = TestAuth::new();
    let rocket = app(t.auth.clone()).mount("/", rocket::routes![groupie]);
    let client = client(rocket).await;
    let unauthorized = (
        401,
        Some("Bearer".to_owned()),
        json!({"error": "unauthorized", "error_description": "no credentials were sent"}),
    );
    // Percent-encoded, doubled slashes, a trailing slash: Rocket routes all of these to
    // `/group/ping`, so the guard covers them.
    for path in [
        "/group/ping",
        "/%67roup/ping",
        "//group//ping",
        "/group/ping/",
        "/group",
    ] {
        let response = client.get(path).dispatch().await;
        assert_eq!(parts(response).await, unauthorized, "{path}");
    }
    // Other methods, and paths no route serves, are rejected before routing.
    for method in [Method::Post, Method::Delete, Method::Patch] {
        let response = client.req(method, "/group/nowhere").dispatch().await;
        assert_eq!(parts(response).await, unauthorized, "{method}");
    }
    let response = client.head("/group/ping").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(
        response.headers().get_one("WWW-Authenticate"),
        Some("Bearer")
    );
    assert!(response.into_bytes().await.unwrap_or_default().is_empty());
    // A segment that merely starts like the prefix is not guarded.
    let response = client.get("/groupie").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    // The internal path answers nothing by itself.
    let response = client.get("/__auth-rocket/rejected").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
}

#[rocket::get("/groupie")]
fn groupie() {}

#[tokio::test]
async fn several_authorization_headers_are_malformed() {
    let t = TestAuth::new();
    let client = client(app(t.auth.clone())).await;
    let token = t.bearer("user", &[]).unwrap();
    let response = client
        .get("/me")
        .header(Header::new("Authorization", token.clone()))
        .header(Header::new("Authorization", "Bearer garbage"))
        .dispatch()
        .await;
    let (status, challenge, body) = parts(response).await;
    assert_eq!(status, 400);
    assert!(challenge.unwrap().contains("invalid_request"));
    assert_eq!(body["error"], "invalid_request");
}

#[rocket::get("/result")]
fn result(user: Result<Authenticated, &AuthError>) -> Json {
    match user {
        Ok(u) => me_json(&u),
        Err(e) => crate::json(&json!({"failed": e.to_string()})),
    }
}

#[rocket::get("/rejection")]
fn rejection() -> Result<(), AuthRejection> {
    Err(AuthError::Expired.into())
}

#[tokio::test]
async fn handlers_answer_guard_errors_as_they_choose() {
    let t = TestAuth::new();
    let rocket = app(t.auth.clone()).mount("/", rocket::routes![result, rejection]);
    let client = client(rocket).await;

    let response = client
        .get("/result")
        .header(Header::new("Authorization", "Bearer garbage"))
        .dispatch()
        .await;
    assert_eq!(
        parts(response).await,
        (200, None, json!({"failed": "the token is malformed"}))
    );

    let (status, challenge, body) = parts(client.get("/rejection").dispatch().await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(challenge.unwrap().contains("the token has expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_succeed() {
    let t = TestAuth::new();
    let client = Arc::new(client(app(t.auth.clone())).await);
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let client = client.clone();
        let subject = format!("user-{i}");
        let header = t.bearer(&subject, &["admin"]).unwrap();
        tasks.spawn(async move {
            let path = [
                "/me",
                "/admin",
                "/maybe",
                "/group/ping",
                "/admin-group/ping",
            ][i % 5];
            let response = client
                .get(path)
                .header(Header::new("Authorization", header))
                .dispatch()
                .await;
            let (status, _, body) = crate::parts(response).await;
            assert_eq!(status, 200, "{path}");
            if path == "/me" {
                assert_eq!(body["sub"], subject);
            }
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
        done += 1;
    }
    assert_eq!(done, 50);
}
