//! [`RequireAuth`]: a route-group guard as a tower layer.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use authcore::RequiredRoles;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::extract::{Verified, authorization};
use crate::rejection::AuthRejection;
use crate::state::AuthState;

/// A guard for a group of routes: every request must carry a valid bearer token granting
/// the roles of `R` (`()`: any authenticated user), or it is answered with the
/// [`AuthRejection`] and never reaches the routes.
///
/// The verified claims are stored in the request's extensions, where
/// [`Authenticated`](crate::Authenticated), [`MaybeAuthenticated`](crate::MaybeAuthenticated)
/// and [`Authorized`](crate::Authorized) find them, as do nested guards, which then only
/// check their roles: behind the guard, a token is verified once.
///
/// Use it with [`Router::route_layer`](axum::Router::route_layer), so that unknown paths
/// stay `404`:
///
/// ```
/// use std::sync::Arc;
///
/// use auth_axum::authcore::{Authenticator, role};
/// use auth_axum::{Authenticated, RequireAuth};
/// use axum::Router;
/// use axum::routing::get;
///
/// role!(pub Admin = "admin");
///
/// fn admin_routes(auth: Arc<Authenticator>) -> Router<Arc<Authenticator>> {
///     Router::new()
///         .route("/stats", get(|| async { "stats" }))
///         .route("/whoami", get(|who: Authenticated| async move { who.sub.clone() }))
///         .route_layer(RequireAuth::<Admin>::new(auth))
/// }
/// ```
///
/// `RequireAuth::<()>::new(auth)` only requires authentication. With extra claims,
/// name them: `RequireAuth::<Admin, MyClaims>::new(auth)`. As tower's convention has it,
/// `RequireAuth` is the [`Layer`] and [`RequireAuthService`] the [`Service`] it wraps the
/// routes in.
#[must_use]
pub struct RequireAuth<R = (), E = ()> {
    auth: AuthState<E>,
    roles: PhantomData<fn() -> R>,
}

impl<R: RequiredRoles, E> RequireAuth<R, E> {
    /// The guard, authenticating with `auth`: an `Arc<Authenticator<E>>`, an
    /// `Arc<RequestAuthenticator<E>>` (a verify-only service) or an [`AuthState<E>`].
    pub fn new(auth: impl Into<AuthState<E>>) -> Self {
        RequireAuth {
            auth: auth.into(),
            roles: PhantomData,
        }
    }
}

impl<R, E> Clone for RequireAuth<R, E> {
    fn clone(&self) -> Self {
        RequireAuth {
            auth: self.auth.clone(),
            roles: PhantomData,
        }
    }
}

impl<R: RequiredRoles, E> fmt::Debug for RequireAuth<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuth")
            .field("roles", &R::describe())
            .finish_non_exhaustive()
    }
}

impl<S, R, E> Layer<S> for RequireAuth<R, E> {
    type Service = RequireAuthService<S, R, E>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAuthService {
            inner,
            auth: self.auth.clone(),
            roles: PhantomData,
        }
    }
}

/// The [`Service`] of the [`RequireAuth`] layer, wrapping the guarded routes.
pub struct RequireAuthService<S, R = (), E = ()> {
    inner: S,
    auth: AuthState<E>,
    roles: PhantomData<fn() -> R>,
}

impl<S: Clone, R, E> Clone for RequireAuthService<S, R, E> {
    fn clone(&self) -> Self {
        RequireAuthService {
            inner: self.inner.clone(),
            auth: self.auth.clone(),
            roles: PhantomData,
        }
    }
}

impl<S: fmt::Debug, R: RequiredRoles, E> fmt::Debug for RequireAuthService<S, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthService")
            .field("inner", &self.inner)
            .field("roles", &R::describe())
            .finish_non_exhaustive()
    }
}

/// The future of [`RequireAuthService`].
type ResponseFuture<Error> = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;

impl<S, R, E> Service<Request> for RequireAuthService<S, R, E>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send,
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone goes into the future; the instance that was polled ready serves it.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        Box::pin(async move {
            let auth = auth.request_authenticator();
            let checked = match request.extensions().get::<Verified<E>>() {
                // An outer guard verified the token: only the roles are left to check.
                Some(Verified(claims)) => auth.require::<R>(claims),
                None => {
                    let verified = auth
                        .authenticate_headers(authorization(request.headers()))
                        .await;
                    match verified {
                        Ok(claims) => auth.require::<R>(&claims).map(|()| {
                            request.extensions_mut().insert(Verified(claims));
                        }),
                        Err(err) => Err(err),
                    }
                }
            };
            match checked {
                Ok(()) => inner.call(request).await.map(IntoResponse::into_response),
                Err(err) => Ok(AuthRejection(err).into_response()),
            }
        })
    }
}
