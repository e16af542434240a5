//! Shared fixture of the authcore fuzz targets: fixed keys, a fixed clock, and tokens
//! minted once, so that every run (and every seed in `seeds/verify/`) is reproducible and
//! the seed tokens never expire.

use std::sync::{Arc, LazyLock};

use authcore::time::OffsetDateTime;
use authcore::{Algorithm, Clock, Jwt, KeySet, SigningKey, TokenIssuer};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The fixed HS256 secret (exactly 32 bytes). Fuzzing only.
pub const HS_SECRET: &[u8; 32] = b"authcore-fuzz-fixed-hs256-secret";

/// A fixed Ed25519 key (`openssl genpkey -algorithm ed25519`). Fuzzing only.
pub const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGKBwGkcGG9VnKcBRD73fJqki5nAEttpPVrA0l6c+vo9
-----END PRIVATE KEY-----
";

/// The instant the fixed clock always reports (2023-11-14T22:13:20Z).
pub const NOW: i64 = 1_700_000_000;

/// Issuer and audience of every fixture token.
pub const ISSUER: &str = "i";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "a";

/// A clock that never moves.
#[derive(Debug)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).expect("NOW is a valid timestamp")
    }
}

fn build(keys: KeySet) -> Jwt {
    Jwt::builder()
        .keys(keys)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(Arc::new(FixedClock))
        .build()
        .expect("fixture Jwt builds")
}

/// The fixed HS256 signing key.
pub fn hs_key() -> SigningKey {
    SigningKey::hmac(Algorithm::HS256, HS_SECRET).expect("32-byte HS256 secret")
}

/// The fixed Ed25519 signing key.
pub fn ed_key() -> SigningKey {
    SigningKey::from_pem(ED_PEM).expect("fixture Ed25519 key")
}

/// Every verifier and token the targets use, built once per process.
pub struct Fixture {
    /// HS256 issuer/verifier with [`HS_SECRET`].
    pub hs: Jwt,
    /// EdDSA issuer/verifier with [`ED_PEM`].
    pub ed: Jwt,
    /// Signs with the HS256 key but also verifies the EdDSA key: for algorithm and
    /// key confusion across two keys.
    pub multi: Jwt,
    /// A valid HS256 token, minted once.
    pub hs_token: String,
    /// A valid EdDSA token, minted once.
    pub ed_token: String,
}

impl Fixture {
    fn new() -> Self {
        let hs = build(KeySet::new(hs_key()));
        let ed = build(KeySet::new(ed_key()));
        let multi = build(
            KeySet::new(hs_key())
                .with_verification_key(ed_key().verification_key())
                .expect("distinct kids"),
        );
        let hs_token = mint(&hs, "user-1");
        let ed_token = mint(&ed, "user-1");
        Fixture {
            hs,
            ed,
            multi,
            hs_token,
            ed_token,
        }
    }
}

/// The process-wide fixture.
pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(Fixture::new);

/// Mints a token for `subject` with two roles and a session id.
pub fn mint(jwt: &Jwt, subject: &str) -> String {
    TokenIssuer::<()>::issue(
        jwt,
        subject,
        &["admin".to_owned(), "user".to_owned()],
        Some("session-1"),
        (),
    )
    .expect("minting succeeds")
    .token
}

/// base64url without padding, as in JWS.
pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Signs `header_b64.payload_b64` with [`HS_SECRET`] outside authcore: a signing oracle
/// that lets the fuzzer reach the code behind the signature check.
pub fn hs256_compact(header_b64: &str, payload_b64: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, HS_SECRET);
    let input = format!("{header_b64}.{payload_b64}");
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// `true` if `token` is exactly three base64url segments, each the canonical encoding of
/// its bytes (decoding and re-encoding gives it back), the last of `sig_len` bytes. Every
/// token a verifier accepts must be: anything else means it parses leniently, and a
/// lenient parser makes a signed token malleable.
pub fn is_canonical_compact(token: &str, sig_len: usize) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else {
        return false;
    };
    let canonical = |seg: &str| match URL_SAFE_NO_PAD.decode(seg) {
        Ok(bytes) => !bytes.is_empty() && b64(&bytes) == seg,
        Err(_) => false,
    };
    canonical(h)
        && canonical(p)
        && canonical(s)
        && URL_SAFE_NO_PAD.decode(s).map(|sig| sig.len()) == Ok(sig_len)
}
