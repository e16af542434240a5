//! The resource server: a process with no secret and no user table verifies an auth
//! demo's tokens through that demo's JWKS, honours its logouts through their shared
//! Redis, picks up a rotated key with one fetch, and refuses forgeries.

use super::*;

/// How many times the resource server has fetched the JWKS, read from its log.
fn fetches(rs: &Server) -> usize {
    rs.log().matches("jwks_fetched").count()
}

/// `header.claims` signed with `key` (EdDSA).
fn sign_eddsa(
    key: &aws_lc_rs::signature::Ed25519KeyPair,
    header: &Value,
    claims: &Value,
) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    format!("{input}.{}", b64(key.sign(input.as_bytes()).as_ref()))
}

/// The resource-server part of the contract, against an axum auth demo with a key file.
#[test]
fn resource_server_verifies_through_jwks() {
    let redis = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty());
    if redis.is_none() {
        println!("REDIS_URL not set: the logout part of this test is skipped");
    }
    let dir = TempDir::new("resource");
    let first_key = key_file("ed25519.pem");
    let mut env = vec![("AUTH_JWT_KEY_FILE", first_key.as_str())];
    if let Some(url) = &redis {
        env.push(("AUTH_REDIS_URL", url));
    }
    let auth = start_sqlite(Kind::Axum, &dir, &env);
    let auth_addr = auth.addr.to_string();
    let jwks_url = format!("http://{auth_addr}/.well-known/jwks.json");
    let mut rs_env = vec![
        ("AUTH_JWKS_URL", jwks_url.as_str()),
        ("AUTH_JWKS_COOLDOWN", "1"),
    ];
    if let Some(url) = &redis {
        rs_env.push(("AUTH_REDIS_URL", url));
    }
    let rs = Server::start(Kind::ResourceServer, &rs_env, dir.path());
    let kind = Kind::ResourceServer;

    let r = rs.get("/healthz", None);
    assert_eq!(r.status, 200, "healthz");
    assert_eq!(r.json(), json!({ "status": "ok" }));
    assert_no_credentials(kind, "/whoami without a token", &rs.get("/whoami", None));
    assert_eq!(fetches(&rs), 1, "one fetch at start-up:\n{}", rs.log());

    // a token of the auth server works here, with its subject and roles
    let (_, tokens) = auth.user("resource");
    let me = auth.get("/me", Some(&tokens.access)).json();
    let r = rs.get("/whoami", Some(&tokens.access));
    assert_eq!(r.status, 200, "whoami: {}", r.text());
    assert_eq!(r.json(), json!({ "sub": me["id"], "roles": [] }));
    assert_error(
        kind,
        "/admin as a user",
        &rs.get("/admin", Some(&tokens.access)),
        403,
        "insufficient_scope",
    );
    let admin = auth.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    let r = rs.get("/admin", Some(&admin.access));
    assert_eq!(r.status, 200, "admin: {}", r.text());
    assert_eq!(r.json(), json!({ "ok": true }));
    assert_eq!(fetches(&rs), 1, "known keys need no fetch");

    // forgeries: the public key as an HMAC secret, alg none, a key of the attacker's
    // under an unknown kid, and a genuine signature for another issuer
    let header = jwt_part(&tokens.access, 0);
    let claims = jwt_part(&tokens.access, 1);
    let public_pem = std::fs::read(key_file("ed25519.pub.pem")).expect("public key");
    let hs256 = json!({ "alg": "HS256", "typ": "at+jwt", "kid": header["kid"] });
    let none = json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] });
    let attacker = aws_lc_rs::signature::Ed25519KeyPair::generate().expect("a key pair");
    let unknown = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "unknown-kid" });
    let real = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&pem_der(&first_key))
        .expect("the demo's Ed25519 key");
    let mut foreign_claims = claims.clone();
    foreign_claims["iss"] = json!("https://issuer.invalid");
    let foreign_header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "foreign-kid" });
    let control = sign_eddsa(&real, &header, &claims);
    assert_eq!(rs.get("/whoami", Some(&control)).status, 200, "control");
    let before = fetches(&rs);
    let foreign = sign_eddsa(&real, &foreign_header, &foreign_claims);
    assert_invalid_token(kind, "foreign iss", &rs.get("/whoami", Some(&foreign)));
    assert_eq!(fetches(&rs), before, "a foreign iss must not cause a fetch");
    let cases = [
        (
            "HS256 keyed with the public key",
            forge_hs256(&hs256, &claims, &public_pem),
        ),
        (
            "alg none",
            format!("{}.{}.", b64(none.to_string()), b64(claims.to_string())),
        ),
        ("unknown kid", sign_eddsa(&attacker, &unknown, &claims)),
    ];
    for (what, token) in &cases {
        assert_invalid_token(kind, what, &rs.get("/whoami", Some(token)));
    }

    // a logout on the auth server is honoured here through the shared Redis
    if redis.is_some() {
        let (_, gone) = auth.user("resource-logout");
        assert_eq!(rs.get("/whoami", Some(&gone.access)).status, 200);
        let r = auth.send(&Request::new("POST", "/logout").bearer(Some(&gone.access)));
        assert_eq!(r.status, 204, "logout: {}", r.text());
        assert_invalid_token(kind, "after logout", &rs.get("/whoami", Some(&gone.access)));
    }

    // the auth server restarts with a new key on the same address: one fetch picks it up
    assert_eq!(auth.stop().code(), Some(0), "auth server exit status");
    let second_key = key_file("p256.pem");
    let mut env = vec![
        ("AUTH_JWT_KEY_FILE", second_key.as_str()),
        ("AUTH_ADDR", auth_addr.as_str()),
    ];
    if let Some(url) = &redis {
        env.push(("AUTH_REDIS_URL", url));
    }
    let auth = start_sqlite(Kind::Axum, &dir, &env);
    let rotated = auth.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(jwt_part(&rotated.access, 0)["alg"], "ES256");
    thread::sleep(Duration::from_millis(1500)); // past the cooldown of 1 s
    let before = fetches(&rs);
    thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| rs.get("/admin", Some(&rotated.access)).status))
            .collect();
        for racer in racers {
            assert_eq!(
                racer.join().expect("a racer"),
                200,
                "the rotated key's token"
            );
        }
    });
    assert_eq!(
        fetches(&rs),
        before + 1,
        "exactly one fetch for the new key:\n{}",
        rs.log()
    );
    assert_invalid_token(
        kind,
        "the retired key's token",
        &rs.get("/whoami", Some(&tokens.access)),
    );

    assert_eq!(rs.stop().code(), Some(0), "resource server exit status");
    assert_eq!(auth.stop().code(), Some(0), "auth server exit status");
    assert_no_5xx();
}
