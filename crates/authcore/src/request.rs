//! Authenticating requests: the verifying half of authcore, on its own. A service that
//! only checks the access tokens of an auth server (a resource server) holds a
//! [`RequestAuthenticator`], with no users, no refresh tokens and no signing key; the
//! auth server's [`Authenticator`](crate::Authenticator) holds one too and hands it out.

use std::fmt;
use std::sync::Arc;

use tracing::{debug, info};

use crate::clock::{Clock, SystemClock};
use crate::password::PasswordHasher;
use crate::store::RevocationStore;
use crate::token::TokenVerifier;
use crate::token::cache::{ClaimsCache, VerifiedTokens};
use crate::{AuthError, Claims, RequiredRoles, http};

/// Verifies the access token of a request and checks its revocation: everything
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate) does, and nothing
/// of login.
///
/// Built from a [`TokenVerifier`], an optional [`RevocationStore`] (the auth server's,
/// so that logouts are honoured here too), an optional cache of verified tokens and a
/// clock.
///
/// ```
/// use std::sync::Arc;
/// use authcore::{Algorithm, Jwt, KeySet, RequestAuthenticator, SigningKey, TokenIssuer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The auth server's key pair; a resource server gets only the public half.
/// let signing = SigningKey::generate(Algorithm::EdDSA)?;
/// let public = KeySet::verify_only().with_verification_key(signing.verification_key())?;
/// let verifier = Jwt::builder()
///     .keys(public)
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build_verifier()?;
/// let requests: RequestAuthenticator = RequestAuthenticator::builder(Arc::new(verifier)).build();
///
/// # let jwt = Jwt::builder().keys(KeySet::new(signing)).issuer("https://auth.example.com")
/// #     .audience("api").build()?;
/// # let token = TokenIssuer::<()>::issue(&jwt, "user-1", &[], None, ())?.token;
/// let header = format!("Bearer {token}");
/// let claims = requests.authenticate(Some(header.as_bytes())).await?;
/// assert_eq!(claims.sub, "user-1");
/// # Ok(())
/// # }
/// ```
pub struct RequestAuthenticator<E = ()> {
    verifier: Arc<dyn TokenVerifier<E>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    /// Tokens that verified, answered without the verifier when presented again.
    verified: Option<Box<dyn ClaimsCache<E>>>,
    clock: Arc<dyn Clock>,
    /// Told of every request, so that password hashing leaves it a CPU.
    hasher: Option<PasswordHasher>,
}

impl<E> fmt::Debug for RequestAuthenticator<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestAuthenticator")
            .field("revocations", &self.revocations.is_some())
            .field("verified_token_cache", &self.verified.is_some())
            .finish_non_exhaustive()
    }
}

impl<E: Send + Sync + 'static> RequestAuthenticator<E> {
    /// Starts a builder around `verifier`.
    pub fn builder(verifier: Arc<dyn TokenVerifier<E>>) -> RequestAuthenticatorBuilder<E> {
        RequestAuthenticatorBuilder {
            verifier,
            revocations: None,
            verified: None,
            clock: Arc::new(SystemClock),
            hasher: None,
        }
    }

    /// Authenticates a request from its raw `Authorization` header value: parses the
    /// bearer token, verifies it and checks that neither it nor its session is revoked.
    /// A token that verified before is answered from the verified-token cache, when there
    /// is one; the revocation check runs every time.
    ///
    /// # Errors
    /// [`AuthError::MissingCredentials`], [`AuthError::MalformedHeader`], every token
    /// failure of [`TokenVerifier::verify`], [`AuthError::Revoked`], and
    /// [`AuthError::Unavailable`] when revocation cannot be checked: a token is never
    /// accepted unchecked.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Claims<E>, AuthError> {
        let result = match http::bearer_token(authorization) {
            Ok(token) => self.authenticate_token(token).await,
            Err(e) => {
                self.note_request();
                Err(e)
            }
        };
        match &result {
            // An anonymous request is no failure: a public page would flood the log.
            Err(e) if e.is_anonymous() => {
                debug!(target: "authcore", event = "unauthenticated", reason = %e);
            }
            Err(e) => info!(target: "authcore", event = "unauthenticated", reason = %e),
            Ok(_) => {}
        }
        result
    }

    /// Authenticates a request from every `Authorization` value it carries, as the
    /// framework gives them: the one call an adapter makes. Several values are
    /// [`AuthError::MalformedHeader`] ([`http::single_header`]); one or none go to
    /// [`RequestAuthenticator::authenticate`].
    ///
    /// # Errors
    /// As [`RequestAuthenticator::authenticate`].
    pub async fn authenticate_headers<'a>(
        &self,
        authorization: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Claims<E>, AuthError> {
        match http::single_header(authorization) {
            Ok(header) => self.authenticate(header).await,
            Err(e) => {
                self.note_request();
                info!(target: "authcore", event = "unauthenticated", reason = %e);
                Err(e)
            }
        }
    }

    /// For routes that also serve anonymous callers: `Ok(None)` when the request carries
    /// no bearer credentials (no `Authorization` header, or one of another scheme, RFC 6750
    /// §3.1), the claims for a good token, and the error for a bad one — a bad token is
    /// never silently treated as anonymous.
    ///
    /// # Errors
    /// As [`RequestAuthenticator::authenticate`], except [`AuthError::MissingCredentials`].
    pub async fn authenticate_optional(
        &self,
        authorization: Option<&[u8]>,
    ) -> Result<Option<Claims<E>>, AuthError> {
        optional(self.authenticate(authorization).await)
    }

    /// [`RequestAuthenticator::authenticate_optional`] from every `Authorization` value,
    /// as [`RequestAuthenticator::authenticate_headers`].
    ///
    /// # Errors
    /// As [`RequestAuthenticator::authenticate_headers`], except
    /// [`AuthError::MissingCredentials`].
    pub async fn authenticate_headers_optional<'a>(
        &self,
        authorization: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<Claims<E>>, AuthError> {
        optional(self.authenticate_headers(authorization).await)
    }

    /// Like [`RequestAuthenticator::authenticate`], for a bare token.
    ///
    /// # Errors
    /// As [`RequestAuthenticator::authenticate`].
    pub async fn authenticate_token(&self, token: &str) -> Result<Claims<E>, AuthError> {
        self.note_request();
        let claims = match &self.verified {
            Some(cache) => match cache.get(token, self.clock.now()) {
                Some(claims) => claims,
                None => {
                    let claims = self.verify(token).await?;
                    cache.put(token, &claims);
                    claims
                }
            },
            None => self.verify(token).await?,
        };
        if let Some(revocations) = &self.revocations {
            let revoked = match &claims.sid {
                Some(sid) => revocations.is_revoked(&[&claims.jti, sid]).await?,
                None => revocations.is_revoked(&[&claims.jti]).await?,
            };
            if revoked {
                return Err(AuthError::Revoked);
            }
        }
        Ok(claims)
    }

    /// Requires every role in `roles`.
    ///
    /// # Errors
    /// [`AuthError::InsufficientRole`] (a `403`) if one is missing.
    pub fn authorize(&self, claims: &Claims<E>, roles: &[&str]) -> Result<(), AuthError> {
        allowed(claims, claims.has_roles(roles))
    }

    /// Requires the roles of `R` (see [`role!`](crate::role)); the typed form of
    /// [`RequestAuthenticator::authorize`] that the adapters' `Authorized<R>` extractors
    /// use.
    ///
    /// # Errors
    /// [`AuthError::InsufficientRole`] (a `403`).
    pub fn require<R: RequiredRoles>(&self, claims: &Claims<E>) -> Result<(), AuthError> {
        allowed(claims, R::allows(claims))
    }

    /// The token verifier.
    pub fn verifier(&self) -> &Arc<dyn TokenVerifier<E>> {
        &self.verifier
    }

    /// The revocation store, if revocations are checked.
    pub fn revocations(&self) -> Option<&Arc<dyn RevocationStore>> {
        self.revocations.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Verifies `token`; a token of a key the verifier does not know is verified once
    /// more after the verifier looked for new keys, if it does
    /// ([`TokenVerifier::refresh_keys`]).
    async fn verify(&self, token: &str) -> Result<Claims<E>, AuthError> {
        match self.verifier.verify(token) {
            Err(AuthError::UnknownKey) => match self.verifier.refresh_keys(token) {
                Some(refresh) => {
                    refresh.await;
                    self.verifier.verify(token)
                }
                None => Err(AuthError::UnknownKey),
            },
            other => other,
        }
    }

    fn note_request(&self) {
        if let Some(hasher) = &self.hasher {
            hasher.note_request();
        }
    }
}

fn optional<E>(result: Result<Claims<E>, AuthError>) -> Result<Option<Claims<E>>, AuthError> {
    match result {
        Ok(claims) => Ok(Some(claims)),
        Err(e) if e.is_anonymous() => Ok(None),
        Err(e) => Err(e),
    }
}

fn allowed<E>(claims: &Claims<E>, allowed: bool) -> Result<(), AuthError> {
    if allowed {
        Ok(())
    } else {
        info!(target: "authcore", event = "forbidden", user_id = %claims.sub);
        Err(AuthError::InsufficientRole)
    }
}

/// Configures a [`RequestAuthenticator`].
#[must_use]
pub struct RequestAuthenticatorBuilder<E = ()> {
    verifier: Arc<dyn TokenVerifier<E>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    verified: Option<Box<dyn ClaimsCache<E>>>,
    clock: Arc<dyn Clock>,
    hasher: Option<PasswordHasher>,
}

impl<E> fmt::Debug for RequestAuthenticatorBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestAuthenticatorBuilder")
            .field("revocations", &self.revocations.is_some())
            .field("verified_token_cache", &self.verified.is_some())
            .finish_non_exhaustive()
    }
}

impl<E> RequestAuthenticatorBuilder<E> {
    /// Checks every token's `jti` and `sid` against `store`: share the auth server's
    /// store (its Redis, its database) so that logouts are honoured here too. Without
    /// one, a token is accepted on its signature and claims alone.
    pub fn revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// The clock the verified-token cache compares `nbf` and `exp` with (give the same
    /// clock to the verifier). Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The password hasher to tell of every request, so that it keeps a CPU free for them
    /// (see [`PasswordHasherBuilder::reserve_cpu`](crate::PasswordHasherBuilder::reserve_cpu)).
    pub(crate) fn hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// The cache, as the [`Authenticator`](crate::Authenticator)'s builder chose it.
    pub(crate) fn cache(mut self, cache: Option<Box<dyn ClaimsCache<E>>>) -> Self {
        self.verified = cache;
        self
    }

    /// Builds it.
    pub fn build(self) -> RequestAuthenticator<E> {
        RequestAuthenticator {
            verifier: self.verifier,
            revocations: self.revocations,
            verified: self.verified,
            clock: self.clock,
            hasher: self.hasher,
        }
    }
}

impl<E: Clone + Send + Sync + 'static> RequestAuthenticatorBuilder<E> {
    /// Remembers up to `slots` (rounded up to a power of two) access tokens that verified,
    /// so that the same token presented again is answered without checking its signature
    /// or parsing its claims again; `0` (the default) turns the cache off.
    ///
    /// Only the exact token that verified is answered from the cache, and only while its
    /// claims are in force (`nbf <= now < exp`). Revocation is checked on every request,
    /// cached or not. The cache assumes the verifier's keys do not change while it lives:
    /// with keys that rotate (a remote JWKS), a key withdrawn by its issuer would still
    /// be trusted for the tokens cached under it.
    pub fn verified_token_cache(self, slots: usize) -> Self {
        let cache = (slots > 0)
            .then(|| Box::new(VerifiedTokens::<E>::new(slots)) as Box<dyn ClaimsCache<E>>);
        self.cache(cache)
    }
}
