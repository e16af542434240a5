//! auth-rocket through Rocket's local client, in process.

mod catchers;
mod guards;
mod table;
mod token_routes;

use std::sync::Arc;

use auth_rocket::authcore::testing::adapter::{self, Admin};
use auth_rocket::authcore::{Authenticator, Claims, RequestAuthenticator};
use auth_rocket::{AuthFairing, Authenticated, Authorized, MaybeAuthenticated, RequireAuth};
use rocket::http::ContentType;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket};
use serde_json::{Value, json};

/// A JSON response.
type Json = (ContentType, String);

fn json(value: &Value) -> Json {
    (ContentType::JSON, value.to_string())
}

fn me_json(claims: &Claims) -> Json {
    json(&json!({"sub": claims.sub, "roles": claims.roles}))
}

#[rocket::get("/me")]
fn me(user: Authenticated) -> Json {
    me_json(&user)
}

#[rocket::get("/admin")]
fn admin(_admin: Authorized<Admin>) -> Json {
    json(&json!({"ok": true}))
}

#[rocket::get("/maybe")]
fn maybe(user: MaybeAuthenticated) -> Json {
    json(&json!({"sub": user.0.map(|c| c.sub)}))
}

#[rocket::get("/ping")]
fn ping() -> Json {
    json(&json!({"pong": true}))
}

/// The application of `authcore::testing::adapter`'s table, on `auth`.
fn app(auth: Arc<Authenticator>) -> Rocket<Build> {
    let fairing = AuthFairing::new(auth).with_routes_at(adapter::route_paths());
    extractor_routes(rocket::custom(quiet()).attach(fairing))
}

/// The application of a verify-only service on `requests`: the guard routes, no token
/// route, no `Authenticator` managed.
fn verify_only_app(requests: Arc<RequestAuthenticator>) -> Rocket<Build> {
    extractor_routes(rocket::custom(quiet()).attach(AuthFairing::verify_only(requests)))
}

/// The routes of the table that authenticate.
fn extractor_routes(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .attach(RequireAuth::<()>::prefix("/group"))
        .attach(RequireAuth::<Admin>::prefix("/admin-group"))
        .mount("/", rocket::routes![me, admin, maybe])
        .mount("/group", rocket::routes![ping])
        .mount("/admin-group", rocket::routes![ping])
}

/// Rocket's configuration without its launch banner and request log.
fn quiet() -> rocket::Config {
    rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    }
}

async fn client(rocket: Rocket<Build>) -> Client {
    Client::tracked(rocket).await.expect("a valid rocket")
}

/// Status, `WWW-Authenticate` and JSON body of a response.
async fn parts(response: LocalResponse<'_>) -> (u16, Option<String>, Value) {
    let status = response.status().code;
    let challenge = response
        .headers()
        .get_one("WWW-Authenticate")
        .map(str::to_owned);
    let body = response.into_bytes().await.unwrap_or_default();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("a JSON body")
    };
    (status, challenge, body)
}
