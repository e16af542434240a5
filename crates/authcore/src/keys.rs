//! Signing and verification keys (RFC 7518 §3), parsed once at start-up into aws-lc-rs
//! types, and the [`KeySet`] that rotates them by `kid`.

use std::fmt;

use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaKeyPair,
    RsaPublicKeyComponents,
};
use base64::Engine as _;

use crate::crypto::B64;
use crate::error::ConfigError;
use crate::jwks::{Jwk, Jwks};

mod jwk;
mod pem;

use jwk::{PublicJwk, oct_thumbprint};

/// The JWS algorithms authcore signs and verifies (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// `none` does not exist here, so it can never be configured or accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// The `alg` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Parses an `alg` header value. Names are case-sensitive (RFC 7515 §4.1.1), so
    /// `"hs256"` and every spelling of `none` give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            _ => return None,
        })
    }

    /// `true` for the HMAC algorithms, whose keys are shared secrets.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    fn hmac(self) -> Option<(hmac::Algorithm, usize)> {
        match self {
            Algorithm::HS256 => Some((hmac::HMAC_SHA256, 32)),
            Algorithm::HS384 => Some((hmac::HMAC_SHA384, 48)),
            Algorithm::HS512 => Some((hmac::HMAC_SHA512, 64)),
            _ => None,
        }
    }

    fn rsa_verification(self) -> Option<&'static signature::RsaParameters> {
        match self {
            Algorithm::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

#[derive(Clone)]
enum Verifier {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

/// A key that verifies signatures of one algorithm, selected by its `kid`.
///
/// HMAC keys are shared secrets and never appear in a JWKS; asymmetric keys are public
/// and are exported by [`KeySet::jwks`].
#[derive(Clone)]
pub struct VerificationKey {
    kid: String,
    alg: Algorithm,
    verifier: Verifier,
    public: Option<PublicJwk>,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl VerificationKey {
    /// An HMAC verification key from a shared secret.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`] if the secret is shorter than the hash output
    /// (32 bytes for HS256); [`ConfigError::AlgorithmMismatch`] if `alg` is not HMAC.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        Ok(SigningKey::hmac(alg, secret)?.verification_key())
    }

    fn from_public(
        requested: Option<Algorithm>,
        natural: Algorithm,
        jwk: PublicJwk,
        raw: &[u8],
    ) -> Result<Self, ConfigError> {
        let alg = requested.unwrap_or(natural);
        if alg != natural {
            return Err(ConfigError::AlgorithmMismatch(alg.as_str()));
        }
        let params: &'static dyn signature::VerificationAlgorithm = match alg {
            Algorithm::EdDSA => &signature::ED25519,
            _ => &signature::ECDSA_P256_SHA256_FIXED,
        };
        let parsed = ParsedPublicKey::new(params, raw).map_err(rejected)?;
        Ok(VerificationKey {
            kid: jwk.thumbprint(),
            alg,
            verifier: Verifier::Public(parsed),
            public: Some(jwk),
        })
    }

    /// Replaces the key id (by default the RFC 7638 thumbprint).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK of this key; `None` for HMAC keys.
    pub(crate) fn public_jwk(&self) -> Option<Jwk> {
        self.public.as_ref().map(|p| p.to_jwk(&self.kid, self.alg))
    }

    /// Verifies `signature` over `message`. Constant-time for HMAC.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.verifier {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

fn rsa_verification_key(
    alg: Option<Algorithm>,
    components: &RsaPublicKeyComponents<Vec<u8>>,
) -> Result<VerificationKey, ConfigError> {
    let alg = alg.unwrap_or(Algorithm::RS256);
    let params = alg
        .rsa_verification()
        .ok_or(ConfigError::AlgorithmMismatch(alg.as_str()))?;
    let bits = components.n.iter().skip_while(|b| **b == 0).count() * 8;
    if bits < 2048 {
        return Err(ConfigError::RsaKeyTooSmall);
    }
    let parsed = components.to_parsed_public_key(params).map_err(rejected)?;
    let jwk = PublicJwk::rsa(components);
    Ok(VerificationKey {
        kid: jwk.thumbprint(),
        alg,
        verifier: Verifier::Public(parsed),
        public: Some(jwk),
    })
}

fn rejected(err: KeyRejected) -> ConfigError {
    match err.description_() {
        "TooSmall" => ConfigError::RsaKeyTooSmall,
        _ => ConfigError::InvalidKey("the key was rejected"),
    }
}

/// The key that signs new tokens, with its algorithm and `kid`.
///
/// Parsed once, at start-up. Its [`Debug`] output never shows key material.
pub struct SigningKey {
    signer: Signer,
    verification: VerificationKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.verification.kid)
            .field("alg", &self.verification.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// An HMAC key from a shared secret.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`] if the secret is shorter than the hash output
    /// (RFC 7518 §3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512);
    /// [`ConfigError::AlgorithmMismatch`] if `alg` is not an HMAC algorithm.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let (hmac_alg, min) = alg
            .hmac()
            .ok_or(ConfigError::AlgorithmMismatch(alg.as_str()))?;
        if secret.len() < min {
            return Err(ConfigError::SecretTooShort { min });
        }
        let key = Box::new(hmac::Key::new(hmac_alg, secret));
        Ok(SigningKey {
            signer: Signer::Hmac(key.clone()),
            verification: VerificationKey {
                kid: oct_thumbprint(secret),
                alg,
                verifier: Verifier::Hmac(key),
                public: None,
            },
        })
    }

    /// An HS256 key from the secret in environment variable `name`.
    ///
    /// # Errors
    /// [`ConfigError::Env`] if the variable is unset or not Unicode, and the errors of
    /// [`SigningKey::hmac`]. The value never appears in an error.
    pub fn from_env(name: &str) -> Result<Self, ConfigError> {
        let secret = std::env::var(name).map_err(|e| ConfigError::Env {
            name: name.to_owned(),
            reason: match e {
                std::env::VarError::NotPresent => "not set",
                std::env::VarError::NotUnicode(_) => "not valid Unicode",
            },
        })?;
        Self::hmac(Algorithm::HS256, secret.as_bytes()).map_err(|e| match e {
            ConfigError::SecretTooShort { .. } => ConfigError::Env {
                name: name.to_owned(),
                reason: "the secret must be at least 32 bytes",
            },
            other => other,
        })
    }

    fn ed25519(kp: Ed25519KeyPair, alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        let raw = kp.public_key().as_ref().to_vec();
        let verification = VerificationKey::from_public(
            alg,
            Algorithm::EdDSA,
            PublicJwk::Okp {
                x: B64.encode(&raw),
            },
            &raw,
        )?;
        Ok(SigningKey {
            signer: Signer::Ed25519(kp),
            verification,
        })
    }

    fn ecdsa(kp: EcdsaKeyPair, alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        let point = kp.public_key().as_ref().to_vec();
        let verification =
            VerificationKey::from_public(alg, Algorithm::ES256, PublicJwk::ec(&point)?, &point)?;
        Ok(SigningKey {
            signer: Signer::Ecdsa(kp),
            verification,
        })
    }

    fn rsa(kp: RsaKeyPair, alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        if kp.public_modulus_len() < 256 {
            return Err(ConfigError::RsaKeyTooSmall);
        }
        let alg = alg.unwrap_or(Algorithm::RS256);
        let encoding: &'static dyn signature::RsaEncoding = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
            Algorithm::PS256 => &signature::RSA_PSS_SHA256,
            other => return Err(ConfigError::AlgorithmMismatch(other.as_str())),
        };
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(kp.public_key());
        let verification = rsa_verification_key(Some(alg), &components)?;
        Ok(SigningKey {
            signer: Signer::Rsa(kp, encoding),
            verification,
        })
    }

    /// A fresh random key: a 32/48/64-byte secret for HMAC, a new Ed25519 or P-256 key
    /// pair, or a 2048-bit RSA key.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] if the system's random generator fails.
    pub fn generate(alg: Algorithm) -> Result<Self, ConfigError> {
        const RNG_FAILED: ConfigError = ConfigError::InvalidKey("key generation failed");
        if let Some((_, len)) = alg.hmac() {
            let mut secret = vec![0u8; len];
            aws_lc_rs::rand::fill(&mut secret).map_err(|_| RNG_FAILED)?;
            return Self::hmac(alg, &secret);
        }
        match alg {
            Algorithm::EdDSA => {
                Self::ed25519(Ed25519KeyPair::generate().map_err(|_| RNG_FAILED)?, None)
            }
            Algorithm::ES256 => Self::ecdsa(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| RNG_FAILED)?,
                None,
            ),
            _ => Self::rsa(
                RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| RNG_FAILED)?,
                Some(alg),
            ),
        }
    }

    /// Replaces the key id (by default the RFC 7638 thumbprint of the key).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.verification.kid = kid.into();
        self
    }

    /// The key id put in the `kid` header of every token signed with this key.
    pub fn kid(&self) -> &str {
        &self.verification.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.verification.alg
    }

    /// The key that verifies this key's signatures (the same secret for HMAC, the public
    /// half otherwise), with the same `kid`.
    pub fn verification_key(&self) -> VerificationKey {
        self.verification.clone()
    }

    /// Signs `message`, appending the base64url signature to `out`.
    pub(crate) fn sign_into(&self, message: &[u8], out: &mut String) -> Result<(), SignError> {
        match &self.signer {
            Signer::Hmac(key) => B64.encode_string(hmac::sign(key, message), out),
            Signer::Ed25519(kp) => B64.encode_string(kp.sign(message), out),
            Signer::Ecdsa(kp) => {
                B64.encode_string(
                    kp.sign(&SystemRandom::new(), message)
                        .map_err(|_| SignError)?,
                    out,
                );
            }
            Signer::Rsa(kp, encoding) => {
                let mut buf = [0u8; 1024];
                let sig = buf.get_mut(..kp.public_modulus_len()).ok_or(SignError)?;
                kp.sign(*encoding, &SystemRandom::new(), message, sig)
                    .map_err(|_| SignError)?;
                B64.encode_string(sig, out);
            }
        }
        Ok(())
    }
}

/// A signing operation failed inside the crypto library.
#[derive(Debug, thiserror::Error)]
#[error("signing failed")]
pub(crate) struct SignError;

/// The keys of an issuer or verifier: at most one active signing key and any number of
/// verification keys, selected by `kid`, so keys rotate without logging anyone out.
///
/// Rotation: sign with the new key and keep the old key's [`VerificationKey`] here until
/// the last token it signed has expired.
#[derive(Debug, Default)]
pub struct KeySet {
    signing: Option<SigningKey>,
    verification: Vec<VerificationKey>,
}

impl KeySet {
    /// A key set that signs with `signing` and verifies its signatures.
    pub fn new(signing: SigningKey) -> Self {
        let verification = vec![signing.verification_key()];
        KeySet {
            signing: Some(signing),
            verification,
        }
    }

    /// A key set with no signing key, for services that only verify.
    pub fn verify_only() -> Self {
        KeySet::default()
    }

    /// Adds a key that verifies tokens (for example the previous signing key).
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKid`] if a key with the same `kid` is already present.
    pub fn with_verification_key(mut self, key: VerificationKey) -> Result<Self, ConfigError> {
        if self.verification.iter().any(|k| k.kid == key.kid) {
            return Err(ConfigError::DuplicateKid(key.kid));
        }
        self.verification.push(key);
        Ok(self)
    }

    /// The signing key, if any.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing.as_ref()
    }

    /// The verification keys, the signing key's own first.
    pub fn verification_keys(&self) -> &[VerificationKey] {
        &self.verification
    }

    /// The public keys as a JWKS document (RFC 7517 §5). HMAC keys never appear in it;
    /// with only shared secrets configured, the set is empty.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .verification
                .iter()
                .filter_map(VerificationKey::public_jwk)
                .collect(),
        }
    }

    pub(crate) fn into_parts(self) -> (Option<SigningKey>, Vec<VerificationKey>) {
        (self.signing, self.verification)
    }
}
