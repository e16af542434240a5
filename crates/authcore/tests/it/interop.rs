//! Interoperability both ways: published test vectors verify with authcore, and
//! authcore's tokens verify with independent implementations (jwt-simple, and the
//! jsonwebtoken crate with its aws-lc-rs backend).

use authcore::{
    Algorithm, AuthError, KeySet, SigningKey, TokenIssuer, TokenVerifier, VerificationKey,
};
use serde::{Deserialize, Serialize};

use crate::*;

fn verifier(key: VerificationKey, iss: &str, aud: &str) -> authcore::JwtVerifier {
    authcore::JwtVerifier::builder()
        .keys(KeySet::verify_only().with_verification_key(key).unwrap())
        .issuer(iss)
        .audience(aud)
        .build_verifier()
        .unwrap()
}

/// RFC 7515 Appendix A.1: the HMAC SHA-256 example JWS and its key (JWK `k`).
const RFC7515_A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const RFC7515_A1_JWS: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// RFC 8037 Appendix A.4: the Ed25519 example JWS, and A.2's public key `x`.
const RFC8037_A2_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// The published signatures verify. Neither example is an access token (A.1 has
/// `typ: JWT`, A.4 has no `typ` and a text payload), so authcore reports `WrongType`,
/// which it checks only once the signature has verified; any change to the signature
/// gives `BadSignature`.
#[test]
fn rfc7515_a1_hmac_vector_verifies() {
    let key = VerificationKey::hmac(Algorithm::HS256, &unb64(RFC7515_A1_KEY)).unwrap();
    let v = verifier(key, "joe", "any");
    assert!(matches!(
        TokenVerifier::<()>::verify(&v, RFC7515_A1_JWS),
        Err(AuthError::WrongType)
    ));
    let altered = RFC7515_A1_JWS.replace("dBjft", "dBjfu");
    assert!(matches!(
        TokenVerifier::<()>::verify(&v, &altered),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn rfc8037_a4_ed25519_vector_verifies() {
    let jwks = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{RFC8037_A2_X}"}}]}}"#);
    let v = authcore::JwtVerifier::builder()
        .keys(KeySet::from_jwks(&jwks).unwrap())
        .issuer("any")
        .audience("any")
        .build_verifier()
        .unwrap();
    assert!(matches!(
        TokenVerifier::<()>::verify(&v, RFC8037_A4_JWS),
        Err(AuthError::WrongType)
    ));
    let altered = RFC8037_A4_JWS.replace(".hgyY", ".hgyZ");
    assert!(matches!(
        TokenVerifier::<()>::verify(&v, &altered),
        Err(AuthError::BadSignature)
    ));
}

/// authcore's extra claims, as jwt-simple sees them.
#[derive(Debug, Serialize, Deserialize)]
struct Custom {
    roles: Vec<String>,
    sid: Option<String>,
}

#[test]
fn our_tokens_verify_with_jwt_simple() {
    use std::collections::HashSet;

    use jwt_simple::prelude::*;
    let options = || VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISS.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUD.to_owned()])),
        required_signature_type: Some("at+jwt".to_owned()),
        ..Default::default()
    };
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let signing = match alg {
            Algorithm::HS256 => SigningKey::hmac(alg, SECRET).unwrap(),
            _ => key(alg),
        };
        let (jwt, _) = jwt_with(KeySet::new(signing));
        let roles = vec!["admin".to_owned()];
        let token = TokenIssuer::<()>::issue(&jwt, "user-7", &roles, Some("s-1"), ())
            .unwrap()
            .token;
        let claims = match alg {
            Algorithm::HS256 => {
                HS256Key::from_bytes(SECRET).verify_token::<Custom>(&token, Some(options()))
            }
            Algorithm::RS256 => RS256PublicKey::from_pem(RSA_PUB_PEM)
                .unwrap()
                .verify_token::<Custom>(&token, Some(options())),
            Algorithm::PS256 => PS256PublicKey::from_pem(RSA_PUB_PEM)
                .unwrap()
                .verify_token::<Custom>(&token, Some(options())),
            Algorithm::ES256 => ES256PublicKey::from_pem(P256_PUB_PEM)
                .unwrap()
                .verify_token::<Custom>(&token, Some(options())),
            _ => Ed25519PublicKey::from_pem(ED25519_PUB_PEM)
                .unwrap()
                .verify_token::<Custom>(&token, Some(options())),
        }
        .unwrap_or_else(|e| panic!("jwt-simple rejected our {alg} token: {e}"));
        assert_eq!(claims.subject.as_deref(), Some("user-7"));
        assert_eq!(claims.custom.roles, roles);
        assert_eq!(claims.custom.sid.as_deref(), Some("s-1"));
        assert!(
            claims.jwt_id.is_some()
                && claims.invalid_before.is_some()
                && claims.expires_at.is_some()
        );
    }
}

/// The claims as the jsonwebtoken crate reads them.
#[derive(Debug, Deserialize)]
struct JwtClaims {
    sub: String,
    roles: Vec<String>,
}

/// Smoke test of the single crypto backend: jsonwebtoken is built with exactly one
/// (`aws_lc_rs`); with none or two it would panic here, not at a user's first request.
#[test]
fn jsonwebtoken_backend_signs_and_verifies_and_reads_our_tokens_and_jwks() {
    use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
    let claims = serde_json::json!({"sub": "x", "roles": [], "exp": 4_102_444_800u64});
    let t = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_aud = false;
    assert_eq!(
        decode::<JwtClaims>(&t, &DecodingKey::from_secret(SECRET), &v)
            .unwrap()
            .claims
            .sub,
        "x"
    );

    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let (jwt, _) = jwt_with(KeySet::new(key(alg)));
        let token = TokenIssuer::<()>::issue(&jwt, "user-9", &["ops".to_owned()], None, ())
            .unwrap()
            .token;
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwt.jwks().to_json()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let jwk = set
            .find(header.kid.as_deref().unwrap())
            .expect("kid published in the JWKS");
        // Our kid is the RFC 7638 thumbprint, as jsonwebtoken computes it.
        assert_eq!(
            jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .unwrap(),
            header.kid.clone().unwrap()
        );
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[ISS]);
        validation.set_audience(&[AUD]);
        let data = decode::<JwtClaims>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap_or_else(|e| panic!("jsonwebtoken rejected our {alg} token: {e}"));
        assert_eq!(
            (data.claims.sub.as_str(), data.claims.roles.as_slice()),
            ("user-9", &["ops".to_owned()][..])
        );
    }
}
