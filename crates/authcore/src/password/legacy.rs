//! Hashes authcore did not make: the scheme of a stored string, recognized by its
//! prefix, and its verification (bcrypt, PBKDF2-HMAC-SHA256, scrypt; each behind the
//! cargo feature of its name), with the stored work factor bounded. Verifying only:
//! authcore never makes such a hash; a match is upgraded to argon2id at login.

use super::unusable::{UnusableHash, UnusableReason};

#[cfg(feature = "bcrypt")]
mod bcrypt;
#[cfg(feature = "pbkdf2")]
mod pbkdf2;
#[cfg(feature = "scrypt")]
mod scrypt;

/// The highest bcrypt cost verified: 2^16 rounds of the key schedule, seconds of CPU.
#[cfg_attr(not(feature = "bcrypt"), allow(dead_code))]
pub(crate) const MAX_BCRYPT_COST: u32 = 16;
/// The most PBKDF2 iterations verified (Django's default is under a million).
#[cfg_attr(not(feature = "pbkdf2"), allow(dead_code))]
pub(crate) const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The highest scrypt `ln` (log2 N) verified.
#[cfg_attr(not(feature = "scrypt"), allow(dead_code))]
pub(crate) const MAX_SCRYPT_LOG_N: u8 = 20;
/// The most memory one scrypt verification may take: 128·r·N bytes, 256 MiB.
#[cfg_attr(not(feature = "scrypt"), allow(dead_code))]
pub(crate) const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
/// The most work one scrypt verification may do: 128·r·N·p bytes mixed, 2 GiB.
#[cfg_attr(not(feature = "scrypt"), allow(dead_code))]
pub(crate) const MAX_SCRYPT_WORK: u64 = 2 << 30;

/// A scheme authcore verifies when its feature is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `$2a$`, `$2b$`, `$2y$` (feature `bcrypt`).
    Bcrypt,
    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (feature `pbkdf2`).
    DjangoPbkdf2Sha256,
    /// PHC `$pbkdf2-sha256$i=…[,l=…]$<salt>$<hash>` (feature `pbkdf2`).
    PhcPbkdf2Sha256,
    /// PHC `$scrypt$ln=…,r=…,p=…$<salt>$<hash>` (feature `scrypt`).
    PhcScrypt,
}

/// The prefixes of the schemes authcore verifies, and the name each is logged under.
const VERIFIED: [(&str, &str, Scheme); 6] = [
    ("$2a$", "$2a$", Scheme::Bcrypt),
    ("$2b$", "$2b$", Scheme::Bcrypt),
    ("$2y$", "$2y$", Scheme::Bcrypt),
    (
        "pbkdf2_sha256$",
        "pbkdf2_sha256",
        Scheme::DjangoPbkdf2Sha256,
    ),
    (
        "$pbkdf2-sha256$",
        "$pbkdf2-sha256$",
        Scheme::PhcPbkdf2Sha256,
    ),
    ("$scrypt$", "$scrypt$", Scheme::PhcScrypt),
];

/// Prefixes of schemes known but not verified, and their names for logs. Anything else
/// is `unknown`: a name is never taken from the stored string, which might be a password
/// stored in clear.
const KNOWN_UNVERIFIED: [(&str, &str); 20] = [
    ("$1$", "$1$"),
    ("$2x$", "$2x$"),
    ("$2$", "$2$"),
    ("$5$", "$5$"),
    ("$6$", "$6$"),
    ("$7$", "$7$"),
    ("$y$", "$y$"),
    ("$gy$", "$gy$"),
    ("$md5$", "$md5$"),
    ("$sha1$", "$sha1$"),
    ("$pbkdf2$", "$pbkdf2$"),
    ("$pbkdf2-sha512$", "$pbkdf2-sha512$"),
    ("pbkdf2_sha1$", "pbkdf2_sha1"),
    ("bcrypt_sha256$", "bcrypt_sha256"),
    ("bcrypt$", "bcrypt"),
    ("argon2$", "argon2"),
    ("scrypt$", "scrypt"),
    ("sha1$", "sha1"),
    ("md5$", "md5"),
    ("unsalted_", "unsalted"),
];

impl Scheme {
    /// Whether this build verifies the scheme: its cargo feature is on.
    fn compiled(self) -> bool {
        match self {
            Scheme::Bcrypt => cfg!(feature = "bcrypt"),
            Scheme::DjangoPbkdf2Sha256 | Scheme::PhcPbkdf2Sha256 => cfg!(feature = "pbkdf2"),
            Scheme::PhcScrypt => cfg!(feature = "scrypt"),
        }
    }

    /// Verifies `password` against `stored`, a string of this scheme.
    fn verify(self, password: &[u8], stored: &str) -> Result<bool, UnusableReason> {
        match self {
            #[cfg(feature = "bcrypt")]
            Scheme::Bcrypt => bcrypt::verify(password, stored),
            #[cfg(feature = "pbkdf2")]
            Scheme::DjangoPbkdf2Sha256 => pbkdf2::verify_django(password, stored),
            #[cfg(feature = "pbkdf2")]
            Scheme::PhcPbkdf2Sha256 => pbkdf2::verify_phc(password, stored),
            #[cfg(feature = "scrypt")]
            Scheme::PhcScrypt => scrypt::verify(password, stored),
            #[allow(unreachable_patterns)] // with every feature on
            _ => {
                let _ = (password, stored);
                Err(UnusableReason::FeatureDisabled)
            }
        }
    }
}

/// Verifies `password` against `stored`, a hash that is not argon2: whether it matches,
/// or why it cannot be verified.
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, UnusableHash> {
    verify_if(password, stored, Scheme::compiled)
}

/// [`verify`] with the schemes for which `enabled` is true.
fn verify_if(
    password: &[u8],
    stored: &str,
    enabled: impl Fn(Scheme) -> bool,
) -> Result<bool, UnusableHash> {
    let Some(&(_, name, scheme)) = VERIFIED.iter().find(|(p, _, _)| stored.starts_with(p)) else {
        let name = KNOWN_UNVERIFIED
            .iter()
            .find(|(prefix, _)| stored.starts_with(prefix))
            .map_or("unknown", |&(_, name)| name);
        return Err(UnusableHash::new(name, UnusableReason::UnknownScheme));
    };
    if !enabled(scheme) {
        return Err(UnusableHash::new(name, UnusableReason::FeatureDisabled));
    }
    scheme
        .verify(password, stored)
        .map_err(|reason| UnusableHash::new(name, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Openwall's crypt_blowfish test vector (`wrapper.c`): "U*U".
    const BCRYPT: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

    #[test]
    fn a_scheme_whose_feature_is_off_is_named_and_refused() {
        let off = verify_if(b"U*U", BCRYPT, |_| false).unwrap_err();
        assert_eq!(
            (off.scheme(), off.reason()),
            ("$2a$", UnusableReason::FeatureDisabled)
        );
        let django = verify_if(b"pw", "pbkdf2_sha256$1$salt$AAAA", |_| false).unwrap_err();
        assert_eq!(django.scheme(), "pbkdf2_sha256");
        let compiled = verify(b"U*U", BCRYPT);
        if cfg!(feature = "bcrypt") {
            assert_eq!(compiled, Ok(true));
        } else {
            assert_eq!(
                compiled.unwrap_err().reason(),
                UnusableReason::FeatureDisabled
            );
        }
    }

    #[test]
    fn unknown_schemes_are_named_from_a_fixed_list_only() {
        for (stored, name) in [
            ("$1$saltsalt$hash", "$1$"),
            ("$md5$rounds=904$salt$hash", "$md5$"),
            ("sha1$salt$0123456789abcdef", "sha1"),
            ("md5$salt$0123", "md5"),
            ("hunter2", "unknown"),
            ("$hunter2$", "unknown"),
            ("", "unknown"),
        ] {
            let unusable = verify(b"pw", stored).unwrap_err();
            assert_eq!(
                (unusable.scheme(), unusable.reason()),
                (name, UnusableReason::UnknownScheme),
                "{stored}"
            );
        }
    }
}
