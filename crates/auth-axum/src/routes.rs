//! The token routes: registration, login, refresh, logout and the JWKS.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use authcore::http::{self as core_http, MAX_BODY_BYTES, RoutePaths};
use authcore::{AuthError, Authenticator};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::{BodyExt, Limited};

use crate::extract::authorization;
use crate::rejection::render;

/// The token routes at their default paths, for an `Arc<Authenticator>` in the state:
///
/// | route | answer |
/// |---|---|
/// | `POST /token` `{email, password}` or the password-grant form (RFC 6749 §4.3.2) | `200` token pair |
/// | `POST /token/refresh` `{refresh_token}` (RFC 6749 §6) | `200` new pair; the old refresh token is spent |
/// | `POST /logout` with a bearer token | `204`; the token and its session are revoked |
/// | `GET /.well-known/jwks.json` | `200` JWKS, or `404` with only shared secrets |
///
/// Public self-registration (`POST {email, password}` → `201 {id, email, roles}`) is off
/// unless asked for: open it at a path of [`RoutePaths`] with [`TokenRoutes`].
///
/// Every status, header and body comes from `authcore::http`. Bodies are read up to
/// [`MAX_BODY_BYTES`]; a larger or unreadable body is a `400 invalid_request`. Use
/// [`TokenRoutes`] for other paths, registration, or extra claims.
pub fn routes<S>() -> Router<S>
where
    Arc<Authenticator>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    TokenRoutes::new().router()
}

/// The token routes at the paths of a [`RoutePaths`] (default: those of [`routes`]), for
/// an `Arc<Authenticator<E>>` in the state.
///
/// ```
/// use std::sync::Arc;
///
/// use auth_axum::TokenRoutes;
/// use auth_axum::authcore::Authenticator;
/// use auth_axum::authcore::http::RoutePaths;
/// use axum::Router;
///
/// let paths = RoutePaths::builder()
///     .register("/auth/users")
///     .token("/auth/token")
///     .refresh("/auth/token/refresh")
///     .logout("/auth/logout")
///     .build()?;
/// let app: Router<Arc<Authenticator>> = Router::new().merge(TokenRoutes::new().paths(paths).router());
/// # Ok::<(), auth_axum::authcore::ConfigError>(())
/// ```
///
/// With extra claims `E`, start from `TokenRoutes::<E>::default()`.
#[must_use]
pub struct TokenRoutes<E = ()> {
    paths: RoutePaths,
    claims: PhantomData<fn() -> E>,
}

impl TokenRoutes {
    /// The default paths, for an [`Authenticator`] without extra claims.
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

    /// The routes, for a state that hands out an `Arc<Authenticator<E>>`.
    pub fn router<S>(&self) -> Router<S>
    where
        Arc<Authenticator<E>>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let p = &self.paths;
        let mut router = Router::new()
            .route(p.token(), post(token::<E>))
            .route(p.refresh(), post(refresh::<E>))
            .route(p.logout(), post(logout::<E>));
        if let Some(path) = p.register() {
            router = router.route(path, post(register::<E>));
        }
        if let Some(path) = p.jwks() {
            router = router.route(path, get(jwks::<E>));
        }
        router
    }
}

/// Reads the body (at most [`MAX_BODY_BYTES`]) and the `Content-Type` of a request, or
/// answers the core's `400 invalid_request`.
async fn read(request: Request) -> Result<(Option<String>, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(render(core_http::Response::error(
                &AuthError::InvalidRequest,
            )));
        }
    };
    // A non-UTF-8 value is passed on lossily, for the core to refuse.
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Ok((content_type, body))
}

async fn register<E: Send + Sync + 'static>(
    State(auth): State<Arc<Authenticator<E>>>,
    request: Request,
) -> Response {
    match read(request).await {
        Ok((ct, body)) => render(core_http::register(&auth, ct.as_deref(), &body).await),
        Err(response) => response,
    }
}

async fn token<E: Send + Sync + 'static>(
    State(auth): State<Arc<Authenticator<E>>>,
    request: Request,
) -> Response {
    match read(request).await {
        Ok((ct, body)) => render(core_http::token(&auth, ct.as_deref(), &body).await),
        Err(response) => response,
    }
}

async fn refresh<E: Send + Sync + 'static>(
    State(auth): State<Arc<Authenticator<E>>>,
    request: Request,
) -> Response {
    match read(request).await {
        Ok((ct, body)) => render(core_http::refresh(&auth, ct.as_deref(), &body).await),
        Err(response) => response,
    }
}

async fn logout<E: Send + Sync + 'static>(
    State(auth): State<Arc<Authenticator<E>>>,
    request: Request,
) -> Response {
    match core_http::single_header(authorization(request.headers())) {
        Ok(header) => render(core_http::logout(&auth, header).await),
        Err(e) => render(core_http::Response::error(&e)),
    }
}

async fn jwks<E: Send + Sync + 'static>(State(auth): State<Arc<Authenticator<E>>>) -> Response {
    render(core_http::jwks(&auth))
}
