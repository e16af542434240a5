//! Integration tests of auth-jwks over real HTTP on the loopback interface: a JWKS server
//! whose answers the tests change as they go, tokens of authcore's own issuer and
//! hand-signed ones. One test binary, to save link time.
#![allow(clippy::unwrap_used)] // helpers of a test binary: a failed unwrap is a failed test

mod discovery;
mod outages;
mod verify;

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use auth_jwks::JwksVerifier;
use authcore::{
    Algorithm, AuthError, Claims, Jwt, KeySet, RequestAuthenticator, SigningKey, TokenIssuer,
    TokenVerifier,
};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONNECTION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The issuer of the tokens under test.
pub(crate) const ISS: &str = "https://auth.test.invalid";
/// The audience of the tokens under test.
pub(crate) const AUD: &str = "api";
/// A cooldown long enough never to pass within a test.
pub(crate) const LONG: Duration = Duration::from_secs(3600);
/// The bound on any one step a test waits for.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// One way the server answers a path.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) cache_control: Option<String>,
    pub(crate) delay: Duration,
}

impl Answer {
    pub(crate) fn ok(body: impl Into<String>) -> Self {
        Answer {
            status: 200,
            body: body.into(),
            cache_control: None,
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn status(status: u16) -> Self {
        Answer {
            status,
            ..Answer::ok("{}")
        }
    }
}

#[derive(Debug)]
struct Shared {
    jwks: Mutex<Answer>,
    discovery: Mutex<Answer>,
    jwks_hits: AtomicU64,
}

/// A JWKS server on 127.0.0.1: `/jwks.json` and `/.well-known/openid-configuration`,
/// with answers set at run time, counting the requests for the JWKS.
#[derive(Debug)]
pub(crate) struct JwksServer {
    pub(crate) base: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

async fn respond(answer: Answer) -> Response {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap();
    let mut response = (status, answer.body).into_response();
    // No keep-alive: a dropped server is gone at once, not still answering on a pooled
    // connection.
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    if let Some(cc) = answer.cache_control {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_str(&cc).unwrap());
    }
    response
}

impl JwksServer {
    pub(crate) async fn start(jwks: Answer) -> Self {
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks),
            discovery: Mutex::new(Answer::status(404)),
            jwks_hits: AtomicU64::new(0),
        });
        let app = Router::new()
            .route(
                "/jwks.json",
                get(|State(s): State<Arc<Shared>>| async move {
                    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
                    let answer = s.jwks.lock().unwrap().clone();
                    respond(answer).await
                }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(|State(s): State<Arc<Shared>>| async move {
                    let answer = s.discovery.lock().unwrap().clone();
                    respond(answer).await
                }),
            )
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer { base, shared, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    pub(crate) fn set(&self, answer: Answer) {
        *self.shared.jwks.lock().unwrap() = answer;
    }

    pub(crate) fn serve_keys(&self, jwks: String) {
        self.set(Answer::ok(jwks));
    }

    pub(crate) fn set_discovery(&self, answer: Answer) {
        *self.shared.discovery.lock().unwrap() = answer;
    }

    pub(crate) fn hits(&self) -> u64 {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub(crate) async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/jwks.json")
}

/// authcore's own issuer with one ES256 key `kid`.
pub(crate) fn issuer(iss: &str, kid: &str) -> Jwt {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid(kid);
    Jwt::builder()
        .keys(KeySet::new(key))
        .issuer(iss)
        .audience(AUD)
        .build()
        .unwrap()
}

/// A token of `jwt` for `user-1`.
pub(crate) fn token(jwt: &Jwt) -> String {
    TokenIssuer::<()>::issue(jwt, "user-1", &[], None, ())
        .unwrap()
        .token
}

/// The JWKS publishing the keys of all of `issuers`.
pub(crate) fn jwks(issuers: &[&Jwt]) -> String {
    let keys: Vec<Value> = issuers
        .iter()
        .flat_map(|jwt| {
            let doc: Value = serde_json::from_str(&jwt.jwks().to_json()).unwrap();
            doc["keys"].as_array().unwrap().clone()
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// An ES256 key that signs whatever header and claims it is given.
pub(crate) struct RawKey {
    pub(crate) kid: String,
    pair: EcdsaKeyPair,
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl RawKey {
    pub(crate) fn new(kid: &str) -> Self {
        RawKey {
            kid: kid.to_owned(),
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public JWK.
    pub(crate) fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        })
    }

    /// `header.claims` signed with this key.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    /// An authcore-shaped token for `iss` under the header `kid` (which need not be this
    /// key's).
    pub(crate) fn token(&self, iss: &str, kid: &str) -> String {
        let now = authcore::time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign(
            &json!({ "alg": "ES256", "typ": "at+jwt", "kid": kid }),
            &json!({
                "iss": iss, "sub": "user-1", "aud": AUD, "iat": now, "nbf": now,
                "exp": now + 600, "jti": format!("jti-{kid}"), "roles": [],
            }),
        )
    }
}

/// A verifier of [`ISS`] and [`AUD`] tokens over `server`'s JWKS with `cooldown`,
/// built (its first fetch done).
pub(crate) async fn started(server: &JwksServer, cooldown: Duration) -> Arc<JwksVerifier> {
    let verifier = JwksVerifier::builder(server.url())
        .issuer(ISS)
        .audience(AUD)
        .cooldown(cooldown)
        .build()
        .await
        .expect("build");
    Arc::new(verifier)
}

/// The request authenticator of production around `verifier`.
pub(crate) fn requests(verifier: &Arc<JwksVerifier>) -> RequestAuthenticator {
    RequestAuthenticator::builder(Arc::clone(verifier) as Arc<dyn TokenVerifier>).build()
}

/// Authenticates `token` through the core's request path (verify, refresh on an unknown
/// key, verify again), within [`BOUND`].
pub(crate) async fn auth(
    requests: &RequestAuthenticator,
    token: &str,
) -> Result<Claims, AuthError> {
    tokio::time::timeout(BOUND, requests.authenticate_token(token))
        .await
        .expect("authentication took too long")
}

/// Polls `check` every 50 ms until it holds or `within` passes.
pub(crate) async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Log lines written on this thread while the guard lives.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// Where the events of this thread go: the capture of the test running on it.
    static CAPTURE: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

/// Writes to this thread's capture, if there is one.
struct ThreadWriter;

impl io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURE.with_borrow(|capture| {
            if let Some(logs) = capture {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Ends a capture.
pub(crate) struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with_borrow_mut(|capture| *capture = None);
    }
}

impl Logs {
    /// Captures the events of this thread (and so of a current-thread runtime's tasks).
    ///
    /// One global subscriber writes to the capture of the emitting thread: with a
    /// subscriber per thread (`set_default`), tracing may cache a callsite as
    /// uninteresting while another thread registers it, and lose its events.
    pub(crate) fn capture() -> (Logs, CaptureGuard) {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            // No colours, whatever features the workspace unifies: the tests read the text.
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        let logs = Logs::default();
        CAPTURE.with_borrow_mut(|capture| *capture = Some(logs.clone()));
        (logs, CaptureGuard)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
