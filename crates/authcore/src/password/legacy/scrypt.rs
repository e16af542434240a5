//! scrypt as a PHC string, its parameters bounded, verified with the `scrypt` crate (its
//! comparison is constant-time).

use argon2::password_hash::{Error, PasswordHash as PhcHash, PasswordVerifier as _};
use scrypt::{Params, Scrypt};

use super::{MAX_SCRYPT_LOG_N, MAX_SCRYPT_MEMORY, MAX_SCRYPT_WORK};
use crate::password::UnusableReason;

/// Verifies `password` against `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (salt and
/// hash in unpadded base64; the hash's length is the derived key's).
pub(super) fn verify(password: &[u8], stored: &str) -> Result<bool, UnusableReason> {
    let parsed = PhcHash::new(stored).map_err(|_| UnusableReason::Malformed)?;
    let params = Params::try_from(&parsed).map_err(|_| UnusableReason::Malformed)?;
    if params.log_n() > MAX_SCRYPT_LOG_N {
        return Err(UnusableReason::CostTooHigh);
    }
    let memory = (128 * u64::from(params.r())) << params.log_n();
    let work = memory.saturating_mul(u64::from(params.p()));
    if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
        return Err(UnusableReason::CostTooHigh);
    }
    match Scrypt.verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(Error::Password) => Ok(false),
        Err(_) => Err(UnusableReason::Malformed),
    }
}
