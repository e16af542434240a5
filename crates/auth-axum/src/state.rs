//! [`AuthState`]: what the extractors and guards take from the router's state.

use std::fmt;
use std::sync::Arc;

use authcore::{Authenticator, RequestAuthenticator};
use axum::extract::FromRef;

/// The verifying half of authcore, as the extractors ([`Authenticated`](crate::Authenticated),
/// [`MaybeAuthenticated`](crate::MaybeAuthenticated), [`Authorized`](crate::Authorized))
/// and the [`RequireAuth`](crate::RequireAuth) guard find it in the router's state:
/// `AuthState<E>: FromRef<S>`.
///
/// Both kinds of service get it without writing anything:
/// - an auth server, whose state is an `Arc<Authenticator<E>>` (login, refresh, the token
///   routes), and
/// - a resource server, whose state is an `Arc<RequestAuthenticator<E>>` (no users, no
///   refresh tokens, no signing key: only the verifier, and the auth server's revocations
///   if it shares them).
///
/// With a state of your own, hand one out:
///
/// ```
/// use std::sync::Arc;
///
/// use auth_axum::authcore::RequestAuthenticator;
/// use auth_axum::{AuthState, Authenticated};
/// use axum::Router;
/// use axum::extract::FromRef;
/// use axum::routing::get;
///
/// #[derive(Clone)]
/// struct AppState {
///     requests: Arc<RequestAuthenticator>,
///     greeting: &'static str,
/// }
///
/// impl FromRef<AppState> for AuthState {
///     fn from_ref(state: &AppState) -> Self {
///         AuthState::new(state.requests.clone())
///     }
/// }
///
/// fn app(state: AppState) -> Router {
///     Router::new()
///         .route("/hello", get(|user: Authenticated| async move { user.sub.clone() }))
///         .with_state(state)
/// }
/// ```
pub struct AuthState<E = ()>(Arc<RequestAuthenticator<E>>);

impl<E> AuthState<E> {
    /// Authenticates requests with `requests`.
    pub fn new(requests: Arc<RequestAuthenticator<E>>) -> Self {
        AuthState(requests)
    }

    /// The request authenticator.
    pub fn request_authenticator(&self) -> &RequestAuthenticator<E> {
        &self.0
    }
}

impl<E> Clone for AuthState<E> {
    fn clone(&self) -> Self {
        AuthState(self.0.clone())
    }
}

impl<E> fmt::Debug for AuthState<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthState").field(&self.0).finish()
    }
}

impl<E> From<Arc<RequestAuthenticator<E>>> for AuthState<E> {
    fn from(requests: Arc<RequestAuthenticator<E>>) -> Self {
        AuthState(requests)
    }
}

impl<E> From<RequestAuthenticator<E>> for AuthState<E> {
    fn from(requests: RequestAuthenticator<E>) -> Self {
        AuthState(Arc::new(requests))
    }
}

impl<E: Send + Sync + 'static> From<&Authenticator<E>> for AuthState<E> {
    fn from(auth: &Authenticator<E>) -> Self {
        AuthState(auth.request_authenticator().clone())
    }
}

impl<E: Send + Sync + 'static> From<Arc<Authenticator<E>>> for AuthState<E> {
    fn from(auth: Arc<Authenticator<E>>) -> Self {
        AuthState::from(&*auth)
    }
}

impl<E: Send + Sync + 'static> From<&Arc<Authenticator<E>>> for AuthState<E> {
    fn from(auth: &Arc<Authenticator<E>>) -> Self {
        AuthState::from(&**auth)
    }
}

/// An auth server's state.
impl<E: Send + Sync + 'static> FromRef<Arc<Authenticator<E>>> for AuthState<E> {
    fn from_ref(auth: &Arc<Authenticator<E>>) -> Self {
        AuthState::from(auth)
    }
}

/// A resource server's state.
impl<E> FromRef<Arc<RequestAuthenticator<E>>> for AuthState<E> {
    fn from_ref(requests: &Arc<RequestAuthenticator<E>>) -> Self {
        AuthState(requests.clone())
    }
}
