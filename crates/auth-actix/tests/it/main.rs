//! auth-actix in-process, through the real actix-web service stack.

mod claims;
mod concurrency;
mod guard;
mod routes;
mod table;

use actix_web::HttpResponse;
use actix_web::http::Method;
use actix_web::http::header::HeaderValue;
use actix_web::test::{self, TestRequest};
use actix_web::web::{self, ServiceConfig};
use auth_actix::authcore::testing::TestAuth;
use auth_actix::authcore::testing::adapter::{self, Admin};
use auth_actix::{Authenticated, Authorized, MaybeAuthenticated, RequireAuth, TokenRoutes};
use serde_json::json;

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({"sub": user.sub, "roles": user.roles}))
}

async fn admin(_: Authorized<Admin>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true}))
}

async fn maybe(MaybeAuthenticated(user): MaybeAuthenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({"sub": user.map(|c| c.sub)}))
}

async fn pong() -> HttpResponse {
    HttpResponse::Ok().json(json!({"pong": true}))
}

/// The app of the shared case table (`authcore::testing::adapter`), on `t.auth`.
fn table_app(t: &TestAuth) -> impl FnOnce(&mut ServiceConfig) {
    let auth = t.auth.clone();
    move |cfg| {
        TokenRoutes::new()
            .paths(adapter::route_paths())
            .configure(auth)(cfg);
        extractor_routes(cfg);
    }
}

/// The app of a verify-only service on `t.auth`'s request authenticator: the extractor
/// and guard routes, no token route, no `Authenticator` in the app data.
fn verify_only_app(t: &TestAuth) -> impl FnOnce(&mut ServiceConfig) {
    let requests = t.auth.request_authenticator().clone();
    move |cfg| {
        auth_actix::verify_only(requests)(cfg);
        extractor_routes(cfg);
    }
}

/// The routes of the table that authenticate.
fn extractor_routes(cfg: &mut ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/admin", web::get().to(admin))
        .route("/maybe", web::get().to(maybe))
        .service(
            web::scope("/group")
                .wrap(RequireAuth::<()>::new())
                .route("/ping", web::get().to(pong)),
        )
        .service(
            web::scope("/admin-group")
                .wrap(RequireAuth::<Admin>::new())
                .route("/ping", web::get().to(pong)),
        );
}

/// A case table request as an actix test request; header values go in as raw bytes.
fn to_test_request(r: &adapter::Request) -> TestRequest {
    let method = Method::from_bytes(r.method.as_bytes()).expect("a valid method");
    let mut req = TestRequest::default().method(method).uri(r.path);
    for (name, value) in &r.headers {
        req = req.append_header((
            *name,
            HeaderValue::from_bytes(value).expect("a valid header value"),
        ));
    }
    req.set_payload(r.body.clone())
}

/// What came back, as the case table reads it.
async fn to_case_response<B>(res: actix_web::dev::ServiceResponse<B>) -> adapter::Response
where
    B: actix_web::body::MessageBody,
{
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().expect("a text header").to_owned(),
            )
        })
        .collect();
    let body = test::read_body(res).await.to_vec();
    adapter::Response {
        status,
        headers,
        body,
    }
}

/// The JSON body of a response.
async fn json_body<B>(res: actix_web::dev::ServiceResponse<B>) -> serde_json::Value
where
    B: actix_web::body::MessageBody,
{
    let body = test::read_body(res).await;
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

/// A response header as text.
fn header<'a, B>(res: &'a actix_web::dev::ServiceResponse<B>, name: &str) -> Option<&'a str> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("a text header"))
}
