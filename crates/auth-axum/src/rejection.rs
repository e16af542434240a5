//! [`AuthRejection`] and the rendering of the core's plain-data responses as axum
//! responses.

use std::fmt;

use authcore::AuthError;
use authcore::http::{self as core_http, error_response};
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `Content-Type: application/json`, checked at compile time.
const JSON: HeaderValue = HeaderValue::from_static(core_http::JSON);

/// The rejection of every extractor and guard of this crate: an [`AuthError`] answered
/// as `authcore::http` maps it (RFC 6750 §3): its status, `WWW-Authenticate` challenge,
/// `Retry-After` for `503`, and a JSON `{error, error_description}` body.
///
/// Return it from your own handlers to answer an [`AuthError`] the same way:
///
/// ```
/// use auth_axum::AuthRejection;
/// use auth_axum::authcore::AuthError;
/// use axum::response::IntoResponse;
///
/// let response = AuthRejection(AuthError::InsufficientRole).into_response();
/// assert_eq!(response.status(), 403);
/// assert!(response.headers()["www-authenticate"]
///     .to_str()?
///     .starts_with(r#"Bearer error="insufficient_scope""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AuthRejection(pub AuthError);

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        AuthRejection(err)
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        // `Internal` errors are logged by the core's mapping, never here.
        render(core_http::Response::error(&self.0))
    }
}

/// Renders a response of the core: status, headers, `Content-Type` and body as given.
pub(crate) fn render(response: core_http::Response) -> Response {
    let mut builder = Response::builder().status(response.status);
    if let Some(content_type) = response.content_type() {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    let body = response.body.map_or_else(Body::empty, Body::from);
    builder.body(body).unwrap_or_else(|err| {
        // Only reachable if the core produced an invalid status or header; the core's
        // mapping of `Internal` logs it and reveals nothing to the client.
        let mapped = error_response(&AuthError::Internal(Box::new(err)));
        let status =
            StatusCode::from_u16(mapped.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(CONTENT_TYPE, JSON)], mapped.body_json()).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_renders_the_core_mapping() {
        for err in authcore::testing::error_samples() {
            let expected = error_response(&err);
            let response = AuthRejection::from(err).into_response();
            assert_eq!(response.status().as_u16(), expected.status);
            let headers = response.headers();
            assert_eq!(headers[CONTENT_TYPE], core_http::JSON);
            assert_eq!(
                headers.get("www-authenticate").map(|v| v.to_str().unwrap()),
                expected.www_authenticate
            );
            assert_eq!(
                headers.get("retry-after").is_some(),
                expected.retry_after.is_some()
            );
        }
    }

    #[test]
    fn an_invalid_core_response_becomes_a_server_error() {
        let mut bad = core_http::Response::json(core_http::status::OK, "{}".to_owned());
        bad.headers.push(("bad header", "x".to_owned()));
        let response = render(bad);
        let expected = error_response(&AuthError::Internal("x".into()));
        assert_eq!(response.status().as_u16(), expected.status);
        assert_eq!(response.headers()[CONTENT_TYPE], core_http::JSON);
        assert!(response.headers().get("www-authenticate").is_none());
    }
}
