//! The HTTP contract (`docs/http-contract.md`) checked over loopback against every
//! demo server. Each test runs the same cases against all of them, so any difference
//! between the frameworks fails. Run `cargo build --workspace` first.

use std::net::ToSocketAddrs as _;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use authcore_contract::{
    Kind, PASSWORD, Request, Response, Server, TcpProxy, TempDir, Tokens, assert_no_5xx, b64,
    email, forge_hs256, free_port, jwt_part, logged, now, random_hex, unb64, url_host_port,
    url_with_host_port,
};
use serde_json::{Value, json};

/// A known HS256 secret, so tests can forge correctly signed tokens.
const SECRET: &str = "contract-suite-secret-0123456789abcdef";
const ISSUER: &str = "authcore-demo";
const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin password 123";
/// 20 KiB: larger than any limit a server should accept for a body or token.
const OVERSIZED: usize = 20 * 1024;

fn key_file(name: &str) -> String {
    format!(
        "{}/../crates/authcore/tests/it/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A demo on its own SQLite file with the known secret and an administrator.
fn start_sqlite(kind: Kind, dir: &TempDir, extra: &[(&str, &str)]) -> Server {
    let db = dir.sqlite_url("db.sqlite");
    let mut env = vec![
        ("AUTH_DATABASE_URL", db.as_str()),
        ("AUTH_ADMIN_EMAIL", ADMIN_EMAIL),
        ("AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    if !extra.iter().any(|(k, _)| *k == "AUTH_JWT_KEY_FILE") {
        env.push(("AUTH_JWT_SECRET", SECRET));
    }
    env.extend_from_slice(extra);
    Server::start(kind, &env, dir.path())
}

fn assert_error(kind: Kind, what: &str, r: &Response, status: u16, error: &str) {
    assert_eq!(r.status, status, "{kind}: {what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{kind}: {what}"
    );
    let body = r.json();
    assert_eq!(body["error"], error, "{kind}: {what}: {body}");
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert!(
        keys.iter()
            .all(|k| *k == "error" || *k == "error_description"),
        "{kind}: {what}: error body has other fields: {body}"
    );
}

/// `401` with `WWW-Authenticate: Bearer` and no error code.
fn assert_no_credentials(kind: Kind, what: &str, r: &Response) {
    assert_eq!(r.status, 401, "{kind}: {what}: {}", r.text());
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer"),
        "{kind}: {what}"
    );
}

/// `401` with `WWW-Authenticate: Bearer error="invalid_token", …` and that error body.
fn assert_invalid_token(kind: Kind, what: &str, r: &Response) {
    assert_eq!(r.status, 401, "{kind}: {what}: {}", r.text());
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{kind}: {what}: WWW-Authenticate {challenge:?}"
    );
    assert_error(kind, what, r, 401, "invalid_token");
}

fn refresh(s: &Server, token: &str) -> Response {
    s.post_json("/token/refresh", &json!({ "refresh_token": token }), None)
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The checks every token response passes: `200`, `no-store`, the body's fields, and
/// the access token's header and claims.
fn check_token_response(kind: Kind, what: &str, r: &Response, user: &Value) -> Tokens {
    assert_eq!(r.status, 200, "{kind}: {what}: {}", r.text());
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "{kind}: {what}"
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{kind}: {what}"
    );
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer", "{kind}: {what}: {body}");
    assert_eq!(body["expires_in"], 900, "{kind}: {what}: {body}");
    let tokens = Tokens::from_response(kind, r);
    // 128 bits of entropy take at least 22 base64 characters.
    assert!(
        tokens.refresh.len() >= 22,
        "{kind}: {what}: short refresh token"
    );
    assert_eq!(tokens.access.split('.').count(), 3, "{kind}: {what}");
    let header = jwt_part(&tokens.access, 0);
    assert_eq!(header["typ"], "at+jwt", "{kind}: {what}: {header}");
    assert_eq!(header["alg"], "HS256", "{kind}: {what}: {header}");
    assert!(header["kid"].is_string(), "{kind}: {what}: {header}");
    let claims = jwt_part(&tokens.access, 1);
    assert_eq!(claims["iss"], ISSUER, "{kind}: {what}: {claims}");
    assert!(
        claims["aud"] == ISSUER || claims["aud"] == json!([ISSUER]),
        "{kind}: {what}: {claims}"
    );
    assert_eq!(claims["sub"], user["id"], "{kind}: {what}: {claims}");
    assert_eq!(claims["roles"], user["roles"], "{kind}: {what}: {claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["nbf"].as_i64().expect("nbf"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!((iat - now()).abs() < 60, "{kind}: {what}: iat {iat}");
    assert!(nbf <= iat + 1, "{kind}: {what}: nbf {nbf} after iat {iat}");
    assert_eq!(exp - iat, 900, "{kind}: {what}: {claims}");
    tokens
}

/// Priority 1: every row of the endpoint and error tables.
#[test]
fn contract_rows() {
    for kind in Kind::ALL {
        let dir = TempDir::new("rows");
        let s = start_sqlite(kind, &dir, &[]);

        let r = s.get("/healthz", None);
        assert_eq!(r.status, 200, "{kind}: healthz");
        assert_eq!(r.json(), json!({ "status": "ok" }), "{kind}: healthz");
        assert_eq!(r.header("content-type"), Some("application/json"));

        // POST /users
        let email = email("rows");
        let creds = json!({ "email": email, "password": PASSWORD });
        let r = s.post_json("/users", &creds, None);
        assert_eq!(r.status, 201, "{kind}: register: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let user = r.json();
        assert!(user["id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(
            user,
            json!({ "id": user["id"], "email": email, "roles": [] }),
            "{kind}: register body"
        );
        let r = s.post_json("/users", &creds, None);
        assert_eq!(r.status, 409, "{kind}: email taken: {}", r.text());
        assert!(r.json()["error"].is_string(), "{kind}: 409 body");
        for (what, body) in [
            (
                "bad email",
                json!({ "email": "not-an-email", "password": PASSWORD }),
            ),
            (
                "short password",
                json!({ "email": authcore_contract::email("short"), "password": "1234567" }),
            ),
            (
                "long password",
                json!({ "email": authcore_contract::email("long"), "password": "x".repeat(1025) }),
            ),
        ] {
            let r = s.post_json("/users", &body, None);
            assert_eq!(r.status, 422, "{kind}: {what}: {}", r.text());
            assert!(r.json()["error"].is_string(), "{kind}: {what}: 422 body");
        }

        // POST /token, JSON and form
        let r = s.post_json("/token", &creds, None);
        let json_login = check_token_response(kind, "JSON login", &r, &user);
        let form = format!(
            "grant_type=password&username={}&password={}",
            form_encode(&email),
            form_encode(PASSWORD)
        );
        let r = s.send(
            &Request::new("POST", "/token").raw_body("application/x-www-form-urlencoded", form),
        );
        let form_login = check_token_response(kind, "form login", &r, &user);
        assert_ne!(
            jwt_part(&json_login.access, 1)["jti"],
            jwt_part(&form_login.access, 1)["jti"],
            "{kind}: jti must be unique"
        );
        assert_ne!(json_login.refresh, form_login.refresh);

        // wrong password and unknown email: the same answer
        let wrong = s.post_json(
            "/token",
            &json!({ "email": email, "password": "wrong password" }),
            None,
        );
        let unknown = s.post_json(
            "/token",
            &json!({ "email": authcore_contract::email("nobody"), "password": PASSWORD }),
            None,
        );
        assert_error(kind, "wrong password", &wrong, 401, "invalid_grant");
        assert_error(kind, "unknown email", &unknown, 401, "invalid_grant");
        assert_eq!(wrong.body, unknown.body, "{kind}: login failures differ");
        // ... in about the same time: an unknown email still costs a password hash. The
        // bound is loose (a missing dummy hash is a factor of ~100) to stay steady on a
        // loaded machine.
        let timed = |body: &Value| {
            let started = std::time::Instant::now();
            let r = s.post_json("/token", body, None);
            assert_eq!(r.status, 401, "{kind}: timed login failure");
            started.elapsed()
        };
        let wrong_body = json!({ "email": email, "password": "wrong password" });
        let unknown_body = json!({ "email": "nobody@example.com", "password": PASSWORD });
        let (mut wrong_times, mut unknown_times) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            wrong_times.push(timed(&wrong_body));
            unknown_times.push(timed(&unknown_body));
        }
        wrong_times.sort();
        unknown_times.sort();
        let (w, u) = (wrong_times[1], unknown_times[1]);
        assert!(
            w < u * 4 && u < w * 4,
            "{kind}: wrong password takes {w:?}, unknown email {u:?}"
        );

        // GET /me
        let r = s.get("/me", Some(&json_login.access));
        assert_eq!(r.status, 200, "{kind}: /me: {}", r.text());
        assert_eq!(r.json(), user, "{kind}: /me body");
        for scheme in ["bearer", "BEARER"] {
            let r = s.send(
                &Request::new("GET", "/me")
                    .header("Authorization", format!("{scheme} {}", json_login.access)),
            );
            assert_eq!(r.status, 200, "{kind}: scheme {scheme}: {}", r.text());
        }

        // no credentials, or credentials somewhere else than the header
        for path in ["/me", "/admin"] {
            assert_no_credentials(kind, path, &s.get(path, None));
        }
        let r = s.get(&format!("/me?access_token={}", json_login.access), None);
        assert_no_credentials(kind, "token in the query string", &r);
        assert_no_credentials(
            kind,
            "logout without a token",
            &s.send(&Request::new("POST", "/logout")),
        );

        // GET /admin
        let r = s.get("/admin", Some(&json_login.access));
        assert_error(kind, "/admin as a user", &r, 403, "insufficient_scope");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(r#"Bearer error="insufficient_scope""#),
            "{kind}: 403 WWW-Authenticate {challenge:?}"
        );
        let admin = s.login(ADMIN_EMAIL, ADMIN_PASSWORD);
        assert_eq!(jwt_part(&admin.access, 1)["roles"], json!(["admin"]));
        let r = s.get("/admin", Some(&admin.access));
        assert_eq!(r.status, 200, "{kind}: /admin as admin: {}", r.text());
        assert_eq!(r.json(), json!({ "ok": true }), "{kind}: /admin body");
        let r = s.get("/me", Some(&admin.access));
        assert_eq!(r.json()["roles"], json!(["admin"]), "{kind}: admin /me");

        // JWKS with only a secret
        let r = s.get("/.well-known/jwks.json", None);
        assert_eq!(r.status, 404, "{kind}: JWKS with a secret: {}", r.text());

        // malformed requests
        let big = json!({ "email": email, "password": "p".repeat(OVERSIZED) }).to_string();
        for (what, path, body) in [
            ("broken JSON", "/token", "{\"email\":".to_owned()),
            ("not JSON", "/users", "email=a".to_owned()),
            (
                "missing field",
                "/users",
                json!({ "email": email }).to_string(),
            ),
            (
                "wrong type",
                "/token",
                json!({ "email": 5, "password": PASSWORD }).to_string(),
            ),
            ("missing refresh_token", "/token/refresh", "{}".to_owned()),
            (
                "a JSON array",
                "/users",
                json!(["array@example.com", PASSWORD]).to_string(),
            ),
            (
                "a JSON array",
                "/token",
                json!([email, PASSWORD]).to_string(),
            ),
            ("a JSON string", "/token/refresh", "\"token\"".to_owned()),
            ("empty body", "/token/refresh", String::new()),
            ("oversized body", "/users", big.clone()),
            ("oversized body", "/token", big.clone()),
        ] {
            let r = s.send(&Request::new("POST", path).raw_body("application/json", body));
            assert_error(
                kind,
                &format!("{what} on {path}"),
                &r,
                400,
                "invalid_request",
            );
        }

        // refresh: a new pair, the old token spent; reuse revokes the family
        let r = refresh(&s, &json_login.refresh);
        let second = check_token_response(kind, "refresh", &r, &user);
        assert_ne!(second.refresh, json_login.refresh);
        assert_eq!(s.get("/me", Some(&second.access)).status, 200);
        let r = refresh(&s, &json_login.refresh);
        assert_error(kind, "spent refresh token", &r, 401, "invalid_grant");
        let r = refresh(&s, &second.refresh);
        assert_error(
            kind,
            "newest token of a reused family",
            &r,
            401,
            "invalid_grant",
        );
        let r = refresh(&s, "not-a-refresh-token");
        assert_error(kind, "unknown refresh token", &r, 401, "invalid_grant");

        // logout: the access token and its refresh family stop at once
        let r = s.post_json("/logout", &json!({}), Some(&form_login.access));
        assert_eq!(r.status, 204, "{kind}: logout: {}", r.text());
        assert!(r.body.is_empty(), "{kind}: 204 with a body");
        let r = s.get("/me", Some(&form_login.access));
        assert_invalid_token(kind, "logged-out token", &r);
        let r = refresh(&s, &form_login.refresh);
        assert_error(kind, "logged-out family", &r, 401, "invalid_grant");
        // the administrator's separate session is untouched
        assert_eq!(s.get("/me", Some(&admin.access)).status, 200, "{kind}");

        assert_eq!(
            s.stop().code(),
            Some(0),
            "{kind}: exit status after SIGTERM"
        );
    }
    assert!(logged() > 0);
    assert_no_5xx();
}

/// The DER inside a PEM file.
fn pem_der(path: &str) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).expect("a PEM file");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .expect("PEM base64")
}

/// Verifies an EdDSA JWS against the JWKS served by `s`.
fn verify_with_jwks(kind: Kind, jwks: &Value, token: &str) {
    use aws_lc_rs::signature;
    let header = jwt_part(token, 0);
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("{kind}: no JWKS key for kid {}", header["kid"]));
    assert!(key.get("d").is_none(), "{kind}: JWKS leaks a private key");
    let field = |name: &str| unb64(key[name].as_str().expect("a key field"));
    let (input, sig) = token.rsplit_once('.').expect("a JWS");
    let (input, sig) = (input.as_bytes(), unb64(sig));
    let verified = match (header["alg"].as_str(), key["kty"].as_str()) {
        (Some("EdDSA"), Some("OKP")) => {
            assert_eq!(key["crv"], "Ed25519", "{kind}: {key}");
            signature::UnparsedPublicKey::new(&signature::ED25519, field("x")).verify(input, &sig)
        }
        (Some("ES256"), Some("EC")) => {
            assert_eq!(key["crv"], "P-256", "{kind}: {key}");
            let point = [vec![4u8], field("x"), field("y")].concat();
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input, &sig)
        }
        (Some("RS256"), Some("RSA")) => signature::RsaPublicKeyComponents {
            n: field("n"),
            e: field("e"),
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, &sig),
        other => panic!("{kind}: unexpected alg and key type {other:?}: {key}"),
    };
    assert!(
        verified.is_ok(),
        "{kind}: token does not verify against the JWKS"
    );
}

/// Priority 1: with a P-256 or RSA key file, the JWKS verifies the ES256 / RS256
/// tokens.
#[test]
fn key_file_p256_and_rsa() {
    for kind in Kind::ALL {
        for (file, alg) in [("p256.pem", "ES256"), ("rsa2048.pem", "RS256")] {
            let dir = TempDir::new("jwks-alg");
            let s = start_sqlite(kind, &dir, &[("AUTH_JWT_KEY_FILE", &key_file(file))]);
            let r = s.get("/.well-known/jwks.json", None);
            assert_eq!(r.status, 200, "{kind}: {file}: JWKS: {}", r.text());
            let (_, tokens) = s.user("jwks-alg");
            let header = jwt_part(&tokens.access, 0);
            assert_eq!(header["alg"], alg, "{kind}: {file}: {header}");
            assert_eq!(header["typ"], "at+jwt", "{kind}: {file}: {header}");
            verify_with_jwks(kind, &r.json(), &tokens.access);
            assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");
            assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
        }
    }
    assert_no_5xx();
}

/// Priority 1 and 2: key-file mode serves a JWKS that verifies the tokens, and refuses
/// tokens forged with the public key or with a key embedded in the header.
#[test]
fn key_file_jwks_and_forgeries() {
    let private = key_file("ed25519.pem");
    let public_pem = std::fs::read(key_file("ed25519.pub.pem")).expect("public key");
    for kind in Kind::ALL {
        let dir = TempDir::new("jwks");
        let s = start_sqlite(kind, &dir, &[("AUTH_JWT_KEY_FILE", &private)]);
        let r = s.get("/.well-known/jwks.json", None);
        assert_eq!(r.status, 200, "{kind}: JWKS: {}", r.text());
        assert!(
            r.header("content-type").is_some_and(|t| t.contains("json")),
            "{kind}: JWKS content type"
        );
        let jwks = r.json();
        let keys = jwks["keys"].as_array().expect("keys");
        assert!(!keys.is_empty(), "{kind}: empty JWKS");
        assert!(keys.iter().all(|k| k["kid"].is_string()), "{kind}: {jwks}");

        let (_, tokens) = s.user("jwks");
        let header = jwt_part(&tokens.access, 0);
        assert_eq!(header["alg"], "EdDSA", "{kind}: {header}");
        assert_eq!(header["typ"], "at+jwt", "{kind}: {header}");
        verify_with_jwks(kind, &jwks, &tokens.access);
        assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");

        let claims = jwt_part(&tokens.access, 1);
        let kid = header["kid"].clone();
        let x = unb64(keys[0]["x"].as_str().expect("x"));
        let mut cases: Vec<(&str, String)> = Vec::new();
        // HMAC keyed with the public key (algorithm confusion), as PEM and as raw bytes
        for (what, key) in [
            ("HMAC keyed with the public PEM", &public_pem[..]),
            ("HMAC keyed with the raw public key", &x[..]),
        ] {
            for alg in ["HS256", "EdDSA"] {
                let h = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
                cases.push((what, forge_hs256(&h, &claims, key)));
            }
        }
        // control: re-signed by us with the real private key, the same header and claims
        // are accepted, so the refusals below are for the reason each case names
        let sign_eddsa = |key: &aws_lc_rs::signature::Ed25519KeyPair, h: &Value| {
            let input = format!("{}.{}", b64(h.to_string()), b64(claims.to_string()));
            let sig = key.sign(input.as_bytes());
            format!("{input}.{}", b64(sig.as_ref()))
        };
        let real = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&pem_der(&private))
            .expect("the demo's Ed25519 key");
        let control = s.get("/me", Some(&sign_eddsa(&real, &header)));
        assert_eq!(control.status, 200, "{kind}: control: {}", control.text());
        // a key of the attacker's, embedded in the header
        let attacker = aws_lc_rs::signature::Ed25519KeyPair::generate().expect("a key pair");
        let attacker_x = {
            use aws_lc_rs::signature::KeyPair as _;
            b64(attacker.public_key().as_ref())
        };
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": attacker_x });
        for h in [
            json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jwk": jwk }),
            json!({ "alg": "EdDSA", "typ": "at+jwt", "jwk": jwk }),
        ] {
            cases.push(("embedded jwk", sign_eddsa(&attacker, &h)));
        }
        for (what, token) in cases {
            assert_invalid_token(kind, what, &s.get("/me", Some(&token)));
        }
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// Tokens that must be refused, built from a genuine one.
fn forgeries(genuine: &str) -> Vec<(String, Vec<u8>)> {
    let parts: Vec<&str> = genuine.split('.').collect();
    let (h64, c64, s64) = (parts[0], parts[1], parts[2]);
    let header = jwt_part(genuine, 0);
    let claims = jwt_part(genuine, 1);
    let key = SECRET.as_bytes();
    let mut out: Vec<(String, String)> = Vec::new();
    let with_header = |f: &dyn Fn(&mut Value)| {
        let mut h = header.clone();
        f(&mut h);
        h
    };
    let with_claims = |f: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        f(&mut c);
        c
    };

    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64(with_header(&|h| h["alg"] = json!(alg)).to_string());
        out.push((format!("alg {alg}, no signature"), format!("{h}.{c64}.")));
        out.push((
            format!("alg {alg}, old signature"),
            format!("{h}.{c64}.{s64}"),
        ));
    }
    out.push(("stripped signature".into(), format!("{h64}.{c64}.")));
    out.push(("two parts".into(), format!("{h64}.{c64}")));
    out.push((
        "five parts (JWE shape)".into(),
        format!("{h64}.{c64}.{s64}.a.b"),
    ));
    let mut altered = s64.as_bytes().to_vec();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    out.push((
        "altered signature".into(),
        format!("{h64}.{c64}.{}", String::from_utf8(altered).expect("ascii")),
    ));
    let admin = b64(with_claims(&|c| c["roles"] = json!(["admin"])).to_string());
    out.push(("tampered roles".into(), format!("{h64}.{admin}.{s64}")));
    let other_sub =
        b64(with_claims(&|c| c["sub"] = json!("00000000-0000-0000-0000-000000000000")).to_string());
    out.push(("tampered sub".into(), format!("{h64}.{other_sub}.{s64}")));
    out.push((
        "header not JSON".into(),
        format!("{}.{c64}.{s64}", b64("{alg")),
    ));
    out.push((
        "claims not base64url".into(),
        format!("{h64}.claims+/not/base64url.{s64}"),
    ));

    // correctly signed with the secret, but wrong in another way
    let signed = |what: &str, h: Value, c: Value| (what.to_owned(), forge_hs256(&h, &c, key));
    out.push(signed(
        "unknown kid",
        with_header(&|h| h["kid"] = json!("unknown-kid")),
        claims.clone(),
    ));
    out.push(signed(
        "unknown crit",
        with_header(&|h| {
            h["crit"] = json!(["urn:example:unknown"]);
            h["urn:example:unknown"] = json!(true);
        }),
        claims.clone(),
    ));
    out.push(signed(
        "typ JWT",
        with_header(&|h| h["typ"] = json!("JWT")),
        claims.clone(),
    ));
    out.push(signed(
        "no typ",
        with_header(&|h| {
            h.as_object_mut().expect("object").remove("typ");
        }),
        claims.clone(),
    ));
    out.push(signed(
        "alg EdDSA with an HMAC",
        with_header(&|h| h["alg"] = json!("EdDSA")),
        claims.clone(),
    ));
    let t = now();
    out.push(signed(
        "expired",
        header.clone(),
        with_claims(&|c| {
            c["iat"] = json!(t - 7200);
            c["nbf"] = json!(t - 7200);
            c["exp"] = json!(t - 3600);
        }),
    ));
    out.push(signed(
        "not yet valid",
        header.clone(),
        with_claims(&|c| {
            c["nbf"] = json!(t + 3600);
            c["exp"] = json!(t + 7200);
        }),
    ));
    out.push(signed(
        "wrong iss",
        header.clone(),
        with_claims(&|c| c["iss"] = json!("evil")),
    ));
    out.push(signed(
        "wrong aud",
        header.clone(),
        with_claims(&|c| c["aud"] = json!("other")),
    ));
    out.push(signed(
        "wrong aud array",
        header.clone(),
        with_claims(&|c| c["aud"] = json!(["other"])),
    ));
    out.push(signed(
        "no exp",
        header.clone(),
        with_claims(&|c| {
            c.as_object_mut().expect("object").remove("exp");
        }),
    ));
    for (field, value) in [
        ("sub", json!(12345)),
        ("exp", json!(format!("{}", t + 600))),
        ("iat", json!("yesterday")),
        ("nbf", json!(null)),
        ("roles", json!("admin")),
        ("roles", json!([1, 2])),
        ("jti", json!(42)),
        ("aud", json!(7)),
        ("iss", json!(["authcore-demo"])),
    ] {
        out.push(signed(
            &format!("{field} of the wrong type ({value})"),
            header.clone(),
            with_claims(&|c| c[field] = value.clone()),
        ));
    }
    out.push(signed(
        "20 KiB token",
        header.clone(),
        with_claims(&|c| c["pad"] = json!("p".repeat(OVERSIZED))),
    ));
    out.into_iter()
        .map(|(what, token)| (what, format!("Bearer {token}").into_bytes()))
        .collect()
}

/// Credentials in the bearer position that are no JWS at all: a malformed token,
/// `401 invalid_token` like any other bad token.
const NOT_A_JWS: [(&str, &[u8]); 4] = [
    ("characters outside token68", b"Bearer %%%.a.b"),
    (
        "characters outside base64url",
        b"Bearer eyJ*garbage*.@@@@.!!!!",
    ),
    ("two tokens", b"Bearer a.b.c d.e.f"),
    (
        "non-ASCII UTF-8",
        "Bearer eyJ\u{e9}.eyJ\u{20ac}.x".as_bytes(),
    ),
];

/// Priority 2: forged, tampered and malformed tokens are all `401 invalid_token`.
#[test]
fn forged_tokens() {
    for kind in Kind::ALL {
        let dir = TempDir::new("forged");
        let s = start_sqlite(kind, &dir, &[]);
        let (_, tokens) = s.user("forged");
        // control: a token re-signed by us with the real secret is accepted, so the
        // refusals below are for the reason each case names
        let resigned = forge_hs256(
            &jwt_part(&tokens.access, 0),
            &jwt_part(&tokens.access, 1),
            SECRET.as_bytes(),
        );
        let control = s.get("/me", Some(&resigned));
        assert_eq!(control.status, 200, "{kind}: control: {}", control.text());

        for (what, authorization) in forgeries(&tokens.access) {
            for path in ["/me", "/admin"] {
                let r = s.send(&Request::new("GET", path).header("Authorization", &authorization));
                assert_invalid_token(kind, &format!("{what} on {path}"), &r);
            }
        }

        for (what, authorization) in NOT_A_JWS {
            for path in ["/me", "/admin"] {
                let r = s.send(&Request::new("GET", path).header("Authorization", authorization));
                assert_invalid_token(kind, &format!("{what} on {path}"), &r);
            }
        }
        // `Bearer` with no credential at all is a malformed request.
        let r = s.send(&Request::new("GET", "/me").header("Authorization", b"Bearer "));
        assert_error(kind, "empty token", &r, 400, "invalid_request");

        // non-UTF-8 bytes in the header value
        let raw: &[u8] = b"Bearer eyJ\xc3\xa9\xff\xfe.eyJ\x80.\xe2\x82";
        let r = s.send(&Request::new("GET", "/me").header("Authorization", raw));
        if kind == Kind::Rocket {
            // Rocket 0.5 drops header values that are not UTF-8 before any handler or
            // fairing sees them, so the request arrives without credentials: 401 with a
            // bare challenge, where the others answer invalid_token. The real behaviour,
            // asserted per framework for this one case only.
            assert_no_credentials(kind, "non-UTF-8 Authorization", &r);
        } else {
            assert_invalid_token(kind, "non-UTF-8 Authorization", &r);
        }
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// Priority 3: revocations and users survive a restart on the same SQLite file.
#[test]
fn restart_keeps_revocations() {
    for kind in Kind::ALL {
        let dir = TempDir::new("restart");
        let s = start_sqlite(kind, &dir, &[]);
        let (email, out) = s.user("restart");
        let kept = s.login(&email, PASSWORD);
        let r = s.send(&Request::new("POST", "/logout").bearer(Some(&out.access)));
        assert_eq!(r.status, 204, "{kind}: logout");
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");

        let s = start_sqlite(kind, &dir, &[]);
        assert_invalid_token(
            kind,
            "logged-out token after a restart",
            &s.get("/me", Some(&out.access)),
        );
        let r = refresh(&s, &out.refresh);
        assert_error(
            kind,
            "logged-out family after a restart",
            &r,
            401,
            "invalid_grant",
        );
        let r = s.get("/me", Some(&kept.access));
        assert_eq!(r.status, 200, "{kind}: other session after a restart");
        let again = s.login(&email, PASSWORD);
        assert_eq!(s.get("/me", Some(&again.access)).status, 200, "{kind}");
        let r = refresh(&s, &kept.refresh);
        assert_eq!(
            r.status,
            200,
            "{kind}: refresh after a restart: {}",
            r.text()
        );
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// A database created for one test on the server of `DATABASE_URL`, dropped on drop.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn create(admin_url: &str) -> ScratchDatabase {
        let name = format!("authcore_c_{}", random_hex(6));
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
        ScratchDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}{query}"),
            name,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Priority 4: two instances (of two different demos) sharing PostgreSQL and Redis see
/// each other's logouts and spent refresh tokens at once.
#[test]
fn shared_postgres_and_redis() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let Some(redis_url) = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: REDIS_URL not set");
        return;
    };
    let db = ScratchDatabase::create(&database_url);
    let dir = TempDir::new("shared");
    let env = [
        ("AUTH_DATABASE_URL", db.url.as_str()),
        ("AUTH_REDIS_URL", redis_url.as_str()),
        ("AUTH_JWT_SECRET", SECRET),
    ];
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        shared_pair(kind, Kind::ALL[(i + 1) % Kind::ALL.len()], &env, dir.path());
    }
    assert_no_5xx();
}

/// Priority 4 without Redis: revocations and refresh tokens kept in PostgreSQL are shared
/// just the same.
#[test]
fn shared_postgres_without_redis() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let db = ScratchDatabase::create(&database_url);
    let dir = TempDir::new("shared-pg");
    let env = [
        ("AUTH_DATABASE_URL", db.url.as_str()),
        ("AUTH_JWT_SECRET", SECRET),
    ];
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        shared_pair(kind, Kind::ALL[(i + 2) % Kind::ALL.len()], &env, dir.path());
    }
    assert_no_5xx();
}

/// One instance of `kind` and one of `other` on the same stores: a spent refresh token,
/// a reused family and a logout are seen by both at once, and a refresh race split over
/// both has one winner.
fn shared_pair(kind: Kind, other: Kind, env: &[(&str, &str)], dir: &std::path::Path) {
    let a = Server::start(kind, env, dir);
    let b = Server::start(other, env, dir);
    let pair = format!("{kind} + {other}");

    let email = email("shared");
    a.register(&email, PASSWORD);
    let first = b.login(&email, PASSWORD);
    assert_eq!(a.get("/me", Some(&first.access)).status, 200, "{pair}");

    // a refresh token spent on one cannot be used on the other
    let r = refresh(&a, &first.refresh);
    assert_eq!(r.status, 200, "{pair}: refresh: {}", r.text());
    let second = Tokens::from_response(kind, &r);
    let r = refresh(&b, &first.refresh);
    assert_error(
        other,
        "refresh token spent on the other instance",
        &r,
        401,
        "invalid_grant",
    );
    let r = refresh(&a, &second.refresh);
    assert_error(
        kind,
        "family revoked on the other instance",
        &r,
        401,
        "invalid_grant",
    );

    // a logout on one is seen by the other at once
    let third = a.login(&email, PASSWORD);
    assert_eq!(b.get("/me", Some(&third.access)).status, 200, "{pair}");
    let r = b.send(&Request::new("POST", "/logout").bearer(Some(&third.access)));
    assert_eq!(r.status, 204, "{pair}: logout");
    assert_invalid_token(
        kind,
        "logged out on the other instance",
        &a.get("/me", Some(&third.access)),
    );
    let r = refresh(&a, &third.refresh);
    assert_error(
        kind,
        "family logged out on the other instance",
        &r,
        401,
        "invalid_grant",
    );

    // the refresh race, split over both instances: exactly one wins
    let fourth = a.login(&email, PASSWORD);
    let statuses = race(&[&a, &b], &fourth.refresh);
    let winners = statuses.iter().filter(|&&st| st == 200).count();
    assert_eq!(winners, 1, "{pair}: {statuses:?}");
    assert!(
        statuses.iter().all(|&st| st == 200 || st == 401),
        "{pair}: {statuses:?}"
    );

    assert_eq!(a.stop().code(), Some(0), "{kind}: exit status");
    assert_eq!(b.stop().code(), Some(0), "{other}: exit status");
}

/// The `process_id` a Redis server at `addr` reports in `INFO server`, if one answers.
fn redis_process_id(addr: std::net::SocketAddr) -> Option<u32> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(2);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        if let Some(rest) = text.split("process_id:").nth(1) {
            if let Some(line) = rest.split("\r\n").next().filter(|_| rest.contains("\r\n")) {
                return line.trim().parse().ok();
            }
        }
    }
}

/// A private `redis-server` on a free port, killed on drop.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    /// Starts one on a free port. The port is free when chosen but may be taken before
    /// the server binds it (the tests run side by side), so the server that answers is
    /// asked for its process id: another process's server is never used by mistake.
    fn start(dir: &TempDir) -> PrivateRedis {
        for _ in 0..5 {
            if let Some(redis) = PrivateRedis::try_start(dir) {
                return redis;
            }
        }
        panic!("redis-server did not start on a free port in five attempts");
    }

    fn try_start(dir: &TempDir) -> Option<PrivateRedis> {
        let port = free_port();
        let mut child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let answered = loop {
            if let Ok(Some(_)) = child.try_wait() {
                break None; // it could not bind the port
            }
            if let Some(pid) = redis_process_id(addr) {
                break Some(pid);
            }
            if std::time::Instant::now() >= deadline {
                break None;
            }
            thread::sleep(std::time::Duration::from_millis(20));
        };
        if answered == Some(child.id()) {
            return Some(PrivateRedis {
                child,
                url: format!("redis://127.0.0.1:{port}"),
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server.
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} redis-server");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Priority 5: with Redis gone, authenticated requests are `503
/// temporarily_unavailable` with `Retry-After`: never accepted, never a `500`.
#[test]
fn redis_going_away() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: redis-server not installed");
        return;
    }
    // the kinds run side by side: most of the time is spent waiting for timeouts
    thread::scope(|scope| {
        for kind in Kind::ALL {
            scope.spawn(move || {
                let dir = TempDir::new("redis-down");
                let mut redis = PrivateRedis::start(&dir);
                let s = start_sqlite(kind, &dir, &[("AUTH_REDIS_URL", &redis.url)]);
                let (email, tokens) = s.user("redis");
                let second = s.login(&email, PASSWORD);
                assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");

                // Redis hangs: the answer is a 503 within the store's timeout, not a hang
                redis.signal("STOP");
                let started = std::time::Instant::now();
                let r = s.send(
                    &Request::new("GET", "/me")
                        .bearer(Some(&tokens.access))
                        .allow_503(),
                );
                let waited = started.elapsed();
                redis.signal("CONT");
                assert_error(
                    kind,
                    "/me with Redis hanging",
                    &r,
                    503,
                    "temporarily_unavailable",
                );
                assert!(r.header("retry-after").is_some(), "{kind}: no Retry-After");
                assert!(
                    waited < std::time::Duration::from_secs(10),
                    "{kind}: waited {waited:?}"
                );
                // ... and recovers once Redis answers again
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                loop {
                    let r = s.send(
                        &Request::new("GET", "/me")
                            .bearer(Some(&tokens.access))
                            .allow_503(),
                    );
                    if r.status == 200 {
                        break;
                    }
                    assert_eq!(
                        r.status,
                        503,
                        "{kind}: /me after Redis came back: {}",
                        r.text()
                    );
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{kind}: no recovery after Redis came back"
                    );
                    thread::sleep(std::time::Duration::from_millis(200));
                }

                // Redis is gone
                redis.kill();

                for (what, request) in store_requests(&email, &tokens, &second) {
                    let r = s.send(&request.allow_503());
                    assert_unavailable(kind, &format!("{what} with Redis down"), &r);
                }
                // a request that needs no store still works
                assert_eq!(s.get("/healthz", None).status, 200, "{kind}: healthz");
                assert_outage_logged(kind, &s.log(), &[&tokens, &second]);
                assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
            });
        }
    });
    assert_no_5xx();
}

/// The server's log reports the outage with its cause (more than the fixed "the store is
/// unavailable"), and carries neither the password, the signing secret nor a token.
fn assert_outage_logged(kind: Kind, log: &str, sessions: &[&Tokens]) {
    let outage = log
        .lines()
        .find(|line| line.contains("store_unavailable"))
        .unwrap_or_else(|| panic!("{kind}: no store_unavailable event in:\n{log}"));
    assert!(
        outage.contains("the store is unavailable: "),
        "{kind}: the outage is logged without its cause: {outage}"
    );
    println!("{kind}: {outage}");
    let mut secrets = vec![PASSWORD, SECRET];
    for tokens in sessions {
        secrets.extend([tokens.access.as_str(), tokens.refresh.as_str()]);
    }
    for secret in secrets {
        assert!(!log.contains(secret), "{kind}: a secret in the log:\n{log}");
    }
}

/// The requests that need a store, each answered `503` while it is down: `/me` and
/// `/admin` with `tokens`, a login of `email`, a refresh of `tokens`, a logout of
/// `logout`.
fn store_requests(email: &str, tokens: &Tokens, logout: &Tokens) -> Vec<(&'static str, Request)> {
    vec![
        (
            "GET /me",
            Request::new("GET", "/me").bearer(Some(&tokens.access)),
        ),
        (
            "GET /admin",
            Request::new("GET", "/admin").bearer(Some(&tokens.access)),
        ),
        (
            "POST /token",
            Request::new("POST", "/token").json(&json!({ "email": email, "password": PASSWORD })),
        ),
        (
            "POST /token/refresh",
            Request::new("POST", "/token/refresh")
                .json(&json!({ "refresh_token": tokens.refresh })),
        ),
        (
            "POST /logout",
            Request::new("POST", "/logout").bearer(Some(&logout.access)),
        ),
    ]
}

/// `503 temporarily_unavailable` with a whole number of seconds in `Retry-After`.
fn assert_unavailable(kind: Kind, what: &str, r: &Response) {
    assert_error(kind, what, r, 503, "temporarily_unavailable");
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u32>().is_ok()),
        "{kind}: {what}: no Retry-After"
    );
}

/// Sixteen threads, spread over `servers`, refresh `token` at once; their statuses.
fn race(servers: &[&Server], token: &str) -> Vec<u16> {
    const RACERS: usize = 16;
    let barrier = Barrier::new(RACERS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let server = servers[i % servers.len()];
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    refresh(server, token).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer"))
            .collect()
    })
}

/// Priority 6: sixteen concurrent refreshes of one token: exactly one wins.
#[test]
fn concurrent_refresh_race() {
    for kind in Kind::ALL {
        let dir = TempDir::new("race");
        let s = start_sqlite(kind, &dir, &[]);
        let (_, tokens) = s.user("race");
        let statuses = race(&[&s], &tokens.refresh);
        let winners = statuses.iter().filter(|&&st| st == 200).count();
        assert_eq!(winners, 1, "{kind}: {statuses:?}");
        assert!(
            statuses.iter().all(|&st| st == 200 || st == 401),
            "{kind}: {statuses:?}"
        );
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// Requests the contract does not spell out: every demo must answer them alike (status,
/// challenge, `error`), and never with a `5xx`.
#[test]
fn frameworks_agree_on_edge_cases() {
    let mut answers: Vec<(Kind, Vec<String>)> = Vec::new();
    for kind in Kind::ALL {
        let dir = TempDir::new("edge");
        let s = start_sqlite(kind, &dir, &[]);
        let (email, tokens) = s.user("edge");
        let bearer = format!("Bearer {}", tokens.access);
        let form = |body: String| {
            Request::new("POST", "/token").raw_body("application/x-www-form-urlencoded", body)
        };
        let cases: Vec<(&str, Request)> = vec![
            (
                "form grant_type=client_credentials",
                form(format!(
                    "grant_type=client_credentials&username={email}&password=x"
                )),
            ),
            (
                "form without password",
                form(format!("grant_type=password&username={email}")),
            ),
            (
                "form without grant_type",
                form(format!("username={email}&password=x")),
            ),
            (
                "JSON as text/plain",
                Request::new("POST", "/token").raw_body(
                    "text/plain",
                    json!({ "email": email, "password": "x" }).to_string(),
                ),
            ),
            (
                "JSON with a charset",
                Request::new("POST", "/token").raw_body(
                    "application/json; charset=utf-8",
                    json!({ "email": email, "password": "wrong password" }).to_string(),
                ),
            ),
            (
                "JSON with an extra field",
                Request::new("POST", "/token")
                    .json(&json!({ "email": email, "password": "wrong password", "extra": 1 })),
            ),
            (
                "JSON array",
                Request::new("POST", "/token").json(&json!([1, 2])),
            ),
            (
                "no Content-Type",
                Request {
                    body: b"{}".to_vec(),
                    ..Request::new("POST", "/token")
                },
            ),
            (
                "Basic scheme",
                Request::new("GET", "/me").header("Authorization", "Basic dXNlcjpwYXNz"),
            ),
            (
                "Bearer without a space",
                Request::new("GET", "/me")
                    .header("Authorization", format!("Bearer{}", tokens.access)),
            ),
            (
                "two spaces after Bearer",
                Request::new("GET", "/me")
                    .header("Authorization", format!("Bearer  {}", tokens.access)),
            ),
            (
                "two Authorization headers",
                Request::new("GET", "/me")
                    .header("Authorization", &bearer)
                    .header("Authorization", &bearer),
            ),
            (
                "lowercase header name",
                Request::new("GET", "/me").header("authorization", &bearer),
            ),
            (
                "logout with a body",
                Request::new("POST", "/logout")
                    .json(&json!({ "everything": true }))
                    .bearer(Some(&tokens.access)),
            ),
        ];
        let mut seen = Vec::new();
        for (what, request) in cases {
            let r = s.send(&request);
            let error = serde_json::from_slice::<Value>(&r.body)
                .ok()
                .map(|b| b["error"].clone());
            seen.push(format!(
                "{what}: {} {:?} {:?}",
                r.status,
                r.header("www-authenticate"),
                error
            ));
        }
        // Routing misses are outside the contract and the frameworks differ there (axum
        // answers 405 to a known path with another method where actix-web and Rocket
        // answer 404; Rocket's 404 is its own default page, as auth-rocket leaves an
        // application's 404s alone): only a 404 or 405 is required.
        for request in [
            Request::new("GET", "/nope"),
            Request::new("GET", "/token"),
            Request::new("POST", "/me").bearer(Some(&tokens.access)),
            Request::new("DELETE", "/users"),
        ] {
            let r = s.send(&request);
            assert!(
                r.status == 404 || r.status == 405,
                "{kind}: {} {}: {}",
                request.method,
                request.path,
                r.status
            );
        }
        answers.push((kind, seen));
        assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
    }
    let (first, expected) = &answers[0];
    println!("{first}:\n{}", expected.join("\n"));
    let mut differences = Vec::new();
    for (kind, seen) in &answers[1..] {
        for (a, b) in expected.iter().zip(seen) {
            if a != b {
                differences.push(format!("{first}: {a}\n{kind}: {b}"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "the demos differ:\n{}",
        differences.join("\n")
    );
    assert_no_5xx();
}

/// How long a request may take to answer `503` when its store is gone. The stores of
/// auth-sqlx wait up to 5 s for a pool connection (`acquire_timeout`) and bound every
/// call by 5 s (`query_timeout`, both `DEFAULT_TIMEOUT` in `crates/auth-sqlx`); three
/// times that leaves room for a loaded two-core machine, and is the harness's own
/// request timeout, so a hang fails as a read timeout.
const STORE_DOWN_BOUND: Duration = Duration::from_secs(15);

/// Priority 5 for PostgreSQL: with the database gone, every request that needs it is
/// `503 temporarily_unavailable` with `Retry-After`, within a bounded time, never a `500`
/// nor a success; once the database is back the same server recovers. The shared server
/// cannot be stopped (other tests use it at the same time), so each demo reaches its own
/// scratch database through a [`TcpProxy`] that the test stops and restarts on the same
/// port.
#[test]
fn postgres_going_away() {
    let Some(database_url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let upstream = url_host_port(&database_url, 5432)
        .to_socket_addrs()
        .expect("resolve DATABASE_URL's host")
        .next()
        .expect("an address for DATABASE_URL's host");
    // the kinds run side by side: most of the time is spent waiting for timeouts
    thread::scope(|scope| {
        for kind in Kind::ALL {
            let database_url = database_url.as_str();
            scope.spawn(move || postgres_down_and_back(kind, database_url, upstream));
        }
    });
    assert_no_5xx();
}

/// One demo on a scratch database behind a proxy: up, down (six requests, side by side,
/// each timed), and up again.
fn postgres_down_and_back(kind: Kind, database_url: &str, upstream: std::net::SocketAddr) {
    // created and dropped through the real server, never the proxy
    let db = ScratchDatabase::create(database_url);
    let mut proxy = TcpProxy::start(upstream);
    let via_proxy = url_with_host_port(&db.url, &proxy.addr().to_string());
    let dir = TempDir::new("pg-down");
    let s = Server::start(
        kind,
        &[
            ("AUTH_DATABASE_URL", via_proxy.as_str()),
            ("AUTH_JWT_SECRET", SECRET),
        ],
        dir.path(),
    );
    let (email, tokens) = s.user("pg-down");
    let second = s.login(&email, PASSWORD);
    assert_eq!(s.get("/me", Some(&tokens.access)).status, 200, "{kind}");

    // PostgreSQL is gone: its connections cut, new ones refused
    proxy.stop();
    let mut requests = store_requests(&email, &tokens, &second);
    requests.push((
        "POST /users",
        Request::new("POST", "/users")
            .json(&json!({ "email": authcore_contract::email("pg-down"), "password": PASSWORD })),
    ));
    // side by side too, each timed on its own
    let answers: Vec<(&str, Response, Duration)> = thread::scope(|scope| {
        let handles: Vec<_> = requests
            .into_iter()
            .map(|(what, request)| {
                let s = &s;
                scope.spawn(move || {
                    let started = Instant::now();
                    let r = s.send(&request.allow_503());
                    (what, r, started.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a request thread"))
            .collect()
    });
    let mut timings = Vec::new();
    for (what, r, waited) in &answers {
        let what = format!("{what} with PostgreSQL down");
        assert_unavailable(kind, &what, r);
        assert!(
            *waited < STORE_DOWN_BOUND,
            "{kind}: {what}: answered after {waited:?}"
        );
        timings.push(format!("{what}: {waited:.1?}"));
    }
    println!("{kind}: {}", timings.join(", "));
    // a request that needs no store still works
    assert_eq!(s.get("/healthz", None).status, 200, "{kind}: healthz");

    // PostgreSQL is back on the same address: the same server recovers, no restart
    proxy.restart();
    let started = Instant::now();
    loop {
        let r = s.send(
            &Request::new("GET", "/me")
                .bearer(Some(&tokens.access))
                .allow_503(),
        );
        if r.status == 200 {
            break;
        }
        assert_error(
            kind,
            "/me after PostgreSQL came back",
            &r,
            503,
            "temporarily_unavailable",
        );
        assert!(
            started.elapsed() < STORE_DOWN_BOUND,
            "{kind}: no recovery {:?} after PostgreSQL came back",
            started.elapsed()
        );
        thread::sleep(Duration::from_millis(200));
    }
    println!(
        "{kind}: /me 200 again {:.1?} after PostgreSQL came back",
        started.elapsed()
    );
    let again = s.login(&email, PASSWORD);
    assert_eq!(s.get("/me", Some(&again.access)).status, 200, "{kind}");
    // the outage spent nothing: the refresh token refused with 503 still works
    let r = refresh(&s, &tokens.refresh);
    assert_eq!(
        r.status,
        200,
        "{kind}: refresh after recovery: {}",
        r.text()
    );
    assert_eq!(s.get("/me", Some(&second.access)).status, 200, "{kind}");
    assert_outage_logged(kind, &s.log(), &[&tokens, &second, &again]);
    assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
}

/// An expired refresh token is `401 invalid_grant`, and is not taken for a reused one in
/// a way that breaks the user's next session.
#[test]
fn expired_refresh_token() {
    // the kinds run side by side: most of the time is spent sleeping
    thread::scope(|scope| {
        for kind in Kind::ALL {
            scope.spawn(move || {
                let dir = TempDir::new("refresh-ttl");
                let s = start_sqlite(kind, &dir, &[("AUTH_REFRESH_TTL", "1")]);
                let (email, tokens) = s.user("refresh-ttl");
                // The store keeps expiry and compares it with the time in whole Unix
                // seconds, rounded down, and a token lives while `expires_at > now`: two
                // seconds (and a margin) after the login it has expired, whatever the
                // fraction of the second it was issued in.
                thread::sleep(Duration::from_millis(2500));
                let r = refresh(&s, &tokens.refresh);
                assert_error(kind, "expired refresh token", &r, 401, "invalid_grant");
                let r = refresh(&s, &tokens.refresh);
                assert_error(
                    kind,
                    "expired refresh token again",
                    &r,
                    401,
                    "invalid_grant",
                );

                // A fresh login still works on the same server...
                let fresh = s.login(&email, PASSWORD);
                assert_eq!(s.get("/me", Some(&fresh.access)).status, 200, "{kind}");
                assert_eq!(s.stop().code(), Some(0), "{kind}: exit status");
                // ... and so does a fresh session's refresh token. That session is opened
                // on the same database (where any revocation the expired token caused is
                // kept) by the demo restarted with the default refresh lifetime: with one
                // second in whole seconds rounded down, a token issued at S.95 expires at
                // S+1, so spending one issued by `s` could fail for lack of time, not for
                // the reason under test.
                let other = start_sqlite(kind, &dir, &[]);
                let next = other.login(&email, PASSWORD);
                let r = refresh(&other, &next.refresh);
                assert_eq!(
                    r.status,
                    200,
                    "{kind}: refresh of a fresh session: {}",
                    r.text()
                );
                let pair = Tokens::from_response(kind, &r);
                assert_eq!(other.get("/me", Some(&pair.access)).status, 200, "{kind}");
                assert_eq!(other.stop().code(), Some(0), "{kind}: exit status");
            });
        }
    });
    assert_no_5xx();
}

/// An issuer and audience of one's own.
const OTHER_ISSUER: &str = "https://issuer.test";
const OTHER_AUDIENCE: &str = "api.test";

/// `AUTH_ACCESS_TTL`, `AUTH_ISSUER` and `AUTH_AUDIENCE` are put in the tokens, and a
/// token of another issuer or audience is refused even when signed with the same secret.
#[test]
fn issuer_audience_and_ttl_overrides() {
    for kind in Kind::ALL {
        // one database for both configurations, so that each knows the other's user: a
        // refusal is then for the issuer or audience, not for an unknown `sub`; one demo
        // at a time on it, as the demo allows
        let dir = TempDir::new("overrides");
        let overrides = [
            ("AUTH_ACCESS_TTL", "60"),
            ("AUTH_ISSUER", OTHER_ISSUER),
            ("AUTH_AUDIENCE", OTHER_AUDIENCE),
        ];
        let ours = start_sqlite(kind, &dir, &overrides);
        let email = email("overrides");
        ours.register(&email, PASSWORD);
        let creds = json!({ "email": email, "password": PASSWORD });

        let r = ours.post_json("/token", &creds, None);
        assert_eq!(r.status, 200, "{kind}: login: {}", r.text());
        assert_eq!(r.json()["expires_in"], 60, "{kind}: {}", r.text());
        let token = Tokens::from_response(kind, &r).access;
        let claims = jwt_part(&token, 1);
        assert_eq!(claims["iss"], OTHER_ISSUER, "{kind}: {claims}");
        assert!(
            claims["aud"] == OTHER_AUDIENCE || claims["aud"] == json!([OTHER_AUDIENCE]),
            "{kind}: {claims}"
        );
        let (iat, exp) = (
            claims["iat"].as_i64().expect("iat"),
            claims["exp"].as_i64().expect("exp"),
        );
        assert_eq!(exp - iat, 60, "{kind}: {claims}");
        assert_eq!(ours.get("/me", Some(&token)).status, 200, "{kind}");

        // forged with the shared secret: only the right issuer and audience together pass
        let header = jwt_part(&token, 0);
        let forged = |iss: &str, aud: &str| {
            let mut c = claims.clone();
            c["iss"] = json!(iss);
            c["aud"] = json!(aud);
            forge_hs256(&header, &c, SECRET.as_bytes())
        };
        let control = ours.get("/me", Some(&forged(OTHER_ISSUER, OTHER_AUDIENCE)));
        assert_eq!(control.status, 200, "{kind}: control: {}", control.text());
        for (what, iss, aud) in [
            ("right iss, wrong aud", OTHER_ISSUER, ISSUER),
            ("wrong iss, right aud", ISSUER, OTHER_AUDIENCE),
        ] {
            assert_invalid_token(kind, what, &ours.get("/me", Some(&forged(iss, aud))));
        }
        assert_eq!(ours.stop().code(), Some(0), "{kind}: exit status");

        // the defaults accept their own token and refuse the overridden one...
        let default = start_sqlite(kind, &dir, &[]);
        let r = default.post_json("/token", &creds, None);
        assert_eq!(r.json()["expires_in"], 900, "{kind}: {}", r.text());
        let default_token = Tokens::from_response(kind, &r).access;
        assert_eq!(jwt_part(&default_token, 1)["iss"], ISSUER, "{kind}");
        assert_eq!(
            default.get("/me", Some(&default_token)).status,
            200,
            "{kind}"
        );
        assert_invalid_token(
            kind,
            "overridden issuer and audience",
            &default.get("/me", Some(&token)),
        );
        assert_eq!(default.stop().code(), Some(0), "{kind}: exit status");

        // ... and the overrides refuse the default one
        let ours = start_sqlite(kind, &dir, &overrides);
        assert_invalid_token(
            kind,
            "default issuer and audience",
            &ours.get("/me", Some(&default_token)),
        );
        assert_eq!(ours.get("/me", Some(&token)).status, 200, "{kind}");
        assert_eq!(ours.stop().code(), Some(0), "{kind}: exit status");
    }
    assert_no_5xx();
}

/// How long a demo may take to give up on a bad configuration. A refused start on a
/// local SQLite file takes well under a second; the bound leaves room for a loaded
/// machine.
const BAD_START_BOUND: Duration = Duration::from_secs(10);

/// A configuration that must stop start-up: what it is, its variables, the names the
/// message must contain, and the values that must never be shown.
type BadConfig<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    &'a [&'a str],
    &'a [&'a str],
);

/// Every variable of the contract's table that can be bad stops start-up: a non-zero
/// exit, soon, with a message naming the variable and never showing a secret value
/// (the secrets below are distinctive, so any echo is found).
#[test]
fn bad_configuration_stops_start() {
    let key = key_file("ed25519.pem");
    let cases: [BadConfig<'_>; 11] = [
        (
            "bad address",
            vec![("AUTH_ADDR", "nope")],
            &["AUTH_ADDR"],
            &[],
        ),
        (
            "MySQL URL",
            vec![("AUTH_DATABASE_URL", "mysql://authcore:db-password-XYZ@x/db")],
            &["AUTH_DATABASE_URL"],
            &["db-password-XYZ"],
        ),
        (
            "HTTP Redis URL",
            vec![("AUTH_REDIS_URL", "http://:redis-password-XYZ@x")],
            &["AUTH_REDIS_URL"],
            &["redis-password-XYZ"],
        ),
        (
            "short secret",
            vec![("AUTH_JWT_SECRET", "shortsecret-XYZ")],
            &["AUTH_JWT_SECRET"],
            &["shortsecret-XYZ"],
        ),
        (
            "missing key file",
            vec![("AUTH_JWT_KEY_FILE", "/nonexistent")],
            &["AUTH_JWT_KEY_FILE"],
            &[],
        ),
        (
            "secret and key file",
            vec![
                ("AUTH_JWT_SECRET", "both-set-secret-XYZ-0123456789abcdef"),
                ("AUTH_JWT_KEY_FILE", &key),
            ],
            &["AUTH_JWT_SECRET", "AUTH_JWT_KEY_FILE"],
            &["both-set-secret-XYZ"],
        ),
        (
            "zero access TTL",
            vec![("AUTH_ACCESS_TTL", "0")],
            &["AUTH_ACCESS_TTL"],
            &[],
        ),
        (
            "negative access TTL",
            vec![("AUTH_ACCESS_TTL", "-5")],
            &["AUTH_ACCESS_TTL"],
            &[],
        ),
        (
            "non-numeric access TTL",
            vec![("AUTH_ACCESS_TTL", "abc")],
            &["AUTH_ACCESS_TTL"],
            &[],
        ),
        (
            "non-numeric refresh TTL",
            vec![("AUTH_REFRESH_TTL", "abc")],
            &["AUTH_REFRESH_TTL"],
            &[],
        ),
        (
            "admin e-mail without a valid one",
            vec![
                ("AUTH_ADMIN_EMAIL", "not-an-email"),
                ("AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ],
            &["AUTH_ADMIN_EMAIL"],
            &[ADMIN_PASSWORD],
        ),
    ];
    // the kinds run side by side: each case is a short-lived process
    thread::scope(|scope| {
        for kind in Kind::ALL {
            let cases = &cases;
            scope.spawn(move || {
                let dir = TempDir::new("badenv");
                let db = dir.sqlite_url("db.sqlite");
                let mut slowest = Duration::ZERO;
                for (what, vars, names, secrets) in cases {
                    // a working configuration, then the case's variables over it
                    let mut env = vec![
                        ("AUTH_ADDR", "127.0.0.1:0"),
                        ("AUTH_DATABASE_URL", db.as_str()),
                    ];
                    let keyed = vars
                        .iter()
                        .any(|(k, _)| *k == "AUTH_JWT_SECRET" || *k == "AUTH_JWT_KEY_FILE");
                    if !keyed {
                        env.push(("AUTH_JWT_SECRET", SECRET));
                    }
                    env.extend(vars.iter().copied());
                    let exit = kind.run_to_exit(&env, dir.path(), BAD_START_BOUND);
                    let output = format!("{}{}", exit.stdout, exit.stderr);
                    let status = exit.status.unwrap_or_else(|| {
                        panic!("{kind}: {what}: still running after {BAD_START_BOUND:?}: {output}")
                    });
                    assert!(
                        status.code().is_some_and(|c| c != 0),
                        "{kind}: {what}: exit status {status}: {output}"
                    );
                    assert!(
                        !exit.stdout.contains("listening on"),
                        "{kind}: {what}: it listened: {output}"
                    );
                    for name in *names {
                        assert!(
                            exit.stderr.contains(name),
                            "{kind}: {what}: stderr does not name {name}: {}",
                            exit.stderr
                        );
                    }
                    for secret in *secrets {
                        assert!(
                            !output.contains(secret),
                            "{kind}: {what}: the secret value is shown"
                        );
                    }
                    slowest = slowest.max(exit.elapsed);
                }
                println!("{kind}: slowest refused start {slowest:.1?}");
            });
        }
    });

    // the harness fails loudly, rather than passing, when a server cannot start
    let dir = TempDir::new("badenv");
    let result = std::panic::catch_unwind(|| {
        Server::start(Kind::Axum, &[("AUTH_JWT_SECRET", "short")], dir.path())
    });
    assert!(result.is_err(), "a server with a bad secret must not start");
    assert_no_5xx();
}

/// The README's curl walkthrough: the `sh` block that starts by registering at
/// `localhost:8080/users`.
fn readme_walkthrough_block() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("read README.md");
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block))
        .find(|block| {
            block
                .trim_start()
                .starts_with("curl -s localhost:8080/users")
        })
        .expect("README.md has a ```sh block starting with the curl that registers a user")
        .to_owned()
}

/// The status each `curl` of a walkthrough must answer, in order: the code of a
/// trailing `# NNN` comment, or `None` (any 2xx) for a command without one.
fn walkthrough_statuses(script: &str) -> Vec<Option<u16>> {
    let mut commands = Vec::new();
    let mut command = String::new();
    for line in script.lines() {
        command.push_str(line);
        command.push('\n');
        if !line.trim_end().ends_with('\\') {
            commands.push(std::mem::take(&mut command));
        }
    }
    let mut statuses = Vec::new();
    for command in commands {
        let annotated = command.rfind("# ").and_then(|at| {
            let code = command[at + 2..].get(..3)?;
            code.parse::<u16>().ok()
        });
        let curls = command.matches("curl ").count();
        assert!(
            curls <= 1 || annotated.is_none(),
            "one status comment for {curls} curls: {command}"
        );
        statuses.extend(std::iter::repeat_n(annotated, curls));
    }
    statuses
}

#[test]
fn walkthrough_statuses_are_read_from_the_comments() {
    let script = "curl -s x/users -d '{}'\n\
                  A=$(curl -s x/token \\\n  -d '{}')\n\
                  curl -s x/me -H \"a: $A\"   # 200 {id}\n\
                  curl -s x/t \\\n  -d \"{}\"     # 401 revoked\n";
    assert_eq!(
        walkthrough_statuses(script),
        [None, None, Some(200), Some(401)]
    );
}

/// README.md's curl walkthrough works exactly as written: run by bash with the real curl
/// against each demo in its default configuration (embedded SQLite created in a fresh
/// directory, random secret), only the address changed from `localhost:8080` to the
/// server's ephemeral port. Every curl answers the status its comment gives (2xx where it
/// gives none), and the output shows the registered user and the refreshed pair.
#[test]
fn readme_walkthrough() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "skipped: readme_walkthrough runs the README's commands with curl, which is not installed"
        );
        return;
    }
    let script = readme_walkthrough_block();
    let expected = walkthrough_statuses(&script);
    assert!(
        expected.len() >= 7,
        "the walkthrough has its curls: {expected:?} {script}"
    );
    for kind in Kind::ALL {
        let dir = TempDir::new("readme");
        let server = Server::start(kind, &[], dir.path());
        let statuses = dir.path().join("statuses");
        // each curl also writes its status, to standard error, which goes to `statuses`;
        // a bound on every transfer, so a hung server fails the test instead of hanging it
        let prelude = format!(
            "curl() {{ command curl --max-time 20 -w '%{{stderr}}%{{http_code}}\\n' \"$@\" 2>>'{}'; }}\n",
            statuses.display()
        );
        let body = script.replace("localhost:8080", &server.addr.to_string());
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{prelude}{body}"))
            .current_dir(dir.path())
            .output()
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{kind}: the walkthrough failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let got: Vec<u16> = std::fs::read_to_string(&statuses)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().parse().expect("a status code"))
            .collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "{kind}: one status per curl: {got:?}; output: {stdout}"
        );
        for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
            match want {
                Some(want) => assert_eq!(
                    got,
                    want,
                    "{kind}: curl #{} of the walkthrough: {stdout}",
                    i + 1
                ),
                None => assert!(
                    (200..300).contains(got),
                    "{kind}: curl #{} of the walkthrough answered {got}: {stdout}",
                    i + 1
                ),
            }
        }
        for shown in [
            "\"email\":\"ada@example.com\"",
            "insufficient_scope",
            "refresh_token",
        ] {
            assert!(
                stdout.contains(shown),
                "{kind}: the walkthrough shows no {shown}: {stdout}"
            );
        }
        server.stop();
    }
}

/// One demo per SQLite file: without Redis a demo reads revocations from its in-memory
/// mirror, so a second instance on the same file, whose logouts the first would never
/// see, must not start. It exits with a message naming `AUTH_DATABASE_URL` (and not its
/// value), the first keeps serving, and once the first has stopped the second starts.
#[test]
fn one_instance_per_sqlite_file() {
    for kind in Kind::ALL {
        let dir = TempDir::new("exclusive");
        let db = dir.sqlite_url("db.sqlite");
        let env = [
            ("AUTH_DATABASE_URL", db.as_str()),
            ("AUTH_JWT_SECRET", SECRET),
        ];
        let first = Server::start(kind, &env, dir.path());
        for other in Kind::ALL {
            let exit = other.run_to_exit(
                &[("AUTH_ADDR", "127.0.0.1:0"), env[0], env[1]],
                dir.path(),
                BAD_START_BOUND,
            );
            let status = exit
                .status
                .unwrap_or_else(|| panic!("{other} beside {kind}: still running: {}", exit.stdout));
            assert!(
                status.code().is_some_and(|c| c != 0) && !exit.stdout.contains("listening on"),
                "{other} started beside {kind} on its SQLite file: {status} {}",
                exit.stdout
            );
            assert!(
                exit.stderr.contains("AUTH_DATABASE_URL") && exit.stderr.contains("in use"),
                "{other} beside {kind}: {}",
                exit.stderr
            );
            assert!(
                !exit.stderr.contains("db.sqlite"),
                "{other}: the value is shown"
            );
        }
        assert_eq!(first.get("/healthz", None).status, 200, "{kind}");
        first.stop();
        let second = Server::start(kind, &env, dir.path());
        assert_eq!(second.get("/healthz", None).status, 200, "{kind}");
        second.stop();
    }
    assert_no_5xx();
}
