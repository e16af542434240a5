//! Small crate-private primitives: randomness, base64url and digests, all on aws-lc-rs.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::AuthError;

/// The strict base64url engine of JWS (RFC 7515 §2): no padding, canonical trailing bits.
pub(crate) const B64: base64::engine::GeneralPurpose = URL_SAFE_NO_PAD;

/// `N` bytes from the system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf)
        .map_err(|_| AuthError::Internal("random generator failed".into()))?;
    Ok(buf)
}

/// A random, URL-safe identifier of `N` bytes of entropy.
pub(crate) fn random_id<const N: usize>() -> Result<String, AuthError> {
    Ok(B64.encode(random_bytes::<N>()?))
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
