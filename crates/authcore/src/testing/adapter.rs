//! One table of HTTP cases that every framework adapter runs in-process, so that a
//! difference between axum, actix-web and Rocket is a failing test.
//!
//! An adapter's test builds an app on [`TestAuth::auth`] with exactly these routes:
//!
//! | route | handler |
//! |---|---|
//! | `POST /users`, `POST /token`, `POST /token/refresh`, `POST /logout` | the adapter's `TokenRoutes` at [`route_paths`]: the default paths, registration opened at `/users` |
//! | `GET /.well-known/jwks.json` | the adapter's JWKS route (part of `TokenRoutes`) |
//! | `GET /me` | `Authenticated` → `{"sub": sub, "roles": roles}` |
//! | `GET /admin` | `Authorized<Admin>` → `{"ok": true}` |
//! | `GET /maybe` | `MaybeAuthenticated` (via `Authenticator::authenticate_optional`) → `{"sub": sub}` or `{"sub": null}` |
//! | `GET /group/ping` | no extractor, behind the adapter's route-group guard → `{"pong": true}` |
//! | `GET /admin-group/ping` | no extractor, behind the group guard requiring [`Admin`] → `{"pong": true}` |
//!
//! then sends each [`Case::request`] and passes what came back to [`Case::check`].
//!
//! The same adapter's verify-only state (a service with no users, no refresh tokens and
//! no signing key, authenticating through
//! [`Authenticator::request_authenticator`](crate::Authenticator::request_authenticator)
//! alone) serves the routes with extractors and guards, and no token routes: it runs
//! [`verify_only_cases`].

use serde_json::{Value, json};
use time::Duration;

use crate::http::{MAX_BODY_BYTES, RoutePaths, error_response};
use crate::testing::TestAuth;
use crate::{AuthError, Claims, TokenPair};

crate::role!(
    /// The role of `GET /admin` and `/admin-group/ping` in the case table.
    pub Admin = "admin"
);

/// The paths of the table's token routes: the defaults, with registration opened at
/// `/users`.
///
/// # Panics
/// Never: the paths are valid.
pub fn route_paths() -> RoutePaths {
    RoutePaths::builder()
        .register("/users")
        .build()
        .unwrap_or_else(|e| panic!("the table's paths: {e}"))
}

/// Password of the users the table registers.
pub const PASSWORD: &str = "correct horse battery staple";

/// A request to send.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path, starting with `/`.
    pub path: &'static str,
    /// Headers as raw bytes, in order; a name may repeat and each occurrence must be sent
    /// (appended, not replaced). One case sends a non-UTF-8 `Authorization`.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    fn get(path: &'static str) -> Self {
        Request {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn post(
        path: &'static str,
        content_type: Option<&'static str>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        let headers = content_type
            .map(|ct| ("content-type", ct.as_bytes().to_vec()))
            .into_iter()
            .collect();
        Request {
            method: "POST",
            path,
            headers,
            body: body.into(),
        }
    }

    fn json(path: &'static str, body: &Value) -> Self {
        Request::post(path, Some("application/json"), body.to_string())
    }

    fn auth(mut self, authorization: impl Into<Vec<u8>>) -> Self {
        self.headers.push(("authorization", authorization.into()));
        self
    }

    fn bearer(self, token: &str) -> Self {
        self.auth(format!("Bearer {token}"))
    }

    /// The header values as UTF-8, or `None` if one is not (a client that can only send
    /// text headers skips such a case and says so).
    pub fn text_headers(&self) -> Option<Vec<(&'static str, &str)>> {
        self.headers
            .iter()
            .map(|(k, v)| std::str::from_utf8(v).ok().map(|v| (*k, v)))
            .collect()
    }
}

/// What came back, as the adapter's test client saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The expected body.
#[derive(Debug, Clone)]
enum Body {
    /// Exactly this JSON; the string `"<any>"` matches any value.
    Json(Value),
    /// No body at all.
    Empty,
}

/// One row of the table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Case {
    /// What the row checks.
    pub name: &'static str,
    /// The request to send.
    pub request: Request,
    status: u16,
    www_authenticate: Option<String>,
    retry_after: bool,
    no_store: bool,
    body: Body,
}

fn matches(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::String(s), _) if s == "<any>" => !got.is_null(),
        (Value::Object(e), Value::Object(g)) => {
            e.len() == g.len()
                && e.iter()
                    .all(|(k, v)| g.get(k).is_some_and(|gv| matches(v, gv)))
        }
        (Value::Array(e), Value::Array(g)) => {
            e.len() == g.len() && e.iter().zip(g).all(|(e, g)| matches(e, g))
        }
        _ => expected == got,
    }
}

impl Case {
    fn new(name: &'static str, request: Request, status: u16, body: Value) -> Self {
        Case {
            name,
            request,
            status,
            www_authenticate: None,
            retry_after: false,
            no_store: false,
            body: Body::Json(body),
        }
    }

    /// The row for a request that fails with `err`: status, `WWW-Authenticate` and body as
    /// `authcore::http` maps it.
    fn error(name: &'static str, request: Request, err: &AuthError) -> Self {
        let r = error_response(err);
        Case {
            name,
            request,
            status: r.status,
            www_authenticate: r.www_authenticate.map(str::to_owned),
            retry_after: r.retry_after.is_some(),
            no_store: false,
            body: Body::Json(serde_json::to_value(r.body).unwrap_or_default()),
        }
    }

    fn token_response(name: &'static str, request: Request) -> Self {
        let body = json!({"access_token": "<any>", "token_type": "Bearer", "expires_in": 900, "refresh_token": "<any>"});
        Case {
            no_store: true,
            ..Case::new(name, request, 200, body)
        }
    }

    /// Asserts that `got` is this row's answer.
    ///
    /// # Panics
    /// With the row's name and what differs.
    pub fn check(&self, got: &Response) {
        let name = self.name;
        let body = String::from_utf8_lossy(&got.body);
        assert_eq!(got.status, self.status, "{name}: status (body {body})");
        assert_eq!(
            got.header("www-authenticate"),
            self.www_authenticate.as_deref(),
            "{name}: WWW-Authenticate"
        );
        assert_eq!(
            got.header("retry-after").is_some(),
            self.retry_after,
            "{name}: Retry-After"
        );
        if self.no_store {
            assert_eq!(
                got.header("cache-control"),
                Some("no-store"),
                "{name}: Cache-Control"
            );
        }
        match &self.body {
            Body::Empty => assert!(got.body.is_empty(), "{name}: expected no body, got {body}"),
            Body::Json(expected) => {
                let ct = got.header("content-type").unwrap_or_default();
                assert!(
                    ct.starts_with("application/json"),
                    "{name}: Content-Type {ct:?}"
                );
                let value: Value = serde_json::from_slice(&got.body)
                    .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {body}"));
                assert!(
                    matches(expected, &value),
                    "{name}: body\n  expected {expected}\n  got      {value}"
                );
            }
        }
    }
}

fn expired_token(t: &TestAuth) -> String {
    let issuer = t.jwt.issuer();
    let mut claims: Claims = issuer
        .claims("expired-user", &[], None, ())
        .unwrap_or_else(|e| panic!("{e}"));
    claims.exp = claims.iat - Duration::minutes(5);
    claims.iat -= Duration::minutes(20);
    claims.nbf = claims.iat;
    issuer.sign(&claims).unwrap_or_else(|e| panic!("{e}"))
}

async fn login(t: &TestAuth, email: &str) -> TokenPair {
    t.auth
        .login(email, PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("login {email}: {e}"))
}

/// The table, with fresh users and tokens made through `t.auth`, which the app under
/// test must use.
///
/// # Panics
/// If the setup (registration, login) fails.
pub async fn cases(t: &TestAuth) -> Vec<Case> {
    let auth = &t.auth;
    fn ok<T>(r: Result<T, AuthError>) -> T {
        r.unwrap_or_else(|e| panic!("setup: {e}"))
    }
    ok(auth.register("user@example.com", PASSWORD).await);
    ok(auth
        .register_with_roles("admin@example.com", PASSWORD, &["admin".to_owned()])
        .await);
    let user = login(t, "user@example.com").await;
    let user_id = ok(auth.authenticate_token(&user.access_token).await).sub;
    let admin = login(t, "admin@example.com").await;
    let admin_id = ok(auth.authenticate_token(&admin.access_token).await).sub;
    let logged_out = login(t, "user@example.com").await;
    ok(auth
        .logout(&ok(auth.authenticate_token(&logged_out.access_token).await))
        .await);
    let to_refresh = login(t, "user@example.com").await;
    let to_log_out = login(t, "user@example.com").await;
    let expired = expired_token(t);
    let foreign = TestAuth::new()
        .mint("user", &["admin"])
        .unwrap_or_else(|e| panic!("{e}"));
    let me = |id: &str, roles: Value| json!({"sub": id, "roles": roles});
    let oversized = format!(
        r#"{{"email":"big@example.com","password":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES + 1)
    );
    let json_user = |email: &str, password: &str| json!({"email": email, "password": password});

    vec![
        // Authentication on a protected route (RFC 6750 §3).
        Case::error(
            "no credentials",
            Request::get("/me"),
            &AuthError::MissingCredentials,
        ),
        Case::error(
            "other scheme",
            Request::get("/me").auth("Basic dXNlcjpwYXNz"),
            &AuthError::MissingCredentials,
        ),
        Case::error(
            "bearer without token",
            Request::get("/me").auth("Bearer"),
            &AuthError::MalformedHeader,
        ),
        Case::error(
            "two tokens",
            Request::get("/me").auth("Bearer a b"),
            &AuthError::Malformed,
        ),
        Case::error(
            "token outside base64url",
            Request::get("/me").auth("Bearer eyJ*garbage*.@@@@.!!!!"),
            &AuthError::Malformed,
        ),
        Case::error(
            "token of non-ASCII text",
            Request::get("/me").auth("Bearer eyJ\u{e9}.eyJ\u{20ac}.sig"),
            &AuthError::Malformed,
        ),
        Case::error(
            "non-UTF-8 token",
            Request::get("/me").auth(b"Bearer eyJ\xc3\xa9\xff\xfe.eyJ\x80.\xe2\x82".to_vec()),
            &AuthError::Malformed,
        ),
        Case::error(
            "other scheme, non-ASCII",
            Request::get("/me").auth("Basic caf\u{e9}"),
            &AuthError::MalformedHeader,
        ),
        Case::error(
            "garbage token",
            Request::get("/me").bearer("garbage"),
            &AuthError::Malformed,
        ),
        Case::error(
            "expired token",
            Request::get("/me").bearer(&expired),
            &AuthError::Expired,
        ),
        Case::error(
            "token of another issuer's key",
            Request::get("/me").bearer(&foreign),
            &AuthError::UnknownKey,
        ),
        Case::error(
            "revoked token",
            Request::get("/me").bearer(&logged_out.access_token),
            &AuthError::Revoked,
        ),
        Case::new(
            "valid token",
            Request::get("/me").bearer(&user.access_token),
            200,
            me(&user_id, json!([])),
        ),
        Case::new(
            "scheme is case-insensitive",
            Request::get("/me").auth(format!("bEaReR {}", admin.access_token)),
            200,
            me(&admin_id, json!(["admin"])),
        ),
        // Roles.
        Case::error(
            "role missing",
            Request::get("/admin").bearer(&user.access_token),
            &AuthError::InsufficientRole,
        ),
        Case::new(
            "role present",
            Request::get("/admin").bearer(&admin.access_token),
            200,
            json!({"ok": true}),
        ),
        Case::error(
            "role route without credentials",
            Request::get("/admin"),
            &AuthError::MissingCredentials,
        ),
        Case::error(
            "role route with expired token",
            Request::get("/admin").bearer(&expired),
            &AuthError::Expired,
        ),
        // Optional authentication: None only without credentials.
        Case::new(
            "optional, anonymous",
            Request::get("/maybe"),
            200,
            json!({"sub": null}),
        ),
        Case::new(
            "optional, authenticated",
            Request::get("/maybe").bearer(&user.access_token),
            200,
            json!({"sub": user_id}),
        ),
        Case::error(
            "optional, bad token",
            Request::get("/maybe").bearer("garbage"),
            &AuthError::Malformed,
        ),
        Case::error(
            "optional, token outside base64url",
            Request::get("/maybe").auth("Bearer eyJ*garbage*.@@@@.!!!!"),
            &AuthError::Malformed,
        ),
        Case::error(
            "optional, revoked token",
            Request::get("/maybe").bearer(&logged_out.access_token),
            &AuthError::Revoked,
        ),
        // Route-group guards.
        Case::error(
            "group without credentials",
            Request::get("/group/ping"),
            &AuthError::MissingCredentials,
        ),
        Case::error(
            "group with expired token",
            Request::get("/group/ping").bearer(&expired),
            &AuthError::Expired,
        ),
        Case::new(
            "group with token",
            Request::get("/group/ping").bearer(&user.access_token),
            200,
            json!({"pong": true}),
        ),
        Case::error(
            "admin group, user",
            Request::get("/admin-group/ping").bearer(&user.access_token),
            &AuthError::InsufficientRole,
        ),
        Case::new(
            "admin group, admin",
            Request::get("/admin-group/ping").bearer(&admin.access_token),
            200,
            json!({"pong": true}),
        ),
        // Registration.
        Case::new(
            "register",
            Request::json("/users", &json_user("New@Example.com", PASSWORD)),
            201,
            json!({"id": "<any>", "email": "new@example.com", "roles": []}),
        ),
        Case::error(
            "register, email taken",
            Request::json("/users", &json_user("USER@example.com", PASSWORD)),
            &AuthError::EmailTaken,
        ),
        Case::error(
            "register, bad email",
            Request::json("/users", &json_user("nope", PASSWORD)),
            &AuthError::InvalidEmail,
        ),
        Case::error(
            "register, short password",
            Request::json("/users", &json_user("short@example.com", "short")),
            &AuthError::WeakPassword(crate::PasswordRejection::TooShort),
        ),
        Case::error(
            "register, malformed JSON",
            Request::post("/users", Some("application/json"), "{"),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "register, wrong type",
            Request::json("/users", &json!({"email": 5, "password": PASSWORD})),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "register, JSON array",
            Request::json("/users", &json!(["array@example.com", PASSWORD])),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "register, missing field",
            Request::json("/users", &json!({"email": "a@b.c"})),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "register, oversized body",
            Request::post("/users", Some("application/json"), oversized.clone()),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "register, unsupported content type",
            Request::post(
                "/users",
                Some("text/plain"),
                json_user("t@example.com", PASSWORD).to_string(),
            ),
            &AuthError::InvalidRequest,
        ),
        // Login.
        Case::token_response(
            "login, JSON",
            Request::json("/token", &json_user("user@example.com", PASSWORD)),
        ),
        Case::token_response(
            "login, form",
            Request::post(
                "/token",
                Some("application/x-www-form-urlencoded"),
                "grant_type=password&username=user%40example.com&password=correct+horse+battery+staple",
            ),
        ),
        Case::error(
            "login, wrong password",
            Request::json("/token", &json_user("user@example.com", "wrong password")),
            &AuthError::InvalidGrant,
        ),
        Case::error(
            "login, unknown email",
            Request::json("/token", &json_user("nobody@example.com", PASSWORD)),
            &AuthError::InvalidGrant,
        ),
        Case::error(
            "login, malformed",
            Request::post("/token", Some("application/json"), "[]"),
            &AuthError::InvalidRequest,
        ),
        Case::error(
            "login, oversized body",
            Request::post("/token", Some("application/json"), oversized),
            &AuthError::InvalidRequest,
        ),
        // Refresh and logout.
        Case::token_response(
            "refresh",
            Request::json(
                "/token/refresh",
                &json!({"refresh_token": to_refresh.refresh_token}),
            ),
        ),
        Case::error(
            "refresh, unknown token",
            Request::json("/token/refresh", &json!({"refresh_token": "A".repeat(43)})),
            &AuthError::InvalidGrant,
        ),
        Case::error(
            "refresh, malformed",
            Request::json("/token/refresh", &json!({"token": "x"})),
            &AuthError::InvalidRequest,
        ),
        Case {
            body: Body::Empty,
            ..Case::new(
                "logout",
                Request::post("/logout", None, "").bearer(&to_log_out.access_token),
                204,
                Value::Null,
            )
        },
        Case::error(
            "logout without credentials",
            Request::post("/logout", None, ""),
            &AuthError::MissingCredentials,
        ),
        Case::new(
            "JWKS with only a shared secret",
            Request::get("/.well-known/jwks.json"),
            404,
            json!({"error": "not_found", "error_description": "<any>"}),
        ),
    ]
}

/// The paths of the routes with extractors and guards, which a verify-only app serves.
const EXTRACTOR_PATHS: [&str; 5] = [
    "/me",
    "/admin",
    "/maybe",
    "/group/ping",
    "/admin-group/ping",
];

/// The rows of [`cases`] for the routes with extractors and guards: the table of a
/// verify-only app, whose requests are authenticated by `t.auth`'s
/// [`RequestAuthenticator`](crate::RequestAuthenticator) (sharing its revocations).
///
/// # Panics
/// If the setup (registration, login) fails.
pub async fn verify_only_cases(t: &TestAuth) -> Vec<Case> {
    let mut table = cases(t).await;
    table.retain(|case| EXTRACTOR_PATHS.contains(&case.request.path));
    table
}

/// Checks what the table cannot: after the rows ran, the logged-out token of the
/// `logout` row is revoked.
///
/// # Panics
/// If a row's side effect did not happen.
pub async fn check_side_effects(t: &TestAuth, cases: &[Case]) {
    let logout = cases
        .iter()
        .find(|c| c.name == "logout")
        .unwrap_or_else(|| panic!("no logout row"));
    let header = logout
        .request
        .headers
        .iter()
        .find(|(k, _)| *k == "authorization")
        .map(|(_, v)| v.clone());
    let result = t.auth.authenticate(header.as_deref()).await;
    assert!(
        matches!(result, Err(AuthError::Revoked)),
        "the logout row did not revoke its token: {result:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table run against the core's own handlers, as a reference adapter.
    #[tokio::test]
    async fn the_table_passes_against_the_core_handlers() {
        let t = TestAuth::new();
        let table = cases(&t).await;
        assert!(table.len() > 40);
        for case in &table {
            let r = &case.request;
            let header = |name: &str| {
                r.headers
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.as_slice())
            };
            let ct = header("content-type").map(|v| std::str::from_utf8(v).unwrap_or_default());
            let got = match (r.method, r.path) {
                ("POST", "/users") => crate::http::register(&t.auth, ct, &r.body).await,
                ("POST", "/token") => crate::http::token(&t.auth, ct, &r.body).await,
                ("POST", "/token/refresh") => crate::http::refresh(&t.auth, ct, &r.body).await,
                ("POST", "/logout") => crate::http::logout(&t.auth, header("authorization")).await,
                ("GET", "/.well-known/jwks.json") => crate::http::jwks(&t.auth),
                _ => continue, // routes with extractors belong to the adapters
            };
            let mut headers: Vec<(String, String)> = got
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            if let Some(ct) = got.content_type() {
                headers.push(("content-type".to_owned(), ct.to_owned()));
            }
            case.check(&Response {
                status: got.status,
                headers,
                body: got.body.clone().unwrap_or_default().into_bytes(),
            });
        }
        check_side_effects(&t, &table).await;
    }

    #[tokio::test]
    async fn the_verify_only_table_keeps_every_extractor_row() {
        let t = TestAuth::new();
        let all = cases(&TestAuth::new()).await;
        let verify_only = verify_only_cases(&t).await;
        let extractor_rows = all
            .iter()
            .filter(|c| {
                !c.request.path.starts_with("/users") && !c.request.path.starts_with("/token")
            })
            .filter(|c| c.request.path != "/logout" && c.request.path != "/.well-known/jwks.json")
            .count();
        assert_eq!(verify_only.len(), extractor_rows);
        assert!(verify_only.len() > 20);
    }
}
