//! The token routes: registration, login, refresh, logout and the JWKS.

use std::sync::Arc;

use authcore::http::{self as core_http, MAX_BODY_BYTES};
use authcore::{AuthError, Authenticator, ConfigError};
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
/// | `POST /users` `{email, password}` | `201 {id, email, roles}` |
/// | `POST /token` `{email, password}` or the password-grant form (RFC 6749 §4.3.2) | `200` token pair |
/// | `POST /token/refresh` `{refresh_token}` (RFC 6749 §6) | `200` new pair; the old refresh token is spent |
/// | `POST /logout` with a bearer token | `204`; the token and its session are revoked |
/// | `GET /.well-known/jwks.json` | `200` JWKS, or `404` with only shared secrets |
///
/// Every status, header and body comes from `authcore::http`. Bodies are read up to
/// [`MAX_BODY_BYTES`]; a larger or unreadable body is a `400 invalid_request`. Use
/// [`RoutePaths`] for other paths or extra claims.
pub fn routes<S>() -> Router<S>
where
    Arc<Authenticator>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    RoutePaths::default().router()
}

/// The paths of the token routes, built and validated by [`RoutePaths::builder`].
/// The defaults are `POST /users`, `POST /token`, `POST /token/refresh`, `POST /logout`
/// and `GET /.well-known/jwks.json`.
///
/// ```
/// use std::sync::Arc;
///
/// use auth_axum::RoutePaths;
/// use auth_axum::authcore::Authenticator;
/// use axum::Router;
///
/// let paths = RoutePaths::builder()
///     .register("/auth/users")
///     .token("/auth/token")
///     .refresh("/auth/token/refresh")
///     .logout("/auth/logout")
///     .build()?;
/// let app: Router<Arc<Authenticator>> = Router::new().merge(paths.router());
/// # Ok::<(), auth_axum::authcore::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePaths {
    register: String,
    token: String,
    refresh: String,
    logout: String,
    jwks: String,
}

impl Default for RoutePaths {
    fn default() -> Self {
        RoutePaths {
            register: "/users".to_owned(),
            token: "/token".to_owned(),
            refresh: "/token/refresh".to_owned(),
            logout: "/logout".to_owned(),
            jwks: "/.well-known/jwks.json".to_owned(),
        }
    }
}

impl RoutePaths {
    /// A builder starting from the default paths.
    pub fn builder() -> RoutePathsBuilder {
        RoutePathsBuilder {
            paths: RoutePaths::default(),
        }
    }

    /// The token routes at these paths, for an `Arc<Authenticator>` in the state.
    pub fn router<S>(&self) -> Router<S>
    where
        Arc<Authenticator>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        self.router_with_claims::<(), S>()
    }

    /// The token routes at these paths, for an `Arc<Authenticator<E>>` with extra claims
    /// `E` in the state: `paths.router_with_claims::<MyClaims, _>()`.
    pub fn router_with_claims<E, S>(&self) -> Router<S>
    where
        Arc<Authenticator<E>>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        Router::new()
            .route(&self.register, post(register::<E>))
            .route(&self.token, post(token::<E>))
            .route(&self.refresh, post(refresh::<E>))
            .route(&self.logout, post(logout::<E>))
            .route(&self.jwks, get(jwks::<E>))
    }
}

/// Builds [`RoutePaths`]; unset paths keep their defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct RoutePathsBuilder {
    paths: RoutePaths,
}

impl RoutePathsBuilder {
    /// The registration path.
    pub fn register(mut self, path: impl Into<String>) -> Self {
        self.paths.register = path.into();
        self
    }

    /// The login path.
    pub fn token(mut self, path: impl Into<String>) -> Self {
        self.paths.token = path.into();
        self
    }

    /// The refresh path.
    pub fn refresh(mut self, path: impl Into<String>) -> Self {
        self.paths.refresh = path.into();
        self
    }

    /// The logout path.
    pub fn logout(mut self, path: impl Into<String>) -> Self {
        self.paths.logout = path.into();
        self
    }

    /// The JWKS path.
    pub fn jwks(mut self, path: impl Into<String>) -> Self {
        self.paths.jwks = path.into();
        self
    }

    /// Checks the paths, so that mounting them cannot panic in axum.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if a path does not start with `/`, holds a capture
    /// (`{…}`) or wildcard (`*`), or two paths are the same.
    pub fn build(self) -> Result<RoutePaths, ConfigError> {
        let p = &self.paths;
        let all = [&p.register, &p.token, &p.refresh, &p.logout, &p.jwks];
        if all.iter().any(|path| {
            !path.starts_with('/') || path.contains(['{', '}', '*']) || path.contains("//")
        }) {
            return Err(ConfigError::Invalid(
                "route paths must start with `/` and be static",
            ));
        }
        for (i, path) in all.iter().enumerate() {
            if all[i + 1..].contains(path) {
                return Err(ConfigError::Invalid("route paths must be distinct"));
            }
        }
        Ok(self.paths)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_validated() {
        assert_eq!(
            RoutePaths::builder().build().unwrap(),
            RoutePaths::default()
        );
        let built = RoutePaths::builder().jwks("/keys").build().unwrap();
        assert_eq!(built.jwks, "/keys");
        assert_eq!(built.token, "/token");
        for bad in [
            RoutePaths::builder().token("token"),
            RoutePaths::builder().token(""),
            RoutePaths::builder().refresh("/token/{id}"),
            RoutePaths::builder().logout("/out/*rest"),
            RoutePaths::builder().register("/a//b"),
            RoutePaths::builder().logout("/token"),
        ] {
            assert!(matches!(bad.build(), Err(ConfigError::Invalid(_))));
        }
    }
}
