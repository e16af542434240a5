//! The token routes at configured paths and under a base.

use auth_rocket::authcore::http::{MAX_BODY_BYTES, RoutePaths};
use auth_rocket::authcore::testing::TestAuth;
use auth_rocket::authcore::testing::adapter::{self, PASSWORD};
use auth_rocket::authcore::{Algorithm, KeySet, SigningKey};
use auth_rocket::{AuthFairing, TokenRoutes, routes};
use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::{client, parts, quiet};

#[tokio::test]
async fn paths_are_configurable() {
    let t = TestAuth::with_keys(KeySet::new(SigningKey::generate(Algorithm::EdDSA).unwrap()));
    let paths = RoutePaths::builder()
        .register("/signup")
        .token("/login")
        .refresh("/renew")
        .logout("/bye")
        .jwks("/keys.json")
        .build()
        .unwrap();
    let custom = TokenRoutes::new().paths(paths).routes();
    let rocket = rocket::custom(quiet())
        .attach(AuthFairing::new(t.auth.clone()))
        .mount("/auth", custom)
        .mount("/v1", routes());
    let client = client(rocket).await;
    let credentials = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();

    let post = |path: &'static str, body: String| {
        client
            .post(path)
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
    };
    assert_eq!(
        post("/auth/signup", credentials.clone()).await.status(),
        Status::Created
    );
    let (status, _, pair) = parts(post("/auth/login", credentials.clone()).await).await;
    assert_eq!(status, 200);
    let refresh = json!({"refresh_token": pair["refresh_token"]}).to_string();
    let (status, _, pair) = parts(post("/auth/renew", refresh).await).await;
    assert_eq!(status, 200);
    let response = client
        .post("/auth/bye")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", pair["access_token"].as_str().unwrap()),
        ))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NoContent);
    let (status, _, jwks) = parts(client.get("/auth/keys.json").dispatch().await).await;
    assert_eq!(status, 200);
    assert!(jwks["keys"][0]["kid"].is_string());

    // The defaults under a base.
    assert_eq!(
        post("/v1/token", credentials.clone()).await.status(),
        Status::Ok
    );
    assert_eq!(
        client
            .get("/v1/.well-known/jwks.json")
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    // Nothing at the default paths without a base: Rocket's own 404.
    let response = post("/token", credentials).await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.content_type(), Some(ContentType::HTML));
}

#[test]
fn the_routes_follow_the_paths() {
    // The paths' own rules are authcore's (`RoutePaths::builder`); here, what is mounted.
    // The defaults: no registration.
    let mounted = routes();
    assert_eq!(mounted.len(), 4);
    assert!(mounted.iter().all(|r| r.uri.path() != "/users"));
    let paths = RoutePaths::builder().register("/users").build().unwrap();
    assert_eq!(TokenRoutes::new().paths(paths).routes().len(), 5);
    let paths = RoutePaths::builder().without_jwks().build().unwrap();
    assert_eq!(TokenRoutes::new().paths(paths).routes().len(), 3);
    assert!(RoutePaths::builder().token("/<token>").build().is_err());
}

#[tokio::test]
async fn bodies_up_to_the_limit_are_read() {
    let t = TestAuth::new();
    let fairing = AuthFairing::new(t.auth.clone()).with_routes_at(adapter::route_paths());
    let rocket = rocket::custom(quiet()).attach(fairing);
    let client = client(rocket).await;
    let mut body = json!({"email": "limit@example.com", "password": PASSWORD}).to_string();
    body.push_str(&" ".repeat(MAX_BODY_BYTES - body.len()));
    let response = client.post("/users").body(&body).dispatch().await;
    assert_eq!(response.status(), Status::Created, "exactly the limit");
    body.push(' ');
    let (status, _, error) = parts(client.post("/users").body(&body).dispatch().await).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
