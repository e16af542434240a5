//! Keys to and from JWK (RFC 7517): the public members of asymmetric keys, their RFC 7638
//! thumbprints, and key sets read from another service's JWKS.

use aws_lc_rs::signature::RsaPublicKeyComponents;
use base64::Engine as _;

use super::{Algorithm, KeySet, VerificationKey, rsa_verification_key};
use crate::crypto::{B64, sha256};
use crate::error::ConfigError;
use crate::jwks::{Jwk, Jwks};

/// The public half of an asymmetric key, as JWK members (base64url, RFC 7518 §6).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicJwk {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
    Okp { x: String },
}

impl PublicJwk {
    pub(super) fn rsa(components: &RsaPublicKeyComponents<Vec<u8>>) -> Self {
        PublicJwk::Rsa {
            n: B64.encode(&components.n),
            e: B64.encode(&components.e),
        }
    }

    /// From an uncompressed P-256 point (`0x04 || x || y`).
    pub(super) fn ec(point: &[u8]) -> Result<Self, ConfigError> {
        match point {
            [0x04, xy @ ..] if xy.len() == 64 => Ok(PublicJwk::Ec {
                x: B64.encode(&xy[..32]),
                y: B64.encode(&xy[32..]),
            }),
            _ => Err(ConfigError::InvalidKey("not an uncompressed P-256 point")),
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    pub(super) fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicJwk::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            PublicJwk::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            PublicJwk::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        B64.encode(sha256(canonical.as_bytes()))
    }

    pub(crate) fn to_jwk(&self, kid: &str, alg: Algorithm) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            kid: Some(kid.to_owned()),
            alg: Some(alg.as_str().to_owned()),
            use_: Some("sig".to_owned()),
            crv: None,
            n: None,
            e: None,
            x: None,
            y: None,
        };
        match self {
            PublicJwk::Rsa { n, e } => {
                jwk.kty = "RSA".into();
                jwk.n = Some(n.clone());
                jwk.e = Some(e.clone());
            }
            PublicJwk::Ec { x, y } => {
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(x.clone());
                jwk.y = Some(y.clone());
            }
            PublicJwk::Okp { x } => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(x.clone());
            }
        }
        jwk
    }
}

/// The RFC 7638 thumbprint of a symmetric key (`{"k":…,"kty":"oct"}`). It reveals nothing
/// that the tokens signed with the key do not already.
pub(super) fn oct_thumbprint(secret: &[u8]) -> String {
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, B64.encode(secret));
    B64.encode(sha256(canonical.as_bytes()))
}

impl VerificationKey {
    /// Builds a key from one JWK of a JWKS document (RFC 7517 §4). Symmetric (`oct`) keys
    /// are skipped: a JWKS is public.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Option<Self>, ConfigError> {
        fn member(v: &Option<String>, what: &'static str) -> Result<Vec<u8>, ConfigError> {
            let s = v.as_deref().ok_or(ConfigError::InvalidJwks(what))?;
            B64.decode(s).map_err(|_| ConfigError::InvalidJwks(what))
        }
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Ok(None);
        }
        let alg = match jwk.alg.as_deref() {
            Some(name) => match Algorithm::from_name(name) {
                Some(alg) => Some(alg),
                None => return Ok(None),
            },
            None => None,
        };
        let mut key = match jwk.kty.as_str() {
            "RSA" => {
                let components = RsaPublicKeyComponents {
                    n: member(&jwk.n, "RSA key without a valid n")?,
                    e: member(&jwk.e, "RSA key without a valid e")?,
                };
                rsa_verification_key(alg, &components)?
            }
            "EC" => {
                if jwk.crv.as_deref() != Some("P-256") {
                    return Ok(None);
                }
                let x = member(&jwk.x, "EC key without a valid x")?;
                let y = member(&jwk.y, "EC key without a valid y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(ConfigError::InvalidJwks("EC coordinates must be 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::from_public(alg, Algorithm::ES256, PublicJwk::ec(&point)?, &point)?
            }
            "OKP" => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Ok(None);
                }
                let x = member(&jwk.x, "OKP key without a valid x")?;
                let jwk_x = B64.encode(&x);
                Self::from_public(alg, Algorithm::EdDSA, PublicJwk::Okp { x: jwk_x }, &x)?
            }
            // A symmetric key in a public document is no key of anyone's: never used,
            // so that a token cannot be verified with a secret everybody can read.
            "oct" => return Ok(None),
            _ => return Ok(None),
        };
        if let Some(kid) = &jwk.kid {
            key.kid.clone_from(kid);
        }
        Ok(Some(key))
    }
}

impl KeySet {
    /// A verify-only key set from a JWKS document (RFC 7517 §5), as another service
    /// publishes it. Keys for other uses, curves or algorithms are skipped, and so are
    /// symmetric (`oct`) keys: a secret in a public document is never used.
    ///
    /// # Errors
    /// [`ConfigError::InvalidJwks`] if the document is not a JWKS or contains no usable
    /// key; key errors as in [`VerificationKey::from_pem`].
    pub fn from_jwks(json: &str) -> Result<Self, ConfigError> {
        let jwks: Jwks = serde_json::from_str(json)
            .map_err(|_| ConfigError::InvalidJwks("not a JWKS document"))?;
        let mut set = KeySet::verify_only();
        for jwk in &jwks.keys {
            if let Some(key) = VerificationKey::from_jwk(jwk)? {
                set = set.with_verification_key(key)?;
            }
        }
        if set.verification.is_empty() {
            return Err(ConfigError::InvalidJwks("no usable signature key"));
        }
        Ok(set)
    }
}
