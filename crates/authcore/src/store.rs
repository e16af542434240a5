//! The storage traits the authentication flow needs, and in-memory implementations.
//!
//! Stores do I/O, so they are async (`#[async_trait]`, dyn-compatible) and are held as
//! `Arc<dyn …>`. `Ok(None)` means absent; `Err` only means the backend failed. A backend
//! that cannot be reached in time returns [`StoreError::Unavailable`], which becomes a
//! `503` with `Retry-After`.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::password::PasswordHash;

mod cache;
pub mod memory;
mod mirror;

pub use cache::{DEFAULT_USER_CACHE_SLOTS, UserCache};
pub use mirror::RevocationMirror;

/// A new user id: a random UUID (version 4) in its hyphenated lowercase form, for stores
/// whose database does not assign ids.
///
/// # Errors
/// [`StoreError::Backend`] if the system's random generator fails.
pub fn new_user_id() -> Result<String, StoreError> {
    let bytes = crate::crypto::random_bytes::<16>()
        .map_err(|_| StoreError::backend("random generator failed"))?;
    // The version and variant bits are set by the builder (RFC 9562 §5.4).
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    Ok(id.hyphenated().to_string())
}

/// A registered user.
///
/// `#[non_exhaustive]`, so that it can grow without breaking the stores that build it:
/// a store outside authcore makes one with [`User::new`] and the `with_` setters.
///
/// ```
/// use authcore::time::OffsetDateTime;
/// use authcore::{PasswordHash, User};
///
/// let created = OffsetDateTime::now_utc();
/// let user = User::new("u-1", "ada@example.com", PasswordHash::new("$argon2id$…"), created)
///     .with_roles(vec!["admin".to_owned()]);
/// assert!(!user.disabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// Stable id, put in the `sub` claim.
    pub id: String,
    /// Email address, normalized to lowercase by the [`Authenticator`](crate::Authenticator).
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Roles, copied into access tokens.
    pub roles: Vec<String>,
    /// A disabled user cannot log in or refresh.
    pub disabled: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

impl User {
    /// An enabled user without roles.
    pub fn new(
        id: impl Into<String>,
        email: impl Into<String>,
        password_hash: PasswordHash,
        created_at: OffsetDateTime,
    ) -> Self {
        User {
            id: id.into(),
            email: email.into(),
            password_hash,
            roles: Vec::new(),
            disabled: false,
            created_at,
        }
    }

    /// With `roles`.
    #[must_use]
    pub fn with_roles(mut self, roles: Vec<String>) -> Self {
        self.roles = roles;
        self
    }

    /// Disabled, or not.
    #[must_use]
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }
}

/// A user to create; the store assigns the id and `created_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewUser {
    /// Normalized email address.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Initial roles.
    pub roles: Vec<String>,
}

impl NewUser {
    /// A user to create with a normalized `email`, a `password_hash` and initial `roles`.
    pub fn new(email: impl Into<String>, password_hash: PasswordHash, roles: Vec<String>) -> Self {
        NewUser {
            email: email.into(),
            password_hash,
            roles,
        }
    }
}

/// Users: email + password hash + roles.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Finds a user by normalized email. Lookups are case-insensitive: the authenticator
    /// lowercases emails before every call, and SQL stores also compare case-insensitively.
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// Finds a user by id.
    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;

    /// Creates a user.
    ///
    /// Provided: [`StoreError::Unsupported`], for a read-only directory, which the
    /// authenticator answers as [`AuthError::RegistrationDisabled`](crate::AuthError::RegistrationDisabled)
    /// (`403 registration_disabled`). Such an application leaves the registration route
    /// out (the default of `RoutePaths`), so that no password is hashed for nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the email is taken, decided atomically: of two
    /// concurrent registrations of one email, exactly one succeeds.
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        let _ = user;
        Err(StoreError::Unsupported("creating users"))
    }

    /// Replaces a user's password hash.
    ///
    /// Provided: [`StoreError::Unsupported`], for a read-only directory.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such user.
    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        let _ = (id, hash);
        Err(StoreError::Unsupported("changing passwords"))
    }

    /// Replaces a user's roles.
    ///
    /// Provided: [`StoreError::Unsupported`], for a read-only directory.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such user.
    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        let _ = (id, roles);
        Err(StoreError::Unsupported("changing roles"))
    }

    /// Disables or re-enables a user.
    ///
    /// Provided: [`StoreError::Unsupported`], for a read-only directory.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such user.
    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let _ = (id, disabled);
        Err(StoreError::Unsupported("disabling users"))
    }
}

/// The SHA-256 of a refresh token. Stores only ever see this, never the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lowercase hex, for stores that keep text.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash([redacted])")
    }
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Hash of the token.
    pub token_hash: TokenHash,
    /// The family (session): every token rotated from one login.
    pub family_id: String,
    /// The user it was issued to.
    pub user_id: String,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// The result of [`RefreshTokenStore::consume`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consumed {
    /// The token was live and is now spent: rotate it.
    Rotated(RefreshTokenRecord),
    /// The token had already been spent: someone replays it. Revoke its family.
    Reused(RefreshTokenRecord),
    /// Unknown, expired, or of a revoked family.
    Invalid,
}

/// Refresh tokens, stored only as hashes, grouped into families for rotation and reuse
/// detection (RFC 9700 §4.14.2).
#[async_trait]
pub trait RefreshTokenStore: Send + Sync + 'static {
    /// Stores a new token. A token inserted into a family that is already revoked must
    /// never be consumable.
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError>;

    /// Atomically spends a token. Of any number of concurrent calls for one token, even
    /// from different processes, at most one returns [`Consumed::Rotated`]; the others
    /// see [`Consumed::Reused`]. Spent tokens are kept (marked) until they expire, so a
    /// replay is recognised.
    async fn consume(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Consumed, StoreError>;

    /// Revokes every token of a family, including ones inserted later.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError>;

    /// Revokes every family of a user and returns their ids.
    async fn revoke_user(&self, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// Deletes tokens that expired before `now`; returns how many. Run it periodically.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Revoked access tokens (`jti`) and sessions (`sid`), each kept until the last token it
/// could apply to has expired.
#[async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// Revokes `id` until `expires_at`.
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// `true` if any of `ids` is revoked. One round trip for all of them.
    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError>;

    /// Deletes revocations that expired before `now`; returns how many.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Every revocation still in force at `now`, as `(id, expires_at)`: what a
    /// [`RevocationMirror`] loads when it starts.
    ///
    /// # Errors
    /// The provided implementation returns [`StoreError::Backend`]: a store that cannot
    /// list its revocations cannot be mirrored.
    async fn active(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let _ = now;
        Err(StoreError::backend(
            "this revocation store cannot list its revocations",
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_ids_are_uuid_v4() {
        let id = super::new_user_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, super::new_user_id().unwrap());
    }
}
