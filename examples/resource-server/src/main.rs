//! A resource server on axum: `cargo run -p example-resource-server` next to an auth demo
//! started with `AUTH_JWT_KEY_FILE` (see "Resource server" in `docs/http-contract.md`).
//!
//! It holds no secret and no user table: tokens are verified with the public keys of the
//! auth server's JWKS, and, with `AUTH_REDIS_URL`, checked against the revocations the
//! auth server writes there, so a logout there is honoured here at once.

use auth_axum::{Authenticated, Authorized};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use example_common::resource::start;
use example_common::{ADMIN_BODY, Admin, HEALTHZ_BODY, shutdown_signal};

const JSON: [(axum::http::HeaderName, &str); 1] = [(CONTENT_TYPE, "application/json")];

/// `{sub, roles}` of the verified token.
async fn whoami(claims: Authenticated) -> impl IntoResponse {
    let claims = claims.into_inner();
    let body = serde_json::json!({ "sub": claims.sub, "roles": claims.roles });
    (JSON, body.to_string())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (config, requests) = start().await;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/admin",
            get(|_: Authorized<Admin>| async { (JSON, ADMIN_BODY) }),
        )
        .route("/healthz", get(|| async { (JSON, HEALTHZ_BODY) }))
        .with_state(requests);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}
