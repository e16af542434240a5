//! The token routes: configurable paths, body limits, and a missing authenticator.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use actix_web::{App, test, web};
use auth_actix::authcore::http::{MAX_BODY_BYTES, RoutePaths};
use auth_actix::authcore::testing::TestAuth;
use auth_actix::authcore::testing::adapter::{self, Admin, PASSWORD};
use auth_actix::{
    Authenticated, Authorized, MaybeAuthenticated, RequireAuth, TokenRoutes, WithBearer,
};
use serde_json::{Value, json};

use crate::{header, json_body};

fn post_json(uri: &str, body: &Value) -> test::TestRequest {
    test::TestRequest::post().uri(uri).set_json(body)
}

#[actix_web::test]
async fn paths_are_configurable() {
    let t = TestAuth::new();
    let app = test::init_service(
        App::new().configure(
            TokenRoutes::new()
                .paths(
                    RoutePaths::builder()
                        .register("/api/users")
                        .token("/auth/login")
                        .refresh("/auth/refresh")
                        .logout("/auth/logout")
                        .jwks("/keys.json")
                        .build()
                        .unwrap(),
                )
                .configure(t.auth.clone()),
        ),
    )
    .await;
    let credentials = json!({"email": "ada@example.com", "password": PASSWORD});

    let res = test::call_service(&app, post_json("/api/users", &credentials).to_request()).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = test::call_service(&app, post_json("/auth/login", &credentials).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    let pair = json_body(res).await;

    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let res = test::call_service(&app, post_json("/auth/refresh", &refresh).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pair = json_body(res).await;

    let bearer = format!("Bearer {}", pair["access_token"].as_str().unwrap());
    let req = test::TestRequest::post()
        .uri("/auth/logout")
        .insert_header(("authorization", bearer.as_str()));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let req = test::TestRequest::get().uri("/keys.json");
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "HS256 only: no public keys"
    );
    assert_eq!(json_body(res).await["error"], "not_found");

    for default in ["/users", "/token", "/token/refresh", "/logout"] {
        let res = test::call_service(&app, post_json(default, &credentials).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{default}");
    }
}

#[actix_web::test]
async fn bodies_up_to_the_limit_are_read_and_larger_ones_are_invalid_requests() {
    let t = TestAuth::new();
    let routes = TokenRoutes::new().paths(adapter::route_paths());
    let app = test::init_service(App::new().configure(routes.configure(t.auth.clone()))).await;

    // Exactly MAX_BODY_BYTES, padded with JSON whitespace: accepted.
    let mut body = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    body.push_str(&" ".repeat(MAX_BODY_BYTES - body.len()));
    let req = test::TestRequest::post()
        .uri("/users")
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(body);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // One byte more, or a megabyte: never actix-web's plain-text 413.
    for size in [MAX_BODY_BYTES + 1, 1 << 20] {
        let req = test::TestRequest::post()
            .uri("/token")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload(vec![b' '; size]);
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{size} bytes");
        assert_eq!(header(&res, "content-type"), Some("application/json"));
        assert_eq!(json_body(res).await["error"], "invalid_request");
    }

    // A Content-Type that is not text reaches authcore, which refuses it.
    let req = test::TestRequest::post()
        .uri("/token")
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_bytes(b"application/json\xff").unwrap(),
        ))
        .set_payload(json!({"email": "ada@example.com", "password": PASSWORD}).to_string());
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(res).await["error"], "invalid_request");

    // Without a Content-Type, authcore reads JSON.
    let req = test::TestRequest::post()
        .uri("/token")
        .set_payload(json!({"email": "ada@example.com", "password": PASSWORD}).to_string());
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn me(user: Authenticated) -> String {
    user.sub.clone()
}

async fn maybe(user: MaybeAuthenticated) -> String {
    format!("{:?}", user.0.map(|c| c.sub))
}

async fn admin(user: Authorized<Admin>) -> String {
    user.sub.clone()
}

/// Without `configure`, every part answers authcore's `500 server_error` (and authcore
/// logs why); nothing answers actix-web's plain-text error, and nothing is let through.
#[actix_web::test]
async fn a_missing_authenticator_is_a_server_error_in_json() {
    let t = TestAuth::new();
    let app = test::init_service(
        App::new()
            .configure(auth_actix::routes)
            .route("/me", web::get().to(me))
            .route("/maybe", web::get().to(maybe))
            .route("/admin", web::get().to(admin))
            .service(
                web::scope("/group")
                    .wrap(RequireAuth::<()>::new())
                    .route("/ping", web::get().to(|| async { "pong" })),
            ),
    )
    .await;
    let requests = [
        test::TestRequest::get()
            .uri("/me")
            .with_bearer(&t, "ada", &[]),
        test::TestRequest::get().uri("/maybe"),
        test::TestRequest::get()
            .uri("/admin")
            .with_bearer(&t, "ada", &["admin"]),
        test::TestRequest::get()
            .uri("/group/ping")
            .with_bearer(&t, "ada", &[]),
        test::TestRequest::get().uri("/.well-known/jwks.json"),
        post_json(
            "/token",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        ),
        test::TestRequest::post()
            .uri("/logout")
            .with_bearer(&t, "ada", &[]),
    ];
    for req in requests {
        let res = test::call_service(&app, req.to_request()).await;
        let path = res.request().path().to_owned();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none(), "{path}");
        assert_eq!(
            header(&res, "content-type"),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(
            json_body(res).await,
            json!({"error": "server_error", "error_description": "internal error"}),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn registration_can_be_left_out() {
    let t = TestAuth::new();
    let paths = RoutePaths::builder().without_register().build().unwrap();
    let app = test::init_service(
        App::new().configure(TokenRoutes::new().paths(paths).configure(t.auth.clone())),
    )
    .await;
    let credentials = json!({"email": "ada@example.com", "password": PASSWORD});
    let res = test::call_service(&app, post_json("/users", &credentials).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The other routes are there: an unknown user's login is refused, not missing.
    let res = test::call_service(&app, post_json("/token", &credentials).to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
