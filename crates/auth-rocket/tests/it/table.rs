//! The shared case table of `authcore::testing::adapter`, through Rocket.

use auth_rocket::authcore::testing::TestAuth;
use auth_rocket::authcore::testing::adapter::{Response, cases, check_side_effects};
use rocket::http::{Header, Method};

use crate::{app, client};

#[tokio::test]
async fn the_shared_table_passes() {
    let t = TestAuth::new();
    let client = client(app(t.auth.clone())).await;
    let table = cases(&t).await;
    let mut ran = 0;
    for case in &table {
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
    assert_eq!(ran, table.len() - 1, "exactly one row is skipped");
    check_side_effects(&t, &table).await;
}
