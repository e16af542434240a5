//! The HTTP contract (`docs/http-contract.md`) checked over loopback against every
//! demo server. Each test runs the same cases against all of them, so any difference
//! between the frameworks fails. Run `cargo build --workspace` first.

mod config;
mod edge_cases;
mod keys;
mod outages;
mod persistence;
mod resource_server;
mod rows;
mod shared;
mod walkthrough;

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

/// How long a demo may take to give up on a bad configuration. A refused start on a
/// local SQLite file takes well under a second; the bound leaves room for a loaded
/// machine.
const BAD_START_BOUND: Duration = Duration::from_secs(10);

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

/// The DER inside a PEM file.
fn pem_der(path: &str) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).expect("a PEM file");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .expect("PEM base64")
}
