//! `authcore::http::bearer_token` never panics, and a token it returns is a non-empty
//! slice of the header value itself, in `b64token` syntax (RFC 6750 §2.1), from a header
//! of visible ASCII, spaces and tabs only (its documented contract: anything else is
//! `MalformedHeader` or `Malformed`), after a scheme that is `bearer` up to case, SP and
//! HTAB.
#![no_main]

use authcore::http::bearer_token;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = bearer_token(Some(data)) else {
        return;
    };
    assert!(
        data.iter()
            .all(|b| *b == b' ' || *b == b'\t' || b.is_ascii_graphic()),
        "accepted a header that is not visible ASCII/SP/HTAB: {data:?} -> Ok({token:?})"
    );
    // A substring of the input, by address: not merely equal to some part of it.
    let start = (token.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
    assert!(
        start <= data.len() && token.len() <= data.len() - start,
        "returned token is not a slice of the input: {data:?} -> {token:?}"
    );
    assert_eq!(&data[start..start + token.len()], token.as_bytes());
    assert!(!token.is_empty());
    let body = token.trim_end_matches('=');
    assert!(!body.is_empty(), "token of padding only: {token:?}");
    assert!(
        body.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)),
        "token outside b64token syntax: {token:?}"
    );
    // The scheme precedes it, case-insensitively `bearer`.
    let before = std::str::from_utf8(&data[..start]).expect("prefix of a valid header");
    assert!(
        before
            .trim_matches([' ', '\t'])
            .eq_ignore_ascii_case("bearer"),
        "unexpected prefix {before:?}"
    );
});
