//! The three error audiences: request time ([`AuthError`]), storage ([`StoreError`]) and
//! start-up ([`ConfigError`]). Messages are fixed strings: they never carry a token, a
//! password, a hash, a key or an email address.

use std::error::Error as StdError;

/// A boxed error from a storage backend or other collaborator.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong while handling a request.
///
/// [`crate::http::error_response`] maps each variant to a status code, a
/// `WWW-Authenticate` value (RFC 6750 §3) and a JSON body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer credentials were sent: no `Authorization` header, an empty one, or one of
    /// another scheme (RFC 6750 §3.1).
    #[error("no credentials were sent")]
    MissingCredentials,
    /// The request is malformed apart from any token: several `Authorization` values,
    /// `Bearer` with no credential after it, or another scheme's header with bytes outside
    /// visible ASCII (`400 invalid_request`).
    #[error("the authorization header is malformed")]
    MalformedHeader,
    /// The token is not a well-formed compact JWS (characters outside base64url, the
    /// wrong number of segments, a header or payload that is not UTF-8 JSON), or its
    /// header or claims are invalid (wrong JSON types, missing required claims, unknown
    /// critical extensions).
    #[error("the token is malformed")]
    Malformed,
    /// The token is longer than the verifier accepts.
    #[error("the token is too large")]
    TokenTooLarge,
    /// The token's `alg` is not the algorithm of the selected key (this covers `none`).
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// No verification key matches the token's `kid`.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// The token's `typ` header is not `at+jwt` (RFC 9068 §2.1).
    #[error("the token is not an access token")]
    WrongType,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` lies in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token's `iss` is not the expected issuer.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// The token's `aud` does not contain the expected audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// The token (or its session) was revoked.
    #[error("the token has been revoked")]
    Revoked,
    /// The token's subject no longer exists or is disabled.
    #[error("the token's subject is no longer valid")]
    UnknownSubject,
    /// The caller is authenticated but lacks a required role.
    #[error("the token lacks a required role")]
    InsufficientRole,
    /// Login or refresh failed: wrong email or password, or an unknown, spent, expired or
    /// revoked refresh token. Deliberately does not say which.
    #[error("the credentials or refresh token are invalid")]
    InvalidGrant,
    /// The email address is already registered.
    #[error("the email address is already registered")]
    EmailTaken,
    /// Registration is closed: the user store does not create users (a read-only
    /// directory; [`StoreError::Unsupported`] from [`UserStore::create`](crate::UserStore::create)).
    /// A `403 registration_disabled`.
    #[error("registration is closed")]
    RegistrationDisabled,
    /// The email address is not acceptable.
    #[error("the email address is invalid")]
    InvalidEmail,
    /// The password violates the password policy.
    #[error("the password does not meet the password policy")]
    WeakPassword(PasswordRejection),
    /// The request body or parameters are malformed.
    #[error("the request is malformed")]
    InvalidRequest,
    /// A store did not answer in time or could not be reached; retry later.
    #[error("a store is temporarily unavailable")]
    Unavailable(#[source] StoreError),
    /// An internal failure (a backend error, a signing failure). Details are logged, never
    /// sent to the client.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Why a password was refused by the [`crate::PasswordPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejection {
    /// Fewer code points than the policy's minimum.
    #[error("the password is too short")]
    TooShort,
    /// More code points than the policy's maximum.
    #[error("the password is too long")]
    TooLong,
    /// The breached-password check found it in a breach corpus.
    #[error("the password appears in a known data breach")]
    Breached,
}

impl AuthError {
    /// `true` when the request carried no bearer credentials at all (no `Authorization`
    /// header, or one of another scheme; RFC 6750 §3.1): routes that also serve anonymous
    /// callers treat it as anonymous, and every other error as a refusal. The one rule
    /// behind [`Authenticator::authenticate_optional`](crate::Authenticator::authenticate_optional)
    /// and the adapters' `MaybeAuthenticated`.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, AuthError::MissingCredentials)
    }
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => AuthError::Unavailable(err),
            other => AuthError::Internal(Box::new(other)),
        }
    }
}

/// A storage backend failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint was violated (for example, the email is taken).
    #[error("the record already exists")]
    Conflict,
    /// The record to update does not exist.
    #[error("the record does not exist")]
    NotFound,
    /// The backend could not be reached or did not answer within its timeout.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other backend failure.
    #[error("the store failed")]
    Backend(#[source] BoxError),
    /// The store does not do this: a read-only user directory asked to create or change a
    /// user (the provided methods of [`UserStore`](crate::UserStore)).
    #[error("the store does not support {0}")]
    Unsupported(&'static str),
}

impl StoreError {
    /// Wraps a backend error as [`StoreError::Unavailable`].
    pub fn unavailable(err: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(err.into())
    }

    /// Wraps a backend error as [`StoreError::Backend`].
    pub fn backend(err: impl Into<BoxError>) -> Self {
        StoreError::Backend(err.into())
    }

    /// `true` for [`StoreError::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A start-up configuration error: found when keys and services are built, before the
/// first request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An HMAC secret shorter than its hash output (RFC 7518 §3.2).
    #[error("the HMAC secret must be at least {min} bytes")]
    SecretTooShort {
        /// The minimum length in bytes.
        min: usize,
    },
    /// An RSA key below 2048 bits.
    #[error("RSA keys must be at least 2048 bits")]
    RsaKeyTooSmall,
    /// The PEM or DER input could not be parsed as a supported key.
    #[error("the key could not be parsed: {0}")]
    InvalidKey(&'static str),
    /// The key does not fit the requested algorithm.
    #[error("the key does not fit the algorithm {0}")]
    AlgorithmMismatch(&'static str),
    /// Two keys share one `kid`.
    #[error("two keys share the key id {0:?}")]
    DuplicateKid(String),
    /// A JWKS document could not be parsed.
    #[error("the JWKS document is invalid: {0}")]
    InvalidJwks(&'static str),
    /// An environment variable is missing or invalid. The value is never shown.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable's name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key file could not be read.
    #[error("the key file could not be read")]
    Io(#[source] std::io::Error),
    /// A builder is missing a required part or has an invalid setting.
    #[error("invalid configuration: {0}")]
    Invalid(&'static str),
}
