//! An application's extra claims type `E` through every part of the adapter.

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use auth_actix::authcore::testing::adapter::{self, PASSWORD};
use auth_actix::authcore::testing::{TestAuth, fast_hasher};
use auth_actix::authcore::{Authenticator, User};
use auth_actix::{Authenticated, MaybeAuthenticated, RequireAuth, TokenRoutes};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::json_body;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tenant {
    tenant: String,
}

async fn tenant(user: Authenticated<Tenant>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"tenant": user.extra.tenant}))
}

async fn maybe_tenant(MaybeAuthenticated(user): MaybeAuthenticated<Tenant>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"tenant": user.map(|c| c.extra.tenant)}))
}

#[actix_web::test]
async fn extra_claims_reach_the_extractors() {
    let t = TestAuth::new();
    let auth = Authenticator::builder()
        .jwt(t.jwt.clone())
        .memory_stores()
        .password_hasher(fast_hasher())
        .clock(t.clock.clone())
        .extra_claims(|_: &User| Tenant {
            tenant: "acme".to_owned(),
        })
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .configure(
                TokenRoutes::<Tenant>::default()
                    .paths(adapter::route_paths())
                    .configure(std::sync::Arc::new(auth)),
            )
            .route("/tenant", web::get().to(tenant))
            .service(
                web::scope("/group")
                    .wrap(RequireAuth::<(), Tenant>::default())
                    .route("/tenant", web::get().to(maybe_tenant)),
            ),
    )
    .await;

    let credentials = json!({"email": "ada@example.com", "password": PASSWORD});
    let req = test::TestRequest::post()
        .uri("/users")
        .set_json(&credentials);
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::CREATED
    );
    let req = test::TestRequest::post()
        .uri("/token")
        .set_json(&credentials);
    let pair = json_body(test::call_service(&app, req.to_request()).await).await;
    let bearer = format!("Bearer {}", pair["access_token"].as_str().unwrap());

    for path in ["/tenant", "/group/tenant"] {
        let req = test::TestRequest::get()
            .uri(path)
            .insert_header(("authorization", bearer.as_str()));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(json_body(res).await, json!({"tenant": "acme"}), "{path}");
    }
}
