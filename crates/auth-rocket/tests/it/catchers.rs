//! The catchers answer only the requests that a guard of auth-rocket failed: every other
//! error keeps the answer the application (or Rocket) gives without auth-rocket.

use std::sync::Arc;

use auth_rocket::authcore::http::error_response;
use auth_rocket::authcore::testing::adapter::Admin;
use auth_rocket::authcore::testing::{TestAuth, fast_hasher};
use auth_rocket::authcore::time::OffsetDateTime;
use auth_rocket::authcore::{AuthError, Authenticator, RevocationStore, StoreError, async_trait};
use auth_rocket::{
    AuthFairing, Authenticated, Authorized, GuardFailure, MaybeAuthenticated, RequireAuth,
    WithBearer, guard_failure,
};
use rocket::data::{ByteUnit, Limits};
use rocket::http::{Accept, ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::Deserialize;
use rocket::serde::json::Json;
use rocket::{Build, Catcher, Request, Rocket, Route};

use crate::{client, quiet};

// The application's own routes: no guard of auth-rocket.

#[rocket::get("/item/<id>")]
fn item(id: u32) -> Option<&'static str> {
    (id == 1).then_some("one")
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
struct Thing {
    n: u32,
}

#[rocket::post("/things", data = "<thing>")]
fn things(thing: Json<Thing>) -> String {
    thing.n.to_string()
}

#[rocket::post("/text", data = "<text>")]
fn text(text: String) -> String {
    text
}

#[rocket::get("/app-400")]
fn app_400() -> Status {
    Status::BadRequest
}

#[rocket::get("/app-401")]
fn app_401() -> Status {
    Status::Unauthorized
}

#[rocket::get("/app-403")]
fn app_403() -> Status {
    Status::Forbidden
}

#[rocket::get("/app-503")]
fn app_503() -> Status {
    Status::ServiceUnavailable
}

#[rocket::get("/panic")]
fn panics() {
    panic!("a handler bug");
}

fn app_routes() -> Vec<Route> {
    rocket::routes![
        item, things, text, app_400, app_401, app_403, app_503, panics
    ]
}

// Routes with auth-rocket's guards.

#[rocket::get("/me")]
fn me(user: Authenticated) -> String {
    user.sub.clone()
}

#[rocket::get("/admin")]
fn admin(_admin: Authorized<Admin>) {}

#[rocket::get("/ping")]
fn ping() -> &'static str {
    "pong"
}

/// An anonymous caller is refused by the handler, not by a guard.
#[rocket::get("/maybe-401")]
fn maybe_401(user: MaybeAuthenticated) -> Result<String, Status> {
    user.0.map(|c| c.sub).ok_or(Status::Unauthorized)
}

/// `Option` swallows a failed authentication; the handler answers with `status`.
#[rocket::get("/optional/<status>")]
fn optional(user: Option<Authenticated>, status: u16) -> Result<String, Status> {
    user.map(|u| u.sub.clone()).ok_or(Status::new(status))
}

fn guarded_routes() -> Vec<Route> {
    rocket::routes![me, admin, maybe_401, optional]
}

// The application's own catchers.

#[rocket::catch(404)]
fn app_404_catcher() -> &'static str {
    "app 404"
}

#[rocket::catch(422)]
fn app_422_catcher() -> &'static str {
    "app 422"
}

#[rocket::catch(401)]
fn app_401_catcher() -> &'static str {
    "app 401"
}

#[rocket::catch(default)]
fn app_default_catcher(status: Status, _: &Request<'_>) -> String {
    format!("app default {}", status.code)
}

#[rocket::catch(default)]
fn nested_catcher(status: Status, _: &Request<'_>) -> String {
    format!("nested {}", status.code)
}

/// The application's catchers: `404`, `422` and `default` at `/`, `default` at
/// `/nested`.
fn with_app_catchers(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .register(
            "/",
            rocket::catchers![app_404_catcher, app_422_catcher, app_default_catcher],
        )
        .register("/nested", rocket::catchers![nested_catcher])
}

/// The application without auth-rocket.
fn bare(app_catchers: bool) -> Rocket<Build> {
    let rocket = rocket::custom(quiet())
        .mount("/", app_routes())
        .mount("/nested", app_routes());
    if app_catchers {
        with_app_catchers(rocket)
    } else {
        rocket
    }
}

/// The application with auth-rocket: its catchers at `/`, routes with guards, a group
/// guard on `/group`.
fn with_auth(auth: Arc<Authenticator>, app_catchers: bool) -> Rocket<Build> {
    bare(app_catchers)
        .attach(AuthFairing::new(auth))
        .attach(RequireAuth::<()>::prefix("/group"))
        .mount("/", guarded_routes())
        .mount("/group", rocket::routes![ping])
}

/// Status, headers (sorted, names in lowercase) and body: the whole response.
async fn whole(response: LocalResponse<'_>) -> (u16, Vec<(String, String)>, String) {
    let status = response.status().code;
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|h| (h.name().as_str().to_ascii_lowercase(), h.value().to_owned()))
        .collect();
    headers.sort();
    let body = response.into_string().await.unwrap_or_default();
    (status, headers, body)
}

/// Requests that fail in the application, no guard of auth-rocket involved, with the
/// status they fail with.
fn app_failures() -> Vec<(Method, &'static str, String, Status)> {
    let get = |path, status| (Method::Get, path, String::new(), status);
    let limit =
        |limit: ByteUnit| usize::try_from(limit.as_u64()).expect("a limit that fits in memory");
    let (json_limit, string_limit) = (limit(Limits::JSON), limit(Limits::STRING));
    vec![
        // `Option` → `None`.
        get("/item/2", Status::NotFound),
        // No route.
        get("/nowhere", Status::NotFound),
        // `Json<T>`: JSON of the wrong shape, and not JSON at all.
        (
            Method::Post,
            "/things",
            r#"{"n": "x"}"#.to_owned(),
            Status::UnprocessableEntity,
        ),
        (Method::Post, "/things", "{".to_owned(), Status::BadRequest),
        // Over Rocket's limits: `Json<T>` fails with 413, `String` with 400.
        (
            Method::Post,
            "/things",
            " ".repeat(json_limit + 1),
            Status::PayloadTooLarge,
        ),
        (
            Method::Post,
            "/text",
            "x".repeat(string_limit + 1),
            Status::BadRequest,
        ),
        // Handlers failing with the statuses auth-rocket has catchers for.
        get("/app-400", Status::BadRequest),
        get("/app-401", Status::Unauthorized),
        get("/app-403", Status::Forbidden),
        get("/app-503", Status::ServiceUnavailable),
        get("/panic", Status::InternalServerError),
        // Under a base of its own.
        get("/nested/app-401", Status::Unauthorized),
        get("/nested/nowhere", Status::NotFound),
    ]
}

async fn send(
    client: &Client,
    (method, path, body, _): &(Method, &'static str, String, Status),
    accept: Option<Accept>,
) -> (u16, Vec<(String, String)>, String) {
    let mut request = client.req(*method, *path).body(body);
    if *path == "/things" {
        request = request.header(ContentType::JSON);
    }
    if let Some(accept) = accept {
        request = request.header(accept);
    }
    whole(request.dispatch().await).await
}

#[tokio::test]
async fn the_applications_own_errors_keep_their_answers() {
    let t = TestAuth::new();
    for app_catchers in [false, true] {
        let ours = client(with_auth(t.auth.clone(), app_catchers)).await;
        let theirs = client(bare(app_catchers)).await;
        for request in &app_failures() {
            // Rocket's default catcher answers HTML, or JSON to a client that prefers it.
            for accept in [None, Some(Accept::JSON)] {
                let got = send(&ours, request, accept.clone()).await;
                let without = send(&theirs, request, accept.clone()).await;
                let what = format!("{} {} (app catchers: {app_catchers})", request.0, request.1);
                assert_eq!(got.0, request.3.code, "{what}: status");
                assert_eq!(got, without, "{what}: as without auth-rocket");
            }
        }
    }

    // Spot checks of whose answer that is.
    let app = client(with_auth(t.auth.clone(), true)).await;
    for (path, body) in [
        ("/item/2", "app 404"),
        ("/nowhere", "app 404"),
        ("/app-401", "app default 401"),
        ("/app-400", "app default 400"),
        ("/nested/app-401", "nested 401"),
        ("/nested/nowhere", "nested 404"),
    ] {
        let response = app.get(path).dispatch().await;
        assert_eq!(response.headers().get_one("WWW-Authenticate"), None);
        assert_eq!(
            response.into_string().await.as_deref(),
            Some(body),
            "{path}"
        );
    }
    let response = app
        .post("/things")
        .header(ContentType::JSON)
        .body(r#"{"n": -1}"#)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    assert_eq!(response.into_string().await.as_deref(), Some("app 422"));
    let app = client(with_auth(t.auth.clone(), false)).await;
    let response = app.get("/app-401").header(Accept::JSON).dispatch().await;
    let body: serde_json::Value =
        serde_json::from_str(&response.into_string().await.unwrap_or_default()).unwrap();
    assert_eq!(
        body["error"]["code"],
        Status::Unauthorized.code,
        "Rocket's own"
    );
}

/// Asserts that `response` is authcore's answer to `error`: status, `WWW-Authenticate`,
/// `Retry-After`, `Content-Type` and body.
async fn assert_authcore(response: LocalResponse<'_>, error: &AuthError, what: &str) {
    let expected = error_response(error);
    assert_eq!(response.status().code, expected.status, "{what}: status");
    let header = |name| response.headers().get_one(name).map(str::to_owned);
    assert_eq!(
        header("WWW-Authenticate").as_deref(),
        expected.www_authenticate,
        "{what}: WWW-Authenticate"
    );
    assert_eq!(
        header("Retry-After"),
        expected.retry_after.map(|s| s.to_string()),
        "{what}: Retry-After"
    );
    assert_eq!(
        header("Content-Type").as_deref(),
        Some("application/json"),
        "{what}"
    );
    let body = response.into_string().await.unwrap_or_default();
    assert_eq!(body, expected.body_json(), "{what}: body");
}

#[tokio::test]
async fn guard_failures_get_authcores_answer() {
    let t = TestAuth::new();
    let token = t.bearer("user", &[]).unwrap();
    for app_catchers in [false, true] {
        let client = client(with_auth(t.auth.clone(), app_catchers)).await;
        let what = |w: &str| format!("{w} (app catchers: {app_catchers})");

        let response = client.get("/me").dispatch().await;
        assert_authcore(response, &AuthError::MissingCredentials, &what("none")).await;
        let response = client
            .get("/me")
            .header(Header::new("Authorization", "Bearer garbage"))
            .dispatch()
            .await;
        assert_authcore(response, &AuthError::Malformed, &what("garbage")).await;
        let response = client
            .get("/me")
            .header(Header::new("Authorization", token.clone()))
            .header(Header::new("Authorization", token.clone()))
            .dispatch()
            .await;
        assert_authcore(response, &AuthError::MalformedHeader, &what("two headers")).await;
        let response = client
            .get("/admin")
            .with_bearer(&t, "u", &[])
            .dispatch()
            .await;
        assert_authcore(response, &AuthError::InsufficientRole, &what("no role")).await;
        let response = client.get("/group/ping").dispatch().await;
        assert_authcore(response, &AuthError::MissingCredentials, &what("group")).await;
        // The guard of `MaybeAuthenticated` fails a bad token.
        let response = client
            .get("/maybe-401")
            .header(Header::new("Authorization", "Bearer garbage"))
            .dispatch()
            .await;
        assert_authcore(response, &AuthError::Malformed, &what("maybe, garbage")).await;
    }
}

/// A revocation store that fails every call.
struct Failing(fn() -> StoreError);

#[async_trait]
impl RevocationStore for Failing {
    async fn revoke(&self, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
        Err(self.0())
    }
    async fn is_revoked(&self, _: &[&str]) -> Result<bool, StoreError> {
        Err(self.0())
    }
    async fn purge_expired(&self, _: OffsetDateTime) -> Result<u64, StoreError> {
        Err(self.0())
    }
}

#[tokio::test]
async fn a_failing_store_gets_authcores_answer() {
    let t = TestAuth::new();
    let cases: [(fn() -> StoreError, AuthError); 2] = [
        (
            || StoreError::unavailable("down"),
            AuthError::Unavailable(StoreError::unavailable("down")),
        ),
        (
            || StoreError::backend("broken"),
            AuthError::Internal("broken".into()),
        ),
    ];
    for (failure, error) in cases {
        let auth = Authenticator::builder()
            .jwt(t.jwt.clone())
            .memory_stores()
            .revocations(Arc::new(Failing(failure)))
            .password_hasher(fast_hasher())
            .clock(t.clock.clone())
            .build()
            .unwrap();
        let client = client(with_auth(Arc::new(auth), true)).await;
        let response = client.get("/me").with_bearer(&t, "u", &[]).dispatch().await;
        assert_authcore(response, &error, &error.to_string()).await;
        let response = client
            .get("/group/ping")
            .with_bearer(&t, "u", &[])
            .dispatch()
            .await;
        assert_authcore(response, &error, &format!("group: {error}")).await;
    }
}

#[tokio::test]
async fn a_handlers_own_refusal_is_the_applications() {
    let t = TestAuth::new();
    for app_catchers in [false, true] {
        let client = client(with_auth(t.auth.clone(), app_catchers)).await;
        let expected = whole(client.get("/app-401").dispatch().await).await;
        // `MaybeAuthenticated` recorded the missing credentials and let the request in;
        // the handler refused it.
        let got = whole(client.get("/maybe-401").dispatch().await).await;
        assert_eq!(got, expected, "app catchers: {app_catchers}");
    }
}

#[tokio::test]
async fn a_swallowed_guard_failure_answers_only_for_its_own_status() {
    let t = TestAuth::new();
    let client = client(with_auth(t.auth.clone(), true)).await;
    let garbage = || Header::new("Authorization", "Bearer garbage");
    let response = client
        .get("/optional/404")
        .header(garbage())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.into_string().await.as_deref(), Some("app 404"));
    let response = client
        .get("/optional/403")
        .header(garbage())
        .dispatch()
        .await;
    assert_eq!(
        response.into_string().await.as_deref(),
        Some("app default 403")
    );
    // The same status as the recorded failure: the catchers answer with it (as documented).
    let response = client
        .get("/optional/401")
        .header(garbage())
        .dispatch()
        .await;
    assert_authcore(response, &AuthError::Malformed, "optional, 401").await;
}

#[rocket::catch(401)]
fn login_catcher<'r>(req: &'r Request<'_>) -> Result<GuardFailure<'r>, &'static str> {
    guard_failure(Status::Unauthorized, req).ok_or("please log in")
}

#[tokio::test]
async fn catchers_at_another_base_hand_on_as_rocket_chooses() {
    let t = TestAuth::new();
    // The application's 401 and default catchers at `/`, auth-rocket's at `/api`.
    let app = |rocket: Rocket<Build>| {
        rocket
            .mount("/api", app_routes())
            .register("/", rocket::catchers![app_401_catcher, app_default_catcher])
    };
    let ours = client(
        app(rocket::custom(quiet()))
            .attach(AuthFairing::new(t.auth.clone()).without_catchers())
            .register("/api", auth_rocket::catchers())
            .mount("/api", guarded_routes()),
    )
    .await;
    let theirs = client(app(rocket::custom(quiet()))).await;
    for (path, body) in [
        // A catcher of the status before a `default` one at the same base.
        ("/api/app-401", "app 401"),
        ("/api/app-403", "app default 403"),
        ("/api/app-400", "app default 400"),
        ("/api/nowhere", "app default 404"),
    ] {
        let got = whole(ours.get(path).dispatch().await).await;
        assert_eq!(got.2, body, "{path}");
        assert_eq!(
            got,
            whole(theirs.get(path).dispatch().await).await,
            "{path}"
        );
    }
    let response = ours.get("/api/me").dispatch().await;
    assert_authcore(response, &AuthError::MissingCredentials, "/api/me").await;
}

#[tokio::test]
async fn an_application_catcher_renders_the_guards_failure() {
    let t = TestAuth::new();
    let catchers: Vec<Catcher> = auth_rocket::catchers()
        .into_iter()
        .filter(|c| c.code != Some(Status::Unauthorized.code))
        .chain(rocket::catchers![login_catcher])
        .collect();
    let client = client(
        rocket::custom(quiet())
            .attach(AuthFairing::new(t.auth.clone()).without_catchers())
            .register("/", catchers)
            .mount("/", app_routes())
            .mount("/", guarded_routes()),
    )
    .await;
    let response = client.get("/me").dispatch().await;
    assert_authcore(response, &AuthError::MissingCredentials, "/me").await;
    let response = client.get("/app-401").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.headers().get_one("WWW-Authenticate"), None);
    assert_eq!(
        response.into_string().await.as_deref(),
        Some("please log in")
    );
    let response = client
        .get("/admin")
        .with_bearer(&t, "u", &[])
        .dispatch()
        .await;
    assert_authcore(response, &AuthError::InsufficientRole, "/admin").await;
}

#[tokio::test]
async fn a_renamed_catcher_does_not_hand_requests_to_itself() {
    let t = TestAuth::new();
    let renamed: Vec<Catcher> = auth_rocket::catchers()
        .into_iter()
        .map(|mut c| {
            c.name = Some("renamed".into());
            c
        })
        .collect();
    let ours = client(
        rocket::custom(quiet())
            .attach(AuthFairing::new(t.auth.clone()).without_catchers())
            .register("/", renamed)
            .mount("/", app_routes())
            .mount("/", guarded_routes()),
    )
    .await;
    let theirs = client(bare(false)).await;
    for path in ["/app-401", "/app-403", "/panic"] {
        let got = whole(ours.get(path).dispatch().await).await;
        assert_eq!(
            got,
            whole(theirs.get(path).dispatch().await).await,
            "{path}"
        );
    }
    let response = ours.get("/me").dispatch().await;
    assert_authcore(response, &AuthError::MissingCredentials, "/me").await;
}
