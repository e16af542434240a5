//! PBKDF2-HMAC-SHA256 in Django's format and as a PHC string, the iterations bounded.

use argon2::password_hash::{PasswordHash as PhcHash, PasswordHasher as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pbkdf2::{Algorithm, Params, Pbkdf2};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::MAX_PBKDF2_ITERATIONS;
use crate::password::UnusableReason;

/// The length of Django's hash: SHA-256's output.
const DJANGO_LEN: usize = 32;

/// Checks a stored iteration count: at least one, at most the cap.
fn bounded(iterations: u32) -> Result<u32, UnusableReason> {
    match iterations {
        0 => Err(UnusableReason::Malformed),
        n if n > MAX_PBKDF2_ITERATIONS => Err(UnusableReason::CostTooHigh),
        n => Ok(n),
    }
}

/// Verifies `password` against Django's `pbkdf2_sha256$<iterations>$<salt>$<hash>`: the
/// salt is used as its UTF-8 bytes, the hash is 32 bytes in standard base64.
pub(super) fn verify_django(password: &[u8], stored: &str) -> Result<bool, UnusableReason> {
    let mut fields = stored.split('$');
    let (Some(_), Some(iterations), Some(salt), Some(hash), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(UnusableReason::Malformed);
    };
    let iterations = Some(iterations)
        .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
        .map(|i| i.parse::<u32>().unwrap_or(u32::MAX))
        .ok_or(UnusableReason::Malformed)?;
    let iterations = bounded(iterations)?;
    let expected = STANDARD
        .decode(hash)
        .map_err(|_| UnusableReason::Malformed)?;
    if salt.is_empty() || expected.len() != DJANGO_LEN {
        return Err(UnusableReason::Malformed);
    }
    let mut computed = [0u8; DJANGO_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut computed);
    Ok(computed.ct_eq(&expected).into())
}

/// Verifies `password` against `$pbkdf2-sha256$i=<iterations>[,l=<length>]$<salt>$<hash>`
/// (salt and hash in unpadded base64). Without `l`, the hash's own length is used.
pub(super) fn verify_phc(password: &[u8], stored: &str) -> Result<bool, UnusableReason> {
    let parsed = PhcHash::new(stored).map_err(|_| UnusableReason::Malformed)?;
    if parsed.algorithm != Algorithm::Pbkdf2Sha256.ident() {
        return Err(UnusableReason::Malformed);
    }
    let mut params = Params::try_from(&parsed).map_err(|_| UnusableReason::Malformed)?;
    params.rounds = bounded(params.rounds)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(UnusableReason::Malformed);
    };
    params.output_length = expected.len();
    let computed = Pbkdf2
        .hash_password_customized(password, Some(parsed.algorithm), None, params, salt)
        .map_err(|_| UnusableReason::Malformed)?;
    // `Output`'s equality is constant-time.
    Ok(computed.hash == Some(expected))
}
