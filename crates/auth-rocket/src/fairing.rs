//! The fairings: [`AuthFairing`] sets an application up, [`RequireAuth`] guards a group of
//! routes.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use authcore::http::RoutePaths;
use authcore::{Authenticator, ConfigError, RequestAuthenticator, RequiredRoles};
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::route::{self, Route};
use rocket::{Build, Data, Request, Rocket};

use crate::guard::{authorize, fail_request, failure};

/// Sets an application up for authentication: manages the authenticator as
/// `Arc<Authenticator<E>>` (the token routes read it; handlers can too, as
/// `&State<Arc<Authenticator<E>>>`) and its request authenticator as
/// `Arc<RequestAuthenticator<E>>` (the guards read it), and registers
/// [`catchers`](crate::catchers) at `/`.
/// They answer the requests that the guards fail, and hand every other request of their
/// statuses to the application's own catchers (or Rocket's default); the application's
/// other statuses are not touched.
///
/// It mounts no route unless asked with [`AuthFairing::with_routes`]. Launching fails if
/// an `Arc<RequestAuthenticator<E>>` is already managed (the fairing was attached twice).
///
/// A service that only verifies the tokens of an auth server (a resource server: no
/// users, no refresh tokens, no signing key) attaches [`AuthFairing::verify_only`]; the
/// guards work as in the auth server.
///
/// ```
/// use std::sync::Arc;
/// use auth_rocket::AuthFairing;
/// # use auth_rocket::authcore::{Algorithm, Authenticator, Jwt, KeySet, SigningKey};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let jwt = Jwt::builder()
/// #     .keys(KeySet::new(SigningKey::generate(Algorithm::HS256)?))
/// #     .issuer("https://auth.example.com")
/// #     .audience("api")
/// #     .build()?;
/// # let auth = Authenticator::builder().jwt(Arc::new(jwt)).memory_stores().build()?;
/// let rocket = rocket::build().attach(AuthFairing::new(Arc::new(auth)).with_routes());
/// # Ok(())
/// # }
/// ```
pub struct AuthFairing<E = ()> {
    /// `None` for a verify-only service.
    auth: Option<Arc<Authenticator<E>>>,
    requests: Arc<RequestAuthenticator<E>>,
    /// The token routes' paths, when the fairing mounts them.
    routes: Option<RoutePaths>,
    catchers: bool,
}

impl<E> fmt::Debug for AuthFairing<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFairing")
            .field("auth", &self.auth)
            .field("requests", &self.requests)
            .field("routes", &self.routes)
            .field("catchers", &self.catchers)
            .finish()
    }
}

impl<E: Send + Sync + 'static> AuthFairing<E> {
    /// Manages `auth` and registers the catchers.
    pub fn new(auth: Arc<Authenticator<E>>) -> Self {
        AuthFairing {
            requests: auth.request_authenticator().clone(),
            auth: Some(auth),
            routes: None,
            catchers: true,
        }
    }

    /// For a verify-only service: manages `requests` (the guards' request authenticator)
    /// and registers the catchers. There is no token route to mount:
    /// [`AuthFairing::with_routes`] makes the launch fail.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth_rocket::{AuthFairing, Authenticated};
    /// use auth_rocket::authcore::{Algorithm, Jwt, KeySet, RequestAuthenticator, SigningKey};
    ///
    /// #[rocket::get("/whoami")]
    /// fn whoami(user: Authenticated) -> String {
    ///     user.sub.clone()
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The auth server's public key (in production: its JWKS, see the auth-jwks crate).
    /// # let signing = SigningKey::generate(Algorithm::EdDSA)?;
    /// let public = KeySet::verify_only().with_verification_key(signing.verification_key())?;
    /// let verifier = Jwt::builder()
    ///     .keys(public)
    ///     .issuer("https://auth.example.com")
    ///     .audience("api")
    ///     .build_verifier()?;
    /// let requests: RequestAuthenticator = RequestAuthenticator::builder(Arc::new(verifier)).build();
    /// let rocket = rocket::build()
    ///     .attach(AuthFairing::verify_only(Arc::new(requests)))
    ///     .mount("/", rocket::routes![whoami]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn verify_only(requests: Arc<RequestAuthenticator<E>>) -> Self {
        AuthFairing {
            auth: None,
            requests,
            routes: None,
            catchers: true,
        }
    }

    /// Also mounts the token routes at their default paths under `/` (see
    /// [`routes`](crate::routes): registration off); [`AuthFairing::with_routes_at`]
    /// chooses the paths, and mounting [`TokenRoutes`](crate::TokenRoutes) yourself
    /// another base.
    #[must_use]
    pub fn with_routes(self) -> Self {
        self.with_routes_at(RoutePaths::default())
    }

    /// Also mounts the token routes at `paths` under `/`: the way to open public
    /// self-registration (`RoutePaths::builder().register("/users")`).
    #[must_use]
    pub fn with_routes_at(mut self, paths: RoutePaths) -> Self {
        self.routes = Some(paths);
        self
    }

    /// Registers no catchers, for an application that registers
    /// [`catchers`](crate::catchers) itself (at another base, or without a status its own
    /// catcher at `/` answers, with [`guard_failure`](crate::guard_failure)).
    /// Without any of them, failed guards are answered by the application's catchers or
    /// Rocket's default error pages: no `WWW-Authenticate`, no JSON.
    #[must_use]
    pub fn without_catchers(mut self) -> Self {
        self.catchers = false;
        self
    }
}

#[rocket::async_trait]
impl<E: Send + Sync + 'static> Fairing for AuthFairing<E> {
    fn info(&self) -> Info {
        Info {
            name: "auth-rocket",
            kind: Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Arc<RequestAuthenticator<E>>>().is_some()
            || rocket.state::<Arc<Authenticator<E>>>().is_some()
        {
            tracing::error!(
                target: "auth_rocket",
                "auth-rocket: an authenticator for these claims is already managed; \
                 attach AuthFairing once and do not manage the authenticator yourself"
            );
            return Err(rocket);
        }
        if self.routes.is_some() && self.auth.is_none() {
            tracing::error!(
                target: "auth_rocket",
                "auth-rocket: AuthFairing::verify_only has no token routes to mount; \
                 the token routes need AuthFairing::new"
            );
            return Err(rocket);
        }
        let mut rocket = rocket.manage(self.requests.clone());
        if let Some(auth) = &self.auth {
            rocket = rocket.manage(auth.clone());
        }
        if self.catchers {
            rocket = rocket.register("/", crate::catchers());
        }
        if let Some(paths) = &self.routes {
            rocket = rocket.mount(
                "/",
                crate::TokenRoutes::<E>::default()
                    .paths(paths.clone())
                    .routes(),
            );
        }
        Ok(rocket)
    }
}

/// Where [`RequireAuth`] sends a request it rejects.
fn rejected_uri() -> Origin<'static> {
    rocket::uri!("/__auth-rocket/rejected")
}
const REJECTED_ROUTE: &str = "auth_rocket::rejected";

/// Guards every route under a path prefix: each request there must authenticate and hold
/// the roles of `R` (`()`: none), as [`Authorized<R, E>`](crate::Authorized) would
/// require. Attach one per group; `RequireAuth::<()>::prefix("/api")` needs only a
/// valid token.
///
/// The prefix matches whole path segments, compared as Rocket's router compares them
/// (percent-decoded, empty segments ignored): `/admin` guards `/admin` and `/admin/x`,
/// not `/administrator`.
///
/// # How
/// A fairing cannot answer a request, so in [`Fairing::on_request`] it authenticates the
/// request with the guards' own request-local cache. A request that passes goes on to
/// its route with the claims cached: an [`Authenticated`](crate::Authenticated) behind
/// the guard does not verify the token again. A request that fails has its error
/// recorded, and its URI rewritten to an internal path served, for every method, by a
/// route of the lowest rank; that route fails with the recorded status, and the
/// [`catchers`](crate::catchers) answer with the error, exactly as a failing guard's.
/// Rocket chooses that catcher by the internal path: a catcher of the application whose
/// base is the prefix does not see these rejections, one at `/` does. Requests under the prefix that no route serves are still rejected first, so an
/// unauthenticated client cannot probe which paths exist.
///
/// The group guard needs the authenticator that [`AuthFairing`] manages: launching
/// without one for `E` fails, whatever the order the fairings were attached in.
///
/// ```
/// use auth_rocket::RequireAuth;
///
/// auth_rocket::authcore::role!(pub Admin = "admin");
///
/// #[rocket::get("/stats")]
/// fn stats() -> &'static str {
///     "42"
/// }
///
/// let rocket = rocket::build()
///     .attach(RequireAuth::<Admin>::prefix("/admin"))
///     .mount("/admin", rocket::routes![stats]);
/// ```
pub struct RequireAuth<R = (), E = ()> {
    prefix: Origin<'static>,
    marker: PhantomData<fn() -> (R, E)>,
}

impl<R: RequiredRoles, E> fmt::Debug for RequireAuth<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuth")
            .field("prefix", &self.prefix.path().as_str())
            .field("roles", &R::describe())
            .finish()
    }
}

impl<R: RequiredRoles, E: Send + Sync + 'static> RequireAuth<R, E> {
    /// Guards the routes under `prefix`.
    ///
    /// # Panics
    /// If `prefix` is not an absolute URI path without a query (as Rocket's
    /// [`mount`](rocket::Rocket::mount) panics on such a base); see
    /// [`RequireAuth::try_prefix`].
    pub fn prefix(prefix: &str) -> Self {
        Self::try_prefix(prefix).unwrap_or_else(|e| panic!("RequireAuth::prefix({prefix:?}): {e}"))
    }

    /// Guards the routes under `prefix`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if `prefix` is not an absolute URI path without a query.
    pub fn try_prefix(prefix: &str) -> Result<Self, ConfigError> {
        let prefix = Origin::parse_owned(prefix.to_owned())
            .map_err(|_| ConfigError::Invalid("a RequireAuth prefix must be a URI path"))?;
        if prefix.query().is_some() {
            return Err(ConfigError::Invalid("a RequireAuth prefix has no query"));
        }
        Ok(RequireAuth {
            prefix,
            marker: PhantomData,
        })
    }

    fn guards(&self, req: &Request<'_>) -> bool {
        self.prefix
            .path()
            .segments()
            .prefix_of(req.uri().path().segments())
    }
}

#[rocket::async_trait]
impl<R: RequiredRoles, E: Send + Sync + 'static> Fairing for RequireAuth<R, E> {
    fn info(&self) -> Info {
        Info {
            name: "auth-rocket RequireAuth",
            kind: Kind::Ignite | Kind::Request,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let mounted = rocket
            .routes()
            .any(|r| r.name.as_deref() == Some(REJECTED_ROUTE));
        let rocket = if mounted {
            rocket
        } else {
            rocket.mount("/", rejected_routes())
        };
        // Runs after every fairing attached now, so `AuthFairing` may come later.
        Ok(rocket.attach(ManagedCheck::<E>(PhantomData)))
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        if !self.guards(req) {
            return;
        }
        if authorize::<R, E>(req).await.is_err() {
            fail_request(req);
            req.set_uri(rejected_uri());
        }
    }
}

/// Fails the launch if no authenticator for `E` is managed.
struct ManagedCheck<E>(PhantomData<fn() -> E>);

#[rocket::async_trait]
impl<E: Send + Sync + 'static> Fairing for ManagedCheck<E> {
    fn info(&self) -> Info {
        Info {
            name: "auth-rocket RequireAuth: authenticator check",
            kind: Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Arc<RequestAuthenticator<E>>>().is_some() {
            Ok(rocket)
        } else {
            tracing::error!(
                target: "auth_rocket",
                "auth-rocket: RequireAuth needs an authenticator for its claims type: \
                 attach AuthFairing"
            );
            Err(rocket)
        }
    }
}

/// The routes that fail a request [`RequireAuth`] rejected, one per method.
fn rejected_routes() -> Vec<Route> {
    let uri = rejected_uri();
    [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Trace,
        Method::Connect,
        Method::Patch,
    ]
    .into_iter()
    .map(|method| {
        let mut route = Route::ranked(isize::MIN, method, uri.path().as_str(), rejected);
        route.name = Some(REJECTED_ROUTE.into());
        route
    })
    .collect()
}

fn rejected<'r>(req: &'r Request<'_>, data: Data<'r>) -> route::BoxFuture<'r> {
    let outcome = match failure(req) {
        Some(rejected) => route::Outcome::Error(Status::new(rejected.response.status)),
        // Requested directly: nothing here.
        None => route::Outcome::Forward((data, Status::NotFound)),
    };
    Box::pin(async move { outcome })
}
