//! In-process Rocket benchmarks: what the `Authenticated` guard adds to a request.
//!
//! - `protected/rocket`: `GET /me` through Rocket's local asynchronous client to a handler
//!   taking `Authenticated` (HS256 via `TestAuth`, in-memory revocation check) and
//!   returning a constant JSON.
//! - `unprotected/rocket`: the same request, the same application set-up (`AuthFairing`
//!   attached, the same request header) and the same constant JSON, from a handler
//!   without the guard.
//! - `authenticate/core`: `Authenticator::authenticate` on the same header value.
//! - `handwritten/rocket` (a reference, not a goal): the same request to a handler taking
//!   the smallest guard one could write by hand, which calls `authenticate` and keeps
//!   the claims, without caching or error rendering. `handwritten − unprotected` is
//!   Rocket's floor for a guard that authenticates; `protected − handwritten` is what
//!   auth-rocket's request-local cache costs.
//!
//! All three run each iteration with `block_on` on one current-thread tokio runtime, so
//! they share the harness overhead: `protected − unprotected` is the guard's cost, to be
//! compared with `authenticate/core`. Each request is built per iteration and its body
//! is read. Rocket's logging is off; the local client is untracked (no cookie jar).

use std::hint::black_box;
use std::time::Duration;

use auth_rocket::{AuthFairing, Authenticated};
use authcore::testing::TestAuth;
use authcore::{Authenticator, Claims};
use criterion::{Criterion, criterion_group, criterion_main};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rocket::request::{FromRequest, Outcome, Request};
use std::sync::Arc;
use tokio::runtime::Runtime;

const BODY: &str = r#"{"ok":true}"#;

#[rocket::get("/me")]
fn protected(user: Authenticated) -> (ContentType, &'static str) {
    black_box(&user);
    (ContentType::JSON, BODY)
}

#[rocket::get("/me")]
fn unprotected() -> (ContentType, &'static str) {
    (ContentType::JSON, BODY)
}

/// The smallest authenticating guard: no cache, no error body.
struct Handwritten(Claims);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Handwritten {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(auth) = req.rocket().state::<Arc<Authenticator>>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let header = req.headers().get_one("Authorization").map(str::as_bytes);
        match auth.authenticate(header).await {
            Ok(claims) => Outcome::Success(Handwritten(claims)),
            Err(_) => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

#[rocket::get("/me")]
fn handwritten(user: Handwritten) -> (ContentType, &'static str) {
    black_box(&user.0);
    (ContentType::JSON, BODY)
}

fn client(rt: &Runtime, t: &TestAuth, routes: Vec<rocket::Route>) -> Client {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::release_default()
    };
    let rocket = rocket::custom(config)
        .attach(AuthFairing::new(t.auth.clone()))
        .mount("/", routes);
    rt.block_on(Client::untracked(rocket))
        .unwrap_or_else(|e| panic!("rocket: {e}"))
}

/// One request through `client`, its body read; the status.
async fn send(client: &Client, authorization: &str) -> Status {
    let response = client
        .get("/me")
        .header(Header::new("Authorization", authorization.to_owned()))
        .dispatch()
        .await;
    let status = response.status();
    black_box(response.into_bytes().await.map(|b| b.len()));
    status
}

fn bench_rocket(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // verification itself, as measured before the verified-token cache existed
    let t = TestAuth::new().verified_token_cache(0);
    let bearer = t
        .bearer("user-1234567890", &["user", "admin"])
        .unwrap_or_else(|e| panic!("minting: {e}"));

    let protected_app = client(&rt, &t, rocket::routes![protected]);
    let unprotected_app = client(&rt, &t, rocket::routes![unprotected]);
    let handwritten_app = client(&rt, &t, rocket::routes![handwritten]);
    check(&rt, &protected_app, &unprotected_app, &t, &bearer);
    assert_eq!(rt.block_on(send(&handwritten_app, &bearer)), Status::Ok);

    c.bench_function("protected/rocket", |b| {
        b.iter(|| rt.block_on(send(&protected_app, &bearer)));
    });
    c.bench_function("unprotected/rocket", |b| {
        b.iter(|| rt.block_on(send(&unprotected_app, &bearer)));
    });
    c.bench_function("authenticate/core", |b| {
        b.iter(|| {
            rt.block_on(async {
                let claims = t
                    .auth
                    .authenticate(Some(black_box(bearer.as_bytes())))
                    .await;
                black_box(claims.is_ok())
            })
        });
    });
    c.bench_function("handwritten/rocket", |b| {
        b.iter(|| rt.block_on(send(&handwritten_app, &bearer)));
    });
}

/// Before timing: both routes answer `200`, and the token authenticates.
fn check(rt: &Runtime, protected: &Client, unprotected: &Client, t: &TestAuth, bearer: &str) {
    assert_eq!(rt.block_on(send(protected, bearer)), Status::Ok);
    assert_eq!(rt.block_on(send(unprotected, bearer)), Status::Ok);
    assert!(
        rt.block_on(t.auth.authenticate(Some(bearer.as_bytes())))
            .is_ok()
    );
    assert_eq!(
        rt.block_on(send(protected, "Basic dXNlcjpwdw==")),
        Status::Unauthorized
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_rocket
}
criterion_main!(benches);
