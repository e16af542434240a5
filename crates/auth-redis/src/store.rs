//! `RedisStore`: refresh tokens and revocations on one multiplexed, self-reconnecting
//! connection.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use authcore::store::{Consumed, RefreshTokenRecord, TokenHash};
use authcore::time::OffsetDateTime;
use authcore::{ConfigError, RefreshTokenStore, RevocationStore, StoreError, async_trait};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use crate::error::{TimedOut, map};
use crate::scripts;

const DEFAULT_PREFIX: &str = "authcore";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// authcore's default refresh-token lifetime.
const DEFAULT_REVOKED_FAMILY_TTL: authcore::time::Duration = authcore::time::Duration::days(14);

/// [`RefreshTokenStore`] and [`RevocationStore`] on Redis (7.0 or later), shared by every
/// service instance that uses the same server and key prefix.
///
/// Cheap to clone: clones share one multiplexed connection, which reconnects by itself
/// after a failure. Every call returns within the response timeout, with
/// [`StoreError::Unavailable`] if the server could not be reached or did not answer in
/// time. Its [`Debug`] output shows the server address, never a password.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    revoked_family_ttl: authcore::time::Duration,
    addr: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("response_timeout", &self.timeout)
            .field("revoked_family_ttl", &self.revoked_family_ttl)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://[:password@]host:6379[/db]`) with the default settings:
    /// prefix `authcore`, 5 s timeouts.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`] if the URL is invalid;
    /// [`StoreError::Unavailable`] if the server cannot be reached in time;
    /// [`StoreError::Backend`] if it refuses the connection (for example a wrong password).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        RedisStore::builder().url(url).connect().await
    }

    /// Starts a builder for the key prefix and timeouts.
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            response_timeout: DEFAULT_TIMEOUT,
            connection_timeout: DEFAULT_TIMEOUT,
            revoked_family_ttl: DEFAULT_REVOKED_FAMILY_TTL,
        }
    }

    /// The key prefix: every key this store writes starts with it and a `:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes refresh tokens and revocations that expired by `now` (`expires_at <= now`)
    /// in one call; returns how many. Redis also expires them by itself, so this is
    /// optional; [`Authenticator::purge_expired`](authcore::Authenticator::purge_expired)
    /// calls it too.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the server cannot be reached in time;
    /// [`StoreError::Backend`] for other failures.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(RefreshTokenStore::purge_expired(self, now).await?
            + RevocationStore::purge_expired(self, now).await?)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    /// Runs one request on the shared connection, within the response timeout.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        match tokio::time::timeout(self.timeout, f(self.conn.clone())).await {
            Ok(result) => result.map_err(map),
            Err(_) => Err(StoreError::unavailable(TimedOut(self.timeout))),
        }
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn unix_ms_ceil(t: OffsetDateTime) -> i64 {
    let ms = (t.unix_timestamp_nanos() + 999_999).div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_unix(secs: &str) -> Result<OffsetDateTime, StoreError> {
    let secs: i64 = secs
        .parse()
        .map_err(|_| StoreError::backend("malformed refresh-token entry"))?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(StoreError::backend)
}

/// A [`scripts::CONSUME`] result as a [`Consumed`].
fn consumed(hash: &TokenHash, reply: Vec<String>) -> Result<Consumed, StoreError> {
    let record = |fields: &[String]| -> Result<RefreshTokenRecord, StoreError> {
        match fields {
            [family, user, iat, exp] => Ok(RefreshTokenRecord {
                token_hash: *hash,
                family_id: family.clone(),
                user_id: user.clone(),
                issued_at: from_unix(iat)?,
                expires_at: from_unix(exp)?,
            }),
            _ => Err(StoreError::backend("malformed refresh-token entry")),
        }
    };
    match reply.split_first() {
        Some((code, rest)) if code == "1" => Ok(Consumed::Rotated(record(rest)?)),
        Some((code, rest)) if code == "2" => Ok(Consumed::Reused(record(rest)?)),
        Some((code, [])) if code == "0" => Ok(Consumed::Invalid),
        _ => Err(StoreError::backend(
            "unexpected reply from the consume script",
        )),
    }
}

#[async_trait]
impl RefreshTokenStore for RedisStore {
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError> {
        let hex = record.token_hash.to_hex();
        let keys = [
            self.key("rt", &hex),
            self.key("rf", &record.family_id),
            self.key("ru", &record.user_id),
            self.key("idx", "rt"),
        ];
        let exp = record.expires_at.unix_timestamp();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.run(|mut conn| async move {
            scripts::INSERT
                .key(&keys[..])
                .arg(&hex)
                .arg(&record.family_id)
                .arg(&record.user_id)
                .arg(record.issued_at.unix_timestamp())
                .arg(exp)
                .arg(exp.saturating_mul(1000))
                .arg(now)
                .invoke_async::<i64>(&mut conn)
                .await
        })
        .await?;
        Ok(())
    }

    async fn consume(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Consumed, StoreError> {
        let key = self.key("rt", &hash.to_hex());
        let families = self.key("rf", "");
        let reply = self
            .run(|mut conn| async move {
                scripts::CONSUME
                    .key(&key)
                    .arg(now.unix_timestamp())
                    .arg(&families)
                    .invoke_async::<Vec<String>>(&mut conn)
                    .await
            })
            .await?;
        consumed(hash, reply)
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let key = self.key("rf", family_id);
        let marker_until = OffsetDateTime::now_utc() + self.revoked_family_ttl;
        self.run(|mut conn| async move {
            scripts::REVOKE_FAMILY
                .key(&key)
                .arg(unix_ms(marker_until))
                .invoke_async::<i64>(&mut conn)
                .await
        })
        .await?;
        Ok(())
    }

    async fn revoke_user(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let key = self.key("ru", user_id);
        let families = self.key("rf", "");
        self.run(|mut conn| async move {
            scripts::REVOKE_USER
                .key(&key)
                .arg(&families)
                .invoke_async::<Vec<String>>(&mut conn)
                .await
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let index = self.key("idx", "rt");
        let tokens = self.key("rt", "");
        self.run(|mut conn| async move {
            scripts::PURGE
                .key(&index)
                .arg(now.unix_timestamp())
                .arg(&tokens)
                .invoke_async::<u64>(&mut conn)
                .await
        })
        .await
    }
}

#[async_trait]
impl RevocationStore for RedisStore {
    async fn revoke(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let keys = [self.key("rev", id), self.key("idx", "rev")];
        let now = unix_ms(OffsetDateTime::now_utc());
        self.run(|mut conn| async move {
            scripts::REVOKE
                .key(&keys[..])
                .arg(id)
                .arg(unix_ms_ceil(expires_at))
                .arg(now)
                .invoke_async::<i64>(&mut conn)
                .await
        })
        .await?;
        Ok(())
    }

    async fn is_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        if ids.is_empty() {
            return Ok(false);
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key("rev", id)).collect();
        let found = self
            .run(|mut conn| async move {
                redis::cmd("EXISTS")
                    .arg(&keys)
                    .query_async::<u64>(&mut conn)
                    .await
            })
            .await?;
        Ok(found > 0)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let index = self.key("idx", "rev");
        let revocations = self.key("rev", "");
        self.run(|mut conn| async move {
            scripts::PURGE
                .key(&index)
                .arg(unix_ms(now))
                .arg(&revocations)
                .invoke_async::<u64>(&mut conn)
                .await
        })
        .await
    }
}

/// Configures a [`RedisStore`]; [`connect`](RedisStoreBuilder::connect) validates.
#[must_use]
pub struct RedisStoreBuilder {
    url: Option<String>,
    prefix: String,
    response_timeout: Duration,
    connection_timeout: Duration,
    revoked_family_ttl: authcore::time::Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("url", &self.url.as_ref().map(|_| "[redacted]"))
            .field("prefix", &self.prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .field("revoked_family_ttl", &self.revoked_family_ttl)
            .finish()
    }
}

impl RedisStoreBuilder {
    /// The server URL: `redis://[:password@]host:6379[/db]`.
    pub fn url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self
    }

    /// The key prefix, so that several applications can share one Redis. Default
    /// `authcore`. For Redis Cluster, use a hash tag such as `{myapp}`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// The deadline of every store call, after which it returns
    /// [`StoreError::Unavailable`]. Default 5 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long one attempt to (re)connect may take. Default 5 s.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long a family revoked before any of its tokens was stored is remembered: set it
    /// to at least your refresh-token lifetime. Families with tokens are kept as long as
    /// their tokens. Default 14 days.
    pub fn revoked_family_ttl(mut self, ttl: authcore::time::Duration) -> Self {
        self.revoked_family_ttl = ttl;
        self
    }

    /// Validates the settings and connects.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`] for a missing or invalid URL,
    /// an empty prefix or a zero timeout; [`StoreError::Unavailable`] if the server cannot
    /// be reached within the connection timeout; [`StoreError::Backend`] if it refuses
    /// the connection.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let timeout = self.connection_timeout;
        let (client, config, store) = self.prepare()?;
        let conn =
            match tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
            {
                Ok(conn) => conn.map_err(map)?,
                Err(_) => return Err(StoreError::unavailable(TimedOut(timeout))),
            };
        Ok(store(conn))
    }

    /// Validates the settings without connecting; the first call connects. A service can
    /// so start while Redis is down and answer `503` until it is back.
    ///
    /// # Errors
    /// [`StoreError::Backend`] wrapping a [`ConfigError`], as
    /// [`connect`](RedisStoreBuilder::connect).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisStore, StoreError> {
        let (client, config, store) = self.prepare()?;
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(map)?;
        Ok(store(conn))
    }

    #[allow(clippy::type_complexity)]
    fn prepare(
        self,
    ) -> Result<
        (
            Client,
            ConnectionManagerConfig,
            impl FnOnce(ConnectionManager) -> RedisStore,
        ),
        StoreError,
    > {
        let invalid = |reason| StoreError::backend(ConfigError::Invalid(reason));
        let url = self.url.ok_or_else(|| invalid("a Redis URL is required"))?;
        if self.prefix.is_empty() {
            return Err(invalid("the key prefix must not be empty"));
        }
        if self.response_timeout.is_zero() || self.connection_timeout.is_zero() {
            return Err(invalid("timeouts must be positive"));
        }
        if !self.revoked_family_ttl.is_positive() {
            return Err(invalid("revoked_family_ttl must be positive"));
        }
        let client = Client::open(url.as_str()).map_err(|_| invalid("the Redis URL is invalid"))?;
        let addr = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connection_timeout))
            // Fail fast while the server is down (the caller gets `Unavailable`); the next
            // call starts a new attempt.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(self.connection_timeout);
        let (prefix, timeout, revoked_family_ttl) =
            (self.prefix, self.response_timeout, self.revoked_family_ttl);
        let store = move |conn| RedisStore {
            conn,
            prefix,
            timeout,
            revoked_family_ttl,
            addr,
        };
        Ok((client, config, store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_as_documented() {
        let t = OffsetDateTime::from_unix_timestamp(100).unwrap();
        assert_eq!((unix_ms(t), unix_ms_ceil(t)), (100_000, 100_000));
        let t = t + authcore::time::Duration::microseconds(1);
        assert_eq!((unix_ms(t), unix_ms_ceil(t)), (100_000, 100_001));
    }

    #[test]
    fn consume_replies() {
        let hash = TokenHash([7; 32]);
        let reply = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(consumed(&hash, reply(&["0"])).unwrap(), Consumed::Invalid);
        let Consumed::Reused(r) = consumed(&hash, reply(&["2", "f", "u", "10", "20"])).unwrap()
        else {
            panic!("not Reused")
        };
        assert_eq!((r.family_id.as_str(), r.user_id.as_str()), ("f", "u"));
        assert_eq!(r.expires_at.unix_timestamp(), 20);
        assert!(consumed(&hash, reply(&["1", "f"])).is_err());
        assert!(consumed(&hash, reply(&["1", "f", "u", "x", "20"])).is_err());
        assert!(consumed(&hash, reply(&[])).is_err());
    }
}
