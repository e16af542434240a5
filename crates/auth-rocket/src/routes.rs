//! The token routes: `authcore::http`'s framework-neutral handlers mounted as Rocket
//! routes.

use std::fmt;
use std::marker::PhantomData;

use authcore::http::{self as core_http, MAX_BODY_BYTES};
use authcore::{AuthError, ConfigError};
use rocket::Request;
use rocket::data::{ByteUnit, Data};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::response::{self, Responder, Response};
use rocket::route::{self, Handler, Route};

use crate::catcher::json_body;
use crate::guard::{authenticator, authorization};

/// The token routes at their default paths, for `Authenticator<()>`:
///
/// | route | handler |
/// |---|---|
/// | `POST /users` | [`authcore::http::register`] |
/// | `POST /token` | [`authcore::http::token`] |
/// | `POST /token/refresh` | [`authcore::http::refresh`] |
/// | `POST /logout` | [`authcore::http::logout`] |
/// | `GET /.well-known/jwks.json` | [`authcore::http::jwks`] |
///
/// Mount them under a base with [`Rocket::mount`](rocket::Rocket::mount) (`/auth` gives
/// `POST /auth/token`, …), or let [`AuthFairing::with_routes`](crate::AuthFairing::with_routes)
/// mount them at `/`; [`TokenRoutes`] chooses each path. They read the authenticator
/// that [`AuthFairing`](crate::AuthFairing) manages.
///
/// ```
/// let rocket = rocket::build().mount("/auth", auth_rocket::routes());
/// ```
pub fn routes() -> Vec<Route> {
    TokenRoutes::new().routes()
}

/// The token routes at paths of your choosing, and for another claims type `E`.
///
/// ```
/// use auth_rocket::TokenRoutes;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let routes = TokenRoutes::new()
///     .register("/signup")
///     .token("/login")
///     .without_jwks()
///     .build()?;
/// let rocket = rocket::build().mount("/api", routes); // POST /api/login, …
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct TokenRoutes<E = ()> {
    register: String,
    token: String,
    refresh: String,
    logout: String,
    jwks: Option<String>,
    claims: PhantomData<fn() -> E>,
}

impl TokenRoutes<()> {
    /// The default paths, for `Authenticator<()>`; for another claims type, use
    /// `TokenRoutes::<E>::default()`.
    pub fn new() -> Self {
        TokenRoutes::default()
    }
}

impl<E> Default for TokenRoutes<E> {
    fn default() -> Self {
        TokenRoutes {
            register: "/users".to_owned(),
            token: "/token".to_owned(),
            refresh: "/token/refresh".to_owned(),
            logout: "/logout".to_owned(),
            jwks: Some("/.well-known/jwks.json".to_owned()),
            claims: PhantomData,
        }
    }
}

impl<E> fmt::Debug for TokenRoutes<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRoutes")
            .field("register", &self.register)
            .field("token", &self.token)
            .field("refresh", &self.refresh)
            .field("logout", &self.logout)
            .field("jwks", &self.jwks)
            .finish()
    }
}

impl<E: Send + Sync + 'static> TokenRoutes<E> {
    /// `POST` path of registration. Default `/users`.
    pub fn register(mut self, path: impl Into<String>) -> Self {
        self.register = path.into();
        self
    }

    /// `POST` path of login. Default `/token`.
    pub fn token(mut self, path: impl Into<String>) -> Self {
        self.token = path.into();
        self
    }

    /// `POST` path of refresh. Default `/token/refresh`.
    pub fn refresh(mut self, path: impl Into<String>) -> Self {
        self.refresh = path.into();
        self
    }

    /// `POST` path of logout. Default `/logout`.
    pub fn logout(mut self, path: impl Into<String>) -> Self {
        self.logout = path.into();
        self
    }

    /// `GET` path of the JWKS. Default `/.well-known/jwks.json` (RFC 8414 §3 places it
    /// where clients look for it).
    pub fn jwks(mut self, path: impl Into<String>) -> Self {
        self.jwks = Some(path.into());
        self
    }

    /// Leaves out the JWKS route.
    pub fn without_jwks(mut self) -> Self {
        self.jwks = None;
        self
    }

    /// Checks the paths and makes the routes.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if a path is not an absolute URI path without a query or
    /// dynamic segments, or two `POST` routes share a path.
    pub fn build(self) -> Result<Vec<Route>, ConfigError> {
        let mut posts: Vec<String> = Vec::new();
        for path in self.paths() {
            let origin = Origin::parse(path)
                .map_err(|_| ConfigError::Invalid("a token route path is not a URI path"))?;
            if origin.query().is_some() {
                return Err(ConfigError::Invalid("a token route path has a query"));
            }
        }
        for path in [&self.register, &self.token, &self.refresh, &self.logout] {
            let normalized = Origin::parse(path)
                .map(|o| o.into_normalized().path().to_string())
                .unwrap_or_default();
            if posts.contains(&normalized) {
                return Err(ConfigError::Invalid("two token routes share a path"));
            }
            posts.push(normalized);
        }
        Ok(self.routes())
    }

    fn paths(&self) -> impl Iterator<Item = &str> {
        [&self.register, &self.token, &self.refresh, &self.logout]
            .into_iter()
            .chain(&self.jwks)
            .map(String::as_str)
    }

    /// The routes, for paths already known to be valid.
    pub(crate) fn routes(&self) -> Vec<Route> {
        let route = |method, path: &str, endpoint| {
            let mut route = Route::new(method, path, TokenHandler::<E>::new(endpoint));
            route.name = Some(endpoint.name().into());
            route
        };
        let mut routes = vec![
            route(Method::Post, &self.register, Endpoint::Register),
            route(Method::Post, &self.token, Endpoint::Token),
            route(Method::Post, &self.refresh, Endpoint::Refresh),
            route(Method::Post, &self.logout, Endpoint::Logout),
        ];
        if let Some(jwks) = &self.jwks {
            routes.push(route(Method::Get, jwks, Endpoint::Jwks));
        }
        routes
    }
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Register,
    Token,
    Refresh,
    Logout,
    Jwks,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Register => "auth_rocket::register",
            Endpoint::Token => "auth_rocket::token",
            Endpoint::Refresh => "auth_rocket::refresh",
            Endpoint::Logout => "auth_rocket::logout",
            Endpoint::Jwks => "auth_rocket::jwks",
        }
    }
}

struct TokenHandler<E> {
    endpoint: Endpoint,
    claims: PhantomData<fn() -> E>,
}

impl<E> TokenHandler<E> {
    fn new(endpoint: Endpoint) -> Self {
        TokenHandler {
            endpoint,
            claims: PhantomData,
        }
    }
}

impl<E> Clone for TokenHandler<E> {
    fn clone(&self) -> Self {
        TokenHandler::new(self.endpoint)
    }
}

/// Reads at most one byte more than [`MAX_BODY_BYTES`], so that `authcore` sees an
/// oversized body as oversized and answers `400 invalid_request` itself.
async fn read_body(data: Data<'_>) -> Result<Vec<u8>, AuthError> {
    data.open(ByteUnit::from(MAX_BODY_BYTES + 1))
        .into_bytes()
        .await
        .map(|capped| capped.into_inner())
        // The client stopped sending: there is nothing to parse.
        .map_err(|_| AuthError::InvalidRequest)
}

/// Runs `authcore`'s handler for `endpoint`.
async fn respond<E: Send + Sync + 'static>(
    endpoint: Endpoint,
    req: &Request<'_>,
    data: Data<'_>,
) -> core_http::Response {
    let auth = match authenticator::<E>(req) {
        Ok(auth) => auth,
        Err(e) => return core_http::Response::error(&e),
    };
    let content_type = req.headers().get_one("Content-Type");
    let body = match endpoint {
        Endpoint::Register | Endpoint::Token | Endpoint::Refresh => match read_body(data).await {
            Ok(body) => body,
            Err(e) => return core_http::Response::error(&e),
        },
        Endpoint::Logout | Endpoint::Jwks => Vec::new(),
    };
    match endpoint {
        Endpoint::Register => core_http::register(auth, content_type, &body).await,
        Endpoint::Token => core_http::token(auth, content_type, &body).await,
        Endpoint::Refresh => core_http::refresh(auth, content_type, &body).await,
        Endpoint::Logout => match core_http::single_header(authorization(req)) {
            Ok(header) => core_http::logout(auth, header).await,
            Err(e) => core_http::Response::error(&e),
        },
        Endpoint::Jwks => core_http::jwks(auth),
    }
}

#[rocket::async_trait]
impl<E: Send + Sync + 'static> Handler for TokenHandler<E> {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let response = respond::<E>(self.endpoint, req, data).await;
        route::Outcome::from(req, Rendered(response))
    }
}

/// An `authcore::http::Response` as a Rocket response.
struct Rendered(core_http::Response);

impl<'r> Responder<'r, 'static> for Rendered {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let Rendered(r) = self;
        let mut response = Response::build();
        response.status(Status::new(r.status));
        for (name, value) in r.headers {
            response.raw_header_adjoin(name, value);
        }
        if let Some(body) = r.body {
            json_body(&mut response, body);
        }
        response.ok()
    }
}
