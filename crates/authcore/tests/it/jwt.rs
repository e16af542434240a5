//! Token round trips, and every attack of RFC 8725 §2 rejected with its typed error.

use authcore::{
    Algorithm, AuthError, Claims, KeySet, SigningKey, TokenIssuer, TokenVerifier, VerificationKey,
};
use proptest::prelude::*;
use serde_json::json;
use time::Duration;

use crate::{ALL, AUD, ISS, SECRET, b64, forge_hs256, jwt_with, key, payload_json, unb64};

fn hs256() -> (
    authcore::Jwt,
    std::sync::Arc<authcore::testing::ManualClock>,
    SigningKey,
) {
    let k = SigningKey::hmac(Algorithm::HS256, SECRET).unwrap();
    let k2 = SigningKey::hmac(Algorithm::HS256, SECRET).unwrap();
    let (jwt, clock) = jwt_with(KeySet::new(k));
    (jwt, clock, k2)
}

fn issue(jwt: &authcore::Jwt, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    TokenIssuer::<()>::issue(jwt, "user-1", &roles, Some("session-1"), ())
        .unwrap()
        .token
}

fn verify(jwt: &authcore::Jwt, token: &str) -> Result<Claims, AuthError> {
    jwt.verify(token)
}

/// A valid HS256 header and claims for hand-built tokens.
fn valid_parts(kid: &str) -> (serde_json::Value, serde_json::Value) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (
        json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
        json!({"iss": ISS, "sub": "user-1", "aud": AUD, "iat": now, "nbf": now, "exp": now + 600, "jti": "j-1", "roles": []}),
    )
}

#[test]
fn round_trip_every_algorithm() {
    for alg in ALL {
        let signing = key(alg);
        let kid = signing.kid().to_owned();
        let (jwt, _) = jwt_with(KeySet::new(signing));
        let token = issue(&jwt, &["admin", "ops"]);
        let header: serde_json::Value =
            serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": kid}),
            "{alg}"
        );
        let claims = verify(&jwt, &token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.iss, ISS);
        assert!(claims.aud.contains(AUD));
        assert_eq!(claims.roles, ["admin", "ops"]);
        assert_eq!(claims.sid.as_deref(), Some("session-1"));
        assert_eq!(claims.exp - claims.iat, Duration::minutes(15));
        assert_eq!(claims.nbf, claims.iat);
        assert_eq!(claims.jti.len(), 22, "128-bit jti");
        assert_ne!(claims.jti, verify(&jwt, &issue(&jwt, &[])).unwrap().jti);
    }
}

#[test]
fn extra_claims_round_trip() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Extra {
        tenant: String,
        plan: u8,
    }
    let (jwt, _, _) = hs256();
    let token = jwt
        .issue(
            "u",
            &[],
            None,
            Extra {
                tenant: "acme".into(),
                plan: 3,
            },
        )
        .unwrap()
        .token;
    assert_eq!(payload_json(&token)["tenant"], "acme");
    let claims: Claims<Extra> = jwt.verify(&token).unwrap();
    assert_eq!(
        claims.extra,
        Extra {
            tenant: "acme".into(),
            plan: 3
        }
    );
    // A token without the application's claims is malformed for that application.
    let plain = issue(&jwt, &[]);
    assert!(matches!(
        TokenVerifier::<Extra>::verify(&jwt, &plain),
        Err(AuthError::Malformed)
    ));
}

#[test]
fn alg_none_in_every_spelling_is_rejected() {
    let (jwt, _, k) = hs256();
    let (_, claims) = valid_parts(k.kid());
    for alg in ["none", "None", "NONE", "nOnE", "none ", ""] {
        for kid in [Some(k.kid()), None] {
            let mut header = json!({"alg": alg, "typ": "at+jwt"});
            if let Some(kid) = kid {
                header["kid"] = json!(kid);
            }
            let unsigned = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
            for token in [
                format!("{unsigned}."),
                format!("{unsigned}.c2ln"),
                unsigned.clone(),
            ] {
                let err = verify(&jwt, &token).unwrap_err();
                assert!(
                    matches!(err, AuthError::UnsupportedAlgorithm | AuthError::Malformed),
                    "alg {alg:?} kid {kid:?}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn hmac_keyed_with_the_public_key_is_rejected() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let signing = key(alg);
        let kid = signing.kid().to_owned();
        let (jwt, _) = jwt_with(KeySet::new(signing));
        let public_pem = match alg {
            Algorithm::RS256 => crate::RSA_PUB_PEM,
            Algorithm::ES256 => crate::P256_PUB_PEM,
            _ => crate::ED25519_PUB_PEM,
        };
        let (_, claims) = valid_parts(&kid);
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}).to_string();
        let forged = forge_hs256(public_pem.as_bytes(), &header, claims.to_string());
        assert!(
            matches!(verify(&jwt, &forged), Err(AuthError::UnsupportedAlgorithm)),
            "{alg}"
        );
    }
}

#[test]
fn stripped_altered_and_tampered_tokens_are_rejected() {
    for alg in ALL {
        let (jwt, _) = jwt_with(KeySet::new(key(alg)));
        let token = issue(&jwt, &[]);
        let (signing_input, signature) = token.rsplit_once('.').unwrap();

        assert!(
            matches!(
                verify(&jwt, &format!("{signing_input}.")),
                Err(AuthError::BadSignature)
            ),
            "{alg}"
        );
        assert!(
            matches!(verify(&jwt, signing_input), Err(AuthError::Malformed)),
            "{alg}"
        );

        let mut sig = unb64(signature);
        sig[0] ^= 1;
        assert!(
            matches!(
                verify(&jwt, &format!("{signing_input}.{}", b64(&sig))),
                Err(AuthError::BadSignature)
            ),
            "{alg}"
        );

        let mut claims = payload_json(&token);
        claims["roles"] = json!(["admin"]);
        let header = token.split('.').next().unwrap();
        let tampered = format!("{header}.{}.{signature}", b64(claims.to_string()));
        assert!(
            matches!(verify(&jwt, &tampered), Err(AuthError::BadSignature)),
            "{alg}"
        );
    }
}

#[test]
fn unknown_kid_and_embedded_keys_are_rejected() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let signing = SigningKey::from_pem(crate::ED25519_PEM).unwrap();
    let our_kid = signing.kid().to_owned();
    let (jwt, _) = jwt_with(KeySet::new(signing));

    // A token signed by the attacker's own key, which the header carries (jwk) or points
    // to (jku, x5u). Whatever the kid, the embedded key is never used.
    let attacker = Ed25519KeyPair::generate().unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(attacker.public_key().as_ref())});
    let (_, mut claims) = valid_parts("");
    claims["roles"] = json!(["admin"]);
    let forge = |header: serde_json::Value| {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        format!("{input}.{}", b64(attacker.sign(input.as_bytes()).as_ref()))
    };
    let base = json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": jwk,
        "jku": "https://attacker.example/jwks.json", "x5u": "https://attacker.example/cert.pem"});
    let mut with_our_kid = base.clone();
    with_our_kid["kid"] = json!(our_kid);
    assert!(matches!(
        verify(&jwt, &forge(with_our_kid)),
        Err(AuthError::BadSignature)
    ));
    let mut with_own_kid = base.clone();
    with_own_kid["kid"] = json!("attacker");
    assert!(matches!(
        verify(&jwt, &forge(with_own_kid)),
        Err(AuthError::UnknownKey)
    ));
    assert!(matches!(
        verify(&jwt, &forge(base)),
        Err(AuthError::BadSignature)
    ));

    let (hs, _, _) = hs256();
    let (header, claims) = valid_parts("no-such-kid");
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(matches!(verify(&hs, &t), Err(AuthError::UnknownKey)));
    // Without a kid, the single configured key is used.
    let mut header = header;
    header.as_object_mut().unwrap().remove("kid");
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(verify(&hs, &t).is_ok());
}

#[test]
fn unknown_crit_is_rejected() {
    let (jwt, _, k) = hs256();
    let (mut header, claims) = valid_parts(k.kid());
    header["crit"] = json!(["exp"]);
    header["exp"] = json!(1);
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(matches!(verify(&jwt, &t), Err(AuthError::Malformed)));
    header["crit"] = json!([]);
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(matches!(verify(&jwt, &t), Err(AuthError::Malformed)));
}

/// RFC 7515 §5.2 steps 3–4 and RFC 7519 §7.2: the decoded header and payload are UTF-8
/// JSON. Found by black-box testing: invalid bytes inside a member the verifier ignores
/// were accepted, since serde_json skips ignored strings without validating them.
#[test]
fn header_and_payload_must_be_utf8() {
    let (jwt, _, k) = hs256();
    let (header, claims) = valid_parts(k.kid());
    let with_bad_member = |json: &serde_json::Value| {
        let mut bytes = json.to_string().into_bytes();
        let close = bytes.pop().unwrap();
        bytes.extend_from_slice(b",\"x\":\"\xff\xfe\xfd\"");
        bytes.push(close);
        bytes
    };
    let good = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(verify(&jwt, &good).is_ok(), "the untouched token verifies");
    let bad_header = forge_hs256(SECRET, with_bad_member(&header), claims.to_string());
    assert!(matches!(
        verify(&jwt, &bad_header),
        Err(AuthError::Malformed)
    ));
    let bad_payload = forge_hs256(SECRET, header.to_string(), with_bad_member(&claims));
    assert!(matches!(
        verify(&jwt, &bad_payload),
        Err(AuthError::Malformed)
    ));
    // The same members as valid UTF-8 are ignored, as before.
    let mut header = header;
    header["x"] = json!("\u{e9}");
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(verify(&jwt, &t).is_ok());
}

#[test]
fn typ_must_be_at_jwt() {
    let (jwt, _, k) = hs256();
    let (mut header, claims) = valid_parts(k.kid());
    for (typ, ok) in [
        (json!("JWT"), false),
        (json!("jwt"), false),
        (json!(null), false),
        (json!("at+jwt"), true),
        (json!("AT+JWT"), true),
        (json!("application/at+jwt"), true),
        (json!("application/jwt"), false),
    ] {
        header["typ"] = typ.clone();
        let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
        match verify(&jwt, &t) {
            Ok(_) => assert!(ok, "typ {typ} accepted"),
            Err(e) => assert!(!ok && matches!(e, AuthError::WrongType), "typ {typ}: {e:?}"),
        }
    }
    header.as_object_mut().unwrap().remove("typ");
    let t = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(matches!(verify(&jwt, &t), Err(AuthError::WrongType)));
}

#[test]
fn time_claims_respect_the_leeway() {
    let (jwt, clock, _) = hs256();
    let token = issue(&jwt, &[]);
    clock.advance(Duration::minutes(15) + Duration::seconds(29));
    assert!(verify(&jwt, &token).is_ok(), "inside the 30 s leeway");
    clock.advance(Duration::seconds(1));
    assert!(matches!(verify(&jwt, &token), Err(AuthError::Expired)));

    let (jwt, clock, _) = hs256();
    let token = issue(&jwt, &[]);
    clock.advance(Duration::seconds(-30));
    assert!(verify(&jwt, &token).is_ok(), "nbf inside the leeway");
    clock.advance(Duration::seconds(-1));
    assert!(matches!(verify(&jwt, &token), Err(AuthError::NotYetValid)));
}

#[test]
fn wrong_issuer_or_audience_is_rejected() {
    let (jwt, _, k) = hs256();
    let (header, claims) = valid_parts(k.kid());
    let h = header.to_string();
    for (claim, value, expected) in [
        ("iss", json!("https://evil.example"), "iss"),
        ("aud", json!("other-api"), "aud"),
        ("aud", json!(["a", "b"]), "aud"),
    ] {
        let mut c = claims.clone();
        c[claim] = value;
        let err = verify(&jwt, &forge_hs256(SECRET, &h, c.to_string())).unwrap_err();
        match expected {
            "iss" => assert!(matches!(err, AuthError::WrongIssuer), "{err:?}"),
            _ => assert!(matches!(err, AuthError::WrongAudience), "{err:?}"),
        }
    }
    let mut c = claims;
    c["aud"] = json!(["other", AUD]);
    assert!(
        verify(&jwt, &forge_hs256(SECRET, &h, c.to_string())).is_ok(),
        "aud array containing ours"
    );
}

#[test]
fn claims_of_the_wrong_json_type_are_rejected() {
    let (jwt, _, k) = hs256();
    let (header, claims) = valid_parts(k.kid());
    let h = header.to_string();
    for (claim, value) in [
        ("exp", json!("4102444800")),
        ("exp", json!(null)),
        ("exp", json!(4.1e9)),
        ("sub", json!(42)),
        ("iss", json!(["x"])),
        ("roles", json!("admin")),
        ("jti", json!(7)),
    ] {
        let mut c = claims.clone();
        c[claim] = value.clone();
        let err = verify(&jwt, &forge_hs256(SECRET, &h, c.to_string())).unwrap_err();
        assert!(
            matches!(err, AuthError::Malformed),
            "{claim}={value}: {err:?}"
        );
    }
    let mut c = claims.clone();
    c.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        verify(&jwt, &forge_hs256(SECRET, &h, c.to_string())),
        Err(AuthError::Malformed)
    ));
    // Duplicate member names are ambiguous: rejected.
    let dup = claims.to_string().replacen('{', r#"{"exp":4102444800,"#, 1);
    assert!(matches!(
        verify(&jwt, &forge_hs256(SECRET, &h, &dup)),
        Err(AuthError::Malformed)
    ));
    // A payload that is not an object.
    assert!(matches!(
        verify(&jwt, &forge_hs256(SECRET, &h, "[1,2]")),
        Err(AuthError::Malformed)
    ));
}

#[test]
fn oversize_tokens_are_rejected_before_decoding() {
    let (jwt, _, k) = hs256();
    let (header, mut claims) = valid_parts(k.kid());
    claims["padding"] = json!("x".repeat(20 * 1024));
    let big = forge_hs256(SECRET, header.to_string(), claims.to_string());
    assert!(matches!(verify(&jwt, &big), Err(AuthError::TokenTooLarge)));
    assert!(matches!(
        verify(&jwt, &"a".repeat(9000)),
        Err(AuthError::TokenTooLarge)
    ));
}

#[test]
fn malformed_compact_serializations() {
    let (jwt, _, _) = hs256();
    let token = issue(&jwt, &[]);
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    for bad in [
        String::new(),
        ".".into(),
        "..".into(),
        format!("{h}.{p}.{s}.x"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}="),
        format!("{h}={p}.{s}"),
        format!("{h}.{p}=.{s}"),
        format!("{h}.{}+.{s}", &p[..p.len() - 1]),
        format!("{h}.{}/.{s}", &p[..p.len() - 1]),
        format!(" {token}"),
        format!("{h}.{p}.{}", &s[..s.len() - 1]),
        "eyJ.eyJ.sig".into(),
        format!("{}.{p}.{s}", b64("not json")),
        format!("{}.{p}.{s}", b64(r#"{"alg":7}"#)),
    ] {
        assert_ne!(bad, token);
        assert!(verify(&jwt, &bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn verifier_only_accepts_configured_algorithms_per_key() {
    // An HS256 key never verifies an HS512 token with the same secret, and vice versa.
    let secret = SECRET.repeat(2);
    let (jwt512, _) = jwt_with(KeySet::new(
        SigningKey::hmac(Algorithm::HS512, &secret).unwrap(),
    ));
    let verifier256 = authcore::JwtVerifier::builder()
        .keys(
            KeySet::verify_only()
                .with_verification_key(
                    VerificationKey::hmac(Algorithm::HS256, &secret)
                        .unwrap()
                        .with_kid(jwt512.issuer().signing_key().kid()),
                )
                .unwrap(),
        )
        .issuer(ISS)
        .audience(AUD)
        .build_verifier()
        .unwrap();
    let token = issue(&jwt512, &[]);
    assert!(matches!(
        TokenVerifier::<()>::verify(&verifier256, &token),
        Err(AuthError::UnsupportedAlgorithm)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Changing any byte of a valid token, to any other ASCII byte, makes it fail.
    #[test]
    fn any_changed_byte_is_rejected(pos in any::<prop::sample::Index>(), byte in 0u8..128, alg in 0usize..3) {
        let alg = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA][alg];
        let (jwt, token) = FIXED.with(|f| f[alg_index(alg)].clone());
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(TokenVerifier::<()>::verify(&*jwt, &changed).is_err(), "accepted {changed}");
    }

    /// Arbitrary strings never verify and never panic.
    #[test]
    fn arbitrary_input_is_rejected(input in ".{0,300}", dots in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,90}") {
        let (jwt, _) = FIXED.with(|f| f[0].clone());
        prop_assert!(TokenVerifier::<()>::verify(&*jwt, &input).is_err());
        prop_assert!(TokenVerifier::<()>::verify(&*jwt, &dots).is_err());
    }
}

fn alg_index(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS256 => 0,
        Algorithm::ES256 => 1,
        _ => 2,
    }
}

thread_local! {
    static FIXED: Vec<(std::sync::Arc<authcore::Jwt>, String)> = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .map(|alg| {
            let (jwt, _) = jwt_with(KeySet::new(key(alg)));
            let token = issue(&jwt, &["user"]);
            (std::sync::Arc::new(jwt), token)
        })
        .collect();
}
