//! The token traits and their JWT implementation.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;

use crate::{AuthError, Claims};

pub(crate) mod cache;
pub(crate) mod issuers;
pub(crate) mod jwt;
pub(crate) mod profile;

/// Issues signed access tokens.
///
/// Synchronous and dyn-compatible: signing is CPU-bound microseconds.
pub trait TokenIssuer<E = ()>: Send + Sync {
    /// Issues an access token for `subject` with `roles`, the session (refresh-token
    /// family) `session`, and the application's `extra` claims.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if signing fails.
    fn issue(
        &self,
        subject: &str,
        roles: &[String],
        session: Option<&str>,
        extra: E,
    ) -> Result<IssuedToken, AuthError>;

    /// The lifetime of the access tokens this issuer makes.
    fn access_ttl(&self) -> time::Duration;
}

/// Verifies access tokens.
pub trait TokenVerifier<E = ()>: Send + Sync {
    /// Verifies `token` (the compact serialization, without the `Bearer ` prefix) and
    /// returns its claims. Revocation is not checked here; see
    /// [`Authenticator::authenticate`](crate::Authenticator::authenticate).
    ///
    /// # Errors
    /// The token failures of [`AuthError`]: `TokenTooLarge`, `Malformed`,
    /// `UnsupportedAlgorithm`, `UnknownKey`, `BadSignature`, `WrongType`, `Expired`,
    /// `NotYetValid`, `WrongIssuer`, `WrongAudience`.
    fn verify(&self, token: &str) -> Result<Claims<E>, AuthError>;

    /// How long after its `exp` this verifier may still accept a token (its clock-skew
    /// tolerance). Revocations are kept until `exp` plus this, so that a logged-out token
    /// cannot come back within it.
    ///
    /// The default, [`DEFAULT_REVOCATION_LEEWAY`], errs on the side of keeping
    /// revocations too long; a verifier that knows its leeway returns it.
    fn leeway(&self) -> time::Duration {
        DEFAULT_REVOCATION_LEEWAY
    }

    /// Called when [`verify`](TokenVerifier::verify) refused `token` with
    /// [`AuthError::UnknownKey`]: a verifier whose keys can change (a remote JWKS)
    /// returns a future that looks for new keys, after which the token is verified once
    /// more. The default, `None`, means the keys never change.
    ///
    /// The verifier decides whether a token is worth a look (its issuer, a cooldown
    /// between fetches), so that unknown `kid`s cannot make it fetch at will.
    fn refresh_keys<'a>(&'a self, token: &'a str) -> Option<KeyRefresh<'a>> {
        let _ = token;
        None
    }
}

/// The future of [`TokenVerifier::refresh_keys`].
pub type KeyRefresh<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What [`TokenVerifier::leeway`] answers for a verifier that does not say: 5 minutes,
/// longer than any clock-skew tolerance in common use.
pub const DEFAULT_REVOCATION_LEEWAY: time::Duration = time::Duration::minutes(5);

/// A freshly issued access token.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The compact JWS. Treat it as a secret.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: OffsetDateTime,
}

impl IssuedToken {
    /// A token made by a [`TokenIssuer`] of your own: its compact form, its `jti` (what
    /// a logout revokes) and its expiry.
    pub fn new(token: String, jti: String, expires_at: OffsetDateTime) -> Self {
        IssuedToken {
            token,
            jti,
            expires_at,
        }
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
