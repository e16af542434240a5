//! The token routes: `authcore::http`'s framework-neutral handlers mounted as Rocket
//! routes.

use std::fmt;
use std::marker::PhantomData;

use authcore::AuthError;
use authcore::http::{self as core_http, MAX_BODY_BYTES, RoutePaths};
use rocket::Request;
use rocket::data::{ByteUnit, Data};
use rocket::http::{Method, Status};
use rocket::response::{self, Responder, Response};
use rocket::route::{self, Handler, Route};

use crate::catcher::json_body;
use crate::guard::{authenticator, authorization};

/// The token routes at their default paths, for `Authenticator<()>`:
///
/// | route | handler |
/// |---|---|
/// | `POST /token` | [`authcore::http::token`] |
/// | `POST /token/refresh` | [`authcore::http::refresh`] |
/// | `POST /logout` | [`authcore::http::logout`] |
/// | `GET /.well-known/jwks.json` | [`authcore::http::jwks`] |
///
/// Mount them under a base with [`Rocket::mount`](rocket::Rocket::mount) (`/auth` gives
/// `POST /auth/token`, …), or let [`AuthFairing::with_routes`](crate::AuthFairing::with_routes)
/// mount them at `/`; [`TokenRoutes`] chooses each path, and opens public
/// self-registration ([`authcore::http::register`]), which is off unless asked for. They
/// read the authenticator that [`AuthFairing`](crate::AuthFairing) manages.
///
/// ```
/// let rocket = rocket::build().mount("/auth", auth_rocket::routes());
/// ```
pub fn routes() -> Vec<Route> {
    TokenRoutes::new().routes()
}

/// The token routes at the paths of a [`RoutePaths`] (default: those of [`routes`]), and
/// for another claims type `E` (`TokenRoutes::<E>::default()`).
///
/// ```
/// use auth_rocket::TokenRoutes;
/// use auth_rocket::authcore::http::RoutePaths;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let paths = RoutePaths::builder()
///     .register("/signup")
///     .token("/login")
///     .without_jwks()
///     .build()?;
/// let rocket = rocket::build().mount("/api", TokenRoutes::new().paths(paths).routes()); // POST /api/login, …
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct TokenRoutes<E = ()> {
    paths: RoutePaths,
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
            paths: RoutePaths::default(),
            claims: PhantomData,
        }
    }
}

impl<E> fmt::Debug for TokenRoutes<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRoutes")
            .field("paths", &self.paths)
            .finish()
    }
}

impl<E: Send + Sync + 'static> TokenRoutes<E> {
    /// The routes at `paths`, checked when they were built.
    pub fn paths(mut self, paths: RoutePaths) -> Self {
        self.paths = paths;
        self
    }

    /// The routes, to mount under any base.
    pub fn routes(&self) -> Vec<Route> {
        let route = |method, path: &str, endpoint| {
            let mut route = Route::new(method, path, TokenHandler::<E>::new(endpoint));
            route.name = Some(endpoint.name().into());
            route
        };
        let p = &self.paths;
        let mut routes = vec![
            route(Method::Post, p.token(), Endpoint::Token),
            route(Method::Post, p.refresh(), Endpoint::Refresh),
            route(Method::Post, p.logout(), Endpoint::Logout),
        ];
        if let Some(register) = p.register() {
            routes.push(route(Method::Post, register, Endpoint::Register));
        }
        if let Some(jwks) = p.jwks() {
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
