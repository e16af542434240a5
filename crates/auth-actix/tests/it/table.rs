//! The shared case table of `authcore::testing::adapter`, every row through actix-web.

use actix_web::{App, test};
use auth_actix::WithBearer;
use auth_actix::authcore::testing::TestAuth;
use auth_actix::authcore::testing::adapter;

use crate::{table_app, to_case_response, to_test_request, verify_only_app};

#[actix_web::test]
async fn every_row_of_the_shared_table() {
    let t = TestAuth::new();
    let cases = adapter::cases(&t).await;
    let app = test::init_service(App::new().configure(table_app(&t))).await;
    for case in &cases {
        let req = to_test_request(&case.request).to_request();
        let res = test::call_service(&app, req).await;
        case.check(&to_case_response(res).await);
    }
    adapter::check_side_effects(&t, &cases).await;
}

/// The rows of the extractors and guards, in a service with only the request
/// authenticator registered (no users, no refresh tokens, no signing key).
#[actix_web::test]
async fn every_extractor_row_in_a_verify_only_service() {
    let t = TestAuth::new();
    let cases = adapter::verify_only_cases(&t).await;
    assert!(cases.len() > 10, "only {} rows", cases.len());
    let app = test::init_service(App::new().configure(verify_only_app(&t))).await;
    for case in &cases {
        let req = to_test_request(&case.request).to_request();
        let res = test::call_service(&app, req).await;
        case.check(&to_case_response(res).await);
    }
}

#[actix_web::test]
async fn with_bearer_mints_a_token_the_app_accepts() {
    let t = TestAuth::new();
    let app = test::init_service(App::new().configure(table_app(&t))).await;

    let req = test::TestRequest::get()
        .uri("/me")
        .with_bearer(&t, "ada", &["admin", "ops"]);
    let body = crate::json_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(
        body,
        serde_json::json!({"sub": "ada", "roles": ["admin", "ops"]})
    );

    let req = test::TestRequest::get()
        .uri("/admin")
        .with_bearer(&t, "ada", &[]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status().as_u16(), 403);

    let req = test::TestRequest::get()
        .uri("/admin-group/ping")
        .with_bearer(&t, "ada", &["admin"]);
    let res = test::call_service(&app, req.to_request()).await;
    assert!(res.status().is_success());
}
