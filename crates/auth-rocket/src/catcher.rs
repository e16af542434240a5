//! Rendering `authcore::http`'s mapping as Rocket responses: the [`AuthRejection`]
//! responder and the catchers that answer for failed guards.

use std::io::Cursor;

use authcore::AuthError;
use authcore::http::{ErrorResponse, JSON, error_response};
use rocket::http::Status;
use rocket::response::{self, Responder, Response};
use rocket::{Catcher, Request, catcher};

use crate::guard::rejection;

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

/// The status codes the catchers answer: those of authentication failures, and those of
/// Rocket's own request errors.
const CAUGHT: [Status; 9] = [
    Status::BadRequest,
    Status::Unauthorized,
    Status::Forbidden,
    Status::NotFound,
    Status::PayloadTooLarge,
    Status::UnsupportedMediaType,
    Status::UnprocessableEntity,
    Status::InternalServerError,
    Status::ServiceUnavailable,
];

/// The catchers [`AuthFairing`](crate::AuthFairing) registers at `/`, for `400`, `401`,
/// `403`, `404`, `413`, `415`, `422`, `500` and `503`.
///
/// When a guard of this crate failed, they answer with its error, as
/// [`AuthRejection`] would. Otherwise every answer is still a JSON
/// `{error, error_description}` body:
///
/// - Rocket's own body errors (`400`, `413` for a body over a limit, `415`, `422` for an
///   unparsable form or JSON) become `authcore`'s `400 invalid_request`, as a malformed
///   body is for the token routes.
/// - `401` without a recorded error is `authcore`'s `MissingCredentials`: `401` with
///   `WWW-Authenticate: Bearer`, which RFC 9110 §11.6.1 requires of every `401`.
/// - `500` (a failing responder, a panicking handler) is `authcore`'s `server_error`,
///   revealing nothing.
/// - `403`, `404` and `503` keep their status, with the reason phrase as the error code
///   (`{"error": "not_found", …}`).
///
/// Registering them yourself (with [`AuthFairing::without_catchers`](crate::AuthFairing::without_catchers))
/// lets you choose the base, or leave out a code whose catcher your application
/// registers at the same base: Rocket refuses to launch with two catchers for one code
/// and base.
///
/// ```
/// let catchers: Vec<_> = auth_rocket::catchers()
///     .into_iter()
///     .filter(|c| c.code != Some(404))
///     .collect();
/// let rocket = rocket::build().register("/", catchers);
/// ```
pub fn catchers() -> Vec<Catcher> {
    CAUGHT
        .iter()
        .map(|status| {
            let mut c = Catcher::new(status.code, catch);
            c.name = Some("auth_rocket::catch".into());
            c
        })
        .collect()
}

fn catch<'r>(status: Status, req: &'r Request<'_>) -> catcher::BoxFuture<'r> {
    Box::pin(async move { Ok(answer(status, req)) })
}

/// What a catcher answers for `status`.
fn answer(status: Status, req: &Request<'_>) -> Response<'static> {
    // A recorded rejection answers only for its own status: a `404` that a handler
    // returned after `Option<Authenticated>` swallowed a bad token stays a `404`.
    if let Some(rejected) = rejection(req).filter(|r| r.response.status == status.code) {
        return render(&rejected.response);
    }
    let body_error = [
        Status::BadRequest,
        Status::PayloadTooLarge,
        Status::UnsupportedMediaType,
        Status::UnprocessableEntity,
    ];
    let error = if body_error.contains(&status) {
        AuthError::InvalidRequest
    } else if status == Status::Unauthorized {
        AuthError::MissingCredentials
    } else if status == Status::InternalServerError {
        AuthError::Internal("rocket answered 500 (see its log for the cause)".into())
    } else {
        return render_status(status);
    };
    render(&error_response(&error))
}

/// A JSON body for a status `authcore` has no error for: the reason phrase, as a code
/// and as a description.
fn render_status(status: Status) -> Response<'static> {
    let reason = status.reason_lossy().to_ascii_lowercase();
    let code = reason.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let body = serde_json::json!({"error": code, "error_description": reason}).to_string();
    let mut response = Response::build();
    response.status(status);
    json_body(&mut response, body);
    response.finalize()
}
