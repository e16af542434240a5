//! [`RequireAuth`]: a route-group guard, built on [`actix_web::middleware::from_fn`].

use std::fmt;
use std::marker::PhantomData;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpMessage, HttpRequest};
use authcore::{AuthError, Claims, RequiredRoles};

use crate::AuthRejection;
use crate::extract::{LocalBoxFuture, Verified, authorization};
use crate::state::request_authenticator;

type GuardFuture<B> = LocalBoxFuture<Result<ServiceResponse<EitherBody<B>>, Error>>;

/// The guard as the plain function `from_fn` wraps: a function pointer returning a boxed
/// future, so that the service `from_fn` makes (a type actix-web does not export) can be
/// boxed as a `dyn Service` whose `Future` this crate names.
type GuardFn<B> = fn(ServiceRequest, Next<B>) -> GuardFuture<B>;

/// The service `from_fn` makes of a [`GuardFn`].
type BoxedGuard<B> = Box<
    dyn Service<
            ServiceRequest,
            Response = ServiceResponse<EitherBody<B>>,
            Error = Error,
            Future = GuardFuture<B>,
        >,
>;

/// Guards a whole scope (or app, or resource): every request must carry a valid bearer
/// token whose roles meet `R`, or it is refused with an [`AuthRejection`] before any
/// handler runs.
///
/// The verified claims are stored in the request's extensions: [`Authenticated`],
/// [`MaybeAuthenticated`], [`Authorized`] and nested guards behind it take them from
/// there instead of verifying the token again. Like the extractors, it reads the request
/// authenticator that [`configure`](crate::configure) or
/// [`verify_only`](crate::verify_only) registers.
///
/// `R = ()` requires authentication only; the type parameter cannot be left to
/// inference, so write `RequireAuth::<()>::new()`. For extra claims, use
/// `RequireAuth::<R, MyClaims>::default()`.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use auth_actix::RequireAuth;
///
/// auth_actix::authcore::role!(pub Admin = "admin");
///
/// let app = App::new()
///     .service(
///         web::scope("/api")
///             .wrap(RequireAuth::<()>::new())
///             .route("/ping", web::get().to(|| async { HttpResponse::Ok().finish() })),
///     )
///     .service(
///         web::scope("/admin")
///             .wrap(RequireAuth::<Admin>::new())
///             .route("/stats", web::get().to(|| async { HttpResponse::Ok().finish() })),
///     );
/// ```
///
/// [`Authenticated`]: crate::Authenticated
/// [`MaybeAuthenticated`]: crate::MaybeAuthenticated
/// [`Authorized`]: crate::Authorized
pub struct RequireAuth<R = (), E = ()> {
    marker: PhantomData<fn() -> (R, E)>,
}

impl<R: RequiredRoles> RequireAuth<R> {
    /// A guard requiring a valid token with the roles of `R`.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R, E> Default for RequireAuth<R, E> {
    fn default() -> Self {
        RequireAuth {
            marker: PhantomData,
        }
    }
}

impl<R, E> Clone for RequireAuth<R, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, E> Copy for RequireAuth<R, E> {}

impl<R: RequiredRoles, E> fmt::Debug for RequireAuth<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuth")
            .field("roles", &R::describe())
            .finish()
    }
}

impl<S, B, R, E> Transform<S, ServiceRequest> for RequireAuth<R, E>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireAuthMiddleware<B>;
    type InitError = ();
    type Future = LocalBoxFuture<Result<RequireAuthMiddleware<B>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let guard: GuardFn<B> = guard::<R, E, B>;
        let init = from_fn(guard).new_transform(service);
        Box::pin(async move {
            let inner = init.await?;
            Ok(RequireAuthMiddleware {
                inner: Box::new(inner),
            })
        })
    }
}

/// The service [`RequireAuth`] puts in front of the services it guards.
pub struct RequireAuthMiddleware<B> {
    inner: BoxedGuard<B>,
}

impl<B> fmt::Debug for RequireAuthMiddleware<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthMiddleware")
            .finish_non_exhaustive()
    }
}

impl<B> Service<ServiceRequest> for RequireAuthMiddleware<B> {
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = GuardFuture<B>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.inner.call(req)
    }
}

/// Authenticates and authorizes the request, stores the claims and calls the guarded
/// service; answers the rejection otherwise.
fn guard<R, E, B>(req: ServiceRequest, next: Next<B>) -> GuardFuture<B>
where
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
    B: MessageBody + 'static,
{
    Box::pin(async move {
        match check::<R, E>(req.request()).await {
            Ok(Some(claims)) => {
                req.extensions_mut().insert(Verified(claims));
            }
            Ok(None) => {}
            Err(err) => {
                return Ok(req.error_response(AuthRejection(err)).map_into_right_body());
            }
        }
        next.call(req)
            .await
            .map(ServiceResponse::map_into_left_body)
    })
}

/// Checks `R` against the claims an outer guard stored (`None`: nothing new to store),
/// or else authenticates the request (`Some`: freshly verified claims).
async fn check<R, E>(req: &HttpRequest) -> Result<Option<Claims<E>>, AuthError>
where
    R: RequiredRoles,
    E: Clone + Send + Sync + 'static,
{
    let auth = request_authenticator::<E>(req)?;
    let earlier = req
        .extensions()
        .get::<Verified<E>>()
        .map(|verified| auth.require::<R>(&verified.0));
    if let Some(allowed) = earlier {
        return allowed.map(|()| None);
    }
    let claims = auth.authenticate_headers(authorization(req)).await?;
    auth.require::<R>(&claims)?;
    Ok(Some(claims))
}
