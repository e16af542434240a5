//! Priority 1: every row of the contract's endpoint and error tables.

use super::*;

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
