//! The authcore demo server on axum: `cargo run -p example-axum` (see
//! `docs/http-contract.md` for the routes and the environment).

use std::sync::Arc;

use auth_axum::authcore::{Authenticator, http};
use auth_axum::{AuthRejection, Authenticated, Authorized, TokenRoutes};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use example_common::{ADMIN_BODY, Admin, HEALTHZ_BODY, route_paths, shutdown_signal, start};

const JSON: [(axum::http::HeaderName, &str); 1] = [(CONTENT_TYPE, http::JSON)];

async fn me(
    axum::extract::State(auth): axum::extract::State<Arc<Authenticator>>,
    claims: Authenticated,
) -> Result<impl IntoResponse, AuthRejection> {
    let user = auth.current_user(&claims).await?;
    Ok((JSON, http::user_json(&user)))
}

async fn admin(_: Authorized<Admin>) -> impl IntoResponse {
    (JSON, ADMIN_BODY)
}

async fn healthz() -> impl IntoResponse {
    (JSON, HEALTHZ_BODY)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (config, auth) = start().await;
    let app = Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/healthz", get(healthz))
        .merge(TokenRoutes::new().paths(route_paths()).router())
        .with_state(auth);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}
