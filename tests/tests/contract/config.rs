//! Configuration: overrides that reach the tokens, and bad values that stop start-up.

use super::*;

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
