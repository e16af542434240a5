//! In-process actix-web benchmarks: what `auth_actix::Authenticated` adds to a request.
//!
//! - `protected/actix`: `GET /me` through an actix-web service whose handler takes
//!   `Authenticated` (HS256 token from `TestAuth`, in-memory revocation check) and
//!   returns constant JSON.
//! - `unprotected/actix`: the same request (same `Authorization` header) through the
//!   same app shape, whose handler returns the same JSON without the extractor.
//! - `authenticate/core`: `Authenticator::authenticate` on the same header value.
//!
//! All three run on one actix `System` and pay the same `block_on` per iteration, so
//! `protected − unprotected` is the adapter's whole cost (extractor, app-data lookup,
//! boxed future and authentication), to compare with `authenticate/core`.

use std::hint::black_box;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::rt::System;
use actix_web::{App, HttpResponse, test, web};
use auth_actix::Authenticated;
use authcore::http::JSON;
use authcore::testing::TestAuth;
use criterion::{Criterion, criterion_group, criterion_main};

const BODY: &str = r#"{"ok":true}"#;

async fn protected(_: Authenticated) -> HttpResponse {
    HttpResponse::Ok().content_type(JSON).body(BODY)
}

async fn unprotected() -> HttpResponse {
    HttpResponse::Ok().content_type(JSON).body(BODY)
}

fn bench(c: &mut Criterion) {
    let system = System::new();
    // verification itself, as measured before the verified-token cache existed
    let t = TestAuth::new().verified_token_cache(0);
    let header = t
        .bearer("user-1234567890", &["user"])
        .expect("minting the bench token");
    let app = |protect: bool| {
        let route = if protect {
            web::get().to(protected)
        } else {
            web::get().to(unprotected)
        };
        let app = App::new()
            .app_data(web::Data::from(t.auth.clone()))
            .route("/me", route);
        system.block_on(test::init_service(app))
    };
    let request = || {
        test::TestRequest::get()
            .uri("/me")
            .insert_header((AUTHORIZATION, header.as_str()))
            .to_request()
    };

    for (name, protect) in [("protected/actix", true), ("unprotected/actix", false)] {
        let app = app(protect);
        let res = system.block_on(test::call_service(&app, request()));
        assert_eq!(res.status(), StatusCode::OK, "{name}");
        c.bench_function(name, |b| {
            b.iter(|| black_box(system.block_on(test::call_service(&app, request()))));
        });
    }

    let auth = &t.auth;
    system
        .block_on(auth.authenticate(Some(header.as_bytes())))
        .expect("the bench token authenticates");
    c.bench_function("authenticate/core", |b| {
        b.iter(|| {
            black_box(system.block_on(auth.authenticate(Some(black_box(header.as_bytes())))))
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
