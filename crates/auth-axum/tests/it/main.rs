//! The adapter tested in-process through the real axum router. One test binary, to save
//! link time.
#![allow(clippy::unwrap_used)] // helpers of a test binary: a failed unwrap is a failed test

mod concurrency;
mod guard;
mod paths;
mod table;

use std::sync::Arc;

use auth_axum::authcore::testing::adapter::{self, Admin};
use auth_axum::authcore::{Authenticator, RequestAuthenticator};
use auth_axum::{
    AuthState, Authenticated, Authorized, MaybeAuthenticated, RequireAuth, TokenRoutes,
};
use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A JSON response without axum's `json` feature.
fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn me(user: Authenticated) -> Response {
    json_response(&json!({"sub": user.sub, "roles": user.roles}))
}

async fn admin(_: Authorized<Admin>) -> Response {
    json_response(&json!({"ok": true}))
}

async fn maybe(MaybeAuthenticated(claims): MaybeAuthenticated) -> Response {
    json_response(&json!({"sub": claims.map(|c| c.sub)}))
}

async fn pong() -> Response {
    json_response(&json!({"pong": true}))
}

/// The app of the shared case table (see `authcore::testing::adapter`): the extractor
/// and guard routes, and the token routes.
fn app(auth: Arc<Authenticator>) -> Router {
    extractor_routes(AuthState::from(&auth))
        .merge(TokenRoutes::new().paths(adapter::route_paths()).router())
        .with_state(auth)
}

/// The app of a verify-only service: the extractor and guard routes, with only the
/// request authenticator in the state.
fn verify_only_app(requests: Arc<RequestAuthenticator>) -> Router {
    extractor_routes(AuthState::new(requests.clone())).with_state(requests)
}

/// The routes of the table that authenticate, for any state holding an [`AuthState`].
fn extractor_routes<S>(auth: AuthState) -> Router<S>
where
    AuthState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let group = Router::new()
        .route("/group/ping", get(pong))
        .route_layer(RequireAuth::<()>::new(auth.clone()));
    let admin_group = Router::new()
        .route("/admin-group/ping", get(pong))
        .route_layer(RequireAuth::<Admin>::new(auth));
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/maybe", get(maybe))
        .merge(group)
        .merge(admin_group)
}

/// Sends `request` through `router` and collects what came back.
async fn send(router: &Router, request: Request<Body>) -> adapter::Response {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), value)
        })
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    adapter::Response {
        status,
        headers,
        body: body.to_vec(),
    }
}

fn body_json(response: &adapter::Response) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

fn get_request(path: &str) -> axum::http::request::Builder {
    Request::get(path)
}
