//! Access tokens of other issuers, shaped like those of Keycloak, Auth0 and Microsoft
//! Entra ID (v2.0), signed by test keys with an independent implementation
//! (jsonwebtoken), read through a relaxed verifier profile. The claim sets follow each
//! vendor's documented access-token layout: only the members that matter here, with the
//! vendors' names and JSON types.

use authcore::{
    Algorithm, AuthError, Claims, JwtVerifier, KeySet, RegisteredClaim, RolesClaim, SigningKey,
    TokenVerifier,
};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::*;

const KID: &str = "test-rsa-1";

/// Signs `claims` with RS256 and the fixture RSA key, with header `typ`.
fn sign(claims: &Value, typ: Option<&str>) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    header.typ = typ.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn keys() -> KeySet {
    let key = SigningKey::from_pem_with(Algorithm::RS256, RSA_PEM)
        .unwrap()
        .verification_key()
        .with_kid(KID);
    KeySet::verify_only().with_verification_key(key).unwrap()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn verify(v: &JwtVerifier, token: &str) -> Result<Claims, AuthError> {
    v.verify(token)
}

const KEYCLOAK_ISS: &str = "https://sso.example.com/realms/acme";

/// Keycloak: `typ: JWT`, no `nbf`, roles in `realm_access.roles`, `aud` an array.
fn keycloak_token() -> Value {
    let now = now();
    json!({
        "exp": now + 300, "iat": now, "auth_time": now - 10,
        "jti": "onrtac:6a1f5c1e-3b0e-4c0a-9d27-4b7f1c0e2a11",
        "iss": KEYCLOAK_ISS, "aud": ["orders-api", "account"],
        "sub": "f:1d2c3b4a:alice", "typ": "Bearer", "azp": "web-app",
        "sid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "acr": "1",
        "realm_access": {"roles": ["admin", "offline_access"]},
        "resource_access": {"account": {"roles": ["view-profile"]}},
        "scope": "openid email profile", "email_verified": true,
        "preferred_username": "alice"
    })
}

#[test]
fn keycloak_tokens_with_realm_roles() {
    let strict = JwtVerifier::builder()
        .keys(keys())
        .issuer(KEYCLOAK_ISS)
        .audience("orders-api")
        .build_verifier()
        .unwrap();
    let token = sign(&keycloak_token(), Some("JWT"));
    // authcore's own profile refuses it: `typ` is not at+jwt.
    assert!(matches!(verify(&strict, &token), Err(AuthError::WrongType)));

    let v = JwtVerifier::builder()
        .keys(keys())
        .issuer(KEYCLOAK_ISS)
        .audience("orders-api")
        .accept_typ("JWT")
        .optional_claim(RegisteredClaim::Nbf)
        .roles_claim(RolesClaim::array("realm_access.roles"))
        .build_verifier()
        .unwrap();
    let claims = verify(&v, &token).unwrap();
    assert_eq!(claims.sub, "f:1d2c3b4a:alice");
    assert_eq!(claims.roles, ["admin", "offline_access"]);
    assert!(claims.has_role("admin"));
    assert_eq!(claims.nbf, claims.iat, "no nbf: valid from iat");
    assert_eq!(claims.jti, "onrtac:6a1f5c1e-3b0e-4c0a-9d27-4b7f1c0e2a11");
    assert_eq!(
        claims.sid.as_deref(),
        Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    );

    // Still strict where it matters.
    let mut other_aud = keycloak_token();
    other_aud["aud"] = json!("account");
    assert!(matches!(
        verify(&v, &sign(&other_aud, Some("JWT"))),
        Err(AuthError::WrongAudience)
    ));
    let mut expired = keycloak_token();
    expired["exp"] = json!(now() - 3600);
    assert!(matches!(
        verify(&v, &sign(&expired, Some("JWT"))),
        Err(AuthError::Expired)
    ));
    let mut no_exp = keycloak_token();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        verify(&v, &sign(&no_exp, Some("JWT"))),
        Err(AuthError::Malformed)
    ));
    let mut bad_roles = keycloak_token();
    bad_roles["realm_access"] = json!({"roles": "admin"});
    assert!(matches!(
        verify(&v, &sign(&bad_roles, Some("JWT"))),
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        verify(&v, &sign(&keycloak_token(), Some("id+jwt"))),
        Err(AuthError::WrongType)
    ));
    assert!(matches!(
        verify(&v, &sign(&keycloak_token(), None)),
        Err(AuthError::WrongType)
    ));
}

const AUTH0_ISS: &str = "https://acme.eu.auth0.com/";

/// Auth0: `typ: at+jwt` (RFC 9068 profile) or `JWT`, no `nbf`, no `jti`, OAuth `scope`,
/// `aud` an array with the userinfo endpoint.
fn auth0_token() -> Value {
    let now = now();
    json!({
        "iss": AUTH0_ISS, "sub": "auth0|64f1c2d3e4b5a6978",
        "aud": ["https://orders.example.com", "https://acme.eu.auth0.com/userinfo"],
        "iat": now, "exp": now + 86400, "azp": "Zx1Yw2Vu3Ts4Rq5Po6Nm7Lk8",
        "scope": "openid profile read:orders admin", "permissions": ["read:orders"]
    })
}

#[test]
fn auth0_tokens_with_scopes_and_no_jti() {
    let v = JwtVerifier::builder()
        .keys(keys())
        .issuer(AUTH0_ISS)
        .audience("https://orders.example.com")
        .accept_typ("JWT")
        .optional_claim(RegisteredClaim::Nbf)
        .optional_claim(RegisteredClaim::Jti)
        .roles_claim(RolesClaim::space_separated("scope"))
        .build_verifier()
        .unwrap();
    for typ in ["at+jwt", "JWT"] {
        let token = sign(&auth0_token(), Some(typ));
        let claims = verify(&v, &token).unwrap_or_else(|e| panic!("{typ}: {e}"));
        assert_eq!(claims.roles, ["openid", "profile", "read:orders", "admin"]);
        assert!(claims.has_roles(&["read:orders", "admin"]));
        // No jti: a digest of the token stands in, the same for the same token only.
        assert_eq!(claims.jti.len(), 22);
        assert_eq!(verify(&v, &token).unwrap().jti, claims.jti);
        let other = sign(
            &auth0_token(),
            Some(if typ == "JWT" { "at+jwt" } else { "JWT" }),
        );
        assert_ne!(verify(&v, &other).unwrap().jti, claims.jti);
    }
    // Without the optional jti, the same token is malformed.
    let strict_jti = JwtVerifier::builder()
        .keys(keys())
        .issuer(AUTH0_ISS)
        .audience("https://orders.example.com")
        .optional_claim(RegisteredClaim::Nbf)
        .roles_claim(RolesClaim::space_separated("scope"))
        .build_verifier()
        .unwrap();
    assert!(matches!(
        verify(&strict_jti, &sign(&auth0_token(), Some("at+jwt"))),
        Err(AuthError::Malformed)
    ));
}

const ENTRA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Microsoft Entra ID v2.0: `typ: JWT`, `nbf` and `iat` present, no `jti` (it has
/// `uti`), app roles in `roles`, delegated scopes in `scp`.
fn entra_token(roles: bool) -> Value {
    let now = now();
    let mut token = json!({
        "aud": "api://orders", "iss": format!("https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"),
        "iat": now, "nbf": now, "exp": now + 3600, "aio": "AXQAi/8TAAAA",
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "azpacr": "0",
        "name": "Alice", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "alice@contoso.com", "rh": "0.AQ.", "scp": "Orders.Read Orders.Write",
        "sub": "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q", "tid": ENTRA_TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0"
    });
    if roles {
        token["roles"] = json!(["Orders.Admin"]);
    }
    token
}

#[test]
fn entra_id_tokens_by_app_roles_or_delegated_scopes() {
    let builder = || {
        JwtVerifier::builder()
            .keys(keys())
            .issuer(format!(
                "https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"
            ))
            .audience("api://orders")
            .accept_typ("JWT")
            .optional_claim(RegisteredClaim::Jti)
    };
    // App roles are a top-level `roles` array, as authcore's own.
    let by_roles = builder().build_verifier().unwrap();
    let claims = verify(&by_roles, &sign(&entra_token(true), Some("JWT"))).unwrap();
    assert_eq!(claims.roles, ["Orders.Admin"]);
    let claims = verify(&by_roles, &sign(&entra_token(false), Some("JWT"))).unwrap();
    assert!(claims.roles.is_empty(), "no roles claim: no roles");
    // Delegated permissions are the space-separated `scp`.
    let by_scope = builder()
        .roles_claim(RolesClaim::space_separated("scp"))
        .build_verifier()
        .unwrap();
    let claims = verify(&by_scope, &sign(&entra_token(false), Some("JWT"))).unwrap();
    assert_eq!(claims.roles, ["Orders.Read", "Orders.Write"]);
    // v1.0 tokens of the same tenant have another issuer.
    let mut v1 = entra_token(true);
    v1["iss"] = json!(format!("https://sts.windows.net/{ENTRA_TENANT}/"));
    assert!(matches!(
        verify(&by_roles, &sign(&v1, Some("JWT"))),
        Err(AuthError::WrongIssuer)
    ));
    let both = builder()
        .accept_issuer(format!("https://sts.windows.net/{ENTRA_TENANT}/"))
        .build_verifier()
        .unwrap();
    assert!(verify(&both, &sign(&v1, Some("JWT"))).is_ok());
}

/// Several audiences, and a token without `typ` when asked for.
#[test]
fn several_audiences_and_untyped_tokens() {
    let mut claims = keycloak_token();
    claims["aud"] = json!("billing");
    let v = JwtVerifier::builder()
        .keys(keys())
        .issuer(KEYCLOAK_ISS)
        .audience("orders-api")
        .accept_audience("billing")
        .accept_typ("JWT")
        .accept_untyped()
        .optional_claim(RegisteredClaim::Nbf)
        .build_verifier()
        .unwrap();
    assert!(verify(&v, &sign(&claims, Some("JWT"))).is_ok());
    assert!(verify(&v, &sign(&claims, None)).is_ok());
    claims["aud"] = json!(["shipping"]);
    assert!(matches!(
        verify(&v, &sign(&claims, None)),
        Err(AuthError::WrongAudience)
    ));
}

/// Another authcore's tokens need no relaxing: the default profile reads them, and the
/// relaxed path gives the same claims.
#[test]
fn another_authcores_tokens_read_the_same_either_way() {
    let signing = SigningKey::from_pem_with(Algorithm::RS256, RSA_PEM).unwrap();
    let (jwt, _) = jwt_with(KeySet::new(signing));
    let token =
        authcore::TokenIssuer::<()>::issue(&jwt, "user-1", &["admin".to_owned()], Some("s-1"), ())
            .unwrap()
            .token;
    let relaxed = JwtVerifier::builder()
        .keys(KeySet::from_jwks(&jwt.jwks().to_json()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .optional_claim(RegisteredClaim::Jti)
        .build_verifier()
        .unwrap();
    let strict: Claims = jwt.verify(&token).unwrap();
    assert_eq!(verify(&relaxed, &token).unwrap(), strict);
}
