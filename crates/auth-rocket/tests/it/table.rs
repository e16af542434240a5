//! The shared case table of `authcore::testing::adapter`, through Rocket.

use auth_rocket::authcore::testing::TestAuth;
use auth_rocket::authcore::testing::adapter::{
    Case, Response, cases, check_side_effects, verify_only_cases,
};
use rocket::http::{Header, Method};
use rocket::local::asynchronous::Client;

use crate::{app, client, verify_only_app};

#[tokio::test]
async fn the_shared_table_passes() {
    let t = TestAuth::new();
    let client = client(app(t.auth.clone())).await;
    let table = cases(&t).await;
    assert_eq!(
        run(&client, &table).await,
        table.len() - 1,
        "exactly one row is skipped"
    );
    check_side_effects(&t, &table).await;
}

/// The rows of the guards, in a service with only the request authenticator managed
/// (no users, no refresh tokens, no signing key).
#[tokio::test]
async fn every_guard_row_in_a_verify_only_service() {
    let t = TestAuth::new();
    let client = client(verify_only_app(t.auth.request_authenticator().clone())).await;
    let table = verify_only_cases(&t).await;
    assert!(table.len() > 10, "only {} rows", table.len());
    assert_eq!(
        run(&client, &table).await,
        table.len() - 1,
        "exactly one row is skipped"
    );
}

/// Runs every row Rocket's local client can send; returns how many ran.
async fn run(client: &Client, table: &[Case]) -> usize {
    let mut ran = 0;
    for case in table {
        let request = &case.request;
        let Some(headers) = request.text_headers() else {
            println!(
                "skipped {:?}: Rocket's local client only sends UTF-8 header values \
                 (and Rocket drops other values of real requests before any guard runs)",
                case.name
            );
            continue;
        };
        let method = match request.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => panic!("{}: method {other}", case.name),
        };
        let mut local = client.req(method, request.path).body(&request.body);
        for (name, value) in headers {
            local = local.header(Header::new(name, value.to_owned()));
        }
        let response = local.dispatch().await;
        let status = response.status().code;
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_ascii_lowercase(), h.value().to_owned()))
            .collect();
        let body = response.into_bytes().await.unwrap_or_default();
        case.check(&Response {
            status,
            headers,
            body,
        });
        ran += 1;
    }
    ran
}
