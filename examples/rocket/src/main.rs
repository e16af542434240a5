//! The authcore demo server on Rocket: `cargo run -p example-rocket` (see
//! `docs/http-contract.md` for the routes and the environment).

use std::sync::Arc;

use auth_rocket::authcore::{Authenticator, http};
use auth_rocket::{AuthFairing, AuthRejection, Authenticated, Authorized};
use example_common::{ADMIN_BODY, Admin, HEALTHZ_BODY, route_paths, start};
use rocket::fairing::AdHoc;
use rocket::http::ContentType;
use rocket::{State, get, routes};

fn json(body: String) -> (ContentType, String) {
    (ContentType::JSON, body)
}

#[get("/me")]
async fn me(
    auth: &State<Arc<Authenticator>>,
    claims: Authenticated,
) -> Result<(ContentType, String), AuthRejection> {
    let user = auth.current_user(&claims).await.map_err(AuthRejection)?;
    Ok(json(http::user_json(&user)))
}

#[get("/admin")]
fn admin(_admin: Authorized<Admin>) -> (ContentType, String) {
    json(ADMIN_BODY.to_owned())
}

#[get("/healthz")]
fn healthz() -> (ContentType, String) {
    json(HEALTHZ_BODY.to_owned())
}

#[rocket::main]
async fn main() -> Result<(), Box<rocket::Error>> {
    let (config, auth) = start().await;
    let figment = rocket::Config::figment()
        .merge(("address", config.addr.ip()))
        .merge(("port", config.addr.port()))
        .merge(("log_level", "off"));
    // Rocket stops gracefully on SIGTERM and Ctrl-C by itself.
    rocket::custom(figment)
        .attach(AuthFairing::new(auth).with_routes_at(route_paths()))
        .attach(AdHoc::on_liftoff("address", |rocket| {
            Box::pin(async move {
                let c = rocket.config();
                println!("listening on http://{}:{}", c.address, c.port);
            })
        }))
        .mount("/", routes![me, admin, healthz])
        .launch()
        .await
        .map(|_| ())
        .map_err(Box::new)
}
