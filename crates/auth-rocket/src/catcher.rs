//! Rendering `authcore::http`'s mapping as Rocket responses: the [`AuthRejection`]
//! responder, and the catchers that answer for failed guards and leave every other
//! failure to the application.

use std::fmt;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};

use authcore::http::{ErrorResponse, JSON, error_response, status_code};
use authcore::{AuthError, StoreError};
use rocket::http::Status;
use rocket::response::{self, Responder, Response};
use rocket::{Catcher, Request, catcher};

use crate::guard::{Rejection, failure};

/// An [`AuthError`] as a [`Responder`]: the status, `WWW-Authenticate` challenge
/// (RFC 6750 §3), `Retry-After` (for `503`) and JSON `{error, error_description}` body of
/// [`authcore::http::error_response`].
///
/// For handlers that fail with an authentication error of their own:
///
/// ```
/// use auth_rocket::authcore::{AuthError, Authenticator};
/// use auth_rocket::{AuthRejection, Authenticated};
/// use rocket::State;
/// use std::sync::Arc;
///
/// #[rocket::get("/profile")]
/// async fn profile(
///     user: Authenticated,
///     auth: &State<Arc<Authenticator>>,
/// ) -> Result<String, AuthRejection> {
///     let user = auth.current_user(&user).await?; // a deleted user: 401 invalid_token
///     Ok(user.email)
/// }
/// ```
#[derive(Debug)]
pub struct AuthRejection(pub AuthError);

impl From<AuthError> for AuthRejection {
    fn from(error: AuthError) -> Self {
        AuthRejection(error)
    }
}

impl<'r> Responder<'r, 'static> for AuthRejection {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(render(&error_response(&self.0)))
    }
}

/// The Rocket response for a mapped error.
pub(crate) fn render(mapped: &ErrorResponse) -> Response<'static> {
    let mut response = Response::build();
    response.status(Status::new(mapped.status));
    for (name, value) in mapped.headers() {
        response.raw_header(name, value);
    }
    json_body(&mut response, mapped.body_json());
    response.finalize()
}

/// Sets a JSON body and its `Content-Type`.
pub(crate) fn json_body(response: &mut response::Builder<'_>, body: String) {
    response
        .raw_header("Content-Type", JSON)
        .sized_body(body.len(), Cursor::new(body));
}

/// One error of each kind a guard of this crate (or [`RequireAuth`](crate::RequireAuth))
/// can fail a request with: those of [`Authenticator::authenticate`] and
/// [`Authenticator::require`] (a store that is down or failing included), and
/// [`AuthError::MalformedHeader`] for several `Authorization` headers.
///
/// [`Authenticator::authenticate`]: authcore::Authenticator::authenticate
/// [`Authenticator::require`]: authcore::Authenticator::require
fn guard_errors() -> Vec<AuthError> {
    vec![
        AuthError::MissingCredentials,
        AuthError::MalformedHeader,
        AuthError::Malformed,
        AuthError::TokenTooLarge,
        AuthError::UnsupportedAlgorithm,
        AuthError::UnknownKey,
        AuthError::BadSignature,
        AuthError::WrongType,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::WrongIssuer,
        AuthError::WrongAudience,
        AuthError::Revoked,
        AuthError::UnknownSubject,
        AuthError::InsufficientRole,
        AuthError::Unavailable(StoreError::unavailable("a sample")),
        AuthError::Internal("a sample".into()),
    ]
}

/// The statuses the guards fail requests with, as `authcore::http` maps their errors,
/// each once, in ascending order.
fn guard_statuses() -> Vec<Status> {
    let mut codes: Vec<u16> = guard_errors().iter().map(status_code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes.into_iter().map(Status::new).collect()
}

/// The name of this crate's catchers, by which they leave each other out when they hand a
/// request on.
const CATCHER_NAME: &str = "auth_rocket::catch";

/// The catchers [`AuthFairing`](crate::AuthFairing) registers at `/`: one for each status
/// a guard of this crate can fail a request with, as `authcore::http` maps its errors
/// (today `400`, `401`, `403`, `500` and `503`).
///
/// When a guard of this crate ([`Authenticated`](crate::Authenticated),
/// [`MaybeAuthenticated`](crate::MaybeAuthenticated), [`Authorized`](crate::Authorized)
/// or [`RequireAuth`](crate::RequireAuth)) failed the request with the catcher's status,
/// the catcher answers with that error, as [`AuthRejection`] would: status,
/// `WWW-Authenticate` challenge and JSON body. Any other request is answered as it would
/// be without these catchers: by the application's catcher that Rocket would choose
/// (among those whose base is a prefix of the path, the longest base; at equal length, a
/// catcher of the status before a `default` one), or else by Rocket's default catcher.
/// Every other status (`404`, `422`, …) has no catcher here at all, so the application's
/// catchers and Rocket's defaults answer it unchanged. The token routes need no catcher:
/// they answer every request themselves.
///
/// A guard inside `Option` or `Result` still records its failure: when the handler then
/// fails with the same status itself, the catcher answers with the guard's error.
///
/// Rocket picks a catcher by its base before these catchers see anything, so:
///
/// - a catcher of the application with a longer base, for one of these statuses or
///   `default`, answers the guards' failures under that base too;
/// - Rocket refuses to launch with two catchers for one status and base, so an
///   application that has its own catcher at `/` for one of these statuses registers
///   these catchers itself (with [`AuthFairing::without_catchers`](crate::AuthFairing::without_catchers)),
///   leaving that status out.
///
/// Such a catcher of the application answers the guards' failures with
/// [`guard_failure`]:
///
/// ```
/// use auth_rocket::{GuardFailure, guard_failure};
/// use rocket::Request;
/// use rocket::http::Status;
///
/// #[rocket::catch(401)]
/// fn unauthorized<'r>(req: &'r Request<'_>) -> Result<GuardFailure<'r>, &'static str> {
///     guard_failure(Status::Unauthorized, req).ok_or("please log in")
/// }
///
/// let catchers: Vec<_> = auth_rocket::catchers()
///     .into_iter()
///     .filter(|c| c.code != Some(Status::Unauthorized.code))
///     .chain(rocket::catchers![unauthorized])
///     .collect();
/// let rocket = rocket::build().register("/", catchers);
/// ```
pub fn catchers() -> Vec<Catcher> {
    guard_statuses()
        .into_iter()
        .map(|status| {
            let mut c = Catcher::new(status.code, catch);
            c.name = Some(CATCHER_NAME.into());
            c
        })
        .collect()
}

/// The failure with which a guard of this crate (or [`RequireAuth`](crate::RequireAuth))
/// failed a request, as a [`Responder`]: the status, `WWW-Authenticate` challenge,
/// `Retry-After` and JSON body that [`catchers`] answer with. For a catcher of the
/// application that answers in their place; see [`guard_failure`].
pub struct GuardFailure<'r> {
    rejected: &'r Rejection,
}

impl<'r> GuardFailure<'r> {
    /// The error the guard failed with.
    pub fn error(&self) -> &'r AuthError {
        &self.rejected.error
    }
}

impl fmt::Debug for GuardFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GuardFailure")
            .field(&self.rejected.error)
            .finish()
    }
}

impl<'r> Responder<'r, 'static> for GuardFailure<'_> {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(render(&self.rejected.response))
    }
}

/// The failure of a request that a guard of this crate (or
/// [`RequireAuth`](crate::RequireAuth)) failed with `status`, which [`catchers`] answer
/// with; for a catcher of the application that answers in their place. `None` when no
/// such guard failed the request, or failed it with another status (a `404` that a
/// handler returned after `Option<Authenticated>` swallowed a bad token is the
/// application's).
///
/// ```
/// use auth_rocket::authcore::testing::TestAuth;
/// use auth_rocket::{AuthFairing, Authenticated, GuardFailure, guard_failure};
/// use rocket::Request;
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
///
/// #[rocket::get("/me")]
/// fn me(user: Authenticated) -> String {
///     user.sub.clone()
/// }
///
/// /// Every error under `/api`: a failed guard's own answer, or a short text.
/// #[rocket::catch(default)]
/// fn api_error<'r>(status: Status, req: &'r Request<'_>) -> Result<GuardFailure<'r>, String> {
///     guard_failure(status, req).ok_or_else(|| format!("api error {}", status.code))
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = TestAuth::new();
/// let rocket = rocket::build()
///     .attach(AuthFairing::new(t.auth.clone()))
///     .mount("/api", rocket::routes![me])
///     .register("/api", rocket::catchers![api_error]);
/// let client = Client::untracked(rocket)?;
///
/// let response = client.get("/api/me").dispatch();
/// assert_eq!(response.status(), Status::Unauthorized);
/// assert_eq!(response.headers().get_one("WWW-Authenticate"), Some("Bearer"));
///
/// let response = client.get("/api/nowhere").dispatch();
/// assert_eq!(response.status(), Status::NotFound);
/// assert_eq!(response.into_string().as_deref(), Some("api error 404"));
/// # Ok(())
/// # }
/// ```
pub fn guard_failure<'r>(status: Status, req: &'r Request<'_>) -> Option<GuardFailure<'r>> {
    failure(req)
        .filter(|rejected| rejected.response.status == status.code)
        .map(|rejected| GuardFailure { rejected })
}

fn catch<'r>(status: Status, req: &'r Request<'_>) -> catcher::BoxFuture<'r> {
    match guard_failure(status, req) {
        Some(failure) => {
            let response = render(&failure.rejected.response);
            Box::pin(async move { Ok(response) })
        }
        None => Box::pin(hand_on(status, req)),
    }
}

/// Set while a catcher of this crate waits for the catcher it handed the request to.
struct HandingOn(AtomicBool);

/// Clears [`HandingOn`] when the catcher handed to returns (or panics).
struct Clear<'r>(&'r AtomicBool);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Answers as Rocket would without this crate's catchers: with the application's catcher
/// that Rocket would choose, or Rocket's default catcher.
async fn hand_on<'r>(status: Status, req: &'r Request<'_>) -> catcher::Result<'r> {
    let handing_on = &req.local_cache(|| HandingOn(AtomicBool::new(false))).0;
    // A catcher of this crate that the application renamed is not left out below, and
    // would be chosen again and again: the second time, Rocket's default answers.
    if handing_on.swap(true, Ordering::Relaxed) {
        return Catcher::default().handler.handle(status, req).await;
    }
    let _clear = Clear(handing_on);
    match application_catcher(status, req) {
        Some(catcher) => catcher.handler.handle(status, req).await,
        None => Catcher::default().handler.handle(status, req).await,
    }
}

/// The catcher Rocket would choose for `status` and `req` if this crate had registered
/// none: among the catchers whose base is a prefix of the request's path, the one with
/// the longest base, a catcher of `status` before a `default` one at equal length (as
/// Rocket's router chooses).
fn application_catcher<'r>(status: Status, req: &'r Request<'_>) -> Option<&'r Catcher> {
    let depth = |c: &Catcher| c.base.path().segments().len();
    let mut explicit: Option<&Catcher> = None;
    let mut default: Option<&Catcher> = None;
    for c in req.rocket().catchers() {
        if c.name.as_deref() == Some(CATCHER_NAME)
            || !c
                .base
                .path()
                .segments()
                .prefix_of(req.uri().path().segments())
        {
            continue;
        }
        let best = match c.code {
            None => &mut default,
            Some(code) if code == status.code => &mut explicit,
            Some(_) => continue,
        };
        if best.is_none_or(|b| depth(c) > depth(b)) {
            *best = Some(c);
        }
    }
    match (explicit, default) {
        (Some(e), Some(d)) if depth(d) > depth(e) => Some(d),
        (Some(e), _) => Some(e),
        (None, d) => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catchers_cover_exactly_the_guards_statuses() {
        let codes: Vec<Status> = catchers()
            .iter()
            .filter_map(|c| c.code.map(Status::new))
            .collect();
        assert_eq!(
            codes,
            [
                Status::BadRequest,
                Status::Unauthorized,
                Status::Forbidden,
                Status::InternalServerError,
                Status::ServiceUnavailable,
            ]
        );
        assert!(
            catchers()
                .iter()
                .all(|c| c.base.path() == "/" && c.name.as_deref() == Some(CATCHER_NAME))
        );
    }
}
