//! The HTTP side of authentication without an HTTP library: parsing the `Authorization`
//! header (RFC 6750 §2.1) and mapping every [`AuthError`] to a status code, a
//! `WWW-Authenticate` challenge (RFC 6750 §3) and a JSON body, as plain data. Each
//! framework adapter renders an [`ErrorResponse`] in a few lines.
//!
//! # For adapter authors
//!
//! This module is the whole of what a framework adapter needs from authcore besides
//! [`RequestAuthenticator`](crate::RequestAuthenticator), and `docs/adapters.md` in the
//! repository specifies what an adapter provides with it:
//!
//! - authenticating a request: the raw `Authorization` values go to
//!   [`RequestAuthenticator::authenticate_headers`](crate::RequestAuthenticator::authenticate_headers)
//!   (or its `_optional` twin), which parses them with [`single_header`] and
//!   [`bearer_token`];
//! - answering a failure: [`error_response`] gives the status, headers and body of any
//!   [`AuthError`] ([`ErrorResponse`], [`ErrorBody`], [`JSON`]);
//! - the token routes: [`register`], [`token`], [`refresh`], [`logout`] and [`jwks`] take
//!   the request's bytes and return a [`Response`] to render, at the paths of a
//!   [`RoutePaths`]; bodies are read up to [`MAX_BODY_BYTES`];
//! - the constants an adapter would otherwise write itself: [`status`],
//!   [`TOKEN_RESPONSE_HEADERS`], [`RETRY_AFTER_SECONDS`].

use std::fmt;

use serde::Serialize;

use crate::AuthError;

mod handlers;
mod paths;

pub use paths::{RoutePaths, RoutePathsBuilder};

pub use handlers::{
    MAX_BODY_BYTES, Response, UserView, jwks, logout, parse_body, refresh, register, token,
    user_json,
};

/// Status codes the adapters send on success, so that no adapter holds a literal.
pub mod status {
    /// `200 OK`.
    pub const OK: u16 = 200;
    /// `201 Created`.
    pub const CREATED: u16 = 201;
    /// `204 No Content`.
    pub const NO_CONTENT: u16 = 204;
    /// `404 Not Found`.
    pub const NOT_FOUND: u16 = 404;
}

/// Headers of every token response (RFC 6749 §5.1): tokens must not be cached.
pub const TOKEN_RESPONSE_HEADERS: [(&str, &str); 2] =
    [("cache-control", "no-store"), ("pragma", "no-cache")];

/// `Retry-After` seconds sent with `503 temporarily_unavailable`.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Extracts the token from an `Authorization` header value: `Bearer <token>` with the
/// scheme matched case-insensitively (RFC 6750 §2.1).
///
/// The token is only ever taken from this header, never from a query string.
///
/// # Errors
/// - [`AuthError::MissingCredentials`] when the header is absent, empty or of another
///   scheme (RFC 6750 §3.1: no error code then);
/// - [`AuthError::MalformedHeader`] (`400 invalid_request`) when the request itself is
///   malformed: a `Bearer` scheme with no credential after it, or another scheme's header
///   with bytes outside visible ASCII;
/// - [`AuthError::Malformed`] (`401 invalid_token`) when the credential after `Bearer`
///   is not in `b64token` syntax (other characters, several words, bytes outside ASCII):
///   that is a malformed token like any other, and the client's answer to it is the same
///   (refresh, or log in again).
pub fn bearer_token(header: Option<&[u8]>) -> Result<&str, AuthError> {
    let Some(raw) = header else {
        return Err(AuthError::MissingCredentials);
    };
    let raw = trim_ows(raw);
    if raw.is_empty() {
        return Err(AuthError::MissingCredentials);
    }
    let scheme_end = raw
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(raw.len());
    if !raw[..scheme_end].eq_ignore_ascii_case(b"bearer") {
        // Another scheme carries no bearer credentials (RFC 6750 §3.1), but bytes outside
        // visible ASCII are malformed whatever the scheme.
        return if raw
            .iter()
            .all(|b| *b == b' ' || *b == b'\t' || b.is_ascii_graphic())
        {
            Err(AuthError::MissingCredentials)
        } else {
            Err(AuthError::MalformedHeader)
        };
    }
    let token = trim_ows(&raw[scheme_end..]);
    if token.is_empty() {
        return Err(AuthError::MalformedHeader);
    }
    // One pass over the token: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
    // "+" / "/" ) *"="
    let body_len = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    let (body, padding) = token.split_at(body_len);
    // A fold without early exit vectorizes; `all` does not (tokens are hundreds of bytes).
    let valid = !body.is_empty()
        && body.iter().fold(true, |ok, &b| ok & is_b64token_byte(b))
        && padding.iter().fold(true, |ok, &b| ok & (b == b'='));
    if !valid {
        return Err(AuthError::Malformed);
    }
    // Every byte is ASCII here, so this cannot fail.
    std::str::from_utf8(token).map_err(|_| AuthError::Malformed)
}

/// The request's one `Authorization` value, from all the values it carries: `None`
/// without one, [`AuthError::MalformedHeader`] with several (RFC 9110 §5.3: a field that
/// is not a list must not repeat, and guessing which one counts would differ between
/// frameworks). Adapters pass every value of the header here, then the result to
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate).
///
/// # Errors
/// [`AuthError::MalformedHeader`] for more than one value.
pub fn single_header<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = values.into_iter();
    let first = values.next();
    match values.next() {
        None => Ok(first),
        Some(_) => Err(AuthError::MalformedHeader),
    }
}

/// Strips optional whitespace (RFC 9110 §5.6.3: spaces and tabs only; CR, LF and other
/// controls stay and make the header malformed).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, without branches.
fn is_b64token_byte(b: u8) -> bool {
    let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    alpha
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// The JSON body of an error response: `{"error": …, "error_description": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// A fixed error code (`invalid_token`, `invalid_grant`, …).
    pub error: &'static str,
    /// A fixed, human-readable description. Never echoes input.
    pub error_description: &'static str,
}

/// How an [`AuthError`] is answered over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// Status code.
    pub status: u16,
    /// `WWW-Authenticate` value, when the status calls for one.
    pub www_authenticate: Option<&'static str>,
    /// `Retry-After` seconds, for `503`.
    pub retry_after: Option<u32>,
    /// JSON body.
    pub body: ErrorBody,
}

impl ErrorResponse {
    /// The body serialized as JSON.
    pub fn body_json(&self) -> String {
        // Two static strings always serialize.
        serde_json::to_string(&self.body).unwrap_or_default()
    }

    /// The headers to send besides `Content-Type: application/json`.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let challenge = self
            .www_authenticate
            .map(|v| ("www-authenticate", v.to_owned()));
        let retry = self.retry_after.map(|s| ("retry-after", s.to_string()));
        challenge.into_iter().chain(retry)
    }
}

/// `Content-Type` of every body authcore produces.
pub const JSON: &str = "application/json";

macro_rules! invalid_token {
    ($description:literal) => {
        (
            401,
            Some(concat!(
                r#"Bearer error="invalid_token", error_description=""#,
                $description,
                '"'
            )),
            "invalid_token",
            $description,
        )
    };
}

/// Maps an error to its response. `Unavailable` and `Internal` errors are logged here,
/// once a call, with their chain of causes (`the store is unavailable: no answer within
/// 5s`), and answered with a body that reveals nothing.
pub fn error_response(err: &AuthError) -> ErrorResponse {
    match err {
        AuthError::Unavailable(source) => {
            tracing::warn!(target: "authcore", event = "store_unavailable", error = %Causes(source));
        }
        AuthError::Internal(source) => {
            tracing::error!(target: "authcore", event = "internal_error", error = %Causes(source.as_ref()));
        }
        _ => {}
    }
    mapped(err)
}

/// An error and its sources, joined by `: `. A source whose message its parent's already
/// ends with (a wrapper that repeats its cause) is not repeated.
struct Causes<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let message = cause.to_string();
            if !shown.ends_with(&message) {
                write!(f, ": {message}")?;
            }
            shown = message;
            next = cause.source();
        }
        Ok(())
    }
}

/// The status code [`error_response`] gives `err`, without logging: for a framework that
/// asks for the status apart from the response (actix-web's `ResponseError`).
pub fn status_code(err: &AuthError) -> u16 {
    mapped(err).status
}

/// [`error_response`] without the log.
fn mapped(err: &AuthError) -> ErrorResponse {
    let (status, www_authenticate, error, description): (
        u16,
        Option<&'static str>,
        &'static str,
        &'static str,
    ) = match err {
        AuthError::MissingCredentials => (
            401,
            Some("Bearer"),
            "unauthorized",
            "no credentials were sent",
        ),
        AuthError::MalformedHeader => (
            400,
            Some(
                r#"Bearer error="invalid_request", error_description="the authorization header is malformed""#,
            ),
            "invalid_request",
            "the authorization header is malformed",
        ),
        AuthError::Malformed => invalid_token!("the token is malformed"),
        AuthError::TokenTooLarge => invalid_token!("the token is too large"),
        AuthError::UnsupportedAlgorithm => invalid_token!("the token's algorithm is not accepted"),
        AuthError::UnknownKey => invalid_token!("the token's signing key is unknown"),
        AuthError::BadSignature => invalid_token!("the token's signature is invalid"),
        AuthError::WrongType => invalid_token!("the token is not an access token"),
        AuthError::Expired => invalid_token!("the token has expired"),
        AuthError::NotYetValid => invalid_token!("the token is not valid yet"),
        AuthError::WrongIssuer => invalid_token!("the token's issuer is not accepted"),
        AuthError::WrongAudience => invalid_token!("the token's audience is not accepted"),
        AuthError::Revoked => invalid_token!("the token has been revoked"),
        AuthError::UnknownSubject => invalid_token!("the token's subject is no longer valid"),
        AuthError::InsufficientRole => (
            403,
            Some(
                r#"Bearer error="insufficient_scope", error_description="the token lacks a required role""#,
            ),
            "insufficient_scope",
            "the token lacks a required role",
        ),
        AuthError::InvalidGrant => (
            401,
            None,
            "invalid_grant",
            "the credentials or refresh token are invalid",
        ),
        AuthError::EmailTaken => (
            409,
            None,
            "email_taken",
            "the email address is already registered",
        ),
        AuthError::RegistrationDisabled => {
            (403, None, "registration_disabled", "registration is closed")
        }
        AuthError::InvalidEmail => (422, None, "invalid_email", "the email address is invalid"),
        AuthError::WeakPassword(reason) => (
            422,
            None,
            "invalid_password",
            match reason {
                crate::PasswordRejection::TooShort => "the password is too short",
                crate::PasswordRejection::TooLong => "the password is too long",
                crate::PasswordRejection::Breached => "the password appears in a known data breach",
            },
        ),
        AuthError::InvalidRequest => (400, None, "invalid_request", "the request is malformed"),
        AuthError::Unavailable(_) => {
            return ErrorResponse {
                status: 503,
                www_authenticate: None,
                retry_after: Some(RETRY_AFTER_SECONDS),
                body: ErrorBody {
                    error: "temporarily_unavailable",
                    error_description: "a store is temporarily unavailable; retry later",
                },
            };
        }
        AuthError::Internal(_) => (500, None, "server_error", "internal error"),
    };
    ErrorResponse {
        status,
        www_authenticate,
        retry_after: None,
        body: ErrorBody {
            error,
            error_description: description,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and an optional source.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_are_joined_and_a_repeated_one_is_shown_once() {
        let io = Layer("connection refused", None);
        assert_eq!(Causes(&io).to_string(), "connection refused");
        let chain = Layer(
            "the store is unavailable",
            Some(Box::new(Layer(
                "error communicating with database: connection refused",
                Some(Box::new(io)),
            ))),
        );
        assert_eq!(
            Causes(&chain).to_string(),
            "the store is unavailable: error communicating with database: connection refused"
        );
        let store = crate::StoreError::unavailable(Layer("no answer within 5s", None));
        assert_eq!(
            Causes(&store).to_string(),
            "the store is unavailable: no answer within 5s"
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(
            bearer_token(Some(b"Bearer abc.def-_~+/=")).unwrap(),
            "abc.def-_~+/="
        );
        assert_eq!(bearer_token(Some(b"bEaReR  abc")).unwrap(), "abc");
        for missing in [
            None,
            Some(&b""[..]),
            Some(b"   "),
            Some(b"Basic dXNlcjpwdw=="),
            Some(b"Token abc"),
        ] {
            assert!(
                matches!(bearer_token(missing), Err(AuthError::MissingCredentials)),
                "{missing:?}"
            );
        }
        // The request is malformed apart from any token: 400 invalid_request.
        for malformed in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer \t ",
            // Found by the `header` fuzz target: CR, LF and FF are not optional whitespace.
            b"\x0cBearer \nabc",
            b"Bearer\x0babc",
            b"Basic \xff",
            "Basic caf\u{e9}".as_bytes(),
        ] {
            assert!(
                matches!(
                    bearer_token(Some(malformed)),
                    Err(AuthError::MalformedHeader)
                ),
                "{malformed:?}"
            );
        }
        // A credential in the bearer position that is no b64token is a malformed token:
        // 401 invalid_token, as for any other bad token.
        for bad_token in [
            &b"Bearer a b"[..],
            b"Bearer a,b",
            b"Bearer =abc",
            b"Bearer \xff\xfe",
            b"Bearer abc\x00",
            b"bEaReR \ra",
            b"Bearer abc\r\n",
            b"Bearer eyJ*garbage*.@@@@.!!!!",
            b"Bearer eyJ\xc3\xa9\xff\xfe.eyJ\x80.\xe2\x82",
            "Bearer caf\u{e9}".as_bytes(),
        ] {
            assert!(
                matches!(bearer_token(Some(bad_token)), Err(AuthError::Malformed)),
                "{bad_token:?}"
            );
        }
    }

    #[test]
    fn one_authorization_header_at_most() {
        assert_eq!(single_header([]).unwrap(), None);
        assert_eq!(
            single_header([&b"Bearer a"[..]]).unwrap(),
            Some(&b"Bearer a"[..])
        );
        assert!(matches!(
            single_header([&b"Bearer a"[..], b"Bearer a"]),
            Err(AuthError::MalformedHeader)
        ));
    }

    #[test]
    fn b64token_bytes_are_exactly_rfc_6750s() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn mapping_follows_rfc_6750() {
        let r = error_response(&AuthError::MissingCredentials);
        assert_eq!((r.status, r.www_authenticate), (401, Some("Bearer")));
        let r = error_response(&AuthError::Expired);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.www_authenticate,
            Some(r#"Bearer error="invalid_token", error_description="the token has expired""#)
        );
        assert_eq!(
            r.body_json(),
            r#"{"error":"invalid_token","error_description":"the token has expired"}"#
        );
        let r = error_response(&AuthError::InsufficientRole);
        assert_eq!(r.status, 403);
        assert!(
            r.www_authenticate
                .unwrap()
                .starts_with(r#"Bearer error="insufficient_scope""#)
        );
        let r = error_response(&AuthError::MalformedHeader);
        assert_eq!((r.status, r.body.error), (400, "invalid_request"));
        let r = error_response(&AuthError::Unavailable(crate::StoreError::unavailable(
            "down",
        )));
        assert_eq!(
            (r.status, r.retry_after, r.body.error),
            (503, Some(1), "temporarily_unavailable")
        );
        assert_eq!(
            r.headers().collect::<Vec<_>>(),
            vec![("retry-after", "1".to_owned())]
        );
        let r = error_response(&AuthError::Internal("secret detail".into()));
        assert_eq!((r.status, r.body.error), (500, "server_error"));
        assert!(!r.body_json().contains("secret"));
        assert_eq!(error_response(&AuthError::InvalidGrant).status, 401);
        assert_eq!(error_response(&AuthError::EmailTaken).status, 409);
        assert_eq!(error_response(&AuthError::InvalidEmail).status, 422);
    }

    #[test]
    fn challenge_descriptions_match_bodies() {
        for err in [
            AuthError::Malformed,
            AuthError::BadSignature,
            AuthError::Revoked,
            AuthError::WrongAudience,
        ] {
            let r = error_response(&err);
            let challenge = r.www_authenticate.unwrap();
            assert!(challenge.ends_with(&format!(
                "error_description=\"{}\"",
                r.body.error_description
            )));
            assert!(!r.body.error_description.contains('"'));
        }
    }
}
