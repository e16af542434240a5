//! The resource server's set-up: its environment table ("Resource server" in
//! `docs/http-contract.md`) parsed once ([`ResourceConfig::from_env`]) and the
//! [`RequestAuthenticator`] built from it: the auth server's JWKS, and its Redis for
//! revocations when one is given.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_jwks::JwksVerifier;
use auth_redis::RedisStore;
use authcore::{ConfigError, RequestAuthenticator};

use crate::{env_error, init_tracing, ready_or_exit, seconds, var};

/// The resource server's configuration.
pub struct ResourceConfig {
    /// Where to listen (`AUTH_ADDR`, default `127.0.0.1:8081`).
    pub addr: SocketAddr,
    jwks_url: String,
    issuer: String,
    audience: String,
    redis_url: Option<String>,
    cooldown: Duration,
}

impl fmt::Debug for ResourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the Redis URL may hold a password
        f.debug_struct("ResourceConfig")
            .field("addr", &self.addr)
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("redis", &self.redis_url.is_some())
            .field("cooldown", &self.cooldown)
            .finish()
    }
}

impl ResourceConfig {
    /// Reads every variable of the resource server's table, with its default.
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the first bad variable.
    pub fn from_env() -> Result<ResourceConfig, ConfigError> {
        let addr = match var("AUTH_ADDR")? {
            None => SocketAddr::from(([127, 0, 0, 1], 8081)),
            Some(v) => v
                .parse()
                .map_err(|_| env_error("AUTH_ADDR", "must be an address such as 127.0.0.1:8081"))?,
        };
        let jwks_url = var("AUTH_JWKS_URL")?
            .ok_or_else(|| env_error("AUTH_JWKS_URL", "is required: the auth server's JWKS"))?;
        if !jwks_url.starts_with("http://") && !jwks_url.starts_with("https://") {
            return Err(env_error(
                "AUTH_JWKS_URL",
                "must start with http:// or https://",
            ));
        }
        let redis_url = var("AUTH_REDIS_URL")?;
        if redis_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("redis://") && !u.starts_with("rediss://"))
        {
            return Err(env_error("AUTH_REDIS_URL", "must start with redis://"));
        }
        let cooldown = seconds("AUTH_JWKS_COOLDOWN", 30)?;
        Ok(ResourceConfig {
            addr,
            jwks_url,
            issuer: var("AUTH_ISSUER")?.unwrap_or_else(|| "authcore-demo".to_owned()),
            audience: var("AUTH_AUDIENCE")?.unwrap_or_else(|| "authcore-demo".to_owned()),
            redis_url,
            cooldown: Duration::from_secs(cooldown.whole_seconds().unsigned_abs()),
        })
    }

    /// The verifying half of authcore for this service: the JWKS verifier (which starts
    /// even while the JWKS cannot be fetched, refusing every token until it can) and, with
    /// `AUTH_REDIS_URL`, the auth server's revocations.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable whose value could not be used.
    pub async fn request_authenticator(&self) -> Result<Arc<RequestAuthenticator>, ConfigError> {
        let verifier = JwksVerifier::builder(&self.jwks_url)
            .issuer(&self.issuer)
            .audience(&self.audience)
            .cooldown(self.cooldown)
            .start_without_keys(true)
            .build()
            .await
            .map_err(|_| env_error("AUTH_JWKS_URL", "cannot be used"))?;
        let mut requests = RequestAuthenticator::builder(Arc::new(verifier));
        if let Some(url) = &self.redis_url {
            let store = RedisStore::builder()
                .url(url)
                .connect()
                .await
                .map_err(|_| env_error("AUTH_REDIS_URL", "cannot connect to Redis"))?;
            requests = requests.revocations(Arc::new(store));
        }
        Ok(Arc::new(requests.build()))
    }
}

/// Loads the configuration and builds the request authenticator, or prints why not and
/// exits with status 2.
pub async fn start() -> (ResourceConfig, Arc<RequestAuthenticator>) {
    init_tracing();
    ready_or_exit(
        async {
            let config = ResourceConfig::from_env()?;
            let requests = config.request_authenticator().await?;
            Ok((config, requests))
        }
        .await,
    )
}
