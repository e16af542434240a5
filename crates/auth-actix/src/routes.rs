//! The token routes: [`routes`], [`TokenRoutes`] and [`configure`].

use std::fmt;
use std::marker::PhantomData;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Data, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use authcore::http::{self, MAX_BODY_BYTES, RoutePaths};
use authcore::{AuthError, Authenticator};

use crate::error::render;
use crate::extract::authorization;
use crate::state::{authenticator, register};

/// Registers `auth` as app data and mounts the token routes at their default paths.
///
/// Use it with [`App::configure`](actix_web::App::configure), at the app level, so that
/// the extractors and [`RequireAuth`](crate::RequireAuth) find the authenticator on every
/// route: the routes cannot be mounted without it. Pass a `web::Data<Authenticator<E>>`
/// or an `Arc<Authenticator<E>>`. [`TokenRoutes::configure`] does the same with other paths.
///
/// ```
/// use std::sync::Arc;
/// use actix_web::App;
/// use auth_actix::authcore::{Algorithm, Authenticator, Jwt, KeySet, SigningKey};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = Jwt::builder()
///     .keys(KeySet::new(SigningKey::generate(Algorithm::HS256)?))
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?;
/// let auth = Arc::new(Authenticator::builder().jwt(Arc::new(jwt)).memory_stores().build()?);
/// let app = App::new().configure(auth_actix::configure(auth.clone()));
/// # Ok(())
/// # }
/// ```
pub fn configure<E>(auth: impl Into<Data<Authenticator<E>>>) -> impl FnOnce(&mut ServiceConfig)
where
    E: Send + Sync + 'static,
{
    TokenRoutes::default().configure(auth)
}

/// Mounts the token routes at their default paths, for an [`Authenticator`] without
/// extra claims registered as `web::Data<Authenticator>`; prefer [`configure`], which
/// registers it too.
///
/// | route | handler |
/// |---|---|
/// | `POST /token` | [`authcore::http::token`] |
/// | `POST /token/refresh` | [`authcore::http::refresh`] |
/// | `POST /logout` | [`authcore::http::logout`] |
/// | `GET /.well-known/jwks.json` | [`authcore::http::jwks`] |
///
/// Public self-registration ([`authcore::http::register`]) is off unless asked for: open
/// it at a path of a [`RoutePaths`] with [`TokenRoutes`].
///
/// Bodies are read up to [`MAX_BODY_BYTES`]; a larger or broken body is a `400
/// invalid_request`, as is every other malformed request.
pub fn routes(cfg: &mut ServiceConfig) {
    TokenRoutes::new().mount(cfg);
}

/// The token routes at the paths of a [`RoutePaths`] (default: those of [`routes`]).
///
/// ```
/// use actix_web::App;
/// use auth_actix::TokenRoutes;
/// use auth_actix::authcore::http::RoutePaths;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let auth = auth_actix::authcore::testing::TestAuth::new().auth;
///
/// let paths = RoutePaths::builder()
///     .token("/oauth/token")
///     .refresh("/oauth/refresh")
///     .build()?;
/// let app = App::new().configure(TokenRoutes::new().paths(paths).configure(auth));
/// # Ok(())
/// # }
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
        Self::default()
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

    /// Mounts the routes, which expect a `web::Data<Authenticator<E>>` registered
    /// elsewhere; prefer [`TokenRoutes::configure`], which registers it too.
    pub fn mount(&self, cfg: &mut ServiceConfig) {
        let p = &self.paths;
        if let Some(path) = p.register() {
            cfg.route(
                path,
                web::post().to(|req, payload| with_body::<E>(req, payload, BodyRoute::Register)),
            );
        }
        cfg.route(
            p.token(),
            web::post().to(|req, payload| with_body::<E>(req, payload, BodyRoute::Token)),
        )
        .route(
            p.refresh(),
            web::post().to(|req, payload| with_body::<E>(req, payload, BodyRoute::Refresh)),
        )
        .route(p.logout(), web::post().to(logout::<E>));
        if let Some(path) = p.jwks() {
            cfg.route(path, web::get().to(jwks::<E>));
        }
    }

    /// Registers `auth` as app data and mounts the routes: see [`configure`].
    pub fn configure(
        self,
        auth: impl Into<Data<Authenticator<E>>>,
    ) -> impl FnOnce(&mut ServiceConfig) {
        let auth = auth.into();
        move |cfg| {
            register(cfg, auth);
            self.mount(cfg);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum BodyRoute {
    Register,
    Token,
    Refresh,
}

/// The routes that take a body: reads at most [`MAX_BODY_BYTES`] and hands the bytes and
/// the `Content-Type` to authcore.
async fn with_body<E>(req: HttpRequest, payload: web::Payload, route: BodyRoute) -> HttpResponse
where
    E: Send + Sync + 'static,
{
    let auth = match authenticator::<E>(&req) {
        Ok(auth) => auth,
        Err(err) => return render(http::Response::error(&err)),
    };
    // Too large, cut short or badly encoded: the request is malformed. Reading stops at
    // the limit, and actix-web's own payload errors (413, plain text) never surface.
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) | Err(_) => return render(http::Response::error(&AuthError::InvalidRequest)),
    };
    // authcore decides about the media type; a value that is not UTF-8 reaches it with
    // replacement characters, which no media type it accepts contains.
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let content_type = content_type.as_deref();
    render(match route {
        BodyRoute::Register => http::register(auth, content_type, &body).await,
        BodyRoute::Token => http::token(auth, content_type, &body).await,
        BodyRoute::Refresh => http::refresh(auth, content_type, &body).await,
    })
}

async fn logout<E: Send + Sync + 'static>(req: HttpRequest) -> HttpResponse {
    match authenticator::<E>(&req) {
        Ok(auth) => match http::single_header(authorization(&req)) {
            Ok(header) => render(http::logout(auth, header).await),
            Err(e) => render(http::Response::error(&e)),
        },
        Err(err) => render(http::Response::error(&err)),
    }
}

async fn jwks<E: Send + Sync + 'static>(req: HttpRequest) -> HttpResponse {
    match authenticator::<E>(&req) {
        Ok(auth) => render(http::jwks(auth)),
        Err(err) => render(http::Response::error(&err)),
    }
}
