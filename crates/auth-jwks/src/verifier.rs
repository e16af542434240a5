//! [`JwksVerifier`]: a [`TokenVerifier`] over the keys of a remote JWKS.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use authcore::{
    Algorithm, AuthError, Claims, ConfigError, JwtBuilder, JwtVerifier, KeyRefresh, KeySet,
    SigningKey, TokenVerifier,
};
use reqwest::Url;
use serde::de::DeserializeOwned;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::JwksError;
use crate::fetch;

/// The default of [`JwksVerifierBuilder::cooldown`].
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// The default of [`JwksVerifierBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default of [`JwksVerifierBuilder::default_max_age`].
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// The shortest wait between two scheduled fetches, whatever `max-age` and the cooldown
/// say, so that `max-age=0` cannot make the background task spin.
const MIN_DELAY: Duration = Duration::from_secs(1);
/// The longest time keys are kept without a fetch, whatever `max-age` says.
const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Tokens longer than this are not looked into by `refresh_keys`.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What [`JwksVerifierBuilder::configure`] takes.
type Configure = Arc<dyn Fn(JwtBuilder) -> JwtBuilder + Send + Sync>;

/// Where the JWKS URL comes from.
#[derive(Debug, Clone)]
enum Source {
    /// The JWKS URL itself.
    Jwks(String),
    /// An issuer whose OpenID discovery document names it.
    Discovery(String),
}

/// Configures a [`JwksVerifier`]; see [`JwksVerifier::builder`].
#[must_use]
pub struct JwksVerifierBuilder {
    source: Source,
    issuer: Option<String>,
    audience: Option<String>,
    cooldown: Duration,
    timeout: Duration,
    default_max_age: Duration,
    start_without_keys: bool,
    configure: Option<Configure>,
}

impl fmt::Debug for JwksVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifierBuilder")
            .field("source", &self.source)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("cooldown", &self.cooldown)
            .field("timeout", &self.timeout)
            .field("default_max_age", &self.default_max_age)
            .field("start_without_keys", &self.start_without_keys)
            .field("configure", &self.configure.is_some())
            .finish()
    }
}

impl JwksVerifierBuilder {
    fn new(source: Source) -> Self {
        JwksVerifierBuilder {
            source,
            issuer: None,
            audience: None,
            cooldown: DEFAULT_COOLDOWN,
            timeout: DEFAULT_TIMEOUT,
            default_max_age: DEFAULT_MAX_AGE,
            start_without_keys: false,
            configure: None,
        }
    }

    /// The `iss` required of every token. Required.
    ///
    /// Only tokens whose (unverified) `iss` is this one can make the verifier fetch the
    /// JWKS again when their `kid` is unknown.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The audience every token must name in its `aud`. Required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The shortest time between two fetches caused by tokens of unknown keys, so that
    /// tokens with made-up `kid`s cannot make the service fetch at will. Default 30 s.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The time limit of one HTTP request, connection and body included. Default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long keys are kept when the response carries no `Cache-Control: max-age`, or
    /// forbids caching (`no-cache`, `no-store`, `max-age=0`: the keys must be kept
    /// anyway). Default 5 minutes. A `max-age` is honoured between 1 second and 1 day.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.default_max_age = max_age;
        self
    }

    /// With `true`, [`build`](Self::build) succeeds even when the first fetch fails: the
    /// verifier starts with no keys and refuses every token with
    /// [`AuthError::UnknownKey`] until a fetch succeeds. Default `false`: `build` fails.
    pub fn start_without_keys(mut self, start: bool) -> Self {
        self.start_without_keys = start;
        self
    }

    /// Takes the JWKS URL from the OpenID discovery document of `issuer`
    /// (`{issuer}/.well-known/openid-configuration`, its `jwks_uri`), fetched once by
    /// [`build`](Self::build), instead of the URL given to [`JwksVerifier::builder`].
    /// Sets the [`issuer`](Self::issuer) too; the document's `issuer` must equal it.
    pub fn discovery(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.source = Source::Discovery(issuer.clone());
        self.issuer = Some(issuer);
        self
    }

    /// Adjusts the verifier profile for tokens of another issuer: `configure` is applied
    /// to a [`JwtBuilder`] that has the [`issuer`](Self::issuer) and
    /// [`audience`](Self::audience) set, before the fetched keys are added, each time
    /// keys are fetched.
    ///
    /// ```
    /// # let builder = auth_jwks::JwksVerifier::builder("https://kc.example/certs");
    /// use authcore::RolesClaim;
    ///
    /// // Keycloak's access tokens say `"typ": "JWT"` and carry roles in `realm_access`.
    /// let builder = builder.configure(|b| {
    ///     b.accept_typ("JWT")
    ///         .roles_claim(RolesClaim::array("realm_access.roles"))
    /// });
    /// # let _ = builder;
    /// ```
    pub fn configure(
        mut self,
        configure: impl Fn(JwtBuilder) -> JwtBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Some(Arc::new(configure));
        self
    }

    /// Fetches the keys (and first the discovery document, with
    /// [`discovery`](Self::discovery)) and starts the background task that refreshes
    /// them. Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`JwksError::Config`] without an issuer or an audience, [`JwksError::BadUrl`] for a
    /// URL that is not `http(s)`, [`JwksError::Config`] too for a profile that
    /// [`configure`](Self::configure) made invalid, a discovery error, and — unless
    /// [`start_without_keys`](Self::start_without_keys) — the error of the first fetch.
    pub async fn build(self) -> Result<JwksVerifier, JwksError> {
        let issuer = self
            .issuer
            .ok_or_else(|| JwksError::Config("an issuer is required".to_owned()))?;
        let audience = self
            .audience
            .ok_or_else(|| JwksError::Config("an audience is required".to_owned()))?;
        let profile = Profile {
            issuer,
            audience,
            configure: self.configure,
        };
        profile.check()?;
        let client = fetch::client(self.timeout)?;
        let url = match &self.source {
            Source::Jwks(url) => fetch::http_url(url)?,
            Source::Discovery(issuer_url) => {
                let discovery = fetch::discovery_url(issuer_url)?;
                fetch::discover(&client, &discovery, &profile.issuer).await?
            }
        };
        let inner = Arc::new(Inner {
            shown_url: fetch::redacted(&url),
            url,
            profile,
            cooldown: self.cooldown,
            default_max_age: self.default_max_age,
            client,
            current: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
            due: Mutex::new(Instant::now()),
            fetches: AtomicU64::new(0),
        });
        {
            let mut last = inner.last_fetch.lock().await;
            let first = inner.fetch(&mut last).await;
            if let Err(e) = first
                && !self.start_without_keys
            {
                return Err(e);
            }
        }
        let task = tokio::spawn(refresh_in_background(Arc::downgrade(&inner))).abort_handle();
        Ok(JwksVerifier { inner, task })
    }
}

/// A [`TokenVerifier`] whose keys come from a remote JWKS (RFC 7517 §5).
///
/// The keys are fetched by [`JwksVerifierBuilder::build`], kept for the response's
/// `Cache-Control: max-age` (or [`JwksVerifierBuilder::default_max_age`]) and then
/// fetched again by a background task. A token whose `kid` is unknown makes the verifier
/// fetch at once — if its unverified `iss` is the configured issuer, and at most once
/// per [cooldown](JwksVerifierBuilder::cooldown), one fetch shared by all the requests
/// waiting for it. Each successful fetch replaces the whole key set, so a key withdrawn
/// from the JWKS is no longer accepted; a failed one keeps the keys there were.
///
/// Verification itself reads the current keys under a lock held for the clone of an
/// `Arc`, and then verifies as [`JwtVerifier`] does.
///
/// Dropping the verifier stops its background task.
pub struct JwksVerifier {
    inner: Arc<Inner>,
    task: AbortHandle,
}

impl JwksVerifier {
    /// Starts a builder for the JWKS at `jwks_url`.
    pub fn builder(jwks_url: impl Into<String>) -> JwksVerifierBuilder {
        JwksVerifierBuilder::new(Source::Jwks(jwks_url.into()))
    }

    /// Starts a builder for the issuer `issuer`, whose JWKS URL is the `jwks_uri` of its
    /// OpenID discovery document; see [`JwksVerifierBuilder::discovery`].
    pub fn discover(issuer: impl Into<String>) -> JwksVerifierBuilder {
        let issuer = issuer.into();
        JwksVerifierBuilder::new(Source::Discovery(issuer.clone())).issuer(issuer)
    }

    /// The number of fetches of the JWKS tried so far, successful or not (the discovery
    /// document is not counted).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The URL of the JWKS (a password in it replaced).
    pub fn url(&self) -> &str {
        &self.inner.shown_url
    }

    /// The `kid`s of the keys in use; empty while there are none.
    pub fn kids(&self) -> Vec<String> {
        self.inner
            .keys()
            .map(|keys| keys.kids.clone())
            .unwrap_or_default()
    }

    /// Fetches the JWKS now, regardless of the cooldown (waiting for a fetch under way to
    /// finish first). The keys are replaced only if the fetch succeeds.
    ///
    /// # Errors
    /// The fetch's error; the keys there were are kept.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let mut last = self.inner.last_fetch.lock().await;
        self.inner.fetch(&mut last).await
    }
}

impl Drop for JwksVerifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("url", &self.inner.shown_url)
            .field("issuer", &self.inner.profile.issuer)
            .field("audience", &self.inner.profile.audience)
            .field("kids", &self.kids())
            .field("cooldown", &self.inner.cooldown)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl<E: DeserializeOwned> TokenVerifier<E> for JwksVerifier {
    fn verify(&self, token: &str) -> Result<Claims<E>, AuthError> {
        match self.inner.keys() {
            Some(keys) => keys.verifier.verify(token),
            None => Err(AuthError::UnknownKey),
        }
    }

    fn leeway(&self) -> authcore::time::Duration {
        match self.inner.keys() {
            Some(keys) => TokenVerifier::<E>::leeway(&keys.verifier),
            None => authcore::DEFAULT_REVOCATION_LEEWAY,
        }
    }

    fn refresh_keys<'a>(&'a self, token: &'a str) -> Option<KeyRefresh<'a>> {
        if !names_issuer(token, &self.inner.profile.issuer) {
            return None;
        }
        Some(Box::pin(async move {
            let mut last = self.inner.last_fetch.lock().await;
            // A fetch finished within the cooldown (perhaps the one this request waited
            // for): its keys are the freshest there will be for now.
            if last.is_some_and(|at| at.elapsed() < self.inner.cooldown) {
                return;
            }
            // Logged by `fetch`; the token is verified once more either way.
            let _ = self.inner.fetch(&mut last).await;
        }))
    }
}

/// Whether the unverified payload of `token` has `issuer` as its `iss`
/// ([`authcore::unverified_issuer`]): `false` unless the token is a JWS whose payload is a
/// JSON object with a string `iss`. No signature is checked.
fn names_issuer(token: &str, issuer: &str) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && authcore::unverified_issuer(token).is_some_and(|iss| iss == issuer)
}

/// What the verifiers built for each key set require of tokens.
struct Profile {
    issuer: String,
    audience: String,
    configure: Option<Configure>,
}

impl Profile {
    /// A verifier of this profile over `keys`.
    fn verifier(&self, keys: KeySet) -> Result<JwtVerifier, JwksError> {
        let mut builder = JwtVerifier::builder()
            .issuer(self.issuer.clone())
            .audience(self.audience.clone());
        if let Some(configure) = &self.configure {
            builder = configure(builder);
        }
        builder
            .keys(keys)
            .build_verifier()
            .map_err(|e| JwksError::Config(e.to_string()))
    }

    /// Builds a verifier over a throwaway key, so that a profile that can never work
    /// (a negative leeway, say) fails the build instead of every fetch.
    fn check(&self) -> Result<(), JwksError> {
        let key =
            SigningKey::generate(Algorithm::EdDSA).map_err(|e| JwksError::Config(e.to_string()))?;
        self.verifier(KeySet::new(key)).map(drop)
    }
}

/// The keys in use.
struct Keys {
    verifier: JwtVerifier,
    kids: Vec<String>,
}

/// What the verifier and its background task share.
struct Inner {
    url: Url,
    /// `url` for errors, logs and `Debug`, without a password.
    shown_url: String,
    profile: Profile,
    cooldown: Duration,
    default_max_age: Duration,
    client: reqwest::Client,
    /// The keys in use, replaced whole by each successful fetch.
    current: RwLock<Option<Arc<Keys>>>,
    /// When the last fetch finished; held for the whole of a fetch, so that fetches
    /// never overlap and the requests waiting for one share it.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// When the background task fetches next.
    due: Mutex<Instant>,
    fetches: AtomicU64,
}

impl Inner {
    fn keys(&self) -> Option<Arc<Keys>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn due(&self) -> Instant {
        *self.due.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_due(&self, delay: Duration) {
        let delay = delay.clamp(MIN_DELAY, MAX_DELAY);
        *self.due.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now() + delay;
    }

    /// Fetches the JWKS and installs its keys, or logs why not and keeps the old ones;
    /// schedules the next background fetch either way. `last` is the guard of
    /// `last_fetch`, held by the caller.
    async fn fetch(&self, last: &mut Option<Instant>) -> Result<(), JwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch_keys().await;
        *last = Some(Instant::now());
        match result {
            Ok((keys, max_age)) => {
                let count = keys.kids.len();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Arc::new(keys));
                let max_age = max_age.unwrap_or(self.default_max_age);
                self.set_due(max_age);
                info!(
                    target: "auth_jwks",
                    event = "jwks_fetched",
                    keys = count,
                    url = %self.shown_url,
                    max_age_secs = max_age.as_secs(),
                );
                Ok(())
            }
            Err(e) => {
                self.set_due(self.cooldown.min(self.default_max_age));
                warn!(
                    target: "auth_jwks",
                    event = "jwks_fetch_failed",
                    url = %self.shown_url,
                    error = %e,
                    kept_keys = self.keys().map_or(0, |k| k.kids.len()),
                );
                Err(e)
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(Keys, Option<Duration>), JwksError> {
        let fetched = fetch::get(&self.client, &self.url).await?;
        let url = || self.shown_url.clone();
        let set = KeySet::from_jwks(&fetched.body).map_err(|e| match e {
            ConfigError::InvalidJwks("no usable signature key") => {
                JwksError::NoUsableKey { url: url() }
            }
            other => JwksError::NotJwks {
                url: url(),
                reason: other.to_string(),
            },
        })?;
        let kids = set
            .verification_keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect();
        let verifier = self.profile.verifier(set)?;
        Ok((Keys { verifier, kids }, fetched.max_age))
    }
}

/// Fetches the JWKS whenever its keys expire, until the verifier is dropped. Holds the
/// verifier's state only while fetching.
async fn refresh_in_background(inner: Weak<Inner>) {
    loop {
        let Some(due) = inner.upgrade().map(|i| i.due()) else {
            return;
        };
        tokio::time::sleep_until(due).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let mut last = strong.last_fetch.lock().await;
        // A fetch caused by a token may have come first and pushed the date back.
        if Instant::now() >= strong.due() {
            let _ = strong.fetch(&mut last).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn token(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn issuer_of_unverified_payload() {
        let iss = "https://a.example";
        assert!(names_issuer(
            &token(r#"{"iss":"https://a.example","sub":"x"}"#),
            iss
        ));
        assert!(names_issuer(
            &token(r#"{"iss":"https:\/\/a.example"}"#),
            iss
        ));
        assert!(!names_issuer(
            &token(r#"{"iss":"https://a.example/"}"#),
            iss
        ));
        assert!(!names_issuer(&token(r#"{"sub":"x"}"#), iss));
        assert!(!names_issuer(&token(r#"{"iss":7}"#), iss));
        assert!(!names_issuer(&token("not json"), iss));
        assert!(!names_issuer(&token("[]"), iss));
        for bad in ["a.b", "a.b.c.d", "a.!!!.c", "", "..", "\u{0}"] {
            assert!(!names_issuer(bad, iss), "{bad}");
        }
        let long = token(&format!(
            r#"{{"iss":"{iss}","pad":"{}"}}"#,
            "a".repeat(MAX_TOKEN_LEN)
        ));
        assert!(!names_issuer(&long, iss));
    }
}
