//! Many requests in flight at once on one app, each keeping its own claims.

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use auth_actix::authcore::testing::TestAuth;
use auth_actix::{Authenticated, MaybeAuthenticated, RequireAuth, WithBearer};
use serde_json::json;

use crate::{json_body, table_app};

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Answers after every other request got this far too.
async fn slow(user: Authenticated, MaybeAuthenticated(maybe): MaybeAuthenticated) -> HttpResponse {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
    actix_web::rt::task::yield_now().await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    assert_eq!(maybe.map(|c| c.sub).as_deref(), Some(user.sub.as_str()));
    HttpResponse::Ok().json(json!({"sub": user.sub, "roles": user.roles}))
}

#[actix_web::test]
async fn fifty_concurrent_requests_all_succeed() {
    let t = TestAuth::new();
    let table = table_app(&t);
    let app = test::init_service(
        App::new().configure(table).service(
            web::scope("/slow")
                .wrap(RequireAuth::<()>::new())
                .route("", web::get().to(slow)),
        ),
    )
    .await;
    let app = Rc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let app = Rc::clone(&app);
            let subject = format!("user-{i}");
            let roles: &[&str] = if i % 2 == 0 { &["admin"] } else { &[] };
            let req = test::TestRequest::get()
                .uri("/slow")
                .with_bearer(&t, &subject, roles)
                .to_request();
            actix_web::rt::spawn(async move {
                let res = test::call_service(&*app, req).await;
                assert_eq!(res.status(), StatusCode::OK, "{subject}");
                assert_eq!(
                    json_body(res).await,
                    json!({"sub": subject, "roles": roles}),
                    "every request keeps its own claims"
                );
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        MOST_IN_FLIGHT.load(Ordering::SeqCst),
        50,
        "all fifty were in flight together"
    );
}
