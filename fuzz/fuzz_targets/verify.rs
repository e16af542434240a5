//! `JwtVerifier::verify` must never panic, and must accept a string only if it is a token
//! the key holder actually signed.
//!
//! Each input is used twice:
//! 1. raw: if it is UTF-8 it is verified as is by an HS256, an EdDSA and a two-key
//!    verifier; acceptance is only allowed for a canonical compact JWS;
//! 2. structured (via `arbitrary`): an [`Op`] that either mutates a valid token minted
//!    once (acceptance of anything but the original is a forgery: crash), or builds a
//!    token from fuzzed header/payload JSON, optionally signed with the fixture's HS256
//!    secret so that the fuzzer also reaches the claim parsing behind the signature check.
#![no_main]

use std::collections::BTreeMap;

use authcore::{AuthError, Claims, Jwt, TokenVerifier};
use authcore_fuzz::{AUDIENCE, FIXTURE, ISSUER, b64, hs256_compact, is_canonical_compact};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

type Extra = BTreeMap<String, serde_json::Value>;

#[derive(Arbitrary, Debug)]
enum Which {
    Hs,
    Ed,
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    /// Replace header (0), payload (1) or signature (2) of a valid token.
    Replace {
        which: Which,
        segment: u8,
        with: &'a str,
    },
    /// XOR bytes of a valid token at input-chosen positions.
    Xor { which: Which, edits: Vec<(u16, u8)> },
    /// Replace the byte range `start..end` of a valid token with `with`: insertion,
    /// deletion, truncation, extension.
    Splice {
        which: Which,
        start: u16,
        end: u16,
        with: &'a [u8],
    },
    /// Take each segment from either the HS256 or the EdDSA token (key confusion).
    Mix {
        header: Which,
        payload: Which,
        signature: Which,
    },
    /// `b64(header).b64(payload).signature`, unsigned.
    Unsigned {
        header: &'a [u8],
        payload: &'a [u8],
        signature: &'a str,
    },
    /// `b64(header).b64(payload)` correctly HS256-signed with the fixture secret.
    Signed { header: &'a [u8], payload: &'a [u8] },
    /// The fixture's own HS256 header and a fuzzed payload, correctly signed.
    SignedPayload { payload: &'a [u8] },
}

fn original(which: &Which) -> &'static str {
    match which {
        Which::Hs => &FIXTURE.hs_token,
        Which::Ed => &FIXTURE.ed_token,
    }
}

fn verify(jwt: &Jwt, token: &str) -> Result<Claims, AuthError> {
    jwt.verify(token)
}

/// Verifies `token` against the HS256, EdDSA and two-key verifiers; anything accepted
/// must be canonical and carry the fixture's issuer and audience.
fn check_raw(token: &str) {
    let f = &*FIXTURE;
    for (jwt, sig_len) in [(&f.hs, Some(32)), (&f.ed, Some(64)), (&f.multi, None)] {
        if let Ok(claims) = verify(jwt, token) {
            let canonical = match sig_len {
                Some(n) => is_canonical_compact(token, n),
                None => is_canonical_compact(token, 32) || is_canonical_compact(token, 64),
            };
            assert!(canonical, "accepted a non-canonical token: {token:?}");
            assert_eq!(claims.iss, ISSUER);
            assert!(claims.aud.contains(AUDIENCE));
        }
        // The same with application claims flattened into a map: must not panic either.
        let _: Result<Claims<Extra>, _> = jwt.verify(token);
    }
}

/// A mutation of `original`: accepted by any verifier only if it *is* the original.
fn check_mutant(mutant: &str, originals: &[&str]) {
    let f = &*FIXTURE;
    for (name, jwt) in [("hs", &f.hs), ("ed", &f.ed), ("multi", &f.multi)] {
        if verify(jwt, mutant).is_ok() {
            assert!(
                originals.contains(&mutant),
                "FORGERY: verifier {name} accepted a mutated token\n  mutant:   {mutant:?}\n  originals: {originals:?}"
            );
        }
    }
}

fn apply(op: Op<'_>) {
    let f = &*FIXTURE;
    let both = [f.hs_token.as_str(), f.ed_token.as_str()];
    match op {
        Op::Replace {
            which,
            segment,
            with,
        } => {
            let mut parts: Vec<&str> = original(&which).split('.').collect();
            parts[usize::from(segment % 3)] = with;
            check_mutant(&parts.join("."), &both);
        }
        Op::Xor { which, edits } => {
            let mut bytes = original(&which).as_bytes().to_vec();
            let len = bytes.len();
            for (pos, mask) in edits {
                bytes[usize::from(pos) % len] ^= mask;
            }
            if let Ok(s) = std::str::from_utf8(&bytes) {
                check_mutant(s, &both);
            }
        }
        Op::Splice {
            which,
            start,
            end,
            with,
        } => {
            let orig = original(&which).as_bytes();
            let len = orig.len() + 1;
            let (a, b) = (usize::from(start) % len, usize::from(end) % len);
            let (a, b) = (a.min(b), a.max(b));
            let mut bytes = orig[..a].to_vec();
            bytes.extend_from_slice(with);
            bytes.extend_from_slice(&orig[b..]);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                check_mutant(s, &both);
            }
        }
        Op::Mix {
            header,
            payload,
            signature,
        } => {
            let seg = |w: &Which, i: usize| original(w).split('.').nth(i).unwrap_or_default();
            let token = format!(
                "{}.{}.{}",
                seg(&header, 0),
                seg(&payload, 1),
                seg(&signature, 2)
            );
            check_mutant(&token, &both);
        }
        Op::Unsigned {
            header,
            payload,
            signature,
        } => {
            let token = format!("{}.{}.{signature}", b64(header), b64(payload));
            // No key signed this: only the originals may verify, and they cannot be
            // produced here unless the input reproduces them exactly.
            check_mutant(&token, &both);
        }
        Op::Signed { header, payload } => {
            check_raw(&hs256_compact(&b64(header), &b64(payload)));
        }
        Op::SignedPayload { payload } => {
            let own_header = f.hs_token.split('.').next().unwrap_or_default();
            check_raw(&hs256_compact(own_header, &b64(payload)));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        check_raw(s);
    }
    if let Ok(op) = Op::arbitrary_take_rest(Unstructured::new(data)) {
        apply(op);
    }
});
