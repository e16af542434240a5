//! The extractors: [`Authenticated`], [`MaybeAuthenticated`] and [`Authorized`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use authcore::{AuthError, Claims, RequestAuthenticator, RequiredRoles};

use crate::AuthRejection;
use crate::state::request_authenticator;

/// `futures_util::future::LocalBoxFuture<'static, T>`, without the dependency.
pub(crate) type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// Claims verified for this request, by [`RequireAuth`](crate::RequireAuth) or by the
/// first extractor, kept in its extensions so that the token is verified and its
/// revocation checked once a request, whatever extractors and guards it passes.
pub(crate) struct Verified<E>(pub(crate) Claims<E>);

/// Every raw `Authorization` value of the request, for authcore to parse.
pub(crate) fn authorization(req: &HttpRequest) -> impl Iterator<Item = &[u8]> {
    req.headers()
        .get_all(AUTHORIZATION)
        .map(HeaderValue::as_bytes)
}

/// The claims verified earlier in this request, if any.
fn stored<E: Clone + 'static>(req: &HttpRequest) -> Option<Claims<E>> {
    req.extensions().get::<Verified<E>>().map(|v| v.0.clone())
}

/// The request's claims: those verified earlier in the request, or else freshly
/// authenticated (`Ok(None)` for a request without credentials when `optional`), stored
/// for the extractors that follow.
async fn claims<E>(
    requests: &RequestAuthenticator<E>,
    req: &HttpRequest,
    optional: bool,
) -> Result<Option<Claims<E>>, AuthError>
where
    E: Clone + Send + Sync + 'static,
{
    if let Some(claims) = stored(req) {
        return Ok(Some(claims));
    }
    let claims = if optional {
        requests
            .authenticate_headers_optional(authorization(req))
            .await?
    } else {
        Some(requests.authenticate_headers(authorization(req)).await?)
    };
    if let Some(claims) = &claims {
        req.extensions_mut().insert(Verified(claims.clone()));
    }
    Ok(claims)
}

/// [`claims`] for a required authentication.
async fn required<E>(
    auth: &RequestAuthenticator<E>,
    req: &HttpRequest,
) -> Result<Claims<E>, AuthError>
where
    E: Clone + Send + Sync + 'static,
{
    claims(auth, req, false)
        .await?
        .ok_or(AuthError::MissingCredentials)
}

/// The verified claims of the request's bearer token (RFC 6750 §2.1), revocation
/// checked; the request is refused with an [`AuthRejection`] otherwise.
///
/// Reads the request authenticator registered as app data by
/// [`configure`](crate::configure) (an auth server) or [`verify_only`](crate::verify_only)
/// (a resource server). Behind [`RequireAuth`](crate::RequireAuth), it takes
/// the claims the guard verified instead of verifying the token again.
///
/// ```
/// use actix_web::HttpResponse;
/// use auth_actix::Authenticated;
///
/// async fn me(user: Authenticated) -> HttpResponse {
///     HttpResponse::Ok().body(format!("hello, {}", user.sub))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<E = ()>(Claims<E>);

impl<E> Authenticated<E> {
    /// The claims.
    #[must_use]
    pub fn into_inner(self) -> Claims<E> {
        self.0
    }
}

impl<E> Deref for Authenticated<E> {
    type Target = Claims<E>;

    fn deref(&self) -> &Claims<E> {
        &self.0
    }
}

impl<E> FromRequest for Authenticated<E>
where
    E: Clone + Send + Sync + 'static,
{
    type Error = AuthRejection;
    type Future = LocalBoxFuture<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = request_authenticator::<E>(&req)?;
            Ok(Authenticated(required(auth, &req).await?))
        })
    }
}

/// Optional authentication: `None` only when the request carries no bearer credentials
/// (no `Authorization` header, or one of another scheme; decided by
/// [`RequestAuthenticator::authenticate_optional`]).
///
/// A header that is malformed, or a token that is invalid, expired or
/// revoked, refuses the request with an [`AuthRejection`], as [`Authenticated`] does.
/// actix-web's own `Option<Authenticated>` would turn those failures into `None`; use this
/// instead.
///
/// ```
/// use actix_web::HttpResponse;
/// use auth_actix::MaybeAuthenticated;
///
/// async fn greet(MaybeAuthenticated(user): MaybeAuthenticated) -> HttpResponse {
///     match user {
///         Some(claims) => HttpResponse::Ok().body(format!("hello, {}", claims.sub)),
///         None => HttpResponse::Ok().body("hello, stranger"),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated<E = ()>(pub Option<Claims<E>>);

impl<E> FromRequest for MaybeAuthenticated<E>
where
    E: Clone + Send + Sync + 'static,
{
    type Error = AuthRejection;
    type Future = LocalBoxFuture<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = request_authenticator::<E>(&req)?;
            Ok(MaybeAuthenticated(claims(auth, &req, true).await?))
        })
    }
}

/// [`Authenticated`], and holding every role `R` requires; a `403 insufficient_scope`
/// (RFC 6750 §3.1) otherwise.
///
/// Declare roles with [`authcore::role!`]; a tuple requires all of its members.
///
/// ```
/// use actix_web::HttpResponse;
/// use auth_actix::Authorized;
///
/// auth_actix::authcore::role!(
///     /// Administrators.
///     pub Admin = "admin"
/// );
///
/// async fn admin_only(admin: Authorized<Admin>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("hello, administrator {}", admin.sub))
/// }
/// ```
pub struct Authorized<R, E = ()> {
    claims: Claims<E>,
    roles: PhantomData<fn() -> R>,
}

impl<R, E> Authorized<R, E> {
    /// The claims.
    #[must_use]
    pub fn into_inner(self) -> Claims<E> {
        self.claims
    }
}

impl<R, E> Deref for Authorized<R, E> {
    type Target = Claims<E>;

    fn deref(&self) -> &Claims<E> {
        &self.claims
    }
}

impl<R, E: Clone> Clone for Authorized<R, E> {
    fn clone(&self) -> Self {
        Authorized {
            claims: self.claims.clone(),
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

impl<R, E> FromRequest for Authorized<R, E>
where
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
{
    type Error = AuthRejection;
    type Future = LocalBoxFuture<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = request_authenticator::<E>(&req)?;
            let claims = required(auth, &req).await?;
            auth.require::<R>(&claims)?;
            Ok(Authorized {
                claims,
                roles: PhantomData,
            })
        })
    }
}
