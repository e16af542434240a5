//! A Rocket application logs through the `log` crate, not `tracing`: authcore's events
//! must reach it there. A test binary of its own, so that its logger is the first one
//! set (Rocket sets its own when a test of another binary launches an application).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Mutex;

use auth_rocket::authcore::testing::TestAuth;
use auth_rocket::{AuthFairing, Authenticated};
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;

#[rocket::get("/me")]
fn me(user: Authenticated) -> String {
    user.sub.clone()
}

/// Every record logged in this test binary, as `target: message`.
static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{}: {}", record.target(), record.args());
        RECORDS.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

#[tokio::test]
async fn authcores_events_reach_the_log_crate() {
    // No tracing subscriber is installed in this binary: tracing hands its events to `log`.
    log::set_logger(&Capture).expect("the only logger of this binary");
    log::set_max_level(log::LevelFilter::Info);
    let t = TestAuth::new();
    let rocket = rocket::build()
        .attach(AuthFairing::new(t.auth.clone()))
        .mount("/", rocket::routes![me]);
    let client = Client::tracked(rocket).await.unwrap();
    let response = client
        .get("/me")
        .header(Header::new("Authorization", "Bearer not-a-token"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Unauthorized);
    let records = RECORDS.lock().unwrap().clone();
    assert!(
        records
            .iter()
            .any(|r| r.starts_with("authcore:") && r.contains("unauthenticated")),
        "no authcore record among {records:#?}"
    );
    assert!(
        records.iter().all(|r| !r.contains("not-a-token")),
        "a token reached the log: {records:#?}"
    );
}
