//! The request guards, and the request-local cache they share with the route-group guard
//! and the catchers.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use authcore::http::{ErrorResponse, error_response};
use authcore::{AuthError, Authenticator, Claims, RequestAuthenticator, RequiredRoles};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

/// The outcome of authenticating this request, cached so that every guard on it (and the
/// route-group guard before them) verifies the token at most once. `None`: it failed,
/// and the error is in [`Rejected`].
struct Verified<E>(Option<Arc<Claims<E>>>);

/// The first authentication or authorization error of a request, with its HTTP mapping
/// computed once (mapping an `Internal` error logs it).
pub(crate) struct Rejection {
    pub(crate) error: AuthError,
    pub(crate) response: ErrorResponse,
}

/// The request-local slot of the [`Rejection`]: not generic, so the catchers find it
/// whatever the claims type.
struct Rejected {
    recorded: OnceLock<Rejection>,
    /// Set when a guard (or [`RequireAuth`](crate::RequireAuth)) failed the request with
    /// the recorded rejection, rather than only recording it: [`MaybeAuthenticated`]
    /// records a missing credential and succeeds.
    failed: AtomicBool,
}

fn slot<'r>(req: &'r Request<'_>) -> &'r Rejected {
    req.local_cache(|| Rejected {
        recorded: OnceLock::new(),
        failed: AtomicBool::new(false),
    })
}

/// The rejection an authcore guard failed the request with, if one did.
pub(crate) fn failure<'r>(req: &'r Request<'_>) -> Option<&'r Rejection> {
    let slot = slot(req);
    if slot.failed.load(Ordering::Relaxed) {
        slot.recorded.get()
    } else {
        None
    }
}

/// Records that a guard fails the request with its recorded rejection.
pub(crate) fn fail_request(req: &Request<'_>) {
    slot(req).failed.store(true, Ordering::Relaxed);
}

/// Records `error` as the request's rejection unless one is already recorded; returns
/// the recorded one.
pub(crate) fn reject<'r>(req: &'r Request<'_>, error: impl FnOnce() -> AuthError) -> &'r Rejection {
    slot(req).recorded.get_or_init(|| {
        let error = error();
        Rejection {
            response: error_response(&error),
            error,
        }
    })
}

/// The `Arc<T>` that [`AuthFairing`](crate::AuthFairing) manages, or
/// [`AuthError::Internal`] saying which fairing to attach.
fn managed<'r, T: Send + Sync + 'static>(
    req: &'r Request<'_>,
    missing: &'static str,
) -> Result<&'r T, AuthError> {
    req.rocket()
        .state::<Arc<T>>()
        .map(|managed| &**managed)
        .ok_or_else(|| AuthError::Internal(missing.into()))
}

/// The authenticator that [`AuthFairing::new`](crate::AuthFairing::new) manages, for the
/// token routes.
pub(crate) fn authenticator<'r, E>(req: &'r Request<'_>) -> Result<&'r Authenticator<E>, AuthError>
where
    E: Send + Sync + 'static,
{
    managed(
        req,
        "no authenticator for these claims is managed: attach auth_rocket::AuthFairing::new",
    )
}

/// The request authenticator that [`AuthFairing`](crate::AuthFairing) manages (both
/// [`AuthFairing::new`](crate::AuthFairing::new) and
/// [`AuthFairing::verify_only`](crate::AuthFairing::verify_only) do): what the guards
/// authenticate with.
pub(crate) fn request_authenticator<'r, E>(
    req: &'r Request<'_>,
) -> Result<&'r RequestAuthenticator<E>, AuthError>
where
    E: Send + Sync + 'static,
{
    managed(
        req,
        "no request authenticator for these claims is managed: attach auth_rocket::AuthFairing",
    )
}

/// `true` if Rocket manages no `Arc<RequestAuthenticator<E>>`: the sentinels' check.
pub(crate) fn unmanaged<E: Send + Sync + 'static>(rocket: &Rocket<Ignite>) -> bool {
    rocket.state::<Arc<RequestAuthenticator<E>>>().is_none()
}

/// Every raw `Authorization` value of the request, for authcore to parse: several are
/// malformed (RFC 9110 §5.3: the field is not a list), rather than judged by one of them.
pub(crate) fn authorization<'r>(req: &'r Request<'_>) -> impl Iterator<Item = &'r [u8]> {
    req.headers().get("Authorization").map(str::as_bytes)
}

/// Authenticates the request once, through
/// [`RequestAuthenticator::authenticate_headers`], and caches
/// the claims or the rejection.
pub(crate) async fn authenticate<'r, E>(
    req: &'r Request<'_>,
) -> Result<&'r Arc<Claims<E>>, &'r Rejection>
where
    E: Send + Sync + 'static,
{
    let verified = req
        .local_cache_async(async {
            let result = match request_authenticator::<E>(req) {
                Ok(requests) => requests.authenticate_headers(authorization(req)).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(claims) => Verified(Some(Arc::new(claims))),
                Err(e) => {
                    reject(req, || e);
                    Verified(None)
                }
            }
        })
        .await;
    match &verified.0 {
        Some(claims) => Ok(claims),
        // The failure recorded its rejection above; this closure never runs.
        None => Err(reject(req, || {
            AuthError::Internal("authentication failed without a recorded error".into())
        })),
    }
}

/// Authenticates the request and requires the roles of `R`, caching the rejection.
pub(crate) async fn authorize<'r, R, E>(
    req: &'r Request<'_>,
) -> Result<&'r Arc<Claims<E>>, &'r Rejection>
where
    R: RequiredRoles,
    E: Send + Sync + 'static,
{
    let claims = authenticate::<E>(req).await?;
    let allowed = request_authenticator::<E>(req).and_then(|auth| auth.require::<R>(claims));
    match allowed {
        Ok(()) => Ok(claims),
        Err(e) => Err(reject(req, || e)),
    }
}

/// Fails the request with `rejection`, for the catchers to answer.
fn fail<'r, T>(req: &Request<'_>, rejection: &'r Rejection) -> Outcome<T, &'r AuthError> {
    fail_request(req);
    Outcome::Error((Status::new(rejection.response.status), &rejection.error))
}

/// The verified claims of the request's bearer token (RFC 6750 §2.1), revocation
/// checked: a request guard.
///
/// It reads the `Arc<RequestAuthenticator<E>>` that [`AuthFairing`](crate::AuthFairing)
/// manages, for an auth server ([`AuthFairing::new`](crate::AuthFairing::new)) and a
/// verify-only resource server ([`AuthFairing::verify_only`](crate::AuthFairing::verify_only)) alike.
/// A failure is never a forward: the guard records the [`AuthError`] in the request-local
/// cache and fails with its status (`401`, `400`, `503`, …), and the catchers that
/// [`AuthFairing`](crate::AuthFairing) registers answer with the `WWW-Authenticate`
/// challenge and JSON body of [`authcore::http::error_response`]. The error type,
/// `&AuthError`, is what `Result<Authenticated, &AuthError>` hands a handler that wants
/// to answer failures itself.
///
/// Verification happens once per request: the claims are cached, and
/// [`Authorized`], [`MaybeAuthenticated`] and [`RequireAuth`](crate::RequireAuth) reuse
/// them. As a [`Sentinel`], it aborts the launch of an application that manages no
/// authenticator for `E`, instead of failing every request with a `500`.
///
/// ```
/// use auth_rocket::Authenticated;
///
/// #[rocket::get("/me")]
/// fn me(user: Authenticated) -> String {
///     format!("hello, {}", user.sub)
/// }
/// ```
pub struct Authenticated<E = ()>(Arc<Claims<E>>);

impl<E: Clone> Authenticated<E> {
    /// The claims. A copy: the request-local cache keeps them for the request's other
    /// guards, so reading them through [`Deref`] is cheaper.
    #[must_use]
    pub fn into_inner(self) -> Claims<E> {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<E> Deref for Authenticated<E> {
    type Target = Claims<E>;

    fn deref(&self) -> &Claims<E> {
        &self.0
    }
}

impl<E> Clone for Authenticated<E> {
    fn clone(&self) -> Self {
        Authenticated(Arc::clone(&self.0))
    }
}

impl<E: fmt::Debug> fmt::Debug for Authenticated<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated").field(&self.0).finish()
    }
}

#[rocket::async_trait]
impl<'r, E> FromRequest<'r> for Authenticated<E>
where
    E: Send + Sync + 'static,
{
    type Error = &'r AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match authenticate::<E>(req).await {
            Ok(claims) => Outcome::Success(Authenticated(Arc::clone(claims))),
            Err(rejection) => fail(req, rejection),
        }
    }
}

impl<E: Send + Sync + 'static> Sentinel for Authenticated<E> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        unmanaged::<E>(rocket)
    }
}

/// Optional authentication: `None` only when the request carries no bearer credentials
/// (no `Authorization` header, or one of another scheme).
///
/// A header that is there but does not authenticate (malformed, another scheme, a bad,
/// expired or revoked token) fails the request as [`Authenticated`] does. Rocket's own
/// `Option<Authenticated>` would turn those failures into `None`, serving a forged or
/// revoked token as if it were anonymous; use this instead.
///
/// ```
/// use auth_rocket::MaybeAuthenticated;
///
/// #[rocket::get("/greeting")]
/// fn greeting(user: MaybeAuthenticated) -> String {
///     match user.0 {
///         Some(claims) => format!("hello, {}", claims.sub),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated<E = ()>(pub Option<Claims<E>>);

#[rocket::async_trait]
impl<'r, E> FromRequest<'r> for MaybeAuthenticated<E>
where
    E: Clone + Send + Sync + 'static,
{
    type Error = &'r AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match authenticate::<E>(req).await {
            Ok(claims) => Outcome::Success(MaybeAuthenticated(Some(Claims::clone(claims)))),
            // The core's rule (as in `RequestAuthenticator::authenticate_optional`): no bearer
            // credentials is anonymous; a bad bearer credential is not.
            Err(rejection) if rejection.error.is_anonymous() => {
                Outcome::Success(MaybeAuthenticated(None))
            }
            Err(rejection) => fail(req, rejection),
        }
    }
}

impl<E: Send + Sync + 'static> Sentinel for MaybeAuthenticated<E> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        unmanaged::<E>(rocket)
    }
}

/// Authenticated and granted the roles of `R` (declared with [`authcore::role!`]; a tuple
/// requires all of its members), checked by [`RequestAuthenticator::require`].
///
/// Fails as [`Authenticated`] does, and with `403` and `WWW-Authenticate: Bearer
/// error="insufficient_scope"` (RFC 6750 §3.1) when a role is missing. It reuses the
/// claims that another guard or [`RequireAuth`](crate::RequireAuth) verified.
///
/// ```
/// use auth_rocket::Authorized;
///
/// auth_rocket::authcore::role!(pub Admin = "admin");
///
/// #[rocket::delete("/users/<id>")]
/// fn delete_user(id: &str, admin: Authorized<Admin>) -> String {
///     format!("{} deleted {id}", admin.sub)
/// }
/// ```
pub struct Authorized<R, E = ()> {
    claims: Arc<Claims<E>>,
    roles: PhantomData<fn() -> R>,
}

impl<R, E: Clone> Authorized<R, E> {
    /// The claims. A copy: the request-local cache keeps them for the request's other
    /// guards, so reading them through [`Deref`] is cheaper.
    #[must_use]
    pub fn into_inner(self) -> Claims<E> {
        Arc::unwrap_or_clone(self.claims)
    }
}

impl<R, E> Deref for Authorized<R, E> {
    type Target = Claims<E>;

    fn deref(&self) -> &Claims<E> {
        &self.claims
    }
}

impl<R, E> Clone for Authorized<R, E> {
    fn clone(&self) -> Self {
        Authorized {
            claims: Arc::clone(&self.claims),
            roles: PhantomData,
        }
    }
}

impl<R: RequiredRoles, E: fmt::Debug> fmt::Debug for Authorized<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorized")
            .field("roles", &R::describe())
            .field("claims", &self.claims)
            .finish()
    }
}

#[rocket::async_trait]
impl<'r, R, E> FromRequest<'r> for Authorized<R, E>
where
    R: RequiredRoles,
    E: Send + Sync + 'static,
{
    type Error = &'r AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match authorize::<R, E>(req).await {
            Ok(claims) => Outcome::Success(Authorized {
                claims: Arc::clone(claims),
                roles: PhantomData,
            }),
            Err(rejection) => fail(req, rejection),
        }
    }
}

impl<R: RequiredRoles, E: Send + Sync + 'static> Sentinel for Authorized<R, E> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        unmanaged::<E>(rocket)
    }
}
