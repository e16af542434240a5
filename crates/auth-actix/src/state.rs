//! Where the extractors, the guard and the token routes find authcore: app data,
//! registered by [`configure`](crate::configure) (an auth server) or [`verify_only`] (a
//! resource server).

use actix_web::HttpRequest;
use actix_web::web::{Data, ServiceConfig};
use authcore::{AuthError, Authenticator, RequestAuthenticator};

/// Registers `requests` as app data, for a service that only verifies the tokens of an
/// auth server (a resource server): no users, no refresh tokens, no signing key. The
/// extractors ([`Authenticated`](crate::Authenticated),
/// [`MaybeAuthenticated`](crate::MaybeAuthenticated), [`Authorized`](crate::Authorized))
/// and [`RequireAuth`](crate::RequireAuth) then work as in the auth server; the token
/// routes are not mounted.
///
/// Pass a `web::Data<RequestAuthenticator<E>>` or an `Arc<RequestAuthenticator<E>>`, at
/// the app level with [`App::configure`](actix_web::App::configure).
///
/// ```
/// use std::sync::Arc;
/// use actix_web::{App, HttpResponse, web};
/// use auth_actix::Authenticated;
/// use auth_actix::authcore::{Algorithm, Jwt, KeySet, RequestAuthenticator, SigningKey};
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
/// let requests: Arc<RequestAuthenticator> =
///     Arc::new(RequestAuthenticator::builder(Arc::new(verifier)).build());
///
/// let app = App::new()
///     .configure(auth_actix::verify_only(requests))
///     .route("/whoami", web::get().to(|user: Authenticated| async move {
///         HttpResponse::Ok().body(user.sub.clone())
///     }));
/// # Ok(())
/// # }
/// ```
pub fn verify_only<E>(
    requests: impl Into<Data<RequestAuthenticator<E>>>,
) -> impl FnOnce(&mut ServiceConfig)
where
    E: Send + Sync + 'static,
{
    let requests = requests.into();
    move |cfg| {
        cfg.app_data(requests);
    }
}

/// Registers `auth` and its request authenticator as app data.
pub(crate) fn register<E>(cfg: &mut ServiceConfig, auth: Data<Authenticator<E>>)
where
    E: Send + Sync + 'static,
{
    cfg.app_data(Data::from(auth.request_authenticator().clone()));
    cfg.app_data(auth);
}

/// The authenticator registered as app data, for the token routes.
///
/// A missing one is a configuration error that [`configure`](crate::configure) rules
/// out; should it happen anyway, it is answered as authcore answers
/// [`AuthError::Internal`], which logs it.
pub(crate) fn authenticator<E: 'static>(req: &HttpRequest) -> Result<&Authenticator<E>, AuthError> {
    req.app_data::<Data<Authenticator<E>>>()
        .map(Data::get_ref)
        .ok_or_else(|| {
            AuthError::Internal(
                "auth-actix: no web::Data<Authenticator<E>> in the app data for this claims \
                 type; register it with auth_actix::configure"
                    .into(),
            )
        })
}

/// The request authenticator registered as app data ([`verify_only`]), or else the one of
/// the registered [`Authenticator`]: what the extractors and the guard authenticate with.
///
/// Missing, it is an [`AuthError::Internal`], as for [`authenticator`].
pub(crate) fn request_authenticator<E>(
    req: &HttpRequest,
) -> Result<&RequestAuthenticator<E>, AuthError>
where
    E: Send + Sync + 'static,
{
    if let Some(requests) = req.app_data::<Data<RequestAuthenticator<E>>>() {
        return Ok(requests.get_ref());
    }
    match req.app_data::<Data<Authenticator<E>>>() {
        Some(auth) => Ok(auth.request_authenticator()),
        None => Err(AuthError::Internal(
            "auth-actix: no web::Data<RequestAuthenticator<E>> nor web::Data<Authenticator<E>> \
             in the app data for this claims type; register one with auth_actix::verify_only \
             or auth_actix::configure"
                .into(),
        )),
    }
}
