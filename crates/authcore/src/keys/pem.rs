//! Keys from PEM documents (RFC 7468): PKCS#8, SEC1 and PKCS#1 private keys, and
//! SubjectPublicKeyInfo and PKCS#1 public keys.

use std::path::Path;

use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaKeyPair, RsaPublicKeyComponents,
    RsaSubjectPublicKey,
};
use base64::Engine as _;

use super::jwk::PublicJwk;
use super::{Algorithm, SigningKey, VerificationKey, rejected, rsa_verification_key};
use crate::crypto::B64;
use crate::error::ConfigError;

impl VerificationKey {
    /// A verification key from PEM: a public key (`PUBLIC KEY`, `RSA PUBLIC KEY`) or a
    /// private key, whose public half is taken. The algorithm follows from the key: RS256,
    /// ES256 or EdDSA.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for unparsable or unsupported keys,
    /// [`ConfigError::RsaKeyTooSmall`] for RSA keys under 2048 bits.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::from_pem_inner(pem.as_ref(), None)
    }

    /// Like [`VerificationKey::from_pem`] with an explicit algorithm (PS256 for an RSA key).
    ///
    /// # Errors
    /// As [`VerificationKey::from_pem`], plus [`ConfigError::AlgorithmMismatch`].
    pub fn from_pem_with(alg: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::from_pem_inner(pem.as_ref(), Some(alg))
    }

    fn from_pem_inner(pem: &[u8], alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        let block = ::pem::parse(pem).map_err(|_| ConfigError::InvalidKey("not a PEM document"))?;
        let der = block.contents();
        match block.tag() {
            "PUBLIC KEY" => Self::from_spki(der, alg),
            "RSA PUBLIC KEY" => Self::from_rsa_public_der(der, alg),
            _ => Ok(SigningKey::from_pem_inner(pem, alg)?.verification_key()),
        }
    }

    fn from_spki(der: &[u8], alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        // SubjectPublicKeyInfo: try each supported key type. Fixed-size encodings let us
        // take the raw key from the end once aws-lc has validated the whole structure.
        if ParsedPublicKey::new(&signature::ED25519, der).is_ok() && der.len() == 44 {
            let x = &der[12..];
            return Self::from_public(
                alg,
                Algorithm::EdDSA,
                PublicJwk::Okp { x: B64.encode(x) },
                x,
            );
        }
        if ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, der).is_ok() && der.len() == 91
        {
            let point = &der[26..];
            return Self::from_public(alg, Algorithm::ES256, PublicJwk::ec(point)?, point);
        }
        Self::from_rsa_public_der(der, alg)
    }

    fn from_rsa_public_der(der: &[u8], alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        let public = RsaSubjectPublicKey::from_der(der).map_err(rejected)?;
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(&public);
        rsa_verification_key(alg, &components)
    }
}

impl SigningKey {
    /// A private key from PEM: PKCS#8 (`PRIVATE KEY`) Ed25519, P-256 or RSA; SEC1
    /// (`EC PRIVATE KEY`); or PKCS#1 (`RSA PRIVATE KEY`). The algorithm follows from the
    /// key: EdDSA, ES256 or RS256.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for unparsable or unsupported keys,
    /// [`ConfigError::RsaKeyTooSmall`] for RSA keys under 2048 bits.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::from_pem_inner(pem.as_ref(), None)
    }

    /// Like [`SigningKey::from_pem`] with an explicit algorithm (PS256 for an RSA key).
    ///
    /// # Errors
    /// As [`SigningKey::from_pem`], plus [`ConfigError::AlgorithmMismatch`].
    pub fn from_pem_with(alg: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::from_pem_inner(pem.as_ref(), Some(alg))
    }

    /// Reads a PEM private key from a file; see [`SigningKey::from_pem`].
    ///
    /// # Errors
    /// [`ConfigError::Io`] if the file cannot be read, and the errors of
    /// [`SigningKey::from_pem`].
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let pem = std::fs::read(path).map_err(ConfigError::Io)?;
        Self::from_pem(pem)
    }

    fn from_pem_inner(pem: &[u8], alg: Option<Algorithm>) -> Result<Self, ConfigError> {
        let block = ::pem::parse(pem).map_err(|_| ConfigError::InvalidKey("not a PEM document"))?;
        let der = block.contents();
        match block.tag() {
            "PRIVATE KEY" => {
                if let Ok(kp) = Ed25519KeyPair::from_pkcs8(der) {
                    return Self::ed25519(kp, alg);
                }
                if let Ok(kp) =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                {
                    return Self::ecdsa(kp, alg);
                }
                Self::rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?, alg)
            }
            "EC PRIVATE KEY" => Self::ecdsa(
                EcdsaKeyPair::from_private_key_der(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                )
                .map_err(|_| ConfigError::InvalidKey("only P-256 EC keys are supported"))?,
                alg,
            ),
            "RSA PRIVATE KEY" => Self::rsa(RsaKeyPair::from_der(der).map_err(rejected)?, alg),
            _ => Err(ConfigError::InvalidKey(
                "unsupported PEM block; expected a private key",
            )),
        }
    }
}
