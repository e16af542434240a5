//! bcrypt (`$2a$`, `$2b$`, `$2y$`), verified with the `bcrypt` crate (its comparison is
//! constant-time), the cost bounded first.

use super::MAX_BCRYPT_COST;
use crate::password::UnusableReason;

/// Verifies `password` against `stored`, `$2?$<two-digit cost>$<salt and hash>`. As every
/// bcrypt, only the first 72 bytes of the password count.
pub(super) fn verify(password: &[u8], stored: &str) -> Result<bool, UnusableReason> {
    // The cost is read before anything is hashed: `bcrypt` would accept up to 31.
    let cost = stored
        .get(4..7)
        .and_then(|c| c.strip_suffix('$'))
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or(UnusableReason::Malformed)?;
    if cost > MAX_BCRYPT_COST {
        return Err(UnusableReason::CostTooHigh);
    }
    bcrypt::verify(password, stored).map_err(|_| UnusableReason::Malformed)
}
