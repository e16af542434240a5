//! Writes the seed corpora under `fuzz/seeds/`: valid tokens of the fixture keys (which,
//! with the fixture's fixed clock, never expire), `Authorization` values and JWKS documents.
//!
//!     cargo run --example mint_seeds        (from fuzz/)

use std::fs;
use std::path::Path;

use authcore::{Algorithm, Claims, Jwt, KeySet, SigningKey, TokenVerifier};
use authcore_fuzz::{FIXTURE, b64, hs256_compact, mint};

fn write(dir: &Path, name: &str, contents: &str) {
    fs::create_dir_all(dir).expect("create seed dir");
    fs::write(dir.join(name), contents).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let f = &*FIXTURE;

    let verify = root.join("verify");
    let (hs, ed) = (mint(&f.hs, "user-1"), mint(&f.ed, "user-2"));
    // The seeds must be accepted, or the fuzzer never reaches the claim checks.
    for (jwt, token) in [(&f.hs, &hs), (&f.multi, &hs), (&f.ed, &ed), (&f.multi, &ed)] {
        let claims: Claims = jwt.verify(token).expect("seed token verifies");
        assert_eq!(claims.iss, "i");
    }
    write(&verify, "hs256-valid.txt", &hs);
    write(&verify, "eddsa-valid.txt", &ed);
    // A valid HS256 token with a hand-written header (not the verifier's byte-exact one):
    // takes the JSON header parsing path.
    let own_payload = f.hs_token.split('.').nth(1).unwrap_or_default();
    let header = br#"{"alg":"HS256","typ":"application/at+jwt"}"#;
    write(
        &verify,
        "hs256-custom-header.txt",
        &hs256_compact(&b64(header), own_payload),
    );
    write(
        &verify,
        "alg-none.txt",
        &format!(
            "{}.{own_payload}.",
            b64(br#"{"alg":"none","typ":"at+jwt"}"#)
        ),
    );

    let header = root.join("header");
    write(&header, "bearer.txt", &format!("Bearer {}", f.hs_token));
    write(&header, "bearer-ws.txt", "bEaReR \t abc.def-_~+/==");
    write(&header, "basic.txt", "Basic dXNlcjpwdw==");

    let jwks = root.join("jwks");
    let ed = Jwt::builder()
        .keys(KeySet::new(authcore_fuzz::ed_key()))
        .issuer("i")
        .audience("a")
        .build()
        .expect("ed jwt");
    write(&jwks, "ed25519.json", &ed.jwks().to_json());
    for (name, alg) in [
        ("es256.json", Algorithm::ES256),
        ("rs256.json", Algorithm::RS256),
    ] {
        let keys = KeySet::new(SigningKey::generate(alg).expect("generate key"));
        write(&jwks, name, &keys.jwks().to_json());
    }
    println!("seeds written to {}", root.display());
}
