//! The demo servers' shared set-up: the environment table of `docs/http-contract.md`
//! parsed once ([`Config::from_env`]), the [`Authenticator`] built from it on SQLite,
//! PostgreSQL and optionally Redis ([`Config::authenticator`]), logging, and graceful
//! shutdown. Each demo's `main.rs` only wires its framework.
//!
//! [`resource`] does the same for the verify-only resource server.
//!
//! A bad value stops start-up with a message that names the variable and never shows its
//! value.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use auth_redis::RedisStore;
use auth_sqlx::{PostgresStore, SingleInstanceError, SqliteStore};
use authcore::time::Duration;
use authcore::{
    Algorithm, Authenticator, ConfigError, Jwt, KeySet, RefreshTokenStore, RevocationStore,
    SigningKey, UserStore,
};

pub mod resource;

authcore::role!(
    /// The role `GET /admin` requires.
    pub Admin = "admin"
);

/// `GET /healthz`.
pub const HEALTHZ_BODY: &str = r#"{"status":"ok"}"#;
/// `GET /admin` for an administrator.
pub const ADMIN_BODY: &str = r#"{"ok":true}"#;

/// The token routes' paths of the contract: the defaults, with public self-registration
/// opened at `POST /users` (it is off unless asked for).
///
/// # Panics
/// Never: the paths are valid.
pub fn route_paths() -> authcore::http::RoutePaths {
    authcore::http::RoutePaths::builder()
        .register("/users")
        .build()
        .unwrap_or_else(|e| panic!("the contract's route paths: {e}"))
}

/// Where the signing key comes from.
enum KeySource {
    Secret(String),
    KeyFile(PathBuf),
    Random,
}

/// The demo's configuration (see the table in `docs/http-contract.md`).
pub struct Config {
    /// `AUTH_ADDR`: where to listen. Port 0 picks a free port; the bound address is
    /// printed as `listening on http://ADDR`.
    pub addr: SocketAddr,
    database_url: String,
    redis_url: Option<String>,
    key: KeySource,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
    admin: Option<(String, String)>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may carry passwords, and the secret is a secret: none of them are shown.
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

fn env_error(name: &str, reason: &'static str) -> ConfigError {
    ConfigError::Env {
        name: name.to_owned(),
        reason,
    }
}

fn var(name: &str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(env_error(name, "not valid Unicode")),
    }
}

fn seconds(name: &str, default: i64) -> Result<Duration, ConfigError> {
    match var(name)? {
        None => Ok(Duration::seconds(default)),
        Some(v) => match v.parse::<i64>() {
            Ok(s) if s > 0 && s <= 10 * 365 * 24 * 3600 => Ok(Duration::seconds(s)),
            _ => Err(env_error(
                name,
                "must be a whole number of seconds between 1 and ten years",
            )),
        },
    }
}

impl Config {
    /// Reads every variable of the contract's table, with its default.
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the first bad variable.
    pub fn from_env() -> Result<Config, ConfigError> {
        let addr = var("AUTH_ADDR")?
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
            .parse()
            .map_err(|_| env_error("AUTH_ADDR", "must be an address like 127.0.0.1:8080"))?;
        let database_url = var("AUTH_DATABASE_URL")?
            .unwrap_or_else(|| "sqlite://authcore-demo.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(env_error(
                "AUTH_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        let redis_url = var("AUTH_REDIS_URL")?;
        if redis_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("redis://") && !u.starts_with("rediss://"))
        {
            return Err(env_error("AUTH_REDIS_URL", "must start with redis://"));
        }
        let key = match (var("AUTH_JWT_SECRET")?, var("AUTH_JWT_KEY_FILE")?) {
            (Some(_), Some(_)) => {
                return Err(env_error(
                    "AUTH_JWT_KEY_FILE",
                    "set either it or AUTH_JWT_SECRET, not both",
                ));
            }
            (Some(secret), None) => {
                if secret.len() < 32 {
                    return Err(env_error("AUTH_JWT_SECRET", "must be at least 32 bytes"));
                }
                KeySource::Secret(secret)
            }
            (None, Some(path)) => KeySource::KeyFile(PathBuf::from(path)),
            (None, None) => KeySource::Random,
        };
        let admin = match (var("AUTH_ADMIN_EMAIL")?, var("AUTH_ADMIN_PASSWORD")?) {
            (Some(email), Some(password)) => Some((email, password)),
            _ => None,
        };
        Ok(Config {
            addr,
            database_url,
            redis_url,
            key,
            issuer: var("AUTH_ISSUER")?.unwrap_or_else(|| "authcore-demo".to_owned()),
            audience: var("AUTH_AUDIENCE")?.unwrap_or_else(|| "authcore-demo".to_owned()),
            access_ttl: seconds("AUTH_ACCESS_TTL", 900)?,
            refresh_ttl: seconds("AUTH_REFRESH_TTL", 1_209_600)?,
            admin,
        })
    }

    fn signing_key(&self) -> Result<SigningKey, ConfigError> {
        match &self.key {
            KeySource::Secret(secret) => SigningKey::hmac(Algorithm::HS256, secret.as_bytes())
                .map_err(|_| env_error("AUTH_JWT_SECRET", "is not a usable HS256 secret")),
            KeySource::KeyFile(path) => SigningKey::from_pem_file(path).map_err(|e| {
                env_error(
                    "AUTH_JWT_KEY_FILE",
                    match e {
                        ConfigError::Io(_) => "cannot be read",
                        ConfigError::RsaKeyTooSmall => "holds an RSA key under 2048 bits",
                        _ => "is not a PEM private key (Ed25519, P-256 or RSA)",
                    },
                )
            }),
            KeySource::Random => {
                tracing::warn!(
                    "AUTH_JWT_SECRET is not set: signing with a random secret; tokens will not \
                     survive a restart or work across instances"
                );
                SigningKey::generate(Algorithm::HS256)
            }
        }
    }

    /// Connects the stores, runs the migrations, creates the administrator when
    /// `AUTH_ADMIN_EMAIL` and `AUTH_ADMIN_PASSWORD` are set, and builds the
    /// authenticator.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable whose store or key could not be used.
    pub async fn authenticator(&self) -> Result<Arc<Authenticator>, ConfigError> {
        let db = "AUTH_DATABASE_URL";
        let (users, mut refresh, mut revocations): (
            Arc<dyn UserStore>,
            Arc<dyn RefreshTokenStore>,
            Arc<dyn RevocationStore>,
        ) = if self.database_url.starts_with("sqlite:") && self.redis_url.is_none() {
            // Without Redis this process is the embedded database's only user: it claims
            // the file, and refuses to start if another instance holds it; revocations are
            // read from an in-memory mirror, loaded now and written through, instead of a
            // query on every request, and users looked up by id (`/me`, refresh) are
            // cached, every write going through the cache. Instances that share
            // PostgreSQL or Redis read the stores.
            let single = SqliteStore::builder()
                .url(&self.database_url)
                .connect_single_instance()
                .await
                .map_err(|e| match e {
                    e if e.is_in_use() => env_error(
                        db,
                        "the SQLite database is in use by another instance; run one instance \
                         per SQLite file, or share PostgreSQL",
                    ),
                    SingleInstanceError::Migrate(_) => env_error(db, "cannot migrate the database"),
                    SingleInstanceError::LoadRevocations(_) => {
                        env_error(db, "cannot read the revocations")
                    }
                    _ => env_error(db, "cannot open the SQLite database"),
                })?;
            (single.users, single.refresh_tokens, single.revocations)
        } else if self.database_url.starts_with("sqlite:") {
            // Refresh tokens and revocations go to Redis (below); the users stay in the
            // file, read by every instance that shares it.
            let store = SqliteStore::builder()
                .url(&self.database_url)
                .connect()
                .await
                .map_err(|_| env_error(db, "cannot open the SQLite database"))?;
            store
                .migrate()
                .await
                .map_err(|_| env_error(db, "cannot migrate the database"))?;
            let store = Arc::new(store);
            (store.clone(), store.clone(), store)
        } else {
            let store = PostgresStore::builder()
                .url(&self.database_url)
                .connect()
                .await
                .map_err(|_| env_error(db, "cannot connect to PostgreSQL"))?;
            store
                .migrate()
                .await
                .map_err(|_| env_error(db, "cannot migrate the database"))?;
            let store = Arc::new(store);
            (store.clone(), store.clone(), store)
        };
        if let Some(url) = &self.redis_url {
            let store = Arc::new(
                RedisStore::builder()
                    .url(url)
                    .connect()
                    .await
                    .map_err(|_| env_error("AUTH_REDIS_URL", "cannot connect to Redis"))?,
            );
            refresh = store.clone();
            revocations = store;
        }
        let keys = KeySet::new(self.signing_key()?);
        let jwt = Jwt::builder()
            .keys(keys)
            .issuer(&self.issuer)
            .audience(&self.audience)
            .access_ttl(self.access_ttl)
            .build()?;
        let auth = Authenticator::builder()
            .jwt(Arc::new(jwt))
            .users(users)
            .refresh_tokens(refresh)
            .revocations(revocations)
            .refresh_ttl(self.refresh_ttl)
            .build()?;
        if let Some((email, password)) = &self.admin {
            match auth
                .register_with_roles(email, password, &["admin".to_owned()])
                .await
            {
                Ok(_) | Err(authcore::AuthError::EmailTaken) => {}
                Err(_) => {
                    return Err(env_error(
                        "AUTH_ADMIN_EMAIL",
                        "the administrator cannot be created",
                    ));
                }
            }
        }
        Ok(Arc::new(auth))
    }
}

/// Logs to standard error, coloured only on a terminal; `RUST_LOG` filters (default
/// `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads the configuration and builds the authenticator, or prints why not and exits
/// with status 2.
pub async fn start() -> (Config, Arc<Authenticator>) {
    init_tracing();
    ready_or_exit(
        async {
            let config = Config::from_env()?;
            let auth = config.authenticator().await?;
            Ok((config, auth))
        }
        .await,
    )
}

/// The set-up's result, or else `configuration error: …` on standard error and exit
/// status 2: how every demo stops on a bad configuration.
pub(crate) fn ready_or_exit<T>(result: Result<T, ConfigError>) -> T {
    result.unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2);
    })
}

/// Completes on Ctrl-C or SIGTERM, so servers stop accepting and finish in-flight
/// requests.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
