//! JWT benchmarks: authcore against the raw `jsonwebtoken` crate (aws-lc-rs backend).
//!
//! Ids are `<op>/<impl>/<ALG>`: `sign` and `verify` for `authcore` and `jsonwebtoken` with
//! HS256, RS256, ES256 and EdDSA, plus `authenticate/authcore/HS256` (a `Bearer` header value
//! to claims, including the in-memory revocation check, with the verified-token cache off)
//! and `authenticate/authcore-cached/HS256` (the default: the same token answered from the
//! cache, the revocation still checked). `authenticate/{authcore,verify-only,jwks}/ES256`
//! (and their `-cached` twins) compare, in one run, the auth server's `Authenticator`, a
//! verify-only `RequestAuthenticator` over the public key, and one over `auth-jwks`'s
//! `JwksVerifier` (its key fetched from a JWKS on loopback).
//!
//! Fairness: both implementations sign the same claims (byte-identical JSON payload) with the
//! same key material (`benches/keys/*.pem`, one fixed HMAC secret). `jsonwebtoken` gets its
//! `EncodingKey`, `DecodingKey`, `Header` and `Validation` built once, outside the timed loop,
//! and its `Validation` checks what authcore checks: the algorithm is pinned, `exp` is
//! required and checked, `nbf` is checked, `iss` and `aud` are checked, with a 30 s leeway.
//! Each implementation verifies its own token; before timing, every token is also checked to
//! verify with the other implementation.

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use std::sync::Arc;

use auth_jwks::JwksVerifier;
use authcore::store::memory::MemoryRevocationStore;
use authcore::testing::{TEST_ISSUER, TestAuth};
use authcore::{
    Algorithm, Audience, Claims, Jwt, KeySet, RequestAuthenticator, SigningKey, TokenVerifier,
};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The HS256 secret shared by both implementations (32+ bytes).
const HMAC_SECRET: &[u8] = b"authcore-bench-hs256-secret-0123456789abcdef";

const ED25519_PEM: &[u8] = include_bytes!("../keys/ed25519.pem");
const ED25519_PUB_PEM: &[u8] = include_bytes!("../keys/ed25519.pub.pem");
const ES256_PEM: &[u8] = include_bytes!("../keys/es256.pem");
const ES256_PUB_PEM: &[u8] = include_bytes!("../keys/es256.pub.pem");
const RS256_PEM: &[u8] = include_bytes!("../keys/rs256.pem");
const RS256_PUB_PEM: &[u8] = include_bytes!("../keys/rs256.pub.pem");

/// Issuer and audience of every token. `TestAuth` (used for `authenticate`) fixes both to
/// this value, so all tokens have the same shape.
const ISSUER: &str = TEST_ISSUER;
const AUDIENCE: &str = TEST_ISSUER;
const SUBJECT: &str = "user-1234567890";
const SESSION: &str = "3f1c2a9e-6b7d-4e21-9a0f-5c8d7e6b4a31";
const LEEWAY_SECS: u64 = 30;

fn roles() -> Vec<String> {
    vec!["user".to_owned(), "admin".to_owned()]
}

/// The claims as a plain serde struct for `jsonwebtoken`: the same members, in the same
/// order, as `authcore::Claims<()>`, so the JSON payloads are byte-identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JwtClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

impl From<&Claims> for JwtClaims {
    fn from(c: &Claims) -> Self {
        let aud = match &c.aud {
            Audience::One(a) => a.clone(),
            Audience::Many(_) => panic!("the bench claims have a single audience"),
        };
        JwtClaims {
            iss: c.iss.clone(),
            sub: c.sub.clone(),
            aud,
            iat: c.iat.unix_timestamp(),
            nbf: c.nbf.unix_timestamp(),
            exp: c.exp.unix_timestamp(),
            jti: c.jti.clone(),
            roles: c.roles.clone(),
            sid: c.sid.clone(),
        }
    }
}

/// One algorithm, set up for both implementations.
struct Case {
    name: &'static str,
    jwt: Jwt,
    claims: Claims,
    jwt_claims: JwtClaims,
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// A token signed by authcore, verified by `verify/authcore`.
    authcore_token: String,
    /// A token signed by jsonwebtoken, verified by `verify/jsonwebtoken`.
    jsonwebtoken_token: String,
}

fn build_jwt(key: SigningKey) -> Jwt {
    Jwt::builder()
        .keys(KeySet::new(key))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(authcore::time::Duration::seconds(LEEWAY_SECS as i64))
        .build()
        .expect("authcore JWT configuration")
}

fn validation(alg: jsonwebtoken::Algorithm) -> Validation {
    let mut v = Validation::new(alg); // pins the algorithm; requires and checks `exp`
    v.validate_nbf = true;
    v.leeway = LEEWAY_SECS;
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[AUDIENCE]);
    v
}

fn jsonwebtoken_decode(case_token: &str, decoding: &DecodingKey, v: &Validation) -> JwtClaims {
    jsonwebtoken::decode::<JwtClaims>(case_token, decoding, v)
        .expect("jsonwebtoken verifies")
        .claims
}

impl Case {
    fn new(
        name: &'static str,
        key: SigningKey,
        alg: jsonwebtoken::Algorithm,
        encoding: EncodingKey,
        decoding: DecodingKey,
    ) -> Self {
        let jwt = build_jwt(key);
        assert_eq!(jwt.issuer().signing_key().algorithm().as_str(), name);
        let claims: Claims = jwt
            .issuer()
            .claims(SUBJECT, &roles(), Some(SESSION), ())
            .expect("claims");
        let jwt_claims = JwtClaims::from(&claims);
        let header = Header {
            typ: Some("at+jwt".to_owned()),
            kid: Some(jwt.issuer().signing_key().kid().to_owned()),
            ..Header::new(alg)
        };
        let validation = validation(alg);

        let authcore_token = jwt.issuer().sign(&claims).expect("authcore signs");
        let jsonwebtoken_token =
            jsonwebtoken::encode(&header, &jwt_claims, &encoding).expect("jsonwebtoken signs");

        // Same work: identical payloads, and each token verifies with the other impl.
        assert_eq!(
            authcore_token.split('.').nth(1),
            jsonwebtoken_token.split('.').nth(1),
            "{name}: the two implementations must sign the same JSON payload"
        );
        assert_eq!(authcore_token.len(), jsonwebtoken_token.len(), "{name}");
        let by_authcore: Claims = TokenVerifier::<()>::verify(&jwt, &jsonwebtoken_token)
            .unwrap_or_else(|e| panic!("{name}: authcore rejects the jsonwebtoken token: {e}"));
        assert_eq!(by_authcore, claims, "{name}");
        let own: Claims = TokenVerifier::<()>::verify(&jwt, &authcore_token)
            .unwrap_or_else(|e| panic!("{name}: authcore rejects its own token: {e}"));
        assert_eq!(own, claims, "{name}");
        assert_eq!(
            jsonwebtoken_decode(&authcore_token, &decoding, &validation),
            jwt_claims,
            "{name}: jsonwebtoken on the authcore token"
        );
        assert_eq!(
            jsonwebtoken_decode(&jsonwebtoken_token, &decoding, &validation),
            jwt_claims,
            "{name}: jsonwebtoken on its own token"
        );

        Case {
            name,
            jwt,
            claims,
            jwt_claims,
            header,
            encoding,
            decoding,
            validation,
            authcore_token,
            jsonwebtoken_token,
        }
    }
}

fn cases() -> Vec<Case> {
    use jsonwebtoken::Algorithm as J;
    vec![
        Case::new(
            "HS256",
            SigningKey::hmac(Algorithm::HS256, HMAC_SECRET).expect("HS256 key"),
            J::HS256,
            EncodingKey::from_secret(HMAC_SECRET),
            DecodingKey::from_secret(HMAC_SECRET),
        ),
        Case::new(
            "RS256",
            SigningKey::from_pem(RS256_PEM).expect("RS256 key"),
            J::RS256,
            EncodingKey::from_rsa_pem(RS256_PEM).expect("RS256 encoding key"),
            DecodingKey::from_rsa_pem(RS256_PUB_PEM).expect("RS256 decoding key"),
        ),
        Case::new(
            "ES256",
            SigningKey::from_pem(ES256_PEM).expect("ES256 key"),
            J::ES256,
            EncodingKey::from_ec_pem(ES256_PEM).expect("ES256 encoding key"),
            DecodingKey::from_ec_pem(ES256_PUB_PEM).expect("ES256 decoding key"),
        ),
        Case::new(
            "EdDSA",
            SigningKey::from_pem(ED25519_PEM).expect("EdDSA key"),
            J::EdDSA,
            EncodingKey::from_ed_pem(ED25519_PEM).expect("EdDSA encoding key"),
            DecodingKey::from_ed_pem(ED25519_PUB_PEM).expect("EdDSA decoding key"),
        ),
    ]
}

fn configure<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>) {
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn bench_jwt(c: &mut Criterion) {
    let cases = cases();

    let mut sign = c.benchmark_group("sign");
    configure(&mut sign);
    for case in &cases {
        sign.bench_function(BenchmarkId::new("authcore", case.name), |b| {
            b.iter(|| {
                case.jwt
                    .issuer()
                    .sign(black_box(&case.claims))
                    .expect("authcore signs")
            });
        });
        sign.bench_function(BenchmarkId::new("jsonwebtoken", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::encode(&case.header, black_box(&case.jwt_claims), &case.encoding)
                    .expect("jsonwebtoken signs")
            });
        });
    }
    sign.finish();

    let mut verify = c.benchmark_group("verify");
    configure(&mut verify);
    for case in &cases {
        verify.bench_function(BenchmarkId::new("authcore", case.name), |b| {
            b.iter(|| {
                TokenVerifier::<()>::verify(&case.jwt, black_box(case.authcore_token.as_str()))
                    .expect("authcore verifies")
            });
        });
        verify.bench_function(BenchmarkId::new("jsonwebtoken", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<JwtClaims>(
                    black_box(case.jsonwebtoken_token.as_str()),
                    &case.decoding,
                    &case.validation,
                )
                .expect("jsonwebtoken verifies")
            });
        });
    }
    verify.finish();

    bench_authenticate(c);
    bench_verify_only(c);
}

fn bench_authenticate(c: &mut Criterion) {
    let key = SigningKey::hmac(Algorithm::HS256, HMAC_SECRET).expect("HS256 key");
    // the cache off: verification itself, every time
    let t = TestAuth::with_keys(KeySet::new(key)).verified_token_cache(0);
    let (claims, header) = signed(&t);

    let mut group = c.benchmark_group("authenticate");
    configure(&mut group);
    let row = Row {
        header: &header,
        claims: &claims,
    };
    row.bench(
        &mut group,
        "authcore",
        "HS256",
        t.auth.request_authenticator(),
    );
    // the default: the same token again is answered from the verified-token cache
    let cached = t.verified_token_cache(authcore::DEFAULT_VERIFIED_TOKEN_SLOTS);
    row.bench(
        &mut group,
        "authcore-cached",
        "HS256",
        cached.auth.request_authenticator(),
    );
    group.finish();
}

/// `t`'s claims for the benchmarks' subject, and the `Authorization` value of their token.
fn signed(t: &TestAuth) -> (Claims, String) {
    let claims: Claims = t
        .jwt
        .issuer()
        .claims(SUBJECT, &roles(), Some(SESSION), ())
        .expect("claims");
    let header = format!("Bearer {}", t.jwt.issuer().sign(&claims).expect("sign"));
    (claims, header)
}

/// One `authenticate/<id>/<alg>` row: the header's token, checked once to give `claims`,
/// then authenticated by a `RequestAuthenticator` (the auth server's
/// `Authenticator::authenticate` is a call to its own).
struct Row<'a> {
    header: &'a str,
    claims: &'a Claims,
}

impl Row<'_> {
    fn bench<M: criterion::measurement::Measurement>(
        &self,
        group: &mut BenchmarkGroup<'_, M>,
        id: &str,
        alg: &str,
        requests: &RequestAuthenticator,
    ) {
        let got = poll_ready(requests.authenticate(Some(self.header.as_bytes())));
        assert_eq!(&got.expect("authenticates"), self.claims);
        group.bench_function(BenchmarkId::new(id, alg), |b| {
            b.iter(|| {
                poll_ready(requests.authenticate(Some(black_box(self.header.as_bytes()))))
                    .expect("authenticates")
            });
        });
    }
}

/// Polls a future once, as the task of a server does, and returns its output. The
/// in-memory stores never wait, so `authenticate` completes on the first poll; a runtime's
/// `block_on` would add its own per-call cost (about 0.12 µs here) that a server, already
/// running inside a task, never pays.
fn poll_ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory authenticate path suspended"),
    }
}

/// `authenticate` with ES256 through the three ways a service can hold the verifying
/// half, in one run: the auth server's `Authenticator`, a verify-only
/// `RequestAuthenticator` over the public key, and one over a `JwksVerifier` that fetched
/// the key from a JWKS served on loopback. Each checks revocations in memory; each is
/// measured with its verified-token cache off and on.
fn bench_verify_only(c: &mut Criterion) {
    let key = || SigningKey::from_pem(ES256_PEM).expect("ES256 key");
    let public = KeySet::verify_only()
        .with_verification_key(key().verification_key())
        .expect("public key");
    // The auth server, with the given verified-token cache.
    let server = |slots| TestAuth::with_keys(KeySet::new(key())).verified_token_cache(slots);
    let t = server(0);
    let (claims, header) = signed(&t);

    let verifier = Jwt::builder()
        .keys(public)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build_verifier()
        .expect("verifier");
    let verify_only = |verifier: Arc<dyn TokenVerifier>, slots: usize| {
        RequestAuthenticator::builder(verifier)
            .revocations(Arc::new(MemoryRevocationStore::new()))
            .verified_token_cache(slots)
            .build()
    };
    let local = Arc::new(verifier);

    // The JWKS, served over loopback for the verifier to fetch once.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let jwks = t.jwt.jwks().to_json();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
    let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { jwks }));
    rt.spawn(async move { axum::serve(listener, app).await });
    let remote = Arc::new(
        rt.block_on(
            JwksVerifier::builder(url)
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .build(),
        )
        .expect("the JWKS verifier"),
    );

    let mut group = c.benchmark_group("authenticate");
    configure(&mut group);
    let row = Row {
        header: &header,
        claims: &claims,
    };
    for (suffix, slots) in [("", 0), ("-cached", authcore::DEFAULT_VERIFIED_TOKEN_SLOTS)] {
        let server = server(slots);
        row.bench(
            &mut group,
            &format!("authcore{suffix}"),
            "ES256",
            server.auth.request_authenticator(),
        );
        for (name, verifier) in [
            ("verify-only", local.clone() as Arc<dyn TokenVerifier>),
            ("jwks", remote.clone() as Arc<dyn TokenVerifier>),
        ] {
            let requests = verify_only(verifier, slots);
            row.bench(&mut group, &format!("{name}{suffix}"), "ES256", &requests);
        }
    }
    group.finish();
    drop(rt);
}

criterion_group!(benches, bench_jwt);
criterion_main!(benches);
