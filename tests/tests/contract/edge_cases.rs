//! Requests the contract does not spell out, and expired refresh tokens.

use super::*;

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
