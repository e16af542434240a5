//! The extractors: [`Authenticated`], [`MaybeAuthenticated`] and [`Authorized`].

use authcore::{AuthError, Claims, RequestAuthenticator, RequiredRoles};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::rejection::AuthRejection;
use crate::state::AuthState;

/// Claims verified for this request, by [`RequireAuth`](crate::RequireAuth) or by the
/// first extractor, stored in the request extensions so that the token is verified and
/// its revocation checked once a request, whatever extractors and guards it passes.
/// Private, so that nothing else can plant claims there.
#[derive(Clone)]
pub(crate) struct Verified<E>(pub(crate) Claims<E>);

/// Every raw `Authorization` value of the request, for authcore to parse.
pub(crate) fn authorization(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(AUTHORIZATION)
        .iter()
        .map(HeaderValue::as_bytes)
}

/// The claims verified earlier in this request, if any.
fn verified<E: Clone + Send + Sync + 'static>(parts: &Parts) -> Option<Claims<E>> {
    parts
        .extensions
        .get::<Verified<E>>()
        .map(|verified| verified.0.clone())
}

/// The request's claims: those verified earlier in the request, else the
/// `Authorization` header authenticated by `auth` (`Ok(None)` for a request without
/// credentials when `optional`), stored for the extractors that follow.
async fn claims<E>(
    parts: &mut Parts,
    auth: &RequestAuthenticator<E>,
    optional: bool,
) -> Result<Option<Claims<E>>, AuthError>
where
    E: Clone + Send + Sync + 'static,
{
    if let Some(claims) = verified(parts) {
        return Ok(Some(claims));
    }
    let headers = authorization(&parts.headers);
    let claims = if optional {
        auth.authenticate_headers_optional(headers).await?
    } else {
        Some(auth.authenticate_headers(headers).await?)
    };
    if let Some(claims) = &claims {
        parts.extensions.insert(Verified(claims.clone()));
    }
    Ok(claims)
}

/// [`claims`] for a required authentication.
async fn required<E>(
    parts: &mut Parts,
    auth: &RequestAuthenticator<E>,
) -> Result<Claims<E>, AuthError>
where
    E: Clone + Send + Sync + 'static,
{
    claims(parts, auth, false)
        .await?
        .ok_or(AuthError::MissingCredentials)
}

/// The verified claims of the request's bearer token (RFC 6750 §2.1), revocation
/// checked.
///
/// The request authenticator comes from the router's state: [`AuthState<E>`] must
/// implement [`FromRef`] for it, as it does for an `Arc<Authenticator<E>>` (an auth
/// server) and an `Arc<RequestAuthenticator<E>>` (a verify-only resource server), so a
/// router without one does not compile. Behind a
/// [`RequireAuth`](crate::RequireAuth) guard, the claims it verified are reused and
/// the token is not verified again.
///
/// Any failure is an [`AuthRejection`]. `Option<Authenticated>` is `None` only when
/// the request carries no bearer credentials, like [`MaybeAuthenticated`].
///
/// ```
/// use auth_axum::Authenticated;
///
/// async fn me(user: Authenticated) -> String {
///     format!("hello, {}", user.sub)
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

impl<S, E> FromRequestParts<S> for Authenticated<E>
where
    AuthState<E>: FromRef<S>,
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let auth = AuthState::<E>::from_ref(state);
        Ok(Authenticated(
            required(parts, auth.request_authenticator()).await?,
        ))
    }
}

impl<S, E> OptionalFromRequestParts<S> for Authenticated<E>
where
    AuthState<E>: FromRef<S>,
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        let auth = AuthState::<E>::from_ref(state);
        let claims = claims(parts, auth.request_authenticator(), true).await?;
        Ok(claims.map(Authenticated))
    }
}

/// Optional authentication: `None` only when the request carries no bearer credentials
/// (no `Authorization` header, or one of another scheme; decided by
/// [`RequestAuthenticator::authenticate_optional`]). A malformed header, or a token that is
/// invalid, expired or revoked, is still an [`AuthRejection`]: a bad token never passes
/// for anonymous.
///
/// ```
/// use auth_axum::MaybeAuthenticated;
///
/// async fn greet(MaybeAuthenticated(claims): MaybeAuthenticated) -> String {
///     match claims {
///         Some(claims) => format!("hello, {}", claims.sub),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated<E = ()>(pub Option<Claims<E>>);

impl<S, E> FromRequestParts<S> for MaybeAuthenticated<E>
where
    AuthState<E>: FromRef<S>,
    S: Send + Sync,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let claims =
            <Authenticated<E> as OptionalFromRequestParts<S>>::from_request_parts(parts, state)
                .await?;
        Ok(MaybeAuthenticated(claims.map(Authenticated::into_inner)))
    }
}

/// Authenticated, and granted every role of `R` (declared with [`authcore::role!`];
/// tuples require all their members). A missing role is a `403` with
/// `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1); the
/// authentication failures are those of [`Authenticated`].
///
/// ```
/// use auth_axum::Authorized;
///
/// auth_axum::authcore::role!(pub Admin = "admin");
///
/// async fn admin_only(admin: Authorized<Admin>) -> String {
///     format!("welcome, administrator {}", admin.sub)
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

impl<S, R, E> FromRequestParts<S> for Authorized<R, E>
where
    AuthState<E>: FromRef<S>,
    S: Send + Sync,
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let auth = AuthState::<E>::from_ref(state);
        let requests = auth.request_authenticator();
        let claims = required(parts, requests).await?;
        requests.require::<R>(&claims)?;
        Ok(Authorized {
            claims,
            roles: PhantomData,
        })
    }
}
