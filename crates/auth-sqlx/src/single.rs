//! One process as the only user of an embedded SQLite database: the file claimed, the
//! revocations mirrored and the users cached, in one call.

use std::fmt;
use std::sync::Arc;

use authcore::store::{RevocationMirror, UserCache};
use authcore::time::OffsetDateTime;
use authcore::{AuthenticatorBuilder, RefreshTokenStore, RevocationStore, StoreError, UserStore};

use crate::sqlite::{SqliteStore, SqliteStoreBuilder};

/// The three stores of a process that is its SQLite database's only user, made by
/// [`SqliteStoreBuilder::connect_single_instance`]: the users behind a
/// [`UserCache`] (no time to live), the refresh tokens on the store itself, and the
/// revocations behind a [`RevocationMirror`] loaded at start-up.
///
/// # The invariant
///
/// The mirror answers "is this token revoked?" from memory, and the cache answers "who is
/// this user?" from memory; neither ever reads what another process writes. They are
/// correct only while **no other process writes the database**: a second instance on the
/// same file would log a user out, or disable them, and this one would go on accepting
/// their tokens until it restarts. So the two come with the claim that rules the second
/// instance out: the store is [`exclusive`](SqliteStoreBuilder::exclusive), an advisory
/// lock on `<database file>.lock`, and a second single instance on the file, in this
/// process or another, fails with [`SingleInstanceError::Open`] wrapping
/// [`StoreError::Unavailable`] wrapping [`DatabaseInUse`](crate::DatabaseInUse).
///
/// Every one of the three stores holds the claim: the file stays claimed while any of
/// them (or a clone of its `Arc`) lives, handed to an
/// [`Authenticator`](authcore::Authenticator) or not, and is released when the last one
/// is dropped, or by the operating system when the process ends, however it ends.
/// Instances that must share a database use PostgreSQL, or keep the refresh tokens and
/// revocations in a shared store such as Redis, and read those stores directly.
///
/// ```
/// use std::sync::Arc;
/// use auth_sqlx::SqliteStore;
/// use auth_sqlx::authcore::{Algorithm, Authenticator, Jwt, KeySet, SigningKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("auth-sqlx-single-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("auth.db");
/// let single = SqliteStore::builder()
///     .filename(&path) // or .url("sqlite://auth.db")
///     .connect_single_instance() // claims the file, migrates, loads the revocations
///     .await?;
///
/// // a second instance on the same file is refused
/// assert!(SqliteStore::builder().filename(&path).connect_single_instance().await.is_err());
///
/// let jwt = Jwt::builder()
///     .keys(KeySet::new(SigningKey::generate(Algorithm::HS256)?))
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?;
/// let auth = single
///     .stores(Authenticator::builder())
///     .jwt(Arc::new(jwt))
///     # .password_hasher(auth_sqlx::authcore::PasswordHasher::builder().memory_kib(64).iterations(1).build()?)
///     .build()?;
/// auth.register("ada@example.com", "correct horse battery staple").await?;
/// # drop(auth);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
pub struct SingleInstance {
    /// The users, behind a [`UserCache`] without a time to live: lookups by id are
    /// answered from memory, writes go through.
    pub users: Arc<dyn UserStore>,
    /// The refresh tokens: the store itself.
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// The revocations, behind a [`RevocationMirror`]: checks are answered from memory,
    /// revocations are written through.
    pub revocations: Arc<dyn RevocationStore>,
}

impl fmt::Debug for SingleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleInstance").finish_non_exhaustive()
    }
}

impl SingleInstance {
    /// Hands the three stores to `builder` (its [`users`](AuthenticatorBuilder::users),
    /// [`refresh_tokens`](AuthenticatorBuilder::refresh_tokens) and
    /// [`revocations`](AuthenticatorBuilder::revocations)).
    pub fn stores<E>(self, builder: AuthenticatorBuilder<E>) -> AuthenticatorBuilder<E> {
        builder
            .users(self.users)
            .refresh_tokens(self.refresh_tokens)
            .revocations(self.revocations)
    }
}

/// Why [`SqliteStoreBuilder::connect_single_instance`] failed: the step, and the store's
/// error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SingleInstanceError {
    /// The database could not be opened or claimed: an invalid setting, a file that
    /// cannot be opened, or [`StoreError::Unavailable`] wrapping
    /// [`DatabaseInUse`](crate::DatabaseInUse) when another instance holds it.
    #[error("cannot open the SQLite database")]
    Open(#[source] StoreError),
    /// The migrations failed.
    #[error("cannot migrate the database")]
    Migrate(#[source] StoreError),
    /// The revocations in force could not be read into the mirror.
    #[error("cannot read the revocations")]
    LoadRevocations(#[source] StoreError),
}

impl SingleInstanceError {
    /// The store's error, whatever the step.
    pub fn store_error(&self) -> &StoreError {
        match self {
            SingleInstanceError::Open(e)
            | SingleInstanceError::Migrate(e)
            | SingleInstanceError::LoadRevocations(e) => e,
        }
    }

    /// Whether the database is claimed by another instance: [`SingleInstanceError::Open`]
    /// wrapping [`DatabaseInUse`](crate::DatabaseInUse).
    pub fn is_in_use(&self) -> bool {
        matches!(
            self,
            SingleInstanceError::Open(StoreError::Unavailable(source))
                if source.is::<crate::DatabaseInUse>()
        )
    }
}

impl From<SingleInstanceError> for StoreError {
    /// The store's error, the step forgotten.
    fn from(err: SingleInstanceError) -> StoreError {
        match err {
            SingleInstanceError::Open(e)
            | SingleInstanceError::Migrate(e)
            | SingleInstanceError::LoadRevocations(e) => e,
        }
    }
}

impl SqliteStoreBuilder {
    /// Opens the database as its only user, the arrangement of [`SingleInstance`]:
    /// connects [`exclusive`](SqliteStoreBuilder::exclusive) (whatever was set), runs the
    /// migrations, and returns the stores with the users behind a [`UserCache`] and the
    /// revocations behind a [`RevocationMirror`] loaded now. An in-memory database
    /// belongs to its process anyway and takes no lock.
    ///
    /// # Errors
    /// [`SingleInstanceError::Open`] with what [`connect`](SqliteStoreBuilder::connect)
    /// returns, among it [`StoreError::Unavailable`] wrapping
    /// [`DatabaseInUse`](crate::DatabaseInUse) while another instance holds the file and
    /// [`StoreError::Backend`] for a [`pool`](SqliteStoreBuilder::pool), which cannot be
    /// claimed; [`SingleInstanceError::Migrate`] if the migrations fail;
    /// [`SingleInstanceError::LoadRevocations`] if the revocations cannot be read. The
    /// file is released again on every error.
    pub async fn connect_single_instance(self) -> Result<SingleInstance, SingleInstanceError> {
        let store: SqliteStore = self
            .exclusive(true)
            .connect()
            .await
            .map_err(SingleInstanceError::Open)?;
        store
            .migrate()
            .await
            .map_err(SingleInstanceError::Migrate)?;
        let store = Arc::new(store);
        let revocations = RevocationMirror::load(store.clone(), OffsetDateTime::now_utc())
            .await
            .map_err(SingleInstanceError::LoadRevocations)?;
        Ok(SingleInstance {
            users: Arc::new(UserCache::new(store.clone())),
            refresh_tokens: store,
            revocations: Arc::new(revocations),
        })
    }
}
