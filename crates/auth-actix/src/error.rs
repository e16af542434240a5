//! [`AuthRejection`]: authcore's error mapping rendered as an actix-web response.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use authcore::{AuthError, http};

/// A request refused by authcore, as an actix-web error.
///
/// The response is authcore's mapping ([`authcore::http::error_response`]), unchanged: the
/// status, the `WWW-Authenticate` challenge of RFC 6750 §3, `Retry-After` for a store
/// that is unavailable, and the JSON body `{error, error_description}`. An
/// [`AuthError::Internal`] is logged by authcore and answered with a body that reveals
/// nothing.
///
/// Every extractor of this crate fails with it, and a handler may return it too:
///
/// ```
/// use actix_web::HttpResponse;
/// use auth_actix::{AuthRejection, Authenticated};
/// use auth_actix::authcore::AuthError;
///
/// async fn only_alice(user: Authenticated) -> Result<HttpResponse, AuthRejection> {
///     if user.sub != "alice" {
///         return Err(AuthRejection(AuthError::InsufficientRole));
///     }
///     Ok(HttpResponse::NoContent().finish())
/// }
/// ```
#[derive(Debug)]
pub struct AuthRejection(pub AuthError);

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

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        AuthRejection(err)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        status(http::status_code(&self.0))
    }

    fn error_response(&self) -> HttpResponse {
        render(http::Response::error(&self.0))
    }
}

/// The actix status for one of authcore's status codes.
pub(crate) fn status(code: u16) -> StatusCode {
    // authcore only produces codes in 100..=999, which always convert; the fallback
    // exists only because the conversion is fallible.
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Writes authcore's framework-neutral response as an actix-web response.
pub(crate) fn render(response: http::Response) -> HttpResponse {
    let mut builder = HttpResponse::build(status(response.status));
    if let Some(content_type) = response.content_type() {
        builder.content_type(content_type);
    }
    for (name, value) in response.headers {
        builder.append_header((name, value));
    }
    match response.body {
        Some(body) => builder.body(body),
        None => builder.finish(),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};

    use super::*;

    async fn rendered(err: AuthError) -> (u16, Option<String>, Option<String>, String, String) {
        let rejection = AuthRejection(err);
        let res = rejection.error_response();
        assert_eq!(res.status(), rejection.status_code());
        let header = |name| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (challenge, retry) = (header(WWW_AUTHENTICATE), header(RETRY_AFTER));
        let content_type = header(CONTENT_TYPE).unwrap();
        let status = res.status().as_u16();
        let body = to_bytes(res.into_body()).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        (status, challenge, retry, content_type, body)
    }

    #[actix_web::test]
    async fn renders_the_core_mapping() {
        for err in authcore::testing::error_samples() {
            let expected = http::error_response(&err);
            let (status, challenge, retry, content_type, body) = rendered(err).await;
            assert_eq!(status, expected.status);
            assert_eq!(challenge.as_deref(), expected.www_authenticate);
            assert_eq!(retry, expected.retry_after.map(|s| s.to_string()));
            assert_eq!(content_type, http::JSON);
            assert_eq!(body, expected.body_json());
        }
    }

    #[test]
    fn internal_details_stay_out_of_the_body_and_display_is_fixed() {
        let rejection = AuthRejection(AuthError::Internal("secret detail".into()));
        assert_eq!(rejection.to_string(), "internal error");
        assert!(
            !http::error_response(&rejection.0)
                .body_json()
                .contains("secret")
        );
    }
}
