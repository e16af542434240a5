//! The authentication service: register, login, refresh with rotation and reuse
//! detection, logout, revoke-all and request authentication.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::{Duration, OffsetDateTime};
use tracing::{debug, info, warn};

use crate::clock::{Clock, SystemClock};
use crate::crypto::{B64, random_bytes, sha256};
use crate::error::{ConfigError, StoreError};
use crate::jwks::Jwks;
use crate::password::{PasswordHasher, PasswordPolicy, UnusableHash, Verification};
use crate::request::RequestAuthenticator;
use crate::store::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemoryUserStore};
use crate::store::{
    Consumed, NewUser, RefreshTokenRecord, RefreshTokenStore, RevocationStore, TokenHash, User,
    UserStore,
};
use crate::token::cache::{ClaimsCache, VerifiedTokens};
use crate::token::{TokenIssuer, TokenVerifier};
use crate::{AuthError, Claims, Jwt, RequiredRoles};

/// Length of a refresh token: 32 random bytes in base64url (256 bits of entropy).
const REFRESH_TOKEN_LEN: usize = 43;

/// An access token and a refresh token, as returned by login and refresh.
///
/// Serializes to the token response body of RFC 6749 §5.1:
/// `{access_token, token_type: "Bearer", expires_in, refresh_token}`. Its [`Debug`]
/// output is redacted.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// When the refresh token expires.
    #[serde(skip)]
    pub refresh_expires_at: OffsetDateTime,
    /// The user the pair was issued to, as the store answered at login or refresh: an
    /// application that answers `{user, token}` needs no second read. Never serialized.
    #[serde(skip)]
    pub user: User,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("user_id", &self.user.id)
            .finish_non_exhaustive()
    }
}

type ExtraClaims<E> = Arc<dyn Fn(&User) -> E + Send + Sync>;

/// The authentication flow over a [`UserStore`], a [`RefreshTokenStore`], a
/// [`RevocationStore`] and a token issuer and verifier.
///
/// `E` is the application's extra claims type, filled at login and refresh by the
/// function given to [`AuthenticatorBuilder::extra_claims`].
///
/// ```
/// use std::sync::Arc;
/// use authcore::{Algorithm, Authenticator, Jwt, KeySet, PasswordHasher, SigningKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = Jwt::builder()
///     .keys(KeySet::new(SigningKey::generate(Algorithm::HS256)?))
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?;
/// let auth = Authenticator::builder()
///     .jwt(Arc::new(jwt))
///     .memory_stores()
///     # .password_hasher(PasswordHasher::builder().memory_kib(64).iterations(1).build()?)
///     .build()?;
///
/// auth.register("ada@example.com", "correct horse battery").await?;
/// let pair = auth.login("ada@example.com", "correct horse battery").await?;
/// let header = format!("Bearer {}", pair.access_token);
/// let claims = auth.authenticate(Some(header.as_bytes())).await?;
///
/// let rotated = auth.refresh(&pair.refresh_token).await?;
/// assert!(auth.refresh(&pair.refresh_token).await.is_err()); // reuse: family revoked
/// assert!(auth.refresh(&rotated.refresh_token).await.is_err());
///
/// auth.logout(&claims).await?;
/// assert!(auth.authenticate(Some(header.as_bytes())).await.is_err());
/// # Ok(())
/// # }
/// ```
pub struct Authenticator<E = ()> {
    users: Arc<dyn UserStore>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
    issuer: Arc<dyn TokenIssuer<E>>,
    /// Verification, revocation checks and the verified-token cache.
    requests: Arc<RequestAuthenticator<E>>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    refresh_ttl: Duration,
    clock: Arc<dyn Clock>,
    extra: ExtraClaims<E>,
    /// The JWKS and its JSON, serialized once at build time.
    jwks: Option<(Jwks, String)>,
}

impl<E> fmt::Debug for Authenticator<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("hasher", &self.hasher)
            .field("policy", &self.policy)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

/// Slots of the verified-token cache unless configured:
/// [`AuthenticatorBuilder::verified_token_cache`].
pub const DEFAULT_VERIFIED_TOKEN_SLOTS: usize = 1024;

impl Authenticator<()> {
    /// Starts a builder (no extra claims; see [`AuthenticatorBuilder::extra_claims`]).
    pub fn builder() -> AuthenticatorBuilder<()> {
        AuthenticatorBuilder {
            users: None,
            refresh_tokens: None,
            revocations: None,
            jwt: None,
            issuer: None,
            verifier: None,
            verified: Some(Box::new(VerifiedTokens::new(DEFAULT_VERIFIED_TOKEN_SLOTS))),
            verified_chosen: false,
            hasher: None,
            policy: PasswordPolicy::default(),
            refresh_ttl: Duration::days(14),
            clock: Arc::new(SystemClock),
            extra: Arc::new(|_: &User| ()),
        }
    }
}

/// Lowercases and checks an email address: one `@`, a non-empty local part of at most
/// 64 bytes, a domain with a dot-free-or-dotted label, no whitespace or control
/// characters, at most 254 bytes in all.
pub(crate) fn normalize_email(email: &str) -> Result<String, AuthError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if ok {
        Ok(email.to_lowercase())
    } else {
        Err(AuthError::InvalidEmail)
    }
}

fn hash_refresh_token(token: &str) -> TokenHash {
    TokenHash(sha256(token.as_bytes()))
}

impl<E: Send + Sync + 'static> Authenticator<E> {
    /// Registers a user with no roles.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`], [`AuthError::WeakPassword`], [`AuthError::EmailTaken`],
    /// and store failures.
    pub async fn register(&self, email: &str, password: &str) -> Result<User, AuthError> {
        self.register_with_roles(email, password, &[]).await
    }

    /// Registers a user with `roles` (for bootstrapping an administrator).
    ///
    /// # Errors
    /// As [`Authenticator::register`].
    pub async fn register_with_roles(
        &self,
        email: &str,
        password: &str,
        roles: &[String],
    ) -> Result<User, AuthError> {
        let email = normalize_email(email)?;
        self.policy.check(password).await?;
        let password_hash = self.hasher.hash_async(password).await?;
        let new = NewUser {
            email,
            password_hash,
            roles: roles.to_vec(),
        };
        match self.users.create(new).await {
            Ok(user) => {
                info!(target: "authcore", event = "register", user_id = %user.id);
                Ok(user)
            }
            Err(StoreError::Conflict) => Err(AuthError::EmailTaken),
            Err(StoreError::Unsupported(_)) => Err(AuthError::RegistrationDisabled),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks an email and password and issues a token pair in a new session.
    ///
    /// An unknown email costs one argon2 verification, like a wrong password, and both
    /// fail with the same [`AuthError::InvalidGrant`]. A matching hash below the current
    /// parameters, or of a legacy scheme (see [`PasswordHasher`]'s "Legacy hashes"), is
    /// replaced. A stored hash that cannot be verified fails the same way, and is logged
    /// at `warn` the first time for each user.
    ///
    /// # Errors
    /// [`AuthError::InvalidGrant`] for unknown emails, wrong passwords and disabled users;
    /// store failures.
    pub async fn login(&self, email: &str, password: &str) -> Result<TokenPair, AuthError> {
        let user = match normalize_email(email) {
            Ok(email) => self.users.find_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            self.hasher.verify_dummy_async(password).await?;
            info!(target: "authcore", event = "login_failed", reason = "unknown_email");
            return Err(AuthError::InvalidGrant);
        };
        let verification = self
            .hasher
            .verify_async(password, &user.password_hash)
            .await?;
        if let Verification::Unusable(unusable) = verification {
            self.refuse_unusable_hash(&user.id, unusable);
            return Err(AuthError::InvalidGrant);
        }
        if !verification.is_match() || user.disabled {
            let reason = if user.disabled {
                "disabled"
            } else {
                "wrong_password"
            };
            info!(target: "authcore", event = "login_failed", reason, user_id = %user.id);
            return Err(AuthError::InvalidGrant);
        }
        if verification == Verification::MatchNeedsRehash {
            match self.hasher.hash_async(password).await {
                Ok(hash) => match self.users.update_password_hash(&user.id, &hash).await {
                    // A read-only directory keeps its hashes: the login stands.
                    Err(StoreError::Unsupported(_)) => {
                        debug!(target: "authcore", event = "rehash_skipped", user_id = %user.id);
                    }
                    other => other?,
                },
                Err(e) => {
                    warn!(target: "authcore", event = "rehash_failed", user_id = %user.id, error = %e)
                }
            }
        }
        let family = crate::crypto::random_id::<16>()?;
        let pair = self.issue_pair(&user, &family).await?;
        info!(target: "authcore", event = "login", user_id = %user.id);
        Ok(pair)
    }

    /// Logs a login refused because the stored hash cannot be verified: at `warn` the
    /// first time for the user, then at `info`; with the scheme's name, never the hash.
    fn refuse_unusable_hash(&self, user_id: &str, unusable: UnusableHash) {
        let (scheme, problem) = (unusable.scheme(), unusable.reason().as_str());
        let reason = "unusable_password_hash";
        if self.hasher.first_unusable_hash_of(user_id) {
            warn!(target: "authcore", event = "login_failed", reason, scheme, problem, user_id = %user_id);
        } else {
            info!(target: "authcore", event = "login_failed", reason, scheme, problem, user_id = %user_id);
        }
    }

    async fn issue_pair(&self, user: &User, family: &str) -> Result<TokenPair, AuthError> {
        let now = self.clock.now();
        let refresh_token = B64.encode(random_bytes::<32>()?);
        let refresh_expires_at = now + self.refresh_ttl;
        self.refresh_tokens
            .insert(RefreshTokenRecord {
                token_hash: hash_refresh_token(&refresh_token),
                family_id: family.to_owned(),
                user_id: user.id.clone(),
                issued_at: now,
                expires_at: refresh_expires_at,
            })
            .await?;
        let access = self
            .issuer
            .issue(&user.id, &user.roles, Some(family), (self.extra)(user))?;
        Ok(TokenPair {
            access_token: access.token,
            token_type: "Bearer",
            // The lifetime, not `exp - now`: `iat` is truncated to whole seconds, so the
            // difference would read 899 for a 900 s token.
            expires_in: self.issuer.access_ttl().whole_seconds(),
            refresh_token,
            refresh_expires_at,
            user: user.clone(),
        })
    }

    /// Spends a refresh token and issues a new pair in the same session.
    ///
    /// A refresh token that was already spent revokes its whole family, the newest
    /// token included, and every access token of that session (RFC 9700 §4.14.2).
    ///
    /// # Errors
    /// [`AuthError::InvalidGrant`] for unknown, spent, expired or revoked tokens and for
    /// users that are gone or disabled; store failures.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        self.hasher.note_request();
        if refresh_token.len() != REFRESH_TOKEN_LEN {
            return Err(AuthError::InvalidGrant);
        }
        let hash = hash_refresh_token(refresh_token);
        match self.refresh_tokens.consume(&hash, self.clock.now()).await? {
            Consumed::Rotated(record) => {
                let user = self.users.find_by_id(&record.user_id).await?;
                let Some(user) = user.filter(|u| !u.disabled) else {
                    self.revoke_session(&record.family_id).await?;
                    info!(target: "authcore", event = "refresh_failed", reason = "user_gone", user_id = %record.user_id);
                    return Err(AuthError::InvalidGrant);
                };
                let pair = self.issue_pair(&user, &record.family_id).await?;
                info!(target: "authcore", event = "refresh", user_id = %user.id);
                Ok(pair)
            }
            Consumed::Reused(record) => {
                self.revoke_session(&record.family_id).await?;
                warn!(target: "authcore", event = "refresh_reuse_detected", user_id = %record.user_id);
                Err(AuthError::InvalidGrant)
            }
            Consumed::Invalid => {
                info!(target: "authcore", event = "refresh_failed", reason = "invalid");
                Err(AuthError::InvalidGrant)
            }
        }
    }

    /// Revokes a session: its refresh-token family and every access token carrying its
    /// `sid`.
    async fn revoke_session(&self, family: &str) -> Result<(), AuthError> {
        self.refresh_tokens.revoke_family(family).await?;
        self.revocations
            .revoke(family, self.session_revocation_end())
            .await?;
        Ok(())
    }

    /// Until when a session revoked now must stay revoked: the last access token of it
    /// expires at most one lifetime from now, and the verifier accepts it for its leeway
    /// after that.
    fn session_revocation_end(&self) -> OffsetDateTime {
        self.clock.now() + self.issuer.access_ttl() + self.requests.verifier().leeway()
    }

    /// Logs out: revokes this access token (`jti`) and its session (`sid`): the refresh
    /// family and every other access token of it. Each revocation is kept until the
    /// verifier could no longer accept the token anyway: its `exp` plus the verifier's
    /// [leeway](TokenVerifier::leeway).
    ///
    /// # Errors
    /// Store failures.
    pub async fn logout(&self, claims: &Claims<E>) -> Result<(), AuthError> {
        self.revocations
            .revoke(&claims.jti, claims.exp + self.requests.verifier().leeway())
            .await?;
        if let Some(sid) = &claims.sid {
            self.revoke_session(sid).await?;
        }
        info!(target: "authcore", event = "logout", user_id = %claims.sub);
        Ok(())
    }

    /// Revokes every session of a user: for a password change, when disabling or deleting
    /// the user, or to log out everywhere.
    ///
    /// # Errors
    /// Store failures.
    pub async fn revoke_all(&self, user_id: &str) -> Result<(), AuthError> {
        let families = self.refresh_tokens.revoke_user(user_id).await?;
        let until = self.session_revocation_end();
        for family in &families {
            self.revocations.revoke(family, until).await?;
        }
        info!(target: "authcore", event = "revoke_all", user_id, sessions = families.len());
        Ok(())
    }

    /// Sets a new password (checked against the policy) and revokes every session.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::UnknownSubject`] if there is no such user,
    /// store failures.
    pub async fn change_password(
        &self,
        user_id: &str,
        new_password: &str,
    ) -> Result<(), AuthError> {
        self.policy.check(new_password).await?;
        let hash = self.hasher.hash_async(new_password).await?;
        match self.users.update_password_hash(user_id, &hash).await {
            Err(StoreError::NotFound) => return Err(AuthError::UnknownSubject),
            other => other?,
        }
        self.revoke_all(user_id).await
    }

    /// Authenticates a request from its raw `Authorization` header value: parses the
    /// bearer token, verifies it and checks that neither it nor its session is revoked.
    /// A token that verified before is answered from the verified-token cache
    /// ([`AuthenticatorBuilder::verified_token_cache`]); the revocation check runs every
    /// time. The same as [`RequestAuthenticator::authenticate`] on
    /// [`Authenticator::request_authenticator`].
    ///
    /// # Errors
    /// [`AuthError::MissingCredentials`], [`AuthError::MalformedHeader`], every token
    /// failure of [`TokenVerifier::verify`], [`AuthError::Revoked`], and
    /// [`AuthError::Unavailable`] when revocation cannot be checked: a token is never
    /// accepted unchecked.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Claims<E>, AuthError> {
        self.requests.authenticate(authorization).await
    }

    /// For routes that also serve anonymous callers: `Ok(None)` when the request carries
    /// no bearer credentials (no `Authorization` header, or one of another scheme, RFC 6750
    /// §3.1), the claims for a good token, and the error for a bad one — a bad token is
    /// never silently treated as anonymous.
    ///
    /// # Errors
    /// As [`Authenticator::authenticate`], except [`AuthError::MissingCredentials`].
    pub async fn authenticate_optional(
        &self,
        authorization: Option<&[u8]>,
    ) -> Result<Option<Claims<E>>, AuthError> {
        self.requests.authenticate_optional(authorization).await
    }

    /// Like [`Authenticator::authenticate`], for a bare token.
    ///
    /// # Errors
    /// As [`Authenticator::authenticate`].
    pub async fn authenticate_token(&self, token: &str) -> Result<Claims<E>, AuthError> {
        self.requests.authenticate_token(token).await
    }

    /// Requires every role in `roles`.
    ///
    /// # Errors
    /// [`AuthError::InsufficientRole`] (a `403`) if one is missing.
    pub fn authorize(&self, claims: &Claims<E>, roles: &[&str]) -> Result<(), AuthError> {
        self.requests.authorize(claims, roles)
    }

    /// Requires the roles of `R` (see [`role!`](crate::role)); the typed form of
    /// [`Authenticator::authorize`].
    ///
    /// # Errors
    /// [`AuthError::InsufficientRole`] (a `403`).
    pub fn require<R: RequiredRoles>(&self, claims: &Claims<E>) -> Result<(), AuthError> {
        self.requests.require::<R>(claims)
    }

    /// The request-authenticating half: what a route that only needs to know who calls
    /// it depends on. Hand it to the parts of an application that authenticate requests
    /// but never log anyone in.
    pub fn request_authenticator(&self) -> &Arc<RequestAuthenticator<E>> {
        &self.requests
    }

    /// The user behind verified claims.
    ///
    /// # Errors
    /// [`AuthError::UnknownSubject`] if the user is gone or disabled; store failures.
    pub async fn current_user(&self, claims: &Claims<E>) -> Result<User, AuthError> {
        match self.users.find_by_id(&claims.sub).await? {
            Some(user) if !user.disabled => Ok(user),
            _ => Err(AuthError::UnknownSubject),
        }
    }

    /// The public verification keys to publish at `/.well-known/jwks.json`; `None` when
    /// only shared secrets are configured.
    pub fn jwks(&self) -> Option<&Jwks> {
        self.jwks.as_ref().map(|(jwks, _)| jwks)
    }

    /// [`Authenticator::jwks`] as JSON, serialized once when the authenticator was built.
    pub fn jwks_json(&self) -> Option<&str> {
        self.jwks.as_ref().map(|(_, json)| json.as_str())
    }

    /// The user store.
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    /// The refresh-token store.
    pub fn refresh_tokens(&self) -> &Arc<dyn RefreshTokenStore> {
        &self.refresh_tokens
    }

    /// The revocation store.
    pub fn revocations(&self) -> &Arc<dyn RevocationStore> {
        &self.revocations
    }

    /// The token issuer.
    pub fn issuer(&self) -> &Arc<dyn TokenIssuer<E>> {
        &self.issuer
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Deletes expired refresh tokens and revocations from the stores; returns how many.
    /// Run it periodically.
    ///
    /// # Errors
    /// Store failures.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let now = self.clock.now();
        Ok(self.refresh_tokens.purge_expired(now).await?
            + self.revocations.purge_expired(now).await?)
    }
}

/// Configures an [`Authenticator`].
#[must_use]
pub struct AuthenticatorBuilder<E = ()> {
    users: Option<Arc<dyn UserStore>>,
    refresh_tokens: Option<Arc<dyn RefreshTokenStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    jwt: Option<Arc<Jwt>>,
    issuer: Option<Arc<dyn TokenIssuer<E>>>,
    verifier: Option<Arc<dyn TokenVerifier<E>>>,
    verified: Option<Box<dyn ClaimsCache<E>>>,
    /// Whether `verified` was set by `verified_token_cache`, not by default.
    verified_chosen: bool,
    hasher: Option<PasswordHasher>,
    policy: PasswordPolicy,
    refresh_ttl: Duration,
    clock: Arc<dyn Clock>,
    extra: ExtraClaims<E>,
}

impl<E> fmt::Debug for AuthenticatorBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

impl<E> AuthenticatorBuilder<E> {
    /// The user store. Required.
    pub fn users(mut self, store: Arc<dyn UserStore>) -> Self {
        self.users = Some(store);
        self
    }

    /// The refresh-token store. Required.
    pub fn refresh_tokens(mut self, store: Arc<dyn RefreshTokenStore>) -> Self {
        self.refresh_tokens = Some(store);
        self
    }

    /// The revocation store. Required.
    pub fn revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// Uses the in-memory stores for all three. Everything is lost on restart.
    pub fn memory_stores(self) -> Self {
        self.users(Arc::new(MemoryUserStore::new()))
            .refresh_tokens(Arc::new(MemoryRefreshTokenStore::new()))
            .revocations(Arc::new(MemoryRevocationStore::new()))
    }

    /// Uses `jwt` as issuer and verifier, and publishes its JWKS.
    pub fn jwt(mut self, jwt: Arc<Jwt>) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// A custom issuer (instead of [`AuthenticatorBuilder::jwt`]).
    pub fn issuer(mut self, issuer: Arc<dyn TokenIssuer<E>>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// A custom verifier (instead of [`AuthenticatorBuilder::jwt`]). Its answers are not
    /// cached unless [`AuthenticatorBuilder::verified_token_cache`] says so: a verifier
    /// whose keys can change must verify every request.
    pub fn verifier(mut self, verifier: Arc<dyn TokenVerifier<E>>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The password hasher. Default: argon2id with the OWASP parameters.
    pub fn password_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// The password policy for registration and password changes.
    pub fn password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Refresh-token lifetime. Default 14 days.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The clock for refresh-token expiry and revocations (give the same clock to the
    /// [`Jwt`]). Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Switches to application-defined extra claims, computed from the user at login and
    /// refresh. Custom issuers or verifiers set before this call are dropped; set them
    /// after it. The verified-token cache is then off until
    /// [`AuthenticatorBuilder::verified_token_cache`] turns it on (it needs `E2: Clone`).
    pub fn extra_claims<E2>(
        self,
        f: impl Fn(&User) -> E2 + Send + Sync + 'static,
    ) -> AuthenticatorBuilder<E2> {
        AuthenticatorBuilder {
            users: self.users,
            refresh_tokens: self.refresh_tokens,
            revocations: self.revocations,
            jwt: self.jwt,
            issuer: None,
            verifier: None,
            verified: None,
            verified_chosen: false,
            hasher: self.hasher,
            policy: self.policy,
            refresh_ttl: self.refresh_ttl,
            clock: self.clock,
            extra: Arc::new(f),
        }
    }
}

impl<E: Clone + Send + Sync + 'static> AuthenticatorBuilder<E> {
    /// Remembers up to `slots` (rounded up to a power of two) access tokens that verified,
    /// so that the same token presented again is answered without checking its signature
    /// or parsing its claims again; `0` turns the cache off. On by default with
    /// [`DEFAULT_VERIFIED_TOKEN_SLOTS`] for [`Jwt`] verification without extra claims (about
    /// 1 KiB a slot at most); off for a custom [`verifier`](AuthenticatorBuilder::verifier)
    /// or extra claims unless this turns it on.
    ///
    /// Only the exact token that verified is answered from the cache, and only while its
    /// claims are in force (`nbf <= now < exp`; near its expiry the verifier decides,
    /// with its leeway). Revocation is checked on every request, cached or not. The cache
    /// assumes the verifier's keys do not change while the authenticator lives, which is
    /// so for [`Jwt`]; key rotation builds a new one.
    pub fn verified_token_cache(mut self, slots: usize) -> Self {
        self.verified = (slots > 0)
            .then(|| Box::new(VerifiedTokens::<E>::new(slots)) as Box<dyn ClaimsCache<E>>);
        self.verified_chosen = true;
        self
    }
}

impl<E: Serialize + DeserializeOwned + Send + Sync + 'static> AuthenticatorBuilder<E> {
    /// Builds the authenticator.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if a store, the issuer or the verifier is missing, or the
    /// refresh lifetime is not positive.
    pub fn build(self) -> Result<Authenticator<E>, ConfigError> {
        let missing = |what| ConfigError::Invalid(what);
        if !self.refresh_ttl.is_positive() {
            return Err(ConfigError::Invalid(
                "the refresh-token lifetime must be positive",
            ));
        }
        let jwt_issuer = self.jwt.clone().map(|j| j as Arc<dyn TokenIssuer<E>>);
        let jwt_verifier = self.jwt.clone().map(|j| j as Arc<dyn TokenVerifier<E>>);
        let verified = if self.verifier.is_some() && !self.verified_chosen {
            None
        } else {
            self.verified
        };
        let jwks = self
            .jwt
            .as_ref()
            .map(|j| j.jwks())
            .filter(|j| !j.is_empty())
            .map(|j| (j.clone(), j.to_json()));
        let revocations = self
            .revocations
            .ok_or(missing("a revocation store is required"))?;
        let verifier = self
            .verifier
            .or(jwt_verifier)
            .ok_or(missing("a token verifier is required"))?;
        let hasher = self.hasher.unwrap_or_default();
        let requests = RequestAuthenticator::builder(verifier)
            .revocations(Arc::clone(&revocations))
            .clock(Arc::clone(&self.clock))
            .hasher(hasher.clone())
            .cache(verified)
            .build();
        Ok(Authenticator {
            users: self.users.ok_or(missing("a user store is required"))?,
            refresh_tokens: self
                .refresh_tokens
                .ok_or(missing("a refresh-token store is required"))?,
            revocations,
            issuer: self
                .issuer
                .or(jwt_issuer)
                .ok_or(missing("a token issuer is required"))?,
            requests: Arc::new(requests),
            hasher,
            policy: self.policy,
            refresh_ttl: self.refresh_ttl,
            clock: self.clock,
            extra: self.extra,
            jwks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Authenticated requests and refreshes, good or bad, tell the password hasher that
    /// other requests are being served; logins do not.
    #[tokio::test]
    async fn requests_other_than_logins_are_noted_by_the_hasher() {
        let auth = crate::testing::TestAuth::new().auth;
        auth.register("ada@example.com", "correct horse battery")
            .await
            .unwrap();
        auth.login("ada@example.com", "correct horse battery")
            .await
            .unwrap();
        assert!(!auth.hasher.request_noted());
        let _ = auth.authenticate(None).await;
        assert!(auth.hasher.request_noted());

        let auth = crate::testing::TestAuth::new().auth;
        let _ = auth.refresh("not a refresh token").await;
        assert!(auth.hasher.request_noted());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("Ada@Example.COM").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "ada@@x.y",
            "ada@x..y",
            "ada@.x",
            "ada\n@x.y",
        ] {
            assert!(
                matches!(normalize_email(bad), Err(AuthError::InvalidEmail)),
                "{bad:?} accepted"
            );
        }
        assert!(normalize_email(&format!("{}@x.y", "a".repeat(65))).is_err());
    }
}
