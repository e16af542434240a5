//! A stored password hash that cannot be verified, and why: reported by
//! [`PasswordHasher::verify`](crate::PasswordHasher::verify) as
//! [`Verification::Unusable`](crate::Verification::Unusable).

use std::fmt;

/// A stored password hash that cannot be verified: its scheme and the reason.
///
/// Holds nothing of the stored string but a fixed scheme name, so it may be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnusableHash {
    scheme: &'static str,
    reason: UnusableReason,
}

impl UnusableHash {
    pub(crate) fn new(scheme: &'static str, reason: UnusableReason) -> Self {
        UnusableHash { scheme, reason }
    }

    /// The scheme, by the prefix that names it (`$2b$`, `pbkdf2_sha256`, `$scrypt$`,
    /// `$argon2`, a known prefix authcore does not verify such as `$1$` or `sha1$`), or
    /// `unknown`. Never a part of the stored string beyond such a fixed name.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Why the hash cannot be verified.
    pub fn reason(&self) -> UnusableReason {
        self.reason
    }
}

/// Why a stored password hash cannot be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnusableReason {
    /// authcore does not verify this scheme, or does not recognize it at all.
    UnknownScheme,
    /// The scheme needs a cargo feature of authcore that is off (`bcrypt`, `pbkdf2` or
    /// `scrypt`).
    FeatureDisabled,
    /// The string names a scheme authcore verifies but is not a valid hash of it.
    Malformed,
    /// The work factor in the string is above authcore's cap for the scheme: verifying
    /// it would hold a hashing thread too long, or take too much memory.
    CostTooHigh,
}

impl UnusableReason {
    /// A short name for logs: `unknown_scheme`, `feature_disabled`, `malformed`,
    /// `cost_too_high`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnusableReason::UnknownScheme => "unknown_scheme",
            UnusableReason::FeatureDisabled => "feature_disabled",
            UnusableReason::Malformed => "malformed",
            UnusableReason::CostTooHigh => "cost_too_high",
        }
    }
}

impl fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
