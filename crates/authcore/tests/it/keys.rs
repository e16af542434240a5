//! Key loading, key ids, rotation and JWKS.

use authcore::{
    Algorithm, AuthError, ConfigError, KeySet, SigningKey, TokenIssuer, TokenVerifier,
    VerificationKey,
};

use crate::*;

#[test]
fn pem_formats_load_with_the_right_algorithm() {
    for (pem, alg) in [
        (ED25519_PEM, Algorithm::EdDSA),
        (P256_PEM, Algorithm::ES256),
        (P256_SEC1_PEM, Algorithm::ES256),
        (RSA_PEM, Algorithm::RS256),
        (RSA_PKCS1_PEM, Algorithm::RS256),
    ] {
        let key = SigningKey::from_pem(pem).unwrap();
        assert_eq!(key.algorithm(), alg);
    }
    assert_eq!(
        SigningKey::from_pem_with(Algorithm::PS256, RSA_PEM)
            .unwrap()
            .algorithm(),
        Algorithm::PS256
    );
    // PKCS#8 and SEC1 encodings of one key have one thumbprint.
    assert_eq!(
        SigningKey::from_pem(P256_PEM).unwrap().kid(),
        SigningKey::from_pem(P256_SEC1_PEM).unwrap().kid()
    );
    assert_eq!(
        SigningKey::from_pem(RSA_PEM).unwrap().kid(),
        SigningKey::from_pem(RSA_PKCS1_PEM).unwrap().kid()
    );
}

#[test]
fn bad_keys_are_start_up_errors() {
    assert!(matches!(
        SigningKey::from_pem(RSA1024_PEM),
        Err(ConfigError::RsaKeyTooSmall)
    ));
    assert!(matches!(
        SigningKey::from_pem(P384_PEM),
        Err(ConfigError::InvalidKey(_))
    ));
    assert!(matches!(
        SigningKey::from_pem("not a pem"),
        Err(ConfigError::InvalidKey(_))
    ));
    assert!(matches!(
        SigningKey::from_pem(RSA_PUB_PEM),
        Err(ConfigError::InvalidKey(_))
    ));
    assert!(matches!(
        SigningKey::from_pem_with(Algorithm::ES256, RSA_PEM),
        Err(ConfigError::AlgorithmMismatch(_))
    ));
    assert!(matches!(
        SigningKey::from_pem_with(Algorithm::HS256, ED25519_PEM),
        Err(ConfigError::AlgorithmMismatch(_))
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS256, &[7; 31]),
        Err(ConfigError::SecretTooShort { min: 32 })
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS384, &[7; 47]),
        Err(ConfigError::SecretTooShort { min: 48 })
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS512, &[7; 63]),
        Err(ConfigError::SecretTooShort { min: 64 })
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::RS256, &[7; 64]),
        Err(ConfigError::AlgorithmMismatch(_))
    ));
    assert!(SigningKey::hmac(Algorithm::HS256, &[7; 32]).is_ok());
    assert!(matches!(
        SigningKey::from_pem_file("/nonexistent/key.pem"),
        Err(ConfigError::Io(_))
    ));
}

#[test]
fn environment_errors_name_the_variable_never_the_value() {
    let err = SigningKey::from_env("AUTHCORE_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
    assert!(
        err.to_string()
            .contains("AUTHCORE_TEST_SURELY_UNSET_VARIABLE"),
        "{err}"
    );
    assert!(err.to_string().contains("not set"), "{err}");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let key = SigningKey::hmac(Algorithm::HS256, SECRET).unwrap();
    let (jwt, _) = jwt_with(KeySet::new(
        SigningKey::hmac(Algorithm::HS256, SECRET).unwrap(),
    ));
    let secret = std::str::from_utf8(SECRET).unwrap();
    for shown in [
        format!("{key:?}"),
        format!("{:?}", key.verification_key()),
        format!("{jwt:?}"),
    ] {
        assert!(
            !shown.contains(secret) && !shown.contains("0123456789"),
            "{shown}"
        );
    }
    let issued = TokenIssuer::<()>::issue(&jwt, "u", &[], None, ()).unwrap();
    assert!(!format!("{issued:?}").contains(&issued.token));
    let rsa = SigningKey::from_pem(RSA_PEM).unwrap();
    assert!(format!("{rsa:?}").contains("[redacted]"));
}

#[test]
fn public_pem_verification_keys_verify_their_private_keys() {
    for (private, public) in [
        (ED25519_PEM, ED25519_PUB_PEM),
        (P256_PEM, P256_PUB_PEM),
        (RSA_PEM, RSA_PUB_PEM),
    ] {
        let signing = SigningKey::from_pem(private).unwrap();
        let public = VerificationKey::from_pem(public).unwrap();
        assert_eq!(
            public.kid(),
            signing.kid(),
            "public and private halves share the thumbprint"
        );
        let (jwt, _) = jwt_with(KeySet::new(signing));
        let token = TokenIssuer::<()>::issue(&jwt, "u", &[], None, ())
            .unwrap()
            .token;
        let verifier = authcore::JwtVerifier::builder()
            .keys(KeySet::verify_only().with_verification_key(public).unwrap())
            .issuer(ISS)
            .audience(AUD)
            .build_verifier()
            .unwrap();
        assert!(TokenVerifier::<()>::verify(&verifier, &token).is_ok());
    }
}

#[test]
fn rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped() {
    let old = SigningKey::from_pem(ED25519_PEM).unwrap();
    let (old_jwt, _) = jwt_with(KeySet::new(SigningKey::from_pem(ED25519_PEM).unwrap()));
    let old_token = TokenIssuer::<()>::issue(&old_jwt, "u", &[], None, ())
        .unwrap()
        .token;

    let rotated = KeySet::new(SigningKey::from_pem(P256_PEM).unwrap())
        .with_verification_key(old.verification_key())
        .unwrap();
    let (new_jwt, _) = jwt_with(rotated);
    let new_token = TokenIssuer::<()>::issue(&new_jwt, "u", &[], None, ())
        .unwrap()
        .token;
    assert!(
        TokenVerifier::<()>::verify(&new_jwt, &old_token).is_ok(),
        "old tokens still verify"
    );
    assert!(TokenVerifier::<()>::verify(&new_jwt, &new_token).is_ok());
    assert_eq!(new_jwt.jwks().keys.len(), 2);

    let (dropped, _) = jwt_with(KeySet::new(SigningKey::from_pem(P256_PEM).unwrap()));
    assert!(matches!(
        TokenVerifier::<()>::verify(&dropped, &old_token),
        Err(AuthError::UnknownKey)
    ));

    let dup = KeySet::new(SigningKey::from_pem(ED25519_PEM).unwrap())
        .with_verification_key(old.verification_key());
    assert!(matches!(dup, Err(ConfigError::DuplicateKid(_))));
}

#[test]
fn jwks_publishes_public_keys_only() {
    let hmac_only = KeySet::new(SigningKey::hmac(Algorithm::HS256, SECRET).unwrap());
    assert!(hmac_only.jwks().is_empty());
    assert_eq!(hmac_only.jwks().to_json(), r#"{"keys":[]}"#);

    let set = KeySet::new(SigningKey::from_pem(RSA_PEM).unwrap())
        .with_verification_key(VerificationKey::from_pem(P256_PUB_PEM).unwrap())
        .unwrap()
        .with_verification_key(VerificationKey::from_pem(ED25519_PUB_PEM).unwrap())
        .unwrap()
        .with_verification_key(VerificationKey::hmac(Algorithm::HS256, SECRET).unwrap())
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&set.jwks().to_json()).unwrap();
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "the HMAC key is not published");
    for k in keys {
        assert!(
            k.get("k").is_none() && k.get("d").is_none(),
            "private material in {k}"
        );
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().unwrap().len() == 43, "thumbprint kid");
    }
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["e"], "AQAB");
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["crv"], "P-256");
    assert_eq!(keys[2]["kty"], "OKP");
    assert_eq!(keys[2]["crv"], "Ed25519");
}

#[test]
fn a_verifier_built_from_a_jwks_verifies_the_issuers_tokens() {
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let (jwt, _) = jwt_with(KeySet::new(key(alg)));
        let token = TokenIssuer::<()>::issue(&jwt, "u", &[], None, ())
            .unwrap()
            .token;
        let remote = KeySet::from_jwks(&jwt.jwks().to_json()).unwrap();
        let verifier = authcore::JwtVerifier::builder()
            .keys(remote)
            .issuer(ISS)
            .audience(AUD)
            .build_verifier()
            .unwrap();
        assert!(
            TokenVerifier::<()>::verify(&verifier, &token).is_ok(),
            "{alg}"
        );
    }
}

#[test]
fn hostile_jwks_documents_are_refused() {
    assert!(matches!(
        KeySet::from_jwks("nope"),
        Err(ConfigError::InvalidJwks(_))
    ));
    assert!(matches!(
        KeySet::from_jwks(r#"{"keys":[]}"#),
        Err(ConfigError::InvalidJwks(_))
    ));
    assert!(matches!(
        KeySet::from_jwks(
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#
        ),
        Err(ConfigError::InvalidJwks(_))
    ));
    // Beside a usable key, a symmetric one is skipped, never used.
    let ec = SigningKey::from_pem(P256_PEM).unwrap();
    let ec_public = KeySet::new(SigningKey::from_pem(P256_PEM).unwrap()).jwks();
    let ec_jwk = serde_json::to_value(&ec_public.keys[0]).unwrap();
    let oct_secret = b"secretsecretsecretsecretsecretsecret";
    let mixed = serde_json::json!({"keys": [
        {"kty": "oct", "kid": "oct-1", "alg": "HS256", "k": crate::b64(oct_secret)},
        ec_jwk,
    ]});
    let set = KeySet::from_jwks(&mixed.to_string()).unwrap();
    assert_eq!(set.verification_keys().len(), 1);
    assert_eq!(set.verification_keys()[0].kid(), ec.kid());
    let verifier = authcore::Jwt::builder()
        .keys(set)
        .issuer(crate::ISS)
        .audience(crate::AUD)
        .build_verifier()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = crate::forge_hs256(
        oct_secret,
        serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "oct-1"}).to_string(),
        serde_json::json!({"iss": crate::ISS, "aud": crate::AUD, "sub": "x", "iat": now, "nbf": now, "exp": now + 60, "jti": "j", "roles": []}).to_string(),
    );
    assert!(matches!(
        TokenVerifier::<()>::verify(&verifier, &forged),
        Err(AuthError::UnknownKey)
    ));
    assert!(matches!(
        KeySet::from_jwks(r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#),
        Err(ConfigError::RsaKeyTooSmall)
    ));
    assert!(
        KeySet::from_jwks(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#).is_err()
    );
    // Unknown key types and encryption keys are skipped, leaving nothing usable.
    assert!(
        KeySet::from_jwks(r#"{"keys":[{"kty":"XYZ"},{"kty":"OKP","crv":"X25519","x":"AA"}]}"#)
            .is_err()
    );
}

#[test]
fn algorithm_names_are_case_sensitive_and_none_does_not_exist() {
    assert_eq!(Algorithm::from_name("EdDSA"), Some(Algorithm::EdDSA));
    for name in ["none", "None", "hs256", "eddsa", "ES512", ""] {
        assert_eq!(Algorithm::from_name(name), None, "{name}");
    }
}
