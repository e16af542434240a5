//! `KeySet::from_jwks` never panics; a key set it accepts exports a JWKS that parses back
//! to the same key ids and algorithms.
#![no_main]

use authcore::KeySet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = KeySet::from_jwks(json) else {
        return;
    };
    let ids = |s: &KeySet| {
        s.verification_keys()
            .iter()
            .map(|k| (k.kid().to_owned(), k.algorithm()))
            .collect::<Vec<_>>()
    };
    let exported = set.jwks().to_json();
    let again = KeySet::from_jwks(&exported)
        .unwrap_or_else(|e| panic!("exported JWKS does not parse back: {e}\n{exported}"));
    assert_eq!(
        ids(&set),
        ids(&again),
        "round trip changed the keys\n{exported}"
    );
});
