//! Integration tests of authcore: one test binary, to save link time.
#![allow(clippy::unwrap_used)] // helpers of a test binary: a failed unwrap is a failed test

mod conformance;
mod flow;
mod foreign;
mod interop;
mod jwt;
mod keys;
mod legacy;
mod read_only;
mod request;
mod user_cache;
mod verified;

use std::sync::Arc;

use authcore::testing::ManualClock;
use authcore::{Algorithm, Jwt, KeySet, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

pub(crate) const ISS: &str = "https://auth.example.com";
pub(crate) const AUD: &str = "api";
pub(crate) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-secret";

pub(crate) const ED25519_PEM: &str = include_str!("keys/ed25519.pem");
pub(crate) const ED25519_PUB_PEM: &str = include_str!("keys/ed25519.pub.pem");
pub(crate) const P256_PEM: &str = include_str!("keys/p256.pem");
pub(crate) const P256_SEC1_PEM: &str = include_str!("keys/p256.sec1.pem");
pub(crate) const P256_PUB_PEM: &str = include_str!("keys/p256.pub.pem");
pub(crate) const RSA_PEM: &str = include_str!("keys/rsa2048.pem");
pub(crate) const RSA_PKCS1_PEM: &str = include_str!("keys/rsa2048.pkcs1.pem");
pub(crate) const RSA_PUB_PEM: &str = include_str!("keys/rsa2048.pub.pem");
pub(crate) const RSA1024_PEM: &str = include_str!("keys/rsa1024.pem");
pub(crate) const P384_PEM: &str = include_str!("keys/p384.pem");

/// A key of each supported algorithm, from the fixtures (HMAC from `SECRET`).
pub(crate) fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            SigningKey::hmac(alg, &SECRET.repeat(2)).unwrap()
        }
        Algorithm::EdDSA => SigningKey::from_pem(ED25519_PEM).unwrap(),
        Algorithm::ES256 => SigningKey::from_pem(P256_PEM).unwrap(),
        Algorithm::RS256 | Algorithm::PS256 => SigningKey::from_pem_with(alg, RSA_PEM).unwrap(),
        other => panic!("no fixture for {other}"),
    }
}

pub(crate) const ALL: [Algorithm; 7] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// A `Jwt` over `keys` with a manual clock at the current time.
pub(crate) fn jwt_with(keys: KeySet) -> (Jwt, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::now_utc());
    let jwt = Jwt::builder()
        .keys(keys)
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone())
        .build()
        .unwrap();
    (jwt, clock)
}

pub(crate) fn b64(data: impl AsRef<[u8]>) -> String {
    B64.encode(data)
}

pub(crate) fn unb64(data: &str) -> Vec<u8> {
    B64.decode(data).unwrap()
}

/// Signs `header.payload` with HMAC-SHA256 over `secret`, as an attacker or another
/// implementation would, with full control of both JSON documents.
pub(crate) fn forge_hs256(
    secret: &[u8],
    header: impl AsRef<[u8]>,
    payload: impl AsRef<[u8]>,
) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// The decoded payload of a compact token.
pub(crate) fn payload_json(token: &str) -> serde_json::Value {
    serde_json::from_slice(&unb64(token.split('.').nth(1).unwrap())).unwrap()
}
