//! The authcore demo server on actix-web: `cargo run -p example-actix` (see
//! `docs/http-contract.md` for the routes and the environment).

use actix_web::{App, HttpResponse, HttpServer, web};
use auth_actix::authcore::{Authenticator, http};
use auth_actix::{AuthRejection, Authenticated, Authorized, TokenRoutes};
use example_common::{ADMIN_BODY, Admin, HEALTHZ_BODY, route_paths, start};

fn json(body: impl Into<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(http::JSON)
        .body(body.into())
}

async fn me(
    auth: web::Data<Authenticator>,
    claims: Authenticated,
) -> Result<HttpResponse, AuthRejection> {
    let user = auth.current_user(&claims).await?;
    Ok(json(http::user_json(&user)))
}

async fn admin(_: Authorized<Admin>) -> HttpResponse {
    json(ADMIN_BODY)
}

async fn healthz() -> HttpResponse {
    json(HEALTHZ_BODY)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (config, auth) = start().await;
    let auth = web::Data::from(auth);
    // actix-web stops gracefully on SIGTERM and Ctrl-C by itself.
    let server = HttpServer::new(move || {
        App::new()
            .configure(
                TokenRoutes::new()
                    .paths(route_paths())
                    .configure(auth.clone()),
            )
            .route("/me", web::get().to(me))
            .route("/admin", web::get().to(admin))
            .route("/healthz", web::get().to(healthz))
    })
    .bind(config.addr)?;
    for addr in server.addrs() {
        println!("listening on http://{addr}");
    }
    server.run().await
}
