//! The route-group guard: claims verified once and reused, nested guards, errors.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use auth_actix::authcore::Authenticator;
use auth_actix::authcore::testing::CountingVerifier;
use auth_actix::authcore::testing::adapter::Admin;
use auth_actix::authcore::testing::{TestAuth, fast_hasher};
use auth_actix::{Authenticated, Authorized, MaybeAuthenticated, RequireAuth, WithBearer};
use serde_json::json;

use crate::{header, json_body};

/// An authenticator over `t`'s keys and clock whose verifier counts.
fn counting(t: &TestAuth) -> (Arc<Authenticator>, Arc<CountingVerifier>) {
    let verifier = Arc::new(CountingVerifier::new(t.jwt.clone()));
    let auth = Authenticator::builder()
        .issuer(t.jwt.clone())
        .verifier(verifier.clone())
        .memory_stores()
        .revocations(verifier.revocations())
        .password_hasher(fast_hasher())
        .clock(t.clock.clone())
        .build()
        .expect("a complete configuration");
    (Arc::new(auth), verifier)
}

async fn all_three(
    user: Authenticated,
    admin: Authorized<Admin>,
    MaybeAuthenticated(maybe): MaybeAuthenticated,
) -> HttpResponse {
    assert_eq!(user.sub, admin.sub);
    assert_eq!(maybe.map(|c| c.sub).as_deref(), Some(user.sub.as_str()));
    HttpResponse::Ok().json(json!({"sub": user.sub}))
}

#[actix_web::test]
async fn the_token_is_verified_once_behind_nested_guards() {
    let t = TestAuth::new();
    let (auth, verifier) = counting(&t);
    let app = test::init_service(
        App::new()
            .configure(auth_actix::configure(auth))
            // No guard: the first extractor verifies, the others reuse its claims.
            .route("/unguarded/all", web::get().to(all_three))
            .service(
                web::scope("/api")
                    .wrap(RequireAuth::<()>::new())
                    .route("/all", web::get().to(all_three))
                    .service(
                        web::scope("/admin")
                            .wrap(RequireAuth::<Admin>::new())
                            .route("/all", web::get().to(all_three)),
                    ),
            ),
    )
    .await;

    for path in ["/unguarded/all", "/api/all", "/api/admin/all"] {
        let before = verifier.calls();
        let req = test::TestRequest::get()
            .uri(path)
            .with_bearer(&t, "ada", &["admin"]);
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(json_body(res).await, json!({"sub": "ada"}));
        assert_eq!(
            verifier.calls() - before,
            1,
            "{path}: one verification for the guards and three extractors"
        );
        assert_eq!(
            verifier.take_revocation_checks(),
            1,
            "{path}: revocation checks"
        );
    }

    // The inner guard checks the role on the claims the outer one stored.
    let before = verifier.calls();
    let req = test::TestRequest::get()
        .uri("/api/admin/all")
        .with_bearer(&t, "bob", &[]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        header(&res, "www-authenticate")
            .unwrap()
            .starts_with(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(verifier.calls() - before, 1);
}

async fn never() -> HttpResponse {
    panic!("the handler behind a refusing guard ran")
}

#[actix_web::test]
async fn a_rejection_stops_the_request_before_the_handler() {
    let t = TestAuth::new();
    let app = test::init_service(
        App::new()
            .configure(auth_actix::configure(t.auth.clone()))
            .service(
                web::scope("/api")
                    .wrap(RequireAuth::<()>::new())
                    .route("/ping", web::get().to(never)),
            ),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/api/ping")
        .insert_header(("authorization", "Bearer garbage"));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&res, "www-authenticate"),
        Some(r#"Bearer error="invalid_token", error_description="the token is malformed""#)
    );
    assert_eq!(header(&res, "content-type"), Some("application/json"));
    assert_eq!(
        json_body(res).await,
        json!({"error": "invalid_token", "error_description": "the token is malformed"})
    );
}
